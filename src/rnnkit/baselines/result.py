"""What a baseline reports beside a run: its scores per split, its settings and its time."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["BaselineResult", "BaselineUnavailableError"]


class BaselineUnavailableError(ValueError):
    """A baseline's optional packages are not installed; the message says what to install."""


@dataclass(frozen=True)
class BaselineResult:
    """A baseline trained on a run's training split and scored on its other splits.

    Args:
        name: the baseline's key (``tfidf``), as ``run.baseline`` and ``--baseline`` name it.
        method: how reports print it (``TF-IDF + LinearSVC``).
        scores: per split (``val``, ``test``; a split the data lacks is left out), the metrics as
            fractions in [0, 1] (``accuracy``, ``macro_f1``).
        train_seconds: wall time of fitting, model selection included.
        sizes: the examples of each split it saw, so a reader can check it had the run's split.
        settings: what it chose and ran with (the grid, the chosen ``C``, ``min_df``, the
            number of features, the library's version), JSON-ready.
        parameters: the number of learned weights.
    """

    name: str
    method: str
    scores: dict[str, dict[str, float]]
    train_seconds: float
    sizes: dict[str, int]
    settings: dict[str, Any] = field(default_factory=dict)
    parameters: int = 0

    def figures(self) -> dict[tuple[str, str], float]:
        """Every score by (split, metric)."""
        return {(s, m): v for s, scores in self.scores.items() for m, v in scores.items()}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (what ``baseline.json`` holds)."""
        return {
            "name": self.name,
            "method": self.method,
            "scores": self.scores,
            "train_seconds": self.train_seconds,
            "sizes": self.sizes,
            "settings": self.settings,
            "parameters": self.parameters,
        }

    @classmethod
    def from_dict(cls, saved: Mapping[str, Any], *, where: str) -> BaselineResult:
        """Read back :meth:`to_dict`; one clear error naming ``where`` if a key is missing."""
        missing = [k for k in ("name", "method", "scores", "train_seconds") if k not in saved]
        if missing:
            raise ValueError(f"{where}: not a baseline result ({', '.join(missing)} missing)")
        return cls(
            name=str(saved["name"]),
            method=str(saved["method"]),
            scores={s: dict(m) for s, m in dict(saved["scores"]).items()},
            train_seconds=float(saved["train_seconds"]),
            sizes=dict(saved.get("sizes", {})),
            settings=dict(saved.get("settings", {})),
            parameters=int(saved.get("parameters", 0)),
        )
