"""A policy as content: its JSON, a fingerprint, and what differs between two.

Pure functions of :class:`kudos.Policy` values; nothing here runs the engine
or touches a store.
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import InvalidPolicy

if TYPE_CHECKING:
    from ..policy import Policy

__all__ = ["differences", "fingerprint", "from_content", "same_settings", "to_json"]

# id(policy) -> (its JSON, the print of that JSON, the print of its settings as read now)
_known: dict[int, tuple[str, str, str]] = {}
_lock = threading.Lock()


def to_json(policy: Policy) -> str:
    """``policy``'s full content as compact JSON text (what a store records).

    :meth:`kudos.Policy.to_dict` (every setting, JSON types only: a date-time
    is ISO 8601 text) as JSON; tables keep the order they were written in, so
    the policy read back with :func:`from_content` behaves exactly alike. A
    policy read with :func:`from_content` gives back the text it was read
    from. Worked out once per policy object.

    >>> from kudos import Policy, Reward
    >>> coded = Policy(rewards={"kudos_on_reply": Reward(points=5)})
    >>> from_content(to_json(coded)) == coded
    True
    """
    return _content(policy)[0]


def fingerprint(policy: Policy) -> str:
    """The SHA-256 (hex, 64 characters) of ``policy``'s settings with every key sorted.

    Equal settings give equal prints, whatever their order or construction
    (code, TOML, JSON): what tells whether a policy is the one a store holds.

    >>> from kudos import Policy, Reward
    >>> coded = Policy(rewards={"kudos_on_reply": Reward(points=5)})
    >>> loaded = Policy.from_dict({"rewards": {"kudos_on_reply": {"points": 5}}})
    >>> fingerprint(coded) == fingerprint(loaded)
    True
    """
    return _content(policy)[1]


def same_settings(a: Policy, b: Policy) -> bool:
    """Whether ``a`` and ``b`` hold the same settings, however each was written down.

    Equal fingerprints say so at once. A policy read from a store
    (:func:`from_content`) keeps the fingerprint recorded with it, which an
    older kudos worked out before lists that are sets (a cap's actions, the
    topic kinds, the channels ...) were kept sorted; so the settings are
    compared as this kudos reads them too, and a store written then still
    opens with its policy.

    >>> from kudos import Cap, Policy
    >>> one = Policy(caps=[Cap(limit=5, actions=["kudos_given", "reply_posted"])])
    >>> same_settings(one, Policy(caps=[Cap(limit=5, actions=["reply_posted", "kudos_given"])]))
    True
    """
    if a is b:
        return True
    first, second = _content(a), _content(b)
    return first[1] == second[1] or first[2] == second[2]


def _content(policy: Policy) -> tuple[str, str, str]:
    key = id(policy)
    with _lock:
        found = _known.get(key)
    if found is None:
        data = policy.to_dict()
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        printed = _print(data)
        found = (text, printed, printed)
        with _lock:
            _known[key] = found
        weakref.finalize(policy, _known.pop, key, None)
    return found


def _print(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@functools.lru_cache(maxsize=64)
def from_content(content: str) -> Policy:
    """The policy whose :func:`to_json` text is ``content`` (one object per text, kept).

    Every ``Community`` reading the same stored version gets the same object,
    so they share cached reads.

    Raises:
        InvalidPolicy: ``content`` is not JSON, or not a policy this kudos reads.
    """
    try:
        data = json.loads(content)
    except ValueError as exc:
        raise InvalidPolicy(f"a stored policy is not JSON: {exc}") from None
    from ..policy import Policy  # the policy imports every capability's rules

    policy = Policy.from_dict(data)
    # The print recorded with the content is the one of the content as it is, so a
    # replay records the same version; the settings as read now may print otherwise.
    with _lock:
        _known[id(policy)] = (content, _print(data), _print(policy.to_dict()))
    weakref.finalize(policy, _known.pop, id(policy), None)
    return policy


_ABSENT = object()
_SHOWN = 80  # characters of one value a difference shows


def differences(stored: Policy, given: Policy, *, limit: int = 10) -> list[str]:
    """The settings ``given`` changes from ``stored``, one line each, e.g.
    ``rewards.kudos_on_reply.points: 10 in the store, 5 given``.

    A table or list one side has and the other lacks (or a list of another
    length) is one line, not a line per setting in it. At most ``limit``
    lines, then one saying how many more differ (``... and 3 more settings``);
    empty when the two hold the same settings (:func:`same_settings`).

    >>> from kudos import Policy, Reward
    >>> differences(Policy(rewards={"kudos_on_reply": Reward(points=10)}),
    ...             Policy(rewards={"kudos_on_reply": Reward(points=5)}))
    ['rewards.kudos_on_reply.points: 10 in the store, 5 given']
    """
    if same_settings(stored, given):
        return []
    lines: list[str] = []
    _differ(stored.to_dict(), given.to_dict(), "", lines)
    if len(lines) > limit:
        lines[limit:] = [f"... and {len(lines) - limit} more settings"]
    return lines


def _differ(old: Any, new: Any, path: str, lines: list[str]) -> None:
    if old == new:
        return
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in sorted(set(old) | set(new)):
            where = f"{path}.{key}" if path else str(key)
            _differ(old.get(key, _ABSENT), new.get(key, _ABSENT), where, lines)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            _differ(a, b, f"{path}[{i}]", lines)
    else:
        lines.append(f"{path}: {_shown(old)} in the store, {_shown(new)} given")


def _shown(value: Any) -> str:
    if value is _ABSENT:
        return "absent"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _SHOWN else f"{text[: _SHOWN - 4]} ...{text[-1]}"
