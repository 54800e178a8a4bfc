"""``rnnkit compare classify --baseline tfidf``: the baseline's row beside the cells, in the
table, in --json and in compare.json, fitted once on the split the cells train on."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest

from rnnkit.baselines.tfidf import tfidf_baseline
from rnnkit.cli.main import main
from rnnkit.pipelines.run import Run

SMALL = ["--embedding-dim", "8", "--hidden-size", "8", "--min-freq", "1", "--epochs", "1",
         "--no-progress", "--threads", "1"]  # fmt: skip


@pytest.fixture
def corpus(tmp_path: Path) -> str:
    folder = tmp_path / "corpus"
    folder.mkdir()
    rows = [
        (f"good fine {i} great", "pos") if i % 2 else (f"bad poor {i} awful", "neg")
        for i in range(60)
    ]
    for name, part in (("train.csv", rows[:40]), ("test.csv", rows[40:])):
        with (folder / name).open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["text", "label"])
            writer.writerows(part)
    return f"csv:{folder}"


def test_compare_json_has_the_baseline_row(
    corpus: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cmp"
    argv = ["compare", "classify", "--dataset", corpus, "--cells", "gru", "--out", str(out)]
    assert main([*argv, *SMALL, "--baseline", "tfidf", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [r["cell"] for r in rows] == ["gru", "tfidf"]
    row = rows[1]
    expected = tfidf_baseline(Run.load(out / "gru").data())  # the cells' own split
    assert row["baseline"] == "TF-IDF + LinearSVC" and row["main"] == "accuracy"
    assert row["val_accuracy"] == expected.scores["val"]["accuracy"]
    assert row["test_accuracy"] == expected.scores["test"]["accuracy"] == 1.0
    assert row["test_macro_f1"] == expected.scores["test"]["macro_f1"]
    assert row["kept_epoch"] is None and row["parameters"] == expected.parameters
    assert row["backend"].startswith("scikit-learn ") and row["train_seconds"] > 0
    assert set(rows[0]) - set(row) == {"test_loss"}  # the cells' keys, bar what it has not
    assert json.loads((out / "compare.json").read_text()) == rows
    saved = json.loads((out / "gru" / "baseline.json").read_text())  # the cell's report has it
    assert saved["scores"] == expected.scores
    assert (
        "| baseline | TF-IDF + LinearSVC: val accuracy" in (out / "gru" / "report.md").read_text()
    )


def test_the_table_shows_the_baseline_and_none_leaves_it_out(
    corpus: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["compare", "classify", "--dataset", corpus, "--cells", "gru", *SMALL]
    assert main([*argv, "--out", str(tmp_path / "a")]) == 0  # auto: scikit-learn is installed
    table = capsys.readouterr().out.splitlines()
    assert table[0].startswith("cell") and table[1].startswith("gru")
    assert table[2].startswith("TF-IDF + LinearSVC") and "scikit-learn" in table[2]
    assert "100.00%" in table[2]
    assert main([*argv, "--baseline", "none", "--json", "--out", str(tmp_path / "b")]) == 0
    assert [r["cell"] for r in json.loads(capsys.readouterr().out)["rows"]] == ["gru"]


def test_asking_for_the_baseline_without_scikit_learn_is_one_line_before_training(
    corpus: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [m for m in sys.modules if m == "sklearn" or m.startswith("sklearn.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "sklearn", None)
    out = tmp_path / "cmp"
    argv = ["compare", "classify", "--dataset", corpus, "--cells", "gru", "--out", str(out)]
    assert main([*argv, *SMALL, "--baseline", "tfidf"]) == 1
    assert capsys.readouterr().err == (
        "rnnkit compare: error: the tfidf baseline needs scikit-learn: "
        "pip install 'rnnkit[baseline]'\n"
    )
    assert not out.exists()


def test_a_task_without_baselines_refuses_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flags = ["--seq-len", "6", "--train-size", "32", "--val-size", "16", "--test-size", "16",
             "--hidden-size", "4", "--epochs", "1", "--no-progress"]  # fmt: skip
    out = tmp_path / "cmp"
    argv = ["compare", "synthetic", *flags, "--cells", "gru", "--baseline", "tfidf"]
    assert main([*argv, "--out", str(out)]) == 1
    assert "synthetic has no baseline 'tfidf'; use auto or none" in capsys.readouterr().err
    assert not out.exists()
