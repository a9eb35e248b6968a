"""The :class:`~kudos.Community` methods of leaderboards (see :mod:`kudos.leaderboards`)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import attrs

from .. import _validate as v
from ..engine import core as engine
from ..engine.base import CommunityBase
from ..errors import InvalidInput
from ..stores.protocol import Transaction
from .rules import METRICS, STAFF_METRIC, LeaderboardPosition, LeaderboardRow

if TYPE_CHECKING:
    from ..policy import Policy


# "All rows" for Transaction.top(); a window reads every row of its days.
_ALL = 2**31 - 1
# First chunk when reading a tie group row by row (doubles each time).
_CHUNK = 64
# Window pages ending deeper than this rank the whole window once instead.
_WINDOW_TOP = 1000
_WINDOW = re.compile(r"\s*(\d{1,6})\s*d\s*")


# --- resolving a board ---------------------------------------------------------


@attrs.frozen
class _Board:
    """One board: a metric over a counter scope, or over a window of days."""

    metric: str
    scope: str | None
    days: tuple[str, ...] = ()

    @property
    def counter(self) -> str:
        """The counter the board reads (``points`` boards read points earned)."""
        return engine.counter_for(self.metric)

    @property
    def key(self) -> tuple[Any, ...]:
        if self.days:
            return (self.metric, "window", self.days[0], len(self.days))
        return (self.metric, self.scope)


def _window_days(window: object, longest: int) -> int:
    if isinstance(window, timedelta):
        if window <= timedelta(0) or window % timedelta(days=1):
            raise InvalidInput(
                f"window must be a whole number of days, got {window!r}; "
                "pass e.g. timedelta(days=7) or '7d'"
            )
        days = window // timedelta(days=1)
    elif isinstance(window, str) and (match := _WINDOW.fullmatch(window)):
        days = int(match[1])
    else:
        raise InvalidInput(
            f"window must be a number of days like '7d' or '30d', or a timedelta of whole "
            f"days, got {window!r}"
        )
    if not 1 <= days <= longest:
        raise InvalidInput(
            f"a window of {days} days is outside 1-{longest} days "
            f"(the policy's leaderboards.max_window_days); for longer spans rank by "
            "period=... instead"
        )
    return days


def _tie_counter(policy: Policy) -> str | None:
    """The counter that breaks ties on every board of ``policy``, if any."""
    tie = policy.leaderboards.tie_break
    return engine.counter_for(tie) if tie else None


def _check_page(limit: object, offset: object) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
        raise InvalidInput(f"limit must be a whole number from 1 to 1000, got {limit!r}")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidInput(f"offset must be a whole number >= 0, got {offset!r}")


# --- reading ranks through the store ----------------------------------------------


def _page_tied(
    tx: Transaction, board: _Board, tie: str, limit: int, offset: int, exclude: Sequence[str]
) -> list[tuple[str, int]]:
    """A page when ties are broken by ``tie``: every tie group the page touches is read whole."""
    metric, scope = board.counter, board.scope
    assert scope is not None
    end = offset + limit
    rows = tx.top(metric, scope, limit=end, exclude=exclude)
    if rows and len(rows) == end:
        last, step = rows[-1][1], max(limit, _CHUNK)
        while True:
            more = tx.top(metric, scope, limit=step, offset=len(rows), exclude=exclude)
            rows.extend(more)
            if len(more) < step or more[-1][1] != last:
                break
            step *= 2
    counts = Counter(v for _, v in rows)
    shown = {v for _, v in rows[offset:end] if counts[v] > 1}
    ties = {m: tx.counter(tie, scope, m) for m, v in rows if v in shown}
    rows.sort(key=lambda r: (-r[1], -ties.get(r[0], 0), r[0]))
    return rows[offset:end]


def _position_tied(
    tx: Transaction,
    board: _Board,
    tie: str,
    member: str,
    position: int,
    value: int,
    exclude: Sequence[str],
) -> int:
    """``member``'s position when ties are broken by ``tie``: reads its tie group."""
    metric, scope = board.counter, board.scope
    assert scope is not None

    def read(offset: int, limit: int) -> list[tuple[str, int]]:
        return tx.top(metric, scope, limit=limit, offset=offset, exclude=exclude)

    index = position - 1
    before: list[str] = []
    start, step = index, _CHUNK
    while start > 0:
        low = max(0, start - step)
        chunk = read(low, start - low)
        same = [m for m, v in chunk if v == value]
        before = same + before
        if len(same) < len(chunk):
            break
        start, step = low, step * 2
    after: list[str] = []
    stop, step = index + 1, _CHUNK
    while True:
        chunk = read(stop, step)
        same = [m for m, v in chunk if v == value]
        after += same
        if len(same) < len(chunk) or len(chunk) < step:
            break
        stop, step = stop + step, step * 2
    mine = (-tx.counter(tie, scope, member), member)
    ahead = sum(1 for m in before + after if (-tx.counter(tie, scope, m), m) < mine)
    return index - len(before) + 1 + ahead


def _window_totals(tx: Transaction, metric: str, days: Sequence[str]) -> dict[str, int]:
    """Each member's sum of ``metric`` over ``days``: reads only those days' counter rows."""
    totals: Counter[str] = Counter()
    for day in days:
        for member, value in tx.top(metric, f"day:{day}", limit=_ALL):
            totals[member] += value
    return {m: v for m, v in totals.items() if v}


def _window_top(
    tx: Transaction,
    metric: str,
    days: Sequence[str],
    n: int,
    exclude: Sequence[str],
    tie: str | None = None,
) -> list[tuple[str, int]]:
    """The first ``n`` rows of a window board, reading only the top of each day.

    Reads the ``depth`` best rows of every day. A member absent from a day's
    rows has no row there or at most the last value read (zero when the day was
    read to its end, or when that value is negative), which bounds every
    member's total from above. The members whose bound could reach the
    ``n``-th place have their exact total read (one query each,
    :meth:`Transaction.counters_of`); when the ``n``-th exact total beats the
    bound of everyone unseen, the page is exact.
    Otherwise the depth grows fourfold and it tries again.
    """
    scopes = [f"day:{d}" for d in days]
    depth = max(_CHUNK, 2 * n)
    while True:
        lists = [tx.top(metric, scope, limit=depth, exclude=exclude) for scope in scopes]
        complete = [len(rows) < depth for rows in lists]
        # A member missing from a day's rows has no row there (0) or at most its last value.
        floors = [
            0 if done else max(0, rows[-1][1]) for rows, done in zip(lists, complete, strict=True)
        ]
        unseen_bound = sum(floors)
        seen: Counter[str] = Counter()
        counted: Counter[str] = Counter()  # the floors of the days a member was seen on
        for rows, floor in zip(lists, floors, strict=True):
            for member, value in rows:
                seen[member] += value
                counted[member] += floor
        if all(complete):
            exact = {m: (v, 0) for m, v in seen.items()}
            if tie:
                exact = {
                    m: (v, _window_total(tx, tie, scopes, m)[0]) for m, (v, _) in exact.items()
                }
        else:
            bound = {m: v + unseen_bound - counted[m] for m, v in seen.items()}
            exact = {}
            best: list[int] = []  # exact positive totals, kept sorted descending
            for member in sorted(bound, key=bound.__getitem__, reverse=True):
                if len(best) >= n and bound[member] < best[n - 1]:
                    break
                exact[member] = _window_total(tx, metric, scopes, member, tie)
                if exact[member][0] > 0:
                    best.append(exact[member][0])
                    best.sort(reverse=True)
        ranked = sorted(
            ((m, v, t) for m, (v, t) in exact.items() if v > 0),
            key=lambda r: (-r[1], -r[2], r[0]),
        )
        if all(complete) or (len(ranked) >= n and ranked[n - 1][1] > unseen_bound):
            return [(m, v) for m, v, _ in ranked[:n]]
        depth *= 4


def _window_total(
    tx: Transaction, metric: str, scopes: Sequence[str], member: str, tie: str | None = None
) -> tuple[int, int]:
    """``member``'s sums of ``metric`` and of ``tie`` over the day ``scopes`` (one read)."""
    values = tx.counters_of(member, scopes)
    total = sum(v for (m, _), v in values.items() if m == metric)
    return total, sum(v for (m, _), v in values.items() if m == tie) if tie else 0


class _Ranking:
    """A window board sorted once, so pages and positions read it without sorting again."""

    __slots__ = ("index", "rows", "totals")

    def __init__(self, rows: list[tuple[str, int]], totals: dict[str, int]) -> None:
        self.rows = rows
        self.totals = totals
        self.index = {m: i for i, (m, _) in enumerate(rows)}


# --- the Community methods ------------------------------------------------------------


class LeaderboardsAPI(CommunityBase):
    """The :class:`kudos.Community` methods of this capability."""

    def leaderboard(
        self,
        by: str = "reputation",
        period: str | None = None,
        tag: str | None = None,
        limit: int = 10,
        offset: int = 0,
        window: str | timedelta | None = None,
        include_staff: bool = False,
    ) -> list[LeaderboardRow]:
        """The members leading on ``by``, best first.

        Args:
            by: the metric (one of :data:`METRICS`).
            period: a payback period id (``"2026-H2"``) or ``"current"``;
                ``None`` ranks all time.
            tag: only what came from topics with this tag or product.
            limit: rows to return (1-1000).
            offset: rows to skip (the next page starts at ``offset + limit``).
            window: a rolling window of whole days ending today, ``"7d"``,
                ``"30d"`` or a ``timedelta``; not combined with ``period`` or ``tag``.
            include_staff: keep staff and moderators on the board.

        Raises:
            InvalidInput: an unknown metric, a malformed window or page, or
                ``window`` combined with ``period`` or ``tag``.
            UnknownRecord: ``period`` is not a period of the policy.

        >>> import kudos
        >>> kudos.Community().leaderboard(by="solutions", period="current", tag="roaming")
        []
        """
        _check_page(limit, offset)
        board = self._board(by, period, tag, window, include_staff)

        def read(tx: Transaction) -> tuple[LeaderboardRow, ...]:
            if board.days and offset + limit > _WINDOW_TOP:
                rows = self._ranking(tx, board, include_staff).rows[offset : offset + limit]
            elif board.days:
                exclude = self._excluded(tx, include_staff)
                tie = _tie_counter(self.policy)
                rows = _window_top(tx, board.counter, board.days, offset + limit, exclude, tie)
                rows = rows[offset:]
            else:
                assert board.scope is not None
                exclude = self._excluded(tx, include_staff)
                tie = _tie_counter(self.policy)
                rows = (
                    _page_tied(tx, board, tie, limit, offset, exclude)
                    if tie
                    else tx.top(
                        board.counter, board.scope, limit=limit, offset=offset, exclude=exclude
                    )
                )
            # Only positive values are ranked; the rest sort last, so this keeps a prefix.
            return tuple(
                LeaderboardRow(position=offset + i + 1, member=m, value=v)
                for i, (m, v) in enumerate(rows)
                if v > 0
            )

        key = ("leaderboard", *board.key, limit, offset, include_staff)
        return list(self._cached(key, read))

    def position(
        self,
        member: str,
        *,
        by: str = "reputation",
        period: str | None = None,
        tag: str | None = None,
        window: str | timedelta | None = None,
        include_staff: bool = False,
    ) -> LeaderboardPosition:
        """Where ``member`` stands on a leaderboard ("#1,234 of 98,000").

        Takes the same board arguments as :meth:`leaderboard` and answers
        without reading the board: the store counts who is ahead on its
        index (a window board is ranked once and cached).

        Raises:
            UnknownMember: never joined.
            InvalidInput, UnknownRecord: as :meth:`leaderboard`.

        >>> import kudos
        >>> c = kudos.Community()
        >>> _ = c.join("alice")
        >>> str(c.position("alice"))
        'unranked (0 ranked)'
        """
        v.check_id("member", member)
        board = self._board(by, period, tag, window, include_staff)

        def read(tx: Transaction) -> LeaderboardPosition:
            engine.get_member(tx, member)
            if board.days:
                ranking = self._ranking(tx, board, include_staff)
                index = ranking.index.get(member)
                return LeaderboardPosition(
                    member=member,
                    by=board.metric,
                    position=None if index is None else index + 1,
                    of=len(ranking.rows),
                    value=ranking.totals.get(member, 0),
                )
            assert board.scope is not None
            exclude = self._excluded(tx, include_staff)
            value = tx.counter(board.counter, board.scope, member)
            place, of = tx.position(board.counter, board.scope, member, exclude=exclude)
            tie = _tie_counter(self.policy)
            if place is not None and tie:
                place = _position_tied(tx, board, tie, member, place, value, exclude)
            return LeaderboardPosition(
                member=member, by=board.metric, position=place, of=of, value=value
            )

        return self._cached(("position", member, *board.key, include_staff), read)

    # -- helpers ------------------------------------------------------------------------
    def _board(
        self, by: object, period: object, tag: object, window: object, include_staff: object
    ) -> _Board:
        if not isinstance(by, str) or by not in METRICS:
            raise InvalidInput(
                f"cannot rank by {v.shown(by)}; leaderboards rank by one of {', '.join(METRICS)}"
            )
        v.check_flag("include_staff", include_staff)
        v.check_optional_id("tag", tag)
        rules = self.policy.leaderboards
        if window is not None:
            if period is not None:
                raise InvalidInput(
                    "a leaderboard spans either a period or a rolling window, not both; "
                    "pass period= or window="
                )
            if tag is not None:
                raise InvalidInput(
                    "rolling windows are counted per member, not per tag; "
                    "combine tag= with period= instead"
                )
            days = _window_days(window, rules.max_window_days)
            if by not in rules.window_metrics:
                raise InvalidInput(
                    f"policy {self.policy.name!r} keeps no daily {by!r} counters, so there is "
                    f"no rolling-window board by {by!r}; add it to leaderboards.window_metrics "
                    "and rebuild(), or rank by period="
                )
            today = date.fromisoformat(engine.day_of(self.policy, self.now()))
            return _Board(
                by, None, tuple((today - timedelta(days=i)).isoformat() for i in range(days))
            )
        scope = "all"
        if period is not None:
            if not isinstance(period, str):
                raise InvalidInput(
                    f"period must be a period id like '2026-H2' or 'current', got {v.shown(period)}"
                )
            if period == "current":
                period = self.policy.periods.period_of(self.now())
            else:
                self.policy.periods.bounds(period)
            scope = period
        if tag is not None:
            scope = f"tag:{tag}" if period is None else f"{period}|tag:{tag}"
        assert isinstance(scope, str)
        return _Board(by, scope)

    def _excluded(self, tx: Transaction, include_staff: bool) -> tuple[str, ...]:
        if include_staff:
            return ()
        return self._cache_get(
            "staff",
            lambda: tuple(m for m, _ in tx.top(STAFF_METRIC, "all", limit=_ALL)),
        )

    def _ranking(self, tx: Transaction, board: _Board, include_staff: bool) -> _Ranking:
        def totals() -> tuple[dict[str, int], dict[str, int]]:
            tie = _tie_counter(self.policy)
            values = _window_totals(tx, board.counter, board.days)
            ties = _window_totals(tx, tie, board.days) if tie else {}
            return values, ties

        def rank() -> _Ranking:
            values, ties = self._cache_get(("window", *board.key), totals)
            skip = set(self._excluded(tx, include_staff))
            rows = sorted(
                ((m, v) for m, v in values.items() if v > 0 and m not in skip),
                key=lambda r: (-r[1], -ties.get(r[0], 0), r[0]),
            )
            return _Ranking(rows, values)

        return self._cache_get(("ranking", *board.key, include_staff), rank)
