"""Every model behind one seam: the registry, and the one place models are built.

A model is one module here; everything else (the command line, the Excel functions, the Fill blanks button,
``convert``, ``batch``, cross-validation) finds it through :data:`MODELS` and builds it with
:func:`make_model`. Each model declares its parameters once (:mod:`.params`) and implements the protocol of
:mod:`.base`.
"""

from __future__ import annotations

from ...exceptions import InputError
from .base import FillResult, Model, as_matrix, unknown_parameter
from .baseline import BaselineModel, ClientMeanModel, MeanModel, SalespersonMeanModel
from .explanation import Explanation, format_amount
from .factorization import FactorizationModel
from .neighbors import NeighborModel
from .params import Param, did_you_mean
from .residual_neighbors import BaselineNeighborModel
from .tensor import CPModel

__all__ = ["MODELS", "BASELINES", "make_model", "model_class", "Model", "FillResult", "Explanation", "Param",
           "NeighborModel", "BaselineNeighborModel", "FactorizationModel", "CPModel", "MeanModel", "ClientMeanModel", "SalespersonMeanModel", "BaselineModel",
           "as_matrix", "format_amount", "DEFAULT_MODEL"]

#: model name -> class, in the order the command line lists them
MODELS = {cls.name: cls for cls in (NeighborModel, BaselineNeighborModel, FactorizationModel, MeanModel,
                                    ClientMeanModel, SalespersonMeanModel, BaselineModel, CPModel)}
#: the baselines every evaluation shows beside the model, and the models a ``fallback`` may name
BASELINES = ("mean", "client_mean", "salesperson_mean", "baseline")
#: the model used when none is named: the article's
DEFAULT_MODEL = "neighbors"


def model_class(model) -> type:
    """The class registered as ``model``; an unknown name is an InputError listing the valid ones."""
    cls = MODELS.get(model) if isinstance(model, str) else None
    if cls is None:
        raise InputError(f"unknown model {model!r}; choose one of: {', '.join(MODELS)}"
                         f"{did_you_mean(model, MODELS)}")
    return cls


def make_model(model=DEFAULT_MODEL, **params) -> Model:
    """A new, unfitted model named ``model`` with ``params``: the one place models are built. Unknown names are
    InputErrors with a did-you-mean; the values are checked by ``fit``.


    >>> make_model("neighbors", k=3)
    NeighborModel(k=3, metric='manhattan', weighting='rank', by='salesperson', min_shared=1, fallback=None)
    >>> make_model("neighbours")
    Traceback (most recent call last):
    ...
    xlrec.exceptions.InputError: unknown model 'neighbours'; choose one of: neighbors, baseline_neighbors, \
mf, mean, client_mean, salesperson_mean, baseline, cp (did you mean 'neighbors'?)
    """
    cls = model_class(model)
    names = [p.name for p in cls.PARAMS]
    for key in params:
        if key not in names:
            raise InputError(unknown_parameter(cls.name, key, names))
    return cls(**params)
