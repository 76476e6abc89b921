"""The article's neighbour model: predict a blank from the most similar salespeople's bookings.

For a blank (salesperson, client): rank the other salespeople by distance (see :mod:`.distances`), keep the
``k`` nearest *among those with a booking for that client*, and combine their bookings by weighted voting.
Ties in distance go to the salesperson higher in the matrix (row order), so results never depend on chance.

Filling works block by block over the rows (memory stays bounded). Inside a block each row's ``prefix``
nearest salespeople are found once (sorted by distance, then row), and a walk down that list gives each
blank cell of the row, in the clients that many people have booked, its first ``k`` neighbours who booked
that client, voting as they come (compiled: a neighbour's bookings among the row's open cells are found 64
clients at a time, as bits; numpy: the i-th neighbour of every row at once). The clients few people booked,
and the rare cells whose prefix held fewer than ``k`` donors, are done client by client over that client's
donors. Both paths choose the same neighbours and sum in the same order, so they give the same floats;
tests check them against each other and against a plain reference implementation.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import numpy as np

from .. import _accel
from ..distances import METRICS, _block_distances, _csc, _prepare, exact_distances
from .base import Model
from .explanation import Explanation, format_amount
from .params import Param

__all__ = ["NeighborModel", "NeighborExplanation", "Neighbor", "Votes", "LazyWeights", "WEIGHTINGS", "BY",
           "FALLBACKS"]


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
#: the models that may fill what no neighbour can (the baselines of :mod:`.baseline`), or None
FALLBACKS = (None, "mean", "client_mean", "salesperson_mean", "baseline")

_BLOCK_ELEMENTS = 1 << 23  # cells of one (rows x salespeople) distance block: 64 MiB of float64
_WALK_COST = 1.0  # the tuner walks rows when picking each cell's donors would cost more than this times a sort
_REACH = 1.0  # the tuner's walk first sorts this times the neighbours a row is expected to need (more on demand)
_SCORE_ROWS = 8  # rows whose errors the tuner's walk sums together (fixed: the same floats on any threads)
_SLOT_ELEMENTS = 1 << 21  # (blank cell, neighbour) slots handled at once: about 50 bytes each in a block
_DENSE_STEP = 8  # the pure walk masks whole rows when they hold at least 1/_DENSE_STEP of the bookings


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


def _k_smallest(sub, k, compiled=False):
    """Positions of the ``k`` smallest entries of each row, ordered by (value, position).

    Returns (positions, values), each of shape (n_rows, min(k, n_columns)); ``inf`` values mark entries that
    are not neighbours at all. Ties are broken by position, never by chance. ``compiled``: by the compiled
    twin (:func:`~xlrec.core._kernels.k_smallest`), the same entries.
    """
    r, d = sub.shape
    if compiled and r:
        k = min(k, d)
        pos, vals = np.empty((r, k), dtype=np.int64), np.empty((r, k))
        _accel.k_smallest(sub, k, pos, vals)
        return pos, vals
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


@dataclass(frozen=True)
class Neighbor:
    """One neighbour that voted for a prediction (``shared``: clients in common, -1 when not counted)."""

    name: str
    distance: float
    weight: float
    value: float
    shared: int


@dataclass(frozen=True)
class NeighborExplanation(Explanation):
    """A neighbour prediction: the ``neighbors`` that voted, nearest first, and a ``remark`` when fewer than
    ``k`` could."""

    k: int = 0
    neighbors: tuple = ()
    remark: str | None = None

    def _shares(self):
        total = sum(n.weight for n in self.neighbors) or 1.0
        return [n.weight / total for n in self.neighbors]

    def detail_lines(self) -> list:
        lines = [f"{i}. {n.name}: {format_amount(n.value)} (distance {format_amount(n.distance)}, "
                 f"weight {n.weight:.4g}, {share:.0%} of the vote" + (f", {n.shared} shared)" if n.shared >= 0 else ")")
                 for i, (n, share) in enumerate(zip(self.neighbors, self._shares()), 1)]
        return lines + ([f"note: {self.remark}"] if self.remark else [])

    def note_lines(self) -> list:
        lines = [f"{n.name}: {format_amount(n.value)} (distance {format_amount(n.distance)}, "
                 f"weight {n.weight:.4g} = {share:.0%})" for n, share in zip(self.neighbors, self._shares())]
        return lines + ([self.remark] if self.remark else [])

    def detail_rows(self) -> list:
        return [["Neighbour", "Distance", "Weight", "Booking"]] + \
            [[n.name, n.distance, n.weight, n.value] for n in self.neighbors]


@dataclass(frozen=True)
class Votes:
    """What :meth:`NeighborModel.fill` keeps with ``explain=True`` to explain every predicted cell.

    Attributes
    ----------
    index : ndarray of int32 of shape (n_salespeople, n_clients, k)
        The neighbours that voted for each predicted cell, nearest first, -1 past the last one used.
    distance : ndarray of float of the same shape
        Their distances, NaN past the last one used.
    weight : LazyWeights
        Their weights, worked out from the two arrays above when asked for.
    """

    index: np.ndarray
    distance: np.ndarray
    weight: "LazyWeights"

    @property
    def used(self) -> np.ndarray:
        """How many neighbours voted for each cell (0 for known cells and cells left to the fallback)."""
        return (self.index >= 0).sum(axis=-1)


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
    fallback : {None, "mean", "client_mean", "salesperson_mean", "baseline"}, default None
        The baseline model (:mod:`.baseline`) that fills a cell no neighbour can predict. None leaves it
        blank and reports it.

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
    summary = "the article's: the k most similar salespeople vote with their bookings"
    source = "neighbours"
    nothing = "no neighbour"
    PARAMS = (
        Param("k", "int", 2, "how many similar salespeople vote (the article's N)", low=1),
        Param("metric", "choice", "manhattan", "distance between two salespeople over the clients both booked",
              choices=tuple(METRICS)),
        Param("weighting", "choice", "rank", "votes: rank gives the i-th nearest 1/i, uniform all 1, distance 1/d",
              choices=tuple(WEIGHTINGS)),
        Param("by", "choice", "salesperson", "neighbours are similar salespeople (rows) or similar clients "
              "(columns)", choices=BY),
        Param("min_shared", "int", 1, "clients two salespeople must share to be compared", low=1),
        Param("fallback", "choice", None, "baseline model for the cells no neighbour can predict (none: leave "
              "them blank and report them)", choices=FALLBACKS),
    )

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

    def _fit(self, matrix, share=None):
        """``share``: a dict of the oriented data by ``by``, filled by the first fit and reused by the next on
        the same ``matrix``, with the metrics they will ask for (``share["metrics"]``): what one fit
        computes for the matrix (its layouts, the products' operands, and the distances it computes along
        with its partner metric's) serves the others, as the tuner's searches of one fold do."""
        self.matrix_ = matrix
        self.__dict__.pop("_fallback_", None)
        if share is not None and self.by in share:
            self._data = share[self.by]
            return self
        values = matrix.values if self.by == "salesperson" else matrix.values.T
        x = np.ascontiguousarray(values)
        known = ~np.isnan(x)
        self._data = _Oriented(x, known, _prepare(x, known, self.metric))
        if share is not None:
            self._data.state["share"] = frozenset(share.get("metrics", ()))
            share[self.by] = self._data
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

    def explain(self, si, ci) -> Explanation:
        """Cell (si, ci) explained: the neighbours used, with distance, weight, value and clients shared."""
        self._check_fitted()
        known = self._known(si, ci)
        if known is not None:
            return known
        m = self.matrix_
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
            return self._nothing(si, ci, self._no_neighbor_reason(i, c, donors.size))
        rank = np.arange(1, chosen.size + 1)
        w = _weights(dvals[None, :], rank[None, :], np.ones((1, chosen.size), bool), self.weighting)[0]
        vals = d.x[chosen, c]
        value = float(np.dot(w, vals) / w.sum())
        neighbors = tuple(Neighbor(names[j], float(dv), float(wt), float(v), int(shared[j]))
                          for j, dv, wt, v in zip(chosen, dvals, w, vals))
        remark = None
        if chosen.size < self.k:
            remark = (f"only {chosen.size} of the k={self.k} neighbours asked for could be used: "
                      f"{self._donor_phrase(c, donors.size)}")
        return NeighborExplanation(m.salespeople[si], m.clients[ci], value, model=self.describe(),
                                   nothing=self.nothing, k=self.k, neighbors=neighbors, remark=remark)

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

    def unfilled_reason(self, si, ci) -> str:
        """Why cell (si, ci) of the matrix could not be predicted."""
        i, c = (si, ci) if self.by == "salesperson" else (ci, si)
        return self._no_neighbor_reason(i, c, int(self._data.known[:, c].sum()))

    # -- many cells -----------------------------------------------------------------------------------------

    def fill(self, explain=False, progress=None):
        """Predict every blank at once; known cells are returned unchanged.

        Parameters
        ----------
        explain : bool, default False
            Also keep, for every predicted cell, the neighbours that voted (:class:`Votes`), so that
            :meth:`FillResult.explain` explains any cell without recomputing. This takes ``k`` indices
            (int32) and ``k`` distances (float64) per cell of the matrix, 12 bytes per neighbour; the weights
            are worked out from those when asked for (:class:`LazyWeights`).
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
        return super().fill(explain=explain, progress=progress)

    def _fill_values(self, explain, progress):
        d = self._data
        x, known = d.x, d.known
        n, m = x.shape
        pred = np.array(x)
        if not explain and d.state["compiled"]:  # the walk reads the blanks from the matrix and writes it
            self._vote_matrix(pred, progress)
            return (np.ascontiguousarray(pred.T) if self.by == "client" else pred), None
        rows, cols = np.nonzero(~known)  # row by row: what _vote takes
        nb = None
        if explain:
            nb = (np.full((n, m, self.k), -1, dtype=np.int32), np.full((n, m, self.k), np.nan))

        def sink(sel, p, nused, slot_idx, slot_dist, ok):
            r, c = rows[sel], cols[sel]
            pred[r, c] = p
            if nb is not None:  # the weights are not kept: LazyWeights works them out again, to the same floats
                nb[0][r, c] = slot_idx
                nb[1][r, c] = np.where(ok, slot_dist, np.nan)

        self._vote(rows, cols, sink, progress, keep=explain)
        if self.by == "client":
            pred = np.ascontiguousarray(pred.T)
            if nb is not None:
                nb = (nb[0].transpose(1, 0, 2), nb[1].transpose(1, 0, 2))
        detail = None if nb is None else Votes(nb[0], nb[1], LazyWeights(nb[0], nb[1], self.weighting))
        return pred, detail

    def _predict_cells(self, rows, cols):
        r, c = (rows, cols) if self.by == "salesperson" else (cols, rows)
        m = self._data.x.shape[1]
        cells, inverse = np.unique(r.astype(np.int64) * m + c, return_inverse=True)  # row by row, once each
        ur, uc = np.divmod(cells, m)
        out = np.full(cells.size, np.nan)

        def sink(sel, p, *rest):
            out[sel] = p

        self._vote(ur, uc, sink)
        return out[inverse.ravel()]

    def _vote(self, rows, cols, sink, progress=None, keep=False):
        """Vote for the cells (rows[t], cols[t]) of the oriented matrix, ``rows`` ascending and no cell twice,
        a block of rows at a time: ``sink(cells, predictions, neighbours used, slot indices, slot distances,
        slot used)`` receives each block's votes, ``cells`` a slice of the arrays given; the three slot arrays
        (the neighbours that voted, of shape (cells, k)) are None unless ``keep``."""
        n = self._data.known.shape[0]
        dense, prefix, block_rows = self._layout()
        starts = np.arange(0, n, block_rows)
        if keep:  # and at most _SLOT_ELEMENTS slots of the cells asked for (a row with more goes alone)
            per_row = np.bincount(rows, minlength=n).cumsum() * self.k
            starts, lo = [], 0
            while lo < n:
                hi = max(lo + 1, int(np.searchsorted(per_row, (per_row[lo - 1] if lo else 0) + _SLOT_ELEMENTS,
                                                     side="right")))
                starts.append(lo)
                lo = min(hi, lo + block_rows, n)
        bounds = list(zip(starts, [*starts[1:], n]))
        for lo, hi in bounds:
            a, b = np.searchsorted(rows, [lo, hi])
            if b > a:
                sink(slice(a, b), *self._vote_block(slice(lo, hi), rows[a:b] - lo, cols[a:b], dense, prefix, keep))
            if progress is not None:
                progress(hi, n)

    def _layout(self):
        """(dense, prefix, block rows): which clients the walk serves, how many nearest neighbours it may
        walk, and how many rows a block holds."""
        d = self._data
        known = d.known
        n, m = known.shape
        donors_per_col = known.sum(axis=0)
        # a prefix long enough that a client booked by the median number of people has about 4k donors in it
        median = max(1.0, float(np.median(donors_per_col)))
        prefix = int(min(n - 1, max(8 * self.k, 64, math.ceil(4 * self.k * n / median)), 1024))
        # clients booked by so few that scanning the prefix would rarely find k of them go client by client
        dense = donors_per_col * prefix >= 2 * self.k * n
        # blocks of rows bounded in distances (rows x n); the slots kept for explaining (rows x m x k) and the
        # pure path's map from (row, client) to cell (rows x m) bound them too
        block_rows = max(1, min(n, _BLOCK_ELEMENTS // max(n, 1)))
        if not d.state["compiled"]:
            block_rows = max(1, min(block_rows, _BLOCK_ELEMENTS // max(m, 1)))
        return dense, prefix, block_rows

    def _vote_matrix(self, pred, progress=None):
        """Vote for every blank of the oriented matrix ``pred`` (a copy of it), in place, a block of rows at
        a time: the compiled walk (:func:`~xlrec.core._kernels.scan_fill`) finds the blanks and writes the
        votes itself; the cells it leaves (clients few people booked, prefixes short of k donors) go client by
        client as in :meth:`_vote_block`. The same neighbours and floats as :meth:`_vote`."""
        d = self._data
        known = d.known
        n, m = known.shape
        dense, prefix, block_rows = self._layout()
        want = np.zeros(-(-m // 64) * 64, dtype=bool)  # the walk's clients as 64-bit words, bit t of word w
        want[:m] = dense                                # for client 64 w + t
        want = np.packbits(want, bitorder="little").view("<u8").astype(np.uint64)
        sparse_cols = np.flatnonzero(~dense)
        code = _WEIGHTING_CODES[self.weighting]
        # the rows' bookings packed before the distances: OpenBLAS's threads keep spinning for a while after
        # the matrix products, and a compiled pass run then shares the cores with them
        packed = _packed(d.state) if dense.any() else None
        for lo in range(0, n, block_rows):
            block = slice(lo, min(n, lo + block_rows))
            dist, invalid, tol = self._block(block)
            redo = []  # (rows in the block, clients) of the cells the walk does not serve
            if sparse_cols.size:
                r, c = np.nonzero(~known[block][:, sparse_cols])
                redo.append((r, sparse_cols[c]))
            exact_rows = np.zeros(block.stop - lo, dtype=bool)
            if packed is not None:
                order, dsorted, more, steps, exact_rows = self._prefix(block, dist, invalid, tol, prefix)
                left = np.zeros((block.stop - lo, m), dtype=bool)
                _accel.scan_fill(order[:, :steps], dsorted[:, :steps], *packed, lo, want, self.k, code, pred, left)
                left &= more[:, None]  # short of k donors while more neighbours lie beyond the prefix
                redo.append(np.nonzero(left))
            cr = np.concatenate([r for r, _ in redo]) if redo else np.zeros(0, dtype=np.int64)
            if cr.size:
                cc = np.concatenate([c for _, c in redo])
                pred[lo + cr, cc] = self._vote_by_client(block, cr, cc, dist, invalid, tol, exact_rows)[0]
            if progress is not None:
                progress(block.stop, n)

    def _prefix(self, block, dist, invalid, tol, prefix):
        """The block rows' nearest ``prefix + 1`` neighbours, sorted: (order, distances, whether more
        neighbours lie beyond, steps the walk may take, rows recomputed exactly). Rows whose sorted
        distances hold near-ties are recomputed exactly first (``dist`` updated in place)."""
        n = self._data.x.shape[0]
        pre = min(prefix + 1, n)
        compiled = self._data.state["compiled"]
        order, dsorted = _k_smallest(dist, pre, compiled)
        exact_rows = np.zeros(dist.shape[0], dtype=bool)
        if tol is not None:
            amb = _ambiguous(dsorted, tol)
            if amb.any():  # near-ties in the prefix: recompute those rows exactly, then reorder
                rows = np.flatnonzero(amb)
                dist[rows] = self._exact(block.start + rows, np.broadcast_to(np.arange(n), (rows.size, n)),
                                         invalid[rows])
                exact_rows[rows] = True
                order[rows], dsorted[rows] = _k_smallest(dist[rows], pre, compiled)
        more = np.isfinite(dsorted[:, -1]) if pre < n else np.zeros(dist.shape[0], dtype=bool)
        return order, dsorted, more, (pre - 1 if pre < n else pre), exact_rows

    def _vote_by_client(self, block, cr, cc, dist, invalid, tol, exact_rows, keep=False):
        """(predictions, neighbours used, slot indices, slot distances) of the cells (block.start + cr, cc),
        their k nearest donors found client by client (:meth:`_by_client`); the slots None unless ``keep``."""
        k = self.k
        compiled = self._data.state["compiled"]
        si = np.full((cr.size, k), -1, dtype=np.int32)
        sd = np.full((cr.size, k), np.inf)
        sv = np.zeros((cr.size, k))
        if tol is None and compiled:  # the compiled search, cell by cell in the order given (row by row)
            _accel.nearest_donors(dist, cr, cc, np.arange(cr.size), *_csc(self._data.state), k, si, sd, sv)
            p, used = _vote_slots(si, sd, sv, _WEIGHTING_CODES[self.weighting], compiled)
            return p, used, si, sd
        by = np.argsort(cc, kind="stable")  # client by client
        self._by_client(cr[by], cc[by], block, dist, invalid, tol, exact_rows, si, sd, sv)
        p, used = _vote_slots(si, sd, sv, _WEIGHTING_CODES[self.weighting], compiled)
        back = np.empty_like(by)
        back[by] = np.arange(by.size)
        return p[back], used[back], (si[back] if keep else None), (sd[back] if keep else None)

    def _block(self, block):
        """Distances of the block's rows to all rows, ``inf`` for pairs that may not be neighbours."""
        d = self._data
        dist, shared, tol = _block_distances(d.state, self.metric, block)
        b = block.stop - block.start
        invalid = shared < self.min_shared
        diagonal = (np.arange(b), np.arange(block.start, block.stop))
        invalid[diagonal] = True
        if self.min_shared > 1:
            dist[invalid] = np.inf
        else:  # pairs sharing nothing are inf already: only a row and itself are left
            dist[diagonal] = np.inf
        return dist, invalid, tol

    def _exact(self, rows, cols, invalid_rows):
        """Exact distances of (rows x cols), ``inf`` where not allowed as neighbours."""
        d = self._data
        ex = exact_distances(d.state, self.metric, rows, cols)
        ex[np.take_along_axis(invalid_rows, cols, axis=1)] = np.inf
        return ex

    def _vote_block(self, block, cr, cc, dense, prefix, keep=False):
        """The votes for the cells (block.start + cr, cc): (predictions, neighbours used, slot indices,
        slot distances, which slots hold a neighbour), the last three None unless ``keep``.

        Most cells are voted for as each row's neighbours are walked (:func:`_scan_vote`); the cells of
        clients few people booked, and those whose prefix held fewer than ``k`` donors, get their ``k``
        nearest donors client by client (:meth:`_by_client`), then vote (:func:`_vote_slots`)."""
        d = self._data
        k = self.k
        code = _WEIGHTING_CODES[self.weighting]
        dist, invalid, tol = self._block(block)
        ncell = cr.size
        pred = np.full(ncell, np.nan)
        nused = np.zeros(ncell, dtype=np.int64)
        slot_idx = np.full((ncell if keep else 0, k), -1, dtype=np.int32)
        slot_dist = np.full((ncell if keep else 0, k), np.inf)
        exact_rows = np.zeros(dist.shape[0], dtype=bool)
        scan = dense[cc]
        redo = np.flatnonzero(~scan)
        if scan.any():
            order, dsorted, more, steps, exact_rows = self._prefix(block, dist, invalid, tol, prefix)
            left = _scan_vote(order[:, :steps], dsorted[:, :steps], cr, cc, np.flatnonzero(scan), k, code,
                              pred, nused, slot_idx, slot_dist, d.state)
            # cells whose prefix held fewer than k donors while more neighbours exist beyond it
            redo = np.concatenate([redo, left[more[cr[left]]]])
        if redo.size:
            pred[redo], nused[redo], si, sd = self._vote_by_client(block, cr[redo], cc[redo], dist, invalid, tol,
                                                                  exact_rows, keep)
            if keep:
                slot_idx[redo], slot_dist[redo] = si, sd
        if not keep:
            return pred, nused, None, None, None
        return pred, nused, slot_idx, slot_dist, slot_idx >= 0

    def _by_client(self, cr, cc, block, dist, invalid, tol, exact_rows, slot_idx, slot_dist, slot_val):
        """Exact k nearest donors of the cells (block.start + cr, cc), ``cc`` ascending, into the slots (a row
        per cell, -1 / inf / 0 past the last donor), one client at a time over that client's donors."""
        k = self.k
        cols, starts = np.unique(cc, return_index=True)
        col_ptr, col_rows, col_vals = _csc(self._data.state)
        # many cells of a client: its donors' distances to the block's rows come from the transpose, a
        # contiguous row per donor, rather than one gather of (cells x donors) scattered entries
        dist_t = np.ascontiguousarray(dist.T) if cr.size > 8 * dist.shape[0] else None
        for c, lo, hi in zip(cols, starts, [*starts[1:], cr.size]):
            donors = col_rows[col_ptr[c]:col_ptr[c + 1]]
            if donors.size == 0:
                continue
            rr = cr[lo:hi]
            if dist_t is not None and rr.size > 64:
                sub = np.take(dist_t[donors], rr, axis=1).T
            else:
                sub = dist[np.ix_(rr, donors)]
            want = min(k + 1, donors.size)
            pos, dv = _k_smallest(sub, want)
            if tol is not None:
                amb = _ambiguous(dv, tol[rr]) & ~exact_rows[rr]
                if amb.any():
                    a = np.flatnonzero(amb)
                    sub = np.array(sub)
                    sub[a] = self._exact(block.start + rr[a], np.broadcast_to(donors, (a.size, donors.size)),
                                         invalid[rr[a]])
                    pos[a], dv[a] = _k_smallest(sub[a], want)
            pos, dv = pos[:, :k], dv[:, :k]
            ok = np.isfinite(dv)
            kk = pos.shape[1]
            slot_idx[lo:hi, :kk] = np.where(ok, donors[pos], -1)
            slot_dist[lo:hi, :kk] = np.where(ok, dv, np.inf)
            slot_val[lo:hi, :kk] = np.where(ok, col_vals[col_ptr[c]:col_ptr[c + 1]][pos], 0.0)

    def _explain_filled(self, result, si, ci):
        votes = result.detail
        if votes is None or not result.predicted[si, ci]:
            return self.explain(si, ci)
        m = self.matrix_
        idx, dist, weight = votes.index[si, ci], votes.distance[si, ci], votes.weight[si, ci]
        keep = idx >= 0
        by_client = self.by == "client"
        names = m.clients if by_client else m.salespeople
        vals = m.values[si, idx[keep]] if by_client else m.values[idx[keep], ci]
        nbs = tuple(Neighbor(names[t], float(d), float(w), float(v), -1)
                    for t, d, w, v in zip(idx[keep], dist[keep], weight[keep], vals))
        remark = None
        if len(nbs) < self.k:
            remark = f"only {len(nbs)} of the k={self.k} neighbours asked for could be used"
        return NeighborExplanation(m.salespeople[si], m.clients[ci], float(result.values[si, ci]),
                                   model=self.describe(), nothing=self.nothing, k=self.k, neighbors=nbs,
                                   remark=remark)

    def _notes(self, result) -> dict:
        """The note of every filled cell, built from the fill's arrays: the text :meth:`_explain_filled`'s
        ``note()`` gives, formatted in bulk (a fill of thousands of cells needs thousands of notes)."""
        votes = result.detail
        if votes is None:
            return super()._notes(result)
        m = self.matrix_
        by_client = self.by == "client"
        names = m.clients if by_client else m.salespeople
        k = self.k
        ii, jj = result.predicted.nonzero()
        idx, dist, weight = votes.index[ii, jj], votes.distance[ii, jj], votes.weight[ii, jj]
        ok = idx >= 0
        safe = np.maximum(idx, 0)
        donor = m.values[ii[:, None], safe] if by_client else m.values[safe, jj[:, None]]
        used = ok.sum(axis=1)
        model = self.describe()
        texts = [f"{_amount(v)} ({model})" for v in result.values[ii, jj].tolist()]
        totals = [sum(ws) or 1.0 for ws in np.where(ok, weight, 0.0).tolist()]
        # the same donor, and the same weight share, come back in many notes: each is formatted once
        donors, shares = {}, {}
        n_cols = m.values.shape[0 if by_client else 1]
        for slot in range(idx.shape[1]):
            rows = np.flatnonzero(ok[:, slot])
            t_, v_, d_, w_ = (a[rows, slot].tolist() for a in (idx, donor, dist, weight))
            key_ = (idx[rows, slot] * n_cols + (ii if by_client else jj)[rows]).tolist()
            for p, key, t, v, d, w in zip(rows.tolist(), key_, t_, v_, d_, w_):
                who = donors.get(key)
                if who is None:
                    who = donors[key] = f"\n{names[t]}: {_amount(v)} (distance "
                total = totals[p]
                share = shares.get((w, total))
                if share is None:
                    share = shares[w, total] = f", weight {w:.4g} = {w / total:.0%})"
                texts[p] += who + _amount(d) + share
        for p in np.flatnonzero(used < k).tolist():
            texts[p] += f"\nonly {used[p]} of the k={k} neighbours asked for could be used"
        out = dict(zip(zip(ii.tolist(), jj.tolist()), texts))
        for i, j in zip(*result.fallback.nonzero()):
            out[int(i), int(j)] = self._explain_filled(result, int(i), int(j)).note()
        return out

    # -- for tuning (xlrec.core.tune): many k and weightings from one neighbour search -----------------------
    # A separate addition: it uses only ``_vote``'s contract (a sink receiving each block's slot indices and
    # distances, nearest first, -1 / inf past the last donor), so the fill's internals may change beneath it.

    def _predict_cells_many(self, rows, cols, ks, weightings):
        """The predictions of cells (rows[t], cols[t]) for every k in ``ks`` and weighting in ``weightings``,
        from one search for each cell's ``max(ks)`` nearest donors (one distance computation).

        The model must be fitted; its own ``k`` and ``weighting`` are not used. The result equals
        ``clone(k=k, weighting=w)._fit(same)._predict_cells(rows, cols)`` for every (k, w): the first k of the
        ``max(ks)`` nearest donors are the k nearest (ties by row order), and the vote sums the weighted
        bookings in the same order as the model's vote (a running sum, compiled in
        :func:`~xlrec.core._kernels.vote_many`, ``cumsum`` in the numpy twin), so the floats are identical
        where the distances are (exact sums: manhattan, supremum; the matrix-product metrics recompute a row's
        near-ties exactly within the walk's reach, which grows with k, so there a near-duplicate's 1/d can
        differ in the 8th digit).

        Returns
        -------
        ndarray of shape (len(ks), len(weightings), len(rows)), NaN where no neighbour can vote.
        """
        r, c = (rows, cols) if self.by == "salesperson" else (cols, rows)
        x = self._data.x
        m = x.shape[1]
        k_max = int(max(ks))
        keys = np.asarray(r, dtype=np.int64) * m + c
        # the cells row by row, once each; ``place``: where each one's votes go in the result
        place = np.argsort(keys, kind="stable")
        cells = keys[place]
        inverse = None
        if cells.size > 1 and not (np.diff(cells) > 0).all():  # a cell asked for more than once
            cells, inverse = np.unique(keys, return_inverse=True)
            place = np.arange(cells.size)
        ur, uc = np.divmod(cells, m)
        slot_idx = np.full((cells.size, k_max), -1, dtype=np.int64)
        slot_dist = np.full((cells.size, k_max), np.inf)

        def sink(sel, p, nused, idx, dist, ok):
            slot_idx[sel, :idx.shape[1]] = idx
            slot_dist[sel, :idx.shape[1]] = dist

        twin = copy.copy(self)  # shares the fitted data; only the number of slots differs
        twin.k = max(1, min(k_max, x.shape[0] - 1))  # no more neighbours than other rows
        twin._vote(ur, uc, sink, keep=True)
        at = np.minimum(np.asarray(ks, dtype=np.int64), k_max) - 1
        order = np.argsort(at, kind="stable")
        out = np.empty((len(ks), len(weightings), cells.size))
        if self._data.state["compiled"]:
            codes = np.array([_WEIGHTING_CODES[w] for w in weightings], dtype=np.int64)
            same = place.size == 0 or bool((place == np.arange(place.size)).all())
            _accel.vote_many(slot_idx, slot_dist, np.ascontiguousarray(x.T), uc, at[order], order, codes,
                             place[:0] if same else place, out)
        else:
            self._vote_many_numpy(slot_idx, slot_dist, x, uc, at, weightings, place, out)
        return out if inverse is None else out[:, :, inverse.ravel()]

    def _score_many(self, rows, cols, truth, ks, weightings):
        """The errors of :meth:`_predict_cells_many`'s predictions against ``truth``, without them: (squared
        errors summed, absolute errors summed, each of shape (len(ks), len(weightings)), and the cells no
        neighbour can vote for). The compiled walk (:func:`~xlrec.core._kernels.scan_score`) scores the cells
        as it finds their donors; the cells it leaves (clients few people booked, prefixes short of
        ``max(ks)`` donors) get their donors client by client and are scored after. Where that is less work
        (few donors per cell against a sort of each row: sparse matrices, :data:`_WALK_COST`), each cell's
        donors are picked from its client's instead (:func:`~xlrec.core._kernels.select_score`). Rows whose
        nearest hold near-ties (the matrix-product metrics) are recomputed exactly and scored again. A
        cell's error is added for every k in the same order, so settings whose predictions are equal get
        equal sums. None when the kernels are not used or a cell is asked for twice: then score
        :meth:`_predict_cells_many`."""
        d = self._data
        if not d.state["compiled"]:
            return None
        r, c = (rows, cols) if self.by == "salesperson" else (cols, rows)
        x = d.x
        n, m = x.shape
        keys = np.asarray(r, dtype=np.int64) * m + c
        place = np.argsort(keys, kind="stable")  # the cells row by row
        cells = keys[place]
        if cells.size > 1 and not (np.diff(cells) > 0).all():
            return None
        ur, uc = np.divmod(cells, m)
        y = np.ascontiguousarray(np.asarray(truth, dtype=float)[place])
        k_max = int(max(ks))
        twin = copy.copy(self)  # shares the fitted data; only the number of slots differs
        twin.k = kk = max(1, min(k_max, n - 1))
        codes = np.array([_WEIGHTING_CODES[w] for w in weightings], dtype=np.int64)
        dense, prefix, block_rows = twin._layout()
        # each cell's donors picked from its client's (about the donors of the cells' clients, summed), or
        # the walk along each row's nearest (about a sort of each row's prefix): whichever is less work
        donors = d.known.sum(axis=0)
        by_cell = float(donors[uc].sum()) <= _WALK_COST * np.unique(ur).size * prefix * math.log2(prefix + 2)
        packed = _packed(d.state) if dense.any() and not by_cell else None
        cap = prefix if prefix + 1 < n else n  # the walk's steps, as the fill's (:meth:`_prefix`)
        sse, sae = np.zeros((kk, codes.size)), np.zeros((kk, codes.size))
        nobody = np.zeros(cells.size, dtype=bool)
        xt = None  # the matrix transposed, for the votes of the cells left to the client-by-client search

        def kernel(dist, tol, cr, cc, yy, walk, status):
            """Score the cells ``walk`` (rows ``cr`` of ``dist``, ascending; picking donors: all the cells)
            into sse/sae, their status into ``status``."""
            cell_ptr = np.searchsorted(cr[walk], np.arange(dist.shape[0] + 1))
            part = np.zeros((-(-dist.shape[0] // _SCORE_ROWS), kk, codes.size))
            part_abs = np.zeros_like(part)
            tol = np.empty(0) if tol is None else tol
            if by_cell:
                _accel.select_score(dist, cr, cc, cell_ptr, *_csc(d.state), yy, codes, _SCORE_ROWS, tol, part,
                                    part_abs, status)
            else:  # how far each row is expected to walk: k donors (and a margin) of its sparsest client
                least = np.full(dist.shape[0], np.inf)
                rows, first = np.unique(cr[walk], return_index=True)  # (cr ascending)
                least[rows] = np.minimum.reduceat(donors[cc[walk]], first)
                reach = np.ceil(_REACH * (kk + 3 * math.sqrt(kk) + 2) * n / np.maximum(least, 1.0))
                reach = np.clip(np.nan_to_num(reach, posinf=n), kk + 2, n).astype(np.int64)
                _accel.scan_score(dist, tol, cap, reach, *packed, walk, cell_ptr, cc, yy, codes, _SCORE_ROWS, part,
                                  part_abs, status)
            sse[...] += part.sum(axis=0)
            sae[...] += part_abs.sum(axis=0)

        for lo in range(0, n, block_rows):
            block = slice(lo, min(n, lo + block_rows))
            a, b = np.searchsorted(ur, [lo, block.stop])
            if a == b:
                continue
            cr, cc, yy = ur[a:b] - lo, uc[a:b], y[a:b]
            dist, invalid, tol = twin._block(block)
            walk = np.arange(cr.size) if by_cell else np.flatnonzero(dense[cc] if packed is not None else [])
            status = np.full(cr.size, 2, dtype=np.int8)  # (the cells not walked: client by client)
            exact_rows = np.zeros(dist.shape[0], dtype=bool)
            if walk.size:
                kernel(dist, tol, cr, cc, yy, walk, status)
                again = np.flatnonzero(status >= 3)
                if again.size:  # near-ties: their rows' distances recomputed exactly, then those cells again
                    rows = np.unique(cr[again])
                    dist[rows] = twin._exact(block.start + rows, np.broadcast_to(np.arange(n), (rows.size, n)),
                                             invalid[rows])
                    exact_rows[rows] = True
                    got = np.full(again.size, 2, dtype=np.int8)
                    kernel(dist[rows], None, np.searchsorted(rows, cr[again]), cc[again], yy[again],
                           np.arange(again.size), got)
                    status[again] = got
            nobody[a + np.flatnonzero(status == 1)] = True
            redo = np.flatnonzero(status == 2)
            if redo.size:
                _, _, si, sd = twin._vote_by_client(block, cr[redo], cc[redo], dist, invalid, tol, exact_rows,
                                                    keep=True)
                votes = np.empty((kk, codes.size, redo.size))
                xt = np.ascontiguousarray(x.T) if xt is None else xt
                _accel.vote_many(si.astype(np.int64), sd, xt, cc[redo], np.arange(kk),
                                 np.arange(kk), codes, np.zeros(0, dtype=np.int64), votes)
                none = np.isnan(votes[0, 0])
                nobody[a + redo[none]] = True
                e = votes[:, :, ~none] - yy[redo[~none]]
                sse += (e * e).sum(axis=2)
                sae += np.abs(e).sum(axis=2)
        at = np.minimum(np.asarray(ks, dtype=np.int64), kk) - 1
        back = np.empty(cells.size, dtype=bool)
        back[place] = nobody
        return sse[at], sae[at], back

    @staticmethod
    def _vote_many_numpy(slot_idx, slot_dist, x, uc, at, weightings, place, out):
        """The numpy twin of :func:`~xlrec.core._kernels.vote_many`: running sums (cumsum) in slot order."""
        ok = slot_idx >= 0
        k_max = slot_idx.shape[1]
        vals = np.where(ok, x[np.maximum(slot_idx, 0), uc[:, None]], 0.0)
        # a slot past a cell's last neighbour weighs 0, so the running sums stay at that neighbour's: the
        # sums for k are column k - 1, whatever the cell's number of neighbours
        with np.errstate(divide="ignore", invalid="ignore"):
            for wi, weighting in enumerate(weightings):
                if weighting == "uniform":
                    w = ok.astype(float)
                elif weighting == "rank":
                    w = np.where(ok, 1.0 / np.arange(1, k_max + 1)[None, :], 0.0)
                else:
                    w = np.where(ok, 1.0 / slot_dist, 0.0)
                num = np.cumsum(w * vals, axis=1)
                p = np.divide(num, np.cumsum(w, axis=1), out=num)  # NaN where no neighbour votes (0 / 0)
                if weighting == "distance":  # neighbours at distance 0 come first; when any votes, only they do
                    zero = ok & (slot_dist == 0)
                    if zero.any():
                        zden = np.cumsum(zero, axis=1)
                        p = np.where(zden > 0, np.cumsum(np.where(zero, vals, 0.0), axis=1) / zden, p)
                out[:, wi][:, place] = p[:, at].T


def _amount(v: float) -> str:
    """:func:`~.explanation.format_amount` of a finite float, in one formatting step when it is 10 or more."""
    if -10 < v < 10:
        return format_amount(v)
    text = f"{v:,.2f}"
    return text[:-3] if text.endswith(".00") else text


def _ambiguous(dsorted, tol):
    """Rows whose sorted distances hold two neighbours closer than the rounding bound (squared)."""
    sq = dsorted * dsorted
    fin = np.isfinite(sq)
    gaps = np.diff(np.where(fin, sq, np.finfo(float).max), axis=1)
    close = (gaps <= 2 * tol[:, None]) & fin[:, 1:]
    return close.any(axis=1)


def _csr(state):
    """For each row, the columns it knows and the values: (indptr, columns, values), once per matrix."""
    if "csr" not in state:
        rows, cols = np.nonzero(state["known"])
        state["csr"] = (np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=state["known"].shape[0]))]),
                        cols, state["x"][rows, cols])
    return state["csr"]


def _packed(state):
    """The rows' bookings as the compiled walk reads them (:func:`~xlrec.core._kernels.pack_rows`), once
    per matrix."""
    if "packed" not in state:
        state["packed"] = _accel.pack_rows(state["x"], state["known"])
    return state["packed"]


def _vote_slots(slot_idx, slot_dist, slot_val, code, compiled):
    """(predictions, neighbours used) of cells whose donors are in slots, nearest first (-1 past the last):
    the compiled :func:`~xlrec.core._kernels.vote` or its numpy twin, summing slot by slot in order as it
    does, so both give the same floats."""
    if compiled:
        p, used, _ = _accel.vote(slot_idx, slot_dist, slot_val, code)
        return p, used
    ok = slot_idx >= 0
    used = ok.sum(axis=1)
    num, den = np.zeros(used.size), np.zeros(used.size)
    zero = (ok & (slot_dist == 0)).any(axis=1)
    for q in range(slot_idx.shape[1]):
        if code == 0:
            w = np.ones(used.size)
        elif code == 1:
            w = np.full(used.size, 1.0 / (q + 1))
        else:
            with np.errstate(divide="ignore"):
                w = np.where(zero, (slot_dist[:, q] == 0).astype(float), 1.0 / slot_dist[:, q])
        np.add(num, w * slot_val[:, q], out=num, where=ok[:, q])
        np.add(den, w, out=den, where=ok[:, q])
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(used > 0, num / den, np.nan), used


def _scan_vote(order, dsorted, cr, cc, cells, k, code, pred, used, slot_idx, slot_dist, state):
    """Walk each row's neighbours nearest first, give every blank cell its first k donors, and vote as they
    come: the walk and the vote fused, so no cell keeps its k donors unless ``slot_idx`` has a row per cell.

    ``cells`` (ascending rows) index ``cr``/``cc``; writes ``pred`` and ``used`` for them, and the slots
    when kept. The compiled kernel walks one row at a time; the numpy twin takes the i-th nearest neighbour
    of every row at once: on sparse rows it gathers that neighbour's bookings (a CSR row), on dense rows it
    masks the neighbour's row of the known mask with the open cells, and once few cells are open it looks
    those up; so the work is about the bookings of the neighbours walked, not (cells x depth). Each cell's sums run over its donors in walk
    order in both, so they give the same floats. Returns the cells still short of k donors when the prefix
    runs out (a row whose finite neighbours ran out has none left to find).
    """
    b = order.shape[0]
    m = state["x"].shape[1]
    cell_row = cr[cells]
    if state["compiled"]:
        cell_ptr = np.searchsorted(cell_row, np.arange(b + 1))
        left = np.zeros(pred.size, dtype=bool)
        _accel.scan_vote(order, dsorted, *_packed(state), cells, cell_ptr, cc, k, code, pred, used, left, slot_idx,
                         slot_dist)
        return np.flatnonzero(left)
    row_ptr, row_cols, row_vals = _csr(state)
    nc = cells.size
    # (row, client) -> the open cell there, -1 where none is (or it already has k donors), flat: row * m + client
    slot_of = np.full(b * m, -1, dtype=np.int64 if nc >= 2 ** 31 else np.int32)
    slot_of[cell_row * m + cc[cells]] = np.arange(nc)
    cnt = np.zeros(nc, dtype=np.int64)
    num, den = np.zeros(nc), np.zeros(nc)
    zero = np.zeros(nc, dtype=bool)
    remaining = np.bincount(cell_row, minlength=b)
    exhausted = np.zeros(b, dtype=bool)
    ar = np.flatnonzero(remaining)  # the rows with cells still short of k donors
    act = None  # once few cells are open: those cells (then each step looks them up in the neighbour's row)
    todo = None  # for dense rows: (row, client) -> the cell is open
    x, known = state["x"], state["known"]
    for s in range(order.shape[1]):
        if act is None:
            if ar.size == 0:
                break
            dj = dsorted[ar, s]
            fin = np.isfinite(dj)
            if not fin.all():
                exhausted[ar[~fin]] = True
                ar, dj = ar[fin], dj[fin]
                if ar.size == 0:
                    break
            j = order[ar, s]
            starts, lens = row_ptr[j], row_ptr[j + 1] - row_ptr[j]
            ends = np.cumsum(lens)
            if ends[-1] == 0:
                continue
            if 4 * remaining[ar].sum() < ends[-1]:
                act = np.flatnonzero((cnt < k) & np.isin(cell_row, ar))
            elif ar.size * m <= _DENSE_STEP * ends[-1]:  # dense rows: mask whole rows, then touch only the donors found
                if todo is None:
                    todo = np.zeros((b, m), dtype=bool)
                    todo[cell_row, cc[cells]] = cnt < k
                hit = known[j]
                hit &= todo[ar]
                rr, cols = np.nonzero(hit)
                u = slot_of[ar[rr] * m + cols]
                full = _add_votes(u, cnt[u], dj[rr], x[j[rr], cols], j[rr], code, k, cells, cnt, num, den, zero,
                                  slot_idx, slot_dist)
            else:
                rep = np.repeat(np.arange(ar.size), lens)  # the neighbour's bookings, row after row
                pos = np.arange(ends[-1])
                pos += (starts - ends + lens)[rep]
                key = row_cols[pos]
                key += (ar * m)[rep]
                u = slot_of[key]
                hit = np.flatnonzero(u >= 0)  # open cells (one neighbour per row a step: no cell twice)
                u, pos, rep = u[hit], pos[hit], rep[hit]
                full = _add_votes(u, cnt[u], dj[rep], row_vals[pos], j[rep], code, k, cells, cnt, num, den, zero,
                                  slot_idx, slot_dist)
            if act is None:
                if full.size:  # k donors: closed
                    slot_of[cell_row[full] * m + cc[cells[full]]] = -1
                    if todo is not None:
                        todo[cell_row[full], cc[cells[full]]] = False
                    remaining -= np.bincount(cell_row[full], minlength=b)
                    ar = ar[remaining[ar] > 0]
                continue
        if act.size == 0:
            break
        ra = cell_row[act]
        dj = dsorted[ra, s]
        fin = np.isfinite(dj)
        if not fin.all():
            exhausted[ra[~fin]] = True
            act, ra, dj = act[fin], ra[fin], dj[fin]
        j = order[ra, s]
        ca = cc[cells[act]]
        has = known[j, ca]
        u = act[has]
        _add_votes(u, cnt[u], dj[has], x[j[has], ca[has]], j[has], code, k, cells, cnt, num, den, zero,
                   slot_idx, slot_dist)
        act = act[cnt[act] < k]
    has = cnt > 0
    if code != 2:  # the weights' sum of n donors, added in walk order as the compiled walk's table
        den = np.cumsum(np.concatenate([[0.0], np.ones(k) if code == 0 else 1.0 / np.arange(1, k + 1)]))[cnt]
    pred[cells[has]] = num[has] / den[has]
    used[cells] = cnt
    return cells[(cnt < k) & ~exhausted[cell_row]]


def _add_votes(u, q, dd, vals, j, code, k, cells, cnt, num, den, zero, slot_idx, slot_dist):
    """Give the cells ``u`` (no cell twice) their (q+1)-th donor ``j`` at distance ``dd`` with value
    ``vals``: the numpy twin of the compiled walk's inner step. Returns the cells now holding k donors."""
    if code == 0:  # uniform and rank: the weights' sum follows from the count (see _scan_vote)
        num[u] += vals
    elif code == 1:
        num[u] += (1.0 / (q + 1)) * vals
    else:
        first = q == 0
        zero[u[first]] = dd[first] == 0
        with np.errstate(divide="ignore"):
            w = np.where(zero[u], (dd == 0).astype(float), 1.0 / dd)
        num[u] += w * vals
        den[u] += w
    cnt[u] = q + 1
    if slot_idx.shape[0] > 0:
        slot_idx[cells[u], q] = j
        slot_dist[cells[u], q] = dd
    return u[q + 1 == k]
