"""The ``kudos`` commands that read a community, close a period or preview a policy."""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs

from ..community import Community
from ..errors import InvalidInput, NotAllowed, PolicyMismatch, UnknownMember
from ..explain.report import SimulationReport
from ..leaderboards.rules import METRICS
from ..payback.rules import Conversion
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
        ["date", "amount", "account", "why"],
        [ledger_row(line) for line in statement.lines],
        right=["amount"],
        empty="(no ledger lines)",
    )
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


def _verify(args: argparse.Namespace, ui: Ui) -> int:
    community = open_existing(args, need_events=True)
    started = time.monotonic()
    ui.note(f"verifying community {community.id!r} at {shown_url(args.url)}")
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
    ui.emit(
        {
            "consistent": problem is None,
            "problem": problem,
            "agrees_under": agrees_under,
            "seconds": round(elapsed, 3),
        }
    )
    if problem is None:
        ui.line(f"ledger, balances and projections agree with the event log ({elapsed:.1f} s)")
        return 0
    if problem.startswith(_REPLAY_DIFFERS):
        ui.line(
            f"NOT consistent under --policy {args.policy or community.policy.name}: {problem}.\n"
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


def _policy_show(args: argparse.Namespace, ui: Ui) -> int:
    policy = load_policy(args.policy)
    table = policy.describe()
    if args.markdown:
        ui.out.write(table.markdown())
        return 0
    ui.emit(policy_document(policy))
    ui.line(f"Policy {policy.name!r}")
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


def _simulate(args: argparse.Namespace, ui: Ui) -> int:
    other = load_policy(args.policy)
    current = argparse.Namespace(**{**vars(args), "policy": args.current})
    community = open_existing(current, need_events=True, policy_option="--current")
    with ui.status(f"replaying the event log under {other.name!r}"):
        result = community.simulate(other)
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
            f"(both named {result.policy!r})"
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
        help="members shown, largest move first (default: 20; 0 shows totals only)",
    )
    simulate.add_argument("--markdown", action="store_true", help="print Markdown tables")
    simulate.set_defaults(run=_simulate)

    policy = command("policy", "show a policy", db=False, json=False, plain=False)
    policy_sub = policy.add_subparsers(dest="policy_command", required=True, metavar="show")
    show = policy_sub.add_parser(
        "show",
        help="the policy's rewards, caps, ranks, badges, privileges and payback as tables",
        description="the policy's rewards, caps, ranks, badges, privileges and payback",
    )
    show.add_argument("--policy", default="giffgaff", help="preset name or TOML file")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.add_argument(
        "--markdown", action="store_true", help="print Markdown tables (as docs/policies.md has)"
    )
    show.add_argument("--plain", action="store_true", help="plain text, no colours or boxes")
    show.set_defaults(run=_policy_show)
