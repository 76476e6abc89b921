"""``xlrec pivot``: a sales matrix from a CRM-style export with one row per booking line.

Column specs name a column, or several joined by ``+`` (``FirstName+LastName`` gives "Nancy Davolio"); the
amount may be a product of columns (``Quantity*UnitPrice``). Amounts are summed per (salesperson, client) and,
with ``--date``, per period (one sheet each). Names are trimmed; rows with a missing name or amount, or an
amount that is not a number, are counted and reported, never silently dropped.

Dates (:class:`_Dates`): dates of a workbook export; ISO text (``2024-03-15``, with or without a time); text
such as ``03/15/2024``, ``15.03.2024`` or ``3/15/24 10:30``, whose order of day and month is decided over the
whole column: a first number above 12 proves day first, a second number above 12 proves month first; the
dates that could be read either way take the order the others prove, and when nothing proves it (or the
column proves both) and the order changes a period, it is an error asking for ``--date-format`` (a
``strptime`` format such as ``%d/%m/%Y``), which then reads every date.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import gzip
import io
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from ..core.matrix import MAX_AMOUNT
from ..exceptions import InputError, WorkbookError, XlrecError
from ..sheet.cells import parse_number_text
from .cells import clean_text, exact_numbers, put
from .package import check_regular_file
from .workbook import check_file, save_atomic

__all__ = ["pivot", "collect", "PivotReport", "read_rows"]

_BOLD = Font(bold=True)


@dataclass
class PivotReport:
    output: Path
    rows_read: int
    sheets: dict = field(default_factory=dict)  # sheet -> (n_salespeople, n_clients, total)
    remarks: list = field(default_factory=list)  # what was guessed, e.g. the order of day and month
    skipped: dict = field(default_factory=dict)  # reason -> count
    examples: dict = field(default_factory=dict)  # reason -> first line numbers

    def summary(self) -> str:
        parts = [f"{self.output}: {self.rows_read:,} booking lines"]
        for name, (n, m, total) in self.sheets.items():
            parts.append(f"{name}: {n} x {m} matrix, total {total:,.2f}")
        text = "; ".join(parts + self.remarks)
        if self.skipped:
            text += "; left out: " + ", ".join(
                f"{count:,} with {reason} (lines {', '.join(map(str, self.examples[reason]))}...)"
                for reason, count in self.skipped.items())
        return text


@contextlib.contextmanager
def read_rows(path):
    """Open a .csv, .csv.gz, .xlsx or .xlsm export: yields (header, iterator of (line number, row))."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    check_regular_file(path)  # a pipe or a device named .csv or .xlsx: reading it may never end
    name = path.name.lower()
    if name.endswith((".xlsx", ".xlsm")):
        try:
            check_file(path, force=True)  # a zip package within the size caps (only values are read: no refusal)
            wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except XlrecError:
            raise
        except Exception as exc:  # damaged or malformed parts raise errors of many kinds (zlib.error...)
            raise _unreadable(path, exc) from exc
        try:
            if not wb.worksheets:
                raise WorkbookError(f"{path}: holds no worksheet to read the bookings from (a damaged workbook?); "
                                    "open and save it in Excel or LibreOffice, or export the bookings as CSV")
            rows = _guarded(wb.worksheets[0].iter_rows(values_only=True), path)
            header = [str(h).strip() if h is not None else "" for h in next(rows, [])]
            yield header, ((i, list(r)) for i, r in enumerate(rows, start=2))
        finally:
            wb.close()
        return
    if name.endswith(".gz"):
        f = io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    elif name.endswith(".csv"):
        f = open(path, encoding="utf-8-sig", newline="")
    else:
        raise InputError(f"{path}: xlrec pivot reads .csv, .csv.gz, .xlsx and .xlsm files")
    with f:
        reader = csv.reader(f)
        try:
            header = [h.strip() for h in next(reader, [])]
            yield header, ((i, r) for i, r in enumerate(reader, start=2))
        except (UnicodeDecodeError, gzip.BadGzipFile, EOFError, csv.Error) as exc:
            raise InputError(f"{path}: cannot be read as a UTF-8 CSV file ({exc})") from None


def _unreadable(path, exc) -> WorkbookError:
    """One line for a workbook openpyxl cannot read (a missing part, broken or unsafe XML, a damaged zip)."""
    cause = exc.__cause__ or exc.__context__ or exc  # openpyxl wraps the parser's error in a long message
    detail = " ".join(f"{type(cause).__name__}: {cause}".split())
    return WorkbookError(f"{path}: cannot be read as a workbook (invalid or unsafe XML? {detail}); "
                         "open and save it in Excel or LibreOffice, or export the bookings as CSV")


def _guarded(rows, path):
    """``rows``, with an error while reading the sheet (openpyxl reads it as it goes) as one line."""
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except Exception as exc:
            raise _unreadable(path, exc) from exc
        yield row


def _columns(spec, header, option, sep="+"):
    names = [s.strip() for s in spec.split(sep)]
    idx = []
    for n in names:
        matches = [i for i, h in enumerate(header) if h.casefold() == n.casefold()]
        if not matches:
            raise InputError(f"{option} {spec!r}: no column {n!r}; the columns are: {', '.join(header)}")
        idx.append(matches[0])
    return idx


def _text(row, idx):
    """The name in columns ``idx`` of ``row``, trimmed, without control characters (a workbook cannot hold
    them; taken out before names are merged, so that "A\x07" and "A" are one name)."""
    parts = [clean_text(str(row[i])).strip() if i < len(row) and row[i] is not None else "" for i in idx]
    parts = [p[:-2] if p.endswith(".0") and p[:-2].isdigit() else p for p in parts]  # 17850.0 -> 17850
    return " ".join(p for p in parts if p)


def _amount(value):
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    try:
        number = float(value)  # the common case: a plain number in a CSV
        return number if math.isfinite(number) else None  # "nan", "inf" are not amounts
    except ValueError:
        pass
    text = str(value).strip()
    if not text:
        return None
    return parse_number_text(text)  # 1,200.50 or $500,000


_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ].*)?$")
_PERIOD = {"quarter": re.compile(r"^(\d{4})-Q([1-4])$"), "month": re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$"),
           "year": re.compile(r"^(\d{4})$")}
_DMY = re.compile(r"^(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})(?:[T ].*)?$")


def _year(text):
    y = int(text)
    if len(text) == 2:  # as strptime's %y: 69-99 are 1969-1999, 00-68 are 2000-2068
        y += 1900 if y >= 69 else 2000
    return y


class _Dates:
    """Reads a date column into periods (see the module's docstring for the rule on day and month)."""

    def __init__(self, period, date_format=None):
        self.period, self.format = period, date_format
        self.proof = {}  # "day first" / "month first" -> (line, text) of the first date that proves it
        self.example = None  # (line, text) of a date that reads either way, into different periods

    def read(self, value, line):
        """The period of ``value``: a str; None when it is no date; (d1, d2, year, text) when it depends on
        the order of day and month (:meth:`resolve` gives it at the end)."""
        if isinstance(value, dt.datetime):
            return _period(value.date(), self.period)
        if isinstance(value, dt.date):
            return _period(value, self.period)
        text = str(value or "").strip()
        if not text:
            return None
        if self.format:
            for candidate in (text, text.split()[0]):
                try:
                    return _period(dt.datetime.strptime(candidate, self.format).date(), self.period)
                except ValueError:
                    pass
            return None
        m = _ISO.match(text)
        if m:
            return self._date(int(m[1]), int(m[2]), int(m[3]))
        m = _PERIOD[self.period].match(text)
        if m:  # already a period label of the kind asked for: 2024-Q1, 2024-03, 2024
            return _period(dt.date(int(m[1]), int(m[2]) * 3 - 2 if self.period == "quarter" else
                                   int(m[2]) if self.period == "month" else 1, 1), self.period)
        m = _DMY.match(text)
        if m is None:
            return None
        a, b, y = int(m[1]), int(m[3]), _year(m[4])
        if a > 12 or b > 12:
            self.proof.setdefault("day first" if a > 12 else "month first", (line, text))
            return self._date(y, b, a) if a > 12 else self._date(y, a, b)
        day_first, month_first = self._date(y, b, a), self._date(y, a, b)
        if day_first == month_first:
            return day_first
        self.example = self.example or (line, text)
        return (day_first, month_first)

    def _date(self, y, m, d):
        try:
            return _period(dt.date(y, m, d), self.period)
        except ValueError:
            return None

    def order(self, path):
        """The order of day and month the dates that read either way take: 0 day first, 1 month first."""
        if len(self.proof) == 1:
            return 0 if "day first" in self.proof else 1
        line, text = self.example
        why = "nothing in the column proves their order" if not self.proof else (
            "the column reads both ways: " + " but ".join(f"{t!r} (line {n}) is {how}"
                                                          for how, (n, t) in self.proof.items()))
        raise InputError(f"{path}: dates such as {text!r} (line {line}) read as day/month or month/day and "
                         f"{why}; give their format with --date-format, e.g. --date-format %m/%d/%Y "
                         "(month first) or %d/%m/%Y (day first)")

    def remark(self) -> str:
        how, (line, text) = next(iter(self.proof.items()))
        return f"dates read {how}, as {text!r} (line {line}) shows (--date-format to say otherwise)"


def _period(d, period):
    if period == "month":
        return f"{d.year}-{d.month:02d}"
    if period == "quarter":
        return f"{d.year}-Q{(d.month - 1) // 3 + 1}"
    return f"{d.year}"


def pivot(path, output, *, salesperson, client, amount, date=None, period=None, date_format=None) -> PivotReport:
    """Sum ``amount`` per (salesperson, client) (and period) and write the matrix workbook ``output``.

    ``date_format`` is a ``strptime`` format for the text of the ``date`` column (e.g. ``"%d/%m/%Y"``);
    without it, see the module's docstring."""
    output = Path(output)
    if output.suffix.lower() != ".xlsx":
        raise InputError(f"{output}: the matrix is written as an .xlsx workbook")
    if Path(path).resolve() == output.resolve():
        raise InputError(f"{output}: is the input file; give another output name")
    sums, spellings, report = collect(path, salesperson=salesperson, client=client, amount=amount, date=date,
                                      period=period, date_format=date_format)
    report.output = output
    wb = openpyxl.Workbook(write_only=True)  # a 4,000 x 4,000 sparse matrix: stream it, most cells are blank
    with exact_numbers():  # a write-only sheet writes each row as it is appended
        _write_sheets(wb, sums, spellings, amount, report)
    save_atomic(wb, output)
    return report


def collect(path, *, salesperson, client, amount, date=None, period=None, date_format=None):
    """Read a bookings export and sum ``amount`` per period and (salesperson, client): returns (sums,
    spellings, report) with ``sums`` {period: {(salesperson key, client key): amount}} (the period is
    "Bookings" without ``date``), ``spellings`` the first spelling of each casefolded salesperson and client
    name, and a :class:`PivotReport` (without output) of what was read and left out."""
    if (date is None) != (period is None):
        raise InputError("--date and --period go together (e.g. --date OrderDate --period quarter)")
    if date_format is not None and date is None:
        raise InputError("--date-format reads the --date column: give --date and --period too")
    if date_format is not None:
        try:
            dt.datetime.strptime(dt.date(2024, 3, 15).strftime(date_format), date_format)
        except ValueError as exc:
            raise InputError(f"--date-format {date_format!r} is not a date format such as %d/%m/%Y ({exc})") from None
    dates = _Dates(period, date_format)
    with read_rows(path) as (header, rows):
        sp_idx = _columns(salesperson, header, "--salesperson")
        cl_idx = _columns(client, header, "--client")
        am_idx = _columns(amount, header, "--amount", sep="*")  # Quantity*UnitPrice multiplies
        dt_idx = _columns(date, header, "--date")[0] if date else None
        sums = defaultdict(lambda: defaultdict(float))
        spellings = ({}, {})  # casefolded name -> the first spelling seen, for salespeople and clients
        report = PivotReport(None, 0)

        def skip(reason, line):
            report.skipped[reason] = report.skipped.get(reason, 0) + 1
            ex = report.examples.setdefault(reason, [])
            if len(ex) < 3:
                ex.append(line)

        for line, row in rows:
            report.rows_read += 1
            sp, cl = _text(row, sp_idx), _text(row, cl_idx)
            raws = [row[i] if i < len(row) else None for i in am_idx]
            factors = [_amount(r) for r in raws]
            value = None if None in factors else math.prod(factors)
            raw = next((r for r, f in zip(raws, factors) if f is None), raws[0])
            if not sp:
                skip("no salesperson", line)
                continue
            if not cl:
                skip("no client", line)
                continue
            if value is None:
                skip("no amount" if raw is None or not str(raw).strip() else "an amount that is not a number", line)
                continue
            key = "Bookings"
            if dt_idx is not None:
                key = dates.read(row[dt_idx] if dt_idx < len(row) else None, line)
                if key is None:
                    skip("no readable date", line)
                    continue
            sp_key, cl_key = sp.casefold(), cl.casefold()
            spellings[0].setdefault(sp_key, sp)
            spellings[1].setdefault(cl_key, cl)
            sums[key][(sp_key, cl_key)] += value
    either = [key for key in sums if isinstance(key, tuple)]  # periods that depend on the order of day and month
    if either:
        order = dates.order(path)
        for key in either:
            for cell, v in sums.pop(key).items():
                sums[key[order]][cell] += v
        report.remarks.append(dates.remark())
    if not sums:
        raise InputError(f"{path}: no booking line with a salesperson, a client and an amount")
    for key, cells in sums.items():
        for (sp, cl), v in cells.items():
            if not math.isfinite(v) or abs(v) > MAX_AMOUNT:
                raise InputError(f"{path}: the amounts of {spellings[0][sp]!r} and {spellings[1][cl]!r} add up to "
                                 f"{v:g}, beyond the {MAX_AMOUNT:g} xlrec computes with (give the amounts in a "
                                 "larger unit)")
    return sums, spellings, report


def _write_sheets(wb, sums, spellings, amount, report):
    for key in sorted(sums):
        cells = sums[key]
        people = sorted({sp for sp, _ in cells})
        clients = sorted({cl for _, cl in cells})
        col = {c: j for j, c in enumerate(clients, start=1)}
        by_person = defaultdict(list)
        for (sp, cl), v in cells.items():
            by_person[sp].append((col[cl], v))
        ws = wb.create_sheet(key)
        ws.freeze_panes = "B2"
        head = [put(WriteOnlyCell(ws), f"{amount} by salesperson and client")]
        head += [put(WriteOnlyCell(ws), spellings[1][c]) for c in clients]  # names are text, never formulas
        for c in head:
            c.font = _BOLD
        ws.append(head)
        for sp in people:
            line = [None] * (len(clients) + 1)
            line[0] = put(WriteOnlyCell(ws), spellings[0][sp])
            for j, v in by_person[sp]:
                c = put(WriteOnlyCell(ws), v)
                c.number_format = "#,##0.00"
                line[j] = c
            ws.append(line)
        report.sheets[key] = (len(people), len(clients), math.fsum(cells.values()))
