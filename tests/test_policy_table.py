"""The policy as a published table, the docs that publish it, and the diff before a change."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

import kudos
from conftest import answered_topic
from kudos import Community, InvalidPolicy, Reward
from kudos.cli import main
from kudos.explain.publish import publish
from kudos.stores.protocol import Store

DOCS = Path(__file__).parent.parent / "docs" / "policies.md"


def test_describe_lists_every_section_of_the_policy() -> None:
    table = kudos.policies.giffgaff().describe()
    assert table.titles() == (
        "Rewards",
        "Dated rules",
        "Caps",
        "Members and reputation",
        "Ranks",
        "Badges",
        "Privileges",
        "Referrals",
        "Ideas",
        "Payback conversion",
        "Payback periods",
        "Payout methods",
        "Leaderboards and abuse",
        "Statement words",
    )
    assert table.section("Statement words").rows == ()
    assert ("kudos_on_reply", "+5", "+1") in table.section("Rewards").rows
    assert ("Guru", "3,000 reputation, 150 solutions, 365 tenure days") in table.section(
        "Ranks"
    ).rows
    assert ("Idea Maker", "1 idea implemented") in table.section("Badges").rows
    assert ("carried over at most", "1 time") in table.section("Payback conversion").rows
    se = kudos.policies.stackexchange(dated=True).describe()
    assert se.section("Dated rules").rows == (("kudos_on_topic", "2019-11-13", "+0", "+5"),)
    assert ("reputation floor", "1") in se.section("Members and reputation").rows
    words = dict(se.section("Statement words").rows)
    assert words["down_vote_on_reply"] == 'your answer in "{title}" was down-voted'
    assert ("max window days", "90") in se.section("Leaderboards and abuse").rows
    with pytest.raises(KeyError, match="no section 'Nope'"):
        se.section("Nope")


def test_the_policy_renders_as_text_markdown_and_html() -> None:
    table = kudos.policies.giffgaff().describe()
    text = table.text()
    assert text.startswith("Policy 'giffgaff'\n\nRewards\naction")
    assert re.search(r"\nkudos_on_reply +\+5 +\+1\n", text)
    markdown = table.markdown()
    assert "### Caps\n\n| account | per | limit | actions |\n|---|---|---:|---|\n" in markdown
    assert "| points | month | 1,500 |" in markdown
    evil = kudos.Policy(
        recognition=kudos.recognition.Recognition(
            badges=[kudos.recognition.Badge(name="<b>&", threshold=1, metric="solutions")]
        )
    )
    assert "<td>&lt;b&gt;&amp;</td>" in evil.describe().html()


def test_the_docs_show_both_presets_as_the_code_has_them() -> None:
    page = DOCS.read_text(encoding="utf-8")
    assert "<!-- policy: giffgaff -->" in page and "<!-- policy: stackexchange -->" in page
    assert publish(page) == page, "run: python -m kudos.explain.publish docs/policies.md"


def test_a_changed_preset_makes_the_docs_disagree(monkeypatch: pytest.MonkeyPatch) -> None:
    page = DOCS.read_text(encoding="utf-8")
    real = kudos.policies.giffgaff

    def changed() -> kudos.Policy:
        policy = real()
        return policy.evolve(rewards={**policy.rewards, "kudos_on_reply": Reward(points=7)})

    monkeypatch.setattr(kudos.policies, "giffgaff", changed)
    assert publish(page) != page
    with pytest.raises(InvalidPolicy, match="no preset 'nope'"):
        publish("<!-- policy: nope -->\n<!-- end policy -->")


def seeded(store: Store) -> Community:
    return answered_topic(store)


def test_the_simulate_report_sorts_members_by_impact_and_names_the_rules(
    memory_store: Store,
) -> None:
    c = seeded(memory_store)
    policy = c.policy
    proposal = policy.evolve(
        rewards={**policy.rewards, "kudos_on_reply": Reward(points=10, reputation=100)}
    )
    report = c.simulate(proposal).report
    assert [m.member for m in report.members] == ["bob", "cat"]
    bob, cat = report.members
    assert (bob.points, bob.reputation, bob.rule) == (15, 297, "kudos_on_reply")
    assert (bob.rank_before, bob.rank_after) == ("Member", "Bronze Star")
    assert (cat.points, cat.reputation) == (5, 99)
    assert cat.rank_after == "Bronze Star"
    assert (report.members_moved, report.points_moved, report.reputation_moved) == (2, 20, 396)
    assert (report.ranks_gained, report.ranks_lost, report.money_moved) == (2, 0, 0)
    assert [(r.action, r.points, r.reputation, r.members) for r in report.rules] == [
        ("kudos_on_reply", 20, 396, 2)
    ]
    text = report.text()
    assert "members moved         2" in text and "Rules responsible" in text
    assert "bob     65 -> 80 (+15)" in text
    assert (
        "| bob | 65 -> 80 (+15) | 13 -> 310 (+297) | Member -> Bronze Star |" in report.markdown()
    )
    lower = c.simulate(policy.evolve(rewards={})).report
    assert lower.ranks_lost == 0 and lower.points_moved == 75


def test_the_report_counts_money_and_lost_ranks(memory_store: Store) -> None:
    c = seeded(memory_store)
    c.join("staff1", role="staff")
    c.adjust("bob", points=2_000, reputation=300, reason="seed", by="staff1")
    c.set_payout_method("bob", "cash")
    period = c.current_period()
    from datetime import timedelta

    end = c.policy.periods.bounds(period)[1]
    c.clock = lambda: end + timedelta(days=1)
    c.close_period(period, by="staff1")
    half = c.policy.evolve(
        payback=kudos.payback.PaybackRules(rate=kudos.payback.Rate(points=2, minor_units=1))
    )
    report = c.simulate(half).report
    bob = next(m for m in report.members if m.member == "bob")
    assert (bob.payout_before, bob.payout_after) == (2_065, 1_032)
    assert report.money_moved == 1_037
    assert "£20.65 -> £10.32" in report.text()
    flat = c.simulate(kudos.Policy(name="flat")).report
    assert flat.ranks_lost == 5  # no ladder: every Member loses its rank


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), out=out, err=err)
    return status, out.getvalue(), err.getvalue()


def test_the_commands_show_the_policy_and_the_simulate_report(tmp_path: Path) -> None:
    status, out, _ = run("policy", "show", "--markdown")
    assert status == 0 and out == kudos.policies.giffgaff().describe().markdown()
    status, out, _ = run("policy", "show", "--plain", "--policy", "giffgaff")
    assert status == 0 and "Idea Maker       1 idea implemented" in out
    assert "1 ideas" not in out
    url = f"sqlite:///{tmp_path / 'c.db'}"
    from kudos.stores.sql import SqlStore

    store = SqlStore.from_url(url)
    seeded(store)
    store.close()
    (tmp_path / "new.toml").write_text(
        "[rewards]\nkudos_on_reply = { points = 10, reputation = 100 }\n", encoding="utf-8"
    )
    new = str(tmp_path / "new.toml")
    status, out, _ = run("simulate", "--policy", new, "--url", url, "--plain")
    assert status == 0
    assert "members moved" in out and "Members, largest move first" in out
    assert out.index("  bob ") < out.index("  cat ") < out.index("Rules responsible")
    status, out, _ = run("simulate", "--policy", new, "--url", url, "--markdown")
    assert status == 0 and "| members moved | 4 |" in out
    status, out, _ = run("simulate", "--policy", new, "--url", url, "--json")
    document = json.loads(out)["report"]
    assert document["members"][0]["member"] == "bob" and document["currency"] == "GBP"
    (tmp_path / "bad.toml").write_text("[rewards]\nkudos_on_reply = { points = 'x' }\n")
    status, out, err = run("simulate", "--policy", str(tmp_path / "bad.toml"), "--url", url)
    assert status == 2 and "rewards.kudos_on_reply.points must be a whole number" in err
    (tmp_path / "broken.toml").write_text("[rewards\n")
    status, _, err = run("simulate", "--policy", str(tmp_path / "broken.toml"), "--url", url)
    assert status == 2 and "does not parse" in err


# --- issue 14 review: refused closes, limits, titles, Markdown -------------------------


def closed_half_year(store: Store) -> Community:
    """The seeded community with bob's points paid out in a closed half-year."""
    from datetime import timedelta

    c = seeded(store)
    c.join("staff1", role="staff")
    c.adjust("bob", points=2_000, reputation=300, reason="seed", by="staff1")
    c.set_payout_method("bob", "cash")
    period = c.current_period()
    end = c.policy.periods.bounds(period)[1]
    c.clock = lambda: end + timedelta(days=1)
    c.close_period(period, by="staff1")
    return c


def test_a_refused_close_is_said_plainly_and_not_counted_as_money_moved(
    memory_store: Store,
) -> None:
    c = closed_half_year(memory_store)
    period = c.current_period()
    quarters = c.policy.evolve(periods=kudos.periods.Periods(kind="quarter"))
    report = c.simulate(quarters).report
    closed = next(p for p in report.refused_closes)
    assert report.refused_closes == (closed,) and "H" in closed and closed != period
    bob = next(m for m in report.members if m.member == "bob")
    assert (bob.payout_before, bob.payout_after, bob.payout_refused) == (0, 0, 2_065)
    assert report.money_moved == 0
    assert report.refused_kinds == (("period-closed", 1),)
    text = report.text()
    assert text.startswith(f"{quarters.name!r} refuses the close of {closed}")
    assert "£20.65 -> £0.00" not in text and "£20.65 in a refused close" in text
    assert f"closes refused    {closed}" in text
    assert "Refused under" in text and "period-closed      1" in text
    markdown = report.markdown()
    assert f"refuses the close of {closed}" in markdown
    assert "| period-closed | 1 |" in markdown


def test_refusals_are_counted_by_kind_not_cut_to_five(memory_store: Store) -> None:
    import attrs

    c = seeded(memory_store)
    members = ("ann", "bob", "cat", "dan")
    for m in members:
        c.set_payout_method(m, "cash")
    payback = attrs.evolve(c.policy.payback, methods={"credit": c.policy.payback.methods["credit"]})
    report = c.simulate(c.policy.evolve(name="credit only", payback=payback)).report
    assert report.refused_kinds == (("payout-method-chosen", 4),)
    assert report.rejected == len(report.refusals) == 4
    assert [r.event_id for r in report.refusals] == [
        r.event_id for r in report.refusals if r.kind == "payout-method-chosen"
    ]
    assert report.refused_closes == () and report.summary() == ()
    assert "payout-method-chosen      4" in report.text()


def test_a_cut_member_list_says_how_many_more(memory_store: Store) -> None:
    c = seeded(memory_store)
    proposal = c.policy.evolve(rewards={})
    report = c.simulate(proposal).report
    assert len(report.members) >= 2
    members = report.sections(limit=1)[1]
    assert len(members.rows) == 1 and members.note == f"... and {len(report.members) - 1} more"
    assert f"... and {len(report.members) - 1} more" in report.text(limit=1)
    assert report.sections(limit=None)[1].note == ""
    with pytest.raises(ValueError, match="0 or more"):
        report.sections(limit=-1)


def test_the_report_title_under_the_same_name_and_markdown_headings(memory_store: Store) -> None:
    c = seeded(memory_store)
    same = c.simulate(c.policy.evolve(rewards={})).report
    assert "instead of 'giffgaff'" not in same.text()
    assert same.text().startswith("Under 'giffgaff' (both policies have that name)")
    assert same.markdown().startswith("## Under 'giffgaff'")


def test_markdown_and_html_start_with_the_policy_and_escape_raw_html() -> None:
    policy = kudos.policies.giffgaff().evolve(
        texts={"kudos_on_reply": "<b>{actor}</b> liked | your reply"}
    )
    table = policy.describe()
    markdown = table.markdown()
    assert markdown.startswith("## Policy 'giffgaff'\n")
    assert "<b>" not in markdown and "&lt;b>{actor}&lt;/b> liked \\| your reply" in markdown
    assert table.html().startswith("<h2>Policy &#x27;giffgaff&#x27;</h2>")
    assert not table.markdown(heading=False).startswith("## Policy")
