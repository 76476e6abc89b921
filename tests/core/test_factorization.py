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
