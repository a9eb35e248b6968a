"""Which policy a :class:`~kudos.Community` applies: its store's, checked in every transaction.

A community's policy versions are history: version ``N`` of a community
never changes once recorded. So an object that knows versions ``1..N`` only
has to check, in each transaction, that the store's latest is still ``N``
with the same fingerprint (one index read: a database recreated with other
content under a live process differs there), and read the versions again
when it moved. What one object
learnt is kept per store and community for the objects made after it (a
``Community`` built per request opens without any read).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from ..errors import Conflict, KudosError, PolicyMismatch, TransientStoreError
from ..events import PolicyChanged
from ..model import Outcome, PolicyVersion
from ..stores.protocol import Transaction
from .rules import differences, same_settings
from .timeline import Timeline, first_version

if TYPE_CHECKING:
    from ..policy import Policy

__all__ = ["PolicyMoved", "PolicyState"]

T = TypeVar("T")

_KNOWN: dict[Hashable, Timeline] = {}
_KNOWN_LIMIT = 1024
_lock = threading.Lock()


class PolicyMoved(TransientStoreError):
    """The policy history moved under a write: the write is tried again under the new one."""


class PolicyState:
    """One ``Community``'s view of its community's policy history.

    Args:
        key: what tells the store's data and the community apart in the process.
        community: the community's id (for messages).
        given: the ``policy=`` the object was opened with; checked against the
            store's latest version, then forgotten.
        default: the policy of a community that has recorded none yet.
        now: the community clock (what "in force now" means); ``None``: the
            latest version counts as in force.

    ``given`` matches the store when it has the settings of the latest
    version (a change scheduled for later included) or of the version in
    force now.
    """

    def __init__(
        self,
        key: Hashable,
        community: str,
        given: Policy | None,
        default: Callable[[], Policy],
        *,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.key = key
        self.community = community
        self.given = given
        self.default = default
        self.now = now
        self.timeline: Timeline | None = None
        self.stale = False
        with _lock:
            known = _KNOWN.get(key)
        if known is not None and (given is None or self._matches(given, known)):
            self.timeline = known  # confirmed (or updated) by the first transaction

    def open(self, read: Callable[[Callable[[Transaction], None]], None]) -> None:
        """Read the history now unless known; a store that cannot be read yet says so later.

        Raises:
            PolicyMismatch: the store's current policy is not the ``given`` one.
        """
        if self.timeline is not None:
            return
        try:
            read(self.load)
        except PolicyMismatch:
            raise
        except KudosError:
            pass  # missing tables, a joined connection not begun ...: the first use reports it

    def load(self, tx: Transaction) -> None:
        """Read every version from ``tx`` and take them up.

        Raises:
            PolicyMismatch: the store's current policy is not the ``given`` one.
        """
        self.take(tx.policy_versions())

    def take(self, versions: Sequence[PolicyVersion]) -> None:
        """Take up ``versions`` (:class:`~kudos.model.PolicyVersion` s, oldest first)."""
        if not versions:
            self.timeline = Timeline((), self.given if self.given is not None else self.default())
            return
        timeline = Timeline(versions)
        if self.given is not None:
            if not self._matches(self.given, timeline):
                raise PolicyMismatch(
                    _mismatch(
                        self.community,
                        timeline,
                        self.given,
                        self.now() if self.now is not None else None,
                    )
                )
            self.given = None
        self.adopt(timeline, force=True)

    def adopt(self, timeline: Timeline, *, force: bool = False) -> None:
        """Use ``timeline`` from now on (unless this object knows a later one and not
        ``force``: what a transaction just read is the store's, even when shorter)."""
        if not force and self.timeline is not None and self.timeline.recorded > timeline.recorded:
            return
        self.timeline = timeline
        if timeline.recorded:
            self.given = None
            with _lock:
                if len(_KNOWN) >= _KNOWN_LIMIT:
                    _KNOWN.clear()
                _KNOWN[self.key] = timeline

    def _matches(self, given: Policy, timeline: Timeline) -> bool:
        if same_settings(given, timeline.current):
            return True
        return self.now is not None and same_settings(given, timeline.at(self.now())[1])

    def current(self) -> Policy:
        """The policy in force at the clock's now (the latest version when no clock
        was given, or a change scheduled for later is not in force yet); the
        history must be loaded."""
        assert self.timeline is not None
        if self.now is None:
            return self.timeline.current
        return self.timeline.at(self.now())[1]

    def sync(self, tx: Transaction) -> Timeline:
        """The history as ``tx`` sees it: one index read (the latest version's number and
        fingerprint), and every version when it moved."""
        latest = tx.policy_latest()
        recorded = latest[0]
        if self.timeline is None or latest != self.timeline.latest:
            self.load(tx)
        elif recorded:
            self.given = None  # the version this object knows is the store's latest
        assert self.timeline is not None
        return self.timeline

    def begin(self, tx: Transaction) -> Timeline:
        """The history at the start of a write; the community's first write records version 1.

        A known history is used as it is (no read): :meth:`end` checks it once
        the work is done, and a write under a history that moved is tried again.

        Raises:
            PolicyMismatch: the store was empty when this object opened with
                ``policy=``, and another object recorded a different policy since.
        """
        known = self.timeline
        if known is not None and known.recorded and self.given is None and not self.stale:
            return known
        self.stale = False
        timeline = self.sync(tx)
        if timeline.recorded:
            return timeline
        try:
            tx.add_policy(first_version(timeline.current))
        except Conflict:  # another writer recorded version 1 first
            raise PolicyMoved("another writer recorded the policy first; trying again") from None
        return Timeline(tx.policy_versions())

    def end(self, tx: Transaction, timeline: Timeline, outcomes: Sequence[Outcome]) -> None:
        """After a write's work: check the history did not move; adopt what changed on commit.

        Checked once the work holds the community's locks (PostgreSQL takes
        them as it writes), so no fact is valued under a version another
        writer had replaced.

        Raises:
            PolicyMoved: another writer changed the policy (the write is tried again).
        """
        if any(o.type == PolicyChanged.type and not o.replayed for o in outcomes):
            timeline = Timeline(tx.policy_versions())
        if tx.policy_latest() != timeline.latest:
            self.stale = True
            raise PolicyMoved("the community's policy changed meanwhile; trying again")
        if timeline is not self.timeline:
            on_commit = getattr(tx, "on_commit", None)
            if on_commit is None:
                self.adopt(timeline)
            else:
                on_commit(lambda: self.adopt(timeline))


def _mismatch(
    community: str, timeline: Timeline, given: Policy, now: datetime | None = None
) -> str:
    """The message of a :class:`PolicyMismatch`: it names the version in force at
    ``now`` (the latest when ``None``) and any version scheduled after it."""
    number, stored = (timeline.recorded, timeline.current) if now is None else timeline.at(now)
    later = [v for v in timeline.statuses(now) if v.status == "scheduled"] if now else []
    scheduled = "".join(
        f"; version {v.version} ({timeline.policies[v.version - 1].name!r}) is scheduled "
        f"from {v.effective:%Y-%m-%d %H:%M} UTC"
        for v in later
        if v.effective is not None
    )
    return (
        f"community {community!r} holds policy version {number} ({stored.name!r})"
        + (f", in force now{scheduled}" if now is not None else "")
        + f"; the policy given ({given.name!r}) differs "
        f"from version {number}: "
        + "; ".join(differences(stored, given))
        + ". Open it without policy= to use the stored one, or adopt the new one with "
        "community.change_policy(new_policy, effective=..., by=..., reason=...)"
    )
