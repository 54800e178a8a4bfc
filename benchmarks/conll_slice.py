"""A slice of CoNLL-2003 for quick searches: the first N training sentences and the first M test
sentences of ``$RNNKIT_DATA/conll2003`` as a ``columns:`` folder (``train.txt``, ``test.txt``; the
tagger holds a validation share of train out itself). ``-DOCSTART-`` lines are left out.

    RNNKIT_DATA=../shared/data .venv/bin/python benchmarks/conll_slice.py --out runs/conll-slice
    rnnkit tune tag --config benchmarks/configs/tune/conll-slice.toml --folds 2 --sampler grid \\
        --out runs/tune-conll-slice
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from pathlib import Path


def sentences(path: Path) -> Iterator[str]:
    """Each sentence of a CoNLL column file: its lines, newline-terminated, without the blank."""
    lines: list[str] = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.startswith("-DOCSTART-"):
                continue
            if line.strip():
                lines.append(line)
            elif lines:
                yield "".join(lines)
                lines = []
    if lines:
        yield "".join(lines)


def write_slice(source: Path, target: Path, count: int) -> int:
    """The first ``count`` sentences of ``source`` into ``target``; how many there were."""
    taken: list[str] = []
    for sentence in sentences(source):
        if len(taken) == count:
            break
        taken.append(sentence)
    target.write_text("\n".join(taken) + "\n", encoding="utf-8")
    return len(taken)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder to write")
    parser.add_argument("--train", type=int, default=1500, help="training sentences (1500)")
    parser.add_argument("--test", type=int, default=500, help="test sentences (500)")
    args = parser.parse_args()
    folder = Path(os.environ.get("RNNKIT_DATA", "../shared/data")) / "conll2003"
    args.out.mkdir(parents=True, exist_ok=True)
    parts = (("eng.train", "train", args.train), ("eng.testb", "test", args.test))
    for name, split, count in parts:
        n = write_slice(folder / name, args.out / f"{split}.txt", count)
        print(f"{args.out / f'{split}.txt'}: {n} sentences of {folder / name}")


if __name__ == "__main__":
    main()
