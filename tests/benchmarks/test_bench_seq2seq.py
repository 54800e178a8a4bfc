"""``benchmarks/bench_seq2seq.py``'s pieces at tiny sizes: the weights copied to OpenNMT-py's names,
the batches as OpenNMT-py reads them, the options, and (where ``.peers/opennmt`` exists) the
float64 parity check against OpenNMT-py itself, through the worker."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
import torch

from rnnkit.tasks.seq2seq_data import EncodedPair, collate_pairs

ROOT = Path(__file__).resolve().parents[2]
SIZES = {"embedding": 6, "enc_layers": 2, "enc_hidden": 4}
SOURCE, TARGET, BOS, EOS = 23, 29, 2, 3


def load_script() -> ModuleType:
    path = ROOT / "benchmarks" / "bench_seq2seq.py"
    spec = importlib.util.spec_from_file_location("bench_seq2seq", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = load_script()


def pairs(n: int, seed: int = 0) -> list[EncodedPair]:
    """n random pairs of ids ≥ 4 (past the specials), lengths 1–7 and 0–6."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        s, t = (
            int(torch.randint(1, 8, (1,), generator=g)),
            int(torch.randint(0, 7, (1,), generator=g)),
        )
        out.append(
            EncodedPair(
                torch.randint(4, SOURCE, (s,), generator=g).tolist(),
                torch.randint(4, TARGET, (t,), generator=g).tolist(),
            )
        )
    return out


@pytest.mark.parametrize("feeding", [False, True])
def test_every_parameter_but_the_bridge_gets_an_opennmt_name(feeding: bool) -> None:
    model = bench.rnnkit_model(
        SIZES, SOURCE, TARGET, input_feeding=feeding, dropout=0.0, bos=BOS, eos=EOS
    )
    names = bench.opennmt_names(model)  # asserts that it covers every parameter
    assert not any(name.startswith("bridge.") for name in names)
    assert len(set(names.values())) == len(names)
    layer = "decoder.rnn.layers.1.weight_hh" if feeding else "decoder.rnn.weight_hh_l1"
    assert names["decoder.weight_hh_l1"] == layer
    weights = bench.opennmt_weights(model)
    W_a = model.attention.key_proj.weight
    assert torch.equal(weights["decoder.attn.linear_in.weight"], W_a.t())
    assert torch.equal(weights["generator.weight"], model.generator.weight)


def test_the_peer_reads_bos_target_eos() -> None:
    batch = collate_pairs([EncodedPair([5, 6], [7, 8, 9]), EncodedPair([5], [])], bos=BOS, eos=EOS)
    read = bench.peer_batch(batch)
    assert read["tgt"].tolist() == [[BOS, 7, 8, 9, EOS], [BOS, EOS, 0, 0, 0]]
    assert read["srclen"].tolist() == [2, 1] and int(read["tokens"]) == batch.target_tokens == 5


def test_opennmt_options_name_the_same_sizes() -> None:
    argv = bench.opennmt_argv(SIZES, input_feeding=True, dropout=0.3)
    flags = dict(zip(argv[::2], argv[1::2], strict=True))
    assert flags["-enc_hid_size"] == flags["-dec_hid_size"] == "8"  # both directions: 2 × 4
    assert flags["-enc_layers"] == flags["-dec_layers"] == "2"
    assert flags["-input_feed"] == "1" and flags["-global_attention"] == "general"
    assert flags["-label_smoothing"] == "0.1" and flags["-max_grad_norm"] == "1.0"


@pytest.mark.skipif(not bench.PEER_PYTHON.is_file(), reason="no .peers/opennmt environment")
@pytest.mark.parametrize("bridge", ["copy", "linear"])
def test_rnnkit_and_opennmt_compute_the_same_loss_and_gradients(
    tmp_path: Path, bridge: str
) -> None:
    tokens = ["<pad>", "<unk>", "<bos>", "<eos>"]
    peer = bench.Peer(bench.PEER_PYTHON, threads=1)
    try:
        peer.request(
            "vocab",
            src=tokens + [f"s{i}" for i in range(4, SOURCE)],
            tgt=tokens + [f"t{i}" for i in range(4, TARGET)],
        )
        batch = collate_pairs(pairs(5), bos=BOS, eos=EOS)
        report = bench.check_parity(peer, batch, SOURCE, TARGET, BOS, EOS, tmp_path, bridge)
    finally:
        peer.close()
    for key in ("no input feeding", "input feeding"):
        assert report[key]["max_abs_loss_diff"] <= 1e-9 * report[key]["loss_sum"]
        assert report[key]["max_abs_grad"] > 0
