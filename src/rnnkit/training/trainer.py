"""One Trainer for every task: it knows the :class:`~rnnkit.tasks.base.TaskModel` contract and
nothing else about the model.

Per epoch: train on every batch (``forward_loss``, backward, gradient clipping, optimizer and
per-step LR schedule), evaluate on the validation batches (``evaluate``, the model's cheap
per-epoch metrics; a task's full evaluation runs once at the end, outside the Trainer), decide
whether the monitored metric improved (which the epoch-level LR schedules and NT-ASGD hear), and
fire the callbacks that keep the best weights, log, checkpoint atomically and stop early.
``fit`` returns what happened (:class:`FitResult`: the history and the kept epoch), so nothing
re-reads a file it just wrote. ``fit(resume=True)`` continues a killed run from its last
checkpoint and ends with the same weights as a run that was never interrupted: the data order of
an epoch depends only on the seed and the epoch, and the RNG state is saved with every
checkpoint.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import random
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import torch
from torch import nn

from rnnkit.tasks.base import TaskModel, move_to
from rnnkit.training.callbacks import (
    BestWeights,
    Callback,
    Checkpointing,
    EarlyStopping,
    MetricsLog,
    ProgressBar,
    is_better,
)
from rnnkit.training.checkpoint import (
    CHECKPOINT,
    WEIGHTS,
    first_line,
    load_checkpoint,
    load_weights,
)
from rnnkit.training.distributed import World, all_agree, init_distributed
from rnnkit.training.ntasgd import NTASGD
from rnnkit.training.schedule import (
    OPTIMIZERS,
    SCHEDULES,
    apply_lr,
    epoch_decay,
    make_optimizer,
    make_scheduler,
)


@dataclass(frozen=True)
class TrainerConfig:
    """How to train; every field has a safe default."""

    epochs: int = 10  # passes over the training batches
    optimizer: str = "adam"  # adam | adamw | sgd | ntasgd (SGD, then averaged: AWD-LSTM's NT-ASGD)
    lr: float = 1e-3  # peak learning rate
    weight_decay: float = 0.0  # L2 for adam, sgd and ntasgd, decoupled for adamw
    momentum: float = 0.9  # sgd only
    nonmono: int = 5  # ntasgd: average once val is worse than its best before the last N epochs
    schedule: str = "constant"  # constant | linear | cosine | onecycle per batch; plateau | step
    warmup: float = 0.0  # fraction of all optimizer steps spent warming up
    lr_decay: float = 0.25  # lr × this after an epoch with no gain (plateau), or each epoch (step)
    # step, Zaremba et al.'s small LM: lr 1, lr_decay 0.5, decay_after 4 run epochs 1–4 at lr 1,
    # epoch 5 at 0.5, epoch 6 at 0.25
    decay_after: int = 0  # step: the lr decays after every epoch from this one on
    clip_norm: float | None = 1.0  # max global gradient norm; None turns clipping off
    monitor: str = "auto"  # validation metric that picks the kept epoch; auto: the task's own
    mode: str = "auto"  # max | min: which way it improves; auto: min for loss-like, else max
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
        if self.nonmono < 1:
            raise ValueError(f"TrainerConfig: nonmono must be ≥ 1, got {self.nonmono}")
        if not 0 < self.lr_decay <= 1:
            raise ValueError(f"TrainerConfig: lr_decay must be in (0, 1], got {self.lr_decay}")
        if self.decay_after < 0:
            raise ValueError(f"TrainerConfig: decay_after must be ≥ 0, got {self.decay_after}")
        if not 0 <= self.warmup < 1:
            raise ValueError(f"TrainerConfig: warmup must be in [0, 1), got {self.warmup}")
        if self.mode not in ("auto", "max", "min"):
            raise ValueError(
                f"TrainerConfig: mode must be 'auto', 'max' or 'min', got {self.mode!r}"
            )
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"TrainerConfig: lr must be a finite number > 0, got {self.lr}")
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise ValueError(
                f"TrainerConfig: weight_decay must be a finite number ≥ 0, got {self.weight_decay}"
            )
        if not 0 <= self.momentum < 1:
            raise ValueError(f"TrainerConfig: momentum must be in [0, 1), got {self.momentum}")
        if self.clip_norm is not None and not (
            math.isfinite(self.clip_norm) and self.clip_norm > 0
        ):
            raise ValueError(
                "TrainerConfig: clip_norm must be a finite number > 0 or None, got "
                f"{self.clip_norm}"
            )

    @property
    def resolved_mode(self) -> str:
        """``mode``, with ``auto`` made to follow the metric: min for loss, perplexity, mse."""
        if self.mode != "auto":
            return self.mode
        return "min" if self.monitor in LOWER_IS_BETTER else "max"


LOWER_IS_BETTER = frozenset({"loss", "perplexity", "mse", "bpc", "error"})


@dataclass
class TrainState:
    """Progress of a fit, saved in every checkpoint."""

    epoch: int = 0  # completed epochs
    step: int = 0  # optimizer steps taken
    best: float | None = None  # best monitored validation value so far
    best_epoch: int | None = None  # 0-based epoch that reached it
    history: list[dict[str, float]] = field(default_factory=list)
    should_stop: bool = False
    improved: bool = False  # whether the epoch that just ended is the new best
    lr_scale: float = 1.0  # the epoch-level schedule's factor of the learning rate (plateau, step)


@dataclass(frozen=True)
class FitResult:
    """What a fit did: every epoch's metrics and the epoch whose weights the model now holds."""

    history: list[dict[str, float]]  # one dict per epoch: train_loss, val_*, lr, seconds
    best_epoch: int | None  # 1-based epoch whose weights are kept (None: no epoch ran)
    best: float | None  # its monitored validation value (None without validation)
    monitor: str  # the monitored metric's name (without "val_")
    mode: str  # "max" or "min"


def resolve_device(name: str) -> torch.device:
    """``auto`` → CUDA when available, else CPU; a CUDA name without CUDA → ValueError."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"device must be auto, cpu, cuda or cuda:N, got {name!r}") from None
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu, cuda or cuda:N, got {name!r}")
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
        if config.monitor == "auto":  # the generic run sets the task's metric; alone: the loss
            config = self.config = replace(config, monitor="loss")
        self.mode = config.resolved_mode
        self.optimizer: torch.optim.Optimizer | None = None
        self.scheduler: torch.optim.lr_scheduler.LambdaLR | None = None
        self.callbacks = list(callbacks) + self._default_callbacks()

    def _default_callbacks(self) -> list[Callback]:
        chosen: list[Callback] = []
        if self.config.progress and self.world.is_main:
            chosen.append(ProgressBar())
        if self.run_dir is not None and self.world.is_main:
            chosen.append(BestWeights(self.run_dir / WEIGHTS))
            chosen.append(MetricsLog(self.run_dir / "metrics.jsonl"))
        if self.config.patience is not None:
            chosen.append(EarlyStopping(self.config.patience))
        if self.run_dir is not None and self.world.is_main:
            chosen.append(Checkpointing(self.run_dir / CHECKPOINT))  # last: after the others
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
    ) -> FitResult:
        """Train for ``config.epochs`` (or until early stopping); return what happened.

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
            weight_decay=cfg.weight_decay, momentum=cfg.momentum, nonmono=cfg.nonmono,
        )  # fmt: skip
        scheduler = make_scheduler(
            optimizer,
            cfg.schedule,
            total_steps=cfg.epochs * num_batches,
            warmup_fraction=cfg.warmup,
            scale=lambda: self.state.lr_scale,
        )
        self.optimizer, self.scheduler = optimizer, scheduler
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
            if isinstance(optimizer, NTASGD):
                metrics["averaging"] = float(optimizer.count > 0)  # validated on the average
            if val_batches is not None:
                self.model.eval()
                self.model.start_epoch(train=False)
                with self.evaluation_weights(), self._autocast(), torch.no_grad():
                    val = self.model.evaluate(move_to(b, self.device) for b in val_batches)
                metrics.update({f"val_{name}": value for name, value in val.items()})
            metrics["seconds"] = time.perf_counter() - started
            self._check_finite(metrics)
            self._end_epoch(epoch, metrics)
        if self.run_dir is not None and (self.run_dir / WEIGHTS).is_file():
            load_weights(self.model, self.run_dir / WEIGHTS)
        elif isinstance(optimizer, NTASGD):
            optimizer.swap()  # nothing kept: the model ends with the average of its last epoch
        for callback in self.callbacks:
            callback.on_fit_end(self)
        state = self.state
        return FitResult(
            history=list(state.history),
            best_epoch=None if state.best_epoch is None else state.best_epoch + 1,
            best=state.best,
            monitor=cfg.monitor,
            mode=self.mode,
        )

    def _train_epoch(
        self,
        network: nn.Module,
        batches: Iterable[Any],
        optimizer: torch.optim.Optimizer,
        scheduler: torch.optim.lr_scheduler.LRScheduler,
    ) -> float:
        self.model.train()
        self.model.start_epoch(train=True)
        total, count = 0.0, 0.0
        for batch in batches:
            with self._autocast():
                out = network(move_to(batch, self.device))
            loss_sum, n = out if isinstance(out, tuple) else (out, 1)
            n = float(n)
            if n <= 0:
                raise ValueError("Trainer: forward_loss returned a count of 0 for a batch")
            loss = loss_sum / n  # the batch's mean per token (or per example)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if self.config.clip_norm is not None:
                nn.utils.clip_grad_norm_(self.model.parameters(), self.config.clip_norm)
            optimizer.step()
            scheduler.step()
            self.model.end_step()
            self.state.step += 1
            value = float(loss.detach())
            if not math.isfinite(value):
                raise ValueError(
                    f"Trainer: the training loss became {value} at epoch {self.state.epoch + 1}, "
                    f"step {self.state.step}; {self._left_behind()}"
                )
            total, count = total + value * n, count + n
            for callback in self.callbacks:
                callback.on_batch_end(self, value)
        return total / max(1.0, count)

    def check_monitor(self, val_batches: Iterable[Any] | None) -> None:
        """Refuse a monitored metric the model's validation does not report, before anything of
        a run is written (:meth:`fit` finds it only at the end of the first epoch): the model
        evaluates the first validation batch, once more than :meth:`fit` will. Nothing to check
        without validation, or where ``val_batches`` is a one-pass iterator."""
        if val_batches is None or isinstance(val_batches, Iterator):
            return
        self.model.eval()
        self.model.start_epoch(train=False)
        first = itertools.islice(val_batches, 1)
        with self._autocast(), torch.no_grad():
            names = list(self.model.evaluate(move_to(b, self.device) for b in first))
        if names and self.config.monitor not in names:
            self._refuse_monitor(names)

    def _refuse_monitor(self, names: Sequence[str]) -> NoReturn:
        raise ValueError(
            f"Trainer: monitor={self.config.monitor!r} is not among the validation metrics "
            f"({', '.join(names)})"
        )

    def _check_finite(self, metrics: dict[str, float]) -> None:
        """Stop, before the epoch is kept or checkpointed, where its weights or its validation
        loss are no longer finite numbers (a step that overflowed the weights while its own loss
        was still finite)."""
        where = f"epoch {self.state.epoch + 1} (by step {self.state.step})"
        bad = next(
            (name for name, p in self.model.named_parameters() if not bool(p.isfinite().all())),
            None,
        )
        if bad is not None:
            problem = f"the weights became non-finite ({bad}) in {where}"
        elif not math.isfinite(metrics.get("val_loss", 0.0)):
            problem = f"the validation loss became {metrics['val_loss']} in {where}"
        else:
            return
        raise ValueError(f"Trainer: {problem}; {self._left_behind()}")

    def _left_behind(self) -> str:
        """What a fit stopped for non-finite numbers leaves, and what to change."""
        if self.state.epoch == 0:
            kept = "no epoch had finished, so nothing is kept"
        elif self.run_dir is None:
            kept = "the model's weights are not usable"
        else:
            kept = "the last good weights and checkpoint are kept"
        clip = ", or set --clip-norm" if self.config.clip_norm is None else ""
        return f"{kept} (lower --lr{clip})"

    def _end_epoch(self, epoch: int, metrics: dict[str, float]) -> None:
        cfg, state = self.config, self.state
        monitored = metrics.get(f"val_{cfg.monitor}")
        if monitored is None and "val_loss" not in metrics:
            monitored, improved = None, True  # no validation: the last epoch is the best
        else:
            if monitored is None:
                self._refuse_monitor([k[4:] for k in metrics if k.startswith("val_")])
            improved = is_better(monitored, state.best, self.mode)
        if improved:
            state.best, state.best_epoch = monitored, epoch
        state.improved = improved
        decay = epoch_decay(
            cfg.schedule, epochs_done=epoch + 1, improved=improved,
            decay=cfg.lr_decay, after=cfg.decay_after,
        )  # fmt: skip
        if decay != 1 and self.scheduler is not None:
            state.lr_scale *= decay
            apply_lr(self.scheduler)  # the next step already runs at the decayed rate
        ntasgd = self.optimizer if isinstance(self.optimizer, NTASGD) else None
        if ntasgd is not None and monitored is not None and ntasgd.observe(monitored, self.mode):
            print(
                f"NT-ASGD: validation {cfg.monitor} did not improve over {cfg.nonmono} epochs; "
                f"averaging the weights from epoch {epoch + 2}",
                file=sys.stderr,
            )
        state.history.append(metrics)
        state.epoch = epoch + 1
        for callback in self.callbacks:
            callback.on_epoch_end(self, epoch, metrics)
        state.should_stop = all_agree(state.should_stop, self.world, self.device)

    def evaluation_weights(self) -> contextlib.AbstractContextManager[Any]:
        """For its duration, the model holds the weights an epoch is judged and kept by: once
        NT-ASGD averages, the average (training goes on from the raw weights); else its own."""
        if isinstance(self.optimizer, NTASGD):
            return self.optimizer.averaged()
        return contextlib.nullcontext()

    def checkpoint_state(self) -> dict[str, Any]:
        """Everything a resumed fit needs, as tensors, numbers and strings."""
        if self.optimizer is None or self.scheduler is None:
            raise ValueError("Trainer: no fit has started, nothing to checkpoint")
        return {
            "train_state": asdict(self.state),
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "rng_torch": torch.get_rng_state(),
            "rng_cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        }

    def _restore(
        self, optimizer: torch.optim.Optimizer, scheduler: torch.optim.lr_scheduler.LRScheduler
    ) -> None:
        if self.run_dir is None:
            raise ValueError("Trainer.fit: resume=True needs a run_dir")
        path = self.run_dir / CHECKPOINT
        saved = load_checkpoint(path)
        try:
            self.model.load_state_dict(saved["model"])
            optimizer.load_state_dict(saved["optimizer"])
            scheduler.load_state_dict(saved["scheduler"])
            torch.set_rng_state(saved["rng_torch"])
        except (RuntimeError, KeyError, TypeError, ValueError) as exc:
            raise ValueError(
                f"{path}: this checkpoint does not fit the run's model and trainer "
                f"({first_line(exc)})"
            ) from None
        if saved.get("rng_cuda") and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(saved["rng_cuda"])
        known = {f for f in TrainState.__dataclass_fields__}
        self.state = TrainState(**{k: v for k, v in saved["train_state"].items() if k in known})

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
