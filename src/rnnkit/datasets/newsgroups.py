"""20 Newsgroups, "bydate" version: the reader of ``20news-bydate.tar.gz``.

The archive holds ``20news-bydate-train/<group>/<id>`` (11,314 posts) and
``20news-bydate-test/<group>/<id>`` (7,532 posts), one raw Usenet post per file. It is read in
place with :mod:`tarfile` (nothing is extracted to disk); posts are decoded as Latin-1, as
scikit-learn does, because a few dozen hold bytes that are not UTF-8.

The ``remove`` filters follow scikit-learn's ``fetch_20newsgroups(remove=...)``
(``sklearn/datasets/_twenty_newsgroups.py``: ``strip_newsgroup_header``,
``strip_newsgroup_footer``, ``strip_newsgroup_quoting``), rule for rule and in the same order
(headers, then footers, then quotes), so that figures measured with either are comparable.
"""

from __future__ import annotations

import re
import tarfile
import zlib
from collections.abc import Iterable
from pathlib import Path

from rnnkit.datasets.base import ClassificationData, DatasetFormatError, Example
from rnnkit.datasets.spec import DatasetSpec, RemoteFile
from rnnkit.datasets.splits import stratified_split

__all__ = [
    "ARCHIVE",
    "REMOVABLE",
    "SPECS",
    "read_newsgroups",
    "strip_footer",
    "strip_header",
    "strip_quotes",
]

ARCHIVE = "20news-bydate.tar.gz"
TRAIN_TREE = "20news-bydate-train"
TEST_TREE = "20news-bydate-test"
N_GROUPS = 20
REMOVABLE: tuple[str, ...] = ("headers", "footers", "quotes")

# scikit-learn's _QUOTE_RE: matched anywhere in a line (the anchored ones at its start).
_QUOTE_RE = re.compile(r"(writes in|writes:|wrote:|says:|said:|^In article|^Quoted from|^\||^>)")


def strip_header(text: str) -> str:
    """Drop the headers: everything up to and including the first blank line (``"\\n\\n"``).

    A post without a blank line becomes empty, as in scikit-learn.

    >>> strip_header("From: a@b.c\\nSubject: hi\\n\\nBody.\\n")
    'Body.\\n'
    """
    _before, _blank, after = text.partition("\n\n")
    return after


def strip_footer(text: str) -> str:
    """Drop a signature block: everything from the last line that is blank or made only of
    hyphens (``--``, ``-----``), ignoring blank lines at the ends of the post.

    If that line is the first line (or there is none), the post is returned unchanged. Like
    scikit-learn's rule this is a heuristic: a post whose last paragraph is not a signature loses
    that paragraph too.

    >>> strip_footer("Body line.\\nMore body.\\n--\\nJohn Doe\\njohn@example.com\\n")
    'Body line.\\nMore body.'
    """
    lines = text.strip().split("\n")
    line_num = len(lines) - 1
    while line_num >= 0 and lines[line_num].strip().strip("-") != "":
        line_num -= 1
    if line_num > 0:
        return "\n".join(lines[:line_num])
    return text


def strip_quotes(text: str) -> str:
    """Drop quoted lines (starting with ``>`` or ``|``) and lines that usually introduce a quote:
    those starting with ``In article`` or ``Quoted from``, or containing ``writes:``,
    ``writes in``, ``wrote:``, ``says:`` or ``said:`` anywhere.

    >>> strip_quotes("In article <1@x>, bob@x writes:\\n> old text\\nMy reply.")
    'My reply.'
    """
    return "\n".join(line for line in text.split("\n") if not _QUOTE_RE.search(line))


def read_newsgroups(
    folder: Path,
    *,
    remove: Iterable[str] = (),
    val_fraction: float = 0.1,
    seed: int = 0,
) -> ClassificationData:
    """Read 20 Newsgroups (bydate) from ``folder / "20news-bydate.tar.gz"``.

    Args:
        folder: the folder holding the archive (the official one or a rebuilt one: its checksum
            is not checked here, its layout is).
        remove: any of ``"headers"``, ``"footers"``, ``"quotes"``: text to strip from every post
            (see :func:`strip_header`, :func:`strip_footer`, :func:`strip_quotes`). Without
            ``"headers"`` a model can learn the answer from the ``Newsgroups:``-like metadata and
            the posters' names.
        val_fraction: the share of the training posts held out as ``val``, stratified by group
            and seeded (the archive has no validation split). ``0`` leaves ``val`` empty.
        seed: the seed of that hold-out.

    Returns:
        ``train`` (the bydate train posts minus ``val``), ``val``, ``test`` (the bydate test
        posts, in archive order) and the 20 group names, sorted. The label of a post is its
        group folder's name, e.g. ``"sci.space"``.

    Raises:
        DatasetFormatError: the archive cannot be read, or lacks a train or test tree or one of
            the 20 group folders in either (the message names the archive and what is missing).
    """
    path = Path(folder) / ARCHIVE
    removal = tuple(remove)
    unknown = [item for item in removal if item not in REMOVABLE]
    if unknown or isinstance(remove, str):
        raise ValueError(
            f"20newsgroups: remove must be a tuple drawn from {REMOVABLE}, got {remove!r}"
        )
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"20newsgroups: val_fraction must be in [0, 1), got {val_fraction}")

    posts = _read_archive(path)
    groups = {tree: {group for group, _ in posts[tree]} for tree in (TRAIN_TREE, TEST_TREE)}
    _check_groups(path, groups)

    def clean(text: str) -> str:
        if "headers" in removal:
            text = strip_header(text)
        if "footers" in removal:
            text = strip_footer(text)
        if "quotes" in removal:
            text = strip_quotes(text)
        return text

    train = [Example(clean(text), group) for group, text in posts[TRAIN_TREE]]
    test = [Example(clean(text), group) for group, text in posts[TEST_TREE]]
    val: list[Example] = []
    if val_fraction > 0.0:
        train, val = stratified_split(train, val_fraction, seed=seed)
    return ClassificationData(
        train=train, val=val, test=test, labels=sorted(groups[TRAIN_TREE]), name="20newsgroups"
    )


def _read_archive(path: Path) -> dict[str, list[tuple[str, str]]]:
    """``{tree: [(group, post), ...]}`` for both trees, each sorted by member name."""
    members: dict[str, dict[str, tuple[str, str]]] = {TRAIN_TREE: {}, TEST_TREE: {}}
    try:
        # Streaming mode ("r|gz"): one pass through the gzip stream, no seeks back.
        with tarfile.open(path, mode="r|gz") as archive:
            for member in archive:
                parts = member.name.removeprefix("./").split("/")
                if not member.isfile() or len(parts) != 3 or parts[0] not in members:
                    continue
                handle = archive.extractfile(member)
                if handle is None:  # pragma: no cover - isfile() members always have data
                    continue
                members[parts[0]][member.name] = (parts[1], handle.read().decode("latin-1"))
    except FileNotFoundError:
        raise
    except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
        raise DatasetFormatError(
            f"{path}: not a readable .tar.gz archive ({error}); expected the 20news-bydate "
            f"archive holding {TRAIN_TREE}/<group>/<id> and {TEST_TREE}/<group>/<id>"
        ) from None
    return {tree: [found[name] for name in sorted(found)] for tree, found in members.items()}


def _check_groups(path: Path, groups: dict[str, set[str]]) -> None:
    """Both trees present, each with the same 20 group folders."""
    missing_trees = [f"{tree}/" for tree, found in groups.items() if not found]
    if missing_trees:
        raise DatasetFormatError(
            f"{path}: no posts under {' or '.join(missing_trees)}; expected "
            f"{TRAIN_TREE}/<group>/<id> and {TEST_TREE}/<group>/<id> for {N_GROUPS} groups"
        )
    every = groups[TRAIN_TREE] | groups[TEST_TREE]
    for tree, found in groups.items():
        if every - found:
            raise DatasetFormatError(
                f"{path}: {tree}/ lacks group folders {sorted(every - found)}; "
                f"expected the same {N_GROUPS} groups in {TRAIN_TREE}/ and {TEST_TREE}/"
            )
    if len(every) != N_GROUPS:
        raise DatasetFormatError(
            f"{path}: {len(every)} group folders in {TRAIN_TREE}/ and {TEST_TREE}/, expected "
            f"{N_GROUPS}: found {sorted(every)}"
        )


SPECS: tuple[DatasetSpec, ...] = (
    DatasetSpec(
        name="20newsgroups",
        task="classify",
        description="20 Newsgroups (bydate): Usenet posts in 20 groups; "
        "train 11,314 (10% held out as val) / test 7,532",
        folder="20newsgroups",
        files=(
            RemoteFile(
                ARCHIVE,
                "http://qwone.com/~jason/20Newsgroups/20news-bydate.tar.gz",
                # The official archive's digest as scikit-learn records it (its figshare mirror is
                # the same file).
                "8f1b2514ca22a5ade8fbb9cfa5727df95fa587f4c87b786e15c759fa66d95610",
            ),
        ),
        reader=read_newsgroups,
        citation="Ken Lang. NewsWeeder: Learning to Filter Netnews. ICML 1995, pp. 331-339.",
        license="No license stated on http://qwone.com/~jason/20Newsgroups/; public Usenet "
        "posts from 1993, widely redistributed for research; each post is its author's.",
        homepage="http://qwone.com/~jason/20Newsgroups/",
    ),
)
