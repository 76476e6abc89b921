"""``xlrec assign`` end to end: the Assignment sheet (tables, chart, rest of the workbook kept), CSV and JSON,
one-line errors, and the output opened by LibreOffice headless."""

import csv
import io
import json
import os
import re
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
    subprocess.run([SOFFICE, "--headless", "--convert-to", ("csv:Text - txt - csv (StarCalc):44,34,76,1,,1033,"
                                                             "false,true,false,false,false,-1"), "--outdir", str(tmp_path / "lo"), str(out)],
                   env={**os.environ, "HOME": str(home)}, capture_output=True, timeout=180, check=True)
    sheet = tmp_path / "lo" / "nw-assigned-Assignment.csv"
    with sheet.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[4][0] == "Total expected bookings"
    wb = openpyxl.load_workbook(out)["Assignment"]
    assert float(rows[4][1]) == pytest.approx(wb["B5"].value)
    clients = [r for r in rows if len(r) > 5 and r[5] in ("booking", "prediction", "none")]
    assert len(clients) == 89


# -- every option against a brute-force enumeration --------------------------------------------------------------
# A matrix with every cell known, so the expected bookings are the bookings themselves: the optimum is found by
# enumerating all 3**4 assignments (itertools.product) and keeping those that meet the constraints.

PEOPLE, CLIENTS = ["Ann", "Ben", "Cy"], ["C1", "C2", "C3", "C4"]
BOOKINGS = [[29, 2, 14, 29], [23, 25, 2, 2], [12, 12, 6, 8]]
TODAY = [0, 1, 0, 0]  # the largest booking of each client (C1 and C4: Ann's 29)


def _brute_force(capacity=(4, 4, 4), minimum=(0, 0, 0), today=TODAY, bonus=0.0, locks=(), forbids=(),
                 max_share=None):
    """{client: owner} of the one best assignment, and its total bookings."""
    import itertools

    best, winners = None, []
    for owners in itertools.product(range(3), repeat=4):
        counts = [owners.count(i) for i in range(3)]
        totals = [sum(BOOKINGS[i][j] for j, o in enumerate(owners) if o == i) for i in range(3)]
        if any(c > u or c < lo for c, u, lo in zip(counts, capacity, minimum)):
            continue
        if any(owners[j] != i for i, j in locks) or any(owners[j] == i for i, j in forbids):
            continue
        if max_share is not None and max(totals) > max_share * sum(totals):
            continue
        score = sum(totals) + bonus * sum(owners[j] == today[j] for j in range(4))
        if best is None or score > best:
            best, winners = score, [owners]
        elif score == best:
            winners.append(owners)
    assert len(winners) == 1, winners  # one optimum: the case needs no tie rule
    owners = winners[0]
    return {CLIENTS[j]: PEOPLE[i] for j, i in enumerate(owners)}, sum(BOOKINGS[i][j] for j, i in enumerate(owners))


@pytest.fixture
def full(tmp_path):
    """A workbook: the matrix on sheet Sales, a capacities table on sheet Caps."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sales"
    ws.append(["Bookings"] + CLIENTS)
    for name, row in zip(PEOPLE, BOOKINGS):
        ws.append([name] + row)
    caps = wb.create_sheet("Caps")
    for row in (["Salesperson", "Capacity", "Minimum"], ["Ann", 1, None], ["Ben", 2, None], ["Cy", 2, 1]):
        caps.append(row)
    path = tmp_path / "full.xlsx"
    wb.save(path)
    return path


def _csv_owners(text):
    head, *rows = list(csv.reader(io.StringIO(text)))
    assert head == ["Client", "Owner", "Expected bookings", "Today's owner", "Change", "Amount is"]
    return {r[0]: r[1] for r in rows}, rows


def _run(capsys, path, *options):
    assert main(["assign", str(path), "--csv", "-", *options]) == 0
    return _csv_owners(capsys.readouterr().out)


def test_the_brute_force_cases_differ():
    """The constraints below change the optimum (else the tests that use them could not fail)."""
    free = _brute_force()[0]
    assert free == {"C1": "Ann", "C2": "Ben", "C3": "Ann", "C4": "Ann"}  # by hand: each client's largest booking
    for kw in ({"capacity": (1, 2, 2), "minimum": (0, 0, 1)}, {"capacity": (2, 2, 2)}, {"max_share": 0.5},
               {"minimum": (0, 0, 1)}, {"locks": [(2, 0)]}, {"forbids": [(0, 0)]}):
        assert _brute_force(**kw)[0] != free, kw


def test_capacities_from_a_csv_file(full, tmp_path, capsys):
    table = tmp_path / "caps.csv"
    table.write_text("salesperson,capacity,minimum\nAnn,1,\nBen,2,\nCy,2,1\n", encoding="utf-8")
    owners, rows = _run(capsys, full, "--capacities", str(table))
    assert owners == _brute_force(capacity=(1, 2, 2), minimum=(0, 0, 1))[0]
    for client, owner, amount, today, change, source in rows:  # each row's own facts, by hand
        i, j = PEOPLE.index(owner), CLIENTS.index(client)
        assert float(amount) == BOOKINGS[i][j] and source == "booking"
        assert today == PEOPLE[TODAY[j]] and change == ("kept" if TODAY[j] == i else "moved")


def test_capacities_from_a_range_of_the_workbook(full, capsys):
    assert _run(capsys, full, "--capacities", "Caps!A1:C4")[0] == \
        _brute_force(capacity=(1, 2, 2), minimum=(0, 0, 1))[0]


def test_capacities_table_with_one_capacity_for_the_others(full, tmp_path, capsys):
    table = tmp_path / "caps.csv"
    table.write_text("Ann,1\n", encoding="utf-8")  # no header: Ann 1, the others --capacity 2
    assert _run(capsys, full, "--capacities", str(table), "--capacity", "2")[0] == \
        _brute_force(capacity=(1, 2, 2))[0]


def test_capacity_min_clients_and_max_share(full, capsys):
    assert _run(capsys, full, "--capacity", "2")[0] == _brute_force(capacity=(2, 2, 2))[0]
    assert _run(capsys, full, "--min-clients", "1")[0] == _brute_force(minimum=(1, 1, 1))[0]
    assert _run(capsys, full, "--max-share", "50%")[0] == _brute_force(max_share=0.5)[0]
    assert _run(capsys, full, "--max-share", "0.5")[0] == _brute_force(max_share=0.5)[0]


def test_locks_and_forbids_from_the_command_line(full, capsys):
    assert _run(capsys, full, "--lock", "Cy", "C1")[0] == _brute_force(locks=[(2, 0)])[0]
    assert _run(capsys, full, "--forbid", "Ann", "C1", "--forbid", "Ann", "C4")[0] == \
        _brute_force(forbids=[(0, 0), (0, 3)])[0]
    assert _run(capsys, full, "--lock", "Ben", "C4", "--forbid", "Ann", "C3", "--capacity", "2")[0] == \
        _brute_force(capacity=(2, 2, 2), locks=[(1, 3)], forbids=[(0, 2)])[0]


def test_an_owners_table_sets_todays_owners_and_the_keep_bonus_follows_them(full, tmp_path, capsys):
    table = tmp_path / "owners.csv"
    table.write_text("Client,Salesperson\nC1,Cy\nC3,Cy\n", encoding="utf-8")
    today = [2, 1, 2, 0]  # C1 and C3 from the table, C2 and C4 their largest booking
    expected, _ = _brute_force(capacity=(2, 2, 2), today=today, bonus=10)
    assert expected != _brute_force(capacity=(2, 2, 2), bonus=10)[0]  # the table matters
    owners, rows = _run(capsys, full, "--owners", str(table), "--capacity", "2", "--keep-bonus", "10")
    assert owners == expected
    assert {r[0]: r[3] for r in rows} == {c: PEOPLE[today[j]] for j, c in enumerate(CLIENTS)}


def test_json_totals_and_lift_against_the_brute_force(full, tmp_path, capsys):
    target = tmp_path / "out.json"
    assert main(["assign", str(full), "--json", str(target), "--capacity", "2"]) == 0
    assert "lift" in capsys.readouterr().out  # the summary line, as the JSON went to a file
    data = json.loads(target.read_text(encoding="utf-8"))
    owners, total = _brute_force(capacity=(2, 2, 2))
    today_total = sum(BOOKINGS[i][j] for j, i in enumerate(TODAY))  # 29 + 25 + 14 + 29 = 97
    assert today_total == 97
    assert {c["Client"]: c["Owner"] for c in data["clients"]} == owners
    assert data["total"] == total and data["today_total"] == today_total and data["lift"] == total - today_total
    people = {p["Salesperson"]: p for p in data["salespeople"]}
    assert {name: people[name]["Clients"] for name in PEOPLE} == \
        {name: list(owners.values()).count(name) for name in PEOPLE}
    assert all(people[name]["Capacity"] == 2 for name in PEOPLE)


def test_csv_to_a_file_and_the_workbook_together(full, tmp_path, capsys):
    table, out = tmp_path / "owners.csv", tmp_path / "out.xlsx"
    assert main(["assign", str(full), "--csv", str(table), "-o", str(out), "--capacity", "2"]) == 0
    assert "sheet 'Assignment'" in capsys.readouterr().out
    owners, _ = _csv_owners(table.read_text(encoding="utf-8"))
    assert owners == _brute_force(capacity=(2, 2, 2))[0]
    ws = openpyxl.load_workbook(out)["Assignment"]
    values = [list(r) for r in ws.iter_rows(values_only=True)]
    header = next(k for k, r in enumerate(values) if r[:2] == ["Client", "Owner"])
    assert {r[0]: r[1] for r in values[header + 1:] if r[0]} == owners


def test_no_assignment_meets_max_share_40_percent():
    import itertools

    def shares(owners):
        totals = [sum(BOOKINGS[i][j] for j, o in enumerate(owners) if o == i) for i in range(3)]
        return max(totals) / sum(totals)

    assert min(shares(o) for o in itertools.product(range(3), repeat=4)) > 0.4


@pytest.mark.parametrize("options, message", [
    (["--capacity", "1"], r"4 clients but the capacities add up to 3 \(short by 1\)"),
    (["--min-clients", "2"], r"the minimums add up to 6 clients but there are 4 clients \(over by 2\)"),
    (["--capacities", "Caps!A1:B2", "--capacity", "0"], r"4 clients but the capacities add up to 1 \(short by 3\)"),
    (["--lock", "Ann", "C1", "--forbid", "Ann", "C1"], r"'Ann' / 'C1' is both locked and forbidden"),
    (["--lock", "Ann", "C1", "--lock", "Ann", "C2", "--capacity", "1", "--owners-per-client", "1"],
     r"(salesperson 'Ann': 2 locked clients but a capacity of 1 \(over by 1\)|short by)"),
    (["--forbid", "Ann", "C2", "--forbid", "Ben", "C2", "--forbid", "Cy", "C2"],
     r"client 'C2': 3 of the 3 salespeople are forbidden, leaving 0 for 1 owner"),
    (["--max-share", "0.3"], r"max-share 0.3 with 3 salespeople: .*at least 0.3333"),
    # no assignment has every salesperson at or under 40% (the enumeration below proves it)
    (["--max-share", "40%"], r"no assignment keeps every salesperson's expected bookings within max-share 0.4"),
    # C1, C2 and C3 may go to Cy alone, whose capacity is 2: three of the four clients can have an owner
    (["--capacities", "Caps!A1:C4", *[a for c in ("C1", "C2", "C3") for p in ("Ann", "Ben") for a in ("--forbid", p, c)]],
     r"only 3 of the 4 client places can be filled .*\(short by 1\)"),
])
def test_infeasible_inputs_are_one_line_naming_the_constraint(full, tmp_path, capsys, options, message):
    out = tmp_path / "x.xlsx"
    assert main(["assign", str(full), "-o", str(out), *options]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and captured.err.startswith("xlrec: error: ")
    assert re.search(message, captured.err), captured.err
    assert not out.exists()
