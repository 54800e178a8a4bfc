"""Classification runs end to end on a small CSV corpus: train, load, evaluate, predict, compare."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rnnkit.pipelines.run import Run, compare, record_quality, train
from rnnkit.pipelines.runconfig import resolve as resolve_config

SMALL = {"embedding_dim": 16, "hidden_size": 16, "min_freq": 1, "lr": 1e-2, "batch_size": 16}


def test_train_writes_a_complete_run_that_learns(toy_csv: str, tmp_path: Path) -> None:
    config = resolve_config("classify", {**SMALL, "dataset": toy_csv, "epochs": 6, "cell": "gru"})
    run = train(config, tmp_path / "run", progress=False)
    for name in ("config.json", "vocab.json", "model.safetensors", "data-summary.json",
                 "baseline.json", "metrics.jsonl", "learning_curves.png", "report.md"):  # fmt: skip
        assert (tmp_path / "run" / name).is_file(), name
    assert not (tmp_path / "run" / "checkpoint.pt").exists()  # a finished run keeps its weights
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["model"]["encoder"]["cell"] == "gru" and saved["labels"] == ["neg", "pos"]
    result = run.evaluate("test")
    assert result.metrics["accuracy"] > 0.9, result.table
    assert (tmp_path / "run" / "confusion-test.png").is_file()
    assert "Evaluation on test" in (tmp_path / "run" / "report.md").read_text()


def test_a_loaded_run_predicts_like_the_trained_one(toy_csv: str, tmp_path: Path) -> None:
    config = resolve_config("classify", {**SMALL, "dataset": toy_csv, "epochs": 3})
    trained = train(config, tmp_path / "run", progress=False)
    loaded = Run.load(tmp_path / "run")
    texts = ["a brilliant and moving film", "the plot is dull and tedious"]
    got, expected = loaded.predict(texts), trained.predict(texts)
    assert [g["label"] for g in got] == ["pos", "neg"]
    for g, e in zip(got, expected, strict=True):
        assert g["probability"] == pytest.approx(e["probability"], abs=1e-6)


def test_a_folder_that_is_not_a_run_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match=r"is not an rnnkit run directory: config\.json"):
        Run.load(tmp_path)
    with pytest.raises(ValueError, match="does not exist"):
        Run.load(tmp_path / "nowhere")


def test_training_into_an_existing_run_needs_resume(toy_csv: str, tmp_path: Path) -> None:
    config = resolve_config("classify", {**SMALL, "dataset": toy_csv, "epochs": 1})
    train(config, tmp_path / "run", progress=False)
    before = (tmp_path / "run" / "model.safetensors").read_bytes()
    with pytest.raises(ValueError, match="already holds a run; use --resume"):
        train(config, tmp_path / "run", progress=False)
    assert (tmp_path / "run" / "model.safetensors").read_bytes() == before


def test_resume_continues_to_the_configured_epochs(toy_csv: str, tmp_path: Path) -> None:
    config = resolve_config("classify", {**SMALL, "dataset": toy_csv, "epochs": 2})
    train(config, tmp_path / "run", progress=False)
    more = resolve_config("classify", {**SMALL, "dataset": toy_csv, "epochs": 3})
    train(more, tmp_path / "run", resume=True, progress=False)
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2, 3]
    assert json.loads((tmp_path / "run" / "config.json").read_text())["trainer"]["epochs"] == 2


def test_predict_marks_an_empty_text(toy_csv: str, tmp_path: Path) -> None:
    run = train(
        resolve_config("classify", {**SMALL, "dataset": toy_csv, "epochs": 1}),
        tmp_path / "r",
        progress=False,
    )
    good, empty = run.predict(["good", "   "])  # one prediction per input, none aborts the call
    assert good["label"] in run.labels
    assert empty == {
        "text": "   ", "label": None, "probability": None, "probabilities": None,
        "note": "empty text: not labelled",
    }  # fmt: skip


def test_compare_trains_every_cell_and_records(toy_csv: str, tmp_path: Path) -> None:
    config = resolve_config("classify", {**SMALL, "dataset": toy_csv, "epochs": 1})
    rows = compare(config, ["rnn", "lstm", "gru"], tmp_path / "cmp", progress=False)
    assert [r["cell"] for r in rows] == ["rnn", "lstm", "gru", "tfidf"]  # the baseline's last
    assert all(0 <= r["test_accuracy"] <= 1 for r in rows)
    assert (tmp_path / "cmp" / "compare.png").is_file()
    assert json.loads((tmp_path / "cmp" / "compare.json").read_text()) == rows
    run = Run.load(tmp_path / "cmp" / "gru")
    result = run.evaluate("test")
    lines = record_quality(result, run, command="pytest", path=tmp_path / "quality.jsonl")
    assert [line["metric"] for line in lines] == ["accuracy", "macro_f1"]
    logged = (tmp_path / "quality.jsonl").read_text().splitlines()
    assert json.loads(logged[0])["value"] == pytest.approx(
        100 * result.metrics["accuracy"], abs=0.01
    )


@pytest.mark.parametrize(
    ("layer", "message"),
    [
        ({"hiden_size": 3}, "unknown key 'hiden_size'; valid keys: data.dataset"),
        ({"model": {"epochs": 3}}, "unknown key 'model.epochs'; valid keys in model: model.emb"),
        ({"epochs": "many"}, r"config.trainer.epochs: expected an integer, got 'many'"),
        ({"cell": "transformer"}, "cell must be one of rnn, lstm, gru"),
        ({"task": "tag"}, "task must be 'classify'"),
    ],
)
def test_config_errors_are_one_clear_line(layer: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        resolve_config("classify", layer)
    assert "\n" not in str(caught.value)


def test_config_layers_flat_and_sectioned() -> None:
    config = resolve_config(
        "classify", {"model": {"cell": "gru"}, "epochs": 3}, {"epochs": "5", "strip": "headers"}
    )
    assert config.model.encoder.cell == "gru"
    assert config.trainer.epochs == 5
    assert config.data.strip == ("headers",)


@pytest.mark.parametrize(
    "path",
    sorted((Path(__file__).parents[2] / "benchmarks" / "configs").glob("*.toml")),
    ids=lambda p: p.name,
)
def test_config_files_of_the_flat_keys_still_resolve(path: Path) -> None:
    """The recorded recipes were written before the encoder had its own section:
    ``[model] hidden_size`` finds ``model.encoder.hidden_size``."""
    from rnnkit.config import read_config_file

    raw = read_config_file(path)
    config = resolve_config("classify", raw, where=str(path))
    assert config.model.encoder.hidden_size == raw.get("model", {}).get("hidden_size", 128)
    assert config.model.encoder.cell == raw.get("model", {}).get("cell", "lstm")
