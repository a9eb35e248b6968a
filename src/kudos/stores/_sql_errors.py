"""The one place where database driver errors become kudos errors."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc as sa_exc

from ..errors import Conflict, KudosError, StoreError, TransientStoreError

__all__ = ["translate_errors", "translated"]

# SQLSTATEs after which running the transaction again may succeed.
_TRANSIENT_SQLSTATES = {
    "40001": "a serialization failure",
    "40P01": "a deadlock",
    "55P03": "a lock it could not take in time (another session held it past lock_timeout)",
    "57014": "a statement cancelled (statement_timeout, or a cancel request)",
}
# Failures to reach the server at all (libpq's words, which carry no SQLSTATE), and the
# server's refusals that pass: connecting again later may succeed.
_UNREACHABLE = (
    "connection refused",
    "could not connect",
    "connection timed out",
    "timeout expired",
    "no route to host",
    "network is unreachable",
    "temporary failure in name resolution",
    "server closed the connection",
    "too many clients",
    "remaining connection slots are reserved",
    "the database system is starting up",
    "the database system is shutting down",
    "the database system is in recovery mode",
)
_SQLITE_BUSY = ("database is locked", "database table is locked", "database schema is locked")


def _first_line(exc: BaseException | None) -> str:
    text = str(exc) if exc is not None else ""
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def translated(exc: sa_exc.SQLAlchemyError | sqlite3.Error, doing: str) -> KudosError:
    """The kudos error a SQLAlchemy (or SQLite driver) error stands for, and what to do.

    * unique or check constraint broken: :class:`~kudos.Conflict`;
    * deadlock, serialization failure, a lock or statement timeout, SQLite busy, a lost
      connection or a server that could not be reached (refused, down, restarting, out of
      connection slots): :class:`~kudos.TransientStoreError` (``Community`` retries these);
    * anything else: :class:`~kudos.StoreError`.
    """
    if isinstance(exc, sa_exc.DBAPIError | sqlite3.Error):
        # SQLite's write path runs on the driver's cursor (see _sql_hot), so its
        # errors arrive unwrapped.
        orig = exc.orig if isinstance(exc, sa_exc.DBAPIError) else exc
        detail = _first_line(orig)
        sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
        if sqlstate in _TRANSIENT_SQLSTATES:
            return TransientStoreError(
                f"{doing} hit {_TRANSIENT_SQLSTATES[sqlstate]} ({detail}); "
                "nothing was written, run it again"
            )
        if any(busy in detail for busy in _SQLITE_BUSY):
            return TransientStoreError(
                f"{doing}: the SQLite database stayed locked by another writer ({detail}); "
                "nothing was written, run it again (or raise the busy timeout)"
            )
        if isinstance(exc, sa_exc.OperationalError) and any(
            words in detail.lower() for words in _UNREACHABLE
        ):
            return TransientStoreError(
                f"{doing}: the database could not be reached ({detail}); "
                "nothing was written, run it again"
            )
        if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
            return TransientStoreError(
                f"{doing}: the database connection was lost ({detail}); "
                "nothing was written, run it again"
            )
        if isinstance(exc, sa_exc.IntegrityError | sqlite3.IntegrityError):
            return Conflict(
                f"{doing}: the database refused a duplicate or invalid row ({detail}); "
                "each event, ledger entry and document key must be unique per community"
            )
        return StoreError(f"{doing} failed in the database: {detail}")
    if isinstance(exc, sa_exc.StatementError):
        detail = _first_line(exc.orig)
        hint = (
            "; document, payload and notification data must be JSON (str, int, bool, None, "
            "lists, dicts)"
            if isinstance(exc.orig, TypeError | ValueError)
            else ""
        )
        return StoreError(f"{doing}: a value could not be sent to the database ({detail}){hint}")
    return StoreError(f"{doing} failed: {_first_line(exc)}")


@contextmanager
def translate_errors(doing: str) -> Iterator[None]:
    """Raise SQLAlchemy's errors inside the block as kudos errors (see :func:`translated`).

    ``doing`` completes a sentence: ``"recording in community 'uk'"``.
    """
    try:
        yield
    except (sa_exc.SQLAlchemyError, sqlite3.Error) as exc:
        raise translated(exc, doing) from exc
