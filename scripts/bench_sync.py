"""What keeping the index current costs a warm routing call, before and after issue 13 item 1.

Before, every routing call ran, to learn whether its index was current, one statement with the
change log's head and oldest row and ``count(*)`` over the stored vectors of the model (a scan
of the whole ``embedding`` table), and a second one for the newest stored ranker. Now it runs
one statement of three index lookups; the count runs at start, rebuilds and the follower's
audit. This fills an empty database with synthetic people, posts and stored vectors (random
unit vectors: the model's cost is not what is measured), then times in the same run:

- the old per-call check (its two statements) against the new one (its one statement);
- the read of who may be away or opted out: whole people over the whole person table as
  before, three columns of the partial index's rows now (2% of the people are away);
- a whole warm ``route()`` now, with its statement count.

    python scripts/bench_sync.py --database-url postgresql+asyncpg://postgres@127.0.0.1/bench \
        --posts 100000

The database must be empty (or hold an earlier run of this script with the same sizes).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench_index_edit import RandomEmbedder  # scripts/ is on the path when run as a script
from sqlalchemy import event, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from askhub.routing.service import RoutingService
from askhub.settings import Settings
from models import (
    Availability,
    Embedding,
    IndexChange,
    Person,
    Post,
    RoutingModel,
    person_maybe_unavailable,
)
from models.db import create_engine, session_factory, upgrade

DIM = 512
WORDS = [f"w{i}" for i in range(20_000)]


async def fill(session: AsyncSession, people: int, posts: int, embedder: RandomEmbedder) -> None:
    r = random.Random(1)
    await session.execute(
        insert(Person),
        [
            {
                "handle": f"p{i:06d}",
                "name": f"Person {i}",
                "availability": Availability.AWAY if i % 50 == 0 else Availability.AVAILABLE,
            }
            for i in range(people)
        ],
    )
    ids = list(await session.scalars(select(Person.id)))
    for start in range(0, posts, 5000):
        n = min(5000, posts - start)
        rows = [
            {
                "author_id": ids[(start + i) % len(ids)],
                "title": " ".join(r.choices(WORDS, k=6)),
                "body": " ".join(r.choices(WORDS, k=60)),
            }
            for i in range(n)
        ]
        post_ids = list(await session.scalars(insert(Post).returning(Post.id), rows))
        vectors = embedder.encode([""] * n)
        await session.execute(
            insert(Embedding),
            [
                {
                    "post_id": pid,
                    "model_id": embedder.model_id,
                    "chunk": 0,
                    "text": rows[i]["body"],
                    "dim": DIM,
                    "vector": vectors[i].tobytes(),
                }
                for i, pid in enumerate(post_ids)
            ],
        )
        print(f"  {start + n} posts stored", flush=True)


def old_check(model_id: str) -> list[Any]:
    """The statements every routing call ran before: head, oldest and the full count in one
    snapshot, then the newest stored ranker."""
    return [
        select(
            select(func.coalesce(func.max(IndexChange.id), 0)).scalar_subquery(),
            select(func.coalesce(func.min(IndexChange.id), 0)).scalar_subquery(),
            select(func.count()).where(Embedding.model_id == model_id).scalar_subquery(),
        ),
        select(func.coalesce(func.max(RoutingModel.id), 0)),
    ]


def new_check() -> list[Any]:
    """The one statement a routing call runs now (RoutingService.sync)."""
    return [
        select(
            select(func.coalesce(func.max(IndexChange.id), 0)).scalar_subquery(),
            select(func.coalesce(func.min(IndexChange.id), 0)).scalar_subquery(),
            select(func.coalesce(func.max(RoutingModel.id), 0)).scalar_subquery(),
        )
    ]


async def timed(runs: int, step: Callable[[], Awaitable[object]]) -> list[float]:
    await step()  # warm: compiled, cached
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await step()
        times.append((time.perf_counter() - started) * 1000)
    return times


def line(label: str, times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"{label:<44} p50 {statistics.median(times):8.2f} ms   p95 {p95:8.2f} ms"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="an empty database (default: a new SQLite file)")
    parser.add_argument("--posts", type=int, default=20_000)
    parser.add_argument("--people", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    scratch = tempfile.TemporaryDirectory()
    url = args.database_url or f"sqlite+aiosqlite:///{Path(scratch.name) / 'bench.db'}"
    engine = create_engine(url)
    await upgrade(engine)
    sessions = session_factory(engine)
    embedder = RandomEmbedder(DIM)
    async with sessions() as session:
        stored = int(await session.scalar(select(func.count()).select_from(Embedding)) or 0)
    if stored == 0:
        print(f"filling {url.split('@')[-1]}: {args.people} people, {args.posts} posts")
        async with sessions() as session, session.begin():
            await fill(session, args.people, args.posts, embedder)
    elif stored != args.posts:
        raise SystemExit(f"the database holds {stored} vectors, not {args.posts}: use an empty one")
    settings = Settings(database_url=url, data_dir=Path(scratch.name), scheduler=False)
    routing = RoutingService(settings, embedder)
    async with sessions() as session:
        started = time.perf_counter()
        await routing.sync(session)
        print(
            f"index built from {args.posts} stored vectors in {time.perf_counter() - started:.1f} s"
        )

        async def run(statements: list[Any]) -> None:
            for statement in statements:
                (await session.execute(statement)).all()

        old = await timed(args.runs, lambda: run(old_check(embedder.model_id)))
        new = await timed(args.runs, lambda: run(new_check()))
        # Who may be unavailable: the query as it was (whole people, over the whole table) and
        # as it is (three columns of the partial index's rows).
        scan = select(Person).where(Person.availability != Availability.AVAILABLE)
        old_people = await timed(args.runs, lambda: run([scan]))
        three = select(Person.id, Person.availability, Person.away_until)
        new_people = await timed(args.runs, lambda: run([three.where(person_maybe_unavailable())]))
        text = " ".join(random.Random(2).choices(WORDS, k=8))
        routed = await timed(args.runs, lambda: routing.route(session, text, k=10))
        seen: list[str] = []

        def record(*event_args: Any) -> None:
            seen.append(str(event_args[2]))

        event.listen(engine.sync_engine, "before_cursor_execute", record)
        await routing.route(session, text, k=10)
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    await engine.dispose()
    scratch.cleanup()

    print(f"\n{engine.dialect.name}, {args.posts} stored vectors, {args.runs} runs each")
    print(line("per-call index check before (2 statements)", old))
    print(line("per-call index check now (1 statement)", new))
    print(line("who may be unavailable, before (whole table)", old_people))
    print(line("who may be unavailable, now (partial index)", new_people))
    print(line(f"warm route() now ({len(seen)} statements)", routed))
    saved = statistics.median(old) - statistics.median(new)
    saved += statistics.median(old_people) - statistics.median(new_people)
    before = statistics.median(routed) + saved
    print(
        f"check before / now: {statistics.median(old) / statistics.median(new):.1f}x; "
        f"unavailable before / now: "
        f"{statistics.median(old_people) / statistics.median(new_people):.1f}x; "
        f"warm route() before ~{before:.1f} ms ({len(seen) + 1} statements) vs "
        f"{statistics.median(routed):.1f} ms now"
    )


if __name__ == "__main__":
    asyncio.run(main())
