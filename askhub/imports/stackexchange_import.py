"""``askhub import stackexchange DIR``: a Stack Exchange dump becomes people with post history.

Every owned question and answer of the dump is imported (ownerless posts of deleted users and
other post types are not expertise). The whole dump is read and checked before anything is
written, and all people and posts are written in one transaction, so a malformed dump
imports nothing and an interrupted import leaves nothing half-done. Posts keep their Stack
Exchange ids as external ids, so importing the same dump again adds nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import msgspec

from askhub.context import AppContext
from askhub.i18n import DEFAULT, Translator, translator
from askhub.imports.stackexchange import (
    ANSWER,
    QUESTION,
    SEDump,
    SEPost,
    history_people,
    read_dump,
)
from askhub.people.schemas import PersonIn
from askhub.people.service import upsert_people
from indexer.progress import Progress, silent

SOURCE = "stackexchange"

# PersonIn's limits (askhub/people/schemas.py). Stack Exchange's own limits are lower for
# names, titles and tags, but a dump is outside data: over-long text is cut, never refused.
NAME_MAX = 200
LOCATION_MAX = 200
BIO_MAX = 10_000
TITLE_MAX = 300
# A post body over the schema's limit is truncated: the index chunks long posts anyway and
# 100k characters of one post is far more evidence than any ranking needs.
BODY_MAX = 100_000
TAG_MAX = 50
TAGS_PER_POST = 20
# A person may carry at most this many posts; for the rare user above it (the busiest users of
# the largest sites) the most recent posts are kept, as they say most about current expertise.
POSTS_PER_PERSON = 10_000


def _cut(value: object, limit: int) -> str:
    return str(value or "")[:limit]


def _fit_post(post: Mapping[str, object]) -> dict[str, object]:
    title = _cut(post.get("title"), TITLE_MAX).strip()
    # The schema needs a non-empty body; a post whose HTML held no text (an image only, say)
    # stands for its title so it still counts as evidence of the topic.
    body = _cut(post.get("body"), BODY_MAX).strip() or title or "(no text)"
    raw_tags = post.get("tags") or []
    tags = [
        _cut(tag, TAG_MAX)
        for tag in (raw_tags if isinstance(raw_tags, list) else [])
        if str(tag or "").strip()
    ]
    return {**post, "title": title, "body": body, "tags": tags[:TAGS_PER_POST]}


def person_records(people: Iterable[Mapping[str, object]]) -> list[PersonIn]:
    """``history_people`` dicts as validated import records, cut to PersonIn's limits."""
    records: list[PersonIn] = []
    for person in people:
        raw_posts = person.get("posts") or []
        posts = list(raw_posts) if isinstance(raw_posts, list) else []
        location = _cut(person.get("location"), LOCATION_MAX).strip()
        fitted = {
            **person,
            "name": _cut(person.get("name"), NAME_MAX).strip() or str(person["handle"]),
            "location": location or None,
            "bio": _cut(person.get("bio"), BIO_MAX),
            # history_people lists posts oldest first: keep the newest when there are too many.
            "posts": [_fit_post(p) for p in posts[-POSTS_PER_PERSON:]],
        }
        records.append(msgspec.convert(fitted, PersonIn))
    return records


def owned_posts(dump: SEDump) -> list[SEPost]:
    """Every question and answer with an owner, oldest first."""
    owned = [p for p in dump.posts if p.owner_id is not None and p.post_type in (QUESTION, ANSWER)]
    return sorted(owned, key=lambda p: (p.created_at, int(p.id)))


def dump_records(dump: SEDump, posts: Sequence[SEPost] | None = None) -> list[PersonIn]:
    """Import records for the owners of ``posts`` (default: every owned question and answer)."""
    return person_records(history_people(dump, owned_posts(dump) if posts is None else posts))


async def import_records(
    context: AppContext,
    records: Sequence[PersonIn],
    progress: Progress = silent,
    t: Translator | None = None,
) -> tuple[str, int]:
    """Write people and posts in one transaction, then embed what has no vector yet; the
    summary is in ``t``'s language (English without one)."""
    t = t or translator(DEFAULT)
    async with context.sessions() as session, session.begin():
        result = await upsert_people(session, records, source=SOURCE)
    embedded = await context.routing.embed_missing(context.sessions, progress)
    posts = sum(len(r.posts) for r in records)
    return t(
        "{people} people ({created} new, {updated} updated), {posts} posts ({added} added, "
        "{removed} removed), {embedded} embedded",
        people=len(records),
        created=result.created,
        updated=result.updated,
        posts=posts,
        added=result.posts_added,
        removed=result.posts_removed,
        embedded=embedded,
    ), embedded


async def import_stackexchange(
    context: AppContext, folder: Path, progress: Progress = silent, t: Translator | None = None
) -> str:
    """Import a Stack Exchange dump folder; raises DumpError (nothing written) when malformed."""
    t = t or translator(DEFAULT)
    dump = read_dump(folder)
    records = dump_records(dump)
    summary, _ = await import_records(context, records, progress, t)
    return t("askhub: imported {folder}: {summary}", folder=folder.name, summary=summary)
