"""The AWD-LSTM regularisers (Merity, Keskar, Socher 2018, "Regularizing and Optimizing LSTM
Language Models") that live outside the recurrent layer: variational (locked) dropout, embedding
dropout, and the activation penalties AR and TAR. The two that live inside it, DropConnect on the
recurrent weights and zoneout, are the ``weight_drop=`` and ``zoneout=`` options of
:class:`~rnnkit.nn.RNN`, :class:`~rnnkit.nn.LSTM` and :class:`~rnnkit.nn.GRU`.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "LockedDropout",
    "activation_penalty",
    "embedding_dropout",
    "temporal_activation_penalty",
]


def check_rate(owner: str, name: str, value: object) -> float:
    """A probability in [0, 1) (a rate of 1 would drop everything), or ValueError."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1:
        raise ValueError(f"{owner}: {name} must be in [0, 1), got {value!r}")
    return float(value)


class LockedDropout(nn.Module):
    """Variational dropout (Gal & Ghahramani 2016): one mask per sequence and feature, the same
    at every time step.

    Input (B, T, F) — (T, B, F) with ``batch_first=False`` — is multiplied by one
    Bernoulli(1 − p) mask of shape (B, 1, F) (resp. (1, B, F)) scaled by 1/(1 − p). Identity in
    eval mode or when p = 0. Output: same shape as the input.
    """

    def __init__(self, p: float, *, batch_first: bool = True) -> None:
        super().__init__()
        self.p = check_rate("LockedDropout", "p", p)
        self.batch_first = bool(batch_first)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 3:
            raise ValueError(
                f"LockedDropout: input must be 3-D (B, T, F) or (T, B, F), got {tuple(x.shape)}"
            )
        if not self.training or self.p == 0:
            return x
        shape = (x.shape[0], 1, x.shape[2]) if self.batch_first else (1, *x.shape[1:])
        mask = x.new_empty(shape).bernoulli_(1 - self.p).div_(1 - self.p)
        return x * mask

    def extra_repr(self) -> str:
        return f"p={self.p}" + ("" if self.batch_first else ", batch_first=False")


def embedding_dropout(embedding: nn.Embedding, ids: Tensor, p: float, *, training: bool) -> Tensor:
    """Embedding dropout (Merity et al. 2018): whole rows of the embedding matrix (word types)
    are dropped with probability ``p``, so every occurrence of a dropped word in the batch is
    zero; kept rows are scaled by 1/(1 − p). ``ids`` (any shape) -> (*ids.shape, E).

    The plain lookup ``embedding(ids)`` when not ``training`` or p = 0. Gradients reach
    ``embedding.weight`` (zero for the dropped rows); ``padding_idx`` is kept, ``max_norm`` is
    not supported.
    """
    p = check_rate("embedding_dropout", "p", p)
    if embedding.max_norm is not None:
        raise ValueError("embedding_dropout: an embedding with max_norm is not supported")
    weight = embedding.weight  # (V, E)
    if training and p > 0:
        weight = weight * weight.new_empty(weight.shape[0], 1).bernoulli_(1 - p).div_(1 - p)
    return F.embedding(
        ids, weight, embedding.padding_idx, None, embedding.norm_type,
        embedding.scale_grad_by_freq, embedding.sparse,
    )  # fmt: skip


def activation_penalty(output: Tensor, alpha: float) -> Tensor:
    """Activation regularisation AR (Merity et al. 2018): ``alpha · mean(output²)``, a 0-d tensor
    (zero when alpha = 0). ``output``: any shape, in AWD-LSTM the dropped output of the last
    layer."""
    if alpha == 0:
        return output.new_zeros(())
    return alpha * output.pow(2).mean()


def temporal_activation_penalty(output: Tensor, beta: float, *, batch_first: bool = True) -> Tensor:
    """Temporal activation regularisation TAR (Merity et al. 2018):
    ``beta · mean((h_t − h_{t−1})²)`` over the time axis of ``output`` (B, T, H) — (T, B, H) with
    ``batch_first=False`` —, in AWD-LSTM the last layer's output before dropout. A 0-d tensor,
    zero when beta = 0 or T < 2."""
    time = 1 if batch_first else 0
    if beta == 0 or output.shape[time] < 2:
        return output.new_zeros(())
    return beta * output.diff(dim=time).pow(2).mean()
