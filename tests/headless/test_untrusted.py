"""Untrusted files: clear errors, no crash, no hang, nothing written; what openpyxl would drop is refused."""

import io
import shutil
import zipfile

import openpyxl
import pytest
from corpus import laughs, rewrite
from openpyxl.comments import Comment

from xlrec.cli import main
from xlrec.io import package

ALYSSA_STAPLES = (500_000 + 0.5 * 300_000) / 1.5  # the article's rank-weighted k = 2, stored in full


LAUGHS = laughs("lolz", b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
                        b'<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>')


def bomb_bytes():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * 50_000_000)  # 50 MB of zeros pack to ~50 kB
    return buf.getvalue()


@pytest.mark.parametrize("make, message", [
    (lambda src, p: p.write_bytes(b"PK\x03\x04 this is not really a zip"), "is not an Excel workbook"),
    (lambda src, p: p.write_bytes(b"Name,Google\nAlyssa,1\n"), "is not an Excel workbook"),
    (lambda src, p: p.write_bytes(src.read_bytes()[:3000]), "is not an Excel workbook"),  # cut short
    (lambda src, p: p.write_bytes(bomb_bytes()), "a zip bomb?"),
    (lambda src, p: rewrite(src, p, replace={"xl/worksheets/sheet1.xml": b"<worksheet><sheetData><row>"}),
     "cannot be read as a workbook"),
    (lambda src, p: rewrite(src, p, replace={"xl/worksheets/sheet1.xml": LAUGHS}), "cannot be read as a workbook"),
    (lambda src, p: rewrite(src, p, replace={"xl/workbook.xml": b"not xml at all <<<"}),
     "cannot be read as a workbook"),
    (lambda src, p: p.write_bytes(_zip_of({"hello.txt": b"hi"})), "not an Excel workbook (no xl/workbook part)"),
])
@pytest.mark.parametrize("command", ["fill", "convert"])
def test_bad_files_give_one_clear_line(make, message, command, tmp_path, capsys, example_path):
    bad = tmp_path / "bad.xlsx"
    make(example_path, bad)
    out = tmp_path / "out.xlsx"
    assert main([command, str(bad), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"xlrec: error: {bad}: ") and message in err and err.count("\n") == 1, err
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["bad.xlsx"]  # no partial file


def _zip_of(parts):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return buf.getvalue()


def test_total_size_cap(tmp_path, example_path, capsys, monkeypatch):
    monkeypatch.setattr(package, "MAX_UNCOMPRESSED", 10_000)
    assert main(["fill", str(example_path), "-o", str(tmp_path / "o.xlsx")]) == 2
    assert "more than xlrec's limit of 10,000" in capsys.readouterr().err


def test_openpyxl_uses_defusedxml():
    import openpyxl.xml

    assert openpyxl.xml.DEFUSEDXML


@pytest.mark.parametrize("part, what", [
    ("xl/media/image1.png", "images"),
    ("xl/drawings/drawing1.xml", "drawings (images, shapes or charts)"),
    ("xl/charts/chart1.xml", "charts"),
    ("xl/slicers/slicer1.xml", "slicers"),
])
def test_what_openpyxl_drops_is_kept_by_fill_and_refused_by_openpyxl_writes(part, what, tmp_path, capsys,
                                                                             example_path):
    src = rewrite(example_path, tmp_path / "in.xlsx", add={part: b"<x/>"})
    out = tmp_path / "out.xlsx"
    # fill edits the package in place: the part is kept byte for byte, nothing to refuse
    assert main(["fill", str(src), "-o", str(out)]) == 0
    assert "dropped" not in capsys.readouterr().out
    with zipfile.ZipFile(out) as z:
        assert z.read(part) == b"<x/>"
    assert openpyxl.load_workbook(out).active["E2"].value == ALYSSA_STAPLES
    # convert writes through openpyxl: refused unless forced
    out2 = tmp_path / "out2.xlsx"
    assert main(["convert", str(src), "-o", str(out2)]) == 2
    err = capsys.readouterr().err
    assert f"holds {what} ({part}), which would be lost in the output" in err and "--force" in err
    assert not out2.exists()
    assert main(["convert", str(src), "-o", str(out2), "--force"]) == 0
    assert f"dropped as asked (--force): {what} ({part})" in capsys.readouterr().out


def test_fill_of_a_sheet_with_notes_refuses_what_openpyxl_drops(tmp_path, capsys, example_path):
    noted = tmp_path / "noted.xlsx"
    wb = openpyxl.load_workbook(example_path)
    wb.active["A1"].comment = Comment("Q3 figures, from the CRM", "Dana")
    wb.save(noted)
    src = rewrite(noted, tmp_path / "in.xlsx", add={"xl/charts/chart1.xml": b"<x/>"})
    out = tmp_path / "out.xlsx"
    assert main(["fill", str(src), "-o", str(out)]) == 2
    assert "holds charts (xl/charts/chart1.xml), which would be lost" in capsys.readouterr().err
    assert not out.exists()
    assert main(["fill", str(src), "-o", str(out), "--force"]) == 0
    assert "dropped as asked (--force): charts" in capsys.readouterr().out
    ws = openpyxl.load_workbook(out).active
    assert ws["E2"].value == ALYSSA_STAPLES and ws["A1"].comment.text == "Q3 figures, from the CRM"


def test_sparklines_are_named(tmp_path, capsys, example_path):
    with zipfile.ZipFile(example_path) as z:
        sheet = z.read("xl/worksheets/sheet1.xml")
    ext = (b'<extLst><ext uri="{05C60535-1F16-4fd2-B633-F4F36F0B64E0}" '
           b'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main"><x14:sparklineGroups>'
           b'<x14:sparklineGroup><x14:sparklines><x14:sparkline><xm:f xmlns:xm="http://schemas.microsoft.com/'
           b'office/excel/2006/main">Sales!B2:E2</xm:f><xm:sqref xmlns:xm="http://schemas.microsoft.com/office/'
           b'excel/2006/main">G2</xm:sqref></x14:sparkline></x14:sparklines></x14:sparklineGroup>'
           b'</x14:sparklineGroups></ext></extLst></worksheet>')
    src = rewrite(example_path, tmp_path / "in.xlsx",
                  replace={"xl/worksheets/sheet1.xml": sheet.replace(b"</worksheet>", ext)})
    assert main(["convert", str(src), "-o", str(tmp_path / "o.xlsx")]) == 2
    assert "holds sparklines (xl/worksheets/sheet1.xml)" in capsys.readouterr().err


def test_batch_goes_on_past_bad_files(tmp_path, example_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(example_path, folder / "good.xlsx")
    (folder / "bomb.xlsx").write_bytes(bomb_bytes())
    rewrite(example_path, folder / "chart.xlsx", add={"xl/charts/chart1.xml": b"<x/>"})
    (folder / "cut.xlsx").write_bytes((folder / "good.xlsx").read_bytes()[:3000])
    assert main(["batch", str(folder), "-o", str(tmp_path / "out"), "-j", "1"]) == 1
    captured = capsys.readouterr()
    assert "filled 2 of 4 workbooks" in captured.out
    assert "a zip bomb?" in captured.err and "cut.xlsx" in captured.err
    with zipfile.ZipFile(tmp_path / "out" / "chart.xlsx") as z:  # kept: fill edits the package in place
        assert z.read("xl/charts/chart1.xml") == b"<x/>"
