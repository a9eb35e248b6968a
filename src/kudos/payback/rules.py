"""The policy data of payback: attrs classes and constants, no I/O (see :mod:`kudos.payback`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import attrs

from .._validate import sorted_set
from ..errors import InvalidInput, InvalidPolicy
from ..model import Doc

ACTIONS: tuple[str, ...] = ()
"""The policy actions this capability rewards (see :mod:`kudos.policy`): none.

Its ledger entries (``payout``, ``carry_over``, ``lapse``, ``write_off``) move
points the member already has, so no policy may put a price on them."""

METHODS: tuple[str, ...] = ("credit", "cash", "charity")
"""The ways a payout can be made: account credit, cash (e.g. PayPal), a charity donation."""

ROUNDINGS: tuple[str, ...] = ("down", "half-up", "up")
"""How a fraction of a minor unit is rounded."""

LEFTOVER: tuple[str, ...] = ("carry", "lapse")
"""What happens to points that are not paid: carried to the next period, or lapsed."""

STATUSES: tuple[str, ...] = ("issued", "paid", "failed", "held", "released")
"""The states of a payout, in lifecycle order."""

SETTLEMENT_ACTIONS: tuple[str, ...] = ("payout", "carry_over", "lapse", "write_off")
"""The ledger actions closing a period writes (what a statement shows as settlement)."""

PAYOUT_COLUMNS: tuple[str, ...] = (
    "payout",
    "member",
    "period",
    "method",
    "charity",
    "points",
    "currency",
    "amount_minor",
    "amount",
    "base",
    "bonus",
    "uplift",
    "match",
    "status",
    "reference",
    "issued_at",
)
"""The columns of :meth:`PaybackAPI.export_payouts`, in order (a CSV header)."""


_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}


# --- validators -------------------------------------------------------------------


def _whole(inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidPolicy(
            f"payback: {attr.name} must be a whole number, zero or more, got {value!r}"
        )


def _positive(inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidPolicy(
            f"payback: {attr.name} must be a whole number, 1 or more, got {value!r}"
        )


def _flag(inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, bool):
        raise InvalidPolicy(f"payback.{attr.name} must be true or false, got {value!r}")


def _choice(*choices: str) -> Any:
    def check(inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
        if value not in choices:
            raise InvalidPolicy(
                f"payback.{attr.name} must be one of {', '.join(repr(c) for c in choices)}, "
                f"got {value!r}"
            )

    return check


def _divide(numerator: int, denominator: int, rounding: str) -> int:
    """``numerator / denominator`` (both >= 0) as an integer, rounded by ``rounding``."""
    quotient, remainder = divmod(numerator, denominator)
    if not remainder or rounding == "down":
        return quotient
    if rounding == "up":
        return quotient + 1
    return quotient + (1 if 2 * remainder >= denominator else 0)


# --- the policy section ---------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Rate:
    """``minor_units`` of the currency for every ``points`` points.

    Integers only: 1 penny a point is ``Rate(minor_units=1, points=1)``, a
    penny for every 2 points ``Rate(minor_units=1, points=2)``.

    >>> Rate(minor_units=1, points=2).minor_units
    1
    """

    minor_units: int = attrs.field(default=1, validator=_positive)
    points: int = attrs.field(default=1, validator=_positive)


@attrs.frozen(kw_only=True)
class BonusTier:
    """``percent`` extra on the money value of the points earned past ``above``.

    Tiers work like tax bands: with tiers ``above=5000, percent=10`` and
    ``above=10000, percent=20``, points 5,001-10,000 earn 10% more and every
    point past 10,000 earns 20% more; the first 5,000 earn no bonus. A band
    never makes a member worse off for earning one more point.

    >>> BonusTier(above=5_000, percent=10).percent
    10
    """

    above: int = attrs.field(validator=_whole)
    percent: int = attrs.field(validator=_positive)


@attrs.frozen(kw_only=True)
class PayoutMethod:
    """How one payout method (``credit``, ``cash``, ``charity``) is paid.

    Attributes:
        minimum: the least money (minor units, before the uplift) paid this
            way; a member below it is not paid this way (see ``fallback``).
        uplift_percent: extra paid on top, in whole percent (account credit
            worth more than cash costs the company less).
        match_percent: what the company adds, in whole percent, recorded as a
            separate figure (giffgaff matched charity donations pound for pound: 100).
        fallback: the method to pay by instead when this one's minimum is not
            met (one hop; ``None``: the points are left over, see
            ``PaybackRules.below_minimum``).

    >>> PayoutMethod(minimum=1_000).minimum
    1000
    """

    minimum: int = attrs.field(default=0, validator=_whole)
    uplift_percent: int = attrs.field(default=0, validator=_whole)
    match_percent: int = attrs.field(default=0, validator=_whole)
    fallback: str | None = attrs.field(default=None)


def _methods(value: Mapping[str, PayoutMethod]) -> dict[str, PayoutMethod]:
    return dict(value)


def _tiers(value: Iterable[BonusTier]) -> tuple[BonusTier, ...]:
    return tuple(value)


def _optional_name(value: str | None) -> str | None:
    # TOML has no null: an empty string says "none".
    return value or None


def _names(value: Iterable[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else sorted_set(value)


_MINOR_DIGITS = {
    **dict.fromkeys(("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG"), 0),
    **dict.fromkeys(("RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
}
"""ISO 4217 currencies whose minor unit is not a hundredth."""


def minor_digits(currency: str) -> int:
    """Decimal digits of ``currency``'s minor unit by ISO 4217 (``"JPY"``: 0, ``"GBP"``: 2)."""
    return _MINOR_DIGITS.get(str(currency).upper(), 2)


@attrs.frozen(kw_only=True)
class PaybackRules:
    """How a period's points become money (the ``[payback]`` TOML table).

    Attributes:
        enabled: whether the community pays points out at all. When off,
            ``close_period`` and ``set_payout_method`` raise
            :class:`~kudos.NotAllowed` (reputation-only communities).
        currency: ISO 4217 code of the money paid (``"GBP"``).
        currency_digits: decimal digits of its minor unit (2: pence and cents);
            by default the currency's own (0 for ``JPY``, 3 for ``KWD``, else 2).
        rate: what points are worth (:class:`Rate`).
        rounding: ``"down"`` (the default), ``"half-up"`` or ``"up"`` for a
            fraction of a minor unit; applied to the value, bonus, uplift and
            match each.
        bonus_tiers: extra percent on points earned past a threshold (:class:`BonusTier`).
        methods: the payout methods offered, by name (``credit``, ``cash``,
            ``charity``), each a :class:`PayoutMethod`.
        default_method: the method of a member who chose none; ``None`` (``""``
            in TOML): their points are left over as ``unclaimed`` says (giffgaff).
        keep_choice: a member's choice stands until changed; ``false``: a
            choice is used by the next close only, so members pick each
            period (giffgaff).
        charities: the charities a ``charity`` payout may name (empty: any).
        minimum: the least money (minor units) paid to anyone, whatever the method.
        maximum: the most money (minor units, before the uplift) paid to one
            member for one period (0: no maximum).
        below_minimum: ``"carry"`` or ``"lapse"``: points worth less than the minimum.
        over_maximum: ``"carry"`` or ``"lapse"``: points past the maximum.
        unclaimed: ``"carry"`` or ``"lapse"``: points of a member with no method.
        carry_overs: how many times the same points may be carried over;
            carried once more, they lapse (giffgaff: once). 0: left-over points
            always lapse.

    The minimum and maximum compare the value of the points (with the bonus,
    before a method's uplift), so the method chosen never changes how many
    points are paid.

    ::

        [payback]
        currency = "GBP"
        rate = { minor_units = 1, points = 1 }
        default_method = "credit"
        carry_overs = 1

        [payback.methods]
        credit = { uplift_percent = 10 }
        cash = { minimum = 1000 }
        charity = { match_percent = 100 }

        [[payback.bonus_tiers]]
        above = 5000
        percent = 10

    Raises:
        InvalidPolicy: a value is out of range, a method is unknown, or the
            maximum is below a minimum.
    """

    enabled: bool = attrs.field(default=True, validator=_flag)
    currency: str = attrs.field(default="GBP")
    currency_digits: int = attrs.field(
        default=attrs.Factory(lambda self: minor_digits(self.currency), takes_self=True)
    )
    rate: Rate = attrs.field(factory=Rate)
    rounding: str = attrs.field(default="down", validator=_choice(*ROUNDINGS))
    bonus_tiers: tuple[BonusTier, ...] = attrs.field(default=(), converter=_tiers)
    methods: Mapping[str, PayoutMethod] = attrs.field(
        factory=lambda: {"credit": PayoutMethod()}, converter=_methods
    )
    default_method: str | None = attrs.field(default="credit", converter=_optional_name)
    keep_choice: bool = attrs.field(default=True, validator=_flag)
    charities: tuple[str, ...] = attrs.field(default=(), converter=_names)
    minimum: int = attrs.field(default=0, validator=_whole)
    maximum: int = attrs.field(default=0, validator=_whole)
    below_minimum: str = attrs.field(default="carry", validator=_choice(*LEFTOVER))
    over_maximum: str = attrs.field(default="carry", validator=_choice(*LEFTOVER))
    unclaimed: str = attrs.field(default="carry", validator=_choice(*LEFTOVER))
    carry_overs: int = attrs.field(default=1, validator=_whole)

    @currency.validator
    def _check_currency(self, attr: attrs.Attribute[str], value: Any) -> None:
        if (
            not isinstance(value, str)
            or len(value) != 3
            or not value.isalpha()
            or (value != value.upper())
        ):
            raise InvalidPolicy(
                f"payback.currency must be an ISO 4217 code such as 'GBP', got {value!r}"
            )

    @currency_digits.validator
    def _check_digits(self, attr: attrs.Attribute[int], value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 4:
            raise InvalidPolicy(f"payback.currency_digits must be 0-4, got {value!r}")

    def __attrs_post_init__(self) -> None:
        for name, method in self.methods.items():
            if name not in METHODS:
                raise InvalidPolicy(
                    f"payback.methods: unknown method {name!r}; methods are {', '.join(METHODS)}"
                )
            if not isinstance(method, PayoutMethod):
                raise InvalidPolicy(f"payback.methods.{name} must be a table, got {method!r}")
            if method.fallback is not None and (
                method.fallback not in self.methods or method.fallback == name
            ):
                raise InvalidPolicy(
                    f"payback.methods.{name}.fallback must name another offered method "
                    f"({', '.join(m for m in self.methods if m != name) or 'none'}), "
                    f"got {method.fallback!r}"
                )
            if self.maximum and method.minimum > self.maximum:
                raise InvalidPolicy(
                    f"payback.methods.{name}.minimum ({method.minimum}) is above "
                    f"payback.maximum ({self.maximum}); nobody could be paid that way"
                )
        if self.enabled and not self.methods:
            raise InvalidPolicy(
                "payback.methods is empty; offer at least one method or set payback.enabled = false"
            )
        if self.default_method is not None and self.default_method not in self.methods:
            raise InvalidPolicy(
                f"payback.default_method {self.default_method!r} is not an offered method "
                f"({', '.join(self.methods)}); leave it out to carry unclaimed points over"
            )
        if self.maximum and self.minimum > self.maximum:
            raise InvalidPolicy(
                f"payback.minimum ({self.minimum}) is above payback.maximum ({self.maximum})"
            )
        aboves = [t.above for t in self.bonus_tiers]
        if aboves != sorted(set(aboves)):
            raise InvalidPolicy(
                "payback.bonus_tiers must be listed by rising 'above', each threshold once; "
                f"got {aboves}"
            )
        for charity in self.charities:
            if not isinstance(charity, str) or not charity.strip():
                raise InvalidPolicy(f"payback.charities must hold names, got {charity!r}")

    # -- money ------------------------------------------------------------------------
    def base(self, points: int) -> int:
        """What ``points`` are worth at the rate, in minor units (rounded).

        >>> PaybackRules(rate=Rate(minor_units=1, points=2)).base(5)
        2
        """
        return _divide(points * self.rate.minor_units, self.rate.points, self.rounding)

    def bonus(self, points: int) -> int:
        """The bonus the tiers add to ``points``, in minor units (rounded).

        >>> PaybackRules(bonus_tiers=[BonusTier(above=5_000, percent=10)]).bonus(6_000)
        100
        """
        weighted = 0
        for i, tier in enumerate(self.bonus_tiers):
            if points <= tier.above:
                break
            top = self.bonus_tiers[i + 1].above if i + 1 < len(self.bonus_tiers) else points
            weighted += (min(points, top) - tier.above) * tier.percent
        if not weighted:
            return 0
        return _divide(weighted * self.rate.minor_units, self.rate.points * 100, self.rounding)

    def value(self, points: int) -> int:
        """``base + bonus``: the money ``points`` are worth before a method's uplift."""
        return self.base(points) + self.bonus(points)

    def format(self, amount: int) -> str:
        """``amount`` minor units for people: ``"£12.50"``, ``"12.50 CHF"``.

        >>> PaybackRules().format(123_456)
        '£1,234.56'
        """
        sign = "-" if amount < 0 else ""
        whole, fraction = divmod(abs(amount), 10**self.currency_digits)
        text = f"{whole:,}" + (
            f".{fraction:0{self.currency_digits}d}" if self.currency_digits else ""
        )
        symbol = _SYMBOLS.get(self.currency)
        return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {self.currency}"

    def decimal(self, amount: int) -> str:
        """``amount`` minor units as a plain decimal string (``"12.50"``), for finance files."""
        sign = "-" if amount < 0 else ""
        whole, fraction = divmod(abs(amount), 10**self.currency_digits)
        if not self.currency_digits:
            return f"{sign}{whole}"
        return f"{sign}{whole}.{fraction:0{self.currency_digits}d}"

    # -- converting -----------------------------------------------------------------
    def convert(
        self,
        points: int,
        *,
        method: str | None = None,
        charity: str | None = None,
        carried: Iterable[int] = (),
    ) -> Conversion:
        """Convert a member's positive period balance into a payout and left-overs.

        A pure function of the rules: :meth:`PaybackAPI.close_period` calls
        it for every member, and a test or a what-if can call it directly.

        Args:
            points: the member's balance in the period (> 0).
            method: the method the member chose, or ``None`` (the policy's
                ``default_method`` then applies); a method the policy does not
                offer counts as no choice.
            charity: the charity named with a ``charity`` choice.
            carried: points of the balance carried in from earlier periods, by
                how many times they were carried (index 0: once). The oldest
                points are paid first; left-over points carried
                ``carry_overs`` times already lapse.

        Returns:
            a :class:`Conversion` (without member and period), where
            ``paid_points + carried_over + lapsed == points``.

        Raises:
            InvalidInput: ``points`` is not a positive whole number.

        >>> rules = preset("giffgaff")
        >>> c = rules.convert(600, method="cash")
        >>> (c.paid_points, c.carried_over, c.reason)
        (0, 600, 'its value £6.00 is below the £10.00 minimum for cash')
        >>> c = rules.convert(600, method="charity")
        >>> (c.amount, c.match)
        (600, 600)
        """
        if isinstance(points, bool) or not isinstance(points, int) or points < 1:
            raise InvalidInput(f"convert() takes a positive whole number of points, got {points!r}")
        buckets = _buckets(points, list(carried))
        carried_in = sum(size for times, size in buckets if times)
        name = method if method in self.methods else None
        name = name or self.default_method
        paid, mode, reason = 0, self.unclaimed, "no payout method was chosen"
        if name is not None:
            name, paid, mode, reason = self._payable(points, name)
        left = _consume(buckets, paid)
        carry: list[int] = [0] * self.carry_overs
        lapsed = 0
        expired = 0
        for times, size in left:
            if mode == "lapse":
                lapsed += size
            elif times >= self.carry_overs:
                lapsed += size
                expired += size
            else:
                carry[times] += size
        if expired:
            reason += (
                f"; {expired} of them were carried over {_times(self.carry_overs)} already "
                "and lapse"
                if self.carry_overs
                else "; left-over points lapse"
            )
        while carry and not carry[-1]:
            carry.pop()
        base = self.base(paid) if paid else 0
        bonus = self.bonus(paid) if paid else 0
        rules = self.methods[name] if paid and name is not None else PayoutMethod()
        uplift = _divide((base + bonus) * rules.uplift_percent, 100, self.rounding)
        amount = base + bonus + uplift
        match = _divide(amount * rules.match_percent, 100, self.rounding)
        return Conversion(
            points=points,
            carried_in=carried_in,
            method=name if paid else None,
            charity=charity if paid and name == "charity" else None,
            paid_points=paid,
            base=base,
            bonus=bonus,
            uplift=uplift,
            amount=amount,
            match=match,
            currency=self.currency,
            carried=tuple(carry),
            lapsed=lapsed,
            reason="" if paid == points else reason,
        )

    def _payable(self, points: int, name: str, hops: int = 0) -> tuple[str, int, str, str]:
        """``(method, points paid, left-over mode, reason)`` for ``points`` paid by ``name``."""
        method = self.methods[name]
        paid, mode, reason = points, self.over_maximum, ""
        if self.maximum and self.value(points) > self.maximum:
            paid = self._most_within(points, self.maximum)
            reason = f"{self.format(self.maximum)} is the most paid to one member for a period"
        minimum = max(1, self.minimum, method.minimum)
        worth = self.value(paid)
        if worth < minimum:
            if method.fallback is not None and not hops:
                return self._payable(points, method.fallback, hops + 1)
            return (
                name,
                0,
                self.below_minimum,
                f"its value {self.format(worth)} is below the {self.format(minimum)} "
                f"minimum for {name}",
            )
        return name, paid, mode, reason

    def _most_within(self, points: int, limit: int) -> int:
        """The most points (at most ``points``) whose value is at most ``limit``."""
        low, high = 0, points
        while low < high:
            mid = (low + high + 1) // 2
            if self.value(mid) <= limit:
                low = mid
            else:
                high = mid - 1
        return low


def _times(n: int) -> str:
    return "once" if n == 1 else "twice" if n == 2 else f"{n} times"


def _buckets(points: int, carried: list[int]) -> list[tuple[int, int]]:
    """``points`` split into ``(times carried, size)``, oldest first, fresh points last."""
    out = []
    left = points
    for times in range(len(carried), 0, -1):
        take = min(max(carried[times - 1], 0), left)
        left -= take
        if take:
            out.append((times, take))
    if left:
        out.append((0, left))
    return out


def _consume(buckets: list[tuple[int, int]], paid: int) -> list[tuple[int, int]]:
    """What is left of ``buckets`` once ``paid`` points are taken, oldest first."""
    left = []
    for times, size in buckets:
        take = min(size, paid)
        paid -= take
        if size > take:
            left.append((times, size - take))
    return left


def preset(name: str) -> PaybackRules:
    """The section of the ``name`` preset (``"giffgaff"`` or ``"stackexchange"``).

    giffgaff (``docs/payback.md`` cites the sources): 1 point = 1p (GBP, 500
    points = £5), paid as airtime credit, cash via PayPal only from £10
    (1,000 points), or a charity donation that giffgaff matches pound for
    pound. The member picks each period; a member who misses the selection
    has the points roll over once, and points unclaimed a second time are
    cancelled. No minimum is published for credit or charity, so none is
    set, and no bonus, uplift or maximum is published either. Stack Exchange
    pays nothing out: its periods are reputation-league spans.

    Raises:
        InvalidPolicy: no preset has that name.

    >>> preset("giffgaff").methods["cash"].minimum
    1000
    >>> preset("stackexchange").enabled
    False
    """
    if name == "giffgaff":
        return PaybackRules(
            currency="GBP",
            rate=Rate(minor_units=1, points=1),
            methods={
                "credit": PayoutMethod(),
                "cash": PayoutMethod(minimum=1_000),
                "charity": PayoutMethod(match_percent=100),
            },
            default_method=None,
            keep_choice=False,
            below_minimum="carry",
            unclaimed="carry",
            carry_overs=1,
        )
    if name == "stackexchange":
        return PaybackRules(enabled=False, methods={}, default_method=None)
    raise InvalidPolicy(f"no payback preset {name!r}; presets: giffgaff, stackexchange")


# --- values ------------------------------------------------------------------------


def payout_key(period: str, member: str) -> str:
    """The id of ``member``'s payout for ``period`` (``"2026-H2:alice"``)."""
    return f"{period}:{member}"


def _ints(value: Iterable[int]) -> tuple[int, ...]:
    return tuple(value)


def _when(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@attrs.frozen(kw_only=True)
class Conversion:
    """How one member's points of one period were converted.

    Attributes:
        member: the member (``None`` from :meth:`PaybackRules.convert`).
        period: the period closed (``None`` from :meth:`PaybackRules.convert`).
        points: the member's balance in the period: what was converted.
        carried_in: how much of it had been carried in from earlier periods.
        method: the method paid by (``None`` when nothing was paid).
        charity: the charity named, for a ``charity`` payout.
        paid_points: the points paid out.
        base: their value at the rate (minor units).
        bonus: the bonus tiers' extra (minor units).
        uplift: the method's uplift (minor units).
        amount: ``base + bonus + uplift``: the money paid.
        match: what the company adds (a matched donation), not part of ``amount``.
        currency: the currency of the figures.
        carried: points carried over to the next period, by how many times
            they have now been carried (index 0: once).
        carried_to: the period they were carried to.
        lapsed: points that lapsed.
        debt: points owed (a negative balance, e.g. a reversal of points
            already paid) carried to the next period.
        reason: why not every point was paid (empty when all were).
        payout: the id of the payout, when something was paid (or held).
        held: points not paid because the payout was under review at the
            close (``hold_payout``); they wait in ``carried_to`` for the release.
    """

    member: str | None = None
    period: str | None = None
    points: int = 0
    carried_in: int = 0
    method: str | None = None
    charity: str | None = None
    paid_points: int = 0
    base: int = 0
    bonus: int = 0
    uplift: int = 0
    amount: int = 0
    match: int = 0
    currency: str = "GBP"
    carried: tuple[int, ...] = attrs.field(default=(), converter=_ints)
    carried_to: str | None = None
    lapsed: int = 0
    debt: int = 0
    reason: str = ""
    payout: str | None = None
    held: int = 0

    @property
    def carried_over(self) -> int:
        """Points carried over to the next period."""
        return sum(self.carried)

    def data(self) -> dict[str, Any]:
        """The conversion as JSON data (what its document holds)."""
        out = {name: getattr(self, name) for name in _CONVERSION_FIELDS}
        out["carried"] = list(self.carried)
        return out

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Conversion:
        """The conversion :meth:`data` wrote."""
        return cls(**data)


_CONVERSION_FIELDS = tuple(f.name for f in attrs.fields(Conversion))


@attrs.frozen(kw_only=True)
class Payout:
    """One member's payout for one closed period.

    Attributes:
        id: ``"<period>:<member>"`` (:func:`payout_key`).
        member: who is paid.
        period: the period it pays out.
        points: the points it converted (debited from the period by a
            ``payout`` ledger entry).
        amount: the money to pay, in minor units of ``currency``
            (``base + bonus + uplift``).
        currency: ISO 4217 code.
        method: ``credit``, ``cash`` or ``charity``.
        charity: the charity named, for a donation.
        base: the points' value at the rate.
        bonus: what bonus tiers added.
        uplift: what the method's uplift added.
        match: what the company adds to a donation, outside ``amount``.
        status: ``issued``, then ``paid`` or ``failed``; ``held`` when the member
            was under review at the close (nothing was issued: ``points`` and
            ``amount`` say what it would have paid), ``released`` once the
            review ended (the points are paid at the next close).
        hold_reason: why staff held it (``held`` and ``released`` payouts).
        reference: the host's own reference once paid (a PayPal transaction id ...).
        failure_reason: why paying it failed.
        issued_at: when the period was closed.
        settled_at: when it was reported paid or failed.
    """

    id: str
    member: str
    period: str
    points: int
    amount: int
    currency: str
    method: str
    charity: str | None = None
    base: int = 0
    bonus: int = 0
    uplift: int = 0
    match: int = 0
    status: str = "issued"
    reference: str | None = None
    failure_reason: str | None = None
    issued_at: datetime | None = None
    settled_at: datetime | None = None
    hold_reason: str | None = None

    @classmethod
    def from_doc(cls, doc: Doc) -> Payout:
        """The payout a ``payout`` document holds."""
        d = doc.data
        return cls(
            id=doc.key,
            member=d["member"],
            period=d["period"],
            points=d["points"],
            amount=d["amount"],
            currency=d["currency"],
            method=d["method"],
            charity=d.get("charity"),
            base=d.get("base", 0),
            bonus=d.get("bonus", 0),
            uplift=d.get("uplift", 0),
            match=d.get("match", 0),
            status=doc.status or "issued",
            reference=d.get("reference"),
            failure_reason=d.get("failure_reason"),
            issued_at=_when(d.get("issued_at")),
            settled_at=_when(d.get("settled_at")),
            hold_reason=d.get("hold_reason"),
        )


@attrs.frozen(kw_only=True)
class PayoutChoice:
    """How a member will be paid at the next close.

    Attributes:
        member: the member.
        method: the method that applies (``None``: none chosen and no default,
            so the points will be left over).
        charity: the charity named with a ``charity`` choice.
        chosen: whether the member chose it (``False``: the policy's default).
        chosen_at: when they chose it.
    """

    member: str
    method: str | None
    charity: str | None = None
    chosen: bool = False
    chosen_at: datetime | None = None


@attrs.frozen(kw_only=True)
class PaybackPeriod:
    """A payback period: its span, whether it is closed, and its totals once closed.

    Attributes:
        id: the period id (``"2026-H2"``).
        start: its first instant (UTC).
        end: the instant after its last (UTC).
        status: ``open`` (not ended), ``ended`` (awaiting ``close_period``) or ``closed``.
        closed_at: when it was closed.
        closed_by: who closed it, if the host said.
        currency: the currency of the money figures.
        members: members whose balance was settled.
        points: points converted (every positive balance).
        paid_points: points paid out.
        carried_over: points carried to ``carried_to``.
        carried_to: the next open period.
        lapsed: points that lapsed.
        debts: points owed by members with a negative balance, carried to the next period.
        payouts: how many payouts were issued.
        amount: money issued (minor units).
        match: what the company adds to donations on top.
        by_method: money issued per method.
        paid: money of the payouts reported paid.
        failed: money of the payouts reported failed.
        held: points of members under review at the close, moved on unpaid to
            ``carried_to`` (see ``Community.hold_payout``).

    ``paid_points + carried_over + lapsed + held == points``.
    """

    id: str
    start: datetime
    end: datetime
    status: str
    closed_at: datetime | None = None
    closed_by: str | None = None
    currency: str | None = None
    members: int = 0
    points: int = 0
    paid_points: int = 0
    carried_over: int = 0
    carried_to: str | None = None
    lapsed: int = 0
    debts: int = 0
    payouts: int = 0
    amount: int = 0
    match: int = 0
    by_method: Mapping[str, int] = attrs.field(factory=dict, converter=dict)
    paid: int = 0
    failed: int = 0
    held: int = 0

    @property
    def outstanding(self) -> int:
        """Money issued and not yet reported paid or failed."""
        return self.amount - self.paid - self.failed


@attrs.frozen(kw_only=True)
class PayoutComparison:
    """A closed period's payouts now and under another policy (from ``simulate``).

    Attributes:
        period: the period.
        currency: the currency now.
        before: money issued under the current policy (minor units).
        after: money the other policy would have issued (0 if it pays nothing
            or refuses the close).
        other_currency: the other policy's currency (``None`` when it paid nothing).
        payouts_before: payouts issued now.
        payouts_after: payouts the other policy would have issued.
    """

    period: str
    currency: str
    before: int
    after: int
    other_currency: str | None = None
    payouts_before: int = 0
    payouts_after: int = 0

    @property
    def change(self) -> int:
        """``after - before``: negative when the other policy pays less."""
        return self.after - self.before


# --- reads ---------------------------------------------------------------------------

PROGRAMME = ""
"""The subject of programme-wide counters: no member id is empty."""


# The engine half (handlers, statement, standing and simulation parts) needs the names above.
