"""Leaderboards: policy data, board arguments, and every board against a recomputation."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kudos
from kudos.engine.core import EARNED_POINTS
from kudos.errors import InvalidInput, InvalidPolicy
from kudos.leaderboards import METRICS, LeaderboardPosition, LeaderboardRules, preset
from kudos.leaderboards import api as leaderboards
from kudos.periods import Periods
from kudos.testing import FakeClock, assert_consistent
from kudos.testing.conformance.leaderboards import OPS, check_boards, play

# --- the policy section ------------------------------------------------------------------


def test_rules_default_to_id_ties_and_day_counters_for_every_board_metric() -> None:
    rules = LeaderboardRules()
    assert rules.tie_break is None
    assert rules.window_metrics == tuple(sorted(METRICS))
    assert rules.max_window_days == 90


def test_presets_exist_for_both_anchors_and_nothing_else() -> None:
    assert preset("giffgaff") == preset("stackexchange") == LeaderboardRules()
    with pytest.raises(InvalidPolicy, match="'giffgaff' or 'stackexchange'"):
        preset("discourse")


def test_rules_load_from_toml() -> None:
    policy = kudos.Policy.from_toml(
        '[leaderboards]\ntie_break = "solutions"\n'
        'window_metrics = ["kudos_received", "solutions"]\nmax_window_days = 30\n'
    )
    assert policy.leaderboards == LeaderboardRules(
        tie_break="solutions", window_metrics=("kudos_received", "solutions"), max_window_days=30
    )


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('tie_break = "likes"', "leaderboards.tie_break must be one of"),
        ('window_metrics = ["likes"]', "leaderboards.window_metrics: unknown metric 'likes'"),
        ("max_window_days = 0", "leaderboards.max_window_days"),
        ('max_window_days = "30"', "leaderboards.max_window_days must be a whole number"),
        ("top = 10", "unknown key 'leaderboards.top'"),
        (
            'tie_break = "points"\nwindow_metrics = ["reputation"]',
            "tie_break 'points' must also be in leaderboards.window_metrics",
        ),
    ],
)
def test_bad_rules_name_the_key(toml: str, message: str) -> None:
    with pytest.raises(InvalidPolicy, match=message):
        kudos.Policy.from_toml(f"[leaderboards]\n{toml}\n")


def test_rules_without_windows_may_break_ties_by_any_metric() -> None:
    assert LeaderboardRules(tie_break="points", window_metrics=()).tie_break == "points"


# --- values ---------------------------------------------------------------------------------


def test_position_reads_like_a_sentence() -> None:
    pos = LeaderboardPosition(member="bob", by="reputation", position=1234, of=98_000, value=70)
    assert f"You are {pos}" == "You are #1,234 of 98,000"
    assert pos.ranked and pos.top_percent == 2
    first = LeaderboardPosition(member="amy", by="reputation", position=1, of=1, value=3)
    assert str(first) == "#1 of 1" and first.top_percent == 100
    none = LeaderboardPosition(member="eve", by="reputation", position=None, of=0, value=0)
    assert str(none) == "unranked (0 ranked)"
    assert not none.ranked and none.top_percent is None


# --- board arguments -----------------------------------------------------------------------


@pytest.fixture
def community() -> kudos.Community:
    c = kudos.Community(clock=FakeClock())
    c.join("alice")
    return c


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"by": "likes"}, "cannot rank by 'likes'; leaderboards rank by one of reputation"),
        ({"limit": 0}, "limit must be a whole number from 1 to 1000"),
        ({"limit": 1001}, "limit must be"),
        ({"limit": 2.0}, "limit must be"),
        ({"offset": -1}, "offset must be a whole number >= 0"),
        ({"offset": True}, "offset must be"),
        ({"include_staff": "yes"}, "include_staff must be True or False"),
        ({"tag": ""}, "tag must be a non-empty"),
        ({"tag": " roaming"}, "tag must be a non-empty"),
        ({"period": 2026}, "period must be a period id"),
        ({"window": "7"}, "window must be a number of days like '7d'"),
        ({"window": "a week"}, "window must be a number of days"),
        ({"window": 7}, "window must be a number of days"),
        ({"window": "0d"}, "outside 1-90 days"),
        ({"window": "91d"}, "leaderboards.max_window_days"),
        ({"window": timedelta(days=-7)}, "whole number of days"),
        ({"window": timedelta(days=1, seconds=1)}, "whole number of days"),
        ({"window": "7d", "period": "current"}, "either a period or a rolling window"),
        ({"window": "7d", "tag": "roaming"}, "combine tag= with period= instead"),
    ],
)
def test_bad_board_arguments_say_what_to_pass(
    community: kudos.Community, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        community.leaderboard(**kwargs)  # type: ignore[arg-type]


def test_position_checks_the_same_arguments(community: kudos.Community) -> None:
    with pytest.raises(InvalidInput, match="cannot rank by 'likes'"):
        community.position("alice", by="likes")
    with pytest.raises(InvalidInput, match="combine tag= with period="):
        community.position("alice", window="7d", tag="roaming")


def test_a_period_id_of_another_schedule_is_unknown(community: kudos.Community) -> None:
    with pytest.raises(kudos.UnknownRecord, match="2026-11"):
        community.leaderboard(period="2026-11")


def test_windows_accept_day_strings_and_timedeltas_alike(community: kudos.Community) -> None:
    community.join("bob")
    community.post_topic("t1", author="bob")
    community.post_reply("r1", topic="t1", author="alice")
    community.give_kudos("r1", giver="bob")
    as_text = community.leaderboard(by="kudos_received", window=" 7d ")
    assert as_text == community.leaderboard(by="kudos_received", window=timedelta(weeks=1))
    assert [(r.member, r.value) for r in as_text] == [("alice", 1)]


def test_current_period_follows_the_clock() -> None:
    clock = FakeClock(datetime(2026, 11, 30, 23, 30, tzinfo=UTC))
    c = kudos.Community(clock=clock)
    for m in ("alice", "bob"):
        c.join(m)
    c.post_topic("t1", author="bob")
    c.post_reply("r1", topic="t1", author="alice")
    c.give_kudos("r1", giver="bob")
    assert [r.member for r in c.leaderboard(by="kudos_received", period="current")] == ["alice"]
    clock.advance(hours=1)  # midnight in London: 2027-H1 begins
    assert c.leaderboard(by="kudos_received", period="current") == []
    assert [r.member for r in c.leaderboard(by="kudos_received", period="2026-H2")] == ["alice"]


def test_a_window_day_is_a_day_in_the_periods_time_zone() -> None:
    policy = kudos.policies.giffgaff().evolve(
        periods=Periods(kind="month", timezone="Pacific/Auckland")
    )
    # 2026-11-23 12:00 UTC is 01:00 on the 24th in Auckland.
    clock = FakeClock(datetime(2026, 11, 23, 10, tzinfo=UTC))
    c = kudos.Community(policy=policy, clock=clock)
    for m in ("alice", "bob"):
        c.join(m)
    c.post_topic("t1", author="bob")
    c.post_reply("r1", topic="t1", author="alice")
    clock.set(datetime(2026, 11, 23, 12, tzinfo=UTC))
    c.give_kudos("r1", giver="bob", at=datetime(2026, 11, 23, 10, 30, tzinfo=UTC))
    assert c.leaderboard(by="kudos_received", window="1d") == []
    assert [r.value for r in c.leaderboard(by="kudos_received", window="2d")] == [1]
    assert_consistent(c)


def test_day_counters_are_kept_only_for_window_metrics(community: kudos.Community) -> None:
    community.join("bob")
    community.post_topic("t1", author="bob")
    community.post_reply("r1", topic="t1", author="alice")
    community.give_kudos("r1", giver="bob")
    with community.store.transaction(community.id) as tx:
        scopes = {(m, s) for m, s, _ in tx.snapshot().counters if s.startswith("day:")}
    assert scopes == {
        ("kudos_received", "day:2026-11-23"),
        (EARNED_POINTS, "day:2026-11-23"),
        ("reputation", "day:2026-11-23"),
    }


# --- every board against a recomputation ------------------------------------------------------

ops_strategy = st.lists(
    st.tuples(
        st.sampled_from(OPS),
        st.integers(0, 15),
        st.integers(0, 15),
        st.integers(0, 15),
        st.integers(0, 40),
    ),
    min_size=20,
    max_size=80,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    ops=ops_strategy,
    tie_break=st.sampled_from([None, "solutions", "kudos_received", "reputation"]),
    periods=st.sampled_from(
        [
            Periods(kind="half-year", start_month=12, timezone="Europe/London"),
            Periods(kind="month", timezone="UTC"),
            Periods(kind="quarter", timezone="America/New_York"),
            Periods(kind="month", timezone="Pacific/Auckland"),
        ]
    ),
)
def test_every_board_and_position_equals_a_recomputation(
    ops: list[tuple[str, int, int, int, int]], tie_break: str | None, periods: Periods
) -> None:
    policy = kudos.policies.giffgaff().evolve(
        periods=periods, leaderboards=LeaderboardRules(tie_break=tie_break)
    )
    clock = FakeClock()
    community = kudos.Community(policy=policy, clock=clock)
    facts = play(community, clock, ops)
    assert check_boards(community, facts) > 0
    assert_consistent(community, replay=False)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=ops_strategy)
def test_boards_without_a_cache_equal_boards_with_one(
    ops: list[tuple[str, int, int, int, int]],
) -> None:
    clock = FakeClock()
    community = kudos.Community(clock=clock, cache=None)
    facts = play(community, clock, ops)
    check_boards(community, facts, metrics=("reputation", "kudos_received"))
    assert community.cache.stats().hits == 0


# --- window pages read only the top of each day ----------------------------------------------

DAYS = ("2026-11-21", "2026-11-22", "2026-11-23")
PEOPLE = tuple(f"p{i:02d}" for i in range(25))


@settings(max_examples=150, deadline=None)
@given(
    values=st.dictionaries(
        st.tuples(st.sampled_from(PEOPLE), st.sampled_from(DAYS), st.sampled_from(["m", "t"])),
        st.integers(-3, 12),
        max_size=120,
    ),
    n=st.integers(1, 12),
    excluded=st.sets(st.sampled_from(PEOPLE), max_size=3),
    tie=st.sampled_from([None, "t"]),
    chunk=st.sampled_from([1, 2, 3, 64]),
)
def test_a_window_page_equals_ranking_every_member(
    values: dict[tuple[str, str, str], int],
    n: int,
    excluded: set[str],
    tie: str | None,
    chunk: int,
) -> None:
    store = kudos.MemoryStore()
    with store.transaction("c") as tx:
        tx.add({(metric, f"day:{day}", p): v for (p, day, metric), v in values.items()})
    totals: dict[str, list[int]] = {}
    for (p, _, metric), v in values.items():
        if p not in excluded:
            totals.setdefault(p, [0, 0])[metric == "t"] += v
    want = sorted(
        ((p, m, t if tie else 0) for p, (m, t) in totals.items() if m > 0),
        key=lambda r: (-r[1], -r[2], r[0]),
    )
    with mock.patch.object(leaderboards, "_CHUNK", chunk), store.transaction("c") as tx:
        got = leaderboards._window_top(tx, "m", DAYS, n, sorted(excluded), tie)
    assert got == [(p, m) for p, m, _ in want[:n]]


def test_a_window_page_reads_only_the_top_of_each_day() -> None:
    store = kudos.MemoryStore()
    with store.transaction("c") as tx:
        tx.add({("m", f"day:{d}", f"p{i:04d}"): 1 for d in DAYS for i in range(2000)})
        tx.add({("m", f"day:{d}", "star"): 50 for d in DAYS})
    calls: list[str] = []
    with store.transaction("c") as tx:
        read = tx.counters_of

        def counting(subject: str, scopes: Sequence[str]) -> dict[tuple[str, str], int]:
            calls.append(subject)
            return read(subject, scopes)

        with mock.patch.object(tx, "counters_of", counting):
            assert leaderboards._window_top(tx, "m", DAYS, 1, ()) == [("star", 150)]
    assert calls == ["star"]


def test_a_member_unseen_on_every_day_can_still_win_a_tie_on_member_id() -> None:
    store = kudos.MemoryStore()
    with store.transaction("c") as tx:
        # Day one's best two rows are c and a, day two's aa and ab: b is never read at
        # first, yet b's 2 + 2 ties c's 4 and b comes first by member id.
        tx.add({("m", "day:1", "c"): 4, ("m", "day:1", "a"): 2, ("m", "day:1", "b"): 2})
        tx.add({("m", "day:2", "aa"): 2, ("m", "day:2", "ab"): 2, ("m", "day:2", "b"): 2})
    with mock.patch.object(leaderboards, "_CHUNK", 1), store.transaction("c") as tx:
        assert leaderboards._window_top(tx, "m", ("1", "2"), 1, ()) == [("b", 4)]
