"""Spreadsheet knowledge shared by both front ends (workbook files and live Excel): the record of what xlrec
wrote, which cells are predictions, and the formulas that add them up. numpy only: no openpyxl, no xlwings."""
