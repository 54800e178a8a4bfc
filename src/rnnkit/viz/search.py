"""A hyperparameter search as pictures: the objective of each trial in order (the optimisation
history, best so far drawn as a step line), and the objective against each searched setting.
Drawn off-screen on matplotlib's Agg canvas; knows nothing of Optuna (it takes plain points)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from rnnkit._io import atomic_path

__all__ = ["SearchPoint", "plot_objective_by_setting", "plot_search_history"]


@dataclass(frozen=True)
class SearchPoint:
    """One trial: its number, its objective (the mean over folds; for a pruned trial its last
    reported value), the spread over folds, its settings, and whether it was pruned."""

    number: int
    value: float
    std: float
    params: dict[str, object]
    pruned: bool = False


def plot_search_history(
    points: Sequence[SearchPoint],
    *,
    maximize: bool,
    ylabel: str,
    path: Path,
    title: str,
    scale: float = 1.0,
    label: str = "trial",
) -> Path:
    """Each finished trial's objective by trial number (error bars: the standard deviation over
    folds; pruned trials hollow, at their last reported value), and the best so far as a step
    line."""
    figure = Figure(figsize=(7.0, 4.0))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    done = sorted((p for p in points if not p.pruned), key=lambda p: p.number)
    pruned = [p for p in points if p.pruned]
    if done:
        axes.errorbar(
            [p.number for p in done], [scale * p.value for p in done],
            yerr=[scale * p.std for p in done], fmt="o", color="tab:blue", ecolor="tab:gray",
            capsize=3, label=label,
        )  # fmt: skip
        best, xs, ys = None, [], []
        for p in done:
            if best is None or (p.value > best if maximize else p.value < best):
                best = p.value
            xs.append(p.number)
            ys.append(scale * best)
        axes.step(xs, ys, where="post", color="tab:red", label="best so far")
    if pruned:
        axes.scatter(
            [p.number for p in pruned], [scale * p.value for p in pruned],
            facecolors="none", edgecolors="tab:orange", label="pruned (last value)",
        )  # fmt: skip
    axes.set_xlabel("trial")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.grid(alpha=0.3)
    if done or pruned:
        axes.legend(loc="best", fontsize="small")
    figure.subplots_adjust(left=0.11, right=0.97, bottom=0.13, top=0.91)
    return _save(figure, path)


def plot_objective_by_setting(
    points: Sequence[SearchPoint],
    settings: Sequence[str],
    *,
    log_scale: Sequence[str] = (),
    ylabel: str,
    path: Path,
    title: str,
    scale: float = 1.0,
) -> Path:
    """One panel per searched setting: each finished trial's objective against its value (a
    setting whose values are not all numbers is drawn at evenly spaced positions, in the order
    first seen); ``log_scale``: the settings searched on a log scale."""
    done = [p for p in points if not p.pruned]
    columns = min(3, max(1, len(settings)))
    rows = -(-len(settings) // columns)
    figure = Figure(figsize=(4.0 * columns, 3.2 * rows))
    FigureCanvasAgg(figure)
    for index, name in enumerate(settings):
        axes = figure.add_subplot(rows, columns, index + 1)
        values = [p.params.get(name) for p in done]
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        if numeric:
            xs = [float(v) for v in values]  # type: ignore[arg-type]
        else:
            labels = list(dict.fromkeys(str(v) for v in values))
            xs = [float(labels.index(str(v))) for v in values]
            axes.set_xticks(range(len(labels)), labels)
            axes.set_xlim(-0.5, len(labels) - 0.5)
        axes.errorbar(
            xs, [scale * p.value for p in done], yerr=[scale * p.std for p in done], fmt="o",
            color="tab:blue", ecolor="tab:gray", capsize=3,
        )  # fmt: skip
        if numeric and name in log_scale:
            axes.set_xscale("log")
            axes.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
            axes.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))  # no mathtext
            axes.xaxis.set_minor_formatter(NullFormatter())
        axes.set_xlabel(name, fontsize="small")
        axes.set_ylabel(ylabel, fontsize="small")
        axes.grid(alpha=0.3)
    figure.suptitle(title)
    figure.subplots_adjust(left=0.08, right=0.98, bottom=0.16 / rows, top=1 - 0.12 / rows,
                           wspace=0.3, hspace=0.45)  # fmt: skip
    return _save(figure, path)


def _save(figure: Figure, path: Path) -> Path:
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=100)
    return path
