"""Policy history, review findings: reversals after a recalculation, precedence of
versions, a store recreated under a live process, amounts past the bound."""

from __future__ import annotations

from datetime import UTC, datetime

import kudos
from kudos import Community, MemoryStore
from kudos.policy import Policy, Reward
from kudos.testing import FakeClock


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
