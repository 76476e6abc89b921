"""The Excel functions, called through xlwings' own custom-function machinery (as xlwings Server and Lite
call them), on the article's example."""

import asyncio

import pytest
import xlwings as xw
from conftest import article_cells
from xlwings.server import custom_functions_call

import xlrec.excel as module


def call(func_name, *args, runtime="1.4"):
    data = {"func_name": func_name, "args": [_as_arg(a) for a in args], "caller_address": "Sheet2!B2",
            "version": xw.__version__, "client": "Office.js", "runtime": runtime,
            "culture_info_name": "en-US", "date_format": "m/d/yyyy"}
    return asyncio.run(custom_functions_call(data, module))


def _as_arg(a):
    if isinstance(a, list):
        return [[None if v is None else v for v in row] for row in a]
    return [[a]]


MATRIX = article_cells()


def test_predict_booking_gives_the_article_number():
    assert call("PREDICT_BOOKING", MATRIX, "Alyssa", "Staples") == [[pytest.approx(433_333.3333333, rel=1e-12)]]
    assert call("PREDICT_BOOKING", MATRIX, "Alyssa", "Staples", 2, "manhattan", "uniform") == [[400_000]]


def test_predict_booking_returns_a_known_booking():
    assert call("PREDICT_BOOKING", MATRIX, "Alyssa", "Google") == [[500_000]]


def test_explain_booking_lists_mike_then_brandon():
    table = call("EXPLAIN_BOOKING", MATRIX, "Alyssa", "Staples")
    assert table[0] == ["Neighbour", "Distance", "Weight", "Booking"]
    assert table[1] == ["Mike", 0, 1, 500_000]
    assert table[2] == ["Brandon", 200_000, 0.5, 300_000]
    assert table[3][0] == "Prediction" and table[3][3] == pytest.approx(433_333.3333333)


def test_similar_salespeople():
    table = call("SIMILAR_SALESPEOPLE", MATRIX, "Alyssa", 2)
    assert table == [["Salesperson", "Distance", "Shared clients"], ["Mike", 0, 2], ["Brandon", 200_000, 2]]


def test_recommend_clients_highest_first():
    # Mike lacks only ExxonMobil: his nearest with an ExxonMobil booking are Alyssa (0) and Brandon (200k)
    table = call("RECOMMEND_CLIENTS", MATRIX, "Mike", 3)
    assert table[0] == ["Client", "Predicted bookings"]
    assert table[1] == ["ExxonMobil", pytest.approx((400_000 + 200_000 / 2) / 1.5)]
    assert len(table) == 2


def test_fill_matrix_spills_to_the_same_shape():
    table = call("FILL_MATRIX", MATRIX)
    assert len(table) == 7 and all(len(r) == 5 for r in table)
    assert table[0] == ["Bookings ($)", "Google", "Capgemini", "ExxonMobil", "Staples"]
    assert table[1][4] == pytest.approx(433_333.3333333)
    assert table[2][1:] == [500_000, pytest.approx(400_000), 200_000, 300_000]  # known cells unchanged


@pytest.mark.parametrize("func, args", [
    ("PREDICT_BOOKING", ["Nobody", "Staples"]),
    ("PREDICT_BOOKING", ["Alyssa", "Stapels"]),
    ("EXPLAIN_BOOKING", ["Nobody", "Staples"]),
    ("SIMILAR_SALESPEOPLE", ["Nobody"]),
])
def test_unknown_names_give_a_real_na_error(func, args):
    assert call(func, MATRIX, *args) == [[{"type": "Error", "errorType": "NotAvailable"}]]


def test_older_runtimes_get_the_text():
    assert call("PREDICT_BOOKING", MATRIX, "Nobody", "Staples", runtime="1.3") == [["#N/A"]]


def test_a_bad_cell_names_its_address_within_the_range():
    bad = [list(r) for r in MATRIX]
    bad[3][2] = "n/a"  # Mike / Capgemini: row 4, column C of the range
    out = call("PREDICT_BOOKING", bad, "Alyssa", "Staples")
    assert out == [["xlrec: C4: 'n/a' is not a number (bookings must be numbers; leave the cell blank if unknown)"]]
    assert "Traceback" not in out[0][0]


def test_bad_options_are_messages_not_tracebacks():
    out = call("PREDICT_BOOKING", MATRIX, "Alyssa", "Staples", 2, "cosine")
    assert out[0][0].startswith("xlrec: unknown metric 'cosine'; choose one of: manhattan")


def test_repeated_calls_reuse_the_fit_and_a_changed_cell_is_not_stale():
    from xlrec.sheet.cache import default_cache

    default_cache.clear()
    hits = default_cache.hits
    for _ in range(3):
        assert call("PREDICT_BOOKING", MATRIX, "Alyssa", "Staples") == [[pytest.approx(433_333.3333333)]]
    assert default_cache.hits - hits == 2
    changed = [list(r) for r in MATRIX]
    changed[3][4] = 100_000  # Mike's Staples booking
    assert call("PREDICT_BOOKING", changed, "Alyssa", "Staples") == [[pytest.approx((100_000 + 150_000) / 1.5)]]


def test_every_function_documents_itself_for_the_wizard():
    for name in [n for n in module.__all__ if n.isupper()]:
        f = getattr(module, name)
        first = f.__doc__.strip().splitlines()[0]
        assert first.endswith(".") and len(first) < 120
        for arg in f.__xlfunc__["args"]:
            assert arg["doc"] and not arg["doc"].startswith("Positional"), (name, arg["name"])


def test_true_typed_over_a_booking_of_1_is_not_served_the_old_fit():
    """Python's == takes TRUE for 1: the cache must not (the cell is now an error, not a booking of 1)."""
    from xlrec.sheet.cache import default_cache

    default_cache.clear()
    ones = [list(r) for r in MATRIX]
    ones[3][4] = 1  # Mike's Staples booking: 1
    ones[4][1] = 0.0  # Jessica's Google booking: 0
    assert call("PREDICT_BOOKING", ones, "Alyssa", "Staples") == [[pytest.approx((1 + 150_000) / 1.5)]]
    for row, col, flag in [(3, 4, True), (4, 1, False)]:
        changed = [list(r) for r in ones]
        changed[row][col] = flag
        out = call("PREDICT_BOOKING", changed, "Alyssa", "Staples")[0][0]
        assert isinstance(out, str) and "true/false value" in out, out


def test_a_model_by_name_with_its_settings():
    # the client average of Staples (Brandon, Mike, Jessica, Tom): a hand computation
    staples = (300_000 + 500_000 + 400_000 + 200_000) / 4
    assert call("PREDICT_BOOKING", MATRIX, "Alyssa", "Staples", None, None, None, None, "client_mean") == [[staples]]
    # the baseline with no shrinking and many rounds is the least-squares fit of mean + offsets; as a range
    # of settings and as text, the same
    as_range = call("PREDICT_BOOKING", MATRIX, "Alyssa", "Staples", None, None, None, None, "baseline",
                    [["reg_client", 0], ["reg_salesperson", 0], ["iterations", 200]])
    as_text = call("PREDICT_BOOKING", MATRIX, "Alyssa", "Staples", None, None, None, None, "Baseline",
                   "reg_client=0; reg_salesperson=0; iterations=200")
    assert as_range == as_text
    table = call("EXPLAIN_BOOKING", MATRIX, "Alyssa", "Staples", None, None, None, None, "baseline")
    assert [row[0] for row in table] == ["Term", "mean of all bookings", "Alyssa's offset", "Staples's offset",
                                         "Prediction"]
    assert table[-1][3] == pytest.approx(table[1][3] + table[2][3] + table[3][3], rel=1e-12)


def test_a_parameter_of_another_model_is_named():
    out = call("PREDICT_BOOKING", MATRIX, "Alyssa", "Staples", 3, None, None, None, "mean")
    assert out == [["xlrec: model 'mean' has no parameter 'k'; its parameters are: none"]]
    out = call("FILL_MATRIX", MATRIX, None, None, None, None, "baseline", "reg_clint=3")
    assert out[0][0].startswith("xlrec: model 'baseline' has no parameter 'reg_clint'; its parameters are: "
                                "reg_client, reg_salesperson, iterations (did you mean 'reg_client'?)")


def test_argument_help_comes_from_the_declarations():
    from xlrec.core.models import NeighborModel
    from xlrec.excel.udfs import _DOCS

    k = next(p for p in NeighborModel.PARAMS if p.name == "k")
    assert _DOCS["k"] == "How many similar salespeople vote (the article's N) (a whole number of at least 1; default 2)"
    assert _DOCS["k"].lower() == k.describe().lower()
    assert "reg_client" in _DOCS and "baseline" in _DOCS["model"]


def _fuller_cells():
    """A 7 x 6 matrix with 32 bookings: enough for cross-validation (the article's has 18)."""
    import numpy as np

    rng = np.random.default_rng(4)
    values = np.round(rng.lognormal(9, 1, (7, 6)), 2)
    blank = rng.random((7, 6)) < 0.25
    return [["Bookings"] + [f"Client {j}" for j in range(6)]] + \
        [[f"Rep {i}"] + [None if blank[i, j] else float(values[i, j]) for j in range(6)] for i in range(7)]


def test_evaluate_model_spills_the_cross_validation_table_and_the_verdict():
    from xlrec.core.evaluate import cross_validate
    from xlrec.core.models import make_model
    from xlrec.sheet.cells import matrix_from_cells

    cells = _fuller_cells()
    table = call("EVALUATE_MODEL", cells, "neighbors", 3.0, 2.0, None, "k=3")  # Excel sends numbers as floats
    expected = cross_validate(matrix_from_cells(cells), make_model("neighbors", k=3), folds=3, seed=2)
    assert table[0] == ["Model", "RMSE", "MAE", "Relative error", "Coverage", "Seconds per fold"]
    assert [r[0] for r in table[1:6]] == ["neighbors", "mean", "client_mean", "salesperson_mean", "baseline"]
    for got, want in zip(table[1:6], expected.table()[1:]):
        assert got[1:5] == pytest.approx(want[1:5], rel=1e-12)  # the time differs from run to run
        assert got[5] >= 0
    assert table[6] == [None] * 6 or table[6] == [""] * 6
    assert table[7][0] == expected.verdict()
    assert len(table) == 8 and all(len(r) == 6 for r in table)


def test_evaluate_model_on_a_matrix_too_small_says_why():
    out = call("EVALUATE_MODEL", MATRIX)
    assert out == [["xlrec: the matrix has 18 bookings; cross-validation needs at least 20 to give a meaningful "
                    "figure (evaluate a fuller matrix: more salespeople, clients or periods)"]]
    out = call("EVALUATE_MODEL", _fuller_cells(), None, 1)
    assert out == [["xlrec: folds must be a whole number of at least 2, not 1"]]


TABLE = [["Salesperson", "Client", "Period", "Amount"],
         ["Alyssa", "Google", "2024-Q1", 100], ["Alyssa", "Google", "2024-Q2", 120], ["Alyssa", "Staples", "2024-Q1", 50],
         ["Mike", "Google", "2024-Q1", 90], ["Mike", "Staples", "2024-Q2", 60], ["Mike", "Staples", "2024-Q2", 5],
         [None, None, None, None]]


def test_predict_booking_table_forecasts_the_next_period_and_gives_known_bookings():
    from xlrec.core.models import make_model
    from xlrec.core.tensor import SalesTensor

    tensor = SalesTensor.from_rows(TABLE[1:])
    model = make_model("cp").fit(tensor)
    want = model.predict("Alyssa", "Staples", "2024-Q3").value  # the core, directly
    assert call("PREDICT_BOOKING_TABLE", TABLE, "Alyssa", "Staples") == [[pytest.approx(want, rel=1e-12)]]
    assert call("PREDICT_BOOKING_TABLE", TABLE, "Alyssa", "Staples", "2024-Q3", "cp") == [[pytest.approx(want)]]
    assert call("PREDICT_BOOKING_TABLE", TABLE, "Mike", "Staples", "2024-Q2") == [[65]]  # rows summed
    other = call("PREDICT_BOOKING_TABLE", TABLE, "Alyssa", "Staples", None, None, "rank=1; forecast=last")
    assert other[0][0] != pytest.approx(want)
    assert call("PREDICT_BOOKING_TABLE", TABLE, "Nobody", "Staples") == [[{"type": "Error", "errorType": "NotAvailable"}]]


@pytest.mark.parametrize("change, message", [
    (lambda t: t[1].__setitem__(3, "n/a"), "xlrec: table row 2: 'n/a' is not a number"),
    (lambda t: t.pop(0), "xlrec: table: the first row is the header"),
    (lambda t: t[2].__setitem__(2, None), "xlrec: table row 3: the period is empty"),
])
def test_predict_booking_table_names_the_bad_row(change, message):
    table = [list(r) for r in TABLE]
    change(table)
    out = call("PREDICT_BOOKING_TABLE", table, "Alyssa", "Staples")
    assert out[0][0].startswith(message), out
    out = call("PREDICT_BOOKING_TABLE", TABLE, "Alyssa", "Staples", None, "neighbors")
    assert out[0][0].startswith("xlrec: model 'neighbors' predicts from a sales matrix")


def test_assign_clients_spills_the_client_table_with_the_capacity_held():
    table = call("ASSIGN_CLIENTS", MATRIX, 2, 1000)
    assert table[0] == ["Client", "Owner", "Expected bookings", "Today's owner", "Change", "Amount is"]
    body = [r for r in table[1:] if r[0]][:-1]
    owners = [r[1] for r in body]
    assert len(body) == len(MATRIX[0]) - 1 and max(owners.count(o) for o in owners) <= 2
    assert "lift" in table[-1][0]


def test_assign_clients_says_what_cannot_be_met():
    assert "capacities add up to 0" in call("ASSIGN_CLIENTS", MATRIX, 0)[0][0]


def _tune_cells():
    """A 12 x 10 matrix with about 70 bookings: enough for --model auto to tune (50 or more)."""
    import numpy as np

    rng = np.random.default_rng(8)
    values = np.round(rng.lognormal(9, 1, (12, 10)), 2)
    blank = rng.random((12, 10)) < 0.4
    return [["Bookings"] + [f"Client {j}" for j in range(10)]] + \
        [[f"Rep {i}"] + [None if blank[i, j] else float(values[i, j]) for j in range(10)] for i in range(12)]


def test_tune_model_spills_the_ranking_and_the_winner():
    from xlrec.core.tune import tune
    from xlrec.sheet.cells import matrix_from_cells

    cells = _tune_cells()
    # a range of model names, a budget, folds and seed as Excel sends them (floats), the top 5 rows
    table = call("TUNE_MODEL", cells, [["neighbors"], ["client_mean"]], 600.0, 3.0, 1.0, 5.0)
    expected = tune(matrix_from_cells(cells), models=["neighbors", "client_mean"], folds=3, seed=1)
    assert table[0] == ["Rank", "Model", "Settings", "RMSE", "MAE", "Coverage", "Std over folds", "Seconds per fold"]
    assert len(table) == 1 + 5 + 2 and all(len(r) == 8 for r in table)
    for got, want in zip(table[1:6], expected.table(5)[1:]):
        assert got[:3] == want[:3]
        assert got[3:7] == pytest.approx(want[3:7], rel=1e-12)
    assert table[7][0].startswith(f"best: {expected.label()}; RMSE ")
    assert "by nested cross-validation" in table[7][0]


def test_tune_model_mistakes_show_in_the_cell():
    assert call("TUNE_MODEL", _tune_cells(), "neighbours") == \
        [["xlrec: unknown model 'neighbours'; choose one of: neighbors, baseline_neighbors, mf, mean, client_mean, "
          "salesperson_mean, baseline, cp (did you mean 'neighbors'?)"]]
    assert call("TUNE_MODEL", _tune_cells(), "mean", "soon") == [["xlrec: budget must be a number of seconds, not 'soon'"]]


def test_model_auto_in_a_formula():
    from xlrec.core.tune import choose_model
    from xlrec.sheet.cells import matrix_from_cells

    cells = _tune_cells()
    chosen = choose_model(matrix_from_cells(cells), "auto")
    model = chosen.fit(matrix_from_cells(cells))
    blank_cell = next((i, j) for i, row in enumerate(cells[1:], 1) for j, v in enumerate(row[1:], 1) if v is None)
    sp, cl = cells[blank_cell[0]][0], cells[0][blank_cell[1]]
    want = model.fill().values[blank_cell[0] - 1, blank_cell[1] - 1]
    assert call("PREDICT_BOOKING", cells, sp, cl, None, None, None, None, "auto") == [[pytest.approx(want, rel=1e-12)]]
    assert call("PREDICT_BOOKING", cells, sp, cl, 3, None, None, None, "auto") == \
        [["xlrec: model auto chooses the settings itself; k cannot be given with it (name a model to set them)"]]
