"""The rules of a call: who it is routed to, who may see what, and what a reply changes."""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import msgspec
from sqlalchemy import ColumnElement, Select, and_, bindparam, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from askhub.auth.service import hash_token
from askhub.calls import notify, reach
from askhub.calls.links import ActionGrant
from askhub.calls.schemas import (
    CallCreate,
    CallOut,
    ForecastOut,
    MatchOut,
    ReachOut,
    Reason,
    ReferralOut,
    ReplyCreate,
    ReplyOut,
)
from askhub.calls.waves import start_next_wave, tell_exhausted
from askhub.i18n import N_, Translator
from askhub.nudges.payload import NudgePayload
from askhub.people.service import get_by_handle, like_pattern, not_erased, person_brief
from askhub.routing.audience import in_audience as person_in_audience
from askhub.routing.audience import members
from askhub.routing.availability import asks_and_waiting, held_back, hold_asking
from askhub.routing.network import Network, rank_for_referral
from askhub.routing.service import Encoded, RoutedPerson, RoutingService
from askhub.settings import Settings
from askhub.validation import VISIBLE, ConflictError, InputError, NotPermitted
from models import (
    Call,
    CallKind,
    CallStatus,
    LinkUse,
    Match,
    MatchState,
    NudgeKind,
    Offer,
    Person,
    Post,
    PostKind,
    Referral,
    Reply,
    ReplyKind,
    Role,
    referral_of,
)


class CallError(InputError):
    """A request that the call's state does not allow (HTTP 409, or 422 naming a field)."""


class AudienceTooSmall(CallError):
    """A volunteers call needs more people than its whole audience holds."""

    def __init__(self, needed: int, size: int) -> None:
        super().__init__(
            N_(
                "needs {needed} volunteers but the audience has only {size} people besides "
                "you: lower 'needed' or widen the audience"
            ),
            "needed",
            needed=needed,
            size=size,
        )
        self.needed = needed
        self.size = size


def _no_nul(value: str, field: str) -> str:
    if "\x00" in value:
        raise CallError("must not contain NUL characters", field)
    return value


# A call in one of these takes no replies and asks nobody.
FINISHED = frozenset({CallStatus.CLOSED, CallStatus.EXPIRED, CallStatus.WITHDRAWN})

# Messages people see; the web pages translate them (askhub/web/i18n.py).
NOT_IN_AUDIENCE = "This call is meant for colleagues in another department or location."
TAKES_NO_REPLIES = "This call takes no more replies."
CALL_FULL = "This call is full: it has all the volunteers it needs."
ALREADY_VOLUNTEERED = "You have already volunteered for this call."
NOT_A_VOLUNTEER = "There is no volunteering of yours to withdraw here."


def query_text(title: str, body: str, tags: Sequence[str]) -> str:
    return "\n".join(part for part in (title, body, " ".join(tags)) if part)


def _validate(data: CallCreate) -> None:
    # The schema says so too; this holds for callers that build a CallCreate themselves.
    if not re.search(VISIBLE, _no_nul(data.title, "title")):
        raise CallError("a title needs words, not only spaces", "title")
    _no_nul(data.body, "body")
    if data.deadline is not None:
        if data.deadline.tzinfo is None:
            raise CallError(
                "deadline must include a time zone, e.g. 2026-12-01T17:00:00+01:00", "deadline"
            )
        if data.deadline <= datetime.now(UTC):
            raise CallError("deadline must be in the future", "deadline")
    if data.kind == "volunteers" and data.needed is None:
        raise CallError("a volunteers call needs 'needed': how many people", "needed")
    if data.kind != "volunteers" and data.needed is not None:
        raise CallError("'needed' is only for volunteers calls", "needed")
    if data.kind == "referral":
        if not data.url:
            raise CallError(REFERRAL_NEEDS_URL, "url")
        public_url(data.url)
    else:
        if data.url is not None:
            raise CallError("'url' is only for referral calls", "url")
        if data.offer is not None:
            raise CallError("'offer' is only for referral calls", "offer")


# Messages people see; the web pages translate them (askhub/web/i18n.py).
REFERRAL_NEEDS_URL = N_("A referral needs the web address of its vacancy or event.")
URL_NOT_PUBLIC = N_(
    "Give a web address that starts with http:// or https://, e.g. https://jobs.example/123."
)


def public_url(value: str) -> str:
    """``value`` when it is an http(s) address with a host and nothing hidden in it (no
    spaces or control characters, no user name or password), in ASCII (a host in its IDNA
    form, other characters percent-encoded) so it fits a redirect's Location header; a
    CallError naming ``url`` otherwise."""
    value = value.strip()
    try:
        parts = urlsplit(value)
        port_ok = parts.port is None or parts.port > 0
        host = (parts.hostname or "").encode("idna").decode("ascii")
    except (ValueError, UnicodeError):
        raise CallError(URL_NOT_PUBLIC, "url") from None
    if (
        parts.scheme.lower() not in ("http", "https")
        or not host
        or not port_ok
        or "@" in parts.netloc
        or re.search(r"[\x00-\x20\x7f-\x9f\\\u2028\u2029]", value)
    ):
        raise CallError(URL_NOT_PUBLIC, "url")
    netloc = (f"[{host}]" if ":" in host else host) + (
        f":{parts.port}" if parts.port is not None else ""
    )
    ascii_url = urlunsplit(
        (
            parts.scheme.lower(),
            netloc,
            quote(parts.path, safe=_URL_SAFE),
            quote(parts.query, safe=_URL_SAFE),
            quote(parts.fragment, safe=_URL_SAFE),
        )
    )
    if len(ascii_url) > 2000:
        raise CallError(URL_NOT_PUBLIC, "url")
    return ascii_url


# Characters a URL may carry as they are (RFC 3986 reserved and unreserved, and % escapes).
_URL_SAFE = "!#$%&'()*+,-./:;=?@[]_~"


class AlreadyPosted(Exception):
    """The asker posted this call before under the same request key: nothing new was stored
    or sent. ``call_id`` is the first post's call."""

    def __init__(self, call_id: int) -> None:
        super().__init__(f"call {call_id} was already posted with this request key")
        self.call_id = call_id


# What a request key may be: what clients send as Idempotency-Key (a UUID, a hash, a counter).
REQUEST_KEY = re.compile(r"[\x21-\x7e]{1,100}")
KEY_REUSED = N_("this key was already used for another call; send a new key for a new call")
KEY_IN_FLIGHT = N_("a request with this key is still being handled; try again in a moment")


async def _claim(session: AsyncSession, asker: Person, request_key: str) -> None:
    """On PostgreSQL, hold the asker's key for this transaction, or refuse (409) while another
    request holds it: a repeat must not wait on the first post's routing holding a database
    connection, or fifty repeats at once drain the pool. SQLite (one process) lets the key's
    unique constraint queue them; its writers take turns anyway."""
    if session.get_bind().dialect.name != "postgresql":
        return
    # Two 32-bit keys (a key space apart from the single-key lock of migration 0007); a hash
    # clash only makes another key of the same asker wait a moment.
    key = zlib.crc32(request_key.encode()) - 2**31
    held = await session.scalar(select(func.pg_try_advisory_xact_lock(asker.id, key)))
    if not held:
        raise ConflictError(KEY_IN_FLIGHT, "Idempotency-Key")


async def _posted_before(
    session: AsyncSession, asker: Person, request_key: str, data: CallCreate
) -> None:
    """Raise AlreadyPosted if ``asker`` posted a call under ``request_key`` (the same call: a
    different one under a reused key is refused, naming the key)."""
    found = (
        await session.execute(
            select(Call.id, Call.kind, Call.title, Call.body).where(
                Call.asker_id == asker.id, Call.request_key == request_key
            )
        )
    ).first()
    if found is None:
        return
    if (str(found.kind), found.title, found.body) != (data.kind, data.title, data.body):
        raise CallError(KEY_REUSED, "Idempotency-Key")
    raise AlreadyPosted(found.id)


async def create_call(
    session: AsyncSession,
    routing: RoutingService,
    settings: Settings,
    asker: Person,
    data: CallCreate,
    now: datetime | None = None,
    request_key: str | None = None,
) -> Call:
    """Store the call and its matches, and ask the first wave, in one transaction. ``now``
    (default: the clock) lets a simulation post on a virtual clock. With ``request_key`` (the
    client's name for this request) a repeat of a post the asker made before raises
    AlreadyPosted instead of posting again, also when both arrive at once."""
    now = now or datetime.now(UTC)
    _validate(data)
    if request_key is not None:
        if not REQUEST_KEY.fullmatch(request_key):
            raise CallError(
                N_("a request key is 1 to 100 visible ASCII characters"), "Idempotency-Key"
            )
        await _claim(session, asker, request_key)
        await _posted_before(session, asker, request_key, data)
    audience = msgspec.to_builtins(data.audience) if data.audience else None
    await check_audience_can_hold(session, data, audience, asker)
    call = Call(
        asker_id=asker.id,
        kind=CallKind(data.kind),
        title=data.title,
        body=data.body,
        tags=list(data.tags),
        needed=data.needed,
        deadline=data.deadline,
        audience=audience,
        created_at=now,
        request_key=request_key,
    )
    if request_key is None:
        session.add(call)
        await session.flush()
    else:
        # The key's unique constraint decides between requests that arrive together: the
        # second insert waits for the first transaction, then fails on the key.
        try:
            async with session.begin_nested():
                session.add(call)
                await session.flush()
        except IntegrityError:
            await _posted_before(session, asker, request_key, data)
            raise
    referral = None
    if call.kind == CallKind.REFERRAL and data.url:
        referral = Referral(
            call_id=call.id, offer=Offer(data.offer or "vacancy"), url=public_url(data.url)
        )
        session.add(referral)
        await session.flush()
    # The call's text is its post's text: encoded once, to route it and to store its vector.
    encoded = await routing.encode_text(query_text(data.title, data.body, data.tags))
    routed = await _route(session, routing, settings, asker, data, audience, now, encoded)
    matches = [
        Match(
            call_id=call.id,
            person_id=match.person.id,
            person=match.person,
            rank=match.rank,
            score=match.score,
            p_answer=match.p_answer,
            evidence=match.reasons,
        )
        for match in routed
    ]
    session.add_all(matches)
    await session.flush()
    # What get_call would load, from what this request holds already (four queries fewer):
    # a new call has these matches (in rank order), no replies, and its people are loaded.
    stored = call
    set_committed_value(stored, "asker", asker)
    set_committed_value(stored, "matches", sorted(matches, key=lambda m: m.rank))
    set_committed_value(stored, "replies", [])
    set_committed_value(stored, "referral", referral)
    if stored.deadline is None or stored.deadline > now:
        asked = await start_next_wave(session, settings, stored, now)
        if not routed and not asked:
            # Nobody passed the relevance floor: say so now, not after the first wave interval.
            await tell_exhausted(session, settings, stored, now)
    # Last: writing vectors takes the vector writers' lock until commit (migration 0007), so
    # concurrent posts queue behind each other for as little as possible.
    await index_call(session, routing, call, encoded)
    return stored


async def _route(
    session: AsyncSession,
    routing: RoutingService,
    settings: Settings,
    asker: Person,
    data: CallCreate,
    audience: dict[str, str] | None,
    now: datetime | None = None,
    encoded: Encoded | None = None,
) -> list[RoutedPerson]:
    """Who a new call is routed to, best first. A question: the few above the relevance floor.
    A volunteers call is open to its whole audience: the best-fitting come first (no floor),
    and ``reach`` asks the rest of the audience after them as the call needs. A referral: the
    people above the floor for its topic, twice as many as a question considers, re-ranked
    by how connected they are (``routing.network``): who knows the field and many colleagues
    is likeliest to know a candidate."""
    k = max(settings.matches_per_call, settings.wave_size * settings.max_waves)
    sized = data.kind == "volunteers" and data.needed
    if sized:
        k = max(
            k, min(reach.RANKED_MAX, math.ceil((data.needed or 0) / reach.prior_rate(settings)))
        )
    referral = data.kind == "referral"
    routed = await routing.route(
        session,
        query_text(data.title, data.body, data.tags),
        k=2 * k if referral else k,
        exclude={asker.id},
        audience=audience,
        tags=data.tags,
        asker=asker.id,
        floor=not sized,
        query_vector=encoded.vectors[0] if encoded is not None else None,
    )
    if referral:
        routed = (await connected_first(session, routed, now or datetime.now(UTC)))[:k]
    return routed


async def connected_first(
    session: AsyncSession, routed: Sequence[RoutedPerson], now: datetime, explain: bool = True
) -> list[RoutedPerson]:
    """A referral's candidates re-ranked by evidence and network. With ``explain`` (posting)
    each gets their network as the first reason, in their own words: they read it under *why
    you* ("you helped 12 colleagues"). The Ask page's preview only orders them so."""
    ranked, found = await rank_for_referral(session, routed, now)
    if not explain:
        return ranked
    return [_with_network(r, found.get(r.person.id)) for r in ranked]


def _with_network(routed: RoutedPerson, network: Network | None) -> RoutedPerson:
    """The network as the first reason, in the words of the person it is about."""
    if network is None:
        return routed
    tn = notify.plural_words(routed.person)
    t = notify.words(routed.person)
    parts = []
    if network.helped:
        parts.append(tn("you helped {n} colleague", "you helped {n} colleagues", network.helped))
    if network.forwarded:
        parts.append(tn("you passed {n} call on", "you passed {n} calls on", network.forwarded))
    if network.visits:
        parts.append(
            tn(
                "your shares brought {n} visitor",
                "your shares brought {n} visitors",
                network.visits,
            )
        )
    reason = {
        "post_id": 0,
        "kind": "network",
        "title": t("You know many colleagues"),
        "snippet": t("In the past year {what}.", what=", ".join(parts)),
        "matched_terms": [],
        "similarity": 0.0,
    }
    return replace(routed, reasons=[reason, *routed.reasons])


async def check_audience_can_hold(
    session: AsyncSession, data: CallCreate, audience: dict[str, Any] | None, asker: Person
) -> None:
    """A volunteers call cannot need more people than its whole audience (422 naming needed)."""
    if data.kind != "volunteers" or not data.needed:
        return
    size = len(await members(session, audience, exclude=asker.id))
    if data.needed > size:
        raise AudienceTooSmall(data.needed, size)


async def preview_call(
    session: AsyncSession,
    routing: RoutingService,
    settings: Settings,
    asker: Person,
    data: CallCreate,
    now: datetime | None = None,
) -> reach.Forecast:
    """What posting ``data`` would do: who it would ask and what to expect by the deadline.
    Refused (422) exactly where posting it would be."""
    _validate(data)
    audience = msgspec.to_builtins(data.audience) if data.audience else None
    await check_audience_can_hold(session, data, audience, asker)
    routed = await _route(session, routing, settings, asker, data, audience)
    return await reach.forecast(
        session,
        settings,
        kind=data.kind,
        needed=data.needed,
        deadline=data.deadline,
        audience=audience,
        asker_id=asker.id,
        ranked=[(r.person.id, r.p_answer) for r in routed],
        now=now or datetime.now(UTC),
    )


def forecast_out(forecast: reach.Forecast, t: Translator) -> ForecastOut:
    return ForecastOut(
        audience=forecast.audience,
        may_ask_now=forecast.may_ask_now,
        ask_now=forecast.ask_now,
        planned=forecast.planned,
        expected=forecast.expected,
        at_most=forecast.at_most,
        rate=forecast.rate,
        needed=forecast.needed,
        warnings=forecast.warnings(t),
    )


async def reach_out(
    session: AsyncSession, settings: Settings, call: Call, now: datetime | None = None
) -> ReachOut:
    found = await reach.reach_of(session, settings, call, now or datetime.now(UTC))
    return ReachOut(
        asked=found.asked, planned=found.planned, expected=found.expected, audience=found.audience
    )


# Posts that stand for a call carry this source and the call's id as external id.
CALL_SOURCE = "call"


async def index_call(
    session: AsyncSession, routing: RoutingService, call: Call, encoded: Encoded | None = None
) -> Post:
    """A call is part of its asker's history (a post of kind "call", weighed as asking, not
    knowing), and the index finds it for later askers (``calls.similar``). ``encoded``: its
    text as routing encoded it."""
    post = Post(
        author_id=call.asker_id,
        kind=PostKind.CALL,
        title=call.title,
        body=call.body,
        tags=list(call.tags or []),
        source=CALL_SOURCE,
        external_id=str(call.id),
        created_at=call.created_at,
    )
    session.add(post)
    await session.flush()
    await routing.embed_posts(session, [post], encoded=encoded, new=True)
    return post


async def call_post(session: AsyncSession, call: Call) -> Post | None:
    return await session.scalar(
        select(Post).where(Post.source == CALL_SOURCE, Post.external_id == str(call.id))
    )


async def get_call(session: AsyncSession, call_id: int) -> Call | None:
    return await session.scalar(
        select(Call)
        .where(Call.id == call_id)
        # Three queries, not six: each person comes joined to its row (a read of a call was
        # mostly waiting on round trips to the database).
        .options(
            joinedload(Call.asker),
            # The referral (a backref, not known to the type checker): one row or none, so
            # joined rather than a query of its own.
            joinedload(getattr(Call, "referral")),  # noqa: B009
            selectinload(Call.matches).joinedload(Match.person),
            selectinload(Call.replies).joinedload(Reply.person),
        )
        .execution_options(populate_existing=True)
    )


# What a read of a call shows of each person (``person_brief``); of the asker also what the
# audience test reads (``reach``: the asker is never in their own call's audience).
_BRIEF = (Person.id, Person.handle, Person.name, Person.department)
_ASKER = (*_BRIEF, Person.location, Person.languages)


@cache
def _read_statements() -> tuple[Select[Call], Select[Reply]]:
    # Built once (after the mappers are configured: the referral is a backref), not per read.
    call = (
        select(Call)
        .where(Call.id == bindparam("call_id"))
        .options(
            joinedload(Call.asker).load_only(*_ASKER),
            joinedload(getattr(Call, "referral")),  # noqa: B009 (a backref)
            joinedload(Call.matches).joinedload(Match.person).load_only(*_BRIEF),
        )
    )
    # The replies in a statement of their own, set on the call below: joined too, they would
    # come as matches x replies rows (a volunteers call has thousands of both).
    replies = (
        select(Reply)
        .where(Reply.call_id == bindparam("call_id"))
        .order_by(Reply.id)
        .options(joinedload(Reply.person).load_only(*_BRIEF))
    )
    return call, replies


async def read_call(session: AsyncSession, call_id: int) -> Call | None:
    """A call to show (``GET /api/calls/{id}``), in two statements instead of four, and
    with of each person only what the page shows: half the CPU of :func:`get_call` (the
    JSON columns of every person asked, decoded and thrown away, were a good part of it). Its
    people are partly loaded: for reading in this request only, never for changing (use
    :func:`get_call`). A person already in the session (the reader) stays whole."""
    call_query, replies_query = _read_statements()
    call = (await session.scalars(call_query, {"call_id": call_id})).unique().one_or_none()
    if call is None:
        return None
    replies = (await session.scalars(replies_query, {"call_id": call_id})).all()
    set_committed_value(call, "replies", list(replies))
    return call


async def call_of_reply(session: AsyncSession, reply_id: int) -> Call | None:
    call_id = await session.scalar(select(Reply.call_id).where(Reply.id == reply_id))
    return await get_call(session, call_id) if call_id is not None else None


async def search_calls(db: AsyncSession, term: str, limit: int = 20) -> Sequence[Call]:
    """Calls whose title contains ``term``, newest first."""
    return (
        await db.scalars(
            select(Call)
            .where(func.lower(Call.title).like(like_pattern(term), escape="\\"))
            .options(selectinload(Call.asker))
            .order_by(Call.created_at.desc(), Call.id.desc())
            .limit(limit)
        )
    ).all()


@dataclass(frozen=True)
class CallFilter:
    """What the board (``GET /api/calls``, the page of calls) filters on."""

    status: str | None = None
    kind: str | None = None
    text: str | None = None
    mine: bool = False
    routed_to_me: bool = False
    open_to_me: bool = False


def _call_filters(viewer: Person, wanted: CallFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if wanted.status:
        where.append(Call.status == CallStatus(wanted.status))
    elif not wanted.mine:
        where.append(Call.status != CallStatus.WITHDRAWN)  # taken back: only its asker lists it
    if wanted.kind:
        where.append(Call.kind == CallKind(wanted.kind))
    if wanted.mine:
        where.append(Call.asker_id == viewer.id)
    if wanted.routed_to_me:
        where.append(exists().where(Match.call_id == Call.id, Match.person_id == viewer.id))
    if wanted.text and wanted.text.strip():
        like = like_pattern(wanted.text.strip())
        where.append(
            or_(
                func.lower(Call.title).like(like, escape="\\"),
                func.lower(Call.body).like(like, escape="\\"),
            )
        )
    if wanted.open_to_me:
        # The audience rule of ``in_audience``, in SQL: each field the call names is the
        # viewer's (JSON null and a missing key both mean "anyone").
        for name in ("department", "location"):
            named = Call.audience[name].as_string()
            own = (getattr(viewer, name) or "").lower()
            where.append(or_(named.is_(None), named == "", func.lower(named) == own))
        language = Call.audience["language"].as_string()
        spoken = [x.lower() for x in viewer.languages or []] or [""]
        where.append(or_(language.is_(None), language == "", func.lower(language).in_(spoken)))
    return where


async def list_calls(
    session: AsyncSession,
    viewer: Person,
    status: str | None = None,
    mine: bool = False,
    routed_to_me: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> Sequence[Call]:
    calls, _ = await board(
        session, viewer, CallFilter(status, None, None, mine, routed_to_me), limit, offset, False
    )
    return calls


async def board(
    session: AsyncSession,
    viewer: Person,
    wanted: CallFilter,
    limit: int = 50,
    offset: int = 0,
    count: bool = True,
) -> tuple[Sequence[Call], int]:
    """One page of calls newest first, and (with ``count``) how many match over all pages."""
    where = _call_filters(viewer, wanted)
    calls = (
        await session.scalars(
            select(Call)
            .where(*where)
            .options(
                selectinload(Call.asker),
                selectinload(Call.matches).selectinload(Match.person),
                selectinload(Call.replies).selectinload(Reply.person),
            )
            .order_by(Call.created_at.desc(), Call.id.desc())
            .limit(limit)
            .offset(offset)
        )
    ).all()
    total = (
        await session.scalar(select(func.count()).select_from(Call).where(*where)) if count else 0
    )
    return calls, int(total or 0)


def can_see_matches(call: Call, viewer: Person) -> bool:
    return call.asker_id == viewer.id or viewer.role in (Role.MANAGER, Role.ADMIN)


def was_asked(call: Call, person: Person) -> bool:
    """``person`` was asked on ``call`` (nudged, or reached by a forward), not merely ranked."""
    return any(
        m.person_id == person.id and (m.nudged_at is not None or m.state != MatchState.PROPOSED)
        for m in call.matches
    )


def may_forward(call: Call, person: Person) -> bool:
    """Forwarding asks a colleague at once in the asker's name: only the asker, the people
    asked on the call, and managers may."""
    return person.id == call.asker_id or can_see_matches(call, person) or was_asked(call, person)


def in_audience(call: Call, person: Person) -> bool:
    """Whether ``person`` is in the department, location and language the call is limited
    to (one rule for routing, reach, digests and the board: ``routing.audience``)."""
    return person_in_audience(person, call.audience)


def may_reply(call: Call, person: Person) -> bool:
    """Anyone in the call's audience may answer or volunteer without being asked; outside it,
    only the people the call asked (a forward may reach further) and the asker."""
    return person.id == call.asker_id or in_audience(call, person) or was_asked(call, person)


def can_see_reply(call: Call, reply: Reply, viewer: Person) -> bool:
    """A decline (and its note) is between the decliner and the asker; a forward is seen by
    those it concerns and managers. Shown to everyone, they told who was asked."""
    if reply.kind == ReplyKind.DECLINE:
        return viewer.id in (call.asker_id, reply.person_id)
    if reply.kind == ReplyKind.FORWARD:
        return viewer.id in (call.asker_id, reply.person_id, reply.forward_to_id) or (
            can_see_matches(call, viewer)
        )
    return True


def visible_replies(call: Call, viewer: Person) -> list[Reply]:
    return [r for r in call.replies if can_see_reply(call, r, viewer)]


def call_out(call: Call, viewer: Person) -> CallOut:
    visible = [m for m in call.matches if can_see_matches(call, viewer) or m.person_id == viewer.id]
    return CallOut(
        id=call.id,
        kind=str(call.kind),
        title=call.title,
        body=call.body,
        tags=list(call.tags or []),
        needed=call.needed,
        deadline=call.deadline,
        status=str(call.status),
        wave=call.wave,
        asker=person_brief(call.asker),
        created_at=call.created_at,
        replies=[reply_out(r, r.person) for r in visible_replies(call, viewer)],
        closed_at=call.closed_at,
        matches=[
            MatchOut(
                person=person_brief(m.person),
                score=m.score,
                p_answer=m.p_answer,
                rank=m.rank,
                wave=m.wave,
                state=str(m.state),
                reasons=[msgspec.convert(r, Reason) for r in m.evidence],
            )
            for m in visible
        ],
        volunteers=sum(1 for r in call.replies if r.kind == ReplyKind.VOLUNTEER),
        referral=referral_out(call),
    )


def referral_out(call: Call) -> ReferralOut | None:
    found = referral_of(call)
    return ReferralOut(offer=str(found.offer), url=found.url) if found else None


def reply_out(reply: Reply, person: Person) -> ReplyOut:
    return ReplyOut(
        id=reply.id,
        person=person_brief(person),
        kind=str(reply.kind),
        body=reply.body,
        accepted=reply.accepted,
        created_at=reply.created_at,
        thanked=reply.helpful,
    )


async def add_reply(
    session: AsyncSession,
    settings: Settings,
    call: Call,
    person: Person,
    data: ReplyCreate,
    now: datetime | None = None,
) -> Reply:
    """Record a reply and tell whoever needs to know (the asker; on a full call, the others)."""
    now = now or datetime.now(UTC)
    if call.status in FINISHED:
        raise CallError(TAKES_NO_REPLIES)
    _no_nul(data.body, "body")
    _no_nul(data.forward_to or "", "forward_to")
    if data.kind == "answer" and not data.body.strip():
        raise CallError("an answer needs a body", "body")
    if data.kind in ("answer", "volunteer") and not may_reply(call, person):
        raise NotPermitted(NOT_IN_AUDIENCE)
    forward_to: Person | None = None
    if data.kind == "forward":
        if not may_forward(call, person):
            raise NotPermitted(
                "only the asker, the people asked on this call and managers may forward it"
            )
        forward_to = await _forward_target(session, call, person, data.forward_to)
    volunteers = 0
    if data.kind == "volunteer":
        if call.kind != CallKind.VOLUNTEERS:
            raise CallError("only volunteers calls take volunteers", "kind")
        volunteers = await _take_volunteer_place(session, call, person)
    reply = Reply(
        call_id=call.id,
        person_id=person.id,
        kind=ReplyKind(data.kind),
        body=data.body,
        forward_to_id=forward_to.id if forward_to else None,
        created_at=now,
    )
    session.add(reply)
    await session.flush()
    match = next((m for m in call.matches if m.person_id == person.id), None)
    if match is not None:
        match.replied_at = now
        match.state = {
            "decline": MatchState.DECLINED,
            "forward": MatchState.FORWARDED,
        }.get(data.kind, MatchState.REPLIED)
    if forward_to is not None:
        await _forward(session, settings, call, person, forward_to, data.body, now)
    if data.kind == "answer" and person.id != call.asker_id:
        if call.status == CallStatus.OPEN and call.kind != CallKind.VOLUNTEERS:
            call.status = CallStatus.ANSWERED
        t = notify.words(call.asker)
        await notify.tell_asker(
            session,
            settings,
            call,
            call.asker,
            f"reply:{reply.id}",
            t("{name} answered: {title}", name=person.name, title=call.title),
            t("{name} answered your call “{title}”.", name=person.name, title=call.title),
            now,
            items=[data.body],
        )
    if data.kind == "volunteer":
        volunteers += 1
        if call.needed is not None and volunteers >= call.needed:
            call.status = CallStatus.FILLED
            await _tell_full(session, settings, call, person, volunteers, now)
    await session.flush()
    return reply


async def hold_call(session: AsyncSession, call: Call) -> None:
    """Queue behind every other transaction that changes how full ``call`` is, and reread its
    status. A write to the call's row does it on both databases: on PostgreSQL it is a row lock
    until commit, on SQLite the database's write lock (taken at once, as the transaction's first
    write, so it waits in the busy timeout rather than failing). Whatever is counted after this
    includes every reply committed before, and nobody else can add one until this commits."""
    await session.execute(
        update(Call)
        .where(Call.id == call.id)
        .values(status=Call.status)
        .execution_options(synchronize_session=False)
    )
    await session.refresh(call, ["status"])


async def _volunteer_count(session: AsyncSession, call: Call) -> int:
    return (
        await session.scalar(
            select(func.count())
            .select_from(Reply)
            .where(Reply.call_id == call.id, Reply.kind == ReplyKind.VOLUNTEER)
        )
    ) or 0


async def _volunteered(session: AsyncSession, call: Call, person: Person) -> bool:
    found = await session.scalar(
        select(Reply.id).where(
            Reply.call_id == call.id,
            Reply.person_id == person.id,
            Reply.kind == ReplyKind.VOLUNTEER,
        )
    )
    return found is not None


async def _take_volunteer_place(session: AsyncSession, call: Call, person: Person) -> int:
    """Decide, holding the call, whether ``person`` may volunteer; the volunteers before them.

    Losers of a race are told the call is full (409); a second post by the same person is told
    they already volunteered (409) and adds nothing. The unique index on volunteer replies
    backs this up should anything write around it."""
    await hold_call(session, call)
    if call.status in FINISHED:
        raise CallError(TAKES_NO_REPLIES)
    if await _volunteered(session, call, person):
        raise CallError(ALREADY_VOLUNTEERED)
    volunteers = await _volunteer_count(session, call)
    if call.status == CallStatus.FILLED or (call.needed is not None and volunteers >= call.needed):
        raise CallError(CALL_FULL)
    return volunteers


async def withdraw_volunteer(
    session: AsyncSession,
    settings: Settings,
    call: Call,
    person: Person,
    now: datetime | None = None,
) -> None:
    """Take back ``person``'s volunteer reply (decided holding the call, like volunteering).

    A filled call that drops below its count opens again: the people it asked who were told
    it was full are asked again as they were (a note says a place came free), and the asker
    hears again when it fills."""
    now = now or datetime.now(UTC)
    await hold_call(session, call)
    mine = (
        await session.scalars(
            select(Reply).where(
                Reply.call_id == call.id,
                Reply.person_id == person.id,
                Reply.kind == ReplyKind.VOLUNTEER,
            )
        )
    ).all()
    if not mine or call.status in FINISHED:
        raise CallError(NOT_A_VOLUNTEER)
    for item in mine:
        await session.delete(item)
    await session.flush()
    left = await _volunteer_count(session, call)
    reopened = call.status == CallStatus.FILLED and call.needed is not None and left < call.needed
    if reopened:
        call.status = CallStatus.OPEN
    for match in call.matches:
        if match.person_id == person.id and match.state == MatchState.REPLIED:
            match.state = MatchState.SEEN
        elif reopened and _told_full(match):
            match.state = MatchState.SEEN if match.seen_at else MatchState.NUDGED
            t = notify.words(match.person)
            await notify.send(
                session,
                settings,
                match.person,
                NudgeKind.NOTICE,
                f"place:{call.id}:{match.person_id}:{now.isoformat()}",
                notify.notice(
                    t,
                    t("A place came free: {title}", title=call.title),
                    t("“{title}” needs one more volunteer again.", title=call.title),
                    notify.call_link(settings, call),
                ),
                now,
                call,
            )
    await session.flush()


def _told_full(match: Match) -> bool:
    """Asked, never replied, and set aside when the call filled."""
    return (
        match.state == MatchState.EXPIRED
        and match.nudged_at is not None
        and match.replied_at is None
    )


async def forward_handle(session: AsyncSession, value: str) -> str | None:
    """A handle for what was typed in a forward field: a handle, or a unique full name."""
    value = value.strip().lstrip("@")
    if not value:
        return None
    if await get_by_handle(session, value.lower()) is not None:
        return value.lower()
    named = (
        await session.scalars(
            select(Person.handle).where(not_erased(), func.lower(Person.name) == value.lower())
        )
    ).all()
    return named[0] if len(named) == 1 else value


async def _forward_target(
    session: AsyncSession, call: Call, person: Person, handle: str | None
) -> Person:
    if not handle:
        raise CallError("say who to forward to: 'forward_to' is a colleague's handle", "forward_to")
    target = await get_by_handle(session, handle)
    if target is None:
        raise CallError("no colleague with handle '{handle}'", "forward_to", handle=handle)
    if target.id in (person.id, call.asker_id):
        raise CallError("forward to someone other than yourself or the asker", "forward_to")
    return target


async def _forward(
    session: AsyncSession,
    settings: Settings,
    call: Call,
    forwarder: Person,
    target: Person,
    note: str,
    now: datetime,
) -> None:
    """A forward makes the colleague a match with the forwarder as the reason, asked at once
    when the rules allow (otherwise first in line for the next wave)."""
    match = next((m for m in call.matches if m.person_id == target.id), None)
    t = notify.words(target)
    if match is None:
        match = Match(
            call_id=call.id,
            person_id=target.id,
            rank=max((m.rank for m in call.matches), default=0) + 1,
            score=0.0,
            wave=call.wave,
            forwarded_by_id=forwarder.id,
            # In the words of the colleague it is forwarded to: they read it in the nudge.
            evidence=[
                {
                    "post_id": 0,
                    "kind": "forward",
                    "title": t("{name} forwarded this to you", name=forwarder.name),
                    "snippet": note or t("{name} thinks you know about this.", name=forwarder.name),
                    "matched_terms": [],
                    "similarity": 0.0,
                }
            ],
        )
        session.add(match)
        await session.flush()
        match.person = target
        call.matches.append(match)
    if match.state != MatchState.PROPOSED:
        return
    await hold_asking(session)
    budget, waiting = await asks_and_waiting(session, [target.id], now)
    if held_back(target, now, budget, waiting, settings.max_open_asks) is None:
        match.state = MatchState.NUDGED
        match.nudged_at = now
        await notify.ask(session, settings, call, match, target, call.asker, now)


async def _tell_full(
    session: AsyncSession,
    settings: Settings,
    call: Call,
    last: Person,
    volunteers: int,
    now: datetime,
) -> None:
    volunteered = set(
        await session.scalars(
            select(Reply.person_id).where(
                Reply.call_id == call.id, Reply.kind == ReplyKind.VOLUNTEER
            )
        )
    ) | {last.id}
    t, tn = notify.words(call.asker), notify.plural_words(call.asker)
    await notify.tell_asker(
        session,
        settings,
        call,
        call.asker,
        # One notice per filling: a call that opens again (a volunteer withdrew) and fills
        # again tells the asker again. (Not the reply's id: SQLite reuses a deleted one.)
        f"filled:{call.id}:{now.isoformat()}",
        t("Filled: {title}", title=call.title),
        tn(
            "Your call “{title}” has the {n} volunteer it needed.",
            "Your call “{title}” has the {n} volunteers it needed.",
            volunteers,
            title=call.title,
        ),
        now,
    )
    for match in call.matches:
        # Only the people still asked hear it: who declined or answered is done with it.
        if match.person_id in volunteered or match.state not in (
            MatchState.NUDGED,
            MatchState.SEEN,
        ):
            continue
        match.state = MatchState.EXPIRED
        t = notify.words(match.person)
        await notify.send(
            session,
            settings,
            match.person,
            NudgeKind.NOTICE,
            f"full:{call.id}:{match.person_id}:{now.isoformat()}",
            NudgePayload(
                subject=t("Full, thank you: {title}", title=call.title),
                intro=t(
                    "“{title}” has all the volunteers it needed; no need to reply.",
                    title=call.title,
                ),
            ),
            now,
            call,
        )


async def mark_seen(
    sessions: async_sessionmaker[AsyncSession], call: Call, person: Person, now: datetime
) -> None:
    """Opening a call counts as seen: no reminder for it.

    Recorded once, in a short transaction of its own: a view never turns the request's
    transaction into a write that holds the database's write lock (SQLite has one) until the
    request ends, and views after the first write nothing at all.
    """
    match = next((m for m in call.matches if m.person_id == person.id), None)
    if match is None or match.seen_at is not None:
        return
    if match.snoozed_until is not None and match.snoozed_until > now:
        return  # they said "later": looking again before then keeps the reminder coming
    async with sessions() as session, session.begin():
        await session.execute(
            update(Match).where(Match.id == match.id, Match.seen_at.is_(None)).values(seen_at=now)
        )
        await session.execute(
            update(Match)
            .where(Match.id == match.id, Match.state == MatchState.NUDGED)
            .values(state=MatchState.SEEN)
        )
    # The caller's copy shows it too, without becoming a change of the caller's transaction.
    set_committed_value(match, "seen_at", now)
    if match.state == MatchState.NUDGED:
        set_committed_value(match, "state", MatchState.SEEN)


def snooze(call: Call, person: Person, now: datetime, seconds: int) -> bool:
    """ "Later": one reminder once ``seconds`` have passed. Opening the call to say "later" does
    not count as seen, or the reminder (only for unseen asks) would never come."""
    match = next((m for m in call.matches if m.person_id == person.id), None)
    if match is None or match.state not in (MatchState.NUDGED, MatchState.SEEN):
        return False
    match.snoozed_until = now + timedelta(seconds=seconds)
    match.reminded_at = None
    match.seen_at = None
    match.state = MatchState.NUDGED
    return True


# -- one-click links act once -------------------------------------------------------------------


async def link_spent(session: AsyncSession, grant: ActionGrant, token: str) -> LinkUse | None:
    """Why this link may no longer act: its own earlier use, or a decline link the same person
    used on the call (after "not me" their other links for it stop). None: it may act."""
    return await session.scalar(
        select(LinkUse)
        .where(
            or_(
                LinkUse.token_hash == hash_token(token),
                and_(
                    LinkUse.call_id == grant.call_id,
                    LinkUse.person_id == grant.person_id,
                    LinkUse.action == "decline",
                ),
            )
        )
        .order_by(LinkUse.id)
        .limit(1)
    )


class LinkSpent(Exception):
    """The link acted before (or a decline link of the person did); ``use`` says what was done."""

    def __init__(self, use: LinkUse) -> None:
        super().__init__(f"this link was used at {use.used_at:%Y-%m-%d %H:%M} UTC")
        self.use = use


async def act_by_link(
    session: AsyncSession,
    settings: Settings,
    call: Call,
    person: Person,
    grant: ActionGrant,
    token: str,
    data: ReplyCreate | None,
    now: datetime | None = None,
) -> LinkUse:
    """Do what a one-click link grants, once. The use is recorded with the action in one
    savepoint: if the action is refused (CallError) the link stays usable; of two posts of one
    link at once only one records its use (the token's hash is unique), the other gets
    :class:`LinkSpent` with what was done."""
    now = now or datetime.now(UTC)
    spent = await link_spent(session, grant, token)
    if spent is not None:
        raise LinkSpent(spent)
    use = LinkUse(
        token_hash=hash_token(token),
        call_id=call.id,
        person_id=person.id,
        action=grant.action,
        used_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(use)
            await session.flush()
            if data is None:
                snooze(call, person, now, settings.snooze_seconds)
            else:
                reply = await add_reply(session, settings, call, person, data, now)
                use.reply_id = reply.id
            await session.flush()
    except IntegrityError:
        winner = await link_spent(session, grant, token)
        if winner is None:
            raise
        raise LinkSpent(winner) from None
    return use


async def reply_of(session: AsyncSession, use: LinkUse) -> Reply | None:
    return await session.get(Reply, use.reply_id) if use.reply_id is not None else None


async def answers_by(
    session: AsyncSession, person: Person, limit: int = 30
) -> Sequence[tuple[Reply, Call]]:
    """The answers ``person`` gave on calls, newest first, each with its call (their page)."""
    rows = await session.execute(
        select(Reply, Call)
        .join(Call, Call.id == Reply.call_id)
        .where(Reply.person_id == person.id, Reply.kind == ReplyKind.ANSWER)
        .order_by(Reply.created_at.desc(), Reply.id.desc())
        .limit(limit)
    )
    return [(reply, call) for reply, call in rows.all()]
