"""Vocab: special-token layout, deterministic ordering, min_freq/max_size, lookups, files."""

from __future__ import annotations

import doctest
import json
from pathlib import Path

import numpy as np
import pytest
import torch

import rnnkit.text.vocab
from rnnkit.text import Vocab

DOCS = [["b", "a", "c"], ["a", "b", "d"], ["c", "a", "e"]]  # a=3, b=2, c=2, d=1, e=1


def test_build_orders_by_count_then_first_occurrence() -> None:
    vocab = Vocab.build(DOCS)
    assert vocab.itos == ["<pad>", "<unk>", "a", "b", "c", "d", "e"]
    assert (vocab.pad_index, vocab.unk_index) == (0, 1)
    # the same counts met in another order give the order of first occurrence
    assert Vocab.build([["e", "d"], *DOCS]).itos[2:] == ["a", "e", "d", "b", "c"]


def test_build_is_deterministic_across_runs() -> None:
    assert Vocab.build(DOCS).itos == Vocab.build([list(d) for d in DOCS]).itos
    assert Vocab.build(DOCS) == Vocab.build(DOCS)


def test_specials_follow_pad_and_unk_and_are_not_counted() -> None:
    vocab = Vocab.build([["<bos>", "x", "<unk>"]], specials=("<bos>", "<eos>"))
    assert vocab.itos == ["<pad>", "<unk>", "<bos>", "<eos>", "x"]
    assert vocab.num_specials == 4
    no_pad = Vocab.build(DOCS, pad=None)
    assert no_pad.itos[:2] == ["<unk>", "a"] and no_pad.pad_index is None


def test_min_freq_and_max_size() -> None:
    assert Vocab.build(DOCS, min_freq=2).itos[2:] == ["a", "b", "c"]
    capped = Vocab.build(DOCS, max_size=4)  # specials count towards the size
    assert capped.itos == ["<pad>", "<unk>", "a", "b"] and len(capped) == 4
    assert len(Vocab.build(DOCS, max_size=100)) == 7
    with pytest.raises(ValueError, match=r"max_size must be an integer >= the 3 special"):
        Vocab.build(DOCS, max_size=2, specials=("<bos>",))
    with pytest.raises(ValueError, match="min_freq must be an integer >= 1, got 0"):
        Vocab.build(DOCS, min_freq=0)


def test_encode_decode_and_lookups() -> None:
    vocab = Vocab.build(DOCS)
    assert vocab.encode(["a", "zzz", "e"]) == [2, 1, 6]
    assert vocab.decode([2, 1, 6]) == ["a", "<unk>", "e"]
    assert vocab.decode(torch.tensor([3, 4])) == ["b", "c"]
    assert vocab.decode(np.array([0])) == ["<pad>"]
    assert vocab.index("c") == 4 and vocab.index("nope") == 1
    assert vocab.token(5) == "d"
    assert "a" in vocab and "nope" not in vocab
    with pytest.raises(IndexError, match="index 7 out of range for a vocabulary of 7"):
        vocab.token(7)
    with pytest.raises(IndexError, match="index -1 out of range"):
        vocab.decode([-1])


def test_without_unk_an_unknown_token_is_named() -> None:
    vocab = Vocab(["a"], unk=None)
    assert vocab.encode(["a"]) == [1]
    with pytest.raises(ValueError, match=r"unknown token 'zebra'.*no unk token"):
        vocab.encode(["a", "zebra"])


def test_bad_construction() -> None:
    with pytest.raises(ValueError, match="duplicate token 'a'"):
        Vocab(["a", "b", "a"])
    with pytest.raises(ValueError, match=r"duplicate token '<pad>'"):
        Vocab(["<pad>"])
    with pytest.raises(ValueError, match=r"token_lists\[1\] must be a list of tokens"):
        Vocab.build([["a"], "a sentence"])
    with pytest.raises(ValueError, match="tokens must be a list of tokens, got a str"):
        Vocab.build(DOCS).encode("abc")


def test_save_load_round_trip(tmp_path: Path) -> None:
    vocab = Vocab.build([["ünï", "x"], ["x"]], specials=("<bos>", "<eos>"))
    path = vocab.save(tmp_path / "run" / "vocab.json")
    assert sorted(p.name for p in path.parent.iterdir()) == ["vocab.json"]  # no temp left
    back = Vocab.load(path)
    assert back == vocab
    assert back.itos == ["<pad>", "<unk>", "<bos>", "<eos>", "x", "ünï"]
    assert back.encode(["ünï", "?"]) == [5, 1]
    assert Vocab.load(Vocab(["a"], unk=None).save(tmp_path / "v2.json")).unk_index is None


def test_save_replaces_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "vocab.json"
    Vocab(["old"]).save(path)
    Vocab(["new"]).save(path)
    assert Vocab.load(path).itos[-1] == "new"


def _write(path: Path, data: object) -> Path:
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"itos": ["<pad>"', r"not valid JSON \(line 1, column \d+"),
        ("[1, 2]", "expected a JSON object, got list"),
        ({"itos": []}, "field 'format' must be 'rnnkit.vocab'"),
        ({"format": "rnnkit.vocab", "pad": "<pad>", "unk": None, "specials": []}, "'itos'"),
        (
            {"format": "rnnkit.vocab", "pad": "<pad>", "unk": None, "specials": [], "itos": [1]},
            "field 'itos' must be a list of strings",
        ),
        (
            {"format": "rnnkit.vocab", "pad": "<p>", "unk": None, "specials": [], "itos": ["a"]},
            r"must start with the special tokens \['<p>'\]",
        ),
        (
            {
                "format": "rnnkit.vocab",
                "pad": None,
                "unk": None,
                "specials": [],
                "itos": ["a", "a"],
            },
            "duplicate token 'a'",
        ),
    ],
    ids=["truncated", "not-object", "no-format", "missing-itos", "bad-itos", "order", "dup"],
)
def test_load_malformed_names_file_and_problem(
    tmp_path: Path, content: object, message: str
) -> None:
    path = _write(tmp_path / "broken.json", content)
    with pytest.raises(ValueError, match=rf"Vocab\.load: .*broken\.json: .*{message}"):
        Vocab.load(path)


def test_load_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"missing\.json: no such file"):
        Vocab.load(tmp_path / "missing.json")


def test_docstring_examples_pass() -> None:
    result = doctest.testmod(rnnkit.text.vocab, report=False)
    assert result.attempted > 0 and result.failed == 0
