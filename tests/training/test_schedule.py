"""Learning-rate schedules and optimizers by name: every schedule's factor at the start, the end of
warm-up, halfway through the decay and the last step, worked from the formulas in
``lr_factor``'s docstring and code; the same numbers through ``make_scheduler`` on a real
optimizer; the epoch-level decay of ``plateau`` and ``step``; every optimizer name; clear errors
for unknown names."""

from __future__ import annotations

import io
import itertools
import math

import pytest
import torch
from torch import nn

from rnnkit.training.ntasgd import NTASGD
from rnnkit.training.schedule import (
    OPTIMIZERS,
    SCHEDULES,
    apply_lr,
    epoch_decay,
    lr_factor,
    make_optimizer,
    make_scheduler,
)

TOTAL, WARMUP = 10, 4  # 10 optimizer steps (0..9), the first 4 warming up (warmup fraction 0.4)
STEPS = (0, 2, 3, 4, 7, 9, 10)  # start, mid warm-up, warm-up ends, peak, halfway, last, after
START, END = 1 / 25, 1 / 25 / 1e4  # onecycle: from 1/25 of the peak to 1/10⁴ of that

# constant / linear / cosine warm up linearly, (s + 1) / W for s < W: 1/4, 3/4, then 1 at s = 3.
# Then progress p = (s − W) / (T − W) = (s − 4) / 6: 0 at s = 4, 1/2 at s = 7, 5/6 at s = 9,
# 1 at s = 10; linear is 1 − p, cosine ½(1 + cos πp), constant 1.
# onecycle, as torch's OneCycleLR, goes up along half a cosine to the peak at the warm-up's last
# step, START + (1 − START)·½(1 − cos(π s/(W − 1))), 1 at s = 3; then down to END at the last
# step, END + (1 − END)·½(1 + cos πq), q = (s − 3) / (T − 1 − 3) = (s − 3) / 6. plateau and step
# are constant per step (their rate changes between epochs, by epoch_decay).
COS_5_6 = 0.5 * (1 + math.cos(5 * math.pi / 6))  # = ½(1 − √3/2) ≈ 0.0670
EXPECTED = {
    #           s=0    s=2    s=3    s=4  s=7  s=9      s=10
    "constant": [1 / 4, 3 / 4, 1.0, 1.0, 1.0, 1.0, 1.0],
    "plateau": [1 / 4, 3 / 4, 1.0, 1.0, 1.0, 1.0, 1.0],
    "step": [1 / 4, 3 / 4, 1.0, 1.0, 1.0, 1.0, 1.0],
    "linear": [1 / 4, 3 / 4, 1.0, 1.0, 1 / 2, 1 / 6, 0.0],
    "cosine": [1 / 4, 3 / 4, 1.0, 1.0, 1 / 2, COS_5_6, 0.0],
    "onecycle": [
        START,  # cos 0 = 1: the ramp starts at 0
        START + (1 - START) * 0.75,  # s/(W − 1) = 2/3: ½(1 − cos 2π/3) = 3/4
        1.0,  # the warm-up's last step is the peak
        END + (1 - END) * 0.5 * (1 + math.cos(math.pi / 6)),  # q = 1/6: ≈ 0.933
        END + (1 - END) * 0.25,  # q = 4/6: ½(1 + cos 2π/3) = 1/4
        END,  # q = 1: the last step
        END,
    ],
}


def test_every_schedule_has_expected_values() -> None:
    assert set(EXPECTED) == set(SCHEDULES)
    assert math.isclose(COS_5_6, 0.5 * (1 - math.sqrt(3) / 2))


@pytest.mark.parametrize("kind", SCHEDULES)
def test_lr_factor_follows_its_formula(kind: str) -> None:
    got = [lr_factor(s, total=TOTAL, warmup=WARMUP, kind=kind) for s in STEPS]
    assert got == pytest.approx(EXPECTED[kind], rel=1e-12, abs=1e-15), dict(
        zip(STEPS, got, strict=True)
    )


@pytest.mark.parametrize("kind", SCHEDULES)
def test_the_peak_is_the_largest_factor(kind: str) -> None:
    factors = [lr_factor(s, total=TOTAL, warmup=WARMUP, kind=kind) for s in range(TOTAL)]
    assert max(factors) == pytest.approx(1.0)
    peak = WARMUP - 1 if kind == "onecycle" else WARMUP  # torch's OneCycleLR peaks a step early
    assert factors[peak] == pytest.approx(1.0), "the peak is where the warm-up ends"


@pytest.mark.parametrize("kind", ["linear", "cosine", "onecycle"])
def test_the_decay_never_rises(kind: str) -> None:
    factors = [lr_factor(s, total=TOTAL, warmup=WARMUP, kind=kind) for s in range(WARMUP, TOTAL)]
    assert all(a > b for a, b in itertools.pairwise(factors)), factors


@pytest.mark.parametrize("kind", SCHEDULES)
def test_without_warmup_the_first_step_is_the_peak(kind: str) -> None:
    assert lr_factor(0, total=TOTAL, warmup=0, kind=kind) == pytest.approx(1.0)


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_past_the_end_the_factor_stays_zero(kind: str) -> None:
    assert lr_factor(TOTAL + 5, total=TOTAL, warmup=WARMUP, kind=kind) == pytest.approx(0.0)


def sgd(lr: float = 0.1) -> torch.optim.Optimizer:
    return torch.optim.SGD([nn.Parameter(torch.zeros(2))], lr=lr)


@pytest.mark.parametrize("kind", SCHEDULES)
def test_make_scheduler_sets_the_learning_rate_of_each_step(kind: str) -> None:
    peak = 0.1
    optimizer = sgd(peak)
    scheduler = make_scheduler(optimizer, kind, total_steps=TOTAL, warmup_fraction=0.4)
    seen = []  # the learning rate optimizer step s runs with, for s = 0..10
    for _ in range(TOTAL + 1):
        seen.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    got = [seen[s] for s in STEPS]
    expected = [peak * f for f in EXPECTED[kind]]
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_the_epoch_scale_multiplies_the_step_factor() -> None:
    optimizer, scale = sgd(0.1), [1.0]
    scheduler = make_scheduler(
        optimizer, "step", total_steps=TOTAL, warmup_fraction=0.4, scale=lambda: scale[0]
    )
    optimizer.step()
    scheduler.step()  # step 1 of the warm-up: 2/4 of the peak
    scale[0] = 0.5
    apply_lr(scheduler)  # the new scale reaches the next step, not the one after it
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5 * 2 / 4)
    assert scheduler.last_epoch == 1, "apply_lr takes no step"
    optimizer.step()
    scheduler.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5 * 3 / 4)


@pytest.mark.parametrize(
    ("kind", "improved", "after", "expected"),
    [
        # plateau: decay after an epoch without gain, whatever its number
        ("plateau", [True, True, False, True, False, False], 0, [1, 1, 1, 1 / 4, 1 / 4, 1 / 16]),
        # step, Zaremba et al.: after 4 the lr halves every epoch, improving or not
        ("step", [True, False] * 4, 4, [1, 1, 1, 1, 1 / 2, 1 / 4, 1 / 8, 1 / 16]),
        ("step", [True] * 4, 0, [1, 1 / 2, 1 / 4, 1 / 8]),  # after 0: from epoch 1 on
        ("step", [True] * 3, 9, [1, 1, 1]),
        ("cosine", [False] * 3, 0, [1, 1, 1]),  # a per-step schedule never decays by epoch
        ("constant", [False] * 3, 0, [1, 1, 1]),
    ],
)
def test_epoch_decay_gives_the_rate_of_each_epoch(
    kind: str, improved: list[bool], after: int, expected: list[float]
) -> None:
    decay = 1 / 4 if kind == "plateau" else 1 / 2
    scale, rates = 1.0, []  # the scale each epoch runs with (1-based epoch e = index + 1)
    for done, gained in enumerate(improved, start=1):
        rates.append(scale)
        scale *= epoch_decay(kind, epochs_done=done, improved=gained, decay=decay, after=after)
    assert rates == expected


def test_scheduler_state_reloads_without_pickle() -> None:
    optimizer = sgd()
    scheduler = make_scheduler(optimizer, "cosine", total_steps=TOTAL, warmup_fraction=0.4)
    for _ in range(3):
        optimizer.step()
        scheduler.step()
    buffer = io.BytesIO()
    torch.save(scheduler.state_dict(), buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    again = make_scheduler(sgd(), "cosine", total_steps=TOTAL, warmup_fraction=0.4)
    again.load_state_dict(state)
    assert again.last_epoch == 3
    assert again.get_last_lr() == pytest.approx([0.1 * 1.0])  # s = 3: the end of warm-up


def test_onecycle_matches_torch_onecyclelr() -> None:
    optimizer = sgd(1.0)
    torch_schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=1.0, total_steps=TOTAL, pct_start=WARMUP / TOTAL, cycle_momentum=False
    )
    reference = []
    for _ in range(TOTAL):
        reference.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        torch_schedule.step()
    got = [lr_factor(s, total=TOTAL, warmup=WARMUP, kind="onecycle") for s in range(TOTAL)]
    assert got == pytest.approx(reference, rel=1e-9, abs=1e-12)


# --- optimizers -------------------------------------------------------------------------------

OPTIMIZER_CLASSES = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
    "ntasgd": NTASGD,
}


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_optimizer_name_builds(name: str) -> None:
    assert set(OPTIMIZER_CLASSES) == set(OPTIMIZERS)
    weight = nn.Parameter(torch.ones(3))
    optimizer = make_optimizer([weight], name, lr=0.05, weight_decay=0.01, momentum=0.8)
    assert type(optimizer) is OPTIMIZER_CLASSES[name]
    group = optimizer.param_groups[0]
    assert (group["lr"], group["weight_decay"]) == (0.05, 0.01)
    assert group["params"] == [weight]
    if name == "sgd":
        assert group["momentum"] == 0.8
    if name == "ntasgd":
        assert (group["momentum"], optimizer.nonmono) == (0, 5), "plain SGD until it averages"
    weight.grad = torch.ones(3)
    optimizer.step()
    assert torch.all(weight < 1), "one step moves the weight against its gradient"


@pytest.mark.parametrize("name", ["adamax", "Adam", ""])
def test_unknown_optimizer_is_a_clear_error(name: str) -> None:
    message = f"optimizer must be one of adam, adamw, sgd, ntasgd, got {name!r}"
    with pytest.raises(ValueError, match=message):
        make_optimizer([nn.Parameter(torch.ones(1))], name, lr=0.1, weight_decay=0, momentum=0)


def test_unknown_schedule_is_a_clear_error() -> None:
    message = "schedule must be one of constant, linear, cosine, onecycle, plateau, step, got 'exp'"
    with pytest.raises(ValueError, match=message):
        lr_factor(0, total=TOTAL, warmup=WARMUP, kind="exp")
    with pytest.raises(ValueError, match=message):  # at construction, not at the first step
        make_scheduler(sgd(), "exp", total_steps=TOTAL, warmup_fraction=0.1)
