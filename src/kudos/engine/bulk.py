"""A read-only view of a transaction for reading many members at once.

:meth:`kudos.Community.standings` computes every member's standing with the
same code as :meth:`~kudos.Community.standing`. Asked member by member, the
store would answer a dozen small queries each; through this view each kind
of document is read once (one ``find``) and the counters of the scopes a
standing shows in one bulk read (``counters_in``, where the store has it),
then served from memory. Anything else goes to the transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from ..model import Doc
from ..stores.memory import DocIndex
from ..stores.protocol import CounterKey, Transaction

__all__ = ["Preloaded"]


class Preloaded:
    """``tx`` with documents (per kind, on first use) and the counters of ``scopes`` preloaded."""

    def __init__(self, tx: Transaction, scopes: Sequence[str]) -> None:
        self._tx = tx
        self.community = tx.community
        self._docs: dict[str, DocIndex] = {}
        bulk = getattr(tx, "counters_in", None)
        self._scopes = frozenset(scopes) if bulk is not None else frozenset()
        self._counters: dict[CounterKey, int] = bulk(list(scopes)) if bulk is not None else {}
        self._by_subject: defaultdict[str, dict[tuple[str, str], int]] = defaultdict(dict)
        for (metric, scope, subject), value in self._counters.items():
            self._by_subject[subject][(metric, scope)] = value

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tx, name)

    def _kind(self, kind: str) -> DocIndex:
        found = self._docs.get(kind)
        if found is None:
            found = self._docs[kind] = DocIndex(self._tx.find(kind))
        return found

    def get(self, kind: str, key: str) -> Doc | None:
        """The document ``(kind, key)`` or ``None``."""
        return self._kind(kind).get((kind, key))

    def find(
        self,
        kind: str,
        *,
        ref: str | None = None,
        status: str | None = None,
        limit: int | None = None,
    ) -> list[Doc]:
        """Documents of ``kind`` matching ``ref``/``status`` (when given), ordered by key."""
        found = self._kind(kind).find(kind, ref, status)
        return found if limit is None else found[:limit]

    def counter(self, metric: str, scope: str, subject: str) -> int:
        """One counter's value (0 when missing)."""
        if scope in self._scopes:
            return self._counters.get((metric, scope, subject), 0)
        return self._tx.counter(metric, scope, subject)

    def counters_of(self, subject: str, scopes: Sequence[str]) -> dict[tuple[str, str], int]:
        """Every non-zero counter of ``subject`` in ``scopes``."""
        if not self._scopes.issuperset(scopes):
            return self._tx.counters_of(subject, scopes)
        wanted = set(scopes)
        return {k: v for k, v in self._by_subject.get(subject, {}).items() if k[1] in wanted}
