"""rnnkit.nn.CRF against brute force: every one of the K^T paths of tiny sequences enumerated.

The reference scores each path with its own plain formula (start + emissions + moves + end, the
forbidden ones −1e4) and takes log Z, marginals, the best and the n best paths from the list.
"""

from __future__ import annotations

import doctest
import itertools
import math
import re
from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import Tensor

import rnnkit.nn.crf
from rnnkit.nn import CRF

PENALTY = -1e4  # what the docs promise a forbidden start, move or end costs
CASES = [(K, T) for K in (3, 4) for T in (1, 2, 3, 4)]


# --- helpers --------------------------------------------------------------------------------------


def lengths_for(T: int, batch: int = 4) -> list[int]:
    """Ragged lengths in [1, T], the full length first."""
    return [T] + [1 + (i * 7 + T) % T for i in range(1, batch)]


def mask_for(lengths: list[int], T: int) -> Tensor:
    return torch.arange(T).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)


def random_crf(K: int, *, constrained: bool, seed: int = 0) -> CRF:
    """A float64 CRF with scores of order 1; ``constrained``: a random ``allowed`` pattern about
    a third forbidden, with one tag c that may start, follow itself and end (so c, c, …, c is a
    valid path of every length)."""
    gen = torch.Generator().manual_seed(seed)
    kw: dict[str, Any] = {}
    if constrained:
        c = int(torch.randint(K, (1,), generator=gen))
        start, moves, end = (torch.rand(s, generator=gen) > 0.35 for s in ((K,), (K, K), (K,)))
        start[c] = end[c] = moves[c, c] = True
        kw = {"allowed_start": start, "allowed_transitions": moves, "allowed_end": end}
    crf = CRF(K, **kw).double()
    with torch.no_grad():
        for p in crf.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64))
    return crf


def emissions_for(B: int, T: int, K: int, seed: int = 1) -> Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(B, T, K, generator=gen, dtype=torch.float64)


def effective(crf: CRF) -> tuple[Tensor, Tensor, Tensor]:
    """The reference's own start, transitions and end: parameters plus −1e4 where forbidden."""

    def penalised(param: Tensor, allowed: Tensor | None) -> Tensor:
        param = param.detach()
        return param if allowed is None else param + PENALTY * (~allowed).double()

    return (
        penalised(crf.start_transitions, crf.allowed_start),
        penalised(crf.transitions, crf.allowed_transitions),
        penalised(crf.end_transitions, crf.allowed_end),
    )


def all_paths(K: int, L: int) -> Tensor:
    return torch.tensor(list(itertools.product(range(K), repeat=L)), dtype=torch.long)  # (K^L, L)


def brute_scores(start: Tensor, moves: Tensor, end: Tensor, em: Tensor, paths: Tensor) -> Tensor:
    """Scores (P,) of paths (P, L) for one sequence's emissions em (L, K)."""
    L = paths.shape[1]
    score = start[paths[:, 0]] + end[paths[:, -1]]
    for t in range(L):
        score = score + em[t, paths[:, t]]
    for t in range(1, L):
        score = score + moves[paths[:, t - 1], paths[:, t]]
    return score


def brute(crf: CRF, em: Tensor, lengths: list[int]) -> list[tuple[Tensor, Tensor]]:
    """Per row: (all paths (K^L, L), their scores (K^L,))."""
    start, moves, end = effective(crf)
    out = []
    for b, L in enumerate(lengths):
        paths = all_paths(crf.num_tags, L)
        out.append((paths, brute_scores(start, moves, end, em[b, :L].detach(), paths)))
    return out


def pad(path: Tensor, T: int) -> Tensor:
    return torch.cat([path, path.new_zeros(T - path.numel())])


def assert_close(name: str, ref: Tensor, got: Tensor, tol: float = 1e-10) -> None:
    assert got.shape == ref.shape, f"{name}: shape {tuple(got.shape)}, expected {ref.shape}"
    err = (got.detach().double() - ref.double()).abs()
    ok = err <= tol * (1 + ref.double().abs())
    assert bool(ok.all()), f"{name}: max abs error {float(err.nan_to_num(math.inf).max()):.3e}"


def grads_of(*tensors: Tensor) -> list[Tensor]:
    grads = [t.grad for t in tensors]
    assert all(g is not None for g in grads)
    return [g.clone() for g in grads if g is not None]


def uses_forbidden(crf: CRF, path: Tensor) -> bool:
    assert crf.allowed_start is not None and crf.allowed_transitions is not None
    assert crf.allowed_end is not None
    moves = crf.allowed_transitions[path[:-1], path[1:]]
    return not (crf.allowed_start[path[0]] and crf.allowed_end[path[-1]] and bool(moves.all()))


@pytest.fixture(params=["fast", "exact"])
def recursion(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test through the matrix-product recursions ("fast") and through the exact
    log-sum-exp ones they fall back to when a shifted sum underflows ("exact", forced)."""
    if request.param == "exact":
        monkeypatch.setattr(rnnkit.nn.crf, "_trusted", lambda sums, steps: False)
    return str(request.param)


# --- against brute force --------------------------------------------------------------------------


@pytest.mark.parametrize("constrained", [False, True], ids=["free", "constrained"])
@pytest.mark.parametrize(("K", "T"), CASES)
def test_log_partition_and_score_match_brute_force(
    K: int, T: int, constrained: bool, recursion: str
) -> None:
    crf = random_crf(K, constrained=constrained, seed=K * 10 + T)
    lengths = lengths_for(T)
    mask, em = mask_for(lengths, T), emissions_for(len(lengths), T, K, seed=T)
    ref = brute(crf, em, lengths)
    assert_close(
        "log Z", torch.stack([s.logsumexp(0) for _, s in ref]), crf.log_partition(em, mask)
    )
    tags = torch.stack([pad(paths[-1], T) for paths, _ in ref])  # the path K-1, …, K-1
    assert_close("score", torch.stack([s[-1] for _, s in ref]), crf.score(em, tags, mask))


@pytest.mark.parametrize("constrained", [False, True], ids=["free", "constrained"])
def test_probabilities_of_all_paths_sum_to_one(constrained: bool) -> None:
    K, T = 3, 4
    crf = random_crf(K, constrained=constrained)
    lengths = [4, 2, 1]
    mask, em = mask_for(lengths, T), emissions_for(3, T, K)
    for b, L in enumerate(lengths):
        paths = torch.stack([pad(p, T) for p in all_paths(K, L)])  # (K^L, T)
        rows = paths.shape[0]
        ll = crf.log_likelihood(em[b : b + 1].expand(rows, T, K), paths, mask[b].expand(rows, T))
        total = float(ll.detach().exp().sum())
        assert abs(total - 1) < 1e-12, f"row {b}: Σ p = {total}"


@pytest.mark.parametrize("constrained", [False, True], ids=["free", "constrained"])
@pytest.mark.parametrize(("K", "T"), CASES)
def test_viterbi_and_nbest_match_brute_force(K: int, T: int, constrained: bool) -> None:
    n = 5
    crf = random_crf(K, constrained=constrained, seed=K * 10 + T)
    lengths = lengths_for(T)
    mask, em = mask_for(lengths, T), emissions_for(len(lengths), T, K, seed=T + 100)
    paths, scores = crf.viterbi(em, mask)
    top_paths, top_scores = crf.nbest(em, mask, n)
    assert paths.dtype == top_paths.dtype == torch.int64
    assert paths.shape == (len(lengths), T) and top_paths.shape == (len(lengths), n, T)
    for b, (every, every_score) in enumerate(brute(crf, em, lengths)):
        order = every_score.argsort(descending=True)
        assert torch.equal(paths[b], pad(every[order[0]], T)), f"row {b}: viterbi path"
        assert_close(f"row {b}: viterbi score", every_score[order[0]], scores[b])
        found = min(n, len(order))
        for r in range(found):
            assert torch.equal(top_paths[b, r], pad(every[order[r]], T)), f"row {b}: path {r}"
        assert_close(f"row {b}: n-best scores", every_score[order[:found]], top_scores[b, :found])
        assert bool((top_scores[b, found:] == -math.inf).all()), f"row {b}: padding scores"
        assert bool((top_paths[b, found:] == 0).all()), f"row {b}: padding paths"
    assert bool((top_scores[:, 1:] <= top_scores[:, :-1]).all()), "n-best scores increase"
    assert torch.equal(top_paths[:, 0], paths) and torch.equal(top_scores[:, 0], scores)


@pytest.mark.parametrize("constrained", [False, True], ids=["free", "constrained"])
def test_viterbi_and_nbest_agree_on_a_larger_batch(constrained: bool) -> None:
    """B, T, K all different (a swapped axis shows): Viterbi = 1-best = first of the 4-best, and
    every returned score is the score of its returned path."""
    B, T, K, n = 6, 13, 7, 4
    crf = random_crf(K, constrained=constrained, seed=11)
    mask = mask_for([13, 5, 1, 12, 2, 9], T)
    em = emissions_for(B, T, K, seed=12)
    paths, scores = crf.viterbi(em, mask)
    one_paths, one_scores = crf.nbest(em, mask, 1)
    top_paths, top_scores = crf.nbest(em, mask, n)
    assert torch.equal(one_paths[:, 0], paths) and torch.equal(top_paths[:, 0], paths)
    assert_close("1-best scores", scores, one_scores[:, 0])
    assert_close("viterbi scores", crf.score(em, paths, mask), scores)
    assert bool((top_scores[:, 1:] <= top_scores[:, :-1]).all())
    for r in range(n):
        real = top_scores[:, r].isfinite()
        got = crf.score(em, top_paths[:, r], mask)
        assert_close(f"n-best {r} scores", got[real], top_scores[real, r])
    for b in range(B):
        rows = {
            tuple(p.tolist())
            for p, s in zip(top_paths[b], top_scores[b], strict=True)
            if s > -math.inf
        }
        assert len(rows) == int(top_scores[b].isfinite().sum()), f"row {b}: paths repeat"


@pytest.mark.parametrize("constrained", [False, True], ids=["free", "constrained"])
def test_marginals_sum_to_one_and_match_brute_force(constrained: bool, recursion: str) -> None:
    K, T = 4, 4
    crf = random_crf(K, constrained=constrained, seed=3)
    lengths = lengths_for(T)
    mask, em = mask_for(lengths, T), emissions_for(len(lengths), T, K)
    got = crf.marginals(em, mask)
    assert got.shape == (len(lengths), T, K) and not got.requires_grad
    ref = torch.zeros(len(lengths), T, K, dtype=torch.float64)
    for b, (paths, scores) in enumerate(brute(crf, em, lengths)):
        p = scores.softmax(0)
        for t in range(paths.shape[1]):
            ref[b, t].index_add_(0, paths[:, t], p)
    assert_close("marginals", ref, got)
    assert_close("Σ_k marginals", mask.double(), got.sum(2))


def test_gradients_match_autograd_through_brute_force(recursion: str) -> None:
    """The hand-written forward-backward against autograd through the enumerated log Z."""
    K, T = 3, 4
    crf = random_crf(K, constrained=True, seed=5)
    lengths = lengths_for(T)
    mask = mask_for(lengths, T)
    em = emissions_for(len(lengths), T, K).requires_grad_()
    weights = torch.tensor([1.0, -2.0, 0.5, 3.0], dtype=torch.float64)
    (crf.log_partition(em, mask) * weights).sum().backward()
    got = [em.grad] + [p.grad for p in crf.parameters()]
    em_ref = em.detach().clone().requires_grad_()
    params = [p.detach().clone().requires_grad_() for p in crf.parameters()]
    named = dict(zip([name for name, _ in crf.named_parameters()], params, strict=True))
    allowed = (crf.allowed_start, crf.allowed_transitions, crf.allowed_end)
    start, moves, end = (
        named[name] + PENALTY * (~a).double()  # type: ignore[operator]
        for name, a in zip(
            ("start_transitions", "transitions", "end_transitions"), allowed, strict=True
        )
    )
    log_z = torch.stack(
        [brute_scores(start, moves, end, em_ref[b, :L], all_paths(K, L)).logsumexp(0)
         for b, L in enumerate(lengths)]
    )  # fmt: skip
    (log_z * weights).sum().backward()
    for name, ref, g in zip(
        ["emissions", *named], [em_ref.grad, *[p.grad for p in params]], got, strict=True
    ):
        assert ref is not None and g is not None
        assert_close(f"grad {name}", ref, g)


@pytest.mark.parametrize("constrained", [False, True], ids=["free", "constrained"])
def test_gradcheck_log_likelihood(constrained: bool, recursion: str) -> None:
    K, T = 3, 4
    crf = random_crf(K, constrained=constrained, seed=7)
    lengths = [4, 2, 1]
    mask = mask_for(lengths, T)
    tags = torch.randint(K, (3, T), generator=torch.Generator().manual_seed(0))
    em = emissions_for(3, T, K).requires_grad_()
    params = {name: p.detach().clone().requires_grad_() for name, p in crf.named_parameters()}

    def log_likelihood(em: Tensor, start: Tensor, moves: Tensor, end: Tensor) -> Tensor:
        scores = {"start_transitions": start, "transitions": moves, "end_transitions": end}
        nll: Tensor = torch.func.functional_call(
            crf, scores, (em, tags, mask), {"reduction": "none"}
        )
        return -nll

    inputs = (em, params["start_transitions"], params["transitions"], params["end_transitions"])
    # the fallback is also checked against brute force's autograd: a quick random-projection check
    assert torch.autograd.gradcheck(log_likelihood, inputs, fast_mode=recursion == "exact")


# --- constraints ----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_decoding_never_uses_a_forbidden_move(seed: int) -> None:
    K, T, n = 4, 4, 6
    crf = random_crf(K, constrained=True, seed=seed)
    lengths = lengths_for(T, batch=6)
    mask = mask_for(lengths, T)
    em = 3 * emissions_for(len(lengths), T, K, seed=seed)  # emissions pull towards bad moves
    paths, _ = crf.viterbi(em, mask)
    top_paths, top_scores = crf.nbest(em, mask, n)
    for b, L in enumerate(lengths):
        valid = sum(not uses_forbidden(crf, p) for p in all_paths(K, L))
        assert valid >= 1
        assert not uses_forbidden(crf, paths[b, :L]), f"row {b}: viterbi {paths[b, :L]}"
        for r in range(min(n, valid)):
            path = top_paths[b, r, :L]
            assert not uses_forbidden(crf, path), f"row {b}: n-best {r} {path.tolist()}"
        # past the valid paths come the penalised ones (or -inf): none ranks above a valid one
        assert bool((top_scores[b, min(n, valid) :] < PENALTY / 2).all())


def test_likelihood_of_valid_and_invalid_gold_paths_is_finite() -> None:
    K, T = 4, 6
    allowed = torch.ones(K, K, dtype=torch.bool)
    allowed[0, 2] = False  # tag 0 may not be followed by tag 2
    crf = CRF(K, allowed_transitions=allowed, allowed_start=torch.tensor([1, 1, 0, 1]).bool())
    em = torch.randn(2, T, K, requires_grad=True)
    mask = torch.ones(2, T, dtype=torch.bool)
    tags = torch.tensor([[0, 1, 2, 3, 3, 1], [0, 2, 2, 3, 1, 1]])  # valid; 0 -> 2 forbidden
    ll = crf.log_likelihood(em, tags, mask)
    assert bool(ll.isfinite().all()) and float(ll[0].detach()) > PENALTY / 2 > float(ll[1].detach())
    ll.sum().backward()
    grads = [em.grad] + [p.grad for p in crf.parameters()]
    assert all(g is not None and bool(g.isfinite().all()) for g in grads)


def test_float32_large_scores_stay_finite() -> None:
    """Scores of order 100 in float32 next to forbidden moves: the fast recursion's sums
    underflow, the exact one takes over; log Z and every gradient finite, log Z close to
    float64's."""
    K, T = 5, 30
    allowed = torch.rand(K, K, generator=torch.Generator().manual_seed(0)) > 0.5
    allowed.fill_diagonal_(True)
    crf = CRF(K, allowed_transitions=allowed)
    em = (100 * torch.randn(4, T, K)).requires_grad_()
    mask = mask_for([30, 17, 2, 1], T)
    start, moves, end = crf._effective_scores(torch.float32)
    assert rnnkit.nn.crf.crf_log_partition_forward(em, mask, start, moves, end)[1].sums is None
    assert (
        rnnkit.nn.crf.crf_log_partition_forward(em / 100, mask, start, moves, end)[1].sums
        is not None
    )
    tags = torch.randint(K, (4, T))
    nll = crf(em, tags, mask)
    nll.backward()
    grads = [em.grad] + [p.grad for p in crf.parameters()]
    assert all(g is not None and bool(g.isfinite().all()) for g in grads)
    ref = crf.double().log_partition(em.detach().double(), mask)
    assert_close("float32 log Z", ref, crf.float().log_partition(em.detach(), mask), 1e-5)


# --- padding, dtypes, reductions, state -----------------------------------------------------------


def test_padding_does_not_matter() -> None:
    K, T = 4, 5
    crf = random_crf(K, constrained=True, seed=2)
    lengths = [5, 3, 1, 4]
    mask = mask_for(lengths, T)
    em = emissions_for(4, T, K)
    tags = torch.randint(K, (4, T))
    em2 = torch.where(mask.unsqueeze(2), em, torch.full_like(em, math.nan))
    em2[0, 0, 0] = em[0, 0, 0]
    em2[2, 3] = 1e30  # NaN or huge past each length
    tags2 = torch.where(mask, tags, torch.full_like(tags, -100))  # an ignore index
    results = []
    for e, y in ((em, tags), (em2, tags2)):
        e = e.clone().requires_grad_()
        ll = crf.log_likelihood(e, y, mask)
        ll.sum().backward()
        assert e.grad is not None
        results.append((ll, e.grad, crf.marginals(e, mask), *crf.nbest(e, mask, 3)))
        crf.zero_grad()
    for name, a, b in zip(
        ["ll", "grad", "marginals", "nbest paths", "nbest scores"], *results, strict=True
    ):
        assert torch.equal(a, b), name
    assert bool((results[0][1][~mask] == 0).all()), "gradient past each length"


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dtypes_and_reductions(dtype: torch.dtype) -> None:
    K, T = 5, 7
    crf = random_crf(K, constrained=True).to(dtype)
    mask = mask_for([7, 4, 1], T)
    em = emissions_for(3, T, K).to(dtype)
    tags = torch.randint(K, (3, T))
    ll = crf.log_likelihood(em, tags, mask)
    assert ll.dtype == dtype and ll.shape == (3,)
    assert crf.viterbi(em, mask)[1].dtype == dtype and crf.marginals(em, mask).dtype == dtype
    assert torch.allclose(crf(em, tags, mask), -ll.sum())
    assert torch.allclose(crf(em, tags, mask, reduction="mean"), -ll.mean())
    assert torch.allclose(crf(em, tags, mask, reduction="none"), -ll)
    # float32 emissions into a float64 CRF run in float64
    assert crf.double().log_partition(em.float(), mask).dtype == torch.float64


def test_autocast_does_not_reach_the_recursions() -> None:
    """Under bfloat16 autocast the per-step products stay float32: same values and gradients."""
    K, T = 6, 9
    crf = random_crf(K, constrained=True).float()
    mask = mask_for([9, 4, 1], T)
    em = emissions_for(3, T, K).float().requires_grad_()
    tags = torch.randint(K, (3, T))
    crf(em, tags, mask).backward()
    ref = [crf.log_partition(em, mask), *grads_of(em, *crf.parameters())]
    crf.zero_grad()
    em.grad = None
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = [crf.log_partition(em, mask)]
        crf(em, tags, mask).backward()
    got += grads_of(em, *crf.parameters())
    assert got[0].dtype == torch.float32
    for name, a, b in zip(["log Z", "emissions", "start", "end", "moves"], ref, got, strict=True):
        assert_close(f"{name} under autocast", a, b, 1e-6)


def test_state_dict_names_match_pytorch_crf() -> None:
    crf = CRF(6)
    assert set(crf.state_dict()) == {"start_transitions", "end_transitions", "transitions"}
    assert crf.transitions.shape == (6, 6) and crf.start_transitions.shape == (6,)
    assert all(float(p.detach().abs().max()) <= 0.1 for p in crf.parameters())
    allowed = torch.ones(6, 6, dtype=torch.bool)
    constrained = CRF(6, allowed_transitions=allowed)
    assert "allowed_transitions" in constrained.state_dict()
    assert repr(constrained) == "CRF(num_tags=6, allowed_transitions)"


def test_long_sequence_is_stable() -> None:
    """T = 400: the shifted sums neither overflow nor underflow; float32 agrees with float64."""
    K, T = 9, 400
    crf = random_crf(K, constrained=True)
    em = 5 * emissions_for(2, T, K)
    mask = mask_for([400, 250], T)
    ref = crf.log_partition(em, mask)
    got = crf.float().log_partition(em.float(), mask)
    assert bool(ref.isfinite().all())
    assert_close("log Z, T = 400", ref, got, 1e-5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu() -> None:
    K, T = 7, 9
    crf = random_crf(K, constrained=True)
    mask = mask_for([9, 5, 1], T)
    em = emissions_for(3, T, K).requires_grad_()
    tags = torch.randint(K, (3, T))
    gpu = random_crf(K, constrained=True).cuda()
    em_gpu = em.detach().cuda().requires_grad_()
    ll, ll_gpu = (
        crf.log_likelihood(em, tags, mask),
        gpu.log_likelihood(em_gpu, tags.cuda(), mask.cuda()),
    )
    ll.sum().backward()
    ll_gpu.sum().backward()
    assert_close("cuda ll", ll, ll_gpu.cpu())
    assert em.grad is not None and em_gpu.grad is not None
    assert_close("cuda grad", em.grad, em_gpu.grad.cpu())
    for a, b in zip(crf.nbest(em, mask, 4), gpu.nbest(em_gpu, mask.cuda(), 4), strict=True):
        assert torch.equal(a, b.cpu())


def test_docstring_examples_pass() -> None:
    torch.manual_seed(0)
    result = doctest.testmod(rnnkit.nn.crf, extraglobs={"torch": torch}, report=False)
    assert result.attempted > 0 and result.failed == 0


# --- errors ---------------------------------------------------------------------------------------


def check(call: Callable[[], Any], argument: str, value: str) -> None:
    """``call`` raises one line of ValueError starting "CRF: ", naming argument and value."""
    with pytest.raises(ValueError, match=re.escape(value)) as info:
        call()
    message = str(info.value)
    assert "\n" not in message and message.startswith("CRF: "), message
    assert argument in message, message


E3 = torch.zeros(2, 3, 4)
M3 = torch.ones(2, 3, dtype=torch.bool)
Y3 = torch.zeros(2, 3, dtype=torch.long)
ERRORS: dict[str, tuple[Callable[[], Any], str, str]] = {
    "zero_length_row": (
        lambda: CRF(4).log_partition(E3, torch.tensor([[1, 1, 0], [0, 0, 0]]).bool()),
        "mask[:, 0]", "batch index 1",
    ),
    "not_left_aligned": (
        lambda: CRF(4).viterbi(E3, torch.tensor([[1, 0, 1], [1, 1, 1]]).bool()),
        "left-aligned", "row 0 is [1, 0, 1]",
    ),
    "tags_shape": (
        lambda: CRF(4)(E3, torch.zeros(2, 4, dtype=torch.long), M3), "tags", "got (2, 4)"
    ),
    "tags_dtype": (lambda: CRF(4)(E3, Y3.int(), M3), "tags", "torch.int32"),
    "tags_range": (lambda: CRF(4)(E3, Y3 + 4, M3), "tags", "got 4 at (0, 0)"),
    "wrong_num_tags": (lambda: CRF(5).log_partition(E3, M3), "num_tags=5", "got 4"),
    "emissions_2d": (lambda: CRF(4).log_partition(E3[0], M3), "emissions", "(3, 4)"),
    "emissions_int": (lambda: CRF(4).score(E3.long(), Y3, M3), "emissions", "torch.int64"),
    "mask_shape": (lambda: CRF(4).marginals(E3, M3[:, :2]), "mask", "got (2, 2)"),
    "mask_dtype": (lambda: CRF(4).nbest(E3, M3.long(), 2), "mask", "torch.int64"),
    "reduction": (lambda: CRF(4)(E3, Y3, M3, reduction="avg"), "reduction", "'avg'"),
    "num_tags": (lambda: CRF(0), "num_tags", "got 0"),
    "n": (lambda: CRF(4).nbest(E3, M3, 0), "n", "got 0"),
    "allowed_shape": (
        lambda: CRF(4, allowed_transitions=torch.ones(4, 3, dtype=torch.bool)),
        "allowed_transitions", "got (4, 3)",
    ),
    "allowed_dtype": (lambda: CRF(4, allowed_end=torch.ones(4)), "allowed_end", "torch.float32"),
    "allowed_none": (
        lambda: CRF(4, allowed_start=torch.zeros(4, dtype=torch.bool)), "allowed_start", "every"
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_errors(case: str) -> None:
    check(*ERRORS[case])
