"""The :class:`~kudos.Community` methods of abuse handling (see :mod:`kudos.abuse`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from ..engine.base import CommunityBase
from ..events import (
    FingerprintsReported,
    PayoutHeld,
    PayoutReleased,
    SerialVotesReversed,
    VoteRingReversed,
)
from ..model import Outcome
from . import handlers as _abuse
from .rules import AbuseReport, SerialVoting, VoteRing, day_id


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
        references the entry it takes back and says why, and is booked in that
        entry's period while it is open (else in the current period, as a debt).
        Kudos a cap held back are reversed too, so they take none of the room
        the sweep frees.

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
        that still stand count, paid or held back by a cap. A group inside a larger
        ring is not listed apart. The same log gives the same rings, ordered
        by their members. Candidates are pruned by the share rule before groups
        are searched (see docs/abuse.md for the cost). Rings are flagged, never
        reversed by themselves:
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
        references it and says why; each reversal is booked in its award's
        period while that is open (else in the current period). Only the named
        group is checked against the ring test. Calling it again changes nothing
        while the ring gave no new kudos; once it did, the same call reverses them.

        Raises:
            NotAllowed: ``by`` is not staff or a moderator, or ``members`` do not
                pass the ring test in ``period``.
            UnknownMember: ``by`` never joined.
            UnknownRecord: ``period`` is not a period of the policy.
            InvalidInput: bad ids, or an empty ``reason``.
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

        ``period`` is a period of the schedule, not closed. While the hold
        stands, closing ``period`` pays the member nothing (and so does every
        later close, once that one carried their balance on under the hold; a
        hold on a period never closed covers nothing later): their whole
        balance moves on to the next open period, its points keeping their
        age, and :meth:`payouts` / :meth:`export_payouts` list the payout
        as ``held`` with what it would have paid and how (the member's choice
        is not spent by a close that holds them). After
        :meth:`release_payout` the first close pays it with the rest. Staff
        who find abuse reverse it (:meth:`reverse_vote_ring`, :meth:`adjust`)
        before releasing. Notifies the member (``payout_under_review``; at the close,
        ``payout_held``).

        Raises:
            UnknownMember: ``member`` or ``by`` never joined.
            NotAllowed: ``by`` is not staff or a moderator, ``by`` is ``member``
                (nobody holds their own payout), or the payout is held already.
            PeriodClosed: ``period`` is closed (its payouts were issued).
            UnknownRecord: ``period`` is not a period of the policy.
            InvalidInput: bad ids, an empty reason, or a period outside the
                times kudos keeps.
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
            NotAllowed: ``by`` is not staff or a moderator, ``by`` is ``member``,
                or the payout is not under review.
            UnknownRecord: ``period`` is not a period of the policy.
            InvalidInput: bad ids, an empty reason, or a period outside the
                times kudos keeps.
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
