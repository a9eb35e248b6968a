"""The fixtures every conformance class shares."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ...community import Community
from ...policies import giffgaff
from ...policy import Policy
from ...stores.protocol import Store
from .. import FakeClock


class ConformanceBase:
    """Fixtures: ``kudos_store`` (override it), ``clock``, ``make_community``, ``community``."""

    @pytest.fixture
    def kudos_store(self) -> Store:
        """Override in your subclass: return a fresh, empty store."""
        pytest.fail("override the kudos_store fixture to return the store under test")

    @pytest.fixture
    def clock(self) -> FakeClock:
        """A fake clock at 2026-11-23 12:00 UTC."""
        return FakeClock()

    @pytest.fixture
    def make_community(self, kudos_store: Store, clock: FakeClock) -> Callable[..., Community]:
        """Build a community on the store under test (``policy=``, ``community=``...)."""

        def make(policy: Policy | None = None, **options: Any) -> Community:
            options.setdefault("clock", clock)
            return Community(store=kudos_store, policy=policy or giffgaff(), **options)

        return make

    @pytest.fixture
    def community(self, make_community: Callable[..., Community]) -> Community:
        """A giffgaff-policy community on the store under test."""
        return make_community()
