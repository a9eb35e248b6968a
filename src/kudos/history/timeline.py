"""A community's policy versions in time: which version values a fact.

A community's policy versions are numbered 1, 2, 3, ... in the order they
were recorded; version 1 is recorded with the community's first write, and
each :class:`~kudos.events.PolicyChanged` event adds the next. The version in
force at a time ``t`` is the one with the latest ``effective`` time not after
``t`` (version 1 counts as in force from the start; of two versions with the
same ``effective`` time, the one recorded later). So a change recorded with an
``effective`` time earlier than a change scheduled before it does not cancel
the scheduled one: it governs until the scheduled one's ``effective`` time,
and the scheduled one from then on. A fact is valued among the versions
recorded before it, so replaying the log in order (``rebuild``) picks the
same version for every fact as recording it did.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, overload

import attrs

from ..model import PolicyVersion
from .rules import fingerprint, from_content, to_json

if TYPE_CHECKING:
    from ..policy import Policy

__all__ = ["Timeline", "first_version"]


_PARSED: dict[str, Policy] = {}
_PARSED_LIMIT = 4096
_parsing = threading.Lock()


def parsed(content: str) -> Policy:
    """The policy of a stored version's ``content``, parsed at most once per process.

    Kept per content text (every version a process has met, up to 4,096 of
    them, then started afresh): a community with hundreds of versions parses
    each once, not once per transaction.
    """
    found = _PARSED.get(content)
    if found is None:
        found = from_content(content)
        with _parsing:
            if len(_PARSED) >= _PARSED_LIMIT:
                _PARSED.clear()
            _PARSED[content] = found
    return found


class Versions(Sequence["Policy"]):
    """A community's versions as policies, each parsed only when asked for (version 1 first)."""

    __slots__ = ("_got", "_versions")

    def __init__(self, versions: tuple[PolicyVersion, ...]) -> None:
        self._versions = versions
        self._got: list[Policy | None] = [None] * len(versions)

    def __len__(self) -> int:
        return len(self._versions)

    @overload
    def __getitem__(self, index: int) -> Policy: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Policy]: ...
    def __getitem__(self, index: int | slice) -> Policy | Sequence[Policy]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        got = self._got[index]
        if got is None:
            got = self._got[index] = parsed(self._versions[index].content)
        return got


class Timeline:
    """A community's policy versions as policies, each in force from its ``effective`` time.

    ``pending`` is the policy a community with no recorded version will
    record as version 1 with its first write.
    """

    __slots__ = ("pending", "policies", "versions")

    def __init__(self, versions: Sequence[PolicyVersion], pending: Policy | None = None) -> None:
        self.versions = tuple(versions)
        self.policies = Versions(self.versions)
        self.pending = pending if not self.versions else None

    @property
    def recorded(self) -> int:
        """The number of the latest version in the store (0: none yet)."""
        return len(self.versions)

    @property
    def latest(self) -> tuple[int, str]:
        """The latest version's number and fingerprint (``(0, "")``: none recorded yet)."""
        if not self.versions:
            return (0, "")
        return (len(self.versions), self.versions[-1].fingerprint)

    @property
    def current(self) -> Policy:
        """The latest version's policy (the pending one before any write)."""
        if self.pending is not None:
            return self.pending
        return self.policies[-1]

    def at(self, when: datetime, *, upto: int | None = None) -> tuple[int, Policy]:
        """``(version, policy)`` in force at ``when`` among versions ``1..upto`` (default all)."""
        if self.pending is not None:
            return 1, self.pending
        last = len(self.versions) if upto is None else min(upto, len(self.versions))
        best = 0
        best_at: datetime | None = None  # None: from the start
        for i in range(1, last):
            effective = self.versions[i].effective
            if effective is None:
                if best_at is None:
                    best = i
            elif effective <= when and (best_at is None or effective >= best_at):
                best, best_at = i, effective
        return best + 1, self.policies[best]

    def statuses(self, now: datetime) -> list[PolicyVersion]:
        """The versions, each with its ``status`` at ``now``: in force, scheduled or replaced."""
        if not self.versions:
            return []
        current = self.at(now)[0]
        out = []
        for i, version in enumerate(self.versions, start=1):
            if i == current:
                status = "in force"
            elif (
                version.effective is not None
                and version.effective > now
                and self.at(version.effective)[0] == i
            ):
                status = "scheduled"
            else:
                status = "replaced"
            out.append(attrs.evolve(version, status=status))
        return out

    def in_force_from(self, when: datetime, print_: str) -> PolicyVersion | None:
        """The version in force at ``when``, if every version in force at ``when`` or
        later has the fingerprint ``print_`` (so adopting it from ``when`` changes
        nothing); else ``None`` (and ``None`` before any version is recorded)."""
        if not self.versions:
            return None
        times = [when]
        times += [
            v.effective for v in self.versions if v.effective is not None and v.effective > when
        ]
        numbers = {self.at(t)[0] for t in times}
        if any(self.versions[n - 1].fingerprint != print_ for n in numbers):
            return None
        return self.versions[self.at(when)[0] - 1]


def first_version(policy: Policy) -> PolicyVersion:
    """Version 1 of a community's policy: ``policy``, in force from the start."""
    return PolicyVersion(version=1, content=to_json(policy), fingerprint=fingerprint(policy))
