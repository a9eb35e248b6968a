"""What response health answers (values)."""

from __future__ import annotations

from datetime import datetime

import attrs

__all__ = ["Answer", "HealthFigures", "HealthReport", "Timing", "TopicFeedback"]


@attrs.frozen(kw_only=True)
class Timing:
    """A distribution of durations in whole seconds (nearest-rank percentiles).

    In :meth:`kudos.Community.health`, durations count at three significant
    figures: exact below 1,000 s, then to 0.1%, each figure the lowest value of
    its bucket (7,213 s reads as 7,210 s); :func:`kudos.health.api.timing` of
    exact values is exact.

    Attributes:
        count: how many durations.
        median: the 50th percentile, or ``None`` when there are none.
        p90: the 90th percentile, or ``None``.
        longest: the longest, or ``None``.
    """

    count: int = 0
    median: int | None = None
    p90: int | None = None
    longest: int | None = None


@attrs.frozen(kw_only=True)
class HealthFigures:
    """Response health of a set of topics.

    Attributes:
        topics: topics posted (removed ones left out).
        answered: topics with a response (a reply by someone but their author).
        first_response: time from posting to the first response, seconds.
        first_member_response: time to the first response by a member (not staff).
        solution: time from posting to the accepted solution, seconds.
        solved: topics with an accepted solution.
        solved_by_members: of those, solved by a member's reply.
        solved_by_staff: solved by a staff member's (or moderator's) reply.
        unanswered: topics without a response.
        unanswered_age: their ages now, seconds.
        within_target: topics first answered within the policy's target (the target
            in force when each topic was posted).
        past_target: topics answered later, or still unanswered past the target.
    """

    topics: int = 0
    answered: int = 0
    first_response: Timing = Timing()
    first_member_response: Timing = Timing()
    solution: Timing = Timing()
    solved: int = 0
    solved_by_members: int = 0
    solved_by_staff: int = 0
    unanswered: int = 0
    unanswered_age: Timing = Timing()
    within_target: int = 0
    past_target: int = 0

    @property
    def peer_answer_ratio(self) -> float | None:
        """The share of solved topics solved by members (0..1), ``None`` when none was solved."""
        return self.solved_by_members / self.solved if self.solved else None

    @property
    def within_target_share(self) -> float | None:
        """The share of decided topics answered within the target, ``None`` when none is decided.

        A topic is decided once answered, or once unanswered past the target.
        """
        decided = self.within_target + self.past_target
        return self.within_target / decided if decided else None


@attrs.frozen(kw_only=True)
class HealthReport:
    """What :meth:`kudos.Community.health` found.

    Attributes:
        period: the payback period asked for (topics posted in it), or ``None``: all.
        by: the grouping asked for, or ``None``.
        target_seconds: the policy's response target now (each topic is judged
            against the target in force when it was posted).
        at: the time the ages were measured at.
        total: the figures of every topic.
        groups: the figures per group (tag, product, ...), by group name; a topic
            with several tags counts in each, one without a product (or tag) in none.
        kinds: the topic kinds asked for (e.g. the policy's ``support.solvable``),
            or ``None``: every kind.
    """

    period: str | None
    by: str | None
    target_seconds: int
    at: datetime
    total: HealthFigures
    groups: dict[str, HealthFigures] = attrs.field(factory=dict)
    kinds: tuple[str, ...] | None = None


@attrs.frozen(kw_only=True)
class Answer:
    """One response to a topic.

    Attributes:
        reply: the reply id; for a canonical answer given with ``answer_with``, the id of
            that ``answer_with`` event (``outcome.event_id``), the canonical reply being
            ``canonical``.
        author: who responded.
        at: when.
        seconds: after the topic's posting.
        staff: whether staff (or a moderator) responded.
        canonical: the canonical answer used, for an ``answer_with`` response.
    """

    reply: str
    author: str
    at: datetime
    seconds: int
    staff: bool
    canonical: str | None = None


@attrs.frozen(kw_only=True)
class TopicFeedback:
    """How well the community did on one topic.

    Attributes:
        topic: the topic id.
        kind, product, tags, channel: the topic's.
        posted_at: when it was posted.
        answers: its responses in order (removed replies left out).
        first_response: seconds to the first response, ``None`` when unanswered.
        first_member_response: seconds to the first member (non-staff) response.
        within_target: whether the first response came within the target in force
            when the topic was posted, as :meth:`kudos.Community.health` judges it
            (``None`` while unanswered and not yet past it).
        solved: whether a reply is accepted.
        solution: the accepted reply, ``solved_by`` its author, ``solved_by_staff``
            whether staff wrote it, ``time_to_solution`` seconds from posting.
        removed: whether the topic is removed (``remove_post``): its figures are kept
            as they were, and it counts in no :meth:`kudos.Community.health` figure
            until restored.
    """

    topic: str
    kind: str
    product: str | None
    tags: tuple[str, ...]
    channel: str
    posted_at: datetime
    answers: tuple[Answer, ...]
    first_response: int | None
    first_member_response: int | None
    within_target: bool | None
    solved: bool
    solution: str | None
    solved_by: str | None
    solved_by_staff: bool | None
    time_to_solution: int | None
    removed: bool = False
