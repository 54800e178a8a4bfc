"""The OpenNMT-py side of ``bench_seq2seq.py``: a worker run by its own environment's Python.

OpenNMT-py 3.5 pins torch < 2.3, so it lives apart from rnnkit, in ``.peers/opennmt`` (see
``bench_seq2seq.py`` for the recipe), and imports neither rnnkit nor anything of this repository.
``bench_seq2seq.py`` starts it as a subprocess and drives it with one JSON object per line on its
standard input; it answers each with one JSON line (``{"ok": true, ...}`` or ``{"ok": false,
"error": ...}``). Everything else it or OpenNMT-py prints goes to standard error. Tensors travel
as ``torch.save`` files in the caller's temporary folder (read with ``weights_only=True``).

Commands (``cmd``):

- ``hello``: versions; sets the torch threads (``threads``) and seeds torch (``seed``: its
  dropout masks).
- ``vocab``: the source and target vocabularies, pyonmttok ``Vocab`` objects of the given tokens
  in the given order (so ids are the caller's), the caller's ``<pad> <unk> <bos> <eos>`` under
  OpenNMT-py's names.
- ``build``: one model, by ``name``, from OpenNMT-py's own option parser (the ``onmt_train`` flags
  in ``argv``) and ``onmt.model_builder.build_base_model``, over those vocabularies; its weights
  loaded from ``weights`` (OpenNMT-py names, every parameter), its ``LossCompute.from_opts`` and
  ``Optimizer.from_opt``, and the batches of ``batches`` (training, and the beam batch).
- ``batches``: more batches for a model built before, from the file ``batches`` (a dict of
  lists of batches, or of one batch: ``train``, ``val``, ``test``, ``beam``), each key replacing
  the model's batches of that key (an epoch's training batches, say, one epoch at a time).
- ``train``: ``count`` batches from ``first``, each as ``Trainer._gradient_accumulation`` takes
  one step (accum_count 1, no truncation): zero_grad, forward, ``LossCompute``, loss / tokens,
  ``optim.backward``, ``decoder.detach_state``, ``optim.step`` (clip and Adam). Answers the
  seconds (this process's ``time.perf_counter`` around the loop) and the losses.
- ``validate``: the teacher-forced loss over the batches of ``key`` (default ``val``) after
  ``model.eval()``, without gradients: the negative log-likelihood of every target token,
  ``</s>`` included, no label smoothing (what rnnkit's ``Seq2SeqModel.evaluate`` computes),
  summed; answers the sum, the token count and the seconds.
- ``beam``: the ``Translator``'s ``translate_batch`` on the beam batch (beam search,
  ``GNMTGlobalScorer`` with the given length penalty, ``min_length`` (default 0) and
  ``max_length``), after ``model.eval()``. Answers the seconds, the best hypothesis of every
  sentence (ids without ``</s>``) and the decoder steps.
- ``translate``: the same, batch by batch, for ``count`` batches from ``first`` of the batches of
  ``key`` (default ``test``); answers the seconds (the ``translate_batch`` calls together), the
  best hypotheses of their sentences in batch order, and the decoder steps summed.
- ``parity``: a float64 model without dropout over one batch, its decoder's initial state
  pinned to the given one where one is given (``h0``, ``c0``: the two systems' bridges differ;
  see ``bench_seq2seq.py``), else its own: the
  summed label-smoothed loss by ``LossCompute``'s own criterion on its generator's scores
  (``LossCompute.forward`` casts the scores to float32, so it is also asked, for its rounding),
  the gradients of that loss, saved by name to ``grads``; and the loss with OpenNMT-py's own
  initial state, for information.
- ``quit``.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
import warnings
from typing import Any

warnings.simplefilter("ignore")  # OpenNMT-py 3.5 on torch 2.13: torch.cuda.amp deprecations

import onmt  # noqa: E402
import onmt.opts  # noqa: E402
import pyonmttok  # noqa: E402
import torch  # noqa: E402
from onmt.constants import DefaultTokens  # noqa: E402
from onmt.model_builder import build_base_model  # noqa: E402
from onmt.translate import GNMTGlobalScorer, Translator  # noqa: E402
from onmt.utils.loss import LossCompute  # noqa: E402
from onmt.utils.optimizers import Optimizer  # noqa: E402
from onmt.utils.parse import ArgumentParser  # noqa: E402

# the caller's special tokens (ids 0-3) under OpenNMT-py's names
SPECIALS = {
    "<pad>": DefaultTokens.PAD, "<unk>": DefaultTokens.UNK, "<bos>": DefaultTokens.BOS,
    "<eos>": DefaultTokens.EOS,
}  # fmt: skip


def vocab(tokens: list[str]) -> Any:
    """A pyonmttok vocabulary holding ``tokens`` in this order (id i = the caller's id i)."""
    out = pyonmttok.Vocab(special_tokens=[SPECIALS.get(t, t) for t in tokens])
    out.default_id = out[DefaultTokens.UNK]
    assert len(out) == len(tokens), "duplicate tokens in the vocabulary"
    return out


def options(argv: list[str]) -> Any:
    """``onmt_train``'s model and training options from ``argv``, updated and validated as
    ``onmt_train`` does it."""
    parser = ArgumentParser()
    onmt.opts.model_opts(parser)
    onmt.opts._add_train_general_opts(parser)
    opt, unknown = parser.parse_known_args(argv)
    if unknown:
        raise ValueError(f"OpenNMT-py does not know the options {unknown}")
    ArgumentParser.update_model_opts(opt)
    ArgumentParser.validate_model_opts(opt)
    opt.lambda_coverage = getattr(opt, "lambda_coverage", 0.0)
    return opt


class Peer:
    """One OpenNMT-py model, its loss, optimizer and batches."""

    def __init__(self, request: dict[str, Any], vocabs: dict[str, Any]) -> None:
        self.opt = options(request["argv"])
        self.vocabs = vocabs
        dtype = getattr(torch, request.get("dtype", "float32"))
        self.model = build_base_model(self.opt, vocabs).to(dtype)
        weights = torch.load(request["weights"], weights_only=True)
        missing = set(dict(self.model.named_parameters())) ^ set(weights)
        if missing:
            raise ValueError(f"weights and model differ in {sorted(missing)}")
        # nn.Module's own: BaseModel.load_state_dict reads OpenNMT-py checkpoints
        torch.nn.Module.load_state_dict(self.model, weights, strict=True)
        self.loss = LossCompute.from_opts(self.opt, self.model, vocabs["tgt"])
        self.optim = Optimizer.from_opt(self.model, self.opt)
        self.batches: dict[str, Any] = (
            torch.load(request["batches"], weights_only=True) if request.get("batches") else {}
        )

    def train(self, first: int, count: int) -> dict[str, Any]:
        model, optim, loss_fn = self.model, self.optim, self.loss
        model.train()
        batches = [self._batch(b) for b in self.batches["train"][first : first + count]]
        losses = []
        started = time.perf_counter()
        for batch in batches:  # Trainer._gradient_accumulation, accum_count 1, no trunc_size
            tokens = batch.pop("tokens")
            optim.zero_grad(set_to_none=True)
            model_out, attns = model(batch["src"], batch["tgt"], batch["srclen"], bptt=False)
            loss, _stats = loss_fn(batch, model_out, attns, trunc_start=0,
                                   trunc_size=batch["tgt"].size(1))  # fmt: skip
            loss = loss / tokens
            optim.backward(loss)
            if model.decoder.state != {}:
                model.decoder.detach_state()
            optim.step()
            losses.append(float(loss.detach()))
        seconds = time.perf_counter() - started
        return {"seconds": seconds, "losses": losses}

    def add_batches(self, path: str) -> dict[str, Any]:
        loaded: dict[str, Any] = torch.load(path, weights_only=True)
        self.batches.update(loaded)
        return {key: len(value) for key, value in loaded.items()}

    @torch.no_grad()
    def validate(self, key: str) -> dict[str, Any]:
        """See the module docstring."""
        model = self.model.eval()
        batches = [self._batch(b) for b in self.batches[key]]
        pad = self.vocabs["tgt"][DefaultTokens.PAD]
        total, tokens = 0.0, 0
        started = time.perf_counter()
        for batch in batches:
            tgt = batch["tgt"]
            dec_out, _ = model(batch["src"], tgt, batch["srclen"], bptt=False)
            scores = model.generator(dec_out.reshape(-1, dec_out.size(-1)))
            gold = tgt[:, 1:, 0].reshape(-1)
            total += float(
                torch.nn.functional.cross_entropy(scores, gold, ignore_index=pad, reduction="sum")
            )
            tokens += int(gold.ne(pad).sum())
        seconds = time.perf_counter() - started
        return {"loss_sum": total, "tokens": tokens, "seconds": seconds}

    def beam(self, **how: Any) -> dict[str, Any]:
        seconds, best, steps = self._decode(self.batches["beam"], **how)
        return {"seconds": seconds, "hypotheses": best, "decoder_steps": steps}

    def translate(self, key: str, first: int, count: int, **how: Any) -> dict[str, Any]:
        seconds, hypotheses, steps = 0.0, [], 0
        for source in self.batches[key][first : first + count]:
            s, best, n = self._decode(source, **how)
            seconds, steps = seconds + s, steps + (n or 0)
            hypotheses.extend(best)
        return {
            "seconds": seconds, "hypotheses": hypotheses,
            "decoder_steps": steps if how["count_steps"] else None,
        }  # fmt: skip

    def _decode(
        self, source: dict[str, torch.Tensor], *, beam: int, min_length: int, max_length: int,
        length_penalty: float, count_steps: bool,
    ) -> tuple[float, list[list[int]], int | None]:  # fmt: skip
        """One batch's beam search: (seconds, each sentence's best ids without </s>, steps)."""
        self.model.eval()
        scorer = GNMTGlobalScorer(
            alpha=length_penalty, beta=0.0, length_penalty="avg", coverage_penalty="none"
        )
        translator = Translator(
            self.model, self.vocabs, gpu=-1, n_best=1, beam_size=beam, min_length=min_length,
            max_length=max_length, global_scorer=scorer, report_score=False,
        )  # fmt: skip
        batch = {
            "src": source["src"].unsqueeze(-1), "srclen": source["srclen"],
            "indices": torch.arange(len(source["srclen"])),
        }  # fmt: skip
        steps = [0]

        def count(*_: Any) -> None:
            steps[0] += 1

        hook = self.model.decoder.register_forward_hook(count) if count_steps else None
        try:
            started = time.perf_counter()
            result = translator.translate_batch(batch, attn_debug=False)
            seconds = time.perf_counter() - started
        finally:
            if hook is not None:
                hook.remove()
        eos = self.vocabs["tgt"][DefaultTokens.EOS]
        best = []
        for hypotheses in result["predictions"]:
            ids = [int(i) for i in hypotheses[0].tolist()]
            best.append(ids[:-1] if ids and ids[-1] == eos else ids)
        return seconds, best, steps[0] if count_steps else None

    def parity(self, path: str, grads: str) -> dict[str, Any]:
        """See the module docstring."""
        data = torch.load(path, weights_only=True)
        model = self.model.train()
        batch = self._batch(data["batch"])
        src, tgt, srclen = batch["src"], batch["tgt"], batch["srclen"]
        pinned = (data["h0"], data["c0"]) if "h0" in data else None  # None: its own

        def loss_with(state: tuple[torch.Tensor, torch.Tensor] | None) -> tuple[Any, Any]:
            model.zero_grad(set_to_none=True)
            # NMTModel.forward, the decoder's initial state replaced when one is given
            enc_out, enc_final_hs, src_len = model.encoder(src, srclen)
            model.decoder.init_state(src, enc_out, enc_final_hs)
            if state is not None:
                model.decoder.state["hidden"] = state
            dec_out, attns = model.decoder(tgt[:, :-1], enc_out, src_len=src_len)
            scores = model.generator(dec_out.reshape(-1, dec_out.size(-1)))
            exact = self.loss.criterion(scores, tgt[:, 1:, 0].reshape(-1))
            rounded, _ = self.loss(batch, dec_out, attns, trunc_start=0, trunc_size=tgt.size(1))
            return exact, rounded

        own, _ = loss_with(None)
        exact, rounded = loss_with(pinned)
        exact.backward()
        torch.save({n: p.grad for n, p in model.named_parameters() if p.grad is not None}, grads)
        return {
            "loss": float(exact.detach()), "loss_compute_float32": float(rounded.detach()),
            "loss_own_initial_state": float(own.detach()),
        }  # fmt: skip

    @staticmethod
    def _batch(batch: dict[str, torch.Tensor]) -> dict[str, Any]:
        """The caller's (B, S) and (B, T + 1) ids as OpenNMT-py's batch dict (B, ·, 1)."""
        return {
            "src": batch["src"].unsqueeze(-1), "srclen": batch["srclen"],
            "tgt": batch["tgt"].unsqueeze(-1), "tokens": int(batch["tokens"]),
            "indices": torch.arange(len(batch["srclen"])),
        }  # fmt: skip


def main() -> None:
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # whatever else writes to standard output lands on standard error
    sys.stdout = sys.stderr
    peers: dict[str, Peer] = {}
    vocabs: dict[str, Any] = {}
    for line in sys.stdin:
        request = json.loads(line)
        cmd = request["cmd"]
        try:
            if cmd == "quit":
                replies.write(json.dumps({"ok": True}) + "\n")
                break
            if cmd == "hello":
                torch.set_num_threads(int(request["threads"]))
                torch.manual_seed(int(request["seed"]))  # its dropout masks
                answer: dict[str, Any] = {
                    "torch": torch.__version__, "opennmt_py": onmt.__version__,
                    "python": sys.version.split()[0], "threads": torch.get_num_threads(),
                }  # fmt: skip
            elif cmd == "vocab":
                vocabs = {
                    "src": vocab(request["src"]), "tgt": vocab(request["tgt"]),
                    "decoder_start_token": DefaultTokens.BOS, "data_task": "seq2seq",
                }  # fmt: skip
                answer = {"src": len(vocabs["src"]), "tgt": len(vocabs["tgt"])}
            elif cmd == "build":
                peer = peers[request["name"]] = Peer(request, vocabs)
                answer = {
                    "decoder": type(peer.model.decoder).__name__,
                    "encoder": type(peer.model.encoder).__name__,
                    "parameters": sum(p.numel() for p in peer.model.parameters()),
                    "bridge": bool(peer.opt.bridge), "input_feed": bool(peer.opt.input_feed),
                }  # fmt: skip
            elif cmd == "batches":
                answer = peers[request["name"]].add_batches(request["batches"])
            elif cmd == "train":
                answer = peers[request["name"]].train(request["first"], request["count"])
            elif cmd == "validate":
                answer = peers[request["name"]].validate(request.get("key", "val"))
            elif cmd in ("beam", "translate"):
                how = {
                    "beam": int(request["beam"]), "min_length": int(request.get("min_length", 0)),
                    "max_length": int(request["max_length"]),
                    "length_penalty": float(request["length_penalty"]),
                    "count_steps": bool(request["count_steps"]),
                }  # fmt: skip
                if cmd == "beam":
                    answer = peers[request["name"]].beam(**how)
                else:
                    answer = peers[request["name"]].translate(
                        request.get("key", "test"), int(request["first"]), int(request["count"]),
                        **how,
                    )  # fmt: skip
            elif cmd == "parity":
                answer = peers[request["name"]].parity(request["batch"], request["grads"])
            else:
                raise ValueError(f"unknown command {cmd!r}")
            replies.write(json.dumps({"ok": True, **answer}) + "\n")
        except Exception as error:  # reported to the caller, which stops with it
            traceback.print_exc()
            replies.write(json.dumps({"ok": False, "error": f"{cmd}: {error!r}"}) + "\n")


if __name__ == "__main__":
    main()
