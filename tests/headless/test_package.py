"""xlrec's own reading and editing of a workbook package (xlrec.io.splice): the same values as openpyxl reads,
and the same filled workbook as the openpyxl writer gives."""

import datetime
import zipfile
from xml.etree import ElementTree

import openpyxl
import pytest
from corpus import snapshot
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.styles import Font, PatternFill
from openpyxl.styles.stylesheet import Stylesheet

from xlrec.cli import main
from xlrec.io import workbook
from xlrec.io.splice import Package, Unsupported
from xlrec.io.workbook import sheet_values


def kinds_workbook(path):
    """One sheet holding every kind of value a cell can hold, written by openpyxl."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Mixed & <odd> 'names'"
    rows = [
        ["Bookings", "Google", "AT&T <US>", "Ünïcödé", "  spaced  "],
        ["Alyssa", 500000, 0, -1234.5, 1e-7],
        ["Brandon", 12345678901234, 0.1 + 0.2, True, False],
        ["Mike", "#N/A", "=SUM(B2:B3)", "500,000", "   "],
        ["Jessica", datetime.datetime(2024, 3, 31, 12, 30), datetime.date(2023, 1, 2), 7, None],
    ]
    for r, row in enumerate(rows, 1):
        for c, v in enumerate(row, 1):
            cell = ws.cell(row=r, column=c, value=v)
            if v is None:
                cell.fill = PatternFill("solid", start_color="FFEEEEEE")  # a styled empty cell
    ws["A7"] = CellRichText(["rich ", TextBlock(InlineFont(b=True), "text"), " here"])
    ws["C7"].font = Font(italic=True)  # styled, empty
    wb.save(path)


def _plain(v):
    return str(v) if isinstance(v, CellRichText) else v


def test_values_are_what_openpyxl_reads(tmp_path):
    path = tmp_path / "kinds.xlsx"
    kinds_workbook(path)
    ws = openpyxl.load_workbook(path, rich_text=True).active
    expected = {k: _plain(v) for k, v in sheet_values(ws).items()}
    package = Package(path)
    assert package.active == ws.title
    assert package.sheet(ws.title).values == expected
    assert isinstance(expected[2, 2], int) and isinstance(expected[5, 2], datetime.datetime)  # kinds kept


def rewrite_sheet(src, dst, sheet_xml):
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(dst, "w") as b:
        for item in a.infolist():
            b.writestr(item, sheet_xml if item.filename == "xl/worksheets/sheet1.xml" else a.read(item))
    return dst


SHEET = ('<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{}</sheetData>'
         '</worksheet>')


def test_what_excel_writes_that_openpyxl_does_not(tmp_path, example_path):
    # inline rich text with a phonetic run, a formula's text result, a cell without a value
    rows = ('<row r="1"><c r="A1" t="inlineStr"><is><r><t>Boo</t></r> <r><t xml:space="preserve">kings </t></r>'
            '<rPh sb="0" eb="1"><t>PHONETIC</t></rPh></is></c><c r="B1" t="str"><f>"Goo"&amp;"gle"</f><v>Google</v>'
            '</c><c r="C1" s="0"/></row><row r="2"><c r="A2" t="inlineStr"><is><t>Alyssa</t></is></c>'
            '<c r="B2"><v>5E5</v></c></row>')
    path = rewrite_sheet(example_path, tmp_path / "excel.xlsx", SHEET.format(rows))
    expected = {k: _plain(v) for k, v in sheet_values(openpyxl.load_workbook(path).active).items()}
    assert expected == {(1, 1): "Bookings ", (1, 2): '="Goo"&"gle"', (2, 1): "Alyssa", (2, 2): 500000.0}
    assert Package(path).sheet("Sales").values == expected


@pytest.mark.parametrize("rows, why", [
    ('<row r="1"><c r="A1"><f t="shared" ref="A1:A2" si="0">B1</f><v>1</v></c></row>'
     '<row r="2"><c r="A2"><f t="shared" si="0"/><v>2</v></c></row>', "a shared formula"),
    ('<row r="1"><c r="A1"><v>1</v></c><c r="A2"><v>2</v></c></row>', "the cell A2 outside its row 1"),
    ('<row r="1"><c t="n"><v>1</v></c></row>', "a cell without its address"),
    ('<row r="1"><c r="A1" t="d"><v>2024-01-01</v></c></row>', "cells of type 'd'"),
])
def test_what_it_leaves_to_openpyxl(rows, why, tmp_path, example_path):
    path = rewrite_sheet(example_path, tmp_path / "odd.xlsx", SHEET.format(rows))
    with pytest.raises(Unsupported, match=why):
        Package(path).sheet("Sales")


@pytest.mark.parametrize("build", ["example", "kinds"])
def test_package_writer_gives_what_the_openpyxl_writer_gives(build, tmp_path, monkeypatch, example_path):
    if build == "example":
        src = example_path
        args = []
    else:
        src = tmp_path / "kinds.xlsx"
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = "Team & co"
        ws.append(["", "Google", "AT&T <US>", "Staples"])
        for name, row in [("Alyssa", [500000, None, 1]), ("Bob <b>", [None, 2.5, 3]), ("Cy", [7, 8, None])]:
            ws.append([name, *row])
        ws["B2"].number_format = '"$"#,##0'
        ws["C3"].font = Font(bold=True)
        ws["D4"].fill = PatternFill("solid", start_color="FF00FF00")  # a blank with a fill of its own
        wb.create_sheet("Other")["A1"] = "untouched"
        wb.save(src)
        args = []
    fast, slow = tmp_path / "fast.xlsx", tmp_path / "slow.xlsx"
    assert main(["fill", str(src), "-o", str(fast), *args]) == 0
    with zipfile.ZipFile(fast) as z:
        assert any(n.startswith("xl/comments") for n in z.namelist())  # the package writer wrote it
    monkeypatch.setattr(workbook, "_package", lambda path: None)  # the openpyxl reader and writer
    assert main(["fill", str(src), "-o", str(slow), *args]) == 0
    a, b = snapshot(fast), snapshot(slow)
    assert a == b
    notes_a = {(ws.title, c.coordinate): (c.comment.text, c.comment.author)
               for ws in openpyxl.load_workbook(fast).worksheets for row in ws.iter_rows() for c in row if c.comment}
    notes_b = {(ws.title, c.coordinate): (c.comment.text, c.comment.author)
               for ws in openpyxl.load_workbook(slow).worksheets for row in ws.iter_rows() for c in row if c.comment}
    assert notes_a == notes_b and notes_a


def test_the_input_is_copied_part_for_part(tmp_path, example_path):
    out = tmp_path / "out.xlsx"
    assert main(["fill", str(example_path), "-o", str(out)]) == 0
    with zipfile.ZipFile(example_path) as a, zipfile.ZipFile(out) as b:
        changed = {n for n in a.namelist() if a.read(n) != b.read(n)}
        added = set(b.namelist()) - set(a.namelist())
    # the sheet, its styles and notes; the workbook's list of sheets and its relationships for the hidden record
    assert changed == {"xl/worksheets/sheet1.xml", "xl/styles.xml", "[Content_Types].xml", "xl/workbook.xml",
                       "xl/_rels/workbook.xml.rels"}
    assert added == {"xl/comments1.xml", "xl/drawings/vmlDrawing1.vml", "xl/worksheets/_rels/sheet1.xml.rels",
                     "xl/worksheets/sheet2.xml"}


def test_what_the_editor_cannot_write_is_written_by_openpyxl(tmp_path, monkeypatch, example_path):
    from xlrec.io import splice

    def refuse(*args):
        raise Unsupported("a layout this editor does not know")

    monkeypatch.setattr(splice, "_sheet_edits", refuse)
    out = tmp_path / "out.xlsx"
    assert main(["fill", str(example_path), "-o", str(out)]) == 0
    ws = openpyxl.load_workbook(out).active
    assert ws["E2"].value == (500_000 + 0.5 * 300_000) / 1.5 and ws["E2"].comment.author == "xlrec"
    assert [p.name for p in tmp_path.iterdir()] == ["out.xlsx"]  # no temporary file left behind


def test_new_styles_extend_the_stylesheet():
    from xlrec.io.splice import _Styles

    main_ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    xml = (f'<styleSheet xmlns="{main_ns}"><numFmts count="1"><numFmt numFmtId="164" formatCode="0.00 &quot;k&quot;"/>'
           '</numFmts><fills><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/>'
           '</fill></fills><cellXfs><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/><xf numFmtId="164" '
           'fontId="1" fillId="0" borderId="1"><alignment horizontal="center"/></xf></cellXfs></styleSheet>').encode()
    styles = _Styles(xml)
    # with cents where the format is General; the format 164 kept where the cell has it; a column's format;
    # without the fill
    assert (styles.styled(0, True), styles.styled(1, True), styles.styled(0, None), styles.styled(0, True),
            styles.styled(0, 164), styles.styled(1, 4), styles.styled(0, None, False)) == (2, 3, 4, 2, 5, 3, 0)
    out = Stylesheet.from_tree(ElementTree.fromstring(styles.edited("FCE4D6")))
    fill = out.fills[2]
    assert fill.patternType == "solid" and fill.fgColor.rgb == "FFFCE4D6" and len(out.fills) == 3
    xfs = out.cellXfs.xf
    assert len(xfs) == 6 and all(x.fillId == 2 for x in xfs[2:])
    assert [x.numFmtId for x in xfs[2:]] == [4, 164, 0, 164]  # cents added where none, or the column's
    assert xfs[3].alignment.horizontal == "center" and xfs[3].fontId == 1 and xfs[3].borderId == 1
