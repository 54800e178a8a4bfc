"""``rnnkit.ops.describe``: what runs the fused ops' step work, the one source ``rnnkit bench``'s
report reads (bench itself imports none of rnnkit.ops' private modules)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import rnnkit.bench
import rnnkit.ops.cpu as cpu_kernels
from rnnkit.bench.run import step_kernels, step_products
from rnnkit.ops import describe
from rnnkit.ops.cpu._build import BuildError


def test_describe_fields_on_the_cpu() -> None:
    about = describe("cpu")
    assert json.loads(json.dumps(about)) == about  # JSON-ready
    assert (about["device"], about["dtype"]) == ("cpu", "float32")
    assert set(about) == {"device", "dtype", "step_kernels", "step_products", "triton"}
    kernels, products = about["step_kernels"], about["step_products"]
    assert set(kernels) == {"impl", "module", "reason"} and kernels["reason"]
    assert kernels["impl"] == ("c" if cpu_kernels.available() else "torch")
    assert set(products) == {"impl", "library", "reason", "onednn_from"} and products["reason"]
    assert products["impl"] in ("onednn", "torch")
    assert set(about["triton"]) == {"runs", "reason"} and about["triton"]["reason"]
    if about["triton"]["runs"]:  # CPU tensors run Triton only in its interpreter
        assert "interpreter" in about["triton"]["reason"]


def test_describe_says_why_the_kernels_or_onednn_do_not_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cpu_kernels, "_library", lambda: BuildError("no C compiler found"))
    assert describe("cpu")["step_kernels"] == {
        "impl": "torch",
        "module": None,
        "reason": "C kernels unavailable: no C compiler found",
    }
    assert "bfloat16" in describe("cpu", torch.bfloat16)["step_kernels"]["reason"]
    assert "float64" in describe("cpu", torch.float64)["step_products"]["reason"]
    monkeypatch.setenv("RNNKIT_ONEDNN", "0")
    products = describe("cpu")["step_products"]
    assert (products["impl"], products["library"], products["reason"]) == (
        "torch",
        "MKL",
        "RNNKIT_ONEDNN=0",
    )


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_describe_a_device_torch_cannot_use_here() -> None:
    about = describe("cuda")
    assert about["step_kernels"]["impl"] is None and "cuda" in about["step_kernels"]["reason"]
    assert about["step_products"]["library"] == "cuBLAS"
    assert about["triton"]["runs"] is False


def test_bench_report_lines_come_from_describe() -> None:
    about = describe("cpu")
    if about["step_kernels"]["impl"] == "c":
        assert step_kernels("cpu") == f"C kernels ({about['step_kernels']['module']})"
    sizes = about["step_products"]["onednn_from"]
    if sizes is not None:
        assert step_products("cpu") == (
            f"oneDNN, weights packed once, from H {sizes['size']}, batch {sizes['batch']} and T "
            f"{sizes['steps']}; torch (MKL) below"
        )


def test_bench_imports_no_private_ops_module() -> None:
    for path in Path(rnnkit.bench.__file__).parent.glob("*.py"):
        text = path.read_text()
        for private in ("rnnkit.ops._", "_step_impl", "_step_matmul", "ops.cpu", "import cpu"):
            assert private not in text, f"{path.name} reads {private}"
