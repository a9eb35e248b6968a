"""The engine half of recognition: the hook, the privilege rule and the standing part.

:mod:`kudos.recognition` holds the policy data and the public API; this module
applies them after every event (see that module's docs for the documents it
keeps and the notifications it sends).
"""

from __future__ import annotations

import bisect
import hashlib
import json
import operator
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar

import attrs

from ..engine import core as engine
from ..engine.core import Context, after_event, contributes_standing, privilege_rule
from ..errors import NotAllowed
from ..events import Event, MemberDeleted, MemberJoined, PostRemoved, ReplyPosted
from ..forum.handlers import ABUSE_REASONS
from ..model import Doc, Member, Post
from ..stores.protocol import CounterKey, Transaction
from .rules import (
    _BADGE_RULES,
    ACTIVITIES,
    Badge,
    BadgeAward,
    BadgeFacts,
    Rank,
    Recognition,
    badge_key,
)

# The post whose contribution an event rewards: a badge earned through it is
# revoked if that post is later removed as spam or abuse.
_EARNING_POST = {
    "topic-posted": "topic",
    "reply-posted": "reply",
    "kudos-given": "post",
    "solution-accepted": "reply",
    "idea-voted": "idea",
    "idea-status-set": "idea",
}

# Policy fields that gate a privilege by reputation on their own.
_FLOORS = {
    "give_kudos": "min_reputation_to_give_kudos",
    "down_vote": "min_reputation_to_down_vote",
}


# --- metrics ------------------------------------------------------------------------


class _Metrics(dict[str, int]):
    """A member's metrics, read on demand (counters all-time, plus ``tenure_days``).

    A dict of the metrics read so far, so reading one again costs a dict lookup;
    any other metric is read on first use, by indexing, ``get`` or ``in`` alike
    (a missing counter reads 0), so it never falls back to a default.
    """

    __slots__ = ("_at", "_member", "_queued", "_tx")

    def __init__(
        self,
        tx: Transaction,
        member: Member,
        queued: Mapping[CounterKey, int] | None = None,
        at: datetime | None = None,
    ) -> None:
        """Counters of ``member`` in ``tx`` plus ``queued`` changes; tenure reached by ``at``.

        Without ``at``, tenure is what the ``tenure`` document says (a question
        about now); with it, at least the whole days from joining to ``at``.
        """
        super().__init__()
        self._tx = tx
        self._member = member
        self._queued = queued
        self._at = at

    def __missing__(self, metric: str) -> int:
        mid = self._member.id
        if metric == "tenure_days":
            found = reached_tenure(self._tx, mid)
            if self._at is not None:
                found = max(found, _days_at(self._member, self._at))
        else:
            found = self._tx.counter(metric, "all", mid)
            if self._queued is not None:
                found += self._queued.get((metric, "all", mid), 0)
        self[metric] = found
        return found

    def get(self, metric: str, default: Any = None) -> Any:
        return self[metric]

    def __contains__(self, metric: object) -> bool:
        return isinstance(metric, str)

    def __iter__(self) -> Iterator[str]:
        # The metrics read so far, as a list: reading another while iterating is fine.
        return iter(list(super().__iter__()))


# Tenure is counted to the latest time of any fact that touched the member, kept in a
# ``tenure`` document that only grows: a fact reported late, dated before the member's
# anniversary, never lowers it, so arrival order cannot change a rank, and standing()
# (which reads the same document) always says what the stored rank and its notification
# said.
TENURE = "tenure"

# A member's ``recognised`` document, {"checked": fingerprint}: the rules their rank,
# privileges and metric badges were last worked out by in full and kept right by since
# (``""``: other rules, or in part). Kept apart from the rank and privileges documents, in
# one place whatever the rules in force, so that every rule set (one with ranks, one with
# only privileges, one with neither) reads and clears the same note.
RECOGNISED = "recognised"


def _days_at(member: Member, at: datetime) -> int:
    joined = member.joined_at
    return max(0, (at - joined).days) if joined else 0


def reached_tenure(tx: Transaction, member: str) -> int:
    """The whole days from ``member``'s joining to the latest fact that touched them."""
    doc = tx.get(TENURE, member)
    return int(doc.data["days"]) if doc is not None else 0


def _raise_tenure(ctx: Context, member: Member, seen: _Seen) -> bool:
    """Raise ``member``'s tenure to this event's time; whether it grew.

    ``seen.tenure`` keeps, per member, their joining time and the time from which
    their tenure next grows (as the stored document says): an event before it
    cannot raise it, and costs one comparison.
    """
    joined = member.joined_at
    known = seen.tenure.get(member.id)
    at = ctx.at
    if known is not None and known[0] == joined and at < known[1]:
        return False
    days = _days_at(member, at)
    reached = reached_tenure(ctx.tx, member.id)
    grew = days > reached
    if grew:
        ctx.put(TENURE, member.id, {"days": days}, ref=member.id)
        reached = days
    if joined is not None:
        seen.tenure[member.id] = (joined, joined + timedelta(days=reached + 1))
    return grew


class _Seen:
    """What recognition learned of its own documents within one transaction.

    Recognition alone writes its ``active_days``, ``tenure``, ``rank``,
    ``privileges`` and ``recognised`` documents, and no document is ever deleted: what it read or
    wrote earlier in a transaction stays true until it writes again (a failed
    write fails the whole transaction, and this with it). So a member's second
    event of a day reads no ``active_days`` document, an event that cannot raise
    a tenure reads no ``tenure`` one, and a member once evaluated is not asked
    for again whether they were. (:meth:`Transaction.replace_projections` runs
    last in the transaction of ``rebuild()``, after which no event is applied.)
    """

    __slots__ = ("checked", "days", "firsts", "privileged", "ranked", "tenure")

    def __init__(self) -> None:
        self.days: dict[str, str] = {}
        """Member -> the last day counted in their ``active_days`` (``YYYY-MM-DD``)."""
        self.tenure: dict[str, tuple[datetime, datetime]] = {}
        """Member -> (joined at, when their stored tenure next grows)."""
        self.ranked: set[str] = set()
        """Members with a ``rank`` document."""
        self.privileged: set[str] = set()
        """Members with a ``privileges`` document."""
        self.firsts: set[tuple[str, str, str]] = set()
        """(member, event type, rules' fingerprint): the member holds every badge of the
        event when it is only first-action badges (see :meth:`_Plan.firsts_only`);
        forgotten when a badge is revoked."""
        self.checked: dict[str, str | None] = {}
        """Member -> the rules their standing was last worked out by in full (their
        ``recognised`` document, ``None`` without one; see :func:`_note_checked`)."""


_seen = engine.TransactionMemory(lambda: _Seen()).of  # _Seen looked up when made
"""What recognition learned in a transaction so far (see :class:`_Seen`)."""


def _ctx_metrics(ctx: Context, member: Member) -> _Metrics:
    """``member``'s metrics as this event leaves them (read on demand)."""
    if isinstance(ctx.event, _Asked):  # a question about now: what the stored state says
        return _Metrics(ctx.tx, member, ctx.deltas)
    return _Metrics(ctx.tx, member, ctx.deltas, ctx.at)


class _Plan:
    """An effective recognition section prepared for the checks after every event.

    It answers as :meth:`Recognition.rank_for` and :meth:`Recognition.privileges_of`
    do, with the requirements laid out as tuples and rank positions in a dict,
    so a member's re-evaluation is a few comparisons.
    """

    def __init__(self, rec: Recognition) -> None:
        self.rec = rec
        self.active = rec.active
        self.ranks = [(r, tuple((m, n) for m, n in r.requires.items() if n)) for r in rec.ranks]
        entry = rec.rank_for({})
        self.entry_rank = entry.name if entry else None
        self.rank_at = {r.name: i for i, r in reversed(list(enumerate(rec.ranks)))}
        self.privileges = [
            (
                p.name,
                tuple((m, n) for m, n in p.requires.items() if n),
                None if p.rank is None else self.rank_at[p.rank],
            )
            for p in rec.privileges
        ]
        self.every_privilege = frozenset(p.name for p in rec.privileges)
        # Whether anything may read tenure (a custom badge rule may read any metric).
        self.uses_tenure = (
            any("tenure_days" in r.requires for r in rec.ranks)
            or any("tenure_days" in p.requires for p in rec.privileges)
            or any(b.metric == "tenure_days" or b.custom is not None for b in rec.badges)
        )
        self._start: dict[str, frozenset[str]] = {}
        # What an evaluation reads, so that a member whose inputs this event left alone
        # is not evaluated again: the counters of rank and privilege requirements and of
        # metric badges. Badges of another kind depend on the event itself and are
        # checked after every event.
        self.reads = tuple(
            dict.fromkeys(
                m
                for m in (
                    *(m for _, requires in self.ranks for m, _ in requires),
                    *(m for _, requires, _ in self.privileges for m, _ in requires),
                    *(b.metric for b in rec.badges if b.metric is not None),
                )
                if m != "tenure_days"
            )
        )
        self._event_badges: dict[str, tuple[Badge, ...]] = {}
        self._badges: dict[str, tuple[Badge, ...]] = {}
        self._others_badges: dict[str, tuple[Badge, ...]] = {}
        self._firsts_only: dict[str, bool] = {}
        # Every value a comparison in an evaluation tests a metric in :attr:`reads`
        # against (``value < need`` for ranks and privileges, ``value >= at`` for a
        # metric badge's levels), sorted: a move that passes none of them leaves every
        # comparison, hence the stored rank, privileges and metric badges, as they were.
        thresholds: dict[str, set[int]] = {m: set() for m in self.reads}
        for _, requires in self.ranks:
            for m, n in requires:
                thresholds.get(m, set()).add(n)
        for _, requires, _ in self.privileges:
            for m, n in requires:
                thresholds.get(m, set()).add(n)
        for b in rec.badges:
            if b.metric is not None and b.metric in thresholds:
                thresholds[b.metric].update(b.levels.values() if b.levels else (b.threshold,))
        self.thresholds = {m: sorted(found) for m, found in thresholds.items()}
        # Whether these rules note, in a member's ``recognised`` document, that they
        # worked the member out in full, so that a move passing none of their thresholds
        # is skipped; the note names them by fingerprint, so a move within the thresholds
        # of other rules (a policy change, a late fact valued under an earlier version) is
        # never taken for one within these. Rules without ranks or privileges note
        # nothing and evaluate every move (and clear the note of the members they move:
        # see _note_unseen_moves).
        self.stamps = bool(self.ranks or self.privileges)
        self.read_set = frozenset(self.reads)
        # Keys sorted: equal rules give equal prints however their tables were ordered
        # (in code, in TOML, read back from a store), so a replay notes what recording did.
        content = json.dumps(attrs.asdict(rec), sort_keys=True, default=str)
        self.fingerprint = hashlib.blake2b(content.encode(), digest_size=8).hexdigest()

    def event_badges(self, event_type: str) -> tuple[Badge, ...]:
        """The badges other than metric badges that an event of ``event_type`` may award.

        A first-action badge counts only its own action, a quick reply only a
        reply; a badge with a custom rule may count any event.
        """
        found = self._event_badges.get(event_type)
        if found is None:
            found = self._event_badges[event_type] = tuple(
                b
                for b in self.rec.badges
                if b.metric is None
                and (b.first is None or b.first == event_type)
                and (b.reply_within_minutes is None or event_type == ReplyPosted.type)
            )
        return found

    def others_badges(self, event_type: str) -> tuple[Badge, ...]:
        """Of :meth:`event_badges`, those a member other than the event's actor may earn.

        A first-action badge counts the actor's own action and a quick reply the
        replier's (the actor of a reply): only a custom rule may award anyone else.
        """
        found = self._others_badges.get(event_type)
        if found is None:
            found = self._others_badges[event_type] = tuple(
                b for b in self.event_badges(event_type) if b.custom is not None
            )
        return found

    def firsts_only(self, event_type: str) -> bool:
        """Whether every badge :meth:`event_badges` gives is a first-action badge.

        Then the actor holds them all once they acted so: acting so again awards nothing.
        """
        found = self._firsts_only.get(event_type)
        if found is None:
            found = self._firsts_only[event_type] = all(
                b.first == event_type and b.custom is None and b.reply_within_minutes is None
                for b in self.event_badges(event_type)
            )
        return found

    def badges(self, event_type: str) -> tuple[Badge, ...]:
        """The badges an event of ``event_type`` may award (metric badges and its own)."""
        found = self._badges.get(event_type)
        if found is None:
            may = {id(b) for b in self.event_badges(event_type)}
            found = self._badges[event_type] = tuple(
                b for b in self.rec.badges if b.metric is not None or id(b) in may
            )
        return found

    def changed(self, ctx: Context, member: str) -> tuple[str, ...] | None:
        """The counters in :attr:`reads` this event changed for ``member``.

        ``None`` when ``member`` was never evaluated (no rank or privileges
        document yet): then everything is new. A member's rank, privileges and
        metric badges are a function of the counters in :attr:`reads`, their
        tenure and role; stored once a member was first evaluated, they stay
        right until one of those changes.
        """
        deltas = ctx.deltas
        found = []
        for m in self.reads:  # a loop, not a generator: this runs per member and event
            key = (m, "all", member)
            if key in deltas and deltas[key]:  # noqa: RUF019 (a lookup, not a call)
                found.append(m)
        moved = tuple(found)
        seen = _seen(ctx.tx)
        if self.ranks and member not in seen.ranked:
            doc = ctx.tx.get("rank", member)
            if doc is None:
                return None
            seen.ranked.add(member)
        if self.privileges and member not in seen.privileged:
            doc = ctx.tx.get("privileges", member)
            if doc is None:
                return None
            seen.privileged.add(member)
        return moved

    def crossed(self, ctx: Context, member: str, moved: tuple[str, ...]) -> tuple[str, ...]:
        """Of the counters in ``moved``, those whose move by this event passed a threshold.

        ``before`` is the counter as earlier events left it (the batch's included),
        ``after`` it with this event's change; a threshold lies between them when
        the number of thresholds at or below each differs.
        """
        counter, deltas, thresholds = ctx.tx.counter, ctx.deltas, self.thresholds
        found = []
        for m in moved:
            before = counter(m, "all", member)
            after = before + deltas[(m, "all", member)]
            steps = thresholds[m]
            if bisect.bisect_right(steps, before) != bisect.bisect_right(steps, after):
                found.append(m)
        return tuple(found)

    def rank_for(self, metrics: _Metrics) -> Rank | None:
        """:meth:`Recognition.rank_for`."""
        for rank, requires in self.ranks:
            for metric, need in requires:
                if metrics[metric] < need:
                    break
            else:
                return rank
        return None

    def privileges_of(self, role: str, metrics: _Metrics, current: Rank | None) -> frozenset[str]:
        """:meth:`Recognition.privileges_of`, given the rank ``metrics`` earn."""
        names = self.rec.role_privileges.get(role, ())
        if "*" in names:
            held = set(self.every_privilege)
        else:
            have = self.rank_at.get(current.name) if current is not None else None
            held = set()
            for name, requires, need in self.privileges:
                if name not in names:
                    if need is not None and (have is None or have > need):
                        continue
                    for m, n in requires:  # a loop, not any(): this runs per member and event
                        if metrics[m] < n:
                            break
                    else:
                        held.add(name)
                    continue
                held.add(name)
        held.update(n for n in names if n != "*")
        return frozenset(held)

    def start_privileges(self, role: str) -> frozenset[str]:
        """What a member of ``role`` holds from the start (no metrics)."""
        found = self._start.get(role)
        if found is None:
            found = self._start[role] = self.rec.privileges_of(role, {})
        return found


# Policies are immutable, so each one's effective section is worked out once (kept with
# the policy itself, so an id is never reused while its entry lives).
_EFFECTIVE: dict[int, tuple[Any, _Plan]] = {}
_EFFECTIVE_LIMIT = 64
# The last policy asked for and its plan (one entry, replaced whole).
_LAST_PLAN: list[tuple[Any, _Plan | None]] = [(None, None)]


def _plan(policy: Any) -> _Plan:
    """The :class:`_Plan` of the policy's effective recognition section (see :func:`_effective`)."""
    last, known_plan = _LAST_PLAN[0]  # the last event's policy: nearly always this one
    if last is policy and known_plan is not None:
        return known_plan
    known = _EFFECTIVE.get(id(policy))
    if known is not None and known[0] is policy:
        _LAST_PLAN[0] = known
        return known[1]
    if len(_EFFECTIVE) >= _EFFECTIVE_LIMIT:
        _EFFECTIVE.clear()
    plan = _Plan(_fold_gates(policy))
    _EFFECTIVE[id(policy)] = (policy, plan)
    _LAST_PLAN[0] = (policy, plan)
    return plan


def _effective(policy: Any) -> Recognition:
    """The recognition section with the policy's own gates folded in.

    A privilege never asks less than ``min_reputation_to_give_kudos`` /
    ``_to_down_vote``, and ``down_vote`` is nobody's without down-votes.
    """
    return _plan(policy).rec


def _fold_gates(policy: Any) -> Recognition:
    rec: Recognition = policy.recognition
    changed = []
    for p in rec.privileges:
        if p.name == "down_vote" and not policy.down_votes:
            continue
        floor = getattr(policy, _FLOORS[p.name]) if p.name in _FLOORS else 0
        if floor > p.requires.get("reputation", 0):
            p = attrs.evolve(p, requires={**p.requires, "reputation": floor})
        changed.append(p)
    if changed == list(rec.privileges):
        return rec
    return attrs.evolve(rec, privileges=changed)


# --- the engine hook -----------------------------------------------------------------


def _field(event: Event, table: Mapping[str, str]) -> str | None:
    name = table.get(event.type)
    value = getattr(event, name, None) if name else None
    return value if isinstance(value, str) else None


class _Kind:
    """What recognition asks of every event of one type, worked out once per type."""

    __slots__ = ("actor", "member", "removal", "whole")

    def __init__(self, cls: type[Event]) -> None:
        names = {f.name for f in attrs.fields(cls)} if attrs.has(cls) else set()

        def reader(name: str | None) -> Any:
            if name is None or (name not in names and not hasattr(cls, name)):
                return None
            return operator.attrgetter(name)

        self.actor = reader(ACTIVITIES.get(cls.type))
        """Reads the member whose activity the event is (see :data:`ACTIVITIES`)."""
        self.member = reader("member")
        """Reads the event's ``member`` field (joining or leaving changes the role)."""
        self.removal = issubclass(cls, PostRemoved)
        # Joining sets the role and leaving the account: both change what a member holds.
        self.whole = issubclass(cls, MemberJoined | MemberDeleted)


_KINDS: dict[type[Event], _Kind] = {}


def _kind(cls: type[Event]) -> _Kind:
    found = _KINDS[cls] = _Kind(cls)
    return found


@after_event
def _recognise(ctx: Context) -> None:
    event = ctx.event
    try:
        kind = _KINDS[type(event)]
    except KeyError:
        kind = _kind(type(event))
    actor = kind.actor(event) if kind.actor is not None else None
    if actor is not None and type(actor) is not str and not isinstance(actor, str):
        actor = None
    seen = _seen(ctx.tx)
    if actor is not None and ctx.known_member(actor) is not None:
        _count_active_day(ctx, actor, seen)
        ctx.touched.add(actor)
    plan = _plan(ctx.policy)
    rec = plan.rec
    if not plan.active:
        _note_unseen_moves(ctx, plan, seen, kind)
        return
    if kind.removal and event.reason in ABUSE_REASONS:  # type: ignore[attr-defined]
        _revoke_badges_of(ctx, rec, event.post, event.reason)  # type: ignore[attr-defined]
    whole = kind.whole
    event_badges = plan.event_badges(event.type)
    for member_id in sorted(ctx.touched):
        member = ctx.known_member(member_id)
        if member is None:
            continue
        raised = _raise_tenure(ctx, member, seen) if plan.uses_tenure else False
        changed = None if whole or raised else plan.changed(ctx, member_id)
        checked = plan.fingerprint  # the rules the member's standing is worked out by
        if changed and plan.stamps:
            if _mark(ctx, seen, member_id) == checked:
                # Worked out by these rules and kept right since: only a move past a
                # threshold can change what they give.
                changed = plan.crossed(ctx, member_id, changed)
            else:  # by other rules (or before they were noted): as much as ever, and no more
                checked = ""
        if changed is None:  # evaluate everything
            badges = plan.badges(event.type)
        elif changed:  # a metric badge is reached only when its metric moves
            badges = tuple(
                b for b in plan.badges(event.type) if b.metric is None or b.metric in changed
            )
        else:  # nothing it reads changed: only what the event itself may award
            if member_id != actor:
                own = plan.others_badges(event.type)
                if own:
                    _award_badges(ctx, own, member, _ctx_metrics(ctx, member), actor)
            elif event_badges:
                # The actor's first-action badges of this event are theirs after the first
                # time: acting so again in the transaction asks nothing.
                firsts = plan.firsts_only(event.type)
                held = (member_id, event.type, plan.fingerprint)
                if not firsts or held not in seen.firsts:
                    _award_badges(ctx, event_badges, member, _ctx_metrics(ctx, member), actor)
                    if firsts:
                        seen.firsts.add(held)
            continue
        metrics = _ctx_metrics(ctx, member)
        rank = _update_rank(ctx, plan, member, metrics)
        _award_badges(ctx, badges, member, metrics, actor)
        _update_privileges(ctx, plan, member, metrics, rank)
        if plan.stamps:
            _note_checked(ctx, seen, member_id, checked)
    _note_unseen_moves(ctx, plan, seen, kind)


def _note_unseen_moves(ctx: Context, plan: _Plan, seen: _Seen, kind: _Kind) -> None:
    """Clear the note of the members whose standing this event may have moved unseen.

    A note names the rules a member was last worked out by in full; it stays
    true only while every move of the member is seen by those rules. So it is
    cleared for a member this event moved a counter of (or touched) when the
    note names other rules than the ones in force (which may not read what
    moved, or note nothing at all), and, under the noted rules themselves, when
    a counter they read moved without the event touching the member (so they
    were not evaluated). Such a member's next moves are evaluated as they always
    were, until a whole evaluation notes the rules again.
    """
    noted = plan.fingerprint if plan.stamps else None
    reads, touched = plan.read_set, ctx.touched
    moved: dict[str, bool] = {}  # subject -> whether a counter these rules read moved
    # Dict operations only (no method calls): this runs after every event.
    for key, delta in ctx.deltas.items():
        if delta and key[1] == "all":
            subject = key[2]
            if key[0] in reads:
                moved[subject] = True
            elif subject not in moved:
                moved[subject] = False
    for member in touched:
        if member not in moved:
            moved[member] = False
    if kind.member is not None:  # joining or leaving changes the role
        joined = kind.member(ctx.event)
        if isinstance(joined, str) and joined not in moved:
            moved[joined] = False
    checked = seen.checked
    for subject in sorted(moved):
        mark = checked[subject] if subject in checked else _mark(ctx, seen, subject)
        if mark and (mark != noted or (moved[subject] and subject not in touched)):
            _note_checked(ctx, seen, subject, "")


def _mark(ctx: Context, seen: _Seen, member: str) -> str | None:
    """The rules (fingerprint) ``member`` was last worked out by in full; ``None``: no note."""
    if member in seen.checked:
        return seen.checked[member]
    doc = ctx.tx.get(RECOGNISED, member)
    mark = seen.checked[member] = str(doc.data["checked"]) if doc is not None else None
    return mark


def _note_checked(ctx: Context, seen: _Seen, member: str, checked: str) -> None:
    """Note in ``member``'s ``recognised`` document the rules it was worked out by.

    ``checked`` is the fingerprint of the rules when the member's rank,
    privileges and every metric badge were worked out in full by them (and kept
    right since, move by move); ``""`` when they were last worked out by other
    rules, or in part, or may have moved unseen. A member without a note counts
    as ``""``. ``seen`` is what recognition learned in the transaction (:func:`_seen`).
    """
    mark = _mark(ctx, seen, member)
    if mark == checked or (mark is None and not checked):
        return
    ctx.put(RECOGNISED, member, {"checked": checked}, ref=member)
    seen.checked[member] = checked


def _count_active_day(ctx: Context, member: str, seen: _Seen) -> None:
    """Count this event's day as one ``member`` acted on (once per day and member).

    ``seen.days`` keeps the day last counted per member: their next event that
    day costs a comparison, and reads no ``active_days`` document.
    """
    day = ctx.day()
    if seen.days.get(member) == day:
        return
    seen.days[member] = day
    key = f"{len(member)}:{member}:{day[:7]}"
    doc = ctx.tx.get("active_days", key)
    known: list[str] = doc.data["days"] if doc is not None else []
    at = bisect.bisect_left(known, day)
    if at < len(known) and known[at] == day:
        return
    days = list(known)
    days.insert(at, day)
    ctx.put("active_days", key, {"member": member, "month": day[:7], "days": days}, ref=member)
    ctx.bump("days_active", member, 1)


def _update_rank(ctx: Context, plan: _Plan, member: Member, metrics: _Metrics) -> Rank | None:
    """Store (and notify) the rank ``metrics`` earn; returns it."""
    rec = plan.rec
    if not rec.ranks:
        return None
    rank = plan.rank_for(metrics)
    new = rank.name if rank else None
    doc = ctx.tx.get("rank", member.id)
    if doc is not None and doc.data.get("rank") == new:
        return rank
    ctx.put("rank", member.id, {"rank": new, "since": ctx.at_text}, status=new)
    if doc is None:
        if new == plan.entry_rank:
            return rank
        old = None
    else:
        old = doc.data.get("rank")
    was, now = rec.rank_index(old), rec.rank_index(new)
    up = now is not None and (was is None or now < was)
    ctx.notify(
        member.id, "rank_changed", **{"from": old, "to": new, "direction": "up" if up else "down"}
    )
    return rank


def _earning_post(ctx: Context, member: str) -> Post | None:
    post_id = _field(ctx.event, _EARNING_POST)
    if post_id is None:
        return None
    doc = ctx.tx.get("post", post_id)
    if doc is None or doc.data.get("author") != member:
        return None
    return ctx.post(post_id)


def _event_post(ctx: Context) -> Post | None:
    for name in ("reply", "post", "idea", "topic"):
        value = getattr(ctx.event, name, None)
        if isinstance(value, str) and ctx.tx.get("post", value) is not None:
            return ctx.post(value)
    return None


def _badge_value(
    ctx: Context, badge: Badge, member: Member, metrics: _Metrics, actor: str | None
) -> int:
    if badge.metric is not None:
        return metrics[badge.metric]
    if badge.first is not None:
        return int(ctx.event.type == badge.first and actor == member.id)
    if badge.reply_within_minutes is not None:
        event = ctx.event
        if not isinstance(event, ReplyPosted) or event.author != member.id:
            return 0
        topic = ctx.post(event.topic)
        solvable = ctx.policy.support.solvable
        if topic.kind not in solvable or topic.author == member.id or topic.posted_at is None:
            return 0
        waited = (ctx.at - topic.posted_at).total_seconds()
        return int(0 <= waited <= badge.reply_within_minutes * 60)
    assert badge.custom is not None
    facts = BadgeFacts(
        member=member, event=ctx.event, at=ctx.at, metrics=metrics, post=_event_post(ctx)
    )
    return int(_BADGE_RULES[badge.custom](facts))


def _award_badges(
    ctx: Context, badges: Iterable[Badge], member: Member, metrics: _Metrics, actor: str | None
) -> None:
    post: Post | None = None
    looked = False
    for badge in badges:
        metric = badge.metric
        value = (
            metrics[metric]
            if metric is not None
            else _badge_value(ctx, badge, member, metrics, actor)
        )
        if value <= 0:
            continue
        for level in badge.reached(value):
            key = badge_key(member.id, badge.name, level)
            doc = ctx.tx.get("badge", key)
            if doc is not None and doc.status == "earned":
                continue
            if not looked:
                post, looked = _earning_post(ctx, member.id), True
            title = badge.title(level)
            ctx.put(
                "badge",
                key,
                {
                    "member": member.id,
                    "badge": badge.name,
                    "level": level,
                    "title": title,
                    "earned_at": ctx.at_text,
                    "event_id": ctx.event_id,
                    "post": post.id if post else None,
                },
                ref=member.id,
                status="earned",
            )
            ctx.notify(
                member.id,
                "badge_earned",
                badge=badge.name,
                level=level,
                title=title,
                post=post.id if post else None,
            )


def _revoke_badges_of(ctx: Context, rec: Recognition, post_id: str, reason: str) -> None:
    """Take back what a post removed as spam or abuse earned its author.

    A metric badge level goes when this removal takes the member back below
    it (the post's kudos, solutions or reputation were holding it up); any
    other badge goes when this post earned it. Ordinary reversals never
    revoke a badge.
    """
    post = ctx.post(post_id)
    author = ctx.member(post.author)
    _seen(ctx.tx).firsts.clear()  # a first-action badge may be revoked: ask again
    metrics = _ctx_metrics(ctx, author)
    why = f"{post.kind} {post_id!r} removed as {reason}"
    for doc in ctx.tx.find("badge", ref=author.id, status="earned"):
        data = dict(doc.data)
        badge = rec.badge(data["badge"])
        if badge is not None and badge.metric is not None:
            lowered = ctx.deltas.get((badge.metric, "all", author.id), 0) < 0
            if not lowered or data["level"] in badge.reached(metrics[badge.metric]):
                continue
        elif data.get("post") != post_id:
            continue
        data.update(revoked_at=ctx.at_text, revoked_by=ctx.event_id, revoked_reason=why)
        ctx.put("badge", doc.key, data, ref=doc.ref, status="revoked")
        ctx.notify(
            author.id,
            "badge_revoked",
            badge=data["badge"],
            level=data["level"],
            title=data["title"],
            post=post_id,
            reason=why,
        )


def _update_privileges(
    ctx: Context, plan: _Plan, member: Member, metrics: _Metrics, rank: Rank | None
) -> None:
    rec = plan.rec
    if not rec.privileges:
        return
    if rec.ranks and rank is None:
        rank = plan.rank_for(metrics)
    held = plan.privileges_of(member.role, metrics, rank)
    doc = ctx.tx.get("privileges", member.id)
    old = (
        frozenset(doc.data["privileges"]) if doc is not None else plan.start_privileges(member.role)
    )
    if doc is not None and old == held:
        return
    ctx.put("privileges", member.id, {"privileges": sorted(held)})
    for name in sorted(held - old):
        found = rec.privilege(name)
        ctx.notify(
            member.id,
            "privilege_granted",
            privilege=name,
            description=found.doing if found else name.replace("_", " "),
        )
    for name in sorted(old - held):
        found = rec.privilege(name)
        ctx.notify(
            member.id,
            "privilege_revoked",
            privilege=name,
            description=found.doing if found else name.replace("_", " "),
        )


@privilege_rule
def _privilege(ctx: Context, member: Member, name: str) -> bool | None:
    """Grant or withhold ``name`` by the policy's privileges; explain what is missing."""
    policy = ctx.policy
    if name == "down_vote" and not policy.down_votes:
        raise NotAllowed(f"policy {policy.name!r} has no down-votes; nobody may down-vote")
    rec = _effective(policy)
    metrics = _ctx_metrics(ctx, member)
    lacking = rec.lacks(name, member.role, metrics)
    if lacking is None:
        # No privilege of that name, but the policy may still gate it by reputation.
        floor = getattr(policy, _FLOORS[name]) if name in _FLOORS else 0
        if not floor or member.is_staff:
            return None
        have = metrics["reputation"]
        lacking = () if have >= floor else ((f"{floor} reputation", f"has {have}"),)
    if not lacking:
        return True
    found = rec.privilege(name)
    doing = found.doing if found else name.replace("_", " ")
    if len(lacking) == 1:
        ((need, has),) = lacking
        raise NotAllowed(f"member {member.id!r} needs {need} to {doing} ({has})")
    needs = " and ".join(f"{need} ({has})" for need, has in lacking)
    raise NotAllowed(f"member {member.id!r} needs {needs} to {doing}")


# --- standing -----------------------------------------------------------------------


def _position(rec: Recognition, doc: Doc) -> tuple[int, int, str]:
    """Badges in the policy's order, levels lowest first; unknown badges last."""
    names = [b.name for b in rec.badges]
    badge = rec.badge(doc.data["badge"])
    level = doc.data.get("level")
    at = badge.levels.get(level, 0) if badge is not None and level else 0
    index = names.index(badge.name) if badge is not None else len(names)
    return (index, at, doc.key)


def _titles(tx: Transaction, rec: Recognition, member: str) -> tuple[str, ...]:
    docs = tx.find("badge", ref=member, status="earned")
    return tuple(d.data["title"] for d in sorted(docs, key=lambda d: _position(rec, d)))


@contributes_standing
def _standing(tx: Transaction, policy: Any, member: Member, now: datetime) -> dict[str, Any]:
    rec = _effective(policy)
    metrics = _Metrics(tx, member)
    fields: dict[str, Any] = {
        "badges": _titles(tx, rec, member.id),
        "privileges": rec.privileges_of(member.role, metrics),
    }
    if rec.ranks:
        rank = rec.rank_for(metrics)
        fields["rank"] = rank.name if rank else None
        fields["next_rank"] = rec.next_rank(metrics)
    return fields


# --- reads for the Community methods -------------------------------------------------


@attrs.frozen(kw_only=True)
class _Asked(Event):
    """A stand-in event for asking privilege rules outside any recorded fact."""

    type: ClassVar[str] = "privilege-asked"


def explain(tx: Transaction, policy: Any, member: str, privilege: str, at: datetime) -> str | None:
    """Why ``member`` may not do ``privilege`` at ``at`` (``None``: they may)."""
    ctx = Context(tx, policy, _Asked(event_id="privilege-asked", at=at), notify=False)
    ctx.member(member)
    try:
        granted = ctx.privilege(member, privilege)
    except NotAllowed as exc:
        return str(exc)
    if granted is False:
        return f"member {member!r} may not {privilege.replace('_', ' ')}"
    return None


def awards(tx: Transaction, policy: Any, member: str, revoked: bool) -> list[BadgeAward]:
    """``member``'s badge awards (held, or with ``revoked`` all), in the policy's order."""
    engine.get_member(tx, member)
    rec: Recognition = policy.recognition
    docs = [d for d in tx.find("badge", ref=member) if revoked or d.status == "earned"]
    docs.sort(key=lambda d: _position(rec, d))
    return [_award(d.data) for d in docs]


def _award(data: Mapping[str, Any]) -> BadgeAward:
    revoked = data.get("revoked_at")
    return BadgeAward(
        member=data["member"],
        badge=data["badge"],
        level=data.get("level"),
        title=data["title"],
        earned_at=datetime.fromisoformat(data["earned_at"]),
        event_id=data["event_id"],
        post=data.get("post"),
        revoked_at=datetime.fromisoformat(revoked) if revoked else None,
        revoked_reason=data.get("revoked_reason"),
    )


def current_rank(tx: Transaction, member: str) -> str | None:
    """The rank stored for ``member`` (as of their last event), for other capabilities.

    It is what ``rank_changed`` notifications last said; a tenure requirement
    is only re-checked when an event touches the member.
    """
    doc = tx.get("rank", member)
    return doc.data.get("rank") if doc is not None else None
