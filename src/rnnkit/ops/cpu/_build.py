"""Compiling kernels.c into a shared library once per machine, and loading it with ctypes.

The library is cached in a folder private to this user: ``$RNNKIT_CACHE_DIR``, else
``$XDG_CACHE_HOME/rnnkit`` (default ``~/.cache/rnnkit``), else, where that cannot be made or
written, ``<temp dir>/rnnkit-<uid>`` (made with mode 0o700). It is named by a hash of the sources,
the compiler, its flags and the CPU, written atomically (compiled in a temporary folder, then
renamed), so concurrent processes and later sessions reuse it.

A cached library is loaded only from a folder owned by this user that neither group nor others
can write, and only if the file is owned by this user and not group/other-writable too (loading a
shared library runs its code). A file that fails the check is rebuilt in its place; a folder that
fails it is left alone, with one warning, and the library is built in a fresh private temporary
folder for this process instead (removed once loaded).

Flags are tried best first: ``-march=native`` with glibc's vector math library (libmvec), then
libmvec alone, then portable ones; the first set that builds and loads is kept. No
``-ffast-math``: ``-fno-math-errno -fno-trapping-math`` is what lets the loops vectorise with
libmvec's exp and tanh, and NaN and infinity keep their IEEE meaning (see kernels.c).
``RNNKIT_CPU_KERNELS=0`` turns the kernels off.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import stat
import subprocess
import tempfile
import warnings
from pathlib import Path

from rnnkit._env import switch

SOURCES = ("kernels.c", "step_kernels.h")
# -fno-math-errno: exp and tanh need not set errno (so they are pure and may be vectorised);
# -fno-trapping-math: floating-point exceptions are not trapped (the vector loops may compute
# lanes past a branch). Neither lets the compiler assume values are finite, or reorder or
# approximate arithmetic, as -ffast-math would; nor does the link add crtfastmath.o, which would
# switch the whole process's floating point to flush-to-zero.
COMPILE = ("-O3", "-fno-math-errno", "-fno-trapping-math", "-fopenmp-simd", "-fPIC", "-std=c99")
LIBMVEC = "-DRNNKIT_LIBMVEC"  # kernels.c declares libmvec's vector exp and tanh
# (extra compile flags, link flags), best first.
FLAG_SETS = (
    (("-march=native", LIBMVEC), ("-lmvec", "-lm")),
    ((LIBMVEC,), ("-lmvec", "-lm")),
    (("-march=native",), ("-lm",)),
    ((), ("-lm",)),
)
UNSAFE_BITS = stat.S_IWGRP | stat.S_IWOTH


class BuildError(RuntimeError):
    """The kernels could not be compiled or loaded here (no compiler, or it failed)."""


def load_library() -> ctypes.CDLL:
    """The compiled kernels, built first if this user has no cached copy."""
    if not switch("RNNKIT_CPU_KERNELS", default=True):
        raise BuildError("turned off by RNNKIT_CPU_KERNELS=0")
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise BuildError("no C compiler found (set CC, or install gcc)")
    cache, reason = _cache_dir()
    if reason is None:
        return _load_or_build(compiler, cache)
    scratch = Path(tempfile.mkdtemp(prefix="rnnkit-kernels-"))  # 0o700, this user's
    warnings.warn(
        f"rnnkit: not loading or caching the CPU kernels in {cache}: {reason}; building them in "
        f"a private temporary folder for this process instead (make the folder yours and not "
        f"writable by others, e.g. chmod 700, to cache them)",
        RuntimeWarning,
        stacklevel=2,
    )
    try:
        return _load_or_build(compiler, scratch)
    finally:  # the loaded library stays mapped
        shutil.rmtree(scratch, ignore_errors=True)


def _load_or_build(compiler: str, cache: Path) -> ctypes.CDLL:
    """The library of the first flag set that builds and loads, from ``cache`` (a private folder)
    or built into it."""
    source_dir = Path(__file__).parent
    errors = []
    for extra, link in FLAG_SETS:
        path = cache / f"rnnkit_cpu_kernels-{_key(compiler, extra + link)}.so"
        unsafe = _unsafe_reason(path) if path.exists() else None
        if unsafe is not None:
            warnings.warn(f"rnnkit: rebuilding {path}: {unsafe}", RuntimeWarning, stacklevel=3)
        if unsafe is not None or not path.exists():
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
        os.chmod(lib, stat.S_IMODE(lib.stat().st_mode) & ~UNSAFE_BITS)  # whatever the umask
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


def _cache_dir() -> tuple[Path, str | None]:
    """The cache folder, and why it is not private to this user (None when it is):
    $RNNKIT_CACHE_DIR, else $XDG_CACHE_HOME/rnnkit or ~/.cache/rnnkit, else (that cannot be made
    or written) <temp dir>/rnnkit-<uid>, made with mode 0o700."""
    configured = os.environ.get("RNNKIT_CACHE_DIR")
    if configured:
        return _private_dir(Path(configured))
    home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rnnkit"
    try:
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        if os.access(home, os.W_OK):
            return home, _unsafe_reason(home)
    except OSError:
        pass
    uid = _current_uid()
    name = "rnnkit" if uid is None else f"rnnkit-{uid}"
    return _private_dir(Path(tempfile.gettempdir()) / name)


def _private_dir(folder: Path) -> tuple[Path, str | None]:
    """``folder``, made with mode 0o700 if missing, and why it is not private (None if it is)."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as error:
        return folder, f"cannot make it ({error})"
    return folder, _unsafe_reason(folder)


def _unsafe_reason(path: Path) -> str | None:
    """Why ``path`` (the cache folder or a library in it) is not safe to load code from: not this
    user's, or writable by group or others (None when it is safe)."""
    try:
        info = path.stat()
    except OSError as error:
        return f"cannot read its status ({error})"
    uid = _current_uid()
    if uid is not None and info.st_uid != uid:
        return f"owned by uid {info.st_uid}, not by this user (uid {uid})"
    if info.st_mode & UNSAFE_BITS:
        return f"writable by group or others (mode {stat.S_IMODE(info.st_mode):#o})"
    return None


def _current_uid() -> int | None:
    """This process's user id (None where the platform has none: no owner check there)."""
    return os.getuid() if hasattr(os, "getuid") else None


def _describe(error: OSError | subprocess.CalledProcessError) -> str:
    if isinstance(error, subprocess.CalledProcessError):
        return f"{' '.join(error.cmd[:2])} …: {(error.stderr or '').strip()[-300:]}"
    return str(error)
