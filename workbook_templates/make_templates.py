"""Rebuild the workbooks in this folder: ``python workbook_templates/make_templates.py``.

- ``sales_matrix.xlsx``: the article's six salespeople and four clients (the bundled example).
- ``xlrec_functions.xlsm``: built on the installed xlwings' quickstart workbook (its VBA, so it matches that
  xlwings), with its xlwings.conf sheet set to the UDF module ``xlrec.excel``, the example matrix on "Sales"
  and every xlrec function at work on it on "Functions", each with a line saying what it does.
"""

from pathlib import Path

import openpyxl
import xlwings as xw
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.formula import ArrayFormula

HERE = Path(__file__).resolve().parent
CLIENTS = ["Google", "Capgemini", "ExxonMobil", "Staples"]
ROWS = [
    ("Alyssa", [500_000, 400_000, 400_000, None]),
    ("Brandon", [500_000, None, 200_000, 300_000]),
    ("Mike", [500_000, 400_000, None, 500_000]),
    ("Jessica", [200_000, 100_000, 300_000, 400_000]),
    ("Tom", [None, 700_000, 100_000, 200_000]),
    ("Priya", [300_000, None, 700_000, None]),
]
MATRIX = "Sales!$A$1:$E$7"


def write_matrix(ws):
    ws.append(["Bookings ($)"] + CLIENTS)
    for name, values in ROWS:
        ws.append([name] + values)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in ws.iter_rows(min_row=2, max_row=7, min_col=2, max_col=5):
        for cell in row:
            cell.number_format = "#,##0"
    ws.column_dimensions["A"].width = 14
    for col in "BCDE":
        ws.column_dimensions[col].width = 13


def sales_matrix():
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sales"
    write_matrix(ws)
    wb.save(HERE / "sales_matrix.xlsx")


FUNCTIONS = [
    # (text, formula, spilled size (rows, columns))
    ("Predicted bookings of Alyssa with Staples: the article's 433,333.33 (Mike weighs 1, Brandon 1/2).",
     f'=PREDICT_BOOKING({MATRIX},"Alyssa","Staples")', (1, 1)),
    ("The same with equal weights (k = 2, manhattan, uniform): the article's 400,000.",
     f'=PREDICT_BOOKING({MATRIX},"Alyssa","Staples",2,"manhattan","uniform")', (1, 1)),
    ("Why: the neighbours behind the prediction, with distance, weight and booking, then the prediction.",
     f'=EXPLAIN_BOOKING({MATRIX},"Alyssa","Staples")', (4, 4)),
    ("The three salespeople most similar to Alyssa, with distance and clients shared.",
     f'=SIMILAR_SALESPEOPLE({MATRIX},"Alyssa",3)', (4, 3)),
    ("The clients Priya has no booking with, highest predicted bookings first.",
     f'=RECOMMEND_CLIENTS({MATRIX},"Priya",3)', (3, 2)),
    ("The whole matrix with every blank predicted.", f"=FILL_MATRIX({MATRIX})", (7, 5)),
]


def functions_workbook():
    wb = openpyxl.load_workbook(Path(xw.__file__).parent / "quickstart.xlsm", keep_vba=True)
    conf = wb["_xlwings.conf"]
    conf.title = "xlwings.conf"  # active: these settings apply to this workbook
    for row in conf.iter_rows(min_col=1, max_col=2):
        if row[0].value == "UDF Modules":
            row[1].value = "xlrec.excel"
    ws = wb["Sheet1"]
    ws.title = "Sales"
    write_matrix(ws)
    fn = wb.create_sheet("Functions", 1)
    fn["A1"] = "xlrec functions at work on the sales matrix of the Sales sheet (Sales!A1:E7)"
    fn["A1"].font = Font(bold=True, size=13)
    fn["A2"] = ("Needs the xlwings add-in with UDF Modules = xlrec.excel (set on the xlwings.conf sheet); "
                "click Import Functions in the xlwings ribbon once.")
    row = 4
    for text, formula, (h, w) in FUNCTIONS:
        fn.cell(row=row, column=1, value=text).font = Font(italic=True)
        fn.cell(row=row + 1, column=1, value=formula[1:]).font = Font(name="Consolas", color="555555")
        top = f"B{row + 2}"
        if (h, w) == (1, 1):
            fn[top] = formula
            fn[top].number_format = "#,##0.00"
        else:
            ref = f"{top}:{openpyxl.utils.get_column_letter(1 + w)}{row + 1 + h}"
            fn[top] = ArrayFormula(ref, formula)
        fn[top].fill = PatternFill("solid", start_color="FCE4D6", end_color="FCE4D6")
        row += h + 3
    fn.column_dimensions["A"].width = 16
    for col in "BCDEF":
        fn.column_dimensions[col].width = 16
    wb.active = 1
    wb.save(HERE / "xlrec_functions.xlsm")


if __name__ == "__main__":
    sales_matrix()
    functions_workbook()
    print("wrote", HERE / "sales_matrix.xlsx", "and", HERE / "xlrec_functions.xlsm")
