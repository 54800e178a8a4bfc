"""Class imbalance in classification: ``model.class_weight`` (balanced or a mapping) in the
training loss only, saved with the run and reused on resume; and ``--monitor macro_f1``."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn

import rnnkit.tasks.classify as classify
from rnnkit.cli.main import main
from rnnkit.config import read_config_file
from rnnkit.pipelines.run import Run, train
from rnnkit.pipelines.runconfig import resolve, to_dict
from rnnkit.tasks.base import get_task
from rnnkit.tasks.classify import (
    ClassifierConfig,
    TextBatch,
    TextClassifier,
    class_weights,
    parse_class_weight,
)
from rnnkit.tasks.encoder import EncoderConfig
from rnnkit.training import Callback, Trainer

SMALL = {"embedding_dim": 8, "hidden_size": 8, "min_freq": 1, "batch_size": 8}


def write_split(path: Path, rows: Iterable[tuple[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows(rows)


@pytest.fixture
def imbalanced(tmp_path: Path) -> str:
    """``csv:DIR``: train 30 neg / 10 pos, val and test 6 / 2."""
    folder = tmp_path / "data"
    folder.mkdir()

    def rows(n: int) -> list[tuple[str, str]]:
        return [(f"good fine {i}", "pos") if i % 4 == 0 else (f"bad poor {i}", "neg")
                for i in range(n)]  # fmt: skip

    write_split(folder / "train.csv", rows(40))
    write_split(folder / "val.csv", rows(8))
    write_split(folder / "test.csv", rows(8))
    return f"csv:{folder}"


# -- the weights -------------------------------------------------------------------------------


def test_balanced_is_n_samples_over_classes_times_count() -> None:
    train = ["a", "a", "a", "b", "c", "c"]  # n 6, 3 classes
    assert class_weights("balanced", ["a", "b", "c"], train) == pytest.approx(
        [6 / (3 * 3), 6 / (3 * 1), 6 / (3 * 2)]
    )
    # a label with no training text: 1 (it meets no loss term); n_classes counts present ones
    assert class_weights("balanced", ["a", "b", "z"], ["a", "a", "b"]) == pytest.approx(
        [3 / (2 * 2), 3 / (2 * 1), 1.0]
    )


def test_balanced_matches_scikit_learn() -> None:
    utils = pytest.importorskip("sklearn.utils")
    train = ["x", "y", "y", "z", "z", "z", "z"]
    classes = np.array(["x", "y", "z"])
    expected = utils.compute_class_weight("balanced", classes=classes, y=np.array(train))
    assert class_weights("balanced", ["x", "y", "z"], train) == pytest.approx(list(expected))


def test_a_mapping_names_some_labels_and_the_rest_weigh_one() -> None:
    assert class_weights({"pos": 2.0}, ["neg", "pos"], ["neg"]) == [1.0, 2.0]


def test_an_unknown_label_is_one_line_listing_the_labels() -> None:
    with pytest.raises(ValueError) as error:
        class_weights({"pos": 2.0, "neutral": 1.0}, ["neg", "pos"], ["neg", "pos"])
    assert str(error.value) == (
        "model.class_weight: unknown label 'neutral'; the labels are: neg, pos"
    )


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        (None, None),
        ("balanced", "balanced"),
        (" Balanced ", "balanced"),
        ("pos=2,neg=1", {"pos": 2.0, "neg": 1.0}),
        ("pos = 2.5 , neg=0.5", {"pos": 2.5, "neg": 0.5}),
        ({"pos": 2, "neg": 1.0}, {"pos": 2.0, "neg": 1.0}),
        ({1: "3"}, {"1": 3.0}),  # YAML's numeric label keys are labels as text
        ("a=b=2", {"a=b": 2.0}),  # the last = splits
    ],
)
def test_the_setting_is_stored_in_one_form(given: object, stored: object) -> None:
    assert parse_class_weight(given) == stored
    assert ClassifierConfig(class_weight=given).class_weight == stored  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("given", "fragment"),
    [
        ("pos:2", "expected balanced or label=weight"),
        ("pos=", "expected balanced or label=weight"),
        ("pos=x", "the weight of 'pos' must be a number > 0, got x"),
        ("pos=-1", "must be a number > 0"),
        ("pos=0", "must be a number > 0"),
        ("pos=inf", "must be a number > 0"),
        ("pos=1,pos=2", "label 'pos' is given twice"),
        ({"pos": True}, "must be a number > 0"),
        ({}, "empty mapping"),
        (3, "expected balanced or a mapping"),
    ],
)
def test_a_bad_setting_is_one_clear_error(given: object, fragment: str) -> None:
    with pytest.raises(ValueError, match=r"^classify: class_weight: ") as error:
        parse_class_weight(given)
    assert fragment in str(error.value)


def test_config_file_flag_and_config_json_agree(tmp_path: Path) -> None:
    toml = tmp_path / "run.toml"
    toml.write_text("[model]\nclass_weight = {pos = 2.0, neg = 1.0}\n")
    from_file = resolve("classify", read_config_file(toml))
    from_flag = resolve("classify", {"class_weight": "pos=2,neg=1"})
    assert from_file.model.class_weight == from_flag.model.class_weight == {"pos": 2, "neg": 1}
    saved = json.loads(json.dumps(to_dict(get_task("classify"), from_file)))
    assert saved["model"]["class_weight"] == {"pos": 2.0, "neg": 1.0}
    assert resolve("classify", saved) == from_file
    yaml_file = tmp_path / "run.yaml"
    yaml_file.write_text("model:\n  class_weight: balanced\n")
    assert resolve("classify", read_config_file(yaml_file)).model.class_weight == "balanced"


# -- the loss ----------------------------------------------------------------------------------


def test_the_weighted_loss_is_torchs_and_validation_stays_unweighted() -> None:
    torch.manual_seed(0)
    config = ClassifierConfig(
        embedding_dim=8, encoder=EncoderConfig(cell="gru", hidden_size=6), class_weight="balanced"
    )
    model = TextClassifier(config, vocab_size=30, labels=["a", "b", "c"]).eval()
    assert model.class_weight is not None
    weights = torch.tensor([0.5, 3.0, 1.25])
    model.class_weight.copy_(weights)
    labels = torch.tensor([0, 1, 1, 2, 0, 0, 2])
    batch = TextBatch(torch.randint(2, 30, (7, 5)), torch.full((7,), 5), labels)
    with torch.no_grad():
        logits = model.logits(batch)
    expected = nn.CrossEntropyLoss(weight=weights)(logits, labels)
    torch.testing.assert_close(model.forward_loss(batch), expected)
    assert not torch.allclose(expected, F.cross_entropy(logits, labels))  # the weights matter
    assert model.evaluate([batch])["loss"] == pytest.approx(float(F.cross_entropy(logits, labels)))


def test_without_the_setting_the_model_has_no_weight_buffer() -> None:
    model = TextClassifier(ClassifierConfig(embedding_dim=8), vocab_size=10, labels=["a", "b"])
    assert model.class_weight is None and "class_weight" not in model.state_dict()


# -- a run -------------------------------------------------------------------------------------


class KillAtEpoch(Callback):
    """Raises KeyboardInterrupt at the first step of ``epoch`` (0-based): a killed run."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_batch_end(self, trainer: Trainer, loss: float) -> None:
        if trainer.state.epoch == self.epoch:
            raise KeyboardInterrupt


@pytest.mark.parametrize("how", ["finished", "killed"])
def test_weights_come_from_train_are_saved_and_reused_on_resume(
    how: str, imbalanced: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    out = tmp_path / "run"
    settings = {**SMALL, "dataset": imbalanced, "class_weight": "balanced"}
    expected = torch.tensor([40 / (2 * 30), 40 / (2 * 10)])  # labels neg, pos
    if how == "finished":
        run = train(resolve("classify", {**settings, "epochs": 1}), out, progress=False)
        assert run.labels == ["neg", "pos"]
        torch.testing.assert_close(load_file(str(out / "model.safetensors"))["class_weight"],
                                   expected)  # fmt: skip
        loaded = Run.load(out)
        assert loaded.model.class_weight is not None
        torch.testing.assert_close(loaded.model.class_weight, expected)
    else:
        with pytest.raises(KeyboardInterrupt):
            train(resolve("classify", {**settings, "epochs": 2}), out, progress=False,
                  callbacks=[KillAtEpoch(1)])  # fmt: skip
        checkpoint = torch.load(out / "checkpoint.pt", weights_only=True)
        torch.testing.assert_close(checkpoint["model"]["class_weight"], expected)
    assert "class weights in the training loss: neg 0.667, pos 2" in capsys.readouterr().err

    def not_again(*args: Any) -> list[float]:
        raise AssertionError("a resumed run computed its class weights again")

    monkeypatch.setattr(classify, "class_weights", not_again)
    resumed = train(resolve("classify", {**settings, "epochs": 2}), out, resume=True,
                    progress=False)  # fmt: skip
    assert len(resumed.history()) == 2
    assert resumed.model.class_weight is not None
    torch.testing.assert_close(resumed.model.class_weight.cpu(), expected)
    torch.testing.assert_close(load_file(str(out / "model.safetensors"))["class_weight"], expected)


def test_an_unknown_label_on_the_command_line_writes_nothing(
    imbalanced: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    argv = ["train", "classify", "--dataset", imbalanced, "--out", str(out), "--epochs", "1"]
    assert main([*argv, "--class-weight", "pos=2,neutral=1", "--no-progress"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == (
        "rnnkit train: error: model.class_weight: unknown label 'neutral'; the labels are: neg, pos"
    )
    assert not out.exists()


# -- the macro-F1 monitor ----------------------------------------------------------------------


def test_monitor_macro_f1_keeps_the_epoch_with_the_best_val_macro_f1(
    imbalanced: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # accuracy peaks at epoch 2, the loss is lowest at epoch 1, macro-F1 peaks at epoch 3; the
    # first call is the run's check, before training, that the monitored metric exists
    script = [
        {"loss": 9.0, "accuracy": 0.0, "macro_f1": 0.0},
        {"loss": 0.1, "accuracy": 0.90, "macro_f1": 0.30},
        {"loss": 0.3, "accuracy": 0.95, "macro_f1": 0.50},
        {"loss": 0.5, "accuracy": 0.80, "macro_f1": 0.70},
        {"loss": 0.2, "accuracy": 0.85, "macro_f1": 0.60},
    ]
    snapshots: list[torch.Tensor] = []

    def scripted(self: TextClassifier, batches: Iterable[TextBatch]) -> dict[str, float]:
        snapshots.append(self.output.weight.detach().clone())
        return script[len(snapshots) - 1]

    monkeypatch.setattr(TextClassifier, "evaluate", scripted)
    config = resolve("classify", {**SMALL, "dataset": imbalanced, "epochs": 4, "lr": 0.05,
                                  "monitor": "macro_f1"})  # fmt: skip
    run = train(config, tmp_path / "run", progress=False)
    assert run.fit is not None and len(snapshots) == 5
    epochs = snapshots[1:]  # the weights each epoch's validation saw
    assert (run.fit.monitor, run.fit.mode, run.fit.best_epoch) == ("macro_f1", "max", 3)
    assert run.fit.best == pytest.approx(0.70)
    assert not torch.equal(epochs[2], epochs[3])  # the epochs' weights differ
    torch.testing.assert_close(run.model.output.weight.detach().cpu(), epochs[2].cpu())
    assert Run.load(tmp_path / "run").kept_epoch() == 3


def test_monitor_macro_f1_on_the_command_line(
    imbalanced: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    argv = ["train", "classify", "--dataset", imbalanced, "--out", str(out), "--epochs", "3"]
    flags = ["--embedding-dim", "8", "--hidden-size", "8", "--min-freq", "1", "--lr", "0.05"]
    assert main([*argv, *flags, "--monitor", "macro_f1", "--class-weight", "balanced",
                 "--no-progress", "--json"]) == 0  # fmt: skip
    trained = json.loads(capsys.readouterr().out)
    history = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    scores = [h["val_macro_f1"] for h in history]
    assert trained["monitor"] == "macro_f1"
    assert trained["best_epoch"] == scores.index(max(scores)) + 1
    assert trained["val_macro_f1"] == pytest.approx(max(scores))
