"""Payback periods: which span of time a point is earned in.

A :class:`Periods` schedule names every instant's period with a short id:

* ``"half-year"``: two six-month periods a year starting in ``start_month``
  (giffgaff: December and June, ids ``2026-H1`` for 1 Dec 2025 - 31 May 2026
  and ``2026-H2`` for 1 Jun - 30 Nov 2026; a period is named by the year it
  ends in);
* ``"quarter"`` (``2026-Q3``), ``"month"`` (``2026-11``);
* ``"explicit"``: named ``ranges`` (``[{id = "launch", start = ..., end = ...}]``).

Boundaries fall at midnight in ``timezone`` (default UTC), so a London
community's period ends at midnight London time, summer or winter.

>>> from datetime import datetime, UTC
>>> p = Periods(kind="half-year", start_month=12, timezone="Europe/London")
>>> p.period_of(datetime(2026, 11, 23, tzinfo=UTC))
'2026-H2'
>>> p.bounds("2026-H1")[0].isoformat()
'2025-12-01T00:00:00+00:00'
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from ._validate import shown
from .errors import InvalidInput, InvalidPolicy, UnknownRecord

__all__ = ["PeriodRange", "Periods"]

_KINDS = {"half-year": 6, "quarter": 3, "month": 1, "explicit": 0}
_PREFIX = {6: "H", 3: "Q"}


def _check_zone(inst: Any, attr: attrs.Attribute[Any], value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidPolicy(
            f"periods.timezone {value!r} is not an IANA time zone (e.g. 'Europe/London', 'UTC')"
        ) from None


def _to_aware(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidPolicy(
                f"a period range bound must be an ISO 8601 date-time, got {value!r}"
            ) from None
    if not isinstance(value, datetime):
        raise InvalidPolicy(f"a period range bound must be a date-time, got {value!r}")
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@attrs.frozen(kw_only=True)
class PeriodRange:
    """An explicitly named period ``[start, end)``.

    A bound written without a UTC offset is read as UTC, not in the schedule's
    time zone: write the offset (``2026-06-01T00:00:00+01:00``) for local midnight.
    """

    id: str = attrs.field()
    start: datetime = attrs.field(converter=_to_aware)
    end: datetime = attrs.field(converter=_to_aware)

    @id.validator
    def _check_id(self, attr: attrs.Attribute[str], value: str) -> None:
        if not isinstance(value, str) or not value or value != value.strip():
            raise InvalidPolicy(
                f"a period range id must be a non-empty string without surrounding spaces, "
                f"got {value!r}"
            )

    def __attrs_post_init__(self) -> None:
        if self.end <= self.start:
            raise InvalidPolicy(f"period {self.id!r} must end after it starts")


def _by_start(value: Any) -> tuple[Any, ...]:
    # A set of spans: kept in time order, so the order they were written in does not matter.
    found = tuple(value)
    if all(isinstance(r, PeriodRange) for r in found):
        return tuple(sorted(found, key=lambda r: (r.start, r.end, r.id)))
    return found


@attrs.frozen(kw_only=True)
class Periods:
    """How time is cut into payback periods (see the module docs)."""

    kind: str = attrs.field(default="half-year")
    start_month: int = attrs.field(default=1)
    timezone: str = attrs.field(default="UTC", validator=_check_zone)
    ranges: tuple[PeriodRange, ...] = attrs.field(default=(), converter=_by_start)

    @kind.validator
    def _check_kind(self, attr: attrs.Attribute[str], value: str) -> None:
        if value not in _KINDS:
            raise InvalidPolicy(f"periods.kind must be one of {', '.join(_KINDS)}, got {value!r}")

    @start_month.validator
    def _check_start(self, attr: attrs.Attribute[int], value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 12:
            raise InvalidPolicy(f"periods.start_month must be 1-12, got {value!r}")

    def __attrs_post_init__(self) -> None:
        if self.kind == "explicit" and not self.ranges:
            raise InvalidPolicy("periods.kind 'explicit' needs at least one entry in ranges")
        if self.kind != "explicit" and self.ranges:
            raise InvalidPolicy(
                f"periods.ranges apply only with kind = 'explicit' (kind is {self.kind!r}); "
                "remove them or set kind = 'explicit'"
            )
        # Each instant must fall in one period only, or a statement and a payout of the
        # same period would disagree about what it holds.
        ids = [r.id for r in self.ranges]
        for id_ in ids:
            if ids.count(id_) > 1:
                raise InvalidPolicy(f"periods.ranges name {id_!r} twice; give each its own id")
        latest: PeriodRange | None = None
        for r in sorted(self.ranges, key=lambda r: r.start):
            if latest is not None and r.start < latest.end:
                raise InvalidPolicy(
                    f"periods.ranges {latest.id!r} and {r.id!r} overlap; "
                    f"start {r.id!r} at or after {latest.end.isoformat()}"
                )
            if latest is None or r.end > latest.end:
                latest = r

    @property
    def _zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def period_of(self, at: datetime) -> str:
        """The id of the period ``at`` falls in.

        Raises:
            InvalidInput: ``at`` is naive, or (explicit ranges) outside every range.
        """
        if at.tzinfo is None:
            raise InvalidInput(f"{at.isoformat()} is naive; pass a timezone-aware datetime")
        if self.kind == "explicit":
            for r in self.ranges:
                if r.start <= at < r.end:
                    return r.id
            raise InvalidInput(f"{at.isoformat()} falls in none of the policy's period ranges")
        local = at.astimezone(self._zone)
        months = _KINDS[self.kind]
        # Months since the schedule's first start month, so periods can straddle new year.
        offset = (local.month - self.start_month) % 12
        index = offset // months
        start_month_index = (self.start_month - 1 + index * months) % 12
        start_year = local.year if start_month_index + 1 <= local.month else local.year - 1
        end_index = start_month_index + months - 1
        end_year = start_year + end_index // 12
        if months == 1:
            return f"{start_year:04d}-{start_month_index + 1:02d}"
        # Named by the year the period ends in, numbered within that year.
        number = _number_in_end_year(self.start_month, months, end_index % 12)
        return f"{end_year:04d}-{_PREFIX[months]}{number}"

    def bounds(self, period: str) -> tuple[datetime, datetime]:
        """``(start, end)`` of ``period`` in UTC, end exclusive.

        Raises:
            InvalidInput: ``period`` is not a string.
            UnknownRecord: ``period`` is not an id this schedule produces.
            InvalidInput: ``period`` is not an id at all (not a str, ...).
        """
        if not isinstance(period, str):
            raise InvalidInput(f"period must be a period id like '2026-H2', got {shown(period)}")
        if self.kind == "explicit":
            for r in self.ranges:
                if r.id == period:
                    return r.start.astimezone(UTC), r.end.astimezone(UTC)
            raise UnknownRecord(
                f"no period {period!r}; the policy's ranges are "
                f"{', '.join(r.id for r in self.ranges)}"
            )
        months = _KINDS[self.kind]
        match = re.fullmatch(r"(\d{4})-(?:(H|Q)(\d)|(\d{2}))", period)
        if not match:
            raise UnknownRecord(
                f"{period!r} is not a period id like '2026-H2', '2026-Q3' or '2026-11'"
            )
        year = int(match[1])
        try:
            if months == 1:
                if match[4] is None:
                    raise UnknownRecord(f"{period!r} is not a month id like '2026-11'")
                start = datetime(year, int(match[4]), 1, tzinfo=self._zone)
            else:
                if match[2] != _PREFIX[months] or not 1 <= int(match[3]) <= 12 // months:
                    raise UnknownRecord(f"{period!r} is not a {self.kind} id of this policy")
                start = self._start_of(year, int(match[3]), months)
            end = _add_months(start, months)
            if self.period_of(start) == period:
                return start.astimezone(UTC), end.astimezone(UTC)
        except (ValueError, OverflowError):
            # A month 13, or a year before 1 or past 9999: no such calendar period.
            pass
        raise UnknownRecord(f"{period!r} is not a period of this policy")

    def _start_of(self, end_year: int, number: int, months: int) -> datetime:
        for candidate_year in (end_year - 1, end_year):
            for k in range(12 // months):
                month = (self.start_month - 1 + k * months) % 12 + 1
                start = datetime(candidate_year, month, 1, tzinfo=self._zone)
                if self.period_of(start) == f"{end_year:04d}-{_PREFIX[months]}{number}":
                    return start
        raise UnknownRecord(f"no {self.kind} number {number} ends in {end_year}")

    def next(self, period: str) -> str:
        """The id of the period right after ``period``.

        Raises:
            UnknownRecord: ``period`` is not an id this schedule produces.
            InvalidInput: (explicit ranges) no range starts where ``period`` ends.
        """
        return self.period_of(self.bounds(period)[1])

    def previous(self, period: str) -> str:
        """The id of the period right before ``period``.

        Raises:
            UnknownRecord: ``period`` is not an id this schedule produces, or the first
                the calendar has.
            InvalidInput: (explicit ranges) no range ends where ``period`` starts.
        """
        start = self.bounds(period)[0]
        try:
            before = start.replace(microsecond=0) - _ONE_SECOND
        except OverflowError:
            raise UnknownRecord(f"no period comes before {period!r}") from None
        return self.period_of(before)


_ONE_SECOND = datetime(2000, 1, 1, 0, 0, 1) - datetime(2000, 1, 1)


def _number_in_end_year(start_month: int, months: int, end_month_index: int) -> int:
    ends = sorted(((start_month - 1 + k * months + months - 1) % 12) for k in range(12 // months))
    return ends.index(end_month_index) + 1


def _add_months(start: datetime, months: int) -> datetime:
    month0 = start.month - 1 + months
    return start.replace(year=start.year + month0 // 12, month=month0 % 12 + 1)
