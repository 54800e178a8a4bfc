"""Which machine a benchmark ran on: a description for the report and a slug for file names."""

from __future__ import annotations

import os
import re

import torch

from rnnkit import _machine

__all__ = ["device_description", "device_slug"]


def device_description(device: str) -> str:
    """One line naming the device, e.g. "NVIDIA H100 80GB HBM3 (sm_90), CUDA 12.4, cuDNN 90100"
    or "cpu 2-core (AMD EPYC), torch threads: 1"."""
    if device == "cuda":
        major, minor = torch.cuda.get_device_capability()
        cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
        return (
            f"{torch.cuda.get_device_name()} (sm_{major}{minor}), CUDA {torch.version.cuda}, "
            f"cuDNN {cudnn}"
        )
    threads = torch.get_num_threads()
    return f"cpu {os.cpu_count()}-core ({_machine.cpu_model()}), torch threads: {threads}"


def device_slug(device: str) -> str:
    """A file-name stem for the device: ``cpu-2core-amd-epyc``, ``nvidia-h100``."""
    if device == "cuda":
        return _gpu_slug(torch.cuda.get_device_name())
    return f"cpu-{os.cpu_count()}core-" + "-".join(_words(_machine.cpu_model())[:2])


def _words(name: str) -> list[str]:
    """Lower-case words of a product name, trademark signs dropped."""
    return re.findall(r"[a-z0-9]+", re.sub(r"\((r|tm|c)\)", " ", name.lower())) or ["unknown"]


def _gpu_slug(name: str) -> str:
    """The vendor and the first word with a digit: "NVIDIA H100 80GB HBM3" -> "nvidia-h100"."""
    words = _words(name)
    model = next((w for w in words[1:] if any(ch.isdigit() for ch in w)), None)
    return "-".join([words[0], model] if model else words[:2])
