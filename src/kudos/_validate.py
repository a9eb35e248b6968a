"""The one set of input rules kudos applies at its public boundary.

Every fact and every query argument passes through these checks before a
store sees it, so every store (memory, SQLite, PostgreSQL, a host's own)
refuses the same input with the same :class:`kudos.InvalidInput`, and nothing
is written. The rules, documented in ``docs/concepts.md``:

* **ids** (members, posts, tags, periods, event ids, ...): a ``str`` of 1 to
  :data:`MAX_ID_LENGTH` characters, no surrounding whitespace, no control
  characters (``NUL``, newlines, ...) and no lone surrogates (which no
  database can store as UTF-8);
* **free text** (titles, notes): a ``str`` of at most :data:`MAX_TEXT_LENGTH`
  characters without ``NUL`` or lone surrogates;
* **lists** of ids (tags, fingerprints): at most :data:`MAX_ITEMS`, and a set:
  a repeated item counts once;
* **amounts** (points, reputation, money): an ``int`` no larger in size than
  :data:`MAX_AMOUNT`; every balance and counter stays within
  :data:`MAX_BALANCE` (the engine refuses a fact that would take one past it);
* **times**: a timezone-aware ``datetime`` from :data:`EARLIEST` up to (not
  including) :data:`LATEST`; a fact may be dated at most :data:`CLOCK_SKEW`
  after the community clock's now.

Messages name the field, say what to pass instead, and show at most
:data:`SHOWN` characters of the value that was refused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import attrs

from .errors import InvalidInput

MAX_ID_LENGTH = 100
"""The longest id, in characters.

Ids are index keys on every store (PostgreSQL's btree takes about 2,700 bytes a
row), and several meet in one key (a community, a member and a tag's scope), so
an id is kept to what any UTF-8 text of this length fits into four times over.
"""

MAX_TEXT_LENGTH = 10_000
"""The longest free text (a title, a note), in characters."""

MAX_ITEMS = 50
"""The most items in a list of ids (a topic's tags, a member's fingerprints)."""

MAX_AMOUNT = 10**12
"""The largest size of one amount, in integer units (a trillion pence: ten billion pounds)."""

MAX_BALANCE = 10**15
"""The largest size of any balance or counter; far below 2**53 and 2**63, so exact everywhere."""

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
"""The earliest time kudos takes."""

LATEST = datetime(3000, 1, 1, tzinfo=UTC)
"""The first time kudos no longer takes (queries included)."""

CLOCK_SKEW = timedelta(minutes=5)
"""How far after the community clock's now a fact may be dated (clocks of hosts differ)."""

SHOWN = 60
"""The most characters of a refused value an error message repeats."""


def shown(value: Any) -> str:
    """``repr(value)``, cut to :data:`SHOWN` characters so a message never echoes a huge input.

    >>> shown("bob")
    "'bob'"
    >>> shown("x" * 10_000)[-23:]
    'x... (10002 characters)'
    """
    try:
        # A time as ISO 8601 (what a host writes and reads), not datetime.datetime(...).
        text = value.isoformat() if isinstance(value, datetime) else repr(value)
    except Exception:  # a hostile __repr__ must not replace the real complaint
        text = f"<{type(value).__name__}>"
    return cut(text)


def cut(text: str, limit: int = SHOWN) -> str:
    """``text``, or its first ``limit`` characters and how long it was.

    >>> cut("a" * 100, 10)
    'aaaaaaaaa... (100 characters)'
    """
    if len(text) <= limit:
        return text
    return f"{text[: limit - 1]}... ({len(text)} characters)"


def _typed(value: Any) -> str:
    return f"{type(value).__name__} {shown(value)}"


def _bad_character(value: str, *, controls: bool) -> str | None:
    for ch in value:
        code = ord(ch)
        if 0xD800 <= code <= 0xDFFF:
            return f"a lone surrogate (U+{code:04X})"
        if code == 0 or (controls and (code < 0x20 or code == 0x7F)):
            return f"a control character (U+{code:04X})"
    return None


def check_id(name: str, value: Any, limit: int = MAX_ID_LENGTH) -> str:
    """Return ``value`` if it is an id (see the module's rules; at most ``limit``
    characters), else raise InvalidInput."""
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a str id, got {_typed(value)}; pass the host's id")
    if not value or value != value.strip():
        raise InvalidInput(
            f"{name} must be a non-empty id without surrounding spaces, got {shown(value)}"
        )
    if len(value) > limit:
        raise InvalidInput(
            f"{name} must be at most {limit} characters, got {len(value)}: {shown(value)}"
        )
    bad = _bad_character(value, controls=True)
    if bad is not None:
        raise InvalidInput(f"{name} must not hold {bad}, got {shown(value)}")
    return value


def check_optional_id(name: str, value: Any) -> str | None:
    """:func:`check_id`, with ``None`` allowed."""
    return None if value is None else check_id(name, value)


def check_text(name: str, value: Any) -> str:
    """Return ``value`` if it is free text (see the module's rules), else raise."""
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be text (a str), got {_typed(value)}")
    if len(value) > MAX_TEXT_LENGTH:
        raise InvalidInput(f"{name} must be at most {MAX_TEXT_LENGTH} characters, got {len(value)}")
    bad = _bad_character(value, controls=False)
    if bad is not None:
        raise InvalidInput(f"{name} must not hold {bad}, got {shown(value)}")
    return value


def check_amount(name: str, value: Any) -> int:
    """Return ``value`` if it is an ``int`` amount within :data:`MAX_AMOUNT` in size."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(
            f"{name} must be a whole number (int), got {_typed(value)}; "
            "points and money are counted in integer units (e.g. pence), never floats"
        )
    if abs(value) > MAX_AMOUNT:
        raise InvalidInput(
            f"{name} must be between -{MAX_AMOUNT} and {MAX_AMOUNT} (kudos's bound on one "
            f"amount), got {shown(value)}"
        )
    return value


def check_count(
    name: str, value: Any, *, optional: bool = False, what: str = "an int"
) -> int | None:
    """Return ``value`` if it is an ``int`` from 0 to :data:`MAX_BALANCE` (a limit, a cursor)."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_BALANCE:
        allowed = "None or " if optional else ""
        raise InvalidInput(
            f"{name} must be {allowed}{what} (an int, 0 to {MAX_BALANCE}), got {_typed(value)}"
        )
    return value


def check_flag(name: str, value: Any) -> bool:
    """Return ``value`` if it is ``True`` or ``False`` (not a truthy value of another type)."""
    if not isinstance(value, bool):
        raise InvalidInput(f"{name} must be True or False, got {_typed(value)}")
    return value


def check_time(name: str, value: Any) -> datetime:
    """Return ``value`` if it is an aware ``datetime`` from :data:`EARLIEST` to :data:`LATEST`."""
    if not isinstance(value, datetime):
        raise InvalidInput(
            f"{name} must be a datetime (timezone-aware), got {_typed(value)}; "
            "pass e.g. datetime(2026, 6, 1, tzinfo=UTC)"
        )
    try:
        offset = value.utcoffset()
        utc = value.astimezone(UTC) if offset is not None else None
    except (OverflowError, ValueError, TypeError, ArithmeticError):
        utc, offset = None, timedelta(0)
        naive = False
    else:
        naive = offset is None
    if naive:
        raise InvalidInput(
            f"{name} must be timezone-aware, got naive {shown(value)}; "
            "pass e.g. datetime.now(UTC) or attach a tzinfo"
        )
    if utc is None or not EARLIEST <= utc < LATEST:
        raise InvalidInput(
            f"{name} must be from {EARLIEST.isoformat()} up to {LATEST.isoformat()}, "
            f"got {shown(value)}"
        )
    return value


def check_optional_time(name: str, value: Any) -> datetime | None:
    """:func:`check_time`, with ``None`` allowed."""
    return None if value is None else check_time(name, value)


# --- attrs validators and converters (the events use these) ---------------------------


def identifier(inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
    """An attrs validator: :func:`check_id`."""
    check_id(attr.name, value)


def optional_identifier(inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
    """An attrs validator: :func:`check_id`, ``None`` allowed."""
    check_optional_id(attr.name, value)


def integer(inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
    """An attrs validator: :func:`check_amount`."""
    check_amount(attr.name, value)


def aware_datetime(inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
    """An attrs validator: ``None`` (the clock's now) or :func:`check_time`."""
    check_optional_time(attr.name, value)


def to_datetime(value: Any) -> Any:
    """Turn ISO 8601 text into a datetime: only for a payload read back (a stored or imported
    event, see :func:`kudos.events.event_from_payload`); the public API takes datetimes."""
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError as exc:
            raise InvalidInput(f"not an ISO 8601 date-time: {shown(value)}") from exc
    return value


def to_tuple(value: Any) -> Any:
    """Turn a list or other iterable of strings into a tuple; a lone ``str`` is one item.

    A repeated item is kept once, in the order first seen: tags and
    fingerprints are sets.
    """
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Iterable) and not isinstance(value, bytes | bytearray | dict):
        items = list(value)
        try:
            return tuple(dict.fromkeys(items))
        except TypeError:  # an unhashable item: the validator names it
            return tuple(items)
    return value


def sorted_set(items: Iterable[Any]) -> tuple[Any, ...]:
    """``items`` as a set in its one canonical order: sorted, each item once.

    What a policy's lists of names that are sets (actions, kinds, channels,
    feelings, ...) are converted with, so two policies listing the same names
    in another order are equal and have one fingerprint. Items that are not
    all ``str`` are kept as given, for the field's validator to name.

    >>> sorted_set(["web", "chat", "web"])
    ('chat', 'web')
    """
    found = tuple(items)
    if all(isinstance(item, str) for item in found):
        return tuple(sorted(set(found)))
    return found


def identifiers(inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
    """An attrs validator: a tuple of ids (:func:`check_id` each).

    ``" roaming"`` is refused rather than counted apart from ``"roaming"``.
    """
    if not isinstance(value, tuple):
        raise InvalidInput(f"{attr.name} must be a list of strings, got {_typed(value)}")
    if len(value) > MAX_ITEMS:
        raise InvalidInput(f"{attr.name} takes at most {MAX_ITEMS} items, got {len(value)}")
    for item in value:
        if not isinstance(item, str) or not item or item != item.strip():
            raise InvalidInput(
                f"{attr.name} must hold non-empty strings without surrounding spaces, "
                f"got {shown(item)}"
            )
        check_id(attr.name, item)


def iso_day(inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
    """An attrs validator: a calendar day ``YYYY-MM-DD`` within kudos's time range."""
    try:
        day = date.fromisoformat(value)
    except (TypeError, ValueError):
        day = None
    if day is None or len(value) != 10 or not EARLIEST.date() <= day < LATEST.date():
        raise InvalidInput(f"{attr.name} must be a day like '2026-11-23', got {shown(value)}")


def json_object(inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
    """An attrs validator: a ``dict`` every store keeps as JSON (str keys, finite numbers)."""
    try:
        ok = (
            isinstance(value, dict)
            and all(isinstance(k, str) for k in value)
            and bool(json.dumps(value, allow_nan=False))
        )
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise InvalidInput(f"{attr.name} must be a JSON object, got {shown(value)}")


def one_of(*choices: str) -> Any:
    """A validator that accepts one of ``choices`` and names them all when it refuses."""

    def check(inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, str) or value not in choices:
            raise InvalidInput(
                f"{attr.name} must be one of {', '.join(repr(c) for c in choices)}, "
                f"got {shown(value)}"
            )

    return check


def text(inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
    """An attrs validator: :func:`check_text` (free text such as a title; it may be empty)."""
    check_text(attr.name, value)


_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")


def body_prefix(value: Any) -> Any:
    """An attrs converter: the first :data:`MAX_TEXT_LENGTH` characters of a long body.

    A longer text is cut, after checking all of it for NUL bytes and lone
    surrogates (refused with :class:`InvalidInput`, as :func:`check_text` refuses
    them); anything that is not a ``str`` is passed on for the validator to refuse.
    """
    if not isinstance(value, str) or len(value) <= MAX_TEXT_LENGTH:
        return value
    found = _BAD_TEXT.search(value)
    if found is not None:
        bad = _bad_character(found.group(), controls=False)
        raise InvalidInput(f"body must not hold {bad}, got {shown(value)}")
    return value[:MAX_TEXT_LENGTH]


def reason(inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
    """An attrs validator: :func:`check_text`, and not empty or blank (a reason says why)."""
    check_text(attr.name, value)
    if not value.strip():
        raise InvalidInput(f"{attr.name} must say why (not empty), got {shown(value)}")


def boolean(inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
    """An attrs validator: :func:`check_flag`."""
    check_flag(attr.name, value)


def require_id(name: str, value: Any) -> None:
    """Raise :class:`InvalidInput` unless ``value`` is an id (for query arguments)."""
    check_id(name, value)


def require_aware(name: str, value: Any) -> None:
    """Raise :class:`InvalidInput` unless ``value`` is ``None`` or a time kudos takes."""
    check_optional_time(name, value)
