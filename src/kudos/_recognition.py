"""The engine half of recognition: the hook, the privilege rule and the standing part.

:mod:`kudos.recognition` holds the policy data and the public API; this module
applies them after every event (see that module's docs for the documents it
keeps and the notifications it sends).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any, ClassVar

import attrs

from . import _engine as engine
from ._engine import Context, after_event, contributes_standing, privilege_rule
from ._posts import ABUSE_REASONS, SOLVABLE
from .errors import NotAllowed
from .events import Event, PostRemoved, ReplyPosted
from .model import Doc, Member, Post
from .recognition import (
    _BADGE_RULES,
    ACTIVITIES,
    Badge,
    BadgeAward,
    BadgeFacts,
    Recognition,
    badge_key,
)
from .stores.protocol import Transaction

# The post whose contribution an event rewards: a badge earned through it is
# revoked if that post is later removed as spam or abuse.
_EARNING_POST = {
    "topic-posted": "topic",
    "reply-posted": "reply",
    "kudos-given": "post",
    "solution-accepted": "reply",
    "idea-voted": "idea",
    "idea-status-set": "idea",
}

# Policy fields that gate a privilege by reputation on their own.
_FLOORS = {
    "give_kudos": "min_reputation_to_give_kudos",
    "down_vote": "min_reputation_to_down_vote",
}


# --- metrics ------------------------------------------------------------------------


class _Metrics(Mapping[str, int]):
    """A member's metrics, read on demand (counters all-time, plus ``tenure_days``)."""

    def __init__(self, read: Callable[[str], int], member: Member, at: datetime) -> None:
        self._read = read
        self._member = member
        self._at = at
        self._seen: dict[str, int] = {}

    def __getitem__(self, metric: str) -> int:
        found = self._seen.get(metric)
        if found is None:
            if metric == "tenure_days":
                joined = self._member.joined_at
                found = max(0, (self._at - joined).days) if joined else 0
            else:
                found = self._read(metric)
            self._seen[metric] = found
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(dict(self._seen))

    def __len__(self) -> int:
        return len(self._seen)


def _ctx_metrics(ctx: Context, member: Member) -> _Metrics:
    return _Metrics(lambda m: ctx.counter(m, "all", member.id), member, ctx.at)


def _effective(policy: Any) -> Recognition:
    """The recognition section with the policy's own gates folded in.

    A privilege never asks less than ``min_reputation_to_give_kudos`` /
    ``_to_down_vote``, and ``down_vote`` is nobody's without down-votes.
    """
    rec: Recognition = policy.recognition
    changed = []
    for p in rec.privileges:
        if p.name == "down_vote" and not policy.down_votes:
            continue
        floor = getattr(policy, _FLOORS[p.name]) if p.name in _FLOORS else 0
        if floor > p.requires.get("reputation", 0):
            p = attrs.evolve(p, requires={**p.requires, "reputation": floor})
        changed.append(p)
    if changed == list(rec.privileges):
        return rec
    return attrs.evolve(rec, privileges=changed)


# --- the engine hook -----------------------------------------------------------------


def _field(event: Event, table: Mapping[str, str]) -> str | None:
    name = table.get(event.type)
    value = getattr(event, name, None) if name else None
    return value if isinstance(value, str) else None


@after_event
def _recognise(ctx: Context) -> None:
    actor = _field(ctx.event, ACTIVITIES)
    if actor is not None and ctx.tx.get("member", actor) is not None:
        _count_active_day(ctx, actor)
        ctx.touched.add(actor)
    rec = _effective(ctx.policy)
    if not rec.active:
        return
    event = ctx.event
    if isinstance(event, PostRemoved) and event.reason in ABUSE_REASONS:
        _revoke_badges_of(ctx, rec, event.post, event.reason)
    for member_id in sorted(ctx.touched):
        if ctx.tx.get("member", member_id) is None:
            continue
        member = ctx.member(member_id)
        metrics = _ctx_metrics(ctx, member)
        _update_rank(ctx, rec, member, metrics)
        _award_badges(ctx, rec, member, metrics, actor)
        _update_privileges(ctx, rec, member, metrics)


def _count_active_day(ctx: Context, member: str) -> None:
    day = ctx.day()
    key = f"{len(member)}:{member}:{day[:7]}"
    doc = ctx.tx.get("active_days", key)
    days = list(doc.data["days"]) if doc is not None else []
    at = bisect.bisect_left(days, day)
    if at < len(days) and days[at] == day:
        return
    days.insert(at, day)
    ctx.put("active_days", key, {"member": member, "month": day[:7], "days": days}, ref=member)
    ctx.bump("days_active", member, 1)


def _update_rank(ctx: Context, rec: Recognition, member: Member, metrics: _Metrics) -> None:
    if not rec.ranks:
        return
    rank = rec.rank_for(metrics)
    new = rank.name if rank else None
    doc = ctx.tx.get("rank", member.id)
    if doc is not None and doc.data.get("rank") == new:
        return
    ctx.put("rank", member.id, {"rank": new, "since": ctx.at.isoformat()}, status=new)
    if doc is None:
        entry = rec.rank_for({})
        if new == (entry.name if entry else None):
            return
        old = None
    else:
        old = doc.data.get("rank")
    was, now = rec.rank_index(old), rec.rank_index(new)
    up = now is not None and (was is None or now < was)
    ctx.notify(
        member.id, "rank_changed", **{"from": old, "to": new, "direction": "up" if up else "down"}
    )


def _earning_post(ctx: Context, member: str) -> Post | None:
    post_id = _field(ctx.event, _EARNING_POST)
    if post_id is None:
        return None
    doc = ctx.tx.get("post", post_id)
    if doc is None or doc.data.get("author") != member:
        return None
    return ctx.post(post_id)


def _event_post(ctx: Context) -> Post | None:
    for name in ("reply", "post", "idea", "topic"):
        value = getattr(ctx.event, name, None)
        if isinstance(value, str) and ctx.tx.get("post", value) is not None:
            return ctx.post(value)
    return None


def _badge_value(
    ctx: Context, badge: Badge, member: Member, metrics: _Metrics, actor: str | None
) -> int:
    if badge.metric is not None:
        return metrics[badge.metric]
    if badge.first is not None:
        return int(ctx.event.type == badge.first and actor == member.id)
    if badge.reply_within_minutes is not None:
        event = ctx.event
        if not isinstance(event, ReplyPosted) or event.author != member.id:
            return 0
        topic = ctx.post(event.topic)
        if topic.kind not in SOLVABLE or topic.author == member.id or topic.posted_at is None:
            return 0
        waited = (ctx.at - topic.posted_at).total_seconds()
        return int(0 <= waited <= badge.reply_within_minutes * 60)
    assert badge.custom is not None
    facts = BadgeFacts(
        member=member, event=ctx.event, at=ctx.at, metrics=metrics, post=_event_post(ctx)
    )
    return int(_BADGE_RULES[badge.custom](facts))


def _award_badges(
    ctx: Context, rec: Recognition, member: Member, metrics: _Metrics, actor: str | None
) -> None:
    post: Post | None = None
    looked = False
    for badge in rec.badges:
        value = _badge_value(ctx, badge, member, metrics, actor)
        for level in badge.reached(value) if value > 0 else ():
            key = badge_key(member.id, badge.name, level)
            doc = ctx.tx.get("badge", key)
            if doc is not None and doc.status == "earned":
                continue
            if not looked:
                post, looked = _earning_post(ctx, member.id), True
            title = badge.title(level)
            ctx.put(
                "badge",
                key,
                {
                    "member": member.id,
                    "badge": badge.name,
                    "level": level,
                    "title": title,
                    "earned_at": ctx.at.isoformat(),
                    "event_id": ctx.event_id,
                    "post": post.id if post else None,
                },
                ref=member.id,
                status="earned",
            )
            ctx.notify(
                member.id,
                "badge_earned",
                badge=badge.name,
                level=level,
                title=title,
                post=post.id if post else None,
            )


def _revoke_badges_of(ctx: Context, rec: Recognition, post_id: str, reason: str) -> None:
    """Take back what a post removed as spam or abuse earned its author.

    A metric badge level goes when this removal takes the member back below
    it (the post's kudos, solutions or reputation were holding it up); any
    other badge goes when this post earned it. Ordinary reversals never
    revoke a badge.
    """
    post = ctx.post(post_id)
    author = ctx.member(post.author)
    metrics = _ctx_metrics(ctx, author)
    why = f"{post.kind} {post_id!r} removed as {reason}"
    for doc in ctx.tx.find("badge", ref=author.id, status="earned"):
        data = dict(doc.data)
        badge = rec.badge(data["badge"])
        if badge is not None and badge.metric is not None:
            lowered = ctx.deltas.get((badge.metric, "all", author.id), 0) < 0
            if not lowered or data["level"] in badge.reached(metrics[badge.metric]):
                continue
        elif data.get("post") != post_id:
            continue
        data.update(revoked_at=ctx.at.isoformat(), revoked_by=ctx.event_id, revoked_reason=why)
        ctx.put("badge", doc.key, data, ref=doc.ref, status="revoked")
        ctx.notify(
            author.id,
            "badge_revoked",
            badge=data["badge"],
            level=data["level"],
            title=data["title"],
            post=post_id,
            reason=why,
        )


def _update_privileges(ctx: Context, rec: Recognition, member: Member, metrics: _Metrics) -> None:
    if not rec.privileges:
        return
    held = rec.privileges_of(member.role, metrics)
    doc = ctx.tx.get("privileges", member.id)
    old = (
        frozenset(doc.data["privileges"]) if doc is not None else rec.privileges_of(member.role, {})
    )
    if doc is not None and old == held:
        return
    ctx.put("privileges", member.id, {"privileges": sorted(held)})
    for name in sorted(held - old):
        found = rec.privilege(name)
        ctx.notify(
            member.id,
            "privilege_granted",
            privilege=name,
            description=found.doing if found else name.replace("_", " "),
        )
    for name in sorted(old - held):
        found = rec.privilege(name)
        ctx.notify(
            member.id,
            "privilege_revoked",
            privilege=name,
            description=found.doing if found else name.replace("_", " "),
        )


@privilege_rule
def _privilege(ctx: Context, member: Member, name: str) -> bool | None:
    """Grant or withhold ``name`` by the policy's privileges; explain what is missing."""
    policy = ctx.policy
    if name == "down_vote" and not policy.down_votes:
        raise NotAllowed(f"policy {policy.name!r} has no down-votes; nobody may down-vote")
    rec = _effective(policy)
    metrics = _ctx_metrics(ctx, member)
    lacking = rec.lacks(name, member.role, metrics)
    if lacking is None:
        # No privilege of that name, but the policy may still gate it by reputation.
        floor = getattr(policy, _FLOORS[name]) if name in _FLOORS else 0
        if not floor or member.is_staff:
            return None
        have = metrics["reputation"]
        lacking = () if have >= floor else ((f"{floor} reputation", f"has {have}"),)
    if not lacking:
        return True
    found = rec.privilege(name)
    doing = found.doing if found else name.replace("_", " ")
    if len(lacking) == 1:
        ((need, has),) = lacking
        raise NotAllowed(f"member {member.id!r} needs {need} to {doing} ({has})")
    needs = " and ".join(f"{need} ({has})" for need, has in lacking)
    raise NotAllowed(f"member {member.id!r} needs {needs} to {doing}")


# --- standing -----------------------------------------------------------------------


def _position(rec: Recognition, doc: Doc) -> tuple[int, int, str]:
    """Badges in the policy's order, levels lowest first; unknown badges last."""
    names = [b.name for b in rec.badges]
    badge = rec.badge(doc.data["badge"])
    level = doc.data.get("level")
    at = badge.levels.get(level, 0) if badge is not None and level else 0
    index = names.index(badge.name) if badge is not None else len(names)
    return (index, at, doc.key)


def _titles(tx: Transaction, rec: Recognition, member: str) -> tuple[str, ...]:
    docs = tx.find("badge", ref=member, status="earned")
    return tuple(d.data["title"] for d in sorted(docs, key=lambda d: _position(rec, d)))


@contributes_standing
def _standing(tx: Transaction, policy: Any, member: Member, now: datetime) -> dict[str, Any]:
    rec = _effective(policy)
    metrics = _Metrics(lambda m: tx.counter(m, "all", member.id), member, now)
    fields: dict[str, Any] = {
        "badges": _titles(tx, rec, member.id),
        "privileges": rec.privileges_of(member.role, metrics),
    }
    if rec.ranks:
        rank = rec.rank_for(metrics)
        fields["rank"] = rank.name if rank else None
        fields["next_rank"] = rec.next_rank(metrics)
    return fields


# --- reads for the Community methods -------------------------------------------------


@attrs.frozen(kw_only=True)
class _Asked(Event):
    """A stand-in event for asking privilege rules outside any recorded fact."""

    type: ClassVar[str] = "privilege-asked"


def explain(tx: Transaction, policy: Any, member: str, privilege: str, at: datetime) -> str | None:
    """Why ``member`` may not do ``privilege`` at ``at`` (``None``: they may)."""
    ctx = Context(tx, policy, _Asked(event_id="privilege-asked", at=at), notify=False)
    ctx.member(member)
    try:
        granted = ctx.privilege(member, privilege)
    except NotAllowed as exc:
        return str(exc)
    if granted is False:
        return f"member {member!r} may not {privilege.replace('_', ' ')}"
    return None


def awards(tx: Transaction, policy: Any, member: str, revoked: bool) -> list[BadgeAward]:
    """``member``'s badge awards (held, or with ``revoked`` all), in the policy's order."""
    engine.get_member(tx, member)
    rec: Recognition = policy.recognition
    docs = [d for d in tx.find("badge", ref=member) if revoked or d.status == "earned"]
    docs.sort(key=lambda d: _position(rec, d))
    return [_award(d.data) for d in docs]


def _award(data: Mapping[str, Any]) -> BadgeAward:
    revoked = data.get("revoked_at")
    return BadgeAward(
        member=data["member"],
        badge=data["badge"],
        level=data.get("level"),
        title=data["title"],
        earned_at=datetime.fromisoformat(data["earned_at"]),
        event_id=data["event_id"],
        post=data.get("post"),
        revoked_at=datetime.fromisoformat(revoked) if revoked else None,
        revoked_reason=data.get("revoked_reason"),
    )
