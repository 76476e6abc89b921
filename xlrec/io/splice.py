"""Write filled cells into a copy of a workbook's package, changing nothing else.

openpyxl rebuilds every part of a workbook when it saves, which is slow on a large matrix (its note writer
alone takes seconds for tens of thousands of notes) and drops what it cannot read. :meth:`Package.write`
instead copies the package part by part and edits three things only, as text:

- the sheet's XML: the filled cells are put in (or replace empty cells) at their place in their row, and a
  ``legacyDrawing`` element points to the notes;
- ``styles.xml``: one fill and, for each style the filled cells had, a copy of it with that fill (and a number
  format with cents when it had none);
- the notes: a comments part and its VML drawing, their relationships and content types.

It applies only to a sheet without notes of its own (merging into existing note drawings is openpyxl's job);
:class:`Unsupported` says when, and the caller then writes through openpyxl. Every other part, images,
charts, slicers and macros included, is copied byte for byte.

:class:`Package` also reads a sheet in the same single pass over its XML (values as openpyxl reads them, and
the offsets the edit needs), so a plain sheet is filled without loading the workbook into openpyxl at all.
"""

from __future__ import annotations

import bisect
import io
import itertools
import posixpath
import re
import shutil
import tempfile
import xml.parsers.expat
import zipfile
from typing import NamedTuple
from xml.sax.saxutils import escape, quoteattr

from defusedxml import ElementTree
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format
from openpyxl.utils.cell import column_index_from_string, get_column_letter
from openpyxl.utils.datetime import from_excel

__all__ = ["Package", "Unsupported", "Cell", "Numbers", "CellRows"]

_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_CT = "http://schemas.openxmlformats.org/package/2006/content-types"
_COMMENTS_TYPE = _REL + "/comments"
_TABLE_TYPE = _REL + "/table"
_VML_TYPE = _REL + "/vmlDrawing"
_COMMENTS_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"
_WORKSHEET_TYPE = _REL + "/worksheet"
_WORKSHEET_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_VML_CT = "application/vnd.openxmlformats-officedocument.vmlDrawing"
_CENTS_FORMAT = 4  # the built-in "#,##0.00"
# what may follow legacyDrawing in a worksheet (CT_Worksheet's sequence)
_AFTER_LEGACY = {"legacyDrawingHF", "drawingHF", "picture", "oleObjects", "controls", "webPublishItems",
                 "tableParts", "extLst"}


class Unsupported(Exception):
    """The package cannot be edited in place; write it through openpyxl instead."""


class Cell(NamedTuple):
    """A cell to write: a number, a text or nothing (None), with xlrec's fill or without it (an earlier fill
    of xlrec's removed), maybe a note, and for a number the number format to show it with (a numFmtId; None:
    its own, or one with cents when its own is General)."""

    row: int
    col: int
    value: float | str | None
    fill: bool = True
    note: str | None = None
    fmt: int | None = None


def _local(name):
    return name.rsplit(":", 1)[-1]


def _prefix(name):
    return name.rsplit(":", 1)[0] + ":" if ":" in name else ""


def _start_tag(name, attrs, close="/>"):
    return f"<{name}" + "".join(f" {k}={quoteattr(v)}" for k, v in attrs.items()) + close


def _tag_end(data, start):
    """Offset just past the '>' of the start tag at ``start``, and whether the element is empty (``/>``)."""
    close = data.index(b">", start)
    return close + 1, data[close - 1:close] == b"/"


def _apply_to(f, data: bytes, edits) -> None:
    """Write ``data`` with each (start, end, text) edit applied to the file ``f``, as the edits come: they must
    come in the order of their offsets (a sheet's rows one after the other, so that they need not all be held
    at once); edits at one offset keep their order."""
    pos = 0
    chunk, size = [], 0
    for start, end, text in edits:
        if start < pos:
            raise Unsupported("the sheet's rows are not in order")
        chunk += [data[pos:start], text.encode("utf-8")]
        size += start - pos + len(text)
        pos = max(pos, end)
        if size > 1 << 20:
            f.write(b"".join(chunk))
            chunk, size = [], 0
    chunk.append(data[pos:])
    f.write(b"".join(chunk))


def _apply(data: bytes, edits) -> bytes:
    """``data`` with each (start, end, text) edit applied, in the order of their offsets."""
    out = io.BytesIO()
    _apply_to(out, data, sorted(edits, key=lambda e: (e[0], e[1])))
    return out.getvalue()


# -- the package's map ----------------------------------------------------------------------------------------


def _rels_path(part):
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def _target(base_part, target):
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(base_part), target))


def _parser(data):
    """An expat parser that refuses document type declarations (entity tricks): openpyxl, with defusedxml,
    then reports such a file."""
    parser = xml.parsers.expat.ParserCreate()

    def no_doctype(*args):
        raise Unsupported("a document type declaration")

    parser.StartDoctypeDeclHandler = no_doctype
    parser.buffer_text = True
    return parser


def _free_name(names, pattern):
    n = 1
    while pattern.format(n) in names:
        n += 1
    return pattern.format(n)


# -- styles -----------------------------------------------------------------------------------------------------


class _Styles:
    """styles.xml, read for what the new styles need, and edited as text."""

    def __init__(self, data: bytes, rgb: str = "FCE4D6"):
        self.data = data
        self.rgb = rgb.upper()
        self.formats = dict(BUILTIN_FORMATS)
        self.xfs = []  # (start, end, qualified name, attrs, empty)
        self.fills = self.cell_xfs = None  # (start, end of start tag, name, attrs, close offset)
        stack = []
        n_fills = [0]
        self.ours = set()  # the fills that are xlrec's colour
        parser = _parser(data)

        def start(name, attrs):
            local = _local(name)
            at = parser.CurrentByteIndex
            parent = stack[-1] if stack else None
            stack.append(local)
            if local == "numFmt":
                self.formats[int(attrs.get("numFmtId", "0"))] = attrs.get("formatCode", "")
            elif local in ("fills", "cellXfs") and parent == "styleSheet":
                end, empty = _tag_end(data, at)
                if empty:
                    raise Unsupported(f"styles.xml has an empty {local}")
                setattr(self, "cell_xfs" if local == "cellXfs" else "fills", [at, end, name, dict(attrs), None])
            elif local == "fill" and parent == "fills":
                n_fills[0] += 1
            elif local == "fgColor" and str(attrs.get("rgb", "")).upper().endswith(self.rgb):
                self.ours.add(n_fills[0] - 1)
            elif local == "xf" and parent == "cellXfs":
                end, empty = _tag_end(data, at)
                self.xfs.append([at, end, name, dict(attrs), empty])

        def end(name):
            local = stack.pop()
            at = parser.CurrentByteIndex
            if local == "xf" and stack and stack[-1] == "cellXfs" and not self.xfs[-1][4]:
                self.xfs[-1][1] = data.index(b">", at) + 1
            elif local in ("fills", "cellXfs") and len(stack) == 1:
                getattr(self, "cell_xfs" if local == "cellXfs" else "fills")[4] = at

        parser.StartElementHandler, parser.EndElementHandler = start, end
        parser.Parse(data, True)
        if self.fills is None or self.cell_xfs is None or not self.xfs or None in (self.fills[4],
                                                                                   self.cell_xfs[4]):
            raise Unsupported("styles.xml has no fills or cell formats to extend")
        #: cell formats that show dates: their numbers read as dates, as openpyxl reads them
        self.dates = {i for i, xf in enumerate(self.xfs)
                      if is_date_format(self.formats.get(int(xf[3].get("numFmtId", "0")), ""))}
        self.new_xfs = []
        self.made = {}
        self.fill_id = n_fills[0]  # the new fill's index: after the fills there are (whatever "count" says)

    def number_format(self, style: int) -> int:
        """The numFmtId of cell format ``style``."""
        xf = self.xfs[style] if 0 <= style < len(self.xfs) else self.xfs[0]
        return int(xf[3].get("numFmtId", "0"))

    def is_ours(self, style: int) -> bool:
        """Whether cell format ``style`` has xlrec's fill."""
        return 0 <= style < len(self.xfs) and int(self.xfs[style][3].get("fillId", "0")) in self.ours

    def styled(self, base: int, fmt, fill: bool = True) -> int:
        """The index of a cell format like ``base`` with xlrec's fill (or, without ``fill``, with no fill when
        ``base`` has xlrec's), and the number format ``fmt``: True for one with cents when ``base`` has none
        (the General format), a numFmtId to use when ``base`` has the General format, or None to keep
        ``base``'s."""
        if not 0 <= base < len(self.xfs):
            base = 0
        start, end, name, attrs, empty = self.xfs[base]
        if fmt is not None and int(attrs.get("numFmtId", "0")) != 0:
            fmt = None  # the cell's own format, set by its owner, wins
        elif fmt is True:
            fmt = _CENTS_FORMAT
        if not fill and not self.is_ours(base) and fmt is None:
            return base
        key = (base, fmt, fill)
        if key not in self.made:
            if fill:
                attrs = dict(attrs, fillId=str(self.fill_id), applyFill="1")
            else:
                attrs = {k: v for k, v in attrs.items() if k != "applyFill"}
                attrs["fillId"] = "0"
            if fmt is not None:
                attrs.update(numFmtId=str(fmt), applyNumberFormat="1")
            if empty:
                text = _start_tag(name, attrs)
            else:
                inner_start, _ = _tag_end(self.data, start)
                text = _start_tag(name, attrs, ">") + self.data[inner_start:end].decode("utf-8")
            self.made[key] = len(self.xfs) + len(self.new_xfs)
            self.new_xfs.append(text)
        return self.made[key]

    def edited(self, rgb: str) -> bytes:
        if not self.new_xfs:  # no new cell format: nothing to add
            return self.data
        fp = _prefix(self.fills[2])
        fill = (f'<{fp}fill><{fp}patternFill patternType="solid"><{fp}fgColor rgb="FF{rgb}"/>'
                f'<{fp}bgColor indexed="64"/></{fp}patternFill></{fp}fill>')
        edits = [(self.fills[0], self.fills[1], _start_tag(self.fills[2], dict(self.fills[3],
                                                                                count=str(self.fill_id + 1)), ">")),
                 (self.fills[4], self.fills[4], fill),
                 (self.cell_xfs[0], self.cell_xfs[1],
                  _start_tag(self.cell_xfs[2], dict(self.cell_xfs[3], count=str(len(self.xfs) + len(self.new_xfs))),
                             ">")),
                 (self.cell_xfs[4], self.cell_xfs[4], "".join(self.new_xfs))]
        return _apply(self.data, edits)


# -- the sheet --------------------------------------------------------------------------------------------------


class _Sheet:
    """One pass over a worksheet's XML: every cell's value as openpyxl reads it, and the offsets an edit needs.

    ``values`` maps (row, column) to the value of every cell holding one: numbers (int or float), text,
    booleans, error codes as text (``"#N/A"``), formulas as their text (``"=SUM(B2:B7)"``), numbers in a
    date format as datetimes. ``cached`` maps each formula cell that has a stored value (``<v>``, written by
    the spreadsheet program that last computed it) to that value, read the same way. ``hidden_rows`` and
    ``hidden_cols`` are the numbers of the hidden rows and columns.
    """

    def __init__(self, data: bytes, shared: list, dates: set):
        self.data = data
        self.values = {}
        self.cached = {}
        self.hidden_cols = set()
        self.rows = {}  # row number -> [start, end of start tag, qualified name, attrs, offset of </row>, empty]
        self.cells = {}  # row number -> [(col, start, end, style)]
        self.root_attrs = {}
        self.cell_name = "c"
        self.legacy_at = None  # where legacyDrawing goes
        self.has_legacy = False
        depth = last_row = 0
        row_numbered = False
        row_cells = None
        cell = None  # [row, col, type, style] of the cell being read
        buf = None  # the text being collected (of a v, t or f element), or None
        texts, formula, phonetic = [], None, 0
        parser = _parser(data)
        col_of = _column_number
        closes = {}
        values = self.values
        cached = self.cached

        def start(name, attrs):
            nonlocal depth, row_cells, cell, buf, texts, formula, phonetic, last_row, row_numbered
            depth += 1
            if depth == 4:
                if row_cells is None:  # not a cell: e.g. a sheet view's selection
                    return
                at = parser.CurrentByteIndex
                end, empty = _tag_end(data, at)
                if not empty:
                    close = closes.get(name)
                    if close is None:
                        close = closes[name] = f"</{name}>".encode()
                    end = data.index(close, end) + len(close)
                ref = attrs.get("r")
                if ref is None:
                    raise Unsupported("a cell without its address")
                col = col_of(ref)
                at_row = int(ref[len(ref.rstrip("0123456789")):] or 0)
                if at_row != last_row:  # openpyxl puts a cell where its own address says
                    if row_numbered or row_cells or at_row in self.rows or at_row < 1:
                        raise Unsupported(f"the cell {ref} outside its row {last_row}")
                    self.rows[at_row] = self.rows.pop(last_row)  # a row without r: numbered by its cells
                    self.cells[at_row] = self.cells.pop(last_row)
                    last_row = at_row
                style = int(attrs.get("s", "0"))
                row_cells.append((col, at, end, style))
                self.cell_name = name
                if not empty:
                    cell = (last_row, col, attrs.get("t", "n"), style)
                    texts, formula = [], None
                return
            if depth > 4:
                if cell is None:
                    return
                if name == "v":  # the common case first
                    if not phonetic:
                        buf = texts
                    return
                local = _local(name)
                if local == "rPh":  # phonetic runs are not part of the text
                    phonetic += 1
                elif local in ("v", "t") and not phonetic:
                    buf = texts
                elif local == "f":
                    if attrs.get("t") in ("array", "dataTable"):  # openpyxl reads these as objects
                        raise Unsupported("an array formula")
                    buf = formula = []
                return
            local = _local(name)
            if depth == 3 and local == "row":
                row_numbered = "r" in attrs
                r = int(attrs["r"]) if row_numbered else last_row + 1
                if r in self.rows or r < 1:
                    raise Unsupported(f"the row {r} twice, or out of order")
                last_row = r
                at = parser.CurrentByteIndex
                end, empty = _tag_end(data, at)
                self.rows[r] = [at, end, name, dict(attrs), None, empty]
                row_cells = self.cells[r] = []
            elif depth == 3 and local == "col":
                if attrs.get("hidden") in ("1", "true"):
                    self.hidden_cols.update(range(int(attrs["min"]), int(attrs["max"]) + 1))
            elif depth == 1:
                self.root_attrs = dict(attrs)
            elif depth == 2:
                if local == "legacyDrawing":
                    self.has_legacy = True
                if local in _AFTER_LEGACY and self.legacy_at is None:
                    self.legacy_at = parser.CurrentByteIndex

        def chars(text):
            if buf is not None:
                buf.append(text)

        def end(name):
            nonlocal depth, row_cells, cell, buf, phonetic
            if depth == 4 and cell is not None:
                if cell[2] == "n" and formula is None and len(texts) == 1 and cell[3] not in dates:
                    text = texts[0]  # a plain number, the common case
                    value = float(text) if "." in text or "E" in text or "e" in text else int(text)
                else:
                    value = self._value(cell, texts, formula, shared, dates)
                if value is not None:
                    values[cell[0], cell[1]] = value
                if formula is not None and texts:
                    stored = self._value(cell, texts, None, shared, dates)
                    if stored is not None:
                        cached[cell[0], cell[1]] = stored
                cell = None
            elif depth > 4 and cell is not None:
                if name == "v":
                    buf = None
                elif _local(name) == "rPh":
                    phonetic -= 1
                else:
                    buf = None
            elif depth == 3 and row_cells is not None:
                self.rows[last_row][4] = parser.CurrentByteIndex  # of </row> (unused for <row/>)
                row_cells = None
            elif depth == 1 and self.legacy_at is None:
                self.legacy_at = parser.CurrentByteIndex
            depth -= 1

        parser.StartElementHandler, parser.EndElementHandler = start, end
        parser.CharacterDataHandler = chars
        parser.Parse(data, True)

    @property
    def hidden_rows(self) -> set:
        return {r for r, row in self.rows.items() if row[3].get("hidden") in ("1", "true")}

    @staticmethod
    def _value(cell, texts, formula, shared, dates):
        _, _, kind, style = cell
        if formula is not None:
            if not formula:  # a shared formula's followers: openpyxl translates them
                raise Unsupported("a shared formula")
            return "=" + "".join(formula)
        text = "".join(texts) if texts else None
        if kind == "n":
            if text is None or not text.strip():
                return None
            number = float(text) if any(ch in text for ch in ".eE") else int(text)
            return from_excel(number) if style in dates else number
        if kind == "s":
            return shared[int(text)] if text is not None else None
        if kind in ("inlineStr", "str"):
            return text
        if kind == "b":
            return None if text is None else text.strip() in ("1", "true")
        if kind == "e":
            return text
        raise Unsupported(f"cells of type {kind!r}")


def _column_number(ref):
    """The column number of an A1 address (``"AB12"`` -> 28)."""
    try:
        return column_index_from_string(ref.rstrip("0123456789").replace("$", ""))  # cached by openpyxl
    except ValueError:
        raise Unsupported(f"cell address {ref!r}") from None


def _number(v: float) -> str:
    text = repr(float(v))  # the shortest text that reads back as the same double
    return text[:-2] if text.endswith(".0") else text


def _text(value: str) -> str:
    """Text for XML content: escaped, without the control characters XML cannot hold."""
    return escape(ILLEGAL_CHARACTERS_RE.sub("", value))


def _cell_xml(name, cell: Cell, style: int):
    ref = f"{get_column_letter(cell.col)}{cell.row}"
    p = _prefix(name)
    if cell.value is None:
        return f'<{name} r="{ref}" s="{style}"/>'
    if isinstance(cell.value, str):
        return (f'<{name} r="{ref}" s="{style}" t="inlineStr"><{p}is><{p}t xml:space="preserve">'
                f"{_text(cell.value)}</{p}t></{p}is></{name}>")
    return f'<{name} r="{ref}" s="{style}"><{p}v>{_number(cell.value)}</{p}v></{name}>'


class CellRows:
    """Cells to write, row by row: ``rows`` are the sheet's row numbers that get cells, ``row(r)`` gives the
    cells of row ``r`` (made when asked, so that a fill of millions of cells never holds them all)."""

    def __init__(self, cells=()):
        self._by_row = {}
        for cell in cells:
            self._by_row.setdefault(cell.row, []).append(cell)

    @property
    def rows(self):
        return list(self._by_row)

    def row(self, r):
        return self._by_row[r]

    def notes(self):
        """The cells with a note, row by row."""
        return [c for r in self.rows for c in self.row(r) if c.note]


class Numbers(NamedTuple):
    """Many predicted numbers of one row, written with xlrec's fill and no note: the columns, the values, and
    the number format of each (as :attr:`Cell.fmt`). Faster than a :class:`Cell` each for millions of cells."""

    row: int
    cols: list
    values: list
    fmts: list


_LETTERS = [""] + [get_column_letter(c) for c in range(1, 16385)]


def _row_edits(sheet: _Sheet, r, new, styles: _Styles):
    """The edits that put ``new`` (:class:`Cell` and :class:`Numbers`) into row ``r``, in offset order: a cell
    replaces the one in its column, or goes before the first cell to its right (column order), the cells that
    go in at one place in one edit."""
    if r not in sheet.rows:
        raise Unsupported(f"row {r} is not in the sheet")
    name = sheet.cell_name
    p = _prefix(name)
    start, tag_end, row_name, attrs, close, empty = sheet.rows[r]
    existing = {col: (s, e, style) for col, s, e, style in sheet.cells[r]}
    order = sorted(existing)
    items = []  # (column, text)
    for cell in new:
        if isinstance(cell, Numbers):
            styled = {}
            for f in set(cell.fmts):
                styled[0, f] = styles.styled(0, True if f is None else f, True)
            for c in existing.keys() & set(cell.cols):
                for f in set(cell.fmts):
                    styled[c, f] = styles.styled(existing[c][2], True if f is None else f, True)
            if len(styled) == 1:  # one style for the whole row: the common case
                st = next(iter(styled.values()))
                head, mid, tail = f'<{name} r="', f'" s="{st}"><{p}v>', f"</{p}v></{name}>"
                items += [(c, f"{head}{_LETTERS[c]}{r}{mid}{v!r}{tail}") for c, v in zip(cell.cols, cell.values)]
            else:
                items += [(c, f'<{name} r="{_LETTERS[c]}{r}" s="{styled[c if c in existing else 0, f]}"><{p}v>{v!r}'
                              f"</{p}v></{name}>") for c, v, f in zip(cell.cols, cell.values, cell.fmts)]
            continue
        base = existing[cell.col][2] if cell.col in existing else 0
        number = cell.value is not None and not isinstance(cell.value, str)
        fmt = (True if cell.fmt is None else cell.fmt) if number and cell.fill else None
        items.append((cell.col, _cell_xml(name, cell, styles.styled(base, fmt, cell.fill))))
    if not items:
        return []
    items.sort(key=lambda item: item[0])
    edits = []
    new_attrs = dict(attrs)
    lo, _, hi = attrs.get("spans", "").partition(":")
    if lo.isdigit() and hi.isdigit():  # the row's span must cover its new cells
        new_attrs["spans"] = f"{min(items[0][0], int(lo))}:{max(items[-1][0], int(hi))}"
    if empty or new_attrs != attrs:
        edits.append((start, tag_end, _start_tag(row_name, new_attrs, ">")))
    end_of_row = tag_end if empty else close
    pending_at, pending = None, []
    for col, text in items:
        if col in existing:
            s, e, _ = existing[col]
            if pending:
                edits.append((pending_at, pending_at, "".join(pending)))
                pending_at, pending = None, []
            edits.append((s, e, text))
            continue
        k = bisect.bisect(order, col)
        at = existing[order[k]][0] if k < len(order) else end_of_row
        if at != pending_at and pending:
            edits.append((pending_at, pending_at, "".join(pending)))
            pending = []
        pending_at = at
        pending.append(text)
    if pending:
        edits.append((pending_at, pending_at, "".join(pending)))
    if empty:
        edits.append((tag_end, tag_end, f"</{row_name}>"))
    edits.sort(key=lambda e: (e[0], e[1]))
    return edits


def _sheet_edits(sheet: _Sheet, cells, styles: _Styles):
    """The edits that put ``cells`` (a :class:`CellRows`, or a list of :class:`Cell`) into the sheet, in the order
    of their offsets, made row by row as they are asked for."""
    if not isinstance(cells, CellRows):
        cells = CellRows(cells)
    for r in sorted(cells.rows, key=lambda r: sheet.rows[r][0] if r in sheet.rows else -1):
        yield from _row_edits(sheet, r, cells.row(r), styles)


# -- notes ------------------------------------------------------------------------------------------------------

_VML_HEAD = ('<xml xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" '
             'xmlns:x="urn:schemas-microsoft-com:office:excel">'
             '<o:shapelayout v:ext="edit"><o:idmap v:ext="edit" data="{block}"/></o:shapelayout>'
             '<v:shapetype id="_x0000_t202" coordsize="21600,21600" o:spt="202" path="m,l,21600r21600,l21600,xe">'
             '<v:stroke joinstyle="miter"/><v:path gradientshapeok="t" o:connecttype="rect"/></v:shapetype>')
_VML_SHAPE = ('<v:shape id="_x0000_s{}" type="#_x0000_t202" style="position:absolute;margin-left:59.25pt;'
              'margin-top:1.5pt;width:320px;height:{}px;z-index:1;visibility:hidden" fillcolor="#ffffe1" '
              'o:insetmode="auto"><v:fill color2="#ffffe1"/><v:shadow color="black" obscured="t"/>'
              '<v:path o:connecttype="none"/><v:textbox style="mso-direction-alt:auto"><div style="text-align:left">'
              '</div></v:textbox><x:ClientData ObjectType="Note"><x:MoveWithCells/><x:SizeWithCells/>'
              '<x:AutoFill>False</x:AutoFill><x:Row>{}</x:Row><x:Column>{}</x:Column></x:ClientData>'
              '</v:shape>')


def _notes_parts(notes, author, block):
    """The comments part and its VML drawing (one hidden note shape per comment, as Excel writes them)."""
    clean = not ILLEGAL_CHARACTERS_RE.search("".join(c.note for c in notes))  # one look for all notes
    text = escape if clean else _text
    refs = [f"{get_column_letter(c.col)}{c.row}" for c in notes]  # get_column_letter is cached by openpyxl
    comments = "".join([f'<comments xmlns="{_MAIN}"><authors><author>{_text(author)}</author></authors><commentList>',
                        *(f'<comment ref="{ref}" authorId="0"><text><t xml:space="preserve">{text(c.note)}'
                          "</t></text></comment>" for ref, c in zip(refs, notes)),
                        "</commentList></comments>"])
    p0, p1, p2, p3, p4 = _VML_SHAPE.split("{}")  # literal pieces: far faster than str.format per shape
    base = block * 1024
    vml = "".join([_VML_HEAD.format(block=block),
                   *(f"{p0}{base + n}{p1}{max(80, 20 * (c.note.count(chr(10)) + 2))}{p2}{c.row - 1}{p3}{c.col - 1}{p4}"
                     for n, c in enumerate(notes, 1)),
                   "</xml>"])
    return comments.encode("utf-8"), vml.encode("utf-8")


def _sheet_xml(rows, f) -> None:
    """Write a plain worksheet holding ``rows`` (an iterable of lists: text as inline strings, numbers, None for
    nothing) to the file ``f``, a row at a time."""
    f.write(f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_MAIN}"><sheetData>'
            .encode("utf-8"))
    letters = _LETTERS
    for r, row in enumerate(rows, 1):
        out = [f'<row r="{r}">']
        out += [(f'<c r="{letters[c]}{r}"><v>{v!r}</v></c>' if type(v) is float else
                 f'<c r="{letters[c]}{r}" t="inlineStr"><is><t xml:space="preserve">{_text(v)}</t></is></c>'
                 if isinstance(v, str) else f'<c r="{letters[c]}{r}"><v>{_number(v)}</v></c>')
                for c, v in enumerate(row, 1) if v is not None]
        out.append("</row>")
        f.write("".join(out).encode("utf-8"))
    f.write(b"</sheetData></worksheet>")


def _with_hidden_sheet(data, name, rid):
    """workbook.xml with a hidden sheet ``name`` (relationship ``rid``) added at the end of its sheets."""
    text = data.decode("utf-8")
    end = re.search(r"</(?:[A-Za-z_][\w.-]*:)?sheets>", text)
    if end is None:
        raise Unsupported("workbook.xml has no list of sheets")
    ids = [int(i) for i in re.findall(r'\bsheetId="(\d+)"', text)]
    prefix = re.search(r'xmlns:([A-Za-z_][\w.-]*)="' + re.escape(_REL) + '"', text)
    element = re.search(r"<([A-Za-z_][\w.-]*:)?sheet\b", text)
    tag = (element.group(1) or "") + "sheet" if element else "sheet"
    rel = f"{prefix.group(1)}:id" if prefix else "r:id"
    extra = "" if prefix else f' xmlns:r="{_REL}"'
    item = (f"<{tag} name={quoteattr(name)} sheetId=\"{max(ids, default=0) + 1}\" state=\"hidden\"{extra} "
            f"{rel}=\"{rid}\"/>")
    return (text[:end.start()] + item + text[end.start():]).encode("utf-8")


def _with_relationships(data, new):
    """A .rels part (or a new one) with relationships added: ``new`` is [(id, type, target)]."""
    items = "".join(f'<Relationship Id="{i}" Type="{t}" Target={quoteattr(target)}/>' for i, t, target in new)
    if data is None or b"</" not in data:
        return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{_PKG_REL}">'
                f"{items}</Relationships>").encode("utf-8")
    at = data.rindex(b"</")
    return data[:at] + items.encode("utf-8") + data[at:]


def _with_content_types(data, overrides, defaults):
    root = ElementTree.fromstring(data)
    have = {d.get("Extension", "").lower() for d in root.iter(f"{{{_CT}}}Default")}
    items = "".join(f'<Default Extension="{ext}" ContentType="{ct}"/>' for ext, ct in defaults if ext not in have)
    items += "".join(f'<Override PartName="/{part}" ContentType="{ct}"/>' for part, ct in overrides)
    at = data.rindex(b"</")
    return data[:at] + items.encode("utf-8") + data[at:]


# -- the whole ----------------------------------------------------------------------------------------------------


_IN_MEMORY = 32 << 20  # a written sheet part up to this size stays in memory
_COPY_LEVEL = 6  # parts copied as they are: zlib's default level, as before


def _put(out, info, body):
    """Write a part (bytes, or a file of them) into the zip being written, at the fastest level."""
    info = zipfile.ZipInfo(info.filename, info.date_time)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o600 << 16
    if isinstance(body, bytes):
        out.writestr(info, body, compresslevel=1)
        return
    size = body.seek(0, 2)
    body.seek(0)
    info.file_size = size
    with out.open(info, "w", force_zip64=size > (1 << 30)) as f:
        shutil.copyfileobj(body, f, 1 << 20)


class Package:
    """A workbook package read for filling one sheet, and written back with only that sheet's cells added.

    Parameters
    ----------
    path : path
        The .xlsx or .xlsm file (checked beforehand by :func:`xlrec.io.package.check_package`).
    """

    def __init__(self, path):
        with zipfile.ZipFile(path) as z:  # the parts in memory (check_package capped their size)
            self.infos = z.infolist()
            self.parts = {info.filename: z.read(info) for info in self.infos}
        self.book = next((_target("", t) for _, typ, t, _ in self._relationships("")
                          if typ.endswith("/officeDocument")), None)
        if self.book is None or self.book not in self.parts or "xl/styles.xml" not in self.parts:
            raise Unsupported("no workbook or styles part")
        root = ElementTree.fromstring(self.parts[self.book])
        rels = {i: t for i, _, t, _ in self._relationships(self.book)}
        #: sheet title -> part name, in the workbook's order
        self.sheets = {}
        for sheet in root.iter(f"{{{_MAIN}}}sheet"):
            self.sheets[sheet.get("name")] = _target(self.book, rels.get(sheet.get(f"{{{_REL}}}id"), ""))
        if not self.sheets:
            raise Unsupported("no sheets (or not a transitional SpreadsheetML workbook)")
        view = root.find(f"{{{_MAIN}}}bookViews/{{{_MAIN}}}workbookView")
        active = int(view.get("activeTab", "0")) if view is not None else 0
        titles = list(self.sheets)
        self.active = titles[active] if 0 <= active < len(titles) else titles[0]
        self.defined_names = {d.get("name", "").casefold() for d in root.iter(f"{{{_MAIN}}}definedName")}
        self.styles = _Styles(self.parts["xl/styles.xml"])
        self._shared = None

    def _record(self, record, replaced, added):
        name, rows = record
        body = tempfile.SpooledTemporaryFile(max_size=_IN_MEMORY)
        try:
            _sheet_xml(rows, body)
        except BaseException:
            body.close()
            raise
        existing = self.sheets.get(name)
        if existing is not None:
            if existing not in self.parts:
                body.close()
                raise Unsupported(f"the sheet {name!r} has no part")
            replaced[existing] = body
            return
        part = _free_name(set(self.parts) | set(added), "xl/worksheets/sheet{}.xml")
        book_rels = _rels_path(self.book)
        rels_data = self._current(book_rels, replaced, added)
        ids = {r.get("Id") for r in ElementTree.fromstring(rels_data)} if rels_data else set()
        rid = _free_name(ids, "rIdXlrecRecord{}")
        replaced[self.book] = _with_hidden_sheet(self._current(self.book, replaced, added), name, rid)
        (replaced if book_rels in self.parts else added)[book_rels] = _with_relationships(
            rels_data, [(rid, _WORKSHEET_TYPE, posixpath.relpath(part, posixpath.dirname(self.book)))])
        added[part] = body
        self._overrides.append((part, _WORKSHEET_CT))

    def _relationships(self, part):
        data = self.parts.get(_rels_path(part))
        if data is None:
            return []
        return [(r.get("Id"), r.get("Type"), r.get("Target"), r.get("TargetMode"))
                for r in ElementTree.fromstring(data)]

    def shared_strings(self) -> list:
        if self._shared is None:
            self._shared = []
            data = self.parts.get("xl/sharedStrings.xml")
            if data is not None:
                self._shared = _shared_strings(data)
        return self._shared

    def sheet(self, title, *, tables=False):
        """The sheet's one-pass reading (:class:`_Sheet`), for a sheet this editor can fill.

        Raises Unsupported for a sheet with notes (their drawing is merged by openpyxl), with tables unless
        ``tables`` (openpyxl's reader finds the matrix in a table), or that cannot be read here.
        """
        part = self.sheets.get(title)
        if part is None or part not in self.parts:
            raise Unsupported(f"no sheet named {title!r}")
        types = {t for _, t, _, _ in self._relationships(part)}
        if _COMMENTS_TYPE in types or _VML_TYPE in types:
            raise Unsupported("the sheet has notes or legacy drawings of its own")
        if _TABLE_TYPE in types and not tables:
            raise Unsupported("the sheet has tables")
        try:
            sheet = _Sheet(self.parts[part], self.shared_strings(), self.styles.dates)
        except Unsupported:
            raise
        except Exception as exc:  # noqa: BLE001 - malformed XML of any kind: openpyxl's reader reports it
            raise Unsupported(f"the sheet cannot be read here ({type(exc).__name__}: {exc})") from exc
        if sheet.has_legacy:
            raise Unsupported("the sheet has a legacy drawing")
        if sheet.root_attrs.get("xmlns") != _MAIN:
            raise Unsupported("not a transitional SpreadsheetML sheet, or its namespace has a prefix")
        sheet.part = part
        return sheet

    def write(self, dst, sheets, *, rgb: str, author: str, records=()):
        """Write the package to ``dst`` with cells added to sheets: ``sheets`` is [(sheet, cells)], a sheet as
        :meth:`sheet` gives it and its cells a list of :class:`Cell`.

        Cells with ``fill`` get the fill ``rgb`` (hex, e.g. ``"FCE4D6"``) over their own style, numbers a format
        with cents when theirs has none; a ``note`` becomes a note by ``author``. ``records`` is [(sheet name,
        rows)]: xlrec's hidden record sheets (:mod:`xlrec.sheet.records`), each replaced when the package has
        a sheet of that name, else added.
        """
        self._overrides, self._defaults = [], []
        replaced, added = {}, {}
        try:
            for sheet, cells in sheets:
                self._sheet_write(sheet, cells, author, replaced, added)
            replaced["xl/styles.xml"] = self.styles.edited(rgb)  # after every sheet's cells took their styles
            for record in records:
                self._record(record, replaced, added)
            if self._overrides:
                replaced["[Content_Types].xml"] = _with_content_types(
                    self.parts["[Content_Types].xml"], self._overrides, self._defaults)
        except BaseException:
            for body in itertools.chain(replaced.values(), added.values()):
                if not isinstance(body, bytes):
                    body.close()
            raise
        # the parts xlrec writes are large and repetitive: the fastest deflate level packs them nearly as well
        try:
            with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out:
                for info in self.infos:
                    body = replaced.get(info.filename)
                    if body is None:
                        out.writestr(info, self.parts[info.filename], compress_type=zipfile.ZIP_DEFLATED,
                                     compresslevel=_COPY_LEVEL)
                    else:
                        _put(out, info, body)
                for part_name, body in added.items():
                    _put(out, zipfile.ZipInfo(part_name, info.date_time if self.infos else (1980, 1, 1, 0, 0, 0)),
                         body)
        finally:
            for body in itertools.chain(replaced.values(), added.values()):
                if not isinstance(body, bytes):
                    body.close()

    def _current(self, part, replaced, added):
        """A part as written so far."""
        for parts in (replaced, added, self.parts):
            if part in parts:
                return parts[part]
        return None

    def _sheet_write(self, sheet, cells, author, replaced, added):
        part = sheet.part
        if not isinstance(cells, CellRows):
            cells = CellRows(cells)
        edits = _sheet_edits(sheet, cells, self.styles)
        notes = cells.notes()
        tail = []
        if notes:
            names = set(self.parts) | set(added)
            rels = self._relationships(part)
            comments_part = _free_name(names, "xl/comments{}.xml")
            vml_part = _free_name(names, "xl/drawings/vmlDrawing{}.vml")
            ids = {i for i, _, _, _ in rels}
            rid_c = _free_name(ids, "rIdXlrecNotes{}")
            rid_v = _free_name(ids | {rid_c}, "rIdXlrecDrawing{}")
            r_prefix = next((k.split(":", 1)[1] for k, v in sheet.root_attrs.items()
                             if k.startswith("xmlns:") and v == _REL), None)
            legacy = (f'<legacyDrawing {r_prefix}:id="{rid_v}"/>' if r_prefix else
                      f'<legacyDrawing xmlns:r="{_REL}" r:id="{rid_v}"/>')
            tail.append((sheet.legacy_at, sheet.legacy_at, legacy))
            block = 1 + sum(n.startswith("xl/drawings/") and n.endswith(".vml") for n in names)
            added[comments_part], added[vml_part] = _notes_parts(notes, author, block)
            rels_part = _rels_path(part)
            base = posixpath.dirname(part)
            new_rels = [(rid_c, _COMMENTS_TYPE, posixpath.relpath(comments_part, base)),
                        (rid_v, _VML_TYPE, posixpath.relpath(vml_part, base))]
            old = self.parts.get(rels_part)
            (replaced if old is not None else added)[rels_part] = _with_relationships(old, new_rels)
            self._overrides.append((comments_part, _COMMENTS_CT))
            self._defaults.append(("vml", _VML_CT))
        body = tempfile.SpooledTemporaryFile(max_size=_IN_MEMORY)  # a sheet of millions of cells goes to disk
        try:
            _apply_to(body, sheet.data, itertools.chain(edits, tail))
        except BaseException:
            body.close()
            raise
        replaced[part] = body


def _shared_strings(data) -> list:
    """The shared strings table: the text of each item (rich text runs joined, phonetic runs left out)."""
    out = []
    item = None
    collect = False
    phonetic = 0
    parser = _parser(data)

    def start(name, attrs):
        nonlocal item, collect, phonetic
        local = _local(name)
        if local == "si":
            item = []
        elif local == "rPh":
            phonetic += 1
        elif local == "t" and item is not None and not phonetic:
            collect = True

    def end(name):
        nonlocal item, collect, phonetic
        local = _local(name)
        if local == "si":
            out.append("".join(item))
            item = None
        elif local == "rPh":
            phonetic -= 1
        elif local == "t":
            collect = False

    def chars(text):
        if collect:
            item.append(text)

    parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, chars
    parser.Parse(data, True)
    return out
