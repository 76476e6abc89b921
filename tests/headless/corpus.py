"""Workbooks built by the tests: what real sales workbooks hold around a matrix, and a cell-by-cell diff."""

import math
import zipfile

import openpyxl
from conftest import CLIENTS, SALESPEOPLE, VALUES
from openpyxl.comments import Comment
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.formula import ArrayFormula
from openpyxl.worksheet.table import Table, TableStyleInfo

THIN = Side(style="thin", color="FF999999")


def _matrix(ws, top, left, title="Bookings ($)"):
    """The article's matrix with its header at (top, left); returns the set of blank value cells."""
    ws.cell(row=top, column=left, value=title)
    blanks = set()
    for j, name in enumerate(CLIENTS):
        c = ws.cell(row=top, column=left + 1 + j, value=name)
        c.font = Font(bold=True, color="FF1F4E79")
        c.alignment = Alignment(horizontal="center")
    for i, (name, row) in enumerate(zip(SALESPEOPLE, VALUES)):
        ws.cell(row=top + 1 + i, column=left, value=name).font = Font(italic=True)
        for j, v in enumerate(row):
            c = ws.cell(row=top + 1 + i, column=left + 1 + j)
            c.border = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
            c.number_format = '"$"#,##0'
            if math.isnan(v):
                blanks.add((ws.title, c.row, c.column))
            else:
                c.value = v
                c.fill = PatternFill("solid", start_color="FFEAF1FB", end_color="FFEAF1FB")
    return blanks


def report_workbook(path):
    """A title (merged) above the matrix, a Total row and column of =SUM formulas, notes below, validation,
    conditional formats, names, widths, frozen panes, a second and a hidden sheet. Returns the blank cells."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Q3 report"
    ws["A1"] = "Bookings by salesperson and client, Q3"
    ws["A1"].font = Font(size=14, bold=True)
    ws.merge_cells("A1:F1")
    blanks = _matrix(ws, 3, 1)
    ws.cell(row=3, column=6, value="Total").font = Font(bold=True)
    for r in range(4, 10):
        ws.cell(row=r, column=6, value=f"=SUM(B{r}:E{r})").number_format = '"$"#,##0'
    ws.cell(row=10, column=1, value="Total").font = Font(bold=True)
    for c in "BCDEF":
        ws[f"{c}10"] = f"=SUM({c}4:{c}9)"
        ws[f"{c}10"].border = Border(top=Side(style="double"))
    ws["A13"] = "Source: CRM export, 1 October. Blank = no booking yet."
    ws["A13"].comment = Comment("Ask sales ops before editing", "Dana")
    dv = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0", showErrorMessage=True,
                        error="Bookings are amounts of zero or more")
    ws.add_data_validation(dv)
    dv.add("B4:E9")
    ws.conditional_formatting.add("B4:E9", CellIsRule(operator="greaterThan", formula=["450000"],
                                                      fill=PatternFill("solid", start_color="FFC6EFCE",
                                                                       end_color="FFC6EFCE")))
    ws.column_dimensions["A"].width = 24
    ws.column_dimensions["F"].width = 15
    ws.row_dimensions[1].height = 30
    ws.freeze_panes = "B4"
    ws.sheet_properties.tabColor = "FF00B050"
    wb.defined_names["Q3Total"] = DefinedName("Q3Total", attr_text="'Q3 report'!$F$10")
    notes = wb.create_sheet("Notes")
    notes["A1"] = "Team notes"
    notes["A2"] = "=\'Q3 report\'!F10*1.1"
    notes["A3"] = 0.25
    notes["A3"].number_format = "0.0%"
    notes.merge_cells("A5:C6")
    hidden = wb.create_sheet("Lookup")
    hidden.sheet_state = "hidden"
    hidden.append(["Region", "Manager"])
    hidden.append(["East", "Kim"])
    wb.active = 0
    wb.save(path)
    return blanks


def table_workbook(path):
    """The matrix as an Excel table named SalesMatrix (with a totals row), beside a second block."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    blanks = _matrix(ws, 2, 2, title="Salesperson")
    ws["B9"] = "Total"
    for j, c in enumerate("CDEF"):
        ws[f"{c}9"] = f"=SUBTOTAL(109,{c}3:{c}8)"
    table = Table(displayName="SalesMatrix", ref="B2:F9", totalsRowCount=1)
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    ws.add_table(table)
    ws["I2"] = "Region"  # a second, smaller block on the sheet
    ws["I3"] = "East"
    ws["J2"] = "Target"
    ws["J3"] = 1_000_000
    wb.save(path)
    return blanks


def named_workbook(path):
    """Two blocks on one sheet; the defined name SalesMatrix says which is the matrix."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Board"
    blanks = _matrix(ws, 12, 3)
    for r in range(1, 10):  # a bigger block of other numbers above
        for c in range(1, 9):
            ws.cell(row=r, column=c, value=r * c)
    wb.defined_names["SalesMatrix"] = DefinedName("SalesMatrix", attr_text="Board!$C$12:$G$18")
    wb.save(path)
    return blanks


def _style(c):
    return (c.number_format, repr(c.font), repr(c.fill), repr(c.border), repr(c.alignment), repr(c.protection))


def snapshot(path, keep_vba=False):
    """Everything a user sees and relies on in a workbook, cell by cell and sheet by sheet."""
    wb = openpyxl.load_workbook(path, keep_vba=keep_vba)
    cells = {}
    sheets = {}
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if c.value is not None or c.has_style or c.comment is not None:
                    value = c.value
                    if isinstance(value, ArrayFormula):
                        value = ("array formula", value.ref, value.text)
                    cells[(ws.title, c.row, c.column)] = (value, _style(c),
                                                          c.comment.text if c.comment else None)
        sheets[ws.title] = {
            "merged": sorted(str(r) for r in ws.merged_cells.ranges),
            "validation": sorted((str(dv.sqref), dv.type, dv.operator, dv.formula1, dv.error)
                                 for dv in ws.data_validations.dataValidation),
            "conditional": sorted((str(rng.sqref), r.type, r.operator, tuple(r.formula), repr(r.dxf))
                                  for rng in ws.conditional_formatting for r in rng.rules),
            "widths": {k: d.width for k, d in ws.column_dimensions.items() if d.width},
            "heights": {k: d.height for k, d in ws.row_dimensions.items() if d.height},
            "freeze": ws.freeze_panes,
            "state": ws.sheet_state,
            "tab": repr(ws.sheet_properties.tabColor),
            "tables": {t.displayName: (t.ref, t.totalsRowCount) for t in ws.tables.values()},
        }
    names = {n: d.attr_text for n, d in wb.defined_names.items()}
    return {"order": wb.sheetnames, "active": wb.active.title, "cells": cells, "sheets": sheets, "names": names}


def changed_cells(before, after):
    """The cells whose value, style or note differ (appeared or disappeared included)."""
    keys = before["cells"].keys() | after["cells"].keys()
    return {k for k in keys if before["cells"].get(k) != after["cells"].get(k)}


def rewrite(src, dst, replace=None, add=None):
    """A copy of the package ``src`` at ``dst`` with parts replaced ({name: bytes}) and added."""
    replace, add = replace or {}, add or {}
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as b:
        for item in a.infolist():
            b.writestr(item, replace.get(item.filename, a.read(item.filename)))
        for name, data in add.items():
            b.writestr(name, data)
    return dst


def laughs(root: str, body: bytes) -> bytes:
    """Billion laughs: an XML part whose DOCTYPE makes ten to the ninth "lol"s of a few hundred bytes, its
    root element ``root`` holding ``body`` (which uses ``&lol9;``)."""
    return (b'<?xml version="1.0"?><!DOCTYPE ' + root.encode() + b' [<!ENTITY lol "lol">'
            + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                       for i in range(1, 10)) + b"]>" + body)
