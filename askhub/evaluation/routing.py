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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from sqlalchemy import select

from askhub.context import AppContext
from askhub.imports.stackexchange import (
    ANSWER,
    QUESTION,
    DumpError,
    EvalQuestion,
    EvalSplit,
    SEDump,
    history_people,
    read_dump,
    split_for_evaluation,
)
from askhub.imports.stackexchange_import import import_records, person_records
from askhub.routing import learning
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
from indexer.progress import Progress, silent
from indexer.ranker import FitSettings, FittedRanker, Query, calibration_report
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


# Settings tried one at a time around the default for leave-one-site-out (``evaluate_sites``):
# the default is what ships; each site's figure is taken with the setting that did best on the
# *other* sites.
GRID: dict[str, FitSettings] = {
    "default": FitSettings(),
    # The regularisation fixed instead of chosen on the held-back history (0.01 was the default).
    "C=0.01": FitSettings(regularisation=0.01),
    "C=0.1": FitSettings(regularisation=0.1),
    "no-anchor": FitSettings(anchor=1.0),
    "all-features": FitSettings(use=None),
    "pointwise": FitSettings(objective="pointwise"),
    "C=1": FitSettings(regularisation=1.0),
}


@dataclass
class _AskHubRun:
    rankings: dict[str, list[list[str]]]  # per setting label
    build_seconds: float
    rank_seconds: float
    model_id: str
    fitted: dict[str, object]


async def _rank_with_askhub(
    split: EvalSplit,
    dump: SEDump,
    embedder: Embedder | None,
    grid: Sequence[str] = ("default",),
    progress: Progress = silent,
) -> _AskHubRun:
    """AskHub's top-100 UserIds per test question for each fit setting in ``grid``, with
    build and ranking seconds (of the default setting)."""
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
            await import_records(
                context, person_records(history_people(dump, split.history)), progress
            )
            async with context.sessions() as session:
                index = await context.routing.sync(session)
                history = await context.routing.history(session, index)
                user_of = {
                    str(pid): handle.removeprefix(HANDLE_PREFIX)
                    for pid, handle in await session.execute(select(Person.id, Person.handle))
                }
            # The ranker is fitted on the training split only: the imported history.
            rankers: dict[str, FittedRanker | None] = {}
            fitted: dict[str, object]
            try:
                data = await learning.training_data(
                    context.sessions,
                    index,
                    context.routing.embedder,
                    settings.min_fit_questions,
                    progress,
                )
                for label in grid:
                    rankers[label] = learning.fit_on(data, GRID[label])
                default = rankers[grid[0]]
                fitted = default.to_json() if default else {}
            except NotEnoughHistory as exc:
                rankers = dict.fromkeys(grid)
                fitted = {"skipped": str(exc)}
            build_seconds = time.perf_counter() - started

            person_of = {user: pid for pid, user in user_of.items()}
            texts = [query_text(q) for q in split.test_questions]
            vectors = context.routing.embedder.encode(texts)
            # "Now" is where the history ends: the index holds nothing after the cutoff.
            now = index.reference_time()
            rankings: dict[str, list[list[str]]] = {}
            rank_seconds = 0.0
            # Every test question once per fit setting.
            to_rank = len(split.test_questions) * len(rankers)
            progress("rank", 0, to_rank)
            for label, ranker in rankers.items():
                context.routing.use_ranker(ranker)
                started = time.perf_counter()
                ranked_all: list[list[str]] = []
                # p_answer against what happened, on the test questions the fit never saw.
                p_answer: list[float] = []
                answered: list[bool] = []
                for question, text, vector in zip(
                    split.test_questions, texts, vectors, strict=True
                ):
                    asker = person_of.get(question.asker_id)
                    ranked = context.routing.rank(
                        index,
                        history,
                        Query(text, vector, question.post.tags, now, asker),
                        k=DEPTH,
                        exclude=frozenset() if asker is None else frozenset({asker}),
                        floor=False,
                    )
                    ranked_all.append([user_of[m.person] for m in ranked])
                    progress("rank", sum(map(len, rankings.values())) + len(ranked_all), to_rank)
                    for m in ranked:
                        if m.p_answer is not None:
                            p_answer.append(m.p_answer)
                            answered.append(user_of[m.person] in question.relevant)
                rankings[label] = ranked_all
                if label == grid[0]:
                    rank_seconds = time.perf_counter() - started
                    if p_answer:
                        fitted["test_calibration"] = calibration_report(
                            np.array(p_answer), np.array(answered, dtype=np.int8)
                        )
            return _AskHubRun(
                rankings, build_seconds, rank_seconds, context.routing.model_id, fitted
            )
        finally:
            await context.close()


def _prepared(folder: Path) -> tuple[SEDump, EvalSplit]:
    """The dump in ``folder`` and its split; raises DumpError/EvaluationError when it cannot
    be evaluated (unreadable, or no test question)."""
    dump = read_dump(folder)
    try:
        split = split_for_evaluation(dump)
    except ValueError as exc:
        raise EvaluationError(f"{folder.name}: {exc}") from None
    if not split.test_questions:
        raise EvaluationError(
            f"{folder.name}: no test question (none after the cutoff was answered by someone "
            "with history)"
        )
    return dump, split


async def evaluate_routing(
    folder: Path,
    rankings: Path | None,
    embedder: Embedder | None = None,
    grid: Sequence[str] = ("default",),
    progress: Progress = silent,
) -> dict[str, object]:
    """Run the routing evaluation on the dump in ``folder``; raises DumpError/EvaluationError.

    Returns the split's figures and, per system, hit@1/5/10, MRR (first relevant within the
    top 100), nDCG@10, the number of questions, the seconds to build it from the history and
    the mean milliseconds to rank one question. With ``rankings``, AskHub's top 100 UserIds per
    test question are written there as JSON lines.
    """
    dump, split = _prepared(folder)
    questions = split.test_questions
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

    run = await _rank_with_askhub(split, dump, embedder, grid, progress)
    askhub_rankings = run.rankings[grid[0]]
    model_id, fitted = run.model_id, run.fitted
    record("askhub", askhub_rankings, run.build_seconds, run.rank_seconds)
    settings_figures = {label: summarise(r, relevant) for label, r in run.rankings.items()}

    docs = _history_texts(dump, split)
    answers = Counter(str(p.owner_id) for p in split.history if p.post_type == ANSWER)
    makers: dict[str, Callable[[], _Ranker]] = {
        "random": lambda: RandomBaseline(sorted(split.candidates)),
        "popularity": lambda: PopularityBaseline(answers, split.candidates),
        "bm25_posts": lambda: BM25PostsBaseline(docs),
        "bm25_profile": lambda: BM25ProfileBaseline(docs),
    }
    progress("baselines", 0, len(makers))
    for done, (name, make) in enumerate(makers.items(), 1):
        started = time.perf_counter()
        ranker = make()
        built = time.perf_counter() - started
        ranked, seconds = _run_ranker(ranker, questions)
        record(name, ranked, built, seconds)
        progress("baselines", done, len(makers))

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
        "settings": settings_figures,
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
    folders: Sequence[Path], embedder: Embedder | None = None, progress: Progress = silent
) -> dict[str, object]:
    """Evaluate several dumps in one run: each site's report, and figures pooled over sites
    (weighted by test questions), with AskHub's ratio to the best baseline per site."""
    # Every dump is read and split before any is evaluated (a second read each, seconds at
    # most), so a bad one is named at once, not after minutes of evaluating the good ones.
    for folder in folders:
        try:
            _prepared(folder)
        except (DumpError, EvaluationError) as exc:
            raise EvaluationError(f"{folder}: {exc}") from None
    reports = []
    for folder in folders:
        try:
            reports.append(await evaluate_routing(folder, None, embedder, tuple(GRID), progress))
        except (DumpError, EvaluationError) as exc:
            raise EvaluationError(f"{folder}: {exc}") from None
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
    median = _median(ratios)
    loso = _leave_one_site_out(reports) if len(reports) > 1 else {}
    loso_ratios = sorted(float(v["mrr_ratio"]) for v in loso.values())  # type: ignore[arg-type]
    return {
        "sites": reports,
        "pooled": {"questions": total, "systems": pooled, "best_baseline": best},
        "leave_one_site_out": loso,
        "loso_ratio_min": loso_ratios[0] if loso_ratios else None,
        "loso_ratio_median": _median(loso_ratios) if loso_ratios else None,
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
    loso = report.get("leave_one_site_out") or {}
    assert isinstance(loso, dict)
    for site, row in loso.items():
        lines.append(
            f"leave-one-site-out {site}: setting {row['setting']} (chosen on the other sites), "
            f"MRR ratio {row['mrr_ratio']:.3f}, Hit@10 {row['hit@10']:.4f}"
            f"{'' if row['hit10_above_every_baseline'] else ' (not above every baseline)'}"
        )
    if loso:
        lines.append(
            f"leave-one-site-out MRR / best baseline: min {report['loso_ratio_min']:.3f}, "
            f"median {report['loso_ratio_median']:.3f}"
        )
    lines.append(
        f"Default settings, AskHub MRR / best baseline per site: min {report['mrr_ratio_min']:.3f}, median "
        f"{report['mrr_ratio_median']:.3f}; Hit@10 above every baseline on every site: "
        f"{'yes' if report['hit10_above_every_baseline'] else 'no'}"
    )
    return "\n".join(lines)


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return round((ordered[middle - 1] + ordered[middle]) / 2, 4)


def _leave_one_site_out(reports: Sequence[dict[str, Any]]) -> dict[str, dict[str, object]]:
    """Per site, the fit setting that did best on the *other* sites (by their worst MRR ratio
    to their best baseline), and what it scores on this one."""
    ratio: dict[tuple[str, str], float] = {}
    best_hit10: dict[str, float] = {}
    for report in reports:
        site = report["dump"]
        baseline_mrr = report["systems"][report["best_baseline"]]["mrr"]
        best_hit10[site] = max(report["systems"][n]["hit@10"] for n in SYSTEMS if n != "askhub")
        for label, figures in report["settings"].items():
            ratio[(label, site)] = figures["mrr"] / baseline_mrr if baseline_mrr else 0.0
    out: dict[str, dict[str, object]] = {}
    for report in reports:
        site = report["dump"]
        others = [r["dump"] for r in reports if r["dump"] != site]
        chosen = max(report["settings"], key=lambda label: min(ratio[(label, o)] for o in others))
        hit10 = report["settings"][chosen]["hit@10"]
        out[site] = {
            "setting": chosen,
            "mrr_ratio": round(ratio[(chosen, site)], 4),
            "mrr": report["settings"][chosen]["mrr"],
            "hit@10": hit10,
            "hit10_above_every_baseline": hit10 > best_hit10[site],
        }
    return out
