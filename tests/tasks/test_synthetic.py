"""The adding-problem generator and AddingModel."""

from __future__ import annotations

import pytest
import torch

from rnnkit.tasks.synthetic import ADDING_BASELINE_MSE, CELLS, AddingModel, adding_problem


def _data(n: int = 200, seq_len: int = 37, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    return adding_problem(n, seq_len, generator=torch.Generator().manual_seed(seed))


def test_shapes_and_dtypes() -> None:
    x, y = _data(n=5, seq_len=11)
    assert x.shape == (5, 11, 2) and x.dtype == torch.float32
    assert y.shape == (5,) and y.dtype == torch.float32


@pytest.mark.parametrize("seq_len", [2, 3, 37, 100])
def test_exactly_one_marker_in_each_half(seq_len: int) -> None:
    x, _ = _data(seq_len=seq_len)
    markers = x[..., 1]  # (n, T)
    half = seq_len // 2
    assert set(markers.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(markers[:, :half].sum(dim=1), torch.ones(len(x)))
    assert torch.equal(markers[:, half:].sum(dim=1), torch.ones(len(x)))


def test_target_is_the_sum_of_the_marked_values() -> None:
    x, y = _data()
    values, markers = x[..., 0], x[..., 1]  # (n, T) each
    assert ((values >= 0) & (values < 1)).all()
    torch.testing.assert_close(y, (values * markers).sum(dim=1))


def test_same_seed_same_data_other_seed_other_data() -> None:
    x0, y0 = _data(seed=3)
    x1, y1 = _data(seed=3)
    x2, _ = _data(seed=4)
    assert torch.equal(x0, x1) and torch.equal(y0, y1)
    assert not torch.equal(x0, x2)


def test_baseline_is_the_mse_of_always_answering_one() -> None:
    _, y = _data(n=20_000)
    assert torch.mean((y - 1.0) ** 2).item() == pytest.approx(ADDING_BASELINE_MSE, abs=0.01)


@pytest.mark.parametrize(("n", "seq_len"), [(0, 10), (4, 1)])
def test_bad_sizes_raise(n: int, seq_len: int) -> None:
    with pytest.raises(ValueError, match="adding_problem"):
        adding_problem(n, seq_len, generator=torch.Generator())


def test_unknown_cell_names_the_argument_and_the_valid_values() -> None:
    with pytest.raises(ValueError, match=r"cell must be one of 'rnn', 'lstm', 'gru', got 'tcn'"):
        AddingModel("tcn", 8)


@pytest.mark.parametrize("cell", CELLS)
def test_model_predicts_one_number_per_sequence(cell: str) -> None:
    x, y = _data(n=3, seq_len=9)
    model = AddingModel(cell, 5)
    assert model.predict(x).shape == (3,)
    assert not model.predict(x).requires_grad
    loss = model.forward_loss((x, y))
    assert loss.shape == ()
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())


def test_lstm_forget_bias_starts_at_one() -> None:
    model = AddingModel("lstm", 6)
    H = 6
    b = model.rnn.get_parameter("bias_ih_l0") + model.rnn.get_parameter("bias_hh_l0")  # (4H,)
    torch.testing.assert_close(b[H : 2 * H], torch.ones(H))
