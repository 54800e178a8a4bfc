"""The tuning tests share the helpers of ``tuning_helpers.py`` (importable: this folder is put
on the path, as tests cannot import conftest)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
