"""The sales tensor and the ``cp`` tensor factorization: against closed forms, scipy.optimize, the lasso's
optimality conditions, planted tensors, and the naive forecasts on Northwind by quarter."""

import math

import numpy as np
import pytest
from conftest import DATA
from scipy.optimize import minimize

from xlrec import InputError, NotFoundError
from xlrec.core.models import make_model
from xlrec.core.models.tensor import CPModel, _csr, objective
from xlrec.core.tensor import SalesTensor, next_period

nan = math.nan


def _planted(n=12, m=10, T=6, rank=2, hidden=0.5, seed=0, offset=10.0):
    rng = np.random.default_rng(seed)
    x = np.einsum("ir,jr,tr->ijt", rng.normal(size=(n, rank)), rng.normal(size=(m, rank)),
                  rng.normal(size=(T, rank))) + offset
    seen = x.copy()
    seen[rng.random(x.shape) < hidden] = np.nan
    return x, SalesTensor([f"S{i}" for i in range(n)], [f"C{j}" for j in range(m)],
                          [f"2024-{k:02d}" for k in range(1, T + 1)], seen)


# -- the tensor ------------------------------------------------------------------------------------------


def test_rows_are_summed_and_periods_ordered_with_gaps_filled():
    t = SalesTensor.from_rows([("Alyssa", "Google", "2024-Q3", 5), (" alyssa ", "Google", "2024-Q3", 1000),
                               ("Mike", "Staples", "2024-Q1", 0), ("Mike", "Google", 2025, 1)] [:3])
    assert t.periods == ("2024-Q1", "2024-Q2", "2024-Q3") and t.salespeople == ("Alyssa", "Mike")
    assert t.values[0, 0, 2] == 1005 and t.values[1, 1, 0] == 0  # 0 is a booking, not a blank
    assert np.isnan(t.values[:, :, 1]).all() and np.isnan(t.values[0, 1, 0])
    assert t.next_period == "2024-Q4" and t.period_index("2024-q4") == 3 and t.period_index("2025-Q1") == 4
    with pytest.raises(NotFoundError, match="unknown period '1999-Q1': the bookings run from 2024-Q1 to 2024-Q3"):
        t.period_index("1999-Q1")


@pytest.mark.parametrize("row, message", [
    (("Alyssa", "Google", "2024-Q1", "n/a"), r"row 3: 'n/a' is not a number \(amounts must be numbers\)"),
    (("Alyssa", None, "2024-Q1", 5), r"row 3: no client"),
    (("Alyssa", "Google", "2024-Q1", None), r"row 3: no amount"),
    (("Alyssa", "Google", None, 5), r"row 3: the period is empty"),
    (("Alyssa", "Google", 45000, 5), r"row 3: the period 45000 is a number, not a period"),
])
def test_bad_rows_are_named(row, message):
    with pytest.raises(InputError, match=message):
        SalesTensor.from_rows([("Mike", "Google", "2024-Q1", 1), row], first_row=2)


def test_blank_rows_are_skipped_and_labels_of_no_known_kind_sort_as_text():
    t = SalesTensor.from_rows([("A", "x", "spring", 1), (None, None, None, None), ("B", "y", "autumn", 2)])
    assert t.periods == ("autumn", "spring") and t.next_period == "after spring"
    assert next_period("2024-12") == "2025-01" and next_period("2024-Q4", 2) == "2025-Q2"


def test_from_matrices_joins_the_names(article):
    from xlrec import SalesMatrix

    later = SalesMatrix(["Mike", "Zoe"], ["Google", "Apple"], np.array([[1.0, nan], [2.0, 3.0]]))
    t = SalesTensor.from_matrices({"2024-Q2": later, "2024-Q1": article})
    assert t.periods == ("2024-Q1", "2024-Q2") and t.salespeople[-1] == "Zoe" and t.clients[-1] == "Apple"
    assert t.values[t.salesperson_index("Mike"), 0, 1] == 1 and np.isnan(t.values[-1, 0, 0])


# -- the fit ---------------------------------------------------------------------------------------------


def _fit_state(model, tensor):
    s, c, t = np.nonzero(tensor.known)
    z = (tensor.values[s, c, t] - model.mean_) / model.scale_
    return z, s, c, t


@pytest.mark.parametrize("params", [{}, {"l1": 0.3}, {"nonnegative": True}, {"biases": False, "rank": 4}])
def test_the_objective_never_increases(params):
    _, tensor = _planted(seed=1)
    model = CPModel(iterations=40, tol=0.0, l2=0.5, **params).fit(tensor)
    h = np.array(model.objective_)
    assert len(h) == 41 and np.all(np.diff(h) <= 1e-9 * h[:-1])
    z, s, c, t = _fit_state(model, tensor)
    assert h[-1] == pytest.approx(objective(z, s, c, t, model.salesperson_factors_, model.client_factors_,
                                            model.period_factors_, model.salesperson_offsets_,
                                            model.client_offsets_, model.period_offsets_, 0.5, params.get("l1", 0)))


def _row_problem(model, tensor, side, row):
    """(X, y) of one row's least-squares problem at the fitted state: design [1, other * other] over the
    row's known cells and the targets less the other sides' offsets (written out here, not with the model's
    kernels)."""
    z, s, c, t = _fit_state(model, tensor)
    A, B, C = model.salesperson_factors_, model.client_factors_, model.period_factors_
    bs, bc, bt = model.salesperson_offsets_, model.client_offsets_, model.period_offsets_
    idx = {"s": s, "c": c, "t": t}[side]
    k = idx == row
    if side == "s":
        X, y = B[c[k]] * C[t[k]], z[k] - bc[c[k]] - bt[t[k]]
    elif side == "c":
        X, y = A[s[k]] * C[t[k]], z[k] - bs[s[k]] - bt[t[k]]
    else:
        X, y = A[s[k]] * B[c[k]], z[k] - bs[s[k]] - bc[c[k]]
    return np.concatenate([np.ones((X.shape[0], 1)), X], axis=1), y


def test_each_row_update_is_the_exact_ridge_minimizer():
    """One more half-sweep from the fitted state gives each row the closed-form ridge solution, which
    scipy.optimize.minimize agrees with."""
    _, tensor = _planted(seed=2)
    model = CPModel(iterations=5, tol=0.0, l2=0.7, rank=2).fit(tensor)
    l2 = 0.7
    z, s, c, t = _fit_state(model, tensor)
    A, B, C = model.salesperson_factors_, model.client_factors_, model.period_factors_
    bs, bc, bt = model.salesperson_offsets_, model.client_offsets_, model.period_offsets_
    newC, newbt = model._half(z - bs[s] - bc[c], (A, s), (B, c), _csr(t, s, len(tensor.periods)),
                              len(tensor.periods), C.copy(), bt.copy())
    for row in range(len(tensor.periods)):
        X, y = _row_problem(model, tensor, "t", row)
        closed = np.linalg.solve(X.T @ X + l2 * np.eye(X.shape[1]), X.T @ y)
        np.testing.assert_allclose(np.r_[newbt[row], newC[row]], closed, rtol=1e-9, atol=1e-12)
        f = lambda w: 0.5 * np.sum((y - X @ w) ** 2) + 0.5 * l2 * w @ w  # noqa: E731
        ref = minimize(f, np.zeros(X.shape[1]), method="BFGS", options={"gtol": 1e-10}).x
        np.testing.assert_allclose(closed, ref, atol=1e-5)
    # and the fitted salesperson rows are the minimizers of their subproblems given the final B, C
    for row in range(3):
        X, y = _row_problem(model, tensor, "s", row)
        closed = np.linalg.solve(X.T @ X + l2 * np.eye(X.shape[1]), X.T @ y)
        # the fit ended with the period side, so these rows were solved against earlier C: solve again here
        got = model._half(z - bc[c] - bt[t], (B, c), (C, t), _csr(s, c, len(tensor.salespeople)),
                          len(tensor.salespeople), A.copy(), bs.copy())
        np.testing.assert_allclose(np.r_[got[1][row], got[0][row]], closed, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("nonnegative", [False, True])
def test_l1_rows_satisfy_the_lasso_optimality_conditions(nonnegative):
    _, tensor = _planted(seed=3)
    l2, l1 = 0.4, 0.8
    model = CPModel(iterations=8, tol=0.0, l2=l2, l1=l1, rank=3, nonnegative=nonnegative).fit(tensor)
    # the last half-sweep solved the period rows: check their conditions
    for row in range(len(tensor.periods)):
        X, y = _row_problem(model, tensor, "t", row)
        w = np.r_[model.period_offsets_[row], model.period_factors_[row]]
        grad = X.T @ (X @ w - y) + l2 * w  # gradient of the smooth part
        assert abs(grad[0]) < 1e-6  # the offset: not penalized
        for g, v in zip(grad[1:], w[1:]):
            if v > 0:
                assert g == pytest.approx(-l1, abs=1e-6)
            elif v < 0:
                assert not nonnegative and g == pytest.approx(l1, abs=1e-6)
            else:  # an exact zero: |g| <= l1 (or only g >= -l1 when negatives are not allowed)
                assert g >= -l1 - 1e-6 and (nonnegative or g <= l1 + 1e-6)


def test_a_planted_low_rank_tensor_is_recovered_with_half_its_cells_hidden():
    x, tensor = _planted(n=20, m=15, T=6, rank=2, hidden=0.5, seed=4)
    model = make_model("cp", rank=2, l2=1e-3, iterations=500, tol=1e-13).fit(tensor)
    hidden = ~tensor.known
    err = model.fill_tensor()[hidden] - x[hidden]
    # stated error: the RMSE on the hidden cells under 1 % of the spread of the bookings
    assert np.sqrt(np.mean(err ** 2)) < 0.01 * x.std()


def test_larger_l1_gives_more_exact_zeros_and_nonnegative_holds():
    _, tensor = _planted(seed=5)
    zeros = []
    for l1 in (0.0, 0.5, 2.0, 8.0):
        m = make_model("cp", rank=2, l2=0.1, l1=l1, iterations=30).fit(tensor)
        zeros.append(sum(int((f == 0).sum()) for f in (m.salesperson_factors_, m.client_factors_,
                                                        m.period_factors_)))
    assert zeros[0] == 0 and zeros == sorted(zeros) and zeros[-1] > zeros[1]
    m = make_model("cp", rank=3, nonnegative=True, l2=0.1).fit(tensor)
    for f in (m.salesperson_factors_, m.client_factors_, m.period_factors_):
        assert (f >= 0).all()


def test_deterministic_for_a_seed_and_seeds_differ():
    _, tensor = _planted(seed=6)
    a = make_model("cp", random_state=1, l2=0.1).fit(tensor).fill_tensor()
    b = make_model("cp", random_state=1, l2=0.1).fit(tensor).fill_tensor()
    c = make_model("cp", random_state=2, l2=0.1, iterations=3).fit(tensor).fill_tensor()
    assert np.array_equal(a, b) and not np.array_equal(a, c)


@pytest.mark.parametrize("how", ["mean", "last", "trend"])
def test_the_next_period_forecast_follows_its_rule(how):
    _, tensor = _planted(seed=7)
    model = make_model("cp", forecast=how, l2=0.1).fit(tensor)
    T = len(tensor.periods)
    C, bt = model.period_factors_, model.period_offsets_
    got_C, got_b = model._period_rows(np.array([T, T + 1]))
    x = np.arange(T)
    if how == "mean":
        want = np.tile(np.r_[bt.mean(), C.mean(axis=0)], (2, 1))
    elif how == "last":
        want = np.tile(np.r_[bt[-1], C[-1]], (2, 1))
    else:  # numpy's polyfit as the reference line
        rows = np.c_[bt, C]
        want = np.array([[np.polyval(np.polyfit(x, rows[:, d], 1), T + h) for d in range(rows.shape[1])]
                         for h in (0, 1)])
    np.testing.assert_allclose(np.c_[got_b, got_C], want, rtol=1e-10, atol=1e-12)
    e = model.predict("S0", "C0", "2024-07")
    assert e.value == pytest.approx(sum(v for _, v, _ in e.terms), rel=1e-12)
    assert "forecast 1 period ahead" in e.text() and "2024-07" in e.text()


def test_the_matrix_interface_is_the_latest_period_and_the_state_keeps_every_period():
    import json

    _, tensor = _planted(seed=8)
    model = make_model("cp").fit(tensor)
    np.testing.assert_array_equal(model.matrix_.values, tensor.values[:, :, -1])
    r = model.fill()
    np.testing.assert_array_equal(r.values, model.fill_period(len(tensor.periods) - 1))
    meta, arrays = model.to_state()
    back = CPModel.from_state(json.loads(json.dumps(meta)), arrays)
    assert back.tensor_.periods == tensor.periods
    np.testing.assert_array_equal(back.fill_period(len(tensor.periods)), model.fill_period(len(tensor.periods)))
    np.testing.assert_array_equal(back.fill_tensor(), model.fill_tensor())


# -- forecasting Northwind -------------------------------------------------------------------------------

NORTHWIND = DATA / "northwind" / "order_lines.csv"


@pytest.mark.skipif(not NORTHWIND.exists(), reason="the shared Northwind data is not here")
def test_cp_forecasts_the_last_northwind_quarter_better_than_the_naive_forecasts():
    from xlrec.io.bookings import read_bookings

    tensor = read_bookings(NORTHWIND, salesperson="FirstName+LastName", client="CustomerID", amount="Revenue",
                           date="OrderDate", period="quarter")[0]
    assert tensor.shape == (9, 89, 8) and tensor.periods[-1] == "1998-Q2"
    T = len(tensor.periods) - 1
    past = SalesTensor(tensor.salespeople, tensor.clients, tensor.periods[:T], tensor.values[:, :, :T])
    ii, jj = np.nonzero(tensor.known[:, :, T])
    truth = tensor.values[ii, jj, T]
    v = past.values[ii, jj]
    hist = ~np.isnan(v).all(axis=1)
    mean = np.nanmean(v[hist], axis=1)
    last = np.array([row[~np.isnan(row)][-1] for row in v[hist]])
    cp = make_model("cp").fit(past).predict_tensor_cells(ii, jj, np.full(ii.shape, T))[hist]

    def rmse(f):
        return float(np.sqrt(np.mean((f - truth[hist]) ** 2)))

    # robust margins: cp with its defaults beats both naive forecasts by at least 5 %
    assert rmse(cp) < 0.95 * rmse(mean) and rmse(cp) < 0.95 * rmse(last)
