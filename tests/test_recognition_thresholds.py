"""Recognition evaluates a member again only when a move passes a threshold.

A rank, a privilege and a metric badge level read a counter only through
comparisons with fixed thresholds, so a move that passes none of them leaves
what is stored right: the member gets only the badges the event itself may
award. Moves past a threshold, up or down, first evaluations, and moves under
rules other than those a member was last worked out by are evaluated as
before, and skipping gives exactly what evaluating gives on any history.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kudos
from kudos.events import KudosGiven
from kudos.recognition import Badge, BadgeFacts, Privilege, Rank, Recognition, register_badge_rule
from kudos.recognition import handlers as recognition
from kudos.testing import FakeClock, assert_consistent

START = datetime(2026, 1, 1, tzinfo=UTC)


def _helped(facts: BadgeFacts) -> int:
    """A host's rule: it may read any metric, so it is asked after every event."""
    return facts.metrics["kudos_received"] + facts.metrics["solutions"]


register_badge_rule("thresholds_helped", _helped)


def _rules(
    star: int,
    liked: dict[str, int],
    vote: int,
    *,
    ranks: bool = True,
    event: bool = True,
    giver: int = 0,
) -> Recognition:
    return Recognition(
        ranks=(
            [
                Rank(name="Star", requires={"kudos_received": star, "reputation": star}),
                *([Rank(name="Giver", requires={"kudos_given": giver})] if giver else []),
                Rank(name="Helper", requires={"solutions": 1}),
                Rank(name="Member"),
            ]
            if ranks
            else []
        ),
        badges=[
            Badge(name="Liked", metric="kudos_received", levels=liked),
            Badge(name="Solver", metric="solutions"),
            Badge(name="Supporter", first="kudos-given"),
            Badge(name="Regular", metric="days_active", threshold=2),
            *(
                [
                    Badge(name="Quick", reply_within_minutes=30),
                    Badge(name="Helped", custom="thresholds_helped", levels={"a": 2, "b": 4}),
                ]
                if event
                else []
            ),
        ],
        privileges=[
            *([Privilege(name="edit_posts", rank="Star")] if ranks else []),
            Privilege(name="vote_ideas", requires={"reputation": vote}),
        ],
    )


# Sets of rules with thresholds of their own: the second reads kudos given (which a
# removal moves for the givers without touching them), the third has no ranks; the fourth
# has ranks that read kudos given only (so the others' counters move unseen by it), and
# the last no recognition at all.
POLICIES = (
    kudos.policies.giffgaff().evolve(recognition=_rules(3, {"a": 1, "b": 3, "c": 5}, 8)),
    kudos.policies.giffgaff().evolve(recognition=_rules(2, {"a": 2, "b": 4}, 5, giver=2)),
    kudos.policies.giffgaff().evolve(recognition=_rules(4, {"a": 1, "b": 2}, 11, ranks=False)),
    kudos.policies.giffgaff().evolve(
        recognition=Recognition(
            ranks=[Rank(name="Giver", requires={"kudos_given": 1}), Rank(name="Member")]
        )
    ),
    kudos.policies.giffgaff().evolve(recognition=Recognition()),
)
# The first without the badges that depend on the event, for the examples' badge lists.
SMALL = kudos.policies.giffgaff().evolve(
    recognition=_rules(3, {"a": 1, "b": 3, "c": 5}, 20, event=False)
)


def _forum(policy: kudos.Policy = SMALL, clock: FakeClock | None = None) -> kudos.Community:
    c = kudos.Community(policy=policy, clock=clock or FakeClock(START))
    c.join("asker")
    c.join("mod", role="moderator")
    c.post_topic("t", author="asker")
    for name in ("alice", "bob", "carol", "dave", "erin"):
        c.join(name)
    c.post_reply("r1", topic="t", author="alice")
    c.post_reply("r2", topic="t", author="alice")
    c.post_reply("r3", topic="t", author="alice")
    c.post_reply("b1", topic="t", author="bob")
    return c


# --- what is evaluated ---------------------------------------------------------------------


def test_a_kudos_that_passes_no_threshold_evaluates_nobody(evaluated: list[str]) -> None:
    c = _forum(kudos.policies.giffgaff())
    evaluated.clear()
    c.give_kudos("r1", giver="bob")
    # alice's kudos received and reputation move, bob's days active: each stays between
    # the same two thresholds of the giffgaff ladder, badges and privileges
    assert evaluated == []
    assert c.standing("alice").rank == "Member"
    assert "Supporter" in c.standing("bob").badges  # the event's own badge still counts


def test_a_kudos_that_passes_a_rank_threshold_up_evaluates_its_author(
    evaluated: list[str],
) -> None:
    c = _forum()
    c.give_kudos("r1", giver="bob")  # alice: 1 kudos received, the first Liked level
    c.give_kudos("r2", giver="carol")
    evaluated.clear()
    c.give_kudos("r3", giver="dave")  # 3 kudos received and 3 reputation or more: Star
    assert evaluated == ["alice"]
    assert c.standing("alice").rank == "Star"
    assert [
        n.data for n in c.notifications(member="alice", limit=None) if n.kind == "rank_changed"
    ] == [{"from": "Member", "to": "Star", "direction": "up"}]


def test_a_withdrawal_that_passes_a_rank_threshold_down_evaluates_its_author(
    evaluated: list[str],
) -> None:
    c = _forum()
    for post, giver in (("r1", "bob"), ("r2", "carol"), ("r3", "dave")):
        c.give_kudos(post, giver=giver)
    evaluated.clear()
    c.withdraw_kudos("r3", giver="dave")  # back to 2 kudos received: below Star
    assert evaluated == ["alice"]
    assert c.standing("alice").rank == "Member"
    assert [
        n.data for n in c.notifications(member="alice", limit=None) if n.kind == "rank_changed"
    ][-1] == {"from": "Star", "to": "Member", "direction": "down"}


def test_a_move_within_the_thresholds_evaluates_nobody(evaluated: list[str]) -> None:
    c = _forum()
    c.give_kudos("r1", giver="bob")
    evaluated.clear()
    c.give_kudos("r2", giver="carol")  # alice: 1 -> 2 kudos received, no rule's threshold
    assert evaluated == []
    assert c.standing("alice").badges == ("Liked (a)",)


def test_in_a_batch_each_move_starts_where_the_events_before_it_left_the_counter(
    evaluated: list[str],
) -> None:
    c = _forum()
    c.give_kudos("r1", giver="bob")
    evaluated.clear()
    # 1 -> 2 passes nothing, 2 -> 3 passes Star's and the second Liked level
    c.record_many([KudosGiven(post="r2", giver="carol"), KudosGiven(post="r3", giver="dave")])
    assert evaluated == ["alice"]
    assert c.standing("alice").rank == "Star"
    assert c.standing("alice").badges == ("Liked (a)", "Liked (b)")


def test_a_move_under_other_rules_is_evaluated_as_before(evaluated: list[str]) -> None:
    clock = FakeClock(START)
    c = _forum(clock=clock)
    c.give_kudos("r1", giver="bob")
    c.give_kudos("r2", giver="carol")  # alice: 2 kudos received, a Member under SMALL
    clock.advance(minutes=5)
    shorter = kudos.policies.giffgaff().evolve(recognition=_rules(2, {"a": 2, "b": 4}, 5))
    c.change_policy(shorter, by="mod", reason="a shorter ladder")
    clock.advance(minutes=5)
    evaluated.clear()
    # 2 -> 3 passes no threshold of the shorter ladder (Star at 2, Liked at 2 and 4), but alice
    # was worked out by SMALL's rules: she is evaluated, and reaches Star as she always did
    c.give_kudos("r3", giver="dave")
    assert evaluated == ["alice"]
    assert c.standing("alice").rank == "Star"
    assert_consistent(c)


def test_a_kudos_asks_only_its_giver_for_the_badges_of_the_event(
    asked: list[str],
) -> None:
    c = _forum(kudos.policies.giffgaff())
    asked.clear()  # what setting up the forum asked
    c.give_kudos("r1", giver="bob")
    # Supporter counts the giver's own action: alice, whose counters passed no threshold,
    # has nothing to be asked for
    assert asked == ["bob"]
    assert "Supporter" in c.standing("bob").badges


def test_rules_written_in_another_order_are_the_same_rules() -> None:
    def ladder(requires: dict[str, int]) -> kudos.Policy:
        return kudos.policies.giffgaff().evolve(
            recognition=Recognition(ranks=[Rank(name="Star", requires=requires), Rank(name="M")])
        )

    clock = FakeClock(START)
    c = _forum(ladder({"solutions": 1, "reputation": 3}), clock)
    c.give_kudos("r1", giver="bob")
    # the host opens the community with the same settings in another order
    again = kudos.Community(
        store=c.store, policy=ladder({"reputation": 3, "solutions": 1}), clock=clock
    )
    again.give_kudos("r2", giver="carol")
    again.accept_solution("t", reply="r1", by="asker")
    assert again.standing("alice").rank == "Star"
    assert_consistent(again)  # the replay notes the rules as recording did


def test_a_counter_moved_without_its_member_being_touched_is_evaluated_at_the_next_move() -> None:
    policy = kudos.policies.giffgaff().evolve(
        recognition=Recognition(
            ranks=[
                Rank(name="Star", requires={"reputation": 1000}),
                Rank(name="Giver", requires={"kudos_given": 2}),
                Rank(name="Member"),
            ]
        )
    )
    c = _forum(policy)
    c.give_kudos("r1", giver="bob")
    c.give_kudos("r2", giver="bob")  # bob: Giver
    c.remove_post("r2", by="mod", reason="spam")  # takes back bob's kudos given, not touching him
    c.adjust("bob", reputation=5, reason="event host", by="mod")  # a move past no threshold
    # ... is evaluated, as every move of an input once was: bob's stored rank follows
    assert [n.data for n in c.notifications(member="bob", limit=None)][-1] == {
        "from": "Giver",
        "to": "Member",
        "direction": "down",
    }
    assert_consistent(c)


def test_a_badge_revoked_for_abuse_comes_back_when_its_metric_passes_the_level_again() -> None:
    c = _forum()
    c.give_kudos("r1", giver="bob")
    c.give_kudos("r2", giver="carol")
    c.give_kudos("r3", giver="dave")  # alice: 3 kudos received, Liked (b)
    c.remove_post("r3", by="mod", reason="spam")  # back to 2: Liked (b) revoked
    assert "Liked (b)" not in c.standing("alice").badges
    c.post_reply("r4", topic="t", author="alice")
    c.give_kudos("r4", giver="erin")  # 3 again
    assert c.standing("alice").badges == ("Liked (a)", "Liked (b)")
    assert_consistent(c)


# --- skipping gives what evaluating gives ------------------------------------------------

MEMBERS = ("m0", "m1", "m2", "m3", "m4")
member = st.integers(0, len(MEMBERS) - 1)
step = st.one_of(
    st.tuples(st.just("join"), st.just(len(MEMBERS) - 1)),
    st.tuples(st.just("topic"), member),
    st.tuples(st.just("reply"), member, st.integers(0, 3)),
    st.tuples(st.just("give"), member, st.integers(0, 12)),
    st.tuples(st.just("give"), member, st.integers(0, 12)),
    st.tuples(st.just("give"), member, st.integers(0, 12)),
    st.tuples(st.just("late give"), member, st.integers(0, 12), st.integers(1, 100)),
    st.tuples(st.just("batch"), st.lists(st.tuples(member, st.integers(0, 12)), max_size=4)),
    st.tuples(st.just("withdraw"), member, st.integers(0, 12)),
    st.tuples(st.just("accept"), st.integers(0, 3), st.integers(0, 12)),
    st.tuples(st.just("unaccept"), st.integers(0, 3)),
    st.tuples(st.just("spam"), st.integers(0, 12)),
    st.tuples(st.just("adjust"), member, st.integers(-25, 25)),
    st.tuples(st.just("policy"), st.integers(0, len(POLICIES) - 1), st.integers(0, 60 * 24 * 3)),
    st.tuples(st.just("wait"), st.integers(1, 60 * 24 * 3)),
)


def _play(steps: list[tuple[Any, ...]], first: int) -> tuple[kudos.Community, dict[str, Any]]:
    clock = FakeClock(START)
    c = kudos.Community(policy=POLICIES[first], clock=clock)
    c.join("asker")
    c.join("mod", role="moderator")
    topics = ["t0", "t1", "t2"]
    replies: list[str] = []
    for topic in topics:
        c.post_topic(topic, author="asker")
    on: dict[str, list[str]] = {topic: [] for topic in topics}
    for name in MEMBERS[:-1]:  # the last one joins as a step
        c.join(name)
        for topic in topics[:2]:
            replies.append(f"r{len(replies)}")
            on[topic].append(replies[-1])
            c.post_reply(replies[-1], topic=topic, author=name)
    clock.advance(hours=2)
    for kind, *args in steps:
        try:
            if kind == "join":
                c.join(MEMBERS[args[0]])
            elif kind == "topic":
                c.post_topic(f"t{len(topics)}", author=MEMBERS[args[0]])
                topics.append(f"t{len(topics)}")
                on[topics[-1]] = []
            elif kind == "reply":
                topic = topics[args[1] % len(topics)]
                c.post_reply(f"r{len(replies)}", topic=topic, author=MEMBERS[args[0]])
                replies.append(f"r{len(replies)}")
                on[topic].append(replies[-1])
            elif kind in ("give", "late give", "withdraw") and replies:
                reply = replies[args[1] % len(replies)]
                if kind == "withdraw":
                    c.withdraw_kudos(reply, giver=MEMBERS[args[0]])
                else:
                    at = clock() - timedelta(minutes=args[2]) if kind == "late give" else None
                    c.give_kudos(reply, giver=MEMBERS[args[0]], at=at)
            elif kind == "batch" and replies:
                c.record_many(
                    [
                        KudosGiven(post=replies[r % len(replies)], giver=MEMBERS[m])
                        for m, r in args[0]
                    ]
                )
            elif kind == "accept" and on[topics[args[0] % len(topics)]]:
                topic = topics[args[0] % len(topics)]
                reply = on[topic][args[1] % len(on[topic])]
                c.accept_solution(topic, reply=reply, by="mod")
            elif kind == "unaccept":
                c.unaccept_solution(topics[args[0] % len(topics)], by="mod")
            elif kind == "spam" and replies:
                c.remove_post(replies[args[0] % len(replies)], by="mod", reason="spam")
            elif kind == "adjust":
                c.adjust(MEMBERS[args[0]], reputation=args[1], reason="event host", by="mod")
            elif kind == "policy":
                # effective now, or earlier: facts already recorded keep what they earned,
                # later ones dated before it still get the old rules
                c.change_policy(
                    POLICIES[args[0]],
                    effective=clock() - timedelta(minutes=args[1]),
                    by="mod",
                    reason="other thresholds",
                )
            elif kind == "wait":
                clock.advance(minutes=args[0])
        except kudos.KudosError:
            pass  # a fact the rules refuse changes nothing
    with c.store.transaction(c.id) as tx:
        snapshot = tx.snapshot()
        ledger = tx.entries()
    return c, {
        "docs": {(d.kind, d.key): d for d in snapshot.docs},
        "counters": {k: v for k, v in snapshot.counters.items() if v},
        "outbox": [(n.member, n.kind, n.data, n.event_id) for n in c.notifications(limit=None)],
        "ledger": ledger,
    }


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(POLICIES) - 1), st.lists(step, max_size=50))
def test_skipping_moves_within_the_thresholds_gives_what_evaluating_them_gives(
    first: int, steps: list[tuple[Any, ...]]
) -> None:
    skipping, state = _play(steps, first)
    with pytest.MonkeyPatch.context() as patch:
        # every move counts as one past a threshold: evaluated as a move always was
        patch.setattr(recognition._Plan, "crossed", lambda self, ctx, member, moved: moved)
        # and every member is asked for every badge the event may award
        patch.setattr(recognition._Plan, "others_badges", recognition._Plan.event_badges)
        _, evaluating = _play(steps, first)
    assert state == evaluating
    assert_consistent(skipping)  # rebuild() gives the incremental state


_GIVING = Badge(name="Giving", metric="kudos_given", threshold=1)
_LADDER = Recognition(
    ranks=[
        Rank(name="Star", requires={"reputation": 100}),
        Rank(name="Giver", requires={"kudos_given": 1}),
        Rank(name="Member"),
    ],
    badges=[_GIVING],
)
_PRIVILEGES_ONLY = Recognition(
    privileges=[Privilege(name="vote_on_ideas", requires={"reputation": 5})], badges=[]
)


@pytest.mark.parametrize(
    "between",
    [Recognition(), _PRIVILEGES_ONLY],
    ids=["no recognition", "privileges only"],
)
def test_moves_under_other_rules_in_between_are_evaluated_when_the_rules_come_back(
    between: Recognition,
) -> None:
    """A member's counters moved under rules that keep no rank (or none at all) are
    worked out again when the first rules are back, as if nothing had been skipped."""
    base = kudos.policies.giffgaff()
    first, other = base.evolve(recognition=_LADDER), base.evolve(recognition=between)
    clock = FakeClock(datetime(2026, 5, 1, 12, tzinfo=UTC))
    c = kudos.Community(policy=first, clock=clock)
    c.join("mod", role="moderator")
    for m in ("alice", "bob"):
        c.join(m)
    c.post_topic("t", author="alice")
    c.post_topic("u", author="alice")
    clock.advance(minutes=1)
    c.change_policy(other, effective=clock(), by="mod", reason="pause")
    clock.advance(minutes=1)
    c.give_kudos("t", giver="bob")  # kudos_given 0 -> 1 while the other rules are in force
    clock.advance(minutes=1)
    c.change_policy(first, effective=clock(), by="mod", reason="resume")
    clock.advance(minutes=1)
    c.give_kudos("u", giver="bob")  # 1 -> 2: passes no threshold of the first rules
    clock.advance(minutes=1)
    c.adjust("bob", reputation=3, reason="thanks", by="mod")
    bob = c.standing("bob")
    assert bob.badges == ("Giving",)
    assert bob.rank == "Giver"
    kinds = [(n.kind, n.data.get("to")) for n in c.notifications(member="bob", limit=None)]
    assert ("rank_changed", "Giver") in kinds
    assert_consistent(c)


def test_moves_unread_by_the_rules_in_force_are_evaluated_when_other_rules_come_back() -> None:
    """Rules in force that do not read a counter do not see its moves: when the rules that
    read it come back, the member's next move of it is evaluated, whatever it passes."""
    g = kudos.policies.giffgaff()
    first = g.evolve(
        recognition=Recognition(
            ranks=[Rank(name="Star", requires={"reputation": 1000}), Rank(name="Member")],
            badges=[Badge(name="Liked", metric="kudos_received", levels={"a": 1, "b": 2})],
        )
    )
    other = g.evolve(
        recognition=Recognition(
            ranks=[Rank(name="Giver", requires={"kudos_given": 1}), Rank(name="Member")]
        )
    )
    clock = FakeClock(datetime(2026, 5, 1, 12, tzinfo=UTC))
    c = kudos.Community(policy=first, clock=clock)
    for m in ("alice", "bob", "carol", "dave"):
        c.join(m)
    c.join("mod", role="moderator")
    c.post_topic("t", author="alice")
    clock.advance(minutes=1)
    c.give_kudos("t", giver="bob")  # alice's kudos_received 0 -> 1: Liked (a)
    clock.advance(minutes=1)
    c.change_policy(other, by="mod", reason="other")
    clock.advance(minutes=1)
    c.give_kudos("t", giver="carol")  # 1 -> 2 under rules that do not read it
    clock.advance(minutes=1)
    c.change_policy(first, by="mod", reason="back")
    clock.advance(minutes=1)
    c.give_kudos("t", giver="dave")  # 2 -> 3: passes no threshold of the first rules
    assert c.standing("alice").badges == ("Liked (a)", "Liked (b)")
    assert_consistent(c)
