"""Conformance tests: leaderboards and positions.

Besides hand-written scenarios, :func:`check_boards` compares every kind of
board (all time, per period, per tag, per period and tag, rolling windows;
with and without staff) and every member's position with a plain-Python
recomputation from the facts a scenario reported (:class:`Facts`, filled in
by :func:`play`) and from the ledger. The property-based tests in kudos's own
test suite drive the same functions with generated scenarios.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest

from ...community import Community
from ...engine import core as engine
from ...errors import InvalidInput, KudosError, UnknownMember, UnknownRecord
from ...leaderboards.rules import (
    STAFF_METRIC,
    LeaderboardPosition,
    LeaderboardRow,
    LeaderboardRules,
)
from ...payback.rules import SETTLEMENT_ACTIONS
from ...policies import giffgaff
from ...policy import Policy
from .. import FakeClock, assert_consistent
from ._base import ConformanceBase

__all__ = [
    "Facts",
    "LeaderboardConformance",
    "Span",
    "check_boards",
    "expected_board",
    "expected_values",
    "play",
    "random_ops",
    "spans",
]

MakeCommunity = Callable[..., Community]

# --- scenarios and their recomputation ------------------------------------------------

MEMBERS = ("ann", "bob", "cat", "dan", "eve", "staff1", "mod1")
ROLES = {"staff1": "staff", "mod1": "moderator"}
TAGS = ("roaming", "billing")
PRODUCTS = ("sim", "esim")
# Operations, each as often as it appears (kudos are the commonest fact).
OPS = (
    *("topic", "reply", "reply"),
    *("kudos", "kudos", "kudos", "withdraw"),
    *("accept", "accept", "accept", "unaccept"),
    *("remove", "adjust"),
)
START = datetime(2026, 11, 10, 9, tzinfo=UTC)

Op = tuple[str, int, int, int, int]
"""``(kind, a, b, c, hours)``: an operation of :data:`OPS` with three choices and a pause."""


@attrs.define
class Facts:
    """What a scenario reported and the community accepted, to recompute boards from."""

    policy: Policy
    now: datetime = START
    posts: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    kudos: dict[tuple[str, str], datetime] = attrs.field(factory=dict)
    solutions: dict[str, tuple[str, datetime]] = attrs.field(factory=dict)

    def day(self, at: datetime) -> date:
        return at.astimezone(ZoneInfo(self.policy.periods.timezone)).date()

    def counted(self, metric: str) -> list[tuple[str, datetime, tuple[str, ...]]]:
        """``(member, when, tags)`` of each fact still counted in a count metric."""
        if metric == "kudos_received":
            return [
                (p["author"], at, p["tags"])
                for (post, _), at in self.kudos.items()
                if not (p := self.posts[post])["removed"]
            ]
        if metric == "solutions":
            # An asker's own accepted reply is no solution, unless the policy rewards it.
            return [
                (r["author"], at, r["tags"])
                for topic, (reply, at) in self.solutions.items()
                if not (r := self.posts[reply])["removed"]
                and (r["author"] != self.posts[topic]["author"] or self.policy.self_accept_rewards)
            ]
        raise AssertionError(f"no recomputation for {metric!r}")


def random_ops(rng: random.Random, n: int) -> list[Op]:
    """``n`` random operations for :func:`play`."""
    return [
        (
            rng.choice(OPS),
            rng.randrange(16),
            rng.randrange(16),
            rng.randrange(16),
            rng.randrange(36),
        )
        for _ in range(n)
    ]


def play(community: Community, clock: FakeClock, ops: Iterable[Op]) -> Facts:
    """Report ``ops`` to ``community`` (each at its own time) and return what was accepted.

    Operations the community refuses (self-kudos, a removed post, ...) are
    skipped, as a host would show the error, and so are replays (a second kudos
    from the same member is the same fact): the facts keep only what counted.
    """
    facts = Facts(community.policy)
    for m in MEMBERS:
        community.join(m, role=ROLES.get(m, "member"), at=START)
    topics: list[str] = []
    replies: dict[str, list[str]] = {}
    at = START
    for i, (kind, a, b, c, hours) in enumerate(ops):
        at += timedelta(hours=hours, minutes=7)
        if at > clock():
            clock.set(at)  # facts are reported when they happen, never ahead of the clock
        member = MEMBERS[b % len(MEMBERS)]
        posts = list(facts.posts)
        live = [t for t in topics if not facts.posts[t]["removed"]]
        try:
            if kind == "topic":
                tags = tuple(t for k, t in enumerate(TAGS) if a >> k & 1)
                product = PRODUCTS[c % 3] if c % 3 < len(PRODUCTS) else None
                topic = f"t{i}"
                community.post_topic(topic, author=member, tags=tags, product=product, at=at)
                facts.posts[topic] = {
                    "author": member,
                    "removed": False,
                    "tags": tags + ((product,) if product else ()),
                }
                topics.append(topic)
                replies[topic] = []
            elif kind == "reply" and live:
                topic = live[a % len(live)]
                community.post_reply(f"r{i}", topic=topic, author=member, at=at)
                facts.posts[f"r{i}"] = {
                    "author": member,
                    "removed": False,
                    "tags": facts.posts[topic]["tags"],
                }
                replies[topic].append(f"r{i}")
            elif kind == "kudos" and (
                open_posts := [p for p in posts if not facts.posts[p]["removed"]]
            ):
                post = open_posts[a % len(open_posts)]
                if member == facts.posts[post]["author"] and c % 4:
                    member = MEMBERS[(b + 1) % len(MEMBERS)]
                if not community.give_kudos(post, giver=member, at=at).replayed:
                    facts.kudos[(post, member)] = at
            elif kind == "withdraw" and posts:
                given = sorted(facts.kudos)
                post, member = (
                    given[a % len(given)] if given and c % 4 else (posts[a % len(posts)], member)
                )
                if not community.withdraw_kudos(post, giver=member, at=at).replayed:
                    del facts.kudos[(post, member)]
            elif kind in ("accept", "unaccept") and (answered := [t for t in live if replies[t]]):
                solved = [t for t in answered if t in facts.solutions]
                if kind == "unaccept" and solved and c % 4:
                    answered = solved
                topic = answered[a % len(answered)]
                by = facts.posts[topic]["author"] if c % 4 else "staff1"
                if kind == "accept":
                    reply = replies[topic][b % len(replies[topic])]
                    if not community.accept_solution(topic, reply=reply, by=by, at=at).replayed:
                        facts.solutions[topic] = (reply, at)
                else:
                    if not community.unaccept_solution(topic, by=by, at=at).replayed:
                        del facts.solutions[topic]
            elif kind == "remove" and posts:
                post = posts[a % len(posts)]
                community.remove_post(post, by="mod1", reason=("spam", "off-topic")[b % 2], at=at)
                facts.posts[post]["removed"] = True
            elif kind == "adjust":
                community.adjust(
                    MEMBERS[a % 5],
                    points=10 * (c - 5),
                    reputation=c % 7 - 3,
                    reason="event",
                    by="staff1",
                    at=at,
                )
        except KudosError:
            pass
    facts.now = at + timedelta(hours=5)
    clock.set(facts.now)
    return facts


@attrs.frozen
class Span:
    """The board arguments of one span."""

    period: str | None = None
    tag: str | None = None
    window: str | None = None

    def kwargs(self) -> dict[str, Any]:
        return {k: v for k, v in attrs.asdict(self).items() if v is not None}


def spans(facts: Facts) -> list[Span]:
    """Every span worth checking: all time, the periods seen, tags, both, windows."""
    periods = sorted(
        {facts.policy.periods.period_of(START), facts.policy.periods.period_of(facts.now)}
    )
    tags = (*TAGS, *PRODUCTS)
    return [
        Span(),
        Span(period="current"),
        *(Span(period=p) for p in periods),
        *(Span(tag=t) for t in tags),
        *(Span(period=p, tag=t) for p in periods for t in tags),
        Span(window="1d"),
        Span(window="7d"),
        Span(window="30d"),
    ]


def _in_span(facts: Facts, span: Span, period: str, at: datetime, tags: Sequence[str]) -> bool:
    if span.window is not None:
        days = int(span.window[:-1])
        return 0 <= (facts.day(facts.now) - facts.day(at)).days < days
    wanted = facts.policy.periods.period_of(facts.now) if span.period == "current" else span.period
    return (wanted is None or period == wanted) and (span.tag is None or span.tag in tags)


def expected_values(community: Community, facts: Facts, metric: str, span: Span) -> Counter[str]:
    """Each member's ``metric`` over ``span``, recomputed from the ledger or the facts."""
    values: Counter[str] = Counter()
    if metric in ("points", "reputation"):
        with community.store.transaction(community.id) as tx:
            entries = tx.entries(account=metric)
        for e in entries:
            if e.action in SETTLEMENT_ACTIONS:
                continue  # payouts, carry-over and lapses move the balance, earn nothing
            if _in_span(facts, span, e.period, e.at, e.tags):
                values[e.member] += e.amount
    else:
        for member, at, tags in facts.counted(metric):
            if _in_span(facts, span, facts.policy.periods.period_of(at), at, tags):
                values[member] += 1
    return values


def expected_board(
    community: Community, facts: Facts, metric: str, span: Span, include_staff: bool
) -> list[tuple[str, int]]:
    """The board recomputed: positive values, staff left out, ties by the policy's rule."""
    values = expected_values(community, facts, metric, span)
    tie = community.policy.leaderboards.tie_break
    ties = expected_values(community, facts, tie, span) if tie else Counter()
    rows = [(m, v) for m, v in values.items() if v > 0 and (include_staff or m not in ROLES)]
    return sorted(rows, key=lambda r: (-r[1], -ties[r[0]], r[0]))


def check_boards(
    community: Community,
    facts: Facts,
    metrics: Sequence[str] = ("reputation", "points", "solutions", "kudos_received"),
) -> int:
    """Assert every board and position of ``metrics`` equals its recomputation.

    Returns how many boards were checked.
    """
    checked = 0
    for metric in metrics:
        for span in spans(facts):
            for include_staff in (False, True):
                want = expected_board(community, facts, metric, span, include_staff)
                args = dict(by=metric, include_staff=include_staff, **span.kwargs())
                got = community.leaderboard(limit=1000, **args)
                assert [(r.member, r.value) for r in got] == want, (metric, span, include_staff)
                assert [r.position for r in got] == list(range(1, len(want) + 1))
                page = community.leaderboard(limit=2, offset=1, **args)
                assert page == got[1:3]
                values = expected_values(community, facts, metric, span)
                place = {m: i + 1 for i, (m, _) in enumerate(want)}
                for m in MEMBERS:
                    pos = community.position(m, **args)
                    assert (pos.position, pos.of, pos.value) == (
                        place.get(m),
                        len(want),
                        values[m],
                    ), (m, metric, span)
                checked += 1
    return checked


# --- the conformance class -------------------------------------------------------------


def _forum(c: Community, *members: str, tags: Sequence[str] = (), topic: str = "t1") -> None:
    """``asker`` asks ``topic``; each of ``members`` replies ``<topic>-<member>``."""
    for m in ("asker", *members):
        if m not in {x.id for x in c.members()}:
            c.join(m)
    c.post_topic(topic, author="asker", title="No data abroad", tags=tags)
    for m in members:
        c.post_reply(f"{topic}-{m}", topic=topic, author=m)


def _rows(rows: Sequence[LeaderboardRow]) -> list[tuple[int, str, int]]:
    return [(r.position, r.member, r.value) for r in rows]


class LeaderboardConformance(ConformanceBase):
    """What every store must do for leaderboards and positions."""

    # -- ordering ---------------------------------------------------------------------
    def test_board_orders_by_value_then_member_id(self, community: Community) -> None:
        _forum(community, "zoe", "amy", "bob", "kim")
        for giver in ("asker", "amy"):
            community.give_kudos("t1-zoe", giver=giver)
        for reply in ("t1-amy", "t1-bob"):
            community.give_kudos(reply, giver="zoe")
        board = community.leaderboard(by="kudos_received")
        assert _rows(board) == [(1, "zoe", 2), (2, "amy", 1), (3, "bob", 1)]
        assert all(isinstance(r, LeaderboardRow) for r in board)
        assert_consistent(community)

    def test_pages_continue_where_the_last_one_stopped(self, community: Community) -> None:
        members = [f"m{i:02d}" for i in range(12)]
        _forum(community, *members)
        for i, m in enumerate(members):
            for giver in members[: i % 4]:
                if giver != m:
                    community.give_kudos(f"t1-{m}", giver=giver)
        whole = community.leaderboard(by="reputation", limit=100)
        pages = [community.leaderboard(by="reputation", limit=3, offset=o) for o in (0, 3, 6)]
        assert [r for page in pages for r in page] == whole[:9]
        assert community.leaderboard(by="reputation", limit=3, offset=len(whole)) == []

    def test_members_with_nothing_are_not_on_the_board(self, community: Community) -> None:
        _forum(community, "alice", "bob")
        community.give_kudos("t1-alice", giver="bob")
        community.withdraw_kudos("t1-alice", giver="bob")
        assert community.leaderboard(by="kudos_received") == []
        assert str(community.position("alice", by="kudos_received")) == "unranked (0 ranked)"

    def test_tie_break_metric_orders_ties_before_member_id(
        self, make_community: MakeCommunity
    ) -> None:
        c = make_community(giffgaff().evolve(leaderboards=LeaderboardRules(tie_break="solutions")))
        _forum(c, "amy", "bob", "cat")
        for reply in ("t1-amy", "t1-bob", "t1-cat"):
            c.give_kudos(reply, giver="asker")
        c.accept_solution("t1", reply="t1-cat", by="asker")
        board = c.leaderboard(by="kudos_received")
        assert _rows(board) == [(1, "cat", 1), (2, "amy", 1), (3, "bob", 1)]
        assert [c.position(m, by="kudos_received").position for m in ("amy", "bob", "cat")] == [
            2,
            3,
            1,
        ]
        assert _rows(c.leaderboard(by="kudos_received", limit=1, offset=1)) == [(2, "amy", 1)]

    # -- spans ---------------------------------------------------------------------------
    def test_period_board_counts_only_that_period(
        self, community: Community, clock: FakeClock
    ) -> None:
        clock.set(datetime(2026, 10, 1, 12, tzinfo=UTC))  # posted before the kudos
        _forum(community, "alice", "bob")
        clock.set(datetime(2026, 11, 23, 12, tzinfo=UTC))
        october = datetime(2026, 10, 5, 12, tzinfo=UTC)
        community.give_kudos("t1-alice", giver="bob", at=october)
        clock.set(datetime(2026, 12, 10, 12, tzinfo=UTC))
        community.give_kudos("t1-bob", giver="alice")
        community.give_kudos("t1-bob", giver="asker")
        assert _rows(community.leaderboard(by="kudos_received", period="2026-H2")) == [
            (1, "alice", 1)
        ]
        assert _rows(community.leaderboard(by="kudos_received", period="current")) == [
            (1, "bob", 2)
        ]
        assert _rows(community.leaderboard(by="kudos_received", period="2027-H1")) == [
            (1, "bob", 2)
        ]
        assert _rows(community.leaderboard(by="kudos_received")) == [(1, "bob", 2), (2, "alice", 1)]

    def test_paying_points_out_leaves_points_boards_alone(
        self, community: Community, clock: FakeClock
    ) -> None:
        community.join("staff1", role="staff")
        _forum(community, "alice", "bob", tags=["roaming"])
        for giver in ("bob", "asker"):
            community.give_kudos("t1-alice", giver=giver)
        community.give_kudos("t1-bob", giver="alice")
        spans: list[dict[str, Any]] = [
            {},
            {"period": "2026-H2"},
            {"tag": "roaming"},
            {"period": "2026-H2", "tag": "roaming"},
            {"window": "30d"},
        ]
        before = [_rows(community.leaderboard(by="points", **span)) for span in spans]
        assert before[0] == [(1, "alice", 10), (2, "bob", 5)]
        community.set_payout_method("alice", "credit")  # bob chose nothing: carried over
        clock.set(datetime(2026, 12, 10, 12, tzinfo=UTC))
        payouts = community.close_period("2026-H2", by="staff1")
        assert [(p.member, p.points) for p in payouts] == [("alice", 10)]
        assert [_rows(community.leaderboard(by="points", **span)) for span in spans] == before
        assert community.leaderboard(by="points", period="current") == []
        alice, bob = community.standing("alice"), community.standing("bob")
        assert (alice.points, alice.lifetime_points) == (0, 10)
        assert (bob.points, bob.lifetime_points) == (5, 5)
        assert community.position("alice", by="points", period="2026-H2").position == 1
        assert_consistent(community)

    def test_unknown_period_is_refused(self, community: Community) -> None:
        with pytest.raises(UnknownRecord, match="2026-Q3"):
            community.leaderboard(period="2026-Q3")

    def test_tag_board_counts_what_came_from_topics_with_the_tag(
        self, community: Community
    ) -> None:
        _forum(community, "alice", "bob", tags=["roaming"], topic="t1")
        community.post_topic("t2", author="asker", tags=["billing"], product="esim")
        community.post_reply("t2-bob", topic="t2", author="bob")
        community.accept_solution("t1", reply="t1-alice", by="asker")
        community.accept_solution("t2", reply="t2-bob", by="asker")
        community.give_kudos("t1-bob", giver="asker")
        assert _rows(community.leaderboard(by="solutions", tag="roaming")) == [(1, "alice", 1)]
        assert _rows(community.leaderboard(by="solutions", tag="esim")) == [(1, "bob", 1)]
        assert _rows(community.leaderboard(by="reputation", tag="roaming")) == [
            (1, "alice", 10),
            (2, "bob", 1),
        ]
        assert _rows(community.leaderboard(by="solutions", tag="roaming", period="current")) == [
            (1, "alice", 1)
        ]
        assert community.leaderboard(by="solutions", tag="roaming", period="2026-H1") == []
        assert_consistent(community)

    def test_window_board_sums_the_last_days(self, community: Community, clock: FakeClock) -> None:
        now = clock()
        clock.set(now - timedelta(days=21))  # posted before the kudos
        _forum(community, "alice", "bob", "carol")
        clock.set(now)
        community.give_kudos("t1-alice", giver="bob", at=now - timedelta(days=20))
        community.give_kudos("t1-alice", giver="carol", at=now - timedelta(days=10))
        community.give_kudos("t1-bob", giver="alice", at=now - timedelta(days=2))
        community.give_kudos("t1-bob", giver="carol", at=now)
        community.give_kudos("t1-carol", giver="bob", at=now - timedelta(days=6, hours=11))
        assert _rows(community.leaderboard(by="kudos_received", window="7d")) == [
            (1, "bob", 2),
            (2, "carol", 1),
        ]
        assert _rows(community.leaderboard(by="kudos_received", window=timedelta(days=30))) == [
            (1, "alice", 2),
            (2, "bob", 2),
            (3, "carol", 1),
        ]
        assert _rows(community.leaderboard(by="kudos_received", window="1d")) == [(1, "bob", 1)]
        # The window ends today: a day later, the oldest day falls out.
        clock.advance(days=1)
        assert _rows(community.leaderboard(by="kudos_received", window="7d")) == [(1, "bob", 2)]
        assert community.position("carol", by="kudos_received", window="7d").position is None
        assert_consistent(community)

    def test_withdrawn_kudos_leaves_the_day_it_was_given(
        self, community: Community, clock: FakeClock
    ) -> None:
        now = clock()
        clock.set(now - timedelta(days=41))  # posted before the kudos
        _forum(community, "alice", "bob")
        clock.set(now)
        community.give_kudos("t1-alice", giver="bob", at=now - timedelta(days=40))
        community.withdraw_kudos("t1-alice", giver="bob")
        # The kudos no longer counts on the day it was given, and takes nothing from today.
        assert community.leaderboard(by="kudos_received", window="30d") == []
        assert community.position("alice", by="kudos_received", window="30d").value == 0
        # Reputation follows the ledger: the reversal is booked today, and a negative
        # value is not ranked.
        assert community.leaderboard(by="reputation", window="30d") == []
        assert community.position("alice", by="reputation", window="30d").value == -1
        assert_consistent(community)

    def test_window_is_refused_with_period_or_tag_or_beyond_the_policy(
        self, community: Community
    ) -> None:
        with pytest.raises(InvalidInput, match="period or a rolling window"):
            community.leaderboard(window="7d", period="current")
        with pytest.raises(InvalidInput, match="per tag"):
            community.leaderboard(window="7d", tag="roaming")
        with pytest.raises(InvalidInput, match="max_window_days"):
            community.leaderboard(window="400d")
        with pytest.raises(InvalidInput, match="whole number of days"):
            community.leaderboard(window=timedelta(hours=36))

    def test_window_needs_day_counters_kept_by_the_policy(
        self, make_community: MakeCommunity
    ) -> None:
        c = make_community(
            giffgaff().evolve(leaderboards=LeaderboardRules(window_metrics=("reputation",)))
        )
        _forum(c, "alice", "bob")
        c.accept_solution("t1", reply="t1-alice", by="asker")
        assert _rows(c.leaderboard(by="reputation", window="7d")) == [(1, "alice", 10)]
        with pytest.raises(InvalidInput, match="window_metrics"):
            c.leaderboard(by="solutions", window="7d")
        with c.store.transaction(c.id) as tx:
            assert tx.top("solutions", f"day:{clock_day(c)}", limit=10) == []
        assert_consistent(c)

    # -- staff -----------------------------------------------------------------------------
    def test_staff_are_left_out_unless_asked_for(self, community: Community) -> None:
        community.join("helper", role="staff")
        community.join("mod", role="moderator")
        _forum(community, "helper", "mod", "alice")
        community.give_kudos("t1-helper", giver="asker")
        community.give_kudos("t1-helper", giver="alice")
        community.give_kudos("t1-mod", giver="asker")
        community.give_kudos("t1-alice", giver="asker")
        assert _rows(community.leaderboard(by="kudos_received")) == [(1, "alice", 1)]
        assert _rows(community.leaderboard(by="kudos_received", include_staff=True)) == [
            (1, "helper", 2),
            (2, "alice", 1),
            (3, "mod", 1),
        ]
        pos = community.position("helper", by="kudos_received")
        assert (pos.position, pos.of, pos.value) == (None, 1, 2)
        pos = community.position("alice", by="kudos_received", include_staff=True)
        assert (pos.position, pos.of) == (2, 3)
        assert _rows(community.leaderboard(by="kudos_received", window="7d")) == [(1, "alice", 1)]

    def test_staff_who_join_later_are_left_out_at_once(self, community: Community) -> None:
        _forum(community, "alice", "bob")
        community.give_kudos("t1-alice", giver="bob")
        assert [r.member for r in community.leaderboard(by="kudos_received")] == ["alice"]
        community.join("helper", role="staff")
        community.post_reply("t1-helper", topic="t1", author="helper")
        for giver in ("asker", "bob"):
            community.give_kudos("t1-helper", giver=giver)
        assert [r.member for r in community.leaderboard(by="kudos_received")] == ["alice"]
        assert community.position("helper", by="kudos_received").position is None
        with community.store.transaction(community.id) as tx:
            counted = sorted(m for m, _ in tx.top(STAFF_METRIC, "all", limit=100))
            assert counted == sorted(engine.staff_ids(tx)) == ["helper"]
        assert_consistent(community)

    # -- positions ----------------------------------------------------------------------
    def test_position_says_where_a_member_stands(self, community: Community) -> None:
        members = [f"m{i}" for i in range(6)]
        _forum(community, *members)
        for i, m in enumerate(members):
            for giver in members[:i]:
                community.give_kudos(f"t1-{m}", giver=giver)
        pos = community.position("m3", by="kudos_received")
        assert isinstance(pos, LeaderboardPosition)
        assert (pos.position, pos.of, pos.value) == (3, 5, 3)
        assert str(pos) == "#3 of 5" and pos.ranked and pos.top_percent == 60
        for row in community.leaderboard(by="kudos_received"):
            assert community.position(row.member, by="kudos_received").position == row.position

    def test_position_of_an_unknown_member_is_refused(self, community: Community) -> None:
        with pytest.raises(UnknownMember, match="join"):
            community.position("ghost")

    # -- freshness ------------------------------------------------------------------------
    def test_boards_and_positions_are_never_stale_after_a_write(self, community: Community) -> None:
        _forum(community, "alice", "bob")
        community.give_kudos("t1-alice", giver="bob")
        assert _rows(community.leaderboard(by="kudos_received")) == [(1, "alice", 1)]
        assert community.position("bob", by="kudos_received").position is None
        assert _rows(community.leaderboard(by="kudos_received", window="7d")) == [(1, "alice", 1)]
        community.give_kudos("t1-bob", giver="alice")
        community.give_kudos("t1-bob", giver="asker")
        assert _rows(community.leaderboard(by="kudos_received")) == [(1, "bob", 2), (2, "alice", 1)]
        assert str(community.position("bob", by="kudos_received")) == "#1 of 2"
        assert _rows(community.leaderboard(by="kudos_received", window="7d")) == [
            (1, "bob", 2),
            (2, "alice", 1),
        ]
        assert community.standing("bob").counters["kudos_received"] == 2

    def test_cached_reads_count_as_hits(self, make_community: MakeCommunity) -> None:
        from ...cache import ReadCache

        c = make_community(cache=ReadCache(maxsize=100, ttl=60))
        _forum(c, "alice", "bob")
        c.give_kudos("t1-alice", giver="bob")
        first = c.leaderboard(by="kudos_received")
        before = c.cache.stats()
        assert c.leaderboard(by="kudos_received") == first
        assert c.cache.stats().hits == before.hits + 1

    def test_uncached_community_reads_the_store_each_time(
        self, make_community: MakeCommunity
    ) -> None:
        c = make_community(cache=None)
        _forum(c, "alice", "bob")
        c.give_kudos("t1-alice", giver="bob")
        assert _rows(c.leaderboard(by="kudos_received")) == [(1, "alice", 1)]
        assert c.cache.stats().size == 0 and c.cache.stats().hits == 0

    # -- against a recomputation ------------------------------------------------------------
    def test_every_board_equals_a_recomputation_from_the_facts(
        self, community: Community, clock: FakeClock
    ) -> None:
        facts = play(community, clock, random_ops(random.Random(20261123), 120))
        assert facts.kudos and facts.solutions
        assert check_boards(community, facts) > 100
        assert_consistent(community)

    def test_rebuild_gives_the_same_boards(self, community: Community, clock: FakeClock) -> None:
        facts = play(community, clock, random_ops(random.Random(7), 40))
        before = {
            (m, w): community.leaderboard(by=m, window=w, limit=1000, include_staff=True)
            for m in ("reputation", "kudos_received", "solutions")
            for w in (None, "30d")
        }
        community.rebuild()
        after = {
            (m, w): community.leaderboard(by=m, window=w, limit=1000, include_staff=True)
            for m in ("reputation", "kudos_received", "solutions")
            for w in (None, "30d")
        }
        assert after == before
        check_boards(community, facts, metrics=("kudos_received",))

    def test_tie_break_boards_equal_a_recomputation(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = make_community(
            giffgaff().evolve(leaderboards=LeaderboardRules(tie_break="kudos_received"))
        )
        facts = play(c, clock, random_ops(random.Random(99), 50))
        check_boards(c, facts, metrics=("solutions", "reputation"))

    def test_every_board_metric_is_accepted(self, community: Community) -> None:
        community.join("alice")
        for metric in (
            "reputation",
            "points",
            "solutions",
            "kudos_received",
            "referrals",
            "ideas_implemented",
        ):
            assert isinstance(community.leaderboard(by=metric, window="30d"), list)
            assert community.position("alice", by=metric).position is None
        with pytest.raises(InvalidInput, match="kudos_received"):
            community.leaderboard(by="kudos")


def clock_day(community: Community) -> str:
    """Today's day id on the community clock, in the periods' time zone."""
    return (
        community.now().astimezone(ZoneInfo(community.policy.periods.timezone)).date().isoformat()
    )
