"""kudos's values as lines, tables and JSON for the ``kudos`` command (and its demo)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from ..model import LedgerEntry, Standing, StatementLine
from ..policy import Policy

__all__ = [
    "jsonable",
    "ledger_row",
    "plural",
    "policy_document",
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
    """``(date, signed amount, account, why)`` of a ledger line (a statement line's words)."""
    if isinstance(line, StatementLine):
        reason = line.text.partition(": ")[2]
    else:
        reason = line.reason + (f" (reverses {line.reverses})" if line.reverses else "")
    return (f"{line.at:%Y-%m-%d}", f"{line.amount:+,}", line.account, reason)


def policy_document(policy: Policy) -> dict[str, Any]:
    """The whole policy as JSON data (:meth:`~kudos.Policy.to_dict`; ``--policy`` reads it back)."""
    return policy.to_dict()
