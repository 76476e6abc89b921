"""How good are the predictions? K-fold cross-validation over the known cells of a sales matrix.

Each fold hides some known bookings, fits the model on the rest and predicts the hidden ones; the errors over
every hidden booking say how far off a prediction typically is. The folds depend only on the matrix and the
seed, so the chosen model and the baselines beside it are scored on the same cells.

The loop follows scikit-learn's habit (check once, then call the private kernels): the parameters are
checked once (``model.check()``), then every fold runs ``model.clone()._fit(train)`` and
``_predict_cells(rows, cols)``, so an evaluation costs ``folds`` fits and predictions plus little else
(``bench/bench_evaluate.py`` prints both).

Definitions
-----------
- **RMSE**: the square root of the mean squared error; **MAE**: the mean absolute error. The overall figures
  are computed over every held-out cell pooled (all folds and repeats together), not as a mean of the
  per-fold figures.
- **Relative error**: MAE divided by the typical booking, the mean absolute value of the held-out bookings
  (the same cells for every model): 0.25 means predictions are off by a quarter of a typical booking.
- **Coverage**: the share of held-out cells the model predicted itself. A cell it cannot predict is scored
  with its fallback model when it has one (the neighbour model's ``fallback``), else with the mean of the
  fold's training bookings; coverage says how often that happened.
- **Time**: fit plus prediction (fallback included) per fold, in seconds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..exceptions import InputError
from .matrix import SalesMatrix
from .models import BASELINES, Model, as_matrix, format_amount, make_model
from .tensor import SalesTensor

__all__ = ["kfold_cells", "cross_validate", "CellFolds", "Evaluation", "ModelScore", "FoldScore",
           "MIN_BOOKINGS", "holdout_last_period", "split_period", "naive_forecasts", "ForecastEvaluation",
           "NAIVE_FORECASTS"]

#: fewer known cells than this give a figure that means nothing
MIN_BOOKINGS = 20


@dataclass(frozen=True, eq=False)
class CellFolds:
    """One dealing of the known cells into folds.

    Attributes
    ----------
    test : ndarray of bool of shape (folds, n_salespeople, n_clients)
        ``test[f]``: the cells fold ``f`` holds out. Every known cell is held out at most once.
    sole_client, sole_salesperson : ndarray of bool of shape (n_salespeople, n_clients)
        Cells never held out because they are the only booking of their client (of their salesperson):
        nothing would be left to learn them from.
    kept : ndarray of bool of shape (n_salespeople, n_clients)
        Cells dealt to a fold but kept in training there, so that no salesperson or client with two bookings
        or more is left with none in training (see :func:`kfold_cells`); they are never held out.
    """

    test: np.ndarray
    sole_client: np.ndarray
    sole_salesperson: np.ndarray
    kept: np.ndarray

    @property
    def folds(self) -> int:
        return self.test.shape[0]

    @property
    def held_out(self) -> np.ndarray:
        """The cells some fold holds out."""
        return self.test.any(axis=0)

    @property
    def never(self) -> np.ndarray:
        """The known cells no fold holds out."""
        return self.sole_client | self.sole_salesperson | self.kept


def _check_sizes(matrix: SalesMatrix, folds, seed=0) -> None:
    if isinstance(folds, bool) or not isinstance(folds, (int, np.integer)) or folds < 2:
        raise InputError(f"folds must be a whole number of at least 2, got {folds!r} (each fold holds out a "
                         "share of the bookings and learns from the others)")
    n_known = int(matrix.known.sum())
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed must be a whole number of at least 0, got {seed!r}")
    if n_known < MIN_BOOKINGS:
        raise InputError(f"the matrix has {n_known} booking{'s' if n_known != 1 else ''}; cross-validation needs "
                         f"at least {MIN_BOOKINGS} to give a meaningful figure (evaluate a fuller matrix: more "
                         "salespeople, clients or periods)")


def kfold_cells(matrix, folds=5, seed=0) -> CellFolds:
    """Deal the known cells of ``matrix`` into ``folds`` folds, the same way for every model given ``seed``.

    The rule, in order:

    1. A known cell that is the only booking of its client or of its salesperson is never held out (nothing
       would be left to learn it from); :attr:`CellFolds.sole_client` / ``sole_salesperson`` count them.
    2. The other known cells are put in a random order (``numpy.random.default_rng(seed)``): the clients in a
       random order, each client's cells in a random order within it, and dealt round-robin into the folds,
       one after the other, continuing from one client to the next. So every fold holds the same number of
       cells, give or take one, and a client's cells go to different folds: a client with two bookings or
       more keeps at least one in training in every fold.
    3. If a fold would still leave a salesperson (then a client) with two bookings or more with none in
       training, the held-out cell of that line in the first column (first row for a client) is kept in
       training for that fold (:attr:`CellFolds.kept`) and is held out by no fold.

    Parameters
    ----------
    matrix : SalesMatrix or ndarray of shape (n_salespeople, n_clients) with NaN blanks
    folds : int, default 5
        At least 2.
    seed : int, default 0
        The dealing; ``cross_validate``'s repeats use ``seed``, ``seed + 1``...

    Returns
    -------
    CellFolds

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(1.0, 31.0).reshape(5, 6)
    >>> f = kfold_cells(x, folds=3, seed=0)
    >>> f.test.shape, f.test.sum(axis=(1, 2)).tolist()
    ((3, 5, 6), [10, 9, 10])
    >>> int(f.kept.sum()), int(f.test.sum() + f.never.sum())  # one cell kept in training by rule 3
    (1, 30)
    """
    matrix = as_matrix(matrix)
    _check_sizes(matrix, folds, seed)
    known = matrix.known
    n, m = known.shape
    per_client = known.sum(axis=0)
    per_person = known.sum(axis=1)
    sole_client = known & (per_client == 1)[None, :]
    sole_person = known & (per_person == 1)[:, None]
    eligible = known & ~sole_client & ~sole_person
    n_eligible = int(eligible.sum())
    if n_eligible < folds:
        raise InputError(f"only {n_eligible} booking{'s' if n_eligible != 1 else ''} can be held out (the "
                         f"{int(known.sum()) - n_eligible} others are the only booking of their client or "
                         f"salesperson); {folds} folds need at least {folds}: use fewer folds (--folds) or a "
                         "fuller matrix")

    rng = np.random.default_rng(seed)
    client_rank = rng.permutation(m)
    rows, cols = np.nonzero(eligible)
    order = np.lexsort((rng.random(rows.size), client_rank[cols]))  # by client (random order), then at random
    fold_of = np.empty(rows.size, dtype=np.intp)
    fold_of[order] = np.arange(rows.size) % folds
    test = np.zeros((folds, n, m), dtype=bool)
    test[fold_of, rows, cols] = True

    kept = np.zeros_like(known)
    for f in range(folds):
        t = test[f]
        for axis in (1, 0):  # salespeople (rows), then clients (columns)
            counts = per_person if axis == 1 else per_client
            emptied = (counts >= 2) & ((known & ~t).sum(axis=axis) == 0)
            if emptied.any():
                lines = np.flatnonzero(emptied)
                first = np.argmax(t[lines] if axis == 1 else t[:, lines].T, axis=1)  # first held-out cell
                r, c = (lines, first) if axis == 1 else (first, lines)
                t[r, c] = False
                kept[r, c] = True
        if not t.any():
            raise InputError(f"fold {f + 1} of {folds} would hold out no booking once every salesperson and "
                             "client keeps one in training: use fewer folds (--folds) or a fuller matrix")
    return CellFolds(test, sole_client, sole_person, kept)


@dataclass(frozen=True)
class FoldScore:
    """One model on one fold of one repeat (``repeat`` and ``fold`` 1-based)."""

    model: str
    repeat: int
    fold: int
    cells: int
    rmse: float
    mae: float
    coverage: float
    seconds: float


@dataclass(frozen=True)
class ModelScore:
    """One model over every held-out cell pooled; ``seconds`` is the mean fit + predict time per fold."""

    model: str
    description: str
    rmse: float
    mae: float
    relative: float
    coverage: float
    seconds: float


class _Scores:
    """What :class:`Evaluation` and :class:`ForecastEvaluation` share: the table of scores, as rows and as
    text. A subclass has ``scores`` (ModelScore, the chosen model first), ``typical`` and ``HEADER``."""

    def score(self, name) -> ModelScore | None:
        return next((s for s in self.scores if s.model == name), None)

    def table(self) -> list:
        """Rows for a sheet or the command line: a header, then per model: name, RMSE, MAE, relative error
        (MAE / typical booking, a fraction), coverage (a fraction), seconds (fit + predict, per fold)."""
        return [list(self.HEADER)] + [[s.model, s.rmse, s.mae, s.relative, s.coverage, s.seconds]
                                      for s in self.scores]

    def amount(self, v) -> str:
        """An error as the table and the verdict show it: thousands separators; whole units when the typical
        booking is 100 or more (cents of an error are noise there), else :func:`format_amount`'s digits."""
        return format_amount(round(v) if self.typical >= 100 else v)

    def text_table(self) -> str:
        """:meth:`table` as aligned text: amounts with thousands separators, fractions as percentages."""
        rows = [list(self.HEADER)]
        for s in self.scores:
            rows.append([s.model, self.amount(s.rmse), self.amount(s.mae), f"{s.relative:.1%}",
                         f"{s.coverage:.1%}", f"{s.seconds:.3f}"])
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        return "\n".join("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
                         .rstrip() for r in rows)

    def label(self) -> str:
        """The chosen model with its parameters: ``neighbors (k=2, manhattan distance, ...)``."""
        return f"{self.model.name} ({self.model.describe()})" if self.model.PARAMS else self.model.name


@dataclass(eq=False)
class Evaluation(_Scores):
    """The result of :func:`cross_validate`.

    Attributes
    ----------
    matrix : SalesMatrix
    model : Model
        The chosen model (unfitted).
    scores : list of ModelScore
        The chosen model first, then the baselines.
    fold_scores : list of FoldScore
    folds, repeats, seed : int
    typical : float
        The typical booking: the mean absolute value of the held-out bookings (pooled).
    held_out : dict of ndarray
        The chosen model's held-out cells, pooled: ``rows``, ``cols`` (0-based), ``actual``, ``predicted``
        (fallback included), ``own`` (True where the model predicted the cell itself), ``repeat``, ``fold``.
    n_held_out : int
        Distinct cells held out in the first repeat (each repeat holds out about as many).
    never : dict
        Cells never held out in the first repeat, by reason: ``only booking of its client``, ``only booking of
        its salesperson``, ``kept in training so a line is not emptied``.
    """

    matrix: SalesMatrix
    model: Model
    scores: list
    fold_scores: list
    folds: int
    repeats: int
    seed: int
    typical: float
    held_out: dict
    n_held_out: int
    never: dict = field(default_factory=dict)

    HEADER = ("Model", "RMSE", "MAE", "Relative error", "Coverage", "Seconds per fold")

    def verdict(self) -> str:
        """One sentence: whether the chosen model beats the client mean (on RMSE), with both figures."""
        own = self.scores[0]
        ref = self.score("client_mean")
        summary = (f"over {len(self.held_out['actual']):,} held-out bookings ({self.folds} folds"
                   f"{f' x {self.repeats} repeats' if self.repeats > 1 else ''})")
        if self.model.name == "client_mean":
            return (f"client_mean is the client mean itself: RMSE {self.amount(own.rmse)}, MAE "
                    f"{self.amount(own.mae)} {summary}.")
        if ref is None:
            return f"{self.label()}: RMSE {self.amount(own.rmse)}, MAE {self.amount(own.mae)} {summary}."
        if own.rmse < ref.rmse:
            gain = 1 - own.rmse / ref.rmse
            head = f"{self.label()} beats the client mean by {gain:.1%}"
        else:
            head = f"{self.label()} does not beat the client mean"
        text = f"{head}: RMSE {self.amount(own.rmse)} against {self.amount(ref.rmse)} {summary}"
        best = min(self.scores, key=lambda s: s.rmse)
        if best.model not in (own.model, ref.model):
            text += f"; the best here is {best.model} (RMSE {self.amount(best.rmse)})"
        return text + "."

    def to_dict(self) -> dict:
        """Everything as plain JSON-able values (the held-out cells with their labels)."""
        m, h = self.matrix, self.held_out
        return {
            "model": self.model.name, "params": self.model.get_params(), "description": self.model.describe(),
            "folds": self.folds, "repeats": self.repeats, "seed": self.seed,
            "bookings": int(m.known.sum()), "held_out": self.n_held_out, "never_held_out": dict(self.never),
            "typical_booking": self.typical,
            "scores": [{k: _json_number(v) for k, v in vars(s).items()} for s in self.scores],
            "fold_scores": [vars(s) for s in self.fold_scores],
            "verdict": self.verdict(),
            "cells": [{"salesperson": m.salespeople[i], "client": m.clients[j], "actual": float(a),
                       "predicted": float(p), "by_model": bool(o), "repeat": int(r), "fold": int(f)}
                      for i, j, a, p, o, r, f in zip(h["rows"], h["cols"], h["actual"], h["predicted"], h["own"],
                                                     h["repeat"], h["fold"])],
        }

    # -- for the report workbook (xlrec.io.report) --------------------------------------------------------

    #: what the figures mean, as the report's Summary sheet says it
    DEFINITIONS = (
        ("RMSE", "square root of the mean squared error, over every held-out booking pooled (all folds and "
                 "repeats)"),
        ("MAE", "mean absolute error (how far off a prediction is, on average), pooled the same way"),
        ("Relative error", "MAE divided by the typical booking (the mean absolute held-out booking)"),
        ("Coverage", "share of held-out bookings the model predicted itself; the others were predicted by its "
                     "fallback model if it has one, else by the mean of the fold's training bookings"),
        ("Seconds per fold", "time to fit the model and predict the fold's held-out cells"),
    )

    def settings(self) -> list:
        """(label, value) pairs: how the evaluation was made."""
        params = ", ".join(f"{k}={'none' if v is None else v}" for k, v in self.model.get_params().items())
        out = [("Model", self.model.name), ("Described", self.model.describe()), ("Parameters", params or "none"),
               ("Folds", self.folds), ("Repeats", self.repeats), ("Seed", self.seed),
               ("Bookings (known cells)", int(self.matrix.known.sum())),
               ("Cells held out (each repeat holds out about as many)", self.n_held_out),
               ("Held-out predictions scored (all repeats)", int(self.held_out["actual"].size)),
               ("Typical booking (mean absolute held-out booking)", self.typical)]
        return out + [(f"Never held out: {why}", n) for why, n in self.never.items()]

    def held_out_table(self) -> tuple:
        """(header, rows) of every held-out cell: salesperson, client, actual, predicted first (the report's
        scatter chart reads those two), then the error, who predicted it, the repeat and the fold."""
        h, m = self.held_out, self.matrix
        by = {True: self.model.name, False: "fallback"}
        rows = [[m.salespeople[i], m.clients[j], a, p, p - a, by[own], rep, fold]
                for i, j, a, p, own, rep, fold in zip(h["rows"].tolist(), h["cols"].tolist(), h["actual"].tolist(),
                                                      h["predicted"].tolist(), h["own"].tolist(),
                                                      h["repeat"].tolist(), h["fold"].tolist())]
        return ["Salesperson", "Client", "Actual", "Predicted", "Error", "Predicted by", "Repeat", "Fold"], rows


def _json_number(v):
    """NaN (a relative error when every held-out booking is 0) as None: JSON has no NaN."""
    return None if isinstance(v, float) and v != v else v


def _errors(actual, predicted):
    e = predicted - actual
    return float(np.sqrt(np.mean(e * e))), float(np.mean(np.abs(e)))


def cross_validate(matrix, model="neighbors", folds=5, repeats=1, seed=0, baselines=BASELINES,
                   progress=None) -> Evaluation:
    """Score ``model`` and the ``baselines`` by K-fold cross-validation over the known cells.

    Parameters
    ----------
    matrix : SalesMatrix or ndarray of shape (n_salespeople, n_clients) with NaN blanks
    model : Model or str, default "neighbors"
        An unfitted model (its parameters are used; it is not changed) or a registered name.
    folds : int, default 5
        At least 2; see :func:`kfold_cells` for how the cells are dealt.
    repeats : int, default 1
        Different dealings (seeds ``seed``, ``seed + 1``...), all scored and pooled.
    seed : int, default 0
    baselines : sequence of str, default :data:`~xlrec.core.models.BASELINES`
        Models scored beside ``model`` with their default parameters (``model``'s own name is skipped).
    progress : callable or None
        Called as ``progress(done, total)`` after each model's fold.

    Returns
    -------
    Evaluation
        See the module's text for the definitions of its figures.
    """
    matrix = as_matrix(matrix)
    model = make_model(model) if isinstance(model, str) else model
    if isinstance(repeats, bool) or not isinstance(repeats, (int, np.integer)) or repeats < 1:
        raise InputError(f"repeats must be a whole number of at least 1, got {repeats!r}")
    _check_sizes(matrix, folds, seed)
    models = [model] + [make_model(b) for b in baselines if b != model.name]
    for mdl in models:
        mdl.check()  # once: the folds call the private kernels

    names = [mdl.name for mdl in models]
    pooled = {name: {"pred": [], "own": [], "seconds": []} for name in names}
    actual, rows_all, cols_all, rep_all, fold_all = [], [], [], [], []
    fold_scores = []
    n_held_out, never = 0, {}
    total, done = repeats * folds * len(models), 0
    for r in range(repeats):
        cf = kfold_cells(matrix, folds, seed + r)
        if r == 0:
            n_held_out = int(cf.held_out.sum())
            never = {"only booking of its client": int(cf.sole_client.sum()),
                     "only booking of its salesperson": int((cf.sole_salesperson & ~cf.sole_client).sum()),
                     "kept in training so a line is not emptied": int(cf.kept.sum())}
        for f in range(folds):
            test = cf.test[f]
            train = matrix.with_blanks(test)
            rows, cols = np.nonzero(test)
            truth = matrix.values[rows, cols]
            train_mean = float(train.values[train.known].mean())
            actual.append(truth), rows_all.append(rows), cols_all.append(cols)
            rep_all.append(np.full(rows.size, r + 1)), fold_all.append(np.full(rows.size, f + 1))
            for mdl in models:
                t0 = time.perf_counter()
                fitted = mdl.clone()._fit(train)
                pred = fitted._predict_cells(rows, cols)
                own = ~np.isnan(pred)
                if not own.all():
                    fb = fitted._fallback_model()
                    if fb is not None:
                        pred[~own] = fb._predict_cells(rows[~own], cols[~own])
                    pred[np.isnan(pred)] = train_mean
                seconds = time.perf_counter() - t0
                rmse, mae = _errors(truth, pred)
                fold_scores.append(FoldScore(mdl.name, r + 1, f + 1, int(rows.size), rmse, mae,
                                             float(own.mean()), seconds))
                p = pooled[mdl.name]
                p["pred"].append(pred), p["own"].append(own), p["seconds"].append(seconds)
                done += 1
                if progress is not None:
                    progress(done, total)

    actual = np.concatenate(actual)
    typical = float(np.mean(np.abs(actual)))
    scores = []
    for mdl in models:
        p = pooled[mdl.name]
        pred, own = np.concatenate(p["pred"]), np.concatenate(p["own"])
        rmse, mae = _errors(actual, pred)
        relative = mae / typical if typical > 0 else float("nan")
        scores.append(ModelScore(mdl.name, mdl.describe(), rmse, mae, relative, float(own.mean()),
                                 float(np.mean(p["seconds"]))))
    first = pooled[model.name]
    held_out = {"rows": np.concatenate(rows_all), "cols": np.concatenate(cols_all), "actual": actual,
                "predicted": np.concatenate(first["pred"]), "own": np.concatenate(first["own"]),
                "repeat": np.concatenate(rep_all), "fold": np.concatenate(fold_all)}
    return Evaluation(matrix, model, scores, fold_scores, folds, repeats, seed, typical, held_out, n_held_out,
                      never)


# -- forecasting the last period (``cp`` over bookings per period) -----------------------------------------

#: the naive forecasts :func:`holdout_last_period` scores beside the model, in the order of its table
NAIVE_FORECASTS = ("last period's booking", "mean of past periods")


def split_period(tensor: SalesTensor, t: int = -1):
    """Hold out period ``t`` (0-based; -1 for the last) of ``tensor``.

    Returns
    -------
    past : SalesTensor
        The periods before ``t``, every salesperson and client kept (blank where they have no booking).
    rows, cols : ndarray of int
        The known cells of period ``t`` (0-based salesperson and client positions), in row order.
    actual : ndarray of float
        Their bookings.
    """
    T = len(tensor.periods)
    t = t + T if t < 0 else t
    if T < 2 or not 1 <= t < T:
        raise InputError(f"forecasting a period from the ones before it needs at least two periods; the bookings "
                         f"have {T} ({', '.join(tensor.periods)}): read them by period (--date COL --period "
                         "month|quarter|year, or a workbook with a sheet per period)")
    if not tensor.known[:, :, :t].any():
        raise InputError(f"no booking before {tensor.periods[t]}: nothing to forecast it from")
    past = SalesTensor(tensor.salespeople, tensor.clients, tensor.periods[:t], tensor.values[:, :, :t])
    rows, cols = np.nonzero(tensor.known[:, :, t])
    if rows.size == 0:
        raise InputError(f"period {tensor.periods[t]} holds no booking: there is nothing to score a forecast on")
    return past, rows, cols, tensor.values[rows, cols, t]


def naive_forecasts(past: SalesTensor, rows, cols) -> dict:
    """{name: forecasts} of the :data:`NAIVE_FORECASTS` for cells (rows[k], cols[k]) from the periods of
    ``past``: the pair's most recent booking, and the mean of its bookings (blank periods left out); NaN for a
    pair with no booking in ``past``."""
    v = past.values[rows, cols, :]
    known = ~np.isnan(v)
    any_known = known.any(axis=1)
    t_last = v.shape[1] - 1 - np.argmax(known[:, ::-1], axis=1)
    last = np.where(any_known, v[np.arange(rows.size), t_last], np.nan)
    mean = np.full(rows.size, np.nan)
    mean[any_known] = np.nansum(v[any_known], axis=1) / known[any_known].sum(axis=1)
    return dict(zip(NAIVE_FORECASTS, (last, mean)))


@dataclass(eq=False)
class ForecastEvaluation(_Scores):
    """The result of :func:`holdout_last_period`, with :class:`Evaluation`'s interface (``table``,
    ``text_table``, ``verdict``, ``to_dict``, and what the report workbook reads).

    Attributes
    ----------
    tensor : SalesTensor
        Every period, the held-out one included.
    model : Model
        The chosen model (unfitted).
    period : str
        The period held out (the last).
    scores : list of ModelScore
        The model, then the :data:`NAIVE_FORECASTS`, scored on the held-out bookings whose salesperson and
        client had a booking before (the naive forecasts have nothing for the others); ``coverage`` is the
        share of all the held-out bookings each forecast can make.
    typical : float
        The mean absolute value of the bookings scored.
    held_out : dict of ndarray
        Every booking of the held-out period: ``rows``, ``cols``, ``actual``, ``predicted`` (the model's),
        one array per naive forecast (NaN without history), ``history`` (True where scored).
    every : tuple of float
        The model's (RMSE, MAE) over every booking of the held-out period.
    """

    tensor: SalesTensor
    model: Model
    period: str
    scores: list
    typical: float
    held_out: dict
    every: tuple
    fold_scores: list = field(default_factory=list)

    HEADER = ("Forecast", "RMSE", "MAE", "Relative error", "Coverage", "Seconds")

    @property
    def seen(self) -> tuple:
        """The periods the forecasts learn from."""
        return self.tensor.periods[:-1]

    @property
    def n_scored(self) -> int:
        return int(self.held_out["history"].sum())

    def verdict(self) -> str:
        """One sentence: whether the model beats both naive forecasts (on RMSE), with the figures."""
        own, naive = self.scores[0], self.scores[1:]
        beaten = [s for s in naive if own.rmse < s.rmse]
        figures = " and ".join(f"{self.amount(s.rmse)} ({s.model})" for s in naive)
        if len(beaten) == len(naive):
            outcome = "beats both naive forecasts"
        elif beaten:
            other = next(s for s in naive if s not in beaten)
            outcome = f"beats the {beaten[0].model} but not the {other.model}"
        else:
            outcome = "does not beat the naive forecasts"
        n, total = self.n_scored, len(self.held_out["actual"])
        text = (f"{self.label()}, forecasting {self.period} from {self.seen[0]} to {self.seen[-1]}, {outcome}: "
                f"RMSE {self.amount(own.rmse)} against {figures}, over the {n:,} bookings of {self.period} whose "
                f"salesperson and client had booked before")
        if total > n:
            text += (f"; over all {total:,} bookings of {self.period}, {self.model.name}'s RMSE is "
                     f"{self.amount(self.every[0])}")
        return text + "."

    def to_dict(self) -> dict:
        """Everything as plain JSON-able values (the held-out bookings with their labels and forecasts)."""
        t, h = self.tensor, self.held_out
        naive = [h[name] for name in NAIVE_FORECASTS]
        return {
            "model": self.model.name, "params": self.model.get_params(), "description": self.model.describe(),
            "holdout": "last-period", "period": self.period, "periods_seen": list(self.seen),
            "bookings": int(t.known.sum()), "held_out": int(h["actual"].size), "scored": self.n_scored,
            "typical_booking": self.typical,
            "scores": [{k: _json_number(v) for k, v in vars(s).items()} for s in self.scores],
            "every_booking": {"rmse": self.every[0], "mae": self.every[1]},
            "verdict": self.verdict(),
            "cells": [{"salesperson": t.salespeople[i], "client": t.clients[j], "actual": float(a),
                       "predicted": float(p), **{name: _json_number(float(v[k])) for name, v in zip(NAIVE_FORECASTS, naive)},
                       "scored": bool(s)}
                      for k, (i, j, a, p, s) in enumerate(zip(h["rows"].tolist(), h["cols"].tolist(),
                                                             h["actual"].tolist(), h["predicted"].tolist(),
                                                             h["history"].tolist()))],
        }

    DEFINITIONS = (
        ("RMSE", "square root of the mean squared error of the forecasts of the held-out period's bookings whose "
                 "salesperson and client had booked before (every forecast makes those)"),
        ("MAE", "mean absolute error (how far off a forecast is, on average), over the same bookings"),
        ("Relative error", "MAE divided by the typical booking (the mean absolute booking scored)"),
        ("Coverage", "share of the held-out period's bookings the forecast can make (the naive forecasts need an "
                     "earlier booking of the same salesperson and client)"),
        ("Seconds", "time to fit the model on the earlier periods and forecast"),
        ("last period's booking", "the pair's most recent earlier booking"),
        ("mean of past periods", "the mean of the pair's earlier bookings (periods without one left out)"),
    )

    def settings(self) -> list:
        """(label, value) pairs: how the evaluation was made."""
        params = ", ".join(f"{k}={'none' if v is None else v}" for k, v in self.model.get_params().items())
        return [("Model", self.model.name), ("Described", self.model.describe()), ("Parameters", params or "none"),
                ("Held out", f"the last period, {self.period}"),
                ("Learned from", f"{self.seen[0]} to {self.seen[-1]} ({len(self.seen)} periods)"),
                ("Bookings (known cells, every period)", int(self.tensor.known.sum())),
                (f"Bookings of {self.period}", int(self.held_out["actual"].size)),
                ("Bookings scored (the pair booked before)", self.n_scored),
                ("Typical booking (mean absolute booking scored)", self.typical),
                (f"{self.model.name}'s RMSE over every booking of {self.period}", self.every[0])]

    def held_out_table(self) -> tuple:
        """(header, rows): every booking of the held-out period: salesperson, client, actual, the model's
        forecast, its error, the naive forecasts (blank without history), whether it is scored."""
        h, t = self.held_out, self.tensor
        naive = [h[name].tolist() for name in NAIVE_FORECASTS]
        rows = [[t.salespeople[i], t.clients[j], a, p, p - a,
                 *(None if v[k] != v[k] else v[k] for v in naive), "yes" if s else "no (no earlier booking)"]
                for k, (i, j, a, p, s) in enumerate(zip(h["rows"].tolist(), h["cols"].tolist(), h["actual"].tolist(),
                                                       h["predicted"].tolist(), h["history"].tolist()))]
        return ["Salesperson", "Client", "Actual", f"Forecast ({self.model.name})", "Error",
                *(n[:1].upper() + n[1:] for n in NAIVE_FORECASTS), "Scored"], rows


def holdout_last_period(tensor: SalesTensor, model="cp", progress=None) -> ForecastEvaluation:
    """Score ``model`` forecasting the last period of ``tensor`` from the ones before, beside the naive
    forecasts (:data:`NAIVE_FORECASTS`: the pair's last booking, the mean of its past bookings).

    The model is fitted once on the periods before the last (:func:`split_period`) and forecasts the next
    period for every booking of the last; every forecast is scored on the bookings whose salesperson and
    client had a booking before (the naive ones have nothing for the others), and the model besides on every
    booking of the last period (:attr:`ForecastEvaluation.every`).

    Parameters
    ----------
    tensor : SalesTensor
        At least two periods.
    model : Model or str, default "cp"
        An unfitted model that learns from a tensor (``cp``); its parameters are used, it is not changed.
    progress : callable or None
        Called as ``progress(done, total)`` after the fit.

    Returns
    -------
    ForecastEvaluation
    """
    from .models.tensor import CPModel

    model = make_model(model) if isinstance(model, str) else model
    if not isinstance(model, CPModel):
        raise InputError(f"forecasting the last period is for a model that learns over periods (cp), not "
                         f"{model.name!r}")
    model.check()  # once: the private kernels follow
    past, rows, cols, actual = split_period(tensor)
    t0 = time.perf_counter()
    fitted = model.clone()._fit_tensor(past)
    predicted = fitted._predict_tensor(rows, cols, np.full(rows.shape, len(past.periods), np.intp))
    seconds = time.perf_counter() - t0
    if progress is not None:
        progress(1, 1)
    t0 = time.perf_counter()
    naive = naive_forecasts(past, rows, cols)
    naive_seconds = time.perf_counter() - t0
    history = ~np.isnan(naive[NAIVE_FORECASTS[0]])
    if not history.any():
        raise InputError(f"no booking of {tensor.periods[-1]} is of a salesperson and client who booked before: "
                         "the naive forecasts have nothing to be compared on")
    truth = actual[history]
    typical = float(np.mean(np.abs(truth)))
    scores = []
    for name, description, pred, secs, coverage in (
            (model.name, model.describe(), predicted, seconds, 1.0),
            *((n, n, naive[n], naive_seconds, float(history.mean())) for n in NAIVE_FORECASTS)):
        rmse, mae = _errors(truth, pred[history])
        scores.append(ModelScore(name, description, rmse, mae, mae / typical if typical > 0 else float("nan"),
                                 coverage, secs))
    held_out = {"rows": rows, "cols": cols, "actual": actual, "predicted": predicted, **naive, "history": history}
    return ForecastEvaluation(tensor, model, tensor.periods[-1], scores, typical, held_out,
                              _errors(actual, predicted))
