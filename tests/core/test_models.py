"""What every model in the registry promises, checked over all of them (the seam's shared invariants)."""

import inspect
import io
import json

import numpy as np
import pytest

from xlrec import InputError, SalesMatrix
from xlrec.core.models import MODELS, make_model
from xlrec.core.models.params import Param

NAMES = list(MODELS)
# every model, and the neighbour model's other settings that change its code path
SETTINGS = [(name, {}) for name in NAMES] + [
    ("neighbors", {"k": 3, "weighting": "distance", "metric": "euclidean"}),
    ("neighbors", {"by": "client", "weighting": "uniform", "metric": "supremum"}),
    ("neighbors", {"k": 4, "metric": "nan_euclidean", "fallback": "baseline"}),
    ("neighbors", {"k": 2, "min_shared": 3, "fallback": "client_mean"}),
    ("baseline_neighbors", {"by": "client", "base": "mf", "rank": 3, "k": 5}),
]


def _matrix(n=14, m=11, known=0.55, seed=3):
    """Bookings drawn from a continuous distribution: no two distances tie, so no tie-breaking rule (row
    order) can make a permuted matrix choose other neighbours."""
    rng = np.random.default_rng(seed)
    x = rng.lognormal(10, 1, (n, m))
    x[rng.random((n, m)) > known] = np.nan
    x[0, 3:] = np.nan  # a salesperson with few bookings
    x[:, -1] = np.nan  # a client with none
    x[2, -1] = 120_000.0  # ... but one
    return SalesMatrix([f"S{i}" for i in range(n)], [f"C{j}" for j in range(m)], x)


def _id(setting):
    name, params = setting
    return name + "".join(f"-{k}={v}" for k, v in params.items())


@pytest.fixture(params=SETTINGS, ids=_id)
def setting(request):
    return request.param


def test_known_cells_never_change(setting, kernels):
    m = _matrix()
    r = make_model(setting[0], **setting[1]).fit(m).fill()
    assert np.array_equal(r.values[m.known], m.values[m.known])
    assert not (r.predicted | r.fallback | r.unfilled)[m.known].any()
    assert np.array_equal(r.predicted | r.fallback | r.unfilled, ~m.known)
    assert np.isnan(r.values[r.unfilled]).all() and not np.isnan(r.values[r.predicted | r.fallback]).any()


def test_permuting_salespeople_and_clients_permutes_the_predictions(setting, kernels):
    m = _matrix()
    rng = np.random.default_rng(0)
    p, q = rng.permutation(m.shape[0]), rng.permutation(m.shape[1])
    shuffled = SalesMatrix([m.salespeople[i] for i in p], [m.clients[j] for j in q], m.values[np.ix_(p, q)])
    a = make_model(setting[0], **setting[1]).fit(m).fill()
    b = make_model(setting[0], **setting[1]).fit(shuffled).fill()
    np.testing.assert_allclose(b.values, a.values[np.ix_(p, q)], rtol=1e-11)
    for part in ("predicted", "fallback", "unfilled"):
        assert np.array_equal(getattr(b, part), getattr(a, part)[np.ix_(p, q)])


def test_scaling_every_booking_scales_the_predictions(setting, kernels):
    name, params = setting
    cls = MODELS[name]
    m = _matrix()
    a = make_model(name, **params).fit(m).fill()
    scaled = make_model(name, **params).fit(SalesMatrix(m.salespeople, m.clients, m.values * 8)).fill()
    if cls.SCALE_EQUIVARIANT:
        np.testing.assert_allclose(scaled.values, a.values * 8, rtol=1e-11)
    else:  # a model that says it is not equivariant must really not be, or the declaration is wrong
        assert not np.allclose(scaled.values, a.values * 8, equal_nan=True)


def test_predict_cells_equals_fill_on_every_blank(setting, kernels):
    m = _matrix()
    model = make_model(setting[0], **setting[1]).fit(m)
    r = model.fill()
    rows, cols = np.nonzero(~m.known)
    got = model.predict_cells(rows, cols)
    own = r.predicted[rows, cols]  # what the model predicted itself (not its fallback)
    assert np.array_equal(got[own], r.values[rows, cols][own])
    assert np.isnan(got[~own]).all()
    # any order, repeats, and a 2-D shape
    order = np.random.default_rng(1).permutation(rows.size)
    twice = np.concatenate([order, order[:5]])
    again = model.predict_cells(rows[twice].reshape(-1, 1), cols[twice].reshape(-1, 1))
    assert again.shape == (twice.size, 1)
    np.testing.assert_array_equal(again[:, 0], got[twice])


def test_explain_gives_the_fill_value(setting):
    m = _matrix()
    model = make_model(setting[0], **setting[1]).fit(m)
    r = model.fill(explain=True)
    for i, j in zip(*np.nonzero(~m.known)):
        e, f = model.explain(i, j), r.explain(i, j)
        if r.unfilled[i, j]:
            assert e.value is None and f.value is None and e.reason
            continue
        assert e.value == pytest.approx(r.values[i, j], rel=1e-12) and f.value == pytest.approx(e.value, rel=1e-12)
        assert bool(e.fallback) == bool(r.fallback[i, j])
        assert e.text().startswith(f"{m.salespeople[i]} / {m.clients[j]}: ")
        assert e.table()[-1][-1] == e.value and e.note()
    i, j = map(int, np.argwhere(m.known)[0])
    assert model.explain(i, j).known and model.explain(i, j).value == m.values[i, j]


def test_state_round_trip_predicts_identically(setting, kernels):
    name, params = setting
    m = _matrix()
    model = make_model(name, **params).fit(m)
    meta, arrays = model.to_state()
    # what a model file would hold: JSON and an npz read back without pickle
    meta = json.loads(json.dumps(meta))
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    buf.seek(0)
    with np.load(buf, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    back = MODELS[name].from_state(meta, arrays)
    assert back.get_params() == model.get_params()
    a, b = model.fill(), back.fill()
    np.testing.assert_array_equal(a.values, b.values)
    rows, cols = np.nonzero(np.ones(m.shape, bool))
    np.testing.assert_array_equal(model.predict_cells(rows, cols), back.predict_cells(rows, cols))


def _bad_values(p: Param):
    if p.kind == "choice":
        return ["no-such-" + p.name, 3]
    if p.kind == "bool":
        return ["maybe", 2]
    bad = ["3", float("nan"), True]
    if p.kind == "int":
        bad.append(1.5)
    if p.low is not None:
        bad.append(p.low if p.low_open else p.low - 1)
    if p.high is not None:
        bad.append(p.high + 1)
    return bad


@pytest.mark.parametrize("name", NAMES)
def test_every_declared_parameter_is_checked_with_a_message(name, article):
    cls = MODELS[name]
    for p in cls.PARAMS:
        for bad in _bad_values(p):
            model = cls(**{p.name: bad})  # __init__ only stores
            assert getattr(model, p.name) is bad
            with pytest.raises(InputError, match=rf"^(unknown {p.name} |{p.name} must be )"):
                model.fit(article)
            assert getattr(model, p.name) is bad  # fit never rewrites a parameter


@pytest.mark.parametrize("name", NAMES)
def test_the_declaration_is_the_signature(name):
    cls = MODELS[name]
    sig = inspect.signature(cls.__init__)
    params = [q for q in sig.parameters.values() if q.name != "self"]
    assert all(q.kind is q.KEYWORD_ONLY for q in params)
    assert [(q.name, q.default) for q in params] == [(p.name, p.default) for p in cls.PARAMS]
    for p in cls.PARAMS:
        p.check(p.default)  # every default is itself valid
        assert p.help and p.name in cls.__doc__  # and documented in the class's docstring


@pytest.mark.parametrize("name", NAMES)
def test_get_set_params_and_clone(name, article):
    model = make_model(name)
    assert model.get_params() == {p.name: p.default for p in MODELS[name].PARAMS}
    twin = model.clone()
    assert twin is not model and twin.get_params() == model.get_params() and not hasattr(twin, "matrix_")
    with pytest.raises(InputError, match=rf"model '{name}' has no parameter 'nope'"):
        model.set_params(nope=1)


def test_unknown_names_say_what_exists():
    with pytest.raises(InputError, match=r"unknown model 'baselin'; choose one of: neighbors, .* \(did you mean "
                                         r"'baseline'\?\)"):
        make_model("baselin")
    with pytest.raises(InputError, match=r"model 'neighbors' has no parameter 'metrc'; its parameters are: k, "
                                         r"metric, .* \(did you mean 'metric'\?\)"):
        make_model("neighbors", metrc="euclidean")
    with pytest.raises(InputError, match=r"unknown metric 'manhatan'; .* \(did you mean 'manhattan'\?\)"):
        make_model("neighbors", metric="manhatan").fit(np.array([[1.0, np.nan], [2.0, 3.0]]))
