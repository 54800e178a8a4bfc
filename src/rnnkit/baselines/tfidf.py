"""TF-IDF + LinearSVC, the linear baseline a text classifier has to beat, trained with
scikit-learn (an optional extra: ``pip install 'rnnkit[baseline]'``).

- **Features**: TF-IDF of word unigrams and bigrams (``TfidfVectorizer(ngram_range=(1, 2),
  sublinear_tf=True)``: tf becomes 1 + log tf, rows are L2-normalised), over the texts exactly as
  the dataset gives them, tokenised by scikit-learn's own rule (lower-cased runs of two or more
  letters or digits), not by rnnkit's vocabulary. ``min_df`` is :data:`MIN_DF` (an n-gram must
  occur in at least two training texts: this drops the hapax bigrams that make up most of the
  feature space and carry no signal a linear model can generalise from), 1 for a training split of
  fewer than :data:`SMALL` texts.
- **Model**: ``LinearSVC`` (squared hinge, one-vs-rest, liblinear, seeded). ``C`` is chosen on the
  validation split from :data:`GRID` by the metric ``select`` names (the run's monitored metric,
  accuracy or macro-F1; ties go to the smaller ``C``); without a validation split ``C`` is 1.
- **Data**: fitted on the ``train`` split of the :class:`~rnnkit.datasets.ClassificationData` the
  run itself trains on (the same held-out validation texts, the same test set), never on val or
  test; scored with rnnkit's own :func:`~rnnkit.metrics.classification_report`, so its accuracy
  and macro-F1 are the run's figures to the digit.

``train_seconds`` is the wall time of fitting the vectorizer, every model of the grid and the
validation scoring that picks one.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from rnnkit.baselines.result import BaselineResult, BaselineUnavailableError
from rnnkit.datasets import ClassificationData, Example
from rnnkit.metrics import classification_report

__all__ = ["GRID", "METHOD", "MIN_DF", "NAME", "available", "require_sklearn", "tfidf_baseline"]

NAME = "tfidf"
METHOD = "TF-IDF + LinearSVC"
GRID = (0.1, 0.3, 1.0, 3.0)  # LinearSVC's C, chosen on the validation split
MIN_DF = 2  # an n-gram must occur in this many training texts
SMALL = 100  # a training split under this many texts keeps every n-gram (min_df 1)
SELECTABLE = ("accuracy", "macro_f1")
MISSING = "the tfidf baseline needs scikit-learn: pip install 'rnnkit[baseline]'"


def require_sklearn() -> str:
    """scikit-learn's version; :class:`BaselineUnavailableError` (one line saying what to install)
    where it is not installed."""
    try:
        import sklearn
        import sklearn.feature_extraction.text
        import sklearn.svm
    except ImportError:
        raise BaselineUnavailableError(MISSING) from None
    return str(sklearn.__version__)


def available() -> bool:
    """Whether scikit-learn can be imported (what ``run.baseline = "auto"`` asks)."""
    try:
        require_sklearn()
    except BaselineUnavailableError:
        return False
    return True


def tfidf_baseline(
    data: ClassificationData,
    *,
    select: str = "accuracy",
    grid: Sequence[float] = GRID,
    min_df: int | None = None,
) -> BaselineResult:
    """Fit TF-IDF + LinearSVC on ``data.train``, ``C`` chosen on ``data.val`` by ``select``
    (``accuracy`` or ``macro_f1``), and score it on val and test (each where the data has it).

    Args:
        data: the run's dataset, split as the run splits it.
        select: the validation metric that picks ``C``.
        grid: the values of ``C`` tried (the first is used alone without a validation split,
            unless 1.0 is among them).
        min_df: the vectorizer's ``min_df``; None: :data:`MIN_DF` (1 under :data:`SMALL`
            training texts).

    Raises:
        BaselineUnavailableError: scikit-learn is not installed.
        ValueError: an empty training split, a single class in it, an empty grid or an unknown
            ``select``.

    >>> from rnnkit.datasets import Example
    >>> texts = [("a good film", "pos"), ("a bad film", "neg")] * 10
    >>> data = ClassificationData(
    ...     [Example(t, y) for t, y in texts], [Example("good", "pos"), Example("bad", "neg")],
    ...     [Example("so good", "pos")], labels=["neg", "pos"], name="toy")
    >>> result = tfidf_baseline(data)
    >>> result.scores["val"]["accuracy"], result.scores["test"]["accuracy"]
    (1.0, 1.0)
    """
    version = require_sklearn()
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    if select not in SELECTABLE:
        raise ValueError(f"tfidf baseline: select must be one of {SELECTABLE}, got {select!r}")
    if not grid:
        raise ValueError("tfidf baseline: the grid of C values is empty")
    if not data.train:
        raise ValueError(f"tfidf baseline: {data.name or 'the dataset'} has no training texts")
    index = {label: i for i, label in enumerate(data.labels)}
    y_train = _targets(data.train, index)
    if len(set(y_train.tolist())) < 2:
        raise ValueError("tfidf baseline: the training split holds a single class")
    chosen_min_df = min_df if min_df is not None else (MIN_DF if len(data.train) >= SMALL else 1)

    started = time.perf_counter()
    texts = [e.text for e in data.train]
    while True:
        vectorizer = TfidfVectorizer(
            ngram_range=(1, 2), sublinear_tf=True, min_df=chosen_min_df, dtype=np.float32
        )
        try:
            x_train = vectorizer.fit_transform(texts)
            break
        except ValueError:  # no n-gram left: none in min_df texts, or no word at all
            if chosen_min_df == 1:
                raise ValueError(
                    "tfidf baseline: the training texts hold no word of two or more letters or "
                    "digits (scikit-learn's tokens), nothing to fit"
                ) from None
            chosen_min_df = 1
    x_val = vectorizer.transform([e.text for e in data.val]) if data.val else None
    y_val = _targets(data.val, index)
    tried: dict[str, float] = {}
    best: tuple[float, Any, float] | None = None  # (C, model, its validation score)
    candidates = list(grid) if x_val is not None else [1.0 if 1.0 in grid else grid[0]]
    for c in candidates:
        model = LinearSVC(C=c, random_state=0).fit(x_train, y_train)
        if x_val is None:
            best = (c, model, float("nan"))
            break
        score = _scores(model.predict(x_val), y_val, data.labels)[select]
        tried[f"{c:g}"] = score
        if best is None or score > best[2]:  # the first (smaller) C keeps a tie
            best = (c, model, score)
    seconds = time.perf_counter() - started
    assert best is not None
    c, model, _ = best

    scores = {}
    for split in ("val", "test"):
        examples = data.split(split)
        if examples:
            predicted = model.predict(vectorizer.transform([e.text for e in examples]))
            scores[split] = _scores(predicted, _targets(examples, index), data.labels)
    features = len(vectorizer.vocabulary_)
    return BaselineResult(
        name=NAME,
        method=METHOD,
        scores=scores,
        train_seconds=seconds,
        sizes={s: len(data.split(s)) for s in ("train", "val", "test")},
        settings={
            "C": c,
            "grid": list(grid) if x_val is not None else [c],
            "select": select,
            "val_scores": tried,
            "ngram_range": [1, 2],
            "sublinear_tf": True,
            "min_df": chosen_min_df,
            "features": features,
            "library": f"scikit-learn {version}",
        },
        parameters=int(model.coef_.size + model.intercept_.size),
    )


def _targets(examples: Sequence[Example], index: dict[str, int]) -> np.ndarray[Any, Any]:
    return np.array([index[e.label] for e in examples], dtype=np.int64)


def _scores(
    predicted: np.ndarray[Any, Any], truth: np.ndarray[Any, Any], labels: Sequence[str]
) -> dict[str, float]:
    report = classification_report(truth, np.asarray(predicted, dtype=np.int64), labels)
    return {"accuracy": report.accuracy, "macro_f1": report.macro_f1}
