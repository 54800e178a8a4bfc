"""Starting a task model's word embedding from a pretrained vectors file (``model.vectors`` of
``classify`` and ``tag``): read the file for the run's vocabulary, copy the rows in, say the
coverage in the log and store it in the run directory as ``vectors.json``.

The vectors' size must be the embedding's: a file of another size is refused with one line
naming the file, its size and the configured one (the embedding size is a saved setting of the
run, so it is never changed behind the user's back). On ``--resume`` the embedding comes from the
checkpoint and the file is not read again.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TextIO

import torch
from torch import nn

from rnnkit._io import atomic_write_text
from rnnkit.text import Vocab
from rnnkit.text.vectors import WordVectors, read_vectors

__all__ = ["VECTORS_FILE", "start_embedding"]

VECTORS_FILE = "vectors.json"  # in the run directory: file, dim, words_found, vocab_size, …


def start_embedding(
    embedding: nn.Embedding,
    path: str,
    vocab: Vocab,
    *,
    run_dir: Path,
    dim_setting: str,
    normalise: Callable[[str], str] | None = None,
    token_counts: Mapping[str, int] | None = None,
    log: TextIO | None = None,
) -> WordVectors:
    """Copy the rows of ``vocab``'s words in vectors file ``path`` into ``embedding``; print the
    coverage (to ``log``, default stderr) and write ``run_dir/vectors.json``."""
    vectors = read_vectors(
        path, vocab, dim=embedding.embedding_dim, setting="model.vectors",
        dim_setting=dim_setting, normalise=normalise, token_counts=token_counts,
    )  # fmt: skip
    with torch.no_grad():
        embedding.weight.copy_(vectors.table)
    print(f"rnnkit: {vectors.describe()}", file=log or sys.stderr)
    atomic_write_text(run_dir / VECTORS_FILE, json.dumps(vectors.summary(), indent=1) + "\n")
    return vectors
