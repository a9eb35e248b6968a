"""Ready-made policies, each citing where its numbers come from.

Use one as it is, or as a starting point::

    policy = kudos.policies.giffgaff().evolve(staff_earn=True)
"""

from __future__ import annotations

from .ideas import rules as ideas
from .leaderboards import rules as leaderboards
from .payback import rules as payback
from .periods import Periods
from .policy import Cap, EarlierReward, Policy, Reward
from .recognition import rules as recognition
from .referrals import rules as referrals

__all__ = ["giffgaff", "stackexchange"]


def giffgaff() -> Policy:
    """A giffgaff-style community: points paid out twice a year, reputation for standing.

    ====================  ========  ==========  ==========================================
    action                points    reputation  source / reasoning
    ====================  ========  ==========  ==========================================
    kudos on a reply      5         1           giffgaff rewarded helpfulness, not volume
    kudos on a topic      1         1           (2015 consultation); its formula was never
    solution accepted     50        10          published, so these values are ours and
                                                published in full
    solution accepter     5         0           nudges askers to mark answers
    reply / topic posted  0         0           "rewarded volume" was the old model's flaw
    removed as spam       0         -50         claws back and penalises
    referral qualified    500       10          500 points per recruit (giffgaff, 2019)
    referral welcome      500       0           the recruit's £5 bonus (giffgaff, 2019)
    idea implemented      500       50          implemented ideas "in many cases" rewarded
    idea planned          100       10
    canonical reused      10        2           a canonical answer reused on any channel
                                                credits its author; ours, capped below
    ====================  ========  ==========  ==========================================

    Caps: 1,500 points per member per calendar month, giffgaff's Layer-2
    community cap of £15/month (Community Payback 2.0, June 2015); a canonical
    answer earns its author at most 200 points from reuse. Periods: 1
    Dec-31 May and 1 Jun-30 Nov, Europe/London. 1 point = 1p. Staff earn
    nothing (official replies are their job). No down-votes.
    """
    return Policy(
        name="giffgaff",
        rewards={
            "kudos_on_reply": Reward(points=5, reputation=1),
            "kudos_on_topic": Reward(points=1, reputation=1),
            "solution_accepted": Reward(points=50, reputation=10),
            "solution_accepter": Reward(points=5),
            "removed_as_spam": Reward(reputation=-50),
            "referral_qualified": Reward(points=500, reputation=10),
            "referral_welcome": Reward(points=500),
            "idea_planned": Reward(points=100, reputation=10),
            "idea_implemented": Reward(points=500, reputation=50),
            "praise_received": Reward(points=5, reputation=2),
            "deflection_solution": Reward(points=5, reputation=1),
            "canonical_reused": Reward(points=10, reputation=2),
        },
        caps=(
            Cap(
                account="points",
                per="month",
                limit=1_500,
                actions=(
                    "kudos_on_reply",
                    "kudos_on_topic",
                    "solution_accepted",
                    "solution_accepter",
                    "praise_received",
                    "deflection_solution",
                ),
            ),
            Cap(account="points", per="post", limit=200, actions=("canonical_reused",)),
        ),
        staff_earn=False,
        down_votes=False,
        periods=Periods(kind="half-year", start_month=12, timezone="Europe/London"),
        recognition=recognition.preset("giffgaff"),
        referrals=referrals.preset("giffgaff"),
        ideas=ideas.preset("giffgaff"),
        payback=payback.preset("giffgaff"),
        leaderboards=leaderboards.preset("giffgaff"),
    )


def stackexchange(*, dated: bool = False) -> Policy:
    """Stack Exchange reputation: no points, reputation with a net daily cap.

    ======================  ==========  ================================================
    action                  reputation  source (date the rule took effect)
    ======================  ==========  ================================================
    answer up-voted         +10         SE rules (Springer 2019 table; Apache Answer)
    question up-voted       +10         since 2019-11-13, applied retroactively by
                                        recalculation; +5 from 2010-03 (stackoverflow
                                        .blog, "important reputation rule changes")
    answer down-voted       -2          to the author
    down-vote cast          -1          to the voter, on answers only
    question down-voted     -2          to the author
    answer accepted         +15         to the answerer
    accepting               +2          to the asker, not for their own answer
    suggested edit          +2          at most 1,000 in a member's lifetime
    association bonus       +100        once, members with 200+ elsewhere on the network
    bounty                  -n / +n     offerer pays 50-500 at once; the awarded
                                        answer's author receives it
    post removed as spam    -100
    ======================  ==========  ================================================

    Cap: 200 reputation per UTC day from votes and approved edits, *net*:
    down-votes received count against it, so 20 answer up-votes, a down-vote
    and one more up-vote leave 200, in whatever order they came (see
    :mod:`kudos.engine.caps`). Accepted answers, bounties and the association bonus
    are exempt. Every member starts at 1 and never drops below 1
    (``reputation_start``/``reputation_floor``). Up-voting needs 15
    reputation, down-voting 125 (the privilege table of graduated sites).
    Accepting your own answer earns nothing and is not a solution; votes on
    community-wiki posts earn nothing. Periods are calendar months
    (reputation leagues); there is no payout. Sources: ``peers.md`` section 2
    (Stack Exchange meta and help pages, Apache Answer's restatement).

    ``dated=True`` values question up-votes by the rule of their day (+5
    before 2019-11-13, +10 since), for replaying a dump taken before the
    retroactive recalculation of November 2019.

    >>> stackexchange().reward("kudos_on_topic").reputation
    10
    >>> stackexchange(dated=True).reward("kudos_on_topic", "2018-09-01").reputation
    5
    """
    question_up = Reward(
        reputation=10,
        was=[EarlierReward(until="2019-11-13", reputation=5)] if dated else [],
    )
    return Policy(
        name="stackexchange",
        rewards={
            "kudos_on_reply": Reward(reputation=10),
            "kudos_on_topic": question_up,
            "down_vote_on_reply": Reward(reputation=-2),
            "down_vote_on_topic": Reward(reputation=-2),
            "down_vote_cast": Reward(reputation=-1),
            "solution_accepted": Reward(reputation=15),
            "solution_accepter": Reward(reputation=2),
            "removed_as_spam": Reward(reputation=-100),
            "edit_approved": Reward(reputation=2),
            "association_bonus": Reward(reputation=100),
        },
        caps=(
            Cap(
                account="reputation",
                per="day",
                limit=200,
                actions=(
                    "kudos_on_reply",
                    "kudos_on_topic",
                    "down_vote_on_reply",
                    "down_vote_on_topic",
                    "edit_approved",
                ),
            ),
            Cap(account="reputation", per="ever", limit=1_000, actions=("edit_approved",)),
        ),
        staff_earn=False,
        down_votes=True,
        min_reputation_to_give_kudos=15,
        min_reputation_to_down_vote=125,
        self_accept_rewards=False,
        reputation_start=1,
        reputation_floor=1,
        periods=Periods(kind="month", timezone="UTC"),
        recognition=recognition.preset("stackexchange"),
        referrals=referrals.preset("stackexchange"),
        ideas=ideas.preset("stackexchange"),
        payback=payback.preset("stackexchange"),
        leaderboards=leaderboards.preset("stackexchange"),
        texts=STACKEXCHANGE_TEXTS,
    )


STACKEXCHANGE_TEXTS = {
    "kudos_on_reply": 'your answer in "{title}" was up-voted',
    "kudos_on_topic": 'your {kind} "{title}" was up-voted',
    "down_vote_on_reply": 'your answer in "{title}" was down-voted',
    "down_vote_on_topic": 'your {kind} "{title}" was down-voted',
    "down_vote_cast": 'you down-voted an answer in "{title}"',
    "solution_accepted": 'your answer in "{title}" was accepted',
    "solution_accepter": 'you accepted {author}\'s answer to "{title}"',
    "removed_as_spam": 'your post in "{title}" was removed as spam',
    "kudos-withdrawn": 'an up-vote of {given_on} in "{title}" was withdrawn',
    "kudos-given": 'a down-vote in "{title}" became an up-vote',
    "down-voted": 'an up-vote in "{title}" became a down-vote',
    "down-vote-withdrawn": 'a down-vote of {given_on} in "{title}" was withdrawn',
    "solution-unaccepted": 'the accepted answer of "{title}" was unaccepted',
    "solution-accepted": 'another answer was accepted for "{title}"',
    "post-removed": 'the post in "{title}" was removed ({note})',
    "post-restored": 'the post in "{title}" was restored',
    "kudos-withdrawn-by-you": 'you withdrew your up-vote of {given_on} in "{title}"',
    "kudos-given-by-you": 'you changed your down-vote in "{title}" to an up-vote',
    "down-voted-by-you": 'you changed your up-vote in "{title}" to a down-vote',
    "down-vote-withdrawn-by-you": 'you withdrew your down-vote of {given_on} in "{title}"',
    "solution-unaccepted-by-you": 'you unaccepted the accepted answer of "{title}"',
    "solution-accepted-by-you": 'you accepted another answer for "{title}"',
}
"""Stack Exchange's words: answers, up-votes (votes are anonymous there)."""
