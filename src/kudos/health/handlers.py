"""The engine half of response health: one document per topic, kept as facts happen.

Each topic's ``health`` document holds its posting time and attributes, its
responses (replies by anyone but its author, and canonical answers given to
it) and its accepted solution. It lists its first :data:`LISTED` responses
itself; each later one has a ``response`` document of its own, so a reply
writes the same however long the thread. Each time a record changes, what it
contributes to the health counters changes with it
(:mod:`kudos.health.figures`), so :meth:`kudos.Community.health` reads
aggregates, never every record nor the event log, and ``rebuild()`` writes the
same records and counters again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..channels.events import AnsweredWith, MembersMerged
from ..engine import spill
from ..engine.core import Context, after_event, period_of, resolve, same_person
from ..events import (
    PostRemoved,
    PostRestored,
    ReplyPosted,
    SolutionAccepted,
    SolutionUnaccepted,
    TopicPosted,
    key_of,
)
from ..model import Doc
from ..stores.protocol import Transaction
from .figures import change

KIND = "health"
"""The document kind (one per topic, keyed by topic id, ``ref`` its posting period)."""

RESPONSE = "response"
"""The document kind of a response to a topic past the first :data:`LISTED`: keyed by
:func:`response_key`, ``ref`` the topic, its data ``{"n": position, "r": response}``
(``n`` counts from 0 among the topic's response documents); status ``"gone"`` once it no
longer counts (its author's account was merged into the topic author's)."""

LISTED = 16
"""How many responses a topic's record lists itself (about 70 bytes each). Later ones are
written as documents of their own, so the record stays small: most topics get fewer, and
write one document per reply as before. A record lists them as ``responses`` while it has
no such documents, then as ``listed``, with ``more`` counting the documents."""

# A response: [id, author, at (ISO), seconds after posting, staff, canonical or None, live]
_ID, _AUTHOR, _AT, _SECONDS, _STAFF, _CANONICAL, _LIVE = range(7)


def response_key(topic: str, response: str, *, answer: bool) -> str:
    """The key of the document of ``topic``'s response ``response``: a reply's id, or the id
    of the event that gave a canonical answer (``answer``)."""
    return key_of(topic, "answer" if answer else "reply", response)


def _key_of(topic: str, response: list[Any]) -> str:
    return response_key(topic, response[_ID], answer=response[_CANONICAL] is not None)


def _listing(data: Any) -> str:
    """The key of the responses a record lists (:func:`kudos.engine.spill.listing`)."""
    return spill.listing(data, "responses")


def responses(tx: Transaction, topic: str, data: Any) -> list[list[Any]]:
    """The responses to ``topic`` (its record's ``data``) that count, in the order they came:
    those the record lists, then those with documents of their own."""
    if "more" not in data:
        listed: list[list[Any]] = data["responses"]
        return listed
    later = spill.in_order(tx.find(RESPONSE, ref=topic))
    return [*data["listed"], *(doc.data["r"] for doc in later if doc.status is None)]


def _add_response(ctx: Context, topic: str, data: dict[str, Any], response: list[Any]) -> None:
    """Add ``response`` to ``topic``'s record ``data`` (:func:`kudos.engine.spill.append`):
    listed, or a ``response`` document. A record an earlier kudos kept lists every response;
    the first one it takes moves those past the first :data:`LISTED` to documents."""

    def put(n: int, r: list[Any]) -> None:
        ctx.put(RESPONSE, _key_of(topic, r), {"n": n, "r": r}, ref=topic)

    listed, more = spill.append(data[_listing(data)], data.get("more", 0), response, LISTED, put)
    spill.keep(data, "responses", listed, more)


def _seconds(since: str, at: datetime) -> int:
    return max(0, int((at - datetime.fromisoformat(since)).total_seconds()))


def _lower_firsts(data: dict[str, Any], response: list[Any]) -> None:
    """Count live ``response`` in the record's firsts: the least times of its live
    responses (all of them, and the members'), which a response can only lower."""
    seconds = response[_SECONDS]
    if data["first"] is None or seconds < data["first"]:
        data["first"] = seconds
    if not response[_STAFF] and (data["first_member"] is None or seconds < data["first_member"]):
        data["first_member"] = seconds


def _after_firsts(data: dict[str, Any], response: list[Any]) -> bool:
    """Whether ``response`` came after the record's firsts (so they stay when it goes)."""
    seconds, first, first_member = response[_SECONDS], data["first"], data["first_member"]
    return (first is not None and seconds > first) and (
        response[_STAFF] or (first_member is not None and seconds > first_member)
    )


def _firsts(data: dict[str, Any], responses: list[list[Any]]) -> None:
    """Work out a record's first response and first member response from ``responses``."""
    live = [r for r in responses if r[_LIVE]]
    data["first"] = min((r[_SECONDS] for r in live), default=None)
    data["first_member"] = min((r[_SECONDS] for r in live if not r[_STAFF]), default=None)


def solved(data: Any) -> bool:
    """Whether a topic's record has an accepted solution that was not removed."""
    return data["solution"] is not None and data.get("solution_live", True)


def _status(data: dict[str, Any]) -> str:
    if data["removed"]:
        return "removed"
    if data["first"] is None:
        return "open"  # unanswered (even when its author's own reply was accepted)
    return "solved" if solved(data) else "answered"


def _save(ctx: Context, topic: str, old: Doc | None, data: dict[str, Any], ref: str | None) -> None:
    """Write a topic's record and add what it changes to the health counters."""
    before = old.data if old is not None else None
    if "target" not in data:
        # A record kept before the counters were: it never counted, so it counts from now
        # on in full (``rebuild()`` counts every such topic at once).
        data["target"] = ctx.policy.health.target_seconds
        data["day"] = ctx.day(datetime.fromisoformat(data["posted_at"]))
        before = None
    ctx.put(KIND, topic, data, ref=ref, status=_status(data))
    ctx.tallies.update(change(before, data, ref))


def _respond(ctx: Context, topic: str, response: list[Any]) -> None:
    doc = ctx.tx.get(KIND, topic)
    if doc is None or same_person(ctx.tx, response[_AUTHOR], doc.data["author"]):
        return  # not a topic, or its author speaking again (under any of their accounts)
    old = doc.data
    data = dict(old)
    response[_SECONDS] = _seconds(old["posted_at"], ctx.at)
    _add_response(ctx, topic, data, response)
    first, first_member = old["first"], old["first_member"]
    _lower_firsts(data, response)
    if "target" in old and (
        old["removed"] or (data["first"] == first and data["first_member"] == first_member)
    ):
        # Nothing the counters count moved (a later reply, or any reply to a removed
        # topic): keep the record (with what it lists or counts of its responses), and add no
        # tallies.
        ctx.put(KIND, topic, data, ref=doc.ref, status=_status(data))
        return
    _save(ctx, topic, doc, data, doc.ref)


def _set_live(ctx: Context, topic: str, response: str, live: bool, *, answer: bool) -> None:
    """Count ``topic``'s response ``response`` again (``live``) or no more: a reply (its
    id), or a canonical answer (``answer``: the id of the event that gave it). A reply and
    an answer that share an id are two responses."""
    doc = ctx.tx.get(KIND, topic)
    if doc is None:
        return

    def this(r: list[Any]) -> bool:
        return r[_ID] == response and (r[_CANONICAL] is not None) == answer

    data = dict(doc.data)
    listing = _listing(data)
    data[listing] = [[*r[:_LIVE], live] if this(r) else r for r in data[listing]]
    if not answer and data["solution"] == response:
        data["solution_live"] = live
    if "more" not in data:
        _firsts(data, data["responses"])
        _save(ctx, topic, doc, data, doc.ref)
        return
    moved = [r for r in doc.data[listing] if this(r) and r[_LIVE] != live]
    key = response_key(topic, response, answer=answer)
    held = ctx.tx.get(RESPONSE, key)
    if held is not None and held.data["r"][_LIVE] != live:
        r = held.data["r"]
        ctx.put(
            RESPONSE, key, {**held.data, "r": [*r[:_LIVE], live]}, ref=topic, status=held.status
        )
        if held.status is None:
            moved.append(r)
    # One coming back can only lower the firsts, and one going leaves them unless it was
    # (or tied) the first: only then are the responses read again.
    for r in moved:
        if live:
            _lower_firsts(data, r)
        elif not _after_firsts(data, r):
            _firsts(data, responses(ctx.tx, topic, data))
            break
    _save(ctx, topic, doc, data, doc.ref)


@after_event(
    on=(
        TopicPosted,
        ReplyPosted,
        AnsweredWith,
        SolutionAccepted,
        SolutionUnaccepted,
        MembersMerged,
        PostRemoved,
        PostRestored,
    )
)
def _track(ctx: Context) -> None:
    event = ctx.event
    if isinstance(event, TopicPosted):
        data: dict[str, Any] = {
            "posted_at": ctx.at_text,
            "author": event.author,
            "kind": event.kind,
            "product": event.product,
            "tags": list(event.tags),
            "channel": event.channel or ctx.policy.channels.default,
            "responses": [],
            "first": None,
            "first_member": None,
            "solution": None,
            "solver": None,
            "solver_staff": None,
            "solved_in": None,
            "removed": False,
            "target": ctx.policy.health.target_seconds,
            "day": ctx.day(),
        }
        _save(ctx, event.topic, None, data, period_of(ctx.policy, ctx.at))
    elif isinstance(event, ReplyPosted):
        staff = ctx.member(event.author).is_staff
        response = [event.reply, event.author, ctx.at_text, 0, staff, None, True]
        _respond(ctx, event.topic, response)
    elif isinstance(event, AnsweredWith):
        staff = ctx.member(event.by).is_staff
        response = [ctx.event_id, event.by, ctx.at_text, 0, staff, event.canonical, True]
        _respond(ctx, event.conversation, response)
    elif isinstance(event, SolutionAccepted):
        doc = ctx.tx.get(KIND, event.topic)
        if doc is not None:
            solver = ctx.post(event.reply).author
            data = dict(doc.data)
            data.update(
                solution_live=True,
                solution=event.reply,
                solver=solver,
                solver_staff=ctx.member(solver).is_staff,
                solved_in=_seconds(data["posted_at"], ctx.at),
            )
            _save(ctx, event.topic, doc, data, doc.ref)
    elif isinstance(event, SolutionUnaccepted):
        doc = ctx.tx.get(KIND, event.topic)
        if doc is not None:
            data = dict(doc.data)
            data.update(solution=None, solver=None, solver_staff=None, solved_in=None)
            _save(ctx, event.topic, doc, data, doc.ref)
    elif isinstance(event, MembersMerged):
        _merge(ctx, event.member)
    elif isinstance(event, PostRemoved | PostRestored):
        removed = isinstance(event, PostRemoved)
        post = ctx.post(event.post)
        if post.topic is not None:
            _set_live(ctx, post.topic, post.id, not removed, answer=False)
            _canonical_uses_live(ctx, post.id, not removed)
            return
        doc = ctx.tx.get(KIND, post.id)
        if doc is not None:
            data = {**doc.data, "removed": removed}
            _save(ctx, post.id, doc, data, doc.ref)


def _canonical_uses_live(ctx: Context, reply: str, live: bool) -> None:
    """A canonical answer given with ``answer_with`` is a response while its reply is live:
    removing the reply takes it out of every conversation it answered, restoring puts it
    back."""
    canonical = ctx.tx.get("canonical", reply)
    if canonical is None:
        return
    for use in ctx.tx.find("canonical-use", ref=str(canonical.data["problem"])):
        if use.data["canonical"] == reply:
            _set_live(ctx, str(use.data["conversation"]), use.key, live, answer=True)


def _merge(ctx: Context, gone: str) -> None:
    """After ``gone`` was merged, replies its person wrote on their own topics (under any of
    their accounts) stop counting as responses: only their topics can hold such replies."""
    kept = resolve(ctx.tx, gone)
    accounts, todo = [kept], [kept]
    while todo:
        for merge in ctx.tx.find("merge", ref=todo.pop()):
            accounts.append(merge.key)
            todo.append(merge.key)
    for account in accounts:
        for post in ctx.tx.find("post", ref=account):
            doc = ctx.tx.get(KIND, post.key)
            if doc is None:
                continue  # not a topic
            listing = _listing(doc.data)
            listed = doc.data[listing]
            counted = [r for r in listed if resolve(ctx.tx, r[_AUTHOR]) != kept]
            dropped = len(counted) != len(listed)
            data = {**doc.data, listing: counted}
            if "more" in doc.data:
                counted = list(counted)
                for held in ctx.tx.find(RESPONSE, ref=post.key):
                    if held.status is not None:
                        continue
                    if resolve(ctx.tx, held.data["r"][_AUTHOR]) == kept:
                        ctx.put(RESPONSE, held.key, held.data, ref=post.key, status="gone")
                        dropped = True
                    else:
                        counted.append(held.data["r"])
            if dropped:
                _firsts(data, counted)
                _save(ctx, post.key, doc, data, doc.ref)
