"""Every capability's engine half, imported once so its handlers register.

The engine (:mod:`kudos.engine.core`) knows handlers only through the
registration decorators (``handles``, ``after_event``, ``contributes_standing``,
...); importing this module imports each ``handlers`` module once. The order
is the order hooks run after every event.
"""

from __future__ import annotations

from ..abuse import handlers as abuse
from ..channels import handlers as channels
from ..forum import handlers as forum
from ..forum import reputation
from ..health import handlers as health
from ..history import handlers as history
from ..ideas import handlers as ideas
from ..leaderboards import handlers as leaderboards
from ..payback import handlers as payback
from ..recognition import handlers as recognition
from ..referrals import handlers as referrals
from ..support import handlers as support
from . import refusals

HANDLERS = (
    forum,
    reputation,
    refusals,
    abuse,
    channels,
    recognition,
    ideas,
    leaderboards,
    payback,
    referrals,
    history,
    support,
    health,
)
"""The modules whose handlers the engine runs, in the order they registered."""
