"""What does a kudos cost once its receiver is past a cap?

Run it on demand (it is not a test)::

    python benchmarks/past_cap.py                  # 3,000 kudos, MemoryStore and SQLite
    python benchmarks/past_cap.py --kudos 5000

One member posts a topic and ``--kudos`` new members each give it kudos, one
``record`` each (as a forum does), 20 seconds apart, all in one month under the
giffgaff preset: a kudos on a topic pays 1 point, and the cap is 1,500 points a
month, so from the 1,501st kudos on every award is held back. It prints what a
kudos cost (wall time and this process's CPU time) under the cap (kudos
1,401-1,500), just past it (1,601-1,700) and at the end (the last hundred), on a
``MemoryStore`` and on an SQLite file in WAL mode.

It uses the public API only, so the same script measures two versions of kudos
(run it with each on ``PYTHONPATH``, alternating).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import kudos
from kudos.events import MemberJoined
from kudos.stores.sql import SqlStore
from kudos.testing import FakeClock

START = datetime(2026, 3, 2, 9, tzinfo=UTC)


def measure(name: str, store: kudos.SqlStore | None, kudos_given: int) -> None:
    """Time each of ``kudos_given`` kudos to one member's topic; print three stretches."""
    clock = FakeClock(START)
    community = kudos.Community(store=store, clock=clock, cache=None)
    community.join("star")
    community.post_topic("t1", author="star", title="Roaming in the EU, the whole guide")
    community.record_many([MemberJoined(member=f"fan{i}") for i in range(kudos_given)])
    costs = []
    for i in range(kudos_given):
        clock.advance(seconds=20)
        wall, cpu = time.perf_counter(), time.process_time()
        community.give_kudos("t1", giver=f"fan{i}")
        costs.append((time.perf_counter() - wall, time.process_time() - cpu))

    def stretch(start: int) -> str:
        part = costs[start : start + 100]
        wall = sum(c[0] for c in part) / len(part) * 1e6
        cpu = sum(c[1] for c in part) / len(part) * 1e6
        return f"{start + 1:,}-{start + len(part):,}: {wall:6.0f} µs wall, {cpu:6.0f} µs CPU"

    stretches = [stretch(s) for s in (1400, 1600, kudos_given - 100) if s < kudos_given]
    print(f"{name}: kudos given " + "; ".join(stretches))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kudos", type=int, default=3_000, help="kudos given (from 1,800)")
    args = parser.parse_args()
    if args.kudos < 1_800:
        parser.error("--kudos takes 1,800 or more (the cap is reached at 1,500)")
    print(f"kudos from {Path(kudos.__file__).parent}")
    measure("MemoryStore", None, args.kudos)
    with tempfile.TemporaryDirectory() as tmp:
        store = SqlStore.from_url(f"sqlite:///{Path(tmp) / 'cap.db'}")
        measure("SQLite", store, args.kudos)
        store.close()


if __name__ == "__main__":
    main()
