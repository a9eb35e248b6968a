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
    if any(new.periods != p.periods for p in (ctx.policy, Timeline(versions).current)) and (
        tx.find("period", status="closed", limit=1)
    ):
        raise NotAllowed(
            "a policy change may not cut time into payback periods differently once a period "
            "has been closed: the closed periods' ids, their payouts and where late facts are "
            "booked follow the scheme they were closed under. Keep the periods setting of the "
            "policy in force"
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
        _book_recalculation(ctx, Timeline(versions), number, new, effective, event.reason)


LineKey = tuple[str, str, str, str, str | None, tuple[str, ...]]
"""What a recalculation compares: (fact's event id, member, account, action, subject, tags)."""


def _book_recalculation(
    ctx: engine.Context,
    timeline: Timeline,
    number: int,
    new: Policy,
    effective: datetime,
    reason: str,
) -> None:
    """Book, per ledger line a recalculation revalues, the difference it gives.

    Each ``policy_recalculated`` line carries the revalued line's member,
    account, subject and tags, is dated at that line's time (so period and window
    boards count it where the line counts) and is recorded as referencing
    it (a ``recalculated`` document keyed by the line's entry id): reversing
    the line later takes back the difference lines that reference it too.
    A line the new rules give where the old ones gave none references the
    same fact's line for that member and action in the other account, and,
    when there is none either (an action once worth nothing at all), the fact
    itself: reversing the fact's event takes it back.
    """
    tx = ctx.tx
    want, times = _scratch_lines(tx, ctx.event_id, timeline, number, new, effective)
    have, anchors, booked_at = _stored_lines(tx)
    ctx.version = number
    why = f"recalculated under policy version {number}"
    if reason:
        why = f"{why}: {reason}"
    recorded: dict[str, list[str]] = {}
    facts: dict[str, list[str | None]] = {}
    for key in sorted(set(want) | set(have), key=_order):
        amount = want[key] - have[key]
        if not amount:
            continue
        event_id, member, account, action, subject, tags = key
        anchor = anchors.get(key) or anchors.get(_loose(key))
        # A key only earlier recalculations booked (no line of the fact itself, none in
        # the replay either) is dated as they were.
        at = anchor.at if anchor is not None else times.get(key) or booked_at[key]
        line = ctx.line(
            member,
            account,
            amount,
            action=RECALCULATED,
            reason=why,
            subject=subject,
            tags=tags,
            at=at,
        )
        facts[line.entry_id] = [event_id, action, subject, anchor.entry_id if anchor else None]
        target = anchor.entry_id if anchor is not None else engine.revalued_fact(event_id)
        recorded.setdefault(target, []).append(line.entry_id)
    for anchor_id, lines in recorded.items():
        known = tx.get(REFERENCES, anchor_id)
        earlier = list(known.data["lines"]) if known is not None else []
        ctx.put(REFERENCES, anchor_id, {"lines": earlier + lines})
    if facts:
        ctx.put(RECALCULATION, ctx.event_id, {"lines": facts})


REFERENCES = engine.REVALUED_BY

RECALCULATION = "policy_recalculation"
"""Documents keyed by a retroactive change's event id: per line it booked, the
revalued key's fact event id, action and subject, and the entry it revalues (or ``None``)."""


def _loose(key: LineKey) -> LineKey:
    """``key`` in any account: a line of the same fact, member and action in the other
    account references a difference where the line's own account had none."""
    return (key[0], key[1], "", key[3], key[4], key[5])


def _order(key: LineKey) -> tuple[str, str, str, str, str, tuple[str, ...]]:
    return (*key[:4], key[4] or "", key[5])


def _scratch_lines(
    tx: Transaction,
    event_id: str,
    timeline: Timeline,
    number: int,
    new: Policy,
    effective: datetime,
) -> tuple[Counter[LineKey], dict[LineKey, datetime]]:
    """What replaying history under the new rules books, per line key (and each key's time).

    Every fact before this change is replayed in log order, valued under the
    new policy from ``effective`` on and under the version it had before
    that. A fact the log holds that those rules refuse stops the change
    (:class:`NotAllowed`, naming the fact and the reason): nothing is booked
    for it silently. Earlier policy
    changes are not replayed (their recalculations are what this one
    supersedes), and settlements (payouts, carry-overs) count on neither
    side: points paid out stay paid.
    """
    scratch = MemoryStore()
    seen = 1
    totals: Counter[LineKey] = Counter()
    times: dict[LineKey, datetime] = {}
    # One transaction for the whole replay (a refused fact ends it, and the scratch with
    # it): what the engine learns in a transaction carries from one fact to the next.
    with scratch.transaction(tx.community) as one:
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
                engine.apply(
                    one, policy, fact, notify=False, trusted=True, version=version, stored=row
                )
            except KudosError as exc:
                raise NotAllowed(
                    f"the recalculation stops at event {row.event_id!r} ({row.type}, "
                    f"{row.at.isoformat()}), which the log holds but the rules it would be "
                    f"valued under refuse: {exc}. Nothing was changed: make the change "
                    "effective after that fact, or not retroactive"
                ) from exc
        for e in one.entries():
            if not engine.is_settlement(e.action):
                key = (e.event_id, e.member, e.account, e.action, e.subject, tuple(e.tags))
                totals[key] += e.amount
                times.setdefault(key, e.at)
    return totals, times


def _stored_lines(
    tx: Transaction,
) -> tuple[Counter[LineKey], dict[LineKey, LedgerEntry], dict[LineKey, datetime]]:
    """What the ledger holds per line key, earlier recalculations counted with the line
    they revalue (and their reversals with the reversing fact); each key's first line;
    and the time of each key's first recalculated line."""
    entries = [e for e in tx.entries() if not engine.is_settlement(e.action)]
    booked: dict[str, list[str | None]] = {}
    for doc in tx.find(RECALCULATION):
        booked.update({k: list(v) for k, v in doc.data["lines"].items()})
    totals: Counter[LineKey] = Counter()
    anchors: dict[LineKey, LedgerEntry] = {}
    recalculated_at: dict[LineKey, datetime] = {}
    for e in entries:
        tags = tuple(e.tags)
        if e.action != RECALCULATED:
            key: LineKey = (e.event_id, e.member, e.account, e.action, e.subject, tags)
            anchors.setdefault(key, e)
            anchors.setdefault(_loose(key), e)
        else:
            # A recalculated line counts with the fact it revalues, its reversal with
            # the fact that reversed it; one given again (a restored post) with the
            # fact that gave it again.
            fact = booked.get(e.entry_id if e.reverses is None else e.reverses)
            if fact is None:
                key = (e.event_id, e.member, e.account, RECALCULATED, e.subject, tags)
            else:
                event_id = str(fact[0]) if e.reverses is None else e.event_id
                key = (event_id, e.member, e.account, str(fact[1]), e.subject, tags)
            recalculated_at.setdefault(key, e.at)
        totals[key] += e.amount
    return totals, anchors, recalculated_at


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
            engine.apply(
                into, policy, event, notify=False, trusted=True, version=version, stored=row
            )
        except KudosError as exc:
            raise type(exc)(
                f"{what} stopped at event {row.event_id!r} ({row.type}, "
                f"{row.at.isoformat()}): {exc}"
            ) from exc
        if row.type == PolicyChanged.type:
            timeline = Timeline(into.policy_versions())
        count += 1
    return count
