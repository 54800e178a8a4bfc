"""Where a search's study lives, and how its worker processes share it without repeating a trial.

The study is an Optuna study in a database: SQLite in the output folder by default, or any
SQLAlchemy URL Optuna's :class:`~optuna.storages.RDBStorage` takes (``postgresql://…``, so that
processes on several machines share one study).

Every trial a search will run is put in the study before any runs, as a *slot*: a waiting trial
numbered by its ``slot`` attribute, with its parameters fixed where the sampler decides them in
advance (a grid point; a random draw) and left open for TPE. A worker process *claims* a slot by
moving it from waiting to running, which the database does for one process only (a row lock on
PostgreSQL and MySQL; a file lock beside an SQLite file, whose own transactions do not make the
move atomic). So the budget is exact, however many processes share the study, and no grid point
runs twice (Optuna's own grid sampler, verified here with two processes on one SQLite study,
evaluates some points twice and leaves others out).

A slot whose process died while running it (killed, or a machine lost) is found on the next start
on the same machine (the process id it recorded is gone): it is marked failed and put back.
"""

from __future__ import annotations

import contextlib
import functools
import os
import socket
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rnnkit._io import _alive
from rnnkit.training.checkpoint import first_line

if TYPE_CHECKING:
    import optuna

__all__ = [
    "SLOT",
    "TuningUnavailableError",
    "absolute_url",
    "claim",
    "claim_lock",
    "frozen_trial",
    "masked",
    "open_storage",
    "put_back",
    "recover_stale",
    "require_optuna",
    "worker_id",
]

SLOT = "slot"  # user attribute: which slot of the budget a trial fills
WORKER = "worker"  # user attribute: host:pid of the process running it
INTERRUPTED = "interrupted"  # user attribute of a trial stopped by Ctrl-C or a kill, put back
UNMARKED_GRACE_S = 120.0  # a running trial with no worker this long after it started is stale


class TuningUnavailableError(ValueError):
    """Optuna is not installed; the message says what to install."""


def require_optuna() -> Any:
    """The ``optuna`` module, quiet (rnnkit prints its own progress); one clear error saying what
    to install where it is missing."""
    try:
        import optuna
    except ImportError:
        raise TuningUnavailableError(
            "rnnkit tune needs Optuna: pip install 'rnnkit[tune]'"
        ) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def masked(url: str) -> str:
    """``url`` with its password hidden, for messages."""
    try:
        from sqlalchemy.engine import make_url

        return str(make_url(url).render_as_string(hide_password=True))
    except Exception:  # not a URL SQLAlchemy reads: shown as given
        return url


def open_storage(url: str, *, checked: bool = False) -> optuna.storages.RDBStorage:
    """Optuna's storage at ``url`` (tables created where it is new; ``checked``: a worker of a
    search whose first process made and checked them); one line where it cannot be opened (no
    such server, no driver, a folder that does not exist, not a URL)."""
    module = require_optuna()
    from sqlalchemy.exc import SQLAlchemyError

    refused = (SQLAlchemyError, module.exceptions.OptunaError, ImportError, OSError, ValueError)
    path = sqlite_path(url)
    kwargs: dict[str, Any] = {}
    if path is not None and path.parent.is_dir():
        kwargs["creator"] = functools.partial(_sqlite_connection, path)
    try:
        storage: optuna.storages.RDBStorage = module.storages.RDBStorage(
            url, engine_kwargs=kwargs, skip_compatibility_check=checked,
            skip_table_creation=checked,
        )  # fmt: skip
        return storage
    except refused as exc:  # sqlalchemy's, the driver's, Optuna's: one line whichever
        cause = exc.__cause__ or exc
        detail = first_line(cause) or type(cause).__name__
        if isinstance(exc, ImportError):
            driver = "psycopg, in rnnkit[tune]" if url.startswith("postgres") else "its driver"
            detail += f" (the database's Python driver: install {driver})"
        raise ValueError(f"--storage {masked(url)}: cannot open it: {detail}") from None


def _sqlite_connection(path: Path) -> sqlite3.Connection:
    """A connection to the SQLite file ``path`` in write-ahead-log mode with
    ``synchronous=NORMAL``: readers do not wait for writers, a commit does not wait for the disk
    (a trial reports every epoch: 15 ms a commit otherwise), and a process that is killed loses
    nothing it committed (a power cut may lose the last commits, never the file). Other
    processes' writes are waited for up to a minute."""
    connection = sqlite3.connect(path, timeout=60, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    return connection


def absolute_url(url: str) -> str:
    """``url`` with the path of an SQLite file made absolute (worker processes may run from
    another folder)."""
    path = sqlite_path(url)
    if path is None or path.is_absolute():
        return url
    return f"sqlite:///{path.resolve()}"


def sqlite_path(url: str) -> Path | None:
    """The file of an SQLite URL (None: another database, or SQLite in memory)."""
    if not url.startswith("sqlite"):
        return None
    from sqlalchemy.engine import make_url

    database = make_url(url).database
    if not database or database == ":memory:":
        return None
    return Path(database)


@contextlib.contextmanager
def claim_lock(url: str) -> Iterator[None]:
    """Held while slots are claimed, put back or added: a file lock beside an SQLite file (its
    processes are on one machine), nothing for a server database (its row locks do it)."""
    path = sqlite_path(url)
    if path is None:
        yield
        return
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: one process per SQLite study
        yield
        return
    with open(f"{path}.lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def worker_id() -> str:
    """``host:pid`` of this process, as a claimed trial records it."""
    return f"{socket.gethostname()}:{os.getpid()}"


def claim(
    study: optuna.Study, storage: optuna.storages.BaseStorage, *, budget: int, url: str
) -> optuna.Trial | None:
    """Move the first waiting slot below ``budget`` of ``study`` (in ``storage``, as
    :func:`open_storage` opened it) to running, for this process only, and return it as a
    trial; None when no slot is left."""
    import optuna

    study_id = storage.get_study_id_from_name(study.study_name)
    with claim_lock(url):
        waiting = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.WAITING,))
        for frozen in sorted(waiting, key=lambda t: t.number):
            if int(frozen.user_attrs.get(SLOT, 0)) >= budget:
                continue
            trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, frozen.number)
            try:
                won = storage.set_trial_state_values(
                    trial_id, state=optuna.trial.TrialState.RUNNING
                )
            except optuna.exceptions.UpdateFinishedTrialError:
                continue
            if won:
                storage.set_trial_user_attr(trial_id, WORKER, worker_id())
                return optuna.trial.Trial(study, trial_id)
    return None


def frozen_trial(
    study: optuna.Study, storage: optuna.storages.BaseStorage, number: int
) -> optuna.trial.FrozenTrial:
    """Trial ``number`` of ``study`` as the storage holds it now."""
    study_id = storage.get_study_id_from_name(study.study_name)
    return storage.get_trial(storage.get_trial_id_from_study_id_trial_number(study_id, number))


def put_back(
    study: optuna.Study,
    storage: optuna.storages.BaseStorage,
    frozen: optuna.trial.FrozenTrial,
    *,
    url: str,
    why: str,
) -> None:
    """Fail a trial that was stopped, not finished (Ctrl-C, its process killed), and put its
    slot back with the same fixed parameters, so that it runs again in full."""
    import optuna

    study_id = storage.get_study_id_from_name(study.study_name)
    trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, frozen.number)
    with claim_lock(url):
        try:  # the reason first: a finished trial takes no attribute
            storage.set_trial_user_attr(trial_id, INTERRUPTED, why)
            storage.set_trial_state_values(trial_id, state=optuna.trial.TrialState.FAIL)
        except optuna.exceptions.UpdateFinishedTrialError:
            return  # it finished after all (Ctrl-C came after its result was told)
        params = dict(frozen.system_attrs.get("fixed_params", {}))
        study.enqueue_trial(params, user_attrs={SLOT: frozen.user_attrs.get(SLOT, 0)})


def recover_stale(
    study: optuna.Study, storage: optuna.storages.BaseStorage, *, url: str
) -> list[int]:
    """Put back the running trials whose process is gone: one of this machine whose process id
    no longer runs, or one that never recorded its process (killed as it claimed the slot) long
    after it started. The numbers of the trials put back."""
    import optuna

    host = socket.gethostname()
    found = []
    running = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
    for frozen in running:
        owner = str(frozen.user_attrs.get(WORKER, ""))
        name, _, pid = owner.rpartition(":")
        if owner:
            stale = name == host and pid.isdigit() and not _alive(int(pid))
        else:
            started = frozen.datetime_start.timestamp() if frozen.datetime_start else 0.0
            stale = time.time() - started > UNMARKED_GRACE_S
        if stale:
            put_back(
                study, storage, frozen, url=url, why=f"its process ({owner or 'unknown'}) was gone"
            )
            found.append(frozen.number)
    return found
