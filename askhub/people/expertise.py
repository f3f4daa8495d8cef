"""The expertise AskHub infers from a person's posts, and the corrections they make to it
(the profile page, the API and the export all use these rules).

Hidden topics are kept in the person's skill list with a leading ``-`` ("-datacenter"): no new
table, they travel with the profile through the API and the export, and the pages show them as
hidden rather than as skills.
"""

from __future__ import annotations

import re
from collections import Counter

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Person, Post, PostKind

HIDDEN_PREFIX = "-"
MAX_TOPIC = 49  # a skill is at most 50 characters, the prefix included

_WORD = re.compile(r"[^\W\d_][\w&+-]{3,}", re.UNICODE)
_STOP = frozenset(
    """
    about after also been before being between both could does doing during each from have
    here into just like make many more most much need only other over same should some such
    than that their them then there these they this those through under very want were what
    when where which while will with would your lessons
    aan achter alle alles als andere bij daar daarna daarom deze dien die dingen door een
    eens eigen elke geen haar heeft hebben heel hier hoe hun iets ieder jaar kan kunnen maar
    meer met moet naar niet nieuwe omdat onder onze ook over tegen toch tot tussen uit vaak
    van veel voor waar wanneer wat werd wie wij wordt zijn zich zo zoals zonder zou
    """.split()
)


def hidden_topics(person: Person) -> list[str]:
    return [s[len(HIDDEN_PREFIX) :] for s in person.skills or [] if s.startswith(HIDDEN_PREFIX)]


def visible_skills(person: Person) -> list[str]:
    return [s for s in person.skills or [] if not s.startswith(HIDDEN_PREFIX)]


def normalise(topic: str) -> str:
    return " ".join(topic.split()).lower()[:MAX_TOPIC]


async def inferred_topics(
    session: AsyncSession, person: Person, limit: int = 12
) -> list[tuple[str, int]]:
    """Topics of ``person``'s posts and answers, most frequent first: the tags they used, and
    when there are few, the words their titles share. Hidden topics are left out."""
    posts = (
        await session.scalars(
            select(Post).where(Post.author_id == person.id, Post.kind != PostKind.PROFILE)
        )
    ).all()
    hidden = {normalise(t) for t in hidden_topics(person)}
    tags: Counter[str] = Counter()
    for post in posts:
        tags.update({normalise(t) for t in post.tags or [] if t.strip()})
    topics = [(t, n) for t, n in tags.most_common() if t not in hidden]
    if len(topics) < limit:
        words: Counter[str] = Counter()
        for post in posts:
            words.update({w.lower() for w in _WORD.findall(post.title or "")} - _STOP)
        known = {t for t, _ in topics}
        topics += [
            (w, n)
            for w, n in words.most_common()
            if n > 1 and w not in known and normalise(w) not in hidden
        ]
    return topics[:limit]


def skills_hiding(person: Person, topic: str) -> list[str]:
    """The skill list with ``topic`` hidden (and no longer claimed as a skill)."""
    topic = normalise(topic)
    kept = [s for s in person.skills or [] if normalise(s.lstrip(HIDDEN_PREFIX)) != topic]
    return [*kept, HIDDEN_PREFIX + topic]


def skills_showing(person: Person, topic: str) -> list[str]:
    topic = normalise(topic)
    return [s for s in person.skills or [] if s != HIDDEN_PREFIX + topic]


def skills_adding(person: Person, skill: str) -> list[str]:
    skill = " ".join(skill.split())[:MAX_TOPIC]
    key = normalise(skill)
    kept = [s for s in person.skills or [] if normalise(s.lstrip(HIDDEN_PREFIX)) != key]
    return [*kept, skill]
