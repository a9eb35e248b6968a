"""The engine half of response health: one document per topic, kept as facts happen.

Each topic's ``health`` document holds its posting time and attributes, its
responses (replies by anyone but its author, and canonical answers given to
it) and its accepted solution. Each time a record changes, what it contributes
to the health counters changes with it (:mod:`kudos.health.figures`), so
:meth:`kudos.Community.health` reads aggregates, never every record nor the
event log, and ``rebuild()`` writes the same records and counters again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..channels.events import AnsweredWith, MembersMerged
from ..engine.core import Context, after_event, period_of, resolve, same_person
from ..events import (
    PostRemoved,
    PostRestored,
    ReplyPosted,
    SolutionAccepted,
    SolutionUnaccepted,
    TopicPosted,
)
from ..model import Doc
from .figures import change

KIND = "health"
"""The document kind (one per topic, keyed by topic id, ``ref`` its posting period)."""

# A response: [id, author, at (ISO), seconds after posting, staff, canonical or None, live]
_ID, _AUTHOR, _AT, _SECONDS, _STAFF, _CANONICAL, _LIVE = range(7)


def _seconds(since: str, at: datetime) -> int:
    return max(0, int((at - datetime.fromisoformat(since)).total_seconds()))


def _firsts(data: dict[str, Any]) -> None:
    live = [r for r in data["responses"] if r[_LIVE]]
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
    seconds = response[_SECONDS] = _seconds(old["posted_at"], ctx.at)
    data["responses"] = [*old["responses"], response]
    # A new live response can only lower the firsts (kept over the live responses), so
    # they move by a min with it; a removal recomputes them (``_firsts``).
    first, first_member = old["first"], old["first_member"]
    if first is None or seconds < first:
        data["first"] = seconds
    if not response[_STAFF] and (first_member is None or seconds < first_member):
        data["first_member"] = seconds
    if "target" in old and (
        old["removed"] or (data["first"] == first and data["first_member"] == first_member)
    ):
        # Nothing the counters count moved (a later reply, or any reply to a removed
        # topic): keep the record, which lists every response, and add no tallies.
        ctx.put(KIND, topic, data, ref=doc.ref, status=_status(data))
        return
    _save(ctx, topic, doc, data, doc.ref)


def _set_live(ctx: Context, topic: str, reply: str, live: bool) -> None:
    doc = ctx.tx.get(KIND, topic)
    if doc is None:
        return
    data = dict(doc.data)
    data["responses"] = [[*r[:_LIVE], live] if r[_ID] == reply else r for r in data["responses"]]
    if data["solution"] == reply:
        data["solution_live"] = live
    _firsts(data)
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
            _set_live(ctx, post.topic, post.id, not removed)
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
            _set_live(ctx, str(use.data["conversation"]), use.key, live)


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
            responses = [r for r in doc.data["responses"] if resolve(ctx.tx, r[_AUTHOR]) != kept]
            if len(responses) != len(doc.data["responses"]):
                data = {**doc.data, "responses": responses}
                _firsts(data)
                _save(ctx, post.key, doc, data, doc.ref)
