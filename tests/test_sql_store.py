"""What is particular to SqlStore, on SQLite and on PostgreSQL.

Store behaviour every store shares is in the conformance suite
(tests/test_conformance.py); here: table naming, the schema version guard,
joining a host's transaction, concurrency, error translation, migrations.
"""

from __future__ import annotations

import itertools
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    event,
    func,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy import exc as sa_exc

import kudos
from kudos import Community, Conflict, InvalidInput, StoreError, TransientStoreError, UnknownPost
from kudos.events import KudosGiven, MemberJoined
from kudos.model import Doc, LedgerEntry
from kudos.stores._sql_errors import translated
from kudos.stores.memory import MemoryStore
from kudos.stores.sql import (
    NAMING_CONVENTION,
    SCHEMA_VERSION,
    SqlStore,
    include_name,
    make_metadata,
    metadata,
)
from kudos.testing import FakeClock, assert_consistent

_names = itertools.count()


@attrs.define
class Db:
    """A database for one test: fresh kudos tables on demand, dropped afterwards."""

    dialect: str
    engine: Engine
    made: list[MetaData] = attrs.field(factory=list)

    def tables(self, **options: Any) -> MetaData:
        """New kudos tables (not created yet) under a prefix of their own."""
        options.setdefault("prefix", f"k{os.getpid()}_{next(_names)}_")
        md = make_metadata(**options)
        self.made.append(md)
        return md

    def store(self, bind: Engine | Connection | None = None, **options: Any) -> SqlStore:
        """A store on new, created tables."""
        store = SqlStore(bind or self.engine, metadata=self.tables(**options))
        store.create_all()
        return store


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Db]:
    """SQLite (a host-made engine on a file) or PostgreSQL."""
    if request.param == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'host.db'}")
    else:
        engine = request.getfixturevalue("postgres_engine")
    found = Db(engine.dialect.name, engine)
    yield found
    for md in found.made:
        md.drop_all(engine)
    if request.param == "sqlite":
        engine.dispose()


def clocked(store: SqlStore, **options: Any) -> Community:
    return Community(store=store, clock=FakeClock(), **options)


def forum(c: Community) -> None:
    """A little forum: two members, a topic, replies, kudos and a solution."""
    for m in ("alice", "bob", "carol"):
        c.join(m)
    c.post_topic("t1", author="bob", title="No data abroad", tags=["roaming"])
    c.post_reply("r1", topic="t1", author="alice")
    c.post_reply("r2", topic="t1", author="carol")
    c.give_kudos("r1", giver="bob")
    c.give_kudos("r1", giver="carol")
    c.give_kudos("r2", giver="alice")
    c.accept_solution("t1", reply="r1", by="bob")
    c.withdraw_kudos("r1", giver="carol")


def count(engine: Engine, table: Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


# --- tables ------------------------------------------------------------------------------


def test_tables_are_named_with_the_prefix(db: Db) -> None:
    store = db.store(prefix=f"forum{os.getpid()}_")
    forum(clocked(store))
    names = set(inspect(db.engine).get_table_names())
    wanted = {
        f"forum{os.getpid()}_{t}"
        for t in ("events", "ledger", "docs", "counters", "outbox", "schema")
    }
    assert wanted <= names
    assert count(db.engine, store.tables.events) == 11


@pytest.mark.postgres
def test_the_schema_option_puts_the_tables_in_that_schema(postgres_engine: Engine) -> None:
    engine = postgres_engine
    schema = f"kudos_s{os.getpid()}"
    try:
        store = SqlStore(engine, schema=schema, prefix="")
        store.create_all()
        forum(clocked(store))
        assert "events" in inspect(engine).get_table_names(schema=schema)
        assert store.tables.events.fullname == f"{schema}.events"
        assert clocked(store).standing("alice").reputation == 11
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))


def test_the_schema_option_on_sqlite_puts_the_tables_in_an_attached_database(
    tmp_path: Path,
) -> None:
    """SQLite's schemas are attached databases: the tables, the full-text table and its
    triggers all go there (a trigger names its own database's tables unqualified), and the
    host's main database keeps a table of the same name as its own."""
    engine = create_engine(f"sqlite:///{tmp_path / 'app.db'}")

    @event.listens_for(engine, "connect")
    def _attach(dbapi: Any, _record: Any) -> None:
        dbapi.execute(f"ATTACH DATABASE '{tmp_path / 'rewards.db'}' AS rewards")

    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE kudos_docs (note TEXT)")  # the host's own
    store = SqlStore(engine, metadata=make_metadata(schema="rewards"))
    store.create_all()
    store.create_all()  # again: everything is there
    c = clocked(store)
    forum(c)
    c.post_topic("t2", author="carol", title="Roaming charges in France")
    assert [t.topic for t in c.similar_topics("roaming france")] == ["t2", "t1"]
    assert c.standing("alice").reputation == 11
    assert (store.layout_current(), store.optimize()) == (True, False)
    c.rebuild()
    assert [t.topic for t in c.similar_topics("france")] == ["t2"]
    engine.dispose()
    attached = sqlite3.connect(tmp_path / "rewards.db")
    triggers = attached.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall()
    assert sorted(triggers) == [(f"kudos_search_fts_{s}",) for s in ("ad", "ai", "au")]
    main = sqlite3.connect(tmp_path / "app.db")
    assert main.execute("SELECT name FROM sqlite_master").fetchall() == [("kudos_docs",)]
    attached.close()
    main.close()


@pytest.mark.postgres
def test_a_read_on_postgresql_sees_one_moment_whatever_commits_meanwhile(
    postgres_store: SqlStore,
) -> None:
    """A read's statements share one snapshot: a topic's record and its responses, a
    member's documents and ledger, read as of one moment (REPEATABLE READ), as on SQLite."""
    c = clocked(postgres_store)
    forum(c)
    c.join("mod", role="staff")
    with postgres_store.transaction(c.id, read_only=True) as tx:
        lines = len(tx.entries(member="alice"))
        c.adjust("alice", reputation=5, reason="meanwhile", by="mod")  # another connection
        assert len(tx.entries(member="alice")) == lines
        assert tx.find("kudos", ref="r1") == tx.find("kudos", ref="r1")
    with postgres_store.transaction(c.id, read_only=True) as tx:
        assert len(tx.entries(member="alice")) == lines + 1


def test_make_metadata_builds_fresh_tables_every_call() -> None:
    default = {t: [c.name for c in metadata.tables[t].columns] for t in metadata.tables}
    one, two = make_metadata(), make_metadata(prefix="other_")
    assert one is not metadata and one.tables["kudos_events"] is not metadata.tables["kudos_events"]
    assert sorted(two.tables) == sorted(t.replace("kudos_", "other_") for t in metadata.tables)
    assert {t: [c.name for c in metadata.tables[t].columns] for t in metadata.tables} == default
    assert metadata.naming_convention == NAMING_CONVENTION


def test_every_constraint_and_index_has_an_explicit_prefixed_name() -> None:
    md = make_metadata(prefix="p_")
    for table in md.tables.values():
        for item in [*table.constraints, *table.indexes]:
            assert item.name, f"{table.name}: unnamed {item!r}"
            assert "p_" in str(item.name), item.name


def test_every_query_of_a_standing_statement_or_leaderboard_has_its_index() -> None:
    indexed = {
        tuple(c.name for c in ix.columns)
        for table in metadata.tables.values()
        for ix in [*table.indexes, table.primary_key]
    }
    for wanted in [
        ("community", "member", "seq"),
        ("community", "subject", "seq"),
        ("community", "event_id", "seq"),
        ("community", "reverses"),
        ("community", "kind", "key"),
        ("community", "kind", "ref", "key"),
        ("community", "kind", "status", "key"),
        ("community", "scope", "subject", "metric"),
        ("community", "metric", "scope", "value", "subject"),
        ("community", "seq"),
        ("community", "event_id"),
    ]:
        assert wanted in indexed, wanted


@pytest.mark.parametrize("prefix", ["Kudos_", "1kudos_", "ku-dos_", "k" * 31, 7])
def test_unusable_prefixes_are_refused(prefix: Any) -> None:
    with pytest.raises(InvalidInput, match="prefix"):
        make_metadata(prefix=prefix)


def test_an_unusable_schema_is_refused() -> None:
    with pytest.raises(InvalidInput, match="schema"):
        make_metadata(schema="my schema")


def test_tables_come_either_from_metadata_or_from_prefix_and_schema() -> None:
    with pytest.raises(InvalidInput, match="either"):
        SqlStore(create_engine("sqlite://"), metadata=make_metadata(), prefix="x_")
    with pytest.raises(InvalidInput, match="make_metadata"):
        SqlStore(create_engine("sqlite://"), metadata=MetaData())
    with pytest.raises(InvalidInput, match="Engine or Connection"):
        SqlStore("sqlite://")  # type: ignore[arg-type]


# --- schema version ------------------------------------------------------------------------


def test_missing_tables_are_reported_and_never_created_behind_the_hosts_back(db: Db) -> None:
    store = SqlStore(db.engine, metadata=db.tables())
    with pytest.raises(StoreError, match=r"create_all\(\)"):
        clocked(store).join("alice")
    assert not inspect(db.engine).has_table(store.tables.events.name)


def test_tables_of_a_newer_kudos_are_refused(db: Db) -> None:
    store = db.store()
    with db.engine.begin() as conn:
        conn.execute(update(store.tables.schema).values(version=SCHEMA_VERSION + 1))
    with pytest.raises(StoreError, match="newer kudos") as refused:
        clocked(SqlStore(db.engine, metadata=store.metadata)).join("alice")
    assert "upgrade kudos" in str(refused.value)


def test_tables_of_an_older_kudos_are_refused_until_migrated(db: Db) -> None:
    store = db.store()
    with db.engine.begin() as conn:
        conn.execute(update(store.tables.schema).values(version=SCHEMA_VERSION - 1))
    with pytest.raises(StoreError, match="older than this kudos") as refused:
        list(SqlStore(db.engine, metadata=store.metadata).communities())
    assert "migrate" in str(refused.value)


def test_tables_made_by_the_hosts_migrations_are_stamped_on_first_use(db: Db) -> None:
    md = db.tables()
    md.create_all(db.engine)  # what a host's migration does: tables, no rows
    forum(clocked(SqlStore(db.engine, metadata=md)))
    tables = SqlStore(db.engine, metadata=md).tables
    with db.engine.connect() as conn:
        assert conn.execute(select(tables.schema.c.version)).scalars().all() == [SCHEMA_VERSION]


def test_alembic_autogenerate_finds_nothing_to_change_after_create_all(db: Db) -> None:
    store = db.store()
    prefix = store.tables.events.name.removesuffix("events")

    def ours(name: str | None, type_: str, parent: Any) -> bool:
        return include_name(name, type_, parent) and (
            type_ != "table" or bool(name and name.startswith(prefix))
        )

    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_name": ours}
        )
        assert compare_metadata(context, store.metadata) == []


# --- plugging in ---------------------------------------------------------------------------


def test_open_takes_a_relative_sqlite_path_and_reopens_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    first = kudos.open("sqlite:///community.db", clock=FakeClock())
    forum(first)
    before = first.standing("alice")
    assert isinstance(first.store, SqlStore)
    first.store.close()
    monkeypatch.chdir(tmp_path.parent)
    database = tmp_path / "community.db"
    again = kudos.open(f"sqlite:///{database}", clock=FakeClock())
    assert again.standing("alice") == before
    with sqlite3.connect(database) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_from_url_says_what_is_wrong_with_a_url(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="not a database URL"):
        SqlStore.from_url("community.db")
    with pytest.raises(StoreError, match="does not exist"):
        SqlStore.from_url(f"sqlite:///{tmp_path / 'missing' / 'community.db'}")


def test_a_restarted_store_sees_the_same_standings_and_boards(db: Db) -> None:
    store = db.store()
    first = clocked(store)
    forum(first)
    again = clocked(SqlStore(db.engine, metadata=store.metadata))
    for member in ("alice", "bob", "carol"):
        assert again.standing(member) == first.standing(member)
    assert again.leaderboard(by="reputation") == first.leaderboard(by="reputation")
    assert again.statement("alice") == first.statement("alice")


def test_rebuild_on_sql_gives_what_recording_gave(db: Db) -> None:
    c = clocked(db.store())
    forum(c)
    before = {m: c.standing(m) for m in ("alice", "bob", "carol")}
    report = c.rebuild()
    assert report.events == 11
    assert {m: c.standing(m) for m in before} == before
    assert_consistent(c)


def test_communities_share_the_tables_and_never_see_each_other(db: Db) -> None:
    store = db.store()
    uk, ie = clocked(store, community="uk"), clocked(store, community="ie")
    forum(uk)
    ie.join("alice")
    assert list(store.communities()) == ["ie", "uk"]
    assert ie.standing("alice").reputation == 0 < uk.standing("alice").reputation
    assert_consistent(uk)
    assert_consistent(ie)


def test_a_store_never_disposes_of_an_engine_it_was_given(db: Db) -> None:
    disposed: list[Engine] = []
    event.listen(db.engine, "engine_disposed", disposed.append)
    store = db.store()
    store.close()
    assert disposed == []
    owned = SqlStore.from_url(db.engine.url, metadata=store.metadata)
    event.listen(owned.engine, "engine_disposed", disposed.append)
    owned.close()
    assert disposed == [owned.engine]


# --- joining the host's transaction ----------------------------------------------------------


@pytest.fixture
def host_posts(db: Db) -> Iterator[Table]:
    """A table of the host's own, for its half of a unit of work."""
    md = MetaData()
    posts = Table(
        f"host_posts_{os.getpid()}",
        md,
        Column("id", Integer, primary_key=True),
        Column("body", String),
    )
    md.create_all(db.engine)
    yield posts
    md.drop_all(db.engine)


def test_the_hosts_rollback_takes_kudoss_writes_with_it(db: Db, host_posts: Table) -> None:
    md = db.store().metadata
    with db.engine.connect() as conn:
        conn.execute(host_posts.insert().values(id=1, body="hello"))
        forum(clocked(SqlStore(conn, metadata=md)))
        conn.rollback()
    assert count(db.engine, host_posts) == 0
    with pytest.raises(kudos.UnknownMember):
        clocked(SqlStore(db.engine, metadata=md)).member("alice")


def test_the_hosts_commit_keeps_both_and_kudos_never_commits_first(
    db: Db, host_posts: Table
) -> None:
    store = db.store()
    with db.engine.connect() as conn:
        conn.execute(host_posts.insert().values(id=1, body="hello"))
        joined = clocked(SqlStore(conn, metadata=store.metadata))
        forum(joined)
        assert joined.standing("alice").reputation == 11  # kudos reads its own writes
        assert count(db.engine, store.tables.events) == 0  # nobody else sees them yet
        conn.commit()
    assert count(db.engine, host_posts) == 1
    assert clocked(SqlStore(db.engine, metadata=store.metadata)).standing("alice").reputation == 11


def test_a_refused_fact_rolls_back_only_kudoss_part(db: Db, host_posts: Table) -> None:
    store = db.store()
    with db.engine.connect() as conn:
        conn.execute(host_posts.insert().values(id=1, body="hello"))
        joined = clocked(SqlStore(conn, metadata=store.metadata))
        joined.join("alice")
        with pytest.raises(UnknownPost):
            joined.give_kudos("nope", giver="alice")
        conn.execute(host_posts.insert().values(id=2, body="still fine"))
        conn.commit()
    assert count(db.engine, host_posts) == 2
    assert count(db.engine, store.tables.events) == 1
    assert_consistent(clocked(SqlStore(db.engine, metadata=store.metadata)))


def test_a_sqlite_host_connection_that_only_read_is_not_committed_by_kudos(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'host.db'}")
    store = SqlStore(engine)
    store.create_all()
    with engine.connect() as conn:
        conn.execute(select(1))  # the host's transaction began with a read
        clocked(SqlStore(conn)).join("alice")
        conn.rollback()
    assert count(engine, store.tables.events) == 0


# --- concurrency and errors ----------------------------------------------------------------


def _wait_for_a_lock_wait(db: Db, started: float) -> None:
    """Return once another session waits for a lock (PostgreSQL), or at once on SQLite."""
    if db.dialect != "postgresql":
        return
    with db.engine.connect() as conn:
        while time.monotonic() - started < 10:
            waiting = conn.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted"))
            if waiting.scalar_one():
                return
            conn.rollback()
    pytest.fail("the second app server never waited for the first")


def test_the_same_kudos_recorded_by_two_servers_at_once_awards_once(db: Db) -> None:
    store = db.store()
    setup = clocked(store)
    for m in ("alice", "bob"):
        setup.join(m)
    setup.post_topic("t1", author="bob")
    setup.post_reply("r1", topic="t1", author="alice")
    fact = KudosGiven(post="r1", giver="bob", event_id="vote-1")
    second: dict[str, Any] = {}

    with db.engine.connect() as conn:
        conn.begin()  # kudos joins a transaction the host began; it never begins one itself
        first = clocked(SqlStore(conn, metadata=store.metadata)).record(fact)

        def other_server() -> None:
            try:
                second["outcome"] = clocked(SqlStore(db.engine, metadata=store.metadata)).record(
                    fact
                )
            except BaseException as exc:  # handed to the test thread
                second["error"] = exc

        thread = threading.Thread(target=other_server)
        thread.start()
        _wait_for_a_lock_wait(db, time.monotonic())
        conn.commit()
    thread.join(timeout=30)
    assert "error" not in second, second
    assert not first.replayed and second["outcome"].replayed
    assert second["outcome"].entries == first.entries
    assert setup.standing("alice").reputation == 1
    assert_consistent(setup)


@pytest.mark.postgres
def test_a_deadlock_between_two_servers_is_a_transient_error(postgres_store: SqlStore) -> None:
    store = postgres_store
    meeting = threading.Barrier(2, timeout=20)
    results: dict[str, BaseException | None] = {}

    def take(first: str, then: str) -> None:
        try:
            with store.transaction("deadlock") as tx:
                tx.lock([first])
                meeting.wait()
                tx.lock([then])
            results[first] = None
        except BaseException as exc:
            results[first] = exc

    threads = [threading.Thread(target=take, args=p) for p in (("a", "b"), ("b", "a"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    errors = [e for e in results.values() if e is not None]
    assert len(results) == 2 and len(errors) == 1, results
    assert isinstance(errors[0], TransientStoreError) and "deadlock" in str(errors[0])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_database_server_that_cannot_be_reached_is_a_transient_error() -> None:
    """A server down, restarting or refusing connections: run it again later (Community
    retries, then says it gave up, once, without blaming other writers)."""
    url = f"postgresql+psycopg://kudos:kudos@127.0.0.1:{_free_port()}/kudos"
    store = SqlStore(create_engine(url, connect_args={"connect_timeout": 2}))
    with pytest.raises(TransientStoreError) as raised:
        clocked(store).join("alice")
    message = str(raised.value)
    assert "could not be reached" in message and "Connection refused" in message
    assert "gave up after 5 tries" in message and "other writers" not in message
    assert "run it again" not in message  # one piece of advice: call again later


@pytest.mark.postgres
def test_a_wrong_password_is_not_retried_as_transient(postgres_engine: Engine) -> None:
    url = postgres_engine.url.set(password="not-the-password")
    store = SqlStore(create_engine(url))
    with pytest.raises(StoreError) as raised:
        clocked(store).join("alice")
    assert not isinstance(raised.value, TransientStoreError)
    assert "password authentication failed" in str(raised.value)


def test_a_locked_sqlite_database_is_a_transient_error(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    SqlStore.from_url(f"sqlite:///{path}").close()
    store = SqlStore(create_engine(f"sqlite:///{path}", connect_args={"timeout": 0.01}))
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(TransientStoreError, match="locked"):
            clocked(store).join("alice")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert clocked(store).join("alice").id == "alice"


def test_a_repeated_ledger_entry_is_a_conflict_not_a_driver_error(db: Db) -> None:
    store = db.store()
    entry = LedgerEntry(
        entry_id="e/0",
        member="alice",
        account="points",
        amount=5,
        action="kudos_on_reply",
        reason="test",
        event_id="e",
        subject="r1",
        period="2026-H2",
        at=datetime(2026, 11, 23, tzinfo=UTC),
    )
    with pytest.raises(Conflict, match="duplicate") as refused, store.transaction("c") as tx:
        tx.append_entries([entry, entry])
    assert not isinstance(refused.value, sa_exc.SQLAlchemyError)
    with store.transaction("c") as tx:
        assert tx.entries() == []


def test_a_broken_database_is_a_store_error(db: Db) -> None:
    store = db.store()
    c = clocked(store)
    c.join("alice")
    store.tables.docs.drop(db.engine)
    with pytest.raises(StoreError) as failed:
        c.join("bob")
    assert not isinstance(failed.value, sa_exc.SQLAlchemyError)
    assert isinstance(failed.value.__cause__, sa_exc.SQLAlchemyError | sqlite3.Error)


def test_data_that_is_not_json_is_refused_with_a_reason(db: Db) -> None:
    store = db.store()
    with pytest.raises(StoreError, match="must be JSON"), store.transaction("c") as tx:
        tx.put(Doc(kind="note", key="k", data={"when": datetime(2026, 1, 1, tzinfo=UTC)}))


class _DriverError(Exception):
    def __init__(self, message: str, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("error", "expected", "says"),
    [
        (
            sa_exc.OperationalError("x", {}, _DriverError("deadlock detected", "40P01")),
            TransientStoreError,
            "deadlock",
        ),
        (
            sa_exc.OperationalError("x", {}, _DriverError("could not serialize", "40001")),
            TransientStoreError,
            "serialization",
        ),
        (
            sa_exc.OperationalError("x", {}, _DriverError("database is locked")),
            TransientStoreError,
            "locked",
        ),
        (
            sa_exc.IntegrityError("x", {}, _DriverError("UNIQUE constraint failed", "23505")),
            Conflict,
            "duplicate",
        ),
        (
            sa_exc.ProgrammingError("x", {}, _DriverError("syntax error", "42601")),
            StoreError,
            "syntax error",
        ),
        (sa_exc.ArgumentError("bad"), StoreError, "bad"),
    ],
)
def test_driver_errors_become_kudos_errors(
    error: sa_exc.SQLAlchemyError, expected: type[Exception], says: str
) -> None:
    found = translated(error, "recording")
    assert type(found) is expected
    assert says in str(found) and str(found).startswith("recording")


# --- buffered writes, against the reference store --------------------------------------------


def test_a_transaction_reads_its_own_buffered_writes(db: Db) -> None:
    store = db.store()
    at = datetime(2026, 11, 23, tzinfo=UTC)
    entry = LedgerEntry(
        entry_id="e/0",
        member="alice",
        account="points",
        amount=5,
        action="kudos_on_reply",
        reason="test",
        event_id="e",
        subject="r1",
        period="2026-H2",
        at=at,
    )
    with store.transaction("c") as tx:
        tx.put(Doc(kind="post", key="r1", data={"n": 1}, ref="t1", status="live"))
        assert [d.key for d in tx.find("post", ref="t1")] == ["r1"]
        tx.add({("points", "all", "alice"): 5, ("points", "all", "bob"): 3})
        assert tx.counter("points", "all", "alice") == 5
        tx.add({("points", "all", "alice"): 2})
        assert tx.counter("points", "all", "alice") == 7
        assert tx.top("points", "all", limit=5) == [("alice", 7), ("bob", 3)]
        assert tx.position("points", "all", "bob") == (2, 2)
        assert tx.counters_of("alice", ["all"]) == {("points", "all"): 7}
        tx.append_entries([entry])
        assert tx.entries(member="alice") == [entry]
        reversal = attrs.evolve(entry, entry_id="f/0", amount=-5, reverses="e/0", at=at)
        tx.append_entries([reversal])
        assert tx.reversed_ids(["e/0", "x"]) == {"e/0"}
    with store.transaction("c") as tx:
        assert tx.entries() == [entry, reversal]
        assert tx.counter("points", "all", "alice") == 7


_subjects = st.sampled_from(["ann", "ben", "cy", "dee", "eve"])
_op = st.one_of(
    st.tuples(
        st.just("add"),
        st.dictionaries(
            st.tuples(
                st.sampled_from(["points", "solutions"]), st.sampled_from(["all", "p1"]), _subjects
            ),
            st.integers(-3, 3),
            max_size=4,
        ),
    ),
    st.tuples(
        st.just("put"),
        st.builds(
            Doc,
            kind=st.sampled_from(["post", "vote"]),
            key=_subjects,
            data=st.fixed_dictionaries({"n": st.integers(0, 9)}),
            ref=st.sampled_from([None, "t1", "t2"]),
            status=st.sampled_from([None, "live", "gone"]),
        ),
    ),
    st.tuples(
        st.just("top"), st.integers(1, 6), st.integers(0, 3), st.lists(_subjects, max_size=2)
    ),
    st.tuples(st.just("position"), _subjects, st.lists(_subjects, max_size=2)),
    st.tuples(
        st.just("find"),
        st.sampled_from([None, "t1", "t2"]),
        st.sampled_from([None, "live", "gone"]),
        st.sampled_from([None, 1, 2]),
    ),
    st.tuples(st.just("counters_of"), _subjects),
)


def _apply(tx: Any, op: tuple[Any, ...]) -> Any:
    kind, *args = op
    if kind == "add":
        return tx.add(args[0])
    if kind == "put":
        return tx.put(args[0])
    if kind == "top":
        return tx.top("points", "all", limit=args[0], offset=args[1], exclude=args[2])
    if kind == "position":
        return tx.position("points", "all", args[0], exclude=args[1])
    if kind == "find":
        return tx.find("post", ref=args[0], status=args[1], limit=args[2])
    return tx.counters_of(args[0], ["all", "p1"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_op, max_size=25), st.lists(_op, max_size=10))
def test_counters_and_documents_answer_as_in_the_memory_store(
    first: list[tuple[Any, ...]], then: list[tuple[Any, ...]]
) -> None:
    sql = _hypothesis_store()
    community = f"h{next(_names)}"
    memory = MemoryStore()
    for ops in (first, then):  # a second transaction reads what the first committed
        with memory.transaction(community) as mtx, sql.transaction(community) as stx:
            for op in ops:
                assert _apply(stx, op) == _apply(mtx, op), op
    with memory.transaction(community) as mtx, sql.transaction(community) as stx:
        assert stx.snapshot().counters == mtx.snapshot().counters
        assert sorted(stx.snapshot().docs, key=repr) == sorted(mtx.snapshot().docs, key=repr)


_stores: dict[str, SqlStore] = {}


def _hypothesis_store() -> SqlStore:
    """One in-memory SQLite store for every example (each uses a community of its own)."""
    if "sqlite" not in _stores:
        _stores["sqlite"] = SqlStore.from_url("sqlite://")
    return _stores["sqlite"]


def test_a_joined_event_is_recorded_once_across_a_batch_and_a_replay(db: Db) -> None:
    c = clocked(db.store())
    at = datetime(2026, 11, 23, tzinfo=UTC)
    batch = [MemberJoined(member=f"m{i}", at=at + timedelta(minutes=i)) for i in range(50)]
    outcomes = c.record_many(batch)
    assert not any(o.replayed for o in outcomes)
    assert all(o.replayed for o in c.record_many(batch))
    assert len(c.members()) == 50


# --- what one app server remembers between transactions (SQLite) ------------------------------


def _second_engine(db: Db) -> Engine:
    return create_engine(db.engine.url.render_as_string(hide_password=False))


def test_each_server_sees_what_another_server_committed(db: Db) -> None:
    store = db.store()
    here = clocked(store)
    forum(here)
    assert here.standing("carol").reputation == 1
    with pytest.raises(UnknownPost):
        here.post("r3")
    other_engine = _second_engine(db)
    try:
        there = clocked(SqlStore(other_engine, metadata=store.metadata))
        there.give_kudos("r2", giver="bob")
        there.post_reply("r3", topic="t1", author="bob")
    finally:
        other_engine.dispose()
    assert here.post("r3").author == "bob"
    with store.transaction(here.id) as tx:
        assert tx.counter("reputation", "all", "carol") == 2
    here.give_kudos("r3", giver="carol")
    assert here.standing("carol").reputation == 2
    assert here.standing("bob").reputation == 1
    assert_consistent(here)


def test_a_rolled_back_batch_leaves_nothing_to_remember(db: Db) -> None:
    c = clocked(db.store())
    c.join("alice")
    at = datetime(2026, 11, 23, tzinfo=UTC)
    with pytest.raises(kudos.NotAllowed):
        c.record_many(
            [
                MemberJoined(member="zed", at=at),
                MemberJoined(member="alice", at=at, event_id="again"),
            ]
        )
    with pytest.raises(kudos.UnknownMember):
        c.member("zed")
    assert c.join("zed").id == "zed"
    assert_consistent(c)


def test_writes_to_the_tables_outside_kudos_are_noticed(db: Db) -> None:
    store = db.store()
    c = clocked(store)
    forum(c)
    counters = store.tables.counters
    with db.engine.begin() as conn:  # e.g. a data fix run by hand on the same engine
        conn.execute(
            update(counters)
            .where(
                counters.c.metric == "reputation",
                counters.c.scope == "all",
                counters.c.subject == "alice",
            )
            .values(value=counters.c.value + 100)
        )
    with store.transaction(c.id) as tx:
        assert tx.counter("reputation", "all", "alice") == 111


def test_standings_statements_and_leaderboards_never_scan_a_table(tmp_path: Path) -> None:
    path = tmp_path / "plans.db"
    store = SqlStore.from_url(f"sqlite:///{path}")
    c = Community(store=store, clock=FakeClock(), cache=None)
    forum(c)
    queries: list[tuple[str, Any]] = []

    @event.listens_for(store.engine, "before_cursor_execute")
    def seen(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            queries.append((statement, params))

    c.standing("alice")
    c.statement("alice")
    c.leaderboard(by="reputation")
    c.leaderboard(by="points", tag="roaming")
    c.position("alice")
    assert queries
    with sqlite3.connect(path) as raw:
        for statement, params in queries:
            plan = [row[3] for row in raw.execute(f"EXPLAIN QUERY PLAN {statement}", params)]
            scans = [step for step in plan if step.startswith("SCAN kudos_")]
            assert scans == [], f"{statement}\n{plan}"
    store.close()


# --- full-text search of similar topics ---------------------------------------------------


def _topics(c: Community) -> None:
    c.join("ann")
    c.post_topic("t1", author="ann", title="No data abroad", tags=["roaming"])
    c.post_topic("t2", author="ann", title="Bill too high", body="roaming charges on my bill")


def test_similar_topics_use_the_databases_own_full_text_index(db: Db) -> None:
    store = db.store()
    c = clocked(store)
    _topics(c)
    with db.engine.connect() as conn:
        if db.dialect == "sqlite":
            fts = store.tables.docs.name.removesuffix("docs") + "search_fts"
            rows = conn.exec_driver_sql(f"SELECT rowid, text FROM {fts} ORDER BY rowid").all()
            assert [text for _, text in rows] == [
                "no data abroad roaming",
                "bill too high roaming charge on my",  # each word once, folded
            ]
        else:
            index = f"ix_{store.tables.docs.name}_search"
            found = conn.exec_driver_sql(
                "SELECT indexdef FROM pg_indexes WHERE indexname = %(n)s", {"n": index}
            ).scalar_one()
            assert "gin" in found and "to_tsvector" in found
    assert [s.topic for s in c.similar_topics("roaming abroad")] == ["t1", "t2"]
    c.remove_post("t1", by=c.join("mo", role="moderator").id)
    assert [s.topic for s in c.similar_topics("roaming abroad")] == ["t2"]
    c.rebuild()  # projections replaced: the index follows
    assert [s.topic for s in c.similar_topics("roaming abroad")] == ["t2"]


def _as_of_version(db: Db, store: SqlStore, version: int) -> None:
    """Take ``store``'s tables back to what a kudos of schema ``version`` made."""
    t = store.tables
    with db.engine.begin() as conn:
        if version < 4:  # no policy history: no policies table, no ledger.policy
            t.policies.drop(conn)
            conn.exec_driver_sql(f"ALTER TABLE {t.ledger.name} DROP COLUMN policy")
        if version < 3:  # no full-text index
            if db.dialect == "sqlite":
                fts = t.docs.name.removesuffix("docs") + "search_fts"
                conn.exec_driver_sql(f"DROP TABLE {fts}")
            else:
                conn.exec_driver_sql(f"DROP INDEX ix_{t.docs.name}_search")
        if version < 2:  # no data versions
            t.communities.drop(conn)
        conn.execute(update(t.schema).values(version=version))


@pytest.mark.parametrize("version", [1, 2, 3])
def test_create_all_brings_older_tables_to_this_version_through_every_upgrade(
    db: Db, version: int
) -> None:
    store = db.store()
    forum(clocked(store))
    _as_of_version(db, store, version)
    with pytest.raises(StoreError, match="older than this kudos"):
        list(SqlStore(db.engine, metadata=store.metadata).communities())
    upgraded = SqlStore(db.engine, metadata=store.metadata)
    upgraded.create_all()
    with db.engine.connect() as conn:
        assert conn.execute(select(store.tables.schema.c.version)).scalar_one() == SCHEMA_VERSION
        ledger = store.tables.ledger
        columns = {c["name"] for c in inspect(conn).get_columns(ledger.name, schema=ledger.schema)}
        assert "policy" in columns
    assert SCHEMA_VERSION == 4
    again = clocked(upgraded)
    assert [s.topic for s in again.similar_topics("abroad")] == ["t1"]  # version 3's index
    assert again.policy_history() == []  # written before kudos kept its policy
    assert {line.policy for line in again.statement("alice").lines} == {1}  # read as version 1
    again.give_kudos("r2", giver="alice")  # the first write records the policy as version 1
    assert [v.version for v in again.policy_history()] == [1]
    assert_consistent(again)


def test_alembic_autogenerate_finds_the_version_4_additions_on_version_3_tables(db: Db) -> None:
    store = db.store()
    forum(clocked(store))
    _as_of_version(db, store, 3)
    prefix = store.tables.events.name.removesuffix("events")

    def ours(name: str | None, type_: str, parent: Any) -> bool:
        return include_name(name, type_, parent) and (
            type_ != "table" or bool(name and name.startswith(prefix))
        )

    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_name": ours}
        )
        found = compare_metadata(context, store.metadata)
    added = sorted(
        (d[0], d[1].name if d[0] == "add_table" else f"{d[2]}.{d[3].name}")
        for d in (diff if isinstance(diff, tuple) else diff[0] for diff in found)
    )
    assert added == [
        ("add_column", f"{store.tables.ledger.name}.policy"),
        ("add_table", store.tables.policies.name),
    ]


def test_tables_without_the_search_index_still_find_similar_topics(db: Db) -> None:
    md = db.tables()
    md.create_all(db.engine)  # a host's migration: the tables, not kudos's full-text index
    c = clocked(SqlStore(db.engine, metadata=md))
    _topics(c)
    assert [s.topic for s in c.similar_topics("roaming abroad")] == ["t1", "t2"]
    assert c.similar_topics('"abroad" NEAR(*)')[0].topic == "t1"
