"""Import a Stack Exchange data dump into a community.

A dump folder holds one XML file per table (``Users.xml``, ``Posts.xml``,
``Votes.xml``; ``Badges.xml`` is not read). Each file is streamed row by row
(:func:`xml.etree.ElementTree.iterparse`), never loaded whole; what is kept
in memory is what the facts need (each post's owner, kind and parent; the
events to record).

Every row becomes a fact in time order:

==========================  ================================================
dump row                    kudos event
==========================  ================================================
user                        ``MemberJoined`` (member id = the user's ``Id``)
question (PostTypeId 1)     ``TopicPosted`` (kind ``question``, tags, title)
answer (PostTypeId 2)       ``ReplyPosted`` on its question
CommunityOwnedDate          ``PostMadeWiki``
vote 1 (accepted)           ``SolutionAccepted`` by the question's owner
vote 2 / 3 (up / down)      ``KudosGiven`` / ``DownVoted``
vote 8 (bounty start)       ``BountyOffered`` by the vote's ``UserId``
vote 9 with an amount       ``BountyAwarded`` to the answer
==========================  ================================================

The dump names no voter (except on bounties), so each post's k-th up-vote is
given by a stand-in member ``se-up-<k>`` and its k-th down-vote by
``se-down-<k>``: one vote per member per post, as the rules require. Vote
dates are truncated to the day; a vote is placed at its day's start, or just
after its post when the post came later that day. A post whose owner's
account was deleted is attributed to ``se-deleted``, a member whose account
is deleted (``MemberDeleted``), so votes on it and answers under it are kept
and award nobody.
The facts are recorded as trusted history (``record_many(..., trusted=True)``):
privileges were checked when they happened.

What the dump cannot say is skipped and counted by reason in the
:class:`ImportReport`: votes on posts deleted before the dump, vote types
kudos does not model (favourites, close and reopen votes, approved edits
whose editor the dump does not name, ...), and rows of other post types.

>>> from kudos.importers.stackexchange import import_dump  # doctest: +SKIP
>>> report = import_dump("dumps/quantumcomputing", community)  # doctest: +SKIP
>>> print(report)  # doctest: +SKIP
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs

from ..community import Community
from ..errors import InvalidDump, InvalidInput
from ..events import (
    BountyAwarded,
    BountyOffered,
    DownVoted,
    Event,
    KudosGiven,
    MemberDeleted,
    MemberJoined,
    PostMadeWiki,
    ReplyPosted,
    SolutionAccepted,
    TopicPosted,
)

__all__ = [
    "DELETED",
    "ImportReport",
    "Progress",
    "events_from_dump",
    "import_dump",
    "record_events",
    "reputations",
]

DELETED = "se-deleted"
"""The member owning posts whose account was deleted (a deleted member: earns nothing)."""

Progress = Callable[[int, int], object]
"""``progress(done, total)``: events recorded so far out of the dump's total."""

_TICK = timedelta(microseconds=1)
_VOTE_KINDS = {1: "accepted", 2: "up-vote", 3: "down-vote", 8: "bounty start", 9: "bounty close"}
_OTHER_VOTES = {
    4: "offensive flags",
    5: "favourites",
    6: "close votes",
    7: "reopen votes",
    10: "deletion votes",
    11: "undeletion votes",
    12: "spam flags",
    15: "moderator reviews",
    16: "approved edits (the dump does not name the editor)",
}


@attrs.frozen(kw_only=True)
class ImportReport:
    """What :func:`import_dump` did.

    Attributes:
        recorded: events newly recorded.
        replayed: events already in the log (an import run again changes nothing).
        counts: recorded and replayed events by event type (``"kudos-given"``, ...).
        skipped: rows not imported, by reason (``"vote on a post deleted before
            the dump"``, ...).
        seconds: wall-clock time of the import.

    ``str(report)`` is a short multi-line summary, ready to print.
    """

    recorded: int
    replayed: int
    counts: Mapping[str, int]
    skipped: Mapping[str, int]
    seconds: float

    def __str__(self) -> str:
        lines = [
            f"recorded {self.recorded} events ({self.replayed} already there) "
            f"in {self.seconds:.1f} s"
        ]
        lines += [f"  {n:>8}  {kind}" for kind, n in sorted(self.counts.items())]
        if self.skipped:
            lines.append(f"skipped {sum(self.skipped.values())} rows:")
            lines += [f"  {n:>8}  {why}" for why, n in sorted(self.skipped.items())]
        return "\n".join(lines)


def import_dump(
    path: str | Path,
    community: Community,
    *,
    batch_size: int = 5_000,
    progress: Progress | None = None,
) -> ImportReport:
    """Record the dump in folder ``path`` into ``community``, in time order.

    The whole dump is read and checked before anything is recorded, so a
    missing file or malformed XML leaves the community untouched. Events are
    then recorded ``batch_size`` at a time, each batch one transaction, as
    trusted history. Event ids are derived from the dump's row ids
    (``se-post-<Id>``, ``se-vote-<Id>``, ...), so an import stopped half-way
    (by a rule a row breaks) is resumed by running it again.

    Args:
        path: the dump folder.
        community: where to record (usually one on ``kudos.policies.stackexchange()``).
        batch_size: events per transaction.
        progress: called with ``(done, total)`` after each batch.

    Raises:
        InvalidDump: a file is missing or not well-formed XML (nothing recorded).
        InvalidInput: ``batch_size`` is not a positive int.
        KudosError: a row breaks a rule of the policy; earlier batches stay recorded.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidInput(f"batch_size must be an int of 1 or more, got {batch_size!r}")
    started = time.perf_counter()
    events, skipped = events_from_dump(path)
    return record_events(
        events, skipped, community, batch_size=batch_size, progress=progress, started=started
    )


def record_events(
    events: list[Event],
    skipped: Mapping[str, int],
    community: Community,
    *,
    batch_size: int = 5_000,
    progress: Progress | None = None,
    started: float | None = None,
) -> ImportReport:
    """Record what :func:`events_from_dump` read, as :func:`import_dump` does.

    For a caller that reads the dump first (to refuse a malformed one before
    opening anything) and records it afterwards.

    Raises:
        InvalidInput: ``batch_size`` is not a positive int.
        KudosError: a row breaks a rule of the policy; earlier batches stay recorded.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidInput(f"batch_size must be an int of 1 or more, got {batch_size!r}")
    started = time.perf_counter() if started is None else started
    recorded = replayed = 0
    counts: Counter[str] = Counter()
    for start in range(0, len(events), batch_size):
        for outcome in community.record_many(events[start : start + batch_size], trusted=True):
            counts[outcome.type] += 1
            if outcome.replayed:
                replayed += 1
            else:
                recorded += 1
        if progress is not None:
            progress(min(start + batch_size, len(events)), len(events))
    return ImportReport(
        recorded=recorded,
        replayed=replayed,
        counts=dict(counts),
        skipped=dict(skipped),
        seconds=time.perf_counter() - started,
    )


def reputations(path: str | Path) -> dict[str, int]:
    """Each user's reputation as the dump's ``Users.xml`` gives it (member id -> reputation).

    Raises:
        InvalidDump: ``Users.xml`` is missing or not well-formed.
    """
    return {row["Id"]: int(row.get("Reputation", "1")) for row in _rows(path, "Users.xml")}


def events_from_dump(path: str | Path) -> tuple[list[Event], Counter[str]]:
    """The dump's facts as kudos events in time order, and the rows skipped by reason.

    Raises:
        InvalidDump: a file is missing or not well-formed (nothing is returned).
    """
    folder = Path(path)
    if not folder.is_dir():
        raise InvalidDump(f"no Stack Exchange dump folder at {str(folder)!r}")
    return _Reader(folder).read()


def _rows(folder: str | Path, name: str) -> Iterator[dict[str, str]]:
    """Stream the ``<row .../>`` attributes of ``folder/name``."""
    file = Path(folder) / name
    if not file.is_file():
        raise InvalidDump(f"the dump has no {name} (looked for {str(file)!r})")
    try:
        for _, element in ET.iterparse(file, events=("end",)):
            if element.tag == "row":
                yield dict(element.attrib)
            element.clear()
    except ET.ParseError as exc:
        raise InvalidDump(f"{name} is not well-formed XML ({exc}); is the dump complete?") from None


def _when(value: str | None, file: str) -> datetime:
    if not value:
        raise InvalidDump(f"a row of {file} has no CreationDate")
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    except ValueError:
        raise InvalidDump(f"{file} has a bad CreationDate {value!r}") from None


def _id(row: Mapping[str, str], field: str, file: str) -> str:
    value = row.get(field)
    if not value:
        raise InvalidDump(f"a row of {file} has no {field}")
    return value


@attrs.define
class _Post:
    kind: int
    owner: str
    at: datetime
    parent: str | None = None


class _Reader:
    """Reads one dump folder into ordered events."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.skipped: Counter[str] = Counter()
        self.timed: list[tuple[datetime, int, int, Event]] = []
        self.users: dict[str, datetime] = {}
        self.posts: dict[str, _Post] = {}

    def add(self, at: datetime, event: Event, *, rank: int = 1) -> None:
        """Queue ``event`` at ``at``; at one instant, lower ``rank`` goes first."""
        # ``event`` was checked when it was made and ``at`` is an aware time read from the
        # dump: a copy with the time set spares running every validator again, as
        # attrs.evolve would (a tenth of an import's time).
        assert event.event_id is not None and at.tzinfo is not None
        timed = event.with_id(event.event_id)
        object.__setattr__(timed, "at", at)
        self.timed.append((at, rank, len(self.timed), timed))

    def read(self) -> tuple[list[Event], Counter[str]]:
        for row in _rows(self.folder, "Users.xml"):
            self.users[_id(row, "Id", "Users.xml")] = _when(row.get("CreationDate"), "Users.xml")
        self._posts()
        voters = self._votes()
        first = min([t[0] for t in self.timed] + list(self.users.values()), default=None)
        if first is None:
            return [], self.skipped
        joins: list[Event] = [
            MemberJoined(member=DELETED, event_id="se-user-deleted", at=first),
            MemberDeleted(member=DELETED, event_id="se-user-deleted-deleted", at=first),
        ]
        joins += [
            MemberJoined(member=member, event_id=f"se-voter-{member}", at=first)
            for member in voters
        ]
        # Members join when their account was made, or with their first post if earlier.
        joined = dict(self.users)
        for post in self.posts.values():
            if post.owner in joined and post.at < joined[post.owner]:
                joined[post.owner] = post.at
        for user, at in joined.items():
            self.add(at, MemberJoined(member=user, event_id=f"se-user-{user}"), rank=0)
        self.timed.sort(key=lambda t: t[:3])
        return joins + [t[3] for t in self.timed], self.skipped

    def _owner(self, row: Mapping[str, str]) -> str:
        owner = row.get("OwnerUserId")
        return owner if owner in self.users else DELETED

    def _posts(self) -> None:
        kept = ("Id", "PostTypeId", "ParentId", "Title", "Tags", "CommunityOwnedDate")
        rows = []
        for row in _rows(self.folder, "Posts.xml"):
            if row.get("PostTypeId") not in ("1", "2"):
                self.skipped["posts other than questions and answers (tag wikis, ...)"] += 1
                continue
            post = _id(row, "Id", "Posts.xml")
            self.posts[post] = _Post(
                kind=int(row["PostTypeId"]),
                owner=self._owner(row),
                at=_when(row.get("CreationDate"), "Posts.xml"),
            )
            rows.append({k: row[k] for k in kept if k in row})  # not the bodies
        for row in rows:
            post = row["Id"]
            found = self.posts[post]
            if found.kind == 1:
                tags = tuple(t for t in row.get("Tags", "").strip("<>").split("><") if t)
                self.add(
                    found.at,
                    TopicPosted(
                        topic=post,
                        author=found.owner,
                        title=row.get("Title", ""),
                        tags=tags,
                        event_id=f"se-post-{post}",
                    ),
                )
            else:
                parent = row.get("ParentId")
                if parent is None or parent not in self.posts or self.posts[parent].kind != 1:
                    self.skipped["answers to questions deleted before the dump"] += 1
                    del self.posts[post]
                    continue
                found.parent = parent
                found.at = max(found.at, self.posts[parent].at + _TICK)
                self.add(
                    found.at,
                    ReplyPosted(
                        reply=post, topic=parent, author=found.owner, event_id=f"se-post-{post}"
                    ),
                )
            wiki = row.get("CommunityOwnedDate")
            if wiki:
                wiki_at = max(_when(wiki, "Posts.xml"), found.at + _TICK)
                self.add(wiki_at, PostMadeWiki(post=post, event_id=f"se-wiki-{post}"))

    def _votes(self) -> list[str]:
        ups: Counter[str] = Counter()
        downs: Counter[str] = Counter()
        bounties: dict[str, str] = {}  # question -> event id of its open bounty
        offerers: dict[str, str] = {}
        for row in _rows(self.folder, "Votes.xml"):
            vote = _id(row, "Id", "Votes.xml")
            kind = int(row.get("VoteTypeId", "0"))
            if kind not in _VOTE_KINDS:
                self.skipped[_OTHER_VOTES.get(kind, f"votes of type {kind}")] += 1
                continue
            post_id = row.get("PostId", "")
            post = self.posts.get(post_id)
            if post is None:
                self.skipped["votes on posts deleted before the dump"] += 1
                continue
            at = max(_when(row.get("CreationDate"), "Votes.xml"), post.at + _TICK)
            event_id = f"se-vote-{vote}"
            if kind == 2:
                ups[post_id] += 1
                voter = f"se-up-{ups[post_id]}"
                self.add(at, KudosGiven(post=post_id, giver=voter, event_id=event_id))
            elif kind == 3:
                downs[post_id] += 1
                voter = f"se-down-{downs[post_id]}"
                self.add(at, DownVoted(post=post_id, voter=voter, event_id=event_id))
            elif kind == 1:
                if post.parent is None:
                    self.skipped["accept votes on questions"] += 1
                    continue
                by = self.posts[post.parent].owner
                self.add(
                    at,
                    SolutionAccepted(topic=post.parent, reply=post_id, by=by, event_id=event_id),
                )
            elif kind == 8:
                offerer = row.get("UserId")
                amount = int(row.get("BountyAmount", "0") or 0)
                if offerer not in self.users or amount <= 0 or post.kind != 1:
                    self.skipped["bounty starts without an offerer, amount or question"] += 1
                    continue
                bounties[post_id] = event_id
                offerers[event_id] = offerer
                self.add(
                    at,
                    BountyOffered(
                        bounty=event_id,
                        topic=post_id,
                        by=offerer,
                        amount=amount,
                        event_id=event_id,
                    ),
                )
            else:
                amount = int(row.get("BountyAmount", "0") or 0)
                bounty = bounties.pop(post.parent or post_id, None)
                if bounty is None or not amount or post.parent is None:
                    self.skipped["bounties closed without an award"] += 1
                    continue
                if offerers[bounty] == post.owner:
                    self.skipped["bounties awarded to the offerer's own answer"] += 1
                    continue
                self.add(
                    at,
                    BountyAwarded(bounty=bounty, reply=post_id, amount=amount, event_id=event_id),
                )
        most_up = max(ups.values(), default=0)
        most_down = max(downs.values(), default=0)
        return [f"se-up-{k}" for k in range(1, most_up + 1)] + [
            f"se-down-{k}" for k in range(1, most_down + 1)
        ]
