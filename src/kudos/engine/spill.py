"""A document's list of what it remembers, kept bounded: the first items in the document
itself, later ones in documents of their own.

Response health (a topic's responses) and caps (a scope's held-back awards) remember
items one by one; a list rewritten whole with every item would make each item cost more
than the one before. The owner keeps its first ``limit`` items in its ``listed`` list and
counts in ``more`` the later ones, each written as a document with its position ``n``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..model import Doc


def append(
    listed: list[Any], more: int, item: Any, limit: int, put: Callable[[int, Any], None]
) -> tuple[list[Any], int]:
    """``listed`` and ``more`` with ``item`` added: listed while the list holds fewer than
    ``limit`` and no item came after it; else written by ``put(n, item)`` as the ``n``-th
    later document (from 0).

    A list an earlier kudos kept whole has its items past the first ``limit`` written as
    documents first. ``listed`` itself is never changed.
    """
    if not more and len(listed) < limit:
        return [*listed, item], 0
    if not more:
        for n, earlier in enumerate(listed[limit:]):
            put(n, earlier)
        more, listed = len(listed) - limit, listed[:limit]
    put(more, item)
    return listed, more + 1


def listing(data: Mapping[str, Any], whole: str) -> str:
    """The key under which the owner's ``data`` keeps its listed items.

    ``whole`` (the owner's own name for its list) while it lists them all; ``"listed"``,
    beside ``more``, once later items are documents. An earlier kudos reads only
    ``whole``, so on such an owner it fails, writing nothing, rather than lose the later
    items.
    """
    return "listed" if "more" in data else whole


def keep(data: dict[str, Any], whole: str, listed: list[Any], more: int) -> None:
    """Put ``listed`` and ``more`` (as :func:`append` returns them) into ``data``, under the
    keys :func:`listing` reads."""
    if more:
        data.pop(whole, None)
        data["listed"], data["more"] = listed, more
    else:
        data[whole] = listed


def in_order(docs: Iterable[Doc]) -> list[Doc]:
    """The later documents of a list (as :func:`append` wrote them), in the order they came."""
    return sorted(docs, key=lambda doc: int(doc.data["n"]))
