"""Optional compiled kernels (numba), used when numba is installed: ``pip install xlrec[fast]``.

Each kernel here has a pure-numpy twin in :mod:`.distances` / :mod:`.neighbors` that gives the same results
(same neighbours, same summation order); the tests run both. Set the environment variable
``XLREC_ACCELERATE=0`` (or call :func:`set_enabled`) to use the pure-numpy path.
"""

from __future__ import annotations

import os

import numpy as np

try:  # numba is optional: the core must run where only numpy and scipy exist (xlwings Lite)
    import numba
except ImportError:  # pragma: no cover - exercised where numba is absent
    numba = None

__all__ = ["available", "enabled", "set_enabled"]

_enabled = numba is not None and os.environ.get("XLREC_ACCELERATE", "1") != "0"


def available() -> bool:
    return numba is not None


def enabled() -> bool:
    return _enabled


def set_enabled(flag: bool) -> bool:
    """Turn the compiled kernels on or off; returns the previous setting."""
    global _enabled
    previous = _enabled
    _enabled = bool(flag) and numba is not None
    return previous


if numba is not None:

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
    def scan(order, dsorted, known, cr, cc, cells, k, slot_idx, slot_dist):  # pragma: no cover - compiled
        """For each cell, walk its row's neighbours nearest first and keep the first k donors.

        Returns a mask over ``cells``: True where the prefix ran out before k donors were found.
        """
        left = np.zeros(cells.size, dtype=np.bool_)
        steps = order.shape[1]
        for t in numba.prange(cells.size):
            cell = cells[t]
            i = cr[cell]
            c = cc[cell]
            cnt = 0
            exhausted = False
            for s in range(steps):
                dj = dsorted[i, s]
                if not np.isfinite(dj):
                    exhausted = True
                    break
                j = order[i, s]
                if known[j, c]:
                    slot_idx[cell, cnt] = j
                    slot_dist[cell, cnt] = dj
                    cnt += 1
                    if cnt == k:
                        break
            left[t] = cnt < k and not exhausted
        return left
