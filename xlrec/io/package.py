"""Look inside a workbook's zip package before openpyxl does: what kind of file it is, size caps, XML that
declares a document type (entity attacks), and what openpyxl would drop.

openpyxl loads and saves cells, styles, names, validation, conditional formats, merged cells, comments and
(with ``keep_vba``) macros, but drops drawings (images, shapes, charts), slicers, timelines, sparklines, form
and ActiveX controls, embedded objects, threaded comments, and the extension-list parts of conditional formats
and data validations. xlrec refuses such a workbook unless asked to go on (``--force``).
"""

from __future__ import annotations

import os
import stat
import xml.parsers.expat
import zipfile
import zlib
from pathlib import Path

from ..exceptions import InputError, WorkbookError

__all__ = ["check_package", "check_regular_file", "refusal", "MAX_UNCOMPRESSED", "MAX_RATIO"]

MAX_UNCOMPRESSED = 1 << 30  # 1 GiB unpacked at most
MAX_RATIO = 200  # a part that unpacks to more than 200 times its packed size (and over 10 MB) is a zip bomb

# part name prefix -> what a person calls it
_DROPPED_PARTS = {
    "xl/drawings/drawing": "drawings (images, shapes or charts)",  # not vmlDrawing: notes, which openpyxl keeps
    "xl/charts/": "charts",
    "xl/media/": "images",
    "xl/slicers/": "slicers",
    "xl/slicerCaches/": "slicers",
    "xl/timelines/": "timelines",
    "xl/timelineCaches/": "timelines",
    "xl/ctrlProps/": "form controls",
    "xl/activeX/": "ActiveX controls",
    "xl/embeddings/": "embedded objects",
    "xl/threadedComments/": "threaded comments",
    "xl/webextensions/": "Office add-in parts",
    "xl/model/": "a data model",
}
# markers inside worksheet XML of extension content openpyxl does not keep
_DROPPED_MARKERS = {
    b"sparklineGroup": "sparklines",
    b"x14:conditionalFormatting": "extended conditional formats",
    b"x14:dataValidation": "extended data validations",
}


# an OLE compound file: what Excel writes for a password-protected (encrypted) workbook, and an old .xls
OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

_KINDS = [(stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")]


def check_regular_file(path) -> Path:
    """Refuse what is not a regular file (a named pipe, a device such as /dev/urandom, a socket, or a link to
    one), without opening it: reading one may never end.

    Raises
    ------
    InputError
        Naming the path and what it is.
    """
    path = Path(path)
    try:
        mode = os.stat(path).st_mode  # follows links: a link to /dev/urandom is a device
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    if not stat.S_ISREG(mode):
        kind = next((what for test, what in _KINDS if test(mode)), "not a file")
        raise InputError(f"{path}: is not a regular file ({kind}); give the path of a file saved on disk")
    return path


def _xml_problem(stream, whole: bool):
    """Why the XML read from ``stream`` is unsafe or broken, or None: a document type declaration (entity
    expansion, as in billion laughs; a workbook never declares one), or (with ``whole``) XML that does not
    parse. Without ``whole`` reading stops at the root element: a declaration must come before it."""
    parser = xml.parsers.expat.ParserCreate()

    class _Root(Exception):
        pass

    def doctype(*args):
        raise ValueError("declares a document type (DOCTYPE), which a workbook never does (an XML attack?)")

    def root(*args):
        raise _Root

    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = doctype
    if not whole:
        parser.StartElementHandler = root
    try:
        while chunk := stream.read(1 << 20):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except _Root:
        return None
    except ValueError as exc:
        return str(exc)
    except xml.parsers.expat.ExpatError as exc:
        return f"is not valid XML ({exc})"
    return None


def _check_xml(path, z, info):
    """Refuse a part whose XML declares a document type or (content types, relationships and the workbook
    part, which the package editor reads with ElementTree while it writes) does not parse.

    Of the other parts only the prolog is read, where a declaration must be: they can be large (worksheets,
    shared strings), legacy drawings (VML) are often not well-formed, and a reader that finds them broken
    says so itself (the sheet readers, openpyxl through :func:`xlrec.io.workbook.load_workbook`).
    """
    name = info.filename
    lower = name.lower()
    if not lower.endswith((".xml", ".rels", ".vml")):
        return
    whole = lower == "[content_types].xml" or lower.endswith(".rels") or (
        lower.startswith("xl/workbook") and "/" not in lower[3:])
    with z.open(info) as f:
        problem = _xml_problem(f, whole)
    if problem is not None:
        raise WorkbookError(f"{path}: cannot be read as a workbook: its part {name} {problem}; open it in Excel "
                            "and save a copy, or ask its sender for a new one")


def check_package(path, *, force=False) -> list:
    """Check a workbook's package; return what openpyxl would drop (empty when nothing).

    Raises
    ------
    InputError
        For what is not a regular file (a pipe, a device), checked before the file is opened.
    WorkbookError
        For a password-protected workbook or an old .xls (an OLE compound file), a file that is not a zip, a
        corrupt one, one that would unpack to too much (zip bomb), one with XML that declares a document type
        or (in the parts read whole) does not parse; and, unless ``force``, for one holding what openpyxl
        would drop, naming it.
    """
    path = check_regular_file(path)
    with open(path, "rb") as f:
        head = f.read(len(OLE_SIGNATURE))
    if head == OLE_SIGNATURE:
        raise WorkbookError(f"{path}: is password-protected (encrypted), or an old Excel 97-2003 .xls file; xlrec "
                            "cannot read it: open it in Excel and save a copy as .xlsx without a password "
                            "(File > Info > Protect Workbook > Encrypt with Password: clear it)")
    if not zipfile.is_zipfile(path):
        raise WorkbookError(f"{path}: is not an Excel workbook (the file is not a zip package; "
                            "is it corrupt, or an old .xls renamed?)")
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
            total = 0
            for info in infos:
                total += info.file_size
                if info.file_size > 10_000_000 and info.file_size > MAX_RATIO * max(1, info.compress_size):
                    raise WorkbookError(f"{path}: the part {info.filename} would unpack to {info.file_size:,} "
                                        f"bytes from {info.compress_size:,} (a zip bomb?); refusing to open it")
            if total > MAX_UNCOMPRESSED:
                raise WorkbookError(f"{path}: would unpack to {total:,} bytes, more than xlrec's limit of "
                                    f"{MAX_UNCOMPRESSED:,}; refusing to open it")
            names = [i.filename for i in infos]
            if "[Content_Types].xml" not in names or not any(n.startswith("xl/workbook") for n in names):
                raise WorkbookError(f"{path}: is a zip file but not an Excel workbook (no xl/workbook part)")
            for info in infos:
                _check_xml(path, z, info)
            found = {}
            for name in names:
                for prefix, what in _DROPPED_PARTS.items():
                    if name.startswith(prefix):
                        found.setdefault(what, name)
            for name in names:
                if name.startswith("xl/worksheets/sheet") and name.endswith(".xml"):
                    data = z.read(name)
                    for marker, what in _DROPPED_MARKERS.items():
                        if marker in data:
                            found.setdefault(what, name)
    # damaged, cut short, an unknown compression method, an encrypted part
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
        raise WorkbookError(f"{path}: is not an Excel workbook or is damaged ({exc})") from exc
    dropped = [f"{what} ({part})" for what, part in found.items()]
    if dropped and not force:
        raise refusal(path, dropped)
    return dropped


def refusal(path, dropped) -> InputError:
    """The error for a workbook holding what openpyxl would drop (``dropped``, as :func:`check_package`
    lists it)."""
    return InputError(f"{path}: holds {', '.join(dropped)}, which would be lost in the output (openpyxl cannot "
                      "keep them); nothing was written. Use --force to write the output without them")
