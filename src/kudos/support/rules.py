"""The policy's support section: what each kind of topic means, and the feelings.

Pure data: this module imports nothing that runs or stores anything.
"""

from __future__ import annotations

import typing
from typing import Any

import attrs

from ..errors import InvalidPolicy
from ..events import TOPIC_KINDS

__all__ = ["ACTIONS", "FEELINGS", "SupportRules"]

ACTIONS: tuple[str, ...] = ("praise_received", "deflection_solution")
"""``praise_received``: the member a praise topic names; ``deflection_solution``: the
author of the accepted solution of a topic that answered someone before they posted."""

FEELINGS = ("frustrated", "confused", "happy", "indifferent")
"""The feelings a customer can give a topic unless the policy lists its own."""


def _kinds(value: typing.Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        raise InvalidPolicy(f"support kinds must be a list of kinds, got {value!r}")
    return tuple(value)


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
        similar_candidates: how many full-text matches :meth:`similar_topics`
            ranks at most (the store's best; a bound on the work per call).

    >>> SupportRules().solvable
    ('question', 'problem')
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
    similar_candidates: int = attrs.field(default=200)

    @similar_candidates.validator
    def _check_candidates(self, attr: attrs.Attribute[int], value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10_000:
            raise InvalidPolicy(
                f"support.similar_candidates must be a whole number from 1 to 10000, got {value!r}"
            )
