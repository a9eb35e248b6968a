"""kudos: customer-community gamification on an auditable ledger.

The host reports what happened (members join, post, give kudos, accept
solutions, refer customers, propose ideas); kudos decides what it is worth,
keeps an append-only ledger, and answers standings, statements, leaderboards
and payouts.

>>> import kudos
>>> community = kudos.Community(policy=kudos.policies.stackexchange())
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from . import abuse as abuse
from . import channels as channels
from . import events as events
from . import explain as explain
from . import health as health
from . import history as history
from . import ideas as ideas
from . import leaderboards as leaderboards
from . import payback as payback
from . import policies as policies
from . import recognition as recognition
from . import referrals as referrals
from . import support as support
from ._lazy import lazy_names
from .cache import CacheStats as CacheStats
from .cache import ReadCache as ReadCache
from .errors import Conflict as Conflict
from .errors import InvalidDump as InvalidDump
from .errors import InvalidInput as InvalidInput
from .errors import InvalidPolicy as InvalidPolicy
from .errors import KudosError as KudosError
from .errors import NotAllowed as NotAllowed
from .errors import PolicyMismatch as PolicyMismatch
from .errors import RebuildMismatch as RebuildMismatch
from .errors import StoreError as StoreError
from .errors import TransientStoreError as TransientStoreError
from .errors import UnknownMember as UnknownMember
from .errors import UnknownPost as UnknownPost
from .errors import UnknownRecord as UnknownRecord
from .explain.report import SimulationReport as SimulationReport
from .explain.table import PolicyTable as PolicyTable
from .model import LedgerEntry as LedgerEntry
from .model import Member as Member
from .model import Notification as Notification
from .model import Outcome as Outcome
from .model import PolicyVersion as PolicyVersion
from .model import Post as Post
from .model import RankProgress as RankProgress
from .model import Standing as Standing
from .model import Statement as Statement
from .model import StatementLine as StatementLine
from .periods import Periods as Periods
from .policy import Cap as Cap
from .policy import EarlierReward as EarlierReward
from .policy import Policy as Policy
from .policy import Reward as Reward

if TYPE_CHECKING:
    from . import importers as importers
    from .community import Community as Community
    from .community import RebuildReport as RebuildReport
    from .community import Simulation as Simulation
    from .community import StandingChange as StandingChange
    from .community import open as open
    from .stores.memory import MemoryStore as MemoryStore
    from .stores.protocol import Store as Store
    from .stores.sql import SqlStore as SqlStore


try:
    __version__ = version("kudos-community")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "CacheStats",
    "Cap",
    "Community",
    "Conflict",
    "EarlierReward",
    "InvalidDump",
    "InvalidInput",
    "InvalidPolicy",
    "KudosError",
    "LedgerEntry",
    "Member",
    "MemoryStore",
    "NotAllowed",
    "Notification",
    "Outcome",
    "Periods",
    "Policy",
    "PolicyMismatch",
    "PolicyTable",
    "PolicyVersion",
    "Post",
    "RankProgress",
    "ReadCache",
    "RebuildMismatch",
    "RebuildReport",
    "Reward",
    "Simulation",
    "SimulationReport",
    "SqlStore",
    "Standing",
    "StandingChange",
    "Statement",
    "StatementLine",
    "Store",
    "StoreError",
    "TransientStoreError",
    "UnknownMember",
    "UnknownPost",
    "UnknownRecord",
    "__version__",
    "abuse",
    "channels",
    "events",
    "explain",
    "health",
    "history",
    "ideas",
    "importers",
    "leaderboards",
    "open",
    "payback",
    "policies",
    "recognition",
    "referrals",
    "support",
]

# What runs or stores loads on first use: importing the policy data (kudos.policy,
# kudos.ideas.rules, ...) never loads the engine, the stores or Community.
_LAZY: dict[str, tuple[str, str | None]] = {
    "importers": ("kudos.importers", None),
    "Community": ("kudos.community", "Community"),
    "RebuildReport": ("kudos.community", "RebuildReport"),
    "Simulation": ("kudos.community", "Simulation"),
    "StandingChange": ("kudos.community", "StandingChange"),
    "open": ("kudos.community", "open"),
    "MemoryStore": ("kudos.stores.memory", "MemoryStore"),
    "Store": ("kudos.stores.protocol", "Store"),
    "SqlStore": ("kudos.stores.sql", "SqlStore"),
}


__getattr__ = lazy_names(__name__, _LAZY)
