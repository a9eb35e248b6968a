"""Serial voting: reversing what was detected equals never having recorded those votes."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from kudos import Community, Policy, Reward
from kudos.abuse import AbuseRules
from kudos.testing import FakeClock, assert_consistent

MEMBERS = ["m0", "m1", "m2", "m3"]
DAY = datetime(2026, 11, 23, 8, tzinfo=UTC)
THRESHOLD = 3
POLICY = Policy(
    name="abuse",
    rewards={"kudos_on_reply": Reward(points=5, reputation=1), "kudos_given": Reward(points=1)},
    abuse=AbuseRules(serial_votes=THRESHOLD),
)

# (giver, author) of each kudos, in order, all on one day.
votes = st.lists(
    st.tuples(st.sampled_from(MEMBERS), st.sampled_from(MEMBERS)).filter(lambda v: v[0] != v[1]),
    max_size=25,
)


def play(kudos: list[tuple[str, str]]) -> Community:
    """Every member joins; each kudos goes to a reply of its own, ten minutes apart."""
    clock = FakeClock(DAY)
    c = Community(policy=POLICY, clock=clock)
    for m in MEMBERS:
        c.join(m)
    c.post_topic("t0", author="m0")
    for i, (giver, author) in enumerate(kudos):
        c.post_reply(f"r{i}", topic="t0", author=author)
        c.give_kudos(f"r{i}", giver=giver)
        clock.advance(minutes=10)
    clock.set(DAY + timedelta(days=1))
    return c


def balances(c: Community) -> dict[str, tuple[int, int]]:
    return {m: (c.standing(m).points, c.standing(m).reputation) for m in MEMBERS}


@settings(max_examples=40, deadline=None)
@given(votes)
def test_reversing_serial_votes_gives_the_ledger_of_a_community_without_them(
    kudos: list[tuple[str, str]],
) -> None:
    c = play(kudos)
    c.reverse_serial_votes("2026-11-23")
    assert_consistent(c)
    c.rebuild()
    pairs = Counter(kudos)
    honest = [v for v in kudos if pairs[v] < THRESHOLD]
    assert balances(c) == balances(play(honest))
    found = {(s.giver, s.author) for s in c.serial_votes("2026-11-23")}
    assert found == {pair for pair, n in pairs.items() if n >= THRESHOLD}
