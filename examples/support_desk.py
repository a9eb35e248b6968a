"""A week of a product community that replaces a help desk: customers ask, report problems,
share ideas and praise on the forum, Twitter, e-mail and the phone; members and staff answer;
a solution becomes the canonical answer and is reused on every channel; two accounts of one
customer are merged; a draft's similar topics answer a customer before they post
(a deflection), feelings and staff on duty are shown; and the week ends with the
response-health table.

Run it: python examples/support_desk.py
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import kudos
from kudos.health import HealthRules
from kudos.testing import FakeClock

# giffgaff's rewards (a canonical answer reused earns its author 10 points and 2 reputation,
# at most 200 points per answer), and a response target of 15 minutes.
policy = kudos.policies.giffgaff().evolve(health=HealthRules(target_seconds=15 * 60))
clock = FakeClock(datetime(2026, 11, 16, 8, tzinfo=UTC))
community = kudos.Community(policy=policy, clock=clock)
rng = random.Random(17)

staff = ["sam", "tess"]
members = ["alice", "bob", "carol", "dan", "erin", "femi", "gus", "hana"]
for name in staff:
    community.join(name, role="staff")
for name in members:
    community.join(name)
community.link_identity("carol", "twitter", "@carol_k")
community.link_identity("dan", "email", "dan@example.com")

# Monday: the roaming problem, answered on the forum by a member, accepted, made canonical.
community.post_topic(
    "t1", author="bob", kind="problem", title="No data in Spain", tags=["roaming"], product="sim"
)
clock.advance(minutes=4)
community.post_reply("r1", topic="t1", author="alice")
clock.advance(minutes=20)
community.accept_solution("t1", reply="r1", by="bob")
community.mark_canonical("t1", "r1", by="sam")

# The rest of the week: questions, problems, ideas and praise through every channel.
kinds = ["question", "question", "problem", "idea", "praise"]
channels = ["web", "web", "twitter", "email", "phone", "chat"]
tags = ["roaming", "billing", "esim", "signal"]
answered_with_canonical = 0
for n in range(2, 40):
    clock.advance(hours=rng.randint(1, 5))
    author = rng.choice(members)
    kind = rng.choice(kinds)
    channel = rng.choice(channels)
    tag = rng.choice(tags)
    topic = f"t{n}"
    community.via(channel).post_topic(
        topic, author=author, kind=kind, title=f"{kind} about {tag}", tags=[tag], product="sim"
    )
    if tag == "roaming" and kind in ("question", "problem"):
        # The same problem again: staff answer it with the canonical answer, on its channel.
        clock.advance(minutes=rng.randint(1, 10))
        community.answer_with(topic, canonical="r1", channel=channel, by=rng.choice(staff))
        answered_with_canonical += 1
        continue
    if rng.random() < 0.2:
        continue  # nobody answered (yet)
    clock.advance(minutes=rng.randint(1, 90))
    responder = rng.choice([*members, *staff])
    if responder == author:
        responder = "sam"
    community.post_reply(f"r{n}", topic=topic, author=responder)
    if kind in ("question", "problem") and rng.random() < 0.6:
        clock.advance(minutes=rng.randint(5, 120))
        community.accept_solution(topic, reply=f"r{n}", by=author)

# A conversation that never reached the forum: a tweet answered with the canonical answer,
# and an e-mail answered with another solution staff marked for the same problem.
community.post_topic("t90", author="hana", kind="problem", title="EU data not working")
community.post_reply("r90", topic="t90", author="tess")
community.accept_solution("t90", reply="r90", by="hana")
community.mark_canonical("t90", "r90", by="tess", problem="t1")
community.answer_with("tweet-5521", canonical="r1", channel="twitter", by="sam")
community.answer_with("mail-0042", canonical="r90", channel="email", by="tess")

# Carol also had an old account; merge it into hers. Its balances move by ledger lines.
community.join("carol-old")
community.post_reply("r91", topic="t90", author="carol-old")
community.give_kudos("r91", giver="bob")
community.merge_members("carol-old", into="carol", by="sam")
assert community.member_by_handle("twitter", "@carol_k") == "carol"

# Friday: before posting, gus sees similar topics; the solved roaming one answers him, so he
# never posts (a deflection: alice, who solved it, is rewarded). Feelings and staff on duty.
community.post_topic(
    "t95", author="femi", kind="question", title="How do I change my PIN?", feeling="confused"
)
community.set_feeling("t95", "happy", by="femi")
suggestions = community.similar_topics("How do I get data in Spain?", product="sim")
print("Similar topics:", [(s.topic, s.score, s.solved) for s in suggestions[:3]])
assert suggestions[0].topic == "t1" and suggestions[0].solved
community.deflected("t1", by="gus")
now = community.now()
community.report_shift("fri-sam", member="sam", start=now, end=now + timedelta(hours=8))
page = community.presence(product="sim")
print(
    f"Deflections: {community.deflections()}; feelings: {community.feelings()}; "
    f"people involved: {page.people_involved}, employees available: {page.employees_available}"
)

canonical = community.answer_for("t1")
assert canonical is not None
print(f"Canonical answer r1: reused {canonical.uses} times")
print(f"alice earned {community.standing('alice').points} points this week")
for found in community.answer_inconsistencies():
    shown = ", ".join(f"{c}: {'/'.join(a)}" for c, a in found.answers.items())
    print(f"Problem {found.problem} answered differently: {shown}")

clock.advance(hours=6)
report = community.health(by="channel")


def fmt(seconds: int | None) -> str:
    return "-" if seconds is None else str(timedelta(seconds=seconds))


print(f"\nResponse health (target {fmt(report.target_seconds)}):")
print(
    f"{'channel':9} {'topics':>6} {'1st resp. median':>17} {'p90':>9} "
    f"{'solved':>6} {'by members':>10} {'unanswered':>10} {'in target':>9}"
)
for name, g in [*report.groups.items(), ("all", report.total)]:
    share = g.within_target_share
    print(
        f"{name:9} {g.topics:6} {fmt(g.first_response.median):>17} {fmt(g.first_response.p90):>9} "
        f"{g.solved:6} {g.solved_by_members:10} {g.unanswered:10} "
        f"{'-' if share is None else f'{share:.0%}':>9}"
    )

feedback = community.topic_feedback("t1")
print(
    f"\nt1: first response after {fmt(feedback.first_response)}, solved by "
    f"{feedback.solved_by} after {fmt(feedback.time_to_solution)}"
)
kudos.testing.assert_consistent(community)
