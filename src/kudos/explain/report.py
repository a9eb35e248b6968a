"""The diff before a change: what :meth:`kudos.Community.simulate` would do, member by member.

A :class:`SimulationReport` compares every member's standing and payouts now
and under the other policy, sorts members by how much they move, totals the
moves (members moved, points and money moved, ranks gained and lost) and names
the rules (ledger actions) behind them. Render it with
:meth:`SimulationReport.text` or :meth:`SimulationReport.markdown`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import attrs

from ..model import Doc, LedgerEntry, Standing
from ..payback.rules import SETTLEMENT_ACTIONS, PaybackRules
from .table import PolicySection, md_text

if TYPE_CHECKING:
    from ..policy import Policy

__all__ = ["MemberImpact", "Refusal", "RuleImpact", "SimulationReport", "build_report"]

CLOSE_EVENT = "period-closed"
"""The event type of a period's close: a refused one leaves that period unpaid."""


@attrs.frozen(kw_only=True)
class Refusal:
    """An event the other policy refuses: its id, type (``kind``) and the reason given.

    ``period`` is the period a refused close (``kind`` ``"period-closed"``) names, else ``None``.
    """

    event_id: str
    kind: str
    reason: str
    period: str | None = None


@attrs.frozen(kw_only=True)
class MemberImpact:
    """One member now and under the other policy.

    Points are lifetime points (net of reversals); ``payout_*`` are the money
    (minor units) their payouts of closed periods came to; badges are names
    with level. ``rule`` is the action that moved them most, or ``None``.
    """

    member: str
    points_before: int
    points_after: int
    reputation_before: int
    reputation_after: int
    rank_before: str | None
    rank_after: str | None
    badges_gained: tuple[str, ...] = ()
    badges_lost: tuple[str, ...] = ()
    payout_before: int = 0
    payout_after: int = 0
    payout_refused: int = 0
    """Money (minor units) paid today in periods whose close the other policy
    refuses: not compared, so not counted as money moved."""
    rule: str | None = None

    @property
    def points(self) -> int:
        """Change in lifetime points."""
        return self.points_after - self.points_before

    @property
    def reputation(self) -> int:
        """Change in reputation."""
        return self.reputation_after - self.reputation_before

    @property
    def money(self) -> int:
        """Change in money paid out, in minor units."""
        return self.payout_after - self.payout_before

    @property
    def impact(self) -> int:
        """How far the member moves: the sum of the absolute changes (the sort key)."""
        return abs(self.points) + abs(self.reputation) + abs(self.money)

    @property
    def moved(self) -> bool:
        """Whether anything of the member's changes (ranks and badges included)."""
        return bool(
            self.impact
            or self.payout_refused
            or self.rank_before != self.rank_after
            or self.badges_gained
            or self.badges_lost
        )


@attrs.frozen(kw_only=True)
class RuleImpact:
    """What one rule (a ledger action) changes in total, and for how many members."""

    action: str
    points: int
    reputation: int
    members: int


@attrs.frozen(kw_only=True)
class SimulationReport:
    """Every member's move under another policy, largest move first, with totals.

    Attributes:
        policy: the other policy's name; ``current``: this one's.
        money: the other policy's payback rules (its currency formats the money).
        members: the members who move, largest :attr:`MemberImpact.impact` first
            (|points| + |reputation| + |money in minor units|, each the change
            from before to after; ties by member id). For a payback period
            already closed, the money after is what the other policy would have
            paid at that close; a real retroactive change books its points now,
            in the open period, and closed payouts stay paid.
        members_moved: how many move.
        points_moved: the sum of the absolute changes in lifetime points.
        reputation_moved: the same for reputation.
        money_moved: the same for payouts, in minor units, over the periods
            both policies close (a refused close is not money saved).
        ranks_gained: members whose rank would go up; ``ranks_lost``: down.
        rules: the rules responsible, largest absolute change first.
        rejected: how many events the other policy would refuse.
        refusals: those events, in log order (:class:`Refusal`).
        effective: for a preview of a change from a time on
            (``simulate(effective=...)``), that time (timezone-aware); ``None``:
            the other policy as if always in force.
        retroactive: with ``effective``: whether the previewed change is retroactive.
    """

    policy: str
    current: str
    money: PaybackRules = attrs.field(repr=False)
    members: tuple[MemberImpact, ...]
    members_moved: int
    points_moved: int
    reputation_moved: int
    money_moved: int
    ranks_gained: int
    ranks_lost: int
    rules: tuple[RuleImpact, ...]
    rejected: int = 0
    refusals: tuple[Refusal, ...] = ()
    effective: datetime | None = None
    retroactive: bool = False

    @property
    def when(self) -> str:
        """From when the preview applies the other policy, as the title ends:
        ``""`` (always), else e.g. ``", from 2026-06-01 00:00 UTC, retroactive"``
        or ``", from 2026-06-01 00:00 UTC, not retroactive"``."""
        if self.effective is None:
            return ""
        return f", from {self.effective.astimezone(UTC):%Y-%m-%d %H:%M} UTC, " + (
            "retroactive" if self.retroactive else "not retroactive"
        )

    @property
    def title(self) -> str:
        """``"Under 'new' instead of 'giffgaff'"``; ``"Under 'giffgaff' (both policies
        have that name)"``; with :attr:`effective`, followed by :attr:`when`."""
        if self.policy == self.current:
            return f"Under {self.policy!r} (both policies have that name)" + self.when
        return f"Under {self.policy!r} instead of {self.current!r}" + self.when

    @property
    def refused_kinds(self) -> tuple[tuple[str, int], ...]:
        """``(event type, how many)`` of the refused events, most first (ties by type)."""
        counts = Counter(r.kind for r in self.refusals)
        return tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    @property
    def refused_closes(self) -> tuple[str, ...]:
        """The periods whose close the other policy refuses (their payouts are not compared)."""
        return tuple(r.period or r.event_id for r in self.refusals if r.kind == CLOSE_EVENT)

    def summary(self) -> tuple[str, ...]:
        """Sentences to read before the tables: that the previewed retroactive change would
        be refused (when it refuses any event), and the refused closes, said plainly."""
        said: tuple[str, ...] = ()
        if self.effective is not None and self.retroactive and self.refusals:
            first = self.refusals[0]
            said = (
                "change_policy() with these arguments would refuse this change: its "
                f"recalculation stops at event {first.event_id!r} ({first.kind}), which "
                f"{self.policy!r} refuses ({first.reason}). Nothing would be booked; make the "
                "change effective after that event, or not retroactive.",
            )
        if not self.refused_closes:
            return said
        closes = ", ".join(self.refused_closes)
        refused = sum(m.payout_refused for m in self.members)
        today = (
            f"The {self.money.format(refused)} paid today for it is not compared, "
            "and not counted as money moved."
            if refused
            else "Nothing was paid for it today either."
        )
        return (
            *said,
            f"{self.policy!r} refuses the close of {closes}: under it "
            f"{'that period is' if len(self.refused_closes) == 1 else 'those periods are'} "
            f"not closed and nothing is paid. {today}",
        )

    def sections(self, limit: int | None = None) -> tuple[PolicySection, ...]:
        """The report as titled tables: totals, members (at most ``limit``), rules,
        and the refused events by type when there are any.

        Raises:
            ValueError: ``limit`` is negative.
        """
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be 0 or more, got {limit}")
        shown = self.members if limit is None else self.members[:limit]
        hidden = len(self.members) - len(shown)
        totals = PolicySection(
            title=self.title,
            columns=("total", "value"),
            rows=(
                ("members moved", f"{self.members_moved:,}"),
                ("points moved", f"{self.points_moved:,}"),
                ("reputation moved", f"{self.reputation_moved:,}"),
                ("money moved", self.money.format(self.money_moved)),
                ("ranks gained", f"{self.ranks_gained:,}"),
                ("ranks lost", f"{self.ranks_lost:,}"),
                ("events refused", f"{self.rejected:,}"),
                ("closes refused", ", ".join(self.refused_closes) or "none"),
            ),
            numeric=("value",),
        )
        members = PolicySection(
            title="Members, largest move first",
            columns=("member", "points", "reputation", "rank", "badges", "payout", "mostly"),
            rows=tuple(
                (
                    m.member,
                    _move(m.points_before, m.points_after),
                    _move(m.reputation_before, m.reputation_after),
                    "-"
                    if m.rank_before == m.rank_after
                    else f"{m.rank_before or '-'} -> {m.rank_after or '-'}",
                    _badges(m),
                    self._payout(m),
                    m.rule or "-",
                )
                for m in shown
            ),
            note=f"... and {hidden:,} more" if hidden else "",
        )
        rules = PolicySection(
            title="Rules responsible",
            columns=("rule", "points", "reputation", "members"),
            rows=tuple(
                (r.action, f"{r.points:+,}", f"{r.reputation:+,}", f"{r.members:,}")
                for r in self.rules
            ),
            numeric=("points", "reputation", "members"),
        )
        if not self.refusals:
            return (totals, members, rules)
        example: dict[str, Refusal] = {}
        for r in self.refusals:
            example.setdefault(r.kind, r)
        refused = PolicySection(
            title=f"Refused under {self.policy!r}",
            columns=("event", "count", "for example"),
            rows=tuple(
                (kind, f"{n:,}", f"{example[kind].event_id}: {example[kind].reason}")
                for kind, n in self.refused_kinds
            ),
            numeric=("count",),
        )
        return (totals, members, rules, refused)

    def _payout(self, m: MemberImpact) -> str:
        parts = []
        if m.money:
            parts.append(
                f"{self.money.format(m.payout_before)} -> {self.money.format(m.payout_after)}"
            )
        if m.payout_refused:
            parts.append(f"{self.money.format(m.payout_refused)} in a refused close")
        return "; ".join(parts) or "-"

    def text(self, limit: int | None = 20) -> str:
        """The report as plain-text tables (the ``limit`` largest moves; ``None``: all).

        Raises:
            ValueError: ``limit`` is negative.
        """
        parts = [*self.summary(), *(s.text() for s in self.sections(limit))]
        return "\n\n".join(parts) + "\n"

    def markdown(self, limit: int | None = 20) -> str:
        """The report as Markdown: a heading naming both policies, then its tables.

        Raises:
            ValueError: ``limit`` is negative.
        """
        sections = self.sections(limit)
        parts = [f"## {md_text(self.title)}", *(md_text(x) for x in self.summary())]
        parts += [sections[0].markdown().replace(f"### {self.title}", "### Totals", 1)]
        parts += [s.markdown() for s in sections[1:]]
        return "\n\n".join(parts) + "\n"


def build_report(
    *,
    current: Policy,
    other: Policy,
    before: Mapping[str, Standing],
    after: Mapping[str, Standing],
    entries_before: Iterable[LedgerEntry],
    entries_after: Iterable[LedgerEntry],
    payouts_before: Sequence[Doc],
    payouts_after: Sequence[Doc],
    rejected: int | Sequence[Refusal],
    effective: datetime | None = None,
    retroactive: bool = False,
) -> SimulationReport:
    """Compare two ledgers and their standings into a :class:`SimulationReport`.

    ``effective`` and ``retroactive`` say what the preview applied (the
    report's :attr:`~SimulationReport.title` says it).

    ``rejected`` is the refused events (or, as before, only their number). The
    payouts of periods whose close is refused are left out of both sides and
    reported as :attr:`MemberImpact.payout_refused`.
    """
    refusals = tuple(rejected) if not isinstance(rejected, int) else ()
    unclosed = {r.period for r in refusals if r.kind == CLOSE_EVENT and r.period}
    # What each rule moved, by member and action: {member: {action: {account: amount}}}.
    by_rule: defaultdict[str, defaultdict[str, Counter[str]]] = defaultdict(
        lambda: defaultdict(Counter)
    )
    for sign, entries in ((-1, entries_before), (1, entries_after)):
        for e in entries:
            if e.action in SETTLEMENT_ACTIONS:
                continue  # paying out is a consequence, shown as money, not a rule
            by_rule[e.member][e.action][e.account] += sign * e.amount
    paid_before, paid_after = _paid(payouts_before, unclosed), _paid(payouts_after, unclosed)
    refused_paid = _paid([d for d in payouts_before if d.data.get("period") in unclosed])
    ladder = other.recognition
    impacts = []
    for member in sorted(set(before) & set(after)):
        b, a = before[member], after[member]
        moves = {
            action: abs(c["points"]) + abs(c["reputation"])
            for action, c in by_rule.get(member, {}).items()
            if c["points"] or c["reputation"]
        }
        impact = MemberImpact(
            member=member,
            points_before=b.lifetime_points,
            points_after=a.lifetime_points,
            reputation_before=b.reputation,
            reputation_after=a.reputation,
            rank_before=b.rank,
            rank_after=a.rank,
            badges_gained=tuple(x for x in a.badges if x not in b.badges),
            badges_lost=tuple(x for x in b.badges if x not in a.badges),
            payout_before=paid_before.get(member, 0),
            payout_after=paid_after.get(member, 0),
            payout_refused=refused_paid.get(member, 0),
            rule=max(sorted(moves), key=lambda k: moves[k]) if moves else None,
        )
        if impact.moved:
            impacts.append(impact)
    impacts.sort(key=lambda m: (-m.impact, m.member))
    gained = lost = 0
    for m in impacts:
        if m.rank_before == m.rank_after:
            continue
        was, now = ladder.rank_index(m.rank_before), ladder.rank_index(m.rank_after)
        # The ladder lists the highest rank first: a smaller index is a higher rank.
        if now is not None and (was is None or now < was):
            gained += 1
        else:
            lost += 1
    totals: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for actions in by_rule.values():
        for action, c in actions.items():
            if c["points"] or c["reputation"]:
                totals[action].update({"points": c["points"], "reputation": c["reputation"]})
                totals[action]["members"] += 1
    rules = sorted(
        (
            RuleImpact(
                action=action,
                points=c["points"],
                reputation=c["reputation"],
                members=c["members"],
            )
            for action, c in totals.items()
            if c["points"] or c["reputation"]
        ),
        key=lambda r: (-(abs(r.points) + abs(r.reputation)), r.action),
    )
    return SimulationReport(
        policy=other.name,
        current=current.name,
        money=other.payback,
        members=tuple(impacts),
        members_moved=len(impacts),
        points_moved=sum(abs(m.points) for m in impacts),
        reputation_moved=sum(abs(m.reputation) for m in impacts),
        money_moved=sum(abs(m.money) for m in impacts),
        ranks_gained=gained,
        ranks_lost=lost,
        rules=tuple(rules),
        rejected=rejected if isinstance(rejected, int) else len(refusals),
        refusals=refusals,
        effective=effective,
        retroactive=retroactive if effective is not None else False,
    )


def _paid(payouts: Sequence[Doc], leave_out: Iterable[str] = ()) -> dict[str, int]:
    out: Counter[str] = Counter()
    left_out = set(leave_out)
    for doc in payouts:
        if doc.status != "failed" and doc.data.get("period") not in left_out:
            out[str(doc.data["member"])] += int(doc.data["amount"])
    return dict(out)


def _move(before: int, after: int) -> str:
    return f"{before:,}" if before == after else f"{before:,} -> {after:,} ({after - before:+,})"


def _badges(m: MemberImpact) -> str:
    parts = [f"+{b}" for b in m.badges_gained] + [f"-{b}" for b in m.badges_lost]
    return ", ".join(parts) or "-"
