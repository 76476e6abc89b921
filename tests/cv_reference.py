"""Cross-validation written out as a plain loop over the folds with the core's public functions: what
xlrec.core.evaluate.cross_validate must agree with."""

import math

import numpy as np

from xlrec.core.evaluate import kfold_cells
from xlrec.core.models import make_model


def plain_cross_validation(matrix, model, params, folds=5, repeats=1, seed=0):
    """{"folds": [(repeat, fold, cells, rmse, mae, coverage)], "actual": [...], "predicted": [...],
    "own": [...]} for one model, every figure computed here by hand."""
    out = {"folds": [], "actual": [], "predicted": [], "own": []}
    for r in range(repeats):
        dealt = kfold_cells(matrix, folds, seed + r)
        for f in range(folds):
            test = dealt.test[f]
            train = matrix.with_blanks(test)
            rows, cols = np.nonzero(test)
            pred = make_model(model, **params).fit(train).predict_cells(rows, cols)
            own = [not math.isnan(p) for p in pred]
            fallback = params.get("fallback")
            if fallback is not None:
                fb = make_model(fallback).fit(train).predict_cells(rows, cols)
                pred = [p if o else q for p, q, o in zip(pred, fb, own)]
            known = [v for v in train.values.ravel().tolist() if not math.isnan(v)]
            train_mean = sum(known) / len(known)
            pred = [train_mean if math.isnan(p) else float(p) for p in pred]
            actual = [float(matrix.values[i, j]) for i, j in zip(rows, cols)]
            errors = [p - a for p, a in zip(pred, actual)]
            rmse = math.sqrt(sum(e * e for e in errors) / len(errors))
            mae = sum(abs(e) for e in errors) / len(errors)
            out["folds"].append((r + 1, f + 1, len(errors), rmse, mae, sum(own) / len(own)))
            out["actual"] += actual
            out["predicted"] += pred
            out["own"] += own
    return out


def pooled(result):
    """(rmse, mae, coverage, typical booking) over every held-out cell of a plain cross-validation."""
    errors = [p - a for p, a in zip(result["predicted"], result["actual"])]
    n = len(errors)
    return (math.sqrt(sum(e * e for e in errors) / n), sum(abs(e) for e in errors) / n, sum(result["own"]) / n,
            sum(abs(a) for a in result["actual"]) / n)
