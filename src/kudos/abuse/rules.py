"""Abuse that does not pay: serial voting found and reversed.

Rewards paid in cash attract fraud. Stack Exchange reverses serial voting
(many votes from one member to another in a short time) once a day; kudos
does the same, under the policy's :class:`AbuseRules`:

* a **serial vote** is a kudos from one giver to one author on a calendar day
  (in the periods' time zone) on which that giver gave that author at least
  ``serial_votes`` kudos still standing;
* :meth:`AbuseAPI.reverse_serial_votes` (a daily job, after the day ended)
  records a ``SerialVotesReversed`` fact that reverses every award of those
  kudos, the author's and the giver's, each reversal referencing the entry it
  takes back; :meth:`AbuseAPI.serial_votes` lists what it would reverse, for
  review.

The votes themselves stay (a member may still withdraw one, which then takes
back nothing more); what they paid is taken back, so the ledger equals one
recorded without them.

>>> import kudos
>>> from datetime import UTC, datetime, timedelta
>>> from kudos.testing import FakeClock
>>> policy = kudos.policies.giffgaff().evolve(abuse=kudos.abuse.AbuseRules(serial_votes=3))
>>> c = kudos.Community(policy=policy, clock=FakeClock(datetime(2026, 11, 23, 9, tzinfo=UTC)))
>>> _ = c.join("alice"); _ = c.join("bob"); _ = c.post_topic("t0", author="bob")
>>> for i in range(3):
...     _ = c.post_reply(f"r{i}", topic="t0", author="alice")
...     _ = c.give_kudos(f"r{i}", giver="bob")
>>> c.standing("alice").reputation
3
>>> _ = c.clock.advance(days=1)
>>> for s in c.serial_votes("2026-11-23"):
...     print(f"{s.giver} to {s.author}: {s.votes} votes")
bob to alice: 3 votes
>>> _ = c.reverse_serial_votes("2026-11-23")
>>> c.standing("alice").reputation
0
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import attrs

from . import _validate as v
from ._base import CommunityBase
from .errors import InvalidInput, InvalidPolicy
from .events import SerialVotesReversed
from .model import Outcome

__all__ = ["ACTIONS", "AbuseAPI", "AbuseRules", "SerialVoting"]

ACTIONS: tuple[str, ...] = ()
"""Abuse handling awards nothing: it only reverses."""


def _threshold(inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 2):
        raise InvalidPolicy(f"abuse.{attr.name} must be a whole number, 2 or more, got {value!r}")


@attrs.frozen(kw_only=True)
class AbuseRules:
    """The policy's abuse section.

    Attributes:
        serial_votes: the number of kudos one giver gives one author on one
            day from which they are serial voting (all of them are reversed);
            ``None`` (the default, and both presets) turns detection off.
            Stack Exchange's own threshold is not published; 5 is a cautious start.
    """

    serial_votes: int | None = attrs.field(default=None, validator=_threshold)


@attrs.frozen(kw_only=True)
class SerialVoting:
    """One giver's serial kudos to one author on one day.

    Attributes:
        day: the calendar day (``YYYY-MM-DD``, periods' time zone).
        giver, author: member ids.
        votes: how many kudos the giver gave the author that day, still standing.
        events: the event ids of those kudos.
        reversed: whether their awards were reversed already.
    """

    day: str
    giver: str
    author: str
    votes: int
    events: tuple[str, ...]
    reversed: bool


def day_id(day: object) -> str:
    """``day`` as ``YYYY-MM-DD`` (a :class:`date` or such a string).

    Raises:
        InvalidInput: anything else, or a day outside kudos's time range.
    """
    if isinstance(day, datetime) or not isinstance(day, date | str):
        raise InvalidInput(f"day must be a date or 'YYYY-MM-DD', got {v.shown(day)}")
    try:
        parsed = day if isinstance(day, date) else date.fromisoformat(day)
    except ValueError:
        raise InvalidInput(f"day must be a date or 'YYYY-MM-DD', got {v.shown(day)}") from None
    if not v.EARLIEST.date() <= parsed < v.LATEST.date():
        raise InvalidInput(f"day {parsed.isoformat()} is outside kudos's time range")
    return parsed.isoformat()


class AbuseAPI(CommunityBase):
    """The :class:`kudos.Community` methods of this capability."""

    def serial_votes(self, day: date | str) -> list[SerialVoting]:
        """The serial kudos of ``day`` under the policy's ``abuse.serial_votes``, for review.

        Ordered by giver, then author. Empty when detection is off.

        Raises:
            InvalidInput: ``day`` is not a day.
        """
        wanted = day_id(day)
        return self._read(lambda tx: _abuse.detect(tx, self.policy, wanted))

    def reverse_serial_votes(
        self, day: date | str, *, at: datetime | None = None, event_id: str | None = None
    ) -> Outcome:
        """Reverse every award of ``day``'s serial kudos (a daily job, once the day ended).

        One fact per day: running it again changes nothing. Each reversal
        references the entry it takes back and says why.

        Raises:
            NotAllowed: the policy detects no serial voting, or the day has not ended.
            InvalidInput: ``day`` is not a day.
        """
        return self.record(SerialVotesReversed(day=day_id(day), at=at, event_id=event_id))


# The engine half (the handler and the detection) needs the names above.
from . import _abuse  # noqa: E402
