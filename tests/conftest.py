"""Shared fixtures: the stores every conformance and feature test runs on.

PostgreSQL tests need a server: ``eval "$(bash .ci/postgres.sh | tail -n 1)"``
starts one and exports ``KUDOS_TEST_POSTGRES_URL``. Without that variable they
are skipped, unless ``KUDOS_REQUIRE_POSTGRES=1`` (CI sets it) makes them fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, MetaData, create_engine, delete

import kudos
from kudos import Community, MemoryStore
from kudos.stores.protocol import Store
from kudos.stores.sql import SqlStore, make_metadata
from kudos.testing import FakeClock

POSTGRES_URL_VAR = "KUDOS_TEST_POSTGRES_URL"
REQUIRE_POSTGRES_VAR = "KUDOS_REQUIRE_POSTGRES"


def postgres_url() -> str:
    """The test server's URL; skips (or, when PostgreSQL is required, fails) without one."""
    url = os.environ.get(POSTGRES_URL_VAR)
    if url:
        return url
    message = (
        f"{POSTGRES_URL_VAR} is not set; to run the PostgreSQL tests, run as root "
        f"'eval \"$(bash .ci/postgres.sh | tail -n 1)\"' (it starts a local server and "
        "prints the export)"
    )
    if os.environ.get(REQUIRE_POSTGRES_VAR) == "1":
        pytest.fail(f"{REQUIRE_POSTGRES_VAR}=1 but {message}")
    pytest.skip(message)


def process_prefix() -> str:
    """A table prefix of this test process, so parallel test runs never share tables."""
    return f"kudos_t{os.getpid()}_"


@pytest.fixture
def memory_store() -> MemoryStore:
    """A fresh MemoryStore."""
    return MemoryStore()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SqlStore]:
    """A SqlStore on a new SQLite file (WAL mode) in the test's temporary directory."""
    store = SqlStore.from_url(f"sqlite:///{tmp_path / 'kudos.db'}")
    yield store
    store.close()


@pytest.fixture(scope="session")
def postgres_engine() -> Iterator[Engine]:
    """An engine on the test PostgreSQL database (one per test process)."""
    engine = create_engine(postgres_url())
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def postgres_metadata(postgres_engine: Engine) -> Iterator[MetaData]:
    """This test process's kudos tables, created once and dropped at the end."""
    md = make_metadata(prefix=process_prefix())
    md.drop_all(postgres_engine)
    SqlStore(postgres_engine, metadata=md).create_all()
    yield md
    md.drop_all(postgres_engine)


@pytest.fixture
def postgres_store(postgres_engine: Engine, postgres_metadata: MetaData) -> SqlStore:
    """A SqlStore on PostgreSQL whose tables are emptied before the test."""
    store = SqlStore(postgres_engine, metadata=postgres_metadata)
    with postgres_engine.begin() as conn:
        for table in (
            store.tables.events,
            store.tables.ledger,
            store.tables.docs,
            store.tables.counters,
            store.tables.outbox,
            store.tables.policies,
        ):
            conn.execute(delete(table))
    return store


@pytest.fixture
def prefix(postgres_engine: Engine) -> Iterator[str]:
    """A table prefix with fresh kudos tables on PostgreSQL, dropped after the test: for
    tests whose other processes open the tables by prefix (``make_metadata(prefix=...)``)."""
    name = f"kudos_p{os.getpid()}_"
    md = make_metadata(prefix=name)
    md.drop_all(postgres_engine)
    SqlStore(postgres_engine, metadata=md).create_all()
    yield name
    md.drop_all(postgres_engine)


@pytest.fixture
def evaluated(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The members whose rank recognition works out, in order, as events are recorded."""
    from kudos.recognition import handlers as recognition

    seen: list[str] = []
    update = recognition._update_rank

    def counting(ctx: Any, plan: Any, member: Any, metrics: Any) -> Any:
        seen.append(member.id)
        return update(ctx, plan, member, metrics)

    monkeypatch.setattr(recognition, "_update_rank", counting)
    return seen


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The members recognition asks for badges, in order, as events are recorded."""
    from kudos.recognition import handlers as recognition

    seen: list[str] = []
    award = recognition._award_badges

    def counting(ctx: Any, badges: Any, member: Any, metrics: Any, actor: Any) -> None:
        seen.append(member.id)
        award(ctx, badges, member, metrics, actor)

    monkeypatch.setattr(recognition, "_award_badges", counting)
    return seen


def answered_topic(
    store: Store | None = None, *, clock: FakeClock | None = None, tags: Sequence[str] = ()
) -> Community:
    """A giffgaff community (on ``store``, or a new MemoryStore) where ann asks, bob, cat and
    bob reply, the first reply gets three kudos and the second one, and ann accepts the first."""
    c = Community(store=store, policy=kudos.policies.giffgaff(), clock=clock)
    for name in ("ann", "bob", "cat", "dan"):
        c.join(name)
    c.post_topic("t1", author="ann", title="No data abroad", tags=list(tags))
    for n, author in enumerate(("bob", "cat", "bob")):
        c.post_reply(f"r{n}", topic="t1", author=author)
    for giver in ("ann", "dan", "cat"):
        c.give_kudos("r0", giver=giver)
    c.give_kudos("r1", giver="ann")
    c.accept_solution("t1", reply="r0", by="ann")
    return c
