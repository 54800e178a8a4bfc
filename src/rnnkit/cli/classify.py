"""``rnnkit train classify``, ``evaluate``, ``predict``, ``compare classify``, ``datasets``.

Thin: each command parses its flags, calls :mod:`rnnkit.pipelines.classify` or
:mod:`rnnkit.datasets`, and prints a table (or, with ``--json``, one JSON object).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shlex
import sys
import typing
from pathlib import Path
from typing import Any, TypeAlias

import rnnkit.datasets as datasets
from rnnkit.config import field_help, field_types, read_config_file
from rnnkit.pipelines.classify import (
    SPLITS,
    ClassifyRun,
    compare,
    read_metrics,
    record_quality,
    train,
)
from rnnkit.pipelines.ensemble import evaluate_ensemble
from rnnkit.pipelines.pretrain import FOLDER as PRETRAIN_FOLDER
from rnnkit.pipelines.quantize import quantize_run
from rnnkit.pipelines.runconfig import SECTIONS, resolve

SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
QUALITY_LOG = Path("benchmarks/results/quality.jsonl")


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per config field (``--hidden-size``), help from the field's comment; a flag
    left out keeps the config file's value or the default."""
    for section, cls in SECTIONS.items():
        group = parser.add_argument_group(f"{section} options")
        helps, kinds = field_help(cls), field_types(cls)
        for f in dataclasses.fields(cls):
            if f.name == "progress":
                continue
            flag = "--" + f.name.replace("_", "-")
            default = f.default if f.default is not dataclasses.MISSING else None
            text = f"{helps.get(f.name, '')} (default: {default})".replace("%", "%%")  # argparse
            if kinds[f.name] is bool:
                group.add_argument(
                    flag,
                    action=argparse.BooleanOptionalAction,
                    default=argparse.SUPPRESS,
                    help=text,
                )
            else:
                group.add_argument(
                    flag, default=argparse.SUPPRESS, metavar=_metavar(kinds[f.name]), help=text
                )
    parser.add_argument(
        "--config", type=Path, help="a YAML or TOML file with the same keys as these flags"
    )


def _metavar(kind: Any) -> str:
    args = typing.get_args(kind)
    inner = [a for a in args if a is not type(None)] or [kind]
    if typing.get_origin(inner[0]) is tuple:
        return "A,B"
    return {int: "N", float: "X", str: "TEXT"}.get(inner[0], "VALUE")


def config_from_args(args: argparse.Namespace) -> Any:
    """Defaults < ``--config`` file < flags given on the command line."""
    keys = {f.name for cls in SECTIONS.values() for f in dataclasses.fields(cls)}
    flags = {key: getattr(args, key) for key in keys if hasattr(args, key)}
    layers = [read_config_file(args.config)] if args.config else []
    return resolve(*layers, flags, where=str(args.config) if args.config else "flags")


def emit(args: argparse.Namespace, result: dict[str, Any], text: str) -> None:
    """Print ``text``, or ``result`` as one JSON object with ``--json`` (rank 0 only under
    torchrun)."""
    if os.environ.get("RANK", "0") == "0":
        print(json.dumps(result, default=str) if args.json else text)


def add_train(subparsers: SubParsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("train", help="train a model into a run directory")
    tasks = p.add_subparsers(dest="task", required=True, metavar="TASK")
    c = tasks.add_parser(
        "classify", parents=[common],
        help="text classification (20newsgroups, sst2, sst5, your CSV/TSV/JSONL)",
        description="Embedding → rnnkit recurrent layer → pooling → dropout → linear, trained "
        "with the Trainer; writes config.json, vocab.json, model.safetensors, metrics.jsonl, "
        "learning_curves.png and report.md into --out.",
    )  # fmt: skip
    c.add_argument("--out", type=Path, required=True, help="run directory to write")
    c.add_argument(
        "--resume", action="store_true", help="continue the run in --out from its checkpoint"
    )
    c.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    c.add_argument("--json", action="store_true", help="print one JSON object")
    add_config_flags(c)
    c.set_defaults(run=run_train)


def run_train(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    run = train(config, args.out, resume=args.resume, progress=not args.no_progress)
    history = read_metrics(args.out)
    validated = [h for h in history if "val_accuracy" in h]
    best = max(validated, key=lambda h: h["val_accuracy"]) if validated else history[-1]
    result = {
        "run": str(args.out),
        "epochs": len(history),
        "best_epoch": best["epoch"],
        "val_accuracy": best.get("val_accuracy"),
        "train_seconds": run.train_seconds(),
        "backend": run.model.recurrent.backend_used,
    }
    parts = [f"{args.out}:"]
    pretrained = read_metrics(args.out / PRETRAIN_FOLDER)
    if pretrained:
        result["pretrain_seconds"] = sum(h["seconds"] for h in pretrained)
        perplexities = [h["val_perplexity"] for h in pretrained if "val_perplexity" in h]
        result["pretrain_val_perplexity"] = min(perplexities) if perplexities else None
        parts.append(
            f"language-model pretraining: {len(pretrained)} epochs in "
            f"{result['pretrain_seconds']:.0f} s"
            + (f", validation perplexity {min(perplexities):.1f};" if perplexities else ";")
        )
    classifier_seconds = sum(h["seconds"] for h in history)  # train_seconds has pretraining too
    parts.append(f"{len(history)} epochs in {classifier_seconds:.0f} s,")
    if validated:
        parts.append(
            f"best validation accuracy {100 * best['val_accuracy']:.2f}% (epoch {best['epoch']});"
        )
    else:
        parts.append("no validation split: the last epoch's weights are kept;")
    parts.append(f"next: rnnkit evaluate {args.out} --split test")
    text = " ".join(parts)
    emit(args, result, text)
    return 0


def add_evaluate(subparsers: SubParsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "evaluate", parents=[common], help="accuracy, macro-F1 and confusion matrix of a run"
    )
    p.add_argument(
        "run_dirs", type=Path, nargs="+", metavar="RUN",
        help="run directory; several: evaluate their ensemble (mean probabilities) into --out",
    )  # fmt: skip
    p.add_argument("--split", choices=SPLITS, default="test", help="which split (default: test)")
    p.add_argument("--out", type=Path, help="folder for an ensemble's evaluation files")
    p.add_argument(
        "--record", nargs="?", type=Path, const=QUALITY_LOG, default=None, metavar="PATH",
        help=f"append the result to a quality log (default path: {QUALITY_LOG})",
    )  # fmt: skip
    p.add_argument("--notes", default="", help="notes stored with --record")
    p.add_argument("--int8", action="store_true", help="evaluate the int8 model (CPU)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=run_evaluate)


def run_evaluate(args: argparse.Namespace) -> int:
    several = len(args.run_dirs) > 1
    if several and args.out is None:
        raise ValueError("evaluating several runs (an ensemble) needs --out FOLDER for its files")
    if not several and args.out is not None:
        raise ValueError("--out is for an ensemble of several runs; one run writes into its own")
    runs = [ClassifyRun.load(path, int8=args.int8) for path in args.run_dirs]
    if several:
        result = evaluate_ensemble(runs, args.split, args.out)
    else:
        result = runs[0].evaluate(args.split)
    if args.record is not None:
        command = "rnnkit " + shlex.join(sys.argv[1:]) if sys.argv[1:] else "rnnkit evaluate"
        record_quality(result, runs, command=command, path=args.record, notes=args.notes)
    table = result.pop("table")
    folder = args.out if several else args.run_dirs[0]
    what = f" ({len(runs)} runs' mean probabilities)" if several else ""
    text = (
        f"{runs[0].config.data.dataset} {args.split}{what}: accuracy "
        f"{100 * result['accuracy']:.2f}%, macro-F1 {100 * result['macro_f1']:.2f}% on "
        f"{result['examples']} examples\n\n{table}\n\n"
        f"confusion matrix: {folder / f'confusion-{args.split}.png'}"
    )
    emit(args, result, text)
    return 0


def add_predict(subparsers: SubParsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("predict", parents=[common], help="label texts with a trained run")
    p.add_argument("run_dir", type=Path, metavar="RUN", help="run directory")
    p.add_argument("texts", nargs="*", metavar="TEXT", help="texts to label")
    p.add_argument("--file", type=Path, help="a UTF-8 file with one text per line")
    p.add_argument("--int8", action="store_true", help="label with the int8 model (CPU)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=run_predict)


def run_predict(args: argparse.Namespace) -> int:
    texts = list(args.texts)
    if args.file is not None:
        try:
            lines = args.file.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError as exc:
            raise ValueError(f"{args.file}: not UTF-8 (byte {exc.start})") from None
        texts += [line for line in lines if line.strip()]
    if not texts:
        raise ValueError("give texts to label, or --file with one text per line")
    predictions = ClassifyRun.load(args.run_dir, int8=args.int8).predict(texts)
    lines = [f"{p['label']}\t{p['probability']:.3f}\t{p['text']}" for p in predictions]
    emit(args, {"predictions": predictions}, "\n".join(lines))
    return 0


def add_quantize(subparsers: SubParsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "quantize", parents=[common],
        help="int8 inference for a run: accuracy and speed against float32",
        description="Build the run's int8 model (dynamic quantisation of the recurrent and "
        "output layers) and measure its accuracy and CPU inference time on a split against the "
        "float32 model; writes RUN/int8.json. Use it with evaluate/predict --int8.",
    )  # fmt: skip
    p.add_argument("run_dir", type=Path, metavar="RUN", help="run directory")
    p.add_argument("--split", choices=SPLITS, default="test", help="which split (default: test)")
    p.add_argument("--repeats", type=int, default=3, help="timed passes per model (default: 3)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=run_quantize)


def run_quantize(args: argparse.Namespace) -> int:
    result = quantize_run(ClassifyRun.load(args.run_dir), split=args.split, repeats=args.repeats)
    lines = [f"{'model':<16}{'accuracy':>10}{'seconds':>10}"]
    for name, seconds in result["seconds"].items():
        lines.append(f"{name:<16}{100 * result['accuracy'][name]:>9.2f}%{seconds:>10.3f}")
    lines.append(
        f"\nint8: {result['speedup']:.2f}× the speed of float32, accuracy "
        f"{result['accuracy_change_points']:+.2f} points on {result['examples']} "
        f"{args.split} examples, threads: {result['threads']}; {args.run_dir / 'int8.json'}"
    )
    emit(args, result, "\n".join(lines))
    return 0


def add_compare(subparsers: SubParsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "compare", help="the same task with several cells: one table, one plot"
    )
    tasks = p.add_subparsers(dest="task", required=True, metavar="TASK")
    c = tasks.add_parser(
        "classify", parents=[common], help="compare cells on a classification dataset"
    )
    c.add_argument(
        "--cells", default="rnn,lstm,gru", help="comma-separated cells (default: rnn,lstm,gru)"
    )
    c.add_argument(
        "--out", type=Path, required=True, help="folder for one run per cell, compare.json/png"
    )
    c.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    c.add_argument("--json", action="store_true", help="print one JSON object")
    add_config_flags(c)
    c.set_defaults(run=run_compare)


def run_compare(args: argparse.Namespace) -> int:
    cells = [c.strip() for c in args.cells.split(",") if c.strip()]
    rows = compare(config_from_args(args), cells, args.out, progress=not args.no_progress)
    lines = [
        f"{'cell':<6}{'params':>10}{'val acc':>9}{'test acc':>10}{'test F1':>9}"
        f"{'train s':>9}  backend"
    ]
    for r in rows:
        lines.append(
            f"{r['cell']:<6}{r['parameters']:>10,}{100 * r['val_accuracy']:>8.2f}%"
            f"{100 * r['test_accuracy']:>9.2f}%{100 * r['test_macro_f1']:>8.2f}%"
            f"{r['train_seconds']:>9.0f}  {r['backend']}"
        )
    lines.append(f"\nplot: {args.out / 'compare.png'}")
    emit(args, {"rows": rows}, "\n".join(lines))
    return 0


def add_datasets(subparsers: SubParsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "datasets", parents=[common], help="the datasets rnnkit knows and which are present"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=run_datasets)


def run_datasets(args: argparse.Namespace) -> int:
    known = datasets.available()
    lines = [f"{'name':<14}{'task':<16}{'present':<9}where / options"]
    for d in known:
        where = str(d["path"]) if d["present"] else "-"
        options = ", ".join(d["options"]) or "-"
        lines.append(
            f"{d['name']:<14}{d['task']:<16}{'yes' if d['present'] else 'no':<9}"
            f"{where}  [{options}]"
        )
    lines.append(
        "\nYour own files: csv:PATH, tsv:PATH, jsonl:PATH, folder:PATH (train + test beside it)."
    )
    emit(args, {"datasets": known}, "\n".join(lines))
    return 0


COMMANDS = (add_train, add_evaluate, add_predict, add_quantize, add_compare, add_datasets)
