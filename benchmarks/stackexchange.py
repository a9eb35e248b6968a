"""How faithfully, and how fast, kudos replays a real Stack Exchange site.

    python benchmarks/stackexchange.py DUMP_DIR [--allowance 100] [--stores memory,sqlite]

``DUMP_DIR`` is a data dump folder (Posts.xml, Votes.xml, Users.xml), e.g.
``../shared/data/stackexchange-quantumcomputing-2018-09``. The dump is imported
through the public API (:func:`kudos.importers.stackexchange.import_dump`) into
a community on ``kudos.policies.stackexchange(dated=True)`` (question up-votes
+5 before 2019-11-13, as the dump's reputations were computed), once per store.
In the same run a plain-Python replay applies the same rules straight from the
XML (no kudos): start at 1, +10 / +5 up-votes, -2 down-votes received, +15 /
+2 accepts (not one's own), a net 200-per-UTC-day cap on votes where held-back
up-votes take up room a later down-vote frees, the floor at 1 on vote debits,
bounties paid in full, community wiki earning nothing.

Every user's reputation is compared with Users.xml, for all users, active users
(owning a question or answer, or with reputation above 1) and users with 200+:
exact, within 1%, within 10%, exact or exact + ``--allowance`` (the association
bonus, which dumps do not record), Pearson correlation and mean absolute
error. The import time per store is printed beside the plain replay's, with
their ratio, and the users where kudos and the plain replay disagree (there
should be none).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import kudos
from kudos.importers import stackexchange as se

CAP = 200
QUESTION_RULE_CHANGED = "2019-11-13"


def _rows(folder: Path, name: str) -> Iterator[dict[str, str]]:
    for _, element in ET.iterparse(folder / name, events=("end",)):
        if element.tag == "row":
            yield dict(element.attrib)
        element.clear()


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def plain_replay(folder: Path) -> dict[str, int]:
    """Every user's reputation under the published rules, straight from the XML."""
    users = {r["Id"] for r in _rows(folder, "Users.xml")}
    posts: dict[str, tuple[int, str | None, datetime, str | None, datetime | None]] = {}
    for r in _rows(folder, "Posts.xml"):
        if r.get("PostTypeId") in ("1", "2"):
            owner = r.get("OwnerUserId")
            wiki = r.get("CommunityOwnedDate")
            posts[r["Id"]] = (
                int(r["PostTypeId"]),
                owner if owner in users else None,
                _time(r["CreationDate"]),
                r.get("ParentId"),
                _time(wiki) if wiki else None,
            )
    tick = timedelta(microseconds=1)
    facts: list[tuple[datetime, int, str, str, int]] = []  # (when, seq, kind, member, value)
    bounties: dict[str, tuple[str, int]] = {}
    for r in _rows(folder, "Votes.xml"):
        kind = r.get("VoteTypeId")
        post = posts.get(r.get("PostId", ""))
        if kind not in ("1", "2", "3", "8", "9") or post is None:
            continue
        ptype, owner, created, parent, wiki = post
        if ptype == 2 and (parent not in posts or posts[parent][0] != 1):
            continue
        when = max(_time(r["CreationDate"]), created + tick)
        seq = len(facts)
        if kind in ("2", "3"):
            if owner is None or (wiki is not None and when >= wiki):
                continue
            if kind == "2":
                old = ptype == 1 and when.date().isoformat() < QUESTION_RULE_CHANGED
                facts.append((when, seq, "vote", owner, 5 if old else 10))
            else:
                facts.append((when, seq, "vote", owner, -2))
        elif kind == "1" and ptype == 2 and parent is not None:
            asker = posts[parent][1]
            if owner is not None and owner != asker:
                facts.append((when, seq, "free", owner, 15))
                if asker is not None:
                    facts.append((when, seq, "free", asker, 2))
        elif kind == "8" and ptype == 1:
            offerer, amount = r.get("UserId"), int(r.get("BountyAmount") or 0)
            if offerer in users and amount > 0:
                bounties[r["PostId"]] = (offerer, amount)
                facts.append((when, seq, "bounty", offerer, -amount))
        elif kind == "9" and ptype == 2 and parent is not None:
            amount = int(r.get("BountyAmount") or 0)
            offered = bounties.pop(parent, None)
            if offered and amount and owner is not None and owner != offered[0]:
                facts.append((when, seq, "bounty", owner, amount))
    facts.sort(key=lambda f: (f[0], f[1]))
    rep = dict.fromkeys(users, 1)
    net: dict[tuple[str, str], int] = defaultdict(int)
    held: dict[tuple[str, str], int] = defaultdict(int)
    for when, _, kind, member, value in facts:
        if kind != "vote":
            rep[member] += value
            continue
        day = (member, when.date().isoformat())
        if value > 0:
            given = min(value, max(0, CAP - net[day]))
            held[day] += value - given
        else:
            given = max(value, min(0, 1 - rep[member]))  # the floor
        net[day] += given
        rep[member] += given
        if value < 0 and held[day] and net[day] < CAP:  # room freed: held-back votes take it
            top_up = min(held[day], CAP - net[day])
            held[day] -= top_up
            net[day] += top_up
            rep[member] += top_up
    return rep


def active_users(folder: Path, real: Mapping[str, int]) -> set[str]:
    """Users owning a question or answer, or with reputation above 1."""
    owners = {
        r.get("OwnerUserId")
        for r in _rows(folder, "Posts.xml")
        if r.get("PostTypeId") in ("1", "2")
    }
    return {u for u, rep in real.items() if rep > 1 or u in owners}


def compare(
    real: Mapping[str, int], got: Mapping[str, int], members: set[str], allowance: int
) -> dict[str, float]:
    """The fidelity figures of ``got`` against ``real`` over ``members``."""
    n = len(members)
    if not n:
        return {"users": 0}
    xs = [real[m] for m in members]
    ys = [got.get(m, 0) for m in members]
    diffs = [abs(x - y) for x, y in zip(xs, ys, strict=True)]
    return {
        "users": n,
        "exact": sum(d == 0 for d in diffs) / n,
        "within 1%": sum(d <= 0.01 * abs(x) for d, x in zip(diffs, xs, strict=True)) / n,
        "within 10%": sum(d <= 0.10 * abs(x) for d, x in zip(diffs, xs, strict=True)) / n,
        f"exact or +{allowance}": sum(x - y in (0, allowance) for x, y in zip(xs, ys, strict=True))
        / n,
        "Pearson": _pearson(xs, ys),
        "MAE": sum(diffs) / n,
    }


def _pearson(xs: list[int], ys: list[int]) -> float:
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    return sxy / math.sqrt(sxx * syy) if sxx and syy else float("nan")


def _timed(work: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def kudos_import(folder: Path, store: str, tmp: Path) -> tuple[float, dict[str, int], str]:
    """Import the dump through the public API on ``store``; its time and reputations."""
    url = "memory://" if store == "memory" else f"sqlite:///{tmp / 'stackexchange.db'}"
    community = kudos.open(url, policy=kudos.policies.stackexchange(dated=True), cache=None)
    seconds, report = _timed(lambda: se.import_dump(folder, community, batch_size=20_000))
    with community.store.transaction(community.id) as tx:
        reputations = {m: tx.counter("reputation", "all", m) for m in se.reputations(folder)}
    return seconds, reputations, str(report)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dump", type=Path, help="the dump folder (Posts.xml, Votes.xml, Users.xml)")
    parser.add_argument("--allowance", type=int, default=100, help="association bonus allowed")
    parser.add_argument("--stores", default="memory,sqlite", help="memory, sqlite or both")
    args = parser.parse_args(argv)
    folder: Path = args.dump
    real = se.reputations(folder)
    active = active_users(folder, real)
    groups = {
        "all users": set(real),
        "active users": active,
        "users with 200+": {u for u, r in real.items() if r >= 200},
    }
    plain_seconds, plain = _timed(lambda: plain_replay(folder))
    assert isinstance(plain, dict)
    runs: dict[str, tuple[float, dict[str, int]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for store in args.stores.split(","):
            seconds, reputations, report = kudos_import(folder, store, Path(tmp))
            runs[store] = (seconds, reputations)
    print(f"dump: {folder.name}; {len(real)} users, {len(active)} active\n")
    print(report, "\n")
    first = next(iter(runs.values()))[1]
    print(
        f"| group | replay | users | exact | within 1% | within 10% | exact or +{args.allowance}"
        " | Pearson | MAE |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, members in groups.items():
        for label, got in (("kudos", first), ("plain", plain)):
            f = compare(real, got, members, args.allowance)
            print(
                f"| {name} | {label} | {f['users']} | {f['exact']:.1%} | {f['within 1%']:.1%} | "
                f"{f['within 10%']:.1%} | {f[f'exact or +{args.allowance}']:.1%} | "
                f"{f['Pearson']:.4f} | {f['MAE']:.2f} |"
            )
    print(f"\nplain replay: {plain_seconds:.2f} s")
    for store, (seconds, got) in runs.items():
        disagree = sum(got[m] != plain[m] for m in real)
        print(
            f"kudos import on {store}: {seconds:.2f} s, {seconds / plain_seconds:.1f}x the plain"
            f" replay; disagrees with it on {disagree} users"
        )
    misses = Counter(
        real[m] - first[m] for m in active if real[m] - first[m] not in (0, args.allowance)
    )
    print("\nactive users neither exact nor +allowance, by difference (real - kudos):")
    # Ties by difference: the same 25 on every run (a set's order changes with the hash seed).
    shown = sorted(misses.items(), key=lambda dn: (-dn[1], dn[0]))[:25]
    print(", ".join(f"{d:+d}: {n}" for d, n in shown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
