"""Fitting the ranker on the organisation's own history, and storing it.

The history is what the database already holds: questions with the posts that answer them
(imported Q&A, linked by ``Post.in_reply_to``), calls with their answer and volunteer replies,
and how people responded to earlier asks (``Match.nudged_at``/``replied_at``). Every feature of
an earlier question is computed as of that question (see ``indexer.ranker``).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import anyio.to_thread
import numpy as np
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from askhub.validation import InputError
from indexer.embedders import Embedder
from indexer.expertise import Document, ExpertiseIndex
from indexer.progress import Progress, silent
from indexer.ranker import (
    FitSettings,
    FittedRanker,
    History,
    Query,
    TrainingQuestion,
    TrainingSet,
    fit_ranker,
    training_set,
)
from models import Call, Embedding, Match, Person, Post, PostKind, Reply, ReplyKind, RoutingModel

# An ask nobody replied to within this long counts as ignored.
IGNORED_AFTER = timedelta(days=3)


class NotEnoughHistory(InputError):
    """Too few answered earlier questions to fit on; the hand-set weights keep ranking."""


@dataclass(frozen=True)
class FitReport:
    model_id: int
    ranker: FittedRanker
    seconds: float


def _stamp(value: datetime | None) -> float | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


async def build_history(
    session: AsyncSession, index: ExpertiseIndex, documents: Sequence[Document] | None = None
) -> History:
    """Who did what and when, from the indexed documents and the outcomes of earlier asks.

    The documents are taken from ``index`` at once (the event loop changes it; ``documents``:
    taken already), then the rows are read; the documents are added and everything sorted in a
    thread (most of the cost: seconds at 100k posts), so the event loop keeps serving."""
    if documents is None:
        documents = list(index.documents())
    history = History()
    for pid, skills, languages in await session.execute(
        select(Person.id, Person.skills, Person.languages)
    ):
        history.set_profile(str(pid), skills or (), languages or ())
    # Who helped whom before: answers linked to their question, and replies to calls.
    question = aliased(Post)
    for answerer, asker, created in await session.execute(
        select(Post.author_id, question.author_id, Post.created_at).join(
            question,
            (question.source == Post.source) & (question.external_id == Post.in_reply_to),
        )
    ):
        stamp = _stamp(created)
        assert stamp is not None
        history.add_link(str(asker), str(answerer), stamp)
    for answerer, asker, created in await session.execute(
        select(Reply.person_id, Call.asker_id, Reply.created_at)
        .join(Call, Call.id == Reply.call_id)
        .where(Reply.kind.in_([ReplyKind.ANSWER, ReplyKind.VOLUNTEER]))
    ):
        stamp = _stamp(created)
        assert stamp is not None
        history.add_link(str(asker), str(answerer), stamp)
    now = datetime.now(UTC)
    replies: dict[tuple[int, int], ReplyKind] = {}
    for call_id, person_id, kind in await session.execute(
        select(Reply.call_id, Reply.person_id, Reply.kind)
    ):
        if kind in (ReplyKind.ANSWER, ReplyKind.VOLUNTEER) or (call_id, person_id) not in replies:
            replies[(call_id, person_id)] = kind
    for call_id, person_id, nudged_at in await session.execute(
        select(Match.call_id, Match.person_id, Match.nudged_at).where(Match.nudged_at.is_not(None))
    ):
        stamp = _stamp(nudged_at)
        assert stamp is not None
        outcome = replies.get((call_id, person_id))
        if outcome in (ReplyKind.ANSWER, ReplyKind.VOLUNTEER):
            history.add_response(str(person_id), stamp, "answered")
        elif outcome == ReplyKind.DECLINE:
            history.add_response(str(person_id), stamp, "declined")
        elif nudged_at is not None and now - nudged_at.replace(tzinfo=UTC) > IGNORED_AFTER:
            history.add_response(str(person_id), stamp, "ignored")

    def assemble() -> History:
        for document in documents:
            history.add_document(
                document.person, document.kind, _stamp(document.created_at), document.tags
            )
        history.flat()  # sorted here, not by the first call that reads it
        return history

    return await anyio.to_thread.run_sync(assemble)


async def training_questions(
    session: AsyncSession, index: ExpertiseIndex, embedder: Embedder
) -> list[TrainingQuestion]:
    """Earlier questions with the people who answered them, oldest first."""
    answerers: defaultdict[tuple[str, str | None], set[str]] = defaultdict(set)
    for source, parent, author in await session.execute(
        select(Post.source, Post.in_reply_to, Post.author_id).where(Post.in_reply_to.is_not(None))
    ):
        answerers[(source, parent)].add(str(author))
    questions: list[TrainingQuestion] = []
    asked = (
        await session.execute(
            select(Post.id, Post.source, Post.external_id, Post.author_id, Post.title, Post.body)
            .where(Post.kind == PostKind.QUESTION, Post.external_id.is_not(None))
            .order_by(Post.created_at)
        )
    ).all()
    vectors = {
        post_id: blob
        for post_id, blob in await session.execute(
            select(Embedding.post_id, Embedding.vector).where(
                Embedding.chunk == 0, Embedding.model_id == embedder.model_id
            )
        )
    }
    for post_id, source, external_id, author, title, body in asked:
        document = index.document(post_id)
        blob = vectors.get(post_id)
        if document is None or blob is None or document.created_at is None:
            continue
        query = Query(
            text=f"{title}\n{body}",
            vector=np.frombuffer(blob, dtype=np.float32),
            tags=document.tags,
            at=_stamp(document.created_at),
            asker=str(author),
        )
        questions.append(
            TrainingQuestion(query, frozenset(answerers.get((source, external_id), set())))
        )

    # Calls asked through AskHub, with who answered or volunteered.
    calls = (
        await session.execute(
            select(Call.id, Call.asker_id, Call.title, Call.body, Call.tags, Call.created_at)
        )
    ).all()
    helped: defaultdict[int, set[str]] = defaultdict(set)
    for call_id, person_id in await session.execute(
        select(Reply.call_id, Reply.person_id).where(
            Reply.kind.in_([ReplyKind.ANSWER, ReplyKind.VOLUNTEER])
        )
    ):
        helped[call_id].add(str(person_id))
    if calls:
        texts = [f"{c.title}\n{c.body}" for c in calls]
        encoded = await anyio.to_thread.run_sync(embedder.encode, texts)
        for call, text, vector in zip(calls, texts, encoded, strict=True):
            questions.append(
                TrainingQuestion(
                    Query(
                        text,
                        vector,
                        tuple(call.tags or ()),
                        _stamp(call.created_at),
                        str(call.asker_id),
                    ),
                    frozenset(helped.get(call.id, set())),
                )
            )
    return sorted(questions, key=lambda q: q.query.at or 0.0)


async def answered_questions(session: AsyncSession) -> int:
    """How many earlier questions have at least one answer: what a fit can learn from."""
    imported = await session.scalar(
        select(func.count(func.distinct(Post.in_reply_to))).where(Post.in_reply_to.is_not(None))
    )
    calls = await session.scalar(
        select(func.count(func.distinct(Reply.call_id))).where(
            Reply.kind.in_([ReplyKind.ANSWER, ReplyKind.VOLUNTEER])
        )
    )
    return int(imported or 0) + int(calls or 0)


async def training_data(
    sessions: async_sessionmaker[AsyncSession],
    index: ExpertiseIndex,
    embedder: Embedder,
    min_questions: int,
    progress: Progress = silent,
) -> TrainingSet:
    """Feature rows of every earlier question, each as of its own time.

    Raises NotEnoughHistory below ``min_questions`` answered questions.
    """
    async with sessions() as session:
        answered = await answered_questions(session)
        if answered < min_questions:
            raise NotEnoughHistory(
                "only {answered} earlier questions have an answer; fitting needs "
                "{needed} (ASKHUB_MIN_FIT_QUESTIONS). The hand-set weights keep ranking.",
                "history",
                answered=answered,
                needed=min_questions,
            )
        history = await build_history(session, index)
        questions = await training_questions(session, index, embedder)
    return await anyio.to_thread.run_sync(
        lambda: training_set(index, history, questions, progress=progress)
    )


def fit_on(data: TrainingSet, settings: FitSettings | None = None) -> FittedRanker:
    """Fit on prepared rows; NotEnoughHistory when they hold nothing to learn from."""
    try:
        return fit_ranker(data, settings or FitSettings())
    except ValueError as exc:
        raise NotEnoughHistory(str(exc), "history") from None


async def fit(
    sessions: async_sessionmaker[AsyncSession],
    index: ExpertiseIndex,
    embedder: Embedder,
    min_questions: int,
    settings: FitSettings | None = None,
    progress: Progress = silent,
) -> FitReport:
    """Fit a ranker on the history and store it as the newest model.

    Raises NotEnoughHistory below ``min_questions`` answered questions.
    """
    started = time.perf_counter()
    data = await training_data(sessions, index, embedder, min_questions, progress)
    ranker = await anyio.to_thread.run_sync(lambda: fit_on(data, settings))
    async with sessions() as session, session.begin():
        row = RoutingModel(
            questions=ranker.questions, positives=ranker.positives, model=ranker.to_json()
        )
        session.add(row)
        await session.flush()
        model_id = row.id
    return FitReport(model_id, ranker, time.perf_counter() - started)


async def newest_model(session: AsyncSession) -> tuple[int, FittedRanker] | None:
    row = await session.scalar(select(RoutingModel).order_by(RoutingModel.id.desc()).limit(1))
    if row is None:
        return None
    try:
        return row.id, FittedRanker.from_json(row.model)
    except (KeyError, ValueError):
        return None  # fitted by an older version on other features: rank by hand until refit


async def newest_model_id(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.coalesce(func.max(RoutingModel.id), 0))) or 0)
