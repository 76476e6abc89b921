"""The compiled kernels (numba) behind :mod:`xlrec.core._accel`; imported only when a fill uses them.

Each has a pure-numpy twin in :mod:`.distances` / :mod:`.neighbors` that gives the same results (same
neighbours, same summation order); the tests run both.
"""

import numba
import numpy as np

__all__ = ["columnwise", "scan", "nearest_donors", "vote"]


@numba.njit(cache=True, parallel=True, nogil=True)
def columnwise(x, known, lo, hi, indptr, indices, values, mode):  # pragma: no cover - compiled
    """Over the columns both rows know, rows lo..hi against all rows: the sum of |a - b| (mode 0),
    the largest |a - b| (mode 1) or the sum of (a - b)**2 (mode 2), and how many columns they share.

    ``indptr``/``indices``/``values``: for each column, the rows that know it and their values (CSC
    layout). Sums run column by column in order, as the numpy path does, so both give the same floats.
    """
    n, m = x.shape
    out = np.zeros((hi - lo, n))
    shared = np.zeros((hi - lo, n), dtype=np.int32)
    for r in numba.prange(hi - lo):
        i = lo + r
        row = out[r]
        cnt = shared[r]
        for c in range(m):
            if not known[i, c]:
                continue
            xi = x[i, c]
            for p in range(indptr[c], indptr[c + 1]):
                j = indices[p]
                v = abs(xi - values[p])
                cnt[j] += 1
                if mode == 1:
                    if v > row[j]:
                        row[j] = v
                elif mode == 0:
                    row[j] += v
                else:
                    row[j] += v * v
    return out, shared

@numba.njit(cache=True, parallel=True, nogil=True)
def scan(order, dsorted, row_ptr, row_cols, row_vals, cell_of, k, slot_idx, slot_dist, slot_val):  # pragma: no cover
    """For each row, walk its neighbours nearest first and give each of its blank cells the first k
    neighbours that have a value there.

    ``row_ptr``/``row_cols``: for each row of the whole matrix, the columns it knows (CSR layout);
    ``cell_of[r, c]``: the cell number of (block row r, column c), -1 for cells not asked for. Work per
    row is the bookings of the neighbours walked, so sparse matrices cost little. Returns a mask over
    the cells: True where the neighbours walked ran out before k donors were found.
    """
    b, m = cell_of.shape
    steps = order.shape[1]
    left = np.zeros(slot_idx.shape[0], dtype=np.bool_)
    for r in numba.prange(b):
        cnt = np.zeros(m, dtype=np.int32)
        remaining = 0
        for c in range(m):
            if cell_of[r, c] >= 0:
                remaining += 1
        exhausted = False
        for s in range(steps):
            if remaining == 0:
                break
            dj = dsorted[r, s]
            if not np.isfinite(dj):
                exhausted = True
                break
            j = order[r, s]
            for p in range(row_ptr[j], row_ptr[j + 1]):
                c = row_cols[p]
                cell = cell_of[r, c]
                if cell < 0:
                    continue
                q = cnt[c]
                if q < k:
                    slot_idx[cell, q] = j
                    slot_dist[cell, q] = dj
                    slot_val[cell, q] = row_vals[p]
                    cnt[c] = q + 1
                    if q + 1 == k:
                        remaining -= 1
        if remaining > 0 and not exhausted:
            for c in range(m):
                cell = cell_of[r, c]
                if cell >= 0 and cnt[c] < k:
                    left[cell] = True
    return left

@numba.njit(cache=True, parallel=True, nogil=True)
def nearest_donors(dist, cr, cc, cells, col_ptr, col_rows, col_vals, k,  # pragma: no cover - compiled
                   slot_idx, slot_dist, slot_val):
    """For each cell, the k nearest rows among those that know its column, by (distance, row).

    Rows are scanned in ascending order, so a later row never passes an earlier one at equal distance.
    """
    for t in numba.prange(cells.size):
        cell = cells[t]
        r = cr[cell]
        c = cc[cell]
        cnt = 0
        for q in range(k):
            slot_idx[cell, q] = -1
            slot_dist[cell, q] = np.inf
        for p in range(col_ptr[c], col_ptr[c + 1]):
            j = col_rows[p]
            d = dist[r, j]
            if not np.isfinite(d):
                continue
            if cnt == k and d >= slot_dist[cell, k - 1]:
                continue
            pos = cnt if cnt < k else k - 1
            while pos > 0 and slot_dist[cell, pos - 1] > d:
                if pos < k:
                    slot_dist[cell, pos] = slot_dist[cell, pos - 1]
                    slot_idx[cell, pos] = slot_idx[cell, pos - 1]
                    slot_val[cell, pos] = slot_val[cell, pos - 1]
                pos -= 1
            slot_dist[cell, pos] = d
            slot_idx[cell, pos] = j
            slot_val[cell, pos] = col_vals[p]
            if cnt < k:
                cnt += 1
    return 0

@numba.njit(cache=True, parallel=True, nogil=True)
def vote(slot_idx, slot_dist, slot_val, weighting):  # pragma: no cover - compiled
    """Weighted vote of each cell's donors: weighting 0 uniform, 1 rank (1/i), 2 inverse distance (only
    the donors at distance 0 when there are any). Returns (predictions, donors used, weights)."""
    ncell, k = slot_idx.shape
    pred = np.full(ncell, np.nan)
    used = np.zeros(ncell, dtype=np.int32)
    weights = np.zeros((ncell, k))
    for t in numba.prange(ncell):
        zero = False
        n = 0
        for q in range(k):
            if slot_idx[t, q] < 0:
                break
            n += 1
            if slot_dist[t, q] == 0.0:
                zero = True
        if n == 0:
            continue
        num = 0.0
        den = 0.0
        for q in range(n):
            if weighting == 0:
                w = 1.0
            elif weighting == 1:
                w = 1.0 / (q + 1)
            elif zero:
                w = 1.0 if slot_dist[t, q] == 0.0 else 0.0
            else:
                w = 1.0 / slot_dist[t, q]
            weights[t, q] = w
            num += w * slot_val[t, q]
            den += w
        pred[t] = num / den
        used[t] = n
    return pred, used, weights
