"""Compiled kernels (numba), used when numba is installed: a plain ``pip install xlrec`` brings it wherever
numba has wheels (an environment marker leaves it out of Pyodide, where xlwings Lite runs the pure path).

Each kernel (in :mod:`._kernels`) has a pure-numpy twin in :mod:`.distances` / :mod:`.neighbors` that gives
the same results (same neighbours, same summation order); the tests run both. numba is imported, and the
kernels loaded from its cache, only when a matrix is large enough for them to pay off (:data:`MIN_CELLS`):
loading them costs about half a second per process, more than a small matrix takes in numpy. Set the
environment variable ``XLREC_ACCELERATE=0`` (or call :func:`set_enabled`) to use the pure-numpy path always.
"""

from __future__ import annotations

import importlib.util
import os

__all__ = ["available", "enabled", "use_for", "set_enabled", "set_threads", "MIN_CELLS"]

#: matrices with fewer cells (salespeople x clients) run on numpy: faster than loading the kernels
MIN_CELLS = 100_000

_available = importlib.util.find_spec("numba") is not None  # the core must run where only numpy and scipy exist
_enabled = _available and os.environ.get("XLREC_ACCELERATE", "1") != "0"
_threads = None
_KERNELS = ("columnwise", "pack_rows", "scan_vote", "scan_fill", "k_smallest", "nearest_donors", "vote", "vote_many",
            "finish_products", "check_values", "centre", "transport", "scan_score",
            "select_score")


def available() -> bool:
    return _available


def enabled() -> bool:
    return _enabled


def use_for(n_cells: int) -> bool:
    """Whether a matrix of ``n_cells`` cells runs on the compiled kernels."""
    return _enabled and n_cells >= MIN_CELLS


def set_enabled(flag: bool) -> bool:
    """Turn the compiled kernels on or off; returns the previous setting."""
    global _enabled
    previous = _enabled
    _enabled = bool(flag) and _available
    return previous


def set_threads(n):
    """Threads the compiled kernels may use (for processes that each fill one workbook beside others),
    applied when they load; None for all. Returns the previous setting."""
    global _threads
    previous, _threads = _threads, (None if n is None else max(1, int(n)))
    if "numba" in globals():
        _apply_threads()
    return previous


def _apply_threads():
    limit = numba.config.NUMBA_NUM_THREADS
    numba.set_num_threads(limit if _threads is None else min(_threads, limit))


def __getattr__(name):  # PEP 562: the kernels, and numba, load on first use
    if name in _KERNELS or name == "numba":
        global numba
        import numba

        from . import _kernels

        _apply_threads()
        for kernel in _KERNELS:
            globals()[kernel] = getattr(_kernels, kernel)
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
