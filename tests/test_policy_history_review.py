"""Policy history, review findings: reversals after a recalculation, precedence of
versions, a store recreated under a live process, amounts past the bound."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from tests.test_policy_history import MEMBERS, T0, earned, recalculated, seeded, tag_boards

import kudos
from kudos import Community, InvalidPolicy, KudosError, MemoryStore, NotAllowed
from kudos.periods import Periods
from kudos.policy import Policy, Reward
from kudos.testing import FakeClock, assert_consistent


def _with(policy: Policy, name: str, **rewards: Reward) -> Policy:
    return policy.evolve(name=name, rewards={**policy.rewards, **rewards})


def _members(c: Community) -> None:
    for m in ("alice", "bob"):
        c.join(m)
    c.join("staff1", role="staff")


# --- 2. precedence of versions -------------------------------------------------------------


def test_a_change_effective_before_a_scheduled_one_leaves_it_scheduled() -> None:
    clock = FakeClock(datetime(2026, 11, 20, 9, tzinfo=UTC))
    g = kudos.policies.giffgaff()
    c = Community(MemoryStore(), g, clock=clock)
    _members(c)
    december = _with(g, "december", solution_accepted=Reward(points=100, reputation=10))
    c.change_policy(december, effective=datetime(2026, 12, 1, tzinfo=UTC), by="staff1", reason="x2")
    clock.advance(days=1)
    today = _with(g, "today", kudos_on_reply=Reward(points=10, reputation=1))
    c.change_policy(today, effective=clock(), by="staff1", reason="kudos double from today")
    assert [v.status for v in c.policy_history()] == ["replaced", "scheduled", "in force"]
    assert c.policy.name == "today"
    c.post_topic("t", author="bob", title="T")
    c.post_reply("r", topic="t", author="alice")
    c.give_kudos("r", giver="bob")  # 21 Nov: today's rules
    clock.advance(days=12)  # 3 Dec: the scheduled change governs from 1 Dec
    assert c.policy.name == "december"
    c.accept_solution("t", reply="r", by="bob")
    lines = [(line.policy, line.amount) for line in c.statement("alice", account="points").lines]
    assert lines == [(3, 10), (2, 100)]
    before = c.standing("alice")
    c.rebuild()
    assert c.standing("alice") == before


def test_of_two_versions_effective_at_the_same_time_the_later_recorded_governs() -> None:
    clock = FakeClock(datetime(2026, 11, 20, 9, tzinfo=UTC))
    g = kudos.policies.giffgaff()
    c = Community(MemoryStore(), g, clock=clock)
    _members(c)
    at = datetime(2026, 12, 1, tzinfo=UTC)
    c.change_policy(
        _with(g, "a", kudos_on_reply=Reward(points=7)), effective=at, by="staff1", reason="a"
    )
    c.change_policy(
        _with(g, "b", kudos_on_reply=Reward(points=9)), effective=at, by="staff1", reason="b"
    )
    clock.advance(days=12)
    assert c.policy.name == "b"
    c.post_topic("t", author="bob", title="T")
    c.post_reply("r", topic="t", author="alice")
    c.give_kudos("r", giver="bob")
    assert c.standing("alice").points == 9


# --- 1. a reversal after a retroactive change takes back the recalculated part ----------------


def _act(c: Community, clock: FakeClock, fact: tuple[str, int, int]) -> None:
    kind, topic, member = fact
    clock.advance(timedelta(minutes=7))
    reply = f"r{topic}{member}"
    giver = MEMBERS[(member + 1) % 4]
    stamp = clock().timestamp()
    try:
        if kind == "kudos":
            c.give_kudos(reply, giver=giver, event_id=f"k-{reply}-{giver}-{stamp}")
        elif kind == "withdraw":
            c.withdraw_kudos(reply, giver=giver, event_id=f"w-{reply}-{giver}-{stamp}")
        elif kind == "accept":
            c.accept_solution(f"t{topic}", reply=reply, by=MEMBERS[topic])
        elif kind == "unaccept":
            c.unaccept_solution(f"t{topic}", by=MEMBERS[topic])
        elif kind == "restore":
            c.restore_post(reply, by="staff1")
        else:
            c.remove_post(reply, by="staff1", reason="spam")
    except KudosError:
        pass  # refused (own reply, nothing to withdraw, ...): fine


def _worth(points: int, reputation: int, solution: int) -> Policy:
    g = kudos.policies.giffgaff()
    return _with(
        g,
        f"worth {points}/{reputation}/{solution}",
        kudos_on_reply=Reward(points=points, reputation=reputation),
        solution_accepted=Reward(points=solution, reputation=1),
    )


actions = st.lists(
    st.tuples(
        st.sampled_from(["kudos", "kudos", "withdraw", "accept", "unaccept", "remove"]),
        st.integers(0, 1),  # topic
        st.integers(1, 2),  # reply author (the giver is the next member)
    ),
    max_size=20,
)
worths = st.tuples(st.integers(0, 20), st.integers(0, 4), st.integers(0, 60))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=worths, then=worths, before=actions, after=actions)
@example(  # a line taken back before the change keeps the difference booked for its reversal
    first=(0, 0, 0),
    then=(0, 0, 1),
    before=[("accept", 1, 2), ("remove", 1, 2)],
    after=[("unaccept", 1, 2)],
)
def test_reversals_after_a_retroactive_change_equal_a_recalculation(
    first: tuple[int, int, int],
    then: tuple[int, int, int],
    before: list[tuple[str, int, int]],
    after: list[tuple[str, int, int]],
) -> None:
    clock = FakeClock(T0)
    c = Community(MemoryStore(), _worth(*first), clock=clock)
    seeded(c)
    for fact in before:
        _act(c, clock, fact)
    clock.advance(timedelta(minutes=1))
    new = _worth(*then)
    c.change_policy(
        new, effective=T0 - timedelta(days=1), retroactive=True, by="staff1", reason="recalc"
    )
    for fact in after:
        _act(c, clock, fact)
    truth = recalculated(c, new)
    assert earned(c) == earned(truth)
    assert tag_boards(c) == tag_boards(truth)
    assert c.simulate(new).report.members == ()
    assert_consistent(c)  # balances == ledger sums; rebuild == incremental


def test_withdrawing_a_recalculated_kudos_takes_back_its_new_value() -> None:
    clock = FakeClock(datetime(2026, 6, 1, 9, tzinfo=UTC))
    c = Community(MemoryStore(), kudos.policies.giffgaff(), clock=clock)
    _members(c)
    c.post_topic("t1", author="bob", title="No data abroad")
    for reply in ("r1", "r2"):
        c.post_reply(reply, topic="t1", author="alice")
        c.give_kudos(reply, giver="bob")
    assert c.standing("alice").points == 10
    generous = _with(c.policy, "generous", kudos_on_reply=Reward(points=10, reputation=1))
    clock.advance(days=1)
    c.change_policy(
        generous,
        effective=datetime(2026, 1, 1, tzinfo=UTC),
        retroactive=True,
        by="staff1",
        reason="kudos count double",
    )
    assert c.standing("alice").points == 20
    out = c.withdraw_kudos("r1", giver="bob")
    assert c.standing("alice").points == 10
    revalued = [e for e in out.entries if e.action == "policy_recalculated"]
    assert [e.amount for e in revalued] == [-5] and revalued[0].reverses is not None
    assert c.simulate(c.policy).report.members == ()
    assert_consistent(c)


# --- 4. amounts past kudos's bound --------------------------------------------------------


@pytest.mark.parametrize("points", [10**20, 2**62, -(10**12) - 1])
def test_a_reward_past_the_amount_bound_is_an_invalid_policy_naming_the_key(points: int) -> None:
    with pytest.raises(InvalidPolicy, match="points must be between"):
        Reward(points=points)
    data = {"name": "big", "rewards": {"kudos_on_reply": {"points": points}}}
    with pytest.raises(InvalidPolicy, match=r"^rewards\.kudos_on_reply\.points must be between"):
        Policy.from_dict(data)
    with pytest.raises(InvalidPolicy, match=r"caps\[0\]\.limit must be between"):
        Policy.from_dict(
            {"name": "big", "caps": [{"account": "points", "per": "day", "limit": 2**62}]}
        )


def test_a_recalculation_the_new_rules_refuse_is_refused_and_writes_nothing() -> None:
    # Before: the recalculation skipped what the new rules refuse (it "earned nothing").
    clock = FakeClock(datetime(2026, 6, 1, 9, tzinfo=UTC))
    voting = kudos.policies.giffgaff().evolve(down_votes=True)
    c = Community(MemoryStore(), voting, clock=clock)
    _members(c)
    c.post_topic("t1", author="bob", title="x")
    c.post_reply("r1", topic="t1", author="alice")
    c.give_kudos("r1", giver="bob")
    c.down_vote("r1", voter="bob")
    before = c.standing("alice")
    with pytest.raises(
        NotAllowed, match=r"recalculation stops at event .*down-voted.*no down-votes"
    ):
        c.change_policy(
            voting.evolve(name="no down-votes", down_votes=False),
            effective=datetime(2026, 1, 1, tzinfo=UTC),
            retroactive=True,
            by="staff1",
            reason="down-votes go",
        )
    assert [v.version for v in c.policy_history()] == [1]
    assert c.standing("alice") == before
    assert_consistent(c)


# --- 3. a store recreated with other content under a live process -------------------------


def test_a_store_recreated_with_another_policy_under_a_live_process_is_read_again(
    tmp_path: Path,
) -> None:
    path = tmp_path / "community.db"
    url = f"sqlite:///{path}"
    g = kudos.policies.giffgaff()

    def seed(policy: Policy) -> Community:
        c = kudos.open(url, policy=policy)
        _members(c)
        c.post_topic("t1", author="bob", title="x")
        return c

    first = seed(g)
    first.post_reply("r0", topic="t1", author="alice")
    first.give_kudos("r0", giver="bob")
    first.store.close()
    path.unlink()
    other_process = (
        "import kudos\n"
        "g = kudos.policies.giffgaff()\n"
        "b = g.evolve(name='B', rewards={**g.rewards, "
        "'kudos_on_reply': kudos.Reward(points=10, reputation=1)})\n"
        f"c = kudos.open({url!r}, policy=b)\n"
        "for m in ('alice', 'bob'): c.join(m)\n"
        "c.post_topic('t1', author='bob', title='x')\n"
    )
    subprocess.run([sys.executable, "-c", other_process], check=True)  # version 1 is now B
    again = kudos.open(url)  # per request, no policy=: this process knew version 1 as giffgaff
    again.post_reply("r1", topic="t1", author="alice")
    again.give_kudos("r1", giver="bob")
    assert again.standing("alice").points == 10  # before: 5, under the policy it knew
    assert again.policy.name == "B"
    assert_consistent(again)


# --- 6. many versions: each parsed at most once per process, and only when needed ----------


def test_each_policy_version_is_parsed_at_most_once_and_only_when_needed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kudos.history import state, timeline

    parses: list[str] = []
    real = timeline.from_content

    def counting(content: str) -> Policy:
        parses.append(content)
        return real(content)

    monkeypatch.setattr(timeline, "from_content", counting)
    monkeypatch.setattr(timeline, "_PARSED", {})
    store = MemoryStore()
    clock = FakeClock(datetime(2026, 6, 1, 9, tzinfo=UTC))
    g = kudos.policies.giffgaff()
    c = Community(store, g, clock=clock)
    _members(c)
    c.post_topic("t", author="bob", title="x")
    for i in range(80):  # past the 64 policies from_content keeps
        clock.advance(timedelta(minutes=1))
        worth = _with(g, f"p{i}", kudos_on_reply=Reward(points=i + 1, reputation=1))
        c.change_policy(worth, by="staff1", reason="another step")
    assert len(parses) == len(set(parses)) <= 81  # each version at most once
    # A process that never met the store: it parses only the version in force.
    monkeypatch.setattr(timeline, "_PARSED", {})
    monkeypatch.setattr(state, "_KNOWN", {})
    parses.clear()
    fresh = Community(store, clock=clock)
    fresh.post_reply("r", topic="t", author="alice")
    fresh.give_kudos("r", giver="bob")
    assert fresh.standing("alice").points == 80
    assert len(parses) == 1


# --- 8. a version says who changed it, why, when, and whether it recalculated --------------


def test_policy_history_says_who_changed_it_why_when_and_has_a_short_repr() -> None:
    clock = FakeClock(datetime(2026, 6, 1, 9, tzinfo=UTC))
    c = Community(MemoryStore(), kudos.policies.giffgaff(), clock=clock)
    _members(c)
    clock.advance(days=1)
    worth = _with(c.policy, "generous", kudos_on_reply=Reward(points=10, reputation=1))
    c.change_policy(
        worth,
        effective=datetime(2026, 1, 1, tzinfo=UTC),
        retroactive=True,
        by="staff1",
        reason="kudos count double",
    )
    first, second = c.policy_history()
    assert (first.by, first.reason, first.recorded_at, first.retroactive) == (None,) * 4
    assert (second.by, second.reason, second.retroactive) == ("staff1", "kudos count double", True)
    assert second.recorded_at == clock()
    shown = repr(second)
    assert len(shown) < 600 and second.content not in shown and second.fingerprint[:12] in shown


# --- 5. the period scheme once a period is closed --------------------------------------------


def test_a_change_of_period_scheme_after_a_closed_period_is_refused_and_writes_nothing() -> None:
    clock = FakeClock(datetime(2026, 3, 1, 9, tzinfo=UTC))
    g = kudos.policies.giffgaff()
    c = Community(MemoryStore(), g, clock=clock)
    _members(c)
    c.set_payout_method("alice", "credit")
    c.post_topic("t1", author="bob", title="No data abroad")
    c.post_reply("r1", topic="t1", author="alice")
    c.give_kudos("r1", giver="bob")
    clock.advance(days=125)  # July
    c.close_period("2026-H1", by="staff1")
    monthly = g.evolve(name="monthly", periods=Periods(kind="month"))
    with pytest.raises(NotAllowed, match="cut time into payback periods differently"):
        c.change_policy(monthly, by="staff1", reason="monthly payouts")
    assert [v.version for v in c.policy_history()] == [1]
    assert [p.period for p in c.payouts("2026-H1")] == ["2026-H1"]
    # The same scheme is welcome; a new scheme before any close is too.
    c.change_policy(
        _with(g, "more", kudos_on_reply=Reward(points=9)), by="staff1", reason="kudos worth more"
    )
    fresh = Community(MemoryStore(), g, clock=clock)
    _members(fresh)
    fresh.change_policy(monthly, by="staff1", reason="monthly payouts")
    assert fresh.current_period() == "2026-07"


# --- 8. simulate previews the change about to be made ----------------------------------------


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    first=worths,
    middle=worths,
    then=worths,
    before=actions,
    after=actions,
    back=st.integers(0, 40),
)
def test_simulate_with_effective_previews_exactly_what_a_retroactive_change_books(
    first: tuple[int, int, int],
    middle: tuple[int, int, int],
    then: tuple[int, int, int],
    before: list[tuple[str, int, int]],
    after: list[tuple[str, int, int]],
    back: int,
) -> None:
    clock = FakeClock(T0)
    c = Community(MemoryStore(), _worth(*first), clock=clock)
    seeded(c)
    for fact in before:
        _act(c, clock, fact)
    clock.advance(timedelta(minutes=1))
    c.change_policy(_worth(*middle), by="staff1", reason="a first change, not retroactive")
    for fact in after:
        _act(c, clock, fact)
    clock.advance(timedelta(minutes=1))
    effective = clock() - timedelta(minutes=7 * back)
    new = _worth(*then)
    preview = c.simulate(new, effective=effective, retroactive=True)
    moved = {
        (m.member, account): getattr(m, f"{account}_after") - getattr(m, f"{account}_before")
        for m in preview.report.members
        for account in ("points", "reputation")
    }
    nothing = c.simulate(new, effective=effective, retroactive=False)
    assert nothing.report.members == ()
    was = earned(c)
    out = c.change_policy(new, effective=effective, retroactive=True, by="staff1", reason="now")
    booked = dict.fromkeys(moved, 0)
    for line in out.entries:
        booked[(line.member, line.account)] = booked.get((line.member, line.account), 0)
        booked[(line.member, line.account)] += line.amount
    assert {k: a for k, a in booked.items() if a} == {k: a for k, a in moved.items() if a}
    after_change = earned(c)
    assert after_change == {
        (m, account): getattr(s, field)
        for m, s in preview.standings.items()
        for account, field in (("points", "lifetime_points"), ("reputation", "reputation"))
    } | {k: v for k, v in was.items() if k[0] not in preview.standings}


# --- 7. an object that did not make the change -----------------------------------------------


def test_payback_period_checks_the_period_under_the_policy_its_transaction_reads() -> None:
    store = MemoryStore()
    clock = FakeClock(datetime(2026, 6, 1, 9, tzinfo=UTC))
    g = kudos.policies.giffgaff()
    one = Community(store, g, clock=clock)
    _members(one)
    assert one.payback_period("2026-H1").id == "2026-H1"  # one knows half-years
    other = Community(store, clock=clock)
    other.change_policy(
        g.evolve(name="monthly", periods=Periods(kind="month")), by="staff1", reason="monthly"
    )
    assert one.payback_period("2026-06").id == "2026-06"  # before: UnknownRecord
    assert one.policy.name == "monthly"


# --- 5. a key only an earlier recalculation booked; days under the version that booked --


def test_a_retroactive_change_after_a_merge_revalues_what_an_earlier_change_booked() -> None:
    """The merge moved nothing of a's (an earlier change took a's points away); the next
    change gave them back through the merge (a line only that recalculation booked); the
    third takes them away again: it must find that line's time, not fail on it."""
    p = kudos.policies.giffgaff()
    no_reply_kudos = p.evolve(rewards={k: v for k, v in p.rewards.items() if k != "kudos_on_reply"})
    clock = FakeClock(datetime(2026, 3, 1, 12, tzinfo=UTC))
    c = Community(MemoryStore(), p, clock=clock)
    c.join("staff", role="staff")
    for m in "abcd":
        c.join(m)
    c.post_topic("t", author="b")
    c.post_reply("r", topic="t", author="a")
    clock.advance(hours=1)
    c.give_kudos("r", giver="d")
    for n, policy in enumerate((no_reply_kudos, p, no_reply_kudos)):
        clock.advance(days=2 if n == 0 else 1)
        if n == 1:
            c.merge_members("a", into="c", by="staff")
            clock.advance(days=1)
        effective = clock() - timedelta(days=5)
        preview = c.simulate(policy, effective=effective, retroactive=True)
        c.change_policy(policy, effective=effective, by="staff", reason=str(n), retroactive=True)
        assert {s.member: s.points for s in c.standings()} == {
            m: s.points for m, s in preview.standings.items()
        }
        assert_consistent(c)


def test_assert_consistent_counts_each_line_on_the_days_of_the_version_that_booked_it() -> None:
    clock = FakeClock(datetime(2026, 4, 19, 23, 30, tzinfo=UTC))  # 20 April in London
    p = kudos.policies.giffgaff()
    c = Community(MemoryStore(), p, clock=clock)
    c.join("staff", role="staff")
    c.join("a")
    c.join("b")
    c.post_topic("t", author="a")
    c.post_reply("r", topic="t", author="b")
    c.give_kudos("r", giver="a")
    clock.advance(days=1)
    new_york = p.evolve(periods=attrs.evolve(p.periods, timezone="America/New_York"))
    c.change_policy(new_york, effective=clock(), by="staff", reason="our office moved")
    assert_consistent(c)  # the kudos counts on 20 April (London), as booked


def test_a_retroactive_preview_says_first_that_the_change_would_be_refused() -> None:
    clock = FakeClock(datetime(2026, 6, 1, 9, tzinfo=UTC))
    p = kudos.policies.giffgaff().evolve(down_votes=True)
    c = Community(MemoryStore(), p, clock=clock)
    for m in ("ann", "bob", "cat"):
        c.join(m)
    c.join("staff1", role="staff")
    c.post_topic("t1", author="ann", title="No data")
    c.post_reply("r1", topic="t1", author="bob")
    c.give_kudos("r1", giver="ann")
    clock.advance(days=2)
    c.down_vote("r1", voter="cat")
    no_down_votes = p.evolve(down_votes=False)
    effective = datetime(2026, 6, 1, tzinfo=UTC)
    preview = c.simulate(no_down_votes, effective=effective, retroactive=True)
    said = preview.report.summary()
    assert said and said[0].startswith("change_policy() with these arguments would refuse")
    assert "'down-voted:r1:cat'" in said[0]
    assert said[0] in preview.report.text()
    with pytest.raises(NotAllowed, match="down-voted:r1:cat"):
        c.change_policy(
            no_down_votes, effective=effective, by="staff1", reason="x", retroactive=True
        )
    # not retroactive: nothing recorded is valued again, so nothing is refused
    assert c.simulate(no_down_votes, effective=effective, retroactive=False).report.summary() == ()
