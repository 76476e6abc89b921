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
    def columnwise(x, known, lo, hi, indptr, indices, supremum):  # pragma: no cover - compiled
        """Manhattan (sum) or supremum (max) of |a - b| over shared columns, rows lo..hi against all.

        ``indptr``/``indices``: for each column, the rows that know it (CSC layout). Sums run column by
        column in order, as the numpy path does, so both give the same floats.
        """
        n, m = x.shape
        out = np.zeros((hi - lo, n))
        for r in numba.prange(hi - lo):
            i = lo + r
            row = out[r]
            for c in range(m):
                if not known[i, c]:
                    continue
                xi = x[i, c]
                for p in range(indptr[c], indptr[c + 1]):
                    j = indices[p]
                    v = abs(xi - x[j, c])
                    if supremum:
                        if v > row[j]:
                            row[j] = v
                    else:
                        row[j] += v
        return out

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
