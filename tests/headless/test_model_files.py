"""``xlrec train`` and ``--model-file``: a trained model applied to workbooks gives what fitting in place gives,
folds in new salespeople, and is refused in one line when it cannot be used."""

import math

import numpy as np
import openpyxl
import pytest

from xlrec.cli import main
from xlrec.core.models import MODELS
from xlrec.sheet.models import default_models

N, M = 12, 9


def _values(seed=0, n=N, m=M):
    rng = np.random.default_rng(seed)
    x = np.round(rng.normal(size=(n, 3)) @ rng.normal(size=(3, m)) * 100 + 1000, 2)
    x[rng.random(x.shape) < 0.3] = np.nan
    x[:, 0] = np.where(np.isnan(x[:, 0]), 950.0, x[:, 0])
    return x


def _workbook(path, x, salespeople=None, formulas=()):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sales"
    salespeople = salespeople or [f"Rep {i}" for i in range(x.shape[0])]
    ws.append(["Bookings"] + [f"Client {j}" for j in range(x.shape[1])])
    for name, row in zip(salespeople, x):
        ws.append([name] + [None if math.isnan(v) else float(v) for v in row])
    for at, formula in formulas:
        ws[at] = formula
    wb.save(path)
    return path


def _grid(path, n=N, m=M):
    ws = openpyxl.load_workbook(path)["Sales"]
    return np.array([[np.nan if ws.cell(2 + i, 2 + j).value is None else ws.cell(2 + i, 2 + j).value
                      for j in range(m)] for i in range(n)], dtype=float)


@pytest.fixture(autouse=True)
def _fresh_cache():
    default_models.clear()
    yield
    default_models.clear()


@pytest.mark.parametrize("name", list(MODELS))
def test_train_then_fill_with_the_model_file_gives_the_fill_in_place(name, tmp_path, capsys):
    book = _workbook(tmp_path / "sales.xlsx", _values())
    model = tmp_path / f"{name}.xlrec"
    assert main(["train", str(book), "-o", str(model), "--model", name]) == 0
    assert capsys.readouterr().out.startswith(f"{model}: model {name} (")
    assert main(["fill", str(book), "-o", str(tmp_path / "with_file.xlsx"), "--model-file", str(model)]) == 0
    summary = capsys.readouterr().out
    assert f"predicted by model file {name}.xlrec ({name}, trained " in summary
    assert main(["fill", str(book), "-o", str(tmp_path / "in_place.xlsx"), "--model", name]) == 0
    np.testing.assert_array_equal(_grid(tmp_path / "with_file.xlsx"), _grid(tmp_path / "in_place.xlsx"))


def test_cp_folds_nothing_in(tmp_path, capsys):
    # cp predicts periods of a bookings table: its model file is applied to the matrix it was trained on
    # (above), not to another one (said so)
    x = _values(n=N + 1)
    book = _workbook(tmp_path / "sales.xlsx", x[:N])
    other = _workbook(tmp_path / "other.xlsx", x, [f"Rep {i}" for i in range(N)] + ["Newcomer"])
    assert main(["train", str(book), "-o", str(tmp_path / "cp.xlrec"), "--model", "cp"]) == 0
    assert main(["fill", str(other), "-o", str(tmp_path / "out.xlsx"), "--model-file", str(tmp_path / "cp.xlrec")]) == 2
    assert "cp model file predicts periods of a bookings table" in capsys.readouterr().err


def test_a_new_salesperson_is_folded_in_and_said(tmp_path, capsys):
    x = _values(n=N + 1)
    names = [f"Rep {i}" for i in range(N)] + ["Newcomer"]
    train = _workbook(tmp_path / "train.xlsx", x[:N])
    apply = _workbook(tmp_path / "apply.xlsx", x, names)
    model = tmp_path / "mf.xlrec"
    assert main(["train", str(train), "-o", str(model), "--model", "mf", "--rank", "2"]) == 0
    assert main(["fill", str(apply), "-o", str(tmp_path / "out.xlsx"), "--model-file", str(model)]) == 0
    out = capsys.readouterr().out
    assert "1 salesperson not in the model file folded in from their bookings" in out
    filled = _grid(tmp_path / "out.xlsx", n=N + 1)
    assert not np.isnan(filled).any()
    assert main(["predict", str(apply), "Newcomer", "Client 3", "--model-file", str(model)]) == 0
    assert capsys.readouterr().out.startswith("Newcomer / Client 3: ")


def test_the_model_file_fixes_the_model(tmp_path, capsys):
    book = _workbook(tmp_path / "sales.xlsx", _values())
    model = tmp_path / "m.xlrec"
    assert main(["train", str(book), "-o", str(model), "--model", "baseline"]) == 0
    assert main(["fill", str(book), "-o", str(tmp_path / "o.xlsx"), "--model-file", str(model), "--model", "mf",
                 "--rank", "3"]) == 2
    assert capsys.readouterr().err == "xlrec: error: --model-file fixes the model and its options; leave out " \
                                      "--model, --rank\n"


def test_a_model_is_found_by_name_in_the_models_folder(tmp_path, capsys, monkeypatch):
    book = _workbook(tmp_path / "sales.xlsx", _values())
    folder = tmp_path / "models"
    folder.mkdir()
    assert main(["train", str(book), "-o", str(folder / "pipeline-2026Q3.xlrec"), "--model", "mf"]) == 0
    monkeypatch.setenv("XLREC_MODELS", str(folder))
    assert main(["predict", str(book), "Rep 1", "Client 2", "--model-file", "pipeline-2026Q3"]) == 0
    assert main(["predict", str(book), "Rep 1", "Client 2", "--model-file", "pipeline"]) == 2
    err = capsys.readouterr().err
    assert err.endswith(f"no model 'pipeline' in the models folder {folder} (XLREC_MODELS); it holds: "
                        "pipeline-2026Q3\n")


def test_info_prints_the_card(tmp_path, capsys):
    book = _workbook(tmp_path / "sales.xlsx", _values())
    model = tmp_path / "m.xlrec"
    assert main(["train", str(book), "-o", str(model), "--model", "mf", "--folds", "3"]) == 0
    assert "3-fold cross-validated RMSE" in capsys.readouterr().out
    assert main(["info", str(model)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["Model", "file", "m.xlrec"] and lines[1].split() == ["Model", "mf"]
    assert any(line.startswith("Cross-validated rmse") for line in lines)
    assert any(line.split()[:2] == ["Source", "sales.xlsx"] for line in lines)


def test_info_refuses_a_workbook_in_one_line(tmp_path, capsys):
    book = _workbook(tmp_path / "sales.xlsx", _values())
    assert main(["info", str(book)]) == 2
    assert capsys.readouterr().err == f"xlrec: error: {book}: not loaded: unexpected member " \
                                      "'[Content_Types].xml' (a model file holds arrays.npz, model.json)\n"


def test_batch_with_a_model_file(tmp_path, capsys):
    books = [_workbook(tmp_path / f"b{i}.xlsx", _values(seed=i)) for i in range(2)]
    model = tmp_path / "m.xlrec"
    assert main(["train", str(books[0]), "-o", str(model), "--model", "baseline"]) == 0
    capsys.readouterr()
    assert main(["batch", *map(str, books), "-o", str(tmp_path / "out"), "-j", "1", "-q", "--model-file",
                 str(model)]) == 0
    assert capsys.readouterr().out.startswith("filled 2 of 2 workbooks")


def test_convert_with_a_model_file_and_a_formula_naming_one(tmp_path, capsys):
    x = _values()
    formulas = [("L2", '=PREDICT_BOOKING(A1:J13,"Rep 0","Client 1")'),
                ("L3", '=PREDICT_BOOKING("m.xlrec","Rep 0","Client 1")')]
    blank = next(j for j in range(M) if np.isnan(x[0, j]))
    formulas = [(at, f.replace("Client 1", f"Client {blank}")) for at, f in formulas]
    book = _workbook(tmp_path / "sales.xlsx", x, formulas=formulas)
    assert main(["train", str(book), "-o", str(tmp_path / "m.xlrec"), "--model", "mf", "--rank", "2"]) == 0
    assert main(["convert", str(book), "-o", str(tmp_path / "out.xlsx"), "--model-file", str(tmp_path / "m.xlrec")]) == 0
    ws = openpyxl.load_workbook(tmp_path / "out.xlsx")["Sales"]
    assert main(["fill", str(book), "-o", str(tmp_path / "filled.xlsx"), "--model", "mf", "--rank", "2"]) == 0
    expected = _grid(tmp_path / "filled.xlsx")[0, blank]
    assert ws["L2"].value == pytest.approx(expected, rel=1e-12)
    assert ws["L3"].value == pytest.approx(expected, rel=1e-12)


# -- train --tuned ------------------------------------------------------------------------------------------------


def test_train_tuned_trains_what_tune_chooses_and_records_its_nested_scores(tmp_path, capsys):
    from xlrec.core.matrix import SalesMatrix
    from xlrec.core.models import make_model
    from xlrec.core.persist import load_model
    from xlrec.core.tune import tune

    x = _values(seed=5)
    book = _workbook(tmp_path / "sales.xlsx", x)
    model = tmp_path / "tuned.xlrec"
    assert main(["train", str(book), "-o", str(model), "--tuned", "--models", "baseline,mf", "--folds", "3",
                 "--seed", "2"]) == 0
    printed = capsys.readouterr().out

    # the same search, called in the core on the same bookings (built here, not read by xlrec's reader)
    matrix = SalesMatrix([f"Rep {i}" for i in range(N)], [f"Client {j}" for j in range(M)], x)
    want = tune(matrix, models=["baseline", "mf"], folds=3, seed=2)
    loaded = load_model(model)
    card = loaded.card_
    assert card["model"] == want.best["model"]
    assert card["params"] == want.best["params"]
    assert card["scores"]["rmse"] == pytest.approx(want.nested_rmse, rel=1e-12)
    assert card["scores"]["mae"] == pytest.approx(want.nested_mae, rel=1e-12)
    assert (card["scores"]["folds"], card["scores"]["seed"]) == (3, 2)
    assert card["tuning"]["search rmse"] == pytest.approx(want.best["mean_test_score"], rel=1e-12)
    assert card["tuning"]["settings searched"] == len(want.search.results) == 16 + 24
    assert card["tuning"]["models"] == "baseline, mf"
    assert card["tuning"]["chosen"] == want.label()
    # fitted on every known cell: what the winner fitted in place predicts
    np.testing.assert_array_equal(loaded.fill().values,
                                  make_model(want.best["model"], **want.best["params"]).fit(matrix).fill().values)
    assert f"chosen by tuning over 40 settings of baseline, mf; nested 3-fold cross-validated RMSE " \
           f"{want.nested_rmse:,.4g}" in printed

    assert main(["info", str(model)]) == 0
    rows = {line[:30].strip(): line[30:].strip() for line in capsys.readouterr().out.splitlines()}
    assert rows["Model"] == want.best["model"]
    assert float(rows["Cross-validated rmse"]) == pytest.approx(want.nested_rmse, rel=1e-12)
    assert rows["Tuning: chosen"] == want.label()


@pytest.mark.parametrize("extra,message", [
    (["--tuned", "--model", "mf"],
     ("--tuned chooses the model and its settings; leave out --model (or leave out --tuned to train the model "
      "you name)")),
    (["--tuned", "--k", "3", "--rank", "2"],
     ("--tuned chooses the model and its settings; leave out --k, --rank (or leave out --tuned to train the "
      "model you name)")),
    (["--models", "mf", "--budget", "5"],
     ("--models and --budget go with --tuned (train the winner of a search); without it, name the model with "
      "--model")),
    (["--model", "auto"],
     ("train --model auto: give --tuned instead (a full search, scored by nested cross-validation, recorded in "
      "the model file)")),
])
def test_train_tuned_and_a_named_model_are_exclusive(extra, message, tmp_path, capsys):
    book = _workbook(tmp_path / "sales.xlsx", _values())
    assert main(["train", str(book), "-o", str(tmp_path / "m.xlrec"), *extra]) == 2
    assert capsys.readouterr().err == f"xlrec: error: {message}\n"
    assert not (tmp_path / "m.xlrec").exists()


def test_convert_finds_a_model_by_name_in_the_folder_of_the_workbooks_xlwings_conf_sheet(tmp_path, capsys,
                                                                                        monkeypatch):
    monkeypatch.delenv("XLREC_MODELS", raising=False)
    x = _values()
    blank = next(j for j in range(M) if np.isnan(x[0, j]))
    formula = f'=PREDICT_BOOKING("pipeline","Rep 0","Client {blank}")'
    book = _workbook(tmp_path / "sales.xlsx", x, formulas=[("L2", formula)])
    folder = tmp_path / "shared" / "models"
    folder.mkdir(parents=True)
    assert main(["train", str(book), "-o", str(folder / "pipeline.xlrec"), "--model", "baseline"]) == 0
    wb = openpyxl.load_workbook(book)
    conf = wb.create_sheet("xlwings.conf")
    conf.append(["Interpreter_Win", "python"])
    conf.append(["XLREC_MODELS", str(folder)])
    wb.save(book)
    assert main(["convert", str(book), "-o", str(tmp_path / "out.xlsx")]) == 0
    from xlrec.core.matrix import SalesMatrix
    from xlrec.core.models import make_model

    matrix = SalesMatrix([f"Rep {i}" for i in range(N)], [f"Client {j}" for j in range(M)], x)
    expected = make_model("baseline").fit(matrix).fill().values[0, blank]
    assert openpyxl.load_workbook(tmp_path / "out.xlsx")["Sales"]["L2"].value == pytest.approx(expected, rel=1e-12)


def test_cp_trained_on_a_period_workbook_is_said_to_be_no_model_of_one_matrix(tmp_path, capsys):
    # cp learns over periods: `train --model cp` on a workbook of period sheets fits it once on all of them;
    # `fill --model-file` applies a model to one sheet's matrix, which a model of periods is not (said so)
    import csv

    from xlrec.core.models import make_model
    from xlrec.core.persist import load_model
    from xlrec.io.bookings import read_period_workbook

    rng = np.random.default_rng(7)
    with open(tmp_path / "bookings.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Rep", "Account", "Quarter", "Amount"])
        for q in ("2024-Q1", "2024-Q2", "2024-Q3"):
            for i in range(5):
                for j in range(4):
                    if rng.random() < 0.7:
                        w.writerow([f"Rep {i}", f"Client {j}", q, round(float(rng.uniform(100, 900)), 2)])
    periods = tmp_path / "periods.xlsx"
    assert main(["pivot", str(tmp_path / "bookings.csv"), "--salesperson", "Rep", "--client", "Account", "--amount",
                 "Amount", "--date", "Quarter", "--period", "quarter", "-o", str(periods)]) == 0
    model = tmp_path / "cp.xlrec"
    assert main(["train", str(periods), "-o", str(model), "--model", "cp"]) == 0
    assert "over 3 periods (2024-Q1 to 2024-Q3)" in capsys.readouterr().out
    want = make_model("cp").fit(read_period_workbook(periods))
    np.testing.assert_allclose(load_model(model).fill().values, want.fill().values, rtol=1e-12)
    assert main(["fill", str(periods), "-o", str(tmp_path / "out.xlsx"), "--model-file", str(model)]) == 2
    assert "a cp model file predicts periods of a bookings table; it is not applied to a sales matrix" in \
        capsys.readouterr().err
    assert main(["train", str(periods), "-o", str(model), "--model", "cp", "--folds", "3"]) == 2
    assert "--holdout last-period" in capsys.readouterr().err


def test_fill_with_a_model_file_folds_a_new_salesperson_in_as_a_ridge_solve_against_the_fixed_clients(tmp_path):
    # refitting mf for the newcomer alone, the clients' factors and offsets fixed: a ridge least-squares solve
    # for [offset, factors] over the newcomer's bookings, written out here with numpy
    from xlrec.core.persist import load_model

    x = _values(n=N + 1, seed=3)
    train = _workbook(tmp_path / "train.xlsx", x[:N])
    apply = _workbook(tmp_path / "apply.xlsx", x, [f"Rep {i}" for i in range(N)] + ["Newcomer"])
    path = tmp_path / "mf.xlrec"
    assert main(["train", str(train), "-o", str(path), "--model", "mf", "--rank", "2", "--l2", "0.5"]) == 0
    assert main(["fill", str(apply), "-o", str(tmp_path / "out.xlsx"), "--model-file", str(path)]) == 0
    model = load_model(path)
    mu, s, Q, bc = model.mean_, model.scale_, model.client_factors_, model.client_offsets_
    row = x[N]
    J = np.flatnonzero(~np.isnan(row))
    A = np.vstack([np.hstack([np.ones((J.size, 1)), Q[J]]), np.sqrt(0.5 * np.sqrt(J.size)) * np.eye(3)])
    w, *_ = np.linalg.lstsq(A, np.concatenate([(row[J] - mu) / s - bc[J], np.zeros(3)]), rcond=None)
    expected = mu + s * (w[0] + bc + Q @ w[1:])
    blanks = np.isnan(row)
    assert blanks.any()
    np.testing.assert_allclose(_grid(tmp_path / "out.xlsx", n=N + 1)[N, blanks], expected[blanks], rtol=1e-10)
