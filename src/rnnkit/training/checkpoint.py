"""Training checkpoints and model weights, written atomically and read without unpickling.

``model.safetensors`` holds weights only (safetensors). ``checkpoint.pt`` holds what a resumed
run needs — weights, optimizer and scheduler state, progress, the RNG state — as tensors, numbers
and strings, saved with ``torch.save`` and loaded with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import os
import pickle
import re
import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from rnnkit._io import atomic_path

WEIGHTS = "model.safetensors"
CHECKPOINT = "checkpoint.pt"


def save_weights(model: nn.Module, path: str | os.PathLike[str]) -> Path:
    """Write ``model``'s state dict to a safetensors file, atomically; a tensor shared by two
    names (tied embedding and decoder) is written under each (safetensors refuses shared
    memory) and loads back into the one parameter."""
    state, seen = {}, set()
    for name, tensor in model.state_dict().items():
        t = tensor.detach().contiguous().cpu()
        key = (t.untyped_storage().data_ptr(), t.storage_offset(), t.shape)
        state[name] = t.clone() if key in seen else t
        seen.add(key)
    with atomic_path(path) as tmp:
        save_file(state, str(tmp))
    return Path(path)


def load_weights(model: nn.Module, path: str | os.PathLike[str], *, strict: bool = True) -> None:
    """Load a safetensors state dict into ``model`` (on the model's device)."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"no weights file at {path}")
    device = next(iter(model.state_dict().values())).device
    try:
        state = load_file(str(path), device=str(device))
    except Exception as exc:  # safetensors' own error type is not public
        raise ValueError(f"{path}: not a readable safetensors file ({exc})") from None
    expected = model.state_dict()
    missing = sorted(expected.keys() - state.keys())
    extra = sorted(state.keys() - expected.keys()) if strict else []
    wrong = [
        f"{name} {tuple(state[name].shape)} (the model has {tuple(value.shape)})"
        for name, value in expected.items()
        if name in state and state[name].shape != value.shape
    ]
    if (missing and strict) or extra or wrong:
        found = "; ".join(
            part
            for part in (
                f"missing {', '.join(missing[:3])}" if missing and strict else "",
                f"unexpected {', '.join(extra[:3])}" if extra else "",
                f"other shapes: {', '.join(wrong[:3])}" if wrong else "",
            )
            if part
        )
        raise ValueError(
            f"{path}: these weights do not fit the model its config.json and vocabularies "
            f"describe ({found})"
        )
    model.load_state_dict(state, strict=strict)


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write a resumable training state atomically (tensors, numbers, strings, lists, dicts)."""
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
    return Path(path)


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`, without unpickling code."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"no checkpoint at {path}: nothing to resume")
    try:
        with warnings.catch_warnings():  # torch warns about a pickle protocol it did not write
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated, garbage, or holding objects other than data
        raise ValueError(
            f"{path}: not a readable rnnkit checkpoint ({_unreadable(path, exc)}); the weights "
            "of the best epoch are in model.safetensors, but the run cannot resume from this file"
        ) from None
    if not isinstance(state, dict) or not {"train_state", "model", "optimizer"} <= state.keys():
        raise ValueError(f"{path}: not an rnnkit checkpoint (no training state in it)")
    return state


def _unreadable(path: str | os.PathLike[str], exc: Exception) -> str:
    """Why torch could not read checkpoint ``path``, in words: torch's own messages are a bare
    "[Errno 22] Invalid argument" for a truncated file, and advise unpickling a refused one."""
    refused = isinstance(exc, pickle.UnpicklingError)  # what a weights-only load will not run
    named = re.search(r"GLOBAL (\S+)", str(exc)) if refused else None
    objects = f"Python objects ({named.group(1)})" if named else "Python objects"
    if not zipfile.is_zipfile(path):  # torch.save writes a zip archive, whole or not at all
        size = Path(path).stat().st_size
        if size == 0:
            return "the file is empty"
        if named:
            return f"a pickle of {objects}, which rnnkit never unpickles"
        return f"truncated, or not a file torch.save wrote ({size:,} bytes)"
    if refused:
        return f"it holds {objects}, not only tensors and numbers, and rnnkit never unpickles them"
    return first_line(exc)


def first_line(exc: BaseException) -> str:
    """The first line of ``exc``'s message (its type's name where it has none), for one-line
    errors about a file torch or safetensors could not read."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
