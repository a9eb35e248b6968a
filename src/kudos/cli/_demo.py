"""The demo behind ``kudos demo``: a small community through a payback season.

Every fact carries its own event id (``demo:...``), so running the demo again
on the same database replays the same facts: nothing changes, and the demo
says so.
"""

from __future__ import annotations

import contextlib
import random
from datetime import UTC, datetime
from typing import TextIO

from .. import policies
from ..community import Community
from ..community import open as open_community
from ..errors import NotAllowed
from ..testing import FakeClock
from ._render import ledger_row, plural, standing_lines

MEMBERS = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"]
TAGS = ["roaming", "billing", "signal", "esim", "top-up"]


def run_demo(url: str, out: TextIO, *, seed: int = 7, where: str | None = None) -> None:
    """Simulate a season of a giffgaff-style community on ``url`` and print the results.

    Everything is recorded before anything is printed, so a reader that goes
    away early (``kudos demo | head``) never leaves the season half recorded,
    and a second run on the same database prints the same report. ``where``
    names the database in the report (default: ``url``).
    """
    rng = random.Random(seed)
    clock = FakeClock(datetime(2026, 6, 1, 9, tzinfo=UTC))
    community = open_community(url, policy=policies.giffgaff(), clock=clock)
    where = where or url
    known = _event_count(community)
    if known and not _holds_the_demo(community):
        raise NotAllowed(
            f"{where} already holds a community that is not this demo; "
            "run the demo on a new database (leave out --url for a temporary one)"
        )

    def eid(*parts: object) -> str:
        return "demo:" + ":".join(str(p) for p in parts)

    community.join("staff1", role="staff", event_id=eid("join", "staff1"))
    community.join("mod1", role="moderator", event_id=eid("join", "mod1"))
    for name in MEMBERS:
        community.join(name, event_id=eid("join", name))
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
            event_id=eid("topic", topic),
        )
        helpers = rng.sample([m for m in MEMBERS if m != asker], k=rng.randint(1, 3))
        replies = []
        for i, helper in enumerate(helpers):
            clock.advance(minutes=rng.randint(1, 30))
            reply = f"{topic}-r{i}"
            community.post_reply(reply, topic=topic, author=helper, event_id=eid("reply", reply))
            replies.append((reply, helper))
            answers += 1
        for reply, helper in replies:
            for giver in rng.sample(MEMBERS, k=rng.randint(0, 4)):
                if giver != helper:
                    community.give_kudos(reply, giver=giver, event_id=eid("kudos", reply, giver))
        if rng.random() < 0.7:
            community.accept_solution(
                topic, reply=replies[0][0], by=asker, event_id=eid("accept", topic)
            )
        clock.advance(hours=rng.randint(6, 72))

    # Second thoughts, and a spammer caught by a moderator.
    with contextlib.suppress(NotAllowed):
        community.withdraw_kudos("t1-r0", giver="alice", event_id=eid("unkudos", "t1-r0"))
    community.join("spammer", event_id=eid("join", "spammer"))
    community.post_reply("spam1", topic="t2", author="spammer", event_id=eid("reply", "spam1"))
    community.give_kudos("spam1", giver="bob", event_id=eid("kudos", "spam1", "bob"))
    community.remove_post("spam1", by="mod1", reason="spam", event_id=eid("remove", "spam1"))
    community.adjust(
        "carol",
        points=250,
        reason="ran the community meet-up",
        by="staff1",
        event_id=eid("adjust", "carol"),
    )

    # Recruiting: a link with dave's code, and the new customer's SIM activates.
    community.join(
        "newbie", referral_code=community.referral_code("dave"), event_id=eid("join", "newbie")
    )
    clock.advance(days=3)
    community.qualify_referral("newbie", event_id=eid("qualify", "newbie"))

    # An idea goes from proposal to implemented.
    community.post_topic(
        "i1",
        author="erin",
        kind="idea",
        title="eSIM support",
        tags=["esim"],
        event_id=eid("topic", "i1"),
    )
    for voter in ("alice", "bob", "carol", "frank"):
        community.vote_idea("i1", voter=voter, event_id=eid("vote", "i1", voter))
    for status in ("under_review", "planned", "in_progress", "implemented"):
        clock.advance(days=7)
        community.set_idea_status("i1", status, by="staff1", event_id=eid("status", "i1", status))

    for name, method in zip(MEMBERS, ["cash", "credit", "charity"] * 3, strict=False):
        community.set_payout_method(
            name,
            method,
            charity="Macmillan" if method == "charity" else None,
            event_id=eid("method", name),
        )

    season_end = clock().date()
    # The season ends on 30 November; payback is paid out from December.
    clock.set(datetime(2026, 12, 2, 9, tzinfo=UTC))
    payouts = community.close_period("2026-H2", by="staff1", event_id=eid("close", "2026-H2"))
    money = community.policy.payback
    added = _event_count(community) - known

    print(f"kudos demo: a giffgaff-style community on {where}", file=out)
    print(
        f"\n{len(MEMBERS)} members posted 40 topics and {answers} replies up to {season_end}.\n",
        file=out,
    )
    print(f"Standings after the close ({community.current_period()})", file=out)
    for name in MEMBERS:
        for text in standing_lines(community.standing(name)):
            print(text, file=out)
    for title, query in (
        ("Leaderboard by reputation", {"by": "reputation", "limit": 5}),
        (
            "Leaderboard by solutions, tag roaming",
            {"by": "solutions", "tag": "roaming", "limit": 3},
        ),
    ):
        print(f"\n{title}", file=out)
        for row in community.leaderboard(**query):  # type: ignore[arg-type]
            print(f"  #{row.position:<3} {row.member:<12} {row.value:,}", file=out)
    print("\nStatement for carol (last 5 lines)", file=out)
    for line in community.statement("carol").lines[-5:]:
        date, amount, account, reason = ledger_row(line)
        print(f"  {date} {amount:>5} {account:<10} {reason}", file=out)

    print("\nPayback for 2026-H2", file=out)
    for p in sorted(payouts, key=lambda p: (p.method, p.member)):
        print(
            f"  {p.member:<8} {p.method:<8} {plural(p.points, 'point'):>12} -> "
            f"{money.format(p.amount)}",
            file=out,
        )
    paid = {p.member for p in payouts}
    for name in MEMBERS:
        carried = community.standing(name).points
        if name not in paid and carried:
            print(
                f"  {name:<8} carries {plural(carried, 'point')} into {community.current_period()} "
                "(below the £10 cash minimum)",
                file=out,
            )
    for method in sorted({p.method for p in payouts}):
        total = sum(p.amount for p in payouts if p.method == method)
        print(f"  total {method:<8} {money.format(total)}", file=out)
    figures = community.referral_figures()
    print(f"\nReferrals: {figures.qualified} qualified of {figures.made} made", file=out)
    print(
        f"Outbox: {plural(len(community.notifications(limit=None)), 'notification')} "
        "for a worker to deliver",
        file=out,
    )
    if known and not added:
        print(
            f"\nNothing new recorded: {where} already held this demo ({plural(known, 'event')}).",
            file=out,
        )
    else:
        print(f"\nRecorded {plural(added, 'event')} on {where}.", file=out)


def _holds_the_demo(community: Community) -> bool:
    """Whether the community's first event is the demo's (a re-run replays it)."""
    with community.store.transaction(community.id) as tx:
        first = tx.events(limit=1)
    return bool(first) and first[0].event_id.startswith("demo:")


def _event_count(community: Community) -> int:
    with community.store.transaction(community.id) as tx:
        return len(tx.events())
