"""What does a retroactive policy change cost? Against one ordinary write, same store.

Run it on demand (it is not a test)::

    python benchmarks/policy_change.py                 # 1,000 and 5,000 events
    python benchmarks/policy_change.py --events 20000
    python benchmarks/policy_change.py --versions 150   # many versions, not retroactive

For each size it builds a giffgaff-preset community on a SQLite file: twenty
members, one topic, replies each given kudos (two events per reply). Then it
times ``change_policy(..., retroactive=True)`` (kudos on a reply worth 10
instead of 5, effective before the first fact): the whole log replayed under
the new rules in one transaction, the difference booked. The baseline is one
ordinary write (a reply) on the same community, measured right after; the
ratio says how many ordinary writes the change is worth. While the change
runs it holds the write transaction: other writers of the community wait.

With ``--versions N`` it records N ordinary (not retroactive) changes instead
and times the last ten of them, and a first write by an object that never met
the store (what a fresh process pays: every cache of parsed versions emptied),
each against one ordinary write on the same community.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import kudos
from kudos.policy import Reward
from kudos.testing import FakeClock


def run(events: int) -> tuple[float, float]:
    """Seconds for the retroactive change and for one ordinary write, ``events`` logged."""
    with tempfile.TemporaryDirectory() as folder:
        clock = FakeClock(datetime(2026, 6, 1, 9, tzinfo=UTC))
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        c = kudos.open(url, policy=kudos.policies.giffgaff(), clock=clock)
        c.join("staff1", role="staff")
        for m in range(20):
            c.join(f"m{m}")
        c.post_topic("t", author="m0", title="Roaming")
        logged, i = 22, 0
        while logged < events:
            c.post_reply(f"r{i}", topic="t", author=f"m{i % 19 + 1}")
            c.give_kudos(f"r{i}", giver="m0")
            logged, i = logged + 2, i + 1
            clock.advance(timedelta(seconds=30))
        base = kudos.policies.giffgaff()
        new = base.evolve(
            rewards={**base.rewards, "kudos_on_reply": Reward(points=10, reputation=1)}
        )
        start = time.perf_counter()
        c.change_policy(
            new,
            effective=datetime(2026, 1, 1, tzinfo=UTC),
            retroactive=True,
            by="staff1",
            reason="kudos count double",
        )
        change = time.perf_counter() - start
        start = time.perf_counter()
        c.post_reply("last", topic="t", author="m1")
        one = time.perf_counter() - start
        return change, one


def many(versions: int) -> tuple[float, float, float]:
    """Seconds per change past ``versions - 10`` versions, for a fresh object's first
    write, and for one ordinary write."""
    from kudos.history import rules, state, timeline

    with tempfile.TemporaryDirectory() as folder:
        clock = FakeClock(datetime(2026, 6, 1, 9, tzinfo=UTC))
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        base = kudos.policies.giffgaff()
        c = kudos.open(url, policy=base, clock=clock)
        c.join("staff1", role="staff")
        c.join("a")
        c.post_topic("t", author="staff1", title="Roaming")
        start = 0.0
        for i in range(versions):
            if i == versions - 10:
                start = time.perf_counter()
            clock.advance(timedelta(minutes=1))
            worth = Reward(points=i + 1, reputation=1)
            policy = base.evolve(name=f"v{i}", rewards={**base.rewards, "kudos_on_reply": worth})
            c.change_policy(policy, by="staff1", reason="one more step")
        change = (time.perf_counter() - start) / 10
        timeline._PARSED.clear()
        state._KNOWN.clear()
        rules.from_content.cache_clear()
        start = time.perf_counter()
        kudos.open(url, clock=clock).post_reply("fresh", topic="t", author="a")
        fresh = time.perf_counter() - start
        start = time.perf_counter()
        c.post_reply("last", topic="t", author="a")
        one = time.perf_counter() - start
        return change, fresh, one


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs="*", default=[1000, 5000])
    parser.add_argument("--versions", type=int, nargs="*", default=[])
    args = parser.parse_args()
    if args.versions:
        print("| versions | one change | fresh object's first write | one ordinary write |")
        print("|---:|---:|---:|---:|")
        for n in args.versions:
            change, fresh, one = many(n)
            print(
                f"| {n:,} | {change * 1000:.1f} ms | {fresh * 1000:.1f} ms | {one * 1000:.1f} ms |"
            )
        return
    print("| events logged | retroactive change | one ordinary write | ratio |")
    print("|---:|---:|---:|---:|")
    for n in args.events:
        change, one = run(n)
        print(f"| {n:,} | {change:.2f} s | {one * 1000:.1f} ms | {change / one:,.0f} |")


if __name__ == "__main__":
    main()
