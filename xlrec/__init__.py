"""xlrec: the article's recommendation engine for sales matrices, in Excel and on the command line.

``import xlrec`` loads the core only (numpy, scipy); the workbook layer (openpyxl) and the Excel layer
(xlwings) load when used.
"""

from .core import (
    METRICS,
    MODELS,
    WEIGHTINGS,
    Explanation,
    FillResult,
    Model,
    NeighborModel,
    SalesMatrix,
    fill,
    make_model,
    pairwise_distances,
    predict,
)
from .core.assign import Assignment, assign
from .core.evaluate import cross_validate, kfold_cells
from .exceptions import InputError, NotFoundError, WorkbookError, XlrecError

__version__ = "0.1.0"

__all__ = ["SalesMatrix", "NeighborModel", "Model", "Explanation", "FillResult", "make_model", "fill", "predict",
           "cross_validate", "kfold_cells", "assign", "Assignment",
           "pairwise_distances", "METRICS", "WEIGHTINGS", "MODELS", "XlrecError", "InputError",
           "NotFoundError", "WorkbookError", "main", "assign_main", "__version__"]


def main():
    """What the xlrec ribbon button runs (xlwings' add-in calls ``xlrec.main()``): fill the selected matrix."""
    from .excel.macros import main as _main

    return _main()


def assign_main():
    """What the Assign clients ribbon button runs (the add-in's ``RunAssignClients`` calls
    ``xlrec.assign_main()``): the Assignment sheet of the selected matrix."""
    from .excel.assign_button import assign_main as _main

    return _main()
