"""Channels and one answer everywhere.

Customers ask wherever they are: the forum, Twitter, Facebook, e-mail, the
phone, a chat. kudos keeps one community across them:

* every fact may carry the ``channel`` it came through (one of the policy's
  :attr:`ChannelRules.allowed`);
* a member links identities on several channels
  (:meth:`~kudos.Community.link_identity`) and is found by handle
  (:meth:`~kudos.Community.member_by_handle`);
* two accounts of one person are merged
  (:meth:`~kudos.Community.merge_members`): an auditable fact that re-points
  the merged account's later facts and moves its balances by ledger lines;
* staff mark an accepted solution as the **canonical answer** to a problem
  (:meth:`~kudos.Community.mark_canonical`); answering any conversation with it
  (:meth:`~kudos.Community.answer_with`) credits its author (the policy's
  ``canonical_reused`` reward, capped) and keeps the link
  (:meth:`~kudos.Community.answer_for`), and
  :meth:`~kudos.Community.answer_inconsistencies` lists problems answered
  differently on different channels.
"""

from __future__ import annotations

from .events import AnsweredWith, CanonicalMarked, IdentityLinked, MembersMerged
from .model import AnswerInconsistency, AnswerUse, CanonicalAnswer, Identity, Merge
from .rules import ACTIONS, CHANNELS, ChannelRules

__all__ = [
    "ACTIONS",
    "CHANNELS",
    "AnswerInconsistency",
    "AnswerUse",
    "AnsweredWith",
    "CanonicalAnswer",
    "CanonicalMarked",
    "ChannelRules",
    "Identity",
    "IdentityLinked",
    "MembersMerged",
    "Merge",
]
