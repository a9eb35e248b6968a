"""How fast is ``similar_topics`` at 100,000 topics, on SQLite and PostgreSQL?

Run it on demand (it is not a test)::

    python benchmarks/similar_topics.py                      # SQLite file in a temp dir
    python benchmarks/similar_topics.py postgresql+psycopg://user:pw@host/db
    python benchmarks/similar_topics.py --topics 10000 --queries 200   # a quick run

It builds ``--topics`` topics (default 100,000) from ``--members`` members,
one in five with a reply accepted as its solution. By default the topics'
search documents (exactly what the engine writes for a topic: its words,
title, tags, product, solution) are written straight through the store's
transactions, as benchmarks/reads.py builds its boards, because recording
100,000 topics through the engine takes many minutes on PostgreSQL;
``--engine`` records them as facts with ``record_many`` instead (giffgaff preset).
Titles are four to nine words drawn from a 2,000-word vocabulary with a
Zipf-like skew (a few words are in many topics, most in few), plus one of
20 tags and one of 5 products. Then it times ``--queries`` drafts (three to
six words from the same distribution, half with a tag and a product) through
``community.similar_topics(limit=5)`` with the read cache off, and prints the
median and 99th percentile.

Baseline, in the same run: the database's own full-text query that kudos
sends (FTS5 ``MATCH`` ordered by ``rank``, or ``@@ to_tsquery`` ordered by
``ts_rank`` over the GIN index), for the same words and the same candidate
limit, executed directly on the same engine. The ratio is kudos's time over
that query's: what the ranking in Python, the session and the documents'
JSON cost on top of the search itself.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import kudos
from kudos.events import MemberJoined, ReplyPosted, SolutionAccepted, TopicPosted
from kudos.model import Doc
from kudos.stores._sql_search import statement
from kudos.stores.protocol import MAX_TERMS, SEARCH_KIND, search_terms
from kudos.stores.sql import SqlStore
from kudos.support.handlers import search_text
from kudos.testing import FakeClock

VOCABULARY = 2_000
TAGS = [f"tag{i}" for i in range(20)]
PRODUCTS = ["sim", "phone", "broadband", "esim", "tablet"]


def _words(rng: random.Random) -> Callable[[int], list[str]]:
    weights = [1 / (rank + 1) for rank in range(VOCABULARY)]
    vocabulary = [f"w{i}" for i in range(VOCABULARY)]

    def draw(n: int) -> list[str]:
        return rng.choices(vocabulary, weights=weights, k=n)

    return draw


def _events(topics: int, members: int, seed: int) -> Iterator[object]:
    rng = random.Random(seed)
    draw = _words(rng)
    for m in range(members):
        yield MemberJoined(member=f"m{m}")
    for t in range(topics):
        author = f"m{rng.randrange(members)}"
        yield TopicPosted(
            topic=f"t{t}",
            author=author,
            title=" ".join(draw(rng.randint(4, 9))),
            tags=(rng.choice(TAGS),),
            product=rng.choice(PRODUCTS),
        )
        if t % 5 == 0:
            helper = f"m{(int(author[1:]) + 1) % members}"
            yield ReplyPosted(reply=f"r{t}", topic=f"t{t}", author=helper)
            yield SolutionAccepted(topic=f"t{t}", reply=f"r{t}", by=author)


def _direct(c: kudos.Community, events: Iterator[object], batch: int) -> int:
    """Write the search documents the engine would write for ``events``; returns topics."""
    docs: dict[str, dict[str, object]] = {}
    for event in events:
        if isinstance(event, TopicPosted):
            docs[event.topic] = {
                "text": search_text(event.title, None, event.tags, event.product),
                "title": event.title,
                "kind": event.kind,
                "author": event.author,
                "tags": list(event.tags),
                "product": event.product,
                "period": "2026-H2",
                "posted_at": "2026-11-23T12:00:00+00:00",
                "feeling": None,
                "feeling_gen": 0,
                "praised": None,
                "solution": None,
                "solution_author": None,
            }
        elif isinstance(event, SolutionAccepted):
            docs[event.topic].update(solution=event.reply, solution_author="helper")
    items = list(docs.items())
    for start in range(0, len(items), batch):
        with c.store.transaction(c.id) as tx:
            for key, data in items[start : start + batch]:
                tx.put(Doc(kind=SEARCH_KIND, key=key, data=data, ref=None, status="live"))
    return len(items)


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("url", nargs="?", help="database URL (default: a SQLite temp file)")
    parser.add_argument("--topics", type=int, default=100_000)
    parser.add_argument("--members", type=int, default=5_000)
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--engine", action="store_true", help="record facts through the engine")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'similar.db'}"
        store = SqlStore.from_url(url)
        store.create_all()
        community_id = f"bench{random.randrange(10**6)}"
        c = kudos.Community(store=store, community=community_id, clock=FakeClock(), cache=None)
        started = time.perf_counter()
        batch: list[object] = []
        recorded = 0
        events = _events(args.topics, args.members, args.seed)
        if not args.engine:
            recorded = _direct(c, events, args.batch)
        for event in events if args.engine else ():
            batch.append(event)
            if len(batch) == args.batch:
                c.record_many(batch)  # type: ignore[arg-type]
                recorded += len(batch)
                batch = []
        if batch:
            c.record_many(batch)  # type: ignore[arg-type]
            recorded += len(batch)
        built = time.perf_counter() - started
        what = "events" if args.engine else "search documents"
        print(
            f"{store.dialect}: wrote {recorded:,} {what} ({args.topics:,} topics) in {built:.0f} s"
        )

        rng = random.Random(args.seed + 1)
        draw = _words(rng)
        drafts = []
        for _ in range(args.queries):
            title = " ".join(draw(rng.randint(3, 6)))
            tagged = rng.random() < 0.5
            drafts.append(
                (
                    title,
                    [rng.choice(TAGS)] if tagged else [],
                    rng.choice(PRODUCTS) if tagged else None,
                )
            )

        limit = c.policy.support.similar_candidates
        engine = store._engine
        assert engine is not None
        kudos_times, raw_times, found = [], [], 0
        for title, tags, product in drafts:
            terms = search_terms(" ".join([title, *tags, product or ""]), limit=MAX_TERMS)
            t0 = time.perf_counter()
            result = c.similar_topics(title, tags=tags, product=product, limit=5)
            t1 = time.perf_counter()
            with engine.connect() as conn:
                made = statement(conn, store.tables, terms)
                assert made is not None, "no full-text index"
                conn.execute(made[0], {"c": community_id, "n": limit, **made[1]}).all()
            t2 = time.perf_counter()
            found += bool(result)
            kudos_times.append((t1 - t0) * 1000)
            raw_times.append((t2 - t1) * 1000)
        k_med, k_p99 = _percentiles(kudos_times)
        r_med, r_p99 = _percentiles(raw_times)
        print(f"{args.queries:,} drafts, {found:,} with suggestions")
        print("| run | median ms | p99 ms |")
        print("|---|---:|---:|")
        print(f"| `similar_topics(limit=5)` | {k_med:.2f} | {k_p99:.2f} |")
        print(f"| raw full-text query ({limit} candidates) | {r_med:.2f} | {r_p99:.2f} |")
        print(f"| kudos/raw | {k_med / r_med:.2f} | {k_p99 / r_p99:.2f} |")
        store.close()


if __name__ == "__main__":
    main()
