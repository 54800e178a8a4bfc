"""What a benchmark run measures: the grid of sizes, dtypes, modes, configurations and variants."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch

from rnnkit.bench.configs import CONFIGS
from rnnkit.bench.variants import VARIANTS

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}
MODES = ("forward", "train")  # inference under torch.no_grad; forward + backward of output.sum()
DEVICES = ("cpu", "cuda")
QUICK_LEFT_OUT = (
    ("compiled-loop", "left out of --quick: torch.compile takes longer than the run"),
)


class GridPoint(NamedTuple):
    """One size at which every variant is timed, interleaved."""

    dtype: str  # a key of DTYPES
    mode: str  # "forward" or "train"
    batch: int  # B
    hidden: int  # H (= input size)
    steps: int  # T


@dataclass(frozen=True)
class BenchGrid:
    """The whole plan of a run; invalid values raise ValueError naming the field."""

    device: str = "cpu"  # "cpu" or "cuda"
    dtypes: tuple[str, ...] = ("fp32",)  # keys of DTYPES
    modes: tuple[str, ...] = MODES  # any of MODES
    batch: tuple[int, ...] = (1, 8, 64, 256)  # batch sizes B
    hidden: tuple[int, ...] = (128, 256, 512, 1024)  # hidden sizes H; input size = H
    steps: int = 256  # sequence length T
    repeats: int = 20  # timed rounds per grid point; the report gives their median
    warmup: int = 3  # untimed rounds first (compilation, allocator, cuDNN plans)
    configs: tuple[str, ...] = tuple(CONFIGS)  # cell configurations, keys of CONFIGS
    variants: tuple[str, ...] = tuple(VARIANTS)  # implementations, keys of VARIANTS
    left_out: tuple[tuple[str, str], ...] = ()  # (variant, reason): reported skipped, not run
    compile_backend: str = "inductor"  # the torch.compile backend of compiled-loop
    smoke: bool = False  # a --quick smoke run: its files are named <device>-quick

    def __post_init__(self) -> None:
        _check_choices("device", (self.device,), DEVICES)
        _check_choices("dtypes", self.dtypes, tuple(DTYPES))
        _check_choices("modes", self.modes, MODES)
        _check_choices("configs", self.configs, tuple(CONFIGS))
        _check_choices("variants", self.variants, tuple(VARIANTS))
        if self.left_out:
            _check_choices("left_out", tuple(name for name, _ in self.left_out), tuple(VARIANTS))
        _check_positive("batch", self.batch)
        _check_positive("hidden", self.hidden)
        _check_positive("steps", (self.steps,))
        _check_positive("repeats", (self.repeats,))
        if isinstance(self.warmup, bool) or not isinstance(self.warmup, int) or self.warmup < 0:
            raise ValueError(f"BenchGrid: warmup must be an integer >= 0, got {self.warmup!r}")

    def points(self) -> list[GridPoint]:
        """Every grid point, by dtype, mode, hidden size, then batch size."""
        return [
            GridPoint(dtype, mode, batch, hidden, self.steps)
            for dtype in self.dtypes
            for mode in self.modes
            for hidden in self.hidden
            for batch in self.batch
        ]

    def command(self) -> str:
        """The ``rnnkit bench`` command line that runs this grid."""
        base = quick_grid() if self.smoke else full_grid(self.device)
        words = ["rnnkit", "bench", "--quick" if self.smoke else f"--device={self.device}"]
        if self.smoke and self.device != base.device:
            words.append(f"--device={self.device}")
        for field in _FLAGS:
            value, default = getattr(self, field), getattr(base, field)
            left_out_changed = field == "variants" and self.left_out != base.left_out
            if value != default or left_out_changed:
                text = ",".join(map(str, value)) if isinstance(value, tuple) else str(value)
                words.append(f"--{field.replace('_', '-')}={text}")
        return " ".join(words)


_FLAGS = (
    "dtypes", "modes", "batch", "hidden", "steps", "repeats", "warmup", "configs", "variants",
    "compile_backend",
)  # fmt: skip  # the fields that ``rnnkit bench`` takes as --flags of the same name


def default_device() -> str:
    """``"cuda"`` when torch sees a GPU, else ``"cpu"``."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def full_grid(device: str) -> BenchGrid:
    """The full grid: B 1, 8, 64, 256 × H 128…1024, T 256, both modes; bf16 too on CUDA."""
    return BenchGrid(device=device, dtypes=("fp32", "bf16") if device == "cuda" else ("fp32",))


def quick_grid() -> BenchGrid:
    """A CPU smoke run of a few seconds: B 4, H 32, T 16, fp32, both modes, 2 repeats after 2
    warm-up rounds, compiled-loop left out (compiling takes longer than the rest)."""
    return BenchGrid(
        batch=(4,), hidden=(32,), steps=16, repeats=2, warmup=2, left_out=QUICK_LEFT_OUT,
        smoke=True,
    )  # fmt: skip


def make_grid(
    *,
    quick: bool = False,
    device: str | None = None,
    dtypes: Sequence[str] | None = None,
    modes: Sequence[str] | None = None,
    batch: Sequence[int] | None = None,
    hidden: Sequence[int] | None = None,
    steps: int | None = None,
    repeats: int | None = None,
    warmup: int | None = None,
    configs: Sequence[str] | None = None,
    variants: Sequence[str] | None = None,
    compile_backend: str | None = None,
) -> BenchGrid:
    """The full grid for ``device`` (default: CUDA when available), or with ``quick`` the smoke
    grid (default device: CPU), with every value given here replacing the grid's own.

    Naming ``variants`` runs exactly those, even one that ``quick`` leaves out.
    """
    device = device or ("cpu" if quick else default_device())
    _check_choices("device", (device,), DEVICES)
    base = quick_grid() if quick else full_grid(device)
    changes: dict[str, Any] = {
        key: tuple(value) if isinstance(value, list | tuple) else value
        for key, value in {
            "dtypes": dtypes, "modes": modes, "batch": batch, "hidden": hidden, "steps": steps,
            "repeats": repeats, "warmup": warmup, "configs": configs, "variants": variants,
            "compile_backend": compile_backend,
        }.items()
        if value is not None
    }  # fmt: skip
    if variants is not None:
        changes["left_out"] = ()
    return dataclasses.replace(base, device=device, **changes)


def _check_choices(field: str, values: tuple[str, ...], known: tuple[str, ...]) -> None:
    if not values:
        raise ValueError(f"BenchGrid: {field} must name at least one of {', '.join(known)}")
    for value in values:
        if value not in known:
            raise ValueError(
                f"BenchGrid: unknown {field} value {value!r} (known: {', '.join(known)})"
            )
    if len(set(values)) != len(values):
        raise ValueError(f"BenchGrid: {field} repeats a value: {','.join(values)}")


def _check_positive(field: str, values: tuple[int, ...]) -> None:
    if not values:
        raise ValueError(f"BenchGrid: {field} must give at least one positive integer")
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"BenchGrid: {field} must be positive integers, got {value!r}")
