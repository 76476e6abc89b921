"""Distances between salespeople, over the clients both have a booking with.

Public entry: :func:`pairwise_distances` (validates). The private kernels assume checked input, as
scikit-learn's ``_euclidean_distances`` does, and are what the neighbour model calls block by block.

The metrics (``a`` and ``b`` are two rows, ``S`` the clients both have a value for, ``m`` all clients):

==================  ==========================================================  ==========================
name                distance                                                    computed by
==================  ==========================================================  ==========================
``manhattan``       sum over S of ``|a - b|`` (the article's distance)          per client, over its rows
``euclidean``       ``sqrt(sum over S of (a - b)**2)``                          matrix products
``supremum``        max over S of ``|a - b|``                                   per client, over its rows
``nan_euclidean``   ``sqrt(m / |S| * sum over S of (a - b)**2)`` (KNNImputer's)   matrix products
==================  ==========================================================  ==========================

Two rows with no shared client have distance ``inf`` and are never neighbours.
"""

from __future__ import annotations

import numpy as np

from ..exceptions import InputError
from . import _accel

__all__ = ["METRICS", "pairwise_distances", "check_metric", "exact_distances"]


def _product_sums(state, block):
    """Sum over shared columns of (a - b)**2 for the rows in ``block`` against all rows.

    ``xc`` holds centred values with 0 where unknown, ``kf`` the known mask as float. Centring each column
    keeps the three products of similar size. What rounding is left is bounded: the result is within
    ``scale * 4 * (m + 2) * eps`` of the exact sum, where ``scale = sum of a**2 + b**2`` over the shared
    columns; the caller uses that bound to find near-ties and recompute them exactly (see
    :func:`exact_distances`).
    """
    xc, sq = _centred(state)
    kf = _mask(state, float)
    n = xc.shape[0]
    if block.start == 0 and block.stop == n:  # all rows: A.T is the second term, and xc @ xc.T is symmetric
        out = sq @ kf.T
        out += out.T
        cross = xc @ xc.T
    else:
        out = sq[block] @ kf.T
        out += kf[block] @ sq.T
        cross = xc[block] @ xc.T
    # the rounding bound's scale, per row: the largest (a**2 + b**2 summed over shared columns), times the
    # nan_euclidean factor when there is one (pairs sharing nothing give 0 * inf = nan, which fmax skips)
    factor = state.get("factor")
    with np.errstate(invalid="ignore"):
        state["scale"] = np.fmax.reduce(out if factor is None else out * factor, axis=1)
    cross *= 2.0
    out -= cross
    np.maximum(out, 0.0, out=out)
    return out


def _columnwise(state, block, reduce, count=False):
    """Sum (``"sum"``), max (``"max"``) or sum of squares (``"sumsq"``) over shared columns of |a - b|,
    working one column at a time over its known rows; with ``count``, also how many columns are shared.

    Sums run column by column in order, as the compiled kernel's do, so both give the same floats.
    """
    lo, hi = block.start, block.stop
    n, m = state["x"].shape
    indptr, col_rows, col_vals = _csc(state)  # once per matrix, not a strided pass over each column per block
    out = np.zeros((hi - lo, n))
    shared = np.zeros((hi - lo, n), dtype=np.int32) if count else None
    for c in range(m):
        rows, vals = col_rows[indptr[c]:indptr[c + 1]], col_vals[indptr[c]:indptr[c + 1]]
        if rows.size < (1 if count else 2):
            continue
        a, b = np.searchsorted(rows, (lo, hi))
        mine = rows[a:b]
        if mine.size == 0:
            continue
        diff = np.abs(vals[a:b][:, None] - vals[None, :])
        ix = np.ix_(mine - lo, rows)
        if reduce == "sum":
            out[ix] += diff
        elif reduce == "sumsq":
            out[ix] += diff * diff
        else:
            out[ix] = np.maximum(out[ix], diff)
        if count:
            shared[ix] += 1
    return out if shared is None else (out, shared)


def _csc(state):
    """For each column, the rows that know it (ascending) and their values: (indptr, rows, values)."""
    if "csc" not in state:
        x, known = state["x"], state["known"]
        cols, rows = np.nonzero(known.T)  # column by column, rows ascending
        indptr = np.concatenate([[0], np.cumsum(np.bincount(cols, minlength=x.shape[1]))])
        state["csc"] = (indptr, rows, x[rows, cols])
    return state["csc"]


def _compiled(state, block, mode):
    """(distance sums, shared counts) from the compiled column-by-column kernel (one sum: ``mode`` one bit)."""
    sums, shared = _accel.columnwise(state["x"], state["known"], block.start, block.stop, *_csc(state), mode)
    return sums[0], shared


_SPARSE = 0.1  # below this share of known cells the compiled kernel beats the matrix products
_SHARED_PASS = 0.3  # below it, metrics asked for together come from one column-by-column pass, products or not
_MODES = {"manhattan": 1, "supremum": 2, "euclidean": 4, "nan_euclidean": 4}  # the columnwise kernel's bits


def _together(state, metric, block):
    """The other metrics whose distances to compute with ``metric``'s and keep for their own calls
    (:func:`_block_distances` takes them back): those the caller said it will ask for too
    (``state["share"]``, as the tuner does) and not computed yet, when the block is the whole matrix (so one
    block is held each) and computed the same way (column by column, or from the matrix products)."""
    share = state.get("share", ())
    if not share or block.start != 0 or block.stop != state["x"].shape[0]:
        return []
    road = _columnwise_pass(state, metric)
    return [o for o in sorted(share)
            if o != metric and ("stash", o) not in state and _columnwise_pass(state, o) == road]


def _columnwise_pass(state, metric):
    """Whether ``metric``'s distances come from the compiled column-by-column kernel."""
    if not METRICS[metric][1] or state["density"] < _SPARSE:
        return True
    share = state.get("share", ())
    return state["density"] < _SHARED_PASS and any(not METRICS[o][1] for o in share)


def _compiled_distances(state, metric, block):
    """Exact distances from the compiled kernel (no rounding beyond the column-by-column sums), with those of
    the metrics computed along (:func:`_together`) kept for their calls."""
    others = _together(state, metric, block)
    mode = _MODES[metric]
    for o in others:
        mode |= _MODES[o]
    sums, shared = _accel.columnwise(state["x"], state["known"], block.start, block.stop, *_csc(state), mode)
    plane = {bit: e for e, bit in enumerate(b for b in (1, 2, 4) if mode & b)}
    for o in others:
        state[("stash", o)] = _finish(state, o, sums[plane[_MODES[o]]].copy(), shared)
    return _finish(state, metric, sums[plane[_MODES[metric]]], shared)


def _sparse_distances(state, metric, block):
    """The same floats as :func:`_compiled_distances`, column by column in numpy: for sparse matrices,
    where the matrix products would cost more and round (and then ties would need recomputing)."""
    reduce = {1: "sum", 2: "max", 4: "sumsq"}[_MODES[metric]]
    return _finish(state, metric, *_columnwise(state, block, reduce, count=True))


def _finish(state, metric, s, shared):
    """(distances, shared, None) from the column-by-column sums ``s``: roots, scaling, ``inf`` where
    nothing is shared."""
    none = shared == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        if metric == "euclidean":
            np.sqrt(s, out=s)
        elif metric == "nan_euclidean":
            s *= np.divide(float(state["x"].shape[1]), shared, dtype=float)
            np.sqrt(s, out=s)
    s[none] = np.inf
    return s, shared, None


def _manhattan(state, block):
    return _columnwise(state, block, "sum")


def _supremum(state, block):
    return _columnwise(state, block, "max")


def _euclidean(state, block):
    state["factor"] = None
    return np.sqrt(_product_sums(state, block))


def _nan_euclidean(state, block):
    with np.errstate(divide="ignore"):
        factor = np.divide(float(state["x"].shape[1]), state["shared"], dtype=float)
    state["factor"] = factor
    s = _product_sums(state, block)
    with np.errstate(invalid="ignore"):
        s *= factor
    return np.sqrt(s, out=s)


#: metric name -> (kernel, needs centred products)
METRICS = {
    "manhattan": (_manhattan, False),
    "euclidean": (_euclidean, True),
    "supremum": (_supremum, False),
    "nan_euclidean": (_nan_euclidean, True),
}


def check_metric(metric: str) -> str:
    if metric not in METRICS:
        raise InputError(f"unknown metric {metric!r}; choose one of: {', '.join(METRICS)}")
    return metric


def _prepare(x, known, metric):
    """What the kernels need, computed once per matrix.

    The operands of the matrix products (the known mask as floats, the centred values and their squares:
    as much memory as the matrix each) are made on first use by :func:`_mask` and :func:`_centred`, so a
    metric computed column by column never holds them.
    """
    return {"x": x, "known": known, "density": float(known.mean()) if known.size else 0.0,
            "compiled": _accel.use_for(x.size)}


def _mask(state, dtype):
    """The known mask as ``dtype`` (float64 for the distance products, float32 for the shared counts)."""
    key = ("mask", np.dtype(dtype).str)
    if key not in state:
        state[key] = state["known"].astype(dtype)
    return state[key]


def _centred(state):
    """(centred values with 0 where unknown, their squares): each column less the mean of its known values."""
    if "xc" not in state:
        x, known = state["x"], state["known"]
        if state["compiled"]:  # the means and the masks too, in two passes: the same floats
            xc, sq, kf, k32 = (np.empty(x.shape, dtype=t) for t in (float, float, float, np.float32))
            _accel.centre(x, known, np.empty(x.shape[1]), xc, sq, kf, k32)
            state[("mask", np.dtype(float).str)], state[("mask", np.dtype(np.float32).str)] = kf, k32
            state["xc"], state["sq"] = xc, sq
        else:
            counts = known.sum(axis=0)
            means = np.divide(np.where(known, x, 0.0).sum(axis=0), counts, out=np.zeros(x.shape[1]),
                              where=counts > 0)
            xc = np.where(known, x - means, 0.0)
            state["xc"], state["sq"] = xc, xc * xc
    return state["xc"], state["sq"]


def _block_distances(state, metric, block):
    """(distances, shared counts, tolerance) for the rows of ``block`` against all rows.

    ``distances`` and ``shared`` have shape (len(block), n); pairs with no shared client get distance
    ``inf``. ``tolerance`` is None when the distances are exact sums (manhattan, supremum); for the
    matrix-product metrics it has shape (len(block),): a bound, per row, on the rounding error of the
    *squared* distances of that row, so that two squared distances closer than twice it may be misordered.
    """
    if ("stash", metric) in state and block.start == 0 and block.stop == state["x"].shape[0]:
        return state.pop(("stash", metric))  # computed with another metric's (:func:`_together`)
    if state["compiled"] and _columnwise_pass(state, metric):
        return _compiled_distances(state, metric, block)
    if state["density"] < _SPARSE:  # the pure path computes what the compiled one does, to the same floats
        return _sparse_distances(state, metric, block)
    if METRICS[metric][1]:
        _centred(state)  # (compiled: with the masks, in one pass)
    k32 = _mask(state, np.float32)
    # counts of shared columns: exact in float32 up to 2**24 columns, and twice as fast
    shared = (k32 @ k32.T if block.start == 0 and block.stop == k32.shape[0] else k32[block] @ k32.T)
    if state["compiled"] and metric in ("euclidean", "nan_euclidean"):
        return _compiled_products(state, metric, block, shared)
    state["shared"] = shared
    dist = METRICS[metric][0](state, block)
    none = shared == 0
    dist[none] = np.inf
    tol = None
    if METRICS[metric][1]:
        state.pop("factor")
        tol = state.pop("scale") * (4 * (k32.shape[1] + 2) * np.finfo(float).eps)
    del state["shared"]
    return dist, shared, tol


def _compiled_products(state, metric, block, shared):
    """:func:`_block_distances` of the matrix-product metrics with the products finished by one compiled
    pass (:func:`~xlrec.core._kernels.finish_products`) rather than a dozen numpy ones: the same floats."""
    xc, sq = _centred(state)
    kf = _mask(state, float)
    n, m = xc.shape
    symmetric = block.start == 0 and block.stop == n
    if symmetric:  # as _product_sums: A + A.T, and xc @ xc.T is symmetric
        a, cross = sq @ kf.T, xc @ xc.T
    else:
        a = sq[block] @ kf.T
        a += kf[block] @ sq.T
        cross = xc[block] @ xc.T
    bound = 4 * (m + 2) * np.finfo(float).eps
    for other in _together(state, metric, block):  # the same products, finished the other way
        cross2, scale = cross.copy(), np.empty(cross.shape[0])
        _accel.finish_products(a, cross2, shared, float(m), other == "nan_euclidean", symmetric, scale)
        state[("stash", other)] = cross2, shared, scale * bound
    scale = np.empty(cross.shape[0])
    _accel.finish_products(a, cross, shared, float(m), metric == "nan_euclidean", symmetric, scale)
    return cross, shared, scale * bound


def exact_distances(state, metric, rows, cols):
    """Distances computed pair by pair, without the matrix-product shortcut.

    Parameters
    ----------
    rows : ndarray of int of shape (r,)
    cols : ndarray of int of shape (r, q)
        For each row, the rows to measure it against.

    Returns
    -------
    ndarray of shape (r, q)
        ``inf`` where a pair shares no column.
    """
    x, known = state["x"], state["known"]
    m = x.shape[1]
    out = np.empty(cols.shape)
    step = max(1, (1 << 22) // max(1, cols.shape[1] * m))
    for s in range(0, rows.size, step):
        r, c = rows[s:s + step], cols[s:s + step]
        both = known[r][:, None, :] & known[c]
        diff = np.where(both, x[r][:, None, :] - x[c], 0.0)
        shared = both.sum(axis=2)
        if metric == "manhattan":
            d = np.abs(diff).sum(axis=2)
        elif metric == "supremum":
            d = np.abs(diff).max(axis=2, initial=0.0)
        else:
            d = (diff * diff).sum(axis=2)
            if metric == "nan_euclidean":
                d = d * (m / np.maximum(shared, 1))
            d = np.sqrt(d)
        out[s:s + step] = np.where(shared > 0, d, np.inf)
    return out


def pairwise_distances(values, metric: str = "manhattan"):
    """Distances between every pair of rows of a matrix with blanks.

    Parameters
    ----------
    values : array-like of shape (n_rows, n_columns)
        NaN marks an unknown value.
    metric : {"manhattan", "euclidean", "supremum", "nan_euclidean"}

    Returns
    -------
    distances : ndarray of shape (n_rows, n_rows)
        ``inf`` where two rows share no known column.
    shared : ndarray of int of shape (n_rows, n_rows)
        How many columns both rows know.

    Examples
    --------
    >>> import numpy as np
    >>> d, s = pairwise_distances([[500000, 400000, 400000, np.nan], [500000, np.nan, 200000, 300000]])
    >>> float(d[0, 1]), int(s[0, 1])
    (200000.0, 2)
    """
    check_metric(metric)
    x = np.asarray(values, dtype=float)
    if x.ndim != 2:
        raise InputError(f"values must be a 2-D matrix, got {x.ndim} dimension(s)")
    known = ~np.isnan(x)
    state = _prepare(x, known, metric)
    n = x.shape[0]
    if METRICS[metric][1]:
        rows = np.arange(n)
        dist = exact_distances(state, metric, rows, np.broadcast_to(rows, (n, n)))
        shared = known.astype(float) @ known.T.astype(float)
    else:
        dist, shared, _ = _block_distances(state, metric, slice(0, n))
    return dist, shared.astype(int)
