"""The attention heat map: a real PNG, shaped like the sentence pair, written atomically."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from matplotlib import image
from matplotlib.figure import Figure

import rnnkit.viz
from rnnkit.viz import plot_attention

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SOURCE = ["ein", "Hund", "läuft", "am", "$trand", "$", "<eos>"]  # a lone $ is not mathtext
TARGET = ["a", "dog", "runs", "<eos>"]


def weights(rows: int, cols: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    return torch.softmax(3 * torch.randn(rows, cols, generator=generator), dim=1)


def read_png(path: Path) -> Any:
    assert path.read_bytes()[:8] == PNG_MAGIC, f"{path} is not a PNG"
    return image.imread(path)  # (height, width, 4)


def test_exported() -> None:
    assert "plot_attention" in rnnkit.viz.__all__
    assert rnnkit.viz.plot_attention is plot_attention


@pytest.mark.parametrize("form", ["tensor", "numpy", "lists"])
def test_writes_a_png(form: str, tmp_path: Path) -> None:
    grid = weights(len(TARGET), len(SOURCE)).requires_grad_()  # detached by the plot
    given: Any = {"tensor": grid, "numpy": grid.detach().numpy(), "lists": grid.tolist()}[form]
    path = tmp_path / "plots" / "attention.png"  # a folder that does not exist yet
    returned = plot_attention(given, SOURCE, TARGET, path, title="de → en: $x$ stays text")
    assert returned == path and isinstance(returned, Path)
    pixels = read_png(path)
    assert pixels.ndim == 3 and pixels.shape[2] in (3, 4)
    assert pixels[..., :3].min() < 0.5  # something dark was drawn
    assert [p.name for p in path.parent.iterdir()] == ["attention.png"]  # no temporary left


def test_labels_are_the_tokens(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Source tokens along x (rotated), target tokens along y, as plain text; a colour bar."""
    drawn: list[Figure] = []
    save = Figure.savefig

    def spy(fig: Figure, *args: Any, **kwargs: Any) -> None:
        drawn.append(fig)
        save(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", spy)
    plot_attention(weights(len(TARGET), len(SOURCE)), SOURCE, TARGET, tmp_path / "a.png")
    (fig,) = drawn
    (ax,) = fig.axes
    (bar,) = ax.child_axes  # the colour bar, as high as the image
    xlabels, ylabels = ax.get_xticklabels(), ax.get_yticklabels()
    assert [t.get_text() for t in xlabels] == SOURCE
    assert [t.get_text() for t in ylabels] == TARGET
    assert all(t.get_rotation() > 0 for t in xlabels)
    assert not any(t.get_parse_math() for t in [*xlabels, *ylabels])
    assert bar.get_ylabel() == "attention weight"


def test_aspect_follows_the_sentence_lengths(tmp_path: Path) -> None:
    """Square cells: a long source makes a wide picture, a long target a tall one."""
    wide = read_png(plot_attention(weights(3, 20), ["s"] * 20, ["t"] * 3, tmp_path / "wide.png"))
    tall = read_png(plot_attention(weights(20, 3), ["s"] * 3, ["t"] * 20, tmp_path / "tall.png"))
    assert wide.shape[1] > 1.5 * wide.shape[0], wide.shape
    assert tall.shape[0] > 1.5 * tall.shape[1], tall.shape


def test_darker_is_more_weight(tmp_path: Path) -> None:
    """The same pair drawn with all-zero and with one-hot weights: only the cells differ, and
    each cell of weight 1 is dark (the colour bar, dark at its top, is in both pictures)."""
    tokens = ["x", "y", "z"]
    none = read_png(plot_attention(np.zeros((3, 3)), tokens, tokens, tmp_path / "0.png"))
    eye = read_png(plot_attention(np.eye(3), tokens, tokens, tmp_path / "1.png"))
    assert none.shape == eye.shape
    lightness_none, lightness_eye = none[..., :3].mean(2), eye[..., :3].mean(2)
    darker = lightness_eye < lightness_none - 0.5  # pixels much darker with weight 1
    assert not (lightness_eye > lightness_none + 0.01).any()  # nothing got lighter
    assert darker.mean() > 0.03  # three whole cells
    rows, cols = np.nonzero(darker)
    box = darker[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]  # the image's cells
    h, w = box.shape
    blocks = [[box[i * h // 3 : (i + 1) * h // 3, j * w // 3 : (j + 1) * w // 3].mean()
               for j in range(3)] for i in range(3)]  # fmt: skip
    assert np.allclose(np.array(blocks), np.eye(3), atol=0.05), blocks  # dark on the diagonal


def test_replaces_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(b"old")
    plot_attention(weights(2, 2), ["x", "y"], ["a", "b"], path)
    assert path.read_bytes()[:8] == PNG_MAGIC


CASES: dict[str, tuple[Any, list[str], list[str], str]] = {
    "transposed": (weights(7, 4), SOURCE, TARGET, "(4, 7), got (7, 4)"),
    "one_token_short": (weights(4, 6), SOURCE, TARGET, "(4, 7), got (4, 6)"),
    "1d": (np.ones(7) / 7, SOURCE, ["a"], "(1, 7), got (7,)"),
    "ragged": ([[0.5, 0.5], [1.0]], ["x", "y"], ["a", "b"], "(2, 2), got rows that are not"),
    "no_tokens": (np.zeros((0, 0)), [], [], "need tokens, got shape (0, 0)"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_shape_mismatch_is_one_line(case: str, tmp_path: Path) -> None:
    grid, source, target, expected = CASES[case]
    with pytest.raises(ValueError, match=re.escape(expected)) as info:
        plot_attention(grid, source, target, tmp_path / "x.png")
    message = str(info.value)
    assert "\n" not in message and message.startswith("plot_attention: "), message
    assert not list(tmp_path.iterdir())  # nothing written
