"""PostgreSQL writers of one community lock what their events touch, not the community.

* A writer at work on some members does not hold up a writer on other
  members; a writer on one of its members waits for it, then counts on top of
  what it wrote. Work on the whole community (rebuild) waits for writers in
  flight.
* Eight processes write distinct events on distinct members at once, plus
  events on shared ones (kudos on one topic, kudos from one giver): nothing
  is lost or doubled against one process recording them all on a MemoryStore,
  balances equal the ledger's sums and a rebuild gives the same projections.
"""

from __future__ import annotations

import os
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from multiprocessing import get_context

import pytest
from sqlalchemy import Engine, create_engine, func, select

from kudos import Community, LedgerEntry, MemoryStore, Policy, TransientStoreError, policies
from kudos.engine.core import apply
from kudos.events import (
    Event,
    FeelingSet,
    KudosGiven,
    MemberJoined,
    ReplyPosted,
    SolutionAccepted,
    TopicDeflected,
    TopicFollowed,
    TopicPosted,
)
from kudos.stores.sql import SqlStore, make_metadata
from kudos.testing import assert_consistent

pytestmark = pytest.mark.postgres

WRITERS, MEMBERS = 8, 6
START = datetime(2026, 6, 1, 9, tzinfo=UTC)
SHARED_TOPIC, OWNER, FAN = "shared-topic", "owner", "fan"


def set_up() -> list[Event]:
    """Every writer's members, a topic by each and a reply by the next; the shared ones."""
    events: list[Event] = [MemberJoined(member=m, at=START) for m in (OWNER, FAN)]
    events.append(TopicPosted(topic=SHARED_TOPIC, author=OWNER, tags=["roaming"], at=START))
    for w in range(WRITERS):
        members = [f"w{w}m{i}" for i in range(MEMBERS)]
        events += [MemberJoined(member=m, at=START) for m in members]
        for i, m in enumerate(members):
            events.append(TopicPosted(topic=f"w{w}t{i}", author=m, tags=["billing"], at=START))
            nxt = members[(i + 1) % MEMBERS]
            events.append(ReplyPosted(reply=f"w{w}r{i}", topic=f"w{w}t{i}", author=nxt, at=START))
    return events


def writes_of(w: int) -> list[Event]:
    """Writer ``w``'s events: kudos among its members, kudos on the shared topic by two of
    them, kudos from the shared giver to its posts, and an accepted solution."""
    at = (START + timedelta(days=1, hours=w, minutes=i) for i in range(1000))
    members = [f"w{w}m{i}" for i in range(MEMBERS)]
    events: list[Event] = []
    for i in range(MEMBERS):
        topic_author, reply_author = members[i], members[(i + 1) % MEMBERS]
        for giver in members:
            if giver != topic_author:
                events.append(KudosGiven(post=f"w{w}t{i}", giver=giver, at=next(at)))
            if giver != reply_author and giver != topic_author:
                events.append(KudosGiven(post=f"w{w}r{i}", giver=giver, at=next(at)))
    events += [KudosGiven(post=SHARED_TOPIC, giver=m, at=next(at)) for m in members[:2]]
    events += [KudosGiven(post=f"w{w}t{i}", giver=FAN, at=next(at)) for i in range(3)]
    events.append(SolutionAccepted(topic=f"w{w}t0", reply=f"w{w}r0", by=members[0], at=next(at)))
    return events


def write(url: str, prefix: str, w: int) -> int:
    """One app server: record writer ``w``'s events, one ``record`` each; how many were new."""
    engine = create_engine(url)
    community = Community(
        store=SqlStore(engine, metadata=make_metadata(prefix=prefix)),
        policy=policies.giffgaff(),
        cache=None,
    )
    try:
        return sum(not community.record(e).replayed for e in writes_of(w))
    finally:
        engine.dispose()


def _award(e: LedgerEntry) -> tuple[str, str, str, int, str]:
    return (e.event_id, e.member, e.account, e.amount, e.action)


def test_eight_writers_on_distinct_and_shared_members_lose_and_double_nothing(
    postgres_engine: Engine, prefix: str
) -> None:
    url = postgres_engine.url.render_as_string(hide_password=False)
    store = SqlStore(postgres_engine, metadata=make_metadata(prefix=prefix))
    community = Community(store=store, policy=policies.giffgaff(), cache=None)
    community.record_many(set_up())
    with ProcessPoolExecutor(WRITERS, mp_context=get_context("spawn")) as pool:
        runs = [pool.submit(write, url, prefix, w) for w in range(WRITERS)]
        new = [run.result(timeout=600) for run in runs]
    assert new == [len(writes_of(w)) for w in range(WRITERS)]

    expected = Community(store=MemoryStore(), policy=policies.giffgaff())
    expected.record_many(set_up())
    for w in range(WRITERS):
        expected.record_many(writes_of(w))
    t = store.tables
    with postgres_engine.connect() as conn:
        doubled = conn.execute(
            select(t.ledger.c.entry_id).group_by(t.ledger.c.entry_id).having(func.count() > 1)
        ).all()
    assert doubled == []
    with expected.store.transaction(expected.id) as want, store.transaction(community.id) as got:
        wanted = Counter(_award(e) for e in want.entries())
        found = Counter(_award(e) for e in got.entries())
        assert wanted - found == Counter(), "lost awards"
        assert found - wanted == Counter(), "doubled awards"
        members = [OWNER, FAN] + [f"w{w}m{i}" for w in range(WRITERS) for i in range(MEMBERS)]
        for m in members:
            for account in ("points", "reputation"):
                assert got.counter(account, "all", m) == want.counter(account, "all", m), m
    assert community.standing(OWNER).reputation == 2 * WRITERS  # one per kudos on its topic
    assert_consistent(community)  # balances = ledger sums, rebuild() = incremental


def _waiting(postgres_engine: Engine, prefix: str) -> tuple[Engine, Community]:
    """A second app server whose statements give up after 1 s waiting for a lock."""
    url = postgres_engine.url.render_as_string(hide_password=False)
    engine = create_engine(url, connect_args={"options": "-c lock_timeout=1000"})
    store = SqlStore(engine, metadata=make_metadata(prefix=prefix))
    return engine, Community(store=store, policy=policies.giffgaff(), cache=None)


def _open_writer(
    postgres_engine: Engine, prefix: str
) -> tuple[SqlStore, Policy, Engine, Community]:
    """The writers' members set up; a store to open a writer's transaction on, and a second
    app server (see :func:`_waiting`)."""
    md, policy = make_metadata(prefix=prefix), policies.giffgaff()
    Community(store=SqlStore(postgres_engine, metadata=md), policy=policy).record_many(set_up())
    engine, other = _waiting(postgres_engine, prefix)
    return SqlStore(postgres_engine, metadata=md), policy, engine, other


def test_a_writer_on_other_members_does_not_wait_for_an_open_one(
    postgres_engine: Engine, prefix: str
) -> None:
    store, policy, engine, other = _open_writer(postgres_engine, prefix)
    try:
        with store.transaction("default") as tx:
            # A writer records a kudos among writer 0's members, and is still at work.
            kudos = KudosGiven(post="w0t0", giver="w0m1", at=START + timedelta(days=1))
            apply(tx, policy, kudos, notify=False)  # none: the outbox waits for its turn
            # Writer 1's members: nothing of theirs is locked; this commits at once.
            done = other.record(KudosGiven(post="w1t0", giver="w1m1", at=START + timedelta(days=1)))
            assert done.entries and not done.replayed
            assert other.standing("w1m0").reputation == 1
            # w0m0 is being written by the open transaction: a writer on it waits (here it
            # gives up after its lock timeout, each retry too).
            with pytest.raises(TransientStoreError):
                other.record(KudosGiven(post="w0t0", giver="w0m2", at=START + timedelta(days=1)))
        # The first committed: now the kudos counts on top of the first one.
        other.record(KudosGiven(post="w0t0", giver="w0m2", at=START + timedelta(days=1)))
        assert other.standing("w0m0").reputation == 2
        assert_consistent(other)
    finally:
        engine.dispose()


def test_whole_community_work_waits_for_writers_in_flight(
    postgres_engine: Engine, prefix: str
) -> None:
    store, policy, engine, other = _open_writer(postgres_engine, prefix)
    try:
        with store.transaction("default") as tx:
            kudos = KudosGiven(post="w0t0", giver="w0m1", at=START + timedelta(days=1))
            apply(tx, policy, kudos, notify=False)  # none: the outbox waits for its turn
            # A rebuild reads the whole log: it waits for the open writer to finish.
            with pytest.raises(TransientStoreError):
                other.rebuild()
        report = other.rebuild()
        assert report.events == len(set_up()) + 1
        assert other.standing("w0m0").reputation == 1
    finally:
        engine.dispose()


def _shared_aggregates(w: int, day: datetime) -> list[Event]:
    """Writer ``w``'s facts that add to counters every topic of a period shares: response
    health, feelings (per period, product and tag), people involved per product, deflections."""
    m = [f"w{w}m{i}" for i in range(4)]
    return [
        TopicPosted(topic=f"w{w}new", author=m[0], tags=["billing"], product="sim", at=day),
        ReplyPosted(reply=f"w{w}new-r", topic=f"w{w}new", author=m[1], at=day),
        FeelingSet(topic=f"w{w}new", feeling="frustrated", by=m[0], at=day),
        TopicFollowed(topic=f"w{w}new", member=m[3], at=day),
        SolutionAccepted(topic=f"w{w}t1", reply=f"w{w}r1", by=m[1], at=day),
        TopicDeflected(topic=f"w{w}t1", by=m[3], at=day),
    ]


def test_writers_posting_on_other_members_do_not_wait_for_an_open_one(
    postgres_engine: Engine, prefix: str
) -> None:
    """Topics, replies, accepted solutions, feelings, follows and deflections on distinct
    members share no lock: not the period their topics' response records are filed under,
    not the product's or the period's feelings and deflections, not the community's."""
    md, policy = make_metadata(prefix=prefix), policies.giffgaff()
    Community(store=SqlStore(postgres_engine, metadata=md), policy=policy).record_many(set_up())
    engine, other = _waiting(postgres_engine, prefix)
    day = START + timedelta(days=1)
    try:
        store = SqlStore(postgres_engine, metadata=md)
        with store.transaction("default") as tx:
            for event in _shared_aggregates(0, day):
                apply(tx, policy, event, notify=False)
            # Writer 1's members, the same kinds of fact: each commits at once.
            for event in _shared_aggregates(1, day):
                assert not other.record(event).replayed
            # A reply on writer 0's new topic waits for it (its lock timeout, each retry).
            with pytest.raises(TransientStoreError):
                other.record(ReplyPosted(reply="w0new-r2", topic="w0new", author="w0m2", at=day))
        assert not other.record(
            ReplyPosted(reply="w0new-r2", topic="w0new", author="w0m2", at=day)
        ).replayed
        # Both writers' shares of the aggregates are there, once each.
        assert other.feelings(product="sim")["frustrated"] == 2
        assert other.deflections() == 2
        assert other.health().total.solved == 2
        assert_consistent(other)
    finally:
        engine.dispose()


def test_two_sets_of_tables_in_one_database_share_no_lock(postgres_engine: Engine) -> None:
    """Two applications keep their kudos tables in one database (prefixes ``a_``, ``b_``),
    each with a community ``default``: whole-community work on one does not hold up, or
    make give up, a writer on the other."""
    tables = [make_metadata(prefix=f"kudos_l{os.getpid()}{side}_") for side in "ab"]
    for md in tables:
        md.drop_all(postgres_engine)
        SqlStore(postgres_engine, metadata=md).create_all()
    url = postgres_engine.url.render_as_string(hide_password=False)
    engine = create_engine(url, connect_args={"options": "-c lock_timeout=1000"})
    try:
        first = Community(
            store=SqlStore(postgres_engine, metadata=tables[0]), policy=policies.giffgaff()
        )
        other = Community(store=SqlStore(engine, metadata=tables[1]), policy=policies.giffgaff())
        first.join("ann", at=START)
        with first.store.transaction("default") as tx:
            tx.events()  # reads the whole log: takes its community's lock exclusively
            other.join("ann", at=START)  # commits at once
            other.join("bob", at=START)
        assert [s.member for s in other.standings()] == ["ann", "bob"]
    finally:
        engine.dispose()
        for md in tables:
            md.drop_all(postgres_engine)
