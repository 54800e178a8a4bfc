"""``rnnkit tune <task>``: a hyperparameter search with cross-validation, for every registered
task, on Optuna (:mod:`rnnkit.tuning`).

Thin: it reads the config file (the run's settings and its ``[tune]`` section), takes every
config setting as a flag as ``rnnkit train`` does, calls :func:`rnnkit.tuning.tune`, and prints
a summary (or, with ``--json``, one JSON object); progress goes to stderr, a line per fold and
per trial.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rnnkit.cli.tasks import _DEST, SubParsers, add_config_flags, emit, percent
from rnnkit.tasks.base import Task, available_tasks
from rnnkit.tuning import SearchInterrupted, TuneOptions, read_search, require_optuna, tune
from rnnkit.tuning.search import PRUNERS, SAMPLERS

__all__ = ["COMMANDS", "add_tune", "run_tune"]

EXAMPLE = """\
[tune]
"model.encoder.hidden_size" = [64, 128, 256, 512]
"model.encoder.cell" = ["rnn", "lstm", "gru"]
"model.dropout" = {low = 0.0, high = 0.5}
"trainer.lr" = {low = 1e-4, high = 1e-2, log = true}"""


def add_tune(subparsers: SubParsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "tune", help="hyperparameter search with cross-validation (Optuna): best.toml, report"
    )
    tasks = p.add_subparsers(dest="task", required=True, metavar="TASK")
    for task in available_tasks():
        c = tasks.add_parser(
            task.name, parents=[common], help=f"search the settings of: {task.summary}",
            conflict_handler="resolve",  # --seed is the search's here (--trainer.seed trains)
            formatter_class=argparse.RawDescriptionHelpFormatter,
            description=f"Search the settings of {task.name} runs on Optuna: each trial trains "
            "on K folds of the training split (--folds) or on the validation split, scored by "
            "the monitored validation metric of the kept epoch; the test split is never used. "
            "Writes OUT/study.db (unless --storage), OUT/trials/, trials.csv, best.toml, "
            "history.png, settings.png and report.md. The config file holds the run's "
            f"settings and the search space, e.g.\n\n{EXAMPLE}",
        )  # fmt: skip
        add_config_flags(c, task)
        c.add_argument(
            "--config", type=Path, required=True,
            help="a YAML or TOML file: the run's settings, as rnnkit train reads them, and a "
            "[tune] section: per setting a list of values, or a range {low, high, log = true, "
            "step}",
        )  # fmt: skip
        c.add_argument("--out", type=Path, required=True, help="folder of the search")
        c.add_argument(
            "--trials", type=int, default=20,
            help="the study's budget of trials, over every process and --resume (default: 20; "
            "the grid sampler: at most the grid's size)",
        )  # fmt: skip
        c.add_argument(
            "--folds", type=int, default=None, metavar="K",
            help="K-fold cross-validation on the training split (K ≥ 2; default: each trial "
            "trains once and is scored on the validation split)",
        )  # fmt: skip
        c.add_argument(
            "--sampler", choices=SAMPLERS, default="tpe",
            help="grid (every combination, in a seeded order), random or tpe (default)",
        )  # fmt: skip
        c.add_argument(
            "--pruner", choices=PRUNERS, default="median",
            help="stop a trial whose per-epoch validation metric is clearly worse: median "
            "(default), halving (successive halving) or none",
        )  # fmt: skip
        c.add_argument(
            "--storage", metavar="URL",
            help="an Optuna storage URL (postgresql://user@host/db: several machines share one "
            "study; default: sqlite:///OUT/study.db)",
        )  # fmt: skip
        c.add_argument(
            "--study-name", metavar="NAME", help="the study's name (default: the --out folder's)"
        )
        c.add_argument(
            "--jobs", type=int, default=1, metavar="N",
            help="worker processes on the study (default: 1); each gets its share of --threads",
        )  # fmt: skip
        c.add_argument(
            "--timeout", type=float, default=None, metavar="S",
            help="start no new trial after S seconds (the running ones finish)",
        )  # fmt: skip
        c.add_argument(
            "--seed", type=int, default=0,
            help="seeds the sampler and the folds (default: 0; the training seed is "
            "--trainer.seed)",
        )  # fmt: skip
        c.add_argument(
            "--resume", action="store_true",
            help="continue the study (a killed search, or join one running elsewhere): "
            "finished trials are not repeated",
        )  # fmt: skip
        c.add_argument("--json", action="store_true", help="print one JSON object")
        c.set_defaults(run=run_tune, task_spec=task)


def run_tune(args: argparse.Namespace) -> int:
    require_optuna()
    task: Task = args.task_spec
    flags = {k[len(_DEST) :]: v for k, v in vars(args).items() if k.startswith(_DEST)}
    config, space = read_search(task, args.config, flags)
    options = TuneOptions(
        trials=args.trials, folds=args.folds, sampler=args.sampler, pruner=args.pruner,
        storage=args.storage, study_name=args.study_name, jobs=args.jobs,
        timeout=args.timeout, seed=args.seed, resume=args.resume,
    )  # fmt: skip
    try:
        result = tune(config, space, args.out, options, where=str(args.config))
    except SearchInterrupted as stopped:
        print(f"rnnkit tune: {stopped}", file=sys.stderr)
        return 130
    counts: dict[str, int] = {}
    for row in result.trials:
        counts[row.state] = counts.get(row.state, 0) + 1
    tally = ", ".join(f"{n} {state}" for state, n in counts.items())
    lines = [f"{args.out}: {tally} (budget {result.budget})"]
    best = result.best
    if best is not None:
        metric = result.monitor
        folds = f" over {len(best.scores)} folds" if len(best.scores) > 1 else ""
        spread = f" ± {percent(metric, best.std or 0.0)}" if folds else ""
        shown = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                          for k, v in best.params.items())  # fmt: skip
        lines.append(
            f"best: trial {best.number}, validation {metric} "
            f"{percent(metric, best.mean or 0.0)}{spread}{folds} ({shown})"
        )
    written = [path.name for path in result.files.values()]
    lines.append(f"written: {', '.join(written)}")
    if best is not None:
        lines.append(
            f"next: rnnkit train {task.name} --config {result.files['best']} --out runs/best"
        )
    else:
        lines.append(f"no trial completed; {result.files['trials']} says why")
    emit(args, json.loads(json.dumps(result.to_dict(), default=str)), "\n".join(lines))
    return 0 if best is not None else 1


COMMANDS = (add_tune,)
