"""``mf`` against independent references: its objective written out here, scipy.optimize on the same
objective, the lasso's optimality conditions and scikit-learn's Lasso, and a planted low-rank matrix."""

import numpy as np
import pytest
from scipy import optimize

from xlrec import SalesMatrix
from xlrec.core.models import make_model
from xlrec.core.models.factorization import _solve


def _planted(n=40, m=30, rank=3, hidden=0.5, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    full = 100 + 10 * rng.normal(size=(n, rank)) @ rng.normal(size=(rank, m)) + noise * rng.normal(size=(n, m))
    x = full.copy()
    x[rng.random((n, m)) < hidden] = np.nan
    return full, SalesMatrix([f"s{i}" for i in range(n)], [f"c{j}" for j in range(m)], x)


def _objective(model, m, P=None, Q=None, bs=None, bc=None):
    """The objective of factorization.py's text, by plain loops over the known cells."""
    P = model.salesperson_factors_ if P is None else P
    Q = model.client_factors_ if Q is None else Q
    bs = model.salesperson_offsets_ if bs is None else bs
    bc = model.client_offsets_ if bc is None else bc
    # each row's regularization weighs sqrt(its bookings) (reg_weight "sqrt", the default), at least 1
    ws = [max(1, sum(m.known[i])) ** 0.5 for i in range(m.shape[0])]
    wc = [max(1, sum(m.known[:, j])) ** 0.5 for j in range(m.shape[1])]
    total = 0.0
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            if m.known[i, j]:
                z = (m.values[i, j] - model.mean_) / model.scale_
                total += 0.5 * (z - bs[i] - bc[j] - sum(P[i, r] * Q[j, r] for r in range(P.shape[1]))) ** 2
    for i in range(m.shape[0]):
        total += ws[i] * (0.5 * model.l2 * (np.sum(P[i] ** 2) + bs[i] ** 2) + model.l1 * np.abs(P[i]).sum())
    for j in range(m.shape[1]):
        total += wc[j] * (0.5 * model.l2 * (np.sum(Q[j] ** 2) + bc[j] ** 2) + model.l1 * np.abs(Q[j]).sum())
    return total


def test_the_objective_never_increases_and_is_the_one_written_out():
    _, m = _planted(noise=3.0)
    for params in ({"rank": 3, "l2": 0.5}, {"rank": 4, "l2": 1.0, "l1": 0.3}, {"rank": 3, "l2": 1.0, "nonnegative": True}):
        model = make_model("mf", iterations=60, tol=0, **params).fit(m)
        history = np.array(model.objective_)
        assert (np.diff(history) <= 1e-9 * history[:-1]).all(), params
        assert history[-1] == pytest.approx(_objective(model, m), rel=1e-9)


def test_the_l2_fit_is_a_stationary_point_scipy_cannot_improve():
    _, m = _planted(n=15, m=12, rank=2, noise=2.0, seed=3)
    model = make_model("mf", rank=2, l2=0.8, iterations=3000, tol=1e-15).fit(m)
    n, k = model.salesperson_factors_.shape
    mm = model.client_factors_.shape[0]

    def unpack(w):
        P = w[:n * k].reshape(n, k)
        Q = w[n * k:(n + mm) * k].reshape(mm, k)
        return P, Q, w[(n + mm) * k:(n + mm) * k + n], w[(n + mm) * k + n:]

    rows, cols = np.nonzero(m.known)
    z = (m.values[rows, cols] - model.mean_) / model.scale_

    ws, wc = np.sqrt(m.known.sum(axis=1)), np.sqrt(m.known.sum(axis=0))
    weights = np.concatenate([np.repeat(ws, k), np.repeat(wc, k), ws, wc])

    def f(w):  # the objective written out, vectorized for scipy (the plain loop above checks the same formula)
        P, Q, bs, bc = unpack(w)
        r = z - bs[rows] - bc[cols] - (P[rows] * Q[cols]).sum(axis=1)
        return 0.5 * r @ r + 0.5 * model.l2 * (weights @ (w * w))

    assert f(w0 := np.concatenate([model.salesperson_factors_.ravel(), model.client_factors_.ravel(),
                                   model.salesperson_offsets_, model.client_offsets_])) == \
        pytest.approx(_objective(model, m), rel=1e-12)

    gradient = optimize.approx_fprime(w0, f, 1e-7)
    assert np.abs(gradient).max() < 1e-4
    best = optimize.minimize(f, w0, method="L-BFGS-B", options={"maxiter": 500, "ftol": 1e-15, "gtol": 1e-10})
    assert best.fun >= f(w0) - 1e-7 * abs(f(w0))  # scipy finds nothing lower from there
    # and from scipy's own start at zero-ish factors, it reaches no lower objective than ALS did
    other = optimize.minimize(f, w0 * 0.5 + 0.01, method="L-BFGS-B", options={"maxiter": 5000, "ftol": 1e-15})
    assert other.fun >= f(w0) - 1e-6 * abs(f(w0))


def _design(seed, cells=25, d=5):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(cells, d))
    y = X @ rng.normal(size=d) * (rng.random(d) < 0.5).any() + rng.normal(size=cells)
    return X, y


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("l1, l2", [(0.5, 0.1), (3.0, 1.0), (0.05, 2.0)])
def test_each_l1_row_update_is_scikit_learns_lasso_and_meets_its_optimality_conditions(seed, l1, l2):
    from sklearn.linear_model import Lasso

    X, y = _design(seed)
    d = X.shape[1]
    G, h = (X.T @ X)[None], (X.T @ y)[None]
    w = _solve(G, h, np.zeros((1, d)), l2, l1, False, False, sweeps=10_000, tol=1e-14)[0]
    # 1/2 |y - Xw|^2 + l2/2 |w|^2 + l1 |w|_1 is a lasso on (X; sqrt(l2) I), (y; 0); scikit-learn divides the
    # squared error by the number of rows, so its alpha is l1 / rows
    Xa, ya = np.vstack([X, np.sqrt(l2) * np.eye(d)]), np.concatenate([y, np.zeros(d)])
    oracle = Lasso(alpha=l1 / Xa.shape[0], fit_intercept=False, tol=1e-14, max_iter=1_000_000).fit(Xa, ya).coef_
    np.testing.assert_allclose(w, oracle, atol=1e-7)
    # the conditions: the gradient of the smooth part is -l1 sign(w) where w != 0, within [-l1, l1] where w = 0
    g = X.T @ (X @ w - y) + l2 * w
    nz = w != 0
    np.testing.assert_allclose(g[nz], -l1 * np.sign(w[nz]), atol=1e-8)
    assert (np.abs(g[~nz]) <= l1 + 1e-8).all()


def test_every_row_of_a_fitted_l1_model_meets_the_lasso_conditions():
    _, m = _planted(noise=2.0, seed=5)
    model = make_model("mf", rank=4, l2=0.3, l1=0.08, iterations=200, tol=0).fit(m)
    Q, bc, P, bs = model.client_factors_, model.client_offsets_, model.salesperson_factors_, model.salesperson_offsets_
    # the clients are solved last in a sweep: each client's row is the elastic net given the salespeople
    for j in range(m.shape[1]):  # design [1, p_s], target z - b_s
        rows = np.flatnonzero(m.known[:, j])
        z = (m.values[rows, j] - model.mean_) / model.scale_ - bs[rows]
        X = np.column_stack([np.ones(rows.size), P[rows]])
        w = np.concatenate([[bc[j]], Q[j]])
        weight = np.sqrt(rows.size)  # this client's regularization weight (reg_weight "sqrt")
        g = X.T @ (X @ w - z) + model.l2 * weight * w
        assert abs(g[0]) < 1e-7  # the offset: no L1
        f = g[1:]
        nz = Q[j] != 0
        np.testing.assert_allclose(f[nz], -model.l1 * weight * np.sign(Q[j][nz]), atol=1e-7)
        assert (np.abs(f[~nz]) <= model.l1 * weight + 1e-7).all()
    assert (Q == 0).any() and (Q != 0).any()


def test_larger_l1_gives_more_exact_zeros():
    _, m = _planted(noise=1.0, seed=2)
    zeros = [int((make_model("mf", rank=6, l2=0.3, l1=l1, iterations=60).fit(m).salesperson_factors_ == 0).sum())
             for l1 in (0.0, 0.05, 0.2, 0.6)]
    assert zeros[0] == 0 and zeros == sorted(zeros) and zeros[-1] > zeros[1] > 0


def test_nonnegative_factors_stay_at_or_above_zero():
    _, m = _planted(seed=4)
    model = make_model("mf", rank=4, l2=0.5, nonnegative=True, iterations=50).fit(m)
    assert (model.salesperson_factors_ >= 0).all() and (model.client_factors_ >= 0).all()
    assert (model.salesperson_factors_ == 0).any()  # the projection was exercised


def test_a_planted_low_rank_matrix_is_recovered_from_half_its_cells():
    full, m = _planted(n=60, m=40, rank=3, hidden=0.5, seed=7)
    model = make_model("mf", rank=3, l2=0.001, iterations=500, tol=1e-12).fit(m)
    hidden = ~m.known
    err = model.fill().values[hidden] - full[hidden]
    # the planted interaction has a deviation of about 10 x sqrt(3) = 17; the hidden cells come back within 1 %
    assert np.sqrt(np.mean(err ** 2)) < 0.01 * np.std(full)


# -- warm start: _fit(..., start=model) ------------------------------------------------------------------------

def test_a_cold_fit_is_unchanged_and_a_warm_fit_starts_from_the_given_factors():
    _, m = _planted(noise=3.0, seed=8)
    cold = make_model("mf", rank=3, l2=0.5).fit(m)
    again = make_model("mf", rank=3, l2=0.5)._fit(m, start=None)
    for name in ("salesperson_factors_", "client_factors_", "salesperson_offsets_", "client_offsets_"):
        np.testing.assert_array_equal(getattr(again, name), getattr(cold, name))
    assert again.objective_ == cold.objective_
    assert (np.linalg.norm(cold.salesperson_factors_, axis=0) > 1).all()  # no factor collapsed: a real warm start
    warm = make_model("mf", rank=3, l2=0.2, iterations=40, tol=0)._fit(m, start=cold)
    # the first objective is the new l2's objective at the start's factors and offsets (written out by loops)
    start_objective = _objective(warm, m, cold.salesperson_factors_, cold.client_factors_,
                                 cold.salesperson_offsets_, cold.client_offsets_)
    assert warm.objective_[0] == pytest.approx(start_objective, rel=1e-12)
    history = np.array(warm.objective_)
    assert (np.diff(history) <= 1e-9 * history[:-1]).all()
    assert history[-1] == pytest.approx(_objective(warm, m), rel=1e-9)
    assert cold.salesperson_factors_ is not warm.salesperson_factors_  # the start is copied, not changed
    assert cold.objective_ == again.objective_
    with pytest.raises(ValueError, match="a warm start needs factors of shapes"):
        make_model("mf", rank=4)._fit(m, start=cold)


def test_a_fit_started_at_its_own_solution_stays_there():
    _, m = _planted(n=20, m=15, rank=2, noise=2.0, seed=1)
    done = make_model("mf", rank=2, l2=1.0, iterations=3000, tol=1e-15).fit(m)
    again = make_model("mf", rank=2, l2=1.0, iterations=5, tol=0)._fit(m, start=done)
    np.testing.assert_allclose(again.salesperson_factors_, done.salesperson_factors_, atol=1e-7)
    np.testing.assert_allclose(again.client_offsets_, done.client_offsets_, atol=1e-7)


@pytest.mark.parametrize("rank, l1", [(5, 0.0), (5, 0.3), (2, 0.0), (8, 0.05)])
def test_a_warm_path_reaches_the_cold_fits_objective(rank, l1):
    """The tuner's path (its default iterations and tolerance): l2 from the largest to the smallest, each fit
    from the one before, against a cold fit of each l2."""
    full, m = _planted(n=50, m=40, rank=3, hidden=0.6, noise=8.0, seed=12)
    hidden = ~m.known
    previous = None
    for l2 in (10.0, 3.0, 1.0, 0.3, 0.1):
        cold = make_model("mf", rank=rank, l2=l2, l1=l1).fit(m)
        warm = make_model("mf", rank=rank, l2=l2, l1=l1)._fit(m, start=previous)
        # no worse an objective than the cold start reaches (within 0.5 %), on the same l2
        assert warm.objective_[-1] <= cold.objective_[-1] * 1.005, l2
        err_cold = np.sqrt(np.mean((cold.fill().values[hidden] - full[hidden]) ** 2))
        err_warm = np.sqrt(np.mean((warm.fill().values[hidden] - full[hidden]) ** 2))
        assert err_warm == pytest.approx(err_cold, rel=0.03), l2
        previous = warm


def test_a_start_whose_factors_collapsed_is_the_cold_start():
    """A large l2 (or l1) shrinks factors to zero, a stationary point the sweeps would not leave: the fit
    then starts cold, and is the cold fit exactly."""
    _, m = _planted(noise=3.0, seed=8)
    flat = make_model("mf", rank=3, l2=1.0, l1=50.0).fit(m)
    assert (flat.salesperson_factors_ == 0).all()
    warm = make_model("mf", rank=3, l2=0.5)._fit(m, start=flat)
    cold = make_model("mf", rank=3, l2=0.5).fit(m)
    np.testing.assert_array_equal(warm.salesperson_factors_, cold.salesperson_factors_)
    assert warm.objective_ == cold.objective_


def test_on_a_strongly_regularized_small_case_warm_and_cold_reach_the_same_point():
    _, m = _planted(n=12, m=10, rank=1, hidden=0.3, noise=1.0, seed=6)
    previous = None
    for l2 in (8.0, 4.0, 2.0):
        cold = make_model("mf", rank=1, l2=l2, iterations=5000, tol=1e-15).fit(m)
        warm = make_model("mf", rank=1, l2=l2, iterations=5000, tol=1e-15)._fit(m, start=previous)
        np.testing.assert_allclose(warm.fill().values, cold.fill().values, rtol=1e-6)
        previous = warm
