"""The grid: defaults, --quick, overrides, validation, and the command line that reruns it."""

from __future__ import annotations

import pytest

from rnnkit.bench import VARIANTS, BenchGrid, make_grid
from rnnkit.cli.bench import grid_from_args
from rnnkit.cli.main import build_parser


def test_full_grid_is_the_documented_one() -> None:
    grid = make_grid(device="cpu")
    assert (grid.batch, grid.hidden, grid.steps) == ((1, 8, 64, 256), (128, 256, 512, 1024), 256)
    assert grid.dtypes == ("fp32",) and grid.modes == ("forward", "train")
    assert make_grid(device="cuda").dtypes == ("fp32", "bf16")
    assert len(grid.points()) == 2 * 4 * 4


def test_quick_leaves_compiled_loop_out_unless_named() -> None:
    quick = make_grid(quick=True)
    assert quick.device == "cpu" and quick.smoke
    assert [name for name, _ in quick.left_out] == ["compiled-loop"]
    assert make_grid(quick=True, variants=["loop", "compiled-loop"]).left_out == ()


@pytest.mark.parametrize(
    "grid",
    [
        make_grid(quick=True),
        make_grid(device="cpu"),
        make_grid(device="cuda", batch=[1], modes=["train"], dtypes=["bf16"]),
        make_grid(quick=True, variants=list(VARIANTS), hidden=[16, 8], warmup=0),
    ],
)
def test_command_reruns_the_same_grid(grid: BenchGrid) -> None:
    words = grid.command().split()
    assert words[:2] == ["rnnkit", "bench"]
    args = build_parser().parse_args(words[1:])
    assert grid_from_args(args) == grid


@pytest.mark.parametrize(
    ("field", "value"),
    [("hidden", (0,)), ("batch", ()), ("steps", -1), ("variants", ("warp",)), ("warmup", -1)],
)
def test_bad_values_name_the_field(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"BenchGrid: .*{field}"):
        BenchGrid(**{field: value})  # type: ignore[arg-type]
