"""``rnnkit train tag`` / ``predict`` through the CLI: bad input is one clear line, a non-zero
exit and nothing written; predictions print entities with spans, or a column file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rnnkit.cli.main import main

SMALL = ["--word-dim", "8", "--char-dim", "4", "--char-hidden", "4", "--hidden-size", "8"]
SENTENCE = ["Anna B-PER", "Smith I-PER", "visited O", "Rome B-LOC", ". O"]


def write_columns(folder: Path, *, train: list[str], test: list[str] | None = None) -> str:
    folder.mkdir()
    (folder / "train.txt").write_text("\n".join(train) + "\n", encoding="utf-8")
    (folder / "test.txt").write_text("\n".join(test or SENTENCE) + "\n", encoding="utf-8")
    return f"columns:{folder}"


def assert_one_line_error(capsys: pytest.CaptureFixture[str], *fragments: str) -> None:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    for fragment in fragments:
        assert fragment in err, err


def train(data: str, out: Path, *extra: str) -> int:
    argv = ["train", "tag", "--dataset", data, "--out", str(out), *SMALL, "--epochs", "1"]
    return main([*argv, "--no-progress", "--val-fraction", "0.2", *extra])


@pytest.mark.parametrize(
    ("train_lines", "test_lines", "extra", "fragments"),
    [
        ([*SENTENCE[:2], "visited O extra", *SENTENCE[3:]], None, [], ["train.txt", "line 3"]),
        ([*SENTENCE[:3], "Rome X-LOC", *SENTENCE[4:]], None, [], ["X-LOC", "train.txt", "line 4"]),
        (SENTENCE * 4, ["Acme B-ORG", "rose O"], [], ["B-ORG", "test.txt", "never"]),
        (SENTENCE * 4, None, ["--tag-column", "5"], ["column", "train.txt"]),
        ([""], None, [], ["train.txt"]),
    ],
    ids=[
        "wrong-column-count",
        "tag-outside-scheme",
        "tag-only-in-test",
        "column-out-of-range",
        "no-sentences",
    ],
)
def test_bad_data_is_one_clear_line_and_writes_nothing(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    train_lines: list[str],
    test_lines: list[str] | None,
    extra: list[str],
    fragments: list[str],
) -> None:
    data = write_columns(tmp_path / "data", train=train_lines, test=test_lines)
    out = tmp_path / "run"
    assert train(data, out, *extra) == 1
    assert_one_line_error(capsys, *fragments)
    assert not out.exists(), "nothing may be written for rejected data"


@pytest.fixture
def tag_run(tmp_path: Path) -> Path:
    data = write_columns(tmp_path / "data", train=([*SENTENCE, ""]) * 10)
    out = tmp_path / "run"
    assert train(data, out, "--threads", "1") == 0
    return out


def test_predict_prints_entities_with_spans_and_a_column_file(
    tag_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["predict", str(tag_run), "Anna Smith visited Rome .", "--json"]) == 0
    (prediction,) = json.loads(capsys.readouterr().out)["predictions"]
    assert prediction["tokens"] == ["Anna", "Smith", "visited", "Rome", "."]
    assert len(prediction["tags"]) == 5
    for entity in prediction["entities"]:
        text = "Anna Smith visited Rome ."
        assert text[entity["start"] : entity["end"]] == entity["text"]
        assert entity["type"] in ("PER", "LOC")
    assert (
        main(["predict", str(tag_run), "Anna visited Rome", "Bob left", "--format", "conll"]) == 0
    )
    blocks = capsys.readouterr().out.strip().split("\n\n")
    assert [len(b.splitlines()) for b in blocks] == [3, 2]
    assert all(len(line.split()) == 2 for b in blocks for line in b.splitlines())


def test_an_empty_sentence_keeps_its_line_with_a_note(
    tag_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A blank line of --file (or an empty argument) is not dropped and does not abort the
    others: it gets its own output line saying it was not tagged."""
    capsys.readouterr()
    lines = tmp_path / "sentences.txt"
    lines.write_text("Anna visited Rome\n\nBob left\n", encoding="utf-8")
    assert main(["predict", str(tag_run), "--file", str(lines)]) == 0
    out = capsys.readouterr().out.split("\n")
    assert len(out) == 4 and out[3] == "" and out[1] == "(empty sentence: not tagged)\t"
    assert out[0].endswith("\tAnna visited Rome") and out[2].endswith("\tBob left")
    assert main(["predict", str(tag_run), "Anna", "  ", "--json"]) == 0
    second = json.loads(capsys.readouterr().out)["predictions"][1]
    assert second == {"text": "  ", "tokens": [], "tags": [], "entities": [],
                      "note": "empty sentence: not tagged"}  # fmt: skip


def test_a_classification_run_cannot_write_a_column_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "texts"
    folder.mkdir()
    rows = "text,label\n" + "good film,pos\nbad film,neg\n" * 10
    (folder / "train.csv").write_text(rows)
    (folder / "test.csv").write_text(rows)
    out = tmp_path / "cls"
    argv = ["train", "classify", "--dataset", f"csv:{folder}", "--out", str(out), "--epochs", "1"]
    assert main([*argv, "--min-freq", "1", "--embedding-dim", "8", "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["predict", str(out), "good", "--format", "conll"]) == 1
    assert_one_line_error(capsys, "--format conll is for tagging runs")


def test_a_tagger_reading_feature_columns_loads_and_evaluates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sentence = ["Anna NNP B-PER", "Smith NNP I-PER", "visited VBD O", "Rome NNP B-LOC", ". . O"]
    data = write_columns(tmp_path / "data", train=[*sentence, ""] * 10, test=sentence)
    out = tmp_path / "run"
    assert train(data, out, "--features", "1", "--threads", "1") == 0
    assert (out / "vocab-feature0.json").is_file()
    assert main(["evaluate", str(out), "--split", "test", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["examples"] == 1
    assert main(["predict", str(out), "Anna visited Rome"]) == 1
    assert_one_line_error(capsys, "reads extra feature columns")
