"""The policy data of referrals: attrs classes and constants, no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

import attrs

from ..errors import InvalidPolicy
from ..model import Doc

ACTIONS: tuple[str, ...] = ("referral_qualified", "referral_welcome")
"""The policy actions this capability rewards (see :mod:`kudos.policy`)."""

STATUSES: tuple[str, ...] = ("pending", "qualified", "held", "rejected", "expired", "revoked")
"""Every state a referral can be in, in lifecycle order."""

_BONUS_SPANS = ("period", "all")


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


# The engine half (handlers, the join hook, the standing part) needs the names above.
