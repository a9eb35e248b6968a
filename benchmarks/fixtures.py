"""What do the plugin's SQL fixtures cost a host's test suite, per test?

Run it on demand (it is not a test)::

    python benchmarks/fixtures.py                 # 200 tests per run
    python benchmarks/fixtures.py --tests 500
    KUDOS_TEST_POSTGRES_URL=postgresql+psycopg://... python benchmarks/fixtures.py

It writes a host's test module of ``--tests`` identical tests (each reports five
facts through ``kudos_community`` and reads a standing) and runs pytest on it
once per way of giving the tests a store, each in a fresh ``python -m pytest``
process, taking the session's time as pytest reports it:

* ``memory``: the plugin's default ``kudos_store``, a ``MemoryStore``;
* ``sqlite, a file per test``: the baseline, what docs/testing.md suggested
  before the SQL fixtures: ``SqlStore.from_url`` on a new file in ``tmp_path``
  (tables created for every test);
* ``kudos_sqlite_store``: one file per session, its tables emptied per test;
* ``kudos_sql_store (sqlite)``: joined to ``kudos_connection``, rolled back;

and, with ``KUDOS_TEST_POSTGRES_URL`` set, on PostgreSQL:

* ``postgres, tables per test``: the baseline, tables created under a new
  prefix before each test and dropped after it;
* ``kudos_postgres_store``: tables made once per session, emptied per test;
* ``kudos_sql_store (postgres)``: joined to ``kudos_connection``, rolled back.

It prints each run's time per test, the time per test above the ``memory``
run (what the store costs), and that cost as a ratio of its database's
baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

TEST = """
def test_{n}(kudos_community):
    c = kudos_community
    c.join("asker")
    c.join("alice")
    c.post_topic("t1", author="asker")
    c.post_reply("r1", topic="t1", author="alice")
    c.give_kudos("r1", giver="asker")
    assert c.standing("alice").points == 5
"""

PER_TEST_SQLITE = """
import pytest
from kudos.stores.sql import SqlStore

@pytest.fixture
def kudos_store(tmp_path):
    store = SqlStore.from_url(f"sqlite:///{tmp_path / 'kudos.db'}")
    yield store
    store.close()
"""

PER_TEST_POSTGRES = """
import itertools, os
import pytest
from sqlalchemy import create_engine
from kudos.stores.sql import SqlStore, make_metadata

numbers = itertools.count()

@pytest.fixture(scope="session")
def engine():
    engine = create_engine(os.environ["KUDOS_TEST_POSTGRES_URL"])
    yield engine
    engine.dispose()

@pytest.fixture
def kudos_store(engine):
    metadata = make_metadata(prefix=f"kudos_b{os.getpid()}_{next(numbers)}_")
    store = SqlStore(engine, metadata=metadata)
    store.create_all()
    yield store
    metadata.drop_all(engine)
"""


def _use(fixture: str) -> str:
    return f"""
import pytest

@pytest.fixture
def kudos_store({fixture}):
    return {fixture}
"""


ON_POSTGRES_ENGINE = """
@pytest.fixture(scope="session")
def kudos_engine(kudos_postgres_engine):
    return kudos_postgres_engine
"""


def _run(root: Path, conftest: str, tests: int) -> float:
    """Seconds a pytest run of ``tests`` tests takes with ``conftest``."""
    (root / "conftest.py").write_text(conftest)
    (root / "test_host.py").write_text("".join(TEST.format(n=n) for n in range(tests)))
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p"]
    command += ["no:hypothesispytest", str(root / "test_host.py")]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
    # pytest's own figure: the session, without starting Python and importing pytest.
    summary = re.search(rf"\b{tests} passed in ([0-9.]+)s", done.stdout)
    if done.returncode != 0 or summary is None:
        raise SystemExit(f"the run failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return float(summary.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tests", type=int, default=200, help="tests per run (200)")
    args = parser.parse_args()
    runs: list[tuple[str, str, str | None]] = [
        ("memory", "", None),
        ("sqlite, a file per test", PER_TEST_SQLITE, None),
        ("kudos_sqlite_store", _use("kudos_sqlite_store"), "sqlite, a file per test"),
        ("kudos_sql_store (sqlite)", _use("kudos_sql_store"), "sqlite, a file per test"),
    ]
    if os.environ.get("KUDOS_TEST_POSTGRES_URL"):
        runs += [
            ("postgres, tables per test", PER_TEST_POSTGRES, None),
            ("kudos_postgres_store", _use("kudos_postgres_store"), "postgres, tables per test"),
            (
                "kudos_sql_store (postgres)",
                _use("kudos_sql_store") + ON_POSTGRES_ENGINE,
                "postgres, tables per test",
            ),
        ]
    else:
        print("KUDOS_TEST_POSTGRES_URL is not set: SQLite only\n")
    per_test: dict[str, float] = {}
    print(f"{args.tests} tests per run\n")
    print(f"{'store':<28} {'per test':>10} {'store cost':>11} {'vs baseline':>12}")
    for name, conftest, baseline in runs:
        with tempfile.TemporaryDirectory() as directory:
            seconds = _run(Path(directory), conftest, args.tests)
        per_test[name] = seconds / args.tests
        cost = per_test[name] - per_test["memory"]
        ratio = ""
        if baseline is not None:
            ratio = f"{cost / (per_test[baseline] - per_test['memory']):.2f}"
        print(f"{name:<28} {per_test[name] * 1e3:>8.2f}ms {cost * 1e3:>9.2f}ms {ratio:>12}")


if __name__ == "__main__":
    main()
