"""xlrec batch: many workbooks, in parallel, failures reported and the batch goes on."""

import csv
import hashlib
import json
import shutil

import openpyxl
import pytest

from xlrec.cli import main
from xlrec.io.batch import BatchItem, write_summary


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def inbox(tmp_path, example_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("east.xlsx", "west.xlsx", "north.xlsx"):
        shutil.copy(example_path, folder / name)
    (folder / "broken.xlsx").write_bytes(b"this is not a zip file")
    wb = openpyxl.Workbook()
    wb.active.title = "Q3"
    wb.active.append(["", "Google", "Staples"])
    wb.active.append(["Alyssa", 100, "lots"])
    wb.active.append(["Tom", None, 50])
    wb.save(folder / "typo.xlsx")
    (folder / "notes.txt").write_text("not a workbook")
    (folder / "~$east.xlsx").write_bytes(b"Excel's lock file")
    return folder


def values(path):
    ws = openpyxl.load_workbook(path).active
    return [[c.value for c in row] for row in ws.iter_rows()]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_batch_fills_reports_and_goes_on(inbox, tmp_path, capsys, jobs):
    before = {p.name: sha(p) for p in inbox.iterdir()}
    out = tmp_path / "out"
    assert main(["batch", str(inbox), "-o", str(out), "-j", jobs]) == 1  # some failed
    captured = capsys.readouterr()
    summary = out / "xlrec-summary.csv"
    assert captured.out.strip() == (f"filled 3 of 5 workbooks into {out} (18 cells); 2 failed (reasons above and "
                                    f"in the summary); summary: {summary}")
    assert f"xlrec: error: {inbox / 'broken.xlsx'}: is not an Excel workbook" in captured.err
    assert (f"xlrec: error: {inbox / 'typo.xlsx'}: Q3!C2: 'lots' is not a number" in captured.err)
    assert {p.name: sha(p) for p in inbox.iterdir()} == before  # no input touched
    assert sorted(p.name for p in out.iterdir()) == ["east.xlsx", "north.xlsx", "west.xlsx", "xlrec-summary.csv"]

    fill_alone = tmp_path / "alone.xlsx"
    assert main(["fill", str(inbox / "east.xlsx"), "-o", str(fill_alone)]) == 0
    for name in ("east.xlsx", "north.xlsx", "west.xlsx"):
        assert values(out / name) == values(fill_alone)  # the same as xlrec fill

    with open(summary, newline="", encoding="utf-8") as f:
        rows = {row["input"]: row for row in csv.DictReader(f)}
    assert list(rows) == [str(inbox / n) for n in ("broken.xlsx", "east.xlsx", "north.xlsx", "typo.xlsx",
                                                   "west.xlsx")]
    east = rows[str(inbox / "east.xlsx")]
    assert (east["status"], east["cells_filled"], east["cells_not_fillable"], east["range"], east["error"]) == (
        "filled", "6", "0", "Sales!A1:E7", "")
    assert float(east["seconds"]) > 0
    typo = rows[str(inbox / "typo.xlsx")]
    assert typo["status"] == "failed" and typo["error"].startswith("Q3!C2: 'lots' is not a number")
    assert rows[str(inbox / "broken.xlsx")]["status"] == "failed"


def test_globs_files_json_summary_and_options(inbox, tmp_path, capsys):
    out = tmp_path / "out"
    report = tmp_path / "report.json"
    assert main(["batch", str(inbox / "e*.xlsx"), str(inbox / "west.xlsx"), str(inbox / "west.xlsx"), "-o",
                 str(out), "--summary", str(report), "--weighting", "uniform", "-q"]) == 0
    assert capsys.readouterr().err == ""
    items = json.loads(report.read_text())
    assert [(i["input"], i["status"], i["cells_filled"]) for i in items] == [
        (str(inbox / "east.xlsx"), "filled", 6), (str(inbox / "west.xlsx"), "filled", 6)]
    ws = openpyxl.load_workbook(out / "west.xlsx").active
    assert ws["E2"].value == 400_000  # uniform weights reached the workers


def test_user_mistakes_stop_before_any_work(inbox, tmp_path, capsys):
    out = tmp_path / "out"
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(inbox / "east.xlsx", other / "east.xlsx")
    cases = [
        ([str(tmp_path / "missing")], "no such file or folder"),
        ([str(inbox / "*.xlsb")], "no .xlsx or .xlsm workbook matches this pattern"),
        ([str(inbox / "notes.txt")], "not an .xlsx or .xlsm workbook"),
        ([str(inbox / "east.xlsx"), str(other / "east.xlsx")], "would both be written to"),
        ([str(inbox)], "is an input; xlrec never overwrites its input"),
    ]
    for inputs, message in cases:
        target = inbox if "is an input" in message else out
        assert main(["batch", *inputs, "-o", str(target)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("xlrec: error: ") and message in err and err.count("\n") == 1
    assert not out.exists()


def test_summary_is_safe_to_open_in_a_spreadsheet(tmp_path):
    evil = ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]
    items = [BatchItem(f"{e}.xlsx", f"out/{e}.xlsx", "failed", 0, 0, 0.5, "", e) for e in evil]
    path = write_summary(items, tmp_path / "s.csv")
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert len(rows) == 1 + len(evil)
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    assert rows[1][0] == "'=HYPERLINK(\"http://x\").xlsx"  # escaped, not lost
