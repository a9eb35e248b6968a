"""What kudos costs inside a host: per-request stores, fresh cached reads, real-shaped reads.

Run it on demand (it is not a test)::

    python benchmarks/host.py                      # SQLite and MemoryStore
    python benchmarks/host.py --postgres URL       # PostgreSQL too
    python benchmarks/host.py --members 4000 --events 30000

It prints, in one run:

* **Per-request construction**: ``SqlStore(conn)`` plus ``Community(store=...,
  policy=...)`` inside the host's ``engine.begin()``, the way a web app
  builds them per request (the time to begin the transaction itself is
  left out), against the cost of building a bare ``Connection``-bound
  SQLAlchemy ``select`` for comparison.
* **An award per request**: ``give_kudos`` through a ``Community`` built per
  request on the request's connection (kudos joins the host's transaction),
  against the same award through one long-lived ``Community`` on the engine
  (kudos owns the transaction): the ratio is connection mode over engine
  mode, the target at most 1.5.
* **Cached ``standing()``** with ``freshness="checked"`` (the default: each
  hit asks the store for the community's data version) and ``"ttl"``
  (trusts the TTL for other processes' writes), and uncached.
* **A real-shaped community** (``--members``, ``--events``; default about
  4,000 members and 30,000 events, the shape of a small Stack Exchange
  site) recorded through ``record_many``: its counter rows, a cold
  ``standing()`` (no cache; a fresh store object, so no state carried from
  the build) for 500 random members, and ``standings()`` over every member.

Every figure is a median with its 99th percentile over repeated calls, in
one run on one machine: compare ratios, not absolute numbers, across runs.
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData, create_engine, event, select, text

import kudos
from kudos import Community, ReadCache
from kudos.events import Event, KudosGiven, MemberJoined, ReplyPosted, SolutionAccepted, TopicPosted
from kudos.stores.sql import SqlStore, make_metadata
from kudos.testing import FakeClock

POLICY = kudos.policies.giffgaff()
START = datetime(2024, 11, 1, tzinfo=UTC)
_prefixes = itertools.count(1)
TAGS = ["roaming", "billing", "data", "signal", "esim", "top-up", "porting", "5g"] + [
    f"topic-{i}" for i in range(22)
]


def summary(samples: Sequence[float], unit: str = "us") -> str:
    scale = {"us": 1e6, "ms": 1e3, "s": 1.0}[unit]
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"median {statistics.median(ordered) * scale:9.1f} {unit}   p99 {p99 * scale:9.1f} {unit}"
    )


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


# --- the real-shaped community -----------------------------------------------------------


def real_shaped(members: int, events: int, seed: int = 7) -> Iterator[Event]:
    """A community's history with the shape of a small Stack Exchange site.

    Everyone joins over two years; activity follows a Zipf law (a few very
    active members, a long tail); a topic gets two replies on average, about
    a third of replies get kudos and a quarter of topics an accepted
    solution, each topic carries one or two of 30 tags. Times increase, so
    the history spans four payback periods and about 700 days (which is what
    makes the counter rows numerous: per day, period, tag and period-tag).
    """
    rng = random.Random(seed)
    ids = [f"u{n:05d}" for n in range(members)]
    cum = list(itertools.accumulate(1.0 / (k + 1) for k in range(members)))
    tag_cum = list(itertools.accumulate(1.0 / (k + 1) for k in range(len(TAGS))))
    step = timedelta(days=700) / events
    at = START
    joined: list[str] = []
    topics: list[tuple[str, str, list[tuple[str, str]]]] = []  # (topic, asker, replies)
    given: set[tuple[str, str]] = set()
    made = 0
    order = iter(ids)

    def someone() -> str:
        return rng.choices(joined, cum_weights=cum[: len(joined)])[0]

    while made < events:
        at += step
        roll = rng.random()
        if len(joined) < members and (roll < 0.13 or len(joined) < 20):
            member = next(order)
            joined.append(member)
            yield MemberJoined(member=member, at=at)
        elif roll < 0.33 or not topics:
            topic = f"t{len(topics)}"
            asker = someone()
            tags = tuple(sorted(set(rng.choices(TAGS, cum_weights=tag_cum, k=rng.randint(1, 2)))))
            topics.append((topic, asker, []))
            yield TopicPosted(
                topic=topic, author=asker, title=f"question {topic}", tags=tags, at=at
            )
        elif roll < 0.73:
            topic, asker, replies = topics[-1 - min(len(topics) - 1, int(rng.expovariate(0.05)))]
            author = someone()
            reply = f"{topic}r{len(replies)}"
            replies.append((reply, author))
            yield ReplyPosted(reply=reply, topic=topic, author=author, at=at)
        else:
            topic, asker, replies = topics[rng.randrange(len(topics))]
            if not replies:
                continue
            reply, author = replies[rng.randrange(len(replies))]
            if roll < 0.93:
                giver = someone()
                if giver == author or (reply, giver) in given:
                    continue
                given.add((reply, giver))
                yield KudosGiven(post=reply, giver=giver, at=at)
            else:
                if author == asker or any(t == topic for t, _ in given if t.startswith("solved:")):
                    continue
                given.add((f"solved:{topic}", topic))
                yield SolutionAccepted(topic=topic, reply=reply, by=asker, at=at)
        made += 1


def record(community: Community, history: Sequence[Event], batch: int = 5_000) -> float:
    started = time.perf_counter()
    for i in range(0, len(history), batch):
        community.record_many(history[i : i + batch])
    return time.perf_counter() - started


def counter_rows(community: Community) -> int:
    return community._read(lambda tx: len(tx.snapshot().counters))


def real_shape(workdir: Path, members: int, events: int) -> None:
    history = list(real_shaped(members, events))
    clock = FakeClock(START + timedelta(days=701))
    print(f"\nreal-shaped community: {members:,} members, {len(history):,} events")
    rng = random.Random(3)
    path = workdir / "real.db"
    path.unlink(missing_ok=True)
    stores: list[tuple[str, Callable[[], kudos.Store]]] = []
    memory = kudos.MemoryStore()
    stores.append(("MemoryStore", lambda: memory))
    stores.append(("SQLite", lambda: SqlStore.from_url(f"sqlite:///{path}")))
    for name, make in stores:
        builder = Community(store=make(), policy=POLICY, clock=clock, cache=None)
        took = record(builder, history)
        rows = counter_rows(builder)
        print(
            f"  {name}: recorded in {took:.1f} s ({len(history) / took:,.0f} events/s), "
            f"{rows:,} counter rows"
        )
        reader = Community(store=make(), policy=POLICY, clock=clock, cache=None)
        sample = rng.sample([m.id for m in reader.members()], 500)
        cold = [0.0] * len(sample)
        for i, member in enumerate(sample):
            t = time.perf_counter()
            reader.standing(member)
            cold[i] = time.perf_counter() - t
        print(f"    cold standing(), 500 members      {summary(cold, 'ms')}")
        t = time.perf_counter()
        everyone = list(reader.standings())
        bulk = time.perf_counter() - t
        print(f"    standings() of all {len(everyone):,} members   {bulk * 1e3:9.1f} ms")
        per_member = [0.0]
        t = time.perf_counter()
        for s in everyone:
            reader.standing(s.member)
        per_member[0] = time.perf_counter() - t
        print(f"    (standing() of each, one by one   {per_member[0] * 1e3:9.1f} ms)")


# --- per-request use -------------------------------------------------------------------------


def forum(community: Community, members: int = 50) -> list[str]:
    ids = [f"m{i}" for i in range(members)]
    community.record_many(
        [MemberJoined(member=m) for m in ids]
        + [TopicPosted(topic="t1", author=ids[0], title="No data abroad", tags=("roaming",))]
        + [ReplyPosted(reply=f"r{i}", topic="t1", author=m) for i, m in enumerate(ids)]
    )
    return ids


def _tables(engine: Engine) -> tuple[MetaData, Community, list[str], FakeClock]:
    md = make_metadata(prefix=f"bench{next(_prefixes)}_")
    setup = SqlStore(engine, metadata=md)
    setup.create_all()
    clock = FakeClock(datetime(2026, 11, 23, 12, tzinfo=UTC))
    community = Community(store=setup, policy=POLICY, clock=clock, cache=None)
    return md, community, forum(community, members=60), clock


def per_request(name: str, make_engine: Callable[[str], Engine], runs: int) -> None:
    """Per-request costs; engine and connection mode each on a database of its own.

    Two databases, so that one mode's commits never make the other start its
    per-connection state over (a host uses one mode); the same seeded awards in
    both, timed in alternating blocks so the machine's noise hits both alike.
    """
    print(f"\n{name}: per-request use")
    engines = {mode: make_engine(mode) for mode in ("engine", "connection")}
    md, long_lived, ids, clock = _tables(engines["engine"])
    joined_md, _, _, _ = _tables(engines["connection"])
    engine = engines["connection"]

    with engine.begin() as conn:
        built = timed(
            lambda: Community(store=SqlStore(conn, metadata=joined_md), policy=POLICY), runs
        )
        bare = timed(lambda: select(long_lived.store.tables.events.c.seq), runs)  # type: ignore[attr-defined]
    print(f"  SqlStore(conn) + Community(...)     {summary(built)}")
    print(f"  (a bare select() object, to compare {summary(bare)})")

    pairs = [(f"r{i}", g) for i in range(len(ids)) for g in ids if g != ids[i]]
    random.Random(5).shuffle(pairs)
    work = {"engine": iter(pairs), "connection": iter(pairs)}

    def engine_mode() -> None:
        reply, giver = next(work["engine"])
        long_lived.give_kudos(reply, giver=giver)

    def connection_mode() -> None:
        reply, giver = next(work["connection"])
        with engine.begin() as conn:
            Community(
                store=SqlStore(conn, metadata=joined_md), policy=POLICY, clock=clock, cache=None
            ).give_kudos(reply, giver=giver)

    def bare_transaction() -> None:
        with engine.begin() as conn:
            conn.execute(text("SELECT 1"))

    rounds: list[tuple[Callable[[], None], list[float]]] = [
        (engine_mode, []),
        (connection_mode, []),
        (bare_transaction, []),
    ]
    for _ in range(max(1, runs // 50)):
        for fn, samples in rounds:
            samples.extend(timed(fn, 25))
    engine_s, conn_s, bare_s = (samples for _, samples in rounds)
    print(f"  award, engine mode (kudos commits)  {summary(engine_s)}")
    print(f"  award, connection mode (host's tx)  {summary(conn_s)}")
    print(f"  (an empty host transaction          {summary(bare_s)})")
    print(f"  connection / engine: {statistics.median(conn_s) / statistics.median(engine_s):.2f}x")

    for freshness in ("checked", "ttl"):
        cache = ReadCache(maxsize=10_000, ttl=3600, freshness=freshness)
        reader = Community(
            store=SqlStore(engines["engine"], metadata=md), policy=POLICY, clock=clock, cache=cache
        )
        reader.standing(ids[1])
        hits = timed(lambda reader=reader: reader.standing(ids[1]), runs)
        print(f"  cached standing(), {freshness:<8}        {summary(hits)}")
    uncached = Community(
        store=SqlStore(engines["engine"], metadata=md), policy=POLICY, clock=clock, cache=None
    )
    cold = timed(lambda: uncached.standing(ids[1]), runs)
    print(f"  uncached standing()                 {summary(cold)}")
    for mode, bound in engines.items():
        (md if mode == "engine" else joined_md).drop_all(bound)
        bound.dispose()


def memory_cached(runs: int) -> None:
    print("\nMemoryStore: cached standing()")
    store = kudos.MemoryStore()
    clock = FakeClock(datetime(2026, 11, 23, 12, tzinfo=UTC))
    ids = forum(Community(store=store, policy=POLICY, clock=clock, cache=None), members=20)
    for freshness in ("checked", "ttl"):
        reader = Community(
            store=store, policy=POLICY, clock=clock, cache=ReadCache(ttl=3600, freshness=freshness)
        )
        reader.standing(ids[1])
        print(
            f"  cached standing(), {freshness:<8}        "
            f"{summary(timed(lambda reader=reader: reader.standing(ids[1]), runs))}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=4000)
    parser.add_argument("--events", type=int, default=30000)
    parser.add_argument("--runs", type=int, default=1000, help="repetitions per figure")
    parser.add_argument("--postgres", metavar="URL", help="also measure on this PostgreSQL")
    parser.add_argument("--dir", type=Path, help="where to keep the databases (default: temp)")
    parser.add_argument("--only", choices=["requests", "real"], help="one part only")
    args = parser.parse_args(argv)
    workdir = args.dir or Path(tempfile.mkdtemp(prefix="kudos-host-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"kudos in a host: Python {sys.version.split()[0]}, databases in {workdir}")
    if args.only in (None, "requests"):

        def sqlite_file(journal: str) -> Callable[[str], Engine]:
            def make(mode: str) -> Engine:
                path = workdir / f"requests-{journal}-{mode}.db"
                path.unlink(missing_ok=True)
                engine = create_engine(f"sqlite:///{path}")
                if journal != "default":

                    @event.listens_for(engine, "connect")
                    def _wal(dbapi_connection: Any, _record: Any) -> None:
                        dbapi_connection.execute("PRAGMA journal_mode=WAL")
                        dbapi_connection.execute("PRAGMA synchronous=NORMAL")
                        if journal == "wal-memory":
                            dbapi_connection.execute("PRAGMA temp_store=MEMORY")

                return engine

            return make

        per_request(
            "SQLite, default journal (a host's plain engine)", sqlite_file("default"), args.runs
        )
        per_request("SQLite, WAL and synchronous=NORMAL", sqlite_file("wal"), args.runs)
        per_request(
            "SQLite, WAL, synchronous=NORMAL and temp_store=MEMORY (as docs/stores.md advises)",
            sqlite_file("wal-memory"),
            args.runs,
        )
        if args.postgres:
            per_request("PostgreSQL", lambda mode: create_engine(args.postgres), args.runs)
        memory_cached(args.runs)
    if args.only in (None, "real"):
        real_shape(workdir, args.members, args.events)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
