import zipfile
from pathlib import Path

import openpyxl
import xlwings as xw
from conftest import EXAMPLE, ROOT, article_cells

import xlrec.excel

TEMPLATE = ROOT / "workbook_templates" / "xlrec_functions.xlsm"


def test_example_workbook_holds_the_article_matrix():
    ws = openpyxl.load_workbook(EXAMPLE).active
    assert [list(r) for r in ws.iter_rows(min_row=1, max_row=7, max_col=5, values_only=True)] == article_cells()


def test_functions_workbook_is_configured_for_xlrec_excel():
    wb = openpyxl.load_workbook(TEMPLATE, keep_vba=True)
    conf = {r[0]: r[1] for r in wb["xlwings.conf"].iter_rows(max_col=2, values_only=True)}
    assert conf["UDF Modules"] == "xlrec.excel"
    sales = wb["Sales"]
    assert [list(r) for r in sales.iter_rows(min_row=1, max_row=7, max_col=5, values_only=True)] == article_cells()
    formulas = [str(getattr(c.value, "text", c.value)) for row in wb["Functions"].iter_rows() for c in row
                if c.data_type == "f" or hasattr(c.value, "text")]
    used = {f[1:f.index("(")] for f in formulas}
    assert used == set(xlrec.excel.__all__[:5])
    with zipfile.ZipFile(TEMPLATE) as z, zipfile.ZipFile(Path(xw.__file__).parent / "quickstart.xlsm") as q:
        assert z.read("xl/vbaProject.bin") == q.read("xl/vbaProject.bin")
