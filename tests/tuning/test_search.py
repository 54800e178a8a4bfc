"""Searches on the synthetic task, small enough to train for real in a fraction of a second per
trial: scores over folds, reproducibility, resuming a stopped or killed search without repeating
a finished trial, worker processes sharing a study, pruning, the results on disk."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import optuna
import pytest
from tuning_helpers import GRID, SYNTHETIC, Scripted, write_search

import rnnkit.tuning.search as search_module
from rnnkit.cli.main import main
from rnnkit.config import read_config_file
from rnnkit.pipelines.runconfig import resolve, to_dict
from rnnkit.tasks.base import get_task
from rnnkit.training import Callback
from rnnkit.tuning import (
    PruningCallback,
    SearchInterrupted,
    SearchSpace,
    TuneOptions,
    TuneResult,
    read_search,
    tune,
)
from rnnkit.tuning.search import Slots
from rnnkit.tuning.storage import WORKER, claim, open_storage, worker_id

RANDOM = """\
[tune]
"model.encoder.hidden_size" = [2, 3, 4]
"trainer.lr" = {low = 1e-3, high = 3e-2, log = true}
"""


def settings(*, epochs: int) -> str:
    return SYNTHETIC.replace("epochs = 2", f"epochs = {epochs}")


def search(
    tmp_path: Path,
    section: str = GRID,
    out: str = "out",
    lines: list[str] | None = None,
    **options: Any,
) -> TuneResult:
    config, space = read_search("synthetic", write_search(tmp_path, section))
    log = lines.append if lines is not None else (lambda line: None)
    return tune(config, space, tmp_path / out, TuneOptions(**options), log=log)


def points(result: TuneResult) -> list[tuple[Any, ...]]:
    """The settings of each complete trial."""
    return [tuple(sorted(r.params.items())) for r in result.trials if r.state == "complete"]


def trained(lines: list[str]) -> list[str]:
    """The numbers of the trials a search's log says it ran."""
    return [line.split()[1] for line in lines if line.startswith("trial ") and " (" in line]


def space_of(tmp_path: Path, section: str) -> SearchSpace:
    return read_search("synthetic", write_search(tmp_path, section))[1]


def test_a_cross_validated_search_scores_each_trial_over_its_folds(tmp_path: Path) -> None:
    lines: list[str] = []
    result = search(tmp_path, sampler="grid", folds=3, pruner="none", lines=lines)
    assert [r.state for r in result.trials] == ["complete"] * 4  # the whole 2 × 2 grid
    assert len(set(points(result))) == 4
    out = tmp_path / "out"
    for row in result.trials:
        assert len(row.scores) == 3 and row.mean == pytest.approx(sum(row.scores) / 3)
        mean = sum(row.scores) / 3
        assert row.std == pytest.approx((sum((s - mean) ** 2 for s in row.scores) / 3) ** 0.5)
        folds = sorted(p.name for p in (out / "trials" / f"{row.number:04d}").iterdir())
        assert folds == ["fold-1", "fold-2", "fold-3"]
    assert result.best == min(result.trials, key=lambda r: r.mean or 0.0)  # mse: minimised
    assert not result.maximize
    assert sum("fold 2/3: val mse" in line for line in lines) == 4  # a line per fold
    assert sum(": val mse " in line and "over 3 folds" in line for line in lines) == 4
    written = {p.name for p in out.iterdir()}
    assert {"trials.csv", "best.toml", "history.png", "settings.png", "report.md"} <= written
    assert "study.db" in written
    header = (out / "trials.csv").read_text().splitlines()[0].split(",")
    assert header == [
        "number", "state", "model.encoder.hidden_size", "model.encoder.cell", "fold_1",
        "fold_2", "fold_3", "mean", "std", "seconds", "note",
    ]  # fmt: skip
    report = (out / "report.md").read_text()
    assert "![optimisation history](history.png)" in report and "| 4 complete |" in report
    assert not list(out.rglob("model.safetensors"))  # each fold's weights go once scored


def test_best_toml_is_the_best_trials_config_and_trains(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = search(tmp_path, sampler="grid", pruner="none", trials=2)
    assert result.best is not None
    path = result.files["best"]
    read = resolve("synthetic", read_config_file(path), where=str(path))
    assert read == result.best_config
    assert read.model.encoder.hidden_size == result.best.params["model.encoder.hidden_size"]
    assert read.model.encoder.cell == result.best.params["model.encoder.cell"]
    assert read.data.seq_len == 5 and read.trainer.epochs == 2  # the rest of the file
    run = tmp_path / "best"
    command = ["train", "synthetic", "--config", str(path), "--out", str(run), "--json"]
    assert main([*command, "--no-progress"]) == 0
    saved = json.loads((run / "config.json").read_text())
    expected = to_dict(get_task("synthetic"), read)
    assert {k: saved[k] for k in ("data", "model")} == {k: expected[k] for k in ("data", "model")}
    # the best trial retrained on the same split: the same kept validation score
    score = json.loads(capsys.readouterr().out)["val_mse"]
    assert score == pytest.approx(result.best.scores[0], rel=1e-6)


@pytest.mark.parametrize("sampler", ["random", "tpe"])
def test_the_same_seed_gives_the_same_trials(tmp_path: Path, sampler: str) -> None:
    first = search(tmp_path, RANDOM, out="a", sampler=sampler, trials=2, seed=7)
    again = search(tmp_path, RANDOM, out="b", sampler=sampler, trials=2, seed=7)
    assert points(first) == points(again) and len(set(points(first))) == 2
    assert [r.scores for r in first.trials] == [r.scores for r in again.trials]
    if sampler == "random":  # another seed, other points (drawn before any trial runs)
        slots = Slots(space_of(tmp_path, RANDOM), TuneOptions(sampler="random", seed=8))
        assert [tuple(sorted(slots.params(i).items())) for i in range(2)] != points(first)


def grid_order(space: SearchSpace, seed: int) -> list[Any]:
    slots = Slots(space, TuneOptions(sampler="grid", seed=seed))
    return [point["model.encoder.hidden_size"] for point in slots.grid or []]


def test_the_grid_order_is_seeded_and_a_smaller_budget_takes_part_of_it(tmp_path: Path) -> None:
    space = space_of(tmp_path, '[tune]\n"model.encoder.hidden_size" = [1, 2, 3, 4, 5, 6]\n')
    orders = [grid_order(space, seed) for seed in range(3)]
    assert all(sorted(order) == [1, 2, 3, 4, 5, 6] for order in orders)
    assert len({tuple(order) for order in orders}) > 1
    assert Slots(space, TuneOptions(sampler="grid", trials=4)).budget == 4
    assert Slots(space, TuneOptions(sampler="grid", trials=40)).budget == 6


class InterruptAt(Callback):
    """Ctrl-C during the ``fit``-th fit (1-based), after its first epoch."""

    def __init__(self, fit: int) -> None:
        self.fit, self.fits = fit, 0

    def on_fit_start(self, trainer: Any) -> None:
        self.fits += 1

    def on_epoch_end(self, trainer: Any, epoch: int, metrics: dict[str, float]) -> None:
        if self.fits == self.fit:
            raise KeyboardInterrupt


def test_an_interrupted_search_resumes_without_repeating_finished_trials(tmp_path: Path) -> None:
    config, space = read_search("synthetic", write_search(tmp_path, GRID))
    out, quiet = tmp_path / "out", (lambda line: None)
    with pytest.raises(SearchInterrupted) as caught:
        tune(config, space, out, TuneOptions(sampler="grid", pruner="none"),
             callbacks=[InterruptAt(3)], log=quiet)  # fmt: skip
    message = str(caught.value)
    assert message.startswith("interrupted after 2 of 4 trials") and "--resume" in message
    assert (out / "trials.csv").is_file()  # the results so far
    with pytest.raises(ValueError, match=r"already exists \(5 trials\); --resume continues it"):
        tune(config, space, out, TuneOptions(sampler="grid"), log=quiet)
    lines: list[str] = []
    options = TuneOptions(sampler="grid", pruner="none", resume=True)
    result = tune(config, space, out, options, log=lines.append)
    states = {r.number: r.state for r in result.trials}
    assert states == {0: "complete", 1: "complete", 2: "interrupted", 3: "complete",
                      4: "complete"}  # fmt: skip
    interrupted, rerun = result.trials[2], result.trials[4]
    assert rerun.params == interrupted.params and "Ctrl-C" in interrupted.note
    assert len(set(points(result))) == 4  # every grid point once
    assert trained(lines) == ["3", "4"]  # trials 0 and 1 were not trained again


def test_a_killed_search_resumes_from_its_sqlite_study(tmp_path: Path) -> None:
    """Both worker processes of a search killed (SIGKILL) once 2 trials have finished: the
    finished ones are kept, the ones they were running are found (their processes are gone),
    marked interrupted and run again; every grid point ends up done once."""
    path = write_search(tmp_path, GRID, settings=settings(epochs=8))
    config, space = read_search("synthetic", path)
    out = tmp_path / "out"
    stopped: list[BaseException] = []

    def run() -> None:
        try:
            tune(config, space, out, TuneOptions(sampler="grid", pruner="none", jobs=2),
                 log=lambda line: None)  # fmt: skip
        except ValueError as exc:  # its workers were killed
            stopped.append(exc)

    searching = threading.Thread(target=run)
    searching.start()
    killed = kill_workers_after(out / "study.db", finished=2)
    searching.join()
    assert killed and stopped and "exit code -9" in str(stopped[0])
    lines: list[str] = []
    options = TuneOptions(sampler="grid", pruner="none", resume=True)
    result = tune(config, space, out, options, log=lines.append)
    done = [r for r in result.trials if r.state == "complete"]
    assert len(done) == 4 and len(set(points(result))) == 4
    finished_before = {r.number for r in done if r.worker != worker_id()}
    assert len(finished_before) >= 2
    assert not set(trained(lines)) & {str(n) for n in finished_before}  # not trained again
    for row in result.trials:
        if row.state == "interrupted":
            assert "was gone" in row.note
            assert any("left running by a process that is gone" in x for x in lines)


def kill_workers_after(db: Path, *, finished: int) -> list[int]:
    """SIGKILL the processes running the study in ``db`` once ``finished`` trials completed."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        time.sleep(0.02)
        if not db.is_file():
            continue
        with contextlib.closing(sqlite3.connect(db, timeout=60)) as connection:
            try:
                complete = connection.execute(
                    "SELECT COUNT(*) FROM trials WHERE state = 'COMPLETE'"
                ).fetchone()[0]
                owners = connection.execute(
                    "SELECT value_json FROM trial_user_attributes WHERE key = ?", (WORKER,)
                ).fetchall()
            except sqlite3.OperationalError:  # the tables are not made yet
                continue
        if complete >= finished:
            pids = {int(json.loads(row[0]).rpartition(":")[2]) for row in owners}
            pids.discard(os.getpid())
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            return sorted(pids)
    return []


def test_a_trial_left_running_by_a_dead_process_runs_again(tmp_path: Path) -> None:
    """A trial whose process is gone (its pid no longer runs) is put back on the next start."""
    search(tmp_path, sampler="grid", trials=2)  # 2 of the 4 grid points done
    url = f"sqlite:///{tmp_path / 'out' / 'study.db'}"
    storage = open_storage(url)
    study = optuna.load_study(study_name="out", storage=storage)
    config, space = read_search("synthetic", write_search(tmp_path, GRID))
    Slots(space, TuneOptions(sampler="grid", trials=3)).lay_out(study, url=url)
    trial = claim(study, storage, budget=3, url=url)  # a process claims slot 2 ...
    assert trial is not None and trial.number == 2
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # ... and dies: its pid no longer runs
    host = worker_id().rpartition(":")[0]
    trial.set_user_attr(WORKER, f"{host}:{gone.pid}")
    lines: list[str] = []
    options = TuneOptions(sampler="grid", trials=3, resume=True)
    result = tune(config, space, tmp_path / "out", options, log=lines.append)
    states = {r.number: r.state for r in result.trials}
    assert states == {0: "complete", 1: "complete", 2: "interrupted", 3: "complete"}
    assert result.trials[2].params == result.trials[3].params
    assert f"process ({host}:{gone.pid}) was gone" in result.trials[2].note
    assert "tune: trial 2 was left running by a process that is gone: it runs again" in lines
    assert trained(lines) == ["3"]


def test_resume_refuses_another_search_and_a_missing_study(tmp_path: Path) -> None:
    search(tmp_path, sampler="grid", trials=1)
    config, space = read_search("synthetic", write_search(tmp_path, RANDOM))
    with pytest.raises(ValueError) as caught:
        tune(config, space, tmp_path / "out", TuneOptions(sampler="random", resume=True))
    message = str(caught.value)
    assert "\n" not in message and "is another search" in message
    assert "space: the study has" in message and "sampler: the study has 'grid'" in message
    config, space = read_search("synthetic", write_search(tmp_path, GRID))
    longer = resolve("synthetic", to_dict(get_task("synthetic"), config), {"trainer.epochs": 3})
    with pytest.raises(ValueError, match=r"trainer\.epochs: the study has 2, given 3"):
        tune(longer, space, tmp_path / "out", TuneOptions(sampler="grid", resume=True))
    with pytest.raises(ValueError, match=r"there is no study 'new' .* leave out --resume"):
        tune(config, space, tmp_path / "new", TuneOptions(resume=True))


def test_a_larger_budget_on_resume_adds_trials(tmp_path: Path) -> None:
    search(tmp_path, RANDOM, sampler="random", trials=2)
    lines: list[str] = []
    result = search(tmp_path, RANDOM, sampler="random", trials=3, resume=True, lines=lines)
    assert [r.state for r in result.trials] == ["complete"] * 3
    assert trained(lines) == ["2"]
    slots = Slots(space_of(tmp_path, RANDOM), TuneOptions(sampler="random", trials=3))
    in_one_go = [tuple(sorted(slots.params(i).items())) for i in range(3)]
    assert points(result) == in_one_go  # each random point is drawn from its own slot's seed


def test_two_processes_share_one_sqlite_study_without_repeating_a_grid_point(
    tmp_path: Path,
) -> None:
    path = write_search(tmp_path, GRID.replace("[2, 4]", "[2, 3, 4]"), settings=settings(epochs=3))
    config, space = read_search("synthetic", path)
    options = TuneOptions(sampler="grid", pruner="none", jobs=2)
    lines: list[str] = []
    result = tune(config, space, tmp_path / "out", options, log=lines.append)
    assert [r.state for r in result.trials] == ["complete"] * 6  # the budget: the 3 × 2 grid
    assert len(set(points(result))) == 6  # no point twice
    assert len(Counter(r.worker for r in result.trials)) == 2  # both processes took part


def test_pruning_stops_a_trial_that_is_clearly_worse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scripted metrics (no training): hidden size 1 scores 5.0 at every epoch, the others 0.1;
    after the median pruner's 5 start-up trials, the bad trial stops at its first epoch."""
    scripted = Scripted(lambda config, epoch: 5.0 if config.model.encoder.hidden_size == 1 else 0.1)
    monkeypatch.setattr(search_module, "train", scripted)
    section = '[tune]\n"model.encoder.hidden_size" = [1, 2, 3, 4, 5, 6, 7, 8]\n'
    config, space = read_search("synthetic", write_search(tmp_path, section))
    seed = next(s for s in range(50) if grid_order(space, s).index(1) >= 6)  # after 6 good ones
    options = TuneOptions(sampler="grid", folds=2, seed=seed)
    result = tune(config, space, tmp_path / "out", options, log=lambda line: None)
    by_size = {r.params["model.encoder.hidden_size"]: r for r in result.trials}
    assert by_size[1].state == "pruned"
    assert by_size[1].note.startswith("pruned at fold 1 epoch 1: val mse 5")
    assert all(r.state == "complete" for size, r in by_size.items() if size != 1)
    assert scripted.calls == 7 * 2 + 1  # the pruned trial trained one fold, one epoch
    assert ",pruned," in (tmp_path / "out" / "trials.csv").read_text()


class Stub:
    """What the pruning callback reads of a Trainer: the monitored metric's name."""

    def __init__(self, monitor: str) -> None:
        self.config = type("Config", (), {"monitor": monitor})()


def test_the_pruning_callback_reports_each_epoch_and_prunes() -> None:
    trainer: Any = Stub("accuracy")
    study = optuna.create_study(
        direction="maximize", pruner=optuna.pruners.MedianPruner(n_startup_trials=2)
    )
    for _ in range(2):  # two good trials: accuracy 0.9 at each epoch, reported from step 3
        trial = study.ask()
        callback = PruningCallback(trial, step_offset=3, where="fold 2")
        for epoch in range(3):
            callback.on_epoch_end(trainer, epoch, {"val_accuracy": 0.9})
        study.tell(trial, 0.9)
        assert sorted(study.trials[-1].intermediate_values) == [3, 4, 5]
    trial = study.ask()
    callback = PruningCallback(trial, step_offset=3, where="fold 2")
    with pytest.raises(optuna.TrialPruned, match=r"pruned at fold 2 epoch 1: val accuracy 0\.1"):
        callback.on_epoch_end(trainer, 0, {"val_accuracy": 0.1})  # clearly worse
    assert callback.pruned_at == "fold 2 epoch 1"
    trial = study.ask()
    callback = PruningCallback(trial, step_offset=3)
    for epoch in range(3):  # as good as the others: never pruned
        callback.on_epoch_end(trainer, epoch, {"val_accuracy": 0.9})
    assert callback.pruned_at is None


def test_the_timeout_starts_no_new_trial(tmp_path: Path) -> None:
    lines: list[str] = []
    result = search(tmp_path, sampler="grid", timeout=0.01, lines=lines)
    assert [r.state for r in result.trials] == ["complete"]
    assert any("--timeout 0.01 s reached" in line for line in lines)


def test_a_trial_whose_settings_cannot_train_fails_and_the_search_goes_on(
    tmp_path: Path,
) -> None:
    section = '[tune]\n"trainer.lr" = [1e-3, 1e30]\n'  # 1e30 overflows the weights
    result = search(tmp_path, section, sampler="grid", pruner="none")
    by_lr = {r.params["trainer.lr"]: r for r in result.trials}
    assert by_lr[1e-3].state == "complete"
    assert by_lr[1e30].state == "failed"
    assert by_lr[1e30].note.startswith("ValueError: Trainer: the training loss became")
    assert result.best is not None and result.best.params["trainer.lr"] == 1e-3
