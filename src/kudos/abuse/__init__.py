"""Abuse that does not pay: serial voting and vote rings, limits, and payouts under review.

Rewards paid in cash attract fraud. Stack Exchange reverses serial voting
(many votes from one member to another in a short time) once a day, and
giffgaff reviews payouts by hand; kudos does both, under the policy's
:class:`AbuseRules` (every rule off by default):

* a **serial vote** is a kudos from one giver to one author on a calendar day
  (in the periods' time zone) on which that giver gave that author at least
  ``serial_votes`` kudos still standing;
* :meth:`AbuseAPI.reverse_serial_votes` (a daily job, after the day ended)
  records a ``SerialVotesReversed`` fact that reverses every award of those
  kudos, the author's and the giver's, each reversal referencing the entry it
  takes back; :meth:`AbuseAPI.serial_votes` lists what it would reverse, for
  review;
* a **vote ring** is a small group whose kudos in a payback period went mostly
  to each other: :meth:`AbuseAPI.vote_rings` flags them and staff may reverse
  one with :meth:`AbuseAPI.reverse_vote_ring`;
* kudos from **new accounts** or between accounts that **share a fingerprint**
  pay nothing: their awards are 0-point lines saying which limit applied;
* :meth:`AbuseAPI.abuse_report` is the review queue of a period, and
  :meth:`AbuseAPI.hold_payout` keeps a member under review from being paid
  at the close until :meth:`AbuseAPI.release_payout`.

The votes themselves stay (a member may still withdraw one, which then takes
back nothing more); what they paid is taken back, so the ledger equals one
recorded without them.

>>> import kudos
>>> from datetime import UTC, datetime, timedelta
>>> from kudos.testing import FakeClock
>>> policy = kudos.policies.giffgaff().evolve(abuse=kudos.abuse.AbuseRules(serial_votes=3))
>>> c = kudos.Community(policy=policy, clock=FakeClock(datetime(2026, 11, 23, 9, tzinfo=UTC)))
>>> _ = c.join("alice"); _ = c.join("bob"); _ = c.post_topic("t0", author="bob")
>>> for i in range(3):
...     _ = c.post_reply(f"r{i}", topic="t0", author="alice")
...     _ = c.give_kudos(f"r{i}", giver="bob")
>>> c.standing("alice").reputation
3
>>> _ = c.clock.advance(days=1)
>>> for s in c.serial_votes("2026-11-23"):
...     print(f"{s.giver} to {s.author}: {s.votes} votes")
bob to alice: 3 votes
>>> _ = c.reverse_serial_votes("2026-11-23")
>>> c.standing("alice").reputation
0
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_submodule_names
from .rules import ACTIONS as ACTIONS
from .rules import MAX_RING_SIZE as MAX_RING_SIZE
from .rules import AbuseReport as AbuseReport
from .rules import AbuseRules as AbuseRules
from .rules import LimitedVote as LimitedVote
from .rules import PayoutReview as PayoutReview
from .rules import SerialVoting as SerialVoting
from .rules import VoteRing as VoteRing

if TYPE_CHECKING:
    from .api import AbuseAPI as AbuseAPI

__all__ = [
    "ACTIONS",
    "MAX_RING_SIZE",
    "AbuseAPI",
    "AbuseReport",
    "AbuseRules",
    "LimitedVote",
    "PayoutReview",
    "SerialVoting",
    "VoteRing",
]

# The engine-side names load on first use, so importing the rules loads no engine.
__getattr__ = lazy_submodule_names(__name__, {"AbuseAPI": "api"})
