"""The example forum without a browser: kudos writes inside the forum's own transaction."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select

import kudos
from conftest import postgres_url, process_prefix
from forum_app import APP, load_forum
from kudos.stores.sql import SqlStore, make_metadata
from kudos.testing import FakeClock, assert_consistent

pytest.importorskip("flask", reason="the example forum needs the [forum] extra (Flask)")


def forum(url: str, prefix: str = "") -> tuple[Any, Any, FakeClock]:
    clock = FakeClock(datetime(2026, 11, 20, 12, tzinfo=UTC))
    module = load_forum()
    app = module.create_app(
        url,
        clock=clock,
        table_prefix=f"{prefix}forum_",
        kudos_prefix=f"{prefix}kudos_",
        secret_key="test",
    )
    app.config["TESTING"] = True
    return module, app, clock


def sign_in(client: Any, name: str) -> None:
    client.post("/signout")
    page = client.post("/signin", data={"name": name}, follow_redirects=True)
    assert f"Signed in as {name}." in page.text


def rows(app: Any, table: str) -> int:
    engine = app.config["ENGINE"]
    with engine.connect() as conn:
        found = [t for t in _tables(conn) if t.endswith(table)]
        assert len(found) == 1, found
        return int(conn.exec_driver_sql(f"SELECT count(*) FROM {found[0]}").scalar_one())


def _tables(conn: Any) -> list[str]:
    from sqlalchemy import inspect

    return list(inspect(conn).get_table_names())


def question_answered(app: Any) -> Any:
    client = app.test_client()
    sign_in(client, "bob")
    page = client.post(
        "/ask", data={"title": "No data abroad", "tags": "roaming"}, follow_redirects=True
    )
    assert "No data abroad" in page.text
    sign_in(client, "alice")
    page = client.post("/t/1/reply", data={"body": "Turn on roaming"}, follow_redirects=True)
    assert "0 kudos" in page.text
    return client


def test_a_refused_fact_rolls_back_the_forums_own_row(tmp_path: Path) -> None:
    _, app, _ = forum(f"sqlite:///{tmp_path / 'forum.db'}")
    client = question_answered(app)
    events = rows(app, "kudos_events")
    page = client.post("/kudos/r1", data={"next": "/t/1"}, follow_redirects=True)
    assert "Not done: member &#39;alice&#39; cannot give kudos to their own reply" in page.text
    page = client.post("/kudos/r999", data={"next": "/t/1"}, follow_redirects=True)
    assert "Not done:" in page.text and "r999" in page.text
    assert (rows(app, "forum_kudos"), rows(app, "kudos_events")) == (0, events)
    sign_in(client, "bob")
    page = client.post("/kudos/r1", data={"next": "/t/1"}, follow_redirects=True)
    assert "1 kudos" in page.text and "(bob)" in page.text
    assert (rows(app, "forum_kudos"), rows(app, "kudos_events")) == (1, events + 1)


def test_a_new_member_and_their_kudos_identity_are_one_write(tmp_path: Path) -> None:
    _, app, _ = forum(f"sqlite:///{tmp_path / 'forum.db'}")
    client = app.test_client()
    page = client.post("/signin", data={"name": "carol", "ref": "no-such-code"})
    assert page.status_code == 302
    page = client.get("/signin")
    assert "Not done:" in page.text and "no-such-code" in page.text
    assert (rows(app, "forum_members"), rows(app, "kudos_events")) == (0, 0)


@pytest.mark.postgres
def test_the_forum_runs_on_postgresql() -> None:
    url = postgres_url()
    prefix = process_prefix()
    _, app, clock = forum(url, prefix)
    try:
        client = question_answered(app)
        sign_in(client, "bob")
        client.post("/kudos/r1", data={"next": "/t/1"})
        client.post("/t/1/accept/1")
        sign_in(client, "alice")
        client.post("/payout-method", data={"method": "credit"})
        page = client.get("/m/alice")
        assert re.search(r'id="points">55<', page.text)
        clock.set(datetime(2026, 12, 2, tzinfo=UTC))
        sign_in(client, "staff")
        page = client.post("/staff/close", data={"period": "2026-H2"}, follow_redirects=True)
        assert "Closed 2026-H2: 1 payout, £0.55." in page.text
        engine = app.config["ENGINE"]
        community = kudos.Community(
            SqlStore(engine, metadata=make_metadata(prefix=f"{prefix}kudos_")), clock=clock
        )
        assert_consistent(community, replay=False)
    finally:
        engine = create_engine(url)
        md = load_forum().forum_tables(f"{prefix}forum_")[0]
        md.drop_all(engine)
        make_metadata(prefix=f"{prefix}kudos_").drop_all(engine)
        engine.dispose()
        app.config["ENGINE"].dispose()


def test_members_pages_answer_404_for_strangers(tmp_path: Path) -> None:
    _, app, _ = forum(f"sqlite:///{tmp_path / 'forum.db'}")
    client = app.test_client()
    assert client.get("/m/nobody").status_code == 404
    assert client.get("/t/99").status_code == 404
    with app.config["ENGINE"].connect() as conn:
        assert conn.execute(select(func.count()).select_from(_forum_members(app))).scalar() == 0


def _forum_members(app: Any) -> Any:
    from sqlalchemy import MetaData, Table

    return Table("forum_members", MetaData(), autoload_with=app.config["ENGINE"])


def test_the_forum_starts_with_the_command_readme_gives(tmp_path: Path) -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    command = "python examples/forum/app.py"
    assert f".venv/bin/{command}" in readme
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, str(APP), "--port", str(port), "--url", f"sqlite:///{tmp_path / 'f.db'}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stderr is not None
        said = []
        for line in server.stderr:  # the development server says when it listens
            said.append(line)
            if f"Running on http://127.0.0.1:{port}" in line:
                break
        else:
            pytest.fail("the forum exited: " + "".join(said))
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as page:
            assert page.status == 200
            assert "Nothing yet: ask the first question." in page.read().decode()
    finally:
        server.terminate()
        server.wait(timeout=10)


PYTHON_ADVICE = re.compile(r"community\.|\w\(\)|\w=[\s,)]")


def flashed(page: Any) -> list[str]:
    import html

    return [html.unescape(m) for m in re.findall(r'class="flash">([^<]*)<', page.text)]


def test_a_closed_period_without_payouts_is_listed(tmp_path: Path) -> None:
    _, app, clock = forum(f"sqlite:///{tmp_path / 'forum.db'}")
    client = question_answered(app)  # alice earns nothing paid: below every minimum
    clock.set(datetime(2026, 12, 2, tzinfo=UTC))
    sign_in(client, "staff")
    page = client.post("/staff/close", data={"period": "2026-H2"}, follow_redirects=True)
    assert flashed(page) == ["Closed 2026-H2: 0 payouts, £0.00."]
    assert "No period has been closed yet." not in page.text
    assert "2026-H2 (1 Jun 2026 to 30 Nov 2026): 0 payouts, £0.00;" in page.text
    assert "No payouts: every point was carried over or lapsed." in page.text
    page = client.post("/staff/close", data={"period": "2026-H2"}, follow_redirects=True)
    assert flashed(page) == ["2026-H2 was already closed (0 payouts, £0.00); nothing changed."]


def test_the_staff_page_shows_each_periods_first_and_last_local_day(tmp_path: Path) -> None:
    _, app, _ = forum(f"sqlite:///{tmp_path / 'forum.db'}")
    client = app.test_client()
    sign_in(client, "staff")
    page = client.get("/staff")
    cells = re.findall(r"<tr><td>(2026-H[12])</td><td>([^<]*)</td><td>([^<]*)</td>", page.text)
    assert cells == [
        ("2026-H1", "1 Dec 2025", "31 May 2026"),
        ("2026-H2", "1 Jun 2026", "30 Nov 2026"),
    ]


def test_repeating_an_action_says_it_was_already_done(tmp_path: Path) -> None:
    _, app, _ = forum(f"sqlite:///{tmp_path / 'forum.db'}")
    client = question_answered(app)
    sign_in(client, "bob")
    page = client.post("/kudos/r1", data={"next": "/t/1"}, follow_redirects=True)
    assert flashed(page) == ["Kudos given."]
    page = client.post("/kudos/r1", data={"next": "/t/1"}, follow_redirects=True)
    assert flashed(page) == ["You had already given kudos to that."]
    assert "1 kudos" in page.text
    code = re.search(r"ref=([\w-]+)", client.get("/m/bob").text)
    assert code is not None
    client.post("/signout")
    client.post("/signin", data={"name": "carol", "ref": code.group(1)})
    sign_in(client, "staff")
    assert 'action="/staff/qualify/carol"' in client.get("/staff").text
    page = client.post("/staff/qualify/carol", follow_redirects=True)
    assert flashed(page) == ["carol's referral qualified."]
    assert 'action="/staff/qualify/carol"' not in page.text  # no longer pending
    page = client.post("/staff/qualify/carol", follow_redirects=True)
    assert flashed(page) == ["carol's referral had already qualified."]


def test_refusals_give_advice_in_the_forums_terms(tmp_path: Path) -> None:
    _, app, _ = forum(f"sqlite:///{tmp_path / 'forum.db'}")
    client = question_answered(app)
    page = client.post("/kudos/r999", data={"next": "/t/1"}, follow_redirects=True)
    [message] = flashed(page)
    assert message.startswith("Not done: unknown post 'r999'")
    assert not PYTHON_ADVICE.search(message), message
    module = load_forum()
    strict = module.create_app(
        f"sqlite:///{tmp_path / 'se.db'}", policy=kudos.policies.stackexchange(), secret_key="t"
    )
    client = question_answered(strict)
    sign_in(client, "bob")  # no reputation yet: may not give kudos under stackexchange
    page = client.post("/kudos/r1", data={"next": "/t/1"}, follow_redirects=True)
    [message] = flashed(page)
    assert message.startswith("Not done:") and not PYTHON_ADVICE.search(message), message


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/signin", {"name": "dan", "next": "https://evil.example/phish"}),
        ("/kudos/r1", {"next": "//evil.example/x"}),
        ("/t/1/vote", {"next": "/\\evil.example/x"}),
    ],
)
def test_next_only_leads_to_a_page_of_the_forum(
    tmp_path: Path, path: str, data: dict[str, str]
) -> None:
    _, app, _ = forum(f"sqlite:///{tmp_path / 'forum.db'}")
    client = question_answered(app)
    sign_in(client, "bob")
    page = client.post(path, data=data)
    assert page.status_code == 302
    assert "evil.example" not in page.headers["Location"]
    page = client.post(path, data={**data, "next": "/t/1"})
    assert page.headers["Location"] == "/t/1"


def at_once(clients: list[Any], path: str, data: dict[str, str]) -> list[int]:
    """The status of each client's POST of ``data`` to ``path``, all sent at the same moment."""
    import threading

    start = threading.Barrier(len(clients))
    statuses: list[int] = []

    def post(client: Any) -> None:
        start.wait()
        statuses.append(client.post(path, data=data).status_code)

    threads = [threading.Thread(target=post, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_a_double_click_is_not_a_server_error(tmp_path: Path) -> None:
    _, app, _ = forum(f"sqlite:///{tmp_path / 'forum.db'}")
    question_answered(app)
    clients = [app.test_client() for _ in range(8)]
    for client in clients:
        sign_in(client, "bob")
    assert at_once(clients, "/kudos/r1", {"next": "/t/1"}) == [302] * len(clients)
    assert rows(app, "forum_kudos") == 1
    newcomers = [app.test_client() for _ in range(6)]
    assert at_once(newcomers, "/signin", {"name": "zoe"}) == [302] * len(newcomers)


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/signin", {"name": "x" * 65}),
        ("/signin", {"name": "a/b"}),
        ("/signin", {"name": "nul\x00"}),
        ("/signin", {"name": "  "}),
        ("/ask", {"title": "t" * 201}),
        ("/ask", {"title": "   "}),
        ("/ask", {"title": "ok", "tags": "t" * 201}),
        ("/ask", {"title": "ok", "body": "a\x00b"}),
        ("/t/1/reply", {"body": "a\x00b"}),
        ("/kudos/" + "r" * 40, {"next": "/t/1"}),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_long_blank_or_nul_input_is_a_message_on_every_database(
    tmp_path: Path, path: str, data: dict[str, str]
) -> None:
    _, app, _ = forum(f"sqlite:///{tmp_path / 'forum.db'}")
    client = question_answered(app)
    before = (rows(app, "forum_members"), rows(app, "forum_topics"), rows(app, "forum_replies"))
    page = client.post(path, data=data, follow_redirects=True)
    assert page.status_code == 200
    [message] = flashed(page)
    assert message.startswith("Not done: "), message
    after = (rows(app, "forum_members"), rows(app, "forum_topics"), rows(app, "forum_replies"))
    assert after == before


def test_closing_the_period_before_everyone_joined_is_listed_too(tmp_path: Path) -> None:
    _, app, _ = forum(f"sqlite:///{tmp_path / 'forum.db'}")
    client = question_answered(app)  # everyone joined in 2026-H2
    sign_in(client, "staff")
    page = client.post("/staff/close", data={"period": "2026-H1"}, follow_redirects=True)
    assert flashed(page) == ["Closed 2026-H1: 0 payouts, £0.00."]
    page = client.get("/payouts")
    assert "No period has been closed yet." not in page.text
    assert "2026-H1 (1 Dec 2025 to 31 May 2026): 0 payouts, £0.00;" in page.text


def test_a_repeated_accept_and_an_empty_payout_form_are_said_plainly(tmp_path: Path) -> None:
    _, app, _ = forum(f"sqlite:///{tmp_path / 'forum.db'}")
    client = question_answered(app)
    sign_in(client, "bob")  # the asker
    first = client.post("/t/1/accept/1", follow_redirects=True)
    again = client.post("/t/1/accept/1", follow_redirects=True)
    assert flashed(first) == ["Marked as the solution."]
    assert flashed(again) == ["That reply was already the solution."]
    empty = client.post("/payout-method", data={}, follow_redirects=True)
    assert empty.status_code == 200
    assert flashed(empty) == ["Not done: the method field is empty"]
