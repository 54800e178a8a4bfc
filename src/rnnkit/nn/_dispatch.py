"""What one forward call of a recurrent layer runs, and why: :class:`Dispatch`.

The layers decide it once per call in ``_RecurrentLayer._dispatch`` (the only place that does);
the cells and :class:`~rnnkit.nn.quantized.Int8Recurrent` carry the same attributes with what
they always run.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

Backend = Literal["native", "fused", "loop"]


class Dispatch(NamedTuple):
    """The backend one call ran (``"native"``: torch's kernel, ``"fused"``: rnnkit's
    whole-sequence op, ``"loop"``: the per-step autograd loop) and a one-line reason."""

    backend: Backend
    reason: str
