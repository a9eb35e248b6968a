"""Conformance tests: the store contract itself, driven through ``store.transaction()``.

The event log, the ledger, documents, counters, the outbox, snapshots,
rollback and the separation of communities: everything
:class:`~kudos.stores.protocol.Transaction` promises, checked without the
engine, so a failure here points at the store and nothing else.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ...errors import KudosError
from ...model import Doc, LedgerEntry, Notification, StoredEvent
from ...stores.protocol import Snapshot, Store, Transaction
from ._base import ConformanceBase

T0 = datetime(2026, 11, 23, 12, tzinfo=UTC)
"""The fake clock's start, and the time of the raw rows below."""


# --- raw rows ------------------------------------------------------------


def _event(event_id: str, minutes: int = 0, **payload: Any) -> StoredEvent:
    at = T0 + timedelta(minutes=minutes)
    return StoredEvent(event_id=event_id, type="test-fact", payload=payload, at=at)


def _entry(
    entry_id: str,
    *,
    member: str = "alice",
    amount: int = 5,
    account: str = "points",
    event_id: str = "e1",
    subject: str | None = "r1",
    period: str = "2026-H2",
    minutes: int = 0,
    reverses: str | None = None,
    tags: tuple[str, ...] = (),
) -> LedgerEntry:
    return LedgerEntry(
        entry_id=entry_id,
        member=member,
        account=account,
        amount=amount,
        action="kudos_on_reply",
        reason=f"test entry {entry_id}",
        event_id=event_id,
        subject=subject,
        period=period,
        at=T0 + timedelta(minutes=minutes),
        reverses=reverses,
        tags=tags,
    )


def _note(
    member: str, kind: str = "badge_earned", event_id: str = "e1", **data: Any
) -> Notification:
    return Notification(seq=0, member=member, kind=kind, data=data, event_id=event_id, at=T0)


def _docs(tx: Transaction, kind: str, **where: Any) -> list[str]:
    return [d.key for d in tx.find(kind, **where)]


def nonzero(snapshot: Snapshot) -> dict[tuple[str, str, str], int]:
    """A snapshot's counters without the zeros (a store may or may not keep those)."""
    return {k: v for k, v in snapshot.counters.items() if v}


class StoreContractConformance(ConformanceBase):
    """What every store's transactions must do, whatever the engine asks of them."""

    # -- event log -----------------------------------------------------------------------
    def test_append_event_returns_none_then_the_row_already_logged(
        self, kudos_store: Store
    ) -> None:
        first = _event("e1", post="r1", giver="bob")
        with kudos_store.transaction("c1") as tx:
            assert tx.append_event(first) is None
            known = tx.append_event(_event("e1", minutes=5, post="other"))
            assert known is not None
            assert (known.event_id, known.type, dict(known.payload), known.at) == (
                "e1",
                "test-fact",
                {"post": "r1", "giver": "bob"},
                T0,
            )
        with kudos_store.transaction("c1") as tx:
            again = tx.append_event(first)
            assert again is not None and again.seq == known.seq
            assert [r.event_id for r in tx.events()] == ["e1"]

    def test_events_are_read_back_in_append_order_after_a_cursor(self, kudos_store: Store) -> None:
        ids = ["e-c", "e-a", "e-e", "e-b", "e-d"]
        with kudos_store.transaction("c1") as tx:
            for i, event_id in enumerate(ids):
                tx.append_event(_event(event_id, minutes=-i, n=i))
        with kudos_store.transaction("c1") as tx:
            rows = tx.events()
            assert [r.event_id for r in rows] == ids
            seqs = [r.seq for r in rows]
            assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs) and seqs[0] >= 1
            assert [r.event_id for r in tx.events(after=seqs[1])] == ids[2:]
            assert [r.event_id for r in tx.events(after=seqs[1], limit=2)] == ids[2:4]
            assert tx.events(after=seqs[-1]) == []
            assert [r.event_id for r in tx.events(limit=1)] == ids[:1]

    def test_get_event_finds_a_logged_event_by_id(self, kudos_store: Store) -> None:
        with kudos_store.transaction("c1") as tx:
            tx.append_event(_event("e1", n=1))
            assert tx.get_event("e1") is not None  # its own write, before commit
        with kudos_store.transaction("c1") as tx:
            found = tx.get_event("e1")
            assert found is not None and dict(found.payload) == {"n": 1}
            assert tx.get_event("e2") is None

    def test_bulk_reads_agree_with_reads_one_at_a_time(self, kudos_store: Store) -> None:
        # Statements read the events and documents their lines reference in bulk, through
        # a store's optional events_with_ids/docs_with_keys, else one at a time.
        from ...explain.lines import read_docs, read_events

        with kudos_store.transaction("c1") as tx:
            for event_id in ("e-b", "e-a", "e-c"):
                tx.append_event(_event(event_id))
            for key in ("t2", "t1", "t3"):
                tx.put(Doc(kind="post", key=key, data={"title": key}))
        with kudos_store.transaction("c2") as tx:
            tx.append_event(_event("e-x"))
            tx.put(Doc(kind="post", key="t9", data={}))
        with kudos_store.transaction("c1") as tx:
            events = read_events(tx, ["e-c", "e-b", "e-x", "nope"])
            assert events == [tx.get_event("e-b"), tx.get_event("e-c")]
            assert read_events(tx, []) == []
            docs = read_docs(tx, "post", ["t3", "t1", "t9", "nope"])
            assert docs == [tx.get("post", "t1"), tx.get("post", "t3")]
            assert read_docs(tx, "member", ["t1"]) == [] and read_docs(tx, "post", []) == []

    def test_event_payloads_and_times_round_trip(self, kudos_store: Store) -> None:
        payload = {
            "text": "Ça marche, 👍 merci",
            "tags": ["roaming", "eu"],
            "nested": {"a": [1, 2, {"b": None}], "ok": True},
            "big": 2**53 + 1,
            "none": None,
        }
        at = datetime(2026, 6, 1, 0, 30, 15, 123456, tzinfo=UTC)
        with kudos_store.transaction("c1") as tx:
            tx.append_event(StoredEvent(event_id="e1", type="test-fact", payload=payload, at=at))
        with kudos_store.transaction("c1") as tx:
            (row,) = tx.events()
        assert dict(row.payload) == payload
        assert row.at == at and row.at.utcoffset() is not None

    # -- ledger ----------------------------------------------------------------------------
    def test_entries_come_back_in_append_order_with_every_field(self, kudos_store: Store) -> None:
        written = [
            _entry("e1/0", tags=("roaming", "eu")),
            _entry("e1/1", member="bob", account="reputation", amount=-2, subject=None),
            _entry("e2/0", event_id="e2", amount=-5, reverses="e1/0", minutes=3),
        ]
        with kudos_store.transaction("c1") as tx:
            tx.append_entries(written[:2])
            assert tx.entries() == written[:2]
            tx.append_entries(written[2:])
        with kudos_store.transaction("c1") as tx:
            assert tx.entries() == written

    def test_entries_filter_by_member_subject_event_account_and_period(
        self, kudos_store: Store
    ) -> None:
        with kudos_store.transaction("c1") as tx:
            tx.append_entries(
                [
                    _entry("a", member="alice", subject="r1", event_id="e1"),
                    _entry("b", member="bob", subject="r1", event_id="e1", account="reputation"),
                    _entry("c", member="alice", subject="r2", event_id="e2", period="2027-H1"),
                    _entry("d", member="alice", subject=None, event_id="e3", account="reputation"),
                    _entry("e", member="bob", subject="r2", event_id="e2", period="2027-H1"),
                ]
            )
        with kudos_store.transaction("c1") as tx:

            def ids(**where: Any) -> list[str]:
                return [e.entry_id for e in tx.entries(**where)]

            assert ids(member="alice") == ["a", "c", "d"]
            assert ids(subject="r2") == ["c", "e"]
            assert ids(event_id="e1") == ["a", "b"]
            assert ids(account="reputation") == ["b", "d"]
            assert ids(period="2027-H1") == ["c", "e"]
            assert ids(member="bob", subject="r2") == ["e"]
            assert ids(member="alice", account="points", period="2026-H2") == ["a"]
            assert ids(event_id="e2", member="alice") == ["c"]
            assert ids(member="carol") == []

    def test_entries_since_is_inclusive_and_until_exclusive(self, kudos_store: Store) -> None:
        with kudos_store.transaction("c1") as tx:
            tx.append_entries([_entry(f"x{m}", minutes=m) for m in (0, 10, 20, 30)])
        since, until = T0 + timedelta(minutes=10), T0 + timedelta(minutes=30)
        with kudos_store.transaction("c1") as tx:
            assert [e.entry_id for e in tx.entries(since=since)] == ["x10", "x20", "x30"]
            assert [e.entry_id for e in tx.entries(until=until)] == ["x0", "x10", "x20"]
            assert [e.entry_id for e in tx.entries(since=since, until=until)] == ["x10", "x20"]
            # The same instant in another zone is the same bound.
            london = since.astimezone(ZoneInfo("Europe/London"))
            assert [e.entry_id for e in tx.entries(since=london, until=until)] == ["x10", "x20"]

    def test_reversed_ids_names_only_entries_with_a_reversal(self, kudos_store: Store) -> None:
        with kudos_store.transaction("c1") as tx:
            tx.append_entries([_entry("e1/0"), _entry("e1/1"), _entry("e1/2")])
            tx.append_entries([_entry("e2/0", event_id="e2", amount=-5, reverses="e1/1")])
            assert tx.reversed_ids(["e1/1"]) == {"e1/1"}
        with kudos_store.transaction("c1") as tx:
            assert tx.reversed_ids(["e1/0", "e1/1", "e1/2", "nope"]) == {"e1/1"}
            assert tx.reversed_ids([]) == set()
            assert tx.reversed_ids(iter(["e1/1"])) == {"e1/1"}

    def test_a_repeated_entry_id_raises_a_kudos_error(self, kudos_store: Store) -> None:
        with kudos_store.transaction("c1") as tx:
            tx.append_entries([_entry("e1/0")])
        with pytest.raises(KudosError), kudos_store.transaction("c1") as tx:
            tx.append_entries([_entry("e1/0", amount=7)])
        with kudos_store.transaction("c1") as tx:
            assert [e.amount for e in tx.entries()] == [5]

    # -- documents -------------------------------------------------------------------------
    def test_documents_are_put_replaced_and_read_back(self, kudos_store: Store) -> None:
        data = {
            "kind": "question",
            "tags": ["eu"],
            "n": 3,
            "ok": False,
            "x": None,
            "nested": {"when": "2026-11-23T12:00:00+00:00", "list": [1, "two"]},
            "title": "Données à l'étranger",
        }
        with kudos_store.transaction("c1") as tx:
            assert tx.get("post", "t1") is None
            tx.put(Doc(kind="post", key="t1", data=data, ref="alice", status="live"))
            assert tx.get("post", "t1") == Doc(
                kind="post", key="t1", data=data, ref="alice", status="live"
            )
        with kudos_store.transaction("c1") as tx:
            assert tx.get("post", "t1") == Doc(
                kind="post", key="t1", data=data, ref="alice", status="live"
            )
            assert tx.get("member", "t1") is None
            tx.put(Doc(kind="post", key="t1", data={"kind": "idea"}, status="removed"))
        with kudos_store.transaction("c1") as tx:
            assert tx.get("post", "t1") == Doc(
                kind="post", key="t1", data={"kind": "idea"}, ref=None, status="removed"
            )
            assert len(tx.find("post")) == 1

    def test_find_filters_by_ref_and_status_ordered_by_key(self, kudos_store: Store) -> None:
        rows = [
            ("k3", "t1", "active"),
            ("k1", "t1", "withdrawn"),
            ("k4", "t2", "active"),
            ("k2", "t1", "active"),
            ("k10", None, None),
        ]
        with kudos_store.transaction("c1") as tx:
            for key, ref, status in rows:
                tx.put(Doc(kind="vote", key=key, data={"key": key}, ref=ref, status=status))
            tx.put(Doc(kind="other", key="k0", data={}, ref="t1", status="active"))
        with kudos_store.transaction("c1") as tx:
            assert _docs(tx, "vote") == ["k1", "k10", "k2", "k3", "k4"]
            assert _docs(tx, "vote", ref="t1") == ["k1", "k2", "k3"]
            assert _docs(tx, "vote", status="active") == ["k2", "k3", "k4"]
            assert _docs(tx, "vote", ref="t1", status="active") == ["k2", "k3"]
            assert _docs(tx, "vote", ref="t1", status="active", limit=1) == ["k2"]
            assert _docs(tx, "vote", limit=2) == ["k1", "k10"]
            assert _docs(tx, "vote", ref="t9") == []
            assert _docs(tx, "nothing") == []
            assert [dict(d.data) for d in tx.find("vote", ref="t2")] == [{"key": "k4"}]

    def test_find_sees_a_status_change_in_the_same_transaction(self, kudos_store: Store) -> None:
        with kudos_store.transaction("c1") as tx:
            tx.put(Doc(kind="vote", key="k1", data={}, ref="t1", status="active"))
        with kudos_store.transaction("c1") as tx:
            tx.put(Doc(kind="vote", key="k1", data={}, ref="t1", status="withdrawn"))
            assert _docs(tx, "vote", status="active") == []
            assert _docs(tx, "vote", status="withdrawn") == ["k1"]

    # -- counters --------------------------------------------------------------------------
    def test_counters_add_up_and_missing_ones_read_zero(self, kudos_store: Store) -> None:
        with kudos_store.transaction("c1") as tx:
            assert tx.counter("points", "all", "alice") == 0
            tx.add({("points", "all", "alice"): 5, ("points", "2026-H2", "alice"): 5})
            tx.add({("points", "all", "alice"): 3})
            assert tx.counter("points", "all", "alice") == 8
        with kudos_store.transaction("c1") as tx:
            tx.add({("points", "all", "alice"): -10, ("points", "all", "bob"): 0})
            assert tx.counter("points", "all", "alice") == -2
        with kudos_store.transaction("c1") as tx:
            assert tx.counter("points", "all", "alice") == -2
            assert tx.counter("points", "2026-H2", "alice") == 5
            assert tx.counter("points", "all", "bob") == 0
            assert tx.counter("reputation", "all", "alice") == 0

    def test_tallies_add_up_with_adds_and_are_read_back_in_the_same_transaction(
        self, kudos_store: Store
    ) -> None:
        with kudos_store.transaction("c1") as tx:
            tx.add({("health", "h|2026-H2|-", "topics"): 2})
            tally = getattr(tx, "tally", tx.add)  # optional: a store without it adds
            tally({("health", "h|2026-H2|-", "topics"): 3, ("health", "h|2026-H2|-", "x"): 0})
            tally({("feelings", "*", "calm"): 1})
            assert tx.counter("health", "h|2026-H2|-", "topics") == 5
            assert tx.counters_of("calm", ["*"]) == {("feelings", "*"): 1}
            assert tx.top("health", "h|2026-H2|-", limit=5) == [("topics", 5)]
        with kudos_store.transaction("c1") as tx:
            getattr(tx, "tally", tx.add)({("health", "h|2026-H2|-", "topics"): -1})
        with kudos_store.transaction("c1") as tx:
            assert tx.counter("health", "h|2026-H2|-", "topics") == 4
            assert tx.counter("health", "h|2026-H2|-", "x") == 0
            assert tx.top("feelings", "*", limit=5) == [("calm", 1)]

    def test_a_rolled_back_tally_leaves_nothing(self, kudos_store: Store) -> None:
        with pytest.raises(RuntimeError), kudos_store.transaction("c1") as tx:
            getattr(tx, "tally", tx.add)({("feelings", "*", "calm"): 1})
            raise RuntimeError("the work failed")
        with kudos_store.transaction("c1") as tx:
            assert tx.counter("feelings", "*", "calm") == 0

    def test_counters_of_returns_a_subjects_non_zero_counters_in_the_scopes(
        self, kudos_store: Store
    ) -> None:
        with kudos_store.transaction("c1") as tx:
            tx.add(
                {
                    ("points", "all", "alice"): 5,
                    ("points", "2026-H2", "alice"): 5,
                    ("solutions", "all", "alice"): 1,
                    ("solutions", "tag:eu", "alice"): 1,
                    ("points", "all", "bob"): 9,
                    ("kudos_received", "all", "alice"): 1,
                }
            )
            tx.add({("kudos_received", "all", "alice"): -1})
        with kudos_store.transaction("c1") as tx:
            assert tx.counters_of("alice", ["all", "2026-H2"]) == {
                ("points", "all"): 5,
                ("points", "2026-H2"): 5,
                ("solutions", "all"): 1,
            }
            assert tx.counters_of("alice", ["2027-H1"]) == {}
            assert tx.counters_of("carol", ["all"]) == {}

    def test_top_orders_by_value_then_subject_and_leaves_out_zeros(
        self, kudos_store: Store
    ) -> None:
        with kudos_store.transaction("c1") as tx:
            tx.add(
                {
                    ("reputation", "all", s): v
                    for s, v in {
                        "dave": 10,
                        "bob": 30,
                        "carol": 10,
                        "alice": 10,
                        "erin": -2,
                        "zed": 5,
                    }.items()
                }
            )
            tx.add({("reputation", "all", "zed"): -5, ("reputation", "2026-11", "bob"): 99})
        with kudos_store.transaction("c1") as tx:
            assert tx.top("reputation", "all", limit=10) == [
                ("bob", 30),
                ("alice", 10),
                ("carol", 10),
                ("dave", 10),
                ("erin", -2),
            ]
            assert tx.top("reputation", "all", limit=2) == [("bob", 30), ("alice", 10)]
            assert tx.top("reputation", "2026-11", limit=10) == [("bob", 99)]
            assert tx.top("points", "all", limit=10) == []

    def test_top_pages_with_offset_and_limit_and_skips_excluded(self, kudos_store: Store) -> None:
        with kudos_store.transaction("c1") as tx:
            tx.add({("points", "all", f"m{i}"): 100 - i for i in range(8)})
        with kudos_store.transaction("c1") as tx:
            assert [s for s, _ in tx.top("points", "all", limit=3, offset=2)] == ["m2", "m3", "m4"]
            assert [s for s, _ in tx.top("points", "all", limit=3, offset=6)] == ["m6", "m7"]
            assert tx.top("points", "all", limit=3, offset=8) == []
            assert [s for s, _ in tx.top("points", "all", limit=3, exclude=["m0", "m2"])] == [
                "m1",
                "m3",
                "m4",
            ]

    def test_position_counts_in_tops_order(self, kudos_store: Store) -> None:
        with kudos_store.transaction("c1") as tx:
            tx.add(
                {
                    ("points", "all", s): v
                    for s, v in {"bob": 30, "carol": 10, "alice": 10, "dave": 5}.items()
                }
            )
        with kudos_store.transaction("c1") as tx:
            assert tx.position("points", "all", "bob") == (1, 4)
            assert tx.position("points", "all", "alice") == (2, 4)
            assert tx.position("points", "all", "carol") == (3, 4)
            assert tx.position("points", "all", "dave") == (4, 4)
            assert tx.position("points", "all", "erin") == (None, 4)
            assert tx.position("points", "all", "carol", exclude=["bob"]) == (2, 3)
            assert tx.position("points", "all", "bob", exclude=["bob"]) == (None, 3)
            assert tx.position("points", "2026-H2", "bob") == (None, 0)

    # -- outbox ----------------------------------------------------------------------------
    def test_the_outbox_numbers_notifications_and_reads_after_a_cursor(
        self, kudos_store: Store
    ) -> None:
        with kudos_store.transaction("c1") as tx:
            first = tx.add_notifications([_note("alice", badge="Solver"), _note("bob")])
            assert all(n.seq > 0 for n in first) and first[0].seq < first[1].seq
        with kudos_store.transaction("c1") as tx:
            (third,) = tx.add_notifications([_note("alice", kind="rank_changed", event_id="e2")])
        with kudos_store.transaction("c1") as tx:
            seqs = [n.seq for n in tx.notifications()]
            assert seqs == [first[0].seq, first[1].seq, third.seq]
            assert [n.seq for n in tx.notifications(after=first[0].seq)] == seqs[1:]
            assert [n.seq for n in tx.notifications(after=first[0].seq, limit=1)] == seqs[1:2]
            assert tx.notifications(after=third.seq) == []
            note = tx.notifications()[0]
            assert (
                note.member,
                note.kind,
                dict(note.data),
                note.event_id,
                note.at,
                note.acked,
            ) == ("alice", "badge_earned", {"badge": "Solver"}, "e1", T0, False)

    def test_the_outbox_filters_by_member_event_and_unacked(self, kudos_store: Store) -> None:
        with kudos_store.transaction("c1") as tx:
            a1, b1, a2 = tx.add_notifications(
                [_note("alice"), _note("bob"), _note("alice", event_id="e2")]
            )
        with kudos_store.transaction("c1") as tx:
            assert [n.seq for n in tx.notifications(member="alice")] == [a1.seq, a2.seq]
            assert [n.seq for n in tx.notifications(event_id="e1")] == [a1.seq, b1.seq]
            tx.ack([a1.seq])
            assert [n.seq for n in tx.notifications(unacked=True)] == [b1.seq, a2.seq]
        with kudos_store.transaction("c1") as tx:
            tx.ack([a1.seq, a2.seq])
            assert [n.seq for n in tx.notifications(unacked=True)] == [b1.seq]
            assert [n.acked for n in tx.notifications()] == [True, False, True]
            assert [n.seq for n in tx.notifications(member="alice", unacked=True)] == []

    # -- snapshot and rebuild --------------------------------------------------------------
    def test_snapshot_holds_every_document_and_counter(self, kudos_store: Store) -> None:
        with kudos_store.transaction("c1") as tx:
            tx.put(Doc(kind="member", key="alice", data={"role": "member"}, status="member"))
            tx.put(Doc(kind="post", key="t1", data={"kind": "question"}, ref="alice"))
            tx.add({("points", "all", "alice"): 5, ("points", "all", "bob"): 1})
            tx.add({("points", "all", "bob"): -1})
        with kudos_store.transaction("c1") as tx:
            snap = tx.snapshot()
        assert sorted(snap.docs, key=lambda d: (d.kind, d.key)) == [
            Doc(kind="member", key="alice", data={"role": "member"}, status="member"),
            Doc(kind="post", key="t1", data={"kind": "question"}, ref="alice"),
        ]
        assert nonzero(snap) == {("points", "all", "alice"): 5}

    def test_replace_projections_swaps_documents_and_counters_but_not_the_log(
        self, kudos_store: Store
    ) -> None:
        with kudos_store.transaction("c1") as tx:
            tx.append_event(_event("e1"))
            tx.append_entries([_entry("e1/0")])
            tx.add_notifications([_note("alice")])
            tx.put(Doc(kind="member", key="old", data={}))
            tx.add({("points", "all", "old"): 3})
        fresh = Snapshot(
            docs=(Doc(kind="member", key="new", data={"n": 1}, ref="r", status="member"),),
            counters={("points", "all", "new"): 7, ("points", "2026-H2", "new"): 7},
        )
        with kudos_store.transaction("c1") as tx:
            tx.replace_projections(fresh)
            assert tx.get("member", "old") is None
        with kudos_store.transaction("c1") as tx:
            assert tx.get("member", "old") is None
            assert tx.get("member", "new") == fresh.docs[0]
            assert _docs(tx, "member", status="member") == ["new"]
            assert tx.counter("points", "all", "old") == 0
            assert nonzero(tx.snapshot()) == dict(fresh.counters)
            assert tx.top("points", "all", limit=5) == [("new", 7)]
            assert [r.event_id for r in tx.events()] == ["e1"]
            assert [e.entry_id for e in tx.entries()] == ["e1/0"]
            assert len(tx.notifications()) == 1

    # -- transactions ----------------------------------------------------------------------
    def test_an_exception_rolls_back_everything_the_transaction_wrote(
        self, kudos_store: Store
    ) -> None:
        with kudos_store.transaction("c1") as tx:
            tx.append_event(_event("e1"))
            tx.append_entries([_entry("e1/0")])
            tx.put(Doc(kind="post", key="t1", data={"v": 1}, status="live"))
            tx.add({("points", "all", "alice"): 5})
            (kept,) = tx.add_notifications([_note("alice")])
        before = self._everything(kudos_store, "c1")

        class Boom(Exception):
            pass

        with pytest.raises(Boom), kudos_store.transaction("c1") as tx:
            assert tx.append_event(_event("e2")) is None
            tx.append_entries([_entry("e2/0", event_id="e2", amount=-5, reverses="e1/0")])
            tx.put(Doc(kind="post", key="t1", data={"v": 2}, status="removed"))
            tx.put(Doc(kind="post", key="t2", data={"v": 1}, status="live"))
            tx.add({("points", "all", "alice"): 10, ("points", "all", "bob"): 1})
            tx.add_notifications([_note("bob")])
            tx.ack([kept.seq])
            assert tx.counter("points", "all", "alice") == 15
            raise Boom
        assert self._everything(kudos_store, "c1") == before
        with kudos_store.transaction("c1") as tx:
            assert tx.append_event(_event("e2")) is None  # the id is free again

    def test_an_exception_rolls_back_replaced_projections(self, kudos_store: Store) -> None:
        with kudos_store.transaction("c1") as tx:
            tx.put(Doc(kind="member", key="alice", data={}))
            tx.add({("points", "all", "alice"): 5})
        before = self._everything(kudos_store, "c1")
        with pytest.raises(ZeroDivisionError), kudos_store.transaction("c1") as tx:
            tx.replace_projections(Snapshot(docs=(), counters={("points", "all", "bob"): 1}))
            1 / 0  # noqa: B018
        assert self._everything(kudos_store, "c1") == before

    @staticmethod
    def _everything(store: Store, community: str) -> tuple[Any, ...]:
        with store.transaction(community) as tx:
            snap = tx.snapshot()
            return (
                [(r.event_id, dict(r.payload)) for r in tx.events()],
                tx.entries(),
                sorted(
                    ((d.kind, d.key, dict(d.data), d.ref, d.status) for d in snap.docs), key=repr
                ),
                nonzero(snap),
                [(n.seq, n.member, n.acked) for n in tx.notifications()],
            )

    # -- communities -----------------------------------------------------------------------
    def test_communities_in_one_store_see_nothing_of_each_other(self, kudos_store: Store) -> None:
        with kudos_store.transaction("uk") as tx:
            tx.append_event(_event("e1"))
            tx.append_entries([_entry("e1/0")])
            tx.put(Doc(kind="member", key="alice", data={}, status="member"))
            tx.add({("points", "all", "alice"): 5})
            tx.add_notifications([_note("alice")])
        with kudos_store.transaction("ie") as tx:
            assert tx.events() == [] and tx.get_event("e1") is None
            assert tx.entries() == [] and tx.reversed_ids(["e1/0"]) == set()
            assert tx.get("member", "alice") is None and tx.find("member") == []
            assert tx.counter("points", "all", "alice") == 0
            assert tx.counters_of("alice", ["all"]) == {}
            assert tx.top("points", "all", limit=5) == []
            assert tx.position("points", "all", "alice") == (None, 0)
            assert tx.notifications() == []
            assert tx.snapshot().docs == () and nonzero(tx.snapshot()) == {}
            # The same ids are free in another community.
            assert tx.append_event(_event("e1")) is None
            tx.append_entries([_entry("e1/0", amount=1)])
            tx.put(Doc(kind="member", key="alice", data={"ie": True}))
            tx.replace_projections(Snapshot(docs=(), counters={("points", "all", "zed"): 1}))
        with kudos_store.transaction("uk") as tx:
            assert [e.amount for e in tx.entries()] == [5]
            assert tx.get("member", "alice") == Doc(
                kind="member", key="alice", data={}, status="member"
            )
            assert tx.top("points", "all", limit=5) == [("alice", 5)]
        assert {"uk", "ie"} <= set(kudos_store.communities())

    def test_a_community_is_listed_once_it_has_an_event(self, kudos_store: Store) -> None:
        with kudos_store.transaction("quiet") as tx:
            tx.put(Doc(kind="member", key="alice", data={}))
        assert "quiet" not in set(kudos_store.communities())
        with kudos_store.transaction("busy") as tx:
            tx.append_event(_event("e1"))
        assert "busy" in set(kudos_store.communities())
