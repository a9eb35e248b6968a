"""Where a MemoryStore's time per event goes: the handler, each after-event hook, the flush.

On a MemoryStore nothing is written to disk, so ``record_many``'s rate is the engine's own
cost. This records ``ingest.py``'s seeded stream once as it is (the rate), then again with
a timer around each part of the engine's ``apply``: the event's handler (members, posts,
votes, awards, caps, counters), each after-event hook (recognition, response health, the
support desk, ...), the context's settle and flush, and the rest (the event's id, the
stored event and its place in the log, the before-event hooks, the context, the outcome).
It prints microseconds per event for each part, over the whole stream and by event type.
Process CPU time, best of ``--repeat`` runs. Each timer costs about a microsecond, which
lands in the part it times and in "the rest": ``apply`` in all comes to about 15% more
than the untimed rate, and a part of one or two microseconds is mostly its timer.

    python benchmarks/engine_split.py                  # 20,000 events over 1,000 members
    python benchmarks/engine_split.py --events 60000 --members 3000 --repeat 5
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import ingest  # the stream ingest.py uses

import kudos
from kudos.engine import core, registry

Split = dict[str, Counter[str]]  # event type -> part -> seconds


def community() -> kudos.Community:
    """A new MemoryStore community under the giffgaff preset, without a read cache."""
    return kudos.Community(policy=kudos.policies.giffgaff(), cache=None)


def record(events: Sequence[kudos.events.Event], batch: int) -> float:
    """Process CPU seconds of ``record_many`` of ``events`` in batches of ``batch``."""
    target = community()
    started = time.process_time()
    for i in range(0, len(events), batch):
        target.record_many(events[i : i + batch])
    return time.process_time() - started


@contextmanager
def timers(split: Split) -> Iterator[None]:
    """Time each part of :func:`kudos.engine.core.apply` into ``split`` while the block runs."""
    clock = time.process_time
    current: list[str] = [""]  # the type of the event being applied

    def timed(part: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            started = clock()
            try:
                return fn(*args, **kwargs)
            finally:
                split[current[0]][part] += clock() - started

        return run

    apply, hooks, handlers = core.apply, list(core._AFTER), dict(core._HANDLERS)
    settle, flush = core.Context.settle, core.Context.flush

    def applying(tx: Any, policy: Any, event: kudos.events.Event, **kwargs: Any) -> Any:
        current[0] = event.type
        return timed("apply, in all", apply)(tx, policy, event, **kwargs)

    core.apply = applying  # type: ignore[assignment]
    core._AFTER[:] = []
    for hook in hooks:
        wrapped = timed(f"hook {hook.__module__.split('.')[1]}.{hook.__name__}", hook)
        if hook in core._ACTS_ON:  # the event types it acts on, as registered
            core._ACTS_ON[wrapped] = core._ACTS_ON[hook]
        core._AFTER.append(wrapped)
    core._COMPILED.clear()  # the per-type hook lists are worked out again from the new list
    for kind, (handler, derive) in handlers.items():
        core._HANDLERS[kind] = (timed("handler", handler), derive)
    core.Context.settle = timed("settle and flush", settle)  # type: ignore[method-assign]
    core.Context.flush = timed("settle and flush", flush)  # type: ignore[method-assign]
    try:
        yield
    finally:
        core.apply = apply
        core._AFTER[:] = hooks
        core._COMPILED.clear()
        core._HANDLERS.update(handlers)
        core.Context.settle, core.Context.flush = settle, flush  # type: ignore[method-assign]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ingest.stream_options(parser, events=20_000, members=1_000)
    parser.add_argument(
        "--repeat", type=ingest.positive, default=3, help="runs of each figure (the best)"
    )
    args = parser.parse_args(argv)
    assert registry.HANDLERS  # every capability's hooks registered before they are wrapped
    stream = ingest.stream_of(parser, args)
    events = [item.event for item in stream]
    counts = Counter(e.type for e in events)
    n = len(events)
    best = min(record(events, args.batch) for _ in range(args.repeat))
    print(
        f"kudos engine split: {n:,} events over {args.members:,} members (seed {args.seed}), "
        f"MemoryStore record_many in batches of {args.batch:,}; process CPU time, best of "
        f"{args.repeat}"
    )
    print(f"  record_many: {best * 1e6 / n:.1f} us/event ({n / best:,.0f} events/s)")
    runs: list[Split] = []
    for _ in range(args.repeat):
        split: Split = defaultdict(Counter)
        with timers(split):
            record(events, args.batch)
        runs.append(split)
    split = min(runs, key=lambda s: sum(parts["apply, in all"] for parts in s.values()))
    total: Counter[str] = Counter()
    for parts in split.values():
        total.update(parts)
    kinds = sorted(counts, key=lambda k: -split[k]["apply, in all"] / counts[k])
    print("  us per event, timed part by part (the best run):")
    print(f"    {'part':<44}{'stream':>9}" + "".join(f"{k:>20}" for k in kinds))
    parts = sorted(total, key=lambda p: (p != "apply, in all", -total[p]))
    for part in [*parts, "the rest of apply"]:
        if part == "the rest of apply":
            # apply, less the parts timed within it
            row = {
                k: split[k]["apply, in all"] - (sum(split[k].values()) - split[k]["apply, in all"])
                for k in kinds
            }
            whole = sum(row.values())
        else:
            row = {k: split[k][part] for k in kinds}
            whole = total[part]
        print(
            f"    {part:<44}{whole * 1e6 / n:9.1f}"
            + "".join(f"{row[k] * 1e6 / counts[k]:20.1f}" for k in kinds)
        )
    print("    events" + " " * 36 + f"{n:9,}" + "".join(f"{counts[k]:20,}" for k in kinds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
