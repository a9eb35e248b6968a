"""Every statement line in words, for every action of both presets, on every store."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kudos
from kudos import Community, InvalidPolicy, Policy, Reward
from kudos.explain.lines import amount_words
from kudos.explain.texts import DEFAULT_TEXTS, PLACEHOLDERS
from kudos.model import StatementLine
from kudos.stores.memory import MemoryStore
from kudos.stores.protocol import Store
from kudos.testing import FakeClock


@pytest.fixture(params=["memory_store", "sqlite_store", "postgres_store"])
def store(request: pytest.FixtureRequest) -> Store:
    found: Store = request.getfixturevalue(request.param)
    return found


def texts(c: Community, member: str) -> list[str]:
    return [str(line) for line in c.statement(member).lines]


def giffgaff_season(store: Store) -> Community:
    clock = FakeClock(datetime(2026, 3, 3, 9, tzinfo=UTC))
    c = Community(store=store, policy=kudos.policies.giffgaff(), clock=clock)
    for name in ("alice", "bob", "carol", "erin", "spammer"):
        c.join(name)
    c.join("dan", referred_by="alice")
    c.join("staff1", role="staff")
    c.post_topic("t1", author="bob", title="No data abroad")
    c.post_reply("r1", topic="t1", author="alice")
    c.give_kudos("r1", giver="carol")
    c.give_kudos("t1", giver="carol")
    c.accept_solution("t1", reply="r1", by="bob")
    clock.advance(days=2)
    c.withdraw_kudos("r1", giver="carol")
    c.unaccept_solution("t1", by="bob")
    c.qualify_referral("dan")
    c.post_topic("i1", author="erin", kind="idea", title="eSIM support")
    c.set_idea_status("i1", "planned", by="staff1")
    c.set_idea_status("i1", "implemented", by="staff1")
    c.adjust("carol", points=100, reason="meet-up host", by="staff1")
    c.post_reply("r9", topic="t1", author="spammer")
    c.give_kudos("r9", giver="bob")
    c.remove_post("r9", by="staff1", reason="spam")
    # 30 accepted solutions reach the 1,500 points a month cap; the 31st earns nothing.
    for n in range(31):
        c.post_topic(f"q{n}", author="bob", title=f"Question {n}")
        c.post_reply(f"a{n}", topic=f"q{n}", author="carol")
        c.accept_solution(f"q{n}", reply=f"a{n}", by="bob")
    return c


def test_every_giffgaff_action_reads_as_a_sentence(store: Store) -> None:
    c = giffgaff_season(store)
    alice, bob, carol = texts(c, "alice"), texts(c, "bob"), texts(c, "carol")
    assert alice == [
        '+5 points: carol gave kudos to your reply in "No data abroad"',
        '+1 reputation: carol gave kudos to your reply in "No data abroad"',
        '+50 points: your reply in "No data abroad" was accepted as the solution',
        '+10 reputation: your reply in "No data abroad" was accepted as the solution',
        '\u22125 points: carol withdrew the kudos given on 3 March in "No data abroad"',
        '\u22121 reputation: carol withdrew the kudos given on 3 March in "No data abroad"',
        '\u221250 points: the solution of "No data abroad" was unaccepted',
        '\u221210 reputation: the solution of "No data abroad" was unaccepted',
        "+500 points: your referral dan qualified",
        "+10 reputation: your referral dan qualified",
        "+500 points: referral bonus: your referral dan qualified",
    ]
    assert bob[:4] == [
        '+1 point: carol gave kudos to your question "No data abroad"',
        '+1 reputation: carol gave kudos to your question "No data abroad"',
        '+5 points: you accepted alice\'s reply as the solution of "No data abroad"',
        '\u22125 points: you unaccepted the solution of "No data abroad"',
    ]
    assert texts(c, "dan")[:2] == ["+500 points: welcome bonus: you joined on alice's referral"]
    assert texts(c, "erin") == [
        '+100 points: your idea "eSIM support" is planned',
        '+10 reputation: your idea "eSIM support" is planned',
        '+500 points: your idea "eSIM support" was implemented',
        '+50 reputation: your idea "eSIM support" was implemented',
    ]
    assert texts(c, "spammer") == [
        '+5 points: bob gave kudos to your reply in "No data abroad"',
        '+1 reputation: bob gave kudos to your reply in "No data abroad"',
        '\u22125 points: your reply in "No data abroad" was removed (spam)',
        '\u22121 reputation: your reply in "No data abroad" was removed (spam)',
        '\u221250 reputation: your reply in "No data abroad" was removed (spam)',
    ]
    assert carol[0] == "+100 points: staff1 adjusted your balance: meet-up host"
    assert carol[-2:] == [
        '0 points: capped (1,500 points per month reached): your reply in "Question 30" '
        "was accepted as the solution",
        '+10 reputation: your reply in "Question 30" was accepted as the solution',
    ]


def test_settlement_lines_say_what_the_close_did(memory_store: Store) -> None:
    c = giffgaff_season(memory_store)
    c.clock.set(datetime(2026, 6, 2, 9, tzinfo=UTC))  # type: ignore[attr-defined]
    c.set_payout_method("carol", "cash")
    c.close_period("2026-H1", by="staff1")
    assert texts(c, "carol")[-1] == "\u22121,600 points: payout of 2026-H1: £16.00 as cash"
    assert texts(c, "alice")[-1] == (
        "+1,000 points: carried over from 2026-H1: no payout method was chosen"
    )


def stackexchange_site(store: Store) -> Community:
    clock = FakeClock(datetime(2026, 3, 3, 9, tzinfo=UTC))
    c = Community(store=store, policy=kudos.policies.stackexchange(), clock=clock)
    for name in ("alice", "bob", "carol", "dave"):
        c.join(name)
    c.join("mod", role="moderator")
    c.grant_association_bonus("carol")
    c.adjust("carol", reputation=100, reason="seed", by="mod")
    c.adjust("bob", reputation=200, reason="seed", by="mod")
    c.post_topic("t1", author="bob", title="eSIM")
    c.post_reply("r1", topic="t1", author="alice")
    c.post_reply("r2", topic="t1", author="dave")
    c.give_kudos("r1", giver="carol")
    c.give_kudos("t1", giver="carol")
    c.down_vote("r2", voter="carol")
    c.down_vote("r2", voter="bob")
    clock.advance(days=1)
    c.withdraw_kudos("r1", giver="carol")
    c.accept_solution("t1", reply="r1", by="bob")
    c.offer_bounty("b1", topic="t1", by="bob", amount=50)
    c.award_bounty("b1", reply="r1")
    c.approve_edit("e1", post="t1", member="dave")
    return c


def test_every_stackexchange_action_reads_as_a_sentence(store: Store) -> None:
    c = stackexchange_site(store)
    assert texts(c, "alice") == [
        "+1 reputation: starting reputation",
        '+10 reputation: your answer in "eSIM" was up-voted',
        '\u221210 reputation: an up-vote of 3 March in "eSIM" was withdrawn',
        '+15 reputation: your answer in "eSIM" was accepted',
        '+50 reputation: you were awarded the bounty on "eSIM"',
    ]
    assert texts(c, "dave") == [
        "+1 reputation: starting reputation",
        '0 reputation: your answer in "eSIM" was down-voted '
        "(2 absorbed by the reputation floor of 1)",
        '0 reputation: your answer in "eSIM" was down-voted '
        "(2 absorbed by the reputation floor of 1)",
        '+2 reputation: your suggested edit of "eSIM" was approved',
    ]
    carol = texts(c, "carol")
    assert carol[1:3] == [
        "+100 reputation: association bonus: an account in good standing elsewhere on the network",
        "+100 reputation: mod adjusted your balance: seed",
    ]
    assert carol[-1] == '\u22121 reputation: you down-voted an answer in "eSIM"'
    bob = texts(c, "bob")
    assert '+10 reputation: your question "eSIM" was up-voted' in bob
    assert '+2 reputation: you accepted alice\'s answer to "eSIM"' in bob
    assert '\u221250 reputation: you offered a bounty on "eSIM"' in bob


def test_a_statement_line_is_the_ledger_entry_with_its_words(memory_store: Store) -> None:
    c = giffgaff_season(memory_store)
    line = c.statement("alice").lines[0]
    assert isinstance(line, StatementLine)
    assert line.text == str(line) and line.entry() == c.ledger(event_id=line.event_id)[0]


def test_a_policy_overrides_the_words_of_a_line(memory_store: Store) -> None:
    policy = Policy(
        rewards={"kudos_on_reply": Reward(points=5)},
        texts={"kudos_on_reply": "{actor} a aimé votre réponse dans « {title} »"},
    )
    c = Community(store=memory_store, policy=policy)
    c.join("ann")
    c.join("bea")
    c.post_topic("t1", author="ann", title="Pas de données")
    c.post_reply("r1", topic="t1", author="bea")
    c.give_kudos("r1", giver="ann")
    assert texts(c, "bea") == ["+5 points: ann a aimé votre réponse dans « Pas de données »"]


def test_texts_load_from_toml_and_bad_templates_name_their_key() -> None:
    policy = Policy.from_toml('[texts]\nkudos_on_reply = "{actor} liked it"\n')
    assert policy.text("kudos_on_reply") == "{actor} liked it"
    assert policy.text("payout") == DEFAULT_TEXTS["payout"]
    with pytest.raises(
        InvalidPolicy, match=r"texts\.kudos_on_reply: unknown placeholder \{giver\}"
    ):
        Policy.from_toml('[texts]\nkudos_on_reply = "{giver} liked it"\n')
    with pytest.raises(InvalidPolicy, match=r"texts: unknown key 'kudos_on_replies'"):
        Policy.from_toml('[texts]\nkudos_on_replies = "{actor} liked it"\n')
    with pytest.raises(InvalidPolicy, match=r"texts\.payout: the template does not parse"):
        Policy(texts={"payout": "{reason"})
    with pytest.raises(InvalidPolicy, match=r"texts\.payout must be a string"):
        Policy.from_dict({"texts": {"payout": 5}})


def test_every_default_template_uses_only_known_placeholders_and_covers_every_action() -> None:
    from kudos.explain.texts import check_texts
    from kudos.history.handlers import RECALCULATED
    from kudos.policy import ACTIONS

    assert check_texts(DEFAULT_TEXTS) == dict(DEFAULT_TEXTS)
    assert set(ACTIONS) <= set(DEFAULT_TEXTS)
    assert RECALCULATED in DEFAULT_TEXTS  # the lines a retroactive policy change books
    assert "text" in PLACEHOLDERS and "cap" in PLACEHOLDERS


def test_a_statement_reads_its_facts_in_bulk_not_per_line(sqlite_store: kudos.SqlStore) -> None:
    from sqlalchemy import event

    c = giffgaff_season(sqlite_store)
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(sqlite_store.engine, "before_cursor_execute", count)
    try:
        few = len(c.statement("bob").lines)
        c.cache.clear() if c.cache is not None else None
        statements.clear()
        lines = c.statement("carol").lines
    finally:
        event.remove(sqlite_store.engine, "before_cursor_execute", count)
    assert len(lines) > 60 and few > 0
    assert len(statements) < 15, statements


class _Plain:
    """A transaction offering only the Protocol's reads (no optional bulk reads)."""

    def __init__(self, tx: object) -> None:
        self._tx = tx

    def __getattr__(self, name: str) -> object:
        if name in ("events_with_ids", "docs_with_keys"):
            raise AttributeError(name)
        return getattr(self._tx, name)


class _PlainStore:
    """A host's store without the optional bulk reads."""

    def __init__(self, store: Store) -> None:
        self._store = store

    @contextlib.contextmanager
    def transaction(self, community: str) -> Iterator[object]:
        with self._store.transaction(community) as tx:
            yield _Plain(tx)

    def communities(self) -> Iterator[str]:
        return self._store.communities()


def test_a_store_without_bulk_reads_gives_the_same_words(memory_store: Store) -> None:
    c = giffgaff_season(memory_store)
    plain = Community(
        store=cast(Store, _PlainStore(memory_store)), policy=c.policy, clock=c.clock, cache=None
    )
    for member in ("alice", "bob", "carol", "spammer"):
        assert texts(plain, member) == texts(c, member)


# -- every line of a random history reads as a sentence ---------------------------------------

STEPS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "kudos",
                "withdraw",
                "down",
                "undown",
                "accept",
                "unaccept",
                "remove",
                "restore",
                "later",
            ]
        ),
        st.integers(0, 3),  # which reply
        st.integers(0, 3),  # which member
    ),
    max_size=40,
)
MEMBERS = ("ann", "bob", "cat", "dan")


def _history(c: Community, steps: list[tuple[str, int, int]]) -> None:
    c.join("mod", role="moderator")
    for name in MEMBERS:
        c.join(name)
        c.adjust(name, reputation=200, reason="seed", by="mod")
    c.post_topic("t1", author="ann", title="No data abroad")
    for n, name in enumerate(MEMBERS):
        c.post_reply(f"r{n}", topic="t1", author=name)
    for step, reply, who in steps:
        member, post = MEMBERS[who], f"r{reply}"
        try:
            if step == "kudos":
                c.give_kudos(post, giver=member)
            elif step == "withdraw":
                c.withdraw_kudos(post, giver=member)
            elif step == "down":
                c.down_vote(post, voter=member)
            elif step == "undown":
                c.withdraw_down_vote(post, voter=member)
            elif step == "accept":
                c.accept_solution("t1", reply=post, by="ann")
            elif step == "unaccept":
                c.unaccept_solution("t1", by="ann")
            elif step == "remove":
                c.remove_post(post, by="mod", reason="spam" if who % 2 else "off-topic")
            elif step == "restore":
                c.restore_post(post, by="mod")
            else:
                c.clock.advance(days=who + 1)  # type: ignore[attr-defined]
        except kudos.KudosError:
            pass  # refused (self-kudos, nothing to withdraw, ...): the history goes on


@pytest.mark.parametrize("preset", ["giffgaff", "stackexchange"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=STEPS)
def test_every_line_of_any_history_is_a_sentence_from_its_own_template(
    preset: str, steps: list[tuple[str, int, int]]
) -> None:
    policy = getattr(kudos.policies, preset)()
    clock = FakeClock(datetime(2026, 3, 3, 9, tzinfo=UTC))
    c = Community(store=MemoryStore(), policy=policy, clock=clock, cache=None)
    _history(c, steps)
    for member in MEMBERS:
        statement = c.statement(member)
        with c.store.transaction(c.id) as tx:
            assert [line.entry() for line in statement.lines] == tx.entries(member=member)
        for line in statement.lines:
            head = f"{amount_words(line.amount, line.account)}: "
            words = line.text.removeprefix(head)
            assert line.text.startswith(head) and words, line
            assert line.template not in ("line", "reversal"), line  # a template of its own
            assert not any(bad in words for bad in ("{", "}", "None", '""', "''")), line
        assert c.statement(member) == statement  # the same words every time


def test_the_daily_cap_says_what_it_held_back_topped_up_and_released(
    memory_store: Store,
) -> None:
    clock = FakeClock(datetime(2026, 3, 3, 9, tzinfo=UTC))
    c = Community(store=memory_store, policy=kudos.policies.stackexchange(), clock=clock)
    c.join("mod", role="moderator")
    for name in ("alice", "carol", "bob"):
        c.join(name)
        c.adjust(name, reputation=300, reason="seed", by="mod")
    for n in range(22):
        c.post_topic(f"t{n}", author="bob", title=f"Q{n}")
        c.post_reply(f"r{n}", topic=f"t{n}", author="alice")
        c.give_kudos(f"r{n}", giver="carol")
    c.down_vote("r0", voter="bob")
    c.withdraw_kudos("r1", giver="carol")
    clock.advance(days=1)
    c.withdraw_down_vote("r0", voter="bob")
    assert texts(c, "alice")[-8:] == [
        '0 reputation: capped (200 reputation per day reached): your answer in "Q21" was up-voted',
        '\u22122 reputation: your answer in "Q0" was down-voted',
        '+2 reputation: topped up: room opened again under the cap, for "Q20"',
        '\u221210 reputation: an up-vote of 3 March in "Q1" was withdrawn',
        '+8 reputation: topped up: room opened again under the cap, for "Q20"',
        '+2 reputation: topped up: room opened again under the cap, for "Q21"',
        '+2 reputation: a down-vote of 3 March in "Q0" was withdrawn',
        "\u22122 reputation: held back: over 200 reputation per day",
    ]


def test_idea_votes_referral_revocations_failed_payouts_and_refunds_read_as_sentences(
    memory_store: Store,
) -> None:
    giffgaff = kudos.policies.giffgaff()
    policy = giffgaff.evolve(
        rewards={
            **giffgaff.rewards,
            "idea_vote_received": Reward(points=2, reputation=1),
            "idea_milestone": Reward(points=20),
        },
        ideas=kudos.ideas.IdeaRules(milestones=(2,)),
    )
    clock = FakeClock(datetime(2026, 3, 3, 9, tzinfo=UTC))
    c = Community(store=memory_store, policy=policy, clock=clock)
    for name in ("erin", "ann", "bob", "cat"):
        c.join(name)
    c.join("dan", referred_by="ann")
    c.join("staff1", role="staff")
    c.post_topic("i1", author="erin", kind="idea", title="eSIM support")
    c.vote_idea("i1", voter="ann")
    c.vote_idea("i1", voter="bob")
    clock.advance(days=1)
    c.withdraw_vote("i1", voter="bob")
    c.qualify_referral("dan")
    c.revoke_referral("dan", reason="fraud")
    c.adjust("cat", points=2_000, reason="meet-up", by="staff1")
    c.set_payout_method("cat", "cash")
    clock.set(datetime(2026, 6, 2, 9, tzinfo=UTC))
    c.close_period("2026-H1", by="staff1")
    c.mark_payout_failed("2026-H1:cat", reason="bank refused")
    assert texts(c, "erin")[3:8] == [
        '+1 reputation: bob voted for your idea "eSIM support"',
        '+20 points: your idea "eSIM support" reached a vote milestone',
        '\u22122 points: bob withdrew their vote for your idea "eSIM support"',
        '\u22121 reputation: bob withdrew their vote for your idea "eSIM support"',
        '\u221220 points: bob withdrew their vote for your idea "eSIM support"',
    ]
    assert texts(c, "dan")[:2] == [
        "+500 points: welcome bonus: you joined on ann's referral",
        "\u2212500 points: the referral of dan was revoked (fraud)",
    ]
    assert texts(c, "cat")[-1] == (
        "+2,000 points: the payout of 2 June failed (bank refused); its points are yours again"
    )
    se = Community(store=MemoryStore(), policy=kudos.policies.stackexchange(), clock=clock)
    se.join("mod", role="moderator")
    se.join("bob")
    se.adjust("bob", reputation=300, reason="seed", by="mod")
    se.post_topic("t1", author="bob", title="eSIM")
    se.offer_bounty("b1", topic="t1", by="bob", amount=50)
    se.refund_bounty("b1", by="mod")
    assert texts(se, "bob")[-2:] == [
        '\u221250 reputation: you offered a bounty on "eSIM"',
        '+50 reputation: the bounty on "eSIM" was refunded',
    ]


# --- issue 14 review: "you" for the member's own facts, the post named, kind-aware words ----


def test_a_member_reads_their_own_reversals_as_you(store: Store) -> None:
    clock = FakeClock(datetime(2026, 3, 1, 9, tzinfo=UTC))
    policy = kudos.policies.giffgaff()
    policy = policy.evolve(rewards={**policy.rewards, "kudos_given": Reward(points=1)})
    c = Community(store=store, policy=policy, clock=clock)
    for name in ("ann", "bob"):
        c.join(name)
    c.post_topic("t1", author="bob", title="Hello")
    c.post_reply("r1", topic="t1", author="bob")
    c.give_kudos("r1", giver="ann")
    clock.advance(days=1)
    c.withdraw_kudos("r1", giver="ann")
    assert texts(c, "ann") == [
        '+1 point: you gave kudos to bob\'s reply in "Hello"',
        '\u22121 point: you withdrew the kudos you gave on 1 March in "Hello"',
    ]
    assert texts(c, "bob")[-1] == (
        '\u22121 reputation: ann withdrew the kudos given on 1 March in "Hello"'
    )


def test_a_stackexchange_voter_reads_their_own_vote_changes_as_you(store: Store) -> None:
    clock = FakeClock(datetime(2026, 3, 1, 9, tzinfo=UTC))
    c = Community(store=store, policy=kudos.policies.stackexchange(), clock=clock)
    for name in ("bob", "dan"):
        c.join(name)
    c.join("mod", role="moderator")
    c.adjust("dan", reputation=200, reason="seed", by="mod")
    c.post_topic("t1", author="bob", title="Hello")
    c.post_reply("r1", topic="t1", author="bob")
    c.down_vote("r1", voter="dan")
    c.give_kudos("r1", giver="dan")
    assert texts(c, "dan")[-2:] == [
        '\u22121 reputation: you down-voted an answer in "Hello"',
        '+1 reputation: you changed your down-vote in "Hello" to an up-vote',
    ]
    assert not any(line.startswith(("+", "\u2212")) and "dan " in line for line in texts(c, "dan"))


def test_removed_and_restored_posts_read_by_kind(store: Store) -> None:
    c = Community(store=store, policy=kudos.policies.giffgaff())
    for name in ("ann", "bob", "carol"):
        c.join(name)
    c.join("mod", role="moderator")
    c.post_topic("t1", author="ann", title="Hello")
    c.post_reply("r1", topic="t1", author="bob")
    c.give_kudos("t1", giver="carol")
    c.give_kudos("r1", giver="carol")
    c.remove_post("t1", by="mod", reason="duplicate")
    c.restore_post("t1", by="mod")
    c.remove_post("r1", by="mod", reason="off topic")
    ann, bob = texts(c, "ann"), texts(c, "bob")
    assert '\u22121 point: your question "Hello" was removed (duplicate)' in ann
    assert '+1 point: your question "Hello" was restored' in ann
    assert '\u22125 points: your reply in "Hello" was removed (off topic)' in bob
    assert not any("the question in" in line or "the reply in" in line for line in ann + bob)


def test_the_date_placeholders_say_what_they_render(memory_store: Store) -> None:
    clock = FakeClock(datetime(2026, 3, 3, 9, tzinfo=UTC))
    policy = kudos.policies.giffgaff().evolve(texts={"kudos_on_reply": "{date}"})
    c = Community(store=memory_store, policy=policy, clock=clock)
    for name in ("ann", "bob"):
        c.join(name)
    c.post_topic("t1", author="ann", title="Hello")
    c.post_reply("r1", topic="t1", author="bob")
    c.give_kudos("r1", giver="ann")
    rendered = texts(c, "bob")[0].split(": ", 1)[1]
    assert rendered == "3 March 2026"
    assert f"e.g. {rendered}" in PLACEHOLDERS["date"] or rendered in PLACEHOLDERS["date"]


@pytest.mark.parametrize("template", ["{title:>30}", "{actor!r}", "{title!z}", "by {by!s:>3}"])
def test_a_format_spec_or_conversion_is_refused_naming_the_key(template: str) -> None:
    with pytest.raises(InvalidPolicy, match=r"texts\.kudos_on_reply: .* plain \{name\} fields"):
        Policy(texts={"kudos_on_reply": template})
    toml = f"[texts]\nkudos_on_reply = {template!r}\n".replace("'", '"')
    with pytest.raises(InvalidPolicy, match=r"texts\.kudos_on_reply"):
        Policy.from_toml(toml)


@pytest.mark.parametrize("template", ["", "   "])
def test_an_empty_template_is_refused(template: str) -> None:
    with pytest.raises(InvalidPolicy, match=r"texts\.payout: the template is empty"):
        Policy(texts={"payout": template})


def test_escaped_braces_are_still_words() -> None:
    assert Policy(texts={"payout": "{{{reason}}}"}).text("payout") == "{{{reason}}}"


def test_evolve_overlays_texts_on_the_presets_words() -> None:
    se = kudos.policies.stackexchange()
    mine = se.evolve(texts={"kudos_on_reply": 'your answer in "{title}" got an up-vote'})
    assert mine.text("kudos_on_reply") == 'your answer in "{title}" got an up-vote'
    assert mine.text("kudos-withdrawn") == se.text("kudos-withdrawn")
    assert {k: v for k, v in mine.texts.items() if k != "kudos_on_reply"} == {
        k: v for k, v in se.texts.items() if k != "kudos_on_reply"
    }
    back = mine.evolve(texts={"kudos_on_reply": None})
    assert back.text("kudos_on_reply") == DEFAULT_TEXTS["kudos_on_reply"]
    assert mine.evolve(staff_earn=True).texts == mine.texts
    with pytest.raises(InvalidPolicy, match=r"texts\.kudos_on_reply: unknown placeholder"):
        se.evolve(texts={"kudos_on_reply": "{giver}"})
