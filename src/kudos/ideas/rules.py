"""The policy data of ideas: attrs classes and constants, no I/O (see :mod:`kudos.ideas`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import attrs

from .._validate import sorted_set
from ..errors import InvalidPolicy

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
    "new": ("declined", "duplicate", "planned", "under_review"),
    "under_review": ("declined", "duplicate", "new", "planned"),
    "planned": ("declined", "implemented", "in_progress", "under_review"),
    "in_progress": ("declined", "implemented", "planned"),
    "implemented": (),
    "declined": ("under_review",),
    "duplicate": (),
}
"""The default workflow: status -> the statuses staff may move an idea to next.

``implemented`` and ``duplicate`` are final; a declined idea may be
reconsidered (back to ``under_review``, which takes its votes again).
"""

CLOSED: tuple[str, ...] = ("declined", "duplicate", "implemented")
"""The statuses that close an idea by default: it takes no votes, and its votes
no longer count against their voters' budgets."""


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
    return sorted_set(_name("ideas.closed", v) for v in value)


def _transitions(value: Mapping[str, Iterable[str]]) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, Mapping):
        raise InvalidPolicy(f"ideas.transitions must be a table, got {value!r}")
    out: dict[str, tuple[str, ...]] = {}
    for status, targets in value.items():
        where = f"ideas.transitions.{status}"
        _name("ideas.transitions keys", status)
        if isinstance(targets, str) or not isinstance(targets, Iterable):
            raise InvalidPolicy(f"{where} must be a list of statuses, got {targets!r}")
        out[status] = sorted_set(_name(where, t) for t in targets)
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

    ``closed`` and each status's list of next statuses are sets: kept sorted,
    each status once, whatever order they are written in.

    >>> IdeaRules(vote_budget=10).vote_budget
    10
    >>> IdeaRules().allowed("planned")
    ('declined', 'implemented', 'in_progress', 'under_review')
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


# The engine half (handlers, hooks, standing) needs the names above.
