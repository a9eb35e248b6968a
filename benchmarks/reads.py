"""How fast are leaderboards, positions and standings at a million members?

Run it on demand (it is not a test)::

    python benchmarks/reads.py                       # 10,000 and 1,000,000 members
    python benchmarks/reads.py --sizes 1000,10000    # a quick run
    python benchmarks/reads.py --members 200000 --awards 1000000
    python benchmarks/reads.py --check 2000          # direct build == the engine's?

For each size it builds a SQLite community (``SqlStore``, the shipped schema)
with ``--awards`` awards (default five per member) and prints the median and
99th percentile of:

* top-10 and top-100 boards all time, per payback period and per tag
  (uncached: every read goes to the store);
* a page 10,000 rows down the all-time board;
* rolling 7- and 30-day window boards, cold (summing the days) and cached;
* ``position`` for 1,000 random members on the board (uncached), and the
  first position read after a write through the same store (which keeps its
  summary of the board up to date) and after a write by another connection
  (which makes it summarise the board again);
* ``standing`` for 1,000 random members, cold (first read) and cached.

Building through the engine
    First it measures how fast the engine records a community
    (``record_many``: joins, topics, replies, kudos and solutions) at
    ``--engine-members`` members, and extrapolates to each size. Five million
    awards are about nine million events with their topics and replies, an
    hour or more at that rate (and the rate falls as the tables grow), so the
    large stores are built directly instead.

Building directly
    The projection rows the engine would have written for such a community
    are computed in SQL: one row per award in a temporary table (recipient,
    kind, payback period, tag, day), then ``INSERT ... SELECT ... GROUP BY``
    into the shipped ``kudos_counters`` table, exactly as the engine books
    them: ``reputation``, ``points_earned`` (what points boards rank),
    ``kudos_received`` and ``solutions`` in the scopes ``all``, ``<period>``,
    ``tag:<t>``, ``<period>|tag:<t>`` and ``day:<d>``; the ``points`` balance
    in ``all`` and ``<period>``; the policy's monthly points cap, applied in
    event order, and its ``cap:points`` counter; and one ``member`` document
    per member in ``kudos_docs`` (100 of them staff, who earn nothing but are
    counted and carry the ``staff`` counter the engine keeps for them). The
    tables come from ``SqlStore.create_all()``; their secondary indexes are
    dropped during the load and re-created with the same DDL afterwards.
    Recipients follow a Zipf law (a few very active members, a long tail, many
    with nothing); 85% of awards are kudos on a reply (+1 reputation,
    +5 points), 15% accepted solutions (+10, +50); each carries one of 40 tags
    (Zipf, "roaming" the commonest) and falls on one of the 365 days before
    the clock's 2026-11-23 (periods ``2026-H1`` and ``2026-H2`` of the
    giffgaff policy). What reads never touch is left out: the event log, the
    ledger, and the counters of the askers and givers (kudos given, topics,
    replies, active days). Last, ``ANALYZE`` gathers the statistics SQLite's
    planner uses (``--no-analyze`` skips it: without them SQLite 3.40 reads a
    member's counters through the board index, a scan of the whole table, so
    a cold ``standing`` grows linearly with the size).

Checking the direct build
    ``--check MEMBERS`` draws the same awards for a small community, builds
    it directly and through the engine (each award its own topic and reply;
    the askers and givers are staff, so they earn nothing and stay off the
    boards) and compares every counter row the direct build writes, 16
    boards, and 200 standings and positions. It exits non-zero on any
    difference.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import attrs

import kudos
from kudos import ReadCache
from kudos.engine.core import EARNED_POINTS
from kudos.events import Event, KudosGiven, MemberJoined, ReplyPosted, SolutionAccepted, TopicPosted
from kudos.stores.sql import SqlStore
from kudos.testing import FakeClock

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
TAGS = ["roaming", "billing", "data", "signal", "esim", "top-up", "porting", "5g"] + [
    f"topic-{i}" for i in range(32)
]
STAFF = 100
QUERIES = 1000
POLICY = kudos.policies.giffgaff()


def member_id(n: int) -> str:
    return f"m{n:07d}"


# --- building ----------------------------------------------------------------------------


@attrs.frozen
class Awards:
    """The awards of a benchmark community, drawn once and shared by both ways of building it.

    ``chunks()`` yields lists of ``(seq, recipient, period, tag, day, solution)``
    in ``seq`` order; ``day`` is a local date of the periods' time zone.
    """

    members: int
    count: int
    seed: int
    staff: frozenset[int]
    joined: datetime

    @classmethod
    def draw(cls, members: int, count: int, seed: int = 1) -> Awards:
        rng = random.Random(seed)
        staff = frozenset(rng.sample(range(members), min(STAFF, members // 20)))
        return cls(members, count, seed, staff, NOW - timedelta(days=400))

    def chunks(self, size: int = 200_000) -> Iterator[list[tuple[int, int, str, str, str, int]]]:
        rng = random.Random(self.seed + 1)
        zone = ZoneInfo(POLICY.periods.timezone)
        # Zipf recipients: the k-th most active member gets awards in proportion to 1/k.
        ranks = list(range(self.members))
        rng.shuffle(ranks)
        cum = list(itertools.accumulate(1.0 / (k + 1) for k in range(self.members)))
        tag_cum = list(itertools.accumulate(1.0 / (k + 1) for k in range(len(TAGS))))
        today = NOW.astimezone(zone).date()
        days = [today - timedelta(days=i) for i in range(365)]
        period = {
            d: POLICY.periods.period_of(datetime(d.year, d.month, d.day, 12, tzinfo=zone))
            for d in days
        }
        for start in range(0, self.count, size):
            n = min(size, self.count - start)
            who = rng.choices(ranks, cum_weights=cum, k=n)
            tags = rng.choices(TAGS, cum_weights=tag_cum, k=n)
            rows = []
            for i, (m, tag) in enumerate(zip(who, tags, strict=True)):
                d = days[rng.randrange(365)]
                rows.append((start + i, m, period[d], tag, d.isoformat(), int(rng.random() < 0.15)))
            yield rows


def build_direct(path: Path, awards: Awards, *, analyze: bool = True) -> dict[str, float]:
    """Write the projections the engine would keep for ``awards`` to a new SQLite ``path``.

    Counters only for what reads touch: the board metrics of the recipients
    (see the module docstring), their points balance and monthly cap
    counters, and the staff counter; one ``member`` document per member.
    """
    started = time.perf_counter()
    SqlStore.from_url(f"sqlite:///{path}").close()  # the shipped tables and indexes
    con = sqlite3.connect(path)
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA temp_store=MEMORY")
    con.execute("PRAGMA cache_size=-1000000")
    indexes = con.execute(
        "SELECT name, sql FROM sqlite_master WHERE type='index' AND sql IS NOT NULL "
        "AND tbl_name IN ('kudos_counters', 'kudos_docs')"
    ).fetchall()
    for name, _ in indexes:
        con.execute(f"DROP INDEX {name}")

    con.executemany(
        "INSERT INTO kudos_docs (community, kind, key, ref, status, data) "
        "VALUES ('default', 'member', ?, NULL, ?, ?)",
        (
            (
                member_id(n),
                role := ("staff" if n in awards.staff else "member"),
                f'{{"role": "{role}", "joined_at": "{awards.joined.isoformat()}", '
                '"referred_by": null}',
            )
            for n in range(awards.members)
        ),
    )
    # What the engine keeps for each staff member and moderator (see kudos.leaderboards).
    join_period = POLICY.periods.period_of(awards.joined)
    con.executemany(
        "INSERT INTO kudos_counters (community, metric, scope, subject, value) "
        "VALUES ('default', 'staff', ?, ?, 1)",
        ((scope, member_id(n)) for n in awards.staff for scope in ("all", join_period)),
    )

    con.execute(
        "CREATE TEMP TABLE drawn (seq INTEGER PRIMARY KEY, member INTEGER, period TEXT, "
        "tag TEXT, day TEXT, sol INTEGER)"
    )
    for rows in awards.chunks():
        con.executemany("INSERT INTO drawn VALUES (?, ?, ?, ?, ?, ?)", rows)
    con.execute("CREATE TEMP TABLE staff (member INTEGER PRIMARY KEY)")
    con.executemany("INSERT INTO staff VALUES (?)", ((n,) for n in awards.staff))
    # Staff earn nothing (their counts still count). Points are capped per member and
    # calendar month as the engine caps them, in event order: an award gets what is left
    # under the cap of the points before it (all gains, so what was used is
    # min(cap, points before)).
    reply, solution = POLICY.reward("kudos_on_reply"), POLICY.reward("solution_accepted")
    (cap,) = POLICY.caps_for("solution_accepted", "points")
    assert cap.per == "month" and set(POLICY.caps_for("kudos_on_reply", "points")) == {cap}
    con.execute(
        f"""
        CREATE TEMP TABLE awards AS
        SELECT member, period, tag, day, substr(day, 1, 7) AS month,
               rep, MIN(pts, MAX(0, {cap.limit} - COALESCE(before, 0))) AS pts,
               1 - sol AS kud, sol
        FROM (
            SELECT d.*,
                   CASE WHEN s.member IS NULL THEN
                        CASE sol WHEN 1 THEN {solution.reputation} ELSE {reply.reputation} END
                   ELSE 0 END AS rep,
                   CASE WHEN s.member IS NULL THEN
                        CASE sol WHEN 1 THEN {solution.points} ELSE {reply.points} END
                   ELSE 0 END AS pts
            FROM drawn d LEFT JOIN staff s USING (member)
        )
        JOIN (
            SELECT seq, SUM(pts) OVER (
                       PARTITION BY member, substr(day, 1, 7) ORDER BY day, seq
                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before
            FROM (
                SELECT d.seq, d.member, d.day,
                       CASE WHEN s.member IS NULL THEN
                            CASE sol WHEN 1 THEN {solution.points} ELSE {reply.points} END
                       ELSE 0 END AS pts
                FROM drawn d LEFT JOIN staff s USING (member)
            )
        ) USING (seq)
        """
    )
    con.execute("DROP TABLE drawn")

    def counters(metric: str, value: str, scopes: Sequence[str]) -> None:
        for scope in scopes:
            con.execute(
                "INSERT INTO kudos_counters (community, metric, scope, subject, value) "
                f"SELECT 'default', '{metric}', {scope}, printf('m%07d', member), SUM({value}) "
                f"FROM awards GROUP BY {scope}, member HAVING SUM({value}) != 0"
            )

    boards = ["'all'", "period", "'tag:' || tag", "period || '|tag:' || tag", "'day:' || day"]
    for metric, value in [
        ("reputation", "rep"),
        (EARNED_POINTS, "pts"),
        ("kudos_received", "kud"),
        ("solutions", "sol"),
    ]:
        counters(metric, value, boards)
    counters("points", "pts", ["'all'", "period"])  # the balance: no board reads it
    counters(f"cap:{cap.account}", "pts", ["'month:' || month"])
    con.execute("DROP TABLE awards")
    con.execute("DROP TABLE staff")
    for _, sql in indexes:
        con.execute(sql)
    con.commit()
    if analyze:
        con.execute("ANALYZE")
        con.commit()
    rows = con.execute("SELECT COUNT(*) FROM kudos_counters").fetchone()[0]
    con.close()
    return {
        "seconds": time.perf_counter() - started,
        "counter_rows": rows,
        "megabytes": path.stat().st_size / 1e6,
    }


def build_engine(path: Path, awards: Awards) -> kudos.Community:
    """Record ``awards`` through the engine: the community :func:`build_direct` writes directly.

    Each award is its own topic (with the award's tag) and reply by the
    recipient, on the award's day, then a kudos on the reply or its
    acceptance as the solution. The askers and givers are staff, so they earn
    nothing and stay off the boards.
    """
    zone = ZoneInfo(POLICY.periods.timezone)
    store = SqlStore.from_url(f"sqlite:///{path}")
    c = kudos.Community(store=store, policy=POLICY, clock=FakeClock(NOW), cache=None)
    helpers = [f"h{i:03d}" for i in range(20)]
    events: list[Event] = [
        MemberJoined(
            member=member_id(n), role="staff" if n in awards.staff else "member", at=awards.joined
        )
        for n in range(awards.members)
    ]
    events += [MemberJoined(member=h, role="staff", at=awards.joined) for h in helpers]
    drawn = sorted((row for rows in awards.chunks() for row in rows), key=lambda r: (r[4], r[0]))
    for seq, m, _, tag, day, sol in drawn:
        d = date.fromisoformat(day)
        at = datetime(d.year, d.month, d.day, 12, tzinfo=zone) + timedelta(microseconds=seq)
        helper = helpers[seq % len(helpers)]
        events += [
            TopicPosted(topic=f"t{seq}", author=helper, tags=(tag,), at=at),
            ReplyPosted(reply=f"r{seq}", topic=f"t{seq}", author=member_id(m), at=at),
            SolutionAccepted(topic=f"t{seq}", reply=f"r{seq}", by=helper, at=at)
            if sol
            else KudosGiven(post=f"r{seq}", giver=helper, at=at),
        ]
    for i in range(0, len(events), 1000):
        c.record_many(events[i : i + 1000])
    return c


def check(workdir: Path, members: int, count: int) -> int:
    """Build the same awards both ways and compare what reads see; 0 when they agree."""
    awards = Awards.draw(members, count)
    direct, engine = workdir / f"check-direct-{members}.db", workdir / f"check-engine-{members}.db"
    for p in (direct, engine):
        p.unlink(missing_ok=True)
    build_direct(direct, awards)
    started = time.perf_counter()
    built = build_engine(engine, awards)
    print(
        f"check: {count:,} awards to {members:,} members recorded by the engine in "
        f"{time.perf_counter() - started:.0f} s"
    )
    metrics = (
        "reputation",
        EARNED_POINTS,
        "points",
        "kudos_received",
        "solutions",
        "staff",
        "cap:points",
    )
    query = (
        "SELECT metric, scope, subject, value FROM kudos_counters WHERE value != 0 "
        f"AND subject LIKE 'm%' AND metric IN ({', '.join('?' * len(metrics))})"
    )
    rows = []
    for p in (direct, engine):
        with sqlite3.connect(p) as con:
            rows.append(set(con.execute(query, metrics).fetchall()))
    only_direct, only_engine = rows[0] - rows[1], rows[1] - rows[0]
    failures = 0
    if only_direct or only_engine:
        failures += 1
        print(
            f"  counters differ: {len(only_direct)} rows only built directly, "
            f"{len(only_engine)} only by the engine, e.g."
        )
        for row in sorted(only_direct)[:5]:
            print(f"    direct {row}")
        for row in sorted(only_engine)[:5]:
            print(f"    engine {row}")
    else:
        print(f"  counters agree: {len(rows[0]):,} rows")
    store = SqlStore.from_url(f"sqlite:///{direct}")
    read = kudos.Community(store=store, policy=POLICY, clock=FakeClock(NOW), cache=None)
    boards: list[dict[str, Any]] = [
        {"by": by, **span}
        for by in ("reputation", "points", "kudos_received", "solutions")
        for span in ({}, {"period": "current"}, {"tag": "roaming"}, {"window": "30d"})
    ]
    for board in boards:
        if read.leaderboard(limit=100, **board) != built.leaderboard(limit=100, **board):
            failures += 1
            print(f"  boards differ: {board}")
    for n in random.Random(4).sample(range(members), min(200, members)):
        theirs, ours = built.standing(member_id(n)), read.standing(member_id(n))
        for name in ("points", "lifetime_points", "reputation"):
            if getattr(theirs, name) != getattr(ours, name):
                failures += 1
                print(
                    f"  standing of {member_id(n)} differs: {name} "
                    f"{getattr(ours, name)} built directly, {getattr(theirs, name)} by the engine"
                )
        mine = read.position(member_id(n), by="points", period="current")
        if mine != built.position(member_id(n), by="points", period="current"):
            failures += 1
            print(f"  position of {member_id(n)} differs")
    top = read.leaderboard(by="points", limit=1)
    print(
        f"  {len(boards)} boards, 200 standings and positions "
        f"{'agree' if not failures else 'differ'}; the points leader: "
        f"{top[0].member if top else None} with {top[0].value if top else 0:,} points earned"
    )
    store.close()
    assert isinstance(built.store, SqlStore)
    built.store.close()
    return 1 if failures else 0


def engine_rate(path: Path, members: int, seed: int = 2) -> dict[str, float]:
    """Record a community through the engine (``record_many``) and time it."""
    rng = random.Random(seed)
    store = SqlStore.from_url(f"sqlite:///{path}")
    clock = FakeClock(NOW - timedelta(days=200))
    c = kudos.Community(store=store, clock=clock)
    events: list[Event] = []
    at = clock()
    for n in range(members):
        events.append(MemberJoined(member=member_id(n), at=at))
    awards = 0
    topic = 0
    while awards < 5 * members:
        asker = member_id(rng.randrange(members))
        tid = f"t{topic}"
        topic += 1
        at += timedelta(minutes=1)
        events.append(TopicPosted(topic=tid, author=asker, tags=(rng.choice(TAGS),), at=at))
        helpers = rng.sample(range(members), 3)
        for i, h in enumerate(helpers):
            reply = f"{tid}-{i}"
            events.append(ReplyPosted(reply=reply, topic=tid, author=member_id(h), at=at))
            for g in rng.sample(range(members), 2):
                if member_id(g) != member_id(h):
                    events.append(KudosGiven(post=reply, giver=member_id(g), at=at))
                    awards += 1
        if member_id(helpers[0]) != asker:
            events.append(SolutionAccepted(topic=tid, reply=f"{tid}-0", by=asker, at=at))
            awards += 1
    started = time.perf_counter()
    for i in range(0, len(events), 1000):
        c.record_many(events[i : i + 1000])
    seconds = time.perf_counter() - started
    store.close()
    return {
        "events": len(events),
        "awards": awards,
        "seconds": seconds,
        "events_per_second": len(events) / seconds,
        "awards_per_second": awards / seconds,
    }


# --- measuring ----------------------------------------------------------------------------


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    """Seconds per call of ``fn`` over ``runs`` calls."""
    out = []
    for _ in range(runs):
        t = time.perf_counter_ns()
        fn()
        out.append((time.perf_counter_ns() - t) / 1e9)
    return out


def each(fn: Callable[[str], object], members: Sequence[str]) -> list[float]:
    out = []
    for m in members:
        t = time.perf_counter_ns()
        fn(m)
        out.append((time.perf_counter_ns() - t) / 1e9)
    return out


def summary(samples: list[float], unit: str = "ms") -> str:
    scale = 1e3 if unit == "ms" else 1e6
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"median {statistics.median(ordered) * scale:9.3f} {unit}   p99 {p99 * scale:9.3f} {unit}"
    )


def measure(path: Path, members: int, runs: int, seed: int = 3) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    store = SqlStore.from_url(f"sqlite:///{path}")
    clock = FakeClock(NOW)
    plain = kudos.Community(store=store, clock=clock, cache=None)
    cached = kudos.Community(store=store, clock=clock, cache=ReadCache(maxsize=20_000, ttl=60))
    lines: list[tuple[str, str]] = []

    def add(name: str, samples: list[float], unit: str = "ms") -> None:
        lines.append((name, summary(samples, unit)))
        print(f"  {name:<44} {lines[-1][1]}", flush=True)

    with store.transaction("default") as tx:
        board = tx.top("reputation", "all", limit=2**31 - 1)
        size = len(board)
    print(f"  board size (reputation, all time): {size:,} members", flush=True)
    for by, span in [
        ("reputation", {}),
        ("reputation", {"period": "2026-H2"}),
        ("reputation", {"tag": "roaming"}),
        ("points", {"period": "current"}),
        ("solutions", {"tag": "esim", "period": "current"}),
    ]:
        label = ", ".join([by, *(f"{k}={v}" for k, v in span.items())])
        for limit in (10, 100):
            add(
                f"top-{limit} {label}",
                timed(
                    lambda by=by, limit=limit, span=span: plain.leaderboard(
                        by=by, limit=limit, **span
                    ),
                    runs,
                ),
            )
    add(
        "top-10 reputation, offset=10,000",
        timed(
            lambda: plain.leaderboard(limit=10, offset=min(10_000, size - 10)), max(5, runs // 5)
        ),
    )
    for window in ("7d", "30d"):
        for limit in (10, 100):
            add(
                f"top-{limit} kudos_received window={window}",
                timed(
                    lambda window=window, limit=limit: plain.leaderboard(
                        by="kudos_received", window=window, limit=limit
                    ),
                    max(5, runs // 5),
                ),
            )
        add(
            f"top-10 kudos_received window={window} (cached)",
            timed(
                lambda window=window: cached.leaderboard(by="kudos_received", window=window), runs
            ),
            "us",
        )
        cold = []
        for m in rng.sample(board, 3):
            cached.cache.clear()
            cold += timed(
                lambda window=window, m=m: cached.position(
                    m[0], by="kudos_received", window=window
                ),
                1,
            )
        add(f"position window={window} (cold: ranks the window)", cold)
        add(
            f"position window={window} (ranked and cached)",
            each(
                lambda m, window=window: cached.position(m, by="kudos_received", window=window),
                [m for m, _ in rng.sample(board, 100)],
            ),
            "us",
        )

    ranked = [m for m, _ in rng.sample(board, min(QUERIES, size))]
    after_own, after_other = [], []
    plain.position(ranked[0])  # the board is summarised; below, what a write costs it
    for m, n in zip(ranked[:5], ranked[5:10], strict=True):
        # A write through this store moves the board's summary along with it...
        with store.transaction("default") as tx:
            tx.add({("reputation", "all", n): 1})
        after_own += each(lambda m: plain.position(m), [m])
        # ...one by another process (here: another connection) makes it summarise anew.
        other = SqlStore.from_url(f"sqlite:///{path}")
        with other.transaction("default") as tx:
            tx.add({("reputation", "all", m): 1})
        other.close()
        after_other += each(lambda m: plain.position(m), [n])
    with store.transaction("default") as tx:  # leave the community as it was built
        tx.add({("reputation", "all", m): -1 for m in ranked[:10]})
    add("position, first after a write by this store", after_own)
    add("position, first after another process wrote", after_other)
    add(f"position, {len(ranked)} ranked members", each(lambda m: plain.position(m), ranked))
    some = ranked[: max(1, len(ranked) // 5)]
    add(
        f"position by period, {len(some)} members",
        each(lambda m: plain.position(m, period="2026-H2"), some),
    )
    anyone = [member_id(rng.randrange(members)) for _ in range(QUERIES)]
    cached.cache.clear()
    add(f"standing, {QUERIES} random members (cold)", each(cached.standing, anyone))
    add(f"standing, {QUERIES} random members (cached)", each(cached.standing, anyone), "us")
    store.close()
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        default="10000,1000000",
        help="comma-separated member counts (default: 10000,1000000)",
    )
    parser.add_argument("--members", type=int, help="one size instead of --sizes")
    parser.add_argument("--awards", type=int, help="awards (default: five per member)")
    parser.add_argument(
        "--engine-members",
        type=int,
        default=2000,
        help="members recorded through the engine to time it (0: skip)",
    )
    parser.add_argument("--runs", type=int, default=200, help="repetitions per board query")
    parser.add_argument(
        "--no-analyze", action="store_true", help="build without ANALYZE (the planner's statistics)"
    )
    parser.add_argument("--dir", type=Path, help="where to keep the databases (default: temp)")
    parser.add_argument(
        "--check",
        type=int,
        metavar="MEMBERS",
        help="only build MEMBERS members (five awards each) both directly and through the "
        "engine and compare their counters, boards, standings and positions",
    )
    args = parser.parse_args(argv)
    sizes = [args.members] if args.members else [int(s) for s in args.sizes.split(",")]
    workdir = args.dir or Path(tempfile.mkdtemp(prefix="kudos-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    if args.check:
        return check(workdir, args.check, args.awards or 5 * args.check)
    print(
        f"kudos read benchmark: SQLite {sqlite3.sqlite_version}, Python "
        f"{sys.version.split()[0]}, {os.cpu_count()} CPUs, databases in {workdir}"
    )

    if args.engine_members:
        path = workdir / f"engine-{args.engine_members}.db"
        path.unlink(missing_ok=True)
        rate = engine_rate(path, args.engine_members)
        print(
            f"\nengine: {rate['events']:,} events ({rate['awards']:,} awards, "
            f"{args.engine_members:,} members) recorded in {rate['seconds']:.1f} s: "
            f"{rate['events_per_second']:,.0f} events/s"
        )
        for members in sizes:
            awards = args.awards or 5 * members
            minutes = (rate["events"] / rate["awards"]) * awards / rate["events_per_second"] / 60
            took = f"{minutes / 60:,.1f} hours" if minutes >= 90 else f"{minutes:,.1f} minutes"
            print(f"  extrapolated to {members:,} members and {awards:,} awards: ~{took}")

    for members in sizes:
        awards = args.awards or 5 * members
        suffix = "-raw" if args.no_analyze else ""
        path = workdir / f"community-{members}-{awards}{suffix}.db"
        print(f"\n{members:,} members, {awards:,} awards")
        if not path.exists():
            drawn = Awards.draw(members, awards)
            built = build_direct(path, drawn, analyze=not args.no_analyze)
            print(
                f"  built directly in {built['seconds']:.0f} s: {built['counter_rows']:,} "
                f"counter rows, {built['megabytes']:,.0f} MB"
            )
        measure(path, members, args.runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
