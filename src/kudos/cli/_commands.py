"""The ``kudos`` commands that read a community, close a period or preview a policy."""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs

from ..community import Community
from ..errors import InvalidInput, NotAllowed, PolicyMismatch, UnknownMember
from ..explain.report import SimulationReport
from ..history.rules import from_content
from ..history.timeline import Timeline
from ..leaderboards.rules import METRICS
from ..model import LedgerEntry, PolicyVersion
from ..payback.rules import Conversion
from ..policy import Policy
from ._common import PRESETS, CliError, load_policy, open_existing, opening, shown_url, sqlite_path
from ._render import jsonable, ledger_row, plural, policy_document, standing_lines
from ._ui import Ui

__all__ = ["add_parsers"]


@contextmanager
def _member_known(args: argparse.Namespace) -> Iterator[None]:
    """An unknown member, said in the command's terms rather than the library's."""
    try:
        yield
    except UnknownMember:
        raise CliError(
            f"no member {args.member!r} in community {args.community!r} at {shown_url(args.url)}"
        ) from None


def _standing(args: argparse.Namespace, ui: Ui) -> int:
    community = open_existing(args)
    with _member_known(args):
        standing = community.standing(args.member)
    ui.emit(jsonable(standing))
    for line in standing_lines(standing):
        ui.line(line)
    return 0


def _statement(args: argparse.Namespace, ui: Ui) -> int:
    community = open_existing(args)
    with _member_known(args):
        statement = community.statement(args.member, period=args.period, account=args.account)
    ui.emit(jsonable(statement))
    span = f" for {args.period}" if args.period else ""
    ui.table(
        f"Statement of {args.member}{span}",
        ["date", "amount", "account", "why", "version"],
        [[*ledger_row(line), str(line.policy)] for line in statement.lines],
        right=["amount", "version"],
        empty="(no ledger lines)",
    )
    if statement.lines:
        ui.line("  version: the version of the community's policy that valued the line")
    ui.line(
        "  totals: "
        + ", ".join(
            f"{amount:+,} {account}"
            for account, amount in statement.totals.items()
            if args.account in (None, account)
        )
    )
    conversion = statement.conversion
    if isinstance(conversion, Conversion):
        ui.line("  at the close: " + _conversion_words(community, conversion))
    return 0


def _conversion_words(community: Community, c: Conversion) -> str:
    money = community.policy.payback
    said = (
        (
            c.paid_points,
            f"{plural(c.paid_points, 'point')} paid as {money.format(c.amount)} by {c.method}",
        ),
        (c.carried_over, f"{plural(c.carried_over, 'point')} carried over to {c.carried_to}"),
        (c.lapsed, f"{plural(c.lapsed, 'point')} lapsed"),
        (c.debt, f"{plural(c.debt, 'point')} owed, carried to {c.carried_to}"),
    )
    text = "; ".join(words for amount, words in said if amount) or "nothing to convert"
    return text + (f" ({c.reason})" if c.reason else "")


def _carried(c: Conversion) -> str:
    """What a close carried into the next period for one member: points, or a debt."""
    if c.carried_over:
        return f"{c.carried_over:,} to {c.carried_to}"
    if c.debt:
        return f"{-c.debt:,} (owed) to {c.carried_to}"
    return "-"


def _leaderboard(args: argparse.Namespace, ui: Ui) -> int:
    community = open_existing(args)
    rows = community.leaderboard(
        by=args.by, period=args.period, tag=args.tag, window=args.window, limit=args.limit
    )
    ui.emit([jsonable(row) for row in rows])
    period = args.period
    if period == "current":
        period = f"{community.current_period()} (current)"
    span = " ".join(
        f"{name} {value}"
        for name, value in (("period", period), ("tag", args.tag), ("window", args.window))
        if value is not None
    )
    ui.table(
        f"Leaderboard by {args.by.replace('_', ' ')}" + (f", {span}" if span else ""),
        ["#", "member", args.by.replace("_", " ")],
        [[str(r.position), r.member, f"{r.value:,}"] for r in rows],
        right=["#", args.by.replace("_", " ")],
        empty="(nobody yet)",
    )
    return 0


def _conversions(community: Community, period: str) -> list[Conversion]:
    def read(tx: Any) -> list[Conversion]:
        docs = tx.find("conversion", status=period)
        return sorted((Conversion.from_data(d.data) for d in docs), key=lambda c: c.member or "")

    found: list[Conversion] = community._read(read)
    return found


def _close(args: argparse.Namespace, ui: Ui) -> int:
    community = open_existing(args, need_events=True)
    before = community.payback_period(args.period)
    if before.status == "open":
        raise CliError(
            f"{args.period} has not ended yet (it ends {before.end:%Y-%m-%d %H:%M} UTC); "
            f"the current period is {community.current_period()}"
        )
    payouts = community.close_period(args.period, by=args.by)
    period = community.payback_period(args.period)
    conversions = _conversions(community, args.period)
    money = community.policy.payback
    already = before.status == "closed"
    ui.emit(
        {
            "period": jsonable(period),
            "already_closed": already,
            "payouts": [{**jsonable(p), "amount_text": money.format(p.amount)} for p in payouts],
            "conversions": [jsonable(c) for c in conversions],
        }
    )
    when = f"{period.closed_at:%Y-%m-%d %H:%M} UTC" if period.closed_at else "earlier"
    if already:
        ui.line(
            f"{args.period} was already closed ({when}"
            + (f" by {period.closed_by}" if period.closed_by else "")
            + "); nothing changed. Its payouts:"
        )
    else:
        ui.line(
            f"closed {args.period}: {plural(len(payouts), 'payout')}, {money.format(period.amount)}"
        )
    ui.table(
        f"Payouts of {args.period}",
        ["member", "method", "points", "amount", *(["match"] if period.match else []), "status"],
        [
            [
                p.member,
                p.method + (f" ({p.charity})" if p.charity else ""),
                f"{p.points:,}",
                money.format(p.amount),
                *([money.format(p.match) if p.match else "-"] if period.match else []),
                p.status,
            ]
            for p in payouts
        ],
        right=["points", "amount", "match"],
        empty="(no payouts)",
    )
    carried = [c for c in conversions if c.carried_over or c.lapsed or c.debt]
    ui.table(
        "Carried over and lapsed",
        ["member", "carried over", "lapsed", "why"],
        [
            [
                c.member or "",
                _carried(c),
                f"{c.lapsed:,}" if c.lapsed else "-",
                c.reason or (f"{c.debt:,} points owed" if c.debt else ""),
            ]
            for c in carried
        ],
        right=["lapsed"],
        empty="(every point was paid)",
    )
    ui.line(
        f"  {plural(period.points, 'point')} converted: {period.paid_points:,} paid, "
        f"{period.carried_over:,} carried over"
        + (f" to {period.carried_to}" if period.carried_to and period.carried_over else "")
        + f", {period.lapsed:,} lapsed"
    )
    for method, amount in sorted(period.by_method.items()):
        ui.line(f"  total {method}: {money.format(amount)}")
    if period.match:
        ui.line(f"  matched donations (on top): {money.format(period.match)}")
    return 0


def _problem(community: Community) -> str | None:
    """What ``kudos verify`` finds wrong with ``community`` (``None``: nothing)."""
    from ..testing import assert_consistent

    try:
        assert_consistent(community, replay=False)
    except AssertionError as exc:
        return str(exc) or "an invariant does not hold"
    except (NotAllowed, InvalidInput) as exc:  # the policy refuses an event it replays
        return f"{_REPLAY_DIFFERS} a refusal: {exc}"
    return None


_REPLAY_DIFFERS = "replaying the log gives"
_PROJECTIONS_DIFFER = (
    "replaying the log gives different counters",
    "replaying the log gives different documents",
)


def _rebuild(args: argparse.Namespace, ui: Ui) -> int:
    community = open_existing(args, need_events=True)
    ui.note(f"rebuilding community {community.id!r} at {shown_url(args.url)} from its event log")
    started = time.monotonic()
    moved = False
    optimize = getattr(community.store, "optimize", None)
    if optimize is not None:  # an SQL store: its tables in this version's layout first
        with ui.status("bringing the kudos tables to this version's layout"):
            moved = bool(optimize())
    with ui.status("replaying the event log into fresh projections"):
        report = community.rebuild()
    elapsed = time.monotonic() - started
    ui.emit({**attrs.asdict(report), "layout_moved": moved, "seconds": round(elapsed, 3)})
    if moved:
        ui.line("moved the kudos tables to this version's layout: fewer pages per write")
    ui.line(
        f"rebuilt from {report.events:,} events: {report.entries:,} ledger lines, "
        f"{report.members:,} members ({elapsed:.1f} s)"
    )
    return 0


def _verify(args: argparse.Namespace, ui: Ui) -> int:
    community = open_existing(args, need_events=True)
    started = time.monotonic()
    under = f"--policy {args.policy}" if args.policy else _stored_words(community)
    ui.note(f"verifying community {community.id!r} at {shown_url(args.url)} under {under}")
    with ui.status("checking balances, reversals, and that a rebuild gives the same state"):
        problem = _problem(community)
        agrees_under = []
        if problem is not None and problem.startswith(_REPLAY_DIFFERS):
            # Balances match the ledger, but replaying the log does not give it: most
            # likely the events were recorded under another policy than --policy.
            # (A database that records its policy refuses any other: PolicyMismatch.)
            for name in PRESETS:
                other = argparse.Namespace(**{**vars(args), "policy": name})
                if name == args.policy:
                    continue
                with contextlib.suppress(PolicyMismatch):
                    if _problem(open_existing(other)) is None:
                        agrees_under.append(name)
    elapsed = time.monotonic() - started
    rebuild = problem is not None and problem.startswith(_PROJECTIONS_DIFFER)
    ui.emit(
        {
            "consistent": problem is None,
            "problem": problem,
            "agrees_under": agrees_under,
            "rebuild": rebuild,
            "seconds": round(elapsed, 3),
        }
    )
    if problem is None:
        ui.line(f"ledger, balances and projections agree with the event log ({elapsed:.1f} s)")
        return 0
    if rebuild:
        ui.line(
            f"NOT consistent under {under}: {problem}.\n"
            "The ledger agrees with a replay of the event log; the projections (counters and "
            "documents) do not, as when an earlier version of kudos wrote them. Bring them up "
            f"to date with `kudos rebuild --url {shown_url(args.url)}`, then verify again."
        )
        return 1
    if problem.startswith(_REPLAY_DIFFERS):
        ui.line(
            f"NOT consistent under {under}: {problem}.\n"
            "The balances agree with the ledger, so the ledger was most likely written "
            "under another policy."
        )
        if agrees_under:
            ui.line(
                "It agrees under "
                + " and ".join(f"--policy {name}" for name in agrees_under)
                + "; verify with that."
            )
        else:
            ui.line(
                "Pass the policy the events were imported with: "
                "`kudos verify --policy FILE --url URL`."
            )
        return 1
    ui.line(f"NOT consistent: {problem}")
    ui.line("the store disagrees with its event log; `kudos verify` checks again after a fix")
    return 1


def _stored_words(community: Community) -> str:
    """The policy versions a database holds, as ``verify`` replays them, in words."""
    versions = community.policy_history()
    names = [repr(from_content(v.content).name) for v in versions]
    if len(versions) <= 1:
        return f"the policy the database holds (version 1, {names[0] if names else '?'})"
    return (
        f"the policy versions the database holds (1 to {len(versions)}: {', '.join(names)}), "
        "each fact under the version in force for it"
    )


def _in_force(community: Community) -> tuple[list[PolicyVersion], int]:
    """The community's policy versions, and the number of the one in force now (0: none)."""
    versions = community.policy_history()
    if not versions:
        return versions, 0
    return versions, Timeline(versions).at(community.now())[0]


def _scheduled(community: Community) -> str:
    """The versions scheduled after the one in force, in words (``""``: none), e.g.
    ``"version 3 is scheduled from 2099-01-01 00:00 UTC"``."""
    later = [v for v in community.policy_history() if v.status == "scheduled"]
    if not later:
        return ""
    words = [f"{v.version} from {v.effective:%Y-%m-%d %H:%M} UTC" for v in later if v.effective]
    if len(words) == 1:
        return f"version {words[0]} is scheduled"
    return f"versions {', '.join(words[:-1])} and {words[-1]} are scheduled"


def _policy_source(args: argparse.Namespace) -> tuple[Policy, str | None]:
    """The policy ``kudos policy show`` shows, and where it came from when a database."""
    if args.source is not None and args.policy is not None:
        raise CliError(f"give the policy once: {args.source!r} or --policy {args.policy!r}")
    named = args.source or args.policy
    if args.url is None:
        return load_policy(named or "giffgaff"), None
    if named is not None:
        raise CliError("give a policy (a preset or file) or --url, not both")
    community = open_existing(argparse.Namespace(**{**vars(args), "policy": None}))
    versions, number = _in_force(community)
    if not number:
        raise CliError(
            f"community {community.id!r} at {shown_url(args.url)} has recorded no policy yet; "
            "its first write records the policy it is opened with (giffgaff by default)"
        )
    version = versions[number - 1]
    when = (
        f"in force since {version.effective:%Y-%m-%d %H:%M} UTC"
        if version.effective
        else "in force from the start"
    )
    note = f"version {number} of {len(versions)} of community {community.id!r}, {when}"
    scheduled = _scheduled(community)
    if scheduled:
        note += f"; {scheduled} (`kudos policy history`)"
    return from_content(version.content), note


def _policy_show(args: argparse.Namespace, ui: Ui) -> int:
    policy, where = _policy_source(args)
    if args.toml:
        ui.out.write(policy.to_toml())
        return 0
    table = policy.describe()
    if args.markdown:
        ui.out.write(table.markdown())
        return 0
    ui.emit(policy_document(policy))
    ui.line(f"Policy {policy.name!r}" + (f" ({where})" if where else ""))
    for section in table.sections:
        ui.line()
        ui.table(
            section.title,
            list(section.columns),
            [list(r) for r in section.rows],
            right=list(section.numeric),
            empty="(none)",
        )
    return 0


def _policy_history(args: argparse.Namespace, ui: Ui) -> int:
    community = open_existing(argparse.Namespace(**{**vars(args), "policy": None}))
    versions = community.policy_history()  # each with its status, as Python reads it
    rows = [
        {
            "version": v.version,
            "name": from_content(v.content).name,
            "effective": v.effective.isoformat() if v.effective else None,
            "status": v.status,
            "event_id": v.event_id,
            "fingerprint": v.fingerprint,
        }
        for v in versions
    ]
    ui.emit(rows)
    ui.table(
        f"Policy history of community {community.id!r}",
        ["version", "name", "effective", "status", "changed by event"],
        [
            [
                str(r["version"]),
                str(r["name"]),
                f"{v.effective:%Y-%m-%d %H:%M} UTC" if v.effective else "from the start",
                str(r["status"]),
                _cut(v.event_id) if v.event_id else "(first write)",
            ]
            for r, v in zip(rows, versions, strict=True)
        ],
        right=["version"],
        empty="(no policy recorded yet: the first write records it)",
    )
    return 0


def _cut(text: str, most: int = 40) -> str:
    """``text``, cut to ``most`` characters for a table (``--json`` has it whole)."""
    return text if len(text) <= most else f"{text[: most - 3]}..."


def _time(value: str, option: str) -> datetime:
    """An ISO 8601 time with its UTC offset (``Z`` is UTC), as ``option`` takes it."""
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise CliError(
            f"{option} {value!r} is not a time; give it with its UTC offset, "
            "e.g. 2026-06-01T00:00:00+00:00"
        ) from None
    if when.tzinfo is None:
        raise CliError(f"{option} {value!r} has no UTC offset; e.g. 2026-06-01T00:00:00+00:00")
    return when


def _policy_change(args: argparse.Namespace, ui: Ui) -> int:
    new = load_policy(args.file, option="FILE")
    effective = _time(args.effective, "--effective") if args.effective else None
    community = open_existing(
        argparse.Namespace(**{**vars(args), "policy": None}), need_events=True
    )
    outcome = community.change_policy(
        new, effective=effective, by=args.by, reason=args.reason, retroactive=args.retroactive
    )
    versions, number = _in_force(community)
    if outcome.replayed:  # the version in force from the asked time on has these settings
        mine = versions[Timeline(versions).at(effective or community.now())[0] - 1]
    else:
        mine = next((v for v in versions if v.event_id == outcome.event_id), versions[-1])
    moved = [e for e in outcome.entries if e.amount]
    ui.emit(
        {
            "version": mine.version,
            "effective": mine.effective.isoformat() if mine.effective else None,
            "in_force": mine.version == number,
            "replayed": outcome.replayed,
            "entries": [jsonable(e) for e in moved],
        }
    )
    when = f"{mine.effective:%Y-%m-%d %H:%M} UTC" if mine.effective else "the start"
    if outcome.replayed and effective is not None and mine.effective == effective:
        ui.line(
            f"this change was recorded before, as policy version {mine.version}; nothing changed"
        )
    elif outcome.replayed:
        asked = f"{effective:%Y-%m-%d %H:%M} UTC" if effective else "now"
        ui.line(
            f"the settings are already those of policy version {mine.version}, in force from "
            f"{when}; nothing changed: the new effective time ({asked}) was not applied "
            "(to move a scheduled change, first record the previous settings at its "
            "effective time, then the change at the new one)"
        )
    else:
        ui.line(
            f"recorded policy version {mine.version} ({new.name!r}), effective {when}"
            + ("; in force now" if mine.version == number else "; scheduled")
        )
    if args.retroactive and outcome.replayed:
        ui.line(
            "nothing was recalculated: --retroactive recalculates history only when the change "
            "is first recorded (`kudos statement MEMBER` shows what it booked then)"
        )
    elif args.retroactive:
        ui.table(
            "Recalculated",
            ["member", "account", "amount", "lines"],
            [
                [member, account, f"{amount:+,}", f"{lines:,}"]
                for (member, account), (amount, lines) in _per_member(moved)
            ],
            right=["amount", "lines"],
            empty="(history is worth the same under the new rules)",
        )
    return 0


def _per_member(entries: list[LedgerEntry]) -> list[tuple[tuple[str, str], tuple[int, int]]]:
    """What ``entries`` booked per member and account: (amount, lines), largest move first
    (then by member and account)."""
    booked: dict[tuple[str, str], tuple[int, int]] = {}
    for e in entries:
        amount, lines = booked.get((e.member, e.account), (0, 0))
        booked[(e.member, e.account)] = (amount + e.amount, lines + 1)
    return sorted(booked.items(), key=lambda item: (-abs(item[1][0]), item[0]))


def _simulate(args: argparse.Namespace, ui: Ui) -> int:
    other = load_policy(args.policy)
    effective = _time(args.effective, "--effective") if args.effective else None
    if args.retroactive and effective is None:
        raise CliError("--retroactive previews a change from a time: give --effective TIME too")
    current = argparse.Namespace(**{**vars(args), "policy": args.current})
    community = open_existing(current, need_events=True, policy_option="--current")
    with ui.status(f"replaying the event log under {other.name!r}"):
        result = community.simulate(other, effective=effective, retroactive=args.retroactive)
    ui.emit(
        {
            "policy": result.policy,
            "changes": [
                {
                    "member": c.member,
                    "points": c.points,
                    "reputation": c.reputation,
                    "before": jsonable(c.before),
                    "after": jsonable(c.after),
                }
                for c in result.changes
            ],
            "rejected": [{"event_id": e, "reason": r} for e, r in result.rejected],
            "report": _report_document(result.report),
        }
    )
    report = result.report
    if args.markdown:
        ui.out.write(report.markdown(limit=args.limit))
        return 0
    title = report.title
    if result.policy == community.policy.name:
        title = (
            f"Under --policy {args.policy} instead of --current "
            f"{args.current or 'the stored policy'} "
            f"(both named {result.policy!r})" + report.when
        )
        if result.changes:
            title += (
                "; a change under the same policy means the ledger was written "
                "under another: pass that one as --current"
            )
    for sentence in report.summary():
        ui.line(sentence)
        ui.line()
    for n, section in enumerate(report.sections(limit=args.limit)):
        if n:
            ui.line()
        nobody = n == 1 and not report.members
        ui.table(
            title if n == 0 else section.title,
            list(section.columns),
            [list(r) for r in section.rows],
            right=list(section.numeric),
            empty="(no member's standing would change)" if nobody else "(none shown)",
        )
        if section.note:
            ui.line(section.note)
    return 0


def _count(value: str) -> int:
    """A whole number of 0 or more (argparse's ``type`` for ``--limit``)."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {number}")
    return number


def _report_document(report: SimulationReport) -> dict[str, Any]:
    """The simulation report as JSON data (money in minor units of ``currency``)."""
    document: dict[str, Any] = jsonable(attrs.evolve(report, members=(), rules=()))
    del document["money"]
    document["currency"] = report.money.currency
    document["members"] = [
        {**jsonable(m), "points": m.points, "reputation": m.reputation, "money": m.money}
        for m in report.members
    ]
    document["rules"] = [jsonable(r) for r in report.rules]
    document["refused_kinds"] = [{"event": k, "count": n} for k, n in report.refused_kinds]
    document["refused_closes"] = list(report.refused_closes)
    document["summary"] = list(report.summary())
    return document


def _demo(args: argparse.Namespace, ui: Ui) -> int:
    from ._demo import run_demo

    if args.url is None:
        with tempfile.TemporaryDirectory() as tmp:
            run_demo(f"sqlite:///{Path(tmp) / 'demo.db'}", ui.out, where="a temporary database")
    else:
        sqlite_path(args.url)  # a URL that is no database URL is a usage error
        with opening(args.url):
            run_demo(args.url, ui.out, where=shown_url(args.url))
    return 0


def add_parsers(sub: Any, command: Any) -> None:
    """Add the commands of this module to the ``kudos`` subcommands."""
    demo = command(
        "demo", "run a small simulated community and print what it earned", db=False, json=False
    )
    demo.add_argument(
        "--url",
        default=None,
        help="database URL (default: a temporary SQLite); running again on it changes nothing",
    )
    demo.set_defaults(run=_demo)

    standing = command("standing", "print a member's standing: points, rank, badges, privileges")
    standing.add_argument("member")
    standing.set_defaults(run=_standing)

    statement = command("statement", "print a member's ledger lines: what, why, when")
    statement.add_argument("member")
    statement.add_argument("--period", default=None, help="one payback period (e.g. 2026-H2)")
    statement.add_argument("--account", choices=["points", "reputation"], default=None)
    statement.set_defaults(run=_statement)

    board = command("leaderboard", "print a leaderboard")
    board.add_argument("--by", choices=METRICS, default="reputation", help="the metric ranked")
    board.add_argument("--period", default=None, help="a payback period id, or 'current'")
    board.add_argument("--tag", default=None, help="only what came from topics with this tag")
    board.add_argument("--window", default=None, help="a rolling window of days: 7d, 30d")
    board.add_argument("--limit", type=int, default=10)
    board.set_defaults(run=_leaderboard)

    close = command("close-period", "close an ended payback period and print its payouts")
    close.add_argument("period", help="the period id, e.g. 2026-H2")
    close.add_argument("--by", default=None, help="the staff member closing it")
    close.set_defaults(run=_close)

    verify = command("verify", "check that balances and projections agree with the event log")
    verify.set_defaults(run=_verify)

    rebuild = command(
        "rebuild", "replay the event log into fresh projections (after upgrading kudos)"
    )
    rebuild.set_defaults(run=_rebuild)

    simulate = command(
        "simulate", "what every member's standing would be under another policy", policy=False
    )
    simulate.add_argument("--policy", required=True, help="the other policy: a preset or TOML file")
    simulate.add_argument(
        "--current",
        default=None,
        help="the policy the ledger was written under (default: the one the database holds)",
    )
    simulate.add_argument(
        "--limit",
        type=_count,
        default=20,
        help="members shown, largest move first (|points| + |reputation| + "
        "|money in minor units|; default: 20; 0 shows totals only)",
    )
    simulate.add_argument(
        "--effective",
        default=None,
        help="preview adopting it from this time on (with its UTC offset), as "
        "`kudos policy change --effective` would; default: as if always in force",
    )
    simulate.add_argument(
        "--retroactive",
        action="store_true",
        help="with --effective: preview a retroactive change (history from --effective "
        "on recalculated)",
    )
    simulate.add_argument("--markdown", action="store_true", help="print Markdown tables")
    simulate.set_defaults(run=_simulate)

    policy = command(
        "policy",
        "show a policy, its history in a database, or change it",
        db=False,
        json=False,
        plain=False,
    )
    policy_sub = policy.add_subparsers(
        dest="policy_command", required=True, metavar="{show,history,change}"
    )
    show = policy_sub.add_parser(
        "show",
        help="a policy's rewards, caps, ranks, badges, privileges and payback as tables",
        description="a policy's rewards, caps, ranks, badges, privileges and payback: a preset, "
        "a policy file, or the policy in force in a database (--url)",
    )
    show.add_argument(
        "source", nargs="?", default=None, help="preset name or policy file (default: giffgaff)"
    )
    show.add_argument("--policy", default=None, help="the same, as an option")
    show.add_argument(
        "--url", default=None, help="show the policy in force in this database instead"
    )
    show.add_argument("--community", default="default", help="community id (default: default)")
    show.add_argument(
        "--toml", action="store_true", help="print the whole policy as TOML (--policy reads it)"
    )
    show.add_argument("--json", action="store_true", help="print JSON (--policy reads it)")
    show.add_argument(
        "--markdown", action="store_true", help="print Markdown tables (as docs/policies.md has)"
    )
    show.add_argument("--plain", action="store_true", help="plain text, no colours or boxes")
    show.set_defaults(run=_policy_show)

    def database(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--url",
            default=os.environ.get("KUDOS_URL") or "sqlite:///kudos.db",
            help="database URL (default: $KUDOS_URL, else sqlite:///kudos.db)",
        )
        p.add_argument("--community", default="default", help="community id (default: default)")
        p.add_argument("--json", action="store_true", help="print JSON instead of tables")
        p.add_argument("--plain", action="store_true", help="plain text, no colours or boxes")

    history = policy_sub.add_parser(
        "history",
        help="the policy versions a database holds: when each took effect, which is in force",
        description="the policy versions a database holds: when each took effect, which is "
        "in force now and which are scheduled",
    )
    database(history)
    history.set_defaults(run=_policy_history)

    change = policy_sub.add_parser(
        "change",
        help="adopt a new policy in a database from a time on (a policy-changed event)",
        description="adopt a new policy in a database: facts from --effective on are valued "
        "under it; with --retroactive, history is recalculated and the difference booked now",
    )
    change.add_argument("file", help="the new policy: a preset name or policy file")
    database(change)
    change.add_argument(
        "--effective",
        default=None,
        help="from when it applies, with its UTC offset (default: now), "
        "e.g. 2026-06-01T00:00:00+00:00",
    )
    change.add_argument("--by", required=True, help="the staff member changing it")
    change.add_argument("--reason", required=True, help="why (shown on recalculated lines)")
    change.add_argument(
        "--retroactive",
        action="store_true",
        help="recalculate history from --effective on and book the difference now",
    )
    change.set_defaults(run=_policy_change)
