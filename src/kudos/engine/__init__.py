"""The engine: applies one event in one transaction.

* :mod:`kudos.engine.core`: the context a handler works in, the registration
  decorators (``handles``, ``after_event``, ...) and ``apply``;
* :mod:`kudos.engine.base`: what every capability's ``Community`` methods share
  (transactions, retries, the read cache, notifications);
* :mod:`kudos.engine.registry`: imports every capability's handlers once;
* :mod:`kudos.engine.caps`, :mod:`kudos.engine.bulk`,
  :mod:`kudos.engine.refusals`: caps, batch preloading, remembered refusals;
* :mod:`kudos.engine.spill`: a document's bounded list, later items as documents.
"""
