"""``rnnkit pretrain vectors``: word2vec through gensim on the user's text, end to end (a tiny
corpus, dim 8, one epoch), the corpora it reads, its errors, and the line it prints when gensim
is missing."""

from __future__ import annotations

import csv
import json
import os
import random
import sys
from pathlib import Path

import pytest

from rnnkit.cli.main import main
from rnnkit.pipelines.word2vec import corpus_sentences
from rnnkit.text import Vocab, word_tokenize
from rnnkit.text.vectors import read_vectors

pytest.importorskip("gensim")  # the vectors extra; the dev extra pins it

WORDS = ["the", "film", "story", "good", "bad", "actor", "plot", "scene", "music", "end"]


def write_corpus(path: Path, lines: int = 200, seed: int = 0) -> Path:
    rng = random.Random(seed)
    text = "\n".join(" ".join(rng.choices(WORDS, k=8)).title() + "!" for _ in range(lines))
    path.write_text(text + "\n\n", encoding="utf-8")  # a blank line is skipped
    return path


def pretrain(corpus: list[str], out: Path, *extra: str) -> int:
    argv = ["pretrain", "vectors", "--corpus", *corpus, "--out", str(out), "--dim", "8"]
    return main([*argv, "--epochs", "1", "--min-count", "1", "--threads", "1", *extra])


def test_pretrain_writes_vectors_that_classify_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = write_corpus(tmp_path / "corpus.txt")
    out = tmp_path / "vectors.txt"
    assert pretrain([str(corpus)], out, "--json") == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert result["texts"] == 200 and result["tokens"] == 200 * 9  # 8 words and "!"
    assert result["words"] == len(WORDS) + 1 and result["dim"] == 8
    assert "pretrain vectors: epoch 1/1" in captured.err
    header = out.read_text().splitlines()[0]
    assert header == f"{len(WORDS) + 1} 8"  # word2vec's text format
    vocab = Vocab.build([[*WORDS, "!"]])
    vectors = read_vectors(out, vocab, dim=8)  # the words are word_tokenize's: lower-cased
    assert vectors.words_found == vectors.vocab_size == len(WORDS) + 1
    # classify starts from them
    data = tmp_path / "data"
    data.mkdir()
    for split in ("train", "test"):
        with (data / f"{split}.csv").open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["text", "label"])
            writer.writerows([("good film", "pos"), ("bad plot", "neg")] * 10)
    run = tmp_path / "run"
    argv = ["train", "classify", "--dataset", f"csv:{data}", "--out", str(run), "--vectors"]
    flags = ["--embedding-dim", "8", "--hidden-size", "4", "--epochs", "1", "--no-progress"]
    assert main([*argv, str(out), *flags]) == 0
    summary = json.loads((run / "vectors.json").read_text())
    assert summary["words_found"] == summary["vocab_size"] == 4  # good, film, bad, plot


def test_one_thread_and_a_seed_give_the_same_file(tmp_path: Path) -> None:
    corpus = str(write_corpus(tmp_path / "corpus.txt"))
    for name in ("a.txt", "b.txt", "c.txt"):
        seed = "2" if name == "c.txt" else "1"
        assert pretrain([corpus], tmp_path / name, "--seed", seed) == 0
    first = (tmp_path / "a.txt").read_bytes()
    assert first == (tmp_path / "b.txt").read_bytes()
    assert first != (tmp_path / "c.txt").read_bytes()


def test_cbow_and_several_corpora(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    one = write_corpus(tmp_path / "one.txt", lines=50, seed=1)
    two = tmp_path / "two.txt"
    two.write_text("zebra crossing\n" * 5, encoding="utf-8")
    out = tmp_path / "v.txt"
    assert pretrain([str(one), str(two)], out, "--architecture", "cbow", "--json") == 0
    result = json.loads(capsys.readouterr().out)
    assert result["texts"] == 55 and result["words"] == len(WORDS) + 1 + 2


def test_a_classification_set_is_read_by_its_split(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    for split, text in (("train", "Train text, one"), ("test", "Held-out text")):
        with (folder / f"{split}.csv").open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["text", "label"])
            writer.writerows([(f"{text} {i}", "ab"[i % 2]) for i in range(20)])
    train = corpus_sentences(f"csv:{folder}")  # train, less classify's default 10% for val
    assert len(train) == 18 and train[0][:4] == ["train", "text", ",", "one"]
    assert corpus_sentences(f"csv:{folder}:train") == train
    test = corpus_sentences(f"csv:{folder}:test")
    assert len(test) == 20 and test[0] == word_tokenize("Held-out text 0")


def test_a_language_model_corpus_drops_unk_and_reads_wikitext_marks(tmp_path: Path) -> None:
    path = tmp_path / "lm.txt"
    path.write_text("a well @-@ known <unk> film\n\n1 @,@ 000 in @.@ 5\n" * 20, encoding="utf-8")
    sentences = corpus_sentences(f"text:{path}")  # its first 90% of lines train
    assert sentences[:2] == [["a", "well", "-", "known", "film"], ["1", ",", "000", "in", ".", "5"]]
    assert all("<" not in s and "unk" not in s for s in sentences)


@pytest.mark.skipif(not os.environ.get("RNNKIT_DATA"), reason="RNNKIT_DATA is not set")
def test_a_named_dataset_is_read_from_rnnkit_data() -> None:
    sentences = corpus_sentences("sst2:train")
    assert len(sentences) == 6920  # SST-2's training sentences (its dev split is val)
    with pytest.raises(ValueError, match="a corpus of single characters"):
        corpus_sentences("ptb-char")


@pytest.mark.parametrize(
    ("corpus", "extra", "fragments"),
    [
        ("nowhere-corpus", [], ["--corpus nowhere-corpus: no such file, nor a dataset",
                                "wikitext-2", "NAME:SPLIT"]),
        ("EMPTY", [], ["no words in the file (it is empty)"]),
        ("DIR", [], ["a folder; give its text files"]),
        ("CORPUS", ["--min-count", "1000"], ["no word occurs --min-count 1000 times"]),
        ("CORPUS", ["--dim", "0"], ["--dim must be ≥ 1, got 0"]),
    ],
    ids=["unknown", "empty", "folder", "min-count", "dim"],
)  # fmt: skip
def test_bad_input_is_one_line_and_writes_nothing(
    corpus: str, extra: list[str], fragments: list[str], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    (tmp_path / "empty.txt").write_text("\n", encoding="utf-8")
    named = {"EMPTY": str(tmp_path / "empty.txt"), "DIR": str(tmp_path),
             "CORPUS": str(write_corpus(tmp_path / "corpus.txt", lines=5))}  # fmt: skip
    out = tmp_path / "v.txt"
    assert pretrain([named.get(corpus, corpus)], out, *extra) == 1
    *before, err = capsys.readouterr().err.strip().splitlines()  # progress lines, the error
    assert err.startswith("rnnkit pretrain: error: "), err
    assert all(line.startswith("pretrain vectors: ") for line in before), before
    for fragment in fragments:
        assert fragment in err, err
    assert not out.exists()


def test_without_gensim_one_line_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for module in ("gensim", "gensim.models", "gensim.models.callbacks"):
        monkeypatch.setitem(sys.modules, module, None)  # `import gensim…` raises ImportError
    corpus = write_corpus(tmp_path / "corpus.txt", lines=5)
    assert pretrain([str(corpus)], tmp_path / "v.txt") == 1
    err = capsys.readouterr().err.strip()
    assert err == (
        "rnnkit pretrain: error: rnnkit pretrain vectors needs gensim, an optional extra: "
        "pip install 'rnnkit[vectors]' (or pip install 'gensim>=4.3')"
    )
    assert not (tmp_path / "v.txt").exists()
