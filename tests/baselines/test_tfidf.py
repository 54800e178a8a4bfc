"""The TF-IDF + LinearSVC baseline: it learns what a linear model should, only from the training
split, picks C on validation, and says what to install when scikit-learn is missing."""

from __future__ import annotations

import random
import sys

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

from rnnkit.baselines import BaselineUnavailableError, tfidf
from rnnkit.baselines.tfidf import GRID, tfidf_baseline
from rnnkit.datasets import ClassificationData, Example
from rnnkit.metrics import classification_report

CUES = {"sport": ["goal", "match", "striker"], "space": ["orbit", "rocket", "launch"],
        "food": ["recipe", "oven", "flavour"]}  # fmt: skip
FILLER = ["the", "report", "said", "today", "that", "new", "week", "people", "after", "long"]


def texts(n: int, seed: int) -> list[Example]:
    """``n`` texts, each with one or two words that name its class among filler words."""
    rng = random.Random(seed)
    labels = sorted(CUES)
    out = []
    for i in range(n):
        label = labels[i % len(labels)]
        words = rng.choices(FILLER, k=rng.randint(4, 10))
        for _ in range(rng.randint(1, 2)):
            words.insert(rng.randrange(len(words) + 1), rng.choice(CUES[label]))
        out.append(Example(" ".join(words), label))
    return out


def toy(train: int = 150, val: int = 30, test: int = 30) -> ClassificationData:
    return ClassificationData(
        texts(train, 1), texts(val, 2), texts(test, 3), labels=sorted(CUES), name="toy"
    )


def test_it_learns_an_obviously_separable_set() -> None:
    data = toy()
    result = tfidf_baseline(data)
    assert result.name == "tfidf" and result.method == "TF-IDF + LinearSVC"
    assert result.scores["val"] == {"accuracy": 1.0, "macro_f1": 1.0}
    assert result.scores["test"] == {"accuracy": 1.0, "macro_f1": 1.0}
    assert result.sizes == {"train": 150, "val": 30, "test": 30}
    assert 0 < result.train_seconds < 30
    settings = result.settings
    assert settings["C"] in GRID and settings["min_df"] == 2 and settings["sublinear_tf"]
    assert settings["library"] == f"scikit-learn {__import__('sklearn').__version__}"
    assert result.parameters == 3 * settings["features"] + 3  # one-vs-rest: a row per class


def test_it_fits_on_the_training_split_alone() -> None:
    data = toy()
    only_in_test = [Example(e.text + " zebra zebra", e.label) for e in data.test]
    data = ClassificationData(data.train, data.val, only_in_test, labels=data.labels, name="toy")
    result = tfidf_baseline(data)
    options = {"ngram_range": (1, 2), "sublinear_tf": True, "min_df": 2}
    on_train = TfidfVectorizer(**options).fit([e.text for e in data.train])
    with_test = TfidfVectorizer(**options).fit([e.text for e in data.train + data.test])
    assert result.settings["features"] == len(on_train.vocabulary_)
    assert len(with_test.vocabulary_) > len(on_train.vocabulary_)  # the test words would count


def test_c_is_the_best_on_validation_and_a_tie_keeps_the_smaller() -> None:
    data = toy()
    result = tfidf_baseline(data, grid=(0.01, 0.1, 1.0))
    scores = result.settings["val_scores"]
    assert set(scores) == {"0.01", "0.1", "1"}
    best = max(scores.values())
    assert result.settings["C"] == min(float(c) for c, v in scores.items() if v == best)
    assert result.scores["val"]["accuracy"] == scores[f"{result.settings['C']:g}"]


def test_select_macro_f1_picks_c_by_it() -> None:
    result = tfidf_baseline(toy(), select="macro_f1", grid=(0.1, 1.0))
    assert result.settings["select"] == "macro_f1"
    assert result.scores["val"]["macro_f1"] == max(result.settings["val_scores"].values())
    with pytest.raises(ValueError, match="select must be one of"):
        tfidf_baseline(toy(), select="f1")


def test_without_validation_c_is_1_and_the_scores_are_rnnkits_metrics() -> None:
    base = toy()
    hard = [*base.test, Example("the report said today", "food"), Example("rocket oven", "sport")]
    data = ClassificationData(base.train, [], hard, labels=base.labels, name="toy")
    result = tfidf_baseline(data)
    assert "val" not in result.scores and result.settings["C"] == 1.0
    assert result.settings["val_scores"] == {}
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2, dtype=np.float32)
    x = vectorizer.fit_transform([e.text for e in data.train])
    y = [data.labels.index(e.label) for e in data.train]
    model = LinearSVC(C=1.0, random_state=0).fit(x, y)
    guessed = model.predict(vectorizer.transform([e.text for e in data.test]))
    truth = [data.labels.index(e.label) for e in data.test]
    report = classification_report(truth, guessed, data.labels)
    assert result.scores["test"] == {"accuracy": report.accuracy, "macro_f1": report.macro_f1}
    assert report.accuracy < 1  # the texts without a cue or with two make it a real check


def test_a_tiny_training_split_keeps_every_ngram() -> None:
    data = toy(train=30, val=9, test=9)
    assert tfidf_baseline(data).settings["min_df"] == 1


@pytest.mark.parametrize(
    ("train", "message"),
    [
        ([], "has no training texts"),
        ([Example("goal match", "sport")] * 5, "a single class"),
        ([Example("a b", "sport"), Example("c d", "space")] * 5, "no word of two or more"),
    ],
)
def test_data_it_cannot_fit_is_one_clear_error(train: list[Example], message: str) -> None:
    data = ClassificationData(train, [], [], labels=sorted(CUES), name="bad")
    with pytest.raises(ValueError, match=message):
        tfidf_baseline(data)


def test_without_scikit_learn_it_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "sklearn" or m.startswith("sklearn.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "sklearn", None)  # `import sklearn` raises ImportError
    message = "the tfidf baseline needs scikit-learn: pip install 'rnnkit[baseline]'"
    with pytest.raises(BaselineUnavailableError) as raised:
        tfidf_baseline(toy())
    assert str(raised.value) == message
    assert not tfidf.available()
    assert isinstance(raised.value, ValueError)  # the CLI prints a ValueError as one line
