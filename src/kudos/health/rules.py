"""The health section of a policy: the response target (pure data)."""

from __future__ import annotations

from typing import Any

import attrs

from ..errors import InvalidPolicy

__all__ = ["ACTIONS", "GROUPINGS", "HealthRules"]

ACTIONS: tuple[str, ...] = ()
"""Response health rewards nothing: it measures."""

GROUPINGS = ("tag", "product", "kind", "channel", "period", "month", "day")
"""What :meth:`kudos.Community.health` groups by (``by=``)."""


def _target(inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidPolicy(f"health.{attr.name} must be a whole number of seconds, 1 or more")


@attrs.frozen(kw_only=True)
class HealthRules:
    """The policy's health section.

    Attributes:
        target_seconds: the response target (a service level): a topic is
            answered in time when its first response came within this many
            seconds of its posting. Default one hour; giffgaff's community was
            known for answers within minutes.
    """

    target_seconds: int = attrs.field(default=3600, validator=_target)
