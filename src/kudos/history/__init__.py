"""Policy history: the store remembers its policy, and a change of policy is a fact.

* :mod:`kudos.history.rules`: a policy's content as JSON, its fingerprint,
  whether two policies hold the same settings, and the settings they differ
  in (pure; no engine, no store);
* :mod:`kudos.history.timeline`: which version values a fact;
* :mod:`kudos.history.handlers`: the engine half: what a policy change
  books, and replaying the log under the version in force for each fact;
* :mod:`kudos.history.state`: which policy a ``Community`` applies, checked
  against its store in every transaction;
* :mod:`kudos.history.api`: :meth:`kudos.Community.change_policy` and
  :meth:`kudos.Community.policy_history`.
"""

from __future__ import annotations

from .rules import differences, fingerprint, same_settings, to_json

__all__ = ["differences", "fingerprint", "same_settings", "to_json"]
