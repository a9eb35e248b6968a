"""The engine half of leaderboards: keeps the staff board the boards leave out."""

from __future__ import annotations

import attrs

from ..engine import core as engine
from ..events import Event
from .rules import STAFF_METRIC, STAFF_ROLES


def _sets_a_role(event_type: type[Event]) -> bool:
    names = {f.name for f in attrs.fields(event_type)} if attrs.has(event_type) else set()
    return {"member", "role"} <= names


@engine.after_event(on=_sets_a_role)
def _count_staff(ctx: engine.Context) -> None:
    """Keep :data:`STAFF_METRIC` in step with the role of the member an event sets.

    Any event with ``member`` and ``role`` fields (``MemberJoined`` today) is
    checked against the member document it left behind.
    """
    member, role = getattr(ctx.event, "member", None), getattr(ctx.event, "role", None)
    if not isinstance(member, str) or not isinstance(role, str):
        return
    doc = ctx.tx.get("member", member)
    staff = doc is not None and doc.status in STAFF_ROLES
    if staff != bool(ctx.counter(STAFF_METRIC, "all", member)):
        ctx.bump(STAFF_METRIC, member, 1 if staff else -1)
