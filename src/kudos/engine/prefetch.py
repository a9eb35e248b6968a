"""Read what a batch of events will read, in bulk, before the batch runs.

Recording one event reads a few documents (the posts and members it names,
the vote it may replace, a member's rank and privileges) and counters (the
balances caps, recognition and the balance bound check). In ``record_many``
on a SQL store each of those would be one single-row statement, most of
them finding nothing (a new post or vote is checked not to exist yet).
:func:`prefetch` works out the keys from the events themselves and asks a
store that offers ``prefetch_docs`` and ``prefetch_counters`` (see
:class:`~kudos.stores.sql.SqlStore`'s transactions) to read each kind of
document and the members' counters of the batch's scopes in a few
statements. It only warms the transaction's reads: the events are then
recorded exactly as before, and a key it missed is read as it always was.
A store without those methods (the :class:`~kudos.stores.memory.MemoryStore`)
is left alone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from ..events import (
    DownVoted,
    DownVoteWithdrawn,
    Event,
    KudosGiven,
    KudosWithdrawn,
    ReplyPosted,
    TopicPosted,
)
from ..stores.protocol import Transaction
from .core import day_of, period_of

if TYPE_CHECKING:
    from ..policy import Policy

__all__ = ["MEMBER_DOCS", "prefetch"]

MEMBER_DOCS = ("member", "member_fingerprints", "tenure", "rank", "privileges", "recognised")
"""Document kinds keyed by member id that recording an event may read for each member."""

_POST_FIELDS = ("post", "topic", "reply")
_MEMBER_FIELDS = ("member", "author", "giver", "voter", "by", "referrer")
_VOTES: dict[type[Event], tuple[str, str]] = {
    KudosGiven: ("post", "giver"),
    KudosWithdrawn: ("post", "giver"),
    DownVoted: ("post", "voter"),
    DownVoteWithdrawn: ("post", "voter"),
}


def _vote_key(post: str, member: str) -> str:
    # The forum's vote document key (kudos.forum.handlers.vote_key) and support's pair key
    # (kudos.support.handlers.pair_key), kept in step by a test.
    return f"{len(post)}:{post}:{member}"


@attrs.frozen
class _Fields:
    """Which attributes of one event type name posts and members."""

    posts: tuple[str, ...]
    members: tuple[str, ...]


_FIELDS: dict[type[Event], _Fields] = {}


def _fields(kind: type[Event]) -> _Fields:
    known = _FIELDS.get(kind)
    if known is None:
        names = {a.name for a in attrs.fields(kind)}
        known = _FIELDS[kind] = _Fields(
            posts=tuple(n for n in _POST_FIELDS if n in names),
            members=tuple(n for n in _MEMBER_FIELDS if n in names),
        )
    return known


def prefetch(tx: Transaction, policy: Policy, events: Sequence[Event]) -> None:
    """Warm ``tx`` with the documents and counters recording ``events`` will read.

    Posts, members, votes and who is involved in a topic, named by the
    events (and the authors of the posts they name), each kind in one bulk
    read; then the counters of those members in the scopes the events fall
    in (all time, their periods, days and months). Does nothing on a store
    without ``prefetch_docs`` and
    ``prefetch_counters``. Raises nothing of its own; a store error
    propagates as from any read.
    """
    docs: Callable[[str, Iterable[str]], None] | None = getattr(tx, "prefetch_docs", None)
    counters: Callable[[Iterable[str], Iterable[str]], None] | None = getattr(
        tx, "prefetch_counters", None
    )
    if docs is None or counters is None or not events:
        return
    posts: set[str] = set()
    members: set[str] = set()
    votes: defaultdict[str, set[str]] = defaultdict(set)
    scopes: set[str] = {"all", "ever"}
    authors: set[str] = set()
    buckets: set[datetime] = set()
    involved: set[str] = set()
    for event in events:
        kind = type(event)
        f = _fields(kind)
        for name in f.posts:
            posts.add(getattr(event, name))
        for name in f.members:
            value: Any = getattr(event, name)
            if isinstance(value, str):
                members.add(value)
        if kind is TopicPosted or kind is ReplyPosted:
            author = event.author  # type: ignore[attr-defined]
            authors.add(author)
            # Support's record of who is involved in a topic (kudos.support.handlers.pair_key).
            involved.add(_vote_key(event.topic, author))  # type: ignore[attr-defined]
        vote = _VOTES.get(kind)
        if vote is not None:
            post, member = getattr(event, vote[0]), getattr(event, vote[1])
            for vote_kind in ("kudos", "down_vote"):
                votes[vote_kind].add(_vote_key(post, member))
        at = event.at
        if at is not None:
            buckets.add(at.replace(minute=at.minute - at.minute % 15, second=0, microsecond=0))
    # The scopes of each quarter hour the events fall in (time zones are offset by whole
    # quarter hours): a scope guessed wrong for an event only means its counters are read
    # one by one, as without this.
    for at in buckets:
        day = day_of(policy, at)
        scopes.update((period_of(policy, at), f"day:{day}", f"month:{day[:7]}"))

    # A store that reads several kinds in one statement gets them so (two round trips for
    # one event: what it names, then the authors of its posts); others, a kind at a time.
    def each_kind(wanted: dict[str, set[str]]) -> None:
        for kind_name, keys in wanted.items():
            docs(kind_name, keys)

    kinds: Callable[[dict[str, set[str]]], None] = getattr(tx, "prefetch_kinds", each_kind)
    kinds(
        {
            "post": posts,
            "involved": involved,
            **votes,
            **dict.fromkeys(MEMBER_DOCS, members | authors),
        }
    )
    # The authors of the posts the batch names (the members a kudos or a solution pays).
    named = members | authors
    for post in posts:
        doc = tx.get("post", post)
        if doc is not None:
            author = doc.data.get("author")
            if isinstance(author, str):
                authors.add(author)
    members |= authors
    kinds(dict.fromkeys(MEMBER_DOCS, members - named))
    counters(members, scopes)
