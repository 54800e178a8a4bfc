"""What the learning-curve picture shows: the losses, the monitored metric for train (where it
was measured) and validation, and the kept epoch marked where it is."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from rnnkit.viz.history import history_panels, plot_history

HISTORY = [
    {"train_loss": 0.9, "val_loss": 0.8, "val_accuracy": 0.60, "seconds": 1.0},
    {"train_loss": 0.6, "val_loss": 0.5, "val_accuracy": 0.75, "seconds": 1.0},
    {"train_loss": 0.4, "val_loss": 0.55, "val_accuracy": 0.80, "seconds": 1.0},  # kept
    {"train_loss": 0.3, "val_loss": 0.7, "val_accuracy": 0.78, "seconds": 1.0},
]


def test_the_kept_epoch_is_marked_on_the_monitored_metric_not_the_loss() -> None:
    panels, kept = history_panels(HISTORY, monitor="accuracy", kept_epoch=3, percent=True)
    assert [p.ylabel for p in panels] == ["loss (nats)", "accuracy (%)"]
    assert kept is not None
    assert (kept.epoch, kept.panel) == (3, 1)
    assert kept.value == pytest.approx(80.0)  # the validation accuracy of epoch 3, in percent
    assert kept.label == "kept epoch 3 (val accuracy 80%)"
    losses = {c.label: c.values for c in panels[0].curves}
    assert losses == {"train loss": [0.9, 0.6, 0.4, 0.3], "val loss": [0.8, 0.5, 0.55, 0.7]}
    # the validation loss bottoms at epoch 2: the mark still follows the monitored metric
    assert min(range(4), key=losses["val loss"].__getitem__) + 1 != kept.epoch


def test_a_train_metric_is_drawn_where_training_measured_it_and_said_missing_where_not() -> None:
    panels, _ = history_panels(HISTORY, monitor="accuracy", kept_epoch=3, percent=True)
    assert [c.label for c in panels[1].curves] == ["val accuracy"]
    assert panels[1].notes == ["train accuracy: not measured (train loss above)"]
    measured = [{**h, "train_accuracy": 0.5 + 0.1 * i} for i, h in enumerate(HISTORY)]
    panels, _ = history_panels(measured, monitor="accuracy", kept_epoch=3, percent=True)
    curves = {c.label: c for c in panels[1].curves}
    assert curves["train accuracy"].values == pytest.approx([50.0, 60.0, 70.0, 80.0])
    assert curves["train accuracy"].split == "train" and panels[1].notes == []


def test_a_loss_monitor_is_one_panel_marked_on_the_validation_loss() -> None:
    history = [{"train_loss": 5.0, "val_loss": 4.6, "val_perplexity": 99.5},
               {"train_loss": 4.5, "val_loss": 4.4, "val_perplexity": 81.5}]  # fmt: skip
    panels, kept = history_panels(history, monitor="loss", kept_epoch=2, percent=False)
    assert len(panels) == 1 and kept is not None
    assert (kept.panel, kept.value, kept.label) == (0, 4.4, "kept epoch 2 (val loss 4.4)")


def test_a_metric_that_is_not_a_rate_is_not_scaled() -> None:
    history = [{"train_loss": 0.2, "val_loss": 0.1, "val_mse": 0.1},
               {"train_loss": 0.1, "val_loss": 0.05, "val_mse": 0.05}]  # fmt: skip
    panels, kept = history_panels(history, monitor="mse", kept_epoch=2, percent=False)
    assert panels[1].ylabel == "mse" and kept is not None and kept.value == 0.05


def test_no_kept_epoch_no_mark_and_an_epoch_out_of_range_is_refused() -> None:
    panels, kept = history_panels(HISTORY, monitor="accuracy", kept_epoch=None, percent=True)
    assert kept is None and len(panels) == 2
    without_val = [{"train_loss": 1.0}, {"train_loss": 0.5}]
    panels, kept = history_panels(without_val, monitor="accuracy", kept_epoch=2, percent=True)
    assert kept is not None and kept.value is None and kept.label == "kept epoch 2"
    with pytest.raises(ValueError, match="kept epoch 5 is outside epochs 1–4"):
        history_panels(HISTORY, monitor="accuracy", kept_epoch=5, percent=True)
    with pytest.raises(ValueError, match="history is empty"):
        history_panels([], monitor="accuracy", kept_epoch=None, percent=True)


def test_an_epoch_without_the_metric_is_a_gap() -> None:
    history = [{"train_loss": 1.0, "val_loss": 0.9}, *HISTORY[1:]]
    panels, _ = history_panels(history, monitor="accuracy", kept_epoch=3, percent=True)
    assert math.isnan(panels[1].curves[0].values[0])


def test_plot_history_writes_the_picture(tmp_path: Path) -> None:
    path = plot_history(HISTORY, monitor="accuracy", kept_epoch=3, path=tmp_path / "c.png",
                        title="run: sst2")  # fmt: skip
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
