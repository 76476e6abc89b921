"""The maths of xlrec: numpy (and scipy) only; never imports openpyxl or xlwings."""

from .base import FillResult, Model, Neighbor, Prediction, as_matrix, format_amount
from .distances import METRICS, pairwise_distances
from .matrix import SalesMatrix
from .neighbors import BY, FALLBACKS, WEIGHTINGS, NeighborModel

#: model name -> class; every model implements :class:`Model`
MODELS = {"neighbors": NeighborModel}

__all__ = ["SalesMatrix", "NeighborModel", "Model", "Prediction", "Neighbor", "FillResult",
           "pairwise_distances", "METRICS", "WEIGHTINGS", "BY", "FALLBACKS", "MODELS", "as_matrix",
           "format_amount", "fill", "predict"]


def fill(matrix, **params) -> FillResult:
    """Fill every blank of ``matrix`` with :class:`NeighborModel` (``params`` are its parameters)."""
    return NeighborModel(**params).fit(matrix).fill()


def predict(matrix, salesperson, client, **params) -> Prediction:
    """Predict and explain one cell with :class:`NeighborModel` (``params`` are its parameters)."""
    return NeighborModel(**params).fit(matrix).predict(salesperson, client)
