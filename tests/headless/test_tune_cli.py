"""xlrec tune on the Northwind pivot (neighbours and two baselines, to keep it short): the table, --json against
the core, --report's sheets and native charts; --model auto for fill."""

import json
import re
import zipfile

import openpyxl
import pytest
from test_evaluate_cli import matrix_of

from xlrec.cli import main
from xlrec.core.tune import tune

MODELS = "neighbors,client_mean,baseline"


def test_table_json_and_report(northwind, capsys, tmp_path):
    report = tmp_path / "tune.xlsx"
    assert main(["tune", str(northwind), "--models", MODELS, "--folds", "3", "--top", "4", "--report",
                 str(report)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert re.match(r"^Rank +Model +Settings +RMSE +MAE +Coverage +Std over folds +Seconds per fold$", out[0])
    assert len(out) == 1 + 4 + 1 + 1 + 1
    assert out[6].startswith("best: ") and "by nested cross-validation" in out[6]
    assert out[7] == f"report: {report}"

    assert main(["tune", str(northwind), "--models", MODELS, "--folds", "3", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    want = tune(matrix_of(northwind), models=MODELS.split(","), folds=3)
    assert (got["best"]["model"], got["best"]["params"]) == (want.best["model"], want.best["params"])
    assert got["nested"]["rmse"] == pytest.approx(want.nested_rmse, rel=1e-12)
    assert len(got["results"]) == got["n_candidates"] == 1200 + 16 + 1
    assert [r["rank_test_score"] for r in got["results"]] == list(range(1, 1218))

    wb = openpyxl.load_workbook(report)
    assert wb.sheetnames == ["Summary", "Ranking", "By k", "Held out"]
    assert wb["Summary"]["A2"].value == out[6] or wb["Summary"]["A2"].value.startswith("best: ")
    assert wb["Ranking"].max_row == 1 + 1217
    assert [c.value for c in wb["By k"][1]] == ["k", "manhattan", "euclidean", "supremum", "nan_euclidean"]
    with zipfile.ZipFile(report) as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
        assert len(charts) == 2  # error against k, predicted against actual (no mf searched: no rank chart)
        assert any(b"<lineChart>" in z.read(n) for n in charts) and any(b"<scatterChart>" in z.read(n)
                                                                          for n in charts)


def test_mistakes(northwind, capsys):
    assert main(["tune", str(northwind), "--models", "neighbours"]) == 2
    assert "unknown model 'neighbours'" in capsys.readouterr().err
    assert main(["tune", str(northwind), "--models", "cp"]) == 2
    assert "model 'cp' predicts periods" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["tune", str(northwind), "--budget", "0"])
    assert "must be a number of seconds above 0" in capsys.readouterr().err


def test_fill_with_model_auto_names_the_choice(northwind, capsys, tmp_path):
    out = tmp_path / "filled.xlsx"
    assert main(["fill", str(northwind), "-o", str(out), "--model", "auto"]) == 0
    line = capsys.readouterr().out
    assert re.search(r": auto: \w+ \(.*\), typical error \+/- [\d,]+, 5-fold; filled [\d,]+ of [\d,]+ blank cells",
                     line), line
    assert main(["fill", str(northwind), "-o", str(out), "--model", "auto", "--k", "3"]) == 2
    assert "--model auto chooses the settings itself; --k cannot be given" in capsys.readouterr().err


def test_a_budget_runs_successive_halving(northwind, capsys):
    assert main(["tune", str(northwind), "--models", MODELS, "--folds", "3", "--budget", "600", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["strategy"] == "halving" and got["rounds"][0] == [1217, 1] and got["rounds"][-1][1] == 3
    assert "successive halving: 1,217 settings on 1 fold" in got["summary"]
