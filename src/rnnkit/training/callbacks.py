"""Named events the Trainer fires, and the callbacks it ships: progress, best weights, metrics
log, early stop, checkpoints.

A callback overrides any of the ``on_*`` methods; the Trainer passes itself, so a callback reads
``trainer.state`` (epoch, step, history, best) and may set ``trainer.state.should_stop``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tqdm.auto import tqdm

from rnnkit._io import atomic_write_text
from rnnkit.training.checkpoint import save_checkpoint, save_weights

if TYPE_CHECKING:
    from rnnkit.training.trainer import Trainer


class Callback:
    """Base class: every event does nothing."""

    def on_fit_start(self, trainer: Trainer) -> None:
        """Before the first epoch (after a resume has restored the state)."""

    def on_epoch_start(self, trainer: Trainer, epoch: int, num_batches: int) -> None:
        """Before the first batch of ``epoch`` (0-based)."""

    def on_batch_end(self, trainer: Trainer, loss: float) -> None:
        """After each optimizer step, with the batch's training loss."""

    def on_epoch_end(self, trainer: Trainer, epoch: int, metrics: dict[str, float]) -> None:
        """After validation; ``metrics`` holds ``train_loss``, ``val_*``, ``lr``, ``seconds``."""

    def on_fit_end(self, trainer: Trainer) -> None:
        """After the last epoch, once the best weights are back in the model."""


class ProgressBar(Callback):
    """A tqdm bar per epoch with the running training loss and the last validation metric."""

    def __init__(self) -> None:
        self._bar: Any = None
        self._loss_sum = 0.0
        self._count = 0

    def on_epoch_start(self, trainer: Trainer, epoch: int, num_batches: int) -> None:
        total = trainer.config.epochs
        self._bar = tqdm(total=num_batches, desc=f"epoch {epoch + 1}/{total}", leave=True)
        self._loss_sum, self._count = 0.0, 0

    def on_batch_end(self, trainer: Trainer, loss: float) -> None:
        self._loss_sum += loss
        self._count += 1
        if self._bar is not None:
            self._bar.update(1)
            if self._count % 10 == 0 or self._count == self._bar.total:
                self._bar.set_postfix(loss=f"{self._loss_sum / self._count:.4f}")

    def on_epoch_end(self, trainer: Trainer, epoch: int, metrics: dict[str, float]) -> None:
        if self._bar is not None:
            shown = {"loss": f"{metrics['train_loss']:.4f}"}
            monitor = f"val_{trainer.config.monitor}"
            if monitor in metrics:
                shown[monitor] = f"{metrics[monitor]:.4f}"
            self._bar.set_postfix(shown)
            self._bar.close()
            self._bar = None


class BestWeights(Callback):
    """Writes the model's weights to ``path`` (safetensors) whenever the epoch is the new best:
    the weights it was validated with (NT-ASGD's average, once it averages)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def on_epoch_end(self, trainer: Trainer, epoch: int, metrics: dict[str, float]) -> None:
        if trainer.state.improved:
            with trainer.evaluation_weights():
                save_weights(trainer.model, self.path)


class Checkpointing(Callback):
    """Writes the whole training state to ``path`` after every epoch, atomically, so a killed
    run resumes from its last finished epoch."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def on_epoch_end(self, trainer: Trainer, epoch: int, metrics: dict[str, float]) -> None:
        save_checkpoint(trainer.checkpoint_state(), self.path)


class MetricsLog(Callback):
    """Appends one JSON line per epoch to ``metrics.jsonl`` in the run directory. A fit starts by
    writing the file afresh from the history it starts with (a resumed fit's checkpoint), so an
    epoch logged just before a kill, whose checkpoint never got written, is not there twice."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def on_fit_start(self, trainer: Trainer) -> None:
        lines = [
            json.dumps({"epoch": i + 1, **m}) + "\n" for i, m in enumerate(trainer.state.history)
        ]
        atomic_write_text(self.path, "".join(lines))

    def on_epoch_end(self, trainer: Trainer, epoch: int, metrics: dict[str, float]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as log:
            log.write(json.dumps({"epoch": epoch + 1, **metrics}) + "\n")
            log.flush()


class EarlyStopping(Callback):
    """Stops when the monitored validation metric has not improved for ``patience`` epochs."""

    def __init__(self, patience: int) -> None:
        if patience < 1:
            raise ValueError(f"EarlyStopping: patience must be ≥ 1, got {patience}")
        self.patience = patience

    def on_epoch_end(self, trainer: Trainer, epoch: int, metrics: dict[str, float]) -> None:
        best_epoch = trainer.state.best_epoch
        since = epoch + 1 if best_epoch is None else epoch - best_epoch  # no best yet: all count
        if since >= self.patience:
            trainer.state.should_stop = True


def is_better(value: float, best: float | None, mode: str) -> bool:
    """Whether ``value`` improves on ``best`` under ``mode`` ("max" or "min")."""
    if math.isnan(value):
        return False
    if best is None:
        return True
    return value > best if mode == "max" else value < best
