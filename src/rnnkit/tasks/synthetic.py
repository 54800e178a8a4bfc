"""Synthetic long-range tasks: the adding problem (Hochreiter & Schmidhuber 1997).

Each sequence has T steps of two features: a value drawn from U(0, 1) and a marker in {0, 1}.
Exactly two steps are marked, one in the first half and one in the second half (as in Le et al.
2015 and Arjovsky et al. 2016); the target is the sum of the two marked values. Always answering
1 scores an MSE of Var(U + U') = 1/6 ≈ 0.167, so a model must beat that to have learned anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.nn import GRU, LSTM, RNN
from rnnkit.tasks.base import Artifacts, Result, Task, TaskModel, register
from rnnkit.tasks.encoder import EncoderConfig, build_encoder

__all__ = [
    "ADDING_BASELINE_MSE",
    "CELLS",
    "AddingModel",
    "AddingRegressor",
    "SyntheticTask",
    "adding_problem",
]

CELLS: tuple[str, ...] = ("rnn", "lstm", "gru")
ADDING_BASELINE_MSE = 1.0 / 6.0  # MSE of always answering 1: Var(U(0,1) + U(0,1)) = 2/12


def adding_problem(n: int, seq_len: int, *, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Draw ``n`` adding-problem sequences of length ``seq_len``.

    Args:
        n: number of sequences.
        seq_len: time steps T per sequence, at least 2.
        generator: the random source; the same seed gives the same data.

    Returns:
        ``x`` (n, T, 2) float32: ``x[..., 0]`` the values in [0, 1), ``x[..., 1]`` the markers,
        exactly one in steps [0, T // 2) and one in steps [T // 2, T); ``y`` (n,) float32: the sum
        of the two marked values.
    """
    if n < 1:
        raise ValueError(f"adding_problem: n must be >= 1, got {n}")
    if seq_len < 2:
        raise ValueError(f"adding_problem: seq_len must be >= 2, got {seq_len}")
    half = seq_len // 2
    values = torch.rand(n, seq_len, generator=generator)  # (n, T)
    first = torch.randint(0, half, (n, 1), generator=generator)  # (n, 1)
    second = torch.randint(half, seq_len, (n, 1), generator=generator)  # (n, 1)
    where = torch.cat([first, second], dim=1)  # (n, 2)
    markers = torch.zeros(n, seq_len).scatter_(1, where, 1.0)  # (n, T)
    x = torch.stack([values, markers], dim=-1)  # (n, T, 2)
    y = values.gather(1, where).sum(dim=1)  # (n,)
    return x, y


def _recurrent_layer(cell: str, hidden_size: int) -> nn.Module:
    """One batch-first rnnkit layer over 2 input features (``cell`` already validated).

    The default backend runs torch's own kernels, so speed and results are torch's.
    """
    if cell == "rnn":
        return RNN(2, hidden_size, batch_first=True, nonlinearity="tanh")
    if cell == "lstm":
        return LSTM(2, hidden_size, batch_first=True, forget_bias=1.0)  # Jozefowicz et al. 2015
    return GRU(2, hidden_size, batch_first=True)


class AddingModel(nn.Module):
    """A recurrent layer and a ``Linear(hidden_size, 1)`` head on its last hidden state.

    Args:
        cell: ``"rnn"`` (Elman, tanh), ``"lstm"`` or ``"gru"``.
        hidden_size: H, the width of the recurrent state.

    Shape:
        - input ``x``: (B, T, 2), as made by :func:`adding_problem`
        - output: (B,), the predicted sums

    >>> model = AddingModel("gru", 16)
    >>> model(torch.zeros(3, 10, 2)).shape
    torch.Size([3])
    """

    def __init__(self, cell: str, hidden_size: int) -> None:
        super().__init__()
        if cell not in CELLS:
            valid = ", ".join(repr(c) for c in CELLS)
            raise ValueError(f"AddingModel: cell must be one of {valid}, got {cell!r}")
        if hidden_size < 1:
            raise ValueError(f"AddingModel: hidden_size must be >= 1, got {hidden_size}")
        self.cell = cell
        self.rnn = _recurrent_layer(cell, hidden_size)
        self.head = nn.Linear(hidden_size, 1)

    def forward(self, x: Tensor) -> Tensor:
        """Map ``x`` (B, T, 2) to predictions (B,)."""
        out, _ = self.rnn(x)  # (B, T, H)
        return self.head(out[:, -1]).squeeze(-1)  # type: ignore[no-any-return]  # (B,)

    def forward_loss(self, batch: tuple[Tensor, Tensor]) -> Tensor:
        """Mean squared error of the predictions for ``batch = (x (B, T, 2), y (B,))``, a scalar."""
        x, y = batch
        return F.mse_loss(self(x), y)

    @torch.no_grad()
    def predict(self, x: Tensor) -> Tensor:
        """Predictions (B,) for ``x`` (B, T, 2), without gradients."""
        return self(x)  # type: ignore[no-any-return]


# -- the ``synthetic`` task: the adding problem through the generic run ------------------------


@dataclass(frozen=True)
class AddingDataConfig:
    """The generated adding-problem sequences."""

    seq_len: int = 50  # time steps T of every sequence
    train_size: int = 2000  # training sequences
    val_size: int = 500  # validation sequences
    test_size: int = 1000  # test sequences
    batch_size: int = 64  # sequences per batch
    data_seed: int = 0  # seeds the generated data (apart from trainer.seed)

    def __post_init__(self) -> None:
        if self.seq_len < 2:
            raise ValueError(f"synthetic: seq_len must be ≥ 2, got {self.seq_len}")
        for name in ("train_size", "val_size", "test_size", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"synthetic: {name} must be ≥ 1, got {getattr(self, name)}")


@dataclass(frozen=True)
class AddingModelConfig:
    """An encoder and a linear head on its last output."""

    encoder: EncoderConfig = field(
        default_factory=lambda: EncoderConfig(hidden_size=64, bidirectional=False)
    )  # the recurrent layers


class AddingRegressor(TaskModel):
    """Any rnnkit encoder over (B, T, 2) inputs and ``Linear(D·H, 1)`` on its last output."""

    def __init__(self, config: AddingModelConfig) -> None:
        super().__init__()
        self.recurrent = build_encoder(config.encoder, 2)
        self.head = nn.Linear(config.encoder.output_size, 1)

    def forward_prediction(self, x: Tensor) -> Tensor:
        out, _ = self.recurrent(x)  # (B, T, D·H)
        return self.head(out[:, -1]).squeeze(-1)  # type: ignore[no-any-return]  # (B,)

    def forward_loss(self, batch: tuple[Tensor, Tensor]) -> tuple[Tensor, int]:
        x, y = batch
        return F.mse_loss(self.forward_prediction(x), y, reduction="sum"), len(y)

    @torch.no_grad()
    def predict(self, x: Tensor) -> Tensor:
        return self.forward_prediction(x)

    @torch.no_grad()
    def evaluate(self, batches: Iterable[tuple[Tensor, Tensor]]) -> dict[str, float]:
        total, count = 0.0, 0
        for x, y in batches:
            total += float(F.mse_loss(self.forward_prediction(x), y, reduction="sum"))
            count += len(y)
        if count == 0:
            raise ValueError("synthetic: evaluate got no batches")
        return {"loss": total / count, "mse": total / count}


class TensorBatches:
    """(x, y) batches of fixed tensors, reshuffled each epoch from the seed and epoch."""

    def __init__(self, x: Tensor, y: Tensor, *, batch_size: int, shuffle: bool, seed: int) -> None:
        self.x, self.y, self.batch_size, self.shuffle, self.seed = x, y, batch_size, shuffle, seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return -(-len(self.y) // self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        order = torch.arange(len(self.y))
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
            order = torch.randperm(len(self.y), generator=generator)
        for start in range(0, len(order), self.batch_size):
            chosen = order[start : start + self.batch_size]
            yield self.x[chosen], self.y[chosen]


class SyntheticTask(Task):
    """``rnnkit train synthetic``: the adding problem, regression by any cell."""

    name: ClassVar[str] = "synthetic"
    summary: ClassVar[str] = "the adding problem (Hochreiter & Schmidhuber 1997), no download"
    sections: ClassVar[dict[str, type]] = {"data": AddingDataConfig, "model": AddingModelConfig}
    default_monitor: ClassVar[str] = "mse"
    record_metrics: ClassVar[tuple[str, ...]] = ("mse",)
    vocab_names: ClassVar[tuple[str, ...]] = ()
    input_help: ClassVar[str] = "sequences as value:marker pairs, e.g. '0.3:1 0.8:0 0.5:1'"

    def dataset_name(self, config: Any) -> str:
        return f"adding-T{config.data.seq_len}"

    def load_data(self, config: Any) -> dict[str, tuple[Tensor, Tensor]]:
        cfg = config.data
        generator = torch.Generator().manual_seed(cfg.data_seed)
        sizes = {"train": cfg.train_size, "val": cfg.val_size, "test": cfg.test_size}
        return {
            split: adding_problem(n, cfg.seq_len, generator=generator) for split, n in sizes.items()
        }

    def build_artifacts(self, config: Any, data: Any) -> Artifacts:
        return Artifacts({}, ["sum"])

    def build_model(self, config: Any, artifacts: Artifacts) -> AddingRegressor:
        return AddingRegressor(config.model)

    def batches(
        self, config: Any, artifacts: Artifacts, data: Any, split: str, *, train: bool
    ) -> TensorBatches:
        x, y = data[split]
        return TensorBatches(
            x, y, batch_size=config.data.batch_size, shuffle=train, seed=config.trainer.seed
        )

    def evaluate(self, run: Any, data: Any, split: str) -> Result:
        x, y = data[split]
        loader = TensorBatches(x, y, batch_size=500, shuffle=False, seed=0)
        model = run.model
        metrics = model.evaluate((bx.to(model.device), by.to(model.device)) for bx, by in loader)
        table = (
            f"test MSE {metrics['mse']:.4g} vs {ADDING_BASELINE_MSE:.4g} for always answering 1 "
            f"({100 * metrics['mse'] / ADDING_BASELINE_MSE:.2f}% of it)"
        )
        return Result(
            task=self.name, dataset=self.dataset_name(run.config), split=split, main="mse",
            metrics=metrics, examples=len(y), table=table,
        )  # fmt: skip

    def predict(self, run: Any, inputs: Sequence[str]) -> list[dict[str, Any]]:
        if isinstance(inputs, str):
            inputs = [inputs]
        results = []
        for position, text in enumerate(inputs):
            try:
                pairs = [tuple(float(v) for v in item.split(":")) for item in text.split()]
            except ValueError:
                pairs = []
            if not pairs or any(len(p) != 2 for p in pairs):
                raise ValueError(
                    f"predict: input {position + 1} must be value:marker pairs such as "
                    f"'0.3:1 0.8:0 0.5:1', got {text!r:.60}"
                )
            x = torch.tensor([pairs], dtype=torch.float32, device=run.model.device)
            results.append({"text": text, "sum": float(run.model.predict(x)[0])})
        return results

    def format_prediction(self, prediction: Mapping[str, Any]) -> str:
        return f"{prediction['sum']:.4f}\t{prediction['text']}"


register(SyntheticTask())
