"""The core runs with numpy and scipy alone; the public API is what __all__ says."""

import subprocess
import sys

import xlrec


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


def test_exported_members():
    exported = set(xlrec.__all__)
    public = {name for name in vars(xlrec) if not name.startswith("_")} - {"core", "exceptions", "io", "style",
                                                                          "functions", "sheet",
                                                                          "cli", "excel"}
    assert exported == public | {"__version__"}
    for name in exported:
        assert hasattr(xlrec, name), name


def test_input_error_is_a_value_error():
    assert issubclass(xlrec.InputError, ValueError) and issubclass(xlrec.InputError, xlrec.XlrecError)
