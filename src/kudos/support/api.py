"""The :class:`kudos.Community` methods of support: feelings, similar topics, people involved."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import attrs

from .. import _validate as v
from ..engine import core as engine
from ..engine.base import CommunityBase
from ..errors import InvalidInput, UnknownRecord
from ..events import FeelingSet, ShiftReported, TopicDeflected, TopicFollowed, TopicUnfollowed
from ..model import Doc, Outcome
from ..stores.protocol import (
    MAX_TERMS,
    SEARCH_KIND,
    SearchTransaction,
    Transaction,
    fold,
    match_terms,
    search_terms,
)
from . import handlers

__all__ = ["Presence", "SimilarTopic", "SupportAPI"]

MAX_SIMILAR = 50
"""The most similar topics one call returns."""


@attrs.frozen(kw_only=True)
class SimilarTopic:
    """An existing topic that may already answer a draft.

    Attributes:
        topic: its id.
        title: its title.
        kind: ``question``, ``problem``, ``idea``, ``praise`` or ``talk``.
        product: its product, or ``None``.
        tags: its tags.
        solved: whether it has an accepted solution.
        solution: the accepted solution's reply id, or ``None``.
        score: how well it matches: one per word of the draft found in it,
            plus two per tag and two for the product it shares with the draft.
        posted_at: when it was posted.
    """

    topic: str
    title: str
    kind: str
    product: str | None
    tags: tuple[str, ...]
    solved: bool
    solution: str | None
    score: int
    posted_at: datetime


@attrs.frozen(kw_only=True)
class Presence:
    """The people involved in a topic or product and the employees available.

    Attributes:
        people_involved: distinct members who posted, replied or follow (for a
            product: in its topics that are not removed). A deleted member is
            no one: they leave this and ``followers`` when deleted.
        followers: members following (topics only; 0 for a product).
        staff_on_duty: the staff ids on duty at the time asked (sorted; deleted
            members are never on duty).
    """

    people_involved: int
    followers: int
    staff_on_duty: tuple[str, ...]

    @property
    def employees_available(self) -> int:
        """How many staff are on duty: ``len(staff_on_duty)`` (the figure "employees
        available" a product page shows)."""
        return len(self.staff_on_duty)


def _rank(
    docs: Sequence[Doc], terms: Sequence[str], tags: Sequence[str], product: str | None
) -> list[SimilarTopic]:
    wanted = set(terms)
    found = []
    for doc in docs:
        d = doc.data
        words = set(str(d["text"]).split())
        score = len(wanted & words)
        score += 2 * len(set(tags) & set(d["tags"]))
        if product is not None and d["product"] == product:
            score += 2
        if score <= 0 or doc.status == "removed":
            continue
        found.append(
            SimilarTopic(
                topic=doc.key,
                title=d["title"],
                kind=d["kind"],
                product=d["product"],
                tags=tuple(d["tags"]),
                solved=d["solution"] is not None,
                solution=d["solution"],
                score=score,
                posted_at=datetime.fromisoformat(d["posted_at"]),
            )
        )
    # Best match first; among equals, solved ones (they carry an answer), then the newest.
    found.sort(key=lambda s: (-s.score, not s.solved, -s.posted_at.timestamp(), s.topic))
    return found


def _candidates(tx: Transaction, terms: Sequence[str], limit: int) -> list[Doc]:
    if not terms:
        return []
    if isinstance(tx, SearchTransaction):
        return tx.search(terms, limit=limit)
    return match_terms(tx.find(SEARCH_KIND), terms, limit)  # a store without full-text search


class SupportAPI(CommunityBase):
    """The :class:`kudos.Community` methods of this capability."""

    # -- feelings ----------------------------------------------------------------------
    def set_feeling(
        self,
        topic: str,
        feeling: str,
        *,
        by: str,
        at: datetime | None = None,
        event_id: str | None = None,
    ) -> Outcome:
        """``by``, the topic's author, says how they feel about ``topic`` now.

        Replaces the topic's feeling (counted once, in the period it was posted).
        Setting again, without an ``event_id``, the feeling an earlier
        ``set_feeling`` gave it is an idempotent replay (``Outcome.replayed``,
        nothing changes).

        Raises:
            InvalidInput: ``feeling`` is not one of the policy's ``support.feelings``
                (the message lists them), or dated before the topic was posted.
            NotAllowed: ``by`` is not the author, ``topic`` is a reply or was removed, or the
                topic has that feeling already and this is no replay (a new
                ``event_id``, or the feeling it was posted with).
            UnknownPost, UnknownMember: never reported.
        """
        return self.record(
            FeelingSet(topic=topic, feeling=feeling, by=by, at=at, event_id=event_id)
        )

    def feelings(
        self, *, period: str | None = None, product: str | None = None, tag: str | None = None
    ) -> dict[str, int]:
        """How many topics have each feeling, as ``{feeling: topics}`` in the policy's order.

        Each topic counts once, with its current feeling, in the payback period it
        was posted in; ``period``, ``product`` and ``tag`` narrow the count (any
        combination). Removed topics are not counted. Every feeling of the policy
        is in the result, 0 when no topic has it.

        Raises:
            InvalidInput: ``period``, ``product`` or ``tag`` is not an id.
            UnknownRecord: ``period`` is not a period of the policy (as
                :meth:`statement` and :meth:`health` refuse it).
        """
        for name, value in (("period", period), ("product", product), ("tag", tag)):
            v.check_optional_id(name, value)
        if period is not None:
            self.policy.periods.bounds(period)
        scope = handlers.feeling_scope(period, product, tag)
        feelings = self.policy.support.feelings

        def read(tx: Transaction) -> dict[str, int]:
            return {f: tx.counter("feelings", scope, f) for f in feelings}

        return self._read(read)

    # -- similar topics and deflection -----------------------------------------------
    def similar_topics(
        self,
        title: str,
        *,
        tags: Sequence[str] = (),
        product: str | None = None,
        limit: int = 5,
    ) -> list[SimilarTopic]:
        """Existing topics that may answer a draft titled ``title``, best first.

        Full-text search over the topics' titles, bodies (the first 10,000
        characters), tags and products, in the store's own engine (SQLite FTS5,
        PostgreSQL ``tsvector``, an in-memory index); every store finds and
        orders the same topics. Removed topics are never suggested.

        What matches: the words of ``title`` (runs of letters and digits; quotes,
        operators and punctuation are not query syntax), each folded the same way
        in Python before any store sees it (NFKC, case-folded, accents dropped, a
        plural ``s`` dropped: see :func:`kudos.stores.protocol.fold`), leaving out
        the policy's ``support.stop_words`` ("how", "do", "i", ... in English by
        default). A topic's text is folded the same way when it is indexed. The
        draft's tags and product are searched too: a topic whose text (title, body,
        tags, product) has one of them is a candidate, and the score counts them.

        Order: the policy's ``support.similar_candidates`` topics (200 by default)
        with the most query words (title words, tags and product) are ranked, chosen
        on every store alike by: words matched, then solved first, then newest,
        then topic id. They are then ordered by :attr:`SimilarTopic.score` (one per
        title word found, two per shared tag, two for the same product); among equal
        scores solved topics come first (with their accepted solution), then the
        newest, then by topic id. A topic whose accepted reply was removed is not
        solved. A title with no words left and no tags or product finds nothing.

        Args:
            title: the draft's title (free text, at most 10,000 characters).
            tags: the draft's tags; a shared tag adds 2 to a topic's score.
            product: the draft's product; the same product adds 2.
            limit: how many topics at most (1 to 50).

        Raises:
            InvalidInput: ``title`` is not text, too long or holds a NUL byte; a tag
                or the product is not an id; ``limit`` is out of range.
        """
        v.check_text("title", title)
        v.check_optional_id("product", product)
        if isinstance(tags, str) or not isinstance(tags, Sequence):
            raise InvalidInput(f"tags must be a list of ids, got {v.shown(tags)}")
        if len(tags) > v.MAX_ITEMS:
            raise InvalidInput(f"tags must be at most {v.MAX_ITEMS}, got {len(tags)}")
        for tag in tags:
            v.check_id("tag", tag)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_SIMILAR:
            raise InvalidInput(
                f"limit must be an int from 1 to {MAX_SIMILAR}, got {v.shown(limit)}"
            )
        stop = {fold(word) for word in self.policy.support.stop_words}
        wanted = [t for t in search_terms(title) if t not in stop][:MAX_TERMS]
        extra = search_terms(" ".join([*tags, product or ""]))
        terms = list(dict.fromkeys([*wanted, *extra]))[:MAX_TERMS]
        candidates = self.policy.support.similar_candidates

        def read(tx: Transaction) -> list[SimilarTopic]:
            docs = _candidates(tx, terms, candidates)
            return _rank(docs, wanted, tuple(tags), product)[:limit]

        return self._read(read)

    def deflected(
        self,
        topic_suggested: str,
        *,
        by: str,
        at: datetime | None = None,
        event_id: str | None = None,
    ) -> Outcome:
        """``by`` says the suggested topic answered them: they did not need to post.

        Counted in :meth:`deflections`; the author of the topic's accepted
        solution (if any, and not ``by``) earns the policy's
        ``deflection_solution`` reward, under its caps. Once per member and topic:
        saying it again without an ``event_id`` is an idempotent replay.

        Report only deflections a real suggestion produced (the member was shown
        ``topic_suggested`` by :meth:`similar_topics` and said it answered them):
        kudos cannot tell a made-up one, and the reward's caps limit the damage.
        A deflection stays counted, and its reward stays, if the topic is removed
        later; removing the solution reply takes back the rewards it earned.

        Raises:
            NotAllowed: the topic was removed or is a reply, or ``by`` said so of
                this topic already and the call gives a new ``event_id``.
            InvalidInput: dated before the topic was posted.
            UnknownPost, UnknownMember: never reported.
        """
        return self.record(TopicDeflected(topic=topic_suggested, by=by, at=at, event_id=event_id))

    def deflections(
        self, *, period: str | None = None, product: str | None = None, topic: str | None = None
    ) -> int:
        """How many times a suggested topic answered a member, in ``period`` (payback
        period id; all time when ``None``), for ``product`` or one ``topic``.

        Raises:
            InvalidInput: an argument is not an id, or both ``product`` and ``topic``.
            UnknownRecord: ``period`` is not a period of the policy.
        """
        for name, value in (("period", period), ("product", product), ("topic", topic)):
            v.check_optional_id(name, value)
        if period is not None:
            self.policy.periods.bounds(period)
        if product is not None and topic is not None:
            raise InvalidInput("deflections() counts per product or per topic, not both")
        subject = f"product:{product}" if product else f"topic:{topic}" if topic else handlers.ANY
        scope = period or "all"
        return self._read(lambda tx: tx.counter("deflections", scope, subject))

    # -- people involved and staff on duty ------------------------------------------------
    def follow(
        self, topic: str, *, member: str, at: datetime | None = None, event_id: str | None = None
    ) -> Outcome:
        """The host reports that ``member`` follows ``topic`` (they are involved).

        Following again without an ``event_id`` while following is an idempotent
        replay; after :meth:`unfollow`, following again counts again.

        Raises:
            NotAllowed: ``topic`` is a reply or was removed, ``member`` was deleted,
                or already following and the call gives a new ``event_id``.
            InvalidInput: dated before the topic was posted.
        """
        return self.record(TopicFollowed(topic=topic, member=member, at=at, event_id=event_id))

    def unfollow(
        self, topic: str, *, member: str, at: datetime | None = None, event_id: str | None = None
    ) -> Outcome:
        """``member`` stopped following ``topic``.

        Unfollowing again without an ``event_id`` is an idempotent replay. A
        deleted member follows nothing (deleting them ended every follow), so
        their unfollow changes nothing and is not refused.

        Raises:
            NotAllowed: never followed, or not following and the call gives a new
                ``event_id``.
        """
        return self.record(TopicUnfollowed(topic=topic, member=member, at=at, event_id=event_id))

    def report_shift(
        self,
        shift: str,
        *,
        member: str,
        start: datetime,
        end: datetime,
        product: str | None = None,
        at: datetime | None = None,
        event_id: str | None = None,
    ) -> Outcome:
        """Staff member ``member`` is on duty from ``start`` to ``end`` (for ``product``,
        or every product when ``None``). Reporting a shift id again with any
        other member, times or product replaces it (even with times it had
        before); the same fields as it has now are an idempotent replay.
        ``end == start`` cancels it. A deleted member's shifts end when they are
        deleted.

        Raises:
            NotAllowed: ``member`` is not staff or was deleted.
            InvalidInput: ``end`` before ``start``, or times that are not aware
                datetimes (a string is refused too: pass ``datetime(..., tzinfo=UTC)``).
        """
        return self.record(
            ShiftReported(
                shift=shift,
                member=member,
                start=start,
                end=end,
                product=product,
                at=at,
                event_id=event_id,
            )
        )

    def staff_on_duty(self, product: str | None = None, *, at: datetime | None = None) -> list[str]:
        """The staff on duty at ``at`` (default: now) for ``product``, sorted: the
        employees available. A shift without a product covers every product;
        with ``product=None`` every shift counts.

        Raises:
            InvalidInput: ``product`` is not an id or ``at`` not an aware datetime.
        """
        v.check_optional_id("product", product)
        when = self.now() if at is None else v.check_time("at", at)
        return self._read(lambda tx: handlers.on_duty(tx, product, when))

    def presence(
        self,
        *,
        topic: str | None = None,
        product: str | None = None,
        at: datetime | None = None,
    ) -> Presence:
        """The people involved in ``topic`` or ``product`` and the employees available.

        For a topic, the staff on duty are those of its product.

        Raises:
            InvalidInput: neither or both of ``topic`` and ``product``.
            UnknownPost: ``topic`` was never reported.
            UnknownRecord: ``topic`` is a reply (ask for its topic).
        """
        v.check_optional_id("topic", topic)
        v.check_optional_id("product", product)
        if (topic is None) == (product is None):
            raise InvalidInput("presence() takes a topic or a product (one of them)")
        when = self.now() if at is None else v.check_time("at", at)

        def read(tx: Transaction) -> Presence:
            if topic is not None:
                post = engine.get_post(tx, topic)
                if post.topic is not None:
                    raise UnknownRecord(
                        f"post {topic!r} is a reply; ask for its topic {post.topic!r}'s presence"
                    )
                return Presence(
                    people_involved=tx.counter("people_involved", "topic", topic),
                    followers=tx.counter("followers", "topic", topic),
                    staff_on_duty=tuple(handlers.on_duty(tx, post.product, when)),
                )
            assert product is not None
            return Presence(
                people_involved=tx.counter("people_involved", "product", product),
                followers=0,
                staff_on_duty=tuple(handlers.on_duty(tx, product, when)),
            )

        return self._read(read)
