"""Work kudos did inside the host's transaction, held until the host commits it.

When a :class:`~kudos.stores.sql.SqlStore` joins the host's ``Connection``,
kudos's writes are the host's to commit or roll back. What must follow a
commit (subscribers told, cached reads outdated) is registered here with
:func:`after_commit` and runs only once the host's transaction committed;
a rollback, of the whole transaction or of a SAVEPOINT the work was done
in, drops it.

SQLAlchemy's ``commit`` event fires *before* the database commits, so a
callback is only marked there and runs at the next sign that the commit
went through: the connection beginning its next transaction, or returning
to the pool. A commit that fails reaches ``handle_error`` first, which drops
the marked callbacks. A transaction the database already rolled back by
itself (PostgreSQL after an error the host caught, SQLite's
``INSERT OR ROLLBACK``) commits nothing: the driver says so at the
``commit`` event, and the callbacks are dropped there.

Between the mark and the run, :func:`committing` tells, per key (kudos uses
the store's identity and the community), that such work may have committed:
a cache that trusts its TTL reads the store instead of serving what it kept.

The state lives in the pooled connection's ``info`` dictionary (one per
database connection, whatever ``Connection`` object wraps it); the
listeners are installed once per engine and cost a dictionary lookup on
connections kudos never joined.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections import Counter
from collections.abc import Callable, Hashable
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.engine import ExceptionContext

__all__ = ["after_commit", "committing", "forget_rolled_back", "has_uncommitted_work"]

log = logging.getLogger("kudos")

_KEY = "kudos_host_transaction"
_UNKNOWN = "?"  # a SAVEPOINT whose name SQLAlchemy did not tell: any rollback drops the work

_engines: weakref.WeakSet[Engine] = weakref.WeakSet()
_committing: Counter[Hashable] = Counter()
_lock = threading.Lock()

_Pending = tuple[tuple[str, ...], Callable[[], object], Hashable]


class _HostTransaction:
    """Callbacks waiting for the host's commit on one database connection."""

    __slots__ = ("committing", "pending")

    def __init__(self) -> None:
        # (the SAVEPOINTs open when the work was done, innermost first; the callback; its key)
        self.pending: list[_Pending] = []
        self.committing: list[tuple[Callable[[], object], Hashable]] = []

    def mark_committing(self) -> None:
        moved = [(callback, key) for _, callback, key in self.pending]
        self.pending.clear()
        self.committing.extend(moved)
        _count(key for _, key in moved)

    def drop_committing(self) -> None:
        dropped, self.committing = self.committing, []
        _count((key for _, key in dropped), -1)

    def run_committed(self) -> None:
        done, self.committing = self.committing, []
        try:
            for callback, _ in done:
                try:
                    callback()
                except Exception:  # the host's commit stands whatever a listener does
                    log.exception("a kudos after-commit callback failed")
        finally:
            _count((key for _, key in done), -1)


def _count(keys: Any, step: int = 1) -> None:
    with _lock:
        for key in keys:
            if key is not None:
                _committing[key] += step
                if _committing[key] <= 0:
                    del _committing[key]


def after_commit(conn: Connection, callback: Callable[[], object], key: Hashable = None) -> None:
    """Run ``callback`` once the host's transaction on ``conn`` committed (never on rollback).

    ``key`` names what the work changed, for :func:`committing`.
    """
    _listen(conn.engine)
    state = conn.info.get(_KEY)
    if state is None:
        state = conn.info[_KEY] = _HostTransaction()
    state.run_committed()  # an earlier commit went through: we are past it
    state.pending.append((_savepoints(conn), callback, key))


def forget_rolled_back(conn: Connection) -> None:
    """Drop what waits for a commit the database can no longer make.

    A host may end the database's transaction behind SQLAlchemy's back (a raw
    ``ROLLBACK``, SQLite's ``INSERT OR ROLLBACK``, an error PostgreSQL aborts
    on) and go on: the work done before is gone. kudos asks the driver before
    each of its units of work in the host's transaction.
    """
    state = _state(conn)
    if state is not None and state.pending and _rolled_back_already(conn):
        state.pending.clear()


def has_uncommitted_work(conn: Connection) -> bool:
    """Whether kudos wrote in the host's transaction on ``conn`` and it has not committed yet."""
    forget_rolled_back(conn)
    state = conn.info.get(_KEY)
    return state is not None and bool(state.pending)


def committing(key: Hashable) -> bool:
    """Whether work under ``key`` was committed by a host and its callbacks have not run yet."""
    return _committing.get(key, 0) > 0


def _savepoints(conn: Connection) -> tuple[str, ...]:
    names: list[str] = []
    nested: Any = conn.get_nested_transaction()
    while nested is not None:
        name = getattr(nested, "_savepoint", None)
        names.append(name if isinstance(name, str) else _UNKNOWN)
        nested = getattr(nested, "_previous_nested", None)
    return tuple(names)


def _state(conn: Connection) -> _HostTransaction | None:
    try:
        state = conn.info.get(_KEY)
    except Exception:  # a closed or invalidated connection has no state to act on
        return None
    return state if isinstance(state, _HostTransaction) else None


def _listen(engine: Engine) -> None:
    if engine in _engines:
        return
    _engines.add(engine)
    event.listen(engine, "commit", _on_commit)
    event.listen(engine, "rollback", _on_rollback)
    event.listen(engine, "rollback_savepoint", _on_rollback_savepoint)
    event.listen(engine, "begin", _on_begin)
    event.listen(engine, "handle_error", _on_error)
    event.listen(engine, "checkin", _on_checkin)


def _rolled_back_already(conn: Connection) -> bool:
    """Whether the database ended the transaction itself: the COMMIT will commit nothing."""
    try:
        driver: Any = conn.connection.driver_connection
    except Exception:
        return False
    info = getattr(driver, "info", None)
    status = getattr(info, "transaction_status", None)  # psycopg 3
    if status is not None:
        return getattr(status, "name", "") in ("INERROR", "IDLE")
    in_transaction = getattr(driver, "in_transaction", None)  # sqlite3
    return in_transaction is False


def _on_commit(conn: Connection) -> None:
    state = _state(conn)
    if state is not None and state.pending:
        if _rolled_back_already(conn):
            state.pending.clear()
        else:
            state.mark_committing()


def _on_rollback(conn: Connection) -> None:
    state = _state(conn)
    if state is not None:
        state.pending.clear()
        state.drop_committing()


def _on_rollback_savepoint(conn: Connection, name: str, _context: object) -> None:
    state = _state(conn)
    if state is not None and state.pending:
        state.pending = [
            item for item in state.pending if name not in item[0] and _UNKNOWN not in item[0]
        ]


def _on_begin(conn: Connection) -> None:
    state = _state(conn)
    if state is not None and state.committing:
        state.run_committed()


def _on_error(context: ExceptionContext) -> None:
    conn = context.connection
    state = _state(conn) if conn is not None else None
    if state is not None:  # only a failed COMMIT can come between the mark and the next begin
        state.drop_committing()


def _on_checkin(_dbapi_connection: object, record: Any) -> None:
    state = record.info.get(_KEY) if record is not None else None
    if isinstance(state, _HostTransaction):
        state.pending.clear()  # returned to the pool uncommitted: rolled back
        state.run_committed()
