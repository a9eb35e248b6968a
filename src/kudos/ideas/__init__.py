"""Ideas: a voting board with budgets, a status workflow and rewards for authors.

Members propose ideas (topics posted with ``kind="idea"``), other members vote
for them (:meth:`IdeasAPI.vote_idea`, one vote per member per idea, never on
their own), staff move them through a workflow
(:meth:`IdeasAPI.set_idea_status`), and the community rewards the members
whose ideas it plans and implements. Everything is the policy's ``ideas``
section, :class:`IdeaRules`, plus four actions of ``policy.rewards``:

* ``idea_vote_received``: the author, per vote (at most
  :attr:`IdeaRules.max_rewarded_votes` votes an idea); a withdrawn vote takes
  its reward back;
* ``idea_milestone``: the author, when the idea reaches each of
  :attr:`IdeaRules.milestones` votes (taken back if it falls below);
* ``idea_planned``: the author and co-authors, once, when the idea is first
  planned (or goes straight to ``in_progress`` or ``implemented``); taken back
  if it is declined before being implemented;
* ``idea_implemented``: the author and co-authors, once, when implemented;
  it stays even if the idea later moves on.

Removing an idea (``remove_post``) takes back everything it earned.

**Vote budgets** (Discourse's topic voting): with :attr:`IdeaRules.vote_budget`
or :attr:`IdeaRules.budget_by_rank` a member holds at most that many *open*
votes, votes on ideas not yet closed. Closing an idea (``implemented``,
``declined``, ``duplicate``: :attr:`IdeaRules.closed`) returns its votes to
their voters' budgets; reopening it takes them again, even past the budget
(the member then votes again only once under it).

**Duplicates**: marking an idea a duplicate of another merges its votes into
that one (a member who voted on both keeps one vote) and, by default, credits
its author as a co-author of the other.

Documents kept (kind: key -> data), rebuilt exactly by replay:

* ``idea``: idea id -> status, history, co-authors, duplicates, milestones and
  bonuses held (ref = author, status = the idea's status, or ``removed``);
* ``idea_vote``: :func:`kudos.forum.handlers.vote_key` (idea, voter) -> the vote
  (ref = idea, status ``active``, ``withdrawn``, ``merged`` or ``removed``);
* ``idea_ballot``: the same key -> the voter's side of it (ref = voter, status
  ``open`` while it counts against the budget, ``closed`` while its idea is
  closed, else as the vote).

Counters: ``idea_votes`` per idea (subject = the idea) in scopes ``all``,
``status:<s>``, ``tag:<t>``, ``product:<p>``, ``status:<s>|tag:<t>``,
``status:<s>|product:<p>`` (the board) and ``day:<YYYY-MM-DD>`` (the trend
board: still-active votes by the day they were cast); ``idea_votes_cast`` per
voter (net of withdrawals) and ``ideas_implemented`` per author and co-author
(what leaderboards and badges read).

Notifications: ``idea_status_changed`` (to the author, co-authors and every
voter, not to whoever changed it) and ``idea_milestone`` (to the author, the
first time each milestone is reached).

>>> import kudos
>>> from kudos.testing import FakeClock
>>> c = kudos.Community(clock=FakeClock())
>>> for m in ("carol", "alice", "bob"):
...     _ = c.join(m)
>>> _ = c.join("staff1", role="staff")
>>> _ = c.post_topic("i1", author="carol", kind="idea", title="eSIM support")
>>> _ = c.vote_idea("i1", voter="alice")
>>> _ = c.vote_idea("i1", voter="bob")
>>> c.set_idea_status("i1", "planned", by="staff1").total("carol")
100
>>> print(*[(i.id, i.status, i.votes) for i in c.idea_board()])
('i1', 'planned', 2)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_submodule_names
from .rules import ACTIONS as ACTIONS
from .rules import CLOSED as CLOSED
from .rules import DEFAULT_TRANSITIONS as DEFAULT_TRANSITIONS
from .rules import STATUSES as STATUSES
from .rules import Idea as Idea
from .rules import IdeaRules as IdeaRules
from .rules import IdeaStatusChange as IdeaStatusChange
from .rules import IdeaVote as IdeaVote
from .rules import preset as preset

if TYPE_CHECKING:
    from .api import IdeasAPI as IdeasAPI
    from .handlers import vote_budget as vote_budget

__all__ = [
    "ACTIONS",
    "CLOSED",
    "DEFAULT_TRANSITIONS",
    "STATUSES",
    "Idea",
    "IdeaRules",
    "IdeaStatusChange",
    "IdeaVote",
    "IdeasAPI",
    "preset",
    "vote_budget",
]

# The engine-side names load on first use, so importing the rules loads no engine.
__getattr__ = lazy_submodule_names(__name__, {"IdeasAPI": "api", "vote_budget": "handlers"})
