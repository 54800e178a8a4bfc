"""A run's training history: losses above, the monitored validation metric below, the kept
epoch marked on both."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from rnnkit._io import atomic_path

__all__ = ["plot_history"]


def plot_history(
    history: Sequence[Mapping[str, float]],
    *,
    monitor: str,
    kept_epoch: int | None,
    path: str | os.PathLike[str],
    title: str,
    percent: bool = True,
) -> Path:
    """``history`` (one dict per epoch: ``train_loss``, ``val_loss``, ``val_<monitor>``) as a
    two-panel PNG at ``path``; ``kept_epoch`` (1-based) gets a dashed vertical line and a dot.
    ``percent``: the metric is a rate, shown ×100."""
    if not history:
        raise ValueError("plot_history: the history is empty")
    epochs = list(range(1, len(history) + 1))
    fig = Figure(figsize=(8.0, 6.0), dpi=110, layout="tight")
    FigureCanvasAgg(fig)
    losses, metric = fig.add_subplot(2, 1, 1), fig.add_subplot(2, 1, 2, sharex=None)
    for key, label in (("train_loss", "train loss"), ("val_loss", "val loss")):
        if all(key in h for h in history):
            losses.plot(epochs, [h[key] for h in history], marker=".", label=label)
    losses.set_ylabel("loss (nats)")
    losses.set_title(title)
    key = f"val_{monitor}"
    scale = 100.0 if percent else 1.0
    if all(key in h for h in history):
        values = [scale * h[key] for h in history]
        metric.plot(epochs, values, marker=".", color="tab:green", label=f"val {monitor}")
        if kept_epoch is not None:
            metric.plot([kept_epoch], [values[kept_epoch - 1]], "o", color="tab:red")
    metric.set_ylabel(f"val {monitor}" + (" (%)" if percent else ""))
    metric.set_xlabel("epoch")
    for ax in (losses, metric):
        if kept_epoch is not None:
            ax.axvline(kept_epoch, color="tab:red", linestyle="--", linewidth=1.0,
                       label=f"kept epoch {kept_epoch}")  # fmt: skip
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="best", frameon=False)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return Path(path)
