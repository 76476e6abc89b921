"""The command line: ``xlrec fill``, ``xlrec predict``, ``xlrec evaluate``...

``main(argv) -> int``: 0 on success, 2 for a user mistake (one line on stderr, no traceback), 1 when some
cells could not be filled is *not* an error (the summary says so).
"""

from __future__ import annotations

import argparse
import errno
import math
import sys
import warnings

from . import __version__
from .core.models import DEFAULT_MODEL, MODELS, model_class
from .core.tune import AUTO_MIN_BOOKINGS, TUNABLE

AUTO = "auto"  # the pseudo-model of --model: chosen by a short search (xlrec.core.tune.choose_model)
from .exceptions import InputError, XlrecError

__all__ = ["main", "build_parser"]


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be at least 1")
    return value


def _seconds(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text} must be a number of seconds above 0")
    return value


def _option_type(param):
    """argparse's ``type`` for a declared parameter: its own conversion and check, its message on error."""
    def convert(text):
        try:
            return param.parse(text)
        except InputError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = param.name  # what argparse names in "invalid k value"
    return convert


def _model_options(p):
    """``--model NAME`` and every model's options, generated from the models' declarations: a group of
    options per model; an option two models share is listed once, under the first."""
    g = p.add_argument_group("model", "which model predicts (see 'Models' in the README)")
    g.add_argument("--model", choices=[*MODELS, AUTO], default=None,
                   help=f"the model (default {DEFAULT_MODEL}): " + "; ".join(f"{name}: {cls.summary}"
                                                                         for name, cls in MODELS.items())
                   + f"; {AUTO}: chosen by a short 'xlrec tune' when the matrix has {AUTO_MIN_BOOKINGS} bookings "
                     "or more, else the article's")
    owners = {}
    for cls in MODELS.values():
        for param in cls.PARAMS:
            owners.setdefault(param.name, []).append(cls.name)
    done = set()
    for cls in MODELS.values():
        params = [param for param in cls.PARAMS if param.name not in done]
        if not params:
            continue
        g = p.add_argument_group(f"{cls.name} options")
        for param in params:
            done.add(param.name)
            shared = owners[param.name]
            also = f" [models: {', '.join(shared)}]" if len(shared) > 1 else ""
            metavar = "{" + ",".join("none" if c is None else str(c) for c in param.choices) + "}" \
                if param.kind == "choice" else param.name.upper()
            g.add_argument(param.option, dest=param.name, type=_option_type(param), default=None, metavar=metavar,
                           help=param.describe() + also)


def _params(args) -> dict:
    """The model's name and the parameters given on the command line, for ``make_model``; an option of
    another model is a mistake said in one line. ``--model auto`` takes no options: the search sets them."""
    if args.model == AUTO:
        given = [param.option for other in MODELS.values() for param in other.PARAMS
                 if getattr(args, param.name, None) is not None]
        if given:
            raise InputError(f"--model auto chooses the settings itself; {', '.join(dict.fromkeys(given))} cannot be "
                             "given with it (name a model to set them)")
        return {"model": AUTO}
    cls = model_class(args.model or DEFAULT_MODEL)
    own = {param.name for param in cls.PARAMS}
    out = {"model": cls.name}
    for other in MODELS.values():
        for param in other.PARAMS:
            value = getattr(args, param.name, None)
            if value is None or param.name in out:
                continue
            if param.name not in own:
                options = ", ".join(q.option for q in cls.PARAMS) or "none"
                raise InputError(f"{param.option} is not an option of model {cls.name!r} (its options: {options})")
            out[param.name] = value
    return out


def _model_file_option(p):
    p.add_argument("--model-file", metavar="MODEL.xlrec",
                   help="predict with a model trained by 'xlrec train' (a path, or a name in the models folder "
                        "$XLREC_MODELS) instead of fitting one: salespeople and clients it does not know are "
                        "folded in from their bookings; it fixes the model and its options")


def _fit_options(args) -> dict:
    """``{"model_file": ...}`` with ``--model-file`` (then no model option may be given), else :func:`_params`."""
    path = getattr(args, "model_file", None)
    if path is None:
        return _params(args)
    given = [q.option for cls in MODELS.values() for q in cls.PARAMS if getattr(args, q.name, None) is not None]
    if args.model is not None:
        given.insert(0, "--model")
    if given:
        raise InputError(f"--model-file fixes the model and its options; leave out {', '.join(dict.fromkeys(given))}")
    return {"model_file": path}


def _where(p, every=False):
    p.add_argument("--sheet", help="sheet holding the matrix (default: the active sheet)")
    p.add_argument("--range", dest="cell_range", metavar="A1:E7",
                   help="the matrix's cells, names included (default: found on the sheet)")
    if every:
        p.add_argument("--all-sheets", action="store_true",
                       help="fill the matrix of every sheet that holds one (a workbook pivoted by period); "
                            "sheets without a matrix are left alone and named")


def _bookings(p, for_period=True):
    """The options of a bookings table, as ``pivot`` spells them, and the period to predict (``cp``)."""
    g = p.add_argument_group("bookings over periods (--model cp)",
                             "read a bookings table: one row per booking, columns named as for 'pivot'")
    g.add_argument("--salesperson", dest="salesperson_col", metavar="COL",
                   help="salesperson column(s), e.g. FirstName+LastName")
    g.add_argument("--client", dest="client_col", metavar="COL", help="client column(s)")
    g.add_argument("--amount", dest="amount_col", metavar="COL", help="the amount to sum")
    g.add_argument("--date", metavar="COL", help="date column (or a column of periods such as 2024-Q1)")
    g.add_argument("--period", choices=["month", "quarter", "year"], help="the period the dates are summed by")
    g.add_argument("--date-format", metavar="FMT", help="how the dates are written, as for strptime (see 'pivot')")
    if for_period:
        g.add_argument("--for", dest="for_period", metavar="PERIOD",
                       help="the period to predict, e.g. 2025-Q1: one seen, or after the last (default: the next)")


def _tensor_options(args) -> dict:
    return {"salesperson": args.salesperson_col, "client": args.client_col, "amount": args.amount_col,
            "date": args.date, "period": args.period, "date_format": args.date_format}


def _reads_tensor(args) -> bool:
    """Whether ``predict`` reads the input as bookings over periods: with ``--model cp`` unless a sheet or a
    range is named; any other model refuses a bookings table in one line."""
    from .io.bookings import is_bookings_table

    options = _tensor_options(args)
    table = is_bookings_table(args.input) or any(v is not None for v in options.values()) or \
        args.for_period is not None
    if args.model != "cp":
        if table:
            raise InputError(f"a bookings table over periods (and --for) is read by --model cp; for model "
                             f"{args.model or DEFAULT_MODEL!r}, make a sales matrix of it with 'xlrec pivot' first")
        return False
    return args.sheet is None and args.cell_range is None


def _force(p):
    p.add_argument("--force", action="store_true",
                   help="write the output even when the workbook holds what openpyxl drops (images, charts, "
                        "shapes, slicers, sparklines, ...); they are lost in the output")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xlrec", description="Predict the blank cells of a sales matrix "
                                     "(salespeople x clients bookings) from similar salespeople.")
    parser.add_argument("--version", action="version", version=f"xlrec {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("fill", help="fill every blank of a workbook's sales matrix into a new workbook",
                       description="Fill every blank of the sales matrix and mark the predicted cells "
                                   "(fill colour, a note listing the neighbours, a legend). The input is never "
                                   "modified. With --model cp, a workbook of period sheets (as 'pivot --date COL "
                                   "--period P' writes) is fitted once across all its sheets and every sheet is "
                                   "filled for its period.")
    p.add_argument("input", metavar="INPUT.xlsx")
    p.add_argument("-o", "--output", required=True, metavar="OUTPUT.xlsx")
    _where(p, every=True)
    _force(p)
    _model_file_option(p)
    _model_options(p)

    p = sub.add_parser("batch", help="fill many workbooks in parallel into a folder",
                       description="Fill every blank of the sales matrix of each workbook as 'xlrec fill' does, "
                                   "several workbooks at a time. A workbook that fails is reported and the batch "
                                   "goes on; the exit status is 1 if any failed. A summary file lists per workbook "
                                   "the cells filled, the cells not fillable, the time and the error.")
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="workbooks (.xlsx, .xlsm), folders holding them, or glob patterns such as 'in/**/*.xlsx'")
    p.add_argument("-o", "--output-dir", required=True, metavar="OUTDIR",
                   help="folder for the filled workbooks (same file names); created if missing")
    p.add_argument("-j", "--jobs", type=_positive_int, default=None,
                   help="workbooks filled at once (default: the number of cores)")
    p.add_argument("--summary", metavar="FILE",
                   help="the summary file, .csv or .json (default: OUTDIR/xlrec-summary.csv)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    _where(p, every=True)
    _force(p)
    _model_file_option(p)
    _model_options(p)

    p = sub.add_parser("convert", help="replace xlrec formulas by their values, for use without the add-in",
                       description="Write a copy of the workbook in which every formula that uses an xlrec "
                                   "function holds its computed value, so it opens anywhere without the add-in. "
                                   "Other formulas stay formulas unless --values-only. A formula that cannot be "
                                   "evaluated is left as it is and reported with its address (exit status 1).")
    p.add_argument("input", metavar="INPUT.xlsx")
    p.add_argument("-o", "--output", required=True, metavar="OUTPUT.xlsx")
    p.add_argument("--values-only", action="store_true", help="replace every formula by its value")
    _force(p)
    _model_file_option(p)

    p = sub.add_parser("predict", help="predict one cell and explain it",
                       description="Predict and explain one cell of a sales matrix; with --model cp, of a period: "
                                   "INPUT is then a bookings table (one row per booking; name its columns as for "
                                   "'pivot') or a workbook of period sheets (as 'pivot --date COL --period P' "
                                   "writes), and the period predicted is the one after the last unless --for.")
    p.add_argument("input", metavar="INPUT.xlsx|BOOKINGS.csv")
    p.add_argument("salesperson")
    p.add_argument("client")
    _where(p)
    _bookings(p)
    _model_file_option(p)
    _model_options(p)

    p = sub.add_parser("train", help="fit a model on every known cell and write it to a model file",
                       description="Fit a model on every known cell of the workbook's sales matrix and write it to "
                                   "a model file (.xlrec: the model's card as JSON and its arrays, never pickle), "
                                   "which 'fill', 'predict', 'batch', 'convert' (--model-file) and the Excel "
                                   "functions (a model in place of the matrix) use without fitting again.")
    p.add_argument("input", metavar="INPUT.xlsx|BOOKINGS.csv")
    p.add_argument("-o", "--output", required=True, metavar="MODEL.xlrec")
    _where(p)
    _bookings(p, for_period=False)
    _model_options(p)
    g = p.add_argument_group("tuning", "--tuned: let 'xlrec tune' choose the model and its settings (instead of "
                                       "--model and its options), then fit the winner on every known cell")
    g.add_argument("--tuned", action="store_true",
                   help="search the models and their settings as 'xlrec tune' does and train the winner; the "
                        "file records its nested cross-validated scores and how the search chose it")
    g.add_argument("--models", default=None, metavar="NAME,NAME",
                   help=f"with --tuned: the models to search (default: {','.join(TUNABLE)})")
    g.add_argument("--budget", type=_seconds, default=None, metavar="SECONDS",
                   help="with --tuned: stop searching after about this long, the nested searches included "
                        "(default: search every setting)")
    g = p.add_argument_group("scores")
    g.add_argument("--folds", type=_positive_int, default=None,
                   help="also cross-validate the model with this many folds and record its scores in the file; "
                        "with --tuned, the folds of the search and of the nested score (default 5)")
    g.add_argument("--seed", type=int, default=0, help="how the cells are dealt into folds (default 0)")

    p = sub.add_parser("info", help="print a model file's card",
                       description="Check a model file and print its card: the model, its parameters, its "
                                   "training data (size, fingerprint, date), its scores and versions.")
    p.add_argument("model_path", metavar="MODEL.xlrec")

    p = sub.add_parser("evaluate", help="how good are the predictions? cross-validation against the baselines",
                       description="K-fold cross-validation over the known cells: each fold hides a share of the "
                                   "bookings, fits the model on the rest and predicts them. Prints RMSE, MAE, the "
                                   "error relative to the typical booking, coverage and time for the model and, "
                                   "beside it, the baselines (mean, client_mean, salesperson_mean, baseline), and "
                                   "whether the model beats the client mean. Figures are over every held-out "
                                   "booking pooled. With --model cp --holdout last-period, INPUT is bookings over "
                                   "periods (a bookings table, or a workbook of period sheets as for 'predict'): "
                                   "cp forecasts the last period from the ones before, scored beside the naive "
                                   "forecasts (the last period's booking, the mean of past periods).")
    p.add_argument("input", metavar="INPUT.xlsx|BOOKINGS.csv")
    _where(p)
    _bookings(p, for_period=False)
    _model_options(p)
    g = p.add_argument_group("cross-validation")
    g.add_argument("--holdout", choices=["cells", "last-period"], default="cells",
                   help="what is held out: 'cells', a share of the known cells per fold (default); "
                        "'last-period' (--model cp), the last period, forecast from the ones before")
    g.add_argument("--folds", type=_positive_int, default=5, help="folds (at least 2; default 5)")
    g.add_argument("--repeats", type=_positive_int, default=1,
                   help="different dealings of the cells into folds, pooled (seeds S, S+1...; default 1)")
    g.add_argument("--seed", type=int, default=0, help="how the cells are dealt into folds (default 0)")
    g.add_argument("--json", action="store_true", help="print the figures as JSON instead of a table")
    g.add_argument("--report", metavar="OUT.xlsx",
                   help="also write a workbook with the table, the per-fold figures, every held-out cell and "
                        "charts (predicted against actual, error by model)")

    p = sub.add_parser("tune", help="which model, with which settings? search them by cross-validation",
                       description="Search the models and their parameters (a grid; with --budget, successive "
                                   "halving within the time), score every "
                                   "setting by K-fold cross-validation over the known cells, and score the winner "
                                   "by nested cross-validation: each outer fold runs the whole search without its "
                                   "cells and is predicted by that search's winner, so the figure is honest. "
                                   "Prints the ranking (RMSE, lower is better) and the winner.")
    p.add_argument("input", metavar="INPUT.xlsx")
    _where(p)
    g = p.add_argument_group("search")
    g.add_argument("--models", default=",".join(TUNABLE), metavar="NAME,NAME",
                   help=f"the models to search (default: {','.join(TUNABLE)})")
    g.add_argument("--budget", type=_seconds, default=None, metavar="SECONDS",
                   help="search within about this long, the nested searches included, by successive halving: "
                        "every setting on one fold, the best third on three, and so on, keeping more whenever the "
                        "time allows (default: every setting on every fold)")
    g.add_argument("--folds", type=_positive_int, default=5, help="folds of the search and of the nested score "
                                                                   "(at least 2; default 5)")
    g.add_argument("--seed", type=int, default=0, help="how the cells are dealt into folds (default 0)")
    g.add_argument("--no-nested", dest="nested", action="store_false",
                   help="skip the nested score (folds + 1 times faster; the search's own score flatters the winner)")
    g.add_argument("--top", type=_positive_int, default=20, help="rows of the ranking printed (default 20)")
    g.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    g.add_argument("--report", metavar="OUT.xlsx",
                   help="also write a workbook: the ranking, the winner's settings and charts (error against k, "
                        "against rank and regularization, predicted against actual)")

    p = sub.add_parser("pivot", help="build a sales matrix workbook from a CRM export (one row per booking)",
                       description="Sum an amount column per salesperson and client (and per period) from a CSV "
                                   "(.csv, .csv.gz) or workbook export into a sales matrix workbook. A column spec "
                                   "may join columns with '+', e.g. --salesperson FirstName+LastName.")
    p.add_argument("input", metavar="BOOKINGS.csv|.xlsx")
    p.add_argument("--salesperson", required=True, metavar="COL", help="salesperson column(s), e.g. FirstName+LastName")
    p.add_argument("--client", required=True, metavar="COL", help="client column(s)")
    p.add_argument("--amount", required=True, metavar="COL", help="the amount to sum")
    p.add_argument("--date", metavar="COL", help="date column: one sheet per period")
    p.add_argument("--period", choices=["month", "quarter", "year"], help="the period of each sheet")
    p.add_argument("--date-format", metavar="FMT",
                   help="how the dates are written, as for strptime, e.g. %%d/%%m/%%Y (default: ISO dates, and "
                        "03/15/2024-style dates whose order of day and month the column proves)")
    p.add_argument("-o", "--output", required=True, metavar="MATRIX.xlsx")

    _assign_parser(sub)

    p = sub.add_parser("addin", help="write the xlrec ribbon add-in (xlrec.xlam) and install it in Excel",
                       description="Write xlrec.xlam from the installed xlwings' ribbon add-in, with an xlrec tab "
                                   "and the Fill blanks and Assign clients buttons, and install it where Excel is present.")
    p.add_argument("-o", "--output-dir", default=".", metavar="DIR", help="where to write xlrec.xlam (default: .)")
    p.add_argument("--no-install", action="store_true", help="only write the file")
    return parser


def _share(text):
    """A share: 0.1 or 10%."""
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a share such as 0.1 or 10%") from None
    return value


def _whole(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} must be at least 0")
    return value


def _assign_parser(sub):
    """``xlrec assign``: its own subparser, kept apart from the others."""
    p = sub.add_parser("assign", help="who should own each client: the assignment maximizing expected bookings",
                       description="Choose an owner for every client to maximize the total expected bookings (the "
                                   "booking where known, the model's prediction elsewhere) within the capacities, "
                                   "locks and forbids, with a bonus for keeping today's owner (the salesperson with "
                                   "the largest booking, unless --owners). Exact (HiGHS); ties go to today's owner, "
                                   "then to the salesperson higher in the matrix. Writes a copy of the workbook with "
                                   "an Assignment sheet, and/or the client table as CSV or JSON.")
    p.add_argument("input", metavar="INPUT.xlsx")
    p.add_argument("-o", "--output", metavar="OUTPUT.xlsx", help="the copy with the Assignment sheet")
    p.add_argument("--csv", metavar="FILE", help="the client table as CSV ('-': standard output)")
    p.add_argument("--json", metavar="FILE", help="totals, clients and salespeople as JSON ('-': standard output)")
    _where(p)
    _force(p)
    g = p.add_argument_group("assignment")
    g.add_argument("--capacity", type=_whole, metavar="N", help="at most N clients per salesperson")
    g.add_argument("--capacities", metavar="FILE|RANGE",
                   help="per-salesperson capacities: a CSV file or a range of the workbook (Sheet!A1:C9) with "
                        "salesperson, capacity and, optionally, minimum clients")
    g.add_argument("--min-clients", type=_whole, metavar="N", help="at least N clients per salesperson")
    g.add_argument("--owners-per-client", type=_positive_int, default=1, metavar="N",
                   help="owners of every client (default 1)")
    g.add_argument("--keep-bonus", type=float, default=0.0, metavar="AMOUNT",
                   help="added per client kept with today's owner: a move must pay more than this")
    g.add_argument("--keep-share", type=_share, default=0.0, metavar="SHARE",
                   help="added per client kept, as a share of its expected bookings (0.1 or 10%%)")
    g.add_argument("--owners", metavar="FILE|RANGE",
                   help="today's owners: client, salesperson rows (CSV or a range); other clients: the largest "
                        "booking")
    g.add_argument("--lock", nargs=2, action="append", default=[], metavar=("SALESPERSON", "CLIENT"),
                   help="this salesperson keeps (gets) this client; repeat for more")
    g.add_argument("--forbid", nargs=2, action="append", default=[], metavar=("SALESPERSON", "CLIENT"),
                   help="this salesperson must not own this client; repeat for more")
    g.add_argument("--max-share", type=_share, metavar="SHARE",
                   help="no salesperson's expected bookings above this share of the total (MILP: small sheets)")
    _model_options(p)


def _assign(args) -> int:
    from .core.assign import assign
    from .io.assignment import assignment_csv, assignment_json, read_table, write_assignment
    from .io.workbook import read_matrix_for_model

    if not (args.output or args.csv or args.json):
        raise InputError("say where the assignment goes: -o OUTPUT.xlsx, --csv FILE or --json FILE ('-' prints it)")
    matrix = read_matrix_for_model(args.input, sheet=args.sheet, cell_range=args.cell_range)
    capacity, minimum = args.capacity, args.min_clients
    if args.capacities:
        rows = read_table(args.capacities, args.input, "--capacities")
        capacity = {str(r[0]): r[1] for r in rows}
        if any(len(r) > 2 and r[2] is not None for r in rows):
            minimum = {str(r[0]): r[2] for r in rows if len(r) > 2}
        if args.capacity is not None:  # the table's salespeople theirs, the others the one capacity
            capacity = {name: capacity.get(name, args.capacity) for name in matrix.salespeople}
    owners = None
    if args.owners:
        owners = {}
        for row in read_table(args.owners, args.input, "--owners"):
            owners.setdefault(row[0], []).append(row[1])
    a = assign(matrix, capacity=capacity, min_clients=minimum, owners_per_client=args.owners_per_client,
               keep_bonus=args.keep_bonus, keep_share=args.keep_share, owners=owners, locks=args.lock,
               forbids=args.forbid, max_share=args.max_share, **_params(args))
    settings = [("Model", _params(args)["model"]), ("Capacity", args.capacities or args.capacity or "none"),
                ("Keep bonus", args.keep_bonus), ("Keep share", args.keep_share),
                ("Owners per client", args.owners_per_client)]
    for target, text in ((args.csv, assignment_csv), (args.json, assignment_json)):
        if target == "-":
            sys.stdout.write(text(a) if text is assignment_csv else text(a) + "\n")
        elif target:
            from .files import save_text_atomic

            save_text_atomic(text(a), target)
    if args.output:
        title = write_assignment(args.input, args.output, a, force=args.force, settings=settings)
        print(f"{args.output}: sheet {title!r}: {a.summary()}")
    elif "-" not in (args.csv, args.json):
        print(a.summary())
    return 0


def _evaluate(args) -> int:
    import json

    from .core.evaluate import cross_validate, holdout_last_period
    from .core.models import make_model
    from .io.workbook import read_matrix_for_model

    if args.model == AUTO:
        raise InputError("--model auto is scored honestly by 'xlrec tune' (nested cross-validation); evaluate "
                         "scores a named model")
    model = make_model(**_params(args))
    if args.holdout == "last-period":
        evaluation = holdout_last_period(_evaluated_tensor(args), model)
    else:
        _refuse_tensor_folds(args)
        matrix = read_matrix_for_model(args.input, sheet=args.sheet, cell_range=args.cell_range)
        with _Progress(unit="fit") as progress:
            evaluation = cross_validate(matrix, model, folds=args.folds, repeats=args.repeats, seed=args.seed,
                                        progress=lambda done, total: progress("cross-validating", done, total))
    if args.report:
        from .io.report import write_report

        write_report(evaluation, args.report)
    if args.json:
        print(json.dumps(evaluation.to_dict(), indent=1, allow_nan=False))
    else:
        print(evaluation.text_table())
        print()
        print(evaluation.verdict())
        if args.report:
            print(f"report: {args.report}")
    return 0


def _train(args) -> int:
    from pathlib import Path

    from .core.models import make_model
    from .core.persist import SUFFIX, save_model
    from .files import write_atomic
    from .io.workbook import read_matrix_for_model

    if not args.output.lower().endswith(SUFFIX):
        raise InputError(f"{args.output}: a model file's name ends in {SUFFIX} (the models folder finds it by that)")
    tuning = _tuned_options(args)
    if _trains_on_periods(args):
        return _train_periods(args)
    matrix = read_matrix_for_model(args.input, sheet=args.sheet, cell_range=args.cell_range)
    scores = None
    if tuning is not None:  # the search chooses the model and its settings, and scores its choice honestly
        from .core.tune import tune

        with _Progress(unit="fit") as progress:
            result = tune(matrix, folds=args.folds or 5, seed=args.seed,
                          progress=lambda done, total: progress("tuning", done, total), **tuning)
        params = {"model": result.best["model"], **result.best["params"]}
        scores, tuning = _tuned_card(result)
    elif args.folds:
        from .core.evaluate import cross_validate

        params = _params(args)

        with _Progress(unit="fit") as progress:
            evaluation = cross_validate(matrix, make_model(**params), folds=max(args.folds, 2), seed=args.seed,
                                        progress=lambda done, total: progress("cross-validating", done, total))
        own = evaluation.scores[0]
        scores = {"rmse": own.rmse, "mae": own.mae, "relative error": own.relative, "coverage": own.coverage,
                  "folds": evaluation.folds, "seed": evaluation.seed}
        scores = {k: (None if isinstance(v, float) and v != v else v) for k, v in scores.items()}
    else:
        params = _params(args)
    model = make_model(**params).fit(matrix)
    card = {}
    write_atomic(args.output, lambda tmp: card.update(save_model(model, tmp, scores=scores, tuning=tuning,
                                                                 source=Path(args.input).name, atomic=False)))
    text = (f"{args.output}: model {model.name} ({model.describe()}) trained on {len(matrix.salespeople):,} "
            f"salespeople x {len(matrix.clients):,} clients, {card['bookings']:,} bookings")
    if tuning:
        text += (f"; chosen by tuning over {tuning['settings searched']:,} settings of {tuning['models']}; nested "
                 f"{scores['folds']}-fold cross-validated RMSE {scores['rmse']:,.4g} (the search's own: "
                 f"{tuning['search rmse']:,.4g})")
    elif scores:
        text += f"; {scores['folds']}-fold cross-validated RMSE {scores['rmse']:,.4g}"
    print(text)
    return 0


def _trains_on_periods(args) -> bool:
    """Whether ``train`` reads bookings over periods: ``--model cp`` with a bookings table (or its columns
    named), or a workbook of two period sheets or more, and neither ``--sheet`` nor ``--range``. Another
    model refuses a bookings table in one line, as ``predict`` does."""
    from .io.bookings import is_bookings_table, read_period_workbook

    table = is_bookings_table(args.input) or any(v is not None for v in _tensor_options(args).values())
    if args.model != "cp":
        if table:
            raise InputError(f"a bookings table over periods is read by --model cp; for model "
                             f"{args.model or DEFAULT_MODEL!r}, make a sales matrix of it with 'xlrec pivot' first")
        return False
    if args.sheet is not None or args.cell_range is not None:
        return False
    if table:
        return True
    try:
        return len(read_period_workbook(args.input).periods) > 1
    except InputError:
        return False  # not a workbook of period sheets: the matrix reader says what it finds


def _train_periods(args) -> int:
    """``train --model cp`` on bookings over periods: fitted once on every period, written with its bookings
    (the model file then predicts any period seen, and the ones after: PREDICT_BOOKING_TABLE in Excel)."""
    from pathlib import Path

    from .core.models import make_model
    from .core.persist import save_model
    from .files import write_atomic
    from .io.bookings import read_tensor

    if args.folds:
        raise InputError("cp over periods is scored by forecasting the last period, not by folds of cells: leave out "
                         "--folds and run 'xlrec evaluate ... --model cp --holdout last-period'")
    tensor = read_tensor(args.input, **_tensor_options(args))
    model = make_model(**_params(args)).fit(tensor)
    card = {}
    write_atomic(args.output, lambda tmp: card.update(save_model(model, tmp, source=Path(args.input).name,
                                                                 atomic=False)))
    n, m, _ = tensor.shape
    print(f"{args.output}: model cp ({model.describe()}) trained on {n:,} salespeople x {m:,} clients over "
          f"{len(tensor.periods)} periods ({tensor.periods[0]} to {tensor.periods[-1]}), "
          f"{int(tensor.known.sum()):,} bookings")
    return 0


def _tuned_options(args):
    """``tune``'s options for ``train --tuned`` (None without it). ``--tuned`` chooses the model and its
    settings, so naming them too is a mistake said in one line; ``--models`` and ``--budget`` need it."""
    given = [q.option for cls in MODELS.values() for q in cls.PARAMS if getattr(args, q.name, None) is not None]
    if args.model is not None:
        given.insert(0, "--model")
    if not args.tuned:
        search = [o for o, v in (("--models", args.models), ("--budget", args.budget)) if v is not None]
        if search:
            raise InputError(f"{' and '.join(search)} {'go' if len(search) > 1 else 'goes'} with --tuned (train the "
                             "winner of a search); without it, name the model with --model")
        if args.model == AUTO:
            raise InputError("train --model auto: give --tuned instead (a full search, scored by nested "
                             "cross-validation, recorded in the model file)")
        return None
    if given:
        raise InputError(f"--tuned chooses the model and its settings; leave out {', '.join(dict.fromkeys(given))} "
                         "(or leave out --tuned to train the model you name)")
    return {"models": args.models, "budget": args.budget}


def _tuned_card(result):
    """(scores, tuning) for the card of a model chosen by :func:`~xlrec.core.tune.tune`: the winner's nested
    cross-validated scores, and how the search chose it."""
    best = result.best
    scores = {"rmse": result.nested_rmse, "mae": result.nested_mae,
              "relative error": result.nested_mae / result.typical if result.typical else None,
              "folds": result.folds, "seed": result.seed,
              "method": "nested: each outer fold's search never saw its cells"}
    winners = {o["model"] + repr(sorted(o["params"].items())) for o in result.outer}
    tuning = {"models": ", ".join(result.models), "settings searched": len(result.search.results),
              "settings in the space": result.search.n_candidates, "search": result.search.strategy,
              "budget seconds": result.budget, "chosen": result.label(),
              "search rmse": best["mean_test_score"], "search mae": best["mae"],
              "outer folds chose": f"{len(winners)} different setting{'s' if len(winners) > 1 else ''}",
              "seconds": round(result.seconds, 3)}
    clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in scores.items()}
    return clean, {k: v for k, v in tuning.items() if v is not None}


def _info(args) -> int:
    from .core.persist import card_rows, read_card

    rows = card_rows(read_card(args.model_path))
    width = max(len(str(r[0])) for r in rows)
    for what, value in rows:
        print(f"{what:<{width}}  {value}")
    return 0

def _refuse_bookings_table(args):
    """``fill`` writes into a copy of a workbook: a bookings table is made one with ``pivot`` first."""
    import shlex
    from pathlib import Path

    from .io.bookings import is_bookings_table

    if is_bookings_table(args.input):
        book = shlex.quote(Path(args.input).name.split(".")[0] + ".xlsx")
        raise InputError(f"{args.input}: fill writes into a copy of a workbook; make one of this bookings table first: "
                         f"'xlrec pivot {shlex.quote(args.input)} --salesperson COL --client COL --amount COL --date COL --period "
                         f"quarter -o {book}' (a sheet per quarter), then 'xlrec fill {book} -o {shlex.quote(args.output)}"
                         f"{' --model cp' if args.model == 'cp' else ''}'")


def _evaluated_tensor(args):
    """The bookings over periods that ``evaluate --holdout last-period`` reads."""
    from .io.bookings import read_tensor

    if args.model != "cp":
        raise InputError(f"--holdout last-period scores a model that learns over periods: give --model cp (model "
                         f"{args.model or DEFAULT_MODEL!r} learns from one matrix: its evaluation holds out cells)")
    if args.sheet is not None or args.cell_range is not None:
        raise InputError("--holdout last-period reads every period sheet of the workbook: leave out --sheet and "
                         "--range")
    return read_tensor(args.input, **_tensor_options(args))


def _refuse_tensor_folds(args):
    """K-fold over cells is for one matrix: bookings over periods with cp are scored by --holdout last-period."""
    from .io.bookings import is_bookings_table, read_period_workbook

    table = is_bookings_table(args.input) or any(v is not None for v in _tensor_options(args).values())
    if table and args.model != "cp":
        raise InputError(f"a bookings table over periods is read by --model cp; for model "
                         f"{args.model or DEFAULT_MODEL!r}, make a sales matrix of it with 'xlrec pivot' first")
    advice = ("cross-validation over cells is for one sales matrix; to score cp on bookings over periods give "
              "--holdout last-period (it forecasts the last period from the ones before)")
    if table:
        raise InputError(advice)
    if args.model == "cp" and args.sheet is None and args.cell_range is None:
        try:
            periods = read_period_workbook(args.input).periods
        except InputError:
            return  # not a workbook of period sheets: the matrix reader says what it finds
        if len(periods) > 1:
            raise InputError(f"{args.input}: has a sales matrix per period ({periods[0]} to {periods[-1]}): {advice}, "
                             "or pick one period's sheet with --sheet NAME")


def _tune(args) -> int:
    import json

    from .core.tune import tune
    from .io.workbook import read_matrix_for_model

    matrix = read_matrix_for_model(args.input, sheet=args.sheet, cell_range=args.cell_range)
    with _Progress(unit="fit") as progress:
        result = tune(matrix, models=args.models, folds=args.folds, seed=args.seed, budget=args.budget,
                      nested=args.nested, progress=lambda done, total: progress("tuning", done, total))
    if args.report:
        from .io.tune_report import write_tune_report

        write_tune_report(result, args.report)
    if args.json:
        print(json.dumps(result.to_dict(), indent=1, allow_nan=False))
    else:
        print(result.text_table(args.top))
        print()
        print(result.summary())
        if args.report:
            print(f"report: {args.report}")
    return 0


def _batch(args) -> int:
    from pathlib import Path

    from tqdm import tqdm

    from .io.batch import default_jobs, plan, run_batch, write_summary

    outdir = Path(args.output_dir)
    if outdir.exists() and not outdir.is_dir():
        raise InputError(f"{outdir}: exists and is not a folder")
    items = plan(args.inputs, outdir)
    summary = Path(args.summary) if args.summary else outdir / "xlrec-summary.csv"
    if summary.suffix.lower() not in (".csv", ".json"):
        raise InputError(f"{summary}: the summary is written as .csv or .json")
    outdir.mkdir(parents=True, exist_ok=True)
    options = {"sheet": args.sheet, "cell_range": args.cell_range, "all_sheets": args.all_sheets, "force": args.force,
               **_fit_options(args)}
    if "model_file" in options:  # checked once here, not once per workbook
        from .sheet.models import load_cached, resolve_model

        options["model_file"] = str(resolve_model(options["model_file"]))
        load_cached(options["model_file"])
    jobs = args.jobs or default_jobs()
    # the bar goes to stderr, and only to a terminal (disable=None), so stdout stays the summary line
    with tqdm(total=len(items), unit="workbook", file=sys.stderr, disable=True if args.quiet else None) as bar:
        def report(item):
            if item.status == "failed":
                where = "" if item.error.startswith(item.input) else f"{item.input}: "
                bar.write(f"xlrec: error: {where}{item.error}", file=sys.stderr)

        done = run_batch(items, options, jobs=jobs, progress=bar, on_done=report)
    write_summary(done, summary)
    failed = sum(item.status == "failed" for item in done)
    filled = sum(item.cells_filled for item in done)
    unfillable = sum(item.cells_not_fillable for item in done)
    text = f"filled {len(done) - failed} of {len(done)} workbooks into {outdir} ({filled:,} cells"
    text += f"; {unfillable:,} could not be filled)" if unfillable else ")"
    if failed:
        text += f"; {failed} failed (reasons above and in the summary)"
    print(f"{text}; summary: {summary}")
    return 1 if failed else 0


class _Progress:
    """Progress bars on stderr for a long fill, one per stage ("predicting", "writing"): only on a terminal
    (tqdm's ``disable=None``) and only for a stage that takes more than a second (``delay``)."""

    def __init__(self, unit="row"):
        self.unit = unit

    def __enter__(self):
        self.bars = {}
        return self

    def __call__(self, stage, done, total):
        bar = self.bars.get(stage)
        if bar is None:
            from tqdm import tqdm

            bar = self.bars[stage] = tqdm(total=total, desc=stage, unit=self.unit, file=sys.stderr, disable=None,
                                          delay=1.0, leave=False)
        if total != bar.total:  # a plan that grew or shrank as it went (xlrec tune's successive halving)
            bar.total = total
            bar.refresh()
        bar.update(done - bar.n)

    def __exit__(self, *exc):
        for bar in self.bars.values():
            bar.close()


# what to do about an OSError, by errno
_ADVICE = {
    errno.ENOSPC: "free some space on that disk, or write the output to another one",
    errno.EDQUOT: "your disk quota is used up: free some space, or write the output elsewhere",
    errno.EFBIG: "the file is larger than this system allows: write the output elsewhere",
    errno.EROFS: "the disk is read-only: write the output elsewhere",
    errno.EACCES: "check the permissions of the file and of its folder",
    errno.EPERM: "check the permissions of the file and of its folder",
}


def _os_error(exc: OSError, args) -> str:
    """One line for an OSError: the path (the exception's, else the output being written), what happened and,
    where it is clear, what to do."""
    path = exc.filename
    if path is None:
        path = getattr(args, "output", None) or getattr(args, "summary", None) or getattr(args, "output_dir", None)
    text = f"{path}: " if path is not None else ""
    if exc.filename2 is not None:
        text += f"(and {exc.filename2}) "
    text += exc.strerror or str(exc) or type(exc).__name__
    advice = _ADVICE.get(exc.errno)
    return f"{text} ({advice})" if advice else text


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    with warnings.catch_warnings():
        # openpyxl warns on stderr about what it cannot read (a date-styled number beyond the dates, an
        # extension): xlrec says in its own one line what matters for the matrix
        warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")
        return _run(args)


def _run(args) -> int:
    try:
        from . import io

        if args.command == "fill":
            _refuse_bookings_table(args)
            with _Progress() as progress:
                report = io.fill_workbook(args.input, args.output, sheet=args.sheet, cell_range=args.cell_range,
                                          all_sheets=args.all_sheets, force=args.force, progress=progress,
                                          **_fit_options(args))
            print(report.summary())
        elif args.command == "batch":
            return _batch(args)
        elif args.command == "convert":
            from .io.convert import convert_workbook

            report = convert_workbook(args.input, args.output, values_only=args.values_only, force=args.force,
                                      model_file=args.model_file)
            for line in report.problems():
                print(f"xlrec: {line}", file=sys.stderr)
            print(report.summary())
            return 1 if report.unevaluable else 0
        elif args.command == "predict" and args.model_file is None and _reads_tensor(args):
            from .core.models import make_model
            from .io.bookings import read_tensor

            tensor = read_tensor(args.input, **_tensor_options(args))
            model = make_model(**_params(args)).fit(tensor)
            print(model.predict(args.salesperson, args.client, args.for_period or tensor.next_period).text())
        elif args.command == "predict":
            prediction = io.predict_from_workbook(args.input, args.salesperson, args.client, sheet=args.sheet,
                                                  cell_range=args.cell_range, **_fit_options(args))
            print(prediction.explain())
        elif args.command == "evaluate":
            return _evaluate(args)
        elif args.command == "train":
            return _train(args)
        elif args.command == "info":
            return _info(args)
        elif args.command == "tune":
            return _tune(args)
        elif args.command == "pivot":
            from .io.pivot import pivot

            print(pivot(args.input, args.output, salesperson=args.salesperson, client=args.client,
                        amount=args.amount, date=args.date, period=args.period,
                        date_format=args.date_format).summary())
        elif args.command == "assign":
            return _assign(args)
        elif args.command == "addin":
            from .excel.addin import install_addin, write_addin

            path = write_addin(args.output_dir)
            print(f"wrote {path}" if args.no_install else install_addin(path))
    except XlrecError as exc:
        print(f"xlrec: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a full disk, a folder without write permission, a file that went away
        print(f"xlrec: error: {_os_error(exc, args)}", file=sys.stderr)
        from .files import release_quietly

        release_quietly(exc)  # half-written streams closed now, quietly: no "Exception ignored" traceback
        return 2
    except KeyboardInterrupt:  # Ctrl-C: no traceback; outputs are written atomically, so none is half-written
        print("xlrec: interrupted", file=sys.stderr)
        return 130
    return 0
