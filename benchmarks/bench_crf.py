"""rnnkit.nn.CRF against pytorch-crf 0.7.2: the same numbers first, then the time.

Copies our parameters into ``torchcrf.CRF(K, batch_first=True)`` (the state dicts have the same
names), checks on random float64 inputs with ragged masks that the log-likelihoods (and their
gradients) agree to 1e-9 and that the Viterbi paths are identical, then times both at batch 32 ×
length 40 × 17 tags (a CoNLL-2003 BIOES tag set), float32, ragged lengths in [20, 40]:

- ``log-likelihood``: the forward algorithm plus the gold path's score, building the graph;
- ``training step``: the same, then ``backward()``;
- ``viterbi``: decoding without a graph (ours returns (B, T) tensors, pytorch-crf lists);
- for information: our ``nbest(n=5)``, and our log-likelihood with the exact (B, K, K)
  log-sum-exp recursion forced (the fallback of the matrix-product one).

Each variant is warmed up, then ours and pytorch-crf's run alternately (so a busy machine slows
both alike) and the median of ``--repeats`` runs is reported, at 2 and 1 torch threads. Writes
``<out>.md`` and ``<out>.json``.

    PYTHONPATH=src .peers/crf/bin/python benchmarks/bench_crf.py

(the peer environment: ``python3 -m venv .peers/crf && .peers/crf/bin/pip install torch==2.13.0
pytorch-crf==0.7.2 numpy``).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
import torchcrf
from torch import Tensor

import rnnkit.nn.crf
from rnnkit._machine import cpu_model
from rnnkit.nn import CRF

B, T, K = 32, 40, 17


def random_batch(
    batch: int, steps: int, tags: int, dtype: torch.dtype, device: str, seed: int
) -> tuple[Tensor, Tensor, Tensor]:
    """Emissions (B, T, K), gold tags (B, T), a left-aligned mask with lengths in [T/2, T]
    (the first row full)."""
    gen = torch.Generator().manual_seed(seed)
    emissions = 2 * torch.randn(batch, steps, tags, generator=gen, dtype=dtype)
    gold = torch.randint(tags, (batch, steps), generator=gen)
    lengths = torch.randint((steps + 1) // 2, steps + 1, (batch,), generator=gen)
    lengths[0] = steps
    mask = torch.arange(steps).unsqueeze(0) < lengths.unsqueeze(1)
    return emissions.to(device), gold.to(device), mask.to(device)


def check_parity(device: str) -> dict[str, Any]:
    """Same log-likelihoods (1e-9), gradients (1e-9) and Viterbi paths as pytorch-crf, float64."""
    worst_ll = worst_grad = 0.0
    rows = 0
    for seed, (batch, steps, tags) in enumerate([(8, 12, 5), (32, 40, 17), (5, 1, 3), (16, 25, 9)]):
        torch.manual_seed(seed)
        ours = CRF(tags).to(device, torch.float64)
        peer = torchcrf.CRF(tags, batch_first=True).to(device, torch.float64)
        peer.load_state_dict(ours.state_dict(), strict=True)
        em, gold, mask = random_batch(batch, steps, tags, torch.float64, device, seed)
        em_ours, em_peer = em.clone().requires_grad_(), em.clone().requires_grad_()
        ll_ours = ours.log_likelihood(em_ours, gold, mask)
        ll_peer = peer(em_peer, gold, mask, reduction="none")
        worst_ll = max(worst_ll, float((ll_ours - ll_peer).detach().abs().max()))
        ll_ours.sum().backward()
        ll_peer.sum().backward()
        pairs = [(em_ours.grad, em_peer.grad)] + [
            (getattr(ours, name).grad, getattr(peer, name).grad)
            for name in ("start_transitions", "end_transitions", "transitions")
        ]
        for a, b in pairs:
            assert a is not None
            b = torch.zeros_like(a) if b is None else b  # pytorch-crf: no grad when unused (T=1)
            worst_grad = max(worst_grad, float((a - b).abs().max()))
        paths, _ = ours.viterbi(em, mask)
        best = peer.decode(em, mask)
        for row, path in enumerate(best):
            assert paths[row, : len(path)].tolist() == path, f"viterbi differs, row {row}"
            assert not paths[row, len(path) :].any()
        rows += batch
    assert worst_ll <= 1e-9, f"log-likelihoods differ by {worst_ll:.3e}"
    assert worst_grad <= 1e-9, f"gradients differ by {worst_grad:.3e}"
    return {
        "rows": rows,
        "max_abs_loglik_diff": worst_ll,
        "max_abs_grad_diff": worst_grad,
        "viterbi_identical": True,
    }


@contextlib.contextmanager
def exact_recursion() -> Iterator[None]:
    """Force the exact log-sum-exp recursion, as when a shifted sum underflows."""
    trusted = rnnkit.nn.crf._trusted
    rnnkit.nn.crf._trusted = lambda sums, steps: False
    try:
        yield
    finally:
        rnnkit.nn.crf._trusted = trusted


def timed(fn: Callable[[], object], device: str) -> float:
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def compare(
    calls: dict[str, Callable[[], object]], repeats: int, warmup: int, device: str
) -> dict[str, float]:
    """Median milliseconds of each call, the calls run alternately in each round."""
    for fn in calls.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeats):
        for name, fn in calls.items():
            times[name].append(timed(fn, device))
    return {name: 1e3 * statistics.median(values) for name, values in times.items()}


def time_all(threads: int, repeats: int, warmup: int, device: str) -> list[dict[str, Any]]:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    ours = CRF(K).to(device)
    peer = torchcrf.CRF(K, batch_first=True).to(device)
    peer.load_state_dict(ours.state_dict())
    em, gold, mask = random_batch(B, T, K, torch.float32, device, seed=0)
    em = em.requires_grad_()

    def train(crf_loss: Callable[[], Tensor]) -> Callable[[], None]:
        def step() -> None:
            crf_loss().backward()

        return step

    def no_grad(fn: Callable[[], object]) -> Callable[[], object]:
        def call() -> object:
            with torch.no_grad():
                return fn()

        return call

    def exact_ll() -> Tensor:
        with exact_recursion():
            return ours.log_likelihood(em, gold, mask)

    rows = []
    variants: list[tuple[str, dict[str, Callable[[], object]]]] = [
        (
            "log-likelihood (forward)",
            {
                "ours": lambda: ours.log_likelihood(em, gold, mask),
                "pytorch-crf": lambda: peer(em, gold, mask, reduction="none"),
            },
        ),
        (
            "training step (forward + backward)",
            {
                "ours": train(lambda: ours(em, gold, mask)),
                "pytorch-crf": train(lambda: -peer(em, gold, mask)),
            },
        ),
        (
            "viterbi decode",
            {
                "ours": no_grad(lambda: ours.viterbi(em, mask)),
                "pytorch-crf": no_grad(lambda: peer.decode(em, mask)),
            },
        ),
        ("nbest n=5 (ours only)", {"ours": no_grad(lambda: ours.nbest(em, mask, 5))}),
        ("log-likelihood, exact recursion forced (ours only)", {"ours": exact_ll}),
    ]
    for name, calls in variants:
        medians = compare(calls, repeats, warmup, device)
        row: dict[str, Any] = {"variant": name, "threads": threads, "ours_ms": medians["ours"]}
        if "pytorch-crf" in medians:
            row["pytorch_crf_ms"] = medians["pytorch-crf"]
            row["speedup"] = medians["pytorch-crf"] / medians["ours"]
        rows.append(row)
        em.grad = None
    return rows


def markdown(report: dict[str, Any]) -> str:
    env = report["environment"]
    lines = [
        f"# CRF: rnnkit.nn.CRF vs pytorch-crf {env['pytorch_crf']} ({report['date']})",
        "",
        f"Batch {B} × length {T} × {K} tags, float32, ragged lengths in [{(T + 1) // 2}, {T}], "
        f"device {report['device']}; median of {report['repeats']} runs after "
        f"{report['warmup']} warm-up runs, ours and pytorch-crf alternating. "
        "Speed-up = pytorch-crf time / ours.",
        "",
        f"- CPU: {env['cpu']} ({env['cpu_count']} logical CPUs; load average "
        f"{env['load_before']} before, {env['load_after']} after)",
        f"- torch {env['torch']}, pytorch-crf {env['pytorch_crf']}, Python {env['python']}",
        f"- command: `{report['command']}`",
        f"- parity (float64, {report['parity']['rows']} rows): max |Δ log-likelihood| "
        f"{report['parity']['max_abs_loglik_diff']:.1e}, max |Δ gradient| "
        f"{report['parity']['max_abs_grad_diff']:.1e}, Viterbi paths identical",
        "",
        "A load average near or above the number of CPUs means other work competed for them "
        "during the run: the timings at 2 threads, which need two CPUs at the same moment, "
        "suffer most (a waiting OpenMP thread stalls every parallel op).",
        "",
        "| variant | threads | ours (ms) | pytorch-crf (ms) | speed-up |",
        "|---|---|---|---|---|",
    ]
    for row in report["rows"]:
        peer = f"{row['pytorch_crf_ms']:.2f}" if "pytorch_crf_ms" in row else "–"
        speedup = f"{row['speedup']:.2f}×" if "speedup" in row else "–"
        lines.append(
            f"| {row['variant']} | {row['threads']} | {row['ours_ms']:.2f} | {peer} | {speedup} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=30, help="timed runs per variant (≥ 20)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed runs before timing")
    parser.add_argument(
        "--threads", default="2,1", help="comma-separated torch thread counts to time at"
    )
    parser.add_argument("--device", default="cpu", help="cpu or cuda (timings synchronised)")
    parser.add_argument(
        "--out",
        default="benchmarks/results/crf-2026-12-01",
        help="path of the results without suffix: <out>.md and <out>.json are written",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="parity checks and 3 timed runs; nothing written"
    )
    args = parser.parse_args(argv)
    repeats, warmup = (3, 1) if args.dry_run else (args.repeats, args.warmup)
    load_before = [round(x, 2) for x in os.getloadavg()]
    parity = check_parity(args.device)
    print(f"parity: {parity}")
    rows = []
    for threads in (int(n) for n in args.threads.split(",")):
        for row in time_all(threads, repeats, warmup, args.device):
            print(row)
            rows.append(row)
    report = {
        "date": datetime.date.today().isoformat(),
        "device": args.device,
        "shape": {"batch": B, "length": T, "tags": K, "dtype": "float32"},
        "repeats": repeats,
        "warmup": warmup,
        "command": "PYTHONPATH=src "
        + " ".join([sys.executable, *sys.argv]).replace(str(Path.cwd()) + "/", ""),
        "environment": {
            "cpu": cpu_model(),
            "cpu_count": os.cpu_count(),
            "load_before": load_before,
            "load_after": [round(x, 2) for x in os.getloadavg()],
            "torch": torch.__version__,
            "pytorch_crf": torchcrf.__version__,
            "python": platform.python_version(),
            "gpu": torch.cuda.get_device_name() if args.device == "cuda" else None,
        },
        "parity": parity,
        "rows": rows,
    }
    text = markdown(report)
    print(text)
    if not args.dry_run:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.with_suffix(".md").write_text(text)
        out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {out}.md and {out}.json")


if __name__ == "__main__":
    main()
