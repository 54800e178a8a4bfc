"""The registry of benchmark variants: named ways to run one cell configuration.

Every variant is built from one rnnkit layer (its weights are copied, so all variants of a
configuration compute the same function) and returns a :class:`Runner`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import torch
from torch import Tensor, nn

from rnnkit.bench.configs import CellConfig, Layer
from rnnkit.bench.scripted import scripted_loop
from rnnkit.ops import describe, gru_cell, lstm_cell, rnn_cell


@dataclass(frozen=True)
class Runner:
    """A variant ready to time: ``run`` maps x (T, B, H) to out (T, B, H); ``module`` holds the
    parameters it trains (the timer sets its train/eval mode and clears their gradients)."""

    run: Callable[[Tensor], Tensor]
    module: nn.Module


class Build(Protocol):
    """How a variant is made from the configuration and the layer whose weights it copies."""

    def __call__(self, config: CellConfig, layer: Layer, *, compile_backend: str) -> Runner: ...


@dataclass(frozen=True)
class Variant:
    """One named implementation of the cell configurations."""

    name: str
    description: str  # one line for the report
    build: Build
    needs_torch_layer: bool = False  # exists only for the configurations torch has a kernel for
    only: tuple[str, ...] | None = None  # the configurations it exists for, None: all
    forward_only: bool = False  # an inference kernel: no training rows

    def supports(self, config: CellConfig) -> bool:
        """Whether this variant exists for ``config`` (torch's layer only where torch has one)."""
        if self.only is not None and config.name not in self.only:
            return False
        return config.torch_layer is not None or not self.needs_torch_layer


def _param(module: nn.Module, name: str) -> Tensor:
    """A parameter of layer 0 by its torch name (``weight_ih_l0``)."""
    value = getattr(module, name)
    assert isinstance(value, Tensor), f"bench: {type(module).__name__}.{name} is not a tensor"
    return value


def _weights(module: nn.Module) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(w_ih, w_hh, b_ih, b_hh) of layer 0."""
    names = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
    w_ih, w_hh, b_ih, b_hh = (_param(module, name) for name in names)
    return w_ih, w_hh, b_ih, b_hh


def _peepholes(config: CellConfig, module: nn.Module) -> Tensor | None:
    """The peephole weights (3H,) of layer 0, None for the plain LSTM."""
    return _param(module, "weight_ch_l0") if config.option("peephole", False) else None


def _step_options(config: CellConfig) -> dict[str, Any]:
    """The keyword options of the GRU or RNN step (``reset_after``, ``nonlinearity``)."""
    if config.family == "gru":
        return {"reset_after": config.option("reset_after", True)}
    return {"nonlinearity": config.option("nonlinearity", "tanh")}


def _build_backend(backend: str) -> Build:
    """The rnnkit layer itself with ``backend`` ("loop", "fused")."""

    def build(config: CellConfig, layer: Layer, *, compile_backend: str) -> Runner:
        module = copy.deepcopy(layer)
        module.backend = backend
        return Runner(lambda x: module(x)[0], module)

    return build


def _build_native(config: CellConfig, layer: Layer, *, compile_backend: str) -> Runner:
    """torch's own layer (``torch.nn.LSTM``, …) with the rnnkit layer's weights."""
    if config.torch_layer is None:
        raise ValueError(f"bench: torch has no layer for {config.name}")
    weight = _param(layer, "weight_ih_l0")
    options = (
        {"nonlinearity": config.option("nonlinearity", "tanh")} if config.family == "rnn" else {}
    )
    module = config.torch_layer(
        layer.input_size, layer.hidden_size, device=weight.device, dtype=weight.dtype, **options
    )
    module.load_state_dict(layer.state_dict())
    return Runner(lambda x: module(x)[0], module)


def _build_compiled_loop(config: CellConfig, layer: Layer, *, compile_backend: str) -> Runner:
    """rnnkit's ``*_cell`` step compiled by ``torch.compile``, called once per time step."""
    module = copy.deepcopy(layer)
    weights, hidden = _weights(module), module.hidden_size
    if config.family == "lstm":
        lstm_step = torch.compile(lstm_cell, dynamic=False, backend=compile_backend)
        w_ch = _peepholes(config, module)

        def run_lstm(x: Tensor) -> Tensor:
            h = c = x.new_zeros(x.shape[1], hidden)  # (B, H)
            outs = []
            for x_t in x.unbind(0):
                h, c = lstm_step(x_t, h, c, *weights, w_ch)
                outs.append(h)
            return torch.stack(outs)  # (T, B, H)

        return Runner(run_lstm, module)
    step = torch.compile(
        gru_cell if config.family == "gru" else rnn_cell, dynamic=False, backend=compile_backend
    )
    options = _step_options(config)

    def run(x: Tensor) -> Tensor:
        h = x.new_zeros(x.shape[1], hidden)  # (B, H)
        outs = []
        for x_t in x.unbind(0):
            h = step(x_t, h, *weights, **options)
            outs.append(h)
        return torch.stack(outs)  # (T, B, H)

    return Runner(run, module)


def _build_script_loop(config: CellConfig, layer: Layer, *, compile_backend: str) -> Runner:
    """A ``torch.jit.script`` loop over the time steps (:mod:`rnnkit.bench.scripted`)."""
    module = copy.deepcopy(layer)
    weights, hidden = _weights(module), module.hidden_size
    loop = scripted_loop(config.family)
    if config.family == "lstm":
        w_ch = _peepholes(config, module)

        def run_lstm(x: Tensor) -> Tensor:
            h = x.new_zeros(x.shape[1], hidden)  # (B, H), also c_0
            out: Tensor = loop(x, h, h, *weights, w_ch)
            return out

        return Runner(run_lstm, module)
    options = _step_options(config)
    flag = options.get("reset_after", options.get("nonlinearity") == "relu")

    def run(x: Tensor) -> Tensor:
        out: Tensor = loop(x, x.new_zeros(x.shape[1], hidden), *weights, flag)
        return out

    return Runner(run, module)


def _build_persistent(config: CellConfig, layer: Layer, *, compile_backend: str) -> Runner:
    """rnnkit's persistent forward kernel (:mod:`rnnkit.ops.triton.persistent`): CUDA (or
    Triton's interpreter), no gradients; a size or dtype it cannot run fails at the first call,
    with its reason."""
    weight = _param(layer, "weight_ih_l0")
    triton = describe(weight.device, weight.dtype)["triton"]
    if not triton["runs"]:
        raise RuntimeError(triton["reason"])
    from rnnkit.ops.triton.persistent import gru_persistent, lstm_persistent

    hidden = layer.hidden_size
    module = copy.deepcopy(layer)
    weights = _weights(module)

    def run(x: Tensor) -> Tensor:
        steps, batch, _ = x.shape
        rows, h0 = x.reshape(steps * batch, -1), x.new_zeros(batch, hidden)  # (N, I), (B, H)
        if config.family == "lstm":
            out = lstm_persistent(rows, h0, h0, *weights, [batch] * steps)[0]
        else:
            out = gru_persistent(rows, h0, *weights, [batch] * steps)[0]
        return out.view(steps, batch, hidden)

    return Runner(run, module)


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant("loop", "rnnkit backend='loop': a per-step autograd loop", _build_backend("loop")),
        Variant(
            "fused",
            "rnnkit backend='fused': whole-sequence op with hand-written BPTT",
            _build_backend("fused"),
        ),
        Variant(
            "native",
            "torch.nn.LSTM/GRU/RNN (cuDNN on GPU, oneDNN/ATen on CPU)",
            _build_native,
            needs_torch_layer=True,
        ),
        Variant("script-loop", "a torch.jit.script loop over the time steps", _build_script_loop),
        Variant(
            "compiled-loop",
            "the loop backend's step function compiled by torch.compile, in a Python time loop",
            _build_compiled_loop,
        ),
        Variant(
            "persistent",
            "rnnkit's persistent Triton forward kernel, W_hh on-chip for the whole sequence "
            "(plain LSTM, torch's GRU; CUDA, fp32, H ≤ 512; inference only)",
            _build_persistent,
            only=("lstm", "gru"),
            forward_only=True,
        ),
    )
}
