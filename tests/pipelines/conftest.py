"""A small labelled corpus as the user's own CSV files, for fast end-to-end runs."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest

POSITIVE = ["great", "wonderful", "moving", "brilliant", "funny", "superb"]
NEGATIVE = ["dull", "boring", "awful", "lifeless", "tedious", "bad"]
FILLER = ["the", "film", "a", "story", "is", "and", "with", "acting", "plot", "it"]


def _text(rng: random.Random, label: str) -> str:
    words = rng.choices(FILLER, k=rng.randint(3, 9))
    cue = POSITIVE if label == "pos" else NEGATIVE
    for _ in range(rng.randint(1, 2)):
        words.insert(rng.randrange(len(words) + 1), rng.choice(cue))
    return " ".join(words)


def write_split(path: Path, n: int, seed: int) -> None:
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        for i in range(n):
            label = "pos" if i % 2 else "neg"
            writer.writerow([_text(rng, label), label])


@pytest.fixture
def toy_csv(tmp_path: Path) -> str:
    """``csv:DIR`` of a 2-class corpus: 240 train, 60 val, 60 test rows."""
    folder = tmp_path / "toy"
    folder.mkdir()
    write_split(folder / "train.csv", 240, seed=1)
    write_split(folder / "val.csv", 60, seed=2)
    write_split(folder / "test.csv", 60, seed=3)
    return f"csv:{folder}"
