"""A hyperparameter search on Optuna: every trial a run of the task's generic training
(:func:`rnnkit.pipelines.run.train`), on K folds of the training split or on the task's own
validation split, scored by the monitored validation metric of the kept epoch.

:func:`tune` opens (or creates) the study, lays out its slots (:mod:`rnnkit.tuning.storage`),
runs one worker in this process or ``jobs`` worker processes on the study, and writes the
results (:mod:`rnnkit.tuning.results`). Each worker claims slot after slot until none is left
or the wall-time budget is spent; a trial trains fold after fold, each fold a run directory
``OUT/trials/NNNN/fold-K`` (its weights removed once scored: ``best.toml`` retrains the best),
and the pruner hears every epoch's validation metric (:class:`PruningCallback`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rnnkit.config import as_plain
from rnnkit.pipelines.run import absolute_data_path, dataset_title, train
from rnnkit.pipelines.runconfig import resolve, task_of, to_dict
from rnnkit.tasks.base import Task, get_task
from rnnkit.training import Callback
from rnnkit.training.checkpoint import first_line
from rnnkit.tuning.pruning import PruningCallback
from rnnkit.tuning.results import (
    NOTE,
    SCORES,
    SECONDS,
    SearchSummary,
    TrialRow,
    best_row,
    rate,
    trial_rows,
    write_results,
)
from rnnkit.tuning.space import SearchSpace
from rnnkit.tuning.storage import (
    INTERRUPTED,
    SLOT,
    absolute_url,
    claim,
    claim_lock,
    frozen_trial,
    masked,
    open_storage,
    put_back,
    recover_stale,
    require_optuna,
    sqlite_path,
)

if TYPE_CHECKING:
    import optuna

__all__ = ["PRUNERS", "SAMPLERS", "SearchInterrupted", "TuneOptions", "TuneResult", "tune"]

SAMPLERS = ("grid", "random", "tpe")
PRUNERS = ("median", "halving", "none")
STUDY_ATTR = "rnnkit"  # the study's user attribute: what the search is (checked on --resume)
TRIALS = "trials"  # OUT/trials/NNNN[/fold-K]: the trials' run directories
# Settings a resumed search (or another process joining it) may give otherwise.
MAY_DIFFER = frozenset(
    {"trainer.device", "trainer.progress", "run.baseline", "run.keep_checkpoint"}
)

Log = Callable[[str], None]


@dataclasses.dataclass(frozen=True)
class TuneOptions:
    """How to search; the flags of ``rnnkit tune``."""

    trials: int = 20  # the study's budget of trials, over every process and every --resume
    folds: int | None = None  # K-fold cross-validation on the training split; None: the val split
    sampler: str = "tpe"  # grid | random | tpe
    pruner: str = "median"  # median | halving (successive halving) | none
    storage: str | None = None  # an Optuna storage URL; None: sqlite:///OUT/study.db
    study_name: str | None = None  # the study's name in the storage; None: the --out folder's
    jobs: int = 1  # worker processes on the study
    timeout: float | None = None  # seconds after which no new trial starts (None: no limit)
    seed: int = 0  # seeds the sampler and the folds (the training seed is trainer.seed)
    resume: bool = False  # continue the study, without repeating its finished trials

    def __post_init__(self) -> None:
        if self.trials < 1:
            raise ValueError(f"--trials must be ≥ 1, got {self.trials}")
        if self.folds is not None and self.folds < 2:
            raise ValueError(
                f"--folds must be ≥ 2 (K-fold cross-validation), got {self.folds}; "
                "leave it out to score each trial on the task's validation split"
            )
        if self.sampler not in SAMPLERS:
            raise ValueError(
                f"--sampler must be one of {', '.join(SAMPLERS)}, got {self.sampler!r}"
            )
        if self.pruner not in PRUNERS:
            raise ValueError(f"--pruner must be one of {', '.join(PRUNERS)}, got {self.pruner!r}")
        if self.jobs < 1:
            raise ValueError(f"--jobs must be ≥ 1, got {self.jobs}")
        if self.timeout is not None and not (math.isfinite(self.timeout) and self.timeout > 0):
            raise ValueError(f"--timeout must be a number of seconds > 0, got {self.timeout}")


class SearchInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a search; the message says what is kept and how to continue."""


@dataclasses.dataclass(frozen=True)
class TuneResult:
    """What a search did: its trials (every process's), the best one and its config, the files."""

    study: str
    storage: str  # the URL, password hidden
    monitor: str
    maximize: bool
    budget: int
    trials: list[TrialRow]
    best: TrialRow | None
    best_config: Any  # the best trial's run config (None: no trial completed)
    files: dict[str, Path]

    def to_dict(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for row in self.trials:
            counts[row.state] = counts.get(row.state, 0) + 1
        return {
            "study": self.study, "storage": self.storage, "monitor": self.monitor,
            "direction": "maximize" if self.maximize else "minimize", "budget": self.budget,
            "trials": counts, "best": None if self.best is None else self.best.to_dict(),
            "files": {name: str(path) for name, path in self.files.items()},
        }  # fmt: skip


def tune(
    config: Any,
    space: SearchSpace,
    out: str | Path,
    options: TuneOptions = TuneOptions(),  # frozen: safe to share
    *,
    where: str = "tune",
    callbacks: Sequence[Callback] = (),
    log: Log | None = None,
) -> TuneResult:
    """Search ``space`` around the run config ``config`` (made by
    :func:`rnnkit.pipelines.runconfig.resolve`) into folder ``out``.

    The objective of a trial is the monitored validation metric (``trainer.monitor``) of the
    kept epoch, maximised or minimised as the Trainer judges it (``trainer.mode``), averaged
    over ``options.folds`` folds of the training split (:meth:`~rnnkit.tasks.base.Task.folds`),
    or of one run on the task's validation split. The test split is never used.

    ``callbacks`` join every trial's Trainer (one process only: ``jobs`` 1); ``log`` hears one
    line per fold and per trial (default: stderr); ``where`` names the config file in messages.
    Ctrl-C raises :class:`SearchInterrupted` once the results so far are written; the running
    trial is put back, to run again in full on ``resume``.
    """
    optuna = require_optuna()
    say = log or _stderr
    task = task_of(config)
    config = absolute_data_path(config)
    if options.jobs > 1 and callbacks:
        raise ValueError("callbacks run in this process only; use jobs=1 with them")
    task.check(config)
    space.check(config, where=where)
    folder = Path(out).resolve()  # absolute: worker processes may run from another folder
    url = absolute_url(options.storage or f"sqlite:///{folder / 'study.db'}")
    if options.jobs > 1 and url.startswith("sqlite") and sqlite_path(url) is None:
        raise ValueError("an SQLite study in memory cannot be shared by --jobs processes")
    slots = Slots(space, options)
    data = FoldData(task, options)
    data.parts(config)  # the data, and its folds, before anything is written
    made = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        storage = open_storage(url)
    except ValueError:
        if made and not any(folder.iterdir()):
            folder.rmdir()  # nothing was written: leave no folder
        raise
    name = options.study_name or folder.name
    maximize = config.trainer.resolved_mode == "max"
    identity = {
        "task": task.name, "space": space.to_dict(), "sampler": options.sampler,
        "folds": options.folds, "seed": options.seed, "monitor": config.trainer.monitor,
        "maximize": maximize, "base": as_plain(config),
    }  # fmt: skip
    study = _open_study(optuna, storage, name, identity, options, url=url, maximize=maximize)
    put_back_now = recover_stale(study, storage, url=url)
    if put_back_now:
        many = len(put_back_now) > 1
        say(f"tune: trial{'s' if many else ''} {', '.join(map(str, put_back_now))} "
            f"{'were' if many else 'was'} left running by a process that is gone: "
            f"{'they run' if many else 'it runs'} again")  # fmt: skip
    slots.lay_out(study, url=url)
    summary = SearchSummary(
        task=task.name, dataset=dataset_title(task, config), study=name, storage=masked(url),
        sampler=options.sampler, pruner=options.pruner, folds=options.folds,
        monitor=config.trainer.monitor, maximize=maximize, budget=slots.budget, seed=options.seed,
    )  # fmt: skip
    done = _finished(study)
    say(
        f"tune: study {name!r} in {masked(url)}: {slots.budget} trials ({done} finished), "
        f"{options.sampler} sampler, {options.pruner} pruner, "
        f"{f'{options.folds} folds' if options.folds else 'the validation split'}, "
        f"{'maximising' if maximize else 'minimising'} validation {config.trainer.monitor}"
    )
    job = _Job(
        task=task.name, config=to_dict(task, config), space=space, options=options, out=folder,
        url=url, study=name, budget=slots.budget, threads=_threads(options.jobs),
    )  # fmt: skip
    try:
        if options.jobs == 1:
            Worker(job, index=0, log=say, callbacks=callbacks, data=data).run(storage)
        else:
            _run_processes(job, say)
    except KeyboardInterrupt:
        result = _results(study, space, summary, config, folder)
        finished = sum(r.state in ("complete", "pruned", "failed") for r in result.trials)
        raise SearchInterrupted(
            f"interrupted after {finished} of {slots.budget} trials; the results so far are in "
            f"{folder}; the same command with --resume continues (study {name!r} in "
            f"{masked(url)})"
        ) from None
    return _results(study, space, summary, config, folder)


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _threads(jobs: int) -> int:
    import torch

    return max(1, torch.get_num_threads() // jobs)


def _finished(study: optuna.Study) -> int:
    import optuna

    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    failed = [
        t
        for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.FAIL,))
        if INTERRUPTED not in t.user_attrs
    ]
    return len(study.get_trials(deepcopy=False, states=states)) + len(failed)


def _open_study(
    optuna: Any,
    storage: Any,
    name: str,
    identity: dict[str, Any],
    options: TuneOptions,
    *,
    url: str,
    maximize: bool,
) -> optuna.Study:
    """The study ``name``: created (and described by ``identity``) unless ``options.resume``,
    loaded (and checked to be the same search) with it."""
    where = f"study {name!r} in {masked(url)}"
    try:
        storage.get_study_id_from_name(name)
        exists = True
    except KeyError:
        exists = False
    if exists and not options.resume:
        study = optuna.load_study(study_name=name, storage=storage)
        raise ValueError(
            f"{where} already exists ({len(study.trials)} trials); --resume continues it, or "
            "give another --out (or --study-name)"
        )
    if not exists and options.resume:
        raise ValueError(f"--resume: there is no {where} to continue; leave out --resume")
    if not exists:
        try:
            study = optuna.create_study(
                study_name=name, storage=storage,
                direction="maximize" if maximize else "minimize",
            )  # fmt: skip
        except optuna.exceptions.DuplicatedStudyError:
            raise ValueError(
                f"{where} was just created by another process; join it with --resume"
            ) from None
        study.set_user_attr(STUDY_ATTR, identity)
        return study  # type: ignore[no-any-return]
    study = optuna.load_study(study_name=name, storage=storage)
    saved = study.user_attrs.get(STUDY_ATTR)
    if saved is None:
        raise ValueError(f"--resume: {where} was not made by rnnkit tune (or is being set up)")
    _check_same_search(saved, identity, where=where)
    return study  # type: ignore[no-any-return]


def _check_same_search(saved: dict[str, Any], given: dict[str, Any], *, where: str) -> None:
    """One error naming what differs between the study's search and the one given."""
    keys = ("task", "space", "sampler", "folds", "seed", "monitor", "maximize")
    differ = [k for k in keys if _same(saved.get(k)) != _same(given[k])]
    before, after = _flat(saved.get("base", {})), _flat(given["base"])
    settings = sorted(
        p for p in set(before) | set(after) if before.get(p) != after.get(p) and p not in MAY_DIFFER
    )
    if differ or settings:
        listed = [
            f"{k}: the study has {saved.get(k)!r:.80}, given {given[k]!r:.80}" for k in differ
        ]
        listed += [
            f"{p}: the study has {before.get(p)!r}, given {after.get(p)!r}" for p in settings
        ]
        raise ValueError(
            f"--resume: {where} is another search; a resumed search keeps its task, space, "
            f"sampler, folds, seed and settings (only --trials, --timeout, --jobs, --pruner and "
            f"{', '.join(sorted(MAY_DIFFER))} may change). Given: {'; '.join(listed)}"
        )


def _same(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _flat(plain: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(plain, dict):
        return {prefix[:-1]: plain}
    flat: dict[str, Any] = {}
    for key, value in plain.items():
        flat.update(_flat(value, f"{prefix}{key}."))
    return flat


def _results(
    study: optuna.Study, space: SearchSpace, summary: SearchSummary, config: Any, folder: Path
) -> TuneResult:
    rows = trial_rows(study)
    best = best_row(rows, maximize=summary.maximize)
    best_config = space.apply(config, best.params) if best is not None else None
    files = write_results(folder, rows, space, summary, best_config)
    return TuneResult(
        study=summary.study, storage=summary.storage, monitor=summary.monitor,
        maximize=summary.maximize, budget=summary.budget, trials=rows, best=best,
        best_config=best_config, files=files,
    )  # fmt: skip


class Slots:
    """The trials of the budget, laid out in the study before any runs: a grid's points in a
    seeded order (``--trials`` below the grid's size runs a seeded random part of it), random
    points drawn each from its own seed (``[seed, slot]``, so the same seed gives the same
    points whatever the budget or the number of processes), or open slots for TPE."""

    def __init__(self, space: SearchSpace, options: TuneOptions) -> None:
        self.space, self.sampler, self.seed = space, options.sampler, options.seed
        self.grid: list[dict[str, Any]] | None = None
        self.budget = options.trials
        if options.sampler == "grid":
            points = space.grid()
            order = np.random.default_rng(options.seed).permutation(len(points))
            self.grid = [points[i] for i in order]
            self.budget = min(options.trials, len(points))

    def params(self, slot: int) -> dict[str, Any]:
        """The fixed parameters of ``slot`` (none for TPE: its sampler decides as it goes)."""
        if self.grid is not None:
            return dict(self.grid[slot])
        if self.sampler == "random":
            return self.space.draw(np.random.default_rng([self.seed, slot]))
        return {}

    def lay_out(self, study: optuna.Study, *, url: str) -> None:
        """Add the slots of the budget the study does not hold yet (a failed trial keeps its
        slot; one put back was replaced by a waiting copy)."""
        with claim_lock(url):
            held = {
                int(t.user_attrs[SLOT])
                for t in study.get_trials(deepcopy=False)
                if SLOT in t.user_attrs and INTERRUPTED not in t.user_attrs
            }
            for slot in range(self.budget):
                if slot not in held:
                    study.enqueue_trial(self.params(slot), user_attrs={SLOT: slot})


class FoldData:
    """The data each trial trains on, loaded once per distinct data section (a search over a
    data setting may need another load), with its folds."""

    def __init__(self, task: Task, options: TuneOptions) -> None:
        self.task, self.folds, self.seed = task, options.folds, options.seed
        self._cache: dict[str, list[tuple[str, Any]]] = {}

    def parts(self, config: Any) -> list[tuple[str, Any]]:
        """``[(name, data)]``: one per fold (``fold-1``, …), or ``[("", data)]`` without folds."""
        key = json.dumps(as_plain(config.data), sort_keys=True, default=str)
        if key not in self._cache:
            data = self.task.load_data(config)
            if self.folds is None:
                if not self.task.split_sizes(data).get("val", 1):
                    raise ValueError(
                        f"{self.task.dataset_name(config)}: the validation split is empty; "
                        "score the trials by cross-validation with --folds K"
                    )
                parts = [("", data)]
            else:
                copies = self.task.folds(data, self.folds, seed=self.seed)
                parts = [(f"fold-{i + 1}", copy) for i, copy in enumerate(copies)]
            if len(self._cache) >= 2:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = parts
        return self._cache[key]


@dataclasses.dataclass(frozen=True)
class _Job:
    """What a worker needs, picklable (a worker process rebuilds the rest)."""

    task: str
    config: dict[str, Any]
    space: SearchSpace
    options: TuneOptions
    out: Path
    url: str
    study: str
    budget: int
    threads: int


class Worker:
    """Claims slot after slot of the study and runs each as a trial, until none is left or the
    wall-time budget is spent."""

    def __init__(
        self,
        job: _Job,
        *,
        index: int,
        log: Log,
        callbacks: Sequence[Callback] = (),
        data: FoldData | None = None,
    ) -> None:
        self.job, self.index, self.log, self.callbacks = job, index, log, list(callbacks)
        self.task = get_task(job.task)
        self.config = resolve(self.task, job.config, where="tune")
        self.data = data or FoldData(self.task, job.options)
        self.monitor = self.config.trainer.monitor

    def run(self, storage: Any = None) -> None:
        """Claim and run trials (``storage``: the study's, where this process has it open)."""
        optuna = require_optuna()
        job, options = self.job, self.job.options
        storage = storage or open_storage(job.url, checked=True)
        study = optuna.load_study(study_name=job.study, storage=storage)
        study.sampler = _sampler(optuna, options, worker=self.index, finished=_finished(study))
        study.pruner = _pruner(optuna, options.pruner)
        started = time.monotonic()
        while options.timeout is None or time.monotonic() - started < options.timeout:
            trial = claim(study, storage, budget=job.budget, url=job.url)
            if trial is None:
                return
            try:
                self._run_trial(optuna, study, trial)
            except KeyboardInterrupt:
                frozen = frozen_trial(study, storage, trial.number)
                put_back(study, storage, frozen, url=job.url, why="interrupted (Ctrl-C)")
                raise
        self.log(f"tune: --timeout {options.timeout:g} s reached; no new trial starts")

    def _run_trial(self, optuna: Any, study: optuna.Study, trial: optuna.Trial) -> None:
        started = time.perf_counter()
        state, value, note = optuna.trial.TrialState.COMPLETE, None, ""
        params: dict[str, Any] = {}
        scores: list[float] = []
        try:
            params = self.job.space.suggest(trial)
            config = self.job.space.apply(self.config, params)
            scores = self._folds(trial, config)
            value = sum(scores) / len(scores)
        except optuna.TrialPruned as pruned:
            state, note = optuna.trial.TrialState.PRUNED, str(pruned)
        except Exception as exc:  # the trial's settings cannot train; the search goes on
            state, note = optuna.trial.TrialState.FAIL, f"{type(exc).__name__}: {first_line(exc)}"
        finally:
            _drop_weights(self.job.out / TRIALS / f"{trial.number:04d}")
        seconds = time.perf_counter() - started
        trial.set_user_attr(SECONDS, round(seconds, 3))
        if note:
            trial.set_user_attr(NOTE, note)
        if state == optuna.trial.TrialState.COMPLETE:
            study.tell(trial, value)
        else:
            study.tell(trial, state=state)
        self._say_trial(study, trial.number, state.name.lower(), scores, params, note, seconds)

    def _folds(self, trial: optuna.Trial, config: Any) -> list[float]:
        """Train the trial on each fold (or once on the validation split); the kept epoch's
        monitored metric of each."""
        parts = self.data.parts(config)
        epochs = config.trainer.epochs
        run_config = dataclasses.replace(
            config, run=dataclasses.replace(config.run, baseline="none")
        )
        scores: list[float] = []
        for i, (name, data) in enumerate(parts):
            where = f"fold {i + 1}" if name else ""
            pruning = [PruningCallback(trial, step_offset=i * epochs, where=where)]
            if self.job.options.pruner == "none":
                pruning = []  # nothing hears the per-epoch values
            folder = self.job.out / TRIALS / f"{trial.number:04d}" / name
            started = time.perf_counter()
            run = train(
                run_config, folder, progress=False, callbacks=[*pruning, *self.callbacks],
                data=data, report=False,
            )  # fmt: skip
            fit = run.fit
            if fit is None or fit.best is None:
                raise ValueError(f"{where or 'the run'}: no validation score")
            scores.append(float(fit.best))
            trial.set_user_attr(SCORES, scores)
            if name:
                self.log(
                    f"{self._prefix()}trial {trial.number} {where}/{len(parts)}: val "
                    f"{self.monitor} {rate(self.monitor, fit.best)} (epoch {fit.best_epoch} "
                    f"of {len(fit.history)}), {time.perf_counter() - started:.0f} s"
                )
        return scores

    def _say_trial(
        self,
        study: optuna.Study,
        number: int,
        state: str,
        scores: list[float],
        params: dict[str, Any],
        note: str,
        seconds: float,
    ) -> None:
        metric = self.monitor
        if state == "complete":
            mean = sum(scores) / len(scores)
            spread = math.sqrt(sum((s - mean) ** 2 for s in scores) / len(scores))
            what = f"val {metric} {rate(metric, mean)}"
            if len(scores) > 1:
                what += f" ± {rate(metric, spread)} over {len(scores)} folds"
        elif state == "pruned":
            what = note
        else:
            what = f"failed: {note}"
        shown = " ".join(f"{k}={_short(v)}" for k, v in params.items())
        rows = trial_rows(study)
        best = best_row(rows, maximize=study.direction.name == "MAXIMIZE")
        finished = sum(r.state in ("complete", "pruned", "failed") for r in rows)
        tail = f"; best: trial {best.number}, {rate(metric, best.mean)}" if best else ""
        self.log(
            f"{self._prefix()}trial {number} ({finished}/{self.job.budget}): {what}, "
            f"{seconds:.0f} s [{shown}]{tail}"
        )

    def _prefix(self) -> str:
        return f"[worker {self.index + 1}] " if self.job.options.jobs > 1 else ""


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _drop_weights(folder: Path) -> None:
    """Remove a trial's weights and checkpoints (its configs, metrics and data summaries stay)."""
    if not folder.is_dir():
        return
    for pattern in ("model.safetensors", "checkpoint.pt"):
        for path in folder.rglob(pattern):
            path.unlink(missing_ok=True)


def _sampler(optuna: Any, options: TuneOptions, *, worker: int, finished: int) -> Any:
    """The sampler of one worker. Grid and random slots carry their parameters, so their sampler
    is never asked; TPE's seed is derived from the search's seed, the worker and the trials
    already finished, so a resumed search (or a second worker) does not replay the same random
    start-up points."""
    seed = int(np.random.SeedSequence([options.seed, worker, finished]).generate_state(1)[0])
    if options.sampler == "tpe":
        return optuna.samplers.TPESampler(seed=seed, constant_liar=options.jobs > 1)
    return optuna.samplers.RandomSampler(seed=seed)


def _pruner(optuna: Any, name: str) -> Any:
    if name == "median":
        return optuna.pruners.MedianPruner()
    if name == "halving":
        return optuna.pruners.SuccessiveHalvingPruner()
    return optuna.pruners.NopPruner()


# -- worker processes -----------------------------------------------------------------------


def _run_processes(job: _Job, log: Log) -> None:
    """``job.options.jobs`` worker processes, waited for; the first error one of them hit, as one
    line. Each is forked from a fork server (a fresh interpreter that has imported rnnkit and
    torch once, and has started no thread: safe to fork, unlike this process), so the workers
    share no state with this process and start in milliseconds; where there is no fork server
    (Windows), each is a spawned interpreter."""
    context: Any
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["rnnkit.tuning._warm"])
    else:  # pragma: no cover - Windows
        context = multiprocessing.get_context("spawn")
    errors = context.SimpleQueue()
    processes = [
        context.Process(target=_worker_main, args=(job, i, errors), name=f"rnnkit-tune-{i + 1}")
        for i in range(job.options.jobs)
    ]
    for process in processes:
        process.start()
    try:
        for process in processes:
            process.join()
    except KeyboardInterrupt:
        for process in processes:  # the terminal's Ctrl-C reached them too; a kill -INT did not
            if process.is_alive() and process.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGINT)
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.terminate()
        raise
    messages = []
    while not errors.empty():
        messages.append(errors.get())
    if messages:
        raise ValueError(messages[0])
    stopped = [p for p in processes if p.exitcode not in (0, None)]
    if stopped:
        raise ValueError(
            f"worker process {stopped[0].name} stopped (exit code {stopped[0].exitcode}); the "
            "same command with --resume continues"
        )


def _worker_main(job: _Job, index: int, errors: Any) -> None:
    """A worker process: its own torch threads, its own data and storage connection."""
    import torch

    torch.set_num_threads(job.threads)
    code = 0
    try:
        Worker(job, index=index, log=_stderr).run()
    except KeyboardInterrupt:
        code = 130
    except Exception as exc:
        errors.put(f"worker {index + 1}: {first_line(exc)}")
        code = 1
    sys.stderr.flush()
    sys.stdout.flush()
    os._exit(code)  # its work is committed: skip the interpreter's teardown (a second, torch's)
