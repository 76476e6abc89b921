"""Which model, with which settings? A search over the models' declared parameters, scored by cross-validation.

The article: "N (neighbor count) is an adjustable parameter of an algorithm tuned with machine learning", and so
is the weighting function. :func:`tune` searches the models and their parameters (one engine, parameters as
data, results as a table, as scikit-learn's ``GridSearchCV``), scores every setting by K-fold cross-validation
over the known cells (:func:`~xlrec.core.evaluate.kfold_cells`), and reports the winner's error by **nested**
cross-validation: each outer fold runs the whole search on the other folds' cells only and scores its winner on
the fold it never saw, so the figure a user is shown is not flattered by the choice itself.

How the work is shared
----------------------
- The neighbour model finds each fold's ``max(k)`` nearest donors once per metric and ``by`` and votes for
  every k and weighting from them (:meth:`~xlrec.core.models.NeighborModel._predict_cells_many`): the 1,200
  settings of k 1..50 x 4 metrics x 3 weightings x 2 ``by`` cost 8 neighbour searches per fold, not 1,200.
- ``mf`` fits the settings that differ only in ``l2`` as a path on each fold, from the largest ``l2`` to the
  smallest, each fit starting from the factors of the one before (a warm start; ``warm_start=False`` fits each
  cold). A fit whose start has a factor shrunk to zero starts cold (``FactorizationModel._warm``).
- Scores are accumulated as sums of squared and absolute errors per setting and fold: memory does not grow
  with the number of settings times cells. No process pool: nothing to hang or to copy.

Search
------
Every setting of the space (:func:`search_space`) is scored on every fold when ``budget`` is None (a grid
search). With a ``budget`` in seconds the search is a successive halving over the work units (scikit-learn's
``HalvingGridSearchCV`` idea, with folds as the resource): every unit on one fold, the best third on three,
the best ninth on nine... up to every fold, keeping more than a third whenever more can be finished on every
fold within the time left; so an ample budget scores the whole grid, a tight one halves, and the winner is
always scored on every fold. A neighbour unit or an ``mf`` path is kept or dropped whole: sharing its fit is
what makes it cheap. ``strategy`` and ``rounds`` say what was done (see :func:`search`). A budgeted search
depends on the machine's speed; a grid search, and a halving without a budget, do not.

Score and ties
--------------
The score is the RMSE over every held-out cell of every fold pooled (as :func:`~xlrec.core.evaluate.
cross_validate` computes it), lower is better; a cell a setting cannot predict is scored with its fallback
model when it has one, else with the mean of the fold's training bookings. Equal scores rank in the order of
the settings in the space (the order of :func:`candidates`).
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, field

import numpy as np

from ..exceptions import InputError
from .evaluate import _check_sizes, kfold_cells
from .models import BASELINES, DEFAULT_MODEL, MODELS, as_matrix, format_amount, make_model, model_class

__all__ = ["tune", "search", "search_space", "candidates", "TuneResult", "SearchResult", "choose_model",
           "TUNABLE", "GRIDS", "AUTO_MIN_BOOKINGS", "AUTO_BUDGET"]

#: the models :func:`tune` searches by default: every model of a sales matrix (``cp`` reads periods)
TUNABLE = tuple(name for name in MODELS if name != "cp")

#: the values tried for numeric parameters; a choice is tried over every declared choice unless fixed below
GRIDS = {
    "neighbors": {"k": tuple(range(1, 51))},
    "baseline_neighbors": {"k": (10, 20, 40, 80), "shrinkage": (10.0, 100.0)},
    "mf": {"rank": (2, 5, 10), "l2": (0.3, 1.0, 3.0, 10.0), "l1": (0.0, 0.3)},
    "baseline": {"reg_client": (0.0, 5.0, 10.0, 25.0), "reg_salesperson": (0.0, 5.0, 15.0, 30.0)},
}

#: parameters left at their default unless a space names them: they say what to do (a fallback, a seed, when
#: to stop), not how to predict
FIXED = frozenset({"fallback", "min_shared", "reg_weight", "nonnegative", "biases", "iterations", "tol",
                   "random_state", "base"})

#: ``--model auto`` tunes only when the matrix has at least this many bookings, else takes the article's model
AUTO_MIN_BOOKINGS = 50
#: ``--model auto``'s time budget, in seconds
AUTO_BUDGET = 10.0
#: ``--model auto``'s search: the article's model over a shorter k grid, and two baselines
AUTO_SPACES = {"neighbors": {"k": (1, 2, 3, 5, 8, 13, 20, 30)}, "baseline": {}, "client_mean": {}}


def search_space(model, space=None) -> dict:
    """{parameter: values to try} for ``model``, in the order of its declaration.

    A parameter of ``space`` takes the values given there; else a numeric one takes :data:`GRIDS`'s values
    (its default alone when there are none), and a choice every declared choice (its default alone when it is
    in :data:`FIXED`).

    >>> search_space("neighbors")["metric"]
    ('manhattan', 'euclidean', 'supremum', 'nan_euclidean')
    >>> search_space("neighbors", {"k": [3]})["k"], search_space("neighbors")["fallback"]
    ((3,), (None,))
    """
    cls = model_class(model)
    space = dict(space or {})
    declared = {p.name: p for p in cls.PARAMS}
    for name in space:
        if name not in declared:
            from .models.base import unknown_parameter

            raise InputError(unknown_parameter(cls.name, name, list(declared)))
    grids = GRIDS.get(cls.name, {})
    out = {}
    for p in cls.PARAMS:
        if p.name in space:
            values = space[p.name]
            values = tuple(values) if isinstance(values, (list, tuple, range)) else (values,)
            if not values:
                raise InputError(f"model {cls.name!r}: no values to try for {p.name}")
            out[p.name] = tuple(p.parse(v) for v in values)
        elif p.name in grids:
            out[p.name] = grids[p.name]
        elif p.kind == "choice" and p.name not in FIXED:
            out[p.name] = tuple(p.choices)
        else:
            out[p.name] = (p.default,)
    return out


def candidates(models=None, spaces=None) -> list:
    """Every (model name, parameters) of the search, in grid order: models in the order given, then the
    product of the parameters' values in declaration order (the last parameter varying fastest)."""
    models = _models(models)
    spaces = spaces or {}
    out = []
    for name in models:
        space = search_space(name, spaces.get(name))
        keys = list(space)
        for values in itertools.product(*(space[k] for k in keys)):
            out.append((name, dict(zip(keys, values))))
    return out


def _models(models):
    if models is None:
        return list(TUNABLE)
    if isinstance(models, str):
        models = [m.strip() for m in models.split(",") if m.strip()]
    out = []
    for name in models:
        name = model_class(name).name
        if name == "cp":
            raise InputError("model 'cp' predicts periods from a bookings table; tune searches the models of a sales "
                             f"matrix: {', '.join(TUNABLE)}")
        if name not in out:
            out.append(name)
    if not out:
        raise InputError(f"no model to tune; choose among: {', '.join(TUNABLE)}")
    return out


# -- the work: units of settings that share a fit ------------------------------------------------------------

@dataclass
class _Unit:
    """Settings scored together from one fit per fold: a neighbour search (every k and weighting of one metric,
    ``by``, ``min_shared`` and fallback), or one setting of another model."""

    model: str
    params: dict
    members: list  # candidate positions
    ks: tuple = ()
    weightings: tuple = ()
    path: tuple = ()  # mf's l2 values, largest first, fitted each from the one before

    def scores(self, train, rows, cols, truth, train_mean, share=None):
        """[(candidate position, squared errors summed, absolute errors summed, cells the setting predicted
        itself)] on one fold: each setting's predictions, completed by its fallback, then the training mean
        where it had none (:func:`_complete`), against ``truth``. ``share``: what the neighbour searches of
        this fold share (``NeighborModel._fit``)."""
        if self.model == "neighbors":
            model = make_model("neighbors", **{**self.params, "k": max(self.ks), "weighting": self.weightings[0]})
            model._fit(train, share)
            got = model._score_many(rows, cols, truth, self.ks, self.weightings)
            if got is None:
                many = model._predict_cells_many(rows, cols, self.ks, self.weightings)
                fb = _fallback(model, rows, cols, np.isnan(many).any(axis=(0, 1)))
                return _scored([(pos, many[ki, wi], fb) for pos, (ki, wi) in zip(self.members, self._grid())],
                               truth, train_mean)
            sq, ab, nobody = got
            if nobody.any():  # the same for every k and weighting: the fallback's, else the training mean
                none = np.full(int(nobody.sum()), np.nan)
                fb = _fallback(model, rows[nobody], cols[nobody], np.isnan(none))
                e = _complete(none, fb, train_mean)[0] - truth[nobody]
                sq, ab = sq + float(np.dot(e, e)), ab + float(np.abs(e).sum())
            own = float(rows.size - np.count_nonzero(nobody))
            return [(pos, float(sq[ki, wi]), float(ab[ki, wi]), own)
                    for pos, (ki, wi) in zip(self.members, self._grid())]
        if self.path:
            preds, previous = [], None
            for pos, l2 in zip(self.members, self.path):
                model = make_model(self.model, **{**self.params, "l2": l2})._fit(train, start=previous)
                pred = model._predict_cells(rows, cols)
                preds.append((pos, pred, _fallback(model, rows, cols, np.isnan(pred))))
                previous = model
            return _scored(preds, truth, train_mean)
        model = make_model(self.model, **self.params)._fit(train)
        pred = model._predict_cells(rows, cols)
        return _scored([(self.members[0], pred, _fallback(model, rows, cols, np.isnan(pred)))], truth, train_mean)

    def _grid(self):
        return [(ki, wi) for ki in range(len(self.ks)) for wi in range(len(self.weightings))]


def _fallback(model, rows, cols, missing):
    if not missing.any():
        return None
    fb = model._fallback_model()
    if fb is None:
        return None
    out = np.full(rows.size, np.nan)
    out[missing] = fb._predict_cells(rows[missing], cols[missing])
    return out


def _units(cands, warm_start=True) -> list:
    """The candidates grouped into units; a neighbour unit's members in (k, weighting) order; with
    ``warm_start``, the ``mf`` settings that differ only in ``l2`` form one path, its members from the largest
    ``l2`` to the smallest (ties in the order of the candidates)."""
    units, by_key, paths = [], {}, {}
    for pos, (name, params) in enumerate(cands):
        if name == "mf" and warm_start:
            key = tuple((k, v) for k, v in params.items() if k != "l2")
            unit = paths.get(key)
            if unit is None:
                unit = paths[key] = _Unit(name, dict(key), [])
                units.append(unit)
            unit.members.append(pos)
        elif name == "neighbors":
            key = tuple((k, v) for k, v in params.items() if k not in ("k", "weighting"))
            unit = by_key.get(key)
            if unit is None:
                unit = by_key[key] = _Unit(name, dict(key), [], [], [])
                units.append(unit)
            unit.members.append((pos, params["k"], params["weighting"]))
        else:
            units.append(_Unit(name, params, [pos]))
    for unit in units:
        if unit.model == "mf" and warm_start:
            unit.members.sort(key=lambda pos: -cands[pos][1]["l2"])  # stable: equal l2 keep their order
            unit.path = tuple(cands[pos][1]["l2"] for pos in unit.members)
        if unit.model == "neighbors":
            ks = sorted({k for _, k, _ in unit.members})
            ws = list(dict.fromkeys(w for _, _, w in unit.members))
            at = {(k, w): pos for pos, k, w in unit.members}
            unit.ks, unit.weightings = tuple(ks), tuple(ws)
            # every (k, weighting) pair is scored; pairs outside the candidates are dropped by position -1
            unit.members = [at.get((k, w), -1) for k in ks for w in ws]
    return units


def _scored(preds, truth, train_mean):
    """:meth:`_Unit.scores` from [(candidate position, predictions with NaN, fallback predictions or None)]."""
    out = []
    e = np.empty(truth.size)  # each setting's errors in turn
    for pos, pred, fb in preds:
        if pos < 0:
            continue
        n_own = int(np.count_nonzero(~np.isnan(pred)))
        full = pred if n_own == pred.size else _complete(pred, fb, train_mean)[0]
        np.subtract(full, truth, out=e)
        out.append((pos, float(np.dot(e, e)), float(np.abs(e, out=e).sum()), float(n_own)))
    return out


def _complete(pred, fb, train_mean):
    """Predictions with the fallback's, then the training mean, where the setting had none."""
    out = np.array(pred)
    own = ~np.isnan(out)
    if fb is not None:
        out = np.where(own, out, fb)
    out[np.isnan(out)] = train_mean
    return out, own


# -- one search ----------------------------------------------------------------------------------------------

@dataclass(eq=False)
class SearchResult:
    """One search's results, as scikit-learn's ``cv_results_``: one entry per setting scored.

    Attributes
    ----------
    results : list of dict
        Per setting: ``model``, ``params``, ``mean_test_score`` (the RMSE pooled over every held-out cell of
        the folds it was scored on; lower is better), ``mae``, ``coverage``, ``split0_test_score``... (each
        fold's RMSE, None for a fold it was not scored on), ``std_test_score``, ``folds_scored``,
        ``mean_fit_time`` (seconds per fold, a shared fit divided among its settings), ``rank_test_score``
        (1 is the best). Sorted by rank: the settings scored on the most folds first, then by score, ties in
        the order of the space. The best is always scored on every fold.
    n_candidates : int
        Settings in the space; ``len(results)`` of them were scored.
    strategy : str
        ``"grid"`` (every setting on every fold) or ``"halving"`` (successive halving, see :func:`search`).
    folds : int
    seconds : float
    rounds : list of (int, int)
        Halving's rounds: (settings scored, folds they were scored on) after each; one round for a grid.
    """

    results: list
    n_candidates: int
    strategy: str
    folds: int
    seconds: float
    rounds: list = field(default_factory=list)

    @property
    def best(self) -> dict:
        return self.results[0]

    def best_model(self):
        """The winner, unfitted."""
        return make_model(self.best["model"], **self.best["params"])

    def describe(self) -> str:
        """How the search went: ``grid: every setting on 5 folds`` or ``successive halving: 1,259 settings on
        1 fold, 420 on 3, 12 on 5``."""
        if self.strategy == "grid":
            return f"grid: every setting on {self.folds} folds"
        steps = [f"{n:,} settings on {f} fold{'s' if f > 1 else ''}" if i == 0 else f"{n:,} on {f}"
                 for i, (n, f) in enumerate(self.rounds)]
        return f"successive halving: {', '.join(steps)}"


#: successive halving keeps the best 1 / HALVING_FACTOR of the units after each round, and scores them on
#: HALVING_FACTOR times as many folds (1, 3, 9... up to all)
HALVING_FACTOR = 3


def search(matrix, cands, folds=5, seed=0, budget=None, progress=None, checked=False, warm_start=True,
           strategy=None, factor=HALVING_FACTOR) -> SearchResult:
    """Score the (model name, parameters) of ``cands`` by ``folds``-fold cross-validation over the known cells
    of ``matrix`` (dealt by ``kfold_cells(matrix, folds, seed)``), within ``budget`` seconds if given.

    Parameters
    ----------
    matrix : SalesMatrix
    cands : list of (str, dict)
        As :func:`candidates` gives them.
    folds, seed : int
    budget : float or None
        Seconds. None: a grid search (every setting on every fold) unless ``strategy`` says otherwise.
    progress : callable or None
        ``progress(done, total)`` after each unit's fold; ``total`` is the plan, and grows when halving keeps
        more units than a third.
    checked : bool
        The settings were checked already (:func:`tune` checks them once for all its searches).
    warm_start : bool, default True
        ``mf``'s settings that differ only in ``l2`` are fitted on each fold as one path, from the largest
        ``l2`` to the smallest, each fit starting from the one before (``FactorizationModel._fit(...,
        start=...)``); their scores are those of the warm-started fits, no worse than cold fits' within a
        small tolerance (a test shows it).
    strategy : {"grid", "halving"} or None
        None: ``"grid"`` without a budget, ``"halving"`` with one.
    factor : int, default 3
        Halving's factor.

    Notes
    -----
    The work is done in units (a neighbour search shared by every k and weighting of one metric and ``by``; an
    ``mf`` path; one setting of another model), and successive halving ranks and keeps units, never splitting
    one: a unit's score is its best setting's. Round 1 scores every unit on the first fold, in a random order
    fixed by ``seed`` with each model's default settings first. Each round then keeps the best third of the
    units (the RMSE pooled over the folds scored so far; ties in the order of the space) and scores them on
    three times as many folds (1, 3, 9... capped at ``folds``; a fold's scores are kept, not recomputed), until
    the survivors have been scored on every fold. With a budget, a round keeps more than a third when more can
    be scored on every remaining fold within the time left (measured: each unit's seconds per fold so far),
    and then goes straight to every fold; so a budget that allows the whole grid scores the whole grid, and a
    tight one falls back to halving. Within a round a unit starts only when its expected time (its own seconds
    per fold so far, else its model's, else the slowest unit's) and that of scoring the best unit reached on
    every fold both fit in the time left; once one does not, the units not reached are dropped and the best
    unit reached is scored on every fold: the winner always is, so a search overruns its budget only by how
    far a unit's time strays from the expected. Without a budget the rounds are fixed by the space and the
    seed (deterministic); with one they depend on the machine's speed.
    """
    t0 = time.perf_counter()
    matrix = as_matrix(matrix)
    if not checked:
        for name, params in cands:
            make_model(name, **params).check()  # once: the folds call the private kernels
    strategy = strategy or ("grid" if budget is None else "halving")
    if strategy not in ("grid", "halving"):
        raise InputError(f"unknown search strategy {strategy!r}; choose among: grid, halving")
    dealt = kfold_cells(matrix, folds, seed)
    units = _units(cands, warm_start)
    members = [[pos for pos in unit.members if pos >= 0] for unit in units]
    nc, nu = len(cands), len(units)
    sse, sae, times = np.zeros((nc, folds)), np.zeros((nc, folds)), np.zeros((nc, folds))
    owned = np.zeros((nc, folds))
    unit_time = np.zeros((nu, folds))
    counts = np.zeros(folds)
    fold_data = []
    for f in range(folds):
        test = dealt.test[f]
        train = matrix.with_blanks(test)
        rows, cols = np.nonzero(test)
        fold_data.append((train, rows, cols, matrix.values[rows, cols], float(train.values[train.known].mean())))
        counts[f] = rows.size
    state = {"done": 0, "total": nu * folds if strategy == "grid" else _halving_plan(nu, folds, factor)}

    per_model = {}  # model name -> seconds of each (unit, fold) fit so far
    metrics = {unit.params["metric"] for unit in units if unit.model == "neighbors"}
    shared = {"fold": None, "data": None}

    def run(u, f):
        train, rows, cols, truth, train_mean = fold_data[f]
        t1 = time.perf_counter()
        if shared["fold"] != f:  # one fold's shared neighbour data at a time
            shared.update(fold=f, data={"metrics": metrics})
        scored = units[u].scores(train, rows, cols, truth, train_mean, shared["data"])
        unit_time[u, f] = time.perf_counter() - t1
        per_model.setdefault(units[u].model, []).append(unit_time[u, f])
        seconds = unit_time[u, f] / max(1, len(members[u]))
        for pos, s2, s1, n_own in scored:
            if pos >= 0:
                sse[pos, f], sae[pos, f], owned[pos, f], times[pos, f] = s2, s1, n_own, seconds
        state["done"] += 1
        state["total"] = max(state["total"], state["done"])
        if progress is not None:
            progress(state["done"], state["total"])

    depth = np.zeros(nu, dtype=int)  # folds each unit was scored on (always the first ``depth``)
    rounds = []
    if strategy == "grid":
        for f in range(folds):  # fold by fold: a fold's neighbour searches share their data
            for u in range(nu):
                run(u, f)
        depth[:] = folds
        rounds.append((nc, folds))
    else:
        def out_of_time(extra=0.0):
            return budget is not None and time.perf_counter() - t0 + extra > budget

        def unit_score(u, r):
            return min(math.sqrt(sse[pos, :r].sum() / counts[:r].sum()) for pos in members[u])

        def per_fold(u):
            """Expected seconds of one fold of unit u: its own so far, else its model's, else the slowest."""
            if depth[u]:
                return float(unit_time[u, :depth[u]].mean())
            seen = per_model.get(units[u].model)
            if seen:
                return float(np.mean(seen))
            return max((max(t) for t in per_model.values()), default=0.0)

        alive, r, target = _budget_order(units, cands, seed), 0, 1
        first = {u: min(members[u]) for u in range(nu)}  # ties: the order of the space
        while True:
            reached, best, stopped = [], None, False
            for u in alive:
                # a unit starts only if it, and then finishing the best unit so far on every fold, fit the time
                if reached and out_of_time(per_fold(u) * (target - r) + per_fold(best) * (folds - target)):
                    stopped = True
                    break
                for f in range(r, target):
                    run(u, f)
                depth[u] = target
                reached.append(u)
                if best is None or (unit_score(u, target), first[u]) < (unit_score(best, target), first[best]):
                    best = u
            alive, r = reached, target
            rounds.append((sum(len(members[u]) for u in alive), r))
            if r == folds:
                break
            alive.sort(key=lambda u: (unit_score(u, r), first[u]))
            if stopped or out_of_time():  # the best unit reached is scored on every fold
                alive, target = alive[:1], folds
                state["total"] = state["done"] + (folds - r)
                continue
            keep = max(1, math.ceil(len(alive) / factor))
            target = min(folds, r * factor)
            if budget is not None:
                left = budget - (time.perf_counter() - t0)
                cost = np.cumsum([unit_time[u, :r].mean() * (folds - r) for u in alive])
                fits = int(np.searchsorted(cost, left, side="right"))
                if fits >= keep:
                    keep, target = fits, folds
            alive = alive[:keep]
            state["total"] = state["done"] + _halving_plan(len(alive), folds, factor, r, target)
    if progress is not None and state["total"] != state["done"]:  # a plan cut short by the budget: done
        progress(state["done"], state["done"])

    results = []
    for u in np.flatnonzero(depth):
        d = int(depth[u])
        for pos in members[u]:
            name, params = cands[pos]
            n = counts[:d].sum()
            split = np.sqrt(sse[pos, :d] / counts[:d])
            row = {"model": name, "params": dict(params), "mean_test_score": float(math.sqrt(sse[pos, :d].sum() / n)),
                   "mae": float(sae[pos, :d].sum() / n), "coverage": float(owned[pos, :d].sum() / n)}
            row.update({f"split{f}_test_score": float(split[f]) if f < d else None for f in range(folds)})
            row.update({"std_test_score": float(split.std()), "folds_scored": d,
                        "mean_fit_time": float(times[pos, :d].mean()), "position": int(pos)})
            results.append(row)
    results.sort(key=lambda r: (-r["folds_scored"], r["mean_test_score"], r["position"]))
    for rank, row in enumerate(results, 1):
        row["rank_test_score"] = rank
    return SearchResult(results, nc, strategy, folds, time.perf_counter() - t0, rounds)


def _halving_plan(units, folds, factor, r=0, target=1):
    """(unit, fold) fits that successive halving makes from ``units`` scored on ``r`` folds, its next round
    scoring them on ``target``."""
    total = 0
    while True:
        total += units * (target - r)
        r = target
        if r >= folds:
            return total
        units, target = max(1, math.ceil(units / factor)), min(folds, r * factor)


def _budget_order(units, cands, seed):
    """Units in a random order fixed by ``seed``, the unit holding each model's default settings first: the
    baselines' (:data:`~xlrec.core.models.BASELINES`, next to free) before the others', so that even a budget
    spent on the first learning model's unit has scored them."""
    defaults = []
    for u, unit in enumerate(units):
        members = [pos for pos in unit.members if pos >= 0]
        name = unit.model
        default = make_model(name).get_params()
        if any(cands[pos][1] == default for pos in members) and u not in defaults:
            defaults.append(u)
    defaults.sort(key=lambda u: units[u].model not in BASELINES)  # stable: otherwise in the order of the space
    rest = [u for u in np.random.default_rng(seed).permutation(len(units)).tolist() if u not in defaults]
    return defaults + rest


# -- tune: the search, and its honest score ------------------------------------------------------------------

@dataclass(eq=False)
class TuneResult:
    """The result of :func:`tune`.

    Attributes
    ----------
    matrix : SalesMatrix
    search : SearchResult
        The search over every known cell: its ranking and its winner (the settings to use).
    nested_rmse, nested_mae : float or None
        The winner's error by nested cross-validation: pooled over every outer held-out cell, each predicted by
        the winner of a search that never saw it. None when ``nested=False``.
    outer : list of dict
        Per outer fold: ``fold``, ``model``, ``params`` (that fold's winner), ``rmse``, ``cells``.
    held_out : dict of ndarray
        The outer folds' cells pooled: ``rows``, ``cols``, ``actual``, ``predicted``.
    typical : float
        The mean absolute known booking.
    folds, seed : int
    budget : float or None
    seconds : float
    """

    matrix: object
    search: SearchResult
    nested_rmse: float | None
    nested_mae: float | None
    outer: list
    held_out: dict
    typical: float
    folds: int
    seed: int
    budget: float | None
    seconds: float
    models: list = field(default_factory=list)

    HEADER = ("Rank", "Model", "Settings", "RMSE", "MAE", "Coverage", "Std over folds", "Seconds per fold")

    @property
    def best(self) -> dict:
        return self.search.best

    def best_model(self):
        """The winner, unfitted: fit it on the whole matrix to use it."""
        return self.search.best_model()

    def amount(self, v) -> str:
        return format_amount(round(v) if self.typical >= 100 else v)

    def table(self, top=None) -> list:
        """The ranking: a header, then per setting its rank, model, settings, RMSE, MAE, coverage (a fraction),
        the standard deviation of the folds' RMSE and the fit + predict seconds per fold."""
        rows = [list(self.HEADER)]
        for r in self.search.results[:top]:
            rows.append([r["rank_test_score"], r["model"], _settings_text(r["params"], r["model"]),
                         r["mean_test_score"], r["mae"], r["coverage"], r["std_test_score"], r["mean_fit_time"]])
        return rows

    def text_table(self, top=20) -> str:
        rows = [list(self.HEADER)]
        for r in self.table(top)[1:]:
            rows.append([str(r[0]), r[1], r[2], self.amount(r[3]), self.amount(r[4]), f"{r[5]:.1%}",
                         self.amount(r[6]), f"{r[7]:.4f}"])
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        return "\n".join("  ".join(c.ljust(w) if i in (1, 2) else c.rjust(w) for i, (c, w) in
                                   enumerate(zip(r, widths))).rstrip() for r in rows)

    def label(self) -> str:
        b = self.best
        text = _settings_text(b["params"], b["model"])
        return f"{b['model']} ({text})" if text else b["model"]

    def typical_error(self) -> str:
        """``typical error +/- 1,950, 5-fold``: the nested RMSE when there is one, else the search's."""
        rmse = self.nested_rmse if self.nested_rmse is not None else self.best["mean_test_score"]
        return f"typical error +/- {self.amount(rmse)}, {self.folds}-fold{' nested' if self.nested_rmse is not None else ''}"

    def summary(self) -> str:
        """One paragraph: the winner, its nested score against its own search score, the search and the time."""
        s = self.search
        b = self.best
        what = f"{s.n_candidates:,} settings of {', '.join(self.models)}"
        if s.strategy != "grid":
            what += f" ({s.describe()}{'' if self.budget is None else f'; budget {self.budget:g} s'})"
        text = f"best: {self.label()}; RMSE {self.amount(b['mean_test_score'])} in the search ({self.folds}-fold)"
        if self.nested_rmse is not None:
            winners = {o["model"] + " " + _settings_text(o["params"], o["model"]) for o in self.outer}
            text += (f", {self.amount(self.nested_rmse)} by nested cross-validation (MAE {self.amount(self.nested_mae)}"
                     f"; the outer folds chose {len(winners)} different setting{'s' if len(winners) > 1 else ''})")
        return f"{text}. Searched {what} in {self.seconds:.1f} s."

    def to_dict(self) -> dict:
        return {"best": {"model": self.best["model"], "params": self.best["params"],
                         "rmse": self.best["mean_test_score"], "mae": self.best["mae"]},
                "nested": None if self.nested_rmse is None else
                {"rmse": self.nested_rmse, "mae": self.nested_mae, "outer": self.outer},
                "folds": self.folds, "seed": self.seed, "budget": self.budget, "seconds": self.seconds,
                "strategy": self.search.strategy, "rounds": [list(r) for r in self.search.rounds],
                "n_candidates": self.search.n_candidates,
                "typical_booking": self.typical, "summary": self.summary(),
                "results": [{k: v for k, v in r.items() if k != "position"} for r in self.search.results]}


def _settings_text(params, model) -> str:
    """The settings as ``k=7, metric=euclidean, ...``: every parameter but those of :data:`FIXED` left at their
    default; empty for a model without parameters."""
    defaults = make_model(model).get_params()
    varied = {k: v for k, v in params.items() if k not in FIXED or v != defaults[k]}
    return ", ".join(f"{k}={'none' if v is None else v}" for k, v in varied.items())


def tune(matrix, models=None, spaces=None, folds=5, seed=0, budget=None, nested=True, progress=None,
         warm_start=True, strategy=None) -> TuneResult:
    """Search ``models`` over their parameters and score the winner by nested cross-validation.

    Parameters
    ----------
    matrix : SalesMatrix or ndarray of shape (n_salespeople, n_clients) with NaN blanks
    models : list of str, str "a,b" or None
        The models to search (default :data:`TUNABLE`).
    spaces : dict or None
        {model: {parameter: values}} replacing :func:`search_space`'s values for those parameters.
    folds : int, default 5
        Folds of the search, and of the outer loop of the nested score.
    seed : int, default 0
        How cells are dealt into folds (``kfold_cells(..., seed)``, for the outer folds and for every search
        within them) and the order of a budgeted search.
    budget : float or None
        Seconds for the whole run, shared by the ``folds + 1`` searches when ``nested`` (each gets the time
        left divided among the searches left), each search a successive halving within its share; None
        searches every setting on every fold.
    nested : bool, default True
        Also score the winner by nested cross-validation.
    progress : callable or None
        ``progress(done, total)`` as searches advance.
    warm_start : bool, default True
        Fit ``mf``'s ``l2`` values as a warm-started path on each fold (see :func:`search`).
    strategy : {"grid", "halving"} or None
        The searches' strategy (see :func:`search`); None: halving with a budget, else the grid.

    Returns
    -------
    TuneResult
    """
    t0 = time.perf_counter()
    matrix = as_matrix(matrix)
    _check_sizes(matrix, folds, seed)
    if budget is not None and (isinstance(budget, bool) or not isinstance(budget, (int, float)) or
                               not budget > 0 or not math.isfinite(budget)):
        raise InputError(f"budget must be a number of seconds above 0, got {budget!r}")
    names = _models(models)
    cands = candidates(names, spaces)
    for name, params in cands:
        make_model(name, **params).check()
    runs = folds + 1 if nested else 1

    def share(run):
        """A search's budget: the time left shared among the searches left (an overrun shrinks the next)."""
        if budget is None:
            return None
        return max(1e-9, (budget - (time.perf_counter() - t0)) / (runs - run))

    finished = [0]  # (unit, fold) fits of the searches done; a search's plan can grow as it goes

    def step(run):
        if progress is None:
            return None

        def report(done, total):
            progress(finished[0] + done, finished[0] + total * (runs - run))
            if done == total:
                finished[0] += total
        return report

    outer, held = [], {"rows": [], "cols": [], "actual": [], "predicted": []}
    nested_rmse = nested_mae = None
    if nested:
        dealt = kfold_cells(matrix, folds, seed)
        for f in range(folds):
            test = dealt.test[f]
            train = matrix.with_blanks(test)
            inner = search(train, cands, folds, seed, share(f), step(f), checked=True, warm_start=warm_start,
                           strategy=strategy)
            rows, cols = np.nonzero(test)
            winner = inner.best_model()
            fitted = winner._fit(train)
            pred = fitted._predict_cells(rows, cols)
            full, _ = _complete(pred, _fallback(fitted, rows, cols, np.isnan(pred)),
                                float(train.values[train.known].mean()))
            truth = matrix.values[rows, cols]
            e = full - truth
            outer.append({"fold": f + 1, "model": inner.best["model"], "params": inner.best["params"],
                          "rmse": float(np.sqrt(np.mean(e * e))), "cells": int(rows.size),
                          "inner_rmse": inner.best["mean_test_score"]})
            for key, v in (("rows", rows), ("cols", cols), ("actual", truth), ("predicted", full)):
                held[key].append(v)
        held = {k: np.concatenate(v) for k, v in held.items()}
        e = held["predicted"] - held["actual"]
        nested_rmse, nested_mae = float(np.sqrt(np.mean(e * e))), float(np.mean(np.abs(e)))
    else:
        held = {k: np.array([]) for k in held}
    final = search(matrix, cands, folds, seed, share(runs - 1), step(runs - 1), checked=True, warm_start=warm_start,
                   strategy=strategy)
    typical = float(np.mean(np.abs(matrix.values[matrix.known])))
    return TuneResult(matrix, final, nested_rmse, nested_mae, outer, held, typical, folds, seed, budget,
                      time.perf_counter() - t0, names)


# -- --model auto --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AutoChoice:
    """How ``--model auto`` chose: ``text`` is what a summary line says."""

    model: str
    params: dict
    text: str
    rmse: float | None = None


def choose_model(matrix, model=DEFAULT_MODEL, budget=AUTO_BUDGET, **params):
    """The unfitted model named ``model`` with ``params`` (:func:`~xlrec.core.models.make_model`); for
    ``model="auto"`` the winner of a short :func:`tune` within ``budget`` seconds (neighbours over a few k,
    every metric, weighting and ``by``; the baseline; the client mean) when the matrix has at least
    :data:`AUTO_MIN_BOOKINGS` bookings, else the article's model with its settings. An auto model carries
    ``tuning_`` (an :class:`AutoChoice`), whose text names the model and its cross-validated error.
    """
    if model != "auto":
        return make_model(model, **params)
    if params:
        raise InputError(f"--model auto chooses the settings itself; {', '.join(params)} cannot be given with it "
                         "(name a model to set them)")
    matrix = as_matrix(matrix)
    n_known = int(matrix.known.sum())
    if n_known < AUTO_MIN_BOOKINGS:
        chosen = make_model(DEFAULT_MODEL)
        chosen.tuning_ = AutoChoice(DEFAULT_MODEL, chosen.get_params(),
                                    f"auto: {DEFAULT_MODEL} ({chosen.describe()}), the article's settings: "
                                    f"{n_known} bookings are too few to tune on (at least {AUTO_MIN_BOOKINGS})")
        return chosen
    try:
        result = tune(matrix, models=list(AUTO_SPACES), spaces=AUTO_SPACES, folds=5, seed=0, budget=budget,
                      nested=False)
    except InputError as exc:  # too few cells can be held out: the article's settings
        chosen = make_model(DEFAULT_MODEL)
        chosen.tuning_ = AutoChoice(DEFAULT_MODEL, chosen.get_params(),
                                    f"auto: {DEFAULT_MODEL} ({chosen.describe()}), the article's settings ({exc})")
        return chosen
    chosen = result.best_model()
    chosen.tuning_ = AutoChoice(chosen.name, chosen.get_params(),
                                f"auto: {result.label()}, {result.typical_error()}", result.best["mean_test_score"])
    return chosen
