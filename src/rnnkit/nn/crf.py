r"""Linear-chain conditional random field (Lafferty, McCallum & Pereira 2001): ``CRF``.

The output layer of a BiLSTM-CRF tagger (Lample et al. 2016): per-token tag scores from the
encoder (the *emissions*) plus learned scores for each move between tags, normalised over every
tag sequence of the sentence.

Why written by hand: no well-kept library covers what the tagger needs. ``pytorch-crf`` (whose
parameter names this module keeps, so weights load both ways) was last released in 2019 (0.7.2),
has neither n-best decoding nor transition constraints, and decodes with a Python loop over the
batch; the CRFs inside larger toolkits (flair, AllenNLP) are tied to their models.

For one sequence of length L with emissions :math:`e_t \in \mathbb{R}^K`, tags
:math:`y = (y_0, \dots, y_{L-1})`, start scores :math:`s`, transition scores :math:`A`
(:math:`A_{ij}` scores the move from tag i to tag j) and end scores :math:`u`:

.. math::

    \text{score}(y) = s_{y_0} + \sum_{t=0}^{L-1} e_{t, y_t}
                      + \sum_{t=1}^{L-1} A_{y_{t-1} y_t} + u_{y_{L-1}}

    \log p(y \mid e) = \text{score}(y) - \log Z, \qquad
    \log Z = \log \sum_{y'} \exp \text{score}(y')

The forward algorithm gives :math:`\log Z` in O(L K²) (:func:`crf_log_partition`):

.. math::

    \alpha_0 = s + e_0, \qquad
    \alpha_t(j) = e_{t,j} + \log \sum_i \exp(\alpha_{t-1}(i) + A_{ij}), \qquad
    \log Z = \log \sum_j \exp(\alpha_{L-1}(j) + u_j)

computed as :math:`m + c_j + \log \sum_i \exp(\alpha_{t-1}(i) - m) \exp(A_{ij} - c_j)`, with
:math:`m = \max_i \alpha_{t-1}(i)` and :math:`c_j = \max_i A_{ij}`: one (B, K) × (K, K) matrix
product per step instead of a (B, K, K) log-sum-exp (1.5-2× faster on the CPU at B 32, K 17).
Where one of those sums underflows — scores spread by more than ~68 nats (float32) among the
allowed predecessors of a tag, possible next to forbidden moves — the exact log-sum-exp
recursion runs instead, so the result is accurate to the dtype either way. Its gradient is the
forward-backward algorithm, written out in :func:`crf_log_partition_backward` (the backward
scores :math:`\beta_{L-1} = u`,
:math:`\beta_{t-1}(i) = \log \sum_j \exp(A_{ij} + e_{t,j} + \beta_t(j))`, the marginals
:math:`p(y_t = j) = \exp(\alpha_t(j) + \beta_t(j) - \log Z)`). Viterbi replaces the sum by a
max and follows the back-pointers (:func:`crf_viterbi`, :func:`crf_nbest`):

.. math::

    \delta_0 = s + e_0, \qquad
    \delta_t(j) = e_{t,j} + \max_i (\delta_{t-1}(i) + A_{ij}), \qquad
    \psi_t(j) = \arg\max_i (\delta_{t-1}(i) + A_{ij}),

the best path ends in :math:`\arg\max_j (\delta_{L-1}(j) + u_j)` and is read back through
:math:`\psi`. The exact n-best Viterbi keeps the n best partial paths per tag and step: the n best
paths that end in tag j at step t extend paths among the n best ending in their own tag at t − 1.

Transition constraints (e.g. IOB2 forbids O → I-PER) add ``-1e4`` (:data:`FORBIDDEN`) to each
forbidden start, move and end, in scoring and decoding alike: finite, so a gold path that breaks
the scheme gets a large loss and finite gradients instead of NaN.

Batches are batch-first and left-aligned: ``mask[b, t]`` is True for the first ``length_b ≥ 1``
steps of row b. Emissions and tags past each length are ignored (read as 0), whatever their value.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

from rnnkit.nn._checks import check_choice, check_size
from rnnkit.ops._autograd import load_cache, refuse_double_backward, save_cache

FORBIDDEN = -1e4  # added to the score of each start, move or end the tag scheme forbids
REDUCTIONS = ("sum", "mean", "none")


# --- functional ops: effective scores in, no checks -----------------------------------------------


def crf_score(
    emissions: Tensor, tags: Tensor, mask: Tensor, start: Tensor, transitions: Tensor, end: Tensor
) -> Tensor:
    """Unnormalised score of ``tags``: (B, T, K) emissions, (B, T) tags, (B, T) mask -> (B,).

    Differentiable by autograd. Tags past each length are read as tag 0 and add nothing.
    """
    batch = torch.arange(emissions.shape[0], device=emissions.device)
    tags = tags.masked_fill(~mask, 0)  # (B, T)
    emitted = emissions.gather(2, tags.unsqueeze(2)).squeeze(2).masked_fill(~mask, 0)  # (B, T)
    moves = transitions[tags[:, :-1], tags[:, 1:]].masked_fill(~mask[:, 1:], 0)  # (B, T-1)
    last = tags[batch, mask.sum(1) - 1]  # (B,)
    return start[tags[:, 0]] + emitted.sum(1) + moves.sum(1) + end[last]


class LogPartitionCache(NamedTuple):
    """What :func:`crf_log_partition_backward` needs; time-major."""

    emissions: Tensor  # (T, B, K), 0 past each length
    steps: Tensor  # (T, B) bool, the mask time-major
    transitions: Tensor  # (K, K)
    end: Tensor  # (K,)
    alphas: Tensor  # (T, B, K) forward scores α_t (carried on with zero emissions past each length)
    sums: Tensor | None  # (T, B, K) shifted sums S_t of the fast recursion; None: exact ran
    log_z: Tensor  # (B,)


@contextlib.contextmanager
def _plain(like: Tensor) -> Iterator[None]:
    """No autograd graph and no autocast (whose float16 products would underflow the sums)."""
    with torch.no_grad(), torch.autocast(like.device.type, enabled=False):
        yield


def _trusted(sums: Tensor, steps: Tensor) -> bool:
    """Whether every shifted sum (T, B, K) at a valid step is large enough that the terms which
    underflowed (K of them at most, each below the dtype's smallest normal) are below its
    precision: ≥ K·tiny/eps (e^-68 in float32, e^-669 in float64). One host sync; NaN fails."""
    info = torch.finfo(sums.dtype)
    floor = sums.shape[2] * info.tiny / info.eps
    return bool(sums.masked_fill(~steps.unsqueeze(2), 1.0).amin() >= floor)


def forward_scores(
    em: Tensor, steps: Tensor, start: Tensor, transitions: Tensor
) -> tuple[Tensor, Tensor | None]:
    """α (T, B, K) of time-major emissions ``em`` by one matrix product per step, and its
    shifted sums S_t = exp(α_{t-1} − m) exp(A − c) (T, B, K; row 0 is 1).

    Where a sum at a valid step underflows (scores spread by more than ~68 nats in float32 among
    the allowed predecessors of a tag: next to forbidden moves, only exp(A − c) of the forbidden
    ones is 0, and the row's shift can leave every allowed one below the smallest float), the
    exact (B, K, K) log-sum-exp recursion runs instead and S is None.
    """
    T, B, K = em.shape
    tiny = torch.finfo(em.dtype).tiny  # floor under each sum: a padded row stays finite
    col_max = transitions.amax(0)  # (K,) c_j
    exp_moves = (transitions - col_max).exp()  # (K, K), each column's largest entry is 1
    alphas, sums = em.new_empty((T, B, K)), em.new_empty((T, B, K))
    sums[0] = 1
    torch.add(start, em[0], out=alphas[0])
    # per-step views made once: indexing a tensor costs a dispatch per step
    em_rows = (em + col_max).unbind(0)  # e_t + c
    alpha_rows, sum_rows = alphas.unbind(0), sums.unbind(0)
    for t in range(1, T):
        prev = alpha_rows[t - 1]  # (B, K)
        top = prev.amax(1, keepdim=True)  # (B, 1) m
        torch.mm(torch.sub(prev, top).exp_(), exp_moves, out=sum_rows[t])
        torch.add(sum_rows[t].clamp_min(tiny).log_(), top, out=alpha_rows[t]).add_(em_rows[t])
    if _trusted(sums, steps):
        return alphas, sums
    return forward_scores_exact(em, start, transitions), None


def forward_scores_exact(em: Tensor, start: Tensor, transitions: Tensor) -> Tensor:
    """α (T, B, K) by the (B, K, K) log-sum-exp recursion: the reference, and the fallback."""
    alphas = em.new_empty(em.shape)
    torch.add(start, em[0], out=alphas[0])
    moves_t = transitions.t()  # [j, i]: the sum runs over the last dimension
    for t in range(1, em.shape[0]):
        ways = alphas[t - 1].unsqueeze(1) + moves_t  # (B, K, K) [b, j, i]
        torch.add(torch.logsumexp(ways, 2), em[t], out=alphas[t])
    return alphas


def backward_scores(em: Tensor, steps: Tensor, transitions: Tensor, end: Tensor) -> Tensor:
    """β (T, B, K): β_{L-1} = u, β_{t-1}(i) = log Σ_j exp(A_ij + e_t(j) + β_t(j)), by one matrix
    product per step; the exact recursion where a shifted sum underflows (as in
    :func:`forward_scores`, with A's rows)."""
    T, B, K = em.shape
    tiny = torch.finfo(em.dtype).tiny
    row_max = transitions.amax(1)  # (K,) r_i
    exp_moves_t = (transitions - row_max.unsqueeze(1)).exp().t()  # (K, K) [j, i]
    betas, sums = em.new_empty((T, B, K)), em.new_empty((T, B, K))
    betas[T - 1], sums[0] = end, 1
    em_rows, beta_rows, sum_rows = em.unbind(0), betas.unbind(0), sums.unbind(0)
    valid_rows = steps.unsqueeze(2).unbind(0)  # (B, 1) each
    for t in range(T - 1, 0, -1):
        ahead = em_rows[t] + beta_rows[t]  # (B, K) e_t + β_t
        top = ahead.amax(1, keepdim=True)  # (B, 1)
        torch.mm(ahead.sub_(top).exp_(), exp_moves_t, out=sum_rows[t])
        back = sum_rows[t].clamp_min(tiny).log_().add_(top).add_(row_max)  # (B, K)
        torch.where(valid_rows[t], back, end, out=beta_rows[t - 1])
    if _trusted(sums, steps):
        return betas
    return backward_scores_exact(em, steps, transitions, end)


def backward_scores_exact(em: Tensor, steps: Tensor, transitions: Tensor, end: Tensor) -> Tensor:
    """β (T, B, K) by the (B, K, K) log-sum-exp recursion: the reference, and the fallback."""
    betas = em.new_empty(em.shape)
    betas[-1] = end
    for t in range(em.shape[0] - 1, 0, -1):
        ways = transitions + (em[t] + betas[t]).unsqueeze(1)  # (B, K, K) [b, i, j]
        torch.where(steps[t].unsqueeze(1), torch.logsumexp(ways, 2), end, out=betas[t - 1])
    return betas


def crf_log_partition_forward(
    emissions: Tensor, mask: Tensor, start: Tensor, transitions: Tensor, end: Tensor
) -> tuple[Tensor, LogPartitionCache]:
    """Forward algorithm: log Z (B,) and the cache for the backward. No autograd graph.

    ``emissions`` (B, T, K) must be 0 past each length (the recursion runs on through the
    padding, which keeps every step one matrix product; each row's α is read at its last step).
    """
    B = emissions.shape[0]
    with _plain(emissions):
        em, steps = emissions.transpose(0, 1), mask.t()  # (T, B, K), (T, B)
        alphas, sums = forward_scores(em, steps, start, transitions)
        final = alphas[mask.sum(1) - 1, torch.arange(B, device=em.device)]  # (B, K) α_{L-1}
        log_z = torch.logsumexp(final + end, 1)  # (B,)
    return log_z, LogPartitionCache(em, steps, transitions, end, alphas, sums, log_z)


def crf_marginals_from_cache(cache: LogPartitionCache) -> tuple[Tensor, Tensor]:
    """Backward algorithm: the marginals p(y_t = k) = exp(α_t(k) + β_t(k) − log Z) (T, B, K),
    0 past each length, and the backward scores β (T, B, K)."""
    with _plain(cache.emissions):
        betas = backward_scores(cache.emissions, cache.steps, cache.transitions, cache.end)
        marginals = (cache.alphas + betas - cache.log_z.unsqueeze(1)).exp_()  # (T, B, K)
        marginals.masked_fill_(~cache.steps.unsqueeze(2), 0)
    return marginals, betas


def crf_log_partition_backward(
    grad_log_z: Tensor, cache: LogPartitionCache, need_emissions_grad: bool = True
) -> tuple[Tensor | None, ...]:
    """Gradients of Σ_b grad_log_z[b] · log Z_b w.r.t. (emissions (B, T, K), start (K,),
    transitions (K, K), end (K,)): the marginals, weighted per row, and for the transitions the
    pair marginals p(y_{t-1} = i, y_t = j) summed over steps and rows.

    After the fast forward these are p(y_t = j) · P_{t-1}(i) E(i, j) / S_t(j), with
    P_{t-1} = exp(α_{t-1} − m), E = exp(A − c) and S_t = P_{t-1} E the forward's own sum: every
    factor is at most 1 (no overflow, even next to forbidden moves, whose E is 0), and all steps
    reduce in one (K, T·B) × (T·B, K) product. After the exact forward, they are summed step by
    step from exp(α_{t-1}(i) + A_ij + e_t(j) + β_t(j) − log Z).
    """
    em, steps, transitions, _, alphas, sums, log_z = cache
    T, B, K = em.shape
    with _plain(em):
        marginals, betas = crf_marginals_from_cache(cache)
        weighted = marginals.mul_(grad_log_z.reshape(1, B, 1))  # (T, B, K)
        grad_start = weighted[0].sum(0)
        grad_end = weighted[steps.sum(0) - 1, torch.arange(B, device=em.device)].sum(0)
        if T == 1:
            grad_moves = torch.zeros_like(transitions)
        elif sums is not None:
            prev = alphas[:-1]  # (T-1, B, K)
            p = torch.sub(prev, prev.amax(2, keepdim=True)).exp_().view(-1, K)  # (N, K) P_{t-1}
            exp_moves = (transitions - transitions.amax(0)).exp()  # (K, K) E
            tiny = torch.finfo(em.dtype).tiny  # S underflows past each length, where p(y_t) = 0
            ratio = weighted[1:].reshape(-1, K) / sums[1:].reshape(-1, K).clamp_min(tiny)
            grad_moves = torch.mm(p.t(), ratio).mul_(exp_moves)
        else:
            grad_moves = torch.zeros_like(transitions)
            row_weights = steps * grad_log_z  # (T, B)
            for t in range(1, T):
                pairs = alphas[t - 1].unsqueeze(2) + transitions + (em[t] + betas[t]).unsqueeze(1)
                pairs = pairs.sub_(log_z.view(B, 1, 1)).exp_()  # (B, K, K)
                grad_moves += torch.einsum("b,bij->ij", row_weights[t], pairs)
        grad_em = weighted.transpose(0, 1) if need_emissions_grad else None  # (B, T, K)
    return grad_em, grad_start, grad_moves, grad_end


class _LogPartition(torch.autograd.Function):
    """Autograd glue: calls :func:`crf_log_partition_forward` and
    :func:`crf_log_partition_backward`, nothing else."""

    @staticmethod
    def forward(
        ctx: Any, emissions: Tensor, mask: Tensor, start: Tensor, transitions: Tensor, end: Tensor
    ) -> Tensor:
        log_z, cache = crf_log_partition_forward(emissions, mask, start, transitions, end)
        save_cache(ctx, cache)
        return log_z

    @staticmethod
    def backward(ctx: Any, grad_log_z: Tensor) -> tuple[Tensor | None, ...]:
        refuse_double_backward(
            "rnnkit's CRF log-partition",
            instead="the CRF's log-likelihood is differentiable once (its gradient is exact)",
        )
        grad_em, grad_start, grad_moves, grad_end = crf_log_partition_backward(
            grad_log_z, load_cache(ctx), need_emissions_grad=ctx.needs_input_grad[0]
        )
        return grad_em, None, grad_start, grad_moves, grad_end


def crf_log_partition(
    emissions: Tensor, mask: Tensor, start: Tensor, transitions: Tensor, end: Tensor
) -> Tensor:
    """log Z (B,) of (B, T, K) emissions (0 past each length) under ``mask`` (B, T); once
    differentiable w.r.t. emissions and the three score tensors (forward-backward)."""
    out: Tensor = _LogPartition.apply(emissions, mask, start, transitions, end)
    return out


def crf_viterbi(
    emissions: Tensor, mask: Tensor, start: Tensor, transitions: Tensor, end: Tensor
) -> tuple[Tensor, Tensor]:
    """Viterbi: best paths (B, T) int64 (0 past each length) and their scores (B,).

    δ is kept tag-major, (K, B), so each step's max runs over the first dimension of a
    (K, K, B) tensor, vectorised across the contiguous rest (ATen's max with indices over a
    short dimension is 4-5× slower than the max alone). Back-pointers are not stored: reading a
    path back, each step recomputes argmax_i (δ_{t-1}(i) + A_{i y_t}) for the one tag y_t per
    row, a (B, K) argmax. The recursion runs on through the padding (emissions there are 0);
    each row is read back from its last step. No autograd graph.
    """
    B, T, K = emissions.shape
    with _plain(emissions):
        em = emissions.permute(1, 2, 0).contiguous()  # (T, K, B)
        deltas = em.new_empty((T, K, B))
        torch.add(start.unsqueeze(1), em[0], out=deltas[0])
        delta_rows, em_rows = deltas.unbind(0), em.unbind(0)
        moves = transitions.unsqueeze(2)  # (K, K, 1) [i, j, ·]
        for t in range(1, T):
            ways = delta_rows[t - 1].unsqueeze(1) + moves  # (K, K, B) [i, j, b]
            torch.amax(ways, 0, out=delta_rows[t]).add_(em_rows[t])  # (K, B)
        last = mask.sum(1) - 1  # (B,)
        by_row = deltas.transpose(1, 2).contiguous()  # (T, B, K): argmax runs over the last dim
        scores, ends = (by_row[last, torch.arange(B, device=em.device)] + end).max(1)  # (B,)
        into = transitions.t().contiguous()  # (K, K) [j, i]
        is_last = (last == torch.arange(T, device=em.device).unsqueeze(1)).unbind(0)  # T × (B,)
        by_row_steps = by_row.unbind(0)
        tag, path = ends, []
        for t in range(T - 1, -1, -1):
            tag = torch.where(is_last[t], ends, tag)  # (B,): from its last step on, the path
            path.append(tag)
            if t:
                tag = (into.index_select(0, tag) + by_row_steps[t - 1]).argmax(1)
        paths = torch.stack(path[::-1], 1).masked_fill_(~mask, 0)  # (B, T)
    return paths, scores


def crf_nbest(
    emissions: Tensor, mask: Tensor, start: Tensor, transitions: Tensor, end: Tensor, n: int
) -> tuple[Tensor, Tensor]:
    """Exact n-best Viterbi: paths (B, n, T) int64 (0 past each length) and scores (B, n), best
    first. Where a row has fewer than n paths (K^length < n) the rest score -inf, paths all 0.

    Keeps the n best partial paths per tag: δ (B, K, n); each step takes the top n of the K·n
    extensions into every tag (the last, contiguous dimension), with back-pointers into the flat
    (K·n) previous entries (tag·n + rank). The recursion runs on through the padding (emissions
    there are 0); each row's best ends are read at its last step and followed back from there,
    the whole batch by one gather per step. No autograd graph.
    """
    B, T, K = emissions.shape
    with _plain(emissions):
        em_rows = emissions.transpose(0, 1).unsqueeze(3).unbind(0)  # T × (B, K, 1)
        delta = emissions.new_full((B, K, n), -torch.inf)  # (B, K, n)
        delta[:, :, 0] = start + emissions[:, 0]
        moves = transitions.t().repeat_interleave(n, 1)  # (K, K·n) [j, i·n + r] = A_ij
        deltas, history = [delta], []
        for t in range(1, T):
            ways = delta.view(B, 1, K * n) + moves  # (B, K, K·n)
            if n == 1:
                delta, came_from = ways.max(2, keepdim=True)  # (B, K, 1)
            else:
                delta, came_from = ways.topk(n, dim=2)  # (B, K, n)
            deltas.append(delta.add_(em_rows[t]))
            history.append(came_from.view(B, K * n))
        last = mask.sum(1) - 1  # (B,)
        batch = torch.arange(B, device=emissions.device)
        final = (torch.stack(deltas)[last, batch] + end.unsqueeze(1)).view(B, K * n)
        if n == 1:
            scores, ends = final.max(1, keepdim=True)  # (B, 1) flat index = tag
        else:
            scores, ends = final.topk(n, dim=1)  # (B, n) flat index tag·n + rank
        is_last = (last == torch.arange(T, device=last.device).unsqueeze(1)).unsqueeze(2)
        at, path = ends, []
        for t, here in zip(range(T - 1, -1, -1), is_last.unbind(0)[::-1], strict=True):
            at = torch.where(here, ends, at)  # (B, n)
            path.append(at)
            if t:
                at = history[t - 1].gather(1, at)
        paths = torch.stack(path[::-1], 2)  # (B, n, T) flat indices
        if n > 1:
            paths = paths.div_(n, rounding_mode="floor")  # the tags
        paths.masked_fill_(~mask.unsqueeze(1), 0).masked_fill_(scores.isneginf().unsqueeze(2), 0)
    return paths, scores


# --- the module -----------------------------------------------------------------------------------


class CRF(nn.Module):
    r"""Linear-chain CRF over ``num_tags`` tags, batch-first; equations in the module docstring.

    Args:
        num_tags: K, the number of tags.
        allowed_start: optional bool (K,): tags a sequence may start with.
        allowed_transitions: optional bool (K, K): ``[i, j]`` True where tag i may be followed by
            tag j.
        allowed_end: optional bool (K,): tags a sequence may end with.
            Each forbidden start, move or end gets :data:`FORBIDDEN` (−1e4) added to its score.

    Inputs (every method): ``emissions`` (B, T, K) float, ``mask`` (B, T) bool, left-aligned with
    ``mask[:, 0]`` all True (each sequence has length ≥ 1); ``tags`` (B, T) int64 where asked.
    Emissions and tags past each length are ignored. Computation runs in the wider of the
    emissions' and the parameters' dtype.

    Methods:
        ``forward(emissions, tags, mask, *, reduction="sum")``: the negative log-likelihood,
        summed, averaged over the batch ("mean") or per sequence ("none", (B,)).
        ``log_likelihood``: log p(tags | emissions) (B,). ``log_partition``: log Z (B,).
        ``score``: unnormalised path score (B,). ``marginals``: p(y_t = k) (B, T, K), 0 past each
        length. ``viterbi``: best paths (B, T) int64 (0 past each length) and scores (B,).
        ``nbest(..., n)``: n best paths (B, n, T) and scores (B, n), best first; rows with fewer
        than n paths (K^length < n) are padded with score −inf and paths of 0.
        The log-likelihood, log Z and score are differentiable (log Z through a hand-written
        forward-backward, once); marginals and decoding build no graph (their scores are
        detached: ``score(emissions, path, mask)`` gives a differentiable one).

    Attributes:
        start_transitions: (K,) score of starting in each tag.
        end_transitions: (K,) score of ending in each tag.
        transitions: (K, K) ``[i, j]`` the score of moving from tag i to tag j.
        allowed_start, allowed_transitions, allowed_end: the bool buffers, or None.

    The parameters are named as in ``pytorch-crf``; without constraints the state dict loads
    strictly into ``torchcrf.CRF(K, batch_first=True)`` and back. Constraints given are saved
    in the state dict too (a CRF loading it strictly must be built with the same ones).
    Initialisation: uniform in (−0.1, 0.1), as there. Move and cast with ``.to()``.

    >>> crf = CRF(3, allowed_transitions=torch.tensor([[1, 1, 1], [1, 1, 1], [0, 1, 1]]).bool())
    >>> emissions = torch.randn(2, 4, 3)
    >>> mask = torch.tensor([[True, True, True, True], [True, True, False, False]])
    >>> loss = crf(emissions, torch.zeros(2, 4, dtype=torch.long), mask)
    >>> paths, scores = crf.viterbi(emissions, mask)
    >>> paths.shape, scores.shape, crf.nbest(emissions, mask, 5)[0].shape
    (torch.Size([2, 4]), torch.Size([2]), torch.Size([2, 5, 4]))
    >>> bool((paths[1, 2:] == 0).all()), crf.marginals(emissions, mask).sum(2)[1].round(decimals=4)
    (True, tensor([1., 1., 0., 0.]))
    """

    allowed_start: Tensor | None
    allowed_transitions: Tensor | None
    allowed_end: Tensor | None

    def __init__(
        self,
        num_tags: int,
        *,
        allowed_start: Tensor | None = None,
        allowed_transitions: Tensor | None = None,
        allowed_end: Tensor | None = None,
    ) -> None:
        super().__init__()
        self.num_tags = K = check_size("CRF", "num_tags", num_tags)
        self.start_transitions = nn.Parameter(torch.empty(K))
        self.end_transitions = nn.Parameter(torch.empty(K))
        self.transitions = nn.Parameter(torch.empty(K, K))
        for name, allowed, shape in (
            ("allowed_start", allowed_start, (K,)),
            ("allowed_transitions", allowed_transitions, (K, K)),
            ("allowed_end", allowed_end, (K,)),
        ):
            self.register_buffer(name, self._check_allowed(name, allowed, shape))
        self.reset_parameters()

    def _check_allowed(
        self, name: str, allowed: Tensor | None, shape: tuple[int, ...]
    ) -> Tensor | None:
        if allowed is None:
            return None
        if not isinstance(allowed, Tensor) or allowed.dtype != torch.bool:
            kind = allowed.dtype if isinstance(allowed, Tensor) else type(allowed).__name__
            raise ValueError(f"CRF: {name} must be a bool tensor or None, got {kind}")
        if tuple(allowed.shape) != shape:
            raise ValueError(
                f"CRF: {name} must have shape {shape} (num_tags={self.num_tags}), "
                f"got {tuple(allowed.shape)}"
            )
        if name != "allowed_transitions" and not bool(allowed.any()):
            raise ValueError(f"CRF: {name} forbids every tag (no sequence could be valid)")
        return allowed.detach().clone()

    def reset_parameters(self) -> None:
        """Every score uniform in (−0.1, 0.1), as in ``pytorch-crf``."""
        for param in (self.start_transitions, self.end_transitions, self.transitions):
            nn.init.uniform_(param, -0.1, 0.1)

    def extra_repr(self) -> str:
        constrained = [
            name
            for name in ("allowed_start", "allowed_transitions", "allowed_end")
            if getattr(self, name) is not None
        ]
        return f"num_tags={self.num_tags}" + "".join(f", {name}" for name in constrained)

    # -- scores and checks ---------------------------------------------------------------------

    def _effective_scores(self, dtype: torch.dtype) -> tuple[Tensor, Tensor, Tensor]:
        """(start (K,), transitions (K, K), end (K,)) in ``dtype``, forbidden moves penalised."""
        scores = []
        for param, allowed in (
            (self.start_transitions, self.allowed_start),
            (self.transitions, self.allowed_transitions),
            (self.end_transitions, self.allowed_end),
        ):
            score = param.to(dtype)
            if allowed is not None:
                score = score + torch.zeros_like(score).masked_fill_(~allowed, FORBIDDEN)
            scores.append(score)
        return scores[0], scores[1], scores[2]

    def _prepare(
        self, emissions: Tensor, mask: Tensor, tags: Tensor | None = None
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Check the inputs; return (emissions in the compute dtype, 0 past each length, and the
        effective start, transitions, end)."""
        K = self.num_tags
        if not isinstance(emissions, Tensor) or emissions.dim() != 3:
            shape = tuple(emissions.shape) if isinstance(emissions, Tensor) else emissions
            raise ValueError(f"CRF: emissions must be a (B, T, num_tags={K}) tensor, got {shape}")
        B, T, got_k = emissions.shape
        if got_k != K:
            raise ValueError(
                f"CRF: emissions.size(-1) must be num_tags={K}, got {got_k} "
                f"(emissions shape {tuple(emissions.shape)})"
            )
        if not emissions.is_floating_point():
            raise ValueError(f"CRF: emissions must be a float tensor, got {emissions.dtype}")
        if B == 0 or T == 0:
            raise ValueError(f"CRF: emissions has an empty batch or no steps, got {(B, T, K)}")
        for name, value, dtype in (("mask", mask, torch.bool), ("tags", tags, torch.int64)):
            if value is None:
                continue
            if not isinstance(value, Tensor) or tuple(value.shape) != (B, T):
                shape = tuple(value.shape) if isinstance(value, Tensor) else type(value).__name__
                raise ValueError(
                    f"CRF: {name} must have shape (B, T) = {(B, T)} like emissions "
                    f"{tuple(emissions.shape)}, got {shape}"
                )
            if value.dtype != dtype:
                raise ValueError(f"CRF: {name} must be a {dtype} tensor, got {value.dtype}")
        # one host sync for every check on values
        flags = [~mask[:, 0], mask[:, 1:] & ~mask[:, :-1]]
        if tags is not None:
            flags.append(((tags < 0) | (tags >= K)) & mask)
        bad = torch.stack([flag.any() for flag in flags]).tolist()
        if bad[0]:
            row = int((~mask[:, 0]).nonzero()[0, 0])
            raise ValueError(
                f"CRF: mask[:, 0] must be all True (every sequence needs length ≥ 1), "
                f"got a zero-length row at batch index {row}"
            )
        if bad[1]:
            row = int((mask[:, 1:] & ~mask[:, :-1]).any(1).nonzero()[0, 0])
            raise ValueError(
                f"CRF: mask must be left-aligned (True then False in each row), "
                f"row {row} is {mask[row].int().tolist()}"
            )
        if tags is not None and bad[2]:
            where = (((tags < 0) | (tags >= K)) & mask).nonzero()[0].tolist()
            raise ValueError(
                f"CRF: tags must be in [0, num_tags={K}) inside the mask, "
                f"got {int(tags[where[0], where[1]])} at {tuple(where)}"
            )
        dtype = torch.promote_types(emissions.dtype, self.transitions.dtype)
        emissions = emissions.to(dtype).masked_fill(~mask.unsqueeze(2), 0)
        return (emissions, *self._effective_scores(dtype))

    # -- the public methods --------------------------------------------------------------------

    def forward(
        self, emissions: Tensor, tags: Tensor, mask: Tensor, *, reduction: str = "sum"
    ) -> Tensor:
        """Negative log-likelihood of ``tags``: summed (default), "mean" over the batch, or
        "none" (B,)."""
        check_choice("CRF", "reduction", reduction, REDUCTIONS)
        nll = -self.log_likelihood(emissions, tags, mask)
        if reduction == "sum":
            return nll.sum()
        return nll.mean() if reduction == "mean" else nll

    def log_likelihood(self, emissions: Tensor, tags: Tensor, mask: Tensor) -> Tensor:
        """log p(tags | emissions) (B,): score(tags) − log Z."""
        em, start, moves, end = self._prepare(emissions, mask, tags)
        return crf_score(em, tags, mask, start, moves, end) - crf_log_partition(
            em, mask, start, moves, end
        )

    def log_partition(self, emissions: Tensor, mask: Tensor) -> Tensor:
        """log Z (B,), the forward algorithm in log space."""
        em, start, moves, end = self._prepare(emissions, mask)
        return crf_log_partition(em, mask, start, moves, end)

    def score(self, emissions: Tensor, tags: Tensor, mask: Tensor) -> Tensor:
        """Unnormalised score of ``tags`` (B,), forbidden moves penalised."""
        em, start, moves, end = self._prepare(emissions, mask, tags)
        return crf_score(em, tags, mask, start, moves, end)

    def marginals(self, emissions: Tensor, mask: Tensor) -> Tensor:
        """p(y_t = k | emissions) (B, T, K) by forward-backward, 0 past each length; detached."""
        em, start, moves, end = self._prepare(emissions, mask)
        _, cache = crf_log_partition_forward(em, mask, start, moves, end)
        marginals, _ = crf_marginals_from_cache(cache)
        return marginals.transpose(0, 1)

    def viterbi(self, emissions: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """Best paths (B, T) int64 (0 past each length) and their scores (B,), detached."""
        em, start, moves, end = self._prepare(emissions, mask)
        return crf_viterbi(em, mask, start, moves, end)

    def nbest(self, emissions: Tensor, mask: Tensor, n: int) -> tuple[Tensor, Tensor]:
        """The ``n`` best paths (B, n, T) int64 and their scores (B, n), best first, detached.
        Rows with fewer than n paths (K^length < n) are padded with score −inf and paths of 0."""
        n = check_size("CRF", "n", n)
        em, start, moves, end = self._prepare(emissions, mask)
        return crf_nbest(em, mask, start, moves, end, n)
