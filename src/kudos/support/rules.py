"""The policy's support section: what each kind of topic means, and the feelings.

Pure data: this module imports nothing that runs or stores anything.
"""

from __future__ import annotations

import typing
from typing import Any

import attrs

from .._validate import sorted_set
from ..errors import InvalidPolicy
from ..events import TOPIC_KINDS

__all__ = ["ACTIONS", "FEELINGS", "STOP_WORDS", "SupportRules"]

ACTIONS: tuple[str, ...] = ("praise_received", "deflection_solution")
"""``praise_received``: the member a praise topic names; ``deflection_solution``: the
author of the accepted solution of a topic that answered someone before they posted."""

FEELINGS = ("frustrated", "confused", "happy", "indifferent")
"""The feelings a customer can give a topic unless the policy lists its own."""


STOP_WORDS: tuple[str, ...] = (
    "a", "about", "after", "again", "all", "am", "an", "and", "any", "are", "as", "at",
    "be", "been", "but", "by", "can", "could", "did", "do", "does", "for", "from",
    "get", "got", "had", "has", "have", "he", "her", "him", "his", "how", "i", "if", "in",
    "into", "is", "it", "its", "just", "me", "my", "no", "not", "of", "on", "or", "our",
    "please", "she", "so", "some", "than", "that", "the", "their", "them", "then", "there",
    "these", "they", "this", "to", "up", "us", "use", "was", "we", "were", "what", "when",
    "where", "which", "who", "why", "will", "with", "would", "you", "your",
)  # fmt: skip
"""The English words a similar-topic query leaves out unless the policy lists its own
(``support.stop_words``; compared after folding, as :func:`kudos.stores.protocol.fold`
folds every searched word)."""


def _kinds(value: typing.Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        raise InvalidPolicy(f"support kinds must be a list of kinds, got {value!r}")
    return sorted_set(value)


def _check_kinds(inst: Any, attr: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
    for kind in value:
        if kind not in TOPIC_KINDS:
            raise InvalidPolicy(
                f"support.{attr.name}: unknown kind {kind!r}; kinds are {', '.join(TOPIC_KINDS)}"
            )


def _check_feelings(inst: Any, attr: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
    if not value:
        raise InvalidPolicy("support.feelings must name at least one feeling")
    for feeling in value:
        if not isinstance(feeling, str) or not feeling or feeling != feeling.strip():
            raise InvalidPolicy(f"support.feelings: {feeling!r} is not a feeling name")


@attrs.frozen(kw_only=True)
class SupportRules:
    """The policy's ``support`` section.

    Attributes:
        solvable: the topic kinds that take an accepted solution (asking and
            solving a problem: ``question``, ``problem``).
        votable: the kinds members vote on as ideas (``idea``).
        praisable: the kinds that may name the member they praise (``praise``);
            that member earns the ``praise_received`` reward.
        feelings: the feelings a topic's author may give it (how they feel).
        stop_words: words a similar-topic draft's title leaves out of the query
            (compared after folding, like every searched word: lower case, no
            accents, plural ``s`` dropped); English by default
            (:data:`STOP_WORDS`), ``()`` for none.
            Topics are indexed with every word, so changing the list needs no rebuild.
        similar_candidates: how many full-text matches :meth:`similar_topics`
            ranks at most (the store's best; a bound on the work per call).

    The lists of kinds, feelings and stop words are sets: kept sorted, each
    item once, whatever order they are written in.

    >>> SupportRules().solvable
    ('problem', 'question')
    """

    solvable: tuple[str, ...] = attrs.field(
        default=("question", "problem"), converter=_kinds, validator=_check_kinds
    )
    votable: tuple[str, ...] = attrs.field(
        default=("idea",), converter=_kinds, validator=_check_kinds
    )
    praisable: tuple[str, ...] = attrs.field(
        default=("praise",), converter=_kinds, validator=_check_kinds
    )
    feelings: tuple[str, ...] = attrs.field(
        default=FEELINGS, converter=_kinds, validator=_check_feelings
    )
    stop_words: tuple[str, ...] = attrs.field(default=STOP_WORDS, converter=_kinds)
    similar_candidates: int = attrs.field(default=200)

    @stop_words.validator
    def _check_stop_words(
        self, attr: attrs.Attribute[tuple[str, ...]], value: tuple[str, ...]
    ) -> None:
        for word in value:
            if not isinstance(word, str) or not word or word != word.strip():
                raise InvalidPolicy(f"support.stop_words: {word!r} is not a word")

    @similar_candidates.validator
    def _check_candidates(self, attr: attrs.Attribute[int], value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10_000:
            raise InvalidPolicy(
                f"support.similar_candidates must be a whole number from 1 to 10000, got {value!r}"
            )
