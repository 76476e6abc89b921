"""Cross-validation (xlrec.core.evaluate): the folds, and figures equal to a plain loop over the folds."""

import math

import numpy as np
import pytest
from cv_reference import plain_cross_validation, pooled

from xlrec.core.evaluate import MIN_BOOKINGS, cross_validate, kfold_cells
from xlrec.core.matrix import SalesMatrix
from xlrec.core.models import BASELINES, MODELS, make_model
from xlrec.core.models.base import Model
from xlrec.exceptions import InputError


def synthetic(seed=7, shape=(12, 15), blank=0.6):
    rng = np.random.default_rng(seed)
    x = np.round(rng.lognormal(8, 1, shape), 2)
    x[rng.random(shape) < blank] = np.nan
    return SalesMatrix([f"S{i}" for i in range(shape[0])], [f"C{j}" for j in range(shape[1])], x)


# the default neighbour model, one that leaves cells to the training mean (coverage < 1), one with a fallback
# model, one by client; and every baseline
CASES = [("neighbors", {}), ("neighbors", {"min_shared": 3}), ("neighbors", {"min_shared": 3, "fallback": "client_mean"}),
         ("neighbors", {"by": "client", "k": 3, "metric": "euclidean", "weighting": "uniform"})] + \
        [(name, {}) for name in BASELINES]


@pytest.mark.parametrize("model, params", CASES)
@pytest.mark.parametrize("repeats", [1, 2])
def test_fold_results_equal_a_plain_loop_over_the_folds(model, params, repeats):
    matrix = synthetic()
    ev = cross_validate(matrix, make_model(model, **params), folds=4, repeats=repeats, seed=3)
    ref = plain_cross_validation(matrix, model, params, folds=4, repeats=repeats, seed=3)
    got = [(s.repeat, s.fold, s.cells, s.rmse, s.mae, s.coverage) for s in ev.fold_scores if s.model == model]
    assert len(got) == len(ref["folds"]) == 4 * repeats
    for g, r in zip(got, ref["folds"]):
        assert g[:3] == r[:3]
        assert g[3:] == pytest.approx(r[3:], rel=1e-12, abs=1e-9)
    rmse, mae, coverage, typical = pooled(ref)
    s = ev.scores[0]
    assert s.model == model
    assert (s.rmse, s.mae, s.coverage) == pytest.approx((rmse, mae, coverage), rel=1e-12)
    assert s.relative == pytest.approx(mae / typical, rel=1e-12)
    assert ev.typical == pytest.approx(typical, rel=1e-12)
    assert ev.held_out["actual"].tolist() == ref["actual"]
    assert ev.held_out["predicted"].tolist() == pytest.approx(ref["predicted"], rel=1e-12)
    assert ev.held_out["own"].tolist() == ref["own"]


def test_the_min_shared_case_really_leaves_cells_to_the_fallback():
    ev = cross_validate(synthetic(), make_model("neighbors", min_shared=3), baselines=())
    assert 0 < ev.scores[0].coverage < 1


@pytest.mark.parametrize("model, params", [("neighbors", {})] + [(b, {}) for b in BASELINES])
def test_every_baseline_beside_the_model_equals_its_own_plain_loop(model, params):
    matrix = synthetic(seed=11)
    ev = cross_validate(matrix, "neighbors", folds=5, seed=1)
    assert [s.model for s in ev.scores] == ["neighbors", *BASELINES]
    ref = plain_cross_validation(matrix, model, params, folds=5, seed=1)
    rmse, mae, coverage, _ = pooled(ref)
    assert (ev.score(model).rmse, ev.score(model).mae, ev.score(model).coverage) == \
        pytest.approx((rmse, mae, coverage), rel=1e-12)


def test_a_baseline_chosen_is_not_listed_twice():
    ev = cross_validate(synthetic(), "client_mean")
    assert [s.model for s in ev.scores] == ["client_mean", "mean", "salesperson_mean", "baseline"]


def test_cross_validation_calls_the_private_kernels_and_checks_once(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("cross-validation must call the private kernels, not the validating methods")

    monkeypatch.setattr(Model, "fit", refuse)
    monkeypatch.setattr(Model, "predict_cells", refuse)
    checks = []
    original = Model.check
    monkeypatch.setattr(Model, "check", lambda self: (checks.append(self.name), original(self))[1])
    model = make_model("neighbors", k=3)
    ev = cross_validate(synthetic(), model, folds=3, repeats=2)
    assert sorted(checks) == sorted(["neighbors", *BASELINES])  # once per model, not per fold
    assert not hasattr(model, "matrix_")  # the model given is left unfitted
    assert len(ev.fold_scores) == 3 * 2 * 5


def test_an_invalid_parameter_is_reported_before_any_fold():
    with pytest.raises(InputError, match="^k must be a whole number of at least 1, got 0$"):
        cross_validate(synthetic(), make_model("neighbors", k=0))


# -- the folds ---------------------------------------------------------------------------------------------


def _lines_keep_training(matrix, test):
    known = matrix.known
    train = known & ~test
    rows_ok = (train.sum(axis=1) >= 1) | (known.sum(axis=1) < 2)
    cols_ok = (train.sum(axis=0) >= 1) | (known.sum(axis=0) < 2)
    return rows_ok.all() and cols_ok.all()


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("shape, blank", [((12, 15), 0.6), ((5, 6), 0.0), ((30, 8), 0.8), ((4, 40), 0.5)])
def test_folds_hold_each_cell_out_once_and_empty_no_line(seed, shape, blank):
    matrix = synthetic(seed=100 + seed, shape=shape, blank=blank)
    if matrix.known.sum() < MIN_BOOKINGS:
        pytest.skip("too few bookings for this draw")
    known = matrix.known
    dealt = kfold_cells(matrix, 5, seed)
    assert dealt.test.shape == (5, *shape)
    assert (dealt.test.sum(axis=0) <= 1).all()  # at most once
    assert not (dealt.test.any(axis=0) & ~known).any()  # only known cells
    assert (dealt.test.any(axis=0) | dealt.never).sum() == known.sum()  # every known cell accounted for
    assert not (dealt.test.any(axis=0) & dealt.never).any()
    per_client, per_person = known.sum(axis=0), known.sum(axis=1)
    sole_c = known & (per_client == 1)[None, :]
    sole_p = known & (per_person == 1)[:, None]
    assert (dealt.sole_client == sole_c).all() and (dealt.sole_salesperson == sole_p).all()
    for f in range(5):
        assert _lines_keep_training(matrix, dealt.test[f])
        assert dealt.test[f].any()


def test_folds_are_deterministic_for_a_seed_and_change_with_it():
    m = synthetic()
    a, b, c = kfold_cells(m, 5, 0), kfold_cells(m, 5, 0), kfold_cells(m, 5, 1)
    assert (a.test == b.test).all()
    assert not (a.test == c.test).all()


def test_folds_are_balanced_and_spread_each_client():
    """Dealt round-robin, client after client: fold sizes differ by at most one (before any cell is kept),
    and a client's cells go to different folds."""
    x = np.arange(1.0, 41.0).reshape(8, 5)  # every cell known: 40 cells, 8 per client
    dealt = kfold_cells(x, 4, seed=5)
    if dealt.kept.any():
        pytest.fail("a full 8 x 5 matrix should need no cell kept with this seed")
    assert dealt.test.sum(axis=(1, 2)).tolist() == [10, 10, 10, 10]
    assert (dealt.test.sum(axis=1) == 2).all()  # each client: 8 cells, 2 per fold


def test_a_sole_booking_is_never_held_out():
    nan = math.nan
    x = np.full((6, 6), 1.0) + np.arange(36).reshape(6, 6)
    x[:, 5] = nan
    x[2, 5] = 99.0  # the only booking of client 5
    x[5, :] = nan
    x[5, 0] = 7.0  # the only booking of salesperson 5
    for seed in range(5):
        dealt = kfold_cells(x, 5, seed)
        assert not dealt.test[:, 2, 5].any() and not dealt.test[:, 5, 0].any()
        assert dealt.sole_client[2, 5] and dealt.sole_salesperson[5, 0]
    ev = cross_validate(x, "mean")
    assert ev.never["only booking of its client"] == 1 and ev.never["only booking of its salesperson"] == 1


def test_a_fold_that_would_empty_a_salesperson_keeps_one_cell_in_training():
    """5 x 6, every cell known, 3 folds, seed 0: one salesperson's six cells are all dealt to one fold; the one
    in the first column stays in training and is never held out."""
    x = np.arange(1.0, 31.0).reshape(5, 6)
    dealt = kfold_cells(x, 3, 0)
    assert dealt.kept.sum() == 1
    (i,), (j,) = np.nonzero(dealt.kept)
    row_folds = [f for f in range(3) if dealt.test[f, i].sum() == 5]
    assert len(row_folds) == 1  # the other five of that row are held out together
    assert j == 0  # the first column of the row
    assert not dealt.test[:, i, j].any()


def test_too_small_matrices_get_one_clear_line():
    x = np.full((4, 5), 3.0)
    x[0, 0] = np.nan  # 19 bookings
    with pytest.raises(InputError, match=r"^the matrix has 19 bookings; cross-validation needs at least 20 to give "
                                         r"a meaningful figure \(evaluate a fuller matrix"):
        cross_validate(x, "mean")
    with pytest.raises(InputError, match="has 19 bookings"):
        kfold_cells(x, 5)
    diag = np.full((20, 20), np.nan)
    np.fill_diagonal(diag, 5.0)  # each the only booking of its salesperson and of its client...
    diag[0, 1] = diag[1, 0] = 5.0  # ... but for the 2 x 2 block at the top: 22 bookings, 4 can be held out
    with pytest.raises(InputError, match=r"^only 4 bookings can be held out \(the 18 others are the only booking "
                                         r"of their client or salesperson\); 5 folds need at least 5: use fewer "
                                         r"folds \(--folds\) or a fuller matrix$"):
        cross_validate(diag, "mean", folds=5)
    with pytest.raises(InputError, match="^folds must be a whole number of at least 2, got 1"):
        cross_validate(synthetic(), "mean", folds=1)
    with pytest.raises(InputError, match="^repeats must be a whole number of at least 1, got 0"):
        cross_validate(synthetic(), "mean", repeats=0)
    with pytest.raises(InputError, match="^seed must be a whole number of at least 0, got -1"):
        cross_validate(synthetic(), "mean", seed=-1)


# -- the verdict and the table -------------------------------------------------------------------------------


def test_verdict_when_the_client_mean_is_exact():
    """Every client books the same with everyone: the client mean predicts every held-out cell exactly."""
    x = np.tile(np.array([100.0, 2_000.0, 300.0, 4_000.0, 500.0, 6_000.0]), (6, 1))
    x[np.eye(6, dtype=bool)] = np.nan
    ev = cross_validate(x, "mean", folds=3)
    assert ev.score("client_mean").rmse == pytest.approx(0, abs=1e-9)
    a = np.array(ev.held_out["actual"])
    mean_rmse = ev.scores[0].rmse
    assert ev.verdict().startswith(f"mean does not beat the client mean: RMSE {round(mean_rmse):,} against 0 over "
                                   f"{a.size} held-out bookings (3 folds)")


def test_verdict_when_the_model_beats_the_client_mean():
    """Every salesperson books the same with every client: the salesperson mean is exact, the client mean not."""
    x = np.tile(np.array([[100.0], [2_000.0], [300.0], [4_000.0], [500.0], [6_000.0]]), (1, 6))
    x[np.eye(6, dtype=bool)] = np.nan
    ev = cross_validate(x, "salesperson_mean", folds=3, repeats=2)
    ref = ev.score("client_mean").rmse
    assert ref > 1
    assert ev.verdict() == (f"salesperson_mean beats the client mean by 100.0%: RMSE 0 against {round(ref):,} over "
                            f"{ev.held_out['actual'].size} held-out bookings (3 folds x 2 repeats).")


def test_table_rows():
    ev = cross_validate(synthetic(), "neighbors")
    table = ev.table()
    assert table[0] == ["Model", "RMSE", "MAE", "Relative error", "Coverage", "Seconds per fold"]
    assert [r[0] for r in table[1:]] == ["neighbors", *BASELINES]
    text = ev.text_table().splitlines()
    assert len(text) == 6 and text[1].startswith("neighbors ")
    assert len({len(line) for line in text[1:]}) == 1  # aligned


def test_every_registered_model_can_be_evaluated():
    for name in MODELS:
        ev = cross_validate(synthetic(), name, folds=3, baselines=())
        assert [s.model for s in ev.scores] == [name]
        assert math.isfinite(ev.scores[0].rmse)
