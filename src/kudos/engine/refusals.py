"""Refusals remembered per event id, so a re-delivered fact gets the same answer.

A host delivering facts at least once may send one event id again after the
state changed (a post reported in between, a period closed): recording it
anew could accept what was first refused, and one fact would have two
outcomes. Payment APIs remember the first response to an idempotency key,
errors included; kudos does the same for the event ids a host gives. A
refused fact is kept in the log as an :class:`~kudos.events.EventRefused`
(changing nothing else), under an id no host id can take, and a later
``record`` of that id with the same content raises the same error again.
``retry=True`` (or a new id) really tries again; a retry refused again is
remembered after the first.

Facts without a host ``event_id`` are keyed by their content: asking again is
asking anew, so their refusals are not remembered.

Two deliveries of one id at once (from two app servers) get one answer: the
check, the recording and the remembering each take the id's lock (the one
appending the event takes, :data:`~kudos.stores.protocol.EVENT_LOCK`), and a
refusal is only kept if the id was not accepted in between: when it was, the
refused delivery answers with that outcome instead.
"""

from __future__ import annotations

from .. import errors
from ..errors import Conflict, KudosError, StoreError
from ..events import Event, EventRefused
from ..model import StoredEvent
from ..stores.protocol import EVENT_LOCK, Transaction
from . import core as engine

# Host ids hold no control characters, so no host id can start with this one.
_PREFIX = "refused\x1f"


def _refusal_id(event_id: str, n: int) -> str:
    return f"{_PREFIX}{event_id}\x1f{n}"


def remembered(error: KudosError) -> bool:
    """Whether a refusal is worth remembering: the facts broke a rule, not the store."""
    return not isinstance(error, StoreError | Conflict)


def _latest(tx: Transaction, event_id: str) -> tuple[int, StoredEvent | None]:
    n, found = 0, None
    while (row := tx.get_event(_refusal_id(event_id, n + 1))) is not None:
        n, found = n + 1, row
    return n, found


def check(tx: Transaction, event: Event) -> None:
    """Raise the remembered refusal of ``event``'s host id, if it has one and was not accepted.

    Raises:
        KudosError: the error first raised, of the same class, saying it is remembered.
        Conflict: the id was refused for different content.
    """
    event_id = event.event_id
    if event_id is None or _accepted(tx, event_id):
        return
    _, row = _latest(tx, event_id)
    if row is None:
        return
    data = row.payload
    if not _same(row, event):
        raise Conflict(
            f"event id {event_id!r} was refused for {data['refused_type']} "
            f"{data['refused_content']}; now it is {event.type} {event.content()}. "
            "Give each distinct fact its own event_id"
        )
    error = getattr(errors, str(data["error"]), KudosError)
    if not (isinstance(error, type) and issubclass(error, KudosError)):
        error = KudosError
    raise error(
        f"{data['message']} (event id {event_id!r} was refused at {row.at.isoformat()}; "
        "a re-delivery gets the same answer: record it with retry=True, or under a new "
        "event_id, to try again)"
    )


def remember(tx: Transaction, event: Event, error: KudosError, *, retry: bool = False) -> bool:
    """Keep ``error`` as the answer to ``event``'s host id (after its transaction rolled back).

    Returns ``False``, keeping nothing, when the id was accepted meanwhile (another
    delivery recorded it between the rollback and now): that outcome is the answer.
    A refusal another delivery kept meanwhile is not kept twice (unless ``retry``).
    """
    assert event.event_id is not None and event.at is not None
    if _accepted(tx, event.event_id):
        return False
    n, row = _latest(tx, event.event_id)
    if row is not None and not retry and row.at == event.at and _same(row, event):
        return True
    refusal = EventRefused(
        refused_id=event.event_id,
        refused_type=event.type,
        refused_content=event.content(),
        error=type(error).__name__,
        message=str(error)[:2000],
        at=event.at,
    )
    tx.append_event(
        StoredEvent(
            event_id=_refusal_id(event.event_id, n + 1),
            type=refusal.type,
            payload=refusal.payload(),
            at=event.at,
        )
    )
    return True


def _accepted(tx: Transaction, event_id: str) -> bool:
    """Whether ``event_id`` is in the log, read under the id's lock (held to the commit,
    the one appending the event takes), so no other delivery of it decides meanwhile."""
    tx.lock((EVENT_LOCK + event_id,))
    return tx.get_event(event_id) is not None


def _same(row: StoredEvent, event: Event) -> bool:
    """Whether the refusal ``row`` was kept for ``event``'s content."""
    data = row.payload
    return bool(data["refused_type"] == event.type and data["refused_content"] == event.content())


@engine.handles(EventRefused)
def _nothing(ctx: engine.Context, event: EventRefused) -> None:
    """A refusal changes no balance, counter or document."""
