"""The Stack Exchange importer, on the small dump in tests/fixtures/stackexchange."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import kudos
from kudos import Community, InvalidDump, InvalidInput
from kudos.importers import stackexchange as se
from kudos.stores.protocol import Store
from kudos.testing import assert_consistent, assert_unchanged

FIXTURE = Path(__file__).parent / "fixtures" / "stackexchange"


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest) -> Store:
    return request.getfixturevalue(f"{request.param}_store")  # type: ignore[no-any-return]


def site(store: Store | None = None) -> Community:
    return Community(store=store, policy=kudos.policies.stackexchange(dated=True))


def reputation(c: Community, member: str) -> int:
    return c.standing(member).reputation


def test_a_dump_imports_in_time_order_and_reports_what_it_skipped(store: Store) -> None:
    c = site(store)
    seen: list[tuple[int, int]] = []
    report = se.import_dump(FIXTURE, c, batch_size=20, progress=lambda d, t: seen.append((d, t)))
    assert (report.recorded, report.replayed) == (62, 0)
    assert seen == [(20, 62), (40, 62), (60, 62), (62, 62)]
    assert report.counts["kudos-given"] == 30 and report.counts["bounty-offered"] == 1
    assert report.skipped == {
        "approved edits (the dump does not name the editor)": 3,
        "favourites": 3,
        "posts other than questions and answers (tag wikis, ...)": 1,
        "undeletion votes": 1,
        "votes on posts deleted before the dump": 2,
    }
    assert "skipped 10 rows:" in str(report)
    # Answer 1592: four up-votes, accepted (+15), and the question's bounty of 50.
    assert reputation(c, "1764") == 1 + 40 + 15 + 50
    # Its asker: four question up-votes at +5 (2018), +2 for accepting, -50 for the bounty.
    assert reputation(c, "1355") == 1 + 20 + 2 - 50
    assert_consistent(c)


def test_votes_on_a_deleted_account_s_post_award_nobody_and_answers_under_it_count() -> None:
    c = site()
    se.import_dump(FIXTURE, c)
    assert c.post("1808").author == se.DELETED
    assert c.member(se.DELETED).deleted
    assert reputation(c, se.DELETED) == 1  # the four up-votes earn nothing
    assert reputation(c, "1837") == 1 + 50  # answers under it (1812) and elsewhere earn


def test_votes_on_a_community_wiki_answer_earn_its_author_nothing() -> None:
    c = site()
    se.import_dump(FIXTURE, c)
    assert c.post("3987").wiki
    assert reputation(c, "2927") == 1 + 4 * 5  # the question's up-votes; not the wiki answer's


def test_importing_again_changes_nothing(store: Store) -> None:
    c = site(store)
    se.import_dump(FIXTURE, c)
    with assert_unchanged(c):
        again = se.import_dump(FIXTURE, c)
    assert (again.recorded, again.replayed) == (0, 62)


def test_the_dump_s_own_reputations_are_read(store: Store) -> None:
    real = se.reputations(FIXTURE)
    assert len(real) == 12 and real["-1"] == 1


@pytest.mark.parametrize("missing", ["Users.xml", "Posts.xml", "Votes.xml"])
def test_a_missing_file_is_a_clear_error_and_nothing_is_written(
    tmp_path: Path, missing: str
) -> None:
    dump = tmp_path / "dump"
    shutil.copytree(FIXTURE, dump)
    (dump / missing).unlink()
    c = site()
    with assert_unchanged(c), pytest.raises(InvalidDump, match=f"the dump has no {missing}"):
        se.import_dump(dump, c)


def test_malformed_xml_is_a_clear_error_and_nothing_is_written(tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    shutil.copytree(FIXTURE, dump)
    votes = (dump / "Votes.xml").read_text()
    (dump / "Votes.xml").write_text(votes[: len(votes) // 2])  # cut off mid-file
    c = site()
    with assert_unchanged(c), pytest.raises(InvalidDump, match=r"Votes\.xml is not well-formed"):
        se.import_dump(dump, c)


def test_a_bad_date_a_missing_folder_and_a_bad_batch_size_are_refused(tmp_path: Path) -> None:
    c = site()
    with pytest.raises(InvalidDump, match="no Stack Exchange dump folder"):
        se.import_dump(tmp_path / "nowhere", c)
    dump = tmp_path / "dump"
    shutil.copytree(FIXTURE, dump)
    users = (dump / "Users.xml").read_text().replace("2018-03-09T18:48:09.477", "yesterday")
    (dump / "Users.xml").write_text(users)
    with assert_unchanged(c), pytest.raises(InvalidDump, match="bad CreationDate 'yesterday'"):
        se.import_dump(dump, c)
    with pytest.raises(InvalidInput, match="batch_size"):
        se.import_dump(FIXTURE, c, batch_size=0)
