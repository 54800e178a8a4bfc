"""A run loaded or resumed after its files were damaged, swapped or moved: one line naming the file
and what is wrong with it, nothing unpickled; the data it trained on found from any folder, and
named when it has moved; a plain string predicted as one text."""

from __future__ import annotations

import csv
import json
import os
import pickle
import shutil
import warnings
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from rnnkit.cli.main import main
from rnnkit.pipelines.run import Run, train
from rnnkit.pipelines.runconfig import resolve
from rnnkit.training import Callback, Trainer

TINY = {"seq_len": 6, "train_size": 32, "val_size": 16, "test_size": 16, "hidden_size": 4}
SYNTHETIC = ["--seq-len", "6", "--train-size", "32", "--val-size", "16", "--test-size", "16"]
SMALL = {"embedding_dim": 8, "hidden_size": 8, "min_freq": 1, "batch_size": 8, "epochs": 1}
WORDS = {"pos": "a great and moving film", "neg": "a dull and tedious plot"}


def write_corpus(folder: Path) -> Path:
    """train.csv, val.csv and test.csv of two classes (24, 8 and 8 rows)."""
    folder.mkdir(parents=True)
    for split, n in (("train", 24), ("val", 8), ("test", 8)):
        with (folder / f"{split}.csv").open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["text", "label"])
            for i in range(n):
                label = "pos" if i % 2 else "neg"
                writer.writerow([f"{WORDS[label]} number {i}", label])
    return folder


class KillAtEpoch(Callback):
    """Stops the run as a kill would, when epoch ``epoch`` (0-based) starts: the earlier epochs'
    checkpoint is on disk."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_epoch_start(self, trainer: Trainer, epoch: int, num_batches: int) -> None:
        if epoch == self.epoch:
            raise KeyboardInterrupt


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.fixture(scope="module")
def classified(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("classify")
    data = write_corpus(root / "data")
    train(resolve("classify", {**SMALL, "dataset": f"csv:{data}"}), root / "run", progress=False)
    return root / "run"


@pytest.fixture(scope="module")
def killed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic run killed as its second epoch started: it holds checkpoint.pt."""
    out = tmp_path_factory.mktemp("killed") / "run"
    config = resolve("synthetic", {**TINY, "epochs": 2}, where="test")
    with pytest.raises(KeyboardInterrupt):
        train(config, out, progress=False, callbacks=[KillAtEpoch(1)])
    assert (out / "checkpoint.pt").is_file()
    return out


@pytest.fixture
def classified_copy(classified: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(classified, tmp_path / "run"))


@pytest.fixture
def killed_copy(killed: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(killed, tmp_path / "run"))


def resume(run: Path) -> int:
    return main(["train", "synthetic", "--resume", "--epochs", "2", "--no-progress", "--out",
                 str(run)])  # fmt: skip


# --- model.safetensors and vocab.json ----------------------------------------------------------


def test_weights_with_an_extra_tensor(classified_copy: Path) -> None:
    path = classified_copy / "model.safetensors"
    tensors = load_file(path)
    save_file({**tensors, "extra.weight": torch.zeros(3)}, path)
    with pytest.raises(ValueError, match=r"model\.safetensors: .*\(unexpected extra\.weight\)$"):
        Run.load(classified_copy)


def test_a_shortened_vocab_json(classified_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = classified_copy / "vocab.json"
    vocab = json.loads(path.read_text())
    size = len(vocab["itos"])
    vocab["itos"] = vocab["itos"][:-3]
    path.write_text(json.dumps(vocab))
    assert main(["predict", str(classified_copy), "a great film"]) == 1
    err = one_line_error(capsys)
    assert "model.safetensors: these weights do not fit the model its config.json and " in err
    assert f"embedding.weight ({size}, 8) (the model has ({size - 3}, 8))" in err


def test_a_vocab_json_that_is_not_one(
    classified_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (classified_copy / "vocab.json").write_text('{"itos": 5}')
    assert main(["predict", str(classified_copy), "a great film"]) == 1
    assert "vocab.json: field 'format' must be 'rnnkit.vocab'" in one_line_error(capsys)


# --- checkpoint.pt on --resume -----------------------------------------------------------------


@pytest.mark.parametrize("cut", ["to-100-bytes", "in-half", "by-one-byte"])
def test_a_truncated_checkpoint_says_so(
    killed_copy: Path, cut: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Cut anywhere: never torch's bare "[Errno 22] Invalid argument"."""
    path = killed_copy / "checkpoint.pt"
    whole = path.read_bytes()
    size = {"to-100-bytes": 100, "in-half": len(whole) // 2, "by-one-byte": len(whole) - 1}[cut]
    path.write_bytes(whole[:size])
    assert resume(killed_copy) == 1
    err = one_line_error(capsys)
    truncated = f"(truncated, or not a file torch.save wrote ({size:,} bytes))"
    assert f"checkpoint.pt: not a readable rnnkit checkpoint {truncated}" in err
    assert "Errno" not in err


def other_models_checkpoint() -> dict[str, object]:
    return {"train_state": {}, "model": torch.nn.Linear(2, 2).state_dict(), "optimizer": {}}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (lambda: torch.nn.Linear(2, 2).state_dict(), "not an rnnkit checkpoint (no training state"),
        (other_models_checkpoint, "this checkpoint does not fit the run's model and trainer"),
    ],
    ids=["a-state-dict", "another-models-checkpoint"],
)
def test_a_foreign_checkpoint(
    killed_copy: Path, content: object, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    torch.save(content(), killed_copy / "checkpoint.pt")  # type: ignore[operator]
    assert resume(killed_copy) == 1
    assert f"checkpoint.pt: {message}" in one_line_error(capsys)


class Planted:
    """What a malicious checkpoint holds: unpickling it would make a folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.mkdir, (str(self.folder),)


@pytest.mark.parametrize("layout", ["pickle", "torch.save"])
def test_a_checkpoint_holding_code_is_never_run(
    killed_copy: Path, tmp_path: Path, layout: str, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = tmp_path / "ran"
    path = killed_copy / "checkpoint.pt"
    if layout == "pickle":
        path.write_bytes(pickle.dumps(Planted(marker), protocol=2))
    else:
        torch.save({"train_state": {}, "model": Planted(marker), "optimizer": {}}, path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch's own warning about the pickle is not shown either
        assert resume(killed_copy) == 1
    err = one_line_error(capsys)
    assert not marker.exists()
    assert f"Python objects ({os.mkdir.__module__}.mkdir)" in err and "never unpickles" in err
    assert "weights_only" not in err  # torch's advice to unpickle it is not passed on


# --- the data a run was trained on; predicting -------------------------------------------------


def test_a_relative_data_path_is_found_from_anywhere_and_named_when_moved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "project"
    data = write_corpus(project / "data")
    monkeypatch.chdir(project)
    train(resolve("classify", {**SMALL, "dataset": "csv:data"}), "runs/r", progress=False)
    run = project / "runs" / "r"
    assert json.loads((run / "config.json").read_text())["data"]["dataset"] == f"csv:{data}"
    monkeypatch.chdir(tmp_path)  # another working folder
    assert Run.load(run).evaluate("test").examples == 8
    data.rename(project / "moved")
    assert main(["evaluate", str(run), "--split", "test"]) == 1
    err = one_line_error(capsys)
    assert str(data) in err and "moved" in err, err


def test_a_plain_string_is_one_text(classified: Path) -> None:
    run = Run.load(classified)
    (prediction,) = run.predict("a great film")  # type: ignore[arg-type]
    assert prediction["text"] == "a great film"
    assert prediction == run.predict(["a great film"])[0]
