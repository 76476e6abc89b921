"""xlrec pivot: CRM-style booking lines summed into a sales matrix workbook."""

import csv
import gzip
import math
from collections import defaultdict

import openpyxl
import pytest
from conftest import DATA

from xlrec.cli import main

NORTHWIND = DATA / "northwind" / "order_lines.csv"
RETAIL = DATA / "online_retail" / "transactions.csv.gz"
needs_northwind = pytest.mark.skipif(not NORTHWIND.exists(), reason=f"the Northwind data is not at {NORTHWIND}")
needs_retail = pytest.mark.skipif(not RETAIL.exists(), reason=f"the Online Retail data is not at {RETAIL}")


def matrix_of(ws):
    """{(row label, column label): value} and the labels, read back from a pivot sheet."""
    rows = list(ws.iter_rows(values_only=True))
    clients = rows[0][1:]
    cells = {(r[0], c): v for r in rows[1:] for c, v in zip(clients, r[1:]) if v is not None}
    return [r[0] for r in rows[1:]], list(clients), cells


@needs_northwind
def test_northwind_9_by_89_total_is_the_revenue_sum(tmp_path, capsys):
    with open(NORTHWIND, newline="") as f:
        lines = list(csv.DictReader(f))
    revenue = math.fsum(float(r["Revenue"]) for r in lines)
    expected = defaultdict(list)
    for r in lines:
        expected[(f"{r['FirstName']} {r['LastName']}", r["CustomerID"])].append(float(r["Revenue"]))

    out = tmp_path / "matrix.xlsx"
    assert main(["pivot", str(NORTHWIND), "--salesperson", "FirstName+LastName", "--client", "CustomerID",
                 "--amount", "Revenue", "-o", str(out)]) == 0
    assert capsys.readouterr().out.strip() == (
        f"{out}: 2,155 booking lines; Bookings: 9 x 89 matrix, total {revenue:,.2f}")
    people, clients, cells = matrix_of(openpyxl.load_workbook(out).active)
    assert (len(people), len(clients)) == (9, 89)
    assert "Nancy Davolio" in people and "ALFKI" in clients
    assert math.isclose(math.fsum(cells.values()), revenue, rel_tol=1e-12)
    assert cells.keys() == expected.keys()
    for key, values in expected.items():
        assert cells[key] == pytest.approx(math.fsum(values), rel=1e-12, abs=1e-9)

    filled = tmp_path / "filled.xlsx"
    assert main(["fill", str(out), "-o", str(filled)]) == 0
    summary = capsys.readouterr().out
    blanks = 9 * 89 - len(cells)
    assert f"filled {blanks} of {blanks} blank cells in Bookings!A1:CL10" in summary
    ws = openpyxl.load_workbook(filled).active
    assert all(isinstance(c.value, (int, float)) for row in ws["B2:CL10"] for c in row)


@needs_northwind
def test_northwind_by_quarter(tmp_path, capsys):
    with open(NORTHWIND, newline="") as f:
        lines = list(csv.DictReader(f))
    per_quarter = defaultdict(list)
    for r in lines:
        year, month = int(r["OrderDate"][:4]), int(r["OrderDate"][5:7])
        per_quarter[f"{year}-Q{(month - 1) // 3 + 1}"].append(float(r["Revenue"]))
    out = tmp_path / "quarters.xlsx"
    assert main(["pivot", str(NORTHWIND), "--salesperson", "FirstName+LastName", "--client", "CustomerID",
                 "--amount", "Revenue", "--date", "OrderDate", "--period", "quarter", "-o", str(out)]) == 0
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == sorted(per_quarter) == ["1996-Q3", "1996-Q4", "1997-Q1", "1997-Q2", "1997-Q3",
                                                    "1997-Q4", "1998-Q1", "1998-Q2"]
    for name in wb.sheetnames:
        _, _, cells = matrix_of(wb[name])
        assert math.fsum(cells.values()) == pytest.approx(math.fsum(per_quarter[name]), rel=1e-12)


@needs_retail
def test_online_retail_clients_by_product(tmp_path, capsys):
    """Clients x products from the first 5,000 invoice lines (the full file takes ~25 s: see bench/)."""
    sample = tmp_path / "retail.csv.gz"
    with gzip.open(RETAIL, "rt", newline="") as f, gzip.open(sample, "wt", newline="") as g:
        for i, line in enumerate(f):
            if i > 5_000:
                break
            g.write(line)
    with gzip.open(sample, "rt", newline="") as f:
        lines = list(csv.DictReader(f))
    kept = [r for r in lines if r["CustomerID"].strip()]
    expected = defaultdict(list)
    for r in kept:
        customer = str(int(float(r["CustomerID"])))  # 17850.0 in the file is customer 17850
        expected[(customer, r["StockCode"].strip().upper())].append(float(r["Quantity"]) * float(r["UnitPrice"]))

    out = tmp_path / "matrix.xlsx"
    assert main(["pivot", str(sample), "--salesperson", "CustomerID", "--client", "StockCode",
                 "--amount", "Quantity*UnitPrice", "-o", str(out)]) == 0
    summary = capsys.readouterr().out
    assert f"{len(lines):,} booking lines" in summary
    assert f"left out: {len(lines) - len(kept):,} with no salesperson" in summary
    people, clients, cells = matrix_of(openpyxl.load_workbook(out).active)
    got = {(p, c.upper()): v for (p, c), v in cells.items()}
    assert got.keys() == expected.keys()
    for key, values in expected.items():
        assert got[key] == pytest.approx(math.fsum(values), rel=1e-9, abs=1e-9)
    assert "17850" in people  # not "17850.0"


def test_rows_left_out_are_counted_and_names_trimmed(tmp_path, capsys):
    src = tmp_path / "crm.csv"
    src.write_text(
        "Rep,Account,Amount\n"
        "Alyssa ,Google,\"500,000\"\n"      # line 2: numeric text with a thousands separator
        " alyssa,google , 100.50\n"         # line 3: same people, other spellings
        ",Google,10\n"                      # line 4: no salesperson
        "Brandon,,10\n"                     # line 5: no client
        "Brandon,Staples,\n"                # line 6: no amount
        "Brandon,Staples,lots\n"            # line 7: not a number
        "Brandon,Staples,$300000\n"         # line 8
        "Brandon,Staples,0\n",              # line 9: a real booking of zero
        encoding="utf-8")
    out = tmp_path / "m.xlsx"
    assert main(["pivot", str(src), "--salesperson", "Rep", "--client", "Account", "--amount", "Amount",
                 "-o", str(out)]) == 0
    assert capsys.readouterr().out.strip() == (
        f"{out}: 8 booking lines; Bookings: 2 x 2 matrix, total 800,100.50; left out: 1 with no salesperson "
        "(lines 4...), 1 with no client (lines 5...), 1 with no amount (lines 6...), "
        "1 with an amount that is not a number (lines 7...)")
    ws = openpyxl.load_workbook(out).active
    assert [list(r) for r in ws.iter_rows(values_only=True)] == [
        ["Amount by salesperson and client", "Google", "Staples"],
        ["Alyssa", 500_100.5, None],
        ["Brandon", None, 300_000],
    ]
    assert ws["B2"].number_format == "#,##0.00" and ws["A1"].font.b and ws.freeze_panes == "B2"


def test_xlsx_export_and_bad_columns(tmp_path, capsys):
    src = tmp_path / "export.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["First", "Last", "Client", "Qty", "Price"])
    wb.active.append(["Tom", "Smith", "Staples", 2, 100.25])
    wb.active.append(["Tom", "Smith", "Staples", 1, 0.5])
    wb.active.append(["Priya", "Rao", "Google", 3, 10])
    wb.save(src)
    out = tmp_path / "m.xlsx"
    assert main(["pivot", str(src), "--salesperson", "First+Last", "--client", "Client",
                 "--amount", "Qty*Price", "-o", str(out)]) == 0
    _, _, cells = matrix_of(openpyxl.load_workbook(out).active)
    assert cells == {("Tom Smith", "Staples"): 201.0, ("Priya Rao", "Google"): 30.0}
    capsys.readouterr()

    assert main(["pivot", str(src), "--salesperson", "Rep", "--client", "Client", "--amount", "Qty",
                 "-o", str(tmp_path / "x.xlsx")]) == 2
    assert capsys.readouterr().err.strip() == (
        "xlrec: error: --salesperson 'Rep': no column 'Rep'; the columns are: First, Last, Client, Qty, Price")
    assert main(["pivot", str(src), "--salesperson", "First", "--client", "Client", "--amount", "Qty",
                 "--date", "Client", "-o", str(tmp_path / "x.xlsx")]) == 2
    assert "--date and --period go together" in capsys.readouterr().err
    assert not (tmp_path / "x.xlsx").exists()


def pivot_dates(tmp_path, capsys, dates, *options, period="month"):
    """Pivot one booking line per date (amounts 1, 2, 4, ...: each period's total says which lines it holds)."""
    src = tmp_path / "dated.csv"
    src.write_text("Rep,Account,Amount,Date\n" + "".join(
        f"Alyssa,Google,{2 ** i},{d}\n" for i, d in enumerate(dates)), encoding="utf-8")
    out = tmp_path / "m.xlsx"
    status = main(["pivot", str(src), "--salesperson", "Rep", "--client", "Account", "--amount", "Amount",
                   "--date", "Date", "--period", period, "-o", str(out), *options])
    captured = capsys.readouterr()
    if status != 0:
        return status, captured.err.strip(), None
    wb = openpyxl.load_workbook(out)
    return status, captured.out.strip(), {name: wb[name]["B2"].value for name in wb.sheetnames}


def test_iso_dates_with_or_without_a_time_one_sheet_per_month(tmp_path, capsys):
    status, out, sheets = pivot_dates(tmp_path, capsys, ["2024-03-15", "2024-03-31 23:59:59", "2024-3-5T10:30",
                                                         "2024-04-01 9:00", "2023-12-31"])
    assert status == 0, out
    assert sheets == {"2023-12": 16, "2024-03": 1 + 2 + 4, "2024-04": 8}
    assert "left out" not in out


def test_month_first_dates_proven_by_the_column(tmp_path, capsys):
    # 03/15/2024 can only be month first: 01/05/2024 is then 5 January
    status, out, sheets = pivot_dates(tmp_path, capsys, ["03/15/2024", "01/05/2024", "1/5/24 10:30"])
    assert status == 0, out
    assert sheets == {"2024-01": 2 + 4, "2024-03": 1}
    assert "dates read month first, as '03/15/2024' (line 2) shows (--date-format to say otherwise)" in out


def test_day_first_dates_proven_by_the_column(tmp_path, capsys):
    # 15.03.2024 can only be day first: 01.05.2024 is then 1 May
    status, out, sheets = pivot_dates(tmp_path, capsys, ["01.05.2024", "15.03.2024"])
    assert status == 0, out
    assert sheets == {"2024-03": 2, "2024-05": 1}
    assert "dates read day first, as '15.03.2024' (line 3) shows" in out


def test_dates_that_read_both_ways_ask_for_the_format(tmp_path, capsys):
    dates = ["03/04/2024", "05/06/2024"]
    status, err, _ = pivot_dates(tmp_path, capsys, dates)
    assert status == 2
    assert err == (f"xlrec: error: {tmp_path / 'dated.csv'}: dates such as '03/04/2024' (line 2) read as "
                   "day/month or month/day and nothing in the column proves their order; give their format with "
                   "--date-format, e.g. --date-format %m/%d/%Y (month first) or %d/%m/%Y (day first)")
    status, out, sheets = pivot_dates(tmp_path, capsys, dates, "--date-format", "%d/%m/%Y")
    assert status == 0, out
    assert sheets == {"2024-04": 1, "2024-06": 2}
    # by year the order does not matter
    status, out, sheets = pivot_dates(tmp_path, capsys, dates, period="year")
    assert (status, sheets) == (0, {"2024": 3})


def test_a_column_that_proves_both_orders_is_an_error(tmp_path, capsys):
    status, err, _ = pivot_dates(tmp_path, capsys, ["13/01/2024", "01/13/2024", "02/03/2024"])
    assert status == 2
    assert "'13/01/2024' (line 2) is day first but '01/13/2024' (line 3) is month first" in err


def test_a_date_format_that_does_not_match_leaves_the_line_out(tmp_path, capsys):
    status, out, sheets = pivot_dates(tmp_path, capsys, ["15/03/2024", "2024-03-16"], "--date-format", "%d/%m/%Y")
    assert status == 0
    assert sheets == {"2024-03": 1} and "1 with no readable date (lines 3...)" in out
