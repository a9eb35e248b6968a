"""Referrals: a member brings in a customer and is rewarded once it sticks.

A referral is recorded when a new member joins through someone
(``join("bob", referred_by="alice")`` or ``join("bob", referral_code=code)``)
or is reported later (``refer("alice", "bob")``). It then moves through:

* ``pending``: waiting for the host to say the new member became a real
  customer (:meth:`ReferralsAPI.qualify_referral`, e.g. on SIM activation or
  first top-up); after the policy's window it ``expired`` (a sweep,
  :meth:`ReferralsAPI.expire_referrals`);
* ``qualified``: both are rewarded (the ``referral_qualified`` and
  ``referral_welcome`` actions of ``policy.rewards``, the section's caps and
  bonuses); within the revocation window the host may report that the
  customer left or charged back, and the referral is ``revoked``: every
  reward is taken back by reversal;
* ``held``: it qualified but a fraud rule fired (a fingerprint shared with the
  referrer, or one seen on too many recent referrals); staff approve it
  (rewarded, ``qualified``) or reject it (``rejected``, nothing paid) with
  :meth:`ReferralsAPI.review_referral`.

Self-referrals, referral cycles and referring a member twice are refused
outright. The rules are the policy's ``referrals`` section,
:class:`ReferralRules` (see ``docs/referrals.md``).

Documents kept (kind: key -> data, rebuilt exactly by replay):

* ``referral``: the new member -> the referral (ref = referrer, status = its state);
* ``referral_code``: code -> the member it belongs to (ref = member);
* ``fingerprint``: fingerprint and member -> when it was seen (ref = fingerprint);
* ``member_fingerprints``: member -> every fingerprint reported for them.

Counters: ``referrals`` (qualified referrals of a referrer, all-time, per
period and per day, what leaderboards rank); ``cap:referrals`` (rewarded
referrals per period and ``ever``) and ``cap:referral_bonus`` (live bonuses per
tier), for the caps and bonuses; and the programme's figures
``referrals_<status>`` and ``referral_points`` under the empty subject (per
period the referral was made in, and all-time).

Notifications: ``referral_qualified`` (to the referrer), ``referral_welcome``
(to the new member), ``referral_held`` (to the referrer, and with the reasons
to every staff member and moderator), ``referral_rejected``,
``referral_revoked`` and ``referral_expired`` (to the referrer).
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

import attrs

from . import _engine as engine
from . import _validate as v
from ._base import CommunityBase
from .errors import Conflict, InvalidInput, InvalidPolicy, UnknownRecord
from .events import (
    ReferralCodeIssued,
    ReferralMade,
    ReferralQualified,
    ReferralReviewed,
    ReferralRevoked,
    ReferralsExpired,
)
from .model import Doc, Outcome
from .stores.protocol import Transaction

ACTIONS: tuple[str, ...] = ("referral_qualified", "referral_welcome")
"""The policy actions this capability rewards (see :mod:`kudos.policy`)."""

STATUSES: tuple[str, ...] = ("pending", "qualified", "held", "rejected", "expired", "revoked")
"""Every state a referral can be in, in lifecycle order."""

_BONUS_SPANS = ("period", "all")

__all__ = [
    "ACTIONS",
    "STATUSES",
    "Referral",
    "ReferralBonus",
    "ReferralFigures",
    "ReferralRules",
    "ReferralsAPI",
    "preset",
]


# --- the policy section ----------------------------------------------------------


def _whole(where: str) -> Any:
    def check(inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidPolicy(
                f"{where}.{attr.name} must be a whole number, zero or more, got {value!r}"
            )

    return check


def _flag(where: str) -> Any:
    def check(inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, bool):
            raise InvalidPolicy(f"{where}.{attr.name} must be true or false, got {value!r}")

    return check


def _signed(inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidPolicy(f"referrals.bonuses.{attr.name} must be a whole number, got {value!r}")


@attrs.frozen(kw_only=True)
class ReferralBonus:
    """An extra reward for the referrer's ``nth`` rewarded referral.

    Attributes:
        nth: which rewarded referral earns it (1 = the first).
        points: extra points to the referrer.
        reputation: extra reputation to the referrer.
        per: ``"period"`` counts rewarded referrals in the payback period,
            ``"all"`` over the referrer's lifetime (a first-recruit bonus).
        within_days_of_joining: only when the referral is rewarded within this
            many days of the referrer joining (0: any time).

    A bonus is paid once per tier: if the referral that earned it is revoked,
    the bonus goes with it and the next referral to reach ``nth`` earns it again.

    >>> ReferralBonus(nth=5, points=1000).per
    'period'
    """

    nth: int = attrs.field(validator=_whole("referrals.bonuses"))
    points: int = attrs.field(default=0, validator=_signed)
    reputation: int = attrs.field(default=0, validator=_signed)
    per: str = attrs.field(default="period")
    within_days_of_joining: int = attrs.field(default=0, validator=_whole("referrals.bonuses"))

    @per.validator
    def _check_per(self, attr: attrs.Attribute[str], value: str) -> None:
        if value not in _BONUS_SPANS:
            raise InvalidPolicy(f"referrals.bonuses.per must be 'period' or 'all', got {value!r}")

    def __attrs_post_init__(self) -> None:
        if self.nth < 1:
            raise InvalidPolicy("referrals.bonuses.nth must be 1 or more (1 = the first)")
        if not (self.points or self.reputation):
            raise InvalidPolicy(
                f"referrals.bonuses: the bonus for referral #{self.nth} gives nothing; "
                "set points or reputation"
            )

    @property
    def tier(self) -> str:
        """``"period|5"`` or ``"all|1"``: which count and which position it rewards."""
        return f"{self.per}|{self.nth}"


def _bonuses(value: Iterable[ReferralBonus]) -> tuple[ReferralBonus, ...]:
    return tuple(value)


@attrs.frozen(kw_only=True)
class ReferralRules:
    """The referral programme of a policy (the ``[referrals]`` TOML table).

    What a qualified referral earns is ``policy.rewards`` (``referral_qualified``
    for the referrer, ``referral_welcome`` for the new member); this section
    says when, how often, and what is suspicious.

    Attributes:
        enabled: whether the community runs a referral programme. When off,
            ``refer``/``qualify_referral``/``referral_code`` raise
            :class:`~kudos.NotAllowed` and referrers given on ``join`` are ignored.
        expire_after_days: a referral still pending this many days after it
            was made expires (0: never).
        revoke_within_days: a rewarded referral can be revoked (the customer
            left or charged back) for this many days after its rewards were
            given (0: any time).
        refer_within_days: ``refer()`` accepts a member who joined at most this
            many days earlier (0: any time); referrals bring in *new* members.
        max_rewarded_per_period: rewarded referrals per referrer per payback
            period (0: no cap). Referrals past it still qualify and count,
            and the new member is still welcomed, but the referrer earns nothing.
        bonuses: extra rewards for the nth rewarded referral (:class:`ReferralBonus`).
        refuse_cycles: refuse a referral whose referrer was, directly or down
            a chain, brought in by the new member.
        hold_shared_with_referrer: hold a referral for review when it shares a
            fingerprint with its referrer.
        max_referrals_per_fingerprint: hold a referral for review when one of
            its fingerprints is already on this many other referrals made
            within ``fingerprint_window_days`` of it (0: no such rule).
        fingerprint_window_days: the span of that rule (0: any time).
        notify_staff: tell every staff member and moderator of a held referral,
            with the reasons (the referrer is told only that it is held).

    ::

        [referrals]
        expire_after_days = 120
        max_rewarded_per_period = 15

        [[referrals.bonuses]]
        nth = 5
        points = 1000

    Raises:
        InvalidPolicy: a value is negative or not a whole number, or two
            bonuses reward the same referral.
    """

    enabled: bool = attrs.field(default=True, validator=_flag("referrals"))
    expire_after_days: int = attrs.field(default=90, validator=_whole("referrals"))
    revoke_within_days: int = attrs.field(default=90, validator=_whole("referrals"))
    refer_within_days: int = attrs.field(default=30, validator=_whole("referrals"))
    max_rewarded_per_period: int = attrs.field(default=0, validator=_whole("referrals"))
    bonuses: tuple[ReferralBonus, ...] = attrs.field(default=(), converter=_bonuses)
    refuse_cycles: bool = attrs.field(default=True, validator=_flag("referrals"))
    hold_shared_with_referrer: bool = attrs.field(default=True, validator=_flag("referrals"))
    max_referrals_per_fingerprint: int = attrs.field(default=3, validator=_whole("referrals"))
    fingerprint_window_days: int = attrs.field(default=30, validator=_whole("referrals"))
    notify_staff: bool = attrs.field(default=True, validator=_flag("referrals"))

    def __attrs_post_init__(self) -> None:
        tiers = [b.tier for b in self.bonuses]
        twice = sorted({t for t in tiers if tiers.count(t) > 1})
        if twice:
            raise InvalidPolicy(
                f"referrals.bonuses: more than one bonus for {', '.join(twice)} "
                "(per|nth); merge them into one"
            )

    def expires_at(self, made_at: datetime) -> datetime | None:
        """When a referral made at ``made_at`` expires if still pending (``None``: never)."""
        return made_at + timedelta(days=self.expire_after_days) if self.expire_after_days else None

    def revocable_until(self, rewarded_at: datetime) -> datetime | None:
        """Until when a referral rewarded at ``rewarded_at`` may be revoked (``None``: always)."""
        days = self.revoke_within_days
        return rewarded_at + timedelta(days=days) if days else None


def preset(name: str) -> ReferralRules:
    """The section of the ``name`` preset (``"giffgaff"`` or ``"stackexchange"``).

    giffgaff (2019 rules, ``docs/referrals.md`` cites them): recruits must
    become customers within 120 days; 15 recruits a payback period are paid
    (500 points each, set in the preset's rewards); the first recruit pays a
    further 500 points when it qualifies within 6 weeks (42 days) of the
    recruiter joining. Stack Exchange has no referral programme.

    Raises:
        InvalidPolicy: no preset has that name.

    >>> preset("giffgaff").max_rewarded_per_period
    15
    """
    if name == "giffgaff":
        return ReferralRules(
            expire_after_days=120,
            revoke_within_days=120,
            max_rewarded_per_period=15,
            bonuses=(ReferralBonus(nth=1, per="all", points=500, within_days_of_joining=42),),
        )
    if name == "stackexchange":
        return ReferralRules(enabled=False)
    raise InvalidPolicy(f"no referrals preset {name!r}; presets: giffgaff, stackexchange")


# --- values ----------------------------------------------------------------------


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@attrs.frozen(kw_only=True)
class Referral:
    """One referral: who brought whom, where it stands and what it earned.

    Attributes:
        member: the member brought in.
        referrer: the member who brought them.
        status: one of :data:`STATUSES`.
        made_at: when the referral was recorded.
        code: the referral code used, if any.
        fingerprints: the opaque fingerprints reported for the new member.
        expires_at: while pending, when it expires (``None``: never).
        qualified_at: when the host said it qualified.
        rewarded_at: when its rewards were given (on qualifying, or on approval).
        revocable_until: while qualified, until when it may be revoked.
        held_reasons: why a fraud rule held it.
        reviewed_by: the staff member who approved or rejected it.
        reviewed_at: when.
        revoked_at: when it was revoked.
        revoke_reason: why (the host's words).
        expired_at: when it expired (the end of its window).
        points: points the referrer holds from it (bonuses included; 0 once revoked).
        reputation: reputation the referrer holds from it.
        welcome_points: points the new member holds from it.
        capped: qualified past the referrer's cap, so the referrer earned nothing.
        event_id: the event whose ledger entries are its rewards.
    """

    member: str
    referrer: str
    status: str
    made_at: datetime
    code: str | None = None
    fingerprints: tuple[str, ...] = ()
    expires_at: datetime | None = None
    qualified_at: datetime | None = None
    rewarded_at: datetime | None = None
    revocable_until: datetime | None = None
    held_reasons: tuple[str, ...] = ()
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    revoked_at: datetime | None = None
    revoke_reason: str | None = None
    expired_at: datetime | None = None
    points: int = 0
    reputation: int = 0
    welcome_points: int = 0
    capped: bool = False
    event_id: str | None = None

    @classmethod
    def from_doc(cls, doc: Doc, rules: ReferralRules) -> Referral:
        """The referral a ``referral`` document holds, its windows under ``rules``."""
        d = doc.data
        made = datetime.fromisoformat(d["made_at"])
        rewarded = _when(d.get("rewarded_at"))
        status = d["status"]
        live = status == "qualified"
        rewards: Mapping[str, int] = d.get("rewards") or {}
        return cls(
            member=d["member"],
            referrer=d["referrer"],
            status=status,
            made_at=made,
            code=d.get("code"),
            fingerprints=tuple(d.get("fingerprints", ())),
            expires_at=rules.expires_at(made) if status == "pending" else None,
            qualified_at=_when(d.get("qualified_at")),
            rewarded_at=rewarded,
            revocable_until=rules.revocable_until(rewarded) if live and rewarded else None,
            held_reasons=tuple(d.get("held_reasons", ())),
            reviewed_by=d.get("reviewed_by"),
            reviewed_at=_when(d.get("reviewed_at")),
            revoked_at=_when(d.get("revoked_at")),
            revoke_reason=d.get("revoke_reason"),
            expired_at=_when(d.get("expired_at")),
            points=rewards.get("referrer_points", 0) if live else 0,
            reputation=rewards.get("referrer_reputation", 0) if live else 0,
            welcome_points=rewards.get("welcome_points", 0) if live else 0,
            capped=bool(d.get("capped")),
            event_id=d.get("reward_event"),
        )


@attrs.frozen(kw_only=True)
class ReferralFigures:
    """How a referral programme is doing: referrals by state, and what they paid.

    Counts are of the referrals *made* in ``period`` (all of them when
    ``None``), by the state each is in now.

    Attributes:
        period: the payback period the referrals were made in, or ``None``.
        pending, qualified, held, rejected, expired, revoked: referrals in each state.
        points: points the programme pays for them now (referrers, new
            members and bonuses; net of revocations).

    >>> f = ReferralFigures(period=None, pending=1, qualified=3, expired=1, revoked=1)
    >>> f.made, f.conversion, f.conversion_per_mille
    (6, Fraction(1, 2), 500)
    """

    period: str | None
    pending: int = 0
    qualified: int = 0
    held: int = 0
    rejected: int = 0
    expired: int = 0
    revoked: int = 0
    points: int = 0

    @property
    def made(self) -> int:
        """Every referral counted, whatever its state."""
        return sum(getattr(self, s) for s in STATUSES)

    @property
    def conversion(self) -> Fraction:
        """Qualified referrals over referrals made, exactly (0 when none were made)."""
        return Fraction(self.qualified, self.made) if self.made else Fraction(0)

    @property
    def conversion_per_mille(self) -> int:
        """The conversion in thousandths, rounded down (an integer to store or show)."""
        return self.qualified * 1000 // self.made if self.made else 0


# --- reads -------------------------------------------------------------------------

_PROGRAMME = ""
"""The subject of programme-wide counters: no member id is empty."""


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


# The engine half (handlers, the join hook, the standing part) needs the names above.
from . import _referrals  # noqa: E402, F401
