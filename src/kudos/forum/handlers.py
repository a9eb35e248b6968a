"""Handlers for the forum's own facts: members, topics, replies, kudos, down-votes,
solutions, removals and manual adjustments.

Documents kept here (kind: key -> data):

* ``member``: member id -> role, joined_at, referred_by (status = role);
* ``post``: post id -> kind, author, topic, title, tags, product, official,
  removed, solution (ref = topic of a reply; status = ``live``/``removed``);
* ``kudos`` / ``down_vote``: :func:`vote_key` -> active, gen, event_id,
  period (ref = post; status = ``active``/``withdrawn``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..abuse import limits as _limits
from ..engine import caps as _caps
from ..engine import core as engine
from ..engine.core import Context, handles, same_person
from ..events import (
    DownVoted,
    DownVoteWithdrawn,
    KudosGiven,
    KudosWithdrawn,
    MemberDeleted,
    MemberJoined,
    PointsAdjusted,
    PostRemoved,
    PostRestored,
    ReplyPosted,
    SolutionAccepted,
    SolutionUnaccepted,
    TopicPosted,
)
from ..model import Post, StoredEvent, board_tags
from ..stores.protocol import Transaction
from ..support import handlers as support

ABUSE_REASONS = ("spam", "abuse")


def vote_key(post: str, member: str) -> str:
    """The document key of ``member``'s vote on ``post``.

    Length-prefixed, so no choice of ids can make two votes share a key.
    """
    return f"{len(post)}:{post}:{member}"


def _noun(post: Post) -> str:
    return "reply" if post.kind == "reply" else post.kind


def _tags(post: Post) -> tuple[str, ...]:
    return board_tags(post.tags, post.product)


def _fact_at(ctx: Context, event_id: str | None) -> datetime | None:
    """When event ``event_id`` happened: undoing a fact un-counts it on its own day."""
    return ctx.fact_at(event_id)


# --- derived ids of toggled facts --------------------------------------------------


def _vote_gen(tx: Transaction, kind: str, post: str, member: str) -> tuple[bool, int]:
    doc = tx.get(kind, vote_key(post, member))
    return (bool(doc.data["active"]), int(doc.data["gen"])) if doc else (False, 0)


def _on_id(kind: str, post_field: str, member_field: str) -> Any:
    def derive(tx: Transaction, event: Any) -> str:
        active, gen = _vote_gen(tx, kind, getattr(event, post_field), getattr(event, member_field))
        return engine.generation_id(engine.default_id(event), gen if active else gen + 1)

    return derive


def _off_id(kind: str, post_field: str, member_field: str) -> Any:
    def derive(tx: Transaction, event: Any) -> str:
        _, gen = _vote_gen(tx, kind, getattr(event, post_field), getattr(event, member_field))
        return engine.generation_id(engine.default_id(event), max(gen, 1))

    return derive


def _accept_id(tx: Transaction, event: SolutionAccepted) -> str:
    doc = tx.get("post", event.topic)
    gen = int(doc.data.get("accept_gen", 0)) if doc else 0
    same = doc is not None and doc.data.get("solution") == event.reply
    return engine.generation_id(engine.default_id(event), gen if same else gen + 1)


def _unaccept_id(tx: Transaction, event: SolutionUnaccepted) -> str:
    doc = tx.get("post", event.topic)
    gen = int(doc.data.get("accept_gen", 0)) if doc else 0
    return engine.generation_id(engine.default_id(event), max(gen, 1))


def _number(event_id: object, base: str) -> int:
    """Which of ``base``'s numbered ids ``event_id`` is (1: ``base``, 2: ``base#2``, ...); 0: none.

    A derived id escapes ``#`` in the ids it joins, so only a number follows one here.
    """
    if event_id == base:
        return 1
    if isinstance(event_id, str) and event_id.startswith(f"{base}#"):
        tail = event_id[len(base) + 1 :]
        if tail.isascii() and tail.isdigit() and tail[0] != "0" and int(tail) >= 2:
            return int(tail)
    return 0


def _is_fact(known: StoredEvent | None, event: PostRemoved | PostRestored) -> bool:
    """Whether ``known`` is a fact of ``event``'s kind about its post."""
    return known is not None and known.type == event.type and known.payload["post"] == event.post


def _toggle_id(tx: Transaction, event: PostRemoved | PostRestored, removes: bool) -> str:
    # The post's record names the removal (restoration) last applied to it. Reported
    # again while the post is still so, a numbered one is a retry: its id, a replay. Else
    # the fact is new: the first number above the last one that no event of the log
    # holds (a host's id may have that shape), which the rules then accept or refuse.
    doc = tx.get("post", event.post)  # first: a writer locks the post before it reads the log
    base = engine.default_id(event)
    last = doc.data.get("removed_event" if removes else "restored_event") if doc else None
    number = _number(last, base)
    if doc is not None and bool(doc.data.get("removed")) == removes:
        if number:
            return str(last)
        if last is None and _is_fact(tx.get_event(base), event):
            # Restored by a kudos that kept no id: the only one it derived was the first.
            return base
    gen = number + 1
    while tx.get_event(engine.generation_id(base, gen)) is not None:
        gen += 1
    return engine.generation_id(base, gen)


def _remove_id(tx: Transaction, event: PostRemoved) -> str:
    return _toggle_id(tx, event, removes=True)


def _restore_id(tx: Transaction, event: PostRestored) -> str:
    return _toggle_id(tx, event, removes=False)


# --- members and posts ----------------------------------------------------------------


@handles(MemberJoined)
def _joined(ctx: Context, event: MemberJoined) -> None:
    ctx.require(
        ctx.tx.get("member", event.member) is None,
        f"member {event.member!r} has already joined; report each member once",
    )
    ctx.put(
        "member",
        event.member,
        {"role": event.role, "joined_at": ctx.at_text, "referred_by": event.referred_by},
        status=event.role,
    )
    start = ctx.policy.reputation_start
    if start:
        ctx.credit(
            event.member,
            "reputation",
            start,
            action=_caps.START,
            subject=None,
            reason="starting reputation",
            force=True,
        )
    ctx.touched.add(event.member)


def _new_post(ctx: Context, post: str) -> None:
    if ctx.tx.get("post", post) is not None:  # the message is made only when it is needed
        ctx.require(
            False, f"post {post!r} was already reported; give each topic and reply its own id"
        )


@handles(MemberDeleted)
def _deleted(ctx: Context, event: MemberDeleted) -> None:
    member = ctx.member(event.member)
    ctx.require(not member.deleted, f"member {event.member!r} was already deleted")
    ctx.update("member", event.member, deleted=True)
    ctx.touched.add(event.member)


@handles(TopicPosted)
def _topic(ctx: Context, event: TopicPosted) -> None:
    ctx.member(event.author)
    _new_post(ctx, event.topic)
    tags = board_tags(event.tags, event.product)
    ctx.put(
        "post",
        event.topic,
        {
            "kind": event.kind,
            "author": event.author,
            "title": event.title,
            "tags": list(event.tags),
            "product": event.product,
            "feeling": event.feeling,
            "posted_at": ctx.at_text,
            "period": ctx.period,
        },
        ref=event.author,
        status="live",
    )
    ctx.bump("topics", event.author, 1, tags=tags)
    ctx.award(
        event.author,
        "topic_posted",
        subject=event.topic,
        reason=f"posted {event.kind} {event.topic!r}",
        tags=tags,
    )
    support.topic_posted(ctx, event)
    ctx.touched.add(event.author)


@handles(ReplyPosted)
def _reply(ctx: Context, event: ReplyPosted) -> None:
    author = ctx.member(event.author)
    topic = ctx.post(event.topic)
    # Each check makes its message only when it refuses.
    if topic.kind == "reply":
        ctx.require(False, f"{event.topic!r} is a reply; reply on a topic instead")
    if topic.removed:
        ctx.require(False, f"topic {event.topic!r} was removed; it takes no replies")
    ctx.not_before(topic, f"reply {event.reply!r}")
    _new_post(ctx, event.reply)
    ctx.put(
        "post",
        event.reply,
        {
            "kind": "reply",
            "author": event.author,
            "topic": event.topic,
            "tags": list(topic.tags),
            "product": topic.product,
            "official": author.is_staff,
            "posted_at": ctx.at_text,
            "period": ctx.period,
        },
        ref=event.topic,
        status="live",
    )
    tags = _tags(topic)
    ctx.bump("replies", event.author, 1, tags=tags)
    ctx.award(
        event.author,
        "reply_posted",
        subject=event.reply,
        reason=f"replied on {event.topic!r}",
        tags=tags,
    )
    ctx.touched.add(event.author)


def _live_post(ctx: Context, post_id: str, what: str) -> Post:
    post = ctx.post(post_id)
    if post.removed:  # the message is made only when it is needed
        ctx.require(False, f"{_noun(post)} {post_id!r} was removed; it cannot {what}")
    return post


# --- kudos and down-votes --------------------------------------------------------------


def _vote_on(
    ctx: Context, kind: str, post: Post, member: str, event_id: str | None, gen: int | None = None
) -> None:
    """Record ``member``'s vote of ``kind`` on ``post`` as active (``gen``: the generation of
    the vote before it, when the caller has read it)."""
    key = vote_key(post.id, member)
    if gen is None:
        gen = _vote_gen(ctx.tx, kind, post.id, member)[1]
    ctx.put(
        kind,
        key,
        {
            "active": True,
            "gen": gen + 1,
            "event_id": event_id or ctx.event_id,
            "period": ctx.period,
        },
        ref=post.id,
        status="active",
    )


def _take_back(ctx: Context, kind: str, post: Post, member: str, reason: str) -> bool:
    """Withdraw ``member``'s vote of ``kind`` on ``post``; False when there is none."""
    key = vote_key(post.id, member)
    doc = ctx.tx.get(kind, key)
    if doc is None or not doc.data["active"]:
        return False
    data = dict(doc.data)
    noun = "kudos" if kind == "kudos" else "down-vote"
    ctx.not_older(
        ctx.fact_at(data["event_id"]),
        f"the withdrawal of {member!r}'s {noun} on {post.id!r}",
        f"the {noun} was given",
        f"the {noun} it withdraws",
    )
    ctx.reverse_event(data["event_id"], reason)
    if not post.removed:
        metric = "kudos_received" if kind == "kudos" else "down_votes_received"
        at = _fact_at(ctx, data["event_id"])
        ctx.bump(metric, post.author, -1, period=data["period"], tags=_tags(post), at=at)
        if kind == "kudos":
            ctx.bump("kudos_given", member, -1, period=data["period"], at=at)
    data["active"] = False
    ctx.put(kind, key, data, ref=post.id, status="withdrawn")
    ctx.touched.update((post.author, member))
    return True


@handles(KudosGiven, derive_id=_on_id("kudos", "post", "giver"))
def _kudos_given(ctx: Context, event: KudosGiven) -> None:
    giver = ctx.member(event.giver)
    post = _live_post(ctx, event.post, "take kudos")
    if not ctx.trusted:
        ctx.not_before(post, f"kudos from {event.giver!r}")
    noun = _noun(post)
    # Each check makes its message only when it refuses.
    if post.author == event.giver:
        ctx.require(
            False, f"member {event.giver!r} cannot give kudos to their own {noun} {event.post!r}"
        )
    active, gen = _vote_gen(ctx.tx, "kudos", event.post, event.giver)
    if active:
        ctx.require(
            False,
            f"member {event.giver!r} already gave kudos to {noun} {event.post!r}; "
            "one kudos per member per post",
        )
    need = ctx.policy.min_reputation_to_give_kudos
    if need and not giver.is_staff and not ctx.trusted:
        have = ctx.balance(event.giver, "reputation")
        ctx.require(
            have >= need,
            f"member {event.giver!r} needs {need} reputation to give kudos and has {have}",
        )
    ctx.require_privilege(event.giver, "give_kudos", f"give kudos on {event.post!r}")
    _take_back(
        ctx, "down_vote", post, event.giver, f"down-vote on {event.post!r} replaced by kudos"
    )
    tags = _tags(post)
    _vote_on(ctx, "kudos", post, event.giver, None, gen)
    ctx.bump("kudos_received", post.author, 1, tags=tags)
    ctx.bump("kudos_given", event.giver, 1)
    action = "kudos_on_reply" if post.kind == "reply" else "kudos_on_topic"
    limit = _limits.unpaid_vote(ctx, giver, post.author)
    kept = 0
    if not post.wiki:  # community wiki: votes count, but earn no one anything
        kept += _limits.award(
            ctx,
            limit,
            post.author,
            action,
            subject=post.id,
            reason=f"kudos from {event.giver} on {noun} {post.id!r}",
            tags=tags,
        )
    kept += _limits.award(
        ctx,
        limit,
        event.giver,
        "kudos_given",
        subject=post.id,
        reason=f"gave kudos on {noun} {post.id!r}",
        tags=tags,
    )
    if limit is not None:
        _limits.remember(ctx, limit, event.giver, post, kept)
    ctx.touched.update((post.author, event.giver))


@handles(KudosWithdrawn, derive_id=_off_id("kudos", "post", "giver"))
def _kudos_withdrawn(ctx: Context, event: KudosWithdrawn) -> None:
    ctx.member(event.giver)
    post = _live_post(ctx, event.post, "have kudos withdrawn (they were taken back already)")
    ctx.require(
        _take_back(
            ctx,
            "kudos",
            post,
            event.giver,
            f"kudos withdrawn by {event.giver} on {_noun(post)} {post.id!r}",
        ),
        f"member {event.giver!r} has no kudos on {event.post!r} to withdraw",
    )


@handles(DownVoted, derive_id=_on_id("down_vote", "post", "voter"))
def _down_voted(ctx: Context, event: DownVoted) -> None:
    ctx.require(
        ctx.policy.down_votes,
        f"policy {ctx.policy.name!r} has no down-votes; enable Policy.down_votes to allow them",
    )
    voter = ctx.member(event.voter)
    post = _live_post(ctx, event.post, "be down-voted")
    ctx.not_before(post, f"a down-vote from {event.voter!r}")
    noun = _noun(post)
    ctx.require(
        post.author != event.voter,
        f"member {event.voter!r} cannot down-vote their own {noun} {event.post!r}",
    )
    active, _ = _vote_gen(ctx.tx, "down_vote", event.post, event.voter)
    ctx.require(not active, f"member {event.voter!r} already down-voted {noun} {event.post!r}")
    need = ctx.policy.min_reputation_to_down_vote
    if need and not voter.is_staff and not ctx.trusted:
        have = ctx.balance(event.voter, "reputation")
        ctx.require(
            have >= need,
            f"member {event.voter!r} needs {need} reputation to down-vote and has {have}",
        )
    ctx.require_privilege(event.voter, "down_vote", f"down-vote {event.post!r}")
    _take_back(ctx, "kudos", post, event.voter, f"kudos on {event.post!r} replaced by a down-vote")
    tags = _tags(post)
    _vote_on(ctx, "down_vote", post, event.voter, None)
    ctx.bump("down_votes_received", post.author, 1, tags=tags)
    on_reply = post.kind == "reply"
    if not post.wiki:
        ctx.award(
            post.author,
            "down_vote_on_reply" if on_reply else "down_vote_on_topic",
            subject=post.id,
            reason=f"down-vote on {noun} {post.id!r}",
            tags=tags,
        )
    if on_reply:
        ctx.award(
            event.voter,
            "down_vote_cast",
            subject=post.id,
            reason=f"down-voted reply {post.id!r}",
            tags=tags,
        )
    ctx.touched.update((post.author, event.voter))


@handles(DownVoteWithdrawn, derive_id=_off_id("down_vote", "post", "voter"))
def _down_vote_withdrawn(ctx: Context, event: DownVoteWithdrawn) -> None:
    ctx.member(event.voter)
    post = _live_post(ctx, event.post, "have a down-vote withdrawn")
    ctx.require(
        _take_back(
            ctx,
            "down_vote",
            post,
            event.voter,
            f"down-vote withdrawn by {event.voter} on {post.id!r}",
        ),
        f"member {event.voter!r} has no down-vote on {event.post!r} to withdraw",
    )


# --- solutions -----------------------------------------------------------------------


def _may_accept(ctx: Context, topic: Post, by: str, verb: str) -> None:
    member = ctx.member(by)
    ctx.require(
        same_person(ctx.tx, member.id, topic.author)
        or member.is_staff
        or ctx.privilege(by, "accept_solutions") is True,
        f"only the asker {topic.author!r} or staff may {verb} a solution on {topic.id!r}, "
        f"not {by!r}",
    )


def _unaccept(ctx: Context, topic: Post, reason: str) -> None:
    doc = ctx.tx.get("post", topic.id)
    assert doc is not None
    data = dict(doc.data)
    reply = ctx.post(data["solution"])
    ctx.reverse_event(data["solution_event"], reason)
    if not reply.removed and _counts_as_solution(ctx, reply, topic):
        ctx.bump(
            "solutions",
            reply.author,
            -1,
            period=data["solution_period"],
            tags=_tags(reply),
            at=_fact_at(ctx, data["solution_event"]),
        )
    data["solution"] = None
    ctx.put("post", topic.id, data, ref=doc.ref, status=doc.status)
    ctx.touched.add(reply.author)


def _counts_as_solution(ctx: Context, reply: Post, topic: Post) -> bool:
    """Whether an accepted ``reply`` counts as a solution (for boards, ranks and badges).

    An asker accepting their own reply (also one written under an account since
    merged into theirs, or theirs into it) solved nothing for anyone else: it
    counts only where the policy rewards self-accepting.
    """
    return not same_person(ctx.tx, reply.author, topic.author) or ctx.policy.self_accept_rewards


@handles(SolutionAccepted, derive_id=_accept_id)
def _accepted(ctx: Context, event: SolutionAccepted) -> None:
    topic = _live_post(ctx, event.topic, "have a solution accepted")
    solvable = ctx.policy.support.solvable
    kinds = [f"{kind}s" for kind in solvable]
    named = " and ".join([", ".join(kinds[:-1]), kinds[-1]] if len(kinds) > 1 else kinds)
    article = "an" if topic.kind[0] in "aeiou" else "a"
    ctx.require(
        topic.kind in solvable,
        f"{event.topic!r} is {article} {topic.kind}; "
        + (f"only {named} take solutions" if named else "no kind takes solutions")
        + " (policy support.solvable)",
    )
    reply = _live_post(ctx, event.reply, "be accepted as a solution")
    ctx.not_before(reply, f"the acceptance of {event.reply!r} as the solution of {event.topic!r}")
    ctx.require(
        reply.kind == "reply" and reply.topic == topic.id,
        f"{event.reply!r} is not a reply on topic {event.topic!r}; accept one of its replies",
    )
    _may_accept(ctx, topic, event.by, "accept")
    ctx.require(
        topic.solution != event.reply,
        f"reply {event.reply!r} is already the solution of {event.topic!r}",
    )
    if topic.solution is not None:
        _unaccept(ctx, topic, f"solution of {topic.id!r} changed to {reply.id!r}")
    doc = ctx.tx.get("post", topic.id)
    assert doc is not None
    data = dict(doc.data)
    data.update(
        solution=reply.id,
        solution_event=ctx.event_id,
        solution_period=ctx.period,
        accept_gen=int(data.get("accept_gen", 0)) + 1,
        accepted_by=event.by,
    )
    ctx.put("post", topic.id, data, ref=doc.ref, status=doc.status)
    tags = _tags(reply)
    own = same_person(ctx.tx, reply.author, topic.author)
    if _counts_as_solution(ctx, reply, topic):
        ctx.bump("solutions", reply.author, 1, tags=tags)
    if not own or ctx.policy.self_accept_rewards:
        ctx.award(
            reply.author,
            "solution_accepted",
            subject=reply.id,
            reason=f"reply {reply.id!r} accepted as the solution of {topic.id!r}",
            tags=tags,
        )
        if same_person(ctx.tx, event.by, topic.author) and not own:
            ctx.award(
                event.by,
                "solution_accepter",
                subject=reply.id,
                reason=f"accepted a solution on {topic.id!r}",
                tags=tags,
            )
    ctx.touched.update((reply.author, event.by))


@handles(SolutionUnaccepted, derive_id=_unaccept_id)
def _unaccepted(ctx: Context, event: SolutionUnaccepted) -> None:
    topic = _live_post(ctx, event.topic, "have its solution unaccepted")
    ctx.require(topic.solution is not None, f"topic {event.topic!r} has no accepted solution")
    _may_accept(ctx, topic, event.by, "unaccept")
    ctx.not_before_acceptance(
        topic, f"unaccepting the solution of {topic.id!r}", "the acceptance it undoes"
    )
    _unaccept(ctx, topic, f"solution of {topic.id!r} unaccepted by {event.by}")


# --- removal and adjustments -------------------------------------------------------------


def _must_be_staff(ctx: Context, by: str, what: str) -> None:
    ctx.require(
        ctx.member(by).is_staff or ctx.privilege(by, "moderate") is True,
        f"member {by!r} may not {what}: only staff and moderators can",
    )


def _count_post(ctx: Context, post: Post, data: dict[str, Any], sign: int) -> None:
    """Take a removed post out of its counters (``sign`` -1), or put it back (+1)."""
    tags = _tags(post)
    for vote in ctx.tx.find("kudos", ref=post.id, status="active"):
        given = ctx.tx.get_event(vote.data["event_id"])
        at = given.at if given is not None else None
        ctx.bump("kudos_received", post.author, sign, period=vote.data["period"], tags=tags, at=at)
        if given is not None:
            # The giver's award goes (or comes back) with the post, so does their count of it.
            ctx.bump("kudos_given", given.payload["giver"], sign, period=vote.data["period"], at=at)
    for vote in ctx.tx.find("down_vote", ref=post.id, status="active"):
        ctx.bump(
            "down_votes_received",
            post.author,
            sign,
            period=vote.data["period"],
            tags=tags,
            at=_fact_at(ctx, vote.data["event_id"]),
        )
    ctx.bump(
        "replies" if post.kind == "reply" else "topics",
        post.author,
        sign,
        period=data.get("period"),
        tags=tags,
        at=post.posted_at,
    )
    if post.kind == "reply" and post.topic:
        topic_doc = ctx.tx.get("post", post.topic)
        if (
            topic_doc is not None
            and topic_doc.data.get("solution") == post.id
            and _counts_as_solution(ctx, post, engine.post_from_doc(topic_doc))
        ):
            ctx.bump(
                "solutions",
                post.author,
                sign,
                period=topic_doc.data.get("solution_period"),
                tags=tags,
                at=_fact_at(ctx, topic_doc.data.get("solution_event")),
            )
    ctx.touched.add(post.author)


@handles(PostRemoved, derive_id=_remove_id)
def _removed(ctx: Context, event: PostRemoved) -> None:
    post = ctx.post(event.post)
    _must_be_staff(ctx, event.by, f"remove {event.post!r}")
    ctx.require(not post.removed, f"post {event.post!r} was already removed")
    ctx.not_before(post, f"the removal of {post.id!r}")
    why = f"{_noun(post)} {post.id!r} removed ({event.reason})"
    for entry in ctx.live_entries(subject=post.id):
        ctx.reverse(entry, why)
    doc = ctx.tx.get("post", post.id)
    assert doc is not None
    data = dict(doc.data)
    _count_post(ctx, post, data, -1)
    data.update(
        removed=True,
        removed_reason=event.reason,
        removed_by=event.by,
        removed_event=ctx.event_id,
        held_back=[list(h) for h in ctx.held_back],  # what the cap still held back of them
    )
    ctx.put("post", post.id, data, ref=doc.ref, status="removed")
    if event.reason in ABUSE_REASONS:
        ctx.award(post.author, "removed_as_spam", subject=post.id, reason=why, tags=_tags(post))


@handles(PostRestored, derive_id=_restore_id)
def _restored(ctx: Context, event: PostRestored) -> None:
    post = ctx.post(event.post)
    _must_be_staff(ctx, event.by, f"restore {event.post!r}")
    ctx.require(
        post.removed, f"post {event.post!r} is not removed; only a removed post is restored"
    )
    ctx.require(
        post.kind != "idea", f"{event.post!r} is an idea; restoring removed ideas is not supported"
    )
    doc = ctx.tx.get("post", post.id)
    assert doc is not None
    data = dict(doc.data)
    ctx.not_before(post, f"the restoration of {post.id!r}")
    ctx.not_older(
        ctx.fact_at(data["removed_event"]),
        f"the restoration of {post.id!r}",
        "it was removed",
        "the removal it undoes",
    )
    why = f"{_noun(post)} {post.id!r} restored"
    about = {e.entry_id: e for e in ctx.tx.entries(subject=post.id)}
    for entry in ctx.tx.entries(event_id=data["removed_event"]):
        if entry.reverses is None and entry.action == "removed_as_spam":
            ctx.reverse(entry, why)
    taken = ctx.taken_back(data["removed_event"], about)
    for award_id, amount in taken.items():
        if ctx.tx.get("undone", award_id) is None:  # not undone while the post was removed
            ctx.reinstate(about[award_id], amount, why)
    for award_id, missing in data.get("held_back", []):
        if award_id not in taken and ctx.tx.get("undone", award_id) is None:
            ctx.hold_back(about[award_id], int(missing))  # held back again; room tops it up
    _count_post(ctx, post, data, +1)
    data.update(removed=False, restored_by=event.by, restored_event=ctx.event_id)
    ctx.put("post", post.id, data, ref=doc.ref, status="live")


@handles(PointsAdjusted)
def _adjusted(ctx: Context, event: PointsAdjusted) -> None:
    ctx.member(event.member)
    _must_be_staff(ctx, event.by, f"adjust {event.member!r}'s points")
    for account, amount in (("points", event.points), ("reputation", event.reputation)):
        ctx.credit(
            event.member,
            account,
            amount,
            action="adjustment",
            subject=None,
            reason=f"{event.reason} (by {event.by})",
            force=True,
        )
    ctx.touched.add(event.member)
