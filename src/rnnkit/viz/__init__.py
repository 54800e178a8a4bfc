"""rnnkit.viz: plots (learning curves, attention heat maps, …), drawn off-screen with
matplotlib's Agg canvas."""

from rnnkit.viz.attention import plot_attention
from rnnkit.viz.curves import plot_learning_curves

__all__ = ["plot_attention", "plot_learning_curves"]
