"""The kudos pytest plugin: ``kudos_`` fixtures for a host's own tests.

pytest loads it wherever kudos is installed (the ``pytest11`` entry point),
so a host's tests can ask for the fixtures straight away::

    def test_an_accepted_answer_pays(kudos_community):
        kudos_community.join("alice")
        ...

=====================  ===========================================================
``kudos_clock``        a :class:`~kudos.testing.FakeClock` (2026-11-23 12:00 UTC)
``kudos_store``        a fresh, empty :class:`~kudos.MemoryStore`
``kudos_policy``       the :func:`~kudos.policies.giffgaff` preset
``kudos_community``    a :class:`~kudos.Community` built from the three above
=====================  ===========================================================

Every fixture is per test. Override one in your ``conftest.py`` (same
name) and the others build on yours; most hosts override ``kudos_store``
to run on their own database::

    from kudos.stores.sql import SqlStore

    @pytest.fixture
    def kudos_store(tmp_path):
        return SqlStore.from_url(f"sqlite:///{tmp_path / 'kudos.db'}")

The ``kudos`` marker changes the plugin's own fixtures for one test:
``@pytest.mark.kudos(policy="stackexchange", community="uk",
now=datetime(2026, 6, 1, tzinfo=UTC))``; ``policy`` is a
:class:`~kudos.Policy` or a preset's name.

The plugin imports kudos only when a test asks for a fixture, so it costs
nothing in test runs that do not use it.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ..community import Community
    from ..policy import Policy
    from ..stores.protocol import Store
    from . import FakeClock

__all__ = ["kudos_clock", "kudos_community", "kudos_policy", "kudos_store"]

_MARKER_OPTIONS = ("policy", "community", "now")


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``kudos`` marker (so ``--strict-markers`` accepts it)."""
    config.addinivalue_line(
        "markers",
        "kudos(policy=None, community='default', now=None): the policy (a kudos.Policy or a "
        "preset name), community id and clock start of the kudos_ fixtures for this test",
    )


def _marker(request: pytest.FixtureRequest) -> dict[str, Any]:
    marker = request.node.get_closest_marker("kudos")
    if marker is None:
        return {}
    if marker.args:
        pytest.fail("@pytest.mark.kudos takes keywords only: policy=, community=, now=")
    unknown = sorted(set(marker.kwargs) - set(_MARKER_OPTIONS))
    if unknown:
        pytest.fail(
            f"@pytest.mark.kudos got unknown option(s) {', '.join(unknown)}; "
            f"it takes {', '.join(_MARKER_OPTIONS)}"
        )
    return dict(marker.kwargs)


@pytest.fixture
def kudos_clock(request: pytest.FixtureRequest) -> FakeClock:
    """A :class:`~kudos.testing.FakeClock` at 2026-11-23 12:00 UTC (or the marker's ``now``).

    Move it with ``kudos_clock.advance(days=1)`` or ``kudos_clock.set(when)``.
    """
    from . import FakeClock

    now = _marker(request).get("now")
    if now is not None and not isinstance(now, datetime):
        pytest.fail(f"@pytest.mark.kudos(now=...) takes a datetime, got {now!r}")
    return FakeClock(now)


@pytest.fixture
def kudos_store() -> Store:
    """A fresh, empty :class:`~kudos.MemoryStore`; override it to test on your own store."""
    from ..stores.memory import MemoryStore

    return MemoryStore()


@pytest.fixture
def kudos_policy(request: pytest.FixtureRequest) -> Policy:
    """The giffgaff preset (or the marker's ``policy``: a Policy or a preset's name)."""
    from .. import policies
    from ..policy import Policy

    chosen = _marker(request).get("policy", "giffgaff")
    if isinstance(chosen, Policy):
        return chosen
    if chosen not in policies.__all__:
        pytest.fail(
            f"@pytest.mark.kudos(policy={chosen!r}): not a kudos.Policy nor a preset "
            f"({', '.join(policies.__all__)})"
        )
    preset: Policy = getattr(policies, chosen)()
    return preset


@pytest.fixture
def kudos_community(
    request: pytest.FixtureRequest,
    kudos_store: Store,
    kudos_policy: Policy,
    kudos_clock: FakeClock,
) -> Community:
    """A :class:`~kudos.Community` on ``kudos_store`` under ``kudos_policy``, timed by
    ``kudos_clock`` (community id ``"default"``, or the marker's ``community``)."""
    from ..community import Community

    community_id = _marker(request).get("community", "default")
    return Community(
        store=kudos_store, policy=kudos_policy, community=community_id, clock=kudos_clock
    )
