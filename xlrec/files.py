"""Writing a file atomically: through a temporary file beside it and a rename, so that an interrupted run
leaves no partial file and the file it replaces as it was.

Used by every front end (workbooks, summaries, the add-in); needs neither openpyxl nor xlwings.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
from pathlib import Path

from .exceptions import InputError

__all__ = ["release_quietly", "remove_stale_temporaries", "save_text_atomic", "write_atomic"]


def _file_mode(path):
    """The mode of the file being replaced, or what the umask gives a new file."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


def write_atomic(path, write):
    """Call ``write(temporary path)`` for a file beside ``path``, then rename it into place; on any error
    the temporary file is removed and ``path`` is left as it was.

    The temporary file is named ``.{name}.xlrec-{host}-{pid}-XXXXXXXX.tmp``: a process killed outright (kill -9)
    cannot remove its own, so each run removes, once per folder, those left by processes of this host that no
    longer exist. An OSError without a file name (a full disk) is given ``path``'s.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"{path}: the folder {folder} does not exist")
    _check_output_file(path)
    tmp = _temporary(path, folder)
    try:
        os.chmod(tmp, _file_mode(path))  # mkstemp makes 0600; give the file the mode a plain save would
        write(tmp)
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.filename in (None, tmp):
            exc.filename = str(path)  # the user knows the output, not the temporary file
        release_quietly(exc)
        raise


def save_text_atomic(text: str, path) -> None:
    """Write a text file (UTF-8) through a temporary file and a rename (:func:`write_atomic`)."""

    def write(tmp):
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write(text)

    write_atomic(path, write)


_TEMPORARY = re.compile(r"\..*\.xlrec-([A-Za-z0-9-]+)-(\d+)-[a-z0-9_]+\.tmp", re.S)
_cleaned = set()  # folders this process has cleaned of stale temporary files


def _host():
    import socket

    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:40] or "host"


def _temporary(path: Path, folder: Path) -> str:
    """A new empty temporary file beside ``path``, named so that a later run can tell it is stale."""
    key = os.path.abspath(folder)
    if key not in _cleaned:
        _cleaned.add(key)
        remove_stale_temporaries(folder)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:120]}.xlrec-{_host()}-{os.getpid()}-", suffix=".tmp",
                               dir=folder)
    os.close(fd)
    return tmp


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: another user's process
        return True
    return True


def remove_stale_temporaries(folder) -> list:
    """Remove the temporary files that xlrec processes of this host killed before they could (kill -9, power
    cut while filling) left in ``folder``; return their paths. Those of running processes are left alone, and
    so are those of other hosts (a shared folder), whose processes cannot be seen from here."""
    removed = []
    host = _host()
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        m = _TEMPORARY.fullmatch(name)
        if m is None or m.group(1) != host or int(m.group(2)) == os.getpid() or _alive(int(m.group(2))):
            continue
        try:
            os.unlink(os.path.join(folder, name))
            removed.append(Path(folder) / name)
        except OSError:
            pass
    return removed


def _check_output_file(path: Path):
    """Refuse to replace what is not a regular file (a device such as /dev/null, a pipe, a folder)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return
    if not stat.S_ISREG(mode):
        what = "a folder" if stat.S_ISDIR(mode) else "not a regular file"
        raise InputError(f"{path}: is {what}; give the name of a file to write")


def release_quietly(exc: BaseException):
    """Let go of what the frames of ``exc``'s traceback hold, now, swallowing the errors that objects closed on
    the way raise. After a failed write (a full disk) openpyxl's half-written worksheet streams flush when
    they are collected; on a full disk that fails again, and Python prints "Exception ignored" with a traceback
    to stderr. The frames still running (the caller's) are left as they are."""
    import gc
    import sys
    import traceback

    hook = sys.unraisablehook

    def quiet(unraisable):
        if not isinstance(unraisable.exc_value, OSError):
            hook(unraisable)

    sys.unraisablehook = quiet
    try:
        traceback.clear_frames(exc.__traceback__)
        gc.collect()
    finally:
        sys.unraisablehook = hook
