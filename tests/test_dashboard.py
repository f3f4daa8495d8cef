"""The dashboard's figures against a seeded history: hundreds of calls, asks in waves, replies,
forwards and posts over ten weeks on an explicit clock. Every expected figure is computed here
from the seed itself, in plain Python, never by the code under test."""

from __future__ import annotations

import csv
import io
import random
import statistics
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from askhub.app import create_app
from askhub.auth.service import create_token
from askhub.context import AppContext
from askhub.dashboard import service
from askhub.dashboard.service import Scope
from indexer.embedders import Embedder
from models import (
    Availability,
    Call,
    CallKind,
    CallStatus,
    Introduction,
    Match,
    MatchState,
    Person,
    Post,
    PostKind,
    Reply,
    ReplyKind,
    Role,
)
from tests.conftest import _settings, copy_of, template_of

NOW = datetime(2026, 6, 3, 12, 0, tzinfo=UTC)
DEPARTMENTS = ["Netwerk", "IT", "HR", "Finance"]
LOCATIONS = ["Utrecht", "Zwolle", "Den Haag"]
STALLED = 2 * 24 * 3600


@dataclass
class P:
    id: int
    handle: str
    department: str
    location: str
    complete: bool
    available: bool = True


@dataclass
class R:
    person: int
    kind: ReplyKind
    at: datetime
    accepted: bool = False
    forward_to: int | None = None


@dataclass
class M:
    person: int
    rank: int
    wave: int
    nudged: datetime | None


@dataclass
class C:
    id: int
    asker: int
    kind: CallKind
    created: datetime
    needed: int | None
    status: CallStatus = CallStatus.OPEN
    matches: list[M] = field(default_factory=list)
    replies: list[R] = field(default_factory=list)


@dataclass
class Seed:
    people: dict[int, P]
    calls: list[C]
    posts: list[tuple[int, datetime]]
    # (introducer, when): a manager's introductions, a connector source of their own.
    introductions: list[tuple[int, datetime]] = field(default_factory=list)


def _history(rng: random.Random, people: dict[int, P]) -> list[C]:
    ids = list(people)
    calls: list[C] = []
    for n in range(420):
        created = NOW - timedelta(minutes=rng.randint(30, 70 * 24 * 60))
        kind = rng.choices(
            [CallKind.QUESTION, CallKind.REFERRAL, CallKind.VOLUNTEERS], [80, 10, 10]
        )[0]
        asker = rng.choice(ids)
        call = C(n + 1, asker, kind, created, 3 if kind == CallKind.VOLUNTEERS else None)
        others = rng.sample([i for i in ids if i != asker], 14)
        for rank, person in enumerate(others[:9]):
            wave = rank // 3 + 1
            nudged = created + timedelta(hours=4 * (wave - 1))
            call.matches.append(M(person, rank + 1, wave, nudged if nudged < NOW else None))
        # Proposed, never asked: the untried matches a manager may try.
        for rank, person in enumerate(others[9:12]):
            call.matches.append(M(person, rank + 10, 1, None))
        useful = ReplyKind.VOLUNTEER if kind == CallKind.VOLUNTEERS else ReplyKind.ANSWER
        for match in call.matches:
            if match.nudged is None:
                continue
            roll = rng.random()
            at = match.nudged + timedelta(minutes=int(rng.expovariate(1 / 300)) + 1)
            if at >= NOW:
                continue
            if roll < (0.3, 0.2, 0.12)[match.wave - 1]:
                call.replies.append(R(match.person, useful, at))
            elif roll < 0.42:
                call.replies.append(R(match.person, ReplyKind.DECLINE, at))
            elif roll < 0.5:
                target = others[12 + (match.rank % 2)]
                call.replies.append(R(match.person, ReplyKind.FORWARD, at, forward_to=target))
                later = at + timedelta(minutes=rng.randint(5, 3000))
                done = {r.person for r in call.replies if r.kind == useful}
                if rng.random() < 0.5 and later < NOW and target not in done:
                    call.replies.append(R(target, useful, later))
        # Now and then the asker replies to their own call: never a useful reply.
        if rng.random() < 0.05:
            call.replies.append(R(asker, useful, created + timedelta(minutes=2)))
        answers = [r for r in call.replies if r.kind == ReplyKind.ANSWER and r.person != asker]
        if answers and rng.random() < 0.5:
            answers[0].accepted = True
        helpers = {r.person for r in call.replies if r.kind == useful and r.person != asker}
        if rng.random() < 0.04:
            call.status = CallStatus.WITHDRAWN
        elif kind == CallKind.VOLUNTEERS and len(helpers) >= 3:
            call.status = CallStatus.FILLED
        elif answers:
            call.status = CallStatus.ANSWERED
        elif created < NOW - timedelta(days=14):
            call.status = CallStatus.CLOSED if helpers else CallStatus.EXPIRED
        calls.append(call)
    return calls


async def _seed(ctx: AppContext) -> Seed:
    rng = random.Random(12)
    people: dict[int, P] = {}
    posts: list[tuple[int, datetime]] = []
    async with ctx.sessions() as session, session.begin():
        rows = []
        for n in range(80):
            complete = rng.random() < 0.6
            person = Person(
                handle=f"p{n:03d}",
                name=f"Person {n}",
                department=DEPARTMENTS[n % 4]
                if n % 4 == 0
                else DEPARTMENTS[n % 4].upper()
                if n % 7 == 0
                else DEPARTMENTS[n % 4],
                location=LOCATIONS[n % 3],
                bio="Ik weet dingen." if complete or rng.random() < 0.3 else "",
                skills=["netwerk"] if complete else [],
                languages=["nl"] if complete or rng.random() < 0.5 else [],
                availability=Availability.AWAY if n % 13 == 5 else Availability.AVAILABLE,
            )
            rows.append(person)
        session.add_all(rows)
        await session.flush()
        for person in rows:
            people[person.id] = P(
                person.id,
                person.handle,
                (person.department or "").lower(),
                person.location or "",
                bool(person.bio.strip() and person.skills and person.languages),
                person.availability == Availability.AVAILABLE,
            )
        calls = _history(rng, people)
        for c in calls:
            call = Call(
                asker_id=c.asker,
                kind=c.kind,
                title=f"Call {c.id}",
                needed=c.needed,
                status=c.status,
                created_at=c.created,
                wave=max((m.wave for m in c.matches if m.nudged), default=0),
            )
            session.add(call)
            await session.flush()
            c.id = call.id
            for m in c.matches:
                replied = next((r for r in c.replies if r.person == m.person), None)
                state = (
                    MatchState.PROPOSED
                    if m.nudged is None
                    else MatchState.REPLIED
                    if replied
                    else MatchState.NUDGED
                )
                session.add(
                    Match(
                        call_id=call.id,
                        person_id=m.person,
                        rank=m.rank,
                        score=1.0 / m.rank,
                        wave=m.wave,
                        state=state,
                        nudged_at=m.nudged,
                        created_at=c.created,
                    )
                )
            for r in c.replies:
                session.add(
                    Reply(
                        call_id=call.id,
                        person_id=r.person,
                        kind=r.kind,
                        body="…",
                        accepted=r.accepted,
                        forward_to_id=r.forward_to,
                        created_at=r.at,
                    )
                )
        for _ in range(150):
            author = rng.choice(list(people))
            at = NOW - timedelta(minutes=rng.randint(1, 70 * 24 * 60))
            kind = rng.choice([PostKind.POST, PostKind.ANSWER, PostKind.PROFILE])
            session.add(Post(author_id=author, kind=kind, title="x", body="y", created_at=at))
            if kind != PostKind.PROFILE:
                posts.append((author, at))
        # Six managers introduce colleagues to calls now and then over the weeks.
        introductions: list[tuple[int, datetime]] = []
        introducers = rng.sample(list(people), 6)
        for _ in range(60):
            c = rng.choice(calls)
            introducer = rng.choice(introducers)
            person = rng.choice([i for i in people if i not in (introducer, c.asker)])
            at = c.created + timedelta(minutes=rng.randint(10, 5000))
            if at >= NOW:
                continue
            session.add(
                Introduction(
                    introducer_id=introducer,
                    call_id=c.id,
                    person_id=person,
                    note="Zij weet hier alles van.",
                    created_at=at,
                )
            )
            introductions.append((introducer, at))
    return Seed(people, calls, posts, introductions)


@pytest.fixture(scope="module")
async def seeding(
    templates: dict[str, str], tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> tuple[str, Seed]:
    """The history, seeded once into a template every test copies (seeding took 5-14 s, and
    a dozen tests and parameters read it): each test still gets its own untouched copy."""
    folder = tmp_path_factory.mktemp("dashboard")
    url = await copy_of(templates["migrated"], "dashboard", folder)
    ctx = AppContext.create(_settings(url, folder / "var"), embedder)
    try:
        seed = await _seed(ctx)
    finally:
        await ctx.close()
    return template_of(url), seed


@pytest.fixture(scope="module")
def module_template(seeding: tuple[str, Seed]) -> str:
    return seeding[0]


@pytest.fixture
def seeded(module_template: str, seeding: tuple[str, Seed], context: AppContext) -> Seed:
    """The seed, whose rows are in this test's database (``database_url`` copied them from
    ``module_template``)."""
    return seeding[1]


# -- what the figures must be, from the seed ---------------------------------------------------


def useful(call: C, r: R) -> bool:
    return r.kind in (ReplyKind.ANSWER, ReplyKind.VOLUNTEER) and r.person != call.asker


def in_scope(seed: Seed, call: C, scope: Scope) -> bool:
    asker = seed.people[call.asker]
    return (
        scope.start <= call.created < scope.end
        and call.status != CallStatus.WITHDRAWN
        and (scope.department is None or asker.department == scope.department.lower())
        and (scope.location is None or asker.location == scope.location)
    )


def q(values: list[float], share: float) -> float:
    if len(values) == 1:
        return values[0]
    cuts = statistics.quantiles(values, n=10 if share == 0.9 else 2, method="inclusive")
    return cuts[-1]


def monday(moment: datetime) -> str:
    day = moment.date()
    return (day - timedelta(days=day.weekday())).isoformat()


SCOPES = [
    Scope(NOW - timedelta(days=28), NOW),
    Scope(NOW - timedelta(days=56), NOW - timedelta(days=14), department="it"),
    Scope(NOW - timedelta(days=70), NOW, department="Netwerk", location="Zwolle"),
]


@pytest.mark.parametrize("which", range(len(SCOPES)))
async def test_call_figures_match_the_history(
    context: AppContext, seeded: Seed, which: int
) -> None:
    scope = SCOPES[which]
    calls = [c for c in seeded.calls if in_scope(seeded, c, scope)]
    assert len(calls) > 20, "the scope must hold enough calls to mean something"
    spans = []
    for c in calls:
        firsts = [r.at for r in c.replies if useful(c, r)]
        if firsts:
            spans.append((min(firsts) - c.created).total_seconds() / 3600)
    async with context.sessions() as session:
        got = await service.summary(session, scope)
    assert got.posted == len(calls)
    assert got.answered == sum(
        1
        for c in calls
        if c.kind != CallKind.VOLUNTEERS
        and any(useful(c, r) and r.kind == ReplyKind.ANSWER for r in c.replies)
    )
    assert got.filled == sum(1 for c in calls if c.status == CallStatus.FILLED)
    assert got.expired == sum(1 for c in calls if c.status == CallStatus.EXPIRED)
    assert got.replied == len(spans)
    assert got.within_hour == pytest.approx(sum(s <= 1 for s in spans) / len(calls), abs=1e-4)
    assert got.within_day == pytest.approx(sum(s <= 24 for s in spans) / len(calls), abs=1e-4)
    assert got.median_hours == pytest.approx(statistics.median(spans), abs=0.01)
    assert got.p90_hours == pytest.approx(q(spans, 0.9), abs=0.01)
    # Reply rate per wave: of the people asked in that wave, who answered or volunteered.
    asked: Counter[int] = Counter()
    replied: Counter[int] = Counter()
    for c in calls:
        helpers = {r.person for r in c.replies if r.kind in (ReplyKind.ANSWER, ReplyKind.VOLUNTEER)}
        for m in c.matches:
            if m.nudged is not None:
                asked[m.wave] += 1
                replied[m.wave] += m.person in helpers
    assert [(w.wave, w.asked, w.replied) for w in got.waves] == [
        (w, asked[w], replied[w]) for w in sorted(asked)
    ]
    assert got.waves[0].rate > got.waves[-1].rate  # the seed's first waves are the best
    per_week: Counter[str] = Counter(monday(c.created) for c in calls)
    assert {w.week: w.posted for w in got.weeks if w.posted} == dict(per_week)
    assert sum(w.posted for w in got.weeks) == len(calls)
    with_reply: Counter[str] = Counter(
        monday(c.created) for c in calls if any(useful(c, r) for r in c.replies)
    )
    assert {w.week: w.answered for w in got.weeks if w.answered} == dict(with_reply)


async def test_waiting_calls_oldest_first_with_untried_people(
    context: AppContext, seeded: Seed
) -> None:
    expected = []
    for c in sorted(seeded.calls, key=lambda c: (c.created, c.id)):
        if c.status != CallStatus.OPEN:
            continue
        helps = [r.at for r in c.replies if useful(c, r)]
        stalled = (
            c.kind == CallKind.VOLUNTEERS
            and len(helps) < (c.needed or 0)
            and max(helps, default=c.created) <= NOW - timedelta(seconds=STALLED)
        )
        if not helps or stalled:
            expected.append(c)
    assert len(expected) > 5
    async with context.sessions() as session:
        got = await service.waiting(session, Scope(NOW - timedelta(days=1), NOW), NOW, STALLED)
    assert [w.id for w in got] == [c.id for c in expected][: service.WAITING_LIMIT]
    for w, c in zip(got, expected, strict=False):
        untried = sorted(
            (m for m in c.matches if m.nudged is None and seeded.people[m.person].available),
            key=lambda m: m.rank,
        )[:3]
        assert [u.handle for u in w.untried] == [seeded.people[m.person].handle for m in untried]
        assert w.state == ("unanswered" if not any(useful(c, r) for r in c.replies) else "stalled")


@pytest.mark.parametrize("which", range(len(SCOPES)))
async def test_connectors_and_who_helps_whom(context: AppContext, seeded: Seed, which: int) -> None:
    scope = SCOPES[which]

    def helper_in(person: int) -> bool:
        p = seeded.people[person]
        return (scope.department is None or p.department == scope.department.lower()) and (
            scope.location is None or p.location == scope.location
        )

    answers: Counter[int] = Counter()
    accepted: Counter[int] = Counter()
    forwards: Counter[int] = Counter()
    flows: Counter[tuple[str, str]] = Counter()
    for c in seeded.calls:
        for r in c.replies:
            if not scope.start <= r.at < scope.end:
                continue
            if r.kind == ReplyKind.ANSWER and r.person != c.asker:
                answers[r.person] += 1
                accepted[r.person] += r.accepted
            if r.kind == ReplyKind.FORWARD and any(
                useful_r.person == r.forward_to
                and useful_r.kind in (ReplyKind.ANSWER, ReplyKind.VOLUNTEER)
                and useful_r.at >= r.at
                for useful_r in c.replies
            ):
                forwards[r.person] += 1
            if useful(c, r):
                helper, asker = seeded.people[r.person], seeded.people[c.asker]
                if (
                    scope.department is None
                    or scope.department.lower() in (helper.department, asker.department)
                ) and (
                    scope.location is None or scope.location in (helper.location, asker.location)
                ):
                    flows[(helper.department, asker.department)] += 1
    introduced = Counter(p for p, at in seeded.introductions if scope.start <= at < scope.end)
    totals = {
        p: answers[p] + forwards[p] + introduced[p]
        for p in set(answers) | set(forwards) | set(introduced)
        if helper_in(p) and answers[p] + forwards[p] + introduced[p] > 0
    }
    top = sorted(totals, key=lambda p: (-totals[p], p))[: service.TOP_CONNECTORS]
    async with context.sessions() as session:
        got = await service.connectors(session, scope)
        pairs = await service.who_helps_whom(session, scope)
    assert [c.handle for c in got] == [seeded.people[p].handle for p in top]
    for row, p in zip(got, top, strict=True):
        assert row.total == totals[p]
        assert row.figures == {
            "answers": answers[p],
            "accepted": accepted[p],
            "forwards_answered": forwards[p],
            "introductions": introduced[p],
        }
    assert sum(forwards.values()) > 0 and sum(accepted.values()) > 0
    assert sum(introduced.values()) > 0
    assert {
        (f.helper_department.lower(), f.asker_department.lower()): f.replies for f in pairs
    } == (dict(flows))
    assert [f.replies for f in pairs] == sorted((f.replies for f in pairs), reverse=True)


@pytest.mark.parametrize("which", range(len(SCOPES)))
async def test_adoption_by_department(context: AppContext, seeded: Seed, which: int) -> None:
    scope = SCOPES[which]
    acts: list[tuple[int, datetime]] = [(c.asker, c.created) for c in seeded.calls]
    acts += [(r.person, r.at) for c in seeded.calls for r in c.replies]
    acts += seeded.posts
    acts = [(p, at) for p, at in acts if scope.start <= at < scope.end]
    chosen = {
        i: p
        for i, p in seeded.people.items()
        if (scope.department is None or p.department == scope.department.lower())
        and (scope.location is None or p.location == scope.location)
    }
    active = {p for p, _ in acts if p in chosen}
    people: Counter[str] = Counter()
    complete: Counter[str] = Counter()
    busy: Counter[str] = Counter()
    # A complete profile (people.completeness): a bio, skills, languages and a post of one's
    # own, written at any time.
    authors = {author for author, _ in seeded.posts}
    for i, p in chosen.items():
        people[p.department] += 1
        complete[p.department] += p.complete and i in authors
        busy[p.department] += i in active
    weekly: dict[str, set[int]] = defaultdict(set)
    for p, at in acts:
        if p in chosen:
            weekly[monday(at)].add(p)
    async with context.sessions() as session:
        got = await service.adoption(session, scope)
    assert {d.department.lower(): (d.people, d.complete, d.active) for d in got.departments} == {
        d: (people[d], complete[d], busy[d]) for d in people
    }
    assert {w: n for w, n in got.active_per_week.items() if n} == {
        w: len(s) for w, s in weekly.items()
    }
    per_dept: Counter[tuple[str, str]] = Counter()
    for week, members in weekly.items():
        for p in members:
            per_dept[(week, chosen[p].department)] += 1
    assert {(w.week, w.department.lower()): w.active for w in got.weeks} == dict(per_dept)


async def test_a_members_own_figures(context: AppContext, seeded: Seed) -> None:
    scope = SCOPES[0]
    person = max(seeded.people, key=lambda p: sum(c.asker == p for c in seeded.calls))
    mine = [c for c in seeded.calls if c.asker == person and in_scope(seeded, c, scope)]
    given = [
        (c, r)
        for c in seeded.calls
        for r in c.replies
        if r.person == person and scope.start <= r.at < scope.end
    ]
    async with context.sessions() as session:
        me = await session.get(Person, person)
        assert me is not None
        got = await service.mine(session, me, scope)
    assert got.posted == len(mine)
    assert got.with_reply == sum(1 for c in mine if any(useful(c, r) for r in c.replies))
    assert got.answers == sum(
        1 for c, r in given if r.kind == ReplyKind.ANSWER and c.asker != person
    )
    assert got.accepted == sum(
        1 for c, r in given if r.kind == ReplyKind.ANSWER and c.asker != person and r.accepted
    )
    assert got.people_helped == len({c.asker for c, r in given if useful(c, r)})


def test_a_period_is_checked() -> None:
    from askhub.validation import InputError

    with pytest.raises(InputError) as bad:
        Scope.of(NOW, date(2026, 5, 1), date(2026, 4, 1))
    assert bad.value.field == "from"
    scope = Scope.of(NOW, None, None, " IT ", "")
    assert scope.end == NOW and scope.start == NOW - timedelta(days=28)
    assert (scope.department, scope.location) == ("IT", None)
    assert Scope.of(NOW, date(2026, 5, 1), date(2026, 5, 1)).end == datetime(2026, 5, 2, tzinfo=UTC)


# -- the API: managers see the organisation, members only themselves ---------------------------


@pytest.fixture
async def client(context: AppContext) -> AsyncIterator[AsyncTestClient[Any]]:
    app = create_app(settings=context.settings, embedder=context.routing.embedder)
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


async def _token(ctx: AppContext, person_id: int, role: Role) -> dict[str, str]:
    async with ctx.sessions() as session, session.begin():
        person = await session.get(Person, person_id)
        assert person is not None
        person.role = role
        token = await create_token(session, person)
    return {"Authorization": f"Bearer {token}"}


ROUTES = ["", "/waiting", "/gaps", "/connectors", "/departments", "/adoption", "/export/waves"]


async def test_members_get_403_from_manager_routes_and_see_their_own(
    client: AsyncTestClient[Any], context: AppContext, seeded: Seed
) -> None:
    ids = sorted(seeded.people)
    member = await _token(context, ids[0], Role.MEMBER)
    manager = await _token(context, ids[1], Role.MANAGER)
    for route in ROUTES:
        refused = await client.get(f"/api/dashboard{route}", headers=member)
        assert refused.status_code == 403, route
        allowed = await client.get(f"/api/dashboard{route}", headers=manager)
        assert allowed.status_code == 200, (route, allowed.text)
    own = await client.get("/api/dashboard/me", headers=member)
    assert own.status_code == 200
    assert set(own.json()) >= {"posted", "answers", "accepted", "people_helped"}
    bad = await client.get("/api/dashboard?from=2026-05-10&to=2026-05-01", headers=manager)
    assert bad.status_code == 422 and "from" in bad.text
    unknown = await client.get("/api/dashboard/export/nothing", headers=manager)
    assert unknown.status_code == 404


async def test_csv_exports_parse_and_hold_the_figures(
    client: AsyncTestClient[Any], context: AppContext, seeded: Seed
) -> None:
    manager = await _token(context, sorted(seeded.people)[1], Role.ADMIN)
    # The whole history: the API's default period ends now (the wall clock), the seed's clock
    # is in the past, so ask for the seed's span explicitly.
    span = {"from": (NOW - timedelta(days=80)).date().isoformat(), "to": NOW.date().isoformat()}
    response = await client.get("/api/dashboard/export/summary", params=span, headers=manager)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert int(rows[0]["posted"]) == sum(
        1 for c in seeded.calls if c.status != CallStatus.WITHDRAWN
    )
    response = await client.get("/api/dashboard/export/departments", params=span, headers=manager)
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert sum(int(r["useful_replies"]) for r in rows) == sum(
        1 for c in seeded.calls for r in c.replies if useful(c, r)
    )
    for table in ("weeks", "waiting", "connectors", "adoption", "activity", "gaps"):
        response = await client.get(f"/api/dashboard/export/{table}", params=span, headers=manager)
        assert response.status_code == 200, table
        assert next(csv.reader(io.StringIO(response.text)))  # a header row


def test_a_chart_draws_each_value_to_scale_and_escapes_its_words() -> None:
    import re

    from askhub.dashboard.charts import bars

    svg = str(bars("<b>Calls</b>", ["w1", "w2", "w3"], [("posted", [10, 5, 0])], ident="c"))
    assert "<b>" not in svg and "&lt;b&gt;Calls&lt;/b&gt;" in svg
    heights = [
        float(h)
        for h in re.findall(
            r'class="bar s0" x="[\d.]+" y="[\d.]+" width="[\d.]+" height="([\d.]+)"', svg
        )
    ]
    # Three bars and the legend's swatch; 10 reaches the axis' top (10), 5 half of it, 0 nothing.
    assert heights[:3] == [pytest.approx(heights[0]), pytest.approx(heights[0] / 2), 0.0]
    assert heights[0] > 100
    percent = str(bars("Rate", ["wave 1"], [("replied", [0.25])], percent=True))
    assert "100%" in percent and "25%" in percent
