"""How long each dashboard figure takes on a large organisation (no model, no index: the
knowledge gaps are left out, they cluster at most 2,000 questions).

    .venv/bin/python scripts/bench_dashboard.py --people 100000 --calls 200000 [--postgres URL]

People in 200 departments and 20 locations; calls over a year, each with 5 asks and about
two replies. Prints the seconds per figure for the default period (28 days), whole
organisation and one department; the baseline is a plain COUNT(*) over the reply table in
the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text

from askhub.dashboard import service
from askhub.dashboard.service import Scope
from models import Call, Match, Person, Reply
from models.db import create_engine, session_factory, upgrade

NOW = datetime(2026, 6, 1, tzinfo=UTC)


async def seed(url: str, people: int, calls: int) -> None:
    engine = create_engine(url)
    await upgrade(engine)
    rng = random.Random(3)
    async with engine.begin() as conn:
        for start in range(0, people, 5000):
            await conn.execute(
                insert(Person),
                [
                    {
                        "handle": f"p{i}",
                        "name": f"P {i}",
                        "department": f"D{i % 200}",
                        "location": f"L{i % 20}",
                        "bio": "x" if i % 3 else "",
                        "skills": ["a"] if i % 2 else [],
                        "languages": ["nl"],
                    }
                    for i in range(start, min(start + 5000, people))
                ],
            )
        for start in range(0, calls, 2000):
            rows: list[dict[str, Any]] = []
            for i in range(start, min(start + 2000, calls)):
                rows.append(
                    {
                        "id": i + 1,
                        "asker_id": rng.randint(1, people),
                        "kind": "question",
                        "title": f"c{i}",
                        "status": rng.choice(["open", "answered", "expired"]),
                        "created_at": NOW - timedelta(minutes=rng.randint(1, 365 * 24 * 60)),
                    }
                )
            await conn.execute(insert(Call), rows)
            matches: list[dict[str, Any]] = []
            replies: list[dict[str, Any]] = []
            for row in rows:
                asked = rng.sample(range(1, people + 1), 5)
                for rank, person in enumerate(asked, 1):
                    matches.append(
                        {
                            "call_id": row["id"],
                            "person_id": person,
                            "rank": rank,
                            "score": 1.0,
                            "wave": 1 + rank // 3,
                            "state": "nudged",
                            "nudged_at": row["created_at"],
                        }
                    )
                    if rng.random() < 0.4:
                        replies.append(
                            {
                                "call_id": row["id"],
                                "person_id": person,
                                "kind": "answer",
                                "body": "",
                                "accepted": rng.random() < 0.3,
                                "helpful": False,
                                "created_at": row["created_at"]
                                + timedelta(hours=rng.random() * 30),
                            }
                        )
            await conn.execute(insert(Match), matches)
            await conn.execute(insert(Reply), replies)
    # Fresh tables have no statistics until autovacuum runs: plan as a running system would.
    async with engine.begin() as conn:
        await conn.execute(text("ANALYZE"))
    await engine.dispose()


async def measure(url: str) -> None:
    engine = create_engine(url)
    sessions = session_factory(engine)
    async with sessions() as session:
        started = time.perf_counter()
        replies = await session.scalar(select(func.count()).select_from(Reply))
        baseline = time.perf_counter() - started
        print(f"baseline COUNT(*) over {replies} replies: {baseline:.3f} s")
        for label, scope in (
            ("organisation", Scope(NOW - timedelta(days=28), NOW)),
            ("one department", Scope(NOW - timedelta(days=28), NOW, department="D7")),
        ):
            figures: dict[str, Callable[[], Awaitable[object]]] = {
                "summary": partial(service.summary, session, scope),
                "waiting": partial(service.waiting, session, scope, NOW, 2 * 86400),
                "connectors": partial(service.connectors, session, scope),
                "who helps whom": partial(service.who_helps_whom, session, scope),
                "adoption": partial(service.adoption, session, scope),
            }
            for name, run in figures.items():
                started = time.perf_counter()
                await run()
                spent = time.perf_counter() - started
                print(f"{label:15} {name:15} {spent:7.3f} s  ({spent / baseline:5.1f}x baseline)")
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--postgres", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.postgres or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        started = time.perf_counter()
        asyncio.run(seed(url, args.people, args.calls))
        print(f"seeded in {time.perf_counter() - started:.0f} s")
        asyncio.run(measure(url))


if __name__ == "__main__":
    main()
