"""The read cache: standings, leaderboards and positions served from memory.

A :class:`ReadCache` is a cachetools ``TTLCache`` behind a lock: bounded in
size (least recently used entries go first), each entry kept at most ``ttl``
seconds. One cache may serve many :class:`~kudos.Community` objects (the
default one serves every community built without ``cache=``), so a
``Community`` built per request still finds what the last request read.

What a cached read guarantees (``freshness``):

* ``"checked"`` (the default): every cache hit first asks the store for the
  community's *data version*, a number every committed write moves (one
  indexed single-row read on SQL stores, nothing on :class:`~kudos.MemoryStore`).
  A read reflects every write committed before it began, by any
  ``Community``, in any process.
* ``"ttl"``: hits are served without asking the store. Writes committed
  through any ``Community`` of this process still show at once; writes of
  *other* processes show within ``ttl`` seconds. For read-heavy hosts that
  accept that bound.

Either way a result is kept under the versions it was computed at and never
served once they moved. ``ReadCache(maxsize=0)`` (or ``cache=None`` on
``Community``) turns caching off.

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
from typing import Literal, TypeVar

import attrs
import cachetools

from .errors import InvalidInput

__all__ = ["FRESHNESS", "CacheStats", "Freshness", "ReadCache", "local_version", "note_write"]

T = TypeVar("T")

Freshness = Literal["checked", "ttl"]
"""How a cache hit is checked: ``"checked"`` asks the store, ``"ttl"`` trusts the TTL."""

FRESHNESS: tuple[Freshness, ...] = ("checked", "ttl")
"""The accepted ``freshness`` settings of :class:`ReadCache`."""

# What this process wrote: a number per (store identity, community), moved after each
# commit made through any Community of the process, whichever cache it uses.
_local_versions: dict[Hashable, int] = {}
_local_lock = threading.Lock()


def local_version(namespace: Hashable) -> int:
    """How many writes to ``namespace`` (store identity, community) this process committed."""
    return _local_versions.get(namespace, 0)


def note_write(namespace: Hashable) -> None:
    """Record that a write to ``namespace`` committed in this process."""
    with _local_lock:
        _local_versions[namespace] = _local_versions.get(namespace, 0) + 1


@attrs.frozen
class CacheStats:
    """What the cache did since it was made.

    Attributes:
        hits: lookups answered from the cache.
        misses: lookups that had to compute (always, when the cache is off).
        size: results held now.
        maxsize: the most results it holds (0: off).
        ttl: seconds a result may be served after it was computed.
        clears: how many times it was emptied, or told of a committed write
            by a community it serves.
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
    """A size- and time-bounded cache of read results, never serving an outdated one.

    Args:
        maxsize: how many results to keep (0 disables the cache).
        ttl: how many seconds a result may be served after it was computed;
            with ``freshness="ttl"``, the staleness accepted for writes made by
            *other* processes.
        timer: the clock the TTL is measured on, in seconds
            (``time.monotonic``; tests pass a fake one).
        freshness: ``"checked"`` (each hit asks the store whether anything
            changed: fresh across processes) or ``"ttl"`` (hits trust the TTL
            for other processes' writes); see :mod:`kudos.cache`.

    Pass one cache to several :class:`~kudos.Community` objects to share
    results between them; read its statistics from ``community.cache.stats()``.

    Raises:
        InvalidInput: ``maxsize`` is negative, ``ttl`` is not positive or
            ``freshness`` is not one of :data:`FRESHNESS`.
    """

    def __init__(
        self,
        maxsize: int = 10_000,
        ttl: float = 5.0,
        timer: Callable[[], float] = time.monotonic,
        *,
        freshness: Freshness = "checked",
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
        if freshness not in FRESHNESS:
            raise InvalidInput(
                f"ReadCache freshness must be one of {', '.join(map(repr, FRESHNESS))}, "
                f"got {freshness!r}"
            )
        self.maxsize = maxsize
        self.ttl = float(ttl)
        self.freshness: Freshness = freshness
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
        extra = "" if self.freshness == "checked" else f", freshness={self.freshness!r}"
        return f"ReadCache(maxsize={self.maxsize}, ttl={self.ttl}{extra})"

    @property
    def enabled(self) -> bool:
        """Whether results are kept at all."""
        return self._cache is not None

    def fresh(self) -> ReadCache:
        """An empty cache with the same settings (maxsize, ttl, timer, freshness).

        >>> ReadCache(maxsize=10, ttl=1).fresh()
        ReadCache(maxsize=10, ttl=1.0)
        """
        return ReadCache(
            maxsize=self.maxsize, ttl=self.ttl, timer=self.timer, freshness=self.freshness
        )

    def get_or_compute(
        self, key: Hashable, compute: Callable[[], T], *, stamp: Hashable = None
    ) -> T:
        """The cached result for ``key``, computing and keeping it on a miss.

        ``stamp`` is the versions of the data the result depends on, read
        before computing it: a kept result is served only while the stamp
        given is the one it was computed under. A result whose computation
        overlapped a :meth:`clear` is returned but not kept.
        """
        cache = self._cache
        if cache is None:
            self._misses += 1
            return compute()
        with self._lock:
            found = cache.get(key, _MISSING)
            if found is not _MISSING and found[0] == stamp:  # type: ignore[index]
                self._hits += 1
                return found[1]  # type: ignore[index,no-any-return]
            self._misses += 1
            generation = self._generation
        value = compute()
        with self._lock:
            if generation == self._generation:
                cache[key] = (stamp, value)
        return value

    def note_write(self, namespace: Hashable) -> None:
        """Record that a write to ``namespace`` committed (counted in ``stats().clears``).

        Every result of that namespace, in every cache of the process, stops
        being served. :class:`~kudos.Community` calls it after each commit.
        """
        note_write(namespace)
        with self._lock:
            self._clears += 1

    def clear(self) -> None:
        """Forget every result."""
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


_MISSING = object()
