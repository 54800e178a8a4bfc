"""The translation task: the model's step-by-step decoder equals its whole-sequence one, greedy
and beam search (beam 1 is greedy, the beam's best scores at least as well, batched equals one by
one, n-best is sorted), BLEU on a hand-worked pair, the detokenizer, and a tiny run end to end
with its bad inputs."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import Tensor

from rnnkit.cli.main import main
from rnnkit.metrics.translation import score_translations
from rnnkit.pipelines.run import Run
from rnnkit.tasks.decoding import beam_search, greedy
from rnnkit.tasks.encoder import EncoderConfig
from rnnkit.tasks.seq2seq import DecodeConfig, Seq2SeqConfig, Seq2SeqModel
from rnnkit.tasks.seq2seq_data import EncodedPair, Seq2SeqBatch, Seq2SeqDataConfig, collate_pairs
from rnnkit.text import detokenize, unicode_word_tokenize

F64 = torch.float64
SOURCE_V, TARGET_V, BOS, EOS = 13, 11, 2, 3


def model(**options: Any) -> Seq2SeqModel:
    """A small random float64 model in eval mode (no dropout)."""
    cell = options.pop("cell", "lstm")
    torch.manual_seed(options.pop("seed", 0))
    config = Seq2SeqConfig(
        embedding_dim=6, encoder=EncoderConfig(cell=cell, hidden_size=5),
        decoder=EncoderConfig(cell=cell, hidden_size=7, bidirectional=False), dropout=0.0,
        **options,
    )  # fmt: skip
    return Seq2SeqModel(config, SOURCE_V, TARGET_V, bos=BOS, eos=EOS).double().eval()


def batch(seed: int = 0, sizes: tuple[int, ...] = (5, 3, 4, 1, 6)) -> Seq2SeqBatch:
    rng = random.Random(seed)
    pairs = [
        EncodedPair([rng.randrange(4, SOURCE_V) for _ in range(n)],
                    [rng.randrange(4, TARGET_V) for _ in range(rng.randint(1, 6))])
        for n in sizes
    ]  # fmt: skip
    return collate_pairs(pairs, bos=BOS, eos=EOS)


@torch.no_grad()
def step_by_step(m: Seq2SeqModel, b: Seq2SeqBatch) -> Tensor:
    """Teacher-forced log-probabilities through :meth:`Seq2SeqModel.step`: (B, T, V)."""
    encoded = m.encode(b.source, b.source_lengths)
    state = m.initial_state(encoded)
    steps = []
    for t in range(b.target_in.shape[1]):
        log_probs, state, _ = m.step(b.target_in[:, t], state, encoded)
        steps.append(log_probs)
    return torch.stack(steps, dim=1)


VARIANTS = [
    {"cell": "lstm"},
    {"cell": "gru", "attention": "additive"},
    {"cell": "rnn", "attention": "dot", "bridge": "zeros"},
    {"cell": "lstm", "attention": "none"},
    {"cell": "gru", "input_feeding": True},
    {"cell": "lstm", "tie_embeddings": True},
]


@pytest.mark.parametrize("options", VARIANTS, ids=lambda o: "-".join(map(str, o.values())))
def test_one_step_at_a_time_equals_the_whole_sequence(
    options: dict[str, Any],
) -> None:
    options = dict(options)
    if options.get("attention") == "dot":  # dot needs the decoder's size = the memory's
        options["cell"] = "rnn"
    m = model(**options) if options.get("attention") != "dot" else _dot_model()
    b = batch()
    with torch.no_grad():
        whole = torch.log_softmax(m.teacher_forced(b), dim=-1)
        whole[..., m.never] = float("-inf")  # decoding never produces <pad> or <bos>
        torch.testing.assert_close(whole, step_by_step(m, b), msg="log-probabilities")


def _dot_model() -> Seq2SeqModel:
    torch.manual_seed(0)
    config = Seq2SeqConfig(
        embedding_dim=6, encoder=EncoderConfig(cell="rnn", hidden_size=5),
        decoder=EncoderConfig(cell="rnn", hidden_size=10, bidirectional=False),
        attention="dot", dropout=0.0,
    )  # fmt: skip
    return Seq2SeqModel(config, SOURCE_V, TARGET_V, bos=BOS, eos=EOS).double().eval()


def test_attention_ignores_padding_so_batched_equals_alone() -> None:
    m, b = model(), batch()
    with torch.no_grad():
        together = m.teacher_forced(b)
        for row in range(b.source.shape[0]):
            n = int(b.source_lengths[row])
            alone = Seq2SeqBatch(
                b.source[row : row + 1, :n], b.source_lengths[row : row + 1],
                b.target_in[row : row + 1], b.target_out[row : row + 1],
            )  # fmt: skip
            torch.testing.assert_close(together[row : row + 1], m.teacher_forced(alone))


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_beam_one_is_greedy(cell: str) -> None:
    m, b = model(cell=cell, seed=3), batch(seed=1)
    found = greedy(m, b.source, b.source_lengths, max_len=12)
    beamed = beam_search(m, b.source, b.source_lengths, beam=1, max_len=12)
    assert [h.tokens for h in found] == [hs[0].tokens for hs in beamed]
    assert [h.ended for h in found] == [hs[0].ended for hs in beamed]
    for h, hs in zip(found, beamed, strict=True):
        assert h.score == pytest.approx(hs[0].score, abs=1e-9)


def test_a_hypothesiss_score_is_its_log_probability_under_the_model() -> None:
    m, b = model(seed=2), batch(seed=2)
    for row, hs in enumerate(beam_search(m, b.source, b.source_lengths, beam=4, n_best=3)):
        scores = [h.score for h in hs]
        assert [h.normalized for h in hs] == sorted((h.normalized for h in hs), reverse=True)
        for h, score in zip(hs, scores, strict=True):
            target = h.tokens + ([EOS] if h.ended else [])
            pair = EncodedPair(b.source[row, : int(b.source_lengths[row])].tolist(), target)
            one = collate_pairs([pair], bos=BOS, eos=EOS)
            log_probs = step_by_step(m, one)[0]  # (T, V), T = len(target) + 1
            expected = sum(float(log_probs[t, token]) for t, token in enumerate(target))
            assert score == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("search", ["greedy", "beam"])
def test_batched_decoding_equals_one_sentence_at_a_time(search: str) -> None:
    m, b = model(seed=4, cell="gru"), batch(seed=3)

    def decode(source: Tensor, lengths: Tensor) -> list[list[int]]:
        if search == "greedy":
            return [h.tokens for h in greedy(m, source, lengths, max_len=12)]
        return [hs[0].tokens for hs in beam_search(m, source, lengths, beam=3, max_len=12)]

    together = decode(b.source, b.source_lengths)
    for row in range(b.source.shape[0]):
        n = int(b.source_lengths[row])
        assert decode(b.source[row : row + 1, :n], b.source_lengths[row : row + 1]) == [
            together[row]
        ]


def test_decoding_stops_at_each_sentences_limit() -> None:
    m, b = model(seed=6), batch(seed=0, sizes=(1, 2))
    for hs in beam_search(m, b.source, b.source_lengths, beam=2, max_len=3):
        assert all(len(h.tokens) <= 3 for h in hs)
    for h in greedy(m, b.source, b.source_lengths, max_len=3):
        assert len(h.tokens) + h.ended <= 3


def test_beam_search_checks_its_sizes() -> None:
    m, b = model(), batch()
    with pytest.raises(ValueError, match="n_best ≤ beam"):
        beam_search(m, b.source, b.source_lengths, beam=2, n_best=3)
    with pytest.raises(ValueError, match=r"decode: n_best \(4\) must be ≤ beam \(2\)"):
        DecodeConfig(beam=2, n_best=4)


def test_bleu_on_a_hand_worked_pair() -> None:
    """hyp "the cat sat on the mat today" vs ref "the cat sat on the mat": n-gram precisions
    6/7, 5/6, 4/5, 3/4, no brevity penalty (the hypothesis is longer): BLEU = (3/7)^(1/4)."""
    scores = score_translations(["the cat sat on the mat today"], ["the cat sat on the mat"])
    assert scores.bleu == pytest.approx(100 * (3 / 7) ** 0.25, abs=1e-6)
    assert scores.bleu_lc == pytest.approx(scores.bleu)
    assert "case:mixed" in scores.bleu_signature and "tok:13a" in scores.bleu_signature
    upper = score_translations(["The Cat sat on the mat today"], ["the cat sat on the mat"])
    assert upper.bleu < scores.bleu and upper.bleu_lc == pytest.approx(scores.bleu)
    with pytest.raises(ValueError, match="1 hypotheses for 2 references"):
        score_translations(["a"], ["a", "b"])


def test_tokenizer_and_detokenizer_round_trip_simple_sentences() -> None:
    for text in ["Zwei Männer, im T-Shirt.", "A man (in blue) runs!", "Is it red?"]:
        assert detokenize(unicode_word_tokenize(text)) == text
    assert unicode_word_tokenize("Männer", lower=True) == ["männer"]


def test_decode_config_refuses_nonsense() -> None:
    for bad in ({"beam": 0}, {"max_len": 0}, {"length_penalty": -1.0}, {"batch": 0}):
        with pytest.raises(ValueError, match="decode:"):
            DecodeConfig(**bad)
    with pytest.raises(ValueError, match="decoder writes left to right"):
        Seq2SeqConfig(decoder=EncoderConfig(bidirectional=True))
    with pytest.raises(ValueError, match="attention must be one of additive, dot, general"):
        Seq2SeqConfig(attention="luong")
    with pytest.raises(ValueError, match="src and tgt must differ"):
        Seq2SeqDataConfig(src="en", tgt="en")


# --- a tiny run end to end -------------------------------------------------------------------


@pytest.fixture(scope="module")
def reversal_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run that learned to reverse and upper-case sequences of five words."""
    folder = tmp_path_factory.mktemp("seq2seq")
    rng = random.Random(0)
    words = ["a", "b", "c", "d", "e"]
    lines = []
    for _ in range(300):
        source = [rng.choice(words) for _ in range(rng.randint(1, 5))]
        lines.append(" ".join(source) + "\t" + " ".join(w.upper() for w in reversed(source)))
    (folder / "pairs.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = folder / "run"
    flags = [
        "train", "seq2seq", "--dataset", f"pairs:{folder / 'pairs.tsv'}", "--min-freq", "1",
        "--embedding-dim", "16", "--model.encoder.hidden-size", "16", "--model.decoder.hidden-size",
        "32", "--model.encoder.num-layers", "1", "--dropout", "0", "--label-smoothing", "0",
        "--epochs", "12", "--lr", "0.01", "--batch-size", "16", "--beam", "3", "--no-progress",
        "--threads", "1", "--out", str(out),
    ]  # fmt: skip
    assert main(flags) == 0
    return out


def test_a_tiny_run_learns_and_evaluates_with_bleu(
    reversal_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["evaluate", str(reversal_run), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["task"] == "seq2seq" and result["main"] == "bleu"
    assert result["bleu"] > 80 and result["chrf"] > 60, result
    assert "tok:13a" in result["bleu_signature"]
    assert (reversal_run / "vocab.json").is_file() and (
        reversal_run / "vocab-target.json"
    ).is_file()


def test_the_beams_best_scores_at_least_as_well_as_greedy(reversal_run: Path) -> None:
    """Under the trained model (log-probability, what beam search ranks by with length_penalty
    0), on 60 sentences of 1 to 12 words (longer than any it was trained on, too)."""
    run = Run.load(reversal_run)
    vocab = run.artifacts.vocabs["tokens"]
    rng = random.Random(1)
    sources = [[rng.choice("abcde") for _ in range(rng.randint(1, 12))] for _ in range(60)]
    b = collate_pairs([EncodedPair(vocab.encode(s), []) for s in sources], bos=0, eos=0)
    m = run.model.eval()
    found = greedy(m, b.source, b.source_lengths)
    beamed = beam_search(m, b.source, b.source_lengths, beam=4, length_penalty=0.0)
    for g, hs in zip(found, beamed, strict=True):
        assert hs[0].score >= g.score - 1e-6


def test_translate_streams_one_line_per_line_and_draws_attention(
    reversal_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    picture = tmp_path / "attention.png"
    assert main(["translate", str(reversal_run), "a b c", "--attention", str(picture)]) == 0
    assert capsys.readouterr().out == "C B A\n"
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    lines = tmp_path / "in.txt"
    lines.write_text("a b\n\ne d c b a\n", encoding="utf-8")
    assert main(["translate", str(reversal_run), "--file", str(lines), "--n-best", "2"]) == 0
    captured = capsys.readouterr()
    out = captured.out.split("\n")
    assert out[0].split("\t")[0] == "B A" and out[1] == "" and len(out[0].split("\t")) == 2
    assert out[2].split("\t")[0] == "A B C D E" and out[3] == ""
    assert "line 2 is empty" in captured.err


def test_a_source_longer_than_any_seen_still_translates_within_the_limit(
    reversal_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    long = " ".join(["a", "b", "c", "d", "e"] * 8)  # 40 words; training had at most 5
    assert main(["translate", str(reversal_run), long, "--max-len", "20"]) == 0
    assert 1 <= len(capsys.readouterr().out.split()) <= 20


def test_translate_bad_input_is_one_line(
    reversal_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["translate", str(reversal_run), "  "]) == 1
    assert capsys.readouterr().err == "rnnkit translate: error: translate: sentence 1 is empty\n"
    texts = tmp_path / "texts"
    texts.mkdir()
    for split in ("train", "test"):
        rows = ["text,label"] + [
            f"{'good fine' if i % 2 else 'bad poor'},c{i % 2}" for i in range(12)
        ]
        (texts / f"{split}.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    classifier = tmp_path / "classifier"
    assert main(["train", "classify", "--dataset", f"csv:{texts}", "--min-freq", "1",
                 "--embedding-dim", "4", "--hidden-size", "4", "--epochs", "1", "--no-progress",
                 "--threads", "1", "--out", str(classifier)]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["translate", str(classifier), "a"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is a run of the classify task, not seq2seq" in err


def test_predict_marks_an_empty_sentence_and_translates_the_rest(
    reversal_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["predict", str(reversal_run), "a b", " ", "c", "--json"]) == 0
    predictions = json.loads(capsys.readouterr().out)["predictions"]
    assert [p["translation"] for p in predictions] == ["B A", "", "C"]
    assert predictions[1]["note"] == "empty sentence: not translated"
    assert main(["predict", str(reversal_run), "a b", ""]) == 0
    assert capsys.readouterr().out == "B A\n(empty sentence: not translated)\n"


# --- min_len: no hypothesis ends before it -----------------------------------------------------


def eos_first_model(seed: int = 0, cell: str = "lstm") -> Seq2SeqModel:
    """A small model whose most likely token is <eos> at every step (its output bias)."""
    m = model(seed=seed, cell=cell)
    with torch.no_grad():
        m.generator.bias[EOS] += 50.0
    return m


def test_without_min_len_the_eos_first_model_ends_at_once() -> None:
    m, b = eos_first_model(), batch()
    assert all(h.tokens == [] and h.ended for h in greedy(m, b.source, b.source_lengths))
    for hs in beam_search(m, b.source, b.source_lengths, beam=3, n_best=2):
        assert hs[0].tokens == [] and hs[0].ended


@pytest.mark.parametrize("min_len", [1, 4, 9])
def test_no_hypothesis_ends_before_min_len(min_len: int) -> None:
    m, b = eos_first_model(seed=1), batch(seed=1)
    for h in greedy(m, b.source, b.source_lengths, min_len=min_len):
        assert len(h.tokens) == min_len and h.ended  # <eos> as soon as it is allowed
    for hs in beam_search(m, b.source, b.source_lengths, beam=3, n_best=3, min_len=min_len):
        assert len(hs) == 3
        assert all(len(h.tokens) >= min_len and h.ended for h in hs)


def test_the_limit_wins_over_min_len() -> None:
    m, b = eos_first_model(seed=2), batch(seed=2)
    for h in greedy(m, b.source, b.source_lengths, max_len=5, min_len=8):
        assert len(h.tokens) == 5 and not h.ended
    for hs in beam_search(m, b.source, b.source_lengths, beam=2, max_len=5, min_len=8):
        assert len(hs[0].tokens) == 5 and not hs[0].ended
    # min_len = max_len: every sentence decodes exactly that many steps
    for h in greedy(m, b.source, b.source_lengths, max_len=6, min_len=6):
        assert len(h.tokens) == 6 and not h.ended


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_min_len_zero_changes_nothing(cell: str) -> None:
    m, b = model(seed=5, cell=cell), batch(seed=4)
    plain = beam_search(m, b.source, b.source_lengths, beam=3, n_best=2, max_len=12)
    zero = beam_search(m, b.source, b.source_lengths, beam=3, n_best=2, max_len=12, min_len=0)
    assert plain == zero  # the same tokens, scores, normalised scores and ends
    found = greedy(m, b.source, b.source_lengths, max_len=12)
    assert found == greedy(m, b.source, b.source_lengths, max_len=12, min_len=0)
    # a min_len no greedy hypothesis falls short of changes nothing either
    shortest = min(len(h.tokens) for h in found)
    assert greedy(m, b.source, b.source_lengths, max_len=12, min_len=shortest) == found


@pytest.mark.parametrize("min_len", [0, 3, 7])
def test_greedy_with_min_len_is_beam_one_with_min_len(min_len: int) -> None:
    for m in (eos_first_model(seed=3), model(seed=3, cell="gru")):
        b = batch(seed=5)
        found = greedy(m, b.source, b.source_lengths, max_len=12, min_len=min_len)
        beamed = beam_search(m, b.source, b.source_lengths, beam=1, max_len=12, min_len=min_len)
        assert [h.tokens for h in found] == [hs[0].tokens for hs in beamed]
        assert [h.ended for h in found] == [hs[0].ended for hs in beamed]
        for h, hs in zip(found, beamed, strict=True):
            assert h.score == pytest.approx(hs[0].score, abs=1e-9)


def test_a_negative_min_len_is_one_clear_error() -> None:
    m, b = model(), batch()
    with pytest.raises(ValueError, match=r"^greedy: min_len must be ≥ 0, got -1$"):
        greedy(m, b.source, b.source_lengths, min_len=-1)
    with pytest.raises(ValueError, match=r"^beam_search: min_len must be ≥ 0, got -2$"):
        beam_search(m, b.source, b.source_lengths, min_len=-2)


def _copy_model(cell: str) -> Seq2SeqModel:
    torch.manual_seed(0)
    config = Seq2SeqConfig(
        embedding_dim=6, encoder=EncoderConfig(cell=cell, hidden_size=4, num_layers=2),
        decoder=EncoderConfig(cell=cell, hidden_size=8, num_layers=2, bidirectional=False),
        bridge="copy", dropout=0.0,
    )  # fmt: skip
    return Seq2SeqModel(config, SOURCE_V, TARGET_V, bos=BOS, eos=EOS).double().eval()


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_the_copy_bridge_hands_each_layer_its_encoder_layer_states(cell: str) -> None:
    m, b = _copy_model(cell), batch()
    with torch.no_grad():
        x = m.source_embedding(b.source)
        _, final = m.encoder(x, lengths=b.source_lengths)
        bridged = m.encode(b.source, b.source_lengths).bridged
    finals = final if isinstance(final, tuple) else (final,)
    states = bridged if isinstance(bridged, tuple) else (bridged,)
    assert len(states) == len(finals) == (2 if cell == "lstm" else 1)
    for joined, parts in zip(states, finals, strict=True):
        assert joined is not None and joined.shape == (2, b.source.shape[0], 8)
        for layer in range(2):  # torch's layout: layer 0 forward, layer 0 backward, layer 1 …
            expected = torch.cat([parts[2 * layer], parts[2 * layer + 1]], dim=-1)
            torch.testing.assert_close(joined[layer], expected)
    assert not any(name.startswith("bridge") for name, _ in m.named_parameters())
    encoded = m.encode(b.source, b.source_lengths)
    log_probs, _, _ = m.step(b.target_in[:, 0], m.initial_state(encoded), encoded)
    assert torch.isfinite(log_probs[:, EOS]).all()


@pytest.mark.parametrize(
    ("decoder", "named"),
    [
        ({"hidden_size": 8, "num_layers": 1}, "num_layers 1 (the encoder's: 2)"),
        ({"hidden_size": 4, "num_layers": 2}, "hidden_size 4 (the encoder's states: 8)"),
        ({"hidden_size": 8, "num_layers": 2, "cell": "gru"}, "cell gru (an lstm encoder's states)"),
    ],
)
def test_a_copy_bridge_that_cannot_fit_is_one_line(decoder: dict[str, Any], named: str) -> None:
    with pytest.raises(ValueError, match="bridge copy") as caught:
        Seq2SeqConfig(
            encoder=EncoderConfig(hidden_size=4, num_layers=2),
            decoder=EncoderConfig(bidirectional=False, **decoder),
            bridge="copy",
        )
    assert named in str(caught.value) and "\n" not in str(caught.value)
