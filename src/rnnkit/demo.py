"""``rnnkit demo``: an Elman RNN, an LSTM and a GRU on the long-range adding problem.

Each cell trains from the same seed on the same stream of fresh batches, is evaluated on a fixed
held-out test set every few steps, and is judged against the baseline of always answering 1
(MSE 1/6 ≈ 0.167). Writes ``learning_curves.png`` and ``results.json`` to the output directory.
The training loop is deliberately small and plain: Adam, gradient-norm clipping, nothing else.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from tqdm.auto import tqdm

from rnnkit._io import atomic_write_text
from rnnkit.tasks.synthetic import ADDING_BASELINE_MSE, CELLS, AddingModel, adding_problem
from rnnkit.viz import plot_learning_curves

__all__ = ["DEFAULTS", "SOLVED_MSE", "AddingDemoConfig", "format_table", "run_adding_demo"]

SOLVED_MSE = 0.01  # verdict "solved" when the final test MSE is below this (6% of the baseline)


@dataclass(frozen=True)
class AddingDemoConfig:
    """The demo's settings; the defaults are the tuned ones (benchmarks/results/demo_tuning.md)."""

    seq_len: int = 100  # T: the two marked values lie about T/2 steps apart on average
    steps: int = 2000  # optimizer steps per cell, one fresh batch each
    hidden_size: int = 64  # H of every cell
    batch_size: int = 64  # sequences per step
    lr: float = 1e-2  # Adam learning rate (3e-3 leaves the LSTM on the plateau longer)
    clip_norm: float = 1.0  # max global gradient norm
    cells: tuple[str, ...] = CELLS  # which cells to train, in this order
    seed: int = 0  # model init and training data; the test set uses seed + 1
    n_test: int = 1000  # held-out test sequences, fixed for all cells
    n_evals: int = 40  # test evaluations per cell (plus one before training)


DEFAULTS = AddingDemoConfig()


def run_adding_demo(
    *,
    seq_len: int = DEFAULTS.seq_len,
    steps: int = DEFAULTS.steps,
    hidden_size: int = DEFAULTS.hidden_size,
    batch_size: int = DEFAULTS.batch_size,
    cells: Sequence[str] = DEFAULTS.cells,
    seed: int = DEFAULTS.seed,
    out_dir: str | os.PathLike[str] = "runs/demo",
    lr: float = DEFAULTS.lr,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Train each of ``cells`` on the adding problem, print the table, save the plot and JSON.

    Returns one dict per cell: ``cell``, ``params``, ``test_mse``, ``vs_baseline`` (the ratio
    test_mse / 0.167), ``train_seconds``, ``verdict`` and ``curve`` (``steps``, ``test_mse``).
    """
    cfg = _validated(
        AddingDemoConfig(
            seq_len=seq_len,
            steps=steps,
            hidden_size=hidden_size,
            batch_size=batch_size,
            lr=lr,
            cells=tuple(cells),
            seed=seed,
        )
    )
    out = Path(out_dir)
    test = adding_problem(
        cfg.n_test, cfg.seq_len, generator=torch.Generator().manual_seed(seed + 1)
    )
    results = [_train_cell(cell, cfg, test, progress=progress) for cell in cfg.cells]
    print(format_table(results, cfg))
    png = plot_learning_curves(
        {r["cell"]: (r["curve"]["steps"], r["curve"]["test_mse"]) for r in results},
        path=out / "learning_curves.png",
        baseline=ADDING_BASELINE_MSE,
        baseline_label="always answer 1",
        ylabel="test MSE",
        title=f"Adding problem, T = {cfg.seq_len}: test MSE vs training step",
    )
    report = json.dumps(_report(results, cfg, test), indent=2) + "\n"
    json_path = atomic_write_text(out / "results.json", report)
    print(f"wrote {png} and {json_path}")
    return results


def _validated(cfg: AddingDemoConfig) -> AddingDemoConfig:
    """``cfg`` itself, or a ValueError naming the first bad setting."""
    for name in ("seq_len", "steps", "hidden_size", "batch_size", "n_test", "n_evals"):
        if getattr(cfg, name) < 1:
            raise ValueError(f"run_adding_demo: {name} must be >= 1, got {getattr(cfg, name)}")
    if cfg.seq_len < 2:
        raise ValueError(f"run_adding_demo: seq_len must be >= 2, got {cfg.seq_len}")
    bad = [c for c in cfg.cells if c not in CELLS]
    if bad or not cfg.cells:
        raise ValueError(
            f"run_adding_demo: cells must be a non-empty subset of {CELLS}, got {cfg.cells}"
        )
    return cfg


def _train_cell(
    cell: str, cfg: AddingDemoConfig, test: tuple[Tensor, Tensor], *, progress: bool
) -> dict[str, Any]:
    """Train one fresh ``AddingModel(cell)``; return its result dict with the test curve."""
    torch.manual_seed(cfg.seed)  # same init stream for every cell
    model = AddingModel(cell, cfg.hidden_size)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    data = torch.Generator().manual_seed(cfg.seed)  # same training batches for every cell
    eval_at = _eval_steps(cfg.steps, cfg.n_evals)
    curve_steps, curve_mse = [0], [_evaluate(model, test)]
    bar = tqdm(range(1, cfg.steps + 1), desc=f"{cell:>4}", disable=not progress, leave=True)
    avg_loss = curve_mse[0]
    start = time.perf_counter()
    for step in bar:
        batch = adding_problem(cfg.batch_size, cfg.seq_len, generator=data)
        loss = _train_step(model, optimizer, batch, cfg.clip_norm)
        avg_loss = 0.95 * avg_loss + 0.05 * loss  # smoothed for display only
        if step in eval_at:
            curve_steps.append(step)
            curve_mse.append(_evaluate(model, test))
        if step % 10 == 0 or step == cfg.steps:
            bar.set_postfix(loss=f"{avg_loss:.4f}", test_mse=f"{curve_mse[-1]:.4f}", refresh=False)
    seconds = time.perf_counter() - start
    bar.close()
    return _cell_result(cell, model, curve_steps, curve_mse, seconds)


def _eval_steps(steps: int, n_evals: int) -> set[int]:
    """``n_evals`` steps spread evenly over 1..steps, always including the last."""
    return {max(1, round(steps * k / n_evals)) for k in range(1, n_evals + 1)} | {steps}


def _train_step(
    model: AddingModel,
    optimizer: torch.optim.Optimizer,
    batch: tuple[Tensor, Tensor],
    clip_norm: float,
) -> float:
    """One Adam step on ``batch`` with the gradient norm clipped; returns the batch MSE."""
    optimizer.zero_grad(set_to_none=True)
    loss = model.forward_loss(batch)  # ()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
    optimizer.step()
    return loss.item()


def _evaluate(model: AddingModel, test: tuple[Tensor, Tensor], chunk: int = 500) -> float:
    """MSE of ``model`` over the whole test set (x (N, T, 2), y (N,)), in chunks."""
    x, y = test
    model.eval()
    preds = torch.cat([model.predict(x[i : i + chunk]) for i in range(0, len(x), chunk)])  # (N,)
    model.train()
    return float(torch.mean((preds - y) ** 2))


def _cell_result(
    cell: str, model: AddingModel, steps: list[int], mse: list[float], seconds: float
) -> dict[str, Any]:
    """The result dict of one trained cell."""
    final = mse[-1]
    return {
        "cell": cell,
        "params": sum(p.numel() for p in model.parameters()),
        "test_mse": final,
        "vs_baseline": final / ADDING_BASELINE_MSE,
        "train_seconds": seconds,
        "verdict": "solved" if final < SOLVED_MSE else "failed",
        "curve": {"steps": steps, "test_mse": mse},
    }


def format_table(results: Sequence[dict[str, Any]], cfg: AddingDemoConfig) -> str:
    """The results as a plain-text table with a header line and a footnote on the verdict."""
    head = (
        f"Adding problem, T = {cfg.seq_len}: {cfg.steps} steps × batch {cfg.batch_size}, "
        f"hidden {cfg.hidden_size}, Adam lr {cfg.lr:g}, seed {cfg.seed}, "
        f"{cfg.n_test} test sequences"
    )
    cols = f"{'cell':<6}{'params':>9}{'test MSE':>11}{'% of 0.167':>12}{'train s':>9}  verdict"
    rows = [
        f"{r['cell']:<6}{r['params']:>9,}{r['test_mse']:>11.3g}{100 * r['vs_baseline']:>11.2f}%"
        f"{r['train_seconds']:>9.1f}  {r['verdict']}"
        for r in results
    ]
    foot = (
        f"baseline: always answer 1, MSE 1/6 = {ADDING_BASELINE_MSE:.3f}; "
        f"solved: test MSE < {SOLVED_MSE:g}\n"
        "train s: the cell's wall time, its test evaluations included"
    )
    rule = "-" * len(cols)
    return "\n".join([head, rule, cols, rule, *rows, rule, foot])


def _report(
    results: Sequence[dict[str, Any]], cfg: AddingDemoConfig, test: tuple[Tensor, Tensor]
) -> dict[str, Any]:
    """Everything results.json holds: settings, baselines, environment and per-cell results."""
    _, y = test
    return {
        "task": "adding",
        "config": asdict(cfg),
        "baseline_mse": ADDING_BASELINE_MSE,
        "test_baseline_mse": float(torch.mean((y - 1.0) ** 2)),  # always-1 on this test set
        "solved_threshold": SOLVED_MSE,
        "device": f"cpu {torch.get_num_threads()}-thread",
        "version": f"torch {torch.__version__}",
        "date": date.today().isoformat(),
        "results": list(results),
    }
