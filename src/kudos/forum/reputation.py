"""Handlers for reputation facts beyond votes and solutions (Stack Exchange's own).

Documents kept here (kind: key -> data):

* ``bounty``: bounty id -> topic, by, amount, event_id, awarded_to
  (ref = topic; status = ``open``/``awarded``/``refunded``);
* ``association``: member id -> event_id (the bonus is granted once).

Community wiki is a flag on the ``post`` document (``wiki``, ``wiki_at``);
the vote handlers in :mod:`kudos.forum.handlers` read it.
"""

from __future__ import annotations

from ..engine.core import Context, handles
from ..events import (
    AssociationBonusGranted,
    BountyAwarded,
    BountyOffered,
    BountyRefunded,
    PostMadeWiki,
    SuggestedEditApproved,
)

BOUNTY_OFFERED = "bounty_offered"
BOUNTY_AWARDED = "bounty_awarded"


@handles(PostMadeWiki)
def _made_wiki(ctx: Context, event: PostMadeWiki) -> None:
    post = ctx.post(event.post)
    ctx.require(not post.wiki, f"post {event.post!r} is already community wiki")
    ctx.not_before(post, f"making {post.id!r} community wiki")
    ctx.update("post", post.id, wiki=True, wiki_at=ctx.at.isoformat())


@handles(BountyOffered)
def _offered(ctx: Context, event: BountyOffered) -> None:
    ctx.member(event.by)
    topic = ctx.post(event.topic)
    ctx.require(not topic.removed, f"topic {event.topic!r} was removed; it takes no bounty")
    ctx.require(topic.kind != "reply", f"{event.topic!r} is a reply; offer bounties on a topic")
    ctx.not_before(topic, f"bounty {event.bounty!r}")
    ctx.require(
        ctx.tx.get("bounty", event.bounty) is None,
        f"bounty {event.bounty!r} was already offered; give each bounty its own id",
    )
    ctx.require_privilege(event.by, "set_bounty", f"offer a bounty on {event.topic!r}")
    if not ctx.trusted:
        have = ctx.balance(event.by, "reputation")
        ctx.require(
            have >= event.amount,
            f"member {event.by!r} has {have} reputation and cannot offer {event.amount}",
        )
    ctx.put(
        "bounty",
        event.bounty,
        {
            "topic": event.topic,
            "by": event.by,
            "amount": event.amount,
            "event_id": ctx.event_id,
            "awarded_to": None,
        },
        ref=event.topic,
        status="open",
    )
    ctx.credit(
        event.by,
        "reputation",
        -event.amount,
        action=BOUNTY_OFFERED,
        subject=event.topic,
        reason=f"offered a bounty of {event.amount} on {event.topic!r}",
        capped=False,
        floored=False,
    )
    ctx.touched.add(event.by)


def _open_bounty(ctx: Context, bounty: str, what: str) -> dict[str, object]:
    doc = ctx.tx.get("bounty", bounty)
    ctx.require(doc is not None, f"unknown bounty {bounty!r}; report it with offer_bounty() first")
    assert doc is not None
    ctx.require(doc.status == "open", f"bounty {bounty!r} is {doc.status}; it cannot be {what}")
    ctx.not_older(
        ctx.fact_at(doc.data["event_id"]),
        f"bounty {bounty!r} {what}",
        "it was offered",
        "the offer",
    )
    return dict(doc.data)


@handles(BountyAwarded)
def _awarded(ctx: Context, event: BountyAwarded) -> None:
    data = _open_bounty(ctx, event.bounty, "awarded")
    reply = ctx.post(event.reply)
    ctx.not_before(reply, f"bounty {event.bounty!r} awarded")
    ctx.require(
        reply.kind == "reply" and reply.topic == data["topic"],
        f"{event.reply!r} is not a reply on {data['topic']!r}; award the bounty to one of its",
    )
    ctx.require(
        reply.author != data["by"],
        f"member {data['by']!r} cannot award their own bounty to themselves",
    )
    amount = event.amount if event.amount is not None else int(str(data["amount"]))
    data["awarded_to"] = reply.id
    ctx.put("bounty", event.bounty, data, ref=str(data["topic"]), status="awarded")
    ctx.credit(
        reply.author,
        "reputation",
        amount,
        action=BOUNTY_AWARDED,
        subject=reply.id,
        reason=f"bounty {event.bounty!r} awarded to reply {reply.id!r}",
        capped=False,
    )
    ctx.touched.add(reply.author)


@handles(BountyRefunded)
def _refunded(ctx: Context, event: BountyRefunded) -> None:
    data = _open_bounty(ctx, event.bounty, "refunded")
    ctx.require(
        ctx.member(event.by).is_staff or ctx.privilege(event.by, "moderate") is True,
        f"member {event.by!r} may not refund bounty {event.bounty!r}: "
        "only staff and moderators can",
    )
    ctx.reverse_event(str(data["event_id"]), f"bounty {event.bounty!r} refunded ({event.reason})")
    ctx.put("bounty", event.bounty, data, ref=str(data["topic"]), status="refunded")


@handles(SuggestedEditApproved)
def _edit_approved(ctx: Context, event: SuggestedEditApproved) -> None:
    ctx.member(event.member)
    post = ctx.post(event.post)
    ctx.require(not post.removed, f"post {event.post!r} was removed; it takes no edits")
    ctx.not_before(post, f"the approval of edit {event.edit!r}")
    ctx.award(
        event.member,
        "edit_approved",
        subject=post.id,
        reason=f"suggested edit {event.edit!r} of {post.id!r} approved",
    )
    ctx.touched.add(event.member)


@handles(AssociationBonusGranted)
def _association(ctx: Context, event: AssociationBonusGranted) -> None:
    ctx.member(event.member)
    ctx.require(
        ctx.tx.get("association", event.member) is None,
        f"member {event.member!r} already has the association bonus; it is granted once",
    )
    ctx.put("association", event.member, {"event_id": ctx.event_id})
    ctx.award(
        event.member,
        "association_bonus",
        subject=None,
        reason="association bonus: an account in good standing elsewhere on the network",
    )
    ctx.touched.add(event.member)
