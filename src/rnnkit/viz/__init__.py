"""rnnkit.viz: plots (learning curves, …), drawn off-screen with matplotlib's Agg canvas."""

from rnnkit.viz.curves import plot_learning_curves

__all__ = ["plot_learning_curves"]
