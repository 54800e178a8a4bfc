"""Translation quality with sacrebleu (Post 2018): corpus BLEU on detokenised text, the same
lower-cased (what tutorials that lower-case their data report), and chrF.

sacrebleu is used, not re-implemented: its figures are the ones papers quote, and its signature
says exactly how they were computed (tokenizer, smoothing, case, version).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sacrebleu

__all__ = ["TranslationScores", "score_translations"]


@dataclass(frozen=True)
class TranslationScores:
    """Corpus scores, each on sacrebleu's 0–100 scale, and the signatures that define them."""

    bleu: float  # cased BLEU, 13a tokenisation, exponential smoothing (sacrebleu's defaults)
    bleu_lc: float  # the same, lower-cased
    chrf: float  # chrF (character 6-grams, β = 2)
    bleu_signature: str
    chrf_signature: str


def score_translations(hypotheses: Sequence[str], references: Sequence[str]) -> TranslationScores:
    """Score detokenised ``hypotheses`` against one reference each, line by line.

    Raises:
        ValueError: the two lists differ in length, or are empty.
    """
    if len(hypotheses) != len(references):
        raise ValueError(
            f"score_translations: {len(hypotheses)} hypotheses for {len(references)} references"
        )
    if not hypotheses:
        raise ValueError("score_translations: nothing to score")
    hyps, refs = list(hypotheses), [list(references)]
    cased, lowered = sacrebleu.BLEU(), sacrebleu.BLEU(lowercase=True)
    chrf = sacrebleu.CHRF()
    return TranslationScores(
        bleu=float(cased.corpus_score(hyps, refs).score),
        bleu_lc=float(lowered.corpus_score(hyps, refs).score),
        chrf=float(chrf.corpus_score(hyps, refs).score),
        bleu_signature=str(cased.get_signature()),
        chrf_signature=str(chrf.get_signature()),
    )
