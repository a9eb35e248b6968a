"""The engine half of abuse handling: finding serial kudos and vote rings, reversing what
they paid, indexing fingerprints, and the review queue.

Detection reads the ledger: a kudos counts when it earned its author an award
(a ``kudos_on_reply`` or ``kudos_on_topic`` line of a ``KudosGiven`` event), paid or
held back by a cap, and still stands. Kudos a limit made pay nothing and
withdrawn kudos are left out. Abuse reversals are booked in the reversed award's
period while it is open (:attr:`Context.reverse_in_own_period`).

Documents kept (rebuilt exactly by replay):

* ``ring_reversed``: ``<period>:<members>`` -> who reversed the ring, why, the
  kudos reversed and how many times (``gen``) (ref = the event, status = the period);
* ``abuse_undone``: kudos event id -> why an abuse reversal took it back
  (status = its period).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import attrs

from ..engine import core as engine
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
from ..payback.holds import HOLD, covering
from ..payback.rules import payout_key
from ..referrals.handlers import _add_fingerprints
from ..stores.protocol import Transaction
from .limits import LIMITED
from .rules import AbuseReport, LimitedVote, PayoutReview, SerialVoting, VoteRing

_PAID_BY_KUDOS = ("kudos_on_reply", "kudos_on_topic")
_KUDOS_LINES = (*_PAID_BY_KUDOS, "kudos_given")


@attrs.frozen
class _Vote:
    """One standing kudos that earned its author an award (paid, or held back by a cap).

    ``points`` is what its lines booked in points; ``kept`` what of that the
    entries read still keep (``points`` less the reversals among them).
    """

    event_id: str
    giver: str
    author: str
    post: str
    at: datetime
    points: int
    reversed: bool
    kept: int = 0
    period: str = ""


def _bounds(policy: Any, day: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(policy.periods.timezone)
    start = datetime.combine(date.fromisoformat(day), time(), tzinfo=zone)
    return start, datetime.combine(start.date() + timedelta(days=1), time(), tzinfo=zone)


UNDONE = "abuse_undone"
"""Kudos an abuse reversal took back: key = the kudos's event id, status = its period.

A kudos a cap held back entirely books no reversal line (it had nothing); this
document is how detection knows it was reversed all the same."""


def _votes(tx: Transaction, entries: Iterable[LedgerEntry]) -> list[_Vote]:
    """The standing kudos among ``entries`` that earned their author an award, in log order.

    Kudos a cap held back (0 lines) count as much as paid ones; kudos a limit
    made pay nothing (see :mod:`kudos.abuse.limits`) and withdrawn kudos do not.
    """
    lines: dict[str, list[LedgerEntry]] = defaultdict(list)
    undone: dict[str, int] = defaultdict(int)
    for e in entries:
        if e.action in _KUDOS_LINES:
            if e.reverses is None:
                lines[e.event_id].append(e)
            elif e.account == "points":
                undone[e.reverses] += e.amount
    periods = {e.period for found in lines.values() for e in found}
    limited = {d.key for p in periods for d in tx.find(LIMITED, status=p)}
    marked = {d.key for p in periods for d in tx.find(UNDONE, status=p)}
    taken = tx.reversed_ids(e.entry_id for found in lines.values() for e in found if e.amount)
    votes = []
    for event_id, found in lines.items():
        paid = [e for e in found if e.action in _PAID_BY_KUDOS]
        if not paid or event_id in limited:
            continue
        row = tx.get_event(event_id)
        if row is None or row.type != KudosGiven.type:
            continue
        post, giver = str(row.payload["post"]), str(row.payload["giver"])
        doc = tx.get("kudos", vote_key(post, giver))
        if doc is None or not doc.data["active"] or doc.data["event_id"] != event_id:
            continue  # withdrawn, or given again under a new id
        owed = [e for e in paid if e.amount]
        points = sum(e.amount for e in found if e.account == "points")
        votes.append(
            _Vote(
                event_id=event_id,
                giver=giver,
                author=paid[0].member,
                post=post,
                at=paid[0].at,
                points=points,
                reversed=event_id in marked
                or (bool(owed) and all(e.entry_id in taken for e in owed)),
                kept=points
                + sum(undone.get(e.entry_id, 0) for e in found if e.account == "points"),
                period=paid[0].period,
            )
        )
    return votes


def _reverse_votes(ctx: Context, votes: Iterable[tuple[str, str]], why: str) -> None:
    """Reverse every award of each ``(event id, period)`` kudos, in its own open period."""
    ctx.reverse_in_own_period = True
    for event_id, period in votes:
        ctx.reverse_event(event_id, why)
        ctx.put(UNDONE, event_id, {"why": why}, status=period)
    ctx.reverse_in_own_period = False


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
    return _serial(policy, _votes(tx, tx.entries(since=start, until=end)))


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
    start, _ = _bounds(ctx.policy, event.day)
    votes = _votes(ctx.tx, ctx.tx.entries(since=start, until=end))
    period_of_vote = {v.event_id: v.period for v in votes}
    for found in _serial(ctx.policy, votes):
        why = (
            f"serial voting: {found.giver} gave {found.author} {found.votes} kudos on "
            f"{found.day} (reversed by {ctx.event_id})"
        )
        _reverse_votes(ctx, ((e, period_of_vote[e]) for e in found.events), why)


# --- vote rings -------------------------------------------------------------------------


@attrs.frozen
class _Graph:
    """Who gave whom how many of ``votes``: what the ring test reads."""

    votes: list[_Vote]
    given: Counter[str]
    pairs: Counter[tuple[str, str]]
    out: dict[str, set[str]]

    @classmethod
    def of(cls, votes: list[_Vote]) -> _Graph:
        pairs: Counter[tuple[str, str]] = Counter((v.giver, v.author) for v in votes)
        out: dict[str, set[str]] = defaultdict(set)
        for giver, author in pairs:
            out[giver].add(author)
        return cls(votes, Counter(v.giver for v in votes), pairs, out)

    def inside(self, member: str, group: Iterable[str]) -> int:
        return sum(self.pairs[(member, other)] for other in group if other != member)

    def needed(self, rules: Any, member: str) -> int:
        """The kudos ``member`` must give the rest of a group for it to be a ring."""
        return int(max(rules.ring_votes, -(-rules.ring_share * self.given[member] // 100)))

    def passes(self, rules: Any, member: str, inside: int) -> bool:
        return inside >= self.needed(rules, member)

    def connected(self, group: frozenset[str]) -> bool:
        for start in group:
            seen, todo = {start}, [start]
            while todo:
                for n in self.out[todo.pop()] & group:
                    if n not in seen:
                        seen.add(n)
                        todo.append(n)
            if seen != group:
                return False
        return True

    def is_ring(self, rules: Any, group: frozenset[str]) -> bool:
        return (
            2 <= len(group) <= rules.ring_size
            and all(self.passes(rules, m, self.inside(m, group)) for m in group)
            and self.connected(group)
        )

    def ring(self, period: str, group: frozenset[str]) -> VoteRing:
        members = tuple(sorted(group))
        within = [v for v in self.votes if v.giver in group and v.author in group]
        return VoteRing(
            period=period,
            members=members,
            votes=len(within),
            events=tuple(v.event_id for v in within),
            shares={m: self.inside(m, group) * 100 // self.given[m] for m in members},
            points=sum(v.points for v in within),
            reversed=all(v.reversed for v in within),
        )

    def components(self, members: set[str]) -> list[set[str]]:
        """The strongly connected components of the kudos among ``members`` (Tarjan)."""
        index: dict[str, int] = {}
        low: dict[str, int] = {}
        stack: list[str] = []
        on: set[str] = set()
        found: list[set[str]] = []
        for root in sorted(members):
            if root in index:
                continue
            work = [(root, iter(sorted(self.out[root] & members)))]
            index[root] = low[root] = len(index)
            stack.append(root)
            on.add(root)
            while work:
                node, edges = work[-1]
                nxt = next((n for n in edges if n not in index or n in on), None)
                if nxt is not None:
                    if nxt in index:
                        low[node] = min(low[node], index[nxt])
                    else:
                        index[nxt] = low[nxt] = len(index)
                        stack.append(nxt)
                        on.add(nxt)
                        work.append((nxt, iter(sorted(self.out[nxt] & members))))
                    continue
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    part = set()
                    while True:
                        m = stack.pop()
                        on.discard(m)
                        part.add(m)
                        if m == node:
                            break
                    found.append(part)
        return found

    def candidates(self, rules: Any) -> list[set[str]]:
        """The groups of members a ring can lie in: pruned until nothing more goes.

        A ring member gives at most ``ring_size - 1`` others, all in their own
        strongly connected component of candidates, enough of their kudos; a
        member who cannot is no candidate, and removing them may split a
        component and disqualify others, so this repeats until it is stable.
        """
        size = rules.ring_size
        alive = set(self.given)
        while True:
            parts = [p for p in self.components(alive) if len(p) >= 2]
            part_of = {m: i for i, p in enumerate(parts) for m in p}
            keep = {
                m
                for m in part_of
                if self.passes(
                    rules,
                    m,
                    sum(
                        sorted(
                            (
                                self.pairs[(m, a)]
                                for a in self.out[m]
                                if part_of.get(a) == part_of[m]
                            ),
                            reverse=True,
                        )[: size - 1]
                    ),
                )
            }
            if keep == alive:
                return parts
            alive = keep


def _group_votes(tx: Transaction, period: str) -> list[_Vote]:
    return _votes(tx, tx.entries(period=period))


def rings(
    tx: Transaction, policy: Any, period: str, votes: list[_Vote] | None = None
) -> list[VoteRing]:
    """The vote rings of ``period`` under ``policy.abuse`` (none when detection is off).

    ``votes`` are the period's standing kudos, when the caller has read them already.
    """
    if policy.abuse.ring_size is None:
        return []
    if votes is None:
        votes = _group_votes(tx, period)
    return find_rings(period, votes, policy.abuse)


def find_rings(period: str, votes: list[_Vote], rules: Any) -> list[VoteRing]:
    """The maximal groups of 2..``rules.ring_size`` members that pass the ring test.

    Pure and deterministic. Members who cannot be in any ring are pruned first
    (see :meth:`_Graph.candidates`); groups are then grown inside each remaining
    strongly connected component only, from their smallest member along the
    kudos its members gave, so each group is looked at once per seed and the
    result never depends on the order of ``votes``. The work grows with the
    candidates left, not with the period's kudos: on a dense graph where
    votes are spread widely, nobody is a candidate.
    """
    graph = _Graph.of(votes)
    size = rules.ring_size
    need = {m: graph.needed(rules, m) for m in graph.given}
    found: set[frozenset[str]] = set()
    for part in graph.candidates(rules):
        for seed in sorted(part):
            seen: set[frozenset[str]] = set()
            todo = [frozenset([seed])]
            while todo:
                group = todo.pop()
                if group in seen:
                    continue
                seen.add(group)
                room = size - len(group)
                short = [m for m in sorted(group) if graph.inside(m, group) < need[m]]
                if not short and len(group) >= 2 and graph.connected(group):
                    found.add(group)
                if not room:
                    continue
                outside = {
                    m: sorted(
                        (
                            graph.pairs[(m, n)]
                            for n in graph.out[m]
                            if n in part and n > seed and n not in group
                        ),
                        reverse=True,
                    )
                    for m in group
                }
                if any(graph.inside(m, group) + sum(outside[m][:room]) < need[m] for m in group):
                    continue  # some member cannot reach their share with the room left
                # A short member needs one of the members they give to; a group that
                # passes may still grow along any of its kudos.
                growers = short[:1] or sorted(group)
                todo.extend(
                    group | {n}
                    for m in growers
                    for n in graph.out[m]
                    if n in part and n > seed and n not in group
                )
    result = [
        graph.ring(period, group) for group in found if not any(group < other for other in found)
    ]
    return sorted(result, key=lambda r: r.members)


def _ring_events(tx: Transaction, event: VoteRingReversed) -> tuple[str, ...]:
    """The standing kudos the named group gave each other in the period, in log order."""
    group = set(event.members)
    return tuple(
        v.event_id for v in _group_votes(tx, event.period) if v.giver in group and v.author in group
    )


def _ring_id(tx: Transaction, event: VoteRingReversed) -> str:
    """One id per reversal of a ring: the same call again is a replay while the ring
    gave no new kudos; once it did, the call is a new fact reversing them."""
    doc = tx.get("ring_reversed", key_of(event.period, *event.members))
    gen = int(doc.data.get("gen", 1)) if doc else 0
    same = doc is not None and set(_ring_events(tx, event)) <= set(doc.data.get("events", ()))
    return engine.generation_id(engine.default_id(event), gen if same else gen + 1)


@handles(VoteRingReversed, derive_id=_ring_id)
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
    votes = _group_votes(ctx.tx, event.period)
    graph = _Graph.of(votes)
    group = frozenset(event.members)
    ctx.require(
        graph.is_ring(ctx.policy.abuse, group),
        f"{', '.join(event.members)} are not a vote ring of {event.period}; "
        f"community.vote_rings({event.period!r}) lists the rings the policy flags",
    )
    found = graph.ring(event.period, group)
    why = (
        f"vote ring {', '.join(found.members)} in {event.period}: {event.reason} "
        f"(reversed by {event.by}, {ctx.event_id})"
    )
    period_of_vote = {v.event_id: v.period for v in votes}
    _reverse_votes(ctx, ((e, period_of_vote[e]) for e in found.events), why)
    key = key_of(event.period, *event.members)
    doc = ctx.tx.get("ring_reversed", key)
    ctx.put(
        "ring_reversed",
        key,
        {
            "members": list(event.members),
            "by": event.by,
            "reason": event.reason,
            "events": list(found.events),
            "gen": (int(doc.data.get("gen", 1)) + 1) if doc else 1,
        },
        ref=ctx.event_id,
        status=event.period,
    )


# --- fingerprints --------------------------------------------------------------------------


@handles(FingerprintsReported)
def _fingerprints_reported(ctx: Context, event: FingerprintsReported) -> None:
    ctx.member(event.member)
    _add_fingerprints(ctx, event.member, event.fingerprints)


@after_event(on=MemberJoined)
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
    votes = _votes(tx, tx.entries(period=period))
    serial = _serial(policy, votes)
    found_rings = rings(tx, policy, period, votes)
    kept = {v.event_id: v.kept for v in votes}
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
    docs.update({d.key: d for d in covering(tx, period)})
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
        points=sum(kept.get(e, 0) for e in flagged),
    )
