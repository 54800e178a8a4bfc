"""rnnkit.tuning — hyperparameter search with cross-validation for every task, on Optuna.

A search space in the ``tune`` section of a run's config file (:class:`SearchSpace`), a search
over it (:func:`tune`, :class:`TuneOptions`) whose trials are the task's generic runs on K folds
of the training split (or on its validation split), pruned by the per-epoch validation metric
(:class:`PruningCallback`), kept in a study in SQLite or any database Optuna takes, shared by
worker processes and resumable; and its results (``trials.csv``, ``best.toml``, plots,
``report.md``). Optuna is an optional extra: ``pip install 'rnnkit[tune]'``.
"""

from rnnkit.tuning.config import read_search
from rnnkit.tuning.pruning import PruningCallback
from rnnkit.tuning.results import TrialRow, format_toml
from rnnkit.tuning.search import SearchInterrupted, TuneOptions, TuneResult, tune
from rnnkit.tuning.space import Choice, Range, SearchSpace
from rnnkit.tuning.storage import TuningUnavailableError, require_optuna

__all__ = [
    "Choice",
    "PruningCallback",
    "Range",
    "SearchInterrupted",
    "SearchSpace",
    "TrialRow",
    "TuneOptions",
    "TuneResult",
    "TuningUnavailableError",
    "format_toml",
    "read_search",
    "require_optuna",
    "tune",
]
