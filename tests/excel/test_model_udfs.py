"""Model files in Excel: every function takes a model in place of a matrix (called through xlwings' own
custom-function machinery), MODEL_INFO spills the card, a changed file is read again, and the Fill blanks
button uses the model file named in the workbook's xlrec.conf sheet."""

import os

import numpy as np
import pytest
from conftest import CLIENTS, SALESPEOPLE, VALUES, article_cells
from test_macros import _conf_sheet, payload, run, sheet_values, writes
from test_udfs import call

from xlrec.core.matrix import SalesMatrix
from xlrec.core.models import make_model
from xlrec.core.persist import save_model
from xlrec.sheet.models import default_models

MATRIX = article_cells()


def article():
    return SalesMatrix(SALESPEOPLE, CLIENTS, np.array(VALUES, dtype=float))


@pytest.fixture(autouse=True)
def _fresh_cache():
    default_models.clear()
    yield
    default_models.clear()


@pytest.fixture
def models(tmp_path, monkeypatch):
    folder = tmp_path / "models"
    folder.mkdir()
    save_model(make_model("neighbors").fit(article()), folder / "pipeline-2026Q3.xlrec", source="sales.xlsx")
    save_model(make_model("baseline").fit(article()), folder / "baseline.xlrec")
    monkeypatch.setenv("XLREC_MODELS", str(folder))
    return folder


def test_predict_booking_from_a_model_by_name_gives_what_the_matrix_gives(models):
    assert call("PREDICT_BOOKING", "pipeline-2026Q3", "Alyssa", "Staples") == \
        call("PREDICT_BOOKING", MATRIX, "Alyssa", "Staples")
    assert call("PREDICT_BOOKING", "pipeline-2026Q3", "Alyssa", "Google") == [[500_000]]
    assert call("PREDICT_BOOKING", "baseline", "Alyssa", "Staples") == \
        call("PREDICT_BOOKING", MATRIX, "Alyssa", "Staples", None, None, None, None, "baseline")


def test_a_model_by_path(models):
    path = str(models / "baseline.xlrec")
    assert call("PREDICT_BOOKING", path, "Alyssa", "Staples") == call("PREDICT_BOOKING", "baseline", "Alyssa",
                                                                      "Staples")


@pytest.mark.parametrize("func,args", [
    ("EXPLAIN_BOOKING", ("Alyssa", "Staples")),
    ("SIMILAR_SALESPEOPLE", ("Alyssa", 2)),
    ("RECOMMEND_CLIENTS", ("Mike", 3)),
])
def test_every_function_over_a_matrix_takes_a_model(models, func, args):
    assert call(func, "pipeline-2026Q3", *args) == call(func, MATRIX, *args)


def test_fill_matrix_from_a_model(models):
    from_model, from_matrix = call("FILL_MATRIX", "pipeline-2026Q3"), call("FILL_MATRIX", MATRIX)
    assert from_model[1:] == from_matrix[1:] and from_model[0][1:] == from_matrix[0][1:]


def test_model_info_spills_the_card(models):
    card = dict((row[0], row[1]) for row in call("MODEL_INFO", "pipeline-2026Q3"))
    assert card["Model file"] == "pipeline-2026Q3.xlrec" and card["Model"] == "neighbors"
    assert card["Salespeople"] == 6 and card["Clients"] == 4 and card["Source"] == "sales.xlsx"
    assert str(card["Fingerprint"]).startswith("sha256:")


def test_a_changed_model_file_is_read_again(models):
    loads = default_models.loads
    first = call("PREDICT_BOOKING", "baseline", "Alyssa", "Staples")
    path = models / "baseline.xlrec"
    stat = os.stat(path)
    save_model(make_model("baseline", reg_client=0.0, reg_salesperson=0.0).fit(article()), path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    second = call("PREDICT_BOOKING", "baseline", "Alyssa", "Staples")
    assert second != first
    assert default_models.loads == loads + 2
    call("PREDICT_BOOKING", "baseline", "Alyssa", "Staples")
    assert default_models.loads == loads + 2  # unchanged: not read again


def test_model_arguments_beside_a_model_file_are_refused(models):
    assert call("PREDICT_BOOKING", "baseline", "Alyssa", "Staples", 3) == \
        [["xlrec: k: a model file fixes the model and its parameters; leave k blank when the first argument names "
          "a model file"]]


def test_an_unknown_model_and_a_hostile_file_are_messages(models):
    out = call("PREDICT_BOOKING", "nope", "Alyssa", "Staples")
    assert out == [[f"xlrec: no model 'nope' in the models folder {models} (XLREC_MODELS); it holds: baseline, "
                    "pipeline-2026Q3"]]
    (models / "evil.xlrec").write_bytes(b"cos\nsystem\n(S'echo hi'\ntR.")
    out = call("PREDICT_BOOKING", "evil", "Alyssa", "Staples")[0][0]
    assert out.startswith("xlrec: ") and "not loaded: not a model file (not a zip archive" in out


def test_an_unknown_name_in_a_model_is_a_real_na(models):
    assert call("PREDICT_BOOKING", "baseline", "Nobody", "Staples") == [[{"type": "Error",
                                                                         "errorType": "NotAvailable"}]]


def test_the_fill_blanks_button_uses_the_model_file_of_the_conf_sheet(models):
    conf = _conf_sheet([["setting", "value"], ["model_file", "baseline"]])
    book, message, actions = run(payload(sheet_values(), extra_sheets=[conf]))
    assert message.startswith("xlrec: filled 6 of 6 blank cells in Sales!A1:E7; model file baseline")
    expected = make_model("baseline").fit(article()).fill().values
    for key, values in writes(actions, "setValues").items():
        r, c = divmod(key, 1000)
        assert values == [[pytest.approx(expected[r - 1, c - 1], rel=1e-12)]]


def test_the_button_refuses_a_model_file_with_parameters(models):
    conf = _conf_sheet([["model_file", "baseline"], ["k", 3]])
    message = run(payload(sheet_values(), extra_sheets=[conf]))[1]
    assert message == "xlrec: sheet xlrec.conf: model_file fixes the model and its parameters; remove the row " \
                      "'k' (or the row model_file)"


# -- the models folder from the workbook's xlwings settings ---------------------------------------------------------
#
# Classic desktop xlwings (Windows, COM) passes the calling cell to a UDF's parameter named ``caller`` (its
# call_udf: ``args[pos] = ComRange(caller)``); the tests hand the UDF the same thing, a real xlwings Range of a
# workbook built by xlwings from the add-in's JSON. Office.js runtimes (xlwings Server, Lite) send a custom
# function its arguments only: there the environment variable alone names the folder.

ALYSSA_STAPLES = (500_000 + 0.5 * 300_000) / 1.5  # the article's: Mike then Brandon, rank weights


def _xlwings_conf(rows):
    return {"name": "xlwings.conf", "values": rows, "pictures": [], "tables": [], "notes": []}


def _book(*extra_sheets):
    import xlwings as xw

    return xw.Book(json=payload(sheet_values(), extra_sheets=extra_sheets))


def _other_folder(tmp_path):
    """A second models folder whose "baseline" differs from the first's (no shrinkage of the offsets)."""
    folder = tmp_path / "workbook-models"
    folder.mkdir()
    save_model(make_model("baseline", reg_client=0.0, reg_salesperson=0.0).fit(article()), folder / "baseline.xlrec")
    save_model(make_model("neighbors").fit(article()), folder / "pipeline-2026Q3.xlrec")
    return folder


def test_a_name_is_found_in_the_folder_of_the_workbooks_xlwings_conf_sheet(models, tmp_path, monkeypatch):
    import xlrec.excel as udfs

    monkeypatch.delenv("XLREC_MODELS")
    folder = _other_folder(tmp_path)
    book = _book(_xlwings_conf([["Interpreter_Win", "python"], ["XLREC_MODELS", str(folder)]]))
    caller = book.sheets["Sales"]["G2"]
    assert udfs.PREDICT_BOOKING("pipeline-2026Q3", "Alyssa", "Staples", caller=caller) == \
        pytest.approx(ALYSSA_STAPLES, rel=1e-12)
    card = {row[0]: row[1] for row in udfs.MODEL_INFO("baseline", caller=caller)}
    assert card["  reg_client"] == 0.0
    # an Office.js call of the same formula gets no workbook: without the environment variable, no folder
    assert call("PREDICT_BOOKING", "pipeline-2026Q3", "Alyssa", "Staples") == \
        [[("xlrec: no model named 'pipeline-2026Q3': set XLREC_MODELS to the models folder (or a row XLREC_MODELS "
           "| folder in the workbook's xlwings.conf sheet), or give the path of a .xlrec file")]]


def test_the_workbooks_setting_wins_over_the_environment_variable(models, tmp_path):
    import xlrec.excel as udfs

    folder = _other_folder(tmp_path)
    caller = _book(_xlwings_conf([["xlrec_models", f"  {folder}  "]])).sheets["Sales"]["G2"]
    env_value = call("PREDICT_BOOKING", "baseline", "Alyssa", "Staples")[0][0]  # Office.js: the variable's folder
    book_value = udfs.PREDICT_BOOKING("baseline", "Alyssa", "Staples", caller=caller)
    assert env_value == pytest.approx(make_model("baseline").fit(article()).fill().values[0, 3], rel=1e-12)
    assert book_value == pytest.approx(make_model("baseline", reg_client=0.0, reg_salesperson=0.0).fit(article())
                                       .fill().values[0, 3], rel=1e-12)
    assert book_value != pytest.approx(env_value, rel=1e-6)
    # a workbook without the row (or without the sheet) leaves the variable to decide
    for extra in ([_xlwings_conf([["Interpreter_Win", "python"]])], []):
        caller = _book(*extra).sheets["Sales"]["G2"]
        assert udfs.PREDICT_BOOKING("baseline", "Alyssa", "Staples", caller=caller) == pytest.approx(env_value,
                                                                                                    rel=1e-12)


def test_a_missing_name_says_which_folder_was_searched_and_why(models, tmp_path):
    import xlrec.excel as udfs

    folder = _other_folder(tmp_path)
    caller = _book(_xlwings_conf([["XLREC_MODELS", str(folder)]])).sheets["Sales"]["G2"]
    assert udfs.PREDICT_BOOKING("nope", "Alyssa", "Staples", caller=caller) == \
        f"xlrec: no model 'nope' in the models folder {folder} (XLREC_MODELS in the workbook's xlwings.conf " \
        "sheet); it holds: baseline, pipeline-2026Q3"
    assert call("PREDICT_BOOKING", "nope", "Alyssa", "Staples") == \
        [[(f"xlrec: no model 'nope' in the models folder {models} (XLREC_MODELS); it holds: baseline, "
           "pipeline-2026Q3")]]


def test_the_caller_parameter_is_never_an_excel_argument():
    from xlwings.server import custom_functions_meta

    import xlrec.excel as udfs

    for f in custom_functions_meta(udfs)["functions"]:
        assert "caller" not in [p["name"] for p in f["parameters"]], f["name"]


def test_a_file_replaced_with_the_same_modification_time_is_read_again_by_its_size(models):
    path = models / "baseline.xlrec"
    first = call("PREDICT_BOOKING", "baseline", "Alyssa", "Staples")
    loads = default_models.loads
    stat = os.stat(path)
    # another model under the same name: other arrays, so surely another size (two fits of one model can
    # zip to the same number of bytes)
    save_model(make_model("client_mean").fit(article()), path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # a copy that kept the old time (a sync, `cp -p`)
    assert os.stat(path).st_size != stat.st_size and os.stat(path).st_mtime_ns == stat.st_mtime_ns
    second = call("PREDICT_BOOKING", "baseline", "Alyssa", "Staples")
    assert default_models.loads == loads + 1
    staples = np.array(VALUES, dtype=float)[:, 3]  # the client mean of Staples' known bookings, by hand
    assert second[0][0] == pytest.approx(np.nanmean(staples), rel=1e-12)
    assert second != first


def test_the_button_finds_its_model_file_in_the_folder_of_the_xlwings_conf_sheet(models, tmp_path, monkeypatch):
    monkeypatch.delenv("XLREC_MODELS")
    folder = _other_folder(tmp_path)
    conf = _conf_sheet([["model_file", "baseline"]])
    _, message, actions = run(payload(sheet_values(), extra_sheets=[conf, _xlwings_conf([["XLREC_MODELS",
                                                                                          str(folder)]])]))
    assert message.startswith("xlrec: filled 6 of 6 blank cells in Sales!A1:E7; model file baseline")
    expected = make_model("baseline", reg_client=0.0, reg_salesperson=0.0).fit(article()).fill().values
    for key, values in writes(actions, "setValues").items():
        r, c = divmod(key, 1000)
        assert values == [[pytest.approx(expected[r - 1, c - 1], rel=1e-12)]]
    message = run(payload(sheet_values(), extra_sheets=[_conf_sheet([["model_file", "nope"]]),
                                                        _xlwings_conf([["XLREC_MODELS", str(folder)]])]))[1]
    assert message == f"xlrec: no model 'nope' in the models folder {folder} (XLREC_MODELS in the workbook's " \
                      "xlwings.conf sheet); it holds: baseline, pipeline-2026Q3"


# -- cp: trained on bookings over periods, used by PREDICT_BOOKING_TABLE -------------------------------------------


def test_cp_trained_on_a_bookings_table_predicts_periods_as_fitting_in_place(models, tmp_path, capsys):
    import csv

    from test_udfs import TABLE

    from xlrec.cli import main
    from xlrec.core.tensor import SalesTensor

    rows = TABLE[1:-1]
    with open(tmp_path / "bookings.csv", "w", newline="") as f:
        csv.writer(f).writerows([["Rep", "Account", "Quarter", "Amount"], *rows])
    assert main(["train", str(tmp_path / "bookings.csv"), "-o", str(models / "cp-periods.xlrec"), "--model", "cp",
                 "--salesperson", "Rep", "--client", "Account", "--amount", "Amount", "--date", "Quarter",
                 "--period", "quarter"]) == 0
    assert "over 2 periods (2024-Q1 to 2024-Q2)" in capsys.readouterr().out
    model = make_model("cp").fit(SalesTensor.from_rows(rows))  # fitted here, on the same rows
    for period in ("2024-Q2", "2024-Q3", "2024-Q4"):
        want = model.predict("Alyssa", "Staples", period).value
        assert call("PREDICT_BOOKING_TABLE", "cp-periods", "Alyssa", "Staples", period) == \
            [[pytest.approx(want, rel=1e-12)]]
        assert call("PREDICT_BOOKING_TABLE", TABLE, "Alyssa", "Staples", period) == [[pytest.approx(want, rel=1e-12)]]
    assert call("PREDICT_BOOKING_TABLE", "cp-periods", "Mike", "Staples", "2024-Q2") == [[65]]
    card = {row[0]: row[1] for row in call("MODEL_INFO", "cp-periods")}
    assert card["Model"] == "cp" and card["Source"] == "bookings.csv"
    # a matrix model file is not a model of periods, and a cp model of periods is not applied to a matrix
    assert call("PREDICT_BOOKING_TABLE", "baseline", "Alyssa", "Staples")[0][0].startswith(
        "xlrec: the model file holds model baseline, which predicts from a sales matrix")
    assert call("PREDICT_BOOKING", "cp-periods", "Alyssa", "Staples") == call("PREDICT_BOOKING_TABLE", "cp-periods",
                                                                              "Alyssa", "Staples", "2024-Q2")
