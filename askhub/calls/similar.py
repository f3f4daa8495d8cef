"""Asked before? Earlier calls that match a call being typed and were answered (an accepted
answer) or filled, with their answers: the asker may take one instead of asking anyone,
which is recorded as a deflection on the earlier call.

The routing index finds them: every call is a post of kind "call" (``service.index_call``)
and every accepted answer a post of kind "answer" titled with its call's title, so a new
question matches an earlier one by its words or by its answer."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from askhub.calls.service import CALL_SOURCE, CallError, query_text
from askhub.routing.service import RoutingService
from models import Call, CallKind, CallStatus, Deflection, Person, Post, Reply, ReplyKind

# Accepted answers are posts with this source and the reply's id as external id.
ANSWER_SOURCE = "reply"
NOT_ANSWERED = "This call has no accepted answer or full list to take."


@dataclass(frozen=True)
class Similar:
    call: Call
    score: float
    # The accepted answers (a question) or the volunteers (a filled call).
    answers: list[Reply]


def answered_before(call: Call) -> bool:
    """An earlier call worth offering: an accepted answer, or the volunteers it needed."""
    if call.status == CallStatus.WITHDRAWN:
        return False
    if any(r.accepted for r in call.replies):
        return True
    volunteers = sum(1 for r in call.replies if r.kind == ReplyKind.VOLUNTEER)
    return (
        call.kind == CallKind.VOLUNTEERS and call.needed is not None and volunteers >= call.needed
    )


async def similar_calls(
    session: AsyncSession,
    routing: RoutingService,
    title: str,
    body: str = "",
    tags: list[str] | None = None,
    limit: int = 5,
) -> list[Similar]:
    """Earlier answered or filled calls that match, best first."""
    text = query_text(title, body, tags or [])
    hits = await routing.similar_posts(session, text, {"call", "answer"})
    if not hits:
        return []
    posts = {
        p.id: p
        for p in await session.scalars(select(Post).where(Post.id.in_([pid for pid, _ in hits])))
    }
    reply_ids = [
        int(p.external_id)
        for p in posts.values()
        if p.source == ANSWER_SOURCE and p.external_id and p.external_id.isdigit()
    ]
    call_of_reply: dict[int, int] = {
        reply_id: call_id
        for reply_id, call_id in await session.execute(
            select(Reply.id, Reply.call_id).where(Reply.id.in_(reply_ids))
        )
    }
    best: dict[int, float] = {}
    for post_id, score in hits:
        post = posts.get(post_id)
        if post is None or not post.external_id or not post.external_id.isdigit():
            continue
        if post.source == CALL_SOURCE:
            call_id = int(post.external_id)
        elif post.source == ANSWER_SOURCE and int(post.external_id) in call_of_reply:
            call_id = call_of_reply[int(post.external_id)]
        else:
            continue
        best[call_id] = max(best.get(call_id, 0.0), score)
    calls = (
        await session.scalars(
            select(Call)
            .where(Call.id.in_(best))
            .options(
                selectinload(Call.asker), selectinload(Call.replies).selectinload(Reply.person)
            )
        )
    ).all()
    found = [
        Similar(
            call=call,
            score=round(best[call.id], 4),
            answers=[
                r
                for r in call.replies
                if r.accepted
                or (call.kind == CallKind.VOLUNTEERS and r.kind == ReplyKind.VOLUNTEER)
            ],
        )
        for call in calls
        if answered_before(call)
    ]
    found.sort(key=lambda s: (-s.score, -s.call.id))
    return found[:limit]


async def take(session: AsyncSession, call: Call, person: Person, query: str) -> int:
    """``person`` takes ``call``'s answers instead of asking ``query``: a deflection on the
    earlier call. Returns how many deflections the call has now."""
    if not answered_before(call):
        raise CallError(NOT_ANSWERED)
    session.add(Deflection(call_id=call.id, person_id=person.id, query=query.strip()[:300]))
    await session.flush()
    return await deflections(session, call)


async def deflections(session: AsyncSession, call: Call) -> int:
    return int(
        await session.scalar(
            select(func.count()).select_from(Deflection).where(Deflection.call_id == call.id)
        )
        or 0
    )
