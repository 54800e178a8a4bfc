"""``SequencePooling``: every kind on a hand-made (B=2, T=4, F=3) batch of lengths 4 and 2 —
padding never reaches the result or the gradient, max and mean equal values worked by hand,
attention weights (read off as gradients) are 0 at padding and sum to 1; ``out_features``; the
error for an unknown kind."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch
from torch import Tensor

from rnnkit.nn.pooling import POOLINGS, SequencePooling

HUGE = 1e6  # at padding: it would win every max and swamp every mean and softmax
LENGTHS = torch.tensor([4, 2])

# sample 0 has 4 real steps; sample 1 has 2, then 2 steps of padding
REAL = [
    [[1.0, 2.0, 3.0], [4.0, -1.0, 0.0], [-2.0, 5.0, 1.0], [0.0, 0.0, 8.0]],
    [[2.0, -3.0, 1.0], [-4.0, 1.0, 5.0]],
]
# max over real steps, per feature:  sample 0 [4, 5, 8];  sample 1 [2, 1, 5]
MAX = [[4.0, 5.0, 8.0], [2.0, 1.0, 5.0]]
# mean over real steps: sample 0 [3, 6, 12] / 4;  sample 1 [-2, -2, 6] / 2
MEAN = [[0.75, 1.5, 3.0], [-1.0, -1.0, 3.0]]


def batch(padding: float) -> Tensor:
    """The (2, 4, 3) outputs, float64, with ``padding`` in every padded position."""
    rows = [steps + [[padding] * 3] * (4 - len(steps)) for steps in REAL]
    return torch.tensor(rows, dtype=torch.float64)


def pooling(kind: str) -> SequencePooling:
    torch.manual_seed(0)
    return SequencePooling(kind, 3).double()


LAST = torch.tensor([[7.0, 8.0, 9.0], [-7.0, -8.0, -9.0]], dtype=torch.float64)


def test_last_returns_the_final_state_as_given() -> None:
    got = pooling("last")(batch(HUGE), LENGTHS, LAST)
    assert torch.equal(got, LAST)


@pytest.mark.parametrize(
    ("kind", "expected"),
    [("max", MAX), ("mean", MEAN), ("maxmean", [m + a for m, a in zip(MAX, MEAN, strict=True)])],
)
def test_max_and_mean_equal_hand_values(
    kind: str, expected: list[list[float]], assert_close: Callable[..., None]
) -> None:
    got = pooling(kind)(batch(HUGE), LENGTHS, LAST)
    assert_close(kind, torch.tensor(expected, dtype=torch.float64), got)


def test_max_takes_a_negative_real_value_over_smaller_padding() -> None:
    outputs = batch(-HUGE)
    outputs[1, :2] = -torch.tensor([[3.0, 2.0, 1.0], [1.0, 2.0, 3.0]])
    got = pooling("max")(outputs, LENGTHS, LAST)
    assert got[1].tolist() == [-1.0, -2.0, -1.0]


@pytest.mark.parametrize("kind", POOLINGS)
def test_padding_never_reaches_the_result(kind: str, assert_close: Callable[..., None]) -> None:
    module = pooling(kind)
    reference = module(batch(0.0), LENGTHS, LAST)
    for padding in (HUGE, -HUGE, 1e30):
        assert_close(
            f"{kind}, padding {padding:g}", reference, module(batch(padding), LENGTHS, LAST)
        )


@pytest.mark.parametrize("kind", [k for k in POOLINGS if k != "last"])
def test_padding_gets_no_gradient(kind: str) -> None:
    outputs = batch(HUGE).requires_grad_()
    torch.manual_seed(1)
    pooled = pooling(kind)(outputs, LENGTHS, LAST)
    (pooled * torch.randn_like(pooled)).sum().backward()
    assert outputs.grad is not None
    assert torch.all(outputs.grad[1, 2:] == 0), "padding steps of sample 1 got a gradient"
    assert torch.any(outputs.grad[1, :2] != 0) and torch.any(outputs.grad[0] != 0)


# --- attention weights, read off as gradients -------------------------------------------------
#
# project = diag(1, 0, 0) without bias and query v = (2 ln 2, 0, 0): the score of step t is
# 2 ln 2 · tanh(o_t0), so o_t0 = atanh(1/2) scores ln 2 (exp 2) and o_t0 = 0 scores 0 (exp 1).
# Features 1 and 2 never reach a score, so the result's feature 1 is Σ_t w_t o_t1 with weights
# that do not depend on o_·1: ∂ result[b, 1] / ∂ outputs[b, t, 1] = w_t.
#   sample 0, o_·0 = (atanh ½, 0, 0, atanh ½): exp (2, 1, 1, 2) → w = (1/3, 1/6, 1/6, 1/3)
#   sample 1, o_·0 = (0, atanh ½ | pad, pad):  exp (1, 2)       → w = (1/3, 2/3, 0, 0)
# (unmasked, the padding, tanh(HUGE) = 1, would score 2 ln 2 and take weight 4/7.)
WEIGHTS = [[1 / 3, 1 / 6, 1 / 6, 1 / 3], [1 / 3, 2 / 3, 0.0, 0.0]]


def scripted_attention() -> SequencePooling:
    module = pooling("attention")
    with torch.no_grad():
        module.project.weight.zero_()
        module.project.weight[0, 0] = 1.0
        module.project.bias.zero_()
        module.query.weight.copy_(torch.tensor([[2 * math.log(2), 0.0, 0.0]], dtype=torch.float64))
    return module


def attention_batch(padding: float) -> Tensor:
    outputs = batch(padding)
    half = math.atanh(0.5)
    outputs[0, :, 0] = torch.tensor([half, 0.0, 0.0, half], dtype=torch.float64)
    outputs[1, :2, 0] = torch.tensor([0.0, half], dtype=torch.float64)
    return outputs


def test_attention_weights_are_zero_at_padding_and_sum_to_one(
    assert_close: Callable[..., None],
) -> None:
    outputs = attention_batch(HUGE).requires_grad_()
    pooled = scripted_attention()(outputs, LENGTHS, LAST)
    pooled[:, 1].sum().backward()
    assert outputs.grad is not None
    weights = outputs.grad[:, :, 1]  # (B, T)
    assert_close("attention weights", torch.tensor(WEIGHTS, dtype=torch.float64), weights)
    assert_close("Σ_t weights", torch.ones(2, dtype=torch.float64), weights.sum(1))
    weighted = torch.tensor(WEIGHTS, dtype=torch.float64).unsqueeze(2) * attention_batch(0.0)
    assert_close("attention result", weighted.sum(1), pooled.detach())  # Σ_t w_t o_t


def test_attention_with_a_constant_score_is_the_mean(assert_close: Callable[..., None]) -> None:
    module = pooling("attention")
    with torch.no_grad():
        module.project.weight.zero_()
        module.project.bias.zero_()  # every score tanh(0)·v = 0: uniform over real steps
    got = module(batch(HUGE), LENGTHS, LAST)
    assert_close("attention = mean", torch.tensor(MEAN, dtype=torch.float64), got)


@pytest.mark.parametrize("padding", [math.inf, math.nan])
def test_attention_ignores_non_finite_padding(
    padding: float, assert_close: Callable[..., None]
) -> None:
    module = pooling("attention")
    reference = module(batch(0.0), LENGTHS, LAST)
    assert_close("attention", reference, module(batch(padding), LENGTHS, LAST))


@pytest.mark.parametrize("padding", [math.inf, math.nan])
@pytest.mark.parametrize("kind", ["max", "mean", "maxmean"])
def test_max_and_mean_ignore_non_finite_padding(
    kind: str, padding: float, assert_close: Callable[..., None]
) -> None:
    module = pooling(kind)
    reference = module(batch(0.0), LENGTHS, LAST)
    assert_close(kind, reference, module(batch(padding), LENGTHS, LAST))


# --- sizes and errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "out_features"),
    [("last", 3), ("max", 3), ("mean", 3), ("maxmean", 6), ("attention", 3)],
)
def test_out_features_is_the_width_of_the_result(kind: str, out_features: int) -> None:
    module = pooling(kind)
    assert module.out_features == out_features
    assert module(batch(HUGE), LENGTHS, LAST).shape == (2, out_features)


def test_every_kind_is_covered() -> None:
    assert set(POOLINGS) == {"last", "max", "mean", "maxmean", "attention"}


def test_only_attention_has_parameters() -> None:
    for kind in POOLINGS:
        count = sum(p.numel() for p in SequencePooling(kind, 3).parameters())
        assert count == (3 * 3 + 3 + 3 if kind == "attention" else 0), kind


def test_unknown_kind_is_an_error() -> None:
    message = "SequencePooling: kind must be one of last, max, mean, maxmean, attention, got 'sum'"
    with pytest.raises(ValueError, match=message):
        SequencePooling("sum", 3)
