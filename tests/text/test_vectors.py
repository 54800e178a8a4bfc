"""The word-vectors reader: GloVe and word2vec text formats, coverage, and every bad input as
one message naming the file (and the line)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from rnnkit.text import Vocab
from rnnkit.text.vectors import MISSING_STD, read_vectors

# Vocabulary: <pad> 0, <unk> 1, then by count: the (3), cat (2), sat (1), zebra (1).
TEXTS = [["the", "cat", "the"], ["the", "cat", "sat"], ["zebra"]]
GLOVE = "the 0.5 -1 2\ncat 1e-1 0 0.25\nmat 9 9 9\n"


@pytest.fixture
def vocab() -> Vocab:
    vocab = Vocab.build(TEXTS)
    assert vocab.itos == ["<pad>", "<unk>", "the", "cat", "sat", "zebra"]
    return vocab


def write(tmp_path: Path, text: str, name: str = "vectors.txt") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("header", ["", "3 3\n"], ids=["glove", "word2vec"])
def test_both_formats_give_the_files_rows_and_the_coverage(
    header: str, vocab: Vocab, tmp_path: Path
) -> None:
    torch.manual_seed(0)
    counts = {"the": 3, "cat": 2, "sat": 1, "zebra": 1, "rare": 3}  # rare: below min_freq
    vectors = read_vectors(write(tmp_path, header + GLOVE), vocab, dim=3, token_counts=counts)
    assert vectors.dim == 3 and vectors.table.shape == (6, 3)
    torch.testing.assert_close(vectors.table[2], torch.tensor([0.5, -1.0, 2.0]))
    torch.testing.assert_close(vectors.table[3], torch.tensor([0.1, 0.0, 0.25]))
    assert vectors.found.tolist() == [False, False, True, True, False, False]
    assert (vectors.table[0] == 0).all()  # padding
    missing = vectors.table[4:]  # sat, zebra: small random rows
    assert (missing != 0).all() and missing.abs().max() < 6 * MISSING_STD
    assert (vectors.words_found, vectors.vocab_size) == (2, 4)
    assert vectors.coverage == 0.5
    assert vectors.token_coverage == pytest.approx(5 / 10)  # the 3 + cat 2 of 10 tokens
    assert vectors.summary() == {
        "file": str((tmp_path / "vectors.txt").absolute()), "dim": 3, "words_found": 2,
        "vocab_size": 4, "token_coverage": pytest.approx(0.5),
    }  # fmt: skip
    assert "2 of 4 vocabulary words (50.0%), 50.0% of the training tokens" in vectors.describe()


def test_words_are_normalised_and_the_first_form_wins(vocab: Vocab, tmp_path: Path) -> None:
    path = write(tmp_path, "The 1 1\nthe 2 2\nCAT 3 3\n")
    vectors = read_vectors(path, vocab, normalise=str.lower)
    assert vectors.table[2].tolist() == [1.0, 1.0] and vectors.table[3].tolist() == [3.0, 3.0]
    as_written = read_vectors(path, vocab)
    assert as_written.table[2].tolist() == [2.0, 2.0] and not as_written.found[3]


def test_a_word_with_spaces_and_blank_lines_are_read(vocab: Vocab, tmp_path: Path) -> None:
    path = write(tmp_path, "the 1 2\n\n. . . 3 4\ncat 5 6\n")
    vectors = read_vectors(path, vocab)
    assert vectors.words_found == 2 and vectors.table[3].tolist() == [5.0, 6.0]


def test_specials_are_never_taken_from_the_file(vocab: Vocab, tmp_path: Path) -> None:
    vectors = read_vectors(write(tmp_path, "<unk> 1 1\n<pad> 2 2\nthe 3 3\n"), vocab)
    assert vectors.found.tolist()[:2] == [False, False] and (vectors.table[0] == 0).all()


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("", ["holds no vectors"]),
        ("\n\n", ["holds no vectors"]),
        ("5 3\n", ["holds no vectors"]),
        ("the 1 2 3\ncat 1 2\n", ["line 2", "has 2 numbers, expected 3", "first line"]),
        ("3 3\nthe 1 2 3\ncat 1 2\n", ["line 3", "has 2 numbers", "header"]),
        ("the 1 2 3\ncat 1 2 3 4\n", ["line 2", "has 4 numbers, expected 3"]),
        ("the 1 2 3\ncat 1 x 3\n", ["line 2", "'cat'", "not all finite"]),
        ("the 1 nan 3\n", ["line 1", "'the'", "not all finite"]),
        ("the\n", ["line 1", "expected a word and its numbers"]),
        ("4 2\nthe 1 2\ncat 3 4\n", ["header says 4 vectors, the file holds 2"]),
    ],
    ids=[
        "empty", "blank", "header-only", "short-line", "short-line-after-header", "long-line",
        "not-a-number", "nan", "word-only", "header-count",
    ],
)  # fmt: skip
def test_a_bad_file_is_one_line_naming_the_file(
    text: str, fragments: list[str], vocab: Vocab, tmp_path: Path
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ValueError) as error:
        read_vectors(path, vocab, setting="model.vectors")
    message = str(error.value)
    assert "\n" not in message and message.startswith(f"model.vectors: {path}")
    for fragment in fragments:
        assert fragment in message, message


@pytest.mark.parametrize("header", ["", "3 3\n"], ids=["glove", "word2vec"])
def test_vectors_of_another_size_name_the_file_its_size_and_the_setting(
    header: str, vocab: Vocab, tmp_path: Path
) -> None:
    path = write(tmp_path, header + GLOVE)
    with pytest.raises(ValueError) as error:
        read_vectors(path, vocab, dim=8, setting="model.vectors", dim_setting="model.embedding_dim")
    assert str(error.value) == (
        f"model.vectors: {path} holds 3-dimensional vectors, model.embedding_dim is 8: set "
        "model.embedding_dim to 3 (or use 8-dimensional vectors)"
    )


def test_a_missing_file_or_a_folder_is_named(vocab: Vocab, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^vectors: .*nowhere\.txt does not exist$"):
        read_vectors(tmp_path / "nowhere.txt", vocab)
    with pytest.raises(ValueError, match="is not a file"):
        read_vectors(tmp_path, vocab)


def test_the_docstring_example_runs() -> None:
    import doctest

    import rnnkit.text.vectors

    result = doctest.testmod(rnnkit.text.vectors, verbose=False, report=False)
    assert result.attempted > 0 and result.failed == 0
