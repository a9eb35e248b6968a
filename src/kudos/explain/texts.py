"""The words of a statement line: templates, as data a policy may override.

Every ledger line a member reads renders as ``"<amount> <account>: <words>"``,
for example ``+5 points: carol gave kudos to your reply in "No data abroad"``.
The words come from a template chosen by the line:

* a line that **reverses** another uses the template named after the event
  that reversed it (``kudos-withdrawn``, ``post-removed``, ...);
* a line **given again** when a removed post is restored uses ``post-restored``;
* every other line uses the template named after its action
  (``kudos_on_reply``, ``referral_qualified``, ``payout``, ...);
* an award a cap held back (wholly or in part) is wrapped in ``capped``, and a
  debit the reputation floor absorbed in part in ``floored``;
* a key with no template falls back to ``reversal`` (reversals) or ``line``;
* when the member whose line it is did the reversing fact themselves (they
  withdrew their own kudos, changed their own vote), the template
  ``<key>-by-you`` is used where there is one (``kudos-withdrawn-by-you``:
  ``you withdrew the kudos you gave on 1 March in "..."``), so a member never
  reads about themselves in the third person.

Templates use ``{placeholder}`` fields, filled from the facts the line
references (:data:`PLACEHOLDERS` lists them all); a template naming any other
field is an :class:`kudos.InvalidPolicy` naming its key. A policy overrides
any of them in its ``texts`` table (TOML: ``[texts]``); localisation is the
host's: give every key in another language.

This module is pure data: it imports nothing that runs or stores anything.
"""

from __future__ import annotations

import functools
import string
from collections.abc import Mapping

from ..errors import InvalidPolicy

__all__ = ["BY_YOU", "DEFAULT_TEXTS", "PLACEHOLDERS", "check_texts", "fill"]

BY_YOU = "-by-you"
"""The suffix of a template used when the member whose line it is did the fact."""

PLACEHOLDERS: Mapping[str, str] = {
    "member": "the member whose line it is",
    "actor": "who did it: the giver, voter, accepter, referred member or staff member",
    "author": "the author of the post the line is about",
    "kind": "the kind of that post: reply, question, problem, idea, ...",
    "post": "the id of that post",
    "title": "the title of the post's topic (a reply's topic), else the topic's id",
    "date": "the day the line's fact happened, with its year: 3 March 2026",
    "given_on": (
        "for a reversal: the day of the fact it reverses, e.g. 3 March "
        "(with its year when that is not the year of the line: 3 March 2025)"
    ),
    "the_post": (
        'the post the line is about, whose and of what kind: your question "Hello", '
        'your reply in "Hello", bob\'s reply in "Hello"'
    ),
    "reason": "kudos's own sentence for the line (as stored in the ledger)",
    "note": "the reason the host gave (a removal's, an adjustment's, a revocation's)",
    "by": "the staff member who did it",
    "referral": "the member whose referral it is (the new member)",
    "referrer": "the member who referred them",
    "status": "an idea's new status",
    "period": "the payback period of the line",
    "cap": "the cap that held an award back, e.g. 1,500 points per month",
    "text": "in ``capped`` and ``floored``: the words of the award itself",
    "floor": "the policy's reputation floor",
    "absorbed": "how much of a debit the reputation floor absorbed",
    "version": "the version of the community's policy that paid the line (1: the first recorded)",
}
"""Every field a template may use, with what it holds."""

DEFAULT_TEXTS: Mapping[str, str] = {
    # -- awards, by action ---------------------------------------------------
    "reputation_start": "starting reputation",
    "reputation_floor": "lifted back to the reputation floor of {floor}",
    "cap_held": "{reason}",
    "cap_top_up": 'topped up: room opened again under the cap, for "{title}"',
    "topic_posted": 'you posted the {kind} "{title}"',
    "reply_posted": 'you replied in "{title}"',
    "kudos_on_reply": '{actor} gave kudos to your reply in "{title}"',
    "kudos_on_topic": '{actor} gave kudos to your {kind} "{title}"',
    "kudos_given": 'you gave kudos to {author}\'s {kind} in "{title}"',
    "down_vote_on_reply": 'your reply in "{title}" was down-voted',
    "down_vote_on_topic": 'your {kind} "{title}" was down-voted',
    "down_vote_cast": 'you down-voted a reply in "{title}"',
    "solution_accepted": 'your reply in "{title}" was accepted as the solution',
    "solution_accepter": 'you accepted {author}\'s reply as the solution of "{title}"',
    "removed_as_spam": "{the_post} was removed ({note})",
    "edit_approved": 'your suggested edit of "{title}" was approved',
    "association_bonus": "association bonus: an account in good standing elsewhere on the network",
    "bounty_offered": 'you offered a bounty on "{title}"',
    "bounty_awarded": 'you were awarded the bounty on "{title}"',
    "referral_qualified": "your referral {referral} qualified",
    "referral_welcome": "welcome bonus: you joined on {referrer}'s referral",
    "referral_bonus": "referral bonus: your referral {referral} qualified",
    "idea_vote_received": '{actor} voted for your idea "{title}"',
    "idea_milestone": 'your idea "{title}" reached a vote milestone',
    "idea_planned": 'your idea "{title}" is planned',
    "idea_implemented": 'your idea "{title}" was implemented',
    "praise_received": '{actor} praised you in "{title}"',
    "deflection_solution": 'your solution in "{title}" answered {actor} before they had to ask',
    "canonical_reused": 'your solution in "{title}" was given as the answer once more',
    "member_merged": "{reason}",
    "policy_recalculated": "recalculated under policy version {version}, changed by {by}: {note}",
    "adjustment": "{by} adjusted your balance: {note}",
    "payout": "{reason}",
    "carry_over": "{reason}",
    "lapse": "{reason}",
    "write_off": "{reason}",
    # -- lines booked by another fact than their own -------------------------
    "kudos-withdrawn": '{actor} withdrew the kudos given on {given_on} in "{title}"',
    "kudos-given": '{actor} changed a down-vote in "{title}" to kudos',
    "down-voted": '{actor} changed kudos in "{title}" to a down-vote',
    "down-vote-withdrawn": '{actor} withdrew the down-vote cast on {given_on} in "{title}"',
    "solution-unaccepted": 'the solution of "{title}" was unaccepted',
    "solution-accepted": 'another reply was accepted as the solution of "{title}"',
    "post-removed": "{the_post} was removed ({note})",
    "post-restored": "{the_post} was restored",
    "post-made-wiki": "{the_post} became community wiki",
    "member-deleted": "{actor}'s account was deleted",
    "bounty-refunded": 'the bounty on "{title}" was refunded',
    "referral-revoked": "the referral of {referral} was revoked ({note})",
    "idea-vote-withdrawn": '{actor} withdrew their vote for your idea "{title}"',
    "idea-status-set": 'your idea "{title}" moved back to {status}',
    "serial-votes-reversed": "a vote of {given_on} reversed as serial voting",
    "vote-ring-reversed": "a vote of {given_on} reversed: it came from a vote ring",
    "payout-failed": "the payout of {given_on} failed ({note}); its points are yours again",
    # -- the same facts, on the statement of the member who did them ----------------
    "kudos-withdrawn-by-you": 'you withdrew the kudos you gave on {given_on} in "{title}"',
    "kudos-given-by-you": 'you changed your down-vote in "{title}" to kudos',
    "down-voted-by-you": 'you changed your kudos in "{title}" to a down-vote',
    "down-vote-withdrawn-by-you": 'you withdrew the down-vote you cast on {given_on} in "{title}"',
    "solution-unaccepted-by-you": 'you unaccepted the solution of "{title}"',
    "solution-accepted-by-you": 'you accepted another reply as the solution of "{title}"',
    "idea-vote-withdrawn-by-you": 'you withdrew your vote for the idea "{title}"',
    "member-deleted-by-you": "your account was deleted",
    # -- wrappers and fallbacks ---------------------------------------------------
    "capped": "capped ({cap} reached): {text}",
    "floored": "{text} ({absorbed} absorbed by the reputation floor of {floor})",
    "reversal": "taken back: {reason}",
    "line": "{reason}",
}
"""The words of every line the engine books, for every action of both presets (and the
``policy_recalculated`` lines of a retroactive policy change)."""

_FORMATTER = string.Formatter()


def check_texts(texts: Mapping[str, str], where: str = "texts") -> dict[str, str]:
    """``texts`` as a dict, once each template is checked.

    Raises:
        InvalidPolicy: a template is not a string, is empty, does not parse,
            has a field with a conversion or format spec (``{title:>30}``,
            ``{actor!r}``: only plain ``{name}`` fields), or names a field that
            is not in :data:`PLACEHOLDERS` (the message names the key).
    """
    out: dict[str, str] = {}
    for key, template in dict(texts).items():
        path = f"{where}.{key}"
        if not isinstance(template, str):
            raise InvalidPolicy(f"{path} must be a string, got {template!r}")
        if not template.strip():
            raise InvalidPolicy(f"{path}: the template is empty; give the words of the line")
        try:
            parsed = [(f, spec, conv) for _, f, spec, conv in _FORMATTER.parse(template)]
        except ValueError as exc:
            raise InvalidPolicy(f"{path}: the template does not parse ({exc})") from None
        fields = [f for f, _spec, _conv in parsed if f is not None]
        for field, spec, conv in parsed:
            if field is not None and (spec or conv):
                shown = f"{{{field}{'!' + conv if conv else ''}{':' + spec if spec else ''}}}"
                raise InvalidPolicy(
                    f"{path}: {shown} has a conversion or format spec; "
                    f"templates take plain {{name}} fields only"
                )
        for field in fields:
            if field not in PLACEHOLDERS:
                raise InvalidPolicy(
                    f"{path}: unknown placeholder {{{field}}}; "
                    f"known: {', '.join(sorted(PLACEHOLDERS))}"
                )
        out[key] = template
    return out


def fill(template: str, values: Mapping[str, str]) -> str:
    """``template`` with its fields filled from ``values`` (a missing one is empty)."""
    return "".join(
        literal + (str(values.get(field, "")) if field is not None else "")
        for literal, field in _parsed(template)
    )


@functools.lru_cache(maxsize=1024)
def _parsed(template: str) -> tuple[tuple[str, str | None], ...]:
    return tuple((literal, field) for literal, field, _s, _c in _FORMATTER.parse(template))
