"""The :class:`kudos.Community` methods of the channels capability."""

from __future__ import annotations

import builtins
import copy
from collections import defaultdict
from datetime import datetime
from typing import Self

from .. import _validate as v
from ..engine.base import CommunityBase
from ..engine.core import get_member, resolve
from ..errors import UnknownMember
from ..events import key_of
from ..model import Doc, Outcome
from ..stores.protocol import Transaction
from . import handlers
from .events import AnsweredWith, CanonicalMarked, IdentityLinked, MembersMerged, check_handle
from .model import AnswerInconsistency, AnswerUse, CanonicalAnswer, Identity, Merge

__all__ = ["ChannelsAPI"]


def _canonical_from(doc: Doc) -> CanonicalAnswer:
    d = doc.data
    return CanonicalAnswer(
        reply=doc.key,
        topic=d["topic"],
        problem=d["problem"],
        author=d["author"],
        marked_by=d["by"],
        marked_at=datetime.fromisoformat(d["at"]),
        uses=int(d.get("uses", 0)),
    )


def _use_from(doc: Doc) -> AnswerUse:
    d = doc.data
    return AnswerUse(
        conversation=d["conversation"],
        canonical=d["canonical"],
        problem=d["problem"],
        channel=d["channel"],
        by=d["by"],
        at=datetime.fromisoformat(d["at"]),
        event_id=doc.key,
    )


def _identity_from(doc: Doc) -> Identity:
    d = doc.data
    return Identity(
        member=d["member"],
        channel=d["channel"],
        handle=d["handle"],
        linked_at=datetime.fromisoformat(d["at"]),
    )


class ChannelsAPI(CommunityBase):
    """The :class:`kudos.Community` methods of this capability."""

    def via(self, channel: str) -> Self:
        """This community, with every fact recorded through it carrying ``channel``.

        A fact that names its own channel keeps it. The view shares the store,
        policy, clock, cache and subscribers::

            twitter = community.via("twitter")
            twitter.post_topic("t9", author="bob", title="Roaming?")

        Raises:
            InvalidInput: ``channel`` is not one of the policy's ``channels.allowed``.
        """
        v.require_id("channel", channel)
        self.policy.channels.check(channel)
        view = copy.copy(self)
        view._channel = channel
        return view

    # -- identities and merges ------------------------------------------------------
    def link_identity(
        self,
        member: str,
        channel: str,
        handle: str,
        *,
        at: datetime | None = None,
        event_id: str | None = None,
    ) -> Outcome:
        """Record that ``member`` is ``handle`` on ``channel`` (e.g. ``"twitter"``, ``"@bob"``).

        A member may have identities on several channels; one handle on a
        channel belongs to one member. Linking the same handle again is a replay.
        Handles are compared exactly as given (up to 320 characters, room for any
        e-mail address): normalise them first (e.g. lowercase e-mail addresses).

        Raises:
            InvalidInput: ``channel`` is not one of the policy's ``channels.allowed``.
            UnknownMember: ``member`` never joined.
            NotAllowed: the handle belongs to a member already, or ``member`` was deleted.
        """
        return self.record(
            IdentityLinked(member=member, channel=channel, handle=handle, at=at, event_id=event_id)
        )

    def member_by_handle(self, channel: str, handle: str) -> str:
        """The member (id) ``handle`` on ``channel`` belongs to; the account kept if it was merged.

        Raises:
            InvalidInput: ``channel`` or ``handle`` is not an id, or nobody linked
                that handle and ``channel`` is not one of the policy's channels (a
                handle linked on a channel the policy later dropped is still found).
            UnknownMember: nobody linked that handle on that channel.
        """
        v.require_id("channel", channel)
        check_handle(handle)

        def read(tx: Transaction) -> str:
            doc = tx.get("identity", key_of(channel, handle))
            if doc is None:
                self.policy.channels.check(channel)
                raise UnknownMember(
                    f"no member has the {channel} handle {handle!r}; link it with "
                    "link_identity(member, channel, handle)"
                )
            return resolve(tx, str(doc.data["member"]))

        return self._read(read)

    def identities(self, member: str) -> builtins.list[Identity]:
        """``member``'s identities on every channel, by channel then handle.

        Those of accounts merged into ``member`` are included (their
        :attr:`Identity.member` names the account they were linked to).

        Raises:
            UnknownMember: ``member`` never joined.
        """
        v.require_id("member", member)

        def read(tx: Transaction) -> builtins.list[Identity]:
            get_member(tx, member)
            owners = [member, *_merged_into(tx, member)]
            found = [_identity_from(d) for m in owners for d in tx.find("identity", ref=m)]
            return sorted(found, key=lambda i: (i.channel, i.handle, i.member))

        return self._read(read)

    def merge_members(
        self,
        member: str,
        *,
        into: str,
        by: str,
        at: datetime | None = None,
        event_id: str | None = None,
    ) -> Outcome:
        """Merge the account ``member`` into the account ``into``, which is kept.

        An auditable fact: from now on, facts naming ``member`` count for
        ``into`` (``give_kudos(..., giver=member)`` is ``into``'s kudos), and
        ``member``'s balances (reputation, and points of every open payback
        period) move to ``into`` by ledger lines of this event: a debit on
        ``member`` and a credit on ``into`` for each, both with the action
        ``member_merged`` and ``member`` as their subject. Nothing is edited;
        counters, badges and posts stay with the account that earned them.
        Recording the same merge again is a replay.

        Args:
            member: the account merged (it stops counting on its own).
            into: the account kept.
            by: who merged them: a staff member or moderator (kept for the audit).

        Raises:
            UnknownMember: either account (or ``by``) never joined.
            NotAllowed: ``by`` is neither staff nor a moderator; ``member`` is
                ``into``; either is staff or a moderator, or deleted; ``member`` was
                merged already; ``into`` was itself merged.
        """
        return self.record(MembersMerged(member=member, into=into, by=by, at=at, event_id=event_id))

    def merges(self, member: str) -> builtins.list[Merge]:
        """The accounts merged into ``member`` (directly), oldest first.

        Raises:
            UnknownMember: ``member`` never joined.
        """
        v.require_id("member", member)

        def read(tx: Transaction) -> builtins.list[Merge]:
            get_member(tx, member)
            found = [
                Merge(
                    member=d.key,
                    into=d.data["into"],
                    by=d.data["by"],
                    at=datetime.fromisoformat(d.data["at"]),
                    event_id=d.data["event"],
                )
                for d in tx.find("merge", ref=member)
            ]
            return sorted(found, key=lambda m: (m.at, m.member))

        return self._read(read)

    # -- one answer everywhere --------------------------------------------------------
    def mark_canonical(
        self,
        topic: str,
        reply: str,
        *,
        by: str,
        problem: str | None = None,
        at: datetime | None = None,
        event_id: str | None = None,
    ) -> Outcome:
        """Staff mark ``reply``, the accepted solution of ``topic``, as the canonical answer.

        Args:
            topic: the topic whose accepted solution ``reply`` is.
            reply: the answer to reuse.
            by: the staff member marking it.
            problem: the recurring problem it answers (a topic id); default ``topic``.
                Name an older topic to record a second answer to the same problem.

        Marking the same reply again for the same problem is a replay (the
        outcome's ``replayed`` is true, nothing changes), whoever marks it.

        Raises:
            UnknownMember, UnknownPost: ``by``, ``topic``, ``reply`` or ``problem`` unknown.
            NotAllowed: ``by`` is not staff; ``reply`` is not ``topic``'s accepted
                solution; ``reply`` is canonical for another problem already (a
                reply answers one problem: mark it there, or accept another reply).
        """
        return self.record(
            CanonicalMarked(
                topic=topic,
                reply=reply,
                by=by,
                problem=problem or topic,
                at=at,
                event_id=event_id,
            )
        )

    def answer_with(
        self,
        conversation: str,
        *,
        canonical: str,
        by: str,
        channel: str | None = None,
        at: datetime | None = None,
        event_id: str | None = None,
    ) -> Outcome:
        """``by`` answered ``conversation`` with the canonical answer ``canonical``.

        ``conversation`` is a topic id or the host's id of a conversation on
        another channel (a tweet thread, an e-mail, a call). The link is kept
        (:meth:`answer_for`, :meth:`answer_uses`), and the canonical answer's
        author earns the policy's ``canonical_reused`` reward (capped by the
        policy's caps; nothing when ``by`` reuses their own answer).

        Args:
            conversation: the topic or conversation answered.
            canonical: the canonical answer (a reply id marked with :meth:`mark_canonical`).
            by: who answered (member id, usually staff).
            channel: the channel it was answered on: default the channel of a
                :meth:`via` view, else the policy's ``channels.default``, never the
                channel the conversation was posted through.

        The id kudos derives names ``conversation`` and ``canonical``, not the
        channel: the same answer to the same conversation again is a replay
        (paid once), and through another channel a :class:`~kudos.Conflict`.

        Raises:
            InvalidInput: ``channel`` is not one of the policy's ``channels.allowed``.
            UnknownMember: ``by`` never joined.
            NotAllowed: ``canonical`` is not a canonical answer, or its reply was
                removed; ``conversation`` is a reply or a removed topic.
            Conflict: this answer was given to ``conversation`` through another channel.
        """
        channel = channel or self._channel or self.policy.channels.default
        return self.record(
            AnsweredWith(
                conversation=conversation,
                canonical=canonical,
                by=by,
                channel=channel,
                at=at,
                event_id=event_id,
            )
        )

    def answer_for(self, topic: str) -> CanonicalAnswer | None:
        """The canonical answer for ``topic`` (or a conversation id), or ``None``.

        A conversation answered with a canonical answer gets the last one it was
        answered with; a problem with a canonical answer gets its first one; a topic
        whose accepted solution was marked canonical (for another problem) gets it.
        A canonical answer whose reply was removed is passed over (restored, it
        counts again).
        """
        v.require_id("topic", topic)

        def read(tx: Transaction) -> CanonicalAnswer | None:
            def live(reply: str | None) -> Doc | None:
                doc = tx.get("canonical", reply) if reply else None
                return doc if doc is not None and not handlers.removed(tx, doc.key) else None

            uses = sorted(tx.find("canonical-use", status=topic), key=lambda d: d.data["at"])
            own = sorted(tx.find("canonical", ref=topic), key=lambda d: d.data["at"])
            post = tx.get("post", topic)
            solution = post.data.get("solution") if post is not None else None
            # The last answer given, else the problem's first, else the topic's own solution.
            for reply in [*(u.data["canonical"] for u in reversed(uses)), *(d.key for d in own)]:
                if (doc := live(reply)) is not None:
                    return _canonical_from(doc)
            doc = live(solution)
            return None if doc is None else _canonical_from(doc)

        return self._read(read)

    def canonical_answers(self, problem: str | None = None) -> builtins.list[CanonicalAnswer]:
        """Canonical answers (of ``problem``, or all), oldest first."""
        v.check_optional_id("problem", problem)

        def read(tx: Transaction) -> builtins.list[CanonicalAnswer]:
            found = [_canonical_from(d) for d in tx.find("canonical", ref=problem)]
            return sorted(found, key=lambda c: (c.marked_at, c.reply))

        return self._read(read)

    def answer_uses(
        self, *, problem: str | None = None, conversation: str | None = None
    ) -> builtins.list[AnswerUse]:
        """Conversations answered with canonical answers (filtered by ``problem`` or
        ``conversation``), oldest first."""
        v.check_optional_id("problem", problem)
        v.check_optional_id("conversation", conversation)

        def read(tx: Transaction) -> builtins.list[AnswerUse]:
            docs = tx.find("canonical-use", ref=problem, status=conversation)
            return sorted((_use_from(d) for d in docs), key=lambda u: (u.at, u.event_id))

        return self._read(read)

    def answer_inconsistencies(self) -> builtins.list[AnswerInconsistency]:
        """Problems answered differently on different channels, by problem.

        A problem is listed when its conversations got more than one distinct
        answer and those answers were given on more than one channel: the
        problem's own topic counts as answered on the policy's default channel
        with its canonical answers, each conversation on the channel it was
        answered on.
        """

        def read(tx: Transaction) -> builtins.list[AnswerInconsistency]:
            given: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
            for doc in tx.find("canonical"):
                if doc.data["problem"] == doc.data["topic"]:
                    given[doc.data["problem"]][self.policy.channels.default].add(doc.key)
            for doc in tx.find("canonical-use"):
                given[doc.data["problem"]][doc.data["channel"]].add(doc.data["canonical"])
            found = []
            for problem, channels in sorted(given.items()):
                answers = {a for used in channels.values() for a in used}
                if len(answers) > 1 and len(channels) > 1:
                    found.append(
                        AnswerInconsistency(
                            problem=problem,
                            answers={c: tuple(sorted(a)) for c, a in sorted(channels.items())},
                        )
                    )
            return found

        return self._read(read)


def _merged_into(tx: Transaction, member: str) -> builtins.list[str]:
    """Every account merged into ``member``, directly or through another merged account."""
    found: builtins.list[str] = []
    todo = [member]
    while todo:
        for doc in tx.find("merge", ref=todo.pop()):
            found.append(doc.key)
            todo.append(doc.key)
    return found
