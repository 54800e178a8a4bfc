"""Single-step cells: ``RNNCell``, ``LSTMCell``, ``GRUCell``.

Drop-in for ``torch.nn.RNNCell/LSTMCell/GRUCell`` (parameter names ``weight_ih``, ``weight_hh``,
``bias_ih``, ``bias_hh``, torch's gate order), plus the peephole LSTM cell and the reset-before
GRU cell. One step runs :mod:`rnnkit.ops`' ``*_cell`` under autograd: the step of the layers'
``loop`` backend, whatever the input, so a cell's ``last_dispatch`` (``backend_used``,
``backend_reason``, as on the layers) is always ``loop``.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from rnnkit.nn._checks import check_finite, check_size
from rnnkit.nn._dispatch import Backend, Dispatch
from rnnkit.ops import gru_cell, lstm_cell, rnn_cell
from rnnkit.ops.rnn import NONLINEARITIES


class _Cell(nn.Module):
    """Shared shell: torch-named parameters, initialisation and input checks."""

    gates: ClassVar[int]
    num_states: ClassVar[int] = 1
    # What every call runs; the layers record theirs per call under the same names.
    last_dispatch: ClassVar[Dispatch] = Dispatch(
        "loop", "a cell runs one step of rnnkit.ops' *_cell under autograd (the loop backend's)"
    )

    @property
    def backend_used(self) -> Backend:
        """``"loop"``: what every call runs (``last_dispatch.backend``)."""
        return self.last_dispatch.backend

    @property
    def backend_reason(self) -> str:
        """Why: ``last_dispatch.reason``."""
        return self.last_dispatch.reason

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        self.input_size = check_size(name, "input_size", input_size)
        self.hidden_size = check_size(name, "hidden_size", hidden_size)
        self.bias = bool(bias)
        factory: dict[str, Any] = {"device": device, "dtype": dtype}
        G = self.gates * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(G, input_size, **factory))
        self.weight_hh = nn.Parameter(torch.empty(G, hidden_size, **factory))
        self.bias_ih = nn.Parameter(torch.empty(G, **factory)) if bias else None
        self.bias_hh = nn.Parameter(torch.empty(G, **factory)) if bias else None
        self._add_extra_parameters(factory)
        self.reset_parameters()

    def _add_extra_parameters(self, factory: dict[str, Any]) -> None:
        """Parameters a variant adds beside torch's (the peephole weights)."""

    def reset_parameters(self) -> None:
        """torch's initialisation: every parameter uniform in ±1/√hidden_size."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            nn.init.uniform_(weight, -bound, bound)

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        return text + ("" if self.bias else ", bias=False") + self._variant_repr()

    def _variant_repr(self) -> str:
        return ""

    def _prepare(self, input: Tensor, hx: Any) -> tuple[Tensor, tuple[Tensor, ...], bool]:
        """Check shapes; return (input (B, I), state tuple of (B, H), whether unbatched)."""
        name = type(self).__name__
        if not isinstance(input, Tensor) or input.dim() not in (1, 2):
            shape = tuple(input.shape) if isinstance(input, Tensor) else type(input).__name__
            raise ValueError(f"{name}: input must be a 1-D (unbatched) or 2-D tensor, got {shape}")
        if input.shape[-1] != self.input_size:
            raise ValueError(
                f"{name}: input.size(-1) must be input_size={self.input_size}, "
                f"got {input.shape[-1]}"
            )
        unbatched = input.dim() == 1
        if unbatched:
            input = input.unsqueeze(0)
        shape = (input.shape[0], self.hidden_size)
        if hx is None:
            return input, (input.new_zeros(shape),) * self.num_states, unbatched
        parts = (hx,) if isinstance(hx, Tensor) else tuple(hx)
        if len(parts) != self.num_states or not all(isinstance(p, Tensor) for p in parts):
            expected = "a tensor h" if self.num_states == 1 else "a tuple (h, c)"
            raise ValueError(f"{name}: hx must be {expected}, got {type(hx).__name__}")
        want = shape[1:] if unbatched else shape
        for label, part in zip(("h", "c"), parts, strict=False):
            if tuple(part.shape) != want:
                raise ValueError(
                    f"{name}: hx {label} must have shape {want}, got {tuple(part.shape)}"
                )
        return input, tuple(p.unsqueeze(0) for p in parts) if unbatched else parts, unbatched


class RNNCell(_Cell):
    """One Elman step: h' = f(W_ih x + b_ih + W_hh h + b_hh), f = tanh or relu.

    Inputs: ``input`` (B, I) or (I,), ``hx`` (B, H) or None. Output: h' (B, H).

    >>> RNNCell(4, 6)(torch.randn(3, 4)).shape
    torch.Size([3, 6])
    """

    gates = 1

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(
                f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}"
            )
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, device=device, dtype=dtype)

    def _variant_repr(self) -> str:
        return f", nonlinearity={self.nonlinearity!r}" if self.nonlinearity != "tanh" else ""

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, (h,), unbatched = self._prepare(input, hx)
        h = rnn_cell(
            x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh,
            nonlinearity=self.nonlinearity,
        )  # fmt: skip
        return h.squeeze(0) if unbatched else h


class LSTMCell(_Cell):
    """One LSTM step, plain or with peepholes (equations in :class:`rnnkit.nn.LSTM`).

    Inputs: ``input`` (B, I) or (I,), ``hx`` = (h, c) each (B, H), or None.
    Output: (h', c') each (B, H). ``weight_ch`` (3H,) exists with ``peephole=True``.

    >>> h, c = LSTMCell(4, 6, peephole=True)(torch.randn(3, 4))
    >>> h.shape
    torch.Size([3, 6])
    """

    gates = 4
    num_states = 2

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        *,
        peephole: bool = False,
        forget_bias: float = 1.0,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        self.peephole = bool(peephole)
        self.forget_bias = check_finite("LSTMCell", "forget_bias", forget_bias)
        super().__init__(input_size, hidden_size, bias, device=device, dtype=dtype)

    def _add_extra_parameters(self, factory: dict[str, Any]) -> None:
        self.weight_ch = (
            nn.Parameter(torch.empty(3 * self.hidden_size, **factory)) if self.peephole else None
        )

    def _variant_repr(self) -> str:
        return ", peephole=True" if self.peephole else ""

    def reset_parameters(self) -> None:
        """torch's uniform initialisation, then the forget-gate bias (on b_ih; b_hh's is 0)."""
        super().reset_parameters()
        if self.bias_ih is not None and self.bias_hh is not None:
            H = self.hidden_size
            with torch.no_grad():
                self.bias_ih[H : 2 * H] = self.forget_bias
                self.bias_hh[H : 2 * H] = 0.0

    def forward(
        self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None
    ) -> tuple[Tensor, Tensor]:
        x, (h, c), unbatched = self._prepare(input, hx)
        h, c = lstm_cell(
            x, h, c, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh, self.weight_ch
        )
        return (h.squeeze(0), c.squeeze(0)) if unbatched else (h, c)


class GRUCell(_Cell):
    """One GRU step, reset gate after (torch) or before (Cho et al.) the recurrent product.

    Inputs: ``input`` (B, I) or (I,), ``hx`` (B, H) or None. Output: h' (B, H).

    >>> GRUCell(4, 6, reset_after=False)(torch.randn(3, 4)).shape
    torch.Size([3, 6])
    """

    gates = 3

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        *,
        reset_after: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        self.reset_after = bool(reset_after)
        super().__init__(input_size, hidden_size, bias, device=device, dtype=dtype)

    def _variant_repr(self) -> str:
        return "" if self.reset_after else ", reset_after=False"

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, (h,), unbatched = self._prepare(input, hx)
        h = gru_cell(
            x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh,
            reset_after=self.reset_after,
        )  # fmt: skip
        return h.squeeze(0) if unbatched else h
