"""Value types kudos returns and stores: members, posts, ledger entries, standings.

All are frozen attrs classes: compare them, hash them, ``attrs.evolve`` them;
never mutate them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

__all__ = [
    "Doc",
    "LedgerEntry",
    "Member",
    "Notification",
    "Outcome",
    "PolicyVersion",
    "Post",
    "RankProgress",
    "Standing",
    "Statement",
    "StatementLine",
    "StoredEvent",
    "board_tags",
]

ACCOUNTS = ("points", "reputation")


def _frozen_mapping(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return dict(value or {})


@attrs.frozen(kw_only=True)
class StoredEvent:
    """An event as a store keeps it: a row of (seq, id, type, payload, time).

    Stores never interpret the payload; :func:`kudos.events.event_from_payload`
    turns it back into an event.
    """

    event_id: str
    type: str
    payload: Mapping[str, Any] = attrs.field(converter=_frozen_mapping, eq=False)
    at: datetime
    seq: int = 0


@attrs.frozen(kw_only=True)
class LedgerEntry:
    """One line of the append-only ledger.

    Attributes:
        entry_id: ``"<event id>/<n>"``, stable across :meth:`Community.rebuild`.
        member: who is credited (negative ``amount``: debited).
        account: ``"points"`` (spendable, per payback period) or ``"reputation"``.
        amount: integer units; a reversal carries the negated amount.
        action: the policy action that produced it (``"kudos_received"``, ...).
        reason: a sentence a member can read.
        event_id: the event that produced it.
        subject: what it is about (a post, a referral, a payout), or ``None``.
        period: the payback period it is booked in.
        at: when the event happened.
        reverses: the ``entry_id`` this entry reverses, for reversals.
        tags: the tags (and product) of the topic the award came from.
        policy: the version of the community's policy that valued it (1 for
            the policy recorded with the first write; each
            :meth:`~kudos.Community.change_policy` adds one).
    """

    entry_id: str
    member: str
    account: str
    amount: int
    action: str
    reason: str
    event_id: str
    subject: str | None
    period: str
    at: datetime
    reverses: str | None = None
    tags: tuple[str, ...] = ()
    policy: int = 1


@attrs.frozen(kw_only=True)
class PolicyVersion:
    """One version of a community's policy, as the store keeps it.

    Attributes:
        version: 1 for the policy recorded with the community's first write,
            then 2, 3, ... for each change of policy.
        content: the policy as compact JSON (:func:`kudos.history.to_json`), which
            :meth:`kudos.Policy.from_dict` reads back to an equal policy.
        fingerprint: the SHA-256 of the settings with keys sorted, in hex (64
            characters): equal settings, equal print.
        effective: from when facts are valued under it (``None``: from the start).
        event_id: the policy-change event that recorded it (``None`` for version 1).
        status: set by :meth:`kudos.Community.policy_history` (stores leave it
            ``None``): ``"in force"`` for the version in force at the clock's
            now, ``"scheduled"`` for one that takes effect later, ``"replaced"``
            for one no longer (or never) in force.
        by, reason, recorded_at, retroactive: set by
            :meth:`kudos.Community.policy_history` from the version's
            :class:`~kudos.events.PolicyChanged` event (who changed it, why,
            when it was recorded, whether history was recalculated); ``None``
            for version 1 and as stores give it.

    Its ``repr`` leaves ``content`` out (a policy's JSON is long).
    """

    version: int
    content: str = attrs.field(repr=False)
    fingerprint: str = attrs.field(repr=lambda f: repr(f[:12]))
    effective: datetime | None = None
    event_id: str | None = None
    status: str | None = attrs.field(default=None, eq=False)
    by: str | None = attrs.field(default=None, eq=False)
    reason: str | None = attrs.field(default=None, eq=False)
    recorded_at: datetime | None = attrs.field(default=None, eq=False)
    retroactive: bool | None = attrs.field(default=None, eq=False)


@attrs.frozen(kw_only=True)
class StatementLine(LedgerEntry):
    """A ledger line as a member's statement shows it: the entry, and it in words.

    ``text`` is the whole sentence, amount first, rendered from the policy's
    templates (:mod:`kudos.explain.texts`) and the facts the line references,
    e.g. ``+5 points: carol gave kudos to your reply in "No data abroad"``;
    ``str(line)`` is the same sentence. Every field of :class:`LedgerEntry`
    is there as stored, among them ``policy``, the version of the community's
    policy that paid the line (see :meth:`~kudos.Community.policy_history`);
    :meth:`entry` gives the plain entry back. ``template``
    names the template the words came from (an action such as
    ``"kudos_on_reply"``, or the fact that reversed the line, such as
    ``"kudos-withdrawn"``).
    """

    text: str = ""
    template: str = ""

    def __str__(self) -> str:
        return self.text

    def entry(self) -> LedgerEntry:
        """The line as the ledger holds it (without ``text``)."""
        fields = attrs.asdict(self, recurse=False)
        del fields["text"], fields["template"]
        return LedgerEntry(**fields)


@attrs.frozen(kw_only=True)
class Doc:
    """A projection record a store keeps for the engine: ``kind``/``key`` and JSON data.

    ``ref`` and ``status`` are indexed so the engine can find records by owner
    or state (a member's referrals, pending referrals, a period's payouts).
    Stores treat ``data`` as opaque JSON.
    """

    kind: str
    key: str
    data: Mapping[str, Any] = attrs.field(converter=_frozen_mapping)
    ref: str | None = None
    status: str | None = None


@attrs.frozen(kw_only=True)
class Notification:
    """Something worth telling a member, kept in the store's durable outbox.

    ``seq`` is the outbox position (a cursor for :meth:`Community.notifications`);
    ``kind`` is ``"badge_earned"``, ``"rank_changed"``, ``"payout_issued"``, ...
    """

    seq: int
    member: str
    kind: str
    data: Mapping[str, Any] = attrs.field(converter=_frozen_mapping, eq=False)
    event_id: str
    at: datetime
    acked: bool = False


@attrs.frozen(kw_only=True)
class Outcome:
    """What recording one event did.

    ``replayed`` is true when the event id was already in the log: nothing
    changed and the entries and notifications are those of the first time.
    """

    event_id: str
    type: str
    entries: tuple[LedgerEntry, ...] = ()
    notifications: tuple[Notification, ...] = ()
    replayed: bool = False

    def total(self, member: str, account: str = "points") -> int:
        """The net amount this outcome credited ``member`` in ``account``."""
        return sum(e.amount for e in self.entries if e.member == member and e.account == account)


@attrs.frozen(kw_only=True)
class Member:
    """A community member as kudos knows them: id, role, when they joined."""

    id: str
    role: str = "member"
    joined_at: datetime | None = None
    referred_by: str | None = None
    deleted: bool = False
    """The account was deleted: its posts stay, owned by no one, and earn nothing."""

    @property
    def is_staff(self) -> bool:
        """Staff (the company's employees) or moderators."""
        return self.role in ("staff", "moderator")


def board_tags(tags: tuple[str, ...], product: str | None) -> tuple[str, ...]:
    """The tags a post counts under on boards and caps: its tags, then its product if any."""
    return tags + ((product,) if product else ())


@attrs.frozen(kw_only=True)
class Post:
    """A topic or a reply as kudos knows it."""

    id: str
    kind: str
    author: str
    topic: str | None = None
    title: str = ""
    tags: tuple[str, ...] = ()
    product: str | None = None
    official: bool = False
    removed: bool = False
    solution: str | None = None
    posted_at: datetime | None = None
    wiki: bool = False
    """A community-wiki post: owned by the community, its votes earn no one anything."""


@attrs.frozen(kw_only=True)
class RankProgress:
    """The next rank and what is still missing to reach it.

    ``missing`` maps a metric (``"reputation"``, ``"solutions"``, ...) to how
    much more is needed; ``str()`` reads "12 more kudos received and 2 more
    solutions to Guru".
    """

    rank: str
    missing: Mapping[str, int] = attrs.field(converter=_frozen_mapping)

    def __str__(self) -> str:
        parts = [f"{n} more {metric.replace('_', ' ')}" for metric, n in self.missing.items()]
        return f"{' and '.join(parts)} to {self.rank}" if parts else f"ready for {self.rank}"


@attrs.frozen(kw_only=True)
class Standing:
    """A member's standing: balances, counters and what they unlock.

    Attributes:
        member: the member id.
        role: member, staff or moderator.
        period: the current payback period.
        points: the points balance of the current period: earned in it, plus any
            carried over into it (what the next payout converts).
        pending_points: points promised but not yet earned (e.g. pending referrals).
        lifetime_points: points ever earned, net of reversals; paying points out,
            carrying them over or letting them lapse does not lower it.
        reputation: lifetime standing.
        counters: everything counted for the member (``solutions``, ``kudos_received``, ...),
            by name.
        rank: the current rank, if the policy has a ladder.
        next_rank: the next rank and what is missing.
        badges: badge names (with level, e.g. ``"Solver (gold)"``) earned.
        privileges: what the member may do.
        votes_left: idea votes still available, where the policy has a budget.
    """

    member: str
    role: str
    period: str
    points: int = 0
    pending_points: int = 0
    lifetime_points: int = 0
    reputation: int = 0
    counters: Mapping[str, int] = attrs.field(factory=dict, converter=_frozen_mapping)
    rank: str | None = None
    next_rank: RankProgress | None = None
    badges: tuple[str, ...] = ()
    privileges: frozenset[str] = frozenset()
    votes_left: int | None = None


@attrs.frozen(kw_only=True)
class Statement:
    """A member's ledger lines over a span or a payback period, with totals.

    ``lines`` are :class:`StatementLine` s: each ledger line with its
    ``text``, a sentence saying what paid it. ``totals`` maps each account
    to the sum of ``lines``. For a closed
    payback period, ``payout`` is the payout it produced (``None`` otherwise)
    and ``conversion`` how the period's points were converted: paid, carried
    over or lapsed (a :class:`kudos.payback.Conversion`).
    """

    member: str
    lines: tuple[StatementLine, ...]
    totals: Mapping[str, int] = attrs.field(converter=_frozen_mapping)
    period: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    payout: Any = None
    conversion: Any = None
