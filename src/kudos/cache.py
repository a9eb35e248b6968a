"""The read cache: standings, leaderboards and positions served from memory.

A :class:`ReadCache` is a cachetools ``TTLCache`` behind a lock: bounded in
size (least recently used entries go first), each entry kept at most ``ttl``
seconds. Every write made through a ``Community`` clears the cache of that
process as soon as the write commits, so a reader in the same process never
sees a result older than the last write. Writes from *other* processes (other
app servers sharing the database) show up when the TTL expires: ``ttl`` is
the staleness a host accepts across processes. ``ReadCache(maxsize=0)`` (or
``cache=None`` on ``Community``) turns caching off.

>>> cache = ReadCache(maxsize=100, ttl=5)
>>> cache.get_or_compute(("standing", "alice"), lambda: 42)
42
>>> cache.get_or_compute(("standing", "alice"), lambda: 0)
42
>>> cache.stats()
CacheStats(hits=1, misses=1, size=1, maxsize=100, ttl=5.0, clears=0)
>>> cache.stats().hit_rate
0.5
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import TypeVar

import attrs
import cachetools

from .errors import InvalidInput

__all__ = ["CacheStats", "ReadCache"]

T = TypeVar("T")


@attrs.frozen
class CacheStats:
    """What the cache did since it was made.

    Attributes:
        hits: lookups answered from the cache.
        misses: lookups that had to compute (always, when the cache is off).
        size: results held now.
        maxsize: the most results it holds (0: off).
        ttl: seconds a result may be served after it was computed.
        clears: how many writes emptied it.
    """

    hits: int
    misses: int
    size: int
    maxsize: int
    ttl: float
    clears: int = 0

    @property
    def hit_rate(self) -> float:
        """Hits over all lookups (0.0 before any lookup)."""
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


class ReadCache:
    """A size- and time-bounded cache of read results, cleared by writes.

    Args:
        maxsize: how many results to keep (0 disables the cache).
        ttl: how many seconds a result may be served after it was computed:
            the staleness accepted for writes made by *other* processes.
        timer: the clock the TTL is measured on, in seconds
            (``time.monotonic``; tests pass a fake one).

    A :class:`~kudos.Community` keeps its own cache made with these settings
    (see :meth:`fresh`); read its statistics from ``community.cache.stats()``.

    Raises:
        InvalidInput: ``maxsize`` is negative or ``ttl`` is not positive.
    """

    def __init__(
        self,
        maxsize: int = 10_000,
        ttl: float = 5.0,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        if isinstance(maxsize, bool) or not isinstance(maxsize, int) or maxsize < 0:
            raise InvalidInput(
                f"ReadCache maxsize must be a whole number >= 0 (0 turns caching off), "
                f"got {maxsize!r}"
            )
        if isinstance(ttl, bool) or not isinstance(ttl, int | float) or not ttl > 0:
            raise InvalidInput(
                f"ReadCache ttl must be a positive number of seconds, got {ttl!r}; "
                "to turn caching off pass maxsize=0 (or cache=None to Community)"
            )
        self.maxsize = maxsize
        self.ttl = float(ttl)
        self.timer = timer
        self._cache: cachetools.TTLCache[Hashable, object] | None = (
            cachetools.TTLCache(maxsize=maxsize, ttl=self.ttl, timer=timer) if maxsize else None
        )
        self._lock = threading.Lock()
        # Bumped by clear(): a result computed while a write committed is not kept.
        self._generation = 0
        self._hits = 0
        self._misses = 0
        self._clears = 0

    def __repr__(self) -> str:
        return f"ReadCache(maxsize={self.maxsize}, ttl={self.ttl})"

    @property
    def enabled(self) -> bool:
        """Whether results are kept at all."""
        return self._cache is not None

    def fresh(self) -> ReadCache:
        """An empty cache with the same settings (maxsize, ttl, timer).

        >>> ReadCache(maxsize=10, ttl=1).fresh()
        ReadCache(maxsize=10, ttl=1.0)
        """
        return ReadCache(maxsize=self.maxsize, ttl=self.ttl, timer=self.timer)

    def get_or_compute(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The cached result for ``key``, computing and keeping it on a miss.

        A result whose computation overlapped a :meth:`clear` is returned but
        not kept: it may predate the write that cleared the cache.
        """
        cache = self._cache
        if cache is None:
            self._misses += 1
            return compute()
        with self._lock:
            try:
                value = cache[key]
            except KeyError:
                self._misses += 1
                generation = self._generation
            else:
                self._hits += 1
                return value  # type: ignore[return-value]
        value = compute()
        with self._lock:
            if generation == self._generation:
                cache[key] = value
        return value

    def clear(self) -> None:
        """Forget every result (called after each write through the community)."""
        with self._lock:
            self._generation += 1
            self._clears += 1
            if self._cache is not None:
                self._cache.clear()

    def stats(self) -> CacheStats:
        """Hits, misses, size and clears so far.

        >>> ReadCache(maxsize=0).stats().hit_rate
        0.0
        """
        with self._lock:
            if self._cache is not None:
                self._cache.expire()
            size = len(self._cache) if self._cache is not None else 0
            return CacheStats(self._hits, self._misses, size, self.maxsize, self.ttl, self._clears)
