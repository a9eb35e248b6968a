"""What does response health cost per reply recorded?

Run it on demand (it is not a test)::

    python benchmarks/health_writes.py                  # 20,000 topics, MemoryStore and SQLite
    python benchmarks/health_writes.py --topics 5000    # a quick run
    KUDOS_TEST_POSTGRES_URL=postgresql+psycopg://... python benchmarks/health_writes.py

It takes the seeded support desk of ``benchmarks/support.py`` (``--topics`` topics,
85% of them answered by one to three replies, half the answered questions and
problems solved), records the members and topics first, then times recording the
replies and accepted solutions with ``record_many`` in batches of ``--batch`` events
(wall time and this process's CPU time), on a ``MemoryStore``, an SQLite file in WAL
mode and, with ``KUDOS_TEST_POSTGRES_URL`` set, PostgreSQL under a fresh table prefix.

With ``--thread N`` it measures a long thread instead: one topic gets ``N`` replies,
each recorded with its own ``record`` as a forum does, and it prints what the first
hundred replies and the last hundred cost each (wall time and CPU; "last / first" is the
CPU ratio), then what removing a reply and restoring it cost (twenty replies from the
thread's start to its end), what ``topic_feedback`` costs, and what merging into the asker
the second account that wrote every third reply costs, on the same stores::

    python benchmarks/health_writes.py --thread 2000

It uses the public API only, so the same script measures two versions of kudos
(run it with each on ``PYTHONPATH``, alternating): the figures per reply of one
over the other is what keeping response health as counters costs at write time.
"""

from __future__ import annotations

import argparse
import functools
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from support import NOW, stream

import kudos
from kudos.events import Event, ReplyPosted, SolutionAccepted
from kudos.stores.sql import SqlStore, make_metadata
from kudos.testing import FakeClock


def measure(
    name: str, make: Callable[[], kudos.Community], events: list[Event], batch: int
) -> None:
    later = [e for e in events if isinstance(e, ReplyPosted | SolutionAccepted)]
    first = [e for e in events if not isinstance(e, ReplyPosted | SolutionAccepted)]
    community = make()
    for i in range(0, len(first), 10_000):
        community.record_many(first[i : i + 10_000], trusted=True)
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(0, len(later), batch):
        community.record_many(later[i : i + batch], trusted=True)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    replies = sum(1 for e in later if isinstance(e, ReplyPosted))
    print(
        f"{name:12} {len(later):>8,} events ({replies:,} replies): "
        f"{wall:7.1f}s wall, {cpu:7.1f}s CPU; per event {wall / len(later) * 1e6:7.0f} µs wall, "
        f"{cpu / len(later) * 1e6:7.0f} µs CPU"
    )


def thread(name: str, make: Callable[[FakeClock], kudos.Community], replies: int) -> None:
    """Time each reply of one ``replies``-long thread, then moderation and reads of it.

    Every third reply is by ``asker2``, the asker's second account, merged into the asker's
    at the end (so those replies stop counting as responses).
    """
    clock = FakeClock(NOW)
    community = make(clock)
    for member in ("asker", "asker2", "alice", "bob"):
        community.join(member)
    community.join("mod", role="staff")
    community.post_topic("t1", author="asker", title="No signal since the update", tags=["signal"])
    repliers = ("asker2", "alice", "bob")
    costs = []
    for n in range(1, replies + 1):
        clock.advance(seconds=30)
        wall, cpu = time.perf_counter(), time.process_time()
        community.post_reply(f"r{n}", topic="t1", author=repliers[n % 3])
        costs.append((time.perf_counter() - wall, time.process_time() - cpu))

    def timed(call: Callable[[], object], times: int = 1) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        call()
        return (time.perf_counter() - wall) / times, (time.process_time() - cpu) / times

    def moderate(n: int) -> None:  # a reply removed as spam and restored
        community.remove_post(f"r{n}", by="mod", reason="spam")
        community.restore_post(f"r{n}", by="mod")

    step = max(1, replies // 20)  # twenty replies from the thread's start to its end
    moderated = [timed(functools.partial(moderate, n), 2) for n in range(2, replies + 1, step)]
    read = [timed(lambda: community.topic_feedback("t1")) for _ in range(5)]
    merged = [timed(lambda: community.merge_members("asker2", into="asker", by="mod"))]
    span = min(100, replies)
    first, last = costs[:span], costs[-span:]

    def per(part: list[tuple[float, float]]) -> str:
        wall = sum(c[0] for c in part) / len(part) * 1e6
        cpu = sum(c[1] for c in part) / len(part) * 1e6
        return f"{wall:,.0f} µs wall, {cpu:,.0f} µs CPU"

    ratio = sum(c[1] for c in last) / sum(c[1] for c in first)
    print(
        f"{name}: replies 1-{span:,}: {per(first)}; replies {replies - span + 1:,}-{replies:,}: "
        f"{per(last)} (last / first CPU {ratio:.2f}); a removal or restore: {per(moderated)}; "
        f"topic_feedback: {per(read)}; merging asker2 into asker: {per(merged)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--topics", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--thread", type=int, default=0, help="replies of one long thread")
    args = parser.parse_args()
    print(f"kudos from {Path(kudos.__file__).parent}")
    if args.thread:
        thread("MemoryStore", lambda clock: kudos.Community(clock=clock, cache=None), args.thread)
        with tempfile.TemporaryDirectory() as tmp:
            store = SqlStore.from_url(f"sqlite:///{Path(tmp) / 'thread.db'}")
            thread(
                "SQLite",
                lambda clock: kudos.Community(store=store, clock=clock, cache=None),
                args.thread,
            )
            store.close()
        return
    events = stream(args.topics)
    measure(
        "MemoryStore",
        lambda: kudos.Community(clock=FakeClock(NOW), cache=None),
        events,
        args.batch,
    )
    with tempfile.TemporaryDirectory() as tmp:
        store = SqlStore.from_url(f"sqlite:///{Path(tmp) / 'writes.db'}")
        measure(
            "SQLite",
            lambda: kudos.Community(store=store, clock=FakeClock(NOW), cache=None),
            events,
            args.batch,
        )
        store.close()
    url = os.environ.get("KUDOS_TEST_POSTGRES_URL")
    if url:
        from sqlalchemy import create_engine

        engine = create_engine(url)
        metadata = make_metadata(prefix=f"kudos_hw{os.getpid()}_")
        pg = SqlStore(engine, metadata=metadata)
        pg.create_all()
        try:
            measure(
                "PostgreSQL",
                lambda: kudos.Community(store=pg, clock=FakeClock(NOW), cache=None),
                events,
                args.batch,
            )
        finally:
            metadata.drop_all(engine)
            engine.dispose()


if __name__ == "__main__":
    main()
