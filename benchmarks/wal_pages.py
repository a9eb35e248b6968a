"""How many pages a recorded event writes to SQLite's WAL, and into which table or index.

On SQLite in WAL mode a commit appends every page it changed to the write-ahead log (and,
with the default ``synchronous`` setting, waits for the disk), so pages per event is what
one ``record`` per request costs beyond kudos's own Python. This records ``ingest.py``'s
seeded stream into a new SQLite file, the first ``--before`` events one per transaction
(or in batches with ``--batched``), then ``--count`` more one per transaction with
automatic checkpoints off, and reads the WAL's frame headers: each frame is one page
written, and SQLite's ``dbstat`` table says which B-tree (table or index) owns it.

    python benchmarks/wal_pages.py                         # members joining
    python benchmarks/wal_pages.py --before 15000          # topics, replies, kudos
    python benchmarks/wal_pages.py --events 20000 --members 1000 --before 10000 --batched

The counts are deterministic (same stream, same SQLite, same pages); they do not depend on
the machine's load, unlike the rates in ``ingest.py``.
"""

from __future__ import annotations

import argparse
import sqlite3
import struct
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).parent))
import ingest  # the stream and the store ingest.py uses


def frames(wal: Path, start: int) -> list[int]:
    """The page number of each frame in the WAL file ``wal`` from byte ``start`` on."""
    data = wal.read_bytes()
    page_size = struct.unpack(">I", data[8:12])[0]
    pages = []
    offset = max(start, 32)  # the WAL header is 32 bytes, each frame header 24
    while offset + 24 + page_size <= len(data):
        pages.append(struct.unpack(">I", data[offset : offset + 4])[0])
        offset += 24 + page_size
    return pages


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000, help="events in the stream")
    parser.add_argument("--members", type=int, default=10_000, help="members in the stream")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--before", type=int, default=5_000, help="events recorded first")
    parser.add_argument("--count", type=int, default=500, help="events whose pages are counted")
    parser.add_argument(
        "--batched", action="store_true", help="record the first events in batches of 10,000"
    )
    parser.add_argument("--top", type=int, default=12, help="tables and indexes listed")
    args = parser.parse_args(argv)
    stream = ingest.make_stream(args.events, args.members, args.seed)
    if args.before + args.count > len(stream):
        parser.error("--before plus --count is longer than the stream")
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "kudos.db"
        community = ingest.sqlite_community(path)
        engine = community.store.engine  # type: ignore[attr-defined]

        @event.listens_for(engine, "connect")
        def _no_checkpoints(dbapi: Any, _: Any) -> None:
            dbapi.execute("PRAGMA wal_autocheckpoint=0")  # every page stays in the WAL

        engine.dispose()
        first = stream[: args.before]
        if args.batched:
            ingest.kudos_batched(community, first, 10_000)
        else:
            ingest.kudos_each(community, first)
        with sqlite3.connect(path) as con:
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        wal = Path(f"{path}-wal")
        start = wal.stat().st_size if wal.exists() else 0
        counted = stream[args.before : args.before + args.count]
        ingest.kudos_each(community, counted)
        pages = frames(wal, start)
        with sqlite3.connect(path) as con:
            owner = dict(con.execute("SELECT pageno, name FROM dbstat"))
        current = community.store.layout_current()  # type: ignore[attr-defined]
        engine.dispose()
    kinds = Counter(type(item.event).__name__ for item in counted)
    print(
        f"kudos WAL pages: {args.count:,} events after {args.before:,} "
        f"({'in batches' if args.batched else 'one per transaction'}) of "
        f"{args.events:,} over {args.members:,} members (seed {args.seed}); "
        f"SQLite {sqlite3.sqlite_version}; tables in "
        f"{'this' if current else 'an earlier'} version's layout"
    )
    print("  events counted: " + ", ".join(f"{n:,} {kind}" for kind, n in kinds.most_common()))
    print(f"  pages per event  {len(pages) / args.count:6.1f}, of which:")
    by_tree = Counter(described(owner.get(page)) for page in pages)
    listed = by_tree.most_common(args.top)
    for name, n in listed:
        print(f"    {n / args.count:6.2f}  {name}")
    rest = sum(by_tree.values()) - sum(n for _, n in listed)
    if rest:
        print(f"    {rest / args.count:6.2f}  {len(by_tree) - len(listed)} more (--top)")
    return 0


def described(name: str | None) -> str:
    """A B-tree's name as ``dbstat`` gives it, said plainly where SQLite made it up."""
    if name is None:
        return "pages no B-tree holds now (freed, or past the file's end)"
    if name in ("sqlite_schema", "sqlite_master"):
        return "page 1 (the file's header and schema; rewritten as the file grows)"
    if name.startswith("sqlite_autoindex_"):
        table = name.removeprefix("sqlite_autoindex_").rsplit("_", 1)[0]
        return f"{name} ({table}'s primary key or unique constraint)"
    return name


if __name__ == "__main__":
    raise SystemExit(main())
