"""Second derivatives: autograd's paths (loop, native) give them, the hand-written backwards of
the fused ops and the CRF refuse with one clear error instead of returning zeros."""

from __future__ import annotations

import pytest
import torch
from torch.autograd import gradgradcheck

from rnnkit.nn import CRF, GRU, LSTM, RNN

LAYERS = {
    "rnn": lambda backend: RNN(3, 4, backend=backend),
    "lstm": lambda backend: LSTM(3, 4, backend=backend),
    "lstm-peephole": lambda backend: LSTM(3, 4, peephole=True, backend=backend),
    "gru": lambda backend: GRU(3, 4, backend=backend),
    "gru-reset-before": lambda backend: GRU(3, 4, reset_after=False, backend=backend),
}
NATIVE = {"rnn", "lstm", "gru"}


def layer_and_input(name: str, backend: str) -> tuple[torch.nn.Module, torch.Tensor]:
    torch.manual_seed(0)
    layer = LAYERS[name](backend).double()
    return layer, torch.randn(5, 2, 3, dtype=torch.float64, requires_grad=True)


AUTOGRAD_PATHS = [(n, "loop") for n in sorted(LAYERS)] + [(n, "native") for n in sorted(NATIVE)]


@pytest.mark.parametrize(("name", "backend"), AUTOGRAD_PATHS)
def test_autograd_paths_give_second_derivatives(name: str, backend: str) -> None:
    layer, x = layer_and_input(name, backend)
    weight = layer.weight_hh_l0

    def outputs(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        out, _ = torch.func.functional_call(layer, {"weight_hh_l0": weight}, (x,))
        return out

    assert gradgradcheck(outputs, (x, weight), eps=1e-6, atol=1e-5)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_the_fused_backward_refuses_a_second_derivative(name: str) -> None:
    layer, x = layer_and_input(name, "fused")
    out, _ = layer(x)
    (grad,) = torch.autograd.grad(out.pow(2).sum(), x, create_graph=False)
    assert grad.abs().sum() > 0  # once: fine
    out, _ = layer(x)
    with pytest.raises(
        RuntimeError, match=r"double backward \(create_graph=True\).*backend='loop'"
    ):
        torch.autograd.grad(out.pow(2).sum(), x, create_graph=True)


def test_the_crf_refuses_a_second_derivative() -> None:
    torch.manual_seed(0)
    crf = CRF(3).double()
    emissions = torch.randn(2, 4, 3, dtype=torch.float64, requires_grad=True)
    tags = torch.randint(0, 3, (2, 4))
    loss = crf(emissions, tags, torch.ones(2, 4, dtype=torch.bool), reduction="sum")
    with pytest.raises(RuntimeError, match="CRF log-partition: double backward"):
        torch.autograd.grad(loss, emissions, create_graph=True)
