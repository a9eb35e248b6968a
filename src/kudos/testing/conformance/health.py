"""Conformance: response health and topic feedback, on every store."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from ...community import Community
from ...errors import InvalidInput, UnknownPost, UnknownRecord
from ...events import ReplyPosted
from ...health import HealthRules, Timing
from ...policies import giffgaff
from .. import FakeClock, assert_consistent, assert_unchanged
from ._base import ConformanceBase

MakeCommunity = Callable[..., Community]


def _week(c: Community, clock: FakeClock) -> None:
    """Four topics: t1 answered by staff in 2 min, then by a member in 10 and solved by her;
    t2 (twitter) answered by a member in 30 min, solved by staff's answer; t3 answered in
    2 h; t4 unanswered, posted 5 h before the end."""
    for m in ("alice", "bob", "carol"):
        c.join(m)
    c.join("staff1", role="staff")
    c.post_topic("t1", author="bob", kind="problem", tags=["roaming"], product="sim")
    clock.advance(minutes=1)
    c.post_reply("r0", topic="t1", author="bob")  # the author again: no response
    clock.advance(minutes=1)
    c.post_reply("r1", topic="t1", author="staff1")
    clock.advance(minutes=8)
    c.post_reply("r2", topic="t1", author="alice")
    clock.advance(minutes=10)
    c.accept_solution("t1", reply="r2", by="bob")  # 20 min after posting
    c.via("twitter").post_topic("t2", author="carol", tags=["billing"], product="sim")
    clock.advance(minutes=30)
    c.post_reply("r3", topic="t2", author="alice")
    c.post_reply("r4", topic="t2", author="staff1")
    clock.advance(minutes=30)
    c.accept_solution("t2", reply="r4", by="carol")  # 60 min after posting
    c.post_topic("t3", author="carol", kind="idea", tags=["roaming"])
    clock.advance(hours=2)
    c.post_reply("r5", topic="t3", author="bob")
    c.post_topic("t4", author="bob", product="esim")
    clock.advance(hours=5)


class HealthConformance(ConformanceBase):
    """Response figures are kept as facts happen and rebuilt the same."""

    def test_health_reads_response_times_solutions_and_the_unanswered(
        self, community: Community, clock: FakeClock
    ) -> None:
        c = community
        _week(c, clock)
        report = c.health()
        total = report.total
        assert (total.topics, total.answered, total.unanswered) == (4, 3, 1)
        assert total.first_response == Timing(count=3, median=1800, p90=7200, longest=7200)
        assert total.first_member_response == Timing(count=3, median=1800, p90=7200, longest=7200)
        assert c.topic_feedback("t1").first_member_response == 600
        assert total.solution == Timing(count=2, median=1200, p90=3600, longest=3600)
        assert (total.solved, total.solved_by_members, total.solved_by_staff) == (2, 1, 1)
        assert total.peer_answer_ratio == 0.5
        assert total.unanswered_age == Timing(count=1, median=18000, p90=18000, longest=18000)
        # Target one hour: t1 and t2 in time; t3 late; t4 unanswered past it.
        assert (total.within_target, total.past_target) == (2, 2)
        assert total.within_target_share == 0.5
        assert_consistent(c)

    def test_health_groups_by_tag_product_kind_channel_and_period(
        self, community: Community, clock: FakeClock
    ) -> None:
        c = community
        _week(c, clock)
        assert sorted(c.health(by="tag").groups) == ["billing", "roaming"]
        assert c.health(by="tag").groups["roaming"].topics == 2
        products = c.health(by="product").groups
        assert {p: g.topics for p, g in products.items()} == {"esim": 1, "sim": 2}
        assert products["esim"].unanswered == 1
        kinds = c.health(by="kind").groups
        assert {k: g.topics for k, g in kinds.items()} == {"idea": 1, "problem": 1, "question": 2}
        channels = c.health(by="channel").groups
        assert {k: g.topics for k, g in channels.items()} == {"twitter": 1, "web": 3}
        assert channels["twitter"].first_response.median == 1800
        assert list(c.health(by="period").groups) == ["2026-H2"]
        assert list(c.health(by="month").groups) == ["2026-11"]
        assert c.health(period="2026-H2").total.topics == 4
        assert c.health(period="2027-H1").total.topics == 0
        with pytest.raises(InvalidInput, match="'tag'"):
            c.health(by="colour")

    def test_a_removed_first_response_no_longer_counts(
        self, community: Community, clock: FakeClock
    ) -> None:
        c = community
        _week(c, clock)
        c.remove_post("r1", by="staff1", reason="spam")
        assert c.topic_feedback("t1").first_response == 600
        assert [a.reply for a in c.topic_feedback("t1").answers] == ["r2"]
        c.remove_post("t4", by="staff1", reason="spam")
        assert c.health().total.topics == 3
        c.restore_post("r1", by="staff1")
        assert c.topic_feedback("t1").first_response == 120
        c.unaccept_solution("t2", by="carol")
        assert c.health().total.solved == 1
        assert_consistent(c)

    def test_topic_feedback_tells_how_well_one_topic_did(
        self, community: Community, clock: FakeClock
    ) -> None:
        c = community
        _week(c, clock)
        f = c.topic_feedback("t2")
        assert (f.kind, f.channel, f.product, f.tags) == (
            "question",
            "twitter",
            "sim",
            ("billing",),
        )
        assert [(a.reply, a.author, a.seconds, a.staff) for a in f.answers] == [
            ("r3", "alice", 1800, False),
            ("r4", "staff1", 1800, True),
        ]
        assert (f.first_response, f.within_target, f.solved) == (1800, True, True)
        assert (f.solution, f.solved_by, f.solved_by_staff, f.time_to_solution) == (
            "r4",
            "staff1",
            True,
            3600,
        )
        unanswered = c.topic_feedback("t4")
        assert (unanswered.first_response, unanswered.within_target) == (None, False)
        assert not unanswered.solved and unanswered.solved_by is None
        with pytest.raises(UnknownRecord, match="is a reply"):
            c.topic_feedback("r1")
        with pytest.raises(UnknownPost):
            c.topic_feedback("nope")

    def test_the_target_is_policy(self, make_community: MakeCommunity, clock: FakeClock) -> None:
        c = make_community(giffgaff().evolve(health=HealthRules(target_seconds=60 * 45)))
        _week(c, clock)
        total = c.health().total
        assert (total.within_target, total.past_target, c.health().target_seconds) == (
            2,
            2,
            2700,
        )

    def test_rebuild_gives_the_same_figures(self, community: Community, clock: FakeClock) -> None:
        c = community
        _week(c, clock)
        before = c.health(by="tag"), c.topic_feedback("t1")
        c.rebuild()
        assert (c.health(by="tag"), c.topic_feedback("t1")) == before

    # -- review fixes: removed solutions, period ids, replies older than their topic -------
    def test_a_removed_accepted_reply_no_longer_solves_until_restored(
        self, community: Community, clock: FakeClock
    ) -> None:
        c = community
        for m in ("alice", "bob"):
            c.join(m)
        c.join("staff1", role="staff")
        c.post_topic("t1", author="bob", kind="problem")
        clock.advance(minutes=5)
        c.post_reply("r1", topic="t1", author="alice")
        c.accept_solution("t1", reply="r1", by="bob")
        c.remove_post("r1", by="staff1")
        feedback = c.topic_feedback("t1")
        assert (feedback.answers, feedback.solved, feedback.solution) == ((), False, None)
        total = c.health().total
        assert (total.answered, total.unanswered, total.solved) == (0, 1, 0)
        assert total.solution == Timing()
        c.restore_post("r1", by="staff1")
        feedback = c.topic_feedback("t1")
        assert (feedback.solved, feedback.solution, len(feedback.answers)) == (True, "r1", 1)
        total = c.health().total
        assert (total.answered, total.unanswered, total.solved) == (1, 0, 1)
        report = c.health()
        c.rebuild()
        assert c.health().total == report.total
        assert_consistent(c)

    def test_health_refuses_a_period_the_policy_does_not_have(self, community: Community) -> None:
        c = community
        for period in ("2026-Q9", "nonsense", "2026-H3"):
            with pytest.raises(UnknownRecord) as from_health:
                c.health(period=period)
            c.join("bob")
            with pytest.raises(UnknownRecord) as from_statement:
                c.statement("bob", period=period)
            assert type(from_health.value) is type(from_statement.value)
        assert c.health(period=c.policy.periods.period_of(c.now())).total.topics == 0

    def test_a_reply_dated_before_its_topic_is_refused(
        self, community: Community, clock: FakeClock
    ) -> None:
        c = community
        c.join("bob")
        c.join("alice")
        c.post_topic("t1", author="bob")
        early = clock() - timedelta(minutes=5)
        with assert_unchanged(c), pytest.raises(InvalidInput, match="older than its topic"):
            c.record(ReplyPosted(reply="r1", topic="t1", author="alice", at=early))
        c.post_reply("r1", topic="t1", author="alice")
        assert c.topic_feedback("t1").first_response == 0

    def test_health_may_count_only_the_kinds_that_take_answers(
        self, community: Community, clock: FakeClock
    ) -> None:
        c = community
        _week(c, clock)  # t3 is an idea
        c.post_topic("t5", author="carol", kind="praise")
        c.post_topic("t6", author="carol", kind="talk")
        assert c.health().total.unanswered == 3
        report = c.health(kinds=c.policy.support.solvable)
        assert (report.total.topics, report.total.unanswered) == (3, 1)
        assert report.kinds == ("problem", "question")
        assert c.health(kinds=["idea"], by="tag").groups["roaming"].topics == 1
        with pytest.raises(InvalidInput, match="kinds"):
            c.health(kinds="question")

    # -- health read from counters kept as facts happen -------------------------------------
    def test_health_counts_durations_at_three_significant_figures_and_rebuilds_them(
        self, community: Community, clock: FakeClock
    ) -> None:
        c = community
        _week(c, clock)
        c.join("dave")
        c.post_topic("t5", author="dave", tags=["roaming", "esim"], product="esim")
        clock.advance(seconds=7213)
        c.post_reply("r6", topic="t5", author="alice")
        c.accept_solution("t5", reply="r6", by="dave")
        c.remove_post("t4", by="staff1", reason="spam")
        c.merge_members("carol", into="bob", by="staff1")  # bob's reply on t3 was his own
        c.restore_post("t4", by="staff1")
        total = c.health().total
        assert c.topic_feedback("t5").first_response == 7213
        assert total.first_response == Timing(count=3, median=1800, p90=7210, longest=7210)
        assert total.solution == Timing(count=3, median=3600, p90=7210, longest=7210)
        assert (total.topics, total.answered, total.unanswered) == (5, 3, 2)
        reports = {
            (by, kinds): c.health(by=by, kinds=kinds)
            for by in (None, "tag", "product", "kind", "channel", "period", "month", "day")
            for kinds in (None, ("problem", "question"))
        }
        assert reports["tag", None].groups["esim"].first_response.median == 7210
        assert reports["kind", None].groups["idea"].unanswered == 1
        c.rebuild()
        assert {key: c.health(by=key[0], kinds=key[1]) for key in reports} == reports
        assert_consistent(c)

    # -- final review: the target a topic is judged against ----------------------------------
    def test_feedback_judges_a_topic_against_the_target_stored_on_it(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        strict = giffgaff().evolve(health=HealthRules(target_seconds=900))
        c = make_community(strict)
        for m in ("ann", "bob"):
            c.join(m)
        c.join("sam", role="staff")
        c.post_topic("t1", author="ann")
        clock.advance(seconds=1200)
        c.post_reply("r1", topic="t1", author="bob")  # 20 min: past the 15 min target
        c.post_topic("t2", author="ann")
        clock.advance(seconds=1000)  # t2 unanswered for 1000 s: past 900
        c.change_policy(
            strict.evolve(health=HealthRules(target_seconds=3600)), by="sam", reason="looser"
        )
        total = c.health().total
        assert (total.within_target, total.past_target) == (0, 2)
        assert (c.topic_feedback("t1").within_target, c.topic_feedback("t2").within_target) == (
            False,
            False,
        )
        c.rebuild()
        assert c.topic_feedback("t1").within_target is False
        assert c.health().total.past_target == 2

    def test_another_community_object_reads_the_target_in_force_on_its_first_call(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        strict = giffgaff().evolve(health=HealthRules(target_seconds=900))
        a = make_community(strict)
        a.join("ann")
        a.join("sam", role="staff")
        a.post_topic("t0", author="ann")
        b = make_community(strict)
        assert b.health().target_seconds == 900
        a.change_policy(
            strict.evolve(health=HealthRules(target_seconds=3600)), by="sam", reason="looser"
        )
        clock.advance(seconds=1000)
        report = b.health()
        assert (report.target_seconds, report.total.past_target) == (3600, 1)
        assert b.topic_feedback("t0").within_target is False

    def test_health_refuses_an_unknown_kind_or_text_for_the_kinds_naming_the_allowed_ones(
        self, community: Community
    ) -> None:
        c = community
        c.join("ann")
        c.post_topic("t1", author="ann")
        allowed = "'question', 'problem', 'idea', 'praise', 'talk'"
        with pytest.raises(InvalidInput, match=f"one of {allowed}; got 'questions'"):
            c.health(kinds=["questions"])
        with pytest.raises(InvalidInput, match="not a single value; got bytes b'question'"):
            c.health(kinds=b"question")  # type: ignore[arg-type]
        with pytest.raises(InvalidInput, match="not a single value; got str 'question'"):
            c.health(kinds="question")
        assert c.health(kinds=["question"]).total.topics == 1

    def test_a_canonical_answer_stops_counting_as_a_response_while_its_reply_is_removed(
        self, community: Community, clock: FakeClock
    ) -> None:
        c = community
        for m in ("ann", "bob", "cat"):
            c.join(m)
        c.join("sam", role="staff")
        c.post_topic("t1", author="ann", kind="problem")
        clock.advance(minutes=3)
        c.post_reply("r1", topic="t1", author="bob")
        c.accept_solution("t1", reply="r1", by="ann")
        c.mark_canonical("t1", "r1", by="sam")
        c.post_topic("t2", author="cat", kind="problem")
        clock.advance(minutes=2)
        c.answer_with("t2", canonical="r1", by="sam")
        answered = c.topic_feedback("t2")
        assert [a.canonical for a in answered.answers] == ["r1"]
        assert (answered.first_response, c.health().total.answered) == (120, 2)
        c.remove_post("r1", by="sam")
        gone = c.topic_feedback("t2")
        assert (gone.answers, gone.first_response) == ((), None)
        total = c.health().total
        assert (total.answered, total.unanswered) == (0, 2)
        assert_consistent(c)
        c.restore_post("r1", by="sam")
        assert c.topic_feedback("t2") == answered
        assert c.health().total.answered == 2
        assert_consistent(c)

    def test_the_feedback_of_a_removed_topic_says_it_is_removed(
        self, community: Community, clock: FakeClock
    ) -> None:
        c = community
        _week(c, clock)
        assert c.topic_feedback("t1").removed is False
        c.remove_post("t1", by="staff1", reason="off topic")
        removed = c.topic_feedback("t1")
        assert (removed.removed, removed.solved_by) == (True, "alice")
        assert c.health().total.topics == 3
        c.rebuild()
        assert c.topic_feedback("t1") == removed
        c.restore_post("t1", by="staff1")
        assert c.topic_feedback("t1").removed is False
