"""attrs validators and converters shared by the public value types.

They raise :class:`kudos.InvalidInput` (not a bare ``TypeError``) so that a
host catching ``KudosError`` catches bad input too, and every message names the
field and says what to pass instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import attrs

from .errors import InvalidInput


def identifier(inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
    """Require a non-empty ``str`` id without surrounding blanks."""
    if not isinstance(value, str):
        raise InvalidInput(
            f"{attr.name} must be a str id, got {type(value).__name__} {value!r}; "
            "pass the host's id as a string"
        )
    if not value or value != value.strip():
        raise InvalidInput(
            f"{attr.name} must be a non-empty id without surrounding spaces, got {value!r}"
        )


def optional_identifier(inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
    """Like :func:`identifier`, but ``None`` is allowed."""
    if value is not None:
        identifier(inst, attr, value)


def integer(inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
    """Require an ``int`` (never a float or a bool): points and money are whole units."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(
            f"{attr.name} must be a whole number (int), got {type(value).__name__} {value!r}; "
            "points and money are counted in integer units (e.g. pence), never floats"
        )


def non_negative(inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
    """Require an ``int`` >= 0."""
    integer(inst, attr, value)
    if value < 0:
        raise InvalidInput(f"{attr.name} must be zero or more, got {value}")


def aware_datetime(inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
    """Require ``None`` or a timezone-aware ``datetime``."""
    if value is None:
        return
    if not isinstance(value, datetime):
        raise InvalidInput(f"{attr.name} must be a datetime, got {type(value).__name__} {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(
            f"{attr.name} must be timezone-aware, got naive {value.isoformat()}; "
            "pass e.g. datetime.now(UTC) or attach a tzinfo"
        )


def to_datetime(value: Any) -> Any:
    """Accept an ISO 8601 string for a datetime field (used when events are read back)."""
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError as exc:
            raise InvalidInput(f"not an ISO 8601 date-time: {value!r}") from exc
    return value


def to_tuple(value: Any) -> Any:
    """Turn a list or other iterable of strings into a tuple; a lone ``str`` is one item."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Iterable):
        return tuple(value)
    return value


def identifiers(inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
    """Require a tuple of non-empty ``str`` ids without surrounding blanks.

    ``" roaming"`` is refused rather than counted apart from ``"roaming"``.
    """
    if not isinstance(value, tuple):
        raise InvalidInput(f"{attr.name} must be a list of strings, got {value!r}")
    for item in value:
        if not isinstance(item, str) or not item or item != item.strip():
            raise InvalidInput(
                f"{attr.name} must hold non-empty strings without surrounding spaces, got {item!r}"
            )


def one_of(*choices: str) -> Any:
    """A validator that accepts one of ``choices`` and names them all when it refuses."""

    def check(inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
        if value not in choices:
            raise InvalidInput(
                f"{attr.name} must be one of {', '.join(repr(c) for c in choices)}, got {value!r}"
            )

    return check


def text(inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
    """Require a ``str`` (free text such as a title; it may be empty)."""
    if not isinstance(value, str):
        got = f"{type(value).__name__} {value!r}"
        raise InvalidInput(f"{attr.name} must be text (a str), got {got}")


def boolean(inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
    """Require ``True`` or ``False`` (not a truthy value of another type)."""
    if not isinstance(value, bool):
        got = f"{type(value).__name__} {value!r}"
        raise InvalidInput(f"{attr.name} must be True or False, got {got}")


def require_id(name: str, value: Any) -> None:
    """Raise :class:`InvalidInput` unless ``value`` is an id (for query arguments)."""
    if not isinstance(value, str) or not value or value != value.strip():
        raise InvalidInput(
            f"{name} must be a non-empty str id without surrounding spaces, got {value!r}"
        )


def require_aware(name: str, value: Any) -> None:
    """Raise :class:`InvalidInput` unless ``value`` is ``None`` or a timezone-aware datetime."""
    if value is not None and (not isinstance(value, datetime) or value.utcoffset() is None):
        raise InvalidInput(
            f"{name} must be a timezone-aware datetime, got {value!r}; "
            "pass e.g. datetime(2026, 6, 1, tzinfo=UTC)"
        )
