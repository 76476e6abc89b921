"""The layers' import walls (the core runs with numpy and scipy alone; the spreadsheet layer adds neither openpyxl
nor xlwings; arrows point down: the core never imports the spreadsheet layer or a front end); the public API is
what __all__ says."""

import importlib
import pkgutil
import subprocess
import sys

import xlrec


def _run(code):
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def _modules(package):
    """Every module of ``package`` (a dotted name), the package first; not the compiled kernels, which need the
    optional numba."""
    pkg = importlib.import_module(package)
    return [package] + sorted(m.name for m in pkgutil.walk_packages(pkg.__path__, package + ".")
                              if not m.name.endswith("._kernels"))


def test_core_imports_neither_openpyxl_nor_xlwings():
    code = ("import sys, xlrec, xlrec.core, xlrec.core.models.neighbors, xlrec.core.distances, xlrec.core.matrix\n"
            "import xlrec.functions  # the spreadsheet functions run in xlwings Lite too\n"
            "import numpy as np\n"
            "xlrec.fill(np.array([[1.0, np.nan], [1.0, 2.0]]))\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('openpyxl', 'xlwings'))\n"
            "print(bad)\n"
            "assert not bad, bad\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_the_sheet_layer_and_the_file_writer_import_neither_openpyxl_nor_xlwings():
    modules = _modules("xlrec.sheet") + ["xlrec.files"]
    code = (f"import sys, importlib\nfor m in {modules!r}: importlib.import_module(m)\n"
            "from xlrec.sheet.cells import matrix_from_cells\n"
            "from xlrec.sheet.cache import FitCache\n"
            "from xlrec.sheet.layout import sheet_block\n"
            "cells = [[None, 'A', 'B'], ['x', 1, None], ['y', 2, 3]]\n"
            "matrix_from_cells(cells); FitCache().get(cells).value('x', 'B')\n"
            "sheet_block({(r, c): v for r, row in enumerate(cells, 1) for c, v in enumerate(row, 1) if v})\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('openpyxl', 'xlwings')))\n")
    assert _run(code) == "[]"


def test_the_core_never_imports_the_spreadsheet_layer_or_a_front_end():
    modules = _modules("xlrec.core")
    code = (f"import sys, importlib\nfor m in {modules!r}: importlib.import_module(m)\n"
            "print(sorted(m for m in sys.modules if m.startswith(('xlrec.sheet', 'xlrec.io', 'xlrec.excel', "
            "'xlrec.files', 'xlrec.cli'))))\n")
    assert _run(code) == "[]"


def test_the_core_holds_no_spreadsheet_knowledge():
    """A1 addresses, Excel's error codes, reading cells, finding the matrix and the UDF cache are the
    spreadsheet layer's (xlrec.sheet); no module of the core defines or imports them."""
    spreadsheet = {"cell_address", "column_letter", "EXCEL_ERRORS", "ERROR_CODES", "parse_booking",
                   "parse_number_text", "_parse_number_text", "matrix_from_cells", "from_cells", "sheet_block",
                   "trim_block", "bridged_block", "FitCache", "default_cache"}
    for name in _modules("xlrec.core"):
        module = importlib.import_module(name)
        assert not spreadsheet & set(vars(module)), (name, spreadsheet & set(vars(module)))
    assert not spreadsheet & set(dir(xlrec.SalesMatrix))
    core = importlib.import_module("xlrec.core")
    assert not {"layout", "cache", "cells"} & {m.name for m in pkgutil.iter_modules(core.__path__)}


def test_exported_members():
    exported = set(xlrec.__all__)
    public = {name for name in vars(xlrec) if not name.startswith("_")} - {"core", "exceptions", "io", "style",
                                                                          "functions", "sheet", "files",
                                                                          "cli", "excel"}
    assert exported == public | {"__version__"}
    for name in exported:
        assert hasattr(xlrec, name), name


def test_input_error_is_a_value_error():
    assert issubclass(xlrec.InputError, ValueError) and issubclass(xlrec.InputError, xlrec.XlrecError)
