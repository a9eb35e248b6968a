"""``kudos policy show / history / change``, and the policy a database holds on the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import kudos
from kudos import Policy
from test_cli import START, run, season, write_jsonl


def imported(tmp_path: Path, **season_args: int) -> Path:
    """The season imported, with ``staff1`` joined as staff (only staff change the policy)."""
    staff = {"type": "member-joined", "member": "staff1", "role": "staff", "at": START.isoformat()}
    source = Path("events.jsonl")  # relative: the tests run in tmp_path
    write_jsonl(tmp_path / source, [staff, *season(**season_args)])
    status, _, err = run("import", str(source))
    assert status == 0, err
    return source


HALF = 'name = "half"\n[rewards]\nkudos_on_reply = { points = 5, reputation = 1 }\n'


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --- 2. writing a policy file ------------------------------------------------------------------


@pytest.mark.parametrize("preset", ["giffgaff", "stackexchange"])
def test_policy_show_toml_prints_a_whole_policy_that_policy_reads_back(
    in_tmp: Path, preset: str
) -> None:
    status, out, err = run("policy", "show", preset, "--toml")
    assert status == 0, err
    assert Policy.from_toml(out) == getattr(kudos.policies, preset)()
    (in_tmp / "mine.toml").write_text(out.replace(f'name = "{preset}"', 'name = "mine"', 1))
    status, shown, _ = run("policy", "show", "--policy", "mine.toml", "--toml")
    assert (status, Policy.from_toml(shown)) == (
        0,
        getattr(kudos.policies, preset)().evolve(name="mine"),
    )


def test_policy_reads_json_files_as_policy_show_json_prints_them(in_tmp: Path) -> None:
    status, out, _ = run("policy", "show", "stackexchange", "--json")
    assert status == 0
    (in_tmp / "se.json").write_text(out)
    status, again, err = run("policy", "show", "se.json", "--json")
    assert status == 0, err
    assert Policy.from_dict(json.loads(again)) == kudos.policies.stackexchange()
    (in_tmp / "bad.json").write_text("{not json")
    status, _, err = run("policy", "show", "--policy", "bad.json")
    assert status == 2 and err.startswith("kudos: policy file 'bad.json' is not JSON")
    status, _, err = run("policy", "show", "--policy", "missing.json")
    assert (status, err) == (2, "kudos: --policy 'missing.json': no such file\n")


# --- 6. the policy a database holds --------------------------------------------------------------


def test_policy_show_url_shows_the_policy_in_force_in_the_database(in_tmp: Path) -> None:
    (in_tmp / "half.toml").write_text(HALF)
    imported(in_tmp, members=3, topics=2)  # under giffgaff
    status, out, _ = run("policy", "show", "--url", "sqlite:///kudos.db")
    assert status == 0
    assert out.startswith("Policy 'giffgaff' (version 1 of 1 of community 'default'")
    status, out, _ = run(
        "policy", "change", "half.toml", "--effective", "2099-01-01T00:00:00+00:00",
        "--by", "staff1", "--reason", "a new year",
    )  # fmt: skip
    assert status == 0 and "recorded policy version 2 ('half')" in out and "scheduled" in out
    status, out, _ = run("policy", "show", "--url", "sqlite:///kudos.db", "--json")
    assert Policy.from_dict(json.loads(out)) == kudos.policies.giffgaff()  # still in force
    status, out, _ = run("policy", "show", "--url", "sqlite:///kudos.db", "--toml")
    assert Policy.from_toml(out) == kudos.policies.giffgaff()
    status, _, err = run("policy", "show", "half.toml", "--url", "sqlite:///kudos.db")
    assert status == 2 and "not both" in err


def test_a_retroactive_change_prints_what_it_booked_per_member(in_tmp: Path) -> None:
    """One row per member and account (the lines summed and counted), largest move first;
    ``--json`` keeps every line."""
    (in_tmp / "half.toml").write_text(HALF)
    imported(in_tmp, members=3, topics=4)
    change = ["policy", "change", "half.toml", "--effective", "2026-06-01T00:00:00+00:00"]
    status, out, err = run(*change, "--by", "staff1", "--reason", "simpler", "--retroactive")
    assert status == 0, err
    table = out[out.index("Recalculated") :].splitlines()
    assert table[1].split() == ["member", "account", "amount", "lines"]
    rows = [line.split() for line in table[3:] if line.strip()]
    keys = [(r[0], r[1]) for r in rows]
    assert len(keys) == len(set(keys))  # one row per member and account
    assert any(int(r[3]) > 1 for r in rows)  # lines summed
    amounts = [abs(int(r[2].replace(",", ""))) for r in rows]
    assert amounts == sorted(amounts, reverse=True)
    status, out, _ = run(*change, "--by", "staff1", "--reason", "again", "--retroactive", "--json")
    assert status == 0 and json.loads(out)["replayed"] is True
    status, out, _ = run(*change, "--by", "staff1", "--reason", "again", "--retroactive")
    assert status == 0 and "Recalculated" not in out  # nothing was booked this time
    assert "nothing was recalculated: --retroactive recalculates history only when" in out


def test_policy_history_and_change_record_and_list_the_versions(in_tmp: Path) -> None:
    (in_tmp / "half.toml").write_text(HALF)
    imported(in_tmp, members=3, topics=2)
    status, out, _ = run("policy", "history")
    assert status == 0
    assert "        1  giffgaff  from the start  in force  (first write)" in out
    status, out, err = run(
        "policy", "change", "half.toml", "--effective", "2026-06-01T00:00:00+00:00",
        "--by", "staff1", "--reason", "simpler", "--retroactive",
    )  # fmt: skip
    assert status == 0, err
    assert "recorded policy version 2 ('half'), effective 2026-06-01 00:00 UTC; in force now" in out
    assert "Recalculated" in out
    status, out, _ = run("policy", "history", "--json")
    rows = json.loads(out)
    assert [(r["version"], r["name"], r["status"]) for r in rows] == [
        (1, "giffgaff", "replaced"),
        (2, "half", "in force"),
    ]
    assert rows[1]["effective"] == "2026-06-01T00:00:00+00:00"
    assert run("verify")[0] == 0
    status, out, _ = run(
        "policy", "change", "half.toml", "--effective", "2026-06-01T00:00:00+00:00",
        "--by", "staff1", "--reason", "simpler", "--retroactive",
    )  # fmt: skip
    assert status == 0 and "recorded before, as policy version 2; nothing changed" in out


def test_policy_change_refusals_speak_of_flags(in_tmp: Path) -> None:
    imported(in_tmp, members=3, topics=2)
    status, _, err = run(
        "policy", "change", "stackexchange", "--effective", "2026-06-01",
        "--by", "staff1", "--reason", "x",
    )  # fmt: skip
    assert status == 2 and "has no UTC offset" in err
    status, _, err = run("policy", "change", "stackexchange", "--by", "staff1")
    assert status == 2 and "--reason" in err
    assert run("policy", "history", "--json")[1].count('"version"') == 1  # nothing recorded


def test_a_mismatch_on_the_cli_names_commands_and_flags(in_tmp: Path) -> None:
    imported(in_tmp, members=3, topics=2)
    status, _, err = run("standing", "m1", "--policy", "stackexchange")
    assert status == 2
    assert "`kudos policy change FILE --url URL --effective TIME" in err
    assert "Leave out --policy" in err
    assert "change_policy" not in err and "policy=" not in err
    assert "... and " in err and " more settings" in err


def test_verify_names_the_stored_versions_it_replays(in_tmp: Path) -> None:
    (in_tmp / "half.toml").write_text(HALF)
    imported(in_tmp, members=3, topics=2)
    status, _, err = run("verify")
    assert status == 0
    assert "under the policy the database holds (version 1, 'giffgaff')" in err
    assert run(
        "policy", "change", "half.toml", "--effective", "2030-01-01T00:00:00+00:00",
        "--by", "staff1", "--reason", "later",
    )[0] == 0  # fmt: skip
    status, _, err = run("verify")
    assert status == 0
    assert "under the policy versions the database holds (1 to 2: 'giffgaff', 'half')" in err


def test_statement_shows_the_version_that_valued_each_line(in_tmp: Path) -> None:
    (in_tmp / "half.toml").write_text(HALF)
    imported(in_tmp, members=3, topics=2)
    run(
        "policy", "change", "half.toml", "--effective", "2026-06-01T00:00:00+00:00",
        "--by", "staff1", "--reason", "simpler", "--retroactive",
    )  # fmt: skip
    status, out, _ = run("statement", "m1")
    assert status == 0
    header = next(line for line in out.splitlines() if "amount" in line and "why" in line)
    assert header.split()[-1] == "version"
    assert any(line.rstrip().endswith(" 2") and "recalculated" in line for line in out.splitlines())
    assert any(line.rstrip().endswith(" 1") for line in out.splitlines())


# --- issue 14: simulate from a date, statuses, messages ------------------------------------------


def test_simulate_previews_a_change_from_an_effective_time(in_tmp: Path) -> None:
    (in_tmp / "half.toml").write_text(HALF)
    imported(in_tmp, members=3, topics=2)  # facts from 2026-06-01 09:00 on
    since = "2026-06-01T00:00:00+00:00"
    status, out, err = run(
        "simulate", "--policy", "half.toml", "--effective", since, "--retroactive"
    )
    assert status == 0, err
    assert "Under 'half' instead of 'giffgaff', from 2026-06-01 00:00 UTC, retroactive" in out
    status, js, _ = run(
        "simulate", "--policy", "half.toml", "--effective", since, "--retroactive", "--json"
    )
    report = json.loads(js)["report"]
    assert (report["effective"], report["retroactive"]) == (since, True)
    assert report["members_moved"] > 0
    # Not retroactive: what is recorded keeps its values; the heading says so.
    status, out, err = run("simulate", "--policy", "half.toml", "--effective", since)
    assert status == 0, err
    assert "from 2026-06-01 00:00 UTC, not retroactive" in out
    status, js, _ = run("simulate", "--policy", "half.toml", "--effective", since, "--json")
    kept = json.loads(js)["report"]
    assert (kept["points_moved"], kept["reputation_moved"], kept["retroactive"]) == (0, 0, False)
    # A retroactive preview books what `policy change --retroactive` would.
    moved = {m["member"]: m["points"] for m in report["members"]}
    status, out, _ = run(
        "policy", "change", "half.toml", "--effective", since, "--retroactive",
        "--by", "staff1", "--reason", "x", "--json",
    )  # fmt: skip
    booked: dict[str, int] = {}
    for e in json.loads(out)["entries"]:
        if e["account"] == "points":
            booked[e["member"]] = booked.get(e["member"], 0) + e["amount"]
    assert {m: p for m, p in booked.items() if p} == {m: p for m, p in moved.items() if p}
    status, _, err = run("simulate", "--policy", "half.toml", "--retroactive")
    assert status == 2 and "--effective" in err
    status, _, err = run("simulate", "--policy", "half.toml", "--effective", "2026-06-01")
    assert status == 2 and "--effective '2026-06-01' has no UTC offset" in err


def test_policy_history_gives_the_statuses_python_gives(in_tmp: Path) -> None:
    (in_tmp / "half.toml").write_text(HALF)
    (in_tmp / "other.toml").write_text(HALF.replace("points = 5", "points = 7"))
    imported(in_tmp, members=3, topics=2)
    later = "2099-01-01T00:00:00+00:00"
    for file in ("half.toml", "other.toml"):  # the same effective: the later one wins
        status, _, err = run(
            "policy", "change", file, "--effective", later, "--by", "staff1", "--reason", "x"
        )
        assert status == 0, err
    status, out, _ = run("policy", "history", "--json")
    statuses = [(r["version"], r["status"]) for r in json.loads(out)]
    assert statuses == [(1, "in force"), (2, "replaced"), (3, "scheduled")]
    community = kudos.open("sqlite:///kudos.db", create=False)
    assert statuses == [(v.version, v.status) for v in community.policy_history()]
    status, out, _ = run("policy", "history")
    assert "  replaced  " in out and "  scheduled  " in out and "earlier" not in out


def test_policy_show_url_names_every_scheduled_version(in_tmp: Path) -> None:
    (in_tmp / "half.toml").write_text(HALF)
    (in_tmp / "other.toml").write_text(HALF.replace("points = 5", "points = 7"))
    imported(in_tmp, members=3, topics=2)
    for file, when in (("half.toml", "2098"), ("other.toml", "2099")):
        status, _, err = run(
            "policy", "change", file, "--effective", f"{when}-01-01T00:00:00+00:00",
            "--by", "staff1", "--reason", "x",
        )  # fmt: skip
        assert status == 0, err
    status, out, _ = run("policy", "show", "--url", "sqlite:///kudos.db")
    assert status == 0
    assert out.splitlines()[0] == (
        "Policy 'giffgaff' (version 1 of 3 of community 'default', in force from the start; "
        "versions 2 from 2098-01-01 00:00 UTC and 3 from 2099-01-01 00:00 UTC are scheduled "
        "(`kudos policy history`))"
    )


def test_a_mismatch_names_the_version_in_force_and_the_flag_at_fault(in_tmp: Path) -> None:
    (in_tmp / "half.toml").write_text(HALF)
    imported(in_tmp, members=3, topics=2)
    assert run(
        "policy", "change", "half.toml", "--effective", "2099-01-01T00:00:00+00:00",
        "--by", "staff1", "--reason", "x",
    )[0] == 0  # fmt: skip
    status, _, err = run("standing", "m1", "--policy", "stackexchange")
    assert status == 2
    assert err.startswith(
        "kudos: community 'default' holds policy version 1 ('giffgaff'), in force now; "
        "version 2 ('half') is scheduled from 2099-01-01 00:00 UTC; the policy given "
        "('stackexchange') differs from version 1: "
    )
    assert "Leave out --policy" in err
    status, _, err = run("simulate", "--policy", "half.toml", "--current", "stackexchange")
    assert status == 2
    assert "holds policy version 1 ('giffgaff'), in force now" in err
    assert "Leave out --current to use the stored one" in err and "--policy" not in err


def test_a_change_to_the_settings_in_force_says_its_effective_was_not_applied(
    in_tmp: Path,
) -> None:
    (in_tmp / "half.toml").write_text(HALF)
    imported(in_tmp, members=3, topics=2)

    def change(effective: str) -> str:
        status, out, err = run(
            "policy", "change", "half.toml", "--effective", effective,
            "--by", "staff1", "--reason", "x",
        )  # fmt: skip
        assert status == 0, err
        return out

    assert "recorded policy version 2 ('half')" in change("2098-01-01T00:00:00+00:00")
    assert change("2098-01-01T00:00:00+00:00") == (
        "this change was recorded before, as policy version 2; nothing changed\n"
    )
    assert change("2099-01-01T00:00:00+00:00") == (
        "the settings are already those of policy version 2, in force from "
        "2098-01-01 00:00 UTC; nothing changed: the new effective time (2099-01-01 00:00 UTC) "
        "was not applied (to move a scheduled change, first record the previous settings at "
        "its effective time, then the change at the new one)\n"
    )
    out = run("policy", "history", "--json")[1]
    assert [r["effective"] for r in json.loads(out)] == [None, "2098-01-01T00:00:00+00:00"]


def test_a_wrong_setting_in_a_policy_file_names_the_file(in_tmp: Path) -> None:
    imported(in_tmp, members=3, topics=2)
    (in_tmp / "typo.toml").write_text(
        'name = "typo"\n[rewards.solution_acepted]\npoints = 1\nreputation = 1\n'
    )
    (in_tmp / "typo.json").write_text(
        json.dumps({"name": "typo", "rewards": {"solution_acepted": {"points": 1}}})
    )
    for file in ("typo.toml", "typo.json"):
        expected = f"kudos: policy file '{file}': rewards: unknown action 'solution_acepted'"
        for argv in (
            ("policy", "change", file, "--by", "staff1", "--reason", "x"),
            ("standing", "m1", "--policy", file),
            ("simulate", "--policy", file),
            ("policy", "show", file),
        ):
            status, _, err = run(*argv)
            assert status == 2 and err.startswith(expected), (argv, err)
    assert run("policy", "history", "--json")[1].count('"version"') == 1  # nothing recorded
