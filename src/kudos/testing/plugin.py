"""The kudos pytest plugin: ``kudos_`` fixtures for a host's own tests.

pytest loads it wherever kudos is installed (the ``pytest11`` entry point),
so a host's tests can ask for the fixtures straight away::

    def test_an_accepted_answer_pays(kudos_community):
        kudos_community.join("alice")
        ...

=========================  =======================================================
``kudos_clock``            a :class:`~kudos.testing.FakeClock` (2026-11-23 12:00 UTC)
``kudos_store``            a fresh, empty :class:`~kudos.MemoryStore`
``kudos_policy``           the :func:`~kudos.policies.giffgaff` preset
``kudos_community``        a :class:`~kudos.Community` built from the three above
``kudos_sqlite_store``     a :class:`~kudos.SqlStore` on a SQLite file, emptied per test
``kudos_postgres_store``   the same on PostgreSQL (``KUDOS_TEST_POSTGRES_URL``)
``kudos_connection``       a connection on ``kudos_engine`` in a transaction that is
                           rolled back after the test
``kudos_sql_store``        a :class:`~kudos.SqlStore` joined to ``kudos_connection``
``kudos_sqlite_engine``    (session) an engine on a SQLite file holding kudos's tables
``kudos_postgres_engine``  (session) an engine on PostgreSQL, in a schema of this test
                           process holding kudos's tables, dropped at the end
``kudos_engine``           (session) the engine of ``kudos_connection``:
                           ``kudos_sqlite_engine`` unless overridden
=========================  =======================================================

Every fixture is per test unless marked (session): the tables are created
once per test session and every test starts with them empty. Override a
fixture in your ``conftest.py`` (same name) and the others build on yours;
most hosts point ``kudos_store`` at their database::

    @pytest.fixture
    def kudos_store(kudos_sqlite_store):  # or kudos_postgres_store, kudos_sql_store
        return kudos_sqlite_store

The PostgreSQL fixtures need ``KUDOS_TEST_POSTGRES_URL`` (a database in which
kudos may create and drop a schema); without it their tests are skipped,
or fail when ``KUDOS_REQUIRE_POSTGRES=1``.

The ``kudos`` marker changes the plugin's own fixtures for one test:
``@pytest.mark.kudos(policy="stackexchange", community="uk",
now=datetime(2026, 6, 1, tzinfo=UTC))``; ``policy`` is a
:class:`~kudos.Policy` or a preset's name.

The plugin imports kudos only when a test asks for a fixture, so it costs
nothing in test runs that do not use it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

    from ..community import Community
    from ..policy import Policy
    from ..stores.protocol import Store
    from ..stores.sql import SqlStore
    from . import FakeClock

__all__ = [
    "POSTGRES_URL_VAR",
    "REQUIRE_POSTGRES_VAR",
    "kudos_clock",
    "kudos_community",
    "kudos_connection",
    "kudos_engine",
    "kudos_policy",
    "kudos_postgres_engine",
    "kudos_postgres_store",
    "kudos_sql_store",
    "kudos_sqlite_engine",
    "kudos_sqlite_store",
    "kudos_store",
]

POSTGRES_URL_VAR = "KUDOS_TEST_POSTGRES_URL"
"""The environment variable holding the URL of the PostgreSQL database for the fixtures."""

REQUIRE_POSTGRES_VAR = "KUDOS_REQUIRE_POSTGRES"
"""Set to ``1`` (in CI) to fail, instead of skip, tests that need PostgreSQL without its URL."""

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


# -- SQL stores ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def kudos_sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """(session) An engine on a SQLite file of this test session, holding kudos's tables.

    Made as :meth:`~kudos.SqlStore.from_url` makes one (WAL, a busy timeout, writers
    queue) but with ``PRAGMA synchronous=OFF`` (commits do not wait for the disk: a
    test database needs no durability), holding the tables of
    :data:`kudos.stores.sql.metadata` (``kudos_events``, ...) created once; disposed of
    at the end of the session.
    """
    from sqlalchemy import event

    from ..stores.sql import SqlStore

    path = tmp_path_factory.mktemp("kudos") / "kudos.db"
    store = SqlStore.from_url(f"sqlite:///{path}", create=False)

    @event.listens_for(store.engine, "connect")
    def _no_sync(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA synchronous=OFF")  # a test database: speed, not durability

    store.create_all()
    yield store.engine
    store.close()


@pytest.fixture(scope="session")
def kudos_postgres_engine() -> Iterator[Engine]:
    """(session) An engine on PostgreSQL (``KUDOS_TEST_POSTGRES_URL``) holding kudos's tables.

    Its connections work in a schema of this test process, ``kudos_test_<pid>``
    (their ``search_path``), so parallel test runs on one database never meet; the
    tables are created there once and the schema is dropped at the end of the
    session. Commits do not wait for the disk (``synchronous_commit=off``). Skips
    the test when the variable is not set (fails when ``KUDOS_REQUIRE_POSTGRES=1``).
    """
    from sqlalchemy import text

    from ..stores.sql import SqlStore

    url = os.environ.get(POSTGRES_URL_VAR)
    if not url:
        message = (
            f"{POSTGRES_URL_VAR} is not set; to run the kudos_ PostgreSQL fixtures, set it to "
            "a database kudos may create a schema in, e.g. "
            "postgresql+psycopg://forum:secret@localhost/forum_test"
        )
        if os.environ.get(REQUIRE_POSTGRES_VAR) == "1":
            pytest.fail(f"{REQUIRE_POSTGRES_VAR}=1 but {message}")
        pytest.skip(message)
    from sqlalchemy.engine import make_url

    from ..errors import KudosError

    try:
        backend = make_url(url).get_backend_name()
    except Exception:  # SQLAlchemy's ArgumentError; any unparsable value says the same
        backend = None
    if backend != "postgresql":
        pytest.fail(
            f"{POSTGRES_URL_VAR}={url!r} is not a PostgreSQL URL; set it to e.g. "
            "postgresql+psycopg://forum:secret@localhost/forum_test"
        )
    schema = f"kudos_test_{os.getpid()}"
    # A test database: commits need not wait for the disk.
    options = f"-c search_path={schema} -c synchronous_commit=off"
    store = SqlStore.from_url(url, create=False, connect_args={"options": options})
    engine = store.engine

    def drop_schema() -> None:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))

    try:
        drop_schema()  # left behind by a run of the same process id that was killed
    except Exception as exc:  # the server, the password or the database is wrong
        detail = str(exc).splitlines()[0] if not isinstance(exc, KudosError) else str(exc)
        pytest.fail(
            f"cannot use the PostgreSQL database at {POSTGRES_URL_VAR} "
            f"({make_url(url).render_as_string(hide_password=True)}): {detail}"
        )
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        store.create_all()
        yield engine
    finally:
        drop_schema()
        store.close()


def _emptied(engine: Engine) -> SqlStore:
    """A store on ``engine`` whose tables (all but the schema version) were just emptied."""
    from sqlalchemy import delete

    from ..stores.sql import SqlStore

    store = SqlStore(engine)
    with engine.begin() as conn:
        for table in reversed(store.metadata.sorted_tables):
            if table is not store.tables.schema:
                conn.execute(delete(table))
    return store


@pytest.fixture
def kudos_sqlite_store(kudos_sqlite_engine: Engine) -> SqlStore:
    """A :class:`~kudos.SqlStore` on ``kudos_sqlite_engine``, its tables emptied for this test.

    kudos begins and commits its own transactions (engine mode).
    """
    return _emptied(kudos_sqlite_engine)


@pytest.fixture
def kudos_postgres_store(kudos_postgres_engine: Engine) -> SqlStore:
    """A :class:`~kudos.SqlStore` on ``kudos_postgres_engine``, its tables emptied for this test.

    kudos begins and commits its own transactions (engine mode). Skipped without
    ``KUDOS_TEST_POSTGRES_URL``.
    """
    return _emptied(kudos_postgres_engine)


@pytest.fixture(scope="session")
def kudos_engine(kudos_sqlite_engine: Engine) -> Engine:
    """(session) The engine ``kudos_connection`` connects to: ``kudos_sqlite_engine``.

    Override it (session scope) to return ``kudos_postgres_engine``, or an engine of
    your own whose database holds kudos's tables.
    """
    return kudos_sqlite_engine


@pytest.fixture
def kudos_connection(kudos_engine: Engine) -> Iterator[Connection]:
    """A connection on ``kudos_engine`` with a transaction begun, rolled back after the test.

    Whatever the test (and kudos, joined to it) wrote is gone afterwards, so
    nothing needs emptying. Work through this connection only, and do not
    commit it. On SQLite its transaction holds the database's write lock from
    the start, so another connection to ``kudos_sqlite_engine`` in the same
    test (``kudos_sqlite_store`` included) would wait for it, then fail.
    """
    with kudos_engine.connect() as conn:
        transaction = conn.begin()
        try:
            yield conn
        finally:
            if transaction.is_active:
                transaction.rollback()


@pytest.fixture
def kudos_sql_store(kudos_connection: Connection) -> SqlStore:
    """A :class:`~kudos.SqlStore` joined to ``kudos_connection``'s transaction.

    kudos writes in SAVEPOINTs of that transaction and never commits; the
    transaction is rolled back after the test, leaving the database as it was.
    As nothing commits, ``subscribe`` callbacks are not called: read
    ``community.notifications()`` (the outbox, in the same transaction) instead.
    """
    from ..stores.sql import SqlStore

    return SqlStore(kudos_connection)
