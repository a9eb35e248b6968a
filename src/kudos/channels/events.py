"""The facts of the channels capability: identities, merges, canonical answers.

They are ordinary :mod:`kudos.events` events (registered under their ``type``
names, so a log holding them replays), kept beside the capability.
"""

from __future__ import annotations

from typing import ClassVar

import attrs

from .. import _validate as v
from ..events import Event, _member_field, _register, key_of

__all__ = ["AnsweredWith", "CanonicalMarked", "IdentityLinked", "MembersMerged"]


@_register
@attrs.frozen(kw_only=True)
class IdentityLinked(Event):
    """``member`` is ``handle`` on ``channel`` (the identity's channel: required here).

    One handle per channel belongs to one member. Recording it without a
    channel raises :class:`kudos.InvalidInput`.
    """

    type: ClassVar[str] = "identity-linked"
    member: str = _member_field()
    handle: str = attrs.field(validator=v.identifier)

    def natural_key(self) -> str:
        return key_of(self.channel or "", self.handle, self.member)


@_register
@attrs.frozen(kw_only=True)
class MembersMerged(Event):
    """The account ``member`` was merged into ``into`` (the account kept).

    Facts naming ``member`` afterwards count for ``into``; ``member``'s
    balances moved to ``into`` by ledger lines of this event.
    """

    type: ClassVar[str] = "members-merged"
    member: str = attrs.field(validator=v.identifier)
    into: str = attrs.field(validator=v.identifier)
    by: str | None = attrs.field(default=None, validator=v.optional_identifier)

    def natural_key(self) -> str:
        return key_of(self.member, self.into)


@_register
@attrs.frozen(kw_only=True)
class CanonicalMarked(Event):
    """Staff marked ``reply``, the accepted solution of ``topic``, canonical for ``problem``.

    ``problem`` (a topic id) defaults to ``topic``.
    """

    type: ClassVar[str] = "canonical-marked"
    topic: str = attrs.field(validator=v.identifier)
    reply: str = attrs.field(validator=v.identifier)
    by: str = _member_field()
    problem: str | None = attrs.field(default=None, validator=v.optional_identifier)

    def natural_key(self) -> str:
        return key_of(self.reply)


@_register
@attrs.frozen(kw_only=True)
class AnsweredWith(Event):
    """``by`` answered ``conversation`` (a topic, or the host's id of a thread elsewhere)
    with the canonical answer ``canonical`` (a reply id), on the event's ``channel``."""

    type: ClassVar[str] = "answered-with"
    conversation: str = attrs.field(validator=v.identifier)
    canonical: str = attrs.field(validator=v.identifier)
    by: str = _member_field()

    def natural_key(self) -> str:
        return key_of(self.conversation, self.canonical, self.channel or "")
