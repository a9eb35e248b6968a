"""Ideas: a voting board with budgets, a status workflow and rewards for authors.

Members propose ideas (topics posted with ``kind="idea"``), other members vote
for them (:meth:`IdeasAPI.vote_idea`, one vote per member per idea, never on
their own), staff move them through a workflow
(:meth:`IdeasAPI.set_idea_status`), and the community rewards the members
whose ideas it plans and implements. Everything is the policy's ``ideas``
section, :class:`IdeaRules`, plus four actions of ``policy.rewards``:

* ``idea_vote_received``: the author, per vote (at most
  :attr:`IdeaRules.max_rewarded_votes` votes an idea); a withdrawn vote takes
  its reward back;
* ``idea_milestone``: the author, when the idea reaches each of
  :attr:`IdeaRules.milestones` votes (taken back if it falls below);
* ``idea_planned``: the author and co-authors, once, when the idea is first
  planned (or goes straight to ``in_progress`` or ``implemented``); taken back
  if it is declined before being implemented;
* ``idea_implemented``: the author and co-authors, once, when implemented;
  it stays even if the idea later moves on.

Removing an idea (``remove_post``) takes back everything it earned.

**Vote budgets** (Discourse's topic voting): with :attr:`IdeaRules.vote_budget`
or :attr:`IdeaRules.budget_by_rank` a member holds at most that many *open*
votes, votes on ideas not yet closed. Closing an idea (``implemented``,
``declined``, ``duplicate``: :attr:`IdeaRules.closed`) returns its votes to
their voters' budgets; reopening it takes them again, even past the budget
(the member then votes again only once under it).

**Duplicates**: marking an idea a duplicate of another merges its votes into
that one (a member who voted on both keeps one vote) and, by default, credits
its author as a co-author of the other.

Documents kept (kind: key -> data), rebuilt exactly by replay:

* ``idea``: idea id -> status, history, co-authors, duplicates, milestones and
  bonuses held (ref = author, status = the idea's status, or ``removed``);
* ``idea_vote``: :func:`kudos._posts.vote_key` (idea, voter) -> the vote
  (ref = idea, status ``active``, ``withdrawn``, ``merged`` or ``removed``);
* ``idea_ballot``: the same key -> the voter's side of it (ref = voter, status
  ``open`` while it counts against the budget, ``closed`` while its idea is
  closed, else as the vote).

Counters: ``idea_votes`` per idea (subject = the idea) in scopes ``all``,
``status:<s>``, ``tag:<t>``, ``product:<p>``, ``status:<s>|tag:<t>``,
``status:<s>|product:<p>`` (the board) and ``day:<YYYY-MM-DD>`` (the trend
board: still-active votes by the day they were cast); ``idea_votes_cast`` per
voter (net of withdrawals) and ``ideas_implemented`` per author and co-author
(what leaderboards and badges read).

Notifications: ``idea_status_changed`` (to the author, co-authors and every
voter, not to whoever changed it) and ``idea_milestone`` (to the author, the
first time each milestone is reached).

>>> import kudos
>>> from kudos.testing import FakeClock
>>> c = kudos.Community(clock=FakeClock())
>>> for m in ("carol", "alice", "bob"):
...     _ = c.join(m)
>>> _ = c.join("staff1", role="staff")
>>> _ = c.post_topic("i1", author="carol", kind="idea", title="eSIM support")
>>> _ = c.vote_idea("i1", voter="alice")
>>> _ = c.vote_idea("i1", voter="bob")
>>> c.set_idea_status("i1", "planned", by="staff1").total("carol")
100
>>> print(*[(i.id, i.status, i.votes) for i in c.idea_board()])
('i1', 'planned', 2)
"""

from __future__ import annotations

import builtins
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import attrs

from . import _engine as engine
from . import _validate as v
from ._base import CommunityBase
from .errors import InvalidInput, InvalidPolicy, UnknownRecord
from .events import IdeaStatusSet, IdeaVoted, IdeaVoteWithdrawn
from .model import Doc, Outcome
from .recognition import current_rank
from .stores.protocol import Transaction

ACTIONS: tuple[str, ...] = (
    "idea_vote_received",
    "idea_milestone",
    "idea_planned",
    "idea_implemented",
)
"""The policy actions this capability rewards (see :mod:`kudos.policy`)."""

STATUSES: tuple[str, ...] = (
    "new",
    "under_review",
    "planned",
    "in_progress",
    "implemented",
    "declined",
    "duplicate",
)
"""The statuses of the default workflow, in lifecycle order."""

DEFAULT_TRANSITIONS: Mapping[str, tuple[str, ...]] = {
    "new": ("under_review", "planned", "declined", "duplicate"),
    "under_review": ("new", "planned", "declined", "duplicate"),
    "planned": ("under_review", "in_progress", "implemented", "declined"),
    "in_progress": ("planned", "implemented", "declined"),
    "implemented": (),
    "declined": ("under_review",),
    "duplicate": (),
}
"""The default workflow: status -> the statuses staff may move an idea to next.

``implemented`` and ``duplicate`` are final; a declined idea may be
reconsidered (back to ``under_review``, which takes its votes again).
"""

CLOSED: tuple[str, ...] = ("implemented", "declined", "duplicate")
"""The statuses that close an idea by default: it takes no votes, and its votes
no longer count against their voters' budgets."""

__all__ = [
    "ACTIONS",
    "CLOSED",
    "DEFAULT_TRANSITIONS",
    "STATUSES",
    "Idea",
    "IdeaRules",
    "IdeaStatusChange",
    "IdeaVote",
    "IdeasAPI",
    "preset",
    "vote_budget",
]

# Statuses the workflow gives a meaning to; any other name is a plain step.
_PLANNED_STAGES = ("planned", "in_progress", "implemented")

# Document kinds and the board's counter (shared with the engine half).
_IDEA = "idea"
_VOTE = "idea_vote"
_BALLOT = "idea_ballot"
_VOTES = "idea_votes"

BOARD_ORDERS = ("votes", "trend")


# --- the policy section ------------------------------------------------------------


def _name(where: str, value: Any) -> str:
    if not isinstance(value, str) or not value or value != value.strip() or " " in value:
        raise InvalidPolicy(f"{where} must be a status name without spaces, got {value!r}")
    return value


def _names(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        raise InvalidPolicy(f"ideas.closed must be a list of statuses, got {value!r}")
    return tuple(_name("ideas.closed", v) for v in value)


def _transitions(value: Mapping[str, Iterable[str]]) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, Mapping):
        raise InvalidPolicy(f"ideas.transitions must be a table, got {value!r}")
    out: dict[str, tuple[str, ...]] = {}
    for status, targets in value.items():
        where = f"ideas.transitions.{status}"
        _name("ideas.transitions keys", status)
        if isinstance(targets, str) or not isinstance(targets, Iterable):
            raise InvalidPolicy(f"{where} must be a list of statuses, got {targets!r}")
        out[status] = tuple(_name(where, t) for t in targets)
    return out


def _budgets(value: Mapping[str, int]) -> dict[str, int]:
    if not isinstance(value, Mapping):
        raise InvalidPolicy(f"ideas.budget_by_rank must be a table, got {value!r}")
    out = {}
    for rank, budget in value.items():
        _whole(f"ideas.budget_by_rank.{rank}", budget)
        out[rank] = budget
    return out


def _milestones(value: Iterable[int]) -> tuple[int, ...]:
    found = tuple(value)
    for m in found:
        _whole("ideas.milestones", m)
        if m < 1:
            raise InvalidPolicy(f"ideas.milestones must be vote counts of 1 or more, got {m}")
    if list(found) != sorted(set(found)):
        raise InvalidPolicy(
            f"ideas.milestones must be distinct and in increasing order, got {list(found)}"
        )
    return found


def _whole(where: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidPolicy(f"{where} must be a whole number, zero or more, got {value!r}")


def _check_whole(inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
    _whole(f"ideas.{attr.name}", value)


def _check_optional_whole(inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        _whole(f"ideas.{attr.name}", value)


def _check_flag(inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, bool):
        raise InvalidPolicy(f"ideas.{attr.name} must be true or false, got {value!r}")


@attrs.frozen(kw_only=True)
class IdeaRules:
    """The ideas board of a policy (the ``[ideas]`` TOML table).

    What ideas earn is ``policy.rewards`` (the four actions of the module
    docs); this section says when, how often, and who may vote how much.

    Attributes:
        transitions: status -> the statuses staff may move an idea to from
            it (:data:`DEFAULT_TRANSITIONS`). Every status of the workflow is a
            key (a final one maps to an empty list); ideas start as ``new``.
            ``planned``, ``in_progress``, ``implemented``, ``declined`` and
            ``duplicate`` carry the rewards and merging described in the module
            docs; other names (``needs_info``, ``on_hold`` ...) are plain steps.
        closed: the statuses that close an idea (:data:`CLOSED`): it takes no
            votes and its votes no longer count against budgets.
        vote_budget: how many open votes a member may hold at a time
            (``None``: no limit).
        budget_by_rank: rank name -> budget, for members holding that rank
            (the ``rank`` recognition keeps); other members have ``vote_budget``.
        max_rewarded_votes: how many votes of one idea earn its author
            ``idea_vote_received`` (0: every vote). A withdrawn rewarded vote
            makes room for the next one.
        milestones: vote counts that earn the author ``idea_milestone`` (and
            an ``idea_milestone`` notification), increasing.
        credit_duplicate_authors: whether marking an idea a duplicate makes its
            author (and its own co-authors) co-authors of the canonical idea.
        co_author_share: the percentage of the ``idea_planned`` and
            ``idea_implemented`` rewards each co-author earns (100: as much as
            the author; 0: credit and ``ideas_implemented`` only).
        trend_days: the window of the trend board, in whole days ending today.

    ::

        [ideas]
        vote_budget = 2
        budget_by_rank = { "Bronze Star" = 4, "Silver Star" = 6 }
        max_rewarded_votes = 100
        milestones = [20, 50]

        [ideas.transitions]
        new = ["under_review", "declined", "duplicate"]
        under_review = ["planned", "needs_info", "declined", "duplicate"]
        needs_info = ["under_review", "declined"]
        planned = ["implemented", "declined"]
        implemented = []
        declined = ["under_review"]
        duplicate = []

    Raises:
        InvalidPolicy: a status is missing from ``transitions`` or names an
            unknown one, ``duplicate`` is not final, ``new`` is closed, or a
            number is negative or not whole.

    >>> IdeaRules(vote_budget=10).vote_budget
    10
    >>> IdeaRules().allowed("planned")
    ('under_review', 'in_progress', 'implemented', 'declined')
    """

    transitions: Mapping[str, tuple[str, ...]] = attrs.field(
        factory=lambda: dict(DEFAULT_TRANSITIONS), converter=_transitions
    )
    closed: tuple[str, ...] = attrs.field(default=CLOSED, converter=_names)
    vote_budget: int | None = attrs.field(default=None, validator=_check_optional_whole)
    budget_by_rank: Mapping[str, int] = attrs.field(factory=dict, converter=_budgets)
    max_rewarded_votes: int = attrs.field(default=0, validator=_check_whole)
    milestones: tuple[int, ...] = attrs.field(default=(), converter=_milestones)
    credit_duplicate_authors: bool = attrs.field(default=True, validator=_check_flag)
    co_author_share: int = attrs.field(default=100, validator=_check_whole)
    trend_days: int = attrs.field(default=7, validator=_check_whole)

    def __attrs_post_init__(self) -> None:
        flow = self.transitions
        if "new" not in flow:
            raise InvalidPolicy(
                "ideas.transitions has no 'new' status; ideas start as new, so list where "
                "they may go from it (new = [...])"
            )
        for status, targets in flow.items():
            for target in targets:
                if target not in flow:
                    raise InvalidPolicy(
                        f"ideas.transitions.{status} names {target!r}, which is not a status "
                        f"of the workflow; add it as a key ({target} = [...], [] if final)"
                    )
                if target == status:
                    raise InvalidPolicy(
                        f"ideas.transitions.{status} lists {status!r} itself; an idea cannot "
                        "move to the status it has"
                    )
        if flow.get("duplicate"):
            raise InvalidPolicy(
                "ideas.transitions.duplicate must be empty: merged votes and co-author "
                "credit are not undone, so a duplicate is final"
            )
        for status in self.closed:
            if status not in flow:
                raise InvalidPolicy(
                    f"ideas.closed names {status!r}, which is not a status of the workflow "
                    f"({', '.join(flow)})"
                )
        if "new" in self.closed:
            raise InvalidPolicy("ideas.closed cannot include 'new': new ideas take votes")
        if "duplicate" in flow and "duplicate" not in self.closed:
            raise InvalidPolicy(
                "ideas.closed must include 'duplicate': a duplicate's votes move to the "
                "canonical idea"
            )
        if self.co_author_share > 100:
            raise InvalidPolicy(
                f"ideas.co_author_share is a percentage from 0 to 100, got {self.co_author_share}"
            )
        if self.trend_days < 1:
            raise InvalidPolicy("ideas.trend_days must be 1 or more (1: today only)")

    @property
    def statuses(self) -> tuple[str, ...]:
        """Every status of the workflow, in the order ``transitions`` lists them."""
        return tuple(self.transitions)

    @property
    def open_statuses(self) -> tuple[str, ...]:
        """The statuses in which an idea takes votes (pass them to ``idea_board``)."""
        return tuple(s for s in self.transitions if s not in self.closed)

    @property
    def has_budget(self) -> bool:
        """Whether any member's votes are limited."""
        return self.vote_budget is not None or bool(self.budget_by_rank)

    def is_open(self, status: str) -> bool:
        """Whether an idea in ``status`` takes votes (and holds its voters' budgets)."""
        return status not in self.closed

    def allowed(self, status: str) -> tuple[str, ...]:
        """The statuses an idea in ``status`` may move to."""
        return self.transitions.get(status, ())

    def budget_for(self, rank: str | None) -> int | None:
        """The budget of a member holding ``rank`` (``None``: no limit).

        >>> IdeaRules(vote_budget=2, budget_by_rank={"Guru": 10}).budget_for("Guru")
        10
        """
        if rank is not None and rank in self.budget_by_rank:
            return self.budget_by_rank[rank]
        return self.vote_budget


def preset(name: str) -> IdeaRules:
    """The section of the ``name`` preset (``"giffgaff"`` or ``"stackexchange"``).

    giffgaff (Labs, peers §1): no vote budget (Labs had none) and a milestone
    at 20 votes, the kudos an idea needed to go forward in the older flow;
    the preset's rewards pay for planned and implemented ideas only. Stack
    Exchange has no ideas board (meta uses status tags), so its section is the
    default workflow with nothing extra.

    Raises:
        InvalidPolicy: no preset of that name.
    """
    if name == "giffgaff":
        return IdeaRules(milestones=(20,))
    if name == "stackexchange":
        return IdeaRules()
    raise InvalidPolicy(f"no ideas preset {name!r}; presets: giffgaff, stackexchange")


def vote_budget(tx: Transaction, rules: IdeaRules, member: str) -> int | None:
    """``member``'s vote budget now, by the rank recognition keeps (``None``: no limit)."""
    if not rules.has_budget:
        return None
    return rules.budget_for(current_rank(tx, member) if rules.budget_by_rank else None)


def open_votes(tx: Transaction, member: str) -> list[Doc]:
    """The ballots of ``member`` that count against their budget."""
    return tx.find(_BALLOT, ref=member, status="open")


# --- values --------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class IdeaStatusChange:
    """One step of an idea's history: who moved it where, when and why."""

    status: str
    at: datetime
    by: str
    note: str = ""
    duplicate_of: str | None = None
    event_id: str


@attrs.frozen(kw_only=True)
class Idea:
    """An idea as the board shows it.

    Attributes:
        id: the topic id; ``title``, ``author``, ``tags``, ``product`` and
            ``posted_at`` are the topic's.
        status: where it is in the workflow.
        open: whether it takes votes (and its votes hold their voters' budgets).
        votes: its active votes (merged-in votes included; 0 once removed or
            merged into another as a duplicate).
        co_authors: members credited with it (authors of its duplicates).
        duplicate_of: the canonical idea, when this is a duplicate.
        duplicates: the ideas merged into this one.
        history: every status it had, oldest first (the first is ``new``).
        removed: whether a moderator removed it.
        recent_votes: on the trend board, its votes cast within the window.
    """

    id: str
    title: str
    author: str
    status: str
    open: bool
    votes: int
    co_authors: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    product: str | None = None
    posted_at: datetime | None = None
    duplicate_of: str | None = None
    duplicates: tuple[str, ...] = ()
    history: tuple[IdeaStatusChange, ...] = ()
    removed: bool = False
    recent_votes: int | None = None


@attrs.frozen(kw_only=True)
class IdeaVote:
    """One member's vote on one idea.

    Attributes:
        idea: the idea it is on now.
        voter: who cast it.
        at: when it was cast.
        counts_against_budget: whether its idea is open, so it uses a budget slot.
        merged_from: the duplicate it was cast on, when it moved here by a merge.
    """

    idea: str
    voter: str
    at: datetime
    counts_against_budget: bool
    merged_from: str | None = None


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


# --- the board ----------------------------------------------------------------------


def board_scope(status: str | None, tag: str | None, product: str | None) -> str:
    """The ``idea_votes`` counter scope of a board filter (at most one of tag/product)."""
    parts = []
    if status is not None:
        parts.append(f"status:{status}")
    if tag is not None:
        parts.append(f"tag:{tag}")
    elif product is not None:
        parts.append(f"product:{product}")
    return "|".join(parts) or "all"


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


# The engine half (handlers, hooks, standing) needs the names above.
from . import _ideas  # noqa: E402, F401
