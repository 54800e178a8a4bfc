"""The AWD-LSTM regularisers: LockedDropout, embedding dropout, AR/TAR, and the layers'
``weight_drop`` (DropConnect on weight_hh, every backend) and ``zoneout`` (fused and loop).

Each test shows what the regulariser does: which entries a mask drops and that the same mask is
used where it should be, against a plain layer given the same draw or a hand-written recurrence
in float64.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

import rnnkit
from rnnkit.nn import (
    Dispatch,
    LockedDropout,
    activation_penalty,
    embedding_dropout,
    temporal_activation_penalty,
)
from rnnkit.tasks.encoder import EncoderConfig, build_encoder

AssertClose = Callable[..., None]

T, B, N_IN, H = 7, 3, 4, 5
LENGTHS = [7, 3, 5]
F64 = torch.float64

# config -> (class, options, backends it runs on the CPU)
CONFIGS: dict[str, tuple[type[Any], dict[str, Any], list[str]]] = {
    "rnn": (rnnkit.RNN, {}, ["native", "fused", "loop"]),
    "lstm": (rnnkit.LSTM, {}, ["native", "fused", "loop"]),
    "gru": (rnnkit.GRU, {}, ["native", "fused", "loop"]),
    "lstm_peephole": (rnnkit.LSTM, {"peephole": True}, ["fused", "loop"]),
    "gru_reset_before": (rnnkit.GRU, {"reset_after": False}, ["fused", "loop"]),
}
CONFIG_BACKENDS = [(c, b) for c, (_, _, backends) in CONFIGS.items() for b in backends]
HH_NAMES = ["weight_hh_l0", "weight_hh_l0_reverse", "weight_hh_l1", "weight_hh_l1_reverse"]


def make(config: str, backend: str = "auto", **options: Any) -> Any:
    """A float64 2-layer bidirectional layer of ``config``, weights from seed 0."""
    cls, variant, _ = CONFIGS[config]
    torch.manual_seed(0)
    return cls(N_IN, H, 2, bidirectional=True, backend=backend, dtype=F64, **variant, **options)


def outputs(result: Any) -> list[Tensor]:
    out, state = result
    return [out, *(state if isinstance(state, tuple) else (state,))]


# --- LockedDropout ------------------------------------------------------------------------------


def test_locked_dropout_uses_one_mask_for_every_time_step() -> None:
    torch.manual_seed(0)
    out = LockedDropout(0.5)(torch.ones(8, 6, 16))  # (B, T, F)
    assert set(out.unique().tolist()) == {0.0, 2.0}  # dropped, or kept and scaled by 1/(1 − p)
    assert torch.equal(out, out[:, :1].expand_as(out))  # the same at every step
    assert not torch.equal(out[0, 0], out[1, 0])  # but each sequence has its own mask


def test_locked_dropout_time_major_layout() -> None:
    torch.manual_seed(0)
    out = LockedDropout(0.25, batch_first=False)(torch.ones(6, 8, 16, dtype=F64))  # (T, B, F)
    assert set(out.unique().tolist()) == {0.0, 4 / 3}
    assert torch.equal(out, out[:1].expand_as(out))
    assert not torch.equal(out[0, 0], out[0, 1])


def test_locked_dropout_is_the_identity_in_eval_or_at_zero() -> None:
    x = torch.randn(3, 4, 5)
    assert LockedDropout(0.5).eval()(x) is x
    assert LockedDropout(0.0)(x) is x


def test_locked_dropout_preserves_the_mean() -> None:
    torch.manual_seed(0)
    out = LockedDropout(0.5)(torch.ones(200, 3, 500))
    assert abs(float(out.mean()) - 1.0) < 0.02


@pytest.mark.parametrize("p", [1.0, -0.1, 1.5, True, "0.5"])
def test_locked_dropout_refuses_a_bad_rate(p: Any) -> None:
    with pytest.raises(ValueError, match=r"LockedDropout: p must be in \[0, 1\)"):
        LockedDropout(p)


# --- embedding dropout ----------------------------------------------------------------------------


def test_embedding_dropout_drops_word_types_and_scales_the_kept_ones() -> None:
    torch.manual_seed(0)
    emb = nn.Embedding(20, 6)
    ids = torch.randint(0, 20, (4, 30))  # every type occurs several times
    out = embedding_dropout(emb, ids, 0.5, training=True)  # (4, 30, 6)
    dropped, kept = 0, 0
    for word in ids.unique().tolist():
        rows = out[ids == word]  # every occurrence of this word
        if rows.abs().sum() == 0:
            dropped += 1
        else:
            assert torch.allclose(rows, (emb.weight[word] * 2).expand_as(rows))
            kept += 1
    assert dropped > 0 and kept > 0

    out.sum().backward()  # the weight's gradient: 1/(1 − p) per occurrence of a kept word
    assert emb.weight.grad is not None
    for word in range(20):
        count = int((ids == word).sum())
        was_kept = bool(out[ids == word].abs().sum() > 0) if count else False
        expected = 2.0 * count if was_kept else 0.0
        assert torch.equal(emb.weight.grad[word], torch.full((6,), expected)), word


def test_embedding_dropout_keeps_the_padding_row_without_gradient() -> None:
    torch.manual_seed(1)
    emb = nn.Embedding(10, 4, padding_idx=0)
    ids = torch.tensor([[0, 1, 2, 0], [3, 0, 4, 5]])
    out = embedding_dropout(emb, ids, 0.3, training=True)
    assert torch.equal(out[ids == 0], torch.zeros(3, 4))
    out.sum().backward()
    assert emb.weight.grad is not None and torch.equal(emb.weight.grad[0], torch.zeros(4))


def test_embedding_dropout_is_the_plain_lookup_in_eval_or_at_zero() -> None:
    emb = nn.Embedding(10, 4)
    ids = torch.randint(0, 10, (3, 5))
    assert torch.equal(embedding_dropout(emb, ids, 0.5, training=False), emb(ids))
    assert torch.equal(embedding_dropout(emb, ids, 0.0, training=True), emb(ids))


def test_embedding_dropout_refuses_a_bad_rate_and_max_norm() -> None:
    emb = nn.Embedding(10, 4)
    ids = torch.zeros(2, 2, dtype=torch.long)
    with pytest.raises(ValueError, match=r"embedding_dropout: p must be in \[0, 1\)"):
        embedding_dropout(emb, ids, 1.0, training=True)
    with pytest.raises(ValueError, match="max_norm"):
        embedding_dropout(nn.Embedding(10, 4, max_norm=1.0), ids, 0.1, training=True)


# --- AR and TAR -----------------------------------------------------------------------------------


def test_activation_penalty_is_alpha_times_the_mean_square() -> None:
    h = torch.randn(3, 7, 5, dtype=F64)
    expected = 2.0 * sum(float(v) ** 2 for v in h.flatten()) / h.numel()
    assert abs(float(activation_penalty(h, 2.0)) - expected) < 1e-12
    zero = activation_penalty(h, 0.0)
    assert isinstance(zero, Tensor) and zero.dim() == 0 and float(zero) == 0.0


def test_temporal_activation_penalty_is_beta_times_the_mean_square_step() -> None:
    h = torch.randn(3, 7, 5, dtype=F64)  # (B, T, H)
    steps = [(h[:, t] - h[:, t - 1]).pow(2).sum() for t in range(1, 7)]
    expected = 0.5 * float(sum(steps)) / (3 * 6 * 5)
    got = temporal_activation_penalty(h, 0.5)
    assert got.dim() == 0 and abs(float(got) - expected) < 1e-12
    time_major = temporal_activation_penalty(h.transpose(0, 1), 0.5, batch_first=False)
    assert abs(float(time_major) - expected) < 1e-12
    for zero in (temporal_activation_penalty(h, 0.0), temporal_activation_penalty(h[:, :1], 1.0)):
        assert isinstance(zero, Tensor) and zero.dim() == 0 and float(zero) == 0.0


# --- weight_drop ----------------------------------------------------------------------------------


def dropped_twin(layer: Any, config: str, backend: str, seed: int) -> Any:
    """The same layer without weight drop whose weight_hh matrices are the draws ``layer``
    makes under ``seed``: F.dropout of each, in parameter order."""
    twin = make(config, backend)
    twin.load_state_dict(layer.state_dict(), strict=True)
    torch.manual_seed(seed)
    with torch.no_grad():
        for name in HH_NAMES:
            getattr(twin, name).copy_(F.dropout(getattr(layer, name), layer.weight_drop, True))
    return twin


@pytest.mark.parametrize(("config", "backend"), CONFIG_BACKENDS)
def test_weight_drop_is_off_in_eval(config: str, backend: str, assert_close: AssertClose) -> None:
    dropped, plain = make(config, backend, weight_drop=0.5), make(config, backend)
    x = torch.randn(T, B, N_IN, dtype=F64)
    for got, expected in zip(
        outputs(dropped.eval()(x)), outputs(plain.eval()(x)), strict=True
    ):  # fmt: skip
        assert_close("output", expected, got)


@pytest.mark.parametrize("inputs", ["dense", "lengths"])
@pytest.mark.parametrize(("config", "backend"), CONFIG_BACKENDS)
def test_weight_drop_is_one_dropout_draw_per_matrix(
    config: str, backend: str, inputs: str, assert_close: AssertClose
) -> None:
    """In training the output is the plain layer's with each weight_hh replaced by one
    F.dropout draw, used at every step: the draws are made once per call, in parameter order."""
    layer = make(config, backend, weight_drop=0.5)
    x = torch.randn(T, B, N_IN, dtype=F64)
    options = {"lengths": LENGTHS} if inputs == "lengths" else {}
    before = {name: p.detach().clone() for name, p in layer.named_parameters()}
    torch.manual_seed(3)
    got = outputs(layer(x, **options))
    expected = outputs(dropped_twin(layer, config, backend, seed=3)(x, **options))
    for name, e, g in zip(["out", "h_n", "c_n"], expected, got, strict=False):
        assert_close(name, e, g)
    for name, p in layer.named_parameters():  # the parameters themselves are unchanged
        assert torch.equal(p, before[name]), name
    torch.manual_seed(4)  # another call, another mask
    assert not torch.allclose(outputs(layer(x, **options))[0], got[0])


@pytest.mark.parametrize("config", list(CONFIGS))
def test_weight_drop_backends_agree_under_one_seed(config: str, assert_close: AssertClose) -> None:
    x = torch.randn(T, B, N_IN, dtype=F64)
    results = {}
    for backend in CONFIGS[config][2]:
        layer = make(config, backend, weight_drop=0.4)
        torch.manual_seed(5)
        out = outputs(layer(x, lengths=LENGTHS))
        out[0].pow(2).sum().backward()
        results[backend] = (out, [getattr(layer, n).grad for n in HH_NAMES])
    (first, grads), *others = results.values()
    for other, other_grads in others:
        for e, g in zip(first + grads, other + other_grads, strict=True):
            assert_close("output or weight_hh gradient", e, g)


@pytest.mark.parametrize(("config", "backend"), CONFIG_BACKENDS)
def test_weight_drop_gradient_is_zero_where_the_mask_dropped(config: str, backend: str) -> None:
    layer = make(config, backend, weight_drop=0.5)
    x = torch.randn(T, B, N_IN, dtype=F64)
    torch.manual_seed(6)
    out = outputs(layer(x))
    sum((o * torch.randn_like(o)).sum() for o in out).backward()
    torch.manual_seed(6)  # the same draws again: which entries were dropped
    for name in HH_NAMES:
        param = getattr(layer, name)
        dropped = F.dropout(torch.ones_like(param), 0.5, True) == 0
        assert 0 < int(dropped.sum()) < dropped.numel()
        assert torch.equal(param.grad[dropped], torch.zeros(int(dropped.sum()), dtype=F64)), name
        assert (param.grad[~dropped] != 0).all(), name


def test_a_torch_lstm_state_dict_loads_strictly_with_weight_drop(assert_close: AssertClose) -> None:
    torch.manual_seed(0)
    ref = nn.LSTM(N_IN, H, 2, bidirectional=True, dtype=F64)
    ours = rnnkit.LSTM(N_IN, H, 2, bidirectional=True, weight_drop=0.5, dtype=F64)
    ours.load_state_dict(ref.state_dict(), strict=True)
    assert list(ours.state_dict()) == list(ref.state_dict())
    x = torch.randn(T, B, N_IN, dtype=F64)
    ours.eval()
    for name, e, g in zip(["out", "h_n", "c_n"], outputs(ref(x)), outputs(ours(x)), strict=True):
        assert_close(name, e, g)


def test_weight_drop_gradcheck_fused_lstm() -> None:
    """Central differences in float64 through the dropped weights; the mask is fixed by seeding
    inside the function."""
    torch.manual_seed(0)
    layer = rnnkit.LSTM(3, 4, weight_drop=0.5, backend="fused", dtype=F64)
    names = [name for name, _ in layer.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_() for p in layer.parameters())
    x = torch.randn(4, 2, 3, dtype=F64, requires_grad=True)

    def f(x: Tensor, *params: Tensor) -> tuple[Tensor, ...]:
        torch.manual_seed(7)
        out, (h, c) = torch.func.functional_call(layer, dict(zip(names, params, strict=True)), x)
        return out, h, c

    assert torch.autograd.gradcheck(f, (x, *params))


# --- zoneout --------------------------------------------------------------------------------------

TORCH_CELLS: dict[str, tuple[type[Any], type[nn.Module]]] = {
    "lstm": (rnnkit.LSTM, nn.LSTMCell),
    "gru": (rnnkit.GRU, nn.GRUCell),
    "rnn": (rnnkit.RNN, nn.RNNCell),
}


def torch_cell(family: str, layer: Any) -> nn.Module:
    """torch's cell of ``family`` with the weights of ``layer``'s first layer."""
    cell = TORCH_CELLS[family][1](N_IN, H, dtype=F64)
    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    cell.load_state_dict({n: getattr(layer, f"{n}_l0") for n in names}, strict=True)
    return cell


@pytest.mark.parametrize("family", list(TORCH_CELLS))
def test_zoneout_eval_is_the_expected_recurrence(family: str, assert_close: AssertClose) -> None:
    """h_t = p·h_{t-1} + (1 − p)·cell(x_t, h_{t-1}) (and the same for the LSTM's c)."""
    p = 0.3
    torch.manual_seed(0)
    layer = TORCH_CELLS[family][0](N_IN, H, zoneout=p, dtype=F64).eval()
    cell = torch_cell(family, layer)
    x = torch.randn(T, B, N_IN, dtype=F64)
    state = [torch.randn(B, H, dtype=F64) for _ in range(2 if family == "lstm" else 1)]
    got = outputs(layer(x, tuple(s[None] for s in state) if family == "lstm" else state[0][None]))
    steps = []
    for t in range(T):
        fresh = cell(x[t], tuple(state)) if family == "lstm" else (cell(x[t], state[0]),)
        state = [p * old + (1 - p) * new for old, new in zip(state, fresh, strict=True)]
        steps.append(state[0])
    assert_close("out", torch.stack(steps), got[0])
    assert len(got) == 1 + len(state)
    for name, e, g in zip(["h_n", "c_n"], state, got[1:], strict=False):
        assert_close(name, e[None], g)


@pytest.mark.parametrize("family", ["gru", "rnn"])
def test_zoneout_training_keeps_or_updates_each_unit(family: str) -> None:
    """Each unit at each step is exactly h_{t-1} or exactly the fresh cell output, about p of
    them kept, with a fresh mask per step."""
    torch.manual_seed(0)
    layer = TORCH_CELLS[family][0](N_IN, H, zoneout=0.5, dtype=F64)
    cell = torch_cell(family, layer)
    x, h0 = torch.randn(T, 8, N_IN, dtype=F64), torch.randn(1, 8, H, dtype=F64)
    out, _ = layer(x, h0)
    prev = torch.cat([h0, out[:-1]])  # (T, B, H) h_{t-1}
    fresh = torch.stack([cell(x[t], prev[t]) for t in range(T)])
    kept, updated = out == prev, (out - fresh).abs() < 1e-12
    assert (kept ^ updated).all()  # one or the other, never both (fresh differs from h_{t-1})
    assert 0.35 < float(kept.double().mean()) < 0.65
    assert not torch.equal(kept[1:], kept[:-1])


def test_zoneout_near_one_keeps_every_layer_and_direction_at_its_initial_state() -> None:
    torch.manual_seed(0)
    lstm = rnnkit.LSTM(N_IN, H, 2, bidirectional=True, zoneout=1 - 1e-9, dtype=F64)
    hx = tuple(torch.randn(4, B, H, dtype=F64) for _ in range(2))
    out, (h_n, c_n) = lstm(torch.randn(T, B, N_IN, dtype=F64), hx)
    assert torch.equal(h_n, hx[0]) and torch.equal(c_n, hx[1])
    top = torch.cat([hx[0][2], hx[0][3]], dim=1)  # the top layer's two directions: (B, 2H)
    assert torch.equal(out, top.expand_as(out))


@pytest.mark.parametrize("family", ["lstm", "gru"])
def test_zoneout_on_packed_input_ends_each_sequence_at_its_own_last_step(
    family: str, assert_close: AssertClose
) -> None:
    torch.manual_seed(0)
    layer = TORCH_CELLS[family][0](N_IN, H, 2, bidirectional=True, zoneout=0.3, dtype=F64)
    x = torch.randn(T, B, N_IN, dtype=F64)
    # eval (deterministic): each sequence as if it ran alone, its final state at its last step
    layer.eval()
    out, *state = outputs(layer(x, lengths=LENGTHS))
    for b, length in enumerate(LENGTHS):
        alone = outputs(layer(x[:length, b : b + 1]))
        assert_close(f"out of sequence {b}", alone[0][:, 0], out[:length, b])
        assert torch.equal(out[length:, b], torch.zeros(T - length, 2 * H, dtype=F64))
        for s_alone, s_batch in zip(alone[1:], state, strict=True):
            assert_close(f"final state of sequence {b}", s_alone[:, 0], s_batch[:, b])
    # training: the top layer's final h is its output at the last step (t = 0 for the reverse)
    layer.train()
    torch.manual_seed(1)
    out, h_n = outputs(layer(x, lengths=LENGTHS))[:2]
    for b, length in enumerate(LENGTHS):
        assert torch.equal(h_n[2, b], out[length - 1, b, :H])
        assert torch.equal(h_n[3, b], out[0, b, H:])


@pytest.mark.parametrize("config", list(CONFIGS))
def test_zoneout_runs_fused_and_says_why(config: str) -> None:
    layer = make(config, zoneout=0.1)
    reason = Dispatch("fused", "auto: torch's kernel has no zoneout; rnnkit's fused op has")
    assert layer.last_dispatch == reason
    layer(torch.randn(T, B, N_IN, dtype=F64))[0].sum().backward()
    assert layer.last_dispatch == reason and layer.last_training_dispatch == reason
    with torch.no_grad():
        layer.eval()(torch.randn(T, B, N_IN, dtype=F64), lengths=LENGTHS)
    assert layer.last_dispatch == reason
    assert make(config, "loop", zoneout=0.1).last_dispatch.backend == "loop"


@pytest.mark.parametrize("config", list(CONFIGS))
def test_zoneout_fused_and_loop_draw_the_same_and_agree(
    config: str, assert_close: AssertClose
) -> None:
    """From one seed the two backends draw the same keep masks (every layer, direction and
    state), so a training call gives the same outputs and the same gradient of every weight."""
    fused, loop = make(config, "fused", zoneout=0.3), make(config, "loop", zoneout=0.3)
    x = torch.randn(T, B, N_IN, dtype=F64)
    results = []
    for layer in (fused, loop):
        torch.manual_seed(5)
        got = outputs(layer(x, lengths=LENGTHS))
        torch.manual_seed(6)
        loss = sum((torch.randn_like(o) * o).sum() for o in got)
        grads = torch.autograd.grad(loss, list(layer.parameters()))
        results.append((got, grads))
    for name, a, b in zip(["out", "h_n", "c_n"], results[0][0], results[1][0], strict=False):
        assert_close(name, b, a)
    names = [n for n, _ in fused.named_parameters()]
    for name, a, b in zip(names, results[0][1], results[1][1], strict=True):
        assert_close(f"grad {name}", b, a)
    assert fused.last_training_dispatch.backend == "fused"


@pytest.mark.parametrize("family", ["rnn", "lstm", "gru"])
def test_zoneout_refuses_torchs_kernel(family: str) -> None:
    cls = CONFIGS[family][0]
    with pytest.raises(ValueError, match=r"zoneout=0.1 .*backend='native'"):
        cls(N_IN, H, zoneout=0.1, backend="native")
    layer = cls(N_IN, H, zoneout=0.1)
    with pytest.raises(ValueError, match=r"zoneout=0.1 .*backend='native'"):
        layer.backend = "native"


@pytest.mark.parametrize("backend", ["fused", "loop"])
def test_zoneout_gradcheck_in_training(backend: str) -> None:
    torch.manual_seed(0)
    layer = rnnkit.GRU(3, 4, bidirectional=True, zoneout=0.4, dtype=F64, backend=backend)
    x = torch.randn(4, 2, 3, dtype=F64, requires_grad=True)
    w = layer.weight_hh_l0.detach().clone().requires_grad_()

    def f(x: Tensor, w: Tensor) -> tuple[Tensor, Tensor]:
        torch.manual_seed(8)
        out, h = torch.func.functional_call(layer, {"weight_hh_l0": w}, (x,), {"lengths": [4, 2]})
        return out, h

    assert torch.autograd.gradcheck(f, (x, w))


# --- options: validation, repr, the encoder config ------------------------------------------------


@pytest.mark.parametrize("option", ["weight_drop", "zoneout"])
@pytest.mark.parametrize("family", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("value", [1.0, -0.2, True, "0.1"])
def test_layers_refuse_a_bad_rate(family: str, option: str, value: Any) -> None:
    cls = CONFIGS[family][0]
    with pytest.raises(ValueError, match=rf"{cls.__name__}: {option} must be in \[0, 1\)"):
        cls(N_IN, H, **{option: value})


def test_repr_names_the_options_when_set() -> None:
    assert "weight_drop=0.5, zoneout=0.25" in repr(rnnkit.LSTM(2, 3, weight_drop=0.5, zoneout=0.25))
    assert "weight_drop" not in repr(rnnkit.LSTM(2, 3)) and "zoneout" not in repr(rnnkit.GRU(2, 3))


@pytest.mark.parametrize("option", ["weight_drop", "zoneout"])
@pytest.mark.parametrize("value", [1.0, -0.1])
def test_encoder_config_refuses_a_bad_rate(option: str, value: float) -> None:
    with pytest.raises(ValueError, match=rf"encoder: {option} must be in \[0, 1\)"):
        EncoderConfig(**{option: value})


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_build_encoder_passes_the_regularisers(cell: str) -> None:
    layer = build_encoder(EncoderConfig(cell=cell, hidden_size=4, weight_drop=0.3, zoneout=0.2), 3)
    assert (layer.weight_drop, layer.zoneout) == (0.3, 0.2)
    assert layer.last_dispatch.backend == "fused"
    plain = build_encoder(EncoderConfig(cell=cell, hidden_size=4), 3)
    assert (plain.weight_drop, plain.zoneout) == (0.0, 0.0)
    with pytest.raises(ValueError, match=r"zoneout=0.2 .*backend='native'"):
        build_encoder(EncoderConfig(cell=cell, zoneout=0.2, backend="native"), 3)
