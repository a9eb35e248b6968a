"""The channels section of a policy: which channels facts may come through (pure data)."""

from __future__ import annotations

from typing import Any

import attrs

from .._validate import sorted_set
from ..errors import InvalidInput, InvalidPolicy

__all__ = ["ACTIONS", "CHANNELS", "ChannelRules"]

ACTIONS: tuple[str, ...] = ("canonical_reused",)
"""``canonical_reused``: the author of a canonical answer, each time it answers a conversation."""

CHANNELS: tuple[str, ...] = ("web", "twitter", "facebook", "email", "phone", "chat")
"""The channels a policy allows unless it lists its own."""


def _to_tuple(value: Any) -> Any:
    return sorted_set(value) if isinstance(value, list | tuple) else value


def _channel_list(inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, tuple) or not value:
        raise InvalidPolicy(f"channels.allowed must be a non-empty list of names, got {value!r}")
    for name in value:
        if not isinstance(name, str) or not name or name != name.strip() or len(name) > 100:
            raise InvalidPolicy(f"channels.allowed: {name!r} is not a channel name")


@attrs.frozen(kw_only=True)
class ChannelRules:
    """The policy's channels section.

    Attributes:
        allowed: the channels a fact may name (its ``channel``); any other is
            refused with :class:`kudos.InvalidInput` naming these.
        default: the channel of a fact that names none (the host's own forum),
            as response health groups it; one of ``allowed``.

    ``allowed`` is a set: kept sorted, each name once, whatever order it is written in.

    >>> ChannelRules(allowed=("web", "sms", "web"), default="web").allowed
    ('sms', 'web')
    """

    allowed: tuple[str, ...] = attrs.field(
        default=CHANNELS, converter=_to_tuple, validator=_channel_list
    )
    default: str = "web"

    def __attrs_post_init__(self) -> None:
        if self.default not in self.allowed:
            raise InvalidPolicy(
                f"channels.default {self.default!r} is not one of channels.allowed "
                f"({', '.join(self.allowed)})"
            )

    def check(self, channel: str) -> str:
        """Return ``channel`` if the policy allows it.

        Raises:
            InvalidInput: it is not one of :attr:`allowed` (the message names them).
        """
        if channel not in self.allowed:
            raise InvalidInput(
                f"unknown channel {channel!r}; the policy allows "
                f"{', '.join(repr(c) for c in self.allowed)} (channels.allowed)"
            )
        return channel
