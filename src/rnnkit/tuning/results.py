"""What a search leaves in its output folder, read from the study (every process's trials):
``trials.csv`` (one row per trial: its settings, fold scores, mean ± std, seconds, state),
``best.toml`` (the best trial's whole run config, ready for ``rnnkit train <task> --config``),
``history.png`` and ``settings.png`` (:mod:`rnnkit.viz.search`) and ``report.md``."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import rnnkit
from rnnkit._io import atomic_write_text
from rnnkit.config import as_plain
from rnnkit.pipelines.run import PERCENT_METRICS, device_name
from rnnkit.pipelines.runconfig import config_type, task_of, to_dict
from rnnkit.tuning.space import Range, SearchSpace
from rnnkit.tuning.storage import INTERRUPTED, SLOT, WORKER
from rnnkit.viz.search import SearchPoint, plot_objective_by_setting, plot_search_history

if TYPE_CHECKING:
    import optuna

__all__ = ["TrialRow", "figure", "format_toml", "rate", "trial_rows", "write_results"]

SCORES = "scores"  # user attribute: the monitored metric of each fold (or the one val split)
SECONDS = "seconds"  # user attribute: the trial's wall time
NOTE = "note"  # user attribute: why a trial was pruned or failed


@dataclass(frozen=True)
class TrialRow:
    """One trial as the table shows it.

    ``state``: ``complete``, ``pruned``, ``failed`` (its settings could not train: the note says
    why), ``interrupted`` (stopped by Ctrl-C or a kill; its slot ran again as another trial) or
    ``running``. ``scores``: the kept epoch's monitored metric of each fold finished (one value
    without folds); ``mean`` and ``std`` (the population standard deviation over folds) are
    None until every fold has finished."""

    number: int
    state: str
    params: dict[str, Any]
    scores: list[float] = field(default_factory=list)
    mean: float | None = None
    std: float | None = None
    seconds: float | None = None
    note: str = ""
    value: float | None = None  # the study's value: the mean, or a pruned trial's last report
    slot: int = 0
    worker: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number, "state": self.state, "params": self.params,
            "scores": self.scores, "mean": self.mean, "std": self.std, "seconds": self.seconds,
            "note": self.note,
        }  # fmt: skip


def trial_rows(study: optuna.Study) -> list[TrialRow]:
    """Every trial that started, by number (slots not started yet are left out)."""
    import optuna

    state_names = {
        optuna.trial.TrialState.COMPLETE: "complete",
        optuna.trial.TrialState.PRUNED: "pruned",
        optuna.trial.TrialState.FAIL: "failed",
        optuna.trial.TrialState.RUNNING: "running",
    }
    rows = []
    for t in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
        if t.state not in state_names:
            continue
        attrs = t.user_attrs
        state = state_names[t.state]
        note = str(attrs.get(NOTE, ""))
        if state == "failed" and INTERRUPTED in attrs:
            state, note = "interrupted", str(attrs[INTERRUPTED])
        scores = [float(s) for s in attrs.get(SCORES, [])]
        mean = std = None
        if state == "complete" and scores:
            mean = sum(scores) / len(scores)
            std = math.sqrt(sum((s - mean) ** 2 for s in scores) / len(scores))
        rows.append(
            TrialRow(
                number=t.number,
                state=state,
                params=dict(t.params or t.system_attrs.get("fixed_params", {})),
                scores=scores,
                mean=mean,
                std=std,
                seconds=attrs.get(SECONDS),
                note=note,
                value=t.value,
                slot=int(attrs.get(SLOT, 0)),
                worker=str(attrs.get(WORKER, "")),
            )
        )
    return rows


def best_row(rows: Sequence[TrialRow], *, maximize: bool) -> TrialRow | None:
    """The complete trial with the best mean (the earliest among equals)."""
    done = [r for r in rows if r.state == "complete" and r.mean is not None]
    if not done:
        return None
    sign = -1.0 if maximize else 1.0
    return min(done, key=lambda r: (sign * float(r.mean or 0.0), r.number))


def figure(metric: str, value: float | None) -> str:
    """A metric as the tables print it: rates in percent with two decimals, others with four
    significant digits."""
    if value is None:
        return "-"
    return f"{100 * value:.2f}" if metric in PERCENT_METRICS else f"{value:.4g}"


def rate(metric: str, value: float | None) -> str:
    """:func:`figure` with a ``%`` where the metric is a rate, for progress lines."""
    return figure(metric, value) + ("%" if metric in PERCENT_METRICS and value is not None else "")


def _param(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def format_toml(config: Any, *, header: Sequence[str] = ()) -> str:
    """The run config ``config`` as a TOML file ``rnnkit train <task> --config`` reads back to
    the same config: one table per section; a setting that is None is left out where None is its
    default, else written ``"none"`` (TOML has no null; the config reads it as None)."""
    task = task_of(config)
    plain = to_dict(task, config)
    defaults = as_plain(config_type(task)())
    lines = [f"# {line}" for line in header]
    lines += [f"task = {_toml_value(plain.pop('task'))}", ""]
    _toml_table(plain, defaults, [], lines)
    return "\n".join(lines).rstrip("\n") + "\n"


def _toml_table(values: Mapping[str, Any], defaults: Any, path: list[str], out: list[str]) -> None:
    scalars = {k: v for k, v in values.items() if not isinstance(v, Mapping)}
    if path and scalars:
        out.append(f"[{'.'.join(path)}]")
    for key, value in scalars.items():
        default = defaults.get(key) if isinstance(defaults, Mapping) else None
        if value is None:
            if default is None:
                continue
            value = "none"
        out.append(f"{key} = {_toml_value(value)}")
    if path and scalars:
        out.append("")
    for key, value in values.items():
        if isinstance(value, Mapping):
            inner = defaults.get(key, {}) if isinstance(defaults, Mapping) else {}
            _toml_table(value, inner, [*path, key], out)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a TOML basic string
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise ValueError(f"best.toml: cannot write {value!r} in TOML")


@dataclass(frozen=True)
class SearchSummary:
    """What the report says about the search besides its trials."""

    task: str
    dataset: str
    study: str
    storage: str
    sampler: str
    pruner: str
    folds: int | None
    monitor: str
    maximize: bool
    budget: int
    seed: int


def write_results(
    out: Path,
    rows: Sequence[TrialRow],
    space: SearchSpace,
    summary: SearchSummary,
    best_config: Any,
) -> dict[str, Path]:
    """``trials.csv``, ``best.toml`` (where a trial completed), the two plots and
    ``report.md`` into ``out``; the paths written, by name."""
    files = {"trials": _write_csv(out / "trials.csv", rows, space, summary)}
    best = best_row(rows, maximize=summary.maximize)
    if best is not None and best_config is not None:
        header = [
            f"The best trial ({best.number}) of the search {summary.study!r}: validation "
            f"{summary.monitor} {figure(summary.monitor, best.mean)} ± "
            f"{figure(summary.monitor, best.std)} ({_scored_on(summary.folds)}).",
            f"Train it: rnnkit train {summary.task} --config best.toml --out runs/best",
        ]
        files["best"] = out / "best.toml"
        atomic_write_text(files["best"], format_toml(best_config, header=header))
    points = [
        SearchPoint(r.number, float(r.mean), float(r.std or 0.0), r.params)
        for r in rows
        if r.state == "complete" and r.mean is not None
    ]
    points += [
        SearchPoint(r.number, float(r.value), 0.0, r.params, pruned=True)
        for r in rows
        if r.state == "pruned" and r.value is not None
    ]
    scale = 100.0 if summary.monitor in PERCENT_METRICS else 1.0
    unit = " (%)" if scale != 1.0 else ""
    ylabel = f"validation {summary.monitor}{unit}"
    if any(not p.pruned for p in points):
        files["history"] = plot_search_history(
            points, maximize=summary.maximize, ylabel=ylabel, path=out / "history.png",
            title=f"{summary.study}: {summary.dataset}", scale=scale,
            label="trial (mean ± std over folds)" if summary.folds else "trial",
        )  # fmt: skip
        log_scale = [n for n, d in space.dimensions.items() if isinstance(d, Range) and d.log]
        files["settings"] = plot_objective_by_setting(
            points, space.names, log_scale=log_scale, ylabel=ylabel,
            path=out / "settings.png", title=f"{summary.study}: objective by setting",
            scale=scale,
        )  # fmt: skip
    files["report"] = out / "report.md"
    atomic_write_text(files["report"], _report(rows, space, summary, best, best_config, files))
    return files


def _scored_on(folds: int | None) -> str:
    return f"mean ± std over {folds} folds of the training split" if folds else "validation split"


def _write_csv(path: Path, rows: Sequence[TrialRow], space: SearchSpace, s: SearchSummary) -> Path:
    score_names = [f"fold_{i + 1}" for i in range(s.folds)] if s.folds else ["val"]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["number", "state", *space.names, *score_names, "mean", "std", "seconds",
                     "note"])  # fmt: skip
    for r in rows:
        scores = [f"{v:.6g}" for v in r.scores] + [""] * (len(score_names) - len(r.scores))
        writer.writerow(
            [r.number, r.state, *(r.params.get(n, "") for n in space.names), *scores,
             "" if r.mean is None else f"{r.mean:.6g}", "" if r.std is None else f"{r.std:.6g}",
             "" if r.seconds is None else f"{r.seconds:.1f}", r.note]
        )  # fmt: skip
    return atomic_write_text(path, buffer.getvalue())


def _report(
    rows: Sequence[TrialRow],
    space: SearchSpace,
    s: SearchSummary,
    best: TrialRow | None,
    best_config: Any,
    files: Mapping[str, Path],
) -> str:
    import optuna
    import torch

    counts: dict[str, int] = {}
    for r in rows:
        counts[r.state] = counts.get(r.state, 0) + 1
    tally = ", ".join(f"{n} {state}" for state, n in counts.items()) or "none yet"
    seconds = sum(r.seconds or 0.0 for r in rows)
    metric = s.monitor
    unit = " (%)" if metric in PERCENT_METRICS else ""
    lines = [
        f"# Hyperparameter search `{s.study}` ({s.task})",
        "",
        f"rnnkit {rnnkit.__version__}, torch {torch.__version__}, optuna {optuna.__version__}, "
        f"{device_name()}.",
        "",
        "## Summary",
        "",
        "| | |",
        "|---|---|",
        f"| dataset | `{s.dataset}` |",
        f"| scored on | {_scored_on(s.folds)}; the test split is never used |",
        f"| objective | validation {metric} at each fold's kept epoch, "
        f"{'maximised' if s.maximize else 'minimised'} |",
        f"| search space | {space.describe()} |",
        f"| sampler | {s.sampler} (seed {s.seed}) |",
        f"| pruner | {s.pruner} |",
        f"| budget | {s.budget} trials |",
        f"| trials | {tally} |",
        f"| trial time | {seconds:.0f} s in all |",
        f"| study | `{s.study}` in `{s.storage}` |",
    ]
    if best is not None:
        shown = ", ".join(f"`{k}` = {_param(v)}" for k, v in best.params.items())
        lines.append(
            f"| best | trial {best.number}: {figure(metric, best.mean)} ± "
            f"{figure(metric, best.std)}{unit}; {shown} |"
        )
    lines.append("")
    if best is not None and best_config is not None:
        lines += [
            "## Best configuration",
            "",
            f"`best.toml` holds the best trial's whole configuration: "
            f"`rnnkit train {s.task} --config {files['best'].name} --out runs/best` trains it "
            f"on the whole training split (and scores it on the validation split), then "
            f"`rnnkit evaluate runs/best --split test` scores it once on the test split.",
            "",
        ]
    score_names = [f"fold {i + 1}" for i in range(s.folds)] if s.folds else ["val"]
    header = ["trial", "state", *(f"`{n}`" for n in space.names), *score_names,
              f"mean ± std{unit}", "seconds", "note"]  # fmt: skip
    lines += [
        "## Trials",
        "",
        f"Validation {metric}{unit} of each fold's kept epoch.",
        "",
        "| " + " | ".join(header) + " |",
        "|---" * len(header) + "|",
    ]
    for r in rows:
        scores = [figure(metric, v) for v in r.scores]
        scores += ["-"] * (len(score_names) - len(scores))
        mean = "-" if r.mean is None else f"{figure(metric, r.mean)} ± {figure(metric, r.std)}"
        mark = " (best)" if best is not None and r.number == best.number else ""
        settings = [_param(r.params.get(n, "-")) for n in space.names]
        seconds_cell = "-" if r.seconds is None else f"{r.seconds:.0f}"
        cells = [f"{r.number}{mark}", r.state, *settings, *scores, mean, seconds_cell,
                 r.note.replace("|", "/")]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    if "history" in files:
        lines += ["## Plots", "", "![optimisation history](history.png)", ""]
        lines += ["![objective by setting](settings.png)", ""]
    if best_config is not None:
        lines += ["## Best configuration in full", "", "```toml", format_toml(best_config), "```"]
    return "\n".join(lines) + "\n"
