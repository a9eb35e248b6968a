"""Quickstart: a question answered, kudos given, a solution accepted, and what it earned.

Run it: python examples/quickstart.py
"""

from __future__ import annotations

import kudos
from kudos.testing import FakeClock

community = kudos.Community(policy=kudos.policies.giffgaff(), clock=FakeClock())

community.join("alice")
community.join("bob")
community.join("mod1", role="moderator")

community.post_topic("t1", author="bob", kind="question", title="No data abroad", tags=["roaming"])
community.post_reply("r1", topic="t1", author="alice")
community.give_kudos("r1", giver="bob")
outcome = community.accept_solution("t1", reply="r1", by="bob")
print(f"accepting r1 earned alice {outcome.total('alice', 'points')} points")

# Recording the same fact again is harmless: it returns the first outcome.
assert community.give_kudos("r1", giver="bob").replayed

# Withdrawing takes back exactly what was given, by a reversal entry.
community.withdraw_kudos("r1", giver="bob")

standing = community.standing("alice")
print(
    f"alice: {standing.points} points in {standing.period}, "
    f"{standing.reputation} reputation, {standing.counters['solutions']} solution(s)"
)
for line in community.statement("alice").lines:
    print(
        f"  {line.amount:+d} {line.account:<10} {line.reason}"
        + (f"  [reverses {line.reverses}]" if line.reverses else "")
    )

try:
    community.give_kudos("r1", giver="alice")
except kudos.NotAllowed as error:
    print(f"refused: {error}")
