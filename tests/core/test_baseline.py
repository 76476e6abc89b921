"""The baselines against independent references: plain loops written here, and scikit-surprise's
BaselineOnly (a test-only oracle) for the regularized ``baseline`` model."""

import math

import numpy as np
import pytest

from xlrec import SalesMatrix
from xlrec.core.models import make_model


def _matrix(seed=5, n=12, m=9, known=0.5):
    rng = np.random.default_rng(seed)
    x = np.round(rng.lognormal(8, 1, (n, m)), 2)
    x[rng.random((n, m)) > known] = np.nan
    x[:, 0] = np.nan  # a client nobody booked
    x[1, :] = np.nan  # a salesperson with no booking
    x[1, 4] = 0.0  # ... but a booking of zero
    return SalesMatrix([f"s{i}" for i in range(n)], [f"c{j}" for j in range(m)], x)


def test_means_are_plain_averages(article):
    x = article.values
    cells = [(i, j) for i in range(x.shape[0]) for j in range(x.shape[1]) if not math.isnan(x[i, j])]
    overall = sum(x[i, j] for i, j in cells) / len(cells)
    r = make_model("mean").fit(article).fill()
    assert r.values[0, 3] == pytest.approx(overall, rel=1e-15)
    staples = [x[i, 3] for i in range(x.shape[0]) if not math.isnan(x[i, 3])]
    assert make_model("client_mean").fit(article).fill().values[0, 3] == sum(staples) / len(staples)  # 350,000
    alyssa = [v for v in x[0] if not math.isnan(v)]
    assert make_model("salesperson_mean").fit(article).fill().values[0, 3] == sum(alyssa) / len(alyssa)


def test_a_line_without_bookings_has_no_line_mean_and_says_why():
    m = _matrix()
    r = make_model("client_mean").fit(m).fill()
    assert r.unfilled[:, 0][~m.known[:, 0]].all()
    assert "client 'c0' has no booking" in r.summary()
    e = make_model("salesperson_mean").fit(m).explain(2, 0) if not m.known[2, 0] else None
    assert e is None or e.value is not None
    # the salesperson whose only booking is 0 has a mean of 0, not "nothing"
    assert make_model("salesperson_mean").fit(m).fill().values[1, 2] == 0.0


def _als_loop(x, reg_i, reg_u, epochs):
    """BaselineOnly's alternating least squares, written as surprise's documentation states it."""
    cells = [(i, j, x[i, j]) for i in range(x.shape[0]) for j in range(x.shape[1]) if not math.isnan(x[i, j])]
    mu = sum(v for _, _, v in cells) / len(cells)
    bu, bi = [0.0] * x.shape[0], [0.0] * x.shape[1]
    for _ in range(epochs):
        for j in range(x.shape[1]):
            mine = [(i, v) for i, jj, v in cells if jj == j]
            bi[j] = sum(v - mu - bu[i] for i, v in mine) / (reg_i + len(mine)) if mine else 0.0
        for i in range(x.shape[0]):
            mine = [(j, v) for ii, j, v in cells if ii == i]
            bu[i] = sum(v - mu - bi[j] for j, v in mine) / (reg_u + len(mine)) if mine else 0.0
    return mu, bu, bi


@pytest.mark.parametrize("reg_client, reg_salesperson, iterations", [(10, 15, 10), (0.5, 3, 25), (0, 0, 1)])
def test_baseline_is_the_plain_loop(reg_client, reg_salesperson, iterations):
    m = _matrix()
    model = make_model("baseline", reg_client=reg_client, reg_salesperson=reg_salesperson,
                       iterations=iterations).fit(m)
    mu, bu, bi = _als_loop(m.values, reg_client, reg_salesperson, iterations)
    assert model.mean_ == pytest.approx(mu, rel=1e-14)
    np.testing.assert_allclose(model.salesperson_offsets_, bu, rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(model.client_offsets_, bi, rtol=1e-10, atol=1e-9)
    r = model.fill()
    for i, j in zip(*np.nonzero(~m.known)):
        assert r.values[i, j] == pytest.approx(mu + bu[i] + bi[j], rel=1e-10)


def test_baseline_matches_surprise_baselineonly(tmp_path):
    import surprise  # a test-only oracle (the test extra installs it)
    m = _matrix(seed=8, n=20, m=15, known=0.6)
    path = tmp_path / "ratings.csv"
    rows = [(m.salespeople[i], m.clients[j], float(m.values[i, j])) for i, j in zip(*np.nonzero(m.known))]
    path.write_text("".join(f"{u},{c},{v!r}\n" for u, c, v in rows))
    reader = surprise.Reader(line_format="user item rating", sep=",", rating_scale=(0, 1e9))
    trainset = surprise.Dataset.load_from_file(str(path), reader=reader).build_full_trainset()
    algo = surprise.BaselineOnly(bsl_options={"method": "als", "reg_i": 10, "reg_u": 15, "n_epochs": 10},
                                 verbose=False)
    algo.fit(trainset)
    model = make_model("baseline", reg_client=10, reg_salesperson=15, iterations=10).fit(m)
    assert model.mean_ == pytest.approx(trainset.global_mean, rel=1e-12)
    for i, name in enumerate(m.salespeople):
        if trainset.knows_user(inner := _inner(trainset.to_inner_uid, name)):
            assert model.salesperson_offsets_[i] == pytest.approx(algo.bu[inner], rel=1e-9, abs=1e-7)
    for j, name in enumerate(m.clients):
        if trainset.knows_item(inner := _inner(trainset.to_inner_iid, name)):
            assert model.client_offsets_[j] == pytest.approx(algo.bi[inner], rel=1e-9, abs=1e-7)
    for i, j in zip(*np.nonzero(~m.known)):
        est = algo.predict(m.salespeople[i], m.clients[j], clip=False).est
        assert model.predict_cells(np.array([i]), np.array([j]))[0] == pytest.approx(est, rel=1e-9)


def _inner(convert, raw):
    try:
        return convert(raw)
    except ValueError:
        return -1


def test_baseline_explains_its_terms(article):
    e = make_model("baseline").fit(article).predict("Alyssa", "Staples")
    mean, sp, cl = (t[1] for t in e.terms)
    assert e.value == pytest.approx(mean + sp + cl, rel=1e-15)
    assert e.text().splitlines()[1:] == [f"  mean of all bookings: {mean:,.2f}", f"  Alyssa's offset: +{sp:,.2f}",
                                         f"  Staples's offset: -{-cl:,.2f}"]
    assert [row[0] for row in e.table()] == ["Term", "mean of all bookings", "Alyssa's offset", "Staples's offset",
                                             "Prediction"]


@pytest.mark.parametrize("k, shrinkage, by", [(40, 100, "salesperson"), (3, 0, "salesperson"), (5, 10, "client")])
def test_baseline_neighbors_match_surprise_knnbaseline(tmp_path, k, shrinkage, by):
    import surprise  # a test-only oracle (the test extra installs it)

    m = _matrix(seed=11, n=25, m=18, known=0.55)
    path = tmp_path / "ratings.csv"
    rows = [(m.salespeople[i], m.clients[j], float(m.values[i, j])) for i, j in zip(*np.nonzero(m.known))]
    path.write_text("".join(f"{u},{c},{v!r}\n" for u, c, v in rows))
    reader = surprise.Reader(line_format="user item rating", sep=",", rating_scale=(0, 1e9))
    trainset = surprise.Dataset.load_from_file(str(path), reader=reader).build_full_trainset()
    algo = surprise.KNNBaseline(k=k, min_k=1, verbose=False,
                                sim_options={"name": "pearson_baseline", "user_based": by == "salesperson",
                                             "shrinkage": shrinkage},
                                bsl_options={"method": "als", "reg_i": 10, "reg_u": 15, "n_epochs": 10})
    algo.fit(trainset)
    model = make_model("baseline_neighbors", k=k, shrinkage=shrinkage, by=by).fit(m)
    r = model.fill()
    checked = 0
    for i, j in zip(*np.nonzero(~m.known)):
        sp, cl = m.salespeople[i], m.clients[j]
        if not (trainset.knows_user(_inner(trainset.to_inner_uid, sp))
                and trainset.knows_item(_inner(trainset.to_inner_iid, cl))):
            continue  # surprise answers an unknown user or item with its global mean, not a baseline
        est = algo.predict(sp, cl, clip=False).est
        assert r.values[i, j] == pytest.approx(est, rel=1e-9), (sp, cl)
        checked += 1
    assert checked > 100
