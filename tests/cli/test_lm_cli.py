"""``rnnkit train lm`` / ``generate`` / ``predict`` / ``evaluate`` / ``datasets`` through the CLI,
on one tiny run of the user's own text: generation is reproducible and streams the prompt's
continuation; every bad setting is one clear line on stderr and a non-zero exit."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

import rnnkit.cli.main as cli_main
from rnnkit.cli.main import build_parser, main

WORDS = ["the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "to"]
TINY = ["--embedding-dim", "8", "--hidden-size", "8", "--epochs", "1", "--bptt", "6",
        "--batch-size", "4", "--eval-batch-size", "2", "--no-progress",
        "--threads", "1"]  # fmt: skip


def write_text(folder: Path) -> str:
    folder.mkdir(parents=True)
    rng = random.Random(0)
    for name, n in (("train", 60), ("valid", 12), ("test", 12)):
        lines = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 8))) for _ in range(n)]
        (folder / f"{name}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return f"text:{folder}"


def assert_one_line_error(capsys: pytest.CaptureFixture[str], *fragments: str) -> str:
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert err and err.count("\n") == 0, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, err
    return err


@pytest.fixture(scope="module", autouse=True)
def one_parser() -> Iterator[None]:
    """The ``rnnkit`` parser built once for this module: building it reads the source of every
    config class again for each flag's help (``config.field_help``), seconds per ``main()`` call
    on a busy machine; every call here still parses its own argv with it."""
    parser = build_parser()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cli_main, "build_parser", lambda: parser)
        yield


@pytest.fixture(scope="module")
def lm_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("lm-cli")
    out = root / "run"
    threads = torch.get_num_threads()
    try:  # --threads sets torch's threads for the process: give them back after
        assert main(["train", "lm", "--dataset", write_text(root / "text"), *TINY,
                     "--out", str(out)]) == 0  # fmt: skip
    finally:
        torch.set_num_threads(threads)
    yield out


@pytest.fixture(scope="module")
def classify_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("classify-cli")
    folder = root / "texts"
    folder.mkdir()
    rows = "text,label\n" + "good film,pos\nbad film,neg\n" * 10
    (folder / "train.csv").write_text(rows)
    (folder / "test.csv").write_text(rows)
    out = root / "cls"
    threads = torch.get_num_threads()
    try:
        argv = ["train", "classify", "--dataset", f"csv:{folder}", "--out", str(out)]
        assert main([*argv, "--epochs", "1", "--min-freq", "1", "--embedding-dim", "8",
                     "--hidden-size", "8", "--no-progress", "--threads", "1"]) == 0  # fmt: skip
    finally:
        torch.set_num_threads(threads)
    yield out


def generate(run: Path, *extra: str) -> int:
    return main(["generate", str(run), "--prompt", "the cat", "--tokens", "5", *extra])


def test_the_lm_run_is_a_word_model_read_left_to_right(lm_run: Path) -> None:
    saved = json.loads((lm_run / "config.json").read_text())
    assert saved["task"] == "lm"
    assert saved["model"]["encoder"]["bidirectional"] is False  # the lm's own default
    assert saved["model"]["encoder"]["hidden_size"] == 8
    assert (lm_run / "model.safetensors").is_file() and (lm_run / "vocab.json").is_file()


def test_generate_prints_the_prompt_and_its_continuation_the_same_twice(
    lm_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert generate(lm_run, "--seed", "0") == 0
    first = capsys.readouterr().out
    assert generate(lm_run, "--seed", "0") == 0
    assert capsys.readouterr().out == first
    assert first.startswith("the cat") and first.endswith("\n")
    continuation = first[len("the cat") : -1]  # the command ends its text with a line end
    assert continuation.strip(), first
    # five tokens: each word after a space (or at a line's start), each <eos> a line end
    words = continuation.split()
    assert len(words) + continuation.count("\n") == 5, continuation
    assert continuation[0] in " \n"


def test_another_seed_gives_another_text(lm_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    texts = set()
    for seed in ("0", "1", "2"):
        assert main(["generate", str(lm_run), "--tokens", "20", "--seed", seed]) == 0
        texts.add(capsys.readouterr().out)
    assert len(texts) > 1


def test_generate_json_is_one_object_with_the_text(
    lm_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert generate(lm_run, "--seed", "0", "--json") == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    result = json.loads(out)
    assert result["prompt"] == "the cat" and result["tokens"] == 5
    assert isinstance(result["text"], str) and result["text"].strip()
    assert generate(lm_run, "--seed", "0") == 0
    assert capsys.readouterr().out == "the cat" + result["text"] + "\n"


@pytest.mark.parametrize(
    ("flags", "fragment"),
    [
        (["--temperature", "0"], "temperature must be a number > 0"),
        (["--temperature", "nan"], "temperature must be a number > 0"),
        (["--top-p", "0"], "top_p must be in (0, 1]"),
        (["--top-p", "2"], "top_p must be in (0, 1]"),
        (["--top-k", "0"], "top_k must be ≥ 1"),
        (["--tokens", "0"], "--tokens must be ≥ 1"),
    ],
    ids=["temperature-0", "temperature-nan", "top-p-0", "top-p-2", "top-k-0", "tokens-0"],
)
def test_a_bad_sampling_setting_is_one_clear_line(
    lm_run: Path, capsys: pytest.CaptureFixture[str], flags: list[str], fragment: str
) -> None:
    capsys.readouterr()
    assert main(["generate", str(lm_run), "--prompt", "the cat", *flags]) == 1
    err = assert_one_line_error(capsys, fragment)
    assert err.startswith("rnnkit generate: error:")
    assert capsys.readouterr().out == ""


def test_an_unknown_prompt_is_said_on_stderr_and_still_generates(
    lm_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["generate", str(lm_run), "--prompt", "zebra", "--tokens", "3", "--seed", "0"]) == 0
    captured = capsys.readouterr()
    assert "none of the prompt's words is in the vocabulary" in captured.err
    assert captured.out.startswith("zebra") and len(captured.out.strip()) > len("zebra")


@pytest.mark.parametrize("other", ["classify_run", "missing"])
def test_generate_on_a_run_of_another_task_is_one_clear_line(
    other: str, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    run = request.getfixturevalue(other) if other != "missing" else tmp_path / "nowhere"
    capsys.readouterr()
    assert generate(run) == 1
    fragment = "rnnkit train lm" if other != "missing" else "is not a run directory"
    assert_one_line_error(capsys, fragment)


def test_predict_lists_the_most_likely_next_tokens(
    lm_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["predict", str(lm_run), "the cat", "a dog", "--json"]) == 0
    predictions = json.loads(capsys.readouterr().out)["predictions"]
    assert [p["text"] for p in predictions] == ["the cat", "a dog"]
    vocab = json.loads((lm_run / "vocab.json").read_text())["itos"]
    for prediction in predictions:
        assert len(prediction["next"]) == 5
        probabilities = [p for _, p in prediction["next"]]
        assert probabilities == sorted(probabilities, reverse=True)
        assert 0 < sum(probabilities) <= 1 + 1e-6
        assert all(token in vocab for token, _ in prediction["next"])
    assert main(["predict", str(lm_run), "the cat"]) == 0
    (line,) = capsys.readouterr().out.strip().splitlines()
    assert line.startswith("the cat → ") and line.count(", ") == 4


def test_evaluate_gives_perplexity(lm_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["evaluate", str(lm_run), "--split", "test", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["task"] == "lm" and result["split"] == "test" and result["main"] == "perplexity"
    assert result["perplexity"] == pytest.approx(math.exp(result["loss"]))
    assert 1 < result["perplexity"] < 100
    assert main(["evaluate", str(lm_run), "--split", "val"]) == 0
    assert "perplexity" in capsys.readouterr().out


def test_datasets_lists_the_lm_corpora(capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["datasets", "--json"]) == 0
    known = {d["name"]: d for d in json.loads(capsys.readouterr().out)["datasets"]}
    for name in ("ptb", "ptb-char", "wikitext-2", "tinyshakespeare"):
        assert known[name]["task"] == "lm", name
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in ("ptb-char", "wikitext-2", "tinyshakespeare"))


def test_datasets_text_table_has_one_column_per_field(capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    rows = {line.split()[0]: line.split()[1] for line in lines[1:] if line and line[0] != "Y"}
    for name in ("ptb", "ptb-char", "wikitext-2", "tinyshakespeare"):
        assert rows.get(name) == "lm", (name, rows)
    assert "text:PATH" in out


def test_training_on_an_empty_file_is_one_clear_line_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    out = tmp_path / "run"
    capsys.readouterr()
    assert main(["train", "lm", "--dataset", f"text:{empty}", *TINY, "--out", str(out)]) == 1
    assert_one_line_error(capsys, str(empty), "holds no text")
    assert not out.exists(), "nothing may be written for rejected data"


def test_a_bidirectional_lm_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_text(tmp_path / "text")
    out = tmp_path / "run"
    capsys.readouterr()
    argv = ["train", "lm", "--dataset", data, *TINY, "--bidirectional", "--out", str(out)]
    assert main(argv) == 1
    assert_one_line_error(capsys, "--no-bidirectional")
    assert not out.exists()


def test_a_character_run_with_min_freq_reads_rare_characters_as_unk(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_text(tmp_path / "text")
    train_txt = tmp_path / "text" / "train.txt"
    train_txt.write_text(train_txt.read_text(encoding="utf-8") + "zq\n", encoding="utf-8")
    out = tmp_path / "run"
    argv = ["train", "lm", "--dataset", data, "--level", "char", "--min-freq", "2", *TINY]
    assert main([*argv, "--out", str(out)]) == 0, capsys.readouterr().err
    vocab = json.loads((out / "vocab.json").read_text())
    assert vocab["unk"] == "<unk>" and "z" not in vocab["itos"]
    capsys.readouterr()
    assert main(["evaluate", str(out), "--split", "test", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["main"] == "bpc"
