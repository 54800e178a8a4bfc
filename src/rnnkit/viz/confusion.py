"""Confusion matrix as a PNG: rows are true classes, columns predictions, cells row-normalised."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from numpy.typing import NDArray

from rnnkit._io import atomic_path


def plot_confusion(
    confusion: NDArray[np.int64],
    labels: Sequence[str],
    *,
    path: str | os.PathLike[str],
    title: str,
) -> Path:
    """Save ``confusion`` (C, C) as a heat map with counts; each row shaded by its recall."""
    C = len(labels)
    if confusion.shape != (C, C):
        raise ValueError(f"plot_confusion: confusion is {confusion.shape}, labels give ({C}, {C})")
    rows = confusion.sum(1, keepdims=True).clip(min=1)
    share = confusion / rows  # (C, C) fraction of each true class
    size = max(4.5, 0.45 * C + 2.5)
    fig = Figure(figsize=(size + 1, size), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the true class")
    ax.set_xticks(range(C), labels, rotation=60, ha="right", fontsize=8 if C > 10 else 10)
    ax.set_yticks(range(C), labels, fontsize=8 if C > 10 else 10)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    if C <= 25:
        for i in range(C):
            for j in range(C):
                if confusion[i, j]:
                    color = "white" if share[i, j] > 0.5 else "black"
                    ax.text(
                        j,
                        i,
                        str(confusion[i, j]),
                        ha="center",
                        va="center",
                        fontsize=7,
                        color=color,
                    )
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return Path(path)
