"""Abuse that does not pay: serial voting and vote rings, limits, and payouts under review.

Rewards paid in cash attract fraud. Stack Exchange reverses serial voting
(many votes from one member to another in a short time) once a day, and
giffgaff reviews payouts by hand; kudos does both, under the policy's
:class:`AbuseRules` (every rule off by default):

* a **serial vote** is a kudos from one giver to one author on a calendar day
  (in the periods' time zone) on which that giver gave that author at least
  ``serial_votes`` kudos still standing;
* :meth:`AbuseAPI.reverse_serial_votes` (a daily job, after the day ended)
  records a ``SerialVotesReversed`` fact that reverses every award of those
  kudos, the author's and the giver's, each reversal referencing the entry it
  takes back; :meth:`AbuseAPI.serial_votes` lists what it would reverse, for
  review;
* a **vote ring** is a small group whose kudos in a payback period went mostly
  to each other: :meth:`AbuseAPI.vote_rings` flags them and staff may reverse
  one with :meth:`AbuseAPI.reverse_vote_ring`;
* kudos from **new accounts** or between accounts that **share a fingerprint**
  pay nothing: their awards are 0-point lines saying which limit applied;
* :meth:`AbuseAPI.abuse_report` is the review queue of a period, and
  :meth:`AbuseAPI.hold_payout` keeps a member under review from being paid
  at the close until :meth:`AbuseAPI.release_payout`.

The votes themselves stay (a member may still withdraw one, which then takes
back nothing more); what they paid is taken back, so the ledger equals one
recorded without them.

>>> import kudos
>>> from datetime import UTC, datetime, timedelta
>>> from kudos.testing import FakeClock
>>> policy = kudos.policies.giffgaff().evolve(abuse=kudos.abuse.AbuseRules(serial_votes=3))
>>> c = kudos.Community(policy=policy, clock=FakeClock(datetime(2026, 11, 23, 9, tzinfo=UTC)))
>>> _ = c.join("alice"); _ = c.join("bob"); _ = c.post_topic("t0", author="bob")
>>> for i in range(3):
...     _ = c.post_reply(f"r{i}", topic="t0", author="alice")
...     _ = c.give_kudos(f"r{i}", giver="bob")
>>> c.standing("alice").reputation
3
>>> _ = c.clock.advance(days=1)
>>> for s in c.serial_votes("2026-11-23"):
...     print(f"{s.giver} to {s.author}: {s.votes} votes")
bob to alice: 3 votes
>>> _ = c.reverse_serial_votes("2026-11-23")
>>> c.standing("alice").reputation
0
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

import attrs

from . import _validate as v
from ._base import CommunityBase
from .errors import InvalidInput, InvalidPolicy
from .events import (
    FingerprintsReported,
    PayoutHeld,
    PayoutReleased,
    SerialVotesReversed,
    VoteRingReversed,
)
from .model import Outcome

__all__ = [
    "ACTIONS",
    "MAX_RING_SIZE",
    "AbuseAPI",
    "AbuseReport",
    "AbuseRules",
    "LimitedVote",
    "PayoutReview",
    "SerialVoting",
    "VoteRing",
]

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


class AbuseAPI(CommunityBase):
    """The :class:`kudos.Community` methods of this capability."""

    def serial_votes(self, day: date | str) -> list[SerialVoting]:
        """The serial kudos of ``day`` under the policy's ``abuse.serial_votes``, for review.

        Ordered by giver, then author. Empty when detection is off.

        Raises:
            InvalidInput: ``day`` is not a day.
        """
        wanted = day_id(day)
        return self._read(lambda tx: _abuse.detect(tx, self.policy, wanted))

    def reverse_serial_votes(
        self, day: date | str, *, at: datetime | None = None, event_id: str | None = None
    ) -> Outcome:
        """Reverse every award of ``day``'s serial kudos (a daily job, once the day ended).

        One fact per day: running it again changes nothing. Each reversal
        references the entry it takes back and says why.

        Raises:
            NotAllowed: the policy detects no serial voting, or the day has not ended.
            InvalidInput: ``day`` is not a day.
        """
        return self.record(SerialVotesReversed(day=day_id(day), at=at, event_id=event_id))

    def vote_rings(self, period: str) -> list[VoteRing]:
        """The vote rings of payback ``period`` under the policy's ``abuse`` rules, for review.

        A ring is a group of 2 to ``abuse.ring_size`` members in which every
        member gave the others at least ``abuse.ring_votes`` of the kudos booked
        in the period, at least ``abuse.ring_share`` percent of all they gave
        there, and each can reach every other through those kudos. Only kudos
        that paid something and still stand count. A group inside a larger
        ring is not listed apart. The same log gives the same rings, ordered
        by their members. Rings are flagged, never reversed by themselves:
        staff decide with :meth:`reverse_vote_ring`.

        Raises:
            UnknownRecord: ``period`` is not a period of the policy.
            InvalidInput: ``period`` is not a period id.
        """
        self.policy.periods.bounds(period)
        return self._read(lambda tx: _abuse.rings(tx, self.policy, period))

    def reverse_vote_ring(
        self,
        period: str,
        members: Iterable[str],
        *,
        by: str,
        reason: str = "vote ring",
        at: datetime | None = None,
        event_id: str | None = None,
    ) -> Outcome:
        """Staff reverse what the kudos inside a flagged ring paid in ``period``.

        Every award of every kudos one member of the ring gave another in the
        period (to the author and to the giver) is reversed by an entry that
        references it and says why; the reversals are booked in the open
        period. Reversing the same ring again changes nothing.

        Raises:
            NotAllowed: ``by`` is not staff or a moderator, or ``members`` is not
                a ring :meth:`vote_rings` lists for ``period``.
            UnknownMember: ``by`` never joined.
            UnknownRecord: ``period`` is not a period of the policy.
            InvalidInput: bad ids.
        """
        return self.record(
            VoteRingReversed(
                period=period, members=members, by=by, reason=reason, at=at, event_id=event_id
            )
        )

    def report_fingerprints(
        self,
        member: str,
        fingerprints: Iterable[str],
        *,
        at: datetime | None = None,
        event_id: str | None = None,
    ) -> Outcome:
        """The host reports opaque hashes (device, payment card, address) of ``member``.

        They add to those given at ``join`` and on referrals; the policy's
        ``abuse.same_fingerprint`` and the referral fraud rules read them.
        Kudos given before the report are not re-valued.

        Raises:
            UnknownMember: ``member`` never joined.
            InvalidInput: no fingerprints, or one is not an id.
        """
        return self.record(
            FingerprintsReported(member=member, fingerprints=fingerprints, at=at, event_id=event_id)
        )

    def hold_payout(
        self,
        member: str,
        period: str,
        *,
        by: str,
        reason: str,
        at: datetime | None = None,
        event_id: str | None = None,
    ) -> Outcome:
        """Staff put ``member``'s payout of ``period`` under review.

        While the hold stands, closing ``period`` (or a later period) pays the
        member nothing: their whole balance moves on to the next open period,
        its points keeping their age, and :meth:`payouts` / :meth:`export_payouts`
        list the payout as ``held`` with what it would have paid. After
        :meth:`release_payout` the first close pays it with the rest. Staff
        who find abuse reverse it (:meth:`reverse_vote_ring`, :meth:`adjust`)
        before releasing. Notifies the member (``payout_under_review``; at the close,
        ``payout_held``).

        Raises:
            UnknownMember: ``member`` or ``by`` never joined.
            NotAllowed: ``by`` is not staff or a moderator, or the payout is
                held already.
            PeriodClosed: ``period`` is closed (its payouts were issued).
            UnknownRecord: ``period`` is not a period of the policy.
            InvalidInput: bad ids or reason.
        """
        return self.record(
            PayoutHeld(member=member, period=period, by=by, reason=reason, at=at, event_id=event_id)
        )

    def release_payout(
        self,
        member: str,
        period: str,
        *,
        by: str,
        reason: str = "reviewed",
        at: datetime | None = None,
        event_id: str | None = None,
    ) -> Outcome:
        """Staff end the review of ``member``'s payout of ``period``.

        Released before the close, the payout is issued at the close as usual;
        released after it, the held points are paid at the next close (the
        held payout turns ``released``). Notifies the member (``payout_released``).

        Raises:
            UnknownMember: ``member`` or ``by`` never joined.
            NotAllowed: ``by`` is not staff or a moderator, or the payout is
                not under review.
            UnknownRecord: ``period`` is not a period of the policy.
        """
        return self.record(
            PayoutReleased(
                member=member, period=period, by=by, reason=reason, at=at, event_id=event_id
            )
        )

    def abuse_report(self, period: str) -> AbuseReport:
        """The review queue of payback ``period``: what staff read before closing it.

        Serial kudos (every day booked in the period), vote rings, kudos that
        paid nothing under a limit, and payouts held under review, each with
        its reasons and the points involved. See :class:`AbuseReport`.

        Raises:
            UnknownRecord: ``period`` is not a period of the policy.
            InvalidInput: ``period`` is not a period id.
        """
        self.policy.periods.bounds(period)
        return self._read(lambda tx: _abuse.report(tx, self.policy, period))


# The engine half (the handler and the detection) needs the names above.
from . import _abuse  # noqa: E402
