"""What a document or ledger write costs in index entries on the SQL stores.

The documents' ``ref`` and ``status`` indexes and the ledger's ``reverses`` index hold only
the rows where that column is set: most rows leave it empty, and every lookup names a value.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, inspect, text

import kudos
from kudos import Community, MemoryStore
from kudos.model import Doc
from kudos.stores.protocol import Store
from kudos.stores.sql import SqlStore, make_metadata

_PARTIAL = {
    "docs": {"ix_kudos_docs_ref": "ref IS NOT NULL", "ix_kudos_docs_status": "status IS NOT NULL"},
    "ledger": {"ix_kudos_ledger_reverses": "reverses IS NOT NULL"},
}


def _conditions(engine: Engine, prefix: str) -> dict[str, str | None]:
    """Each index of the documents and ledger tables, with its condition (or ``None``)."""
    dialect = engine.dialect.name
    with engine.connect() as conn:
        return {
            str(ix["name"]).replace(prefix, "kudos_"): (
                None
                if (where := ix.get("dialect_options", {}).get(f"{dialect}_where")) is None
                else " ".join(str(where).replace("(", "").replace(")", "").split())
            )
            for table in ("docs", "ledger")
            for ix in inspect(conn).get_indexes(f"{prefix}{table}")
        }


def _wanted(conditions: dict[str, str | None]) -> None:
    for table, partial in _PARTIAL.items():
        for name, condition in partial.items():
            assert conditions[name] == condition, (table, name, conditions)
    others = {
        n
        for n in conditions
        if not any(n in p for p in _PARTIAL.values()) and not n.endswith("docs_search")
    }
    assert others and all(conditions[n] is None for n in others)


def test_sqlite_document_and_ledger_indexes_hold_only_rows_with_a_value(tmp_path: Path) -> None:
    store = SqlStore.from_url(f"sqlite:///{tmp_path / 'k.db'}")
    _wanted(_conditions(store.engine, "kudos_"))
    store.close()


def test_postgresql_document_and_ledger_indexes_hold_only_rows_with_a_value(
    postgres_engine: Engine,
) -> None:
    md = make_metadata(prefix="ixw_")
    md.drop_all(postgres_engine)
    SqlStore(postgres_engine, metadata=md).create_all()
    try:
        _wanted(_conditions(postgres_engine, "ixw_"))
    finally:
        md.drop_all(postgres_engine)


def _plans(engine: Engine, queries: list[tuple[str, dict[str, Any]]]) -> list[str]:
    out = []
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SET enable_seqscan = off")
            conn.exec_driver_sql("SET enable_bitmapscan = off")
        for sql, params in queries:
            rows = conn.execute(text(f"EXPLAIN {sql}"), params).all()
            if engine.dialect.name == "sqlite":
                rows = conn.execute(text(f"EXPLAIN QUERY PLAN {sql}"), params).all()
            out.append(" | ".join(str(r[-1]) for r in rows))
    return out


_LOOKUPS = [
    ("SELECT * FROM {p}docs WHERE community = :c AND kind = :k AND ref = :r", "{p}docs_ref"),
    ("SELECT * FROM {p}docs WHERE community = :c AND kind = :k AND status = :s", "{p}docs_status"),
    (
        "SELECT reverses FROM {p}ledger WHERE community = :c AND reverses IN (:r, :s)",
        "{p}ledger_reverses",
    ),
]


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_every_lookup_by_ref_status_or_reversal_goes_through_its_partial_index(
    dialect: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if dialect == "sqlite":
        store = SqlStore.from_url(f"sqlite:///{tmp_path / 'k.db'}")
        engine, p = store.engine, "kudos_"
        md = None
    else:
        engine, p = request.getfixturevalue("postgres_engine"), "ixp_"
        md = make_metadata(prefix=p)
        md.drop_all(engine)
        store = SqlStore(engine, metadata=md)
        store.create_all()
    try:
        c = Community(store=store, policy=kudos.policies.giffgaff())
        for i in range(30):
            c.join(f"m{i}")
        for i in range(10):  # ledger lines, none of them a reversal
            c.post_topic(f"t{i}", author=f"m{i}", kind="question", title=f"Question {i}")
            c.post_reply(f"r{i}", topic=f"t{i}", author=f"m{i + 1}")
            for g in range(2, 5):
                c.give_kudos(f"r{i}", giver=f"m{i + g}")
        store.optimize()  # statistics, as a grown database has them
        params = {"c": "default", "k": "member", "r": "x", "s": "member"}
        plans = _plans(engine, [(sql.format(p=p), params) for sql, _ in _LOOKUPS])
        for plan, (_, index) in zip(plans, _LOOKUPS, strict=True):
            assert f"ix_{index.format(p=p)}" in plan, plan
    finally:
        if md is not None:
            md.drop_all(engine)
        else:
            store.close()


_KINDS = st.sampled_from(["a", "b"])
_KEYS = st.sampled_from(["k1", "k2", "k3"])
_REFS = st.sampled_from([None, "r1", "r2"])
_STATUSES = st.sampled_from([None, "open", "closed"])
_OPS = st.one_of(
    st.tuples(st.just("put"), _KINDS, _KEYS, _REFS, _STATUSES, st.integers(0, 3)),
    st.tuples(st.just("get"), _KINDS, _KEYS),
    st.tuples(st.just("find"), _KINDS, _REFS, _STATUSES),
)
_WORK = st.lists(st.tuples(st.lists(_OPS, max_size=8), st.booleans()), min_size=1, max_size=6)


class _Undo(Exception):
    pass


def _run(store: Store, community: str, work: list[tuple[list[Any], bool]]) -> list[Any]:
    """What each read of ``work`` answered; a transaction marked ``True`` is rolled back."""
    seen: list[Any] = []
    for ops, undo in work:
        try:
            with store.transaction(community) as tx:
                for op in ops:
                    if op[0] == "put":
                        _, kind, key, ref, status, n = op
                        tx.put(Doc(kind=kind, key=key, data={"n": n}, ref=ref, status=status))
                    elif op[0] == "get":
                        got = tx.get(op[1], op[2])
                        seen.append(None if got is None else (got.ref, got.status, got.data))
                    else:
                        _, kind, ref, status = op
                        found = tx.find(kind, ref=ref, status=status)
                        seen.append([(d.key, d.ref, d.status, d.data) for d in found])
                if undo:
                    raise _Undo
        except _Undo:
            pass
    with store.transaction(community) as tx:
        for kind in ("a", "b"):
            for ref in (None, "r1", "r2"):
                for status in (None, "open", "closed"):
                    found = tx.find(kind, ref=ref, status=status)
                    seen.append([(d.key, d.ref, d.status, d.data) for d in found])
    return seen


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_store(request: pytest.FixtureRequest) -> Iterator[SqlStore]:
    if request.param == "postgresql":
        yield request.getfixturevalue("postgres_store")
        return
    with tempfile.TemporaryDirectory() as d:
        store = SqlStore.from_url(f"sqlite:///{Path(d) / 'k.db'}")
        yield store
        store.close()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(work=_WORK)
def test_documents_written_in_any_order_are_found_by_ref_and_status_as_in_memory(
    sql_store: SqlStore, work: list[tuple[list[Any], bool]]
) -> None:
    community = f"c{uuid.uuid4().hex[:12]}"  # one community per example, on one store
    assert _run(sql_store, community, work) == _run(MemoryStore(), community, work)
