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


def write_pairs(folder: Path) -> str:
    folder.mkdir()
    rng = random.Random(0)
    words = ["a", "b", "c", "d", "e"]
    lines = []
    for _ in range(60):
        source = [rng.choice(words) for _ in range(rng.randint(1, 5))]
        lines.append(" ".join(source) + "\t" + " ".join(w.upper() for w in reversed(source)))
    (folder / "pairs.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return f"pairs:{folder / 'pairs.tsv'}"


def cell_flags(task: str, cell: str) -> list[str]:
    """The cell variant's flags: seq2seq has two stacks (encoder and decoder), set alike."""
    if task != "seq2seq":
        return CELL_FLAGS[cell]

    def scoped(flag: str, stack: str) -> str:
        if flag.startswith("--no-"):
            return f"--no-model.{stack}.{flag[5:]}"
        return f"--model.{stack}.{flag[2:]}" if flag.startswith("--") else flag

    return [scoped(flag, stack) for stack in ("encoder", "decoder") for flag in CELL_FLAGS[cell]]


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
    if task == "seq2seq":
        data = write_pairs(tmp_path / "pairs")
        flags = ["--dataset", data, "--embedding-dim", "8", "--min-freq", "1", "--batch-size",
                 "8", "--model.decoder.hidden-size", "8", "--model.encoder.hidden-size", "8",
                 "--beam", "2"]  # fmt: skip
        return flags, ["a b c"]
    raise AssertionError(f"the smoke matrix has no tiny slice for the task {task!r}; add one")


def test_the_matrix_covers_every_registered_task() -> None:
    assert {t.name for t in available_tasks()} == {"classify", "lm", "seq2seq", "synthetic", "tag"}


@pytest.mark.parametrize("cell", sorted(CELL_FLAGS))
@pytest.mark.parametrize("slice_", ["classify", "synthetic", "tag", "lm", "lm-char", "seq2seq"])
def test_train_evaluate_predict(
    slice_: str, cell: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flags, inputs = task_arguments(slice_, tmp_path)
    task = slice_.partition("-")[0]
    out = tmp_path / "run"
    common = ["--epochs", "1", "--no-progress", "--json", "--threads", "1"]
    common += [] if task == "seq2seq" else ["--hidden-size", "8"]  # seq2seq: one per stack
    assert main(["train", task, *flags, *cell_flags(task, cell), *common, "--out", str(out)]) == 0
    trained = json.loads(capsys.readouterr().out)
    assert trained["task"] == task and trained["epochs"] == 1 and trained["best_epoch"] == 1
    saved = json.loads((out / "config.json").read_text())
    assert saved["task"] == task and saved["model"]["encoder"]["cell"] == CELL_FLAGS[cell][1]
    if task == "seq2seq":  # the decoder is the same cell variant
        encoder, decoder = saved["model"]["encoder"], saved["model"]["decoder"]
        for key in ("cell", "peephole", "reset_after"):
            assert decoder[key] == encoder[key], key
    assert main(["evaluate", str(out), "--split", "test", "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert evaluated["task"] == task and evaluated["main"] in evaluated
    assert (out / "eval-test.json").is_file() and (out / "report.md").is_file()
    assert main(["predict", str(out), *inputs, "--json"]) == 0
    predictions = json.loads(capsys.readouterr().out)["predictions"]
    assert [p["text"] for p in predictions] == inputs
