"""Channels, merges and response health: ids, policy data and the invariants (hypothesis)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kudos
from kudos import InvalidInput, InvalidPolicy, KudosError, Policy
from kudos.channels import ChannelRules
from kudos.engine.core import default_id
from kudos.events import KudosGiven, TopicPosted
from kudos.health import HealthRules, Timing
from kudos.health.api import timing
from kudos.testing import FakeClock, assert_consistent


def test_a_channel_changes_neither_a_facts_id_nor_the_content_of_one_without() -> None:
    plain = KudosGiven(post="r1", giver="bob")
    tweeted = KudosGiven(post="r1", giver="bob", channel="twitter")
    assert default_id(plain) == default_id(tweeted) == "kudos-given:r1:bob"
    assert plain.content() == {"post": "r1", "giver": "bob"}
    assert tweeted.content() == {"post": "r1", "giver": "bob", "channel": "twitter"}


def test_the_same_fact_through_another_channel_under_one_id_is_a_conflict() -> None:
    c = kudos.Community(clock=FakeClock())
    c.join("bob")
    c.via("twitter").post_topic("t1", author="bob")
    assert c.via("twitter").post_topic("t1", author="bob").replayed
    with pytest.raises(kudos.Conflict):
        c.via("email").post_topic("t1", author="bob")


def test_a_view_on_a_channel_leaves_a_facts_own_channel_alone() -> None:
    c = kudos.Community(clock=FakeClock())
    c.join("bob")
    c.via("twitter").record(TopicPosted(topic="t1", author="bob", channel="email"))
    assert c.topic_feedback("t1").channel == "email"
    assert c.via("chat").topic_feedback("t1").channel == "email"


def test_channel_and_health_sections_load_from_toml_and_are_checked() -> None:
    policy = Policy.from_toml(
        'name = "desk"\n[channels]\nallowed = ["web", "sms"]\n[health]\ntarget_seconds = 90\n'
    )
    assert policy.channels == ChannelRules(allowed=("web", "sms"))
    assert policy.health == HealthRules(target_seconds=90)
    with pytest.raises(InvalidPolicy, match=r"channels\.default"):
        ChannelRules(allowed=("sms",))
    assert ChannelRules(allowed=("web", "web")).allowed == ("web",)  # a set: each name once
    with pytest.raises(InvalidPolicy, match="target_seconds"):
        HealthRules(target_seconds=0)


def test_timing_takes_nearest_rank_percentiles_in_whole_seconds() -> None:
    assert timing([]) == Timing()
    assert timing([5]) == Timing(count=1, median=5, p90=5, longest=5)
    assert timing(range(1, 11)) == Timing(count=10, median=5, p90=9, longest=10)
    assert timing(range(1, 101)).p90 == 90


def test_bad_arguments_are_refused_with_kudos_errors() -> None:
    c = kudos.Community(clock=FakeClock())
    for call in (
        lambda: c.via(""),
        lambda: c.via(3),  # type: ignore[arg-type]
        lambda: c.health(by="mood"),
        lambda: c.health(period=""),
        lambda: c.member_by_handle("twitter", "\x00"),
        lambda: c.topic_feedback(""),
        lambda: c.answer_for(None),  # type: ignore[arg-type]
    ):
        with pytest.raises(InvalidInput):
            call()


# --- invariants ---------------------------------------------------------------------

MEMBERS = ["m0", "m1", "m2", "m3", "m4"]
CHANNELS = [None, "web", "twitter", "email"]

step = st.one_of(
    st.tuples(st.just("topic"), st.sampled_from(MEMBERS), st.sampled_from(CHANNELS)),
    st.tuples(st.just("reply"), st.sampled_from([*MEMBERS, "staff"]), st.integers(0, 9)),
    st.tuples(st.just("kudos"), st.sampled_from(MEMBERS), st.integers(0, 30)),
    st.tuples(st.just("accept"), st.integers(0, 9), st.integers(0, 30)),
    st.tuples(st.just("remove"), st.integers(0, 30), st.booleans()),
    st.tuples(st.just("canonical"), st.integers(0, 9), st.sampled_from(CHANNELS)),
    st.tuples(st.just("merge"), st.sampled_from(MEMBERS), st.sampled_from(MEMBERS)),
    st.tuples(st.just("wait"), st.integers(1, 20_000), st.just(0)),
)


def _play(c: kudos.Community, clock: FakeClock, steps: list[tuple[str, object, object]]) -> None:
    topics: list[str] = []
    replies: list[str] = []
    for i, (kind, a, b) in enumerate(steps):
        try:
            if kind == "topic":
                channel = b if isinstance(b, str) else None
                c.record(
                    TopicPosted(topic=f"t{i}", author=str(a), tags=[f"g{i % 3}"], channel=channel)
                )
                topics.append(f"t{i}")
            elif kind == "reply" and topics:
                c.post_reply(f"r{i}", topic=topics[int(str(b)) % len(topics)], author=str(a))
                replies.append(f"r{i}")
            elif kind == "kudos" and replies:
                c.give_kudos(replies[int(str(b)) % len(replies)], giver=str(a))
            elif kind == "accept" and topics and replies:
                topic = topics[int(str(a)) % len(topics)]
                c.accept_solution(topic, reply=replies[int(str(b)) % len(replies)], by="staff")
            elif kind == "remove" and replies:
                post = replies[int(str(a)) % len(replies)]
                if b:
                    c.remove_post(post, by="staff", reason="spam")
                else:
                    c.restore_post(post, by="staff")
            elif kind == "canonical" and topics:
                topic = topics[int(str(a)) % len(topics)]
                solution = c.post(topic).solution
                if solution is not None:
                    if not c.canonical_answers(topic):
                        c.mark_canonical(topic, solution, by="staff")
                    channel = b if isinstance(b, str) else None
                    c.answer_with(f"conv{i}", canonical=solution, channel=channel, by="staff")
            elif kind == "merge":
                c.merge_members(str(a), into=str(b), by="staff")
            elif kind == "wait":
                clock.advance(timedelta(seconds=int(str(a))))
        except KudosError:
            pass  # a refused fact: the rules said no, and nothing was written


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(step, max_size=40))
def test_health_and_links_after_rebuild_equal_incremental_and_merges_keep_the_ledger(
    steps: list[tuple[str, object, object]],
) -> None:
    clock = FakeClock()
    c = kudos.Community(clock=clock, cache=None)
    for m in MEMBERS:
        c.join(m)
    c.join("staff", role="staff")
    _play(c, clock, steps)
    before = (
        c.health(by="tag"),
        c.health(by="channel"),
        c.answer_inconsistencies(),
        c.answer_uses(),
        {m: c.standing(m) for m in MEMBERS},
    )
    assert_consistent(c, replay=False)  # balances == ledger sums, replay == stored
    c.rebuild()
    after = (
        c.health(by="tag"),
        c.health(by="channel"),
        c.answer_inconsistencies(),
        c.answer_uses(),
        {m: c.standing(m) for m in MEMBERS},
    )
    assert after == before
    for kept in MEMBERS:
        for merge in c.merges(kept):
            s = c.standing(merge.member)
            assert (s.points, s.reputation) == (0, 0)


def test_a_cached_health_report_still_ages_the_unanswered_and_sees_writes() -> None:
    clock = FakeClock()
    c = kudos.Community(clock=clock, cache=kudos.ReadCache())
    c.join("bob")
    c.join("alice")
    c.post_topic("t1", author="bob")
    first = c.health().total
    assert (first.unanswered, first.unanswered_age.longest, first.past_target) == (1, 0, 0)
    clock.advance(hours=2)
    later = c.health().total
    assert (later.unanswered_age.longest, later.past_target) == (7200, 1)
    c.post_reply("r1", topic="t1", author="alice")
    answered = c.health().total
    assert (answered.unanswered, answered.first_response.median) == (0, 7200)
    assert (answered.within_target, answered.past_target) == (0, 1)


def test_an_event_given_its_derived_id_keeps_its_channel() -> None:
    event = KudosGiven(post="r1", giver="bob", channel="twitter").with_id("kudos-given:r1:bob")
    assert (event.event_id, event.channel) == ("kudos-given:r1:bob", "twitter")
    assert KudosGiven(post="r1", giver="bob").with_id("x").channel is None


def test_a_handle_may_be_as_long_as_an_email_address_and_is_compared_as_given() -> None:
    c = kudos.Community(clock=FakeClock())
    c.join("bob")
    address = "b" * 64 + "@" + "e" * 185 + ".com"  # 254 characters, the longest e-mail address
    c.link_identity("bob", "email", address)
    assert c.member_by_handle("email", address) == "bob"
    c.rebuild()
    assert c.identities("bob")[0].handle == address
    with pytest.raises(kudos.UnknownMember):
        c.member_by_handle("email", address.upper())  # normalising is the host's job
    with pytest.raises(InvalidInput, match="at most 320"):
        c.link_identity("bob", "email", "x" * 321)
