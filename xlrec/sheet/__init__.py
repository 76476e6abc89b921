"""Spreadsheet knowledge shared by both front ends (workbook files and live Excel): cells and A1 addresses
(:mod:`~xlrec.sheet.cells`), the error codes (:mod:`~xlrec.sheet.errors`), finding and trimming the matrix
(:mod:`~xlrec.sheet.layout`), the record of what xlrec wrote and which cells are predictions
(:mod:`~xlrec.sheet.records`), the formulas that add them up (:mod:`~xlrec.sheet.totals`) and the cache of
fitted models behind the spreadsheet functions (:mod:`~xlrec.sheet.cache`).

numpy and scipy only: no openpyxl, no xlwings. It uses the core (:mod:`xlrec.core`); the core never uses it.
"""

from .cells import matrix_from_cells

__all__ = ["matrix_from_cells"]
