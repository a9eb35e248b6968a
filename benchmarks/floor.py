"""How much of kudos's gap to raw sqlite3 its own writes make, and how much the rest.

``ingest.py`` compares kudos with a baseline that writes two rows an event (the event and
one balance). kudos writes more: the ledger, the documents its features keep (members,
posts, votes, a topic's people involved, response health) and the counters its boards,
caps, badges and ranks read. This splits kudos/raw in two, in one run on the same stream:

* **the floor**: raw ``sqlite3`` sending exactly the writes kudos sent (the same
  statements and rows, in the same transactions, into a new file with kudos's tables and
  indexes), nothing read, no Python but the loop. floor/raw is the most kudos/raw can be
  with these tables, however little Python an engine ran;
* **kudos/floor**: what kudos adds to its own writes (its reads, the engine's Python,
  SQLAlchemy's connection and transaction work).

kudos/raw = floor/raw x kudos/floor. The writes are captured from a second kudos run (the
timed one is not instrumented; a transaction that rolls back is left out) and replayed on a
connection whose page cache holds the whole file; the floor's file must then hold what
kudos's does, table by table, or the run stops. The floor's split lists each table's rows
and time per event (``kudos_communities`` is the community's data version, moved once per
transaction; ``kudos_policies`` its policy version, written once), ``COMMIT`` (with its
fsync), and the ``BEGIN`` statements and the loop itself. It is the floor of kudos's own
statements in kudos's order: another set of tables, or the same rows written another way,
has a floor of its own.

    python benchmarks/floor.py                       # 20,000 events over 1,000 members
    python benchmarks/floor.py --events 200000 --members 10000 --record-events 20000
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).parent))
import ingest  # the stream, the stores and the raw baseline ingest.py uses

from kudos.stores import _sql_hot

Write = tuple[bool, str, Any]  # (many, SQL, parameters)
_WRITES = {"INSERT", "UPDATE", "DELETE", "REPLACE"}


def keep(into: list[Write], many: bool, sql: str, params: Any) -> None:
    """Add the statement to ``into`` if it writes (a ``WITH`` one too, if it writes)."""
    words = sql.upper().split()
    if words and (words[0] in _WRITES or (words[0] == "WITH" and _WRITES & set(words))):
        into.append((many, sql, list(params) if many else params))


class _Recording:
    """A driver cursor that keeps every write statement sent through it."""

    def __init__(self, cursor: sqlite3.Cursor, into: list[Write]) -> None:
        self._cursor, self._into = cursor, into

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        keep(self._into, False, sql, params)
        return self._cursor.execute(sql, params)

    def executemany(self, sql: str, rows: Any) -> sqlite3.Cursor:
        rows = list(rows)
        keep(self._into, True, sql, rows)
        return self._cursor.executemany(sql, rows)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


@contextmanager
def captured(community: Any) -> Iterator[list[list[Write]]]:
    """The write statements kudos's SQLite store sends, one list per committed transaction.

    kudos's write path sends its rows through the driver's cursor (``SqliteRunner``);
    this wraps that cursor while the block runs, takes the few writes sent through
    SQLAlchemy (a policy version) from its events, and starts a new list at each commit.
    """
    transactions: list[list[Write]] = [[]]
    runner = _sql_hot.SqliteRunner
    made = runner.__init__

    def recording(self: Any, conn: Any, sql: Any) -> None:
        made(self, conn, sql)
        self._cur = _Recording(self._cur, transactions[-1])

    def committed(_: Any) -> None:
        transactions.append([])

    def rolled_back(_: Any) -> None:
        transactions[-1].clear()  # a try that did not commit wrote nothing

    def sent(*args: Any) -> None:
        _, _, sql, params, _, many = args
        keep(transactions[-1], many, sql, params)

    engine = community.store.engine
    runner.__init__ = recording  # type: ignore[method-assign]
    event.listen(engine, "commit", committed)
    event.listen(engine, "rollback", rolled_back)
    event.listen(engine, "before_cursor_execute", sent)
    try:
        yield transactions
    finally:
        runner.__init__ = made  # type: ignore[method-assign]
        event.remove(engine, "commit", committed)
        event.remove(engine, "rollback", rolled_back)
        event.remove(engine, "before_cursor_execute", sent)
        transactions[:] = [t for t in transactions if t]


def replay_writes(
    path: Path, transactions: Sequence[Sequence[Write]]
) -> tuple[float, Counter[str]]:
    """Send ``transactions`` to the SQLite file ``path``, each in one transaction.

    Returns the seconds it took, and how they split by table (and ``COMMIT``).
    """
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    # A page cache that holds the whole file (256 MB): the floor reads no page twice from
    # the operating system, whatever kudos's connections are set to.
    con.execute("PRAGMA cache_size=-262144")
    cur = con.cursor()
    clock = ingest._clock
    split: Counter[str] = Counter()
    ingest.settled()
    started = clock()
    for writes in transactions:
        cur.execute("BEGIN IMMEDIATE")
        for many, sql, params in writes:
            at = clock()
            if many:
                cur.executemany(sql, params)
            else:
                cur.execute(sql, params).fetchall()  # RETURNING rows, as kudos reads them
            split[table_of(sql)] += clock() - at
        at = clock()
        cur.execute("COMMIT")
        split["COMMIT"] += clock() - at
    took = clock() - started
    con.close()
    return took, split


def table_of(sql: str) -> str:
    """The table a write statement names."""
    words = sql.replace("(", " ").upper().split()
    for word in ("INTO", "FROM", "UPDATE"):  # INSERT/REPLACE INTO t, DELETE FROM t, UPDATE t
        if word in words:
            return sql.replace("(", " ").split()[words.index(word) + 1].strip('"')
    return "?"


def empty_store(path: Path) -> None:
    """A new SQLite file with kudos's tables and indexes, and no rows of a community."""
    community = ingest.sqlite_community(path)
    with community.store.transaction(community.id, read_only=True):
        pass
    community.store.engine.dispose()  # type: ignore[attr-defined]


def contents(path: Path) -> dict[str, Counter[tuple[Any, ...]]]:
    """Every table's rows (as a multiset), to check the floor wrote what kudos did."""
    with sqlite3.connect(path) as con:
        tables = [
            name
            for (name,) in con.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {t: Counter(con.execute(f'SELECT * FROM "{t}"')) for t in tables}


def rows_per_table(transactions: Sequence[Sequence[Write]]) -> Counter[str]:
    """Rows written, by table."""
    rows: Counter[str] = Counter()
    for writes in transactions:
        for many, sql, params in writes:
            rows[table_of(sql)] += len(params) if many else 1
    return rows


def measure(label: str, stream: Sequence[ingest.Item], batch: int, tmp: Path) -> None:
    """kudos, its floor and the raw baseline on ``stream`` in transactions of ``batch``."""

    def run(community: Any) -> float:
        if batch == 1:
            return ingest.kudos_each(community, stream)
        return ingest.kudos_batched(community, stream, batch)

    timed = ingest.sqlite_community(tmp / f"b{batch}-kudos.db")
    took = run(timed)
    traced = ingest.sqlite_community(tmp / f"b{batch}-traced.db")
    with captured(traced) as transactions:
        run(traced)
    floor_path = tmp / f"b{batch}-floor.db"
    empty_store(floor_path)
    floor_took, split = replay_writes(floor_path, transactions)
    raw = ingest.raw_connect(tmp / f"b{batch}-raw.db")
    raw_took = ingest.raw_ingest(raw, stream, batch)
    raw.close()
    for community in (timed, traced):
        community.store.engine.dispose()
    if contents(floor_path) != contents(tmp / f"b{batch}-traced.db"):
        sys.exit(f"{label}: the floor's file does not hold what kudos's does")
    n = len(stream)
    print(f"{label} ({n:,} events, {len(transactions):,} transactions)")
    print(f"  kudos        {ingest.rate(n, took)}")
    print(f"  floor        {ingest.rate(n, floor_took)}   (kudos's writes, replayed)")
    print(f"  raw          {ingest.rate(n, raw_took)}")
    print(f"  floor/raw    {raw_took / floor_took:10.2f}   (the most kudos/raw can be)")
    print(f"  kudos/floor  {floor_took / took:10.2f}")
    print(f"  kudos/raw    {raw_took / took:10.2f}")
    rows = rows_per_table(transactions)
    print("  the floor by table: rows per event, microseconds per event")
    for table, seconds in split.most_common():
        shown = f"{rows[table] / n:6.1f}" if table in rows else "      "
        print(f"    {table:<20} {shown} {seconds * 1e6 / n:8.1f}")
    loop = floor_took - sum(split.values())
    print(f"    {'BEGIN, the loop':<20}        {loop * 1e6 / n:8.1f}")
    print(f"    {'in all':<20} {sum(rows.values()) / n:6.1f} {floor_took * 1e6 / n:8.1f}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ingest.stream_options(parser, events=20_000, members=1_000)
    parser.add_argument(
        "--record-events",
        type=ingest.positive,
        default=2_000,
        help="events for the one-record-per-event run (the stream's first ones, at most all)",
    )
    parser.add_argument("--only", choices=["batched", "each"], default=None)
    args = parser.parse_args(argv)
    stream = ingest.stream_of(parser, args)
    print(
        f"kudos floor: {len(stream):,} events over {args.members:,} members (seed {args.seed}); "
        f"SQLite {sqlite3.sqlite_version}, WAL, default synchronous; wall clock"
    )
    with tempfile.TemporaryDirectory() as tmp:
        if args.only in (None, "batched"):
            measure(f"record_many, {args.batch:,} per transaction", stream, args.batch, Path(tmp))
        if args.only in (None, "each"):
            measure("record, one per transaction", stream[: args.record_events], 1, Path(tmp))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
