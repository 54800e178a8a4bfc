"""Every file of a run directory is checked on load: a damaged one is one line naming it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rnnkit.cli.main import main
from rnnkit.pipelines.run import Run, train
from rnnkit.pipelines.runconfig import resolve

TINY = {"seq_len": 6, "train_size": 32, "val_size": 16, "test_size": 16, "hidden_size": 4}


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "run"
    config = resolve("synthetic", {**TINY, "epochs": 1, "keep_checkpoint": True}, where="test")
    train(config, out, progress=False)
    return out


@pytest.fixture
def run_copy(finished: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(finished, tmp_path / "run"))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: p.write_bytes(b""), r"model\.safetensors: not a readable safetensors file"),
        (lambda p: p.write_bytes(p.read_bytes()[:40]), r"not a readable safetensors file"),
        (lambda p: p.write_bytes(b"garbage" * 50), r"not a readable safetensors file"),
    ],
)
def test_damaged_weights(run_copy: Path, damage: object, message: str) -> None:
    damage(run_copy / "model.safetensors")  # type: ignore[operator]
    with pytest.raises(ValueError, match=message):
        Run.load(run_copy)


def test_weights_of_another_shape(run_copy: Path) -> None:
    saved = json.loads((run_copy / "config.json").read_text())
    saved["model"]["encoder"]["hidden_size"] = 5  # edited after training
    (run_copy / "config.json").write_text(json.dumps(saved))
    with pytest.raises(ValueError, match=r"do not fit the model .*other shapes: .*\(the model has"):
        Run.load(run_copy)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", r"checkpoint\.pt: not a readable rnnkit checkpoint"),
        (b"\x80\x02garbage", r"not a readable rnnkit checkpoint"),
    ],
)
def test_damaged_checkpoint_on_resume(run_copy: Path, content: bytes, message: str) -> None:
    (run_copy / "checkpoint.pt").write_bytes(content)
    config = resolve("synthetic", {**TINY, "epochs": 2}, where="test")
    with pytest.raises(ValueError, match=message):
        train(config, run_copy, resume=True, progress=False)


def test_truncated_checkpoint_on_resume(run_copy: Path) -> None:
    path = run_copy / "checkpoint.pt"
    path.write_bytes(path.read_bytes()[:100])
    config = resolve("synthetic", {**TINY, "epochs": 2}, where="test")
    with pytest.raises(ValueError, match=r"checkpoint\.pt: not a readable rnnkit checkpoint"):
        train(config, run_copy, resume=True, progress=False)


def test_config_json_not_utf8_or_without_labels(run_copy: Path) -> None:
    path = run_copy / "config.json"
    saved = json.loads(path.read_text())
    del saved["labels"]
    path.write_text(json.dumps(saved))
    with pytest.raises(ValueError, match=r"config\.json: no list of labels"):
        Run.load(run_copy)
    path.write_bytes(b"\xff\xfe{")
    with pytest.raises(ValueError, match=r"config\.json is not UTF-8"):
        Run.load(run_copy)


def test_an_unknown_device_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flags = ["--seq-len", "6", "--train-size", "32", "--val-size", "16", "--test-size", "16"]
    code = main(["train", "synthetic", *flags, "--device", "foo", "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 1 and "device must be auto, cpu, cuda or cuda:N, got 'foo'" in err
    assert not (tmp_path / "r").exists()
