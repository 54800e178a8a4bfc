"""Second derivatives: autograd's paths (loop, native) give them, the hand-written backwards of
the fused ops and the CRF refuse with one clear error instead of returning zeros."""

from __future__ import annotations

import re

import pytest
import torch
from torch.autograd import gradgradcheck

from rnnkit.nn import CRF, GRU, LSTM, RNN

LAYERS = {
    "rnn": lambda backend: RNN(3, 4, backend=backend),
    "lstm": lambda backend: LSTM(3, 4, backend=backend),
    "lstm-peephole": lambda backend: LSTM(3, 4, peephole=True, backend=backend),
    "lstm-proj": lambda backend: LSTM(3, 4, proj_size=2, backend=backend),
    "gru": lambda backend: GRU(3, 4, backend=backend),
    "gru-reset-before": lambda backend: GRU(3, 4, reset_after=False, backend=backend),
}
NATIVE = {"rnn", "lstm", "lstm-proj", "gru"}


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


def gradient_penalty_gradient(name: str, backend: str) -> torch.Tensor:
    """d/dx of ‖d(Σ out²)/dx‖², a gradient penalty's gradient: a second derivative."""
    layer, x = layer_and_input(name, backend)
    out, _ = layer(x)
    (grad,) = torch.autograd.grad(out.pow(2).sum(), x, create_graph=True)
    (penalty_grad,) = torch.autograd.grad(grad.pow(2).sum(), x)
    return penalty_grad


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_the_default_backend_gives_the_loops_second_derivative_or_refuses(name: str) -> None:
    """What a user who asks for a gradient penalty without naming a backend gets: the loop's
    numbers (never zeros), or the documented error."""
    want = gradient_penalty_gradient(name, "loop")
    assert want.abs().sum() > 0
    try:
        got = gradient_penalty_gradient(name, "auto")
    except RuntimeError as error:
        assert re.search(r"double backward \(create_graph=True\).*backend='loop'", str(error))
        return
    torch.testing.assert_close(got, want, atol=1e-10, rtol=1e-8)


def test_the_crf_refuses_a_second_derivative() -> None:
    torch.manual_seed(0)
    crf = CRF(3).double()
    emissions = torch.randn(2, 4, 3, dtype=torch.float64, requires_grad=True)
    tags = torch.randint(0, 3, (2, 4))
    loss = crf(emissions, tags, torch.ones(2, 4, dtype=torch.bool), reduction="sum")
    with pytest.raises(RuntimeError, match="CRF log-partition: double backward"):
        torch.autograd.grad(loss, emissions, create_graph=True)
