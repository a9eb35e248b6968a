"""Payback as policy data (the section, TOML, presets, conversion rules) and its invariants:
money is conserved, closing twice is closing once, statements agree with payouts."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kudos
from kudos import InvalidInput, InvalidPolicy, NotAllowed, Policy
from kudos.payback import (
    SETTLEMENT_ACTIONS,
    BonusTier,
    Conversion,
    PaybackRules,
    PayoutMethod,
    Rate,
    preset,
)
from kudos.testing import FakeClock, assert_consistent

DOCS = Path(__file__).parent.parent / "docs" / "payback.md"
EXAMPLE = Path(__file__).parent.parent / "examples" / "payback_period.py"


# --- the policy section ---------------------------------------------------------------


def test_the_section_loads_from_toml_with_methods_tiers_and_a_rate() -> None:
    policy = Policy.from_toml(
        """
        [payback]
        currency = "EUR"
        rate = { minor_units = 1, points = 2 }
        rounding = "half-up"
        default_method = ""
        keep_choice = false
        maximum = 50000
        carry_overs = 2

        [payback.methods]
        credit = { uplift_percent = 10 }
        cash = { minimum = 1000, fallback = "credit" }

        [[payback.bonus_tiers]]
        above = 5000
        percent = 10
        """
    )
    rules = policy.payback
    assert (rules.currency, rules.rate, rules.rounding) == ("EUR", Rate(points=2), "half-up")
    assert rules.methods == {
        "credit": PayoutMethod(uplift_percent=10),
        "cash": PayoutMethod(minimum=1_000, fallback="credit"),
    }
    assert rules.bonus_tiers == (BonusTier(above=5_000, percent=10),)
    assert (rules.default_method, rules.keep_choice, rules.maximum, rules.carry_overs) == (
        None,
        False,
        50_000,
        2,
    )


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('currency = "pounds"', "ISO 4217"),
        ("rate = { minor_units = 0 }", "minor_units must be a whole number, 1 or more"),
        ('rounding = "bankers"', "payback.rounding must be one of"),
        ("methods = { voucher = {} }", "unknown method 'voucher'"),
        ('default_method = "cash"', "default_method 'cash' is not an offered method"),
        ('methods = { cash = { fallback = "credit" } }', "fallback must name another"),
        ("methods = { credit = { uplift_percent = -5 } }", "uplift_percent must be a whole"),
        ("minimum = 2000\nmaximum = 1000", "minimum (2000) is above payback.maximum"),
        (
            "maximum = 500\nmethods = { cash = { minimum = 1000 } }\ndefault_method = 'cash'",
            "nobody could be paid that way",
        ),
        ('below_minimum = "forfeit"', "below_minimum must be one of 'carry', 'lapse'"),
        ("carry_overs = -1", "carry_overs must be a whole number, zero or more"),
        (
            "bonus_tiers = [{ above = 10, percent = 5 }, { above = 5, percent = 10 }]",
            "rising 'above'",
        ),
        ("colour = 'green'", "unknown key 'payback.colour'"),
        ("methods = {}", "offer at least one method"),
    ],
)
def test_a_bad_payback_section_is_refused_naming_the_key(toml: str, message: str) -> None:
    with pytest.raises(InvalidPolicy, match=re.escape(message)):
        Policy.from_toml(f"[payback]\n{toml}\n")


def test_the_giffgaff_preset_pays_a_penny_a_point_with_the_published_rules() -> None:
    rules = preset("giffgaff")
    assert kudos.policies.giffgaff().payback == rules
    assert (rules.currency, rules.rate) == ("GBP", Rate(minor_units=1, points=1))
    assert rules.methods["cash"].minimum == 1_000  # PayPal from £10 only
    assert rules.methods["charity"].match_percent == 100  # matched pound for pound
    assert rules.methods["credit"] == PayoutMethod()
    assert (rules.default_method, rules.keep_choice) == (None, False)  # picked each period
    assert (rules.unclaimed, rules.below_minimum, rules.carry_overs) == ("carry", "carry", 1)
    assert rules.base(500) == 500 and rules.format(500) == "£5.00"


def test_the_stackexchange_preset_pays_nothing_and_unknown_presets_are_refused() -> None:
    assert kudos.policies.stackexchange().payback == preset("stackexchange")
    assert not preset("stackexchange").enabled
    with pytest.raises(InvalidPolicy, match="no payback preset 'khoros'"):
        preset("khoros")


# --- converting ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rounding", "expected"),
    [("down", [0, 0, 1, 1]), ("half-up", [0, 1, 1, 2]), ("up", [1, 1, 1, 2])],
)
def test_rounding_is_explicit(rounding: str, expected: list[int]) -> None:
    rules = PaybackRules(rate=Rate(minor_units=1, points=3), rounding=rounding)
    assert [rules.base(p) for p in (1, 2, 3, 5)] == expected


def test_bonus_bands_pay_each_band_its_own_percent() -> None:
    rules = PaybackRules(
        bonus_tiers=[BonusTier(above=1_000, percent=10), BonusTier(above=2_000, percent=50)]
    )
    assert [rules.bonus(p) for p in (1_000, 1_500, 2_000, 3_000)] == [0, 50, 100, 600]


def test_a_method_below_its_minimum_falls_back_to_another() -> None:
    rules = PaybackRules(
        methods={"credit": PayoutMethod(), "cash": PayoutMethod(minimum=1_000, fallback="credit")}
    )
    converted = rules.convert(600, method="cash")
    assert (converted.method, converted.amount, converted.carried_over) == ("credit", 600, 0)


def test_a_method_the_policy_does_not_offer_counts_as_no_choice() -> None:
    converted = PaybackRules().convert(100, method="cash")
    assert (converted.method, converted.amount) == ("credit", 100)


def test_the_oldest_points_are_paid_first_and_points_carried_too_often_lapse() -> None:
    rules = PaybackRules(default_method=None, carry_overs=2)
    converted = rules.convert(1_000, carried=[300, 200])
    assert (converted.carried_in, converted.lapsed) == (500, 200)
    assert converted.carried == (500, 300)  # new points carried once, the 300 twice
    # Paid: the 200 carried twice, then 200 of the 300 carried once; the other 100 of
    # those were carried once already (the default carry_overs) and lapse.
    paid = PaybackRules(maximum=400).convert(1_000, carried=[300, 200])
    assert (paid.paid_points, paid.lapsed, paid.carried) == (400, 100, (500,))


def test_conversion_refuses_what_is_not_a_positive_whole_number_of_points() -> None:
    for bad in (0, -5, 1.5, True):
        with pytest.raises(InvalidInput):
            PaybackRules().convert(bad)  # type: ignore[arg-type]


def test_money_is_formatted_for_people_and_for_finance() -> None:
    assert PaybackRules().format(-1_234_567) == "-£12,345.67"
    assert PaybackRules(currency="CHF").format(5) == "0.05 CHF"
    assert PaybackRules(currency="JPY", currency_digits=0).decimal(500) == "500"
    assert PaybackRules().decimal(7) == "0.07"


rules_strategy = st.builds(
    PaybackRules,
    rate=st.builds(Rate, minor_units=st.integers(1, 7), points=st.integers(1, 7)),
    rounding=st.sampled_from(["down", "half-up", "up"]),
    bonus_tiers=st.lists(st.integers(0, 3_000), unique=True, max_size=3).flatmap(
        lambda aboves: st.tuples(
            *[
                st.builds(BonusTier, above=st.just(a), percent=st.integers(1, 40))
                for a in sorted(aboves)
            ]
        )
    ),
    methods=st.fixed_dictionaries(
        {
            "credit": st.builds(
                PayoutMethod, minimum=st.integers(0, 300), uplift_percent=st.integers(0, 25)
            ),
            "cash": st.builds(PayoutMethod, minimum=st.integers(0, 1_500)),
            "charity": st.builds(PayoutMethod, match_percent=st.integers(0, 100)),
        }
    ),
    default_method=st.sampled_from([None, "credit", "cash"]),
    minimum=st.integers(0, 200),
    maximum=st.sampled_from([0, 1_500, 4_000]),
    below_minimum=st.sampled_from(["carry", "lapse"]),
    over_maximum=st.sampled_from(["carry", "lapse"]),
    unclaimed=st.sampled_from(["carry", "lapse"]),
    carry_overs=st.integers(0, 3),
)


@settings(max_examples=300, deadline=None)
@given(
    rules=rules_strategy,
    points=st.integers(1, 20_000),
    method=st.sampled_from([None, "credit", "cash", "charity", "voucher"]),
    carried=st.lists(st.integers(0, 3_000), max_size=3),
)
def test_conversion_conserves_points_and_respects_every_limit(
    rules: PaybackRules, points: int, method: str | None, carried: list[int]
) -> None:
    c = rules.convert(points, method=method, carried=carried)
    assert c.paid_points + c.carried_over + c.lapsed == points
    assert all(isinstance(v, int) for v in (c.base, c.bonus, c.uplift, c.amount, c.match))
    assert c.amount == c.base + c.bonus + c.uplift
    assert len(c.carried) <= rules.carry_overs and min(c.carried, default=1) >= 0
    if c.paid_points:
        assert c.method in rules.methods
        assert (c.base, c.bonus) == (rules.base(c.paid_points), rules.bonus(c.paid_points))
        worth = c.base + c.bonus
        assert worth >= max(1, rules.minimum, rules.methods[c.method].minimum)
        assert not rules.maximum or worth <= rules.maximum
        assert not c.reason or c.paid_points < points
    else:
        assert (c.amount, c.method) == (0, None) and c.reason


@settings(max_examples=200, deadline=None)
@given(rules=rules_strategy, points=st.integers(0, 20_000))
def test_one_more_point_is_never_worth_less(rules: PaybackRules, points: int) -> None:
    assert rules.value(points + 1) >= rules.value(points)


def test_a_conversion_round_trips_through_its_document_data() -> None:
    c = preset("giffgaff").convert(700, method="charity", charity="shelter")
    assert Conversion.from_data(c.data()) == c


# --- the invariants of a whole close, under any earnings and choices -----------------------

member_ids = ["m0", "m1", "m2", "m3", "m4"]
close_strategy = st.fixed_dictionaries(
    {
        "rules": rules_strategy,
        "earnings": st.lists(
            st.tuples(st.sampled_from(member_ids), st.integers(-300, 4_000)), max_size=12
        ),
        "methods": st.dictionaries(
            st.sampled_from(member_ids), st.sampled_from(["credit", "cash", "charity"])
        ),
        "fail": st.sets(st.sampled_from(member_ids)),
        "second": st.lists(
            st.tuples(st.sampled_from(member_ids), st.integers(1, 2_000)), max_size=4
        ),
    }
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=close_strategy)
def test_closing_conserves_money_is_idempotent_and_agrees_with_statements(
    case: dict[str, Any],
) -> None:
    clock = FakeClock(datetime(2026, 7, 1, tzinfo=UTC))
    c = kudos.Community(policy=kudos.policies.giffgaff().evolve(payback=case["rules"]), clock=clock)
    c.join("staff1", role="staff")
    for m in member_ids:
        c.join(m)
    for i, (m, points) in enumerate(case["earnings"]):
        if points:
            c.adjust(m, points=points, reason="work", by="staff1", event_id=f"earn-{i}")
    for m, method in case["methods"].items():
        c.set_payout_method(m, method)

    for period, close_at, earnings in (
        ("2026-H2", datetime(2026, 12, 5, tzinfo=UTC), case["second"]),
        ("2027-H1", datetime(2027, 6, 5, tzinfo=UTC), ()),
    ):
        before = {m: c.statement(m, period=period).totals["points"] for m in member_ids}
        clock.set(close_at)
        payouts = c.close_period(period)
        entries = c.ledger(event_id=f"period-closed:{period}")
        assert c.close_period(period) == payouts  # closing twice == once
        assert c.ledger(event_id=f"period-closed:{period}") == entries
        report = c.payback_period(period)
        converted = sum(b for b in before.values() if b > 0)
        assert report.points == converted
        assert report.paid_points + report.carried_over + report.lapsed == converted
        assert sum(p.points for p in payouts) == report.paid_points
        assert sum(p.amount for p in payouts) == report.amount
        assert report.debts == -sum(b for b in before.values() if b < 0)
        for m in member_ids:
            statement = c.statement(m, period=period)
            assert statement.totals["points"] == 0
            closing = [e for e in statement.lines if e.event_id == f"period-closed:{period}"]
            assert {e.action for e in closing} <= set(SETTLEMENT_ACTIONS)
            earned = sum(e.amount for e in statement.lines if e not in closing)
            assert earned == before[m]
            if before[m] > 0:
                conversion = statement.conversion
                assert earned == conversion.points == before[m]
                paid = -sum(e.amount for e in closing if e.action == "payout")
                assert paid == conversion.paid_points
                if statement.payout is not None:
                    assert statement.payout.points == paid
                    assert (
                        statement.payout.amount
                        == conversion.amount
                        == (case["rules"].value(paid) + conversion.uplift)
                    )
        for p in payouts:
            if p.member in case["fail"]:
                c.mark_payout_failed(p.id, "bounced")
            else:
                c.mark_payout_paid(p.id, f"REF-{p.member}")
        for i, (m, points) in enumerate(earnings):
            c.adjust(m, points=points, reason="more work", by="staff1", event_id=f"more-{i}")
    lifetime = sum(c.standing(m).lifetime_points for m in member_ids)
    assert lifetime == sum(p for _, p in case["earnings"]) + sum(p for _, p in case["second"])
    assert_consistent(c, replay=False)


# --- documentation -----------------------------------------------------------------


def test_the_payback_page_examples_run_in_order() -> None:
    text = DOCS.read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 6
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, str(DOCS), "exec"), namespace)
    toml = re.findall(r"```toml\n(.*?)```", text, flags=re.S)
    assert Policy.from_toml(toml[0]).payback == preset("giffgaff")


def test_the_payback_page_cites_the_giffgaff_numbers() -> None:
    text = DOCS.read_text()
    for fact in (
        "1 point = 1p",
        "1,000 points (£10)",
        "pound for pound",
        "roll over once",
        "1 December to 31 May",
        "1 June to 30 November",
        "£1.1M",
    ):
        assert fact in text, fact


def test_the_example_runs_a_period_through_to_its_payouts() -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=120, check=True
    )
    out = done.stdout
    assert "payouts of 2026-H2, by method:" in out
    assert re.search(r"charity\s+carol\s+\d+\s+£[\d.]+\s+£[\d.]+ issued \(shelter\)", out)
    assert "late kudos dated 30 Nov: +5 points to alice, booked in 2027-H1" in out
    assert re.search(r"cash\s+dave\s+\d+\s+£[\d.]+\s+failed", out)
    assert out.rstrip().splitlines()[-1].endswith(",failed,,2026-12-12T10:00:00+00:00")


def test_a_policy_that_pays_nothing_says_so_when_asked_to_close() -> None:
    clock = FakeClock(datetime(2026, 11, 2, tzinfo=UTC))
    c = kudos.Community(policy=kudos.policies.stackexchange(), clock=clock)
    clock.advance(timedelta(days=40))
    with pytest.raises(NotAllowed, match="policy 'stackexchange' pays nothing out"):
        c.close_period("2026-11")


@pytest.mark.parametrize(("currency", "digits"), [("JPY", 0), ("KRW", 0), ("KWD", 3), ("EUR", 2)])
def test_the_minor_unit_follows_the_currency_unless_given(currency: str, digits: int) -> None:
    policy = Policy.from_toml(f'[payback]\ncurrency = "{currency}"\n')
    assert policy.payback.currency_digits == digits
    assert PaybackRules(currency=currency, currency_digits=2).currency_digits == 2
    if digits == 0:
        assert policy.payback.format(500) == f"500 {currency}"
