"""The :class:`~kudos.Community` methods of abuse handling (see :mod:`kudos.abuse`)."""

from __future__ import annotations

from datetime import date, datetime

from ..engine.base import CommunityBase
from ..events import SerialVotesReversed
from ..model import Outcome
from . import handlers as _abuse
from .rules import SerialVoting, day_id


class AbuseAPI(CommunityBase):
    """The :class:`kudos.Community` methods of this capability."""

    def serial_votes(self, day: date | str) -> list[SerialVoting]:
        """The serial kudos of ``day`` under the policy's ``abuse.serial_votes``, for review.

        Ordered by giver, then author. Empty when detection is off.

        Raises:
            InvalidInput: ``day`` is not a day.
        """
        wanted = day_id(day)
        return self._read(lambda tx: _abuse.detect(tx, self.policy, wanted))

    def reverse_serial_votes(
        self, day: date | str, *, at: datetime | None = None, event_id: str | None = None
    ) -> Outcome:
        """Reverse every award of ``day``'s serial kudos (a daily job, once the day ended).

        One fact per day: running it again changes nothing. Each reversal
        references the entry it takes back and says why.

        Raises:
            NotAllowed: the policy detects no serial voting, or the day has not ended.
            InvalidInput: ``day`` is not a day.
        """
        return self.record(SerialVotesReversed(day=day_id(day), at=at, event_id=event_id))
