"""Explaining a community in words: statement lines, the policy as a table, a change's impact.

``texts`` holds the templates (pure data the policy carries); ``lines`` renders
a statement's lines from them, ``table`` the policy as rows and ``report``
what :meth:`kudos.Community.simulate` found, member by member.
"""
