"""Counters are kept only in the scopes something reads.

A per-tag count is read by per-tag leaderboards alone, so only the counters a
leaderboard ranks keep tag scopes; every counter keeps its all-time and
period scopes (standings read them).
"""

from __future__ import annotations

from datetime import UTC, datetime

import kudos
from kudos.engine.core import RANKED_COUNTERS
from kudos.leaderboards import METRICS
from kudos.stores.memory import MemoryStore
from kudos.testing import FakeClock


def _counters(c: kudos.Community) -> dict[tuple[str, str, str], int]:
    store = c.store
    assert isinstance(store, MemoryStore)
    with store.transaction(c.id) as tx:
        return dict(tx.snapshot().counters)


def _forum() -> kudos.Community:
    c = kudos.Community(
        policy=kudos.policies.giffgaff(), clock=FakeClock(datetime(2026, 7, 1, 9, tzinfo=UTC))
    )
    for m in ("asker", "alice", "bob"):
        c.join(m)
    c.post_topic("t1", author="asker", kind="question", title="No data", tags=["roaming", "esim"])
    c.post_reply("r1", topic="t1", author="alice")
    c.give_kudos("r1", giver="bob")
    c.accept_solution("t1", reply="r1", by="asker")
    return c


def test_only_counters_a_board_ranks_keep_tag_scopes() -> None:
    counters = _counters(_forum())
    tagged = {metric for metric, scope, _ in counters if "tag:" in scope}
    assert tagged  # kudos, reputation, points and solutions by tag are kept
    assert tagged <= RANKED_COUNTERS
    # Counted all time and per period, never per tag: topics, replies, kudos given.
    for metric in ("topics", "replies", "kudos_given"):
        scopes = {scope for m, scope, _ in counters if m == metric}
        assert scopes == {"all", "2026-H2"}, (metric, scopes)


def test_every_leaderboard_metric_still_ranks_by_tag() -> None:
    c = _forum()
    assert {"points_earned", *(m for m in METRICS if m != "points")} == RANKED_COUNTERS
    board = c.leaderboard(by="kudos_received", tag="esim")
    assert [(r.member, r.value) for r in board] == [("alice", 1)]
    board = c.leaderboard(by="solutions", tag="roaming", period="current")
    assert [(r.member, r.value) for r in board] == [("alice", 1)]
    assert [r.member for r in c.leaderboard(by="points", tag="roaming")][:1] == ["alice"]


def test_standings_still_count_topics_replies_and_kudos_given() -> None:
    c = _forum()
    assert c.standing("asker").counters["topics"] == 1
    assert c.standing("alice").counters["replies"] == 1
    assert c.standing("bob").counters["kudos_given"] == 1
