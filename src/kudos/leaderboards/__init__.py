"""Leaderboards and positions: who leads, and where a member stands.

A leaderboard ranks members by one metric (:data:`METRICS`: ``reputation``,
``points``, ``solutions``, ``kudos_received``, ``referrals``,
``ideas_implemented``) over one span:

* all time (the default);
* one payback period (``period="2026-H2"``, or ``"current"``);
* a rolling window of whole days ending today (``window="7d"``, ``"30d"``
  or a ``timedelta``), in the periods' time zone;
* one tag or product of the topics the values came from (``tag="roaming"``),
  all time or within a period.

Boards read the counters the engine keeps in the same transaction as every
award, so they are never behind the ledger and ``rebuild()`` recomputes them
exactly. Order: value descending, then the policy's tie-break metric
(:attr:`LeaderboardRules.tie_break`, more first) if it has one, then member id
ascending, so equal values always list in the same order. Staff and
moderators are left out unless ``include_staff=True``. Results are cached
(see :mod:`kudos.cache`), never served once a write committed after them.

>>> import kudos
>>> from kudos.testing import FakeClock
>>> c = kudos.Community(clock=FakeClock())
>>> for m in ("alice", "bob", "carol", "dave"):
...     _ = c.join(m)
>>> _ = c.post_topic("t1", author="dave", title="No data abroad", tags=["roaming"])
>>> _ = c.post_reply("r1", topic="t1", author="alice")
>>> _ = c.post_reply("r2", topic="t1", author="bob")
>>> for giver in ("bob", "carol", "dave"):
...     _ = c.give_kudos("r1", giver=giver)
>>> _ = c.give_kudos("r2", giver="carol")
>>> print(*[(r.position, r.member, r.value) for r in c.leaderboard(by="kudos_received")])
(1, 'alice', 3) (2, 'bob', 1)
>>> print(f"bob, you are {c.position('bob', by='kudos_received', window='7d')}")
bob, you are #2 of 2
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_submodule_names
from .rules import ACTIONS as ACTIONS
from .rules import METRICS as METRICS
from .rules import STAFF_METRIC as STAFF_METRIC
from .rules import STAFF_ROLES as STAFF_ROLES
from .rules import LeaderboardPosition as LeaderboardPosition
from .rules import LeaderboardRow as LeaderboardRow
from .rules import LeaderboardRules as LeaderboardRules
from .rules import preset as preset

if TYPE_CHECKING:
    from .api import LeaderboardsAPI as LeaderboardsAPI

__all__ = [
    "ACTIONS",
    "METRICS",
    "STAFF_METRIC",
    "STAFF_ROLES",
    "LeaderboardPosition",
    "LeaderboardRow",
    "LeaderboardRules",
    "LeaderboardsAPI",
    "preset",
]

# The engine-side names load on first use, so importing the rules loads no engine.
__getattr__ = lazy_submodule_names(__name__, {"LeaderboardsAPI": "api"})
