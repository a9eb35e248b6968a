"""Two app servers deliver one event id at the same moment: one fact, one answer.

At-least-once delivery meets a race: two processes record the same kudos
(same ``event_id``) while a third reports the reply it is given to. Each
delivery may be refused (the reply is not there yet) or accepted, but both get
the same answer, and so does any later delivery of that id. Before the
refusal was kept under the id's lock, a delivery refused just before the
reply arrived could be answered "unknown post" while the other was accepted.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from multiprocessing import get_context
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine

from kudos import Community, KudosError, policies
from kudos.events import KudosGiven
from kudos.stores.sql import SqlStore, make_metadata
from kudos.testing import FakeClock, assert_consistent

pytestmark = pytest.mark.postgres

TRIALS = 200
START = datetime(2026, 7, 15, 9, tzinfo=UTC)


def _community(url: str, prefix: str) -> Community:
    store = SqlStore(create_engine(url), metadata=make_metadata(prefix=prefix))
    clock = FakeClock(START + timedelta(days=30))
    return Community(store=store, policy=policies.giffgaff(), cache=None, clock=clock)


def _kudos(k: int) -> KudosGiven:
    return KudosGiven(
        post=f"r{k}", giver="a", at=START + timedelta(days=2, minutes=k), event_id=f"vote-{k}"
    )


def _deliver(url: str, prefix: str, role: int, barrier: Any) -> list[str]:
    """One process: for each trial, meet the others, then report the reply (role 2) or
    deliver the kudos (roles 0 and 1); the answer each got."""
    c = _community(url, prefix)
    c.standing("a")  # connected before the first trial
    answers = []
    for k in range(TRIALS):
        barrier.wait()
        try:
            if role == 2:
                at = START + timedelta(days=2, minutes=k)
                c.post_reply(f"r{k}", topic="t1", author="b", at=at, event_id=f"reply-{k}")
            else:
                c.record(_kudos(k))
            answers.append("accepted")
        except KudosError as error:
            answers.append(type(error).__name__)
    return answers


def test_one_event_id_delivered_twice_at_once_gets_one_answer(
    postgres_engine: Engine, prefix: str
) -> None:
    url = postgres_engine.url.render_as_string(hide_password=False)
    c = _community(url, prefix)
    for member in ("a", "b"):
        c.join(member, at=START)
    c.post_topic("t1", author="a", at=START)
    ctx = get_context("spawn")
    with ctx.Manager() as manager, ProcessPoolExecutor(3, mp_context=ctx) as pool:
        barrier = manager.Barrier(3, timeout=120)
        runs = [pool.submit(_deliver, url, prefix, role, barrier) for role in range(3)]
        first, second, _ = (run.result(timeout=600) for run in runs)
    differ = [(k, a, b) for k, (a, b) in enumerate(zip(first, second, strict=True)) if a != b]
    assert not differ, differ
    for k, answer in enumerate(first):  # a later delivery gets the same answer again
        try:
            c.record(_kudos(k))
            again = "accepted"
        except KudosError as error:
            again = type(error).__name__
        assert again == answer, (k, answer, again)
    with c.store.transaction(c.id) as tx:
        accepted = {e.event_id for e in tx.events()}
        refused = {e.payload["refused_id"] for e in tx.events() if e.type == "event-refused"}
    assert not accepted & refused  # never both
    assert_consistent(c)
