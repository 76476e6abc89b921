"""Accuracy of xlrec's models against scikit-surprise and scikit-learn on the same folds (issue 13, Accuracy and
Speed).

For each data set (``bench/datasets.py``) the known cells are dealt into 5 folds once
(``xlrec.kfold_cells(matrix, 5, seed=0)``); every xlrec model and every peer is fitted on the training cells of
a fold and predicts its held-out cells. The figures are pooled over every held-out cell of the folds run.

- **xlrec models** come from :data:`XLREC`. A model with a grid is tuned per outer fold on an inner split of
  that fold's *training* cells only: ``kfold_cells(train, 5, seed=0).test[0]`` (about 20 % of the training
  cells) is held out, each grid point is fitted on the rest and scored on it, the point with the lowest inner
  RMSE is refitted on the whole training fold and scored on the test fold. The test folds never take part in
  the choice. A grid is a list of stages: each stage searches its product of values with the earlier stages'
  choices fixed (so ``mf`` picks rank x l2 first, then l1 at that point).
- **Peers** come from :data:`PEERS`: scikit-surprise's algorithms (trainset built from the training cells
  through a temporary CSV and ``Dataset.load_from_file``; predictions by ``algo.predict(uid, iid,
  clip=False)``, so nothing is clipped) and scikit-learn's ``KNNImputer`` on the dense training matrix.
  Where surprise cannot predict a cell (``was_impossible``, e.g. KNNBasic with no neighbour) it gives its
  default, the training mean; such cells count against coverage. ``kfold_cells`` keeps every salesperson and
  client with two bookings or more in every training fold, so no held-out cell has an unknown user or item.
- A cell an xlrec model leaves blank (NaN) is scored with the fold's training mean and counts against
  coverage.

Times: ``fit`` is ``model.fit(train)`` (surprise: ``algo.fit(trainset)``; the CSV and trainset building is
not counted), ``predict`` is predicting the held-out cells, both means per fold. The neighbour models do
their work lazily, at prediction. Tuning time is reported separately.

Usage::

    python bench/bench_accuracy.py                       # both data sets, 5 folds, every peer
    python bench/bench_accuracy.py --quick               # first fold only
    python bench/bench_accuracy.py --datasets northwind --skip-slow
"""

from __future__ import annotations

import argparse
import itertools
import math
import multiprocessing
import os
import platform
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import datasets  # noqa: E402

import xlrec  # noqa: E402

# -- what is compared ---------------------------------------------------------------------------------------

#: xlrec models: (label, registered name, fixed parameters, grid). A grid is None (the parameters as given) or a
#: list of stages, each a dict {parameter: values}; stages are searched in turn (see the module's text).
XLREC = [
    ("mean", "mean", {}, None),
    ("client_mean", "client_mean", {}, None),
    ("salesperson_mean", "salesperson_mean", {}, None),
    ("baseline", "baseline", {}, None),
    ("baseline (tuned)", "baseline", {}, [{"reg_client": [0.0, 2.0, 5.0, 10.0, 25.0],
                                           "reg_salesperson": [0.0, 5.0, 15.0, 50.0, 1000.0]}]),
    ("neighbors (default)", "neighbors", {}, None),
    ("neighbors (tuned)", "neighbors", {}, [{"k": [2, 5, 10, 20], "weighting": ["rank", "uniform"]}]),
    ("baseline_neighbors by salesperson", "baseline_neighbors", {"by": "salesperson"},
     [{"k": [20, 40, 80], "shrinkage": [10.0, 100.0]}]),
    ("baseline_neighbors by client", "baseline_neighbors", {"by": "client"},
     [{"k": [20, 40, 80], "shrinkage": [10.0, 100.0]}]),
    ("mf (defaults)", "mf", {}, None),
    ("mf", "mf", {}, [{"rank": [2, 5, 10], "l2": [0.5, 1.0, 2.0, 5.0]}, {"l1": [0.0, 0.02, 0.1]}]),
    ("baseline_neighbors on mf by client", "baseline_neighbors", {"by": "client", "base": "mf"}, None),
]

#: the model the speed figures are about (its l1 > 0 fit is timed against its L2-only fit)
MF_LABEL = "mf (defaults)"
#: l1 used for the "l1 > 0 against L2-only" timing when the tuned mf chose l1 = 0
MF_L1_FOR_TIMING = 0.05


def _surprise(kind, **kw):
    def make():
        import surprise
        return getattr(surprise, kind)(**kw)
    return make


#: peers: (label, settings shown, factory, slow). ``slow`` ones are skipped by --skip-slow and run in a child
#: process capped at --cap seconds per fold. A factory returns a surprise algorithm, or "knnimputer".
PEERS = [
    ("surprise BaselineOnly", "als, defaults", _surprise("BaselineOnly", bsl_options={"method": "als"},
                                                         verbose=False), False),
    ("surprise KNNBasic", "k=40, msd, user-based", _surprise("KNNBasic", verbose=False), False),
    ("surprise KNNWithMeans", "k=40, msd, user-based", _surprise("KNNWithMeans", verbose=False), False),
    ("surprise KNNBaseline user", "k=40, pearson_baseline, user-based",
     _surprise("KNNBaseline", sim_options={"name": "pearson_baseline", "user_based": True}, verbose=False), False),
    ("surprise KNNBaseline item", "k=40, pearson_baseline, item-based",
     _surprise("KNNBaseline", sim_options={"name": "pearson_baseline", "user_based": False}, verbose=False), False),
    ("surprise SVD", "defaults (100 factors, 20 epochs), seed 0", _surprise("SVD", random_state=0), False),
    ("surprise SVD++", "defaults (20 factors, 20 epochs), seed 0", _surprise("SVDpp", random_state=0), True),
    ("surprise NMF", "defaults (15 factors, 50 epochs), seed 0", _surprise("NMF", random_state=0), False),
    ("sklearn KNNImputer", "k=5, nan_euclidean, uniform, by row", lambda: "knnimputer", True),
]

#: data sets: name -> (loader, how peers see the values). "raw": the bookings as they are; "std": divided by the
#: training folds' standard deviation (and predictions multiplied back), for amounts in the thousands that
#: surprise's SGD (SVD, SVD++, NMF, learning rate 0.005) cannot fit as they are. Every surprise peer of a data
#: set sees the same values.
DATASETS = {
    "northwind": (datasets.northwind, "std"),
    "online_retail": (datasets.online_retail, "raw"),
}

#: where the speed figures (mf against surprise SVD, mf l1 > 0 against L2-only) are measured
SPEED_DATASETS = {"online_retail"}

FOLDS, SEED = 5, 0
INNER_SEED = 0


# -- scoring ------------------------------------------------------------------------------------------------

@dataclass
class Row:
    label: str
    kind: str  # "xlrec" or "peer"
    settings: list = field(default_factory=list)  # per fold (xlrec tuned) or one string
    pred: list = field(default_factory=list)
    own: list = field(default_factory=list)
    fit: list = field(default_factory=list)
    predict: list = field(default_factory=list)
    tune: list = field(default_factory=list)
    note: str = ""
    rmse: float = math.nan
    mae: float = math.nan


def _errors(truth, pred):
    e = pred - truth
    return float(np.sqrt(np.mean(e * e))), float(np.mean(np.abs(e)))


def _fmt_params(p):
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in p.items())


def _fit_predict(name, params, train, rows, cols):
    model = xlrec.make_model(name, **params)
    t0 = time.perf_counter()
    model.fit(train)
    t1 = time.perf_counter()
    pred = np.asarray(model.predict_cells(rows, cols), dtype=float)
    t2 = time.perf_counter()
    return pred, t1 - t0, t2 - t1, model


def _tune(name, fixed, grid, train, inner):
    """The grid point with the lowest RMSE on the inner split of ``train``; (params, seconds, log)."""
    itest = inner.test[0]
    itrain = train.with_blanks(itest)
    rows, cols = np.nonzero(itest)
    truth = train.values[rows, cols]
    mean = float(itrain.values[itrain.known].mean())
    chosen, log, seen = dict(fixed), [], {}
    t0 = time.perf_counter()
    for stage in grid:
        keys = list(stage)
        best = None
        for values in itertools.product(*(stage[k] for k in keys)):
            params = {**chosen, **dict(zip(keys, values))}
            key = tuple(sorted(params.items()))
            if key not in seen:  # a later stage may revisit the point an earlier one chose
                pred, *_ = _fit_predict(name, params, itrain, rows, cols)
                pred = np.where(np.isnan(pred), mean, pred)
                seen[key] = _errors(truth, pred)[0]
                log.append((params, seen[key]))
            rmse = seen[key]
            if best is None or rmse < best[1]:
                best = (params, rmse)
        chosen = best[0]
    return chosen, time.perf_counter() - t0, log


def _surprise_trainset(train, scale):
    from surprise import Dataset, Reader
    rows, cols = np.nonzero(train.known)
    vals = train.values[rows, cols] / scale
    lo, hi = float(vals.min()), float(vals.max())
    # wide enough that nothing clips (and predictions are not clipped either: clip=False)
    lo, hi = (lo / 2 if lo > 0 else lo - abs(hi) - 1), hi * 2 + 1
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
        for r, c, v in zip(rows.tolist(), cols.tolist(), vals.tolist()):
            f.write(f"{r},{c},{v!r}\n")
        path = f.name
    try:
        data = Dataset.load_from_file(path, Reader(line_format="user item rating", sep=",", rating_scale=(lo, hi)))
        return data.build_full_trainset()
    finally:
        os.unlink(path)


def _peer_run(factory, train, rows, cols, scale):
    """(pred, own, fit seconds, predict seconds) of one peer on one fold."""
    algo = factory()
    if algo == "knnimputer":
        from sklearn.impute import KNNImputer
        t0 = time.perf_counter()
        imputer = KNNImputer(n_neighbors=5, keep_empty_features=True)
        filled = imputer.fit_transform(train.values)
        t1 = time.perf_counter()
        pred = filled[rows, cols]
        return pred, np.ones(rows.size, dtype=bool), t1 - t0, time.perf_counter() - t1
    trainset = _surprise_trainset(train, scale)
    t0 = time.perf_counter()
    algo.fit(trainset)
    t1 = time.perf_counter()
    pred = np.empty(rows.size)
    own = np.ones(rows.size, dtype=bool)
    for n, (r, c) in enumerate(zip(rows.tolist(), cols.tolist())):
        p = algo.predict(str(r), str(c), clip=False)
        pred[n] = p.est
        own[n] = not p.details.get("was_impossible", False)
    return pred * scale, own, t1 - t0, time.perf_counter() - t1


def _child(conn, factory, train, rows, cols, scale):
    try:
        conn.send(_peer_run(factory, train, rows, cols, scale))
    except BaseException as e:  # noqa: BLE001 - reported to the parent
        conn.send(e)
    finally:
        conn.close()


def _peer_capped(factory, train, rows, cols, scale, cap):
    """:func:`_peer_run` in a forked child, None if it takes more than ``cap`` seconds."""
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, factory, train, rows, cols, scale))
    proc.start()
    child.close()
    if not parent.poll(cap):
        proc.kill()
        proc.join()
        return None
    out = parent.recv()
    proc.join()
    if isinstance(out, BaseException):
        raise out
    return out


# -- one data set -------------------------------------------------------------------------------------------

def run_dataset(name, args, log):
    loader, peer_values = DATASETS[name]
    t0 = time.perf_counter()
    matrix = loader()
    n_known = int(matrix.known.sum())
    log(f"[{name}] {matrix.shape[0]:,} x {matrix.shape[1]:,}, {n_known:,} known cells, built in "
        f"{time.perf_counter() - t0:.1f} s")
    cf = xlrec.kfold_cells(matrix, FOLDS, SEED)
    folds = [0] if args.quick else list(range(FOLDS))
    xl = [(label, mname, fixed, grid) for label, mname, fixed, grid in XLREC
          if not args.models or label in args.models or mname in args.models or args.models == ["none"]]
    xl = [] if args.models == ["none"] else xl
    peers = [p for p in PEERS if not (args.skip_slow and p[3]) and not args.no_peers
             and (not args.peers or any(s.lower() in p[0].lower() for s in args.peers))]
    rows_out = {label: Row(label, "xlrec") for label, *_ in xl}
    rows_out.update({label: Row(label, "peer", settings=[settings]) for label, settings, *_ in peers})
    truth_all = []
    speed = []  # per fold: dict of figures
    for f in folds:
        test = cf.test[f]
        train = matrix.with_blanks(test)
        rows, cols = np.nonzero(test)
        truth = matrix.values[rows, cols]
        truth_all.append(truth)
        mean = float(train.values[train.known].mean())
        inner = xlrec.kfold_cells(train, FOLDS, INNER_SEED)
        fold_speed = {}
        log(f"[{name}] fold {f + 1}/{FOLDS}: {rows.size:,} held out, {int(train.known.sum()):,} in training")
        for label, mname, fixed, grid in xl:
            row = rows_out[label]
            params, tune_s = dict(fixed), 0.0
            if grid:
                params, tune_s, tlog = _tune(mname, fixed, grid, train, inner)
                if args.verbose:
                    for p, r in tlog:
                        log(f"      inner {label} {_fmt_params(p)}: {r:.4f}")
            pred, fit_s, pred_s, model = _fit_predict(mname, params, train, rows, cols)
            own = ~np.isnan(pred)
            pred = np.where(own, pred, mean)
            row.pred.append(pred), row.own.append(own), row.fit.append(fit_s), row.predict.append(pred_s)
            row.tune.append(tune_s)
            row.settings.append(_fmt_params(params) or "defaults")
            log(f"    {label:<36} RMSE {_errors(truth, pred)[0]:.4f}  fit {fit_s:6.2f} s  predict {pred_s:6.2f} s"
                + (f"  tune {tune_s:6.1f} s  [{_fmt_params(params)}]" if grid else ""))
            if label == MF_LABEL and name in SPEED_DATASETS:
                fold_speed["mf"] = (fit_s, _errors(truth, pred)[0], params)
                other = dict(params)
                other["l1"] = 0.0 if params.get("l1", 0.0) > 0 else MF_L1_FOR_TIMING
                opred, ofit, _, _ = _fit_predict(mname, other, train, rows, cols)
                fold_speed["mf_other"] = (ofit, _errors(truth, np.where(np.isnan(opred), mean, opred))[0], other)
        scale = 1.0
        if peer_values == "std":
            scale = float(train.values[train.known].std())
        for label, settings, factory, slow in peers:
            row = rows_out[label]
            if row.note.startswith("did not finish"):
                continue  # capped on an earlier fold: not retried
            if slow:
                out = _peer_capped(factory, train, rows, cols, scale, args.cap)
                if out is None:
                    row.note = f"did not finish within {args.cap:g} s (fold {f + 1})"
                    log(f"    {label:<36} did not finish within {args.cap:g} s")
                    continue
            else:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    out = _peer_run(factory, train, rows, cols, scale)
            pred, own, fit_s, pred_s = out
            pred = np.where(np.isnan(pred), mean, pred)
            row.pred.append(pred), row.own.append(own), row.fit.append(fit_s), row.predict.append(pred_s)
            log(f"    {label:<36} RMSE {_errors(truth, pred)[0]:.4f}  fit {fit_s:6.2f} s  predict {pred_s:6.2f} s")
            if label == "surprise SVD" and name in SPEED_DATASETS:
                fold_speed["svd"] = (fit_s, _errors(truth, pred)[0])
        speed.append(fold_speed)

    truth = np.concatenate(truth_all)
    for row in rows_out.values():
        if len(row.pred) == len(folds):
            row.rmse, row.mae = _errors(truth, np.concatenate(row.pred))
        elif row.pred and not row.note:
            row.note = "incomplete"
    return matrix, folds, truth, rows_out, speed, peer_values


# -- reporting ----------------------------------------------------------------------------------------------

def _settings(row):
    if row.kind == "peer":
        return row.settings[0]
    distinct = list(dict.fromkeys(row.settings))
    if len(distinct) == 1:
        return distinct[0]
    return "per fold: see below"


def report(name, matrix, folds, truth, rows_out, speed, peer_values, args, out):
    n, m = matrix.shape
    out(f"\n== {name}: {n:,} x {m:,}, {int(matrix.known.sum()):,} known cells; "
        f"{'fold 1 of 5 (--quick)' if args.quick else f'{FOLDS} folds'} (kfold_cells seed {SEED}), "
        f"{truth.size:,} held-out cells pooled; peers see {'the bookings as they are' if peer_values == 'raw' else 'the bookings divided by the training standard deviation'}")
    done = [r for r in rows_out.values() if not math.isnan(r.rmse)]
    # the best xlrec model other than client_mean (the reference it is to beat)
    best_x = min((r for r in done if r.kind == "xlrec" and r.label != "client_mean"), key=lambda r: r.rmse,
                 default=None)
    best_p = min((r for r in done if r.kind == "peer"), key=lambda r: r.rmse, default=None)
    header = ["", "model", "settings", "RMSE", "MAE", "coverage", "fit s", "predict s", "tune s"]
    table = [header]
    for row in rows_out.values():
        mark = "*" if row is best_x else ("+" if row is best_p else "")
        if math.isnan(row.rmse):
            table.append([mark, row.label, _settings(row) if row.settings else "", "-", "-", "-", "-", "-", "-"])
            table[-1][2] = (table[-1][2] + "; " if table[-1][2] else "") + (row.note or "not run")
            continue
        own = np.concatenate(row.own)
        table.append([mark, row.label, _settings(row), f"{row.rmse:.4f}", f"{row.mae:.4f}", f"{own.mean():.1%}",
                      f"{np.mean(row.fit):.2f}", f"{np.mean(row.predict):.2f}",
                      f"{np.mean(row.tune):.1f}" if row.kind == "xlrec" and any(row.tune) else ""])
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for r in table:
        out("  ".join(c.rjust(w) if i >= 3 else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip())
    out("  * best xlrec model (client_mean aside: it is the reference), + best peer (lowest pooled RMSE); times are means per fold (fit: model.fit / algo.fit; "
        "predict: the held-out cells; tune: the inner grid search)")

    tuned = [r for r in rows_out.values() if r.kind == "xlrec" and len(set(r.settings)) > 1]
    grids = {label: grid for label, _, _, grid in XLREC if grid}
    chosen = [r for r in rows_out.values() if r.label in grids and r.settings]
    if chosen:
        out("  settings chosen per fold (inner split: 20 % of the fold's training cells):")
        for r in chosen:
            out(f"    {r.label}: " + " | ".join(f"fold {folds[i] + 1}: {s}" for i, s in enumerate(r.settings)))
    del tuned

    cm = rows_out.get("client_mean")
    verdicts = []
    if best_x is not None:
        out(f"  best xlrec: {best_x.label} RMSE {best_x.rmse:.4f}")
        if cm is not None and not math.isnan(cm.rmse):
            ratio = best_x.rmse / cm.rmse
            out(f"    / client_mean {cm.rmse:.4f} = {ratio:.3f} ({1 - ratio:+.1%} better)")
        if best_p is not None:
            ratio = best_x.rmse / best_p.rmse
            out(f"    / best peer {best_p.label} {best_p.rmse:.4f} = {ratio:.3f} ({1 - ratio:+.1%} better)")
        peers_done = [r for r in done if r.kind == "peer"]
        peers_missing = [r.label for r in rows_out.values() if r.kind == "peer" and math.isnan(r.rmse)]
        if name == "online_retail":
            beats_all = all(best_x.rmse < r.rmse for r in peers_done)
            ok15 = cm is not None and best_x.rmse <= 0.85 * cm.rmse
            verdicts.append(("beats every peer on RMSE", beats_all,
                             f"{best_x.rmse:.4f} vs best peer {best_p.rmse:.4f}" if best_p else "no peer run"
                             + (f"; not run / not finished: {', '.join(peers_missing)}" if peers_missing else "")))
            if peers_missing:
                verdicts[-1] = (verdicts[-1][0], verdicts[-1][1],
                                verdicts[-1][2] + f"; not run / not finished: {', '.join(peers_missing)}")
            if cm is not None:
                verdicts.append(("beats client_mean by >= 15 %", ok15,
                                 f"{1 - best_x.rmse / cm.rmse:.1%} ({best_x.rmse:.4f} vs {cm.rmse:.4f})"))
        else:
            if cm is not None:
                verdicts.append(("beats client_mean", best_x.rmse < cm.rmse,
                                 f"{1 - best_x.rmse / cm.rmse:.1%} ({best_x.rmse:.4f} vs {cm.rmse:.4f})"))
    for what, ok, fig in verdicts:
        out(f"  target: {what}: {'MET' if ok else 'NOT MET'} ({fig})")

    mf_folds = [s for s in speed if "mf" in s]
    if mf_folds:
        out("  speed (same fold, same process, one after the other):")
        for i, s in zip(folds, speed):
            if "mf" not in s:
                continue
            mf_fit, mf_rmse, mf_p = s["mf"]
            line = f"    fold {i + 1}: mf ({_fmt_params({k: mf_p[k] for k in ('rank', 'l2', 'l1') if k in mf_p})}) " \
                   f"fit {mf_fit:.2f} s, RMSE {mf_rmse:.4f}"
            if "svd" in s:
                svd_fit, svd_rmse = s["svd"]
                line += f"; surprise SVD fit {svd_fit:.2f} s, RMSE {svd_rmse:.4f} -> mf / SVD time {mf_fit / svd_fit:.2f} x"
            out(line)
            o_fit, o_rmse, o_p = s["mf_other"]
            l1_fit, l2_fit = (mf_fit, o_fit) if mf_p.get("l1", 0) > 0 else (o_fit, mf_fit)
            l1_val = mf_p["l1"] if mf_p.get("l1", 0) > 0 else o_p["l1"]
            out(f"            mf l1={l1_val:g} fit {l1_fit:.2f} s vs L2-only fit {l2_fit:.2f} s (same rank, l2) -> "
                f"{l1_fit / l2_fit:.2f} x (the other one's RMSE {o_rmse:.4f})")
        with_svd = [s for s in mf_folds if "svd" in s]
        if with_svd:
            mf_t = np.mean([s["mf"][0] for s in with_svd])
            svd_t = np.mean([s["svd"][0] for s in with_svd])
            out(f"    mean over folds: mf fit {mf_t:.2f} s vs SVD fit {svd_t:.2f} s -> {mf_t / svd_t:.2f} x "
                f"(target <= 1 x at a lower RMSE)")
        ratios = []
        for s in mf_folds:
            mf_fit, _, mf_p = s["mf"]
            o_fit = s["mf_other"][0]
            ratios.append(mf_fit / o_fit if mf_p.get("l1", 0) > 0 else o_fit / mf_fit)
        out(f"    mf l1 > 0 / L2-only fit time: mean {np.mean(ratios):.2f} x, max {np.max(ratios):.2f} x (target <= 3 x)")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="the first fold only")
    ap.add_argument("--datasets", default=",".join(DATASETS), help="comma-separated: " + ", ".join(DATASETS))
    ap.add_argument("--skip-slow", action="store_true", help="skip the peers that take minutes (KNNImputer, SVD++)")
    ap.add_argument("--cap", type=float, default=900.0, help="seconds a slow peer may take on one fold (default 900)")
    ap.add_argument("--models", default="", help="comma-separated xlrec labels or names to run (default: all; 'none': peers only)")
    ap.add_argument("--peers", default="", help="comma-separated parts of peer labels to run (default: all)")
    ap.add_argument("--no-peers", action="store_true", help="xlrec models only")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every inner grid score")
    args = ap.parse_args(argv)
    args.models = [s.strip() for s in args.models.split(",") if s.strip()]
    args.peers = [s.strip() for s in args.peers.split(",") if s.strip()]
    names = [s.strip() for s in args.datasets.split(",") if s.strip()]
    for n in names:
        if n not in DATASETS:
            ap.error(f"unknown data set {n!r}; choose from {', '.join(DATASETS)}")

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    def out(msg):
        print(msg, flush=True)

    import numpy
    import scipy
    versions = f"numpy {numpy.__version__}, scipy {scipy.__version__}"
    try:
        import sklearn
        import surprise
        versions += f", scikit-surprise {surprise.__version__}, scikit-learn {sklearn.__version__}"
    except ImportError:
        pass
    out(f"bench_accuracy: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{versions}; flags: {' '.join(sys.argv[1:]) or '(none)'}")
    t0 = time.perf_counter()
    for n in names:
        res = run_dataset(n, args, log)
        report(n, *res, args, out)
    out(f"\ntotal {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
