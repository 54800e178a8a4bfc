"""Pretraining a classifier's encoder as a language model on its own training texts, before the
classifier is trained (Dai & Le 2015; ULMFiT, Howard & Ruder 2018) — no outside text, no labels."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from safetensors.torch import load_file

from rnnkit.tasks.base import Stage
from rnnkit.tasks.encoder_lm import EncoderLM
from rnnkit.tasks.text_data import EncodedSplit, batches

if TYPE_CHECKING:
    from rnnkit.tasks.classify import TextClassifier

FOLDER = "pretrain"  # inside the run directory: the LM's own weights, checkpoint and metrics
WEIGHTS = "model.safetensors"  # the file the Trainer keeps the best weights in


@dataclass(frozen=True)
class PretrainConfig:
    """Language-model pretraining of the encoder (off unless lm_epochs > 0)."""

    lm_epochs: int = 0  # epochs of language-model pretraining on the training texts; 0: none
    lm_lr: float = 2e-3  # peak learning rate of the pretraining (one-cycle, 10% warm-up)
    lm_len: int = 200  # tokens per pretraining segment (texts are cut into such segments)
    lm_batch_size: int = 32  # segments per pretraining batch
    lm_from: str | None = None  # a run to take the pretrained encoder and vocabulary from

    def __post_init__(self) -> None:
        if self.lm_from is not None and self.lm_epochs:
            raise ValueError(
                "pretrain: lm_from starts from another run's pretraining; lm_epochs must be 0"
            )
        if self.lm_epochs < 0:
            raise ValueError(f"pretrain: lm_epochs must be ≥ 0, got {self.lm_epochs}")
        if self.lm_len < 2:
            raise ValueError(f"pretrain: lm_len must be ≥ 2, got {self.lm_len}")
        if self.lm_batch_size < 1:
            raise ValueError(f"pretrain: lm_batch_size must be ≥ 1, got {self.lm_batch_size}")
        if self.lm_lr <= 0:
            raise ValueError(f"pretrain: lm_lr must be > 0, got {self.lm_lr}")


def segments(split: EncodedSplit, length: int) -> EncodedSplit:
    """Every text cut into pieces of ``length`` tokens; pieces of one token are dropped."""
    pieces = [
        ids[start : start + length]
        for ids in split.ids
        for start in range(0, len(ids), length)
        if len(ids) - start >= 2
    ]
    return EncodedSplit(pieces, [0] * len(pieces))


def pretraining_stage(
    model: TextClassifier,
    train: EncodedSplit,
    val: EncodedSplit,
    config: PretrainConfig,
    *,
    seed: int,
    pad_index: int,
) -> Stage:
    """Training ``model``'s embedding and recurrent layer as a language model on the texts of
    ``train`` (validated on ``val``'s, if any), in place, as a stage of the run kept in
    ``RUN/pretrain``: resumable, and once finished only its best weights (by validation loss;
    without validation texts, the last epoch's) are reloaded."""
    lm = EncoderLM(model.embedding, model.recurrent, dropout=model.config.dropout)
    overrides = {
        "epochs": config.lm_epochs, "lr": config.lm_lr, "schedule": "onecycle", "warmup": 0.1,
        "monitor": "loss", "mode": "min", "patience": None,
    }  # fmt: skip
    train_batches = batches(
        segments(train, config.lm_len), batch_size=config.lm_batch_size, shuffle=True,
        seed=seed, pad_index=pad_index,
    )  # fmt: skip
    val_segments = segments(val, config.lm_len)
    val_batches = (
        batches(val_segments, batch_size=64, shuffle=False, seed=seed, pad_index=pad_index)
        if val_segments.ids
        else None
    )
    return Stage(FOLDER, lm, overrides, train_batches, val_batches)


def load_pretrained_encoder(model: TextClassifier, run_dir: str | Path) -> None:
    """Start ``model``'s embedding and recurrent layer from the language model another run
    pretrained (``run_dir/pretrain``); ``model`` must have that run's vocabulary and shape."""
    path = Path(run_dir) / FOLDER / WEIGHTS
    if not path.is_file():
        raise ValueError(f"lm_from: {path} is missing (runs trained with lm_epochs > 0 have it)")
    lm = EncoderLM(model.embedding, model.recurrent, dropout=model.config.dropout)
    try:
        lm.load_state_dict(load_file(str(path), device=str(model.device)))
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise ValueError(f"lm_from: {path} does not fit this model's shape ({first})") from None
