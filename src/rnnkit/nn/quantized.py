"""int8 inference twins of rnnkit's LSTM and GRU layers, for the CPU.

Weights are stored as int8 and activations quantised on the fly at every matrix product
(dynamic quantisation), through torch's int8 recurrent kernels (fbgemm / x86 backend). Those
kernels exist for torch's own configurations only: the plain LSTM and the reset-after GRU. torch
marks ``torch.ao.quantization`` deprecated in favour of torchao, which has no recurrent layers;
its warnings are silenced here and the tests pin the behaviour.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnkit.nn.layers import GRU, LSTM, RNN


def _torch_twin(layer: RNN | LSTM | GRU) -> nn.LSTM | nn.GRU:
    """torch's float layer with ``layer``'s weights (strict load)."""
    name = type(layer).__name__
    missing = layer._missing_in_torch()
    if missing is None and isinstance(layer, LSTM) and layer.proj_size:
        missing = f"proj_size={layer.proj_size}"  # torch's int8 LSTM has no projection
    if isinstance(layer, RNN) or missing is not None:
        what = "the Elman RNN" if isinstance(layer, RNN) else missing
        raise ValueError(
            f"quantize: {name} with {what} has no int8 kernel (torch's int8 recurrent kernels "
            "cover the plain LSTM and the reset-after GRU)"
        )
    twin_type = nn.LSTM if isinstance(layer, LSTM) else nn.GRU
    twin = twin_type(
        layer.input_size, layer.hidden_size, layer.num_layers, bias=layer.bias,
        batch_first=layer.batch_first, bidirectional=layer.bidirectional,
    )  # fmt: skip
    twin.load_state_dict(layer.state_dict())
    return twin.eval()


class Int8Recurrent(nn.Module):
    """An inference-only int8 copy of a plain LSTM or reset-after GRU layer.

    Called like the layer: ``(input (B, T, I) or (T, B, I), hx=None, *, lengths=None) ->
    (output, final state)``; padded positions of the output are zero.
    """

    def __init__(self, layer: RNN | LSTM | GRU) -> None:
        super().__init__()
        twin = _torch_twin(layer)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.inner = torch.ao.quantization.quantize_dynamic(
                nn.Sequential(twin), {type(twin)}, dtype=torch.qint8
            )[0]
        self.batch_first = layer.batch_first
        # What reports print as the layer's backend: every call runs the same int8 kernel (the
        # float layers say per call what they ran, in ``last_dispatch``: backend and reason).
        self.backend_used = "int8"
        self.backend_reason = (
            f"int8: torch's dynamically quantised {type(twin).__name__} kernel "
            f"({torch.backends.quantized.engine})"
        )
        self.eval()

    @torch.no_grad()
    def forward(
        self, input: Tensor, hx: Any = None, *, lengths: Tensor | None = None
    ) -> tuple[Tensor, Any]:
        if lengths is None:
            return self.inner(input, hx)  # type: ignore[no-any-return]
        packed = pack_padded_sequence(
            input, torch.as_tensor(lengths).cpu(), self.batch_first, enforce_sorted=False
        )
        out, state = self.inner(packed, hx)
        steps = input.shape[1] if self.batch_first else input.shape[0]
        output, _ = pad_packed_sequence(out, self.batch_first, total_length=steps)
        return output, state


def int8_linear(linear: nn.Linear) -> nn.Module:
    """An int8 (dynamically quantised) copy of a Linear layer."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quantized: nn.Module = torch.ao.quantization.quantize_dynamic(
            nn.Sequential(linear), {nn.Linear}, dtype=torch.qint8
        )[0]
    return quantized
