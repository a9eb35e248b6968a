"""Ready-made policies, each citing where its numbers come from.

Use one as it is, or as a starting point::

    policy = kudos.policies.giffgaff().evolve(staff_earn=True)
"""

from __future__ import annotations

from . import ideas, leaderboards, payback, recognition, referrals
from .periods import Periods
from .policy import Cap, Policy, Reward

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
    ====================  ========  ==========  ==========================================

    Caps: 1,500 points per member per calendar month, giffgaff's Layer-2
    community cap of £15/month (Community Payback 2.0, June 2015). Periods: 1
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
                ),
            ),
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


def stackexchange() -> Policy:
    """Stack Exchange reputation: no points, reputation with a daily cap.

    ======================  ==========  ================================================
    action                  reputation  source
    ======================  ==========  ================================================
    answer up-voted         +10         SE rules (Springer 2019 table; Apache Answer)
    question up-voted       +5          since 2010-03 (stackoverflow.blog); a 2019
                                        return to +10 is unconfirmed
    answer down-voted       -2          to the author
    down-vote cast          -1          to the voter, on answers only
    question down-voted     -2
    answer accepted         +15         to the answerer
    accepting               +2          to the asker, not for their own answer
    post removed as spam    -100
    ======================  ==========  ================================================

    Cap: 200 reputation per UTC day from up-votes; accepted answers are
    exempt. Up-voting needs 15 reputation, down-voting 125 (the privilege
    table of graduated sites). Accepting your own answer earns nothing.
    Reversals (unvote, unaccept, removal) take back exactly what was given,
    so they respect the cap. Periods are calendar months (reputation
    leagues); there is no payout.
    """
    return Policy(
        name="stackexchange",
        rewards={
            "kudos_on_reply": Reward(reputation=10),
            "kudos_on_topic": Reward(reputation=5),
            "down_vote_on_reply": Reward(reputation=-2),
            "down_vote_on_topic": Reward(reputation=-2),
            "down_vote_cast": Reward(reputation=-1),
            "solution_accepted": Reward(reputation=15),
            "solution_accepter": Reward(reputation=2),
            "removed_as_spam": Reward(reputation=-100),
        },
        caps=(
            Cap(
                account="reputation",
                per="day",
                limit=200,
                actions=("kudos_on_reply", "kudos_on_topic"),
            ),
        ),
        staff_earn=False,
        down_votes=True,
        min_reputation_to_give_kudos=15,
        min_reputation_to_down_vote=125,
        self_accept_rewards=False,
        periods=Periods(kind="month", timezone="UTC"),
        recognition=recognition.preset("stackexchange"),
        referrals=referrals.preset("stackexchange"),
        ideas=ideas.preset("stackexchange"),
        payback=payback.preset("stackexchange"),
        leaderboards=leaderboards.preset("stackexchange"),
    )
