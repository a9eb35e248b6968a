"""Conformance: channels, identities, merges and canonical answers, on every store."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import attrs
import pytest

from ...channels import ChannelRules, MembersMerged
from ...community import Community
from ...errors import Conflict, InvalidInput, KudosError, NotAllowed, UnknownMember
from ...events import ReplyPosted, TopicPosted
from ...policies import giffgaff
from ...policy import Cap
from .. import FakeClock, assert_consistent, assert_unchanged
from ._base import ConformanceBase

MakeCommunity = Callable[..., Community]


def _desk(c: Community) -> None:
    """alice answers bob's question t1, bob accepts; staff1 is staff."""
    for m in ("alice", "bob", "carol"):
        c.join(m)
    c.join("staff1", role="staff")
    c.post_topic("t1", author="bob", title="No data abroad", tags=["roaming"], product="sim")
    c.post_reply("r1", topic="t1", author="alice")
    c.accept_solution("t1", reply="r1", by="bob")


def _balances(c: Community, member: str) -> tuple[int, int]:
    s = c.standing(member)
    return s.points, s.reputation


class ChannelConformance(ConformanceBase):
    """Facts carry their channel; identities, merges and canonical answers behave alike."""

    # -- channels ------------------------------------------------------------------
    def test_a_fact_keeps_the_channel_it_came_through(self, community: Community) -> None:
        c = community
        c.join("bob")
        c.via("twitter").post_topic("t1", author="bob", title="Roaming?")
        c.record(TopicPosted(topic="t2", author="bob", channel="email"))
        c.post_topic("t3", author="bob")
        with c.store.transaction(c.id) as tx:
            payloads = {r.payload.get("topic"): dict(r.payload) for r in tx.events()}
        assert payloads["t1"]["channel"] == "twitter"
        assert payloads["t2"]["channel"] == "email"
        assert "channel" not in payloads["t3"]  # stored as before channels existed
        assert c.topic_feedback("t1").channel == "twitter"
        assert c.topic_feedback("t3").channel == "web"
        assert_consistent(c)

    def test_an_unknown_channel_is_refused_naming_the_allowed_ones(
        self, community: Community
    ) -> None:
        c = community
        c.join("bob")
        with assert_unchanged(c), pytest.raises(InvalidInput, match="'phone', 'twitter', 'web'"):
            c.record(TopicPosted(topic="t1", author="bob", channel="pigeon"))
        with pytest.raises(InvalidInput, match=r"channels\.allowed"):
            c.via("pigeon")

    def test_the_policy_may_list_its_own_channels(self, make_community: MakeCommunity) -> None:
        c = make_community(giffgaff().evolve(channels=ChannelRules(allowed=("web", "sms"))))
        c.join("bob")
        c.via("sms").post_topic("t1", author="bob")
        with pytest.raises(InvalidInput, match="'sms', 'web'"):
            c.via("twitter").post_topic("t2", author="bob")
        assert c.health(by="channel").groups["sms"].topics == 1

    def test_a_log_written_before_channels_loads_replays_and_rebuilds(
        self, community: Community, clock: FakeClock
    ) -> None:
        c = community
        at = clock().isoformat()
        # Payloads exactly as kudos wrote them before facts had a channel.
        old: dict[str, dict[str, object]] = {
            "member-joined:alice": {
                "member": "alice",
                "role": "member",
                "referred_by": None,
                "referral_code": None,
                "fingerprints": [],
                "at": at,
            },
            "topic-posted:t1": {
                "topic": "t1",
                "author": "alice",
                "kind": "question",
                "title": "",
                "tags": [],
                "product": None,
                "feeling": None,
                "at": at,
            },
        }
        c.join("alice")
        c.post_topic("t1", author="alice")
        with c.store.transaction(c.id) as tx:
            assert {r.event_id: dict(r.payload) for r in tx.events()} == old
        c.rebuild()
        assert c.post_topic("t1", author="alice").replayed
        assert c.topic_feedback("t1").channel == "web"
        assert_consistent(c)

    # -- identities ----------------------------------------------------------------
    def test_a_member_has_identities_on_several_channels(self, community: Community) -> None:
        c = community
        c.join("bob")
        c.join("carol")
        c.link_identity("bob", "twitter", "@bob")
        c.link_identity("bob", "email", "bob@example.com")
        assert c.link_identity("bob", "twitter", "@bob").replayed
        assert c.member_by_handle("twitter", "@bob") == "bob"
        assert [(i.channel, i.handle) for i in c.identities("bob")] == [
            ("email", "bob@example.com"),
            ("twitter", "@bob"),
        ]
        with assert_unchanged(c), pytest.raises(NotAllowed, match="belongs to member 'bob'"):
            c.link_identity("carol", "twitter", "@bob")
        with assert_unchanged(c), pytest.raises(InvalidInput, match=r"channels\.allowed"):
            c.link_identity("carol", "pigeon", "coo")
        with pytest.raises(UnknownMember, match="@nobody"):
            c.member_by_handle("twitter", "@nobody")
        with pytest.raises(InvalidInput, match=r"unknown channel 'pigeon'.*channels\.allowed"):
            c.member_by_handle("pigeon", "coo")
        with pytest.raises(UnknownMember):
            c.link_identity("zed", "twitter", "@zed")
        assert_consistent(c)

    # -- merges --------------------------------------------------------------------
    def test_a_merge_moves_balances_by_lines_and_repoints_later_facts(
        self, community: Community
    ) -> None:
        c = community
        _desk(c)
        c.join("bob2")
        c.link_identity("bob2", "twitter", "@bobby")
        c.post_reply("r2", topic="t1", author="bob2")
        c.give_kudos("r2", giver="carol")
        before = {m: _balances(c, m) for m in ("bob", "bob2")}
        assert before["bob2"] == (5, 1)
        outcome = c.merge_members("bob2", into="bob", by="staff1")
        lines = {(e.member, e.account, e.amount) for e in outcome.entries}
        assert lines == {
            ("bob2", "points", -5),
            ("bob", "points", 5),
            ("bob2", "reputation", -1),
            ("bob", "reputation", 1),
        }
        assert {e.action for e in outcome.entries} == {"member_merged"}
        assert all(e.subject == "bob2" and e.reverses is None for e in outcome.entries)
        assert _balances(c, "bob2") == (0, 0)
        assert _balances(c, "bob") == (before["bob"][0] + 5, before["bob"][1] + 1)
        # Later facts naming the merged account count for the kept one.
        c.post_reply("r3", topic="t1", author="bob2")
        c.give_kudos("r3", giver="carol")
        assert _balances(c, "bob2") == (0, 0)
        assert _balances(c, "bob") == (before["bob"][0] + 10, before["bob"][1] + 2)
        assert c.post("r3").author == "bob"
        with pytest.raises(NotAllowed):  # bob's own reply, given kudos under the old account
            c.give_kudos("r3", giver="bob2")
        with assert_unchanged(c), pytest.raises(NotAllowed, match="merged into theirs"):
            c.give_kudos("r2", giver="bob")  # written as bob2: bob's own
        # What the old account's posts earn or lose from now on moves on to the kept one.
        c.withdraw_kudos("r2", giver="carol")
        assert _balances(c, "bob2") == (0, 0)
        assert _balances(c, "bob") == (before["bob"][0] + 5, before["bob"][1] + 1)
        c.give_kudos("r2", giver="alice")
        assert _balances(c, "bob2") == (0, 0)
        assert _balances(c, "bob") == (before["bob"][0] + 10, before["bob"][1] + 2)
        assert c.member_by_handle("twitter", "@bobby") == "bob"
        assert [m.member for m in c.merges("bob")] == ["bob2"]
        assert c.merge_members("bob2", into="bob", by="staff1").replayed
        assert_consistent(c)
        c.rebuild()
        assert _balances(c, "bob") == (before["bob"][0] + 10, before["bob"][1] + 2)

    def test_merges_that_make_no_sense_are_refused_and_write_nothing(
        self, community: Community
    ) -> None:
        c = community
        _desk(c)
        c.join("bob2")
        c.join("dave")
        refused = [
            (("bob", "bob"), "into itself"),
            (("staff1", "bob"), "staff accounts are never merged"),
            (("bob", "staff1"), "staff accounts are never merged"),
        ]
        for (member, into), why in refused:
            with assert_unchanged(c), pytest.raises(NotAllowed, match=why):
                c.merge_members(member, into=into, by="staff1")
        c.merge_members("bob2", into="bob", by="staff1")
        with assert_unchanged(c), pytest.raises(NotAllowed, match="already merged into 'bob'"):
            c.merge_members("bob2", into="carol", by="staff1")
        with assert_unchanged(c), pytest.raises(NotAllowed, match="merge 'dave' into 'bob'"):
            c.merge_members("dave", into="bob2", by="staff1")
        with assert_unchanged(c), pytest.raises(NotAllowed, match="they are one account"):
            c.merge_members("bob", into="bob2", by="staff1")
        with assert_unchanged(c), pytest.raises(UnknownMember):
            c.merge_members("zed", into="bob", by="staff1")
        with assert_unchanged(c), pytest.raises(InvalidInput):
            c.record(MembersMerged(member="", into="bob", by="staff1"))
        assert_consistent(c)

    # -- one answer everywhere -----------------------------------------------------------
    def test_a_canonical_answer_reused_on_any_channel_credits_its_author_capped(
        self, community: Community
    ) -> None:
        c = community
        _desk(c)
        with assert_unchanged(c), pytest.raises(NotAllowed, match="only staff"):
            c.mark_canonical("t1", "r1", by="carol")
        c.post_reply("r9", topic="t1", author="carol")
        with assert_unchanged(c), pytest.raises(NotAllowed, match="not the accepted solution"):
            c.mark_canonical("t1", "r9", by="staff1")
        with assert_unchanged(c), pytest.raises(NotAllowed, match="mark_canonical"):
            c.answer_with("tw-1", canonical="r1", channel="twitter", by="staff1")
        c.mark_canonical("t1", "r1", by="staff1")
        before = c.standing("alice").points
        outcome = c.answer_with("tw-1", canonical="r1", channel="twitter", by="staff1")
        assert [(e.member, e.action, e.amount) for e in outcome.entries] == [
            ("alice", "canonical_reused", 10),
            ("alice", "canonical_reused", 2),
        ]
        assert c.answer_with("tw-1", canonical="r1", channel="twitter", by="staff1").replayed
        for i in range(25):  # giffgaff caps reuse at 200 points per canonical answer
            c.answer_with(f"mail-{i}", canonical="r1", channel="email", by="staff1")
        assert c.standing("alice").points == before + 200
        assert c.answer_with("call-1", canonical="r1", channel="phone", by="alice").entries == ()
        assert c.answer_for("tw-1") is not None
        found = c.answer_for("tw-1")
        assert found is not None and (found.reply, found.author, found.problem) == (
            "r1",
            "alice",
            "t1",
        )
        assert c.answer_for("t1") == found
        assert c.answer_for("nothing") is None
        assert len(c.answer_uses(problem="t1")) == 27
        with assert_unchanged(c), pytest.raises(InvalidInput, match=r"channels\.allowed"):
            c.answer_with("x-1", canonical="r1", channel="pigeon", by="staff1")
        assert_consistent(c)

    def test_a_duplicate_topic_answered_with_the_canonical_answer_gets_it(
        self, community: Community, clock: FakeClock
    ) -> None:
        c = community
        _desk(c)
        c.mark_canonical("t1", "r1", by="staff1")
        c.post_topic("t2", author="carol", title="Data abroad not working")
        clock.advance(minutes=3)
        c.answer_with("t2", canonical="r1", by="staff1")
        found = c.answer_for("t2")
        assert found is not None and found.reply == "r1"
        feedback = c.topic_feedback("t2")
        assert feedback.first_response == 180
        assert feedback.answers[0].canonical == "r1"
        with assert_unchanged(c), pytest.raises(NotAllowed, match="is a reply"):
            c.answer_with("r1", canonical="r1", by="staff1")
        c.rebuild()
        assert c.answer_for("t2") == found
        assert_consistent(c)

    def test_problems_answered_differently_on_different_channels_are_reported(
        self, community: Community
    ) -> None:
        c = community
        _desk(c)
        c.mark_canonical("t1", "r1", by="staff1")
        c.post_topic("t5", author="carol", title="Roaming broken again")
        c.post_reply("r5", topic="t5", author="alice")
        c.accept_solution("t5", reply="r5", by="carol")
        c.mark_canonical("t5", "r5", by="staff1", problem="t1")
        c.answer_with("tw-1", canonical="r1", channel="twitter", by="staff1")
        assert c.answer_inconsistencies() == []
        c.answer_with("mail-1", canonical="r5", channel="email", by="staff1")
        (found,) = c.answer_inconsistencies()
        assert found.problem == "t1"
        assert found.answers == {"email": ("r5",), "twitter": ("r1",), "web": ("r1",)}
        assert found.distinct == ("r1", "r5")
        assert [a.reply for a in c.canonical_answers("t1")] == ["r1", "r5"]
        found_for_t5 = c.answer_for("t5")
        assert found_for_t5 is not None and found_for_t5.reply == "r5"
        assert_consistent(c)

    # -- review fixes: one id per answer, merged authorship, history, removal -------------
    def test_an_answer_without_a_channel_is_the_one_on_the_default_channel(
        self, community: Community
    ) -> None:
        c = community
        _desk(c)
        c.mark_canonical("t1", "r1", by="staff1")
        points = c.standing("alice").points
        first = c.answer_with("mail-1", canonical="r1", by="staff1")
        assert not first.replayed
        paid = c.standing("alice").points
        assert paid > points
        assert c.answer_with("mail-1", canonical="r1", channel="web", by="staff1").replayed
        assert c.via("web").answer_with("mail-1", canonical="r1", by="staff1").replayed
        assert c.standing("alice").points == paid  # recorded and paid once
        assert [(u.channel, u.event_id) for u in c.answer_uses(conversation="mail-1")] == [
            ("web", first.event_id)
        ]
        with assert_unchanged(c), pytest.raises(Conflict, match="through one channel") as err:
            c.answer_with("mail-1", canonical="r1", channel="twitter", by="staff1")
        assert "its own event_id" not in str(err.value)
        assert_consistent(c)

    def test_a_merged_account_is_one_person_in_praise_feelings_and_deflections(
        self, community: Community
    ) -> None:
        c = community
        for member in ("ann", "bob", "bob2"):
            c.join(member)
        c.join("sam", role="staff")
        c.post_topic("t1", author="bob2", kind="problem", title="No data", feeling="frustrated")
        c.post_reply("r1", topic="t1", author="bob2")
        c.post_topic("t2", author="ann", kind="problem", title="Data abroad")
        c.post_reply("r2", topic="t2", author="bob2")
        c.accept_solution("t2", reply="r2", by="ann")
        c.merge_members("bob2", into="bob", by="sam")
        before = c.standing("bob").points
        with assert_unchanged(c), pytest.raises(NotAllowed, match="cannot praise themselves"):
            c.post_topic("p1", author="bob", kind="praise", title="Me!", praised="bob2")
        assert not c.deflected("t2", by="bob").entries  # the solution is his own
        assert c.standing("bob").points == before
        c.set_feeling("t1", "happy", by="bob")  # the kept account speaks for the old one
        assert c.feelings()["happy"] == 1
        assert_consistent(c)

    def test_a_merged_account_earns_under_the_kept_accounts_cap(
        self, make_community: MakeCommunity
    ) -> None:
        cap = Cap(account="points", per="month", limit=100, actions=("solution_accepted",))
        c = make_community(giffgaff().evolve(caps=(cap,)))
        for member in ("carol", "a", "b"):
            c.join(member)
        c.join("sam", role="staff")
        for i in range(4):
            c.post_topic(f"t{i}", author="carol", title=f"Topic {i}")
        for i in (0, 1):
            c.post_reply(f"ra{i}", topic=f"t{i}", author="a")
        c.merge_members("a", into="b", by="sam")
        for i in (2, 3):
            c.post_reply(f"rb{i}", topic=f"t{i}", author="b")
            c.accept_solution(f"t{i}", reply=f"rb{i}", by="carol")
        earned = c.standing("b").points
        for i in (0, 1):  # the merged account's old answers, accepted in the same month
            c.accept_solution(f"t{i}", reply=f"ra{i}", by="carol")
        assert c.standing("b").points == earned  # one person, one cap
        assert c.standing("a").points == 0
        assert_consistent(c)

    def test_accepting_a_reply_written_under_a_merged_account_pays_nothing(
        self, community: Community
    ) -> None:
        c = community
        _desk(c)
        c.join("bob2")
        c.post_topic("t2", author="bob", title="PUK code")
        c.post_reply("r2", topic="t2", author="bob2")
        c.merge_members("bob2", into="bob", by="staff1")
        before = c.standing("bob").points
        outcome = c.accept_solution("t2", reply="r2", by="bob")
        assert [e for e in outcome.entries if e.amount] == []
        assert c.standing("bob").points == before
        # The kept account's topic answered by the merged one: no response by someone else.
        c.post_topic("t3", author="bob", title="Top up")
        c.post_reply("r3", topic="t3", author="bob2")
        assert c.topic_feedback("t2").first_response is None
        assert c.topic_feedback("t3").answers == ()
        with pytest.raises(NotAllowed, match="merged into theirs"):
            c.give_kudos("r2", giver="bob")
        assert_consistent(c)

    def test_a_merge_takes_back_the_responses_of_the_authors_other_account(
        self, community: Community
    ) -> None:
        c = community
        _desk(c)
        c.join("bob2")
        c.post_topic("t2", author="bob2", title="PUK code")
        c.post_reply("r2", topic="t2", author="bob")
        c.post_topic("t3", author="bob", title="Top up")
        c.post_reply("r3", topic="t3", author="bob2")
        assert c.health().total.answered == 3
        c.merge_members("bob2", into="bob", by="staff1")
        assert c.topic_feedback("t2").answers == ()
        assert c.topic_feedback("t3").answers == ()
        assert (c.health().total.answered, c.health().total.unanswered) == (1, 2)
        report = c.health()
        c.rebuild()
        assert c.health().total == report.total

    def test_history_through_a_channel_the_policy_dropped_still_rebuilds(
        self, make_community: MakeCommunity
    ) -> None:
        old = make_community()
        old.join("bob")
        old.join("staff1", role="staff")
        old.via("twitter").post_topic("t1", author="bob", title="Roaming?")
        # The store keeps its policy: dropping a channel is a change of policy.
        old.change_policy(
            giffgaff().evolve(channels=ChannelRules(allowed=("web",))),
            by="staff1",
            reason="web only",
        )
        narrow = old  # under the stored policy, now without twitter
        narrow.rebuild()
        assert narrow.topic_feedback("t1").channel == "twitter"
        with assert_unchanged(narrow), pytest.raises(InvalidInput, match="unknown channel"):
            narrow.record(ReplyPosted(reply="r1", topic="t1", author="bob", channel="twitter"))

    def test_a_rebuild_that_fails_names_the_event(self, make_community: MakeCommunity) -> None:
        c = make_community()
        _desk(c)  # bob's question t1 has a solution accepted
        with c.store.transaction(c.id) as tx:
            accepted = next(e for e in tx.events() if e.type == "solution-accepted")
        # A policy under which questions take no solution cannot replay that log.
        # The store keeps its policy, so a log the rules refuse is one written around
        # them: the accepted solution logged again for a reply that does not exist.
        forged = attrs.evolve(
            accepted,
            event_id="forged-acceptance",
            payload={**accepted.payload, "reply": "no-such-reply"},
            seq=0,
        )
        with c.store.transaction(c.id) as tx:
            tx.append_event(forged)
        with pytest.raises(KudosError, match="event 'forged-acceptance'"):
            c.rebuild()

    def test_only_staff_or_a_moderator_merge_accounts(self, community: Community) -> None:
        c = community
        _desk(c)
        c.join("bob2")
        c.join("mod", role="moderator")
        with assert_unchanged(c), pytest.raises(NotAllowed, match="not staff or a moderator"):
            c.merge_members("bob2", into="bob", by="carol")
        with assert_unchanged(c), pytest.raises(NotAllowed, match="needs by="):
            c.record(MembersMerged(member="bob2", into="bob"))
        with assert_unchanged(c), pytest.raises(UnknownMember):
            c.merge_members("bob2", into="bob", by="nobody")
        assert not c.merge_members("bob2", into="bob", by="mod").replayed
        assert [m.by for m in c.merges("bob")] == ["mod"]
        assert_consistent(c)

    def test_a_removed_canonical_answer_is_not_given_until_restored(
        self, community: Community
    ) -> None:
        c = community
        _desk(c)
        c.mark_canonical("t1", "r1", by="staff1")
        answer = c.answer_for("t1")
        assert answer is not None and answer.reply == "r1"
        c.remove_post("r1", by="staff1")
        assert c.answer_for("t1") is None
        with assert_unchanged(c), pytest.raises(NotAllowed, match="was removed"):
            c.answer_with("mail-1", canonical="r1", by="staff1")
        c.restore_post("r1", by="staff1")
        restored = c.answer_for("t1")
        assert restored is not None and restored.reply == "r1"
        assert c.answer_with("mail-1", canonical="r1", by="staff1").entries
        c.post_topic("t2", author="carol", title="Same again")
        c.remove_post("t2", by="staff1")
        with assert_unchanged(c), pytest.raises(NotAllowed, match="was removed"):
            c.answer_with("t2", canonical="r1", by="staff1")
        assert_consistent(c)

    def test_marking_canonical_again_replays_and_for_another_problem_is_refused(
        self, community: Community
    ) -> None:
        c = community
        _desk(c)
        c.post_topic("t0", author="carol", title="Older")
        first = c.mark_canonical("t1", "r1", by="staff1")
        assert c.mark_canonical("t1", "r1", by="staff1").replayed
        assert c.mark_canonical("t1", "r1", by="staff1", problem="t1").event_id == first.event_id
        with assert_unchanged(c), pytest.raises(NotAllowed, match="already canonical for"):
            c.mark_canonical("t1", "r1", by="staff1", problem="t0")
        assert [a.problem for a in c.canonical_answers()] == ["t1"]

    def test_canonical_answers_dated_before_their_posts_are_refused(
        self, community: Community, clock: FakeClock
    ) -> None:
        c = community
        _desk(c)  # t1 and r1 posted at the clock's time
        posted = clock()
        early = posted - timedelta(minutes=5)
        times = re.escape(early.isoformat()), re.escape(posted.isoformat())
        shown = rf"{times[0]}.*before .* was posted \({times[1]}\)"
        with assert_unchanged(c), pytest.raises(InvalidInput, match=shown):
            c.mark_canonical("t1", "r1", by="staff1", at=early)
        c.mark_canonical("t1", "r1", by="staff1", at=posted)
        with assert_unchanged(c), pytest.raises(InvalidInput, match=shown):
            c.answer_with("tw-1", canonical="r1", channel="twitter", by="staff1", at=early)
        clock.advance(hours=1)
        c.post_topic("t2", author="carol", title="Roaming not working")
        later = clock()
        with assert_unchanged(c), pytest.raises(InvalidInput, match=r"before topic 't2'"):
            c.answer_with("t2", canonical="r1", by="staff1", at=later - timedelta(minutes=1))
        c.answer_with("t2", canonical="r1", by="staff1", at=later)
        c.answer_with("tw-1", canonical="r1", channel="twitter", by="staff1", at=posted)
        assert c.answer_for("t2") is not None
        assert_consistent(c)

    def test_an_answer_dated_before_its_reply_was_marked_canonical_is_refused(
        self, community: Community, clock: FakeClock
    ) -> None:
        c = community
        _desk(c)  # t1 and r1 posted at the clock's time
        clock.advance(hours=1)
        marked = clock()
        c.mark_canonical("t1", "r1", by="staff1")
        between = marked - timedelta(minutes=5)  # after the reply, before it was canonical
        shown = (
            rf"{re.escape(between.isoformat())}, before 'r1' was marked canonical "
            rf"\({re.escape(marked.isoformat())}\)"
        )
        with assert_unchanged(c), pytest.raises(InvalidInput, match=shown):
            c.answer_with("tw-1", canonical="r1", channel="twitter", by="staff1", at=between)
        c.answer_with("tw-1", canonical="r1", channel="twitter", by="staff1", at=marked)
        assert [u.conversation for u in c.answer_uses(problem="t1")] == ["tw-1"]
        assert_consistent(c)

    # -- final review: a merged account's involvement is the kept account's ---------------
    def test_a_merged_accounts_follow_is_the_kept_accounts_and_either_id_ends_it(
        self, community: Community
    ) -> None:
        c = community
        for member in ("ann", "bob", "cat", "dan"):
            c.join(member)
        c.join("sam", role="staff")
        c.post_topic("t1", author="ann", product="sim")
        c.post_topic("t2", author="bob", product="sim")
        c.follow("t1", member="cat")
        c.follow("t2", member="dan")
        assert c.presence(product="sim").people_involved == 4
        c.merge_members("dan", into="cat", by="sam")
        # cat and dan are one person: involved in t1 and t2, counted once in the product
        assert c.presence(topic="t2").people_involved == 2
        assert c.presence(product="sim").people_involved == 3
        c.follow("t2", member="cat")  # they follow it already: counted once
        assert c.presence(topic="t2").people_involved == 2
        assert c.presence(topic="t2").followers == 1
        c.unfollow("t2", member="cat")  # either id ends the follow
        assert (c.presence(topic="t2").people_involved, c.presence(topic="t2").followers) == (1, 0)
        with assert_unchanged(c), pytest.raises(NotAllowed, match="does not follow"):
            c.unfollow("t2", member="cat", event_id="again")
        c.follow("t2", member="dan")
        c.unfollow("t2", member="dan")
        assert c.presence(topic="t2").followers == 0
        c.follow("t2", member="dan")
        assert c.presence(topic="t2").followers == 1
        assert_consistent(c)
        c.delete_member("cat")  # the kept account deleted: the person is gone, both ids
        assert c.presence(topic="t1").people_involved == 1
        assert c.presence(topic="t2").people_involved == 1
        assert c.presence(product="sim").people_involved == 2
        assert_consistent(c)

    def test_a_merged_account_and_its_kept_account_count_as_one_person_involved(
        self, community: Community
    ) -> None:
        c = community
        for member in ("ann", "bob", "bobtw"):
            c.join(member)
        c.join("sam", role="staff")
        c.post_topic("t1", author="ann", product="sim")
        c.post_reply("r1", topic="t1", author="bob")
        c.post_reply("r2", topic="t1", author="bobtw")
        assert c.presence(topic="t1").people_involved == 3
        c.merge_members("bobtw", into="bob", by="sam")
        assert c.presence(topic="t1").people_involved == 2
        assert c.presence(product="sim").people_involved == 2
        c.post_reply("r3", topic="t1", author="bobtw")  # repointed to bob: still one person
        assert c.presence(topic="t1").people_involved == 2
        assert_consistent(c)
