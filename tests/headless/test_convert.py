"""xlrec convert: xlrec formulas become their values; everything else stays as it was."""

import hashlib
import re
import zipfile

import openpyxl
import pytest
from openpyxl.styles import Font
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.formula import ArrayFormula
from openpyxl.worksheet.table import Table

from xlrec.cli import main
from xlrec.io.formulas import Evaluator, Unsupported, XlError, parse

ALYSSA_STAPLES = 433_333.33333333333  # (500,000 + 0.5 x 300,000) / 1.5, the article's rank-weighted k=2


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def book(tmp_path, example_path):
    """The example matrix on Sales!A1:E7 and a Forecast sheet of xlrec formulas written in many ways."""
    wb = openpyxl.load_workbook(example_path)
    wb.defined_names["SalesMatrix"] = DefinedName("SalesMatrix", attr_text="Sales!$A$1:$E$7")
    ws = wb.create_sheet("Forecast")
    ws["A1"], ws["B1"], ws["C1"] = "Alyssa", "=Sales!A2", "=Sales!E1"  # names read through formulas
    ws["A2"] = '=PREDICT_BOOKING(Sales!$A$1:$E$7,"Alyssa","Staples")'  # absolute reference, other sheet
    ws["A2"].number_format = "#,##0.00"
    ws["A2"].font = Font(bold=True)
    ws["A3"] = "=ROUND(PREDICT_BOOKING(Sales!A1:E7,B1,C1),-3)"  # nested, relative, arguments are formulas
    ws["A4"] = '=PREDICT_BOOKING(SalesMatrix,"Bob",C1)'  # a defined name; an unknown salesperson
    ws["A5"] = "=A2*2"  # not an xlrec formula: stays a formula
    ws["A6"] = '=PREDICT_BOOKING(Sales!A1:E7,A1,C1,2,"manhattan","uniform")'
    ws["A7"] = "=_xludf.PREDICT_BOOKING(Sales!A1:E7,$A$1,C$1)"  # how Excel saves a function it did not know
    ws["A8"] = '=IFERROR(PREDICT_BOOKING(Sales!A1:E7,"Bob","Staples"),"no such person")'
    ws["A9"] = '=PREDICT_BOOKING(Sales!A1:E7,"Mike","Google")'  # a known booking is returned as it is
    wb.save(tmp_path / "forecast.xlsx")
    return tmp_path / "forecast.xlsx"


def sheet_values(path, sheet):
    return {c.coordinate: c.value for row in openpyxl.load_workbook(path)[sheet].iter_rows() for c in row}


def test_xlrec_formulas_become_values(book, tmp_path, capsys):
    before = sha(book)
    out = tmp_path / "out.xlsx"
    assert main(["convert", str(book), "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip().startswith(f"{out}: converted 7 formula cells to values; 1 show an error value "
                                           "(Forecast!A4: #N/A: unknown salesperson 'Bob'")
    assert "xlrec: Forecast!A4: shows #N/A: unknown salesperson 'Bob'" in captured.err
    assert sha(book) == before
    ws = openpyxl.load_workbook(out)["Forecast"]
    assert ws["A2"].value == pytest.approx(ALYSSA_STAPLES, rel=1e-15)
    assert ws["A2"].number_format == "#,##0.00" and ws["A2"].font.b  # the cell keeps its style
    assert ws["A3"].value == 433_000  # ROUND(433,333.33, -3)
    assert ws["A4"].value == "#N/A" and ws["A4"].data_type == "e"  # Excel's error value, not text
    assert ws["A5"].value == "=A2*2"  # other formulas stay formulas
    assert ws["A6"].value == 400_000  # uniform: (500,000 + 300,000) / 2
    assert ws["A7"].value == pytest.approx(ALYSSA_STAPLES, rel=1e-15)
    assert ws["A8"].value == "no such person"
    assert ws["A9"].value == 500_000
    assert ws["B1"].value == "=Sales!A2" and ws["C1"].value == "=Sales!E1"
    assert sheet_values(out, "Sales") == sheet_values(book, "Sales")
    wb = openpyxl.load_workbook(out)
    assert wb.defined_names["SalesMatrix"].attr_text == "Sales!$A$1:$E$7"


def test_values_only_and_what_cannot_be_evaluated(book, tmp_path, capsys):
    wb = openpyxl.load_workbook(book)
    ws = wb["Forecast"]
    ws["B10"] = "=VLOOKUP(A1,Sales!A1:E7,2,FALSE)"
    ws["B11"] = "=PREDICT_BOOKING(Sales!A1:E7,HYPERLINK(A1),C1)"  # an unknown function inside an xlrec call
    ws["B12"] = "=PREDICT_BOOKING(Sales!A1:E7,B12,C1)"  # refers to itself
    wb.save(book)
    out = tmp_path / "values.xlsx"
    assert main(["convert", str(book), "-o", str(out), "--values-only"]) == 1  # some could not be evaluated
    captured = capsys.readouterr()
    assert ("xlrec: Forecast!B10: =VLOOKUP(A1,Sales!A1:E7,2,FALSE) was left as a formula: the function VLOOKUP "
            "is not one xlrec convert evaluates") in captured.err
    assert "xlrec: Forecast!B11: =PREDICT_BOOKING(Sales!A1:E7,HYPERLINK(A1),C1) was left as a formula" in captured.err
    assert "xlrec: Forecast!B12: =PREDICT_BOOKING(Sales!A1:E7,B12,C1) was left as a formula: circular" in captured.err
    assert "3 left as formulas" in captured.out
    got = sheet_values(out, "Forecast")
    assert got["A5"] == pytest.approx(2 * ALYSSA_STAPLES)  # every formula evaluated...
    assert (got["B1"], got["C1"]) == ("Alyssa", "Staples")
    assert got["B10"] == "=VLOOKUP(A1,Sales!A1:E7,2,FALSE)"  # ...but none dropped
    assert got["B11"].startswith("=PREDICT_BOOKING") and got["B12"].startswith("=PREDICT_BOOKING")


def test_tables_fill_their_array_range_or_spill(book, tmp_path, capsys):
    wb = openpyxl.load_workbook(book)
    ws = wb["Forecast"]
    ws["F1"] = ArrayFormula("F1:I5", "=EXPLAIN_BOOKING(Sales!A1:E7,A1,C1)")  # one row too many: #N/A
    ws["A20"] = "=EXPLAIN_BOOKING(Sales!A1:E7,A1,C1)"  # spills into A20:D23
    ws["F20"] = "=FILL_MATRIX(Sales!A1:E7)"
    ws["G21"] = "in the way"
    ws["A30"] = '=SIMILAR_SALESPEOPLE(Sales!A1:E7,"Alyssa",2)'
    ws["E30"] = '=RECOMMEND_CLIENTS(Sales!A1:E7,"Priya")'
    wb.save(book)
    out = tmp_path / "tables.xlsx"
    assert main(["convert", str(book), "-o", str(out)]) == 0
    assert "xlrec: Forecast!F20: shows #SPILL!: the table needs F20:J26 and G21 is not empty" in capsys.readouterr().err
    ws = openpyxl.load_workbook(out)["Forecast"]
    table = [[c.value for c in row] for row in ws["F1:I5"]]
    explained = [["Neighbour", "Distance", "Weight", "Booking"], ["Mike", 0, 1, 500_000],
                 ["Brandon", 200_000, 0.5, 300_000], ["Prediction", None, None, pytest.approx(ALYSSA_STAPLES)]]
    assert table == explained + [["#N/A"] * 4]
    assert [[c.value for c in row] for row in ws["A20:D23"]] == explained
    assert ws["F20"].value == "#SPILL!" and ws["G21"].value == "in the way"
    # Alyssa's distances: Mike 0 (shared Google, Capgemini), Brandon |0| + |400,000 - 200,000| = 200,000
    assert [[c.value for c in row] for row in ws["A30:C32"]] == [
        ["Salesperson", "Distance", "Shared clients"], ["Mike", 0, 2], ["Brandon", 200_000, 2]]
    assert [c.value for c in ws["E30:F30"][0]] == ["Client", "Predicted bookings"]
    assert {ws["E31"].value, ws["E32"].value} == {"Capgemini", "Staples"}


def test_structured_reference_to_a_table(tmp_path, example_path):
    wb = openpyxl.load_workbook(example_path)
    wb["Sales"].add_table(Table(displayName="Bookings", ref="A1:E7"))
    wb["Sales"]["A1"] = "Salesperson"  # a table needs a header in every column
    wb["Sales"]["H1"] = '=PREDICT_BOOKING(Bookings[#All],"Alyssa","Staples")'
    wb.save(tmp_path / "t.xlsx")
    assert main(["convert", str(tmp_path / "t.xlsx"), "-o", str(tmp_path / "o.xlsx")]) == 0
    ws = openpyxl.load_workbook(tmp_path / "o.xlsx")["Sales"]
    assert ws["H1"].value == pytest.approx(ALYSSA_STAPLES)
    assert "Bookings" in ws.tables


def test_saved_value_of_a_formula_it_cannot_evaluate(tmp_path, example_path, capsys):
    """A referenced cell holding an unknown function is read from the value Excel saved with it."""
    wb = openpyxl.load_workbook(example_path)
    ws = wb.create_sheet("F")
    ws["A1"] = '=VLOOKUP("Alyssa",Sales!A1:A7,1,FALSE)'
    ws["A2"] = '=PREDICT_BOOKING(Sales!A1:E7,A1,"Staples")'
    wb.save(tmp_path / "plain.xlsx")
    # give A1 the value Excel would have saved beside its formula
    with zipfile.ZipFile(tmp_path / "plain.xlsx") as src, zipfile.ZipFile(tmp_path / "saved.xlsx", "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet2.xml":
                data, n = re.subn(rb'<c r="A1"( t="\w+")?>(<f>.*?</f>)<v\s*/>', rb'<c r="A1" t="str">\2<v>Alyssa</v>',
                                  data)
                if n == 0:
                    data, n = re.subn(rb'<c r="A1"( t="\w+")?>(<f>.*?</f>)(<v></v>)?</c>',
                                      rb'<c r="A1" t="str">\2<v>Alyssa</v></c>', data)
                assert n == 1, data
            dst.writestr(item, data)
    assert main(["convert", str(tmp_path / "saved.xlsx"), "-o", str(tmp_path / "o.xlsx")]) == 0
    assert "xlrec: F!A1: could not be evaluated (the function VLOOKUP is not one xlrec convert evaluates); used " \
           "the value Excel saved, 'Alyssa'" in capsys.readouterr().err
    ws = openpyxl.load_workbook(tmp_path / "o.xlsx")["F"]
    assert ws["A2"].value == pytest.approx(ALYSSA_STAPLES)
    assert ws["A1"].value.startswith("=VLOOKUP")  # not an xlrec formula: it stays

    # without a saved value, the xlrec formula that needs it cannot be evaluated, and says why
    assert main(["convert", str(tmp_path / "plain.xlsx"), "-o", str(tmp_path / "o2.xlsx")]) == 1
    err = capsys.readouterr().err
    assert "xlrec: F!A2: =PREDICT_BOOKING(Sales!A1:E7,A1,\"Staples\") was left as a formula: it uses F!A1" in err


@pytest.mark.parametrize("formula, expected", [
    ("=-2^2", 4.0),  # negation binds tighter than ^ in Excel
    ("=2+3*4", 14.0),
    ("=(2+3)*4", 20.0),
    ("=2^3^2", 64.0),  # left to right
    ("=50%*10", 5.0),
    ('="a"&1&TRUE', "a1TRUE"),
    ('="abc"="ABC"', True),  # text compares without case
    ("=1<\"a\"", True),  # numbers sort before text
    ("=ROUND(2.5,0)", 3.0),  # half away from zero, not to even
    ("=ROUND(-2.5,0)", -3.0),
    ("=ROUND(433333.333,-3)", 433_000.0),
    ("=ROUND(1.005,2)", 1.01),  # decimal, as Excel shows it (binary float would give 1.0)
    ("=ROUNDDOWN(-1.99,0)", -1.0),
    ("=ROUNDUP(1.01,0)", 2.0),
    ("=INT(-1.5)", -2.0),
    ("=SUM(1,2,{3,4})", 10.0),
    ("=AVERAGE(2,4)", 3.0),
    ("=IF(1>2,\"yes\",\"no\")", "no"),
    ("=IF(TRUE,1,1/0)", 1.0),  # the branch not taken is not evaluated
    ("=IFERROR(1/0,-1)", -1.0),
    ("=1/0", XlError("#DIV/0!")),
    ("=IFNA(NA(),7)", 7.0),
    ('=TRIM("  a   b ")', "a b"),
    ('=UPPER("x")&LOWER("Y")', "Xy"),
    ("=INDEX({1,2;3,4},2,1)", 3.0),
    ("=AND(1,TRUE,0)", False),
])
def test_evaluator(formula, expected):
    assert Evaluator(lambda ref, sheet: None).evaluate(parse(formula), "S") == expected


@pytest.mark.parametrize("formula", ["=VLOOKUP(1,A1:B2,2)", "=[1]Sheet1!A1+1", "=SUM(A1", "=A1:B2 B1:C2"])
def test_evaluator_refuses_what_it_does_not_know(formula):
    with pytest.raises(Unsupported):
        Evaluator(lambda ref, sheet: 1.0 if "!" not in ref else (_ for _ in ()).throw(Unsupported(ref))).evaluate(
            parse(formula), "S")


def test_evaluate_model_converts_to_its_table(tmp_path, capsys):
    """convert knows every function of xlrec.functions.FUNCTIONS, EVALUATE_MODEL included: its table spills
    from the formula's cell, the same figures as the core's cross-validation."""
    import numpy as np

    from xlrec.core.evaluate import cross_validate
    from xlrec.core.matrix import SalesMatrix

    rng = np.random.default_rng(4)
    values = np.round(rng.lognormal(9, 1, (7, 6)), 2)
    values[rng.random((7, 6)) < 0.25] = np.nan
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sales"
    ws.append(["Bookings"] + [f"Client {j}" for j in range(6)])
    for i, row in enumerate(values):
        ws.append([f"Rep {i}"] + [None if np.isnan(v) else float(v) for v in row])
    wb.create_sheet("Check")["B2"] = '=EVALUATE_MODEL(Sales!A1:G8,"neighbors",4)'
    wb.save(tmp_path / "in.xlsx")
    assert main(["convert", str(tmp_path / "in.xlsx"), "-o", str(tmp_path / "out.xlsx")]) == 0, capsys.readouterr()
    out = openpyxl.load_workbook(tmp_path / "out.xlsx")["Check"]
    expected = cross_validate(SalesMatrix([f"Rep {i}" for i in range(7)], [f"Client {j}" for j in range(6)], values),
                              "neighbors", folds=4)
    got = [[c.value for c in row] for row in out.iter_rows(min_row=2, max_row=7, min_col=2, max_col=7)]
    assert got[0] == expected.table()[0]
    for g, want in zip(got[1:], expected.table()[1:]):
        assert g[0] == want[0] and g[1:5] == pytest.approx(want[1:5], rel=1e-12)
    assert out["B9"].value == expected.verdict()
