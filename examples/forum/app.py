"""A small support forum rewarded by kudos: a runnable example of plugging kudos into a web app.

Members sign in by name, ask questions and propose ideas, reply, give kudos,
accept solutions, refer friends, vote on ideas and choose how to be paid;
they see their standing, statement, the leaderboards, the ideas board and the
payout table. Staff close payback periods, move ideas along and qualify
referrals.

The forum owns its tables (members, topics, replies); kudos keeps its own in
the same database. Every request that changes something runs in one
transaction, ``engine.begin()``: the forum's rows and kudos's events, ledger
and projections commit together, or, when kudos refuses the fact (kudos on
your own reply, say), roll back together.

Run it (SQLite file ``forum.db`` by default, or any PostgreSQL URL)::

    pip install -e '.[forum]'
    python examples/forum/app.py                       # http://127.0.0.1:5000
    python examples/forum/app.py --url postgresql+psycopg://forum@localhost/forum
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import Flask, flash, g, redirect, render_template, request, session, url_for
from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    func,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

import kudos
from kudos.stores.sql import SqlStore, make_metadata

STAFF = ("staff",)
"""Names that sign in as staff (the company's employees)."""

BOARDS = {
    "reputation": "Reputation",
    "solutions": "Solutions",
    "kudos_received": "Kudos received",
    "points": "Points this period",
}


_IN_FORUM_TERMS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"; report them with community\.join\('[^']*'\) first"),
        "; they have not signed in",
    ),
    (re.compile(r"; report it with post_topic\(\) or post_reply\(\) first"), " on this forum"),
    (
        re.compile(
            r"\(see the policy's privileges and community\.standing\('[^']*'\)\.privileges\)"
        ),
        "(your standing page says what you may do, and what the next rank needs)",
    ),
    (re.compile(r"; community\.referral_code\('[^']*'\) returns it"), ""),
    (
        re.compile(
            r"withdraw one \(community\.withdraw_vote\([^)]*\); "
            r"community\.member_votes\([^)]*\) lists them\) or "
        ),
        "",
    ),
]
"""kudos's Python-API advice, said as a forum member would act on it."""


def in_forum_terms(message: str) -> str:
    """A kudos error message with its advice to programmers said in the forum's terms."""
    for pattern, replacement in _IN_FORUM_TERMS:
        message = pattern.sub(replacement, message)
    return message


class Refused(Exception):
    """A form the forum will not take; the message says why."""


NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
POST = re.compile(r"[tr][0-9]{1,30}")


def field(name: str, *, longest: int, required: bool = True) -> str:
    """The form's ``name`` field, stripped; refused when blank (if ``required``),
    longer than ``longest`` characters or holding a NUL character."""
    value = request.form.get(name, "").strip()
    if "\x00" in value:
        raise Refused(f"the {name} field holds a NUL character")
    if required and not value:
        raise Refused(f"the {name} field is empty")
    if len(value) > longest:
        raise Refused(f"the {name} field is longer than {longest:,} characters")
    return value


def plural(n: int, word: str) -> str:
    """``"1 payout"``, ``"2 payouts"``, ``"1,250 points"``."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def forum_tables(prefix: str = "forum_") -> tuple[MetaData, Table, Table, Table, Table]:
    """The forum's own tables: members, topics, replies, and who gave kudos to what."""
    md = MetaData()
    members = Table(
        f"{prefix}members",
        md,
        Column("name", String(64), primary_key=True),
        Column("role", String(16), nullable=False),
        Column("joined_at", DateTime(timezone=True), nullable=False),
    )
    topics = Table(
        f"{prefix}topics",
        md,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("author", String(64), ForeignKey(members.c.name), nullable=False),
        Column("kind", String(16), nullable=False),
        Column("title", String(200), nullable=False),
        Column("body", Text, nullable=False),
        Column("tags", String(200), nullable=False, default=""),
        Column("posted_at", DateTime(timezone=True), nullable=False),
    )
    replies = Table(
        f"{prefix}replies",
        md,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("topic", Integer, ForeignKey(topics.c.id), nullable=False),
        Column("author", String(64), ForeignKey(members.c.name), nullable=False),
        Column("body", Text, nullable=False),
        Column("posted_at", DateTime(timezone=True), nullable=False),
    )
    votes = Table(
        f"{prefix}kudos",
        md,
        Column("post", String(32), primary_key=True),
        Column("giver", String(64), ForeignKey(members.c.name), primary_key=True),
    )
    return md, members, topics, replies, votes


def create_app(
    url: str = "sqlite:///forum.db",
    *,
    policy: kudos.Policy | None = None,
    clock: Callable[[], datetime] | None = None,
    staff: tuple[str, ...] = STAFF,
    table_prefix: str = "forum_",
    kudos_prefix: str = "kudos_",
    secret_key: str | None = None,
) -> Flask:
    """The forum on the database at ``url``; creates the forum's and kudos's tables if missing.

    ``clock`` gives kudos the time (tests pass a :class:`kudos.testing.FakeClock`);
    ``staff`` are the names that sign in as staff.
    """
    app = Flask(__name__, root_path=str(Path(__file__).resolve().parent))
    app.secret_key = secret_key or secrets.token_hex(16)
    engine: Engine = create_engine(url)
    md, members, topics, replies, votes = forum_tables(table_prefix)
    md.create_all(engine)
    kudos_metadata = make_metadata(prefix=kudos_prefix)
    SqlStore(engine, metadata=kudos_metadata).create_all()
    rules = policy or kudos.policies.giffgaff()
    now = clock or (lambda: datetime.now(UTC))
    app.config.update(ENGINE=engine, STAFF=staff)

    @contextmanager
    def transaction() -> Iterator[tuple[Connection, kudos.Community]]:
        """The request's transaction: forum rows and kudos facts commit together."""
        with engine.begin() as conn:
            yield (
                conn,
                kudos.Community(
                    SqlStore(conn, metadata=kudos_metadata), rules, clock=now, cache=None
                ),
            )

    def topic_id(n: int) -> str:
        return f"t{n}"

    def reply_id(n: int) -> str:
        return f"r{n}"

    def money(amount: int) -> str:
        return rules.payback.format(amount)

    zone = ZoneInfo(rules.periods.timezone)

    def first_day(period: Any) -> date:
        """The period's first day in the community's time zone."""
        return period.start.astimezone(zone).date()

    def last_day(period: Any) -> date:
        """The period's last day in the community's time zone (its end is exclusive)."""
        return (period.end.astimezone(zone) - timedelta(microseconds=1)).date()

    app.jinja_env.globals.update(
        money=money,
        topic_id=topic_id,
        reply_id=reply_id,
        boards=BOARDS,
        first_day=first_day,
        last_day=last_day,
        plural=plural,
    )

    @app.before_request
    def who() -> None:
        g.member = session.get("member")
        g.staff = g.member in staff

    def signed_in() -> Response | None:
        if g.member is None:
            flash("Sign in first.")
            return redirect(url_for("signin", next=request.path))
        return None

    def back(default: str) -> Response:
        """Back to the form's ``next`` page: a path on this forum, never another site."""
        target = request.form.get("next") or ""
        local = target.startswith("/") and not target.startswith(("//", "/\\"))
        return redirect(target if local and not urlsplit(target).netloc else default)

    @contextmanager
    def refused_as_message() -> Iterator[None]:
        """A fact kudos refuses rolls the whole request back and is shown to the member.

        So does a form the forum refuses, and a row another request (a double
        click) wrote first.
        """
        try:
            yield
        except kudos.TransientStoreError:
            flash("Not done: the forum is busy right now; nothing was saved, try again.")
        except kudos.KudosError as error:
            flash(f"Not done: {in_forum_terms(str(error))}")
        except Refused as error:
            flash(f"Not done: {error}")
        except IntegrityError:
            flash("Already done: another request did it at the same moment.")

    # -- signing in -------------------------------------------------------------------
    @app.route("/signin", methods=["GET", "POST"])
    def signin() -> Any:
        if request.method == "GET":
            return render_template("signin.html", ref=request.args.get("ref", ""))
        with refused_as_message():
            name = field("name", longest=64).lower()
            if not NAME.fullmatch(name):
                raise Refused(
                    "a name is up to 64 letters, digits, '.', '_' or '-', starting with a "
                    "letter or digit"
                )
            code = field("ref", longest=64, required=False) or None
            for attempt in range(2):  # a double click may sign the same new name in twice
                try:
                    with transaction() as (conn, community):
                        known = conn.execute(
                            select(members.c.name).where(members.c.name == name)
                        ).first()
                        if known is None:
                            role = "staff" if name in staff else "member"
                            conn.execute(
                                insert(members).values(name=name, role=role, joined_at=now())
                            )
                            community.join(name, role=role, referral_code=code)
                except IntegrityError:
                    if attempt:
                        raise
                    continue
                break
            session["member"] = name
            flash(f"Signed in as {name}.")
            return back(url_for("index"))
        return redirect(url_for("signin"))

    @app.post("/signout")
    def signout() -> Response:
        session.pop("member", None)
        return redirect(url_for("index"))

    # -- topics and replies --------------------------------------------------------------
    @app.get("/")
    def index() -> str:
        with engine.connect() as conn:
            rows = conn.execute(
                select(topics, func.count(replies.c.id).label("replies"))
                .outerjoin(replies, replies.c.topic == topics.c.id)
                .group_by(topics.c.id)
                .order_by(topics.c.id.desc())
            ).all()
        return render_template("index.html", topics=rows)

    @app.route("/ask", methods=["GET", "POST"])
    def ask() -> Any:
        if (need := signed_in()) is not None:
            return need
        if request.method == "GET":
            return render_template("ask.html", kind=request.args.get("kind", "question"))
        with refused_as_message(), transaction() as (conn, community):
            title = field("title", longest=200)
            kind = field("kind", longest=16, required=False) or "question"
            tags = field("tags", longest=200, required=False).lower().replace(",", " ").split()
            n = conn.execute(
                insert(topics).values(
                    author=g.member,
                    kind=kind,
                    title=title,
                    body=field("body", longest=20_000, required=False),
                    tags=" ".join(tags),
                    posted_at=now(),
                )
            ).inserted_primary_key[0]
            community.post_topic(topic_id(n), author=g.member, kind=kind, title=title, tags=tags)
            return redirect(url_for("topic", n=n))
        return redirect(url_for("ask"))

    @app.get("/t/<int:n>")
    def topic(n: int) -> Any:
        with transaction() as (conn, community):
            row = conn.execute(select(topics).where(topics.c.id == n)).first()
            if row is None:
                return render_template("missing.html", what=f"topic {n}"), 404
            answers = conn.execute(
                select(replies).where(replies.c.topic == n).order_by(replies.c.id)
            ).all()
            post = community.post(topic_id(n))
            idea = community.idea(topic_id(n)) if row.kind == "idea" else None
            givers: dict[str, list[str]] = {}
            for vote_row in conn.execute(select(votes).order_by(votes.c.giver)):
                givers.setdefault(vote_row.post, []).append(vote_row.giver)
        return render_template(
            "topic.html", topic=row, answers=answers, post=post, idea=idea, givers=givers
        )

    @app.post("/t/<int:n>/reply")
    def reply(n: int) -> Response:
        if (need := signed_in()) is not None:
            return need
        with refused_as_message(), transaction() as (conn, community):
            body = field("body", longest=20_000)
            r = conn.execute(
                insert(replies).values(topic=n, author=g.member, body=body, posted_at=now())
            ).inserted_primary_key[0]
            community.post_reply(reply_id(r), topic=topic_id(n), author=g.member)
        return redirect(url_for("topic", n=n))

    @app.post("/kudos/<post>")
    def give_kudos(post: str) -> Response:
        if (need := signed_in()) is not None:
            return need
        with refused_as_message(), transaction() as (conn, community):
            if not POST.fullmatch(post):
                raise Refused(f"there is no post {post[:40]!r} on this forum")
            # The forum's row and kudos's award commit together: kudos on your own
            # reply is refused, and the row goes with it.
            given = select(votes).where(votes.c.post == post, votes.c.giver == g.member)
            if conn.execute(given).first() is None:
                conn.execute(insert(votes).values(post=post, giver=g.member))
            outcome = community.give_kudos(post, giver=g.member)
            flash("You had already given kudos to that." if outcome.replayed else "Kudos given.")
        return back(url_for("index"))

    @app.post("/t/<int:n>/accept/<int:r>")
    def accept(n: int, r: int) -> Response:
        if (need := signed_in()) is not None:
            return need
        with refused_as_message(), transaction() as (_, community):
            outcome = community.accept_solution(topic_id(n), reply=reply_id(r), by=g.member)
            flash(
                "That reply was already the solution."
                if outcome.replayed
                else "Marked as the solution."
            )
        return redirect(url_for("topic", n=n))

    @app.post("/t/<int:n>/vote")
    def vote(n: int) -> Response:
        if (need := signed_in()) is not None:
            return need
        with refused_as_message(), transaction() as (_, community):
            community.vote_idea(topic_id(n), voter=g.member)
            flash("Vote counted.")
        return back(url_for("topic", n=n))

    # -- members -------------------------------------------------------------------------
    @app.get("/m/<name>")
    def member(name: str) -> Any:
        with refused_as_message(), transaction() as (_, community):
            standing = community.standing(name)
            statement = community.statement(name)
            choice = community.payout_method(name)
            code = community.referral_code(name) if name == g.member else None
            payouts = community.payouts(member=name)
            return render_template(
                "member.html",
                standing=standing,
                lines=list(reversed(statement.lines)),
                choice=choice,
                methods=list(rules.payback.methods),
                charities=rules.payback.charities or ("Macmillan", "Oxfam"),
                code=code,
                payouts=payouts,
            )
        return render_template("missing.html", what=f"member {name}"), 404

    @app.post("/payout-method")
    def payout_method() -> Response:
        if (need := signed_in()) is not None:
            return need
        with refused_as_message(), transaction() as (_, community):
            method = field("method", longest=32)
            charity = field("charity", longest=100) if method == "charity" else None
            community.set_payout_method(g.member, method, charity=charity)
            flash(f"You will be paid by {method}.")
        return redirect(url_for("member", name=g.member))

    # -- boards --------------------------------------------------------------------------
    @app.get("/leaderboards")
    def leaderboards() -> str:
        by = request.args.get("by", "reputation")
        if by not in BOARDS:
            by = "reputation"
        with transaction() as (_, community):
            rows = community.leaderboard(
                by=by, period="current" if by == "points" else None, limit=20
            )
            period = community.current_period()
        return render_template("leaderboards.html", by=by, rows=rows, period=period)

    @app.get("/ideas")
    def ideas() -> str:
        with transaction() as (_, community):
            board = community.idea_board(limit=50)
        return render_template("ideas.html", ideas=board)

    @app.get("/payouts")
    def payouts() -> str:
        with transaction() as (conn, community):
            rows = community.payouts()
            periods = closed_periods(conn, community)
        return render_template("payouts.html", payouts=rows, periods=periods)

    def closed_periods(conn: Connection, community: kudos.Community) -> list[Any]:
        """Every closed period up to the one before the first member joined, oldest first
        (with or without payouts: a period whose every point was carried over is closed too)."""
        first = conn.execute(select(func.min(members.c.joined_at))).scalar()
        if first is None:
            return []
        if first.tzinfo is None:  # SQLite gives back naive UTC
            first = first.replace(tzinfo=UTC)
        found = []
        period = rules.periods.period_of(now())
        while True:
            shown = community.payback_period(period)
            if shown.status == "closed":
                found.append(shown)
            if shown.end <= first:  # ended before anyone joined (the one offered to close too)
                return found[::-1]
            period = rules.periods.previous(period)

    # -- staff ----------------------------------------------------------------------------
    def staff_only() -> Response | None:
        if (need := signed_in()) is not None:
            return need
        if not g.staff:
            flash("Only staff may do that.")
            return redirect(url_for("index"))
        return None

    @app.get("/staff")
    def staff_page() -> Any:
        if (need := staff_only()) is not None:
            return need
        with transaction() as (conn, community):
            current = rules.periods.period_of(now())
            periods = [
                community.payback_period(p) for p in (rules.periods.previous(current), current)
            ]
            idea_rows = conn.execute(select(topics).where(topics.c.kind == "idea")).all()
            ideas_now = [community.idea(topic_id(i.id)) for i in idea_rows]
            pending = [
                r.member for r in community.referrals(status="pending") if r.member is not None
            ]
        return render_template(
            "staff.html",
            periods=periods,
            ideas=ideas_now,
            statuses=rules.ideas.statuses,
            pending=pending,
            now=now(),
        )

    @app.post("/staff/close")
    def close() -> Any:
        if (need := staff_only()) is not None:
            return need
        period = request.form["period"]
        with refused_as_message(), transaction() as (_, community):
            already = community.payback_period(period).status == "closed"
            paid = community.close_period(period, by=g.member)
            total = f"{plural(len(paid), 'payout')}, {money(sum(p.amount for p in paid))}"
            flash(
                f"{period} was already closed ({total}); nothing changed."
                if already
                else f"Closed {period}: {total}."
            )
            return redirect(url_for("payouts"))
        return redirect(url_for("staff_page"))

    @app.post("/staff/idea/<idea>")
    def idea_status(idea: str) -> Response:
        if (need := staff_only()) is not None:
            return need
        with refused_as_message(), transaction() as (_, community):
            community.set_idea_status(idea, request.form["status"], by=g.member)
            flash(f"Idea {idea} is now {request.form['status']}.")
        return redirect(url_for("staff_page"))

    @app.post("/staff/qualify/<name>")
    def qualify(name: str) -> Response:
        if (need := staff_only()) is not None:
            return need
        with refused_as_message(), transaction() as (_, community):
            outcome = community.qualify_referral(name)
            flash(
                f"{name}'s referral had already qualified."
                if outcome.replayed
                else f"{name}'s referral qualified."
            )
        return redirect(url_for("staff_page"))

    return app


def main() -> None:
    """``python examples/forum/app.py``: serve the forum."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--url",
        default=os.environ.get("FORUM_DATABASE_URL", "sqlite:///forum.db"),
        help="database URL (default: sqlite:///forum.db; or postgresql+psycopg://...)",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args()
    create_app(args.url).run(host=args.host, port=args.port)


if __name__ == "__main__":
    main()
