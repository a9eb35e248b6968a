"""How PostgreSQL writers of one community scale: one writer process against eight.

Every writer owns its own members (``w<k>m<i>``), each with a topic and a
reply; the set-up records those in one batch. Then each writer process
records ``--events`` kudos, one ``record`` per transaction, every kudos from
one of its members to a post of another of its members: writers touch
distinct members, so nothing they write needs the others' work. With
``--mix support`` each writer records new topics, replies to them and kudos
instead: distinct members still, but every topic and reply adds to the
period's response health, which all writers share. The runs are:

* one writer alone (on tables of its own);
* ``--writers`` writers at once (on tables of their own), started together.

For each it prints total events per second (all events over the wall time
from the start to the last writer's end), the p50 and p99 latency of one
``record``, and the ratio of the many writers' throughput to the one's. Then it
checks the database against a single-process reference (a MemoryStore
recording the same events): ledger awards lost (in the reference, not in the
database) and doubled (in the database more often than in the reference), and
members whose balances differ.

    python benchmarks/pg_writers.py postgresql+psycopg://user:pw@host/db
    KUDOS_TEST_POSTGRES_URL=... python benchmarks/pg_writers.py --events 300 --writers 8
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import statistics
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import create_engine, text

import kudos
from kudos import Community, LedgerEntry, MemoryStore, policies
from kudos.events import Event, KudosGiven, MemberJoined, ReplyPosted, TopicPosted
from kudos.stores.sql import SqlStore, make_metadata

START = datetime(2026, 11, 2, 8, tzinfo=UTC)
MEMBERS = 20
"""Members per writer."""


def set_up(writer: int) -> list[Event]:
    """The members of ``writer``, a topic by each and a reply by the next one to it."""
    members = [f"w{writer}m{i}" for i in range(MEMBERS)]
    at = START + timedelta(seconds=writer)
    events: list[Event] = [MemberJoined(member=m, at=at) for m in members]
    for i, m in enumerate(members):
        events.append(TopicPosted(topic=f"w{writer}t{i}", author=m, tags=["roaming"], at=at))
        other = members[(i + 1) % MEMBERS]
        events.append(
            ReplyPosted(reply=f"w{writer}r{i}", topic=f"w{writer}t{i}", author=other, at=at)
        )
    return events


def kudos_of(writer: int, events: int) -> list[Event]:
    """``events`` kudos among ``writer``'s members, each giver once per post, seeded."""
    rng = random.Random(writer)
    posts = [(f"w{writer}t{i}", i) for i in range(MEMBERS)]
    posts += [(f"w{writer}r{i}", (i + 1) % MEMBERS) for i in range(MEMBERS)]
    pairs = [
        (post, f"w{writer}m{g}") for post, author in posts for g in range(MEMBERS) if g != author
    ]
    if events > len(pairs):
        raise SystemExit(f"at most {len(pairs)} kudos per writer with {MEMBERS} members")
    chosen = rng.sample(pairs, events)
    day = START + timedelta(days=1)
    return [
        KudosGiven(post=post, giver=giver, at=day + timedelta(seconds=n))
        for n, (post, giver) in enumerate(chosen)
    ]


def support_of(writer: int, events: int) -> list[Event]:
    """``events`` facts of a support desk among ``writer``'s members, in threes: a new topic,
    a reply to it by the next member, a kudos to the reply. Every topic and reply adds to
    the period's response health, which all writers share."""
    members = [f"w{writer}m{i}" for i in range(MEMBERS)]
    day = START + timedelta(days=1)
    found: list[Event] = []
    for n in range(events):
        k, step = divmod(n, 3)
        at = day + timedelta(seconds=n)
        author, other = members[k % MEMBERS], members[(k + 1) % MEMBERS]
        topic, reply = f"w{writer}n{k}", f"w{writer}n{k}r"
        if step == 0:
            found.append(TopicPosted(topic=topic, author=author, tags=["roaming"], at=at))
        elif step == 1:
            found.append(ReplyPosted(reply=reply, topic=topic, author=other, at=at))
        else:
            found.append(KudosGiven(post=reply, giver=author, at=at))
    return found


MIXES = {"kudos": kudos_of, "support": support_of}
"""What each writer records (``--mix``)."""


def write(
    url: str, prefix: str, writer: int, events: int, start: Any, mix: str = "kudos"
) -> list[float]:
    """One writer process: wait for the start, then record its events one per transaction."""
    engine = create_engine(url, pool_size=1, connect_args={"application_name": prefix})
    store = SqlStore(engine, metadata=make_metadata(prefix=prefix))
    community = Community(store=store, policy=policies.giffgaff(), cache=None)
    todo = MIXES[mix](writer, events)
    community.standing(f"w{writer}m0")  # connect and check the schema before the start
    start.wait()
    took = []
    for event in todo:
        began = time.perf_counter()
        community.record(event)
        took.append(time.perf_counter() - began)
    engine.dispose()
    return took


def sample_waits(url: str, prefix: str, done: threading.Event) -> Counter[str]:
    """Every 20 ms until ``done``: what the writers' backends that are not idle wait for.

    Counts per ``wait_event_type:wait_event`` (``running`` when a backend waits for
    nothing: it is on a CPU or queued for one), e.g. ``Lock:advisory`` (a writer
    waiting for another's lock) or ``Client:ClientRead`` (waiting for its client).

    On a machine short of cores the writers' throughput says little about locking; what
    their database sessions wait for does: a lock (writers taking turns), or the client.
    """
    engine = create_engine(url)
    seen: Counter[str] = Counter()
    query = text(
        "SELECT wait_event_type, wait_event FROM pg_stat_activity "
        "WHERE application_name = :app AND state <> 'idle'"
    )
    with engine.connect() as conn:
        while not done.wait(0.02):
            for kind, event in conn.execute(query, {"app": prefix}):
                seen[f"{kind}:{event}" if kind else "running"] += 1
            conn.rollback()
    engine.dispose()
    return seen


def run(
    url: str, writers: int, events: int, mix: str = "kudos"
) -> tuple[float, list[float], str, Counter[str]]:
    """Fresh tables, the set-up, then ``writers`` at once.

    Returns events/s, the latencies, the tables' prefix and what the sampled writer
    sessions were waiting for (see :func:`sample_waits`).
    """
    prefix = f"kudos_bw{os.getpid()}_{writers}_"
    engine = create_engine(url)
    md = make_metadata(prefix=prefix)
    md.drop_all(engine)
    store = SqlStore(engine, metadata=md)
    store.create_all()
    setup = Community(store=store, policy=policies.giffgaff(), cache=None)
    setup.record_many([e for w in range(writers) for e in set_up(w)])
    engine.dispose()

    ctx = multiprocessing.get_context("spawn")
    start = ctx.Manager().Event()
    with ctx.Pool(writers) as pool:
        jobs = [
            pool.apply_async(write, (url, prefix, w, events, start, mix)) for w in range(writers)
        ]
        time.sleep(1.0 + 0.3 * writers)  # let every process import kudos and connect
        done = threading.Event()
        waits: list[Counter[str]] = []
        sampler = threading.Thread(target=lambda: waits.append(sample_waits(url, prefix, done)))
        sampler.start()
        began = time.perf_counter()
        start.set()
        latencies = [t for job in jobs for t in job.get(timeout=3600)]
        wall = time.perf_counter() - began
        done.set()
        sampler.join()
    return writers * events / wall, latencies, prefix, waits[0]


def check(
    url: str, prefix: str, writers: int, events: int, mix: str = "kudos"
) -> tuple[int, int, int]:
    """(awards lost, awards doubled, members with a wrong balance) against a MemoryStore."""
    reference = Community(store=MemoryStore(), policy=policies.giffgaff())
    reference.record_many([e for w in range(writers) for e in set_up(w)])
    for w in range(writers):
        for event in MIXES[mix](w, events):
            reference.record(event)
    engine = create_engine(url)
    store = SqlStore(engine, metadata=make_metadata(prefix=prefix))
    community = Community(store=store, policy=policies.giffgaff(), cache=None)
    with reference.store.transaction(reference.id) as want, store.transaction(community.id) as got:
        expected = Counter(_award(e) for e in want.entries())
        found = Counter(_award(e) for e in got.entries())
        wrong = sum(
            1
            for w in range(writers)
            for i in range(MEMBERS)
            for account in ("points", "reputation")
            if got.counter(account, "all", f"w{w}m{i}") != want.counter(account, "all", f"w{w}m{i}")
        )
    make_metadata(prefix=prefix).drop_all(engine)
    engine.dispose()
    return sum((expected - found).values()), sum((found - expected).values()), wrong


def _award(e: LedgerEntry) -> tuple[str, str, str, int, str]:
    return (e.event_id, e.member, e.account, e.amount, e.action)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", default=os.environ.get("KUDOS_TEST_POSTGRES_URL"))
    parser.add_argument("--events", type=int, default=300, help="kudos per writer (300)")
    parser.add_argument("--writers", type=int, default=8, help="writers of the second run (8)")
    parser.add_argument(
        "--mix",
        choices=sorted(MIXES),
        default="kudos",
        help="kudos among each writer's posts (default), or support: new topics, replies "
        "and kudos, which add to the period's shared response health",
    )
    args = parser.parse_args(argv)
    if not args.url:
        parser.error("give a PostgreSQL URL, or set KUDOS_TEST_POSTGRES_URL")
    print(
        f"kudos {kudos.__version__}, {os.cpu_count()} cores, "
        f"{args.events} events per writer ({args.mix})"
    )
    results = {}
    for writers in (1, args.writers):
        rate, latencies, prefix, waits = run(args.url, writers, args.events, args.mix)
        lost, doubled, wrong = check(args.url, prefix, writers, args.events, args.mix)
        q = statistics.quantiles(latencies, n=100)
        results[writers] = rate
        sampled = sum(waits.values())
        locked = sum(n for wait, n in waits.items() if wait.startswith("Lock:"))
        print(
            f"{writers} writer{'s' if writers > 1 else ''}: {rate:,.0f} events/s, "
            f"p50 {_ms(q[49])}, p99 {_ms(q[98])}; sessions waiting for a lock "
            f"{locked / sampled if sampled else 0:.0%}; lost {lost}, doubled {doubled}, "
            f"wrong balances {wrong}"
        )
        shares = ", ".join(
            f"{wait} {n / sampled:.0%}" for wait, n in waits.most_common(6) if sampled
        )
        print(f"  sessions in a transaction were: {shares} ({sampled} samples)")
        if lost or doubled or wrong:
            sys.exit("the database differs from the single-process reference")
    print(f"{args.writers} writers / 1 writer: {results[args.writers] / results[1]:.2f}x")


if __name__ == "__main__":
    main()
