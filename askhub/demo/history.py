"""Eight weeks of calls for the demo organisation, so the dashboard has a history to show.

Most questions are on topics Telenova has experts for (their profiles and posts in
``organisation.py``): those experts answer, within minutes to a day, and now and then forward
a question to a colleague who answers. Four topics nobody at Telenova has written about —
the EU AI Act, eSIM provisioning, accessibility (WCAG) and the NIS2 directive — are asked
again and again and mostly stay unanswered: the knowledge gaps a facilitator should see.
Generated from a fixed seed relative to the moment of loading, so the last four weeks (the
dashboard's default period) always hold data.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from askhub.calls.service import CALL_SOURCE
from models import (
    Call,
    CallKind,
    CallStatus,
    Match,
    MatchState,
    Person,
    Post,
    PostKind,
    Reply,
    ReplyKind,
)

DAYS = 56
HISTORY_SEED = 20261130


@dataclass(frozen=True)
class _Topic:
    skills: tuple[str, ...]  # lower-case skills of the people who answer (none: a gap)
    questions: tuple[str, ...]
    asked: int


TOPICS = (
    _Topic(
        ("staalbouw", "steel construction"),
        (
            "Wie weet iets van staalbouw voor een nieuwe antennemast?",
            "Kan iemand een staalconstructie voor ons technisch gebouw narekenen?",
            "Who can review the steel frame drawings for the Zwolle exchange?",
            "Welke boutverbindingen gebruiken we bij stalen masten?",
        ),
        14,
    ),
    _Topic(
        ("kubernetes", "helm"),
        (
            "Hoe rollen we een Helm chart uit op het nieuwe Kubernetes-cluster?",
            "Who knows how to debug a crashing pod in our Kubernetes platform?",
            "Argo CD synct niet meer na de upgrade, wie kan helpen?",
            "Best practice for Kubernetes resource limits on the billing services?",
        ),
        16,
    ),
    _Topic(
        ("glasvezel", "fibre roll-out", "ftth"),
        (
            "Wie kent de graafvergunningen voor glasvezel in Groningen?",
            "How do we plan the FTTH roll-out in a new neighbourhood?",
            "Hoe lang duurt een glasvezelaansluiting in een nieuwbouwwijk?",
        ),
        12,
    ),
    _Topic(
        ("avg", "gdpr", "privacy law"),
        (
            "Moeten we een DPIA doen voor het nieuwe klantportaal?",
            "Who can check our data processing agreement under the GDPR?",
            "Mag ik klantgegevens delen met een leverancier volgens de AVG?",
        ),
        12,
    ),
    _Topic(
        ("power bi", "excel"),
        (
            "Hoe maak ik een DAX-measure voor omzet per regio in Power BI?",
            "Who can help me build a Power BI report on churn?",
            "Excel-draaitabel met data uit twee systemen, wie weet hoe?",
        ),
        12,
    ),
    _Topic(
        ("5g-antennes", "5g antennas", "radioplanning", "radio planning"),
        (
            "Wie weet iets van EMV-metingen bij 5G-antennes?",
            "How do we plan 5G coverage around the new stadium?",
        ),
        9,
    ),
    # The gaps: asked often, and nobody has written about them.
    _Topic(
        (),
        (
            "Valt onze klantenservice-chatbot onder de AI-verordening?",
            "Who knows the EU AI Act obligations for our churn prediction model?",
            "Wat moeten we documenteren voor de AI Act bij het inzetten van AI-modellen?",
            "Is our AI-based credit check a high-risk system under the EU AI Act?",
        ),
        11,
    ),
    _Topic(
        (),
        (
            "Hoe werkt eSIM-provisioning voor zakelijke klanten?",
            "Who knows how to activate an eSIM profile remotely for a customer?",
            "Kunnen we eSIM aanbieden voor IoT-apparaten van klanten?",
            "eSIM QR code activation fails on some phones, who knows why?",
        ),
        10,
    ),
    _Topic(
        (),
        (
            "Voldoet de Mijn Telenova-app aan de toegankelijkheidseisen (WCAG)?",
            "Who can test our web shop for WCAG 2.2 accessibility?",
            "Hoe maken we onze facturen toegankelijk voor schermlezers?",
        ),
        9,
    ),
    _Topic(
        (),
        (
            "Wat betekent de NIS2-richtlijn voor ons als telecomaanbieder?",
            "Who knows which NIS2 incident reporting deadlines apply to us?",
            "Moeten onze leveranciers ook aan NIS2 voldoen?",
        ),
        8,
    ),
)


async def load_history(session: AsyncSession, now: datetime, seed: int = HISTORY_SEED) -> int:
    """Add the demo's calls, asks and replies (call posts without vectors: embed them after).
    Returns how many calls were added; none when the demo already has calls."""
    if await session.scalar(select(Call.id).limit(1)) is not None:
        return 0
    rng = random.Random(seed)
    people = list((await session.scalars(select(Person).order_by(Person.id))).all())
    if len(people) < 10:
        return 0
    by_skill = {
        topic: [p for p in people if {s.lower() for s in p.skills or []} & set(topic.skills)]
        for topic in TOPICS
    }
    added = 0
    for topic in TOPICS:
        experts = by_skill[topic]
        for n in range(topic.asked):
            created = now - timedelta(minutes=rng.randint(90, DAYS * 24 * 60))
            asker = rng.choice([p for p in people if p not in experts])
            title = topic.questions[n % len(topic.questions)]
            call = Call(
                asker_id=asker.id,
                kind=CallKind.QUESTION,
                title=title,
                body="",
                created_at=created,
                wave=1,
                wave_started_at=created,
            )
            session.add(call)
            await session.flush()
            session.add(
                Post(
                    author_id=asker.id,
                    kind=PostKind.CALL,
                    title=title,
                    body="",
                    source=CALL_SOURCE,
                    external_id=str(call.id),
                    created_at=created,
                )
            )
            answered = _answer(rng, session, call, experts, people, now)
            if answered:
                call.status = CallStatus.ANSWERED
            elif created < now - timedelta(days=14):
                call.status = CallStatus.EXPIRED
                call.closed_at = created + timedelta(days=14)
            added += 1
    await session.flush()
    return added


def _answer(
    rng: random.Random,
    session: AsyncSession,
    call: Call,
    experts: list[Person],
    people: list[Person],
    now: datetime,
) -> bool:
    """Ask up to three experts; most answer. Returns whether anyone answered."""
    if not experts:
        # Nobody has evidence: now and then someone answers anyway.
        if rng.random() < 0.1:
            helper = rng.choice([p for p in people if p.id != call.asker_id])
            at = call.created_at + timedelta(hours=rng.uniform(20, 90))
            if at < now:
                session.add(
                    Reply(call_id=call.id, person_id=helper.id, body="Ik denk…", created_at=at)
                )
                return True
        return False
    asked = rng.sample([p for p in experts if p.id != call.asker_id], min(3, len(experts) - 1 or 1))
    answered = False
    for rank, person in enumerate(asked, start=1):
        match = Match(
            call_id=call.id,
            person_id=person.id,
            rank=rank,
            score=1.0 / rank,
            wave=1,
            state=MatchState.NUDGED,
            created_at=call.created_at,
            nudged_at=call.created_at,
        )
        session.add(match)
        roll = rng.random()
        at = call.created_at + timedelta(minutes=int(rng.lognormvariate(4.5, 1.3)) + 3)
        if at >= now:
            continue
        if roll < 0.55:
            match.state, match.replied_at = MatchState.REPLIED, at
            session.add(
                Reply(
                    call_id=call.id,
                    person_id=person.id,
                    body="Zo doen we dat: …",
                    accepted=not answered and rng.random() < 0.5,
                    created_at=at,
                )
            )
            answered = True
        elif roll < 0.7:
            colleague = rng.choice([p for p in experts if p not in asked] or experts)
            if colleague.id == call.asker_id or colleague in asked:
                continue
            match.state, match.replied_at = MatchState.FORWARDED, at
            session.add(
                Reply(
                    call_id=call.id,
                    person_id=person.id,
                    kind=ReplyKind.FORWARD,
                    forward_to_id=colleague.id,
                    body="Dit weet mijn collega beter.",
                    created_at=at,
                )
            )
            later = at + timedelta(minutes=rng.randint(20, 600))
            if later < now:
                session.add(
                    Reply(call_id=call.id, person_id=colleague.id, body="…", created_at=later)
                )
                answered = True
    return answered
