"""The facts of the channels capability: identities, merges, canonical answers.

They are ordinary :mod:`kudos.events` events (registered under their ``type``
names, so a log holding them replays), kept beside the capability.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from .. import _validate as v
from ..events import Event, _member_field, _register, key_of

__all__ = ["AnsweredWith", "CanonicalMarked", "IdentityLinked", "MembersMerged", "check_handle"]

MAX_HANDLE_LENGTH = 320
"""The longest handle (characters): an e-mail address may be 254 long, and ids elsewhere are
limited to 100."""


def check_handle(handle: object) -> str:
    """Return ``handle`` if it is a handle: an id of at most :data:`MAX_HANDLE_LENGTH` characters.

    kudos compares handles exactly as given: normalising them (lowercasing an
    e-mail address, adding or dropping a Twitter ``@``) is the host's job.

    Raises:
        InvalidInput: it is not a non-empty string of at most 320 characters without
            surrounding spaces or control characters.
    """
    return v.check_id("handle", handle, limit=MAX_HANDLE_LENGTH)


def _handle(inst: object, attr: attrs.Attribute[Any], value: object) -> None:
    check_handle(value)


@_register
@attrs.frozen(kw_only=True)
class IdentityLinked(Event):
    """``member`` is ``handle`` on ``channel`` (the identity's channel: required here).

    One handle per channel belongs to one member. Recording it without a
    channel raises :class:`kudos.InvalidInput`.
    """

    type: ClassVar[str] = "identity-linked"
    member: str = _member_field()
    handle: str = attrs.field(validator=_handle)

    def natural_key(self) -> str:
        return key_of(self.channel or "", self.handle, self.member)


@_register
@attrs.frozen(kw_only=True)
class MembersMerged(Event):
    """The account ``member`` was merged into ``into`` (the account kept) by ``by``.

    ``by`` (staff or a moderator) is required of new facts; a log written when
    it was optional still replays.

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

    ``problem`` (a topic id) defaults to ``topic``. The id kudos derives names
    the reply and the problem: marking it again for the same problem is a
    replay, for another problem a new fact the rules refuse
    (:class:`kudos.NotAllowed`: a reply is canonical for one problem).
    """

    type: ClassVar[str] = "canonical-marked"
    topic: str = attrs.field(validator=v.identifier)
    reply: str = attrs.field(validator=v.identifier)
    by: str = _member_field()
    problem: str | None = attrs.field(default=None, validator=v.optional_identifier)

    def natural_key(self) -> str:
        return key_of(self.reply, self.problem or self.topic)


@_register
@attrs.frozen(kw_only=True)
class AnsweredWith(Event):
    """``by`` answered ``conversation`` (a topic, or the host's id of a thread elsewhere)
    with the canonical answer ``canonical`` (a reply id), on the event's ``channel``.

    The id kudos derives names the conversation and the answer, never the
    channel: the same answer given to the same conversation is one fact, and
    reporting it again through another channel is a :class:`kudos.Conflict`.
    """

    type: ClassVar[str] = "answered-with"
    conversation: str = attrs.field(validator=v.identifier)
    canonical: str = attrs.field(validator=v.identifier)
    by: str = _member_field()

    def natural_key(self) -> str:
        return key_of(self.conversation, self.canonical)
