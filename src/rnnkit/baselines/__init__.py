"""rnnkit.baselines: simple models trained on a run's own split and reported beside it, so a
result is read against what a two-second model reaches (scikit-learn, an optional extra)."""

from rnnkit.baselines.result import BaselineResult, BaselineUnavailableError
from rnnkit.baselines.tfidf import tfidf_baseline

__all__ = ["BaselineResult", "BaselineUnavailableError", "tfidf_baseline"]
