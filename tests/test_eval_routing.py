"""``askhub eval routing``: issue 3's protocol on the development dump, with the real model.

The evaluation runs once for the module (import, embed and rank the history take most of a
minute) and every test reads its report and rankings.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from askhub.context import AppContext
from askhub.evaluation.routing import SYSTEMS, evaluate_routing, format_table
from askhub.imports.stackexchange import EvalSplit, read_dump, split_for_evaluation
from askhub.imports.stackexchange_import import import_stackexchange
from indexer.embedders import Embedder
from indexer.expertise import Document, ExpertiseIndex, Passage
from tests.test_cli import askhub_here

CARDANO = Path(__file__).resolve().parents[2] / "shared/data/cardano.stackexchange.com"
BASELINES = [name for name in SYSTEMS if name != "askhub"]
# What the fitted ranker holds on every development site with the shipped settings (measured:
# cardano 1.23, iot 1.16, coffee 2.10, beer 2.8; the target is 1.15). The margin below
# it is one question on iot (42 questions: one answerer a place lower moves the ratio ~5%).
MIN_SITE_RATIO = 1.12
# p_answer against a constant that knows the test questions' own answer rate (an oracle no
# deployed system has): within 5% of its Brier score, and better than the constant fitted on
# the held-back history (``metrics``), which is the honest comparison.
BRIER_SLACK = 1.05


@pytest.fixture(scope="module")
def split() -> EvalSplit:
    if not CARDANO.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"development dump missing in CI: {CARDANO}")
        pytest.skip(f"development dump not present at {CARDANO}")
    return split_for_evaluation(read_dump(CARDANO))


@pytest.fixture(scope="module")
def one_thread_embedder(embedder: Embedder) -> Embedder:
    # The default model with one BLAS thread (load_embedder's default): embedding the history
    # is most of this module's time, and when the other core is busy the second BLAS thread
    # makes USE 3-4x slower instead of faster (measured: 7k vs 2k tokens/s). It is the
    # session's model, which remembers vectors: a dump another module (or the fitted-ranker
    # test below) already embedded is not embedded again.
    return embedder


# What the evaluation reported of its progress: (stage, done, total) in order.
PROGRESS: list[tuple[str, int, int]] = []


@pytest.fixture(scope="module")
def run(
    split: EvalSplit, one_thread_embedder: Embedder, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, object], Path, Path]:
    """The report, the rankings file, and a database path the user configured."""
    tmp = tmp_path_factory.mktemp("eval")
    rankings = tmp / "rankings.jsonl"
    # The evaluation must never touch the user's database, whatever the environment says.
    users_db = tmp / "users.db"
    before = os.environ.get("ASKHUB_DATABASE_URL")
    os.environ["ASKHUB_DATABASE_URL"] = f"sqlite+aiosqlite:///{users_db}"
    try:
        report = asyncio.run(
            evaluate_routing(
                CARDANO,
                rankings,
                one_thread_embedder,
                progress=lambda *step: PROGRESS.append(step),
            )
        )
    finally:
        if before is None:
            del os.environ["ASKHUB_DATABASE_URL"]
        else:
            os.environ["ASKHUB_DATABASE_URL"] = before
    return report, rankings, users_db


def _systems(report: dict[str, object]) -> dict[str, dict[str, float]]:
    systems = report["systems"]
    assert isinstance(systems, dict)
    return systems


def test_protocol_figures(run: tuple[dict[str, object], Path, Path]) -> None:
    report, _, users_db = run
    assert (report["history_posts"], report["candidates"], report["questions"]) == (2012, 601, 155)
    systems = _systems(report)
    assert set(systems) == set(SYSTEMS)
    for figures in systems.values():
        assert figures["questions"] == 155
        assert 0.0 <= figures["hit@1"] <= figures["hit@5"] <= figures["hit@10"] <= 1.0
        assert figures["build_seconds"] >= 0 and figures["ms_per_question"] > 0
    assert not users_db.exists()


def test_every_stage_reports_progress_to_its_end(
    run: tuple[dict[str, object], Path, Path], split: EvalSplit
) -> None:
    report = run[0]
    stages = {stage for stage, _, _ in PROGRESS}
    assert {"embed", "features", "rank", "baselines"} <= stages
    for stage in stages:
        steps = [(done, total) for s, done, total in PROGRESS if s == stage]
        dones = [done for done, _ in steps]
        assert dones == sorted(dones), stage  # never backwards
        assert steps[-1][0] == steps[-1][1], stage  # and it ends
    # The ranking stage counts each test question once (one fit setting), the baselines four.
    assert [t for s, _, t in PROGRESS if s == "rank"][-1] == len(split.test_questions)
    assert report["questions"] == len(split.test_questions)
    assert [t for s, _, t in PROGRESS if s == "baselines"][-1] == 4


def test_askhub_beats_every_baseline(run: tuple[dict[str, object], Path, Path]) -> None:
    systems = _systems(run[0])
    askhub = systems["askhub"]
    best_mrr = max(systems[name]["mrr"] for name in BASELINES)
    assert askhub["mrr"] >= 1.15 * best_mrr, format_table(run[0])
    assert run[0]["ranker"]["questions"] > 500, "the ranker is fitted on the history"  # type: ignore[index]
    for name in BASELINES:
        assert askhub["hit@10"] > systems[name]["hit@10"], format_table(run[0])
    # The baselines are the ones the team measured on this split.
    assert systems["popularity"]["mrr"] == pytest.approx(0.2704, abs=5e-4)
    assert systems["popularity"]["hit@10"] == pytest.approx(0.3871, abs=5e-4)
    assert systems["random"]["mrr"] < 0.05


def test_rankings_file_has_one_line_per_test_question(
    run: tuple[dict[str, object], Path, Path], split: EvalSplit
) -> None:
    lines = [json.loads(line) for line in run[1].read_text().splitlines()]
    assert [line["question_id"] for line in lines] == [q.post.id for q in split.test_questions]
    for line, question in zip(lines, split.test_questions, strict=True):
        ranking = line["ranking"]
        assert set(line) == {"question_id", "ranking"}
        assert 0 < len(ranking) <= 100 and len(set(ranking)) == len(ranking)
        assert question.asker_id not in ranking
        # UserIds of people with history, nobody from after the cutoff.
        assert set(ranking) <= split.candidates


def test_table_names_every_system(run: tuple[dict[str, object], Path, Path]) -> None:
    table = format_table(run[0])
    for name in SYSTEMS:
        assert f"\n{name} " in table
    assert "155" in table


def test_bad_dump_exits_2_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "Users.xml").write_text("<users>\n<row Id='x' />\n</users>")
    (tmp_path / "Posts.xml").write_text("<posts />")
    # The refusals are checked in this process (an interpreter's start-up each cost seconds
    # and showed nothing more); test_cli_prints_json_and_writes_rankings runs a real one.
    result = askhub_here(dict(os.environ), "eval", "routing", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"askhub: {tmp_path}: Users.xml line 2: Id 'x' is not an integer"
    ]


def test_several_dumps_name_the_bad_one_and_rankings_take_one(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "Users.xml").write_text("<users>\n<row Id='x' />\n</users>")
    (bad / "Posts.xml").write_text("<posts />")
    command = ["eval", "routing", str(bad), str(CARDANO)]
    result = askhub_here(dict(os.environ), *command)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"askhub: {bad}: Users.xml line 2: Id 'x' is not an integer"
    ]
    # Named before any good dump is evaluated: nothing else reaches stderr (no progress).
    bad_last = askhub_here(dict(os.environ), "eval", "routing", str(CARDANO), str(bad))
    assert bad_last.returncode == 2
    assert bad_last.stderr.strip().splitlines() == [
        f"askhub: {bad}: Users.xml line 2: Id 'x' is not an integer"
    ]
    with_rankings = askhub_here(dict(os.environ), *command, "--rankings", str(tmp_path / "r.jsonl"))
    assert with_rankings.returncode == 2 and "exactly one dump" in with_rankings.stderr


TOPICS = ["staking pools", "plutus validators", "seed phrase recovery", "minting tokens"]


def _tiny_dump(folder: Path, answered: bool = True) -> Path:
    """Ten questions on four topics; user 1 + i % 4 asks, user 1 + (i + 2) % 4 answers."""
    users = "".join(f'<row Id="{u}" DisplayName="User {u}" />' for u in range(1, 5))
    posts = []
    for i in range(10):
        topic = TOPICS[i % 4]
        posts.append(
            f'<row Id="{2 * i + 1}" PostTypeId="1" OwnerUserId="{1 + i % 4}" '
            f'CreationDate="2021-05-{i + 1:02d}T10:00:00" Title="Question on {topic} {i}" '
            f'Body="How do {topic} work?" Tags="|t{i % 4}|" />'
        )
        if answered or i < 8:
            posts.append(
                f'<row Id="{2 * i + 2}" PostTypeId="2" ParentId="{2 * i + 1}" '
                f'OwnerUserId="{1 + (i + 2) % 4}" CreationDate="2021-05-{i + 1:02d}T12:00:00" '
                f'Body="On {topic}: it depends." />'
            )
    folder.mkdir()
    (folder / "Users.xml").write_text(f"<users>{users}</users>")
    (folder / "Posts.xml").write_text("<posts>\n" + "\n".join(posts) + "\n</posts>")
    return folder


def test_cli_prints_json_and_writes_rankings(tmp_path: Path) -> None:
    dump = _tiny_dump(tmp_path / "tiny")
    rankings = tmp_path / "rankings.jsonl"
    command = ["eval", "routing", str(dump), "--json", "--rankings", str(rankings)]
    result = subprocess.run(
        [sys.executable, "-m", "askhub.cli", *command],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "ASKHUB_EMBED_THREADS": "1"},
    )
    assert result.returncode == 0, result.stderr
    # stdout is the JSON alone; the progress went to stderr (not a terminal: plain lines).
    report = json.loads(result.stdout)
    assert report["questions"] == 2 and set(report["systems"]) == set(SYSTEMS)
    progress = result.stderr.splitlines()
    # Two test questions, ranked once (the default setting), and the four baselines.
    assert any(line.startswith("askhub: ranked 2/2 test questions, ") for line in progress)
    assert any(line.startswith("askhub: ran 4/4 baselines, ") for line in progress)
    assert any(line.startswith("askhub: embedded ") for line in progress), progress
    lines = [json.loads(line) for line in rankings.read_text().splitlines()]
    # Questions 9 and 10 (ids 17 and 19) are after the cutoff; their askers are users 1 and 2.
    assert [line["question_id"] for line in lines] == ["17", "19"]
    assert "1" not in lines[0]["ranking"] and "2" not in lines[1]["ranking"]


def test_a_dump_without_test_questions_exits_2(tmp_path: Path) -> None:
    dump = _tiny_dump(tmp_path / "unanswered", answered=False)
    result = askhub_here(dict(os.environ), "eval", "routing", str(dump))
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"askhub: {dump}: unanswered: no test question")


# --- the scoring choices the evaluation measures, on a hand-made index ----------------------


class SameVector:
    """Every text gets the same vector, so only the documents' weights tell people apart."""

    model_id = "same"
    dim = 4

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return np.tile(np.array([[1, 0, 0, 0]], dtype=np.float32), (len(texts), 1))


def _index(docs: list[tuple[str, str, int]]) -> ExpertiseIndex:
    """(person, kind, days before 2021-06-01) per document, all with the same text."""
    newest = datetime(2021, 6, 1)
    documents = [
        Document(i, person, "stake pools", "delegation", (), newest - timedelta(days=age), kind)
        for i, (person, kind, age) in enumerate(docs, start=1)
    ]
    index = ExpertiseIndex(SameVector())
    index.add(
        documents,
        [Passage(d.doc_id, d.doc_id, d.text) for d in documents],
        SameVector().encode([d.text for d in documents]),
    )
    return index


def _ranked(index: ExpertiseIndex) -> list[str]:
    return [m.person for m in index.search("stake pool delegation", k=10)]


def test_recent_answers_outweigh_old_ones_and_answers_outweigh_questions() -> None:
    half_life = int(ExpertiseIndex(SameVector()).weights.recency_half_life_days)
    index = _index(
        [
            ("old", "answer", 4 * half_life),
            ("old", "answer", 4 * half_life),
            ("recent", "answer", 0),
            ("asker", "question", 0),
            # A profile is dated when it was saved: it neither ages nor moves the clock.
            ("profiled", "profile", -3650),
        ]
    )
    ranked = _ranked(index)
    assert set(ranked[:2]) == {"profiled", "recent"} and ranked[2:] == ["asker", "old"]
    assert index.document_weight(3) == 1.0 and index.document_weight(4) == 0.5
    assert index.document_weight(1) == pytest.approx(1 / 16)
    # Evidence is summed: two recent answers count twice.
    index = _index([("one", "answer", 0), ("two", "answer", 0), ("two", "answer", 0)])
    assert _ranked(index) == ["two", "one"]
    # Removing the newest document moves the clock back to the next newest.
    index = _index([("a", "answer", 2 * half_life), ("b", "answer", 0)])
    index.remove([2])
    assert index.document_weight(1) == 1.0


COFFEE = CARDANO.parent / "coffee.stackexchange.com"


async def test_a_fitted_ranker_gives_every_match_a_chance_to_answer(context: AppContext) -> None:
    """Imported Q&A history is enough to fit on; routing then says which model ranks."""
    if not COFFEE.is_dir():
        pytest.fail(f"development dump missing: {COFFEE}")
    await import_stackexchange(context, COFFEE)
    report = await context.routing.fit(context.sessions)
    assert report.ranker.questions >= 50 and report.model_id >= 1
    state = context.routing.ranker_state()
    assert state["kind"] == "fitted" and state["questions"] == report.ranker.questions
    async with context.sessions() as session:
        routed = await context.routing.route(
            session, "How fine should I grind for espresso?", k=5, tags=["espresso", "grinding"]
        )
    assert routed, "an espresso question has people with evidence on the coffee site"
    chances = [r.p_answer for r in routed]
    assert all(p is not None and 0 < p < 1 for p in chances)
    assert chances == sorted(chances, reverse=True)  # type: ignore[type-var]
    assert all(r.reasons for r in routed)


OTHER_SITES = ("beer.stackexchange.com", "coffee.stackexchange.com", "iot.stackexchange.com")


@pytest.fixture(scope="module")
def other_sites(one_thread_embedder: Embedder) -> list[dict[str, object]]:
    """The three other development dumps, default settings (the leave-one-site-out grid is
    what ``askhub eval routing ../shared/data/*/`` runs for the README; too slow for CI)."""
    reports = []
    for name in OTHER_SITES:
        folder = CARDANO.parent / name
        if not folder.is_dir():
            pytest.fail(f"development dump missing: {folder}")
        reports.append(asyncio.run(evaluate_routing(folder, None, one_thread_embedder)))
    return reports


def test_every_site_beats_its_best_baseline(
    run: tuple[dict[str, object], Path, Path], other_sites: list[dict[str, object]]
) -> None:
    reports = [run[0], *other_sites]
    ratios = {str(r["dump"]): float(r["mrr_ratio"]) for r in reports}  # type: ignore[arg-type]
    assert min(ratios.values()) >= MIN_SITE_RATIO, ratios
    ordered = sorted(ratios.values())
    assert (ordered[1] + ordered[2]) / 2 >= 1.25, ratios


def test_p_answer_is_calibrated_on_questions_the_fit_never_saw(
    run: tuple[dict[str, object], Path, Path], other_sites: list[dict[str, object]]
) -> None:
    for report in [run[0], *other_sites]:
        ranker = report["ranker"]
        assert isinstance(ranker, dict) and "test_calibration" in ranker, report["dump"]
        calibration = ranker["test_calibration"]
        # Each tenth of the candidates, by p_answer, answers about as often as p_answer says.
        assert calibration["worst_decile_gap"] < 0.1, (report["dump"], calibration)
        assert calibration["brier"] < BRIER_SLACK * calibration["brier_constant"], (
            report["dump"],
            calibration,
        )
        held = ranker["metrics"]
        assert held["brier"] < held["brier_constant"], (report["dump"], held)
