r"""Attention of a decoder over a padded source: ``Attention``, Bahdanau's additive score and
Luong's multiplicative ones (dot, general).

For a query :math:`q \in \mathbb{R}^Q` (the decoder's state at one step) and the source's keys
:math:`k_1, \dots, k_S \in \mathbb{R}^K` (the encoder's outputs), of which the real (unpadded)
positions are :math:`M \subseteq \{1, \dots, S\}`:

.. math::

    \text{additive (Bahdanau et al. 2015):}\quad
        \text{score}(q, k) = v^\top \tanh(W_q q + W_k k + b)

    \text{dot (Luong et al. 2015):}\quad \text{score}(q, k) = q^\top k

    \text{general (Luong et al. 2015):}\quad \text{score}(q, k) = q^\top W_a k

    a_s = \frac{\exp \text{score}(q, k_s)}{\sum_{s' \in M} \exp \text{score}(q, k_{s'})}
          \ (s \in M), \qquad a_s = 0 \ (s \notin M), \qquad c = \sum_s a_s k_s

The part of each score that depends on the key alone (:math:`W_k k + b`, :math:`W_a k`, or k)
is what :meth:`Attention.prepare` returns: computed once per source sentence, it is reused at
every decoder step (pass it as ``prepared=``).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from rnnkit.nn._checks import check_choice, check_size

__all__ = ["ATTENTION_KINDS", "Attention"]

ATTENTION_KINDS = ("additive", "dot", "general")


class Attention(nn.Module):
    r"""Bahdanau (additive) and Luong (dot, general) attention over a padded source.

    Equations in the module docstring.

    Args:
        kind: ``"additive"``, ``"dot"`` or ``"general"`` (:data:`ATTENTION_KINDS`).
        query_size: Q, the size of a query (the decoder's state).
        key_size: K, the size of a key (the encoder's output at one source position); ``"dot"``
            needs K = Q.
        hidden_size: A, the size of the additive score's hidden layer (default: Q); only for
            ``"additive"``.
        device, dtype: where and in what the parameters are made, as in ``torch.nn.Linear``.

    Inputs of ``forward(query, keys, mask=None, prepared=None)``:
        query: (B, Q) for one decoder step, or (B, T, Q) for T steps at once (teacher forcing).
        keys: (B, S, K), the source.
        mask: optional bool (B, S), True on real source positions (None: all are real).
        prepared: optional, what ``prepare(keys)`` returned; computed here if None.

    Outputs: ``(context, weights)``
        context: (B, K), or (B, T, K) for a 3-D query: ``weights @ keys``.
        weights: (B, S), or (B, T, S): ≥ 0, summing to 1 over S, exactly 0 where ``mask`` is
        False. A row whose mask is all False (no real position) gets all-zero weights and a
        zero context — not NaN — and zero gradients; a decoder never builds one, but a batch
        that does cannot poison the others.

    Keys at masked positions never reach the output (their weight is an exact 0, their score
    is replaced before the softmax); they must be finite, as 0 · NaN is NaN.

    Cost: dot and general are two batched matrix products. Additive broadcasts the (B, T, 1, A)
    projected queries against the (B, 1, S, A) prepared keys, so it holds a (B, T, S, A) tensor
    (and autograd keeps its tanh): 82M numbers, 330 MB in float32, at B 64, T = S = 50, A 512
    — fine at Multi30k sizes; feed longer sequences one step (or a few) at a time.

    Attributes:
        query_proj: additive only, ``nn.Linear(Q, A, bias=False)``: :math:`W_q` (A, Q).
        key_proj: additive: ``nn.Linear(K, A)``: :math:`W_k` (A, K) and the score's one bias
            b (A,); general: ``nn.Linear(K, Q, bias=False)``: :math:`W_a` (Q, K); None for dot.
        v: additive only, (A,).

    Initialisation: torch's ``nn.Linear`` defaults for :math:`W_q`, :math:`W_k`, b and
    :math:`W_a`; v uniform in :math:`\pm 1/\sqrt{A}` (``reset_parameters()`` draws them again).

    >>> attention = Attention("additive", 6, 4, 5)
    >>> keys = torch.randn(2, 3, 4)
    >>> mask = torch.tensor([[True, True, True], [True, True, False]])
    >>> context, weights = attention(torch.randn(2, 6), keys, mask)
    >>> context.shape, weights.shape, weights[1, 2].item()
    (torch.Size([2, 4]), torch.Size([2, 3]), 0.0)
    >>> prepared = attention.prepare(keys)  # once per source, reused at every step
    >>> context, weights = attention(torch.randn(2, 7, 6), keys, mask, prepared)
    >>> context.shape, weights.sum(-1).allclose(torch.ones(2, 7))
    (torch.Size([2, 7, 4]), True)
    """

    query_proj: nn.Linear | None
    key_proj: nn.Linear | None
    v: nn.Parameter | None

    def __init__(
        self,
        kind: str,
        query_size: int,
        key_size: int,
        hidden_size: int | None = None,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        owner = "Attention"
        self.kind = check_choice(owner, "kind", kind, ATTENTION_KINDS)
        self.query_size = check_size(owner, "query_size", query_size)
        self.key_size = check_size(owner, "key_size", key_size)
        if kind != "additive" and hidden_size is not None:
            raise ValueError(
                f"{owner}: hidden_size is only for kind='additive', got "
                f"hidden_size={hidden_size!r} with kind={kind!r}"
            )
        if kind == "dot" and query_size != key_size:
            raise ValueError(
                f"{owner}: kind='dot' needs query_size == key_size, got query_size={query_size} "
                f"and key_size={key_size}"
            )
        self.query_proj = self.key_proj = self.v = None
        self.hidden_size: int | None = None
        if kind == "additive":
            A = check_size(owner, "hidden_size", query_size if hidden_size is None else hidden_size)
            self.hidden_size = A
            self.query_proj = nn.Linear(
                query_size, A, bias=False, device=device, dtype=dtype
            )  # W_q (A, Q)
            self.key_proj = nn.Linear(key_size, A, device=device, dtype=dtype)  # W_k (A, K), b (A,)
            self.v = nn.Parameter(torch.empty(A, device=device, dtype=dtype))  # (A,)
        elif kind == "general":
            self.key_proj = nn.Linear(
                key_size, query_size, bias=False, device=device, dtype=dtype
            )  # W_a (Q, K)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw every parameter again: torch's ``nn.Linear`` defaults for the W's and b, v
        uniform in ±1/sqrt(A)."""
        for linear in (self.query_proj, self.key_proj):
            if linear is not None:
                linear.reset_parameters()
        if self.v is not None:
            bound = 1 / math.sqrt(self.v.shape[0])
            with torch.no_grad():
                self.v.uniform_(-bound, bound)

    @property
    def prepared_size(self) -> int:
        """The last dimension of what :meth:`prepare` returns: A, Q or K."""
        if self.kind == "additive":
            assert self.hidden_size is not None
            return self.hidden_size
        return self.query_size if self.kind == "general" else self.key_size

    def prepare(self, keys: Tensor) -> Tensor:
        """The per-key part of the score, computed once per source and reused at every decoder
        step: additive: keys W_kᵀ + b (B, S, A); general: keys W_aᵀ (B, S, Q); dot: keys itself
        (B, S, K)."""
        self._check_keys(keys)
        return keys if self.key_proj is None else self.key_proj(keys)

    def forward(
        self,
        query: Tensor,
        keys: Tensor,
        mask: Tensor | None = None,
        prepared: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        """query (B, Q) or (B, T, Q), keys (B, S, K), mask (B, S) bool or None, prepared as from
        :meth:`prepare` or None -> (context (B, K) or (B, T, K), weights (B, S) or (B, T, S))."""
        self._check_keys(keys)
        B, S, _ = keys.shape
        if query.dim() not in (2, 3) or query.shape[-1] != self.query_size:
            raise ValueError(
                f"Attention: query must be (B, {self.query_size}) or (B, T, {self.query_size}) "
                f"(query_size={self.query_size}), got {tuple(query.shape)}"
            )
        if query.shape[0] != B:
            raise ValueError(
                f"Attention: query and keys must have the same batch size, got query "
                f"{tuple(query.shape)} and keys {tuple(keys.shape)}"
            )
        if mask is not None and (mask.dtype != torch.bool or tuple(mask.shape) != (B, S)):
            raise ValueError(
                f"Attention: mask must be a bool tensor of keys' (B, S) = {(B, S)}, got "
                f"{mask.dtype} {tuple(mask.shape)}"
            )
        if prepared is None:
            prepared = self.prepare(keys)
        elif tuple(prepared.shape) != (B, S, self.prepared_size):
            raise ValueError(
                f"Attention: prepared must be prepare(keys), of shape {(B, S, self.prepared_size)} "
                f"for keys {tuple(keys.shape)}, got {tuple(prepared.shape)}"
            )
        one_step = query.dim() == 2
        q = query.unsqueeze(1) if one_step else query  # (B, T, Q)
        scores = self._scores(q, prepared)  # (B, T, S)
        if mask is not None:
            # The dtype's lowest number, not -inf: a row with no real position then softmaxes to
            # uniform weights (zeroed just below) instead of 0/0, so no NaN is ever made, forward
            # or backward (anomaly detection stays quiet). Beside a real score, exp(min − max)
            # underflows to an exact 0.
            hidden = ~mask.unsqueeze(1)  # (B, 1, S)
            scores = scores.masked_fill(hidden, torch.finfo(scores.dtype).min)
            weights = torch.softmax(scores, dim=-1).masked_fill(hidden, 0)
        else:
            weights = torch.softmax(scores, dim=-1)
        context = torch.bmm(weights, keys)  # (B, T, K)
        if one_step:
            return context.squeeze(1), weights.squeeze(1)
        return context, weights

    def _scores(self, q: Tensor, prepared: Tensor) -> Tensor:
        """q (B, T, Q), prepared (B, S, P) -> scores (B, T, S)."""
        if self.kind == "additive":
            assert self.query_proj is not None and self.v is not None
            projected = self.query_proj(q)  # (B, T, A)
            hidden = torch.tanh(projected.unsqueeze(2) + prepared.unsqueeze(1))  # (B, T, S, A)
            return torch.matmul(hidden, self.v)  # (B, T, S)
        return torch.bmm(q, prepared.transpose(1, 2))  # (B, T, Q) @ (B, Q, S)

    def _check_keys(self, keys: Tensor) -> None:
        if keys.dim() != 3 or keys.shape[-1] != self.key_size:
            raise ValueError(
                f"Attention: keys must be (B, S, {self.key_size}) (key_size={self.key_size}), "
                f"got {tuple(keys.shape)}"
            )

    def extra_repr(self) -> str:
        size = f", hidden_size={self.hidden_size}" if self.hidden_size is not None else ""
        return f"{self.kind!r}, query_size={self.query_size}, key_size={self.key_size}{size}"
