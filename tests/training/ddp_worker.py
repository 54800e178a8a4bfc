"""Run by ``torchrun --nproc_per_node 2`` from test_distributed.py: train on this rank's shard,
then save this rank's final weights as ``rank<r>.safetensors`` in the folder given."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from conftest import EpochLoader, make_batches, make_model
from rnnkit.training import Trainer, TrainerConfig, save_weights


def main() -> None:
    out = Path(sys.argv[1])
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    torch.set_num_threads(1)
    model = make_model(seed=0, dropout=0.2)  # same initial weights on every rank
    config = TrainerConfig(epochs=2, lr=1e-2, progress=False, device="cpu")
    trainer = Trainer(model, config, run_dir=out / "run")
    loader = EpochLoader(make_batches(8, seed=1), rank=rank, world=world)
    trainer.fit(loader, make_batches(2, seed=2))
    save_weights(trainer.model, out / f"rank{rank}.safetensors")


if __name__ == "__main__":
    main()
