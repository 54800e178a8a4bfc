"""One generic run for every registered task: create, resume and load a run directory; train it
through the Trainer; evaluate, predict, compare cells, and record quality figures.

A run directory holds (names owned by :class:`RunFiles`): ``config.json`` (the task, the
resolved configuration, the labels and the folder the run was started from), ``vocab.json``
(and ``vocab-<name>.json`` for a task's other vocabularies), ``model.safetensors`` (the kept
weights), ``checkpoint.pt`` (to resume), ``metrics.jsonl`` (one line per epoch),
``learning_curves.png``, ``report.md`` and, once evaluated, ``eval-<split>.json`` and the
task's pictures of it. Nothing here knows a task by name: the task is read from ``config.json``
and every task-specific step is a method of its :class:`~rnnkit.tasks.base.Task`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

import rnnkit
from rnnkit._io import atomic_write_text, pid_lock
from rnnkit._machine import cpu_model
from rnnkit.config import as_plain, setting_paths
from rnnkit.pipelines.runconfig import resolve, task_of, to_dict
from rnnkit.tasks.base import Artifacts, Result, Task, TaskModel, get_task
from rnnkit.tasks.encoder import variant
from rnnkit.training import Callback, Trainer, load_weights, seed_everything
from rnnkit.training.trainer import FitResult
from rnnkit.viz import plot_learning_curves
from rnnkit.viz.history import plot_history

__all__ = [
    "PERCENT_METRICS",
    "SPLITS",
    "Run",
    "RunFiles",
    "backend_summary",
    "compare",
    "device_name",
    "has_split",
    "record_quality",
    "saved_settings",
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
        task = get_task(saved.get("task"))
        config = resolve(task, saved, where=str(files.config))
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
        """The run's dataset (read once)."""
        if self._data is None:
            self._data = self.task.load_data(self.config)
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


def train(
    config: Any,
    out: str | Path,
    *,
    resume: bool = False,
    progress: bool = True,
    callbacks: Sequence[Callback] = (),
) -> Run:
    """Train the model ``config`` describes into run directory ``out`` (or continue the run
    there with ``resume``); ``callbacks`` join the Trainer's own. The task comes from the config
    (:func:`rnnkit.pipelines.runconfig.resolve`).

    While it trains, ``out/train.lock`` holds this process's pid: a second training into the same
    folder (or a ``resume`` beside a running one) is refused with one clear error. A resumed run
    keeps the settings it was started with, except :data:`RESUMABLE` (more epochs, another
    patience or device), which ``config`` may change; any other difference is refused, named."""
    folder = Path(out)
    with contextlib.ExitStack() as stack:
        if os.environ.get("RANK", "0") == "0":  # under torchrun, rank 0 holds the lock
            stack.enter_context(pid_lock(RunFiles(folder).lock, what="a training"))
        return _train(config, folder, resume=resume, progress=progress, callbacks=callbacks)
    raise AssertionError("unreachable")  # pragma: no cover - the block returns


# Settings a resumed run may change (the rest must match what it was started with).
RESUMABLE = frozenset({"trainer.epochs", "trainer.patience", "trainer.device", "trainer.progress"})


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
        raise ValueError(
            f"--resume continues a run with the settings it started with; only "
            f"{', '.join(sorted(RESUMABLE - {'trainer.progress'}))} may change. Given: {listed}"
        )
    trainer = {p.partition(".")[2]: after[p] for p in changed}
    return replace(saved, trainer=replace(saved.trainer, **trainer))


def _train(
    config: Any, folder: Path, *, resume: bool, progress: bool, callbacks: Sequence[Callback]
) -> Run:
    task = task_of(config)
    files = RunFiles(folder)
    stage_checkpoints = [RunFiles(p).checkpoint for p in _stage_folders(folder)]
    if resume:
        if not files.checkpoint.is_file() and not any(p.is_file() for p in stage_checkpoints):
            raise ValueError(f"--resume: {folder} holds no checkpoint.pt to resume from")
        saved = _read_json(files.config)
        if saved.get("task") != task.name:
            raise ValueError(
                f"--resume: {folder} holds a {saved.get('task')!r} run, not {task.name!r}"
            )
        config = resumed_config(
            resolve(task, saved, where=str(files.config)), absolute_data_path(config)
        )
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
    seed_everything(config.trainer.seed)
    data = task.load_data(config)
    if resume:
        run = Run._assemble(folder, task, config, saved)
    else:
        artifacts = task.build_artifacts(config, data)
        torch.manual_seed(config.trainer.seed)
        model = task.build_model(config, artifacts)
        run = Run(folder, task, config, artifacts, model, Path.cwd())
    run._data = data
    started = files.checkpoint.is_file()
    stages = task.stages(run, data, resume=started)
    train_batches = task.batches(config, run.artifacts, data, "train", train=True)
    if train_batches is None:
        raise ValueError(f"{task.dataset_name(config)}: the training split is empty")
    val_batches = task.batches(config, run.artifacts, data, "val", train=False)
    trainer = Trainer(run.model, config.trainer, run_dir=folder, callbacks=callbacks)
    folder.mkdir(parents=True, exist_ok=True)  # everything above can fail without writing
    for stale in folder.glob(".*.tmp"):  # half-written by a killed run (the lock is ours)
        stale.unlink(missing_ok=True)
    if not resume:
        run.artifacts.save(folder)
        saved_config = {**to_dict(task, config), "labels": run.labels, "origin": str(Path.cwd())}
        atomic_write_text(files.config, json.dumps(saved_config, indent=1) + "\n")
    if not started:
        for stage in stages:
            stage_trainer = replace(config.trainer, **stage.trainer)
            stage_folder = files.stage(stage.folder)
            Trainer(stage.model, stage_trainer, run_dir=stage_folder.folder).fit(
                stage.train_batches, stage.val_batches, resume=stage_folder.checkpoint.is_file()
            )
    run.fit = trainer.fit(train_batches, val_batches, resume=started)
    run.model.eval()
    if trainer.world.is_main:
        plot_run_history(run)
        write_report(run)
    return run


def has_split(data: Any, split: str) -> bool:
    """Whether ``data`` holds items in ``split`` (Tiny Shakespeare has no test split); data of
    another shape than a :class:`~rnnkit.datasets.base.SplitData` is taken to have every split."""
    items = getattr(data, "split", None)
    return bool(items(split)) if callable(items) else True


def absolute_data_path(config: Any) -> Any:
    """``config`` with a relative path to the user's own files (``csv:data/x``) made absolute,
    so the run finds its data from any working folder (and a reader names the path when the data
    has moved)."""
    data = getattr(config, "data", None)
    name = getattr(data, "dataset", None)
    if data is None or not isinstance(name, str):
        return config
    scheme, colon, path = name.partition(":")
    if not colon or not path or Path(path).is_absolute():
        return config
    return replace(config, data=replace(data, dataset=f"{scheme}:{Path(path).absolute()}"))


def compare(
    config: Any, cells: Sequence[str], out: str | Path, *, progress: bool = True
) -> list[dict[str, Any]]:
    """Train one run per cell variant (``rnn``, ``lstm``, ``lstm-peephole``, ``gru``,
    ``gru-reset-before``) on the same data and budget into ``out/<cell>``, evaluate each on val
    and test by the task's main metric, and save ``out/compare.json`` and ``out/compare.png``
    (the monitored validation metric per epoch)."""
    if not cells:
        raise ValueError("compare: no cells given")
    task = task_of(config)
    folder = Path(out)
    data = task.load_data(config)
    rows, curves = [], {}
    monitor = config.trainer.monitor
    for cell in cells:
        encoder = replace(config.model.encoder, **variant(cell))
        cell_config = replace(config, model=replace(config.model, encoder=encoder))
        run_dir = folder / cell
        resume = (run_dir / "checkpoint.pt").is_file()
        if resume:
            saved = _read_json(run_dir / "config.json")
            if saved.get("model", {}).get("encoder") != as_plain(encoder):
                raise ValueError(f"compare: {run_dir} holds a run of another cell")
        started = time.perf_counter()
        run = train(cell_config, run_dir, resume=resume, progress=progress)
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
    plot_learning_curves(
        curves, path=folder / "compare.png", ylabel=f"validation {monitor}{unit}",
        title=f"{task.dataset_name(config)}: {', '.join(cells)}", log_y=False, xlabel="epoch",
    )  # fmt: skip
    atomic_write_text(folder / "compare.json", json.dumps(rows, indent=1) + "\n")
    return rows


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


def write_evaluation(task: Task, result: Result, folder: Path) -> list[Path]:
    """``eval-<split>.json`` and the task's pictures of ``result``, into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(
        RunFiles(folder).evaluation(result.split),
        json.dumps({**result.to_dict(), "table": result.table}, indent=1) + "\n",
    )
    return task.plot_evaluation(result, folder)


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
    """``learning_curves.png``: losses and the monitored validation metric per epoch, the kept
    epoch marked."""
    history = run.history()
    if not history:
        return None
    monitor = run.config.trainer.monitor
    return plot_history(
        history, monitor=monitor, kept_epoch=run.kept_epoch(), path=run.files.curves,
        title=f"{run.path.name} ({run.task.dataset_name(run.config)})",
        percent=monitor in PERCENT_METRICS,
    )  # fmt: skip


def write_report(run: Run) -> Path:
    """``report.md``: the configuration, data and model sizes, the per-epoch table with the kept
    epoch marked, and every evaluation so far."""
    history, kept = run.history(), run.kept_epoch()
    task = run.task
    lines = [
        f"# Run `{run.path.name}` ({task.name})",
        "",
        f"rnnkit {rnnkit.__version__}, torch {torch.__version__}, {device_name()}.",
        "",
        f"Dataset `{task.dataset_name(run.config)}`. Model: {run.parameters():,} parameters; "
        + ", ".join(f"vocabulary `{n}` {len(v):,}" for n, v in run.artifacts.vocabs.items())
        + (f"; {len(run.labels)} labels." if run.labels else "."),
        "",
        "## Configuration",
        "",
        "```json",
        json.dumps(as_plain(run.config), indent=1),
        "```",
        "",
    ]
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
        total = sum(h["seconds"] for h in history)
        monitor = run.config.trainer.monitor
        lines += [
            "",
            f"Total training time: {total:.0f} s. Kept epoch: {kept} (best validation {monitor}).",
            "",
            "![learning curves](learning_curves.png)",
            "",
        ]
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
    return atomic_write_text(run.files.report, "\n".join(lines))


def _figure(metric: str, value: float) -> str:
    return f"{100 * value:.2f}" if metric in PERCENT_METRICS else f"{value:.4f}"


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
