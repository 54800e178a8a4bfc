"""What a layer's forward call ran, recorded truthfully per call (``last_dispatch``,
``backend_used``, ``backend_reason``), proved independently of those attributes.

What ran is seen by counting calls: torch's kernels (``torch._VF.rnn_tanh``, ``lstm``, ``gru``)
for ``native``, the whole-sequence forward and backward inside the fused ops' autograd
Functions (``rnnkit.ops.*.*_forward`` / ``*_backward``) for ``fused``, and the per-step
``rnnkit.ops.*.*_cell`` that only the loop calls for ``loop``.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

import rnnkit
import rnnkit.ops.gru
import rnnkit.ops.lstm
import rnnkit.ops.rnn
from rnnkit.nn import Dispatch
from rnnkit.nn.layers import _RecurrentLayer
from rnnkit.nn.quantized import Int8Recurrent

T, B, N_IN, H = 5, 3, 4, 6
LENGTHS = [5, 2, 4]  # unsorted

# name -> (constructor, ops module, torch kernel name, whether torch has the configuration)
CONFIGS: dict[str, tuple[Callable[..., _RecurrentLayer], Any, str, bool]] = {
    "rnn": (lambda **kw: rnnkit.RNN(N_IN, H, **kw), rnnkit.ops.rnn, "rnn_tanh", True),
    "lstm": (lambda **kw: rnnkit.LSTM(N_IN, H, **kw), rnnkit.ops.lstm, "lstm", True),
    "lstm-peephole": (
        lambda **kw: rnnkit.LSTM(N_IN, H, peephole=True, **kw),
        rnnkit.ops.lstm,
        "lstm",
        False,
    ),
    "gru": (lambda **kw: rnnkit.GRU(N_IN, H, **kw), rnnkit.ops.gru, "gru", True),
    "gru-reset-before": (
        lambda **kw: rnnkit.GRU(N_IN, H, reset_after=False, **kw),
        rnnkit.ops.gru,
        "gru",
        False,
    ),
}

# What ``auto`` runs on the CPU (README "Backends"): fused where torch has no kernel; training
# (gradients recorded) a GRU on any input and an LSTM on packed input run fused; else native.
AUTO_ON_CPU: dict[tuple[str, str, str], str] = {
    (config, mode, inputs): (
        "fused"
        if not CONFIGS[config][3]
        or (mode == "train" and (config == "gru" or (config == "lstm" and inputs == "lengths")))
        else "native"
    )
    for config in CONFIGS
    for mode in ("train", "eval")
    for inputs in ("dense", "lengths")
}


class _Counter:
    """Wraps a function and counts its calls."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn, self.calls = fn, 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self.fn(*args, **kwargs)


@dataclass
class Ran:
    """Call counts of what can run a layer: per backend, and the fused backward."""

    counters: dict[str, list[_Counter]] = field(default_factory=dict)
    fused_backward: list[_Counter] = field(default_factory=list)

    def calls(self) -> dict[str, int]:
        return {name: sum(c.calls for c in found) for name, found in self.counters.items()}

    def backward_calls(self) -> int:
        return sum(c.calls for c in self.fused_backward)

    def only(self) -> str:
        """The one backend that ran since the last :meth:`reset`; fails if none or several."""
        ran = [name for name, calls in self.calls().items() if calls]
        assert len(ran) == 1, f"expected exactly one backend to run, got calls {self.calls()}"
        return ran[0]

    def reset(self) -> None:
        for found in [*self.counters.values(), self.fused_backward]:
            for counter in found:
                counter.calls = 0


@pytest.fixture
def ran(monkeypatch: pytest.MonkeyPatch) -> Ran:
    """Counters on torch's kernels, the fused ops' inner forward/backward and the loop's step."""
    record = Ran({"native": [], "fused": [], "loop": []})
    for kernel in ("rnn_tanh", "rnn_relu", "lstm", "gru"):
        counter = _Counter(getattr(torch._VF, kernel))
        monkeypatch.setattr(torch._VF, kernel, counter)
        record.counters["native"].append(counter)
    for family, module in (
        ("rnn", rnnkit.ops.rnn),
        ("lstm", rnnkit.ops.lstm),
        ("gru", rnnkit.ops.gru),
    ):
        for name, bucket in (
            (f"{family}_forward", record.counters["fused"]),
            (f"{family}_backward", record.fused_backward),
            (f"{family}_cell", record.counters["loop"]),
        ):
            counter = _Counter(getattr(module, name))
            monkeypatch.setattr(module, name, counter)
            bucket.append(counter)
    return record


def _call(layer: nn.Module, mode: str, inputs: str) -> None:
    """One forward call (and, training, a backward) on dense or ``lengths=`` input."""
    x = torch.randn(T, B, N_IN)
    options = {"lengths": LENGTHS} if inputs == "lengths" else {}
    if mode == "train":
        layer.train()
        output, _ = layer(x, **options)
        output.sum().backward()
    else:
        layer.eval()
        with torch.no_grad():
            layer(x, **options)


def _check_recorded(layer: _RecurrentLayer, backend: str) -> None:
    dispatch = layer.last_dispatch
    assert isinstance(dispatch, Dispatch)
    assert (layer.backend_used, layer.backend_reason) == tuple(dispatch)
    assert layer.backend_used == backend, dispatch
    assert isinstance(layer.backend_reason, str) and layer.backend_reason.strip()


@pytest.mark.parametrize("inputs", ["dense", "lengths"])
@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("config", list(CONFIGS))
def test_auto_records_what_ran(config: str, mode: str, inputs: str, ran: Ran) -> None:
    layer = CONFIGS[config][0]()
    _call(layer, mode, inputs)
    what_ran = ran.only()
    assert what_ran == AUTO_ON_CPU[(config, mode, inputs)]
    _check_recorded(layer, what_ran)
    assert layer.backend_reason.startswith("auto")
    if mode == "train":
        assert (ran.backward_calls() > 0) == (what_ran == "fused")
        assert layer.last_training_dispatch == layer.last_dispatch
    else:
        assert layer.last_training_dispatch is None  # no call of this layer recorded gradients


@pytest.mark.parametrize("inputs", ["dense", "lengths"])
@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("backend", ["native", "fused", "loop"])
@pytest.mark.parametrize("config", list(CONFIGS))
def test_explicit_backend_records_what_ran(
    config: str, backend: str, mode: str, inputs: str, ran: Ran
) -> None:
    make, _, _, torch_has_it = CONFIGS[config]
    if backend == "native" and not torch_has_it:
        with pytest.raises(ValueError, match="backend='native' is not available"):
            make(backend=backend)
        return
    layer = make(backend=backend)
    _check_recorded(layer, backend)  # before any call: the backend asked for
    _call(layer, mode, inputs)
    assert ran.only() == backend
    _check_recorded(layer, backend)
    assert repr(backend) in layer.backend_reason
    if mode == "train":
        assert (ran.backward_calls() > 0) == (backend == "fused")


def test_the_record_follows_each_call(ran: Ran) -> None:
    """A GRU trained then evaluated with ``auto``: each call's record is what that call ran,
    and ``last_training_dispatch`` keeps the training one."""
    gru = rnnkit.GRU(N_IN, H)
    assert gru.backend_used == "native" and "for inference" in gru.backend_reason  # no call yet
    assert gru.last_training_dispatch is None
    _call(gru, "train", "dense")
    assert ran.only() == "fused" == gru.backend_used
    assert "training on the CPU" in gru.backend_reason
    training = gru.last_dispatch
    ran.reset()
    _call(gru, "eval", "dense")
    assert ran.only() == "native" == gru.backend_used
    assert "no gradient" in gru.backend_reason
    assert gru.last_training_dispatch == training
    assert f"backend={gru.backend_used}" in repr(gru)
    gru.backend = "loop"  # a new setting: the record is what it runs, nothing ran with it yet
    assert (gru.backend_used, gru.last_training_dispatch) == ("loop", None)


@pytest.mark.parametrize(
    "make", [lambda: rnnkit.LSTM(N_IN, H), lambda: rnnkit.RNN(N_IN, H)], ids=["lstm", "rnn"]
)
def test_auto_says_why_training_stays_native(make: Callable[[], _RecurrentLayer], ran: Ran) -> None:
    layer = make()
    _call(layer, "train", "dense")
    assert ran.only() == "native" == layer.backend_used
    assert "torch has a kernel" in layer.backend_reason
    assert ("dense input" if isinstance(layer, rnnkit.LSTM) else "no faster") in (
        layer.backend_reason
    )


@pytest.mark.parametrize("config", ["lstm", "gru", "gru-reset-before"])
def test_unbatched_and_packed_inputs_record_what_ran(config: str, ran: Ran) -> None:
    """Each input form goes through the same decision: an unbatched (T, I) input is dense, a
    PackedSequence is packed."""
    layer = CONFIGS[config][0]()
    layer(torch.randn(T, N_IN))[0].sum().backward()  # unbatched, training
    assert ran.only() == layer.backend_used == AUTO_ON_CPU[(config, "train", "dense")]
    ran.reset()
    packed = pack_padded_sequence(
        torch.randn(T, B, N_IN), torch.tensor(LENGTHS), enforce_sorted=False
    )
    layer(packed)[0].data.sum().backward()
    assert ran.only() == layer.backend_used == AUTO_ON_CPU[(config, "train", "lengths")]
    ran.reset()
    with torch.no_grad():
        layer(packed)
    assert ran.only() == layer.backend_used == AUTO_ON_CPU[(config, "eval", "lengths")]


@pytest.mark.parametrize("inputs", ["dense", "lengths", "packed", "unbatched"])
def test_one_decision_per_call(inputs: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stacked bidirectional layer decides once per forward call, whatever the input."""
    layer = rnnkit.GRU(N_IN, H, num_layers=2, bidirectional=True)
    decide = _Counter(layer._dispatch)
    monkeypatch.setattr(layer, "_dispatch", decide)
    x = torch.randn(T, B, N_IN)
    if inputs == "dense":
        layer(x)
    elif inputs == "lengths":
        layer(x, lengths=LENGTHS)
    elif inputs == "packed":
        layer(pack_padded_sequence(x, torch.tensor(LENGTHS), enforce_sorted=False))
    else:
        layer(x[:, 0])
    assert decide.calls == 1
    assert layer.backend_used == "fused"


def test_cells_and_int8_layers_say_what_they_run() -> None:
    """A cell always runs the loop backend's step; an int8 layer torch's int8 kernel."""
    for cell in (
        rnnkit.RNNCell(N_IN, H),
        rnnkit.LSTMCell(N_IN, H, peephole=True),
        rnnkit.GRUCell(N_IN, H, reset_after=False),
    ):
        assert isinstance(cell.last_dispatch, Dispatch)
        assert (cell.backend_used, cell.backend_reason) == tuple(cell.last_dispatch)
        assert cell.backend_used == "loop" and "_cell" in cell.backend_reason
    int8 = Int8Recurrent(rnnkit.GRU(N_IN, H).eval())
    assert int8.backend_used == "int8" and "int8" in int8.backend_reason


def test_a_layer_pickled_before_per_call_records_loads() -> None:
    """Older pickles kept ``backend_used``/``backend_reason`` in the instance; they load."""
    layer = rnnkit.GRU(N_IN, H, reset_after=False)
    state = dict(layer.__dict__)
    del state["last_dispatch"], state["last_training_dispatch"]
    state["backend_used"], state["backend_reason"] = "fused", "old"
    old = rnnkit.GRU.__new__(rnnkit.GRU)
    old.__setstate__(state)
    assert old.backend_used == "fused" and "reset_after=False" in old.backend_reason
    again = pickle.loads(pickle.dumps(old))
    assert again.last_dispatch == old.last_dispatch
