"""Hostile files at the file level (issue 11): pipes and devices, encrypted workbooks, XML entity attacks in
any part, a full disk, and kill -9 in the middle of a write or of a batch.

Commands that could hang run in a subprocess with a generous timeout, so that a hang fails the test instead of
blocking the suite; nothing here asserts how long anything took.
"""

import errno
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pytest
from corpus import laughs, rewrite

from xlrec.cli import main

HANG = 60  # seconds: far more than any of these commands takes; reaching it means the command hung
PIPE_ARGS = ["--salesperson", "Salesperson", "--client", "Client", "--amount", "Amount"]


def run_python(code, *args, timeout=HANG, **kw):
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, **kw)


# every command that reads a file, run through main() in one subprocess: (name, argv with {} for the path)
COMMANDS = {
    "fill": ["fill", "{}", "-o", "{out}/out.xlsx"],
    "predict": ["predict", "{}", "Alyssa", "Staples"],
    "convert": ["convert", "{}", "-o", "{out}/out.xlsx"],
    "pivot": ["pivot", "{}", *PIPE_ARGS, "-o", "{out}/out.xlsx"],
    "batch": ["batch", "{}", "-o", "{out}/batch", "-j", "1", "-q"],
}

RUN_COMMANDS = """
import contextlib, io, json, sys
from xlrec.cli import main
path, out, commands = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
results = {}
for name, argv in commands.items():
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        rc = main([a.replace("{}", path).replace("{out}", out) for a in argv])
    results[name] = [rc, err.getvalue()]
print(json.dumps(results))
"""


def run_commands(path, out, commands=COMMANDS):
    done = run_python(RUN_COMMANDS, path, out, json.dumps(commands))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are a POSIX thing")
@pytest.mark.parametrize("kind", ["fifo", "urandom"])
def test_a_pipe_or_a_device_is_refused_without_reading_it(kind, tmp_path):
    if kind == "fifo":
        path = tmp_path / "book.xlsx"
        os.mkfifo(path)  # nobody ever writes to it: opening it for reading waits for ever
        what = "a named pipe"
    else:
        if not Path("/dev/urandom").exists():
            pytest.skip("no /dev/urandom")
        path = tmp_path / "book.xlsx"
        path.symlink_to("/dev/urandom")  # endless bytes: reading it never ends
        what = "a character device"
    out = tmp_path / "out"
    out.mkdir()
    line = f"xlrec: error: {path}: is not a regular file ({what}); give the path of a file saved on disk\n"
    results = run_commands(path, out)
    assert results == {name: [2, line] for name in COMMANDS}
    assert list(out.iterdir()) == []  # nothing written


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are a POSIX thing")
def test_a_pipe_named_csv_is_refused_by_pivot(tmp_path):
    path = tmp_path / "export.csv"
    os.mkfifo(path)
    results = run_commands(path, tmp_path, {"pivot": COMMANDS["pivot"]})
    assert results == {"pivot": [2, f"xlrec: error: {path}: is not a regular file (a named pipe); give the path "
                                    "of a file saved on disk\n"]}


def test_an_output_that_is_a_device_is_not_replaced(tmp_path, example_path, capsys):
    out = tmp_path / "out.xlsx"
    out.symlink_to(os.devnull)  # as root, renaming over it would replace /dev/null with a workbook
    assert main(["fill", str(example_path), "-o", str(out)]) == 2
    assert capsys.readouterr().err == f"xlrec: error: {out}: is not a regular file; give the name of a file to write\n"
    assert out.is_symlink() and Path(os.devnull).is_char_device()


ENCRYPTED = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # an OLE compound file, as Excel writes an encrypted workbook
             + b"\x00" * 16 + b"\x3e\x00\x03\x00\xfe\xff\x09\x00" + b"\x00" * 488)


@pytest.mark.parametrize("command", ["fill", "predict", "convert", "batch"])
def test_an_encrypted_workbook_is_named_as_one(command, tmp_path, capsys):
    path = tmp_path / "secret.xlsx"
    path.write_bytes(ENCRYPTED)
    out = tmp_path / "out"
    argv = [a.replace("{}", str(path)).replace("{out}", str(out)) for a in COMMANDS[command]]
    out.mkdir()
    assert main(argv) == (1 if command == "batch" else 2)
    err = capsys.readouterr().err
    assert err == (f"xlrec: error: {path}: is password-protected (encrypted), or an old Excel 97-2003 .xls file; "
                   "xlrec cannot read it: open it in Excel and save a copy as .xlsx without a password "
                   "(File > Info > Protect Workbook > Encrypt with Password: clear it)\n")


# billion laughs: ten to the ninth "lol"s from a few hundred bytes, in the part every package opens first
LAUGHS = laughs("Types", b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                         b'<Default Extension="rels" ContentType="&lol9;"/></Types>')


@pytest.mark.parametrize("part, data, problem", [
    ("[Content_Types].xml", LAUGHS,
     "declares a document type (DOCTYPE), which a workbook never does (an XML attack?)"),
    ("[Content_Types].xml", b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                            b'<Default Extension="rels"',
     "is not valid XML (unclosed token: line 1, column 76)"),  # <Default starts after 76 characters
    ("xl/_rels/workbook.xml.rels", LAUGHS.replace(b"Types", b"Relationships"),
     "declares a document type (DOCTYPE), which a workbook never does (an XML attack?)"),
])
@pytest.mark.parametrize("command", ["fill", "predict", "convert", "batch"])
def test_unsafe_or_broken_xml_in_any_part_is_one_line_naming_the_part(part, data, problem, command, tmp_path,
                                                                        capsys, example_path):
    path = rewrite(example_path, tmp_path / "laughs.xlsx", {part: data})
    out = tmp_path / "out"
    out.mkdir()
    argv = [a.replace("{}", str(path)).replace("{out}", str(out)) for a in COMMANDS[command]]
    assert main(argv) == (1 if command == "batch" else 2)
    assert capsys.readouterr().err == (f"xlrec: error: {path}: cannot be read as a workbook: its part {part} "
                                       f"{problem}; open it in Excel and save a copy, or ask its sender for a new "
                                       "one\n")
    assert [p.name for p in out.iterdir()] == (["batch"] if command == "batch" else [])


def bookings_csv(path, people=300, clients=60):
    lines = ["Salesperson,Client,Amount"]
    lines += [f"Person {i},Client {j},{(i * 7 + j * 13) % 1000}" for i in range(people) for j in range(clients)
              if (i + j) % 3]
    path.write_text("\n".join(lines) + "\n")
    return path


def big_workbook(path, people=300, clients=60):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Bookings"] + [f"Client {j}" for j in range(clients)])
    for i in range(people):
        ws.append([f"Person {i}"] + [None if (i + j) % 5 == 0 else (i * 7 + j * 13) % 1000 for j in range(clients)])
    wb.save(path)
    return path


@pytest.mark.parametrize("command", ["fill", "convert", "pivot"])
def test_a_full_disk_is_one_line_naming_the_output_and_leaves_no_temporary_file(command, tmp_path, capsys,
                                                                                example_path, monkeypatch):
    src = bookings_csv(tmp_path / "export.csv") if command == "pivot" else example_path
    out = tmp_path / "out.xlsx"
    argv = {"fill": ["fill", str(src), "-o", str(out)], "convert": ["convert", str(src), "-o", str(out)],
            "pivot": ["pivot", str(src), *PIPE_ARGS, "-o", str(out)]}[command]

    def full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")  # as a write to a full disk raises it: no file name

    monkeypatch.setattr(os, "replace", full)
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(argv) == 2
    assert capsys.readouterr().err == (f"xlrec: error: {out}: No space left on device (free some space on that disk, "
                                       "or write the output to another one)\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no output, no temporary file


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a file size limit as Linux applies it")
@pytest.mark.parametrize("command", ["fill", "convert", "pivot"])
def test_a_write_that_fails_half_way_prints_no_traceback(command, tmp_path):
    """A real write failing in the middle (the file size limit of ``ulimit -f``, which fails writes as a full
    disk does): openpyxl's half-written streams used to print "Exception ignored ... Traceback" when they were
    collected."""
    import resource

    src = bookings_csv(tmp_path / "export.csv") if command == "pivot" else big_workbook(tmp_path / "big.xlsx")
    out_dir, temp = tmp_path / "out", tmp_path / "temp"
    out_dir.mkdir()
    temp.mkdir()
    out = out_dir / "out.xlsx"
    argv = {"fill": ["fill", src, "-o", out], "convert": ["convert", src, "-o", out],
            "pivot": ["pivot", src, *PIPE_ARGS, "-o", out]}[command]
    limit = 32 * 1024  # every output here is several times larger

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    done = subprocess.run([sys.executable, "-m", "xlrec", *map(str, argv)], capture_output=True, text=True,
                          timeout=HANG, preexec_fn=small_files, env={**os.environ, "TMPDIR": str(temp)})
    assert (done.returncode, done.stderr) == (2, f"xlrec: error: {out}: File too large (the file is larger than "
                                                 "this system allows: write the output elsewhere)\n")
    assert list(out_dir.iterdir()) == []


# -- kill -9 ------------------------------------------------------------------------------------------------------

STOP_WHILE_WRITING = """
import sys
from xlrec.cli import main
from xlrec.io import splice

write = splice.Package.write

def write_then_wait(self, dst, *args, **kwargs):
    write(self, dst, *args, **kwargs)  # the whole output is in the temporary file, not yet renamed into place
    print(dst, flush=True)
    sys.stdin.read()  # wait here until killed

splice.Package.write = write_then_wait
main(sys.argv[1:])
"""


def readline(stream, timeout=HANG):
    ready, _, _ = select.select([stream], [], [], timeout)
    assert ready, "the command did not get to its write"
    return stream.readline()


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="kill -9 is a POSIX thing")
def test_kill_9_during_a_fill_leaves_a_temporary_file_the_next_run_removes(tmp_path, example_path):
    out = tmp_path / "out.xlsx"
    with subprocess.Popen([sys.executable, "-c", STOP_WHILE_WRITING, "fill", str(example_path), "-o", str(out)],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as proc:
        try:
            stale = Path(readline(proc.stdout).strip())
        finally:
            proc.kill()  # SIGKILL: no handler, no finally block runs
            proc.wait()
    assert sorted(p.name for p in tmp_path.iterdir()) == [stale.name]  # left behind, beside the output
    name = stale.name
    assert name.startswith(".out.xlsx.xlrec-") and name.endswith(".tmp") and f"-{proc.pid}-" in name
    host = name[len(".out.xlsx.xlrec-"):name.index(f"-{proc.pid}-")]
    # the temporary files of a process still running (this test's parent), and of another host (a shared
    # folder: its processes cannot be seen from here), stay
    running = tmp_path / f".other.xlsx.xlrec-{host}-{os.getppid()}-abcd1234.tmp"
    elsewhere = tmp_path / f".other.xlsx.xlrec-{host}x-{proc.pid}-abcd1234.tmp"
    running.write_bytes(b"")
    elsewhere.write_bytes(b"")

    assert main(["fill", str(example_path), "-o", str(tmp_path / "again.xlsx")]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["again.xlsx", running.name, elsewhere.name])


def descendants(pid):
    """The processes descended from ``pid``, from /proc: {pid: depth}."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            children.setdefault(int(stat[stat.rindex(")") + 2:].split()[1]), []).append(int(entry))
    found, todo = {}, [(pid, 0)]
    while todo:
        parent, depth = todo.pop()
        for child in children.get(parent, []):
            found[child] = depth + 1
            todo.append((child, depth + 1))
    return found


def running(pid):
    """Whether ``pid`` is a process that has not exited (a zombie waiting for its parent has)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the worker processes in /proc")
def test_kill_9_of_a_batch_ends_its_workers(tmp_path, example_path):
    inbox = tmp_path / "in"
    inbox.mkdir()
    for i in range(200):
        shutil.copy(example_path, inbox / f"book{i:03}.xlsx")
    proc = subprocess.Popen([sys.executable, "-m", "xlrec", "batch", str(inbox), "-o", str(tmp_path / "out"),
                             "-j", "2", "-q"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + HANG
        while not any(depth >= 2 for depth in descendants(proc.pid).values()):  # a worker (the forkserver's child)
            assert proc.poll() is None, "the batch ended before a worker started: give it more workbooks"
            assert time.monotonic() < deadline, "no worker process started"
            time.sleep(0.05)
        family = descendants(proc.pid)
        assert proc.poll() is None, "the batch ended before it could be killed: give it more workbooks"
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + HANG
    while any(running(pid) for pid in family) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [pid for pid in family if running(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)  # not to leave them running after the test
    assert left == []
