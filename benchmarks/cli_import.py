"""What ``kudos import`` and ``kudos verify`` cost over calling the library directly.

The seeded stream of ``ingest.py`` is written as JSON lines and imported into a
fresh SQLite file three ways, in the same batches:

* the baseline: read the lines, ``json.loads``, ``event_from_payload`` and
  ``record_many``, with nothing printed;
* ``kudos import --plain``: the same plus line tracking, refusal handling and
  plain progress lines;
* ``kudos import`` with rich's progress bar (when rich is installed).

Then ``kudos verify`` is timed against ``assert_consistent(replay=False)``. It
prints the best of ``--repeat`` runs of each, events per second and the CLI/baseline
ratios, and checks that
every import ends with the same reputation for every member.

    python benchmarks/cli_import.py                    # 10,800 events, 1,000 members
    python benchmarks/cli_import.py --events 100000 --members 5000
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from ingest import make_stream

import kudos
from kudos.cli import main as kudos_main
from kudos.cli._ui import rich_available
from kudos.events import event_from_payload
from kudos.testing import assert_consistent


def write_jsonl(path: Path, events: int, members: int) -> int:
    stream = make_stream(events, members)
    with path.open("w") as out:
        for item in stream:
            e = item.event
            record = {"type": e.type, **e.payload()}
            out.write(json.dumps(record) + "\n")
    return len(stream)


def baseline(source: Path, url: str, batch: int) -> float:
    community = kudos.open(url)
    started = time.perf_counter()
    events = []
    with source.open() as lines:
        for line in lines:
            data = json.loads(line)
            kind = data.pop("type")
            events.append(event_from_payload(kind, data.pop("event_id", None), data))
            if len(events) >= batch:
                community.record_many(events)
                events = []
    if events:
        community.record_many(events)
    return time.perf_counter() - started


def cli(source: Path, url: str, batch: int, *extra: str) -> float:
    out, err = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    status = kudos_main(
        ["import", str(source), "--url", url, "--batch", str(batch), *extra], out, err
    )
    elapsed = time.perf_counter() - started
    assert status == 0, err.getvalue()
    return elapsed


def reputation(url: str) -> dict[str, int]:
    community = kudos.open(url, create=False)
    return {e.member: e.value for e in community.leaderboard(by="reputation", limit=1000)}


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_800)
    parser.add_argument("--members", type=int, default=1_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the best counts")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "history.jsonl"
        count = write_jsonl(source, args.events, args.members)
        print(f"{count:,} events, {args.members:,} members, batches of {args.batch:,}")
        runs: list[tuple[str, str, Callable[[str], float]]] = [
            ("library (baseline)", "base", lambda url: baseline(source, url, args.batch)),
            ("kudos import --plain", "plain", lambda url: cli(source, url, args.batch, "--plain")),
        ]
        if rich_available():
            runs.append(("kudos import (rich)", "rich", lambda url: cli(source, url, args.batch)))
        times: dict[str, float] = {}
        boards = []
        for label, key, run in runs:
            best = []
            for n in range(args.repeat):
                url = f"sqlite:///{Path(tmp) / key}{n}.db"
                best.append(run(url))
                boards.append(reputation(url))
            times[label] = min(best)
            rate = count / times[label]
            ratio = times[label] / times["library (baseline)"]
            print(f"  {label:<24} {times[label]:6.2f} s  {rate:9,.0f} events/s  x{ratio:.2f}")
        assert all(b == boards[0] for b in boards), "the imports disagree"

        url = f"sqlite:///{Path(tmp) / 'base'}0.db"
        community = kudos.open(url, create=False)
        direct = min(
            timed(lambda: assert_consistent(community, replay=False)) for _ in range(args.repeat)
        )
        out, err = io.StringIO(), io.StringIO()
        verify = min(
            timed(lambda: kudos_main(["verify", "--url", url, "--plain"], out, err))
            for _ in range(args.repeat)
        )
        assert "agree" in out.getvalue(), out.getvalue() + err.getvalue()
        print(f"  {'assert_consistent':<24} {direct:6.2f} s")
        print(f"  {'kudos verify':<24} {verify:6.2f} s  x{verify / direct:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
