"""kudos's tables in a host's Alembic project: migrations run as generated, on both databases.

Each test makes a throwaway Alembic project (``alembic init``), wires kudos's tables
into its ``env.py`` exactly as docs/stores.md says, autogenerates a migration, upgrades,
autogenerates again (nothing left to do), then runs a kudos community on the result.
"""

from __future__ import annotations

import importlib
import re
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.autogenerate.api import AutogenContext
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy.dialects import postgresql

import kudos
from conftest import postgres_url, process_prefix
from kudos.stores.sql import SqlStore, make_metadata, render_item
from kudos.testing import assert_consistent

DOCS = Path(__file__).parent.parent / "docs" / "stores.md"

# The lines docs/stores.md tells a host to put in env.py (checked against the page below).
ENV_IMPORTS = """\
import kudos.stores.sql
from myapp.models import metadata as app_metadata

target_metadata = [app_metadata, kudos.stores.sql.metadata]
"""
ENV_CONFIGURE = "render_item=kudos.stores.sql.render_item"
# The full-text index of similar-topic search: never dropped, made when missing.
ENV_SEARCH = (
    "include_name=kudos.stores.sql.include_name",
    "process_revision_directives=kudos.stores.sql.process_revision_directives",
)

# A host's models. With a render_item of its own (combined with kudos's as docs/stores.md
# shows) a column has a type of the host's, which that render_item writes.
HOST_MODELS = """
import sqlalchemy as sa

import kudos.stores.sql


class Slug(sa.types.TypeDecorator):
    impl = sa.String(40)
    cache_ok = True


metadata = sa.MetaData()
topics = sa.Table(
    "forum_topics",
    metadata,
    sa.Column("id", sa.String(20), primary_key=True),
    sa.Column("slug", {slug_type}, nullable=False),
    sa.Column("accepted_reply", sa.String(20), nullable=True),
)


def render_item(type_, obj, autogen_context):
    rendered = kudos.stores.sql.render_item(type_, obj, autogen_context)
    if rendered is not False:
        return rendered
    if type_ == "type" and isinstance(obj, Slug):
        autogen_context.imports.add("import myapp.models")
        return "myapp.models.Slug()"
    return False
"""


@pytest.fixture(autouse=True)
def _forget_myapp() -> Iterator[None]:
    """Each test's host package is its own: drop the one an earlier test imported."""

    def forget() -> None:
        for name in [n for n in sys.modules if n == "myapp" or n.startswith("myapp.")]:
            del sys.modules[name]

    forget()
    yield
    forget()


def _project(root: Path, url: str, *, own_render_item: bool) -> Config:
    """A new Alembic project in ``root`` on ``url`` whose env.py follows docs/stores.md."""
    package = root / "myapp"
    package.mkdir()
    (package / "__init__.py").write_text("")
    slug_type = "Slug()" if own_render_item else "sa.String(40)"
    (package / "models.py").write_text(HOST_MODELS.replace("{slug_type}", slug_type))
    ini = str(root / "alembic.ini")
    command.init(Config(ini), str(root / "migrations"))
    config = Config(ini)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    env = root / "migrations" / "env.py"
    source = env.read_text()
    assert source.count("target_metadata = None") == 1
    assert source.count("fileConfig(config.config_file_name)") == 1
    assert source.count("target_metadata=target_metadata") == 2  # offline and online
    hook = ", ".join(["render_item=render_item" if own_render_item else ENV_CONFIGURE, *ENV_SEARCH])
    source = source.replace("target_metadata = None", ENV_IMPORTS).replace(
        "target_metadata=target_metadata", f"target_metadata=target_metadata, {hook}"
    )
    # Leave the test process's logging to pytest (fileConfig would disable its loggers).
    source = source.replace("fileConfig(config.config_file_name)", "pass")
    if own_render_item:
        source = source.replace(ENV_IMPORTS, ENV_IMPORTS + "from myapp.models import render_item\n")
    env.write_text(source)
    return config


def _autogenerate(config: Config, message: str) -> str:
    """Autogenerate a revision; its ``upgrade()`` body, comments left out."""
    script = command.revision(config, message=message, autogenerate=True)
    assert script is not None and not isinstance(script, list)
    source = Path(script.path).read_text()
    body = re.search(r"def upgrade\(\) -> None:\n(.*?)\n\n\ndef downgrade", source, re.S)
    assert body is not None, source
    lines = [line.strip() for line in body.group(1).splitlines()]
    return "\n".join(line for line in lines if line and not line.startswith(("#", '"""')))


def _round_trip(
    root: Path,
    url: str,
    monkeypatch: pytest.MonkeyPatch,
    *,
    own_render_item: bool,
    generated_on: str | None = None,
) -> str:
    """Autogenerate (against ``generated_on``, default ``url``), upgrade ``url`` and
    autogenerate again; the first migration's upgrade()."""
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.chdir(root)
    config = _project(root, generated_on or url, own_render_item=own_render_item)
    first = _autogenerate(config, "kudos tables")
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, "head")
    second = _autogenerate(config, "nothing to do")
    assert second == "pass", f"the second autogenerate still found changes:\n{second}"
    return first


def _community_works(engine: sa.Engine) -> None:
    community = kudos.Community(SqlStore(engine), kudos.policies.giffgaff())
    community.join("asker")
    community.join("alice")
    community.post_topic("t1", author="asker", title="No data abroad")
    assert [s.topic for s in community.similar_topics("data abroad")] == ["t1"]
    community.post_reply("r1", topic="t1", author="alice")
    community.give_kudos("r1", giver="asker")
    community.accept_solution("t1", reply="r1", by="asker")
    assert community.standing("alice").points == 55
    assert_consistent(community)


def test_a_generated_migration_runs_on_sqlite_and_leaves_nothing_to_generate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'forum.db'}"
    migration = _round_trip(tmp_path, url, monkeypatch, own_render_item=False)
    assert "kudos.stores" not in migration  # plain SQLAlchemy types: kudos may move its own
    assert "CREATE VIRTUAL TABLE kudos_search_fts USING fts5" in migration
    engine = sa.create_engine(url)
    try:
        names = set(sa.inspect(engine).get_table_names())
        assert {n for n in names if kudos.stores.sql.include_name(n, "table", {})} == {
            "alembic_version",
            "forum_topics",
            *kudos.stores.sql.metadata.tables,
        }
        assert "kudos_search_fts" in names
        _community_works(engine)
    finally:
        engine.dispose()


@pytest.fixture
def postgres_schema_url() -> Iterator[str]:
    """The test server's URL, working in a fresh schema of this test process."""
    url = sa.make_url(postgres_url())
    schema = f"{process_prefix()}alembic"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False
        )
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


@pytest.mark.postgres
def test_a_generated_migration_runs_on_postgresql_and_leaves_nothing_to_generate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, postgres_schema_url: str
) -> None:
    migration = _round_trip(tmp_path, postgres_schema_url, monkeypatch, own_render_item=True)
    assert "postgresql.JSONB(astext_type=sa.Text())" in migration
    assert "myapp.models.Slug()" in migration  # the host's own render_item still ran
    assert "USING gin (to_tsvector('simple'::regconfig" in migration
    engine = sa.create_engine(postgres_schema_url)
    try:
        indexes = {i["name"] for i in sa.inspect(engine).get_indexes("kudos_docs")}
        assert "ix_kudos_docs_search" in indexes
        columns = {c["name"]: c["type"] for c in sa.inspect(engine).get_columns("kudos_events")}
        assert isinstance(columns["payload"], postgresql.JSONB)
        assert isinstance(columns["at"], sa.DateTime) and columns["at"].timezone
        _community_works(engine)
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_a_migration_generated_on_sqlite_runs_on_postgresql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, postgres_schema_url: str
) -> None:
    sqlite_url = f"sqlite:///{tmp_path / 'dev.db'}"
    migration = _round_trip(
        tmp_path,
        postgres_schema_url,
        monkeypatch,
        own_render_item=False,
        generated_on=sqlite_url,
    )
    # Generated on SQLite, where Alembic would write JSONB(astext_type=Text()) bare.
    assert "postgresql.JSONB(astext_type=sa.Text())" in migration
    engine = sa.create_engine(postgres_schema_url)
    try:
        _community_works(engine)
    finally:
        engine.dispose()


def test_the_sqlite_migration_makes_the_same_tables_as_create_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    migrated, created = tmp_path / "migrated.db", tmp_path / "created.db"
    (tmp_path / "project").mkdir()
    _round_trip(tmp_path / "project", f"sqlite:///{migrated}", monkeypatch, own_render_item=True)
    SqlStore.from_url(f"sqlite:///{created}").close()

    def tables(path: Path) -> dict[str, object]:
        """Each kudos table's columns (name, declared type, not null, key) and indexes."""
        engine = sa.create_engine(f"sqlite:///{path}")
        with engine.connect() as conn:
            found = {
                table: (
                    [row[1:] for row in conn.exec_driver_sql(f"PRAGMA table_info({table})")],
                    sorted(row[1:3] for row in conn.exec_driver_sql(f"PRAGMA index_list({table})")),
                )
                for table in kudos.stores.sql.metadata.tables
            }
        found["full-text index"] = _search_objects(engine)
        engine.dispose()
        return found

    assert tables(migrated) == tables(created)


def _autogen_context() -> AutogenContext:
    migration = MigrationContext.configure(dialect_name="sqlite")
    return AutogenContext(migration, opts={"sqlalchemy_module_prefix": "sa."}, autogenerate=False)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        ("timestamp", "sa.DateTime(timezone=True).with_variant(sa.String(length=32), 'sqlite')"),
        (
            "json",
            "sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')",
        ),
    ],
)
def test_render_item_writes_kudos_types_as_plain_sqlalchemy(make: str, expected: str) -> None:
    column = {"timestamp": "at", "json": "payload"}[make]
    type_ = make_metadata(prefix="forum_").tables["forum_events"].c[column].type
    context = _autogen_context()
    assert render_item("type", type_, context) == expected
    assert context.imports == (
        {"from sqlalchemy.dialects import postgresql"} if make == "json" else set()
    )


def test_render_item_leaves_everything_else_to_alembic() -> None:
    context = _autogen_context()
    events = kudos.stores.sql.metadata.tables["kudos_events"]
    for type_, obj in [
        ("type", sa.String(20)),
        ("type", postgresql.JSONB()),  # a host's own JSONB column renders as Alembic does
        ("type", sa.JSON().with_variant(postgresql.JSONB(none_as_null=True), "postgresql")),
        ("type", sa.DateTime(timezone=True).with_variant(sa.String(32), "sqlite")),
        ("column", events.c.at),
        ("server_default", sa.text("now()")),
    ]:
        assert render_item(type_, obj, context) is False, (type_, obj)
    assert context.imports == set()


def test_the_docs_give_the_env_py_lines_this_test_uses() -> None:
    page = DOCS.read_text()
    assert ENV_IMPORTS.replace("\n\n", "\n") in textwrap.dedent(page).replace("\n\n", "\n")
    assert ENV_CONFIGURE in page
    for line in ENV_SEARCH:
        assert line in page


def _search_objects(engine: sa.Engine) -> list[tuple[str, str]]:
    """The full-text index's objects in the database: (type, name), sorted."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            rows = conn.execute(
                sa.text("SELECT 'index', indexname FROM pg_indexes WHERE indexname LIKE '%search%'")
            )
        else:
            rows = conn.execute(
                sa.text("SELECT type, name FROM sqlite_master WHERE name LIKE '%search_fts%'")
            )
        return sorted((str(r[0]), str(r[1])) for r in rows)


def _on_tables_made_by_create_all(
    root: Path, url: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[object], list[object]]:
    """Tables made by ``create_all()`` (full-text index included): autogenerate's
    differences without and with ``include_name``; an autogenerated revision is empty."""
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.chdir(root)
    engine = sa.create_engine(url)
    try:
        SqlStore(engine).create_all()
        made = _search_objects(engine)
        assert made, "create_all made no full-text index"
        with engine.connect() as conn:
            diffs = []
            for hook in (None, kudos.stores.sql.include_name):
                opts = {"include_name": hook} if hook else {}
                context = MigrationContext.configure(conn, opts=opts)
                diffs.append(compare_metadata(context, kudos.stores.sql.metadata))
        config = _project(root, url, own_render_item=False)
        importlib.import_module("myapp.models").metadata.create_all(engine)  # the host's own
        command.stamp(config, "head")
        assert _autogenerate(config, "nothing to do") == "pass"
        assert _search_objects(engine) == made
    finally:
        engine.dispose()
    return diffs[0], diffs[1]


def test_autogenerate_neither_drops_nor_repeats_the_sqlite_full_text_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bare, hooked = _on_tables_made_by_create_all(
        tmp_path, f"sqlite:///{tmp_path / 'made.db'}", monkeypatch
    )
    dropped = {d[1].name for d in bare if isinstance(d, tuple) and d[0] == "remove_table"}
    assert "kudos_search_fts" in dropped  # what include_name keeps autogenerate from doing
    assert hooked == []


@pytest.mark.postgres
def test_autogenerate_neither_drops_nor_repeats_the_postgresql_full_text_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, postgres_schema_url: str
) -> None:
    bare, hooked = _on_tables_made_by_create_all(tmp_path, postgres_schema_url, monkeypatch)
    dropped = {d[1].name for d in bare if isinstance(d, tuple) and d[0] == "remove_index"}
    assert "ix_kudos_docs_search" in dropped
    assert hooked == []


def test_the_migration_drops_the_full_text_index_on_downgrade(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'forum.db'}"
    _round_trip(tmp_path, url, monkeypatch, own_render_item=False)
    engine = sa.create_engine(url)
    try:
        assert _search_objects(engine)
        command.downgrade(_config(tmp_path, url), "base")
        assert _search_objects(engine) == []
    finally:
        engine.dispose()


def _config(root: Path, url: str) -> Config:
    config = Config(str(root / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config
