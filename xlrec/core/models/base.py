"""The protocol every model implements, and the result of filling a matrix.

A model follows scikit-learn's habit. ``__init__`` takes keyword-only parameters and only stores them; the
parameters are declared once in ``PARAMS`` (:mod:`.params`). ``fit(matrix)`` checks them (never rewriting
one) and learns; learned state ends in ``_``. Then:

- ``predict_cells(rows, cols)``: the predictions of many cells at once, NaN where the model has nothing: the
  one path used by :meth:`Model.fill` and by cross-validation (:mod:`xlrec.core.evaluate`);
- ``fill()``: every blank predicted, what the model cannot predict left to the ``fallback`` model when the
  model has one, as a :class:`FillResult`;
- ``explain(i, j)`` / ``predict(salesperson, client)``: one cell with its :class:`~.explanation.Explanation`;
- ``to_state()`` / ``from_state(meta, arrays)``: the fitted model as a JSON-able dict and plain arrays (no
  pickle), for model files.

A subclass writes ``_fit`` (learn from a checked matrix), ``_predict_cells`` (no checks: the kernels behind
the public methods, which cross-validation calls directly), ``explain`` and ``describe``; the rest is here.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from ...exceptions import InputError, NotFoundError
from ..matrix import SalesMatrix, _key, _label, shown
from .explanation import Explanation
from .params import check_params, did_you_mean

__all__ = ["Model", "FillResult", "FoldIn", "as_matrix"]


def as_matrix(matrix) -> SalesMatrix:
    """A :class:`SalesMatrix` from itself or from a 2-D array with NaN blanks (labels made up: R1.., C1..)."""
    if isinstance(matrix, SalesMatrix):
        return matrix
    values = np.asarray(matrix, dtype=float)
    if values.ndim != 2:
        raise InputError(f"a sales matrix must be 2-D, got {values.ndim} dimension(s)")
    n, m = values.shape
    return SalesMatrix([f"R{i + 1}" for i in range(n)], [f"C{j + 1}" for j in range(m)], values)


@dataclass(frozen=True, eq=False)
class FillResult:
    """Every blank predicted at once.

    Attributes
    ----------
    matrix : SalesMatrix
        The input.
    values : ndarray of shape (n_salespeople, n_clients)
        Known cells unchanged, predicted and fallback cells filled, NaN where nothing could be predicted.
    predicted, fallback, unfilled : ndarray of bool, same shape
        Which blanks the model predicted, which the fallback model filled, which are left blank.
    model : Model
        The fitted model.
    detail : object or None
        What the model kept to explain every predicted cell without recomputing (``fill(explain=True)``;
        its type is the model's business, e.g. :class:`~.neighbors.Votes`).
    """

    matrix: SalesMatrix
    values: np.ndarray
    predicted: np.ndarray
    fallback: np.ndarray
    unfilled: np.ndarray
    model: "Model"
    detail: object = None

    def explain(self, i: int, j: int) -> Explanation:
        """Cell (i, j) with its explanation, as ``model.explain(i, j)`` gives it."""
        return self.model._explain_filled(self, i, j)

    def notes(self) -> dict:
        """{(i, j): note text} for every filled cell (:meth:`Explanation.note`, without a front end's prefix)."""
        return self.model._notes(self)

    @property
    def n_filled(self) -> int:
        return int(self.predicted.sum() + self.fallback.sum())

    @property
    def n_unfilled(self) -> int:
        return int(self.unfilled.sum())

    def unfilled_cells(self):
        """(salesperson, client, reason) for every blank left blank."""
        m = self.matrix
        return [(m.salespeople[i], m.clients[j], self.model.unfilled_reason(i, j))
                for i, j in zip(*np.nonzero(self.unfilled))]

    def summary(self) -> str:
        """One line: cells filled, cells that could not be and why (the first reason)."""
        blanks = int((~self.matrix.known).sum())
        text = f"filled {self.n_filled:,} of {blanks:,} blank cells"
        tuning = getattr(self.model, "tuning_", None)  # --model auto: the model chosen and its error
        if tuning is not None:
            text = f"{tuning.text}; {text}"
        if self.fallback.any():
            text += f" ({int(self.fallback.sum()):,} by the fallback, not by {self.model.source})"
        if self.n_unfilled:
            i, j = (int(a[0]) for a in np.nonzero(self.unfilled))  # the first, without listing them all
            m = self.matrix
            sp, cl, why = m.salespeople[i], m.clients[j], self.model.unfilled_reason(i, j)
            more = f" and {self.n_unfilled - 1:,} more" if self.n_unfilled > 1 else ""
            text += f"; {self.n_unfilled:,} could not be filled ({sp}/{cl}: {why}{more})"
        return text


class Model(ABC):
    """The protocol every model implements (see the module's text)."""

    #: the name in the registry (:data:`xlrec.core.models.MODELS`) and on the command line
    name = "model"
    #: the declared parameters (:class:`~.params.Param`), in the order of ``__init__``
    PARAMS: tuple = ()
    #: whether multiplying every booking by c multiplies every prediction by c (c > 0)
    SCALE_EQUIVARIANT = True
    #: what made the predictions, for "filled by the fallback, not by ..."
    source = "the model"
    #: one line on what the model does, for ``--help`` and the list of models
    summary = ""

    # -- parameters -------------------------------------------------------------------------------------------

    def get_params(self) -> dict:
        """{name: value} of every declared parameter."""
        return {p.name: getattr(self, p.name) for p in self.PARAMS}

    def set_params(self, **params) -> "Model":
        """Set declared parameters (checked at the next ``fit``); an unknown name is an InputError."""
        names = [p.name for p in self.PARAMS]
        for key, value in params.items():
            if key not in names:
                raise InputError(unknown_parameter(self.name, key, names))
            setattr(self, key, value)
        return self

    def clone(self) -> "Model":
        """A new, unfitted model with the same parameters."""
        return type(self)(**self.get_params())

    def check(self) -> None:
        """Check every parameter against its declaration (a subclass adds checks that join parameters)."""
        check_params(self)

    # -- learning and predicting ------------------------------------------------------------------------------

    def fit(self, matrix) -> "Model":
        """Check the parameters and learn from the known cells of ``matrix`` (a :class:`SalesMatrix` or a 2-D
        array with NaN blanks)."""
        self.check()
        return self._fit(as_matrix(matrix))

    @abstractmethod
    def _fit(self, matrix: SalesMatrix) -> "Model":
        """Learn from ``matrix`` (parameters already checked); sets ``matrix_``."""

    def predict_cells(self, rows, cols) -> np.ndarray:
        """The model's predictions of the cells (rows[t], cols[t]), NaN where it has none (no fallback).

        Parameters
        ----------
        rows, cols : array-like of int of the same shape
            0-based salesperson and client positions.

        Returns
        -------
        ndarray of float, the shape of ``rows``
        """
        self._check_fitted()
        rows, cols = np.asarray(rows), np.asarray(cols)
        n, m = self._shape()
        if rows.shape != cols.shape or (rows.size and (rows.dtype.kind not in "iu" or cols.dtype.kind not in "iu")):
            raise InputError("rows and cols must be arrays of whole numbers of the same shape")
        if rows.size and (rows.min() < 0 or rows.max() >= n or cols.min() < 0 or cols.max() >= m):
            raise InputError(f"a cell is outside the {n} x {m} matrix")
        flat = self._predict_cells(rows.ravel().astype(np.intp), cols.ravel().astype(np.intp))
        return flat.reshape(rows.shape)

    def _shape(self):
        """(n_salespeople, n_clients) of the fitted matrix."""
        return self.matrix_.shape

    @abstractmethod
    def _predict_cells(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """:meth:`predict_cells` without checks: 1-D arrays of valid positions in, floats out."""

    def fill(self, explain=False, progress=None) -> FillResult:
        """Predict every blank; known cells are returned unchanged.

        Parameters
        ----------
        explain : bool, default False
            Keep what is needed to explain every cell without recomputing (models that can: the neighbour
            model keeps the neighbours that voted).
        progress : callable or None
            Called as ``progress(done, total)`` while predicting, for a progress bar.
        """
        self._check_fitted()
        m = self.matrix_
        values, detail = self._fill_values(explain, progress)
        known = m.known
        unfilled = np.isnan(values)  # known cells keep their (never NaN) bookings
        predicted = np.logical_or(known, unfilled)
        np.logical_not(predicted, out=predicted)
        fallback = np.zeros_like(known)
        model = self._fallback_model()
        if model is not None and unfilled.any():
            rr, cc = np.nonzero(unfilled)
            fb = model._predict_cells(rr, cc)
            ok = ~np.isnan(fb)
            values[rr[ok], cc[ok]] = fb[ok]
            fallback[rr[ok], cc[ok]] = True
            unfilled[rr[ok], cc[ok]] = False
        return FillResult(m, values, predicted, fallback, unfilled, self, detail)

    def _fill_values(self, explain, progress):
        """(values, detail): the matrix with every blank the model predicts filled (NaN where it cannot)."""
        m = self.matrix_
        values = np.array(m.values)
        rr, cc = np.nonzero(~m.known)
        values[rr, cc] = self._predict_cells(rr, cc)
        if progress is not None:
            progress(m.shape[0], m.shape[0])
        return values, None

    def _fallback_model(self):
        """The fitted fallback model (for models with a ``fallback`` parameter naming one), or None."""
        name = getattr(self, "fallback", None)
        if name is None:
            return None
        cached = getattr(self, "_fallback_", None)
        if cached is None or cached.name != name:
            from . import make_model

            cached = self._fallback_ = make_model(name)._fit(self.matrix_)
        return cached

    # -- one cell ------------------------------------------------------------------------------------------------

    @abstractmethod
    def explain(self, i: int, j: int) -> Explanation:
        """Cell (i, j) of the fitted matrix (0-based) with its explanation."""

    def predict(self, salesperson, client) -> Explanation:
        """One cell, by its labels, with its explanation."""
        self._check_fitted()
        m = self.matrix_
        return self.explain(m.salesperson_index(salesperson), m.client_index(client))

    def _known(self, i, j):
        """The explanation of a known cell, or None when (i, j) is blank."""
        m = self.matrix_
        if m.known[i, j]:
            return Explanation(m.salespeople[i], m.clients[j], float(m.values[i, j]), known=True,
                               model=self.describe())
        return None

    def _nothing(self, i, j, reason):
        """The explanation of a blank the model cannot predict: the fallback's value, else none."""
        m = self.matrix_
        fb = self._fallback_model()
        if fb is not None:
            value = float(fb._predict_cells(np.array([i]), np.array([j]))[0])
            if not np.isnan(value):
                return Explanation(m.salespeople[i], m.clients[j], value, reason=reason, fallback=fb.short(),
                                   model=self.describe(), nothing=self.nothing)
        return Explanation(m.salespeople[i], m.clients[j], None, reason=reason, model=self.describe(),
                           nothing=self.nothing)

    def _explain_filled(self, result: FillResult, i: int, j: int) -> Explanation:
        """The explanation of cell (i, j) of a fill: a model that kept ``detail`` answers from it."""
        return self.explain(i, j)

    def _notes(self, result: FillResult) -> dict:
        return {(int(i), int(j)): self._explain_filled(result, int(i), int(j)).note()
                for i, j in zip(*np.nonzero(result.predicted | result.fallback))}

    @abstractmethod
    def describe(self) -> str:
        """The model and its parameters in a few words, for explanations and summaries."""

    def short(self) -> str:
        """The model in two or three words, as a fallback is named ("client mean")."""
        return self.name.replace("_", " ")

    #: how an explanation says the model had nothing for a cell
    nothing = "the model could not predict it"

    def unfilled_reason(self, i: int, j: int) -> str:
        """Why the model has no prediction for blank (i, j)."""
        return "the model could not predict this cell"

    # -- saving ------------------------------------------------------------------------------------------------

    def to_state(self):
        """The fitted model as (meta, arrays): a JSON-able dict and a dict of plain numeric arrays.

        ``meta`` holds the model's name, its parameters, the labels and the model's own learned scalars;
        ``arrays`` the known cells (positions and values) and the model's learned arrays. Nothing in either
        needs pickle to be written or read.
        """
        self._check_fitted()
        m = self.matrix_
        rows, cols = np.nonzero(m.known)
        meta = {"model": self.name, "params": self.get_params(), "salespeople": list(m.salespeople),
                "clients": list(m.clients), "learned": self._learned_meta()}
        arrays = {"known_rows": rows.astype(np.int64), "known_cols": cols.astype(np.int64),
                  "known_values": m.values[rows, cols].astype(np.float64), **self._learned_arrays()}
        return meta, arrays

    #: the arrays of the state beyond the known cells: name -> (shape, dtype kind "f" or "i"), a shape entry a
    #: whole number or a dimension's name ("salespeople", "clients", "rank": the parameter, "periods"); what a
    #: model file must hold, checked before :meth:`from_state` uses it (:mod:`xlrec.core.persist`)
    STATE_ARRAYS: dict = {}
    #: the learned scalars of the state's meta, each a finite number
    STATE_NUMBERS: tuple = ()
    #: whether the state's arrays alone predict (the sales matrix is then built only when a fill, an
    #: explanation or a look-up by label needs it); False: the state is the matrix, fitted again on loading
    STATE_PREDICTS = False

    @classmethod
    def from_state(cls, meta: dict, arrays: dict) -> "Model":
        """The fitted model that :meth:`to_state` described, without fitting again."""
        if meta.get("model") != cls.name:
            raise InputError(f"this state is of model {meta.get('model')!r}, not {cls.name!r}")
        model = cls(**meta["params"])
        model.check()
        sp, cl = tuple(meta["salespeople"]), tuple(meta["clients"])
        rows, cols, known = arrays["known_rows"], arrays["known_cols"], arrays["known_values"]

        def build():
            values = np.full((len(sp), len(cl)), np.nan)
            values[rows, cols] = known
            return SalesMatrix(sp, cl, values)

        model._state_cells = (sp, cl, rows, cols, known)
        if cls.STATE_PREDICTS:
            model._matrix_source = build
            model._restore(None, meta.get("learned", {}), arrays)
        else:
            model._restore(build(), meta.get("learned", {}), arrays)
        return model

    # the fitted matrix: set by fit, or built on first use for a model read from a file (``_matrix_source``)
    @property
    def matrix_(self):
        d = self.__dict__
        if "_matrix" not in d:
            source = d.get("_matrix_source")
            if source is None:
                raise AttributeError("matrix_")
            d["_matrix"] = source()
        return d["_matrix"]

    @matrix_.setter
    def matrix_(self, matrix):
        self.__dict__["_matrix"] = matrix
        self.__dict__.pop("_matrix_source", None)
        self.__dict__.pop("_state_cells", None)
        self.__dict__.pop("_lookup", None)

    def _trained_labels(self):
        """(salespeople, clients) the model was fitted on, without building the matrix."""
        cells = self.__dict__.get("_state_cells")
        if cells is not None:
            return cells[0], cells[1]
        return self.matrix_.salespeople, self.matrix_.clients

    def value(self, salesperson, client) -> float:
        """One cell by its labels: the booking when known, else the model's prediction (its fallback's where
        it has none), NaN when there is none. For a model read from a file whose state predicts, neither the
        matrix nor a fill is built: this is the fast path of one Excel formula over a model file."""
        self._check_fitted()
        rows_of, cols_of, keys, known = self._lookups()
        i = rows_of.get(_key(_label(salesperson)))
        j = cols_of.get(_key(_label(client)))
        if i is None or j is None:
            raise NotFoundError(_not_found(salesperson if i is None else client,
                                           "salesperson" if i is None else "client", rows_of if i is None
                                           else cols_of, self._trained_labels()[0 if i is None else 1]))
        at = i * len(cols_of) + j
        t = int(np.searchsorted(keys, at))
        if t < keys.size and keys[t] == at:
            return float(known[t])
        rr, cc = np.array([i], dtype=np.intp), np.array([j], dtype=np.intp)
        v = float(self._predict_cells(rr, cc)[0])
        if math.isnan(v):
            fb = self._fallback_model()
            if fb is not None:
                v = float(fb._predict_cells(rr, cc)[0])
        return v

    def _lookups(self):
        """({salesperson key: row}, {client key: column}, sorted keys row * n_clients + column of the known
        cells, their values): built once."""
        cached = self.__dict__.get("_lookup")
        if cached is None:
            cells = self.__dict__.get("_state_cells")
            if cells is not None:
                sp, cl, rows, cols, known = cells
            else:
                m = self.matrix_
                sp, cl = m.salespeople, m.clients
                rows, cols = np.nonzero(m.known)
                known = m.values[rows, cols]
            keys = np.asarray(rows, dtype=np.int64) * len(cl) + np.asarray(cols, dtype=np.int64)
            if keys.size > 1 and not (keys[1:] > keys[:-1]).all():
                order = np.argsort(keys, kind="stable")
                keys, known = keys[order], np.asarray(known)[order]
            cached = self.__dict__["_lookup"] = ({_key(s): i for i, s in enumerate(sp)},
                                                  {_key(c): j for j, c in enumerate(cl)}, keys, known)
        return cached

    # -- folding in ------------------------------------------------------------------------------------------

    def fold_in(self, matrix) -> "FoldIn":
        """Apply this fitted model to ``matrix`` without fitting it again: cells of salespeople and clients the
        model knows are predicted by the model; a salesperson or client it does not know is folded in from
        its known bookings in ``matrix`` (how depends on the model: see its ``_fold_in``).

        Parameters
        ----------
        matrix : SalesMatrix
            Its labels are matched to the model's as names are (trimmed, case-insensitively).

        Returns
        -------
        FoldIn
        """
        self._check_fitted()
        matrix = as_matrix(matrix)
        sp, cl = self._trained_labels()
        rows_of = {_key(s): i for i, s in enumerate(sp)}
        cols_of = {_key(c): j for j, c in enumerate(cl)}
        rmap = np.array([rows_of.get(_key(s), -1) for s in matrix.salespeople], dtype=np.intp)
        cmap = np.array([cols_of.get(_key(c), -1) for c in matrix.clients], dtype=np.intp)
        if (rmap >= 0).all() and (cmap >= 0).all() and rmap.size == len(sp) and cmap.size == len(cl) \
                and (rmap == np.arange(rmap.size)).all() and (cmap == np.arange(cmap.size)).all() \
                and self._same_known(matrix):
            return FoldIn(self, matrix, [])  # the matrix the model was fitted on
        model, remarks = self._fold_in(matrix, rmap, cmap)
        new_s, new_c = int((rmap < 0).sum()), int((cmap < 0).sum())
        if new_s or new_c:
            what = " and ".join(p for p in (_count(new_s, "salesperson", "salespeople"),
                                            _count(new_c, "client", "clients")) if p)
            remarks.insert(0, f"{what} not in the model file folded in from their bookings")
        return FoldIn(model, matrix, remarks)

    def _same_known(self, matrix) -> bool:
        _, _, keys, known = self._lookups()
        rows, cols = np.nonzero(matrix.known)
        return rows.size == keys.size and np.array_equal(rows.astype(np.int64) * matrix.shape[1] + cols, keys) \
            and np.array_equal(matrix.values[rows, cols], known)

    def _fold_in(self, matrix, rmap, cmap):
        """(model fitted over ``matrix``'s labels or more, remarks). ``rmap[i]``: the model's row of the
        matrix's salesperson i, -1 for one it does not know (``cmap`` the same for clients).

        Here, for a model whose state is its bookings (the neighbour models): the model is fitted on the
        matrix, with the salespeople and clients of the model that the matrix lacks added after its own
        rows and columns, holding their bookings from the model: a new salesperson's neighbours are found
        among them all. A model whose state predicts overrides this."""
        sp, cl = self._trained_labels()
        rows_of = {int(r) for r in rmap if r >= 0}
        cols_of = {int(c) for c in cmap if c >= 0}
        extra_r = [i for i in range(len(sp)) if i not in rows_of]
        extra_c = [j for j in range(len(cl)) if j not in cols_of]
        n, m = matrix.shape
        values = np.full((n + len(extra_r), m + len(extra_c)), np.nan)
        values[:n, :m] = matrix.values
        trained = self.matrix_.values
        r_all = np.concatenate([rmap, np.array(extra_r, dtype=np.intp)])
        c_all = np.concatenate([cmap, np.array(extra_c, dtype=np.intp)])
        block = trained[np.ix_(np.maximum(r_all, 0), np.maximum(c_all, 0))]
        outside = np.ones(values.shape, dtype=bool)
        outside[:n, :m] = False
        take = outside & (r_all >= 0)[:, None] & (c_all >= 0)[None, :]
        values[take] = block[take]
        union = SalesMatrix(list(matrix.salespeople) + [sp[i] for i in extra_r],
                            list(matrix.clients) + [cl[j] for j in extra_c], values)
        return self.clone().fit(union), []

    def _learned_meta(self) -> dict:
        return {}

    def _learned_arrays(self) -> dict:
        return {}

    def _restore(self, matrix, learned: dict, arrays: dict) -> None:
        """Take back the learned state; a model whose state is the matrix itself simply fits it again."""
        self._fit(matrix)

    def _check_fitted(self):
        d = self.__dict__
        if "_matrix" not in d and "_matrix_source" not in d:
            raise InputError("this model is not fitted yet; call fit(matrix) first")

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


def unknown_parameter(model: str, key: str, names) -> str:
    options = ", ".join(names) if names else "none"
    return f"model {model!r} has no parameter {key!r}; its parameters are: {options}{did_you_mean(key, names)}"


def _count(n, one, many) -> str:
    return "" if not n else f"{n:,} {one if n == 1 else many}"


def _not_found(name, kind, index, names) -> str:
    """The message of :meth:`SalesMatrix.salesperson_index`, for the model's labels."""
    import difflib

    close = difflib.get_close_matches(_key(_label(name)), list(index), n=3, cutoff=0.6)
    hint = "; did you mean " + " or ".join(shown(names[index[c]]) for c in close) + "?" if close else ""
    plural = "salespeople" if kind == "salesperson" else "clients"
    return f"unknown {kind} {shown(_label(name))}: not among the model's {len(names):,} {plural}{hint}"


@dataclass(frozen=True, eq=False)
class FoldIn:
    """A fitted model applied to a matrix it was not fitted on (:meth:`Model.fold_in`).

    Attributes
    ----------
    model : Model
        Fitted over the matrix's salespeople and clients, first in its rows and columns (a neighbour model
        may hold more after them: the model's own, for neighbours).
    matrix : SalesMatrix
        The matrix applied to.
    remarks : list of str
        What was folded in, and what could not be, for the summary line.
    """

    model: Model
    matrix: SalesMatrix
    remarks: list

    def fill(self, explain=False, progress=None) -> FillResult:
        """Every blank of :attr:`matrix` predicted, as :meth:`Model.fill` gives it."""
        result = self.model.fill(explain=explain, progress=progress)
        n, m = self.matrix.shape
        if result.values.shape == (n, m):
            return result
        cut = (slice(0, n), slice(0, m))
        return FillResult(self.matrix, result.values[cut], result.predicted[cut], result.fallback[cut],
                          result.unfilled[cut], result.model, result.detail)

    def predict(self, salesperson, client):
        """One cell of :attr:`matrix`, by its labels, with its explanation."""
        m = self.matrix
        return self.model.explain(m.salesperson_index(salesperson), m.client_index(client))
