"""``cp``: tensor factorization over salespeople x clients x periods (CANDECOMP/PARAFAC), fitted on the known
cells by alternating least squares, with L2 and optionally L1 (sparse) regularization.

The model::

    booking(s, c, t) = mu + scale * (b_s + b_c + b_t + sum_r A[s, r] B[c, r] C[t, r])

``mu`` and ``scale`` are the mean and standard deviation of the known bookings (the model works on
standardized bookings ``z``, as ``mf`` does, so multiplying every booking by c multiplies every prediction
by c); ``A``, ``B``, ``C`` hold ``rank`` factors per salesperson, client and period; ``b_s``, ``b_c``,
``b_t`` are offsets (with ``biases``). The fit minimizes, over the known cells only::

    F = 1/2 sum (z - b_s - b_c - b_t - sum_r A B C)^2
        + l2/2 (|A|^2 + |B|^2 + |C|^2 + |b|^2) + l1 (|A|_1 + |B|_1 + |C|_1)

by alternating over the three sides. With the clients' and periods' factors fixed, each salesperson's
``[b_s, A[s]]`` is a ridge regression over that salesperson's known cells whose design rows are
``[1, B[c] * C[t]]`` (elementwise: the Khatri-Rao rows), solved exactly; with ``l1 > 0`` or
``nonnegative`` an elastic net solved by coordinate descent with soft-thresholding (warm-started, so a sweep
never increases F). Then the same for the clients and the periods. The kernels are ``mf``'s
(:func:`~.factorization._solve`, the batched elastic net; the Gram matrices are summed here, :func:`_gram`,
from the coordinates of the known cells in blocks, never from a dense tensor of residuals: a design row
depends on two other sides at once, so ``mf``'s once-per-client outer products do not apply). Starting factors are drawn from each label
(:func:`~.factorization._start`), so the order of salespeople, clients and periods does not matter.

**Periods not seen.** A period after the last one has no bookings, so no factors of its own. Its factors
``C`` and offset ``b_t`` are ``forecast`` from those of the periods seen: ``mean`` takes their mean (the
default: on Northwind by quarter it forecast 1998-Q1 from the quarters before better than the other two
rules at every rank with l2 up to 5, and it did the same for the held-out 1998-Q2; ``bench/bench_tensor.py``),
``last`` carries the last period's forward, ``trend`` extends a straight line fitted through them (least
squares over the periods seen).

**As a matrix model.** Given a plain :class:`~xlrec.core.matrix.SalesMatrix` (the command line's and Excel's
matrix functions), the model treats it as a tensor of one period. Given a :class:`~xlrec.core.tensor.
SalesTensor`, its matrix interface (``matrix_``, ``fill``, ``predict_cells``, ``explain(i, j)``) is the
*latest* period seen: it fills the blanks of that period; :meth:`CPModel.predict_tensor_cells`,
:meth:`CPModel.fill_period` and ``explain(i, j, t)`` reach every period seen and the ones after the last.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...exceptions import InputError
from ..matrix import SalesMatrix
from ..tensor import SalesTensor
from .base import Model
from .explanation import Explanation
from .factorization import (
    FactorizationExplanation,
    _extras,
    _solve,
    _standardize,
    _start,
)
from .params import Param

__all__ = ["CPModel", "PeriodView", "TensorExplanation", "objective", "FORECASTS"]

#: how the factors of a period after the last are made from those of the periods seen
FORECASTS = ("mean", "last", "trend")


@dataclass(frozen=True)
class TensorExplanation(FactorizationExplanation):
    """A ``cp`` prediction: ``terms`` (label, amount, signed) sum to the value; ``period`` is the period
    predicted and ``how`` says where its factors came from when it is after the last period seen."""

    period: str = ""
    how: str = ""

    def detail_lines(self) -> list:
        head = [f"period {self.period}" + (f" ({self.how})" if self.how else "")]
        return head + super().detail_lines()

    def detail_rows(self) -> list:
        return [["Period", self.period, self.how, ""]] + super().detail_rows()


_BLOCK_TERMS = 1 << 20  # Gram terms (d^2 per cell) summed at once: 8 MiB


def _csr(rows, cols, n):
    """Cells sorted by row: (order, starts) with ``starts`` of length n + 1."""
    order = np.argsort(rows, kind="stable")
    starts = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=starts[1:])
    return order, starts


def _gram(other, own, z, order, starts, n, with_bias, times):
    """Per row of one side: the Gram matrices G (n, d, d) and right-hand sides h (n, d) of its least-squares
    problem over its known cells. The design row of cell k is ``[1, other[own[k]] * third[index[k]]]``
    (without the 1 when ``with_bias`` is False; ``times`` = (third, index): the Khatri-Rao rows), its target
    ``z[k]``. Summed in blocks of cells, so memory stays bounded."""
    r = other.shape[1]
    d = r + 1 if with_bias else r
    G = np.zeros((n, d, d))
    h = np.zeros((n, d))
    nnz = order.size
    block = max(1, _BLOCK_TERMS // (d * d))
    row_of = np.repeat(np.arange(n), np.diff(starts))
    for lo in range(0, nnz, block):
        hi = min(nnz, lo + block)
        cells = order[lo:hi]
        X = other[own[cells]] * times[0][times[1][cells]]
        if with_bias:
            X = np.concatenate([np.ones((X.shape[0], 1)), X], axis=1)
        y = z[cells]
        rr = row_of[lo:hi]
        # sums over consecutive cells of the same row: reduceat at the first cell of each row in the block
        first = np.flatnonzero(np.r_[True, rr[1:] != rr[:-1]])
        G[rr[first]] += np.add.reduceat(X[:, :, None] * X[:, None, :], first, axis=0)
        h[rr[first]] += np.add.reduceat(X * y[:, None], first, axis=0)
    return G, h


def objective(z, s, c, t, A, B, C, bs, bc, bt, l2, l1):
    """The standardized objective F of the module's text, for the known cells (s, c, t) holding ``z``."""
    resid = z - bs[s] - bc[c] - bt[t] - np.einsum("ij,ij,ij->i", A[s], B[c], C[t])
    squares = sum(float((X * X).sum()) for X in (A, B, C, bs, bc, bt))
    return 0.5 * float(resid @ resid) + 0.5 * l2 * squares + l1 * float(np.abs(A).sum() + np.abs(B).sum()
                                                                         + np.abs(C).sum())


def _extend(rows, steps, how):
    """Rows for ``steps`` = 1, 2, ... periods after the last of ``rows`` (shape (n_periods, d)) by ``how``."""
    steps = np.asarray(steps, dtype=float)
    T = rows.shape[0]
    if how == "last":
        return np.broadcast_to(rows[-1], (steps.size, rows.shape[1])).copy()
    if how == "mean":
        return np.broadcast_to(rows.mean(axis=0), (steps.size, rows.shape[1])).copy()
    if T == 1:  # a line through one point: flat
        return np.broadcast_to(rows[-1], (steps.size, rows.shape[1])).copy()
    x = np.arange(T, dtype=float)
    xc = x - x.mean()
    slope = (xc @ (rows - rows.mean(axis=0))) / (xc @ xc)
    return rows.mean(axis=0) + (T - 1 - x.mean() + steps)[:, None] * slope


class CPModel(Model):
    """Tensor factorization (``cp``): salesperson x client x period factors, fitted by alternating least
    squares on the known cells.

    Parameters
    ----------
    rank : int, default 3
        Factors per salesperson, client and period.
    l2 : float, default 5.0
        Ridge regularization of factors and offsets (on bookings standardized to mean 0 and deviation 1).
    l1 : float, default 0.0
        Lasso regularization of the factors: larger values make more factors exactly 0 (sparse).
    nonnegative : bool, default False
        Keep every factor at or above 0.
    biases : bool, default True
        Fit a salesperson, a client and a period offset besides the factors.
    forecast : {"mean", "last", "trend"}, default "mean"
        The factors of a period after the last: the mean of the periods', the last period's, or a straight
        line through them extended.
    iterations : int, default 30
        Alternating sweeps at most (each solves the three sides once).
    tol : float, default 1e-6
        Stop when a sweep lowers the objective by less than this share of it.
    random_state : int, default 0
        Seed of the starting factors: the same seed gives the same model.

    Attributes
    ----------
    tensor_ : SalesTensor
        The bookings fitted (a matrix is a tensor of one period).
    matrix_ : SalesMatrix
        The latest period: the matrix ``fill`` and ``predict_cells`` predict.
    mean_, scale_ : float
        The mean and standard deviation of the known bookings.
    salesperson_factors_, client_factors_, period_factors_ : ndarray of shape (n, rank), (m, rank), (t, rank)
    salesperson_offsets_, client_offsets_, period_offsets_ : ndarray of shape (n,), (m,), (t,)
        Standardized offsets (multiply by ``scale_`` for amounts).
    objective_ : list of float
        The objective after each sweep (never increasing).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = np.einsum("ir,jr,tr->ijt", rng.normal(size=(20, 2)), rng.normal(size=(15, 2)),
    ...               rng.normal(size=(6, 2))) + 10
    >>> hidden = x.copy(); hidden[rng.random(x.shape) < 0.5] = np.nan
    >>> t = SalesTensor([f"S{i}" for i in range(20)], [f"C{j}" for j in range(15)],
    ...                 [f"2024-{k:02d}" for k in range(1, 7)], hidden)
    >>> m = CPModel(rank=2, l2=0.001, iterations=500, tol=1e-12).fit(t)
    >>> bool(np.abs(m.fill_tensor() - x).max() < 0.05)
    True
    """

    name = "cp"
    summary = ("tensor factorization over periods: mean + offsets + salesperson, client and period factors, "
               "with L2 and L1; forecasts the next period")
    PARAMS = (
        Param("rank", "int", 3, "factors per salesperson, client and period", low=1, high=1000),
        Param("l2", "float", 5.0, "ridge regularization of factors and offsets (on standardized bookings)",
              low=0.0, low_open=True),
        Param("l1", "float", 0.0, "lasso regularization of the factors: larger gives more exact zeros", low=0.0),
        Param("nonnegative", "bool", False, "keep every factor at or above 0"),
        Param("biases", "bool", True, "fit a salesperson, a client and a period offset besides the factors"),
        Param("forecast", "choice", "mean", "the factors of a period after the last: the mean of the periods', "
              "the last period's, or their straight-line trend", choices=FORECASTS),
        Param("iterations", "int", 30, "alternating sweeps at most", low=1, high=100_000),
        Param("tol", "float", 1e-6, "stop when a sweep lowers the objective by less than this share", low=0.0),
        Param("random_state", "int", 0, "seed of the starting factors", low=0),
    )

    def __init__(self, *, rank=3, l2=5.0, l1=0.0, nonnegative=False, biases=True, forecast="mean", iterations=30,
                 tol=1e-6, random_state=0):
        self.rank = rank
        self.l2 = l2
        self.l1 = l1
        self.nonnegative = nonnegative
        self.biases = biases
        self.forecast = forecast
        self.iterations = iterations
        self.tol = tol
        self.random_state = random_state

    def describe(self):
        return f"tensor factorization, rank {self.rank}, l2 {self.l2:g}{_extras(self)}"

    def short(self):
        return "cp"

    # -- fitting --------------------------------------------------------------------------------------------

    def fit(self, data) -> "CPModel":
        """Check the parameters and learn from the known cells of ``data``: a :class:`SalesTensor`, or a
        :class:`SalesMatrix` / 2-D array (one period)."""
        self.check()
        if isinstance(data, SalesTensor):
            return self._fit_tensor(data)
        return self._fit(data if isinstance(data, SalesMatrix) else _as_matrix(data))

    def _fit(self, matrix):
        return self._fit_tensor(SalesTensor.from_matrix(matrix))

    def _fit_tensor(self, tensor: SalesTensor):
        self.tensor_ = tensor
        self.matrix_ = tensor.matrix(len(tensor.periods) - 1)
        n, m, T = tensor.shape
        s, c, t = np.nonzero(tensor.known)
        r = tensor.values[s, c, t]
        mu, scale, z = _standardize(r)
        k, l2, l1 = int(self.rank), float(self.l2), float(self.l1)
        seed = 3 * int(self.random_state)
        A = _start(tensor.salespeople, k, seed)
        B = _start(tensor.clients, k, seed + 1)
        # periods start at 1 (plus a little): a first sweep then begins from a matrix factorization
        C = 1.0 + _start(tensor.periods, k, seed + 2)
        if self.nonnegative:
            A, B, C = np.abs(A), np.abs(B), np.abs(C)
        bs, bc, bt = np.zeros(n), np.zeros(m), np.zeros(T)
        sides = [(s, _csr(s, c, n)), (c, _csr(c, s, m)), (t, _csr(t, s, T))]
        history = [objective(z, s, c, t, A, B, C, bs, bc, bt, l2, l1)]
        for _ in range(int(self.iterations)):
            A, bs = self._half(z - bc[c] - bt[t], (B, c), (C, t), sides[0][1], n, A, bs)
            B, bc = self._half(z - bs[s] - bt[t], (A, s), (C, t), sides[1][1], m, B, bc)
            C, bt = self._half(z - bs[s] - bc[c], (A, s), (B, c), sides[2][1], T, C, bt)
            history.append(objective(z, s, c, t, A, B, C, bs, bc, bt, l2, l1))
            if history[-2] - history[-1] <= self.tol * max(abs(history[-2]), 1e-300):
                break
        self.mean_, self.scale_ = mu, scale
        self.salesperson_factors_, self.client_factors_, self.period_factors_ = A, B, C
        self.salesperson_offsets_, self.client_offsets_, self.period_offsets_ = bs, bc, bt
        self.objective_ = history
        return self

    def _half(self, target, first, second, csr, n, own, own_bias):
        """Solve every row of one side given the other two: returns (factors, offsets). ``first`` and
        ``second`` are (factors, index into them per known cell) of the other sides."""
        with_bias = bool(self.biases)
        order, starts = csr
        G, h = _gram(first[0], first[1], target, order, starts, n, with_bias, times=second)
        w = np.concatenate([own_bias[:, None], own], axis=1) if with_bias else own.copy()
        _solve(G, h, w, float(self.l2), float(self.l1), bool(self.nonnegative), with_bias, sweeps=100, tol=1e-10)
        if with_bias:
            return w[:, 1:].copy(), w[:, 0].copy()
        return w, own_bias

    # -- predicting -----------------------------------------------------------------------------------------

    def _period_rows(self, t):
        """(factors, offsets) of periods ``t`` (0-based; positions from n_periods on are forecast)."""
        C, bt = self.period_factors_, self.period_offsets_
        T = C.shape[0]
        t = np.asarray(t, dtype=np.intp)
        if not (t >= T).any():
            return C[t], bt[t]
        rows = np.concatenate([bt[:, None], C], axis=1)
        ahead = np.unique(t[t >= T])
        made = _extend(rows, ahead - T + 1, self.forecast)
        full = np.concatenate([rows, np.zeros((int(ahead.max()) - T + 1, rows.shape[1]))])
        full[ahead] = made
        return full[t, 1:], full[t, 0]

    def _predict_tensor(self, rows, cols, periods):
        Ct, bt = self._period_rows(periods)
        z = self.salesperson_offsets_[rows] + self.client_offsets_[cols] + bt + \
            np.einsum("ij,ij,ij->i", self.salesperson_factors_[rows], self.client_factors_[cols], Ct)
        return self.mean_ + self.scale_ * z

    def _predict_cells(self, rows, cols):
        return self._predict_tensor(rows, cols, np.full(rows.shape, len(self.tensor_.periods) - 1, np.intp))

    def predict_tensor_cells(self, rows, cols, periods) -> np.ndarray:
        """The model's values of cells (rows[k], cols[k], periods[k]): 0-based positions; a period from
        n_periods on is that many periods after the last (forecast, see ``forecast``).

        Returns
        -------
        ndarray of float, the shape of ``rows``
        """
        self._check_fitted()
        rows, cols, periods = (np.asarray(a) for a in (rows, cols, periods))
        n, m, _ = self.tensor_.shape
        if not (rows.shape == cols.shape == periods.shape) or (rows.size and any(
                a.dtype.kind not in "iu" for a in (rows, cols, periods))):
            raise InputError("rows, cols and periods must be arrays of whole numbers of the same shape")
        if rows.size and (rows.min() < 0 or rows.max() >= n or cols.min() < 0 or cols.max() >= m
                          or periods.min() < 0):
            raise InputError(f"a cell is outside the {n} x {m} bookings")
        flat = self._predict_tensor(rows.ravel().astype(np.intp), cols.ravel().astype(np.intp),
                                    periods.ravel().astype(np.intp))
        return flat.reshape(rows.shape)

    def fill_period(self, t: int) -> np.ndarray:
        """Period ``t`` (0-based; n_periods for the next) as an (n_salespeople, n_clients) array: the known
        bookings unchanged, every blank predicted."""
        self._check_fitted()
        n, m, T = self.tensor_.shape
        rr, cc = np.divmod(np.arange(n * m), m)
        values = self._predict_tensor(rr, cc, np.full(rr.shape, t, np.intp)).reshape(n, m)
        if t < T:
            known = self.tensor_.values[:, :, t]
            values = np.where(np.isnan(known), values, known)
        return values

    def fill_tensor(self) -> np.ndarray:
        """Every period seen, shape (n_salespeople, n_clients, n_periods): known bookings unchanged."""
        return np.stack([self.fill_period(t) for t in range(self.tensor_.shape[2])], axis=2)

    def period_label(self, t: int) -> str:
        T = len(self.tensor_.periods)
        from ..tensor import next_period

        return self.tensor_.periods[t] if t < T else next_period(self.tensor_.periods[-1], t - T + 1)

    def explain(self, i, j, t=None) -> Explanation:
        """Cell (i, j) of period ``t`` (0-based; None for the latest period seen, n_periods for the next)."""
        self._check_fitted()
        tensor = self.tensor_
        T = len(tensor.periods)
        t = T - 1 if t is None else int(t)
        if t < T and tensor.known[i, j, t]:
            return Explanation(tensor.salespeople[i], tensor.clients[j], float(tensor.values[i, j, t]), known=True,
                               model=self.describe())
        sc = self.scale_
        Ct, bt = self._period_rows(np.array([t]))
        parts = sc * self.salesperson_factors_[i] * self.client_factors_[j] * Ct[0]
        period = self.period_label(t)
        terms = [("mean of all bookings", self.mean_, False)]
        if self.biases:
            terms += [(f"{tensor.salespeople[i]}'s offset", sc * float(self.salesperson_offsets_[i]), True),
                      (f"{tensor.clients[j]}'s offset", sc * float(self.client_offsets_[j]), True),
                      (f"{period}'s offset", sc * float(bt[0]), True)]
        terms += [(f"factor {r + 1}: {tensor.salespeople[i]} x {tensor.clients[j]} x {period}", float(v), True)
                  for r, v in enumerate(parts) if v != 0 or r == 0]  # components L1 or L2 made 0 add nothing
        value = float(self._predict_tensor(np.array([i]), np.array([j]), np.array([t]))[0])
        how = ""
        if t >= T:
            ahead = t - T + 1
            source = {"last": f"the factors of {tensor.periods[-1]} carried forward",
                      "mean": f"the mean of the factors of {tensor.periods[0]} to {tensor.periods[-1]}",
                      "trend": f"the trend of the factors of {tensor.periods[0]} to {tensor.periods[-1]} "
                               "extended"}[self.forecast]
            how = f"forecast {ahead} period{'s' if ahead > 1 else ''} ahead: {source}"
        return TensorExplanation(tensor.salespeople[i], tensor.clients[j], value, model=self.describe(),
                                 terms=tuple(terms), period=period, how=how)

    def for_period(self, matrix, period) -> "PeriodView":
        """The fitted model seen as a model of one period's matrix: ``fill()``, ``predict_cells``,
        ``explain`` on ``matrix`` (a :class:`SalesMatrix` whose salespeople and clients are among the tensor's,
        e.g. one period sheet of the workbook fitted) predict its cells in ``period`` (a label seen, or after
        the last) from the one fit: nothing is fitted again."""
        self._check_fitted()
        return PeriodView(self, matrix, self.tensor_.period_index(period))

    def predict(self, salesperson, client, period=None) -> Explanation:
        """One cell by its labels, with its explanation; ``period`` is a period label (None: the latest seen;
        the label of the next period forecasts it)."""
        self._check_fitted()
        tensor = self.tensor_
        t = None if period is None else tensor.period_index(period)
        return self.explain(tensor.salesperson_index(salesperson), tensor.client_index(client), t)

    # -- saving ---------------------------------------------------------------------------------------------

    def _learned_meta(self):
        return {"mean": self.mean_, "scale": self.scale_, "objective": [float(v) for v in self.objective_],
                "periods": list(self.tensor_.periods)}

    def _learned_arrays(self):
        s, c, t = np.nonzero(self.tensor_.known)
        return {"tensor_rows": s.astype(np.int64), "tensor_cols": c.astype(np.int64),
                "tensor_periods": t.astype(np.int64), "tensor_values": self.tensor_.values[s, c, t],
                "salesperson_factors": self.salesperson_factors_, "client_factors": self.client_factors_,
                "period_factors": self.period_factors_, "salesperson_offsets": self.salesperson_offsets_,
                "client_offsets": self.client_offsets_, "period_offsets": self.period_offsets_}

    STATE_ARRAYS = {"tensor_rows": (("cells",), "i"), "tensor_cols": (("cells",), "i"),
                    "tensor_periods": (("cells",), "i"), "tensor_values": (("cells",), "f"),
                    "salesperson_factors": (("salespeople", "rank"), "f"), "client_factors": (("clients", "rank"), "f"),
                    "period_factors": (("periods", "rank"), "f"), "salesperson_offsets": (("salespeople",), "f"),
                    "client_offsets": (("clients",), "f"), "period_offsets": (("periods",), "f")}
    STATE_NUMBERS = ("mean", "scale")

    def _fold_in(self, matrix, rmap, cmap):
        raise InputError("a cp model file predicts periods of a bookings table; it is not applied to a sales "
                         "matrix (train cp again on the bookings, or train another model for the matrix)")

    def _restore(self, matrix, learned, arrays):
        periods = list(learned["periods"])
        values = np.full((len(matrix.salespeople), len(matrix.clients), len(periods)), np.nan)
        values[arrays["tensor_rows"], arrays["tensor_cols"], arrays["tensor_periods"]] = arrays["tensor_values"]
        self.tensor_ = SalesTensor(matrix.salespeople, matrix.clients, periods, values)
        self.matrix_ = self.tensor_.matrix(len(periods) - 1)
        self.mean_, self.scale_ = float(learned["mean"]), float(learned["scale"])
        self.objective_ = list(learned.get("objective", []))
        for name in ("salesperson_factors", "client_factors", "period_factors", "salesperson_offsets",
                     "client_offsets", "period_offsets"):
            setattr(self, name + "_", arrays[name])


class PeriodView(Model):
    """A fitted :class:`CPModel` as a model of one period's matrix (:meth:`CPModel.for_period`): the matrix
    interface (``fill``, ``predict_cells``, ``explain(i, j)``) on ``matrix_``, answered by the tensor model for
    period ``period_``. Not a registered model and never fitted itself (``fit`` refuses): it is a view."""

    name = CPModel.name
    PARAMS = CPModel.PARAMS
    summary = CPModel.summary

    def __init__(self, model: CPModel, matrix: SalesMatrix, period: int):
        tensor = model.tensor_
        self.model_, self.matrix_, self.period_ = model, matrix, int(period)
        self.rows_ = np.array([tensor.salesperson_index(s) for s in matrix.salespeople], dtype=np.intp)
        self.cols_ = np.array([tensor.client_index(c) for c in matrix.clients], dtype=np.intp)

    def get_params(self) -> dict:
        return self.model_.get_params()

    def clone(self):
        return self.model_.clone()

    def _fit(self, matrix):
        raise InputError("a period view of a fitted cp model is not fitted itself: fit the CPModel")

    def _predict_cells(self, rows, cols):
        return self.model_._predict_tensor(self.rows_[rows], self.cols_[cols], np.full(rows.shape, self.period_,
                                                                                       np.intp))

    def explain(self, i, j) -> Explanation:
        known = self._known(i, j)
        if known is not None:
            return known
        return self.model_.explain(int(self.rows_[i]), int(self.cols_[j]), self.period_)

    def describe(self):
        return self.model_.describe()

    def short(self):
        return self.model_.short()


def _as_matrix(data):
    from .base import as_matrix

    return as_matrix(data)
