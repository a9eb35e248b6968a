"""The demo behind ``kudos demo``: a small community through a payback season."""

from __future__ import annotations

import contextlib
import random
from datetime import UTC, datetime
from typing import TextIO

from . import policies
from .cli import _print_board, _print_standing
from .community import open as open_community
from .errors import NotAllowed
from .testing import FakeClock

MEMBERS = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"]
TAGS = ["roaming", "billing", "signal", "esim", "top-up"]


def run_demo(url: str, out: TextIO, *, seed: int = 7) -> None:
    """Simulate a season of a giffgaff-style community on ``url`` and print the results."""
    rng = random.Random(seed)
    clock = FakeClock(datetime(2026, 6, 1, 9, tzinfo=UTC))
    community = open_community(url, policy=policies.giffgaff(), clock=clock)
    print(f"kudos demo: a giffgaff-style community on {url.split('///')[0]}///...", file=out)

    community.join("staff1", role="staff")
    community.join("mod1", role="moderator")
    for name in MEMBERS:
        community.join(name)
        clock.advance(minutes=5)

    answers = 0
    for n in range(1, 41):
        asker = rng.choice(MEMBERS)
        topic = f"t{n}"
        community.post_topic(
            topic,
            author=asker,
            kind=rng.choice(["question", "problem"]),
            title=f"Question {n}",
            tags=[rng.choice(TAGS)],
        )
        helpers = rng.sample([m for m in MEMBERS if m != asker], k=rng.randint(1, 3))
        replies = []
        for i, helper in enumerate(helpers):
            clock.advance(minutes=rng.randint(1, 30))
            reply = f"{topic}-r{i}"
            community.post_reply(reply, topic=topic, author=helper)
            replies.append((reply, helper))
            answers += 1
        for reply, helper in replies:
            for giver in rng.sample(MEMBERS, k=rng.randint(0, 4)):
                if giver != helper:
                    community.give_kudos(reply, giver=giver)
        if rng.random() < 0.7:
            community.accept_solution(topic, reply=replies[0][0], by=asker)
        clock.advance(hours=rng.randint(6, 72))

    # Second thoughts, and a spammer caught by a moderator.
    with contextlib.suppress(NotAllowed):
        community.withdraw_kudos("t1-r0", giver="alice")
    community.join("spammer")
    community.post_reply("spam1", topic="t2", author="spammer")
    community.give_kudos("spam1", giver="bob")
    community.remove_post("spam1", by="mod1", reason="spam")
    community.adjust("carol", points=250, reason="ran the community meet-up", by="staff1")

    # Recruiting: a link with dave's code, and the new customer's SIM activates.
    community.join("newbie", referral_code=community.referral_code("dave"))
    clock.advance(days=3)
    community.qualify_referral("newbie")

    # An idea goes from proposal to implemented.
    community.post_topic("i1", author="erin", kind="idea", title="eSIM support", tags=["esim"])
    for voter in ("alice", "bob", "carol", "frank"):
        community.vote_idea("i1", voter=voter)
    for status in ("under_review", "planned", "in_progress", "implemented"):
        clock.advance(days=7)
        community.set_idea_status("i1", status, by="staff1")

    for name, method in zip(MEMBERS, ["cash", "credit", "charity"] * 3, strict=False):
        community.set_payout_method(
            name, method, charity="Macmillan" if method == "charity" else None
        )

    print(
        f"\n{len(MEMBERS)} members posted 40 topics and {answers} replies "
        f"up to {clock().date()}.\n",
        file=out,
    )
    print("Standings", file=out)
    for name in MEMBERS:
        _print_standing(community, name, out)
    print(file=out)
    _print_board(community, out, by="reputation", limit=5)
    _print_board(community, out, by="solutions", tag="roaming", limit=3)
    print("\nStatement for carol (last 5 lines)", file=out)
    for line in community.statement("carol").lines[-5:]:
        sign = "+" if line.amount >= 0 else ""
        print(
            f"  {line.at:%Y-%m-%d} {sign}{line.amount} {line.account:<10} {line.reason}"
            + (f" (reverses {line.reverses})" if line.reverses else ""),
            file=out,
        )

    # The season ends on 30 November; payback is paid out from December.
    clock.set(datetime(2026, 12, 2, 9, tzinfo=UTC))
    payouts = community.close_period("2026-H2", by="staff1")
    money = community.policy.payback
    print("\nPayback for 2026-H2", file=out)
    for p in sorted(payouts, key=lambda p: (p.method, p.member)):
        print(
            f"  {p.member:<8} {p.method:<8} {p.points:>6} points -> {money.format(p.amount)}",
            file=out,
        )
    paid = {p.member for p in payouts}
    for name in MEMBERS:
        carried = community.standing(name).points
        if name not in paid and carried:
            print(
                f"  {name:<8} carries {carried} points into {community.current_period()} "
                "(below the £10 cash minimum)",
                file=out,
            )
    for method in sorted({p.method for p in payouts}):
        total = sum(p.amount for p in payouts if p.method == method)
        print(f"  total {method:<8} {money.format(total)}", file=out)
    figures = community.referral_figures()
    print(f"\nReferrals: {figures.qualified} qualified of {figures.made} made", file=out)
    print(
        f"Outbox: {len(community.notifications(limit=None))} notifications for a worker to deliver",
        file=out,
    )
