"""Workbook files through openpyxl: the only layer that imports it."""

from .workbook import (
    FillReport,
    fill_workbook,
    find_matrix,
    load_workbook,
    predict_from_workbook,
    read_matrix,
)

__all__ = ["FillReport", "fill_workbook", "find_matrix", "load_workbook", "predict_from_workbook", "read_matrix"]
