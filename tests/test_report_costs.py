"""A simulation's report costs work in proportion to its ledger lines, not members x lines."""

from __future__ import annotations

from datetime import UTC, datetime

import kudos
from kudos.explain.report import build_report
from kudos.model import LedgerEntry, Standing

AT = datetime(2026, 7, 1, tzinfo=UTC)


class _Counted(str):
    """A member id that counts how often it is compared."""

    compared = 0

    def __eq__(self, other: object) -> bool:
        _Counted.compared += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


def _line(member: str, action: str, amount: int, n: int) -> LedgerEntry:
    return LedgerEntry(
        entry_id=f"e{n}/0",
        member=member,
        account="reputation",
        amount=amount,
        action=action,
        reason="r",
        event_id=f"e{n}",
        subject=None,
        period="2026-H2",
        at=AT,
    )


def test_each_member_is_looked_up_not_compared_with_every_line() -> None:
    members = [_Counted(f"m{i}") for i in range(300)]
    actions = ("kudos_on_reply", "solution_accepted", "reply_posted")
    before = [
        _line(m, a, 5, n) for n, (m, a) in enumerate((m, a) for m in members for a in actions)
    ]
    after = [_line(m, a, 7, n) for n, (m, a) in enumerate((m, a) for m in members for a in actions)]
    standing = {m: Standing(member=m, role="member", period="2026-H2") for m in members}
    _Counted.compared = 0
    report = build_report(
        current=kudos.policies.giffgaff(),
        other=kudos.policies.giffgaff(),
        before=standing,
        after=standing,
        entries_before=before,
        entries_after=after,
        payouts_before=[],
        payouts_after=[],
        rejected=0,
    )
    assert {r.action: (r.reputation, r.members) for r in report.rules} == dict.fromkeys(
        actions, (600, 300)
    )
    # A few comparisons per member (dict lookups that hit), not one per member and line (270,000).
    assert _Counted.compared < 10 * len(members)
