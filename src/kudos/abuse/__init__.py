"""Abuse that does not pay: serial voting found and reversed.

Rewards paid in cash attract fraud. Stack Exchange reverses serial voting
(many votes from one member to another in a short time) once a day; kudos
does the same, under the policy's :class:`AbuseRules`:

* a **serial vote** is a kudos from one giver to one author on a calendar day
  (in the periods' time zone) on which that giver gave that author at least
  ``serial_votes`` kudos still standing;
* :meth:`AbuseAPI.reverse_serial_votes` (a daily job, after the day ended)
  records a ``SerialVotesReversed`` fact that reverses every award of those
  kudos, the author's and the giver's, each reversal referencing the entry it
  takes back; :meth:`AbuseAPI.serial_votes` lists what it would reverse, for
  review.

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

import importlib
from typing import TYPE_CHECKING, Any

from .rules import ACTIONS as ACTIONS
from .rules import AbuseRules as AbuseRules
from .rules import SerialVoting as SerialVoting

if TYPE_CHECKING:
    from .api import AbuseAPI as AbuseAPI

__all__ = ["ACTIONS", "AbuseAPI", "AbuseRules", "SerialVoting"]

# The engine-side names load on first use, so importing the rules loads no engine.
_LAZY = {"AbuseAPI": "api"}


def __getattr__(name: str) -> Any:
    """The names in ``_LAZY``, imported from their module when first asked for.

    Raises:
        AttributeError: ``name`` is not a name of this package.
    """
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
