"""One generic run for every registered task: create, resume and load a run directory; train it
through the Trainer; evaluate, predict, compare cells, and record quality figures.

A run directory holds (names owned by :class:`RunFiles`): ``config.json`` (the task, the
resolved configuration, the labels and the folder the run was started from), ``vocab.json``
(and ``vocab-<name>.json`` for a task's other vocabularies), ``model.safetensors`` (the kept
weights), ``checkpoint.pt`` (to resume), ``metrics.jsonl`` (one line per epoch),
``learning_curves.png``, ``report.md``, ``data-summary.json`` (the examples per split, the
vocabularies and their coverage of the validation tokens, as training saw them),
``baseline.json`` (the task's baseline on the same split, ``run.baseline``) and, once evaluated,
``eval-<split>.json`` and the task's pictures of it. Nothing here knows a task by name: the task
is read from ``config.json`` and every task-specific step is a method of its
:class:`~rnnkit.tasks.base.Task`.

A run that finishes (every epoch, or stopped early) removes ``checkpoint.pt`` (and its stages'),
unless ``run.keep_checkpoint``; a killed run keeps it, so ``--resume`` continues it exactly.
``--resume`` of a finished run whose checkpoint is gone, with more epochs, trains on from the kept
epoch's weights in ``model.safetensors``: the optimizer's state (Adam's moments, momentum,
NT-ASGD's average) starts afresh, the learning-rate schedule goes on from the kept epoch, and
the epochs after the kept one are trained again (their lines leave ``metrics.jsonl``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

import rnnkit
from rnnkit._io import atomic_write_text, pid_lock
from rnnkit._machine import cpu_model
from rnnkit.baselines.result import BaselineResult, BaselineUnavailableError
from rnnkit.config import as_plain, setting_paths
from rnnkit.datasets import DatasetNotFoundError
from rnnkit.pipelines.runconfig import resolve, task_of, to_dict
from rnnkit.tasks.base import Artifacts, Result, Task, TaskModel, get_task
from rnnkit.tasks.encoder import variant
from rnnkit.training import Callback, Trainer, load_weights, seed_everything
from rnnkit.training.checkpoint import first_line
from rnnkit.training.schedule import EPOCH_SCHEDULES, apply_lr, epoch_decay, lr_factor
from rnnkit.training.trainer import FitResult, TrainState
from rnnkit.viz import plot_learning_curves
from rnnkit.viz.history import plot_history

__all__ = [
    "PERCENT_METRICS",
    "SPLITS",
    "Run",
    "RunFiles",
    "backend_summary",
    "baseline_row",
    "chosen_baseline",
    "compare",
    "data_summary",
    "dataset_title",
    "device_name",
    "file_split",
    "fit_baseline",
    "has_split",
    "record_quality",
    "saved_settings",
    "summary_rows",
    "train",
]

SPLITS = ("train", "val", "test")
# Metrics that are rates: printed and recorded in percent.
PERCENT_METRICS = frozenset({"accuracy", "macro_f1", "f1", "precision", "recall", "token_accuracy"})


class RunFiles:
    """Every file name of a run directory, in one place."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    config = property(lambda self: self.folder / "config.json")
    weights = property(lambda self: self.folder / "model.safetensors")
    checkpoint = property(lambda self: self.folder / "checkpoint.pt")
    metrics = property(lambda self: self.folder / "metrics.jsonl")
    report = property(lambda self: self.folder / "report.md")
    curves = property(lambda self: self.folder / "learning_curves.png")
    baseline = property(lambda self: self.folder / "baseline.json")
    data_summary = property(lambda self: self.folder / "data-summary.json")
    lock = property(lambda self: self.folder / "train.lock")  # the pid of the training process

    def evaluation(self, split: str) -> Path:
        return self.folder / f"eval-{split}.json"

    def stage(self, name: str) -> RunFiles:
        return RunFiles(self.folder / name)


@dataclass
class Run:
    """A model of some task and everything needed to use it, in its run directory."""

    path: Path
    task: Task
    config: Any
    artifacts: Artifacts
    model: TaskModel
    origin: Path  # the working folder the run was started from
    fit: FitResult | None = None  # what training did, when this object trained it
    baseline: BaselineResult | None = None  # the baseline fitted beside it, when this object did
    _data: Any = None

    @property
    def files(self) -> RunFiles:
        return RunFiles(self.path)

    @property
    def labels(self) -> list[str]:
        return self.artifacts.labels

    @property
    def vocab(self) -> Any:
        """The main vocabulary (``vocab.json``)."""
        return self.artifacts.vocabs[Artifacts.MAIN]

    @classmethod
    def load(cls, path: str | Path, *, device: str = "cpu", int8: bool = False) -> Run:
        """Load the finished run in ``path`` (its task read from ``config.json``); one clear error
        if it is not a run directory. ``int8``: a classification run's int8 model for CPU
        inference (:func:`rnnkit.pipelines.quantize.quantized_run`)."""
        folder = Path(path)
        if not folder.is_dir():
            raise ValueError(f"{folder} is not a run directory (it does not exist)")
        files = RunFiles(folder)
        missing = [p.name for p in (files.config, files.weights) if not p.is_file()]
        if missing:
            raise ValueError(
                f"{folder} is not an rnnkit run directory: {', '.join(missing)} missing"
            )
        saved = _read_json(files.config)
        try:
            task = get_task(saved.get("task"))
        except ValueError as error:
            raise ValueError(f"{files.config}: {error}") from None
        config = resolve(task, saved, where=str(files.config))
        # a run from before paths were stored absolute: its data path is relative to its origin
        config = absolute_data_path(config, base=saved.get("origin"))
        run = cls._assemble(folder, task, config, saved)
        load_weights(run.model, files.weights)
        if int8:
            from rnnkit.pipelines.quantize import quantized_run  # it builds on this module

            if device != "cpu":
                raise ValueError(f"int8 inference runs on the CPU, got device {device!r}")
            run = quantized_run(run)
        run.model.to(device).eval()
        return run

    @classmethod
    def _assemble(cls, folder: Path, task: Task, config: Any, saved: Mapping[str, Any]) -> Run:
        labels = saved.get("labels")
        if not isinstance(labels, list):
            raise ValueError(f"{folder / 'config.json'}: no list of labels")
        artifacts = Artifacts.load(folder, task.vocab_names, labels)
        torch.manual_seed(config.trainer.seed)
        model = task.build_model(config, artifacts)
        origin = Path(saved.get("origin") or os.getcwd())
        return cls(folder, task, config, artifacts, model, origin)

    def data(self) -> Any:
        """The run's dataset (read once); one line saying so where the user's own files it was
        trained on are no longer where they were."""
        if self._data is None:
            try:
                self._data = self.task.load_data(self.config)
            except DatasetNotFoundError as error:
                where = user_data_path(self.config)
                if where is None:  # a registered dataset: the registry's message says where
                    raise
                missing = first_line(error).partition(";")[0]  # "PATH: no such file"
                raise DatasetNotFoundError(
                    f"{self.path}: the data this run was trained on ({where}) is no longer where "
                    f"it was ({missing}); if it has moved, put it back, or score the run on a "
                    f"labelled file: rnnkit evaluate {self.path} --data PATH"
                ) from None
        return self._data

    def evaluate(self, split: str = "test", *, data: Any = None) -> Result:
        """The task's full evaluation on ``split``; writes ``eval-<split>.json``, the task's
        pictures, and updates ``report.md``."""
        if split not in SPLITS:
            raise ValueError(f"evaluate: split must be one of {', '.join(SPLITS)}, got {split!r}")
        self.model.eval()
        result = self.task.evaluate(self, data if data is not None else self.data(), split)
        write_evaluation(self.task, result, self.path)
        write_report(self)
        return result

    def evaluate_file(
        self, location: str | Path, *, settings: Mapping[str, Any] | None = None
    ) -> Result:
        """The task's full evaluation on a labelled file of any format the task reads (a
        classification run: CSV, TSV, JSONL or a folder per class), from any working folder.

        The file is read with the run's own data settings (columns, header), but for
        ``settings`` (dotted keys such as ``data.text_field``); every label must be one of the
        run's. The result has split ``file`` and the file's absolute path as its dataset, and is
        written to ``eval-<file_split(location)>.json`` (``eval-file-<name>.json``) with the
        task's pictures (``confusion-file-<name>.png``).
        """
        load_file = getattr(self.task, "load_file", None)
        if load_file is None:
            raise ValueError(
                f"evaluate --data: {self.task.name} runs cannot score a file yet; evaluate a "
                "split of the run's own dataset with --split"
            )
        config = self.config
        if settings:
            base = to_dict(self.task, config)
            config = resolve(self.task, base, settings, where="evaluate --data")
        path = _without_scheme(location)
        self.model.eval()
        data = load_file(self, location, config=config)
        result = self.task.evaluate(self, data, "test")
        result = replace(result, split="file", dataset=os.path.abspath(path.expanduser()))
        write_evaluation(self.task, result, self.path, name=file_split(location))
        return result

    def predict(self, inputs: Sequence[str]) -> list[dict[str, Any]]:
        """One prediction per raw input (a text, a sentence), as the task makes them."""
        self.model.eval()
        return self.task.predict(self, inputs)

    def history(self) -> list[dict[str, float]]:
        """The per-epoch metrics: what training returned, or ``metrics.jsonl`` of a loaded run."""
        if self.fit is not None:
            return self.fit.history
        return read_metrics(self.path)

    def kept_epoch(self) -> int | None:
        """The 1-based epoch whose weights the model holds."""
        if self.fit is not None:
            return self.fit.best_epoch
        return _kept_epoch(self.history(), self.config.trainer)

    def train_seconds(self) -> float:
        """Wall time of every epoch, earlier stages (pretraining) included."""
        total = sum(entry.get("seconds", 0.0) for entry in self.history())
        for stage in _stage_folders(self.path):
            total += sum(entry.get("seconds", 0.0) for entry in read_metrics(stage))
        return total

    def parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def baseline_result(self) -> BaselineResult | None:
        """The baseline fitted beside this run: what training fitted, or ``baseline.json`` of a
        loaded run (None where there is none)."""
        if self.baseline is not None:
            return self.baseline
        path = self.files.baseline
        if not path.is_file():
            return None
        saved = _read_json(path)
        if "error" in saved:  # it could not be fitted on this data (report.md says why)
            return None
        return BaselineResult.from_dict(saved, where=str(path))

    def data_summary(self) -> dict[str, Any] | None:
        """What the run trained on (:func:`data_summary`), as ``data-summary.json`` holds it."""
        path = self.files.data_summary
        return _read_json(path) if path.is_file() else None


def train(
    config: Any,
    out: str | Path,
    *,
    resume: bool = False,
    progress: bool = True,
    callbacks: Sequence[Callback] = (),
    baseline: BaselineResult | None = None,
    data: Any = None,
    report: bool = True,
) -> Run:
    """Train the model ``config`` describes into run directory ``out`` (or continue the run
    there with ``resume``); ``callbacks`` join the Trainer's own. The task comes from the config
    (:func:`rnnkit.pipelines.runconfig.resolve`).

    While it trains, ``out/train.lock`` holds this process's pid: a second training into the same
    folder (or a ``resume`` beside a running one) is refused with one clear error. A resumed run
    keeps the settings it was started with, except :data:`RESUMABLE` (more epochs, another
    patience or device, the baseline, whether to keep the checkpoint), which ``config`` may
    change; any other difference is refused, named.

    Once training has finished, the task's baseline (``run.baseline``) is fitted on the same
    split (``baseline``: one already fitted on this data, as :func:`compare` passes to each of
    its cells), ``learning_curves.png`` and ``report.md`` are written and ``checkpoint.pt`` is
    removed unless ``run.keep_checkpoint``. ``resume`` of a finished run without a checkpoint
    trains on from its kept epoch (see the module's docstring), or says there is nothing to
    resume.

    ``data``: the data to train on, in the shape the task's ``load_data`` returns (a
    cross-validation fold, :meth:`~rnnkit.tasks.base.Task.folds`), instead of the data the
    config names. ``report=False`` leaves out ``learning_curves.png`` and ``report.md`` (a
    search's many fold runs)."""
    folder = Path(out)
    with contextlib.ExitStack() as stack:
        if os.environ.get("RANK", "0") == "0":  # under torchrun, rank 0 holds the lock
            stack.enter_context(pid_lock(RunFiles(folder).lock, what="a training"))
        return _train(
            config, folder, resume=resume, progress=progress, callbacks=callbacks,
            baseline=baseline, data=data, report=report,
        )  # fmt: skip
    raise AssertionError("unreachable")  # pragma: no cover - the block returns


# Settings a resumed run may change (the rest must match what it was started with).
RESUMABLE = frozenset(
    {
        "trainer.epochs",
        "trainer.patience",
        "trainer.device",
        "trainer.progress",
        "run.baseline",
        "run.keep_checkpoint",
    }
)


def resumed_config(saved: Any, given: Any) -> Any:
    """``saved`` with what ``given`` changes among :data:`RESUMABLE`; one error listing any other
    setting ``given`` changes."""
    paths = setting_paths(type(saved))
    before = {p: functools.reduce(getattr, p.split("."), saved) for p in paths}
    after = {p: functools.reduce(getattr, p.split("."), given) for p in paths}
    changed = sorted(p for p in paths if before[p] != after[p])
    refused = [p for p in changed if p not in RESUMABLE]
    if refused:
        listed = "; ".join(f"{p}: the run has {before[p]!r}, given {after[p]!r}" for p in refused)
        allowed = sorted(RESUMABLE - {"trainer.progress"}, key=lambda p: (p.startswith("run."), p))
        raise ValueError(
            f"--resume continues a run with the settings it started with; only "
            f"{', '.join(allowed)} may change. Given: {listed}"
        )
    sections: dict[str, dict[str, Any]] = {}
    for p in changed:
        section, _, name = p.partition(".")
        sections.setdefault(section, {})[name] = after[p]
    return replace(saved, **{k: replace(getattr(saved, k), **v) for k, v in sections.items()})


def _train(
    config: Any,
    folder: Path,
    *,
    resume: bool,
    progress: bool,
    callbacks: Sequence[Callback],
    baseline: BaselineResult | None,
    data: Any = None,
    report: bool = True,
) -> Run:
    task = task_of(config)
    files = RunFiles(folder)
    stage_checkpoints = [RunFiles(p).checkpoint for p in _stage_folders(folder)]
    train_on: tuple[list[dict[str, float]], int] | None = None  # (history, kept epoch)
    if resume:
        checkpointed = files.checkpoint.is_file() or any(p.is_file() for p in stage_checkpoints)
        if not checkpointed and not files.weights.is_file():
            raise ValueError(f"--resume: {folder} holds no checkpoint.pt to resume from")
        saved = _read_json(files.config)
        if saved.get("task") != task.name:
            raise ValueError(
                f"--resume: {folder} holds a {saved.get('task')!r} run, not {task.name!r}"
            )
        config = resumed_config(
            resolve(task, saved, where=str(files.config)), absolute_data_path(config)
        )
        if not checkpointed:
            train_on = _finished_run(folder, config.trainer)
    elif (
        files.checkpoint.exists()
        or files.weights.exists()
        or any(p.exists() for p in stage_checkpoints)
    ):
        raise ValueError(
            f"{folder} already holds a run; use --resume to continue it or another --out"
        )
    config = replace(config, trainer=replace(config.trainer, progress=progress))
    if not resume:
        config = absolute_data_path(config)
    task.check(config)
    baseline_name = chosen_baseline(task, config) if baseline is None else baseline.name
    seed_everything(config.trainer.seed)
    data = task.load_data(config) if data is None else data
    if resume:
        run = Run._assemble(folder, task, config, saved)
    else:
        artifacts = task.build_artifacts(config, data)
        torch.manual_seed(config.trainer.seed)
        model = task.build_model(config, artifacts)
        run = Run(folder, task, config, artifacts, model, Path.cwd())
    run._data = data
    started = files.checkpoint.is_file() or train_on is not None
    stages = task.stages(run, data, resume=started)
    train_batches = task.batches(config, run.artifacts, data, "train", train=True)
    if train_batches is None:
        raise ValueError(f"{task.dataset_name(config)}: the training split is empty")
    val_batches = task.batches(config, run.artifacts, data, "val", train=False)
    extra = list(callbacks)
    if train_on is not None:
        history, kept = train_on
        load_weights(run.model, files.weights)
        num_batches = len(train_batches)  # type: ignore[arg-type]
        extra.insert(0, _TrainOn(history[:kept], config.trainer, num_batches))
        again = {0: "", 1: f"; epoch {kept + 1} is trained again"}.get(
            len(history) - kept, f"; epochs {kept + 1}–{len(history)} are trained again"
        )
        print(
            f"rnnkit: {folder} finished and kept no checkpoint.pt: training on from its kept "
            f"epoch {kept} (model.safetensors) to epoch {config.trainer.epochs}, with a fresh "
            f"optimizer state{again}",
            file=sys.stderr,
        )
    trainer = Trainer(run.model, config.trainer, run_dir=folder, callbacks=extra)
    trainer.check_monitor(val_batches)  # an unknown --monitor, before anything is written
    folder.mkdir(parents=True, exist_ok=True)  # everything above can fail without writing
    for stale in folder.glob(".*.tmp"):  # half-written by a killed run (the lock is ours)
        stale.unlink(missing_ok=True)
    if not resume:
        run.artifacts.save(folder)
        saved_config = {**to_dict(task, config), "labels": run.labels, "origin": str(Path.cwd())}
        atomic_write_text(files.config, json.dumps(saved_config, indent=1) + "\n")
    if (not resume or not files.data_summary.is_file()) and trainer.world.is_main:
        summary = data_summary(task, config, run.artifacts, data)
        atomic_write_text(files.data_summary, json.dumps(summary, indent=1) + "\n")
    if not started:
        for stage in stages:
            stage_trainer = replace(config.trainer, **stage.trainer)
            stage_folder = files.stage(stage.folder)
            Trainer(stage.model, stage_trainer, run_dir=stage_folder.folder).fit(
                stage.train_batches, stage.val_batches, resume=stage_folder.checkpoint.is_file()
            )
    run.fit = trainer.fit(train_batches, val_batches, resume=files.checkpoint.is_file())
    run.model.eval()
    if trainer.world.is_main:
        run.baseline = fit_baseline(run, data, baseline_name, given=baseline)
        if report:
            plot_run_history(run)
            write_report(run)
        if not config.run.keep_checkpoint:  # finished: the kept weights are what remains
            stages_first = [RunFiles(p).checkpoint for p in _stage_folders(folder)]
            for path in [*stages_first, files.checkpoint]:  # the run's own last: it marks a
                path.unlink(missing_ok=True)  # run as resumable until the very end
    return run


def chosen_baseline(task: Task, config: Any) -> str | None:
    """The baseline ``config.run.baseline`` asks of ``task``: None for ``none``, and for
    ``auto`` where the task has none that can run here; a baseline named outright must be able
    to run (one clear error saying what to install, or which baselines the task has)."""
    wanted = config.run.baseline
    if wanted == "none":
        return None
    if wanted == "auto":
        for name in task.baselines:
            try:
                task.check_baseline(name)
            except BaselineUnavailableError:
                continue
            return str(name)
        return None
    task.check_baseline(wanted)
    return str(wanted)


def fit_baseline(
    run: Run, data: Any, name: str | None, *, given: BaselineResult | None = None
) -> BaselineResult | None:
    """Baseline ``name`` fitted on ``run``'s own split (or ``given``, one already fitted on it)
    and saved as ``baseline.json`` (None: none, and a ``baseline.json`` left by an earlier
    ``run.baseline`` is removed). A resumed run's ``baseline.json`` of the same baseline on the
    same split sizes is reused; data the baseline cannot fit is said on stderr and in
    ``baseline.json``, and the run stands."""
    path = run.files.baseline
    if given is not None:
        atomic_write_text(path, json.dumps(given.to_dict(), indent=1) + "\n")
        return given
    if name is None:
        if run.config.run.baseline == "none":
            path.unlink(missing_ok=True)
        return None
    earlier = run.baseline_result()
    if earlier is not None and earlier.name == name and earlier.sizes == run.task.split_sizes(data):
        return earlier
    try:
        result = run.task.train_baseline(name, run.config, data)
    except BaselineUnavailableError:
        raise
    except ValueError as exc:  # the data does not suit it: the run stands, the report says why
        print(f"rnnkit: the {name} baseline was not fitted: {exc}", file=sys.stderr)
        atomic_write_text(path, json.dumps({"name": name, "error": str(exc)}, indent=1) + "\n")
        return None
    atomic_write_text(path, json.dumps(result.to_dict(), indent=1) + "\n")
    return result


def data_summary(task: Task, config: Any, artifacts: Artifacts, data: Any) -> dict[str, Any]:
    """What a run trains on, for its report: the dataset's own name and the configured one,
    the :attr:`~rnnkit.tasks.base.Task.example_unit` per split, each vocabulary's size, and the
    share of the validation tokens (:meth:`~rnnkit.tasks.base.Task.split_tokens`) that the main
    vocabulary holds (None: no validation split, or no such tokens)."""
    coverage = None
    vocab = artifacts.vocabs.get(Artifacts.MAIN)
    tokens = task.split_tokens(config, data, "val") if vocab is not None else None
    if tokens is not None and vocab is not None:
        known = total = 0
        for token in tokens:
            total += 1
            known += token in vocab
        coverage = known / total if total else None
    return {
        "name": dataset_title(task, config, data),
        "dataset": task.dataset_name(config),
        "unit": task.example_unit,
        "sizes": task.split_sizes(data),
        "vocabularies": {name: len(v) for name, v in artifacts.vocabs.items()},
        "coverage": coverage,
    }


def dataset_title(task: Task, config: Any, data: Any = None) -> str:
    """The dataset by its own name (``sst2``, the folder of the user's files), else as the
    config names it."""
    return str(getattr(data, "name", "") or task.dataset_name(config))


class _TrainOn(Callback):
    """Starts a fit of a finished run from its kept epoch (``history`` ends there): the
    Trainer's state as it was after that epoch, as far as ``metrics.jsonl`` tells it (the
    epoch, the optimizer steps, the best value, the epoch-level rate factor), and the per-step
    schedule at that step; the optimizer's own state is fresh."""

    def __init__(self, history: list[dict[str, float]], trainer: Any, num_batches: int) -> None:
        self.history, self.config, self.num_batches = history, trainer, num_batches

    def on_fit_start(self, trainer: Trainer) -> None:
        cfg, kept = self.config, len(self.history)
        steps = kept * self.num_batches
        best = self.history[-1].get(f"val_{cfg.monitor}")
        trainer.state = TrainState(
            epoch=kept, step=steps, best=best, best_epoch=kept - 1, history=list(self.history),
            lr_scale=self._lr_scale(steps),
        )  # fmt: skip
        if trainer.scheduler is not None:
            trainer.scheduler.last_epoch = steps
            apply_lr(trainer.scheduler)

    def _lr_scale(self, steps: int) -> float:
        """The epoch-level factor of the rate (``plateau``, ``step``) after the kept epoch: its
        recorded rate over the per-step one, times the decay that epoch's end applied."""
        cfg = self.config
        recorded = self.history[-1].get("lr")
        if cfg.schedule not in EPOCH_SCHEDULES or recorded is None:
            return 1.0
        total = cfg.epochs * self.num_batches
        per_step = lr_factor(
            steps - 1, total=total, warmup=round(cfg.warmup * total), kind=cfg.schedule
        )
        decay = epoch_decay(
            cfg.schedule, epochs_done=len(self.history), improved=True, decay=cfg.lr_decay,
            after=cfg.decay_after,
        )  # fmt: skip
        return float(recorded) / (float(cfg.lr) * per_step) * decay


def _finished_run(folder: Path, trainer: Any) -> tuple[list[dict[str, float]], int]:
    """(history, kept epoch) of the finished run in ``folder`` that ``trainer`` (its resumed
    settings) trains on; one clear error where there is nothing to train on."""
    history = read_metrics(folder)
    kept = _kept_epoch(history, trainer)
    if kept is None:
        raise ValueError(f"--resume: {folder} holds no checkpoint.pt to resume from")
    reason, hint = _nothing_to_train(history, kept, trainer)
    if reason:
        raise ValueError(
            f"--resume: {folder} {reason}; nothing to resume: its checkpoint.pt was removed when "
            f"it finished. Give {hint} to train on from the kept epoch's weights "
            "(model.safetensors) with a fresh optimizer state, or train with --keep-checkpoint "
            "to resume a finished run exactly"
        )
    return history, kept


def _nothing_to_train(history: list[dict[str, float]], kept: int, trainer: Any) -> tuple[str, str]:
    """Why a finished run with this history would train no further under ``trainer``'s
    settings, and the setting that would change it (("", "") where it would train)."""
    done = len(history)
    if trainer.epochs <= done:
        return f"finished after {_epochs(done)} (kept epoch {kept})", f"--epochs above {done}"
    if trainer.patience is not None and done - kept >= trainer.patience:
        return (
            f"stopped early after epoch {done} ({_epochs(done - kept)} without a better "
            f"validation {trainer.monitor}, patience {trainer.patience})",
            f"--patience above {done - kept}",
        )
    return "", ""


def _epochs(n: int) -> str:
    return f"{n} epoch" if n == 1 else f"{n} epochs"


def has_split(data: Any, split: str) -> bool:
    """Whether ``data`` holds items in ``split`` (Tiny Shakespeare has no test split); data of
    another shape than a :class:`~rnnkit.datasets.base.SplitData` is taken to have every split."""
    items = getattr(data, "split", None)
    return bool(items(split)) if callable(items) else True


def absolute_data_path(config: Any, *, base: str | Path | None = None) -> Any:
    """``config`` with a relative path to the user's own files (``csv:data/x``, ``~/x``) made
    absolute, against ``base`` (default: the working folder), so the run finds its data from any
    working folder (and a reader names the path when the data has moved)."""
    where = user_data_path(config)
    if where is None:
        return config
    path = where.expanduser()
    if path.is_absolute() and path == where:
        return config
    scheme = config.data.dataset.partition(":")[0]
    path = Path(
        os.path.abspath(Path(base) / path if base is not None else path)
    )  # no "..": abspath
    return replace(config, data=replace(config.data, dataset=f"{scheme}:{path}"))


def user_data_path(config: Any) -> Path | None:
    """The path of the user's own files a config's ``data.dataset`` names (``csv:PATH``), as
    written; None for a registered dataset's name."""
    name = getattr(getattr(config, "data", None), "dataset", None)
    if not isinstance(name, str):
        return None
    _, colon, path = name.partition(":")
    return Path(path) if colon and path else None


def file_split(location: str | Path) -> str:
    """The name a labelled file given by path is evaluated under, in the file names of its
    evaluation: ``file-<its name, without suffix>`` (``eval-file-reviews.json``)."""
    stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in _without_scheme(location).stem)
    return f"file-{stem or 'data'}"


def _without_scheme(location: str | Path) -> Path:
    """``tsv:data/x.txt`` -> ``data/x.txt``; a plain path as it is."""
    scheme, colon, rest = str(location).partition(":")
    return Path(rest if colon and scheme.isalpha() and len(scheme) > 1 else location)


def compare(
    config: Any, cells: Sequence[str], out: str | Path, *, progress: bool = True
) -> list[dict[str, Any]]:
    """Train one run per cell variant (``rnn``, ``lstm``, ``lstm-peephole``, ``gru``,
    ``gru-reset-before``) on the same data and budget into ``out/<cell>``, evaluate each on val
    and test by the task's main metric, and save ``out/compare.json`` and ``out/compare.png``
    (the monitored validation metric per epoch).

    The task's baseline (``run.baseline``: for classify, ``auto`` or ``tfidf`` is TF-IDF +
    LinearSVC) is fitted once on the same split; its row (:func:`baseline_row`, ``cell`` its
    name, ``kept_epoch`` None) follows the cells', each cell's ``report.md`` shows it, and the
    plot draws its validation figure as a dashed line. A cell already trained in ``out`` is
    resumed, or loaded where it has finished."""
    if not cells:
        raise ValueError("compare: no cells given")
    task = task_of(config)
    task.check(config)
    name = chosen_baseline(task, config)  # before any training: a missing package says so now
    folder = Path(out)
    data = task.load_data(config)
    baseline = None
    if name is not None:
        try:
            baseline = task.train_baseline(name, config, data)
        except BaselineUnavailableError:
            raise
        except ValueError as exc:
            if config.run.baseline != "auto":
                raise
            print(f"rnnkit: the {name} baseline was not fitted: {exc}", file=sys.stderr)
    rows, curves = [], {}
    monitor = config.trainer.monitor
    for cell in cells:
        encoder = replace(config.model.encoder, **variant(cell))
        cell_config = replace(config, model=replace(config.model, encoder=encoder))
        run_dir = folder / cell
        files = RunFiles(run_dir)
        resume = files.checkpoint.is_file() or files.weights.is_file()
        if resume:
            saved = _read_json(files.config)
            if saved.get("model", {}).get("encoder") != as_plain(encoder):
                raise ValueError(f"compare: {run_dir} holds a run of another cell")
        started = time.perf_counter()
        if resume and not files.checkpoint.is_file() and _finished(run_dir, task, cell_config):
            run = Run.load(run_dir)
        else:
            run = train(cell_config, run_dir, resume=resume, progress=progress, baseline=baseline)
        seconds = time.perf_counter() - started
        val = run.evaluate("val", data=data)
        test = run.evaluate("test", data=data) if has_split(data, "test") else None
        main = val.main
        rows.append(
            {
                "cell": cell,
                "parameters": run.parameters(),
                "main": main,
                f"val_{main}": val.metrics[main],
                **({f"test_{k}": v for k, v in test.metrics.items()} if test else {}),
                "kept_epoch": run.kept_epoch(),
                "train_seconds": run.train_seconds(),
                "wall_seconds": seconds,
                "backend": backend_summary(run.model),
            }
        )
        history = run.history()
        scale = 100.0 if monitor in PERCENT_METRICS else 1.0
        curves[cell] = (
            [float(i + 1) for i in range(len(history))],
            [scale * h.get(f"val_{monitor}", float("nan")) for h in history],
        )
    unit = " (%)" if monitor in PERCENT_METRICS else ""
    scale = 100.0 if monitor in PERCENT_METRICS else 1.0
    line = baseline.scores.get("val", {}).get(monitor) if baseline is not None else None
    if baseline is not None:
        rows.append(baseline_row(baseline, str(rows[0]["main"])))
    plot_learning_curves(
        curves, path=folder / "compare.png", ylabel=f"validation {monitor}{unit}",
        title=f"{dataset_title(task, config, data)}: {', '.join(cells)}", log_y=False,
        xlabel="epoch", baseline=None if line is None else scale * line,
        baseline_label=f"{baseline.method if baseline else ''}, validation",
    )  # fmt: skip
    atomic_write_text(folder / "compare.json", json.dumps(rows, indent=1) + "\n")
    return rows


def baseline_row(baseline: BaselineResult, main: str) -> dict[str, Any]:
    """A baseline as a row of :func:`compare`'s table, with the cells' keys: ``cell`` is its
    name and ``baseline`` its method, ``kept_epoch`` None, ``backend`` the library it ran on."""
    val = baseline.scores.get("val", {})
    return {
        "cell": baseline.name,
        "baseline": baseline.method,
        "parameters": baseline.parameters,
        "main": main,
        **({f"val_{main}": val[main]} if main in val else {}),
        **{f"test_{k}": v for k, v in baseline.scores.get("test", {}).items()},
        "kept_epoch": None,
        "train_seconds": baseline.train_seconds,
        "wall_seconds": baseline.train_seconds,
        "backend": str(baseline.settings.get("library", "-")),
    }


def _finished(folder: Path, task: Task, config: Any) -> bool:
    """Whether the run in ``folder`` (no checkpoint) has finished as far as ``config`` asks, so
    there is nothing to train; a setting of ``config`` that the run cannot take is refused as
    ``--resume`` refuses it."""
    path = RunFiles(folder).config
    saved = resolve(task, _read_json(path), where=str(path))
    trainer = resumed_config(saved, absolute_data_path(config)).trainer
    history = read_metrics(folder)
    kept = _kept_epoch(history, trainer)
    return kept is not None and bool(_nothing_to_train(history, kept, trainer)[0])


def record_quality(
    result: Result,
    run: Run | Sequence[Run],
    *,
    command: str,
    path: str | Path,
    notes: str = "",
) -> list[dict[str, Any]]:
    """Append the task's recorded metrics of an evaluation of one run (or of an ensemble of
    runs, whose training times add up) to ``quality.jsonl`` (DESIGN.md)."""
    runs = [run] if isinstance(run, Run) else list(run)
    task = runs[0].task
    lines = []
    for metric in task.record_metrics:
        if metric not in result.metrics:  # one a task reports on some data only (bpc)
            continue
        value = result.metrics[metric]
        lines.append(
            {
                "task": task.name,
                "dataset": result.dataset,
                "split": result.split,
                "metric": metric,
                "value": round(100 * value, 2) if metric in PERCENT_METRICS else round(value, 4),
                "command": command,
                "device": device_name(),
                "train_seconds": round(sum(r.train_seconds() for r in runs), 1),
                "date": dt.date.today().isoformat(),
                "version": f"rnnkit {rnnkit.__version__} / torch {torch.__version__}",
                "notes": notes,
            }
        )
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("a", encoding="utf-8") as log:
        for line in lines:
            log.write(json.dumps(line) + "\n")
    return lines


def write_evaluation(
    task: Task, result: Result, folder: Path, *, name: str | None = None
) -> list[Path]:
    """``eval-<name>.json`` and the task's pictures of ``result`` (``<picture>-<name>.png``),
    into ``folder``; ``name`` defaults to the result's split."""
    folder.mkdir(parents=True, exist_ok=True)
    name = name or result.split
    atomic_write_text(
        RunFiles(folder).evaluation(name),
        json.dumps({**result.to_dict(), "table": result.table}, indent=1) + "\n",
    )
    return task.plot_evaluation(replace(result, split=name), folder)


def device_name() -> str:
    """``NVIDIA <name>`` on a GPU, else ``cpu N-core (<CPU model>)``."""
    if torch.cuda.is_available():
        return torch.cuda.get_device_name()
    return f"cpu {os.cpu_count()}-core ({cpu_model()})"


def read_metrics(folder: Path) -> list[dict[str, float]]:
    """The per-epoch lines of ``metrics.jsonl`` in ``folder`` (empty if none)."""
    path = RunFiles(folder).metrics
    if not path.is_file():
        return []
    return [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


def plot_run_history(run: Run) -> Path | None:
    """``learning_curves.png``: the losses, and the monitored metric for validation (and for
    training, where the history has it), the kept epoch marked; titled by the dataset's own
    name."""
    history = run.history()
    if not history:
        return None
    monitor = run.config.trainer.monitor
    summary = run.data_summary() or {}
    name = summary.get("name") or dataset_title(run.task, run.config, run._data)
    return plot_history(
        history, monitor=monitor, kept_epoch=run.kept_epoch(), path=run.files.curves,
        title=f"{run.path.name}: {name}", percent=monitor in PERCENT_METRICS,
    )  # fmt: skip


def write_report(run: Run) -> Path:
    """``report.md``: a summary (the data per split, the vocabularies and how much of the
    validation tokens the main one covers, the parameters, the kept epoch, the training time,
    the baseline), the run beside its baseline on the same split, the per-epoch table with the
    kept epoch marked, every evaluation so far, and the configuration."""
    history, kept = run.history(), run.kept_epoch()
    task = run.task
    baseline = run.baseline_result()
    lines = [
        f"# Run `{run.path.name}` ({task.name})",
        "",
        f"rnnkit {rnnkit.__version__}, torch {torch.__version__}, {device_name()}.",
        "",
        "## Summary",
        "",
        "| | |",
        "|---|---|",
        *(f"| {key} | {value} |" for key, value in summary_rows(run, history, kept, baseline)),
        "",
    ]
    if baseline is not None:
        lines += _against_baseline(run, history, kept, baseline)
    if history:
        val_keys = [k for k in history[0] if k.startswith("val_")]
        lines += [
            "## Training",
            "",
            "| epoch | train loss | "
            + " | ".join(k.replace("_", " ") for k in val_keys)
            + " | seconds |",
            "|---" * (len(val_keys) + 3) + "|",
        ]
        for epoch, h in enumerate(history, start=1):
            cells = [_figure(k[4:], h.get(k, float("nan"))) for k in val_keys]
            mark = " (kept)" if epoch == kept else ""
            lines.append(
                f"| {epoch}{mark} | {h['train_loss']:.4f} | "
                + " | ".join(cells)
                + f" | {h['seconds']:.0f} |"
            )
        lines += ["", "![learning curves](learning_curves.png)", ""]
    for split in SPLITS:
        path = run.files.evaluation(split)
        if not path.is_file():
            continue
        r = _read_json(path)
        main = r.get("main", "")
        lines += [f"## Evaluation on {split} ({r['examples']:,} {task.example_unit})", ""]
        lines.append(
            f"{main} {_figure(main, r[main])}"
            + (f", loss {r['loss']:.4f}" if "loss" in r else "")
            + "."
        )
        lines += ["", "```", r.get("table", ""), "```", ""]
        for picture in sorted(run.path.glob(f"*-{split}.png")):
            lines += [f"![{picture.stem}]({picture.name})", ""]
    lines += [
        "## Configuration",
        "",
        "```json",
        json.dumps(as_plain(run.config), indent=1),
        "```",
        "",
    ]
    return atomic_write_text(run.files.report, "\n".join(lines))


def summary_rows(
    run: Run,
    history: Sequence[Mapping[str, float]],
    kept: int | None,
    baseline: BaselineResult | None,
) -> list[tuple[str, str]]:
    """The rows of ``report.md``'s summary table, as (what, figure)."""
    task, config = run.task, run.config
    summary = run.data_summary() or {}
    name, configured = summary.get("name"), task.dataset_name(config)
    rows = [("dataset", f"`{name}` (`{configured}`)" if name and name != configured
             else f"`{configured}`")]  # fmt: skip
    sizes = summary.get("sizes") or {}
    if sizes:
        listed = ", ".join(f"{split} {n:,}" for split, n in sizes.items())
        rows.append(("data", f"{listed} {summary.get('unit', task.example_unit)}"))
    vocabs = summary.get("vocabularies") or {n: len(v) for n, v in run.artifacts.vocabs.items()}
    if vocabs:
        rows.append(("vocabulary", ", ".join(f"`{n}` {size:,}" for n, size in vocabs.items())))
        coverage = summary.get("coverage")
        rows.append((
            "vocabulary coverage",
            f"{100 * coverage:.2f}% of the validation tokens are in `{Artifacts.MAIN}`"
            if coverage is not None else "- (no validation tokens)",
        ))  # fmt: skip
    rows.append(("parameters", f"{run.parameters():,}"))
    if run.labels:
        rows.append(("labels", f"{len(run.labels)}"))
    monitor = config.trainer.monitor
    if kept is not None and history:
        value = history[kept - 1].get(f"val_{monitor}")
        why = (
            f"best validation {monitor} {_rate(monitor, value)}"
            if value is not None
            else "no validation split: the last epoch"
        )
        rows.append(("kept epoch", f"{kept} of {len(history)} ({why})"))
    if history:
        stages = " (earlier stages included)" if _stage_folders(run.path) else ""
        rows.append(("training time", f"{run.train_seconds():.0f} s{stages}"))
    baseline_row = _baseline_line(run, baseline)
    if baseline_row is not None:
        rows.append(("baseline", baseline_row))
    return rows


def _baseline_line(run: Run, baseline: BaselineResult | None) -> str | None:
    """The baseline's summary row: its figures; why there is none where the task has one;
    None where the task has none."""
    if baseline is not None:
        figures = [
            f"{split} {metric.replace('_', '-')} {_rate(metric, value)}"
            for split, scores in baseline.scores.items()
            for metric, value in scores.items()
        ]
        return f"{baseline.method}: {', '.join(figures)}; {baseline.train_seconds:.1f} s"
    wanted = run.config.run.baseline
    if not run.task.baselines:
        return None
    if wanted == "none":
        return "none (run.baseline none)"
    path = run.files.baseline
    if path.is_file() and "error" in (saved := _read_json(path)):
        return f"not fitted: {saved['error']}"
    try:
        for name in run.task.baselines:
            run.task.check_baseline(name)
    except BaselineUnavailableError as exc:
        return f"not fitted: {exc}"
    return "not fitted yet (it is fitted once training finishes)"


def _against_baseline(
    run: Run, history: Sequence[Mapping[str, float]], kept: int | None, baseline: BaselineResult
) -> list[str]:
    """The run and its baseline side by side, by the baseline's metrics on each split: the
    run's validation figures from its kept epoch, its test figures from ``eval-test.json``."""
    columns = [(split, metric) for split, scores in baseline.scores.items() for metric in scores]
    mine: dict[tuple[str, str], float] = {}
    if kept is not None and history:
        for split, metric in columns:
            if split == "val" and f"val_{metric}" in history[kept - 1]:
                mine[split, metric] = history[kept - 1][f"val_{metric}"]
    for split in {split for split, _ in columns} - {"val"}:
        path = run.files.evaluation(split)
        if path.is_file():
            scored = _read_json(path)
            mine.update({(split, m): scored[m] for s, m in columns if s == split and m in scored})

    def row(
        name: str, values: Mapping[tuple[str, str], float], seconds: float | None, sign: str = ""
    ) -> str:
        cells = [_figure(m, values[s, m], sign) if (s, m) in values else "-" for s, m in columns]
        time = f"{seconds:.1f}" if seconds is not None else "-"
        return f"| {name} | " + " | ".join(cells) + f" | {time} |"

    theirs = baseline.figures()
    difference = {k: mine[k] - v for k, v in theirs.items() if k in mine}
    settings = baseline.settings
    chosen = f", C = {settings['C']:g}" if "C" in settings else ""
    lines = [
        "## Beside the baseline",
        "",
        f"{baseline.method} ({baseline.name}{chosen}) fitted on the same training split "
        f"({', '.join(f'{s} {n:,}' for s, n in baseline.sizes.items())}).",
        "",
        "| model | "
        + " | ".join(f"{s} {m.replace('_', '-')}" for s, m in columns)
        + " | train seconds |",
        "|---" * (len(columns) + 2) + "|",
        row(f"this run (kept epoch {kept})", mine, run.train_seconds() if history else None),
        row(baseline.method, theirs, baseline.train_seconds),
        row("this run − baseline", difference, None, sign="+"),
        "",
    ]
    missing = sorted({s for (s, _m) in columns if (s, _m) not in mine} - {"val"})
    if missing:
        lines += [
            f"The run's {', '.join(missing)} figures come with "
            f"`rnnkit evaluate {run.path.name} --split {missing[0]}`.",
            "",
        ]
    return lines


def _rate(metric: str, value: float) -> str:
    """:func:`_figure` with a ``%`` where the metric is a rate."""
    return _figure(metric, value) + ("%" if metric in PERCENT_METRICS else "")


def _figure(metric: str, value: float, sign: str = "") -> str:
    """A metric as reports print it: rates in percent with two decimals (``sign`` ``+``: with
    its sign), others with four."""
    return f"{100 * value:{sign}.2f}" if metric in PERCENT_METRICS else f"{value:{sign}.4f}"


def _kept_epoch(history: list[dict[str, float]], trainer: Any) -> int | None:
    """The epoch the Trainer kept, from a loaded run's history (the same rule it applies)."""
    key = f"val_{trainer.monitor}"
    scored = [(i + 1, h[key]) for i, h in enumerate(history) if key in h]
    if not scored:
        return len(history) or None
    if trainer.resolved_mode == "max":
        return max(scored, key=lambda item: (item[1], -item[0]))[0]
    return min(scored, key=lambda item: (item[1], item[0]))[0]


def _stage_folders(folder: Path) -> list[Path]:
    return (
        [p for p in sorted(folder.glob("*/")) if (p / "metrics.jsonl").is_file()]
        if folder.is_dir()
        else []
    )


def backend_summary(model: TaskModel) -> str:
    """What the model's recurrent layers trained with (their last call under autograd; for a
    loaded run, their last call), e.g. ``"fused"``, or ``"fused,native"`` where layers differ."""
    used = set()
    for module in model.modules():
        dispatch = getattr(module, "last_training_dispatch", None) or getattr(
            module, "last_dispatch", None
        )
        if dispatch is not None:
            used.add(str(dispatch.backend))
        elif hasattr(module, "backend_used"):  # the int8 layers
            used.add(str(module.backend_used))
    return ",".join(sorted(used)) or "-"


def saved_settings(folder: str | Path) -> dict[str, Any] | None:
    """The settings in the ``config.json`` of run directory ``folder`` (None where there is none
    yet), without the keys that are not settings (task, labels, origin)."""
    path = RunFiles(Path(folder)).config
    if not path.is_file():
        return None
    return {k: v for k, v in _read_json(path).items() if k not in ("task", "labels", "origin")}


def _read_json(path: Path) -> dict[str, Any]:
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path} is missing") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path} is not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(loaded, dict):
        raise ValueError(f"{path}: expected a JSON object")
    return loaded
