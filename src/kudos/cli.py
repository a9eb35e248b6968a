"""The ``kudos`` command: a demo, imports, and questions about a community database.

::

    kudos demo                                   # a small simulated community on SQLite
    kudos import events.jsonl --url sqlite:///community.db
    kudos standing alice --url sqlite:///community.db
    kudos leaderboard --by reputation --url sqlite:///community.db
    kudos close-period 2026-H2 --url sqlite:///community.db
    kudos verify --url sqlite:///community.db    # ledger and projections agree

``--policy`` takes a preset name (``giffgaff``, ``stackexchange``) or a TOML file.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from . import policies
from ._validate import shown
from .community import Community
from .community import open as open_community
from .errors import InvalidInput, KudosError
from .events import Event, event_from_payload
from .policy import Policy

__all__ = ["main"]

PRESETS = {"giffgaff": policies.giffgaff, "stackexchange": policies.stackexchange}


def _policy(name: str) -> Policy:
    if name in PRESETS:
        return PRESETS[name]()
    path = Path(name)
    if not path.exists():
        raise InvalidInput(
            f"--policy {name!r} is neither a preset ({', '.join(PRESETS)}) nor a TOML file"
        )
    return Policy.from_toml(path)


def _open(args: argparse.Namespace) -> Community:
    return open_community(args.url, policy=_policy(args.policy), community=args.community)


def _events(lines: Iterator[str]) -> Iterator[Event]:
    """The events of JSON lines; any line that is not one is an :class:`InvalidInput`."""
    number = 0
    while True:
        number += 1
        try:
            line = next(lines)
        except StopIteration:
            return
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"line {number}: not UTF-8 text ({exc.reason})") from None
        if not line.strip():
            continue
        try:
            data: Any = json.loads(line)
        except ValueError as exc:
            raise InvalidInput(f"line {number}: not JSON ({exc})") from None
        if not isinstance(data, dict) or not isinstance(data.get("type"), str):
            raise InvalidInput(
                f'line {number}: expected a JSON object with a "type" string, got {shown(data)}'
            )
        kind = data.pop("type")
        event_id = data.pop("event_id", None)
        try:
            yield event_from_payload(kind, event_id, data)
        except InvalidInput as exc:
            raise InvalidInput(f"line {number}: {exc}") from None


def _cmd_import(args: argparse.Namespace, out: TextIO) -> int:
    community = _open(args)
    with contextlib.ExitStack() as stack:
        source = (
            sys.stdin
            if args.file == "-"
            else stack.enter_context(Path(args.file).open(encoding="utf-8"))
        )
        batch: list[Event] = []
        total = replayed = 0
        for event in _events(iter(source)):
            batch.append(event)
            if len(batch) >= args.batch:
                outcomes = community.record_many(batch)
                total += len(outcomes)
                replayed += sum(o.replayed for o in outcomes)
                batch = []
        if batch:
            outcomes = community.record_many(batch)
            total += len(outcomes)
            replayed += sum(o.replayed for o in outcomes)
    print(f"recorded {total} events ({replayed} already known)", file=out)
    return 0


def _cmd_standing(args: argparse.Namespace, out: TextIO) -> int:
    community = _open(args)
    _print_standing(community, args.member, out)
    return 0


def _print_standing(community: Community, member: str, out: TextIO) -> None:
    s = community.standing(member)
    print(
        f"{member}: {s.points} points this period ({s.period}), {s.lifetime_points} lifetime, "
        f"{s.reputation} reputation",
        file=out,
    )
    if s.rank:
        print(f"  rank {s.rank}" + (f"; {s.next_rank}" if s.next_rank else ""), file=out)
    if s.badges:
        print(f"  badges: {', '.join(s.badges)}", file=out)
    counts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(s.counters.items()))
    if counts:
        print(f"  {counts}", file=out)


def _cmd_leaderboard(args: argparse.Namespace, out: TextIO) -> int:
    community = _open(args)
    _print_board(community, out, by=args.by, period=args.period, tag=args.tag, limit=args.limit)
    return 0


def _print_board(community: Community, out: TextIO, **query: Any) -> None:
    rows = community.leaderboard(**query)
    where = " ".join(f"{k}={v}" for k, v in query.items() if v is not None and k != "limit")
    print(f"leaderboard {where}".rstrip(), file=out)
    for row in rows:
        print(f"  #{row.position:<3} {row.member:<12} {row.value}", file=out)
    if not rows:
        print("  (nobody yet)", file=out)


def _cmd_close(args: argparse.Namespace, out: TextIO) -> int:
    community = _open(args)
    payouts = community.close_period(args.period, by=args.by)
    for p in payouts:
        print(
            f"  {p.member:<12} {p.points:>7} points -> {p.amount:>7} {p.currency} ({p.method})",
            file=out,
        )
    print(f"closed {args.period}: {len(payouts)} payouts", file=out)
    return 0


def _cmd_verify(args: argparse.Namespace, out: TextIO) -> int:
    from .testing import assert_consistent

    community = _open(args)
    try:
        assert_consistent(community, replay=False)
    except AssertionError as exc:
        print(f"NOT consistent: {exc}", file=out)
        return 1
    print("ledger, balances and projections agree with the event log", file=out)
    return 0


def _cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    from ._demo import run_demo

    if args.url is None:
        with tempfile.TemporaryDirectory() as tmp:
            run_demo(f"sqlite:///{Path(tmp) / 'demo.db'}", out)
    else:
        run_demo(args.url, out)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kudos", description="Customer-community gamification on an auditable ledger."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help: str, *, db: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        if db:
            p.add_argument(
                "--url",
                default="sqlite:///kudos.db",
                help="database URL (default: sqlite:///kudos.db)",
            )
            p.add_argument(
                "--policy",
                default="giffgaff",
                help="preset name or policy TOML file (default: giffgaff)",
            )
            p.add_argument("--community", default="default", help="community id")
        return p

    demo = command("demo", "run a small simulated community and print what it earned", db=False)
    demo.add_argument("--url", default=None, help="database URL (default: a temporary SQLite)")
    demo.set_defaults(run=_cmd_demo)

    imp = command("import", 'record events from JSON lines ({"type": ..., fields})')
    imp.add_argument("file", help="a .jsonl file, or - for standard input")
    imp.add_argument("--batch", type=int, default=10_000, help="events per transaction")
    imp.set_defaults(run=_cmd_import)

    standing = command("standing", "print a member's standing")
    standing.add_argument("member")
    standing.set_defaults(run=_cmd_standing)

    board = command("leaderboard", "print a leaderboard")
    board.add_argument("--by", default="reputation")
    board.add_argument("--period", default=None)
    board.add_argument("--tag", default=None)
    board.add_argument("--limit", type=int, default=10)
    board.set_defaults(run=_cmd_leaderboard)

    close = command("close-period", "close a payback period and print its payouts")
    close.add_argument("period")
    close.add_argument("--by", default=None, help="the staff member closing it")
    close.set_defaults(run=_cmd_close)

    verify = command("verify", "check that balances and projections agree with the event log")
    verify.set_defaults(run=_cmd_verify)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the ``kudos`` command; returns the exit status."""
    out = out or sys.stdout
    args = _parser().parse_args(argv)
    try:
        status: int = args.run(args, out)
    except KudosError as exc:
        print(f"kudos: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    return status


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
