"""What do a statement's words cost? ``statement()`` against the bare ledger read.

Run it on demand (it is not a test)::

    python benchmarks/statements.py                  # 200 lines per member
    python benchmarks/statements.py --lines 2000 --repeat 50

It builds a giffgaff-preset community on a SQLite file (``SqlStore``): one
member answers ``--lines`` questions of others and each answer gets kudos
(two ledger lines, points and reputation), with some kudos withdrawn later
(reversals, whose words name the day of what they reverse). Then it times,
``--repeat`` times each, median and 90th percentile:

* the baseline: the same ledger lines read bare, ``tx.entries(member=...)``
  in one read transaction (what ``statement()`` read before its lines had
  words);
* ``community.statement(member)``: those lines and every line's sentence,
  from the events, posts and topics they reference, read in bulk;

and prints the ratio, and the number of SQL statements one ``statement()``
runs (it must not grow with the number of lines).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import event

import kudos
from kudos.events import KudosGiven, KudosWithdrawn, MemberJoined, ReplyPosted, TopicPosted
from kudos.stores.sql import SqlStore
from kudos.testing import FakeClock


def build(store: SqlStore, lines: int) -> kudos.Community:
    """A community where ``helper`` has about ``lines`` ledger lines."""
    clock = FakeClock(datetime(2026, 6, 1, 9, tzinfo=UTC))
    c = kudos.Community(store=store, policy=kudos.policies.giffgaff(), clock=clock, cache=None)
    askers = [f"asker{i}" for i in range(20)]
    facts: list[kudos.events.Event] = [MemberJoined(member=m) for m in ["helper", *askers]]
    answers = lines // 2
    for n in range(answers):
        asker = askers[n % len(askers)]
        facts += [
            TopicPosted(topic=f"t{n}", author=asker, kind="question", title=f"Question {n}"),
            ReplyPosted(reply=f"r{n}", topic=f"t{n}", author="helper"),
            KudosGiven(post=f"r{n}", giver=asker),
        ]
        if n % 10 == 9:
            facts.append(KudosWithdrawn(post=f"r{n}", giver=asker))
    c.record_many(facts)
    return c


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median and 90th percentile of ``fn``'s wall time, in milliseconds."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - start) * 1000)
    runs.sort()
    return statistics.median(runs), runs[int(len(runs) * 0.9) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200, help="ledger lines of the member")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = SqlStore.from_url(f"sqlite:///{Path(tmp) / 'statements.db'}")
        c = build(store, args.lines)

        def bare() -> object:
            with store.transaction(c.id) as tx:
                return tx.entries(member="helper")

        def worded() -> object:
            return c.statement("helper")

        count = len(c.statement("helper").lines)
        base = timed(bare, args.repeat)
        words = timed(worded, args.repeat)
        queries: list[str] = []

        def note(*args: object) -> None:
            queries.append(str(args[2]))

        event.listen(store.engine, "before_cursor_execute", note)
        worded()
        event.remove(store.engine, "before_cursor_execute", note)
        store.close()
    print(f"statement of {count:,} lines, {args.repeat} runs each (median / p90, ms)")
    print(f"  bare ledger read        {base[0]:8.2f} / {base[1]:8.2f}")
    print(f"  statement() with words  {words[0]:8.2f} / {words[1]:8.2f}")
    print(f"  ratio (median)          {words[0] / base[0]:8.2f}")
    print(f"  SQL statements per statement(): {len(queries)}")


if __name__ == "__main__":
    main()
