"""Parallel corpora as sentence pairs (:class:`~rnnkit.datasets.base.ParallelData`), for
sequence-to-sequence tasks: Multi30k (Task 1, German–English, either direction) and the user's
own parallel data, as two line-aligned files per split (``parallel:FOLDER``) or a TSV of pairs
(``pairs:PATH``).

**Line-aligned files.** Line *i* of the source file is the translation of line *i* of the target
file. A line ends at ``"\\n"`` (a ``"\\r\\n"`` end is also taken), and only there: a file is never
split on the other characters :meth:`str.splitlines` breaks at (U+2028, form feed, ...), which
would shift every later line against the other side. Each sentence is kept as the file has it,
without its line end and surrounding whitespace. A file whose name ends in ``.gz`` (or that
starts with the gzip magic bytes) is gunzipped first; the text is strict UTF-8 (a leading
byte-order mark is dropped).

**The user's files.**

- ``load("parallel:FOLDER", "seq2seq", src="de", tgt="en")``: ``FOLDER/train.de`` and
  ``FOLDER/train.en``, and if present ``val.*`` (or ``valid.*``, ``dev.*``) and ``test.*``, each
  plain or ``.gz`` (a plain file is taken before its ``.gz`` twin). ``src`` and ``tgt`` are the
  file suffixes and give the direction.
- ``load("pairs:PATH", "seq2seq")``: a TSV without a header, each line ``source<TAB>target``
  with exactly one tab; ``PATH`` one file (val and test are cut from it) or a folder with
  ``train.tsv`` and optionally ``val.tsv`` (or ``valid.tsv``, ``dev.tsv``) and ``test.tsv``
  (each may end in ``.gz``).

A split without files is cut from the training pairs: one seeded permutation of them
(:func:`rnnkit.datasets.splits.random_split`, NumPy's PCG64 seeded with ``seed``) gives val
``floor(val_fraction * n + 0.5)`` pairs and test the next ``floor(test_fraction * n + 0.5)``
(never all of them), and train keeps the rest: disjoint, together every training line exactly
once, each split in file order.

Every bad input stops the reader with one line naming the file and, where there is one, the line:
sides of different lengths (:class:`DatasetFormatError` naming both files and counts), an empty
line on either side (the other side's line shown), a TSV line without exactly one tab, text that
is not UTF-8, a corrupt gzip file; missing training files are a :class:`DatasetNotFoundError`
naming the paths looked for. Nothing is skipped silently.

>>> data = load("multi30k", "seq2seq", src="de", tgt="en")  # doctest: +SKIP
>>> data.train[0].target  # doctest: +SKIP
'Two young, White males are outside near many bushes.'
"""

from __future__ import annotations

import gzip
import io
import re
import zlib
from pathlib import Path

from rnnkit.datasets.base import (
    SPLITS,
    DatasetFormatError,
    DatasetNotFoundError,
    Pair,
    ParallelData,
    decode_utf8,
)
from rnnkit.datasets.spec import DatasetSpec, RemoteFile, UserFormat
from rnnkit.datasets.splits import random_split

__all__ = [
    "MULTI30K_COMMIT",
    "MULTI30K_FILES",
    "MULTI30K_LANGUAGES",
    "SPECS",
    "SPLIT_STEMS",
    "USER_FORMATS",
    "Pair",
    "ParallelData",
    "read_lines",
    "read_multi30k",
    "read_pairs",
    "read_parallel",
]

# Multi30k Task 1: the file stem of each split (test2016 is the Flickr test set of 2016).
MULTI30K_FILES: dict[str, str] = {"train": "train", "val": "val", "test": "test_2016_flickr"}
MULTI30K_LANGUAGES: tuple[str, ...] = ("de", "en")
# The upstream snapshot the files in RNNKIT_DATA were copied from (data/task1/raw/ last changed
# in c40b37b23d6387214f8ab37335b5a8672b9745f2; the files are the same blobs at both).
MULTI30K_COMMIT = "a3d2e0d26b56f3846f66a952536ffed4e401d05a"
# The names a split's files may have in the user's folder (first found wins).
SPLIT_STEMS: dict[str, tuple[str, ...]] = {
    "train": ("train",),
    "val": ("val", "valid", "dev"),
    "test": ("test",),
}
_GZIP_MAGIC = b"\x1f\x8b"
_GZIP_CHUNK = 1 << 16
_PREVIEW = 60  # characters of the other side's line shown beside an empty line
_LANGUAGE = re.compile(r"[\w-]+")


# --- reading files ------------------------------------------------------------------------------


def _gunzip(path: Path, data: bytes) -> bytes:
    """``data`` (the bytes of ``path``) decompressed; a corrupt stream names the last line read
    before it (to within one 64 KiB chunk)."""
    chunks: list[bytes] = []
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            while chunk := stream.read(_GZIP_CHUNK):
                chunks.append(chunk)
    except (OSError, EOFError, zlib.error) as error:
        done = b"".join(chunks).count(b"\n")
        where = f" (readable up to line {done})" if done else ""
        raise DatasetFormatError(
            f"{path}: not a readable gzip file: {error}{where}; expected gzipped UTF-8 text, one "
            "sentence per line"
        ) from None
    return b"".join(chunks)


def read_lines(path: str | Path) -> list[str]:
    """The lines of ``path`` (gunzipped if its name ends in ``.gz`` or it starts with the gzip
    magic bytes), without their line ends: split at ``"\\n"`` only, a ``"\\r"`` before it dropped;
    a final line end does not start another line. Not stripped otherwise.

    Raises:
        DatasetNotFoundError: no such file.
        DatasetFormatError: a folder, a corrupt gzip file, or text that is not UTF-8 (the line
            named).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder) / "train.de"
    ...     _ = path.write_bytes("ein Hund\\r\\n zwei\\u2028Katzen \\n".encode())
    ...     read_lines(path)
    ['ein Hund', ' zwei\\u2028Katzen ']
    """
    path = Path(path)
    if not path.exists():
        raise DatasetNotFoundError(f"{path}: no such file")
    if path.is_dir():
        raise DatasetFormatError(f"{path}: is a folder; expected a file, one sentence per line")
    data = path.read_bytes()
    where = str(path)
    if path.name.endswith(".gz") or data.startswith(_GZIP_MAGIC):
        data = _gunzip(path, data)
        where = f"{path} (gunzipped)"
    text = decode_utf8(where, data)
    lines = text.split("\n")
    if lines[-1] == "":  # the final line end, or an empty file
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def _preview(text: str) -> str:
    return repr(text if len(text) <= _PREVIEW else text[: _PREVIEW - 1] + "…")


def _count_mismatch(paths: tuple[Path, Path], sides: tuple[list[str], list[str]]) -> str:
    (a, b), (lines_a, lines_b) = paths, sides
    message = (
        f"{a} has {len(lines_a)} lines but {b} has {len(lines_b)}; line-aligned files must have "
        "the same number of lines (line i of one is the translation of line i of the other)"
    )
    shorter = min(len(lines_a), len(lines_b))
    longer, extra = (a, lines_a[shorter:]) if len(lines_a) > shorter else (b, lines_b[shorter:])
    if all(not line.strip() for line in extra):
        message += f"; the last {len(extra)} line(s) of {longer} are empty"
    return message


def _empty_line(
    path: Path, number: int, other_path: Path, other_line: str, *, what: str = "an empty line"
) -> DatasetFormatError:
    other = other_line.strip()
    shown = f"reads {_preview(other)}" if other else "is empty too"
    return DatasetFormatError(
        f"{path}: line {number}: {what}, where line {number} of {other_path} {shown}; every line "
        "needs a sentence on both sides"
    )


def _aligned(source_path: Path, target_path: Path) -> list[Pair]:
    """The pairs of two line-aligned files, each side stripped; mismatched line counts and
    empty lines are errors."""
    sources, targets = read_lines(source_path), read_lines(target_path)
    if len(sources) != len(targets):
        raise DatasetFormatError(_count_mismatch((source_path, target_path), (sources, targets)))
    pairs: list[Pair] = []
    for number, (source, target) in enumerate(zip(sources, targets, strict=True), start=1):
        pair = Pair(source.strip(), target.strip())
        if not pair.source:
            raise _empty_line(source_path, number, target_path, target)
        if not pair.target:
            raise _empty_line(target_path, number, source_path, source)
        pairs.append(pair)
    if not pairs:
        raise DatasetFormatError(
            f"{source_path} and {target_path} are empty; expected one sentence per line"
        )
    return pairs


def _tsv_pairs(path: Path) -> list[Pair]:
    """The pairs of a TSV file: each line ``source<TAB>target``, exactly one tab."""
    pairs: list[Pair] = []
    for number, line in enumerate(read_lines(path), start=1):
        fields = line.split("\t")
        if len(fields) != 2:
            tabs = len(fields) - 1
            found = "an empty line" if not line.strip() else f"{tabs or 'no'} tabs"
            raise DatasetFormatError(
                f"{path}: line {number}: {found}; expected source<TAB>target, exactly one tab "
                f"(the line reads {_preview(line)})"
            )
        pair = Pair(fields[0].strip(), fields[1].strip())
        sides = (("source", pair.source, pair.target), ("target", pair.target, pair.source))
        for side, text, other in sides:
            if not text:
                shown = f"the other side reads {_preview(other)}" if other else "so is the other"
                raise DatasetFormatError(
                    f"{path}: line {number}: the {side} is empty ({shown}); every line needs a "
                    "sentence on both sides of its tab"
                )
        pairs.append(pair)
    if not pairs:
        raise DatasetFormatError(f"{path} is empty; expected source<TAB>target lines")
    return pairs


# --- splits -------------------------------------------------------------------------------------


def _check_fractions(where: str, val_fraction: float, test_fraction: float) -> None:
    for name, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0.0 <= value < 1.0:  # NaN fails too
            raise ValueError(f"{where}: {name} must be in [0, 1), got {value}")
    if val_fraction + test_fraction >= 1.0:
        raise ValueError(
            f"{where}: val_fraction + test_fraction must be below 1 (the rest is the training "
            f"split), got {val_fraction} + {test_fraction}"
        )


_Read = dict[str, tuple[list[Pair], tuple[str, str]]]


def _data(
    read: _Read,
    *,
    src: str,
    tgt: str,
    name: str,
    val_fraction: float,
    test_fraction: float,
    seed: int,
) -> ParallelData:
    """The splits ``read`` holds (``train`` always), and the missing ones cut from train."""
    train, train_files = read["train"]
    held = [split for split in ("val", "test") if split not in read]
    fractions = {"val": val_fraction, "test": test_fraction}
    rest, *drawn = random_split(train, [fractions[split] for split in held], seed=seed)
    splits = {split: pairs for split, (pairs, _files) in read.items()}
    files = {split: names for split, (_pairs, names) in read.items()}
    splits["train"] = rest
    for split, pairs in zip(held, drawn, strict=True):
        splits[split] = pairs
        if pairs:
            files[split] = train_files
    return ParallelData(
        splits["train"], splits["val"], splits["test"], src=src, tgt=tgt,
        files={split: files[split] for split in SPLITS if split in files}, name=name,
    )  # fmt: skip


# --- Multi30k -----------------------------------------------------------------------------------


def read_multi30k(folder: str | Path, *, src: str = "de", tgt: str = "en") -> ParallelData:
    """Multi30k Task 1 (Elliott et al. 2016): 29,000 / 1,014 / 1,000 caption pairs.

    ``train``, ``val`` and ``test`` are ``train.*.gz``, ``val.*.gz`` and
    ``test_2016_flickr.*.gz`` (test2016, the test set tutorials and papers report BLEU on).

    Args:
        folder: the folder holding the six files ``{train,val,test_2016_flickr}.{de,en}.gz``.
        src, tgt: the direction, ``"de"`` → ``"en"`` (the default) or ``"en"`` → ``"de"``.

    Raises:
        ValueError: an unknown direction.
        DatasetNotFoundError: a file is missing.
        DatasetFormatError: a file is corrupt, or the sides do not align (see the module doc).
    """
    if src not in MULTI30K_LANGUAGES or tgt not in MULTI30K_LANGUAGES or src == tgt:
        raise ValueError(
            f"multi30k: an unknown direction src={src!r}, tgt={tgt!r}; Multi30k translates "
            "de -> en (src='de', tgt='en') or en -> de (src='en', tgt='de')"
        )
    root = Path(folder)
    read: _Read = {}
    for split, stem in MULTI30K_FILES.items():
        source, target = root / f"{stem}.{src}.gz", root / f"{stem}.{tgt}.gz"
        read[split] = _aligned(source, target), (str(source), str(target))
    return _data(
        read, src=src, tgt=tgt, name="multi30k", val_fraction=0.0, test_fraction=0.0, seed=0
    )


# --- the user's line-aligned files --------------------------------------------------------------


def _file(folder: Path, stem: str, language: str) -> Path | None:
    for suffix in ("", ".gz"):
        path = folder / f"{stem}.{language}{suffix}"
        if path.is_file():
            return path
    return None


def _languages(folder: Path) -> list[str]:
    """The suffixes of the ``train.*`` files in ``folder`` (``train.de.gz`` gives ``de``)."""
    found = {
        path.name.removesuffix(".gz").removeprefix("train.")
        for path in folder.glob("train.*")
        if path.is_file()
    }
    return sorted(language for language in found if _LANGUAGE.fullmatch(language))


def _split_files(
    where: str, folder: Path, split: str, src: str, tgt: str
) -> tuple[Path, Path] | None:
    """The source and target file of ``split``, or None where the folder has neither; one side
    without the other is an error."""
    for stem in SPLIT_STEMS[split]:
        source, target = _file(folder, stem, src), _file(folder, stem, tgt)
        if source is not None and target is not None:
            return source, target
        if source is not None or target is not None:
            found, language = (source, tgt) if source is not None else (target, src)
            raise DatasetNotFoundError(
                f"{where}: {found} has no other side: expected {folder / f'{stem}.{language}'} "
                "(or .gz) beside it, line-aligned with it"
            )
    return None


def read_parallel(
    folder: str | Path,
    *,
    src: str | None = None,
    tgt: str | None = None,
    val_fraction: float = 0.05,
    test_fraction: float = 0.05,
    seed: int = 0,
) -> ParallelData:
    """The user's parallel data as two line-aligned files per split, ``load("parallel:FOLDER",
    "seq2seq", src=..., tgt=...)``.

    Args:
        folder: holds ``train.SRC`` and ``train.TGT``, and optionally ``val.*`` (or ``valid.*``,
            ``dev.*``) and ``test.*``; each file plain or gzipped (``.gz``).
        src, tgt: the file suffixes of the source and target side (``"de"``, ``"en"``): letters,
            digits, ``_`` and ``-``. Both must be given (the message lists the folder's
            languages).
        val_fraction, test_fraction: the shares of the training pairs cut out as val and test
            where the folder has no files for that split (see the module doc).
        seed: the seed of that cut.

    Raises:
        ValueError: src or tgt missing, equal or not a plain suffix; fractions outside [0, 1)
            or summing to 1 or more.
        DatasetNotFoundError: no such folder, no training files, or a split's file without its
            other side.
        DatasetFormatError: a file that is corrupt, not UTF-8, empty, or not aligned with its
            other side (see the module doc).
    """
    where = f"parallel:{folder}"
    root = Path(folder)
    if src is None or tgt is None:
        found = _languages(root) if root.is_dir() else []
        seen = f"its training files are in {', '.join(found)}" if found else "it has no train.*"
        example = f"src={found[0]!r}, tgt={found[1]!r}" if len(found) >= 2 else "src='de', tgt='en'"
        raise ValueError(
            f"{where}: give src and tgt, the file suffixes of the two sides ({seen}; e.g. "
            f"{example})"
        )
    for option, language in (("src", src), ("tgt", tgt)):
        if not _LANGUAGE.fullmatch(language):
            raise ValueError(
                f"{where}: {option} must be a file suffix (letters, digits, _ or -), got "
                f"{language!r}"
            )
    if src == tgt:
        raise ValueError(f"{where}: src and tgt must differ, got {src!r} for both")
    _check_fractions(where, val_fraction, test_fraction)
    if not root.exists():
        raise DatasetNotFoundError(f"{where}: no such folder")
    if not root.is_dir():
        raise DatasetFormatError(
            f"{where}: is a file; expected a folder holding train.{src} and train.{tgt} (for a "
            f"TSV of pairs use pairs:{folder})"
        )
    read: _Read = {}
    for split in SPLITS:
        paths = _split_files(where, root, split, src, tgt)
        if paths is None:
            continue
        read[split] = _aligned(*paths), (str(paths[0]), str(paths[1]))
    if "train" not in read:
        raise DatasetNotFoundError(
            f"{where}: no training files; expected {root / f'train.{src}'} and "
            f"{root / f'train.{tgt}'} (each may end in .gz)"
        )
    return _data(
        read, src=src, tgt=tgt, name=where, val_fraction=val_fraction,
        test_fraction=test_fraction, seed=seed,
    )  # fmt: skip


# --- the user's TSV of pairs --------------------------------------------------------------------


def _tsv_file(folder: Path, split: str) -> Path | None:
    for stem in SPLIT_STEMS[split]:
        for suffix in (".tsv", ".tsv.gz"):
            path = folder / f"{stem}{suffix}"
            if path.is_file():
                return path
    return None


def read_pairs(
    path: str | Path,
    *,
    val_fraction: float = 0.05,
    test_fraction: float = 0.05,
    seed: int = 0,
) -> ParallelData:
    """The user's sentence pairs as a TSV, ``load("pairs:PATH", "seq2seq")``: each line
    ``source<TAB>target`` (exactly one tab, no header). The languages are ``"src"`` and
    ``"tgt"``.

    Args:
        path: one TSV file (plain or ``.gz``): its pairs are cut into train, val and test by the
            fractions; or a folder holding ``train.tsv`` and optionally ``val.tsv`` (or
            ``valid.tsv``, ``dev.tsv``) and ``test.tsv`` (each may end in ``.gz``): a split
            without a file is cut from train.
        val_fraction, test_fraction: the shares of the training pairs cut out as val and test
            (see the module doc).
        seed: the seed of that cut.

    Raises:
        ValueError: fractions outside [0, 1) or summing to 1 or more.
        DatasetNotFoundError: no such file or folder, or a folder without ``train.tsv``.
        DatasetFormatError: a line without exactly one tab, an empty side, a file that is empty,
            corrupt or not UTF-8 (file and line named).
    """
    where = f"pairs:{path}"
    _check_fractions(where, val_fraction, test_fraction)
    root = Path(path)
    if not root.exists():
        raise DatasetNotFoundError(f"{where}: no such file or folder")
    found: dict[str, Path | None]
    if root.is_dir():
        found = {split: _tsv_file(root, split) for split in SPLITS}
        if found["train"] is None:
            raise DatasetNotFoundError(
                f"{where}: the folder has no {root / 'train.tsv'} (or train.tsv.gz); expected "
                "train.tsv and optionally val.tsv and test.tsv, or give one file"
            )
    else:
        found = {"train": root}
    read: _Read = {
        split: (_tsv_pairs(file), (str(file), str(file)))
        for split, file in found.items()
        if file is not None
    }
    return _data(
        read, src="src", tgt="tgt", name=where, val_fraction=val_fraction,
        test_fraction=test_fraction, seed=seed,
    )  # fmt: skip


# --- registry entries ---------------------------------------------------------------------------

_MULTI30K_URL = (
    f"https://raw.githubusercontent.com/multi30k/dataset/{MULTI30K_COMMIT}/data/task1/raw/"
)
_MULTI30K_SHA = {
    "train.en.gz": "d79cfa999dd4c51d2cb42499b6796d5a882c3a8a961923c25a898c90f8bbd56f",
    "train.de.gz": "726e39b2fa9eb9ffb6dc763fb35a179f80fae06ffc5d28b6ace5faa883de28a6",
    "val.en.gz": "14f7d25ddd868909a9213e361768460edcacdd6ab9d1e77b92560dc10c10dc28",
    "val.de.gz": "f0cba2f995189cf5770f29a8a9a537a3ad3f51657ad873405082ff6863a5e75a",
    "test_2016_flickr.en.gz": "611d361c6334bc7246101d48097c13cf5c4413c5befc793cc629934359d532d9",
    "test_2016_flickr.de.gz": "9204244e408ccb38d2a55cfcd344df15005fc42a07a6e55ca6c52b6ababb8cc8",
}

SPECS: tuple[DatasetSpec, ...] = (
    DatasetSpec(
        name="multi30k",
        task="seq2seq",
        description="Multi30k Task 1, German-English image captions: 29,000 / 1,014 / 1,000 "
        "pairs (test2016 Flickr); src/tgt de-en or en-de",
        folder="multi30k",
        files=tuple(
            RemoteFile(file, _MULTI30K_URL + file, sha) for file, sha in _MULTI30K_SHA.items()
        ),
        reader=read_multi30k,
        citation="Desmond Elliott, Stella Frank, Khalil Sima'an, Lucia Specia. Multi30K: "
        "Multilingual English-German Image Descriptions. Proceedings of the 5th Workshop on "
        "Vision and Language (VL@ACL), 2016, pp. 70-74.",
        license="The repository README states no data license. The captions come from "
        "Flickr30k, which is commonly described as for non-commercial research use.",
        homepage="https://github.com/multi30k/dataset",
    ),
)

USER_FORMATS: tuple[UserFormat, ...] = (
    UserFormat("parallel", "seq2seq", read_parallel),
    UserFormat("pairs", "seq2seq", read_pairs),
)
