"""The :class:`kudos.Community` methods of response health."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import attrs

from .. import _validate as v
from ..engine.base import CommunityBase
from ..engine.core import day_of, get_post
from ..errors import InvalidInput, UnknownRecord
from ..events import TOPIC_KINDS
from ..model import Doc
from ..stores.protocol import Transaction
from . import figures as f
from . import handlers as h
from .model import Answer, HealthFigures, HealthReport, Timing, TopicFeedback
from .rules import GROUPINGS

__all__ = ["HealthAPI", "timing"]


def timing(values: Iterable[int]) -> Timing:
    """The :class:`Timing` of ``values`` (seconds): nearest-rank median and 90th percentile.

    >>> timing([30, 10, 20, 40])
    Timing(count=4, median=20, p90=40, longest=40)
    """
    ordered = sorted(values)
    n = len(ordered)
    if not n:
        return Timing()

    def rank(p: int) -> int:
        return ordered[max(0, math.ceil(p * n / 100) - 1)]

    return Timing(count=n, median=rank(50), p90=rank(90), longest=ordered[-1])


_Waiting = list[tuple[str, int]]
"""The unanswered topics of a group: (posting time ISO, the target it is judged against)."""
_Part = tuple[HealthFigures, _Waiting]
_ALL = 2**62
"""A ``top()`` limit no aggregate reaches."""


def _at(part: _Part, now: datetime) -> HealthFigures:
    """The figures with the unanswered topics aged at ``now``."""
    figures, waiting = part
    ages = [(h._seconds(posted, now), target) for posted, target in waiting]
    return attrs.evolve(
        figures,
        unanswered=len(ages),
        unanswered_age=timing(age for age, _ in ages),
        past_target=figures.past_target + sum(1 for age, target in ages if age > target),
    )


def _rows(tx: Transaction, periods: Sequence[str], dimension: str) -> list[tuple[str, str, int]]:
    """The aggregate counters of ``periods`` along ``dimension``: (period, subject, value)."""
    return [
        (p, subject, value)
        for p in periods
        for subject, value in tx.top(f.METRIC, f.scope(p, dimension), limit=_ALL)
    ]


def _kinds(kinds: Iterable[str] | None) -> tuple[str, ...] | None:
    """``kinds`` as a sorted tuple of distinct topic kinds (``None`` stays ``None``).

    Raises:
        InvalidInput: ``kinds`` is text, bytes or not a collection, or holds a value that is
            not a topic kind (the message names the allowed kinds).
    """
    if kinds is None:
        return None
    if isinstance(kinds, str | bytes | bytearray | memoryview) or not isinstance(kinds, Iterable):
        raise InvalidInput(
            "kinds must be a list of topic kinds, e.g. ['question', 'problem'], "
            f"not a single value; got {type(kinds).__name__} {v.shown(kinds)}"
        )
    found = list(kinds)
    for kind in found:
        if not isinstance(kind, str) or kind not in TOPIC_KINDS:
            raise InvalidInput(
                f"kinds must be topic kinds, one of {', '.join(repr(k) for k in TOPIC_KINDS)}; "
                f"got {v.shown(kind)}"
            )
    return tuple(sorted(set(found)))


class HealthAPI(CommunityBase):
    """The :class:`kudos.Community` methods of this capability."""

    def health(
        self,
        period: str | None = None,
        by: str | None = None,
        *,
        kinds: Iterable[str] | None = None,
    ) -> HealthReport:
        """Response health: how fast and how well topics are answered.

        Time to first response (by anyone but the author) and to the first
        member (non-staff) response, time to the accepted solution (median and
        90th percentile, seconds), topics solved by members vs staff (the
        peer-answer ratio), unanswered topics and their age now, and how many
        were answered within the policy's ``health.target_seconds`` (each topic
        against the target in force when it was posted).

        What it reads does not grow with the topics: counters kept as facts
        happen (:mod:`kudos.health.figures`), one row per period, kind, group
        and figure or histogram bucket, plus the records of the topics still
        unanswered (the ``open`` status index), whose ages depend on now. The
        durations are counted in buckets of three significant figures: exact to
        the second below 1,000 s, then to 0.1%; ``median``, ``p90`` and
        ``longest`` are nearest-rank and read as the lowest value of their
        bucket (7,213 s reads as 7,210 s). The ages of the unanswered are exact.

        Args:
            period: only topics posted in this payback period (e.g. ``"2026-H2"``).
            by: also group by ``"tag"``, ``"product"``, ``"kind"``, ``"channel"``,
                ``"period"``, ``"month"`` (``YYYY-MM``) or ``"day"`` (``YYYY-MM-DD``),
                in the periods' time zone. By tag, a topic with several tags counts
                in each and an untagged one in none (it still counts in ``total``).
            kinds: only topics of these kinds, e.g. ``policy.support.solvable`` so that
                praise, ideas and talk (which expect no answer) do not count as
                unanswered; default every kind.

        Raises:
            InvalidInput: ``by`` is not one of those, ``period`` not an id, or ``kinds``
                not a collection of topic kinds (text or bytes for a list, or an unknown
                kind such as ``"questions"``: the message names the allowed kinds).
            UnknownRecord: ``period`` is not a period of the policy (as
                :meth:`statement` refuses it).
        """
        v.check_optional_id("period", period)
        wanted = _kinds(kinds)
        if period is not None:
            self.policy.periods.bounds(period)
        if by is not None and by not in GROUPINGS:
            raise InvalidInput(
                f"health() groups by {', '.join(repr(g) for g in GROUPINGS)}, got {v.shown(by)}"
            )
        now = self.now()

        def read(tx: Transaction) -> tuple[int, _Part, dict[str, _Part]]:
            # The target in force, read after this transaction refreshed the policy.
            target = self._policies.current().health.target_seconds
            if period is not None:
                periods = [period]
            else:
                periods = sorted(p for p, _ in tx.top(f.METRIC, f.PERIODS_SCOPE, limit=_ALL))
            dimension = f.dimension_of(by)
            totals = _rows(tx, periods, "-")
            grouped = totals if dimension == "-" else _rows(tx, periods, dimension)
            total, groups = f.fold(totals, grouped, by, wanted)
            waiting: _Waiting = []
            waiting_in: dict[str, _Waiting] = defaultdict(list)
            for doc in tx.find(h.KIND, ref=period, status="open"):
                d = doc.data
                if wanted is not None and d["kind"] not in wanted:
                    continue
                one = (d["posted_at"], d.get("target", target))
                waiting.append(one)
                if by is not None and doc.ref is not None:
                    if "day" not in d:  # kept before the counters were
                        d = {**d, "day": day_of(self.policy, datetime.fromisoformat(one[0]))}
                    for group in f.groups_of(d, doc.ref, by):
                        waiting_in[group].append(one)
            return (
                target,
                (total, waiting),
                {g: (figures, waiting_in.get(g, [])) for g, figures in groups.items()},
            )

        # What does not age is cached until the next write; the unanswered are aged now.
        target, total, groups = self._cached(("health", period, by, wanted), read)
        return HealthReport(
            period=period,
            by=by,
            target_seconds=target,
            at=now,
            total=_at(total, now),
            groups={g: _at(part, now) for g, part in groups.items()},
            kinds=wanted,
        )

    def topic_feedback(self, topic: str) -> TopicFeedback:
        """How well the community did on ``topic``: its answers, the time to the first
        response, whether it is solved and by whom, in one call.

        Raises:
            UnknownPost: no such post.
            UnknownRecord: the post is a reply, not a topic.
        """
        v.require_id("topic", topic)
        now = self.now()

        def read(tx: Transaction) -> TopicFeedback:
            doc = tx.get(h.KIND, topic)
            if doc is None:
                get_post(tx, topic)
                raise UnknownRecord(f"post {topic!r} is a reply; ask for its topic's feedback")
            # A record kept before targets were stored is judged against the target in force.
            target = self._policies.current().health.target_seconds
            return _feedback(doc, h.responses(tx, topic, doc.data), now, target)

        return self._read(read)


def _feedback(
    doc: Doc, responses: list[list[Any]], now: datetime, current_target: int
) -> TopicFeedback:
    """The feedback of a topic's record and its ``responses`` (:func:`handlers.responses`),
    judged against the target stored on it (the one in force when the topic was posted;
    ``current_target`` only for records kept before targets were stored)."""
    d = doc.data
    target = d.get("target", current_target)
    first = d["first"]
    if first is not None:
        within: bool | None = first <= target
    else:
        within = False if h._seconds(d["posted_at"], now) > target else None
    answers = tuple(
        Answer(
            reply=r[h._ID],
            author=r[h._AUTHOR],
            at=datetime.fromisoformat(r[h._AT]),
            seconds=r[h._SECONDS],
            staff=bool(r[h._STAFF]),
            canonical=r[h._CANONICAL],
        )
        for r in responses
        if r[h._LIVE]
    )
    return TopicFeedback(
        topic=doc.key,
        kind=d["kind"],
        product=d["product"],
        tags=tuple(d["tags"]),
        channel=d["channel"],
        posted_at=datetime.fromisoformat(d["posted_at"]),
        answers=answers,
        first_response=first,
        first_member_response=d["first_member"],
        within_target=within,
        solved=h.solved(d),
        solution=d["solution"] if h.solved(d) else None,
        solved_by=d["solver"] if h.solved(d) else None,
        solved_by_staff=d["solver_staff"] if h.solved(d) else None,
        time_to_solution=d["solved_in"] if h.solved(d) else None,
        removed=bool(d["removed"]),
    )
