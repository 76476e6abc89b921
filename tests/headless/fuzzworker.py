"""A process that runs xlrec's command line over and over, for the fuzz tests: one JSON line in (the argv), one
JSON line out (exit status, stdout, stderr, seconds, and the traceback of anything main() let escape).

It runs under the memory limit the test sets (RLIMIT_AS, in ``Worker``), and the test kills it when a case
takes longer than its time limit; a worker is far quicker than a new Python (and numpy, scipy, openpyxl) per
command.
"""

import contextlib
import io
import json
import os
import resource
import subprocess
import sys
import time
import traceback

LIMIT_BYTES = 2 << 30  # 2 GiB of address space
LIMIT_SECONDS = 10


def serve():
    from xlrec.cli import main

    for line in sys.stdin:
        argv = json.loads(line)
        out, err = io.StringIO(), io.StringIO()
        tb = None
        t = time.perf_counter()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                rc = main(argv)
        except SystemExit as exc:  # argparse
            rc = exc.code if isinstance(exc.code, int) else 2
        except BaseException:  # noqa: BLE001 - what escaped main() is the finding
            rc, tb = None, traceback.format_exc()
        seconds = time.perf_counter() - t
        sys.__stdout__.write(json.dumps({"rc": rc, "out": out.getvalue(), "err": err.getvalue(),
                                         "seconds": seconds, "traceback": tb}) + "\n")
        sys.__stdout__.flush()


class Worker:
    """A running :func:`serve` (started again after a case that killed it or ran out of time)."""

    def __init__(self):
        self.proc = None

    def _start(self):
        def limits():
            resource.setrlimit(resource.RLIMIT_AS, (LIMIT_BYTES, LIMIT_BYTES))

        here = os.path.dirname(os.path.abspath(__file__))
        env = {**os.environ, "PYTHONPATH": here + os.pathsep + os.environ.get("PYTHONPATH", ""),
               "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
        self.proc = subprocess.Popen([sys.executable, "-c", "import fuzzworker; fuzzworker.serve()"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, encoding="utf-8", preexec_fn=limits, env=env, bufsize=1)

    def run(self, argv, timeout=LIMIT_SECONDS):
        """``main(argv)`` in the worker: a dict as :func:`serve` writes it; ``rc`` is ``"timeout"`` past
        ``timeout`` seconds and ``"died"`` when the process died (its stderr in ``err``)."""
        import selectors

        if self.proc is None or self.proc.poll() is not None:
            self._start()
        proc = self.proc
        proc.stdin.write(json.dumps([str(a) for a in argv]) + "\n")
        proc.stdin.flush()
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            t = time.perf_counter()
            ready = sel.select(timeout + 1)  # + 1: the worker's own clock says how long main() took
        if not ready:
            self.close()
            return {"rc": "timeout", "out": "", "err": "", "seconds": time.perf_counter() - t, "traceback": None}
        line = proc.stdout.readline()
        if not line:
            err = proc.stderr.read()
            self.close()
            return {"rc": "died", "out": "", "err": err, "seconds": time.perf_counter() - t, "traceback": None}
        return json.loads(line)

    def close(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
                f.close()
            self.proc = None
