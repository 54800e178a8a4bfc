"""Imported by the fork server that a search's worker processes are forked from
(:func:`rnnkit.tuning.search._run_processes`): what every worker needs, loaded once there, so
each worker starts in a fraction of a second rather than in seconds. Importing this module is
the warm-up; it opens no file and starts no thread (the server must stay safe to fork)."""

from __future__ import annotations

import torch._dynamo  # noqa: F401 - what torch.optim imports on its first use (seconds)

import rnnkit.tuning.search  # noqa: F401 - rnnkit, torch, the training and the results
from rnnkit.tasks.base import available_tasks
from rnnkit.tuning.storage import require_optuna

available_tasks()  # every registered task's module
_storage = require_optuna().storages.RDBStorage("sqlite:///:memory:")  # SQLAlchemy's, Optuna's
_storage.engine.dispose()  # lazy imports done; no connection is left open
del _storage
