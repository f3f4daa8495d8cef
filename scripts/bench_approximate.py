"""The service's index at size: when approximate search pays, what the index holds in memory,
and what the first routing call after a new post costs.

    python scripts/bench_approximate.py --threshold 50000,100000,200000,400000
    python scripts/bench_approximate.py --memory 100000
    flock /work/bigmem.lock python scripts/bench_approximate.py --memory 1000000
    python scripts/bench_approximate.py --first-call 100000

Vectors are synthesised as ``scripts/bench_routing.py`` does (topic centres calibrated to the
real model's similarity statistics, measured on 300 texts at the start), never encoded.

``--threshold``: per size, one dense search (one FAISS thread, as the service searches) exact
against IVF built the way the service builds it (``approximate_copy``, with its recall against
exact), same queries alternating; the ratio is what chooses ``ASKHUB_APPROXIMATE_ABOVE``.

``--memory``: RSS of an ``ExpertiseIndex`` filled from stored vectors as the service fills it
(documents, passages, exact FAISS, BM25), then while and after the IVF index is built beside it
and swapped in. The generated vectors are added in batches and dropped, so the RSS growth is
the index's own.

``--first-call``: a SQLite database of N posts with their vectors, a ``RoutingService`` over
it; a post is written, and the next routing call is timed against the calls after it, with the
lexical delta and answer counts kept by the index (as the service runs), with the answers
counted over every post at each change ("priors scan": before this script), and with the
lexical delta disabled too (every change rebuilds BM25 in full at the next search: what the
service did before the delta), alternating in the same run. Then with a fitted ranker: the
first call after a new post when it rebuilds the ranker's history itself (before) against now
(the last history serves while a fresh one is built in the background), the calls during that
rebuild, the calls after it, and the rebuild's own time.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import hashlib
import math
import pstats
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import psutil
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_routing as br

import indexer.lexical
from indexer.dense import DEFAULT_NPROBE, DenseIndex, approximate_copy
from indexer.embedders import Embedder, load_embedder
from indexer.expertise import ExpertiseIndex, Passage

PROCESS = psutil.Process()
GB = 1e9


def rss() -> float:
    return float(PROCESS.memory_info().rss) / GB


class PeakRss:
    """The highest RSS seen while the block runs (sampled every 50 ms)."""

    def __init__(self) -> None:
        self.peak = rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, rss())

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss())


class SyntheticEmbedder:
    """Query vectors from the topic space, one per text (by hash): no model in the timings."""

    model_id = "bench-synthetic"

    def __init__(self, space: br.TopicSpace) -> None:
        self.space = space
        self.dim = space.dim

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        seed = int.from_bytes(hashlib.sha256("\n".join(texts).encode()).digest()[:8], "little")
        rng = np.random.default_rng(seed)
        topics = rng.integers(0, len(self.space.centres), len(texts))
        return self.space.vectors(topics, rng)


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)] * 1000


# -- when approximate search pays --------------------------------------------------------------


def bench_threshold(embedder: Embedder, sizes: Sequence[int], queries: int, seed: int) -> None:
    print(
        "\nsize | exact p50/p95 ms | IVF p50/p95 ms | exact/IVF p95 | IVF build s | recall@10/50/1000 | top-10 people kept"
    )
    for n in sizes:
        org = br.make_org(max(n // 10, 100), n, seed)
        space = br.TopicSpace(org.n_topics, embedder.dim, STATS, seed + 31)
        rng = np.random.default_rng(seed + 1)
        exact = DenseIndex(embedder.dim, "bench")
        for start in range(0, n, 50_000):
            topics = org.post_topic[start : start + 50_000]
            ids = np.arange(start + 1, start + len(topics) + 1, dtype=np.int64)
            exact.add(ids, space.vectors(topics, rng))

        def owner(vector_id: int, authors: NDArray[np.int64] = org.post_author) -> int:
            return int(authors[vector_id - 1])

        approx = approximate_copy(exact, nprobe=DEFAULT_NPROBE, owner=owner)
        exact.drop_journal()
        calls = space.vectors(rng.integers(0, org.n_topics, queries), rng)
        timings: dict[str, list[float]] = {"exact": [], "ivf": []}
        for q in calls:
            for name, dense in (("exact", exact), ("ivf", approx)):
                started = time.perf_counter()
                dense.search(q, 1000)
                timings[name].append(time.perf_counter() - started)
        recall = approx.recall
        assert recall is not None
        at = "/".join(f"{v:.3f}" for _, v in recall.at)
        e95, i95 = pct(timings["exact"], 0.95), pct(timings["ivf"], 0.95)
        print(
            f"{n:,} | {pct(timings['exact'], 0.5):.1f}/{e95:.1f} | "
            f"{pct(timings['ivf'], 0.5):.1f}/{i95:.1f} | {e95 / i95:.1f} | "
            f"{recall.build_seconds:.1f} | {at} | {recall.people_kept}",
            flush=True,
        )
        del exact, approx
        gc.collect()


# -- memory ---------------------------------------------------------------------------------


def bench_memory(embedder: Embedder, n: int, seed: int) -> None:
    org = br.make_org(max(n // 10, 100), n, seed)
    br.write_posts(org)
    space = br.TopicSpace(org.n_topics, embedder.dim, STATS, seed + 31)
    rng = np.random.default_rng(seed + 1)
    gc.collect()
    base = rss()
    print(f"\n{n:,} posts ({org.n_people:,} people): RSS {base:.2f} GB with the texts generated")
    index = ExpertiseIndex(SyntheticEmbedder(space))
    docs = org.documents
    started = time.perf_counter()
    for start in range(0, n, 50_000):
        batch = docs[start : start + 50_000]
        vectors = space.vectors(org.post_topic[start : start + len(batch)], rng)
        index.add(batch, [Passage(d.doc_id, d.doc_id, d.text) for d in batch], vectors)
    del vectors
    gc.collect()
    added = rss()
    index.lexical.search("warm up", 1)
    gc.collect()
    with_bm25 = rss()
    print(
        f"  exact index filled in {time.perf_counter() - started:.0f} s: +{added - base:.2f} GB "
        f"(dense {index.dense.index_bytes / GB:.2f} GB of it), +{with_bm25 - added:.2f} GB for "
        f"BM25: {with_bm25 - base:.2f} GB in all",
        flush=True,
    )
    exact = index.dense
    with PeakRss() as peak:
        approx = approximate_copy(exact, nprobe=DEFAULT_NPROBE, owner=index.owner)
    exact.hand_over(approx)
    index.attach_dense(approx)
    del exact
    gc.collect()
    after = rss()
    recall = approx.recall
    assert recall is not None
    print(
        f"  IVF built beside it in {recall.build_seconds:.0f} s: peak +{peak.peak - base:.2f} GB; "
        f"after the swap +{after - base:.2f} GB (dense {approx.index_bytes / GB:.2f} GB); "
        f"recall {dict(recall.at)}, people kept {recall.people_kept}",
        flush=True,
    )


# -- the first routing call after a new post ---------------------------------------------------


async def bench_first_call(
    embedder: Embedder, n: int, seed: int, rounds: int, profile: bool = False
) -> None:
    from sqlalchemy import insert

    from askhub.people.schemas import PostCreate
    from askhub.people.service import create_post
    from askhub.routing.service import RoutingService
    from askhub.settings import Settings
    from models import Embedding, Person, Post, PostKind
    from models.db import create_engine, session_factory, upgrade

    org = br.make_org(max(n // 10, 100), n, seed)
    br.write_posts(org)
    space = br.TopicSpace(org.n_topics, embedder.dim, STATS, seed + 31)
    synthetic = SyntheticEmbedder(space)
    rng = np.random.default_rng(seed + 1)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/askhub.db"
        engine = create_engine(url)
        await upgrade(engine)
        sessions = session_factory(engine)
        started = time.perf_counter()
        async with sessions() as session, session.begin():
            await session.execute(
                insert(Person),
                [
                    {"id": i + 1, "handle": f"p{i}", "name": f"Person {i}"}
                    for i in range(org.n_people)
                ],
            )
            for start in range(0, n, 20_000):
                batch = org.documents[start : start + 20_000]
                await session.execute(
                    insert(Post),
                    [
                        {
                            "id": d.doc_id,
                            "author_id": int(d.person[1:]) + 1,
                            "kind": PostKind.ANSWER if d.kind == "answer" else PostKind.QUESTION,
                            "title": d.title,
                            "body": d.body,
                            "tags": list(d.tags),
                            "created_at": d.created_at,
                        }
                        for d in batch
                    ],
                )
                vectors = space.vectors(org.post_topic[start : start + len(batch)], rng)
                await session.execute(
                    insert(Embedding),
                    [
                        {
                            "post_id": d.doc_id,
                            "model_id": synthetic.model_id,
                            "chunk": 0,
                            "text": d.text,
                            "dim": synthetic.dim,
                            "vector": v.tobytes(),
                        }
                        for d, v in zip(batch, vectors, strict=True)
                    ],
                )
        print(f"\n{n:,} posts written to SQLite in {time.perf_counter() - started:.0f} s")
        settings = Settings(database_url=url, data_dir=Path(tmp), scheduler=False)
        routing = RoutingService(settings, synthetic)
        started = time.perf_counter()
        async with sessions() as session:
            await routing.sync(session)
            await routing.route(session, "warm up", k=10)
        print(f"  index built from the stored vectors in {time.perf_counter() - started:.0f} s")
        calls = br.make_calls(org, 64, seed + 3)
        author = await _person(sessions, 1)
        modes = ("full rebuild", "priors scan", "delta")
        results: dict[str, list[tuple[float, float]]] = {mode: [] for mode in modes}
        counted = RoutingService._priors
        for round_no in range(rounds):
            for mode in modes:
                indexer.lexical.DELTA_MAX = 0 if mode == "full rebuild" else DELTA_MAX
                # Before the index counted answers, every change also counted them over the
                # whole post table: "full rebuild" and "priors scan" do that again.
                scan = mode != "delta"
                RoutingService._priors = scanned_priors if scan else counted  # type: ignore[method-assign]
                async with sessions() as session, session.begin():
                    await create_post(
                        session,
                        routing,
                        author,
                        PostCreate(title=f"Nieuw {mode} {round_no}", body=calls[round_no].text),
                    )
                times: list[float] = []
                for call in calls[8 * round_no % 56 : 8 * round_no % 56 + 4]:
                    profiler = cProfile.Profile() if profile and not times else None
                    started = time.perf_counter()
                    if profiler is not None:
                        profiler.enable()
                    async with sessions() as session:
                        await routing.route(session, call.text, k=10)
                    times.append(time.perf_counter() - started)
                    if profiler is not None:
                        profiler.disable()
                        print(f"  profile of the first call ({mode}):")
                        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
                results[mode].append((times[0], statistics.median(times[1:])))
        indexer.lexical.DELTA_MAX = DELTA_MAX
        RoutingService._priors = counted  # type: ignore[method-assign]
        ranked = await _first_call_ranked(routing, sessions, author, calls, rounds)
        await routing.close()
        await engine.dispose()
    print("  first routing call after a new post vs the median of the next three (ms):")
    for mode, pairs in results.items():
        firsts = [f * 1000 for f, _ in pairs]
        rests = [r * 1000 for _, r in pairs]
        print(
            f"  {mode:>13}: first {statistics.median(firsts):.0f} ms (each: "
            f"{', '.join(f'{f:.0f}' for f in firsts)}), then {statistics.median(rests):.0f} ms"
        )
    delta = statistics.median(f for f, _ in results["delta"])
    for mode in modes[:2]:
        before = statistics.median(f for f, _ in results[mode])
        print(f"  {mode} / delta, first call: {before / delta:.1f}")
    _print_ranked(ranked)


# A ranker on the default features (what `askhub routing fit` chooses from), each weighed, so
# routing featurises what a fitted one does; the weights themselves do not change the cost.
def bench_ranker() -> Any:
    from indexer.ranker import DEFAULT_FEATURES, FEATURES, FittedRanker

    return FittedRanker(
        features=FEATURES,
        mean=tuple(0.0 for _ in FEATURES),
        scale=tuple(1.0 for _ in FEATURES),
        coef=tuple(0.1 if f in DEFAULT_FEATURES else 0.0 for f in FEATURES),
        intercept=-2.0,
        platt_a=1.0,
        platt_b=0.0,
        questions=1000,
        positives=1000,
        fitted_at=time.time(),
    )


async def _first_call_ranked(
    routing: Any, sessions: Any, author: Any, calls: Sequence[Any], rounds: int
) -> dict[str, list[float]]:
    """With a fitted ranker: the first call after a new post, the calls while the history is
    rebuilt beside them, the calls after, and the rebuild itself (the service now); and the
    first call when it rebuilds the history itself (the service before), alternating."""
    from askhub.people.schemas import PostCreate
    from askhub.people.service import create_post

    routing.use_ranker(bench_ranker())  # no stored model: the service keeps this one
    started = time.perf_counter()
    async with sessions() as session:
        await routing.route(session, "warm up", k=10)  # the first history: at a start
    found: dict[str, list[float]] = {"first history": [time.perf_counter() - started]}
    for key in (
        "before: first",
        "now: first",
        "now: during rebuild",
        "now: after",
        "history current after",
    ):
        found[key] = []

    async def timed(text: str) -> float:
        started = time.perf_counter()
        async with sessions() as session:
            await routing.route(session, text, k=10)
        return time.perf_counter() - started

    for round_no in range(rounds):
        for mode in ("before", "now"):
            async with sessions() as session, session.begin():
                await create_post(
                    session,
                    routing,
                    author,
                    PostCreate(title=f"Ranked {mode} {round_no}", body=calls[round_no].text),
                )
            texts = [c.text for c in calls[(8 * round_no + 5) % 56 :][:8]]
            if mode == "before":
                routing._history = None  # what a change did before: the next call rebuilds
                found["before: first"].append(await timed(texts[0]))
                continue
            found["now: first"].append(await timed(texts[0]))
            started = time.perf_counter()
            during = [await timed(text) for text in texts[1:4] if routing._history_task]
            found["now: during rebuild"] += during
            await routing.wait_history()
            found["history current after"].append(time.perf_counter() - started)
            found["now: after"] += [await timed(text) for text in texts[4:8]]
    return found


def _print_ranked(found: dict[str, list[float]]) -> None:
    print("  with a fitted ranker (ms; median, then each):")
    for key, values in found.items():
        if values:
            each = ", ".join(f"{v * 1000:.0f}" for v in values)
            print(f"  {key:>20}: {statistics.median(values) * 1000:.0f} ({each})")
    after = statistics.median(found["now: after"])
    for key in ("before: first", "now: first", "now: during rebuild"):
        if found[key]:
            print(f"  {key} / now: after: {statistics.median(found[key]) / after:.2f}")


async def scanned_priors(self: Any, session: Any, index: Any) -> dict[str, float]:
    """The answers-given prior as it was computed before the index counted answers: a GROUP BY
    over every post (and every reply) at each change."""
    from sqlalchemy import func, select

    from models import Post, PostKind, Reply, ReplyKind

    answers: dict[str, int] = {}
    for author, n in await session.execute(
        select(Post.author_id, func.count())
        .where(Post.kind == PostKind.ANSWER)
        .group_by(Post.author_id)
    ):
        answers[str(author)] = int(n)
    for person, n in await session.execute(
        select(Reply.person_id, func.count())
        .where(Reply.kind == ReplyKind.ANSWER)
        .group_by(Reply.person_id)
    ):
        answers[str(person)] = answers.get(str(person), 0) + int(n)
    top = max(answers.values(), default=0)
    if top == 0:
        return {}
    return {p: math.log1p(n) / math.log1p(top) for p, n in answers.items()}


async def _person(sessions: Any, person_id: int) -> Any:
    from models import Person

    async with sessions() as session:
        return await session.get(Person, person_id)


DELTA_MAX = indexer.lexical.DELTA_MAX
STATS: br.SimilarityStats


def main(argv: Sequence[str] | None = None) -> int:
    global STATS
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--threshold", help="comma-separated sizes (vectors)")
    parser.add_argument("--memory", type=int, help="posts")
    parser.add_argument("--first-call", type=int, help="posts")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="profile each first call")
    args = parser.parse_args(argv)
    load = psutil.getloadavg()
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load {load[0]:.1f} {load[1]:.1f}")
    embedder = load_embedder()
    STATS = br.real_stats_sample(embedder, args.seed)
    print(f"real model's similarity statistics: {STATS.as_dict()}", flush=True)
    if args.threshold:
        bench_threshold(
            embedder, [int(s) for s in args.threshold.split(",")], args.queries, args.seed
        )
    if args.memory:
        bench_memory(embedder, args.memory, args.seed)
    if args.first_call:
        asyncio.run(
            bench_first_call(embedder, args.first_call, args.seed, args.rounds, args.profile)
        )
    print(f"load at the end {psutil.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
