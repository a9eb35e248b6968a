"""A community opened from a URL survives a fork: each child uses connections of its own.

Hosts that load the app once and fork workers (``gunicorn --preload``, a
multiprocessing pool forked from the app) make the community, and connect, in
the parent. Before this was handled, the children used the parent's open
connection: two processes on one socket read each other's results
(``IndexError``, ``KeyError``) or hung.
"""

from __future__ import annotations

import multiprocessing
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from conftest import postgres_url
from kudos import Community, policies
from kudos.stores.sql import SqlStore, make_metadata
from kudos.testing import assert_consistent

CHILDREN, EACH = 3, 6
AT = datetime(2026, 11, 2, 9, tzinfo=UTC)


_shared: list[Community] = []
"""The community the parent made before forking (children find it here, as a forked
worker finds the app's module globals)."""


def _child(k: int) -> int:
    """In a forked worker: members join and read their standing back, through the
    community object the parent made (and connected)."""
    community = _shared[0]
    for i in range(EACH):
        member = f"c{k}m{i}"
        community.join(member, at=AT)
        assert community.standing(member).member == member
        community.give_kudos("boss-topic", giver=member, at=AT)
    return community.standing("boss").reputation


def _run(url: str, prefix: str | None = None, *, own_engine: bool = False) -> None:
    if own_engine:  # the host's engine, handed to SqlStore
        store = SqlStore(create_engine(url), metadata=make_metadata(prefix=prefix))
        store.create_all()
    else:
        store = SqlStore.from_url(url, prefix=prefix)
    community = Community(store=store, policy=policies.giffgaff())
    _shared[:] = [community]
    try:
        _forked(community)
    finally:
        store.close()
        _shared.clear()


def _forked(community: Community) -> None:
    community.join("boss", at=AT)
    community.post_topic("boss-topic", author="boss", at=AT)
    assert community.standing("boss").reputation == 0  # the parent holds a pooled connection
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(CHILDREN) as pool:
        results = [pool.apply_async(_child, (k,)) for k in range(CHILDREN)]
        seen = [r.get(timeout=120) for r in results]
    assert all(1 <= n <= CHILDREN * EACH for n in seen)
    # The parent's own connection still works, and sees every child's writes.
    assert community.standing("boss").reputation == CHILDREN * EACH
    assert [row.member for row in community.leaderboard("kudos_received", limit=5)] == ["boss"]
    assert_consistent(community)


def test_children_forked_after_a_sqlite_community_connected_write_and_read(
    tmp_path: Path,
) -> None:
    _run(f"sqlite:///{tmp_path / 'forum.db'}")


@pytest.mark.postgres
@pytest.mark.parametrize("own_engine", [False, True], ids=["url", "host-engine"])
def test_children_forked_after_a_postgres_community_connected_write_and_read(
    own_engine: bool,
) -> None:
    prefix = f"kudos_f{os.getpid()}_"
    try:
        _run(postgres_url(), prefix, own_engine=own_engine)
    finally:
        engine = create_engine(postgres_url())
        make_metadata(prefix=prefix).drop_all(engine)
        engine.dispose()
