"""An ideas board through one quarter: votes within budgets, a duplicate merged, ideas
planned, implemented and declined, the board and what trends, and what the authors earned.

Run it: python examples/idea_board.py
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

import kudos
from kudos.ideas import IdeaRules
from kudos.testing import FakeClock

# giffgaff's rewards, plus 2 points a vote (the first 50 votes of an idea) and a bonus at
# 20 votes; open votes limited as Discourse does per trust level (2, 4, 6, 8, 10), here
# per giffgaff star rank.
base = kudos.policies.giffgaff()
policy = base.evolve(
    rewards={
        **base.rewards,
        "idea_vote_received": kudos.Reward(points=2),
        "idea_milestone": kudos.Reward(points=100, reputation=10),
    },
    ideas=IdeaRules(
        vote_budget=2,
        budget_by_rank={"Bronze Star": 4, "Silver Star": 6, "Gold Star": 8, "Guru": 10},
        max_rewarded_votes=50,
        milestones=(20,),
        co_author_share=50,
    ),
)
clock = FakeClock(datetime(2026, 12, 1, 9, tzinfo=UTC))
community = kudos.Community(policy=policy, clock=clock)
rng = random.Random(2026)

community.join("staff1", role="staff")
members = [f"m{n:02d}" for n in range(1, 41)]
for member in members:
    community.join(member)
# Two regulars have earned a Bronze Star (50 reputation), and with it a bigger budget.
for member in ("m01", "m02"):
    community.adjust(member, reputation=50, reason="past help", by="staff1")

IDEAS = [
    ("esim", "m04", "eSIM support", ["sim"]),
    ("wifi", "m05", "Wi-Fi calling on every phone", ["calls"]),
    ("rollover", "m06", "Roll unused data over", ["data"]),
    ("dark", "m07", "A dark mode for the app", ["app"]),
    ("esim2", "m08", "Let me use an eSIM", ["sim"]),
    ("cap", "m09", "Spend cap alerts", ["data"]),
]
# How much members like each idea: the chance that a member with a free vote spends it on it.
APPEAL = {"esim": 0.55, "wifi": 0.4, "rollover": 0.45, "dark": 0.2, "esim2": 0.3, "cap": 0.25}


def post_ideas(names: set[str]) -> None:
    for idea, author, title, tags in IDEAS:
        if idea in names:
            community.post_topic(idea, author=author, kind="idea", title=title, tags=tags)


def a_week_of_votes(ideas: list[str]) -> None:
    for member in rng.sample(members, 25):
        for idea in ideas:
            if rng.random() > APPEAL[idea]:
                continue
            try:
                community.vote_idea(idea, voter=member)
            except kudos.NotAllowed:
                continue  # their own idea, a closed one, already voted, or no vote left
        clock.advance(minutes=7)


def show(title: str, ideas: list[kudos.ideas.Idea], recent: bool = False) -> None:
    print(f"\n{title}")
    for n, idea in enumerate(ideas, 1):
        votes = f"{idea.recent_votes:>3} this week" if recent else f"{idea.votes:>3} votes"
        credit = f", with {', '.join(idea.co_authors)}" if idea.co_authors else ""
        print(f"  {n}. {votes}  {idea.status:<12} {idea.title} ({idea.author}{credit})")


# December: four ideas, then two more.
post_ideas({"esim", "wifi", "rollover", "dark"})
for _ in range(2):
    a_week_of_votes(["esim", "wifi", "rollover", "dark"])
    clock.advance(days=7)
post_ideas({"esim2", "cap"})
for _ in range(2):
    a_week_of_votes(["esim", "wifi", "rollover", "dark", "esim2", "cap"])
    clock.advance(days=7)
community.set_idea_status(
    "esim2", "duplicate", by="staff1", duplicate_of="esim", note="same request as esim"
)
community.set_idea_status("esim", "under_review", by="staff1")
community.set_idea_status("dark", "declined", by="staff1", note="the app follows the phone")
show("End of December: the board", community.idea_board(limit=6))

# January: esim is planned, rollover under review; votes freed by closed ideas return.
community.set_idea_status("esim", "planned", by="staff1", note="coming in the spring")
community.set_idea_status("rollover", "under_review", by="staff1")
for _ in range(4):
    a_week_of_votes(["wifi", "rollover", "cap"])
    clock.advance(days=7)
community.set_idea_status("wifi", "planned", by="staff1")
show("End of January: open ideas", community.idea_board(status=policy.ideas.open_statuses))

# February: eSIM ships; Wi-Fi calling turns out not to be possible.
community.set_idea_status("esim", "in_progress", by="staff1")
for _ in range(3):
    a_week_of_votes(["rollover", "cap"])
    clock.advance(days=7)
community.set_idea_status("esim", "implemented", by="staff1", note="live for every member")
community.set_idea_status("wifi", "declined", by="staff1", note="not every phone supports it")
a_week_of_votes(["rollover", "cap"])
show("End of the quarter: the board", community.idea_board(limit=6))
show("Trending (votes cast in the last 7 days)", community.idea_board(by="trend"), recent=True)

print("\nWhat the ideas earned their authors")
for idea, author, _, _ in IDEAS:
    standing = community.standing(author)
    print(
        f"  {author} ({idea}): {standing.lifetime_points} points, "
        f"{standing.reputation} reputation, "
        f"{standing.counters.get('ideas_implemented', 0)} implemented"
    )

print("\nWhat a voter sees")
for member in ("m01", "m10"):
    standing = community.standing(member)
    held = [v.idea for v in community.member_votes(member) if v.counts_against_budget]
    print(
        f"  {member} ({standing.rank}): {standing.votes_left} votes left, open votes on "
        f"{', '.join(held) or 'nothing'}"
    )

history = community.idea("esim").history
print("\nesim's history")
for step in history:
    note = f": {step.note}" if step.note else ""
    print(f"  {step.at:%d %b} {step.status:<12} by {step.by}{note}")
told = [n for n in community.notifications(limit=None) if n.kind == "idea_status_changed"]
print(
    f"\n{len(told)} status notifications went to authors and voters; "
    f"{len(community.notifications(limit=None, member='m04'))} to esim's author m04"
)
