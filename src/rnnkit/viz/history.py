"""A run's training history as a picture: the losses in one panel, the monitored metric for
train and validation in the other, the kept epoch marked on both.

:func:`history_panels` decides what to draw (pure, tested); :func:`plot_history` draws it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from rnnkit._io import atomic_path

__all__ = ["Curve", "KeptMark", "Panel", "history_panels", "plot_history"]


@dataclass(frozen=True)
class Curve:
    """One line: ``values[i]`` at ``epochs[i]`` (1-based)."""

    label: str
    epochs: list[int]
    values: list[float]
    split: str  # "train" or "val": its colour and style


@dataclass(frozen=True)
class Panel:
    """One axes: its curves and ``notes``, legend entries without a line (what the history
    does not hold)."""

    ylabel: str
    curves: list[Curve]
    notes: list[str]


@dataclass(frozen=True)
class KeptMark:
    """The kept epoch: a dashed vertical line on every panel with ``label``, and a dot at
    ``value`` on the validation curve of the monitored metric (panel ``panel``)."""

    epoch: int
    label: str
    panel: int
    value: float | None


def history_panels(
    history: Sequence[Mapping[str, float]],
    *,
    monitor: str,
    kept_epoch: int | None,
    percent: bool,
) -> tuple[list[Panel], KeptMark | None]:
    """What :func:`plot_history` draws for ``history`` (one dict per epoch: ``train_loss``,
    ``val_loss``, ``val_<monitor>``, and ``train_<monitor>`` where training measured it).

    The first panel holds the losses; unless the monitored metric is the loss itself, a second
    holds the monitored metric for validation and, where the history has it, for training; where
    it has not, the legend says so. ``percent``: the metric is a rate, shown ×100. The kept epoch
    (1-based; None: none marked) is labelled with its validation value.
    """
    if not history:
        raise ValueError("history_panels: the history is empty")
    if kept_epoch is not None and not 1 <= kept_epoch <= len(history):
        raise ValueError(
            f"history_panels: kept epoch {kept_epoch} is outside epochs 1–{len(history)}"
        )
    epochs = list(range(1, len(history) + 1))

    def curve(key: str, label: str, split: str, scale: float = 1.0) -> Curve | None:
        if not any(key in h for h in history):
            return None
        values = [scale * h.get(key, math.nan) for h in history]
        return Curve(label, epochs, values, split)

    loss_curves = [c for c in (curve("train_loss", "train loss", "train"),
                               curve("val_loss", "val loss", "val")) if c]  # fmt: skip
    panels = [Panel("loss (nats)", loss_curves, [])]
    scale, unit = (100.0, " (%)") if percent else (1.0, "")
    watched = 0  # the panel of the monitored metric
    if monitor != "loss":
        train = curve(f"train_{monitor}", f"train {monitor}", "train", scale)
        val = curve(f"val_{monitor}", f"val {monitor}", "val", scale)
        notes = [] if train else [f"train {monitor}: not measured (train loss above)"]
        panels.append(Panel(f"{monitor}{unit}", [c for c in (train, val) if c], notes))
        watched = 1
    if kept_epoch is None:
        return panels, None
    val_curve = next((c for c in panels[watched].curves if c.split == "val"), None)
    value = val_curve.values[kept_epoch - 1] if val_curve else None
    if value is not None and math.isnan(value):
        value = None
    shown = "" if value is None else f" (val {monitor} {value:.4g}{unit.strip(' ()')})"
    return panels, KeptMark(kept_epoch, f"kept epoch {kept_epoch}{shown}", watched, value)


def plot_history(
    history: Sequence[Mapping[str, float]],
    *,
    monitor: str,
    kept_epoch: int | None,
    path: str | os.PathLike[str],
    title: str,
    percent: bool = True,
) -> Path:
    """``history`` as a PNG at ``path``, one panel per :func:`history_panels` panel; the kept
    epoch a dashed red line on each and a dot on the validation curve of the monitored metric.
    Written atomically; returns the path."""
    panels, kept = history_panels(history, monitor=monitor, kept_epoch=kept_epoch, percent=percent)
    fig = Figure(figsize=(8.0, 3.2 * len(panels) + 0.6), dpi=110, layout="tight")
    FigureCanvasAgg(fig)
    colours = {"train": "tab:blue", "val": "tab:orange"}
    for i, panel in enumerate(panels):
        ax = fig.add_subplot(len(panels), 1, i + 1)
        for c in panel.curves:
            ax.plot(c.epochs, c.values, marker=".", color=colours[c.split], label=c.label,
                    linestyle="-" if c.split == "val" else "--")  # fmt: skip
        for note in panel.notes:
            ax.plot([], [], " ", label=note)  # a legend line with no curve
        if kept is not None:
            ax.axvline(kept.epoch, color="tab:red", linestyle=":", linewidth=1.2,
                       label=kept.label if i == kept.panel else None)  # fmt: skip
            if i == kept.panel and kept.value is not None:
                ax.plot([kept.epoch], [kept.value], "o", color="tab:red")
        ax.set_ylabel(panel.ylabel)
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="best", frameon=False, fontsize=8)
        if i == 0:
            ax.set_title(title)
        if i == len(panels) - 1:
            ax.set_xlabel("epoch")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return Path(path)
