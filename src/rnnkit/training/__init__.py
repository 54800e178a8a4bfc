"""rnnkit.training — one Trainer for every task, its callbacks, checkpoints and schedules."""

from rnnkit.training.callbacks import Callback, EarlyStopping, MetricsLog, ProgressBar
from rnnkit.training.checkpoint import load_checkpoint, load_weights, save_checkpoint, save_weights
from rnnkit.training.trainer import Trainer, TrainerConfig, TrainState, seed_everything

__all__ = [
    "Callback",
    "EarlyStopping",
    "MetricsLog",
    "ProgressBar",
    "TrainState",
    "Trainer",
    "TrainerConfig",
    "load_checkpoint",
    "load_weights",
    "save_checkpoint",
    "save_weights",
    "seed_everything",
]
