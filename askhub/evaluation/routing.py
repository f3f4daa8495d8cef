"""``askhub eval routing DIR``: who would AskHub have asked, measured on Stack Exchange history.

The protocol (issue 3) is fixed so runs on different dumps compare: questions are split in
time (``split_for_evaluation``); only the history before the cutoff is imported, into a
temporary SQLite database that is thrown away afterwards (never the user's database); each
later question is routed as a call by its asker, who is never ranked; the people who really
answered it are the relevant ones. Baselines any competitor could ship are computed in the
same run on the same history, so the comparison is like for like.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Protocol

import numpy as np
from sqlalchemy import select

from askhub.context import AppContext
from askhub.imports.stackexchange import (
    ANSWER,
    QUESTION,
    EvalQuestion,
    EvalSplit,
    SEDump,
    history_people,
    read_dump,
    split_for_evaluation,
)
from askhub.imports.stackexchange_import import import_records, person_records
from askhub.routing.learning import NotEnoughHistory
from askhub.settings import Settings
from indexer.baselines import (
    BM25PostsBaseline,
    BM25ProfileBaseline,
    PopularityBaseline,
    RandomBaseline,
)
from indexer.embedders import Embedder
from indexer.metrics import summarise
from indexer.ranker import Query, calibration_report
from models import Person
from models.db import upgrade

DEPTH = 100
# The call is the question's title and body as plain text; very long bodies (logs, code dumps)
# are cut, as a call someone writes is short and the start of a question says what it is about.
QUERY_MAX_CHARS = 2000
HANDLE_PREFIX = "se-"
SYSTEMS = ("askhub", "random", "popularity", "bm25_posts", "bm25_profile")
METRICS = ("hit@1", "hit@5", "hit@10", "mrr", "ndcg@10", "coverage")
# What the multi-site table shows per system.
POOLED = ("mrr", "hit@10", "ndcg@10", "coverage")


class EvaluationError(ValueError):
    """The dump cannot be evaluated (e.g. no test question); ``str()`` is one line."""


class _Ranker(Protocol):
    def rank(self, query: str, exclude: AbstractSet[str], k: int = 100) -> list[str]: ...


def query_text(question: EvalQuestion) -> str:
    """The call as an asker would post it: title, body and tags (as ``create_call`` routes it).

    Every system, baselines included, gets the same text, tags and all.
    """
    post = question.post
    text = "\n".join(part for part in (post.title, post.body) if part)[:QUERY_MAX_CHARS]
    return "\n".join(part for part in (text, " ".join(post.tags)) if part)


def _history_texts(dump: SEDump, split: EvalSplit) -> list[tuple[str, str]]:
    """(owner UserId, text) per history post; an answer is read with its question's title."""
    titles = {p.id: p.title for p in dump.posts if p.post_type == QUESTION}
    return [
        (
            str(p.owner_id),
            f"{titles.get(p.parent_id or '', '') if p.post_type == ANSWER else p.title} {p.body}",
        )
        for p in split.history
    ]


def _run_ranker(
    ranker: _Ranker, questions: Sequence[EvalQuestion]
) -> tuple[list[list[str]], float]:
    """Each question's ranking (never its asker) and the seconds all of them took."""
    started = time.perf_counter()
    rankings = [ranker.rank(query_text(q), {q.asker_id}, DEPTH) for q in questions]
    return rankings, time.perf_counter() - started


async def _rank_with_askhub(
    split: EvalSplit, dump: SEDump, embedder: Embedder | None
) -> tuple[list[list[str]], float, float, str, dict[str, object]]:
    """AskHub's top-100 UserIds per test question, with build and ranking seconds."""
    with tempfile.TemporaryDirectory(prefix="askhub-eval-") as tmp:
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{Path(tmp) / 'eval.db'}",
            data_dir=Path(tmp) / "var",
        )
        context = AppContext.create(settings, embedder)
        try:
            await upgrade(context.engine)
            started = time.perf_counter()
            # Only the history: nothing created at or after the cutoff reaches the index.
            await import_records(context, person_records(history_people(dump, split.history)))
            async with context.sessions() as session:
                index = await context.routing.sync(session)
                user_of = {
                    str(pid): handle.removeprefix(HANDLE_PREFIX)
                    for pid, handle in await session.execute(select(Person.id, Person.handle))
                }
            # The ranker is fitted on the training split only: the imported history.
            try:
                fitted: dict[str, object] = (
                    await context.routing.fit(context.sessions)
                ).ranker.to_json()
            except NotEnoughHistory as exc:
                fitted = {"skipped": str(exc)}
            async with context.sessions() as session:
                index = await context.routing.sync(session)
                history = await context.routing.history(session, index)
            build_seconds = time.perf_counter() - started

            person_of = {user: pid for pid, user in user_of.items()}
            started = time.perf_counter()
            texts = [query_text(q) for q in split.test_questions]
            vectors = context.routing.embedder.encode(texts)
            # "Now" is where the history ends: the index holds nothing after the cutoff.
            now = index.reference_time()
            rankings: list[list[str]] = []
            # p_answer against what happened, on the test questions the fit never saw.
            p_answer: list[float] = []
            answered: list[bool] = []
            for question, text, vector in zip(split.test_questions, texts, vectors, strict=True):
                asker = person_of.get(question.asker_id)
                ranked = context.routing.rank(
                    index,
                    history,
                    Query(text, vector, question.post.tags, now, asker),
                    k=DEPTH,
                    exclude=frozenset() if asker is None else frozenset({asker}),
                    floor=False,
                )
                rankings.append([user_of[m.person] for m in ranked])
                for m in ranked:
                    if m.p_answer is not None:
                        p_answer.append(m.p_answer)
                        answered.append(user_of[m.person] in question.relevant)
            rank_seconds = time.perf_counter() - started
            if p_answer:
                fitted["test_calibration"] = calibration_report(
                    np.array(p_answer), np.array(answered, dtype=np.int8)
                )
            return rankings, build_seconds, rank_seconds, context.routing.model_id, fitted
        finally:
            await context.close()


async def evaluate_routing(
    folder: Path, rankings: Path | None, embedder: Embedder | None = None
) -> dict[str, object]:
    """Run the routing evaluation on the dump in ``folder``; raises DumpError/EvaluationError.

    Returns the split's figures and, per system, hit@1/5/10, MRR (first relevant within the
    top 100), nDCG@10, the number of questions, the seconds to build it from the history and
    the mean milliseconds to rank one question. With ``rankings``, AskHub's top 100 UserIds per
    test question are written there as JSON lines.
    """
    dump = read_dump(folder)
    try:
        split = split_for_evaluation(dump)
    except ValueError as exc:
        raise EvaluationError(f"{folder.name}: {exc}") from None
    questions = split.test_questions
    if not questions:
        raise EvaluationError(
            f"{folder.name}: no test question (none after the cutoff was answered by someone "
            "with history)"
        )
    relevant = [q.relevant for q in questions]
    systems: dict[str, dict[str, float]] = {}

    def record(name: str, ranked: list[list[str]], build: float, rank: float) -> None:
        for question, ranking in zip(questions, ranked, strict=True):
            if question.asker_id in ranking:  # a broken system must never pass silently
                raise AssertionError(f"{name} ranked the asker of question {question.post.id}")
        figures = summarise(ranked, relevant)
        # Share of questions with a real answerer anywhere in the top 100: what any re-ranking
        # of this system's candidates could reach at best.
        figures["coverage"] = sum(
            any(p in rel for p in r[:DEPTH]) for r, rel in zip(ranked, relevant, strict=True)
        ) / len(ranked)
        figures["build_seconds"] = round(build, 3)
        figures["ms_per_question"] = round(1000 * rank / len(questions), 3)
        systems[name] = figures

    askhub_rankings, build, rank, model_id, fitted = await _rank_with_askhub(split, dump, embedder)
    record("askhub", askhub_rankings, build, rank)

    docs = _history_texts(dump, split)
    answers = Counter(str(p.owner_id) for p in split.history if p.post_type == ANSWER)
    makers: dict[str, Callable[[], _Ranker]] = {
        "random": lambda: RandomBaseline(sorted(split.candidates)),
        "popularity": lambda: PopularityBaseline(answers, split.candidates),
        "bm25_posts": lambda: BM25PostsBaseline(docs),
        "bm25_profile": lambda: BM25ProfileBaseline(docs),
    }
    for name, make in makers.items():
        started = time.perf_counter()
        ranker = make()
        built = time.perf_counter() - started
        ranked, seconds = _run_ranker(ranker, questions)
        record(name, ranked, built, seconds)

    if rankings is not None:
        with rankings.open("w", encoding="utf-8") as out:
            for question, ranking in zip(questions, askhub_rankings, strict=True):
                line = {"question_id": question.post.id, "ranking": ranking[:DEPTH]}
                out.write(json.dumps(line) + "\n")

    best = max(
        (name for name in SYSTEMS if name != "askhub"), key=lambda name: systems[name]["mrr"]
    )
    return {
        "dump": folder.name,
        "model": model_id,
        "ranker": fitted,
        "cutoff": split.cutoff.isoformat(),
        "history_posts": len(split.history),
        "candidates": len(split.candidates),
        "questions": len(questions),
        "systems": systems,
        "best_baseline": best,
        "mrr_ratio": round(systems["askhub"]["mrr"] / systems[best]["mrr"], 4)
        if systems[best]["mrr"]
        else None,
    }


def format_table(report: dict[str, object]) -> str:
    """The report as a plain-text table, one system a row."""
    systems = report["systems"]
    assert isinstance(systems, dict)
    header = f"{'system':<13}" + "".join(f"{m:>9}" for m in METRICS)
    header += f"{'questions':>11}{'build s':>10}{'ms/q':>9}"
    lines = [
        f"{report['dump']}: {report['questions']} test questions, {report['candidates']} "
        f"candidates, {report['history_posts']} history posts before {report['cutoff']} "
        f"(model {report['model']})",
        header,
        "-" * len(header),
    ]
    for name in SYSTEMS:
        row = systems[name]
        lines.append(
            f"{name:<13}"
            + "".join(f"{row[m]:>9.4f}" for m in METRICS)
            + f"{int(row['questions']):>11}{row['build_seconds']:>10.2f}{row['ms_per_question']:>9.2f}"
        )
    lines.append(
        f"AskHub MRR / best baseline ({report['best_baseline']}) MRR = {report['mrr_ratio']}"
    )
    return "\n".join(lines)


async def evaluate_sites(
    folders: Sequence[Path], embedder: Embedder | None = None
) -> dict[str, object]:
    """Evaluate several dumps in one run: each site's report, and figures pooled over sites
    (weighted by test questions), with AskHub's ratio to the best baseline per site."""
    reports = [await evaluate_routing(folder, None, embedder) for folder in folders]
    total = sum(int(r["questions"]) for r in reports)  # type: ignore[call-overload]
    pooled: dict[str, dict[str, float]] = {}
    for name in SYSTEMS:
        pooled[name] = {
            metric: sum(
                float(r["systems"][name][metric]) * int(r["questions"])  # type: ignore[index, call-overload]
                for r in reports
            )
            / total
            for metric in POOLED
        }
    best = max((n for n in SYSTEMS if n != "askhub"), key=lambda n: pooled[n]["mrr"])
    ratios = sorted(float(r["mrr_ratio"] or 0.0) for r in reports)  # type: ignore[arg-type]
    middle = len(ratios) // 2
    median = ratios[middle] if len(ratios) % 2 else (ratios[middle - 1] + ratios[middle]) / 2
    return {
        "sites": reports,
        "pooled": {"questions": total, "systems": pooled, "best_baseline": best},
        "mrr_ratio_min": ratios[0],
        "mrr_ratio_median": round(median, 4),
        "hit10_above_every_baseline": all(
            r["systems"]["askhub"]["hit@10"]  # type: ignore[index]
            > max(r["systems"][n]["hit@10"] for n in SYSTEMS if n != "askhub")  # type: ignore[index]
            for r in reports
        ),
    }


def format_sites(report: dict[str, object]) -> str:
    """Per site and pooled: MRR, Hit@10, nDCG@10 and coverage of every system."""
    sites = report["sites"]
    pooled = report["pooled"]
    assert isinstance(sites, list) and isinstance(pooled, dict)
    header = f"{'site':<28}{'system':<13}" + "".join(f"{m:>10}" for m in POOLED) + f"{'ratio':>8}"
    lines = [header, "-" * len(header)]
    for site in sites:
        for name in SYSTEMS:
            row = site["systems"][name]
            ratio = f"{site['mrr_ratio']:>8.3f}" if name == "askhub" else ""
            lines.append(
                f"{site['dump'] if name == 'askhub' else '':<28}{name:<13}"
                + "".join(f"{row[m]:>10.4f}" for m in POOLED)
                + ratio
            )
    for name in SYSTEMS:
        row = pooled["systems"][name]
        lines.append(
            f"{'pooled (' + str(pooled['questions']) + ' q)' if name == 'askhub' else '':<28}"
            f"{name:<13}" + "".join(f"{row[m]:>10.4f}" for m in POOLED)
        )
    lines.append(
        f"AskHub MRR / best baseline per site: min {report['mrr_ratio_min']:.3f}, median "
        f"{report['mrr_ratio_median']:.3f}; Hit@10 above every baseline on every site: "
        f"{'yes' if report['hit10_above_every_baseline'] else 'no'}"
    )
    return "\n".join(lines)
