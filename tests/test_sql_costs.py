"""What an event costs the SQL store on SQLite: the statements it sends per event.

SqlStore's write path on SQLite sends most statements straight to the driver's
cursor (see kudos.stores._sql_hot), so they are counted at the driver: every
``execute`` and ``executemany`` of the store's connections, whoever calls it.
The statements that go through SQLAlchemy are counted with a
``before_cursor_execute`` listener besides.

A batch's events after the first are taken as new and sent in one
``executemany``; should one be logged already after all, the batch runs again
with every event checked on its own, and gives exactly what checking each
gives (the hypothesis test at the end).
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event

import kudos
from kudos.events import KudosGiven, MemberJoined, ReplyPosted, TopicPosted
from kudos.stores import _sql_tx
from kudos.stores.sql import SqlStore
from kudos.testing import FakeClock

_SENT: Counter[str] = Counter()
"""Statements sent to the driver, by their first words."""

_READS: list[str] = []
"""The text of each ``SELECT`` sent to the driver with ``execute``, in order."""


def _kind(sql: str) -> str:
    words = sql.split()
    head = " ".join(words[:3]) if words[0].upper() == "INSERT" else words[0]
    return head.upper().replace('"', "")


class _CountingCursor(sqlite3.Cursor):
    def execute(self, sql: str, parameters: Any = (), /) -> _CountingCursor:
        _SENT[_kind(sql)] += 1
        if sql.lstrip().upper().startswith("SELECT"):
            _READS.append(sql)
        return super().execute(sql, parameters)

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> _CountingCursor:
        _SENT[_kind(sql) + " (many)"] += 1
        return super().executemany(sql, seq_of_parameters)


class _CountingConnection(sqlite3.Connection):
    def cursor(self, factory: Any = _CountingCursor) -> Any:
        return super().cursor(factory)

    def execute(self, sql: str, parameters: Any = (), /) -> Any:
        return self.cursor().execute(sql, parameters)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    s = SqlStore.from_url(
        f"sqlite:///{tmp_path / 'costs.db'}", connect_args={"factory": _CountingConnection}
    )
    yield s
    s.close()


@pytest.fixture
def through_sqlalchemy(store: SqlStore) -> Counter[str]:
    """Statements SQLAlchemy itself executed, by their first words."""
    seen: Counter[str] = Counter()
    engine = store._engine
    assert engine is not None

    @event.listens_for(engine, "before_cursor_execute")
    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen[statement] += 1

    return seen


T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
LATER = T0 + timedelta(days=30)


def _stream(n: int, members: int = 20, start: int = 0) -> list[kudos.events.Event]:
    """``n`` events: members join, post topics and replies, give kudos (ids from ``start``)."""
    out: list[kudos.events.Event] = []
    for i in range(start, start + n):
        at = T0 + timedelta(minutes=i)
        m = f"m{i % members}"
        step = i % 4
        if i < members:
            out.append(MemberJoined(member=m, at=at))
        elif step == 0:
            out.append(TopicPosted(topic=f"t{i}", author=m, at=at, event_id=f"e{i}"))
        elif step in (1, 2):
            topic = f"t{i - step}" if i - step >= members else "t-none"
            if topic == "t-none":
                out.append(MemberJoined(member=f"x{i}", at=at))
            else:
                out.append(ReplyPosted(reply=f"r{i}", topic=topic, author=m, at=at))
        else:
            post = f"r{i - 1}" if i - 2 >= members else f"t{i - 3}"
            giver = f"m{(i + 7) % members}"
            out.append(KudosGiven(post=post, giver=giver, at=at))
    return out


def _community(store: SqlStore) -> kudos.Community:
    return kudos.Community(
        store=store, policy=kudos.policies.giffgaff(), clock=FakeClock(LATER), cache=None
    )


def _warm(c: kudos.Community) -> None:
    c.record_many([*_stream(40), MemberJoined(member="boss", role="staff", at=T0)])
    _SENT.clear()


def test_a_batch_sends_its_events_in_one_executemany(store: SqlStore) -> None:
    c = _community(store)
    _warm(c)
    c.record_many(_stream(200, start=40))
    event_inserts = {k: n for k, n in _SENT.items() if "EVENTS" in k and k.startswith("INSERT")}
    # The first event on its own (is it new?), the other 199 together.
    assert event_inserts == {"INSERT INTO KUDOS_EVENTS": 1, "INSERT INTO KUDOS_EVENTS (many)": 1}
    # Everything else a batch sends is per batch, not per event, but the reads of
    # documents not read before (a new post's id is looked up before it is written).
    # (Notifications are inserted one at a time: the caller gets their numbers.)
    assert sum(n for k, n in _SENT.items() if k != "SELECT" and "OUTBOX" not in k) <= 8
    assert sum(_SENT.values()) <= 200 * 0.6


def test_a_member_joining_reads_their_counters_of_a_scope_in_one_statement(
    store: SqlStore,
) -> None:
    c = _community(store)
    _warm(c)
    _READS.clear()
    c.record(MemberJoined(member="newcomer", at=T0 + timedelta(days=1)))
    counter_reads = [sql for sql in _READS if "FROM KUDOS_COUNTERS" in sql.upper()]
    assert counter_reads  # the reads are seen
    # Recognition reads seven of the member's counters of all time (its rank's and
    # privileges' requirements): one statement for the scope, not one per counter.
    assert len(counter_reads) <= 2, counter_reads


def test_recording_one_event_reads_the_policy_once_per_connection(
    store: SqlStore, through_sqlalchemy: Counter[str]
) -> None:
    c = _community(store)
    _warm(c)
    through_sqlalchemy.clear()
    for e in _stream(50, start=40):
        c.record(e)
    # The latest policy version is kept with the connection's cache of committed state:
    # read when that cache starts, not once per event.
    assert sum(n for sql, n in through_sqlalchemy.items() if "policies" in sql) <= 1
    # BEGIN, the cache's PRAGMA, the event, the data version, COMMIT, and the batches
    # of documents, counters and ledger lines: about ten, no policy read.
    assert sum(_SENT.values()) <= 50 * 12


def test_a_policy_changed_through_another_connection_is_seen(
    store: SqlStore, tmp_path: Path
) -> None:
    c = _community(store)
    _warm(c)
    other = SqlStore.from_url(f"sqlite:///{tmp_path / 'costs.db'}", create=False)
    try:
        d = kudos.Community(store=other, clock=FakeClock(LATER), cache=None)
        d.change_policy(
            kudos.policies.giffgaff().evolve(staff_earn=True),
            by="boss",
            reason="staff earn too",
            at=T0 + timedelta(hours=4),
        )
    finally:
        other.close()
    c.record(KudosGiven(post="t20", giver="m3", at=T0 + timedelta(hours=5)))
    assert [v.version for v in c.policy_history()][-1] == 2
    with store.transaction(c.id) as tx:
        assert tx.policy_latest()[0] == 2


def test_a_logged_event_late_in_a_batch_runs_it_again_checked(store: SqlStore) -> None:
    c = _community(store)
    _warm(c)
    first = c.record_many(_stream(20, start=40))
    # New events, then some of the ones just recorded, then new ones again.
    again = _stream(10, start=60) + _stream(20, start=40)[5:10] + _stream(10, start=70)
    _SENT.clear()
    outcomes = c.record_many(again)
    assert [o.replayed for o in outcomes] == [False] * 10 + [True] * 5 + [False] * 10
    assert [o.event_id for o in outcomes[10:15]] == [o.event_id for o in first[5:10]]
    # One try in bulk, then the second with each event on its own.
    assert _SENT["INSERT INTO KUDOS_EVENTS (many)"] == 1
    assert _SENT["INSERT INTO KUDOS_EVENTS"] == 1 + 25


def _state(c: kudos.Community) -> tuple[Any, ...]:
    with c.store.transaction(c.id, read_only=True) as tx:
        events = [(e.event_id, e.type, e.payload, e.at) for e in tx.events()]
        snap = tx.snapshot()
        ledger = [(e.entry_id, e.member, e.amount, e.event_id) for e in tx.entries()]
    return events, ledger, sorted(snap.docs, key=lambda d: (d.kind, d.key)), snap.counters


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    picks=st.lists(st.integers(min_value=0, max_value=59), min_size=1, max_size=40),
    cuts=st.lists(st.integers(min_value=1, max_value=12), min_size=1, max_size=6),
)
def test_batches_sent_in_bulk_give_what_checking_each_event_gives(
    tmp_path_factory: pytest.TempPathFactory, picks: list[int], cuts: list[int]
) -> None:
    events = _stream(60)
    # Members first, then what was picked: a repeat is a re-delivery, an event before
    # what it names is refused (and fails its batch).
    history = events[:20] + [events[i] for i in picks if i >= 20]
    batches: list[list[kudos.events.Event]] = []
    i = 0
    for n in cuts * 10:
        if i >= len(history):
            break
        batches.append(history[i : i + n])
        i += n
    results = []
    for bulk in (True, False):
        path = tmp_path_factory.mktemp("bulk" if bulk else "each") / "k.db"
        s = SqlStore.from_url(f"sqlite:///{path}")
        try:
            with pytest.MonkeyPatch.context() as patch:
                if not bulk:  # every event appended on its own, as on any other store
                    patch.setattr(_sql_tx, "SqliteRunner", type("NotSqlite", (), {}))
                c = _community(s)
                answers: list[Any] = []
                for batch in batches:
                    try:
                        answers.append([(o.event_id, o.replayed) for o in c.record_many(batch)])
                    except kudos.KudosError as exc:
                        answers.append(type(exc).__name__)
                results.append((answers, _state(c)))
        finally:
            s.close()
    by_bulk, each = results
    assert by_bulk == each


def test_a_host_using_the_protocol_directly_gets_every_logged_event_back(tmp_path: Path) -> None:
    """Only a batch kudos records takes events as new in bulk: a transaction a host drives
    itself is answered as the protocol says, a logged event for a logged id, at once."""
    store = SqlStore.from_url(f"sqlite:///{tmp_path / 'direct.db'}")
    c = kudos.Community(store=store, policy=kudos.policies.giffgaff(), clock=FakeClock())
    c.join("a")
    with store.transaction(c.id) as tx:
        (logged,) = tx.events()
    new = attrs.evolve(logged, event_id="fresh-1", seq=0)
    with store.transaction(c.id) as tx:
        assert tx.append_event(new) is None
        again = tx.append_event(attrs.evolve(logged, seq=0))
        assert again is not None and again.event_id == logged.event_id
        assert tx.get_event(logged.event_id) is not None
    with pytest.raises(ValueError, match="the host's own"), store.transaction(c.id) as tx:
        tx.append_event(attrs.evolve(logged, event_id="fresh-2", seq=0))
        tx.append_event(attrs.evolve(logged, seq=0))
        raise ValueError("the host's own error")
    with store.transaction(c.id) as tx:
        assert [e.event_id for e in tx.events()] == [logged.event_id, "fresh-1"]


_METRICS = st.sampled_from(["a", "b", "c"])
_SCOPES = st.sampled_from(["all", "2026-H1"])
_SUBJECTS = st.sampled_from(["m1", "m2"])
_COUNTER_OPS = st.one_of(
    st.tuples(st.just("add"), _METRICS, _SCOPES, _SUBJECTS, st.integers(-3, 3)),
    st.tuples(st.just("read"), _METRICS, _SCOPES, _SUBJECTS),
    st.tuples(st.just("top"), _METRICS, _SCOPES),  # sends what is queued first
)


class _Undo(Exception):
    pass


def _counters_seen(store: Any, work: list[tuple[list[Any], bool]]) -> list[Any]:
    seen: list[Any] = []
    for ops, undo in work:
        try:
            with store.transaction("c") as tx:
                for op in ops:
                    if op[0] == "add":
                        tx.add({(op[1], op[2], op[3]): op[4]})
                    elif op[0] == "read":
                        seen.append(tx.counter(op[1], op[2], op[3]))
                    else:
                        seen.append(sorted(tx.top(op[1], op[2], limit=10)))
                if undo:
                    raise _Undo
        except _Undo:
            pass
    with store.transaction("c") as tx:
        seen.append(
            [
                tx.counter(m, s, subj)
                for m in "abc"
                for s in ("all", "2026-H1")
                for subj in ("m1", "m2")
            ]
        )
    return seen


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(work=st.lists(st.tuples(st.lists(_COUNTER_OPS, max_size=10), st.booleans()), max_size=6))
def test_counters_read_a_scope_at_a_time_answer_as_in_memory(
    tmp_path: Path, work: list[tuple[list[Any], bool]]
) -> None:
    """A counter read on SQLite reads its subject's whole scope: later reads, queued and sent
    changes, rollbacks and the next transactions answer as the MemoryStore does."""
    import uuid

    store = SqlStore.from_url(f"sqlite:///{tmp_path / f'{uuid.uuid4().hex}.db'}")
    try:
        assert _counters_seen(store, work) == _counters_seen(kudos.MemoryStore(), work)
    finally:
        store.close()
