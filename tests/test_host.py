"""kudos inside a host's application: fresh reads, commit-bound notifications, joined transactions.

Each test here is something a host saw go wrong when it embedded kudos in a
small forum on SQLite and PostgreSQL: stale reads from a long-lived
``Community``, subscribers told of work the host rolled back, awards lost
from a connection nobody committed, repeated moderator actions answered as
event-id conflicts, and a ``standing()`` slowed by SQLite's planner.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import logging
import os
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, MetaData, create_engine, select, text

import kudos
from kudos import Community, InvalidInput, NotAllowed, ReadCache
from kudos.events import KudosGiven, MemberJoined, ReplyPosted, TopicPosted
from kudos.model import Notification
from kudos.stores.sql import SqlStore, configure_sqlite, make_metadata
from kudos.testing import FakeClock, assert_consistent

_names = itertools.count()


@attrs.define
class Db:
    """A database with kudos tables of this test's own (a fresh prefix)."""

    dialect: str
    engine: Engine
    url: str
    metadata: MetaData

    def store(self, bind: Engine | Connection | None = None) -> SqlStore:
        return SqlStore(bind if bind is not None else self.engine, metadata=self.metadata)

    def community(self, bind: Engine | Connection | None = None, **options: Any) -> Community:
        options.setdefault("clock", FakeClock())
        return Community(store=self.store(bind), **options)

    def rows(self, table: str) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    select(text("count(*)")).select_from(self.metadata.tables[self.prefix + table])
                ).scalar_one()
            )

    @property
    def prefix(self) -> str:
        return str(self.metadata.info["kudos"]["prefix"])


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Db]:
    """A SQLite file (a host-made engine) or the test PostgreSQL, with fresh kudos tables."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'forum.db'}"
        engine = create_engine(url)
    else:
        engine = request.getfixturevalue("postgres_engine")
        url = engine.url.render_as_string(hide_password=False)
    md = make_metadata(prefix=f"h{os.getpid()}_{next(_names)}_")
    SqlStore(engine, metadata=md).create_all()
    yield Db(engine.dialect.name, engine, url, md)
    md.drop_all(engine)
    if request.param == "sqlite":
        engine.dispose()


def forum(c: Community) -> None:
    c.record_many(
        [
            MemberJoined(member="alice"),
            MemberJoined(member="bob"),
            MemberJoined(member="carol"),
            MemberJoined(member="staff1", role="staff"),
            MemberJoined(member="staff2", role="staff"),
            TopicPosted(topic="t1", author="bob", title="No data abroad", tags=("roaming",)),
            ReplyPosted(reply="r1", topic="t1", author="alice"),
        ]
    )


# --- 1. fresh reads across Community objects and processes ---------------------------------


def test_a_long_lived_reader_sees_at_once_what_a_per_request_community_wrote(db: Db) -> None:
    forum(db.community())
    reader = db.community()  # long-lived, default (shared, checked) cache
    assert reader.standing("alice").points == 0
    with db.engine.begin() as conn:  # a request: its own Community on the request's connection
        db.community(conn).give_kudos("r1", giver="carol")
    assert reader.standing("alice").points == 5
    assert [r.member for r in reader.leaderboard(by="kudos_received")] == ["alice"]


def test_a_reader_with_its_own_ttl_cache_still_sees_this_processes_writes(db: Db) -> None:
    forum(db.community())
    reader = db.community(cache=ReadCache(ttl=3600, freshness="ttl"))
    assert reader.standing("alice").points == 0
    db.community().give_kudos("r1", giver="carol")  # another object, the default cache
    assert reader.standing("alice").points == 5


_OTHER_SERVER = """
import sys
from sqlalchemy import create_engine
import kudos
from kudos.stores.sql import SqlStore, configure_sqlite, make_metadata
engine = create_engine(sys.argv[1])
store = SqlStore(engine, metadata=make_metadata(prefix=sys.argv[2]))
kudos.Community(store=store).give_kudos("r1", giver=sys.argv[3])
"""


def _other_process_gives_kudos(db: Db, giver: str) -> None:
    subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_OTHER_SERVER), db.url, db.prefix, giver],
        check=True,
        timeout=120,
    )


def test_a_write_by_another_process_is_read_at_once(db: Db) -> None:
    forum(db.community())
    reader = db.community()
    assert reader.standing("alice").points == 0
    _other_process_gives_kudos(db, "carol")
    assert reader.standing("alice").points == 5


def test_ttl_freshness_is_stale_for_other_processes_by_at_most_the_ttl(db: Db) -> None:
    now = [0.0]
    forum(db.community())
    reader = db.community(cache=ReadCache(ttl=30, timer=lambda: now[0], freshness="ttl"))
    assert reader.standing("alice").points == 0
    _other_process_gives_kudos(db, "carol")
    assert reader.standing("alice").points == 0  # the documented bound: up to ttl seconds
    now[0] = 31
    assert reader.standing("alice").points == 5


# --- 2. notifications only for committed work --------------------------------------------


def _outbox(db: Db) -> list[Notification]:
    """What the outbox holds beyond the forum's own start (a badge for the quick reply)."""
    return [n for n in db.community().notifications(limit=None) if n.event_id != "reply-posted:r1"]


def _listening(c: Community) -> list[Notification]:
    heard: list[Notification] = []
    c.subscribe(heard.append)
    return heard


def test_subscribers_hear_nothing_of_work_the_host_rolled_back(db: Db) -> None:
    forum(db.community())
    with db.engine.connect() as conn, conn.begin() as tx:
        joined = db.community(conn)
        heard = _listening(joined)
        outcome = joined.give_kudos("r1", giver="carol")
        joined.accept_solution("t1", reply="r1", by="bob")
        assert outcome.notifications and heard == []  # not committed: nobody told yet
        tx.rollback()
    assert heard == []
    assert _outbox(db) == []


def test_subscribers_hear_of_joined_work_once_the_host_commits(db: Db) -> None:
    forum(db.community())
    with db.engine.begin() as conn:
        joined = db.community(conn)
        heard = _listening(joined)
        kudos_ = joined.give_kudos("r1", giver="carol")
        solved = joined.accept_solution("t1", reply="r1", by="bob")
        assert heard == []
    told = [*kudos_.notifications, *solved.notifications]
    assert told and heard == told
    assert _outbox(db) == told  # the outbox agrees


def test_work_in_a_rolled_back_savepoint_is_never_announced(db: Db) -> None:
    forum(db.community())
    with db.engine.begin() as conn:
        joined = db.community(conn)
        heard = _listening(joined)
        kept = joined.give_kudos("r1", giver="carol")
        savepoint = conn.begin_nested()
        joined.accept_solution("t1", reply="r1", by="bob")
        savepoint.rollback()
    assert kept.notifications and heard == list(kept.notifications)
    assert _outbox(db) == list(kept.notifications)
    assert db.community().post("t1").solution is None


@pytest.mark.postgres
def test_a_commit_that_fails_announces_nothing(
    postgres_engine: Engine, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    md = make_metadata(prefix=f"h{os.getpid()}_{next(_names)}_")
    SqlStore(postgres_engine, metadata=md).create_all()
    request.addfinalizer(lambda: md.drop_all(postgres_engine))
    c = Community(store=SqlStore(postgres_engine, metadata=md), clock=FakeClock())
    forum(c)
    with postgres_engine.connect() as conn:
        conn.begin()
        conn.execute(
            text(
                "CREATE TEMP TABLE host_orders (n int UNIQUE DEFERRABLE INITIALLY DEFERRED) "
                "ON COMMIT DROP"
            )
        )
        conn.execute(text("INSERT INTO host_orders VALUES (1), (1)"))  # checked at COMMIT
        joined = Community(store=SqlStore(conn, metadata=md), clock=FakeClock())
        heard = _listening(joined)
        assert joined.give_kudos("r1", giver="carol").notifications
        with pytest.raises(Exception, match="duplicate key"):
            conn.commit()
    assert heard == []
    assert [n for n in c.notifications(limit=None) if n.event_id != "reply-posted:r1"] == []


def test_engine_mode_subscribers_run_after_the_commit(db: Db) -> None:
    forum(db.community())
    writer = db.community()
    seen: list[int] = []

    def listener(note: Notification) -> None:
        with db.engine.connect() as other:  # another connection: only committed rows show
            table = db.metadata.tables[db.prefix + "outbox"]
            seen.append(len(other.execute(select(table.c.seq)).all()))

    before = len(writer.notifications(limit=None))
    writer.subscribe(listener)
    told = writer.give_kudos("r1", giver="carol").notifications
    assert told and seen == [before + len(told)] * len(told)


# --- 3. a connection with no transaction ------------------------------------------------------


def test_a_connection_without_a_transaction_is_refused_and_nothing_is_written(db: Db) -> None:
    with db.engine.connect() as conn:
        community = db.community(conn)
        with pytest.raises(InvalidInput, match=r"engine\.begin\(\)"):
            community.join("alice")
        with pytest.raises(InvalidInput, match="no transaction begun"):
            community.standing("alice")
        assert not conn.in_transaction()
    assert db.rows("events") == 0


# --- 4. cheap per-request stores --------------------------------------------------------------


def test_stores_on_the_same_tables_share_what_they_prepared(db: Db) -> None:
    with db.engine.begin() as one, db.engine.connect() as two, two.begin():
        a, b = db.store(one), db.store(two)
        assert a._sql is b._sql and a._queries is b._queries
        assert a.identity == b.identity == db.store().identity
    default_a = SqlStore(db.engine, prefix="shared_")
    assert default_a.metadata is SqlStore(db.engine, prefix="shared_").metadata


def test_in_memory_sqlite_engines_are_told_apart() -> None:
    one, two = create_engine("sqlite://"), create_engine("sqlite://")
    assert SqlStore(one).identity != SqlStore(two).identity
    assert SqlStore(one).identity == SqlStore(one).identity


# --- 7. reads on real shapes ------------------------------------------------------------------


def test_an_sqlite_store_gathers_the_planner_statistics_a_standing_needs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("kudos.stores.sql.SQLITE_ANALYZE_EVERY", 500)  # 5,000 by default
    store = SqlStore.from_url(f"sqlite:///{tmp_path / 'forum.db'}")
    c = Community(store=store, clock=FakeClock())
    members = [f"m{i:03d}" for i in range(120)]
    events: list[Any] = [MemberJoined(member=m) for m in members]
    events.append(TopicPosted(topic="t1", author="m000", title="No data abroad", tags=("x",)))
    events += [ReplyPosted(reply=f"r-{m}", topic="t1", author=m) for m in members]
    events += [KudosGiven(post=f"r-{m}", giver=g) for m in members for g in members[:3] if g != m]
    c.record_many(events)
    counters = store.tables.counters
    with store.engine.connect() as conn:
        assert conn.execute(
            text("SELECT count(*) FROM sqlite_stat1 WHERE tbl = :t"), {"t": counters.name}
        ).scalar_one()
        plan = " ".join(
            str(row[-1])
            for row in conn.exec_driver_sql(
                f"EXPLAIN QUERY PLAN SELECT metric, scope, value FROM {counters.name} "
                "WHERE community = 'default' AND subject = 'm007' "
                "AND scope IN ('all', '2026-H2') AND value != 0"
            )
        )
    # One member's counters of each scope sit side by side under the primary key.
    assert "USING PRIMARY KEY (community=? AND scope=? AND subject=?)" in plan, plan
    store.close()


def test_standings_match_standing_for_every_member_on_a_joined_connection(db: Db) -> None:
    forum(db.community())
    with db.engine.begin() as conn:
        c = db.community(conn)
        c.give_kudos("r1", giver="carol")
        listed = list(c.standings())
        assert [s.member for s in listed] == ["alice", "bob", "carol", "staff1", "staff2"]
        assert listed == [c.standing(s.member) for s in listed]


# --- 8. errors ----------------------------------------------------------------------------------


def test_statement_refuses_a_period_that_is_not_a_period_id() -> None:
    c = Community(clock=FakeClock())
    c.join("alice")
    with pytest.raises(InvalidInput, match="period id"):
        c.statement("alice", period=202101)  # type: ignore[arg-type]


def _moderated(c: Community) -> None:
    forum(c)
    c.post_topic("i1", author="carol", kind="idea", title="eSIM")
    c.accept_solution("t1", reply="r1", by="bob")


@pytest.mark.parametrize(
    ("repeat", "already"),
    [
        (lambda c, by: c.accept_solution("t1", reply="r1", by=by), "already the solution"),
        (
            lambda c, by: (c.unaccept_solution("t1", by="bob"), c.unaccept_solution("t1", by=by)),
            "has no accepted solution",
        ),
        (
            lambda c, by: (
                c.remove_post("r1", by="staff1", reason="spam"),
                c.remove_post("r1", by=by, reason="spam"),
            ),
            "already removed",
        ),
        (
            lambda c, by: (
                c.set_idea_status("i1", "under_review", by="staff1"),
                c.set_idea_status("i1", "under_review", by=by),
            ),
            "already under_review",
        ),
    ],
    ids=["accept", "unaccept", "remove", "idea-status"],
)
def test_a_moderator_repeating_what_another_did_is_told_it_is_already_so(
    repeat: Any, already: str
) -> None:
    c = Community(clock=FakeClock())
    _moderated(c)
    with pytest.raises(NotAllowed, match=already):
        repeat(c, "staff2")
    assert_consistent(c)


def test_the_same_moderator_repeating_the_same_call_is_a_replay() -> None:
    c = Community(clock=FakeClock())
    _moderated(c)
    assert c.accept_solution("t1", reply="r1", by="bob").replayed
    c.remove_post("r1", by="staff1", reason="spam")
    assert c.remove_post("r1", by="staff1", reason="spam").replayed
    c.set_idea_status("i1", "under_review", by="staff1")
    assert c.set_idea_status("i1", "under_review", by="staff1").replayed


def test_a_failing_subscriber_never_makes_a_committed_write_raise(
    caplog: pytest.LogCaptureFixture,
) -> None:
    c = Community(clock=FakeClock())
    forum(c)
    heard: list[str] = []

    def broken(note: Notification) -> None:
        raise ValueError("boom")

    c.subscribe(broken)
    c.subscribe(lambda note: heard.append(note.kind))
    with caplog.at_level(logging.ERROR, logger="kudos"):
        outcome = c.give_kudos("r1", giver="carol")
    assert heard == [n.kind for n in outcome.notifications] != []
    assert "boom" in caplog.text
    assert kudos.Community(store=c.store).standing("alice").points == 5


# --- joined connections reuse what was committed, and only that ------------------------------


OPS = st.lists(
    st.tuples(
        st.sampled_from(["give", "withdraw", "accept", "unaccept", "read"]),
        st.sampled_from(["alice", "bob", "carol"]),
        st.sampled_from(["r1", "r2", "r3"]),
        st.sampled_from(["commit", "rollback", "twice", "other-server"]),
    ),
    min_size=1,
    max_size=25,
)


def _state(c: Community) -> tuple[object, ...]:
    """Standings, and what the engine reads one by one (documents, counters) as ``c`` sees them."""

    def read(tx: Any) -> tuple[object, ...]:
        docs = [tx.get(d.kind, d.key) for kind in ("kudos", "post") for d in tx.find(kind)]
        counters = [
            tx.counter(metric, "all", m)
            for metric in ("reputation", "points_earned", "kudos_received", "solutions")
            for m in ("alice", "bob", "carol")
        ]
        return tuple(docs), tuple(counters)

    return tuple(c.standing(m) for m in ("alice", "bob", "carol")), c._read(read)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=OPS)
def test_requests_on_joined_connections_agree_with_the_ledger_whatever_commits(
    ops: list[tuple[str, str, str, str]],
) -> None:
    """Per-request communities on the host's connections, some rolled back, some doing two
    facts in one transaction, with another app server writing in between: whatever each
    request read from state kept between requests, the ledger replays into the projections."""
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'forum.db'}"
        host, other = create_engine(url), create_engine(url)
        SqlStore(host).create_all()
        clock = FakeClock()
        setup = Community(store=SqlStore(host), clock=clock)
        forum(setup)
        setup.post_reply("r2", topic="t1", author="carol")
        setup.post_reply("r3", topic="t1", author="bob")

        def act(c: Community, op: str, member: str, post: str) -> None:
            try:
                if op == "give":
                    c.give_kudos(post, giver=member)
                elif op == "withdraw":
                    c.withdraw_kudos(post, giver=member)
                elif op == "accept":
                    c.accept_solution("t1", reply=post, by="bob")
                elif op == "unaccept":
                    c.unaccept_solution("t1", by="bob")
                else:
                    c.standing(member)
            except kudos.KudosError:
                pass

        for op, member, post, how in ops:
            clock.advance(minutes=1)
            if how == "other-server":
                act(Community(store=SqlStore(other), clock=clock), op, member, post)
            else:
                with host.connect() as conn, conn.begin() as tx:
                    c = Community(store=SqlStore(conn), clock=clock)
                    act(c, op, member, post)
                    if how == "twice":
                        act(c, "give" if op != "give" else "withdraw", member, post)
                    if how == "rollback":
                        tx.rollback()
            truth = Community(store=SqlStore(other), clock=clock, cache=None)
            expected = _state(truth)
            with host.connect() as conn, conn.begin():  # the next request, reading
                found = _state(Community(store=SqlStore(conn), clock=clock, cache=None))
            assert found == expected, (op, member, post, how)
        assert_consistent(Community(store=SqlStore(other), clock=clock, cache=None))
        for member in ("alice", "bob", "carol"):
            assert truth.standing(member) == Community(store=SqlStore(host), clock=clock).standing(
                member
            )
        host.dispose()
        other.dispose()


# --- what a newcomer ran into -------------------------------------------------------------------


def test_a_configured_sqlite_engine_rolls_back_work_under_a_savepoint_begun_first(
    tmp_path: Path,
) -> None:
    """pysqlite left alone makes a first ``begin_nested()`` the outermost transaction, and
    releasing it commits; ``configure_sqlite`` makes SQLAlchemy's transactions real."""
    engine = configure_sqlite(create_engine(f"sqlite:///{tmp_path / 'forum.db'}"))
    SqlStore(engine).create_all()
    heard: list[Notification] = []

    class Boom(Exception):
        pass

    with pytest.raises(Boom), engine.begin() as conn:
        with conn.begin_nested():
            c = Community(store=SqlStore(conn), clock=FakeClock())
            c.subscribe(heard.append)
            forum(c)
        raise Boom
    truth = Community(store=SqlStore(engine), clock=FakeClock(), cache=None)
    assert truth.members() == [] and heard == []
    assert truth.notifications(limit=None) == []


def test_a_subscriber_of_a_long_lived_community_hears_per_request_writes(db: Db) -> None:
    forum(db.community())
    app = db.community()
    heard = _listening(app)  # once, at start-up
    with db.engine.begin() as conn:
        told = db.community(conn).give_kudos("r1", giver="carol").notifications
    assert told and heard == list(told)
    other_community = db.community(community="uk")
    other_community.join("zoe")
    assert heard == list(told)  # another community's facts are not this one's


def test_an_uncached_sqlite_read_never_waits_for_a_writer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("kudos.stores.sql.SQLITE_BUSY_TIMEOUT_MS", 100)  # fail fast if it waits
    url = f"sqlite:///{tmp_path / 'forum.db'}"
    reader = kudos.open(url, clock=FakeClock(), cache=None)
    forum(reader)
    writer_store = SqlStore.from_url(url)
    with writer_store.engine.begin() as conn:  # a request holding SQLite's write lock
        Community(store=SqlStore(conn), clock=FakeClock()).give_kudos("r1", giver="carol")
        assert reader.standing("alice").points == 0  # the last committed state, at once
        assert kudos.open(url, clock=FakeClock()).member("alice").id == "alice"  # opening too
    assert reader.standing("alice").points == 5
    writer_store.close()


def test_standings_is_a_list() -> None:
    c = Community(clock=FakeClock())
    forum(c)
    listed = c.standings()
    assert len(listed) == 5 and listed == c.standings()


def test_a_closed_connection_or_a_session_is_refused_with_the_fix(db: Db) -> None:
    with db.engine.begin() as conn:
        late = db.community(conn)
    with pytest.raises(InvalidInput, match="closed"):
        late.join("alice")

    class Session:  # what an ORM session looks like to SqlStore
        def connection(self) -> None: ...

    with pytest.raises(InvalidInput, match=r"session\.connection\(\)"):
        SqlStore(Session())  # type: ignore[arg-type]


@pytest.mark.postgres
def test_an_autocommit_connection_is_refused(postgres_engine: Engine) -> None:
    auto = postgres_engine.execution_options(isolation_level="AUTOCOMMIT")
    with auto.connect() as conn:
        conn.begin()
        with pytest.raises(InvalidInput, match="AUTOCOMMIT"):
            Community(store=SqlStore(conn), clock=FakeClock()).join("alice")


# --- what an adversarial run found ------------------------------------------------------------


@pytest.mark.postgres
def test_a_transaction_postgresql_rolled_back_itself_announces_nothing(
    postgres_engine: Engine, request: pytest.FixtureRequest
) -> None:
    from sqlalchemy import exc

    md = make_metadata(prefix=f"h{os.getpid()}_{next(_names)}_")
    SqlStore(postgres_engine, metadata=md).create_all()
    request.addfinalizer(lambda: md.drop_all(postgres_engine))
    forum(Community(store=SqlStore(postgres_engine, metadata=md), clock=FakeClock()))
    with postgres_engine.begin() as conn:
        conn.execute(text("CREATE TEMP TABLE host_likes (k text PRIMARY KEY) ON COMMIT DROP"))
        joined = Community(store=SqlStore(conn, metadata=md), clock=FakeClock())
        heard = _listening(joined)
        assert joined.give_kudos("r1", giver="carol").notifications
        for _ in range(2):  # the host swallows its own error: COMMIT will be a ROLLBACK
            with contextlib.suppress(exc.IntegrityError):
                conn.execute(text("INSERT INTO host_likes VALUES ('r1:carol')"))
    truth = Community(store=SqlStore(postgres_engine, metadata=md), clock=FakeClock(), cache=None)
    assert heard == []
    assert truth.standing("alice").points == 0


def test_a_transaction_sqlite_rolled_back_itself_is_neither_announced_nor_remembered(
    tmp_path: Path,
) -> None:
    from sqlalchemy import exc

    engine = configure_sqlite(create_engine(f"sqlite:///{tmp_path / 'forum.db'}"))
    SqlStore(engine).create_all()
    forum(Community(store=SqlStore(engine), clock=FakeClock()))
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE likes (k TEXT PRIMARY KEY)")
    with engine.begin() as conn:
        joined = Community(store=SqlStore(conn), clock=FakeClock())
        heard = _listening(joined)
        joined.give_kudos("r1", giver="carol")
        conn.exec_driver_sql("INSERT INTO likes VALUES ('a')")
        with pytest.raises(exc.IntegrityError):  # SQLite rolls the whole transaction back
            conn.exec_driver_sql("INSERT OR ROLLBACK INTO likes VALUES ('a')")
    assert heard == []
    with engine.begin() as conn, pytest.raises(NotAllowed):  # the next request, same connection
        Community(store=SqlStore(conn), clock=FakeClock()).withdraw_kudos("r1", giver="carol")
    truth = Community(store=SqlStore(engine), clock=FakeClock(), cache=None)
    assert truth.standing("carol").counters.get("kudos_given", 0) == 0
    assert_consistent(truth)


def test_a_ttl_cache_sees_a_joined_write_right_after_the_hosts_commit(db: Db) -> None:
    forum(db.community())
    reader = db.community(cache=ReadCache(ttl=60, freshness="ttl"))
    assert reader.standing("alice").points == 0
    with db.engine.connect() as conn:
        conn.begin()
        db.community(conn).adjust("alice", points=10, reason="meet-up", by="staff1")
        conn.commit()
        assert reader.standing("alice").points == 10  # the connection is not back yet


@pytest.mark.postgres
def test_engines_on_one_url_with_their_own_search_path_never_share_results(
    request: pytest.FixtureRequest,
) -> None:
    from tests.conftest import postgres_url

    url = postgres_url()
    schemas = [f"h{os.getpid()}_{next(_names)}_{t}" for t in ("c", "d")]
    engines = [
        create_engine(url, connect_args={"options": f"-csearch_path={schema}"})
        for schema in schemas
    ]
    for schema, engine, points in zip(schemas, engines, (100, 7), strict=True):
        with engine.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        SqlStore(engine).create_all()
        c = Community(store=SqlStore(engine), clock=FakeClock())
        forum(c)
        c.adjust("alice", points=points, reason="tenant", by="staff1")

    def drop() -> None:
        for schema, engine in zip(schemas, engines, strict=True):
            with engine.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
            engine.dispose()

    request.addfinalizer(drop)
    readers = [Community(store=SqlStore(engine), clock=FakeClock()) for engine in engines]
    assert [r.standing("alice").points for r in readers] == [100, 7]


def test_a_change_of_policy_outdates_every_cached_result_of_the_community() -> None:
    store = kudos.MemoryStore()
    clock = FakeClock()
    giffgaff = Community(store=store, clock=clock)
    forum(giffgaff)
    giffgaff.give_kudos("r1", giver="carol")
    assert giffgaff.standing("alice").rank == "Member"  # now cached under giffgaff's rules
    # The same periods, other ranks: the same cache key but for the policy.
    ranked = attrs.evolve(
        kudos.policies.giffgaff(),
        name="ranked otherwise",
        recognition=kudos.policies.stackexchange().recognition,
    )
    giffgaff.join("staff1", role="staff")
    Community(store=store, clock=clock).change_policy(ranked, by="staff1", reason="new ranks")
    truth = Community(store=store, clock=clock, cache=None)
    assert truth.policy == ranked
    per_request = Community(store=store, policy=ranked, clock=clock)
    assert per_request.standing("alice") == truth.standing("alice")
    assert per_request.standing("alice").rank != "Member"
    # The object that cached under the old rules takes up the change at its next read.
    assert giffgaff.standing("alice") == truth.standing("alice")
    assert giffgaff.policy == ranked


def test_a_cached_standing_follows_the_clock_past_a_referral_expiry() -> None:
    clock = FakeClock(datetime(2026, 6, 2, 12, tzinfo=UTC))  # early in a payback period
    c = Community(clock=clock)
    c.join("alice")
    c.join("bob", referred_by="alice")
    promised = c.standing("alice").pending_points
    assert promised > 0
    clock.advance(days=150)  # past the referral window, same period, no write in between
    assert c.policy.periods.period_of(clock()) == "2026-H2"
    assert c.standing("alice") == Community(store=c.store, clock=clock, cache=None).standing(
        "alice"
    )
    assert c.standings() == [c.standing(m.id) for m in c.members()]


def test_another_moderator_with_a_reason_of_their_own_is_told_it_is_already_so() -> None:
    c = Community(clock=FakeClock())
    _moderated(c)
    c.remove_post("r1", by="staff1")
    with pytest.raises(NotAllowed, match="already removed"):
        c.remove_post("r1", by="staff2", reason="spam")
    c.set_idea_status("i1", "under_review", by="staff1")
    with pytest.raises(NotAllowed, match="already under_review"):
        c.set_idea_status("i1", "under_review", by="staff2", note="looking at it")
    with pytest.raises(kudos.Conflict):  # the same moderator, other details: an id clash
        c.remove_post("r1", by="staff1", reason="spam")


def test_gathering_statistics_leaves_the_hosts_connection_settings_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("kudos.stores.sql.SQLITE_ANALYZE_EVERY", 5)
    engine = create_engine(f"sqlite:///{tmp_path / 'forum.db'}")
    store = SqlStore(engine)
    store.create_all()
    with engine.connect() as conn:
        before = conn.exec_driver_sql("PRAGMA analysis_limit").scalar()
    forum(Community(store=store, clock=FakeClock()))
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM sqlite_stat1").scalar()
        assert conn.exec_driver_sql("PRAGMA analysis_limit").scalar() == before


def test_a_standing_read_twice_within_a_minute_is_served_from_the_cache() -> None:
    ticks = itertools.count()
    start = datetime(2026, 11, 23, 12, tzinfo=UTC)

    def clock() -> datetime:  # a clock that moves on every call, as the wall clock does
        return start + timedelta(milliseconds=next(ticks))

    c = Community(cache=ReadCache(maxsize=100, ttl=60), clock=clock)
    c.join("alice")
    c.standing("alice")
    c.standing("alice")
    assert c.cache.stats().hits == 1


_LONG_WRITER = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")  # a long batch: the write lock, held until told to stop
db.execute("UPDATE kudos_counters SET value = value + 1")
print("holding", flush=True)
sys.stdin.readline()
db.execute("ROLLBACK")
"""


def test_a_read_never_waits_for_a_long_batch_in_another_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("kudos.stores.sql.SQLITE_BUSY_TIMEOUT_MS", 100)  # waiting would fail
    path = tmp_path / "forum.db"
    community = kudos.open(f"sqlite:///{path}", clock=FakeClock(), cache=None)
    forum(community)
    community.give_kudos("r1", giver="carol")
    writer = subprocess.Popen(
        [sys.executable, "-c", _LONG_WRITER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "holding"
        reader = kudos.open(f"sqlite:///{path}", clock=FakeClock(), cache=None)
        assert reader.standing("alice").points == 5  # the last committed state, at once
        assert [r.member for r in reader.leaderboard(by="kudos_received")] == ["alice"]
    finally:
        writer.communicate("stop\n", timeout=30)


def test_work_the_host_rolled_back_behind_sqlalchemys_back_is_never_announced(db: Db) -> None:
    forum(db.community())
    with db.engine.connect() as conn:
        conn.begin()
        joined = db.community(conn)
        heard = _listening(joined)
        joined.give_kudos("r1", giver="carol")
        conn.exec_driver_sql("ROLLBACK")  # the host ends the database's transaction itself
        kept = joined.give_kudos("r1", giver="bob")
        conn.commit()
    assert heard == list(kept.notifications)
    assert _outbox(db) == list(kept.notifications)
    truth = Community(store=db.store(), clock=FakeClock(), cache=None)
    assert truth.standing("alice").points == 5
    assert_consistent(truth)


def test_a_ttl_cache_sees_at_once_a_write_through_another_engine_of_the_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    one = create_engine("sqlite:///forum.db")  # the same file, spelled two ways
    two = create_engine(f"sqlite:///{tmp_path / 'forum.db'}")
    SqlStore(one).create_all()
    forum(Community(store=SqlStore(one), clock=FakeClock()))
    reader = Community(
        store=SqlStore(one), clock=FakeClock(), cache=ReadCache(ttl=60, freshness="ttl")
    )
    assert reader.standing("alice").points == 0
    Community(store=SqlStore(two), clock=FakeClock()).give_kudos("r1", giver="carol")
    assert reader.standing("alice").points == 5
    one.dispose()
    two.dispose()


def test_a_subscription_ends_with_the_community_that_made_it() -> None:
    store = kudos.MemoryStore()
    app = Community(store=store, clock=FakeClock())
    forum(app)
    heard_by_app = _listening(app)
    heard_per_request: list[Notification] = []
    for _ in range(50):  # a host subscribing in each request, by mistake
        Community(store=store, clock=FakeClock()).subscribe(heard_per_request.append)
    gc.collect()
    told = Community(store=store, clock=FakeClock()).give_kudos("r1", giver="carol")
    assert heard_by_app == list(told.notifications)
    assert heard_per_request == []  # those requests are over: nothing piles up
