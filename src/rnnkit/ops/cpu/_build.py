"""Compiling kernels.c into a shared library once per machine, and loading it with ctypes.

The library is cached under ``$RNNKIT_CACHE_DIR`` (default ``~/.cache/rnnkit``, or a folder in
the temporary directory where that is not writable), named by a hash
of the sources, the compiler, its flags and the CPU, written atomically (compiled in a temporary
folder, then renamed), so concurrent processes and later sessions reuse it. Flags are tried best
first: ``-march=native`` with glibc's vector math library (libmvec), then portable ones; the
first set that builds is kept. ``RNNKIT_CPU_KERNELS=0`` turns the kernels off.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

from rnnkit._env import switch

SOURCES = ("kernels.c", "step_kernels.h")
COMPILE = ("-O3", "-ffast-math", "-fopenmp-simd", "-fPIC", "-std=c99")
# (extra compile flags, link flags), best first. -ffast-math stays out of the link, where it
# would add crtfastmath.o and switch the whole process's floating point to flush-to-zero.
FLAG_SETS = (
    (("-march=native",), ("-lmvec", "-lm")),
    (("-march=native",), ("-lm",)),
    ((), ("-lm",)),
)


class BuildError(RuntimeError):
    """The kernels could not be compiled or loaded here (no compiler, or it failed)."""


def load_library() -> ctypes.CDLL:
    """The compiled kernels, built first if this machine has no cached copy."""
    if not switch("RNNKIT_CPU_KERNELS", default=True):
        raise BuildError("turned off by RNNKIT_CPU_KERNELS=0")
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise BuildError("no C compiler found (set CC, or install gcc)")
    source_dir, cache = Path(__file__).parent, _cache_dir()
    errors = []
    for extra, link in FLAG_SETS:
        path = cache / f"rnnkit_cpu_kernels-{_key(compiler, extra + link)}.so"
        if not path.exists():
            try:
                _compile(compiler, source_dir, extra, link, path)
            except (OSError, subprocess.CalledProcessError) as error:
                errors.append(_describe(error))
                continue
        try:
            return ctypes.CDLL(str(path))
        except OSError as error:  # built but not loadable (a missing libmvec, say)
            errors.append(str(error))
    raise BuildError(f"compiling {source_dir / 'kernels.c'} failed: " + " | ".join(errors))


def _compile(
    compiler: str, source_dir: Path, extra: tuple[str, ...], link: tuple[str, ...], target: Path
) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        obj, lib = Path(tmp) / "kernels.o", Path(tmp) / target.name
        command = [compiler, *COMPILE, *extra, f"-I{source_dir}", "-c"]
        subprocess.run(
            [*command, str(source_dir / "kernels.c"), "-o", str(obj)],
            check=True,
            capture_output=True,
            text=True,
        )
        subprocess.run(
            [compiler, "-shared", str(obj), "-o", str(lib), *link],
            check=True,
            capture_output=True,
            text=True,
        )
        os.replace(lib, target)


def _key(compiler: str, flags: tuple[str, ...]) -> str:
    digest = hashlib.sha256()
    for name in SOURCES:
        digest.update((Path(__file__).parent / name).read_bytes())
    digest.update(" ".join((compiler, *COMPILE, *flags, platform.machine())).encode())
    digest.update(_cpu_flags().encode())  # -march=native code is only good for this CPU
    return digest.hexdigest()[:16]


def _cpu_flags() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return line
    except OSError:
        pass
    return platform.processor()


def _cache_dir() -> Path:
    """$RNNKIT_CACHE_DIR, else ~/.cache/rnnkit, else (not writable) a folder in the temp dir."""
    configured = os.environ.get("RNNKIT_CACHE_DIR")
    if configured:
        return Path(configured)
    home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rnnkit"
    try:
        home.mkdir(parents=True, exist_ok=True)
        if os.access(home, os.W_OK):
            return home
    except OSError:
        pass
    return Path(tempfile.gettempdir()) / f"rnnkit-{os.getuid() if hasattr(os, 'getuid') else 0}"


def _describe(error: OSError | subprocess.CalledProcessError) -> str:
    if isinstance(error, subprocess.CalledProcessError):
        return f"{' '.join(error.cmd[:2])} …: {(error.stderr or '').strip()[-300:]}"
    return str(error)
