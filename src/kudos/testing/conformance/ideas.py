"""Conformance tests: ideas (votes, budgets, the status workflow, duplicates, rewards, boards)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from ...community import Community
from ...errors import Conflict, InvalidInput, NotAllowed, UnknownMember, UnknownPost, UnknownRecord
from ...events import IdeaVoted
from ...ideas.rules import DEFAULT_TRANSITIONS, IdeaRules
from ...policies import giffgaff
from ...policy import Policy, Reward
from ...recognition.rules import Privilege, Recognition
from .. import FakeClock, assert_consistent
from ._base import ConformanceBase

MakeCommunity = Callable[..., Community]

REWARDS = {
    "idea_vote_received": Reward(points=2, reputation=1),
    "idea_milestone": Reward(points=50, reputation=5),
    "idea_planned": Reward(points=100, reputation=10),
    "idea_implemented": Reward(points=500, reputation=50),
}

# How to reach each status of the default workflow from "new".
PATHS: dict[str, tuple[str, ...]] = {
    "new": (),
    "under_review": ("under_review",),
    "planned": ("planned",),
    "in_progress": ("planned", "in_progress"),
    "implemented": ("planned", "implemented"),
    "declined": ("declined",),
    "duplicate": ("duplicate",),
}
PAIRS = [(a, b) for a in DEFAULT_TRANSITIONS for b in DEFAULT_TRANSITIONS if a != b]


def _policy(**rules: Any) -> Policy:
    """giffgaff with every idea action rewarded (votes 2 points and 1 reputation, a
    milestone 50/5, planned 100/10, implemented 500/50) and an ideas section of ``rules``."""
    base = giffgaff()
    return base.evolve(rewards={**base.rewards, **REWARDS}, ideas=IdeaRules(**rules))


def _start(c: Community, *ideas: str, voters: int = 5) -> None:
    """Staff, a moderator, the author ``ann``, voters ``v1``..``vN`` and ``ideas`` by ann."""
    c.join("staff1", role="staff")
    c.join("mod1", role="moderator")
    c.join("ann")
    for n in range(1, voters + 1):
        c.join(f"v{n}")
    for idea in ideas:
        c.post_topic(idea, author="ann", kind="idea", title=f"idea {idea}")


def _move(c: Community, idea: str, *statuses: str, by: str = "staff1") -> None:
    for status in statuses:
        c.set_idea_status(
            idea, status, by=by, duplicate_of="canon" if status == "duplicate" else None
        )


def _points(c: Community, member: str) -> int:
    return c.standing(member).lifetime_points


def _notes(c: Community, kind: str, member: str | None = None) -> list[dict[str, Any]]:
    return [
        {"member": n.member, **n.data}
        for n in c.notifications(limit=None, member=member)
        if n.kind == kind
    ]


def _consistent_votes(c: Community, *ideas: str) -> None:
    """Every idea's vote counter equals its active vote documents."""
    for idea in ideas:
        assert c.idea(idea).votes == len(c.idea_voters(idea))


class IdeaConformance(ConformanceBase):
    """What every store must do for ideas."""

    # -- voting ----------------------------------------------------------------------------
    def test_a_vote_counts_on_the_idea_and_rewards_its_author(
        self, make_community: MakeCommunity
    ) -> None:
        c = make_community(_policy())
        _start(c, "i1")
        outcome = c.vote_idea("i1", voter="v1")
        assert outcome.event_id == "idea-voted:i1:v1"
        assert (outcome.total("ann"), outcome.total("ann", "reputation")) == (2, 1)
        assert {e.subject for e in outcome.entries} == {"i1"}
        assert c.idea("i1").votes == 1
        assert [v.voter for v in c.idea_voters("i1")] == ["v1"]
        assert c.standing("v1").counters["idea_votes_cast"] == 1
        assert_consistent(c)

    def test_one_vote_per_member_per_idea(self, make_community: MakeCommunity) -> None:
        c = make_community(_policy())
        _start(c, "i1")
        first = c.vote_idea("i1", voter="v1")
        # The same fact again is a replay of the first outcome...
        assert c.vote_idea("i1", voter="v1").replayed
        # ...and a second vote under another id is refused.
        with pytest.raises(NotAllowed, match="already voted on idea 'i1'"):
            c.vote_idea("i1", voter="v1", event_id="host-vote-2")
        assert c.idea("i1").votes == 1
        assert _points(c, "ann") == first.total("ann")
        assert_consistent(c)

    def test_members_cannot_vote_on_their_own_idea(self, make_community: MakeCommunity) -> None:
        c = make_community(_policy())
        _start(c, "i1")
        with pytest.raises(NotAllowed, match="cannot vote on their own idea 'i1'"):
            c.vote_idea("i1", voter="ann")
        assert c.idea("i1").votes == 0

    def test_only_live_idea_topics_take_votes(self, make_community: MakeCommunity) -> None:
        c = make_community(_policy())
        _start(c, "i1")
        c.post_topic("q1", author="ann", kind="question", title="No data abroad")
        with pytest.raises(NotAllowed, match="'q1' is a question, not an idea"):
            c.vote_idea("q1", voter="v1")
        with pytest.raises(UnknownPost):
            c.vote_idea("nope", voter="v1")
        with pytest.raises(UnknownMember):
            c.vote_idea("i1", voter="stranger")
        c.remove_post("i1", by="mod1")
        with pytest.raises(NotAllowed, match="idea 'i1' was removed"):
            c.vote_idea("i1", voter="v1")
        assert_consistent(c)

    def test_voting_needs_the_vote_ideas_privilege_where_the_policy_has_one(
        self, make_community: MakeCommunity
    ) -> None:
        gated = Recognition(
            privileges=[
                Privilege(name="vote_ideas", requires={"reputation": 15}, description="vote")
            ]
        )
        c = make_community(_policy().evolve(recognition=gated))
        _start(c, "i1")
        with pytest.raises(NotAllowed, match="15 reputation"):
            c.vote_idea("i1", voter="v1")
        c.adjust("v1", reputation=15, reason="welcome", by="staff1")
        c.vote_idea("i1", voter="v1")
        assert c.idea("i1").votes == 1
        assert_consistent(c)

    def test_without_a_recognition_rule_any_member_may_vote(
        self, make_community: MakeCommunity
    ) -> None:
        c = make_community(_policy().evolve(recognition=Recognition()))
        _start(c, "i1")
        c.vote_idea("i1", voter="v1")
        assert c.idea("i1").votes == 1

    def test_a_withdrawn_vote_takes_back_exactly_what_it_earned(
        self, make_community: MakeCommunity
    ) -> None:
        c = make_community(_policy())
        _start(c, "i1")
        c.vote_idea("i1", voter="v1")
        c.vote_idea("i1", voter="v2")
        outcome = c.withdraw_vote("i1", voter="v1")
        assert outcome.event_id == "idea-vote-withdrawn:i1:v1"
        assert (outcome.total("ann"), outcome.total("ann", "reputation")) == (-2, -1)
        assert all(e.reverses is not None for e in outcome.entries)
        assert c.idea("i1").votes == 1
        assert "idea_votes_cast" not in c.standing("v1").counters
        with pytest.raises(NotAllowed, match="has no vote on idea 'i1' to withdraw"):
            c.withdraw_vote("i1", voter="v3")
        _consistent_votes(c, "i1")
        assert_consistent(c)

    def test_voting_again_after_withdrawing_is_a_new_fact(
        self, make_community: MakeCommunity
    ) -> None:
        c = make_community(_policy())
        _start(c, "i1")
        ids = [
            c.vote_idea("i1", voter="v1").event_id,
            c.withdraw_vote("i1", voter="v1").event_id,
            c.vote_idea("i1", voter="v1").event_id,
            c.withdraw_vote("i1", voter="v1").event_id,
        ]
        assert ids == [
            "idea-voted:i1:v1",
            "idea-vote-withdrawn:i1:v1",
            "idea-voted:i1:v1#2",
            "idea-vote-withdrawn:i1:v1#2",
        ]
        assert c.withdraw_vote("i1", voter="v1").replayed
        assert _points(c, "ann") == 0
        assert_consistent(c)

    def test_a_reused_vote_id_with_other_content_is_a_conflict(
        self, make_community: MakeCommunity
    ) -> None:
        c = make_community(_policy())
        _start(c, "i1", "i2")
        c.record(IdeaVoted(idea="i1", voter="v1", event_id="host-1"))
        with pytest.raises(Conflict):
            c.record(IdeaVoted(idea="i2", voter="v1", event_id="host-1"))

    def test_votes_on_a_closed_idea_are_final(self, make_community: MakeCommunity) -> None:
        c = make_community(_policy())
        _start(c, "i1")
        c.vote_idea("i1", voter="v1")
        _move(c, "i1", "declined")
        with pytest.raises(NotAllowed, match="is declined, so it takes no more votes"):
            c.vote_idea("i1", voter="v2")
        with pytest.raises(NotAllowed, match="its votes are final"):
            c.withdraw_vote("i1", voter="v1")
        _move(c, "i1", "under_review")
        c.withdraw_vote("i1", voter="v1")
        assert c.idea("i1").votes == 0
        assert_consistent(c)

    # -- budgets -----------------------------------------------------------------------------
    def test_a_budget_limits_open_votes_and_says_how_to_free_one(
        self, make_community: MakeCommunity
    ) -> None:
        c = make_community(_policy(vote_budget=2))
        _start(c, "i1", "i2", "i3")
        assert c.standing("v1").votes_left == 2
        c.vote_idea("i1", voter="v1")
        c.vote_idea("i2", voter="v1")
        assert c.standing("v1").votes_left == 0
        with pytest.raises(NotAllowed) as refused:
            c.vote_idea("i3", voter="v1")
        message = str(refused.value)
        assert "has 2 open idea votes and a budget of 2" in message
        assert "withdraw" in message and "member_votes('v1')" in message
        c.withdraw_vote("i1", voter="v1")
        assert c.standing("v1").votes_left == 1
        c.vote_idea("i3", voter="v1")
        assert [v.idea for v in c.member_votes("v1")] == ["i2", "i3"]
        assert_consistent(c)

    def test_without_a_budget_votes_left_is_none(self, make_community: MakeCommunity) -> None:
        c = make_community(_policy())
        _start(c, *(f"i{n}" for n in range(1, 13)))
        for n in range(1, 13):
            c.vote_idea(f"i{n}", voter="v1")
        assert c.standing("v1").votes_left is None

    def test_the_budget_follows_the_members_rank(self, make_community: MakeCommunity) -> None:
        # giffgaff's ladder: Bronze Star at 50 reputation.
        c = make_community(_policy(vote_budget=1, budget_by_rank={"Bronze Star": 3}))
        _start(c, "i1", "i2", "i3", "i4")
        c.vote_idea("i1", voter="v1")
        with pytest.raises(NotAllowed, match="budget of 1"):
            c.vote_idea("i2", voter="v1")
        c.adjust("v1", reputation=50, reason="helpful", by="staff1")
        assert c.standing("v1").rank == "Bronze Star"
        assert c.standing("v1").votes_left == 2
        c.vote_idea("i2", voter="v1")
        c.vote_idea("i3", voter="v1")
        with pytest.raises(NotAllowed, match="budget of 3"):
            c.vote_idea("i4", voter="v1")
        assert_consistent(c)

    @pytest.mark.parametrize("closing", ["implemented", "declined", "duplicate"])
    def test_closing_an_idea_gives_its_votes_back(
        self, make_community: MakeCommunity, closing: str
    ) -> None:
        c = make_community(_policy(vote_budget=2))
        _start(c, "canon", "i1", "i2")
        c.vote_idea("i1", voter="v1")
        c.vote_idea("i2", voter="v1")
        assert c.standing("v1").votes_left == 0
        _move(c, "i1", *PATHS[closing])
        assert c.standing("v1").votes_left == (0 if closing == "duplicate" else 1)
        # A duplicate's vote moved to the open canonical idea, where it counts.
        held = {v.idea: v.counts_against_budget for v in c.member_votes("v1")}
        if closing == "duplicate":
            assert held == {"canon": True, "i2": True}
        else:
            assert held == {"i1": False, "i2": True}
            c.vote_idea("canon", voter="v1")
        assert c.standing("v1").votes_left == 0
        assert_consistent(c)

    def test_reopening_an_idea_takes_its_votes_again_even_past_the_budget(
        self, make_community: MakeCommunity
    ) -> None:
        c = make_community(_policy(vote_budget=2))
        _start(c, "i1", "i2", "i3", "i4")
        c.vote_idea("i1", voter="v1")
        c.vote_idea("i2", voter="v1")
        _move(c, "i1", "declined")
        c.vote_idea("i3", voter="v1")
        _move(c, "i1", "under_review")
        assert len([v for v in c.member_votes("v1") if v.counts_against_budget]) == 3
        assert c.standing("v1").votes_left == 0
        with pytest.raises(NotAllowed, match="has 3 open idea votes and a budget of 2"):
            c.vote_idea("i4", voter="v1")
        c.withdraw_vote("i2", voter="v1")
        with pytest.raises(NotAllowed, match="has 2 open idea votes"):
            c.vote_idea("i4", voter="v1")
        c.withdraw_vote("i3", voter="v1")
        c.vote_idea("i4", voter="v1")
        assert_consistent(c)

    # -- the workflow -------------------------------------------------------------------------
    @pytest.mark.parametrize(("current", "new"), PAIRS)
    def test_every_transition_of_the_default_workflow(
        self, make_community: MakeCommunity, current: str, new: str
    ) -> None:
        c = make_community(_policy(vote_budget=3))
        _start(c, "canon", "i1")
        c.vote_idea("i1", voter="v1")
        _move(c, "i1", *PATHS[current])
        if new in DEFAULT_TRANSITIONS[current]:
            _move(c, "i1", new)
            idea = c.idea("i1")
            assert idea.status == new
            assert idea.history[-1].status == new
            assert idea.open == (new not in ("implemented", "declined", "duplicate"))
        else:
            allowed = ", ".join(DEFAULT_TRANSITIONS[current]) or "nowhere: it is final"
            with pytest.raises(NotAllowed) as refused:
                _move(c, "i1", new)
            assert str(refused.value) == (
                f"idea 'i1' cannot go from {current} to {new}; "
                f"from {current} it may go to {allowed}"
            )
            assert c.idea("i1").status == current
        _consistent_votes(c, "i1", "canon")
        assert_consistent(c)

    def test_only_staff_and_moderators_change_an_ideas_status(
        self, make_community: MakeCommunity
    ) -> None:
        c = make_community(_policy())
        _start(c, "i1")
        with pytest.raises(NotAllowed, match="only staff and moderators can"):
            c.set_idea_status("i1", "planned", by="ann")
        c.set_idea_status("i1", "under_review", by="mod1")
        c.set_idea_status("i1", "planned", by="staff1")
        assert [h.by for h in c.idea("i1").history] == ["ann", "mod1", "staff1"]

    def test_unknown_statuses_and_stray_duplicate_of_are_refused(
        self, make_community: MakeCommunity
    ) -> None:
        c = make_community(_policy())
        _start(c, "i1", "i2")
        with pytest.raises(InvalidInput, match="unknown idea status 'shipped'"):
            c.set_idea_status("i1", "shipped", by="staff1")
        with pytest.raises(InvalidInput, match="needs duplicate_of="):
            c.set_idea_status("i1", "duplicate", by="staff1")
        with pytest.raises(InvalidInput, match="goes only with status 'duplicate'"):
            c.set_idea_status("i1", "planned", by="staff1", duplicate_of="i2")
        with pytest.raises(NotAllowed, match="already new"):
            c.set_idea_status("i1", "new", by="staff1", event_id="host-1")
        assert c.idea("i1").status == "new"

    def test_the_history_keeps_who_when_and_why(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = make_community(_policy())
        _start(c, "i1")
        posted = clock()
        clock.advance(days=3)
        c.set_idea_status("i1", "under_review", by="mod1", note="asking the network team")
        clock.advance(days=10)
        c.set_idea_status("i1", "planned", by="staff1", note="due in Q2")
        history = c.idea("i1").history
        assert [(h.status, h.by, h.note, h.at) for h in history] == [
            ("new", "ann", "", posted),
            ("under_review", "mod1", "asking the network team", posted + timedelta(days=3)),
            ("planned", "staff1", "due in Q2", posted + timedelta(days=13)),
        ]
        assert history[2].event_id == "idea-status-set:i1:planned"
        assert_consistent(c)

    def test_returning_to_a_status_is_a_new_fact_and_a_retry_is_a_replay(
        self, make_community: MakeCommunity
    ) -> None:
        c = make_community(_policy())
        _start(c, "i1")
        ids = [
            c.set_idea_status("i1", s, by="staff1").event_id
            for s in ("under_review", "declined", "under_review", "new")
        ]
        assert ids == [
            "idea-status-set:i1:under_review",
            "idea-status-set:i1:declined",
            "idea-status-set:i1:under_review#2",
            "idea-status-set:i1:new#2",
        ]
        assert c.set_idea_status("i1", "new", by="staff1").replayed
        with pytest.raises(Conflict):
            c.set_idea_status("i1", "new", by="staff1", note="changed my mind")
        assert [h.status for h in c.idea("i1").history] == [
            "new",
            "under_review",
            "declined",
            "under_review",
            "new",
        ]
        assert_consistent(c)

    def test_a_status_change_tells_the_author_and_every_voter(
        self, make_community: MakeCommunity
    ) -> None:
        c = make_community(_policy())
        _start(c, "i1")
        c.vote_idea("i1", voter="v1")
        c.vote_idea("i1", voter="v2")
        c.vote_idea("i1", voter="staff1")
        c.set_idea_status("i1", "planned", by="staff1", note="coming soon")
        notes = _notes(c, "idea_status_changed")
        assert sorted(n["member"] for n in notes) == ["ann", "v1", "v2"]
        assert notes[0] == {
            "member": notes[0]["member"],
            "idea": "i1",
            "title": "idea i1",
            "status": "planned",
            "previous": "new",
            "by": "staff1",
            "note": "coming soon",
            "duplicate_of": None,
        }

    def test_a_custom_workflow_from_policy_data(self, make_community: MakeCommunity) -> None:
        flow = {
            "new": ["needs_info", "declined"],
            "needs_info": ["new", "on_hold"],
            "on_hold": ["new"],
            "declined": [],
        }
        c = make_community(_policy(transitions=flow, closed=("declined", "on_hold"), vote_budget=1))
        _start(c, "i1", "i2")
        c.vote_idea("i1", voter="v1")
        with pytest.raises(NotAllowed, match="may go to declined, needs_info"):
            c.set_idea_status("i1", "on_hold", by="staff1")
        c.set_idea_status("i1", "needs_info", by="staff1")
        assert c.standing("v1").votes_left == 0
        c.set_idea_status("i1", "on_hold", by="staff1")
        assert c.standing("v1").votes_left == 1
        c.vote_idea("i2", voter="v1")
        assert_consistent(c)

    # -- duplicates -----------------------------------------------------------------------------
    def test_a_duplicate_merges_its_voters_into_the_canonical_idea_once(
        self, make_community: MakeCommunity
    ) -> None:
        c = make_community(_policy())
        _start(c, "canon")
        c.post_topic("dup", author="v5", kind="idea", title="the same idea")
        for voter in ("v1", "v2"):
            c.vote_idea("canon", voter=voter)
        for voter in ("v2", "v3", "ann"):
            c.vote_idea("dup", voter=voter)
        c.set_idea_status("dup", "duplicate", by="staff1", duplicate_of="canon")
        canon, dup = c.idea("canon"), c.idea("dup")
        # v2 voted on both and keeps one vote; ann authored canon, so her vote stays behind.
        assert sorted(v.voter for v in c.idea_voters("canon")) == ["v1", "v2", "v3"]
        assert canon.votes == 3 and canon.duplicates == ("dup",)
        assert (dup.votes, dup.status, dup.duplicate_of, dup.open) == (
            0,
            "duplicate",
            "canon",
            False,
        )
        moved = {v.voter: v.merged_from for v in c.idea_voters("canon")}
        assert moved == {"v1": None, "v2": None, "v3": "dup"}
        # The duplicate's author keeps what its votes earned.
        assert _points(c, "v5") == 3 * 2
        with pytest.raises(NotAllowed, match="vote on 'canon' instead"):
            c.vote_idea("dup", voter="v4")
        with pytest.raises(NotAllowed, match="withdraw the vote from 'canon'"):
            c.withdraw_vote("dup", voter="v3")
        _consistent_votes(c, "canon", "dup")
        assert_consistent(c)

    def test_withdrawing_a_merged_vote_takes_back_what_it_earned_the_duplicates_author(
        self, make_community: MakeCommunity
    ) -> None:
        c = make_community(_policy())
        _start(c, "canon")
        c.post_topic("dup", author="v5", kind="idea")
        c.vote_idea("dup", voter="v1")
        c.set_idea_status("dup", "duplicate", by="staff1", duplicate_of="canon")
        assert _points(c, "v5") == 2
        c.withdraw_vote("canon", voter="v1")
        assert _points(c, "v5") == 0
        assert c.idea("canon").votes == 0
        assert_consistent(c)

    def test_a_duplicates_author_becomes_a_co_author_sharing_the_bonuses(
        self, make_community: MakeCommunity
    ) -> None:
        c = make_community(_policy(co_author_share=50))
        _start(c, "canon")
        c.post_topic("dup", author="v5", kind="idea")
        c.set_idea_status("dup", "duplicate", by="staff1", duplicate_of="canon")
        assert c.idea("canon").co_authors == ("v5",)
        with pytest.raises(NotAllowed, match="they are its co-author"):
            c.vote_idea("canon", voter="v5")
        _move(c, "canon", "planned", "implemented")
        assert (_points(c, "ann"), _points(c, "v5")) == (600, 300)
        assert c.standing("v5").reputation == 30
        assert c.standing("v5").counters["ideas_implemented"] == 1
        assert c.standing("ann").counters["ideas_implemented"] == 1
        assert_consistent(c)

    def test_a_duplicate_of_an_implemented_idea_pays_the_new_co_author_its_share(
        self, make_community: MakeCommunity
    ) -> None:
        # Khoros's "Already Exists": the idea was done before its duplicate was found.
        c = make_community(_policy())
        _start(c, "canon")
        _move(c, "canon", "planned", "implemented")
        c.post_topic("dup", author="v5", kind="idea")
        c.set_idea_status("dup", "duplicate", by="staff1", duplicate_of="canon")
        assert _points(c, "v5") == 600
        assert c.standing("v5").counters["ideas_implemented"] == 1
        assert_consistent(c)

    def test_no_co_author_credit_when_the_policy_says_so(
        self, make_community: MakeCommunity
    ) -> None:
        c = make_community(_policy(credit_duplicate_authors=False))
        _start(c, "canon")
        c.post_topic("dup", author="v5", kind="idea")
        c.set_idea_status("dup", "duplicate", by="staff1", duplicate_of="canon")
        _move(c, "canon", "planned", "implemented")
        assert c.idea("canon").co_authors == ()
        assert _points(c, "v5") == 0

    def test_a_duplicate_needs_a_live_canonical_idea(self, make_community: MakeCommunity) -> None:
        c = make_community(_policy())
        _start(c, "canon", "i1", "i2", "gone")
        c.post_topic("q1", author="ann", kind="question")
        c.remove_post("gone", by="mod1")
        with pytest.raises(NotAllowed, match="cannot be a duplicate of itself"):
            c.set_idea_status("i1", "duplicate", by="staff1", duplicate_of="i1")
        with pytest.raises(NotAllowed, match="is a question, not an idea"):
            c.set_idea_status("i1", "duplicate", by="staff1", duplicate_of="q1")
        with pytest.raises(NotAllowed, match="'gone' was removed"):
            c.set_idea_status("i1", "duplicate", by="staff1", duplicate_of="gone")
        c.set_idea_status("i2", "duplicate", by="staff1", duplicate_of="canon")
        with pytest.raises(NotAllowed, match="mark 'i1' a duplicate of 'canon' instead"):
            c.set_idea_status("i1", "duplicate", by="staff1", duplicate_of="i2")
        assert c.idea("i1").status == "new"

    def test_a_duplicates_own_co_authors_follow_it(self, make_community: MakeCommunity) -> None:
        c = make_community(_policy())
        _start(c, "canon")
        c.post_topic("mid", author="v4", kind="idea")
        c.post_topic("late", author="v5", kind="idea")
        c.set_idea_status("late", "duplicate", by="staff1", duplicate_of="mid")
        c.set_idea_status("mid", "duplicate", by="staff1", duplicate_of="canon")
        assert c.idea("canon").co_authors == ("v4", "v5")
        assert_consistent(c)

    def test_removing_a_duplicate_takes_back_its_authors_co_author_credit(
        self, make_community: MakeCommunity
    ) -> None:
        c = make_community(_policy())
        _start(c, "canon")
        c.post_topic("dup", author="v5", kind="idea")
        c.vote_idea("dup", voter="v1")
        c.set_idea_status("dup", "duplicate", by="staff1", duplicate_of="canon")
        _move(c, "canon", "planned", "implemented")
        assert _points(c, "v5") == 2 + 600
        c.remove_post("dup", by="mod1", reason="spam")
        assert _points(c, "v5") == 0
        assert c.idea("canon").co_authors == ()
        assert "ideas_implemented" not in c.standing("v5").counters
        assert _points(c, "ann") == 600
        # The voters' wish stays: v1's vote remains on the canonical idea.
        assert [v.voter for v in c.idea_voters("canon")] == ["v1"]
        assert_consistent(c)

    # -- rewards ----------------------------------------------------------------------------------
    def test_votes_earn_the_author_up_to_the_cap_and_a_withdrawal_makes_room(
        self, make_community: MakeCommunity
    ) -> None:
        c = make_community(_policy(max_rewarded_votes=2))
        _start(c, "i1")
        totals = [c.vote_idea("i1", voter=f"v{n}").total("ann") for n in (1, 2, 3)]
        assert totals == [2, 2, 0]
        c.withdraw_vote("i1", voter="v3")  # earned nothing, takes nothing back
        assert _points(c, "ann") == 4
        c.withdraw_vote("i1", voter="v1")
        assert _points(c, "ann") == 2
        assert c.vote_idea("i1", voter="v4").total("ann") == 2
        assert_consistent(c)

    def test_a_milestone_pays_while_it_holds_and_is_announced_once(
        self, make_community: MakeCommunity
    ) -> None:
        c = make_community(_policy(milestones=(2, 4)))
        _start(c, "i1")
        c.vote_idea("i1", voter="v1")
        assert c.vote_idea("i1", voter="v2").total("ann") == 2 + 50
        assert _notes(c, "idea_milestone") == [
            {"member": "ann", "idea": "i1", "title": "idea i1", "votes": 2}
        ]
        assert c.withdraw_vote("i1", voter="v2").total("ann") == -2 - 50
        assert c.vote_idea("i1", voter="v3").total("ann") == 2 + 50
        assert len(_notes(c, "idea_milestone")) == 1
        assert_consistent(c)

    def test_planned_and_implemented_bonuses_are_paid_once(
        self, make_community: MakeCommunity
    ) -> None:
        c = make_community(_policy())
        _start(c, "i1")
        assert c.set_idea_status("i1", "planned", by="staff1").total("ann") == 100
        assert c.set_idea_status("i1", "under_review", by="staff1").total("ann") == 0
        assert c.set_idea_status("i1", "planned", by="staff1").total("ann") == 0
        assert c.set_idea_status("i1", "in_progress", by="staff1").total("ann") == 0
        assert c.set_idea_status("i1", "implemented", by="staff1").total("ann") == 500
        standing = c.standing("ann")
        assert (standing.lifetime_points, standing.reputation) == (600, 60)
        assert standing.counters["ideas_implemented"] == 1
        assert "Idea Maker" in standing.badges
        assert_consistent(c)

    def test_an_idea_implemented_without_being_planned_earns_both_bonuses(
        self, make_community: MakeCommunity
    ) -> None:
        policy = _policy(
            transitions={"new": ["implemented"], "implemented": []}, closed=("implemented",)
        )
        c = make_community(policy)
        _start(c, "i1")
        assert c.set_idea_status("i1", "implemented", by="staff1").total("ann") == 600

    def test_declining_a_planned_idea_takes_back_the_planned_bonus(
        self, make_community: MakeCommunity
    ) -> None:
        c = make_community(_policy())
        _start(c, "i1")
        _move(c, "i1", "planned", "in_progress")
        outcome = c.set_idea_status("i1", "declined", by="staff1", note="not feasible")
        assert outcome.total("ann") == -100 and outcome.total("ann", "reputation") == -10
        assert _points(c, "ann") == 0
        _move(c, "i1", "under_review", "planned")
        assert _points(c, "ann") == 100
        assert_consistent(c)

    def test_staff_ideas_earn_nothing_but_count(self, make_community: MakeCommunity) -> None:
        c = make_community(_policy())
        _start(c)
        c.post_topic("i1", author="staff1", kind="idea")
        c.vote_idea("i1", voter="v1")
        _move(c, "i1", "planned", "implemented")
        assert _points(c, "staff1") == 0
        assert c.idea("i1").votes == 1

    def test_removing_an_idea_reverses_everything_and_releases_its_votes(
        self, make_community: MakeCommunity
    ) -> None:
        c = make_community(_policy(vote_budget=1, milestones=(2,)))
        _start(c, "i1", "i2")
        c.vote_idea("i1", voter="v1")
        c.vote_idea("i1", voter="v2")
        _move(c, "i1", "planned")
        c.vote_idea("i1", voter="v3")
        _move(c, "i1", "implemented")
        assert _points(c, "ann") == 3 * 2 + 50 + 100 + 500
        assert c.standing("v3").votes_left == 1
        c.remove_post("i1", by="mod1")
        assert _points(c, "ann") == 0
        assert c.standing("ann").reputation == 0
        assert "ideas_implemented" not in c.standing("ann").counters
        idea = c.idea("i1")
        assert (idea.removed, idea.votes, idea.open) == (True, 0, False)
        assert c.idea_voters("i1") == []
        assert c.member_votes("v1") == []
        assert c.standing("v1").votes_left == 1
        assert c.standing("v1").counters["idea_votes_cast"] == 1
        c.vote_idea("i2", voter="v1")
        assert [i.id for i in c.idea_board()] == ["i2"]
        with pytest.raises(NotAllowed, match="was removed"):
            c.withdraw_vote("i1", voter="v2")
        assert_consistent(c)

    # -- the board -------------------------------------------------------------------------------
    def test_the_board_ranks_by_votes_then_lists_ideas_without_votes_newest_first(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = make_community(_policy())
        _start(c)
        for idea in ("a", "b", "c", "d", "e"):
            c.post_topic(idea, author="ann", kind="idea")
            clock.advance(hours=1)
        for idea, votes in (("b", 3), ("d", 1), ("a", 1)):
            for n in range(1, votes + 1):
                c.vote_idea(idea, voter=f"v{n}")
        board = c.idea_board()
        assert [(i.id, i.votes) for i in board] == [
            ("b", 3),
            ("a", 1),
            ("d", 1),
            ("e", 0),
            ("c", 0),
        ]
        assert [i.id for i in c.idea_board(limit=2)] == ["b", "a"]
        assert [i.id for i in c.idea_board(limit=2, offset=2)] == ["d", "e"]
        assert [i.id for i in c.idea_board(limit=2, offset=4)] == ["c"]
        assert c.idea_board(offset=5) == []

    def test_the_board_filters_by_status_tag_and_product(
        self, make_community: MakeCommunity
    ) -> None:
        c = make_community(_policy())
        _start(c)
        c.post_topic("a", author="ann", kind="idea", tags=["roaming"], product="esim")
        c.post_topic("b", author="ann", kind="idea", tags=["roaming"])
        c.post_topic("c", author="ann", kind="idea", product="esim")
        c.post_topic("q", author="ann", kind="question", tags=["roaming"])
        for idea, votes in (("a", 1), ("b", 2), ("c", 3)):
            for n in range(1, votes + 1):
                c.vote_idea(idea, voter=f"v{n}")
        _move(c, "c", "planned")

        def ids(**filters: Any) -> list[str]:
            return [i.id for i in c.idea_board(**filters)]

        assert ids() == ["c", "b", "a"]
        assert ids(tag="roaming") == ["b", "a"]
        assert ids(product="esim") == ["c", "a"]
        assert ids(tag="roaming", product="esim") == ["a"]
        assert ids(status="planned") == ["c"]
        assert ids(status="new") == ["b", "a"]
        assert ids(status=("new", "planned")) == ["c", "b", "a"]
        assert ids(status=c.policy.ideas.open_statuses, product="esim") == ["c", "a"]
        assert ids(status="planned", tag="roaming") == []
        assert ids(status="declined") == []
        with pytest.raises(InvalidInput, match="unknown idea status 'shipped'"):
            c.idea_board(status="shipped")
        with pytest.raises(InvalidInput, match="'votes' or 'trend'"):
            c.idea_board(by="hot")
        with pytest.raises(InvalidInput, match="limit"):
            c.idea_board(limit=0)
        assert_consistent(c)

    def test_the_trend_board_counts_votes_of_the_window_still_standing(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = make_community(_policy(trend_days=7))
        _start(c, "old", "new", "quiet", voters=6)
        for n in range(1, 6):
            c.vote_idea("old", voter=f"v{n}")
        clock.advance(days=6)
        c.vote_idea("new", voter="v1")
        c.vote_idea("new", voter="v2")
        trend = c.idea_board(by="trend")
        assert [(i.id, i.recent_votes, i.votes) for i in trend] == [("old", 5, 5), ("new", 2, 2)]
        clock.advance(days=1)  # the first day has left the window
        assert [(i.id, i.recent_votes) for i in c.idea_board(by="trend")] == [("new", 2)]
        c.withdraw_vote("new", voter="v2")
        c.vote_idea("quiet", voter="v6")
        c.vote_idea("old", voter="v6")
        assert [(i.id, i.recent_votes) for i in c.idea_board(by="trend")] == [
            ("old", 1),
            ("new", 1),
            ("quiet", 1),
        ]
        assert [i.id for i in c.idea_board(by="trend", status="new", limit=1, offset=1)] == ["new"]
        assert_consistent(c)

    def test_voters_and_votes_are_listed_in_the_order_cast(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = make_community(_policy())
        _start(c, "i1", "i2")
        c.vote_idea("i2", voter="v2")
        clock.advance(minutes=1)
        c.vote_idea("i1", voter="v2")
        clock.advance(minutes=1)
        c.vote_idea("i1", voter="v1")
        assert [v.voter for v in c.idea_voters("i1")] == ["v2", "v1"]
        assert [v.voter for v in c.idea_voters("i1", limit=1)] == ["v2"]
        _move(c, "i2", "declined")
        assert [(v.idea, v.counts_against_budget) for v in c.member_votes("v2")] == [
            ("i1", True),
            ("i2", False),
        ]
        with pytest.raises(UnknownMember):
            c.member_votes("stranger")

    def test_asking_for_an_idea_that_is_not_one(self, make_community: MakeCommunity) -> None:
        c = make_community(_policy())
        _start(c)
        c.post_topic("q1", author="ann", kind="question")
        with pytest.raises(UnknownRecord, match="'q1' is a question, not an idea"):
            c.idea("q1")
        with pytest.raises(UnknownRecord):
            c.idea_voters("q1")
        with pytest.raises(UnknownPost):
            c.idea("nope")

    def test_rebuild_and_batches_give_the_same_board(self, make_community: MakeCommunity) -> None:
        c = make_community(_policy(vote_budget=2, milestones=(2,)))
        _start(c, "canon", "i1", "i2")
        c.vote_idea("i1", voter="v1")
        c.vote_idea("i1", voter="v2")
        c.vote_idea("canon", voter="v3")
        _move(c, "i1", "duplicate")
        _move(c, "canon", "planned")
        before = (c.idea_board(), c.idea_board(by="trend"), c.standing("v1"))
        c.rebuild()
        assert (c.idea_board(), c.idea_board(by="trend"), c.standing("v1")) == before
        assert_consistent(c)
