"""Award plans: what a policy says about an action, compiled once, answers as the policy does.

An award reads its reward (by the fact's day) and its caps from the
:class:`~kudos.engine.plans.AwardPlan` of its policy and action instead of
asking the policy again for every event; the plan must answer exactly what
:meth:`Policy.reward` and :meth:`Policy.caps_for` answer. The memory store's
document index, which now re-indexes a replaced document only where its ref or
status changed, must find what a plain filter finds.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kudos
from kudos import _validate
from kudos.engine import plans
from kudos.importers import stackexchange as se
from kudos.model import Doc
from kudos.policy import Cap, EarlierReward, Policy, Reward
from kudos.stores.memory import DocIndex
from kudos.testing import FakeClock

ACTIONS = ("kudos_on_reply", "kudos_on_topic", "reply_posted", "solution_accepted")

_days = st.dates(min_value=datetime(2015, 1, 1).date(), max_value=datetime(2030, 12, 31).date())


@st.composite
def _rewards(draw: st.DrawFn) -> Reward:
    untils = sorted(set(draw(st.lists(_days, max_size=3))))
    was = [
        EarlierReward(
            until=day.isoformat(),
            points=draw(st.integers(-20, 20)),
            reputation=draw(st.integers(-20, 20)),
        )
        for day in untils
    ]
    return Reward(points=draw(st.integers(-20, 20)), reputation=draw(st.integers(-20, 20)), was=was)


_caps = st.builds(
    Cap,
    account=st.sampled_from(["points", "reputation"]),
    per=st.sampled_from(["day", "month", "post", "period", "ever"]),
    limit=st.integers(0, 50),
    actions=st.lists(st.sampled_from(ACTIONS), max_size=2),
)


@settings(max_examples=200, deadline=None)
@given(
    rewards=st.dictionaries(st.sampled_from(ACTIONS), _rewards(), max_size=4),
    caps=st.lists(_caps, max_size=4),
    day=_days,
)
def test_an_award_plan_answers_what_the_policy_answers(
    rewards: dict[str, Reward], caps: list[Cap], day: Any
) -> None:
    policy = Policy(rewards=rewards, caps=caps)
    for action in (*ACTIONS, "not_rewarded"):
        plan = plans.award_plan(policy, action)
        assert plans.award_plan(policy, action) is plan  # compiled once per policy and action
        generic = policy.reward(action).on(day.isoformat())
        assert plan.amounts(day.isoformat()) == (generic.points, generic.reputation)
        for account in ("points", "reputation"):
            assert list(plan.caps[account]) == policy.caps_for(action, account)


def test_a_changed_policy_gets_a_plan_of_its_own() -> None:
    first = Policy(rewards={"reply_posted": Reward(points=1)})
    second = first.evolve(rewards={"reply_posted": Reward(points=7)})
    assert plans.award_plan(first, "reply_posted").points == 1
    assert plans.award_plan(second, "reply_posted").points == 7


def test_a_dated_reward_is_paid_by_the_facts_day_without_building_a_reward_per_award(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dated = Reward(reputation=10, was=[EarlierReward(until="2026-03-01", reputation=5)])
    policy = kudos.policies.giffgaff().evolve(
        rewards={**kudos.policies.giffgaff().rewards, "kudos_on_reply": dated}
    )
    clock = FakeClock(datetime(2026, 2, 27, 12, tzinfo=UTC))
    c = kudos.Community(policy=policy, clock=clock)
    for m in ("asker", "alice", "bob", "carol"):
        c.join(m)
    c.post_topic("t1", author="asker", kind="question", title="No data", tags=["roaming"])
    c.post_reply("r1", topic="t1", author="alice")
    built: list[str] = []
    on = Reward.on

    def counting(self: Reward, day: str) -> Reward:
        built.append(day)
        return on(self, day)

    monkeypatch.setattr(Reward, "on", counting)
    before = c.standing("alice").reputation
    c.give_kudos("r1", giver="bob")  # 2026-02-27: the earlier value
    clock.advance(days=3)
    c.give_kudos("r1", giver="carol")  # 2026-03-02: today's value
    assert c.standing("alice").reputation - before == 5 + 10
    assert built == []


def test_a_stack_exchange_import_checks_each_event_once(monkeypatch: pytest.MonkeyPatch) -> None:
    event = kudos.events.KudosGiven(post="p1", giver="se-up-1", event_id="se-vote-1")
    checked: list[str] = []
    check = _validate.check_optional_id

    def counting(name: str, value: Any, *args: Any) -> Any:
        checked.append(name)
        return check(name, value, *args)

    monkeypatch.setattr(_validate, "check_optional_id", counting)
    reader = se._Reader(se.Path("."))
    at = datetime(2018, 9, 1, 12, tzinfo=UTC)
    reader.add(at, event)
    (timed,) = [t[3] for t in reader.timed]
    assert checked == []  # the event was checked when it was made
    assert timed.at == at and timed.event_id == "se-vote-1"
    assert timed.content() == event.content() and event.at is None


_doc_writes = st.lists(
    st.tuples(
        st.sampled_from(["post", "vote"]),
        st.sampled_from(["a", "b", "c"]),
        st.sampled_from([None, "r1", "r2"]),
        st.sampled_from([None, "live", "removed"]),
        st.integers(0, 3),
    ),
    max_size=30,
)


@settings(max_examples=200, deadline=None)
@given(writes=_doc_writes)
def test_the_memory_document_index_finds_what_a_plain_filter_finds(
    writes: list[tuple[str, str, str | None, str | None, int]],
) -> None:
    index = DocIndex()
    latest: dict[tuple[str, str], Doc] = {}
    for kind, key, ref, status, n in writes:
        doc = Doc(kind=kind, key=key, data={"n": n}, ref=ref, status=status)
        index.put(doc)
        latest[(kind, key)] = doc
    for kind in ("post", "vote"):
        for ref in (None, "r1", "r2"):
            for status in (None, "live", "removed"):
                want = sorted(
                    d.key
                    for d in latest.values()
                    if d.kind == kind
                    and (ref is None or d.ref == ref)
                    and (status is None or d.status == status)
                )
                assert sorted(d.key for d in index.find(kind, ref, status)) == want
        assert all(index.get(k) is d for k, d in latest.items())
