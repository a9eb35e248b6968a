"""The policy as a published table: :meth:`kudos.Policy.describe` and its renderers.

A :class:`PolicyTable` holds every rule of a policy as titled sections of
rows of strings (rewards, dated rules, caps, ranks, badges, privileges,
members and reputation, referrals, ideas, payback conversion and periods,
payout methods, leaderboards and abuse, and the policy's own statement words
over the defaults), ready to print (:meth:`PolicyTable.text`), to publish in
Markdown (:meth:`PolicyTable.markdown`) or on a page (:meth:`PolicyTable.html`).
"""

from __future__ import annotations

import calendar
import html
from collections.abc import Mapping
from typing import Any

import attrs

__all__ = ["PolicySection", "PolicyTable", "describe"]


@attrs.frozen(kw_only=True)
class PolicySection:
    """One titled table of a policy: ``columns`` and ``rows`` of cells (strings).

    >>> PolicySection(title="Caps", columns=("account",), rows=(("points",),)).rows[0][0]
    'points'
    """

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...] = ()
    numeric: tuple[str, ...] = ()
    """The columns holding numbers (right-aligned when printed)."""
    note: str = ""
    """A line printed under the table (e.g. ``"... and 3 more"``), or empty."""

    def text(self) -> str:
        """The section as a plain-text table, its title above."""
        widths = [
            max([len(c)] + [len(r[i]) for r in self.rows]) for i, c in enumerate(self.columns)
        ]

        def row(cells: tuple[str, ...]) -> str:
            return "  ".join(
                cell.rjust(w) if col in self.numeric else cell.ljust(w)
                for cell, w, col in zip(cells, widths, self.columns, strict=True)
            ).rstrip()

        body = [row(self.columns), "  ".join("-" * w for w in widths)]
        body += [row(r) for r in self.rows] or ["(none)"]
        return "\n".join([self.title, *body, *([self.note] if self.note else [])])

    def markdown(self, level: int = 3) -> str:
        """The section as a Markdown heading (``level`` ``#`` s) and table."""

        def row(cells: tuple[str, ...]) -> str:
            return "| " + " | ".join(_md_cell(c) for c in cells) + " |"

        rule = "|" + "|".join("---:" if c in self.numeric else "---" for c in self.columns) + "|"
        lines = [f"{'#' * level} {self.title}", ""]
        lines += [row(self.columns), rule, *(row(r) for r in self.rows)] if self.rows else ["none"]
        if self.note:
            lines += ["", md_text(self.note)]
        return "\n".join(lines)

    def html(self) -> str:
        """The section as an HTML heading and ``<table>`` (every cell escaped)."""
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in self.rows
        )
        note = f"\n<p>{html.escape(self.note)}</p>" if self.note else ""
        return (
            f"<h3>{html.escape(self.title)}</h3>\n"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}"
        )


def _md_cell(cell: str) -> str:
    """A Markdown table cell: bars escaped, raw HTML (a template's ``<b>``) shown as text."""
    return md_text(cell).replace("|", "\\|")


def md_text(text: str) -> str:
    """``text`` safe in Markdown: ``&`` and ``<`` escaped, so raw HTML shows as text."""
    return text.replace("&", "&amp;").replace("<", "&lt;")


@attrs.frozen(kw_only=True)
class PolicyTable:
    """A whole policy as :class:`PolicySection` s, from :meth:`kudos.Policy.describe`.

    >>> import kudos
    >>> table = kudos.policies.giffgaff().describe()
    >>> table.section("Caps").rows[0][:3]
    ('points', 'month', '1,500')
    """

    policy: str
    sections: tuple[PolicySection, ...]

    def section(self, title: str) -> PolicySection:
        """The section titled ``title``.

        Raises:
            KeyError: no section has that title.
        """
        for s in self.sections:
            if s.title == title:
                return s
        raise KeyError(f"no section {title!r}; sections: {', '.join(self.titles())}")

    def titles(self) -> tuple[str, ...]:
        """The sections' titles, in order."""
        return tuple(s.title for s in self.sections)

    def text(self) -> str:
        """The policy as plain-text tables."""
        return "\n\n".join([f"Policy {self.policy!r}", *(s.text() for s in self.sections)]) + "\n"

    def markdown(self, level: int = 3, *, heading: bool = True) -> str:
        """The policy as Markdown: one heading (``level`` ``#`` s) and table per section.

        With ``heading`` (the default) it starts with a heading one level up
        naming the policy (``## Policy 'giffgaff'``); a page that has its own
        heading passes ``heading=False``. Raw HTML in a cell is escaped.
        """
        top = [f"{'#' * max(level - 1, 1)} Policy {self.policy!r}"] if heading else []
        return "\n\n".join([*top, *(s.markdown(level) for s in self.sections)]) + "\n"

    def html(self) -> str:
        """The policy as HTML: an ``<h2>`` naming it, then headings and tables (all escaped)."""
        top = f"<h2>Policy {html.escape(repr(self.policy))}</h2>"
        return "\n".join([top, *(s.html() for s in self.sections)]) + "\n"


def describe(policy: Any) -> PolicyTable:
    """``policy`` (a :class:`kudos.Policy`) as a :class:`PolicyTable`.

    What :meth:`kudos.Policy.describe` returns; typed loosely because the policy
    module imports this one (and the layout has no import circle).
    """
    rec = policy.recognition
    money = policy.payback
    sections = [
        PolicySection(
            title="Rewards",
            columns=("action", "points", "reputation"),
            rows=tuple(
                (action, f"{r.points:+,}", f"{r.reputation:+,}")
                for action, r in policy.rewards.items()
            ),
            numeric=("points", "reputation"),
        ),
        PolicySection(
            title="Dated rules",
            columns=("action", "before", "points", "reputation"),
            rows=tuple(
                (action, w.until, f"{w.points:+,}", f"{w.reputation:+,}")
                for action, r in policy.rewards.items()
                for w in r.was
            ),
            numeric=("points", "reputation"),
        ),
        PolicySection(
            title="Caps",
            columns=("account", "per", "limit", "actions"),
            rows=tuple(
                (c.account, c.per, f"{c.limit:,}", ", ".join(c.actions) or "all")
                for c in policy.caps
            ),
            numeric=("limit",),
        ),
        PolicySection(
            title="Members and reputation",
            columns=("rule", "value"),
            rows=(
                ("staff earn", _yes(policy.staff_earn)),
                ("down-votes", _yes(policy.down_votes)),
                ("reputation to give kudos", f"{policy.min_reputation_to_give_kudos:,}"),
                ("reputation to down-vote", f"{policy.min_reputation_to_down_vote:,}"),
                ("accepting your own reply earns", _yes(policy.self_accept_rewards)),
                ("reputation at the start", f"{policy.reputation_start:,}"),
                (
                    "reputation floor",
                    "none" if policy.reputation_floor is None else f"{policy.reputation_floor:,}",
                ),
            ),
        ),
        PolicySection(
            title="Ranks",
            columns=("rank", "requires"),
            rows=tuple((r.name, _requirements(r.requires)) for r in rec.ranks),
        ),
        PolicySection(
            title="Badges",
            columns=("badge", "earned for"),
            rows=tuple((b.name, _badge_rule(b)) for b in rec.badges),
        ),
        PolicySection(
            title="Privileges",
            columns=("privilege", "requires"),
            rows=tuple((p.name, _needs(p.requires, p.rank)) for p in rec.privileges),
        ),
        PolicySection(
            title="Referrals",
            columns=("rule", "value"),
            rows=_settings(policy.referrals, skip=("bonuses",))
            + tuple(
                (f"bonus for referral #{b.nth} per {b.per}", _points_rep(b.points, b.reputation))
                for b in policy.referrals.bonuses
            ),
        ),
        PolicySection(title="Ideas", columns=("rule", "value"), rows=_settings(policy.ideas)),
    ]
    rate = money.rate
    conversion = [
        ("paid out", _yes(money.enabled)),
        ("rate", f"{_plural(rate.points, 'point')} = {money.format(rate.minor_units)}"),
        ("rounding", money.rounding),
        ("minimum", money.format(money.minimum) if money.minimum else "none"),
        ("maximum", money.format(money.maximum) if money.maximum else "none"),
        ("below the minimum", money.below_minimum),
        ("carried over at most", _plural(money.carry_overs, "time")),
        ("default method", money.default_method or "none (members choose)"),
    ]
    conversion += [(f"bonus over {t.above:,} points", f"+{t.percent}%") for t in money.bonus_tiers]
    periods = policy.periods
    sections += [
        PolicySection(
            title="Payback conversion", columns=("rule", "value"), rows=tuple(conversion)
        ),
        PolicySection(
            title="Payback periods",
            columns=("rule", "value"),
            rows=(
                ("kind", periods.kind),
                ("first month", calendar.month_name[periods.start_month]),
                ("time zone", periods.timezone),
                *(
                    (f"named {r.id}", f"{r.start:%Y-%m-%d} to {r.end:%Y-%m-%d}")
                    for r in periods.ranges
                ),
            ),
        ),
        PolicySection(
            title="Payout methods",
            columns=("method", "minimum", "uplift", "match", "fallback"),
            rows=tuple(
                (
                    name,
                    money.format(m.minimum),
                    f"{m.uplift_percent}%",
                    f"{m.match_percent}%",
                    m.fallback or "-",
                )
                for name, m in money.methods.items()
            ),
            numeric=("minimum", "uplift", "match"),
        ),
    ]
    sections += [
        PolicySection(
            title="Leaderboards and abuse",
            columns=("rule", "value"),
            rows=(
                *_settings(policy.leaderboards),
                (
                    "serial voting from (votes a day, one member to another)",
                    _value(policy.abuse.serial_votes),
                ),
            ),
        ),
        PolicySection(
            title="Statement words",
            columns=("template", "words"),
            rows=tuple((key, template) for key, template in policy.texts.items()),
        ),
    ]
    return PolicyTable(policy=policy.name, sections=tuple(sections))


_FIRST = {
    "member-joined": "joining",
    "topic-posted": "topic posted",
    "reply-posted": "reply posted",
    "kudos-given": "kudos given",
    "kudos-withdrawn": "kudos withdrawn",
    "down-voted": "down-vote cast",
    "down-vote-withdrawn": "down-vote withdrawn",
    "solution-accepted": "solution accepted (as the asker)",
    "solution-unaccepted": "solution unaccepted",
    "idea-voted": "vote on an idea",
    "idea-vote-withdrawn": "idea vote withdrawn",
}
"""How a ``first`` badge rule's event type reads."""


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _points_rep(points: int, reputation: int) -> str:
    return f"{points:+,} points, {reputation:+,} reputation"


def _requirements(requires: Mapping[str, int]) -> str:
    return ", ".join(f"{n:,} {metric.replace('_', ' ')}" for metric, n in requires.items()) or "-"


def _needs(requires: Mapping[str, int], rank: str | None) -> str:
    parts = [_requirements(requires)] if requires else []
    parts += [f"rank {rank}"] if rank else []
    return ", ".join(parts) or "-"


def _badge_rule(badge: Any) -> str:
    if badge.first:
        return f"the first {_FIRST.get(badge.first, badge.first + ' event')}"
    if badge.reply_within_minutes is not None:
        return f"a reply within {badge.reply_within_minutes} minutes of a question"
    what = (badge.metric or f"custom rule {badge.custom}").replace("_", " ")
    if badge.levels:
        return f"{what}: " + ", ".join(f"{level} {n:,}" for level, n in badge.levels.items())
    if badge.threshold == 1:  # "1 idea implemented", not "1 ideas implemented"
        first, _, rest = what.partition(" ")
        what = (first[:-1] if first.endswith("s") else first) + (f" {rest}" if rest else "")
    return f"{badge.threshold:,} {what}"


def _settings(rules: Any, skip: tuple[str, ...] = ()) -> tuple[tuple[str, str], ...]:
    """Every setting of an attrs rules section, as ``(name in words, value in words)``."""
    return tuple(
        (f.name.replace("_", " "), _value(getattr(rules, f.name)))
        for f in attrs.fields(type(rules))
        if f.name not in skip
    )


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return _yes(value)
    if value is None:
        return "none"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {_value(v)}" for k, v in value.items()) or "none"
    if isinstance(value, tuple | list | frozenset | set):
        return ", ".join(_value(v) for v in value) or "none"
    return str(value)
