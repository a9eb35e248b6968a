"""How fast are leaderboards, positions and standings at a million members?

Run it on demand (it is not a test)::

    python benchmarks/reads.py                       # 10,000 and 1,000,000 members
    python benchmarks/reads.py --sizes 1000,10000    # a quick run
    python benchmarks/reads.py --members 200000 --awards 1000000

For each size it builds a SQLite community (``SqlStore``, the shipped schema)
with ``--awards`` awards (default five per member) and prints the median and
99th percentile of:

* top-10 and top-100 boards all time, per payback period and per tag
  (uncached: every read goes to the store);
* rolling 7- and 30-day window boards, cold (summing the days) and cached;
* ``position`` for 1,000 random members on the board (uncached);
* ``standing`` for 1,000 random members, cold (first read) and cached.

Building through the engine
    First it measures how fast the engine records a community
    (``record_many``: joins, topics, replies, kudos and solutions) at
    ``--engine-members`` members, and extrapolates to each size. At a few
    thousand events per second a million members and five million awards
    would take hours, so the large stores are built directly instead.

Building directly
    The projection rows the engine would have written for such a community
    are computed in SQL: one row per award in a temporary table (recipient,
    kind, payback period, tag, day), then ``INSERT ... SELECT ... GROUP BY``
    into the shipped ``kudos_counters`` table for the metrics ``reputation``,
    ``points``, ``kudos_received`` and ``solutions`` in the scopes ``all``,
    ``<period>``, ``tag:<t>``, ``<period>|tag:<t>`` and ``day:<d>``; and one
    ``member`` document per member in ``kudos_docs`` (100 of them staff). The
    tables come from ``SqlStore.create_all()``; their secondary indexes are
    dropped during the load and re-created with the same DDL afterwards.
    Recipients follow a Zipf law (a few very active members, a long tail, many
    with nothing); 85% of awards are kudos on a reply (+1 reputation,
    +5 points), 15% accepted solutions (+10, +50); each carries one of 40 tags
    (Zipf, "roaming" the commonest) and falls on one of the 365 days before
    the clock's 2026-11-23 (periods ``2026-H1`` and ``2026-H2`` of the
    giffgaff policy). Staff earn nothing but are counted, and carry the
    ``staff`` counter the engine keeps for them. The event log and the ledger
    are left empty: reads never touch them. Last, ``ANALYZE`` gathers the
    statistics SQLite's planner uses (``--no-analyze`` skips it: without them
    SQLite 3.40 reads a member's counters through the board index, a scan of
    the whole table, so a cold ``standing`` grows linearly with the size).
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import kudos
from kudos import ReadCache
from kudos.stores.sql import SqlStore
from kudos.testing import FakeClock

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
TAGS = ["roaming", "billing", "data", "signal", "esim", "top-up", "porting", "5g"] + [
    f"topic-{i}" for i in range(32)
]
STAFF = 100
QUERIES = 1000


def member_id(n: int) -> str:
    return f"m{n:07d}"


# --- building ----------------------------------------------------------------------------


def build_direct(
    path: Path, members: int, awards: int, *, analyze: bool = True, seed: int = 1
) -> dict[str, float]:
    """Write the projections of a community of ``members`` with ``awards`` awards to ``path``."""
    rng = random.Random(seed)
    policy = kudos.policies.giffgaff()
    zone = ZoneInfo(policy.periods.timezone)
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

    staff = set(rng.sample(range(members), min(STAFF, members // 20)))
    joined = NOW - timedelta(days=400)
    con.executemany(
        "INSERT INTO kudos_docs (community, kind, key, ref, status, data) "
        "VALUES ('default', 'member', ?, NULL, ?, ?)",
        (
            (
                member_id(n),
                role := ("staff" if n in staff else "member"),
                f'{{"role": "{role}", "joined_at": "{joined.isoformat()}", "referred_by": null}}',
            )
            for n in range(members)
        ),
    )

    # What the engine keeps for each staff member and moderator (see kudos.leaderboards).
    join_period = policy.periods.period_of(joined)
    con.executemany(
        "INSERT INTO kudos_counters (community, metric, scope, subject, value) "
        "VALUES ('default', 'staff', ?, ?, 1)",
        ((scope, member_id(n)) for n in staff for scope in ("all", join_period)),
    )

    # Zipf recipients: the k-th most active member gets awards in proportion to 1/k.
    ranks = list(range(members))
    rng.shuffle(ranks)
    cum, total = [], 0.0
    for k in range(members):
        total += 1.0 / (k + 1)
        cum.append(total)
    tag_cum, t = [], 0.0
    for k in range(len(TAGS)):
        t += 1.0 / (k + 1)
        tag_cum.append(t)
    today = NOW.astimezone(zone).date()
    days = [today - timedelta(days=i) for i in range(365)]
    period = {
        d: policy.periods.period_of(datetime(d.year, d.month, d.day, 12, tzinfo=zone)) for d in days
    }
    con.execute(
        "CREATE TEMP TABLE awards (member INTEGER, period TEXT, tag TEXT, day TEXT, "
        "rep INTEGER, kud INTEGER, sol INTEGER)"
    )
    chunk = 200_000
    for start in range(0, awards, chunk):
        n = min(chunk, awards - start)
        who = rng.choices(ranks, cum_weights=cum, k=n)
        tags = rng.choices(TAGS, cum_weights=tag_cum, k=n)
        rows = []
        for m, tag in zip(who, tags, strict=True):
            d = days[rng.randrange(365)]
            solution = rng.random() < 0.15
            earn = 0 if m in staff else (10 if solution else 1)
            rows.append((m, period[d], tag, d.isoformat(), earn, int(not solution), int(solution)))
        con.executemany("INSERT INTO awards VALUES (?, ?, ?, ?, ?, ?, ?)", rows)

    scopes = {
        "all": "'all'",
        "period": "period",
        "tag": "'tag:' || tag",
        "period_tag": "period || '|tag:' || tag",
        "day": "'day:' || day",
    }
    metrics = {
        "reputation": "rep",
        "points": "5 * rep",
        "kudos_received": "kud",
        "solutions": "sol",
    }
    for scope in scopes.values():
        con.execute("DROP TABLE IF EXISTS agg")
        con.execute(
            f"CREATE TEMP TABLE agg AS SELECT {scope} AS scope, member, SUM(rep) AS rep, "
            "SUM(kud) AS kud, SUM(sol) AS sol FROM awards GROUP BY 1, 2"
        )
        for metric, value in metrics.items():
            con.execute(
                "INSERT INTO kudos_counters (community, metric, scope, subject, value) "
                f"SELECT 'default', '{metric}', scope, printf('m%07d', member), {value} "
                f"FROM agg WHERE {value} != 0 ORDER BY scope, member"
            )
    con.execute("DROP TABLE agg")
    con.execute("DROP TABLE awards")
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


def engine_rate(path: Path, members: int, seed: int = 2) -> dict[str, float]:
    """Record a community through the engine (``record_many``) and time it."""
    rng = random.Random(seed)
    from kudos.events import KudosGiven, MemberJoined, ReplyPosted, SolutionAccepted, TopicPosted

    store = SqlStore.from_url(f"sqlite:///{path}")
    clock = FakeClock(NOW - timedelta(days=200))
    c = kudos.Community(store=store, clock=clock)
    events: list[kudos.events.Event] = []
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
    args = parser.parse_args(argv)
    sizes = [args.members] if args.members else [int(s) for s in args.sizes.split(",")]
    workdir = args.dir or Path(tempfile.mkdtemp(prefix="kudos-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
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
            built = build_direct(path, members, awards, analyze=not args.no_analyze)
            print(
                f"  built directly in {built['seconds']:.0f} s: {built['counter_rows']:,} "
                f"counter rows, {built['megabytes']:,.0f} MB"
            )
        measure(path, members, args.runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
