"""Stack Exchange fidelity: the net daily cap, the start and floor, dated rules, history.

Each rule is checked against what a recalculation of the live facts gives (the
way Stack Exchange recalculates reputation), on every store.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kudos
from kudos import (
    Community,
    EarlierReward,
    InvalidInput,
    InvalidPolicy,
    NotAllowed,
    Policy,
    Reward,
)
from kudos.events import (
    BountyOffered,
    DownVoted,
    KudosGiven,
    MemberJoined,
    ReplyPosted,
    TopicPosted,
)
from kudos.policies import stackexchange
from kudos.stores.protocol import Store
from kudos.testing import FakeClock, assert_consistent, assert_unchanged

NOON = datetime(2026, 11, 23, 12, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """Each store the cap and the floor must behave alike on."""
    yield request.getfixturevalue(f"{request.param}_store")


def site(store: Store | None = None, *, dated: bool = False) -> tuple[Community, FakeClock]:
    """A Stack Exchange community: question ``q`` by ``asker``, answer ``a`` by ``alice``."""
    clock = FakeClock(NOON)
    c = Community(
        store=store or kudos.MemoryStore(), policy=stackexchange(dated=dated), clock=clock
    )
    c.record_many(
        [
            MemberJoined(member="asker"),
            MemberJoined(member="alice"),
            MemberJoined(member="mod", role="moderator"),
            TopicPosted(topic="q", author="asker", title="Bell states"),
            ReplyPosted(reply="a", topic="q", author="alice"),
        ]
    )
    return c, clock


def crowd(c: Community, n: int) -> list[str]:
    """``n`` members able to vote (joined as imported history: no invented reputation)."""
    names = [f"v{i:03d}" for i in range(n)]
    c.record_many([MemberJoined(member=name) for name in names])
    return names


def reputation(c: Community, member: str) -> int:
    return c.standing(member).reputation


# --- the net daily cap ---------------------------------------------------------------


def test_a_down_vote_frees_room_under_the_daily_cap_for_a_later_up_vote(store: Store) -> None:
    c, _ = site(store)
    voters = crowd(c, 22)
    c.record_many([KudosGiven(post="a", giver=v) for v in voters[:20]], trusted=True)
    assert reputation(c, "alice") == 1 + 200
    c.record_many([DownVoted(post="a", voter=voters[20])], trusted=True)
    assert reputation(c, "alice") == 1 + 198
    c.record_many([KudosGiven(post="a", giver=voters[21])], trusted=True)
    assert reputation(c, "alice") == 1 + 200  # Stack Exchange shows 200 (+1 start)
    assert_consistent(c)


def test_a_down_vote_first_then_twenty_one_up_votes_also_gives_the_cap(store: Store) -> None:
    c, _ = site(store)
    c.adjust("alice", reputation=50, reason="earlier days", by="mod", at=NOON - timedelta(days=1))
    voters = crowd(c, 22)
    c.record_many([DownVoted(post="a", voter=voters[0])], trusted=True)
    c.record_many([KudosGiven(post="a", giver=v) for v in voters[1:]], trusted=True)
    assert reputation(c, "alice") == 51 + 200
    assert_consistent(c)


def test_a_reversal_frees_room_that_a_held_back_up_vote_takes_up_as_a_top_up_line(
    store: Store,
) -> None:
    c, _ = site(store)
    voters = crowd(c, 21)
    outcomes = c.record_many([KudosGiven(post="a", giver=v) for v in voters], trusted=True)
    held_back = outcomes[-1].entries[0]
    assert (held_back.amount, "capped at 200 reputation per day" in held_back.reason) == (0, True)
    taken = c.withdraw_kudos("a", giver=voters[0])
    assert reputation(c, "alice") == 1 + 200
    top_up = [e for e in taken.entries if e.action == "cap_top_up"]
    assert [(e.member, e.amount, e.subject) for e in top_up] == [("alice", 10, "a")]
    assert held_back.entry_id in top_up[0].reason  # it names the award it tops up
    assert top_up[0].at == held_back.at  # and counts on the day that award was held back
    # Withdrawing the topped-up vote takes back its award and its top-up, nothing else.
    gone = c.withdraw_kudos("a", giver=voters[20])
    assert [(e.action, e.amount) for e in gone.entries] == [("cap_top_up", -10)]
    assert reputation(c, "alice") == 1 + 190
    assert_consistent(c)


def test_withdrawing_a_down_vote_holds_back_the_excess_and_releases_it_later(
    store: Store,
) -> None:
    c, _ = site(store)
    voters = crowd(c, 22)
    c.record_many([KudosGiven(post="a", giver=v) for v in voters[:21]], trusted=True)
    c.record_many([DownVoted(post="a", voter=voters[21])], trusted=True)
    assert reputation(c, "alice") == 1 + 200  # 210 - 2 > 200
    taken = c.withdraw_down_vote("a", voter=voters[21])
    assert reputation(c, "alice") == 1 + 200
    assert [e.action for e in taken.entries if e.amount < 0] == ["cap_held"]
    c.withdraw_kudos("a", giver=voters[0])  # 200 live: still the cap
    assert reputation(c, "alice") == 1 + 200
    c.withdraw_kudos("a", giver=voters[1])
    assert reputation(c, "alice") == 1 + 190
    assert_consistent(c)


def test_removing_a_post_takes_back_its_top_ups_and_frees_room_for_other_posts(
    store: Store,
) -> None:
    c, _ = site(store)
    c.record(ReplyPosted(reply="a2", topic="q", author="alice"))
    voters = crowd(c, 21)
    c.record_many([KudosGiven(post="a", giver=v) for v in voters[:15]], trusted=True)
    c.record_many([KudosGiven(post="a2", giver=v) for v in voters[15:]], trusted=True)
    assert reputation(c, "alice") == 1 + 200
    c.remove_post("a", by="mod")
    assert reputation(c, "alice") == 1 + 60
    assert_consistent(c)


def _recalculation(votes: list[tuple[str, int]], limit: int = 200) -> int:
    """A day's votes received, recalculated: the net total, at most ``limit``."""
    return min(limit, sum(value for _, value in votes))


@settings(max_examples=40, deadline=None)
@given(
    ups=st.integers(0, 26),
    downs=st.integers(0, 6),
    withdrawn=st.sets(st.integers(0, 31), max_size=6),
    order=st.randoms(use_true_random=False),
)
def test_a_days_capped_total_is_its_recalculation_in_any_order(
    ups: int, downs: int, withdrawn: set[int], order: st.SearchStrategy[object]
) -> None:
    c, _ = site()
    c.adjust("alice", reputation=100, reason="earlier days", by="mod", at=NOON - timedelta(days=1))
    voters = crowd(c, ups + downs)
    facts: list[KudosGiven | DownVoted] = [KudosGiven(post="a", giver=v) for v in voters[:ups]]
    facts += [DownVoted(post="a", voter=v) for v in voters[ups:]]
    order.shuffle(facts)  # type: ignore[attr-defined]
    c.record_many(facts, trusted=True)
    live = []
    for i, fact in enumerate(facts):
        if i in withdrawn:
            if isinstance(fact, KudosGiven):
                c.withdraw_kudos("a", giver=fact.giver)
            else:
                c.withdraw_down_vote("a", voter=fact.voter)
        else:
            live.append((fact.type, 10 if isinstance(fact, KudosGiven) else -2))
    assert reputation(c, "alice") == 101 + _recalculation(live)
    assert_consistent(c, replay=False)


# --- start and floor --------------------------------------------------------------------


def test_a_new_member_starts_at_one_and_never_drops_below_it(store: Store) -> None:
    c, _ = site(store)
    voters = crowd(c, 10)
    c.record_many([DownVoted(post="q", voter=v) for v in voters[:5]], trusted=True)
    assert reputation(c, "asker") == 1  # not -9
    c.record_many([KudosGiven(post="q", giver=v) for v in voters[5:]], trusted=True)
    assert reputation(c, "asker") == 1 + 50  # question up-votes are +10
    c.withdraw_down_vote("q", voter=voters[0])
    # Recalculated: four down-votes on 1 stay at 1, then five up-votes: 51. What
    # the floor absorbed is not given back.
    assert reputation(c, "asker") == 51
    assert_consistent(c)


def test_a_reversal_below_the_floor_is_lifted_back_to_it() -> None:
    c, _ = site()
    (voter,) = crowd(c, 1)
    c.record_many([KudosGiven(post="a", giver=voter)], trusted=True)  # alice: 11
    c.record_many([MemberJoined(member="critic")])
    c.record_many([DownVoted(post="a", voter="critic")], trusted=True)  # 9
    c.withdraw_kudos("a", giver=voter)  # -10 would leave -1
    # Recalculated: one down-vote on a new member leaves 1.
    assert reputation(c, "alice") == 1
    assert [e.action for e in c.statement("alice").lines][-1] == "reputation_floor"
    assert_consistent(c)


def test_start_below_the_floor_is_refused() -> None:
    with pytest.raises(InvalidPolicy, match="below reputation_floor"):
        Policy(reputation_start=0, reputation_floor=1)


# --- dated rules ------------------------------------------------------------------------


def test_question_up_votes_are_ten_and_five_before_2019_11_13_under_dated_rules() -> None:
    for dated, before, after in ((False, 10, 10), (True, 5, 10)):
        c, _ = site(dated=dated)
        (voter,) = crowd(c, 1)
        old = c.record_many(
            [
                TopicPosted(topic="q-old", author="asker", at=datetime(2019, 11, 12, tzinfo=UTC)),
                KudosGiven(post="q-old", giver=voter, at=datetime(2019, 11, 12, 23, tzinfo=UTC)),
            ],
            trusted=True,
        )
        new = c.record_many([KudosGiven(post="q", giver=voter)], trusted=True)
        assert (old[1].total("asker", "reputation"), new[0].total("asker", "reputation")) == (
            before,
            after,
        )
        assert_consistent(c)


def test_dated_rewards_load_from_toml() -> None:
    policy = Policy.from_toml(
        """
        reputation_start = 1
        reputation_floor = 1
        [rewards.kudos_on_topic]
        reputation = 10
        was = [{ until = "2019-11-13", reputation = 5 }, { until = "2010-03-01", reputation = 10 }]
        """
    )
    reward = policy.reward("kudos_on_topic")
    assert [r.until for r in reward.was] == ["2010-03-01", "2019-11-13"]
    assert [
        policy.reward("kudos_on_topic", d).reputation for d in ("2009-01-01", "2018-01-01")
    ] == [
        10,
        5,
    ]
    assert reward == Reward(
        reputation=10,
        was=[
            EarlierReward(until="2019-11-13", reputation=5),
            EarlierReward(until="2010-03-01", reputation=10),
        ],
    )
    with pytest.raises(InvalidPolicy, match="YYYY-MM-DD"):
        Policy.from_toml('[rewards.kudos_on_topic]\nwas = [{ until = "13/11/2019" }]')


# --- history and self-acceptance --------------------------------------------------------


def test_trusted_history_skips_privilege_checks_but_not_the_rules(store: Store) -> None:
    c, _ = site(store)
    (voter,) = crowd(c, 1)
    with pytest.raises(NotAllowed, match="needs 15 reputation"):
        c.record_many([KudosGiven(post="a", giver=voter)])
    c.record_many([KudosGiven(post="a", giver=voter)], trusted=True)
    with pytest.raises(NotAllowed, match="their own"):
        c.record_many([KudosGiven(post="a", giver="alice")], trusted=True)
    assert c.rebuild().events == 7  # the log replays without re-checking privileges
    assert_consistent(c)


def test_a_self_accepted_answer_earns_nothing_and_is_no_solution() -> None:
    c, _ = site()
    c.record(ReplyPosted(reply="own", topic="q", author="asker"))
    assert c.accept_solution("q", reply="own", by="mod").entries == ()
    assert c.standing("asker").counters.get("solutions", 0) == 0
    c.accept_solution("q", reply="a", by="mod")
    assert c.standing("alice").counters["solutions"] == 1
    c.unaccept_solution("q", by="mod")
    assert c.standing("alice").counters.get("solutions", 0) == 0
    assert_consistent(c)


# --- Stack Exchange's own facts ---------------------------------------------------------


def test_a_bounty_is_paid_at_once_and_goes_to_the_awarded_answer(store: Store) -> None:
    c, _ = site(store)
    c.adjust("asker", reputation=149, reason="earlier questions", by="mod")
    c.offer_bounty("b1", topic="q", by="asker", amount=50)
    assert reputation(c, "asker") == 150 - 50
    with pytest.raises(NotAllowed, match="cannot offer 500"):
        c.offer_bounty("b2", topic="q", by="asker", amount=500)
    with pytest.raises(NotAllowed, match="not a reply on 'q'"):
        c.award_bounty("b1", reply="q")
    c.award_bounty("b1", reply="a")
    assert reputation(c, "alice") == 1 + 50  # exempt from the daily cap
    with pytest.raises(NotAllowed, match="is awarded"):
        c.refund_bounty("b1", by="mod")
    assert_consistent(c)


def test_a_refunded_bounty_gives_the_offerer_back_what_they_paid() -> None:
    c, _ = site()
    c.adjust("asker", reputation=99, reason="earlier questions", by="mod")
    c.offer_bounty("b1", topic="q", by="asker", amount=100)
    c.refund_bounty("b1", by="mod", reason="question-deleted")
    assert reputation(c, "asker") == 100
    with pytest.raises(NotAllowed, match="is refunded"):
        c.award_bounty("b1", reply="a")
    assert_consistent(c)


def test_votes_on_a_community_wiki_post_earn_nothing_from_then_on(store: Store) -> None:
    c, clock = site(store)
    voters = crowd(c, 2)
    c.record_many([KudosGiven(post="a", giver=voters[0])], trusted=True)
    clock.advance(hours=1)
    c.make_wiki("a")
    assert c.post("a").wiki
    c.record_many([KudosGiven(post="a", giver=voters[1])], trusted=True)
    assert reputation(c, "alice") == 1 + 10  # the vote before it became wiki keeps its 10
    assert c.standing("alice").counters["kudos_received"] == 2
    assert_consistent(c)


def test_approved_edits_earn_two_up_to_a_thousand_in_a_lifetime() -> None:
    c, clock = site()
    for day in range(6):
        c.record_many(
            [
                kudos.events.SuggestedEditApproved(edit=f"e{day}-{i}", post="q", member="alice")
                for i in range(100)
            ]
        )
        clock.advance(days=1)
    # 200 a day at most (the daily cap), 1,000 in all
    assert reputation(c, "alice") == 1 + 1000
    assert_consistent(c)


def test_the_association_bonus_is_granted_once() -> None:
    c, _ = site()
    c.grant_association_bonus("alice")
    assert reputation(c, "alice") == 101
    with pytest.raises(NotAllowed, match="granted once"):
        c.grant_association_bonus("alice", event_id="again")
    assert_consistent(c)


def test_restoring_a_post_gives_back_exactly_what_its_removal_took(store: Store) -> None:
    c, _ = site(store)
    voters = crowd(c, 3)
    c.record_many([KudosGiven(post="a", giver=v) for v in voters], trusted=True)
    c.accept_solution("q", reply="a", by="asker")
    before = (reputation(c, "alice"), reputation(c, "asker"), c.standing("alice").counters)
    c.remove_post("a", by="mod", reason="spam")
    assert reputation(c, "alice") == 1  # 46 taken back, the -100 penalty absorbed by the floor
    restored = c.restore_post("a", by="mod")
    assert (reputation(c, "alice"), reputation(c, "asker"), c.standing("alice").counters) == before
    assert not c.post("a").removed
    assert sorted(e.amount for e in restored.entries) == [2, 10, 10, 10, 15]
    # Undoing an award of the restored post takes back what the restore gave.
    taken = c.withdraw_kudos("a", giver=voters[0])
    restored_ids = {e.entry_id for e in restored.entries}
    assert [(e.amount, e.reverses in restored_ids) for e in taken.entries] == [(-10, True)]
    assert reputation(c, "alice") == 1 + 20 + 15
    with pytest.raises(NotAllowed, match="is not removed"):
        c.restore_post("a", by="mod", event_id="restore-again")
    assert_consistent(c)


def test_a_restored_post_counts_under_its_own_days_cap_again(store: Store) -> None:
    c, _ = site(store)
    c.record(ReplyPosted(reply="a2", topic="q", author="alice"))
    voters = crowd(c, 21)
    c.record_many([KudosGiven(post="a", giver=v) for v in voters[:20]], trusted=True)
    c.record_many([KudosGiven(post="a2", giver=voters[20])], trusted=True)  # held back
    c.remove_post("a", by="mod")
    assert reputation(c, "alice") == 1 + 10  # a2's vote took up the room
    c.restore_post("a", by="mod")
    assert reputation(c, "alice") == 1 + 200  # 210 live: the cap holds 10 back
    c.withdraw_kudos("a2", giver=voters[20])
    assert reputation(c, "alice") == 1 + 200  # the held-back 10 is released
    c.withdraw_kudos("a", giver=voters[0])
    assert reputation(c, "alice") == 1 + 190
    assert_consistent(c)


def test_a_deleted_account_s_posts_stay_and_their_votes_award_nobody(store: Store) -> None:
    c, _ = site(store)
    voters = crowd(c, 2)
    c.record_many([KudosGiven(post="a", giver=voters[0])], trusted=True)
    c.delete_member("alice")
    c.record_many([KudosGiven(post="a", giver=voters[1])], trusted=True)
    c.record(ReplyPosted(reply="a2", topic="q", author="asker"))
    c.accept_solution("q", reply="a", by="asker")
    assert reputation(c, "alice") == 1 + 10  # earned before the deletion; nothing after
    assert reputation(c, "asker") == 1 + 2  # accepting still earns the asker
    assert c.standing("alice").counters["kudos_received"] == 2
    with pytest.raises(NotAllowed, match="already deleted"):
        c.delete_member("alice", event_id="again")
    assert_consistent(c)


def test_an_award_undone_while_its_post_was_removed_does_not_come_back(store: Store) -> None:
    c, _ = site(store)
    c.accept_solution("q", reply="a", by="asker")
    c.remove_post("a", by="mod")
    c.unaccept_solution("q", by="asker")  # while the answer is removed
    c.restore_post("a", by="mod")
    assert (reputation(c, "alice"), reputation(c, "asker")) == (1, 1)
    assert c.standing("alice").counters.get("solutions", 0) == 0
    assert_consistent(c)


def test_bounties_wiki_and_edits_dated_before_what_they_refer_to_are_refused(
    store: Store,
) -> None:
    """A bounty before its topic, its award or refund before the offer, a wiki or an edit
    before the post: InvalidInput naming both times, nothing written; imports not checked."""
    c, clock = site(store)
    c.adjust("asker", reputation=149, reason="earlier questions", by="mod")
    posted = clock()
    before_post = posted - timedelta(hours=1)
    for refused in (
        lambda: c.offer_bounty("b0", topic="q", by="asker", amount=50, at=before_post),
        lambda: c.make_wiki("a", at=before_post),
        lambda: c.approve_edit("e1", post="a", member="alice", at=before_post),
    ):
        with assert_unchanged(c), pytest.raises(InvalidInput, match=r"before (topic|reply)"):
            refused()
    clock.advance(hours=2)
    offered = clock()
    c.offer_bounty("b1", topic="q", by="asker", amount=50)
    between = offered - timedelta(minutes=30)  # after the posts, before the offer
    shown = (
        rf"{re.escape(between.isoformat())}, before it was offered "
        rf"\({re.escape(offered.isoformat())}\)"
    )
    for refused in (
        lambda: c.award_bounty("b1", reply="a", at=between),
        lambda: c.refund_bounty("b1", by="mod", reason="question-deleted", at=between),
    ):
        with assert_unchanged(c), pytest.raises(InvalidInput, match=shown):
            refused()
    c.award_bounty("b1", reply="a", at=offered)
    assert reputation(c, "alice") == 1 + 50
    c.record_many(  # trusted history is not checked
        [BountyOffered(bounty="b2", topic="q", by="asker", amount=10, at=before_post)],
        trusted=True,
    )
    c.make_wiki("a", at=posted)
    assert_consistent(c)
