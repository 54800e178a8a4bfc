"""NT-ASGD (Merity et al. 2018, "Regularizing and Optimizing LSTM Language Models"): plain SGD
until validation stops improving, then SGD that also keeps the running average of its iterates.

The trigger is AWD-LSTM's rule: after an epoch with validation value ``v``, with ``history`` the
values seen before it, switch when ``len(history) > nonmono`` and ``v`` is worse than the best of
``history[:-nonmono]`` (so the earliest switch comes with the ``nonmono + 2``-th value). From the
next step on, the average is the arithmetic mean of the parameters after every step since the
switch. (AWD-LSTM switches to ``torch.optim.ASGD(t0=0, lambd=0)``, whose ``ax`` leaves out the
first step after the switch; otherwise the two agree.) Training always steps the raw weights;
:meth:`NTASGD.averaged` puts the averages in the parameters for evaluating or saving them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import torch
from torch import nn


class NTASGD(torch.optim.SGD):
    """SGD without momentum (``weight_decay`` as L2) that starts averaging on :meth:`observe`."""

    def __init__(
        self, params: Iterable[nn.Parameter], *, lr: float, weight_decay: float, nonmono: int
    ) -> None:
        if nonmono < 1:
            raise ValueError(f"NTASGD: nonmono must be ≥ 1, got {nonmono}")
        super().__init__(params, lr=lr, weight_decay=weight_decay)
        self.nonmono = nonmono
        self.history: list[float] = []  # validation values observed before the switch
        self.averaging = False  # switched: every step now updates the averages
        self.count = 0  # steps averaged since the switch
        self.swapped = False  # the parameters hold the averages, the raw weights are in "ax"

    def observe(self, value: float, mode: str) -> bool:
        """Record an epoch's validation value (``mode``: "min" or "max", the way it improves);
        True when this value starts the averaging."""
        if self.averaging:
            return False
        history, self.history = self.history, [*self.history, float(value)]
        if len(history) <= self.nonmono:
            return False
        earlier = history[: -self.nonmono]
        if mode == "min":
            self.averaging = value > min(earlier)
        else:
            self.averaging = value < max(earlier)
        return self.averaging

    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """One SGD step on the raw weights, then (once averaging) the running mean."""
        if self.swapped:
            raise RuntimeError("NTASGD: a step with the averages in the parameters")
        loss: float | None = super().step(closure)
        if self.averaging:
            self.count += 1
            with torch.no_grad():
                for param in self._params():
                    state = self.state[param]
                    if "ax" not in state:
                        state["ax"] = param.detach().clone()
                    else:
                        state["ax"].add_(param - state["ax"], alpha=1 / self.count)
        return loss

    def swap(self) -> None:
        """Exchange every parameter's values with its average; a second call undoes it. Does
        nothing before the first averaged step."""
        if self.count == 0:
            return
        with torch.no_grad():
            for param in self._params():
                average = self.state[param]["ax"]
                raw = param.detach().clone()
                param.copy_(average)
                average.copy_(raw)
        self.swapped = not self.swapped

    @contextlib.contextmanager
    def averaged(self) -> Iterator[None]:
        """The averages in the parameters for the duration (once there are any), then the raw
        weights back."""
        swap = self.count > 0 and not self.swapped
        if swap:
            self.swap()
        try:
            yield
        finally:
            if swap:
                self.swap()

    def state_dict(self) -> dict[str, Any]:
        """SGD's state, the averages (``ax`` per parameter) and the switch, as numbers and
        tensors; taken with the averages swapped in, it is refused."""
        if self.swapped:
            raise RuntimeError("NTASGD: state_dict with the averages in the parameters")
        progress = {"history": list(self.history), "averaging": self.averaging}
        return {**super().state_dict(), "ntasgd": {**progress, "count": self.count}}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` gave (a state without ``ntasgd``: not yet averaging)."""
        state_dict = dict(state_dict)
        progress = state_dict.pop("ntasgd", {})
        super().load_state_dict(state_dict)
        self.history = [float(v) for v in progress.get("history", [])]
        self.averaging = bool(progress.get("averaging", False))
        self.count = int(progress.get("count", 0))
        self.swapped = False

    def _params(self) -> Iterator[torch.Tensor]:
        for group in self.param_groups:
            yield from group["params"]
