"""xlrec evaluate on the Northwind pivot: the table, the verdict, --json against a plain loop over the folds,
and --report: a workbook LibreOffice opens, with its charts in the file."""

import csv
import json
import os
import re
import subprocess
import zipfile

import numpy as np
import openpyxl
import pytest
from conftest import NORTHWIND
from cv_reference import plain_cross_validation, pooled
from test_libreoffice import CSV_FILTER, SOFFICE

from xlrec.cli import main
from xlrec.core.evaluate import cross_validate
from xlrec.core.matrix import SalesMatrix
from xlrec.core.models import BASELINES
from xlrec.io.report import write_report

needs_northwind = pytest.mark.skipif(not NORTHWIND.exists(), reason=f"the Northwind data is not at {NORTHWIND}")


def matrix_of(path):
    """The pivot sheet read back with openpyxl alone, as a SalesMatrix (blank cells NaN)."""
    rows = list(openpyxl.load_workbook(path).active.iter_rows(values_only=True))
    values = [[np.nan if v is None else float(v) for v in r[1:]] for r in rows[1:]]
    return SalesMatrix([r[0] for r in rows[1:]], list(rows[0][1:]), np.array(values))


def test_table_and_verdict(northwind, capsys):
    assert main(["evaluate", str(northwind)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert re.match(r"^Model +RMSE +MAE +Relative error +Coverage +Seconds per fold$", out[0])
    assert [line.split()[0] for line in out[1:6]] == ["neighbors", *BASELINES]
    for line in out[1:6]:
        assert re.match(r"^\w+ +[\d,]+ +[\d,]+ +\d+\.\d% +\d+\.\d% +\d+\.\d{3}$", line), line
    assert out[6] == ""
    assert re.match(r"^neighbors \(k=2, manhattan distance, rank weights, by salesperson\) (beats|does not beat) "
                    r"the client mean", out[7])


def test_json_equals_a_plain_loop_over_the_folds(northwind, capsys):
    assert main(["evaluate", str(northwind), "--json", "--folds", "4", "--repeats", "2", "--seed", "9"]) == 0
    got = json.loads(capsys.readouterr().out)
    matrix = matrix_of(northwind)
    assert got["bookings"] == int(matrix.known.sum()) == 464
    assert [s["model"] for s in got["scores"]] == ["neighbors", *BASELINES]
    for name in ["neighbors", *BASELINES]:
        ref = plain_cross_validation(matrix, name, {}, folds=4, repeats=2, seed=9)
        folds = [(s["repeat"], s["fold"], s["cells"], s["rmse"], s["mae"], s["coverage"])
                 for s in got["fold_scores"] if s["model"] == name]
        assert [f[:3] for f in folds] == [r[:3] for r in ref["folds"]]
        assert [x for f in folds for x in f[3:]] == pytest.approx([x for r in ref["folds"] for x in r[3:]], rel=1e-12)
        rmse, mae, coverage, typical = pooled(ref)
        score = next(s for s in got["scores"] if s["model"] == name)
        assert (score["rmse"], score["mae"], score["coverage"], score["relative"]) == \
            pytest.approx((rmse, mae, coverage, mae / typical), rel=1e-12)
    assert len(got["cells"]) == len(ref["actual"])
    assert got["verdict"].startswith("neighbors (k=2")


def test_other_models_and_options(northwind, capsys):
    assert main(["evaluate", str(northwind), "--model", "baseline", "--folds", "3"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out[1:5]] == ["baseline", "mean", "client_mean", "salesperson_mean"]
    assert main(["evaluate", str(northwind), "--k", "3", "--by", "client"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("neighbors (k=3, manhattan distance, rank weights, "
                                                               "by client)")


def test_user_mistakes_are_one_line(northwind, tmp_path, capsys):
    assert main(["evaluate", str(northwind), "--folds", "1"]) == 2
    assert capsys.readouterr().err == ("xlrec: error: folds must be a whole number of at least 2, got 1 (each fold "
                                       "holds out a share of the bookings and learns from the others)\n")
    small = tmp_path / "small.xlsx"
    wb = openpyxl.Workbook()
    for row in [["Bookings", "A", "B", "C"], ["Ann", 1, 2, 3], ["Bob", 4, None, 6], ["Cy", 7, 8, 9]]:
        wb.active.append(row)
    wb.save(small)
    assert main(["evaluate", str(small)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("xlrec: error: the matrix has 8 bookings; cross-validation needs at least 20")
    assert err.count("\n") == 1


@pytest.fixture(scope="module")
def report(northwind, tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "evaluation.xlsx"
    assert main(["evaluate", str(northwind), "--repeats", "2", "--report", str(out)]) == 0
    return out


def test_report_sheets_and_values(report):
    wb = openpyxl.load_workbook(report)
    assert wb.sheetnames == ["Summary", "Folds", "Held out"]
    s = wb["Summary"]
    assert [c.value for c in s[4]][:6] == ["Model", "RMSE", "MAE", "Relative error", "Coverage", "Seconds per fold"]
    assert [s.cell(r, 1).value for r in range(5, 10)] == ["neighbors", *BASELINES]
    assert s["A2"].value.startswith("neighbors (k=2")
    settings = {s.cell(r, 1).value: s.cell(r, 2).value for r in range(11, s.max_row + 1)}
    assert settings["Model"] == "neighbors" and settings["Folds"] == 5 and settings["Repeats"] == 2
    assert settings["Seed"] == 0 and settings["Bookings (known cells)"] == 464
    assert settings["Never held out: only booking of its client"] == 1
    assert settings["Parameters"] == "k=2, metric=manhattan, weighting=rank, by=salesperson, min_shared=1, fallback=none"
    assert wb["Folds"].max_row == 1 + 5 * 2 * 5  # 5 models x 5 folds x 2 repeats
    held = wb["Held out"]
    rows = list(held.iter_rows(min_row=2, max_col=8, values_only=True))
    rows = [r for r in rows if r[0] is not None]
    assert len(rows) == 2 * 463
    for sp, cl, actual, predicted, error, by, rep, fold in rows[:50]:
        assert isinstance(sp, str) and isinstance(cl, str)
        assert error == pytest.approx(predicted - actual)
        assert by in ("neighbors", "fallback") and rep in (1, 2) and 1 <= fold <= 5
    for ws in wb.worksheets:
        assert not any(c.data_type == "f" for row in ws.iter_rows() for c in row)


def test_report_charts_are_in_the_file(report):
    with zipfile.ZipFile(report) as z:
        charts = sorted(n for n in z.namelist() if re.match(r"xl/charts/chart\d+\.xml$", n))
        assert len(charts) == 2
        xml = {n: z.read(n).decode() for n in charts}
    kinds = {n: ("bar" if "<c:barChart>" in x or "<barChart>" in x else "scatter" if "scatterChart" in x else "?")
             for n, x in xml.items()}
    assert sorted(kinds.values()) == ["bar", "scatter"]
    bar = next(x for n, x in xml.items() if kinds[n] == "bar")
    scatter = next(x for n, x in xml.items() if kinds[n] == "scatter")
    refs = lambda x: re.findall(r"<(?:c:)?f>([^<]*)</(?:c:)?f>", x)  # noqa: E731
    assert "'Summary'!$B$5:$B$9" in refs(bar) and "'Summary'!$C$5:$C$9" in refs(bar)  # RMSE and MAE
    assert "'Summary'!$A$5:$A$9" in refs(bar)  # the model names
    n = 2 * 463 + 1
    assert f"'Held out'!$C$2:$C${n}" in refs(scatter) and f"'Held out'!$D$2:$D${n}" in refs(scatter)
    assert "'Held out'!$J$2:$J$3" in refs(scatter) and "'Held out'!$K$2:$K$3" in refs(scatter)  # y = x
    wb = openpyxl.load_workbook(report)
    line = [wb["Held out"][f"J{r}"].value for r in (2, 3)]
    assert line == [wb["Held out"][f"K{r}"].value for r in (2, 3)] and line[0] < line[1]


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed")
def test_report_opens_in_libreoffice(report, tmp_path):
    home = tmp_path / "home"
    run = subprocess.run([SOFFICE, f"-env:UserInstallation=file://{home}", "--headless", "--norestore",
                          "--convert-to", CSV_FILTER, "--outdir", str(tmp_path / "csv"), str(report)],
                         capture_output=True, text=True, timeout=300, env={**os.environ, "HOME": str(home)})
    assert run.returncode == 0, run.stderr
    wb = openpyxl.load_workbook(report)
    for sheet in wb.sheetnames:
        path = tmp_path / "csv" / f"{report.stem}-{sheet}.csv"
        assert path.exists(), f"LibreOffice did not open sheet {sheet}: {run.stdout}"
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        ws = wb[sheet]
        for r in (1, 2, 4, 5):
            v = ws.cell(r, 1).value
            if v is not None:
                assert rows[r - 1][0] == str(v)
    with open(tmp_path / "csv" / f"{report.stem}-Summary.csv", newline="", encoding="utf-8") as f:
        summary = list(csv.reader(f))
    assert float(summary[4][1]) == pytest.approx(wb["Summary"]["B5"].value, rel=1e-9)  # RMSE of the model


def test_report_names_are_text_never_formulas(tmp_path):
    rng = np.random.default_rng(1)
    x = np.round(rng.lognormal(5, 1, (6, 8)), 2)
    x[rng.random((6, 8)) < 0.3] = np.nan
    people = ["=cmd|' /C calc'!A0", "=HYPERLINK(\"http://x\")", "+1+1", "-2", "@SUM(A1)", "Ann"]
    ev = cross_validate(SalesMatrix(people, [f"=C{j}" for j in range(8)], x), "neighbors", folds=3)
    out = tmp_path / "r.xlsx"
    write_report(ev, out)
    wb = openpyxl.load_workbook(out)
    names = [c for row in wb["Held out"].iter_rows(min_row=2, max_col=2) for c in row if c.value is not None]
    assert names and all(c.data_type == "s" for c in names)
    assert {c.value for c in names[::2]} <= set(people)


def test_a_filled_workbook_is_evaluated_on_its_bookings_only(northwind, tmp_path, capsys):
    """xlrec's earlier predictions read as blanks (as predict reads them): the filled workbook gives the same
    figures as the matrix before it was filled."""
    filled = tmp_path / "filled.xlsx"
    assert main(["fill", str(northwind), "-o", str(filled)]) == 0
    capsys.readouterr()
    figures = []
    for path in (northwind, filled):
        assert main(["evaluate", str(path), "--json"]) == 0
        got = json.loads(capsys.readouterr().out)
        figures.append((got["bookings"], [(s["model"], s["rmse"], s["mae"], s["coverage"]) for s in got["scores"]]))
    assert figures[0] == figures[1] and figures[0][0] == 464


# -- cp forecasting the last quarter (--holdout last-period) -------------------------------------------------

QUARTERS = ["--salesperson", "FirstName+LastName", "--client", "CustomerID", "--amount", "Revenue",
            "--date", "OrderDate", "--period", "quarter"]


@pytest.fixture(scope="module")
def by_quarter(tmp_path_factory):
    if not NORTHWIND.exists():
        pytest.skip(f"the Northwind data is not at {NORTHWIND}")
    out = tmp_path_factory.mktemp("nwq") / "quarters.xlsx"
    assert main(["pivot", str(NORTHWIND), *QUARTERS, "-o", str(out)]) == 0
    return out


@needs_northwind
def test_last_period_holdout_on_northwind_by_quarter(capsys):
    assert main(["evaluate", str(NORTHWIND), "--model", "cp", "--holdout", "last-period", *QUARTERS]) == 0
    out = capsys.readouterr().out.splitlines()
    assert re.match(r"^Forecast +RMSE +MAE +Relative error +Coverage +Seconds$", out[0])
    assert [re.split(r" {2,}", line)[0] for line in out[1:4]] == ["cp", "last period's booking", "mean of past periods"]
    assert [re.split(r" {2,}", line)[1] for line in out[1:4]] == ["1,666", "2,468", "1,970"]  # bench_tensor's
    assert out[4] == ""
    assert out[5].startswith("cp (tensor factorization, rank 3, l2 5), forecasting 1998-Q2 from 1996-Q3 to 1998-Q1, "
                             "beats both naive forecasts: RMSE 1,666 against 2,468 (last period's booking) and "
                             "1,970 (mean of past periods), over the 60 bookings of 1998-Q2")


def test_last_period_holdout_reads_the_period_workbook_as_the_table(by_quarter, capsys):
    assert main(["evaluate", str(NORTHWIND), "--model", "cp", "--holdout", "last-period", "--json", *QUARTERS]) == 0
    from_table = json.loads(capsys.readouterr().out)
    assert main(["evaluate", str(by_quarter), "--model", "cp", "--holdout", "last-period", "--json"]) == 0
    from_book = json.loads(capsys.readouterr().out)
    # the same figures (the cells come in another order: sums agree to rounding)
    numbers = lambda d: [v for s in d["scores"] for v in (s["rmse"], s["mae"], s["relative"], s["coverage"])] + \
        [d["typical_booking"], *d["every_booking"].values()]  # noqa: E731
    assert numbers(from_book) == pytest.approx(numbers(from_table), rel=1e-12)
    cells = lambda d: sorted((c["salesperson"], c["client"], c["actual"]) for c in d["cells"])  # noqa: E731
    assert cells(from_book) == cells(from_table)
    assert from_book["verdict"] == from_table["verdict"]
    assert from_book["period"] == "1998-Q2" and from_book["held_out"] == 86 and from_book["scored"] == 60
    assert [s["model"] for s in from_book["scores"]] == ["cp", "last period's booking", "mean of past periods"]


def test_last_period_report(by_quarter, tmp_path, capsys):
    out = tmp_path / "forecast.xlsx"
    assert main(["evaluate", str(by_quarter), "--model", "cp", "--holdout", "last-period", "--report", str(out)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"report: {out}"
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["Summary", "Held out"]
    s = wb["Summary"]
    assert [s.cell(r, 1).value for r in range(4, 8)] == ["Forecast", "cp", "last period's booking",
                                                          "mean of past periods"]
    settings = {s.cell(r, 1).value: s.cell(r, 2).value for r in range(9, s.max_row + 1)}
    assert settings["Held out"] == "the last period, 1998-Q2" and settings["Bookings scored (the pair booked before)"] == 60
    rows = [r for r in wb["Held out"].iter_rows(min_row=2, max_col=8, values_only=True) if r[0] is not None]
    assert len(rows) == 86 and sum(r[7] == "yes" for r in rows) == 60
    for sp, cl, actual, forecast, error, last, mean, scored in rows:
        assert error == pytest.approx(forecast - actual)
        assert (last is None) == (mean is None) == (scored != "yes")


@pytest.mark.parametrize("extra, message", [
    (["--model", "cp", *QUARTERS], r"cross-validation over cells is for one sales matrix; to score cp on bookings "
                                   r"over periods give --holdout last-period"),
    (["--model", "mf", "--holdout", "last-period", *QUARTERS], r"give --model cp \(model 'mf' learns from one matrix"),
    (["--model", "cp", "--holdout", "last-period", "--sheet", "x"], r"leave out --sheet and --range"),
    ([*QUARTERS], r"is read by --model cp; for model 'neighbors'"),
])
def test_last_period_mistakes_are_one_line(extra, message, capsys):
    assert main(["evaluate", str(NORTHWIND), *extra]) == 2
    err = capsys.readouterr().err
    assert re.search(message, err) and err.count("\n") == 1, err


def test_cp_cross_validation_of_a_period_workbook_says_what_to_do(by_quarter, capsys):
    assert main(["evaluate", str(by_quarter), "--model", "cp"]) == 2
    assert "has a sales matrix per period (1996-Q3 to 1998-Q2)" in capsys.readouterr().err
    assert main(["evaluate", str(by_quarter), "--model", "cp", "--sheet", "1998-Q1"]) == 0  # one period's matrix
    assert capsys.readouterr().out.splitlines()[-1].startswith("cp (tensor factorization")
