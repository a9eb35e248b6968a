"""Plain data as TOML text: what :meth:`kudos.Policy.to_toml` writes (the stdlib reads TOML only).

Takes what :meth:`kudos.Policy.to_dict` gives: tables (``dict``, ``str``
keys), lists, ``str``, ``int``, ``bool`` and ``None``. TOML has no null, so
``None`` is written as ``""``, which a policy reads back as "unset". A table
is a ``[header]``; a non-empty list of tables an array of tables
(``[[header]]``); everything else a ``key = value`` line, values of a
table before its sub-tables as TOML requires.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["dumps"]

_BARE = re.compile(r"[A-Za-z0-9_-]+")


def dumps(data: Mapping[str, Any]) -> str:
    """``data`` as TOML text that :func:`tomllib.loads` reads back (``None`` as ``""``).

    >>> print(dumps({"name": "x", "caps": [{"limit": 5}], "payback": {"rate": {"points": 1}}}))
    name = "x"
    <BLANKLINE>
    [[caps]]
    limit = 5
    <BLANKLINE>
    [payback.rate]
    points = 1
    <BLANKLINE>
    """
    lines: list[str] = []
    _table(data, (), lines)
    return "\n".join(lines).lstrip("\n") + "\n"


def _is_tables(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def _table(data: Mapping[str, Any], path: tuple[str, ...], lines: list[str]) -> None:
    nested = [k for k, v in data.items() if isinstance(v, Mapping) or _is_tables(v)]
    for key, value in data.items():
        if key not in nested:
            lines.append(f"{_key(key)} = {_value(value)}")
    for key in nested:
        value = data[key]
        inner = (*path, key)
        header = ".".join(_key(k) for k in inner)
        if isinstance(value, Mapping):
            if any(not isinstance(v, Mapping) and not _is_tables(v) for v in value.values()) or (
                not value
            ):
                lines += ["", f"[{header}]"]
            _table(value, inner, lines)
        else:
            for item in value:
                lines += ["", f"[[{header}]]"]
                _table(item, inner, lines)


def _key(key: str) -> str:
    return key if _BARE.fullmatch(key) else _string(key)


def _string(text: str) -> str:
    # A JSON string is a TOML basic string, once DEL (which JSON leaves as it is) is escaped.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _value(value: Any) -> str:
    if value is None:
        return '""'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no TOML for {type(value).__name__}")
