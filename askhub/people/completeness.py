"""How complete a profile is, and what is missing: a bio, skills, languages, a first post.

One rule for the profile page, the home page's prompt, the daily digest, the API
(``GET /api/people/me/completeness``) and the ambassadors' figures (a colleague who came
through an ambassador "completed their profile" when nothing is missing).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import msgspec
from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from askhub.i18n import N_, Translator
from askhub.people.expertise import visible_skills
from models import Person, Post, PostKind

# In the order a prompt names them; each counts the same.
PARTS = ("bio", "skills", "languages", "post")
# Posts that show what someone knows. The profile's own post and the calls one asked do not.
OWN_POSTS = (PostKind.POST, PostKind.ANSWER, PostKind.QUESTION)
# What each missing part asks of the reader (pages, digests).
LABELS = {
    "bio": N_("a few lines about what you do"),
    "skills": N_("your skills"),
    "languages": N_("the languages you speak"),
    "post": N_("a first post about something you know"),
}


class Completeness(msgspec.Struct, frozen=True):
    """``score``: the share of the parts present, in percent (0, 25, 50, 75 or 100)."""

    score: int
    missing: list[str]
    complete: bool


def _present(person: Person, has_post: bool) -> dict[str, bool]:
    return {
        "bio": bool((person.bio or "").strip()),
        "skills": bool(visible_skills(person)),
        "languages": bool(person.languages),
        "post": has_post,
    }


def of(person: Person, has_post: bool) -> Completeness:
    present = _present(person, has_post)
    missing = [part for part in PARTS if not present[part]]
    score = round(100 * (len(PARTS) - len(missing)) / len(PARTS))
    return Completeness(score=score, missing=missing, complete=not missing)


async def authors_with_posts(session: AsyncSession, person_ids: Iterable[int]) -> set[int]:
    """Who of these people wrote at least one post of their own (one query)."""
    ids = list(set(person_ids))
    if not ids:
        return set()
    found = await session.scalars(
        select(Post.author_id)
        .where(Post.author_id.in_(ids), Post.kind.in_(OWN_POSTS))
        .group_by(Post.author_id)
    )
    return set(found)


async def completeness(session: AsyncSession, person: Person) -> Completeness:
    return of(person, person.id in await authors_with_posts(session, [person.id]))


async def completeness_of(
    session: AsyncSession, people: Sequence[Person]
) -> dict[int, Completeness]:
    """Each person's completeness, with one query for the posts."""
    posted = await authors_with_posts(session, [p.id for p in people])
    return {p.id: of(p, p.id in posted) for p in people}


def complete_clause() -> ColumnElement[bool]:
    """The same rule as one SQL condition on ``Person`` (for figures over many people, such
    as the dashboard's adoption): a bio, skills, languages and a post of one's own. Skills
    that were all hidden still count here (the list is not empty); the pages use :func:`of`."""
    return and_(
        func.length(func.trim(Person.bio)) > 0,
        func.json_array_length(Person.skills) > 0,
        func.json_array_length(Person.languages) > 0,
        select(Post.id).where(Post.author_id == Person.id, Post.kind.in_(OWN_POSTS)).exists(),
    )


def prompt(t: Translator, found: Completeness) -> str:
    """The gentle prompt for an incomplete profile, in the reader's words ("" when complete)."""
    if found.complete:
        return ""
    wanted = [t(LABELS[part]) for part in found.missing]
    listed = (
        wanted[0]
        if len(wanted) == 1
        else t("{items} and {last}", items=", ".join(wanted[:-1]), last=wanted[-1])
    )
    return t(
        "Your profile is {score}% complete. Add {missing}, so colleagues with a question "
        "can find you.",
        score=found.score,
        missing=listed,
    )
