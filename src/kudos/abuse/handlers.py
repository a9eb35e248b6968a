"""The engine half of abuse handling: finding serial kudos and reversing what they paid."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ..engine.core import Context, handles
from ..events import KudosGiven, SerialVotesReversed
from ..stores.protocol import Transaction
from .rules import SerialVoting

_PAID_BY_KUDOS = ("kudos_on_reply", "kudos_on_topic")


def _bounds(policy: Any, day: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(policy.periods.timezone)
    start = datetime.combine(date.fromisoformat(day), time(), tzinfo=zone)
    return start, datetime.combine(start.date() + timedelta(days=1), time(), tzinfo=zone)


def detect(tx: Transaction, policy: Any, day: str) -> list[SerialVoting]:
    """Every giver-author pair of ``day`` at or above the policy's serial-vote threshold."""
    threshold = policy.abuse.serial_votes
    if threshold is None:
        return []
    start, end = _bounds(policy, day)
    paid = [
        e
        for e in tx.entries(since=start, until=end)
        if e.action in _PAID_BY_KUDOS and e.reverses is None and e.amount
    ]
    taken = tx.reversed_ids(e.entry_id for e in paid)
    pairs: dict[tuple[str, str], dict[str, bool]] = defaultdict(dict)
    for entry in paid:
        row = tx.get_event(entry.event_id)
        if row is None or row.type != KudosGiven.type:
            continue
        reversed_ = entry.entry_id in taken
        events = pairs[(str(row.payload["giver"]), entry.member)]
        events[entry.event_id] = events.get(entry.event_id, True) and reversed_
    return [
        SerialVoting(
            day=day,
            giver=giver,
            author=author,
            votes=len(events),
            events=tuple(events),
            reversed=all(events.values()),
        )
        for (giver, author), events in sorted(pairs.items())
        if len(events) >= threshold
    ]


@handles(SerialVotesReversed)
def _serial_votes_reversed(ctx: Context, event: SerialVotesReversed) -> None:
    threshold = ctx.policy.abuse.serial_votes
    ctx.require(
        threshold is not None,
        f"policy {ctx.policy.name!r} detects no serial voting; set abuse.serial_votes",
    )
    _, end = _bounds(ctx.policy, event.day)
    ctx.require(
        ctx.at >= end,
        f"day {event.day} has not ended; reverse its serial votes after {end.isoformat()}",
    )
    for found in detect(ctx.tx, ctx.policy, event.day):
        why = (
            f"serial voting: {found.giver} gave {found.author} {found.votes} kudos on "
            f"{found.day} (reversed by {ctx.event_id})"
        )
        for event_id in found.events:
            ctx.reverse_event(event_id, why)
