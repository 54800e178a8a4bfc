"""rnnkit.bench — cell throughput: rnnkit's backends against torch's layers and plain loops.

>>> from rnnkit.bench import make_grid, run_bench, write_results
>>> result = run_bench(make_grid(quick=True))          # doctest: +SKIP
>>> write_results(result, "benchmarks/results")        # doctest: +SKIP

The registry (:data:`VARIANTS`) names the implementations, :data:`CONFIGS` the cell
configurations, :class:`BenchGrid` the sizes, dtypes and modes; ``rnnkit bench`` is the command.
"""

from rnnkit.bench.configs import CONFIGS, CellConfig
from rnnkit.bench.grid import DTYPES, MODES, BenchGrid, GridPoint, make_grid
from rnnkit.bench.report import add_ratios, markdown, results_stem, write_results
from rnnkit.bench.run import bench_point, run_bench
from rnnkit.bench.variants import VARIANTS, Runner, Variant

__all__ = [
    "CONFIGS",
    "DTYPES",
    "MODES",
    "VARIANTS",
    "BenchGrid",
    "CellConfig",
    "GridPoint",
    "Runner",
    "Variant",
    "add_ratios",
    "bench_point",
    "make_grid",
    "markdown",
    "results_stem",
    "run_bench",
    "write_results",
]
