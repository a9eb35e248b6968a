"""Conformance: one input rule for every store, and no wrong number from any input.

kudos validates at its public boundary, before a store sees anything, so every
store must refuse the same input with the same :class:`~kudos.InvalidInput`
and keep exactly what it had. These are the failures an adversarial run found
(a balance past 2**63 turned into a float on SQLite and overflowed on
PostgreSQL, a lone surrogate or a NUL that one store took and another could
not, duplicate tags counted twice, an adjustment a day later taken for a
replay, facts dated in the future), one test each.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any

import pytest

from ..._validate import CLOCK_SKEW, MAX_AMOUNT, MAX_BALANCE, MAX_ID_LENGTH, SHOWN
from ...community import Community
from ...errors import Conflict, InvalidInput, KudosError, UnknownMember, UnknownPost
from ...events import KudosGiven, PointsAdjusted
from .. import FakeClock, assert_consistent, assert_unchanged
from ._base import ConformanceBase

MakeCommunity = Callable[..., Community]


def _forum(c: Community) -> Community:
    for member in ("alice", "bob"):
        c.join(member)
    c.join("staff1", role="staff")
    return c


def _refused(c: Community, call: Callable[[], Any], *says: str) -> str:
    """``call`` raises InvalidInput saying ``says`` and writes nothing; returns the message."""
    with assert_unchanged(c), pytest.raises(InvalidInput) as caught:
        call()
    message = str(caught.value)
    for part in says:
        assert part in message, f"{part!r} not in {message!r}"
    return message


class _NoOffset(tzinfo):
    """A tzinfo whose ``utcoffset()`` is None: a datetime that only looks aware."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None

    def tzname(self, dt: datetime | None) -> str | None:
        return None


class InputConformance(ConformanceBase):
    """Amounts, text, times and tags: one rule on every store, checked before writing."""

    # -- amounts and balances -------------------------------------------------------------
    def test_an_amount_past_the_bound_is_refused_before_anything_is_written(
        self, community: Community
    ) -> None:
        c = _forum(community)
        for points in (2**62 + 1, MAX_AMOUNT + 1, -(MAX_AMOUNT + 1)):

            def big(p: int = points) -> None:
                c.adjust("alice", points=p, reason="bonus", by="staff1")

            _refused(c, big, "points must be between")
        assert c.standing("alice").points == 0

    def test_balances_stay_exact_integers_up_to_the_bound_and_no_further(
        self, community: Community, clock: FakeClock
    ) -> None:
        c = _forum(community)
        at = clock() - timedelta(hours=1)
        # MAX_BALANCE // MAX_AMOUNT adjustments of the largest amount reach the bound exactly.
        steps = MAX_BALANCE // MAX_AMOUNT
        c.record_many(
            PointsAdjusted(
                member="alice",
                points=MAX_AMOUNT,
                reputation=-MAX_AMOUNT,
                reason="stress",
                by="staff1",
                at=at,
                event_id=f"big-{i}",
            )
            for i in range(steps)
        )
        standing = c.standing("alice")
        assert type(standing.points) is int and standing.points == MAX_BALANCE
        assert standing.reputation == -MAX_BALANCE
        assert sum(line.amount for line in c.statement("alice", account="points").lines) == (
            MAX_BALANCE
        )
        for points, reputation in ((1, 0), (0, -1)):

            def one_more(p: int = points, r: int = reputation) -> None:
                c.adjust("alice", points=p, reputation=r, reason="one more", by="staff1")

            _refused(c, one_more, "past kudos's bound")
        # Taking some back is fine: the bound is on the size, not the direction.
        c.adjust("alice", points=-1, reason="correction", by="staff1")
        assert c.standing("alice").points == MAX_BALANCE - 1
        assert_consistent(c, replay=False)

    # -- tags are a set ---------------------------------------------------------------------
    def test_a_tag_named_twice_counts_once_on_every_board(self, community: Community) -> None:
        c = _forum(community)
        c.post_topic("t1", author="alice", tags=["roaming", "roaming"], product="roaming")
        c.post_reply("r1", topic="t1", author="bob")
        c.give_kudos("r1", giver="alice")
        assert c.post("t1").tags == ("roaming",)
        period = c.current_period()
        for by, value in (("kudos_received", 1), ("points", 5), ("reputation", 1)):
            for span in (None, period):
                rows = c.leaderboard(by=by, tag="roaming", period=span)
                assert [(r.member, r.value) for r in rows] == [("bob", value)], (by, span)
        (entry,) = [e for e in c.statement("bob").lines if e.account == "points"]
        assert entry.tags == ("roaming",)
        assert_consistent(c)

    # -- adjustment ids ----------------------------------------------------------------------
    def test_the_same_adjustment_a_day_later_is_another_adjustment(
        self, community: Community, clock: FakeClock
    ) -> None:
        c = _forum(community)
        assert not c.adjust("alice", points=5, reason="meetup", by="staff1").replayed
        assert c.adjust("alice", points=5, reason="meetup", by="staff1").replayed
        bonus = PointsAdjusted(member="bob", points=5, reason="meetup", by="staff1")
        assert not c.record(bonus).replayed
        clock.advance(days=1)
        assert not c.adjust("alice", points=5, reason="meetup", by="staff1").replayed
        assert not c.record(bonus).replayed
        assert c.standing("alice").points == c.standing("bob").points == 10

    def test_adjust_and_record_derive_one_id_for_one_adjustment(
        self, community: Community, clock: FakeClock
    ) -> None:
        c = _forum(community)
        first = c.adjust("alice", points=5, reason="meetup", by="staff1")
        again = c.record(
            PointsAdjusted(member="alice", points=5, reason="meetup", by="staff1", at=clock())
        )
        assert again.replayed and again.event_id == first.event_id
        assert c.standing("alice").points == 5

    def test_adjustment_ids_are_escaped_so_no_two_adjustments_collide(
        self, community: Community, clock: FakeClock
    ) -> None:
        c = community
        for member in ("a:b", "a", "c", "b:c"):
            c.join(member, role="staff" if member in ("c", "b:c") else "member")
        one = c.adjust("a:b", points=5, reason="x", by="c")
        two = c.adjust("a", points=5, reason="x", by="b:c")
        assert one.event_id != two.event_id and not two.replayed
        assert c.standing("a").points == c.standing("a:b").points == 5

    @pytest.mark.parametrize("event_id", ["", 0, False, " x"])
    def test_adjust_refuses_a_bad_event_id_like_every_other_fact(
        self, community: Community, event_id: Any
    ) -> None:
        c = _forum(community)
        _refused(
            c,
            lambda: c.adjust("alice", points=5, reason="x", by="staff1", event_id=event_id),
            "event_id must be",
        )

    @pytest.mark.parametrize("at", [0, "", "yesterday", 1.5])
    def test_adjust_refuses_a_bad_time_like_every_other_fact(
        self, community: Community, at: Any
    ) -> None:
        c = _forum(community)
        with assert_unchanged(c), pytest.raises(InvalidInput):
            c.adjust("alice", points=5, reason="x", by="staff1", at=at)

    # -- times --------------------------------------------------------------------------------
    def test_a_fact_dated_after_the_clock_plus_the_skew_is_refused(
        self, community: Community, clock: FakeClock
    ) -> None:
        c = _forum(community)
        _refused(c, lambda: c.join("carol", at=datetime(2100, 1, 1, tzinfo=UTC)), "skew")
        _refused(c, lambda: c.join("carol", at=clock() + CLOCK_SKEW + timedelta(seconds=1)))
        c.join("carol", at=clock() + CLOCK_SKEW)  # within the allowance: hosts' clocks differ

    def test_a_period_cannot_be_closed_from_the_future(
        self, community: Community, clock: FakeClock
    ) -> None:
        c = _forum(community)
        period = c.current_period()
        _start, end = c.policy.periods.bounds(period)
        c.adjust("alice", points=5000, reason="x", by="staff1")
        _refused(c, lambda: c.close_period(period, at=end + timedelta(days=1)), "skew")
        with assert_unchanged(c), pytest.raises(KudosError, match="has not ended"):
            c.close_period(period)
        assert c.payouts(period) == []

    @pytest.mark.parametrize(
        "at",
        [
            datetime(1, 1, 1, tzinfo=UTC),
            datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5))),
            datetime(1969, 12, 31, 23, 59, tzinfo=UTC),
        ],
        ids=["year-1", "year-9999-minus-5h", "before-1970"],
    )
    def test_times_outside_the_range_are_invalid_input_for_facts_and_queries(
        self, community: Community, at: datetime
    ) -> None:
        c = _forum(community)
        _refused(c, lambda: c.join("carol", at=at), "at must be from")
        _refused(c, lambda: c.statement("alice", since=at), "since must be from")
        _refused(c, lambda: c.period_of(at), "must be from")
        c.adjust("alice", points=5, reason="x", by="staff1")
        _refused(c, lambda: c.adjust("alice", points=5, reason="x", by="staff1", at=at))

    def test_a_tzinfo_without_an_offset_is_naive(self, community: Community) -> None:
        c = _forum(community)
        fake = datetime(2026, 11, 1, tzinfo=_NoOffset())
        _refused(c, lambda: c.join("carol", at=fake), "timezone-aware")
        _refused(c, lambda: c.statement("alice", until=fake), "timezone-aware")

    @pytest.mark.parametrize(
        "now", [5, "2026-11-23", None, datetime(2026, 11, 23, tzinfo=_NoOffset())]
    )
    def test_a_clock_returning_no_aware_datetime_is_invalid_input(
        self, kudos_store: Any, now: Any
    ) -> None:
        c = Community(store=kudos_store, clock=lambda: now)
        with pytest.raises(InvalidInput, match="clock"):
            c.join("alice")
        with pytest.raises(InvalidInput, match="clock"):
            c.standing("alice")

    # -- text ----------------------------------------------------------------------------------
    @pytest.mark.parametrize(
        ("member", "says"),
        [
            ("\ud800", "lone surrogate"),
            ("bob\udfff", "lone surrogate"),
            ("a\x00b", "control character"),
            ("a\x1bb", "control character"),
            ("x" * (MAX_ID_LENGTH + 1), f"at most {MAX_ID_LENGTH} characters"),
            ("x" * 10_000_000, f"at most {MAX_ID_LENGTH} characters"),
        ],
        ids=["surrogate", "trailing-surrogate", "nul", "escape", "long", "ten-megabytes"],
    )
    def test_one_text_rule_for_ids_on_every_store(
        self, community: Community, member: str, says: str
    ) -> None:
        c = _forum(community)
        for call in (
            lambda: c.join(member),
            lambda: c.post_topic("t1", author="alice", tags=["ok", member]),
            lambda: c.adjust("alice", points=5, reason=member, by="staff1"),
            lambda: c.standing(member),
            lambda: c.give_kudos("r1", giver="bob", event_id=member),
        ):
            message = _refused(c, call, says)
            assert len(message) < 200 + SHOWN, "an error message echoed a whole input"

    def test_the_longest_ids_are_taken_everywhere_on_every_store(
        self, make_community: MakeCommunity
    ) -> None:
        # Four-byte characters and characters that escaping triples, at the longest length,
        # in every place an id goes: the community, members, posts, tags, reasons, keys.
        wide, escaped = "\U0001f600" * MAX_ID_LENGTH, "%" * MAX_ID_LENGTH
        c = make_community(community="\U0001f30d" * MAX_ID_LENGTH)
        c.join(wide)
        c.join(escaped)
        c.join("\U0001f6e0" * MAX_ID_LENGTH, role="staff")
        c.post_topic(wide, author=escaped, tags=[wide, escaped], product="p" * MAX_ID_LENGTH)
        c.post_reply(escaped, topic=wide, author=wide)
        c.give_kudos(escaped, giver=escaped)
        c.accept_solution(wide, reply=escaped, by=escaped)
        c.adjust(wide, points=5, reason=escaped, by="\U0001f6e0" * MAX_ID_LENGTH)
        assert c.leaderboard(by="points", tag=escaped)[0].member == wide
        assert c.standing(wide).points == 5 + 5 + 50
        assert_consistent(c)

    @pytest.mark.parametrize("title", ["a\x00b", "\ud800"], ids=["nul", "surrogate"])
    def test_free_text_refuses_nul_and_lone_surrogates(
        self, community: Community, title: str
    ) -> None:
        c = _forum(community)
        _refused(c, lambda: c.post_topic("t1", author="alice", title=title), "title must not")
        c.post_topic("t1", author="alice", title="Line one\nline two\ttabbed: ünïcode ✓")
        assert c.post("t1").title == "Line one\nline two\ttabbed: ünïcode ✓"

    def test_a_community_id_follows_the_id_rule(self, kudos_store: Any) -> None:
        bad: Any
        for bad in (" uk", "uk ", "", "u\x00k", 5):
            with pytest.raises(InvalidInput, match="community"):
                Community(store=kudos_store, community=bad)

    # -- boards rank positive values only ----------------------------------------------------
    def test_only_positive_values_are_ranked_on_every_board(self, community: Community) -> None:
        c = _forum(community)
        c.join("carol")
        c.join("dave")  # never earns anything: zero
        c.join("mod1", role="moderator")
        c.post_topic("t1", author="carol", tags=["roaming"])
        c.post_reply("r1", topic="t1", author="alice")
        c.give_kudos("r1", giver="carol")  # alice: +1 reputation, tagged roaming
        c.post_topic("t2", author="bob", tags=["roaming"])
        c.remove_post("t2", by="mod1", reason="spam")  # bob: -50 reputation, tagged roaming
        assert c.standing("bob").reputation < 0
        boards: list[dict[str, Any]] = [
            {},
            {"period": "current"},
            {"tag": "roaming"},
            {"period": "current", "tag": "roaming"},
            {"window": "7d"},
        ]
        for board in boards:
            rows = c.leaderboard(by="reputation", limit=100, **board)
            assert [(r.member, r.value) for r in rows] == [("alice", 1)], board
            for member in ("bob", "dave"):
                place = c.position(member, by="reputation", **board)
                assert place.position is None and place.of == 1, (member, board, place)
            assert c.position("alice", by="reputation", **board).position == 1
        assert c.leaderboard(by="reputation", offset=1) == []

    # -- refusals are remembered ------------------------------------------------------------
    def test_a_redelivered_event_id_gets_its_first_refusal_until_retried(
        self, community: Community
    ) -> None:
        c = _forum(community)
        c.post_topic("t1", author="alice")
        kudos = KudosGiven(post="r1", giver="alice", event_id="vote-7")
        with assert_unchanged(c), pytest.raises(UnknownPost):
            c.record(kudos)  # r1 is not reported yet
        c.post_reply("r1", topic="t1", author="bob")
        # At-least-once delivery sends vote-7 again: one fact, one answer.
        with assert_unchanged(c), pytest.raises(UnknownPost, match="retry=True"):
            c.record(kudos)
        with pytest.raises(Conflict, match="refused"):
            c.record(KudosGiven(post="r1", giver="bob", event_id="vote-7"))
        assert c.standing("bob").reputation == 0
        outcome = c.record(kudos, retry=True)  # the host really means to try again
        assert not outcome.replayed and c.standing("bob").reputation == 1
        assert c.record(kudos).replayed  # accepted now: a replay, not the old refusal
        assert_consistent(c)
        c.rebuild()
        assert c.standing("bob").reputation == 1

    def test_a_delivery_refused_while_another_is_accepted_answers_with_the_acceptance(
        self, community: Community, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Two app servers deliver one id at once; the first is refused (its post is not
        there yet), and before it keeps the refusal the post arrives and the second is
        accepted. One fact, one answer: the first answers with the acceptance too."""
        c = _forum(community)
        c.post_topic("t1", author="alice")
        kudos = KudosGiven(post="r1", giver="alice", event_id="vote-8")
        other = Community(store=c.store, policy=c.policy, community=c.id, clock=c.clock)
        keep = Community._remember
        raced: list[bool] = []

        def meanwhile(self: Community, *args: Any) -> bool:
            if not raced:  # between the first delivery's rollback and its refusal being kept
                raced.append(True)
                other.post_reply("r1", topic="t1", author="bob")
                assert not other.record(kudos).replayed
            return keep(self, *args)

        monkeypatch.setattr(Community, "_remember", meanwhile)
        outcome = c.record(kudos)
        assert raced and outcome.replayed and outcome.entries
        assert c.record(kudos).replayed  # and so does every later delivery
        assert c.standing("bob").reputation == 1
        with c.store.transaction(c.id) as tx:
            assert [e.type for e in tx.events() if e.type == "event-refused"] == []
        raced.clear()
        batch = [KudosGiven(post="r2", giver="alice", event_id="vote-9")]

        def meanwhile_batch(self: Community, *args: Any) -> bool:
            if not raced:
                raced.append(True)
                other.post_reply("r2", topic="t1", author="bob")
                other.record(batch[0])
            return keep(self, *args)

        monkeypatch.setattr(Community, "_remember", meanwhile_batch)
        assert [o.replayed for o in c.record_many(batch)] == [True]
        assert c.standing("bob").reputation == 2
        assert_consistent(c)

    def test_a_retry_refused_again_is_remembered_after_the_first(
        self, community: Community
    ) -> None:
        c = _forum(community)
        adjust = PointsAdjusted(member="carol", points=5, reason="x", by="staff1", event_id="adj-1")
        with pytest.raises(UnknownMember):
            c.record(adjust)
        c.join("dave")
        with pytest.raises(UnknownMember, match="carol"):
            c.record(adjust, retry=True)
        c.join("carol")
        with pytest.raises(UnknownMember, match="retry=True"):
            c.record(adjust)
        assert c.record(adjust, retry=True).entries[0].amount == 5
        assert_consistent(c)

    def test_a_refusal_in_a_batch_is_remembered_for_its_event(self, community: Community) -> None:
        c = _forum(community)
        batch = [
            PointsAdjusted(member="alice", points=5, reason="x", by="staff1", event_id="a-1"),
            PointsAdjusted(member="carol", points=5, reason="x", by="staff1", event_id="a-2"),
        ]
        with pytest.raises(UnknownMember):
            c.record_many(batch)
        c.join("carol")
        with pytest.raises(UnknownMember, match="retry=True"):
            c.record_many(batch)
        assert len(c.record_many(batch, retry=True)) == 2
        assert c.standing("carol").points == 5

    def test_facts_without_a_host_id_are_asked_anew(self, community: Community) -> None:
        c = _forum(community)
        c.post_topic("t1", author="alice")
        with pytest.raises(UnknownPost):
            c.give_kudos("r1", giver="alice")
        c.post_reply("r1", topic="t1", author="bob")
        assert not c.give_kudos("r1", giver="alice").replayed
