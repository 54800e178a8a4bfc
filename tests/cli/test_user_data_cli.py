"""A fresh user's path through the CLI, one test per format: a headerless ``label<TAB>text`` file,
a CSV with other column names, JSONL, a folder per class, a single file without a test split;
``evaluate --data`` from another folder, ``evaluate`` after the data moved, ``predict --file``
with blank lines; and each bad input as one line naming what and where, nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rnnkit.cli.main import main
from rnnkit.datasets import load

SMALL = ["--embedding-dim", "8", "--hidden-size", "8", "--min-freq", "1", "--epochs", "1"]
HEADERLESS = ["--no-header", "--label-field", "0", "--text-field", "1"]
POSITIVE, NEGATIVE = ("good", "fine", "great"), ("bad", "poor", "awful")


def texts(n: int) -> list[tuple[str, str]]:
    """``n`` (label, text) pairs, alternately pos and neg, each text unique."""
    rows = []
    for i in range(n):
        label, cues = ("pos", POSITIVE) if i % 2 else ("neg", NEGATIVE)
        rows.append((label, f"{cues[i % 3]} film {cues[(i + 1) % 3]} {i}"))
    return rows


def write(path: Path, content: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8", newline="")
    return path


def tsv(path: Path, rows: list[tuple[str, str]]) -> Path:
    return write(path, "".join(f"{label}\t{text}\n" for label, text in rows))


def train(dataset: str, out: Path, *flags: str) -> int:
    argv = ["train", "classify", "--dataset", dataset, "--out", str(out), *flags, *SMALL]
    return main([*argv, "--no-progress", "--json"])


def out_json(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    loaded: dict[str, object] = json.loads(capsys.readouterr().out)
    return loaded


def one_line_error(capsys: pytest.CaptureFixture[str], *fragments: str) -> str:
    err = capsys.readouterr().err.strip()
    assert err and "\n" not in err, err  # one line, no traceback
    for fragment in fragments:
        assert fragment in err, err
    return err


@pytest.fixture(scope="module")
def single_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(run, its data file): a run on one headerless ``label<TAB>text`` file, 20% held out for
    test (no test file beside it)."""
    root = tmp_path_factory.mktemp("single")
    data = tsv(root / "data" / "reviews.tsv", texts(60))
    run = root / "run"
    assert train(f"tsv:{data}", run, *HEADERLESS, "--test-fraction", "0.2") == 0
    return run, data


# --- one test per format ---------------------------------------------------------------------


def test_headerless_label_tab_text_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "sentiment"
    tsv(folder / "train.tsv", texts(40))
    tsv(folder / "test.tsv", texts(50)[40:])
    assert train(f"tsv:{folder}", tmp_path / "run", *HEADERLESS) == 0
    capsys.readouterr()
    saved = json.loads((tmp_path / "run" / "config.json").read_text())["data"]
    assert (saved["header"], saved["label_field"], saved["text_field"]) == (False, "0", "1")
    assert main(["evaluate", str(tmp_path / "run"), "--json"]) == 0
    assert out_json(capsys)["examples"] == 10


def test_csv_with_other_column_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "reviews"
    for name, rows in (("train", texts(40)), ("test", texts(48)[40:])):
        lines = ["id,title,review,stars"]
        lines += [f'{i},"T{i}, a title","{text}",{label}' for i, (label, text) in enumerate(rows)]
        write(folder / f"{name}.csv", "\n".join(lines) + "\n")
    flags = ["--text-field", "title,review", "--label-field", "stars"]
    assert train(f"csv:{folder}", tmp_path / "run", *flags) == 0
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "run"), "--json"]) == 0
    evaluated = out_json(capsys)
    assert evaluated["examples"] == 8 and evaluated["labels"] == ["neg", "pos"]


def test_jsonl_with_other_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [json.dumps({"body": text, "y": label}) for label, text in texts(50)]
    write(tmp_path / "j" / "train.jsonl", "\n".join(rows[:40]) + "\n")
    write(tmp_path / "j" / "test.jsonl", "\n".join(rows[40:]) + "\n")
    flags = ["--text-field", "body", "--label-field", "y"]
    assert train(f"jsonl:{tmp_path / 'j'}", tmp_path / "run", *flags) == 0
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "run"), "--json"]) == 0
    assert out_json(capsys)["examples"] == 10


def test_a_folder_per_class_without_split_folders(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for i, (label, text) in enumerate(texts(40)):
        write(tmp_path / "docs" / label / f"{i:02d}.txt", text)
    assert train(f"folder:{tmp_path / 'docs'}", tmp_path / "run", "--test-fraction", "0.25") == 0
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "run"), "--json"]) == 0
    assert out_json(capsys)["examples"] == 10


def test_a_single_file_is_split_and_the_run_finds_its_test_split_from_anywhere(
    single_run: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run, data = single_run
    saved = json.loads((run / "config.json").read_text())["data"]
    assert saved["dataset"] == f"tsv:{data}" and saved["test_fraction"] == 0.2
    options = {"header": False, "label_field": "0", "text_field": "1", "test_fraction": 0.2}
    expected = load(f"tsv:{data}", **options)  # the same seeded split, read again
    assert len(expected.test) == 12  # 20% of 30 pos and of 30 neg
    monkeypatch.chdir(tmp_path)
    assert main(["evaluate", str(run), "--json"]) == 0
    evaluated = out_json(capsys)
    assert evaluated["examples"] == 12 and evaluated["split"] == "test"
    assert main(["evaluate", str(run), "--split", "val", "--json"]) == 0
    assert out_json(capsys)["examples"] == len(expected.val) == 6  # 10% of the file, per label


# --- evaluate --data -------------------------------------------------------------------------


def test_evaluate_data_from_another_folder(
    single_run: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run, _ = single_run
    tsv(tmp_path / "new" / "fresh.tsv", texts(70)[60:])  # the run's own columns and header
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["evaluate", str(run), "--data", "../new/fresh.tsv", "--json"]) == 0
    evaluated = out_json(capsys)
    assert evaluated["split"] == "file" and evaluated["examples"] == 10
    assert evaluated["dataset"] == str((tmp_path / "new" / "fresh.tsv").absolute())
    written = json.loads((run / "eval-file-fresh.json").read_text())
    assert written["accuracy"] == evaluated["accuracy"] and "table" in written
    assert (run / "confusion-file-fresh.png").is_file()
    assert main(["evaluate", str(run), "--data", "../new/fresh.tsv"]) == 0
    text = capsys.readouterr().out
    assert "fresh.tsv: accuracy" in text and f"written: {run / 'eval-file-fresh.json'}" in text


def test_evaluate_data_with_other_columns_and_a_header(
    single_run: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run, _ = single_run
    rows = "".join(f"{text},{label}\n" for label, text in texts(6))
    path = write(tmp_path / "other.data", "sentence,gold\n" + rows)  # a suffix rnnkit lacks
    argv = ["evaluate", str(run), "--data", f"csv:{path}", "--header", "--json"]
    assert main([*argv, "--text-field", "sentence", "--label-field", "gold"]) == 0
    assert out_json(capsys)["examples"] == 6
    assert (run / "eval-file-other.json").is_file()


def test_evaluate_data_with_a_label_the_run_never_saw(
    single_run: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run, _ = single_run
    path = write(tmp_path / "odd.tsv", "pos\tgood\n\nneutral\tso so\n")
    assert main(["evaluate", str(run), "--data", str(path)]) == 1
    err = one_line_error(capsys, "label 'neutral'", f"the run {run}", "'neg', 'pos'")
    assert f"{path}: line 3: " in err
    assert not (run / "eval-file-odd.json").exists()


def test_evaluate_data_refuses_what_does_not_apply(
    single_run: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run, data = single_run
    assert main(["evaluate", str(run), "--data", str(data), "--split", "val"]) == 1
    one_line_error(capsys, "--split with --data")
    assert main(["evaluate", str(run), "--text-field", "2"]) == 1
    one_line_error(capsys, "--text-field is for --data PATH")
    assert main(["evaluate", str(run), "--data", str(tmp_path / "nowhere.tsv")]) == 1
    one_line_error(capsys, "nowhere.tsv: no such file")


def test_the_stored_dataset_is_found_from_anywhere_and_a_move_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    tsv(tmp_path / "d" / "train.tsv", texts(30))
    tsv(tmp_path / "d" / "test.tsv", texts(36)[30:])
    monkeypatch.chdir(tmp_path)
    assert train("tsv:d", tmp_path / "run", *HEADERLESS) == 0  # a relative path, stored absolute
    capsys.readouterr()
    config_path = tmp_path / "run" / "config.json"
    config = json.loads(config_path.read_text())
    assert config["data"]["dataset"] == f"tsv:{tmp_path / 'd'}"
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    config["data"]["dataset"] = "tsv:d"  # as a run from before paths were stored absolute
    config_path.write_text(json.dumps(config))
    assert main(["evaluate", str(tmp_path / "run"), "--json"]) == 0  # relative to its origin
    assert out_json(capsys)["examples"] == 6
    (tmp_path / "d").rename(tmp_path / "moved")
    assert main(["evaluate", str(tmp_path / "run")]) == 1
    one_line_error(
        capsys, f"the data this run was trained on ({tmp_path / 'd'}) is no longer where it was",
        f"({tmp_path / 'd'}: no such file or folder)", "--data PATH",
    )  # fmt: skip


# --- predict: one output line per input line -------------------------------------------------


def test_predict_file_keeps_blank_lines(
    single_run: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run, _ = single_run
    lines = ["good film", "", "   ", "bad\x0cpoor", "awful film"]  # \x0c is not a line end here
    path = write(tmp_path / "in.txt", "\r\n".join(lines) + "\r\n")
    assert main(["predict", str(run), "--file", str(path)]) == 0
    out = capsys.readouterr().out.rstrip("\n").split("\n")
    assert len(out) == len(lines)
    for line, shown in zip(lines, out, strict=True):
        label, probability, text, *note = shown.split("\t")
        assert text == line
        if line.strip():
            assert label in ("neg", "pos") and 0 <= float(probability) <= 1 and not note
        else:
            assert (label, probability, note) == ("", "", ["(empty text: not labelled)"])
    assert main(["predict", str(run), "--file", str(path), "--json"]) == 0
    predictions = json.loads(capsys.readouterr().out)["predictions"]
    assert [p["text"] for p in predictions] == lines
    assert [p["label"] is None for p in predictions] == [False, True, True, False, False]
    assert predictions[1]["note"] == "empty text: not labelled"


def test_predict_an_empty_argument_gets_the_marker(
    single_run: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    run, _ = single_run
    assert main(["predict", str(run), ""]) == 0
    assert capsys.readouterr().out == "\t\t\t(empty text: not labelled)\n"
    assert main(["predict", str(run), "", "great film", "--json"]) == 0
    first, second = json.loads(capsys.readouterr().out)["predictions"]
    assert first["label"] is None and second["label"] in ("neg", "pos")


# --- bad input: one line naming what and where, nothing written --------------------------------


def test_a_text_field_that_does_not_exist_lists_the_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "d" / "all.csv", "id,review,stars\n1,fine,5\n2,bad,1\n")
    out = tmp_path / "run"
    assert train(f"csv:{path}", out, "--text-field", "body", "--test-fraction", "0.5") == 1
    one_line_error(capsys, f"{path}: line 1: no column 'body'", "'id', 'review', 'stars'")
    assert not out.exists()


def test_a_label_column_with_one_class(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tsv(tmp_path / "d" / "all.tsv", [("pos", text) for _, text in texts(20)])
    out = tmp_path / "run"
    assert train(f"tsv:{path}", out, *HEADERLESS, "--test-fraction", "0.2") == 1
    one_line_error(capsys, f"tsv:{path}", "the label 'pos'", "at least two labels")
    assert not out.exists()


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--test-fraction", "0.5", "--val-fraction", "0.5"], "val_fraction + test_fraction"),
        (["--test-fraction", "1.5"], "test_fraction must be in [0, 1), got 1.5"),
        (["--val-fraction", "-0.1"], "val_fraction must be in [0, 1), got -0.1"),
    ],
)
def test_fractions_out_of_range(
    flags: list[str], expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tsv(tmp_path / "d" / "all.tsv", texts(20))
    out = tmp_path / "run"
    assert train(f"tsv:{path}", out, *HEADERLESS, *flags) == 1
    one_line_error(capsys, expected)
    assert not out.exists()


def test_no_test_file_and_no_test_fraction(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tsv(tmp_path / "d" / "all.tsv", texts(20))
    assert train(f"tsv:{path}", tmp_path / "run", *HEADERLESS) == 1
    one_line_error(capsys, f"{tmp_path / 'd' / 'test.tsv'}: no such file", "--test-fraction")


def test_help_names_the_new_options(capsys: pytest.CaptureFixture[str]) -> None:
    for command, flags in (
        (
            ["train", "classify"],
            ["--text-field", "--label-field", "--no-header", "--test-fraction"],
        ),
        (["evaluate"], ["--data", "--text-field", "--label-field", "--no-header"]),
        (["predict"], ["--file", "empty"]),
    ):
        with pytest.raises(SystemExit):
            main([*command, "--help"])
        out = capsys.readouterr().out
        for flag in flags:
            assert flag in out, (command, flag)
