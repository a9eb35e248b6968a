"""The engine half of policy history: what a policy change books, and replaying the log.

Each fact is valued under the version in force for it (see
:mod:`kudos.history.timeline`); a retroactive change books the difference a
recalculation of history gives.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from ..engine import core as engine
from ..errors import KudosError, NotAllowed
from ..events import PolicyChanged
from ..model import LedgerEntry, Member, PolicyVersion, StoredEvent
from ..stores.memory import MemoryStore
from ..stores.protocol import Transaction
from .rules import fingerprint, from_content, to_json
from .timeline import Timeline

if TYPE_CHECKING:
    from ..policy import Policy

__all__ = ["RECALCULATED", "last_closed_end", "replay", "require_staff"]

RECALCULATED = "policy_recalculated"
"""The ledger action of the lines a retroactive policy change books."""


def last_closed_end(tx: Transaction, policy: Policy) -> datetime | None:
    """The end of the latest closed payback period (``None``: none closed).

    A period whose id ``policy``'s schedule does not know (an earlier version
    cut time differently) is left out.
    """
    ends = []
    for doc in tx.find("period", status="closed"):
        try:
            ends.append(policy.periods.bounds(doc.key)[1])
        except KudosError:
            continue
    return max(ends, default=None)


def require_staff(member: Member, doing: str) -> None:
    """Raise :class:`NotAllowed` unless ``member`` is staff or a moderator."""
    if not member.is_staff:
        raise NotAllowed(f"member {member.id!r} may not {doing}: only staff and moderators can")


@engine.handles(PolicyChanged)
def _policy_changed(ctx: engine.Context, event: PolicyChanged) -> None:
    tx = ctx.tx
    versions = tx.policy_versions()
    ctx.require(
        bool(versions),
        "a policy change needs the community's first policy recorded; "
        "record any fact first, or open the community with the policy to start from",
    )
    require_staff(ctx.member(event.by), "change the policy")
    new = from_content(event.policy)
    effective = datetime.fromisoformat(event.effective)
    end = last_closed_end(tx, ctx.policy)
    if not event.retroactive and end is not None and effective < end:
        raise NotAllowed(
            f"a policy change effective {effective.isoformat()} reaches into a closed payback "
            f"period (the last one closed ended {end.isoformat()}): its points are paid out. "
            "Make it effective at or after that end, or pass retroactive=True to recalculate "
            "history and book the difference now"
        )
    number = len(versions) + 1
    tx.add_policy(
        PolicyVersion(
            version=number,
            content=to_json(new),
            fingerprint=fingerprint(new),
            effective=effective,
            event_id=ctx.event_id,
        )
    )
    if event.retroactive:
        timeline = Timeline(versions)
        difference = _recalculated(tx, ctx.event_id, timeline, number, new, effective)
        ctx.version = number
        why = f"recalculated under policy version {number}"
        if event.reason:
            why = f"{why}: {event.reason}"
        for (member, account, tags), amount in sorted(difference.items()):
            ctx.line(member, account, amount, action=RECALCULATED, reason=why, tags=tags)


def _recalculated(
    tx: Transaction,
    event_id: str,
    timeline: Timeline,
    number: int,
    new: Policy,
    effective: datetime,
) -> dict[tuple[str, str, tuple[str, ...]], int]:
    """Per (member, account, tags), what replaying history under the new rules adds (or takes).

    Keyed by the tags the awards carried, so the lines booked keep every tag
    board equal to a recalculation's (the booking time and period are now's:
    time-window and period boards count the difference when it is booked).

    Every fact before this change is replayed in log order, valued under the
    new policy from ``effective`` on and under the version it had before
    that; facts the rules in force refuse are left out. Earlier policy
    changes are not replayed (their recalculations are what this one
    supersedes), and settlements (payouts, carry-overs) count on neither
    side: points paid out stay paid, and the difference is booked now.
    """
    scratch = MemoryStore()
    seen = 1
    for row in tx.events():
        if row.event_id == event_id:
            continue
        if row.type == PolicyChanged.type:
            seen += 1
            continue
        fact = engine.stored_to_event(row)
        assert fact.at is not None
        if fact.at >= effective:
            version, policy = number, new
        else:
            version, policy = timeline.at(fact.at, upto=seen)
        try:
            with scratch.transaction(tx.community) as one:
                engine.apply(one, policy, fact, notify=False, trusted=True, version=version)
        except KudosError:
            continue  # the rules in force refuse it now: it earns nothing
    with scratch.transaction(tx.community) as stx:
        want = _earned(stx.entries())
    have = _earned(tx.entries())
    return {k: want[k] - have[k] for k in set(want) | set(have) if want[k] != have[k]}


def _earned(entries: Iterable[LedgerEntry]) -> Counter[tuple[str, str, tuple[str, ...]]]:
    totals: Counter[tuple[str, str, tuple[str, ...]]] = Counter()
    for e in entries:
        if not engine.is_settlement(e.action):
            totals[(e.member, e.account, tuple(e.tags))] += e.amount
    return totals


def replay(
    rows: Iterable[StoredEvent],
    versions: Sequence[PolicyVersion],
    into: Transaction,
    *,
    fallback: Policy,
    what: str = "the replay",
) -> int:
    """Apply the logged ``rows`` in order to ``into``, each under the version in force for it.

    What ``rebuild`` replays, and what recording did: version 1 of
    ``versions`` first (``fallback`` for a store that never recorded one), and
    each policy change adds its version as it is replayed. Privileges are not
    checked again and nothing is notified. Returns how many rows were applied.

    Raises:
        KudosError: a row the rules refuse; the same class, its message
            prefixed with ``what`` and the event (id, type, time) it stopped at.
    """
    if versions:
        into.add_policy(versions[0])
        timeline = Timeline(versions[:1])
    else:
        timeline = Timeline((), fallback)
    count = 0
    for row in rows:
        event = engine.stored_to_event(row)
        assert event.at is not None
        version, policy = timeline.at(event.at)
        try:
            engine.apply(into, policy, event, notify=False, trusted=True, version=version)
        except KudosError as exc:
            raise type(exc)(
                f"{what} stopped at event {row.event_id!r} ({row.type}, "
                f"{row.at.isoformat()}): {exc}"
            ) from exc
        if row.type == PolicyChanged.type:
            timeline = Timeline(into.policy_versions())
        count += 1
    return count
