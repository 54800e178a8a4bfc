"""K-fold cuts of the training split, for every task: disjoint validation folds that together are
the training split, each fold's training part the rest, label proportions kept (classify),
contiguous blocks cut at line ends (lm), and the test split never touched."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import torch
from tuning_helpers import (
    classification_data,
    corpus_data,
    parallel_data,
    synthetic_data,
    tagging_data,
)

from rnnkit.datasets.folds import check_folds, contiguous_kfold, kfold, stratified_kfold
from rnnkit.tasks.base import get_task

K = 3


def items(data: Any, split: str) -> list[Any]:
    """A split's items, comparable by value (a synthetic split's rows as tuples of numbers)."""
    if isinstance(data, dict):
        x, y = data[split]
        return [(tuple(x[i].flatten().tolist()), float(y[i])) for i in range(len(y))]
    return list(data.split(split))


DATA = {
    "classify": classification_data,
    "tag": tagging_data,
    "lm": corpus_data,
    "seq2seq": parallel_data,
    "synthetic": synthetic_data,
}


@pytest.mark.parametrize("task_name", sorted(DATA))
def test_folds_are_disjoint_cover_the_training_split_and_never_touch_the_test_split(
    task_name: str,
) -> None:
    data = DATA[task_name]()
    folds = get_task(task_name).folds(data, K, seed=0)
    assert len(folds) == K
    train, test = items(data, "train"), items(data, "test")
    held_out: list[Any] = []
    for fold in folds:
        fold_train, fold_val = items(fold, "train"), items(fold, "val")
        assert fold_val, "every fold holds some validation items"
        assert Counter(fold_train) + Counter(fold_val) == Counter(train)  # the rest trains
        assert not set(fold_train) & set(fold_val) or task_name == "lm"  # a stream repeats words
        assert not (set(fold_train) | set(fold_val)) & set(test) - set(train)
        assert items(fold, "test") == test  # the test split as it was
        if isinstance(data, dict):
            assert fold["test"] is data["test"]
        else:
            assert fold.test is data.test
        held_out += fold_val
    assert Counter(held_out) == Counter(train)  # each training item in exactly one fold


def test_test_items_never_enter_a_fold() -> None:
    """With test items distinct from every training item, no fold holds any of them."""
    for name, make in DATA.items():
        data = make()
        test = set(items(data, "test")) - {"<eos>"}  # a stream's line end is in every split
        for fold in get_task(name).folds(data, K, seed=1):
            assert not test & set(items(fold, "train")), name
            assert not test & set(items(fold, "val")), name


def test_classification_folds_keep_the_label_proportions() -> None:
    data = classification_data(30)  # 15 a, 10 b, 5 c
    for fold in get_task("classify").folds(data, K, seed=0):
        counts = Counter(e.label for e in fold.val)
        for label, total in Counter(e.label for e in data.train).items():
            assert abs(counts[label] - total / K) <= 1, (label, counts)
        assert fold.labels == data.labels


def test_language_model_folds_are_contiguous_blocks_cut_at_line_ends() -> None:
    data = corpus_data()
    stream = data.train
    start = 0
    for fold in get_task("lm").folds(data, K, seed=0):
        block = fold.val
        assert stream[start : start + len(block)] == block  # the next block of the stream
        assert stream[:start] + stream[start + len(block) :] == fold.train
        assert block[-1] == "<eos>"  # each block ends a line
        start += len(block)
    assert start == len(stream)


def test_the_same_seed_gives_the_same_folds_and_another_seed_others() -> None:
    for name in ("classify", "tag", "seq2seq"):
        data, task = DATA[name](), get_task(name)
        first = [items(f, "val") for f in task.folds(data, K, seed=5)]
        assert first == [items(f, "val") for f in task.folds(data, K, seed=5)]
        assert first != [items(f, "val") for f in task.folds(data, K, seed=6)]


def test_tagging_folds_name_the_training_file_for_validation() -> None:
    for fold in get_task("tag").folds(tagging_data(), K, seed=0):
        assert fold.files["val"] == "train.txt" and fold.files["test"] == "test.txt"


def test_synthetic_folds_take_rows_of_both_tensors() -> None:
    data = synthetic_data(20)
    for fold in get_task("synthetic").folds(data, 4, seed=0):
        x, y = fold["val"]
        assert isinstance(x, torch.Tensor) and x.shape == (5, 3, 2) and y.shape == (5,)
        assert torch.equal(x[:, 0, 0], y)  # the rows stay paired


def test_index_cuts() -> None:
    assert [len(f) for f in kfold(11, 4, seed=0)] == [3, 3, 3, 2]
    labels = ["x"] * 7 + ["y"] * 5
    folds = stratified_kfold(labels, 3, seed=0)
    assert sorted(i for f in folds for i in f) == list(range(12))
    assert max(len(f) for f in folds) - min(len(f) for f in folds) <= 1
    assert contiguous_kfold(7, 7) == [[i] for i in range(7)]
    assert contiguous_kfold(10, 2, breaks={9}) == [[0, 1, 2, 3, 4, 5, 6, 7, 8], [9]]


@pytest.mark.parametrize(
    ("k", "n", "message"),
    [
        (1, 10, "folds: k-fold cross-validation needs k ≥ 2 folds, got 1"),
        (4, 3, "folds: the training split holds 3 items, too few for 4 folds"),
    ],
)
def test_impossible_folds_are_one_line(k: int, n: int, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        check_folds(k, n)
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)
