"""Who is likely to know good candidates for a referral (a vacancy or an event to share).

Knowing the field is the routing's evidence; knowing *people* is the network. A referral
travels through people who have helped many colleagues, passed calls on to someone who knew
better, or whose earlier share links brought visitors. The measure is deliberately simple and
explainable:

    reach   = distinct colleagues helped (answered, volunteered for or forwarded their calls)
              + calls forwarded + visitors their earlier referral links brought (at most 20)
    network = log(1 + reach) / log(1 + 30), at most 1
    score   = evidence score × (1 + 0.5 × network)

all counted over the year before the call. Only people who passed the relevance floor on
evidence are re-ranked, so nobody is asked about a vacancy merely for being well connected;
among people who know the field alike, the connected come first.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from askhub.routing.service import RoutedPerson
from models import Call, Reply, ReplyKind, ShareLink, ShareVisits

NETWORK_WEIGHT = 0.5
NETWORK_CAP = 30
VISITS_CAP = 20
WINDOW = timedelta(days=365)


@dataclass(frozen=True)
class Network:
    """How connected one person is, over the year before a call."""

    helped: int = 0
    forwarded: int = 0
    visits: int = 0

    @property
    def reach(self) -> int:
        return self.helped + self.forwarded + min(self.visits, VISITS_CAP)

    @property
    def score(self) -> float:
        return min(1.0, math.log1p(self.reach) / math.log1p(NETWORK_CAP))


async def networks(
    session: AsyncSession, person_ids: Sequence[int], now: datetime
) -> dict[int, Network]:
    """Each person's network (people with none are left out)."""
    if not person_ids:
        return {}
    since = now - WINDOW
    helped = dict(
        (
            await session.execute(
                select(Reply.person_id, func.count(distinct(Call.asker_id)))
                .join(Call, Call.id == Reply.call_id)
                .where(
                    Reply.person_id.in_(person_ids),
                    Reply.person_id != Call.asker_id,
                    Reply.kind.in_([ReplyKind.ANSWER, ReplyKind.VOLUNTEER, ReplyKind.FORWARD]),
                    Reply.created_at >= since,
                    Reply.created_at <= now,
                )
                .group_by(Reply.person_id)
            )
        ).all()
    )
    forwarded = dict(
        (
            await session.execute(
                select(Reply.person_id, func.count())
                .where(
                    Reply.person_id.in_(person_ids),
                    Reply.kind == ReplyKind.FORWARD,
                    Reply.created_at >= since,
                    Reply.created_at <= now,
                )
                .group_by(Reply.person_id)
            )
        ).all()
    )
    visits = dict(
        (
            await session.execute(
                select(ShareLink.person_id, func.sum(ShareVisits.visits))
                .join(ShareVisits, ShareVisits.link_id == ShareLink.id)
                .where(
                    ShareLink.person_id.in_(person_ids),
                    ShareVisits.day >= since.date(),
                    ShareVisits.day <= now.date(),
                )
                .group_by(ShareLink.person_id)
            )
        ).all()
    )
    found = {}
    for pid in person_ids:
        network = Network(
            int(helped.get(pid) or 0), int(forwarded.get(pid) or 0), int(visits.get(pid) or 0)
        )
        if network.reach:
            found[pid] = network
    return found


async def rank_for_referral(
    session: AsyncSession, routed: Sequence[RoutedPerson], now: datetime
) -> tuple[list[RoutedPerson], dict[int, Network]]:
    """``routed`` (people who know the field) re-ranked by evidence and network together,
    ranks numbered again from 1; and each person's network."""
    found = await networks(session, [r.person.id for r in routed], now)

    def blended(item: RoutedPerson) -> float:
        network = found.get(item.person.id)
        return item.score * (1 + NETWORK_WEIGHT * (network.score if network else 0.0))

    order = sorted(routed, key=lambda r: (-blended(r), r.rank))
    ranked = [
        replace(item, score=round(blended(item), 6), rank=rank)
        for rank, item in enumerate(order, start=1)
    ]
    return ranked, found
