"""The errors kudos raises.

Every error is a :class:`KudosError`. Each message says what was wrong and
what to do about it, so a host can show it to a developer as it is.
"""

from __future__ import annotations

__all__ = [
    "Conflict",
    "InvalidDump",
    "InvalidInput",
    "InvalidPolicy",
    "KudosError",
    "NotAllowed",
    "PeriodClosed",
    "PolicyMismatch",
    "RebuildMismatch",
    "StoreError",
    "TransientStoreError",
    "UnknownMember",
    "UnknownPost",
    "UnknownRecord",
]


class KudosError(Exception):
    """The root of every error kudos raises; catch it to catch them all."""


class InvalidInput(KudosError, ValueError):
    """An argument has the wrong type or value (an empty id, a float amount, ...)."""


class InvalidDump(InvalidInput):
    """An imported history cannot be read: a file is missing or is not well-formed.

    Raised before anything is recorded; the message names the file and what to fix.
    """


class InvalidPolicy(KudosError, ValueError):
    """A policy (built in code or loaded from TOML) is malformed; the message names the key."""


class PolicyMismatch(KudosError):
    """A community was opened with a policy other than the one its store recorded.

    The message names the settings that differ (``rewards.kudos_on_reply.points:
    10 in the store, 5 given``). Open it without ``policy=`` to use the stored
    one, or adopt the new one with :meth:`kudos.Community.change_policy`.
    Nothing is written.
    """


class NotAllowed(KudosError):
    """The community's rules forbid it (self-kudos, a stranger accepting a solution, ...)."""


class UnknownMember(KudosError, LookupError):
    """A member id was never reported with ``join``."""


class UnknownPost(KudosError, LookupError):
    """A topic or reply id was never reported with ``post_topic``/``post_reply``."""


class UnknownRecord(KudosError, LookupError):
    """Something else that was looked up by id does not exist (a referral, a payout, a period)."""


class Conflict(KudosError):
    """An event id was reused with different content.

    Recording the same event twice is harmless (the first outcome is returned);
    recording *different* content under an id already used is a bug in the host.
    """


class PeriodClosed(NotAllowed):
    """The payback period is closed and takes no more awards or changes."""


class RebuildMismatch(KudosError):
    """Replaying the event log under the current policy gives a different ledger.

    The ledger is append-only, so ``rebuild`` refuses to overwrite projections
    that would no longer agree with it. Use ``simulate`` to see the difference.
    """


class StoreError(KudosError):
    """The store failed for a reason that is not the caller's input."""


class TransientStoreError(StoreError):
    """The store hit a failure that may pass: a busy lock, a deadlock, a serialization
    failure, a lock or statement timeout, a lost connection, a database server that could
    not be reached, a locked SQLite file. Nothing of the work was written.

    ``Community`` runs the work again (five tries in all, with short random pauses); one
    that reaches the caller says it gave up: call again later (a web app answers 503).
    """
