"""Look inside a workbook's zip package before openpyxl does: size caps, and what openpyxl would drop.

openpyxl loads and saves cells, styles, names, validation, conditional formats, merged cells, comments and
(with ``keep_vba``) macros, but drops drawings (images, shapes, charts), slicers, timelines, sparklines, form
and ActiveX controls, embedded objects, threaded comments, and the extension-list parts of conditional formats
and data validations. xlrec refuses such a workbook unless asked to go on (``--force``).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from ..exceptions import InputError, WorkbookError

__all__ = ["check_package", "refusal", "MAX_UNCOMPRESSED", "MAX_RATIO"]

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


def check_package(path, *, force=False) -> list:
    """Check a workbook's package; return what openpyxl would drop (empty when nothing).

    Raises
    ------
    WorkbookError
        For a package that is not a zip, is corrupt, or would unpack to too much (zip bomb); and, unless
        ``force``, for one holding what openpyxl would drop, naming it.
    """
    path = Path(path)
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
    except zipfile.BadZipFile as exc:
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
