"""Language-modelling corpora as token streams (:class:`~rnnkit.datasets.base.CorpusData`):
Penn Treebank (words and characters, Mikolov's split), WikiText-2, Tiny Shakespeare, and the
user's own text (``text:PATH``).

Word-level files are read as pytorch/examples' ``word_language_model`` and AWD-LSTM read them:
each line split on whitespace, then ``<eos>`` (an empty line is one ``<eos>``), so token counts and
perplexities compare with theirs. ``ptb-char`` reads ``ptb.char.*`` the same way (one token per
symbol, ``_`` between words, ``<eos>`` per line), as AWD-LSTM does. Raw character text (Tiny
Shakespeare, ``text:PATH`` with ``level="char"``) is every character, line ends included.
Tiny Shakespeare is cut as nanoGPT cuts it: the first 90% of the characters train, the last 10%
validate, and there is no test split.
"""

from __future__ import annotations

from pathlib import Path

from rnnkit.datasets.base import (
    LEVELS,
    CorpusData,
    DatasetFormatError,
    DatasetNotFoundError,
    read_utf8,
)
from rnnkit.datasets.spec import DatasetSpec, RemoteFile, UserFormat

__all__ = [
    "DATASET_LEVELS",
    "EOS",
    "SPECS",
    "USER_FORMATS",
    "load_text",
    "read_ptb",
    "read_ptb_char",
    "read_tinyshakespeare",
    "read_wikitext2",
    "word_stream",
]

EOS = "<eos>"
SPLIT_NAMES: dict[str, tuple[str, ...]] = {
    "train": ("train",),
    "val": ("valid", "val", "dev"),
    "test": ("test",),
}
SUFFIXES = (".txt", ".tokens", "")


def word_stream(text: str) -> list[str]:
    """Every line's whitespace-separated tokens, each line ended by ``<eos>``.

    >>> word_stream("the cat\\n\\nsat\\n")
    ['the', 'cat', '<eos>', '<eos>', 'sat', '<eos>']
    """
    tokens: list[str] = []
    for line in text.splitlines():
        tokens.extend(line.split())
        tokens.append(EOS)
    return tokens


def _streams(folder: Path, files: dict[str, str], name: str) -> CorpusData:
    paths = {split: folder / file for split, file in files.items()}
    streams = {split: word_stream(read_utf8(path)) for split, path in paths.items()}
    return CorpusData(
        streams["train"], streams["val"], streams["test"], level=DATASET_LEVELS[name], eos=EOS,
        files={split: str(path) for split, path in paths.items()}, name=name,
    )  # fmt: skip


PTB_FILES = {"train": "ptb.train.txt", "val": "ptb.valid.txt", "test": "ptb.test.txt"}
PTB_CHAR_FILES = {split: file.replace("ptb.", "ptb.char.") for split, file in PTB_FILES.items()}
WIKITEXT2_FILES = {"train": "wiki.train.tokens", "val": "wiki.valid.tokens",
                   "test": "wiki.test.tokens"}  # fmt: skip
SHAKESPEARE_FILE = "input.txt"
SHAKESPEARE_TRAIN_FRACTION = 0.9  # nanoGPT's shakespeare_char split
# What a token of each named corpus is: perplexity is reported for words, bits per character
# for characters.
DATASET_LEVELS: dict[str, str] = {
    "ptb": "word", "ptb-char": "char", "wikitext-2": "word", "tinyshakespeare": "char",
}  # fmt: skip


def read_ptb(folder: str | Path) -> CorpusData:
    """Penn Treebank, Mikolov's word-level split: 929,589 / 73,760 / 82,430 tokens, 10k words."""
    return _streams(Path(folder), PTB_FILES, "ptb")


def read_ptb_char(folder: str | Path) -> CorpusData:
    """Penn Treebank at the character level (``ptb.char.*``; ``_`` marks word boundaries)."""
    return _streams(Path(folder), PTB_CHAR_FILES, "ptb-char")


def read_wikitext2(folder: str | Path) -> CorpusData:
    """WikiText-2 (v1, tokenized with ``<unk>``): 2,088,628 / 217,646 / 245,569 tokens."""
    return _streams(Path(folder), WIKITEXT2_FILES, "wikitext-2")


def read_tinyshakespeare(folder: str | Path) -> CorpusData:
    """Tiny Shakespeare's 1,115,394 characters: the first 90% train, the rest validate."""
    path = Path(folder) / SHAKESPEARE_FILE
    text = read_utf8(path)
    cut = int(len(text) * SHAKESPEARE_TRAIN_FRACTION)
    return CorpusData(
        list(text[:cut]), list(text[cut:]), [], level=DATASET_LEVELS["tinyshakespeare"], eos=None,
        files={"train": str(path), "val": str(path)}, name="tinyshakespeare",
    )  # fmt: skip


def _split_file(folder: Path, split: str) -> Path | None:
    for stem in SPLIT_NAMES[split]:
        for suffix in SUFFIXES:
            path = folder / f"{stem}{suffix}"
            if path.is_file():
                return path
    return None


def load_text(
    path: str,
    *,
    level: str = "word",
    val_fraction: float = 0.05,
    test_fraction: float = 0.05,
) -> CorpusData:
    """The user's own text, ``load("text:PATH", "lm")``.

    Args:
        path: one UTF-8 text file, cut into train / val / test in reading order (the last
            ``val_fraction + test_fraction`` of its lines are held out: never shuffled, so no
            line of the held-out text was seen in training); or a folder holding ``train.txt``,
            ``valid.txt`` (or ``val.txt``, ``dev.txt``) and optionally ``test.txt`` (``.tokens``
            or no suffix also found).
        level: ``"word"`` (whitespace tokens, ``<eos>`` per line) or ``"char"`` (every
            character, line ends included).
        val_fraction, test_fraction: the shares of a single file's lines held out.

    Raises:
        DatasetNotFoundError: no such file or folder, or a folder without ``train.txt``.
        DatasetFormatError: an empty training text, or a file that is not UTF-8.
        ValueError: an unknown level, or fractions outside [0, 1) summing to 1 or more.
    """
    if level not in LEVELS:
        raise ValueError(f"text:{path}: level must be one of {', '.join(LEVELS)}, got {level!r}")
    for name, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0 <= value < 1:
            raise ValueError(f"text:{path}: {name} must be in [0, 1), got {value}")
    if val_fraction + test_fraction >= 1:
        raise ValueError(f"text:{path}: val_fraction + test_fraction must be below 1")
    root = Path(path)
    if not root.exists():
        raise DatasetNotFoundError(f"text:{path}: no such file or folder")

    def stream(text: str) -> list[str]:
        return word_stream(text) if level == "word" else list(text)

    texts: dict[str, str]
    files: dict[str, str]
    if root.is_dir():
        found = {split: _split_file(root, split) for split in SPLIT_NAMES}
        train = found["train"]
        if train is None:
            raise DatasetNotFoundError(
                f"text:{path}: the folder has no train.txt (expected train.txt, valid.txt and "
                "optionally test.txt, or give one file)"
            )
        texts = {s: read_utf8(p) if p is not None else "" for s, p in found.items()}
        files = {s: str(p) for s, p in found.items() if p is not None}
    else:
        lines = read_utf8(root).splitlines(keepends=True)
        held_val, held_test = round(len(lines) * val_fraction), round(len(lines) * test_fraction)
        first_held = len(lines) - held_val - held_test
        texts = {
            "train": "".join(lines[:first_held]),
            "val": "".join(lines[first_held : first_held + held_val]),
            "test": "".join(lines[first_held + held_val :]),
        }
        files = {split: str(root) for split, text in texts.items() if text}
    if not texts["train"].strip():
        where = files.get("train", str(root))
        raise DatasetFormatError(f"text:{path}: {where} holds no text; expected UTF-8 text")
    return CorpusData(
        stream(texts["train"]), stream(texts["val"]), stream(texts["test"]), level=level,
        eos=EOS if level == "word" else None, files=files, name=f"text:{path}",
    )  # fmt: skip


_PTB_HOME = "http://www.fit.vutbr.cz/~imikolov/rnnlm/"
_PTB_CITATION = (
    "Mitchell P. Marcus, Beatrice Santorini, Mary Ann Marcinkiewicz. Building a Large Annotated "
    "Corpus of English: The Penn Treebank. Computational Linguistics 19(2), 1993; Tomas Mikolov "
    "et al. Recurrent neural network based language model. Interspeech 2010."
)
_PTB_LICENSE = (
    "The WSJ text is LDC's Penn Treebank (LDC99T42, LDC user agreement); Mikolov's preprocessed "
    "files are distributed with the RNNLM toolkit (simple-examples.tgz)."
)
_PTB_SHA = {
    "ptb.train.txt": "fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf",
    "ptb.valid.txt": "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2",
    "ptb.test.txt": "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0",
    "ptb.char.train.txt": "e313d91425e06c4f0a8fb6e881dcce0c291f2a0e9f4dda54833069b122f91da9",
    "ptb.char.valid.txt": "21661f63ec355085879458b6524644d4add5573541b4be14fb52ab2e2e995eb8",
    "ptb.char.test.txt": "1ef5607ac3c463b16e38bfe7900dd3bfc91de5a96e0f21e7eab5188b465b8ebe",
}
_WIKITEXT2_SHA = {
    "wiki.train.tokens": "9e9fa1ad55b1c2c95b08e37dd8e653f638fac2c6de904b79e813611eefbc985f",
    "wiki.valid.tokens": "f0737ed31fc1329026e95cb8b98e19c2a182c39c240ab909dc31abf2f8af58e8",
    "wiki.test.tokens": "d790b833ef8cf03a90db7bf1271b7520b83c45ce07ba3c1a9699df81e239eca0",
}

# Mikolov's and Salesforce's files come as archives (simple-examples.tgz, wikitext-2-v1.zip):
# no single-file address, so those datasets name their homepage instead of downloading.
SPECS: tuple[DatasetSpec, ...] = (
    DatasetSpec(
        name="ptb",
        task="lm",
        description="Penn Treebank, Mikolov's word-level LM split: 929,589 / 73,760 / 82,430 "
        "tokens, 10,000 words",
        folder="ptb",
        files=tuple(RemoteFile(f, None, _PTB_SHA[f]) for f in PTB_FILES.values()),
        reader=read_ptb,
        citation=_PTB_CITATION,
        license=_PTB_LICENSE,
        homepage=_PTB_HOME,
    ),
    DatasetSpec(
        name="ptb-char",
        task="lm",
        description="Penn Treebank at the character level (ptb.char.*): 5.0M / 393k / 442k symbols",
        folder="ptb",
        files=tuple(RemoteFile(f, None, _PTB_SHA[f]) for f in PTB_CHAR_FILES.values()),
        reader=read_ptb_char,
        citation=_PTB_CITATION,
        license=_PTB_LICENSE,
        homepage=_PTB_HOME,
    ),
    DatasetSpec(
        name="wikitext-2",
        task="lm",
        description="WikiText-2 (v1, tokenized): 2,088,628 / 217,646 / 245,569 tokens, 33,278 "
        "words",
        folder="wikitext-2",
        files=tuple(RemoteFile(f, None, _WIKITEXT2_SHA[f]) for f in WIKITEXT2_FILES.values()),
        reader=read_wikitext2,
        citation="Stephen Merity, Caiming Xiong, James Bradbury, Richard Socher. Pointer Sentinel "
        "Mixture Models. ICLR 2017.",
        license="Creative Commons Attribution-ShareAlike (CC BY-SA 3.0), as Wikipedia's text.",
        homepage="https://blog.salesforceairesearch.com/the-wikitext-long-term-dependency-"
        "language-modeling-dataset/ (wikitext-2-v1.zip)",
    ),
    DatasetSpec(
        name="tinyshakespeare",
        task="lm",
        description="Tiny Shakespeare, 1,115,394 characters; nanoGPT's 90/10 train/val split, "
        "no test",
        folder="tinyshakespeare",
        files=(
            RemoteFile(
                SHAKESPEARE_FILE,
                "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/"
                "tinyshakespeare/input.txt",
                "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
            ),
        ),
        reader=read_tinyshakespeare,
        citation="Andrej Karpathy. char-rnn (2015), https://github.com/karpathy/char-rnn.",
        license="The works of Shakespeare, public domain; the file is from karpathy/char-rnn "
        "(MIT).",
        homepage="https://github.com/karpathy/char-rnn",
    ),
)

USER_FORMATS: tuple[UserFormat, ...] = (UserFormat("text", "lm", load_text),)
