"""Attention weights of one translated sentence as a PNG heat map: rows the target tokens
produced, columns the source tokens."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from numpy.typing import NDArray

from rnnkit._io import atomic_path

__all__ = ["plot_attention"]

CELL_INCHES = 0.42  # the side of one (target, source) cell at the usual sentence lengths


def plot_attention(
    weights: Sequence[Sequence[float]] | NDArray[Any] | torch.Tensor,
    source: Sequence[str],
    target: Sequence[str],
    path: str | os.PathLike[str],
    *,
    title: str = "",
) -> Path:
    """Save ``weights`` (len(target), len(source)) as a heat map to ``path`` (PNG) and return it.

    Row i is the i-th target token produced, column j the j-th source token; darker = more
    weight, on a fixed 0–1 scale (a weight is a share of the row's attention), so two
    sentences' pictures compare. Token labels on both axes (the source's rotated), drawn as
    plain text (a ``$`` in a token is not mathtext), a colour bar, one square cell per pair.
    Drawn on an Agg canvas (no display, no pyplot state); the file is written atomically
    (a temporary file beside it, then a rename). ``weights`` may be nested lists, a NumPy array
    or a tensor (detached and moved to the CPU here, e.g. the ``(T, S)`` slice of
    :class:`~rnnkit.nn.Attention`'s weights for one sentence).

    A shape that does not match the token lists, or no tokens, is one ``ValueError`` line.
    """
    grid = _as_grid(weights)
    expected = (len(target), len(source))
    if grid is None or grid.shape != expected:
        got = "rows that are not a grid of numbers" if grid is None else str(grid.shape)
        raise ValueError(
            f"plot_attention: weights must be (len(target), len(source)) = {expected}, got {got}"
        )
    if not source or not target:
        raise ValueError(f"plot_attention: source and target need tokens, got shape {expected}")
    T, S = expected
    small = max(T, S) > 30  # long sentences: smaller labels so they do not overlap
    fontsize = 7 if small else 9
    cell = CELL_INCHES * (0.75 if small else 1.0)
    fig = Figure(figsize=(cell * S + 2.4, cell * T + 1.6 + (0.4 if title else 0)), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    image = ax.imshow(grid, cmap="Blues", vmin=0.0, vmax=1.0, aspect="equal")
    inch = 1 / (cell * S)  # one inch in axes coordinates, across
    bar = ax.inset_axes((1 + 0.15 * inch, 0, 0.18 * inch, 1))  # as high as the image
    fig.colorbar(image, cax=bar, label="attention weight")
    ax.set_xticks(
        range(S),
        list(source),
        rotation=60,
        ha="right",
        rotation_mode="anchor",
        fontsize=fontsize,
        parse_math=False,
    )
    ax.set_yticks(range(T), list(target), fontsize=fontsize, parse_math=False)
    ax.set_xlabel("source")
    ax.set_ylabel("target")
    if title:
        ax.set_title(title, parse_math=False)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", bbox_inches="tight")
    return Path(path)


def _as_grid(weights: object) -> NDArray[np.float64] | None:
    """``weights`` as a float64 array, or None when nested lists are ragged or not numbers."""
    if isinstance(weights, torch.Tensor):
        return weights.detach().to("cpu", torch.float64).numpy()
    try:
        return np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError):  # rows of different lengths, or not numbers
        return None
