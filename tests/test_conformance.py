"""The store conformance suite, run against every store kudos ships."""

from __future__ import annotations

import pytest

from kudos import MemoryStore
from kudos.testing.conformance import StoreConformance


class TestMemoryStore(StoreConformance):
    @pytest.fixture
    def kudos_store(self) -> MemoryStore:
        return MemoryStore()
