"""The registry: public surface, lookup order, download with checksum, offline message, options.

Every test here builds its own small files in tmp folders, with ``HOME``, ``RNNKIT_DATA`` and
``RNNKIT_OFFLINE`` under monkeypatch, so nothing is read from the real data and nothing is
downloaded from the network (downloads are ``file://`` URLs).
"""

from __future__ import annotations

import ast
import dataclasses
import doctest
import hashlib
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

import rnnkit.datasets as datasets
from rnnkit.datasets import (
    ClassificationData,
    DatasetFormatError,
    DatasetNotFoundError,
    Example,
    available,
    base,
    load,
    newsgroups,
    splits,
    sst,
)
from rnnkit.datasets.registry import REGISTRY, RemoteFile

PUBLIC = {
    "ClassificationData",
    "CorpusData",
    "DatasetFormatError",
    "DatasetNotFoundError",
    "DatasetSpec",
    "Example",
    "Pair",
    "ParallelData",
    "TaggedSentence",
    "TaggingData",
    "available",
    "load",
    "load_files",
    "load_text",
    "read_columns",
    "read_conll2003",
    "read_folder",
    "read_multi30k",
    "read_pairs",
    "read_parallel",
    "read_table",
    "stratified_split",
}
SST_ZIP = "trainDevTestTrees_PTB.zip"


def write_sst_zip(path: Path, first_word: str) -> Path:
    """A tiny SST zip whose first training sentence starts with ``first_word``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    trees = {
        "trees/train.txt": f"(4 (3 {first_word}) (4 rocks))\n(0 (1 dull) (0 mess))\n",
        "trees/dev.txt": "(3 (2 quite) (3 good))\n",
        "trees/test.txt": "(1 (2 rather) (1 bad))\n",
    }
    with zipfile.ZipFile(path, "w") as archive:
        for member, text in trees.items():
            archive.writestr(member, text)
    return path


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Empty data_dir, RNNKIT_DATA root and HOME; RNNKIT_OFFLINE set (a test that downloads
    unsets it)."""
    roots = {name: tmp_path / name for name in ("data_dir", "env", "home")}
    for root in roots.values():
        root.mkdir()
    monkeypatch.setenv("HOME", str(roots["home"]))
    monkeypatch.setenv("RNNKIT_DATA", str(roots["env"]))
    monkeypatch.setenv("RNNKIT_OFFLINE", "1")
    return roots


def first_text(data: ClassificationData) -> str:
    return data.train[0].text


# --- the public surface ---------------------------------------------------------------------


def test_all_is_pinned() -> None:
    assert set(datasets.__all__) == PUBLIC
    assert len(datasets.__all__) == len(PUBLIC)
    for name in PUBLIC:
        assert getattr(datasets, name) is not None


def test_package_imports_only_stdlib_numpy_and_itself() -> None:
    """The layering rule: rnnkit.datasets sits below tasks/ and never imports torch (the leaf
    helpers rnnkit._io, atomic writes, and rnnkit.text.tags, the tag schemes, are allowed)."""
    folder = Path(datasets.__file__).parent
    allowed = set(sys.stdlib_module_names) | {"numpy", "__future__"}
    for source in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                ok = (
                    top in allowed
                    or name.startswith("rnnkit.datasets")
                    or name in ("rnnkit._io", "rnnkit.text.tags")
                )
                assert ok, f"{source.name} imports {name}"


@pytest.mark.parametrize("module", [base, splits, newsgroups, sst], ids=lambda m: m.__name__)
def test_docstring_examples_pass(module: ModuleType) -> None:
    result = doctest.testmod(module, verbose=False, report=False)
    assert result.attempted > 0, f"{module} has no >>> examples"
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed"


def test_registered_datasets_and_official_addresses() -> None:
    assert {"20newsgroups", "sst2", "sst5"} <= set(REGISTRY)
    (ng,) = REGISTRY["20newsgroups"].files
    assert ng == RemoteFile(
        "20news-bydate.tar.gz",
        "http://qwone.com/~jason/20Newsgroups/20news-bydate.tar.gz",
        "8f1b2514ca22a5ade8fbb9cfa5727df95fa587f4c87b786e15c759fa66d95610",
    )
    for name in ("sst2", "sst5"):
        assert REGISTRY[name].folder == "sst"
        assert REGISTRY[name].files == (
            RemoteFile(
                SST_ZIP,
                "https://nlp.stanford.edu/sentiment/trainDevTestTrees_PTB.zip",
                "5c613a4f673fc74097d523a2c83f38e0cc462984d847b82c7aaf36b01cbbbfcc",
            ),
        )
    for spec in REGISTRY.values():
        assert spec.citation and spec.license and spec.description
    assert {REGISTRY[name].task for name in ("20newsgroups", "sst2", "sst5")} == {"classify"}


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown dataset 'imdb'") as info:
        load("imdb")
    for name in ("20newsgroups", "sst2", "sst5"):
        assert name in str(info.value)


def test_unknown_option_lists_the_options(places: dict[str, Path]) -> None:
    with pytest.raises(ValueError, match="unknown option") as info:
        load("sst2", phrase=True)  # typo of `phrases`
    assert "phrases" in str(info.value) and "lowercase" in str(info.value)


def test_name_is_case_insensitive(places: dict[str, Path]) -> None:
    write_sst_zip(places["env"] / "sst" / SST_ZIP, "Gripping")
    assert load("SST5").name == "sst5"


# --- lookup order ---------------------------------------------------------------------------


def test_lookup_order_data_dir_then_env_then_cache(places: dict[str, Path]) -> None:
    cache = places["home"] / ".cache" / "rnnkit" / "sst"
    write_sst_zip(places["data_dir"] / "sst" / SST_ZIP, "FromDataDir")
    write_sst_zip(places["env"] / "sst" / SST_ZIP, "FromEnv")
    write_sst_zip(cache / SST_ZIP, "FromCache")

    assert first_text(load("sst5", data_dir=places["data_dir"])) == "FromDataDir rocks"
    assert first_text(load("sst5")) == "FromEnv rocks"
    (places["env"] / "sst" / SST_ZIP).unlink()
    assert first_text(load("sst5")) == "FromCache rocks"


def test_data_dir_may_hold_the_files_directly(places: dict[str, Path]) -> None:
    write_sst_zip(places["data_dir"] / SST_ZIP, "Direct")
    write_sst_zip(places["data_dir"] / "sst" / SST_ZIP, "Nested")
    write_sst_zip(places["env"] / "sst" / SST_ZIP, "FromEnv")
    assert first_text(load("sst2", data_dir=places["data_dir"])) == "Direct rocks"
    (places["data_dir"] / SST_ZIP).unlink()
    assert first_text(load("sst2", data_dir=places["data_dir"])) == "Nested rocks"


def test_missing_data_dir_falls_through_to_env(places: dict[str, Path]) -> None:
    write_sst_zip(places["env"] / "sst" / SST_ZIP, "FromEnv")
    assert first_text(load("sst2", data_dir=places["data_dir"])) == "FromEnv rocks"


def test_relative_rnnkit_data_is_taken_from_the_working_directory(
    places: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_sst_zip(places["env"] / "sst" / SST_ZIP, "Relative")
    monkeypatch.chdir(places["env"].parent)
    monkeypatch.setenv("RNNKIT_DATA", "env")
    assert first_text(load("sst5")) == "Relative rocks"


def test_available_reports_presence_and_place(places: dict[str, Path]) -> None:
    rows = {row["name"]: row for row in available()}
    assert set(rows) == set(REGISTRY)
    assert not rows["sst2"]["present"] and rows["sst2"]["path"] is None
    write_sst_zip(places["env"] / "sst" / SST_ZIP, "Here")
    rows = {row["name"]: row for row in available()}
    assert rows["sst2"]["present"] and rows["sst5"]["present"]
    assert rows["sst2"]["path"] == str(places["env"] / "sst")
    assert not rows["20newsgroups"]["present"]
    assert rows["20newsgroups"]["task"] == "classify"
    assert "remove" in rows["20newsgroups"]["options"]


# --- not found, offline, download -----------------------------------------------------------


def test_offline_message_names_every_path_and_the_url(places: dict[str, Path]) -> None:
    with pytest.raises(DatasetNotFoundError) as info:
        load("20newsgroups", data_dir=places["data_dir"])
    message = str(info.value)
    assert "RNNKIT_OFFLINE=1" in message
    assert "http://qwone.com/~jason/20Newsgroups/20news-bydate.tar.gz" in message
    for tried in (
        places["data_dir"] / "20news-bydate.tar.gz",
        places["data_dir"] / "20newsgroups" / "20news-bydate.tar.gz",
        places["env"] / "20newsgroups" / "20news-bydate.tar.gz",
        places["home"] / ".cache" / "rnnkit" / "20newsgroups" / "20news-bydate.tar.gz",
    ):
        assert str(tried) in message, f"{tried} missing from:\n{message}"
    assert isinstance(info.value, FileNotFoundError)


def test_download_false_forbids_the_download(
    places: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RNNKIT_OFFLINE")
    monkeypatch.delenv("RNNKIT_DATA")
    with pytest.raises(DatasetNotFoundError, match=r"download=False") as info:
        load("sst5", download=False)
    assert "Or set RNNKIT_DATA" in str(info.value)
    assert not (places["home"] / ".cache" / "rnnkit" / "sst").exists()


def use_url(monkeypatch: pytest.MonkeyPatch, url: str, sha256: str | None) -> None:
    """Point sst5's one file at ``url`` for this test."""
    spec = dataclasses.replace(REGISTRY["sst5"], files=(RemoteFile(SST_ZIP, url, sha256),))
    monkeypatch.setitem(REGISTRY, "sst5", spec)


def test_download_with_matching_checksum_lands_in_the_cache(
    places: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write_sst_zip(tmp_path / "server" / SST_ZIP, "Downloaded")
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    use_url(monkeypatch, source.as_uri(), digest)
    monkeypatch.delenv("RNNKIT_OFFLINE")

    data = load("sst5")

    assert first_text(data) == "Downloaded rocks"
    cache = places["home"] / ".cache" / "rnnkit" / "sst"
    assert sorted(p.name for p in cache.iterdir()) == [SST_ZIP]  # no temporary file left
    assert (cache / SST_ZIP).read_bytes() == source.read_bytes()
    source.unlink()  # now it must come from the cache, even offline
    monkeypatch.setenv("RNNKIT_OFFLINE", "1")
    assert first_text(load("sst5")) == "Downloaded rocks"


def test_download_with_wrong_checksum_raises_and_leaves_nothing(
    places: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write_sst_zip(tmp_path / "server" / SST_ZIP, "Tampered")
    actual = hashlib.sha256(source.read_bytes()).hexdigest()
    expected = "0" * 64
    use_url(monkeypatch, source.as_uri(), expected)
    monkeypatch.delenv("RNNKIT_OFFLINE")

    with pytest.raises(DatasetFormatError) as info:
        load("sst5")

    message = str(info.value)
    assert SST_ZIP in message and expected in message and actual in message
    cache = places["home"] / ".cache" / "rnnkit" / "sst"
    assert not cache.exists() or list(cache.iterdir()) == []


def test_failed_download_says_what_to_put_where(
    places: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = (tmp_path / "server" / "nothing.zip").as_uri()
    use_url(monkeypatch, missing, None)
    monkeypatch.delenv("RNNKIT_OFFLINE")

    with pytest.raises(DatasetNotFoundError, match="the download failed") as info:
        load("sst5")

    assert missing in str(info.value)
    assert str(places["home"] / ".cache" / "rnnkit" / "sst" / SST_ZIP) in str(info.value)
    cache = places["home"] / ".cache" / "rnnkit" / "sst"
    assert not cache.exists() or list(cache.iterdir()) == []


def test_local_files_are_not_checksummed(places: dict[str, Path]) -> None:
    """A rebuilt archive with the right layout loads though its sha256 is not the official one."""
    path = write_sst_zip(places["env"] / "sst" / SST_ZIP, "Rebuilt")
    assert hashlib.sha256(path.read_bytes()).hexdigest() != REGISTRY["sst5"].files[0].sha256
    assert first_text(load("sst5")) == "Rebuilt rocks"


def test_local_file_with_a_bad_layout_names_the_file(places: dict[str, Path]) -> None:
    path = places["env"] / "sst" / SST_ZIP
    path.parent.mkdir()
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("trees/train.txt", "(3 (3 fine))\n")
    with pytest.raises(DatasetFormatError, match=r"trees/dev\.txt, trees/test\.txt") as info:
        load("sst5")
    assert str(path) in str(info.value)


# --- the shared types ----------------------------------------------------------------------


def test_classification_data_counts_and_summary() -> None:
    data = ClassificationData(
        train=[Example("a", "pos"), Example("b", "neg"), Example("c", "pos")],
        val=[Example("d", "neg")],
        test=[Example("e", "pos")],
        labels=["neg", "pos"],
        name="toy",
    )
    assert data.counts() == {
        "train": {"neg": 1, "pos": 2},
        "val": {"neg": 1, "pos": 0},
        "test": {"neg": 0, "pos": 1},
    }
    lines = data.summary().splitlines()
    assert lines[0] == "toy: 2 labels"
    assert lines[2].split() == ["neg", "1", "1", "0"]
    assert lines[-1].split() == ["total", "3", "1", "1"]


def test_classification_data_rejects_unknown_labels() -> None:
    with pytest.raises(ValueError, match="test has label 'maybe'"):
        ClassificationData(
            train=[Example("a", "yes")], val=[], test=[Example("b", "maybe")], labels=["yes"]
        )
    with pytest.raises(ValueError, match="repeated"):
        ClassificationData(train=[], val=[], test=[], labels=["x", "x"])
