"""Several app servers recording the same facts at once on one PostgreSQL database.

Four processes each record the same 2,000 events (member joins, topics,
replies, kudos, accepted solutions), every process in its own shuffled order
and with its own mix of ``record`` and ``record_many``. Whatever the
interleaving, the database must end as one process recording them once would
leave it: each event logged once, no ledger entry twice, every balance as
on a MemoryStore, and the projections equal to a replay of the log.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from multiprocessing import get_context

import pytest
from sqlalchemy import Engine, create_engine, func, select

from kudos import Community, LedgerEntry, MemoryStore, policies
from kudos.events import Event, KudosGiven, MemberJoined, ReplyPosted, SolutionAccepted, TopicPosted
from kudos.stores.sql import SqlStore, make_metadata
from kudos.testing import assert_consistent

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

PROCESSES = 4
MEMBERS, TOPICS, REPLIES, EVENTS = 50, 250, 800, 2_000
START = datetime(2026, 3, 2, 9, tzinfo=UTC)


def phases(seed: int = 7) -> list[list[Event]]:
    """The events, in phases whose events need only earlier phases (joins, topics, replies,
    then kudos and solutions), with their ids derived by kudos from the facts."""
    rng = random.Random(seed)
    at = (START + timedelta(minutes=i) for i in range(EVENTS))
    members = [f"m{i}" for i in range(MEMBERS)]
    joins: list[Event] = [MemberJoined(member=m, at=next(at)) for m in members]
    topics = [(f"t{i}", rng.choice(members)) for i in range(TOPICS)]
    posted: list[Event] = [
        TopicPosted(topic=t, author=a, tags=[rng.choice(["roaming", "billing"])], at=next(at))
        for t, a in topics
    ]
    replies = []
    for i in range(REPLIES):
        topic, asker = rng.choice(topics)
        replies.append((f"r{i}", topic, asker, rng.choice(members)))
    replied: list[Event] = [
        ReplyPosted(reply=r, topic=t, author=a, at=next(at)) for r, t, _, a in replies
    ]
    last: list[Event] = []
    solved = set()
    for reply, topic, asker, author in replies:
        if author != asker and topic not in solved and rng.random() < 0.3:
            solved.add(topic)
            last.append(SolutionAccepted(topic=topic, reply=reply, by=asker, at=next(at)))
    given = set()
    posts = [(r, a) for r, _, _, a in replies] + topics
    while len(joins) + len(posted) + len(replied) + len(last) < EVENTS:
        post, author = rng.choice(posts)
        giver = rng.choice(members)
        if giver != author and (post, giver) not in given:
            given.add((post, giver))
            last.append(KudosGiven(post=post, giver=giver, at=next(at)))
    rng.shuffle(last)
    return [joins, posted, replied, last]


def in_order(seed: int) -> Iterator[Event]:
    """Every event once, each phase shuffled by ``seed``."""
    rng = random.Random(seed)
    for phase in phases():
        rng.shuffle(phase)
        yield from phase


def record_everything(url: str, prefix: str, worker: int) -> Counter[str]:
    """One app server: record every event in this worker's order; count outcomes."""
    engine = create_engine(url)
    store = SqlStore(engine, metadata=make_metadata(prefix=prefix))
    community = Community(store=store, policy=policies.giffgaff(), cache=None)
    seen: Counter[str] = Counter()
    events = list(in_order(seed=worker))
    batch = 1 if worker % 2 == 0 else 1 + worker * 4  # some record, some record_many
    try:
        for i in range(0, len(events), batch):
            chunk = events[i : i + batch]
            outcomes = community.record_many(chunk) if batch > 1 else [community.record(chunk[0])]
            seen.update("replayed" if o.replayed else "new" for o in outcomes)
    finally:
        engine.dispose()
    return seen


def test_app_servers_recording_the_same_events_at_once_award_each_once(
    postgres_engine: Engine, prefix: str
) -> None:
    url = postgres_engine.url.render_as_string(hide_password=False)
    with ProcessPoolExecutor(PROCESSES, mp_context=get_context("spawn")) as pool:
        runs = [pool.submit(record_everything, url, prefix, w) for w in range(PROCESSES)]
        counts = [run.result(timeout=600) for run in runs]

    assert sum(c["new"] for c in counts) == EVENTS, counts
    assert sum(c["replayed"] for c in counts) == EVENTS * (PROCESSES - 1), counts

    expected = Community(store=MemoryStore(), policy=policies.giffgaff())
    expected.record_many(in_order(seed=0))
    store = SqlStore(postgres_engine, metadata=make_metadata(prefix=prefix))
    community = Community(store=store, policy=policies.giffgaff())

    t = store.tables
    with postgres_engine.connect() as conn:
        logged = conn.execute(select(t.events.c.event_id)).scalars().all()
        assert len(logged) == len(set(logged)) == EVENTS
        duplicates = conn.execute(
            select(t.ledger.c.entry_id).group_by(t.ledger.c.entry_id).having(func.count() > 1)
        ).all()
        assert duplicates == []

    with expected.store.transaction(expected.id) as want, store.transaction(community.id) as got:
        assert {e.event_id for e in got.events()} == {e.event_id for e in want.events()}
        assert Counter(_award(e) for e in got.entries()) == Counter(
            _award(e) for e in want.entries()
        )
        for m in (f"m{i}" for i in range(MEMBERS)):
            for account in ("points", "reputation"):
                assert got.counter(account, "all", m) == want.counter(account, "all", m), m
    assert_consistent(community)


def _award(e: LedgerEntry) -> tuple[str, str, str, int, str]:
    return (e.event_id, e.member, e.account, e.amount, e.action)
