"""Language-model pretraining inside a classification run: trained, saved, resumable."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from rnnkit.pipelines.run import Run, train
from rnnkit.pipelines.runconfig import resolve as resolve_config
from rnnkit.tasks.pretrain import segments
from rnnkit.tasks.text_data import EncodedSplit

SMALL = {"embedding_dim": 16, "hidden_size": 16, "min_freq": 1, "lr": 1e-2, "batch_size": 16}
PRETRAIN = {"pretrain": {"lm_epochs": 2, "lm_len": 5, "lm_batch_size": 16, "lm_lr": 1e-2}}


def test_segments_cut_texts_and_drop_single_tokens() -> None:
    split = EncodedSplit([[1, 2, 3, 4, 5, 6, 7], [8], [9, 10]], [0, 1, 0])
    assert segments(split, 3).ids == [[1, 2, 3], [4, 5, 6], [9, 10]]


def test_pretraining_runs_first_and_lowers_the_lm_loss(toy_csv: str, tmp_path: Path) -> None:
    config = resolve_config(
        "classify", {**SMALL, "dataset": toy_csv, "epochs": 2, "cell": "gru"}, PRETRAIN
    )
    run = train(config, tmp_path / "run", progress=False)
    lines = (tmp_path / "run" / "pretrain" / "metrics.jsonl").read_text().splitlines()
    history = [json.loads(line) for line in lines]
    assert [h["epoch"] for h in history] == [1, 2]
    assert history[1]["val_loss"] < history[0]["val_loss"]
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["pretrain"]["lm_epochs"] == 2
    assert Run.load(tmp_path / "run").config.pretrain.lm_len == 5
    assert run.evaluate("test").metrics["accuracy"] > 0.8


def test_a_run_killed_after_pretraining_resumes_to_the_same_weights(
    toy_csv: str, tmp_path: Path
) -> None:
    config = resolve_config(
        "classify", {**SMALL, "dataset": toy_csv, "epochs": 2, "cell": "lstm"}, PRETRAIN
    )
    whole = train(config, tmp_path / "whole", progress=False)
    killed = replace(config, run=replace(config.run, keep_checkpoint=True))  # as a killed run
    train(killed, tmp_path / "cut", progress=False)
    for name in ("checkpoint.pt", "model.safetensors", "metrics.jsonl"):
        (tmp_path / "cut" / name).unlink()  # as if killed before the classifier's first epoch
    with pytest.raises(ValueError, match="already holds a run; use --resume"):
        train(config, tmp_path / "cut", progress=False)
    resumed = train(config, tmp_path / "cut", resume=True, progress=False)
    for name, value in whole.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[name], value, rtol=0, atol=0)


def test_the_language_model_is_saved_in_its_own_folder(toy_csv: str, tmp_path: Path) -> None:
    config = resolve_config(
        "classify", {**SMALL, "dataset": toy_csv, "epochs": 1, "cell": "gru"}, PRETRAIN
    )
    train(config, tmp_path / "run", progress=False)
    saved = load_file(tmp_path / "run" / "pretrain" / "model.safetensors")
    assert {"embedding.weight", "recurrent.weight_hh_l0", "recurrent.weight_hh_l0_reverse"} <= set(
        saved
    )
    assert any(name.startswith("softmax.") for name in saved)


def test_without_a_validation_split_both_stages_keep_their_last_epoch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from rnnkit.cli.main import main

    folder = tmp_path / "data"
    folder.mkdir()
    labels = ["neg", "pos"] * 20
    rows = "text,label\n" + "".join(f"word{i % 7} film {x},{x}\n" for i, x in enumerate(labels))
    (folder / "train.csv").write_text(rows)
    (folder / "test.csv").write_text(rows)
    args = ["train", "classify", "--dataset", f"csv:{folder}", "--val-fraction", "0",
            "--epochs", "2", "--lm-epochs", "1", "--lm-len", "3", "--embedding-dim", "8",
            "--hidden-size", "8", "--min-freq", "1", "--no-progress",
            "--out", str(tmp_path / "r")]  # fmt: skip
    assert main(args) == 0
    assert "no validation split: the last epoch's weights are kept" in capsys.readouterr().out
    history = [json.loads(x) for x in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    assert [h["epoch"] for h in history] == [1, 2] and "val_accuracy" not in history[0]
    assert (tmp_path / "r" / "pretrain" / "model.safetensors").is_file()


def test_a_run_can_start_from_another_runs_pretrained_encoder(toy_csv: str, tmp_path: Path) -> None:
    source = {**SMALL, "dataset": toy_csv, "epochs": 1, "cell": "gru"}
    train(resolve_config("classify", source, PRETRAIN), tmp_path / "lm", progress=False)
    tuned = {**source, "lr": 1e-12, "pretrain": {"lm_from": str(tmp_path / "lm")}}
    run = train(resolve_config("classify", tuned), tmp_path / "tuned", progress=False)
    lm = load_file(tmp_path / "lm" / "pretrain" / "model.safetensors")
    got = run.model.state_dict()
    for name in ("embedding.weight", "recurrent.weight_hh_l0", "recurrent.bias_ih_l0_reverse"):
        torch.testing.assert_close(got[name], lm[name], atol=1e-6, rtol=0)
    assert (tmp_path / "tuned" / "vocab.json").read_text() == (
        tmp_path / "lm" / "vocab.json"
    ).read_text()


def test_lm_from_errors_are_one_clear_line(toy_csv: str, tmp_path: Path) -> None:
    source = {**SMALL, "dataset": toy_csv, "epochs": 1, "cell": "gru"}
    train(resolve_config("classify", source), tmp_path / "plain", progress=False)
    with pytest.raises(ValueError, match="lm_epochs must be 0"):
        resolve_config("classify", {"pretrain": {"lm_from": "x", "lm_epochs": 1}})
    with pytest.raises(ValueError, match=r"pretrain/model\.safetensors is missing"):
        config = resolve_config("classify", {**source, "lm_from": str(tmp_path / "plain")})
        train(config, tmp_path / "a", progress=False)
    train(resolve_config("classify", source, PRETRAIN), tmp_path / "lm", progress=False)
    wider = {**source, "hidden_size": 24, "lm_from": str(tmp_path / "lm")}
    with pytest.raises(ValueError, match="does not fit this model's shape") as caught:
        train(resolve_config("classify", wider), tmp_path / "b", progress=False)
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()  # nothing half-written


def test_an_encoder_that_cannot_be_pretrained_is_refused_before_anything_is_written(
    toy_csv: str, tmp_path: Path
) -> None:
    stacked = {**SMALL, "dataset": toy_csv, "num_layers": 2, "bidirectional": True}
    with pytest.raises(ValueError, match="bidirectional encoder must have 1 layer"):
        train(resolve_config("classify", stacked, PRETRAIN), tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()
