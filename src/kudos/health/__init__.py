"""Response health: how fast and how well the community answers.

The figures a support desk is judged by, kept as facts happen: time to first
response and to the first member (non-staff) response, time to the accepted
solution, the peer-answer ratio (topics solved by members vs staff),
unanswered topics and their age, and answers within the policy's target
(:attr:`HealthRules.target_seconds`), per tag, product, kind, channel or
period: :meth:`kudos.Community.health`. :meth:`kudos.Community.topic_feedback`
tells one topic's story.
"""

from __future__ import annotations

from .model import Answer, HealthFigures, HealthReport, Timing, TopicFeedback
from .rules import GROUPINGS, HealthRules

__all__ = [
    "GROUPINGS",
    "Answer",
    "HealthFigures",
    "HealthReport",
    "HealthRules",
    "Timing",
    "TopicFeedback",
]
