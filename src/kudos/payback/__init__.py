"""Payback: converting a period's points into money and paying it out.

Points are earned in a payback period (``policy.periods``; giffgaff: 1 Dec -
31 May and 1 Jun - 30 Nov). When the host closes an ended period
(:meth:`PaybackAPI.close_period`), every member's points of that period are
*converted* under the policy's :class:`PaybackRules`:

* the points are valued at the policy's :class:`Rate` (integer minor units of
  a currency, e.g. 1 penny a point), plus any :class:`BonusTier` bonus,
  rounded as the policy says (down by default), never through floats;
* the member's chosen method (``credit``, ``cash`` or ``charity``, see
  :meth:`PaybackAPI.set_payout_method`) may add an uplift (credit worth more
  than cash) and record a match (a charity donation matched by the company);
* below the method's minimum, over the per-member maximum, or with no method
  chosen, the points carry over to the next period or lapse, as the policy
  says; points carry over at most ``carry_overs`` times (giffgaff: once).

What is paid is a ``payout`` ledger debit in the closed period, what carries
over a debit there and a credit in the next period, what lapses a ``lapse``
debit: after closing, every member's balance in the period is 0 and
``paid + carried over + lapsed == points converted``. The payout is then
``issued``; the host pays it and reports ``paid`` (with its own reference) or
``failed`` (the points come back to the member by a reversal).

>>> import kudos
>>> from datetime import UTC, datetime
>>> from kudos.testing import FakeClock
>>> clock = FakeClock(datetime(2026, 11, 2, 12, tzinfo=UTC))
>>> c = kudos.Community(policy=kudos.policies.giffgaff(), clock=clock)
>>> _ = c.join("alice"), c.join("staff1", role="staff")
>>> _ = c.adjust("alice", points=1_250, reason="meet-up host", by="staff1")
>>> _ = c.set_payout_method("alice", "cash")
>>> _ = clock.set(datetime(2026, 12, 10, tzinfo=UTC))
>>> print(*[(p.member, p.points, c.policy.payback.format(p.amount), p.method)
...         for p in c.close_period("2026-H2")])
('alice', 1250, '£12.50', 'cash')
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_submodule_names
from .rules import ACTIONS as ACTIONS
from .rules import LEFTOVER as LEFTOVER
from .rules import METHODS as METHODS
from .rules import PAYOUT_COLUMNS as PAYOUT_COLUMNS
from .rules import ROUNDINGS as ROUNDINGS
from .rules import SETTLEMENT_ACTIONS as SETTLEMENT_ACTIONS
from .rules import STATUSES as STATUSES
from .rules import BonusTier as BonusTier
from .rules import Conversion as Conversion
from .rules import PaybackPeriod as PaybackPeriod
from .rules import PaybackRules as PaybackRules
from .rules import Payout as Payout
from .rules import PayoutChoice as PayoutChoice
from .rules import PayoutComparison as PayoutComparison
from .rules import PayoutMethod as PayoutMethod
from .rules import Rate as Rate
from .rules import payout_key as payout_key
from .rules import preset as preset

if TYPE_CHECKING:
    from .api import PaybackAPI as PaybackAPI

__all__ = [
    "ACTIONS",
    "LEFTOVER",
    "METHODS",
    "PAYOUT_COLUMNS",
    "ROUNDINGS",
    "SETTLEMENT_ACTIONS",
    "STATUSES",
    "BonusTier",
    "Conversion",
    "PaybackAPI",
    "PaybackPeriod",
    "PaybackRules",
    "Payout",
    "PayoutChoice",
    "PayoutComparison",
    "PayoutMethod",
    "Rate",
    "payout_key",
    "preset",
]

# The engine-side names load on first use, so importing the rules loads no engine.
__getattr__ = lazy_submodule_names(__name__, {"PaybackAPI": "api"})
