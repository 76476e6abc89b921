"""The article's neighbour model: predict a blank from the most similar salespeople's bookings.

For a blank (salesperson, client): rank the other salespeople by distance (see :mod:`.distances`), keep the
``k`` nearest *among those with a booking for that client*, and combine their bookings by weighted voting.
Ties in distance go to the salesperson higher in the matrix (row order), so results never depend on chance.

Filling works block by block over the rows (memory stays bounded) and, inside a block, takes each row's
``prefix`` nearest salespeople at once for the clients that many people have booked (a gather, a cumulative
count and a weighted sum over a 3-D block); the clients few people booked, and the rare cells whose prefix
held fewer than ``k`` donors, are done client by client over that client's donors. Both paths choose the
same neighbours; tests check them against a plain reference implementation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..exceptions import InputError
from . import _accel
from .base import FillResult, Model, Neighbor, Prediction, as_matrix
from .distances import _block_distances, _csc, _prepare, check_metric, exact_distances

__all__ = ["NeighborModel", "LazyWeights", "WEIGHTINGS", "BY", "FALLBACKS"]


def _shape(dist, rank):
    return np.broadcast_shapes(np.shape(dist), np.shape(rank))


def _uniform(dist, rank):
    return np.ones(_shape(dist, rank))


def _rank(dist, rank):
    return np.broadcast_to(1.0 / np.maximum(rank, 1), _shape(dist, rank))


def _inverse_distance(dist, rank):
    with np.errstate(divide="ignore"):
        return np.broadcast_to(1.0 / dist, _shape(dist, rank))


#: weighting name -> weight of a neighbour from its distance and 1-based rank among those used
WEIGHTINGS = {"rank": _rank, "uniform": _uniform, "distance": _inverse_distance}
_WEIGHTING_CODES = {"uniform": 0, "rank": 1, "distance": 2}
BY = ("salesperson", "client")
FALLBACKS = (None, "client_mean", "salesperson_mean")

_BLOCK_ELEMENTS = 1 << 23  # cells of one (rows x salespeople) distance block: 64 MiB of float64
_SLOT_ELEMENTS = 1 << 21  # (blank cell, neighbour) slots handled at once: about 50 bytes each in a block


def _weights(dist, rank, use, weighting):
    """Weights of the neighbours flagged by ``use``; the neighbour axis is axis 1.

    With ``"distance"`` weighting, when any used neighbour is at distance 0 only those count (each with
    weight 1), as scikit-learn's KNNImputer does.
    """
    if weighting == "uniform":
        return use.astype(float)
    w = WEIGHTINGS[weighting](dist, rank)
    w = np.where(use, w, 0.0)
    if weighting == "distance":
        zero = use & (dist == 0)
        anyzero = zero.any(axis=1, keepdims=True)
        w = np.where(anyzero, zero.astype(float), w)
    return w


def _k_smallest(sub, k):
    """Positions of the ``k`` smallest entries of each row, ordered by (value, position).

    Returns (positions, values), each of shape (n_rows, min(k, n_columns)); ``inf`` values mark entries that
    are not neighbours at all. Ties are broken by position, never by chance.
    """
    r, d = sub.shape
    if d <= 4 * k:
        pos = np.argsort(sub, axis=1, kind="stable")[:, :k]
        return pos, np.take_along_axis(sub, pos, axis=1)
    pos = np.argpartition(sub, k - 1, axis=1)[:, :k]
    vals = np.take_along_axis(sub, pos, axis=1)
    t = vals.max(axis=1, keepdims=True)
    # argpartition picks arbitrarily among entries equal to the k-th value; where such a tie crosses the
    # boundary, take the tied entries with the lowest positions instead
    crossing = (sub == t).sum(axis=1) != (vals == t).sum(axis=1)
    if crossing.any():
        rows = np.flatnonzero(crossing)
        s, tr = sub[rows], t[rows]
        less, eq = s < tr, s == tr
        need = k - less.sum(axis=1, keepdims=True)
        sel = less | (eq & (np.cumsum(eq, axis=1) <= need))
        pos[rows] = np.nonzero(sel)[1].reshape(rows.size, k)
        vals[rows] = np.take_along_axis(s, pos[rows], axis=1)
    o = np.lexsort((pos, vals), axis=1)
    return np.take_along_axis(pos, o, axis=1), np.take_along_axis(vals, o, axis=1)


class LazyWeights:
    """The weights of the neighbours that voted for each cell, worked out when asked for.

    Stands for the array of shape (n_salespeople, n_clients, k) that :meth:`NeighborModel.fill` would
    otherwise keep (8 bytes per neighbour per cell): a weight is a function of the neighbour's distance and
    rank (see :data:`WEIGHTINGS`), so it is computed again from the kept indices and distances, giving the
    same floats the vote used. NaN past the last neighbour used, as in the distances.

    Parameters
    ----------
    index : ndarray of int of shape (n_salespeople, n_clients, k)
        The neighbours, nearest first, -1 past the last one used.
    distance : ndarray of float of the same shape
    weighting : str
        A key of :data:`WEIGHTINGS`.

    Examples
    --------
    >>> import numpy as np
    >>> w = LazyWeights(np.array([[[3, 0, -1]]]), np.array([[[0.0, 2.0, np.nan]]]), "rank")
    >>> w[0, 0]
    array([1. , 0.5, nan])
    >>> w.shape, np.asarray(w)[..., 1]
    ((1, 1, 3), array([[0.5]]))
    """

    dtype = np.dtype(float)

    def __init__(self, index, distance, weighting):
        self._index, self._distance, self._weighting = index, distance, weighting

    @property
    def shape(self):
        return self._index.shape

    @property
    def ndim(self):
        return self._index.ndim

    def __len__(self):
        return len(self._index)

    def __getitem__(self, key):
        """Index as the full array would be: ``w[i, j]``, ``w[rows, cols]``, ``w[i]`` compute only what is
        asked for; other forms (an index on the neighbour axis) compute the whole array first."""
        key = key if isinstance(key, tuple) else (key,)
        if len(key) > 2 or any(part is Ellipsis or part is None for part in key):
            return np.asarray(self)[key]
        return self._weights(self._index[key], self._distance[key])

    def __array__(self, dtype=None, copy=None):
        if copy is False:
            raise ValueError("the weights are computed when asked for: they cannot be viewed without a copy")
        out = self._weights(self._index, self._distance)
        return out if dtype is None else out.astype(dtype, copy=False)

    def _weights(self, index, distance):
        k = index.shape[-1]
        idx, dist = index.reshape(-1, k), distance.reshape(-1, k)
        ok = idx >= 0
        w = _weights(dist, np.arange(1, k + 1)[None, :], ok, self._weighting)
        return np.where(ok, w, np.nan).reshape(index.shape)


@dataclass
class _Oriented:
    """The matrix as the model sees it: rows are the things compared (salespeople, or clients)."""

    x: np.ndarray
    known: np.ndarray
    state: dict = field(default_factory=dict)


class NeighborModel(Model):
    """Predict blanks from the ``k`` most similar salespeople (or clients), the article's algorithm.

    Parameters
    ----------
    k : int, default 2
        How many neighbours vote (the article's N).
    metric : {"manhattan", "euclidean", "supremum", "nan_euclidean"}, default "manhattan"
        The distance between two salespeople over the clients both have a value for.
    weighting : {"rank", "uniform", "distance"}, default "rank"
        ``rank``: the i-th nearest gets weight 1/i (the article's); ``uniform``: all equal; ``distance``: 1/d.
    by : {"salesperson", "client"}, default "salesperson"
        Whether neighbours are similar salespeople (rows) or similar clients (columns).
    min_shared : int, default 1
        Two salespeople sharing fewer clients than this are never neighbours.
    fallback : {None, "client_mean", "salesperson_mean"}, default None
        What to put in a cell no neighbour can predict. None leaves it blank and reports it.

    Attributes
    ----------
    matrix_ : SalesMatrix
        The fitted matrix.

    Examples
    --------
    >>> from xlrec.core.matrix import SalesMatrix
    >>> nan = float("nan")
    >>> m = SalesMatrix(["Alyssa", "Brandon", "Mike"], ["Google", "ExxonMobil", "Staples"],
    ...                 [[500000, 400000, nan], [500000, 200000, 300000], [500000, 400000, 500000]])
    >>> p = NeighborModel(k=2).fit(m).predict("Alyssa", "Staples")
    >>> round(p.value, 2), [n.name for n in p.neighbors]
    (433333.33, ['Mike', 'Brandon'])
    """

    name = "neighbors"

    def __init__(self, *, k=2, metric="manhattan", weighting="rank", by="salesperson", min_shared=1,
                 fallback=None):
        self.k = k
        self.metric = metric
        self.weighting = weighting
        self.by = by
        self.min_shared = min_shared
        self.fallback = fallback

    def describe(self) -> str:
        return f"k={self.k}, {self.metric} distance, {self.weighting} weights, by {self.by}"

    # -- fitting --------------------------------------------------------------------------------------------

    def _check_params(self):
        if isinstance(self.k, bool) or not isinstance(self.k, (int, np.integer)):
            if isinstance(self.k, float) and self.k.is_integer():
                self.k = int(self.k)
            else:
                raise InputError(f"k must be a whole number of neighbours, got {self.k!r}")
        if self.k < 1:
            raise InputError(f"k must be at least 1, got {self.k}")
        check_metric(self.metric)
        if self.weighting not in WEIGHTINGS:
            raise InputError(f"unknown weighting {self.weighting!r}; choose one of: {', '.join(WEIGHTINGS)}")
        if self.by not in BY:
            raise InputError(f"unknown by {self.by!r}; choose one of: {', '.join(BY)}")
        if isinstance(self.min_shared, bool) or not isinstance(self.min_shared, (int, np.integer)) \
                or self.min_shared < 1:
            raise InputError(f"min_shared must be a whole number of at least 1, got {self.min_shared!r}")
        if self.fallback not in FALLBACKS:
            raise InputError(f"unknown fallback {self.fallback!r}; choose one of: "
                             f"{', '.join(str(f) for f in FALLBACKS)}")

    def fit(self, matrix):
        """Check the parameters and take the matrix (a :class:`SalesMatrix` or an array with NaN blanks)."""
        self._check_params()
        self.matrix_ = as_matrix(matrix)
        values = self.matrix_.values if self.by == "salesperson" else self.matrix_.values.T
        x = np.ascontiguousarray(values)
        known = ~np.isnan(x)
        self._data = _Oriented(x, known, _prepare(x, known, self.metric))
        return self

    # -- one cell -------------------------------------------------------------------------------------------

    def _row_distances(self, i):
        """Distances from row ``i`` to every row (exact: no matrix-product rounding), and shared counts."""
        d = self._data
        dist, shared, tol = _block_distances(d.state, self.metric, slice(i, i + 1))
        dist, shared = dist[0], shared[0]
        if tol is not None:
            n = d.x.shape[0]
            dist = exact_distances(d.state, self.metric, np.array([i]), np.arange(n)[None, :])[0]
        valid = shared >= self.min_shared
        valid[i] = False
        return np.where(valid, dist, np.inf), shared

    def similar(self, salesperson, n=None):
        """The salespeople (or clients, with ``by="client"``) most similar to one, nearest first.

        Returns a list of (name, distance, shared clients) for every one with a finite distance.
        """
        self._check_fitted()
        i = self._row_index(salesperson)
        dist, shared = self._row_distances(i)
        order = np.argsort(dist, kind="stable")
        order = order[np.isfinite(dist[order])]
        if n is not None:
            order = order[:n]
        names = self._row_names()
        return [(names[j], float(dist[j]), int(shared[j])) for j in order]

    def predict(self, salesperson, client) -> Prediction:
        """Predict one cell and explain it: the neighbours used, with distance, weight and value."""
        self._check_fitted()
        m = self.matrix_
        si, ci = m.salesperson_index(salesperson), m.client_index(client)
        sp_name, cl_name = m.salespeople[si], m.clients[ci]
        current = m.values[si, ci]
        if not math.isnan(current):
            return Prediction(sp_name, cl_name, float(current), known=True, k=self.k, model=self.describe())
        i, c = (si, ci) if self.by == "salesperson" else (ci, si)
        d = self._data
        dist, shared = self._row_distances(i)
        donors = np.flatnonzero(d.known[:, c])
        pos, dvals = _k_smallest(dist[donors][None, :], self.k)
        pos, dvals = pos[0], dvals[0]
        ok = np.isfinite(dvals)
        chosen = donors[pos[ok]]
        dvals = dvals[ok]
        names = self._row_names()
        if chosen.size == 0:
            reason = self._no_neighbor_reason(i, c, donors.size)
            return self._fallback_prediction(si, ci, reason)
        rank = np.arange(1, chosen.size + 1)
        w = _weights(dvals[None, :], rank[None, :], np.ones((1, chosen.size), bool), self.weighting)[0]
        vals = d.x[chosen, c]
        value = float(np.dot(w, vals) / w.sum())
        neighbors = [Neighbor(names[j], float(dv), float(wt), float(v), int(shared[j]))
                     for j, dv, wt, v in zip(chosen, dvals, w, vals)]
        note = None
        if chosen.size < self.k:
            note = (f"only {chosen.size} of the k={self.k} neighbours asked for could be used: "
                    f"{self._donor_phrase(c, donors.size)}")
        return Prediction(sp_name, cl_name, value, known=False, k=self.k, neighbors=neighbors, note=note,
                          model=self.describe())

    def _row_names(self):
        m = self.matrix_
        return m.salespeople if self.by == "salesperson" else m.clients

    def _row_index(self, name):
        m = self.matrix_
        return m.salesperson_index(name) if self.by == "salesperson" else m.client_index(name)

    def _col_names(self):
        m = self.matrix_
        return m.clients if self.by == "salesperson" else m.salespeople

    def _donor_phrase(self, c, n_donors):
        rows, col = ("salespeople", "client") if self.by == "salesperson" else ("clients", "salesperson")
        return f"{n_donors} other {rows} have a value for {col} {self._col_names()[c]!r} and share at least " \
               f"{self.min_shared} {'client' if self.by == 'salesperson' else 'salesperson'}(s) with this one"

    def _no_neighbor_reason(self, i, c, n_donors):
        rows, col = ("salesperson", "client") if self.by == "salesperson" else ("client", "salesperson")
        target = self._row_names()[i]
        other = self._col_names()[c]
        if n_donors == 0:
            return f"no other {rows} has a value for {col} {other!r}"
        shared = "a" if self.min_shared == 1 else f"at least {self.min_shared}"
        what = "client" if self.by == "salesperson" else "salesperson"
        return f"none of the {n_donors} {rows}(s) with a value for {other!r} shares {shared} {what} with {target!r}"

    def _fallback_prediction(self, si, ci, reason):
        m = self.matrix_
        value, label = self._fallback_value(si, ci)
        if value is None:
            return Prediction(m.salespeople[si], m.clients[ci], None, known=False, k=self.k, reason=reason,
                              model=self.describe())
        return Prediction(m.salespeople[si], m.clients[ci], value, known=False, k=self.k, reason=reason,
                          fallback=label, model=self.describe())

    def _fallback_value(self, si, ci):
        if self.fallback is None:
            return None, None
        v = self.matrix_.values
        line = v[:, ci] if self.fallback == "client_mean" else v[si, :]
        line = line[~np.isnan(line)]
        if line.size == 0:
            return None, None
        return float(line.mean()), self.fallback.replace("_", " ")

    # -- every blank ----------------------------------------------------------------------------------------

    def fill(self, explain=False, progress=None) -> FillResult:
        """Predict every blank at once; known cells are returned unchanged.

        Parameters
        ----------
        explain : bool, default False
            Also keep, for every predicted cell, the neighbours that voted (index, distance, weight), so
            that :meth:`FillResult.prediction` explains any cell without recomputing. This takes ``k``
            indices (int32) and ``k`` distances (float64) per cell of the matrix, 12 bytes per neighbour;
            the weights are worked out from those when asked for (:class:`LazyWeights`).
        progress : callable or None, default None
            Called as ``progress(done, total)`` after each block of rows, ``done`` counting the rows
            filled so far out of ``total`` (the salespeople; the clients with ``by="client"``), so that a
            front end can show a progress bar. It does not change the result.

        Returns
        -------
        FillResult

        Examples
        --------
        >>> import numpy as np
        >>> x = np.array([[1.0, 2.0, np.nan], [1.0, 2.0, 3.0], [2.0, np.nan, 5.0]])
        >>> seen = []
        >>> NeighborModel(k=1).fit(x).fill(progress=lambda done, total: seen.append((done, total))).values[0, 2]
        np.float64(3.0)
        >>> seen
        [(3, 3)]
        """
        self._check_fitted()
        d = self._data
        x, known = d.x, d.known
        n, m = x.shape
        pred = np.full((n, m), np.nan)
        used = np.zeros((n, m), dtype=np.int32)
        nb = None
        if explain:
            nb = (np.full((n, m, self.k), -1, dtype=np.int32), np.full((n, m, self.k), np.nan))
        donors_per_col = known.sum(axis=0)
        # a prefix long enough that a client booked by the median number of people has about 4k donors in it
        median = max(1.0, float(np.median(donors_per_col)))
        prefix = int(min(n - 1, max(8 * self.k, 64, math.ceil(4 * self.k * n / median)), 1024))
        # clients booked by so few that scanning the prefix would rarely find k of them go client by client
        dense = donors_per_col * prefix >= 2 * self.k * n
        # blocks of rows bounded both in distances (rows x n) and in blank cells and their k slots (rows x m x k)
        block_rows = max(1, min(n, _BLOCK_ELEMENTS // max(n, 1), _SLOT_ELEMENTS // max(m * self.k, 1)))
        for lo in range(0, n, block_rows):
            hi = min(n, lo + block_rows)
            self._fill_block(slice(lo, hi), dense, prefix, pred, used, nb)
            if progress is not None:
                progress(hi, n)
        pred[known] = x[known]
        if self.by == "client":
            pred, used = np.ascontiguousarray(pred.T), np.ascontiguousarray(used.T)
            if nb is not None:
                nb = tuple(a.transpose(1, 0, 2) for a in nb)
        if nb is not None:
            nb = (*nb, LazyWeights(*nb, self.weighting))
        return self._finish(pred, used, nb)

    def _block(self, block):
        """Distances of the block's rows to all rows, ``inf`` for pairs that may not be neighbours."""
        d = self._data
        dist, shared, tol = _block_distances(d.state, self.metric, block)
        b = block.stop - block.start
        invalid = shared < self.min_shared
        invalid[np.arange(b), np.arange(block.start, block.stop)] = True
        dist[invalid] = np.inf
        return dist, invalid, tol

    def _exact(self, rows, cols, invalid_rows):
        """Exact distances of (rows x cols), ``inf`` where not allowed as neighbours."""
        d = self._data
        ex = exact_distances(d.state, self.metric, rows, cols)
        ex[np.take_along_axis(invalid_rows, cols, axis=1)] = np.inf
        return ex

    def _fill_block(self, block, dense, prefix, pred, used, nb):
        d = self._data
        x, known = d.x, d.known
        n, m = x.shape
        k = self.k
        dist, invalid, tol = self._block(block)
        cr, cc = np.nonzero(~known[block])  # the blank cells of the block: row in block, client
        ncell = cr.size
        if ncell == 0:
            return
        slot_idx = np.full((ncell, k), -1, dtype=np.int32)
        compiled = d.state["compiled"]
        slot_val = np.zeros((ncell, k)) if compiled else None  # donors' values (compiled path)
        slot_dist = np.full((ncell, k), np.inf)
        exact_rows = np.zeros(dist.shape[0], dtype=bool)
        scan = dense[cc]
        redo = np.flatnonzero(~scan)
        if scan.any():
            pre = min(prefix + 1, n)
            order, dsorted = _k_smallest(dist, pre)
            if tol is not None:
                amb = _ambiguous(dsorted, tol)
                if amb.any():  # near-ties in the prefix: recompute those rows exactly, then reorder
                    rows = np.flatnonzero(amb)
                    dist[rows] = self._exact(block.start + rows, np.broadcast_to(np.arange(n), (rows.size, n)),
                                             invalid[rows])
                    exact_rows[rows] = True
                    order[rows], dsorted[rows] = _k_smallest(dist[rows], pre)
            more = np.isfinite(dsorted[:, -1]) if pre < n else np.zeros(dist.shape[0], dtype=bool)
            steps = pre - 1 if pre < n else pre
            left = _scan(order[:, :steps], dsorted[:, :steps], known, cr, cc, np.flatnonzero(scan), k,
                         slot_idx, slot_dist, slot_val, d.state)
            # cells whose prefix held fewer than k donors while more neighbours exist beyond it
            redo = np.concatenate([redo, left[more[cr[left]]]])
        if redo.size:
            self._by_client(redo, cr, cc, block, dist, invalid, tol, exact_rows, slot_idx, slot_dist, slot_val)
        # the vote
        ok = slot_idx >= 0
        if compiled:
            p, nused, w = _accel.vote(slot_idx, slot_dist, slot_val, _WEIGHTING_CODES[self.weighting])
        else:
            rank = np.arange(1, k + 1)[None, :]
            w = _weights(slot_dist, rank, ok, self.weighting)
            vals = np.where(ok, x[np.maximum(slot_idx, 0), cc[:, None]], 0.0)
            nused = ok.sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                p = np.where(nused > 0, (w * vals).sum(axis=1) / w.sum(axis=1), np.nan)
        gi = block.start + cr
        pred[gi, cc] = p
        used[gi, cc] = nused
        if nb is not None:  # the weights are not kept: LazyWeights works them out again, to the same floats
            nb[0][gi, cc] = slot_idx
            nb[1][gi, cc] = np.where(ok, slot_dist, np.nan)

    def _by_client(self, cells, cr, cc, block, dist, invalid, tol, exact_rows, slot_idx, slot_dist, slot_val):
        """Exact k nearest donors for the given cells, one client at a time over that client's donors."""
        x, known = self._data.x, self._data.known
        k = self.k
        if tol is None and self._data.state["compiled"]:
            state = self._data.state
            _accel.nearest_donors(dist, cr, cc, cells, *_csc(state), k, slot_idx, slot_dist, slot_val)
            return
        cells = cells[np.argsort(cc[cells], kind="stable")]
        cols, starts = np.unique(cc[cells], return_index=True)
        for c, group in zip(cols, np.split(cells, starts[1:])):
            donors = np.flatnonzero(known[:, c])
            if donors.size == 0:
                continue
            rr = cr[group]
            sub = dist[np.ix_(rr, donors)]
            want = min(k + 1, donors.size)
            pos, dv = _k_smallest(sub, want)
            if tol is not None:
                amb = _ambiguous(dv, tol[rr]) & ~exact_rows[rr]
                if amb.any():
                    a = np.flatnonzero(amb)
                    sub[a] = self._exact(block.start + rr[a], np.broadcast_to(donors, (a.size, donors.size)),
                                         invalid[rr[a]])
                    pos[a], dv[a] = _k_smallest(sub[a], want)
            pos, dv = pos[:, :k], dv[:, :k]
            ok = np.isfinite(dv)
            kk = pos.shape[1]
            slot_idx[group, :kk] = np.where(ok, donors[pos], -1)
            slot_dist[group, :kk] = np.where(ok, dv, np.inf)
            slot_idx[group, kk:] = -1
            slot_dist[group, kk:] = np.inf
            if slot_val is not None:
                slot_val[group, :kk] = np.where(ok, x[donors[pos], c], 0.0)

    def _finish(self, pred, used, nb):
        m = self.matrix_
        known = m.known
        predicted = ~known & ~np.isnan(pred)
        unfilled = ~known & np.isnan(pred)
        fallback = np.zeros_like(known)
        values = pred  # the fill's own array: no copy of the matrix
        if self.fallback is not None and unfilled.any():
            axis = 0 if self.fallback == "client_mean" else 1
            sums = np.where(known, m.values, 0.0).sum(axis=axis, keepdims=True)
            counts = known.sum(axis=axis, keepdims=True)
            means = np.broadcast_to(np.divide(sums, counts, out=np.full(sums.shape, np.nan), where=counts > 0),
                                    known.shape)
            fb = unfilled & ~np.isnan(means)
            values[fb] = means[fb]
            fallback = fb
            unfilled = unfilled & ~fb
        return FillResult(m, values, predicted, fallback, unfilled, used, self, nb)

    def unfilled_reason(self, si, ci) -> str:
        """Why cell (si, ci) of the matrix could not be predicted."""
        i, c = (si, ci) if self.by == "salesperson" else (ci, si)
        return self._no_neighbor_reason(i, c, int(self._data.known[:, c].sum()))

    def _check_fitted(self):
        if not hasattr(self, "matrix_"):
            raise InputError("this model is not fitted yet; call fit(matrix) first")


def _ambiguous(dsorted, tol):
    """Rows whose sorted distances hold two neighbours closer than the rounding bound (squared)."""
    sq = dsorted * dsorted
    fin = np.isfinite(sq)
    gaps = np.diff(np.where(fin, sq, np.finfo(float).max), axis=1)
    close = (gaps <= 2 * tol[:, None]) & fin[:, 1:]
    return close.any(axis=1)


def _scan(order, dsorted, known, cr, cc, cells, k, slot_idx, slot_dist, slot_val, state):
    """Walk each row's neighbours nearest first and give every blank cell its first k donors.

    One step handles the i-th nearest neighbour of every row at once, for every cell still short of k
    donors; cells drop out as they are served, so the work is about (cells x the depth at which k donors are
    found), not (cells x prefix). Returns the cells still short of k donors when the prefix runs out.
    """
    if state["compiled"]:
        cell_of = np.full((order.shape[0], known.shape[1]), -1, dtype=np.int64)
        cell_of[cr[cells], cc[cells]] = cells
        if "csr" not in state:  # the columns each row knows, and the values, once per matrix
            rows, cols = np.nonzero(known)
            state["csr"] = (np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=known.shape[0]))]), cols,
                            state["x"][rows, cols])
        left = _accel.scan(order, dsorted, *state["csr"], cell_of, k, slot_idx, slot_dist, slot_val)
        return np.flatnonzero(left)
    act = cells
    ar, ac = cr[act], cc[act]
    cnt = np.zeros(slot_idx.shape[0], dtype=np.int64)
    for step in range(order.shape[1]):
        j = order[ar, step]
        dj = dsorted[ar, step]
        fin = np.isfinite(dj)
        has = known[j, ac] & fin
        hit = act[has]
        slot = cnt[hit]
        slot_idx[hit, slot] = j[has]
        slot_dist[hit, slot] = dj[has]
        cnt[hit] += 1
        done = ~fin | (cnt[act] >= k)
        if done.any():
            keep = ~done
            act, ar, ac = act[keep], ar[keep], ac[keep]
            if act.size == 0:
                break
    return act
