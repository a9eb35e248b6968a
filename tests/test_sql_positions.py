"""Positions on SQLite boards read through the store's rank summary (``BoardRanks``).

The summary is kept between transactions while nothing changes the database;
these tests check that its answers equal counting the board, in tie groups
larger than its bookmark step, with members left out, and after writes made
by the same store and by another one.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from sqlalchemy import event

from kudos.stores._sql_tx import RANK_STEP
from kudos.stores.sql import SqlStore

BOARD = ("points", "all")


def _value(i: int) -> int:
    if i % 97 == 0:
        return -i % 5 - 1  # a few negative values: they are on the board, last
    if i % 7 == 0:
        return 2 + i % 3
    return 1  # one tie group several bookmark steps long


def _expected(store: SqlStore, exclude: tuple[str, ...]) -> dict[str, tuple[int | None, int]]:
    with store.transaction("default") as tx:
        listed = tx.top(*BOARD, limit=2**31 - 1, exclude=exclude)
    board = [(m, v) for m, v in listed if v > 0]  # positions rank positive values only
    return {m: (i + 1, len(board)) for i, (m, _) in enumerate(board)}


def _check(store: SqlStore, members: list[str], exclude: tuple[str, ...]) -> None:
    expected = _expected(store, exclude)
    size = len(expected)
    with store.transaction("default") as tx:
        for m in members:
            assert tx.position(*BOARD, m, exclude=exclude) == expected.get(m, (None, size)), m


@pytest.fixture
def store(tmp_path: Path) -> SqlStore:
    s = SqlStore.from_url(f"sqlite:///{tmp_path / 'ranks.db'}")
    members = 4 * RANK_STEP + 300
    with s.transaction("default") as tx:
        tx.add({(*BOARD, f"m{i:05d}"): _value(i) for i in range(members)})
    return s


def _sample(members: int) -> list[str]:
    near_bookmarks = {
        i for k in range(1, members // RANK_STEP + 2) for i in range(k * RANK_STEP - 3, k * 1100)
    }
    picked = set(range(0, members, 13)) | {i for i in near_bookmarks if i < members}
    return [f"m{i:05d}" for i in sorted(picked)] + ["nobody"]


def test_positions_in_long_tie_groups_equal_counting_the_board(store: SqlStore) -> None:
    sample = _sample(4 * RANK_STEP + 300)
    _check(store, sample, ())
    _check(store, sample, ("m00001", "m00007", "m02050", "m03000", "m00097"))


def test_the_board_is_summarised_once_and_kept_up_to_date_by_this_stores_writes(
    store: SqlStore,
) -> None:
    summaries = []

    @event.listens_for(store.engine, "before_cursor_execute")
    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        if "GROUP BY" in statement:
            summaries.append(statement)

    with store.transaction("default") as tx:
        first = tx.position(*BOARD, "m00002")
    with store.transaction("default") as tx:
        assert tx.position(*BOARD, "m00002") == first
        tx.position(*BOARD, "m04000")
    with store.transaction("default") as tx:
        tx.add({(*BOARD, "m00002"): 10})
    with store.transaction("default") as tx:
        assert tx.position(*BOARD, "m00002") == (1, first[1])
    assert len(summaries) == 1
    other = SqlStore.from_url(store.engine.url)
    with other.transaction("default") as tx:
        tx.add({(*BOARD, "m00003"): 20})
    other.close()
    with store.transaction("default") as tx:
        assert tx.position(*BOARD, "m00003") == (1, first[1])
    assert len(summaries) == 2


def test_positions_follow_writes_of_this_store_and_of_others(store: SqlStore) -> None:
    sample = _sample(4 * RANK_STEP + 300)
    _check(store, sample, ("m00001",))
    with store.transaction("default") as tx:
        tx.add({(*BOARD, "m00003"): 1, (*BOARD, "m02049"): -1, (*BOARD, "m09999"): 1})
    _check(store, [*sample, "m09999"], ("m00001",))
    url = store.engine.url
    other = SqlStore.from_url(url)
    with other.transaction("default") as tx:
        tx.add({(*BOARD, "m00004"): 5, (*BOARD, "m03500"): -1})
    other.close()
    _check(store, [*sample, "m09999"], ("m00001",))


def test_a_transaction_that_counted_sees_its_own_changes(store: SqlStore) -> None:
    with store.transaction("default") as tx:
        tx.position(*BOARD, "m00005")
        tx.add({(*BOARD, "m00005"): 100})
        assert tx.position(*BOARD, "m00005")[0] == 1


def test_random_writes_keep_every_position_exact(store: SqlStore) -> None:
    rng = random.Random(7)
    members = 4 * RANK_STEP + 300
    names = [f"m{i:05d}" for i in range(members + 200)]  # some never on the board yet
    exclude = ("m00001", "m00014", "m02051")
    summaries = []

    @event.listens_for(store.engine, "before_cursor_execute")
    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        if "GROUP BY" in statement:
            summaries.append(statement)

    _check(store, _sample(members), exclude)  # summarise, bookmarks included
    for _ in range(12):
        with store.transaction("default") as tx:
            moves = {}
            for name in rng.sample(names, rng.randrange(1, 60)):
                if rng.random() < 0.3:  # leave the board, or join it when not on it
                    moves[(*BOARD, name)] = -tx.counter(*BOARD, name) or 1
                else:
                    moves[(*BOARD, name)] = rng.choice([-1, 1, 1, 2])
            tx.add(moves)
            if rng.random() < 0.3:
                tx.add({(*BOARD, rng.choice(names)): 1})
        _check(store, rng.sample(names, 300) + list(exclude), exclude)
    assert len(summaries) == 1  # every write was applied to the summary, none redone
