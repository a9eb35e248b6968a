"""A giffgaff-style community through one payback period, to the penny.

Members answer each other's questions from June to November 2026 (the
2026-H2 period, Europe/London), earning points for kudos and accepted
solutions. In December the community closes the period: every member's
points become money at 1 point = 1p and are paid the way the member chose,
airtime credit, cash via PayPal (from £10) or a charity donation that the
company matches pound for pound. Points of members under the minimum, or
who chose nothing, roll over to the next period once. A kudos that arrives
late is booked in the next period, and a PayPal payout that fails returns its
points to the member.

Run it: python examples/payback_period.py
"""

from __future__ import annotations

import csv
import random
import sys
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import kudos
from kudos.payback import PAYOUT_COLUMNS
from kudos.testing import FakeClock, assert_consistent

clock = FakeClock(datetime(2026, 6, 1, 9, tzinfo=UTC))  # the first day of 2026-H2
community = kudos.Community(policy=kudos.policies.giffgaff(), clock=clock)
rules = community.policy.payback
money = rules.format

helpers = ["alice", "bob", "carol", "dave", "erin", "frank"]
askers = ["gina", "hugo", "ivan", "jess"]
community.join("staff1", role="staff")
for name in helpers + askers:
    community.join(name)

# How busy each helper is: alice answers a lot, frank now and then.
rng = random.Random(2026)
busy = {"alice": 0.9, "bob": 0.6, "carol": 0.45, "dave": 0.7, "erin": 0.15, "frank": 0.05}
topic = 0
for _week in range(25):
    for asker in askers:
        topic += 1
        t = f"t{topic}"
        community.post_topic(t, author=asker, title=f"Question {topic}", tags=["help"])
        replies = [h for h in helpers if rng.random() < busy[h]]
        for helper in replies:
            community.post_reply(f"{t}-{helper}", topic=t, author=helper)
            for giver in rng.sample(askers + helpers, k=3):
                if giver != helper:
                    community.give_kudos(f"{t}-{helper}", giver=giver)
        if replies:
            community.accept_solution(t, reply=f"{t}-{replies[0]}", by=asker)
        clock.advance(hours=9)
    clock.advance(days=4)
last_reply = f"t{topic}-{replies[0]}"

# Members pick how to be paid (giffgaff: each period, before the selection closes).
community.set_payout_method("alice", "cash")
community.set_payout_method("bob", "credit")
community.set_payout_method("carol", "charity", charity="shelter")
community.set_payout_method("dave", "cash")
community.set_payout_method("erin", "cash")  # under £10: PayPal is not an option, it rolls over
# frank forgets to choose: his points roll over once.

period = community.current_period()
zone = ZoneInfo(community.policy.periods.timezone)
start, end = (t.astimezone(zone) for t in community.policy.periods.bounds(period))
last_day = end - timedelta(days=1)
print(f"{period}: {start:%d %b} to {last_day:%d %b %Y} in {zone}, {topic} topics answered")
print("what members hold before the close:")
for name in helpers:
    choice = community.payout_method(name)
    how = f"pays by {choice.method}" if choice.method else "has not chosen how to be paid"
    print(f"  {name:<6} {community.standing(name).points:>5} points, {how}")

# The selection window closes in the second week of December: close the period.
clock.set(datetime(2026, 12, 12, 10, tzinfo=UTC))
payouts = community.close_period(period, by="staff1")


def payout_table() -> None:
    print(f"  {'method':<8} {'member':<6} {'points':>6} {'amount':>9} {'match':>7} status")
    for method in rules.methods:
        for p in (p for p in community.payouts(period) if p.method == method):
            match = money(p.match) if p.match else ""
            print(
                f"  {method:<8} {p.member:<6} {p.points:>6} {money(p.amount):>9} "
                f"{match:>7} {p.status}" + (f" ({p.charity})" if p.charity else "")
            )


print(f"\npayouts of {period}, by method:")
payout_table()
report = community.payback_period(period)
for name in helpers:
    conversion = community.statement(name, period=period).conversion
    if conversion is not None and conversion.carried_over:
        print(
            f"  {name} carries {conversion.carried_over} points to {conversion.carried_to}: "
            f"{conversion.reason}"
        )
print(
    f"totals: {report.points} points converted = {report.paid_points} paid "
    f"+ {report.carried_over} carried over + {report.lapsed} lapsed; "
    f"{money(report.amount)} issued, {money(report.match)} matched by the company"
)
assert report.paid_points + report.carried_over + report.lapsed == report.points
assert sum(p.points for p in payouts) == report.paid_points

# A kudos given on 30 November reaches kudos only now: booked in the open period.
late = community.give_kudos(last_reply, giver="staff1", at=datetime(2026, 11, 30, 20, tzinfo=UTC))
for entry in (e for e in late.entries if e.account == "points"):
    print(
        f"\nlate kudos dated {entry.at:%d %b}: +{entry.amount} points to {entry.member}, "
        f"booked in {entry.period}"
    )

# Finance pays the payouts; dave's PayPal account was never verified.
community.mark_payout_failed(f"{period}:dave", "paypal-unverified")
for p in community.payouts(period, status="issued"):
    community.mark_payout_paid(p.id, f"REF-{p.member.upper()}")
print(f"\nafter paying ({money(community.payback_period(period).paid)} paid):")
payout_table()
print(
    f"dave's {community.payout(f'{period}:dave').points} points are back in "
    f"{community.current_period()}: {community.standing('dave').points} points"
)

print("\nthe finance file (CSV):")
writer = csv.DictWriter(sys.stdout, fieldnames=PAYOUT_COLUMNS)
writer.writeheader()
writer.writerows(community.export_payouts(period))

assert_consistent(community)
