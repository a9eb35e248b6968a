"""Referrals as policy data (the section, TOML, presets, values, the published docs), and
the invariants of the referral lifecycle under any sequence of facts (a state machine)."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import kudos
from kudos import InvalidPolicy, KudosError, NotAllowed, Policy, UnknownMember
from kudos.model import Doc
from kudos.referrals import (
    STATUSES,
    Referral,
    ReferralBonus,
    ReferralFigures,
    ReferralRules,
    preset,
)
from kudos.testing import FakeClock, assert_consistent

DOCS = Path(__file__).parent.parent / "docs" / "referrals.md"
EXAMPLE = Path(__file__).parent.parent / "examples" / "referral_programme.py"


# --- the policy section ---------------------------------------------------------------


def test_the_section_loads_from_toml_with_bonuses() -> None:
    policy = Policy.from_toml(
        """
        [rewards]
        referral_qualified = { points = 1000 }

        [referrals]
        expire_after_days = 60
        max_rewarded_per_period = 5
        fingerprint_window_days = 7

        [[referrals.bonuses]]
        nth = 1
        per = "all"
        points = 500
        within_days_of_joining = 42
        """
    )
    rules = policy.referrals
    assert (rules.expire_after_days, rules.max_rewarded_per_period) == (60, 5)
    assert rules.bonuses == (
        ReferralBonus(nth=1, per="all", points=500, within_days_of_joining=42),
    )
    assert policy.reward("referral_qualified").points == 1000


@pytest.mark.parametrize(
    ("section", "complaint"),
    [
        ({"expire_after_days": -1}, "referrals.expire_after_days must be a whole number"),
        ({"max_rewarded_per_period": 1.5}, "max_rewarded_per_period must be a whole number"),
        ({"refuse_cycles": "yes"}, "refuse_cycles must be true or false"),
        ({"bonuses": [{"nth": 0, "points": 5}]}, "nth must be 1 or more"),
        ({"bonuses": [{"nth": 2}]}, "gives nothing"),
        ({"bonuses": [{"nth": 2, "points": 5, "per": "month"}]}, "'period' or 'all'"),
        (
            {"bonuses": [{"nth": 2, "points": 5}, {"nth": 2, "reputation": 1}]},
            "more than one bonus for period|2",
        ),
        ({"expire_after": 3}, "unknown key 'referrals.expire_after'"),
    ],
)
def test_malformed_sections_are_refused_naming_the_key(
    section: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(InvalidPolicy, match=re.escape(complaint)):
        Policy.from_dict({"referrals": section})


def test_the_giffgaff_preset_has_giffgaffs_numbers() -> None:
    rules = preset("giffgaff")
    assert rules.enabled
    assert rules.max_rewarded_per_period == 15  # 500 points for each of recruits 1-15
    assert rules.expire_after_days == 120  # top-ups within 120 days of joining
    (first,) = rules.bonuses
    assert (first.nth, first.per, first.points, first.within_days_of_joining) == (
        1,
        "all",
        500,
        42,  # the first recruit pays more when activated within 6 weeks
    )
    policy = kudos.policies.giffgaff()
    assert policy.reward("referral_qualified").points == 500
    assert policy.reward("referral_welcome").points == 500


def test_stack_exchange_has_no_programme_and_unknown_presets_are_refused() -> None:
    assert not preset("stackexchange").enabled
    with pytest.raises(InvalidPolicy, match="no referrals preset 'khoros'"):
        preset("khoros")


def test_windows_are_computed_from_the_rules() -> None:
    made = datetime(2026, 11, 23, 12, tzinfo=UTC)
    rules = ReferralRules(expire_after_days=90, revoke_within_days=0)
    assert rules.expires_at(made) == made + timedelta(days=90)
    assert rules.revocable_until(made) is None
    assert ReferralRules(expire_after_days=0).expires_at(made) is None


# --- values ---------------------------------------------------------------------------


def test_figures_convert_exactly_without_floats() -> None:
    figures = ReferralFigures(period="2026-H2", pending=2, qualified=2, held=1, expired=2)
    assert figures.made == 7
    assert figures.conversion == Fraction(2, 7)
    assert figures.conversion_per_mille == 285
    empty = ReferralFigures(period=None)
    assert (empty.conversion, empty.conversion_per_mille) == (Fraction(0), 0)


def test_a_referral_reports_what_it_holds_only_while_qualified() -> None:
    made = datetime(2026, 11, 23, 12, tzinfo=UTC)
    data = {
        "member": "bob",
        "referrer": "alice",
        "status": "qualified",
        "made_at": made.isoformat(),
        "rewarded_at": made.isoformat(),
        "rewards": {"referrer_points": 500, "referrer_reputation": 10, "welcome_points": 500},
        "reward_event": "referral-qualified:bob",
    }
    rules = ReferralRules(revoke_within_days=30)
    live = Referral.from_doc(Doc(kind="referral", key="bob", data=data), rules)
    assert (live.points, live.reputation, live.welcome_points) == (500, 10, 500)
    assert live.revocable_until == made + timedelta(days=30)
    gone = Referral.from_doc(
        Doc(kind="referral", key="bob", data={**data, "status": "revoked"}), rules
    )
    assert (gone.points, gone.welcome_points, gone.revocable_until) == (0, 0, None)
    assert gone.event_id == "referral-qualified:bob"


# --- the published docs -----------------------------------------------------------------


def test_the_docs_examples_run_in_order() -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(), flags=re.S)
    assert blocks
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, str(DOCS), "exec"), namespace)


def test_the_docs_table_gives_the_defaults_and_the_giffgaff_preset() -> None:
    section = DOCS.read_text().split("## The `[referrals]` policy section")[1].split("\n## ")[0]
    rows = re.findall(r"^\| `(\w+)` \| ([^|]+) \| ([^|]+) \|", section, flags=re.M)
    table = {key: (default.strip(), giffgaff.strip()) for key, default, giffgaff in rows}
    default, gg = ReferralRules(), preset("giffgaff")
    scalars = [f.name for f in attrs.fields(ReferralRules) if f.name != "bonuses"]
    assert sorted(table) == sorted([*scalars, "bonuses"])

    def shown(value: object) -> str:
        return str(value).lower() if isinstance(value, bool) else str(value)

    for key in scalars:
        assert table[key] == (shown(getattr(default, key)), shown(getattr(gg, key))), key


# --- the lifecycle under any sequence of facts ------------------------------------------------

NAMES = ("ann", "ben", "cat", "dan", "eve", "fay", "gus", "hal")
PRINTS = ("pay:1", "pay:2", "dev:1")
RULES = ReferralRules(
    expire_after_days=20,
    revoke_within_days=30,
    refer_within_days=10,
    max_rewarded_per_period=2,
    bonuses=(ReferralBonus(nth=2, points=300),),
    max_referrals_per_fingerprint=2,
    fingerprint_window_days=15,
)
prints = st.lists(st.sampled_from(PRINTS), max_size=2, unique=True)


class ReferralLifecycle(RuleBasedStateMachine):
    """Random joins, referrals, qualifications, revocations, sweeps and reviews.

    A small model (who referred whom) predicts which referrals must be refused;
    the invariants read the community itself.
    """

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock(datetime(2026, 11, 20, 12, tzinfo=UTC))
        self.policy = kudos.policies.giffgaff().evolve(referrals=RULES)
        self.c = kudos.Community(policy=self.policy, clock=self.clock)
        self.c.join("staff1", role="staff")
        self.joined: list[str] = ["staff1"]
        self.referrer_of: dict[str, str] = {}

    # -- the model ---------------------------------------------------------------------
    def _chain_reaches(self, start: str, target: str) -> bool:
        seen = start
        while seen in self.referrer_of:
            seen = self.referrer_of[seen]
            if seen == target:
                return True
        return False

    def _refused_referral(self, referrer: str, member: str) -> str | None:
        """Why the model says this referral must be refused (None: it may be accepted)."""
        if referrer == member:
            return "self"
        if referrer not in self.joined:
            return "unknown"
        if member in self.referrer_of:
            return "again"
        if self._chain_reaches(referrer, member):
            return "cycle"
        return None

    def _referred(self, data: st.DataObject) -> str:
        return data.draw(st.sampled_from(sorted(self.referrer_of)))

    # -- facts -------------------------------------------------------------------------
    @precondition(lambda self: len(self.joined) <= len(NAMES))
    @rule(data=st.data(), fingerprints=prints, how=st.sampled_from(["none", "id", "code"]))
    def join(self, data: st.DataObject, fingerprints: list[str], how: str) -> None:
        member = data.draw(st.sampled_from([n for n in NAMES if n not in self.joined]))
        referrer = None if how == "none" else data.draw(st.sampled_from([*self.joined, member]))
        code = None
        if how == "code" and referrer in self.joined:
            code = self.c.referral_code(referrer)
        refused = self._refused_referral(referrer, member) if referrer else None
        try:
            self.c.join(
                member,
                referred_by=None if code else referrer,
                referral_code=code,
                fingerprints=fingerprints,
            )
        except (NotAllowed, UnknownMember) as exc:
            assert refused is not None, f"join refused for no reason: {exc}"
            with pytest.raises(UnknownMember):
                self.c.member(member)
            return
        assert refused is None, f"a {refused} referral was accepted"
        self.joined.append(member)
        if referrer is not None:
            self.referrer_of[member] = referrer
            assert self.c.member(member).referred_by == referrer

    @rule(data=st.data(), fingerprints=prints)
    def refer(self, data: st.DataObject, fingerprints: list[str]) -> None:
        member = data.draw(st.sampled_from(self.joined))
        referrer = data.draw(st.sampled_from([*self.joined, "nobody"]))
        refused = self._refused_referral(referrer, member)
        try:
            outcome = self.c.refer(referrer, member, fingerprints=fingerprints)
        except NotAllowed as exc:
            if refused is None:
                assert "days before this referral" in str(exc) or "joined after them" in str(exc), (
                    exc
                )
            return
        except UnknownMember:
            assert refused == "unknown"
            return
        if outcome.replayed:  # the very same report again
            assert self.referrer_of[member] == referrer
            return
        assert refused is None, f"a {refused} referral was accepted"
        self.referrer_of[member] = referrer

    @precondition(lambda self: bool(self.referrer_of))
    @rule(data=st.data(), fingerprints=st.lists(st.sampled_from(PRINTS), max_size=1))
    def qualify(self, data: st.DataObject, fingerprints: list[str]) -> None:
        pending = [r.member for r in self.c.referrals(status="pending")]
        member = data.draw(st.sampled_from(pending)) if pending else self._referred(data)
        before = self.c.referral(member)
        try:
            outcome = self.c.qualify_referral(member, fingerprints=fingerprints)
        except NotAllowed:
            ran_out = before.expires_at is not None and self.clock() >= before.expires_at
            assert before.status != "pending" or ran_out
            return
        if not outcome.replayed:
            assert before.status == "pending"
            assert self.c.referral(member).status in ("qualified", "held")

    @precondition(lambda self: bool(self.referrer_of))
    @rule(data=st.data())
    def revoke(self, data: st.DataObject) -> None:
        member = self._referred(data)
        before = self.c.referral(member)
        try:
            outcome = self.c.revoke_referral(member, reason="left")
        except NotAllowed:
            until = before.revocable_until
            late = before.status == "qualified" and until is not None and self.clock() > until
            assert before.status not in ("pending", "held", "qualified") or late
            return
        assert before.status != "revoked" or outcome.replayed
        assert self.c.referral(member).status == "revoked"

    @precondition(lambda self: bool(self.referrer_of))
    @rule(data=st.data(), approve=st.booleans())
    def review(self, data: st.DataObject, approve: bool) -> None:
        member = self._referred(data)
        before = self.c.referral(member)
        try:
            outcome = self.c.review_referral(member, approve=approve, by="staff1")
        except NotAllowed:
            assert before.status != "held" or "staff1" in (before.referrer, before.member)
            return
        if not outcome.replayed:
            assert before.status == "held"
            assert self.c.referral(member).status == ("qualified" if approve else "rejected")

    @rule()
    def sweep(self) -> None:
        self.c.expire_referrals()
        for referral in self.c.referrals(status="pending"):
            assert referral.expires_at is not None and referral.expires_at > self.clock()

    @rule(days=st.integers(min_value=0, max_value=25))
    def wait(self, days: int) -> None:
        self.clock.advance(days=days)

    @precondition(lambda self: bool(self.referrer_of))
    @rule()
    def replay_everything(self) -> None:
        assert_consistent(self.c)

    # -- invariants ------------------------------------------------------------------------
    @invariant()
    def each_member_is_referred_at_most_once(self) -> None:
        referrals = self.c.referrals()
        assert sorted(r.member for r in referrals) == sorted(self.referrer_of)
        assert all(self.referrer_of[r.member] == r.referrer for r in referrals)

    @invariant()
    def rewards_follow_the_state(self) -> None:
        qualified: Counter[str] = Counter()
        points_paid = 0
        for referral in self.c.referrals():
            entries = self.c.ledger(subject=f"referral:{referral.member}")
            net: Counter[tuple[str, str]] = Counter()
            for e in entries:
                net[(e.member, e.account)] += e.amount
            if referral.status in ("pending", "held", "rejected", "expired"):
                assert entries == [], referral  # never rewarded
            elif referral.status == "revoked":
                assert not +net and not -net, referral  # every reward taken back
                rewards = {e.event_id for e in entries if e.reverses is None}
                assert rewards <= {referral.event_id}, "rewarded by another fact than its own"
            else:
                qualified[referral.referrer] += 1
                assert net[(referral.referrer, "points")] == referral.points >= 0
                assert net[(referral.member, "points")] == referral.welcome_points >= 0
                points_paid += referral.points + referral.welcome_points
        for member in self.joined:
            standing = self.c.standing(member)
            assert standing.counters.get("referrals", 0) == qualified[member]
            assert standing.pending_points >= 0
        figures = self.c.referral_figures()
        by_status = Counter(r.status for r in self.c.referrals())
        assert {s: getattr(figures, s) for s in STATUSES} == {s: by_status[s] for s in STATUSES}
        assert figures.points == points_paid

    def teardown(self) -> None:
        assert_consistent(self.c)


ReferralLifecycle.TestCase.settings = settings(
    max_examples=100,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestReferralLifecycle = ReferralLifecycle.TestCase


def test_the_example_programme_runs_and_reports(capsys: pytest.CaptureFixture[str]) -> None:
    namespace: dict[str, object] = {"__name__": "__main__"}
    exec(compile(EXAMPLE.read_text(), str(EXAMPLE), "exec"), namespace)
    out = capsys.readouterr().out
    assert "held for review" in out and "expired" in out and "conversion" in out


def test_every_kudos_error_from_a_refused_referral_leaves_nothing_behind() -> None:
    c = kudos.Community(clock=FakeClock())
    c.join("alice")
    c.join("bob", referred_by="alice")
    with c.store.transaction(c.id) as tx:
        before = tx.snapshot()
    for attempt in (
        lambda: c.refer("bob", "alice"),
        lambda: c.refer("alice", "bob", event_id="other"),
        lambda: c.join("carol", referred_by="carol"),
        lambda: c.join("dave", referral_code="no-such-code"),
    ):
        with pytest.raises(KudosError):
            attempt()
    with c.store.transaction(c.id) as tx:
        assert tx.snapshot() == before
