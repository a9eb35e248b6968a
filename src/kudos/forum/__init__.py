"""The forum: members, topics, replies, kudos, down-votes and solutions.

:mod:`kudos.forum.handlers` is what each of these events does;
:mod:`kudos.forum.reputation` handles Stack Exchange's reputation events
(community wiki, bounties, suggested edits, the association bonus). The
rewards are the policy's ``rewards`` (:class:`kudos.Reward`); the
``Community`` methods are in :mod:`kudos.community`.
"""
