"""The :class:`~kudos.Community` methods of policy history."""

from __future__ import annotations

import builtins
from datetime import datetime

from .. import _validate as v
from ..engine.base import CommunityBase
from ..errors import InvalidInput
from ..events import PolicyChanged
from ..model import Outcome, PolicyVersion
from ..policy import Policy
from .rules import to_json

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
        :class:`~kudos.events.PolicyChanged` event, idempotent by
        ``event_id``, or by the policy's content, ``effective`` and
        ``retroactive``); it records the next policy version. Facts already
        recorded keep what they earned: the ledger is append-only. A fact
        recorded later is valued under the version in force at its own time,
        so a late fact dated before ``effective`` gets the old rules.

        ``retroactive=True`` recalculates history the way Stack Exchange did
        in November 2019: every fact from ``effective`` on is valued again
        under ``policy`` (the others under the version they had), and the
        difference per member and account is booked now as
        ``policy_recalculated`` lines of this event; nothing recorded is
        edited. Points already paid out stay paid; the difference is booked
        in the open payback period.

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
            NotAllowed: ``by`` is not staff or a moderator; or ``effective`` is before the end of the last closed
                payback period and ``retroactive`` is not true.
            Conflict: ``event_id`` was used for another fact.
        """
        if not isinstance(policy, Policy):
            raise InvalidInput(f"change_policy() takes a kudos.Policy, got {type(policy).__name__}")
        v.check_optional_time("effective", effective)
        v.check_optional_time("at", at)
        v.check_flag("retroactive", retroactive)
        when = effective if effective is not None else (at if at is not None else self.now())
        return self.record(
            PolicyChanged(
                policy=to_json(policy),
                effective=when,
                retroactive=retroactive,
                by=by,
                reason=reason,
                at=at,
                event_id=event_id,
            )
        )

    def policy_history(self) -> builtins.list[PolicyVersion]:
        """Every version of this community's policy, oldest first.

        Version 1 is recorded with the community's first write; each
        :meth:`change_policy` adds one. Empty before the first write.
        :func:`kudos.history.rules.from_content` turns a version's ``content``
        back into a :class:`~kudos.Policy`; each ledger entry's ``policy`` is
        the number of the version that valued it.
        """
        return self._read(lambda tx: tx.policy_versions())
