"""Pooling a padded sequence of recurrent outputs into one vector per sequence."""

from __future__ import annotations

import torch
from torch import Tensor, nn

POOLINGS = ("last", "max", "mean", "maxmean", "attention")


class SequencePooling(nn.Module):
    """Pool outputs (B, T, F) with true lengths (B,) into (B, out_features).

    ``last``: the final state (B, F) as the layer returns it, h_n of the top layer with both
    directions concatenated (forward at the last real token, backward at the first).
    ``max`` / ``mean``: over real positions only. ``maxmean``: both, concatenated (B, 2F).
    ``attention``: a learned query scores each position (tanh(W o) · v), softmax over real
    positions, weighted sum (Yang et al. 2016).
    """

    def __init__(self, kind: str, features: int) -> None:
        super().__init__()
        if kind not in POOLINGS:
            valid = ", ".join(POOLINGS)
            raise ValueError(f"SequencePooling: kind must be one of {valid}, got {kind!r}")
        self.kind = kind
        self.out_features = 2 * features if kind == "maxmean" else features
        if kind == "attention":
            self.project = nn.Linear(features, features)
            self.query = nn.Linear(features, 1, bias=False)

    def forward(self, outputs: Tensor, lengths: Tensor, last: Tensor) -> Tensor:
        """outputs (B, T, F), lengths (B,), last (B, F) -> (B, out_features)."""
        if self.kind == "last":
            return last
        steps = torch.arange(outputs.shape[1], device=outputs.device)
        valid = (steps.unsqueeze(0) < lengths.to(outputs.device).unsqueeze(1)).unsqueeze(2)
        if self.kind == "attention":
            scores = self.query(torch.tanh(self.project(outputs)))  # (B, T, 1)
            weights = torch.softmax(scores.masked_fill(~valid, float("-inf")), dim=1)
            return (weights * outputs.masked_fill(~valid, 0)).sum(1)  # padding never enters
        mean = outputs.masked_fill(~valid, 0).sum(1) / valid.sum(1).clamp(min=1)
        if self.kind == "mean":
            return mean
        top = outputs.masked_fill(~valid, float("-inf")).amax(1)
        return top if self.kind == "max" else torch.cat([top, mean], dim=1)
