#!/usr/bin/env python
"""Simulate the nudge loop on a virtual clock against a generated organisation (issue 9, item 7).

The real code runs: calls are posted through ``askhub.calls.service.create_call`` (real routing
with the default embedding model), the scheduler's ``lifecycle_tick`` runs every ``--tick``
minutes of virtual time (waves, reach sizing, reminders, deadlines, digests), and replies go
through ``askhub.calls.service.add_reply``. Only the people are simulated, with the behaviour
stated below and printed with the figures (``--seed`` makes a run repeatable):

- People: ``--people`` (18,000) in 40 departments and 10 locations; 70% read Dutch, 20% English,
  10% both; 2% are away for the whole run; everyone has the default budget of 3 asks a week.
  8% are experts with one profile post on one of 30 topics (the routing evidence).
- Working hours: people read and reply 08:00-17:00 UTC, Monday to Friday (09-18 Amsterdam).
- Answering: asked a question or referral on their own topic, a person answers with their own
  rate, drawn from Beta(2, 4) (mean 33%); off their topic, a fifth of that.
- Volunteering: asked to volunteer, a person signs up with their own rate, drawn from
  Beta(0.4, 9.6) (mean 4%, below the 5% prior AskHub starts from: it must catch up).
- Delay: the reply comes after a log-normal span of working time, median 2 working hours
  (sigma 1.2); 30% of those who do not reply say "not me" after the same kind of delay; the rest
  stay silent.
- Workload: 30 questions and 2 referrals each working day from random askers, with a 3-day
  deadline; the modem call on day 1 (100 volunteers within 14 days, everyone); each Monday a
  department call (15 volunteers within 7 days) and a location call (40 within 10 days).

Reported per call kind: share with a useful reply within 1 hour and 1 day, median time to the
first useful reply, volunteers calls filled by their deadline and when, people asked per call;
asks per person per week (p50, p99, max over person-weeks) and the most asks anyone had in any
7 days, against their weekly budget.

Usage: .venv/bin/python scripts/bench_loop.py [--people 18000] [--days 28] [--tick 30]
       [--seed 7] [--json]
A temporary SQLite database is used and removed. 18,000 people over 28 days takes minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import json
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
from sqlalchemy import event, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from askhub.calls import service
from askhub.calls.scheduled import lifecycle_tick
from askhub.calls.schemas import CallCreate, ReplyCreate
from askhub.context import AppContext
from askhub.settings import Settings
from indexer.embedders import load_embedder
from models import (
    Availability,
    Call,
    CallKind,
    CallStatus,
    Match,
    Person,
    Post,
    PostKind,
    Reply,
    ReplyKind,
)
from models.db import create_engine, upgrade

TOPICS = [
    ("staalbouw", "Staalbouw en stalen draagconstructies voor technische gebouwen"),
    ("modem firmware", "Field trials of home modem firmware and WiFi drop-outs"),
    ("glasvezel", "Glasvezel aanleggen in nieuwbouwwijken en graafvergunningen"),
    ("kubernetes", "Running Kubernetes clusters and upgrades without downtime"),
    ("zonnepanelen", "Zonnepanelen op daken van kantoren en netaansluiting"),
    ("gdpr", "GDPR data protection impact assessments for customer data"),
    ("5g antennas", "Planning 5G antenna sites and radio coverage measurements"),
    ("salarisadministratie", "Salarisadministratie, loonstroken en pensioenregelingen"),
    ("call centre", "Call centre routing, waiting times and customer satisfaction"),
    ("tv streaming", "IPTV streaming quality, set-top boxes and video encoders"),
    ("inkoop", "Inkoop van netwerkapparatuur en aanbestedingen"),
    ("security incidents", "Handling security incidents, phishing and forensics"),
    ("datacenter koeling", "Koeling van datacenters en energieverbruik"),
    ("sap finance", "SAP finance modules, month-end closing and reporting"),
    ("recruitment", "Recruiting engineers and running job interviews"),
    ("duurzaamheid", "Duurzaamheid, CO2-reductie en circulaire inkoop"),
    ("mobile apps", "Building the customer mobile app in Kotlin and Swift"),
    ("billing", "Billing systems, invoices and payment disputes"),
    ("juridisch contracten", "Contracten met leveranciers en juridische voorwaarden"),
    ("network monitoring", "Network monitoring, alarms and on-call rotations"),
    ("marketing campagnes", "Marketingcampagnes, doelgroepen en conversie"),
    ("data science", "Churn prediction models and customer analytics"),
    ("vastgoed", "Vastgoed, huurcontracten en verbouwingen van winkels"),
    ("ip telephony", "VoIP and IP telephony for business customers"),
    ("opleidingen", "Opleidingen, e-learning en leiderschapstrajecten"),
    ("cloud costs", "Cloud cost management and reserved capacity"),
    ("klantenservice", "Klantenservice via chat, WhatsApp en social media"),
    ("satellite links", "Satellite links for remote sites and ships"),
    ("arbo veiligheid", "Arbo, veilig werken op hoogte en in masten"),
    ("api design", "Designing public APIs, versioning and rate limits"),
]
DEPARTMENTS = 40
LOCATIONS = 10
WORK_START, WORK_END = 8, 17  # UTC hours, Monday to Friday


def next_working(t: datetime) -> datetime:
    """The first working moment at or after ``t``."""
    while True:
        if t.weekday() >= 5:
            t = (t + timedelta(days=7 - t.weekday())).replace(hour=WORK_START, minute=0, second=0)
        elif t.hour < WORK_START:
            t = t.replace(hour=WORK_START, minute=0, second=0)
        elif t.hour >= WORK_END:
            t = (t + timedelta(days=1)).replace(hour=WORK_START, minute=0, second=0)
        else:
            return t


def add_working(t: datetime, seconds: float) -> datetime:
    """``t`` plus ``seconds`` of working time."""
    t = next_working(t)
    while True:
        end = t.replace(hour=WORK_END, minute=0, second=0, microsecond=0)
        room = (end - t).total_seconds()
        if seconds <= room:
            return t + timedelta(seconds=seconds)
        seconds -= room
        t = next_working(end)


@dataclass
class People:
    ids: list[int]
    topic: dict[int, int]  # experts only
    answer: dict[int, float]
    volunteer: dict[int, float]
    budget: int = 3


@dataclass
class Sim:
    ctx: AppContext
    people: People
    rng: np.random.Generator
    topic_of_call: dict[int, int] = field(default_factory=dict)
    events: list[tuple[datetime, int, int, int, ReplyKind]] = field(default_factory=list)
    seq: int = 0
    late: int = 0

    def schedule(self, at: datetime, call_id: int, person_id: int, kind: ReplyKind) -> None:
        self.seq += 1
        heapq.heappush(self.events, (at, self.seq, call_id, person_id, kind))


async def generate(ctx: AppContext, n: int, rng: np.random.Generator) -> People:
    langs = rng.choice(3, size=n, p=[0.7, 0.2, 0.1])
    away = rng.random(n) < 0.02
    experts = rng.random(n) < 0.08
    rows = [
        {
            "handle": f"p{i}",
            "name": f"Person {i}",
            "email": f"p{i}@sim.example",
            "department": f"Department {i % DEPARTMENTS}",
            "location": f"Location {(i // DEPARTMENTS) % LOCATIONS}",
            "languages": [["nl"], ["en"], ["nl", "en"]][int(langs[i])],
            "bio": "",
            "skills": [],
            "timezone": "UTC",
            "availability": Availability.AWAY if away[i] else Availability.AVAILABLE,
            "away_until": datetime(2100, 1, 1, tzinfo=UTC) if away[i] else None,
            "channels": ["inapp"],
        }
        for i in range(n)
    ]
    async with ctx.sessions() as session, session.begin():
        for start in range(0, n, 2000):
            await session.execute(insert(Person), rows[start : start + 2000])
        ids = list(await session.scalars(select(Person.id).order_by(Person.id)))
        topic: dict[int, int] = {}
        posts = []
        for i, pid in enumerate(ids):
            if experts[i]:
                k = int(rng.integers(len(TOPICS)))
                topic[pid] = k
                name, text = TOPICS[k]
                posts.append(
                    {
                        "author_id": pid,
                        "kind": PostKind.PROFILE,
                        "title": f"Profile — Department {i % DEPARTMENTS}",
                        "body": f"{text}. I work on {name} every day.",
                        "tags": [name],
                        "source": "sim",
                        "external_id": f"profile-{pid}",
                    }
                )
        await session.execute(insert(Post), posts)
    await ctx.routing.embed_missing(ctx.sessions)
    answer = rng.beta(2, 4, size=n)
    volunteer = rng.beta(0.4, 9.6, size=n)
    return People(
        ids=ids,
        topic=topic,
        answer={pid: float(answer[i]) for i, pid in enumerate(ids)},
        volunteer={pid: float(volunteer[i]) for i, pid in enumerate(ids)},
    )


def workload(
    start: datetime, days: int, rng: np.random.Generator
) -> list[tuple[datetime, dict[str, Any]]]:
    """Every call of the run: (posted at, CallCreate fields without the deadline offset)."""
    out: list[tuple[datetime, dict[str, Any]]] = []
    modem_at = next_working(start + timedelta(hours=2))
    out.append(
        (
            modem_at,
            {
                "kind": "volunteers",
                "title": "Testers gezocht voor het nieuwe modem",
                "body": "Wie test twee weken het nieuwe modem en de firmware thuis?",
                "needed": 100,
                "deadline": modem_at + timedelta(days=14),
                "_modem": True,
            },
        )
    )
    for day in range(days):
        date = start + timedelta(days=day)
        if date.weekday() >= 5:
            continue
        for kind, count in (("question", 30), ("referral", 2)):
            for _ in range(count):
                at = date.replace(hour=WORK_START) + timedelta(
                    seconds=float(rng.uniform(0, (WORK_END - WORK_START) * 3600))
                )
                k = int(rng.integers(len(TOPICS)))
                name, text = TOPICS[k]
                out.append(
                    (
                        at,
                        {
                            "kind": kind,
                            "title": f"Who knows about {name}?"
                            if kind == "question"
                            else f"Who knows someone for a job in {name}?",
                            "body": text,
                            "deadline": at + timedelta(days=3),
                            "_topic": k,
                            # A referral shares a vacancy at its public address.
                            **({"url": f"https://jobs.example/{k}"} if kind == "referral" else {}),
                        },
                    )
                )
        if date.weekday() == 0 and day > 0:
            at = date.replace(hour=10)
            dept = int(rng.integers(DEPARTMENTS))
            out.append(
                (
                    at,
                    {
                        "kind": "volunteers",
                        "title": f"15 helpers for the Department {dept} open day",
                        "body": "Help us host visitors for one afternoon.",
                        "needed": 15,
                        "deadline": at + timedelta(days=7),
                        "audience": {"department": f"Department {dept}"},
                    },
                )
            )
            loc = int(rng.integers(LOCATIONS))
            out.append(
                (
                    at + timedelta(hours=1),
                    {
                        "kind": "volunteers",
                        "title": f"40 colleagues in Location {loc} to test the new badge system",
                        "body": "Try the new badges for a week and tell us what fails.",
                        "needed": 40,
                        "deadline": at + timedelta(days=10),
                        "audience": {"location": f"Location {loc}"},
                    },
                )
            )
    out.sort(key=lambda x: x[0])
    return out


async def post(sim: Sim, at: datetime, fields: dict[str, Any]) -> int | None:
    topic = fields.pop("_topic", None)
    fields.pop("_modem", None)
    asker = int(sim.rng.choice(sim.people.ids))
    async with sim.ctx.sessions() as session, session.begin():
        person = await session.get(Person, asker)
        assert person is not None
        call = await service.create_call(
            session, sim.ctx.routing, sim.ctx.settings, person, CallCreate(**fields), now=at
        )
        if topic is not None:
            sim.topic_of_call[call.id] = topic
        return call.id


async def people_react(sim: Sim, since: datetime, until: datetime) -> None:
    """Everyone asked in (since, until] decides now whether, how and when to reply."""
    async with sim.ctx.sessions() as session:
        rows = (
            await session.execute(
                select(Match.call_id, Match.person_id, Match.nudged_at, Call.kind)
                .join(Call, Call.id == Match.call_id)
                .where(Match.nudged_at > since, Match.nudged_at <= until)
            )
        ).all()
    for call_id, person_id, nudged_at, kind in rows:
        assert nudged_at is not None
        reply: ReplyKind
        if kind == CallKind.VOLUNTEERS:
            p, reply = sim.people.volunteer[person_id], ReplyKind.VOLUNTEER
        else:
            rate = sim.people.answer[person_id]
            on_topic = sim.people.topic.get(person_id) == sim.topic_of_call.get(call_id)
            p, reply = (rate if on_topic else rate / 5), ReplyKind.ANSWER
        delay = float(sim.rng.lognormal(np.log(2 * 3600), 1.2))
        if sim.rng.random() < p:
            sim.schedule(add_working(nudged_at, delay), call_id, person_id, reply)
        elif sim.rng.random() < 0.3:
            sim.schedule(add_working(nudged_at, delay), call_id, person_id, ReplyKind.DECLINE)


async def load_call(
    session: AsyncSession, call_id: int, person_id: int, kind: ReplyKind
) -> Call | None:
    """The call as ``add_reply`` needs it. Only a volunteer who may fill the call needs every
    match (the others are told it is full); any other reply reads the replier's own match, so
    the simulation loads just that one instead of thousands (the same service code runs)."""
    needed, status = (
        await session.execute(select(Call.needed, Call.status).where(Call.id == call_id))
    ).one()
    if kind == ReplyKind.VOLUNTEER and needed is not None and status == CallStatus.OPEN:
        count = await session.scalar(
            select(func.count()).where(Reply.call_id == call_id, Reply.kind == "volunteer")
        )
        if (count or 0) + 1 >= needed:
            return await service.get_call(session, call_id)
    return await session.scalar(
        select(Call)
        .where(Call.id == call_id)
        .options(
            selectinload(Call.asker),
            selectinload(Call.matches.and_(Match.person_id == person_id)).selectinload(
                Match.person
            ),
            selectinload(Call.replies),
        )
    )


async def apply_replies(sim: Sim, until: datetime) -> None:
    while sim.events and sim.events[0][0] <= until:
        at, _, call_id, person_id, kind = heapq.heappop(sim.events)
        async with sim.ctx.sessions() as session, session.begin():
            call = await load_call(session, call_id, person_id, kind)
            person = await session.get(Person, person_id)
            assert call is not None and person is not None
            body = "Happy to help." if kind != ReplyKind.DECLINE else ""
            try:
                async with session.begin_nested():
                    await service.add_reply(
                        session,
                        sim.ctx.settings,
                        call,
                        person,
                        msgspec.convert({"body": body, "kind": str(kind)}, ReplyCreate),
                        now=at,
                    )
            except service.CallError:
                sim.late += 1  # full or closed by the time they replied


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


async def report(sim: Sim, start: datetime, end: datetime) -> dict[str, Any]:
    async with sim.ctx.sessions() as session:
        calls = (await session.scalars(select(Call).order_by(Call.id))).all()
        replies = (await session.execute(select(Reply.call_id, Reply.kind, Reply.created_at))).all()
        asks = (
            await session.execute(
                select(Match.call_id, Match.person_id, Match.nudged_at).where(
                    Match.nudged_at.is_not(None)
                )
            )
        ).all()
    useful: dict[int, list[datetime]] = defaultdict(list)
    for call_id, reply_kind, created in replies:
        if reply_kind in (ReplyKind.ANSWER, ReplyKind.VOLUNTEER):
            useful[call_id].append(created)
    asked_per_call = Counter(call_id for call_id, _, _ in asks)
    by_kind: dict[str, dict[str, Any]] = {}
    for kind in ("question", "referral", "volunteers"):
        these = [c for c in calls if c.kind == kind]
        if not these:
            continue
        firsts = [(min(useful[c.id]) - c.created_at).total_seconds() for c in these if useful[c.id]]
        row: dict[str, Any] = {
            "calls": len(these),
            "answered_1h": round(sum(1 for s in firsts if s <= 3600) / len(these), 3),
            "answered_1d": round(sum(1 for s in firsts if s <= 86400) / len(these), 3),
            "answered_ever": round(len(firsts) / len(these), 3),
            "median_first_reply_h": round(statistics.median(firsts) / 3600, 2) if firsts else None,
            "asked_per_call_median": statistics.median(asked_per_call[c.id] for c in these),
            "asked_per_call_max": max(asked_per_call[c.id] for c in these),
        }
        if kind == "volunteers":
            filled: list[dict[str, Any]] = []
            for c in these:
                signed = sorted(useful[c.id])
                done_at = signed[c.needed - 1] if c.needed and len(signed) >= c.needed else None
                filled.append(
                    {
                        "title": c.title,
                        "needed": c.needed,
                        "volunteers": len(signed),
                        "asked": asked_per_call[c.id],
                        "filled_after_days": round(
                            (done_at - c.created_at).total_seconds() / 86400, 2
                        )
                        if done_at
                        else None,
                        "deadline_days": round(
                            (c.deadline - c.created_at).total_seconds() / 86400, 1
                        )
                        if c.deadline
                        else None,
                        "status": str(c.status),
                    }
                )
            finished = [f for f in filled if f["deadline_days"] is not None]
            row["filled_by_deadline"] = sum(
                1
                for f in finished
                if f["filled_after_days"] is not None
                and f["filled_after_days"] <= f["deadline_days"]
            )
            row["volunteers_calls"] = filled
        by_kind[kind] = row
    # Asks per person per week: every person, every whole week of the run (zeros included).
    weeks = max(1, int((end - start).total_seconds() // (7 * 86400)))
    per_week: Counter[tuple[int, int]] = Counter()
    times: dict[int, list[datetime]] = defaultdict(list)
    for _, person_id, nudged_at in asks:
        assert nudged_at is not None
        week = int((nudged_at - start).total_seconds() // (7 * 86400))
        if week < weeks:
            per_week[(person_id, week)] += 1
        times[person_id].append(nudged_at)
    counts: list[float] = [
        per_week.get((pid, w), 0) for pid in sim.people.ids for w in range(weeks)
    ]
    rolling = 0
    for stamps in times.values():
        stamps.sort()
        j = 0
        for i, t in enumerate(stamps):
            while stamps[j] <= t - timedelta(days=7):
                j += 1
            rolling = max(rolling, i - j + 1)
    modem = next(
        (
            f
            for f in by_kind.get("volunteers", {}).get("volunteers_calls", [])
            if "modem" in f["title"]
        ),
        None,
    )
    return {
        "people": len(sim.people.ids),
        "days": round((end - start).total_seconds() / 86400, 1),
        "calls": len(calls),
        "by_kind": by_kind,
        "asks_per_person_week": {
            "p50": pct(counts, 50),
            "p99": pct(counts, 99),
            "max": max(counts) if counts else 0,
        },
        "max_asks_any_7_days": rolling,
        "weekly_budget": sim.people.budget,
        "replies_after_close_or_full": sim.late,
        "modem": modem,
        "still_open": sum(1 for c in calls if c.status == CallStatus.OPEN),
    }


def _no_fsync(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=OFF")
    cursor.close()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory(prefix="askhub-sim-") as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'sim.db'}"
        engine = create_engine(url)
        await upgrade(engine)
        await engine.dispose()
        settings = Settings(
            database_url=url,
            data_dir=Path(tmp) / "var",
            scheduler=False,
            smtp_enabled=False,
            webhook_enabled=False,
            base_url="http://askhub.sim",
        )
        ctx = AppContext.create(settings, load_embedder())
        # A throwaway database: no fsync per commit (the loop's code is the same either way).
        event.listen(ctx.engine.sync_engine, "connect", _no_fsync)
        try:
            began = time.monotonic()
            people = await generate(ctx, args.people, rng)
            setup = time.monotonic() - began
            sim = Sim(ctx, people, rng)
            # The virtual clock starts at the next Monday 00:00 UTC after the real one (posting
            # checks deadlines against the real clock, so virtual time never runs behind it).
            today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
            start = today + timedelta(days=7 - today.weekday())
            end = start + timedelta(days=args.days)
            plan = workload(start, args.days, rng)
            step = timedelta(minutes=args.tick)
            now = start
            began = time.monotonic()
            while now < end:
                nxt = now + step
                while plan and plan[0][0] <= nxt:
                    at, fields = plan.pop(0)
                    await post(sim, at, fields)
                await lifecycle_tick(ctx.sessions, settings, nxt)
                await people_react(sim, now, nxt)
                await apply_replies(sim, nxt)
                now = nxt
            out = await report(sim, start, end)
            out["seconds"] = {
                "setup": round(setup, 1),
                "simulation": round(time.monotonic() - began, 1),
            }
            out["seed"] = args.seed
            return out
        finally:
            await ctx.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=18_000)
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--tick", type=int, default=30, help="minutes of virtual time per tick")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print only the JSON report")
    args = parser.parse_args()
    if args.people < 100 or args.days < 1 or args.tick < 1:
        print("bench_loop: --people >= 100, --days >= 1 and --tick >= 1", file=sys.stderr)
        return 2
    out = asyncio.run(run(args))
    if not args.json:
        for kind, row in out["by_kind"].items():
            calls = row.pop("volunteers_calls", None)
            print(kind, json.dumps(row))
            for c in calls or []:
                print("   ", json.dumps(c))
        print("asks per person per week", json.dumps(out["asks_per_person_week"]))
        print("most asks in any 7 days", out["max_asks_any_7_days"], "budget", out["weekly_budget"])
    print(json.dumps(out, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
