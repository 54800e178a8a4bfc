"""Decoding a sequence-to-sequence model: batched greedy search and batched beam search with
length normalisation and n-best lists. The same functions serve ``evaluate``, ``translate``
and Python callers.

Both work on any model with the small :class:`StepModel` interface: encode a batch of sources
once, then one decoder step at a time (log-probabilities of the next token for every row). A
hypothesis's score is the sum of its tokens' log-probabilities, ``<eos>`` included when it ended;
beam search ranks finished hypotheses by that score divided by ``length ** length_penalty``
(``length`` counting the ``<eos>``; 0 ranks by the raw sum, 1 by the mean). A sentence stops
at its own limit, ``min(max_len, 2 · source length + 10)`` tokens; a hypothesis cut there has
no ``<eos>``. With ``min_len`` a hypothesis may not end before it has that many tokens (its
``<eos>`` is not a candidate until then); the limit still wins, so ``min_len`` = ``max_len`` ≤
every sentence's limit decodes exactly that many steps (fixed-length decoding, for timing).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

import torch
from torch import Tensor

__all__ = ["Hypothesis", "StepModel", "beam_search", "greedy", "length_limits"]


class StepModel(Protocol):
    """What decoding needs of a model."""

    bos: int
    eos: int

    def encode(self, source: Tensor, lengths: Tensor) -> Any:
        """The encoded batch (passed back to :meth:`step`; :meth:`select` reorders it)."""
        ...

    def initial_state(self, encoded: Any) -> Any:
        """The decoder's state before the first step."""
        ...

    def step(self, tokens: Tensor, state: Any, encoded: Any) -> tuple[Tensor, Any, Tensor | None]:
        """tokens (R,) → (log-probabilities (R, V), the new state, attention weights (R, S) or
        None), R rows of ``encoded``. The log-probabilities are a new tensor, the caller's:
        decoding may change it in place."""
        ...

    def select_state(self, state: Any, rows: Tensor) -> Any:
        """The decoder ``state`` for the given rows (R',) of it, in that order."""
        ...

    def select(self, encoded: Any, state: Any, rows: Tensor) -> tuple[Any, Any]:
        """``encoded`` and ``state`` for the given rows (R',) of them, in that order."""
        ...


@dataclass(frozen=True)
class Hypothesis:
    """One decoded target sentence."""

    tokens: list[int]  # the target ids, without <bos> and <eos>
    score: float  # sum of log-probabilities of tokens (and of <eos> if it ended)
    normalized: float  # score / length ** length_penalty (what beam search ranks by)
    ended: bool  # whether it ended with <eos> (else it was cut at the limit)
    attention: Tensor | None = None  # (steps, source length) weights per produced token, if asked


def length_limits(lengths: Tensor, max_len: int) -> list[int]:
    """Each sentence's limit in target tokens: min(max_len, 2 · source length + 10)."""
    return [min(max_len, 2 * int(n) + 10) for n in lengths.tolist()]


def _check_min_len(owner: str, min_len: int) -> None:
    if min_len < 0:
        raise ValueError(f"{owner}: min_len must be ≥ 0, got {min_len}")


def _normalized(score: float, length: int, penalty: float) -> float:
    scale: float = float(max(1, length)) ** penalty
    return score / scale


@torch.no_grad()
def greedy(
    model: StepModel,
    source: Tensor,
    lengths: Tensor,
    *,
    max_len: int = 100,
    min_len: int = 0,
    length_penalty: float = 1.0,
    attention: bool = False,
) -> list[Hypothesis]:
    """The most likely token at each step, for every sentence of the batch at once: source
    (B, S) ids, lengths (B,). One hypothesis per sentence, in batch order.

    While a hypothesis has fewer than ``min_len`` tokens, ``<eos>`` is not chosen (its
    log-probability counts as -inf before the arg-max; its score stays the model's); a sentence
    whose limit is below ``min_len`` is cut at its limit. ValueError if ``min_len`` < 0."""
    _check_min_len("greedy", min_len)
    encoded = model.encode(source, lengths)
    state = model.initial_state(encoded)
    limits = length_limits(lengths, max_len)
    B = source.shape[0]
    tokens = torch.full((B,), model.bos, dtype=torch.long, device=source.device)
    produced: list[list[int]] = [[] for _ in range(B)]
    scores = [0.0] * B
    ended = [False] * B
    weights: list[list[Tensor]] = [[] for _ in range(B)]
    running = list(range(B))
    for t in range(max(limits)):
        log_probs, state, attn = model.step(tokens, state, encoded)
        if t < min_len:  # every running hypothesis has t tokens
            log_probs[:, model.eos] = float("-inf")  # the step's own tensor
        best_lp, best = log_probs.max(dim=-1)
        step_lp, step_best = best_lp.tolist(), best.tolist()  # one copy out per step, not per row
        for row, b in enumerate(running):
            scores[b] += step_lp[row]
            if attention and attn is not None:
                weights[b].append(attn[row])
            if step_best[row] == model.eos:
                ended[b] = True
            else:
                produced[b].append(step_best[row])
        keep = [row for row, b in enumerate(running) if not ended[b] and t + 1 < limits[b]]
        if not keep:
            break
        if len(keep) < len(running):
            rows = torch.tensor(keep, device=source.device)
            encoded, state = model.select(encoded, state, rows)
            best = best[rows]
            running = [running[row] for row in keep]
        tokens = best
    return [
        Hypothesis(
            tokens=produced[b],
            score=scores[b],
            normalized=_normalized(scores[b], len(produced[b]) + ended[b], length_penalty),
            ended=ended[b],
            attention=torch.stack(weights[b])[:, : int(lengths[b])] if weights[b] else None,
        )
        for b in range(B)
    ]


@torch.no_grad()
def beam_search(
    model: StepModel,
    source: Tensor,
    lengths: Tensor,
    *,
    beam: int = 5,
    max_len: int = 100,
    min_len: int = 0,
    length_penalty: float = 1.0,
    n_best: int = 1,
    attention: bool = False,
) -> list[list[Hypothesis]]:
    """Beam search for every sentence of the batch at once: ``beam`` hypotheses per sentence
    kept alive; each step extends them all, keeps the ``beam`` best that do not end and sets
    aside those that end among the ``beam`` best; a sentence is done once ``n_best`` have ended
    and the best of them scores at least the best live one, which then can no longer overtake it
    (or at its limit, where its live ones are cut), and its rows leave the batch. Returns each
    sentence's ``n_best`` best hypotheses by normalised score, best first. With ``beam=1`` it is
    :func:`greedy`.

    While the hypotheses have fewer than ``min_len`` tokens (all live ones have as many), none
    ends: ``<eos>``'s log-probability counts as -inf before the top-k. A sentence whose limit is
    below ``min_len`` is cut at its limit. ValueError if ``min_len`` < 0."""
    _check_min_len("beam_search", min_len)
    if beam < 1 or n_best < 1 or n_best > beam:
        raise ValueError(f"beam_search: need 1 ≤ n_best ≤ beam, got n_best {n_best}, beam {beam}")
    device = source.device
    B, K = source.shape[0], beam
    limits = length_limits(lengths, max_len)
    encoded = model.encode(source, lengths)
    state = model.initial_state(encoded)
    # rows r = b·K + k; at first only beam 0 of each sentence is alive (the others are copies)
    rows = torch.arange(B, device=device).repeat_interleave(K)
    encoded, state = model.select(encoded, state, rows)
    scores = torch.full((B, K), float("-inf"), device=device, dtype=torch.float64)
    scores[:, 0] = 0.0
    history = torch.empty(B, K, 0, dtype=torch.long, device=device)
    attn_history: Tensor | None = None
    tokens = torch.full((B * K,), model.bos, dtype=torch.long, device=device)
    eos_index = torch.tensor([model.eos], device=device)
    finished: list[list[Hypothesis]] = [[] for _ in range(B)]
    active = list(range(B))  # the sentences still decoding: position i holds sentence active[i]
    for t in range(max(limits)):
        A = len(active)
        log_probs, state, attn = model.step(tokens, state, encoded)
        V = log_probs.shape[-1]
        if t < min_len:  # every live hypothesis has t tokens
            log_probs.index_fill_(-1, eos_index, float("-inf"))  # the step's own tensor
        # a row's score is the same for all its next tokens, so the row's C best tokens hold
        # every extension of it that can be among the sentence's 2K best: only those are
        # summed, in float64 (exactly the ranking of all K·V sums, ties aside)
        C = min(2 * K, V)
        row_lp, row_token = log_probs.view(A, K, V).topk(C, dim=-1)  # (A, K, C)
        total = scores.unsqueeze(-1) + row_lp.to(torch.float64)  # (A, K, C)
        top, where = total.view(A, K * C).topk(2 * K, dim=-1)  # (A, 2K), best first
        origin, token = where // C, row_token.view(A, K * C).gather(1, where)
        if attention and attn is not None:
            step_attn = attn.view(A, K, 1, -1)
            attn_history = step_attn if attn_history is None else torch.cat(
                [attn_history, step_attn], dim=2
            )  # fmt: skip
        is_eos = token == model.eos
        for i, j in (is_eos[:, :K] & torch.isfinite(top[:, :K])).nonzero().tolist():
            b, k = active[i], int(origin[i, j])
            finished[b].append(_hypothesis(
                history[i, k].tolist(), float(top[i, j]), True, length_penalty,
                None if attn_history is None else attn_history[i, k], int(lengths[b]),
            ))  # fmt: skip
        alive_top = top.masked_fill(is_eos, float("-inf"))
        chosen_scores, chosen = alive_top.topk(K, dim=-1)  # (A, K) among the 2K
        chosen_origin = origin.gather(1, chosen)
        chosen_token = token.gather(1, chosen)
        order = (torch.arange(A, device=device).unsqueeze(1) * K + chosen_origin).view(-1)
        history = torch.cat(
            [history.view(A * K, t)[order].view(A, K, t), chosen_token.unsqueeze(-1)], dim=2
        )
        if attn_history is not None:
            attn_history = attn_history.view(A * K, t + 1, -1)[order].view(A, K, t + 1, -1)
        scores = chosen_scores
        score_rows = scores.tolist()  # one copy out per step, not per sentence
        keep = []  # positions of the sentences that go on
        for i, b in enumerate(active):
            if len(finished[b]) >= n_best and _settled(finished[b], score_rows[i][0]):
                continue
            if t + 1 >= limits[b]:  # cut: the live ones join the finished
                for k in range(K):
                    if math.isfinite(score_rows[i][k]):
                        finished[b].append(_hypothesis(
                            history[i, k].tolist(), score_rows[i][k], False, length_penalty,
                            None if attn_history is None else attn_history[i, k],
                            int(lengths[b]),
                        ))  # fmt: skip
                continue
            keep.append(i)
        if not keep:
            break
        # ``order`` moves rows only within each sentence's block of K, whose encoded source is
        # the same K times: only the decoder state follows
        state = model.select_state(state, order)
        tokens = chosen_token.view(-1)
        if len(keep) < A:  # the sentences that are done leave the batch
            positions = torch.tensor(keep, device=device)
            rows = (positions.unsqueeze(1) * K + torch.arange(K, device=device)).view(-1)
            encoded, state = model.select(encoded, state, rows)
            tokens, scores, history = tokens[rows], scores[positions], history[positions]
            if attn_history is not None:
                attn_history = attn_history[positions]
            active = [active[i] for i in keep]
    return [sorted(f, key=lambda h: -h.normalized)[:n_best] for f in finished]


def _settled(finished: list[Hypothesis], best_alive: float) -> bool:
    """Whether a finished hypothesis scores at least the best live one: a live score only
    falls as it grows, so none of them can overtake it (exact for ``length_penalty`` 0)."""
    return max(h.score for h in finished) >= best_alive


def _hypothesis(
    tokens: list[int],
    score: float,
    ended: bool,
    penalty: float,
    attention: Tensor | None,
    source_length: int,
) -> Hypothesis:
    """A finished hypothesis; ``attention`` (steps so far, S) cut to its own steps and source."""
    return Hypothesis(
        tokens, score, _normalized(score, len(tokens) + ended, penalty), ended,
        None if attention is None else attention[: len(tokens) + ended, :source_length].clone(),
    )  # fmt: skip
