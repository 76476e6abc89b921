"""``xlrec batch``: fill many workbooks, in parallel across workbooks.

A workbook that fails is reported with its reason and the batch goes on. A summary file (CSV or JSON) lists,
per workbook, the cells filled, the cells no neighbour could fill, the time taken and the error; text cells
that a spreadsheet would read as a formula are escaped, so the summary is safe to open in Excel.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import csv
import glob
import json
import multiprocessing as mp
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from ..exceptions import InputError, XlrecError
from ..files import save_text_atomic
from .package import check_regular_file
from .workbook import SUFFIXES, fill_workbook

__all__ = ["BatchItem", "expand_inputs", "run_batch", "write_summary", "default_jobs"]

EXTENSIONS = SUFFIXES


@dataclass
class BatchItem:
    """One workbook of a batch and what became of it."""

    input: str
    output: str
    status: str = "pending"  # "filled" or "failed"
    cells_filled: int = 0
    cells_not_fillable: int = 0
    seconds: float = 0.0
    range: str = ""
    error: str = ""


def default_jobs() -> int:
    """The number of cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _is_workbook(path: Path) -> bool:
    # "~$Book.xlsx" is the lock file Excel keeps beside an open workbook, not a workbook
    return path.suffix.lower() in EXTENSIONS and not path.name.startswith("~$")


def expand_inputs(inputs) -> list[Path]:
    """Files, folders (their .xlsx and .xlsm files) and glob patterns, in order, each file once."""
    found, seen = [], set()

    def add(p):
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            found.append(p)

    for text in inputs:
        path = Path(text)
        if path.is_dir():
            for p in sorted(path.iterdir()):
                if p.is_file() and _is_workbook(p):
                    add(p)
        elif path.is_file():
            if path.suffix.lower() not in EXTENSIONS:
                raise InputError(f"{path}: not an .xlsx or .xlsm workbook")
            add(path)
        elif path.exists():  # a pipe or a device: reading it may never end
            check_regular_file(path)
        elif glob.has_magic(text):
            matches = sorted(Path(m) for m in glob.glob(text, recursive=True))
            workbooks = [m for m in matches if m.is_file() and _is_workbook(m)]
            if not workbooks:
                raise InputError(f"{text}: no .xlsx or .xlsm workbook matches this pattern")
            for p in workbooks:
                add(p)
        else:
            raise InputError(f"{path}: no such file or folder")
    if not found:
        raise InputError("no .xlsx or .xlsm workbook to fill in " + ", ".join(map(str, inputs)))
    return found


def plan(inputs, outdir) -> list[BatchItem]:
    """Pair each input with its output in ``outdir``; refuse name clashes and outputs that are inputs."""
    outdir = Path(outdir)
    files = expand_inputs(inputs)
    by_name = {}
    items = []
    for p in files:
        out = outdir / p.name
        if out.name.casefold() in by_name:
            raise InputError(f"{p} and {by_name[out.name.casefold()]} would both be written to {out}; "
                             "fill them in separate batches or rename one")
        by_name[out.name.casefold()] = p
        if out.exists() and out.resolve() == p.resolve():
            raise InputError(f"{out}: is an input; xlrec never overwrites its input (choose another -o folder)")
        items.append(BatchItem(str(p), str(out)))
    return items


def fill_one(item: BatchItem, options: dict) -> BatchItem:
    """Fill one workbook; any failure is recorded on the item, never raised."""
    start = time.perf_counter()
    try:
        report = fill_workbook(item.input, item.output, **options)
        item.status = "filled"
        item.cells_filled = report.n_filled
        item.cells_not_fillable = report.n_unfilled
        item.range = report.range
    except XlrecError as exc:
        item.status, item.error = "failed", str(exc)
    except OSError as exc:
        item.status, item.error = "failed", f"{exc.filename or item.input}: {exc.strerror or exc}"
    except Exception as exc:  # noqa: BLE001 - one bad workbook must not stop the batch
        item.status, item.error = "failed", f"unexpected error ({type(exc).__name__}: {exc}); please report it"
    item.seconds = round(time.perf_counter() - start, 3)
    return item


def _init_worker(threads, parent_alive=None):
    from threadpoolctl import threadpool_limits

    from ..core import _accel

    if parent_alive is not None:
        _exit_with_parent(parent_alive)
    _accel.set_threads(threads)
    threadpool_limits(limits=threads)


def _exit_with_parent(parent_alive):
    """Make this worker exit when the process that runs the batch dies (``kill -9`` of ``xlrec batch``): left
    alone, a worker waiting for work would wait for ever, and so would the forkserver that started it.

    ``parent_alive`` is the reading end of a pipe whose only writing end the batch process holds: when that
    process dies, for whatever reason, the read ends (EOF), and a daemon thread here ends this process. That
    works on every system and with every start method; checking ``os.getppid()`` or the parent-death signal
    (Linux's ``prctl(PR_SET_PDEATHSIG)``) would not, because a worker's parent is the forkserver, which
    outlives the batch process as long as a worker lives. The parent-death signal is set as well, for the
    day the forkserver itself is killed. A temporary file the worker was writing is left behind, named with its
    process id, and the next run that writes into that folder removes it
    (:func:`xlrec.files.write_atomic`).
    """
    import signal
    import sys
    import threading

    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG = 1
        except (OSError, AttributeError):  # no prctl in this libc: the pipe alone does it
            pass

    def watch():
        try:
            parent_alive.recv_bytes()  # nothing is ever sent: this returns or raises when the writer is gone
        except (EOFError, OSError):
            pass
        os._exit(1)

    threading.Thread(target=watch, name="xlrec-exit-with-parent", daemon=True).start()


@contextlib.contextmanager
def _shared_cores(threads):
    """This process's thread pools (BLAS, OpenMP, the compiled kernels) get ``threads`` threads while it fills
    workbooks beside the workers: the cores are shared out between the processes. Without it its BLAS takes
    every core, and the idle threads spin against the workers'."""
    from threadpoolctl import threadpool_limits

    from ..core import _accel

    previous = _accel.set_threads(threads)
    try:
        with threadpool_limits(limits=threads):
            yield
    finally:
        _accel.set_threads(previous)


def run_batch(items, options, jobs=1, progress=None, on_done=None) -> list[BatchItem]:
    """Fill every item, ``jobs`` workbooks at a time; ``on_done(item)`` is called as each finishes."""
    done = []

    def finish(item):
        done.append(item)
        if on_done is not None:
            on_done(item)
        if progress is not None:
            progress.update(1)

    if jobs <= 1 or len(items) <= 1:
        for item in items:
            finish(fill_one(item, options))
        return done
    # this process fills workbooks too, from the end of the queue, while the jobs - 1 worker processes take
    # them from its start: it is ready at once, while a worker needs most of a second to start (numpy,
    # openpyxl), which on a batch of small workbooks is much of the time saved
    workers = min(jobs, len(items)) - 1
    threads = max(1, default_jobs() // (workers + 1))
    # forkserver, not fork: a parent that has run the compiled kernels holds an OpenMP runtime, and a forked
    # copy of it would be killed ("fork() called from a process already using GNU OpenMP")
    method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
    context = mp.get_context(method)
    # the workers read this pipe, which nothing is written to, to learn when this process dies (kill -9)
    parent_alive, alive = context.Pipe(duplex=False)
    with contextlib.closing(parent_alive), contextlib.closing(alive), _shared_cores(threads), \
            cf.ProcessPoolExecutor(max_workers=workers, mp_context=context,
                                   initializer=_init_worker, initargs=(threads, parent_alive)) as pool:
        futures = {pool.submit(fill_one, item, options): item for item in items}
        waiting = set(futures)

        def collect(ready):
            for future in ready:
                waiting.discard(future)
                try:
                    finish(future.result())
                except Exception as exc:  # noqa: BLE001 - a worker died (out of memory, killed)
                    item = futures[future]
                    item.status, item.error = "failed", f"the worker process filling it stopped ({exc})"
                    finish(item)

        try:
            for future in reversed(list(futures)):
                collect([f for f in waiting if f.done()])
                if future.cancel():  # not started by a worker yet: this process fills it
                    waiting.discard(future)
                    finish(fill_one(futures[future], options))
            collect(cf.as_completed(waiting))
        except KeyboardInterrupt:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    order = {item.input: n for n, item in enumerate(items)}
    return sorted(done, key=lambda item: order[item.input])


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def _safe_cell(value):
    """Text a spreadsheet would take for a formula gets a leading apostrophe (OWASP's CSV-injection advice)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def write_summary(items, path) -> Path:
    """The per-workbook summary as CSV, or JSON when ``path`` ends in .json."""
    path = Path(path)
    rows = [asdict(item) for item in items]
    if path.suffix.lower() == ".json":
        text = json.dumps(rows, indent=2) + "\n"
    else:
        import io

        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(asdict(BatchItem("", ""))), lineterminator="\r\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _safe_cell(v) for k, v in row.items()})
        text = buf.getvalue()
    save_text_atomic(text, path)
    return path
