"""The :class:`~kudos.Community` methods of referrals (see :mod:`kudos.referrals`)."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Sequence
from datetime import datetime

from .. import _validate as v
from ..engine import core as engine
from ..engine.base import CommunityBase
from ..errors import Conflict, InvalidInput, UnknownRecord
from ..events import (
    ReferralCodeIssued,
    ReferralMade,
    ReferralQualified,
    ReferralReviewed,
    ReferralRevoked,
    ReferralsExpired,
)
from ..model import Outcome
from ..stores.protocol import Transaction
from .rules import _PROGRAMME, STATUSES, Referral, ReferralFigures


def _code_of(tx: Transaction, member: str) -> str | None:
    """``member``'s referral code, or ``None`` before one was issued."""
    engine.get_member(tx, member)
    found = tx.find("referral_code", ref=member, limit=1)
    return found[0].key if found else None


def _figures(tx: Transaction, scope: str, period: str | None) -> ReferralFigures:
    counts = {s: tx.counter(f"referrals_{s}", scope, _PROGRAMME) for s in STATUSES}
    return ReferralFigures(
        period=period, points=tx.counter("referral_points", scope, _PROGRAMME), **counts
    )


def _status(value: object) -> str | None:
    if value is not None and value not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)} (or None), got {value!r}")
    return value


# --- the Community methods -----------------------------------------------------------


class ReferralsAPI(CommunityBase):
    """The :class:`kudos.Community` methods of this capability.

    A referral also shows in :meth:`standing`: the ``referrals`` counter
    (qualified referrals) and ``pending_points`` (what pending referrals
    promise, within the referrer's cap).

    >>> import kudos
    >>> c = kudos.Community()
    >>> _ = c.join("alice")
    >>> _ = c.join("bob", referred_by="alice")
    >>> c.qualify_referral("bob").total("alice")
    1000
    >>> c.referral("bob").status
    'qualified'
    """

    def referral_code(self, member: str) -> str:
        """``member``'s referral code for an invitation link; the same on every call.

        The first call issues a random, non-guessable code (a
        ``ReferralCodeIssued`` event, so replay gives the same code); a
        concurrent first call elsewhere wins and its code is returned. Pass
        it back as ``join(new_member, referral_code=code)``.

        Raises:
            UnknownMember: never joined.
            NotAllowed: the policy has no referral programme.
        """
        v.check_id("member", member)
        code = self._read(lambda tx: _code_of(tx, member))
        if code is not None:
            return code
        # A Conflict means another process issued the member's code first; that one stands.
        with contextlib.suppress(Conflict):
            self.record(ReferralCodeIssued(member=member, code=secrets.token_urlsafe(12)))
        issued = self._read(lambda tx: _code_of(tx, member))
        assert issued is not None
        return issued

    def refer(
        self,
        referrer: str,
        new_member: str,
        *,
        code: str | None = None,
        fingerprints: Sequence[str] = (),
        at: datetime | None = None,
        event_id: str | None = None,
    ) -> Outcome:
        """Record that ``referrer`` brought in ``new_member``, who has already joined.

        For a referral the host learns of after the join (a "recommended by"
        box, an order link). The referral is pending until
        :meth:`qualify_referral`. ``fingerprints`` are opaque hashes of the
        new member's payment method, device or address (never raw personal
        data), used only by the fraud rules.

        Raises:
            UnknownMember: either member never joined.
            NotAllowed: a self-referral, a member referred before, a referral
                cycle, a member who joined too long ago or before the
                referrer, a ``code`` that is not the referrer's, or no
                referral programme.
            UnknownRecord: ``code`` is not a referral code.
        """
        return self.record(
            ReferralMade(
                referrer=referrer,
                member=new_member,
                code=code,
                fingerprints=fingerprints,
                at=at,
                event_id=event_id,
            )
        )

    def qualify_referral(
        self,
        member: str,
        *,
        fingerprints: Sequence[str] = (),
        at: datetime | None = None,
        event_id: str | None = None,
    ) -> Outcome:
        """The referred ``member`` became a real customer: reward the referral.

        Call it when the host's qualifying fact happens (a SIM activated, a
        first top-up). The referrer and the new member are rewarded as
        ``policy.rewards`` says, within the section's cap, with its bonuses;
        unless a fraud rule holds it for staff review. ``fingerprints`` known
        only now (the card of the first top-up) are checked too.

        Raises:
            UnknownRecord: ``member`` has no referral.
            NotAllowed: it is not pending (already qualified, held, expired,
                revoked or rejected), or its window passed.
        """
        return self.record(
            ReferralQualified(member=member, fingerprints=fingerprints, at=at, event_id=event_id)
        )

    def revoke_referral(
        self,
        member: str,
        *,
        reason: str = "revoked",
        at: datetime | None = None,
        event_id: str | None = None,
    ) -> Outcome:
        """The referred ``member`` left or charged back: take the referral's rewards back.

        A qualified referral's rewards (referrer, new member, bonuses) are
        reversed, entry by entry, and it stops counting; a pending or held one
        is simply closed.

        Raises:
            UnknownRecord: ``member`` has no referral.
            NotAllowed: the revocation window passed, or it is already
                revoked, rejected or expired.
        """
        return self.record(ReferralRevoked(member=member, reason=reason, at=at, event_id=event_id))

    def review_referral(
        self,
        member: str,
        *,
        approve: bool,
        by: str,
        at: datetime | None = None,
        event_id: str | None = None,
    ) -> Outcome:
        """Staff decide a referral held for review: approve (rewarded) or reject (nothing paid).

        Raises:
            UnknownRecord: ``member`` has no referral.
            NotAllowed: ``by`` is not staff or a moderator, or the referral is
                not held.
        """
        return self.record(
            ReferralReviewed(member=member, approve=approve, by=by, at=at, event_id=event_id)
        )

    def expire_referrals(
        self, as_of: datetime | None = None, *, event_id: str | None = None
    ) -> Outcome:
        """Expire every referral still pending past its window at ``as_of`` (default: now).

        Safe to run as often as you like (a daily job): a sweep is identified
        by its ``as_of``, and a referral expires once. Each expiry is
        notified to its referrer.

        Raises:
            InvalidInput: ``as_of`` is in the future.
        """
        v.check_optional_time("as_of", as_of)
        now = self.now()
        when = as_of if as_of is not None else now
        if when > now:
            raise InvalidInput(
                f"as_of {when.isoformat()} is in the future; a sweep expires only what "
                "has already run out"
            )
        return self.record(ReferralsExpired(as_of=when, at=now, event_id=event_id))

    # -- queries --------------------------------------------------------------------
    def referral(self, member: str) -> Referral:
        """The referral that brought ``member`` in.

        Raises:
            UnknownRecord: ``member`` was not referred.
        """
        v.check_id("member", member)

        def read(tx: Transaction) -> Referral:
            doc = tx.get("referral", member)
            if doc is None:
                raise UnknownRecord(
                    f"member {member!r} has no referral; record one with "
                    f"join({member!r}, referred_by=...) or refer(referrer, {member!r})"
                )
            return Referral.from_doc(doc, self.policy.referrals)

        return self._read(read)

    def referrals(self, member: str | None = None, *, status: str | None = None) -> list[Referral]:
        """The referrals ``member`` made (every referral when ``None``), oldest first.

        ``status`` keeps one state only: ``referrals(status="held")`` is the
        staff review queue.

        Raises:
            UnknownMember: ``member`` never joined.
            InvalidInput: ``status`` is not one of :data:`STATUSES`.
        """
        wanted = _status(status)
        v.check_optional_id("member", member)

        def read(tx: Transaction) -> list[Referral]:
            if member is not None:
                engine.get_member(tx, member)
            docs = tx.find("referral", ref=member, status=wanted)
            found = [Referral.from_doc(d, self.policy.referrals) for d in docs]
            return sorted(found, key=lambda r: (r.made_at, r.member))

        return self._read(read)

    def referral_figures(self, period: str | None = None) -> ReferralFigures:
        """The programme's figures: referrals by state, points paid, conversion.

        ``period`` (a payback period id, or ``"current"``) counts the
        referrals made in it; ``None`` counts all.

        Raises:
            UnknownRecord: ``period`` is not a period of the policy.
        """
        if period == "current":
            period = self.policy.periods.period_of(self.now())
        if period is not None:
            self.policy.periods.bounds(period)
        scope = period or "all"
        return self._cached(("referral_figures", scope), lambda tx: _figures(tx, scope, period))
