"""The store conformance suite, run against every store kudos ships."""

from __future__ import annotations

import pytest

from kudos import MemoryStore
from kudos.stores.sql import SqlStore
from kudos.testing.conformance import StoreConformance


class TestMemoryStore(StoreConformance):
    @pytest.fixture
    def kudos_store(self, memory_store: MemoryStore) -> MemoryStore:
        return memory_store


class TestSqliteStore(StoreConformance):
    @pytest.fixture
    def kudos_store(self, sqlite_store: SqlStore) -> SqlStore:
        return sqlite_store


@pytest.mark.postgres
class TestPostgresStore(StoreConformance):
    @pytest.fixture
    def kudos_store(self, postgres_store: SqlStore) -> SqlStore:
        return postgres_store
