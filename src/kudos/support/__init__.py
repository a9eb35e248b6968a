"""The support desk a community replaces: what topics mean, how customers feel,
similar topics before posting (deflection), the people involved and the staff on duty.

Customers ask (``question``), solve a problem (``problem``), share an idea
(``idea``), praise someone (``praise``) or just talk (``talk``). The policy's
:class:`SupportRules` says which kinds take a solution, which are voted on as
ideas and which may name the member they praise, and lists the feelings a
topic's author may give it.

>>> import kudos
>>> c = kudos.Community()
>>> _ = c.join("ann"); _ = c.join("bob")
>>> _ = c.post_topic("t1", author="ann", title="No data abroad", feeling="frustrated")
>>> _ = c.post_reply("r1", topic="t1", author="bob")
>>> _ = c.accept_solution("t1", reply="r1", by="ann")
>>> for s in c.similar_topics("data not working abroad"):
...     print(s.topic, s.solution)
t1 r1
>>> c.feelings()["frustrated"]
1
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_submodule_names
from .rules import ACTIONS as ACTIONS
from .rules import FEELINGS as FEELINGS
from .rules import SupportRules as SupportRules

if TYPE_CHECKING:
    from .api import Presence as Presence
    from .api import SimilarTopic as SimilarTopic
    from .api import SupportAPI as SupportAPI

__all__ = ["ACTIONS", "FEELINGS", "Presence", "SimilarTopic", "SupportAPI", "SupportRules"]

# The engine-side names load on first use, so importing the rules loads no engine.
__getattr__ = lazy_submodule_names(
    __name__, {"Presence": "api", "SimilarTopic": "api", "SupportAPI": "api"}
)
