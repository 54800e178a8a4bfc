"""Two worker processes on one study in a real PostgreSQL server, started by this module in a
temporary folder on a free port (as the ``postgres`` user where the tests run as root, which
PostgreSQL refuses) and stopped after: the budget finished, no grid point twice. Skipped, with
the reason, where the server cannot start. And threads racing to claim the slots of one study,
in PostgreSQL and in SQLite: each slot claimed once."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from tuning_helpers import GRID, SYNTHETIC, write_search

from rnnkit.tuning import TuneOptions, read_search, tune
from rnnkit.tuning.search import Slots
from rnnkit.tuning.storage import claim, open_storage

BINARIES = ("initdb", "pg_ctl", "postgres")


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found is None and Path(f"/usr/local/bin/{name}").is_file():
        found = f"/usr/local/bin/{name}"
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A running PostgreSQL server's URL (trust authentication on 127.0.0.1), stopped after."""
    paths = {name: _binary(name) for name in BINARIES}
    missing = [name for name, path in paths.items() if path is None]
    if missing:
        pytest.skip(f"PostgreSQL cannot start: {', '.join(missing)} not found")
    try:
        import psycopg  # noqa: F401 - the driver SQLAlchemy uses for postgresql://
    except ImportError:
        pytest.skip("PostgreSQL cannot be used: the driver psycopg is not installed")
    folder = Path(tempfile.mkdtemp(prefix="rnnkit-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:  # postgres refuses to run as root: as its own user
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(folder)
            pytest.skip("PostgreSQL cannot start: running as root and there is no postgres user")
        os.chown(folder, user.pw_uid, user.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", _free_port()

    def run(*command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*run_as, *command], capture_output=True, text=True, timeout=120)

    init = run(str(paths["initdb"]), "-D", str(data), "-A", "trust", "-U", "rnnkit", "--no-sync")
    if init.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        reason = (init.stderr or init.stdout).strip().splitlines()[-1:]
        pytest.skip(f"PostgreSQL cannot start: initdb failed: {' '.join(reason)}")
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    start = run(str(paths["pg_ctl"]), "-D", str(data), "-o", options, "-l",
                str(folder / "server.log"), "-w", "start")  # fmt: skip
    if start.returncode != 0:
        log = (folder / "server.log").read_text(errors="replace").strip().splitlines()[-1:]
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"PostgreSQL cannot start: pg_ctl start failed: {' '.join(log)}")
    try:
        yield f"postgresql://rnnkit@127.0.0.1:{port}/postgres"
    finally:
        run(str(paths["pg_ctl"]), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)


def test_two_processes_share_one_postgresql_study_without_repeating_a_grid_point(
    tmp_path: Path, postgres_url: str
) -> None:
    path = write_search(tmp_path, GRID.replace("[2, 4]", "[2, 3, 4]"),
                        settings=SYNTHETIC.replace("epochs = 2", "epochs = 3"))  # fmt: skip
    config, space = read_search("synthetic", path)
    options = TuneOptions(sampler="grid", pruner="none", jobs=2, storage=postgres_url,
                          study_name="shared")  # fmt: skip
    result = tune(config, space, tmp_path / "out", options, log=lambda line: None)
    assert [r.state for r in result.trials] == ["complete"] * 6
    assert len({tuple(sorted(r.params.items())) for r in result.trials}) == 6
    assert len(Counter(r.worker for r in result.trials)) == 2
    assert result.storage == postgres_url  # no password to hide
    assert not (tmp_path / "out" / "study.db").exists()  # the study is in the server


@pytest.mark.parametrize("where", ["postgresql", "sqlite"])
def test_racing_claims_take_each_slot_once(
    tmp_path: Path, where: str, request: pytest.FixtureRequest
) -> None:
    """Four threads, each with its own connection, claim the slots of one study as fast as they
    can: every slot is claimed exactly once (a row lock on PostgreSQL, a file lock on
    SQLite; SQLite's own transactions would let two claims of one slot through)."""
    import optuna

    url = (request.getfixturevalue("postgres_url") if where == "postgresql"
           else f"sqlite:///{tmp_path / 'race.db'}")  # fmt: skip
    # without the file lock, SQLite lets some of 40 slots be claimed twice, every time
    name, slots = f"race-{where}", 40 if where == "sqlite" else 16
    storage = open_storage(url)
    study = optuna.create_study(study_name=name, storage=storage)
    _, space = read_search("synthetic", write_search(tmp_path, '[tune]\n"trainer.lr" = '
                                                     '{low = 1e-4, high = 1e-1}\n'))  # fmt: skip
    Slots(space, TuneOptions(sampler="random", trials=slots)).lay_out(study, url=url)
    claimed: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        mine = open_storage(url)
        own = optuna.load_study(study_name=name, storage=mine)
        while (trial := claim(own, mine, budget=slots, url=url)) is not None:
            with lock:
                claimed.append(trial.number)
            own.tell(trial, 0.0)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == list(range(slots))
    with contextlib.suppress(Exception):
        storage.engine.dispose()
