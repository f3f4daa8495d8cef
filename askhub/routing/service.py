"""The bridge between the database and the expertise index.

The database is the truth: every passage vector is stored in ``embedding`` with its model id.
The in-memory index is a replica that follows that table through the ``index_change`` log
(migration 0007): the watermark is the last change replayed. A routing call checks only the
log's head (an index lookup), so a post written by the CLI, another process or this one is
searchable at the next call; on PostgreSQL a follower (askhub/routing/follower.py) replays
changes in the background as they are NOTIFYed, so calls seldom replay anything themselves.
The full count that catches a replica out of step runs off the request path (:meth:`audit`),
and a crash or a drift costs at most a rebuild from stored vectors, never a re-encode.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Sequence, Set
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import anyio.to_thread
import numpy as np
from numpy.typing import NDArray
from sqlalchemy import delete, event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from askhub.logs import emit
from askhub.routing import learning
from askhub.routing.audience import is_everyone, members
from askhub.routing.availability import asks_and_waiting, availability_allows, held_back
from askhub.settings import Settings
from indexer.chunking import chunk_text
from indexer.dense import IVF, DenseIndex, approximate_copy
from indexer.embedders import Embedder, load_embedder
from indexer.expertise import Document, Evidence, ExpertiseIndex, Passage, PersonMatch
from indexer.progress import Progress, silent
from indexer.ranker import FittedRanker, History, Query, candidate_features
from models import (
    Embedding,
    IndexChange,
    Person,
    Post,
    PostKind,
    Reply,
    ReplyKind,
    RoutingModel,
    person_maybe_unavailable,
)

EMBED_BATCH = 256
# Replaying more changed posts than this (and a quarter of the index) rebuilds instead.
REPLAY_LIMIT = 2000
# New posts this process wrote, kept to be replayed from memory (see RoutingService._written).
WRITTEN_KEPT = 1000
_WRITTEN_KEY = "askhub_written_posts"
# A post as this process wrote it: its change rows, document, passages and their vectors.
Written = tuple[int, Document, list[Passage], NDArray[np.float32]]
# What the start routes once to warm up (its answer is thrown away).
WARM_UP_TEXT = "Who knows about this? Wie weet hier meer van?"
# FAISS threads for building the approximate index in the background: one, so the other core
# keeps serving (the build takes minutes at a million vectors either way).
BACKGROUND_BUILD_THREADS = 1
# A failed rebuild of the fitted ranker's history is tried again this long after it failed
# (the last history built keeps serving meanwhile).
HISTORY_RETRY_SECONDS = 60.0

index_log = logging.getLogger("askhub.index")


@dataclass(frozen=True)
class RoutedPerson:
    person: Person
    score: float
    rank: int
    reasons: list[dict[str, object]]
    # Calibrated probability that the person answers; None when the hand-set weights rank.
    p_answer: float | None = None
    # In a preview: why this person would not be asked now ("away", "busy", "below_floor").
    held_back: str | None = None


@dataclass(frozen=True)
class Ranked:
    """One ranked person id with score, answer probability and evidence (before the DB)."""

    person: str
    score: float
    p_answer: float | None
    evidence: tuple[Evidence, ...]
    topical: bool


# The hand-set scorer's floor: below this summed, weighted relevance a person's evidence is
# noise (a stray word, a far-off post), so they are never asked.
HAND_SCORE_FLOOR = 0.02
# Nobody is asked whose score is below this share of the best score anyone in the organisation
# has for the call, counting people who are away or busy: when the experts cannot be asked, the
# next in line are strangers to the topic, and a wave must not be filled with them.
RELATIVE_FLOOR = 0.25


# "Asked before?": an earlier post is the same question only this close (cosine) to the new
# one. With the default model, paraphrases and translations of a question score 0.5-0.7
# against it and unrelated questions below 0.2.
SIMILAR_FLOOR = 0.4


def _iso(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).isoformat(timespec="seconds")


def document_for(post: Post) -> Document:
    return Document(
        doc_id=post.id,
        person=str(post.author_id),
        title=post.title,
        body=post.body,
        tags=tuple(post.tags or ()),
        created_at=post.created_at,
        kind=str(post.kind),
    )


def reasons_for(match: PersonMatch | Ranked, kinds: dict[int, str]) -> list[dict[str, object]]:
    """The evidence as the API and nudges show it."""
    return [
        {
            "post_id": e.doc_id,
            "kind": kinds.get(e.doc_id, "post"),
            "title": e.title,
            "snippet": e.snippet,
            "matched_terms": list(e.matched_terms),
            "similarity": e.similarity,
        }
        for e in match.evidence
    ]


@dataclass(frozen=True)
class Encoded:
    """Passages and their vectors (one row each), encoded before they are stored."""

    passages: tuple[str, ...]
    vectors: NDArray[np.float32]


class RoutingService:
    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self._embedder = embedder
        self._index: ExpertiseIndex | None = None
        self._watermark = 0
        self._lock = asyncio.Lock()
        # The fitted ranker (None: the hand-set weights rank) and the history it reads. The
        # first history is built on the call that needs it (warm_up, at a start); after a change
        # to the index or the stored model the last one built keeps serving while a fresh one
        # is built in the background (_keep_history): no call waits for a rebuild.
        self._ranker: FittedRanker | None = None
        self._ranker_id = 0
        self._history: History | None = None
        # Changes the history must follow (counted), and the count the serving one was built at.
        self._history_wanted = 0
        self._history_of = 0
        self._history_task: asyncio.Task[None] | None = None
        self._history_builds = 0
        self._history_built_at: float | None = None
        self._history_error: str | None = None
        self._history_failed_at: float | None = None
        # What this process did to its replica, for /api/health: passages it encoded (its own
        # writes), passages it took from stored vectors by replaying changes or by a rebuild,
        # and how often it replayed, rebuilt or found itself out of step.
        self.counters: Counter[str] = Counter()
        # The new posts this process wrote (a call's post), as written: post id -> the change
        # rows the write logged, its document, passages and vectors. Replaying the write then
        # needs nothing from the database (two queries and the vectors' bytes fewer a post),
        # when the log holds exactly those rows for it (none more: nobody changed it since).
        # A rolled-back write never reaches the log; the oldest entries make way.
        self._written: OrderedDict[int, Written] = OrderedDict()
        # The approximate index being built in the background (see _keep_approximate): its
        # thread, when it started, and a future the CLI can wait on.
        self._builder: threading.Thread | None = None
        self._build_started: float | None = None
        self._build_done: asyncio.Future[None] | None = None
        self._build_error: str | None = None
        # The exact index whose build failed: not tried again until a rebuild replaces it
        # (a build that ran out of memory would fail again at every change).
        self._build_failed_for: DenseIndex | None = None
        # FAISS threads a background build may use (the CLI, with nothing else to do, lifts it).
        self.build_threads: int | None = BACKGROUND_BUILD_THREADS

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = load_embedder(self.settings.model, threads=self.settings.embed_threads)
        return self._embedder

    @property
    def model_id(self) -> str:
        return self.embedder.model_id

    def state(self) -> dict[str, object]:
        index = self._index
        return {
            "model": self.model_id if self._embedder else self.settings.model,
            "loaded": index is not None,
            "documents": len(index) if index else 0,
            "vectors": len(index.dense) if index else 0,
            "people": index.people if index else 0,
            "watermark": self._watermark,
            "ranker": self.ranker_state(),
            "passages": {
                what: self.counters[f"passages_{what}"]
                for what in ("encoded", "replayed", "loaded")
            },
            "queries_encoded": self.counters["queries_encoded"],
            "replays": self.counters["replays"],
            "rebuilds": self.counters["rebuilds"],
            "audits": self.counters["audits"],
            "out_of_step": self.counters["out_of_step"],
            "search": self.search_state(),
        }

    def search_state(self) -> dict[str, object]:
        """How the dense index searches: exact or approximate, with the recall measured when
        the approximate index was built, and whether one is being built now."""
        dense = self._index.dense if self._index is not None else None
        recall = dense.recall if dense is not None and dense.kind == IVF else None
        started = self._build_started if self._builder is not None else None
        return {
            "kind": dense.kind if dense is not None else "exact",
            "vectors": len(dense) if dense is not None else 0,
            "approximate_above": self.settings.approximate_above or None,
            "nprobe": dense.nprobe if dense is not None and dense.kind == IVF else None,
            "nlist": dense.nlist if dense is not None and dense.kind == IVF else None,
            "recall": recall.summary() if recall is not None else None,
            "built_at": _iso(recall.built_at) if recall is not None else None,
            "building_since": _iso(started) if started is not None else None,
            "last_build_error": self._build_error,
        }

    def ranker_state(self) -> dict[str, object]:
        """Which model ranks: the fitted one (on how many questions, when) or the hand-set."""
        ranker = self._ranker
        if ranker is None:
            return {"kind": "hand-set", "min_fit_questions": self.settings.min_fit_questions}
        return {
            "kind": "fitted",
            "version": self._ranker_id,
            "questions": ranker.questions,
            "positives": ranker.positives,
            "fitted_at": datetime.fromtimestamp(ranker.fitted_at, UTC).isoformat(),
            "calibration": dict(ranker.metrics),
            "history": self.history_state(),
        }

    def history_state(self) -> dict[str, object]:
        """The fitted ranker's history: how often built, when last, whether it lags the index
        (a rebuild follows in the background) and why the last rebuild failed."""
        built = self._history_built_at
        return {
            "builds": self._history_builds,
            "built_at": _iso(built) if built is not None else None,
            "current": self._history is not None and self._history_of == self._history_wanted,
            "rebuilding": self._history_task is not None and not self._history_task.done(),
            "last_error": self._history_error,
        }

    # -- writing vectors ---------------------------------------------------------------------

    async def embed_posts(
        self,
        session: AsyncSession,
        posts: Sequence[Post],
        every_model: bool = False,
        encoded: Encoded | None = None,
        new: bool = False,
    ) -> int:
        """Encode posts (chunked) and store their vectors in this session's transaction.

        ``encoded``: the passages already encoded (a call's text, encoded once for routing
        and for its post), used when they are exactly these posts' passages. ``new``: the
        posts were made in this transaction, so they have no vectors to delete.

        The old vectors (of this model; with ``every_model``, of all: the text changed) are
        deleted only after encoding, so the vector writers' lock (migration 0007) is held for
        the writes alone.
        """
        if not posts:
            return 0
        documents = [document_for(p) for p in posts]
        chunks = [ExpertiseIndex.chunks(d) for d in documents]
        texts = [text for per_doc in chunks for text in per_doc]
        if encoded is not None and list(encoded.passages) == texts:
            vectors = encoded.vectors
        else:
            vectors = await anyio.to_thread.run_sync(self.embedder.encode, texts)
        self.counters["passages_encoded"] += len(texts)
        model_id = self.model_id
        if not new:
            stale = delete(Embedding).where(Embedding.post_id.in_([p.id for p in posts]))
            if not every_model:
                stale = stale.where(Embedding.model_id == model_id)
            await session.execute(stale)
        rows = []
        at = 0
        for post, per_doc in zip(posts, chunks, strict=True):
            for chunk_no, text in enumerate(per_doc):
                vector = vectors[at]
                at += 1
                rows.append(
                    Embedding(
                        post_id=post.id,
                        model_id=model_id,
                        chunk=chunk_no,
                        text=text,
                        dim=int(vector.shape[0]),
                        vector=vector.astype(np.float32).tobytes(),
                    )
                )
        session.add_all(rows)
        await session.flush()
        if new:
            written = {}
            at = 0
            for post, document, per_doc in zip(posts, documents, chunks, strict=True):
                mine = rows[at : at + len(per_doc)]
                written[post.id] = (
                    len(mine),
                    document,
                    [Passage(vector_id=r.id, doc_id=post.id, text=r.text) for r in mine],
                    np.asarray(vectors[at : at + len(per_doc)], dtype=np.float32),
                )
                at += len(per_doc)
            self._keep_when_committed(session, written)
        return len(rows)

    def _keep_when_committed(self, session: AsyncSession, written: dict[int, Written]) -> None:
        """Keep ``written`` for replaying once the session commits; forget it on a rollback
        (on SQLite a rolled-back post's id is given to the next post)."""
        sync = session.sync_session
        pending: dict[int, Written] | None = sync.info.get(_WRITTEN_KEY)
        if pending is None:
            pending = sync.info[_WRITTEN_KEY] = {}

            def committed(_session: Session) -> None:
                self._written.update(sync.info.pop(_WRITTEN_KEY, {}))
                while len(self._written) > WRITTEN_KEPT:
                    self._written.popitem(last=False)

            def rolled_back(_session: Session, _previous: object) -> None:
                sync.info.pop(_WRITTEN_KEY, None)

            event.listen(sync, "after_commit", committed, once=True)
            event.listen(sync, "after_soft_rollback", rolled_back, once=True)
        pending.update(written)

    async def embed_missing(
        self, sessions: async_sessionmaker[AsyncSession], progress: Progress = silent
    ) -> int:
        """Embed every post that has no vector for the current model, a batch per transaction,
        so an interrupted run resumes where it stopped. ``progress`` hears of each batch
        (stage ``"embed"``, in posts)."""
        model_id = self.model_id
        has_vector = select(Embedding.post_id).where(Embedding.model_id == model_id)
        async with sessions() as session:
            total = int(
                await session.scalar(
                    select(func.count()).select_from(Post).where(Post.id.not_in(has_vector))
                )
                or 0
            )
        if total:
            progress("embed", 0, total)
        done = 0
        while True:
            async with sessions() as session, session.begin():
                posts = (
                    await session.scalars(
                        select(Post)
                        .where(Post.id.not_in(has_vector))
                        .order_by(Post.id)
                        .limit(EMBED_BATCH)
                    )
                ).all()
                if not posts:
                    if done < total:
                        progress("embed", done, done)  # posts removed meanwhile
                    return done
                await self.embed_posts(session, posts)
                done += len(posts)
            # Posts added meanwhile may take the count past the first total.
            total = max(total, done)
            progress("embed", done, total)

    async def drop_other_models(self, session: AsyncSession) -> int:
        result = await session.execute(delete(Embedding).where(Embedding.model_id != self.model_id))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    # -- following the database --------------------------------------------------------------

    async def sync(self, session: AsyncSession) -> ExpertiseIndex:
        """Bring the in-memory index up to date with the stored vectors (cheap when it is).

        What every routing call pays: one statement of three index lookups (the change log's
        head and oldest row, the newest stored ranker), never a scan. The watermark is the last
        ``index_change`` row replayed: the posts changed after it are removed from the index
        and added again from their stored vectors, the rest stays. The head is read on every
        call, not left to the follower, so a client that wrote through this process (or whose
        write through another one has committed) is routed against its own post at once.
        """
        async with self._lock:
            head, oldest, ranker = (
                await session.execute(
                    select(
                        select(func.coalesce(func.max(IndexChange.id), 0)).scalar_subquery(),
                        select(func.coalesce(func.min(IndexChange.id), 0)).scalar_subquery(),
                        select(func.coalesce(func.max(RoutingModel.id), 0)).scalar_subquery(),
                    )
                )
            ).one()
            await self._follow_model(session, int(ranker))
            index = self._index
            if index is not None and int(head) == self._watermark:
                return index
            return await self._catch_up(session, int(head), int(oldest))

    async def audit(self, session: AsyncSession) -> bool:
        """The safety net, off the request path (the follower runs it now and then): count the
        stored vectors and rebuild from them when the index holds another number (a change
        log lost or rewritten, vectors of another model). Returns whether it rebuilt.

        The count is compared only when nothing was left to replay: head, oldest and count come
        from one statement (one snapshot), and when the head is the watermark no change has
        committed since the replayed state was read, so index and table must agree.
        """
        async with self._lock:
            head, oldest, count = await self._head_and_count(session)
            self.counters["audits"] += 1
            index = self._index
            if index is None or head != self._watermark:
                await self._catch_up(session, head, oldest)
                return False
            if count == len(index.dense):
                # Replies count as answers too, and they change no vector: recount now and then.
                index.set_priors(await self._priors(session, index))
                return False
            emit(
                index_log,
                logging.WARNING,
                {"event": "out_of_step", "vectors": len(index.dense), "stored": count},
            )
            self.counters["out_of_step"] += 1
            self._index = None
            await self._catch_up(session, head, oldest)
            return True

    async def _head_and_count(self, session: AsyncSession) -> tuple[int, int, int]:
        """The change log's head and oldest row and the stored vectors of this model, in one
        statement, so the count belongs to the changes up to ``head``. The count scans the
        table: only a start, a rebuild and an audit run it, never a routing call."""
        head, oldest, count = (
            await session.execute(
                select(
                    select(func.coalesce(func.max(IndexChange.id), 0)).scalar_subquery(),
                    select(func.coalesce(func.min(IndexChange.id), 0)).scalar_subquery(),
                    select(func.count())
                    .where(Embedding.model_id == self.model_id)
                    .scalar_subquery(),
                )
            )
        ).one()
        return int(head), int(oldest), int(count)

    async def _catch_up(self, session: AsyncSession, head: int, oldest: int) -> ExpertiseIndex:
        """Replay the changes after the watermark up to ``head``, or rebuild when they cannot
        be replayed (the lock is held)."""
        index = self._index
        if index is not None and (oldest > self._watermark + 1 or head < self._watermark):
            # Rows after the watermark may have been pruned (prune_changes), or the log went
            # back (a restore): the changes cannot be replayed, so the index is rebuilt.
            index = None
        self._history_changed()
        # The priors count answers over the whole post and reply tables: recounted at a
        # rebuild, an audit, or a replay that touched an answer, not for every new post.
        answers_changed = index is None
        if index is not None and head != self._watermark:
            # Each changed post with its number of change rows (counted here: the rows are
            # the few since the watermark).
            logged = Counter(
                await session.scalars(
                    select(IndexChange.post_id).where(
                        IndexChange.id > self._watermark, IndexChange.id <= head
                    )
                )
            )
            changed = list(logged)
            if len(changed) > max(REPLAY_LIMIT, len(index) // 4):
                index = None  # a bulk change (an import): one rebuild is cheaper
                answers_changed = True
            else:
                answers_changed = self._touches_answers(index, changed)
                index.remove(changed)
                mine = self._replay_written(index, logged)
                rest = [pid for pid in changed if pid not in mine]
                self.counters["passages_replayed"] += await self._add_posts(session, index, rest)
                answers_changed = answers_changed or self._touches_answers(index, changed)
                self.counters["replays"] += 1
                self._watermark = head
        if index is None:
            index = await self._rebuild(session)
        if answers_changed:
            index.set_priors(await self._priors(session, index))
        # BM25's full rebuilds run beside the requests, not on one (about 47 s at 1M posts).
        index.lexical.background = True
        self._index = index
        self._keep_approximate(index)
        return index

    def _replay_written(self, index: ExpertiseIndex, logged: Counter[int]) -> set[int]:
        """Add the posts of ``logged`` (post id -> its change rows being replayed) that this
        process wrote and nobody changed since, from memory; returns their ids."""
        replayed: set[int] = set()
        for post_id, rows in logged.items():
            written = self._written.pop(post_id, None)
            if written is None or written[0] != rows:
                continue  # not ours, or changed again since: from the database
            _, document, passages, vectors = written
            index.add([document], passages, vectors)
            replayed.add(post_id)
        return replayed

    @staticmethod
    def _touches_answers(index: ExpertiseIndex, post_ids: Sequence[int]) -> bool:
        return any(
            (document := index.document(pid)) is not None and document.kind == PostKind.ANSWER
            for pid in post_ids
        )

    async def _rebuild(self, session: AsyncSession) -> ExpertiseIndex:
        """A new index from the stored vectors (the saved file when it matches the table)."""
        head, _, count = await self._head_and_count(session)
        self.counters["rebuilds"] += 1
        index = self._load_saved(count, head)
        if index is not None:
            await self._attach_documents(session, index)
            self.counters["passages_loaded"] += len(index.dense)
            return index
        index = ExpertiseIndex(self.embedder)
        self.counters["passages_loaded"] += await self._add_all(session, index)
        self._watermark = head
        return index

    async def prune_changes(self, session: AsyncSession) -> int:
        """Delete the ``index_change`` rows older than the newest ``index_changes_kept``;
        returns how many went.

        Which rows every process has replayed is not recorded anywhere, so the horizon is a
        count of rows, and it is made safe by :meth:`sync`: the oldest row kept always existed
        (it is a real change, never a gap), so a process whose watermark lies before it knows
        it may have missed pruned changes and rebuilds from the stored vectors. The newest row
        is never pruned, so the head never moves back. A process that lags by more changes
        than ``REPLAY_LIMIT`` rebuilds anyway, so keeping more rows than that gains little.
        """
        head = await session.scalar(select(func.max(IndexChange.id)))
        if head is None:
            return 0
        floor = await session.scalar(
            select(func.max(IndexChange.id)).where(
                IndexChange.id <= head - self.settings.index_changes_kept
            )
        )
        if floor is None:
            return 0
        result = await session.execute(delete(IndexChange).where(IndexChange.id < floor))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def _follow_model(self, session: AsyncSession, newest: int) -> None:
        """Load the stored ranker when ``newest`` (its id, read by the caller) is new."""
        if newest == self._ranker_id:
            return
        loaded = await learning.newest_model(session)
        self._ranker_id, self._ranker = loaded if loaded else (newest, None)
        self._history_changed()

    def _history_changed(self) -> None:
        """The fitted ranker's history no longer matches the index or the model: rebuild it
        (in the background, see :meth:`history`)."""
        self._history_wanted += 1

    async def history(self, session: AsyncSession, index: ExpertiseIndex) -> History:
        """The history the fitted ranker reads: the last one built. Only the first is built
        on the call (the start's warm-up pays it); when it is out of date a fresh one is built
        in the background, one at a time, and takes its place once complete."""
        if self._history is None:
            wanted, _, documents = await self._history_snapshot()
            history = await learning.build_history(session, index, documents)
            if self._history is None:  # not put in place by a concurrent call meanwhile
                self._put_history(history, wanted)
            return history
        if self._history_of != self._history_wanted:
            self._start_history(session)
        return self._history

    async def _history_snapshot(self) -> tuple[int, ExpertiseIndex | None, list[Document]]:
        """The index's documents with the count of changes they include, taken between two
        syncs (a sync changes the index across awaits: half way, a change is counted but its
        posts are not back in yet)."""
        async with self._lock:
            index = self._index
            documents = list(index.documents()) if index is not None else []
            return self._history_wanted, index, documents

    def _put_history(self, history: History, wanted: int) -> None:
        self._history, self._history_of = history, wanted
        self._history_builds += 1
        self._history_built_at = datetime.now(UTC).timestamp()
        self._history_error = self._history_failed_at = None

    def _running_history(self) -> asyncio.Task[None] | None:
        """The rebuild running on this event loop (one left behind by a closed loop, as a CLI
        that runs several loops would leave, is forgotten)."""
        task = self._history_task
        if task is not None and (task.done() or task.get_loop() is not asyncio.get_running_loop()):
            task = self._history_task = None
        return task

    def _start_history(self, session: AsyncSession) -> None:
        if self._running_history() is not None:
            return  # the running build goes on with the changes that came meanwhile
        failed = self._history_failed_at
        if failed is not None and time.monotonic() - failed < HISTORY_RETRY_SECONDS:
            return
        engine = session.bind
        if not isinstance(engine, AsyncEngine):
            return  # a session on one connection (none here): nothing to read beside it
        self._history_task = asyncio.create_task(
            self._keep_history(async_sessionmaker(engine, expire_on_commit=False)),
            name="askhub-history",
        )

    async def _keep_history(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        """Build the history from the index and the database as they are now, put it in place
        in one step, and again while changes came during the build (coalesced into one). A
        failure is logged; the last history keeps serving and the next call after
        ``HISTORY_RETRY_SECONDS`` tries again."""
        try:
            while self._history_of != self._history_wanted and self._index is not None:
                started = time.perf_counter()
                try:
                    wanted, index, documents = await self._history_snapshot()
                    if index is None:
                        return
                    async with sessions() as session:
                        history = await learning.build_history(session, index, documents)
                except Exception as exc:
                    index_log.exception("rebuilding the fitted ranker's history failed")
                    self._history_error = f"{type(exc).__name__}: {exc}"
                    self._history_failed_at = time.monotonic()
                    return
                self._put_history(history, wanted)
                emit(
                    index_log,
                    logging.INFO,
                    {
                        "event": "ranker_history",
                        "documents": len(documents),
                        "seconds": f"{time.perf_counter() - started:.3f}",
                        "behind": self._history_wanted - wanted,
                    },
                )
        finally:
            if self._history_task is asyncio.current_task():
                self._history_task = None

    async def wait_history(self) -> None:
        """Wait for a background rebuild of the fitted ranker's history, if one runs."""
        while (task := self._running_history()) is not None:
            await asyncio.shield(task)

    async def close(self) -> None:
        """Stop a background rebuild of the history (the database is closing)."""
        task = self._running_history()
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def fit(
        self, sessions: async_sessionmaker[AsyncSession], progress: Progress = silent
    ) -> learning.FitReport:
        """Fit a ranker on the history in the database; it ranks from the next call on."""
        async with sessions() as session:
            index = await self.sync(session)
        report = await learning.fit(
            sessions, index, self.embedder, self.settings.min_fit_questions, progress=progress
        )
        async with sessions() as session:
            await self.sync(session)
        return report

    def floor_score(self, top: float) -> float:
        """The lowest score that may be asked, given the best score for the call."""
        absolute = (
            HAND_SCORE_FLOOR if self._ranker is None else self.settings.min_p_answer_bp / 10_000
        )
        return max(absolute, RELATIVE_FLOOR * top)

    def use_ranker(self, ranker: FittedRanker | None) -> None:
        """Rank with ``ranker`` until the stored model changes (evaluation tries settings)."""
        self._ranker = ranker

    def rank(
        self,
        index: ExpertiseIndex,
        history: History | None,
        query: Query,
        k: int,
        exclude: Set[str] = frozenset(),
        only: Set[str] | None = None,
        floor: bool = True,
        unavailable: Set[str] = frozenset(),
    ) -> list[Ranked]:
        """The ``k`` best people for ``query``, by the fitted ranker when there is one.

        With ``floor`` (asking people), nobody without topical evidence, below the relevance
        floor, or far below the best person for the call (``RELATIVE_FLOOR``, measured before
        ``unavailable`` people are dropped) is returned: better nobody than a stranger.
        Without it (evaluation) the whole ranking is returned.
        """
        ranker = self._ranker
        if ranker is None or history is None:
            matches = index.search(
                query.text,
                k=k + len(unavailable),
                exclude=exclude,
                only=only,
                query_vector=query.vector,
            )
            top = matches[0].score if matches else 0.0
            ranked = [
                Ranked(m.person, m.score, None, m.evidence, True)
                for m in matches
                if m.person not in unavailable
                and (not floor or (m.score >= HAND_SCORE_FLOOR and m.score >= RELATIVE_FLOOR * top))
            ]
            return ranked[:k]
        found = candidate_features(
            index, history, query, exclude=exclude, only=only, needed=ranker.needed
        )
        if not found.people:
            return []
        p = ranker.probabilities(found.features)
        order = np.lexsort((np.arange(len(p)), -p))
        min_p = self.floor_score(float(p[order[0]]))
        ranked = []
        for i in order.tolist():
            topical = bool(found.topical[i])
            person = found.people[i]
            if person in unavailable:
                continue
            if floor and (not topical or p[i] < min_p):
                continue
            evidence = index.explain(person, found.gathered) if topical else ()
            probability = round(float(p[i]), 6)
            ranked.append(Ranked(person, probability, probability, evidence, topical))
            if len(ranked) == k:
                break
        return ranked

    def _load_saved(self, count: int, max_id: int) -> ExpertiseIndex | None:
        dense = DenseIndex.load(self.settings.index_path, self.model_id, count, max_id)
        if dense is None:
            return None
        index = ExpertiseIndex(self.embedder)
        index.attach_dense(dense)
        self._watermark = max_id
        return index

    async def _attach_documents(self, session: AsyncSession, index: ExpertiseIndex) -> None:
        rows = (
            await session.execute(
                select(Embedding.id, Embedding.post_id, Embedding.text, Post)
                .join(Post, Post.id == Embedding.post_id)
                .where(Embedding.model_id == self.model_id)
                .order_by(Embedding.id)
            )
        ).all()
        posts = {row[3].id: row[3] for row in rows}
        index.add_without_vectors(
            [document_for(p) for p in posts.values()],
            [Passage(vector_id=r[0], doc_id=r[1], text=r[2]) for r in rows],
        )

    async def _add_all(self, session: AsyncSession, index: ExpertiseIndex) -> int:
        post_ids = list(
            await session.scalars(
                select(Embedding.post_id).where(Embedding.model_id == self.model_id).distinct()
            )
        )
        return await self._add_posts(session, index, sorted(post_ids))

    async def _add_posts(
        self, session: AsyncSession, index: ExpertiseIndex, post_ids: Sequence[int]
    ) -> int:
        """Add these posts with every stored passage vector they have now (none: gone);
        returns how many passages that was."""
        posts: dict[int, Post] = {}
        vectors_by_id: dict[int, bytes] = {}
        passages: list[Passage] = []
        for start in range(0, len(post_ids), 5000):
            batch = post_ids[start : start + 5000]
            for post in await session.scalars(select(Post).where(Post.id.in_(batch))):
                posts[post.id] = post
            for vid, pid, text, blob in await session.execute(
                select(Embedding.id, Embedding.post_id, Embedding.text, Embedding.vector)
                .where(Embedding.model_id == self.model_id, Embedding.post_id.in_(batch))
                .order_by(Embedding.post_id, Embedding.chunk)
            ):
                if pid in posts:
                    passages.append(Passage(vector_id=vid, doc_id=pid, text=text))
                    vectors_by_id[vid] = blob
        if not passages:
            return 0
        with_vectors = {p.doc_id for p in passages}
        documents = [document_for(posts[pid]) for pid in post_ids if pid in with_vectors]
        vectors = np.vstack(
            [np.frombuffer(vectors_by_id[p.vector_id], dtype=np.float32) for p in passages]
        )
        index.add(documents, passages, vectors)
        return len(passages)

    async def _priors(self, session: AsyncSession, index: ExpertiseIndex) -> dict[str, float]:
        """Answers given (imported answers and replies), log-scaled to [0, 1].

        The answer posts are counted by the index as they come and go: counting them in the
        database (a GROUP BY over every post) after each change was most of the first routing
        call after a new post (scripts/bench_approximate.py --first-call)."""
        answers = index.answers()
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

    async def forget(self, post_ids: Sequence[int]) -> None:
        """Drop posts from this process's index now (their rows and vectors are gone from the
        database; other processes replay the deletion from the change log)."""
        async with self._lock:
            if self._index is not None and post_ids:
                self._index.remove(post_ids)
                self._history_changed()  # the fitted ranker's features counted those posts too

    def save(self) -> None:
        if self._index is not None:
            self._index.save(self.settings.index_path, self._watermark)

    # -- the approximate index ---------------------------------------------------------------

    def _keep_approximate(self, index: ExpertiseIndex) -> None:
        """Above ``approximate_above`` vectors, build the approximate (IVF) index in a thread
        from a copy of the exact one's vectors while the exact one keeps serving; it takes the
        exact one's place once built (:meth:`_swap`). Runs at the end of every sync, on the
        event loop; cheap when there is nothing to do."""
        dense = index.dense
        if dense.kind == IVF:
            dense.nprobe = self.settings.nprobe
            return
        threshold = self.settings.approximate_above
        if not threshold or len(dense) <= threshold or self._builder is not None:
            return
        if self._build_failed_for is dense:
            return
        loop = asyncio.get_running_loop()
        self._build_done = loop.create_future()
        self._build_started = datetime.now(UTC).timestamp()
        self._builder = threading.Thread(
            target=self._build_approximate,
            args=(index, dense, loop),
            name="askhub-approximate-index",
            daemon=True,
        )
        self._builder.start()

    def _build_approximate(
        self, index: ExpertiseIndex, dense: DenseIndex, loop: asyncio.AbstractEventLoop
    ) -> None:
        """The build thread: never touches the live index except to copy it (under its lock)."""
        try:
            approx: DenseIndex | None = approximate_copy(
                dense, nprobe=self.settings.nprobe, owner=index.owner, threads=self.build_threads
            )
            error = None
        except Exception as exc:  # a failed build leaves exact search serving
            index_log.exception("building the approximate index failed")
            approx, error = None, f"{type(exc).__name__}: {exc}"
        try:
            loop.call_soon_threadsafe(self._swap, index, dense, approx, error)
        except RuntimeError:  # the event loop is closed: the process is ending
            dense.drop_journal()

    def _swap(
        self,
        index: ExpertiseIndex,
        dense: DenseIndex,
        approx: DenseIndex | None,
        error: str | None,
    ) -> None:
        """On the event loop, where every change to the index is made: replay the changes
        made during the build onto the new index and put it in the exact one's place, in one
        step (no await), so no call sees half of it and no change is lost."""
        self._builder = None
        self._build_error = error
        self._build_failed_for = dense if error is not None else None
        done, self._build_done = self._build_done, None
        if approx is not None and self._index is index and index.dense is dense:
            replayed = dense.hand_over(approx)
            index.attach_dense(approx)
            recall = approx.recall
            emit(
                index_log,
                logging.INFO,
                {
                    "event": "approximate_index",
                    "vectors": len(approx),
                    "nlist": approx.nlist,
                    "nprobe": approx.nprobe,
                    "replayed": replayed,
                    # Figures as written (the log formatter keeps one decimal of a float).
                    **{
                        key: str(value)
                        for key, value in (recall.summary() if recall else {}).items()
                        if value is not None
                    },
                },
            )
        else:
            dense.drop_journal()  # replaced by a rebuild meanwhile: its own build follows
        if done is not None and not done.done():
            done.set_result(None)
        if error is None and self._index is not None and self._index is not index:
            self._keep_approximate(self._index)

    async def wait_approximate(self) -> None:
        """Wait for a background build of the approximate index, if one runs, to finish."""
        if self._build_done is not None:
            await asyncio.shield(self._build_done)

    async def encode_query(self, text: str) -> NDArray[np.float32]:
        """A query's vector (counted apart from the passages this process stores)."""
        self.counters["queries_encoded"] += 1
        vectors = await anyio.to_thread.run_sync(self.embedder.encode, [text])
        return np.asarray(vectors[0], dtype=np.float32)

    async def encode_text(self, text: str) -> Encoded | None:
        """A text that is one passage (a call's), encoded once to route it and to store it
        as its post's vector; None when it is longer (the query is the whole text, while the
        post is stored as several passages). The passage is the text with its whitespace
        collapsed, which the model does not see: the vector is the query's own."""
        passages = chunk_text(text)
        if len(passages) != 1:
            return None
        return Encoded(tuple(passages), (await self.encode_query(passages[0]))[np.newaxis, :])

    # -- asked before ------------------------------------------------------------------------

    async def similar_posts(
        self, session: AsyncSession, text: str, kinds: Set[str], k: int = 50
    ) -> list[tuple[int, float]]:
        """Posts of ``kinds`` that say nearly what ``text`` says, best first: (post id,
        relevance). The index routing uses, read per document instead of per person; only
        documents at least ``SIMILAR_FLOOR`` close in meaning count (a shared word is not
        the same question)."""
        if not text.strip():
            return []
        index = await self.sync(session)
        vector = await self.encode_query(text)
        gathered = index.gather(text, query_vector=vector)
        floor = max(SIMILAR_FLOOR - index.weights.min_similarity, 0.0)
        hits = [
            (hit.doc_id, hit.relevance)
            for per_person in gathered.per_person.values()
            for hit in per_person
            if hit.kind in kinds and hit.similarity >= floor
        ]
        hits.sort(key=lambda item: (-item[1], item[0]))
        return hits[:k]

    async def people_near(
        self,
        session: AsyncSession,
        vector: NDArray[np.float32],
        floor: float,
        kinds: Set[str] = frozenset({"profile", "post", "answer"}),
    ) -> dict[int, int]:
        """People with documents of ``kinds`` at least ``floor`` close (cosine) to ``vector``
        (a topic's centre), and how many each: who has evidence on the topic."""
        index = await self.sync(session)
        norm = float(np.linalg.norm(vector))
        if norm == 0 or not len(index):
            return {}
        unit = (vector / norm).astype(np.float32)
        found = await anyio.to_thread.run_sync(lambda: index.near(unit, floor, kinds))
        return {int(person): len(docs) for person, docs in found.items()}

    # -- routing -----------------------------------------------------------------------------

    async def warm_up(self, session: AsyncSession) -> None:
        """Route one short text and throw the answer away, so the first real call after a
        start costs what the others do: the model's first encode (its graph is set up then:
        over a second on the demo), the lexical index's build, the fitted ranker's history, the
        first compilation of the routing queries. Reads only."""
        await self.route(session, WARM_UP_TEXT, k=1)

    async def route(
        self,
        session: AsyncSession,
        text: str,
        k: int = 10,
        exclude: Set[int] = frozenset(),
        audience: dict[str, str] | None = None,
        tags: Sequence[str] = (),
        asker: int | None = None,
        floor: bool = True,
        query_vector: NDArray[np.float32] | None = None,
    ) -> list[RoutedPerson]:
        """The ``k`` best people for ``text`` with reasons, skipping people who cannot be asked
        and everyone below the relevance floor. Without ``floor`` (a volunteers call, open to
        everyone in its audience) nobody is dropped for lack of evidence: the best-fitting
        come first, in order. ``query_vector``: ``text`` already encoded."""
        matches, _ = await self._ranked(
            session, text, k, exclude, audience, tags, asker, floor, query_vector
        )
        return await self._routed(session, matches)

    async def preview(
        self,
        session: AsyncSession,
        text: str,
        k: int,
        exclude: Set[int] = frozenset(),
        audience: dict[str, str] | None = None,
        tags: Sequence[str] = (),
        asker: int | None = None,
    ) -> list[RoutedPerson]:
        """The best ``k`` candidates, each marked with why they would be held back (away,
        busy, below the floor) or not: exactly what a new call would do, before it is posted."""
        matches, _ = await self._ranked(session, text, 4 * k, exclude, audience, tags, asker, False)
        lowest = self.floor_score(matches[0].score if matches else 0.0)
        ids = [int(m.person) for m in matches]
        now = datetime.now(UTC)
        used, waiting = await asks_and_waiting(session, ids, now)
        routed = await self._routed(session, matches[:k])
        marked = []
        for person in routed:
            held: str | None = None
            ranked = next(m for m in matches if m.person == str(person.person.id))
            if not ranked.topical or ranked.score < lowest:
                held = "below_floor"
            else:
                held = held_back(person.person, now, used, waiting, self.settings.max_open_asks)
            marked.append(replace(person, held_back=held))
        return marked

    async def _ranked(
        self,
        session: AsyncSession,
        text: str,
        k: int,
        exclude: Set[int],
        audience: dict[str, str] | None,
        tags: Sequence[str],
        asker: int | None,
        floor: bool,
        query_vector: NDArray[np.float32] | None = None,
    ) -> tuple[list[Ranked], set[str]]:
        index = await self.sync(session)
        now = datetime.now(UTC)
        # The same rule the nudge loop uses; only people not marked available can fail it.
        # Three columns of the partial index's rows: whole people (JSON columns and all) cost
        # more to load than the rest of a call when many are away.
        unavailable = {
            str(person_id)
            for person_id, availability, away_until in await session.execute(
                select(Person.id, Person.availability, Person.away_until).where(
                    person_maybe_unavailable()
                )
            )
            if not availability_allows(availability, away_until, now)
        }
        only: set[str] | None = None
        if not is_everyone(audience):
            only = {str(m.id) for m in await members(session, audience)}
        if query_vector is None:
            query_vector = await self.encode_query(text)
        history = await self.history(session, index) if self._ranker is not None else None
        matches = self.rank(
            index,
            history,
            Query(
                text,
                query_vector,
                tuple(tags),
                # Activity counts back from the organisation's newest activity, as the hand-set
                # recency does: imported history does not age against the wall clock.
                index.reference_time() or now.timestamp(),
                None if asker is None else str(asker),
            ),
            k,
            exclude={str(p) for p in exclude},
            only=only,
            floor=floor,
            unavailable=unavailable if floor else frozenset(),
        )
        return matches, unavailable

    async def _routed(self, session: AsyncSession, matches: Sequence[Ranked]) -> list[RoutedPerson]:
        if not matches:
            return []
        people = {
            p.id: p
            for p in await session.scalars(
                select(Person).where(Person.id.in_([int(m.person) for m in matches]))
            )
        }
        # The evidence's kinds as the index holds them (a query fewer); the database only for
        # a post that left the index meanwhile.
        kinds: dict[int, str] = {}
        missing = []
        for e in (e for m in matches for e in m.evidence):
            document = self._index.document(e.doc_id) if self._index is not None else None
            if document is None:
                missing.append(e.doc_id)
            else:
                kinds[e.doc_id] = document.kind
        if missing:
            kinds.update(
                (pid, str(kind))
                for pid, kind in await session.execute(
                    select(Post.id, Post.kind).where(Post.id.in_(missing))
                )
            )
        return [
            RoutedPerson(
                person=people[int(m.person)],
                score=m.score,
                rank=rank,
                reasons=reasons_for(m, kinds),
                p_answer=m.p_answer,
            )
            for rank, m in enumerate(matches, start=1)
            if int(m.person) in people
        ]
