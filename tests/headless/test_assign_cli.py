"""``xlrec assign`` end to end: the Assignment sheet (tables, chart, rest of the workbook kept), CSV and JSON,
one-line errors, and the output opened by LibreOffice headless."""

import csv
import io
import json
import os
import shutil
import subprocess

import openpyxl
import pytest
from conftest import NORTHWIND, ROOT

from xlrec.cli import main

EXAMPLE = ROOT / "workbook_templates" / "sales_matrix.xlsx"

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


def test_the_assignment_sheet_is_added_and_the_rest_kept(tmp_path, capsys):
    out = tmp_path / "out.xlsx"
    assert main(["assign", str(EXAMPLE), "-o", str(out), "--capacity", "3", "--keep-bonus", "10"]) == 0
    line = capsys.readouterr().out
    assert "sheet 'Assignment'" in line and "lift" in line
    before, after = openpyxl.load_workbook(EXAMPLE), openpyxl.load_workbook(out)
    assert after.sheetnames == before.sheetnames + ["Assignment"]
    for ws in before.worksheets:
        assert [list(r) for r in ws.iter_rows(values_only=True)] == \
            [list(r) for r in after[ws.title].iter_rows(values_only=True)]
    ws = after["Assignment"]
    assert ws["A5"].value == "Total expected bookings"
    assert len(ws._charts) == 1
    values = [list(r) for r in ws.iter_rows(values_only=True)]
    header = values.index(["Client", "Owner", "Expected bookings", "Today's owner", "Change", "Amount is", None])
    owners = [r[1] for r in values[header + 1:] if r[0]]
    assert owners and max(owners.count(o) for o in set(owners)) <= 3


def test_csv_and_json_for_pipelines_with_locks_and_forbids(tmp_path, capsys):
    matrix = openpyxl.load_workbook(EXAMPLE).active
    rows = [list(r) for r in matrix.iter_rows(values_only=True) if any(v is not None for v in r)]
    person, client = str(rows[2][0]), str(rows[0][1])
    assert main(["assign", str(EXAMPLE), "--csv", "-", "--lock", person, client]) == 0
    table = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert table[0][:2] == ["Client", "Owner"]
    assert [client, person] in [r[:2] for r in table]
    assert main(["assign", str(EXAMPLE), "--json", "-", "--forbid", person, client]) == 0
    data = json.loads(capsys.readouterr().out)
    assert not [c for c in data["clients"] if c["Client"] == client and c["Owner"] == person]
    assert data["lift"] == pytest.approx(data["total"] - data["today_total"])


def test_infeasible_capacities_are_one_line(tmp_path, capsys):
    assert main(["assign", str(EXAMPLE), "-o", str(tmp_path / "x.xlsx"), "--capacity", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("xlrec: error: ") and "but the capacities add up to 0" in err and err.count("\n") == 1
    assert not (tmp_path / "x.xlsx").exists()


@pytest.mark.skipif(SOFFICE is None and not os.environ.get("XLREC_REQUIRE_LIBREOFFICE"),
                    reason="LibreOffice (soffice) is not installed")
@pytest.mark.skipif(not NORTHWIND.exists(), reason="the Northwind data is not here")
def test_northwind_capacity_12_opens_in_libreoffice(northwind, tmp_path, capsys):
    nw = northwind
    out = tmp_path / "nw-assigned.xlsx"
    assert main(["assign", str(nw), "-o", str(out), "--capacity", "12"]) == 0
    capsys.readouterr()
    home = tmp_path / "home"
    home.mkdir()
    subprocess.run([SOFFICE, "--headless", "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1,,1033,"
                    "false,true,false,false,false,-1", "--outdir", str(tmp_path / "lo"), str(out)],
                   env={**os.environ, "HOME": str(home)}, capture_output=True, timeout=180, check=True)
    sheet = tmp_path / "lo" / "nw-assigned-Assignment.csv"
    with sheet.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[4][0] == "Total expected bookings"
    wb = openpyxl.load_workbook(out)["Assignment"]
    assert float(rows[4][1]) == pytest.approx(wb["B5"].value)
    clients = [r for r in rows if len(r) > 5 and r[5] in ("booking", "prediction", "none")]
    assert len(clients) == 89
