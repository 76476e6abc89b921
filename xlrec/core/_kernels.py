"""The compiled kernels (numba) behind :mod:`xlrec.core._accel`; imported only when a fill uses them.

Each has a pure-numpy twin in :mod:`.distances` / :mod:`.neighbors` that gives the same results (same
neighbours, same summation order); the tests run both.
"""

import numba
import numpy as np

__all__ = ["columnwise", "pack_rows", "scan_vote", "scan_fill", "k_smallest", "nearest_donors", "vote", "vote_many",
           "finish_products", "check_values", "centre", "transport", "scan_score",
           "select_score"]


@numba.njit(cache=True, inline="always")
def _columnwise_row(x, known, i, r, below, indptr, indices, values, mode, at_max, at_sq, out,
                    shared):  # pragma: no cover - compiled
    """Row i's sums (into ``out[:, r]``, ``shared[r]``) against the rows that know a column with it, those
    before row ``below`` only (all rows: ``below`` = n), column by column in order."""
    m = x.shape[1]
    cnt = shared[r]
    for c in range(m):
        if not known[i, c]:
            continue
        xi = x[i, c]
        for p in range(indptr[c], indptr[c + 1]):
            j = indices[p]
            if j >= below:
                break
            v = abs(xi - values[p])
            cnt[j] += 1
            if mode & 1:
                out[0, r, j] += v
            if mode & 2 and v > out[at_max, r, j]:
                out[at_max, r, j] = v
            if mode & 4:
                out[at_sq, r, j] += v * v


@numba.njit(cache=True, inline="always")
def _mirror(known, out, shared, a, tile):  # pragma: no cover - compiled
    """Rows a * tile .. (a + 1) * tile of :func:`columnwise`'s sums, right of the diagonal, from the
    transposed entries left of it, a tile at a time; ``shared`` on the diagonal: the row's known columns."""
    n = shared.shape[0]
    nt = (n + tile - 1) // tile
    for b in range(a, nt):
        for i in range(a * tile, min(n, (a + 1) * tile)):
            for j in range(max(i + 1, b * tile), min(n, (b + 1) * tile)):
                shared[i, j] = shared[j, i]
                for e in range(out.shape[0]):
                    out[e, i, j] = out[e, j, i]
    for i in range(a * tile, min(n, (a + 1) * tile)):
        c = 0
        for col in range(known.shape[1]):
            c += known[i, col]
        shared[i, i] = c


@numba.njit(cache=True, parallel=True, nogil=True)
def columnwise(x, known, lo, hi, indptr, indices, values, mode):  # pragma: no cover - compiled
    """Over the columns both rows know, rows lo..hi against all rows: the sum of |a - b| (mode bit 1), the
    largest |a - b| (bit 2) and the sum of (a - b)**2 (bit 4), one pass for every bit set, and how many
    columns they share. Returns (sums, shared): ``sums[e]`` the e-th of those set, in that order.

    ``indptr``/``indices``/``values``: for each column, the rows that know it (ascending) and their values
    (CSC layout). Sums run column by column in order, as the numpy path does, so both give the same floats.
    For every row against every row (lo = 0, hi = n) each pair is summed once, row i against the rows
    before it (rows taken in pairs from both ends, so the threads share the work evenly), and copied across
    the diagonal: the same floats, |a - b| being |b - a|.
    """
    n, m = x.shape
    planes = (mode & 1) + ((mode >> 1) & 1) + ((mode >> 2) & 1)
    out = np.zeros((planes, hi - lo, n))
    shared = np.zeros((hi - lo, n), dtype=np.int32)
    at_max = mode & 1
    at_sq = at_max + ((mode >> 1) & 1)
    if lo != 0 or hi != n:
        for r in numba.prange(hi - lo):
            _columnwise_row(x, known, lo + r, r, n, indptr, indices, values, mode, at_max, at_sq, out, shared)
        return out, shared
    for t in numba.prange((n + 1) // 2):
        _columnwise_row(x, known, t, t, t, indptr, indices, values, mode, at_max, at_sq, out, shared)
        if n - 1 - t != t:
            _columnwise_row(x, known, n - 1 - t, n - 1 - t, n - 1 - t, indptr, indices, values, mode, at_max, at_sq,
                            out, shared)
    tile = 32
    nt = (n + tile - 1) // tile
    for t in numba.prange((nt + 1) // 2):  # the upper triangle from the lower, a row of tiles at a time (one
        _mirror(known, out, shared, t, tile)  # from each end, so the threads share the work evenly)
        if nt - 1 - t != t:
            _mirror(known, out, shared, nt - 1 - t, tile)
    return out, shared


_ONE = np.uint64(1)
_M1, _M2, _M4 = np.uint64(0x5555555555555555), np.uint64(0x3333333333333333), np.uint64(0x0F0F0F0F0F0F0F0F)
_H01 = np.uint64(0x0101010101010101)


@numba.njit(cache=True, inline="always")
def _popcount(w):  # pragma: no cover - compiled
    """Set bits of a 64-bit word (the SWAR sum, which the compiler turns into one instruction)."""
    w = w - ((w >> _ONE) & _M1)
    w = (w & _M2) + ((w >> np.uint64(2)) & _M2)
    w = (w + (w >> np.uint64(4))) & _M4
    return np.int64((w * _H01) >> np.uint64(56))


@numba.njit(cache=True, parallel=True, nogil=True)
def pack_rows(x, known):  # pragma: no cover - compiled
    """Each row's bookings for the neighbour walk: the CSR layout (``ptr``, ``cols``, ``vals``: for row i the
    columns it knows, ascending, and their values at ``ptr[i]:ptr[i + 1]``), the known mask as 64-bit words
    (``bits[i, w]``, bit t for column 64 w + t) and ``base[i, w]``, where word w's first booking sits in
    ``vals``."""
    n, m = x.shape
    nw = (m + 63) // 64
    counts = np.zeros(n, dtype=np.int64)
    for i in numba.prange(n):
        c = 0
        for j in range(m):
            c += known[i, j]
        counts[i] = c
    ptr = np.zeros(n + 1, dtype=np.int64)
    for i in range(n):
        ptr[i + 1] = ptr[i] + counts[i]
    cols = np.empty(ptr[n], dtype=np.int64)
    vals = np.empty(ptr[n])
    bits = np.zeros((n, nw), dtype=np.uint64)
    base = np.empty((n, nw), dtype=np.int64)
    for i in numba.prange(n):
        p = ptr[i]
        for j in range(m):
            if j & 63 == 0:
                base[i, j >> 6] = p
            if known[i, j]:
                cols[p] = j
                vals[p] = x[i, j]
                bits[i, j >> 6] |= _ONE << np.uint64(j & 63)
                p += 1
    return ptr, cols, vals, bits, base


@numba.njit(cache=True, inline="always")
def _vote_one(c, j, dj, inv, v, q, weighting, num, den, zero, keep, cell_of, slot_idx, slot_dist,
              slot_val):  # pragma: no cover - compiled
    """Column c's (q+1)-th donor j, at distance dj (``inv`` = 1 / dj), with booking v, into the running sums.
    Uniform and rank weighting sum only the weighted bookings: the weights' sum depends on the count alone
    (:func:`_weight_sums`). With ``keep``, the donor's slot q of ``cell_of[c]`` gets its distance, and its
    index and booking where those arrays have rows."""
    if weighting == 2:  # only the donors at distance 0 when there are any: they come first, the walk nearest first
        if q == 0:
            zero[c] = dj == 0.0
        wt = 1.0 if dj == 0.0 else (0.0 if zero[c] else inv)
        num[c] += wt * v
        den[c] += wt
    elif weighting == 1:
        num[c] += (1.0 / (q + 1)) * v
    else:
        num[c] += v
    if keep:
        s = cell_of[c]
        slot_dist[s, q] = dj
        if slot_idx.shape[0] > 0:
            slot_idx[s, q] = j
        if slot_val.shape[0] > 0:
            slot_val[s, q] = v


@numba.njit(cache=True)
def _weight_sums(weighting, k):  # pragma: no cover - compiled
    """The sum of the first n weights, n = 0..k, of uniform (0) or rank (1) weighting, added in walk order
    (so the same floats as a running sum per cell)."""
    sums = np.zeros(k + 1)
    for n in range(1, k + 1):
        sums[n] = sums[n - 1] + (1.0 if weighting == 0 else 1.0 / n)
    return sums


@numba.njit(cache=True, inline="always")
def _step(j, dj, ptr, cols, vals, bits, base, k, weighting, openw, remaining, cnt, num, den, zero, cell_of,
          slot_idx, slot_dist, slot_val):  # pragma: no cover - compiled
    """One step of a walk (:func:`_walk`): neighbour j, at distance dj, gives each open column it booked a
    donor. Returns the open columns left."""
    nw = openw.size
    keep = slot_dist.shape[0] > 0
    inv = 1.0 / dj if dj != 0.0 else 1.0
    p0 = ptr[j]
    p1 = ptr[j + 1]
    if p1 - p0 < nw:
        for p in range(p0, p1):
            c = cols[p]
            wd = c >> 6
            low = _ONE << np.uint64(c & 63)
            if openw[wd] & low:
                q = cnt[c]
                _vote_one(c, j, dj, inv, vals[p], q, weighting, num, den, zero, keep, cell_of, slot_idx,
                          slot_dist, slot_val)
                cnt[c] = q + 1
                if q + 1 == k:
                    openw[wd] ^= low
                    remaining -= 1
        return remaining
    for wd in range(nw):
        g = bits[j, wd]
        h = g & openw[wd]
        if h == 0:
            continue
        at = base[j, wd]
        while h:
            low = h & (~h + _ONE)
            h ^= low
            below = low - _ONE
            c = wd * 64 + _popcount(below)
            q = cnt[c]
            _vote_one(c, j, dj, inv, vals[at + _popcount(g & below)], q, weighting, num, den, zero, keep,
                      cell_of, slot_idx, slot_dist, slot_val)
            cnt[c] = q + 1
            if q + 1 == k:
                openw[wd] ^= low
                remaining -= 1
    return remaining


@numba.njit(cache=True, inline="always")
def _walk(r, order, dsorted, ptr, cols, vals, bits, base, k, weighting, openw, remaining, cnt, num, den, zero,
          cell_of, slot_idx, slot_dist, slot_val):  # pragma: no cover - compiled
    """Walk row r's neighbours nearest first and give each open column (a bit of ``openw``) its first k
    donors, voting as they come (:func:`_vote_one`); ``cnt``/``num``/``den``/``zero`` are indexed by column.
    A step (:func:`_step`) finds the donors among the open columns a 64-column word at a time (``bits`` of
    the neighbour AND ``openw``), or, for a neighbour with fewer bookings than words, through its bookings.
    A column leaves ``openw`` at its k-th donor. Slots are written for ``cell_of[column]`` when
    ``slot_dist`` has rows. Returns True when the row's finite neighbours ran out (the walk stops there)."""
    for s in range(order.shape[1]):
        if remaining == 0:
            return False
        dj = dsorted[r, s]
        if not np.isfinite(dj):
            return True
        remaining = _step(order[r, s], dj, ptr, cols, vals, bits, base, k, weighting, openw, remaining, cnt, num,
                          den, zero, cell_of, slot_idx, slot_dist, slot_val)
    return False


@numba.njit(cache=True, parallel=True, nogil=True)
def scan_vote(order, dsorted, ptr, cols, vals, bits, base, cells, cell_ptr, cc, k,  # pragma: no cover
              weighting, pred, used, left, slot_idx, slot_dist):
    """For each row, walk its neighbours nearest first, give each of its blank cells the first k neighbours
    that have a value there, and vote as they come (the walk and the vote fused: no per-cell slots).

    ``ptr``/``cols``/``vals``/``bits``/``base``: the rows' bookings (:func:`pack_rows`);
    ``cells[cell_ptr[r]:cell_ptr[r + 1]]``: the cells of block row r, whose column is ``cc[cell]``.
    Weighting 0 uniform, 1 rank (1/i), 2 inverse distance (only the donors at distance 0 when there are
    any). Each cell's sums run over its donors in walk order, as :func:`vote` and the numpy path sum, so all
    give the same floats. Writes ``pred``, ``used`` and ``left`` (True where the walk ran out of steps
    before k donors; the row's finite neighbours running out is not that); ``slot_idx``/``slot_dist`` are
    filled too when they have a row per cell (pass (0, k) arrays to skip them).
    """
    b = cell_ptr.size - 1
    nw = bits.shape[1]
    m = nw * 64
    sums = _weight_sums(weighting, k)
    no_val = np.empty((0, 1))
    for r in numba.prange(b):
        lo = cell_ptr[r]
        hi = cell_ptr[r + 1]
        if lo == hi:
            continue
        openw = np.zeros(nw, dtype=np.uint64)
        cnt = np.empty(m, dtype=np.int64)
        num = np.empty(m)
        den = np.empty(m if weighting == 2 else 0)
        zero = np.empty(m if weighting == 2 else 0, dtype=np.bool_)
        cell_of = np.empty(m, dtype=np.int64)
        for t in range(lo, hi):
            c = cc[cells[t]]
            openw[c >> 6] |= _ONE << np.uint64(c & 63)
            cnt[c] = 0
            num[c] = 0.0
            if weighting == 2:
                den[c] = 0.0
            cell_of[c] = cells[t]
        exhausted = _walk(r, order, dsorted, ptr, cols, vals, bits, base, k, weighting, openw, hi - lo, cnt, num,
                          den, zero, cell_of, slot_idx, slot_dist, no_val)
        for t in range(lo, hi):
            cell = cells[t]
            c = cc[cell]
            n = cnt[c]
            used[cell] = n
            if n > 0:
                pred[cell] = num[c] / (den[c] if weighting == 2 else sums[n])
            if n < k and not exhausted:
                left[cell] = True
    return 0


@numba.njit(cache=True, parallel=True, nogil=True)
def scan_fill(order, dsorted, ptr, cols, vals, bits, base, lo, want, k, weighting, pred,  # pragma: no cover
              left):
    """:func:`scan_vote` for every blank of rows ``lo .. lo + len(order)`` in the columns ``want`` (64-bit
    words, as ``bits``), reading and writing the matrix itself: ``pred[lo + r, c]`` gets the vote of each
    cell with a donor, ``left[r, c]`` is set where the walk ran out of steps before k donors. The same
    walk, so the same floats."""
    b = order.shape[0]
    nw = bits.shape[1]
    sums = _weight_sums(weighting, k)
    no_cells = np.empty(0, dtype=np.int64)
    no_idx = np.empty((0, 1), dtype=np.int32)
    no_dist = np.empty((0, 1))
    for r in numba.prange(b):
        i = lo + r
        openw = np.empty(nw, dtype=np.uint64)
        remaining = 0
        for wd in range(nw):
            openw[wd] = ~bits[i, wd] & want[wd]
            remaining += _popcount(openw[wd])
        if remaining == 0:
            continue
        cnt = np.zeros(nw * 64, dtype=np.int64)
        num = np.zeros(nw * 64)
        den = np.zeros(nw * 64 if weighting == 2 else 0)
        zero = np.empty(nw * 64 if weighting == 2 else 0, dtype=np.bool_)
        first = openw.copy()
        exhausted = _walk(r, order, dsorted, ptr, cols, vals, bits, base, k, weighting, openw, remaining, cnt, num,
                          den, zero, no_cells, no_idx, no_dist, no_dist)
        for wd in range(nw):
            h = first[wd]
            while h:
                low = h & (~h + _ONE)
                h ^= low
                c = wd * 64 + _popcount(low - _ONE)
                n = cnt[c]
                if n > 0:
                    pred[i, c] = num[c] / (den[c] if weighting == 2 else sums[n])
                if n < k and not exhausted:
                    left[r, c] = True
    return 0


@numba.njit(cache=True, inline="always")
def _before(av, ai, bv, bi):  # pragma: no cover - compiled
    return av < bv or (av == bv and ai < bi)


@numba.njit(cache=True, nogil=True)
def _sort_pairs(v, ix, n, limit):  # pragma: no cover - compiled
    """Put the ``limit`` smallest of v[:n] (with ix[:n] alongside) first, in order of (value, index): a
    quicksort that leaves alone the parts past ``limit``, insertion sort below 16 entries."""
    stack = np.empty(128, dtype=np.int64)
    top = 0
    lo, hi = 0, n - 1
    while True:
        if hi - lo < 16:
            for a in range(lo + 1, hi + 1):
                xv, xi = v[a], ix[a]
                e = a
                while e > lo and _before(xv, xi, v[e - 1], ix[e - 1]):
                    v[e] = v[e - 1]
                    ix[e] = ix[e - 1]
                    e -= 1
                v[e] = xv
                ix[e] = xi
            if top == 0:
                return
            top -= 2
            lo, hi = stack[top], stack[top + 1]
            continue
        mid = (lo + hi) >> 1
        if _before(v[mid], ix[mid], v[lo], ix[lo]):
            v[mid], v[lo] = v[lo], v[mid]
            ix[mid], ix[lo] = ix[lo], ix[mid]
        if _before(v[hi], ix[hi], v[lo], ix[lo]):
            v[hi], v[lo] = v[lo], v[hi]
            ix[hi], ix[lo] = ix[lo], ix[hi]
        if _before(v[hi], ix[hi], v[mid], ix[mid]):
            v[hi], v[mid] = v[mid], v[hi]
            ix[hi], ix[mid] = ix[mid], ix[hi]
        pv, pi = v[mid], ix[mid]
        i, j = lo, hi
        while i <= j:
            while _before(v[i], ix[i], pv, pi):
                i += 1
            while _before(pv, pi, v[j], ix[j]):
                j -= 1
            if i <= j:
                v[i], v[j] = v[j], v[i]
                ix[i], ix[j] = ix[j], ix[i]
                i += 1
                j -= 1
        left, right = j > lo, i < hi and i < limit  # parts still to sort; entries between are in place
        if left and right:  # the larger part waits on the stack (at most log2(n) deep), the smaller goes on
            if j - lo > hi - i:
                stack[top], stack[top + 1] = lo, j
                lo = i
            else:
                stack[top], stack[top + 1] = i, hi
                hi = j
            top += 2
        elif left:
            hi = j
        elif right:
            lo = i
        elif top == 0:
            return
        else:
            top -= 2
            lo, hi = stack[top], stack[top + 1]


@numba.njit(cache=True, nogil=True)
def _select(a, q):  # pragma: no cover - compiled
    """The q-th smallest entry of ``a`` (0-based; ``a`` is reordered): quickselect."""
    lo, hi = 0, a.size - 1
    while lo < hi:
        p = a[(lo + hi) >> 1]
        i, j = lo, hi
        while i <= j:
            while a[i] < p:
                i += 1
            while a[j] > p:
                j -= 1
            if i <= j:
                a[i], a[j] = a[j], a[i]
                i += 1
                j -= 1
        if q <= j:
            hi = j
        elif q >= i:
            lo = i
        else:
            break
    return a[q]


@numba.njit(cache=True, nogil=True)
def _take_below(row, k, t, pos, val, r):  # pragma: no cover - compiled
    """The k smallest entries of ``row`` given ``t``, a value at least k entries do not exceed: those below
    it and the first ones equal to it, sorted by (value, position) into ``pos[r]``/``val[r]``. False (and
    nothing written) when fewer than k entries are at most ``t``."""
    below = 0
    at = 0
    for i in range(row.size):
        below += row[i] < t
        at += row[i] == t
    if below + at < k:
        return False
    ties = k - below
    cv = np.empty(below + max(0, min(at, ties)))
    ci = np.empty(cv.size, dtype=np.int64)
    c = 0
    for i in range(row.size):
        v = row[i]
        if v < t or (v == t and ties > 0):
            if v == t:
                ties -= 1
            cv[c] = v
            ci[c] = i
            c += 1
    _sort_pairs(cv, ci, c, k)
    for e in range(k):
        pos[r, e] = ci[e]
        val[r, e] = cv[e]
    return True


@numba.njit(cache=True, parallel=True, nogil=True)
def k_smallest(dist, k, pos, val):  # pragma: no cover - compiled
    """The twin of ``neighbors._k_smallest``: each row's k smallest entries by (value, position), into
    ``pos``/``val``. A threshold from a sample of the row (expected to leave about 1.5 k entries below it,
    else three times as many) picks the candidates, whose k smallest are then sorted; a threshold that
    leaves fewer than k is not used."""
    b, n = dist.shape
    step = max(1, n // 128)
    ns = (n + step - 1) // step
    rank = min(ns - 1, (3 * k * ns) // (2 * n) + 2)
    for r in numba.prange(b):
        row = dist[r]
        if 3 * k < n:
            sample = row[::step].copy()
            if _take_below(row, k, _select(sample, rank), pos, val, r):
                continue
            if _take_below(row, k, _select(sample, min(ns - 1, 3 * rank)), pos, val, r):
                continue
        if not _take_below(row, k, np.inf, pos, val, r):  # NaN entries (never distances): last, as numpy
            o = np.argsort(row, kind="mergesort")
            for e in range(k):
                pos[r, e] = o[e]
                val[r, e] = row[o[e]]
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
def check_values(values, low, high, known):  # pragma: no cover - compiled
    """The sales matrix's checks in one pass (the twin of the numpy steps in ``SalesMatrix``): ``known``
    gets where a value is not NaN; returns (how many values are finite, the flat index of the first value,
    row by row, whose size is above ``high`` or, not 0, below ``low``; -1 when none is)."""
    n, m = values.shape
    finite = np.zeros(n, dtype=np.int64)
    first = np.full(n, -1, dtype=np.int64)
    for i in numba.prange(n):
        count = 0
        bad = -1
        for j in range(m):
            v = values[i, j]
            known[i, j] = not np.isnan(v)
            count += np.isfinite(v)
            size = abs(v)
            if bad < 0 and (size > high or (size < low and size > 0)):
                bad = j
        finite[i] = count
        first[i] = bad
    for i in range(n):
        if first[i] >= 0:
            return finite.sum(), i * m + first[i]
    return finite.sum(), -1


@numba.njit(cache=True, parallel=True, nogil=True)
def centre(x, known, means, xc, sq, kf, k32):  # pragma: no cover - compiled
    """The operands of the matrix products in two passes over the rows (the twin of
    :func:`.distances._centred` and :func:`.distances._mask`): ``means`` gets each column's mean of its
    known values (0 where none), summed row by row from the first row's value (0 where unknown) as numpy's
    column sums add; ``xc`` the values less it (0 where unknown), ``sq`` their squares, ``kf``/``k32`` the
    known mask as float64/float32."""
    n, m = x.shape
    for jb in numba.prange((m + 63) // 64):
        j0 = jb * 64
        j1 = min(m, j0 + 64)
        total = np.zeros(j1 - j0)
        count = np.zeros(j1 - j0, dtype=np.int64)
        for i in range(n):
            for j in range(j0, j1):
                v = x[i, j] if known[i, j] else 0.0
                total[j - j0] = v if i == 0 else total[j - j0] + v
                count[j - j0] += known[i, j]
        for j in range(j0, j1):
            means[j] = total[j - j0] / count[j - j0] if count[j - j0] > 0 else 0.0
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
    the numpy steps. Rows go 32 at a time: their column of ``a`` is copied once into rows (read along the
    rows of ``a``), so the pass over a row reads memory in order and the compiler vectorizes it."""
    b, n = cross.shape
    rows = 32
    for ib in numba.prange((b + rows - 1) // rows):
        i0 = ib * rows
        i1 = min(b, i0 + rows)
        at = np.empty((i1 - i0, n))  # at[i - i0, j] = a[j, i]
        if symmetric:
            for j in range(n):
                for i in range(i0, i1):
                    at[i - i0, j] = a[j, i]
        v = np.empty(n)
        for i in range(i0, i1):
            for j in range(n):  # without branches
                s1 = a[i, j] + at[i - i0, j] if symmetric else a[i, j]
                sh = shared[i, j]
                f = m / np.float64(sh) if scaled else 1.0
                v[j] = s1 * f if scaled else s1
                d = s1 - cross[i, j] * 2.0
                d = 0.0 if d < 0.0 else d
                root = np.sqrt(d * f) if scaled else np.sqrt(d)
                cross[i, j] = np.inf if sh == 0 else root
            top = np.nan
            for j in range(n):
                if not np.isnan(v[j]) and (np.isnan(top) or v[j] > top):
                    top = v[j]
            scale[i] = top
    return 0


@numba.njit(cache=True, parallel=True, nogil=True)
def vote_many(slot_idx, slot_dist, xt, col, at, dest, codes, place, out):  # pragma: no cover - compiled
    """Every k and weighting at once from each cell's nearest donors (the twin of the numpy vote in
    ``NeighborModel._predict_cells_many``): ``out[dest[a], w, place[t]]`` is cell t's vote over its first
    ``at[a] + 1`` slots with weighting ``codes[w]`` (as :func:`vote`: running sums in slot order, so the same
    floats as the vote of that one k). ``at`` ascending; ``xt`` the matrix transposed, ``col`` each cell's
    column; ``place`` empty for cells in the order of the result. A cell's donors fill its first slots (-1
    after them), as the walk and the client-by-client search leave them."""
    ncell, k = slot_idx.shape
    na = at.size
    nw = codes.size
    tile = 256  # cells voted into a buffer, then written out a contiguous run per (k, weighting)
    rank = np.empty(k)  # rank weights, as the walk computes them
    for q in range(k):
        rank[q] = 1.0 / (q + 1)
    for b in numba.prange((ncell + tile - 1) // tile):
        t0 = b * tile
        t1 = min(ncell, t0 + tile)
        buf = np.empty((t1 - t0, nw, na))  # a cell's votes side by side, then copied out a run per (k, weighting)
        val = np.empty(k)  # a cell's donors' bookings and distances, read once for every weighting
        dist0 = np.empty(k)
        votes = np.empty(k)
        for t in range(t0, t1):
            c = col[t]
            nq = 0  # the cell's donors fill its first slots
            while nq < k and slot_idx[t, nq] >= 0:
                d = slot_dist[t, nq]
                val[nq] = xt[c, slot_idx[t, nq]]
                dist0[nq] = d
                nq += 1
            for w in range(nw):
                _running(val, dist0, nq, codes[w], rank, votes)
                for a in range(na):  # past the last donor the sums stay
                    buf[t - t0, w, a] = votes[min(at[a], nq - 1)] if nq > 0 else np.nan
        for a in range(na):
            for w in range(nw):
                if place.size == 0:
                    for t in range(t0, t1):
                        out[dest[a], w, t] = buf[t - t0, w, a]
                else:
                    for t in range(t0, t1):
                        out[dest[a], w, place[t]] = buf[t - t0, w, a]
    return 0


@numba.njit(cache=True, inline="always")
def _gather(row, t, v, ix):  # pragma: no cover - compiled
    """The finite entries of ``row`` at most ``t`` into v (their positions into ix), in order, without
    branches; returns how many."""
    c = 0
    for j in range(row.size):
        d = row[j]
        v[c] = d
        ix[c] = j
        c += d <= t and d < np.inf
    return c


@numba.njit(cache=True, inline="always")
def _count_finite(row):  # pragma: no cover - compiled
    c = 0
    for j in range(row.size):
        c += row[j] < np.inf
    return c


@numba.njit(cache=True, parallel=True, nogil=True)
def scan_score(dist, tol, cap, reach, ptr, cols, vals, bits, base, cells, cell_ptr, cc, truth, codes, chunk, sse,
               sae, status):  # pragma: no cover - compiled
    """The tuner's walk: :func:`scan_vote`'s walk to each cell's first k = ``sse.shape[1]`` donors, then,
    instead of predictions, the errors of every k' = 1..k and weighting ``codes[w]`` against ``truth[cell]``:
    ``sse[h, k' - 1, w]`` / ``sae[h, k' - 1, w]`` sum the squared / absolute errors of the cells of rows
    ``h * chunk .. (h + 1) * chunk``, row by row and cell by cell in order (fixed chunks: the same floats on
    any number of threads; a cell's error added for every k' in the same order, so settings that predict
    the same give the same sums). A cell's vote is :func:`vote_many`'s: running sums over its donors in walk
    order, the last one's for k' past its donors.

    Each row's neighbours come from its row of ``dist`` (the finite ones), sorted only as far as the walk
    goes (:func:`_sort_pairs`, a part at a time: first about ``reach[r]``, the steps row r is expected to
    take), and the walk takes at most ``cap`` steps. ``status[cell]``: 0 scored, 1 no donor (none left to find), 2 not scored: the walk took ``cap`` steps
    short of k donors while the row has more neighbours, 4 not scored: two of the row's neighbours walked
    (or the next one) are closer than the rounding bound of the squared distances (``tol[r]``, when ``tol``
    has rows: the matrix-product metrics), so the row's distances are to be recomputed exactly."""
    b = cell_ptr.size - 1
    n = dist.shape[1]
    nwd = bits.shape[1]
    m = nwd * 64
    k = sse.shape[1]
    rank = np.empty(k)
    for q in range(k):
        rank[q] = 1.0 / (q + 1)
    no = np.empty(0)
    no_idx = np.empty((0, 1), dtype=np.int64)
    no_zero = np.empty(0, dtype=np.bool_)
    step = max(1, n // 128)
    for h in numba.prange((b + chunk - 1) // chunk):
        r0 = h * chunk
        r1 = min(b, r0 + chunk)
        most = 0
        for r in range(r0, r1):
            most = max(most, cell_ptr[r + 1] - cell_ptr[r])
        if most == 0:
            continue
        openw = np.empty(nwd, dtype=np.uint64)
        cnt = np.empty(m, dtype=np.int64)
        num = np.empty(m)
        cell_of = np.empty(m, dtype=np.int64)
        sdist = np.empty((most, k))
        sval = np.empty((most, k))
        votes = np.empty(k)
        v = np.empty(n)
        ix = np.empty(n, dtype=np.int64)
        for r in range(r0, r1):
            lo = cell_ptr[r]
            hi = cell_ptr[r + 1]
            if lo == hi:
                continue
            openw[:] = 0
            for t in range(lo, hi):
                c = cc[cells[t]]
                openw[c >> 6] |= _ONE << np.uint64(c & 63)
                cnt[c] = 0
                num[c] = 0.0
                cell_of[c] = t - lo
            # the walk's neighbours sorted as far as it goes: those within a threshold taken from a sample of
            # the row, expected to hold a quarter more than ``reach[r]`` (the steps the row is expected to
            # need), then, if the walk goes past them, every finite one
            want = min(reach[r], n)
            th = np.inf
            if 2 * want < n:
                sample = dist[r, ::step].copy()
                th = _select(sample, min(sample.size - 1, (5 * want * sample.size) // (4 * n) + 2))
            nf = _gather(dist[r], th, v, ix)
            if nf < want and th < np.inf:
                th = np.inf
                nf = _gather(dist[r], th, v, ix)
            ns = min(nf, want)  # sorted so far
            _sort_pairs(v, ix, nf, ns)
            total = nf if th == np.inf else -1  # the finite neighbours, once known
            remaining = hi - lo
            near = False
            s = 0
            while remaining > 0 and s < cap:
                if s + 1 >= ns and (ns < nf or total < 0):  # sort on, one ahead (for the near-tie check)
                    if ns < nf:
                        more = min(nf, 2 * ns + 2)
                        _sort_pairs(v[ns:], ix[ns:], nf - ns, more - ns)
                    else:  # past the threshold: every finite neighbour, sorted again from the start
                        nf = _gather(dist[r], np.inf, v, ix)
                        total = nf
                        more = min(nf, 2 * ns + 2)
                        _sort_pairs(v, ix, nf, more)
                    ns = more
                if s >= ns:  # no finite neighbour left
                    break
                if tol.size and s > 0 and v[s] * v[s] - v[s - 1] * v[s - 1] <= 2 * tol[r]:
                    near = True
                    break
                remaining = _step(ix[s], v[s], ptr, cols, vals, bits, base, k, 0, openw, remaining, cnt, num, no,
                                  no_zero, cell_of, no_idx, sdist, sval)
                s += 1
            if tol.size and not near and 0 < s < ns:  # the next one may not pass the last one walked
                near = v[s] * v[s] - v[s - 1] * v[s - 1] <= 2 * tol[r]
            if total < 0 and remaining > 0:  # how many finite neighbours there are (the walk stopped at cap)
                total = _count_finite(dist[r])
            for t in range(lo, hi):
                cell = cells[t]
                c = cc[cell]
                nq = cnt[c]
                if near:
                    status[cell] = 4
                elif nq < k and cap < total:
                    status[cell] = 2
                elif nq == 0:
                    status[cell] = 1
                else:
                    status[cell] = 0
                    _score_cell(sval[t - lo], sdist[t - lo], nq, truth[cell], codes, rank, votes, sse[h], sae[h])
    return 0


@numba.njit(cache=True, inline="always")
def _weight(code, q, zero, d, rank):  # pragma: no cover - compiled
    """The weight of a cell's (q+1)-th donor, at distance d: uniform (code 0), rank (1, ``rank[q]``) or
    inverse distance (2; only the donors at distance 0 when the cell has any: ``zero``)."""
    if code == 0:
        return 1.0
    if code == 1:
        return rank[q]
    if zero:
        return 1.0 if d == 0.0 else 0.0
    return 1.0 / d


@numba.njit(cache=True, inline="always")
def _running(val, dist, nq, code, rank, votes):  # pragma: no cover - compiled
    """``votes[q]``: the vote of a cell's first q + 1 donors (bookings ``val``, distances ``dist``, nearest
    first, ``nq`` of them) weighted by ``code`` (:func:`_weight`): running sums in donor order, so the same
    floats as the vote of that one k."""
    zero = nq > 0 and dist[0] == 0.0
    num = 0.0
    den = 0.0
    for q in range(nq):
        wt = _weight(code, q, zero, dist[q], rank)
        num += wt * val[q]
        den += wt
        votes[q] = num / den


@numba.njit(cache=True, inline="always")
def _score_cell(val, dist, nq, y, codes, rank, votes, sse, sae):  # pragma: no cover - compiled
    """One cell's errors against ``y`` for every k' = 1..len(sse) and weighting ``codes[w]``, added to
    ``sse[k' - 1, w]`` / ``sae[k' - 1, w]``: the vote of its first k' donors (:func:`_running`; ``nq`` > 0 of
    them), as :func:`vote_many` takes it, the vote of all ``nq`` past them."""
    k = sse.shape[0]
    for w in range(codes.size):
        _running(val, dist, nq, codes[w], rank, votes)
        for q in range(k):
            e = votes[min(q, nq - 1)] - y
            sse[q, w] += e * e
            sae[q, w] += abs(e)


@numba.njit(cache=True, parallel=True, nogil=True)
def select_score(dist, cr, cc, cell_ptr, col_ptr, col_rows, col_vals, truth, codes, chunk, tol,
                 sse, sae, status):  # pragma: no cover - compiled
    """:func:`scan_score` by another road, for few cells per row: each cell's k = ``sse.shape[1]`` nearest
    donors picked from its column's (``col_ptr``/``col_rows``/``col_vals``, rows ascending) by their
    distances ``dist[cr[cell], row]`` (finite ones), by (distance, row), then scored as there (the same
    sums, in the same order). ``cell_ptr``: the cells of rows ``r`` at ``cell_ptr[r]:cell_ptr[r + 1]``.
    ``status[cell]``: 0 scored, 1 no donor, 3 not scored: two of its k + 1 nearest are closer than the
    rounding bound of the squared distances (``tol[r]``, when ``tol`` has rows: the matrix-product metrics),
    to be recomputed exactly."""
    b = cell_ptr.size - 1
    k = sse.shape[1]
    rank = np.empty(k)
    for q in range(k):
        rank[q] = 1.0 / (q + 1)
    most = 0
    for c in range(col_ptr.size - 1):
        most = max(most, col_ptr[c + 1] - col_ptr[c])
    n = dist.shape[1]
    step = max(1, n // 128)
    big = np.finfo(np.float64).max
    for h in numba.prange((b + chunk - 1) // chunk):
        r0 = h * chunk
        r1 = min(b, r0 + chunk)
        if cell_ptr[r0] == cell_ptr[r1]:
            continue
        v = np.empty(most)
        ix = np.empty(most, dtype=np.int64)
        val = np.empty(k)
        votes = np.empty(k)
        for r in range(r0, r1):
            row = dist[r]
            sample = np.sort(row[::step])  # the row's distances, a sample in order: each cell's first guess of
            ns = sample.size               # how far its k + 1 nearest donors reach
            for t in range(cell_ptr[r], cell_ptr[r + 1]):
                c = cc[t]
                p0 = col_ptr[c]
                p1 = col_ptr[c + 1]
                # a threshold about 1.5 times as far into the row as k + 1 of the client's donors should reach,
                # then every distance (the largest finite double: every finite one) when it leaves too few
                at = (3 * (k + 1) * ns) // (2 * max(1, p1 - p0)) + 2
                guess = sample[at] if at < ns else big
                if not guess <= big:  # inf or NaN
                    guess = big
                for attempt in range(2):
                    nq = 0
                    for p in range(p0, p1):  # without branches
                        d = row[col_rows[p]]
                        v[nq] = d
                        ix[nq] = p
                        nq += d <= guess
                    if nq >= k + 1 or guess == big:
                        break
                    guess = big
                if nq == 0:
                    status[t] = 1
                    continue
                want = min(k + 1, nq)
                _sort_pairs(v, ix, nq, want)
                if tol.size:
                    near = False
                    for q in range(want - 1):
                        if v[q + 1] * v[q + 1] - v[q] * v[q] <= 2 * tol[r]:
                            near = True
                    if near:
                        status[t] = 3
                        continue
                status[t] = 0
                nq = min(nq, k)
                for q in range(nq):
                    val[q] = col_vals[ix[q]]
                _score_cell(val, v, nq, truth[t], codes, rank, votes, sse[h], sae[h])
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
