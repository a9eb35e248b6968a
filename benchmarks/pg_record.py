"""What one ``record`` costs on PostgreSQL: statements, client CPU and latency per event.

Fresh tables; ``--members`` members join, each posts a topic and the next one
replies (one ``record_many``). Then one process records ``--events`` kudos,
one ``record`` per transaction, each from a member to another's reply. It
prints events per second (wall), the client's CPU time per event (the
Python process: kudos, SQLAlchemy and the driver), the median latency of one
``record``, and the statements sent per event (counted with SQLAlchemy's
``before_cursor_execute`` event, ``COMMIT`` not included).

    python benchmarks/pg_record.py postgresql+psycopg://user:pw@host/db
    KUDOS_TEST_POSTGRES_URL=... python benchmarks/pg_record.py --events 300
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import create_engine, event

import kudos
from kudos import Community, policies
from kudos.events import Event, KudosGiven, MemberJoined, ReplyPosted, TopicPosted
from kudos.stores.sql import SqlStore, make_metadata

START = datetime(2026, 11, 2, 8, tzinfo=UTC)


def set_up(members: int) -> list[Event]:
    """Every member joins and posts a topic; the next member replies to it."""
    events: list[Event] = [MemberJoined(member=f"m{i}", at=START) for i in range(members)]
    for i in range(members):
        events.append(TopicPosted(topic=f"t{i}", author=f"m{i}", tags=["roaming"], at=START))
        events.append(
            ReplyPosted(reply=f"r{i}", topic=f"t{i}", author=f"m{(i + 1) % members}", at=START)
        )
    return events


def kudos_of(members: int, events: int) -> list[Event]:
    """``events`` kudos to the replies, each giver once per reply, not to their own."""
    found: list[Event] = []
    for i in range(members):
        for g in range(members):
            if g != (i + 1) % members and len(found) < events:
                at = START + timedelta(days=1, seconds=len(found))
                found.append(KudosGiven(post=f"r{i}", giver=f"m{g}", at=at))
    if len(found) < events:
        raise SystemExit(f"at most {len(found)} kudos with {members} members")
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", default=os.environ.get("KUDOS_TEST_POSTGRES_URL"))
    parser.add_argument("--events", type=int, default=300, help="kudos recorded (300)")
    parser.add_argument("--members", type=int, default=20, help="members (20)")
    args = parser.parse_args(argv)
    if not args.url:
        parser.error("give a PostgreSQL URL, or set KUDOS_TEST_POSTGRES_URL")
    if args.events < 2 or args.members < 2:
        parser.error("--events and --members must be at least 2")
    engine = create_engine(args.url)
    md = make_metadata(prefix=f"kudos_br{os.getpid()}_")
    md.drop_all(engine)
    store = SqlStore(engine, metadata=md)
    store.create_all()
    community = Community(store=store, policy=policies.giffgaff(), cache=None)
    community.record_many(set_up(args.members))
    todo = kudos_of(args.members, args.events)
    sent = [0]

    def count(*_: Any) -> None:
        sent[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    latencies = []
    cpu, wall = time.process_time(), time.perf_counter()
    for fact in todo:
        began = time.perf_counter()
        community.record(fact)
        latencies.append(time.perf_counter() - began)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    event.remove(engine, "before_cursor_execute", count)
    md.drop_all(engine)
    engine.dispose()
    n = len(todo)
    print(
        f"kudos {kudos.__version__}: {n} kudos, {n / wall:,.0f} events/s, client CPU "
        f"{cpu / n * 1000:.2f} ms/event, p50 {statistics.median(latencies) * 1000:.1f} ms, "
        f"{sent[0] / n:.1f} statements/event"
    )


if __name__ == "__main__":
    main()
