"""What the channels capability answers: identities, merges, canonical answers (values)."""

from __future__ import annotations

from datetime import datetime

import attrs

__all__ = ["AnswerInconsistency", "AnswerUse", "CanonicalAnswer", "Identity", "Merge"]


@attrs.frozen(kw_only=True)
class Identity:
    """A member's handle on one channel (e.g. ``twitter``, ``@bob``)."""

    member: str
    channel: str
    handle: str
    linked_at: datetime


@attrs.frozen(kw_only=True)
class Merge:
    """One account merged into another.

    Attributes:
        member: the merged account (its later facts count for ``into``).
        into: the account kept.
        by: who merged them, if the host said.
        at: when.
        event_id: the merge's event (its ledger lines moved the balances).
    """

    member: str
    into: str
    by: str | None
    at: datetime
    event_id: str


@attrs.frozen(kw_only=True)
class CanonicalAnswer:
    """An accepted solution staff marked as the answer to a recurring problem.

    Attributes:
        reply: the canonical answer (a reply id).
        topic: the topic it was accepted on.
        problem: the problem it answers (a topic id; ``topic`` unless staff said otherwise).
        author: who wrote it (credited each time it is reused).
        marked_by: the staff member who marked it.
        marked_at: when.
        uses: how many conversations were answered with it.
    """

    reply: str
    topic: str
    problem: str
    author: str
    marked_by: str
    marked_at: datetime
    uses: int = 0


@attrs.frozen(kw_only=True)
class AnswerUse:
    """One conversation answered with a canonical answer."""

    conversation: str
    canonical: str
    problem: str
    channel: str
    by: str
    at: datetime
    event_id: str


@attrs.frozen(kw_only=True)
class AnswerInconsistency:
    """A problem answered differently on different channels.

    Attributes:
        problem: the problem (topic id).
        answers: by channel, the distinct answers (reply ids) given there, sorted.
    """

    problem: str
    answers: dict[str, tuple[str, ...]]

    @property
    def distinct(self) -> tuple[str, ...]:
        """Every distinct answer given to the problem, on any channel, sorted."""
        return tuple(sorted({a for found in self.answers.values() for a in found}))
