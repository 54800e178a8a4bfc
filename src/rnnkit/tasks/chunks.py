"""Reading long texts as independent chunks (Johnson & Zhang 2016's pooled region embeddings).

A text of T tokens becomes ⌈T / c⌉ chunks of at most c tokens that the recurrent layer reads as
one large batch; their outputs go back to their places in the text, so pooling over the text
sees one output per token. Chunks carry no state between them: each output sees at most c
tokens of context; in exchange the recurrence runs c steps instead of T, over a batch about
T / c times larger.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def chunk_lengths(lengths: Tensor, steps: int, chunk_len: int) -> Tensor:
    """Real tokens in each chunk, (B, ⌈steps / chunk_len⌉), zero for chunks past a text's end."""
    starts = torch.arange(0, steps, chunk_len, device=lengths.device)
    return (lengths.unsqueeze(1) - starts.unsqueeze(0)).clamp(0, chunk_len)


def read_in_chunks(layer: nn.Module, inputs: Tensor, lengths: Tensor, chunk_len: int) -> Tensor:
    """Run a batch_first recurrent ``layer`` over chunks of ``chunk_len`` tokens.

    inputs (B, T, E), lengths (B,) -> outputs (B, T, F), zero past each text's length.
    """
    batch, steps, features = inputs.shape
    per_chunk = chunk_lengths(lengths, steps, chunk_len).reshape(-1)  # (B·n,)
    padded_steps = per_chunk.numel() // batch * chunk_len
    chunks = F.pad(inputs, (0, 0, 0, padded_steps - steps)).reshape(-1, chunk_len, features)
    kept = per_chunk.nonzero().squeeze(1)
    outputs: Tensor = layer(chunks[kept], lengths=per_chunk[kept])[0]  # (K, chunk_len, F')
    placed = outputs.new_zeros(chunks.shape[0], chunk_len, outputs.shape[2])
    placed = placed.index_copy(0, kept, outputs)
    return placed.reshape(batch, padded_steps, -1)[:, :steps]
