"""One ``record`` on PostgreSQL reads what its event names in bulk, not key by key.

Each read is a round trip to the server (and each first touch of a key a lock
statement besides), so a kudos used to take 57 statements. ``record`` now
locks and reads the event's posts and members, their documents and counters,
in a few statements first, as ``record_many`` does for a batch.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event

from kudos import Community, MemoryStore, TransientStoreError, policies
from kudos.events import KudosGiven, MemberJoined, ReplyPosted, TopicPosted
from kudos.stores.sql import SqlStore, make_metadata
from kudos.testing import FakeClock, assert_consistent

AT = datetime(2026, 11, 2, 8, tzinfo=UTC)


@pytest.fixture
def community(postgres_engine: Engine) -> Iterator[Community]:
    md = make_metadata(prefix=f"kudos_rt{os.getpid()}_")
    md.drop_all(postgres_engine)
    store = SqlStore(postgres_engine, metadata=md)
    store.create_all()
    c = Community(store=store, policy=policies.giffgaff(), cache=None)
    c.record_many(
        [MemberJoined(member=m, at=AT) for m in ("ann", "bob", "cat")]
        + [
            TopicPosted(topic="t", author="ann", tags=["roaming"], at=AT),
            ReplyPosted(reply="r", topic="t", author="bob", at=AT),
        ]
    )
    yield c
    md.drop_all(postgres_engine)


@pytest.mark.postgres
def test_a_kudos_on_postgres_takes_a_few_bulk_reads_not_one_per_key(
    community: Community, postgres_engine: Engine
) -> None:
    statements: list[str] = []

    def seen(*args: Any) -> None:
        statements.append(args[2])

    event.listen(postgres_engine, "before_cursor_execute", seen)
    try:
        outcome = community.record(KudosGiven(post="r", giver="cat", at=AT + timedelta(days=1)))
    finally:
        event.remove(postgres_engine, "before_cursor_execute", seen)
    assert outcome.entries and community.standing("bob").reputation == 1
    assert len(statements) <= 30, len(statements)  # 57 when each key was read on its own
    assert_consistent(community)


def test_each_retry_of_a_transient_failure_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    store = MemoryStore()
    c = Community(store=store, policy=policies.giffgaff(), clock=FakeClock(AT))
    real = store.transaction
    failures = iter([TransientStoreError("a deadlock (test); nothing was written, run it again")])

    def flaky(community: str, **options: Any) -> Any:
        for failure in failures:
            raise failure
        return real(community, **options)

    store.transaction = flaky  # type: ignore[method-assign]
    with caplog.at_level(logging.INFO, logger="kudos"):
        assert c.join("ann").id == "ann"
    [record] = [r for r in caplog.records if "trying again" in r.getMessage()]
    assert "a deadlock (test)" in record.getMessage() and "try 2 of 5" in record.getMessage()
