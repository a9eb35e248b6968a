"""Conformance: serial voting found and reversed, on every store."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from ...abuse.rules import AbuseRules
from ...community import Community
from ...errors import InvalidInput, NotAllowed
from ...policies import giffgaff
from .. import FakeClock, assert_consistent, assert_unchanged
from ._base import ConformanceBase

MakeCommunity = Callable[..., Community]
DAY = "2026-11-23"


def _votes(c: Community, clock: FakeClock) -> None:
    """On 23 Nov: bob gives alice 3 kudos, carol gives alice 1, bob gives dave 2."""
    clock.set(datetime(2026, 11, 23, 9, tzinfo=UTC))
    for m in ("alice", "bob", "carol", "dave"):
        c.join(m)
    c.post_topic("t0", author="carol")
    for author, giver, n in (("alice", "bob", 3), ("alice", "carol", 1), ("dave", "bob", 2)):
        for i in range(n):
            reply = f"r-{author}-{giver}-{i}"
            c.post_reply(reply, topic="t0", author=author)
            c.give_kudos(reply, giver=giver)
            clock.advance(minutes=10)


class AbuseConformance(ConformanceBase):
    """Serial kudos are detected by the policy's threshold and their awards reversed."""

    @pytest.fixture
    def strict(self, make_community: MakeCommunity) -> Community:
        return make_community(giffgaff().evolve(abuse=AbuseRules(serial_votes=3)))

    def test_serial_kudos_are_listed_and_their_awards_reversed(
        self, strict: Community, clock: FakeClock
    ) -> None:
        c = strict
        _votes(c, clock)
        before = {m: c.standing(m) for m in ("alice", "bob", "carol", "dave")}
        assert (before["alice"].reputation, before["alice"].points) == (4, 20)
        clock.advance(days=1)
        (found,) = c.serial_votes(DAY)
        assert (found.giver, found.author, found.votes, found.reversed) == (
            "bob",
            "alice",
            3,
            False,
        )
        outcome = c.reverse_serial_votes(DAY)
        assert {e.member for e in outcome.entries} == {"alice"}
        assert all(e.reverses is not None and "serial voting" in e.reason for e in outcome.entries)
        alice = c.standing("alice")
        assert (alice.reputation, alice.points) == (1, 5)  # carol's kudos stands
        assert c.standing("dave") == before["dave"]  # two kudos are not serial
        assert c.serial_votes(DAY)[0].reversed
        assert c.reverse_serial_votes(DAY).replayed
        # A serial kudos withdrawn later takes back nothing more.
        c.withdraw_kudos("r-alice-bob-0", giver="bob")
        assert c.standing("alice").reputation == 1
        assert_consistent(c)
        c.rebuild()
        assert c.standing("alice").reputation == 1

    def test_a_day_is_reversed_only_once_it_ended_and_only_under_a_threshold(
        self, strict: Community, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        _votes(strict, clock)
        with assert_unchanged(strict), pytest.raises(NotAllowed, match="has not ended"):
            strict.reverse_serial_votes(DAY)
        other = make_community(community="lenient")
        other.join("alice")
        assert other.serial_votes(DAY) == []
        clock.advance(days=1)
        with assert_unchanged(other), pytest.raises(NotAllowed, match=r"abuse\.serial_votes"):
            other.reverse_serial_votes(DAY)
        for bad in ("23/11/2026", "2026-13-01", 20261123, datetime(2026, 11, 23, tzinfo=UTC)):
            with pytest.raises(InvalidInput, match="day"):
                strict.reverse_serial_votes(bad)  # type: ignore[arg-type]
        strict.reverse_serial_votes(date(2026, 11, 23))  # a date works as well
        assert strict.serial_votes(DAY)[0].reversed
        assert strict.serial_votes((clock() - timedelta(days=30)).date()) == []
