"""record_many reads what its batch needs in bulk, and reads nothing different for it.

On a SQL store, recording a batch used to read each post, vote, member document
and balance the events touch with a single-row statement of its own (about 3.5
per event, most of them finding nothing: a new post or vote is checked not to
exist yet). The batch's keys are now read in a few bulk statements first; the
state it leaves is what recording the events one by one leaves.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kudos
from kudos.engine import prefetch as prefetching
from kudos.events import Event, KudosGiven, MemberJoined, ReplyPosted, TopicPosted
from kudos.forum.handlers import vote_key
from kudos.model import Doc
from kudos.stores import _sql_hot
from kudos.stores.memory import MemoryStore
from kudos.stores.protocol import CounterKey, Snapshot
from kudos.stores.sql import SqlStore
from kudos.support.handlers import pair_key
from kudos.testing import assert_consistent

START = datetime(2026, 3, 2, 9, tzinfo=UTC)


def _stream(members: int, topics: int) -> list[Event]:
    """Members join, each topic gets a reply by the next member and kudos from two others."""
    at = (START + timedelta(minutes=7 * i) for i in itertools.count())
    names = [f"m{i}" for i in range(members)]
    events: list[Event] = [MemberJoined(member=m, at=next(at)) for m in names]
    for t in range(topics):
        author, replier = names[t % members], names[(t + 1) % members]
        events.append(TopicPosted(topic=f"t{t}", author=author, title="Q", at=next(at)))
        events.append(ReplyPosted(reply=f"r{t}", topic=f"t{t}", author=replier, at=next(at)))
        for g in (2, 3):
            giver = names[(t + g) % members]
            events.append(KudosGiven(post=f"r{t}", giver=giver, at=next(at)))
    return events


def _state(snapshot: Snapshot) -> tuple[dict[tuple[str, str], Doc], dict[CounterKey, int]]:
    """A snapshot's documents by key and its counters (stores list documents in any order)."""
    return {(d.kind, d.key): d for d in snapshot.docs}, dict(snapshot.counters)


@pytest.fixture
def single_reads(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """The single-row document and counter reads SQLite's write path makes, by method."""
    seen: Counter[str] = Counter()
    for name in ("get_doc", "get_counter"):
        original = getattr(_sql_hot.SqliteRunner, name)

        def counting(self: Any, *args: Any, _original: Any = original, _name: str = name) -> Any:
            seen[_name] += 1
            return _original(self, *args)

        monkeypatch.setattr(_sql_hot.SqliteRunner, name, counting)
    return seen


def test_a_batch_on_sqlite_reads_its_posts_votes_and_members_in_bulk(
    sqlite_store: SqlStore, single_reads: Counter[str]
) -> None:
    c = kudos.Community(store=sqlite_store, policy=kudos.policies.giffgaff(), cache=None)
    events = _stream(members=30, topics=60)
    c.record_many(events[:30])
    single_reads.clear()
    c.record_many(events[30:])
    recorded = len(events) - 30
    # Before: a post read per topic, reply and kudos, two vote reads per kudos, and each
    # member's documents and balances (over 3 single-row reads an event). What is left
    # is what the events' own keys do not name (a badge a member is about to earn).
    assert single_reads["get_doc"] < recorded / 3
    assert single_reads["get_counter"] < recorded / 10
    assert_consistent(c)


def test_prefetched_reads_give_what_single_reads_give(db_store: Any) -> None:
    store, memory = db_store, MemoryStore()
    events = _stream(members=12, topics=20)
    with_prefetch = kudos.Community(store=store, policy=kudos.policies.giffgaff(), cache=None)
    plain = kudos.Community(store=memory, policy=kudos.policies.giffgaff(), cache=None)
    for i in range(0, len(events), 17):
        with_prefetch.record_many(events[i : i + 17])
    for event in events:
        plain.record(event)
    assert with_prefetch.standings() == plain.standings()
    with store.transaction(with_prefetch.id) as tx, memory.transaction(plain.id) as mtx:
        assert _state(tx.snapshot()) == _state(mtx.snapshot())


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_store(request: pytest.FixtureRequest) -> Iterator[SqlStore]:
    """A SqlStore on SQLite or on PostgreSQL (the conftest fixtures)."""
    yield request.getfixturevalue(f"{request.param}_store")


def test_counters_read_in_bulk_then_written_read_back_with_the_writes(
    sqlite_store: SqlStore,
) -> None:
    c = kudos.Community(store=sqlite_store, policy=kudos.policies.giffgaff(), cache=None)
    c.record_many(_stream(members=5, topics=2))
    with sqlite_store.transaction(c.id) as tx:
        before = tx.counter("reputation", "all", "m2")
        tx.prefetch_counters(["m2", "nobody"], ["all"])
        assert tx.counter("reputation", "all", "m2") == before
        assert tx.counter("reputation", "all", "nobody") == 0
        tx.add({("reputation", "all", "nobody"): 3, ("reputation", "all", "m2"): 2})
        tx.flush()  # the sums reach the database; the remembered values must follow
        assert tx.counter("reputation", "all", "nobody") == 3
        assert tx.counter("reputation", "all", "m2") == before + 2
        tx.prefetch_docs("post", ["r0", "missing"])
        assert tx.get("post", "missing") is None
        post = tx.get("post", "r0")
        assert post is not None and post.data["author"] == "m1"


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    batch=st.integers(min_value=1, max_value=40),
    members=st.integers(min_value=3, max_value=8),
    topics=st.integers(min_value=1, max_value=8),
)
def test_any_batching_on_sqlite_equals_recording_one_by_one(
    tmp_path_factory: pytest.TempPathFactory, batch: int, members: int, topics: int
) -> None:
    events = _stream(members, topics)
    path: Path = tmp_path_factory.mktemp("prefetch") / "k.db"
    store = SqlStore.from_url(f"sqlite:///{path}")
    try:
        c = kudos.Community(store=store, policy=kudos.policies.giffgaff(), cache=None)
        for i in range(0, len(events), batch):
            c.record_many(events[i : i + batch])
        plain = kudos.Community(policy=kudos.policies.giffgaff(), cache=None)
        for event in events:
            plain.record(event)
        assert c.standings() == plain.standings()
        with store.transaction(c.id) as tx, plain.store.transaction(plain.id) as mtx:
            assert _state(tx.snapshot()) == _state(mtx.snapshot())
        assert_consistent(c)
    finally:
        store.close()


def test_the_vote_keys_read_ahead_are_the_forums() -> None:
    assert prefetching._vote_key("r12", "m3") == vote_key("r12", "m3")
    assert prefetching._vote_key("a:b", "c") == vote_key("a:b", "c")
    assert prefetching._vote_key("t1", "m2") == pair_key("t1", "m2")
