"""How long does the abuse review of a payback period take?

Run it on demand (it is not a test)::

    python benchmarks/abuse.py                         # 2,000 members, 20,000 kudos
    python benchmarks/abuse.py --members 5000 --kudos 50000 --repeat 3

It records, through the engine (``record_many``, 5,000 events a transaction), a
community under the giffgaff preset with vote-ring detection on
(``ring_size=4, ring_share=80, ring_votes=5``) and serial voting at 5 a day:
every member joins, each author opens a topic, and each kudos is a reply of its
own liked by a giver, spread over the 2026-H2 payback period. Givers and authors
are drawn from a Zipf law (a few very active members); ``--rings`` planted rings
of 2, 3 and 4 members give each other 12 kudos per pair and direction (and
give no one else any; others still give them kudos), and one
member in ten gives to a single favourite only (so there are many candidates
for a ring that are not rings). Then, on a ``SqlStore`` over an SQLite file and
on a ``MemoryStore``, it times (median of ``--repeat`` runs):

* the baseline: reading every ledger line booked in the period through the
  store's own transaction (``tx.entries(period=...)``), which detection must do
  at least;
* ``vote_rings(period)``;
* ``abuse_report(period)`` (serial kudos of every day, rings, limited kudos,
  reviews).

It checks that every planted ring is found and prints the ratios to the baseline.

Then the dense case (``--dense`` members, 1,000 by default), where nobody is a ring
but everybody is a candidate: each member gives 5 kudos to each of 5 others
(``(i + k*k + k) % n`` for k = 1..5), with ``ring_size=6, ring_share=80,
ring_votes=5``, so each member's five favourites take all their kudos. It times
``vote_rings`` and a refused ``reverse_vote_ring`` of two members who are not a
ring against the same baseline.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import kudos
from kudos.abuse import AbuseRules
from kudos.events import Event, KudosGiven, MemberJoined, ReplyPosted, TopicPosted
from kudos.stores.sql import SqlStore
from kudos.testing import FakeClock

START = datetime(2026, 6, 2, tzinfo=UTC)
END = datetime(2026, 11, 28, tzinfo=UTC)
PERIOD = "2026-H2"


def stream(members: int, kudos_count: int, rings: int, seed: int) -> tuple[list[Event], set]:
    rnd = random.Random(seed)
    ids = [f"m{i}" for i in range(members)]
    weights = [1 / (i + 1) for i in range(members)]
    events: list[Event] = [MemberJoined(member=m, at=START) for m in ids]
    events += [TopicPosted(topic=f"t-{m}", author=m, at=START) for m in ids]
    planted: set[tuple[str, ...]] = set()
    pool = ids[members // 2 :]
    rnd.shuffle(pool)
    votes: list[tuple[str, str]] = []
    for r in range(rings):
        size = 2 + r % 3
        group, pool = pool[:size], pool[size:]
        planted.add(tuple(sorted(group)))
        votes += [(g, a) for g in group for a in group if g != a for _ in range(12)]
    favourites = {m: rnd.choice(ids) for m in rnd.sample(pool, len(pool) // 5)}
    in_rings = {m for group in planted for m in group}
    while len(votes) < kudos_count:
        giver = rnd.choices(ids, weights)[0]
        author = favourites.get(giver) or rnd.choices(ids, weights)[0]
        if giver != author and giver not in in_rings:
            votes.append((giver, author))
    rnd.shuffle(votes)
    span = (END - START).total_seconds()
    for i, (giver, author) in enumerate(votes):
        at = START + timedelta(seconds=span * i / len(votes))
        events.append(ReplyPosted(reply=f"r{i}", topic=f"t-{author}", author=author, at=at))
        events.append(KudosGiven(post=f"r{i}", giver=giver, at=at))
    return events, planted


def median(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=2_000)
    parser.add_argument("--kudos", type=int, default=20_000)
    parser.add_argument("--rings", type=int, default=12)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dense", type=int, default=1_000)
    args = parser.parse_args()
    policy = kudos.policies.giffgaff().evolve(
        abuse=AbuseRules(serial_votes=5, ring_size=4, ring_share=80, ring_votes=5)
    )
    events, planted = stream(args.members, args.kudos, args.rings, args.seed)
    print(f"{args.members:,} members, {args.kudos:,} kudos, {len(planted)} planted rings")
    with tempfile.TemporaryDirectory() as folder:
        stores = {
            "SQLite": SqlStore.from_url(f"sqlite:///{Path(folder) / 'a.db'}"),
            "memory": kudos.MemoryStore(),
        }
        print("| store | period's ledger (baseline) | vote_rings | ratio | abuse_report | ratio |")
        print("|---|---:|---:|---:|---:|---:|")
        for name, store in stores.items():
            clock = FakeClock(END + timedelta(days=1))
            c = kudos.Community(store=store, policy=policy, clock=clock)
            t0 = time.perf_counter()
            for i in range(0, len(events), 5_000):
                c.record_many(events[i : i + 5_000])
            built = time.perf_counter() - t0

            def ledger(store: object = store) -> object:
                with store.transaction("default") as tx:  # type: ignore[attr-defined]
                    return tx.entries(period=PERIOD)

            base, _ = median(ledger, args.repeat)
            ring_time, found = median(lambda c=c: c.vote_rings(PERIOD), args.repeat)
            report_time, report = median(lambda c=c: c.abuse_report(PERIOD), args.repeat)
            rings = {r.members for r in found}  # type: ignore[attr-defined]
            missed = planted - rings
            assert not missed, f"planted rings not found: {sorted(missed)}"
            print(
                f"| {name} | {base * 1000:,.0f} ms | {ring_time * 1000:,.0f} ms | "
                f"{ring_time / base:.1f} | {report_time * 1000:,.0f} ms | "
                f"{report_time / base:.1f} |"
            )
            print(
                f"  ({name}: built in {built:.0f} s; {len(rings)} rings found, "
                f"{len(rings - planted)} not planted; "
                f"{len(report.serial_votes)} serial groups)"  # type: ignore[attr-defined]
            )
    dense(args.dense, args.repeat)


def dense_stream(members: int) -> list[Event]:
    ids = [f"m{i:05d}" for i in range(members)]
    events: list[Event] = [MemberJoined(member=m, at=START) for m in ids]
    events.append(MemberJoined(member="mod", role="staff", at=START))
    events += [TopicPosted(topic=f"t-{m}", author=m, at=START) for m in ids]
    n = 0
    for i, giver in enumerate(ids):
        for k in range(1, 6):
            author = ids[(i + k * k + k) % members]
            for _ in range(5):
                n += 1
                at = START + timedelta(minutes=n)
                events.append(ReplyPosted(reply=f"r{n}", topic=f"t-{author}", author=author, at=at))
                events.append(KudosGiven(post=f"r{n}", giver=giver, at=at))
    return events


def dense(members: int, repeat: int) -> None:
    policy = kudos.policies.giffgaff().evolve(
        abuse=AbuseRules(ring_size=6, ring_share=80, ring_votes=5)
    )
    events = dense_stream(members)
    print(f"\ndense: {members:,} members, {members * 25:,} kudos, no ring")
    print(
        "| store | period's ledger (baseline) | vote_rings | ratio "
        "| refused reverse_vote_ring | ratio |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as folder:
        stores = {
            "SQLite": SqlStore.from_url(f"sqlite:///{Path(folder) / 'd.db'}"),
            "memory": kudos.MemoryStore(),
        }
        for name, store in stores.items():
            clock = FakeClock(END + timedelta(days=1))
            c = kudos.Community(store=store, policy=policy, clock=clock)
            for i in range(0, len(events), 5_000):
                c.record_many(events[i : i + 5_000])

            def ledger(store: object = store) -> object:
                with store.transaction("default") as tx:  # type: ignore[attr-defined]
                    return tx.entries(period=PERIOD)

            def refused(c: kudos.Community = c) -> object:
                try:
                    c.reverse_vote_ring(PERIOD, ["m00000", "m00002"], by="mod")
                except kudos.NotAllowed:
                    return None
                raise AssertionError("two members who are not a ring were reversed")

            base, _ = median(ledger, repeat)
            ring_time, found = median(lambda c=c: c.vote_rings(PERIOD), repeat)
            assert found == [], found
            reverse_time, _ = median(refused, repeat)
            print(
                f"| {name} | {base * 1000:,.0f} ms | {ring_time * 1000:,.0f} ms | "
                f"{ring_time / base:.1f} | {reverse_time * 1000:,.0f} ms | "
                f"{reverse_time / base:.1f} |"
            )


if __name__ == "__main__":
    main()
