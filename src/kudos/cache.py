"""The read cache: standings and leaderboards served from memory.

A :class:`ReadCache` is a cachetools ``TTLCache``: bounded in size, each entry
kept at most ``ttl`` seconds. Every write made through a ``Community`` clears
the cache of that process at once; writes from *other* processes (other app
servers) show up when the TTL expires, so ``ttl`` is the staleness a host
accepts. ``ReadCache(maxsize=0)`` (or ``cache=None`` on ``Community``) turns
caching off.

>>> cache = ReadCache(maxsize=100, ttl=5)
>>> cache.get_or_compute(("standing", "alice"), lambda: 42)
42
>>> cache.get_or_compute(("standing", "alice"), lambda: 0)
42
>>> cache.stats()
CacheStats(hits=1, misses=1, size=1, maxsize=100, ttl=5.0)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import TypeVar

import attrs
import cachetools

__all__ = ["CacheStats", "ReadCache"]

T = TypeVar("T")


@attrs.frozen
class CacheStats:
    """Hits and misses since the cache was made, and its current size."""

    hits: int
    misses: int
    size: int
    maxsize: int
    ttl: float

    @property
    def hit_rate(self) -> float:
        """Hits over all lookups (0.0 before any lookup)."""
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


class ReadCache:
    """A size- and time-bounded cache of read results, cleared by writes.

    Args:
        maxsize: how many results to keep (0 disables the cache).
        ttl: how many seconds a result may be served after it was computed.
        timer: the clock the TTL is measured on (``time.monotonic``).
    """

    def __init__(
        self, maxsize: int = 10_000, ttl: float = 5.0, timer: Callable[[], float] = time.monotonic
    ) -> None:
        self.maxsize = maxsize
        self.ttl = float(ttl)
        self._cache: cachetools.TTLCache[Hashable, object] | None = (
            cachetools.TTLCache(maxsize=maxsize, ttl=ttl, timer=timer) if maxsize > 0 else None
        )
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0

    def get_or_compute(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The cached result for ``key``, computing and keeping it on a miss."""
        if self._cache is None:
            return compute()
        with self._lock:
            try:
                value = self._cache[key]
            except KeyError:
                self._misses += 1
            else:
                self._hits += 1
                return value  # type: ignore[return-value]
        value = compute()
        with self._lock:
            self._cache[key] = value
        return value

    def clear(self) -> None:
        """Forget every result (called after each write through the community)."""
        if self._cache is not None:
            with self._lock:
                self._cache.clear()

    def stats(self) -> CacheStats:
        """Hits, misses and size so far."""
        size = len(self._cache) if self._cache is not None else 0
        return CacheStats(self._hits, self._misses, size, self.maxsize, self.ttl)
