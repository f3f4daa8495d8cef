"""Knowledge gaps: topics asked often with few people who have evidence on them.

The questions of the period (each stored as a post of kind ``call`` with its vector) are
clustered on their embeddings (scikit-learn's agglomerative clustering, average linkage on
cosine distance, so the number of topics follows from the data, not from a guess). Each topic
is labelled with its most telling terms (a term's share of the topic's questions times its
inverse frequency over all of them, stopwords of both languages removed, as routing's
lexical index does) and the question nearest its centre. Then the people with evidence: those
whose profile, posts or accepted answers lie close to the topic's centre in the routing
index, plus those who answered one of its questions. A topic of at least ``MIN_CALLS``
questions is a *gap* when fewer than ``GAP_EVIDENCE`` people have evidence on it or at least
half its questions went unanswered; gaps come first, each list ordered by unanswered
questions per person with evidence.
"""

from __future__ import annotations

import math
from collections import Counter

import anyio.to_thread
import msgspec
import numpy as np
from numpy.typing import NDArray
from sqlalchemy import String, cast, select
from sqlalchemy.ext.asyncio import AsyncSession

from askhub.dashboard.service import Scope, people_in
from askhub.routing.service import RoutingService
from indexer.lexical import tokenize
from models import Call, CallKind, CallStatus, Embedding, Person, Post, PostKind, Reply, ReplyKind

# Posts standing for a call carry this source (askhub.calls.service.CALL_SOURCE).
CALL_SOURCE = "call"
# The latest this many questions of the period are clustered (agglomerative clustering holds
# n^2 distances: 2,000 questions take 32 MB and about a second).
MAX_CALLS = 2000
# Questions in one topic are at most this far apart on average (cosine distance); with the
# default model, paraphrases and translations of a question are 0.3-0.5 apart.
DISTANCE = 0.62
MIN_CALLS = 3
# A document this close (cosine) to a topic's centre is evidence on it.
EVIDENCE_SIMILARITY = 0.4
TERMS = 3
GAP_EVIDENCE = 3
# Words that say what the asker wants done, not what the topic is, on top of the stopwords
# routing drops (indexer.lexical.STOPWORDS): a label names a topic.
LABEL_GLUE = frozenset(
    """moeten moet maken maak doen werkt werken betekent duurt voldoet gebruiken gebruikt
    kan kunnen lang best build plan apply check test help activate review make do does work
    works fails use using""".split()
)
MAX_GAPS = 12
MAX_TOPICS_CHECKED = 40


class Gap(msgspec.Struct):
    terms: list[str]
    example: str
    calls: int
    answered: int
    people_with_evidence: int
    # Few people with evidence, or most questions unanswered: a gap, not just a busy topic.
    gap: bool
    call_ids: list[int]


async def _questions(
    session: AsyncSession, scope: Scope, model_id: str
) -> list[tuple[int, str, str, bytes, bool]]:
    """(call id, title, body, first vector, answered) of the period's questions, newest first."""
    answered = (
        select(Reply.id)
        .where(
            Reply.call_id == Call.id,
            Reply.kind == ReplyKind.ANSWER,
            Reply.person_id != Call.asker_id,
        )
        .exists()
    )
    rows = (
        await session.execute(
            select(Call.id, Call.title, Call.body, Embedding.vector, answered)
            .join(Person, Person.id == Call.asker_id)
            .join(
                Post,
                (Post.source == CALL_SOURCE)
                & (Post.external_id == cast(Call.id, String))
                & (Post.kind == PostKind.CALL),
            )
            .join(
                Embedding,
                (Embedding.post_id == Post.id)
                & (Embedding.model_id == model_id)
                & (Embedding.chunk == 0),
            )
            .where(
                Call.kind == CallKind.QUESTION,
                Call.status != CallStatus.WITHDRAWN,
                Call.created_at >= scope.start,
                Call.created_at < scope.end,
                *people_in(scope),
            )
            .order_by(Call.created_at.desc(), Call.id.desc())
            .limit(MAX_CALLS)
        )
    ).all()
    return [(int(i), t, b or "", bytes(v), bool(a)) for i, t, b, v, a in rows]


def cluster(vectors: NDArray[np.float32]) -> NDArray[np.int64]:
    """Topic numbers per vector (rows unit length)."""
    from sklearn.cluster import AgglomerativeClustering

    if len(vectors) < 2:
        return np.zeros(len(vectors), dtype=np.int64)
    model = AgglomerativeClustering(
        n_clusters=None, metric="cosine", linkage="average", distance_threshold=DISTANCE
    )
    return np.asarray(model.fit_predict(vectors), dtype=np.int64)


def telling_terms(topics: list[list[str]], k: int = TERMS) -> list[list[str]]:
    """Per topic (its questions' texts), the ``k`` terms most telling of it: the share of the
    topic's questions that use the term times log(all questions / questions using it)."""
    docs = [[set(tokenize(text)) - LABEL_GLUE for text in texts] for texts in topics]
    total = sum(len(d) for d in docs)
    overall: Counter[str] = Counter(term for d in docs for terms in d for term in terms)
    out = []
    for d in docs:
        inside: Counter[str] = Counter(term for terms in d for term in terms)
        scored = sorted(
            inside.items(),
            key=lambda item: (
                -(item[1] / len(d)) * math.log(1 + total / overall[item[0]]),
                item[0],
            ),
        )
        out.append([term for term, n in scored if n >= min(2, len(d))][:k])
    return out


async def knowledge_gaps(session: AsyncSession, routing: RoutingService, scope: Scope) -> list[Gap]:
    rows = await _questions(session, scope, routing.model_id)
    if len(rows) < MIN_CALLS:
        return []
    vectors = np.stack([np.frombuffer(v, dtype=np.float32) for _, _, _, v, _ in rows])
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = (vectors / np.where(norms == 0, 1, norms)).astype(np.float32)
    labels = await anyio.to_thread.run_sync(cluster, vectors)
    groups: dict[int, list[int]] = {}
    for row, label in enumerate(labels.tolist()):
        groups.setdefault(int(label), []).append(row)
    topics = [members for members in groups.values() if len(members) >= MIN_CALLS]
    terms = telling_terms([[f"{rows[i][1]} {rows[i][2]}" for i in members] for members in topics])
    # Evidence costs a search of the index per topic: only the topics with the most
    # unanswered questions are looked at (the list shows at most MAX_GAPS of them anyway).
    unanswered = [sum(1 for i in members if not rows[i][4]) for members in topics]
    order = sorted(range(len(topics)), key=lambda k: (-unanswered[k], -len(topics[k]), k))
    gaps = []
    for k in order[:MAX_TOPICS_CHECKED]:
        members, words = topics[k], terms[k]
        centre = vectors[members].mean(axis=0).astype(np.float32)
        nearest = max(members, key=lambda i: float(vectors[i] @ centre))
        call_ids = sorted(rows[i][0] for i in members)
        experts = set(await routing.people_near(session, centre, EVIDENCE_SIMILARITY))
        answerers = await session.scalars(
            select(Reply.person_id)
            .join(Call, Call.id == Reply.call_id)
            .where(
                Reply.call_id.in_(call_ids),
                Reply.kind == ReplyKind.ANSWER,
                Reply.person_id != Call.asker_id,
            )
            .group_by(Reply.person_id)
        )
        experts |= set(answerers)
        answered = sum(1 for i in members if rows[i][4])
        gaps.append(
            Gap(
                terms=words,
                example=rows[nearest][1],
                calls=len(members),
                answered=answered,
                people_with_evidence=len(experts),
                gap=len(experts) < GAP_EVIDENCE or 2 * (len(members) - answered) >= len(members),
                call_ids=call_ids,
            )
        )
    gaps.sort(
        key=lambda g: (
            not g.gap,
            -(g.calls - g.answered) / (1 + g.people_with_evidence),
            -g.calls,
            g.example,
        )
    )
    return gaps[:MAX_GAPS]
