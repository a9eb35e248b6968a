"""Ideas as policy data (the section, TOML, presets, the published docs and example), and
the invariants of voting, budgets, the workflow and duplicates under any sequence of facts
(a state machine)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

import kudos
from kudos import Conflict, InvalidPolicy, NotAllowed, Policy, Reward
from kudos.ideas import CLOSED, DEFAULT_TRANSITIONS, STATUSES, IdeaRules, preset
from kudos.policy import ACTIONS
from kudos.testing import FakeClock, assert_consistent

DOCS = Path(__file__).parent.parent / "docs" / "ideas.md"
EXAMPLE = Path(__file__).parent.parent / "examples" / "idea_board.py"


# --- the policy section ---------------------------------------------------------------


def test_the_section_loads_from_toml_with_a_custom_workflow() -> None:
    policy = Policy.from_toml(
        """
        [rewards]
        idea_vote_received = { points = 2, reputation = 1 }
        idea_milestone = { points = 50 }

        [ideas]
        vote_budget = 2
        budget_by_rank = { "Bronze Star" = 4, "Silver Star" = 6 }
        max_rewarded_votes = 100
        milestones = [20, 50]
        co_author_share = 50
        trend_days = 14
        closed = ["implemented", "declined", "duplicate"]

        [ideas.transitions]
        new = ["under_review", "declined", "duplicate"]
        under_review = ["planned", "needs_info", "declined", "duplicate"]
        needs_info = ["under_review", "declined"]
        planned = ["implemented", "declined"]
        implemented = []
        declined = ["under_review"]
        duplicate = []
        """
    )
    rules = policy.ideas
    assert (rules.vote_budget, rules.max_rewarded_votes, rules.milestones) == (2, 100, (20, 50))
    assert rules.budget_by_rank == {"Bronze Star": 4, "Silver Star": 6}
    assert rules.transitions["needs_info"] == ("declined", "under_review")  # a set, sorted
    assert rules.open_statuses == ("new", "under_review", "needs_info", "planned")
    assert (rules.co_author_share, rules.trend_days) == (50, 14)
    assert policy.reward("idea_milestone") == Reward(points=50)


def test_the_default_workflow_is_the_one_documented() -> None:
    rules = IdeaRules()
    assert rules.statuses == STATUSES
    assert rules.transitions == DEFAULT_TRANSITIONS
    assert rules.closed == CLOSED
    assert not rules.has_budget and rules.budget_for("Guru") is None
    assert [s for s in STATUSES if rules.is_open(s)] == [
        "new",
        "under_review",
        "planned",
        "in_progress",
    ]


def test_a_budget_by_rank_falls_back_to_the_default_budget() -> None:
    rules = IdeaRules(vote_budget=2, budget_by_rank={"Guru": 10, "Lurker": 0})
    assert rules.has_budget
    assert [rules.budget_for(r) for r in ("Guru", "Lurker", "Member", None)] == [10, 0, 2, 2]
    assert IdeaRules(budget_by_rank={"Guru": 10}).budget_for("Member") is None


def test_every_idea_action_is_a_policy_action() -> None:
    for action in ("idea_vote_received", "idea_milestone", "idea_planned", "idea_implemented"):
        assert action in ACTIONS


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[ideas]\nvote_budgets = 2", "unknown key 'ideas.vote_budgets'"),
        ("[ideas]\nvote_budget = -1", "ideas.vote_budget must be a whole number"),
        ("[ideas]\nvote_budget = 2.5", "ideas.vote_budget must be a whole number"),
        ("[ideas]\nmax_rewarded_votes = true", "ideas.max_rewarded_votes must be a whole"),
        ("[ideas]\nmilestones = [50, 20]", "distinct and in increasing order"),
        ("[ideas]\nmilestones = [0]", "vote counts of 1 or more"),
        ("[ideas]\nco_author_share = 150", "percentage from 0 to 100"),
        ("[ideas]\ntrend_days = 0", "trend_days must be 1 or more"),
        ("[ideas]\ncredit_duplicate_authors = 1", "must be true or false"),
        ("[ideas]\nbudget_by_rank = { Guru = -3 }", "ideas.budget_by_rank.Guru"),
        ("[ideas.transitions]\nopen = []", "has no 'new' status"),
        ("[ideas.transitions]\nnew = ['done']", "names 'done', which is not a status"),
        ("[ideas.transitions]\nnew = ['new']", "lists 'new' itself"),
        ("[ideas.transitions]\nnew = 'planned'", "ideas.transitions.new must be a list"),
        ("[ideas.transitions]\nnew = ['in review']", "without spaces"),
        (
            "[ideas.transitions]\nnew = ['duplicate']\nduplicate = ['new']",
            "duplicate must be empty",
        ),
        ("[ideas]\nclosed = ['shipped']", "names 'shipped', which is not a status"),
        ("[ideas]\nclosed = ['new', 'declined']", "cannot include 'new'"),
        ("[ideas]\nclosed = ['declined']", "must include 'duplicate'"),
    ],
)
def test_a_bad_section_names_the_key(toml: str, message: str) -> None:
    with pytest.raises(InvalidPolicy, match=re.escape(message)):
        Policy.from_toml(toml)


def test_the_presets_cite_their_peers() -> None:
    assert preset("giffgaff").milestones == (20,)
    assert not preset("giffgaff").has_budget
    assert preset("stackexchange") == IdeaRules()
    assert kudos.policies.giffgaff().ideas == preset("giffgaff")
    with pytest.raises(InvalidPolicy, match="no ideas preset 'discourse'"):
        preset("discourse")


# --- the docs and the example ------------------------------------------------------------


def test_the_docs_examples_run_in_order() -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(), flags=re.S)
    assert blocks
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, str(DOCS), "exec"), namespace)


def test_the_docs_toml_loads() -> None:
    blocks = re.findall(r"```toml\n(.*?)```", DOCS.read_text(), flags=re.S)
    assert blocks
    for block in blocks:
        Policy.from_toml(block)


def test_the_docs_list_the_default_workflow() -> None:
    text = DOCS.read_text()
    for status, targets in DEFAULT_TRANSITIONS.items():
        row = f"| `{status}` | " + (", ".join(f"`{t}`" for t in targets) or "final")
        assert row in text, row


def test_the_example_board_runs_and_prints_a_quarter(capsys: pytest.CaptureFixture[str]) -> None:
    namespace: dict[str, object] = {"__name__": "__main__"}
    exec(compile(EXAMPLE.read_text(), str(EXAMPLE), "exec"), namespace)
    out = capsys.readouterr().out
    assert "implemented" in out and "duplicate" in out and "Trending" in out


# --- voting, budgets, the workflow and duplicates under any sequence of facts -------------

BUDGET = 2
AUTHORS = {"i0": "a0", "i1": "a1", "i2": "a2", "i3": "v0"}
MEMBERS = ("a0", "a1", "a2", "v0", "v1", "v2", "v3")
RULES = IdeaRules(vote_budget=BUDGET, milestones=(2, 3), max_rewarded_votes=2, co_author_share=50)
REWARDS = {
    "idea_vote_received": Reward(points=2, reputation=1),
    "idea_milestone": Reward(points=50, reputation=5),
    "idea_planned": Reward(points=100, reputation=10),
    "idea_implemented": Reward(points=500, reputation=50),
}


class IdeaBoard(RuleBasedStateMachine):
    """Random votes, withdrawals, status changes (duplicates too) and removals.

    A small model (who votes where, each idea's status and authors) predicts
    which facts must be refused; the invariants compare it with the community.
    """

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        base = kudos.policies.giffgaff()
        policy = base.evolve(rewards={**base.rewards, **REWARDS}, ideas=RULES)
        self.c = kudos.Community(policy=policy, clock=self.clock)
        self.c.join("staff1", role="staff")
        self.c.join("mod1", role="moderator")
        for member in MEMBERS:
            self.c.join(member)
        for idea, author in AUTHORS.items():
            self.c.post_topic(idea, author=author, kind="idea", title=f"idea {idea}")
        self.status = dict.fromkeys(AUTHORS, "new")
        self.votes: dict[str, set[str]] = {i: set() for i in AUTHORS}
        self.co_authors: dict[str, dict[str, set[str]]] = {i: {} for i in AUTHORS}
        self.duplicate_of: dict[str, str] = {}
        self.removed: set[str] = set()

    # -- the model ---------------------------------------------------------------------
    def _authors(self, idea: str) -> set[str]:
        return {AUTHORS[idea], *self.co_authors[idea]}

    def _open(self, idea: str) -> bool:
        return idea not in self.removed and RULES.is_open(self.status[idea])

    def _open_votes(self, member: str) -> int:
        return sum(1 for i in AUTHORS if member in self.votes[i] and self._open(i))

    def _may_vote(self, idea: str, member: str) -> bool:
        return (
            self._open(idea)
            and member not in self._authors(idea)
            and member not in self.votes[idea]
            and self._open_votes(member) < BUDGET
        )

    def _merge(self, dup: str, target: str) -> None:
        for voter in self.votes[dup]:
            if voter not in self._authors(target):
                self.votes[target].add(voter)
        self.votes[dup] = set()
        for member in {AUTHORS[dup], *self.co_authors[dup]} - {AUTHORS[target]}:
            self.co_authors[target].setdefault(member, set()).add(dup)
        self.duplicate_of[dup] = target

    # -- facts -------------------------------------------------------------------------
    @rule(idea=st.sampled_from(sorted(AUTHORS)), member=st.sampled_from(MEMBERS))
    def vote(self, idea: str, member: str) -> None:
        expected = self._may_vote(idea, member)
        try:
            outcome = self.c.vote_idea(idea, voter=member)
        except NotAllowed:
            assert not expected, f"{member} was refused a vote on {idea}"
            return
        if outcome.replayed:
            # The same fact again (the derived id names the vote they hold).
            assert member in self.votes[idea]
            return
        assert expected, f"{member} voted on {idea} against the rules"
        self.votes[idea].add(member)
        assert self._open_votes(member) <= BUDGET

    @rule(idea=st.sampled_from(sorted(AUTHORS)), member=st.sampled_from(MEMBERS))
    def withdraw(self, idea: str, member: str) -> None:
        expected = self._open(idea) and member in self.votes[idea]
        try:
            outcome = self.c.withdraw_vote(idea, voter=member)
        except NotAllowed:
            assert not expected, f"{member} could not withdraw from {idea}"
            return
        if outcome.replayed:
            assert member not in self.votes[idea]
            return
        assert expected
        self.votes[idea].discard(member)

    @rule(
        idea=st.sampled_from(sorted(AUTHORS)),
        status=st.sampled_from(STATUSES),
        canonical=st.sampled_from(sorted(AUTHORS)),
    )
    def set_status(self, idea: str, status: str, canonical: str) -> None:
        current = self.status[idea]
        dup = status == "duplicate"
        valid_canonical = canonical != idea and canonical not in self.removed | set(
            self.duplicate_of
        )
        expected = (
            idea not in self.removed
            and status in RULES.allowed(current)
            and (not dup or valid_canonical)
        )
        try:
            outcome = self.c.set_idea_status(
                idea, status, by="staff1", duplicate_of=canonical if dup else None
            )
        except Conflict:
            # Marking a duplicate again, of another idea: the derived id is taken.
            assert status == current == "duplicate"
            return
        except NotAllowed:
            assert not expected, f"{idea} could not go from {current} to {status}"
            return
        if outcome.replayed:
            assert status == current
            return
        assert expected, f"{idea} went from {current} to {status} against the workflow"
        self.status[idea] = status
        if dup:
            self._merge(idea, canonical)

    @rule(idea=st.sampled_from(sorted(AUTHORS)))
    def remove(self, idea: str) -> None:
        outcome = self.c.remove_post(idea, by="mod1", reason="removed")
        if idea in self.removed:
            assert outcome.replayed
            return
        self.removed.add(idea)
        self.votes[idea] = set()
        target = self.duplicate_of.get(idea)
        if target is not None:
            for member, via in list(self.co_authors[target].items()):
                via.discard(idea)
                if not via:
                    del self.co_authors[target][member]

    @rule(days=st.integers(min_value=0, max_value=5))
    def advance(self, days: int) -> None:
        self.clock.advance(days=days, minutes=1)

    # -- invariants ----------------------------------------------------------------------
    @invariant()
    def the_board_matches_the_model(self) -> None:
        for idea in AUTHORS:
            found = self.c.idea(idea)
            voters = {v.voter for v in self.c.idea_voters(idea)}
            assert voters == self.votes[idea]
            assert found.votes == len(voters)
            assert found.status == self.status[idea]
            assert set(found.co_authors) == set(self.co_authors[idea])
            assert found.removed == (idea in self.removed)
        board = self.c.idea_board(limit=10)
        assert sorted(i.id for i in board) == sorted(set(AUTHORS) - self.removed)
        assert [i.votes for i in board] == sorted((i.votes for i in board), reverse=True)

    @invariant()
    def budgets_hold_the_open_votes(self) -> None:
        for member in MEMBERS:
            held = [v for v in self.c.member_votes(member) if v.counts_against_budget]
            assert len(held) == self._open_votes(member)
            assert self.c.standing(member).votes_left == max(0, BUDGET - len(held))

    @invariant()
    def rewards_follow_the_votes(self) -> None:
        for idea in AUTHORS:
            live = self._live(idea)
            if idea in self.removed:
                assert live == {}
                continue
            assert live.get("idea_vote_received", 0) <= RULES.max_rewarded_votes
            if idea in self.duplicate_of:
                # A duplicate's author keeps what its votes earned before they moved.
                assert live.get("idea_milestone", 0) <= len(RULES.milestones)
                continue
            votes = len(self.votes[idea])
            assert live.get("idea_milestone", 0) == sum(1 for m in RULES.milestones if votes >= m)

    def _live(self, idea: str) -> dict[str, int]:
        """Per action, the live points entries about ``idea`` to its author."""
        entries = self.c.ledger(subject=idea)
        reversed_ids = {e.reverses for e in entries if e.reverses}
        out: dict[str, int] = {}
        for e in entries:
            live = e.reverses is None and e.entry_id not in reversed_ids and e.amount
            if live and e.account == "points" and e.member == AUTHORS[idea]:
                out[e.action] = out.get(e.action, 0) + 1
        return out

    def teardown(self) -> None:
        assert_consistent(self.c, replay=False)


TestIdeaBoard = IdeaBoard.TestCase
TestIdeaBoard.settings = settings(
    max_examples=60,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
