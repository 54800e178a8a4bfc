"""Multi-layer, optionally bidirectional recurrent layers: ``RNN``, ``LSTM``, ``GRU``.

Drop-in for ``torch.nn.RNN/LSTM/GRU``: the same parameter names, shapes, gate order, inputs and
outputs, so a torch state dict loads strictly into the matching plain layer. On top of torch they
offer the variants torch has no kernel for (peephole LSTM, reset-before GRU), ``lengths=`` for
padded batches, and a choice of backend:

- ``native``: torch's own kernels (cuDNN on GPU, ATen/oneDNN on CPU);
- ``fused``: rnnkit's whole-sequence ops with hand-written BPTT (:mod:`rnnkit.ops`);
- ``loop``: a plain per-step autograd loop, the readable twin;
- ``auto`` (default): ``native`` where torch has the configuration, else ``fused``; training on
  the CPU, a GRU runs ``fused``, and so does an LSTM on packed input (``lengths=`` or a
  ``PackedSequence``): faster there than torch's kernels.

What runs is decided at each forward call, in one place (``_RecurrentLayer._dispatch``), and
recorded per call: ``layer.last_dispatch`` (a :class:`~rnnkit.nn.Dispatch`: ``backend``,
``reason``) is what the last call ran and why, and ``layer.backend_used`` and
``layer.backend_reason`` are its two fields (they used to be fixed at construction; before any
call they still say what the layer runs for inference). ``layer.last_training_dispatch`` is what
the last call that recorded gradients ran, None until one did: with ``auto`` a GRU trains on the
CPU with ``fused`` while its evaluation, under ``torch.no_grad()``, runs ``native``.

Two regularisers of AWD-LSTM (Merity et al. 2018) are options of every layer, both off in eval
mode except zoneout's expectation (the others are in :mod:`rnnkit.nn.regularization`):

- ``weight_drop=p``: DropConnect on the recurrent weights (Wan et al. 2013): each forward call in
  training draws one mask per ``weight_hh_l{k}[_reverse]`` (``F.dropout(w_hh, p)``, in parameter
  order), used at every step and for the whole batch, on every backend; gradients reach the
  parameter, which is never changed, and the parameter names stay torch's;
- ``zoneout=p`` (Krueger et al. 2017): in training each unit of h (and of the LSTM's c) keeps its
  previous value with probability p at each step, ``h_t = m ⊙ h_{t-1} + (1 − m) ⊙ h̃_t``,
  m ~ Bernoulli(p); in eval mode ``h_t = p·h_{t-1} + (1 − p)·h̃_t``. The layer draws m for every
  packed row and state (layer by layer, direction by direction, h before c), so ``fused`` and
  ``loop`` given the same seed compute the same thing; torch's kernel has no zoneout, so
  ``native`` is refused and ``auto`` runs ``fused`` (``loop`` for an LSTM with ``proj_size``,
  which the fused op does not zone).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, cast

import torch
import torch.nn.functional as F
from torch import _VF, Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from rnnkit.nn._checks import (
    check_backend,
    check_dropout,
    check_finite,
    check_proj_size,
    check_size,
)
from rnnkit.nn._dispatch import Backend, Dispatch
from rnnkit.nn.regularization import check_rate
from rnnkit.ops import (
    gru_fused,
    gru_loop,
    lstm_fused,
    lstm_loop,
    reverse_index,
    rnn_fused,
    rnn_loop,
)
from rnnkit.ops._zoneout import keep_weights
from rnnkit.ops.rnn import NONLINEARITIES

SequenceOp = Callable[..., Any]  # rnnkit.ops' *_fused or *_loop
State = tuple[Tensor, ...]  # (h,) or (h, c), each (L·D, B, H); h (L·D, B, P) with a projection
Weights = tuple[Tensor, Tensor, Tensor | None, Tensor | None]  # w_ih, w_hh, b_ih, b_hh
CallWeights = dict[str, Tensor]  # one call's torch-named weights by name, in torch's order


class _RecurrentLayer(nn.Module):
    """Shared shell: parameters, input checks, packing, stacking, directions and backends.

    Subclasses set ``gates`` and implement :meth:`_run_direction` (one layer, one direction,
    packed rows) and :meth:`_run_native` (the whole stack through torch's kernel).

    Every forward call (dense, ``lengths=``, ``PackedSequence``, unbatched) asks
    :meth:`_dispatch` once what runs, runs that, and records it in ``last_dispatch`` (and, when
    gradients were recorded, in ``last_training_dispatch``); ``backend_used`` and
    ``backend_reason`` read ``last_dispatch``.
    """

    gates: ClassVar[int]
    num_states: ClassVar[int] = 1

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        *,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        backend: str = "auto",
        weight_drop: float = 0.0,
        zoneout: float = 0.0,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        self.weight_drop = check_rate(name, "weight_drop", weight_drop)
        self.zoneout = check_rate(name, "zoneout", zoneout)
        self.input_size = check_size(name, "input_size", input_size)
        self.hidden_size = check_size(name, "hidden_size", hidden_size)
        self.num_layers = check_size(name, "num_layers", num_layers)
        self.dropout = check_dropout(name, dropout)
        if self.dropout > 0 and num_layers == 1:
            warnings.warn(
                f"{name}: dropout={dropout} applies between layers and does nothing with "
                "num_layers=1",
                stacklevel=2,
            )
        self.bias = bool(bias)
        self.batch_first = bool(batch_first)
        self.bidirectional = bool(bidirectional)
        factory: dict[str, Any] = {"device": device, "dtype": dtype}
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else self._out_size * self.num_directions
            for suffix in self._suffixes():
                names = self._weight_names(layer, suffix)
                shapes = self._weight_shapes(layer_input)
                for param_name, shape in zip(names, shapes, strict=True):
                    self.register_parameter(param_name, nn.Parameter(torch.empty(shape, **factory)))
                self._add_extra_parameters(layer, suffix, factory)
        self._requested_backend = self._checked_backend(backend)
        self.last_dispatch: Dispatch = self._dispatch(None, packed=False)
        self.last_training_dispatch: Dispatch | None = None
        self.reset_parameters()

    def __setstate__(self, state: dict[str, Any]) -> None:
        # A layer pickled before ``last_dispatch`` existed (it kept backend_used itself).
        super().__setstate__(state)
        self.__dict__.setdefault("weight_drop", 0.0)  # pickled before the regularisers
        self.__dict__.setdefault("zoneout", 0.0)
        if "last_dispatch" not in self.__dict__:
            self.__dict__.pop("backend_used", None)
            self.__dict__.pop("backend_reason", None)
            self.last_dispatch = self._dispatch(None, packed=False)
            self.last_training_dispatch = None

    # -- configuration -------------------------------------------------------------------------

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def backend(self) -> str:
        """The backend asked for; setting it (checked against the configuration) resets
        ``last_dispatch`` to what the new setting runs for inference."""
        return self._requested_backend

    @backend.setter
    def backend(self, value: str) -> None:
        self._requested_backend = self._checked_backend(value)
        self.last_dispatch = self._dispatch(None, packed=False)
        self.last_training_dispatch = None

    def _checked_backend(self, value: object) -> str:
        """``value`` checked against the configuration: ``native`` where torch has no kernel or
        with zoneout, and ``fused`` with zoneout and a projection, are refused."""
        name = type(self).__name__
        backend = check_backend(name, value, self._missing_in_torch())
        if self.zoneout and backend == "native":
            raise ValueError(
                f"{name}: zoneout={self.zoneout} is not in torch's kernel (backend='native'); "
                "use backend='fused', 'loop' or 'auto', or zoneout=0"
            )
        if self.zoneout and backend == "fused" and not self._fused_zones:
            raise ValueError(
                f"{name}: zoneout={self.zoneout} with proj_size runs in the per-step path only; "
                "use backend='loop' or 'auto', or zoneout=0"
            )
        return backend

    @property
    def _fused_zones(self) -> bool:
        """Whether the fused op applies zoneout to this configuration (all but projections)."""
        return not getattr(self, "proj_size", 0)

    def _keep_weights(self, rows: int, like: Tensor) -> tuple[Tensor, ...] | None:
        """Zoneout's keep weights for one layer and direction, (rows, width) per state, or None
        without zoneout (see :mod:`rnnkit.ops._zoneout`)."""
        if not self.zoneout:
            return None
        return tuple(
            keep_weights(self.zoneout, rows, width, training=self.training, like=like)
            for width in self._state_sizes()
        )

    @property
    def backend_used(self) -> Backend:
        """The backend the last forward call ran (before any call: what it runs for inference):
        ``last_dispatch.backend``."""
        return self.last_dispatch.backend

    @property
    def backend_reason(self) -> str:
        """Why the last forward call ran ``backend_used``: ``last_dispatch.reason``."""
        return self.last_dispatch.reason

    @property
    def _out_size(self) -> int:
        """Width of h: each direction's output, the recurrent input, h_0 and h_n
        (``hidden_size``; the LSTM's ``proj_size`` with a projection)."""
        return self.hidden_size

    def _state_sizes(self) -> tuple[int, ...]:
        """Width of each state, as in hx: h, then the LSTM's c (always ``hidden_size``)."""
        return (self._out_size,) + (self.hidden_size,) * (self.num_states - 1)

    def _suffixes(self) -> tuple[str, ...]:
        return ("", "_reverse") if self.bidirectional else ("",)

    def _weight_names(self, layer: int, suffix: str) -> list[str]:
        """torch's parameter names of one layer and direction, in torch's order."""
        names = [f"weight_ih_l{layer}{suffix}", f"weight_hh_l{layer}{suffix}"]
        if self.bias:
            names += [f"bias_ih_l{layer}{suffix}", f"bias_hh_l{layer}{suffix}"]
        return names

    def _weight_shapes(self, layer_input: int) -> list[tuple[int, ...]]:
        """The shapes of :meth:`_weight_names`' parameters, for a layer taking ``layer_input``."""
        G = self.gates * self.hidden_size
        shapes: list[tuple[int, ...]] = [(G, layer_input), (G, self._out_size)]
        if self.bias:
            shapes += [(G,), (G,)]
        return shapes

    def _call_weights(self) -> CallWeights:
        """This forward call's torch-named weights: the parameters, except that in training with
        ``weight_drop`` each ``weight_hh_l{k}[_reverse]`` is one fresh DropConnect draw
        ``F.dropout(w_hh, weight_drop)``, made here, once per call, in parameter order."""
        weights: CallWeights = {}
        for layer in range(self.num_layers):
            for suffix in self._suffixes():
                for name in self._weight_names(layer, suffix):
                    weights[name] = getattr(self, name)
                if self.weight_drop and self.training:
                    hh = f"weight_hh_l{layer}{suffix}"
                    weights[hh] = F.dropout(weights[hh], self.weight_drop, training=True)
        return weights

    def _direction_weights(self, weights: CallWeights, layer: int, suffix: str) -> Weights:
        """(w_ih, w_hh, b_ih, b_hh) of one layer and direction from this call's ``weights``,
        biases None without bias."""
        w_ih, w_hh = weights[f"weight_ih_l{layer}{suffix}"], weights[f"weight_hh_l{layer}{suffix}"]
        if not self.bias:
            return w_ih, w_hh, None, None
        return (
            w_ih,
            w_hh,
            weights[f"bias_ih_l{layer}{suffix}"],
            weights[f"bias_hh_l{layer}{suffix}"],
        )

    def _flat_weights(self, weights: CallWeights) -> list[Tensor]:
        """This call's torch-named weights in torch's order, as its kernels take them."""
        return [
            weights[n]
            for layer in range(self.num_layers)
            for suffix in self._suffixes()
            for n in self._weight_names(layer, suffix)
        ]

    def _add_extra_parameters(self, layer: int, suffix: str, factory: dict[str, Any]) -> None:
        """Parameters a variant adds beside torch's (the peephole weights)."""

    # Where ``auto`` trains on the CPU with the fused op rather than torch's kernel (see
    # _dispatch): None (never), "packed" (on packed input) or "always".
    _fused_trains_faster_on_cpu: str | None = None

    def _missing_in_torch(self) -> str | None:
        """The option of this configuration torch has no kernel for, or None."""
        return None

    def reset_parameters(self) -> None:
        """torch's initialisation: every parameter uniform in ±1/√hidden_size."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            nn.init.uniform_(weight, -bound, bound)

    def flatten_parameters(self) -> None:
        """Accepted for drop-in compatibility with torch; the weights are used where they are."""

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        for option, default in (("bias", True), ("batch_first", False), ("bidirectional", False)):
            if getattr(self, option) != default:
                text += f", {option}={getattr(self, option)}"
        for option in ("dropout", "weight_drop", "zoneout"):
            if getattr(self, option):
                text += f", {option}={getattr(self, option)}"
        return text + self._variant_repr() + f", backend={self.backend_used}"

    def _variant_repr(self) -> str:
        return ""

    # -- forward -------------------------------------------------------------------------------

    def _run_direction(
        self,
        op: SequenceOp,
        x: Tensor,
        state: State,
        batch_sizes: Sequence[int],
        weights: CallWeights,
        layer: int,
        suffix: str,
    ) -> tuple[Tensor, State]:
        """One layer, one direction over packed rows through ``op`` (:meth:`_sequence_op`) with
        this call's ``weights``: x (N, in) -> (out (N, H), final state)."""
        raise NotImplementedError

    def _sequence_op(self, backend: Backend) -> SequenceOp:
        """rnnkit.ops' whole-sequence function of this family for ``backend``, fused or loop
        (:meth:`_fused_or_loop`)."""
        raise NotImplementedError

    @staticmethod
    def _fused_or_loop(backend: Backend, fused: SequenceOp, loop: SequenceOp) -> SequenceOp:
        """``fused`` or ``loop`` as ``backend`` says. ``native`` runs torch's kernel instead."""
        if backend == "native":
            raise ValueError("the native backend runs torch's kernel, not a rnnkit.ops function")
        return fused if backend == "fused" else loop

    def _run_native(
        self, x: Tensor, batch_sizes: Tensor | None, state: State, weights: CallWeights
    ) -> tuple[Tensor, State]:
        """The whole stack through torch's kernel with this call's ``weights`` (dense x if
        batch_sizes is None, else packed)."""
        raise NotImplementedError

    def forward(
        self,
        input: Tensor | PackedSequence,
        hx: Any = None,
        *,
        lengths: Tensor | Sequence[int] | None = None,
    ) -> tuple[Any, Any]:
        """See the class docstring for inputs and outputs."""
        name = type(self).__name__
        if isinstance(input, PackedSequence):
            if lengths is not None:
                raise ValueError(f"{name}: lengths must be None when input is a PackedSequence")
            return self._forward_packed(input, hx)
        if not isinstance(input, Tensor) or input.dim() not in (2, 3):
            shape = tuple(input.shape) if isinstance(input, Tensor) else type(input).__name__
            raise ValueError(
                f"{name}: input must be a 2-D (unbatched) or 3-D tensor or a PackedSequence, "
                f"got {shape}"
            )
        if input.shape[-1] != self.input_size:
            raise ValueError(
                f"{name}: input.size(-1) must be input_size={self.input_size}, "
                f"got {input.shape[-1]} (input shape {tuple(input.shape)})"
            )
        self._check_dtype("input", input)
        unbatched = input.dim() == 2
        if unbatched:
            if lengths is not None:
                raise ValueError(f"{name}: lengths needs a batched (3-D) input")
            input = input.unsqueeze(0 if self.batch_first else 1)
        steps, batch = (input.shape[1], input.shape[0]) if self.batch_first else input.shape[:2]
        if steps == 0:
            raise ValueError(f"{name}: input has no time steps (shape {tuple(input.shape)})")
        state = self._initial_state(hx, batch, unbatched, input)
        if lengths is not None:
            packed = pack_padded_sequence(
                input, self._check_lengths(lengths, batch, steps), self.batch_first,
                enforce_sorted=False,
            )  # fmt: skip
            packed_out, final = self._run_packed(packed, state)
            output, _ = pad_packed_sequence(packed_out, self.batch_first, total_length=steps)
            return output, self._public_state(final)
        dispatch, weights = self._dispatch(input, packed=False), self._call_weights()
        if dispatch.backend == "native":
            output, final = self._run_native(input, None, state, weights)
        else:
            x = input.transpose(0, 1) if self.batch_first else input  # (T, B, I)
            rows, final = self._run_stack(
                dispatch.backend, x.reshape(steps * batch, self.input_size), [batch] * steps,
                state, weights,
            )  # fmt: skip
            output = rows.view(steps, batch, self.num_directions * self._out_size)
            output = output.transpose(0, 1) if self.batch_first else output
        self._record(dispatch)
        if unbatched:
            output = output.squeeze(0 if self.batch_first else 1)
            final = tuple(s.squeeze(1) for s in final)
        return output, self._public_state(final)

    def _check_dtype(self, what: str, tensor: Tensor) -> None:
        """One clear error when ``tensor`` and the weights have different dtypes."""
        weights = self.weight_ih_l0
        if tensor.dtype != weights.dtype:
            raise ValueError(
                f"{type(self).__name__}: {what} is {tensor.dtype} but the layer's weights are "
                f"{weights.dtype}; convert one (layer.to({tensor.dtype}) or "
                f"{what}.to({weights.dtype}))"
            )

    def _forward_packed(self, packed: PackedSequence, hx: Any) -> tuple[PackedSequence, Any]:
        self._check_dtype("input", packed.data)
        state = self._initial_state(hx, int(packed.batch_sizes[0]), False, packed.data)
        out, final = self._run_packed(packed, state)
        return out, self._public_state(final)

    def _run_packed(self, packed: PackedSequence, state: State) -> tuple[PackedSequence, State]:
        """A PackedSequence through the stack; ``state`` and the final state in batch order."""
        data, batch_sizes, sorted_indices, unsorted_indices = packed
        if data.dim() != 2 or data.shape[-1] != self.input_size:
            raise ValueError(
                f"{type(self).__name__}: packed input data must be "
                f"(N, input_size={self.input_size}), got {tuple(data.shape)}"
            )
        if sorted_indices is not None:
            state = tuple(s.index_select(1, sorted_indices) for s in state)
        dispatch, weights = self._dispatch(data, packed=True), self._call_weights()
        if dispatch.backend == "native":
            rows, final = self._run_native(data, batch_sizes, state, weights)
        else:
            rows, final = self._run_stack(
                dispatch.backend, data, batch_sizes.tolist(), state, weights
            )
        self._record(dispatch)
        if unsorted_indices is not None:
            final = tuple(s.index_select(1, unsorted_indices) for s in final)
        return PackedSequence(rows, batch_sizes, sorted_indices, unsorted_indices), final

    def _dispatch(self, data: Tensor | None, *, packed: bool) -> Dispatch:
        """What runs this call's ``data`` (packed rows if ``packed``) and why: the one place the
        backend is decided. ``data`` None: no call yet, what ``auto`` runs for inference.

        An explicit backend runs as asked (the constructor refused ``native`` where torch has no
        kernel or with zoneout, and ``fused`` with zoneout and a projection). With zoneout ``auto``
        runs ``fused`` (``loop`` with a projection). Otherwise it runs ``fused`` where torch has no
        kernel, else torch's, except that it trains on the CPU (float32/float64, gradients recorded)
        with the fused op where that is faster: the GRU on any input (1.2–5.2× faster than torch's
        CPU GRU, ``benchmarks/results/cpu-train-vs-torch-2026-11-30/``), the LSTM on packed input
        only (torch's packed CPU LSTM trains 1.6–4.7× slower, ``cpu-packed-2026-11-30.md``; its
        dense one is as fast or faster from H = 256). For inference torch's kernels stay: the fused
        LSTM runs dense input at 0.44–0.77 of their speed, and elsewhere the two are within
        0.97–1.3× of each other; the Elman RNN's step is a single op either way."""
        requested = self._requested_backend
        if requested != "auto":
            return Dispatch(cast(Backend, requested), f"requested backend={requested!r}")
        if self.zoneout and not self._fused_zones:
            return Dispatch("loop", "auto: zoneout with proj_size runs in the per-step path")
        if self.zoneout:
            return Dispatch("fused", "auto: torch's kernel has no zoneout; rnnkit's fused op has")
        missing = self._missing_in_torch()
        if missing is not None:
            return Dispatch("fused", f"auto: torch has no kernel for {missing}")
        native = "auto: torch has a kernel for this configuration"
        where = self._fused_trains_faster_on_cpu
        if data is None:
            return Dispatch("native", native + (
                " (for inference; training on the CPU, a GRU runs fused, and an LSTM on packed "
                "input: faster there than torch's kernels)"
            ))  # fmt: skip
        if where is None:
            return Dispatch("native", f"{native}; the fused {type(self).__name__} is no faster")
        if not torch.is_grad_enabled():
            return Dispatch("native", f"{native} and no gradient is recorded (inference)")
        if data.device.type != "cpu":
            return Dispatch("native", f"{native} (training on {data.device.type})")
        if data.dtype not in (torch.float32, torch.float64):
            return Dispatch("native", f"{native} (training in {data.dtype})")
        if where == "packed" and not packed:
            return Dispatch(
                "native",
                f"{native}; on dense input torch's CPU {type(self).__name__} trains as fast as "
                "the fused op or faster",
            )
        what = type(self).__name__ + (" on packed input" if where == "packed" else "")
        return Dispatch(
            "fused",
            f"auto: training on the CPU, rnnkit's fused {what} is faster than torch's kernel",
        )

    def _record(self, dispatch: Dispatch) -> None:
        """Keep what a call ran: ``last_dispatch``, and ``last_training_dispatch`` if it
        recorded gradients."""
        self.last_dispatch = dispatch
        if torch.is_grad_enabled():
            self.last_training_dispatch = dispatch

    def _run_stack(
        self,
        backend: Backend,
        x: Tensor,
        batch_sizes: list[int],
        state: State,
        weights: CallWeights,
    ) -> tuple[Tensor, State]:
        """All layers and directions over packed rows x (N, I) through ``backend``'s op (fused
        or loop) with this call's ``weights``: (out (N, D·H), final state)."""
        op = self._sequence_op(backend)
        reverse = reverse_index(batch_sizes, x.device) if self.bidirectional else None
        finals: list[list[Tensor]] = [[] for _ in range(self.num_states)]
        for layer in range(self.num_layers):
            outs = []
            for direction, suffix in enumerate(self._suffixes()):
                index = layer * self.num_directions + direction
                start = tuple(s[index] for s in state)
                if suffix and reverse is not None:
                    out, end = self._run_direction(
                        op, x[reverse], start, batch_sizes, weights, layer, suffix
                    )
                    out = out[reverse]
                else:
                    out, end = self._run_direction(
                        op, x, start, batch_sizes, weights, layer, suffix
                    )
                outs.append(out)
                for collected, s in zip(finals, end, strict=True):
                    collected.append(s)
            x = torch.cat(outs, dim=1) if len(outs) > 1 else outs[0]
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, training=True)
        return x, tuple(torch.stack(s) for s in finals)

    # -- state and lengths ---------------------------------------------------------------------

    def _initial_state(self, hx: Any, batch: int, unbatched: bool, like: Tensor) -> State:
        """hx as a tuple of (L·D, B, ·) tensors (widths :meth:`_state_sizes`), zeros where None,
        shapes checked."""
        name = type(self).__name__
        stacked = self.num_layers * self.num_directions
        shapes = [(stacked, batch, size) for size in self._state_sizes()]
        if hx is None:
            zeros = like.new_zeros(shapes[0])
            return tuple(zeros if s == shapes[0] else like.new_zeros(s) for s in shapes)
        parts = (hx,) if isinstance(hx, Tensor) else tuple(hx)
        if len(parts) != self.num_states or not all(isinstance(p, Tensor) for p in parts):
            expected = "a tensor h_0" if self.num_states == 1 else "a tuple (h_0, c_0)"
            raise ValueError(f"{name}: hx must be {expected}, got {type(hx).__name__}")
        labels = ("h_0", "c_0")
        for label, part, shape in zip(labels, parts, shapes, strict=False):
            self._check_dtype(f"hx {label}", part)
            want = shape[::2] if unbatched else shape
            if tuple(part.shape) != want:
                raise ValueError(
                    f"{name}: hx {label} must have shape {want}, got {tuple(part.shape)}"
                    + self._state_shape_note()
                )
        return tuple(p.unsqueeze(1) for p in parts) if unbatched else parts

    def _state_shape_note(self) -> str:
        """What a wrong hx shape's message adds (the LSTM's projection: why h_0 and c_0 differ)."""
        return ""

    def _public_state(self, state: State) -> Any:
        return state[0] if self.num_states == 1 else state

    def _check_lengths(self, lengths: Tensor | Sequence[int], batch: int, steps: int) -> Tensor:
        name = type(self).__name__
        values = torch.as_tensor(lengths).detach().to("cpu", torch.int64)
        if values.dim() != 1 or values.numel() != batch:
            raise ValueError(
                f"{name}: lengths must be 1-D with one entry per sequence (batch={batch}), "
                f"got shape {tuple(values.shape)}"
            )
        bad = ((values < 1) | (values > steps)).nonzero()
        if bad.numel():
            position = int(bad[0, 0])
            raise ValueError(
                f"{name}: lengths must be in [1, {steps}] (the padded length), "
                f"got {int(values[position])} at position {position}"
            )
        return values


class RNN(_RecurrentLayer):
    r"""Elman RNN: :math:`h_t = f(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})`, f = tanh or relu.

    Args:
        input_size, hidden_size, num_layers: as in ``torch.nn.RNN``.
        nonlinearity: ``"tanh"`` (default) or ``"relu"``.
        bias, batch_first, dropout, bidirectional: as in ``torch.nn.RNN``, in its positional
            order (``RNN(10, 20, 2, "tanh", True, True)`` reads as torch reads it).
        backend: ``"auto"`` (default), ``"native"``, ``"fused"`` or ``"loop"``.
        weight_drop: DropConnect on ``weight_hh_l{k}`` in training (AWD-LSTM's WeightDrop), on
            every backend; zoneout: chance a unit keeps its previous state (fused or loop). Both
            in [0, 1), 0 (default) = off; see the module docstring.

    Inputs: ``input`` (T, B, I) — (B, T, I) with ``batch_first`` — or (T, I) unbatched, or a
    ``PackedSequence``; ``hx`` (L·D, B, H) or None; ``lengths`` (B,) for padded input.
    Outputs: ``output`` (T, B, D·H) (zeros past each length), ``h_n`` (L·D, B, H).
    Parameters: ``weight_ih_l{k}`` (H, I or D·H), ``weight_hh_l{k}`` (H, H), ``bias_ih_l{k}``,
    ``bias_hh_l{k}`` (H,), with ``_reverse`` for the backward direction.
    After each call ``last_dispatch`` (``backend_used``, ``backend_reason``) says which backend
    that call ran and why; ``last_training_dispatch`` the same for the last call with gradients.

    >>> rnn = RNN(10, 20, num_layers=2)
    >>> output, h_n = rnn(torch.randn(5, 3, 10))
    >>> output.shape, h_n.shape
    (torch.Size([5, 3, 20]), torch.Size([2, 3, 20]))
    """

    gates = 1

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        *,
        backend: str = "auto",
        weight_drop: float = 0.0,
        zoneout: float = 0.0,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(
            input_size, hidden_size, num_layers, bias=bias, batch_first=batch_first,
            dropout=dropout, bidirectional=bidirectional, backend=backend,
            weight_drop=weight_drop, zoneout=zoneout, device=device, dtype=dtype,
        )  # fmt: skip

    def _variant_repr(self) -> str:
        return f", nonlinearity={self.nonlinearity!r}" if self.nonlinearity != "tanh" else ""

    def _sequence_op(self, backend: Backend) -> SequenceOp:
        return self._fused_or_loop(backend, rnn_fused, rnn_loop)

    def _run_direction(
        self,
        op: SequenceOp,
        x: Tensor,
        state: State,
        batch_sizes: Sequence[int],
        weights: CallWeights,
        layer: int,
        suffix: str,
    ) -> tuple[Tensor, State]:
        keep = self._keep_weights(x.shape[0], x)
        out, h = op(
            x, state[0], *self._direction_weights(weights, layer, suffix), batch_sizes,
            nonlinearity=self.nonlinearity, zoneout=None if keep is None else keep[0],
        )  # fmt: skip
        return out, (h,)

    def _run_native(
        self, x: Tensor, batch_sizes: Tensor | None, state: State, weights: CallWeights
    ) -> tuple[Tensor, State]:
        kernel = _VF.rnn_tanh if self.nonlinearity == "tanh" else _VF.rnn_relu
        options = (self.bias, self.num_layers, self.dropout, self.training, self.bidirectional)
        if batch_sizes is None:
            out, h = kernel(x, state[0], self._flat_weights(weights), *options, self.batch_first)
        else:
            out, h = kernel(x, batch_sizes, state[0], self._flat_weights(weights), *options)
        return out, (h,)


class LSTM(_RecurrentLayer):
    r"""LSTM, plain, with peepholes (Gers & Schmidhuber 2000), with projections (Sak et al. 2014).

    .. math::
        i = σ(W_{ii} x + b_{ii} + W_{hi} h_{t-1} + b_{hi} + w_{ci} ⊙ c_{t-1}) \\
        f = σ(W_{if} x + b_{if} + W_{hf} h_{t-1} + b_{hf} + w_{cf} ⊙ c_{t-1}) \\
        g = \tanh(W_{ig} x + b_{ig} + W_{hg} h_{t-1} + b_{hg}) \\
        c_t = f ⊙ c_{t-1} + i ⊙ g \\
        o = σ(W_{io} x + b_{io} + W_{ho} h_{t-1} + b_{ho} + w_{co} ⊙ c_t) \\
        h_t = o ⊙ \tanh(c_t) \quad \text{or, with proj\_size}, \quad
            h_t = W_{hr} (o ⊙ \tanh(c_t))

    The w_c· terms exist only with ``peephole=True``, W_hr only with ``proj_size`` > 0.

    Args:
        input_size, hidden_size, num_layers: as in ``torch.nn.LSTM``.
        peephole: add the diagonal peephole weights ``weight_ch_l{k}`` (3H,), order i, f, o.
        forget_bias: the initial forget-gate bias, on the sum ``b_if + b_hf`` (Jozefowicz et
            al. 2015); ``bias_ih``'s forget slice holds it and ``bias_hh``'s is zero.
        bias, batch_first, dropout, bidirectional, proj_size: as in ``torch.nn.LSTM``, in its
            positional order. ``proj_size`` = P in [1, hidden_size) adds ``weight_hr_l{k}``
            (P, H): h_t (the output, the recurrent input, h_0 and h_n) is then P wide and c_t
            stays H wide; 0 (default): no projection. It runs on every backend, with peepholes
            on ``fused`` and ``loop``.
        backend: ``"auto"`` (default: ``native`` for the plain LSTM, ``fused`` with peepholes),
            ``"native"``, ``"fused"`` or ``"loop"``.
        weight_drop: DropConnect on ``weight_hh_l{k}`` in training (AWD-LSTM's WeightDrop), on
            every backend; zoneout: chance a unit keeps its previous state (fused or loop). Both
            in [0, 1), 0 (default) = off; see the module docstring.

    Inputs: ``input`` (T, B, I) — (B, T, I) with ``batch_first`` — or (T, I) unbatched, or a
    ``PackedSequence``; ``hx`` = (h_0, c_0), each (L·D, B, H), or None; ``lengths`` (B,).
    Outputs: ``output`` (T, B, D·H) (zeros past each length), ``(h_n, c_n)`` each (L·D, B, H).
    With ``proj_size`` = P, h_0, h_n and the output are P wide: (L·D, B, P), (T, B, D·P).
    Parameters: torch's ``weight_ih_l{k}`` (4H, ·), ``weight_hh_l{k}`` (4H, H or P),
    ``bias_ih_l{k}``, ``bias_hh_l{k}`` (4H,), gate order i, f, g, o, and ``weight_hr_l{k}``
    (P, H) with a projection; ``_reverse`` for the backward direction; and ``weight_ch_l{k}``
    (3H,) with peepholes.
    After each call ``last_dispatch`` (``backend_used``, ``backend_reason``) says which backend
    that call ran and why; ``last_training_dispatch`` the same for the last call with gradients.

    >>> lstm = LSTM(8, 16, peephole=True)
    >>> lstm.weight_ch_l0.shape, lstm.backend_used
    (torch.Size([48]), 'fused')
    >>> output, (h_n, c_n) = lstm(torch.randn(5, 3, 8))
    >>> output.shape
    torch.Size([5, 3, 16])
    """

    gates = 4
    num_states = 2

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        *,
        peephole: bool = False,
        forget_bias: float = 1.0,
        backend: str = "auto",
        weight_drop: float = 0.0,
        zoneout: float = 0.0,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        self.proj_size = check_proj_size("LSTM", proj_size, hidden_size)
        self.peephole = bool(peephole)
        self.forget_bias = check_finite("LSTM", "forget_bias", forget_bias)
        super().__init__(
            input_size, hidden_size, num_layers, bias=bias, batch_first=batch_first,
            dropout=dropout, bidirectional=bidirectional, backend=backend,
            weight_drop=weight_drop, zoneout=zoneout, device=device, dtype=dtype,
        )  # fmt: skip

    def __setstate__(self, state: dict[str, Any]) -> None:
        state.setdefault("proj_size", 0)  # pickled before projections
        super().__setstate__(state)

    @property
    def _out_size(self) -> int:
        return self.proj_size or self.hidden_size

    def _weight_names(self, layer: int, suffix: str) -> list[str]:
        names = super()._weight_names(layer, suffix)
        return [*names, f"weight_hr_l{layer}{suffix}"] if self.proj_size else names

    def _weight_shapes(self, layer_input: int) -> list[tuple[int, ...]]:
        shapes = super()._weight_shapes(layer_input)
        return [*shapes, (self.proj_size, self.hidden_size)] if self.proj_size else shapes

    def _state_shape_note(self) -> str:
        if not self.proj_size:
            return ""
        return (
            f" (with proj_size={self.proj_size}, h_0 is proj_size wide and c_0 "
            f"hidden_size={self.hidden_size} wide)"
        )

    def _add_extra_parameters(self, layer: int, suffix: str, factory: dict[str, Any]) -> None:
        if self.peephole:
            weight = nn.Parameter(torch.empty(3 * self.hidden_size, **factory))
            self.register_parameter(f"weight_ch_l{layer}{suffix}", weight)

    _fused_trains_faster_on_cpu = "packed"

    def _missing_in_torch(self) -> str | None:
        return "peephole=True" if self.peephole else None

    def _variant_repr(self) -> str:
        text = f", proj_size={self.proj_size}" if self.proj_size else ""
        return text + (", peephole=True" if self.peephole else "")

    def reset_parameters(self) -> None:
        """torch's uniform initialisation, then the forget-gate bias (on b_ih; b_hh's is 0)."""
        super().reset_parameters()
        if self.bias:
            H = self.hidden_size
            with torch.no_grad():
                for layer in range(self.num_layers):
                    for suffix in self._suffixes():
                        getattr(self, f"bias_ih_l{layer}{suffix}")[H : 2 * H] = self.forget_bias
                        getattr(self, f"bias_hh_l{layer}{suffix}")[H : 2 * H] = 0.0

    def _sequence_op(self, backend: Backend) -> SequenceOp:
        return self._fused_or_loop(backend, lstm_fused, lstm_loop)

    def _run_direction(
        self,
        op: SequenceOp,
        x: Tensor,
        state: State,
        batch_sizes: Sequence[int],
        weights: CallWeights,
        layer: int,
        suffix: str,
    ) -> tuple[Tensor, State]:
        w_ch = getattr(self, f"weight_ch_l{layer}{suffix}") if self.peephole else None
        w_hr = weights[f"weight_hr_l{layer}{suffix}"] if self.proj_size else None
        w = self._direction_weights(weights, layer, suffix)
        keep = self._keep_weights(x.shape[0], x)
        out, h, c = op(x, state[0], state[1], *w, w_ch, batch_sizes, w_hr=w_hr, zoneout=keep)
        return out, (h, c)

    def _run_native(
        self, x: Tensor, batch_sizes: Tensor | None, state: State, weights: CallWeights
    ) -> tuple[Tensor, State]:
        options = (self.bias, self.num_layers, self.dropout, self.training, self.bidirectional)
        if batch_sizes is None:
            out, h, c = _VF.lstm(x, state, self._flat_weights(weights), *options, self.batch_first)
        else:
            out, h, c = _VF.lstm(x, batch_sizes, state, self._flat_weights(weights), *options)
        return out, (h, c)


class GRU(_RecurrentLayer):
    r"""GRU with the reset gate after (torch, cuDNN) or before (Cho et al. 2014) the product.

    .. math::
        r = σ(W_{ir} x + b_{ir} + W_{hr} h_{t-1} + b_{hr}) \\
        z = σ(W_{iz} x + b_{iz} + W_{hz} h_{t-1} + b_{hz}) \\
        n = \tanh(W_{in} x + b_{in} + r ⊙ (W_{hn} h_{t-1} + b_{hn}))
            \quad \text{(reset\_after=True)} \\
        n = \tanh(W_{in} x + b_{in} + W_{hn} (r ⊙ h_{t-1}) + b_{hn})
            \quad \text{(reset\_after=False)} \\
        h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}

    The seed's form h_t = (1 − z') h_{t-1} + z' h̃ with (1 − r') ⊙ h_{t-1} is the
    ``reset_after=False`` GRU with z = 1 − z' and r = 1 − r': negate the r and z rows of
    ``weight_ih``, ``weight_hh``, ``bias_ih`` and ``bias_hh`` to map its weights to these.

    Args:
        input_size, hidden_size, num_layers: as in ``torch.nn.GRU``.
        reset_after: True (default, torch's GRU) or False (Keras' old default; no torch kernel).
        bias, batch_first, dropout, bidirectional: as in ``torch.nn.GRU``, in its positional
            order.
        backend: ``"auto"`` (default), ``"native"``, ``"fused"`` or ``"loop"``.
        weight_drop: DropConnect on ``weight_hh_l{k}`` in training (AWD-LSTM's WeightDrop), on
            every backend; zoneout: chance a unit keeps its previous state (fused or loop). Both
            in [0, 1), 0 (default) = off; see the module docstring.

    Inputs: ``input`` (T, B, I) — (B, T, I) with ``batch_first`` — or (T, I) unbatched, or a
    ``PackedSequence``; ``hx`` (L·D, B, H) or None; ``lengths`` (B,) for padded input.
    Outputs: ``output`` (T, B, D·H) (zeros past each length), ``h_n`` (L·D, B, H).
    Parameters: torch's ``weight_ih_l{k}`` (3H, ·), ``weight_hh_l{k}`` (3H, H),
    ``bias_ih_l{k}``, ``bias_hh_l{k}`` (3H,), gate order r, z, n; ``_reverse`` for backward.
    After each call ``last_dispatch`` (``backend_used``, ``backend_reason``) says which backend
    that call ran and why; ``last_training_dispatch`` the same for the last call with gradients.

    >>> gru = GRU(8, 16, reset_after=False, batch_first=True)
    >>> output, h_n = gru(torch.randn(3, 5, 8), lengths=[5, 2, 4])
    >>> output.shape, gru.backend_used
    (torch.Size([3, 5, 16]), 'fused')
    """

    gates = 3

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        *,
        reset_after: bool = True,
        backend: str = "auto",
        weight_drop: float = 0.0,
        zoneout: float = 0.0,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        self.reset_after = bool(reset_after)
        super().__init__(
            input_size, hidden_size, num_layers, bias=bias, batch_first=batch_first,
            dropout=dropout, bidirectional=bidirectional, backend=backend,
            weight_drop=weight_drop, zoneout=zoneout, device=device, dtype=dtype,
        )  # fmt: skip

    _fused_trains_faster_on_cpu = "always"

    def _missing_in_torch(self) -> str | None:
        return None if self.reset_after else "reset_after=False"

    def _variant_repr(self) -> str:
        return "" if self.reset_after else ", reset_after=False"

    def _sequence_op(self, backend: Backend) -> SequenceOp:
        return self._fused_or_loop(backend, gru_fused, gru_loop)

    def _run_direction(
        self,
        op: SequenceOp,
        x: Tensor,
        state: State,
        batch_sizes: Sequence[int],
        weights: CallWeights,
        layer: int,
        suffix: str,
    ) -> tuple[Tensor, State]:
        keep = self._keep_weights(x.shape[0], x)
        out, h = op(
            x, state[0], *self._direction_weights(weights, layer, suffix), batch_sizes,
            reset_after=self.reset_after, zoneout=None if keep is None else keep[0],
        )  # fmt: skip
        return out, (h,)

    def _run_native(
        self, x: Tensor, batch_sizes: Tensor | None, state: State, weights: CallWeights
    ) -> tuple[Tensor, State]:
        options = (self.bias, self.num_layers, self.dropout, self.training, self.bidirectional)
        if batch_sizes is None:
            out, h = _VF.gru(x, state[0], self._flat_weights(weights), *options, self.batch_first)
        else:
            out, h = _VF.gru(x, batch_sizes, state[0], self._flat_weights(weights), *options)
        return out, (h,)
