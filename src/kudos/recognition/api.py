"""The :class:`~kudos.Community` methods of recognition (see :mod:`kudos.recognition`)."""

from __future__ import annotations

from .. import _validate as v
from ..engine.base import CommunityBase
from ..errors import InvalidInput
from . import handlers as _recognition
from .rules import BadgeAward


class RecognitionAPI(CommunityBase):
    """The :class:`kudos.Community` methods of this capability.

    Ranks, badges and privileges also appear in :meth:`standing`
    (``rank``, ``next_rank``, ``badges``, ``privileges``).
    """

    def can(self, member: str, privilege: str) -> bool:
        """Whether ``member`` may do ``privilege`` now (e.g. ``"vote_ideas"``).

        Asks every privilege rule of the engine, as recording the fact would;
        a privilege nobody has a rule for is allowed.

        Raises:
            UnknownMember: never joined.
            InvalidInput: ``privilege`` is not a name.

        >>> import kudos
        >>> c = kudos.Community(policy=kudos.policies.stackexchange())
        >>> _ = c.join("bob")
        >>> c.can("bob", "give_kudos"), c.can("bob", "vote_ideas")
        (False, True)
        """
        return self.why_not(member, privilege) is None

    def why_not(self, member: str, privilege: str) -> str | None:
        """Why ``member`` may not do ``privilege`` now, or ``None`` when they may.

        The sentence says what is missing, ready to show the member.

        Raises:
            UnknownMember: never joined.
            InvalidInput: ``privilege`` is not a name.

        >>> import kudos
        >>> c = kudos.Community(policy=kudos.policies.stackexchange())
        >>> _ = c.join("bob")
        >>> c.why_not("bob", "comment")
        "member 'bob' needs 50 reputation to comment everywhere (has 1)"
        """
        v.check_id("member", member)
        if not isinstance(privilege, str) or not privilege.strip():
            raise InvalidInput(
                f"privilege must be a name such as 'vote_ideas', got {v.shown(privilege)}"
            )
        now = self.now()
        return self._read(lambda tx: _recognition.explain(tx, self.policy, member, privilege, now))

    def badges(self, member: str, *, revoked: bool = False) -> list[BadgeAward]:
        """The badge levels ``member`` holds, in the policy's order, with when and why.

        With ``revoked=True``, badges taken back (their post was removed as
        spam or abuse) are listed too, with ``revoked_at`` and ``revoked_reason``.

        Raises:
            UnknownMember: never joined.
            InvalidInput: ``member`` is not an id, or ``revoked`` not True or False.
        """
        v.check_id("member", member)
        v.check_flag("revoked", revoked)
        return self._read(lambda tx: _recognition.awards(tx, self.policy, member, revoked))
