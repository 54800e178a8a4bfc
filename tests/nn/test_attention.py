"""Attention over a padded source (Bahdanau additive, Luong dot and general), in float64.

Each score is checked against its formula written out by hand from the module's parameters; the
batched paths (T decoder steps at once, a reused ``prepare``) against the one-step call; padding
against changed padding; gradients by gradcheck, including a row with no real position.
"""

from __future__ import annotations

import doctest
import math
import re
from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import Tensor

import rnnkit.nn
import rnnkit.nn.attention
from rnnkit.nn import ATTENTION_KINDS, Attention

AssertClose = Callable[..., None]

F64 = torch.float64
B, S, T, Q, K, A = 3, 5, 4, 6, 7, 9  # odd sizes, all different, so a swapped axis fails
LENGTHS = [5, 2, 4]


def sizes(kind: str) -> tuple[int, int]:
    """(query_size, key_size) for ``kind``: dot needs them equal."""
    return (K, K) if kind == "dot" else (Q, K)


def make(kind: str, seed: int = 0) -> Attention:
    torch.manual_seed(seed)
    q_size, k_size = sizes(kind)
    return Attention(kind, q_size, k_size, A if kind == "additive" else None, dtype=F64)


def inputs(kind: str, steps: int | None = T, seed: int = 1) -> tuple[Tensor, Tensor, Tensor]:
    """query (B, Q) or (B, T, Q), keys (B, S, K), mask (B, S) from LENGTHS."""
    q_size, k_size = sizes(kind)
    generator = torch.Generator().manual_seed(seed)
    shape = (B, q_size) if steps is None else (B, steps, q_size)
    query = torch.randn(shape, generator=generator, dtype=F64)
    keys = torch.randn(B, S, k_size, generator=generator, dtype=F64)
    mask = torch.arange(S).unsqueeze(0) < torch.tensor(LENGTHS).unsqueeze(1)
    return query, keys, mask


def hand_scores(attention: Attention, query: Tensor, keys: Tensor) -> Tensor:
    """(B, Q) queries, (B, S, K) keys -> scores (B, S), one pair at a time from the formula."""
    scores = torch.empty(query.shape[0], keys.shape[1], dtype=F64)
    for b in range(query.shape[0]):
        for s in range(keys.shape[1]):
            q, k = query[b], keys[b, s]
            if attention.kind == "additive":
                assert attention.query_proj is not None and attention.key_proj is not None
                assert attention.v is not None
                W_q, W_k = attention.query_proj.weight, attention.key_proj.weight
                bias = attention.key_proj.bias
                score = attention.v @ torch.tanh(W_q @ q + W_k @ k + bias)
            elif attention.kind == "dot":
                score = q @ k
            else:
                assert attention.key_proj is not None
                score = q @ attention.key_proj.weight @ k  # qᵀ W_a k, W_a (Q, K)
            scores[b, s] = score
    return scores.detach()


# --- the surface --------------------------------------------------------------------------------


def test_exports() -> None:
    assert ATTENTION_KINDS == ("additive", "dot", "general")
    assert {"Attention", "ATTENTION_KINDS"} <= set(rnnkit.nn.__all__)
    assert rnnkit.nn.Attention is rnnkit.nn.attention.Attention


def test_docstring_examples_pass() -> None:
    torch.manual_seed(0)
    result = doctest.testmod(rnnkit.nn.attention, extraglobs={"torch": torch}, report=False)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize(
    ("kind", "hidden_size", "shapes"),
    [
        ("additive", 9, {"query_proj.weight": (9, Q), "key_proj.weight": (9, K),
                         "key_proj.bias": (9,), "v": (9,)}),
        ("additive", None, {"query_proj.weight": (Q, Q), "key_proj.weight": (Q, K),
                            "key_proj.bias": (Q,), "v": (Q,)}),
        ("general", None, {"key_proj.weight": (Q, K)}),
        ("dot", None, {}),
    ],
)  # fmt: skip
def test_parameters_and_initialisation(
    kind: str, hidden_size: int | None, shapes: dict[str, tuple[int, ...]]
) -> None:
    """One bias (in W_k), none for general; A defaults to Q; v in ±1/sqrt(A) (it was drawn from
    a NaN-filled ``torch.empty``, so an unwritten v fails here too)."""
    torch.manual_seed(0)
    q_size = K if kind == "dot" else Q
    attention = Attention(kind, q_size, K, hidden_size, dtype=F64)
    got = {name: tuple(p.shape) for name, p in attention.named_parameters()}
    assert got == shapes
    assert all(p.dtype == F64 for p in attention.parameters())
    if attention.v is not None:
        bound = 1 / math.sqrt(attention.v.shape[0])
        assert bool((attention.v.abs() <= bound).all()) and attention.v.abs().max() > bound / 4
    before = {n: p.clone() for n, p in attention.named_parameters()}
    attention.reset_parameters()
    assert all(not torch.equal(p, before[n]) for n, p in attention.named_parameters())
    assert attention.prepared_size == {"additive": hidden_size or Q, "general": Q, "dot": K}[kind]
    assert kind in repr(attention)


# --- what the weights are -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ATTENTION_KINDS)
def test_score_matches_the_hand_formula(kind: str, assert_close: AssertClose) -> None:
    """weights = softmax over the real positions of the hand-written scores; context =
    Σ_s weights_s k_s."""
    attention = make(kind)
    query, keys, mask = inputs(kind, steps=None)
    context, weights = attention(query, keys, mask)
    scores = hand_scores(attention, query, keys)
    ref_weights = torch.zeros(B, S, dtype=F64)
    for b, length in enumerate(LENGTHS):
        e = torch.exp(scores[b, :length] - scores[b, :length].max())
        ref_weights[b, :length] = e / e.sum()
    ref_context = torch.stack([(ref_weights[b, :, None] * keys[b]).sum(0) for b in range(B)])
    assert_close("weights", ref_weights, weights)
    assert_close("context", ref_context, context)


@pytest.mark.parametrize("kind", ATTENTION_KINDS)
@pytest.mark.parametrize("steps", [None, T], ids=["one_step", "many_steps"])
def test_weights_sum_to_one_and_padding_gets_zero(
    kind: str, steps: int | None, assert_close: AssertClose
) -> None:
    attention = make(kind)
    query, keys, mask = inputs(kind, steps)
    context, weights = attention(query, keys, mask)
    lead = (B,) if steps is None else (B, steps)
    assert weights.shape == (*lead, S) and context.shape == (*lead, K)
    assert bool((weights >= 0).all())
    assert_close("Σ_s weights", torch.ones(lead, dtype=F64), weights.sum(-1))
    hidden = ~mask if steps is None else ~mask.unsqueeze(1).expand(B, steps, S)
    assert bool((weights[hidden] == 0).all()), "a masked position has a non-zero weight"


@pytest.mark.parametrize("kind", ATTENTION_KINDS)
def test_padding_values_do_not_change_the_output(kind: str) -> None:
    """Keys at masked positions changed (large, and of the other sign) -> exactly the same
    context and weights, and exactly zero gradient at those positions."""
    attention = make(kind)
    query, keys, mask = inputs(kind)
    changed = keys.masked_fill(~mask.unsqueeze(2), 1e3) * torch.where(mask, 1.0, -7.0)[..., None]
    assert not torch.equal(changed, keys)
    context, weights = attention(query, keys, mask)
    context2, weights2 = attention(query, changed.requires_grad_(), mask)
    assert torch.equal(context, context2) and torch.equal(weights, weights2)
    context2.backward(torch.randn_like(context2))
    assert changed.grad is not None
    assert bool((changed.grad[~mask] == 0).all())


@pytest.mark.parametrize("kind", ATTENTION_KINDS)
def test_no_mask_is_an_all_true_mask(kind: str, assert_close: AssertClose) -> None:
    attention = make(kind)
    query, keys, _ = inputs(kind)
    context, weights = attention(query, keys)
    context_all, weights_all = attention(query, keys, torch.ones(B, S, dtype=torch.bool))
    assert_close("weights", weights_all, weights)
    assert_close("context", context_all, context)


# --- batched paths agree with the one-step call -------------------------------------------------


@pytest.mark.parametrize("kind", ATTENTION_KINDS)
def test_many_steps_equal_one_call_per_step(kind: str, assert_close: AssertClose) -> None:
    attention = make(kind)
    query, keys, mask = inputs(kind)
    context, weights = attention(query, keys, mask)
    for t in range(T):
        context_t, weights_t = attention(query[:, t], keys, mask)
        assert_close(f"weights[:, {t}]", weights_t, weights[:, t])
        assert_close(f"context[:, {t}]", context_t, context[:, t])


@pytest.mark.parametrize("kind", ATTENTION_KINDS)
def test_prepare_reused_is_the_same(kind: str, assert_close: AssertClose) -> None:
    """``prepare`` is the documented per-key term, and passing it gives what computing it does,
    outputs and gradients (the parameters' too: W_k's gradient flows through ``prepared``)."""
    attention = make(kind)
    query, keys, mask = inputs(kind)
    prepared = attention.prepare(keys)
    if kind == "dot":
        assert prepared is keys
    else:
        assert attention.key_proj is not None
        bias = attention.key_proj.bias
        ref = keys @ attention.key_proj.weight.T + (0 if bias is None else bias)
        assert_close("prepared", ref, prepared)
    grad = torch.randn(B, T, K, dtype=F64)
    results = []
    for reuse in (False, True):
        attention.zero_grad()
        q, k = query.clone().requires_grad_(), keys.clone().requires_grad_()
        context, weights = attention(q, k, mask, attention.prepare(k) if reuse else None)
        context.backward(grad)
        grads = {n: p.grad.clone() for n, p in attention.named_parameters() if p.grad is not None}
        results.append(
            (context.detach(), weights.detach(), {"query": q.grad, "keys": k.grad, **grads})
        )
    (c0, w0, g0), (c1, w1, g1) = results
    assert_close("context", c0, c1)
    assert_close("weights", w0, w1)
    assert (
        g0.keys() == g1.keys() == {"query", "keys", *(n for n, _ in attention.named_parameters())}
    )
    for name in g0:
        assert_close(f"{name}.grad", g0[name], g1[name])


# --- gradients ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ATTENTION_KINDS)
@pytest.mark.parametrize("steps", [None, T], ids=["one_step", "many_steps"])
def test_gradcheck_with_a_mask(kind: str, steps: int | None) -> None:
    """gradcheck on query and keys, through context and weights (with random output weights,
    so both outputs are checked in every direction)."""
    attention = make(kind)
    query, keys, mask = inputs(kind, steps)
    query.requires_grad_()
    keys.requires_grad_()

    def f(query: Tensor, keys: Tensor) -> tuple[Tensor, Tensor]:
        return attention(query, keys, mask)

    assert torch.autograd.gradcheck(f, (query, keys))


@pytest.mark.parametrize("kind", ["additive", "general"])  # dot has none
def test_gradcheck_parameters(kind: str) -> None:
    """gradcheck on every parameter (W_q, W_k, b, v; W_a), with a mask."""
    attention = make(kind)
    query, keys, mask = inputs(kind)
    names = [n for n, _ in attention.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_() for p in attention.parameters())

    def f(*values: Tensor) -> tuple[Tensor, Tensor]:
        state = dict(zip(names, values, strict=True))
        return torch.func.functional_call(attention, state, (query, keys, mask), strict=True)

    assert torch.autograd.gradcheck(f, params)


@pytest.mark.filterwarnings("ignore:Anomaly Detection has been enabled:UserWarning")
@pytest.mark.parametrize("kind", ATTENTION_KINDS)
@pytest.mark.parametrize("steps", [None, T], ids=["one_step", "many_steps"])
def test_a_row_with_no_real_position(
    kind: str, steps: int | None, assert_close: AssertClose
) -> None:
    """An all-False mask row: zero weights, zero context, no NaN (not even inside the backward),
    zero gradients for that row, and the other rows as without it; gradcheck still holds."""
    attention = make(kind)
    query, keys, mask = inputs(kind, steps)
    mask[1] = False
    query.requires_grad_()
    keys.requires_grad_()
    context, weights = attention(query, keys, mask)
    assert not context.isnan().any() and not weights.isnan().any()
    assert bool((weights[1] == 0).all()) and bool((context[1] == 0).all())
    ref_context, ref_weights = attention(query[[0, 2]], keys[[0, 2]], mask[[0, 2]])
    assert_close("context, other rows", ref_context, context[[0, 2]])
    assert_close("weights, other rows", ref_weights, weights[[0, 2]])
    with torch.autograd.detect_anomaly(check_nan=True):  # no NaN made, even one hidden later
        (context.sum() + (weights * torch.randn_like(weights)).sum()).backward()
    for name, tensor in [("query", query), ("keys", keys), *attention.named_parameters()]:
        assert tensor.grad is not None and bool(tensor.grad.isfinite().all()), name
    assert query.grad is not None and keys.grad is not None
    assert bool((query.grad[1] == 0).all()) and bool((keys.grad[1] == 0).all())
    fresh = (query.detach().requires_grad_(), keys.detach().requires_grad_())
    assert torch.autograd.gradcheck(lambda q, k: attention(q, k, mask), fresh)


def test_float32_and_no_nan_with_big_scores() -> None:
    """float32 with scores of ±1e4 (dot of large vectors): masked positions still exactly 0,
    no NaN, an all-False row still 0."""
    torch.manual_seed(0)
    attention = Attention("dot", 8, 8)
    query, keys = 100 * torch.randn(2, 3, 8), 100 * torch.randn(2, 4, 8)
    mask = torch.tensor([[True, False, True, False], [False, False, False, False]])
    context, weights = attention(query.requires_grad_(), keys, mask)
    assert not weights.isnan().any() and not context.isnan().any()
    assert bool((weights[:, :, ~mask[0]].eq(0)).all()) and bool((weights[1] == 0).all())
    assert torch.allclose(weights[0].sum(-1), torch.ones(3))
    context.sum().backward()
    assert query.grad is not None and bool(query.grad.isfinite().all())


# --- errors -------------------------------------------------------------------------------------


def check(call: Callable[[], Any], *parts: str) -> None:
    """``call`` raises one line of ValueError starting "Attention: " that holds every part."""
    with pytest.raises(ValueError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message and message.startswith("Attention: "), message
    for part in parts:
        assert part in message, f"{part!r} not in {message!r}"


def call(kind: str, query: Tensor, keys: Tensor, mask: Tensor | None = None,
         prepared: Tensor | None = None) -> Callable[[], Any]:  # fmt: skip
    return lambda: make(kind)(query, keys, mask, prepared)


Qx, Kx, Mx = torch.zeros(B, Q, dtype=F64), torch.zeros(B, S, K, dtype=F64), torch.ones(B, S).bool()
ERRORS: dict[str, tuple[Callable[[], Any], tuple[str, ...]]] = {
    "kind": (lambda: Attention("bilinear", Q, K), ("kind", "'additive', 'dot', 'general'",
                                                    "'bilinear'")),
    "query_size": (lambda: Attention("general", 0, K), ("query_size", "got 0")),
    "key_size": (lambda: Attention("general", Q, -1), ("key_size", "got -1")),
    "hidden_size": (lambda: Attention("additive", Q, K, 0), ("hidden_size", "got 0")),
    "hidden_size_dot": (lambda: Attention("dot", K, K, 5), ("hidden_size", "'dot'")),
    "hidden_size_general": (lambda: Attention("general", Q, K, 5), ("hidden_size", "'general'")),
    "dot_sizes": (lambda: Attention("dot", Q, K), ("query_size == key_size",
                                                  f"query_size={Q}", f"key_size={K}")),
    "query_last_dim": (call("general", torch.zeros(B, Q + 1, dtype=F64), Kx),
                       ("query", f"query_size={Q}", f"({B}, {Q + 1})")),
    "query_1d": (call("general", torch.zeros(Q, dtype=F64), Kx), ("query", f"({Q},)")),
    "query_batch": (call("general", torch.zeros(B + 1, Q, dtype=F64), Kx),
                    ("batch size", f"({B + 1}, {Q})", f"({B}, {S}, {K})")),
    "keys_last_dim": (call("additive", Qx, torch.zeros(B, S, K + 1, dtype=F64)),
                      ("keys", f"key_size={K}", f"({B}, {S}, {K + 1})")),
    "keys_2d": (call("dot", torch.zeros(B, K, dtype=F64), torch.zeros(S, K, dtype=F64)),
                ("keys", f"({S}, {K})")),
    "prepare_keys": (lambda: make("additive").prepare(torch.zeros(B, S, Q, dtype=F64)),
                     ("keys", f"key_size={K}", f"({B}, {S}, {Q})")),
    "mask_shape": (call("additive", Qx, Kx, torch.ones(B, S + 1).bool()),
                   ("mask", f"({B}, {S})", f"({B}, {S + 1})")),
    "mask_dtype": (call("additive", Qx, Kx, torch.ones(B, S)), ("mask", "bool", "torch.float32")),
    "prepared_shape": (call("additive", Qx, Kx, Mx, torch.zeros(B, S, A + 1, dtype=F64)),
                       ("prepared", f"({B}, {S}, {A})", f"({B}, {S}, {A + 1})")),
    "prepared_of_other_keys": (call("general", Qx, Kx, Mx, torch.zeros(B, S - 1, Q, dtype=F64)),
                               ("prepared", f"({B}, {S}, {Q})", f"({B}, {S - 1}, {Q})")),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_errors(case: str) -> None:
    check(ERRORS[case][0], *ERRORS[case][1])


def test_error_lists_every_kind() -> None:
    with pytest.raises(ValueError, match=re.escape(", ".join(map(repr, ATTENTION_KINDS)))):
        Attention("luong", Q, K)
