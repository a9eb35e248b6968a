"""The engine half of leaderboards: keeps the staff board the boards leave out."""

from __future__ import annotations

from ..engine import core as engine
from .rules import STAFF_METRIC, STAFF_ROLES


@engine.after_event
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
