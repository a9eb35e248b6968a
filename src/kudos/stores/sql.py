"""SqlStore: kudos in a SQL database (SQLite or PostgreSQL) through SQLAlchemy 2.0 Core.

Three ways to plug it in:

* ``SqlStore.from_url("sqlite:///community.db")``: kudos makes and owns the
  engine and creates its tables (``kudos.open(url)`` does this);
* ``SqlStore(engine)``: your engine; kudos begins and commits one transaction
  per :meth:`~SqlStore.transaction`;
* ``SqlStore(connection)``: your connection, inside your transaction; kudos
  works in a SAVEPOINT and never commits, so your write and its award commit
  (or roll back) together.

The tables live on :data:`metadata` (prefix ``kudos_``); :func:`make_metadata`
builds them afresh under another prefix or schema. Add either to your Alembic
``target_metadata`` (with :func:`render_item` as its ``render_item``, so that
generated migrations run as they are), or call :meth:`SqlStore.create_all` once.

>>> import kudos
>>> store = SqlStore.from_url("sqlite://")          # in memory, for the example
>>> community = kudos.Community(store=store)
>>> community.join("alice").id
'alice'
>>> list(store.communities())
['default']
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sqlite3
import threading
import weakref
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    MetaData,
    create_engine,
    event,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.schema import CreateSchema

from ..errors import InvalidInput, StoreError, TransientStoreError
from . import _sql_layout, _sql_search
from ._sql_alembic import process_revision_directives, render_item
from ._sql_errors import translate_errors
from ._sql_host import after_commit as after_commit_of
from ._sql_host import committing, forget_rolled_back, has_uncommitted_work
from ._sql_hot import CoreRunner, SqliteRunner, SqliteSql, Statements, version_keys
from ._sql_schema import NAMING_CONVENTION, SCHEMA_VERSION, Tables, make_metadata, missing
from ._sql_search import include_name
from ._sql_tx import LockBusy, Queries, SharedCache, SqlTransaction, lock_id

__all__ = [
    "NAMING_CONVENTION",
    "SCHEMA_VERSION",
    "SQLITE_ANALYZE_EVERY",
    "SQLITE_BUSY_TIMEOUT_MS",
    "SqlStore",
    "SqlTransaction",
    "Tables",
    "configure_sqlite",
    "include_name",
    "make_metadata",
    "metadata",
    "process_revision_directives",
    "render_item",
]

metadata: MetaData = make_metadata()
"""kudos's tables with the default prefix ``kudos_`` and no schema.

For Alembic: ``target_metadata = [app_metadata, kudos.stores.sql.metadata]``.
"""
_DEFAULT_METADATA = metadata

SQLITE_BUSY_TIMEOUT_MS = 10_000
"""How long a kudos SQLite connection waits for another writer before giving up."""

SQLITE_ANALYZE_EVERY = 5_000
"""Events a process appends to an SQLite store between two refreshes of its statistics.

SQLite's query planner needs statistics (``ANALYZE``) to tell a member's
counters from a whole board; without them a ``standing()`` reads every
counter of the community. :meth:`SqlStore.optimize` gathers them (sampling at
most ``PRAGMA analysis_limit`` rows per index, a few milliseconds); a store
on an engine runs it after every this many events it appended, counting the
events already there when it first finds the tables without statistics."""

_ANALYSIS_LIMIT = 1000

_DIALECTS = ("sqlite", "postgresql")

# Built once per process and shared by every store on the same tables: a SqlStore made
# per request costs a few dictionary lookups, not a compilation of its statements.
_Prepared = tuple[Statements, Queries, SqliteSql | None]
_prepared: weakref.WeakKeyDictionary[MetaData, dict[tuple[str, str, str], _Prepared]] = (
    weakref.WeakKeyDictionary()
)
_metadatas: dict[tuple[str | None, str], MetaData] = {}
_engine_ids: weakref.WeakKeyDictionary[Engine, int] = weakref.WeakKeyDictionary()
_data_keys: weakref.WeakKeyDictionary[Engine, dict[str, Hashable]] = weakref.WeakKeyDictionary()
# Per SQLite engine and tables: events appended since the statistics were last gathered
# (None: not looked at yet in this process).
_unanalyzed: weakref.WeakKeyDictionary[Engine, dict[str, int]] = weakref.WeakKeyDictionary()
_next_engine_id = itertools.count(1)

# Engines whose pools hand a forked process connections of its own (see _fork_safe).
_fork_safe_engines: weakref.WeakSet[Engine] = weakref.WeakSet()
_PID = "kudos_pid"


def _fork_safe(engine: Engine) -> None:
    """Make ``engine``'s pool give a process only connections it opened itself.

    A process forked after the engine connected (``gunicorn --preload``, a
    multiprocessing pool forked from the app) would otherwise check out its
    parent's open connections: two processes on one socket read each other's
    results or hang. A connection checked out in another process than the one that
    opened it is dropped from the pool, without closing the parent's socket, and a
    new one opened (SQLAlchemy's recipe for pools and ``os.fork()``). Idempotent.
    """
    if engine in _fork_safe_engines:
        return
    _fork_safe_engines.add(engine)

    @event.listens_for(engine, "connect")
    def _opened(dbapi_connection: Any, record: Any) -> None:
        record.info[_PID] = os.getpid()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        pid = os.getpid()
        opened = record.info.setdefault(_PID, pid)
        if opened != pid:
            record.dbapi_connection = proxy.dbapi_connection = None
            raise sa_exc.DisconnectionError(
                f"connection opened in process {opened}, checked out in process {pid}"
            )


def _prepare(metadata: MetaData, dialect: Any) -> _Prepared:
    """The statements of ``metadata``'s tables for ``dialect`` (built on first use)."""
    by_dialect = _prepared.get(metadata)
    if by_dialect is None:
        by_dialect = _prepared[metadata] = {}
    key = (dialect.name, str(dialect.driver), str(dialect.paramstyle))
    found = by_dialect.get(key)
    if found is None:
        tables = Tables.of(metadata)
        sql = Statements(tables, dialect.name)
        sqlite_sql = SqliteSql(sql, dialect) if dialect.name == "sqlite" else None
        found = by_dialect[key] = (sql, Queries(tables), sqlite_sql)
    return found


def _metadata_for(schema: str | None, prefix: str) -> MetaData:
    """One :func:`make_metadata` per (schema, prefix) for the stores that name no metadata."""
    key = (schema, prefix)
    found = _metadatas.get(key)
    if found is None:
        found = _metadatas[key] = make_metadata(schema=schema, prefix=prefix)
    return found


def _identity(engine: Engine, tables: Tables) -> Hashable:
    """Which data a store is on: equal for the stores on one engine and the same tables.

    The engine, not its URL: two engines on one URL may see different data
    (a ``search_path`` or ``schema_translate_map`` per tenant, an in-memory
    SQLite database each), so each has results of its own. A write through any
    engine on the same URL still outdates them in this process (see
    :func:`_data_key`).
    """
    number = _engine_ids.get(engine)
    if number is None:
        number = _engine_ids[engine] = next(_next_engine_id)
    return ("sql", number, tables.events.fullname)


def _data_key(engine: Engine, tables: Tables) -> Hashable:
    """The URL (no password) and tables: engines on it may see each other's writes.

    Worked out once per engine and tables (a store may be made per request, and the
    SQLite path is resolved on the file system).
    """
    known = _data_keys.setdefault(engine, {})
    found = known.get(tables.events.fullname)
    if found is None:
        found = known[tables.events.fullname] = _data_key_of(engine, tables)
    return found


def _data_key_of(engine: Engine, tables: Tables) -> Hashable:
    url = engine.url
    database = url.database or ""
    if url.get_backend_name() == "sqlite" and (
        database in ("", ":memory:") or "mode=memory" in database
    ):
        return _identity(engine, tables)  # an in-memory database is its engine's alone
    if url.get_backend_name() == "sqlite":
        database = str(Path(database).resolve())  # one file, however its path is spelled
        url = url.set(database=database)
    return ("sql-data", url.render_as_string(hide_password=True), tables.events.fullname)


READ_ONLY = "kudos_read_only"
"""The execution option a kudos read sets on its connection: begin a deferred transaction."""


def configure_sqlite(engine: Engine, *, immediate: bool = False) -> Engine:
    """Make a SQLite engine begin transactions when SQLAlchemy does, as kudos needs.

    Python's ``sqlite3`` driver, left to itself, begins a transaction only at a
    connection's first write. Then a ``conn.begin_nested()`` that comes first
    becomes the outermost transaction, and releasing that SAVEPOINT commits:
    a rollback of your transaction afterwards takes nothing back, kudos's
    awards included. This applies SQLAlchemy's documented cure, once per
    engine, before it connects: the driver leaves transactions alone and each
    one begins with a ``BEGIN`` of its own. It also sets WAL (readers and a
    writer do not block each other), a busy timeout of
    :data:`SQLITE_BUSY_TIMEOUT_MS`, and temporary storage in memory (where
    SQLite keeps a SAVEPOINT's journal: half the cost of kudos's work in your
    transaction).

    Args:
        engine: a SQLite engine that has not connected yet (new connections
            get the settings; ``engine.dispose()`` first if it has).
        immediate: begin every transaction with ``BEGIN IMMEDIATE`` (take
            the write lock at once, as kudos's own engines do) rather than a
            deferred ``BEGIN``. kudos's read-only work begins deferred anyway.

    Returns:
        The same engine.

    Raises:
        InvalidInput: ``engine`` is not a SQLite engine.

    >>> from sqlalchemy import create_engine
    >>> engine = configure_sqlite(create_engine("sqlite://"))
    """
    if not isinstance(engine, Engine) or engine.dialect.name != "sqlite":
        raise InvalidInput(f"configure_sqlite() takes a SQLite engine, got {engine!r}")
    begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # transactions begin below, not in the driver
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        # Straight to the driver: this runs once per transaction, on the write path.
        reading = connection.get_execution_options().get(READ_ONLY)
        connection.connection.driver_connection.execute("BEGIN" if reading else begin)  # type: ignore[union-attr]

    return engine


def _missing_table(exc: Exception) -> bool:
    """Whether the database said a table does not exist (SQLite or PostgreSQL)."""
    orig = getattr(exc, "orig", exc)
    return getattr(orig, "sqlstate", None) == "42P01" or "no such table" in str(orig)


def _require_transaction(conn: Connection) -> None:
    """Refuse a joined connection with no transaction: kudos would begin one nobody commits.

    Raises:
        InvalidInput: ``conn`` is not in a transaction.
    """
    if conn.closed:
        raise InvalidInput(
            "this SqlStore joins a Connection that is closed (its 'with' block ended?); "
            "build the SqlStore and the Community per request, inside the block"
        )
    if not conn.in_transaction():
        raise InvalidInput(
            "this SqlStore joins your Connection, which has no transaction begun: kudos "
            "never begins (or commits) one for you; open it with 'with engine.begin() as "
            "conn:' (or call conn.begin() first), or give SqlStore the Engine instead"
        )
    if conn.dialect.name == "postgresql" and getattr(
        conn.connection.driver_connection, "autocommit", False
    ):
        raise InvalidInput(
            "this SqlStore joins a Connection in AUTOCOMMIT mode, where there is no "
            "transaction to join: use a connection with the default isolation level (drop "
            "isolation_level='AUTOCOMMIT'), or give SqlStore the Engine instead"
        )


def _sqlite_file_url(url: URL) -> URL:
    """``url`` with a relative SQLite path made absolute (from the current directory).

    Raises:
        StoreError: the database file's directory does not exist.
    """
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return url
    path = Path(database).expanduser()
    if not path.is_absolute():
        path = Path.cwd() / path
    if not path.parent.is_dir():
        raise StoreError(
            f"cannot open SQLite database {str(path)!r}: directory {str(path.parent)!r} "
            "does not exist; create it first or give another path"
        )
    return url.set(database=str(path))


class SqlStore:
    """A :class:`~kudos.Store` in SQLite or PostgreSQL, via SQLAlchemy 2.0 Core.

    Args:
        bind: an ``Engine`` (kudos begins and commits a transaction per unit of
            work) or a ``Connection`` (kudos joins the transaction in progress
            through a SAVEPOINT and never commits it: you do).
        prefix: table name prefix (default ``"kudos_"``).
        schema: database schema of the tables (PostgreSQL), default none.
        metadata: tables made by :func:`make_metadata`, instead of ``prefix``/``schema``.

    kudos never creates tables behind your back: call :meth:`create_all` once
    (or migrate with Alembic), and it never disposes of your engine.

    Attributes:
        dialect: ``"sqlite"`` or ``"postgresql"``.
        metadata: the ``MetaData`` holding this store's tables.
        tables: this store's ``Table`` objects (``tables.events``, ``tables.ledger``, ...).

    Raises:
        InvalidInput: ``bind`` is neither an engine nor a connection, its
            database is not SQLite or PostgreSQL, or options clash.

    >>> from sqlalchemy import create_engine
    >>> store = SqlStore(create_engine("sqlite://"), prefix="forum_kudos_")
    >>> store.create_all()
    >>> store.tables.events.name
    'forum_kudos_events'
    """

    def __init__(
        self,
        bind: Engine | Connection,
        *,
        prefix: str | None = None,
        schema: str | None = None,
        metadata: MetaData | None = None,
    ) -> None:
        if isinstance(bind, Engine):
            self._engine: Engine | None = bind
            self._connection: Connection | None = None
            _fork_safe(bind)
        elif isinstance(bind, Connection):
            self._engine, self._connection = None, bind
        else:
            hint = (
                "for an ORM Session pass session.connection()"
                if callable(getattr(bind, "connection", None))
                else "for a URL use SqlStore.from_url(url)"
            )
            raise InvalidInput(
                f"SqlStore takes a SQLAlchemy Engine or Connection, got {type(bind).__name__}; "
                f"{hint}"
            )
        self.dialect: str = bind.dialect.name
        if self.dialect not in _DIALECTS:
            raise InvalidInput(
                f"SqlStore supports SQLite and PostgreSQL, not {self.dialect!r}; "
                "write your own store for it (see kudos.testing.conformance)"
            )
        if metadata is not None:
            if prefix is not None or schema is not None:
                raise InvalidInput("pass either metadata= or prefix=/schema=, not both")
        elif prefix is None and schema is None:
            metadata = _DEFAULT_METADATA
        else:
            metadata = _metadata_for(schema, "kudos_" if prefix is None else prefix)
        assert metadata is not None
        self.metadata: MetaData = metadata
        self._sql, self._queries, self._sqlite_sql = _prepare(metadata, bind.dialect)
        self.tables: Tables = self._sql.tables
        self.identity: Hashable = _identity(bind.engine, self.tables)
        """Equal for the stores on the same engine and tables (the read cache's key)."""
        self.data_key: Hashable = _data_key(bind.engine, self.tables)
        """Equal for the stores that may share data (one URL and tables, whatever the engine):
        a write through one outdates the others' cached results in this process."""
        self._owns_engine = False
        self._schema_checked = False
        # Off only to show, in kudos's own tests, what the community write lock prevents.
        self._write_lock = True
        self._hints = threading.local()

    @classmethod
    def from_url(
        cls,
        url: str | URL,
        *,
        create: bool = True,
        prefix: str | None = None,
        schema: str | None = None,
        metadata: MetaData | None = None,
        **engine_options: Any,
    ) -> SqlStore:
        """A store on a new engine for ``url``, which the store owns (see :meth:`close`).

        SQLite files are opened in WAL mode with a busy timeout, and every
        transaction begins with ``BEGIN IMMEDIATE`` so writers queue instead of
        failing. A relative SQLite path is taken from the current directory.
        ``postgresql://`` URLs use the psycopg 3 driver.

        Args:
            url: ``"sqlite:///community.db"``, ``"sqlite://"`` (memory),
                ``"postgresql+psycopg://user:password@host/db"``.
            create: create the tables (if missing) now.
            prefix, schema, metadata: as for :class:`SqlStore`.
            engine_options: passed to ``sqlalchemy.create_engine``.

        Raises:
            InvalidInput: not a database URL.
            StoreError: the driver is missing or the database cannot be reached.
        """
        try:
            parsed = make_url(url)
        except sa_exc.ArgumentError as exc:
            raise InvalidInput(
                f"{url!r} is not a database URL; use e.g. 'sqlite:///community.db' or "
                "'postgresql+psycopg://user:password@host/db'"
            ) from exc
        backend = parsed.get_backend_name()
        if backend == "sqlite":
            parsed = _sqlite_file_url(parsed)
        elif parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        try:
            engine = create_engine(parsed, **engine_options)
        except ImportError as exc:
            raise StoreError(
                f"the database driver for {parsed.drivername!r} is not installed ({exc}); "
                "for PostgreSQL: pip install 'kudos-community[postgres]'"
            ) from exc
        except sa_exc.SQLAlchemyError as exc:
            raise InvalidInput(f"cannot use database URL {url!r}: {exc}") from exc
        except TypeError as exc:
            raise InvalidInput(f"bad engine option for {url!r}: {exc}") from exc
        if backend == "sqlite":
            configure_sqlite(engine, immediate=True)
        try:
            store = cls(engine, prefix=prefix, schema=schema, metadata=metadata)
            store._owns_engine = True
            if create:
                store.create_all()
        except BaseException:
            engine.dispose()
            raise
        return store

    def __repr__(self) -> str:
        bind = self._engine if self._engine is not None else self._connection
        assert bind is not None
        url = (bind.engine if isinstance(bind, Connection) else bind).url
        how = "connection" if self._connection is not None else "engine"
        tables = self.tables.events.fullname.removesuffix("events")
        return f"SqlStore({url.render_as_string(hide_password=True)!r}, {how}, tables={tables!r})"

    @property
    def engine(self) -> Engine:
        """The engine under this store (your connection's, for a joined connection)."""
        if self._engine is not None:
            return self._engine
        assert self._connection is not None
        return self._connection.engine

    def close(self) -> None:
        """Dispose of the engine if :meth:`from_url` made it; otherwise do nothing."""
        if self._owns_engine and self._engine is not None:
            self._engine.dispose()

    def __enter__(self) -> SqlStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema ---------------------------------------------------------------------
    def create_all(self) -> None:
        """Create the kudos tables that are missing and record their version.

        For hosts without migrations; safe to call on every start. Tables of an
        older kudos are brought to this version (so far every upgrade only adds
        tables, indexes and columns: version 3 adds the full-text index of
        similar-topic search, version 4 ``<prefix>policies`` and the ledger's
        ``policy`` column, 1 on the rows already there). With a joined
        connection the tables are created in your transaction (commit it).
        Alembic users add :attr:`metadata` to ``target_metadata`` instead.
        Tables already there and current are only read (no write lock is taken,
        so opening a store never waits for a writer).
        """
        if self._connection is None and self._tables_current():
            return
        with translate_errors("creating the kudos tables"), self._unit() as conn:
            if self.dialect == "postgresql":
                # Two app servers starting at once must not both create the tables.
                conn.execute(self._sql.lock, {"lock": lock_id("", "kudos:create_all")})
                schema = self.tables.events.schema
                if schema is not None:
                    conn.execute(CreateSchema(schema, if_not_exists=True))
            self.metadata.create_all(conn)
            self._add_missing_columns(conn)
            _sql_search.install(conn, self.tables)
            # Every upgrade so far adds tables, columns or indexes: once they exist, the
            # tables are current.
            t = self.tables.schema
            conn.execute(
                t.update().where(t.c.version < SCHEMA_VERSION).values(version=SCHEMA_VERSION)
            )
            self._schema_checked = False
            self._check_schema(conn)

    def _add_missing_columns(self, conn: Connection) -> None:
        """Add the columns later versions gave existing tables (version 4: ``ledger.policy``)."""
        ledger = self.tables.ledger
        present = {c["name"] for c in inspect(conn).get_columns(ledger.name, schema=ledger.schema)}
        if "policy" not in present:
            table = conn.dialect.identifier_preparer.format_table(ledger)
            conn.execute(text(f"ALTER TABLE {table} ADD COLUMN policy INTEGER NOT NULL DEFAULT 1"))

    def _tables_current(self) -> bool:
        """Whether every kudos table exists at this version (read without a write lock)."""
        with translate_errors("reading the kudos tables"), self._unit(read_only=True) as conn:
            schema = self.tables.events.schema
            present = set(inspect(conn).get_table_names(schema=schema))
            if not all(t.name in present for t in self.metadata.sorted_tables):
                return False
            current = self._runner(conn).schema_version() == SCHEMA_VERSION
        if current:
            self._schema_checked = True
        return current

    def _check_schema(
        self, conn: Connection, runner: CoreRunner | SqliteRunner | None = None
    ) -> None:
        """Check (once per store) that the tables exist and are of this kudos's version."""
        if self._schema_checked:
            return
        if runner is None:
            runner = self._runner(conn)
        t = self.tables.schema
        try:
            version = runner.schema_version()
        except (sa_exc.DBAPIError, sqlite3.OperationalError) as exc:
            # One statement, no catalogue look-up first: this runs once per store, and a
            # store may be made per request. (An error here rolls back only kudos's work.)
            if not _missing_table(exc):
                raise
            raise missing(t) from None
        if version is None:
            # Tables made by the host's migrations: stamp them with this version.
            insert = sqlite.insert if self.dialect == "sqlite" else postgresql.insert
            conn.execute(insert(t).values(id=1, version=SCHEMA_VERSION).on_conflict_do_nothing())
            version = conn.execute(select(t.c.version).where(t.c.id == 1)).scalar_one()
        if version < SCHEMA_VERSION:
            raise StoreError(
                f"the kudos tables are at version {version}, older than this kudos "
                f"(version {SCHEMA_VERSION}); migrate them before starting this version: "
                "store.create_all() adds what is missing and records the version, or see the "
                "CHANGELOG for the changes to make with your migrations"
            )
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the kudos tables are at version {version}, made by a newer kudos than this "
                f"one (version {SCHEMA_VERSION}); upgrade kudos on this server"
            )
        self._schema_checked = True

    # -- transactions -------------------------------------------------------------------
    @contextmanager
    def _unit(
        self, after_commit: list[Callable[[], object]] | None = None, *, read_only: bool = False
    ) -> Iterator[Connection]:
        """A connection in a unit of work: committed at the end, or a SAVEPOINT released.

        ``after_commit`` functions run once kudos's own transaction committed,
        while the connection is still checked out (never for a joined connection,
        whose transaction its owner commits). ``read_only`` work begins a
        deferred transaction on SQLite (so it never waits for a writer, in WAL
        mode) and needs no SAVEPOINT in a joined connection.
        """
        if self._connection is not None:
            conn = self._connection
            _require_transaction(conn)
            forget_rolled_back(conn)
            if read_only:
                yield conn
                return
            self._begin_sqlite(conn)
            nested = conn.begin_nested()
            try:
                yield conn
            except BaseException:
                if nested.is_active:
                    nested.rollback()
                raise
            nested.commit()
        else:
            assert self._engine is not None
            with self._engine.connect() as conn:
                if read_only:
                    conn.execution_options(**{READ_ONLY: True})
                    if self.dialect == "postgresql":
                        # One snapshot for every statement of the read (a record and its
                        # responses, a member and their counters), as SQLite's WAL gives;
                        # a reader never waits and is never refused for it.
                        conn.execution_options(isolation_level="REPEATABLE READ")
                with conn.begin():
                    self._begin_sqlite(conn, read_only=read_only)
                    yield conn
                for done in after_commit or ():
                    done()

    def _begin_sqlite(self, conn: Connection, *, read_only: bool = False) -> None:
        """Make sure an SQLite connection has really begun: as a writer, unless only reading.

        pysqlite begins a transaction only at the first write; a SAVEPOINT before
        that would become the outermost transaction, and releasing it would commit.
        """
        if self.dialect != "sqlite":
            return
        if not conn.connection.driver_connection.in_transaction:  # type: ignore[union-attr]
            conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    @contextmanager
    def transaction(self, community: str, *, read_only: bool = False) -> Iterator[SqlTransaction]:
        """A unit of work on ``community``'s data.

        With an engine: one database transaction, committed when the block ends.
        With a joined connection: a SAVEPOINT in your transaction, released when
        the block ends (you commit). An exception rolls kudos's part back.
        :meth:`SqlTransaction.on_commit` callbacks run once the work committed:
        after kudos's commit, or after yours. ``read_only=True`` (what
        :class:`~kudos.Community` asks for its queries) begins a deferred
        transaction on SQLite, which in WAL mode never waits for a writer and
        reads the last committed state; writing in it is refused by SQLite
        only if another connection writes meanwhile, so do not.

        Raises:
            InvalidInput: a joined connection has no transaction begun.
            StoreError: the database failed (TransientStoreError when retrying may help).
        """
        after_commit: list[Callable[[], object]] = []
        # Locks a try of this work found busy (kept for its retry in this thread).
        hints: set[str] = self._hints.__dict__.setdefault(community, set())
        doing = f"{'reading' if read_only else 'writing'} community {community!r}"
        try:
            with self._transaction(community, after_commit, hints, doing, read_only) as tx:
                yield tx
        except LockBusy as busy:
            self._wait_for(busy.locks, busy.shared)
            raise
        except TransientStoreError:
            raise  # the caller may try again: keep what this try learned
        except BaseException:
            if not read_only:
                hints.clear()  # failed for good: the next work is other work
            raise

    def _wait_for(self, locks: list[int], shared: list[bool]) -> None:
        """Wait, holding no lock, until the advisory ``locks`` are free (a retry then takes them).

        Only with an engine: a joined connection keeps its locks to the end of the host's
        transaction, so there the retry just starts over.
        """
        if self._engine is None:
            return
        with (
            contextlib.suppress(StoreError),
            translate_errors("waiting for a writer"),
            self._engine.connect() as conn,
            conn.begin(),
        ):
            wanted = sorted(zip(locks, shared, strict=True))
            conn.execute(
                self._sql.lock_many,
                {"locks": [n for n, _ in wanted], "shared": [s for _, s in wanted]},
            )

    @contextmanager
    def _transaction(
        self,
        community: str,
        after_commit: list[Callable[[], object]],
        hints: set[str],
        doing: str,
        read_only: bool,
    ) -> Iterator[SqlTransaction]:
        with translate_errors(doing), self._unit(after_commit, read_only=read_only) as conn:
            runner = self._runner(conn)
            self._check_schema(conn, runner)
            tx = SqlTransaction(
                community,
                conn,
                runner,
                self._sql,
                self._queries,
                postgres=self.dialect == "postgresql",
                write_lock=self._write_lock,
                writer=not read_only,
                hints=hints,
                shared=self._shared_cache(conn, after_commit),
                on_commit=after_commit.append
                if self._connection is None
                else lambda callback: after_commit_of(conn, callback, (self.data_key, community)),
            )
            if self._connection is None:
                after_commit.insert(0, tx.committed)
                if self._sqlite_sql is not None:
                    after_commit.append(lambda: self._count_for_statistics(conn, tx.appended))
            try:
                yield tx
            except Exception as exc:
                if not isinstance(exc, StoreError) and tx.took_logged_events():
                    # The work went on as if an event logged already were new: its outcome,
                    # error or not, is not this event's. Run it again, checking each event.
                    raise TransientStoreError(
                        "an event of this work was logged already; recording the work again "
                        "with each event checked"
                    ) from exc
                raise
            tx.finish()
            if not read_only:
                hints.clear()
            if self._connection is not None and self._sqlite_sql is not None:
                if tx.wrote:  # what follows waits for the host's commit
                    after_commit_of(
                        conn,
                        tx.committed if tx.shared else self._forgetter(conn),
                        (self.data_key, community),
                    )
                elif tx.shared:  # it read committed state only: share it now
                    tx.committed()

    def _runner(self, conn: Connection) -> CoreRunner | SqliteRunner:
        if self._sqlite_sql is None:
            return CoreRunner(conn, self._sql)
        return SqliteRunner(conn, self._sqlite_sql)

    # -- statistics -------------------------------------------------------------------
    def optimize(self) -> bool:
        """Bring the kudos tables to this version's layout, then gather the query planner's
        statistics on them (SQLite ``ANALYZE``). Returns whether it changed the layout.

        The layout: earlier versions of kudos keyed counters by ``(community, metric,
        scope, subject)``, with a ``(community, subject, scope)`` index beside the key and a
        board index over every row; this version keys them by ``(community, scope,
        subject, metric)`` (on SQLite a ``WITHOUT ROWID`` table, the key is the table) and
        keeps one board index, without the rows no board ranks
        (:data:`~kudos.stores._sql_schema.BOARD_ROWS`). The documents' ``ref`` and
        ``status`` indexes and the ledger's ``reverses`` index now hold only the rows where
        that column is set. So an event writes fewer pages.
        Tables of an earlier layout (or of a migration that made part of the change) work
        as they are: the same answers, more pages per event. This moves them once, in one
        transaction, and does nothing when the layout is current
        (:meth:`layout_current`). On PostgreSQL the counters table is changed in place
        (its grants, comments, views and your own indexes stay), and every read and write
        of the table waits while its key is built again; on SQLite the table is copied into
        a new one (your own indexes and triggers on it, and the views and triggers that name
        it, are made again from their SQL), writers wait and readers go on. Each partial
        index that differs is made again (on PostgreSQL it is built under a new name, reads
        going on, then swapped in, which holds reads of its table back until the commit).
        A million counter rows took about 6 s on SQLite and 8 s on PostgreSQL on two CPU
        cores (several times that on a busy machine). :meth:`~kudos.Community.rebuild` does
        not call this; ``kudos rebuild`` does.

        A store on an engine gathers statistics by itself (see
        :data:`SQLITE_ANALYZE_EVERY`); call this after upgrading kudos or loading data
        by other means, or with a joined connection (then inside your transaction). On
        PostgreSQL, autovacuum keeps the statistics; this runs ``ANALYZE`` on the kudos
        tables at once.

        Raises:
            StoreError: the database failed, a kudos table is missing, or an index of
                another table has the name of one of kudos's (nothing is changed then).
        """
        with translate_errors("optimizing the kudos tables"), self._unit() as conn:
            if self.dialect == "sqlite":
                # A write first: a deferred transaction (a host's engine) that read first
                # could not take the write lock once another writer had committed.
                t = self.tables.schema
                try:
                    conn.execute(t.update().where(t.c.id == 1).values(version=t.c.version))
                except sa_exc.OperationalError as exc:
                    if not _missing_table(exc):
                        raise
                    self._schema_checked = False  # say which tables are missing, and what to do
            self._check_schema(conn)
            if self.dialect == "postgresql":  # two servers moving them at once take turns
                conn.execute(self._sql.lock, {"lock": lock_id("", "kudos:create_all")})
            moved = _sql_layout.move(conn, self.tables)
            self._analyze(conn)
        return moved

    def layout_current(self) -> bool:
        """Whether the kudos tables are in this version's layout (see :meth:`optimize`):
        the counters table's key and each of kudos's indexes as this version makes them
        (columns and condition; on PostgreSQL also valid).

        Raises:
            StoreError: the database failed, or a kudos table is missing.
        """
        with translate_errors("reading the kudos tables"), self._unit(read_only=True) as conn:
            return _sql_layout.current(conn, self.tables)

    def _analyze(self, conn: Connection) -> None:
        quote = conn.dialect.identifier_preparer.format_table
        limit = None
        if self.dialect == "sqlite":  # a setting of the connection: put back what it was
            limit = conn.exec_driver_sql("PRAGMA analysis_limit").scalar()
            conn.exec_driver_sql(f"PRAGMA analysis_limit={_ANALYSIS_LIMIT}")
        try:
            for table in (self.tables.counters, self.tables.docs, self.tables.ledger):
                conn.exec_driver_sql(f"ANALYZE {quote(table)}")
        finally:
            if limit is not None:
                conn.exec_driver_sql(f"PRAGMA analysis_limit={int(limit)}")

    def _count_for_statistics(self, conn: Connection, appended: int) -> None:
        """After a commit on SQLite: gather statistics when missing or due (see ``optimize``)."""
        key = self.tables.events.fullname
        counts = _unanalyzed.setdefault(self.engine, {})
        due = counts.get(key)
        if due is None and not appended:
            return  # a transaction that recorded nothing: look at the next one
        if due is None:  # first commit of this process on these tables: any statistics?
            stats = conn.exec_driver_sql(
                "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'"
            ).scalar()
            found = (
                stats
                and conn.exec_driver_sql(
                    "SELECT count(*) FROM sqlite_stat1 WHERE tbl = ?", (self.tables.counters.name,)
                ).scalar()
            )
            # None: count the rows already there as not analysed. (A handful of rows is not
            # worth it: statistics of a tiny table even tell the planner to scan it.)
            events = select(func.count()).select_from(self.tables.events)
            due = 0 if found else int(conn.execute(events).scalar_one()) - appended
        due += appended
        if due >= SQLITE_ANALYZE_EVERY:
            with translate_errors("gathering statistics"):
                self._analyze(conn)
            due = 0
        conn.commit()  # what the look-ups above began
        counts[key] = due

    def _shared_cache(
        self, conn: Connection, after_commit: list[Callable[[], object]]
    ) -> SharedCache | None:
        """The cache of committed state on this SQLite connection, if still valid.

        Only on SQLite, which says cheaply whether anything changed since:
        ``PRAGMA data_version`` moves when another connection commits. What
        kudos itself writes is added to the cache once it committed. With an
        engine, ``total_changes`` also tells when this connection wrote outside
        kudos (the host may use the same engine). In a joined connection the
        host writes its own tables through it, so that count says nothing:
        there the cache is used only while kudos has no uncommitted work in the
        host's transaction, what a transaction wrote joins it at the host's
        commit, and a second transaction writing before that commit makes the
        cache start over then. (kudos holds SQLite's write lock while it works,
        so nobody else changes anything until the commit.)
        """
        if self._sqlite_sql is None:
            return None
        joined = self._connection is not None
        if joined and has_uncommitted_work(conn):
            return None
        pooled = conn.connection
        driver = pooled.driver_connection
        assert driver is not None
        version = driver.execute("PRAGMA data_version").fetchone()[0]
        stamp = (version, "joined" if joined else driver.total_changes)
        caches = pooled.info.setdefault("kudos_shared_cache", {})
        key = self.tables.events.fullname
        cache = caches.get(key)
        if not isinstance(cache, SharedCache) or cache.stamp != stamp:
            cache = caches[key] = SharedCache(stamp)

        def restamp() -> None:  # our own commit changed nothing the cache does not know
            cache.stamp = (version, driver.total_changes)

        if not joined:
            after_commit.append(restamp)
        return cache

    def _forgetter(self, conn: Connection) -> Callable[[], None]:
        """After the host's commit: drop the shared cache (a transaction wrote without it)."""
        pooled = conn.connection

        def forget() -> None:
            pooled.info.get("kudos_shared_cache", {}).pop(self.tables.events.fullname, None)

        return forget

    def data_version(self, community: str, *, check: bool = True) -> int | None:
        """A number that moves with every committed transaction that wrote to ``community``.

        :class:`~kudos.Community` stamps its cached reads with it, so a read
        reflects every write committed before it began, from any process (see
        :mod:`kudos.cache`). One primary-key read of ``<prefix>communities``;
        on SQLite outside any transaction, so it never waits for a writer.

        Args:
            community: the community id.
            check: ``False`` answers without reading the database (``0``).

        Returns:
            The version, or ``None`` while a joined connection's transaction
            holds kudos writes not committed yet, or a host's commit of such
            writes is under way (a cached read must not be used then, nor kept).

        Raises:
            InvalidInput: a joined connection has no transaction begun.
            StoreError: the database failed.
        """
        if committing((self.data_key, community)):
            return None  # a host's commit of kudos work is under way: read the store
        if self._connection is not None:
            conn = self._connection
            _require_transaction(conn)
            if has_uncommitted_work(conn):
                return None
            if not check:
                return 0
            with translate_errors(f"reading community {community!r}"):
                return self._data_version_on(conn, community)
        if not check:
            return 0
        assert self._engine is not None
        with translate_errors(f"reading community {community!r}"):
            if self._sqlite_sql is not None:
                raw = self._engine.raw_connection()
                try:
                    driver: Any = raw.driver_connection
                    row = driver.execute(self._sqlite_sql.get_version, (community,)).fetchone()
                finally:
                    raw.close()
                return int(row[0]) if row is not None else 0
            with self._engine.connect() as conn:
                return self._data_version_on(conn, community)

    def _data_version_on(self, conn: Connection, community: str) -> int:
        """The data version read through ``conn`` (on SQLite the community's row alone)."""
        if self.dialect != "postgresql":
            return int(conn.execute(self._sql.get_version, {"c": community}).scalar() or 0)
        return int(
            conn.execute(self._sql.get_versions, {"keys": version_keys(community)}).scalar_one()
        )

    def communities(self) -> Iterator[str]:
        """The ids of the communities with at least one event, sorted."""
        t = self.tables.events
        stmt = select(t.c.community).distinct().order_by(t.c.community)
        with translate_errors("listing communities"), self._unit() as conn:
            self._check_schema(conn)
            found = list(conn.execute(stmt).scalars())
        return iter(found)
