"""The commands every registered task shares, built from the task registry:
``rnnkit train <task>``, ``rnnkit compare <task>``, ``rnnkit evaluate RUN``, ``rnnkit predict
RUN …`` (dispatching on the run's stored task) and ``rnnkit datasets``.

Thin: each command parses its flags, calls :mod:`rnnkit.pipelines.run`, and prints a table (or,
with ``--json``, one JSON object). Every config setting is a flag: ``--model.encoder.hidden-size``
and, where the last name is unique in the task's config, ``--hidden-size``.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shlex
import sys
import typing
from pathlib import Path
from typing import Any, TypeAlias

import rnnkit.datasets as datasets
from rnnkit.config import field_help, field_types, read_config_file, setting_paths, short_names
from rnnkit.pipelines.ensemble import evaluate_ensemble
from rnnkit.pipelines.run import (
    PERCENT_METRICS,
    SPLITS,
    Run,
    backend_summary,
    compare,
    file_split,
    has_split,
    record_quality,
    saved_settings,
    train,
)
from rnnkit.pipelines.runconfig import config_type, resolve
from rnnkit.tasks.base import Task, available_tasks
from rnnkit.tasks.encoder import CELL_VARIANTS

SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
QUALITY_LOG = Path("benchmarks/results/quality.jsonl")
_DEST = "config:"  # argparse dest prefix of config settings


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def add_config_flags(parser: argparse.ArgumentParser, task: Task) -> None:
    """One flag per setting of ``task``'s config, help from the field's comment; a flag left
    out keeps the config file's value or the default."""
    kind = config_type(task)
    short = short_names(kind)
    defaults = kind()  # nested sections with their enclosing section's defaults
    groups: dict[str, Any] = {}
    for path, (owner, name) in setting_paths(kind).items():
        if name == "progress":
            continue
        section = path.partition(".")[0]
        if section not in groups:
            groups[section] = parser.add_argument_group(f"{section} options")
        help_text, types = field_help(owner).get(name, ""), field_types(owner)
        default = functools.reduce(getattr, path.split("."), defaults)
        flags = ["--" + path.replace("_", "-")]
        if short.get(name) == path:
            flags.append("--" + name.replace("_", "-"))
        text = f"{help_text} (default: {default})".replace("%", "%%")  # argparse formats help
        options: dict[str, Any] = {"dest": _DEST + path, "default": argparse.SUPPRESS, "help": text}
        if types[name] is bool:
            options["action"] = argparse.BooleanOptionalAction
        else:
            options["metavar"] = _metavar(types[name])
        groups[section].add_argument(*flags, **options)
    parser.add_argument(
        "--config", type=Path, help="a YAML or TOML file with the same keys as these flags"
    )


def _metavar(kind: Any) -> str:
    if typing.get_origin(kind) is tuple:
        return "A,B"
    args = typing.get_args(kind)
    inner = [a for a in args if a is not type(None)] or [kind]
    if typing.get_origin(inner[0]) is tuple:
        return "A,B"
    return {int: "N", float: "X", str: "TEXT"}.get(inner[0], "VALUE")


def config_from_args(args: argparse.Namespace, task: Task, *, base: Any = None) -> Any:
    """Defaults < ``base`` (a resumed run's own ``config.json``) < ``--config`` file < flags
    given on the command line."""
    flags = {k[len(_DEST) :]: v for k, v in vars(args).items() if k.startswith(_DEST)}
    layers = [base] if base is not None else []
    layers += [read_config_file(args.config)] if args.config else []
    return resolve(task, *layers, flags, where=str(args.config) if args.config else "flags")


def emit(args: argparse.Namespace, result: dict[str, Any], text: str) -> None:
    """Print ``text``, or ``result`` as one JSON object with ``--json`` (rank 0 only under
    torchrun)."""
    if os.environ.get("RANK", "0") == "0":
        print(json.dumps(result, default=str) if args.json else text)


def percent(metric: str, value: float) -> str:
    return f"{100 * value:.2f}%" if metric in PERCENT_METRICS else f"{value:.4g}"


# -- train -----------------------------------------------------------------------------------


def add_train(subparsers: SubParsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("train", help="train a model into a run directory")
    tasks = p.add_subparsers(dest="task", required=True, metavar="TASK")
    for task in available_tasks():
        c = tasks.add_parser(
            task.name, parents=[common], help=task.summary,
            description=f"{task.summary}. Writes config.json, vocab.json, model.safetensors, "
            "metrics.jsonl, learning_curves.png and report.md into --out.",
        )  # fmt: skip
        c.add_argument("--out", type=Path, required=True, help="run directory to write")
        c.add_argument(
            "--resume", action="store_true", help="continue the run in --out from its checkpoint"
        )
        c.add_argument("--no-progress", action="store_true", help="hide the progress bars")
        c.add_argument("--json", action="store_true", help="print one JSON object")
        add_config_flags(c, task)
        c.set_defaults(run=run_train, task_spec=task)


def run_train(args: argparse.Namespace) -> int:
    task: Task = args.task_spec
    base = saved_settings(args.out) if args.resume else None  # flags change what may change
    config = config_from_args(args, task, base=base)
    run = train(config, args.out, resume=args.resume, progress=not args.no_progress)
    assert run.fit is not None
    fit, history = run.fit, run.fit.history
    monitor = fit.monitor
    kept = history[fit.best_epoch - 1] if fit.best_epoch else {}
    result = {
        "run": str(args.out),
        "task": task.name,
        "epochs": len(history),
        "best_epoch": fit.best_epoch,
        "monitor": monitor,
        f"val_{monitor}": fit.best,
        "train_seconds": run.train_seconds(),
        "backend": backend_summary(run.model),
    }
    seconds = sum(h["seconds"] for h in history)
    parts = [f"{args.out}: {len(history)} epochs in {seconds:.0f} s,"]
    if fit.best is not None:
        parts.append(
            f"best validation {monitor} {percent(monitor, fit.best)} (epoch {fit.best_epoch}, "
            "its weights kept);"
        )
        if "val_loss" in kept and monitor != "loss":
            result["val_loss"] = kept["val_loss"]
    else:
        parts.append("no validation split: the last epoch's weights are kept;")
    split = "test" if has_split(run.data(), "test") else "val"  # Tiny Shakespeare has no test
    parts.append(f"next: rnnkit evaluate {args.out} --split {split}")
    emit(args, result, " ".join(parts))
    return 0


# -- evaluate / predict ----------------------------------------------------------------------


def add_evaluate(subparsers: SubParsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "evaluate", parents=[common],
        help="the task's metrics of a run on a split or a labelled file (accuracy, macro-F1, …)",
        description="Score a run on a split of its own dataset (--split), or on any labelled "
        "file (--data): CSV, TSV or JSONL (its format from the suffix, else the run's own; or "
        "tsv:PATH), or a folder per class, read with the run's own --text-field, --label-field "
        "and --header unless given. Works from any working folder.",
    )  # fmt: skip
    p.add_argument(
        "run_dirs", type=Path, nargs="+", metavar="RUN",
        help="run directory; several classification runs: evaluate their ensemble (mean "
        "probabilities) into --out",
    )  # fmt: skip
    p.add_argument(
        "--split", choices=SPLITS, default=None, help="which split of the run's dataset "
        "(default: test)",
    )  # fmt: skip
    p.add_argument(
        "--data", metavar="PATH",
        help="score the run on this labelled file instead (labels must be the run's); writes "
        "RUN/eval-file-<name>.json",
    )  # fmt: skip
    for flag, what in (
        ("--text-field", "text column(s): names, or 0-based numbers; several: title,body"),
        ("--label-field", "label column: a name or a 0-based number"),
    ):
        p.add_argument(
            flag, dest=_DEST + "data." + flag[2:].replace("-", "_"), default=argparse.SUPPRESS,
            metavar="NAME", help=f"with --data: the file's {what} (default: the run's)",
        )  # fmt: skip
    p.add_argument(
        "--header", dest=_DEST + "data.header", action=argparse.BooleanOptionalAction,
        default=argparse.SUPPRESS,
        help="with --data: whether the file's first line names its columns (default: the run's)",
    )  # fmt: skip
    p.add_argument("--out", type=Path, help="folder for an ensemble's evaluation files")
    p.add_argument(
        "--record", nargs="?", type=Path, const=QUALITY_LOG, default=None, metavar="PATH",
        help=f"append the result to a quality log (default path: {QUALITY_LOG})",
    )  # fmt: skip
    p.add_argument("--notes", default="", help="notes stored with --record")
    p.add_argument("--int8", action="store_true", help="evaluate the int8 model (CPU, classify)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=run_evaluate)


def run_evaluate(args: argparse.Namespace) -> int:
    several = len(args.run_dirs) > 1
    if several and args.out is None:
        raise ValueError("evaluating several runs (an ensemble) needs --out FOLDER for its files")
    if not several and args.out is not None:
        raise ValueError("--out is for an ensemble of several runs; one run writes into its own")
    settings = {k[len(_DEST) :]: v for k, v in vars(args).items() if k.startswith(_DEST)}
    if args.data is not None:
        return _evaluate_file(args, settings)
    if settings:
        raise ValueError(f"--{next(iter(settings))[5:].replace('_', '-')} is for --data PATH")
    args.split = args.split or "test"
    runs = [Run.load(path, int8=args.int8) for path in args.run_dirs]
    result = (
        evaluate_ensemble(runs, args.split, args.out) if several else runs[0].evaluate(args.split)
    )
    if args.record is not None:
        command = "rnnkit " + shlex.join(sys.argv[1:]) if sys.argv[1:] else "rnnkit evaluate"
        record_quality(result, runs, command=command, path=args.record, notes=args.notes)
    what = f" ({len(runs)} runs' mean probabilities)" if several else ""
    shown = [
        f"{name} {percent(name, value)}" for name, value in result.metrics.items() if name != "loss"
    ]
    text = (
        f"{result.dataset} {args.split}{what}: {', '.join(shown)} on {result.examples:,} "
        f"{runs[0].task.example_unit}\n\n{result.table}"
    )
    folder = args.out if several else args.run_dirs[0]
    pictures = sorted(Path(folder).glob(f"*-{args.split}.png"))
    if pictures:
        text += "\n\n" + "\n".join(f"picture: {p}" for p in pictures)
    emit(args, result.to_dict(), text)
    return 0


def _evaluate_file(args: argparse.Namespace, settings: dict[str, Any]) -> int:
    """``evaluate RUN --data PATH``: one run on a labelled file."""
    given = [flag for flag, on in (("--split", args.split), ("--out", args.out)) if on]
    given += ["--record"] if args.record is not None else []
    if len(args.run_dirs) > 1 or given:
        what = f"{', '.join(given)} with --data" if given else "--data with several runs"
        raise ValueError(f"{what}: --data scores one run on one file (no split, no log)")
    run = Run.load(args.run_dirs[0], int8=args.int8)
    result = run.evaluate_file(args.data, settings=settings)
    name = file_split(args.data)
    shown = [f"{k} {percent(k, v)}" for k, v in result.metrics.items() if k != "loss"]
    text = (
        f"{result.dataset}: {', '.join(shown)} on {result.examples:,} {run.task.example_unit}"
        f"\n\n{result.table}\n\nwritten: {run.files.evaluation(name)}"
    )
    pictures = sorted(run.path.glob(f"*-{name}.png"))
    text += "".join(f"\npicture: {p}" for p in pictures)
    emit(args, result.to_dict(), text)
    return 0


def add_predict(subparsers: SubParsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "predict", parents=[common], help="predict with a trained run (labels, entities, …)"
    )
    p.add_argument("run_dir", type=Path, metavar="RUN", help="run directory")
    p.add_argument(
        "texts", nargs="*", metavar="TEXT",
        help="texts (sentences) to predict for; an empty one gets an empty label and a note",
    )  # fmt: skip
    p.add_argument(
        "--file", type=Path,
        help="a UTF-8 file with one text per line: one output line per input line, a blank "
        "line marked (empty label column, note: empty text: not labelled)",
    )  # fmt: skip
    p.add_argument("--int8", action="store_true", help="predict with the int8 model (CPU)")
    p.add_argument(
        "--format", choices=("text", "conll"), default="text",
        help="text: one line per input (default); conll: a column file of token and predicted "
        "tag, a blank line between sentences (tagging runs)",
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=run_predict)


def run_predict(args: argparse.Namespace) -> int:
    texts = list(args.texts)
    if args.file is not None:
        try:
            content = args.file.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"{args.file}: not UTF-8 (byte {exc.start})") from None
        # lines as `wc -l` counts them (not str.splitlines, which also splits at \x0c, \u2028,
        # …); each, blank or not, gets one output line
        lines = content.removeprefix("\ufeff").split("\n")
        if lines[-1] == "":
            lines.pop()  # the newline that ends the last line
        texts += [line.removesuffix("\r") for line in lines]
    if not texts:
        raise ValueError("give texts to predict for, or --file with one text per line")
    run = Run.load(args.run_dir, int8=args.int8)
    predictions = run.predict(texts)
    if args.format == "conll":
        if not all("tokens" in p and "tags" in p for p in predictions):
            raise ValueError(f"--format conll is for tagging runs; {args.run_dir} is a "
                             f"{run.task.name} run")  # fmt: skip
        sentences = [
            "\n".join(f"{t} {g}" for t, g in zip(p["tokens"], p["tags"], strict=True))
            for p in predictions
        ]
        emit(args, {"predictions": predictions}, "\n\n".join(sentences) + "\n")
        return 0
    lines = [run.task.format_prediction(p) for p in predictions]
    emit(args, {"predictions": predictions}, "\n".join(lines))
    return 0


# -- compare ---------------------------------------------------------------------------------


def add_compare(subparsers: SubParsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "compare", help="the same task with several cells: one table, one plot"
    )
    tasks = p.add_subparsers(dest="task", required=True, metavar="TASK")
    for task in available_tasks():
        c = tasks.add_parser(task.name, parents=[common], help=f"compare cells: {task.summary}")
        c.add_argument(
            "--cells", default="rnn,lstm,gru",
            help=f"comma-separated cells from {','.join(CELL_VARIANTS)} (default: rnn,lstm,gru)",
        )  # fmt: skip
        c.add_argument(
            "--out", type=Path, required=True, help="folder for one run per cell, compare.json/png"
        )
        c.add_argument("--no-progress", action="store_true", help="hide the progress bars")
        c.add_argument("--json", action="store_true", help="print one JSON object")
        add_config_flags(c, task)
        c.set_defaults(run=run_compare, task_spec=task)


def run_compare(args: argparse.Namespace) -> int:
    cells = [c.strip() for c in args.cells.split(",") if c.strip()]
    task: Task = args.task_spec
    rows = compare(config_from_args(args, task), cells, args.out, progress=not args.no_progress)
    main = rows[0]["main"]
    extra = [m for m in task.record_metrics if m != main and f"test_{m}" in rows[0]]
    names = [str(r.get("baseline") or r["cell"]) for r in rows]  # a baseline by its method
    width = max(17, *(len(n) + 2 for n in names))
    header = f"{'cell':<{width}}{'params':>10}{'val ' + main:>14}{'test ' + main:>15}"
    header += "".join(f"{'test ' + m:>15}" for m in extra) + f"{'epoch':>7}{'train s':>9}  backend"
    lines = [header]

    def shown(r: dict[str, Any], key: str, metric: str) -> str:
        return percent(metric, r[key]) if key in r else "-"

    for name, r in zip(names, rows, strict=True):
        line = (
            f"{name:<{width}}{r['parameters']:>10,}{shown(r, f'val_{main}', main):>14}"
            f"{shown(r, f'test_{main}', main):>15}"
        )
        line += "".join(f"{shown(r, f'test_{m}', m):>15}" for m in extra)
        seconds = r["train_seconds"]
        line += f"{r['kept_epoch'] or '-':>7}{seconds:>9.{0 if seconds >= 10 else 1}f}"
        line += f"  {r['backend']}"
        lines.append(line)
    lines.append(f"\nplot: {args.out / 'compare.png'}")
    emit(args, {"rows": rows}, "\n".join(lines))
    return 0


# -- datasets --------------------------------------------------------------------------------


def add_datasets(subparsers: SubParsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "datasets", parents=[common], help="the datasets rnnkit knows and which are present"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=run_datasets)


def run_datasets(args: argparse.Namespace) -> int:
    known = datasets.available()
    width = max(len("name"), *(len(d["name"]) for d in known)) + 2
    lines = [f"{'name':<{width}}{'task':<10}{'present':<9}where / options"]
    for d in known:
        where = str(d["path"]) if d["present"] else "-"
        options = ", ".join(d["options"]) or "-"
        lines.append(
            f"{d['name']:<{width}}{d['task']:<10}{'yes' if d['present'] else 'no':<9}"
            f"{where}  [{options}]"
        )
    lines.append(
        "\nYour own files: csv:PATH, tsv:PATH, jsonl:PATH, folder:PATH (classification, train + "
        "test beside it); columns:PATH (tagging: CoNLL-style column files); text:PATH (language "
        "models: one text file, or a folder with train.txt, valid.txt, test.txt)."
    )
    emit(args, {"datasets": known}, "\n".join(lines))
    return 0


COMMANDS = (add_train, add_evaluate, add_predict, add_compare, add_datasets)
