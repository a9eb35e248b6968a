"""The demo behind ``kudos demo``: a small community through a payback season."""

from __future__ import annotations

import contextlib
import random
from datetime import UTC, datetime, timedelta
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
        community.post_topic(topic, author=asker, kind=rng.choice(["question", "problem"]),
                             title=f"Question {n}", tags=[rng.choice(TAGS)])
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

    print(f"\n{len(MEMBERS)} members posted 40 topics and {answers} replies "
          f"up to {clock().date()}.\n", file=out)
    print("Standings", file=out)
    for name in MEMBERS:
        _print_standing(community, name, out)
    print(file=out)
    _print_board(community, out, by="reputation", limit=5)
    _print_board(community, out, by="solutions", tag="roaming", limit=3)
    print("\nStatement for carol (last 5 lines)", file=out)
    for line in community.statement("carol").lines[-5:]:
        sign = "+" if line.amount >= 0 else ""
        print(f"  {line.at:%Y-%m-%d} {sign}{line.amount} {line.account:<10} {line.reason}"
              + (f" (reverses {line.reverses})" if line.reverses else ""), file=out)
    clock.set(clock() + timedelta(days=1))
