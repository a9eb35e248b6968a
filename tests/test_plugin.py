"""The pytest plugin, tested the way a host uses it: in a throwaway project run by pytester."""

from __future__ import annotations

import pytest

from conftest import postgres_url
from kudos import Community, MemoryStore
from kudos.testing import FakeClock

# The inner runs need neither hypothesis's plugin (it would import hypothesis afresh in
# each one, as pytester forgets the modules a run imported) nor a cache.
QUIET = ("-p", "no:hypothesispytest", "-p", "no:cacheprovider")


def test_fixtures_give_a_fresh_giffgaff_community_on_a_fake_clock(
    kudos_community: Community, kudos_clock: FakeClock, kudos_store: MemoryStore
) -> None:
    assert kudos_community.policy.name == "giffgaff"
    assert kudos_community.store is kudos_store and isinstance(kudos_store, MemoryStore)
    assert kudos_community.now() == kudos_clock() and kudos_community.id == "default"
    assert kudos_community.members() == []


@pytest.mark.kudos(policy="stackexchange", community="uk")
def test_the_marker_picks_the_preset_and_the_community(kudos_community: Community) -> None:
    assert (kudos_community.policy.name, kudos_community.id) == ("stackexchange", "uk")


def test_a_host_test_uses_the_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from datetime import UTC, datetime

        import pytest

        import kudos
        from kudos.testing import assert_consistent


        def test_an_accepted_answer_pays(kudos_community, kudos_clock):
            c = kudos_community
            c.join("asker")
            c.join("alice")
            c.post_topic("t1", author="asker")
            kudos_clock.advance(minutes=3)
            c.post_reply("r1", topic="t1", author="alice")
            c.accept_solution("t1", reply="r1", by="asker")
            assert c.standing("alice").lifetime_points == 50
            assert c.post("r1").posted_at == datetime(2026, 11, 23, 12, 3, tzinfo=UTC)
            assert_consistent(c)


        def test_each_test_starts_empty(kudos_community):
            assert kudos_community.members() == []


        @pytest.mark.kudos(policy=kudos.policies.giffgaff().evolve(name="ours"),
                           now=datetime(2026, 6, 1, tzinfo=UTC))
        def test_the_marker_takes_a_policy_object_and_a_start(kudos_community, kudos_policy):
            assert kudos_community.policy is kudos_policy
            assert kudos_policy.name == "ours"
            assert kudos_community.now() == datetime(2026, 6, 1, tzinfo=UTC)
        """
    )
    result = pytester.runpytest_inprocess("--strict-markers", *QUIET)
    result.assert_outcomes(passed=3)


def test_a_bad_marker_fails_the_test_with_what_it_takes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.kudos(policy="lithium")
        def test_unknown_preset(kudos_community):
            pass

        @pytest.mark.kudos(polcy="giffgaff")
        def test_misspelt_option(kudos_community):
            pass
        """
    )
    result = pytester.runpytest_inprocess(*QUIET)
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        ["*policy='lithium'*not a kudos.Policy nor a preset*", "*unknown option(s) polcy*"]
    )


def test_the_hosts_conftest_overrides_the_store_and_the_policy(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(
        """
        import pytest

        import kudos


        class HostStore(kudos.MemoryStore):
            transactions = 0

            def transaction(self, community):
                HostStore.transactions += 1
                return super().transaction(community)


        @pytest.fixture
        def kudos_store():
            return HostStore()


        @pytest.fixture
        def kudos_policy():
            return kudos.policies.stackexchange()
        """
    )
    pytester.makepyfile(
        """
        from conftest import HostStore


        def test_the_community_runs_on_the_hosts_store(kudos_community, kudos_store):
            assert type(kudos_store) is HostStore
            assert kudos_community.store is kudos_store
            assert kudos_community.policy.name == "stackexchange"
            kudos_community.join("alice")
            assert HostStore.transactions > 0
        """
    )
    result = pytester.runpytest_inprocess(*QUIET)
    result.assert_outcomes(passed=1)


def test_the_fixtures_are_listed_with_their_documentation(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest_inprocess("--fixtures", *QUIET)
    for name, says in [
        ("kudos_clock", "*FakeClock*"),
        ("kudos_store", "*MemoryStore*override it*"),
        ("kudos_policy", "*giffgaff preset*"),
        ("kudos_community", "*Community*kudos_store*"),
        ("kudos_sqlite_store", "*SqlStore*kudos_sqlite_engine*emptied*"),
        ("kudos_postgres_store", "*SqlStore*kudos_postgres_engine*emptied*"),
        ("kudos_connection", "*transaction begun, rolled back after the test*"),
        ("kudos_sql_store", "*SqlStore*joined to*kudos_connection*"),
        ("kudos_engine [[]session scope[]]", "*kudos_sqlite_engine*"),
    ]:
        result.stdout.fnmatch_lines([f"{name} -- *", says])


HOST_STORE_TESTS = """
import pathlib
from contextlib import contextmanager

import pytest

from kudos import MemoryStore
from kudos.stores.memory import MemoryTransaction
from kudos.testing.conformance import StoreConformance


class HostStore(MemoryStore):
    \"\"\"A host's store; it leaves a mark so the test can tell it ran.\"\"\"

    def transaction(self, community):
        pathlib.Path("host-store-used").touch()
        return super().transaction(community)


class ForgetfulStore(MemoryStore):
    \"\"\"Commits what a failed transaction wrote: the suite must catch it.\"\"\"

    @contextmanager
    def transaction(self, community):
        with super().transaction(community) as tx:
            try:
                yield tx
            except Exception:
                tx._undo.clear()
                raise


class TestHostStore(StoreConformance):
    @pytest.fixture
    def kudos_store(self):
        return HostStore()


class TestForgetfulStore(StoreConformance):
    @pytest.fixture
    def kudos_store(self):
        return ForgetfulStore()


class TestForgotTheFixture(StoreConformance):
    pass
"""


def test_a_host_proves_its_store_by_subclassing_the_conformance_suite(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_host_store=HOST_STORE_TESTS)
    chosen = {
        "TestHostStore": "rolls_back_everything or same_event_id_twice or withdrawn_kudos_takes",
        "TestForgetfulStore": "rolls_back_everything or refused_fact_leaves",
        "TestForgotTheFixture": "append_event_returns",
    }
    selection = " or ".join(f"({cls} and ({tests}))" for cls, tests in chosen.items())
    recorder = pytester.inline_run("-k", selection, *QUIET)
    outcomes: dict[str, list[str]] = {cls: [] for cls in chosen}
    for report in recorder.getreports("pytest_runtest_logreport"):
        if report.when == "call" or report.outcome != "passed":
            outcomes[report.nodeid.split("::")[1]].append(f"{report.when} {report.outcome}")
    assert outcomes == {
        "TestHostStore": ["call passed"] * 3,
        # A store that keeps what a failed transaction wrote fails the suite.
        "TestForgetfulStore": ["call failed"] * 2,
        "TestForgotTheFixture": ["setup failed"],
    }
    assert (pytester.path / "host-store-used").exists()
    (forgot,) = [
        r
        for r in recorder.getreports("pytest_runtest_logreport")
        if "TestForgotTheFixture" in r.nodeid and r.when == "setup"
    ]
    assert "override the kudos_store fixture" in str(forgot.longrepr)
    # Only the host's subclasses were collected: the base classes have no Test prefix.
    collected = {
        item.nodeid.split("::")[1]
        for call in recorder.getcalls("pytest_deselected")
        for item in call.items
    } | set(chosen)
    assert collected == set(chosen)


# -- the SQL fixtures ------------------------------------------------------------------------

SQL_BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _sql_host(pytester: pytest.Pytester, backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the inner runs at the test server (or at none, for SQLite)."""
    if backend == "postgres":
        monkeypatch.setenv("KUDOS_TEST_POSTGRES_URL", postgres_url())
    else:
        monkeypatch.delenv("KUDOS_TEST_POSTGRES_URL", raising=False)


# Reports five facts, the last one ``last(c)``: the inner tests' common start.
FIVE_FACTS = """
def five_facts(c, last):
    c.join("asker")
    c.join("alice")
    c.post_topic("t1", author="asker")
    c.post_reply("r1", topic="t1", author="alice")
    last(c)
"""

TWO_HOST_TESTS = """
import pytest

import kudos
from kudos.testing import assert_consistent

seen = {}


FIVE_FACTS


def test_first_writes(kudos_community, kudos_store, STORE_FIXTURE):
    assert kudos_store is STORE_FIXTURE and isinstance(kudos_store, kudos.SqlStore)
    assert kudos_store.dialect == DIALECT
    seen["engine"] = kudos_store.engine
    assert kudos_community.members() == []
    five_facts(kudos_community, lambda c: c.accept_solution("t1", reply="r1", by="asker"))
    assert kudos_community.standing("alice").points == 50
    assert {r.member: r.value for r in kudos_community.leaderboard(by="points")}["alice"] == 50
    assert_consistent(kudos_community)


def test_second_starts_empty_on_the_same_tables(kudos_community, kudos_store):
    assert kudos_store.engine is seen["engine"]  # one engine and its tables per session
    assert kudos_community.members() == []
    with pytest.raises(kudos.UnknownMember):
        kudos_community.standing("alice")
    assert kudos_community.leaderboard(by="points") == []
    # As many facts as the first test, with another outcome: nothing it read is served.
    five_facts(kudos_community, lambda c: c.give_kudos("r1", giver="asker"))
    assert kudos_community.standing("alice").points == 5
    assert {r.member: r.value for r in kudos_community.leaderboard(by="points")} == {"alice": 5}
"""


@pytest.mark.parametrize("backend", SQL_BACKENDS)
def test_a_host_runs_its_tests_on_a_sql_store_each_starting_empty(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    _sql_host(pytester, backend, monkeypatch)
    fixture = f"kudos_{backend}_store"
    pytester.makeconftest(
        f"""
        import pytest


        @pytest.fixture
        def kudos_store({fixture}):
            return {fixture}
        """
    )
    dialect = "sqlite" if backend == "sqlite" else "postgresql"
    tests = (
        TWO_HOST_TESTS.replace("FIVE_FACTS", FIVE_FACTS)
        .replace("STORE_FIXTURE", fixture)
        .replace("DIALECT", repr(dialect))
    )
    pytester.makepyfile(tests)
    result = pytester.runpytest_inprocess(*QUIET)
    result.assert_outcomes(passed=2)


ROLLED_BACK_TESTS = """
import pytest
from sqlalchemy import func, select

import kudos
from kudos.stores.sql import metadata


FIVE_FACTS


def test_kudos_writes_in_the_tests_transaction(kudos_community, kudos_connection):
    assert kudos_connection.in_transaction()
    five_facts(kudos_community, lambda c: c.accept_solution("t1", reply="r1", by="asker"))
    assert kudos_community.standing("alice").points == 50
    # The test's own connection sees kudos's rows: one transaction for both.
    events = metadata.tables["kudos_events"]
    assert kudos_connection.execute(select(func.count()).select_from(events)).scalar() == 5


def test_the_rolled_back_transaction_left_nothing(kudos_engine):
    with kudos_engine.connect() as conn:
        for table in metadata.sorted_tables:
            if table.name != "kudos_schema":
                rows = conn.execute(select(func.count()).select_from(table)).scalar()
                assert rows == 0, table.name
    community = kudos.Community(kudos.SqlStore(kudos_engine))
    assert community.members() == []
    with pytest.raises(kudos.UnknownMember):
        community.standing("alice")


def test_the_next_transaction_starts_from_nothing(kudos_community):
    five_facts(kudos_community, lambda c: c.give_kudos("r1", giver="asker"))
    assert kudos_community.standing("alice").points == 5
"""


@pytest.mark.parametrize("backend", SQL_BACKENDS)
def test_a_hosts_test_and_kudos_share_a_transaction_that_is_rolled_back(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    _sql_host(pytester, backend, monkeypatch)
    engine_override = (
        """
        @pytest.fixture(scope="session")
        def kudos_engine(kudos_postgres_engine):
            return kudos_postgres_engine
        """
        if backend == "postgres"
        else ""
    )
    pytester.makeconftest(
        f"""
        import pytest


        @pytest.fixture
        def kudos_store(kudos_sql_store):
            return kudos_sql_store

        {engine_override}
        """
    )
    pytester.makepyfile(ROLLED_BACK_TESTS.replace("FIVE_FACTS", FIVE_FACTS))
    result = pytester.runpytest_inprocess(*QUIET)
    result.assert_outcomes(passed=3)


def test_the_postgres_fixtures_say_how_to_enable_them(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KUDOS_TEST_POSTGRES_URL", raising=False)
    monkeypatch.delenv("KUDOS_REQUIRE_POSTGRES", raising=False)
    pytester.makepyfile(
        """
        def test_on_postgres(kudos_postgres_store):
            pass
        """
    )
    skipped = pytester.runpytest_inprocess("-rs", *QUIET)
    skipped.assert_outcomes(skipped=1)
    skipped.stdout.fnmatch_lines(["*KUDOS_TEST_POSTGRES_URL is not set; to run*set it to*"])

    monkeypatch.setenv("KUDOS_REQUIRE_POSTGRES", "1")
    required = pytester.runpytest_inprocess(*QUIET)
    required.assert_outcomes(errors=1)
    required.stdout.fnmatch_lines(["*KUDOS_REQUIRE_POSTGRES=1 but KUDOS_TEST_POSTGRES_URL*"])


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("sqlite:///x.db", "*is not a PostgreSQL URL; set it to e.g.*"),
        ("not a url", "*is not a PostgreSQL URL*"),
        (
            "postgresql+psycopg://kudos:wrong@127.0.0.1:1/none",
            "*cannot use the PostgreSQL database at KUDOS_TEST_POSTGRES_URL*kudos:[*][*][*]@*",
        ),
    ],
)
def test_a_bad_postgres_url_fails_saying_what_is_wrong(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, url: str, says: str
) -> None:
    monkeypatch.setenv("KUDOS_TEST_POSTGRES_URL", url)
    pytester.makepyfile(
        """
        def test_on_postgres(kudos_postgres_store):
            pass
        """
    )
    result = pytester.runpytest_inprocess(*QUIET)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([says])
    assert "Traceback" not in result.stdout.str().split("Failed:")[-1]


def test_kudos_joins_the_hosts_own_rolled_back_connection(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import pytest
        from sqlalchemy import Column, MetaData, String, Table, create_engine

        import kudos

        host = MetaData()
        topics = Table("topics", host, Column("id", String, primary_key=True))


        @pytest.fixture(scope="session")
        def engine(tmp_path_factory):
            engine = create_engine(f"sqlite:///{tmp_path_factory.mktemp('forum') / 'forum.db'}")
            host.create_all(engine)
            kudos.SqlStore(engine).create_all()
            yield engine
            engine.dispose()


        @pytest.fixture
        def db_connection(engine):
            with engine.connect() as conn:
                transaction = conn.begin()
                yield conn
                transaction.rollback()


        @pytest.fixture
        def kudos_connection(db_connection):
            return db_connection


        @pytest.fixture
        def kudos_store(kudos_sql_store):
            return kudos_sql_store
        """
    )
    pytester.makepyfile(
        """
        from sqlalchemy import func, select

        from conftest import topics
        from kudos.stores.sql import metadata


        def count(conn, table):
            return conn.execute(select(func.count()).select_from(table)).scalar()


        def test_the_host_and_kudos_write_in_one_transaction(db_connection, kudos_community):
            db_connection.execute(topics.insert().values(id="t1"))
            kudos_community.join("asker")
            kudos_community.post_topic("t1", author="asker")
            assert count(db_connection, topics) == 1
            assert count(db_connection, metadata.tables["kudos_events"]) == 2


        def test_neither_is_left_afterwards(engine):
            with engine.connect() as conn:
                assert count(conn, topics) == 0
                assert count(conn, metadata.tables["kudos_events"]) == 0
        """
    )
    result = pytester.runpytest_inprocess(*QUIET)
    result.assert_outcomes(passed=2)
