"""The counters table's layout: what an event writes, what each read goes through.

A kudos changes a dozen counter rows of two members. Keyed by ``(community, scope,
subject, metric)``, one member's rows of a scope sit side by side; on SQLite the key is
the table (``WITHOUT ROWID``: no rowid B-tree beside it); the one index beside the key
ranks boards and leaves out rows no board ranks (caps, health figures, topic tallies).
Tables of the earlier layout keep working and ``SqlStore.optimize()`` moves them over.
"""

from __future__ import annotations

import io
import json
import os
import re
import sqlite3
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, MetaData, create_engine, event, inspect, select, text

import kudos
from kudos import Community, MemoryStore
from kudos.events import Event, KudosGiven, MemberJoined, ReplyPosted, TopicPosted
from kudos.stores._sql_schema import BOARD_ROWS, UNRANKED_METRICS, on_board_index
from kudos.stores.sql import SqlStore, configure_sqlite, make_metadata
from kudos.testing import FakeClock, assert_consistent

_made = iter(range(10**6))


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        # A host's SQLite engine prepared as docs/stores.md says: each transaction BEGINs.
        found = configure_sqlite(create_engine(f"sqlite:///{tmp_path / 'layout.db'}"))
        yield found
        found.dispose()
    else:
        yield request.getfixturevalue("postgres_engine")


def _metadata() -> MetaData:
    return make_metadata(prefix=f"lay{os.getpid()}_{next(_made)}_")


@contextmanager
def _tables(
    engine: Engine, shape: Callable[[Engine, MetaData], None] | None = None
) -> Iterator[MetaData]:
    """New kudos tables under a prefix of their own, ``shape`` applied, dropped afterwards."""
    md = _metadata()
    md.create_all(engine)
    try:
        if shape is not None:
            shape(engine, md)
        yield md
    finally:
        md.drop_all(engine)


def _index(engine: Engine, p: str, table: str, name: str, columns: str, where: str = "") -> None:
    """Make kudos's index ``ix_<p><table>_<name>`` on ``(community, <columns>)`` again, as
    given (dropped first when there)."""
    with engine.begin() as conn:
        conn.execute(text(f"DROP INDEX IF EXISTS ix_{p}{table}_{name}"))
        conn.execute(
            text(
                f"CREATE INDEX ix_{p}{table}_{name} ON {p}{table} (community, {columns})"
                + (f" WHERE {where}" if where else "")
            )
        )


def _full_indexes(engine: Engine, md: MetaData) -> None:
    """Make ``md``'s document and ledger indexes hold every row, as earlier versions did."""
    docs = md.tables[next(t for t in md.tables if t.endswith("docs"))]
    p = docs.name[: -len("docs")]
    _index(engine, p, "docs", "ref", "kind, ref, key")
    _index(engine, p, "docs", "status", "kind, status, key")
    _index(engine, p, "ledger", "reverses", "reverses")


def _rowid_counters(engine: Engine, md: MetaData, key: str) -> str:
    """Make ``md``'s counters table again as a rowid table keyed by ``key`` (empty, without
    indexes); its prefix."""
    counters = md.tables[next(t for t in md.tables if t.endswith("counters"))]
    p = counters.name[: -len("counters")]
    table = f"{counters.schema}.{counters.name}" if counters.schema else counters.name
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE {table}"))
        conn.execute(
            text(
                f"CREATE TABLE {table} (community VARCHAR NOT NULL, "
                "metric VARCHAR NOT NULL, scope VARCHAR NOT NULL, subject VARCHAR NOT NULL, "
                f"value BIGINT NOT NULL, CONSTRAINT pk_{p}counters PRIMARY KEY ({key}))"
            )
        )
    return p


def _earlier_layout(engine: Engine, md: MetaData) -> None:
    """Give ``md``'s tables the layout of kudos before this change."""
    _full_indexes(engine, md)
    p = _rowid_counters(engine, md, "community, metric, scope, subject")
    _index(engine, p, "counters", "board", "metric, scope, value, subject")
    _index(engine, p, "counters", "subject", "subject, scope")


def _half_moved(engine: Engine, md: MetaData, state: str) -> None:
    """Leave ``md``'s counters table as a migration that made part of the change would."""
    counters = md.tables[next(t for t in md.tables if t.endswith("counters"))]
    p = counters.name[: -len("counters")]
    if state == "counters moved, full document indexes":
        _full_indexes(engine, md)
        return
    if state in ("a board index of the last change's condition", "the previous version's"):
        last = (
            "substr(metric, 1, 4) <> 'cap:' "
            "AND metric NOT IN ('health', 'people_involved', 'followers')"
        )
        _index(engine, p, "counters", "board", "metric, scope, value, subject", last)
        if state == "the previous version's":
            _full_indexes(engine, md)
        return
    if state == "old key, no subject index":
        _earlier_layout(engine, md)
        with engine.begin() as conn:
            conn.execute(text(f"DROP INDEX ix_{p}counters_subject"))
        return
    board = "metric, scope, value, subject"
    if state == "new key, full board index":
        _index(engine, p, "counters", "board", board)
        return
    assert state == "new key, a rowid table"
    _rowid_counters(engine, md, "community, scope, subject, metric")
    _index(engine, p, "counters", "board", board, BOARD_ROWS)


@pytest.mark.parametrize(
    "state",
    [
        "old key, no subject index",
        "new key, full board index",
        "new key, a rowid table",
        "counters moved, full document indexes",
        "a board index of the last change's condition",
        "the previous version's",
    ],
)
def test_optimize_finishes_a_layout_change_a_migration_made_only_in_part(
    engine: Engine, state: str
) -> None:
    if state.endswith("rowid table") and engine.dialect.name != "sqlite":
        state = "new key, full board index"  # PostgreSQL tables have no rowid
    with _tables(engine, lambda e, m: _half_moved(e, m, state)) as md:
        store, clock = SqlStore(engine, metadata=md), FakeClock()
        c = _forum(store, clock)
        before, rows = _reads(c), _counter_rows(engine, md)
        assert not store.layout_current()
        assert store.optimize() is True
        assert store.layout_current()
        assert _layout(engine, md) == _layout_made_now(engine)
        assert _counter_rows(engine, md) == rows
        moved = Community(store=SqlStore(engine, metadata=md), policy=c.policy, clock=clock)
        assert _reads(moved) == before


def _ask(engine: Engine, name: str, *, sqlite: str, postgresql: str) -> Any:
    """The one value the catalogue query for ``engine``'s database gives for ``name``."""
    with engine.connect() as conn:
        sql = sqlite if engine.dialect.name == "sqlite" else postgresql
        return conn.execute(text(sql), {"n": name}).scalar_one()


def _table_identity(engine: Engine, name: str) -> object:
    """What changes when a table is made again: SQLite's root page, PostgreSQL's oid."""
    return _ask(
        engine,
        name,
        sqlite="SELECT rootpage FROM sqlite_master WHERE name = :n",
        postgresql="SELECT CAST(CAST(:n AS regclass) AS oid)",
    )


def _layout(engine: Engine, md: MetaData) -> tuple[Any, ...]:
    """The counters table's key, the indexes of the counters, documents and ledger (with
    their conditions) and, on SQLite, the counters table's DDL."""
    counters = md.tables[next(t for t in md.tables if t.endswith("counters"))]
    p = counters.name[: -len("counters")]
    with engine.connect() as conn:
        found = inspect(conn)
        key = found.get_pk_constraint(counters.name)["constrained_columns"]
        if engine.dialect.name == "sqlite":
            sql = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :t"
        else:
            sql = (
                "SELECT c.relname, pg_get_indexdef(c.oid) FROM pg_index i "
                "JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = CAST(:t AS regclass)"
            )
        # Each index's definition as the database keeps it, from its columns on, without
        # blanks or quotes (SQLAlchemy's reflection reads a condition's first line only).
        indexes = [
            (
                name.lower().replace(p, "<p>"),
                re.sub(r'[\s"]', "", str(ddl or "")[str(ddl or "").find("(") :]).lower(),
            )
            for table in (counters.name, f"{p}docs", f"{p}ledger")
            for name, ddl in sorted(conn.execute(text(sql), {"t": table}).all())
        ]
        ddl = None
        if engine.dialect.name == "sqlite":
            ddl = conn.execute(
                text("SELECT sql FROM sqlite_master WHERE name = :n"), {"n": counters.name}
            ).scalar_one()
            ddl = " ".join(ddl.replace(p, "<p>").replace('"', "").split())  # a rename quotes
    return key, indexes, ddl


def _layout_made_now(engine: Engine) -> tuple[Any, ...]:
    with _tables(engine) as md:
        return _layout(engine, md)


def _forum(store: SqlStore, clock: FakeClock | None = None) -> Community:
    """A giffgaff community with topics, replies, kudos and a solution over three days."""
    clock = clock or FakeClock()
    c = Community(store=store, policy=kudos.policies.giffgaff(), clock=clock)
    members = [f"m{i}" for i in range(8)]
    for m in members:
        c.join(m)
    for day in range(3):
        for t in range(3):
            topic = f"t{day}.{t}"
            c.post_topic(
                topic, author=members[t], kind="question", title=f"Q {topic}", tags=["roaming"]
            )
            for r in range(3):
                reply = f"{topic}.r{r}"
                c.post_reply(reply, topic=topic, author=members[(t + r + 1) % 8])
                for g in range(2):
                    c.give_kudos(reply, giver=members[(t + r + g + 3) % 8])
            c.accept_solution(topic, reply=f"{topic}.r0", by=members[t])
        clock.advance(timedelta(days=1))
    return c


def _counter_rows(engine: Engine, md: MetaData) -> list[tuple[Any, ...]]:
    counters = md.tables[next(t for t in md.tables if t.endswith("counters"))]
    with engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(select(counters)))


def _reads(c: Community) -> dict[str, Any]:
    """What a host reads from counters: standings, boards of every kind, positions."""
    members = [f"m{i}" for i in range(8)]
    return {
        "standings": [c.standing(m) for m in members],
        "boards": [
            c.leaderboard(by=by, **extra)
            for by in ("kudos_received", "reputation", "solutions", "points")
            for extra in ({}, {"window": "7d"})
        ],
        "positions": [
            c.position(m, by="kudos_received", **extra)
            for m in members
            for extra in ({}, {"window": "7d"})
        ],
        "health": c.health(),
    }


def test_the_counters_table_is_keyed_by_scope_then_subject_with_one_partial_board_index(
    tmp_path: Path,
) -> None:
    store = SqlStore.from_url(f"sqlite:///{tmp_path / 'k.db'}")
    counters = store.tables.counters
    with store.engine.connect() as conn:
        key = inspect(conn).get_pk_constraint(counters.name)["constrained_columns"]
        indexes = inspect(conn).get_indexes(counters.name)
        ddl = conn.execute(
            text("SELECT sql FROM sqlite_master WHERE name = :n"), {"n": counters.name}
        ).scalar_one()
    store.close()
    assert key == ["community", "scope", "subject", "metric"]
    assert "WITHOUT ROWID" in ddl
    assert [ix["column_names"] for ix in indexes] == [
        ["community", "metric", "scope", "value", "subject"]
    ]
    assert BOARD_ROWS in str(indexes[0]["dialect_options"]["sqlite_where"])


def _history(members: int, days: int) -> list[Event]:
    """Each member posts a topic a day, tagged; the next ten reply, two give kudos to each."""
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    names = [f"m{i}" for i in range(members)]
    out: list[Event] = [MemberJoined(member=m, at=start) for m in names]
    for day in range(days):
        at = start + timedelta(days=day, minutes=1)
        for i, author in enumerate(names):
            topic = f"t{day}.{i}"
            out.append(TopicPosted(topic=topic, author=author, tags=[f"tag{i % 7}"], at=at))
            for r in range(1, 4):
                reply, replier = f"{topic}.r{r}", names[(i + r) % members]
                out.append(ReplyPosted(reply=reply, topic=topic, author=replier, at=at))
                for g in (4, 5):
                    out.append(KudosGiven(post=reply, giver=names[(i + r + g) % members], at=at))
    return out


def _no_checkpoints(path: Path) -> Engine:
    """An engine on an SQLite file in WAL mode whose commits leave every page they write in
    the WAL: its size counts them all."""
    engine = create_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def _connected(dbapi: Any, _: Any) -> None:
        dbapi.execute("PRAGMA journal_mode=WAL")
        dbapi.execute("PRAGMA wal_autocheckpoint=0")

    return engine


def _wal_pages(
    path: Path,
    shape: Callable[[Engine, MetaData], None] | None,
    first: list[Event],
    counted: list[Event],
) -> float:
    """WAL pages per event of ``counted``, recorded one per transaction (as a forum records
    them) after ``first`` in one batch, on new tables ``shape`` gave another layout."""
    engine = _no_checkpoints(path)
    md = _metadata()
    md.create_all(engine)
    if shape is not None:
        shape(engine, md)
    c = Community(store=SqlStore(engine, metadata=md), policy=kudos.policies.giffgaff())
    c.record_many(first)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    for fact in counted:
        c.record(fact)
    size = Path(f"{path}-wal").stat().st_size
    engine.dispose()
    return size / (4096 + 24) / len(counted)


def test_a_member_joining_writes_a_quarter_fewer_pages_than_with_indexes_of_every_row(
    tmp_path: Path,
) -> None:
    first = [MemberJoined(member=f"m{i:04}") for i in range(0, 3000, 2)]
    # Members between those there: their rows land across the indexes.
    joins: list[Event] = [MemberJoined(member=f"m{i:04}") for i in range(1, 600, 2)]
    full = _wal_pages(tmp_path / "full.db", _full_indexes, first, joins)
    partial = _wal_pages(tmp_path / "partial.db", None, first, joins)
    assert partial <= 0.8 * full, (partial, full)


def test_a_kudos_on_sqlite_writes_fewer_pages_than_on_the_earlier_layout(tmp_path: Path) -> None:
    history = _history(members=300, days=2)
    first, last = history[:-200], history[-200:]
    earlier = _wal_pages(tmp_path / "earlier.db", _earlier_layout, first, last)
    now = _wal_pages(tmp_path / "now.db", None, first, last)
    assert now <= 0.85 * earlier, (now, earlier)


def test_every_board_and_standing_read_goes_through_an_index_on_sqlite(tmp_path: Path) -> None:
    store = SqlStore.from_url(f"sqlite:///{tmp_path / 'k.db'}")
    c = _forum(store)
    plans: list[str] = []
    engine = store.engine

    @event.listens_for(engine, "before_cursor_execute")
    def _explain(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if "counters" in statement and statement.lstrip().upper().startswith("SELECT"):
            rows = cursor.connection.execute(f"EXPLAIN QUERY PLAN {statement}", params)
            plans.append(" | ".join(str(r[-1]) for r in rows))

    c2 = Community(store=SqlStore(engine, metadata=store.metadata), cache=None, policy=c.policy)
    _reads(c2)
    for m in ("m1", "m2"):
        c2.position(m, by="reputation")
    assert plans
    for plan in plans:
        for step in plan.split(" | "):
            if "counters" in step:
                assert step.startswith("SEARCH"), plan  # never a SCAN of the table
    assert any("ix_kudos_counters_board" in p for p in plans)
    store.close()


_METRICS = ["health", "cap:points", "CAP:x", "cap", "kudos_received", "points", "Health"]
_METRICS += ["people_involved", "followers", "followers ", "ça:", "日本", ""]
_ASKS = text(
    f"SELECT CASE WHEN {BOARD_ROWS} THEN 1 ELSE 0 END "
    "FROM (SELECT CAST(:m AS VARCHAR) AS metric) AS row"
)


@settings(max_examples=300, deadline=None)
@given(metric=st.sampled_from(_METRICS) | st.text(max_size=8))
def test_on_board_index_says_what_the_index_condition_says_on_sqlite(metric: str) -> None:
    with _sqlite_memory().connect() as conn:
        assert bool(conn.execute(_ASKS, {"m": metric}).scalar_one()) == on_board_index(metric)


_ENGINE: list[Engine] = []


def _sqlite_memory() -> Engine:
    if not _ENGINE:
        _ENGINE.append(create_engine("sqlite://"))
    return _ENGINE[0]


def test_on_board_index_says_what_the_index_condition_says_on_postgresql(
    postgres_engine: Engine,
) -> None:
    with postgres_engine.connect() as conn:
        for metric in _METRICS:
            assert bool(conn.execute(_ASKS, {"m": metric}).scalar_one()) == on_board_index(metric)


def test_the_board_index_holds_only_the_counters_boards_rank(tmp_path: Path) -> None:
    """A member's own tallies (kudos given, replies, topics, days active) change with most
    events and no board ranks them: an event moves no board-index entry for them."""
    store = SqlStore.from_url(f"sqlite:///{tmp_path / 'k.db'}")
    _forum(store)
    with store.engine.connect() as conn:
        written = {m for (m,) in conn.exec_driver_sql("SELECT DISTINCT metric FROM kudos_counters")}
        indexed = {
            m
            for (m,) in conn.exec_driver_sql(
                f"SELECT DISTINCT metric FROM kudos_counters WHERE {BOARD_ROWS}"
            )
        }
    store.close()
    assert {"kudos_given", "replies", "topics", "days_active"} <= written
    assert indexed == {"reputation", "points", "points_earned", "kudos_received", "solutions"}


def test_every_ranked_metric_is_on_the_board_index_and_every_unranked_one_is_written() -> None:
    """The names the index leaves out are the engine's (a rename would fail here), and no
    board a host can ask for is among them."""
    from kudos.engine.core import RANKED_COUNTERS, counter_for
    from kudos.health import figures
    from kudos.leaderboards.rules import METRICS

    ranked = {counter_for(m) for m in METRICS} | RANKED_COUNTERS | {"points"}
    assert all(on_board_index(m) for m in ranked)
    store = MemoryStore()
    c = Community(store=store, policy=kudos.policies.giffgaff(), clock=FakeClock())
    c.join("asker")
    c.join("alice")
    c.post_topic("t1", author="asker", title="No data abroad")
    c.post_reply("r1", topic="t1", author="alice")
    c.join("bob")
    c.follow("t1", member="bob")
    c.give_kudos("r1", giver="asker")
    with store.transaction(c.id) as tx:
        written = {m for m, _, _ in tx.snapshot().counters}
    unranked = {m for m in written if not on_board_index(m)}
    assert figures.METRIC == "health"
    assert (
        {*UNRANKED_METRICS}
        <= unranked
        <= {*UNRANKED_METRICS} | {m for m in written if m.startswith("cap:")}
    )


def test_optimize_moves_a_table_of_the_earlier_layout_and_every_read_stays_the_same(
    engine: Engine,
) -> None:
    with _tables(engine, _earlier_layout) as md:
        clock = FakeClock()
        store = SqlStore(engine, metadata=md)
        c = _forum(store, clock)
        before, rows = _reads(c), _counter_rows(engine, md)
        store.optimize()
        counters = md.tables[next(t for t in md.tables if t.endswith("counters"))]
        with engine.connect() as conn:
            key = inspect(conn).get_pk_constraint(counters.name)["constrained_columns"]
            indexes = [ix["column_names"] for ix in inspect(conn).get_indexes(counters.name)]
        assert key == ["community", "scope", "subject", "metric"]
        assert indexes == [["community", "metric", "scope", "value", "subject"]]
        assert _counter_rows(engine, md) == rows
        fresh = Community(store=SqlStore(engine, metadata=md), policy=c.policy, clock=clock)
        assert _reads(fresh) == before
        fresh.give_kudos("t0.0.r1", giver="m7")  # and the engine writes on
        made = _table_identity(engine, counters.name)
        store.optimize()  # current: nothing to do (the table is not made again)
        assert _table_identity(engine, counters.name) == made
        assert_consistent(fresh)


def test_kudos_rebuild_moves_a_database_of_the_earlier_layout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kudos.cli import main

    monkeypatch.chdir(tmp_path)
    url = "sqlite:///kudos.db"
    c = kudos.open(url, policy=kudos.policies.giffgaff())
    md = c.store.metadata  # type: ignore[attr-defined]
    c.store.close()  # type: ignore[attr-defined]
    engine = create_engine(url)
    _earlier_layout(engine, md)
    c = kudos.open(url, policy=kudos.policies.giffgaff())
    c.record_many(_history(members=12, days=1))
    c.store.close()  # type: ignore[attr-defined]
    rows = _counter_rows(engine, md)
    out = io.StringIO()
    assert main(["rebuild", "--url", url], out) == 0, out.getvalue()
    assert "moved the kudos tables to this version's layout" in out.getvalue()
    again = io.StringIO()
    assert main(["rebuild", "--url", url, "--json"], again) == 0
    assert json.loads(again.getvalue())["layout_moved"] is False
    counters = md.tables["kudos_counters"]
    with engine.connect() as conn:
        key = inspect(conn).get_pk_constraint(counters.name)["constrained_columns"]
    assert key == ["community", "scope", "subject", "metric"]
    assert _counter_rows(engine, md) == rows
    engine.dispose()


def test_optimize_on_a_joined_connection_moves_the_layout_inside_the_host_transaction(
    engine: Engine,
) -> None:
    with _tables(engine, _earlier_layout) as md:
        _forum(SqlStore(engine, metadata=md))
        rows = _counter_rows(engine, md)
        counters = md.tables[next(t for t in md.tables if t.endswith("counters"))]
        with engine.connect() as conn:
            with conn.begin() as host:
                SqlStore(conn, metadata=md).optimize()
                host.rollback()  # the host changes its mind: the earlier layout stays
            key = inspect(conn).get_pk_constraint(counters.name)["constrained_columns"]
            assert key == ["community", "metric", "scope", "subject"]
            conn.rollback()
            with conn.begin():
                SqlStore(conn, metadata=md).optimize()
            key = inspect(conn).get_pk_constraint(counters.name)["constrained_columns"]
            assert key == ["community", "scope", "subject", "metric"]
            conn.rollback()
        assert _counter_rows(engine, md) == rows


def test_optimize_keeps_what_the_host_made_on_the_counters_table(engine: Engine) -> None:
    """A host's own index, view and trigger (and on PostgreSQL its grants and comment)
    survive the move, and work on the moved table."""
    md = _metadata()
    md.create_all(engine)
    counters = md.tables[next(t for t in md.tables if t.endswith("counters"))]
    name, p = counters.name, counters.name[: -len("counters")]
    log = f"{p}host_log"
    pg = engine.dialect.name == "postgresql"
    try:
        _earlier_layout(engine, md)
        clock = FakeClock()
        c = _forum(SqlStore(engine, metadata=md), clock)
        with engine.begin() as conn:
            conn.execute(text(f"CREATE INDEX {p}host_by_value ON {name} (value)"))
            conn.execute(
                text(
                    f"CREATE VIEW {p}host_reputation AS SELECT subject, value FROM {name} "
                    "WHERE metric = 'reputation' AND scope = 'all'"
                )
            )
            conn.execute(text(f"CREATE TABLE {log} (subject VARCHAR, value BIGINT)"))
            if pg:
                conn.execute(text(f"COMMENT ON TABLE {name} IS 'the host''s comment'"))
                conn.execute(text(f"GRANT SELECT ON {name} TO PUBLIC"))
                conn.execute(
                    text(
                        f"CREATE FUNCTION {p}host_logged() RETURNS trigger AS $$ BEGIN "
                        f"INSERT INTO {log} VALUES (NEW.subject, NEW.value); RETURN NEW; END "
                        "$$ LANGUAGE plpgsql"
                    )
                )
                conn.execute(
                    text(
                        f"CREATE TRIGGER {p}host_trigger AFTER UPDATE ON {name} FOR EACH ROW "
                        f"WHEN (NEW.metric = 'reputation' AND NEW.scope = 'all') "
                        f"EXECUTE FUNCTION {p}host_logged()"
                    )
                )
            else:
                conn.execute(
                    text(
                        f"CREATE TRIGGER {p}host_trigger AFTER UPDATE ON {name} "
                        "WHEN new.metric = 'reputation' AND new.scope = 'all' BEGIN "
                        f"INSERT INTO {log} VALUES (new.subject, new.value); END"
                    )
                )
        view = f"SELECT subject, value FROM {p}host_reputation ORDER BY subject"
        with engine.connect() as conn:
            before = conn.execute(text(view)).all()
        store = SqlStore(engine, metadata=md)
        assert not store.layout_current()
        assert store.optimize() is True
        assert store.layout_current()
        assert store.optimize() is False
        Community(store=store, policy=c.policy, clock=clock).give_kudos("t0.1.r1", giver="m7")
        with engine.connect() as conn:
            indexes = {ix["name"] for ix in inspect(conn).get_indexes(name)}
            assert f"{p}host_by_value" in indexes
            assert conn.execute(text(view)).all() != before  # the view reads the moved table
            assert conn.execute(text(f"SELECT count(*) FROM {log}")).scalar_one() > 0
            if pg:
                comment = inspect(conn).get_table_comment(name)["text"]
                assert comment == "the host's comment"
                granted = conn.execute(
                    text(
                        "SELECT count(*) FROM information_schema.role_table_grants "
                        "WHERE table_name = :n AND grantee = 'PUBLIC'"
                    ),
                    {"n": name},
                ).scalar_one()
                assert granted > 0
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP VIEW IF EXISTS {p}host_reputation"))
            conn.execute(text(f"DROP TABLE IF EXISTS {log}"))
        md.drop_all(engine)
        if pg:
            with engine.begin() as conn:
                conn.execute(text(f"DROP FUNCTION IF EXISTS {p}host_logged()"))


def test_optimize_on_a_database_without_kudos_tables_says_to_create_them(
    tmp_path: Path,
) -> None:
    engine = configure_sqlite(create_engine(f"sqlite:///{tmp_path / 'empty.db'}"))
    with pytest.raises(kudos.StoreError, match=r"tables are missing.*create_all"):
        SqlStore(engine).optimize()
    engine.dispose()


def test_optimize_waits_for_a_writer_on_a_hosts_sqlite_engine(tmp_path: Path) -> None:
    """The documented host engine begins deferred: optimize() takes the write lock with its
    first statement, so a writer committing meanwhile makes it wait, not fail."""
    url = f"sqlite:///{tmp_path / 'live.db'}"
    md = _metadata()
    engine = configure_sqlite(create_engine(url))
    md.create_all(engine)
    c = _forum(SqlStore(engine, metadata=md))
    locked, done = threading.Event(), threading.Event()

    def writer() -> None:
        other = sqlite3.connect(tmp_path / "live.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        other.execute(f"UPDATE {c.store.tables.counters.name} SET value = value")  # type: ignore[attr-defined]
        locked.set()
        done.wait(0.5)
        other.execute("COMMIT")
        other.close()

    thread = threading.Thread(target=writer)
    thread.start()
    locked.wait()
    try:
        assert SqlStore(engine, metadata=md).optimize() is False  # current; waited, no error
    finally:
        done.set()
        thread.join()
    engine.dispose()


def _documented_sql(dialect: str) -> list[str]:
    """The offline-migration statements docs/stores.md gives for ``dialect`` (``"indexes"``:
    the short form for tables already in the new counters layout)."""
    docs = (Path(__file__).parent.parent / "docs" / "stores.md").read_text()
    part = docs[docs.index("For offline migrations") :]
    blocks = part.split("```sql\n")[1:4]
    block = blocks[["postgresql", "sqlite", "indexes"].index(dialect)].split("```")[0]
    return [s.strip() for s in block.split(";") if s.strip()]


def test_the_documented_short_form_moves_tables_of_the_new_counters_layout(
    engine: Engine,
) -> None:
    with _tables(engine, lambda e, m: _half_moved(e, m, "the previous version's")) as md:
        p = md.tables[next(t for t in md.tables if t.endswith("docs"))].name[: -len("docs")]
        c = _forum(SqlStore(engine, metadata=md), FakeClock())
        before = _reads(c)
        store = SqlStore(engine, metadata=md)
        assert not store.layout_current()
        with engine.begin() as conn:
            for statement in _documented_sql("indexes"):
                for table in ("counters", "docs", "ledger"):
                    statement = statement.replace(f"kudos_{table}", f"{p}{table}")
                conn.exec_driver_sql(statement)
        assert store.layout_current()
        assert _layout(engine, md) == _layout_made_now(engine)
        assert _reads(Community(store=store, policy=c.policy, clock=c.clock)) == before


def test_the_documented_offline_sql_moves_the_table(engine: Engine) -> None:
    md = make_metadata()  # the default prefix the docs' SQL names
    if engine.dialect.name == "postgresql":
        md = make_metadata(schema="layout_docs")
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS layout_docs CASCADE"))
            conn.execute(text("CREATE SCHEMA layout_docs"))
    md.create_all(engine)
    try:
        _earlier_layout(engine, md)
        clock = FakeClock()
        c = _forum(SqlStore(engine, metadata=md), clock)
        before, rows = _reads(c), _counter_rows(engine, md)
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(text("SET LOCAL search_path TO layout_docs"))
            for statement in _documented_sql(engine.dialect.name):
                conn.exec_driver_sql(statement)
        store = SqlStore(engine, metadata=md)
        assert store.layout_current()
        assert _counter_rows(engine, md) == rows
        assert _reads(Community(store=store, policy=c.policy, clock=clock)) == before
    finally:
        md.drop_all(engine)
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA IF EXISTS layout_docs CASCADE"))


def test_a_standings_counters_are_listed_by_name_on_every_store_and_layout(
    engine: Engine,
) -> None:
    with _tables(engine, _earlier_layout) as md:
        clock = FakeClock()
        sql = _forum(SqlStore(engine, metadata=md), clock)
        memory = _forum(MemoryStore(), FakeClock())
        for m in ("m1", "m2", "m5"):
            names = list(sql.standing(m).counters)
            assert names == sorted(names)
            assert names == list(memory.standing(m).counters)
        SqlStore(engine, metadata=md).optimize()
        moved = Community(store=SqlStore(engine, metadata=md), policy=sql.policy, clock=clock)
        assert [list(moved.standing(m).counters) for m in ("m1", "m2", "m5")] == [
            list(memory.standing(m).counters) for m in ("m1", "m2", "m5")
        ]


def _ref_index(md: MetaData) -> tuple[str, str]:
    """The documents table's name and its ref index's, under ``md``'s prefix."""
    docs = md.tables[next(t for t in md.tables if t.endswith("docs"))]
    return docs.name, f"ix_{docs.name}_ref"


@pytest.mark.parametrize(
    "made",
    [
        "CREATE INDEX {ix} ON {docs} (community, kind, ref, key) WHERE ref = 'nope'",
        "CREATE INDEX {ix} ON {docs} (community, kind, ref, key) WHERE status IS NOT NULL",
        "CREATE INDEX {ix} ON {docs} (community, kind, ref) WHERE ref IS NOT NULL",
        "CREATE UNIQUE INDEX {ix} ON {docs} (community, kind, ref, key) WHERE ref IS NOT NULL",
        "CREATE INDEX {ix} ON {docs} (community, kind, lower(ref), key) WHERE ref IS NOT NULL",
        "CREATE INDEX {IX} ON {docs} (community, kind, ref, key)",
    ],
)
def test_an_index_under_kudoss_name_made_otherwise_is_not_current_and_optimize_remakes_it(
    engine: Engine, made: str
) -> None:
    with _tables(engine) as md:
        docs, ix = _ref_index(md)
        with engine.begin() as conn:
            conn.execute(text(f"DROP INDEX {ix}"))
            conn.execute(text(made.format(ix=ix, IX=ix.upper(), docs=docs)))
        store = SqlStore(engine, metadata=md)
        assert not store.layout_current()
        assert store.optimize() is True
        assert store.layout_current()
        assert store.optimize() is False
        assert _layout(engine, md) == _layout_made_now(engine)


def test_the_documented_sql_typed_in_capitals_is_current_on_sqlite(tmp_path: Path) -> None:
    store = SqlStore.from_url(f"sqlite:///{tmp_path / 'k.db'}")
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_kudos_docs_ref")
        conn.exec_driver_sql(
            "CREATE INDEX IX_KUDOS_DOCS_REF ON KUDOS_DOCS (COMMUNITY, KIND, REF, KEY)\n"
            "    WHERE REF IS NOT NULL"
        )
    assert store.layout_current()
    assert store.optimize() is False
    store.close()


def test_an_invalid_index_left_by_a_failed_concurrent_build_is_made_again_on_postgresql(
    postgres_engine: Engine,
) -> None:
    with _tables(postgres_engine) as md:
        docs, ix = _ref_index(md)
        _forum(SqlStore(postgres_engine, metadata=md))
        with postgres_engine.connect() as conn:
            conn.execute(text(f"DROP INDEX {ix}"))
            conn.commit()
            auto = conn.execution_options(isolation_level="AUTOCOMMIT")
            # A unique build over duplicate refs fails halfway and leaves an invalid index.
            with pytest.raises(Exception, match="could not create unique index"):
                auto.execute(
                    text(f"CREATE UNIQUE INDEX CONCURRENTLY {ix} ON {docs} (community, kind)")
                )
            assert (
                auto.execute(
                    text("SELECT indisvalid FROM pg_index WHERE indexrelid = CAST(:n AS regclass)"),
                    {"n": ix},
                ).scalar_one()
                is False
            )
        store = SqlStore(postgres_engine, metadata=md)
        assert not store.layout_current()
        assert store.optimize() is True
        assert store.layout_current()
        assert _layout(postgres_engine, md) == _layout_made_now(postgres_engine)


def test_an_index_of_another_table_under_kudoss_name_is_refused_with_what_to_do(
    engine: Engine,
) -> None:
    with _tables(engine) as md:
        docs, ix = _ref_index(md)
        host = f"{docs}_host"
        with engine.begin() as conn:
            conn.execute(text(f"DROP INDEX {ix}"))
            conn.execute(text(f"CREATE TABLE {host} (ref VARCHAR)"))
            conn.execute(text(f"CREATE INDEX {ix} ON {host} (ref)"))
        try:
            store = SqlStore(engine, metadata=md)
            assert not store.layout_current()
            with pytest.raises(kudos.StoreError, match=rf"{ix}.*is on table.*{host}.*rename"):
                store.optimize()
            with engine.connect() as conn:  # nothing changed
                assert {i["name"] for i in inspect(conn).get_indexes(host)} == {ix}
        finally:
            with engine.begin() as conn:
                conn.execute(text(f"DROP TABLE {host}"))


def test_a_hosts_expression_index_raises_no_warning(engine: Engine) -> None:
    with _tables(engine) as md:
        docs, _ = _ref_index(md)
        with engine.begin() as conn:
            conn.execute(text(f"CREATE INDEX {docs}_host_lower ON {docs} (lower(ref))"))
            conn.execute(
                text(f"CREATE INDEX {docs}_host_lower_c ON {docs[:-4]}counters (lower(subject))")
            )
        store = SqlStore(engine, metadata=md)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert store.layout_current()
            assert store.optimize() is False
        _full_indexes(engine, md)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert store.optimize() is True
        assert _host_index_there(engine, f"{docs}_host_lower")


def _host_index_there(engine: Engine, name: str) -> bool:
    return bool(
        _ask(
            engine,
            name,
            sqlite="SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = :n",
            postgresql="SELECT count(*) FROM pg_class WHERE relname = :n AND relkind = 'i'",
        )
    )


@pytest.mark.parametrize("missing", ["docs", "ledger", "counters"])
def test_layout_current_on_a_database_missing_a_kudos_table_says_to_create_them(
    engine: Engine, missing: str
) -> None:
    with _tables(engine) as md:
        table = md.tables[next(t for t in md.tables if t.endswith(missing))]
        with engine.begin() as conn:
            conn.execute(text(f"DROP TABLE {table.name}"))
        store = SqlStore(engine, metadata=md)
        for call in (store.layout_current, store.optimize):
            with pytest.raises(kudos.StoreError, match=rf"no table '{table.name}'.*create_all"):
                call()
        with engine.begin() as conn:
            table.create(conn)


def test_optimize_on_postgresql_builds_an_index_while_readers_hold_the_table(
    postgres_engine: Engine,
) -> None:
    """The new partial index is built first (reads go on), then swapped in: a reader holding
    the documents table makes optimize() wait only at the swap."""
    with _tables(
        postgres_engine, lambda e, m: _half_moved(e, m, "counters moved, full document indexes")
    ) as md:
        docs, ix = _ref_index(md)
        c = _forum(SqlStore(postgres_engine, metadata=md))
        reader = postgres_engine.connect()
        reader.execute(text(f"SELECT count(*) FROM {docs}"))  # holds its lock to the end
        pid = [0]
        done = threading.Event()

        def run() -> None:
            with postgres_engine.connect() as conn:
                pid[0] = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
                conn.commit()
                with conn.begin():
                    SqlStore(conn, metadata=md).optimize()
            done.set()

        thread = threading.Thread(target=run)
        thread.start()
        try:
            waiting = None
            with postgres_engine.connect() as watch:
                for _ in range(200):
                    row = watch.execute(
                        text("SELECT wait_event_type, query FROM pg_stat_activity WHERE pid = :p"),
                        {"p": pid[0]},
                    ).first()
                    if row is not None and row[0] == "Lock":
                        waiting = row[1]
                        break
                    watch.rollback()
                    done.wait(0.05)
            assert waiting is not None and waiting.startswith("DROP INDEX"), waiting
            assert f"{ix}_new" not in waiting  # the new one is built: the old one goes now
        finally:
            reader.rollback()
            reader.close()
            thread.join()
        assert SqlStore(postgres_engine, metadata=md).layout_current()
        assert _reads(
            Community(store=SqlStore(postgres_engine, metadata=md), policy=c.policy, clock=c.clock)
        )


@pytest.mark.parametrize(
    "condition",
    [
        "UPPER",  # BOARD_ROWS typed in capitals: 'CAP:' is not 'cap:'
        "metric = 'points'",
        "substr(metric, 1, 4) <> 'cap:' AND metric NOT IN ('health', 'people_involved')",
    ],
)
def test_a_board_index_of_another_condition_is_not_current_and_optimize_remakes_it(
    engine: Engine, condition: str
) -> None:
    with _tables(engine) as md:
        p = md.tables[next(t for t in md.tables if t.endswith("docs"))].name[: -len("docs")]
        where = BOARD_ROWS.upper() if condition == "UPPER" else condition
        _index(engine, p, "counters", "board", "metric, scope, value, subject", where)
        store = SqlStore(engine, metadata=md)
        assert not store.layout_current()
        assert store.optimize() is True
        assert store.layout_current()
        assert _layout(engine, md) == _layout_made_now(engine)


def test_boards_read_through_the_previous_versions_board_index_on_sqlite(tmp_path: Path) -> None:
    """Until optimize() makes it again, the board index of the previous version's condition
    serves this version's board queries (they name its terms too)."""
    store = SqlStore.from_url(f"sqlite:///{tmp_path / 'k.db'}")
    c = _forum(store)
    _half_moved(store.engine, store.metadata, "the previous version's")
    plans: list[str] = []

    @event.listens_for(store.engine, "before_cursor_execute")
    def _explain(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if "ORDER BY kudos_counters.value DESC" in statement:
            rows = cursor.connection.execute(f"EXPLAIN QUERY PLAN {statement}", params)
            plans.append(" | ".join(str(r[-1]) for r in rows))

    fresh = Community(store=SqlStore(store.engine, metadata=store.metadata), policy=c.policy)
    fresh.leaderboard(by="kudos_received")
    fresh.leaderboard(by="reputation", period="current")
    assert plans and all("ix_kudos_counters_board" in plan for plan in plans), plans
    store.close()


def test_optimize_on_sqlite_remakes_views_on_views_of_the_counters_table(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'k.db'}"
    engine = configure_sqlite(create_engine(url))
    md = _metadata()
    md.create_all(engine)
    counters = md.tables[next(t for t in md.tables if t.endswith("counters"))].name
    _earlier_layout(engine, md)
    c = _forum(SqlStore(engine, metadata=md))
    with engine.begin() as conn:
        conn.execute(
            text(
                f"CREATE VIEW host_a AS SELECT subject, value FROM {counters} "
                "WHERE metric = 'reputation' AND scope = 'all'"
            )
        )
        conn.execute(text("CREATE VIEW host_b AS SELECT * FROM host_a WHERE value > 0"))
        before = conn.execute(text("SELECT * FROM host_b ORDER BY subject")).all()
    store = SqlStore(engine, metadata=md)
    assert store.optimize() is True
    assert store.layout_current()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT * FROM host_b ORDER BY subject")).all() == before
    assert _reads(Community(store=store, policy=c.policy, clock=c.clock))
    engine.dispose()


def test_optimize_on_sqlite_refuses_while_a_foreign_key_would_act_on_the_counters(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'k.db'}"
    engine = configure_sqlite(create_engine(url))

    @event.listens_for(engine, "connect")
    def _keys_on(dbapi: Any, _: Any) -> None:
        dbapi.execute("PRAGMA foreign_keys=ON")

    md = _metadata()
    md.create_all(engine)
    counters = md.tables[next(t for t in md.tables if t.endswith("counters"))]
    _earlier_layout(engine, md)
    _forum(SqlStore(engine, metadata=md))
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE host_notes (community, metric, scope, subject, note, FOREIGN KEY "
                f"(community, metric, scope, subject) REFERENCES {counters.name} "
                "(community, metric, scope, subject) ON DELETE CASCADE)"
            )
        )
        conn.execute(
            text(
                f"INSERT INTO host_notes SELECT community, metric, scope, subject, 'kept' "
                f"FROM {counters.name} LIMIT 3"
            )
        )
    store = SqlStore(engine, metadata=md)
    with pytest.raises(kudos.StoreError, match=r"host_notes.*foreign key.*foreign_keys=OFF"):
        store.optimize()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM host_notes")).scalar_one() == 3
    assert not store.layout_current()
    engine.dispose()


def test_a_postgresql_search_path_whose_first_schema_is_another_finds_the_tables(
    postgres_engine: Engine,
) -> None:
    with _tables(postgres_engine) as md:
        engine = create_engine(postgres_engine.url)

        @event.listens_for(engine, "connect")
        def _path(dbapi: Any, _: Any) -> None:
            with dbapi.cursor() as cur:
                cur.execute("CREATE SCHEMA IF NOT EXISTS layout_app")
                cur.execute("SET search_path = layout_app, public")
            dbapi.commit()

        try:
            store = SqlStore(engine, metadata=md)
            assert store.layout_current()
            assert store.optimize() is False
            _full_indexes(postgres_engine, md)
            assert not store.layout_current()
            assert store.optimize() is True
            assert store.layout_current()
        finally:
            engine.dispose()
            with postgres_engine.begin() as conn:
                conn.execute(text("DROP SCHEMA IF EXISTS layout_app CASCADE"))


def test_postgresql_names_of_kudoss_indexes_on_other_tables_and_in_other_case(
    postgres_engine: Engine,
) -> None:
    with _tables(postgres_engine) as md:
        docs, ix = _ref_index(md)
        p = docs[: -len("docs")]
        host = f"{p}host"
        with postgres_engine.begin() as conn:
            conn.execute(text(f"CREATE TABLE {host} (a TEXT, b TEXT, c TEXT)"))
            # the earlier subject index's name on a table of the host's: not kudos's
            conn.execute(text(f"CREATE INDEX ix_{p}counters_subject ON {host} (a, b, c)"))
            # a quoted name in capitals is another index on PostgreSQL
            conn.execute(
                text(
                    f'CREATE INDEX "{ix.upper()}" ON {docs} (community, kind, ref, key) '
                    "WHERE ref IS NOT NULL"
                )
            )
        try:
            store = SqlStore(postgres_engine, metadata=md)
            assert store.layout_current()
            _full_indexes(postgres_engine, md)
            assert not store.layout_current()
            assert store.optimize() is True
            assert store.layout_current()
            with postgres_engine.begin() as conn:  # a build left by a failed move: kudos's
                conn.execute(text(f"DROP INDEX {ix}"))
                conn.execute(text(f"CREATE INDEX {ix}_new ON {docs} (community)"))
            assert store.optimize() is True
            assert store.layout_current()
            with postgres_engine.begin() as conn:  # the same name on a host's table: refused
                conn.execute(text(f"DROP INDEX {ix}"))
                conn.execute(text(f"CREATE INDEX {ix}_new ON {host} (a)"))
            with pytest.raises(kudos.StoreError, match=rf"{ix}_new.*is on table.*{host}"):
                store.optimize()
            assert _host_index_there(postgres_engine, f"{ix}_new")
        finally:
            with postgres_engine.begin() as conn:
                conn.execute(text(f"DROP TABLE {host}"))
                conn.execute(text(f'DROP INDEX IF EXISTS "{ix.upper()}"'))
