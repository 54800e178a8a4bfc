"""rnnkit.RNN / LSTM / GRU layers: parity with torch.nn, state dicts, padding, backends, dropout.

Every backend (native, fused, loop) is compared with ``torch.nn.LSTM/GRU/RNN`` in float64 after
copying the weights: outputs, final states and every gradient (input, hx, each parameter), with
random upstream gradients on every output. The variants torch lacks (peephole LSTM, reset-before
GRU) are checked fused against loop here, and against the equations in NumPy in
``test_peephole_equations.py`` and :func:`test_gru_reset_before_equations`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

import rnnkit
import rnnkit.nn.layers as layers_module

AssertClose = Callable[..., None]

T, B, N_IN, H = 7, 3, 4, 5  # odd small sizes: a transposed or mixed-up axis cannot hide
LENGTHS = [7, 3, 5]  # unsorted, with the full length present so total_length=T is exact
F64 = torch.float64
BACKENDS = ["native", "fused", "loop"]

# family -> (torch class, rnnkit class, options both take)
FAMILIES: dict[str, tuple[type[nn.RNNBase], type[nn.Module], dict[str, Any]]] = {
    "lstm": (nn.LSTM, rnnkit.LSTM, {}),
    "gru": (nn.GRU, rnnkit.GRU, {}),
    "rnn_tanh": (nn.RNN, rnnkit.RNN, {"nonlinearity": "tanh"}),
    "rnn_relu": (nn.RNN, rnnkit.RNN, {"nonlinearity": "relu"}),
}


def make_pair(
    family: str,
    backend: str = "auto",
    *,
    num_layers: int = 2,
    bidirectional: bool = True,
    batch_first: bool = False,
    seed: int = 0,
) -> tuple[nn.Module, Any]:
    """A float64 torch layer and the rnnkit layer with its weights (loaded strictly)."""
    torch_cls, ours_cls, options = FAMILIES[family]
    torch.manual_seed(seed)
    config: dict[str, Any] = {
        "batch_first": batch_first,
        "bidirectional": bidirectional,
        "dtype": F64,
        **options,
    }
    ref = torch_cls(N_IN, H, num_layers, **config)
    ours = ours_cls(N_IN, H, num_layers, backend=backend, **config)
    ours.load_state_dict(ref.state_dict(), strict=True)
    return ref, ours


def random_state(family: str, layer: Any, batch: int, gen: torch.Generator) -> Any:
    """A random hx for ``layer`` (a tuple for the LSTM), leaves that require grad."""
    shape = (layer.num_layers * (2 if layer.bidirectional else 1), batch, H)
    parts = [torch.randn(shape, generator=gen, dtype=F64) for _ in range(2)]
    parts = [p.requires_grad_() for p in parts]
    return tuple(parts) if family == "lstm" else parts[0]


def state_parts(state: Any) -> tuple[Tensor, ...]:
    """hx or a final state as a tuple of tensors: () for None."""
    if state is None:
        return ()
    return tuple(state) if isinstance(state, tuple) else (state,)


def clone_leaf(t: Tensor) -> Tensor:
    return t.detach().clone().requires_grad_()


def clone_state(state: Any) -> Any:
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(clone_leaf(s) for s in state)
    return clone_leaf(state)


def padded_mask(lengths: list[int], batch_first: bool) -> Tensor:
    """True at valid positions: (T, B), or (B, T) with batch_first."""
    mask = torch.arange(T).unsqueeze(1) < torch.tensor(lengths).unsqueeze(0)  # (T, B)
    return mask.t() if batch_first else mask


# --- 1. parity with torch.nn, every backend, every gradient -------------------------------------


def run_torch(ref: nn.Module, mode: str, x: Tensor, hx: Any, batch_first: bool) -> Any:
    if mode == "dense":
        return ref(x, hx)
    packed = pack_padded_sequence(x, LENGTHS, batch_first=batch_first, enforce_sorted=False)
    out, state = ref(packed, hx)
    if mode == "packed":
        return out, state
    out, _ = pad_packed_sequence(out, batch_first=batch_first, total_length=T)
    return out, state


def run_ours(ours: Any, mode: str, x: Tensor, hx: Any, batch_first: bool) -> Any:
    if mode == "dense":
        return ours(x, hx)
    if mode == "lengths":
        return ours(x, hx, lengths=LENGTHS)
    packed = pack_padded_sequence(x, LENGTHS, batch_first=batch_first, enforce_sorted=False)
    return ours(packed, hx)


def outputs_of(result: Any) -> dict[str, Tensor]:
    """Named outputs: "out" (the packed data for a PackedSequence), "h_n" [, "c_n"]."""
    out, state = result
    named = {"out": out.data if isinstance(out, PackedSequence) else out}
    for name, part in zip(("h_n", "c_n"), state_parts(state), strict=False):
        named[name] = part
    return named


def gradients(
    outputs: dict[str, Tensor], upstream: dict[str, Tensor], leaves: dict[str, Tensor]
) -> dict[str, Tensor]:
    loss = sum((outputs[k] * upstream[k]).sum() for k in outputs)
    assert isinstance(loss, Tensor)
    grads = torch.autograd.grad(loss, list(leaves.values()), allow_unused=True)
    return dict(zip(leaves, grads, strict=True))


@pytest.mark.parametrize("hx_given", [False, True], ids=["hx_none", "hx"])
@pytest.mark.parametrize("mode", ["dense", "lengths", "packed"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["time_major", "batch_first"])
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("family", list(FAMILIES))
def test_parity_with_torch(
    family: str,
    backend: str,
    batch_first: bool,
    mode: str,
    hx_given: bool,
    assert_close: AssertClose,
) -> None:
    ref, ours = make_pair(family, backend, batch_first=batch_first)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn((B, T, N_IN) if batch_first else (T, B, N_IN), generator=gen, dtype=F64)
    x_ref, x_ours = clone_leaf(x), clone_leaf(x)
    hx = random_state(family, ref, B, gen) if hx_given else None
    hx_ref, hx_ours = clone_state(hx), clone_state(hx)

    result_ref = run_torch(ref, mode, x_ref, hx_ref, batch_first)
    result_ours = run_ours(ours, mode, x_ours, hx_ours, batch_first)
    if mode == "packed":
        out_ref, out_ours = result_ref[0], result_ours[0]
        assert isinstance(out_ours, PackedSequence)
        for field in ("batch_sizes", "sorted_indices", "unsorted_indices"):
            assert torch.equal(getattr(out_ours, field), getattr(out_ref, field)), field
    expected, got = outputs_of(result_ref), outputs_of(result_ours)
    assert set(got) == set(expected)
    for name in expected:
        assert_close(name, expected[name], got[name])

    upstream = {k: torch.randn(v.shape, generator=gen, dtype=F64) for k, v in expected.items()}
    leaves_ref = {"input": x_ref, **dict(ref.named_parameters())}
    leaves_ours = {"input": x_ours, **dict(ours.named_parameters())}
    for label, part_ref, part_ours in zip(
        ("h_0", "c_0"), state_parts(hx_ref), state_parts(hx_ours), strict=False
    ):
        leaves_ref[label], leaves_ours[label] = part_ref, part_ours
    assert list(leaves_ours) == list(leaves_ref)
    grads_ref = gradients(expected, upstream, leaves_ref)
    grads_ours = gradients(got, upstream, leaves_ours)
    for name, grad in grads_ref.items():
        assert grad is not None, name
        assert_close(f"grad {name}", grad, grads_ours[name])


# --- the variants torch lacks: fused against loop, and against the equations ---------------------

VARIANTS: dict[str, Callable[..., Any]] = {
    "lstm_peephole": lambda **kw: rnnkit.LSTM(N_IN, H, 2, peephole=True, **kw),
    "gru_reset_before": lambda **kw: rnnkit.GRU(N_IN, H, 2, reset_after=False, **kw),
}


@pytest.mark.parametrize("mode", ["dense", "lengths", "packed"])
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_variant_fused_matches_loop(variant: str, mode: str, assert_close: AssertClose) -> None:
    torch.manual_seed(0)
    fused = VARIANTS[variant](bidirectional=True, dtype=F64, backend="fused")
    loop = VARIANTS[variant](bidirectional=True, dtype=F64, backend="loop")
    loop.load_state_dict(fused.state_dict(), strict=True)
    family = "lstm" if variant.startswith("lstm") else "gru"
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(T, B, N_IN, generator=gen, dtype=F64)
    hx = random_state(family, fused, B, gen)
    results, leaves = [], []
    for layer in (fused, loop):
        x_leaf, hx_leaf = clone_leaf(x), clone_state(hx)
        results.append(outputs_of(run_ours(layer, mode, x_leaf, hx_leaf, False)))
        named = {"input": x_leaf, **dict(layer.named_parameters())}
        for label, part in zip(("h_0", "c_0"), state_parts(hx_leaf), strict=False):
            named[label] = part
        leaves.append(named)
    upstream = {k: torch.randn(v.shape, generator=gen, dtype=F64) for k, v in results[1].items()}
    for name in results[1]:
        assert_close(name, results[1][name], results[0][name])
    grads_fused = gradients(results[0], upstream, leaves[0])
    grads_loop = gradients(results[1], upstream, leaves[1])
    for name, grad in grads_loop.items():
        assert grad is not None and grad.abs().max() > 0, name
        assert_close(f"grad {name}", grad, grads_fused[name])


@pytest.mark.parametrize("backend", ["fused", "loop"])
def test_variants_gradcheck(backend: str) -> None:
    """Central differences in float64 on a tiny bidirectional layer with unsorted lengths."""
    torch.manual_seed(0)
    for make in VARIANTS.values():
        layer = make(bidirectional=True, dtype=F64, backend=backend)
        x = torch.randn(3, 2, N_IN, dtype=F64, requires_grad=True)
        weight = layer.weight_hh_l1_reverse

        def f(x: Tensor, w: Tensor, layer: Any = layer) -> tuple[Tensor, ...]:
            params = {"weight_hh_l1_reverse": w}
            out, state = torch.func.functional_call(layer, params, (x,), {"lengths": [2, 3]})
            return (out, *state_parts(state))

        assert torch.autograd.gradcheck(f, (x, weight.detach().clone().requires_grad_()))


def _sigmoid(a: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1.0 / (1.0 + np.exp(-a))
    return out


@pytest.mark.parametrize("backend", ["fused", "loop"])
def test_gru_reset_before_equations(backend: str) -> None:
    """GRU(reset_after=False) against n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn), by hand."""
    torch.manual_seed(0)
    gru = rnnkit.GRU(N_IN, H, reset_after=False, dtype=F64, backend=backend)
    x = torch.randn(T, B, N_IN, dtype=F64)
    h0 = torch.randn(1, B, H, dtype=F64)
    with torch.no_grad():
        out, h_n = gru(x, h0)
    p = {k: v.detach().numpy() for k, v in gru.state_dict().items()}
    w_ih, w_hh = p["weight_ih_l0"], p["weight_hh_l0"]
    b_ih, b_hh = p["bias_ih_l0"], p["bias_hh_l0"]
    h = h0[0].numpy()
    for t in range(T):
        gi = x[t].numpy() @ w_ih.T + b_ih  # (B, 3H)
        gh = h @ w_hh[: 2 * H].T + b_hh[: 2 * H]  # (B, 2H)
        r = _sigmoid(gi[:, :H] + gh[:, :H])
        z = _sigmoid(gi[:, H : 2 * H] + gh[:, H:])
        n = np.tanh(gi[:, 2 * H :] + (r * h) @ w_hh[2 * H :].T + b_hh[2 * H :])
        h = (1 - z) * n + z * h
        np.testing.assert_allclose(out[t].numpy(), h, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(h_n[0].numpy(), h, rtol=1e-10, atol=1e-10)


# --- 2. state dicts both ways --------------------------------------------------------------------


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("family", list(FAMILIES))
def test_state_dict_keys_and_shapes_equal_torch(family: str, bias: bool) -> None:
    torch_cls, ours_cls, options = FAMILIES[family]
    config = {"bidirectional": True, "bias": bias, **options}
    ref, ours = torch_cls(N_IN, H, 2, **config), ours_cls(N_IN, H, 2, **config)
    ref_state, ours_state = ref.state_dict(), ours.state_dict()
    assert list(ours_state) == list(ref_state)
    for name, value in ref_state.items():
        assert ours_state[name].shape == value.shape, name


@pytest.mark.parametrize("family", list(FAMILIES))
def test_torch_loads_our_state_dict(family: str, assert_close: AssertClose) -> None:
    torch_cls, ours_cls, options = FAMILIES[family]
    torch.manual_seed(3)
    ours = ours_cls(N_IN, H, 2, bidirectional=True, dtype=F64, **options)
    ref = torch_cls(N_IN, H, 2, bidirectional=True, dtype=F64, **options)
    ref.load_state_dict(ours.state_dict(), strict=True)
    for name, value in ours.state_dict().items():
        assert torch.equal(ref.state_dict()[name], value), name
    x = torch.randn(T, B, N_IN, dtype=F64)
    expected, got = outputs_of(ref(x)), outputs_of(ours(x))
    for name in expected:
        assert_close(name, expected[name], got[name])


def test_peephole_state_dict_adds_weight_ch() -> None:
    plain = nn.LSTM(N_IN, H, 2, bidirectional=True).state_dict()
    ours = rnnkit.LSTM(N_IN, H, 2, bidirectional=True, peephole=True).state_dict()
    extra = {f"weight_ch_l{k}{s}" for k in range(2) for s in ("", "_reverse")}
    assert set(ours) == set(plain) | extra
    for name in extra:
        assert ours[name].shape == (3 * H,), name
    for name, value in plain.items():
        assert ours[name].shape == value.shape, name
    assert rnnkit.LSTM(8, 16, peephole=True).weight_ch_l0.shape == (48,)


def test_peephole_layer_loads_torch_weights_plus_weight_ch() -> None:
    """A torch state dict is not enough for a peephole LSTM: strict loading names weight_ch."""
    ours = rnnkit.LSTM(N_IN, H, peephole=True)
    with pytest.raises(RuntimeError, match="weight_ch_l0"):
        ours.load_state_dict(nn.LSTM(N_IN, H).state_dict(), strict=True)


# --- 3. padding is never used --------------------------------------------------------------------


@pytest.mark.parametrize("fill", [1e6, math.nan], ids=["1e6", "nan"])
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("family", list(FAMILIES))
def test_padding_is_never_used(family: str, backend: str, fill: float) -> None:
    _, ours = make_pair(family, backend)
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(T, B, N_IN, generator=gen, dtype=F64)
    valid = padded_mask(LENGTHS, batch_first=False)  # (T, B)
    x_filled = x.masked_fill(~valid.unsqueeze(-1), fill).requires_grad_()
    lengths = torch.tensor(LENGTHS)
    out, state = ours(x, lengths=lengths)
    out_filled, state_filled = ours(x_filled, lengths=lengths)
    assert torch.equal(out_filled[valid], out[valid])
    assert torch.equal(out_filled[~valid], torch.zeros_like(out_filled[~valid]))
    assert torch.equal(out[~valid], torch.zeros_like(out[~valid]))
    for part, part_filled in zip(state_parts(state), state_parts(state_filled), strict=True):
        assert torch.equal(part_filled, part)
    loss = out_filled.sum() + sum(p.sum() for p in state_parts(state_filled))
    (grad,) = torch.autograd.grad(loss, x_filled)
    assert torch.equal(grad[~valid], torch.zeros_like(grad[~valid]))
    assert bool(grad[valid].isfinite().all()) and bool(grad[valid].abs().max() > 0)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("family", list(FAMILIES))
def test_each_sequence_as_if_alone(family: str, backend: str, assert_close: AssertClose) -> None:
    """With lengths, every sequence (both directions, both layers) runs as it would alone at its
    own length: the reverse direction starts at its last valid step, not at the padding."""
    _, ours = make_pair(family, backend)
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(T, B, N_IN, generator=gen, dtype=F64)
    hx = clone_state(random_state(family, ours, B, gen))
    out, state = ours(x, hx, lengths=LENGTHS)
    for b, n in enumerate(LENGTHS):
        alone_hx = tuple(p[:, b : b + 1] for p in state_parts(hx))
        out_b, state_b = ours(x[:n, b : b + 1], alone_hx[0] if len(alone_hx) == 1 else alone_hx)
        assert_close(f"out[:, {b}]", out_b, out[:n, b : b + 1])
        for label, part, part_b in zip(
            ("h_n", "c_n"), state_parts(state), state_parts(state_b), strict=False
        ):
            assert_close(f"{label}[:, {b}]", part_b, part[:, b : b + 1])


# --- 4. unbatched input, batch_first -------------------------------------------------------------


@pytest.mark.parametrize("batch_first", [False, True], ids=["time_major", "batch_first"])
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("family", list(FAMILIES))
def test_unbatched_equals_batch_of_one(
    family: str, backend: str, batch_first: bool, assert_close: AssertClose
) -> None:
    _, ours = make_pair(family, backend, batch_first=batch_first)
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(T, N_IN, generator=gen, dtype=F64)
    hx = random_state(family, ours, 1, gen)
    batched_x = x.unsqueeze(0 if batch_first else 1)
    out_1, state_1 = ours(batched_x, hx)
    unbatched_hx = tuple(p.squeeze(1) for p in state_parts(hx))
    out, state = ours(x, unbatched_hx[0] if len(unbatched_hx) == 1 else unbatched_hx)
    assert out.shape == (T, 2 * H)
    assert_close("out", out_1.squeeze(0 if batch_first else 1), out)
    for part_1, part in zip(state_parts(state_1), state_parts(state), strict=True):
        assert part.shape == (4, H)
        assert_close("state", part_1.squeeze(1), part)
    out_none, state_none = ours(x)  # hx None, unbatched
    out_1_none, _ = ours(batched_x)
    assert state_parts(state_none)[0].shape == (4, H)
    assert_close("out (hx None)", out_1_none.squeeze(0 if batch_first else 1), out_none)


@pytest.mark.parametrize("with_lengths", [False, True], ids=["dense", "lengths"])
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("family", list(FAMILIES))
def test_batch_first_equals_transposed_time_major(
    family: str, backend: str, with_lengths: bool, assert_close: AssertClose
) -> None:
    _, time_major = make_pair(family, backend)
    _, batch_first = make_pair(family, backend, batch_first=True)
    x = torch.randn(T, B, N_IN, dtype=F64)
    lengths = LENGTHS if with_lengths else None
    out_tm, state_tm = time_major(x, lengths=lengths)
    out_bf, state_bf = batch_first(x.transpose(0, 1).contiguous(), lengths=lengths)
    assert out_bf.shape == (B, T, 2 * H)
    assert_close("out", out_tm.transpose(0, 1), out_bf)
    for part_tm, part_bf in zip(state_parts(state_tm), state_parts(state_bf), strict=True):
        assert_close("state (never batch-first)", part_tm, part_bf)


# --- 5. dropout between layers -------------------------------------------------------------------


def _with_dropout(family: str, backend: str, dropout: float) -> Any:
    _, ours_cls, options = FAMILIES[family]
    torch.manual_seed(0)
    return ours_cls(N_IN, H, 2, bidirectional=True, dropout=dropout, backend=backend, **options)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("family", ["lstm", "gru", "rnn_tanh"])
def test_dropout_has_no_effect_in_eval(family: str, backend: str) -> None:
    with_dropout = _with_dropout(family, backend, 0.5).eval()
    without = _with_dropout(family, backend, 0.0)  # same seed: same weights
    x = torch.randn(T, B, N_IN)
    out, state = with_dropout(x)
    out_ref, state_ref = without(x)
    assert torch.equal(out, out_ref)
    for part, part_ref in zip(state_parts(state), state_parts(state_ref), strict=True):
        assert torch.equal(part, part_ref)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("family", ["lstm", "gru", "rnn_tanh"])
def test_dropout_acts_between_layers_in_train(family: str, backend: str) -> None:
    layer = _with_dropout(family, backend, 0.5)
    x = torch.randn(T, B, N_IN)
    out_eval, state_eval = layer.eval()(x)
    layer.train()
    torch.manual_seed(7)
    out_train, state_train = layer(x)
    torch.manual_seed(7)
    out_again, _ = layer(x)
    assert not torch.allclose(out_train, out_eval, atol=1e-3)
    assert torch.equal(out_train, out_again)  # seeded: reproducible
    # the first layer (h_n rows 0 and 1) sees the undropped input: only its output is dropped
    for part_train, part_eval in zip(
        state_parts(state_train), state_parts(state_eval), strict=True
    ):
        torch.testing.assert_close(part_train[:2], part_eval[:2])
        assert not torch.allclose(part_train[2:], part_eval[2:], atol=1e-3)
    # and not after the last layer: its output still holds h_n, as in torch
    h_n = state_parts(state_train)[0]
    assert torch.equal(out_train[-1, :, :H], h_n[2])
    assert torch.equal(out_train[0, :, H:], h_n[3])


@pytest.mark.parametrize("family", ["lstm", "gru", "rnn_tanh"])
def test_dropout_zero_in_train_equals_eval(family: str) -> None:
    layer = _with_dropout(family, "fused", 0.0)
    x = torch.randn(T, B, N_IN)
    assert torch.equal(layer.train()(x)[0], layer.eval()(x)[0])


@pytest.mark.parametrize("family", list(FAMILIES))
def test_dropout_with_one_layer_warns(family: str) -> None:
    _, ours_cls, options = FAMILIES[family]
    with pytest.warns(UserWarning, match=r"dropout=0\.5.*num_layers=1"):
        ours_cls(N_IN, H, 1, dropout=0.5, **options)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours_cls(N_IN, H, 2, dropout=0.5, **options)
        ours_cls(N_IN, H, 1, dropout=0.0, **options)


# --- 6. backend resolution -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "expected", "why"),
    [
        (lambda **kw: rnnkit.LSTM(N_IN, H, **kw), "native", "torch has a kernel"),
        (lambda **kw: rnnkit.GRU(N_IN, H, reset_after=True, **kw), "native", "torch has a kernel"),
        (lambda **kw: rnnkit.RNN(N_IN, H, **kw), "native", "torch has a kernel"),
        (lambda **kw: rnnkit.RNN(N_IN, H, nonlinearity="relu", **kw), "native", "has a kernel"),
        (lambda **kw: rnnkit.LSTM(N_IN, H, peephole=True, **kw), "fused", "peephole=True"),
        (lambda **kw: rnnkit.GRU(N_IN, H, reset_after=False, **kw), "fused", "reset_after=False"),
    ],
    ids=["lstm", "gru", "rnn", "rnn_relu", "lstm_peephole", "gru_reset_before"],
)
def test_auto_backend(make: Callable[..., Any], expected: str, why: str) -> None:
    layer = make()
    assert layer.backend == "auto"
    assert layer.backend_used == expected
    assert "auto" in layer.backend_reason and why in layer.backend_reason
    assert f"backend={expected}" in repr(layer)
    assert make(backend="auto").backend_used == expected


class _Spy:
    """Wraps an op and counts its calls."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn, self.calls = fn, 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self.fn(*args, **kwargs)


@pytest.fixture
def spies(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, _Spy]]:
    """Every fused and loop op the layers call, wrapped to count calls."""
    found = {}
    for family in ("lstm", "gru", "rnn"):
        for kind in ("fused", "loop"):
            name = f"{family}_{kind}"
            found[name] = _Spy(getattr(layers_module, name))
            monkeypatch.setattr(layers_module, name, found[name])
    yield found


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("family", ["lstm", "gru", "rnn"])
def test_explicit_backend_is_the_one_that_runs(
    family: str, backend: str, spies: dict[str, _Spy]
) -> None:
    layer = {"lstm": rnnkit.LSTM, "gru": rnnkit.GRU, "rnn": rnnkit.RNN}[family](
        N_IN, H, backend=backend
    )
    assert (layer.backend, layer.backend_used) == (backend, backend)
    assert repr(backend) in layer.backend_reason
    layer(torch.randn(T, B, N_IN))
    layer(torch.randn(T, B, N_IN), lengths=LENGTHS)
    fused, loop = spies[f"{family}_fused"].calls, spies[f"{family}_loop"].calls
    assert (fused > 0, loop > 0) == (backend == "fused", backend == "loop")


@pytest.mark.parametrize("family", ["lstm", "gru", "rnn"])
def test_auto_trains_on_cpu_with_the_fused_op_where_faster(
    family: str, spies: dict[str, _Spy]
) -> None:
    """``auto`` trains the GRU on any CPU input with the fused op, the LSTM on packed input
    only, the RNN never; inference always runs torch's kernel; the outputs agree."""
    layer = {"lstm": rnnkit.LSTM, "gru": rnnkit.GRU, "rnn": rnnkit.RNN}[family](N_IN, H)
    fused = spies[f"{family}_fused"]
    x = torch.randn(T, B, N_IN)
    with torch.no_grad():
        expected_dense, _ = layer(x)
        expected, _ = layer(x, lengths=LENGTHS)
    assert fused.calls == 0  # inference: torch's kernels
    dense, _ = layer(x)
    assert (fused.calls > 0) == (family == "gru")  # dense training
    torch.testing.assert_close(dense, expected_dense)
    calls = fused.calls
    out, _ = layer(x, lengths=LENGTHS)
    assert (fused.calls > calls) == (family != "rnn") and spies[f"{family}_loop"].calls == 0
    torch.testing.assert_close(out, expected)
    layer.backend = "native"
    calls = fused.calls
    layer(x)
    layer(x, lengths=LENGTHS)
    assert fused.calls == calls  # native asked for: torch's kernels


def test_setting_backend_re_resolves(spies: dict[str, _Spy]) -> None:
    lstm = rnnkit.LSTM(N_IN, H)
    assert lstm.backend_used == "native"
    lstm.backend = "loop"
    assert (lstm.backend, lstm.backend_used) == ("loop", "loop")
    assert "loop" in lstm.backend_reason
    lstm(torch.randn(T, B, N_IN))
    assert spies["lstm_loop"].calls == 1 and spies["lstm_fused"].calls == 0
    lstm.backend = "auto"
    assert (lstm.backend, lstm.backend_used) == ("auto", "native")
    assert "auto" in lstm.backend_reason

    peephole = rnnkit.LSTM(N_IN, H, peephole=True, backend="loop")
    with pytest.raises(ValueError, match="native"):
        peephole.backend = "native"
    assert (peephole.backend, peephole.backend_used) == ("loop", "loop")  # unchanged
    with pytest.raises(ValueError, match="'cudnn'"):
        peephole.backend = "cudnn"
    assert (peephole.backend, peephole.backend_used) == ("loop", "loop")
    peephole.backend = "auto"
    assert peephole.backend_used == "fused" and "peephole=True" in peephole.backend_reason


# --- 7. forget-gate bias -------------------------------------------------------------------------


@pytest.mark.parametrize("forget_bias", [None, 0.5, -2.0])
def test_lstm_forget_bias(forget_bias: float | None) -> None:
    options = {} if forget_bias is None else {"forget_bias": forget_bias}
    expected = 1.0 if forget_bias is None else forget_bias
    lstm = rnnkit.LSTM(N_IN, H, 2, bidirectional=True, **options)
    for layer in range(2):
        for suffix in ("", "_reverse"):
            b_ih = getattr(lstm, f"bias_ih_l{layer}{suffix}").detach()
            b_hh = getattr(lstm, f"bias_hh_l{layer}{suffix}").detach()
            assert torch.equal(b_ih[H : 2 * H], torch.full((H,), expected))
            assert torch.equal(b_hh[H : 2 * H], torch.zeros(H))
            assert torch.equal((b_ih + b_hh)[H : 2 * H], torch.full((H,), expected))
            others = torch.cat([b_ih[:H], b_ih[2 * H :], b_hh[:H], b_hh[2 * H :]])
            assert bool(others.abs().le(1 / math.sqrt(H)).all()) and bool(others.std() > 0)
    lstm.reset_parameters()  # re-initialising keeps the rule
    assert torch.equal(lstm.bias_ih_l1[H : 2 * H].detach(), torch.full((H,), expected))
    rnnkit.LSTM(N_IN, H, bias=False, forget_bias=0.5)  # no bias: nothing to set, no error


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("family", list(FAMILIES))
def test_empty_batch_gives_empty_outputs_like_torch(family: str, backend: str) -> None:
    torch_cls, ours_cls, options = FAMILIES[family]
    ours = ours_cls(N_IN, H, 2, bidirectional=True, backend=backend, **options)
    theirs = torch_cls(N_IN, H, 2, bidirectional=True, **options)
    x = torch.randn(T, 0, N_IN, requires_grad=True)
    output, state = ours(x)
    expected_output, expected_state = theirs(x)
    assert output.shape == expected_output.shape == (T, 0, 2 * H)
    states = state if isinstance(state, tuple) else (state,)
    expected = expected_state if isinstance(expected_state, tuple) else (expected_state,)
    assert [s.shape for s in states] == [e.shape for e in expected]
    output.sum().backward()
    assert x.grad is not None and x.grad.shape == x.shape
