"""The policy data of leaderboards: attrs classes and constants, no I/O."""

from __future__ import annotations

import math
from typing import Any

import attrs

from .._validate import sorted_set
from ..errors import InvalidPolicy

ACTIONS: tuple[str, ...] = ()
"""The policy actions this capability rewards (see :mod:`kudos.policy`): none."""

METRICS: tuple[str, ...] = (
    "reputation",
    "points",
    "solutions",
    "kudos_received",
    "referrals",
    "ideas_implemented",
)
"""The metrics a leaderboard can rank by (the ``by=`` argument)."""


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return sorted_set(value)


@attrs.frozen(kw_only=True)
class LeaderboardRules:
    """Leaderboard settings of a policy (the ``[leaderboards]`` TOML table).

    Attributes:
        tie_break: a metric (one of :data:`METRICS`) that orders members tied
            on a board's value, more first, in the board's own span, before
            member id; ``None`` (the default) orders ties by member id alone.
            Ranking a tie costs reading its whole tie group, which is small at
            the top of a board and can be large far down it.
        window_metrics: the metrics whose per-day counters the engine keeps,
            which rolling-window boards (``window="7d"``) sum. Each costs one
            extra counter row per member per active day; changing the list
            takes effect for past events after ``rebuild()``.
        max_window_days: the longest rolling window allowed. A window board
            reads every counter row of its days, so this bounds its cost; use
            a period board for longer spans.

    ::

        [leaderboards]
        tie_break = "solutions"
        window_metrics = ["reputation", "kudos_received", "solutions"]
        max_window_days = 30
    """

    tie_break: str | None = attrs.field(default=None)
    window_metrics: tuple[str, ...] = attrs.field(default=METRICS, converter=_strings)
    max_window_days: int = attrs.field(default=90)

    @tie_break.validator
    def _check_tie_break(self, attr: attrs.Attribute[Any], value: str | None) -> None:
        if value is not None and value not in METRICS:
            raise InvalidPolicy(
                f"leaderboards.tie_break must be one of {', '.join(METRICS)} (or left out), "
                f"got {value!r}"
            )

    @window_metrics.validator
    def _check_window_metrics(self, attr: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
        for metric in value:
            if metric not in METRICS:
                raise InvalidPolicy(
                    f"leaderboards.window_metrics: unknown metric {metric!r}; "
                    f"choose from {', '.join(METRICS)}"
                )

    @max_window_days.validator
    def _check_max_window(self, attr: attrs.Attribute[Any], value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 3660:
            raise InvalidPolicy(
                f"leaderboards.max_window_days must be a whole number of days from 1 to "
                f"3660, got {value!r}"
            )

    def __attrs_post_init__(self) -> None:
        if self.tie_break and self.window_metrics and self.tie_break not in self.window_metrics:
            raise InvalidPolicy(
                f"leaderboards.tie_break {self.tie_break!r} must also be in "
                "leaderboards.window_metrics, so that window boards can break ties by it"
            )


def preset(name: str) -> LeaderboardRules:
    """The section of the ``name`` preset (``"giffgaff"`` or ``"stackexchange"``).

    Both rank ties by member id (no tie-break metric, so every board read is
    an index read) and keep day counters for every board metric with windows
    up to 90 days: Lithium's kudos leaderboards, which giffgaff ran on, use a
    rolling 30-day window by default ("kudos velocity", so new members can
    reach the board), and Stack Exchange ranks reputation by week, month,
    quarter and year.

    Raises:
        InvalidPolicy: no preset has that name.
    """
    if name not in ("giffgaff", "stackexchange"):
        raise InvalidPolicy(f"no leaderboards preset {name!r}; use 'giffgaff' or 'stackexchange'")
    return LeaderboardRules()


# --- values ------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class LeaderboardRow:
    """One line of a leaderboard.

    Attributes:
        position: 1-based place on the board (consecutive, ties included).
        member: the member id.
        value: the metric's value over the board's span.
    """

    position: int
    member: str
    value: int


@attrs.frozen(kw_only=True)
class LeaderboardPosition:
    """Where one member stands on a leaderboard: "#1,234 of 98,000".

    Attributes:
        member: the member id.
        by: the metric ranked.
        position: 1-based place, or ``None`` when the member is not on the
            board (nothing counted in the span, or staff left out).
        of: how many members are on the board.
        value: the member's value over the board's span.

    >>> p = LeaderboardPosition(member="bob", by="reputation", position=1234, of=98000, value=7)
    >>> f"You are {p}"
    'You are #1,234 of 98,000'
    >>> p.top_percent
    2
    >>> str(LeaderboardPosition(member="eve", by="reputation", position=None, of=3, value=0))
    'unranked (3 ranked)'
    """

    member: str
    by: str
    position: int | None
    of: int
    value: int

    def __str__(self) -> str:
        if self.position is None:
            return f"unranked ({self.of:,} ranked)"
        return f"#{self.position:,} of {self.of:,}"

    @property
    def ranked(self) -> bool:
        """Whether the member is on the board."""
        return self.position is not None

    @property
    def top_percent(self) -> int | None:
        """The smallest whole percentage of the board the member is in ("top 2%")."""
        if self.position is None or not self.of:
            return None
        return math.ceil(100 * self.position / self.of)


# --- who is staff -----------------------------------------------------------------------

STAFF_METRIC = "staff"
"""A counter that is 1 for each staff member and moderator (scope ``all``).

Boards leave them out by reading this small board from the counters index,
instead of every member document with a staff role.
"""
STAFF_ROLES = ("staff", "moderator")
