"""The :class:`~kudos.Community` methods of ideas (see :mod:`kudos.ideas`)."""

from __future__ import annotations

import builtins
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from .. import _validate as v
from ..engine import core as engine
from ..engine.base import CommunityBase
from ..errors import InvalidInput, UnknownRecord
from ..events import IdeaStatusSet, IdeaVoted, IdeaVoteWithdrawn
from ..model import Doc, Outcome
from ..stores.protocol import Transaction
from .rules import (
    _BALLOT,
    _IDEA,
    _VOTE,
    _VOTES,
    BOARD_ORDERS,
    Idea,
    IdeaRules,
    IdeaStatusChange,
    IdeaVote,
    board_scope,
)


def _history(data: Mapping[str, Any]) -> tuple[IdeaStatusChange, ...]:
    return tuple(
        IdeaStatusChange(
            status=h["status"],
            at=datetime.fromisoformat(h["at"]),
            by=h["by"],
            note=h.get("note", ""),
            duplicate_of=h.get("duplicate_of"),
            event_id=h["event_id"],
        )
        for h in data["history"]
    )


def _idea_from(tx: Transaction, rules: IdeaRules, doc: Doc, recent: int | None = None) -> Idea:
    d = doc.data
    posted = d.get("posted_at")
    return Idea(
        id=doc.key,
        title=d.get("title", ""),
        author=d["author"],
        status=d["status"],
        open=rules.is_open(d["status"]) and not d.get("removed"),
        votes=tx.counter(_VOTES, "all", doc.key),
        co_authors=tuple(sorted(d.get("co_authors", {}))),
        tags=tuple(d.get("tags", ())),
        product=d.get("product"),
        posted_at=datetime.fromisoformat(posted) if posted else None,
        duplicate_of=d.get("duplicate_of"),
        duplicates=tuple(d.get("duplicates", ())),
        history=_history(d),
        removed=bool(d.get("removed")),
        recent_votes=recent,
    )


def _vote_from(doc: Doc, rules: IdeaRules, idea_status: str) -> IdeaVote:
    d = doc.data
    return IdeaVote(
        idea=d["idea"],
        voter=d["voter"],
        at=datetime.fromisoformat(d["at"]),
        counts_against_budget=rules.is_open(idea_status),
        merged_from=d.get("merged_from"),
    )


def _idea_doc(tx: Transaction, idea: str) -> Doc:
    doc = tx.get(_IDEA, idea)
    if doc is None:
        post = engine.get_post(tx, idea)
        raise UnknownRecord(
            f"{idea!r} is a {post.kind}, not an idea; ideas are topics posted with kind='idea'"
        )
    return doc


_CHUNK = 500


def _rows(
    tx: Transaction, scope: str, need: int | None, keep: Callable[[str], bool] | None
) -> list[tuple[str, int]]:
    """The top ``need`` (None: every) ideas of a counter scope that ``keep`` accepts."""
    if keep is None and need is not None:
        return tx.top(_VOTES, scope, limit=need)
    found: list[tuple[str, int]] = []
    offset = 0
    while need is None or len(found) < need:
        page = tx.top(_VOTES, scope, limit=_CHUNK, offset=offset)
        found.extend(r for r in page if keep is None or keep(r[0]))
        if len(page) < _CHUNK:
            break
        offset += _CHUNK
    return found if need is None else found[:need]


def _matches(
    doc: Doc | None, statuses: Sequence[str] | None, tag: str | None, product: str | None
) -> bool:
    if doc is None or doc.status == "removed":
        return False
    d = doc.data
    return (
        (statuses is None or d["status"] in statuses)
        and (tag is None or tag in d.get("tags", ()))
        and (product is None or d.get("product") == product)
    )


def _by_votes(
    tx: Transaction,
    rules: IdeaRules,
    statuses: Sequence[str] | None,
    tag: str | None,
    product: str | None,
    limit: int,
    offset: int,
) -> list[Idea]:
    need = offset + limit
    # With both a tag and a product, read the tag's scope and filter by product.
    keep: Callable[[str], bool] | None = None
    if tag is not None and product is not None:
        keep = lambda idea: _matches(tx.get(_IDEA, idea), None, None, product)  # noqa: E731

    rows: list[tuple[str, int]] = []
    for status in statuses if statuses is not None else [None]:
        rows.extend(_rows(tx, board_scope(status, tag, product), need, keep))
    rows.sort(key=lambda r: (-r[1], r[0]))
    ids = [idea for idea, _ in rows[:need]]
    if len(rows) < need:
        # Ideas without votes are on no counter board: list them last, newest first.
        if statuses is None:
            docs = [d for d in tx.find(_IDEA) if d.status != "removed"]
        else:
            docs = [d for s in statuses for d in tx.find(_IDEA, status=s)]
        zero = [
            d
            for d in docs
            if _matches(d, statuses, tag, product) and not tx.counter(_VOTES, "all", d.key)
        ]
        zero.sort(key=lambda d: d.key)
        zero.sort(key=lambda d: d.data.get("posted_at") or "", reverse=True)
        ids.extend(d.key for d in zero)
    return [_idea_from(tx, rules, _idea_doc(tx, i)) for i in ids[offset:need]]


def _by_trend(
    tx: Transaction,
    rules: IdeaRules,
    statuses: Sequence[str] | None,
    tag: str | None,
    product: str | None,
    limit: int,
    offset: int,
    today: date,
) -> list[Idea]:
    recent: Counter[str] = Counter()
    for back in range(rules.trend_days):
        day = (today - timedelta(days=back)).isoformat()
        for idea, votes in _rows(tx, f"day:{day}", None, None):
            recent[idea] += votes
    docs = {i: tx.get(_IDEA, i) for i, n in recent.items() if n > 0}
    kept = [
        (i, recent[i], tx.counter(_VOTES, "all", i))
        for i, doc in docs.items()
        if _matches(doc, statuses, tag, product)
    ]
    kept.sort(key=lambda r: (-r[1], -r[2], r[0]))
    return [
        _idea_from(tx, rules, _idea_doc(tx, i), recent=n)
        for i, n, _ in kept[offset : offset + limit]
    ]


# --- the Community methods ---------------------------------------------------------


def _statuses(rules: IdeaRules, status: str | Iterable[str] | None) -> tuple[str, ...] | None:
    if status is None:
        return None
    if isinstance(status, str):
        wanted: tuple[Any, ...] = (status,)
    elif isinstance(status, Iterable) and not isinstance(status, bytes | bytearray | Mapping):
        wanted = tuple(status)
    else:
        raise InvalidInput(f"status must be a status or a list of them, got {v.shown(status)}")
    for s in wanted:
        if not isinstance(s, str) or s not in rules.transitions:
            raise InvalidInput(
                f"unknown idea status {v.shown(s)}; the policy's statuses are "
                f"{', '.join(rules.statuses)}"
            )
    return tuple(dict.fromkeys(wanted))


def _page(limit: int, offset: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidInput(f"limit must be a whole number of 1 or more, got {limit!r}")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidInput(f"offset must be a whole number, zero or more, got {offset!r}")


class IdeasAPI(CommunityBase):
    """The :class:`kudos.Community` methods of this capability.

    A member's ``votes_left`` also appears in :meth:`standing` (``None`` when
    the policy has no vote budget).
    """

    # -- facts ----------------------------------------------------------------------------
    def vote_idea(
        self, idea: str, *, voter: str, at: datetime | None = None, event_id: str | None = None
    ) -> Outcome:
        """``voter`` votes for ``idea``: one vote per member per idea.

        Raises:
            NotAllowed: their own idea, a vote already cast, a closed, duplicate
                or removed idea, no ``vote_ideas`` privilege, or no vote left in
                their budget (the message says how many are open and how to free one).
            UnknownPost, UnknownRecord: no such topic, or it is not an idea.
        """
        return self.record(IdeaVoted(idea=idea, voter=voter, at=at, event_id=event_id))

    def withdraw_vote(
        self, idea: str, *, voter: str, at: datetime | None = None, event_id: str | None = None
    ) -> Outcome:
        """``voter`` takes back their vote on ``idea``; it returns to their budget and
        what it earned the author is reversed.

        Raises:
            NotAllowed: no vote to withdraw, or the idea is closed (its votes are final).
        """
        return self.record(IdeaVoteWithdrawn(idea=idea, voter=voter, at=at, event_id=event_id))

    def set_idea_status(
        self,
        idea: str,
        status: str,
        *,
        by: str,
        note: str = "",
        duplicate_of: str | None = None,
        at: datetime | None = None,
        event_id: str | None = None,
    ) -> Outcome:
        """Staff (or a moderator) move ``idea`` to ``status``, optionally saying why.

        ``status="duplicate"`` needs ``duplicate_of``, the canonical idea: the
        votes move there and the author is credited as a co-author (as the
        policy says). The author, co-authors and every voter are notified.

        Raises:
            NotAllowed: ``by`` is not staff, or the workflow does not allow the
                move (the message names the statuses it allows).
            InvalidInput: an unknown status, or ``duplicate_of`` without
                ``"duplicate"`` (or the reverse).
        """
        if status == "duplicate" and duplicate_of is None:
            raise InvalidInput(
                f"marking {idea!r} a duplicate needs duplicate_of=, the idea it duplicates"
            )
        if status != "duplicate" and duplicate_of is not None:
            raise InvalidInput(f"duplicate_of= goes only with status 'duplicate', not {status!r}")
        return self.record(
            IdeaStatusSet(
                idea=idea,
                status=status,
                by=by,
                note=note,
                duplicate_of=duplicate_of,
                at=at,
                event_id=event_id,
            )
        )

    # -- queries ----------------------------------------------------------------------------
    def idea(self, idea: str) -> Idea:
        """The idea: status, votes, history, author and co-authors.

        Raises:
            UnknownPost: no such topic.
            UnknownRecord: the topic is not an idea.
        """
        v.check_id("idea", idea)
        return self._cached(
            ("idea", idea), lambda tx: _idea_from(tx, self.policy.ideas, _idea_doc(tx, idea))
        )

    def idea_board(
        self,
        *,
        by: str = "votes",
        status: str | Iterable[str] | None = None,
        tag: str | None = None,
        product: str | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> builtins.list[Idea]:
        """The ideas board: most voted first, or trending.

        Args:
            by: ``"votes"``: by active votes, most first (ties by id), then the
                ideas with no vote, newest first. ``"trend"``: by the votes cast
                in the last ``policy.ideas.trend_days`` days (including today,
                in the periods' time zone) that are still active, most first,
                then by all votes; ideas with no such vote are left out.
            status: one status or several (e.g. ``policy.ideas.open_statuses``);
                ``None``: every idea not removed.
            tag: only ideas with this tag; ``product``: only this product's.
            limit: at most this many; ``offset``: skip that many first.

        Boards by votes read ordered counters, so their cost follows ``limit +
        offset`` (the tail of ideas without votes reads every idea of the
        filter). The trend board reads one counter per idea and day of the
        window that had votes, so its cost follows recent activity, not the
        number of ideas.

        Raises:
            InvalidInput: an unknown order or status, or a bad limit or offset.
        """
        if not isinstance(by, str) or by not in BOARD_ORDERS:
            raise InvalidInput(f"by must be 'votes' or 'trend', got {v.shown(by)}")
        v.check_optional_id("tag", tag)
        v.check_optional_id("product", product)
        _page(limit, offset)
        rules = self.policy.ideas
        statuses = _statuses(rules, status)
        if by == "votes":
            return self._cached(
                ("idea_board", by, statuses, tag, product, limit, offset),
                lambda tx: _by_votes(tx, rules, statuses, tag, product, limit, offset),
            )
        today = date.fromisoformat(engine.day_of(self.policy, self.now()))
        return self._cached(
            ("idea_board", by, statuses, tag, product, limit, offset, today),
            lambda tx: _by_trend(tx, rules, statuses, tag, product, limit, offset, today),
        )

    def idea_voters(self, idea: str, *, limit: int | None = None) -> builtins.list[IdeaVote]:
        """The active votes on ``idea``, in the order they were cast (at most ``limit``).

        Raises:
            UnknownPost, UnknownRecord: no such topic, or it is not an idea.
        """
        v.check_id("idea", idea)
        if limit is not None:
            _page(limit, 0)

        def read(tx: Transaction) -> list[IdeaVote]:
            status = _idea_doc(tx, idea).data["status"]
            votes = [
                _vote_from(d, self.policy.ideas, status)
                for d in tx.find(_VOTE, ref=idea, status="active")
            ]
            votes.sort(key=lambda v: (v.at, v.voter))
            return votes[:limit] if limit is not None else votes

        return self._read(read)

    def member_votes(self, member: str) -> builtins.list[IdeaVote]:
        """``member``'s active votes: those counting against their budget first, then
        those on closed ideas, each in the order they were cast.

        Raises:
            UnknownMember: never joined.
        """
        v.check_id("member", member)

        def read(tx: Transaction) -> list[IdeaVote]:
            engine.get_member(tx, member)
            votes = []
            for state in ("open", "closed"):
                for ballot in tx.find(_BALLOT, ref=member, status=state):
                    vote = tx.get(_VOTE, ballot.key)
                    idea = tx.get(_IDEA, ballot.data["idea"])
                    assert vote is not None and idea is not None
                    votes.append(_vote_from(vote, self.policy.ideas, idea.data["status"]))
            votes.sort(key=lambda v: (not v.counts_against_budget, v.at, v.idea))
            return votes

        return self._read(read)
