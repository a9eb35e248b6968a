"""Referrals: a member brings in a customer and is rewarded once it sticks.

A referral is recorded when a new member joins through someone
(``join("bob", referred_by="alice")`` or ``join("bob", referral_code=code)``)
or is reported later (``refer("alice", "bob")``). It then moves through:

* ``pending``: waiting for the host to say the new member became a real
  customer (:meth:`ReferralsAPI.qualify_referral`, e.g. on SIM activation or
  first top-up); after the policy's window it ``expired`` (a sweep,
  :meth:`ReferralsAPI.expire_referrals`);
* ``qualified``: both are rewarded (the ``referral_qualified`` and
  ``referral_welcome`` actions of ``policy.rewards``, the section's caps and
  bonuses); within the revocation window the host may report that the
  customer left or charged back, and the referral is ``revoked``: every
  reward is taken back by reversal;
* ``held``: it qualified but a fraud rule fired (a fingerprint shared with the
  referrer, or one seen on too many recent referrals); staff approve it
  (rewarded, ``qualified``) or reject it (``rejected``, nothing paid) with
  :meth:`ReferralsAPI.review_referral`.

Self-referrals, referral cycles and referring a member twice are refused
outright. The rules are the policy's ``referrals`` section,
:class:`ReferralRules` (see ``docs/referrals.md``).

Documents kept (kind: key -> data, rebuilt exactly by replay):

* ``referral``: the new member -> the referral (ref = referrer, status = its state);
* ``referral_code``: code -> the member it belongs to (ref = member);
* ``fingerprint``: fingerprint and member -> when it was seen (ref = fingerprint);
* ``member_fingerprints``: member -> every fingerprint reported for them.

Counters: ``referrals`` (qualified referrals of a referrer, all-time, per
period and per day, what leaderboards rank); ``cap:referrals`` (rewarded
referrals per period and ``ever``) and ``cap:referral_bonus`` (live bonuses per
tier), for the caps and bonuses; and the programme's figures
``referrals_<status>`` and ``referral_points`` under the empty subject (per
period the referral was made in, and all-time).

Notifications: ``referral_qualified`` (to the referrer), ``referral_welcome``
(to the new member), ``referral_held`` (to the referrer, and with the reasons
to every staff member and moderator), ``referral_rejected``,
``referral_revoked`` and ``referral_expired`` (to the referrer).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_submodule_names
from .rules import ACTIONS as ACTIONS
from .rules import STATUSES as STATUSES
from .rules import Referral as Referral
from .rules import ReferralBonus as ReferralBonus
from .rules import ReferralFigures as ReferralFigures
from .rules import ReferralRules as ReferralRules
from .rules import preset as preset

if TYPE_CHECKING:
    from .api import ReferralsAPI as ReferralsAPI

__all__ = [
    "ACTIONS",
    "STATUSES",
    "Referral",
    "ReferralBonus",
    "ReferralFigures",
    "ReferralRules",
    "ReferralsAPI",
    "preset",
]

# The engine-side names load on first use, so importing the rules loads no engine.
__getattr__ = lazy_submodule_names(__name__, {"ReferralsAPI": "api"})
