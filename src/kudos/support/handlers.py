"""The engine half of support: feelings, search records, deflections, people involved, shifts.

Documents kept here (kind: key -> data):

* ``search`` (:data:`~kudos.stores.protocol.SEARCH_KIND`): topic id -> text (the
  words a similar-topic search matches), title, kind, tags, product, period,
  posted_at, feeling, feeling_gen, solution, solution_author (status ``live`` /
  ``removed``; a removed topic's text is empty, so no search finds it);
* ``involved``: topic and member -> why the member is involved (``posted``,
  ``replied``, ``following``) and the follow generation (ref = topic);
* ``involved_in``: member and topic -> the topic (ref = member): the topics a
  member was ever involved in, so deleting the member takes them out;
* ``involved_product``: product and member -> in how many of its topics;
* ``deflection``: topic and member -> the event and its period (ref = topic;
  status ``counted``, or ``removed`` while the topic is removed);
* ``deflection_paid``: reply -> its topic (ref = topic): a reply that earned deflection
  rewards, which follow the topic and the reply whether or not it is still accepted;
* ``deflection_taken``: solution reply -> the event that last took its deflection
  rewards back (ref = topic), so they come back once topic and reply are both live;
* ``shift``: shift id -> member, start, end, product (ref = member; status
  ``active`` or ``cancelled``).

Counters (metric, scope, subject):

* ``("feelings", "<period>|<product>|<tag>", feeling)``, ``*`` for "any";
* ``("deflections", "all" | period, "*" | "product:<p>" | "topic:<t>")``;
* ``("people_involved", "topic" | "product", id)`` and ``("followers", "topic", id)``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..channels.events import MembersMerged
from ..engine import core as engine
from ..engine.core import Context, after_event, handles
from ..errors import InvalidInput
from ..events import (
    FeelingSet,
    MemberDeleted,
    PostRemoved,
    PostRestored,
    ReplyPosted,
    ShiftReported,
    SolutionAccepted,
    SolutionUnaccepted,
    TopicDeflected,
    TopicFollowed,
    TopicPosted,
    TopicUnfollowed,
)
from ..model import Doc, Post, board_tags
from ..stores.protocol import SEARCH_KIND, Transaction, search_terms

ANY = "*"


def pair_key(first: str, second: str) -> str:
    """A document key of two ids that no choice of ids can make collide."""
    return f"{len(first)}:{first}:{second}"


def search_text(title: str, body: str | None, tags: tuple[str, ...], product: str | None) -> str:
    """The words a topic is found by: its title, body, tags and product."""
    parts = [title, body or "", *tags, product or ""]
    return " ".join(search_terms(" ".join(parts)))


def _scope_part(value: str | None) -> str:
    """``value`` in a scope: :data:`ANY` for ``None``, else escaped so that no id (say
    ``"*"`` or ``"p|q"``) reads as "any" or as two parts."""
    if value is None:
        return ANY
    return value.replace("%", "%25").replace("*", "%2A").replace("|", "%7C")


def feeling_scope(period: str | None, product: str | None, tag: str | None) -> str:
    """The counter scope of feelings of one period, product and tag (``None``: any)."""
    return "|".join(_scope_part(part) for part in (period, product, tag))


def _check_feeling(ctx: Context, feeling: str) -> None:
    allowed = ctx.policy.support.feelings
    if feeling not in allowed:
        raise InvalidInput(
            f"feeling {feeling!r} is not one of the policy's feelings: {', '.join(allowed)}"
        )


def _count_feeling(ctx: Context, data: dict[str, Any], feeling: str | None, sign: int) -> None:
    if feeling is None:
        return
    products: list[str | None] = [None] + ([data["product"]] if data.get("product") else [])
    tags: list[str | None] = [None, *dict.fromkeys(data.get("tags", ()))]
    for period in (None, data["period"]):
        for product in products:
            for tag in tags:
                ctx.tallies[("feelings", feeling_scope(period, product, tag), feeling)] += sign


# --- people involved ----------------------------------------------------------------


def _involve(ctx: Context, topic: str, product: str | None, member: str, why: str) -> None:
    key = pair_key(topic, member)
    _add_involvement(ctx, topic, product, member, why, key, ctx.tx.get("involved", key))


def _involved_for(doc: Doc | None, why: str) -> bool:
    """Whether the ``involved`` document ``doc`` already holds ``why``."""
    return doc is not None and why in doc.data["why"]


def _add_involvement(
    ctx: Context,
    topic: str,
    product: str | None,
    member: str,
    why: str,
    key: str,
    doc: Doc | None,
) -> None:
    """Add ``why`` to ``member``'s involvement in ``topic`` (``doc``, read under ``key``)."""
    if _involved_for(doc, why):
        return  # kept already: nothing to write
    if ctx.member(member).deleted:  # a deleted account is no one (its posts stay)
        return
    whys = doc.data["why"] if doc is not None else []
    data = {**doc.data, "why": [*whys, why]} if doc is not None else {"why": [why]}
    ctx.put("involved", key, data, ref=topic, status="involved")
    if not whys:  # so that deleting the member finds the topics it is involved in
        ctx.put("involved_in", pair_key(member, topic), {"topic": topic}, ref=member, status=None)
    if why == "following":
        ctx.deltas[("followers", "topic", topic)] += 1
    if whys:
        return
    ctx.deltas[("people_involved", "topic", topic)] += 1
    if product:
        _product_involvement(ctx, product, member, +1)


def _uninvolve(ctx: Context, topic: str, product: str | None, member: str, why: str) -> bool:
    key = pair_key(topic, member)
    doc = ctx.tx.get("involved", key)
    if doc is None or why not in doc.data["why"]:
        return False
    whys = [w for w in doc.data["why"] if w != why]
    ctx.put(
        "involved", key, {**doc.data, "why": whys}, ref=topic, status="involved" if whys else "gone"
    )
    if why == "following":
        ctx.deltas[("followers", "topic", topic)] -= 1
    if not whys:
        ctx.deltas[("people_involved", "topic", topic)] -= 1
        if product:
            _product_involvement(ctx, product, member, -1)
    return True


def _live_product(topic: Post) -> str | None:
    """The product a topic involves its members in: none while it is removed."""
    return None if topic.removed else topic.product


def _product_involvement(ctx: Context, product: str, member: str, delta: int) -> None:
    key = pair_key(product, member)
    doc = ctx.tx.get("involved_product", key)
    topics = (int(doc.data["topics"]) if doc else 0) + delta
    ctx.put("involved_product", key, {"topics": topics}, ref=product, status=None)
    if (topics > 0) != (topics - delta > 0):
        ctx.tallies[("people_involved", "product", product)] += delta


# --- topics ------------------------------------------------------------------------------


def topic_posted(ctx: Context, event: TopicPosted) -> None:
    """What a new topic means for support (called by the forum's topic handler)."""
    if event.feeling is not None:
        _check_feeling(ctx, event.feeling)
    rules = ctx.policy.support
    if event.praised is not None:
        ctx.require(
            event.kind in rules.praisable,
            f"a {event.kind} topic cannot name a member it praises; "
            f"only {', '.join(rules.praisable) or 'no kinds'} can (policy support.praisable)",
        )
        ctx.member(event.praised)
        ctx.require(
            not engine.same_person(ctx.tx, event.praised, event.author),
            f"member {event.author!r} cannot praise themselves (or an account merged with "
            f"theirs) in topic {event.topic!r}",
        )
    data: dict[str, Any] = {
        "text": search_text(event.title, event.body, event.tags, event.product),
        "title": event.title,
        "kind": event.kind,
        "author": event.author,
        "tags": list(event.tags),
        "product": event.product,
        "period": engine.period_of(ctx.policy, ctx.at),
        "posted_at": ctx.at_text,
        "feeling": event.feeling,
        "feeling_gen": 1 if event.feeling else 0,
        "praised": event.praised,
        "solution": None,
        "solution_author": None,
    }
    ctx.put(SEARCH_KIND, event.topic, data, ref=event.product, status="live")
    _count_feeling(ctx, data, event.feeling, +1)
    _involve(ctx, event.topic, event.product, event.author, "posted")
    if event.praised is not None:
        tags = board_tags(event.tags, event.product)
        ctx.award(
            event.praised,
            "praise_received",
            subject=event.topic,
            reason=f"praised by {event.author} in {event.topic!r}",
            tags=tags,
        )
        ctx.touched.add(event.praised)


def _record(ctx: Context, topic: str) -> dict[str, Any] | None:
    doc = ctx.tx.get(SEARCH_KIND, topic)
    return dict(doc.data) if doc is not None else None


def _feeling_id(tx: Transaction, event: FeelingSet) -> str:
    doc = tx.get(SEARCH_KIND, event.topic)
    gen = int(doc.data.get("feeling_gen", 0)) if doc else 0
    same = doc is not None and doc.data.get("feeling") == event.feeling
    return engine.generation_id(engine.default_id(event), gen if same else gen + 1)


@handles(FeelingSet, derive_id=_feeling_id)
def _feeling_set(ctx: Context, event: FeelingSet) -> None:
    _check_feeling(ctx, event.feeling)
    topic = ctx.post(event.topic)
    ctx.require(topic.kind != "reply", f"{event.topic!r} is a reply; feelings are a topic's")
    ctx.require(  # a log recorded before this check still replays
        ctx.trusted or not topic.removed,
        f"topic {event.topic!r} was removed; it cannot have its feeling set",
    )
    ctx.not_before(topic, f"the feeling {event.feeling!r} of {event.by!r}")
    ctx.member(event.by)
    ctx.require(
        engine.same_person(ctx.tx, event.by, topic.author),
        f"only the author {topic.author!r} says how they feel about {event.topic!r}, "
        f"not {event.by!r}",
    )
    data = _record(ctx, event.topic)
    ctx.require(
        data is not None,
        f"topic {event.topic!r} was posted before kudos kept feelings; "
        "run community.rebuild() once after upgrading kudos",
    )
    assert data is not None
    ctx.require(
        data["feeling"] != event.feeling,
        f"topic {event.topic!r} already has the feeling {event.feeling!r}",
    )
    doc = ctx.tx.get(SEARCH_KIND, event.topic)
    assert doc is not None
    if doc.status != "removed":
        _count_feeling(ctx, data, data["feeling"], -1)
        _count_feeling(ctx, data, event.feeling, +1)
    data.update(feeling=event.feeling, feeling_gen=int(data.get("feeling_gen", 0)) + 1)
    ctx.put(SEARCH_KIND, event.topic, data, ref=doc.ref, status=doc.status)


# --- deflection --------------------------------------------------------------------------

DEFLECTION = "deflection_solution"
"""The action of the reward a deflection pays the author of the topic's solution."""


@handles(TopicDeflected)
def _deflected(ctx: Context, event: TopicDeflected) -> None:
    ctx.member(event.by)
    topic = ctx.post(event.topic)
    ctx.require(topic.kind != "reply", f"{event.topic!r} is a reply; suggestions are topics")
    ctx.require(not topic.removed, f"topic {event.topic!r} was removed; it answers no one")
    ctx.not_before(topic, f"the deflection of {event.by!r}")
    ctx.not_before_acceptance(topic, f"the deflection of {event.by!r}")
    key = pair_key(event.topic, event.by)
    ctx.require(
        ctx.tx.get("deflection", key) is None,
        f"member {event.by!r} already said topic {event.topic!r} answered them",
    )
    period = engine.period_of(ctx.policy, ctx.at)
    data = {"event": ctx.event_id, "period": period}
    ctx.put("deflection", key, data, ref=event.topic, status="counted")
    _count_deflection(ctx, topic, period, +1)
    if topic.solution is None:
        return
    reply = ctx.post(topic.solution)
    if reply.removed or engine.same_person(ctx.tx, reply.author, event.by):
        return
    tags = board_tags(topic.tags, topic.product)
    if ctx.tx.get("deflection_paid", reply.id) is None:
        ctx.put("deflection_paid", reply.id, {"topic": topic.id}, ref=topic.id)
    ctx.award(
        reply.author,
        DEFLECTION,
        subject=reply.id,
        reason=f"solution {reply.id!r} of {topic.id!r} answered {event.by} before they asked",
        tags=tags,
    )
    ctx.touched.add(reply.author)


def _count_deflection(ctx: Context, topic: Post, period: str, sign: int) -> None:
    subjects = [ANY, f"topic:{topic.id}"] + ([f"product:{topic.product}"] if topic.product else [])
    for scope in ("all", period):
        for subject in subjects:
            ctx.tallies[("deflections", scope, subject)] += sign


def _deflections_follow(ctx: Context, topic: Post, removed: bool) -> None:
    """A removed topic answers no one: its deflections stop counting and the rewards
    they paid its solution's author are taken back, as a removed post's own awards are;
    restoring the topic counts them and gives them again."""
    before, after = ("counted", "removed") if removed else ("removed", "counted")
    for doc in ctx.tx.find("deflection", ref=topic.id, status=before):
        period = doc.data.get("period")
        if period is None:  # written before deflections kept their period
            stored = ctx.tx.get_event(str(doc.data["event"]))
            period = ctx.policy.periods.period_of(stored.at if stored else ctx.at)
        _count_deflection(ctx, topic, str(period), -1 if removed else +1)
        ctx.put("deflection", doc.key, {**doc.data, "period": period}, ref=doc.ref, status=after)
    _sync_deflection_rewards(ctx, topic)


def _sync_deflection_rewards(ctx: Context, topic: Post) -> None:
    """Keep the deflection rewards of ``topic`` live exactly while both the topic and
    the reply that earned them are live, whatever order they were removed, restored,
    unaccepted and accepted in (a plain unaccept keeps them: the reply did answer the
    members it deflected).

    The replies that earned them are those with a ``deflection_paid`` document
    (ref = the topic), the topic's accepted solution and any reply whose rewards were
    taken (a ``deflection_taken`` document, ref = the topic).
    """
    replies = {doc.key for doc in ctx.tx.find("deflection_paid", ref=topic.id)}
    replies.update(doc.key for doc in ctx.tx.find("deflection_taken", ref=topic.id))
    if topic.solution is not None:
        replies.add(topic.solution)
    for reply in sorted(replies):
        _sync_reply_deflections(ctx, topic, ctx.post(reply))


def _sync_reply_deflections(ctx: Context, topic: Post, reply: Post) -> None:
    """Take back or give again the deflection rewards ``reply`` earned on ``topic``.

    The event that took them away last (removing the topic, removing the reply, or
    restoring the reply while the topic is still removed) is remembered in a
    ``deflection_taken`` document (key = the reply); once both are live again, what that
    event took is given back, under the award's caps.
    """
    pending = {e.reverses for e in ctx.entries if e.reverses is not None}
    live = [
        e
        for e in ctx.live_entries(subject=reply.id, action=DEFLECTION)
        if e.entry_id not in pending
    ] + [
        e
        for e in ctx.entries
        if e.subject == reply.id
        and e.action == DEFLECTION
        and e.reverses is None
        and e.entry_id not in pending
    ]
    if topic.removed or reply.removed:
        for entry in live:
            ctx.reverse(entry, f"topic {topic.id!r} or its solution {reply.id!r} removed")
        taken = (
            e.action == DEFLECTION and e.subject == reply.id and e.reverses is not None
            for e in ctx.entries
        )
        if any(taken):
            ctx.put("deflection_taken", reply.id, {"event": ctx.event_id}, ref=topic.id)
        return
    taken_by = ctx.tx.get("deflection_taken", reply.id)
    if live or taken_by is None:
        return
    about = {e.entry_id: e for e in ctx.tx.entries(subject=reply.id)}
    why = f"topic {topic.id!r} and its solution {reply.id!r} restored"
    for award_id, amount in ctx.taken_back(str(taken_by.data["event"]), about).items():
        award = about[award_id]
        if award.action == DEFLECTION and ctx.tx.get("undone", award_id) is None:
            ctx.reinstate(award, amount, why)


# --- followers ---------------------------------------------------------------------------


def _follow_gen(tx: Transaction, event: TopicFollowed | TopicUnfollowed) -> tuple[bool, int]:
    # the account that follows: the one a merged account was merged into
    doc = tx.get("involved", pair_key(event.topic, engine.resolve(tx, event.member)))
    if doc is None:
        return False, 0
    return "following" in doc.data["why"], int(doc.data.get("follow_gen", 0))


def _follow_id(tx: Transaction, event: TopicFollowed) -> str:
    following, gen = _follow_gen(tx, event)
    return engine.generation_id(engine.default_id(event), gen if following else gen + 1)


def _unfollow_id(tx: Transaction, event: TopicUnfollowed) -> str:
    _, gen = _follow_gen(tx, event)
    return engine.generation_id(engine.default_id(event), max(gen, 1))


@handles(TopicFollowed, derive_id=_follow_id)
def _followed(ctx: Context, event: TopicFollowed) -> None:
    member = ctx.member(event.member)
    topic = ctx.post(event.topic)
    ctx.require(topic.kind != "reply", f"{event.topic!r} is a reply; members follow topics")
    if member.deleted or topic.removed:  # a log recorded before these checks still replays
        ctx.require(
            ctx.trusted or not member.deleted,
            f"member {event.member!r} was deleted; they follow nothing",
        )
        ctx.require(
            ctx.trusted or not topic.removed,
            f"topic {event.topic!r} was removed; it cannot be followed",
        )
        if member.deleted:
            return
    ctx.not_before(topic, f"the follow of {event.member!r}")
    following, gen = _follow_gen(ctx.tx, event)
    doc = ctx.tx.get("involved", pair_key(topic.id, event.member))
    if following and doc is not None and doc.data.get("follow_merged"):
        return  # they follow it under an account merged into theirs: one person, one follow
    ctx.require(not following, f"member {event.member!r} already follows {event.topic!r}")
    _involve(ctx, topic.id, _live_product(topic), event.member, "following")
    key = pair_key(topic.id, event.member)
    ctx.update("involved", key, follow_gen=gen + 1, followed_at=ctx.at_text)


@handles(TopicUnfollowed, derive_id=_unfollow_id)
def _unfollowed(ctx: Context, event: TopicUnfollowed) -> None:
    member = ctx.member(event.member)
    topic = ctx.post(event.topic)
    ctx.not_before(topic, f"the unfollow of {event.member!r}")
    if member.deleted:  # deleting the member ended every follow: nothing left to end
        return
    doc = ctx.tx.get("involved", pair_key(topic.id, event.member))
    data = doc.data if doc is not None else {}
    followed = data.get("followed_at")
    if followed is not None and "following" in data["why"]:
        ctx.not_older(
            followed,
            f"the unfollow of {event.member!r}",
            f"they followed {topic.id!r}",
            "the follow it ends",
        )
    ctx.require(
        _uninvolve(ctx, topic.id, _live_product(topic), event.member, "following"),
        f"member {event.member!r} does not follow {event.topic!r}",
    )


# --- shifts ------------------------------------------------------------------------------


def _shift_fields(event: ShiftReported) -> dict[str, Any]:
    return {
        "member": event.member,
        "start": event.start.isoformat(),
        "end": event.end.isoformat(),
        "product": event.product,
    }


def _shift_id(tx: Transaction, event: ShiftReported) -> str:
    """A report of a shift's current fields again is a replay; any other report is the
    shift's next generation (so every distinct report applies, even back to old times)."""
    doc = tx.get("shift", event.shift)
    if doc is None:
        return engine.generation_id(engine.default_id(event), 1)
    gen = int(doc.data.get("gen", 1))
    fields = {k: doc.data.get(k) for k in ("member", "start", "end", "product")}
    same = fields == _shift_fields(event)
    return engine.generation_id(engine.default_id(event), gen if same else gen + 1)


@handles(ShiftReported, derive_id=_shift_id)
def _shift(ctx: Context, event: ShiftReported) -> None:
    member = ctx.member(event.member)
    ctx.require(
        member.is_staff,
        f"member {event.member!r} is not staff; only staff (employees) work shifts",
    )
    ctx.require(not member.deleted, f"member {event.member!r} was deleted; they work no shifts")
    if event.end < event.start:
        raise InvalidInput(
            f"shift {event.shift!r} ends ({event.end.isoformat()}) before it starts "
            f"({event.start.isoformat()}); to cancel a shift report it with end equal to start"
        )
    before = ctx.tx.get("shift", event.shift)
    gen = int(before.data.get("gen", 1)) + 1 if before is not None else 1
    ctx.put(
        "shift",
        event.shift,
        {**_shift_fields(event), "gen": gen},
        ref=event.member,
        status="active" if event.end > event.start else "cancelled",
    )


def on_duty(tx: Transaction, product: str | None, at: datetime) -> list[str]:
    """The staff ids with an active shift covering ``at`` for ``product`` (any when ``None``)."""
    found = set()
    for doc in tx.find("shift", status="active"):
        d = doc.data
        if product is not None and d["product"] not in (None, product):
            continue
        if datetime.fromisoformat(d["start"]) <= at < datetime.fromisoformat(d["end"]):
            found.add(d["member"])
    return sorted(found)


# --- what other facts mean for support ------------------------------------------------


@after_event(
    on=(
        ReplyPosted,
        MemberDeleted,
        SolutionAccepted,
        SolutionUnaccepted,
        MembersMerged,
        PostRemoved,
        PostRestored,
    )
)
def _on_forum_events(ctx: Context) -> None:
    event = ctx.event
    if isinstance(event, ReplyPosted):
        key = pair_key(event.topic, event.author)
        doc = ctx.tx.get("involved", key)
        if _involved_for(doc, "replied"):
            return  # replied before: neither the topic nor the member needs reading
        topic = ctx.post(event.topic)
        _add_involvement(ctx, topic.id, _live_product(topic), event.author, "replied", key, doc)
    elif isinstance(event, MemberDeleted):  # a deleted account is no one, on duty no more
        for shift in ctx.tx.find("shift", ref=event.member, status="active"):
            ctx.put("shift", shift.key, dict(shift.data), ref=shift.ref, status="cancelled")
        _leave_everything(ctx, event.member)
    elif isinstance(event, SolutionAccepted | SolutionUnaccepted):
        _sync_solution(ctx, event.topic)
    elif isinstance(event, MembersMerged):
        _merge_involvement(ctx, event.member, event.into)
    elif isinstance(event, PostRemoved | PostRestored):
        removed = isinstance(event, PostRemoved)
        post = ctx.post(event.post)
        if post.kind == "reply":
            if post.topic is not None:
                _sync_solution(ctx, post.topic)
                _sync_deflection_rewards(ctx, ctx.post(post.topic))
            return
        doc = ctx.tx.get(SEARCH_KIND, event.post)
        if doc is None:
            return
        data = dict(doc.data)
        _count_feeling(ctx, data, data["feeling"], -1 if removed else +1)
        if removed:  # a removed topic is found by no search, until it is restored
            data["hidden_text"], data["text"] = data["text"], ""
        else:
            data["text"] = data.pop("hidden_text", data["text"])
        ctx.put(SEARCH_KIND, event.post, data, ref=doc.ref, status="removed" if removed else "live")
        _deflections_follow(ctx, post, removed)
        if post.product:  # a removed topic involves no one in its product
            for inv in ctx.tx.find("involved", ref=post.id, status="involved"):
                member = inv.key.split(":", 1)[1][len(post.id) + 1 :]  # see pair_key
                _product_involvement(ctx, post.product, member, -1 if removed else +1)


def _merge_involvement(ctx: Context, gone: str, kept: str) -> None:
    """A merged account's involvement (posts, replies, follows) becomes the kept account's:
    one person counts once among the people involved and the followers, either id ends
    the follow, and deleting the kept account takes it out."""
    for doc in ctx.tx.find("involved_in", ref=gone):
        topic = ctx.post(str(doc.data["topic"]))
        inv = ctx.tx.get("involved", pair_key(topic.id, gone))
        if inv is None or inv.status != "involved":
            continue
        product = _live_product(topic)
        for why in inv.data["why"]:
            _uninvolve(ctx, topic.id, product, gone, why)
            if why != "following":
                _involve(ctx, topic.id, product, kept, why)
                continue
            key = pair_key(topic.id, kept)
            mine = ctx.tx.get("involved", key)
            if mine is not None and "following" in mine.data["why"]:
                continue  # the kept account follows it already
            gen = int(mine.data.get("follow_gen", 0)) if mine is not None else 0
            _involve(ctx, topic.id, product, kept, "following")
            ctx.update(
                "involved",
                key,
                follow_gen=gen + 1,
                followed_at=inv.data.get("followed_at", ctx.at_text),
                follow_merged=True,
            )


def _leave_everything(ctx: Context, member: str) -> None:
    """A deleted member stops counting among the people involved and the followers of
    every topic (and product) they took part in; their posts stay, as no one's."""
    for doc in ctx.tx.find("involved_in", ref=member):
        topic = ctx.post(str(doc.data["topic"]))
        inv = ctx.tx.get("involved", pair_key(topic.id, member))
        if inv is None or inv.status != "involved":
            continue
        for why in inv.data["why"]:
            _uninvolve(ctx, topic.id, _live_product(topic), member, why)


def _sync_solution(ctx: Context, topic_id: str) -> None:
    """Keep a topic's search record's solution: its accepted reply unless removed."""
    doc = ctx.tx.get(SEARCH_KIND, topic_id)
    if doc is None:
        return
    solution = ctx.post(topic_id).solution
    author = None
    if solution is not None:
        reply = ctx.post(solution)
        solution, author = (None, None) if reply.removed else (solution, reply.author)
    if (doc.data["solution"], doc.data["solution_author"]) != (solution, author):
        data = {**doc.data, "solution": solution, "solution_author": author}
        ctx.put(SEARCH_KIND, topic_id, data, ref=doc.ref, status=doc.status)


__all__ = ["feeling_scope", "on_duty", "pair_key", "search_text", "topic_posted"]
