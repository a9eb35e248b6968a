"""Response health as counters: what one topic's record adds to them, and how they read back.

Pure functions, no store and no engine. Each topic's ``health`` record
(:mod:`kudos.health.handlers`) *contributes* a handful of counters
(:func:`contributions`); whenever a record changes, the handler adds
``contributions(new) - contributions(old)``, so removals, restores, unaccepted
solutions and merges are exact by construction, and ``rebuild()`` writes the
same counters again. :meth:`kudos.Community.health` reads these counters
(:func:`fold`): a number of rows that grows with the groups and the distinct
histogram buckets, never with the topics.

Counters (metric :data:`METRIC`):

* scope ``health|<period>|<dimension>``, one per payback period a topic was
  posted in and dimension (``-`` for none, ``tag``, ``product``, ``channel``,
  ``month``, ``day``);
* subject ``<figure> US <bucket> US <kind> US <group>`` (``US`` the unit
  separator, which no id may hold): figures ``topics``, ``answered``,
  ``within``, ``past``, ``solved``, ``members``, ``staff`` (bucket ``-``), and
  one histogram bucket each for the time to first response (``first``), to the
  first member response (``member``) and to the solution (``solution``);
* scope ``health|periods``, subject the period: its live topics, so that
  ``health()`` of every period knows which periods to read.

Durations are counted in buckets of three significant figures (HDR-histogram
style, :func:`bucket`): exact to the second below 1,000 s, then to 0.1% (7,213 s
counts as 7,210 s). A percentile read from them is the lowest value of its bucket.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from ..stores.protocol import CounterKey
from .model import HealthFigures, Timing

__all__ = [
    "DIMENSIONS",
    "METRIC",
    "PERIODS_SCOPE",
    "bucket",
    "change",
    "contributions",
    "dimension_of",
    "fold",
    "groups_of",
    "scope",
    "timing_of",
]

METRIC = "health"
"""The counter metric of every health aggregate."""

PERIODS_SCOPE = "health|periods"
"""The scope counting live topics per posting period (subject: the period)."""

DIMENSIONS = ("-", "tag", "product", "channel", "month", "day")
"""The dimensions aggregated per period (``-``: no grouping)."""

_SEP = "\x1f"
_NONE = "-"
_HISTOGRAMS = ("first", "member", "solution")


def bucket(seconds: int) -> int:
    """The lowest value of ``seconds``' bucket at three significant figures.

    >>> bucket(999), bucket(1000), bucket(7213), bucket(123456)
    (999, 1000, 7210, 123000)
    """
    digits = len(str(seconds))
    if digits <= 3:
        return seconds
    unit: int = 10 ** (digits - 3)
    return seconds // unit * unit


def scope(period: str, dimension: str) -> str:
    """The counter scope of ``period``'s aggregates along ``dimension`` (see :data:`DIMENSIONS`)."""
    return f"health|{period}|{dimension}"


def dimension_of(by: str | None) -> str:
    """The stored dimension a ``health(by=...)`` grouping reads (kind and period are keys)."""
    return by if by in DIMENSIONS else _NONE


def groups_of(data: Mapping[str, Any], period: str, by: str) -> list[str]:
    """The groups a topic's record counts in when grouped ``by`` (distinct, in order)."""
    if by == "tag":
        return [str(t) for t in dict.fromkeys(data["tags"])]
    if by == "product":
        return [str(data["product"])] if data["product"] is not None else []
    if by in ("kind", "channel"):
        return [str(data[by])]
    if by == "period":
        return [period]
    return [data["day"][:7] if by == "month" else data["day"]]


def _solved(data: Mapping[str, Any]) -> bool:
    return data["solution"] is not None and bool(data.get("solution_live", True))


_Figure = tuple[str, str]
"""A figure a record counts in once: (figure, histogram bucket or ``-``)."""


def _figures(data: Mapping[str, Any] | None) -> list[_Figure]:
    """The figures one live topic's record counts in (each once)."""
    if data is None or data["removed"]:
        return []
    found: list[_Figure] = [("topics", _NONE)]
    first = data["first"]
    if first is not None:
        found.append(("answered", _NONE))
        found.append(("within" if first <= data["target"] else "past", _NONE))
        found.append(("first", str(bucket(first))))
    if data["first_member"] is not None:
        found.append(("member", str(bucket(data["first_member"]))))
    if _solved(data):
        found.append(("solved", _NONE))
        found.append(("staff" if data["solver_staff"] else "members", _NONE))
        found.append(("solution", str(bucket(data["solved_in"]))))
    return found


@functools.lru_cache(maxsize=4096)
def _places(
    period: str,
    kind: str,
    tags: tuple[str, ...],
    product: str | None,
    channel: str,
    day: str,
) -> tuple[tuple[str, str], ...]:
    """Where a record with these attributes counts: (scope, subject suffix after the
    figure and bucket), one per dimension and group."""
    data = {"tags": tags, "product": product, "channel": channel, "day": day}
    return tuple(
        (scope(period, dimension), f"{_SEP}{kind}{_SEP}{group}")
        for dimension in DIMENSIONS
        for group in ((_NONE,) if dimension == _NONE else groups_of(data, period, dimension))
    )


def _spread(
    data: Mapping[str, Any], period: str, figures: Mapping[_Figure, int]
) -> dict[CounterKey, int]:
    """``figures`` of one topic's record as counters: in each dimension and group it counts in."""
    found: dict[CounterKey, int] = {}
    if not figures:
        return found
    topics = figures.get(("topics", _NONE))
    if topics:
        found[(METRIC, PERIODS_SCOPE, period)] = topics
    places = _places(
        period,
        data["kind"],
        tuple(data["tags"]),
        data["product"],
        data["channel"],
        data["day"],
    )
    for (figure, at), n in figures.items():
        head = f"{figure}{_SEP}{at}"
        for where, tail in places:  # one place a dimension and group: no key twice
            found[(METRIC, where, head + tail)] = n
    return found


def contributions(data: Mapping[str, Any] | None, period: str | None) -> Counter[CounterKey]:
    """What one topic's record (posted in ``period``) adds to the health counters.

    A removed topic (or none, ``data=None``) adds nothing. The record's own
    ``target`` (the policy's response target when it was posted) decides
    ``within``/``past``.
    """
    if data is None or period is None:
        return Counter()
    return Counter(_spread(data, period, dict.fromkeys(_figures(data), 1)))


_GROUPED = ("kind", "tags", "product", "channel", "day")


def change(
    old: Mapping[str, Any] | None, new: Mapping[str, Any] | None, period: str | None
) -> dict[CounterKey, int]:
    """The counter deltas of a record going from ``old`` to ``new`` (zeros left out):
    ``contributions(new) - contributions(old)``, worked out on the few figures that moved."""
    if period is None:
        return {}
    if old is None and new is not None:  # a new record: all it counts in, once each
        return _spread(new, period, dict.fromkeys(_figures(new), 1))
    if old is None or new is None or any(old.get(k) != new.get(k) for k in _GROUPED):
        deltas = contributions(new, period)
        deltas.subtract(contributions(old, period))
        return {k: v for k, v in deltas.items() if v}
    # Same groups: only the figures counted before or after but not both move, each by one.
    before, after = _figures(old), _figures(new)
    moved = dict.fromkeys((f for f in after if f not in before), 1)
    moved.update(dict.fromkeys((f for f in before if f not in after), -1))
    return _spread(new, period, moved)


def timing_of(histogram: Mapping[int, int]) -> Timing:
    """The :class:`Timing` of a histogram ``{bucket: count}``: nearest-rank median and 90th
    percentile, each the lowest value of its bucket."""
    n = sum(histogram.values())
    if not n:
        return Timing()
    ordered = sorted((b, c) for b, c in histogram.items() if c)

    def rank(p: int) -> int:
        wanted = max(1, math.ceil(p * n / 100))
        seen = 0
        for value, count in ordered:
            seen += count
            if seen >= wanted:
                return value
        return ordered[-1][0]  # pragma: no cover - the counts add up to n

    return Timing(count=n, median=rank(50), p90=rank(90), longest=ordered[-1][0])


class _Sums:
    """One group's counts and histograms while folding rows."""

    __slots__ = ("counts", "histograms")

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.histograms: dict[str, Counter[int]] = {h: Counter() for h in _HISTOGRAMS}

    def add(self, figure: str, at: str, value: int) -> None:
        if figure in self.histograms:
            self.histograms[figure][int(at)] += value
        else:
            self.counts[figure] += value

    def figures(self) -> HealthFigures:
        c = self.counts
        return HealthFigures(
            topics=c["topics"],
            answered=c["answered"],
            first_response=timing_of(self.histograms["first"]),
            first_member_response=timing_of(self.histograms["member"]),
            solution=timing_of(self.histograms["solution"]),
            solved=c["solved"],
            solved_by_members=c["members"],
            solved_by_staff=c["staff"],
            within_target=c["within"],
            past_target=c["past"],
        )


def fold(
    totals: Iterable[tuple[str, str, int]],
    grouped: Iterable[tuple[str, str, int]],
    by: str | None,
    kinds: tuple[str, ...] | None,
) -> tuple[HealthFigures, dict[str, HealthFigures]]:
    """The figures (without the unanswered, which age) of counter rows ``(period, subject,
    value)``: in total from ``totals`` (the ``-`` dimension's rows), and per group of ``by``
    from ``grouped`` (its dimension's rows), or from ``totals`` for kind and period."""
    total = _Sums()
    groups: dict[str, _Sums] = {}
    for period, subject, value in totals:
        figure, at, kind, _ = subject.split(_SEP, 3)
        if kinds is None or kind in kinds:
            total.add(figure, at, value)
            if by in ("kind", "period"):
                group = kind if by == "kind" else period
                groups.setdefault(group, _Sums()).add(figure, at, value)
    if by not in (None, "kind", "period"):
        for _, subject, value in grouped:
            figure, at, kind, group = subject.split(_SEP, 3)
            if kinds is None or kind in kinds:
                groups.setdefault(group, _Sums()).add(figure, at, value)
    return total.figures(), {g: groups[g].figures() for g in sorted(groups)}
