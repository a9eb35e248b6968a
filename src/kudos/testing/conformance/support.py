"""Conformance: topic kinds and feelings, similar topics, deflection, people involved, shifts."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from ...community import Community
from ...errors import InvalidInput, NotAllowed, UnknownMember, UnknownRecord
from ...policies import giffgaff
from ...policy import Cap, Reward
from ...referrals import ReferralRules
from ...support import SupportRules
from .. import FakeClock, assert_consistent, assert_unchanged
from ._base import ConformanceBase

MakeCommunity = Callable[..., Community]

HOSTILE_TITLES = (
    '"',
    '""data""',
    "data*",
    "*",
    "NEAR(data abroad, 2)",
    "data AND abroad OR NOT roaming",
    "data -abroad",
    "^data",
    "title:data",
    "{title}: data",
    "'; DROP TABLE kudos_docs; --",
    "data' OR '1'='1",
    "data & abroad | !roaming <-> (x)",
    "data:* & ab:*",
    "\\",
    "%_%",
    "",
    "   ",
    "(((",
    "data " * 2000,
    "🙂 données à l'étranger",
)


def _desk(c: Community) -> None:
    """Members, staff and a few topics on two products."""
    for m in ("ann", "bob", "cat", "dan"):
        c.join(m)
    c.join("sam", role="staff")
    c.post_topic(
        "t1",
        author="ann",
        title="No data abroad",
        tags=["roaming"],
        product="sim",
        feeling="frustrated",
    )
    c.post_reply("r1", topic="t1", author="bob")
    c.accept_solution("t1", reply="r1", by="ann")
    c.post_topic(
        "t2",
        author="cat",
        title="Data abroad is slow",
        tags=["roaming"],
        product="sim",
        feeling="confused",
    )
    c.post_topic(
        "t3",
        author="dan",
        kind="talk",
        title="Favourite phone",
        product="phone",
        body="which handset has the best data signal",
        feeling="happy",
    )


class SupportConformance(ConformanceBase):
    """Support features behave alike on every store and rebuild to the same state."""

    # -- kinds and feelings ------------------------------------------------------------
    def test_a_kind_that_cannot_be_solved_takes_no_solution(
        self, community: Community, make_community: MakeCommunity
    ) -> None:
        c = community
        _desk(c)
        c.post_reply("r3", topic="t3", author="ann")
        with (
            assert_unchanged(c),
            pytest.raises(NotAllowed, match="only problems and questions take solutions"),
        ):
            c.accept_solution("t3", reply="r3", by="dan")
        with pytest.raises(InvalidInput, match="'question', 'problem', 'idea', 'praise', 'talk'"):
            c.post_topic("t9", author="ann", kind="rant")
        talky = make_community(
            giffgaff().evolve(support=SupportRules(solvable=("question", "problem", "talk"))),
            community="talky",
        )
        _desk(talky)
        talky.post_reply("r3", topic="t3", author="ann")
        talky.accept_solution("t3", reply="r3", by="dan")
        assert talky.post("t3").solution == "r3"
        assert_consistent(talky)

    def test_feelings_are_counted_per_product_tag_and_period_and_follow_changes(
        self, community: Community, clock: FakeClock
    ) -> None:
        c = community
        _desk(c)
        period = c.policy.periods.period_of(clock())
        assert c.feelings() == {"frustrated": 1, "confused": 1, "happy": 1, "indifferent": 0}
        assert c.feelings(product="sim") == {
            "frustrated": 1,
            "confused": 1,
            "happy": 0,
            "indifferent": 0,
        }
        assert c.feelings(tag="roaming", period=period)["frustrated"] == 1
        assert c.feelings(product="phone", tag="roaming") == dict.fromkeys(
            c.policy.support.feelings, 0
        )
        assert sum(c.feelings(period=c.policy.periods.next(period)).values()) == 0
        clock.advance(days=400)  # changed much later: still counted in the period it was posted
        c.set_feeling("t1", "happy", by="ann")
        assert c.feelings(period=period, product="sim")["happy"] == 1
        assert c.feelings()["frustrated"] == 0
        c.set_feeling("t1", "frustrated", by="ann")  # back again: a new fact, not a replay
        assert c.feelings()["frustrated"] == 1
        c.remove_post("t2", by="sam")
        assert c.feelings()["confused"] == 0
        c.restore_post("t2", by="sam")
        assert c.feelings()["confused"] == 1
        assert_consistent(c)

    def test_a_feeling_outside_the_policy_or_from_another_member_is_refused(
        self, community: Community, make_community: MakeCommunity
    ) -> None:
        c = community
        _desk(c)
        with assert_unchanged(c), pytest.raises(InvalidInput) as refused:
            c.set_feeling("t1", "furious", by="ann")
        assert "confused, frustrated, happy, indifferent" in str(refused.value)
        with assert_unchanged(c), pytest.raises(InvalidInput, match="furious"):
            c.post_topic("t9", author="ann", feeling="furious")
        with assert_unchanged(c), pytest.raises(NotAllowed, match="only the author 'ann'"):
            c.set_feeling("t1", "happy", by="bob")
        with assert_unchanged(c), pytest.raises(NotAllowed, match="already has the feeling"):
            c.set_feeling("t1", "frustrated", by="ann")
        with assert_unchanged(c), pytest.raises(NotAllowed, match="reply"):
            c.set_feeling("r1", "happy", by="bob")
        own = make_community(
            giffgaff().evolve(support=SupportRules(feelings=("furious", "delighted"))),
            community="own",
        )
        own.join("ann")
        own.post_topic("t1", author="ann", feeling="furious")
        assert own.feelings() == {"furious": 1, "delighted": 0}
        assert_consistent(own)

    def test_a_praise_topic_rewards_the_member_it_names(self, community: Community) -> None:
        c = community
        _desk(c)
        before = c.standing("bob")
        c.post_topic("p1", author="ann", kind="praise", title="Thanks Bob!", praised="bob")
        after = c.standing("bob")
        assert (after.points - before.points, after.reputation - before.reputation) == (5, 2)
        lines = [e for e in c.ledger(subject="p1") if e.member == "bob"]
        assert {e.action for e in lines} == {"praise_received"}
        assert all("praised by ann" in e.reason for e in lines)
        with assert_unchanged(c), pytest.raises(NotAllowed, match="cannot name a member"):
            c.post_topic("p2", author="ann", kind="question", praised="bob")
        with assert_unchanged(c), pytest.raises(NotAllowed, match="cannot praise themselves"):
            c.post_topic("p3", author="ann", kind="praise", praised="ann")
        with assert_unchanged(c), pytest.raises(UnknownMember):
            c.post_topic("p4", author="ann", kind="praise", praised="nobody")
        c.post_topic("p5", author="ann", kind="praise", praised="sam")  # staff earn nothing
        assert c.standing("sam").points == 0
        c.remove_post("p1", by="sam")
        assert c.standing("bob").points == before.points
        assert_consistent(c)

    # -- similar topics ------------------------------------------------------------------
    def test_similar_topics_rank_matches_and_put_solved_ones_first(
        self, community: Community
    ) -> None:
        c = community
        _desk(c)
        found = c.similar_topics("data not working abroad")
        assert [(s.topic, s.score, s.solved, s.solution) for s in found] == [
            ("t1", 2, True, "r1"),  # solved first among equals, with its solution
            ("t2", 2, False, None),
            ("t3", 1, False, None),  # found by its body
        ]
        by_tag = c.similar_topics("abroad", tags=["roaming"], product="sim", limit=1)
        assert [(s.topic, s.score) for s in by_tag] == [("t1", 5)]
        assert [s.topic for s in c.similar_topics("handset")] == ["t3"]
        assert c.similar_topics("nothing like it") == []
        c.remove_post("t1", by="sam")
        assert [s.topic for s in c.similar_topics("data abroad")] == ["t2", "t3"]
        c.restore_post("t1", by="sam")
        c.unaccept_solution("t1", by="ann")
        assert [s.topic for s in c.similar_topics("no data abroad")][:1] == ["t1"]
        assert not c.similar_topics("no data abroad")[0].solved
        before = c.similar_topics("data abroad phone")
        c.rebuild()
        assert c.similar_topics("data abroad phone") == before
        assert_consistent(c)

    def test_hostile_queries_give_a_result_or_a_clear_error(self, community: Community) -> None:
        c = community
        _desk(c)
        for title in HOSTILE_TITLES:
            found = c.similar_topics(title)
            assert all(s.topic in {"t1", "t2", "t3"} for s in found), title
        assert c.similar_topics('"data" NEAR abroad*')[0].topic == "t1"
        for bad, match in (
            ("x" * 10_000_001, "at most 10000"),
            ("data\x00abroad", "must not hold"),
            (b"data", "must be text"),
            (None, "must be text"),
        ):
            with pytest.raises(InvalidInput, match=match):
                c.similar_topics(bad)  # type: ignore[arg-type]
        with pytest.raises(InvalidInput, match="tag"):
            c.similar_topics("data", tags=["road\x00ming"])
        with pytest.raises(InvalidInput, match="tags must be a list"):
            c.similar_topics("data", tags="roaming")
        with pytest.raises(InvalidInput, match="limit"):
            c.similar_topics("data", limit=0)
        with pytest.raises(InvalidInput, match="limit"):
            c.similar_topics("data", limit=51)
        with pytest.raises(InvalidInput, match="product"):
            c.similar_topics("data", product="")
        with pytest.raises(InvalidInput, match="body"):
            c.post_topic("t9", author="ann", body="a\x00b")

    # -- deflection ----------------------------------------------------------------------
    def test_a_deflection_is_counted_and_rewards_the_solution_author(
        self, community: Community, clock: FakeClock
    ) -> None:
        c = community
        _desk(c)
        period = c.policy.periods.period_of(clock())
        before = c.standing("bob")
        outcome = c.deflected("t1", by="dan")
        assert {(e.member, e.action, e.subject) for e in outcome.entries} == {
            ("bob", "deflection_solution", "r1")
        }
        assert c.standing("bob").points - before.points == 5
        c.deflected("t2", by="dan")  # no solution: counted, rewards no one
        c.deflected("t1", by="bob")  # the solution's own author: counted, no reward
        assert c.standing("bob").points - before.points == 5
        assert c.deflections() == 3
        assert c.deflections(period=period, product="sim") == 3
        assert c.deflections(topic="t1") == 2
        assert c.deflections(product="phone") == 0
        assert c.deflections(period=c.policy.periods.next(period)) == 0
        assert c.deflected("t1", by="dan").replayed
        with assert_unchanged(c), pytest.raises(NotAllowed, match="already said"):
            c.deflected("t1", by="dan", event_id="again")
        with assert_unchanged(c), pytest.raises(NotAllowed, match="reply"):
            c.deflected("r1", by="cat")
        with pytest.raises(InvalidInput, match="not both"):
            c.deflections(product="sim", topic="t1")
        c.remove_post("r1", by="sam")  # the solution removed: all it earned goes with it
        assert c.standing("bob").points == 0
        assert sum(e.amount for e in c.ledger(subject="r1") if e.member == "bob") == 0
        assert_consistent(c)

    def test_deflection_rewards_are_capped_like_other_rewards(
        self, make_community: MakeCommunity
    ) -> None:
        policy = giffgaff().evolve(
            rewards={"deflection_solution": Reward(points=5)},
            caps=[Cap(account="points", per="month", limit=12, actions=["deflection_solution"])],
        )
        c = make_community(policy)
        _desk(c)
        for i in range(4):
            c.join(f"asker{i}")
            c.deflected("t1", by=f"asker{i}")
        assert c.standing("bob").points == 12
        assert c.deflections(topic="t1") == 4
        assert_consistent(c)

    # -- people involved and staff on duty --------------------------------------------------
    def test_people_involved_count_each_member_once(self, community: Community) -> None:
        c = community
        _desk(c)
        assert c.presence(topic="t1").people_involved == 2  # ann asked, bob replied
        c.post_reply("r1b", topic="t1", author="bob")
        c.follow("t1", member="bob")
        c.follow("t1", member="cat")
        t1 = c.presence(topic="t1")
        assert (t1.people_involved, t1.followers) == (3, 2)
        assert c.presence(product="sim").people_involved == 3  # ann, bob, cat
        c.unfollow("t1", member="cat")
        assert c.presence(topic="t1").people_involved == 2
        assert c.presence(product="sim").people_involved == 3  # cat asked t2
        c.follow("t1", member="cat")  # following again is a new fact
        assert c.presence(topic="t1").followers == 2
        with assert_unchanged(c), pytest.raises(NotAllowed, match="already follows"):
            c.follow("t1", member="cat", event_id="f-again")
        with assert_unchanged(c), pytest.raises(NotAllowed, match="does not follow"):
            c.unfollow("t1", member="dan")
        with pytest.raises(InvalidInput, match="one of them"):
            c.presence()
        assert_consistent(c)

    def test_staff_on_duty_follow_the_reported_shifts(
        self, community: Community, clock: FakeClock
    ) -> None:
        c = community
        _desk(c)
        c.join("sue", role="staff")
        now = clock()
        c.report_shift("s1", member="sam", start=now, end=now + timedelta(hours=8))
        c.report_shift("s2", member="sue", start=now, end=now + timedelta(hours=4), product="phone")
        assert c.staff_on_duty() == ["sam", "sue"]
        assert c.staff_on_duty("sim") == ["sam"]
        assert c.staff_on_duty("phone") == ["sam", "sue"]
        assert c.staff_on_duty("phone", at=now + timedelta(hours=5)) == ["sam"]
        assert c.staff_on_duty(at=now - timedelta(seconds=1)) == []
        t3 = c.presence(topic="t3")
        assert (t3.staff_on_duty, t3.employees_available) == (("sam", "sue"), 2)
        c.report_shift("s1", member="sam", start=now, end=now)  # cancelled
        assert c.staff_on_duty("sim") == []
        with assert_unchanged(c), pytest.raises(NotAllowed, match="not staff"):
            c.report_shift("s3", member="ann", start=now, end=now + timedelta(hours=1))
        with assert_unchanged(c), pytest.raises(InvalidInput, match="before it starts"):
            c.report_shift("s4", member="sue", start=now, end=now - timedelta(hours=1))
        assert_consistent(c)

    # -- fixes: candidates, shift re-reports, replays, long bodies, matching, removal ---------
    def test_candidates_are_chosen_by_relevance_then_solved_then_newest(
        self, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = make_community(giffgaff().evolve(support=SupportRules(similar_candidates=3)))
        c.join("ann")
        c.join("bob")
        for i in range(6):  # more matches than candidates, with the lowest ids
            clock.advance(timedelta(minutes=1))
            c.post_topic(f"a{i}", author="ann", title=f"voicemail question {i}")
        clock.advance(timedelta(minutes=1))
        c.post_topic("zz-solved", author="ann", title="voicemail")
        c.post_reply("zr", topic="zz-solved", author="bob")
        c.accept_solution("zz-solved", reply="zr", by="ann")
        c.post_topic("zz-new", author="ann", title="voicemail newest")
        found = [(s.topic, s.solved) for s in c.similar_topics("voicemail")]
        assert found == [("zz-solved", True), ("zz-new", False), ("a5", False)]
        both = [s.topic for s in c.similar_topics("voicemail question")]
        assert both == ["a5", "a4", "a3"]  # two words beat one; then the newest
        assert_consistent(c)

    def test_every_distinct_shift_report_applies_and_the_same_one_is_a_replay(
        self, community: Community, clock: FakeClock
    ) -> None:
        c = community
        _desk(c)
        c.join("tom", role="staff")
        now = clock()
        first = (now, now + timedelta(hours=8))
        later = (now + timedelta(hours=1), now + timedelta(hours=9))
        assert not c.report_shift("s1", member="sam", start=first[0], end=first[1]).replayed
        assert c.report_shift("s1", member="sam", start=first[0], end=first[1]).replayed
        c.report_shift("s1", member="sam", start=later[0], end=later[1])
        assert c.staff_on_duty(at=now) == []
        back = c.report_shift("s1", member="sam", start=first[0], end=first[1])
        assert not back.replayed  # times it had before apply again
        assert c.staff_on_duty(at=now) == ["sam"]
        c.report_shift("s1", member="tom", start=first[0], end=first[1])  # only the member
        assert c.staff_on_duty(at=now) == ["tom"]
        c.report_shift("s1", member="tom", start=first[0], end=first[1], product="phone")
        assert (c.staff_on_duty("sim", at=now), c.staff_on_duty("phone", at=now)) == ([], ["tom"])
        c.report_shift("s1", member="tom", start=now, end=now)
        assert c.staff_on_duty(at=now) == []
        assert_consistent(c)

    def test_the_same_feeling_deflection_or_follow_again_is_a_replay(
        self, community: Community
    ) -> None:
        c = community
        _desk(c)
        with assert_unchanged(c), pytest.raises(NotAllowed, match="already has the feeling"):
            c.set_feeling("t2", "confused", by="cat")  # as posted: nothing to replay
        c.set_feeling("t2", "happy", by="cat")
        assert c.set_feeling("t2", "happy", by="cat").replayed
        assert not c.deflected("t1", by="dan").replayed
        assert c.deflected("t1", by="dan").replayed
        assert not c.follow("t1", member="dan").replayed
        assert c.follow("t1", member="dan").replayed
        assert not c.unfollow("t1", member="dan").replayed
        assert c.unfollow("t1", member="dan").replayed
        assert c.deflections() == 1
        with assert_unchanged(c), pytest.raises(NotAllowed, match="already has the feeling"):
            c.set_feeling("t2", "happy", by="cat", event_id="cat-feels-happy-again")
        with assert_unchanged(c), pytest.raises(NotAllowed, match="already said"):
            c.deflected("t1", by="dan", event_id="dan-deflected-again")
        assert_consistent(c)

    def test_a_long_body_is_indexed_by_its_first_ten_thousand_characters(
        self, community: Community
    ) -> None:
        c = community
        _desk(c)
        body = "voicemail " + "x" * 12_000 + " roaming-bundle"
        assert not c.post_topic("t9", author="ann", title="Long post", body=body).replayed
        assert [s.topic for s in c.similar_topics("voicemail")] == ["t9"]
        assert c.similar_topics("bundle") == []  # past the indexed prefix
        with assert_unchanged(c), pytest.raises(InvalidInput, match="U\\+0000"):
            c.post_topic("t10", author="ann", title="NUL late", body="a" * 12_000 + "\x00")
        assert_consistent(c)

    def test_feelings_and_deflections_refuse_a_period_the_policy_does_not_have(
        self, community: Community
    ) -> None:
        c = community
        for period in ("2026-Q9", "nonsense", "2026-H3"):
            with pytest.raises(UnknownRecord):
                c.feelings(period=period)
            with pytest.raises(UnknownRecord):
                c.deflections(period=period)
        now = c.policy.periods.period_of(c.now())
        assert sum(c.feelings(period=now).values()) == 0
        assert c.deflections(period=now) == 0

    def test_a_product_or_tag_named_like_a_wildcard_or_separator_counts_once(
        self, community: Community
    ) -> None:
        c = community
        c.join("ann")
        c.post_topic("t1", author="ann", title="Odd names", product="*", feeling="happy")
        c.post_topic("t2", author="ann", title="More", product="p|q", tags=["t"], feeling="happy")
        assert c.feelings()["happy"] == 2
        assert c.feelings(product="*")["happy"] == 1
        assert c.feelings(product="p")["happy"] == 0
        assert c.feelings(product="p", tag="q|t")["happy"] == 0
        assert c.feelings(product="p|q", tag="t")["happy"] == 1
        assert_consistent(c)

    def test_presence_of_a_reply_points_to_its_topic(self, community: Community) -> None:
        c = community
        c.join("ann")
        c.join("bob")
        c.post_topic("t1", author="ann", title="No data abroad", product="sim")
        c.post_reply("r1", topic="t1", author="bob")
        assert c.presence(topic="t1").people_involved == 2
        with pytest.raises(UnknownRecord, match="'r1' is a reply"):
            c.presence(topic="r1")

    def test_a_very_long_word_is_found_on_every_store(self, community: Community) -> None:
        c = community
        c.join("ann")
        long_word = "x" * 5_000
        c.post_topic("t1", author="ann", title=f"Error {long_word}")
        c.post_topic("t2", author="ann", title="Error 3 on the screen")
        assert [s.topic for s in c.similar_topics(long_word)] == ["t1"]
        assert [s.topic for s in c.similar_topics("error ³")] == ["t2", "t1"]

    def test_stop_words_are_left_out_and_words_are_folded_alike(
        self, community: Community, make_community: MakeCommunity, clock: FakeClock
    ) -> None:
        c = community
        _desk(c)
        clock.advance(timedelta(minutes=1))
        c.post_topic("t4", author="cat", title="How do I change my PIN?")
        c.post_topic("t5", author="dan", title="Données à l'étranger: ÉCRAN cassé")
        found = c.similar_topics("How do I get data abroad?")
        assert [s.topic for s in found][:2] == ["t1", "t2"]
        assert "t4" not in [s.topic for s in found]
        assert [s.topic for s in c.similar_topics("PINs")] == ["t4"]
        assert [s.topic for s in c.similar_topics("donnees ecran")] == ["t5"]
        assert [s.topic for s in c.similar_topics("DONNÉES")] == ["t5"]
        plain = make_community(
            giffgaff().evolve(support=SupportRules(stop_words=())), community="plain"
        )
        _desk(plain)
        plain.post_topic("t4", author="cat", title="How do I change my PIN?")
        assert "t4" in [s.topic for s in plain.similar_topics("How do I get data abroad?")]
        assert_consistent(c)

    def test_removed_topics_and_deleted_staff_do_not_count_in_presence(
        self, community: Community, clock: FakeClock
    ) -> None:
        c = community
        _desk(c)
        c.follow("t2", member="dan")
        assert c.presence(product="sim").people_involved == 4  # ann, bob, cat, dan
        c.remove_post("t2", by="sam")
        assert c.presence(product="sim").people_involved == 2  # ann, bob in t1
        with assert_unchanged(c), pytest.raises(NotAllowed, match="removed; it cannot be followed"):
            c.follow("t2", member="ann")
        with assert_unchanged(c), pytest.raises(NotAllowed, match="removed; it cannot have its"):
            c.set_feeling("t2", "happy", by="cat")
        c.unfollow("t2", member="dan")  # leaving a removed topic is allowed
        assert c.presence(product="sim").people_involved == 2
        c.restore_post("t2", by="sam")
        assert c.presence(product="sim").people_involved == 3  # ann, bob, cat
        c.follow("t2", member="dan")
        assert c.presence(product="sim").people_involved == 4
        now = clock()
        c.join("sue", role="staff")
        c.report_shift("s1", member="sue", start=now, end=now + timedelta(hours=8))
        c.report_shift("s2", member="sam", start=now, end=now + timedelta(hours=8))
        assert c.presence(product="sim", at=now).employees_available == 2
        c.delete_member("sue")
        assert c.staff_on_duty(at=now) == ["sam"]
        with assert_unchanged(c), pytest.raises(NotAllowed, match="deleted"):
            c.report_shift("s3", member="sue", start=now, end=now + timedelta(hours=1))
        assert_consistent(c)

    def test_a_topic_whose_accepted_reply_was_removed_is_not_shown_solved(
        self, community: Community
    ) -> None:
        c = community
        _desk(c)
        assert c.similar_topics("data abroad")[0].solved
        c.deflected("t1", by="dan")
        before = c.standing("bob").points
        c.remove_post("r1", by="sam")
        first = next(s for s in c.similar_topics("data abroad") if s.topic == "t1")
        assert (first.solved, first.solution) == (False, None)
        assert c.standing("bob").points < before  # the deflection reward went with it
        c.restore_post("r1", by="sam")
        assert c.standing("bob").points == before
        first = next(s for s in c.similar_topics("data abroad") if s.topic == "t1")
        assert (first.solved, first.solution) == (True, "r1")
        assert_consistent(c)

    # -- review fixes: facts dated before their post, removed topics, deleted members ------
    def test_facts_dated_before_their_topic_or_reply_are_refused_naming_both_times(
        self, community: Community, clock: FakeClock
    ) -> None:
        c = community
        _desk(c)  # t1, r1 (accepted), t2, t3 posted at the clock's time
        c.post_reply("r2", topic="t2", author="ann")
        c.post_topic("i1", author="ann", kind="idea", title="eSIM support")
        posted = clock()
        early = posted - timedelta(minutes=5)
        times = re.escape(early.isoformat()), re.escape(posted.isoformat())
        shown = rf"{times[0]}.*before .* was posted \({times[1]}\)"
        refusals: list[Callable[[], object]] = [
            lambda: c.post_reply("r3", topic="t2", author="bob", at=early),
            lambda: c.accept_solution("t2", reply="r2", by="cat", at=early),
            lambda: c.give_kudos("r2", giver="bob", at=early),
            lambda: c.give_kudos("t2", giver="bob", at=early),
            lambda: c.deflected("t1", by="dan", at=early),
            lambda: c.follow("t2", member="dan", at=early),
            lambda: c.set_feeling("t2", "happy", by="cat", at=early),
            lambda: c.vote_idea("i1", voter="bob", at=early),
        ]
        for refused in refusals:
            with assert_unchanged(c), pytest.raises(InvalidInput, match=shown):
                refused()
        # at the post's own time, or later, each is taken
        c.give_kudos("r2", giver="bob", at=posted)
        c.deflected("t1", by="dan", at=posted)
        c.follow("t2", member="dan", at=posted + timedelta(seconds=1))
        c.set_feeling("t2", "happy", by="cat", at=posted)
        c.accept_solution("t2", reply="r2", by="cat", at=posted)
        assert c.topic_feedback("t2").solved
        assert_consistent(c)

    def test_a_shift_time_given_as_text_asks_for_an_aware_datetime(
        self, community: Community, clock: FakeClock
    ) -> None:
        c = community
        c.join("sam", role="staff")
        now = clock()
        for start in ("2026-11-23T12:00", now.isoformat()):
            with assert_unchanged(c), pytest.raises(InvalidInput) as refused:
                c.report_shift("s1", member="sam", start=start, end=now)  # type: ignore[arg-type]
            message = str(refused.value)
            assert "start must be a datetime (timezone-aware), got str" in message
            assert "tzinfo=UTC" in message and "naive" not in message
        with assert_unchanged(c), pytest.raises(InvalidInput, match="end must be a datetime"):
            c.report_shift("s1", member="sam", start=now, end="tomorrow")  # type: ignore[arg-type]

    def test_a_deleted_member_stops_counting_among_people_involved_and_followers(
        self, community: Community, clock: FakeClock
    ) -> None:
        c = community
        _desk(c)  # t1: ann asks, bob answers; t2: cat; both on product sim
        c.follow("t1", member="dan")
        c.follow("t2", member="bob")
        before = c.presence(topic="t1")
        assert (before.people_involved, before.followers) == (3, 1)
        assert c.presence(product="sim").people_involved == 4
        now = clock()
        c.report_shift("s1", member="sam", start=now, end=now + timedelta(hours=8))
        c.delete_member("dan")
        c.delete_member("bob")
        c.delete_member("sam")
        after = c.presence(topic="t1", at=now)
        assert (after.people_involved, after.followers, after.staff_on_duty) == (1, 0, ())
        assert c.presence(topic="t2").people_involved == 1  # cat
        assert c.presence(product="sim").people_involved == 2  # ann, cat
        with assert_unchanged(c), pytest.raises(NotAllowed, match="deleted; they follow nothing"):
            c.follow("t2", member="dan")
        c.unfollow("t1", member="dan")  # a host's clean-up after deleting: nothing to end
        assert c.presence(topic="t1").followers == 0
        c.post_reply("r9", topic="t2", author="bob")  # a deleted account's post stays, as no one's
        assert c.presence(topic="t2").people_involved == 1
        assert_consistent(c)

    def test_removing_a_topic_takes_back_its_deflections_and_restoring_gives_them_again(
        self, community: Community
    ) -> None:
        c = community
        _desk(c)  # bob's r1 solves t1
        c.join("sue", role="staff")
        start = c.standing("bob").points
        c.deflected("t1", by="dan")
        c.deflected("t1", by="cat")
        paid = c.standing("bob").points
        assert paid > start
        assert c.deflections(topic="t1") == c.deflections(product="sim") == 2
        c.remove_post("t1", by="sue")
        assert c.standing("bob").points == start
        assert c.deflections() == c.deflections(topic="t1") == c.deflections(product="sim") == 0
        c.restore_post("t1", by="sue")
        assert c.standing("bob").points == paid
        assert c.deflections(topic="t1") == 2
        # again (its own event ids): what was given again is taken back again
        c.remove_post("t1", by="sue", event_id="remove-t1-again")
        assert c.standing("bob").points == start
        c.restore_post("t1", by="sue", event_id="restore-t1-again")
        assert c.standing("bob").points == paid
        assert_consistent(c)

    # -- a topic and its solution removed and restored in any order ------------------------
    @pytest.mark.parametrize(
        "order",
        [
            "t- r- t+ r+",
            "t- r- r+ t+",
            "r- t- t+ r+",
            "r- t- r+ t+",
            "t- t+ r- r+",
            "r- r+ t- t+",
            "t- r- t+ t- r+ t+",
            "r- t- r+ r- t+ r+",
        ],
    )
    def test_deflection_rewards_come_back_in_any_order_of_removing_and_restoring(
        self, community: Community, order: str
    ) -> None:
        c = community
        _desk(c)  # bob's r1 solves t1
        c.join("sue", role="staff")
        start = c.standing("bob")
        c.deflected("t1", by="dan")
        c.deflected("t1", by="cat")
        paid = c.standing("bob")
        assert paid.points > start.points
        removed = {"t": False, "r": False}
        for n, step in enumerate(order.split()):
            post, sign = ("t1" if step[0] == "t" else "r1"), step[1]
            if sign == "-":
                c.remove_post(post, by="sue", event_id=f"rm-{n}")
            else:
                c.restore_post(post, by="sue", event_id=f"rs-{n}")
            removed[step[0]] = sign == "-"
            # the deflection rewards are live exactly while topic and solution both are
            dead = removed["t"] or removed["r"]
            if removed["r"]:  # the reply's own awards are gone too while it is removed
                assert c.standing("bob").points < paid.points
            else:
                want = start if dead else paid
                got = c.standing("bob")
                assert (got.points, got.reputation) == (want.points, want.reputation), step
            assert c.deflections(topic="t1") == (0 if removed["t"] else 2)
        got = c.standing("bob")
        assert (got.points, got.reputation) == (paid.points, paid.reputation)
        assert c.deflections() == c.deflections(product="sim") == 2
        assert_consistent(c)

    @pytest.mark.parametrize(
        "order",
        [
            "t- r- t+ u r+ a",  # restored while unaccepted, then accepted again
            "t- r- t+ u r+",  # restored while unaccepted: the reply still answered them
            "r- u r+ a",
            "u t- t+ a",
            "u r- t- r+ t+ a",
        ],
    )
    def test_deflection_rewards_end_the_same_whatever_unaccepts_come_between(
        self, community: Community, order: str
    ) -> None:
        c = community
        _desk(c)  # bob's r1 solves t1
        c.join("sue", role="staff")
        c.deflected("t1", by="dan")
        c.deflected("t1", by="cat")
        paid = c.standing("bob")
        for n, step in enumerate(order.split()):
            if step == "u":
                c.unaccept_solution("t1", by="ann", event_id=f"un-{n}")
            elif step == "a":
                c.accept_solution("t1", reply="r1", by="ann", event_id=f"acc-{n}")
            else:
                post, sign = ("t1" if step[0] == "t" else "r1"), step[1]
                if sign == "-":
                    c.remove_post(post, by="sue", event_id=f"rm-{n}")
                else:
                    c.restore_post(post, by="sue", event_id=f"rs-{n}")
        # where a community that removed nothing and did the same unaccepts would end
        plain = c.standing("bob")
        if c.post("t1").solution == "r1":
            assert (plain.points, plain.reputation) == (paid.points, paid.reputation)
        else:  # a plain unaccept takes the solution's reward and keeps the deflection ones
            solution = c.policy.reward("solution_accepted")
            assert plain.points == paid.points - solution.points
        assert c.deflections(topic="t1") == 2
        assert_consistent(c)

    # -- facts that undo an earlier fact cannot be older than it ---------------------------
    def test_facts_dated_before_the_fact_they_undo_are_refused_naming_both_times(
        self, community: Community, clock: FakeClock
    ) -> None:
        c = community
        _desk(c)  # t1 (r1 accepted), t2, t3 posted at the clock's time
        c.post_reply("r2", topic="t2", author="ann")
        c.post_topic("i1", author="ann", kind="idea", title="eSIM support")
        posted = clock()
        clock.advance(hours=1)
        done = clock()  # the facts the undoing facts refer to
        c.give_kudos("r2", giver="bob")
        c.follow("t2", member="dan")
        c.accept_solution("t2", reply="r2", by="cat")
        c.vote_idea("i1", voter="bob")
        c.remove_post("t3", by="sam")
        clock.advance(hours=1)
        between = done - timedelta(minutes=5)  # after the posts, before the facts
        times = re.escape(between.isoformat()), re.escape(done.isoformat())
        shown = rf"{times[0]}, before .* \({times[1]}\); it cannot be older than"
        refusals: list[tuple[str, Callable[[], object]]] = [
            ("kudos was given", lambda: c.withdraw_kudos("r2", giver="bob", at=between)),
            ("they followed 't2'", lambda: c.unfollow("t2", member="dan", at=between)),
            ("'r2' was accepted", lambda: c.unaccept_solution("t2", by="cat", at=between)),
            ("the vote was cast", lambda: c.withdraw_vote("i1", voter="bob", at=between)),
            ("it was removed", lambda: c.restore_post("t3", by="sam", at=between)),
        ]
        for earlier, refused in refusals:
            with assert_unchanged(c), pytest.raises(InvalidInput, match=shown) as raised:
                refused()
            assert earlier in str(raised.value)
        # before the post itself: removing, restoring and unfollowing name the post
        early = posted - timedelta(minutes=5)
        before_post = rf"{re.escape(early.isoformat())}, before topic 't2' was posted"
        for refused in (
            lambda: c.remove_post("t2", by="sam", at=early),
            lambda: c.unfollow("t2", member="dan", at=early),
        ):
            with assert_unchanged(c), pytest.raises(InvalidInput, match=before_post):
                refused()
        # at the earlier fact's own time, or later, each is taken
        c.withdraw_kudos("r2", giver="bob", at=done)
        c.unfollow("t2", member="dan", at=done)
        c.unaccept_solution("t2", by="cat", at=done + timedelta(seconds=1))
        c.withdraw_vote("i1", voter="bob", at=done)
        c.restore_post("t3", by="sam", at=done)
        c.remove_post("t2", by="sam", at=posted)
        assert not c.topic_feedback("t2").solved
        assert c.presence(topic="t2").followers == 0
        assert_consistent(c)

    # -- referrals, payouts, holds and ideas are not older than what they refer to --------
    @pytest.mark.parametrize(
        ("fact", "earlier"),
        [
            ("referral qualified", "the referral was made"),
            ("referral revoked", "the referral qualified"),
            ("referral reviewed", "the referral qualified"),
            ("payout paid", "the close that issued it"),
            ("payout failed", "the close that issued it"),
            ("payout released", "the payout was held"),
            ("payout held again", "its previous hold was released"),
            ("idea status set", "topic 'i1' was posted"),
        ],
    )
    def test_referral_payout_hold_and_idea_facts_dated_before_their_referent_are_refused(
        self, make_community: MakeCommunity, clock: FakeClock, fact: str, earlier: str
    ) -> None:
        c = make_community(giffgaff().evolve(referrals=ReferralRules()))
        clock.set(datetime(2026, 11, 2, 9, tzinfo=UTC))
        c.join("sam", role="staff")
        c.join("ann", fingerprints=["pay:1"])
        c.join("bob", referred_by="ann", fingerprints=["pay:1"] if "reviewed" in fact else ())
        c.post_topic("t0", author="ann")
        c.give_kudos("t0", giver="bob")
        c.set_payout_method("ann", "credit")
        c.post_topic("i1", author="ann", kind="idea", title="eSIM support")
        clock.advance(hours=1)
        done = clock()  # the fact the refused one refers to
        step: Callable[[datetime], object]
        if fact == "referral qualified":
            step = lambda at: c.qualify_referral("bob", at=at)  # noqa: E731
            done = clock() - timedelta(hours=1)
        elif fact.startswith("referral"):
            c.qualify_referral("bob")
            step = {
                "referral revoked": lambda at: c.revoke_referral("bob", at=at),
                "referral reviewed": lambda at: c.review_referral(
                    "bob", approve=True, by="sam", at=at
                ),
            }[fact]
        elif fact.startswith("payout") and fact != "payout held again":
            if fact == "payout released":
                c.hold_payout("ann", "2026-H2", by="sam", reason="review")
                step = lambda at: c.release_payout("ann", "2026-H2", by="sam", at=at)  # noqa: E731
            else:
                clock.set(datetime(2026, 12, 1, 1, tzinfo=UTC))
                done = clock()
                c.close_period("2026-H2")
                step = {
                    "payout paid": lambda at: c.mark_payout_paid("2026-H2:ann", "REF-1", at=at),
                    "payout failed": lambda at: c.mark_payout_failed("2026-H2:ann", at=at),
                }[fact]
        elif fact == "payout held again":
            c.hold_payout("ann", "2026-H2", by="sam", reason="review", at=done - timedelta(hours=1))
            c.release_payout("ann", "2026-H2", by="sam")
            step = lambda at: c.hold_payout("ann", "2026-H2", by="sam", reason="again", at=at)  # noqa: E731
        else:
            done = clock() - timedelta(hours=1)
            step = lambda at: c.set_idea_status("i1", "planned", by="sam", at=at)  # noqa: E731
        clock.advance(hours=1)
        early = done - timedelta(minutes=5)
        shown = (
            rf"{re.escape(early.isoformat())}, before .*\({re.escape(done.isoformat())}\); "
            "it cannot be older than"
        )
        with assert_unchanged(c), pytest.raises(InvalidInput, match=shown) as raised:
            step(early)
        assert earlier in str(raised.value)
        step(done)  # at the earlier fact's own time it is taken
        assert_consistent(c)

    # -- final review: facts about a solution are not older than its acceptance ------------
    def test_a_deflection_or_canonical_mark_dated_before_the_acceptance_is_refused(
        self, community: Community, clock: FakeClock
    ) -> None:
        c = community
        for m in ("ann", "bob", "eve"):
            c.join(m)
        c.join("sam", role="staff")
        c.post_topic("t1", author="ann", kind="problem", title="No data abroad")
        clock.advance(hours=1)
        c.post_reply("r1", topic="t1", author="bob")
        clock.advance(hours=1)
        c.accept_solution("t1", reply="r1", by="ann")
        accepted = clock()
        clock.advance(hours=1)
        early = accepted - timedelta(minutes=5)
        shown = (
            rf"{re.escape(early.isoformat())}, before 'r1' was accepted "
            rf"\({re.escape(accepted.isoformat())}\); it cannot be older than"
        )
        with assert_unchanged(c), pytest.raises(InvalidInput, match=shown):
            c.deflected("t1", by="eve", at=early)
        with assert_unchanged(c), pytest.raises(InvalidInput, match=shown):
            c.mark_canonical("t1", "r1", by="sam", at=early)
        # at the acceptance's own time, or later, both are taken
        assert c.deflected("t1", by="eve", at=accepted).entries
        c.mark_canonical("t1", "r1", by="sam", at=accepted)
        assert c.deflections(topic="t1") == 1
        assert_consistent(c)
