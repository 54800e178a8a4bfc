"""Shared fixtures for the ops tests.

- every buffer from ``torch.empty``, ``torch.empty_like`` or ``Tensor.new_empty`` is NaN-filled
  (floating dtypes), so a row an op forgets to write poisons its result and fails loudly;
- ``cpu_step_impl``: a test that takes it runs with the C step kernels and with torch's;
- ``fused_problem`` / ``fused_runner``: a fused op by name, run with a chosen step implementation
  (the step-kernel tests compare two);
- ``assert_close(name, ref, got, atol, rtol)``, which names the tensor that differs, and
  ``assert_all_to_scale``, errors measured against each tensor's largest value (bf16 runs);
- problem makers: random inputs for an op over packed sequences, random upstream gradients on
  every output, and what the NumPy reference says the outputs and gradients are.

The helpers are handed out as fixtures (tests/ is not a package, so test modules do not import
each other). A family's test module supplies two adapters: how to call its op (positional inputs
in the order of :attr:`Problem.inputs`, then ``batch_sizes``) and how to call its reference (see
:data:`Reference`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import torch
from numpy.typing import NDArray
from torch import Tensor
from torch.nn.utils.rnn import pack_padded_sequence

import rnnkit.ops.cpu as cpu_kernels
from rnnkit.ops import (
    gru_backward,
    gru_forward,
    lstm_backward,
    lstm_forward,
    rnn_backward,
    rnn_forward,
)
from rnnkit.ops._step_impl import resolve_step_impl

Array = NDArray[np.float64]
# A family's reference, adapted: (inputs, upstream gradients) -> (outputs, gradients), all NumPy,
# time-major; inputs x (T, B, I), h0 [, c0] (B, H), weights, biases (zeros when the op has
# none) [, w_ch or None]; upstream and outputs keyed "out" (T, B, H), "h_n" [, "c_n"] (B, H);
# gradients keyed by input name.
Reference = Callable[[dict[str, Any], dict[str, Array]], tuple[dict[str, Array], dict[str, Array]]]
Op = Callable[..., tuple[Tensor, ...]]

# float64 against float64: the op and the reference differ by round-off (~1e-15); a wrong term
# is off by 1e-3 or more.
ATOL64 = RTOL64 = 1e-10


# --- NaN-filled empty buffers -------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _poisoned_empty(nan_filled_empty: None) -> None:
    """Every ops test runs with NaN-filled empty buffers (tests/conftest.py)."""


# --- which step classes the fused ops use on CPU tensors ---------------------------------------


@pytest.fixture(params=["c", "torch"])
def cpu_step_impl(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test once with the C step kernels (the default on CPU tensors) and once with the
    torch step classes (the default where the kernels cannot be built)."""
    if request.param == "torch":
        monkeypatch.setattr(cpu_kernels, "available", lambda: False)
    else:
        assert cpu_kernels.available(), cpu_kernels.unavailable_reason()
    assert resolve_step_impl(None, torch.zeros(1, dtype=torch.float64)) == request.param
    return str(request.param)


# --- comparing by name --------------------------------------------------------------------------


def assert_close_named(
    name: str,
    ref: Tensor | Array,
    got: Tensor | None,
    atol: float = ATOL64,
    rtol: float = RTOL64,
) -> None:
    """Assert ``got`` matches ``ref`` elementwise (|got − ref| ≤ atol + rtol·|ref|, no NaN),
    naming the tensor and the largest error on failure."""
    assert got is not None, f"{name}: got None, expected a tensor of shape {tuple(ref.shape)}"
    ref_t = torch.as_tensor(ref).to(got.dtype)
    assert tuple(got.shape) == tuple(ref_t.shape), (
        f"{name}: shape {tuple(got.shape)}, expected {tuple(ref_t.shape)}"
    )
    err = (got.detach() - ref_t).abs()
    ok = bool((err <= atol + rtol * ref_t.abs()).all())  # NaN compares False
    if not ok:
        worst = float(err.nan_to_num(math.inf).max())
        raise AssertionError(
            f"{name}: max abs error {worst:.3e} (atol {atol:g}, rtol {rtol:g}); "
            f"NaNs in result: {int(got.isnan().sum())}"
        )


def assert_all_close(
    what: str,
    ref: Mapping[str, Tensor | Array],
    got: Mapping[str, Tensor | None],
    atol: float = ATOL64,
    rtol: float = RTOL64,
) -> None:
    """:func:`assert_close_named` for every key; the two mappings must have the same keys."""
    assert set(got) == set(ref), f"{what}: keys {sorted(got)}, expected {sorted(ref)}"
    for name in ref:
        assert_close_named(f"{what} {name}", ref[name], got[name], atol, rtol)


def assert_all_close_to_scale(
    what: str, ref: Mapping[str, Tensor], got: Mapping[str, Tensor], rel: float
) -> None:
    """Every tensor of ``got`` within ``rel`` of its reference's largest absolute value (for
    low-precision runs, compared in float32); the two mappings must have the same keys."""
    assert set(got) == set(ref), f"{what}: keys {sorted(got)}, expected {sorted(ref)}"
    for name, want in ref.items():
        scale = float(want.float().abs().max())
        err = float((got[name].float() - want.float()).abs().max())  # NaN fails the comparison
        assert err <= rel * scale, f"{what} {name}: max error {err:.3g}, scale {scale:.3g}"


@pytest.fixture
def assert_all_to_scale() -> Callable[..., None]:
    """:func:`assert_all_close_to_scale`, as a fixture: ``(what, ref_dict, got_dict, rel)``."""
    return assert_all_close_to_scale


@pytest.fixture
def assert_close() -> Callable[..., None]:
    """:func:`assert_close_named`, as a fixture: ``assert_close(name, ref, got, atol, rtol)``."""
    return assert_close_named


@pytest.fixture
def assert_all() -> Callable[..., None]:
    """:func:`assert_all_close`, as a fixture: ``assert_all(what, ref_dict, got_dict, ...)``."""
    return assert_all_close


# --- shapes -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """A batch of sequences: their lengths (non-increasing), input and hidden sizes."""

    lengths: tuple[int, ...]
    n_in: int
    hidden: int

    @property
    def steps(self) -> int:
        return self.lengths[0]

    @property
    def batch(self) -> int:
        return len(self.lengths)

    @property
    def dense(self) -> bool:
        return self.lengths[-1] == self.lengths[0]

    def __str__(self) -> str:
        kind = "dense" if self.dense else "ragged" + "-".join(map(str, self.lengths))
        return f"{kind}-T{self.steps}-B{self.batch}-I{self.n_in}-H{self.hidden}"


# Odd, distinct sizes so that a transposed or mis-sliced tensor cannot pass by accident; the
# ragged ones have ties, a length-1 sequence and a sequence as long as the batch.
DENSE_SHAPES = [Shape((7,) * 3, 4, 5), Shape((11,) * 5, 3, 6)]
RAGGED_SHAPES = [Shape((7, 5, 5, 2), 4, 5), Shape((11, 9, 4, 4, 1), 3, 6)]


@pytest.fixture
def shape_type() -> type[Shape]:
    """:class:`Shape` itself, for test modules that pick their own sizes."""
    return Shape


@pytest.fixture(params=DENSE_SHAPES + RAGGED_SHAPES, ids=str)
def shape(request: pytest.FixtureRequest) -> Shape:
    """Each of the dense and the ragged test shapes."""
    result: Shape = request.param
    return result


@pytest.fixture
def ragged_shape() -> Shape:
    """One ragged shape, for the tests that do not need every size."""
    return RAGGED_SHAPES[0]


@pytest.fixture(params=[Shape((3,) * 2, 2, 3), Shape((4, 2, 2, 1), 2, 3)], ids=str)
def small_shape(request: pytest.FixtureRequest) -> Shape:
    """Dense and ragged shapes small enough for ``gradcheck``'s numerical Jacobian."""
    result: Shape = request.param
    return result


@pytest.fixture(
    params=[Shape((20,) * 8, 16, 32), Shape((20, 20, 17, 12, 12, 9, 5, 1), 16, 32)], ids=str
)
def medium_shape(request: pytest.FixtureRequest) -> Shape:
    """Dense and ragged medium sizes (T = 20, B = 8, H = 32) for the float32 checks."""
    result: Shape = request.param
    return result


# --- problems -----------------------------------------------------------------------------------

# Inputs an op takes by keyword, after batch_sizes (the LSTM's projection); :func:`call_op`.
KEYWORD_INPUTS = ("w_hr",)


def call_op(
    op: Callable[..., Any],
    inputs: Mapping[str, Tensor | None],
    batch_sizes: list[int],
    **options: Any,
) -> Any:
    """``op`` on ``inputs`` (named as in :attr:`Problem.inputs`): the positional ones in order,
    then ``batch_sizes``, then those of :data:`KEYWORD_INPUTS` by name and ``options``."""
    positional = [v for k, v in inputs.items() if k not in KEYWORD_INPUTS]
    keywords = {k: v for k, v in inputs.items() if k in KEYWORD_INPUTS}
    return op(*positional, batch_sizes, **keywords, **options)


@dataclass
class Problem:
    """Inputs of an op over packed rows, random upstream gradients, and the padded originals.

    ``inputs`` is ordered as the op's positional arguments: x (N, I), h0 [, c0] (B, H), w_ih,
    w_hh, b_ih, b_hh [, w_ch]; absent ones (no bias, no peepholes) are None; then the keyword
    ones, present only when used: w_hr (P, H), the LSTM's projection (h0 is then (B, P) and
    w_hh (4H, P)). :func:`call_op` calls an op on them. ``upstream`` holds a gradient for every
    output of the op: "out" (N, H or P), "h_n" (B, H or P) [, "c_n" (B, H)].
    """

    shape: Shape
    inputs: dict[str, Tensor | None]
    upstream: dict[str, Tensor]
    x_padded: Tensor  # (T, B, I), zero past each length
    grad_out_padded: Tensor  # (T, B, H), zero past each length
    batch_sizes: list[int]

    def pack(self, padded: Tensor) -> Tensor:
        """(T, B, ·) -> packed rows (N, ·): a reshape when dense, torch's packing otherwise."""
        if self.shape.dense:
            return padded.reshape(self.shape.steps * self.shape.batch, padded.shape[-1])
        return pack_padded_sequence(padded, list(self.shape.lengths)).data

    def present(self) -> dict[str, Tensor]:
        """The inputs that are not None."""
        return {k: v for k, v in self.inputs.items() if v is not None}

    def expected(self, reference: Reference) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
        """The reference's outputs and gradients, packed like the op's.

        Dense: one reference call on the whole batch. Ragged: one call per sequence on
        ``x[:len_b, b]``; outputs past a sequence's end are absent from the packed rows, final
        states are each sequence's own, parameter gradients are summed over the sequences.
        """
        B = self.shape.batch
        groups = [slice(0, B)] if self.shape.dense else [slice(b, b + 1) for b in range(B)]
        np_inputs = {k: v.numpy() for k, v in self.present().items()}
        gates_h = np_inputs["w_hh"].shape[0]  # G·H
        for name in ("b_ih", "b_hh"):
            if self.inputs[name] is None:
                np_inputs[name] = np.zeros(gates_h)  # the reference always takes biases
        if "w_ch" in self.inputs and self.inputs["w_ch"] is None:
            np_inputs["w_ch"] = None
        x_pad, g_out_pad = self.x_padded.numpy(), self.grad_out_padded.numpy()
        states = [k for k in ("h0", "c0") if k in self.inputs]
        finals = [k for k in self.upstream if k != "out"]
        out_pad = np.zeros(self.grad_out_padded.shape)
        dx_pad = np.zeros(x_pad.shape)
        outputs: dict[str, Array] = {k: np.zeros(self.upstream[k].shape) for k in finals}
        grads: dict[str, Array] = {k: np.zeros(v.shape) for k, v in self.present().items()}
        for rows in groups:
            length = self.shape.lengths[rows.start]
            ins = dict(np_inputs, x=x_pad[:length, rows])
            ins |= {k: np_inputs[k][rows] for k in states}
            ups = {k: self.upstream[k].numpy()[rows] for k in finals}
            ups["out"] = g_out_pad[:length, rows]
            ref_out, ref_grads = reference(ins, ups)
            out_pad[:length, rows] = ref_out["out"]
            dx_pad[:length, rows] = ref_grads["x"]
            for k in finals:
                outputs[k][rows] = ref_out[k]
            for k in grads:
                if k in states:
                    grads[k][rows] = ref_grads[k]
                elif k != "x":
                    grads[k] += ref_grads[k]
        expected_out = {"out": self.pack(torch.from_numpy(out_pad))}
        expected_out |= {k: torch.from_numpy(v) for k, v in outputs.items()}
        expected_grads = {k: torch.from_numpy(v) for k, v in grads.items()}
        expected_grads["x"] = self.pack(torch.from_numpy(dx_pad))
        return expected_out, expected_grads

    def to(self, dtype: torch.dtype, device: str | torch.device | None = None) -> Problem:
        """The same problem in another dtype (and on another device)."""

        def cast(t: Tensor | None) -> Any:
            return None if t is None else t.to(device=device, dtype=dtype)

        return Problem(
            self.shape,
            {k: cast(v) for k, v in self.inputs.items()},
            {k: cast(v) for k, v in self.upstream.items()},
            cast(self.x_padded),
            cast(self.grad_out_padded),
            self.batch_sizes,
        )


def make_problem(
    shape: Shape,
    *,
    gates: int,
    bias: bool = True,
    cell: bool = False,
    peephole: bool = False,
    proj: int = 0,
    seed: int = 0,
) -> Problem:
    """A random float64 :class:`Problem` for a family with ``gates`` gates (RNN 1, GRU 3, LSTM 4).

    ``cell`` adds c0 and the peephole slot w_ch (LSTM), ``peephole`` fills that slot; ``proj``
    = P > 0 adds the LSTM's projection w_hr (P, H), and h0, w_hh's columns, "out" and "h_n" are
    then P wide. Weights are uniform in ±1/√H (torch's initialisation), x and the initial states
    in ±1, upstream gradients standard normal.
    """
    gen = torch.Generator().manual_seed(seed)
    T, B, n_in, H = shape.steps, shape.batch, shape.n_in, shape.hidden
    P = proj or H
    k = 1 / math.sqrt(H)

    def uniform(*size: int, scale: float = 1.0) -> Tensor:
        return (torch.rand(size, generator=gen, dtype=torch.float64) * 2 - 1) * scale

    def normal(*size: int) -> Tensor:
        return torch.randn(size, generator=gen, dtype=torch.float64)

    valid = torch.arange(T).unsqueeze(1) < torch.tensor(shape.lengths)  # (T, B)
    x_padded = uniform(T, B, n_in) * valid.unsqueeze(2)
    grad_out_padded = normal(T, B, P) * valid.unsqueeze(2)
    inputs: dict[str, Tensor | None] = {"x": None, "h0": uniform(B, P)}
    if cell:
        inputs["c0"] = uniform(B, H)
    inputs["w_ih"] = uniform(gates * H, n_in, scale=k)
    inputs["w_hh"] = uniform(gates * H, P, scale=k)
    inputs["b_ih"] = uniform(gates * H, scale=k) if bias else None
    inputs["b_hh"] = uniform(gates * H, scale=k) if bias else None
    if cell:
        inputs["w_ch"] = uniform(3 * H, scale=k) if peephole else None
    if proj:
        inputs["w_hr"] = uniform(P, H, scale=k)
    upstream = {"out": grad_out_padded, "h_n": normal(B, P)}
    if cell:
        upstream["c_n"] = normal(B, H)
    if shape.dense:
        batch_sizes = [B] * T
    else:  # torch's own
        batch_sizes = pack_padded_sequence(x_padded, list(shape.lengths)).batch_sizes.tolist()
    problem = Problem(shape, inputs, upstream, x_padded, grad_out_padded, batch_sizes)
    problem.inputs["x"] = problem.pack(x_padded)
    problem.upstream["out"] = problem.pack(grad_out_padded)
    return problem


@pytest.fixture
def problem_maker() -> Callable[..., Problem]:
    """:func:`make_problem`, as a fixture."""
    return make_problem


# --- running an op ------------------------------------------------------------------------------


def run_autograd(
    op: Op, problem: Problem, *, input_grad: bool = True
) -> tuple[dict[str, Tensor], dict[str, Tensor | None]]:
    """Call ``op`` on fresh leaves requiring grad (all but x when not ``input_grad``), push the
    upstream gradients through every output; return outputs and gradients by name."""
    leaves = {k: v.detach().clone().requires_grad_() for k, v in problem.present().items()}
    if not input_grad:
        leaves["x"].requires_grad_(False)
    args = {k: leaves.get(k) for k in problem.inputs}
    outs = call_op(op, args, problem.batch_sizes)
    assert len(outs) == len(problem.upstream), f"{len(outs)} outputs, expected the upstream's"
    outputs = dict(zip(problem.upstream, outs, strict=True))
    wrt = {k: v for k, v in leaves.items() if v.requires_grad}
    got = torch.autograd.grad(
        outs, list(wrt.values()), list(problem.upstream.values()), allow_unused=True
    )
    grads = dict(zip(wrt, got, strict=True))
    return {k: v.detach() for k, v in outputs.items()}, grads


@pytest.fixture
def autograd_runner() -> Callable[..., tuple[dict[str, Tensor], dict[str, Tensor | None]]]:
    """:func:`run_autograd`, as a fixture."""
    return run_autograd


def run_gradcheck(op: Op, problem: Problem) -> bool:
    """``torch.autograd.gradcheck`` of ``op`` with every tensor input requiring grad."""
    args = tuple(
        None if v is None else v.detach().clone().requires_grad_() for v in problem.inputs.values()
    )
    names, batch_sizes = list(problem.inputs), problem.batch_sizes
    result: bool = torch.autograd.gradcheck(
        lambda *a: call_op(op, dict(zip(names, a, strict=True)), batch_sizes),
        args, eps=1e-6, atol=1e-7, rtol=1e-5,
    )  # fmt: skip
    return result


@pytest.fixture
def gradchecker() -> Callable[[Op, Problem], bool]:
    """:func:`run_gradcheck`, as a fixture."""
    return run_gradcheck


# --- one fused op under two step implementations ------------------------------------------------

# The fused op variants by name: (forward, backward, problem options, op options).
FusedVariant = tuple[Callable[..., Any], Callable[..., Any], dict[str, Any], dict[str, Any]]


_LSTM, _GRU = (lstm_forward, lstm_backward), (gru_forward, gru_backward)
_RNN = (rnn_forward, rnn_backward)
FUSED_VARIANTS: dict[str, FusedVariant] = {
    "lstm": (*_LSTM, {"gates": 4, "cell": True}, {}),
    "lstm-peephole": (*_LSTM, {"gates": 4, "cell": True, "peephole": True}, {}),
    "lstm-proj": (*_LSTM, {"gates": 4, "cell": True, "proj": 3}, {}),
    "lstm-peephole-proj": (*_LSTM, {"gates": 4, "cell": True, "peephole": True, "proj": 3}, {}),
    "gru-reset_after": (*_GRU, {"gates": 3}, {"reset_after": True}),
    "gru-reset_before": (*_GRU, {"gates": 3}, {"reset_after": False}),
    "rnn-tanh": (*_RNN, {"gates": 1}, {"nonlinearity": "tanh"}),
    "rnn-relu": (*_RNN, {"gates": 1}, {"nonlinearity": "relu"}),
}


def make_fused_problem(
    variant: str, lengths: tuple[int, ...], n_in: int, hidden: int, **options: Any
) -> Problem:
    """A problem for fused op ``variant`` (a name of the step-kernel tests: "lstm",
    "lstm-peephole", "lstm-proj" and "lstm-peephole-proj" (P = 3: H must be 4 or more),
    "gru-reset_after", "gru-reset_before", "rnn-tanh", "rnn-relu"), with its
    initial states and final-state gradients as transposed views (same values, columns not
    contiguous), as a caller may pass them."""
    problem = make_problem(Shape(lengths, n_in, hidden), **FUSED_VARIANTS[variant][2], **options)
    for group in (problem.inputs, problem.upstream):
        for name in ("h0", "c0", "h_n", "c_n"):
            if group.get(name) is not None:
                group[name] = group[name].t().contiguous().t()
    return problem


def run_fused(variant: str, problem: Problem, step_impl: str) -> tuple[dict[str, Tensor], ...]:
    """Forward then backward of fused op ``variant`` on ``problem`` with ``step_impl``: its
    outputs, the tensors of its cache and every gradient, each by name."""
    forward, backward, _, options = FUSED_VARIANTS[variant]
    outs, cache = call_op(
        forward, problem.inputs, problem.batch_sizes, **options, step_impl=step_impl
    )
    grads = backward(*problem.upstream.values(), cache, step_impl=step_impl)
    outputs = dict(zip(("out", "h_n", "c_n"), outs, strict=False))
    cached = {k: v for k, v in cache._asdict().items() if isinstance(v, Tensor)}
    return outputs, cached, {k: v for k, v in grads._asdict().items() if v is not None}


@pytest.fixture
def fused_problem() -> Callable[..., Problem]:
    """:func:`make_fused_problem`, as a fixture."""
    return make_fused_problem


@pytest.fixture
def fused_runner() -> Callable[..., tuple[dict[str, Tensor], ...]]:
    """:func:`run_fused`, as a fixture."""
    return run_fused


# --- checks every family's op tests run ---------------------------------------------------------


def check_forward_backward_directly(
    forward: Callable[..., Any],
    backward: Callable[..., Any],
    problem: Problem,
    reference: Reference,
    *,
    need_input_grad: bool,
) -> None:
    """``forward`` / ``backward`` (an op's ``*_forward`` / ``*_backward``, options bound) called
    without autograd match ``reference``; the gradients are None exactly where an input is
    absent (and x when not needed); neither the inputs nor the upstream gradients are modified."""
    want_out, want_grads = problem.expected(reference)
    inputs_before = {k: v.clone() for k, v in problem.present().items()}
    upstream_before = {k: v.clone() for k, v in problem.upstream.items()}

    outs, cache = call_op(forward, problem.inputs, problem.batch_sizes)
    assert_all_close("output", want_out, dict(zip(problem.upstream, outs, strict=True)))
    grads = backward(*problem.upstream.values(), cache, need_input_grad=need_input_grad)

    got = grads._asdict()
    absent = {k for k in got if problem.inputs.get(k) is None}  # w_hr absent when not given
    if not need_input_grad:
        absent.add("x")
    assert {k for k, v in got.items() if v is None} == absent
    assert_all_close("grad", {k: v for k, v in want_grads.items() if k not in absent},
                     {k: v for k, v in got.items() if k not in absent})  # fmt: skip
    for k, v in inputs_before.items():
        assert torch.equal(problem.inputs[k], v), f"input {k} modified"
    for k, v in upstream_before.items():
        assert torch.equal(problem.upstream[k], v), f"upstream gradient of {k} modified"


def check_fused_without_input_grad(
    module: Any, backward_name: str, fused: Op, problem: Problem, reference: Reference
) -> None:
    """Through autograd with x not requiring grad, ``fused`` tells ``module.<backward_name>``
    to skip grad x (spied on), and the other gradients still match ``reference``."""
    backward, calls = getattr(module, backward_name), []

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs["need_input_grad"])
        return backward(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(module, backward_name, spy)
        _, want_grads = problem.expected(reference)
        del want_grads["x"]
        _, got_grads = run_autograd(fused, problem, input_grad=False)
    assert calls == [False]
    assert_all_close("grad", want_grads, got_grads)


@pytest.fixture
def direct_checker() -> Callable[..., None]:
    """:func:`check_forward_backward_directly`, as a fixture."""
    return check_forward_backward_directly


@pytest.fixture
def no_input_grad_checker() -> Callable[..., None]:
    """:func:`check_fused_without_input_grad`, as a fixture."""
    return check_fused_without_input_grad
