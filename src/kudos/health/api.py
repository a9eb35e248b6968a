"""The :class:`kudos.Community` methods of response health."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from .. import _validate as v
from ..engine.base import CommunityBase
from ..engine.core import day_of, get_post
from ..errors import InvalidInput, UnknownRecord
from ..model import Doc
from ..stores.protocol import Transaction
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


def _answered(docs: Sequence[Mapping[str, Any]], target: int) -> tuple[HealthFigures, list[str]]:
    """The figures of ``docs`` that do not change with time, and the posting times (ISO) of
    the unanswered ones, which :func:`_at` ages."""
    first, first_member, solution, waiting = [], [], [], []
    by_members = by_staff = within = past = 0
    for d in docs:
        if d["first"] is not None:
            first.append(d["first"])
            if d["first"] <= target:
                within += 1
            else:
                past += 1
        else:
            waiting.append(d["posted_at"])
        if d["first_member"] is not None:
            first_member.append(d["first_member"])
        if h.solved(d):
            solution.append(d["solved_in"])
            if d["solver_staff"]:
                by_staff += 1
            else:
                by_members += 1
    figures = HealthFigures(
        topics=len(docs),
        answered=len(first),
        first_response=timing(first),
        first_member_response=timing(first_member),
        solution=timing(solution),
        solved=len(solution),
        solved_by_members=by_members,
        solved_by_staff=by_staff,
        within_target=within,
        past_target=past,
    )
    return figures, waiting


def _at(part: tuple[HealthFigures, list[str]], now: datetime, target: int) -> HealthFigures:
    """The figures with the unanswered topics aged at ``now``."""
    figures, waiting = part
    ages = [h._seconds(posted, now) for posted in waiting]
    return attrs.evolve(
        figures,
        unanswered=len(ages),
        unanswered_age=timing(ages),
        past_target=figures.past_target + sum(1 for age in ages if age > target),
    )


def _kinds(kinds: Iterable[str] | None) -> tuple[str, ...] | None:
    """``kinds`` as a sorted tuple of distinct ids (``None`` stays ``None``)."""
    if kinds is None:
        return None
    if isinstance(kinds, str) or not isinstance(kinds, Iterable):
        raise InvalidInput(
            "kinds must be a list of topic kinds, e.g. ['question', 'problem'], "
            f"got {v.shown(kinds)}"
        )
    found = list(kinds)
    for kind in found:
        v.require_id("kind", kind)
    return tuple(sorted(set(found)))


class HealthAPI(CommunityBase):
    """The :class:`kudos.Community` methods of this capability."""

    def _groups_of(self, d: Mapping[str, Any], by: str) -> Iterable[str]:
        if by == "tag":
            return [str(t) for t in d["tags"]]
        if by in ("product",):
            return [str(d["product"])] if d["product"] is not None else []
        if by in ("kind", "channel"):
            return [str(d[by])]
        at = datetime.fromisoformat(d["posted_at"])
        if by == "period":
            return [self.policy.periods.period_of(at)]
        day = day_of(self.policy, at)
        return [day[:7] if by == "month" else day]

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
        were answered within the policy's ``health.target_seconds``. Read from
        per-topic records kept as facts happen (no replay of the log).

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
                not a collection of ids.
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
        target = self.policy.health.target_seconds

        Part = tuple[HealthFigures, list[str]]

        def read(tx: Transaction) -> tuple[Part, dict[str, Part]]:
            docs = [
                d.data
                for d in tx.find(h.KIND, ref=period)
                if d.status != "removed" and (wanted is None or d.data["kind"] in wanted)
            ]
            groups: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
            if by is not None:
                for d in docs:
                    for group in dict.fromkeys(self._groups_of(d, by)):
                        groups[group].append(d)
            return _answered(docs, target), {
                g: _answered(found, target) for g, found in sorted(groups.items())
            }

        # What does not age is cached until the next write; the unanswered are aged now.
        total, groups = self._cached(("health", period, by, target, wanted), read)
        return HealthReport(
            period=period,
            by=by,
            target_seconds=target,
            at=now,
            total=_at(total, now, target),
            groups={g: _at(part, now, target) for g, part in groups.items()},
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
        target = self.policy.health.target_seconds

        def read(tx: Transaction) -> TopicFeedback:
            doc = tx.get(h.KIND, topic)
            if doc is None:
                get_post(tx, topic)
                raise UnknownRecord(f"post {topic!r} is a reply; ask for its topic's feedback")
            return _feedback(doc, now, target)

        return self._read(read)


def _feedback(doc: Doc, now: datetime, target: int) -> TopicFeedback:
    d = doc.data
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
        for r in d["responses"]
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
    )
