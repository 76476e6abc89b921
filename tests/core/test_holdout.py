"""Forecasting the last period (xlrec.core.evaluate.holdout_last_period): figures equal to a plain loop."""

import math

import numpy as np
import pytest

from xlrec.core.evaluate import (
    NAIVE_FORECASTS,
    holdout_last_period,
    naive_forecasts,
    split_period,
)
from xlrec.core.models import make_model
from xlrec.core.tensor import SalesTensor
from xlrec.exceptions import InputError


def synthetic(seed=5, shape=(7, 9, 5), blank=0.5):
    rng = np.random.default_rng(seed)
    x = np.round(rng.lognormal(6, 0.7, shape), 2)
    x[rng.random(shape) < blank] = np.nan
    return SalesTensor([f"S{i}" for i in range(shape[0])], [f"C{j}" for j in range(shape[1])],
                       [f"2024-Q{q}" for q in range(1, 5)] + ["2025-Q1"], x)


def plain_loop(tensor, **params):
    """Fit cp on the earlier periods through the public functions, forecast every booking of the last period,
    and the naive forecasts, cell by cell."""
    n, m, T = tensor.shape
    past = SalesTensor(tensor.salespeople, tensor.clients, tensor.periods[:-1], tensor.values[:, :, :-1])
    model = make_model("cp", **params).fit(past)
    cells, actual, cp, last, mean = [], [], [], [], []
    for i in range(n):
        for j in range(m):
            v = tensor.values[i, j, T - 1]
            if math.isnan(v):
                continue
            cells.append((i, j))
            actual.append(v)
            cp.append(float(model.predict_tensor_cells(np.array([i]), np.array([j]), np.array([T - 1]))[0]))
            earlier = [tensor.values[i, j, t] for t in range(T - 1) if not math.isnan(tensor.values[i, j, t])]
            last.append(earlier[-1] if earlier else None)
            mean.append(sum(earlier) / len(earlier) if earlier else None)
    scored = [k for k in range(len(actual)) if last[k] is not None]

    def figures(pred, ks):
        errors = [pred[k] - actual[k] for k in ks]
        return math.sqrt(sum(e * e for e in errors) / len(ks)), sum(abs(e) for e in errors) / len(ks)

    typical = sum(abs(actual[k]) for k in scored) / len(scored)
    return {"cells": cells, "actual": actual, "cp": cp, "last": last, "mean": mean, "scored": scored,
            "typical": typical, "scores": [figures(cp, scored), figures(last, scored), figures(mean, scored)],
            "every": figures(cp, range(len(actual)))}


@pytest.mark.parametrize("params", [{}, {"rank": 2, "l2": 1.0, "forecast": "last"}, {"forecast": "trend", "l1": 0.1}])
def test_figures_equal_a_plain_loop(params):
    tensor = synthetic()
    ev = holdout_last_period(tensor, make_model("cp", **params))
    ref = plain_loop(tensor, **params)
    h = ev.held_out
    assert list(zip(h["rows"].tolist(), h["cols"].tolist())) == ref["cells"]
    assert h["actual"].tolist() == ref["actual"]
    assert h["predicted"] == pytest.approx(ref["cp"], rel=1e-12)
    assert [None if math.isnan(v) else v for v in h[NAIVE_FORECASTS[0]].tolist()] == ref["last"]
    assert [None if math.isnan(v) else pytest.approx(v, rel=1e-12) for v in h[NAIVE_FORECASTS[1]].tolist()] == \
        ref["mean"]
    assert [s.model for s in ev.scores] == ["cp", *NAIVE_FORECASTS]
    assert ev.n_scored == len(ref["scored"]) < len(ref["actual"])  # some pairs never booked before
    for score, (rmse, mae) in zip(ev.scores, ref["scores"]):
        assert (score.rmse, score.mae, score.relative) == pytest.approx((rmse, mae, mae / ref["typical"]), rel=1e-12)
    share = len(ref["scored"]) / len(ref["actual"])
    assert [s.coverage for s in ev.scores] == pytest.approx([1.0, share, share])
    assert ev.every == pytest.approx(ref["every"], rel=1e-12)
    assert ev.typical == pytest.approx(ref["typical"], rel=1e-12)


def test_interface_of_an_evaluation():
    ev = holdout_last_period(synthetic(), "cp")
    table = ev.table()
    assert table[0] == ["Forecast", "RMSE", "MAE", "Relative error", "Coverage", "Seconds"]
    assert [r[0] for r in table[1:]] == ["cp", "last period's booking", "mean of past periods"]
    assert ev.text_table().splitlines()[0].split()[:3] == ["Forecast", "RMSE", "MAE"]
    cp, last, mean = ev.scores
    verdict = ev.verdict()
    assert verdict.startswith("cp (tensor factorization, rank 3, l2 5), forecasting 2025-Q1 from 2024-Q1 to 2024-Q4, ")
    wins = (cp.rmse < last.rmse) + (cp.rmse < mean.rmse)
    assert ("beats both naive forecasts" in verdict) == (wins == 2)
    assert ("does not beat the naive forecasts" in verdict) == (wins == 0)
    d = ev.to_dict()
    assert d["holdout"] == "last-period" and d["period"] == "2025-Q1" and d["verdict"] == verdict
    assert len(d["cells"]) == len(ev.held_out["actual"]) and d["scored"] == ev.n_scored
    assert [s["model"] for s in d["scores"]] == ["cp", *NAIVE_FORECASTS]


def test_the_verdict_says_when_cp_loses():
    # every pair books the same each period: the naive forecasts are exact, cp (regularized) is not
    rng = np.random.default_rng(2)
    base = np.round(rng.lognormal(6, 1, (6, 8)), 2)
    x = np.repeat(base[:, :, None], 4, axis=2)
    t = SalesTensor([f"S{i}" for i in range(6)], [f"C{j}" for j in range(8)], ["2024", "2025", "2026", "2027"], x)
    ev = holdout_last_period(t, "cp")
    assert ev.scores[1].rmse == 0 and ev.scores[2].rmse < 1e-9 < ev.scores[0].rmse
    assert "does not beat the naive forecasts" in ev.verdict()


def test_split_and_naive_forecasts():
    t = SalesTensor(["A", "B"], ["x", "y"], ["2024-Q1", "2024-Q2", "2024-Q3"],
                    np.array([[[1.0, np.nan, 3.0], [np.nan, np.nan, 5.0]], [[2.0, 4.0, np.nan], [7.0, np.nan, 0.0]]]))
    past, rows, cols, actual = split_period(t)
    assert past.periods == ("2024-Q1", "2024-Q2")
    assert (rows.tolist(), cols.tolist(), actual.tolist()) == ([0, 0, 1], [0, 1, 1], [3.0, 5.0, 0.0])
    naive = naive_forecasts(past, rows, cols)
    assert [None if math.isnan(v) else v for v in naive["last period's booking"]] == [1.0, None, 7.0]
    assert [None if math.isnan(v) else v for v in naive["mean of past periods"]] == [1.0, None, 7.0]
    past, rows, cols, actual = split_period(t, 1)
    assert past.periods == ("2024-Q1",) and actual.tolist() == [4.0]


def test_mistakes_are_clear():
    one = SalesTensor(["A", "B"], ["x"], ["2024"], np.array([[[1.0]], [[2.0]]]))
    with pytest.raises(InputError, match=r"needs at least two periods; the bookings have 1 \(2024\)"):
        holdout_last_period(one)
    with pytest.raises(InputError, match=r"over periods \(cp\), not 'mf'"):
        holdout_last_period(synthetic(), "mf")
    new = SalesTensor(["A", "B"], ["x", "y"], ["2024", "2025"], np.array([[[1.0, np.nan], [np.nan, 2.0]],
                                                                          [[3.0, np.nan], [np.nan, 4.0]]]))
    with pytest.raises(InputError, match=r"no booking of 2025 is of a salesperson and client who booked before"):
        holdout_last_period(new)
