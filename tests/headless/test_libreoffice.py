"""Every kind of workbook xlrec writes, opened by a real spreadsheet program: LibreOffice, headless.

One soffice run converts each output (every sheet) to CSV; the values LibreOffice shows must be the values
xlrec wrote, and the formulas xlrec left must compute what they should. Skipped only where LibreOffice is not
installed and XLREC_REQUIRE_LIBREOFFICE is unset (.ci/run installs it and sets it).
"""

import csv
import math
import os
import shutil
import subprocess
import zipfile

import openpyxl
import pytest
from conftest import ROOT
from corpus import report_workbook

from xlrec.cli import main

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
if SOFFICE is None and os.environ.get("XLREC_REQUIRE_LIBREOFFICE"):
    raise RuntimeError("LibreOffice (soffice) is required by XLREC_REQUIRE_LIBREOFFICE but is not installed")
pytestmark = pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed")

# separator, quote, UTF-8, first line, cell format, language, quoted as text, detect numbers, values not as
# formatted, no formulas, no trimming, every sheet (one CSV per sheet: NAME-SHEET.csv)
CSV_FILTER = "csv:Text - txt - csv (StarCalc):44,34,76,1,,1033,false,true,false,false,false,-1"
EXAMPLE = ROOT / "workbook_templates" / "sales_matrix.xlsx"
TEMPLATE = ROOT / "workbook_templates" / "xlrec_functions.xlsm"


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """Every kind of output workbook, converted to CSV by one soffice run: {name: (path, {sheet: rows})}."""
    d = tmp_path_factory.mktemp("lo")
    made = {}
    assert main(["fill", str(EXAMPLE), "-o", str(d / "fill.xlsx")]) == 0
    made["fill"] = d / "fill.xlsx"
    report_workbook(d / "report_in.xlsx")
    assert main(["fill", str(d / "report_in.xlsx"), "-o", str(d / "report.xlsx")]) == 0
    made["report"] = d / "report.xlsx"
    shutil.copy(TEMPLATE, d / "macro_in.xlsm")
    assert main(["fill", str(d / "macro_in.xlsm"), "-o", str(d / "macro.xlsm"), "--sheet", "Sales"]) == 0
    made["macro"] = d / "macro.xlsm"
    (d / "batch_in").mkdir()
    shutil.copy(EXAMPLE, d / "batch_in" / "team.xlsx")
    assert main(["batch", str(d / "batch_in"), "-o", str(d / "batch_out"), "-j", "1", "-q"]) == 0
    made["batch"] = d / "batch_out" / "team.xlsx"
    wb = openpyxl.load_workbook(EXAMPLE)
    ws = wb.create_sheet("Forecast")
    ws["A1"] = '=ROUND(PREDICT_BOOKING(Sales!$A$1:$E$7,"Alyssa","Staples"),2)'
    ws["A2"] = "=A1*2"
    ws["A3"] = '=EXPLAIN_BOOKING(Sales!A1:E7,"Alyssa","Staples")'
    wb.save(d / "formulas.xlsx")
    assert main(["convert", str(d / "formulas.xlsx"), "-o", str(d / "convert.xlsx")]) == 0
    made["convert"] = d / "convert.xlsx"
    assert main(["convert", str(d / "formulas.xlsx"), "-o", str(d / "values.xlsx"), "--values-only"]) == 0
    made["values"] = d / "values.xlsx"
    (d / "crm.csv").write_text("Rep,Account,Amount\nAlyssa,Google,500000\nAlyssa,Staples,1200.5\n"
                               "Tom,Google,100\nTom,Google,0.25\n", encoding="utf-8")
    assert main(["pivot", str(d / "crm.csv"), "--salesperson", "Rep", "--client", "Account", "--amount", "Amount",
                 "-o", str(d / "pivot.xlsx")]) == 0
    made["pivot"] = d / "pivot.xlsx"

    home = tmp_path_factory.mktemp("lo_home")  # a profile of its own: no clash with a running LibreOffice
    run = subprocess.run([SOFFICE, f"-env:UserInstallation=file://{home}", "--headless", "--norestore",
                          "--convert-to", CSV_FILTER, "--outdir", str(d / "csv"), *map(str, made.values())],
                         capture_output=True, text=True, timeout=300, env={**os.environ, "HOME": str(home)})
    assert run.returncode == 0, run.stderr
    result = {}
    for name, path in made.items():
        sheets = {}
        for sheet in openpyxl.load_workbook(path, read_only=True).sheetnames:
            csv_path = d / "csv" / f"{path.stem}-{sheet}.csv"
            assert csv_path.exists(), f"LibreOffice did not open {path.name} (sheet {sheet}): {run.stdout}"
            with open(csv_path, newline="", encoding="utf-8") as f:
                sheets[sheet] = list(csv.reader(f))
        result[name] = (path, sheets)
    return result


def shown(rows, address):
    cell = openpyxl.utils.cell.coordinate_from_string(address)
    col, row = openpyxl.utils.cell.column_index_from_string(cell[0]), cell[1]
    line = rows[row - 1] if row <= len(rows) else []
    return line[col - 1] if col <= len(line) else ""


def same(text, value):
    """Whether LibreOffice's text for a cell shows ``value`` (numbers to 1e-12 relative)."""
    if value is None:
        return text == ""
    if isinstance(value, bool):
        return text.upper() == str(value).upper()
    if isinstance(value, (int, float)):
        try:
            number = float(text[:-1]) / 100 if text.endswith("%") else float(text)  # percent formats stay
            return math.isclose(number, value, rel_tol=1e-12, abs_tol=1e-9)
        except ValueError:
            return False
    return text == str(value)


@pytest.mark.parametrize("name", ["fill", "report", "macro", "batch", "convert", "values", "pivot"])
def test_every_value_xlrec_wrote_is_what_libreoffice_shows(outputs, name):
    path, sheets = outputs[name]
    wb = openpyxl.load_workbook(path, keep_vba=path.suffix == ".xlsm")
    checked = 0
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, str) and c.value.startswith("=") or not isinstance(c.value, (int, float, str)):
                    continue  # formulas: checked below by what they must compute
                assert same(shown(sheets[ws.title], c.coordinate), c.value), (ws.title, c.coordinate, c.value)
                checked += 1
    assert checked >= 8


def test_filled_values_and_totals(outputs):
    rows = outputs["fill"][1]["Sales"]
    assert shown(rows, "E2") == "433333.333333333" and shown(rows, "G1") == "xlrec prediction (not an actual booking)"
    assert outputs["batch"][1]["Sales"] == rows  # batch writes what fill writes
    report = outputs["report"][1]["Q3 report"]
    # the Total column and row (=SUM formulas) now add the predictions to the bookings, computed by LibreOffice
    for r in range(4, 10):
        assert math.isclose(float(shown(report, f"F{r}")), sum(float(shown(report, f"{c}{r}")) for c in "BCDE"))
    assert math.isclose(float(shown(report, "F10")), sum(float(shown(report, f"F{r}")) for r in range(4, 10)))
    assert shown(report, "E4") == "433333.333333333"
    assert shown(outputs["macro"][1]["Sales"], "E2") == "433333.333333333"


def test_converted_formulas(outputs):
    converted = outputs["convert"][1]["Forecast"]
    assert shown(converted, "A1") == "433333.33"
    assert shown(converted, "A2") == "866666.66"  # =A1*2 stayed a formula; LibreOffice computes it
    assert [shown(converted, f"{c}4") for c in "ABCD"] == ["Mike", "0", "1", "500000"]
    assert [shown(converted, f"{c}5") for c in "ABCD"] == ["Brandon", "200000", "0.5", "300000"]
    assert openpyxl.load_workbook(outputs["convert"][0])["Forecast"]["A2"].value == "=A1*2"
    values = outputs["values"]
    assert shown(values[1]["Forecast"], "A2") == "866666.66"
    assert openpyxl.load_workbook(values[0])["Forecast"]["A2"].value == 866_666.66


def test_pivot(outputs):
    rows = outputs["pivot"][1]["Bookings"]
    assert rows[0][:3] == ["Amount by salesperson and client", "Google", "Staples"]
    assert rows[1][:3] == ["Alyssa", "500000", "1200.5"]
    assert rows[2][:3] == ["Tom", "100.25", ""]


def test_a_workbook_libreoffice_wrote_is_filled_and_opens_again(tmp_path):
    """LibreOffice writes its own flavour of the XML (shared strings, its own styles): xlrec reads and edits
    it in place, and LibreOffice opens the result."""
    home = tmp_path / "home"

    def soffice(target, *files, outdir):
        run = subprocess.run([SOFFICE, f"-env:UserInstallation=file://{home}", "--headless", "--norestore",
                              "--convert-to", target, "--outdir", str(outdir), *map(str, files)],
                             capture_output=True, text=True, timeout=300, env={**os.environ, "HOME": str(home)})
        assert run.returncode == 0, run.stderr

    soffice("ods", EXAMPLE, outdir=tmp_path)  # through LibreOffice's own format and back
    soffice("xlsx:Calc MS Excel 2007 XML", tmp_path / "sales_matrix.ods", outdir=tmp_path / "lo")
    src = tmp_path / "lo" / "sales_matrix.xlsx"
    out = tmp_path / "filled.xlsx"
    assert main(["fill", str(src), "-o", str(out)]) == 0
    with zipfile.ZipFile(out) as z:  # written in place: LibreOffice's parts kept, xlrec's notes added
        assert any(n.startswith("xl/comments") for n in z.namelist())
    soffice(CSV_FILTER, out, outdir=tmp_path / "csv")
    with open(tmp_path / "csv" / "filled-Sales.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert shown(rows, "E2") == "433333.333333333" and shown(rows, "B2") == "500000"
    assert shown(rows, "G1") == "xlrec prediction (not an actual booking)"


def test_formulas_saved_by_libreoffice_read_as_their_values(tmp_path, capsys):
    """A matrix with formula bookings, written by openpyxl (no values stored: refused, saying what to do),
    then opened and saved by LibreOffice (values stored: read as bookings, formulas left as they are)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sales"
    for row in [["Bookings", "Google", "Acme", "Zeta"], ["Alyssa", 100, 200, "=250+50"],
                ["Brandon", 100, 200, None], ["Mike", 500, "=B4+400", 700]]:
        ws.append(row)
    wb.save(tmp_path / "raw.xlsx")
    assert main(["fill", str(tmp_path / "raw.xlsx"), "-o", str(tmp_path / "x.xlsx")]) == 2
    assert "open and save it in Excel or LibreOffice" in capsys.readouterr().err
    (tmp_path / "lo").mkdir()
    subprocess.run([SOFFICE, "--headless", f"-env:UserInstallation=file://{tmp_path / 'profile'}", "--convert-to",
                    "xlsx:Calc MS Excel 2007 XML", "--outdir", str(tmp_path / "lo"), str(tmp_path / "raw.xlsx")],
                   check=True, capture_output=True, timeout=180)
    saved = tmp_path / "lo" / "raw.xlsx"
    out = tmp_path / "filled.xlsx"
    # Brandon/Zeta, k=1: Alyssa is at distance 0 and her Zeta is =250+50, 300
    assert main(["fill", str(saved), "-o", str(out), "--k", "1"]) == 0, capsys.readouterr().err
    ws = openpyxl.load_workbook(out)["Sales"]
    assert ws["D3"].value == 300
    assert ws["D2"].value == "=250+50" and ws["C4"].value == "=B4+400"
