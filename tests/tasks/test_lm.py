"""The language model and its data: contiguous TBPTT batches, the vocabulary of a stream, the
state carried across batches (equal to one long sequence), tying, the regularisers, the config's
errors, and small runs end to end (train, load, evaluate, record, resume)."""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor

from rnnkit.datasets import CorpusData
from rnnkit.datasets.corpora import EOS, word_stream
from rnnkit.pipelines.run import Run, record_quality, train
from rnnkit.pipelines.runconfig import resolve
from rnnkit.tasks.base import get_task
from rnnkit.tasks.encoder import EncoderConfig
from rnnkit.tasks.lm import LanguageModel, LMConfig
from rnnkit.tasks.lm_data import LMDataConfig, StreamBatches, build_vocab, encode
from rnnkit.training import Callback, Trainer
from rnnkit.training.checkpoint import load_checkpoint, load_weights, save_weights

V = 17


def lm(
    cell: str = "lstm", *, hidden: int = 12, layers: int = 2, vocab: int = V, seed: int = 0,
    level: str = "word", encoder: dict[str, Any] | None = None, **options: Any,
) -> LanguageModel:  # fmt: skip
    torch.manual_seed(seed)
    enc = EncoderConfig(
        cell=cell, hidden_size=hidden, num_layers=layers, bidirectional=False, **(encoder or {})
    )
    return LanguageModel(LMConfig(embedding_dim=8, encoder=enc, **options), vocab, level=level)


def stream(n: int, seed: int = 0, vocab: int = V) -> Tensor:
    return torch.randint(0, vocab, (n,), generator=torch.Generator().manual_seed(seed))


def first_state(state: list[Any]) -> Tensor:
    """The first layer's h."""
    h: Tensor = state[0][0] if isinstance(state[0], tuple) else state[0]
    return h


def flat(state: list[Any]) -> list[Tensor]:
    out: list[Tensor] = []
    for s in state:
        out += list(s) if isinstance(s, tuple) else [s]
    return out


def nll(logits: Tensor, targets: Tensor) -> float:
    """The summed cross-entropy of logits (B, T, V) against targets (B, T)."""
    vocab = logits.shape[-1]
    return float(
        F.cross_entropy(logits.detach().reshape(-1, vocab), targets.reshape(-1), reduction="sum")
    )


# --- contiguous batches -----------------------------------------------------------------------


def test_batches_keep_each_rows_order_and_targets_are_one_step_ahead() -> None:
    ids = stream(103)
    batches = StreamBatches(ids, batch_size=4, bptt=7)
    got = list(batches)
    assert len(batches) == len(got) == 4  # 25 columns: 24 steps = 7 + 7 + 7 + 3
    assert [b.inputs.shape for b in got] == [(4, 7), (4, 7), (4, 7), (4, 3)]
    rows = ids[:100].view(4, 25)  # row b is tokens [25b, 25b + 25)
    for b in range(4):
        assert torch.equal(torch.cat([x.inputs[b] for x in got]), rows[b, :-1])
        assert torch.equal(torch.cat([x.targets[b] for x in got]), rows[b, 1:])
    for k, (before, after) in enumerate(itertools.pairwise(got)):
        # row b of batch k + 1 starts where row b of batch k ended
        assert torch.equal(after.inputs[:, 0], before.targets[:, -1])
        assert torch.equal(after.inputs[:, 0], rows[:, 7 * (k + 1)])
    assert all(b.scale == 1.0 for b in got)


def test_every_batch_boundary_continues_the_row() -> None:
    ids = torch.arange(4 * 30)
    got = list(StreamBatches(ids, batch_size=4, bptt=6))
    for before, after in itertools.pairwise(got):
        assert torch.equal(after.inputs[:, 0], before.inputs[:, -1] + 1)
        assert torch.equal(after.inputs[:, 0], before.targets[:, -1])


def test_the_tail_that_fills_no_row_is_dropped() -> None:
    ids = torch.arange(103)  # 4 rows of 25: tokens 100, 101, 102 are dropped
    batches = StreamBatches(ids, batch_size=4, bptt=7)
    seen = torch.cat([torch.cat([b.inputs.flatten(), b.targets.flatten()]) for b in batches])
    assert int(seen.max()) == 99
    assert set(seen.tolist()) == set(range(100))
    assert batches.tokens == 100 - 4 == sum(b.targets.numel() for b in batches)


def test_len_is_the_batches_yielded_for_many_shapes() -> None:
    for n, rows, bptt in [(50, 1, 49), (50, 1, 50), (50, 1, 7), (64, 8, 3), (9, 3, 100)]:
        batches = StreamBatches(torch.arange(n), batch_size=rows, bptt=bptt)
        assert len(batches) == len(list(batches)), (n, rows, bptt)
        assert sum(batches.lengths()) == n // rows - 1


def test_variable_lengths_follow_awd_lstm() -> None:
    batches = StreamBatches(torch.arange(4 * 2001), batch_size=4, bptt=20, variable=True, seed=3)
    lengths = batches.lengths()
    assert sum(lengths) == 2000
    assert all(steps >= 5 for steps in lengths[:-1]) and lengths[-1] >= 1
    assert all(steps <= 20 + 40 for steps in lengths)
    assert len(set(lengths)) > 5, "lengths are drawn, not fixed"
    got = list(batches)
    assert len(batches) == len(got)
    assert [b.inputs.shape[1] for b in got] == lengths
    assert [b.scale for b in got] == pytest.approx([steps / 20 for steps in lengths])
    rows = torch.arange(4 * 2001).view(4, 2001)
    assert torch.equal(torch.cat([b.inputs for b in got], dim=1), rows[:, :-1])
    assert torch.equal(torch.cat([b.targets for b in got], dim=1), rows[:, 1:])


def test_variable_lengths_depend_on_seed_and_epoch_only() -> None:
    def lengths(seed: int, epoch: int) -> list[int]:
        batches = StreamBatches(torch.arange(3000), batch_size=2, bptt=15, variable=True, seed=seed)
        batches.set_epoch(epoch)
        return batches.lengths()

    assert lengths(1, 0) == lengths(1, 0)
    assert lengths(1, 2) == lengths(1, 2)
    assert lengths(1, 0) != lengths(1, 1)
    assert lengths(1, 0) != lengths(2, 0)
    fixed = StreamBatches(torch.arange(3000), batch_size=2, bptt=15)
    fixed.set_epoch(5)
    assert fixed.lengths() == [15] * 99 + [14]


@pytest.mark.parametrize(("n", "rows"), [(5, 4), (1, 1), (0, 1), (19, 10)])
def test_a_stream_too_short_for_its_rows_is_a_clear_error(n: int, rows: int) -> None:
    with pytest.raises(ValueError, match="too short") as info:
        StreamBatches(torch.arange(n), batch_size=rows, bptt=5)
    assert f"{n} tokens" in str(info.value) and "batch_size" in str(info.value)


# --- the vocabulary ---------------------------------------------------------------------------


def corpus(train: str, val: str = "", test: str = "", *, level: str = "word") -> CorpusData:
    def tokens(text: str) -> list[str]:
        return word_stream(text) if level == "word" else list(text)

    eos = EOS if level == "word" else None
    return CorpusData(tokens(train), tokens(val), tokens(test), level=level, eos=eos)


def test_a_ptb_like_vocabulary_is_exactly_the_training_tokens() -> None:
    data = corpus("the <unk> sat\non the mat\n", "a cat\n", "the dog\n")
    vocab = build_vocab(data, LMDataConfig())
    assert set(vocab.itos) == set(data.train) == {"the", "<unk>", "sat", "on", "mat", EOS}
    assert len(vocab) == 6
    assert vocab.pad is None and vocab.unk == "<unk>" and vocab.specials == (EOS,)
    assert vocab.encode(["cat", "dog"]) == [vocab.index("<unk>")] * 2
    assert vocab.token(vocab.index("the")) == "the"


def test_words_always_have_an_unk() -> None:
    vocab = build_vocab(corpus("the cat\n", "the cat\n"), LMDataConfig())
    assert vocab.unk == "<unk>" and len(vocab) == len({"the", "cat", EOS}) + 1


def test_words_min_freq_and_max_vocab_cap_the_vocabulary() -> None:
    data = corpus("a a a b b c\n")
    assert set(build_vocab(data, LMDataConfig(min_freq=2)).itos) == {"<unk>", EOS, "a", "b"}
    assert build_vocab(data, LMDataConfig(max_vocab=3)).itos == ["<unk>", EOS, "a"]


def test_characters_get_an_unk_only_for_a_held_out_character_unseen_in_train() -> None:
    seen = build_vocab(corpus("abc\nab\n", "ba\n", "c", level="char"), LMDataConfig())
    assert seen.unk is None and seen.pad is None and seen.specials == ()
    assert set(seen.itos) == {"a", "b", "c", "\n"}
    unseen = build_vocab(corpus("abc\nab\n", "ba\n", "cz", level="char"), LMDataConfig())
    assert unseen.unk is not None and "z" not in unseen
    assert len(unseen) == 5 and unseen.encode(["z"]) == [unseen.index(unseen.unk)]


@pytest.mark.parametrize("cap", [{"min_freq": 2}, {"max_vocab": 3}])
def test_characters_left_out_by_min_freq_or_max_vocab_read_as_unk(cap: dict[str, Any]) -> None:
    data = corpus("aab\naa\nc\n", "a\n", level="char")  # b and c once; a 5, \n 3
    vocab = build_vocab(data, LMDataConfig(**cap))
    assert vocab.unk is not None and "b" not in vocab and "c" not in vocab
    assert {"a", "\n"} <= set(vocab.itos) and len(vocab) <= 3
    ids = encode(data.train, vocab)  # every training character has an id
    assert ids.tolist().count(vocab.index(vocab.unk)) == 2


# --- the carried state ------------------------------------------------------------------------


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_carrying_the_state_equals_reading_each_row_at_once(cell: str) -> None:
    model = lm(cell).double().eval()
    batches = StreamBatches(stream(3 * 41), batch_size=3, bptt=7)
    total, count = model.loss_over(batches)
    rows = batches.rows
    logits, _ = model.forward_tokens(rows[:, :-1])
    assert count == rows.numel() - 3 == 120
    assert total == pytest.approx(nll(logits, rows[:, 1:]), abs=1e-9)
    # and it is not what fresh states per batch would give
    fresh = 0.0
    for batch in batches:
        out, _ = model.forward_tokens(batch.inputs)
        fresh += nll(out, batch.targets)
    assert abs(fresh - total) > 1e-6


def test_evaluate_with_variable_lengths_also_reads_one_long_sequence() -> None:
    model = lm("lstm").double().eval()
    ids = stream(2 * 120)
    variable = StreamBatches(ids, batch_size=2, bptt=9, variable=True, seed=1)
    fixed = StreamBatches(ids, batch_size=2, bptt=9)
    assert variable.lengths() != fixed.lengths()
    assert model.loss_over(variable)[0] == pytest.approx(model.loss_over(fixed)[0], abs=1e-9)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_training_carries_the_state_and_cuts_it_after_each_step(cell: str) -> None:
    model = lm(cell).double().train()  # no dropout: training and eval passes agree
    first, second = list(StreamBatches(stream(3 * 30), batch_size=3, bptt=6))[:2]
    model.start_epoch(train=True)
    assert model.carried is None
    loss, count = model.forward_loss(first)
    assert count == 18
    assert model.carried is not None
    _, expected = model.forward_tokens(first.inputs)
    for got, want in zip(flat(model.carried), flat(expected), strict=True):
        assert torch.allclose(got, want, atol=1e-12)
    assert all(t.grad_fn is not None for t in flat(model.carried))
    loss.backward()
    model.end_step()
    assert all(t.grad_fn is None and not t.requires_grad for t in flat(model.carried))
    carried = model.carried
    # the next batch starts from the carried state, not from zero
    loss2, _ = model.forward_loss(second)
    logits, _ = model.forward_tokens(second.inputs, carried)
    assert float(loss2.detach()) == pytest.approx(nll(logits, second.targets), abs=1e-9)
    fresh, _ = model.forward_tokens(second.inputs)
    assert abs(float(loss2.detach()) - nll(fresh, second.targets)) > 1e-6
    model.start_epoch(train=True)
    assert model.carried is None


def test_a_batch_of_another_size_starts_fresh() -> None:
    model = lm("lstm").double().train()
    three = next(iter(StreamBatches(stream(3 * 20), batch_size=3, bptt=6)))
    two = next(iter(StreamBatches(stream(2 * 20, seed=1), batch_size=2, bptt=6)))
    model.forward_loss(three)
    model.end_step()
    loss, _ = model.forward_loss(two)
    logits, _ = model.forward_tokens(two.inputs)
    assert float(loss.detach()) == pytest.approx(nll(logits, two.targets), abs=1e-9)
    assert model.carried is not None and first_state(model.carried).shape[1] == 2


def test_the_trainer_carries_the_state_across_its_batches(tmp_path: Path) -> None:
    seen: list[bool] = []

    class Watch(LanguageModel):
        def forward_loss(self, batch: Any) -> tuple[Tensor, int]:
            seen.append(self._carried_for(batch) is not None)
            return super().forward_loss(batch)

    torch.manual_seed(0)
    enc = EncoderConfig(hidden_size=8, num_layers=1, bidirectional=False)
    model = Watch(LMConfig(embedding_dim=8, encoder=enc), V, level="word")
    batches = StreamBatches(stream(2 * 25), batch_size=2, bptt=6)  # 4 batches per epoch
    trainer = Trainer(model, resolve("lm", {"epochs": 2, "progress": False}).trainer)
    trainer.fit(batches, StreamBatches(stream(40, seed=1), batch_size=2, bptt=6))
    assert seen == [False, True, True, True] * 2  # fresh at each epoch's start


# --- metrics of a uniform model ---------------------------------------------------------------


def uniform(level: str) -> LanguageModel:
    model = lm("gru", level=level).eval()
    with torch.no_grad():
        model.decoder.weight.zero_()
        model.decoder.bias.zero_()
    return model


def test_a_uniform_word_model_has_the_vocabulary_size_as_perplexity() -> None:
    metrics = uniform("word").evaluate(StreamBatches(stream(3 * 40), batch_size=3, bptt=7))
    assert set(metrics) == {"loss", "perplexity"}
    assert metrics["loss"] == pytest.approx(math.log(V), rel=1e-6)
    assert metrics["perplexity"] == pytest.approx(V, rel=1e-6)


def test_a_uniform_character_model_has_log2_v_bits_per_character() -> None:
    metrics = uniform("char").evaluate(StreamBatches(stream(3 * 40), batch_size=3, bptt=7))
    assert set(metrics) == {"loss", "bpc"}
    assert metrics["bpc"] == pytest.approx(math.log2(V), rel=1e-6)


def test_an_evaluation_of_no_batches_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no batches"):
        lm().evaluate([])


# --- tied weights -----------------------------------------------------------------------------


def test_tied_weights_share_the_embedding_and_project_when_sizes_differ() -> None:
    tied = lm(hidden=12, tie_weights=True)
    assert tied.decoder.weight is tied.embedding.weight
    assert tied.projection is not None
    assert (tied.projection.in_features, tied.projection.out_features) == (12, 8)
    logits, _ = tied.forward_tokens(stream(10).view(2, 5))
    assert logits.shape == (2, 5, V)
    same = lm(hidden=8, tie_weights=True)
    assert same.projection is None and same.decoder.weight is same.embedding.weight
    untied = lm(hidden=12)
    assert untied.projection is None and untied.decoder.weight is not untied.embedding.weight
    assert untied.decoder.in_features == 12
    n_tied = sum(p.numel() for p in lm(hidden=8, tie_weights=True).parameters())
    n_untied = sum(p.numel() for p in lm(hidden=8).parameters())
    assert n_untied - n_tied == V * 8


@pytest.mark.parametrize("hidden", [8, 12])
def test_tied_weights_round_trip_through_safetensors(tmp_path: Path, hidden: int) -> None:
    model = lm(hidden=hidden, tie_weights=True, seed=1)
    path = save_weights(model, tmp_path / "model.safetensors")
    fresh = lm(hidden=hidden, tie_weights=True, seed=2)
    assert not torch.equal(fresh.embedding.weight, model.embedding.weight)
    load_weights(fresh, path)
    for name, value in model.state_dict().items():
        assert torch.equal(value, fresh.state_dict()[name]), name
    assert fresh.decoder.weight is fresh.embedding.weight, "the tie survives loading"
    ids = stream(12).view(2, 6)
    with torch.no_grad():
        assert torch.equal(model.eval().forward_tokens(ids)[0], fresh.eval().forward_tokens(ids)[0])
    with torch.no_grad():
        fresh.embedding.weight[0, 0] += 1.0
    assert fresh.decoder.weight[0, 0] == fresh.embedding.weight[0, 0]


# --- regularisers -----------------------------------------------------------------------------


def test_ar_and_tar_add_to_the_training_loss() -> None:
    batch = next(iter(StreamBatches(stream(2 * 20), batch_size=2, bptt=8)))
    plain = lm(seed=4).double().train()
    plain_loss, count = plain.forward_loss(batch)
    logits, _, raw, dropped = plain.run(batch.inputs)
    plain_nll = nll(logits, batch.targets)
    assert float(plain_loss.detach()) == pytest.approx(plain_nll, rel=1e-12)
    regularised = lm(seed=4, ar=2.0, tar=1.0).double().train()
    loss, count2 = regularised.forward_loss(batch)
    assert count == count2 == 16
    assert float(loss.detach()) > plain_nll
    ar = 2.0 * float(dropped.detach().pow(2).mean()) * count
    tar = 1.0 * float(raw.detach().diff(dim=1).pow(2).mean()) * count
    assert float(loss.detach()) == pytest.approx(plain_nll + ar + tar, rel=1e-9)
    only_ar, _ = lm(seed=4, ar=2.0).double().train().forward_loss(batch)
    assert plain_nll < float(only_ar.detach()) < float(loss.detach())
    assert float(only_ar.detach()) == pytest.approx(plain_nll + ar, rel=1e-9)


def test_the_batch_scale_weighs_the_training_loss() -> None:
    batches = StreamBatches(stream(2 * 200), batch_size=2, bptt=10, variable=True, seed=0)
    batch = next(b for b in batches if b.scale != 1.0)
    model = lm().double().train()
    loss, _ = model.forward_loss(batch)
    logits, _ = model.forward_tokens(batch.inputs)
    assert float(loss.detach()) == pytest.approx(batch.scale * nll(logits, batch.targets), rel=1e-9)


def test_every_dropout_is_off_in_eval_mode_and_on_in_training() -> None:
    model = lm(
        dropout=0.5, input_dropout=0.3, embedding_dropout=0.2,
        encoder={"layer_dropout": 0.3, "weight_drop": 0.3, "zoneout": 0.2},
    )  # fmt: skip
    ids = stream(24).view(3, 8)
    model.eval()
    with torch.no_grad():
        a, state_a = model.forward_tokens(ids)
        b, state_b = model.forward_tokens(ids)
    assert torch.equal(a, b)
    assert all(torch.equal(x, y) for x, y in zip(flat(state_a), flat(state_b), strict=True))
    model.train()
    with torch.no_grad():
        c, _ = model.forward_tokens(ids)
        d, _ = model.forward_tokens(ids)
    assert not torch.equal(c, d)
    assert not torch.equal(c, a)


# --- the config -------------------------------------------------------------------------------


def test_a_bidirectional_encoder_is_refused_naming_the_flag() -> None:
    with pytest.raises(ValueError, match="--no-bidirectional"):
        LMConfig(encoder=EncoderConfig(bidirectional=True))
    with pytest.raises(ValueError, match="--no-bidirectional"):
        resolve("lm", {"bidirectional": True})


def test_the_lm_encoder_defaults_to_one_direction_and_two_layers() -> None:
    config = resolve("lm", {"hidden_size": 8})
    assert config.model.encoder.bidirectional is False
    assert config.model.encoder.num_layers == 2 and config.model.encoder.hidden_size == 8


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"ar": -1.0}, "ar must be a finite number ≥ 0"),
        ({"tar": float("nan")}, "tar must be a finite number ≥ 0"),
        ({"dropout": 1.0}, r"dropout must be in \[0, 1\)"),
        ({"embedding_dropout": -0.1}, r"embedding_dropout must be in \[0, 1\)"),
        ({"embedding_dim": 0}, "embedding_dim must be ≥ 1"),
    ],
)
def test_lm_config_errors(options: dict[str, Any], message: str) -> None:
    enc = EncoderConfig(bidirectional=False)
    with pytest.raises(ValueError, match=message):
        LMConfig(encoder=enc, **options)


@pytest.mark.parametrize("name", ["batch_size", "bptt", "eval_batch_size", "test_batch_size"])
def test_lm_data_config_errors(name: str) -> None:
    with pytest.raises(ValueError, match=f"{name} must be ≥ 1"):
        settings: dict[str, Any] = {name: 0}
        LMDataConfig(**settings)


# --- end to end -------------------------------------------------------------------------------

WORDS = ["the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "to"]
SMALL: dict[str, Any] = {
    "embedding_dim": 8, "hidden_size": 8, "bptt": 6, "batch_size": 4, "eval_batch_size": 2,
    "lr": 1e-2,
}  # fmt: skip


def write_lines(path: Path, n: int, seed: int) -> Path:
    rng = random.Random(seed)
    lines = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 8))) for _ in range(n)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def lm_config(dataset: str, **extra: Any) -> Any:
    return resolve(get_task("lm"), {**SMALL, "dataset": dataset, **extra}, where="test")


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """One torch thread for a module-scoped fixture (set up before the suite's per-test one)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def word_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    root = tmp_path_factory.mktemp("lm-word")
    path = write_lines(root / "corpus.txt", 80, seed=0)
    config = lm_config(f"text:{path}", epochs=2, val_fraction=0.1, test_fraction=0.1)
    with one_thread():
        train(config, root / "run", progress=False)
    return Run.load(root / "run")


@pytest.fixture(scope="module")
def char_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    root = tmp_path_factory.mktemp("lm-char")
    path = write_lines(root / "corpus.txt", 20, seed=1)
    config = lm_config(f"text:{path}", level="char", epochs=2, bptt=12)
    with one_thread():
        train(config, root / "run", progress=False)
    return Run.load(root / "run")


def test_a_word_run_evaluates_to_perplexity(word_run: Run) -> None:
    result = word_run.evaluate("test")
    assert result.task == "lm" and result.split == "test"
    assert result.main == "perplexity"
    assert result.metrics["perplexity"] == pytest.approx(math.exp(result.metrics["loss"]))
    assert "bpc" not in result.metrics
    assert 1 < result.metrics["perplexity"] < 2 * len(word_run.vocab)
    test_tokens = len(word_run.data().test)
    assert result.examples == result.details["tokens"] == test_tokens - 1  # one row
    saved = json.loads((word_run.path / "eval-test.json").read_text())
    assert saved["main"] == "perplexity" and saved["perplexity"] == result.metrics["perplexity"]
    assert word_run.vocab.specials == (EOS,) and word_run.vocab.pad is None
    history = word_run.history()
    assert len(history) == 2 and all("val_perplexity" in h for h in history)


def test_a_loaded_run_evaluates_as_its_model_does(word_run: Run) -> None:

    ids = encode(word_run.data().val, word_run.vocab)
    metrics = word_run.model.evaluate(StreamBatches(ids, batch_size=1, bptt=5))
    assert word_run.evaluate("val").metrics["loss"] == pytest.approx(metrics["loss"], rel=1e-6)


def test_a_character_run_evaluates_to_bits_per_character(char_run: Run) -> None:
    result = char_run.evaluate("test")
    assert result.main == "bpc"
    assert result.metrics["bpc"] == pytest.approx(result.metrics["loss"] / math.log(2))
    assert "perplexity" not in result.metrics
    assert "characters" in result.table
    assert "\n" in char_run.vocab and char_run.vocab.specials == ()


def test_record_quality_of_an_lm_result_writes_its_metrics(word_run: Run, tmp_path: Path) -> None:
    result = word_run.evaluate("test")
    path = tmp_path / "results" / "quality.jsonl"
    written = record_quality(result, word_run, command="pytest", path=path)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines == written
    assert [line["metric"] for line in lines] == ["perplexity", "loss"]
    assert lines[0]["value"] == round(result.metrics["perplexity"], 4)  # not a percentage
    assert all(line["task"] == "lm" and line["split"] == "test" for line in lines)


def test_record_quality_of_a_character_result_writes_bpc(char_run: Run, tmp_path: Path) -> None:
    result = char_run.evaluate("val")
    lines = record_quality(result, char_run, command="pytest", path=tmp_path / "q.jsonl")
    assert [line["metric"] for line in lines] == ["bpc", "loss"]


def test_a_corpus_without_test_names_the_split_to_evaluate(tmp_path: Path) -> None:
    folder = tmp_path / "shakespeare"
    write_lines(folder / "train.txt", 30, seed=2)
    write_lines(folder / "valid.txt", 6, seed=3)
    config = lm_config(f"text:{folder}", level="char", epochs=1, bptt=10)
    train(config, tmp_path / "run", progress=False)
    run = Run.load(tmp_path / "run")
    with pytest.raises(ValueError, match="has no test split; evaluate --split val"):
        run.evaluate("test")
    assert run.evaluate("val").main == "bpc"


class Interrupt(Callback):
    """Raises in the middle of ``epoch`` (0-based) to simulate a killed run."""

    def __init__(self, epoch: int) -> None:
        self.epoch, self.seen = epoch, 0

    def on_batch_end(self, trainer: Trainer, loss: float) -> None:
        if trainer.state.epoch == self.epoch:
            self.seen += 1
            if self.seen == 2:
                raise KeyboardInterrupt


def test_resume_after_a_kill_ends_with_the_weights_of_an_uninterrupted_run(
    tmp_path: Path,
) -> None:
    path = write_lines(tmp_path / "corpus.txt", 40, seed=4)
    config = lm_config(
        f"text:{path}", epochs=3, dropout=0.3, input_dropout=0.2, variable_bptt=True,
        val_fraction=0.1, test_fraction=0.1,
    )  # fmt: skip
    whole = train(config, tmp_path / "whole", progress=False)
    with pytest.raises(KeyboardInterrupt):
        train(config, tmp_path / "killed", progress=False, callbacks=[Interrupt(epoch=1)])
    saved = load_checkpoint(tmp_path / "killed" / "checkpoint.pt")
    assert saved["train_state"]["epoch"] == 1
    resumed = train(config, tmp_path / "killed", resume=True, progress=False)
    assert resumed.fit is not None and whole.fit is not None
    for name, value in whole.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[name]), name
    assert [h["train_loss"] for h in whole.fit.history] == [
        h["train_loss"] for h in resumed.fit.history
    ]
