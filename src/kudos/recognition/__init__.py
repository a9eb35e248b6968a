"""Recognition: ranks, badges and privileges, and telling members when they change.

The policy section :class:`Recognition` holds three lists, all plain data that
load from TOML (see ``docs/recognition.md``):

* a **ladder** of :class:`Rank` s, highest first: a member's rank is the first
  whose requirements they meet (``requires = {reputation = 1000, solutions = 50}``);
* :class:`Badge` s, single or levelled (bronze/silver/gold), each with one rule
  from a small vocabulary: a metric reaching a threshold, the first time a
  member does something, a reply soon after a question, or a host's own pure
  function registered with :func:`register_badge_rule`;
* :class:`Privilege` s unlocked by metrics or by rank, plus the privileges
  each role (staff, moderator) holds regardless.

Metrics are the member's all-time counters (``reputation``, ``points``,
``solutions``, ``kudos_received``, ``kudos_given``, ``replies``, ``topics``,
``days_active``, and counters other capabilities keep, such as ``referrals``
and ``ideas_implemented``) plus ``tenure_days``, the whole days since joining.

After every event, recognition re-evaluates the members the event touched
(ranks first, then badges, then privileges) and keeps these documents (rebuilt exactly by replay).
A member evaluated before is evaluated again only when a counter those rules read moved
past one of their thresholds (a rank's or privilege's requirement, a badge level), their
tenure grew or their role changed; badges that depend on the event itself are checked
every time:

* ``rank``: member id -> ``{"rank": name, "since": iso time}`` (status = the rank);
* ``privileges``: member id -> ``{"privileges": [names]}``;
* ``recognised``: member id -> ``{"checked": fingerprint}``, the rules the member's
  standing was last worked out by in full (``""``: by other rules, in part, or moved
  since under other rules or unseen by these), so a move under other rules (a
  policy change, a late fact under an earlier version) is evaluated as any move used
  to be;
* ``badge``: :func:`badge_key` -> the award (ref = member, status =
  ``earned`` or ``revoked``);
* ``active_days``: member and month -> the distinct days the member acted on,
  behind the ``days_active`` counter.

Changes are notified through the outbox in the same transaction:
``rank_changed``, ``badge_earned``, ``badge_revoked``, ``privilege_granted``
and ``privilege_revoked``. What every new member has from the start (the
entry rank, privileges that need nothing) is not news and is not notified.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_submodule_names
from .rules import ACTIONS as ACTIONS
from .rules import ACTIVITIES as ACTIVITIES
from .rules import Badge as Badge
from .rules import BadgeAward as BadgeAward
from .rules import BadgeFacts as BadgeFacts
from .rules import Privilege as Privilege
from .rules import Rank as Rank
from .rules import Recognition as Recognition
from .rules import badge_key as badge_key
from .rules import preset as preset
from .rules import register_badge_rule as register_badge_rule

if TYPE_CHECKING:
    from .api import RecognitionAPI as RecognitionAPI
    from .handlers import current_rank as current_rank

__all__ = [
    "ACTIONS",
    "ACTIVITIES",
    "Badge",
    "BadgeAward",
    "BadgeFacts",
    "Privilege",
    "Rank",
    "Recognition",
    "RecognitionAPI",
    "badge_key",
    "current_rank",
    "preset",
    "register_badge_rule",
]

# The engine-side names load on first use, so importing the rules loads no engine.
__getattr__ = lazy_submodule_names(__name__, {"RecognitionAPI": "api", "current_rank": "handlers"})
