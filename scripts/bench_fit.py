#!/usr/bin/env python
"""How long ``askhub routing fit`` takes on a real organisation's history.

Imports a Stack Exchange dump (the whole of it: every question is earlier history to the fit)
into a temporary database, as ``askhub import stackexchange`` does, embeds and indexes it, then
times the fit the service runs: the history, the training questions, replaying each of them as
of its own time (``training_set``: the earliest 30% and all but the latest ``FIT_QUESTIONS``
are not replayed) and the logistic fit. The embedding of the dump is timed apart (the service
embeds posts when they are written, never when it fits).

``--questions N`` keeps only the latest N questions (and their answers) of the dump. No
development dump has 5,000 questions (cardano, the largest, has about 1,000), but a fit replays
at most ``FIT_QUESTIONS`` of them whatever the history's size, and the largest dump already
reaches that cap; ``scripts/bench_routing.py --ranker-only`` times a fit on 5,000 questions of a
synthetic organisation of 1M posts.

Usage: .venv/bin/python scripts/bench_fit.py [DIR] [--questions N]
(DIR defaults to the largest dump in ../shared/data.) Prints a report and one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from askhub.context import AppContext
from askhub.imports.stackexchange import ANSWER, QUESTION, SEDump, read_dump
from askhub.imports.stackexchange_import import dump_records, import_records
from askhub.routing import learning
from askhub.settings import Settings
from indexer.embedders import load_embedder
from indexer.ranker import FIT_QUESTIONS, fit_ranker, training_set
from models.db import upgrade

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
FIT_SECONDS_TARGET = 60.0


def largest_dump() -> Path:
    folders = [p for p in DATA.iterdir() if (p / "Posts.xml").is_file()]
    if not folders:
        raise SystemExit(f"bench_fit: no dump in {DATA}; pass a dump folder")
    return max(folders, key=lambda p: (p / "Posts.xml").stat().st_size)


def latest_questions(dump: SEDump, n: int | None) -> SEDump:
    """The dump with only its latest ``n`` questions and their answers (all when None)."""
    if n is None:
        return dump
    questions = sorted(
        (p for p in dump.posts if p.post_type == QUESTION), key=lambda p: p.created_at
    )
    keep = {p.id for p in questions[-n:]}
    posts = [
        p
        for p in dump.posts
        if (p.post_type == QUESTION and p.id in keep)
        or (p.post_type == ANSWER and p.parent_id in keep)
    ]
    return SEDump(dump.users, posts)


async def bench(folder: Path, questions: int | None) -> dict[str, object]:
    dump = latest_questions(read_dump(folder), questions)
    asked = sum(1 for p in dump.posts if p.post_type == QUESTION)
    answers = sum(1 for p in dump.posts if p.post_type == ANSWER)
    with tempfile.TemporaryDirectory(prefix="askhub-bench-fit-") as tmp:
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{Path(tmp) / 'fit.db'}", data_dir=Path(tmp) / "var"
        )
        context = AppContext.create(settings, load_embedder(threads=1))
        try:
            await upgrade(context.engine)
            started = time.perf_counter()
            await import_records(context, dump_records(dump))
            async with context.sessions() as session:
                index = await context.routing.sync(session)
            embed_seconds = time.perf_counter() - started
            # scikit-learn is imported by the first fit of a process (the daily refit's process
            # has it from then on): timed apart.
            started = time.perf_counter()
            import sklearn.linear_model  # noqa: F401

            import_seconds = time.perf_counter() - started
            # The fit as ``learning.fit`` runs it, stage by stage.
            started = time.perf_counter()
            async with context.sessions() as session:
                history = await learning.build_history(session, index)
                training = await learning.training_questions(
                    session, index, context.routing.embedder
                )
            loaded = time.perf_counter()
            data = training_set(index, history, training)
            replayed = time.perf_counter()
            ranker = fit_ranker(data)
            done = time.perf_counter()
        finally:
            await context.close()
    total = done - started
    return {
        "dump": folder.name,
        "questions": asked,
        "answers": answers,
        "training_questions": len(training),
        "replayed": data.questions,
        "fit_questions_cap": FIT_QUESTIONS,
        "rows": len(data.labels),
        "import_and_embed_s": round(embed_seconds, 1),
        "sklearn_import_s": round(import_seconds, 1),
        "history_and_questions_s": round(loaded - started, 1),
        "replay_s": round(replayed - loaded, 1),
        "logistic_fit_s": round(done - replayed, 1),
        "fit_s": round(total, 1),
        "uses_fitted_weights": bool(ranker.metrics.get("uses_fitted_weights")),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "pass": total < FIT_SECONDS_TARGET,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("folder", nargs="?", type=Path, help="a Stack Exchange dump folder")
    parser.add_argument("--questions", type=int, default=None, help="the latest N questions only")
    args = parser.parse_args(argv)
    folder = args.folder or largest_dump()
    result = asyncio.run(bench(folder, args.questions))
    print(
        f"{result['dump']}: {result['questions']:,} questions, {result['answers']:,} answers "
        f"(import and embedding {result['import_and_embed_s']} s, not part of a fit; importing "
        f"scikit-learn, once a process, {result['sklearn_import_s']} s)"
    )
    print(
        f"  fit on {result['training_questions']:,} answered earlier questions, the latest "
        f"{result['replayed']:,} replayed (cap {FIT_QUESTIONS:,}; {result['rows']:,} candidate "
        f"rows): {result['fit_s']} s = history and questions {result['history_and_questions_s']}"
        f" s + replay {result['replay_s']} s + logistic fit {result['logistic_fit_s']} s "
        f"(target < {FIT_SECONDS_TARGET:.0f} s: {'PASS' if result['pass'] else 'FAIL'}; "
        f"load average {result['load_average']})"
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
