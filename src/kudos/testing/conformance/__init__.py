"""The store conformance suite: subclass :class:`StoreConformance` to prove a store.

::

    import pytest
    from kudos.testing.conformance import StoreConformance

    class TestMyStore(StoreConformance):
        @pytest.fixture
        def kudos_store(self):
            return MyStore(...)   # a fresh, empty store

The classes are named without a ``Test`` prefix so pytest collects only your
subclass. Each capability has its own class, should you want to prove a part.
"""

from __future__ import annotations

from .abuse import (
    AbuseConformance,
    AbuseReversalConformance,
    AbuseReviewConformance,
    PayoutHoldConformance,
)
from .channels import ChannelConformance
from .core import CoreConformance
from .health import HealthConformance
from .history import PolicyHistoryConformance
from .ideas import IdeaConformance
from .inputs import InputConformance
from .leaderboards import LeaderboardConformance
from .payback import PaybackConformance
from .recognition import RecognitionConformance
from .referrals import ReferralConformance
from .support import SupportConformance

__all__ = [
    "AbuseConformance",
    "AbuseReversalConformance",
    "AbuseReviewConformance",
    "ChannelConformance",
    "CoreConformance",
    "HealthConformance",
    "IdeaConformance",
    "InputConformance",
    "LeaderboardConformance",
    "PaybackConformance",
    "PayoutHoldConformance",
    "PolicyHistoryConformance",
    "RecognitionConformance",
    "ReferralConformance",
    "StoreConformance",
    "SupportConformance",
]


class StoreConformance(
    CoreConformance,
    InputConformance,
    RecognitionConformance,
    ReferralConformance,
    IdeaConformance,
    PaybackConformance,
    LeaderboardConformance,
    AbuseConformance,
    AbuseReviewConformance,
    PolicyHistoryConformance,
    AbuseReversalConformance,
    PayoutHoldConformance,
    SupportConformance,
    ChannelConformance,
    HealthConformance,
):
    """Every behaviour a kudos store must have."""
