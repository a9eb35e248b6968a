"""The engine half of ideas: handlers, hooks and the standing part.

:mod:`kudos.ideas` holds the policy section, the values and the public API;
this module applies them (see that module's docs for the workflow, the
documents and counters it keeps and the notifications it sends).

Ledger entries of an idea all have the idea as their subject, so removing it
(``PostRemoved``) reverses them in the forum's own handler; the hook here then
releases its votes and clears what it held. Entries an idea holds are kept as
``[event id, entry id, member]`` references, so exactly those are reversed.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..engine import core as engine
from ..engine.core import Context, after_event, contributes_standing, handles
from ..errors import InvalidInput, NotAllowed
from ..events import IdeaStatusSet, IdeaVoted, IdeaVoteWithdrawn, PostRemoved, TopicPosted
from ..forum.handlers import vote_key
from ..model import Doc, LedgerEntry, Member
from ..recognition.handlers import current_rank
from ..stores.protocol import Transaction
from .rules import _BALLOT, _IDEA, _PLANNED_STAGES, _VOTE, _VOTES, IdeaRules, board_scope

if TYPE_CHECKING:
    from ..policy import Policy

Data = dict[str, Any]
Ref = list[str]  # [event id, entry id, member]


# --- small helpers -------------------------------------------------------------------


def _rules(ctx: Context) -> IdeaRules:
    return ctx.policy.ideas


def _tags(data: Data) -> tuple[str, ...]:
    return tuple(data.get("tags", ())) + ((data["product"],) if data.get("product") else ())


def _authors(data: Data) -> set[str]:
    return {data["author"], *data.get("co_authors", {})}


def _refs(entries: Iterable[LedgerEntry]) -> list[Ref]:
    return [[e.event_id, e.entry_id, e.member] for e in entries]


def _reverse_refs(ctx: Context, refs: Iterable[Ref], reason: str) -> None:
    """Reverse exactly the entries ``refs`` name (already reversed ones are skipped)."""
    wanted: dict[str, set[str]] = {}
    for event_id, entry_id, _member in refs:
        wanted.setdefault(event_id, set()).add(entry_id)
    for event_id, ids in sorted(wanted.items()):
        pool = ctx.tx.entries(event_id=event_id) + [
            e for e in ctx.entries if e.event_id == event_id
        ]
        for entry in pool:
            if entry.entry_id in ids:
                ctx.reverse(entry, reason)


def _share(amount: int, percent: int) -> int:
    # Whole units only, truncated toward zero.
    sign = -1 if amount < 0 else 1
    return sign * (abs(amount) * percent // 100)


def _load(ctx: Context, idea: str, doing: str) -> Data:
    """A copy of the idea's document data; NotAllowed when it cannot ``doing``."""
    post = ctx.post(idea)
    doc = ctx.tx.get(_IDEA, idea)
    noun = "reply" if post.kind == "reply" else post.kind
    ctx.require(
        doc is not None,
        f"{idea!r} is a {noun}, not an idea; only topics posted with kind='idea' can {doing}",
    )
    assert doc is not None
    ctx.require(not post.removed, f"idea {idea!r} was removed; it cannot {doing}")
    return _copy(doc.data)


def _copy(data: Mapping[str, Any]) -> Data:
    """A deep copy, so that editing it never touches a document the store holds."""
    return copy.deepcopy(dict(data))


def _save(ctx: Context, idea: str, data: Data) -> None:
    status = "removed" if data.get("removed") else data["status"]
    ctx.put(_IDEA, idea, data, ref=data["author"], status=status)


# --- the board's counters -----------------------------------------------------------


def _scopes(data: Data, status: str) -> list[str]:
    scopes = ["all", board_scope(status, None, None)]
    for tag in data.get("tags", ()):
        scopes += [board_scope(None, tag, None), board_scope(status, tag, None)]
    product = data.get("product")
    if product:
        scopes += [board_scope(None, None, product), board_scope(status, None, product)]
    return scopes


def _count(ctx: Context, idea: str, data: Data, delta: int, day: str | None) -> None:
    """Count ``delta`` votes on ``idea`` on every board it is on (and on ``day``'s trend)."""
    for scope in _scopes(data, data["status"]):
        ctx.deltas[(_VOTES, scope, idea)] += delta
    if day is not None:
        ctx.deltas[(_VOTES, f"day:{day}", idea)] += delta


def _move_status(ctx: Context, idea: str, data: Data, new: str) -> None:
    """Move the idea's votes from its status's boards to ``new``'s."""
    votes = ctx.counter(_VOTES, "all", idea)
    if votes:
        old = [s for s in _scopes(data, data["status"]) if s.startswith("status:")]
        for scope in old:
            ctx.deltas[(_VOTES, scope, idea)] -= votes
        for scope in _scopes(data, new):
            if scope.startswith("status:"):
                ctx.deltas[(_VOTES, scope, idea)] += votes
    data["status"] = new


def _day(ctx: Context, vote: Data) -> str:
    return engine.day_of(ctx.policy, datetime.fromisoformat(vote["at"]))


# --- votes ------------------------------------------------------------------------------


def _vote_state(tx: Transaction, idea: str, voter: str) -> tuple[bool, int]:
    doc = tx.get(_VOTE, vote_key(idea, voter))
    return (bool(doc.data["active"]), int(doc.data["gen"])) if doc else (False, 0)


def _on_id(tx: Transaction, event: IdeaVoted) -> str:
    active, gen = _vote_state(tx, event.idea, event.voter)
    return engine.generation_id(engine.default_id(event), gen if active else gen + 1)


def _off_id(tx: Transaction, event: IdeaVoteWithdrawn) -> str:
    _, gen = _vote_state(tx, event.idea, event.voter)
    return engine.generation_id(engine.default_id(event), max(gen, 1))


def _activate(ctx: Context, idea: str, data: Data, voter: str, vote: Data) -> None:
    """Make ``vote`` (its voter's, from ``vote_event`` at ``at``) active on ``idea``."""
    key = vote_key(idea, voter)
    old = ctx.tx.get(_VOTE, key)
    vote = {
        **vote,
        "idea": idea,
        "voter": voter,
        "active": True,
        "gen": (int(old.data["gen"]) if old else 0) + 1,
        "event_id": ctx.event_id,
    }
    ctx.put(_VOTE, key, vote, ref=idea, status="active")
    state = "open" if _rules(ctx).is_open(data["status"]) else "closed"
    ctx.put(_BALLOT, key, {"idea": idea, "voter": voter}, ref=voter, status=state)
    _count(ctx, idea, data, 1, _day(ctx, vote))
    ctx.touched.add(voter)


def _deactivate(ctx: Context, idea: str, data: Data, vote: Data, status: str) -> None:
    """End the active ``vote`` on ``idea``: ``withdrawn``, ``merged`` or ``removed``."""
    key = vote_key(idea, vote["voter"])
    ctx.put(_VOTE, key, {**vote, "active": False}, ref=idea, status=status)
    ctx.put(_BALLOT, key, {"idea": idea, "voter": vote["voter"]}, ref=vote["voter"], status=status)
    _count(ctx, idea, data, -1, _day(ctx, vote))
    ctx.touched.add(vote["voter"])


def _active_votes(ctx: Context, idea: str) -> list[Data]:
    return [_copy(d.data) for d in ctx.tx.find(_VOTE, ref=idea, status="active")]


def _milestones(ctx: Context, idea: str, data: Data) -> None:
    """Pay the milestones the idea's votes reach, take back those they fell below."""
    votes = ctx.counter(_VOTES, "all", idea)
    held: dict[str, list[Ref]] = data.setdefault("milestones", {})
    reached: list[int] = data.setdefault("milestones_reached", [])
    author = data["author"]
    for mark in _rules(ctx).milestones:
        key = str(mark)
        if votes >= mark and key not in held:
            entries = ctx.award(
                author,
                "idea_milestone",
                subject=idea,
                reason=f"idea {idea!r} reached {mark} votes",
                tags=_tags(data),
            )
            held[key] = _refs(entries)
            if mark not in reached:
                reached.append(mark)
                ctx.notify(
                    author, "idea_milestone", idea=idea, title=data.get("title", ""), votes=mark
                )
            ctx.touched.add(author)
        elif votes < mark and key in held:
            _reverse_refs(ctx, held.pop(key), f"idea {idea!r} fell below {mark} votes")
            ctx.touched.add(author)


@handles(IdeaVoted, derive_id=_on_id)
def _voted(ctx: Context, event: IdeaVoted) -> None:
    ctx.member(event.voter)
    idea, voter = event.idea, event.voter
    data = _load(ctx, idea, "take votes")
    ctx.not_before(ctx.post(idea), f"a vote from {voter!r}")
    rules = _rules(ctx)
    status = data["status"]
    if status == "duplicate":
        raise NotAllowed(
            f"idea {idea!r} is a duplicate of {data['duplicate_of']!r}; "
            f"vote on {data['duplicate_of']!r} instead",
        )
    ctx.require(
        rules.is_open(status),
        f"idea {idea!r} is {status}, so it takes no more votes; only ideas that are "
        f"{', '.join(rules.open_statuses)} do",
    )
    if voter == data["author"]:
        raise NotAllowed(f"member {voter!r} cannot vote on their own idea {idea!r}")
    ctx.require(
        voter not in _authors(data),
        f"member {voter!r} cannot vote on idea {idea!r}: they are its co-author",
    )
    active, _ = _vote_state(ctx.tx, idea, voter)
    ctx.require(
        not active, f"member {voter!r} already voted on idea {idea!r}; one vote per member per idea"
    )
    ctx.require_privilege(voter, "vote_ideas", f"vote on idea {idea!r}")
    budget = vote_budget(ctx.tx, rules, voter)
    if budget is not None:
        held = open_votes(ctx.tx, voter)
        ctx.require(
            len(held) < budget,
            f"member {voter!r} has {len(held)} open idea votes and a budget of {budget}; "
            f"to vote on {idea!r}, withdraw one (community.withdraw_vote(idea, voter="
            f"{voter!r}); community.member_votes({voter!r}) lists them) or wait until one "
            "of those ideas is closed, which gives its vote back",
        )
    vote: Data = {
        "at": ctx.at.isoformat(),
        "period": ctx.period,
        "vote_event": ctx.event_id,
        "merged_from": None,
        "rewards": [],
        "rewarded": False,
    }
    cap = rules.max_rewarded_votes
    if not cap or int(data.get("rewarded_votes", 0)) < cap:
        entries = ctx.award(
            data["author"],
            "idea_vote_received",
            subject=idea,
            reason=f"vote from {voter} on idea {idea!r}",
            tags=_tags(data),
        )
        if entries:
            vote.update(rewards=_refs(entries), rewarded=True)
            data["rewarded_votes"] = int(data.get("rewarded_votes", 0)) + 1
    _activate(ctx, idea, data, voter, vote)
    ctx.bump("idea_votes_cast", voter, 1)
    _milestones(ctx, idea, data)
    _save(ctx, idea, data)
    ctx.touched.update((voter, data["author"]))


@handles(IdeaVoteWithdrawn, derive_id=_off_id)
def _withdrawn(ctx: Context, event: IdeaVoteWithdrawn) -> None:
    ctx.member(event.voter)
    idea, voter = event.idea, event.voter
    data = _load(ctx, idea, "have votes withdrawn (they were released when it was removed)")
    if data["status"] == "duplicate":
        target = data["duplicate_of"]
        raise NotAllowed(
            f"idea {idea!r} is a duplicate of {target!r} and its votes moved "
            f"there; withdraw the vote from {target!r}",
        )
    doc = ctx.tx.get(_VOTE, vote_key(idea, voter))
    ctx.require(
        doc is not None and bool(doc.data["active"]),
        f"member {voter!r} has no vote on idea {idea!r} to withdraw",
    )
    assert doc is not None
    rules = _rules(ctx)
    ctx.require(
        rules.is_open(data["status"]),
        f"idea {idea!r} is {data['status']}, so its votes are final; they no longer "
        f"count against {voter!r}'s budget",
    )
    vote = _copy(doc.data)
    ctx.not_older(
        vote["at"],
        f"the withdrawal of {voter!r}'s vote on idea {idea!r}",
        "the vote was cast",
        "the vote it withdraws",
    )
    _reverse_refs(ctx, vote["rewards"], f"vote withdrawn by {voter} on idea {idea!r}")
    if vote.get("rewarded"):
        data["rewarded_votes"] = max(0, int(data.get("rewarded_votes", 0)) - 1)
    _deactivate(ctx, idea, data, vote, "withdrawn")
    ctx.bump(
        "idea_votes_cast", voter, -1, period=vote["period"], at=datetime.fromisoformat(vote["at"])
    )
    _milestones(ctx, idea, data)
    _save(ctx, idea, data)
    ctx.touched.update((voter, data["author"]))


# --- status --------------------------------------------------------------------------


def _status_id(tx: Transaction, event: IdeaStatusSet) -> str:
    doc = tx.get(_IDEA, event.idea)
    history = doc.data["history"] if doc else []
    visits = sum(1 for h in history if h["status"] == event.status)
    current = doc.data["status"] if doc else None
    return engine.generation_id(
        engine.default_id(event), visits if current == event.status else visits + 1
    )


def _credit(ctx: Context, idea: str, data: Data, stage: str, member: str) -> list[Ref]:
    """Pay ``member`` their share of the ``idea_<stage>`` reward of ``idea``."""
    action = f"idea_{stage}"
    tags = _tags(data)
    if member == data["author"]:
        entries = ctx.award(
            member, action, subject=idea, reason=f"idea {idea!r} {stage}", tags=tags
        )
    else:
        share = _rules(ctx).co_author_share
        reward = ctx.policy.reward(action)
        entries = []
        for account, amount in (("points", reward.points), ("reputation", reward.reputation)):
            entry = ctx.credit(
                member,
                account,
                _share(amount, share),
                action=action,
                subject=idea,
                reason=f"co-author of idea {idea!r}, {stage}",
                tags=tags,
            )
            if entry is not None:
                entries.append(entry)
    if stage == "implemented":
        ctx.bump("ideas_implemented", member, 1, tags=tags)
        data["implemented_credit"][member] = {"period": ctx.period, "at": ctx.at.isoformat()}
    ctx.touched.add(member)
    return _refs(entries)


def _earn(ctx: Context, idea: str, data: Data, stage: str) -> None:
    bonuses = data.setdefault("bonuses", {})
    data.setdefault("implemented_credit", {})
    if stage in bonuses:
        return
    refs: list[Ref] = []
    for member in [data["author"], *sorted(data.get("co_authors", {}))]:
        refs += _credit(ctx, idea, data, stage, member)
    bonuses[stage] = refs


def _uncredit(ctx: Context, data: Data, member: str) -> None:
    """Take ``member``'s ``ideas_implemented`` credit for the idea back."""
    credit = data.get("implemented_credit", {}).pop(member, None)
    if credit is not None:
        ctx.bump(
            "ideas_implemented",
            member,
            -1,
            period=credit["period"],
            tags=_tags(data),
            at=datetime.fromisoformat(credit["at"]),
        )
        ctx.touched.add(member)


def _must_be_staff(ctx: Context, by: str, idea: str) -> None:
    ctx.require(
        ctx.member(by).is_staff or ctx.privilege(by, "moderate") is True,
        f"member {by!r} may not change the status of idea {idea!r}: only staff and moderators can",
    )


@handles(IdeaStatusSet, derive_id=_status_id)
def _status_set(ctx: Context, event: IdeaStatusSet) -> None:
    idea, new = event.idea, event.status
    data = _load(ctx, idea, "change status")
    _must_be_staff(ctx, event.by, idea)
    ctx.not_before(ctx.post(idea), f"setting idea {idea!r} {new}")
    rules = _rules(ctx)
    if new not in rules.transitions:
        raise InvalidInput(
            f"unknown idea status {new!r}; the policy's statuses are {', '.join(rules.statuses)}"
        )
    current = data["status"]
    ctx.require(new != current, f"idea {idea!r} is already {current}")
    allowed = rules.allowed(current)
    ctx.require(
        new in allowed,
        f"idea {idea!r} cannot go from {current} to {new}; from {current} it may go to "
        + (", ".join(allowed) if allowed else "nowhere: it is final"),
    )
    if (new == "duplicate") != (event.duplicate_of is not None):
        raise InvalidInput(
            f"marking {idea!r} a duplicate needs duplicate_of=, the idea it duplicates"
            if new == "duplicate"
            else f"duplicate_of= goes only with status 'duplicate', not {new!r}"
        )
    canonical = _canonical(ctx, idea, event.duplicate_of) if event.duplicate_of else None
    voters = _active_votes(ctx, idea)
    notified = sorted({*_authors(data), *(v["voter"] for v in voters)} - {event.by})
    was_open = rules.is_open(current)
    _move_status(ctx, idea, data, new)
    if was_open != rules.is_open(new) and new != "duplicate":
        state = "open" if rules.is_open(new) else "closed"
        for vote in voters:
            key = vote_key(idea, vote["voter"])
            ctx.put(
                _BALLOT,
                key,
                {"idea": idea, "voter": vote["voter"]},
                ref=vote["voter"],
                status=state,
            )
            ctx.touched.add(vote["voter"])
    data["history"].append(
        {
            "status": new,
            "at": ctx.at.isoformat(),
            "by": event.by,
            "note": event.note,
            "duplicate_of": event.duplicate_of,
            "event_id": ctx.event_id,
        }
    )
    bonuses = data.setdefault("bonuses", {})
    if new in _PLANNED_STAGES:
        _earn(ctx, idea, data, "planned")
    if new == "implemented":
        _earn(ctx, idea, data, "implemented")
    if new == "declined" and "planned" in bonuses and "implemented" not in bonuses:
        _reverse_refs(ctx, bonuses.pop("planned"), f"idea {idea!r} declined after it was planned")
        ctx.touched.update(_authors(data))
    if canonical is not None:
        data["duplicate_of"] = canonical
        _merge(ctx, idea, data, voters, canonical)
    _save(ctx, idea, data)
    for member in notified:
        ctx.notify(
            member,
            "idea_status_changed",
            idea=idea,
            title=data.get("title", ""),
            status=new,
            previous=current,
            by=event.by,
            note=event.note,
            duplicate_of=event.duplicate_of,
        )


def _canonical(ctx: Context, idea: str, target: str) -> str:
    ctx.require(target != idea, f"idea {idea!r} cannot be a duplicate of itself")
    data = _load(ctx, target, "take in a duplicate")
    if data["status"] == "duplicate":
        raise NotAllowed(
            f"idea {target!r} is itself a duplicate of "
            f"{data['duplicate_of']!r}; mark {idea!r} a duplicate of "
            f"{data['duplicate_of']!r} instead",
        )
    return target


def _merge(ctx: Context, dup: str, dup_data: Data, voters: list[Data], target: str) -> None:
    """Move ``dup``'s votes to ``target`` and credit its authors there."""
    data = _load(ctx, target, "take in a duplicate")
    authors = _authors(data)
    for vote in voters:
        _deactivate(ctx, dup, dup_data, vote, "merged")
        voter = vote["voter"]
        active, _ = _vote_state(ctx.tx, target, voter)
        if active or voter in authors:
            continue  # one vote per member, and none on their own idea
        moved = {k: vote[k] for k in ("at", "period", "vote_event", "rewards")}
        _activate(ctx, target, data, voter, {**moved, "merged_from": dup, "rewarded": False})
    data.setdefault("duplicates", []).append(dup)
    if _rules(ctx).credit_duplicate_authors:
        co_authors = data.setdefault("co_authors", {})
        data.setdefault("implemented_credit", {})
        bonuses = data.setdefault("bonuses", {})
        for member in sorted({dup_data["author"], *dup_data.get("co_authors", {})}):
            if member == data["author"]:
                continue
            first = member not in co_authors
            co_authors.setdefault(member, [])
            if dup not in co_authors[member]:
                co_authors[member].append(dup)
            if first:
                # A co-author shares the bonuses the idea already holds.
                for stage in ("planned", "implemented"):
                    if stage in bonuses:
                        bonuses[stage] += _credit(ctx, target, data, stage, member)
    _milestones(ctx, target, data)
    _save(ctx, target, data)


# --- hooks -------------------------------------------------------------------------------


@after_event(on=(TopicPosted, PostRemoved))
def _on_idea_events(ctx: Context) -> None:
    event = ctx.event
    if isinstance(event, TopicPosted) and event.kind in ctx.policy.support.votable:
        _posted(ctx, event)
    elif isinstance(event, PostRemoved) and ctx.tx.get(_IDEA, event.post) is not None:
        _removed(ctx, event)


def _posted(ctx: Context, event: TopicPosted) -> None:
    data: Data = {
        "author": event.author,
        "title": event.title,
        "tags": list(event.tags),
        "product": event.product,
        "posted_at": ctx.at.isoformat(),
        "status": "new",
        "history": [
            {
                "status": "new",
                "at": ctx.at.isoformat(),
                "by": event.author,
                "note": "",
                "duplicate_of": None,
                "event_id": ctx.event_id,
            }
        ],
        "co_authors": {},
        "duplicate_of": None,
        "duplicates": [],
        "rewarded_votes": 0,
        "milestones": {},
        "milestones_reached": [],
        "bonuses": {},
        "implemented_credit": {},
        "removed": False,
    }
    _save(ctx, event.topic, data)


def _removed(ctx: Context, event: PostRemoved) -> None:
    """Release a removed idea's votes and drop what it held.

    The forum's handler already reversed every entry about the idea; what a
    duplicate gave its authors on the canonical idea is taken back here.
    """
    idea = event.post
    doc = ctx.tx.get(_IDEA, idea)
    assert doc is not None
    data = _copy(doc.data)
    for vote in _active_votes(ctx, idea):
        _deactivate(ctx, idea, data, vote, "removed")
    for member in sorted(data.get("implemented_credit", {})):
        _uncredit(ctx, data, member)
    data.update(removed=True, milestones={}, bonuses={}, implemented_credit={})
    target = data.get("duplicate_of")
    if target is not None:
        _withdraw_credit(ctx, idea, target, event.reason)
    _save(ctx, idea, data)
    ctx.touched.update(_authors(data))


def _withdraw_credit(ctx: Context, dup: str, target: str, reason: str) -> None:
    """Take back the co-author credit the removed duplicate ``dup`` gave on ``target``."""
    doc = ctx.tx.get(_IDEA, target)
    assert doc is not None
    data = _copy(doc.data)
    co_authors: dict[str, list[str]] = data.get("co_authors", {})
    for member in sorted(co_authors):
        if dup not in co_authors[member]:
            continue
        via = [d for d in co_authors[member] if d != dup]
        if via:
            co_authors[member] = via
            continue
        del co_authors[member]
        why = f"duplicate {dup!r} removed ({reason}): no longer a co-author of {target!r}"
        bonuses = data.get("bonuses", {})
        # Sorted: stores may keep JSON keys in any order, and replay must match entry ids.
        for stage in sorted(bonuses):
            _reverse_refs(ctx, [r for r in bonuses[stage] if r[2] == member], why)
            bonuses[stage] = [r for r in bonuses[stage] if r[2] != member]
        _uncredit(ctx, data, member)
        ctx.touched.add(member)
    _save(ctx, target, data)


# --- standing ----------------------------------------------------------------------------


@contributes_standing
def _votes_left(tx: Transaction, policy: Policy, member: Member, now: datetime) -> dict[str, Any]:
    budget = vote_budget(tx, policy.ideas, member.id)
    if budget is None:
        return {}
    return {"votes_left": max(0, budget - len(open_votes(tx, member.id)))}


def vote_budget(tx: Transaction, rules: IdeaRules, member: str) -> int | None:
    """``member``'s vote budget now, by the rank recognition keeps (``None``: no limit)."""
    if not rules.has_budget:
        return None
    return rules.budget_for(current_rank(tx, member) if rules.budget_by_rank else None)


def open_votes(tx: Transaction, member: str) -> list[Doc]:
    """The ballots of ``member`` that count against their budget."""
    return tx.find(_BALLOT, ref=member, status="open")
