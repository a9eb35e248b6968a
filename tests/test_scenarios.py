"""The presets' specification, as scenarios a community manager would recognise.

Each test reads as one rule of the giffgaff or the Stack Exchange preset (see
``kudos.policies`` for where the numbers come from) and runs it end to end
on the plugin's fixtures: a fresh community on a fake clock.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kudos import Community, NotAllowed, Reward, UnknownPost
from kudos.events import KudosGiven, MemberJoined, ReplyPosted, SolutionAccepted, TopicPosted
from kudos.testing import FakeClock, assert_consistent, assert_unchanged

stackexchange = pytest.mark.kudos(policy="stackexchange")


def forum(c: Community, *repliers: str) -> None:
    """``asker`` asks question ``t1``; each replier answers it with ``r-<replier>``."""
    c.join("asker")
    c.post_topic("t1", author="asker", title="No data abroad", tags=["roaming"])
    for name in repliers:
        c.join(name)
        c.post_reply(f"r-{name}", topic="t1", author=name)


def earned(c: Community, member: str) -> tuple[int, int]:
    """``(lifetime points, reputation)``."""
    standing = c.standing(member)
    return standing.lifetime_points, standing.reputation


def voters(c: Community, n: int, *, reputation: int = 0) -> list[str]:
    """``n`` new members, each given ``reputation`` by a moderator."""
    names = [f"voter{i:03d}" for i in range(n)]
    c.record_many(MemberJoined(member=name) for name in names)
    if reputation:
        c.join("mod", role="moderator")
        for name in names:
            c.adjust(name, reputation=reputation, reason="seed", by="mod", event_id=f"seed-{name}")
    return names


# --- giffgaff ------------------------------------------------------------------------


def test_kudos_on_a_reply_earns_five_points_and_one_reputation(kudos_community: Community) -> None:
    c = kudos_community
    forum(c, "alice", "bob")
    outcome = c.give_kudos("r-alice", giver="bob")
    assert (outcome.total("alice"), outcome.total("alice", "reputation")) == (5, 1)
    assert earned(c, "alice") == (5, 1) and earned(c, "bob") == (0, 0)
    assert c.standing("alice").counters["kudos_received"] == 1
    assert c.standing("bob").counters["kudos_given"] == 1


def test_kudos_on_a_topic_earns_one_point_and_one_reputation(kudos_community: Community) -> None:
    c = kudos_community
    forum(c, "alice")
    c.give_kudos("t1", giver="alice")
    assert earned(c, "asker") == (1, 1)


def test_accepted_solution_earns_fifty_points_and_ten_reputation_and_five_for_the_asker(
    kudos_community: Community,
) -> None:
    c = kudos_community
    forum(c, "alice")
    c.accept_solution("t1", reply="r-alice", by="asker")
    assert earned(c, "alice") == (50, 10)
    assert earned(c, "asker") == (5, 0)
    assert c.post("t1").solution == "r-alice"
    assert c.standing("alice").counters["solutions"] == 1


def test_accepting_your_own_reply_earns_nothing(kudos_community: Community) -> None:
    c = kudos_community
    forum(c)
    c.post_reply("r-own", topic="t1", author="asker")
    assert c.accept_solution("t1", reply="r-own", by="asker").entries == ()
    assert earned(c, "asker") == (0, 0)


def test_withdrawn_kudos_takes_back_exactly_what_it_gave(kudos_community: Community) -> None:
    c = kudos_community
    forum(c, "alice", "bob")
    given = c.give_kudos("r-alice", giver="bob")
    taken = c.withdraw_kudos("r-alice", giver="bob")
    assert [(e.account, e.amount) for e in taken.entries] == [
        (e.account, -e.amount) for e in given.entries
    ]
    assert [e.reverses for e in taken.entries] == [e.entry_id for e in given.entries]
    assert earned(c, "alice") == (0, 0)
    assert_consistent(c)


def test_a_member_gives_kudos_once_per_post_and_never_to_themselves(
    kudos_community: Community,
) -> None:
    c = kudos_community
    forum(c, "alice", "bob")
    c.give_kudos("r-alice", giver="bob", event_id="vote-1")
    with assert_unchanged(c):
        with pytest.raises(NotAllowed, match="one kudos per member per post"):
            c.give_kudos("r-alice", giver="bob", event_id="vote-2")
        with pytest.raises(NotAllowed, match="cannot give kudos to their own reply 'r-alice'"):
            c.give_kudos("r-alice", giver="alice")
        with pytest.raises(NotAllowed, match="no kudos on 'r-bob' to withdraw"):
            c.withdraw_kudos("r-bob", giver="alice")


def solutions(c: Community, n: int) -> None:
    """``alice`` answers ``n`` questions of ``asker``, each accepted."""
    c.record_many([MemberJoined(member="asker"), MemberJoined(member="alice")])
    for i in range(n):
        c.record_many(
            [
                TopicPosted(topic=f"t{i}", author="asker"),
                ReplyPosted(reply=f"r{i}", topic=f"t{i}", author="alice"),
                SolutionAccepted(topic=f"t{i}", reply=f"r{i}", by="asker"),
            ]
        )


def test_giffgaff_caps_points_at_1500_a_month(
    kudos_community: Community, kudos_clock: FakeClock
) -> None:
    c = kudos_community
    solutions(c, 31)
    # 30 solutions reach the cap; the 31st earns its reputation but no points.
    assert earned(c, "alice") == (1500, 310)
    last = c.ledger(event_id="solution-accepted:t30:r30")
    assert [(e.member, e.account, e.amount) for e in last] == [
        ("alice", "points", 0),
        ("alice", "reputation", 10),
        ("asker", "points", 5),
    ]
    # A new month in London (1 December 00:00 GMT) starts a new allowance.
    kudos_clock.set(datetime(2026, 12, 1, 0, 0, tzinfo=UTC))
    c.post_topic("t-dec", author="asker")
    c.post_reply("r-dec", topic="t-dec", author="alice")
    assert c.accept_solution("t-dec", reply="r-dec", by="asker").total("alice") == 50
    assert_consistent(c, replay=False)


def test_late_statement_lines_explain_caps(kudos_community: Community) -> None:
    c = kudos_community
    solutions(c, 31)
    lines = c.statement("alice", account="points").lines
    assert [e.amount for e in lines[-2:]] == [50, 0]
    assert lines[-2].reason == "reply 'r29' accepted as the solution of 't29'"
    assert lines[-1].reason == (
        "reply 'r30' accepted as the solution of 't30' (capped at 1500 points per month)"
    )
    assert c.statement("alice").totals == {"points": 1500, "reputation": 310}


def test_staff_earn_nothing_under_giffgaff(kudos_community: Community) -> None:
    c = kudos_community
    forum(c, "alice")
    c.join("sam", role="staff")
    c.post_reply("r-sam", topic="t1", author="sam")
    assert c.give_kudos("r-sam", giver="alice").entries == ()
    c.accept_solution("t1", reply="r-sam", by="asker")
    assert earned(c, "sam") == (0, 0)
    assert earned(c, "asker") == (5, 0)  # the asker still earns for accepting
    assert c.standing("sam").counters["kudos_received"] == 1


def test_staff_may_accept_a_solution_for_the_asker(kudos_community: Community) -> None:
    c = kudos_community
    forum(c, "alice", "bob")
    c.join("sam", role="staff")
    c.accept_solution("t1", reply="r-alice", by="sam")
    assert earned(c, "alice") == (50, 10)
    assert earned(c, "asker") == (0, 0)  # accepting earns only the asker who does it
    # Others need giffgaff's top rank to accept on the asker's behalf.
    with assert_unchanged(c), pytest.raises(NotAllowed, match="rank 'Guru' or higher"):
        c.accept_solution("t1", reply="r-bob", by="bob")


def test_official_reply_is_marked(kudos_community: Community) -> None:
    c = kudos_community
    forum(c, "alice")
    c.join("mod", role="moderator")
    c.post_reply("r-mod", topic="t1", author="mod")
    assert c.post("r-mod").official
    assert not c.post("r-alice").official


def test_down_votes_are_refused_under_giffgaff(kudos_community: Community) -> None:
    c = kudos_community
    forum(c, "alice", "bob")
    with assert_unchanged(c), pytest.raises(NotAllowed, match=r"'giffgaff' has no down-votes"):
        c.down_vote("r-alice", voter="bob")


def test_only_questions_and_problems_take_solutions(kudos_community: Community) -> None:
    c = kudos_community
    forum(c, "alice")
    c.post_topic("i1", author="asker", kind="idea", title="eSIM support")
    c.post_reply("r-idea", topic="i1", author="alice")
    with assert_unchanged(c):
        with pytest.raises(NotAllowed, match="only problems and questions take solutions"):
            c.accept_solution("i1", reply="r-idea", by="asker")
        with pytest.raises(NotAllowed, match="not a reply on topic 't1'"):
            c.accept_solution("t1", reply="r-idea", by="asker")
        with pytest.raises(UnknownPost, match="post_topic"):
            c.accept_solution("t9", reply="r-alice", by="asker")


def test_a_new_solution_replaces_the_old_one(kudos_community: Community) -> None:
    c = kudos_community
    forum(c, "alice", "bob")
    c.accept_solution("t1", reply="r-alice", by="asker")
    c.accept_solution("t1", reply="r-bob", by="asker")
    assert earned(c, "alice") == (0, 0) and earned(c, "bob") == (50, 10)
    assert earned(c, "asker") == (5, 0)
    c.unaccept_solution("t1", by="asker")
    assert earned(c, "bob") == (0, 0) and earned(c, "asker") == (0, 0)
    assert_consistent(c)


def test_spam_is_clawed_back_with_a_fifty_reputation_penalty(kudos_community: Community) -> None:
    c = kudos_community
    forum(c, "alice", "bob")
    c.join("mod", role="moderator")
    c.give_kudos("r-alice", giver="bob")
    c.accept_solution("t1", reply="r-alice", by="asker")
    c.remove_post("r-alice", by="mod", reason="spam")
    assert earned(c, "alice") == (0, -50)
    assert earned(c, "asker") == (0, 0)
    assert c.post("t1").solution == "r-alice" and c.post("r-alice").removed
    assert c.standing("bob").counters.get("kudos_given", 0) == 0
    with assert_unchanged(c), pytest.raises(NotAllowed, match="only staff and moderators"):
        c.remove_post("r-bob", by="alice")
    assert_consistent(c)


def test_removing_a_post_for_another_reason_claws_back_without_a_penalty(
    kudos_community: Community,
) -> None:
    c = kudos_community
    forum(c, "alice", "bob")
    c.join("mod", role="moderator")
    c.give_kudos("r-alice", giver="bob")
    c.remove_post("r-alice", by="mod", reason="duplicate")
    assert earned(c, "alice") == (0, 0)


def test_points_are_earned_per_half_year_and_reputation_for_ever(
    kudos_community: Community, kudos_clock: FakeClock
) -> None:
    c = kudos_community
    kudos_clock.set(datetime(2026, 5, 31, 22, 0, tzinfo=UTC))  # 23:00 in London
    forum(c, "alice", "bob", "carol")
    c.give_kudos("r-alice", giver="bob")
    assert c.standing("alice").period == "2026-H1"
    kudos_clock.set(datetime(2026, 5, 31, 23, 0, tzinfo=UTC))  # midnight: 1 June in London
    c.give_kudos("r-alice", giver="carol")
    alice = c.standing("alice")
    assert (alice.period, alice.points, alice.lifetime_points, alice.reputation) == (
        "2026-H2",
        5,
        10,
        2,
    )
    assert c.statement("alice", period="2026-H1").totals == {"points": 5, "reputation": 1}


def test_a_moderator_adjustment_says_who_and_why(kudos_community: Community) -> None:
    c = kudos_community
    forum(c, "alice")
    c.join("mod", role="moderator")
    c.adjust("alice", points=250, reason="ran the Manchester meet-up", by="mod")
    (line,) = c.statement("alice").lines
    assert (line.action, line.amount, line.reason) == (
        "adjustment",
        250,
        "ran the Manchester meet-up (by mod)",
    )
    with assert_unchanged(c), pytest.raises(NotAllowed, match="only staff and moderators"):
        c.adjust("alice", points=1, reason="self-service", by="asker")


def test_adjustments_are_not_capped(kudos_community: Community) -> None:
    c = kudos_community
    forum(c, "alice")
    c.join("mod", role="moderator")
    c.adjust("alice", points=5000, reason="annual award", by="mod")
    assert earned(c, "alice") == (5000, 0)


# --- Stack Exchange --------------------------------------------------------------------


@stackexchange
def test_every_member_starts_with_one_reputation(kudos_community: Community) -> None:
    c = kudos_community
    c.join("alice")
    assert earned(c, "alice") == (0, 1)
    assert [line.action for line in c.statement("alice").lines] == ["reputation_start"]


@stackexchange
def test_answer_and_question_up_votes_earn_ten(
    kudos_community: Community,
) -> None:
    # Question up-votes went back to +10 on 2019-11-13 (applied retroactively).
    c = kudos_community
    forum(c, "alice")
    (bob,) = voters(c, 1, reputation=15)
    c.give_kudos("r-alice", giver=bob)
    c.give_kudos("t1", giver=bob)
    assert earned(c, "alice") == (0, 1 + 10)
    assert earned(c, "asker") == (0, 1 + 10)
    assert earned(c, bob) == (0, 1 + 15)  # voting up is free


@stackexchange
def test_accepted_answer_earns_fifteen_reputation_and_two_for_the_asker(
    kudos_community: Community,
) -> None:
    c = kudos_community
    forum(c, "alice")
    c.accept_solution("t1", reply="r-alice", by="asker")
    assert earned(c, "alice") == (0, 1 + 15)
    assert earned(c, "asker") == (0, 1 + 2)


@stackexchange
def test_accepting_your_own_answer_earns_nothing_on_stackexchange(
    kudos_community: Community,
) -> None:
    c = kudos_community
    forum(c)
    c.post_reply("r-own", topic="t1", author="asker")
    assert c.accept_solution("t1", reply="r-own", by="asker").entries == ()


@stackexchange
def test_needs_15_reputation_to_upvote_on_stackexchange(kudos_community: Community) -> None:
    c = kudos_community
    forum(c, "alice")
    (novice,) = voters(c, 1, reputation=13)  # 14 with the starting 1
    with assert_unchanged(c), pytest.raises(NotAllowed, match="needs 15 reputation"):
        c.give_kudos("r-alice", giver=novice)
    c.adjust(novice, reputation=1, reason="one more", by="mod")
    assert c.give_kudos("r-alice", giver=novice).total("alice", "reputation") == 10


@stackexchange
def test_needs_125_reputation_to_down_vote(kudos_community: Community) -> None:
    c = kudos_community
    forum(c, "alice")
    (critic,) = voters(c, 1, reputation=123)  # 124 with the starting 1
    with assert_unchanged(c), pytest.raises(NotAllowed, match="125 reputation"):
        c.down_vote("r-alice", voter=critic)
    c.join("sam", role="staff")
    c.down_vote("r-alice", voter="sam")  # staff hold every privilege


@stackexchange
def test_a_down_voted_answer_costs_its_author_two_and_the_voter_one(
    kudos_community: Community,
) -> None:
    c = kudos_community
    forum(c, "alice")
    (critic,) = voters(c, 1, reputation=124)  # 125 with the starting 1
    c.adjust("alice", reputation=10, reason="earlier answers", by="mod")
    c.down_vote("r-alice", voter=critic)
    assert earned(c, "alice") == (0, 11 - 2)
    assert earned(c, critic) == (0, 124)
    c.withdraw_down_vote("r-alice", voter=critic)
    assert earned(c, "alice") == (0, 11) and earned(c, critic) == (0, 125)
    assert_consistent(c)


@stackexchange
def test_down_voting_a_question_costs_only_its_author(kudos_community: Community) -> None:
    c = kudos_community
    forum(c)
    (critic,) = voters(c, 1, reputation=124)
    c.adjust("asker", reputation=10, reason="earlier questions", by="mod")
    c.down_vote("t1", voter=critic)
    assert earned(c, "asker") == (0, 11 - 2) and earned(c, critic) == (0, 125)


@stackexchange
def test_down_vote_replaces_kudos(kudos_community: Community) -> None:
    c = kudos_community
    forum(c, "alice")
    (critic,) = voters(c, 1, reputation=124)
    c.adjust("alice", reputation=10, reason="earlier answers", by="mod")
    c.give_kudos("r-alice", giver=critic)
    assert earned(c, "alice") == (0, 11 + 10)
    c.down_vote("r-alice", voter=critic)
    assert earned(c, "alice") == (0, 11 - 2)
    counters = c.standing("alice").counters
    assert (counters.get("kudos_received", 0), counters["down_votes_received"]) == (0, 1)
    c.give_kudos("r-alice", giver=critic)  # and kudos replaces the down-vote
    assert earned(c, "alice") == (0, 11 + 10) and earned(c, critic) == (0, 125)
    with pytest.raises(NotAllowed, match="no down-vote on 'r-alice' to withdraw"):
        c.withdraw_down_vote("r-alice", voter=critic)
    assert_consistent(c)


@stackexchange
def test_up_votes_earn_at_most_200_reputation_a_utc_day_but_accepts_are_exempt(
    kudos_community: Community, kudos_clock: FakeClock
) -> None:
    c = kudos_community
    forum(c, "alice")
    crowd = voters(c, 21, reputation=15)
    c.record_many(KudosGiven(post="r-alice", giver=v) for v in crowd)
    assert earned(c, "alice") == (0, 1 + 200)
    c.accept_solution("t1", reply="r-alice", by="asker")
    assert earned(c, "alice") == (0, 1 + 215)
    kudos_clock.set(datetime(2026, 11, 24, tzinfo=UTC))
    c.post_reply("r2", topic="t1", author="alice")
    c.give_kudos("r2", giver=crowd[0])
    assert earned(c, "alice") == (0, 1 + 225)


@stackexchange
def test_spam_costs_a_hundred_reputation(kudos_community: Community) -> None:
    c = kudos_community
    forum(c, "alice")
    c.join("mod", role="moderator")
    c.adjust("alice", reputation=150, reason="earlier answers", by="mod")
    c.remove_post("r-alice", by="mod", reason="spam")
    assert earned(c, "alice") == (0, 151 - 100)


@stackexchange
def test_stackexchange_has_no_points_and_monthly_periods(kudos_community: Community) -> None:
    c = kudos_community
    forum(c, "alice")
    c.accept_solution("t1", reply="r-alice", by="asker")
    alice = c.standing("alice")
    assert (alice.points, alice.lifetime_points, alice.period) == (0, 0, "2026-11")


@stackexchange
def test_halving_question_votes_is_previewed_before_it_is_applied(
    kudos_community: Community,
) -> None:
    # Stack Exchange cut question up-votes from +10 to +5 in March 2010 and went back
    # to +10 in November 2019, both applied retroactively by recalculation;
    # simulate() shows such a change first.
    c = kudos_community
    old = c.policy.evolve(
        name="2010-03 to 2019-11",
        rewards={**c.policy.rewards, "kudos_on_topic": Reward(reputation=5)},
    )
    forum(c, "alice")
    crowd = voters(c, 3, reputation=15)
    for voter in crowd:
        c.give_kudos("t1", giver=voter)
    with assert_unchanged(c):
        sim = c.simulate(old)
    assert [(ch.member, ch.reputation) for ch in sim.changes] == [("asker", -15)]
    assert sim.standings["asker"].reputation == 1 + 15
