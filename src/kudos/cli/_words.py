"""kudos's messages in the ``kudos`` command's terms rather than the Python API's.

The library's errors tell a programmer what to call (``community.join('zed')``,
``pass period= or window=``); someone running ``kudos import`` writes events
in a file and passes flags instead. :func:`in_cli_terms` rewrites the advice
part of a message, leaving what was wrong as the library said it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable

from ..events import event_types

__all__ = ["in_cli_terms"]

_A_TIME = "give the time with its UTC offset, e.g. 2026-06-01T12:00:00+00:00"


def _unknown_type(found: re.Match[str]) -> str:
    kinds = sorted(event_types())
    close = difflib.get_close_matches(found.group(1), kinds, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown event type {found.group(1)!r}; {hint}the types are: {', '.join(kinds)}"


_REWORDINGS: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    (
        re.compile(r"report them with community\.join\(('[^']*')\) first"),
        r"record a member-joined event for \1 first",
    ),
    (
        re.compile(r"report it with post_topic\(\) or post_reply\(\) first"),
        "record its topic-posted or reply-posted event first",
    ),
    (
        re.compile(
            r"unknown event type '([^']*)' in the log; is this kudos older than the store\?"
        ),
        _unknown_type,
    ),
    (re.compile(r"pass e\.g\. datetime\.now\(UTC\)( or attach a tzinfo)?"), _A_TIME),
    (re.compile(r"pass e\.g\. datetime\(2026, 6, 1, tzinfo=UTC\)"), _A_TIME),
    (re.compile(r"pass period= or window="), "pass --period or --window"),
    (re.compile(r"combine tag= with period= instead"), "combine --tag with --period instead"),
    (re.compile(r"pass e\.g\. timedelta\(days=7\) or '7d'"), "pass e.g. --window 7d"),
    (
        re.compile(
            r"\(see the policy's privileges and community\.standing\(('[^']*')\)\.privileges\)"
        ),
        r"(see `kudos policy show` and `kudos standing \1`)",
    ),
    (re.compile(r"; community\.referral_code\('[^']*'\) returns it"), ""),
    (
        re.compile(
            r"Open it without policy= to use the stored one, or adopt the new one with "
            r"community\.change_policy\(new_policy, effective=\.\.\., by=\.\.\., reason=\.\.\.\)"
        ),
        "Leave out --policy to use the stored one (`kudos policy show --url URL` prints it), "
        "or adopt the new one with `kudos policy change FILE --url URL --effective TIME "
        "--by STAFF --reason TEXT`",
    ),
    (re.compile(r"pass retroactive=True"), "pass --retroactive"),
    (
        re.compile(
            r"withdraw one \(community\.withdraw_vote\(idea, voter='[^']*'\); "
            r"community\.member_votes\('[^']*'\) lists them\)"
        ),
        "withdraw one (an idea-vote-withdrawn event)",
    ),
]


def _a_time(found: re.Match[str]) -> str:
    """A ``datetime.datetime(...)`` the library echoed, as the ISO text a file holds."""
    parts = [int(p) for p in re.findall(r"\d+", found.group(1))]
    year, month, day, *rest = parts + [0] * (7 - len(parts))
    hour, minute, second, micro = rest[:4]
    text = f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}"
    return text + (f".{micro:06d}" if micro else "")


_REWORDINGS.append((re.compile(r"datetime\.datetime\(([\d, ]+)\)"), _a_time))
# The batch position of an event: the command names its file and line itself.
_REWORDINGS.append((re.compile(r"record_many\(\): item #\d+: "), ""))
_REWORDINGS.append((re.compile(r"event #\d+ \([^)]*\) of the batch: "), ""))


def in_cli_terms(message: str) -> str:
    """``message`` with its Python-API advice said in the ``kudos`` command's terms."""
    for pattern, replacement in _REWORDINGS:
        message = pattern.sub(replacement, message)
    return message
