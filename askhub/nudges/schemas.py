"""The in-app inbox as the API, the pages and the data export show it."""

from __future__ import annotations

from datetime import datetime

import msgspec

from askhub.nudges.payload import NudgePayload
from models import Nudge


class InboxItem(msgspec.Struct):
    id: int
    kind: str
    call_id: int | None
    subject: str
    intro: str
    reasons: list[str]
    links: list[dict[str, str]]
    items: list[str]
    created_at: datetime
    seen_at: datetime | None


def item_out(nudge: Nudge) -> InboxItem:
    payload = NudgePayload.from_stored(nudge.payload)
    return InboxItem(
        id=nudge.id,
        kind=str(nudge.kind),
        call_id=nudge.call_id,
        subject=payload.subject,
        intro=payload.intro,
        reasons=list(payload.reasons),
        links=[{"label": x.label, "url": x.url} for x in payload.links],
        items=list(payload.items),
        created_at=nudge.created_at,
        seen_at=nudge.seen_at,
    )
