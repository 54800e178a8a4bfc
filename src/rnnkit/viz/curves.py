"""Learning curves: one line per run, metric vs training step, written as a PNG."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from rnnkit._io import atomic_path

__all__ = ["plot_learning_curves"]

Curves = Mapping[str, tuple[Sequence[float], Sequence[float]]]  # label -> (steps, values)


def plot_learning_curves(
    curves: Curves,
    *,
    path: str | os.PathLike[str],
    baseline: float | None = None,
    baseline_label: str = "baseline",
    ylabel: str,
    title: str,
    log_y: bool = True,
    xlabel: str = "training step",
) -> Path:
    """Plot ``curves[label] = (steps, values)`` as one line each and save a PNG to ``path``.

    Draws on an Agg canvas (no display, no pyplot global state). ``baseline``, if given, is a
    dashed horizontal line labelled ``baseline_label``. The file is written atomically (a
    temporary file in the same directory, then ``os.replace``). Returns the path written.
    """
    if not curves:
        raise ValueError("plot_learning_curves: curves is empty, nothing to plot")
    fig = _figure(curves, xlabel=xlabel, ylabel=ylabel, title=title, log_y=log_y)
    ax = fig.axes[0]
    if baseline is not None:
        label = f"{baseline_label} ({baseline:.3g})"
        ax.axhline(baseline, color="gray", linestyle="--", linewidth=1.2, label=label)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)  # outside the data
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return Path(path)


def _figure(curves: Curves, *, xlabel: str, ylabel: str, title: str, log_y: bool) -> Figure:
    """A figure with one axes holding the curves, not yet saved."""
    fig = Figure(figsize=(8.0, 4.5), dpi=120, layout="tight")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for label, (steps, values) in curves.items():
        if len(steps) != len(values):
            raise ValueError(
                f"plot_learning_curves: curve {label!r} has {len(steps)} steps "
                f"but {len(values)} values"
            )
        ax.plot(steps, values, marker=".", linewidth=1.5, label=label)
    if log_y:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    return fig
