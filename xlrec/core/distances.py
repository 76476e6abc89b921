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

__all__ = ["METRICS", "pairwise_distances", "check_metric"]


def _product_sums(xc, kf, block):
    """Sum over shared columns of (a - b)**2 for the rows in ``block`` against all rows.

    ``xc`` holds centred values with 0 where unknown, ``kf`` the known mask as float. Centring each column
    (done by the caller) keeps the three products of similar size, so revenue-scale values do not cancel.
    """
    sq = xc * xc
    out = sq[block] @ kf.T
    out += kf[block] @ sq.T
    out -= 2.0 * (xc[block] @ xc.T)
    np.maximum(out, 0.0, out=out)
    return out


def _columnwise(x, known, block, reduce):
    """Sum (or max) over shared columns of |a - b|, working one column at a time over its known rows."""
    lo, hi = block.start, block.stop
    n, m = x.shape
    out = np.zeros((hi - lo, n))
    for c in range(m):
        rows = np.flatnonzero(known[:, c])
        if rows.size < 2:
            continue
        a, b = np.searchsorted(rows, (lo, hi))
        mine = rows[a:b]
        if mine.size == 0:
            continue
        xc = x[:, c]
        diff = np.abs(xc[mine][:, None] - xc[rows][None, :])
        ix = np.ix_(mine - lo, rows)
        if reduce == "sum":
            out[ix] += diff
        else:
            out[ix] = np.maximum(out[ix], diff)
    return out


def _manhattan(state, block):
    return _columnwise(state["x"], state["known"], block, "sum")


def _supremum(state, block):
    return _columnwise(state["x"], state["known"], block, "max")


def _euclidean(state, block):
    return np.sqrt(_product_sums(state["xc"], state["kf"], block))


def _nan_euclidean(state, block):
    sq = _product_sums(state["xc"], state["kf"], block)
    shared = state["shared"]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt(sq * (state["x"].shape[1] / shared))


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
    """What the kernels need, computed once per matrix."""
    state = {"x": x, "known": known, "kf": known.astype(float)}
    if METRICS[metric][1]:
        counts = known.sum(axis=0)
        means = np.divide(np.where(known, x, 0.0).sum(axis=0), counts, out=np.zeros(x.shape[1]),
                          where=counts > 0)
        state["xc"] = np.where(known, x - means, 0.0)
    return state


def _block_distances(state, metric, block):
    """(distances, shared counts) of shape (len(block), n) for the rows of ``block`` against all rows.

    Pairs with no shared client get distance ``inf``.
    """
    kf = state["kf"]
    shared = kf[block] @ kf.T
    state["shared"] = shared
    dist = METRICS[metric][0](state, block)
    dist[shared == 0] = np.inf
    return dist, shared


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
    >>> d[0, 1], s[0, 1]
    (200000.0, 2)
    """
    check_metric(metric)
    x = np.asarray(values, dtype=float)
    if x.ndim != 2:
        raise InputError(f"values must be a 2-D matrix, got {x.ndim} dimension(s)")
    known = ~np.isnan(x)
    state = _prepare(x, known, metric)
    dist, shared = _block_distances(state, metric, slice(0, x.shape[0]))
    return dist, shared.astype(int)
