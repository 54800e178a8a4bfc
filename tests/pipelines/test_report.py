"""``report.md`` tells what a run trained on and how it compares: data per split, vocabulary and
its coverage, parameters, kept epoch, training time and the TF-IDF baseline on the same split;
``learning_curves.png`` is titled by the dataset's own name."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import rnnkit.pipelines.run as run_module
from rnnkit.baselines.tfidf import tfidf_baseline
from rnnkit.cli.main import main
from rnnkit.datasets import CorpusData, TaggedSentence, TaggingData
from rnnkit.pipelines.run import Run, data_summary, plot_run_history, train
from rnnkit.pipelines.runconfig import resolve
from rnnkit.tasks.base import Artifacts, get_task
from rnnkit.text import Vocab, word_tokenize

SMALL = {"embedding_dim": 16, "hidden_size": 16, "min_freq": 2, "lr": 1e-2, "batch_size": 16}
UNSEEN = "an utterly unforeseen zeppelin film"  # 4 of its 5 words occur nowhere in train


def rows(report: str) -> dict[str, str]:
    """The summary table of ``report.md`` as {what: figure}."""
    table = report.split("## Summary", 1)[1].split("\n## ", 1)[0]
    return {
        cells[1].strip(): cells[2].strip()
        for line in table.splitlines()
        if line.startswith("| ") and (cells := line.split("|"))[1].strip()
    }


@pytest.fixture
def user_csv(toy_csv: str) -> str:
    """The toy corpus with one validation text of words training never has."""
    folder = Path(toy_csv.partition(":")[2])
    with (folder / "val.csv").open("a", encoding="utf-8") as f:
        f.write(f"{UNSEEN},pos\n")
    return toy_csv


def test_the_report_lists_every_figure_with_the_right_numbers(
    user_csv: str, tmp_path: Path
) -> None:
    config = resolve("classify", {**SMALL, "dataset": user_csv, "epochs": 3})
    run = train(config, tmp_path / "run", progress=False)
    test = run.evaluate("test")
    report = (tmp_path / "run" / "report.md").read_text()
    got = rows(report)
    data = run.data()
    assert got["data"] == "train 240, val 61, test 60 examples"
    vocab = run.vocab
    assert got["vocabulary"] == f"`tokens` {len(vocab):,}"
    tokens = [t for e in data.val for t in word_tokenize(e.text)]
    share = sum(t in vocab for t in tokens) / len(tokens)
    assert 0.9 < share < 1  # the unseen words count against it
    assert got["vocabulary coverage"] == (
        f"{100 * share:.2f}% of the validation tokens are in `tokens`"
    )
    assert got["parameters"] == f"{sum(p.numel() for p in run.model.parameters()):,}"
    history, kept = run.history(), run.kept_epoch()
    assert kept is not None
    best = 100 * history[kept - 1]["val_accuracy"]
    assert got["kept epoch"] == f"{kept} of 3 (best validation accuracy {best:.2f}%)"
    assert got["training time"] == f"{sum(h['seconds'] for h in history):.0f} s"
    saved = json.loads((tmp_path / "run" / "baseline.json").read_text())
    scores, seconds = saved["scores"], saved["train_seconds"]
    assert got["baseline"] == (
        f"TF-IDF + LinearSVC: val accuracy {100 * scores['val']['accuracy']:.2f}%, "
        f"val macro-f1 {100 * scores['val']['macro_f1']:.2f}%, "
        f"test accuracy {100 * scores['test']['accuracy']:.2f}%, "
        f"test macro-f1 {100 * scores['test']['macro_f1']:.2f}%; {seconds:.1f} s"
    )
    # beside the run: its kept epoch's validation figure, its test figure, and the difference
    line = next(r for r in report.splitlines() if r.startswith(f"| this run (kept epoch {kept})"))
    mine = [100 * history[kept - 1]["val_accuracy"], 100 * history[kept - 1]["val_macro_f1"],
            100 * test.metrics["accuracy"], 100 * test.metrics["macro_f1"]]  # fmt: skip
    assert line == "| this run (kept epoch {}) | {} | {:.1f} |".format(
        kept, " | ".join(f"{v:.2f}" for v in mine), run.train_seconds()
    )
    theirs = [100 * scores[s][m] for s in ("val", "test") for m in ("accuracy", "macro_f1")]
    difference = next(r for r in report.splitlines() if r.startswith("| this run − baseline"))
    assert difference == "| this run − baseline | {} | - |".format(
        " | ".join(f"{a - b:+.2f}" for a, b in zip(mine, theirs, strict=True))
    )


def test_the_baseline_has_the_runs_own_split(toy_csv: str, tmp_path: Path) -> None:
    folder = Path(toy_csv.partition(":")[2])
    (folder / "val.csv").unlink()  # validation is held out of train, seeded
    config = resolve("classify", {**SMALL, "dataset": toy_csv, "epochs": 1, "val_fraction": 0.25})
    run = train(config, tmp_path / "run", progress=False)
    saved = json.loads((tmp_path / "run" / "baseline.json").read_text())
    summary = json.loads((tmp_path / "run" / "data-summary.json").read_text())
    assert saved["sizes"] == summary["sizes"] == {"train": 180, "val": 60, "test": 60}
    again = tfidf_baseline(run.data())  # the same split fits the same model, to the digit
    assert saved["scores"] == again.scores and saved["settings"]["C"] == again.settings["C"]
    assert run.baseline is not None and run.baseline.scores == again.scores


def test_baseline_none_leaves_it_out(toy_csv: str, tmp_path: Path) -> None:
    config = resolve("classify", {**SMALL, "dataset": toy_csv, "epochs": 1, "baseline": "none"})
    train(config, tmp_path / "run", progress=False)
    report = (tmp_path / "run" / "report.md").read_text()
    assert rows(report)["baseline"] == "none (run.baseline none)"
    assert "## Beside the baseline" not in report
    assert not (tmp_path / "run" / "baseline.json").exists()


def test_without_scikit_learn_auto_trains_and_says_so_and_tfidf_refuses(
    toy_csv: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    for name in [m for m in sys.modules if m == "sklearn" or m.startswith("sklearn.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "sklearn", None)
    config = resolve("classify", {**SMALL, "dataset": toy_csv, "epochs": 1})
    train(config, tmp_path / "auto", progress=False)
    report = (tmp_path / "auto" / "report.md").read_text()
    assert rows(report)["baseline"] == (
        "not fitted: the tfidf baseline needs scikit-learn: pip install 'rnnkit[baseline]'"
    )
    assert not (tmp_path / "auto" / "baseline.json").exists()
    out = tmp_path / "asked"
    flags = ["--dataset", toy_csv, "--epochs", "1", "--hidden-size", "8", "--no-progress"]
    code = main(["train", "classify", *flags, "--baseline", "tfidf", "--out", str(out)])
    assert code == 1
    assert capsys.readouterr().err == (
        "rnnkit train: error: the tfidf baseline needs scikit-learn: "
        "pip install 'rnnkit[baseline]'\n"
    )
    assert not out.exists()  # refused before anything trained


def test_a_task_without_a_baseline_or_vocabulary_reports_what_it_has(tmp_path: Path) -> None:
    tiny = {"seq_len": 6, "train_size": 32, "val_size": 16, "test_size": 16, "hidden_size": 4}
    run = train(resolve("synthetic", {**tiny, "epochs": 2}), tmp_path / "run", progress=False)
    got = rows((tmp_path / "run" / "report.md").read_text())
    assert got["data"] == "train 32, val 16, test 16 examples"
    assert got["parameters"] == f"{run.parameters():,}"
    assert got["kept epoch"].startswith(f"{run.kept_epoch()} of 2 (best validation mse ")
    assert "vocabulary" not in got and "baseline" not in got
    with pytest.raises(ValueError, match="synthetic has no baseline 'tfidf'"):
        train(resolve("synthetic", {**tiny, "baseline": "tfidf"}), tmp_path / "b", progress=False)


def test_coverage_counts_tokens_as_each_vocabulary_sees_them() -> None:
    tag = get_task("tag")
    sentences = [TaggedSentence(["Paris", "in", "1999"], ["B-LOC", "O", "O"])]
    data = TaggingData(sentences, sentences, [], tags=["O", "B-LOC"], scheme="iob2", name="t")
    config = resolve("tag", {"dataset": "conll2003"})
    assert tag.split_tokens(config, data, "val") == ["paris", "in", "0000"]
    corpus = CorpusData(["a", "b", "<eos>", "a"], ["a", "c", "<eos>", "d"], [], eos="<eos>")
    lm = get_task("lm")
    vocab = Vocab.build([corpus.train], min_freq=1, pad=None, specials=("<eos>",))
    artifacts = Artifacts({"tokens": vocab}, [])
    summary = data_summary(lm, resolve("lm", {"dataset": "ptb"}), artifacts, corpus)
    assert summary["coverage"] == 0.5  # a and <eos> known, c and d not
    assert summary["sizes"] == {"train": 4, "val": 4, "test": 0}
    assert summary["unit"] == "tokens"


def test_the_learning_curves_name_the_dataset_by_its_own_name(
    toy_csv: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = resolve("classify", {**SMALL, "dataset": toy_csv, "epochs": 1, "baseline": "none"})
    train(config, tmp_path / "run", progress=False)
    drawn: dict[str, object] = {}
    monkeypatch.setattr(run_module, "plot_history", lambda history, **kw: drawn.update(kw))
    loaded = Run.load(tmp_path / "run")
    plot_run_history(loaded)
    name = loaded.data().name
    assert name and ":" not in name  # the dataset's name, not csv:/tmp/…
    assert drawn["title"] == f"run: {name}"
    assert drawn["kept_epoch"] == 1 and drawn["monitor"] == "accuracy"
