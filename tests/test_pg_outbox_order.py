"""A delivery worker paging the outbox by cursor while writers commit in parallel.

Several processes record events on members of their own (so on PostgreSQL they
run in parallel, each locking only its own members), most of them in batches
whose notifications are drawn early and committed at the batch's end. A poller
meanwhile pages with ``notifications(since=cursor)`` as docs/integrate.md shows,
moving its cursor to the last ``seq`` it saw. It must see every notification
exactly once: a notification that commits after one with a higher ``seq`` would
be passed over for good.
"""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from multiprocessing import get_context

import pytest
from sqlalchemy import Engine, create_engine

from kudos import Community, policies
from kudos.events import Event, KudosGiven, MemberJoined, ReplyPosted, TopicPosted
from kudos.stores.sql import SqlStore, make_metadata

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

WRITERS = 4
MEMBERS = 60  # per writer
START = datetime(2026, 3, 2, 9, tzinfo=UTC)


def events_of(worker: int) -> list[Event]:
    """A writer's events: its members join, one posts a topic, each replies and is thanked.

    A first reply and a first kudos each earn a badge, so most events notify.
    """
    members = [f"w{worker}m{i}" for i in range(MEMBERS)]
    at = (START + timedelta(seconds=i) for i in range(10 * MEMBERS))
    events: list[Event] = [MemberJoined(member=m, at=next(at)) for m in members]
    topic = f"w{worker}t"
    events.append(TopicPosted(topic=topic, author=members[0], tags=["roaming"], at=next(at)))
    for i, m in enumerate(members[1:], start=1):
        reply = f"w{worker}r{i}"
        events.append(ReplyPosted(reply=reply, topic=topic, author=m, at=next(at)))
        events.append(KudosGiven(post=reply, giver=members[i - 1], at=next(at)))
    return events


def write(url: str, prefix: str, worker: int) -> int:
    """One writer: record its events (in batches but for the first writer); notifications made."""
    engine = create_engine(url)
    store = SqlStore(engine, metadata=make_metadata(prefix=prefix))
    community = Community(store=store, policy=policies.giffgaff(), cache=None)
    events = events_of(worker)
    batch = 1 if worker == 0 else 3 + worker
    made = 0
    try:
        for i in range(0, len(events), batch):
            chunk = events[i : i + batch]
            outcomes = community.record_many(chunk) if batch > 1 else [community.record(chunk[0])]
            made += sum(len(o.notifications) for o in outcomes)
    finally:
        engine.dispose()
    return made


def test_a_cursor_paging_the_outbox_during_parallel_writes_sees_each_notification_once(
    postgres_engine: Engine, prefix: str
) -> None:
    url = postgres_engine.url.render_as_string(hide_password=False)
    store = SqlStore(postgres_engine, metadata=make_metadata(prefix=prefix))
    poller = Community(store=store, policy=policies.giffgaff(), cache=None)
    seen: list[int] = []
    cursor = 0

    def poll() -> int:
        nonlocal cursor
        page = poller.notifications(since=cursor, limit=7)
        if page:
            seen.extend(n.seq for n in page)
            cursor = page[-1].seq
        return len(page)

    with ProcessPoolExecutor(WRITERS, mp_context=get_context("spawn")) as pool:
        runs = [pool.submit(write, url, prefix, w) for w in range(WRITERS)]
        while not all(run.done() for run in runs):
            if not poll():
                time.sleep(0.001)
        made = sum(run.result(timeout=600) for run in runs)
    seen_while_writing = len(seen)
    while poll():
        pass

    everything = [n.seq for n in poller.notifications(since=0, limit=None)]
    assert len(everything) == made > WRITERS * MEMBERS  # most events notified
    # The poller read while the writers were still committing, not all at the end.
    assert seen_while_writing > 0
    duplicates = [seq for seq, n in Counter(seen).items() if n > 1]
    assert duplicates == []
    skipped = sorted(set(everything) - set(seen))
    assert skipped == [], f"{len(skipped)} notifications passed over by the cursor"
    assert seen == sorted(seen)
