"""Text generation from a trained language model: sampling with temperature, top-k and top-p
(nucleus, Holtzman et al. 2020), and a stateful generator that reads text in pieces and keeps
its recurrent state between calls.

>>> from rnnkit.pipelines.run import Run  # doctest: +SKIP
>>> generator = TextGenerator.from_run(Run.load("runs/shakespeare"), seed=0)  # doctest: +SKIP
>>> generator.feed("ROMEO:")  # doctest: +SKIP
>>> for piece in generator.generate(200, temperature=0.8, top_k=40):  # doctest: +SKIP
...     print(piece, end="", flush=True)
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any, TextIO

import torch
from torch import Tensor

from rnnkit.tasks.lm import LanguageModel, State, corpus_level
from rnnkit.text import Vocab

__all__ = ["TextGenerator", "check_sampling", "filter_logits", "sample_next"]


def check_sampling(temperature: float, top_k: int | None, top_p: float | None) -> None:
    """One clear error for a sampling setting that means nothing."""
    if not (math.isfinite(temperature) and temperature > 0):
        raise ValueError(
            f"generate: temperature must be a number > 0 (1: the model's own distribution, "
            f"lower: more conservative), got {temperature}"
        )
    if top_k is not None and top_k < 1:
        raise ValueError(f"generate: top_k must be ≥ 1, got {top_k}")
    if top_p is not None and not 0 < top_p <= 1:
        raise ValueError(f"generate: top_p must be in (0, 1], got {top_p}")


def filter_logits(
    logits: Tensor, *, temperature: float = 1.0, top_k: int | None = None,
    top_p: float | None = None,
) -> Tensor:  # fmt: skip
    """logits (..., V) divided by ``temperature``, with every token outside the ``top_k`` most
    likely, and outside the smallest set whose probability reaches ``top_p``, set to -inf."""
    check_sampling(temperature, top_k, top_p)
    return _filtered(logits, temperature, top_k, top_p)


def _filtered(logits: Tensor, temperature: float, top_k: int | None, top_p: float | None) -> Tensor:
    """:func:`filter_logits` of settings already checked (once per text, not per token)."""
    scores = logits / temperature if temperature != 1 else logits
    if top_k is not None and top_k < scores.shape[-1]:
        kth = scores.topk(top_k, dim=-1).values[..., -1:]
        scores = scores.masked_fill(scores < kth, float("-inf"))
    if top_p is not None and top_p < 1:
        ordered, order = scores.sort(dim=-1, descending=True)
        before = ordered.softmax(-1).cumsum(-1) - ordered.softmax(-1)  # mass of the better ones
        drop = before >= top_p  # the most likely token always stays (its mass before is 0)
        scores = scores.masked_fill(drop.scatter(-1, order, drop), float("-inf"))
    return scores


def sample_next(
    logits: Tensor, *, temperature: float = 1.0, top_k: int | None = None,
    top_p: float | None = None, generator: torch.Generator | None = None,
) -> Tensor:  # fmt: skip
    """One token id per row of logits (B, V) → (B,), drawn from the filtered distribution."""
    check_sampling(temperature, top_k, top_p)
    return _drawn(logits, temperature, top_k, top_p, generator)


def _drawn(
    logits: Tensor, temperature: float, top_k: int | None, top_p: float | None,
    generator: torch.Generator | None,
) -> Tensor:  # fmt: skip
    probabilities = _filtered(logits, temperature, top_k, top_p).float().softmax(-1)
    return torch.multinomial(probabilities, 1, generator=generator).squeeze(-1)


@contextlib.contextmanager
def _small_steps(device: torch.device, steps: int) -> Iterator[None]:
    """Reading one token at a time on the CPU, torch's own LSTM/GRU kernels run a step about 3×
    faster than its oneDNN ones, which it picks by default and which win on whole batches
    (``benchmarks/results/lm-speed-2026-12-02.md``); oneDNN is turned off for such a call only."""
    if device.type != "cpu" or steps > 1 or not torch.backends.mkldnn.enabled:
        yield
        return
    torch.backends.mkldnn.enabled = False  # type: ignore[assignment]
    try:
        yield
    finally:
        torch.backends.mkldnn.enabled = True  # type: ignore[assignment]


class TextGenerator:
    """Continues text with a :class:`~rnnkit.tasks.lm.LanguageModel`, one token at a time.

    Args:
        model: the trained model (put in eval mode here).
        vocab: its vocabulary.
        level: ``"word"`` (a prompt is split on whitespace; ``<eos>`` prints as a line end) or
            ``"char"`` (every character is a token).
        seed: seeds the sampling (None: torch's global generator).
        warn: where to say that a prompt holds unknown tokens (None: say nothing).

    :meth:`feed` reads text and keeps the state; :meth:`generate` yields the text of each new
    token as it is drawn, feeding it back; both may be called again and again, the state running
    on. Unknown words read as ``<unk>``; unknown characters, where the vocabulary has no
    ``<unk>``, are skipped; either way ``warn`` is told which.
    """

    def __init__(
        self, model: LanguageModel, vocab: Vocab, *, level: str, seed: int | None = None,
        warn: TextIO | None = None,
    ) -> None:  # fmt: skip
        self.model, self.vocab, self.level, self.warn = model.eval(), vocab, level, warn
        self.state: State | None = None
        self.logits: Tensor | None = None  # (V,) the next token's scores, after the last fed
        self.at_line_start = True  # whether the last token read ended a line
        device = next(model.parameters()).device
        self.generator: torch.Generator | None = None
        if seed is not None:
            self.generator = torch.Generator(device=device).manual_seed(seed)
        self.eos = vocab.specials[0] if vocab.specials else None
        self.device = device
        self.line_end = self._line_end()[0]  # the id a line ends with

    @classmethod
    def from_run(
        cls, run: Any, *, seed: int | None = None, warn: TextIO | None = None
    ) -> TextGenerator:
        """The generator of a loaded run of ``rnnkit train lm``; one clear error otherwise."""
        if not isinstance(run.model, LanguageModel):
            raise ValueError(
                f"generate: {run.path} is a {run.task.name!r} run; generate needs a run of "
                "`rnnkit train lm`"
            )
        level = corpus_level(run.config)
        return cls(run.model, run.vocab, level=level, seed=seed, warn=warn)

    def reset(self) -> None:
        """Forget everything fed so far."""
        self.state, self.logits = None, None

    def tokens_of(self, text: str) -> list[str]:
        """``text`` as the model's tokens (see the class docstring for unknown ones)."""
        if self.level == "char":
            tokens = list(text)
            unknown = sorted({t for t in tokens if t not in self.vocab})
            if unknown and self.vocab.unk is None:
                self._say(f"characters not in the vocabulary, skipped: {''.join(unknown)!r}")
                tokens = [t for t in tokens if t in self.vocab]
            elif unknown:
                self._say(f"characters not in the vocabulary, read as {self.vocab.unk}: "
                          f"{''.join(unknown)!r}")  # fmt: skip
            return tokens
        tokens = text.split()
        unknown = [t for t in tokens if t not in self.vocab]
        if tokens and len(unknown) == len(tokens):
            self._say(
                f"none of the prompt's words is in the vocabulary; they are read as "
                f"{self.vocab.unk} (the model continues from an unknown word)"
            )
        elif unknown:
            self._say(f"words not in the vocabulary, read as {self.vocab.unk}: {' '.join(unknown)}")
        return tokens

    def _say(self, message: str) -> None:
        if self.warn is not None:
            print(f"rnnkit: {message}", file=self.warn)

    @torch.no_grad()
    def feed(self, text: str) -> None:
        """Read ``text`` (a prompt, or the next piece of one), keeping the state."""
        ids = self.vocab.encode(self.tokens_of(text))
        if not ids and self.logits is None:  # nothing read yet: start as a line starts
            ids = self._line_end()
        if ids:
            self._read(ids)

    def _line_end(self) -> list[int]:
        """The id that ends a line (``<eos>``, or ``\\n`` for characters), else the first."""
        for token in (self.eos, "\n"):
            if token is not None and token in self.vocab:
                return [self.vocab.index(token)]
        return [0]

    def _read(self, ids: list[int]) -> None:
        batch = torch.tensor([ids], dtype=torch.long, device=self.device)  # (1, T)
        with _small_steps(self.device, len(ids)):
            logits, self.state = self.model.forward_tokens(batch, self.state)
        self.logits = logits[0, -1]
        self.at_line_start = ids[-1] == self.line_end

    def _start(self) -> Tensor:
        if self.logits is None:
            self.feed("")
        assert self.logits is not None
        return self.logits

    def most_likely(self, k: int) -> list[tuple[str, float]]:
        """The ``k`` most likely next tokens after what was fed, with their probabilities."""
        probabilities = self._start().float().softmax(-1)
        top = probabilities.topk(min(k, probabilities.numel()))
        return [
            (self.vocab.token(int(i)), float(p))
            for p, i in zip(top.values, top.indices, strict=True)
        ]

    def render(self, token: str, first: bool) -> str:
        """The text a token adds: characters as they are; words after a space, and
        ``<eos>`` as a line end."""
        if self.level == "char":
            return token
        if token == self.eos:
            return "\n"
        return token if first else " " + token

    def generate(
        self, tokens: int, *, temperature: float = 1.0, top_k: int | None = None,
        top_p: float | None = None,
    ) -> Iterator[str]:  # fmt: skip
        """Yield the text of ``tokens`` new tokens, each as soon as it is drawn; a bad setting
        is refused here, at the call, not at the first token."""
        if tokens < 1:
            raise ValueError(f"generate: the number of tokens must be ≥ 1, got {tokens}")
        check_sampling(temperature, top_k, top_p)
        return self._pieces(tokens, temperature, top_k, top_p)

    @torch.no_grad()
    def _pieces(
        self, tokens: int, temperature: float, top_k: int | None, top_p: float | None
    ) -> Iterator[str]:
        for _ in range(tokens):
            logits = self._start()
            index = int(_drawn(logits.unsqueeze(0), temperature, top_k, top_p, self.generator)[0])
            token = self.vocab.token(index)
            yield self.render(token, self.at_line_start)
            self._read([index])
