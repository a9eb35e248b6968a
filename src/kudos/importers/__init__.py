"""Readers of other systems' histories, turning them into kudos events.

* :mod:`kudos.importers.stackexchange`: a Stack Exchange data dump folder
  (``Posts.xml``, ``Votes.xml``, ``Users.xml``).
"""

from __future__ import annotations

__all__ = ["stackexchange"]

from . import stackexchange
