"""Abuse that does not pay: reversing what was detected (serial kudos, vote rings) and the
limits (new accounts, shared fingerprints) equal never having recorded those votes."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kudos import Cap, Community, InvalidPolicy, Policy, Reward
from kudos.abuse import AbuseRules
from kudos.abuse import handlers as _abuse
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


def play(kudos: list[tuple[str, str]], policy: Policy = POLICY) -> Community:
    """Every member joins; each kudos goes to a reply of its own, ten minutes apart."""
    clock = FakeClock(DAY)
    c = Community(policy=policy, clock=clock)
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


# A daily cap on what kudos earn their author: some votes are held back (paid 0) and
# topped up when room opens. Serial votes are still every vote, and reversing them
# frees no room for the serial voter's own held-back votes.
CAPPED = POLICY.evolve(
    caps=(
        Cap(account="reputation", per="day", limit=3, actions=("kudos_on_reply",)),
        Cap(account="points", per="day", limit=12, actions=("kudos_on_reply",)),
    )
)


@settings(max_examples=60, deadline=None)
@given(votes)
def test_under_a_cap_reversing_serial_votes_gives_the_ledger_of_a_community_without_them(
    kudos: list[tuple[str, str]],
) -> None:
    c = play(kudos, CAPPED)
    c.reverse_serial_votes("2026-11-23")
    assert_consistent(c)
    pairs = Counter(kudos)
    honest = [v for v in kudos if pairs[v] < THRESHOLD]
    assert balances(c) == balances(play(honest, CAPPED))
    c.rebuild()
    assert balances(c) == balances(play(honest, CAPPED))
    found = {(s.giver, s.author) for s in c.serial_votes("2026-11-23")}
    assert found == {pair for pair, n in pairs.items() if n >= THRESHOLD}
    assert all(s.reversed for s in c.serial_votes("2026-11-23"))


# --- every rule at once: reversing what was detected equals never recording it -----------

PEOPLE = ["m0", "m1", "m2", "m3", "m4"]
SHARED = {"m3": ["device-1"], "m4": ["device-1"]}  # m3 and m4 share a device
RULES = AbuseRules(
    serial_votes=3,
    ring_size=3,
    ring_share=60,
    ring_votes=2,
    new_account_contributions=1,
    same_fingerprint=True,
)
STRICT = POLICY.evolve(abuse=RULES)
LENIENT = POLICY.evolve(abuse=AbuseRules())
PERIOD = "2026-H2"

# (giver, author) of each kudos; pairs among m1, m2 and m3 come up often, so rings form.
ballots = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(PEOPLE), st.sampled_from(PEOPLE)),
        st.tuples(st.sampled_from(PEOPLE[1:4]), st.sampled_from(PEOPLE[1:4])),
        st.tuples(st.sampled_from(PEOPLE[1:3]), st.sampled_from(PEOPLE[1:3])),
    ).filter(lambda v: v[0] != v[1]),
    max_size=24,
)


def vote(policy: Policy, kudos: list[tuple[str, str]], skip: frozenset[int] = frozenset()):
    """Everyone joins (m3 and m4 on one device), all but m4 open a topic, and each kudos
    goes to a reply of its own, ten minutes apart on one day; ``skip`` leaves those kudos out
    (their replies are still posted). Returns the community and each kudos's event id."""
    clock = FakeClock(DAY)
    c = Community(policy=policy, clock=clock)
    for m in PEOPLE:
        c.join(m, fingerprints=SHARED.get(m, []))
    c.join("staff", role="staff")
    for m in PEOPLE[:4]:
        c.post_topic(f"t-{m}", author=m)
    ids = []
    for i, (giver, author) in enumerate(kudos):
        c.post_reply(f"r{i}", topic="t-m0", author=author)
        ids.append(None if i in skip else c.give_kudos(f"r{i}", giver=giver).event_id)
        clock.advance(minutes=10)
    clock.set(DAY + timedelta(days=1))
    return c, ids


def points(c: Community) -> dict[str, tuple[int, int]]:
    return {m: (c.standing(m).points, c.standing(m).reputation) for m in PEOPLE}


@settings(max_examples=60, deadline=None)
@given(ballots)
def test_reversing_every_detected_abuse_gives_the_ledger_of_a_community_without_those_votes(
    kudos: list[tuple[str, str]],
) -> None:
    c, ids = vote(STRICT, kudos)
    c.reverse_serial_votes("2026-11-23")
    for ring in c.vote_rings(PERIOD):
        c.reverse_vote_ring(PERIOD, ring.members, by="staff")
    assert_consistent(c)
    c.rebuild()
    report = c.abuse_report(PERIOD)
    abusive = {v.event_id for v in report.limited_votes}
    abusive |= {e for s in report.serial_votes for e in s.events}
    abusive |= {e for r in report.rings for e in r.events}
    assert report.points == 0  # nothing detected still pays
    assert all(r.reversed for r in report.rings) and all(s.reversed for s in report.serial_votes)
    honest, _ = vote(LENIENT, kudos, frozenset(i for i, e in enumerate(ids) if e in abusive))
    assert points(c) == points(honest)
    # The limits are the documented ones: a giver with no post yet, or one sharing a device.
    posted = set(PEOPLE[:4])
    expected = set()
    for i, (giver, author) in enumerate(kudos):
        posted.add(author)
        if giver not in posted or {giver, author} <= set(SHARED):
            expected.add(ids[i])
    assert {v.event_id for v in report.limited_votes} == expected


def _oracle(votes: list[tuple[str, str]], rules: AbuseRules) -> set[tuple[str, ...]]:
    """Every maximal group passing the ring test, by brute force over all subsets."""
    given = Counter(g for g, _ in votes)
    pairs = Counter(votes)
    assert rules.ring_size is not None

    def ring(group: tuple[str, ...]) -> bool:
        for m in group:
            inside = sum(pairs[(m, o)] for o in group if o != m)
            if inside < rules.ring_votes or inside * 100 < rules.ring_share * given[m]:
                return False
        for start in group:  # every member reaches every other through the group's kudos
            seen, todo = {start}, [start]
            while todo:
                at = todo.pop()
                for o in group:
                    if pairs[(at, o)] and o not in seen:
                        seen.add(o)
                        todo.append(o)
            if len(seen) != len(group):
                return False
        return True

    found = {
        g
        for n in range(2, rules.ring_size + 1)
        for g in itertools.combinations(sorted(PEOPLE), n)
        if ring(g)
    }
    return {g for g in found if not any(set(g) < set(h) for h in found)}


@settings(max_examples=200, deadline=None)
@given(ballots, st.randoms(use_true_random=False), st.sampled_from([2, 3, 4, 5]))
def test_rings_are_exactly_the_maximal_groups_passing_the_test_in_any_vote_order(
    kudos: list[tuple[str, str]], shuffle: random.Random, size: int
) -> None:
    rules = AbuseRules(ring_size=size, ring_share=70, ring_votes=2)
    stamp = datetime(2026, 11, 23, tzinfo=UTC)
    made = [
        _abuse._Vote(
            event_id=f"e{i}", giver=g, author=a, post=f"r{i}", at=stamp, points=5, reversed=False
        )
        for i, (g, a) in enumerate(kudos)
    ]
    found = _abuse.find_rings(PERIOD, made, rules)
    assert {r.members for r in found} == _oracle(kudos, rules)
    shuffle.shuffle(made)
    again = _abuse.find_rings(PERIOD, made, rules)
    assert [(r.members, sorted(r.events), r.shares) for r in again] == [
        (r.members, sorted(r.events), r.shares) for r in found
    ]


def test_the_abuse_section_loads_from_toml_and_refuses_bad_values() -> None:
    policy = Policy.from_toml(
        """
        [abuse]
        serial_votes = 5
        ring_size = 4
        ring_share = 90
        ring_votes = 3
        new_account_days = 7
        new_account_contributions = 2
        same_fingerprint = true
        """
    )
    assert policy.abuse == AbuseRules(
        serial_votes=5,
        ring_size=4,
        ring_share=90,
        ring_votes=3,
        new_account_days=7,
        new_account_contributions=2,
        same_fingerprint=True,
    )
    for bad, match in (
        ("ring_size = 1", "ring_size"),
        ("ring_size = 40", "ring_size"),
        ("ring_share = 50", "ring_share"),
        ("ring_share = 101", "ring_share"),
        ("ring_votes = 0", "ring_votes"),
        ("new_account_days = -1", "new_account_days"),
        ("same_fingerprint = 1", "same_fingerprint"),
        ("rings = 3", "unknown key"),
    ):
        with pytest.raises(InvalidPolicy, match=match):
            Policy.from_toml(f"[abuse]\n{bad}\n")
