import hashlib
import shutil
import subprocess
import sys

import openpyxl
import pytest

from xlrec.cli import main
from xlrec.style import LEGEND_TEXT, NOTE_AUTHOR, PREDICTED_COLOR


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def book(tmp_path, example_path):
    p = tmp_path / "in.xlsx"
    shutil.copy(example_path, p)
    return p


def test_fill_example(book, tmp_path, capsys):
    before = sha(book)
    out = tmp_path / "filled.xlsx"
    assert main(["fill", str(book), "-o", str(out)]) == 0
    assert capsys.readouterr().out.strip() == f"{out}: filled 6 of 6 blank cells in Sales!A1:E7"
    assert sha(book) == before  # the input is untouched, byte for byte
    src = openpyxl.load_workbook(book).active
    ws = openpyxl.load_workbook(out).active
    assert ws["E2"].value == (500_000 + 0.5 * 300_000) / 1.5  # Alyssa / Staples, stored in full
    assert ws["E2"].fill.fgColor.rgb.endswith(PREDICTED_COLOR.lstrip("#"))
    assert ws["E2"].comment.author == NOTE_AUTHOR
    assert "Mike: 500,000 (distance 0, weight 1 = 67%)" in ws["E2"].comment.text
    assert "Brandon: 300,000 (distance 200,000, weight 0.5 = 33%)" in ws["E2"].comment.text
    assert ws["G1"].value == LEGEND_TEXT
    blanks = {(c.row, c.column) for row in src["B2:E7"] for c in row if c.value is None}
    assert len(blanks) == 6
    for row in src.iter_rows(min_row=1, max_row=7, max_col=5):
        for c in row:
            o = ws.cell(row=c.row, column=c.column)
            if (c.row, c.column) in blanks:
                assert isinstance(o.value, (int, float)) and o.comment is not None
            else:  # every known cell and label unchanged, with its style
                assert o.value == c.value and o.number_format == c.number_format and repr(o.font) == repr(c.font)
                assert o.comment is None


def test_fill_again_predicts_from_bookings_only(book, tmp_path):
    first, second = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    assert main(["fill", str(book), "-o", str(first)]) == 0
    wb = openpyxl.load_workbook(first)
    wb.active["E7"] = 100_000  # Priya / Staples: a real booking now typed over the prediction
    wb.active["E7"].comment = None
    wb.save(first)
    assert main(["fill", str(first), "-o", str(second), "--weighting", "uniform"]) == 0
    ws = openpyxl.load_workbook(second).active
    assert ws["E2"].value == 400_000  # Mike and Brandon, uniform: the earlier 433,333.33 is not a booking
    assert ws["E7"].value == 100_000 and ws["E7"].comment is None
    assert ws["G1"].value == LEGEND_TEXT and ws["H1"].value is None  # the legend is reused, not repeated


def test_options_reach_the_model(book, tmp_path):
    out = tmp_path / "u.xlsx"
    assert main(["fill", str(book), "-o", str(out), "--k", "2", "--weighting", "uniform", "--metric",
                 "euclidean", "--by", "salesperson"]) == 0
    assert openpyxl.load_workbook(out).active["E2"].value == 400_000


def test_predict_prints_the_explanation(book, capsys):
    assert main(["predict", str(book), "alyssa", "STAPLES"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("Alyssa / Staples: 433,333.33 predicted")
    assert "1. Mike: 500,000 (distance 0, weight 1," in out


@pytest.mark.parametrize("argv, message", [
    (["predict", "{book}", "Alysa", "Staples"], "unknown salesperson 'Alysa'.*did you mean 'Alyssa'"),
    (["predict", "{book}", "Alyssa", "Staple"], "unknown client 'Staple'"),
    (["fill", "{tmp}/missing.xlsx", "-o", "{tmp}/o.xlsx"], "missing.xlsx: no such file"),
    (["fill", "{book}", "-o", "{book}"], "is the input file; xlrec never overwrites its input"),
    (["fill", "{book}", "-o", "{tmp}/o.xlsx", "--sheet", "Nope"], "no sheet named 'Nope'; the workbook has: Sales"),
    (["fill", "{book}", "-o", "{tmp}/o.xlsx", "--range", "ZZ"], "is not a cell range"),
    (["fill", "{tmp}/notes.txt", "-o", "{tmp}/o.xlsx"], "reads .xlsx and .xlsm"),
    (["fill", "{tmp}/fake.xlsx", "-o", "{tmp}/o.xlsx"], "is not an Excel workbook"),
    (["fill", "{bad}", "-o", "{tmp}/o.xlsx"], r"Sales!C3: 'n/a' is not a number"),
])
def test_user_mistakes_are_one_line_and_exit_2(book, tmp_path, capsys, argv, message):
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "fake.xlsx").write_text("not a zip")
    bad = tmp_path / "bad.xlsx"
    wb = openpyxl.load_workbook(book)
    wb.active["C3"] = "n/a"
    wb.save(bad)
    argv = [a.format(book=book, tmp=tmp_path, bad=bad) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("xlrec: error: ")
    assert "Traceback" not in err
    import re

    assert re.search(message, err), err
    assert not (tmp_path / "o.xlsx").exists()


def test_console_script_and_module_entry(book, tmp_path):
    out = tmp_path / "m.xlsx"
    r = subprocess.run([sys.executable, "-m", "xlrec", "fill", str(book), "-o", str(out)], capture_output=True,
                       text=True)
    assert r.returncode == 0 and "filled 6 of 6" in r.stdout
    r = subprocess.run([sys.executable, "-m", "xlrec", "predict", str(book), "Nobody", "Staples"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.startswith("xlrec: error: unknown salesperson 'Nobody'")
    assert "Traceback" not in r.stderr


def test_ctrl_c_is_one_line_and_status_130(monkeypatch, capsys, example_path, tmp_path):
    from xlrec.io import workbook

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(workbook, "find_block", interrupted)
    assert main(["fill", str(example_path), "-o", str(tmp_path / "out.xlsx")]) == 130
    assert capsys.readouterr().err == "xlrec: interrupted\n"
    assert not list(tmp_path.iterdir())  # nothing half-written


def _bookings_csv(tmp_path):
    p = tmp_path / "bookings.csv"
    p.write_text("Rep,Account,Date,Amount\nAlyssa,Google,2024-01-15,100\nAlyssa,Google,2024-04-02,120\n"
                 "Alyssa,Staples,2024-02-01,50\nMike,Google,2024-03-30,90\nMike,Staples,2024-05-05,60\n"
                 "Mike,Staples,2024-06-05,5\n")
    return p


COLUMNS = ["--salesperson", "Rep", "--client", "Account", "--amount", "Amount", "--date", "Date", "--period",
           "quarter"]


def test_predict_cp_from_a_bookings_table_forecasts_the_next_period(tmp_path, capsys):
    from xlrec.core.models import make_model
    from xlrec.core.tensor import SalesTensor

    p = _bookings_csv(tmp_path)
    assert main(["predict", str(p), "Alyssa", "Staples", "--model", "cp", *COLUMNS]) == 0
    out = capsys.readouterr().out
    tensor = SalesTensor.from_rows([("Alyssa", "Google", "2024-Q1", 100), ("Alyssa", "Google", "2024-Q2", 120),
                                    ("Alyssa", "Staples", "2024-Q1", 50), ("Mike", "Google", "2024-Q1", 90),
                                    ("Mike", "Staples", "2024-Q2", 65)])
    want = make_model("cp").fit(tensor).predict("Alyssa", "Staples", "2024-Q3")
    assert out.strip() == want.text() and "period 2024-Q3 (forecast 1 period ahead" in out
    assert main(["predict", str(p), "Mike", "Staples", "--model", "cp", *COLUMNS, "--for", "2024-Q2"]) == 0
    assert capsys.readouterr().out.startswith("Mike / Staples: 65 (an actual booking")


@pytest.mark.parametrize("extra, message", [
    ([], r"is read by --model cp; for model 'neighbors'"),
    (["--model", "cp", "--for", "1999-Q1"], r"unknown period '1999-Q1': the bookings run from 2024-Q1 to 2024-Q2"),
    (["--model", "cp", "--rank", "0"], r"rank must be a whole number from 1 to 1000"),
])
def test_predict_cp_mistakes_are_one_line(tmp_path, capsys, extra, message):
    import re

    p = _bookings_csv(tmp_path)
    with pytest.raises(SystemExit) if "--rank" in extra else _nothing():
        assert main(["predict", str(p), "Alyssa", "Staples", *COLUMNS, *extra]) == 2
    err = capsys.readouterr().err
    assert re.search(message, err), err


def _nothing():
    import contextlib

    return contextlib.nullcontext()


def test_predict_cp_from_a_workbook_of_period_sheets_agrees_with_the_table(tmp_path, capsys):
    p = _bookings_csv(tmp_path)
    book = tmp_path / "periods.xlsx"
    assert main(["pivot", str(p), "-o", str(book), *COLUMNS]) == 0
    capsys.readouterr()
    assert main(["predict", str(book), "Alyssa", "Staples", "--model", "cp"]) == 0
    from_book = capsys.readouterr().out
    assert main(["predict", str(p), "Alyssa", "Staples", "--model", "cp", *COLUMNS]) == 0
    assert capsys.readouterr().out == from_book
