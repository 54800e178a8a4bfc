"""rnnkit.LSTM with ``proj_size`` (Sak et al. 2014): h_t = W_hr (o ⊙ tanh(c_t)), as torch's.

Every backend against ``torch.nn.LSTM(proj_size=P)`` after loading its state dict strictly, in
float64: outputs, h_n, c_n and every gradient (input, h_0, c_0, each parameter, W_hr included),
with random upstream gradients on every output; two layers, bidirectional, time-major and
batch_first, dense, ``lengths=`` and ``PackedSequence``, with and without hx. Then what torch
lacks: projections with peepholes (fused against loop, gradcheck), with weight_drop and with
zoneout (against hand-written recurrences); and the shapes, checks and repr.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

import rnnkit
from rnnkit.ops import lstm_cell

AssertClose = Callable[..., None]

T, B, N_IN, H, P = 7, 3, 4, 5, 3  # odd small sizes, P < H
LENGTHS = [7, 3, 5]  # unsorted, the full length present so total_length=T is exact
F64 = torch.float64
BACKENDS = ["native", "fused", "loop"]
HH_NAMES = ["weight_hh_l0", "weight_hh_l0_reverse", "weight_hh_l1", "weight_hh_l1_reverse"]


def make_pair(backend: str, *, batch_first: bool = False, seed: int = 0) -> tuple[Any, Any]:
    """torch's float64 LSTM(proj_size=P), 2 layers, bidirectional, and ours with its weights."""
    torch.manual_seed(seed)
    config: dict[str, Any] = {"batch_first": batch_first, "bidirectional": True, "dtype": F64}
    ref = nn.LSTM(N_IN, H, 2, proj_size=P, **config)
    ours = rnnkit.LSTM(N_IN, H, 2, proj_size=P, backend=backend, **config)
    ours.load_state_dict(ref.state_dict(), strict=True)
    return ref, ours


def leaf(t: Tensor) -> Tensor:
    return t.detach().clone().requires_grad_()


def run(layer: Any, mode: str, x: Tensor, hx: Any, batch_first: bool, *, ours: bool) -> Any:
    if mode == "dense":
        return layer(x, hx)
    if mode == "lengths" and ours:
        return layer(x, hx, lengths=LENGTHS)
    packed = pack_padded_sequence(x, LENGTHS, batch_first=batch_first, enforce_sorted=False)
    out, state = layer(packed, hx)
    if mode == "packed":
        return out, state
    out, _ = pad_packed_sequence(out, batch_first=batch_first, total_length=T)
    return out, state


def named_outputs(result: Any) -> dict[str, Tensor]:
    out, (h_n, c_n) = result
    return {"out": out.data if isinstance(out, PackedSequence) else out, "h_n": h_n, "c_n": c_n}


def gradients(
    outputs: dict[str, Tensor], upstream: dict[str, Tensor], leaves: dict[str, Tensor]
) -> dict[str, Tensor | None]:
    loss = sum((outputs[k] * upstream[k]).sum() for k in outputs)
    assert isinstance(loss, Tensor)
    grads = torch.autograd.grad(loss, list(leaves.values()), allow_unused=True)
    return dict(zip(leaves, grads, strict=True))


# --- parity with torch.nn.LSTM(proj_size=P) ------------------------------------------------------


@pytest.mark.parametrize("hx_given", [False, True], ids=["hx_none", "hx"])
@pytest.mark.parametrize("mode", ["dense", "lengths", "packed"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["time_major", "batch_first"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_parity_with_torch(
    backend: str, batch_first: bool, mode: str, hx_given: bool, assert_close: AssertClose
) -> None:
    ref, ours = make_pair(backend, batch_first=batch_first)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn((B, T, N_IN) if batch_first else (T, B, N_IN), generator=gen, dtype=F64)
    x_ref, x_ours = leaf(x), leaf(x)
    hx: tuple[Tensor, Tensor] | None = None
    if hx_given:
        hx = (
            torch.randn(4, B, P, generator=gen, dtype=F64),
            torch.randn(4, B, H, generator=gen, dtype=F64),
        )
    hx_ref = None if hx is None else tuple(leaf(s) for s in hx)
    hx_ours = None if hx is None else tuple(leaf(s) for s in hx)

    expected = named_outputs(run(ref, mode, x_ref, hx_ref, batch_first, ours=False))
    got = named_outputs(run(ours, mode, x_ours, hx_ours, batch_first, ours=True))
    width = 2 * P
    assert got["out"].shape[-1] == width
    assert got["h_n"].shape == (4, B, P) and got["c_n"].shape == (4, B, H)
    for name in expected:
        assert_close(name, expected[name], got[name])

    upstream = {k: torch.randn(v.shape, generator=gen, dtype=F64) for k, v in expected.items()}
    leaves_ref = {"input": x_ref, **dict(ref.named_parameters())}
    leaves_ours = {"input": x_ours, **dict(ours.named_parameters())}
    if hx_ref is not None and hx_ours is not None:
        leaves_ref |= {"h_0": hx_ref[0], "c_0": hx_ref[1]}
        leaves_ours |= {"h_0": hx_ours[0], "c_0": hx_ours[1]}
    assert list(leaves_ours) == list(leaves_ref)
    assert sum(name.startswith("weight_hr") for name in leaves_ours) == 4
    grads_ref = gradients(expected, upstream, leaves_ref)
    grads_ours = gradients(got, upstream, leaves_ours)
    for name, grad in grads_ref.items():
        assert grad is not None, name
        assert_close(f"grad {name}", grad, grads_ours[name])


@pytest.mark.parametrize("backend", BACKENDS)
def test_unbatched_input(backend: str, assert_close: AssertClose) -> None:
    ref, ours = make_pair(backend)
    x = torch.randn(T, N_IN, dtype=F64)
    hx = (torch.randn(4, P, dtype=F64), torch.randn(4, H, dtype=F64))
    expected, got = named_outputs(ref(x, hx)), named_outputs(ours(x, hx))
    assert got["out"].shape == (T, 2 * P) and got["h_n"].shape == (4, P)
    for name in expected:
        assert_close(name, expected[name], got[name])


def test_state_dict_keys_order_and_shapes_equal_torch() -> None:
    for bias in (True, False):
        ref = nn.LSTM(N_IN, H, 2, bias=bias, bidirectional=True, proj_size=P)
        ours = rnnkit.LSTM(N_IN, H, 2, bias=bias, bidirectional=True, proj_size=P)
        ref_state, ours_state = ref.state_dict(), ours.state_dict()
        assert list(ours_state) == list(ref_state)
        for name, value in ref_state.items():
            assert ours_state[name].shape == value.shape, name
        assert ours.weight_hh_l1.shape == (4 * H, P) and ours.weight_ih_l1.shape == (4 * H, 2 * P)
        assert ours.weight_hr_l0_reverse.shape == (P, H)


def test_torch_loads_our_state_dict(assert_close: AssertClose) -> None:
    torch.manual_seed(3)
    ours = rnnkit.LSTM(N_IN, H, 2, bidirectional=True, proj_size=P, dtype=F64)
    ref = nn.LSTM(N_IN, H, 2, bidirectional=True, proj_size=P, dtype=F64)
    ref.load_state_dict(ours.state_dict(), strict=True)
    x = torch.randn(T, B, N_IN, dtype=F64)
    expected, got = named_outputs(ref(x)), named_outputs(ours(x))
    for name in expected:
        assert_close(name, expected[name], got[name])


def test_initialisation_is_torchs() -> None:
    """Every parameter, W_hr included, uniform in ±1/√H; the forget-gate bias rule kept."""
    torch.manual_seed(0)
    lstm = rnnkit.LSTM(N_IN, 64, 2, proj_size=16)
    bound = 1 / 64**0.5
    w_hr = lstm.weight_hr_l1.detach()
    assert w_hr.shape == (16, 64) and bool(w_hr.abs().le(bound).all())
    assert float(w_hr.abs().max()) > 0.9 * bound
    assert torch.equal(lstm.bias_ih_l0[64:128].detach(), torch.ones(64))


# --- what torch lacks: with peepholes, weight_drop, zoneout ---------------------------------------


def with_peepholes(backend: str) -> Any:
    torch.manual_seed(0)
    return rnnkit.LSTM(
        N_IN, H, 2, bidirectional=True, proj_size=P, peephole=True, backend=backend, dtype=F64
    )


@pytest.mark.parametrize("mode", ["dense", "lengths", "packed"])
def test_peephole_projection_fused_matches_loop(mode: str, assert_close: AssertClose) -> None:
    fused, loop = with_peepholes("fused"), with_peepholes("loop")
    loop.load_state_dict(fused.state_dict(), strict=True)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(T, B, N_IN, generator=gen, dtype=F64)
    hx = (
        torch.randn(4, B, P, generator=gen, dtype=F64),
        torch.randn(4, B, H, generator=gen, dtype=F64),
    )
    results, leaves = [], []
    for layer in (fused, loop):
        x_leaf, hx_leaf = leaf(x), tuple(leaf(s) for s in hx)
        results.append(named_outputs(run(layer, mode, x_leaf, hx_leaf, False, ours=True)))
        leaves.append(
            {
                "input": x_leaf,
                "h_0": hx_leaf[0],
                "c_0": hx_leaf[1],
                **dict(layer.named_parameters()),
            }
        )
    upstream = {k: torch.randn(v.shape, generator=gen, dtype=F64) for k, v in results[1].items()}
    for name in results[1]:
        assert_close(name, results[1][name], results[0][name])
    grads_fused = gradients(results[0], upstream, leaves[0])
    grads_loop = gradients(results[1], upstream, leaves[1])
    assert {"weight_ch_l1_reverse", "weight_hr_l1_reverse"} <= set(grads_loop)
    for name, grad in grads_loop.items():
        assert grad is not None and grad.abs().max() > 0, name
        assert_close(f"grad {name}", grad, grads_fused[name])


@pytest.mark.parametrize("backend", ["fused", "loop"])
def test_peephole_projection_gradcheck(backend: str) -> None:
    """Central differences through W_hr, the peepholes and x, bidirectional, unsorted lengths."""
    torch.manual_seed(0)
    layer = rnnkit.LSTM(N_IN, 3, bidirectional=True, proj_size=2, peephole=True, dtype=F64)
    layer.backend = backend
    names = ["weight_hr_l0_reverse", "weight_ch_l0_reverse", "weight_hr_l0"]
    x = torch.randn(3, 2, N_IN, dtype=F64, requires_grad=True)

    def f(x: Tensor, *weights: Tensor) -> tuple[Tensor, ...]:
        params = dict(zip(names, weights, strict=True))
        out, (h, c) = torch.func.functional_call(layer, params, (x,), {"lengths": [2, 3]})
        return out, h, c

    weights = tuple(leaf(getattr(layer, n)) for n in names)
    assert torch.autograd.gradcheck(f, (x, *weights))


def test_native_refuses_peephole_with_projection() -> None:
    with pytest.raises(ValueError, match=r"backend='native' is not available for peephole=True"):
        rnnkit.LSTM(N_IN, H, proj_size=P, peephole=True, backend="native")
    assert rnnkit.LSTM(N_IN, H, proj_size=P, peephole=True).backend_used == "fused"
    assert rnnkit.LSTM(N_IN, H, proj_size=P).backend_used == "native"


@pytest.mark.parametrize("backend", BACKENDS)
def test_weight_drop_is_one_draw_per_weight_hh(backend: str, assert_close: AssertClose) -> None:
    """In training, torch's LSTM(proj_size) with each weight_hh (4H, P) replaced by one
    F.dropout draw (in parameter order); gradients reach weight_hh and W_hr."""
    ref, ours = make_pair(backend)
    ours.weight_drop = 0.5
    x = torch.randn(T, B, N_IN, dtype=F64)
    torch.manual_seed(3)
    got = named_outputs(ours(x, lengths=LENGTHS))
    torch.manual_seed(3)
    with torch.no_grad():
        for name in HH_NAMES:
            getattr(ref, name).copy_(F.dropout(getattr(ours, name), 0.5, True))
    packed = pack_padded_sequence(x, LENGTHS, enforce_sorted=False)
    out, state = ref(packed)
    expected = named_outputs((pad_packed_sequence(out, total_length=T)[0], state))
    for name in expected:
        assert_close(name, expected[name], got[name])
    sum(v.sum() for v in got.values()).backward()
    for name in ("weight_hh_l1", "weight_hr_l1_reverse"):
        grad = getattr(ours, name).grad
        assert grad is not None and grad.abs().max() > 0, name


def test_zoneout_eval_is_the_expected_recurrence(assert_close: AssertClose) -> None:
    """h_t = p·h_{t-1} + (1 − p)·h̃_t on the projected h (P wide), the same on c (H wide)."""
    p = 0.3
    torch.manual_seed(0)
    layer = rnnkit.LSTM(N_IN, H, proj_size=P, zoneout=p, dtype=F64).eval()
    assert layer.backend_used == "loop"
    x = torch.randn(T, B, N_IN, dtype=F64)
    h, c = torch.randn(B, P, dtype=F64), torch.randn(B, H, dtype=F64)
    out, (h_n, c_n) = layer(x, (h[None], c[None]))
    w = [getattr(layer, f"{n}_l0") for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    steps = []
    with torch.no_grad():
        for t in range(T):
            h_new, c_new = lstm_cell(x[t], h, c, *w, None, w_hr=layer.weight_hr_l0)
            h, c = p * h + (1 - p) * h_new, p * c + (1 - p) * c_new
            steps.append(h)
    assert_close("out", torch.stack(steps), out)
    assert_close("h_n", h[None], h_n)
    assert_close("c_n", c[None], c_n)


def test_zoneout_training_keeps_or_updates_each_unit() -> None:
    """Each projected unit of h is exactly h_{t-1} or the fresh one; gradients reach W_hr."""
    torch.manual_seed(0)
    layer = rnnkit.LSTM(N_IN, H, proj_size=P, zoneout=0.5, dtype=F64)
    x = torch.randn(T, 8, N_IN, dtype=F64)
    out, (h_n, c_n) = layer(x)
    assert out.shape == (T, 8, P) and h_n.shape == (1, 8, P) and c_n.shape == (1, 8, H)
    prev = torch.cat([torch.zeros(1, 8, P, dtype=F64), out[:-1]])
    kept = out == prev
    assert 0.2 < float(kept.double().mean()) < 0.8
    (out.sum() + c_n.sum()).backward()
    assert layer.weight_hr_l0.grad is not None and layer.weight_hr_l0.grad.abs().max() > 0


def test_zoneout_with_a_projection_runs_the_loop_and_refuses_fused() -> None:
    layer = rnnkit.LSTM(N_IN, H, proj_size=P, zoneout=0.2)
    assert layer.last_dispatch.reason == "auto: zoneout with proj_size runs in the per-step path"
    with pytest.raises(ValueError, match=r"LSTM: zoneout=0.2 with proj_size .*backend='loop'"):
        rnnkit.LSTM(N_IN, H, proj_size=P, zoneout=0.2, backend="fused")


# --- shapes, checks, repr ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hx", "label", "want"),
    [
        (((1, B, H), (1, B, H)), "h_0", (1, B, P)),
        (((1, B, P), (1, B, P)), "c_0", (1, B, H)),
    ],
    ids=["h0_hidden_wide", "c0_proj_wide"],
)
def test_hx_shapes_are_checked_clearly(
    hx: tuple[tuple[int, ...], ...], label: str, want: tuple[int, ...]
) -> None:
    layer = rnnkit.LSTM(N_IN, H, proj_size=P)
    state = tuple(torch.zeros(s) for s in hx)
    with pytest.raises(ValueError) as info:
        layer(torch.randn(T, B, N_IN), state)
    message, given = str(info.value), hx[0] if label == "h_0" else hx[1]
    assert message.startswith(f"LSTM: hx {label} must have shape {want}, got {given}")
    assert f"proj_size={P}" in message and "\n" not in message


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (
            5,
            r"LSTM: proj_size must be smaller than hidden_size=5 \(torch's rule\), got proj_size=5",
        ),
        (9, r"smaller than hidden_size=5 .*got proj_size=9"),
        (-1, r"LSTM: proj_size must be a non-negative integer \(0: no projection\), got -1"),
        (2.0, r"proj_size must be a non-negative integer .*got 2\.0"),
        (True, r"proj_size must be a non-negative integer .*got True"),
    ],
)
def test_bad_proj_size_is_refused(value: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        rnnkit.LSTM(N_IN, H, proj_size=value)


def test_repr_and_attributes() -> None:
    layer = rnnkit.LSTM(N_IN, H, 2, proj_size=P, bidirectional=True)
    assert layer.proj_size == P
    assert "proj_size=3" in repr(layer)
    assert "proj_size" not in repr(rnnkit.LSTM(N_IN, H))
    assert rnnkit.LSTM(N_IN, H).proj_size == 0


def test_pickles_round_trip_and_older_pickles_load(assert_close: AssertClose) -> None:
    """A projected layer pickles; an LSTM pickled before projections existed (no proj_size in
    its instance) loads as proj_size=0."""
    _, layer = make_pair("fused")
    again = pickle.loads(pickle.dumps(layer))
    x = torch.randn(T, B, N_IN, dtype=F64)
    for name, value in named_outputs(layer(x)).items():
        assert_close(name, value, named_outputs(again(x))[name])
    plain = rnnkit.LSTM(N_IN, H)
    state = dict(plain.__dict__)
    del state["proj_size"]
    old = rnnkit.LSTM.__new__(rnnkit.LSTM)
    old.__setstate__(state)
    assert old.proj_size == 0 and old(torch.randn(T, B, N_IN))[0].shape == (T, B, H)
