"""How fast is response health at 100,000 topics?

Run it on demand (it is not a test)::

    python benchmarks/support.py                      # 100,000 topics, SQLite
    python benchmarks/support.py --topics 10000       # a quick run
    KUDOS_TEST_POSTGRES_URL=postgresql+psycopg://... python benchmarks/support.py

It records a seeded support desk through the engine on a ``MemoryStore``
(``record_many``, giffgaff preset): 2,000 members (50 of them staff), then
``--topics`` topics over the 180 days before the clock's 2026-11-23, across six
channels, four kinds, 30 tags and 8 products; 85% of topics get one to three
replies (a staff member writes a quarter of them), minutes to days after the
topic, and half of the answered ones an accepted solution. The projections it
wrote (a ``health`` document per topic among them) are then copied into a
``SqlStore`` on an SQLite file in WAL mode (and, with
``KUDOS_TEST_POSTGRES_URL`` set, a PostgreSQL database under a fresh table
prefix) with ``replace_projections``, which is what ``rebuild()`` does.

For each store it prints the median and 99th percentile of ``--reads`` calls of

* ``health()``; ``health(by="tag")``; ``health(by="channel")``;
  ``health(period="2026-H2")``;
* ``topic_feedback(topic)`` for random topics;

with wall times (median, p99) and the median CPU time of the benchmark's own
process (a PostgreSQL server's work is not in it); and, as the baseline measured in
the same run, the same number of reads of
the raw rows those figures come from: ``SELECT data FROM kudos_docs WHERE
kind = 'health'`` through the same SQLAlchemy engine, JSON decoded, with no
arithmetic. ``health()`` over that baseline is what kudos adds to reading its
records.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

import kudos
from kudos.events import (
    Event,
    MemberJoined,
    ReplyPosted,
    SolutionAccepted,
    TopicPosted,
)
from kudos.stores.sql import SqlStore, make_metadata
from kudos.testing import FakeClock

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
CHANNELS = ["web", "web", "web", "twitter", "facebook", "email", "phone", "chat"]
KINDS = ["question", "question", "problem", "problem", "idea", "praise"]


def stream(topics: int, seed: int = 7) -> list[Event]:
    rng = random.Random(seed)
    staff = [f"staff{i}" for i in range(50)]
    members = [f"m{i}" for i in range(1950)]
    start = NOW - timedelta(days=180)
    events: list[Event] = [
        MemberJoined(member=m, role="staff" if m in staff else "member", at=start)
        for m in staff + members
    ]
    later: list[tuple[datetime, Event]] = []
    for t in range(topics):
        posted = start + timedelta(seconds=rng.randrange(180 * 86400 - 7 * 86400))
        author = rng.choice(members)
        kind = rng.choice(KINDS)
        events.append(
            TopicPosted(
                topic=f"t{t}",
                author=author,
                kind=kind,
                title=f"topic {t}",
                tags=[f"tag{int(rng.paretovariate(1.2)) % 30}"],
                product=f"p{rng.randrange(8)}",
                channel=rng.choice(CHANNELS),
                at=posted,
            )
        )
        if rng.random() < 0.15:
            continue
        replies = []
        for r in range(rng.randint(1, 3)):
            at = posted + timedelta(seconds=int(rng.expovariate(1 / 5400)) + 30 * r)
            by = rng.choice(staff) if rng.random() < 0.25 else rng.choice(members)
            if by == author:
                continue
            reply = f"r{t}.{r}"
            later.append((at, ReplyPosted(reply=reply, topic=f"t{t}", author=by, at=at)))
            replies.append((at, reply))
        if replies and kind in ("question", "problem") and rng.random() < 0.5:
            at, reply = rng.choice(replies)
            accepted = at + timedelta(seconds=rng.randrange(60, 86400))
            later.append(
                (accepted, SolutionAccepted(topic=f"t{t}", reply=reply, by=author, at=accepted))
            )
    events.sort(key=lambda e: e.at or start)
    later.sort(key=lambda p: p[0])
    merged = sorted(
        [(e.at or start, 0, i, e) for i, e in enumerate(events)]
        + [(at, 1, i, e) for i, (at, e) in enumerate(later)],
        key=lambda x: (x[0], x[1], x[2]),
    )
    return [e for *_, e in merged]


def timed(fn: Callable[[], object], n: int) -> tuple[float, float, float]:
    """Median and 99th percentile wall time, and median CPU time of this process, of ``n`` calls."""
    runs, cpus = [], []
    for _ in range(n):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        runs.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    runs.sort()
    return (
        statistics.median(runs),
        runs[min(len(runs) - 1, int(0.99 * len(runs)))],
        statistics.median(cpus),
    )


def measure(
    name: str, community: kudos.Community, store: SqlStore, reads: int, topics: int
) -> None:
    rng = random.Random(3)
    table = store.tables.docs.name
    raw = text(f"SELECT data FROM {table} WHERE community = :c AND kind = 'health'")

    def baseline() -> int:
        with store.engine.connect() as conn:
            rows = conn.execute(raw, {"c": community.id}).all()
        return sum(1 for (data,) in rows if (json.loads(data) if isinstance(data, str) else data))

    assert baseline() == topics
    cases: list[tuple[str, Callable[[], object]]] = [
        ("raw rows (baseline)", baseline),
        ("health()", community.health),
        ('health(by="tag")', lambda: community.health(by="tag")),
        ('health(by="channel")', lambda: community.health(by="channel")),
        ('health(period="2026-H2")', lambda: community.health(period="2026-H2")),
        ("topic_feedback(topic)", lambda: community.topic_feedback(f"t{rng.randrange(topics)}")),
    ]
    base = None
    print(f"\n{name}: {topics:,} topics, {reads} reads each")
    print(f"{'read':28} {'median':>10} {'p99':>10} {'CPU median':>11} {'median/baseline':>16}")
    for label, fn in cases:
        n = reads * 20 if label.startswith("topic_feedback") else reads
        median, p99, cpu = timed(fn, n)
        base = base or median
        print(
            f"{label:28} {median * 1000:8.1f}ms {p99 * 1000:8.1f}ms {cpu * 1000:9.1f}ms "
            f"{median / base:16.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--topics", type=int, default=100_000)
    parser.add_argument("--reads", type=int, default=15)
    args = parser.parse_args()

    events = stream(args.topics)
    clock = FakeClock(NOW)
    memory = kudos.Community(clock=clock, cache=None)
    t0 = time.perf_counter()
    for i in range(0, len(events), 10_000):
        memory.record_many(events[i : i + 10_000], trusted=True)
    built = time.perf_counter() - t0
    print(f"recorded {len(events):,} events in {built:.0f}s ({len(events) / built:,.0f} events/s)")
    with memory.store.transaction(memory.id) as tx:
        snapshot = tx.snapshot()
    t = memory.health().total
    print(
        f"{t.topics:,} topics, {t.answered:,} answered, {t.solved:,} solved; first response "
        f"median {t.first_response.median}s, p90 {t.first_response.p90}s"
    )

    with tempfile.TemporaryDirectory() as tmp:
        sqlite = SqlStore.from_url(f"sqlite:///{Path(tmp) / 'support.db'}")
        with sqlite.transaction("default") as tx:
            tx.replace_projections(snapshot)
        c = kudos.Community(store=sqlite, clock=clock, cache=None)
        assert c.health() == memory.health()
        measure("SQLite", c, sqlite, args.reads, args.topics)
        sqlite.close()

    url = os.environ.get("KUDOS_TEST_POSTGRES_URL")
    if url:
        from sqlalchemy import create_engine

        engine = create_engine(url)
        metadata = make_metadata(prefix=f"kudos_bench{os.getpid()}_")
        pg = SqlStore(engine, metadata=metadata)
        pg.create_all()
        try:
            with pg.transaction("default") as tx:
                tx.replace_projections(snapshot)
            with engine.begin() as conn:
                conn.execute(text(f"ANALYZE {pg.tables.docs.name}"))
            c = kudos.Community(store=pg, clock=clock, cache=None)
            assert c.health() == memory.health()
            measure("PostgreSQL", c, pg, args.reads, args.topics)
        finally:
            metadata.drop_all(engine)
            engine.dispose()


if __name__ == "__main__":
    main()
