"""The engine half of channels: checking channels, re-pointing merged members, canonical answers."""

from __future__ import annotations

from collections import defaultdict
from operator import attrgetter
from typing import TYPE_CHECKING, Any

import attrs

from ..engine.core import (
    Context,
    _is_closed,
    after_event,
    before_event,
    handles,
    kept_account,
    merged_into,
    resolve,
    unmerged,
)
from ..errors import InvalidInput, NotAllowed
from ..events import (
    MEMBER_FIELD,
    DownVoted,
    Event,
    IdeaVoted,
    KudosGiven,
    MemberDeleted,
    MemberJoined,
    key_of,
)
from ..stores.protocol import Transaction
from .events import AnsweredWith, CanonicalMarked, IdentityLinked, MembersMerged

if TYPE_CHECKING:
    from ..policy import Policy

MERGE_ACTION = "member_merged"
"""The action of the ledger lines that move a merged account's balances."""

# Facts about the account itself: a merged account is still the one that joined or is deleted.
_NOT_REPOINTED = (MemberJoined, MemberDeleted, MembersMerged)
# Votes: a vote on a post its voter wrote under another account is refused.
_VOTES = (KudosGiven, DownVoted, IdeaVoted)


_MEMBER_FIELDS: dict[type[Event], tuple[str, ...]] = {}


def _member_fields(cls: type[Event]) -> tuple[str, ...]:
    names = _MEMBER_FIELDS.get(cls)
    if names is None:
        names = _MEMBER_FIELDS[cls] = tuple(
            f.name for f in attrs.fields(cls) if f.metadata.get(MEMBER_FIELD)
        )
    return names


def removed(tx: Transaction, post: str) -> bool:
    """Whether ``post`` is a post that was removed (and not restored)."""
    doc = tx.get("post", post)
    return doc is not None and bool(doc.data.get("removed"))


def _may_name_a_merged_member(event_type: type[Event]) -> bool:
    if issubclass(event_type, _NOT_REPOINTED):
        return False
    return bool(_member_fields(event_type)) or issubclass(event_type, _VOTES)


class _Named:
    """What re-pointing reads of an event type, worked out once per type."""

    __slots__ = ("names", "read", "repointed", "vote")

    def __init__(self, cls: type[Event]) -> None:
        self.repointed = not issubclass(cls, _NOT_REPOINTED)
        self.names = _member_fields(cls)
        self.read = attrgetter(*self.names) if len(self.names) > 1 else None
        # A vote's post and voter fields.
        self.vote = (
            None
            if not issubclass(cls, _VOTES)
            else ("idea" if issubclass(cls, IdeaVoted) else "post",
                  "giver" if issubclass(cls, KudosGiven) else "voter")
        )  # fmt: skip


_NAMED: dict[type[Event], _Named] = {}


def _named(cls: type[Event]) -> _Named:
    found = _NAMED[cls] = _Named(cls)
    return found


@before_event(on=_may_name_a_merged_member)
def _check_and_repoint(tx: Transaction, policy: Policy, event: Event) -> Event:
    """Make facts naming a merged account count for the account kept.

    A member this transaction knows to be unmerged (:func:`unmerged`) costs a
    key lookup: nothing to re-point.
    """
    try:
        named = _NAMED[type(event)]
    except KeyError:
        named = _named(type(event))
    if not named.repointed:
        return event
    known = unmerged(tx)
    changes: dict[str, Any] = {}
    names = named.names
    if names:
        values = named.read(event) if named.read is not None else (getattr(event, names[0]),)
        for name, member in zip(names, values, strict=True):
            if member not in known:
                kept = kept_account(tx, member, known)
                if kept != member:
                    changes[name] = kept
    if named.vote is not None:
        _refuse_own_vote(tx, event, changes, named.vote, known)
    if not changes:
        return event
    assert event.event_id is not None
    return attrs.evolve(event, event_id=None, **changes).with_id(event.event_id)


def _refuse_own_vote(
    tx: Transaction,
    event: Event,
    changes: Any,
    fields: tuple[str, str],
    known: dict[str, None],
) -> None:
    """A vote on a post its voter wrote under an account since merged is a vote on their own.

    ``fields`` names the vote's post and voter; ``known`` is :func:`unmerged`.
    """
    post_field, field = fields
    post = getattr(event, post_field)
    voter = str(changes[field] if field in changes else getattr(event, field))
    doc = tx.get("post", post)
    if doc is None:
        return
    author = str(doc.data["author"])
    if author != voter and author not in known and kept_account(tx, author, known) == voter:
        raise NotAllowed(
            f"member {voter!r} cannot vote on {post!r}: they wrote it as {author!r}, "
            "an account merged into theirs"
        )


@after_event
def _check_channel(ctx: Context) -> None:
    """Refuse a new fact through a channel the policy does not allow.

    History (a replay of the log by ``rebuild()``, or facts imported as trusted)
    was checked under the policy it was recorded under: a channel the policy
    has since dropped still replays.
    """
    if ctx.event.channel is not None and not ctx.trusted:
        ctx.policy.channels.check(ctx.event.channel)


@after_event
def _sweep_merged(ctx: Context) -> None:
    """What this event booked to a merged account (an award on a post it wrote, the reversal
    of an award it earned) moves on to the account kept, as the merge moved its balances."""
    known = ctx.unmerged
    for entry in list(ctx.entries):
        if not entry.amount or entry.action == MERGE_ACTION or entry.member in known:
            continue
        if merged_into(ctx.tx, entry.member) is None:
            continue
        kept = resolve(ctx.tx, entry.member)
        for member, amount, reason in (
            (entry.member, -entry.amount, f"moved to {kept!r}: account merged into it"),
            (kept, entry.amount, f"moved from {entry.member!r}: account merged into this one"),
        ):
            ctx.line(
                member,
                entry.account,
                amount,
                action=MERGE_ACTION,
                reason=f"{reason} ({entry.entry_id})",
                subject=entry.member,
                period=entry.period,
            )
        ctx.touched.add(kept)


@handles(IdentityLinked)
def _identity_linked(ctx: Context, event: IdentityLinked) -> None:
    if event.channel is None:
        raise InvalidInput(
            f"linking handle {event.handle!r} needs the channel it is on, e.g. channel='twitter'"
        )
    member = ctx.member(event.member)
    ctx.require(not member.deleted, f"member {event.member!r} was deleted; link no identity to it")
    key = key_of(event.channel, event.handle)
    known = ctx.tx.get("identity", key)
    if known is not None:
        owner = known.data["member"]
        ctx.require(
            False,
            f"{event.channel} handle {event.handle!r} already belongs to member {owner!r}"
            + ("" if owner != event.member else "; it is linked already"),
        )
    ctx.put(
        "identity",
        key,
        {
            "member": event.member,
            "channel": event.channel,
            "handle": event.handle,
            "at": ctx.at_text,
        },
        ref=event.member,
        status=event.channel,
    )


@handles(MembersMerged)
def _members_merged(ctx: Context, event: MembersMerged) -> None:
    gone, kept = event.member, event.into
    if not ctx.trusted:  # a log from when ``by`` was optional still replays
        ctx.require(
            event.by is not None,
            f"merging {gone!r} into {kept!r} needs by=, the staff member or moderator merging",
        )
    if event.by is not None:
        merger = ctx.member(event.by)
        ctx.require(
            ctx.trusted or merger.is_staff,
            f"member {event.by!r} is not staff or a moderator; only they merge accounts "
            f"(asked to merge {gone!r} into {kept!r})",
        )
    ctx.require(gone != kept, f"cannot merge member {gone!r} into itself; name two accounts")
    for name, role in ((gone, "merged"), (kept, "kept")):
        found = ctx.member(name)
        ctx.require(
            not found.is_staff,
            f"member {name!r} is {found.role}: staff accounts are never merged "
            f"(asked to merge {gone!r} into {kept!r})",
        )
        ctx.require(not found.deleted, f"member {name!r} was deleted; it cannot be {role}")
    earlier = merged_into(ctx.tx, gone)
    ctx.require(earlier is None, f"member {gone!r} was already merged into {earlier!r}")
    onward = merged_into(ctx.tx, kept)
    if onward is not None:
        final = resolve(ctx.tx, kept)
        ctx.require(
            final != gone,
            f"member {kept!r} was merged into {gone!r} already: they are one account",
        )
        ctx.require(
            False,
            f"member {kept!r} was itself merged into {onward!r}; merge {gone!r} into "
            f"{final!r} instead",
        )
    _move_balances(ctx, gone, kept)
    ctx.update("member", gone, merged_into=kept)
    ctx.put(
        "merge",
        gone,
        {"into": kept, "by": event.by, "at": ctx.at_text, "event": ctx.event_id},
        ref=kept,
    )
    ctx.notify(kept, "members-merged", merged=gone)


def _move_balances(ctx: Context, gone: str, kept: str) -> None:
    """Move every balance of ``gone`` to ``kept``: a debit and a credit line per account and
    payback period, both of this event, both naming ``gone`` as their subject.

    Points of closed periods were settled at the close; reputation moves in one line.
    """
    sums: dict[tuple[str, str | None], int] = defaultdict(int)
    for entry in ctx.tx.entries(member=gone):
        if entry.account == "points":
            sums[("points", entry.period)] += entry.amount
        else:
            sums[(entry.account, None)] += entry.amount
    for (account, period), amount in sorted(
        sums.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")
    ):
        if not amount or (period is not None and _is_closed(ctx.tx, period)):
            continue
        ctx.line(
            gone,
            account,
            -amount,
            action=MERGE_ACTION,
            reason=f"moved to {kept!r}: account merged into it ({ctx.event_id})",
            subject=gone,
            period=period,
        )
        ctx.line(
            kept,
            account,
            amount,
            action=MERGE_ACTION,
            reason=f"moved from {gone!r}: account merged into this one ({ctx.event_id})",
            subject=gone,
            period=period,
        )
    ctx.touched.update((gone, kept))


@handles(CanonicalMarked)
def _canonical_marked(ctx: Context, event: CanonicalMarked) -> None:
    by = ctx.member(event.by)
    ctx.require(
        by.is_staff,
        f"member {event.by!r} is not staff; only staff mark a canonical answer",
    )
    topic = ctx.post(event.topic)
    ctx.require(topic.topic is None, f"post {event.topic!r} is a reply, not a topic")
    ctx.require(
        topic.solution == event.reply,
        f"reply {event.reply!r} is not the accepted solution of topic {event.topic!r}; "
        "accept it first (accept_solution), then mark it canonical",
    )
    reply = ctx.post(event.reply)
    ctx.not_before(reply, f"marking {event.reply!r} canonical")
    ctx.not_before_acceptance(topic, f"marking {event.reply!r} canonical")
    problem = event.problem or event.topic
    if problem != event.topic:
        found = ctx.post(problem)
        ctx.require(found.topic is None, f"problem {problem!r} is a reply; name a topic")
    known = ctx.tx.get("canonical", event.reply)
    ctx.require(
        known is None,
        f"reply {event.reply!r} is already canonical for problem "
        f"{known.data['problem'] if known else ''!r}; a reply answers one problem "
        "(answer_with() gives it to other conversations)",
    )
    ctx.put(
        "canonical",
        event.reply,
        {
            "topic": event.topic,
            "problem": problem,
            "author": reply.author,
            "by": event.by,
            "at": ctx.at_text,
            "uses": 0,
        },
        ref=problem,
    )


@handles(AnsweredWith)
def _answered_with(ctx: Context, event: AnsweredWith) -> None:
    canonical = ctx.tx.get("canonical", event.canonical)
    ctx.require(
        canonical is not None,
        f"reply {event.canonical!r} is not a canonical answer; mark it with mark_canonical() first",
    )
    assert canonical is not None
    ctx.require(
        not removed(ctx.tx, event.canonical),
        f"canonical answer {event.canonical!r} was removed; restore it (restore_post) "
        "or answer with another canonical answer",
    )
    ctx.member(event.by)
    conversation = ctx.tx.get("post", event.conversation)
    ctx.require(
        conversation is None or conversation.data.get("topic") is None,
        f"post {event.conversation!r} is a reply; answer its topic or a conversation",
    )
    ctx.require(
        not removed(ctx.tx, event.conversation),
        f"topic {event.conversation!r} was removed; restore it before answering it",
    )
    ctx.not_before(ctx.post(event.canonical), f"the answer to {event.conversation!r}")
    ctx.not_older(
        canonical.data["at"],
        f"the answer to {event.conversation!r}",
        f"{event.canonical!r} was marked canonical",
        "the canonical answer it gives",
    )
    if conversation is not None:
        ctx.not_before(ctx.post(event.conversation), f"the answer to {event.conversation!r}")
    channel = event.channel or ctx.policy.channels.default
    problem = canonical.data["problem"]
    ctx.put(
        "canonical-use",
        ctx.event_id,
        {
            "conversation": event.conversation,
            "canonical": event.canonical,
            "problem": problem,
            "channel": channel,
            "by": event.by,
            "at": ctx.at_text,
        },
        ref=problem,
        status=event.conversation,
    )
    ctx.update("canonical", event.canonical, uses=int(canonical.data["uses"]) + 1)
    solver = str(canonical.data["author"])
    if resolve(ctx.tx, solver) != event.by:  # reusing your own answer earns nothing
        ctx.award(
            resolve(ctx.tx, solver),
            "canonical_reused",
            subject=event.canonical,
            reason=(
                f"canonical answer {event.canonical!r} reused on {channel} "
                f"for {event.conversation!r}"
            ),
        )
