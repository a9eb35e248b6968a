"""Test helpers for hosts and for kudos itself: a fake clock and the store conformance suite.

This module's import path is public API and will not move.

>>> from datetime import UTC, datetime, timedelta
>>> clock = FakeClock(datetime(2026, 11, 23, 12, tzinfo=UTC))
>>> clock.advance(timedelta(days=1)).isoformat()
'2026-11-24T12:00:00+00:00'
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from ..errors import InvalidInput

__all__ = ["FakeClock"]


class FakeClock:
    """A clock that stands still until told to move; pass it as ``Community(clock=...)``.

    Args:
        start: the time it shows first (timezone-aware; default 2026-11-23 12:00 UTC).
    """

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2026, 11, 23, 12, tzinfo=UTC)
        if start.tzinfo is None:
            raise InvalidInput("FakeClock needs a timezone-aware start time")
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        """The current fake time."""
        return self._now

    def __repr__(self) -> str:
        return f"FakeClock({self._now.isoformat()})"

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Move forward by ``delta`` (or ``timedelta(**kwargs)``); returns the new time."""
        step = delta if delta is not None else timedelta(**kwargs)
        if step < timedelta(0):
            raise InvalidInput("a FakeClock only moves forward; use set() to jump back")
        with self._lock:
            self._now += step
            return self._now

    def set(self, when: datetime) -> datetime:
        """Jump to ``when`` (timezone-aware)."""
        if when.tzinfo is None:
            raise InvalidInput("FakeClock.set() needs a timezone-aware datetime")
        with self._lock:
            self._now = when
            return self._now
