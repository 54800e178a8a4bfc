"""One Trainer for every task: it knows the :class:`~rnnkit.tasks.base.TaskModel` contract and
nothing else about the model.

Per epoch: train on every batch (``forward_loss``, backward, gradient clipping, optimizer and
per-step LR schedule), evaluate on the validation batches (``evaluate``), keep the best weights
by the monitored metric, log, checkpoint atomically, and stop early if asked. ``fit(resume=True)``
continues a killed run from its last checkpoint and ends with the same weights as a run that was
never interrupted: the data order of an epoch depends only on the seed and the epoch, and the RNG
state is saved with every checkpoint.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from rnnkit.tasks.base import TaskModel, move_to
from rnnkit.training.callbacks import Callback, EarlyStopping, MetricsLog, ProgressBar, is_better
from rnnkit.training.checkpoint import (
    CHECKPOINT,
    WEIGHTS,
    load_checkpoint,
    load_weights,
    save_checkpoint,
    save_weights,
)
from rnnkit.training.distributed import World, all_agree, init_distributed
from rnnkit.training.schedule import OPTIMIZERS, SCHEDULES, make_optimizer, make_scheduler


@dataclass(frozen=True)
class TrainerConfig:
    """How to train; every field has a safe default."""

    epochs: int = 10  # passes over the training batches
    optimizer: str = "adam"  # adam | adamw | sgd
    lr: float = 1e-3  # peak learning rate
    weight_decay: float = 0.0  # L2 for adam and sgd, decoupled for adamw
    momentum: float = 0.9  # sgd only
    schedule: str = "constant"  # constant | linear | cosine | onecycle, stepped every batch
    warmup: float = 0.0  # fraction of all optimizer steps spent warming up
    clip_norm: float | None = 1.0  # max global gradient norm; None turns clipping off
    monitor: str = "accuracy"  # validation metric that picks the best epoch
    mode: str = "max"  # "max" or "min": which way the monitored metric improves
    patience: int | None = None  # stop after this many epochs without improvement; None: never
    seed: int = 0  # model init is the caller's; this seeds dropout and data order
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    bf16: bool = False  # bf16 autocast for the forward pass (CUDA only)
    progress: bool = True  # a progress bar per epoch

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"TrainerConfig: epochs must be ≥ 1, got {self.epochs}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"TrainerConfig: optimizer must be one of {', '.join(OPTIMIZERS)}, "
                f"got {self.optimizer!r}"
            )
        if self.schedule not in SCHEDULES:
            raise ValueError(
                f"TrainerConfig: schedule must be one of {', '.join(SCHEDULES)}, "
                f"got {self.schedule!r}"
            )
        if not 0 <= self.warmup < 1:
            raise ValueError(f"TrainerConfig: warmup must be in [0, 1), got {self.warmup}")
        if self.mode not in ("max", "min"):
            raise ValueError(f"TrainerConfig: mode must be 'max' or 'min', got {self.mode!r}")
        if self.lr <= 0:
            raise ValueError(f"TrainerConfig: lr must be > 0, got {self.lr}")


@dataclass
class TrainState:
    """Progress of a fit, saved in every checkpoint."""

    epoch: int = 0  # completed epochs
    step: int = 0  # optimizer steps taken
    best: float | None = None  # best monitored validation value so far
    best_epoch: int | None = None  # 0-based epoch that reached it
    history: list[dict[str, float]] = field(default_factory=list)
    should_stop: bool = False


def resolve_device(name: str) -> torch.device:
    """``auto`` → CUDA when available, else CPU; a CUDA name without CUDA → ValueError."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} asked for, but torch sees no CUDA device")
    return device


class Trainer:
    """Fits a :class:`TaskModel`; writes its run into ``run_dir`` (if given).

    Files: ``model.safetensors`` (best weights), ``checkpoint.pt`` (the last epoch's full state,
    for ``resume``), ``metrics.jsonl`` (one line per epoch).
    """

    def __init__(
        self,
        model: TaskModel,
        config: TrainerConfig,
        *,
        run_dir: str | Path | None = None,
        callbacks: Sequence[Callback] = (),
    ) -> None:
        self.config = config
        self.device = resolve_device(config.device)
        if config.bf16 and self.device.type != "cuda":
            raise ValueError("TrainerConfig: bf16 autocast needs a CUDA device, got cpu")
        self.world: World = init_distributed(self.device)
        if self.device.type == "cuda" and self.world.size > 1:
            self.device = torch.device("cuda", self.world.local_rank)
        self.model = model.to(self.device)
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.state = TrainState()
        self.callbacks = list(callbacks) + self._default_callbacks()

    def _default_callbacks(self) -> list[Callback]:
        chosen: list[Callback] = []
        if self.config.progress and self.world.is_main:
            chosen.append(ProgressBar())
        if self.run_dir is not None and self.world.is_main:
            chosen.append(MetricsLog(self.run_dir / "metrics.jsonl"))
        if self.config.patience is not None:
            chosen.append(EarlyStopping(self.config.patience))
        return chosen

    def _wrapped(self) -> nn.Module:
        if self.world.size == 1:
            return self.model
        device_ids = [self.device.index] if self.device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(self.model, device_ids=device_ids)

    def fit(
        self,
        train_batches: Iterable[Any],
        val_batches: Iterable[Any] | None = None,
        *,
        resume: bool = False,
    ) -> list[dict[str, float]]:
        """Train for ``config.epochs`` (or until early stopping); return the per-epoch metrics.

        ``train_batches`` is re-iterated every epoch; if it (or its ``batch_sampler``/``sampler``)
        has ``set_epoch``, it is called first, so each epoch's order depends on seed and epoch.
        """
        cfg = self.config
        num_batches = len(train_batches)  # type: ignore[arg-type]
        if num_batches == 0:
            raise ValueError("Trainer.fit: train_batches is empty")
        network = self._wrapped()
        optimizer = make_optimizer(
            self.model.parameters(), cfg.optimizer, lr=cfg.lr,
            weight_decay=cfg.weight_decay, momentum=cfg.momentum,
        )  # fmt: skip
        scheduler = make_scheduler(
            optimizer,
            cfg.schedule,
            total_steps=cfg.epochs * num_batches,
            warmup_fraction=cfg.warmup,
        )
        torch.manual_seed(cfg.seed)
        if resume:
            self._restore(optimizer, scheduler)
        for callback in self.callbacks:
            callback.on_fit_start(self)
        while self.state.epoch < cfg.epochs and not self.state.should_stop:
            epoch = self.state.epoch
            started = time.perf_counter()
            _set_epoch(train_batches, epoch)
            for callback in self.callbacks:
                callback.on_epoch_start(self, epoch, num_batches)
            train_loss = self._train_epoch(network, train_batches, optimizer, scheduler)
            metrics = {"train_loss": train_loss, "lr": optimizer.param_groups[0]["lr"]}
            if val_batches is not None:
                self.model.eval()
                with self._autocast():
                    val = self.model.evaluate(val_batches)
                metrics.update({f"val_{name}": value for name, value in val.items()})
            metrics["seconds"] = time.perf_counter() - started
            self._end_epoch(epoch, metrics, optimizer, scheduler)
        if self.run_dir is not None and (self.run_dir / WEIGHTS).is_file():
            load_weights(self.model, self.run_dir / WEIGHTS)
        for callback in self.callbacks:
            callback.on_fit_end(self)
        return self.state.history

    def _train_epoch(
        self,
        network: nn.Module,
        batches: Iterable[Any],
        optimizer: torch.optim.Optimizer,
        scheduler: torch.optim.lr_scheduler.LRScheduler,
    ) -> float:
        self.model.train()
        total, count = 0.0, 0
        for batch in batches:
            with self._autocast():
                loss = network(move_to(batch, self.device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if self.config.clip_norm is not None:
                nn.utils.clip_grad_norm_(self.model.parameters(), self.config.clip_norm)
            optimizer.step()
            scheduler.step()
            self.state.step += 1
            value = float(loss.detach())
            total, count = total + value, count + 1
            for callback in self.callbacks:
                callback.on_batch_end(self, value)
        return total / max(1, count)

    def _end_epoch(
        self,
        epoch: int,
        metrics: dict[str, float],
        optimizer: torch.optim.Optimizer,
        scheduler: torch.optim.lr_scheduler.LRScheduler,
    ) -> None:
        cfg, state = self.config, self.state
        monitored = metrics.get(f"val_{cfg.monitor}")
        if monitored is None and "val_loss" not in metrics:
            monitored, improved = None, True  # no validation: the last epoch is the best
        else:
            if monitored is None:
                raise ValueError(
                    f"Trainer: monitor={cfg.monitor!r} is not among the validation metrics "
                    f"({', '.join(k[4:] for k in metrics if k.startswith('val_'))})"
                )
            improved = is_better(monitored, state.best, cfg.mode)
        if improved:
            state.best, state.best_epoch = monitored, epoch
            if self.run_dir is not None and self.world.is_main:
                save_weights(self.model, self.run_dir / WEIGHTS)
        state.history.append(metrics)
        state.epoch = epoch + 1
        for callback in self.callbacks:
            callback.on_epoch_end(self, epoch, metrics)
        state.should_stop = all_agree(state.should_stop, self.world, self.device)
        if self.run_dir is not None and self.world.is_main:
            save_checkpoint(self._checkpoint(optimizer, scheduler), self.run_dir / CHECKPOINT)

    def _checkpoint(
        self, optimizer: torch.optim.Optimizer, scheduler: torch.optim.lr_scheduler.LRScheduler
    ) -> dict[str, Any]:
        state = asdict(self.state)
        return {
            "train_state": state,
            "model": self.model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "rng_torch": torch.get_rng_state(),
            "rng_cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        }

    def _restore(
        self, optimizer: torch.optim.Optimizer, scheduler: torch.optim.lr_scheduler.LRScheduler
    ) -> None:
        if self.run_dir is None:
            raise ValueError("Trainer.fit: resume=True needs a run_dir")
        saved = load_checkpoint(self.run_dir / CHECKPOINT)
        self.model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        torch.set_rng_state(saved["rng_torch"])
        if saved["rng_cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(saved["rng_cuda"])
        self.state = TrainState(**saved["train_state"])

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.config.bf16:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()


def _set_epoch(batches: Iterable[Any], epoch: int) -> None:
    """Tell an epoch-aware loader or sampler which epoch starts (for order and DDP sharding)."""
    for holder in (
        batches,
        getattr(batches, "batch_sampler", None),
        getattr(batches, "sampler", None),
    ):
        if holder is not None and hasattr(holder, "set_epoch"):
            holder.set_epoch(epoch)
            return


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (model initialisation happens outside the Trainer)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
