"""kudos's values as lines, tables and JSON for the ``kudos`` command (and its demo)."""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from ..model import LedgerEntry, Standing
from ..policy import Policy

__all__ = [
    "jsonable",
    "ledger_row",
    "plural",
    "policy_document",
    "policy_tables",
    "requirements",
    "standing_lines",
]


def jsonable(value: Any) -> Any:
    """``value`` (attrs instances, datetimes, sets, tuples, mappings) as JSON data."""
    if attrs.has(type(value)):
        return {f.name: jsonable(getattr(value, f.name)) for f in attrs.fields(type(value))}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, frozenset | set):
        return sorted(jsonable(v) for v in value)
    if isinstance(value, tuple | list):
        return [jsonable(v) for v in value]
    return value


def plural(n: int, word: str) -> str:
    """``"1 payout"``, ``"2 payouts"``, ``"1,250 points"``: ``n`` and ``word``, agreeing."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def requirements(requires: Mapping[str, int]) -> str:
    """``{"reputation": 100, "solutions": 2}`` as ``"100 reputation, 2 solutions"``."""
    return ", ".join(f"{n:,} {metric.replace('_', ' ')}" for metric, n in requires.items()) or "-"


def standing_lines(s: Standing) -> list[str]:
    """A member's standing in a few lines a person reads."""
    lines = [
        f"{s.member} ({s.role}): {plural(s.points, 'point')} this period ({s.period}), "
        f"{s.lifetime_points:,} lifetime, {s.reputation:,} reputation"
    ]
    if s.pending_points:
        lines.append(
            f"  pending    {plural(s.pending_points, 'point')} (e.g. referrals not yet qualified)"
        )
    if s.rank:
        lines.append(f"  rank       {s.rank}")
    if s.next_rank:
        lines.append(f"  next rank  {s.next_rank}")
    if s.badges:
        lines.append(f"  badges     {', '.join(s.badges)}")
    if s.privileges:
        lines.append(f"  may        {', '.join(sorted(s.privileges))}")
    if s.votes_left is not None:
        lines.append(f"  idea votes {s.votes_left} left")
    counts = ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in sorted(s.counters.items()) if v)
    if counts:
        lines.append(f"  counted    {counts}")
    return lines


def ledger_row(line: LedgerEntry) -> tuple[str, str, str, str]:
    """``(date, signed amount, account, reason)`` of a ledger line."""
    reason = line.reason + (f" (reverses {line.reverses})" if line.reverses else "")
    return (f"{line.at:%Y-%m-%d}", f"{line.amount:+,}", line.account, reason)


def policy_document(policy: Policy) -> dict[str, Any]:
    """The whole policy as JSON data."""
    document: dict[str, Any] = jsonable(policy)
    return document


def policy_tables(policy: Policy) -> list[tuple[str, list[str], list[list[str]]]]:
    """The policy as titled tables: ``(title, columns, rows)``."""
    money = policy.payback
    tables: list[tuple[str, list[str], list[list[str]]]] = [
        (
            "Rewards",
            ["action", "points", "reputation"],
            [
                [action, f"{r.points:+,}", f"{r.reputation:+,}"]
                for action, r in policy.rewards.items()
            ],
        ),
        (
            "Caps",
            ["account", "per", "limit", "actions"],
            [
                [c.account, c.per, f"{c.limit:,}", ", ".join(c.actions) or "all"]
                for c in policy.caps
            ],
        ),
        (
            "Ranks",
            ["rank", "requires"],
            [[r.name, requirements(r.requires)] for r in policy.recognition.ranks],
        ),
        (
            "Badges",
            ["badge", "earned for"],
            [[b.name, _badge_rule(b)] for b in policy.recognition.badges],
        ),
        (
            "Privileges",
            ["privilege", "requires"],
            [[p.name, _needs(p.requires, p.rank)] for p in policy.recognition.privileges],
        ),
    ]
    rate = money.rate
    payback_rows = [
        ["paid out", "yes" if money.enabled else "no"],
        [
            "rate",
            f"{plural(rate.points, 'point')} = {money.format(rate.minor_units)}",
        ],
        ["rounding", money.rounding],
        ["minimum", money.format(money.minimum) if money.minimum else "none"],
        ["maximum", money.format(money.maximum) if money.maximum else "none"],
        ["below the minimum", money.below_minimum],
        ["carried over at most", plural(money.carry_overs, "time")],
        ["default method", money.default_method or "none (members choose)"],
    ]
    payback_rows += [
        [f"bonus over {t.above:,} points", f"+{t.percent}%"] for t in money.bonus_tiers
    ]
    tables.append(("Payback conversion", ["rule", "value"], payback_rows))
    periods = policy.periods
    tables.append(
        (
            "Payback periods",
            ["rule", "value"],
            [
                ["kind", periods.kind],
                ["first month", _MONTHS[periods.start_month - 1]],
                ["time zone", periods.timezone],
                *[
                    [f"named {r.id}", f"{r.start:%Y-%m-%d} to {r.end:%Y-%m-%d}"]
                    for r in periods.ranges
                ],
            ],
        )
    )
    tables.append(
        (
            "Payout methods",
            ["method", "minimum", "uplift", "match", "fallback"],
            [
                [
                    name,
                    money.format(m.minimum),
                    f"{m.uplift_percent}%",
                    f"{m.match_percent}%",
                    m.fallback or "-",
                ]
                for name, m in money.methods.items()
            ],
        )
    )
    return tables


_MONTHS = [calendar.month_name[m] for m in range(1, 13)]

_FIRST = {
    "member-joined": "joining",
    "topic-posted": "topic posted",
    "reply-posted": "reply posted",
    "kudos-given": "kudos given",
    "kudos-withdrawn": "kudos withdrawn",
    "down-voted": "down-vote cast",
    "down-vote-withdrawn": "down-vote withdrawn",
    "solution-accepted": "solution accepted (as the asker)",
    "solution-unaccepted": "solution unaccepted",
    "idea-voted": "vote on an idea",
    "idea-vote-withdrawn": "idea vote withdrawn",
}
"""How ``policy show`` words a ``first`` badge rule's event type."""


def _needs(requires: Mapping[str, int], rank: str | None) -> str:
    """A privilege's requirements: ``"100 reputation, rank Gold Star"``, or ``"-"``."""
    parts = [requirements(requires)] if requires else []
    parts += [f"rank {rank}"] if rank else []
    return ", ".join(parts) or "-"


def _badge_rule(badge: Any) -> str:
    if badge.first:
        return f"the first {_FIRST.get(badge.first, badge.first + ' event')}"
    if badge.reply_within_minutes is not None:
        return f"a reply within {badge.reply_within_minutes} minutes of a question"
    what = (badge.metric or f"custom rule {badge.custom}").replace("_", " ")
    if badge.levels:
        return f"{what}: " + ", ".join(f"{level} {n:,}" for level, n in badge.levels.items())
    return f"{badge.threshold:,} {what}"
