"""The Trainer callback that feeds Optuna's pruner: after every epoch it reports the monitored
validation metric of the trial and stops the trial (``optuna.TrialPruned``) when the pruner
says it is clearly worse than the trials before it at the same point."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rnnkit.training import Callback

if TYPE_CHECKING:
    import optuna

    from rnnkit.training import Trainer

__all__ = ["PruningCallback"]


class PruningCallback(Callback):
    """Reports ``val_<monitor>`` after each epoch to ``trial`` as the intermediate value of step
    ``step_offset + epoch`` (a cross-validated trial trains fold after fold: fold ``i`` reports
    from ``i × epochs`` on, so every trial's step ``s`` is the same fold and epoch) and raises
    ``optuna.TrialPruned`` when the study's pruner prunes it.

    Args:
        trial: the running trial.
        step_offset: the step of this fit's first epoch.
        where: what this fit is, for the message of a pruned trial (``fold 2``).
    """

    def __init__(self, trial: optuna.Trial, *, step_offset: int = 0, where: str = "") -> None:
        self.trial, self.step_offset, self.where = trial, step_offset, where
        self.pruned_at: str | None = None

    def on_epoch_end(self, trainer: Trainer, epoch: int, metrics: dict[str, Any]) -> None:
        import optuna

        monitor = trainer.config.monitor
        value = metrics.get(f"val_{monitor}")
        if value is None:
            return
        self.trial.report(float(value), self.step_offset + epoch)
        if self.trial.should_prune():
            place = f"{self.where} epoch {epoch + 1}".strip()
            self.pruned_at = place
            raise optuna.TrialPruned(f"pruned at {place}: val {monitor} {value:.4g}")
