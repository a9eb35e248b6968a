"""The engine half of abuse handling: finding serial kudos and vote rings, reversing what
they paid, indexing fingerprints, and the review queue.

Detection reads the ledger: a kudos counts when it paid its author something
(a ``kudos_on_reply`` or ``kudos_on_topic`` line of a ``KudosGiven`` event). Votes
that paid nothing (a limit, a cap that held it all back, a wiki post) have
nothing to reverse and are left out. Documents kept (rebuilt exactly by replay):

* ``ring_reversed``: ``<period>:<members>`` -> who reversed the ring, why and
  by which event (status = the period).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import attrs

from ..engine.core import Context, after_event, day_of, handles
from ..events import (
    FingerprintsReported,
    KudosGiven,
    MemberJoined,
    SerialVotesReversed,
    VoteRingReversed,
    key_of,
)
from ..forum.handlers import vote_key
from ..model import LedgerEntry
from ..payback.holds import HOLD, holds_at
from ..payback.rules import payout_key
from ..referrals.handlers import _add_fingerprints
from ..stores.protocol import Transaction
from .limits import LIMITED
from .rules import AbuseReport, LimitedVote, PayoutReview, SerialVoting, VoteRing

_PAID_BY_KUDOS = ("kudos_on_reply", "kudos_on_topic")
_KUDOS_LINES = (*_PAID_BY_KUDOS, "kudos_given")


@attrs.frozen
class _Vote:
    """One kudos that paid its author: who gave it to whom, when, and what it paid."""

    event_id: str
    giver: str
    author: str
    post: str
    at: datetime
    points: int
    reversed: bool


def _bounds(policy: Any, day: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(policy.periods.timezone)
    start = datetime.combine(date.fromisoformat(day), time(), tzinfo=zone)
    return start, datetime.combine(start.date() + timedelta(days=1), time(), tzinfo=zone)


def _paid_votes(tx: Transaction, entries: Iterable[LedgerEntry]) -> list[_Vote]:
    """The kudos among ``entries`` that paid their author, in log order."""
    lines: dict[str, list[LedgerEntry]] = defaultdict(list)
    for e in entries:
        if e.action in _KUDOS_LINES and e.reverses is None and e.amount:
            lines[e.event_id].append(e)
    taken = tx.reversed_ids(e.entry_id for found in lines.values() for e in found)
    votes = []
    for event_id, found in lines.items():
        paid = [e for e in found if e.action in _PAID_BY_KUDOS]
        if not paid:
            continue
        row = tx.get_event(event_id)
        if row is None or row.type != KudosGiven.type:
            continue
        votes.append(
            _Vote(
                event_id=event_id,
                giver=str(row.payload["giver"]),
                author=paid[0].member,
                post=str(row.payload["post"]),
                at=paid[0].at,
                points=sum(e.amount for e in found if e.account == "points"),
                reversed=all(e.entry_id in taken for e in paid),
            )
        )
    return votes


def _serial(policy: Any, votes: Iterable[_Vote]) -> list[SerialVoting]:
    """The serial kudos among ``votes``, by day, giver and author."""
    threshold = policy.abuse.serial_votes
    if threshold is None:
        return []
    groups: dict[tuple[str, str, str], list[_Vote]] = defaultdict(list)
    for vote in votes:
        groups[(day_of(policy, vote.at), vote.giver, vote.author)].append(vote)
    return [
        SerialVoting(
            day=day,
            giver=giver,
            author=author,
            votes=len(found),
            events=tuple(v.event_id for v in found),
            reversed=all(v.reversed for v in found),
            points=sum(v.points for v in found),
        )
        for (day, giver, author), found in sorted(groups.items())
        if len(found) >= threshold
    ]


def detect(tx: Transaction, policy: Any, day: str) -> list[SerialVoting]:
    """Every giver-author pair of ``day`` at or above the policy's serial-vote threshold."""
    if policy.abuse.serial_votes is None:
        return []
    start, end = _bounds(policy, day)
    return _serial(policy, _paid_votes(tx, tx.entries(since=start, until=end)))


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


# --- vote rings -------------------------------------------------------------------------


def _standing(tx: Transaction, vote: _Vote) -> bool:
    """Whether the kudos is still given (not withdrawn, nor given again under a new id)."""
    doc = tx.get("kudos", vote_key(vote.post, vote.giver))
    return doc is not None and bool(doc.data["active"]) and doc.data["event_id"] == vote.event_id


def rings(
    tx: Transaction, policy: Any, period: str, votes: list[_Vote] | None = None
) -> list[VoteRing]:
    """The vote rings of ``period`` under ``policy.abuse`` (none when detection is off).

    ``votes`` are the period's paid kudos, when the caller has read them already.
    """
    if policy.abuse.ring_size is None:
        return []
    if votes is None:
        votes = _paid_votes(tx, tx.entries(period=period))
    return find_rings(period, [v for v in votes if _standing(tx, v)], policy.abuse)


def find_rings(period: str, votes: list[_Vote], rules: Any) -> list[VoteRing]:
    """The maximal groups of 2..``rules.ring_size`` members that pass the ring test.

    Pure and deterministic: members are visited in sorted order, and a group is
    grown only from its smallest member along the kudos its members gave, so
    each group is looked at once per seed and the result never depends on the
    order of ``votes``.
    """
    size, share, least = rules.ring_size, rules.ring_share, rules.ring_votes
    given: Counter[str] = Counter(v.giver for v in votes)
    pairs: Counter[tuple[str, str]] = Counter((v.giver, v.author) for v in votes)
    out: dict[str, set[str]] = defaultdict(set)
    for giver, author in pairs:
        out[giver].add(author)

    def passes(member: str, inside: int) -> bool:
        return bool(inside >= least and inside * 100 >= share * given[member])

    # A ring member gives the rest of the group (at most size - 1 others) enough kudos.
    candidates = {
        m
        for m in given
        if passes(m, sum(sorted((pairs[(m, a)] for a in out[m]), reverse=True)[: size - 1]))
    }

    def inside(member: str, group: frozenset[str]) -> int:
        return sum(pairs[(member, other)] for other in group if other != member)

    def connected(group: frozenset[str]) -> bool:
        for start in group:
            seen, todo = {start}, [start]
            while todo:
                for n in out[todo.pop()] & group:
                    if n not in seen:
                        seen.add(n)
                        todo.append(n)
            if seen != group:
                return False
        return True

    found: set[frozenset[str]] = set()
    for seed in sorted(candidates):
        seen: set[frozenset[str]] = set()
        todo = [frozenset([seed])]
        while todo:
            group = todo.pop()
            if group in seen:
                continue
            seen.add(group)
            if (
                len(group) >= 2
                and all(passes(m, inside(m, group)) for m in group)
                and connected(group)
            ):
                found.add(group)
            if len(group) < size:
                todo.extend(
                    group | {n}
                    for m in group
                    for n in out[m]
                    if n in candidates and n > seed and n not in group
                )
    result = []
    for group in found:
        if any(group < other for other in found):
            continue
        members = tuple(sorted(group))
        within = [v for v in votes if v.giver in group and v.author in group]
        result.append(
            VoteRing(
                period=period,
                members=members,
                votes=len(within),
                events=tuple(v.event_id for v in within),
                shares={m: inside(m, group) * 100 // given[m] for m in members},
                points=sum(v.points for v in within),
                reversed=all(v.reversed for v in within),
            )
        )
    return sorted(result, key=lambda r: r.members)


@handles(VoteRingReversed)
def _ring_reversed(ctx: Context, event: VoteRingReversed) -> None:
    ctx.require(
        ctx.policy.abuse.ring_size is not None,
        f"policy {ctx.policy.name!r} detects no vote rings; set abuse.ring_size",
    )
    ctx.require(
        ctx.member(event.by).is_staff,
        f"member {event.by!r} may not reverse vote rings: only staff and moderators can",
    )
    ctx.policy.periods.bounds(event.period)
    found = next(
        (r for r in rings(ctx.tx, ctx.policy, event.period) if r.members == event.members),
        None,
    )
    ctx.require(
        found is not None,
        f"{', '.join(event.members)} are not a vote ring of {event.period}; "
        f"community.vote_rings({event.period!r}) lists the rings the policy flags",
    )
    assert found is not None
    why = (
        f"vote ring {', '.join(found.members)} in {event.period}: {event.reason} "
        f"(reversed by {event.by}, {ctx.event_id})"
    )
    for event_id in found.events:
        ctx.reverse_event(event_id, why)
    ctx.put(
        "ring_reversed",
        key_of(event.period, *event.members),
        {"members": list(event.members), "by": event.by, "reason": event.reason},
        ref=ctx.event_id,
        status=event.period,
    )


# --- fingerprints --------------------------------------------------------------------------


@handles(FingerprintsReported)
def _fingerprints_reported(ctx: Context, event: FingerprintsReported) -> None:
    ctx.member(event.member)
    _add_fingerprints(ctx, event.member, event.fingerprints)


@after_event
def _joined_with_fingerprints(ctx: Context) -> None:
    """Index a newcomer's fingerprints even where no referral programme reads them."""
    event = ctx.event
    if isinstance(event, MemberJoined) and event.fingerprints:
        _add_fingerprints(ctx, event.member, event.fingerprints)


# --- the review queue --------------------------------------------------------------------


def _when(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def report(tx: Transaction, policy: Any, period: str) -> AbuseReport:
    """Everything :meth:`AbuseAPI.abuse_report` lists for ``period``."""
    votes = _paid_votes(tx, tx.entries(period=period))
    serial = _serial(policy, votes)
    found_rings = rings(tx, policy, period, votes)
    live = {v.event_id: v.points for v in votes if not v.reversed}
    flagged = {e for s in serial for e in s.events} | {e for r in found_rings for e in r.events}
    limited = [
        LimitedVote(
            event_id=d.key,
            giver=d.data["giver"],
            author=d.data["author"],
            post=d.data["post"],
            rule=d.data["rule"],
            why=d.data["why"],
            points=d.data["points"],
            at=datetime.fromisoformat(d.data["at"]),
        )
        for d in tx.find(LIMITED, status=period)
    ]
    docs = {d.key: d for d in tx.find(HOLD) if d.data.get("period") == period}
    docs.update({d.key: d for d in holds_at(tx, policy, period).values()})
    reviews = []
    for doc in sorted(docs.values(), key=lambda d: (d.data["period"], d.data["member"])):
        d = doc.data
        payout = tx.get("payout", payout_key(d["period"], d["member"]))
        points = (
            int(payout.data["points"])
            if payout is not None and payout.status in ("held", "released")
            else tx.counter("points", d["period"], d["member"])
        )
        reviews.append(
            PayoutReview(
                member=d["member"],
                period=d["period"],
                held_by=d["held_by"],
                reason=d["held_reason"],
                held_at=datetime.fromisoformat(d["held_at"]),
                points=points,
                released=doc.status == "released",
                released_by=d.get("released_by"),
                released_at=_when(d.get("released_at")),
            )
        )
    return AbuseReport(
        period=period,
        serial_votes=tuple(serial),
        rings=tuple(found_rings),
        limited_votes=tuple(sorted(limited, key=lambda v: (v.at, v.event_id))),
        reviews=tuple(reviews),
        points=sum(live.get(e, 0) for e in flagged),
    )
