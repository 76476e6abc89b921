"""``mf``: biased matrix factorization, fitted on the known cells by alternating least squares, with L2 and
optionally L1 (sparse) regularization.

The model::

    booking(s, c) = mu + scale * (b_s + b_c + p_s . q_c)

``mu`` is the mean of the known bookings and ``scale`` their standard deviation: the model works on
standardized bookings ``z = (booking - mu) / scale``, so its regularization means the same whatever the unit
of the bookings (dollars, thousands) and multiplying every booking by c multiplies every prediction by c.
``p_s`` and ``q_c`` are rows of ``rank`` factors, ``b_s`` and ``b_c`` offsets. The fit minimizes, over the
known cells only::

    F = 1/2 sum (z - b_s - b_c - p_s . q_c)^2
        + sum_s w_s (l2/2 (|p_s|^2 + b_s^2) + l1 |p_s|_1) + sum_c w_c (l2/2 (|q_c|^2 + b_c^2) + l1 |q_c|_1)

where a salesperson's weight w_s grows with the number n_s of its bookings: sqrt(n_s) by default
(``reg_weight``; ``count``: n_s, the "weighted-lambda" ALS of Zhou et al. 2008; ``none``: 1), so that one with
many bookings is not left nearly unregularized while one with a single booking is held back (on Online
Retail this weighting lowers the cross-validated error by some 4 %)

by alternating over the two sides: with the clients' ``[1, q_c]`` fixed, each salesperson's ``[b_s, p_s]``
is a ridge regression over that salesperson's known clients (solved exactly), and with ``l1 > 0`` an elastic
net, solved by coordinate descent with soft-thresholding (scikit-learn's ``Lasso`` update, warm-started, so
a sweep never increases F); then the same for the clients. ``nonnegative`` keeps the factors at or above 0
(projected coordinate descent). The work is over the known cells only (a salesperson's rows of the Gram
matrix are summed from that salesperson's cells), never over a dense matrix of residuals, and in blocks of
cells, so memory grows with the number of known cells, not with salespeople x clients.

A salesperson (client) with no booking gets zero factors and offset: the prediction is then the mean plus
the client's (salesperson's) offset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from .base import Model
from .explanation import Explanation, format_amount
from .params import Param

__all__ = ["FactorizationModel", "FactorizationExplanation", "objective"]

_BLOCK_TERMS = 1 << 20  # Gram terms ((rank+1)^2 per cell) summed at once: 8 MiB


@dataclass(frozen=True)
class FactorizationExplanation(Explanation):
    """An ``mf`` prediction: ``terms`` (label, amount, signed) sum to the value; ``alike`` lists
    (salesperson, similarity, booking) of the salespeople nearest in factor space who booked this client."""

    terms: tuple = ()
    alike: tuple = ()

    def detail_lines(self) -> list:
        lines = [f"{label}: {('+' if v >= 0 else '-') + format_amount(abs(v)) if signed else format_amount(v)}"
                 for label, v, signed in self.terms]
        if self.alike:
            lines.append("most alike who booked this client: " + ", ".join(
                f"{name} ({format_amount(v)}, similarity {sim:.2f})" for name, sim, v in self.alike))
        return lines

    def detail_rows(self) -> list:
        rows = [["Term", "", "", "Amount"]] + [[label, "", "", v] for label, v, _ in self.terms]
        if self.alike:
            rows.append(["Most alike who booked this client", "Similarity", "", "Booking"])
            rows += [[name, sim, "", v] for name, sim, v in self.alike]
        return rows


class _Side:
    """The known cells of one side (salespeople, or clients) row by row: a CSR pattern whose values are
    re-set to each half-sweep's targets. ``perm`` puts the cells in its order."""

    def __init__(self, rows, cols, n, m):
        self.perm = np.lexsort((cols, rows))
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
        self.indices = cols[self.perm]
        self.ones = sparse.csr_matrix((np.ones(rows.size), self.indices, indptr), shape=(n, m))
        self.n = n


def _gram_solve(side, target, other, w, l2, l1, nonnegative, with_bias):
    """``l2`` and ``l1``: scalars, or one per row of the side."""
    """Every row of one side solved given the other (``w`` updated in place, warm start).

    A row's least-squares problem has the design rows ``[1, other[c]]`` (``[other[c]]`` without offsets)
    over its known cells c and the targets ``target`` (in ``side.perm`` order). Its Gram matrix and
    right-hand side are sparse-times-dense products: the known pattern times the other side's outer
    products ``x_c x_c'`` (computed once per client, not once per cell), and the targets times the design.
    Done in blocks of rows so that memory stays bounded."""
    X = np.concatenate([np.ones((other.shape[0], 1)), other], axis=1) if with_bias else other
    d = X.shape[1]
    iu, ju = np.triu_indices(d)  # G is symmetric: its upper triangle is summed, then mirrored
    XX = X[:, iu] * X[:, ju]
    values = sparse.csr_matrix((target, side.indices, side.ones.indptr), shape=side.ones.shape)
    block = max(1, _BLOCK_TERMS // (d * d))
    for lo in range(0, side.n, block):
        hi = min(side.n, lo + block)
        G = np.empty((hi - lo, d, d))
        upper = side.ones[lo:hi] @ XX
        G[:, iu, ju] = upper
        G[:, ju, iu] = upper
        h = np.asarray(values[lo:hi] @ X)
        w[lo:hi] = _solve(G, h, w[lo:hi].copy(), _part(l2, lo, hi), _part(l1, lo, hi), nonnegative, with_bias,
                          sweeps=100, tol=1e-10)
    return w


def _part(a, lo, hi):
    return a[lo:hi] if np.ndim(a) else a


def _solve(G, h, w, l2, l1, nonnegative, with_bias, sweeps, tol):
    """Minimize 1/2 w'Gw - h'w + l2/2 |w|^2 + l1 |w_factors|_1 for every row (w warm-started, updated in
    place; ``l2`` and ``l1`` scalars or one per row). Pure ridge: one batched solve; otherwise coordinate descent with soft-thresholding, the bias
    coordinate (first, with biases) neither L1-penalized nor kept non-negative."""
    n, d, _ = G.shape
    if n == 0:
        return w
    start = 1 if with_bias else 0
    l2 = np.broadcast_to(np.asarray(l2, dtype=float), (n,))
    l1 = np.broadcast_to(np.asarray(l1, dtype=float), (n,))
    if not l1.any() and not nonnegative:
        A = G + l2[:, None, None] * np.eye(d)
        w[:] = np.linalg.solve(A, h[:, :, None])[:, :, 0]
        return w
    diag = np.einsum("nii->ni", G) + l2[:, None]
    for _ in range(sweeps):
        biggest = 0.0
        for j in range(d):
            # h_j - sum_{l != j} G_jl w_l
            rho = h[:, j] - np.einsum("nl,nl->n", G[:, j, :], w) + G[:, j, j] * w[:, j]
            if j >= start:
                new = np.sign(rho) * np.maximum(np.abs(rho) - l1, 0.0) / diag[:, j]
                if nonnegative:
                    new = np.maximum(new, 0.0)
            else:
                new = rho / diag[:, j]
            biggest = max(biggest, float(np.max(np.abs(new - w[:, j]))) if n else 0.0)
            w[:, j] = new
        if biggest <= tol:
            break
    return w


def _start(labels, rank, seed):
    """Starting factors, normal with deviation 0.1, drawn from each label and ``seed`` (a stable hash of the
    label, then splitmix64 per factor): a salesperson starts from the same factors whatever the row order,
    so permuting salespeople or clients permutes the fitted model."""
    import zlib

    keys = np.array([zlib.crc32(str(label).encode("utf-8")) for label in labels], dtype=np.uint64)
    keys = keys * np.uint64(0x100000001B3) + np.uint64(seed)
    counter = np.arange(2 * rank, dtype=np.uint64)[None, :] + (keys[:, None] << np.uint64(20))
    with np.errstate(over="ignore"):
        x = counter + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    u = ((x >> np.uint64(11)).astype(np.float64) + 0.5) / float(1 << 53)  # in (0, 1)
    u1, u2 = u[:, :rank], u[:, rank:]
    return 0.1 * np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)  # Box-Muller


def _standardize(r):
    """(mean, scale, standardized values) of the known bookings ``r``: the scale is their standard deviation
    (the mean's size, or 1, when they are all equal)."""
    mu = float(r.mean())
    scale = float(r.std())
    if not scale > 0 or not math.isfinite(scale):
        scale = max(abs(mu), 1.0)
    return mu, scale, (r - mu) / scale


def _extras(model) -> str:
    """The optional settings of a factorization model, for ``describe``."""
    return (f", l1 {model.l1:g}" if model.l1 else "") + (", non-negative" if model.nonnegative else "") + \
        ("" if model.biases else ", no offsets")


def _interactions(P, Q, rows, cols):
    """p_rows[t] . q_cols[t] for every cell, in blocks of cells (memory: a block, not cells x rank)."""
    out = np.empty(rows.size)
    step = max(1, _BLOCK_TERMS // max(P.shape[1], 1))
    for lo in range(0, rows.size, step):
        hi = min(rows.size, lo + step)
        out[lo:hi] = np.einsum("ij,ij->i", P[rows[lo:hi]], Q[cols[lo:hi]])
    return out


def objective(z, rows, cols, P, Q, bs, bc, l2, l1, ws=1.0, wc=1.0):
    """The standardized objective F of the module's text, for the known cells (rows, cols) holding ``z``;
    ``ws`` and ``wc`` weigh each salesperson's and client's regularization (see ``reg_weight``)."""
    resid = z - bs[rows] - bc[cols] - _interactions(P, Q, rows, cols)
    ws, wc = np.broadcast_to(ws, bs.shape), np.broadcast_to(wc, bc.shape)
    ridge = ws @ ((P * P).sum(axis=1) + bs * bs) + wc @ ((Q * Q).sum(axis=1) + bc * bc)
    lasso = ws @ np.abs(P).sum(axis=1) + wc @ np.abs(Q).sum(axis=1)
    return 0.5 * float(resid @ resid) + 0.5 * l2 * float(ridge) + l1 * float(lasso)


#: how a salesperson's (client's) regularization grows with the number n of its bookings
REG_WEIGHTS = {"sqrt": lambda n: np.sqrt(np.maximum(n, 1)), "count": lambda n: np.maximum(n, 1.0),
               "none": lambda n: np.ones(np.shape(n))}


class FactorizationModel(Model):
    """Biased matrix factorization (``mf``), fitted by alternating least squares on the known cells.

    Parameters
    ----------
    rank : int, default 5
        Factors per salesperson and per client.
    l2 : float, default 1.0
        Ridge regularization of factors and offsets (on bookings standardized to mean 0 and deviation 1),
        per unit of ``reg_weight``.
    l1 : float, default 0.0
        Lasso regularization of the factors: larger values make more factors exactly 0 (sparse).
    reg_weight : {"sqrt", "count", "none"}, default "sqrt"
        How a salesperson's (client's) regularization grows with its number of bookings n: sqrt(n), n, or 1.
    nonnegative : bool, default False
        Keep every factor at or above 0.
    biases : bool, default True
        Fit a salesperson and a client offset besides the factors.
    iterations : int, default 30
        Alternating sweeps at most (each solves both sides once).
    tol : float, default 1e-4
        Stop when a sweep lowers the objective by less than this share of it.
    random_state : int, default 0
        Seed of the starting factors: the same seed gives the same model.

    Attributes
    ----------
    mean_, scale_ : float
        The mean and standard deviation of the known bookings.
    salesperson_factors_ : ndarray of shape (n_salespeople, rank)
    client_factors_ : ndarray of shape (n_clients, rank)
    salesperson_offsets_, client_offsets_ : ndarray of shape (n_salespeople,), (n_clients,)
        Standardized offsets (multiply by ``scale_`` for amounts).
    objective_ : list of float
        The objective after each sweep (never increasing).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(30, 3)) @ rng.normal(size=(3, 20)) + 10
    >>> hidden = x.copy(); hidden[rng.random(x.shape) < 0.3] = np.nan
    >>> m = FactorizationModel(rank=3, l2=0.001, iterations=200).fit(hidden)
    >>> bool(np.abs(m.fill().values - x).max() < 0.1)
    True
    """

    name = "mf"
    summary = "matrix factorization: mean + offsets + salesperson and client factors, with L2 and L1 (sparse)"
    PARAMS = (
        Param("rank", "int", 5, "factors per salesperson and per client", low=1, high=1000),
        Param("l2", "float", 1.0, "ridge regularization of factors and offsets (on standardized bookings)",
              low=0.0, low_open=True),
        Param("l1", "float", 0.0, "lasso regularization of the factors: larger gives more exact zeros", low=0.0),
        Param("reg_weight", "choice", "sqrt", "how a row's regularization grows with its n bookings: sqrt(n), "
              "count (n) or none (1)", choices=tuple(REG_WEIGHTS)),
        Param("nonnegative", "bool", False, "keep every factor at or above 0"),
        Param("biases", "bool", True, "fit a salesperson and a client offset besides the factors"),
        Param("iterations", "int", 30, "alternating sweeps at most", low=1, high=100_000),
        Param("tol", "float", 1e-4, "stop when a sweep lowers the objective by less than this share", low=0.0),
        Param("random_state", "int", 0, "seed of the starting factors", low=0),
    )

    def __init__(self, *, rank=5, l2=1.0, l1=0.0, reg_weight="sqrt", nonnegative=False, biases=True, iterations=30,
                 tol=1e-4, random_state=0):
        self.rank = rank
        self.l2 = l2
        self.l1 = l1
        self.reg_weight = reg_weight
        self.nonnegative = nonnegative
        self.biases = biases
        self.iterations = iterations
        self.tol = tol
        self.random_state = random_state

    def describe(self):
        return f"matrix factorization, rank {self.rank}, l2 {self.l2:g} x {self.reg_weight}(bookings){_extras(self)}"

    def short(self):
        return "mf"

    # -- fitting --------------------------------------------------------------------------------------------

    def _fit(self, matrix, start=None):
        """Fit on the known cells of ``matrix`` (parameters already checked).

        Parameters
        ----------
        matrix : SalesMatrix
        start : FactorizationModel or None, default None
            A fitted model of the same shape and rank whose factors and offsets are the starting point of the
            alternating sweeps, instead of the seeded random factors (``random_state``) and zero offsets: a warm
            start. The tuner fits a path of ``l2`` values from the largest to the smallest, each from the one
            before (:mod:`xlrec.core.tune`); near the previous solution a fit stops after a few sweeps. The
            result is then a stationary point reached from another start: close to the cold fit's, not the same
            floats. None (the default) is the cold start, the same as :meth:`fit`.
        """
        rows, cols = np.nonzero(matrix.known)
        self._fit_known(rows, cols, matrix.values[rows, cols], matrix.shape, matrix.salespeople, matrix.clients,
                        start)
        self.matrix_ = matrix
        return self

    def fit_known(self, rows, cols, values, shape, salespeople=None, clients=None):
        """Fit from the known cells alone, for a matrix too large to hold whole (100,000 x 50,000 is 40 GB of
        doubles; its 5 million known cells are 120 MB): ``predict_cells`` then works, ``fill`` and
        ``explain`` need :meth:`fit` with a :class:`~xlrec.core.matrix.SalesMatrix`.

        Parameters
        ----------
        rows, cols : ndarray of int of shape (n_known,)
        values : ndarray of float of shape (n_known,)
        shape : (n_salespeople, n_clients)
        salespeople, clients : sequences of labels, optional
            The labels the starting factors are drawn from (default: the positions).
        """
        self.check()
        rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
        values = np.asarray(values, dtype=float)
        n, m = int(shape[0]), int(shape[1])
        self._fit_known(rows, cols, values, (n, m), range(n) if salespeople is None else salespeople,
                        range(m) if clients is None else clients)
        self.matrix_ = None
        return self

    def _shape(self):
        return self.shape_

    def _fit_known(self, rows, cols, r, shape, salespeople, clients, start=None):
        n, m = shape
        self.shape_ = shape
        mu, scale, z = _standardize(r)
        k, l2, l1 = int(self.rank), float(self.l2), float(self.l1)
        P = _start(salespeople, k, 2 * int(self.random_state))
        Q = _start(clients, k, 2 * int(self.random_state) + 1)
        bs, bc = np.zeros(n), np.zeros(m)
        if start is not None:
            P, Q, bs, bc = self._warm(start, P, Q)
        if self.nonnegative:
            P, Q = np.abs(P), np.abs(Q)
        by_row, by_col = _Side(rows, cols, n, m), _Side(cols, rows, m, n)
        weigh = REG_WEIGHTS[self.reg_weight]
        ws, wc = weigh(np.bincount(rows, minlength=n)), weigh(np.bincount(cols, minlength=m))
        history = [objective(z, rows, cols, P, Q, bs, bc, l2, l1, ws, wc)]
        for _ in range(int(self.iterations)):
            P, bs = self._half(by_row, (z - bc[cols])[by_row.perm], Q, P, bs, ws)
            Q, bc = self._half(by_col, (z - bs[rows])[by_col.perm], P, Q, bc, wc)
            history.append(objective(z, rows, cols, P, Q, bs, bc, l2, l1, ws, wc))
            if history[-2] - history[-1] <= self.tol * max(abs(history[-2]), 1e-300):
                break
        self.mean_, self.scale_ = mu, scale
        self.salesperson_factors_, self.client_factors_ = P, Q
        self.salesperson_offsets_, self.client_offsets_ = bs, bc
        self.objective_ = history

    def _warm(self, start, P0, Q0):
        """The starting (factors, offsets) taken from the fitted ``start`` (copies; zero offsets without
        ``biases``), checked against the shape and rank of the seeded factors ``P0``, ``Q0``.

        When ``start`` shrank any factor (a column of both sides) below its seeded size (the product of the
        two sides' norms), the start is the cold one (the seeded factors, zero offsets) instead: a large
        ``l2`` sets factors to zero, and zero factors are a stationary point of every ``l2`` (a saddle once
        ``l2`` is small enough; with ``l1`` a local minimum), which sweeps from there leave slowly or never,
        where the cold start, its offsets not yet fitted, does leave it."""
        P, Q = start.salesperson_factors_, start.client_factors_
        if P.shape != P0.shape or Q.shape != Q0.shape:
            raise ValueError(f"a warm start needs factors of shapes {P0.shape} and {Q0.shape}, got {P.shape} and "
                             f"{Q.shape}")
        collapsed = np.linalg.norm(P, axis=0) * np.linalg.norm(Q, axis=0) < \
            np.linalg.norm(P0, axis=0) * np.linalg.norm(Q0, axis=0)
        if collapsed.any():
            return P0, Q0, np.zeros(P.shape[0]), np.zeros(Q.shape[0])
        if self.biases:
            return P.copy(), Q.copy(), start.salesperson_offsets_.copy(), start.client_offsets_.copy()
        return P.copy(), Q.copy(), np.zeros(P.shape[0]), np.zeros(Q.shape[0])

    def _half(self, side, target, other, own, own_bias, weight):
        """Solve every row of one side given the other: returns (factors, offsets)."""
        with_bias = bool(self.biases)
        w = np.concatenate([own_bias[:, None], own], axis=1) if with_bias else own.copy()
        _gram_solve(side, target, other, w, float(self.l2) * weight, float(self.l1) * weight,
                    bool(self.nonnegative), with_bias)
        if with_bias:
            return w[:, 1:].copy(), w[:, 0].copy()
        return w, own_bias

    # -- predicting -----------------------------------------------------------------------------------------

    def _predict_cells(self, rows, cols):
        z = self.salesperson_offsets_[rows] + self.client_offsets_[cols] + \
            _interactions(self.salesperson_factors_, self.client_factors_, rows, cols)
        return self.mean_ + self.scale_ * z

    def explain(self, i, j):
        known = self._known(i, j)
        if known is not None:
            return known
        m = self.matrix_
        s = self.scale_
        P, Q = self.salesperson_factors_, self.client_factors_
        bs, bc = s * float(self.salesperson_offsets_[i]), s * float(self.client_offsets_[j])
        inter = s * float(P[i] @ Q[j])
        terms = [("mean of all bookings", self.mean_, False)]
        if self.biases:
            terms += [(f"{m.salespeople[i]}'s offset", bs, True), (f"{m.clients[j]}'s offset", bc, True)]
        terms.append((f"{m.salespeople[i]} with {m.clients[j]} (the factors)", inter, True))
        return FactorizationExplanation(m.salespeople[i], m.clients[j], self.mean_ + bs + bc + inter,
                                        model=self.describe(), terms=tuple(terms), alike=self._alike(i, j))

    def _alike(self, i, j, n=3):
        """(name, cosine similarity, booking) of the ``n`` salespeople nearest to ``i`` in factor space who
        booked client ``j``, most alike first (ties: row order)."""
        m = self.matrix_
        donors = np.flatnonzero(m.known[:, j])
        donors = donors[donors != i]
        P = self.salesperson_factors_
        norms = np.linalg.norm(P, axis=1)
        if donors.size == 0 or norms[i] == 0:
            return ()
        with np.errstate(invalid="ignore", divide="ignore"):
            sim = (P[donors] @ P[i]) / (norms[donors] * norms[i])
        sim = np.where(np.isfinite(sim), sim, -np.inf)
        best = np.lexsort((donors, -sim))[:n]
        return tuple((m.salespeople[donors[t]], float(sim[t]), float(m.values[donors[t], j]))
                     for t in best if np.isfinite(sim[t]))

    # -- saving ---------------------------------------------------------------------------------------------

    def _learned_meta(self):
        return {"mean": self.mean_, "scale": self.scale_, "objective": [float(v) for v in self.objective_]}

    def _learned_arrays(self):
        return {"salesperson_factors": self.salesperson_factors_, "client_factors": self.client_factors_,
                "salesperson_offsets": self.salesperson_offsets_, "client_offsets": self.client_offsets_}

    STATE_ARRAYS = {"salesperson_factors": (("salespeople", "rank"), "f"),
                    "client_factors": (("clients", "rank"), "f"),
                    "salesperson_offsets": (("salespeople",), "f"), "client_offsets": (("clients",), "f")}
    STATE_NUMBERS = ("mean", "scale")
    STATE_PREDICTS = True

    def _restore(self, matrix, learned, arrays):
        if matrix is not None:
            self.matrix_ = matrix
        self.shape_ = (arrays["salesperson_offsets"].shape[0], arrays["client_offsets"].shape[0])
        self.mean_, self.scale_ = float(learned["mean"]), float(learned["scale"])
        self.objective_ = list(learned.get("objective", []))
        self.salesperson_factors_ = arrays["salesperson_factors"]
        self.client_factors_ = arrays["client_factors"]
        self.salesperson_offsets_ = arrays["salesperson_offsets"]
        self.client_offsets_ = arrays["client_offsets"]

    # -- folding in -----------------------------------------------------------------------------------------

    def _fold_in(self, matrix, rmap, cmap):
        """A salesperson the model does not know gets the factors and offset that the fit would give it with
        the clients' fixed: the ridge (elastic net) regression of its standardized bookings, less the clients'
        offsets, on ``[1, q_c]`` over the model's clients it booked, regularized by ``l2`` (``l1``) times
        its ``reg_weight`` of those bookings (one half-sweep of the fit, for that row alone). A client the
        model does not know: the same against the salespeople's factors. One with no booking among the
        model's (clients) keeps zero factors and offset, as in the fit."""
        n, m = matrix.shape
        P, Q = _take(self.salesperson_factors_, rmap), _take(self.client_factors_, cmap)
        bs, bc = _take(self.salesperson_offsets_, rmap), _take(self.client_offsets_, cmap)
        z = (matrix.values - self.mean_) / self.scale_
        remarks = []
        for side, kind, of in ((0, "salespeople", "clients"), (1, "clients", "salespeople")):
            own, other = (rmap, cmap) if side == 0 else (cmap, rmap)
            new = np.flatnonzero(own < 0)
            if new.size == 0:
                continue
            used = other >= 0
            zz = (z if side == 0 else z.T)[np.ix_(new, np.flatnonzero(used))]
            trained = other[used]
            factors = self.client_factors_ if side == 0 else self.salesperson_factors_
            offsets = self.client_offsets_ if side == 0 else self.salesperson_offsets_
            f, b, none = self._solve_rows(zz, trained, factors, offsets)
            (P if side == 0 else Q)[new] = f
            (bs if side == 0 else bc)[new] = b
            if none:
                remarks.append(f"{none:,} of them with no booking among the model's {of}: the mean and offsets "
                               "alone")
        model = self.clone()
        model.matrix_, model.shape_ = matrix, (n, m)
        model.mean_, model.scale_, model.objective_ = self.mean_, self.scale_, list(self.objective_)
        model.salesperson_factors_, model.client_factors_ = P, Q
        model.salesperson_offsets_, model.client_offsets_ = bs, bc
        return model, remarks

    def _solve_rows(self, zz, trained, factors, offsets):
        """(factors, offsets, how many had no booking) of the rows of ``zz`` (standardized bookings, NaN
        blank, over the other side's rows ``trained`` of ``factors``/``offsets``)."""
        known = ~np.isnan(zz)
        rr, cc = np.nonzero(known)
        nr, k = zz.shape[0], factors.shape[1]
        with_bias = bool(self.biases)
        target = zz[rr, cc] - (offsets[trained[cc]] if with_bias else 0.0)
        side = _Side(rr, cc, nr, zz.shape[1])
        counts = np.bincount(rr, minlength=nr)
        weight = REG_WEIGHTS[self.reg_weight](counts)
        w = np.zeros((nr, k + 1 if with_bias else k))
        _gram_solve(side, target[side.perm], factors[trained], w, float(self.l2) * weight,
                    float(self.l1) * weight, bool(self.nonnegative), with_bias)
        w[counts == 0] = 0.0
        if with_bias:
            return w[:, 1:], w[:, 0], int((counts == 0).sum())
        return w, np.zeros(nr), int((counts == 0).sum())


def _take(a, index):
    """``a``'s rows at ``index``, zero where the index is -1."""
    out = np.zeros((index.size,) + a.shape[1:])
    ok = index >= 0
    out[ok] = a[index[ok]]
    return out
