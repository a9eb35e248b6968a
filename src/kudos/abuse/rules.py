"""The policy data of abuse: attrs classes and constants, no I/O (see :mod:`kudos.abuse`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import attrs

from .. import _validate as v
from ..errors import InvalidInput, InvalidPolicy

ACTIONS: tuple[str, ...] = ()
"""Abuse handling awards nothing: it only reverses."""


def _threshold(inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 2):
        raise InvalidPolicy(f"abuse.{attr.name} must be a whole number, 2 or more, got {value!r}")


def _ring_size(inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int) or not 2 <= value <= MAX_RING_SIZE
    ):
        raise InvalidPolicy(
            f"abuse.{attr.name} must be a whole number from 2 to {MAX_RING_SIZE} (or unset), "
            f"got {value!r}"
        )


def _whole(low: int, high: int | None = None) -> Any:
    def check(inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
        within = value >= low and (high is None or value <= high)
        if isinstance(value, bool) or not isinstance(value, int) or not within:
            upto = f" to {high}" if high is not None else " or more"
            raise InvalidPolicy(
                f"abuse.{attr.name} must be a whole number, {low}{upto}, got {value!r}"
            )

    return check


def _flag(inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, bool):
        raise InvalidPolicy(f"abuse.{attr.name} must be true or false, got {value!r}")


MAX_RING_SIZE = 6
"""The largest vote ring kudos looks for (groups are enumerated, so this stays small)."""


@attrs.frozen(kw_only=True)
class AbuseRules:
    """The policy's abuse section: what is detected, and which votes pay nothing.

    Every rule is off by default (and in both presets); set the ones a
    community wants, in code or under ``[abuse]`` in a policy's TOML.

    Attributes:
        serial_votes: the number of kudos one giver gives one author on one
            day from which they are serial voting (all of them are reversed);
            ``None`` turns detection off. Stack Exchange's own threshold is
            not published; 5 is a cautious start.
        ring_size: the largest group (2 to :data:`MAX_RING_SIZE` members)
            checked for a **vote ring**; ``None`` turns ring detection off.
        ring_share: percent (51 to 100) of a member's kudos in a payback period
            that must go to the rest of the group for them to be in a ring.
        ring_votes: kudos (1 or more) each member must give the rest of the
            group in the period: fewer is too little to call a ring.
        new_account_days: kudos from a member who joined fewer than this many
            days before pay nothing (0: no limit).
        new_account_contributions: kudos from a member who has posted fewer
            topics and replies than this pay nothing (0: no limit).
        same_fingerprint: kudos between two members who share a fingerprint
            (reported at ``join``, on referrals or with ``report_fingerprints``)
            pay nothing.
    """

    serial_votes: int | None = attrs.field(default=None, validator=_threshold)
    ring_size: int | None = attrs.field(default=None, validator=_ring_size)
    ring_share: int = attrs.field(default=80, validator=_whole(51, 100))
    ring_votes: int = attrs.field(default=5, validator=_whole(1))
    new_account_days: int = attrs.field(default=0, validator=_whole(0, 3660))
    new_account_contributions: int = attrs.field(default=0, validator=_whole(0, 10**6))
    same_fingerprint: bool = attrs.field(default=False, validator=_flag)


@attrs.frozen(kw_only=True)
class SerialVoting:
    """One giver's serial kudos to one author on one day.

    Attributes:
        day: the calendar day (``YYYY-MM-DD``, periods' time zone).
        giver, author: member ids.
        votes: how many kudos the giver gave the author that day, still standing.
        events: the event ids of those kudos.
        reversed: whether their awards were reversed already.
        points: the points those kudos paid (author and giver), reversed or not.
    """

    day: str
    giver: str
    author: str
    votes: int
    events: tuple[str, ...]
    reversed: bool
    points: int = 0


def _percents(value: Mapping[str, int]) -> dict[str, int]:
    return dict(value)


@attrs.frozen(kw_only=True)
class VoteRing:
    """A small group whose kudos in one payback period went mostly to each other.

    Attributes:
        period: the payback period the kudos were booked in.
        members: the group's member ids, sorted.
        votes: how many kudos the members gave each other in the period, still standing.
        events: the event ids of those kudos, in log order.
        shares: per member, the percent of their kudos in the period that went
            to the rest of the group (rounded down).
        points: the points those kudos paid (authors and givers), reversed or not.
        reversed: whether staff reversed what they paid (``reverse_vote_ring``).
    """

    period: str
    members: tuple[str, ...]
    votes: int
    events: tuple[str, ...]
    shares: Mapping[str, int] = attrs.field(converter=_percents)
    points: int
    reversed: bool


@attrs.frozen(kw_only=True)
class LimitedVote:
    """A kudos that paid nothing under a new-account or same-fingerprint limit.

    Attributes:
        event_id: the kudos's event id.
        giver, author, post: who gave it, whose post, which post.
        rule: ``new_account`` or ``same_fingerprint``.
        why: the limit in words (as on the 0-point ledger lines).
        points: the points it would have paid (author and giver).
        at: when it was given.
    """

    event_id: str
    giver: str
    author: str
    post: str
    rule: str
    why: str
    points: int
    at: datetime


@attrs.frozen(kw_only=True)
class PayoutReview:
    """A member's payout held under review (``hold_payout``), standing or released.

    Attributes:
        member: the member.
        period: the period whose payout was held.
        held_by, reason, held_at: who held it, why and when.
        points: the member's points at stake: their balance in ``period``
            while it is open, or what the close moved on unpaid.
        released: whether the review ended (``release_payout``).
        released_by, released_at: who ended it, and when.
    """

    member: str
    period: str
    held_by: str
    reason: str
    held_at: datetime
    points: int
    released: bool = False
    released_by: str | None = None
    released_at: datetime | None = None


@attrs.frozen(kw_only=True)
class AbuseReport:
    """What staff read before closing a payback period (``abuse_report(period)``).

    Attributes:
        period: the payback period.
        serial_votes: every day's serial kudos booked in the period.
        rings: the vote rings of the period.
        limited_votes: kudos of the period that paid nothing under a limit.
        reviews: payouts of the period (or of an earlier one, still standing)
            held under review.
        points: the points still paid by abuse not yet reversed (serial
            kudos and rings), the figure to bring to zero before the close.
    """

    period: str
    serial_votes: tuple[SerialVoting, ...]
    rings: tuple[VoteRing, ...]
    limited_votes: tuple[LimitedVote, ...]
    reviews: tuple[PayoutReview, ...]
    points: int


def day_id(day: object) -> str:
    """``day`` as ``YYYY-MM-DD`` (a :class:`date` or such a string).

    Raises:
        InvalidInput: anything else, or a day outside kudos's time range.
    """
    if isinstance(day, datetime) or not isinstance(day, date | str):
        raise InvalidInput(f"day must be a date or 'YYYY-MM-DD', got {v.shown(day)}")
    try:
        parsed = day if isinstance(day, date) else date.fromisoformat(day)
    except ValueError:
        raise InvalidInput(f"day must be a date or 'YYYY-MM-DD', got {v.shown(day)}") from None
    if not v.EARLIEST.date() <= parsed < v.LATEST.date():
        raise InvalidInput(f"day {parsed.isoformat()} is outside kudos's time range")
    return parsed.isoformat()
