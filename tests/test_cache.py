"""The read cache: hits, expiry, bounds, invalidation by writes, and turning it off."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kudos
from kudos import CacheStats, ReadCache
from kudos.errors import InvalidInput
from kudos.testing import FakeClock


class Timer:
    """A fake monotonic clock for the TTL, in seconds."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _counting() -> tuple[list[int], Callable[[], int]]:
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    return calls, compute


# --- the cache on its own ---------------------------------------------------------------


def test_second_lookup_is_a_hit() -> None:
    cache = ReadCache(maxsize=10, ttl=5)
    calls, compute = _counting()
    assert cache.get_or_compute("k", compute) == 1
    assert cache.get_or_compute("k", compute) == 1
    assert len(calls) == 1
    assert cache.stats() == CacheStats(hits=1, misses=1, size=1, maxsize=10, ttl=5.0, clears=0)
    assert cache.stats().hit_rate == 0.5


def test_results_expire_after_the_ttl() -> None:
    timer = Timer()
    cache = ReadCache(maxsize=10, ttl=5, timer=timer)
    calls, compute = _counting()
    cache.get_or_compute("k", compute)
    timer.now = 4.9
    assert cache.get_or_compute("k", compute) == 1
    timer.now = 5.0
    assert cache.get_or_compute("k", compute) == 2
    assert len(calls) == 2
    timer.now = 20.0
    assert cache.stats().size == 0


def test_the_least_recently_used_result_goes_first_when_full() -> None:
    cache = ReadCache(maxsize=2, ttl=60)
    cache.get_or_compute("a", lambda: "A")
    cache.get_or_compute("b", lambda: "B")
    cache.get_or_compute("a", lambda: "stale")
    cache.get_or_compute("c", lambda: "C")
    assert cache.stats().size == 2
    assert cache.get_or_compute("a", lambda: "again") == "A"
    assert cache.get_or_compute("b", lambda: "again") == "again"


def test_clear_forgets_everything_and_is_counted() -> None:
    cache = ReadCache(maxsize=10, ttl=60)
    cache.get_or_compute("k", lambda: 1)
    cache.clear()
    assert cache.stats().size == 0 and cache.stats().clears == 1
    assert cache.get_or_compute("k", lambda: 2) == 2


def test_a_result_computed_across_a_clear_is_not_kept() -> None:
    cache = ReadCache(maxsize=10, ttl=60)

    def compute_while_a_write_commits() -> str:
        cache.clear()
        return "read before the write"

    assert cache.get_or_compute("k", compute_while_a_write_commits) == "read before the write"
    assert cache.get_or_compute("k", lambda: "fresh") == "fresh"


def test_disabled_cache_always_computes() -> None:
    cache = ReadCache(maxsize=0)
    calls, compute = _counting()
    for _ in range(3):
        cache.get_or_compute("k", compute)
    assert len(calls) == 3 and not cache.enabled
    assert cache.stats() == CacheStats(hits=0, misses=3, size=0, maxsize=0, ttl=5.0, clears=0)


def test_fresh_copies_the_settings_not_the_results() -> None:
    timer = Timer()
    cache = ReadCache(maxsize=3, ttl=2, timer=timer)
    cache.get_or_compute("k", lambda: 1)
    fresh = cache.fresh()
    assert (fresh.maxsize, fresh.ttl, fresh.timer) == (3, 2.0, timer)
    assert fresh.stats().size == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"maxsize": -1}, "maxsize must be a whole number >= 0"),
        ({"maxsize": 1.5}, "maxsize must be"),
        ({"ttl": 0}, "ttl must be a positive number of seconds"),
        ({"ttl": "5"}, "ttl must be"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        ReadCache(**kwargs)


def test_concurrent_lookups_are_all_counted() -> None:
    cache = ReadCache(maxsize=100, ttl=60)
    cache.get_or_compute("k", lambda: 1)

    def read() -> None:
        for _ in range(1000):
            cache.get_or_compute("k", lambda: 2)

    threads = [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert cache.stats().hits == 4000


# --- the cache in a community --------------------------------------------------------------


def _forum(c: kudos.Community) -> None:
    for m in ("alice", "bob", "carol"):
        c.join(m)
    c.post_topic("t1", author="bob", tags=["roaming"])
    c.post_reply("r1", topic="t1", author="alice")


def test_community_uses_the_configured_cache_and_its_timer() -> None:
    timer = Timer()
    c = kudos.Community(clock=FakeClock(), cache=ReadCache(maxsize=50, ttl=30, timer=timer))
    _forum(c)
    c.give_kudos("r1", giver="bob")
    assert (c.cache.maxsize, c.cache.ttl, c.cache.timer) == (50, 30.0, timer)
    c.standing("alice")
    c.standing("alice")
    assert c.cache.stats().hits == 1
    timer.now = 31
    c.standing("alice")
    assert c.cache.stats().misses == 2


def test_communities_never_share_results() -> None:
    one, two = kudos.Community(clock=FakeClock()), kudos.Community(clock=FakeClock())
    _forum(one)
    _forum(two)
    one.give_kudos("r1", giver="bob")
    assert one.leaderboard(by="kudos_received")[0].member == "alice"
    assert two.leaderboard(by="kudos_received") == []


def test_a_write_clears_cached_standings_boards_and_positions() -> None:
    c = kudos.Community(clock=FakeClock(), cache=ReadCache(maxsize=100, ttl=3600))
    _forum(c)
    assert c.standing("alice").reputation == 0
    assert c.leaderboard() == []
    assert c.position("alice").position is None
    c.give_kudos("r1", giver="bob")
    assert c.standing("alice").reputation == 1
    assert [r.member for r in c.leaderboard()] == ["alice"]
    assert str(c.position("alice")) == "#1 of 1"
    assert c.cache.stats().clears >= 1


def test_a_failed_write_still_leaves_the_cache_correct() -> None:
    c = kudos.Community(clock=FakeClock(), cache=ReadCache(maxsize=100, ttl=3600))
    _forum(c)
    c.give_kudos("r1", giver="bob")
    before = c.standing("alice")
    with pytest.raises(kudos.NotAllowed):
        c.give_kudos("r1", giver="alice")
    assert c.standing("alice") == before


def test_cache_none_turns_caching_off() -> None:
    c = kudos.Community(clock=FakeClock(), cache=None)
    _forum(c)
    for _ in range(3):
        c.standing("alice")
        c.leaderboard()
    stats = c.cache.stats()
    assert (stats.hits, stats.size, stats.maxsize) == (0, 0, 0)
    assert stats.misses >= 6


ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["kudos", "withdraw", "accept", "unaccept", "read"]),
        st.sampled_from(["alice", "bob", "carol"]),
        st.sampled_from(["r1", "r2", "t1"]),
    ),
    max_size=30,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions=ACTIONS)
def test_a_cached_read_is_never_stale_after_a_write_in_the_same_process(
    actions: list[tuple[str, str, str]],
) -> None:
    store = kudos.MemoryStore()
    clock = FakeClock()
    cached = kudos.Community(store=store, clock=clock, cache=ReadCache(maxsize=1000, ttl=3600))
    truth = kudos.Community(store=store, clock=clock, cache=None)
    _forum(cached)
    cached.post_reply("r2", topic="t1", author="carol")

    def same() -> None:
        for m in ("alice", "bob", "carol"):
            assert cached.standing(m) == truth.standing(m)
            for by in ("reputation", "kudos_received", "solutions"):
                assert cached.position(m, by=by) == truth.position(m, by=by)
                assert cached.position(m, by=by, window="7d") == truth.position(
                    m, by=by, window="7d"
                )
        for by in ("reputation", "kudos_received", "solutions"):
            assert cached.leaderboard(by=by) == truth.leaderboard(by=by)
            assert cached.leaderboard(by=by, tag="roaming", period="current") == (
                truth.leaderboard(by=by, tag="roaming", period="current")
            )

    same()
    for kind, member, post in actions:
        try:
            if kind == "kudos":
                cached.give_kudos(post, giver=member)
            elif kind == "withdraw":
                cached.withdraw_kudos(post, giver=member)
            elif kind == "accept" and post != "t1":
                cached.accept_solution("t1", reply=post, by="bob")
            elif kind == "unaccept":
                cached.unaccept_solution("t1", by="bob")
        except kudos.KudosError:
            pass
        same()
    assert cached.cache.stats().hits > 0
