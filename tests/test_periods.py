"""Payback periods: how a schedule names every instant's period, in its own time zone."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kudos import InvalidInput, InvalidPolicy, KudosError, Policy, UnknownRecord
from kudos.periods import PeriodRange, Periods

GIFFGAFF = Periods(kind="half-year", start_month=12, timezone="Europe/London")
MICROSECOND = timedelta(microseconds=1)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def launch_and_summer() -> Periods:
    """Two explicit ranges with a gap between them (1-15 May is in neither)."""
    return Periods(
        kind="explicit",
        ranges=[
            PeriodRange(id="summer", start="2026-05-15T00:00:00+01:00", end="2026-09-01"),
            PeriodRange(id="launch", start="2026-03-01", end="2026-05-01"),
        ],
    )


# --- naming instants -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "period"),
    [
        (utc(2025, 11, 30, 23, 59, 59), "2025-H2"),
        (utc(2025, 12, 1), "2026-H1"),  # London is on GMT in winter
        (utc(2026, 1, 1), "2026-H1"),
        (utc(2026, 5, 31, 22, 59, 59), "2026-H1"),
        (utc(2026, 5, 31, 23), "2026-H2"),  # midnight in London, on BST
        (utc(2026, 11, 23, 12), "2026-H2"),
        (utc(2026, 12, 1), "2027-H1"),
    ],
)
def test_giffgaff_half_years_run_december_to_may_and_june_to_november(
    at: datetime, period: str
) -> None:
    assert GIFFGAFF.period_of(at) == period


def test_a_half_year_is_named_by_the_year_it_ends_in() -> None:
    assert GIFFGAFF.bounds("2026-H1") == (utc(2025, 12, 1), utc(2026, 5, 31, 23))
    assert GIFFGAFF.bounds("2026-H2") == (utc(2026, 5, 31, 23), utc(2026, 12, 1))
    # Starting in April, the half-year that ends in March is the first of its year.
    april = Periods(kind="half-year", start_month=4)
    assert april.bounds("2026-H1") == (utc(2025, 10, 1), utc(2026, 4, 1))
    assert april.bounds("2026-H2") == (utc(2026, 4, 1), utc(2026, 10, 1))


def test_the_default_schedule_is_calendar_half_years_in_utc() -> None:
    periods = Periods()
    assert (periods.kind, periods.start_month, periods.timezone) == ("half-year", 1, "UTC")
    assert periods.period_of(utc(2026, 6, 30, 23, 59, 59)) == "2026-H1"
    assert periods.period_of(utc(2026, 7, 1)) == "2026-H2"
    assert periods.bounds("2026-H2") == (utc(2026, 7, 1), utc(2027, 1, 1))


def test_quarters_follow_the_start_month_and_may_straddle_new_year() -> None:
    calendar = Periods(kind="quarter")
    assert calendar.period_of(utc(2026, 8, 15)) == "2026-Q3"
    assert calendar.bounds("2026-Q3") == (utc(2026, 7, 1), utc(2026, 10, 1))
    february = Periods(kind="quarter", start_month=2)
    # November to January ends in 2026: its first quarter.
    assert february.period_of(utc(2025, 12, 25)) == "2026-Q1"
    assert february.bounds("2026-Q1") == (utc(2025, 11, 1), utc(2026, 2, 1))
    assert february.bounds("2026-Q4") == (utc(2026, 8, 1), utc(2026, 11, 1))


def test_months_are_calendar_months_whatever_the_start_month() -> None:
    for start_month in (1, 7, 12):
        months = Periods(kind="month", start_month=start_month)
        assert months.period_of(utc(2026, 1, 31, 23, 59)) == "2026-01"
        assert months.bounds("2026-11") == (utc(2026, 11, 1), utc(2026, 12, 1))


# --- time zones and daylight saving -------------------------------------------------


def test_a_boundary_is_midnight_in_the_schedules_zone_summer_or_winter() -> None:
    new_york = Periods(kind="quarter", timezone="America/New_York")
    assert new_york.bounds("2026-Q1") == (utc(2026, 1, 1, 5), utc(2026, 4, 1, 4))
    assert new_york.period_of(utc(2026, 4, 1, 3, 59)) == "2026-Q1"
    assert new_york.period_of(utc(2026, 4, 1, 4)) == "2026-Q2"


def test_a_month_that_spans_a_clock_change_is_an_hour_short_or_long() -> None:
    london = Periods(kind="month", timezone="Europe/London")
    start, end = london.bounds("2026-03")
    assert end - start == timedelta(days=31, hours=-1)
    start, end = london.bounds("2026-10")
    assert end - start == timedelta(days=31, hours=1)
    # Lord Howe Island moves its clocks by half an hour.
    lord_howe = Periods(kind="month", timezone="Australia/Lord_Howe")
    start, end = lord_howe.bounds("2026-04")
    assert end - start == timedelta(days=30, minutes=30)


def test_a_community_ahead_of_utc_starts_its_year_the_day_before() -> None:
    auckland = Periods(kind="month", timezone="Pacific/Auckland")
    assert auckland.bounds("2027-01") == (utc(2026, 12, 31, 11), utc(2027, 1, 31, 11))
    assert auckland.period_of(utc(2026, 12, 31, 10, 59)) == "2026-12"
    assert auckland.period_of(utc(2026, 12, 31, 11)) == "2027-01"


def test_a_month_starting_on_a_repeated_midnight_starts_at_the_first() -> None:
    # Havana put its clocks back from 01:00 to midnight on 1 November 2020.
    havana = Periods(kind="month", timezone="America/Havana")
    assert havana.bounds("2020-11")[0] == utc(2020, 11, 1, 4)
    assert havana.period_of(utc(2020, 11, 1, 3, 59)) == "2020-10"
    for hour in (4, 5):  # 00:30 local, before and after the clocks go back
        assert havana.period_of(utc(2020, 11, 1, hour, 30)) == "2020-11"


def test_a_month_starting_on_a_skipped_midnight_starts_when_the_clocks_jump() -> None:
    # Asunción jumped from midnight to 01:00 on 1 October 2023.
    asuncion = Periods(kind="month", timezone="America/Asuncion")
    assert asuncion.bounds("2023-10") == (utc(2023, 10, 1, 4), utc(2023, 11, 1, 3))
    assert asuncion.period_of(utc(2023, 10, 1, 3, 59, 59)) == "2023-09"


def test_the_same_instant_is_in_different_periods_in_different_zones() -> None:
    late_on_31_may = utc(2026, 5, 31, 23, 30)
    assert GIFFGAFF.period_of(late_on_31_may) == "2026-H2"
    in_utc = Periods(kind="half-year", start_month=12)
    assert in_utc.period_of(late_on_31_may) == "2026-H1"
    # The instant decides, not the offset it was written with.
    written_in_tokyo = late_on_31_may.astimezone(ZoneInfo("Asia/Tokyo"))
    assert GIFFGAFF.period_of(written_in_tokyo) == "2026-H2"


# --- next and previous ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("periods", "period", "following"),
    [
        (GIFFGAFF, "2026-H1", "2026-H2"),
        (GIFFGAFF, "2026-H2", "2027-H1"),
        (Periods(kind="quarter", start_month=2), "2026-Q4", "2027-Q1"),
        (Periods(kind="month", timezone="Pacific/Auckland"), "2026-12", "2027-01"),
    ],
)
def test_next_and_previous_step_one_period(periods: Periods, period: str, following: str) -> None:
    assert periods.next(period) == following
    assert periods.previous(following) == period


def test_explicit_ranges_have_a_next_only_where_one_starts_as_the_last_ends() -> None:
    periods = Periods(
        kind="explicit",
        ranges=[
            PeriodRange(id="launch", start="2026-03-01", end="2026-05-01"),
            PeriodRange(id="spring", start="2026-05-01", end="2026-06-01"),
        ],
    )
    assert periods.next("launch") == "spring" and periods.previous("spring") == "launch"
    # Payback closing relies on this to know no later period exists.
    with pytest.raises(InvalidInput, match="falls in none of the policy's period ranges"):
        periods.next("spring")
    with pytest.raises(InvalidInput, match="falls in none"):
        periods.previous("launch")


# --- explicit ranges ----------------------------------------------------------------


def test_explicit_ranges_name_their_instants_and_leave_gaps_unnamed() -> None:
    periods = launch_and_summer()
    assert periods.period_of(utc(2026, 3, 1)) == "launch"
    assert periods.period_of(utc(2026, 4, 30, 23, 59)) == "launch"
    assert periods.period_of(utc(2026, 5, 14, 23)) == "summer"  # midnight at +01:00
    with pytest.raises(InvalidInput, match=r"2026-05-10T00:00:00\+00:00 falls in none"):
        periods.period_of(utc(2026, 5, 10))
    with pytest.raises(InvalidInput, match="falls in none"):
        periods.period_of(utc(2026, 9, 1))  # the end is exclusive


def test_explicit_bounds_are_in_utc_and_a_bound_without_offset_is_utc() -> None:
    periods = launch_and_summer()
    assert periods.bounds("summer") == (utc(2026, 5, 14, 23), utc(2026, 9, 1))
    start, end = periods.bounds("launch")
    assert (start, end) == (utc(2026, 3, 1), utc(2026, 5, 1))
    assert start.tzinfo is UTC and end.tzinfo is UTC


def test_explicit_ranges_load_from_toml() -> None:
    policy = Policy.from_toml(
        """
        [periods]
        kind = "explicit"
        ranges = [
            { id = "beta", start = 2026-01-01T00:00:00Z, end = 2026-04-01T00:00:00Z },
            { id = "launch", start = "2026-04-01T01:00:00+01:00", end = 2026-07-01T00:00:00Z },
        ]
        """
    )
    assert policy.periods.period_of(utc(2026, 2, 1)) == "beta"
    assert policy.periods.bounds("launch") == (utc(2026, 4, 1), utc(2026, 7, 1))
    assert policy.periods.next("beta") == "launch"


# --- bad configuration ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda: Periods(start_month=0), "periods.start_month must be 1-12, got 0"),
        (lambda: Periods(start_month=True), "periods.start_month must be 1-12, got True"),
        (lambda: Periods(start_month="6"), "periods.start_month must be 1-12, got '6'"),
        (lambda: Periods(kind="Month"), "periods.kind must be one of half-year, quarter, month"),
        (lambda: Periods(timezone="London"), "'London' is not an IANA time zone"),
        (lambda: Periods(timezone=""), "is not an IANA time zone (e.g. 'Europe/London'"),
        (
            lambda: PeriodRange(id="launch", start="2026-05-01", end="2026-03-01"),
            "period 'launch' must end after it starts",
        ),
        (
            lambda: PeriodRange(id="launch", start="2026-05-01", end="2026-05-01"),
            "must end after it starts",
        ),
        (
            lambda: PeriodRange(id="launch", start="next spring", end="2026-05-01"),
            "must be an ISO 8601 date-time, got 'next spring'",
        ),
        (
            lambda: PeriodRange(id="launch", start=20260301, end="2026-05-01"),
            "must be a date-time, got 20260301",
        ),
        (
            lambda: PeriodRange(id="", start="2026-03-01", end="2026-05-01"),
            "a period range id must be a non-empty string",
        ),
        (
            lambda: PeriodRange(id=7, start="2026-03-01", end="2026-05-01"),
            "a period range id must be a non-empty string without surrounding spaces, got 7",
        ),
        (
            lambda: Periods(
                kind="explicit",
                ranges=[
                    PeriodRange(id="launch", start="2026-03-01", end="2026-05-01"),
                    PeriodRange(id="launch", start="2026-06-01", end="2026-07-01"),
                ],
            ),
            "periods.ranges name 'launch' twice; give each its own id",
        ),
        (
            lambda: Periods(
                kind="explicit",
                ranges=[
                    PeriodRange(id="summer", start="2026-04-15", end="2026-09-01"),
                    PeriodRange(id="launch", start="2026-03-01", end="2026-05-01"),
                ],
            ),
            "periods.ranges 'launch' and 'summer' overlap; "
            "start 'summer' at or after 2026-05-01T00:00:00+00:00",
        ),
        (
            lambda: Periods(
                kind="explicit",
                ranges=[
                    PeriodRange(id="year", start="2026-01-01", end="2027-01-01"),
                    PeriodRange(id="spring", start="2026-03-01", end="2026-06-01"),
                    PeriodRange(id="autumn", start="2026-09-01", end="2026-12-01"),
                ],
            ),
            "'year' and 'spring' overlap",
        ),
    ],
)
def test_a_bad_schedule_is_an_invalid_policy_that_says_what_to_fix(make: Any, says: str) -> None:
    with pytest.raises(InvalidPolicy) as caught:
        make()
    assert says in str(caught.value)


def test_overlapping_ranges_in_toml_are_an_invalid_policy() -> None:
    with pytest.raises(InvalidPolicy, match="'a' and 'b' overlap"):
        Policy.from_toml(
            """
            [periods]
            kind = "explicit"
            ranges = [
                { id = "a", start = 2026-01-01T00:00:00Z, end = 2026-03-01T00:00:00Z },
                { id = "b", start = 2026-02-01T00:00:00Z, end = 2026-04-01T00:00:00Z },
            ]
            """
        )


# --- bad ids and times --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("periods", "period", "says"),
    [
        (GIFFGAFF, "2026-H3", "'2026-H3' is not a half-year id of this policy"),
        (GIFFGAFF, "2026-H0", "not a half-year id"),
        (GIFFGAFF, "2026-Q1", "'2026-Q1' is not a half-year id"),
        (GIFFGAFF, "2026-11", "not a half-year id"),
        (GIFFGAFF, "2026-h1", "not a period id like '2026-H2', '2026-Q3' or '2026-11'"),
        (GIFFGAFF, "26-H1", "not a period id like"),
        (GIFFGAFF, " 2026-H1", "not a period id like"),
        (GIFFGAFF, "0001-H1", "'0001-H1' is not a period of this policy"),
        (Periods(kind="quarter"), "2026-Q5", "not a quarter id"),
        (Periods(kind="quarter"), "2026-H1", "not a quarter id"),
        (Periods(kind="month"), "2026-Q1", "'2026-Q1' is not a month id like '2026-11'"),
        (Periods(kind="month"), "2026-13", "'2026-13' is not a period of this policy"),
        (Periods(kind="month"), "2026-00", "is not a period of this policy"),
        (Periods(kind="month"), "2026-1", "not a period id like"),
        (Periods(kind="month"), "0000-01", "is not a period of this policy"),
        (Periods(kind="month"), "9999-12", "is not a period of this policy"),
        (launch_and_summer(), "2026-H1", "no period '2026-H1'; the policy's ranges are"),
        (launch_and_summer(), "Launch", "ranges are launch, summer"),
    ],
)
def test_an_id_the_schedule_does_not_produce_is_an_unknown_record(
    periods: Periods, period: str, says: str
) -> None:
    for lookup in (periods.bounds, periods.next, periods.previous):
        with pytest.raises(KudosError) as caught:
            lookup(period)
        assert type(caught.value) is UnknownRecord
        assert says in str(caught.value)


def test_the_calendars_first_month_has_no_previous() -> None:
    months = Periods(kind="month")
    assert months.bounds("0001-01") == (utc(1, 1, 1), utc(1, 2, 1))
    assert months.next("0001-01") == "0001-02"
    with pytest.raises(UnknownRecord, match="no period comes before '0001-01'"):
        months.previous("0001-01")


@pytest.mark.parametrize("periods", [GIFFGAFF, launch_and_summer()])
def test_a_naive_time_is_invalid_input(periods: Periods) -> None:
    with pytest.raises(InvalidInput, match=r"2026-06-01T00:00:00 is naive; pass a timezone-aware"):
        periods.period_of(datetime(2026, 6, 1))


# --- properties -----------------------------------------------------------------------------

ZONES = [
    "UTC",
    "Europe/London",
    "America/New_York",
    "America/Havana",
    "America/Asuncion",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "Pacific/Auckland",
    "Pacific/Apia",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
]

schedules = st.builds(
    Periods,
    kind=st.sampled_from(["half-year", "quarter", "month"]),
    start_month=st.integers(1, 12),
    timezone=st.sampled_from(ZONES),
)
instants = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2100, 12, 31), timezones=st.just(UTC)
)
ID_SHAPE = {"half-year": r"\d{4}-H[12]", "quarter": r"\d{4}-Q[1-4]", "month": r"\d{4}-\d{2}"}


@given(schedules, instants)
def test_every_instant_falls_in_exactly_one_period(periods: Periods, at: datetime) -> None:
    period = periods.period_of(at)
    assert re.fullmatch(ID_SHAPE[periods.kind], period)
    start, end = periods.bounds(period)
    assert start <= at < end
    # Its neighbours touch it and do not hold it, so no other period can.
    assert periods.bounds(periods.previous(period))[1] == start
    assert periods.bounds(periods.next(period))[0] == end


@given(schedules, instants)
def test_bounds_are_ordered_contiguous_and_start_on_a_local_first(
    periods: Periods, at: datetime
) -> None:
    period = periods.period_of(at)
    start, end = periods.bounds(period)
    following = periods.next(period)
    assert start < end and periods.bounds(following)[0] == end
    assert periods.previous(following) == period
    assert periods.period_of(end - MICROSECOND) == period
    assert periods.period_of(start - MICROSECOND) == periods.previous(period)
    zone = ZoneInfo(periods.timezone)
    local_start = start.astimezone(zone)
    assert local_start.day == 1 and (start - MICROSECOND).astimezone(zone).day != 1
    months = {"half-year": 6, "quarter": 3, "month": 1}[periods.kind]
    assert (local_start.month - periods.start_month) % months == 0
    # A period is named by the year it ends in.
    assert period.startswith(f"{(end - MICROSECOND).astimezone(zone).year:04d}-")


def ids_of(periods: Periods) -> st.SearchStrategy[str]:
    """Well-formed ids of ``periods``' kind, 1971-2100."""
    years = st.integers(1971, 2100)
    if periods.kind == "month":
        return st.builds("{:04d}-{:02d}".format, years, st.integers(1, 12))
    letter, count = ("H", 2) if periods.kind == "half-year" else ("Q", 4)
    return st.builds(f"{{:04d}}-{letter}{{}}".format, years, st.integers(1, count))


period_ids = schedules.flatmap(lambda periods: st.tuples(st.just(periods), ids_of(periods)))


@given(period_ids)
def test_every_id_of_a_schedule_names_the_period_its_bounds_start(
    made: tuple[Periods, str],
) -> None:
    periods, period = made
    start, end = periods.bounds(period)
    assert periods.period_of(start) == period
    assert periods.period_of(end - MICROSECOND) == period


def test_ranges_without_the_explicit_kind_are_refused() -> None:
    launch = PeriodRange(
        id="launch", start="2026-01-01T00:00:00+00:00", end="2026-02-01T00:00:00+00:00"
    )
    with pytest.raises(InvalidPolicy, match="only with kind = 'explicit'"):
        Periods(kind="month", ranges=[launch])


# --- an instant's local day, kept per quarter hour ---------------------------------------

_ODD_ZONES = (
    "Europe/London",  # summer time, and a local mean time offset in seconds before 1847
    "Asia/Kathmandu",  # +05:45
    "America/St_Johns",  # -03:30 with summer time
    "Australia/Lord_Howe",  # a half-hour summer time shift
    "Pacific/Chatham",  # +12:45 / +13:45
    "Pacific/Apia",  # skipped a whole day (2011-12-30)
    "UTC",
)


@given(
    zone=st.sampled_from(_ODD_ZONES),
    at=st.datetimes(
        min_value=datetime(1800, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    again=st.integers(min_value=0, max_value=899),
)
def test_the_local_day_of_an_instant_is_exact_in_every_time_zone(
    zone: str, at: datetime, again: int
) -> None:
    from kudos.engine import core as engine

    for instant in (at, at + timedelta(seconds=again), at - timedelta(seconds=again)):
        # Asked twice: once worked out, once from what the first answer kept.
        for _ in range(2):
            assert (
                engine._day_in(zone, instant)
                == instant.astimezone(ZoneInfo(zone)).date().isoformat()
            )


@pytest.mark.parametrize("zone", _ODD_ZONES)
def test_the_local_day_is_exact_around_every_offset_change(zone: str) -> None:
    from kudos.engine import core as engine

    tz = ZoneInfo(zone)
    at = datetime(2009, 1, 1, tzinfo=UTC)
    while at < datetime(2013, 1, 1, tzinfo=UTC):  # every minute of the days around changes
        if (at + timedelta(hours=2)).astimezone(tz).utcoffset() != at.astimezone(tz).utcoffset():
            for minute in range(-180, 181):
                instant = at + timedelta(minutes=minute, seconds=minute % 7)
                assert engine._day_in(zone, instant) == instant.astimezone(tz).date().isoformat()
        at += timedelta(hours=2)
