"""Random sequences of every core fact, checked against a model of the rules.

A :class:`CoreMachine` reports facts (joins, topics, replies, kudos and their
withdrawal, down-votes, solutions, removals and restores, adjustments) picked at random
from small pools of ids, so that unknown members and posts, repeated facts,
retries and facts the rules refuse all come up. Before each fact the
:class:`Forum` model predicts what must happen: a new fact, a replay of an
earlier one (same event id, same content), a :class:`kudos.Conflict` (same id,
other content) or a refusal (which :class:`kudos.KudosError`). A refusal and a
replay must leave the store exactly as it was.

After every step cheap invariants hold (balances equal the ledger, reversals
are exact and complete, caps are never exceeded, counters agree with the
model); at the end the whole log replays to the same state (``rebuild`` and
:func:`kudos.testing.assert_consistent`).

:class:`WholeCommunityMachine` interleaves referrals and idea voting with the core
facts (their own models live in tests/test_referrals.py and tests/test_ideas.py), so the
invariants are checked across capabilities.

To cover a new capability: add its facts to a subclass of :class:`Forum`
(``derived_id`` for toggled facts, a ``refuse_<event type>`` and an
``apply_<event type>`` method) and its rules to a subclass of
:class:`CoreMachine` that report through :meth:`CoreMachine.report`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import event as note
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from kudos import (
    Community,
    Conflict,
    KudosError,
    MemoryStore,
    NotAllowed,
    Policy,
    UnknownMember,
    UnknownPost,
)
from kudos.engine import caps as _caps
from kudos.engine import core as engine
from kudos.events import (
    DownVoted,
    DownVoteWithdrawn,
    Event,
    EventRefused,
    KudosGiven,
    KudosWithdrawn,
    MemberJoined,
    PointsAdjusted,
    PostRemoved,
    PostRestored,
    ReplyPosted,
    SolutionAccepted,
    SolutionUnaccepted,
    TopicPosted,
)
from kudos.health import handlers as _health
from kudos.model import LedgerEntry, Outcome, StoredEvent
from kudos.policies import giffgaff, stackexchange
from kudos.policy import CORE_ACTIONS, Cap, Reward
from kudos.testing import FakeClock, _stored_state, assert_consistent, assert_unchanged

MEMBERS = ("ann", "ben", "cat", "dan", "mo")
POSTS = ("p1", "p2", "p3", "p4", "p5")
IDEAS = ("i1", "i2")
ROLES = ("member", "member", "member", "staff", "moderator")
KINDS = ("question", "question", "problem", "idea", "praise")
REASONS = ("removed", "spam", "off-topic")

ENGINE_LINES = ("adjustment", *_caps.UNCAPPED)
"""Ledger actions no reward of the policy pays: adjustments, caps' and the floor's lines."""

# Half an hour before midnight in London on 31 May: a few steps cross into a new
# day, a new month and giffgaff's second half-year.
START = datetime(2026, 5, 31, 22, 30, tzinfo=UTC)


# --- the model ----------------------------------------------------------------------


def _snake(event: Event) -> str:
    return event.type.replace("-", "_")


def _other_actor(known: tuple[str, dict[str, Any]], event: Event) -> bool:
    """Whether ``event`` is ``known``'s kind of action taken by someone else (its ``by``)."""
    kind, content = known
    by = event.content().get("by")
    return kind == event.type and by is not None and content.get("by") != by


def _facts(rows: list[StoredEvent]) -> list[StoredEvent]:
    """The logged facts, without the refusals kudos remembers for host ids."""
    return [r for r in rows if r.type != EventRefused.type]


@attrs.define
class PostModel:
    """What the model knows of a topic or reply."""

    kind: str
    author: str
    topic: str | None = None
    removed: bool = False
    solution: str | None = None
    accept_gen: int = 0
    accepted_by_derived_id: bool = False
    removed_event: str | None = None  # the id of the removal, and restoration, last applied
    restored_event: str | None = None


@attrs.define
class VoteModel:
    """A member's kudos or down-vote on a post."""

    active: bool = False
    gen: int = 0
    event_id: str = ""


class Forum:
    """The rules of the core, as the model sees them: ids, refusals, and their effects.

    ``log`` maps every recorded event id to its type and content, so the model
    knows when a fact is a replay (same content) or a conflict (other content).
    """

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.members: dict[str, str] = {}
        self.posts: dict[str, PostModel] = {}
        self.votes: dict[tuple[str, str, str], VoteModel] = defaultdict(VoteModel)
        self.log: dict[str, tuple[str, dict[str, Any]]] = {}
        self.outcomes: dict[str, Outcome] = {}
        self.accepts: dict[str, str] = {}  # topic -> event id of its current acceptance
        self.undone: set[str] = set()  # ids of votes switched off and acceptances undone

    # -- event ids ---------------------------------------------------------------------
    def derived_id(self, event: Event) -> str:
        """The id kudos must derive for ``event`` (given without an ``event_id``)."""
        base = engine.default_id(event)
        if isinstance(event, KudosGiven | DownVoted):
            vote = self._vote(event)
            return engine.generation_id(base, vote.gen if vote.active else vote.gen + 1)
        if isinstance(event, KudosWithdrawn | DownVoteWithdrawn):
            return engine.generation_id(base, max(self._vote(event).gen, 1))
        if isinstance(event, SolutionAccepted):
            topic = self.posts.get(event.topic)
            gen = topic.accept_gen if topic else 0
            same = topic is not None and topic.solution == event.reply
            return engine.generation_id(base, gen if same else gen + 1)
        if isinstance(event, SolutionUnaccepted):
            topic = self.posts.get(event.topic)
            return engine.generation_id(base, max(topic.accept_gen if topic else 0, 1))
        if isinstance(event, PostRemoved | PostRestored):
            # Reported again while the post is so, the removal (restoration) last applied
            # is retried when its id is one of the fact's numbered ones; else the fact is
            # new: the first number above that one's that the log does not hold.
            removes = isinstance(event, PostRemoved)
            post = self.posts.get(event.post)
            last = None if post is None else post.removed_event if removes else post.restored_event
            numbered = [engine.generation_id(base, n) for n in range(1, len(self.log) + 2)]
            number = numbered.index(last) + 1 if last in numbered else 0
            if post is not None and post.removed == removes:
                if number:
                    return str(last)
                known = self.log.get(base, ("", {}))
                if last is None and known == (event.type, {**known[1], "post": event.post}):
                    return base  # restored by a kudos keeping no id: its first restoration
            gen = number + 1
            while engine.generation_id(base, gen) in self.log:
                gen += 1
            return engine.generation_id(base, gen)
        return base

    def _vote(self, event: Any) -> VoteModel:
        kind = "kudos" if isinstance(event, KudosGiven | KudosWithdrawn) else "down_vote"
        member = event.giver if kind == "kudos" else event.voter
        return self.votes[(kind, event.post, member)]

    # -- refusals ------------------------------------------------------------------------
    def refusal(self, event: Event, reputation: dict[str, int]) -> type[KudosError] | None:
        """The error the rules must raise for ``event`` (None: it must be recorded)."""
        self.reputation = reputation
        refuse = getattr(self, f"refuse_{_snake(event)}")
        found: type[KudosError] | None = refuse(event)
        return found

    def _member(self, member: str) -> type[KudosError] | None:
        return None if member in self.members else UnknownMember

    def _post(self, post: str) -> type[KudosError] | None:
        return None if post in self.posts else UnknownPost

    def _live(self, post: str) -> type[KudosError] | None:
        return self._post(post) or (NotAllowed if self.posts[post].removed else None)

    def _staff(self, member: str) -> bool:
        return self.members.get(member) in ("staff", "moderator")

    def refuse_member_joined(self, e: MemberJoined) -> type[KudosError] | None:
        return NotAllowed if e.member in self.members else None

    def refuse_topic_posted(self, e: TopicPosted) -> type[KudosError] | None:
        return self._member(e.author) or (NotAllowed if e.topic in self.posts else None)

    def refuse_reply_posted(self, e: ReplyPosted) -> type[KudosError] | None:
        found = self._member(e.author) or self._live(e.topic)
        if found:
            return found
        return NotAllowed if self.posts[e.topic].kind == "reply" or e.reply in self.posts else None

    def _vote_refusal(
        self, member: str, post: str, kind: str, need: int
    ) -> type[KudosError] | None:
        found = self._member(member) or self._live(post)
        if found:
            return found
        if self.posts[post].author == member or self.votes[(kind, post, member)].active:
            return NotAllowed
        if need and not self._staff(member) and self.reputation.get(member, 0) < need:
            return NotAllowed
        return None

    def refuse_kudos_given(self, e: KudosGiven) -> type[KudosError] | None:
        need = self.policy.min_reputation_to_give_kudos
        return self._vote_refusal(e.giver, e.post, "kudos", need)

    def refuse_down_voted(self, e: DownVoted) -> type[KudosError] | None:
        if not self.policy.down_votes:
            return NotAllowed
        need = self.policy.min_reputation_to_down_vote
        return self._vote_refusal(e.voter, e.post, "down_vote", need)

    def _withdrawal_refusal(self, member: str, post: str, kind: str) -> type[KudosError] | None:
        found = self._member(member) or self._live(post)
        return found or (None if self.votes[(kind, post, member)].active else NotAllowed)

    def refuse_kudos_withdrawn(self, e: KudosWithdrawn) -> type[KudosError] | None:
        return self._withdrawal_refusal(e.giver, e.post, "kudos")

    def refuse_down_vote_withdrawn(self, e: DownVoteWithdrawn) -> type[KudosError] | None:
        return self._withdrawal_refusal(e.voter, e.post, "down_vote")

    def _may_accept(self, topic: PostModel, by: str) -> type[KudosError] | None:
        # Only the asker or staff: no member reaches giffgaff's Guru rank here.
        found = self._member(by)
        return found or (None if by == topic.author or self._staff(by) else NotAllowed)

    def refuse_solution_accepted(self, e: SolutionAccepted) -> type[KudosError] | None:
        found = self._live(e.topic)
        if found:
            return found
        topic = self.posts[e.topic]
        if topic.kind not in ("question", "problem"):
            return NotAllowed
        found = self._live(e.reply)
        if found:
            return found
        if self.posts[e.reply].topic != e.topic:
            return NotAllowed
        return self._may_accept(topic, e.by) or (NotAllowed if topic.solution == e.reply else None)

    def refuse_solution_unaccepted(self, e: SolutionUnaccepted) -> type[KudosError] | None:
        found = self._live(e.topic)
        if found:
            return found
        topic = self.posts[e.topic]
        return (NotAllowed if topic.solution is None else None) or self._may_accept(topic, e.by)

    def refuse_post_removed(self, e: PostRemoved) -> type[KudosError] | None:
        found = self._post(e.post) or self._member(e.by)
        if found:
            return found
        return NotAllowed if not self._staff(e.by) or self.posts[e.post].removed else None

    def refuse_post_restored(self, e: PostRestored) -> type[KudosError] | None:
        found = self._post(e.post) or self._member(e.by)
        if found:
            return found
        post = self.posts[e.post]
        return (
            NotAllowed if not self._staff(e.by) or not post.removed or post.kind == "idea" else None
        )

    def refuse_points_adjusted(self, e: PointsAdjusted) -> type[KudosError] | None:
        found = self._member(e.member) or self._member(e.by)
        return found or (None if self._staff(e.by) else NotAllowed)

    # -- effects ------------------------------------------------------------------------------
    def apply(self, event: Event, outcome: Outcome) -> None:
        """Take in a recorded fact."""
        self.log[outcome.event_id] = (event.type, event.content())
        self.outcomes[outcome.event_id] = outcome
        getattr(self, f"apply_{_snake(event)}", lambda e, o: None)(event, outcome)

    def apply_member_joined(self, e: MemberJoined, o: Outcome) -> None:
        self.members[e.member] = e.role

    def apply_topic_posted(self, e: TopicPosted, o: Outcome) -> None:
        self.posts[e.topic] = PostModel(kind=e.kind, author=e.author)

    def apply_reply_posted(self, e: ReplyPosted, o: Outcome) -> None:
        self.posts[e.reply] = PostModel(kind="reply", author=e.author, topic=e.topic)

    def _switch(self, kind: str, post: str, member: str, on: bool, o: Outcome) -> None:
        vote = self.votes[(kind, post, member)]
        if on:
            other = self.votes[("down_vote" if kind == "kudos" else "kudos", post, member)]
            if other.active:
                self.undone.add(other.event_id)
            other.active = False
            vote.gen += 1
            vote.event_id = o.event_id
        else:
            self.undone.add(vote.event_id)
        vote.active = on

    def apply_kudos_given(self, e: KudosGiven, o: Outcome) -> None:
        self._switch("kudos", e.post, e.giver, True, o)

    def apply_kudos_withdrawn(self, e: KudosWithdrawn, o: Outcome) -> None:
        self._switch("kudos", e.post, e.giver, False, o)

    def apply_down_voted(self, e: DownVoted, o: Outcome) -> None:
        self._switch("down_vote", e.post, e.voter, True, o)

    def apply_down_vote_withdrawn(self, e: DownVoteWithdrawn, o: Outcome) -> None:
        self._switch("down_vote", e.post, e.voter, False, o)

    def apply_solution_accepted(self, e: SolutionAccepted, o: Outcome) -> None:
        topic = self.posts[e.topic]
        if topic.solution is not None:
            self.undone.add(self.accepts[e.topic])
        topic.solution, topic.accept_gen = e.reply, topic.accept_gen + 1
        self.accepts[e.topic] = o.event_id

    def apply_solution_unaccepted(self, e: SolutionUnaccepted, o: Outcome) -> None:
        self.undone.add(self.accepts[e.topic])
        self.posts[e.topic].solution = None

    def apply_post_removed(self, e: PostRemoved, o: Outcome) -> None:
        self.posts[e.post].removed = True
        self.posts[e.post].removed_event = o.event_id

    def apply_post_restored(self, e: PostRestored, o: Outcome) -> None:
        self.posts[e.post].removed = False
        self.posts[e.post].restored_event = o.event_id

    # -- what the counters must say ------------------------------------------------------
    def live(self, post: str) -> bool:
        return post in self.posts and not self.posts[post].removed

    def expected_counts(self) -> dict[tuple[str, str], int]:
        """``(metric, member) -> value`` of the core's all-time counters."""
        counts: Counter[tuple[str, str]] = Counter()
        for post in self.posts.values():
            if not post.removed:
                counts[("replies" if post.kind == "reply" else "topics", post.author)] += 1
            if post.solution is not None and self.live(post.solution):
                solver = self.posts[post.solution].author
                if solver != post.author or self.policy.self_accept_rewards:
                    counts[("solutions", solver)] += 1  # an asker's own answer solves nothing
        for (kind, post_id, member), vote in self.votes.items():
            if not vote.active or not self.live(post_id):
                continue
            author = self.posts[post_id].author
            if kind == "kudos":
                counts[("kudos_received", author)] += 1
                counts[("kudos_given", member)] += 1
            else:
                counts[("down_votes_received", author)] += 1
        return {k: v for k, v in counts.items() if v}


# --- the machine ----------------------------------------------------------------------


class CoreMachine(RuleBasedStateMachine):
    """Drives a community with random core facts; subclasses pick the policy."""

    policy: Policy = giffgaff()
    forum_class: type[Forum] = Forum

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock(START)
        self.community = Community(store=MemoryStore(), policy=self.policy, clock=self.clock)
        self.forum = self.forum_class(self.policy)
        self.host_ids = 0
        self._read_at = -1
        self._read: tuple[list[LedgerEntry], dict[tuple[str, str, str], int]] = ([], {})
        self._copies: dict[str, str] = {}

    # -- reporting a fact ------------------------------------------------------------------
    def report(self, event: Event, host_id: bool = False) -> Outcome | None:
        """Record ``event`` and check it did what the model predicts."""
        if host_id:
            self.host_ids += 1
            event = attrs.evolve(event, event_id=f"host-{self.host_ids}")
        event_id = event.event_id or self.forum.derived_id(event)
        known = self.forum.log.get(event_id)
        if known is not None:
            if known == (event.type, event.content()):
                note(f"{event.type}: replayed")
                return self._replay(event)
            if event.event_id is None and _other_actor(known, event):
                # Another actor repeating an action already taken: the rules say what is
                # already the case; only an action they would accept is an id conflict.
                refused = self.forum.refusal(event, self._reputation()) or Conflict
                note(f"{event.type}: repeated by another actor, {refused.__name__}")
                with assert_unchanged(self.community), pytest.raises(refused):
                    self.community.record(event)
                return None
            note(f"{event.type}: conflict")
            with assert_unchanged(self.community), pytest.raises(Conflict, match=event_id):
                self.community.record(event)
            return None
        refused = self.forum.refusal(event, self._reputation())
        note(f"{event.type}: {refused.__name__ if refused else 'recorded'}")
        if refused is not None:
            with assert_unchanged(self.community), pytest.raises(refused) as caught:
                self.community.record(event)
            assert type(caught.value) is refused or refused is NotAllowed
            return None
        outcome = self.community.record(event)
        assert not outcome.replayed and outcome.event_id == event_id
        self._check_awards(outcome)
        self.forum.apply(event, outcome)
        return outcome

    def _check_awards(self, outcome: Outcome) -> None:
        """New awards are what the policy says (less a cap, saying so); staff earn none."""
        for e in outcome.entries:
            if e.reverses is not None or e.action in ENGINE_LINES:
                continue
            staff = self.forum.members[e.member] != "member"
            assert self.policy.staff_earn or not staff, f"staff earned {e}"
            reward = getattr(self.policy.reward(e.action), e.account)
            if outcome.type == "post-restored":  # what removal took: at most the reward
                assert 0 < e.amount <= reward or reward <= e.amount < 0, (e, reward)
            elif "capped" in e.reason:
                note(f"{outcome.type}: capped")
                assert 0 <= e.amount < reward
            elif "absorbed by the reputation floor" in e.reason:
                note(f"{outcome.type}: floored")
                assert reward < e.amount <= 0
            else:
                assert e.amount == reward

    def _replay(self, event: Event) -> Outcome:
        with assert_unchanged(self.community):
            outcome = self.community.record(event)
        assert outcome.replayed
        first = self.forum.outcomes[outcome.event_id]
        assert outcome.entries == first.entries
        assert [n.seq for n in outcome.notifications] == [n.seq for n in first.notifications]
        return outcome

    def _reputation(self) -> dict[str, int]:
        with self.community.store.transaction(self.community.id) as tx:
            return {m: tx.counter("reputation", "all", m) for m in self.forum.members}

    # -- setup --------------------------------------------------------------------------------
    @initialize()
    def a_forum_with_a_question_and_an_answer(self) -> None:
        for member in ("mo", "ann", "ben", "cat"):
            self.report(
                MemberJoined(member=member, role="moderator" if member == "mo" else "member")
            )
        self.report(TopicPosted(topic="p1", author="ann", tags=("eu",)))
        self.report(ReplyPosted(reply="p2", topic="p1", author="ben"))
        # Enough reputation for ann to down-vote and for ben to up-vote, where it takes some.
        for member, reputation in (("ann", 130), ("ben", 20)):
            self.report(
                PointsAdjusted(member=member, reputation=reputation, reason="seed", by="mo"),
                host_id=True,
            )

    # -- choosing ids ---------------------------------------------------------------------
    def pick(
        self, data: st.DataObject, label: str, known: Iterable[str], pool: Sequence[str]
    ) -> str:
        """Mostly one of ``known`` (so facts tend to be valid), else any id of ``pool``."""
        choices = sorted(known)
        if choices and data.draw(st.integers(0, 3), label=f"{label} is known"):
            return data.draw(st.sampled_from(choices), label=label)
        return data.draw(st.sampled_from(pool), label=label)

    def member(self, data: st.DataObject, label: str) -> str:
        return self.pick(data, label, self.forum.members, MEMBERS)

    def post(self, data: st.DataObject, label: str, *, kind: str | None = None) -> str:
        posts = self.forum.posts
        known = [
            p for p, m in posts.items() if kind is None or (m.kind == "reply") == (kind == "reply")
        ]
        return self.pick(data, label, known, POSTS)

    def staff(self, data: st.DataObject, label: str) -> str:
        staff = [m for m, role in self.forum.members.items() if role != "member"]
        return self.pick(data, label, staff, MEMBERS)

    # -- rules -------------------------------------------------------------------------------
    @rule(hours=st.integers(1, 30))
    def time_passes(self, hours: int) -> None:
        self.clock.advance(hours=hours)

    @rule(member=st.sampled_from(MEMBERS), role=st.sampled_from(ROLES), host_id=st.booleans())
    def join(self, member: str, role: str, host_id: bool) -> None:
        self.report(MemberJoined(member=member, role=role), host_id)

    @rule(data=st.data(), kind=st.sampled_from(KINDS), host_id=st.booleans())
    def post_topic(self, data: st.DataObject, kind: str, host_id: bool) -> None:
        topic = data.draw(st.sampled_from(POSTS), label="topic")
        fact = TopicPosted(topic=topic, author=self.member(data, "author"), kind=kind, tags=("eu",))
        self.report(fact, host_id)

    @rule(data=st.data(), host_id=st.booleans())
    def post_reply(self, data: st.DataObject, host_id: bool) -> None:
        reply = data.draw(st.sampled_from(POSTS), label="reply")
        topic = self.post(data, "topic", kind="topic")
        self.report(
            ReplyPosted(reply=reply, topic=topic, author=self.member(data, "author")), host_id
        )

    @rule(data=st.data(), host_id=st.booleans())
    def give_kudos(self, data: st.DataObject, host_id: bool) -> None:
        fact = KudosGiven(post=self.post(data, "post"), giver=self.member(data, "giver"))
        self.report(fact, host_id)

    def _votes(self, kind: str) -> list[tuple[str, str]]:
        return [
            (post, member)
            for (k, post, member), v in self.forum.votes.items()
            if k == kind and v.gen
        ]

    @rule(data=st.data(), host_id=st.booleans())
    def withdraw_kudos(self, data: st.DataObject, host_id: bool) -> None:
        given = self._votes("kudos")
        if given and data.draw(st.booleans(), label="a kudos given before"):
            post, giver = data.draw(st.sampled_from(given), label="kudos")
        else:
            post, giver = self.post(data, "post"), self.member(data, "giver")
        self.report(KudosWithdrawn(post=post, giver=giver), host_id)

    @rule(data=st.data(), host_id=st.booleans())
    def down_vote(self, data: st.DataObject, host_id: bool) -> None:
        fact = DownVoted(post=self.post(data, "post"), voter=self.member(data, "voter"))
        self.report(fact, host_id)

    @rule(data=st.data(), host_id=st.booleans())
    def withdraw_down_vote(self, data: st.DataObject, host_id: bool) -> None:
        cast = self._votes("down_vote")
        if cast and data.draw(st.booleans(), label="a down-vote cast before"):
            post, voter = data.draw(st.sampled_from(cast), label="down-vote")
        else:
            post, voter = self.post(data, "post"), self.member(data, "voter")
        self.report(DownVoteWithdrawn(post=post, voter=voter), host_id)

    @rule(data=st.data(), host_id=st.booleans())
    def accept_solution(self, data: st.DataObject, host_id: bool) -> None:
        topic = self.post(data, "topic", kind="topic")
        replies = [p for p, m in self.forum.posts.items() if m.topic == topic]
        reply = self.pick(data, "reply", replies, POSTS)
        asker = self.forum.posts[topic].author if topic in self.forum.posts else "ann"
        by = self.pick(data, "by", [asker], MEMBERS)
        self.report(SolutionAccepted(topic=topic, reply=reply, by=by), host_id)

    @rule(data=st.data(), host_id=st.booleans())
    def unaccept_solution(self, data: st.DataObject, host_id: bool) -> None:
        solved = [t for t, m in self.forum.posts.items() if m.solution is not None]
        topic = self.pick(data, "topic", solved, POSTS)
        asker = self.forum.posts[topic].author if topic in self.forum.posts else "ann"
        by = self.pick(data, "by", [asker], MEMBERS)
        self.report(SolutionUnaccepted(topic=topic, by=by), host_id)

    @rule(data=st.data(), reason=st.sampled_from(REASONS), host_id=st.booleans())
    def remove_post(self, data: st.DataObject, reason: str, host_id: bool) -> None:
        fact = PostRemoved(post=self.post(data, "post"), by=self.staff(data, "by"), reason=reason)
        self.report(fact, host_id)

    @rule(data=st.data(), host_id=st.booleans())
    def restore_post(self, data: st.DataObject, host_id: bool) -> None:
        removed = [p for p, m in self.forum.posts.items() if m.removed]
        fact = PostRestored(post=self.pick(data, "post", removed, POSTS), by=self.staff(data, "by"))
        self.report(fact, host_id)

    @rule(
        data=st.data(),
        points=st.integers(-30, 30),
        reputation=st.sampled_from((-20, 0, 5, 20, 130)),
    )
    def adjust(self, data: st.DataObject, points: int, reputation: int) -> None:
        if not points and not reputation:
            points = 1
        fact = PointsAdjusted(
            member=self.member(data, "member"),
            by=self.staff(data, "by"),
            points=points,
            reputation=reputation,
            reason="by hand",
        )
        self.report(fact, host_id=True)

    @rule(data=st.data())
    def record_an_earlier_event_again(self, data: st.DataObject) -> None:
        with self.community.store.transaction(self.community.id) as tx:
            rows = _facts(tx.events())
        row = rows[data.draw(st.integers(0, len(rows) - 1), label="event")]
        event = engine.stored_to_event(row)
        if data.draw(st.booleans(), label="later"):
            event = attrs.evolve(event, at=self.clock())  # a retry is the same fact
        self._replay(event)

    @rule(data=st.data())
    def record_a_prefix_of_the_log_again(self, data: st.DataObject) -> None:
        with self.community.store.transaction(self.community.id) as tx:
            rows = _facts(tx.events())
        prefix = rows[: data.draw(st.integers(1, len(rows)), label="prefix")]
        with assert_unchanged(self.community):
            outcomes = self.community.record_many(engine.stored_to_event(r) for r in prefix)
        assert all(o.replayed for o in outcomes)

    # -- invariants -------------------------------------------------------------------------
    def _ledger(self) -> tuple[list[LedgerEntry], dict[tuple[str, str, str], int]]:
        """The ledger and the non-zero counters, read again only after a new fact."""
        if self._read_at != len(self.forum.log):
            with self.community.store.transaction(self.community.id) as tx:
                snapshot = tx.snapshot()
                self._read = tx.entries(), {k: v for k, v in snapshot.counters.items() if v}
            # A restored post's awards are given again by new entries: entry -> award.
            self._copies = {d.data["entry"]: d.key for d in snapshot.docs if d.kind == "reinstated"}
            self._read_at = len(self.forum.log)
        return self._read

    @invariant()
    def balances_equal_the_ledger_and_reversals_are_exact(self) -> None:
        entries, counters = self._ledger()
        sums: Counter[tuple[str, str, str]] = Counter()
        seen: dict[str, LedgerEntry] = {}
        reversed_ids: set[str] = set()
        daily = self.policy.leaderboards.window_metrics
        for e in entries:
            scopes = ["all", e.period]
            scopes += [s for t in e.tags for s in (f"tag:{t}", f"{e.period}|tag:{t}")]
            if e.account in daily:
                scopes.append(f"day:{engine.day_of(self.policy, e.at)}")
            if e.account == "points":  # the balance; boards rank points earned (no payouts here)
                sums[("points", "all", e.member)] += e.amount
                sums[("points", e.period, e.member)] += e.amount
            for scope in scopes:
                sums[(engine.counter_for(e.account), scope, e.member)] += e.amount
            if e.reverses is not None:
                original = seen[e.reverses]
                assert original.reverses is None and e.reverses not in reversed_ids
                assert (e.member, e.account, e.amount) == (
                    original.member,
                    original.account,
                    -original.amount,
                )
                reversed_ids.add(e.reverses)
            seen[e.entry_id] = e
        accounts = ("points", engine.EARNED_POINTS, "reputation")
        balances = {k: v for k, v in counters.items() if k[0] in accounts}
        assert balances == {k: v for k, v in sums.items() if v}

    def _award_of(self, e: LedgerEntry, by_id: dict[str, LedgerEntry]) -> LedgerEntry:
        """The award ``e`` belongs to: itself, the award it tops up, or the one it gives again."""
        while True:
            if e.action == _caps.TOP_UP:
                e = by_id[_caps.topped_up(e)]
            elif e.entry_id in self._copies:
                e = by_id[self._copies[e.entry_id]]
            else:
                return e

    def _fact_undone(self, e: LedgerEntry, by_id: dict[str, LedgerEntry]) -> bool:
        """Whether the fact that earned ``e`` (its top-ups and restored copies too) is gone."""
        e = self._award_of(e, by_id)
        post = self.forum.posts.get(e.subject or "")
        return e.event_id in self.forum.undone or (post is not None and post.removed)

    @invariant()
    def every_cap_equals_its_recalculation(self) -> None:
        """Each cap scope holds what a recalculation of its live facts gives, net.

        ``min(limit, full values of its live awards + its live debits)``: the
        order the facts came in makes no difference, and the limit is never
        passed.
        """
        entries, counters = self._ledger()
        gone = {e.reverses for e in entries if e.reverses}
        by_id = {e.entry_id: e for e in entries}
        zone = ZoneInfo(self.policy.periods.timezone)
        for cap in self.policy.caps:
            booked: Counter[tuple[str, str]] = Counter()
            worth: Counter[tuple[str, str]] = Counter()
            counted: set[str] = set()  # an award and its restored copies count once
            for e in entries:
                if e.account != cap.account or e.reverses:
                    continue
                lines = e.action in (_caps.TOP_UP, _caps.HELD)
                if not lines and not cap.covers(e.action):
                    continue
                day = e.at.astimezone(zone).date().isoformat()
                scope = {
                    "day": f"day:{day}",
                    "month": f"month:{day[:7]}",
                    "post": f"post:{e.subject}",
                    "period": e.period,
                    "ever": "ever",
                }[cap.per]
                if e.entry_id not in gone:
                    booked[(scope, e.member)] += e.amount
                if lines or e.entry_id in gone or self._fact_undone(e, by_id):
                    continue
                full = getattr(self.policy.reward(e.action), cap.account)
                if full <= 0:
                    worth[(scope, e.member)] += e.amount  # debits: as floored
                elif (award := self._award_of(e, by_id).entry_id) not in counted:
                    counted.add(award)
                    worth[(scope, e.member)] += full
            kept = {
                (scope, member): v
                for (metric, scope, member), v in counters.items()
                if metric == f"cap:{cap.account}"
            }
            assert kept == {k: v for k, v in booked.items() if v}
            assert all(v <= cap.limit for v in booked.values()), (cap, booked)
            for k in set(booked) | set(worth):
                assert booked[k] == min(cap.limit, worth[k]), (cap, k, booked[k], worth[k])

    def modelled(self, entry: LedgerEntry) -> bool:
        """Whether the model knows every fact that may reverse ``entry`` (here: all)."""
        return True

    @invariant()
    def exactly_what_was_undone_is_reversed(self) -> None:
        """Reversals undo what the model undid, or a removed post's awards (which all go)."""
        entries, _ = self._ledger()
        forum = self.forum
        by_id = {e.entry_id: e for e in entries}
        gone = {e.reverses for e in entries if e.reverses}
        for e in entries:
            if e.reverses:
                if not self.modelled(e):
                    continue
                original = by_id[e.reverses]
                written_by = forum.log.get(e.event_id, ("", {}))[0]
                if written_by == "post-removed":
                    continue  # a removal takes back everything about its post
                if written_by == "post-restored" and original.action == "removed_as_spam":
                    continue  # and a restore its penalty
                if original.action == _caps.TOP_UP or original.entry_id in self._copies:
                    # goes with the award it tops up or gives again
                    assert self._fact_undone(original, by_id), f"{e} reverses a live award"
                    continue
                removed = original.subject in forum.posts and forum.posts[original.subject].removed
                assert original.event_id in forum.undone or removed, f"{e} reverses a live fact"
            elif e.action in ENGINE_LINES or e.entry_id in self._copies:
                if (e.action == _caps.TOP_UP or e.entry_id in self._copies) and self._fact_undone(
                    e, by_id
                ):
                    assert e.entry_id in gone, f"{e.entry_id} outlived the award it belongs to"
            elif e.amount and e.event_id in forum.undone:
                assert e.entry_id in gone, f"{e.entry_id} outlived what earned it"
            elif e.amount and e.subject in forum.posts and forum.posts[e.subject].removed:
                assert e.entry_id in gone or e.action == "removed_as_spam", e

    @invariant()
    def entries_are_booked_in_the_period_of_their_time(self) -> None:
        entries, _ = self._ledger()
        assert all(e.period == self.policy.periods.period_of(e.at) for e in entries)

    @invariant()
    def counters_count_what_the_model_holds(self) -> None:
        _, counters = self._ledger()
        metrics = {
            "replies",
            "topics",
            "solutions",
            "kudos_received",
            "kudos_given",
            "down_votes_received",
        }
        held = {
            (m, s): v for (m, scope, s), v in counters.items() if scope == "all" and m in metrics
        }
        assert held == self.forum.expected_counts()

    def teardown(self) -> None:
        if not self.forum.log:
            return
        assert_consistent(self.community)
        with assert_unchanged(self.community):
            self.community.rebuild()
        same = self.community.simulate(self.policy)
        assert same.changes == () and same.rejected == ()


def _tight(policy: Policy, cap: Cap) -> Policy:
    """``policy`` with ``cap`` in place of its own, low enough for short runs to reach."""
    return policy.evolve(caps=(cap,))


class GiffgaffMachine(CoreMachine):
    """giffgaff: points and reputation, no down-votes, staff earn nothing, a monthly cap."""

    policy = _tight(
        giffgaff(),
        Cap(
            account="points",
            per="month",
            limit=12,
            actions=("kudos_on_reply", "kudos_on_topic", "solution_accepted", "solution_accepter"),
        ),
    )


class StackExchangeMachine(CoreMachine):
    """Stack Exchange: reputation from 1 with a floor, down-votes, thresholds, a net daily cap.

    The cap counts down-votes received, so every step checks each day's total
    against a plain recalculation (:meth:`CoreMachine.every_cap_equals_its_recalculation`).
    """

    policy = _tight(
        stackexchange(),
        Cap(
            account="reputation",
            per="day",
            limit=25,
            actions=(
                "kudos_on_reply",
                "kudos_on_topic",
                "down_vote_on_reply",
                "down_vote_on_topic",
            ),
        ),
    )


def _whole_community() -> Policy:
    """giffgaff's tight machine policy with idea votes that pay and a milestone in reach."""
    base = GiffgaffMachine.policy
    return base.evolve(
        rewards={
            **base.rewards,
            "idea_vote_received": Reward(points=1, reputation=1),
            "idea_milestone": Reward(points=5, reputation=2),
        },
        ideas=attrs.evolve(base.ideas, milestones=(2,), max_rewarded_votes=3, vote_budget=2),
    )


class WholeCommunityMachine(GiffgaffMachine):
    """The core facts interleaved with referrals and idea voting.

    The model predicts only the core facts; referrals and ideas have their own
    machines (tests/test_referrals.py, tests/test_ideas.py) with their models.
    Here they are attempted blind: a refusal must leave the store untouched,
    and every invariant (balances equal the ledger, caps, reversals, replay
    equals incremental state) must hold across the capabilities.
    """

    policy = _whole_community()

    def attempt(self, what: str, call: Callable[[], object]) -> None:
        """Run ``call``; a refusal (a :class:`KudosError`) must write nothing."""
        before = _stored_state(self.community)
        try:
            outcome = call()
        except KudosError as exc:
            note(f"{what}: {type(exc).__name__}: {str(exc)[:40]}")
            assert _stored_state(self.community) == before, f"a refused {what} wrote something"
            return
        note(f"{what}: recorded")
        if isinstance(outcome, Outcome) and not outcome.replayed:
            self.forum.outcomes[outcome.event_id] = outcome  # what a replay must return
        self._read_at = -1  # the model's log did not grow: read the ledger again

    def idea(self, data: st.DataObject) -> str:
        ideas = [p for p, m in self.forum.posts.items() if m.kind == "idea"]
        return self.pick(data, "idea", ideas, IDEAS)

    def referred(self, data: st.DataObject) -> str:
        referred = [r.member for r in self.community.referrals()]
        return self.pick(data, "referred", referred, MEMBERS)

    @initialize()
    def a_forum_with_a_question_and_an_answer(self) -> None:
        super().a_forum_with_a_question_and_an_answer()
        self.report(TopicPosted(topic="i1", author="cat", kind="idea", title="eSIM support"))

    @rule(data=st.data(), idea=st.sampled_from(IDEAS))
    def post_idea(self, data: st.DataObject, idea: str) -> None:
        self.report(TopicPosted(topic=idea, author=self.member(data, "author"), kind="idea"))

    @rule(data=st.data())
    def vote_idea(self, data: st.DataObject) -> None:
        idea, voter = self.idea(data), self.member(data, "voter")
        self.attempt("vote", lambda: self.community.vote_idea(idea, voter=voter))

    @rule(data=st.data())
    def withdraw_vote(self, data: st.DataObject) -> None:
        voter = self.member(data, "voter")
        cast = (
            [v.idea for v in self.community.member_votes(voter)]
            if voter in self.forum.members
            else []
        )
        idea = self.pick(data, "idea", cast, IDEAS)
        self.attempt("withdraw", lambda: self.community.withdraw_vote(idea, voter=voter))

    @rule(data=st.data(), status=st.sampled_from(giffgaff().ideas.statuses))
    def set_idea_status(self, data: st.DataObject, status: str) -> None:
        idea, by = self.idea(data), self.staff(data, "by")
        self.attempt("status", lambda: self.community.set_idea_status(idea, status, by=by))

    @rule(data=st.data())
    def refer(self, data: st.DataObject) -> None:
        referrer, member = self.member(data, "referrer"), self.member(data, "referred")
        self.attempt("refer", lambda: self.community.refer(referrer, member))

    @rule(data=st.data())
    def qualify_referral(self, data: st.DataObject) -> None:
        member = self.referred(data)
        self.attempt("qualify", lambda: self.community.qualify_referral(member))

    @rule(data=st.data())
    def revoke_referral(self, data: st.DataObject) -> None:
        member = self.referred(data)
        self.attempt("revoke", lambda: self.community.revoke_referral(member, reason="left"))

    def modelled(self, entry: LedgerEntry) -> bool:
        """Core awards only: referrals and ideas reverse their own awards, unmodelled here."""
        return entry.action in CORE_ACTIONS or entry.action == "adjustment"


class _ShortLists:
    """A machine whose cap scopes list one held-back award and whose topics list one
    response before the rest get documents of their own (:data:`kudos.engine.caps.LISTED`,
    :data:`kudos.health.handlers.LISTED`): short runs reach the long lists' path."""

    def __init__(self) -> None:
        self._listed = (_caps.LISTED, _health.LISTED)
        _caps.LISTED = _health.LISTED = 1
        super().__init__()

    def teardown(self) -> None:
        try:
            super().teardown()  # type: ignore[misc]
        finally:
            _caps.LISTED, _health.LISTED = self._listed


class GiffgaffShortListsMachine(_ShortLists, GiffgaffMachine):
    """:class:`GiffgaffMachine` with short lists."""


class StackExchangeShortListsMachine(_ShortLists, StackExchangeMachine):
    """:class:`StackExchangeMachine` (down-votes free room: top-ups) with short lists."""


RUNS = settings(
    max_examples=200,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
SHORT_LIST_RUNS = settings(RUNS, max_examples=100)

TestGiffgaffShortLists = GiffgaffShortListsMachine.TestCase
TestGiffgaffShortLists.settings = SHORT_LIST_RUNS
TestStackExchangeShortLists = StackExchangeShortListsMachine.TestCase
TestStackExchangeShortLists.settings = SHORT_LIST_RUNS

TestGiffgaff = GiffgaffMachine.TestCase
TestGiffgaff.settings = RUNS
TestStackExchange = StackExchangeMachine.TestCase
TestStackExchange.settings = RUNS

TestWholeCommunity = WholeCommunityMachine.TestCase
TestWholeCommunity.settings = RUNS
