"""Every registered task × every cell variant through the CLI on a tiny slice: train one epoch,
evaluate, predict — the smoke matrix that grows with each task."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest

from rnnkit.cli.main import main
from rnnkit.tasks.base import available_tasks

CELL_FLAGS = {
    "rnn": ["--cell", "rnn"],
    "lstm": ["--cell", "lstm"],
    "lstm-peephole": ["--cell", "lstm", "--peephole"],
    "gru": ["--cell", "gru"],
    "gru-reset-before": ["--cell", "gru", "--no-reset-after"],
}


def write_classify(folder: Path) -> str:
    folder.mkdir()
    for name, n in (("train", 40), ("test", 10)):
        with (folder / f"{name}.csv").open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["text", "label"])
            for i in range(n):
                writer.writerow(["good fine great" if i % 2 else "bad poor awful", f"c{i % 2}"])
    return f"csv:{folder}"


def write_tag(folder: Path) -> str:
    folder.mkdir()
    rng = random.Random(0)
    names, places = ["Anna", "Bob", "Carl"], ["Paris", "Rome"]
    for name, n in (("train", 30), ("val", 8), ("test", 8)):
        lines = []
        for _ in range(n):
            first, last = rng.choice(names), rng.choice(names)
            lines += [f"{first} B-PER", f"{last} I-PER", "visited O", f"{rng.choice(places)} B-LOC"]
            lines += [". O", ""]
        (folder / f"{name}.txt").write_text("\n".join(lines), encoding="utf-8")
    return f"columns:{folder}"


def write_text(folder: Path) -> str:
    folder.mkdir()
    rng = random.Random(0)
    words = ["the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran"]
    for name, n in (("train", 60), ("valid", 12), ("test", 12)):
        lines = [" ".join(rng.choice(words) for _ in range(rng.randint(3, 8))) for _ in range(n)]
        (folder / f"{name}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return f"text:{folder}"


def task_arguments(task: str, tmp_path: Path) -> tuple[list[str], list[str]]:
    """(training flags, predict inputs) of a tiny run of ``task`` (``lm-char``: the lm task
    on characters)."""
    if task == "classify":
        data = write_classify(tmp_path / "texts")
        flags = ["--dataset", data, "--embedding-dim", "8", "--min-freq", "1"]
        return flags, ["good great", "awful"]
    if task == "tag":
        data = write_tag(tmp_path / "columns")
        flags = ["--dataset", data, "--word-dim", "8", "--char-dim", "4", "--char-hidden", "4"]
        return flags, ["Anna Bob visited Rome ."]
    if task == "synthetic":
        sizes = ["--seq-len", "6", "--train-size", "32", "--val-size", "16", "--test-size", "16"]
        return sizes, ["0.5:1 0.2:0 0.3:1 0.1:0"]
    if task in ("lm", "lm-char"):
        level = "char" if task == "lm-char" else "word"
        data = write_text(tmp_path / "text")
        flags = ["--dataset", data, "--level", level, "--embedding-dim", "8", "--bptt", "6",
                 "--batch-size", "4", "--eval-batch-size", "2", "--no-bidirectional"]  # fmt: skip
        return flags, ["the cat"]
    raise AssertionError(f"the smoke matrix has no tiny slice for the task {task!r}; add one")


def test_the_matrix_covers_every_registered_task() -> None:
    assert {t.name for t in available_tasks()} == {"classify", "lm", "synthetic", "tag"}


@pytest.mark.parametrize("cell", sorted(CELL_FLAGS))
@pytest.mark.parametrize("slice_", ["classify", "synthetic", "tag", "lm", "lm-char"])
def test_train_evaluate_predict(
    slice_: str, cell: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flags, inputs = task_arguments(slice_, tmp_path)
    task = slice_.partition("-")[0]
    out = tmp_path / "run"
    common = ["--hidden-size", "8", "--epochs", "1", "--no-progress", "--json", "--threads", "1"]
    assert main(["train", task, *flags, *CELL_FLAGS[cell], *common, "--out", str(out)]) == 0
    trained = json.loads(capsys.readouterr().out)
    assert trained["task"] == task and trained["epochs"] == 1 and trained["best_epoch"] == 1
    saved = json.loads((out / "config.json").read_text())
    assert saved["task"] == task and saved["model"]["encoder"]["cell"] == CELL_FLAGS[cell][1]
    assert main(["evaluate", str(out), "--split", "test", "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert evaluated["task"] == task and evaluated["main"] in evaluated
    assert (out / "eval-test.json").is_file() and (out / "report.md").is_file()
    assert main(["predict", str(out), *inputs, "--json"]) == 0
    predictions = json.loads(capsys.readouterr().out)["predictions"]
    assert [p["text"] for p in predictions] == inputs
