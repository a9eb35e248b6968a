"""Caps that do not depend on the order facts arrive in, and the reputation floor.

A cap scope (one member's day, month, post or period under one
:class:`~kudos.Cap`) keeps one counter: what its covered actions booked, net
(a covered debit such as a down-vote received counts against it too). The
rule every event leaves behind, for each scope it touched::

    booked == min(limit, sum of the full values of the scope's live facts)

A new award gets what fits under the limit; what did not fit is remembered
in a ``cap`` document with the award. When room opens later in that scope
(a reversal, a debit counted against it), the held-back awards take it up,
oldest first, as ``cap_top_up`` lines that name the award they top up. When
a scope ends up over its limit (a debit reversed), the excess is booked as a
``cap_held`` line and released first when room opens again. Nothing is ever
edited: every change is a line, and reversing an award also reverses its
top-ups. So the same live facts give the same total whatever order they
came in.

The floor (``Policy.reputation_floor``) is applied after the caps: a debit is
booked only down to the floor when it is credited (see
:meth:`kudos.engine.core.Context.credit`), and a member a reversal left below it
gets a ``reputation_floor`` line lifting them back.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from ..model import LedgerEntry
from ..stores.protocol import CounterKey
from . import spill

if TYPE_CHECKING:
    from ..policy import Cap, Policy
    from ..stores.protocol import Transaction


class Context(Protocol):
    """What the caps use of the engine's context (:class:`kudos.engine.core.Context`).

    Spelled out here so that this module, which the engine core imports, does
    not import the core back.
    """

    tx: Transaction
    policy: Policy
    event_id: str
    deltas: Counter[CounterKey]
    unsettled: dict[CounterKey, tuple[Cap, datetime]]
    clipped: list[tuple[Cap, CounterKey, LedgerEntry, int]]
    unfloored: set[str]

    def counter(self, metric: str, scope: str, subject: str) -> int: ...

    def balance(self, member: str, account: str, scope: str = "all") -> int: ...

    def reverse(self, entry: LedgerEntry, reason: str) -> LedgerEntry | None: ...

    def written(self, event_id: str, entry_id: str) -> LedgerEntry: ...

    def line(
        self,
        member: str,
        account: str,
        amount: int,
        *,
        action: str,
        reason: str,
        subject: str | None = None,
        tags: tuple[str, ...] = (),
        at: datetime | None = None,
        period: str | None = None,
    ) -> LedgerEntry: ...

    def put(
        self,
        kind: str,
        key: str,
        data: Mapping[str, Any],
        *,
        ref: str | None = None,
        status: str | None = None,
    ) -> None: ...


TOP_UP = "cap_top_up"
HELD = "cap_held"
FLOOR = "reputation_floor"
START = "reputation_start"
CAP_LINES = frozenset({TOP_UP, HELD, FLOOR})
"""Lines the engine books to keep its rules; an undo of the event that wrote them skips them."""
UNCAPPED = CAP_LINES | {START}
"""Ledger actions no cap counts (even a cap covering every action)."""

_DOC = "cap"

_FACT = "cap_fact"
"""The document kind of an award a scope held back, past the first :data:`LISTED`: keyed by
the scope's document key and the award's entry id (``<scope>/<entry id>``), ``ref`` the
scope's document key; its data is the fact with its position among the scope's documents
(``n``, from 0), and ``"forgotten": true`` once the award is reversed."""

LISTED = 16
"""How many held-back awards a scope's ``cap`` document lists itself. Later ones are
documents of their own, so holding back one more award writes the same however many the
scope holds: a member far past a monthly cap may have thousands in a month. A scope lists
them as ``facts`` while it has no such documents, then as ``listed``, with ``more``
counting the documents."""


def _key(key: CounterKey) -> str:
    return json.dumps(list(key), separators=(",", ":"))


def _fact_key(scope: str, entry_id: str) -> str:
    return f"{scope}/{entry_id}"


def _load(ctx: Context, key: CounterKey) -> dict[str, Any]:
    """A scope's document as ``held``, ``facts`` (those it lists) and ``more``; a scope
    without one holds nothing back."""
    doc = ctx.tx.get(_DOC, _key(key))
    if doc is None:
        return {"held": 0, "facts": [], "more": 0}
    return {
        "held": int(doc.data["held"]),
        "facts": [dict(f) for f in doc.data[spill.listing(doc.data, "facts")]],
        "more": int(doc.data.get("more", 0)),
    }


def _save(ctx: Context, key: CounterKey, data: dict[str, Any]) -> None:
    """Write a scope's document, its facts as :func:`kudos.engine.spill.keep` keeps them
    (``facts`` while it lists them all), so that an earlier kudos fails on it, writing
    nothing, rather than top up the wrong awards."""
    kept = {"held": data["held"]}
    spill.keep(kept, "facts", data["facts"], data["more"])
    ctx.put(_DOC, _key(key), kept, ref=key[2])


def _more(ctx: Context, key: CounterKey, data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The scope's held-back awards past those its document lists, in the order they came:
    (document key, fact) each, the reversed ones left out."""
    if not data["more"]:
        return []
    later = spill.in_order(ctx.tx.find(_FACT, ref=_key(key)))
    return [(doc.key, dict(doc.data)) for doc in later if not doc.data.get("forgotten")]


def _hold(ctx: Context, key: CounterKey, data: dict[str, Any], fact: dict[str, Any]) -> None:
    """Add ``fact`` (an award held back) to the scope's ``data``
    (:func:`kudos.engine.spill.append`): listed, or a ``cap_fact`` document. A document an
    earlier kudos kept lists every fact; the next one moves those past the first
    :data:`LISTED` to documents."""
    scope = _key(key)

    def put(n: int, held: dict[str, Any]) -> None:
        ctx.put(_FACT, _fact_key(scope, held["entry"]), {**held, "n": n}, ref=scope)

    data["facts"], data["more"] = spill.append(data["facts"], data["more"], fact, LISTED, put)


def topped_up(line: LedgerEntry) -> str:
    """The entry id of the award a ``cap_top_up`` line tops up (its reason names it)."""
    return line.reason[len("top-up of ") : line.reason.rindex(": room freed")]


def forget(
    ctx: Context, cap: Cap, key: CounterKey, entry: LedgerEntry, reason: str
) -> dict[str, Any] | None:
    """``entry`` (an award) is being reversed: reverse its top-ups and stop holding it.

    Returns what was kept of it (``missing``: what the cap still held back), if anything.
    """
    data = _load(ctx, key)
    fact: dict[str, Any] | None = next(
        (f for f in data["facts"] if f["entry"] == entry.entry_id), None
    )
    if fact is not None:
        data["facts"].remove(fact)
    else:
        scope = _key(key)
        held = ctx.tx.get(_FACT, _fact_key(scope, entry.entry_id)) if data["more"] else None
        if held is None or held.data.get("forgotten"):
            return None
        fact = dict(held.data)
        ctx.put(_FACT, held.key, {**fact, "forgotten": True}, ref=scope)
    for event_id, line_id in fact["lines"]:
        line = ctx.written(event_id, line_id)
        if ctx.reverse(line, reason) is not None:
            ctx.deltas[key] -= line.amount
            ctx.unsettled.setdefault(key, (cap, entry.at))
    _save(ctx, key, data)
    return fact


def settle(ctx: Context) -> None:
    """Leave every cap scope ``ctx`` touched at its rule, then apply the floor."""
    for _cap, key, entry, missing in ctx.clipped:
        data = _load(ctx, key)
        fact = {
            "entry": entry.entry_id,
            "missing": missing,
            "lines": [],
            "subject": entry.subject,
            "tags": list(entry.tags),
            "at": entry.at.isoformat(),
        }
        _hold(ctx, key, data, fact)
        _save(ctx, key, data)
    ctx.clipped.clear()
    while ctx.unsettled:
        key = next(iter(ctx.unsettled))
        cap, at = ctx.unsettled.pop(key)
        _rebalance(ctx, cap, key, at)
    floor = ctx.policy.reputation_floor
    if floor is None:
        return
    # Debits were booked down to the floor; only undoing an award, the cap holding
    # back, staff by hand or a restored post can cross it. A bounty is paid in full.
    for member in sorted(ctx.unfloored):
        have = ctx.balance(member, "reputation")
        if have < floor:
            ctx.line(
                member,
                "reputation",
                floor - have,
                action=FLOOR,
                reason=f"lifted to the reputation floor of {floor}",
            )


def _rebalance(ctx: Context, cap: Cap, key: CounterKey, at: datetime) -> None:
    used = ctx.counter(*key)
    if used == cap.limit:
        return
    member, account = key[2], cap.account
    rule = f"{cap.limit} {account} per {cap.per}"
    if used > cap.limit:
        excess = used - cap.limit
        data = _load(ctx, key)
        ctx.line(member, account, -excess, action=HELD, reason=f"held back: over {rule}", at=at)
        ctx.unfloored.add(member)
        ctx.deltas[key] -= excess
        data["held"] += excess
        _save(ctx, key, data)
        return
    data = _load(ctx, key)
    room = cap.limit - used
    changed = False
    if data["held"] and room:
        released = min(room, data["held"])
        ctx.line(
            member, account, released, action=HELD, reason=f"released: room under {rule}", at=at
        )
        ctx.deltas[key] += released
        data["held"] -= released
        room -= released
        changed = True

    def oldest_first() -> Iterator[tuple[str | None, dict[str, Any]]]:
        """The listed facts, then (read only if room is left) the later ones."""
        for listed in data["facts"]:
            yield None, listed
        if room > 0:
            yield from _more(ctx, key, data)

    for doc_key, fact in oldest_first():
        if room <= 0:
            break
        given = min(room, fact["missing"])
        if given <= 0:
            continue
        line = ctx.line(
            member,
            account,
            given,
            action=TOP_UP,
            reason=f"top-up of {fact['entry']}: room freed under {rule}",
            subject=fact["subject"],
            tags=tuple(fact["tags"]),
            at=datetime.fromisoformat(fact["at"]),
        )
        ctx.deltas[key] += given
        fact["missing"] -= given
        fact["lines"] = [*fact["lines"], [ctx.event_id, line.entry_id]]
        room -= given
        if doc_key is None:
            changed = True
        else:
            ctx.put(_FACT, doc_key, fact, ref=_key(key))
    if changed:
        _save(ctx, key, data)
