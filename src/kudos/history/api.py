"""The :class:`~kudos.Community` methods of policy history."""

from __future__ import annotations

import builtins
from datetime import datetime

import attrs

from .. import _validate as v
from ..engine import core as engine
from ..engine.base import CommunityBase
from ..errors import InvalidInput
from ..events import PolicyChanged
from ..model import Outcome, PolicyVersion, StoredEvent
from ..policy import Policy
from ..stores.protocol import Transaction
from .handlers import require_staff
from .rules import fingerprint, to_json
from .timeline import Timeline

__all__ = ["PolicyHistoryAPI"]


class PolicyHistoryAPI(CommunityBase):
    """Changing a community's policy, and its history."""

    def change_policy(
        self,
        policy: Policy,
        *,
        effective: datetime | None = None,
        by: str,
        reason: str,
        retroactive: bool = False,
        at: datetime | None = None,
        event_id: str | None = None,
    ) -> Outcome:
        """Adopt ``policy``: facts from ``effective`` on are valued under it.

        The change is a fact like any other (a
        :class:`~kudos.events.PolicyChanged` event); it records the next
        policy version. A change to the settings already in force from
        ``effective`` on (the version in force at ``effective`` and every
        later-dated one have ``policy``'s fingerprint) is a no-op, retroactive
        or not: nothing is recorded and the outcome is that version's (its
        event id and lines, ``replayed`` true). So a retry of a change that
        applied changes nothing, whatever its ``reason``. Any other change
        records a new version, and its derived id names the version it
        replaces: going back (A, then B, then A again at the same
        ``effective``) records three versions. With ``event_id`` given, the
        usual rule holds: the id recorded already replays the first outcome
        when the content is the same, and is a :class:`~kudos.Conflict`
        naming what differs otherwise. Facts already
        recorded keep what they earned: the ledger is append-only. A fact
        recorded later is valued under the version in force at its own time,
        so a late fact dated before ``effective`` gets the old rules.

        ``retroactive=True`` recalculates history the way Stack Exchange did
        in November 2019: every fact from ``effective`` on is valued again
        under ``policy`` (the others under the version they had), and the
        difference is booked as ``policy_recalculated`` lines of this event,
        one per ledger line it revalues (that line's member, account,
        subject, tags and time; its period while open, else the open one);
        reversing that line later takes its difference lines back too.
        Nothing recorded is edited; points already paid out stay paid.

        The version in force at a time is the one with the latest
        ``effective`` time not after it (ties: the one recorded later). A
        change effective before a change scheduled earlier does not cancel
        it: the scheduled version stays scheduled (``policy_history()`` says
        so) and governs from its own ``effective`` time.

        A change inside a payback period is allowed: closing the period
        values its points under the rules in force when it closes.

        Args:
            policy: the new policy.
            effective: from when it applies (default: ``at``, or now).
            by: who changed it: a member with the staff or moderator role
                (as :meth:`~kudos.Community.close_period` requires).
            reason: why (not empty or blank), shown on the ledger lines a
                recalculation books.
            retroactive: recalculate the facts already recorded from ``effective`` on.
            at: when the change was made (default: now).
            event_id: the host's idempotency key for the change.

        Returns:
            The event's outcome: the recalculation's lines, when retroactive.

        Raises:
            InvalidInput: ``policy`` is not a :class:`~kudos.Policy`, or a bad
                time or id, or an empty or blank ``reason``.
            UnknownMember: ``by`` never joined.
            NotAllowed: ``by`` is not staff or a moderator; or ``effective``
                is before the end of the last closed payback period and
                ``retroactive`` is not true; or, retroactive, a fact the log
                holds that ``policy`` refuses (the message names it; nothing
                is recorded); or ``policy`` cuts time into payback periods
                differently from the policy in force once a period has been
                closed.
            Conflict: ``event_id`` was used for another fact (the message
                names the fields that differ).
        """
        if not isinstance(policy, Policy):
            raise InvalidInput(f"change_policy() takes a kudos.Policy, got {type(policy).__name__}")
        v.check_optional_time("effective", effective)
        v.check_optional_time("at", at)
        v.check_flag("retroactive", retroactive)
        when = effective if effective is not None else (at if at is not None else self.now())
        event = PolicyChanged(
            policy=to_json(policy),
            effective=when,
            retroactive=retroactive,
            by=by,
            reason=reason,
            at=at,
            event_id=event_id,
        )

        def look(tx: Transaction) -> Outcome | PolicyChanged:
            if event_id is not None and tx.get_event(event_id) is not None:
                return event  # recorded already: the same fact replays, another is a Conflict
            timeline = Timeline(tx.policy_versions())
            same = timeline.in_force_from(when, fingerprint(policy))
            if same is None:
                if event_id is not None or not timeline.recorded:
                    return event
                return attrs.evolve(event, replaces=timeline.recorded)
            require_staff(engine.get_member(tx, by), "change the policy")
            return Outcome(
                event_id=same.event_id or engine.default_id(event),
                type=PolicyChanged.type,
                entries=tuple(tx.entries(event_id=same.event_id)) if same.event_id else (),
                replayed=True,
            )

        found = self._read(look)
        if isinstance(found, Outcome):
            return found
        return self.record(found)

    def policy_history(self) -> builtins.list[PolicyVersion]:
        """Every version of this community's policy, oldest first.

        Version 1 is recorded with the community's first write; each
        :meth:`change_policy` adds one. Empty before the first write.
        :func:`kudos.history.rules.from_content` turns a version's ``content``
        back into a :class:`~kudos.Policy`; each ledger entry's ``policy`` is
        the number of the version that valued it. Each version's ``status``
        says which is in force at the clock's now (what :attr:`policy` is),
        which are scheduled (``effective`` later) and which were replaced;
        ``by``, ``reason``, ``recorded_at`` and ``retroactive`` come from the
        change that recorded it (``None`` for version 1).
        """

        def read(tx: Transaction) -> tuple[list[PolicyVersion], list[StoredEvent]]:
            versions = tx.policy_versions()
            found = (tx.get_event(v.event_id) for v in versions if v.event_id is not None)
            return versions, [row for row in found if row is not None]

        versions, rows = self._read(read)
        events = {row.event_id: engine.stored_to_event(row) for row in rows}
        out = []
        for version in Timeline(versions).statuses(self.now()):
            change = events.get(version.event_id) if version.event_id else None
            if isinstance(change, PolicyChanged):
                version = attrs.evolve(
                    version,
                    by=change.by,
                    reason=change.reason,
                    recorded_at=change.at,
                    retroactive=change.retroactive,
                )
            out.append(version)
        return out
