"""``model.vectors`` of classify and tag on tiny runs: the embedding starts from the file's rows,
the coverage is logged and stored as ``vectors.json``, bad vectors write nothing, and a resumed
run does not read the file again."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch

from rnnkit.cli.main import main
from rnnkit.pipelines.run import train
from rnnkit.pipelines.runconfig import resolve
from rnnkit.tasks.tag_data import word_form
from rnnkit.training import Callback, Trainer

DIM = 4
# file words (GloVe format); "Good" is read lower-cased for classify's word tokens; "absent"
# is in no text
VECTORS = {"Good": [1, 2, 3, 4], "bad": [-1, -2, -3, -4], "film": [0.5, 0, 0, 0.5],
           "absent": [9, 9, 9, 9]}  # fmt: skip


class FirstWeights(Callback):
    """The embedding as training starts (after the task's own initialisation)."""

    def __init__(self) -> None:
        self.weight: torch.Tensor | None = None

    def on_fit_start(self, trainer: Trainer) -> None:
        embedding = trainer.model.embedding
        assert isinstance(embedding, torch.nn.Embedding)
        self.weight = embedding.weight.detach().cpu().clone()


def write_vectors(path: Path, vectors: dict[str, list[float]], *, header: bool = False) -> Path:
    lines = [f"{len(vectors)} {DIM}"] if header else []
    lines += [" ".join([word, *map(str, row)]) for word, row in vectors.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def texts(tmp_path: Path) -> str:
    folder = tmp_path / "data"
    folder.mkdir()
    for split, n in (("train", 24), ("val", 6), ("test", 6)):
        with (folder / f"{split}.csv").open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["text", "label"])
            for i in range(n):  # 4 tokens each: good/bad, film, the, a rare number
                word, label = ("good", "pos") if i % 2 else ("bad", "neg")
                writer.writerow([f"{word.title()} film the {i}", label])
    return f"csv:{folder}"


SMALL = {"embedding_dim": DIM, "hidden_size": 4, "min_freq": 2, "epochs": 1}


@pytest.mark.parametrize("header", [False, True], ids=["glove", "word2vec"])
def test_classify_starts_from_the_files_vectors(
    header: bool, texts: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_vectors(tmp_path / "vectors.txt", VECTORS, header=header)
    first = FirstWeights()
    out = tmp_path / "run"
    run = train(resolve("classify", {**SMALL, "dataset": texts, "vectors": str(path)}), out,
                progress=False, callbacks=[first])  # fmt: skip
    vocab = run.vocab
    assert vocab.itos == ["<pad>", "<unk>", "film", "the", "bad", "good"]  # numbers: once each
    assert first.weight is not None
    for word, row in (("good", VECTORS["Good"]), ("bad", VECTORS["bad"]),
                      ("film", VECTORS["film"])):  # fmt: skip
        assert first.weight[vocab.index(word)].tolist() == row, word
    assert (first.weight[vocab.pad_index or 0] == 0).all()
    assert first.weight[vocab.index("the")].abs().max() < 1  # not in the file: small random
    summary = json.loads((out / "vectors.json").read_text())
    # 3 of 4 words; train tokens: 24 texts × 4 (good/bad 24, film 24, the 24, numbers 24)
    assert summary == {"file": str(path.absolute()), "dim": DIM, "words_found": 3,
                       "vocab_size": 4, "token_coverage": pytest.approx(48 / 96)}  # fmt: skip
    err = capsys.readouterr().err
    assert "cover 3 of 4 vocabulary words (75.0%), 50.0% of the training tokens" in err


def test_resume_does_not_read_the_vectors_again(texts: str, tmp_path: Path) -> None:
    path = write_vectors(tmp_path / "vectors.txt", VECTORS)
    settings = {**SMALL, "dataset": texts, "vectors": str(path)}
    out = tmp_path / "run"
    train(resolve("classify", settings), out, progress=False)
    path.unlink()  # a resumed run's embedding is in its weights
    resumed = train(resolve("classify", {**settings, "epochs": 2}), out, resume=True,
                    progress=False)  # fmt: skip
    assert len(resumed.history()) == 2


@pytest.mark.parametrize(
    ("make", "extra", "fragments"),
    [
        (lambda p: write_vectors(p, VECTORS), ["--embedding-dim", "8"],
         ["vectors.txt holds 4-dimensional vectors, model.embedding_dim is 8", "set "
          "model.embedding_dim to 4"]),
        (lambda p: p.write_text("good 1 2 3 4\nbad 1 2\n"), [], ["vectors.txt line 2",
                                                               "2 numbers, expected 4"]),
        (lambda p: p.write_text(""), [], ["vectors.txt holds no vectors"]),
        (lambda p: None, [], ["vectors.txt does not exist"]),
    ],
    ids=["wrong-dim", "malformed", "empty", "missing"],
)  # fmt: skip
def test_bad_vectors_are_one_line_and_write_nothing(
    make: object, extra: list[str], fragments: list[str], texts: str, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    path = tmp_path / "vectors.txt"
    make(path)  # type: ignore[operator]
    out = tmp_path / "run"
    argv = ["train", "classify", "--dataset", texts, "--out", str(out), "--vectors", str(path)]
    flags = ["--embedding-dim", str(DIM), "--hidden-size", "4", "--epochs", "1"]
    assert main([*argv, *flags, *extra, "--no-progress"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("rnnkit train: error: model.vectors: "), err
    for fragment in fragments:
        assert fragment in err, err
    assert not out.exists()


def test_vectors_and_a_pretrained_encoder_are_refused_together(texts: str, tmp_path: Path) -> None:
    path = write_vectors(tmp_path / "vectors.txt", VECTORS)
    config = resolve("classify", {**SMALL, "dataset": texts, "vectors": str(path),
                                  "lm_from": str(tmp_path / "other")})  # fmt: skip
    with pytest.raises(ValueError, match=r"model\.vectors and pretrain\.lm_from"):
        train(config, tmp_path / "run", progress=False)


def test_tag_starts_from_the_files_vectors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "columns"
    folder.mkdir()
    sentence = "Anna B-PER\nvisited O\nRome B-LOC\n. O\n"
    (folder / "train.txt").write_text((sentence + "\n") * 10, encoding="utf-8")
    (folder / "test.txt").write_text(sentence, encoding="utf-8")
    path = write_vectors(tmp_path / "vectors.txt", {"Anna": [1, 1, 1, 1], "Rome": [2, 0, 2, 0]})
    first = FirstWeights()
    out = tmp_path / "run"
    config = resolve("tag", {"dataset": f"columns:{folder}", "word_dim": DIM, "char": "none",
                             "hidden_size": 4, "epochs": 1, "vectors": str(path),
                             "val_fraction": 0.2})  # fmt: skip
    run = train(config, out, progress=False, callbacks=[first])
    vocab = run.artifacts.vocabs["tokens"]
    assert first.weight is not None
    anna, rome = (vocab.index(word_form(w, run.config.data)) for w in ("Anna", "Rome"))
    assert vocab.unk_index not in (anna, rome)
    assert first.weight[anna].tolist() == [1, 1, 1, 1]
    assert first.weight[rome].tolist() == [2, 0, 2, 0]
    summary = json.loads((out / "vectors.json").read_text())
    assert (summary["words_found"], summary["vocab_size"]) == (2, 4)
    assert summary["token_coverage"] == pytest.approx(0.5)  # Anna, Rome of 4 tokens a sentence
    assert "2 of 4 vocabulary words" in capsys.readouterr().err
    wrong = resolve("tag", {"dataset": f"columns:{folder}", "word_dim": 8, "char": "none",
                            "vectors": str(path)})  # fmt: skip
    with pytest.raises(ValueError, match=r"model\.word_dim is 8: set model\.word_dim to 4"):
        train(wrong, tmp_path / "run2", progress=False)
