"""The compiled kernels (numba) behind :mod:`xlrec.core._accel`; imported only when a fill uses them.

Each has a pure-numpy twin in :mod:`.distances` / :mod:`.neighbors` that gives the same results (same
neighbours, same summation order); the tests run both.
"""

import numba
import numpy as np

__all__ = ["columnwise", "scan_vote", "nearest_donors", "vote", "vote_many", "finish_products", "centre", "transport"]


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

@numba.njit(cache=True, inline="always")
def _weight(weighting, q, dj, zero, u):  # pragma: no cover - compiled
    """The weight of a cell's (q+1)-th donor at distance dj (see :func:`scan_vote`)."""
    if weighting == 0:
        return 1.0
    if weighting == 1:
        return 1.0 / (q + 1)
    if q == 0:
        zero[u] = dj == 0.0
    if zero[u]:
        return 1.0 if dj == 0.0 else 0.0
    return 1.0 / dj


@numba.njit(cache=True, parallel=True, nogil=True)
def scan_vote(order, dsorted, row_ptr, row_cols, row_vals, x, known, cells, cell_ptr, cc, k,  # pragma: no cover
              weighting, pred, used, left, slot_idx, slot_dist):
    """For each row, walk its neighbours nearest first, give each of its blank cells the first k neighbours
    that have a value there, and vote as they come (the walk and the vote fused: no per-cell slots).

    ``row_ptr``/``row_cols``/``row_vals``: for each row of the whole matrix, the columns it knows and the
    values (CSR layout); ``cells[cell_ptr[r]:cell_ptr[r + 1]]``: the cells of block row r, whose column is
    ``cc[cell]``. Weighting 0 uniform, 1 rank (1/i), 2 inverse distance (only the donors at distance 0 when
    there are any: they come first, the walk being nearest first). Each cell's sums run over its donors
    in walk order, as :func:`vote` and the numpy path sum, so all give the same floats. Writes ``pred``,
    ``used`` and ``left`` (True where the walk ran out of steps before k donors; the row's finite
    neighbours running out is not that); ``slot_idx``/``slot_dist`` are filled too when they have a row
    per cell (pass (0, k) arrays to skip them). A step looks at the neighbour's bookings (CSR row) while the
    row has many open cells, and at the row's open cells (``known``/``x``) once they are fewer: work per row is
    about the smaller of the two at each step.
    """
    b = cell_ptr.size - 1
    m = x.shape[1]
    steps = order.shape[1]
    keep = slot_idx.shape[0] > 0
    for r in numba.prange(b):
        lo = cell_ptr[r]
        hi = cell_ptr[r + 1]
        if lo == hi:
            continue
        nc = hi - lo
        slot_of = np.full(m, -1, dtype=np.int64)
        col = np.empty(nc, dtype=np.int64)
        for u in range(nc):
            col[u] = cc[cells[lo + u]]
            slot_of[col[u]] = u
        cnt = np.zeros(nc, dtype=np.int64)
        num = np.zeros(nc)
        den = np.zeros(nc)
        zero = np.zeros(nc, dtype=np.bool_)
        open_ = np.arange(nc)
        n_open = nc
        remaining = nc
        exhausted = False
        for s in range(steps):
            if remaining == 0:
                break
            dj = dsorted[r, s]
            if not np.isfinite(dj):
                exhausted = True
                break
            j = order[r, s]
            if remaining < row_ptr[j + 1] - row_ptr[j]:  # fewer open cells than j's bookings: look them up
                kept = 0
                for t in range(n_open):
                    u = open_[t]
                    q = cnt[u]
                    if q >= k:
                        continue
                    c = col[u]
                    if known[j, c]:
                        w = _weight(weighting, q, dj, zero, u)
                        num[u] += w * x[j, c]
                        den[u] += w
                        if keep:
                            slot_idx[cells[lo + u], q] = j
                            slot_dist[cells[lo + u], q] = dj
                        q += 1
                        cnt[u] = q
                        if q == k:
                            remaining -= 1
                            continue
                    open_[kept] = u
                    kept += 1
                n_open = kept
                continue
            for p in range(row_ptr[j], row_ptr[j + 1]):
                u = slot_of[row_cols[p]]
                if u < 0:
                    continue
                q = cnt[u]
                if q >= k:
                    continue
                w = _weight(weighting, q, dj, zero, u)
                num[u] += w * row_vals[p]
                den[u] += w
                if keep:
                    slot_idx[cells[lo + u], q] = j
                    slot_dist[cells[lo + u], q] = dj
                cnt[u] = q + 1
                if q + 1 == k:
                    remaining -= 1
        for u in range(nc):
            cell = cells[lo + u]
            n = cnt[u]
            used[cell] = n
            if n > 0:
                pred[cell] = num[u] / den[u]
            if n < k and not exhausted:
                left[cell] = True
    return 0

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


@numba.njit(cache=True, parallel=True, nogil=True)
def centre(x, known, means, xc, sq, kf, k32):  # pragma: no cover - compiled
    """The operands of the matrix products in one pass over the rows (the twin of
    :func:`.distances._centred` and :func:`.distances._mask`): ``means`` holds each column's mean of its
    known values (summed row by row, as numpy's column sums); ``xc`` the values less it (0 where
    unknown), ``sq`` their squares, ``kf``/``k32`` the known mask as float64/float32."""
    n, m = x.shape
    for i in numba.prange(n):
        for j in range(m):
            if known[i, j]:
                v = x[i, j] - means[j]
                xc[i, j] = v
                sq[i, j] = v * v
                kf[i, j] = 1.0
                k32[i, j] = 1.0
            else:
                xc[i, j] = 0.0
                sq[i, j] = 0.0
                kf[i, j] = 0.0
                k32[i, j] = 0.0
    return 0


@numba.njit(cache=True, parallel=True, nogil=True)
def finish_products(a, cross, shared, m, scaled, symmetric, scale):  # pragma: no cover - compiled
    """The matrix-product distances finished in one pass (the twin of :func:`.distances._product_sums` and
    its metric's roots, which take a dozen numpy passes): per pair, ``s = a[i, j] (+ a[j, i] when
    symmetric) - 2 cross[i, j]``, at least 0, times ``m / shared`` when ``scaled`` (nan_euclidean), its
    root, ``inf`` where nothing is shared; written over ``cross``. ``scale[i]`` gets the row's largest
    ``s`` before the cross term (times the factor), NaN skipped, as ``np.fmax.reduce``: the same floats as
    the numpy steps."""
    b, n = cross.shape
    for i in numba.prange(b):
        top = np.nan
        for j in range(n):
            s1 = a[i, j] + a[j, i] if symmetric else a[i, j]
            sh = shared[i, j]
            f = m / np.float64(sh) if scaled else 1.0
            v = s1 * f if scaled else s1
            if not np.isnan(v) and (np.isnan(top) or v > top):
                top = v
            d = s1 - cross[i, j] * 2.0
            if d < 0.0:
                d = 0.0
            if sh == 0:
                cross[i, j] = np.inf
            else:
                cross[i, j] = np.sqrt(d * f) if scaled else np.sqrt(d)
        scale[i] = top
    return 0


@numba.njit(cache=True, parallel=True, nogil=True)
def vote_many(slot_idx, slot_dist, xt, col, at, dest, codes, out):  # pragma: no cover - compiled
    """Every k and weighting at once from each cell's nearest donors (the twin of the numpy vote in
    ``NeighborModel._predict_cells_many``): ``out[dest[a], w, t]`` is cell t's vote over its first
    ``at[a] + 1`` slots with weighting ``codes[w]`` (as :func:`vote`: running sums in slot order, so the same
    floats as the vote of that one k). ``at`` ascending; ``xt`` the matrix transposed, ``col`` each cell's
    column."""
    ncell, k = slot_idx.shape
    na = at.size
    nw = codes.size
    tile = 256  # cells voted into a buffer, then written out a contiguous run per (k, weighting)
    for b in numba.prange((ncell + tile - 1) // tile):
        t0 = b * tile
        t1 = min(ncell, t0 + tile)
        buf = np.empty((na, nw, t1 - t0))
        for t in range(t0, t1):
            c = col[t]
            for w in range(nw):
                code = codes[w]
                zero = slot_idx[t, 0] >= 0 and slot_dist[t, 0] == 0.0
                num = 0.0
                den = 0.0
                a = 0
                for q in range(k):
                    if slot_idx[t, q] >= 0:
                        d = slot_dist[t, q]
                        if code == 0:
                            wt = 1.0
                        elif code == 1:
                            wt = 1.0 / (q + 1)
                        elif zero:
                            wt = 1.0 if d == 0.0 else 0.0
                        else:
                            wt = 1.0 / d
                        num += wt * xt[c, slot_idx[t, q]]
                        den += wt
                    while a < na and at[a] == q:
                        buf[a, w, t - t0] = num / den if den > 0 else np.nan
                        a += 1
        for a in range(na):
            for w in range(nw):
                out[dest[a], w, t0:t1] = buf[a, w]
    return 0


@numba.njit(cache=True, nogil=True)
def transport(ct, cap):  # pragma: no cover - compiled
    """The transportation problem by successive shortest paths; the twin of :func:`.assign._transport_numpy`
    (same steps, same ties), which documents it. ``ct``: costs, clients x salespeople (inf: forbidden);
    ``cap``: capacities. Returns (owner of each client, row potentials, client potentials, sink potential),
    or owner[0] = -1 when some client cannot be placed."""
    m, n = ct.shape
    owner = np.full(m, -1, np.int64)
    head = np.full(n, -1, np.int64)  # each row's clients as a linked list, in the order they came
    tail = np.full(n, -1, np.int64)
    nxt = np.full(m, -1, np.int64)
    prv = np.full(m, -1, np.int64)
    count = np.zeros(n, np.int64)
    full = cap <= 0
    tmin = np.full((n, n), np.inf)
    targ = np.zeros((n, n), np.int64)
    pi_row = np.zeros(n)
    off = np.zeros(n)
    pc = np.zeros(m)
    pi_t = 0.0
    d = np.empty(n)
    dd = np.empty(n)
    settled = np.zeros(n, np.bool_)
    pred_client = np.empty(n, np.int64)
    pred_row = np.empty(n, np.int64)
    for j0 in range(m):
        p0 = -np.inf
        for i in range(n):
            d[i] = ct[j0, i] - pi_row[i]
            if -d[i] > p0:
                p0 = -d[i]
        if p0 == -np.inf:  # forbidden everywhere
            owner[0] = -1
            return owner, pi_row, pc, pi_t
        for i in range(n):
            d[i] += p0
            dd[i] = d[i]
            settled[i] = False
            pred_client[i] = j0
            pred_row[i] = -1
        dt = np.inf
        tgt = -1
        while True:
            i = 0
            di = np.inf
            for r in range(n):
                if dd[r] < di:
                    di = dd[r]
                    i = r
            if not di < dt:
                break
            settled[i] = True
            dd[i] = np.inf
            if not full[i]:
                t = di + pi_row[i] - pi_t
                if t < dt:
                    dt = t
                    tgt = i
                continue
            base = di + off[i]
            for r in range(n):
                if not settled[r]:
                    cand = tmin[i, r] + base - pi_row[r]
                    if cand < dd[r]:
                        dd[r] = cand
                        d[r] = cand
                        pred_client[r] = targ[i, r]
                        pred_row[r] = i
        if tgt < 0:
            owner[0] = -1
            return owner, pi_row, pc, pi_t
        for r in range(n):
            inc = (d[r] if d[r] < dt else dt) if settled[r] else dt
            pi_row[r] += inc
            off[r] += inc
        pi_t += dt
        i = tgt
        count[tgt] += 1
        newly = count[tgt] >= cap[tgt]
        full[tgt] = newly
        gone = -1
        while True:
            j = pred_client[i]
            prev = pred_row[i]
            if prev < 0:
                true = p0
            else:
                true = pc[j] + off[prev]
                if prv[j] >= 0:
                    nxt[prv[j]] = nxt[j]
                else:
                    head[prev] = nxt[j]
                if nxt[j] >= 0:
                    prv[nxt[j]] = prv[j]
                else:
                    tail[prev] = prv[j]
            pc[j] = true - off[i]
            prv[j] = tail[i]
            nxt[j] = -1
            if tail[i] >= 0:
                nxt[tail[i]] = j
            else:
                head[i] = j
            tail[i] = j
            owner[j] = i
            if full[i] and i == tgt:  # newly full: its hand-overs from scratch
                for r in range(n):
                    tmin[i, r] = np.inf
                c = head[i]
                while c >= 0:
                    for r in range(n):
                        v = ct[c, r] + pc[c]
                        if v < tmin[i, r]:
                            tmin[i, r] = v
                            targ[i, r] = c
                    c = nxt[c]
            elif full[i]:  # gave ``gone`` to the next row on the path and got j: only what they change
                for r in range(n):
                    if targ[i, r] == gone:
                        tmin[i, r] = np.inf
                        c = head[i]
                        while c >= 0:  # in list order, as from scratch: the same ties
                            v = ct[c, r] + pc[c]
                            if v < tmin[i, r]:
                                tmin[i, r] = v
                                targ[i, r] = c
                            c = nxt[c]
                    else:
                        v = ct[j, r] + pc[j]
                        if v < tmin[i, r]:  # j is last in the list: it wins only when strictly less
                            tmin[i, r] = v
                            targ[i, r] = j
            if prev < 0:
                break
            gone = j
            i = prev
    for j in range(m):
        pc[j] += off[owner[j]]
    return owner, pi_row, pc, pi_t
