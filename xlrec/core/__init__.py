"""The maths of xlrec: numpy (and scipy) only; never imports openpyxl or xlwings."""

from .distances import METRICS, pairwise_distances
from .matrix import SalesMatrix
from .models import (
    BASELINES,
    DEFAULT_MODEL,
    MODELS,
    Explanation,
    FillResult,
    Model,
    NeighborModel,
    as_matrix,
    format_amount,
    make_model,
)
from .models.neighbors import BY, FALLBACKS, WEIGHTINGS, Neighbor

__all__ = ["SalesMatrix", "NeighborModel", "Model", "Explanation", "Neighbor", "FillResult",
           "pairwise_distances", "METRICS", "WEIGHTINGS", "BY", "FALLBACKS", "MODELS", "BASELINES", "DEFAULT_MODEL",
           "make_model", "as_matrix", "format_amount", "fill", "predict"]


def fill(matrix, model=DEFAULT_MODEL, **params) -> FillResult:
    """Fill every blank of ``matrix`` with the model named ``model`` (``params`` are its parameters)."""
    return make_model(model, **params).fit(matrix).fill()


def predict(matrix, salesperson, client, model=DEFAULT_MODEL, **params) -> Explanation:
    """Predict and explain one cell with the model named ``model`` (``params`` are its parameters)."""
    return make_model(model, **params).fit(matrix).predict(salesperson, client)
