"""How fast kudos ingests events on SQLite, against raw sqlite3 doing the minimum.

A seeded stream of award-worthy events (member joins and topics first as
prerequisites, then replies, kudos and accepted solutions) is recorded:

* with ``record_many`` in batches, and with one ``record`` per event, on a
  SqlStore over an SQLite file in WAL mode;
* by a raw ``sqlite3`` baseline that inserts each event and upserts one
  balance row, in the same batches (or one transaction per event), with the
  same journal mode and synchronous setting;
* on a MemoryStore, which then replays its whole log with ``rebuild()`` and
  ``simulate()`` (under the same preset, so nothing changes and nothing is
  refused); ``--repeat N`` shows the best of N runs of each on a busy machine.

It prints events per second for each, the kudos/raw ratios, and checks that
both sides end with the same reputation for every member. Before each timed
run, what earlier runs left is freed (``gc.collect()``) and their pages are
written out (``os.sync()``), so no run pays for the one before.

    python benchmarks/ingest.py                        # 200,000 events, 10,000 members
    python benchmarks/ingest.py --events 20000 --members 1000 --record-events 2000
    python benchmarks/ingest.py --profile              # where kudos spends its time
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import pstats
import random
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs

import kudos
from kudos.events import Event, KudosGiven, MemberJoined, ReplyPosted, SolutionAccepted, TopicPosted
from kudos.stores.sql import SQLITE_BUSY_TIMEOUT_MS, SqlStore

START = datetime(2026, 1, 5, 8, tzinfo=UTC)
TAGS = ("roaming", "billing", "signal", "esim", "top-up", "porting")


@attrs.frozen
class Item:
    """One event of the stream and the reputation it is worth (to ``member``)."""

    event: Event
    member: str
    reputation: int


def make_stream(events: int, members: int, seed: int = 2026) -> list[Item]:
    """A valid stream: every member joins, then topics, replies, kudos and solutions.

    Reputation follows the giffgaff preset: +1 to the author of a post that gets
    kudos, +10 to the author of a reply accepted as a solution, nothing else.
    """
    rng = random.Random(seed)
    names = [f"m{i}" for i in range(members)]
    at = iter(START + timedelta(seconds=5 * i) for i in range(events + 1))
    out = [Item(MemberJoined(member=m, at=next(at)), m, 0) for m in names]
    topics: list[tuple[str, str]] = []  # (topic, author)
    replies: list[tuple[str, str, str]] = []  # (reply, topic, author)
    open_topics: dict[str, list[tuple[str, str]]] = {}  # topic -> replies by others
    given: set[tuple[str, str]] = set()

    def topic() -> Item:
        tid, author = f"t{len(topics)}", rng.choice(names)
        topics.append((tid, author))
        open_topics[tid] = []
        event = TopicPosted(
            topic=tid, author=author, title=f"Question {tid}", tags=[rng.choice(TAGS)], at=next(at)
        )
        return Item(event, author, 0)

    def reply() -> Item:
        tid, asker = rng.choice(topics)
        rid, author = f"r{len(replies)}", rng.choice(names)
        replies.append((rid, tid, author))
        if author != asker and tid in open_topics:
            open_topics[tid].append((rid, author))
        return Item(ReplyPosted(reply=rid, topic=tid, author=author, at=next(at)), author, 0)

    def kudos_given() -> Item | None:
        if rng.random() < 0.2:
            post, author = rng.choice(topics)
        else:
            post, _, author = rng.choice(replies)
        giver = rng.choice(names)
        if giver == author or (post, giver) in given:
            return None
        given.add((post, giver))
        return Item(KudosGiven(post=post, giver=giver, at=next(at)), author, 1)

    def solution() -> Item | None:
        tid, asker = rng.choice(topics)
        candidates = open_topics.get(tid)
        if not candidates:
            return None
        rid, author = rng.choice(candidates)
        del open_topics[tid]
        event = SolutionAccepted(topic=tid, reply=rid, by=asker, at=next(at))
        return Item(event, author, 10)

    out.append(topic())
    out.append(reply())
    while len(out) < events:
        roll = rng.random()
        made = (
            topic()
            if roll < 0.10
            else reply()
            if roll < 0.50
            else kudos_given()
            if roll < 0.90
            else solution()
        )
        if made is not None:
            out.append(made)
    return out[:events]


def expected_reputation(stream: Sequence[Item]) -> dict[str, int]:
    """Every member's reputation after ``stream``."""
    total: Counter[str] = Counter()
    for item in stream:
        total[item.member] += item.reputation
    return {m: v for m, v in total.items() if v}


# --- kudos ---------------------------------------------------------------------------------


_clock = time.perf_counter
"""What the figures time: wall clock, or process CPU time with ``--cpu``."""


def chunks(items: Sequence[Item], size: int) -> Iterator[list[Event]]:
    for i in range(0, len(items), size):
        yield [item.event for item in items[i : i + size]]


def settled() -> None:
    """Free what earlier runs left, before timing: their objects, and their pages.

    A community dropped after a large run is freed by Python's cycle collector, whose
    next full collection would otherwise walk its millions of objects inside the next
    timed run; and a run that wrote a large file leaves its pages to be written back
    after it ends, which the next run's commits (and their fsyncs) would wait for.
    """
    gc.collect()
    os.sync()


def kudos_batched(community: kudos.Community, stream: Sequence[Item], batch: int) -> float:
    settled()
    started = _clock()
    for events in chunks(stream, batch):
        community.record_many(events)
    return _clock() - started


def kudos_each(community: kudos.Community, stream: Sequence[Item]) -> float:
    settled()
    started = _clock()
    for item in stream:
        community.record(item.event)
    return _clock() - started


def kudos_reputation(community: kudos.Community) -> dict[str, int]:
    with community.store.transaction(community.id) as tx:
        return dict(tx.top("reputation", "all", limit=10**9))


def sqlite_community(path: Path) -> kudos.Community:
    store = SqlStore.from_url(f"sqlite:///{path}")
    return kudos.Community(store=store, policy=kudos.policies.giffgaff(), cache=None)


# --- raw sqlite3 ---------------------------------------------------------------------------


def raw_connect(path: Path) -> sqlite3.Connection:
    """The baseline's connection: the journal mode and timeouts kudos uses, default synchronous."""
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    con.execute(
        "CREATE TABLE events (seq INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE,"
        " type TEXT NOT NULL, payload TEXT NOT NULL, at TEXT NOT NULL)"
    )
    con.execute("CREATE TABLE balances (member TEXT PRIMARY KEY, reputation INTEGER NOT NULL)")
    return con


def raw_ingest(con: sqlite3.Connection, stream: Sequence[Item], batch: int) -> float:
    """Insert each event and upsert its member's balance; ``batch`` events per transaction."""
    insert = "INSERT INTO events (event_id, type, payload, at) VALUES (?, ?, ?, ?)"
    upsert = (
        "INSERT INTO balances (member, reputation) VALUES (?, ?) ON CONFLICT (member)"
        " DO UPDATE SET reputation = reputation + excluded.reputation"
    )
    settled()
    started = _clock()
    for i in range(0, len(stream), batch):
        con.execute("BEGIN IMMEDIATE")
        for n, item in enumerate(stream[i : i + batch], start=i):
            event = item.event
            con.execute(
                insert,
                (
                    event.event_id or f"e{n}",
                    event.type,
                    json.dumps(event.payload()),
                    event.at.isoformat(),
                ),
            )  # type: ignore[union-attr]
            con.execute(upsert, (item.member, item.reputation))
        con.execute("COMMIT")
    return _clock() - started


def raw_reputation(con: sqlite3.Connection) -> dict[str, int]:
    rows = con.execute("SELECT member, reputation FROM balances WHERE reputation != 0")
    return dict(rows.fetchall())


# --- running -------------------------------------------------------------------------------


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:>10,.0f} events/s"


def check(label: str, *sides: dict[str, int]) -> None:
    first = sides[0]
    for other in sides[1:]:
        if other != first:
            wrong = sorted(m for m in set(first) | set(other) if first.get(m) != other.get(m))
            sys.exit(f"{label}: balances differ for {len(wrong)} members, e.g. {wrong[:5]}")
    print(f"  {label}: balances agree for {len(first):,} members")


def profiled(fn: Callable[[], float], top: int) -> float:
    profile = cProfile.Profile()
    seconds = profile.runcall(fn)
    pstats.Stats(profile).sort_stats("cumulative").print_stats(top)
    pstats.Stats(profile).sort_stats("tottime").print_stats(top)
    return seconds


def replay(community: kudos.Community, events: int, profile: bool, repeat: int) -> None:
    """Time ``rebuild()`` and ``simulate()`` of ``community``'s whole log (a MemoryStore).

    Each is the best of ``repeat`` runs.
    """
    before = kudos_reputation(community)

    def rebuild() -> float:
        started = _clock()
        community.rebuild()
        return _clock() - started

    def simulate() -> float:
        started = _clock()
        result = community.simulate(kudos.policies.giffgaff())
        took = _clock() - started
        if result.changes or result.rejected:
            sys.exit(f"simulate() under the same policy changed {len(result.changes)} standings")
        return took

    took = profiled(rebuild, 40) if profile else min(rebuild() for _ in range(repeat))
    print(f"MemoryStore rebuild() ({events:,} events)")
    print(f"  kudos      {rate(events, took)}")
    check("rebuilt vs recorded", kudos_reputation(community), before)
    took = profiled(simulate, 40) if profile else min(simulate() for _ in range(repeat))
    print(f"MemoryStore simulate() under the same preset ({events:,} events)")
    print(f"  kudos      {rate(events, took)}")


def positive(text: str) -> int:
    """An ``argparse`` type: a whole number above zero."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number above zero")
    return value


def stream_options(
    parser: argparse.ArgumentParser, *, events: int, members: int, batch: int = 10_000
) -> None:
    """The options of the seeded stream (``--events --members --seed``) and ``--batch``."""
    parser.add_argument("--events", type=positive, default=events, help="events in the stream")
    parser.add_argument(
        "--members", type=positive, default=members, help="members in the stream (each joins first)"
    )
    parser.add_argument("--batch", type=positive, default=batch, help="events per record_many")
    parser.add_argument("--seed", type=int, default=2026)


def stream_of(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[Item]:
    """The stream the options ask for; an error naming the options when it cannot be made."""
    if args.events <= args.members:
        parser.error(
            f"--events ({args.events:,}) must be more than --members ({args.members:,}): "
            "every member joins before the stream's other events"
        )
    return make_stream(args.events, args.members, args.seed)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    stream_options(parser, events=200_000, members=10_000)
    parser.add_argument(
        "--record-events",
        type=positive,
        default=20_000,
        help="events for the one-record-per-event runs (the stream's first ones)",
    )
    parser.add_argument(
        "--repeat",
        type=positive,
        default=1,
        help="runs of each MemoryStore figure (record_many, rebuild, simulate); the best is shown",
    )
    parser.add_argument("--profile", action="store_true", help="profile kudos's record_many")
    parser.add_argument(
        "--cpu",
        action="store_true",
        help="time process CPU instead of wall clock (to compare two versions on a busy "
        "machine; disk waits are not counted, so ratios to raw need wall clock)",
    )
    parser.add_argument("--only", choices=["batched", "each", "memory", "replay"], default=None)
    args = parser.parse_args(argv)
    global _clock
    _clock = time.process_time if args.cpu else time.perf_counter

    stream = stream_of(parser, args)
    each = stream[: min(args.record_events, len(stream))]
    want = expected_reputation(stream)
    synchronous = sqlite3.connect(":memory:").execute("PRAGMA synchronous").fetchone()[0]
    print(
        f"kudos ingest: {len(stream):,} events over {args.members:,} members "
        f"(seed {args.seed}); SQLite {sqlite3.sqlite_version}, WAL, synchronous={synchronous}; "
        f"{'process CPU time' if args.cpu else 'wall clock'}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        if args.only in (None, "batched"):
            community = sqlite_community(base / "batched.db")
            if args.profile:
                took = profiled(lambda: kudos_batched(community, stream, args.batch), 40)
            else:
                took = kudos_batched(community, stream, args.batch)
            raw = raw_connect(base / "raw-batched.db")
            raw_took = raw_ingest(raw, stream, args.batch)
            print(f"record_many, {args.batch:,} events per transaction ({len(stream):,} events)")
            print(f"  kudos      {rate(len(stream), took)}")
            print(f"  raw        {rate(len(stream), raw_took)}")
            print(f"  kudos/raw  {raw_took / took:10.2f}")
            check("kudos vs raw vs stream", kudos_reputation(community), raw_reputation(raw), want)
            raw.close()
        if args.only in (None, "each"):
            community = sqlite_community(base / "each.db")
            if args.profile:
                took = profiled(lambda: kudos_each(community, each), 40)
            else:
                took = kudos_each(community, each)
            raw = raw_connect(base / "raw-each.db")
            raw_took = raw_ingest(raw, each, 1)
            print(f"record, one event per transaction ({len(each):,} events)")
            print(f"  kudos      {rate(len(each), took)}")
            print(f"  raw        {rate(len(each), raw_took)}")
            print(f"  kudos/raw  {raw_took / took:10.2f}")
            check("kudos vs raw", kudos_reputation(community), raw_reputation(raw))
            raw.close()
        if args.only in (None, "memory", "replay"):
            memory = kudos.Community(policy=kudos.policies.giffgaff(), cache=None)
            if args.profile and args.only == "memory":
                took = profiled(lambda: kudos_batched(memory, stream, args.batch), 40)
            else:
                took = kudos_batched(memory, stream, args.batch)
                for _ in range(args.repeat - 1):
                    again = kudos.Community(policy=kudos.policies.giffgaff(), cache=None)
                    took = min(took, kudos_batched(again, stream, args.batch))
            print(f"MemoryStore record_many ({len(stream):,} events)")
            print(f"  kudos      {rate(len(stream), took)}")
            check("memory vs stream", kudos_reputation(memory), want)
            if args.only in (None, "replay"):
                replay(memory, len(stream), args.profile and args.only == "replay", args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
