"""The rules for people and posts; controllers, the importer and the CLI call these."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from sqlalchemy import String, cast, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from askhub.i18n import LANGUAGES
from askhub.outbound import UnsafeWebhook, WebhookPolicy
from askhub.people.expertise import visible_skills
from askhub.people.schemas import (
    PersonBrief,
    PersonIn,
    PersonOut,
    PostCreate,
    PostIn,
    PostOut,
    PostUpdate,
    Preferences,
    ProfileUpdate,
)
from askhub.routing.service import RoutingService
from askhub.validation import ConflictError, InputError
from models import Availability, Embedding, Person, Post, PostKind

PROFILE_SOURCE = "profile"
IMPORT_SOURCE = "import"
# An erased person's row stays as a placeholder (their replies point at it) under a handle no
# one can choose ("~" cannot start a handle) and this name; see askhub.privacy.service.
ERASED_HANDLE_PREFIX = "~erased-"
ERASED_NAME = "Former colleague"


def preferences_of(person: Person) -> Preferences:
    return Preferences(
        timezone=person.timezone,
        availability=str(person.availability),
        away_until=person.away_until,
        nudge_budget_per_week=person.nudge_budget_per_week,
        quiet_hours_start=person.quiet_hours_start,
        quiet_hours_end=person.quiet_hours_end,
        channels=list(person.channels or []),
        digest=person.digest,
        webhook_url=person.webhook_url,
        ui_language=person.ui_language,
    )


def person_out(person: Person, private: bool = False) -> PersonOut:
    return PersonOut(
        handle=person.handle,
        name=person.name,
        email=person.email,
        department=person.department,
        location=person.location,
        languages=list(person.languages or []),
        bio=person.bio,
        skills=visible_skills(person),
        role=str(person.role),
        preferences=preferences_of(person) if private else None,
    )


def person_brief(person: Person) -> PersonBrief:
    return PersonBrief(handle=person.handle, name=person.name, department=person.department)


def post_out(post: Post, author: Person) -> PostOut:
    return PostOut(
        id=post.id,
        author=author.handle,
        kind=str(post.kind),
        title=post.title,
        body=post.body,
        tags=list(post.tags or []),
        created_at=post.created_at,
    )


def set_reader_language(person: Person, lang: str) -> None:
    """The language AskHub writes to ``person`` in (pages and nudges), apart from the
    languages they speak (which route calls)."""
    if lang not in LANGUAGES:
        raise InputError("choose one of: {choices}", "lang", choices=", ".join(LANGUAGES))
    person.ui_language = lang


async def get_by_handle(session: AsyncSession, handle: str) -> Person | None:
    """The person with this handle; never an erased placeholder."""
    if handle.startswith(ERASED_HANDLE_PREFIX):
        return None
    return await session.scalar(select(Person).where(Person.handle == handle))


def not_erased() -> ColumnElement[bool]:
    """A filter that leaves out erased placeholders."""
    return Person.handle.not_like(ERASED_HANDLE_PREFIX + "%")


async def list_people(
    session: AsyncSession,
    department: str | None = None,
    q: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Sequence[Person]:
    query = select(Person).where(not_erased()).order_by(Person.handle).limit(limit).offset(offset)
    if department:
        query = query.where(func.lower(Person.department) == department.lower())
    if q:
        like = like_pattern(q)
        query = query.where(
            or_(
                func.lower(Person.name).like(like, escape="\\"),
                func.lower(Person.handle).like(like, escape="\\"),
            )
        )
    return (await session.scalars(query)).all()


def like_pattern(term: str) -> str:
    """A case-insensitive LIKE pattern that finds ``term`` literally (use ``escape="\\"``)."""
    escaped = term.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def search_people(db: AsyncSession, term: str, limit: int = 20) -> Sequence[Person]:
    """People whose name, handle, department or skills contain ``term``."""
    like = like_pattern(term)
    return (
        await db.scalars(
            select(Person)
            .where(
                not_erased(),
                or_(
                    func.lower(Person.name).like(like, escape="\\"),
                    func.lower(Person.handle).like(like, escape="\\"),
                    func.lower(Person.department).like(like, escape="\\"),
                    func.lower(cast(Person.skills, String)).like(like, escape="\\"),
                ),
            )
            .order_by(Person.name)
            .limit(limit)
        )
    ).all()


# Posts written in AskHub (``create_post``) carry this source; imported ones and accepted
# answers are changed where they come from.
EDITABLE_SOURCE = "askhub"


def editable(post: Post) -> bool:
    return post.kind == PostKind.POST and post.source == EDITABLE_SOURCE


async def own_post(session: AsyncSession, author: Person, post_id: int) -> Post | None:
    """One of ``author``'s editable posts, or None (someone else's is "not found" too)."""
    post = await session.get(Post, post_id)
    if post is None or post.author_id != author.id or not editable(post):
        return None
    return post


async def update_post(
    session: AsyncSession, routing: RoutingService, post: Post, data: PostCreate | PostUpdate
) -> Post:
    """Change a post and re-embed it in one transaction: the old words stop matching."""
    if not isinstance(data.title, msgspec.UnsetType):
        post.title = data.title
    if not isinstance(data.body, msgspec.UnsetType):
        post.body = data.body
    if not isinstance(data.tags, msgspec.UnsetType):
        post.tags = list(data.tags)
    # Vectors of every model go; every process's index replays the change (index_change).
    await session.flush()
    await routing.embed_posts(session, [post], every_model=True)
    return post


EMAIL_TAKEN = "This email address belongs to another person."
EMAIL_IS_IDENTITY = (
    "Your email address is how you sign in; it comes from the company directory. "
    "Ask your AskHub admin to change it."
)


async def email_owner(
    session: AsyncSession, email: str, besides: Sequence[int] = ()
) -> Person | None:
    """Who has ``email`` (in any case), other than the people in ``besides``."""
    # lower() on both sides in SQL, as the unique index does: SQLite's lower() folds ASCII
    # only, so Python's str.lower() on one side would miss "Ï@x" held as "Ï@x".
    query = select(Person).where(func.lower(Person.email) == func.lower(email.strip()))
    if besides:
        query = query.where(Person.id.not_in(list(besides)))
    return await session.scalar(query)


async def _store_email(session: AsyncSession, person: Person, email: str | None) -> None:
    """Set an address, or 409 naming ``email`` when someone else has it. The unique index on
    lower(email) decides between two people claiming one address at once."""
    if email is not None and await email_owner(session, email, [person.id]) is not None:
        raise ConflictError(EMAIL_TAKEN, "email")
    try:
        async with session.begin_nested():
            person.email = email
            await session.flush()
    except IntegrityError as exc:
        raise ConflictError(EMAIL_TAKEN, "email") from exc


def profile_text(person: Person) -> tuple[str, str]:
    """The title and body of the post that stands for a person's profile in the index."""
    parts = [person.bio.strip()]
    skills = visible_skills(person)
    if skills:
        parts.append("Skills: " + ", ".join(skills))
    title = " — ".join(p for p in ("Profile", person.department) if p)
    return title, "\n".join(p for p in parts if p)


async def sync_profile_post(session: AsyncSession, person: Person) -> Post | None:
    """Keep the profile post equal to the profile; returns it when it changed (to re-embed)."""
    title, body = profile_text(person)
    post = await session.scalar(
        select(Post).where(Post.source == PROFILE_SOURCE, Post.external_id == str(person.id))
    )
    if not body:
        if post is not None:
            await session.delete(post)
        return None
    if post is None:
        post = Post(
            author_id=person.id,
            kind=PostKind.PROFILE,
            title=title,
            body=body,
            source=PROFILE_SOURCE,
            external_id=str(person.id),
        )
        session.add(post)
    elif (post.title, post.body) == (title, body):
        return None
    else:
        post.title, post.body = title, body
        await session.execute(delete(Embedding).where(Embedding.post_id == post.id))
    await session.flush()
    return post


def _post_key(handle: str, post: PostIn) -> str:
    if post.external_id:
        return post.external_id
    digest = hashlib.sha256(
        "\x1f".join(
            [post.title, post.body, ",".join(post.tags), str(post.created_at or "")]
        ).encode()
    ).hexdigest()[:24]
    return f"{handle}:{digest}"


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    posts_added: int = 0
    posts_removed: int = 0


async def upsert_people(
    session: AsyncSession, records: Sequence[PersonIn], source: str = IMPORT_SOURCE
) -> ImportResult:
    """Create or update people by handle with their posts from ``source``.

    Idempotent: a post is identified by its external id (or a hash of its content), so an
    unchanged post is kept with its vectors, a new one is added, and one no longer in the
    record is removed.
    """
    result = ImportResult()
    existing = {
        p.handle: p
        for p in await session.scalars(
            select(Person).where(Person.handle.in_([r.handle for r in records]))
        )
    }
    await _check_import_emails(session, records, existing)
    # Addresses may move between people of this import: let go of the old ones first.
    moving = [
        p
        for record in records
        if (p := existing.get(record.handle)) is not None
        and (p.email or "").lower() != (record.email or "").lower()
    ]
    for leaving in moving:
        leaving.email = None
    if moving:
        await session.flush()
    for record in records:
        person = existing.get(record.handle)
        if person is None:
            person = Person(handle=record.handle, name=record.name)
            session.add(person)
            result.created += 1
        else:
            result.updated += 1
        person.name = record.name
        person.email = record.email
        person.department = record.department
        person.location = record.location
        person.languages = list(record.languages)
        person.bio = record.bio
        person.skills = list(record.skills)
        try:
            await session.flush()
        except IntegrityError as exc:
            # The unique index on lower(email) caught what the check above could not see
            # (case folding beyond ASCII differs between Python and SQLite): 409, not 500.
            raise ConflictError(EMAIL_TAKEN, "email") from exc
        await sync_profile_post(session, person)

        wanted = {_post_key(record.handle, p): p for p in record.posts}
        have = {
            post.external_id: post
            for post in await session.scalars(
                select(Post).where(Post.author_id == person.id, Post.source == source)
            )
        }
        for key, stale in have.items():
            if key not in wanted:
                await session.delete(stale)
                result.posts_removed += 1
        for key, item in wanted.items():
            post = have.get(key)
            fields = {
                "title": item.title,
                "body": item.body,
                "tags": list(item.tags),
                "kind": PostKind(item.kind),
                "in_reply_to": item.in_reply_to,
            }
            if post is None:
                post = Post(author_id=person.id, source=source, external_id=key, **fields)
                if item.created_at is not None:
                    post.created_at = item.created_at
                session.add(post)
                result.posts_added += 1
            elif any(getattr(post, name) != value for name, value in fields.items()):
                for name, value in fields.items():
                    setattr(post, name, value)
                await session.execute(delete(Embedding).where(Embedding.post_id == post.id))
        await session.flush()
    return result


async def _check_import_emails(
    session: AsyncSession, records: Sequence[PersonIn], existing: dict[str, Person]
) -> None:
    """Every address in an import belongs to one person: refuse (naming both) before writing."""
    claimed: dict[str, str] = {}
    for record in records:
        if record.email is None:
            continue
        address = record.email.strip().lower()
        if address in claimed:
            raise ConflictError(
                "@{handle} and @{other} have the same email address '{email}'",
                "email",
                handle=record.handle,
                other=claimed[address],
                email=record.email,
            )
        claimed[address] = record.handle
    if not claimed:
        return
    ours = {p.id for p in existing.values()}
    holders = await session.scalars(
        select(Person).where(func.lower(Person.email).in_(list(claimed)))
    )
    for holder in holders:
        if holder.id not in ours:
            address = (holder.email or "").lower()
            raise ConflictError(
                "@{handle}'s email address '{email}' belongs to @{holder}",
                "email",
                handle=claimed[address],
                email=address,
                holder=holder.handle,
            )


async def update_profile(
    session: AsyncSession,
    routing: RoutingService,
    person: Person,
    update: ProfileUpdate,
    *,
    email_is_identity: bool = False,
) -> Person:
    """Change what ``update`` sets. An email address must be nobody else's (409); when it is
    how people sign in (``email_is_identity``), nobody changes their own (422)."""
    changes = {
        name: getattr(update, name)
        for name in ProfileUpdate.__struct_fields__
        if getattr(update, name) is not msgspec.UNSET
    }
    if "timezone" in changes:
        try:
            ZoneInfo(changes["timezone"])
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise InputError(
                "unknown time zone '{zone}'", "timezone", zone=changes["timezone"]
            ) from exc
    away_until = changes.get("away_until")
    if away_until is not None and away_until.tzinfo is None:
        raise InputError("away_until needs a time zone, e.g. +01:00", "away_until")
    if "availability" in changes:
        changes["availability"] = Availability(changes["availability"])
    if changes.get("webhook_url"):
        await check_webhook_url(changes["webhook_url"], routing.settings.webhook_allow_hosts)
    if "email" in changes:
        email = changes.pop("email")
        email = email.strip() if email is not None else None
        if (email or "").lower() != (person.email or "").lower():
            if email_is_identity:
                raise InputError(EMAIL_IS_IDENTITY, "email")
            await _store_email(session, person, email)
        elif email != person.email:
            person.email = email  # the same address in another case
    for name, value in changes.items():
        setattr(person, name, value)
    await session.flush()
    changed = await sync_profile_post(session, person)
    if changed is not None:
        await routing.embed_posts(session, [changed])
    return person


async def check_webhook_url(url: str, allow_hosts: Sequence[str] = ()) -> None:
    """Refuse a webhook URL the server must not call (SSRF): 422 naming ``webhook_url``."""
    try:
        await WebhookPolicy(tuple(allow_hosts)).check(url)
    except UnsafeWebhook as exc:
        raise InputError(str(exc), "webhook_url") from exc


async def create_post(
    session: AsyncSession, routing: RoutingService, author: Person, data: PostCreate
) -> Post:
    """Store a post with its vectors in one transaction: searchable at the next routing call."""
    post = Post(
        author_id=author.id, kind=PostKind.POST, title=data.title, body=data.body, tags=data.tags
    )
    session.add(post)
    await session.flush()
    await routing.embed_posts(session, [post])
    return post


async def delete_post(session: AsyncSession, post: Post) -> None:
    """Delete a post with its vectors; every process's index drops it at its next sync."""
    await session.execute(delete(Post).where(Post.id == post.id))
    session.expunge(post)


async def posts_of(
    session: AsyncSession, person: Person, limit: int = 50, offset: int = 0
) -> Sequence[Post]:
    return (
        await session.scalars(
            select(Post)
            .where(Post.author_id == person.id, Post.kind != PostKind.PROFILE)
            .order_by(Post.created_at.desc(), Post.id.desc())
            .limit(limit)
            .offset(offset)
        )
    ).all()
