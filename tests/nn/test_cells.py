"""rnnkit.RNNCell / LSTMCell / GRUCell: parity with torch.nn cells, and the variants against the
layers run for one step with the same weights."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import Tensor, nn

import rnnkit

AssertClose = Callable[..., None]

B, N_IN, H = 3, 4, 5
F64 = torch.float64

# kind -> (torch cell, rnnkit cell, options both take)
CELLS: dict[str, tuple[type[nn.Module], type[nn.Module], dict[str, Any]]] = {
    "lstm": (nn.LSTMCell, rnnkit.LSTMCell, {}),
    "gru": (nn.GRUCell, rnnkit.GRUCell, {}),
    "rnn_tanh": (nn.RNNCell, rnnkit.RNNCell, {"nonlinearity": "tanh"}),
    "rnn_relu": (nn.RNNCell, rnnkit.RNNCell, {"nonlinearity": "relu"}),
}


def parts(state: Any) -> tuple[Tensor, ...]:
    if state is None:
        return ()
    return tuple(state) if isinstance(state, tuple) else (state,)


def leaf(t: Tensor) -> Tensor:
    return t.detach().clone().requires_grad_()


def run_with_grads(
    cell: nn.Module, x: Tensor, hx: Any, upstream: list[Tensor] | None, gen: torch.Generator
) -> tuple[list[Tensor], dict[str, Tensor], list[Tensor]]:
    """Outputs, gradients of Σ upstream · outputs by name (input, h, c, parameters), upstream."""
    x = leaf(x)
    hx_parts = [leaf(p) for p in parts(hx)]
    hx_leaf = None if hx is None else tuple(hx_parts) if isinstance(hx, tuple) else hx_parts[0]
    outputs = list(parts(cell(x, hx_leaf)))
    if upstream is None:
        upstream = [torch.randn(o.shape, generator=gen, dtype=F64) for o in outputs]
    leaves = {"input": x, **dict(zip(("h", "c"), hx_parts, strict=False))}
    leaves.update(dict(cell.named_parameters()))
    loss = sum((o * u).sum() for o, u in zip(outputs, upstream, strict=True))
    assert isinstance(loss, Tensor)
    grads = torch.autograd.grad(loss, list(leaves.values()))
    return outputs, dict(zip(leaves, grads, strict=True)), upstream


@pytest.mark.parametrize("hx_given", [False, True], ids=["hx_none", "hx"])
@pytest.mark.parametrize("unbatched", [False, True], ids=["batched", "unbatched"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("kind", list(CELLS))
def test_cell_parity_with_torch(
    kind: str, bias: bool, unbatched: bool, hx_given: bool, assert_close: AssertClose
) -> None:
    torch_cls, ours_cls, options = CELLS[kind]
    torch.manual_seed(0)
    ref = torch_cls(N_IN, H, bias, dtype=F64, **options)
    ours = ours_cls(N_IN, H, bias, dtype=F64, **options)
    ours.load_state_dict(ref.state_dict(), strict=True)
    assert list(ours.state_dict()) == list(ref.state_dict())
    gen = torch.Generator().manual_seed(1)
    batch: tuple[int, ...] = () if unbatched else (B,)
    x = torch.randn(*batch, N_IN, generator=gen, dtype=F64)
    hx: Any = None
    if hx_given:
        h, c = (torch.randn(*batch, H, generator=gen, dtype=F64) for _ in range(2))
        hx = (h, c) if kind == "lstm" else h
    out_ref, grads_ref, upstream = run_with_grads(ref, x, hx, None, gen)
    out_ours, grads_ours, _ = run_with_grads(ours, x, hx, upstream, gen)
    assert len(out_ours) == len(out_ref)
    for index, (expected, got) in enumerate(zip(out_ref, out_ours, strict=True)):
        assert got.shape == (*batch, H)
        assert_close(f"output {index}", expected, got)
    assert list(grads_ours) == list(grads_ref)
    for name, grad in grads_ref.items():
        assert_close(f"grad {name}", grad, grads_ours[name])


def _one_step_of_layer(cell: nn.Module, layer: nn.Module) -> None:
    """Give ``layer`` (one layer, one direction) the cell's weights, strictly."""
    layer.load_state_dict({f"{k}_l0": v for k, v in cell.state_dict().items()}, strict=True)


@pytest.mark.parametrize("backend", ["fused", "loop"])
@pytest.mark.parametrize(
    ("make_cell", "make_layer"),
    [
        (
            lambda: rnnkit.LSTMCell(N_IN, H, peephole=True, dtype=F64),
            lambda backend: rnnkit.LSTM(N_IN, H, peephole=True, backend=backend, dtype=F64),
        ),
        (
            lambda: rnnkit.GRUCell(N_IN, H, reset_after=False, dtype=F64),
            lambda backend: rnnkit.GRU(N_IN, H, reset_after=False, backend=backend, dtype=F64),
        ),
    ],
    ids=["lstm_peephole", "gru_reset_before"],
)
def test_variant_cell_is_one_step_of_the_layer(
    make_cell: Callable[[], nn.Module],
    make_layer: Callable[[str], nn.Module],
    backend: str,
    assert_close: AssertClose,
) -> None:
    torch.manual_seed(0)
    cell, layer = make_cell(), make_layer(backend)
    _one_step_of_layer(cell, layer)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(B, N_IN, generator=gen, dtype=F64)
    states = [torch.randn(B, H, generator=gen, dtype=F64) for _ in range(2)]
    is_lstm = isinstance(cell, rnnkit.LSTMCell)
    hx: Any = tuple(states) if is_lstm else states[0]
    out_cell, grads_cell, upstream = run_with_grads(cell, x, hx, None, gen)

    x_leaf = leaf(x)
    hx_leaves = [leaf(s.unsqueeze(0)) for s in parts(hx)]
    out, final = layer(x_leaf.unsqueeze(0), tuple(hx_leaves) if is_lstm else hx_leaves[0])
    out_layer = [s[0] for s in parts(final)]
    assert_close("output", out[0], out_layer[0])
    for index, (expected, got) in enumerate(zip(out_cell, out_layer, strict=True)):
        assert_close(f"state {index}", expected, got)
    loss = sum((o * u).sum() for o, u in zip(out_layer, upstream, strict=True))
    assert isinstance(loss, Tensor)
    params = dict(layer.named_parameters())
    grads = torch.autograd.grad(loss, [x_leaf, *hx_leaves, *params.values()])
    grads_layer = dict(zip(["input", "h", "c"][: 1 + len(hx_leaves)], grads, strict=False))
    for name, grad in zip(params, grads[1 + len(hx_leaves) :], strict=True):
        grads_layer[name.removesuffix("_l0")] = grad
    assert set(grads_layer) == set(grads_cell)
    for name, grad in grads_cell.items():
        assert_close(f"grad {name}", grad, grads_layer[name].reshape(grad.shape))


def test_peephole_cell_differs_from_plain() -> None:
    """The one-step check above would catch a cell that ignores weight_ch."""
    torch.manual_seed(0)
    cell = rnnkit.LSTMCell(N_IN, H, peephole=True, dtype=F64)
    assert cell.weight_ch is not None and cell.weight_ch.shape == (3 * H,)
    plain = rnnkit.LSTMCell(N_IN, H, dtype=F64)
    plain.load_state_dict({k: v for k, v in cell.state_dict().items() if k != "weight_ch"})
    x, h, c = (torch.randn(B, n, dtype=F64) for n in (N_IN, H, H))
    assert not torch.allclose(cell(x, (h, c))[1], plain(x, (h, c))[1], atol=1e-4)
    assert rnnkit.LSTMCell(N_IN, H).weight_ch is None
    assert "weight_ch" not in rnnkit.LSTMCell(N_IN, H).state_dict()


@pytest.mark.parametrize("forget_bias", [None, 0.5])
def test_lstm_cell_forget_bias(forget_bias: float | None) -> None:
    options = {} if forget_bias is None else {"forget_bias": forget_bias}
    expected = 1.0 if forget_bias is None else forget_bias
    cell = rnnkit.LSTMCell(N_IN, H, **options)
    assert cell.bias_ih is not None and cell.bias_hh is not None
    b_ih, b_hh = cell.bias_ih.detach(), cell.bias_hh.detach()
    assert torch.equal(b_ih[H : 2 * H], torch.full((H,), expected))
    assert torch.equal(b_hh[H : 2 * H], torch.zeros(H))
    assert torch.equal((b_ih + b_hh)[H : 2 * H], torch.full((H,), expected))
    assert bool(b_ih[:H].std() > 0) and bool(b_hh[2 * H :].std() > 0)  # the rest is random
    rnnkit.LSTMCell(N_IN, H, bias=False, forget_bias=0.5)  # no bias: nothing to set, no error
