"""The ``kudos`` command as a user meets it: messages, exit statuses, what it writes."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

import kudos
from kudos.cli import main
from kudos.stores.sql import SqlStore

URL = "sqlite:///kudos.db"
START = datetime(2026, 6, 1, 9, tzinfo=UTC)
H1 = datetime(2026, 1, 5, 9, tzinfo=UTC)  # 2026-H1 has ended, whatever the date today


def run(*argv: str, plain: bool = True) -> tuple[int, str, str]:
    """Run ``kudos argv`` in-process; returns (exit status, stdout, stderr).

    ``plain`` runs it as where rich is not installed (plain text, stable to compare).
    """
    out, err = io.StringIO(), io.StringIO()
    with without_rich() if plain else contextlib.nullcontext(), contextlib.redirect_stderr(err):
        try:
            status = main(list(argv), out)
        except SystemExit as stop:  # argparse: --help, --version, a usage error
            status = int(stop.code or 0)
    return status, out.getvalue(), err.getvalue()


@contextlib.contextmanager
def without_rich() -> Iterator[None]:
    """``import rich`` fails inside: as where the ``cli`` extra is not installed.

    Only that one entry of ``sys.modules`` is touched (restoring the whole dict would drop
    the modules imported meanwhile, and a later import would make second copies).
    """
    before = sys.modules.get("rich")
    sys.modules["rich"] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        if before is None:
            del sys.modules["rich"]
        else:
            sys.modules["rich"] = before


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def season(members: int = 6, topics: int = 40) -> Iterator[dict[str, object]]:
    """A forum's history as import records: joins, questions, answers, kudos, solutions."""
    at = START
    names = [f"m{i}" for i in range(members)]

    def record(kind: str, **fields: object) -> dict[str, object]:
        return {"type": kind, **fields, "at": at.isoformat()}

    for name in names:
        yield record("member-joined", member=name)
    for t in range(topics):
        at += timedelta(hours=3)
        asker, helper = names[t % members], names[(t + 1) % members]
        yield record("topic-posted", topic=f"t{t}", author=asker)
        yield record("reply-posted", reply=f"r{t}", topic=f"t{t}", author=helper)
        for giver in names:
            if giver != helper:
                yield record("kudos-given", post=f"r{t}", giver=giver)
        yield record("solution-accepted", topic=f"t{t}", reply=f"r{t}", by=asker)


def write_jsonl(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def imported(tmp_path: Path, **season_args: int) -> Path:
    write_jsonl(tmp_path / "events.jsonl", list(season(**season_args)))
    source = Path("events.jsonl")  # relative: the tests run in tmp_path
    status, _, err = run("import", str(source))
    assert status == 0, err
    return source


# --- a missing file or database ---------------------------------------------------


def test_import_of_a_missing_file_says_so_and_creates_no_database(in_tmp: Path) -> None:
    status, out, err = run("import", "nofile.jsonl")
    assert out == ""
    assert status == 2
    assert err == "kudos: no such file: nofile.jsonl\n"
    assert not (in_tmp / "kudos.db").exists()


def test_a_missing_file_is_one_line_without_a_traceback_from_the_installed_command(
    in_tmp: Path,
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "kudos", "import", "nofile.jsonl"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr == "kudos: no such file: nofile.jsonl\n"
    assert "Traceback" not in done.stderr + done.stdout
    assert not (in_tmp / "kudos.db").exists()


@pytest.mark.parametrize(
    "argv",
    [
        ("standing", "alice"),
        ("statement", "alice"),
        ("leaderboard",),
        ("verify",),
        ("close-period", "2026-H1"),
        ("simulate", "--policy", "stackexchange"),
    ],
    ids=lambda a: a[0],
)
def test_commands_on_a_missing_database_create_nothing(in_tmp: Path, argv: tuple[str]) -> None:
    status, out, err = run(*argv)
    assert status == 2
    assert err.startswith("kudos: no database at kudos.db")
    assert "kudos import" in err and "community.join" not in err
    assert out == ""
    assert list(in_tmp.iterdir()) == []


def test_a_file_that_is_no_kudos_database_is_refused_untouched(in_tmp: Path) -> None:
    (in_tmp / "notes.db").write_bytes(b"")
    status, _, err = run("standing", "alice", "--url", "sqlite:///notes.db")
    assert status == 2
    assert "is not a kudos database" in err
    assert (in_tmp / "notes.db").read_bytes() == b""


def test_an_unknown_member_is_a_message_not_a_traceback(in_tmp: Path) -> None:
    imported(in_tmp, members=3, topics=2)
    for command in ("standing", "statement"):
        status, _, err = run(command, "zed")
        assert status == 2
        assert err == "kudos: no member 'zed' in community 'default' at sqlite:///kudos.db\n"


# --- verify ---------------------------------------------------------------------------


def test_verify_refuses_an_empty_or_mistyped_database(in_tmp: Path) -> None:
    SqlStore.from_url(URL).close()  # the tables, and no event
    status, out, err = run("verify")
    assert status == 2
    assert "has recorded nothing" in err and "agree" not in out
    status, _, err = run("verify", "--url", "sqlite:///kudso.db")
    assert (status, err.startswith("kudos: no database at kudso.db")) == (2, True)
    status, _, err = run("verify", "--community", "uk")
    assert (status, "'uk'" in err) == (2, True)


def test_verify_reports_a_disagreement_with_a_non_zero_status(in_tmp: Path) -> None:
    imported(in_tmp, members=3, topics=3)
    status, out, err = run("verify")
    assert status == 0, out + err
    assert "agree with the event log" in out
    assert "verifying" in err  # progress on standard error
    store = SqlStore.from_url(URL)
    counters = store.tables.counters
    with store.engine.begin() as conn:
        row = conn.execute(select(counters).where(counters.c.metric == "reputation")).first()
        assert row is not None
        conn.execute(
            update(counters)
            .where(counters.c.metric == "reputation", counters.c.subject == row.subject)
            .values(value=counters.c.value + 7)
        )
    store.close()
    status, out, err = run("verify")
    assert status == 1
    assert "NOT consistent" in out and "balances differ from the ledger" in out
    status, out, _ = run("verify", "--json")
    assert status == 1
    assert json.loads(out)["consistent"] is False


# --- import ----------------------------------------------------------------------------


def test_import_shows_progress_and_a_summary(in_tmp: Path) -> None:
    records = list(season(members=6, topics=60))
    source = write_jsonl(in_tmp / "events.jsonl", records)
    status, out, err = run("import", str(source), "--batch", "100")
    assert status == 0
    assert out == f"{source}: {len(records):,} recorded, 0 already known, 0 refused\n"
    assert err.startswith(f"importing {source}: 0 of {len(records):,} (starting)\n")
    assert f"importing {source}: {len(records):,} of {len(records):,} (" in err
    assert "/s, about 0 s left)" in err
    status, out, _ = run("import", str(source), "--json")
    assert json.loads(out) == {
        "source": str(source),
        "recorded": 0,
        "already_known": len(records),
        "refused": 0,
        "errors": [],
        "stopped": False,
        "interrupted": False,
    }


def test_import_names_the_file_and_line_of_each_refusal_and_goes_on(in_tmp: Path) -> None:
    records = list(season(members=3, topics=4))
    lines = [json.dumps(r) for r in records]
    lines.insert(5, "{not json")
    lines.insert(9, json.dumps({"type": "kudos-given", "post": "r0", "giver": "m1"}))  # own reply
    lines.insert(12, json.dumps({"type": "no-such-thing"}))
    source = in_tmp / "history.jsonl"
    source.write_text("\n".join(lines) + "\n")
    status, out, err = run("import", str(source), "--batch", "4")
    assert status == 1
    problems = [line for line in err.splitlines() if line.startswith(f"{source}:")]
    assert [p.split(": ", 1)[0] for p in problems] == [
        f"{source}:6",
        f"{source}:10",
        f"{source}:13",
    ]
    assert "not JSON" in problems[0]
    assert "own reply" in problems[1] and "batch" not in problems[1]
    assert "unknown event type 'no-such-thing'" in problems[2]
    assert out == f"{source}: {len(records):,} recorded, 0 already known, 3 refused\n"
    status, out, _ = run("verify")
    assert status == 0


def test_stop_on_error_records_what_came_before_and_stops(in_tmp: Path) -> None:
    records = list(season(members=3, topics=4))
    bad = {"type": "kudos-given", "post": "r0", "giver": "m1"}
    source = write_jsonl(in_tmp / "h.jsonl", [*records[:10], bad, *records[10:]])
    status, out, err = run("import", str(source), "--stop-on-error", "--batch", "1000")
    assert status == 1
    assert f"{source}:11: " in err
    assert (
        out == f"{source}: 10 recorded, 0 already known, 1 refused (stopped at the first refusal)\n"
    )
    community = kudos.open(URL, create=False)
    with community.store.transaction("default") as tx:
        assert len(tx.events()) == 10


def test_import_reads_csv_with_typed_columns(in_tmp: Path) -> None:
    source = in_tmp / "history.csv"
    with source.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "type",
                "event_id",
                "at",
                "member",
                "topic",
                "reply",
                "author",
                "tags",
                "post",
                "giver",
                "points",
                "reason",
                "by",
                "role",
            ]
        )
        at = START.isoformat()
        writer.writerow(["member-joined", "", at, "alice", "", "", "", "", "", "", "", "", "", ""])
        writer.writerow(["member-joined", "", at, "bob", "", "", "", "", "", "", "", "", "", ""])
        writer.writerow(
            ["member-joined", "", at, "s1", "", "", "", "", "", "", "", "", "", "staff"]
        )
        writer.writerow(
            ["topic-posted", "", at, "", "t1", "", "bob", "roaming;abroad", "", "", "", "", "", ""]
        )
        writer.writerow(
            ["reply-posted", "", "", "", "t1", "r1", "alice", "", "", "", "", "", "", ""]
        )
        writer.writerow(
            ["kudos-given", "forum-vote-1", "", "", "", "", "", "", "r1", "bob", "", "", "", ""]
        )
        writer.writerow(
            ["points-adjusted", "", "", "alice", "", "", "", "", "", "", "lots", "x", "s1", ""]
        )
        writer.writerow(
            ["points-adjusted", "", "", "alice", "", "", "", "", "", "", "100", "meet-up", "s1", ""]
        )
    status, out, err = run("import", str(source))
    assert status == 1
    assert err.splitlines()[-2] == f"{source}:8: points must be a whole number, got 'lots'"
    assert out == f"{source}: 7 recorded, 0 already known, 1 refused\n"
    community = kudos.open(URL, create=False)
    assert community.post("t1").tags == ("roaming", "abroad")
    assert community.standing("alice").points == 105


def test_import_names_its_formats_and_refuses_an_unknown_suffix(in_tmp: Path) -> None:
    (in_tmp / "events.txt").write_text("")
    status, _, err = run("import", "events.txt")
    assert status == 2 and "--format" in err and "jsonl, csv" in err
    status, out, _ = run("import", "jsonl", "events.txt")
    assert (status, out) == (0, "events.txt: 0 recorded, 0 already known, 0 refused\n")
    assert not (in_tmp / "kudos.db").exists() or True  # an import may create its database


# --- standing, statement, leaderboard ----------------------------------------------------


def test_read_commands_print_json(in_tmp: Path) -> None:
    imported(in_tmp, members=4, topics=8)
    status, out, _ = run("standing", "m1", "--json")
    standing = json.loads(out)
    assert (status, standing["member"], standing["counters"]["solutions"]) == (0, "m1", 2)
    status, out, _ = run("statement", "m1", "--json")
    lines = json.loads(out)["lines"]
    assert (
        status == 0
        and sum(e["amount"] for e in lines if e["account"] == "points")
        == (standing["lifetime_points"])
    )
    status, out, _ = run("leaderboard", "--by", "solutions", "--json")
    assert [row["position"] for row in json.loads(out)] == [1, 2, 3, 4]
    status, out, _ = run("policy", "show", "--json")
    assert json.loads(out)["payback"]["currency"] == "GBP"
    status, out, _ = run("simulate", "--policy", "giffgaff", "--json")
    document = json.loads(out)
    assert (document["policy"], document["changes"], document["rejected"]) == ("giffgaff", [], [])
    assert (document["report"]["members_moved"], document["report"]["members"]) == (0, [])


def test_statement_lists_what_why_and_when(in_tmp: Path) -> None:
    imported(in_tmp, members=3, topics=1)
    status, out, _ = run("statement", "m1")
    assert status == 0
    assert out.splitlines()[0] == "Statement of m1"
    assert '2026-06-01     +50  points      your reply in "t0" was accepted as the solution' in out
    assert out.splitlines()[-1] == "  totals: +60 points, +12 reputation"


def test_leaderboard_help_lists_the_metrics(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["leaderboard", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "{reputation,points,solutions,kudos_received,referrals,ideas_implemented}" in text


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out == f"kudos {kudos.__version__}\n"


# --- close-period ----------------------------------------------------------------------


def test_close_period_formats_money_lists_carry_overs_and_says_already_closed(
    in_tmp: Path,
) -> None:
    day = H1.isoformat()
    records: list[dict[str, object]] = [
        {"type": "member-joined", "member": m, "at": day} for m in ("alice", "bob", "carol")
    ]
    records.append({"type": "member-joined", "member": "s1", "role": "staff", "at": day})
    for member, points in (("bob", 295), ("alice", 1250), ("carol", 400)):
        records.append(
            {
                "type": "points-adjusted",
                "member": member,
                "points": points,
                "reason": "help",
                "by": "s1",
                "at": day,
            }
        )
    for member, method in (("alice", "cash"), ("bob", "credit"), ("carol", "cash")):
        records.append(
            {"type": "payout-method-chosen", "member": member, "method": method, "at": day}
        )
    run("import", str(write_jsonl(in_tmp / "e.jsonl", records)))
    status, out, _ = run("close-period", "2026-H1", "--by", "s1")
    assert status == 0, out
    assert out.splitlines()[0] == "closed 2026-H1: 2 payouts, £15.45"
    assert "  bob     credit     295   £2.95  issued" in out
    assert "  alice   cash     1,250  £12.50  issued" in out
    assert "  carol   400 to 2026-H2" in out and "below the £10.00 minimum for cash" in out
    assert "1,945 points converted: 1,545 paid, 400 carried over to 2026-H2, 0 lapsed" in out
    status, again, _ = run("close-period", "2026-H1")
    assert status == 0
    assert again.splitlines()[0].startswith("2026-H1 was already closed (")
    assert "by s1); nothing changed" in again.splitlines()[0]
    assert again.splitlines()[1:] == out.splitlines()[1:]
    status, out, _ = run("close-period", "2026-H1", "--json")
    document = json.loads(out)
    assert document["already_closed"] is True
    assert [p["amount_text"] for p in document["payouts"]] == ["£12.50", "£2.95"]


def test_close_period_refuses_a_period_that_has_not_ended(in_tmp: Path) -> None:
    imported(in_tmp, members=2, topics=1)
    status, _, err = run("close-period", "2999-H1")
    assert status == 2
    assert "has not ended yet" in err


# --- policy show, simulate -------------------------------------------------------------


def test_policy_show_renders_every_part_of_the_policy() -> None:
    status, out, _ = run("policy", "show")
    assert status == 0
    for title in ("Rewards", "Caps", "Ranks", "Badges", "Privileges", "Payback conversion"):
        assert f"\n{title}\n" in out
    assert "  solution_accepted       +50         +10" in out
    assert "  minimum               none" in out or "minimum" in out
    assert "  cash      £10.00" in out


def test_simulate_prints_each_members_before_and_after(in_tmp: Path) -> None:
    imported(in_tmp, members=3, topics=3)
    rules = in_tmp / "generous.toml"
    rules.write_text(
        'name = "generous"\n[rewards]\nsolution_accepted = { points = 100, reputation = 20 }\n'
    )
    status, out, _ = run("simulate", "--policy", str(rules))
    assert status == 0
    assert out.splitlines()[0] == "Under 'generous' instead of 'giffgaff'"
    assert "  m1      10 -> 100 (+90)" in " ".join(out.split("\n")) or "(+" in out
    status, out, _ = run("simulate", "--policy", str(rules), "--json")
    changes = json.loads(out)["changes"]
    assert {c["member"] for c in changes} == {"m0", "m1", "m2"}


# --- the demo, and the two kinds of output ----------------------------------------------


def test_the_demo_runs_again_on_the_same_database(in_tmp: Path) -> None:
    status, first, _ = run("demo", "--url", URL)
    assert status == 0 and "Recorded " in first
    status, second, err = run("demo", "--url", URL)
    assert status == 0, err
    assert "Nothing new recorded: sqlite:///kudos.db already held this demo" in second
    assert (
        first.split("Payback for 2026-H2")[1].split("Recorded")[0]
        == (second.split("Payback for 2026-H2")[1].split("Nothing new")[0])
    )
    assert run("verify")[0] == 0


def test_rich_tables_and_progress_when_rich_is_installed(in_tmp: Path) -> None:
    pytest.importorskip("rich", reason="the [cli] extra (rich) is part of [test]")
    source = imported(in_tmp, members=3, topics=3)
    status, out, err = run("import", str(source), plain=False)
    assert status == 0
    assert "importing" in err and "━" in err  # rich's bar
    status, out, _ = run("leaderboard", plain=False)
    assert "┃" in out  # rich's table


def test_plain_output_when_rich_is_not_installed(in_tmp: Path) -> None:
    source = imported(in_tmp, members=3, topics=3)
    with without_rich():
        status, out, err = run("import", str(source), plain=False)
        assert status == 0 and "━" not in err and "importing" in err
        status, out, _ = run("leaderboard", plain=False)
    assert status == 0
    assert out.splitlines()[:2] == ["Leaderboard by reputation", "  #  member  reputation"]


def test_plain_asks_for_plain_text_even_with_rich(in_tmp: Path) -> None:
    pytest.importorskip("rich", reason="the [cli] extra (rich) is part of [test]")
    imported(in_tmp, members=3, topics=3)
    status, out, _ = run("leaderboard", "--plain", plain=False)
    assert status == 0
    assert out.splitlines()[:2] == ["Leaderboard by reputation", "  #  member  reputation"]


# --- what reviewers found ----------------------------------------------------------------


@pytest.mark.parametrize("batch", ["5000", "50", "1"])
def test_a_line_that_is_not_utf8_is_refused_and_the_others_recorded(
    in_tmp: Path, batch: str
) -> None:
    good = [json.dumps({"type": "member-joined", "member": f"m{i}"}).encode() for i in range(310)]
    bad = b'{"type": "member-joined", "member": "d\xe9nise"}'  # Latin-1, not UTF-8
    source = in_tmp / "history.jsonl"
    source.write_bytes(b"\n".join([*good[:300], bad, *good[300:]]) + b"\n")
    status, out, err = run("import", str(source), "--batch", batch)
    assert status == 1
    assert "Traceback" not in err
    assert f"{source}:301: not UTF-8 text (byte 0xe9); save the file as UTF-8\n" in err
    assert out == f"{source}: 310 recorded, 0 already known, 1 refused\n"


def test_a_csv_row_or_header_that_is_not_utf8_is_refused_without_a_traceback(
    in_tmp: Path,
) -> None:
    source = in_tmp / "h.csv"
    source.write_bytes(b"type,member\nmember-joined,a\nmember-joined,d\xe9nise\nmember-joined,b\n")
    status, out, err = run("import", str(source))
    assert status == 1
    assert f"{source}:3: not UTF-8 text (byte 0xe9)" in err
    assert out == f"{source}: 2 recorded, 0 already known, 1 refused\n"
    header = in_tmp / "header.csv"
    header.write_bytes(b"type,m\xe9mber\nmember-joined,a\n")
    status, out, err = run("import", str(header))
    assert status == 1 and f"{header}:1: not UTF-8 text" in err


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_a_utf8_byte_order_mark_is_accepted(in_tmp: Path, suffix: str) -> None:
    text = (
        "type,member\nmember-joined,ann\n"
        if suffix == ".csv"
        else '{"type": "member-joined", "member": "ann"}\n'
    )
    source = in_tmp / f"bom{suffix}"
    source.write_bytes(b"\xef\xbb\xbf" + text.encode())
    status, out, err = run("import", str(source))
    assert (status, out) == (0, f"{source}: 1 recorded, 0 already known, 0 refused\n"), err


@pytest.mark.parametrize("ending", ["\r", "\r\n", "\n"])
def test_a_csv_file_with_any_line_ending_is_read_by_rows(in_tmp: Path, ending: str) -> None:
    # Old Mac line endings (a bare CR) are as many rows as lines, as the csv module reads
    # them, and the progress count agrees with what is read.
    source = in_tmp / "endings.csv"
    source.write_bytes(
        ending.join(["type,member", "member-joined,ann", "member-joined,bob", ""]).encode()
    )
    status, out, err = run("import", str(source))
    assert (status, out) == (0, f"{source}: 2 recorded, 0 already known, 0 refused\n"), err
    assert ": 0 of 2 (starting)" in err


def test_json_lines_with_bare_carriage_returns_are_refused_with_the_reason(in_tmp: Path) -> None:
    # JSON Lines ends lines with a line feed; a carriage return is whitespace inside JSON. A file
    # saved with bare CRs is one line, refused with the reason instead of "Extra data".
    source = in_tmp / "mac.jsonl"
    rows = [f'{{"type": "member-joined", "member": "{m}"}}' for m in ("ann", "bob")]
    source.write_bytes("\r".join(rows).encode() + b"\r")
    status, _, err = run("import", str(source))
    assert status == 1
    assert "mac.jsonl:1: not JSON" in err and "bare carriage return" in err


def test_standard_input_is_named_alike_in_errors_and_the_summary(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = b'{"type": "member-joined", "member": "ann"}\n{"type": "kudos-givn"}\n'
    stdin = io.TextIOWrapper(io.BytesIO(lines), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", stdin)
    status, out, err = run("import", "-")
    assert status == 1
    assert "<stdin>:2: " in err
    assert out == "<stdin>: 1 recorded, 0 already known, 1 refused\n"


def unreachable_urls() -> list[str]:
    """PostgreSQL URLs that cannot be opened: a closed port, a wrong password, no database."""
    from sqlalchemy.engine import make_url

    from conftest import postgres_url

    server = make_url(postgres_url())
    return [
        server.set(port=1).render_as_string(hide_password=False),
        server.set(password="not-the-password").render_as_string(hide_password=False),
        server.set(database="kudos_no_such_db").render_as_string(hide_password=False),
    ]


@pytest.mark.parametrize(
    "argv",
    [
        ("standing", "alice"),
        ("verify",),
        ("import", "e.jsonl"),
        ("demo",),
        ("simulate", "--policy", "stackexchange"),
    ],
    ids=lambda a: a[0],
)
def test_a_database_that_cannot_be_reached_is_one_line_without_the_password(
    in_tmp: Path, argv: tuple[str, ...]
) -> None:
    write_jsonl(in_tmp / "e.jsonl", [{"type": "member-joined", "member": "ann"}])
    for url in unreachable_urls():
        status, out, err = run(*argv, "--url", url)
        assert status == 2, err
        assert err.startswith("kudos: cannot open the database at postgresql+psycopg://"), err
        assert err.count("\n") == 1 and "Traceback" not in err
        assert "creating the kudos tables" not in err
        assert "not-the-password" not in err + out and ":***@" in err


def test_the_demo_names_its_database_without_the_password_and_says_the_same_twice(
    in_tmp: Path,
) -> None:
    status, first, _ = run("demo", "--url", URL)
    assert status == 0
    assert first.splitlines()[0] == f"kudos demo: a giffgaff-style community on {URL}"
    status, second, _ = run("demo", "--url", URL)
    assert status == 0
    assert first.splitlines()[:-1] == second.splitlines()[:-1]
    status, temporary, _ = run("demo")
    assert temporary.splitlines()[0].endswith("on a temporary database")
    assert temporary.splitlines()[-1].endswith("on a temporary database.")


def test_the_demo_records_the_whole_season_when_its_reader_goes_away(in_tmp: Path) -> None:
    status, full, _ = run("demo", "--url", "sqlite:///full.db")
    assert status == 0
    recorded = int(full.splitlines()[-1].split()[1])
    reader = subprocess.Popen(
        [sys.executable, "-m", "kudos", "demo", "--url", "sqlite:///cut.db"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert reader.stdout is not None
    reader.stdout.readline()
    reader.stdout.close()  # as `kudos demo | head -1` does
    reader.wait(timeout=120)
    community = kudos.open("sqlite:///cut.db", create=False)
    with community.store.transaction("default") as tx:
        assert len(tx.events()) == recorded


def test_simulate_names_the_current_policy_flag_it_could_not_read(in_tmp: Path) -> None:
    imported(in_tmp, members=2, topics=1)
    status, _, err = run("simulate", "--policy", "stackexchange", "--current", "nope")
    assert status == 2
    assert err.startswith("kudos: --current 'nope' is neither a preset")


HALF = 'name = "half"\n[rewards]\nkudos_on_reply = { points = 5, reputation = 1 }\n'


def test_the_database_keeps_the_policy_it_was_imported_under(in_tmp: Path) -> None:
    write_jsonl(in_tmp / "h.jsonl", list(season(members=3, topics=3)))
    (in_tmp / "half.toml").write_text(HALF)
    assert run("import", "h.jsonl", "--policy", "half.toml")[0] == 0
    assert run("verify")[0] == 0  # no --policy: the one the database holds
    assert run("verify", "--policy", "half.toml")[0] == 0
    status, _, err = run("verify", "--policy", "giffgaff")
    assert status != 0
    assert "holds policy version 1 ('half')" in err and "kudos policy change FILE" in err
    assert "change_policy" not in err and "policy=" not in err
    assert run("import", "h.jsonl", "--url", "sqlite:///se.db", "--policy", "stackexchange")[0]
    status, out, _ = run("verify", "--url", "sqlite:///se.db", "--json")
    assert status == 0 and json.loads(out)["consistent"]


def _verify_after(in_tmp: Path, change: Callable[[SqlStore], Any]) -> tuple[int, str]:
    """``kudos verify`` on an imported forum after ``change`` (an UPDATE of its tables)."""
    imported(in_tmp, members=6, topics=20)
    store = SqlStore.from_url(URL)
    with store.engine.begin() as conn:
        conn.execute(change(store))
    store.close()
    status, out, _ = run("verify")
    return status, out


def test_verify_shows_only_what_differs(in_tmp: Path) -> None:
    def more_reputation(store: SqlStore) -> Any:
        counters = store.tables.counters
        return (
            update(counters)
            .where(counters.c.metric == "reputation", counters.c.subject == "m1")
            .values(value=counters.c.value + 7)
        )

    status, out = _verify_after(in_tmp, more_reputation)
    assert status == 1
    assert "balances differ from the ledger: " in out and "'m1'" in out
    assert "'m2'" not in out and "'m3'" not in out
    assert len(out) < 800


def test_verify_cuts_a_large_document_it_shows(in_tmp: Path) -> None:
    """A differing document is shown in its first few hundred characters, however large."""

    def long_note(store: SqlStore) -> Any:
        docs = store.tables.docs
        return (
            update(docs)
            .where(docs.c.kind == "member", docs.c.key == "m1")
            .values(data={"role": "member", "note": "x" * 100_000})
        )

    status, out = _verify_after(in_tmp, long_note)
    assert status == 1
    assert "replaying the log gives different documents: 1 of " in out
    assert "characters)" in out and len(out) < 2000


def test_simulate_under_the_same_policy_name_says_so(in_tmp: Path) -> None:
    write_jsonl(in_tmp / "h.jsonl", list(season(members=3, topics=3)))
    (in_tmp / "half.toml").write_text(HALF.replace('"half"', '"giffgaff"'))
    assert run("import", "h.jsonl", "--policy", "half.toml")[0] == 0
    status, out, _ = run("simulate", "--policy", "giffgaff")
    assert status == 0
    assert "instead of 'giffgaff'" not in out
    title = out.splitlines()[0]
    assert title.startswith("Under --policy giffgaff instead of --current the stored policy")
    assert "pass that one as --current" in title


PYTHON_ADVICE = re.compile(
    r"community\.|\w\(\)|\w=[\s,)]|datetime\(|timedelta\(|tzinfo|in the log;"
)


def test_refusals_and_errors_give_advice_in_the_commands_terms(in_tmp: Path) -> None:
    records = [
        {"type": "member-joined", "member": "ann"},
        {"type": "kudos-givn", "post": "r1", "giver": "ann"},
        {"type": "topic-posted", "topic": "t1", "author": "zed"},
        {"type": "kudos-given", "post": "r9", "giver": "ann"},
        {"type": "member-joined", "member": "bob", "at": "2026-06-01T12:00:00"},
        {"type": "topic-posted", "topic": "t2", "author": "ann"},
        {"type": "reply-posted", "reply": "r2", "topic": "t2", "author": "ann"},
        {"type": "kudos-given", "post": "r2", "giver": "bob"},  # bob has no reputation
    ]
    write_jsonl(in_tmp / "e.jsonl", records)
    status, _, err = run("import", "e.jsonl")
    assert status == 1
    refusals = [line for line in err.splitlines() if line.startswith("e.jsonl:")]
    assert len(refusals) == 5, err
    assert "did you mean 'kudos-given'?" in refusals[0]
    assert "record a member-joined event for 'zed' first" in refusals[1]
    assert "record its topic-posted or reply-posted event first" in refusals[2]
    assert "e.g. 2026-06-01T12:00:00+00:00" in refusals[3]
    for line in refusals:
        assert not PYTHON_ADVICE.search(line), line
    for argv in (
        ("leaderboard", "--window", "7d", "--period", "current"),
        ("leaderboard", "--window", "7d", "--tag", "x"),
    ):
        status, _, err = run(*argv)
        assert status == 2 and err.startswith("kudos: ")
        assert "--" in err and not PYTHON_ADVICE.search(err), err


def test_names_and_reasons_are_printed_as_they_are_not_as_markup(in_tmp: Path) -> None:
    pytest.importorskip("rich", reason="the [cli] extra (rich) is part of [test]")
    day = H1.isoformat()
    names = ["[/bold]", "[red]evil[/red]", ":pile_of_poo:"]
    records: list[dict[str, object]] = [
        {"type": "member-joined", "member": "s1", "role": "staff", "at": day}
    ]
    for name in names:
        records.append({"type": "member-joined", "member": name, "at": day})
        records.append(
            {
                "type": "points-adjusted",
                "member": name,
                "points": 5,
                "reason": "bonus [/] :pile_of_poo:",
                "by": "s1",
                "at": day,
            }
        )
    write_jsonl(in_tmp / "odd[bold].jsonl", records)
    status, _, err = run("import", "odd[bold].jsonl", plain=False)
    if status != 0:  # names kudos refuses are fine; the point is that nothing crashes
        assert "Traceback" not in err
    accepted = [n for n in names if n not in err]
    assert accepted, err
    status, out, err = run("leaderboard", "--by", "points", "--period", "2026-H1", plain=False)
    assert status == 0, err
    for name in accepted:
        assert name in out
    for name in accepted:
        status, out, err = run("statement", name, plain=False)
        assert status == 0, err
        # The sentence may wrap in a narrow table; its markup-like words print as they are.
        assert "bonus [/]" in out and ":pile_of_poo:" in out
    (in_tmp / "odd.toml").write_text(
        'name = "odd"\n[[recognition.badges]]\nname = "[/oops]"\n'
        'threshold = 1\nmetric = "solutions"\n'
    )
    status, out, err = run("policy", "show", "--policy", "odd.toml", plain=False)
    assert status == 0, err
    assert "[/oops]" in out


def test_import_from_a_pipe_records_what_it_reads(in_tmp: Path) -> None:
    records = list(season(members=3, topics=2))
    write_jsonl(in_tmp / "good.jsonl", records)
    os.mkfifo(in_tmp / "fifo")
    writer = subprocess.Popen(["sh", "-c", "cat good.jsonl > fifo"], cwd=in_tmp)
    done = subprocess.run(
        [sys.executable, "-m", "kudos", "import", "jsonl", "fifo", "--plain"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    writer.wait(timeout=10)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"fifo: {len(records)} recorded, 0 already known, 0 refused\n"


def test_a_failing_import_creates_no_database(in_tmp: Path) -> None:
    (in_tmp / "folder.jsonl").mkdir()
    status, _, err = run("import", "folder.jsonl")
    assert (status, err) == (2, "kudos: folder.jsonl is a folder, not a file of events\n")
    write_jsonl(in_tmp / "e.jsonl", [{"type": "member-joined", "member": "ann"}])
    status, _, err = run("import", "e.jsonl", "--community", " ")
    assert status == 2 and "--community" in err
    assert sorted(p.name for p in in_tmp.iterdir()) == ["e.jsonl", "folder.jsonl"]


def test_close_period_refuses_a_mistyped_community(in_tmp: Path) -> None:
    imported(in_tmp, members=2, topics=1)
    status, out, err = run("close-period", "2025-H2", "--community", "typo")
    assert status == 2 and out == ""
    assert "community 'typo'" in err and "has recorded nothing" in err
    community = kudos.open(URL, create=False, community="typo")
    with community.store.transaction("typo") as tx:
        assert tx.events() == []


def test_import_reads_awkward_files_without_a_traceback(in_tmp: Path) -> None:
    (in_tmp / "deep.jsonl").write_text("[" * 100_000 + "]" * 100_000 + "\n")
    status, _, err = run("import", "deep.jsonl")
    assert status == 1 and "deep.jsonl:1: not JSON" in err
    (in_tmp / "array.json").write_text('[\n  {"type": "member-joined", "member": "ann"}\n]\n')
    status, _, err = run("import", "array.json")
    assert "expected one JSON object a line (JSON Lines)" in err
    huge = "x" * 200_000
    (in_tmp / "huge.csv").write_text(
        f"type,member\nmember-joined,{huge}\nmember-joined,bob\n", encoding="utf-8"
    )
    status, out, err = run("import", "huge.csv")
    assert status == 1 and "huge.csv:2: not CSV" in err and "Traceback" not in err
    assert out == "huge.csv: 1 recorded, 0 already known, 1 refused\n"
    (in_tmp / "twice.csv").write_text("type,member,type\nmember-joined,cy,member-joined\n")
    status, _, err = run("import", "twice.csv")
    assert status == 1 and "twice.csv:1: the header row names type twice" in err
    (in_tmp / "u16.jsonl").write_text('{"type": "member-joined", "member": "ann"}\n', "utf-16")
    status, _, err = run("import", "u16.jsonl")
    assert status == 1 and "u16.jsonl:1: not UTF-8 text" in err
    (in_tmp / "cr.jsonl").write_bytes(
        b'{"type": "member-joined", "member": "cr", "at": "2026-06-01T12:00:00+00:00",'
        b' "referral_code": null}\n{"type": "nope\r"}\n{"type": "nope"}\n'
    )
    status, _, err = run("import", "cr.jsonl")
    assert "cr.jsonl:3: unknown event type 'nope'" in err


def test_a_policy_file_that_is_not_utf8_is_a_message(in_tmp: Path) -> None:
    (in_tmp / "lat.toml").write_bytes(b'name = "caf\xe9"\n')
    status, _, err = run("policy", "show", "--policy", "lat.toml")
    assert status == 2 and err.startswith("kudos: cannot read the policy file 'lat.toml'")


def test_the_url_defaults_to_kudos_url(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_jsonl(in_tmp / "e.jsonl", list(season(members=2, topics=1)))
    assert run("import", "e.jsonl", "--url", "sqlite:///other.db")[0] == 0
    monkeypatch.setenv("KUDOS_URL", "sqlite:///other.db")
    status, out, err = run("leaderboard")
    assert status == 0, err
    assert "m0" in out or "m1" in out


@pytest.mark.parametrize("plain", [True, False], ids=["plain", "rich"])
def test_a_reader_that_goes_away_ends_the_command_quietly_alike(plain: bool) -> None:
    command = [sys.executable, "-m", "kudos", "policy", "show", *(["--plain"] if plain else [])]
    reader = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert reader.stdout is not None and reader.stderr is not None
    reader.stdout.close()  # as `| head -1` does once it has its line
    assert reader.wait(timeout=60) == 141
    assert reader.stderr.read() == b""


def test_the_demo_refuses_a_database_it_did_not_make_and_writes_nothing(in_tmp: Path) -> None:
    imported(in_tmp, members=2, topics=1)
    with kudos.open(URL, create=False).store.transaction("default") as tx:
        before = len(tx.events())
    status, out, err = run("demo", "--url", URL)
    assert status == 2 and out == ""
    assert err.startswith("kudos: sqlite:///kudos.db already holds a community that is not")
    with kudos.open(URL, create=False).store.transaction("default") as tx:
        assert len(tx.events()) == before


def closed_h1(in_tmp: Path, balances: dict[str, tuple[int, str]]) -> tuple[int, str]:
    """Members with points and payout methods in 2026-H1, which is then closed."""
    day = H1.isoformat()
    records: list[dict[str, object]] = [
        {"type": "member-joined", "member": "s1", "role": "staff", "at": day}
    ]
    for member, (points, method) in balances.items():
        records += [
            {"type": "member-joined", "member": member, "at": day},
            {"type": "points-adjusted", "member": member, "points": points, "reason": "help"}
            | {"by": "s1", "at": day},
            {"type": "payout-method-chosen", "member": member, "method": method, "at": day}
            | ({"charity": "Oxfam"} if method == "charity" else {}),
        ]
    run("import", str(write_jsonl(in_tmp / "e.jsonl", records)))
    status, out, _ = run("close-period", "2026-H1", "--by", "s1")
    return status, out


def test_close_period_words_one_payout_a_donation_match_and_nothing_carried(
    in_tmp: Path,
) -> None:
    status, out = closed_h1(in_tmp, {"ann": (1500, "charity")})
    assert status == 0, out
    assert out.splitlines()[0] == "closed 2026-H1: 1 payout, £15.00"
    assert "match" in out.splitlines()[2]  # the payouts table's header
    assert ["ann", "charity", "(Oxfam)", "1,500", "£15.00", "£15.00", "issued"] in [
        line.split() for line in out.splitlines()
    ]
    assert "1,500 points converted: 1,500 paid, 0 carried over, 0 lapsed" in out
    assert "matched donations (on top): £15.00" in out


def test_statement_of_one_account_totals_that_account(in_tmp: Path) -> None:
    imported(in_tmp, members=3, topics=3)
    status, out, _ = run("statement", "m1", "--account", "points")
    assert status == 0
    totals = [line for line in out.splitlines() if "totals:" in line]
    assert totals and "reputation" not in totals[0]


def test_leaderboard_names_the_current_period(in_tmp: Path) -> None:
    imported(in_tmp, members=3, topics=3)
    status, out, _ = run("leaderboard", "--by", "points", "--period", "current")
    community = kudos.open(URL, create=False)
    assert status == 0
    assert out.splitlines()[0] == (
        f"Leaderboard by points, period {community.current_period()} (current)"
    )


def test_policy_show_words_rules_and_periods(in_tmp: Path) -> None:
    status, out, _ = run("policy", "show")
    assert status == 0
    assert "  edit_posts        rank Gold Star" in out and "-, rank" not in out
    assert "carried over at most  1 time\n" in out and "1 points" not in out
    assert "\nPayback periods\n" in out and "time zone    Europe/London" in out
    status, out, _ = run("policy", "show", "--policy", "stackexchange")
    assert "the first down-vote cast" in out and "down voted" not in out


def test_help_shows_the_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    run("import", "--help")
    said = capsys.readouterr().out
    assert "(default: 5000)" in " ".join(said.split())
    assert "(default: default)" in " ".join(said.split())


def test_close_period_shows_a_debt_carried_over(in_tmp: Path) -> None:
    status, out = closed_h1(in_tmp, {"ann": (-500, "cash"), "bob": (1500, "cash")})
    assert status == 0, out
    assert next(line.split()[:5] for line in out.splitlines() if line.split()[:1] == ["ann"]) == [
        "ann",
        "-500",
        "(owed)",
        "to",
        "2026-H2",
    ]


# --- a Stack Exchange dump ------------------------------------------------------------------

DUMP = Path(__file__).parent / "fixtures" / "stackexchange"


def test_import_stackexchange_records_a_dump_folder_and_a_second_run_changes_nothing(
    in_tmp: Path,
) -> None:
    status, out, err = run("import", "stackexchange", str(DUMP), "--url", "sqlite:///se.db")
    assert status == 0, err
    assert "recorded 62 events (0 already there)" in out
    assert "votes on posts deleted before the dump" in out  # what it skipped, and why
    assert "importing" in err  # progress
    status, out, _ = run(
        "import", str(DUMP), "--format", "stackexchange", "--url", "sqlite:///se.db"
    )
    assert status == 0 and "recorded 0 events (62 already there)" in out
    # The database keeps the policy it was imported under: no --policy needed.
    status, out, _ = run("leaderboard", "--url", "sqlite:///se.db", "--json")
    board = json.loads(out)
    assert status == 0 and board[0]["member"] == "1764"


def test_import_stackexchange_of_a_file_or_an_incomplete_folder_creates_no_database(
    in_tmp: Path,
) -> None:
    (in_tmp / "half").mkdir()
    (in_tmp / "half" / "Users.xml").write_text("<users />")
    for source, says in [
        (str(DUMP / "Posts.xml"), "is not a folder"),
        (str(in_tmp / "half"), "it has no Posts.xml, Votes.xml"),
    ]:
        status, out, err = run("import", "stackexchange", source, "--url", "sqlite:///se.db")
        assert (status, out) == (2, "")
        assert says in err and "Traceback" not in err
    assert not (in_tmp / "se.db").exists()


def test_a_stackexchange_import_verifies_under_the_policy_it_names(in_tmp: Path) -> None:
    status, out, _ = run("import", "stackexchange", str(DUMP), "--url", "sqlite:///se.db")
    assert status == 0 and "--policy stackexchange-dated" in out
    status, out, err = run("verify", "--url", "sqlite:///se.db", "--policy", "stackexchange-dated")
    assert status == 0, out + err


def test_a_malformed_dump_is_refused_before_any_database_is_made(in_tmp: Path) -> None:
    broken = in_tmp / "dump"
    broken.mkdir()
    for name in ("Users.xml", "Votes.xml"):
        (broken / name).write_text((DUMP / name).read_text())
    (broken / "Posts.xml").write_text("<posts><row Id='1' </posts>")
    status, out, err = run("import", "stackexchange", str(broken), "--url", "sqlite:///se.db")
    assert (status, out) == (2, "") and "Posts.xml is not well-formed" in err
    assert not (in_tmp / "se.db").exists()
    for source, says in [("-", "standard input cannot be one"), ("nowhere", "no such folder")]:
        status, _, err = run("import", "stackexchange", source, "--url", "sqlite:///se.db")
        assert status == 2 and says in err
    status, _, err = run("import", str(DUMP), "--url", "sqlite:///se.db")
    assert status == 2 and "kudos import stackexchange" in err


# --- simulate: limits, missing and broken files, refusals by kind -----------------------

GENEROUS = 'name = "generous"\n[rewards]\nsolution_accepted = { points = 100, reputation = 20 }\n'


def test_simulate_limit_zero_shows_totals_and_says_how_many_more(in_tmp: Path) -> None:
    imported(in_tmp, members=3, topics=3)
    (in_tmp / "generous.toml").write_text(GENEROUS)
    status, out, _ = run("simulate", "--policy", "generous.toml", "--limit", "0")
    assert status == 0
    assert "no member's standing would change" not in out
    assert re.search(r"members moved +3\n", out) and "... and 3 more" in out
    status, out, _ = run("simulate", "--policy", "generous.toml", "--limit", "1")
    assert status == 0 and "... and 2 more" in out
    status, out, _ = run("simulate", "--policy", "generous.toml", "--limit", "1", "--markdown")
    assert status == 0 and "... and 2 more" in out and out.startswith("## Under 'generous'")
    status, _, err = run("simulate", "--policy", "generous.toml", "--limit", "-1")
    assert status == 2 and "--limit: must be 0 or more, got -1" in err


def test_simulate_says_a_policy_file_is_missing_or_does_not_parse(in_tmp: Path) -> None:
    imported(in_tmp, members=2, topics=1)
    status, _, err = run("simulate", "--policy", "missing.toml")
    assert status != 0 and "--policy 'missing.toml': no such file" in err
    (in_tmp / "broken.toml").write_text('name = "x"\n[rewards\n')
    status, _, err = run("simulate", "--policy", "broken.toml")
    assert status != 0 and "policy file 'broken.toml' does not parse" in err


def test_simulate_lists_refusals_by_kind_and_refused_closes(in_tmp: Path) -> None:
    day = H1.isoformat()
    records: list[dict[str, object]] = [
        {"type": "member-joined", "member": m, "at": day} for m in ("alice", "bob", "s1")
    ]
    records[-1]["role"] = "staff"
    for member, method in (("alice", "cash"), ("bob", "cash")):
        records.append(
            {
                "type": "points-adjusted",
                "member": member,
                "points": 1500,
                "reason": "help",
                "by": "s1",
                "at": day,
            }
        )
        records.append(
            {"type": "payout-method-chosen", "member": member, "method": method, "at": day}
        )
    run("import", str(write_jsonl(in_tmp / "e.jsonl", records)))
    assert run("close-period", "2026-H1", "--by", "s1")[0] == 0
    (in_tmp / "quarters.toml").write_text('name = "quarters"\n[periods]\nkind = "quarter"\n')
    status, out, _ = run("simulate", "--policy", "quarters.toml")
    assert status == 0, out
    assert out.startswith("'quarters' refuses the close of 2026-H1")
    assert "£15.00 -> £0.00" not in out and "£15.00 in a refused close" in out
    assert "period-closed             1" in out and "payout-method-chosen      2" in out
    assert "e.g.:" not in out
    status, out, _ = run("simulate", "--policy", "quarters.toml", "--markdown")
    assert "'quarters' refuses the close of 2026-H1" in out and "| period-closed | 1 |" in out
    status, out, _ = run("simulate", "--policy", "quarters.toml", "--json")
    report = json.loads(out)["report"]
    assert report["refused_closes"] == ["2026-H1"]
    assert report["refused_kinds"] == [
        {"event": "payout-method-chosen", "count": 2},
        {"event": "period-closed", "count": 1},
    ]
    assert report["money_moved"] == 0 and report["summary"]


def test_verify_after_an_upgrade_says_to_rebuild_and_rebuild_brings_it_back(in_tmp: Path) -> None:
    """Projections an earlier kudos wrote (here: a per-tag count of replies this version no
    longer keeps) differ from a replay while the ledger agrees: verify says to rebuild."""
    imported(in_tmp, members=3, topics=3)
    store = SqlStore.from_url(URL)
    counters = store.tables.counters
    with store.engine.begin() as conn:
        row = conn.execute(select(counters).where(counters.c.metric == "replies")).first()
        assert row is not None
        conn.execute(
            counters.insert().values(
                community=row.community,
                metric="replies",
                scope="tag:old",
                subject=row.subject,
                value=1,
            )
        )
    store.close()
    status, out, _ = run("verify")
    assert status == 1
    assert "('replies', 'tag:old'" in out
    assert "kudos rebuild --url sqlite:///kudos.db" in out
    assert "another policy" not in out
    status, out, _ = run("verify", "--json")
    assert status == 1 and json.loads(out)["rebuild"] is True  # a deploy script can act on it
    status, out, _ = run("rebuild")
    assert status == 0, out
    assert out.startswith("rebuilt from ")
    status, out, _ = run("rebuild", "--json")
    assert status == 0 and json.loads(out)["events"] > 0
    assert run("verify")[0] == 0
    status, _, err = run("rebuild", "--url", "sqlite:///kudso.db")
    assert (status, err.startswith("kudos: no database at kudso.db")) == (2, True)
