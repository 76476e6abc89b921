"""xlrec in Excel, through xlwings: the only layer that imports xlwings.

Name ``xlrec.excel`` in xlwings' "UDF Modules" setting to get =PREDICT_BOOKING and its family; the ribbon
buttons of the xlrec add-in run :func:`xlrec.main` (Fill blanks, see :mod:`xlrec.excel.macros`) and
:func:`xlrec.assign_main` (Assign clients, see :mod:`xlrec.excel.assign_button`).
"""

from .assign_button import assign_clients, assign_clients_script, assign_main
from .macros import clear_predictions, clear_predictions_script, fill_blanks, fill_blanks_script, main
from .udfs import (
    ASSIGN_CLIENTS,
    EVALUATE_MODEL,
    EXPLAIN_BOOKING,
    FILL_MATRIX,
    MODEL_INFO,
    PREDICT_BOOKING,
    PREDICT_BOOKING_TABLE,
    RECOMMEND_CLIENTS,
    SIMILAR_SALESPEOPLE,
    TUNE_MODEL,
)

__all__ = ["PREDICT_BOOKING", "EXPLAIN_BOOKING", "SIMILAR_SALESPEOPLE", "RECOMMEND_CLIENTS", "FILL_MATRIX",
           "EVALUATE_MODEL", "TUNE_MODEL", "PREDICT_BOOKING_TABLE", "MODEL_INFO", "ASSIGN_CLIENTS", "main", "fill_blanks",
           "clear_predictions", "fill_blanks_script", "clear_predictions_script", "assign_clients",
           "assign_clients_script", "assign_main"]
