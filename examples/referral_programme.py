"""A season of a giffgaff-style referral programme: recruits, a fraud ring, expiry, figures.

Members share invitation links; a friend who joins through one is a pending
referral until the host says they became a customer (activated a SIM, topped
up). Then both are rewarded. A fraud ring paying every first top-up with the
recruiter's own card is held for staff review; friends who never activate
expire after 120 days; a customer who charges back has the rewards taken back.

Run it: python examples/referral_programme.py
"""

from __future__ import annotations

from datetime import UTC, datetime

import kudos
from kudos.testing import FakeClock

clock = FakeClock(datetime(2026, 6, 1, 9, tzinfo=UTC))  # the first day of 2026-H2
community = kudos.Community(policy=kudos.policies.giffgaff(), clock=clock)

community.join("staff1", role="staff")
community.join("alice", fingerprints=["card:alice"])
community.join("bob", fingerprints=["card:bob"])
community.join("mallory", fingerprints=["card:mallory"])
print("giffgaff preset: 500 points per recruit (15 a period), 500 for the recruit,")
print("500 more for a first recruit within 6 weeks; 120 days to become a customer.\n")

# Alice shares her link; her friends join through it over the summer.
link = community.referral_code("alice")
print(f"alice's invitation link: https://example.invalid/join?ref={link}")
for n in range(1, 8):
    community.join(f"friend{n}", referral_code=link, fingerprints=[f"device:f{n}"])
    clock.advance(days=3)
for n in range(1, 6):  # five activate their SIMs; friend6 and friend7 never do
    outcome = community.qualify_referral(f"friend{n}", fingerprints=[f"card:f{n}"])
    print(
        f"friend{n} activated: alice +{outcome.total('alice')} points, "
        f"friend{n} +{outcome.total(f'friend{n}')}"
    )
    clock.advance(days=2)

# Bob recruits through the "recommended by" box after his friends joined.
for name in ("carol", "dave"):
    community.join(name)
    community.refer("bob", name, fingerprints=[f"device:{name}"])
community.qualify_referral("carol")
print(f"\nbob's pending points: {community.standing('bob').pending_points} (dave not active yet)")

# A fraud ring: four accounts through mallory's link, each topped up with her card.
ring = community.referral_code("mallory")
for n in range(1, 5):
    community.join(f"ring{n}", referral_code=ring)
    community.qualify_referral(f"ring{n}", fingerprints=["card:mallory"])
print("\nreview queue (what staff see):")
for referral in community.referrals(status="held"):
    print(
        f"  {referral.member} by {referral.referrer}: held for review, "
        f"{'; '.join(referral.held_reasons)}"
    )
for referral in community.referrals(status="held"):
    community.review_referral(referral.member, approve=False, by="staff1")
print(f"staff rejected them: mallory has {community.standing('mallory').lifetime_points} points")

# A month on, friend3 charges back: alice's reward for friend3 is reversed.
clock.advance(days=30)
taken = community.revoke_referral("friend3", reason="charged back")
print(f"\nfriend3 charged back: alice {taken.total('alice')}, friend3 {taken.total('friend3')}")

# Late in the season a nightly sweep expires referrals pending for 120 days.
clock.advance(days=80)
swept = community.expire_referrals()
expired = sorted(n.data["new_member"] for n in swept.notifications)
print(f"sweep on {clock().date()}: expired {', '.join(expired)}")

print("\nrecruiters this period (qualified referrals)")
for row in community.leaderboard(by="referrals", period="current"):
    standing = community.standing(row.member)
    print(
        f"  {row.position}. {row.member:<8} {row.value} referral(s), "
        f"{standing.lifetime_points} points"
    )

figures = community.referral_figures("2026-H2")
print(f"\nprogramme figures for {figures.period}: {figures.made} referrals made")
for status in kudos.referrals.STATUSES:
    print(f"  {status:<10} {getattr(figures, status)}")
per_mille = figures.conversion_per_mille  # integers all the way: no float rounding
print(
    f"  conversion {figures.conversion} ({per_mille // 10}.{per_mille % 10}%), "
    f"{figures.points} points paid"
)
