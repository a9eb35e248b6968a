"""The policy data of abuse: attrs classes and constants, no I/O (see :mod:`kudos.abuse`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import attrs

from .. import _validate as v
from ..errors import InvalidInput, InvalidPolicy

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


# The engine half (the handler and the detection) needs the names above.
