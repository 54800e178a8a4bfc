"""Text generation: reproducible sampling, greedy decoding as top-k 1, streaming, the stateful
generator, the logit filters (temperature, top-k, top-p), and one clear error per bad setting."""

from __future__ import annotations

import io
import itertools
import math
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch

from rnnkit.pipelines.runconfig import resolve
from rnnkit.tasks.base import get_task
from rnnkit.tasks.classify import ClassifierConfig, TextClassifier
from rnnkit.tasks.encoder import EncoderConfig
from rnnkit.tasks.generation import TextGenerator, filter_logits, sample_next
from rnnkit.tasks.lm import LanguageModel, LMConfig
from rnnkit.text import Vocab

EOS = "<eos>"
WORDS = ["a", "b", "c", "d", "the", "cat", "sat", "on", "mat", "dog"]


def word_vocab() -> Vocab:
    return Vocab(WORDS, pad=None, unk="<unk>", specials=(EOS,))


def char_vocab(*, unk: str | None = None) -> Vocab:
    return Vocab(list("abcdefgh \n"), pad=None, unk=unk)


def model_for(vocab: Vocab, *, cell: str = "lstm", seed: int = 0) -> LanguageModel:
    """Random weights, spread wide (init_range 1) so that the next-token distribution is far
    from uniform and varies with the state."""
    torch.manual_seed(seed)
    encoder = EncoderConfig(cell=cell, hidden_size=12, num_layers=2, bidirectional=False)
    config = LMConfig(embedding_dim=8, init_range=1.0, encoder=encoder)
    return LanguageModel(config, len(vocab), level="word").eval()


def words(seed: int | None = None, warn: io.StringIO | None = None) -> TextGenerator:
    vocab = word_vocab()
    return TextGenerator(model_for(vocab), vocab, level="word", seed=seed, warn=warn)


def chars(
    seed: int | None = None, warn: io.StringIO | None = None, unk: str | None = None
) -> TextGenerator:
    vocab = char_vocab(unk=unk)
    return TextGenerator(model_for(vocab, cell="gru"), vocab, level="char", seed=seed, warn=warn)


def text(generator: TextGenerator, prompt: str, tokens: int, **sampling: Any) -> str:
    generator.feed(prompt)
    return "".join(generator.generate(tokens, **sampling))


def greedy_ids(model: LanguageModel, prompt: list[int], tokens: int) -> list[int]:
    """Argmax decoding written out over ``forward_tokens``."""
    with torch.no_grad():
        logits, state = model.forward_tokens(torch.tensor([prompt]))
        out = []
        for _ in range(tokens):
            nxt = int(logits[0, -1].argmax())
            out.append(nxt)
            logits, state = model.forward_tokens(torch.tensor([[nxt]]), state)
    return out


def render_words(tokens: list[str], *, at_line_start: bool) -> str:
    """Words after a space, ``<eos>`` as a line end, no space at a line's start."""
    out = ""
    for token in tokens:
        if token == EOS:
            out, at_line_start = out + "\n", True
        else:
            out, at_line_start = out + (token if at_line_start else " " + token), False
    return out


# --- sampling ---------------------------------------------------------------------------------


def test_a_fixed_seed_gives_the_same_text_and_another_seed_another() -> None:
    first = text(words(seed=3), "the cat", 30)
    assert first == text(words(seed=3), "the cat", 30)
    assert first != text(words(seed=4), "the cat", 30)
    assert text(chars(seed=3), "ab", 40) == text(chars(seed=3), "ab", 40)
    assert text(chars(seed=3), "ab", 40) != text(chars(seed=5), "ab", 40)


def test_top_k_1_is_greedy_decoding_for_characters() -> None:
    generator = chars(seed=0)
    expected = greedy_ids(generator.model, generator.vocab.encode(list("abc")), 25)
    want = "".join(generator.vocab.token(i) for i in expected)
    assert text(generator, "abc", 25, top_k=1) == want
    assert len(set(want)) > 1, "a degenerate model would make this test vacuous"
    # any seed, any temperature: top-k 1 leaves one token to draw
    assert text(chars(seed=9), "abc", 25, top_k=1, temperature=3.0) == want
    assert text(chars(seed=9), "abc", 25, top_p=1e-6) == want


def test_top_k_1_is_greedy_decoding_for_words_rendered_with_spaces_and_line_ends() -> None:
    generator = words(seed=1)
    vocab = generator.vocab
    expected = greedy_ids(generator.model, vocab.encode(["the", "cat"]), 30)
    got = text(generator, "the cat", 30, top_k=1)
    assert got == render_words([vocab.token(i) for i in expected], at_line_start=False)
    assert got.startswith(" ") or got.startswith("\n")


def test_an_empty_prompt_starts_as_a_line_starts() -> None:
    generator = words(seed=2)
    vocab = generator.vocab
    expected = greedy_ids(generator.model, [vocab.index(EOS)], 12)
    got = text(generator, "", 12, top_k=1)
    assert got == render_words([vocab.token(i) for i in expected], at_line_start=True)
    assert not got.startswith(" ")


def test_streamed_pieces_join_to_the_whole_text() -> None:
    streamed = words(seed=7)
    streamed.feed("a b")
    pieces = []
    for piece in streamed.generate(25, temperature=0.8, top_k=5):
        pieces.append(piece)
    assert len(pieces) == 25
    assert all(isinstance(piece, str) and piece for piece in pieces)
    assert "".join(pieces) == text(words(seed=7), "a b", 25, temperature=0.8, top_k=5)


def test_pieces_are_yielded_as_they_are_drawn() -> None:
    generator = chars(seed=0)
    generator.feed("ab")
    started = time.perf_counter()
    first = list(itertools.islice(generator.generate(10**9), 1))
    assert time.perf_counter() - started < 5.0
    assert len(first) == 1 and first[0] in generator.vocab


def test_generation_goes_on_from_where_it_stopped() -> None:
    once = chars(seed=11)
    once.feed("ab")
    whole = "".join(once.generate(20, top_k=1))
    twice = chars(seed=11)
    twice.feed("ab")
    parts = "".join(twice.generate(8, top_k=1)) + "".join(twice.generate(12, top_k=1))
    assert parts == whole


# --- the stateful generator -------------------------------------------------------------------


def test_feeding_in_pieces_equals_feeding_at_once() -> None:
    pieces, once = words(), words()
    pieces.feed("a b")
    pieces.feed("c d")
    once.feed("a b c d")
    assert pieces.logits is not None and once.logits is not None
    assert torch.allclose(pieces.logits, once.logits, atol=1e-6)
    assert [t for t, _ in pieces.most_likely(3)] == [t for t, _ in once.most_likely(3)]
    assert pieces.most_likely(3)[0][1] == pytest.approx(once.most_likely(3)[0][1], abs=1e-6)
    only_last = words()
    only_last.feed("c d")
    assert only_last.logits is not None
    assert not torch.allclose(only_last.logits, once.logits, atol=1e-4)


def test_reset_forgets_what_was_fed() -> None:
    generator, fresh = words(), words()
    generator.feed("the cat sat on")
    generator.reset()
    assert generator.logits is None and generator.state is None
    generator.feed("c d")
    fresh.feed("c d")
    assert generator.logits is not None and fresh.logits is not None
    assert torch.allclose(generator.logits, fresh.logits, atol=1e-6)


def test_most_likely_lists_k_tokens_by_probability() -> None:
    generator = words()
    generator.feed("the cat")
    top = generator.most_likely(5)
    assert len(top) == 5 and all(token in generator.vocab for token, _ in top)
    probabilities = [p for _, p in top]
    assert probabilities == sorted(probabilities, reverse=True)
    assert 0 < sum(probabilities) <= 1 + 1e-6
    everything = generator.most_likely(100)
    assert len(everything) == len(generator.vocab)
    assert sum(p for _, p in everything) == pytest.approx(1.0, abs=1e-5)


# --- the filters ------------------------------------------------------------------------------


def kept(scores: torch.Tensor) -> set[int]:
    return {int(i) for i in torch.nonzero(torch.isfinite(scores)).flatten()}


def test_top_k_keeps_exactly_the_k_most_likely() -> None:
    logits = torch.tensor([0.3, 2.0, -1.0, 1.5, 0.9, -0.2, 1.1])
    for k, want in [(1, {1}), (2, {1, 3}), (3, {1, 3, 6}), (7, set(range(7))), (50, set(range(7)))]:
        scores = filter_logits(logits, top_k=k)
        assert kept(scores) == want, k
        assert torch.equal(scores[list(want)], logits[list(want)])


def test_top_k_keeps_ties_with_the_kth_score() -> None:
    scores = filter_logits(torch.tensor([3.0, 2.0, 2.0, 0.0]), top_k=2)
    assert kept(scores) == {0, 1, 2}


def test_top_p_keeps_the_smallest_set_whose_mass_reaches_p() -> None:
    # probabilities 0.5, 0.3, 0.15, 0.05, in a shuffled order; a token stays while the mass of
    # the tokens more likely than it is below p
    probabilities = torch.tensor([0.15, 0.5, 0.05, 0.3], dtype=torch.float64)
    logits = probabilities.log()
    for p, want in [
        (0.7, {1, 3}),
        (0.6, {1, 3}),
        (0.45, {1}),
        (0.81, {1, 3, 0}),
        (0.9, {1, 3, 0}),
        (0.96, {0, 1, 2, 3}),
        (1.0, {0, 1, 2, 3}),
    ]:
        assert kept(filter_logits(logits, top_p=p)) == want, p


def test_top_p_filters_each_row_on_its_own() -> None:
    probabilities = torch.tensor(
        [[0.15, 0.5, 0.05, 0.3], [0.05, 0.05, 0.1, 0.8], [0.25, 0.25, 0.25, 0.25]]
    )
    scores = filter_logits(probabilities.log(), top_p=0.7)
    assert [kept(row) for row in scores] == [{1, 3}, {3}, {0, 1, 2}]


def test_the_most_likely_token_always_stays() -> None:
    logits = torch.tensor([[0.0, 5.0, 1.0, 4.9], [9.0, 0.0, 0.0, 0.0]])
    for scores in (
        filter_logits(logits, top_p=1e-9),
        filter_logits(logits, top_k=1, top_p=1e-9),
        filter_logits(logits, temperature=0.01, top_p=0.001),
    ):
        assert [kept(row) for row in scores] == [{1}, {0}]


def test_top_k_and_top_p_together_keep_what_both_keep() -> None:
    logits = torch.tensor([0.15, 0.5, 0.05, 0.3]).log()
    assert kept(filter_logits(logits, top_k=3, top_p=0.96)) == {0, 1, 3}
    assert kept(filter_logits(logits, top_k=3, top_p=0.6)) == {1, 3}


def test_temperature_divides_the_scores() -> None:
    logits = torch.tensor([1.0, -2.0, 0.5, 3.0])
    assert torch.allclose(filter_logits(logits, temperature=2.0), logits / 2)
    assert torch.allclose(filter_logits(logits, temperature=0.25), logits * 4)
    sharp = filter_logits(logits, temperature=0.5).softmax(-1)
    flat = filter_logits(logits, temperature=4.0).softmax(-1)
    assert float(sharp.max()) > float(logits.softmax(-1).max()) > float(flat.max())
    # temperature before top-p: a sharper distribution keeps fewer tokens
    assert kept(filter_logits(logits, top_p=0.95)) == {0, 2, 3}  # 0.82, 0.11, 0.07
    assert kept(filter_logits(logits, temperature=0.3, top_p=0.95)) == {3}


def test_sample_next_draws_a_certain_token_and_stays_within_the_filter() -> None:
    one_hot = torch.full((3, 9), -1e4)
    one_hot[0, 7] = one_hot[1, 2] = one_hot[2, 0] = 10.0
    generator = torch.Generator().manual_seed(0)
    assert sample_next(one_hot, generator=generator).tolist() == [7, 2, 0]
    logits = torch.tensor([[0.3, 2.0, -1.0, 1.5, 0.9]]).expand(400, 5)
    drawn = sample_next(logits, top_k=2, generator=generator)
    assert set(drawn.tolist()) == {1, 3}
    cold = sample_next(logits[:50], temperature=1e-3, generator=generator)
    assert set(cold.tolist()) == {1}
    seeded = [sample_next(logits, generator=torch.Generator().manual_seed(5)) for _ in range(2)]
    assert torch.equal(*seeded)


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"temperature": 0.0}, "temperature must be a number > 0"),
        ({"temperature": -1.0}, "temperature must be a number > 0"),
        ({"temperature": math.nan}, "temperature must be a number > 0"),
        ({"temperature": math.inf}, "temperature must be a number > 0"),
        ({"top_p": 0.0}, r"top_p must be in \(0, 1\]"),
        ({"top_p": 1.5}, r"top_p must be in \(0, 1\]"),
        ({"top_p": math.nan}, r"top_p must be in \(0, 1\]"),
        ({"top_k": 0}, "top_k must be ≥ 1"),
        ({"tokens": 0}, "number of tokens must be ≥ 1"),
        ({"tokens": -3}, "number of tokens must be ≥ 1"),
    ],
    ids=lambda value: str(value),
)
def test_a_bad_setting_is_one_clear_error_at_the_call(
    settings: dict[str, Any], message: str
) -> None:
    generator = words(seed=0)
    tokens = settings.pop("tokens", 5)
    with pytest.raises(ValueError, match=message):
        generator.generate(tokens, **settings)  # refused before any token is drawn
    if "tokens" not in settings and tokens == 5:
        with pytest.raises(ValueError, match=message):
            filter_logits(torch.zeros(4), **settings)


def test_a_prompt_of_unknown_words_is_read_as_unk_and_said(tmp_path: Path) -> None:
    warn = io.StringIO()
    generator = words(seed=0, warn=warn)
    generator.feed("zebra quux")
    said = warn.getvalue()
    assert said.startswith("rnnkit: none of the prompt's words is in the vocabulary")
    assert "<unk>" in said and said.count("\n") == 1
    pieces = list(generator.generate(4))
    assert len(pieces) == 4
    as_unk = words()
    as_unk.feed("<unk> <unk>")
    assert generator.state is not None
    fed_unknown = words()
    fed_unknown.feed("zebra quux")
    assert as_unk.logits is not None and fed_unknown.logits is not None
    assert torch.allclose(as_unk.logits, fed_unknown.logits)


def test_some_unknown_words_are_named() -> None:
    warn = io.StringIO()
    words(warn=warn).feed("the zebra sat quux")
    assert warn.getvalue() == "rnnkit: words not in the vocabulary, read as <unk>: zebra quux\n"


def test_a_known_prompt_says_nothing() -> None:
    warn = io.StringIO()
    words(warn=warn).feed("the cat")
    chars(warn=warn).feed("abc\n")
    assert warn.getvalue() == ""


def test_unknown_characters_without_unk_are_skipped_and_named() -> None:
    warn = io.StringIO()
    generator = chars(seed=0, warn=warn)
    generator.feed("aXb€")
    said = warn.getvalue()
    assert "skipped" in said and "X" in said and "€" in said
    known = chars()
    known.feed("ab")
    assert generator.logits is not None and known.logits is not None
    assert torch.allclose(generator.logits, known.logits)
    nothing = chars(seed=0, warn=warn)
    nothing.feed("€€")  # nothing known: it starts from a line start, and still generates
    assert len(list(nothing.generate(5))) == 5


def test_unknown_characters_with_unk_are_read_as_unk() -> None:
    warn = io.StringIO()
    chars(warn=warn, unk="<unk>").feed("aZ")
    assert "read as <unk>" in warn.getvalue() and "Z" in warn.getvalue()


# --- from a run -------------------------------------------------------------------------------


def test_a_run_of_another_task_is_one_clear_error() -> None:
    classifier = TextClassifier(
        ClassifierConfig(embedding_dim=8, encoder=EncoderConfig(hidden_size=8)),
        vocab_size=10,
        labels=["neg", "pos"],
    )
    run = SimpleNamespace(model=classifier, path=Path("runs/sst2"), task=get_task("classify"))
    with pytest.raises(ValueError, match="needs a run of `rnnkit train lm`") as info:
        TextGenerator.from_run(run)
    assert "runs/sst2" in str(info.value) and "'classify'" in str(info.value)


@pytest.mark.parametrize(("level", "dataset"), [("char", "text:x.txt"), ("word", "ptb")])
def test_a_run_of_lm_gives_a_generator_at_its_level(level: str, dataset: str) -> None:
    vocab = char_vocab() if level == "char" else word_vocab()
    config = resolve("lm", {"dataset": dataset, "level": level})
    run = SimpleNamespace(
        model=model_for(vocab), vocab=vocab, config=config, path=Path("r"), task=get_task("lm")
    )
    generator = TextGenerator.from_run(run, seed=1)
    assert generator.level == level
    assert len(list(generator.generate(3))) == 3
