"""The FAISS vector store: inner-product search with stable ids, persisted to disk.

Below a configurable size the index is exact (a flat index behind an id map). Above it, an
inverted-file index (IVF-Flat) scans only the ``nprobe`` lists whose centroids are nearest the
query: at a million 512-d passages an exact scan reads 2 GB per query, IVF a few percent of it.
IVF keeps what the service relies on: stable int64 ids, ``remove``, and save/load.

The IVF index stores every vector minus one fixed vector, the mean of its training sample, and
adds ``query · mean`` back to the scores. For inner products that changes no ranking and no
score (``q·(x - m) + q·m = q·x``), but it matters for the lists: real embeddings share a large
common direction (the default model's mean vector has norm ~0.45), and uncentred k-means then
makes large "hub" lists near that direction that most queries probe. On 200k vectors of the
benchmark (scripts/bench_routing.py) centring took the list-size imbalance from 4.4 to 1.2, a
probed list from ~2,000 vectors to ~110, and the recall of the top 1000 at ~8,000 vectors
scanned from 0.25 to 0.63 (top 50: unchanged, 0.94).

Training k-means and assigning every vector costs minutes at a million vectors on two cores
(see TRAIN_PER_LIST): build the approximate index off the request path (:meth:`build`, then
``ExpertiseIndex.attach_dense``) rather than letting ``add`` convert it during a sync. For that
an exact index can hand out a copy of its vectors and, from the same instant, record every
change made to it (:meth:`snapshot`); the changes are replayed onto the new index just before
it replaces the old one (:meth:`hand_over`), so nothing written during the build is lost.
:func:`measure_recall` says how much of the exact answer the approximate index keeps.
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
import time
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, cast

import faiss
import numpy as np
from numpy.typing import NDArray

IndexKind = Literal["exact", "ivf"]
EXACT: IndexKind = "exact"
IVF: IndexKind = "ivf"

DEFAULT_NPROBE = 32
# OpenMP threads FAISS may use for one query. One: on this 2-core machine, when the other core
# is busy (the embedder, another request, another process), FAISS's second thread makes a
# single exact search 2.5-10x slower (scripts/bench_routing.py measures it); one query never
# gains much from a second thread, and concurrent calls each get their own core.
DEFAULT_SEARCH_THREADS: int | None = 1
# Changes of up to this many vectors (a new post, an edit) run on ``search_threads`` too: adding
# one vector to an IVF index took p50 0.05 ms but p95 7-13 ms with FAISS's two threads on this
# busy 2-core machine (the second thread waits for a core), 0.06-0.09 ms with one.
SMALL_CHANGE = 64
# k-means settings for the coarse quantizer: a sample of TRAIN_PER_LIST vectors per list and
# few iterations are enough for IVF (the centroids only have to partition the space), and they
# bound the build: at a million vectors and 4000 lists, training costs about
# TRAIN_PER_LIST * 4000 * 4000 * 512 * 2 * TRAIN_ITERATIONS flops, assigning the vectors
# 1e6 * 4000 * 512 * 2.
TRAIN_PER_LIST = 16
TRAIN_ITERATIONS = 8
# Vectors are shifted and added to an IVF index this many at a time (bounds the extra memory).
ADD_CHUNK = 65_536


# A change recorded while an approximate index is built: ("add", ids, vectors) or
# ("remove", ids, None).
Change = tuple[str, "NDArray[np.int64]", "NDArray[np.float32] | None"]


def default_nlist(n: int) -> int:
    """Number of inverted lists for ``n`` vectors: about 4·sqrt(n), the usual FAISS guideline."""
    return max(1, min(n, round(4 * math.sqrt(max(n, 1)))))


class DenseIndex:
    """Passage vectors keyed by int64 ids (the database's embedding ids).

    By default ``IndexIDMap2`` over a flat inner-product index: exact, supports remove, and the
    ids survive a save/load, so the index can be checked against the database by count and
    watermark. With ``approximate_above=N`` the index turns itself into IVF-Flat once it holds
    more than ``N`` vectors (see :meth:`build` to make one in a single step); ``nprobe`` trades
    recall for speed and can be changed at any time. ``search_threads`` caps FAISS's OpenMP
    threads for :meth:`search` (None: leave FAISS's setting); the cap is set for the calling
    thread only and restored after the search.
    """

    def __init__(
        self,
        dim: int,
        model_id: str,
        *,
        approximate_above: int | None = None,
        nprobe: int = DEFAULT_NPROBE,
        nlist: int | None = None,
        seed: int = 0,
        search_threads: int | None = DEFAULT_SEARCH_THREADS,
    ) -> None:
        self.dim = dim
        self.model_id = model_id
        self.approximate_above = approximate_above
        self.nlist = nlist
        self.seed = seed
        self.search_threads = search_threads
        self._nprobe = nprobe
        self._index: faiss.Index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        # IVF only: the vector subtracted from every stored vector (see the module doc).
        self._shift: NDArray[np.float32] | None = None
        # No id above this one is stored (None: nothing ever added). Embedding ids grow, so an
        # add of new ids can skip the remove pass, which scans the whole index.
        self._max_id: int | None = None
        # How the approximate index compared with exact search when it was built (IVF only).
        self.recall: Recall | None = None
        # Changes are made on one thread (the service's event loop) while another may copy the
        # vectors (snapshot): the lock keeps a copy and its change journal consistent, and
        # sends changes made after a hand-over to the index that took over.
        self._mutex = threading.RLock()
        self._journal: list[Change] | None = None
        self._successor: DenseIndex | None = None

    @classmethod
    def build(
        cls,
        model_id: str,
        ids: NDArray[np.int64],
        vectors: NDArray[np.float32],
        *,
        approximate_above: int | None = None,
        nprobe: int = DEFAULT_NPROBE,
        nlist: int | None = None,
        seed: int = 0,
    ) -> DenseIndex:
        """An index over ``vectors``: exact up to ``approximate_above`` vectors, IVF above it.

        The IVF variant is trained on a seeded sample of ``vectors`` and filled without ever
        building the exact index, so its peak memory is one copy of the vectors.
        """
        if vectors.ndim != 2:
            raise ValueError(f"expected a 2-d array of vectors, got shape {vectors.shape}")
        dense = cls(
            int(vectors.shape[1]),
            model_id,
            approximate_above=approximate_above,
            nprobe=nprobe,
            nlist=nlist,
            seed=seed,
        )
        if approximate_above is not None and len(ids) > approximate_above:
            dense._index = dense._trained_ivf(vectors)
        dense.add(ids, vectors)
        return dense

    # -- state ------------------------------------------------------------------------------

    def __len__(self) -> int:
        return int(self._index.ntotal)

    @property
    def kind(self) -> IndexKind:
        return IVF if isinstance(self._index, faiss.IndexIVF) else EXACT

    @property
    def nprobe(self) -> int:
        return self._nprobe

    @nprobe.setter
    def nprobe(self, value: int) -> None:
        if value < 1:
            raise ValueError("nprobe must be at least 1")
        self._nprobe = value
        if isinstance(self._index, faiss.IndexIVF):
            self._index.nprobe = value

    @property
    def imbalance(self) -> float | None:
        """IVF only: FAISS's list-size imbalance factor (1.0: all lists equal); None if exact."""
        index = self._index
        if not isinstance(index, faiss.IndexIVF) or index.invlists is None:
            return None
        return float(cast(Any, index.invlists).imbalance_factor())

    @property
    def index_bytes(self) -> int:
        """Bytes held for the vectors, their ids and (IVF) the centroids.

        The exact index also keeps a hash map from id to row for ``IndexIDMap2``, roughly 40
        more bytes a vector that this figure leaves out.
        """
        per_vector = self.dim * 4 + 8
        index = self._index
        centroids = index.nlist * self.dim * 4 if isinstance(index, faiss.IndexIVF) else 0
        return len(self) * per_vector + int(centroids)

    # -- changing ---------------------------------------------------------------------------

    def add(self, ids: NDArray[np.int64], vectors: NDArray[np.float32]) -> None:
        if len(ids) == 0:
            return
        if vectors.shape != (len(ids), self.dim):
            raise ValueError(
                f"expected vectors of shape ({len(ids)}, {self.dim}), got {vectors.shape}"
            )
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        with self._mutex:
            if self._successor is not None:
                self._successor.add(ids, vectors)
                return
            if self._journal is not None:
                self._journal.append(("add", ids.copy(), np.array(vectors, dtype=np.float32)))
            with self._threads_for(len(ids)):
                self._add(ids, vectors)

    def _add(self, ids: NDArray[np.int64], vectors: NDArray[np.float32]) -> None:
        # Re-adding an id replaces it instead of leaving a duplicate behind.
        if self._max_id is not None and int(ids.min()) <= self._max_id:
            self._remove(ids)
        self._fill(self._index, ids, vectors)
        top = int(ids.max())
        self._max_id = top if self._max_id is None else max(self._max_id, top)
        if (
            self.approximate_above is not None
            and self.kind == EXACT
            and len(self) > self.approximate_above
        ):
            self._convert_to_ivf()

    def remove(self, ids: NDArray[np.int64]) -> int:
        if len(ids) == 0:
            return 0
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        with self._mutex:
            if self._successor is not None:
                return self._successor.remove(ids)
            if self._journal is not None:
                self._journal.append(("remove", ids.copy(), None))
            with self._threads_for(len(ids)):
                return self._remove(ids)

    @contextlib.contextmanager
    def _threads_for(self, n: int) -> Iterator[None]:
        """FAISS's threads capped at ``search_threads`` for a small change (see SMALL_CHANGE);
        a bulk change keeps them all."""
        if self.search_threads is None or n > SMALL_CHANGE:
            yield
            return
        before = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(self.search_threads)
        try:
            yield
        finally:
            faiss.omp_set_num_threads(before)

    def _remove(self, ids: NDArray[np.int64]) -> int:
        if len(ids) == 0 or len(self) == 0:
            return 0
        selector = faiss.IDSelectorBatch(np.ascontiguousarray(ids, dtype=np.int64))
        return int(self._index.remove_ids(selector))

    def _fill(self, index: faiss.Index, ids: NDArray[np.int64], vectors: NDArray[Any]) -> None:
        if self._shift is None:
            index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)
            return
        for start in range(0, len(ids), ADD_CHUNK):
            part = slice(start, start + ADD_CHUNK)
            shifted = np.asarray(vectors[part], dtype=np.float32) - self._shift
            index.add_with_ids(np.ascontiguousarray(shifted), np.ascontiguousarray(ids[part]))

    def _trained_ivf(self, vectors: NDArray[Any]) -> faiss.IndexIVF:
        """An empty IVF index trained on a sample of ``vectors``; sets the shift it stores."""
        n = len(vectors)
        nlist = min(self.nlist or default_nlist(n), n)
        # index_factory gives the IVF ownership of its quantizer; with the inner-product metric
        # FAISS trains it with spherical k-means (unit-norm centroids).
        ivf = faiss.index_factory(self.dim, f"IVF{nlist},Flat", faiss.METRIC_INNER_PRODUCT)
        assert isinstance(ivf, faiss.IndexIVF)
        cp = ivf.cp
        cp.niter = TRAIN_ITERATIONS
        cp.seed = self.seed
        cp.min_points_per_centroid = 1  # the sample is sized below; no warning about it
        cp.max_points_per_centroid = TRAIN_PER_LIST
        self.nlist = nlist
        sample_size = min(n, TRAIN_PER_LIST * nlist)
        rng = np.random.default_rng(self.seed)
        sample = np.asarray(
            vectors[np.sort(rng.choice(n, size=sample_size, replace=False))], dtype=np.float32
        )
        shift: NDArray[np.float32] = sample.mean(axis=0, dtype=np.float64).astype(np.float32)
        ivf.train(np.ascontiguousarray(sample - shift))
        ivf.nprobe = self._nprobe
        self._shift = shift
        return ivf

    def _convert_to_ivf(self) -> None:
        """Move every vector from the exact index into a freshly trained IVF index."""
        assert isinstance(self._index, faiss.IndexIDMap)
        id_map = faiss.vector_to_array(self._index.id_map).astype(np.int64)
        flat = faiss.downcast_index(self._index.index)
        # A view of the flat index's storage: no second copy of the vectors is made.
        xb = faiss.rev_swig_ptr(cast(Any, flat).get_xb(), len(id_map) * self.dim)
        vectors = xb.reshape(-1, self.dim)
        ivf = self._trained_ivf(vectors)
        self._fill(ivf, id_map, vectors)
        self._index = ivf

    # -- building an approximate index beside this one ----------------------------------------

    def snapshot(self) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """A copy of every id and vector (exact index only), and from this instant on a journal
        of every change, so an index built from the copy can catch up (:meth:`hand_over`).

        Safe to call from another thread than the one changing the index: changes wait for
        the copy (about a second per million 512-d vectors), searches do not.
        """
        with self._mutex:
            index = self._index
            if not isinstance(index, faiss.IndexIDMap):
                raise ValueError("only an exact index can be copied")
            ids = faiss.vector_to_array(index.id_map).astype(np.int64)
            flat = faiss.downcast_index(index.index)
            xb = faiss.rev_swig_ptr(cast(Any, flat).get_xb(), len(ids) * self.dim)
            vectors = np.array(xb, dtype=np.float32).reshape(-1, self.dim)
            self._journal = []
            return ids, vectors

    def drop_journal(self) -> None:
        """Stop recording changes (the index built from the snapshot is not used)."""
        with self._mutex:
            self._journal = None

    def hand_over(self, successor: DenseIndex) -> int:
        """Replay onto ``successor`` (built from :meth:`snapshot`) every change made here since,
        and send every later change to it; returns how many changes were replayed. The caller
        then puts ``successor`` in this index's place."""
        with self._mutex:
            journal = self._journal or []
            for op, ids, vectors in journal:
                if op == "add":
                    assert vectors is not None
                    successor.add(ids, vectors)
                else:
                    successor.remove(ids)
            self._journal = None
            self._successor = successor
            return len(journal)

    # -- searching --------------------------------------------------------------------------

    def search(
        self, query: NDArray[np.float32], k: int
    ) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """Top ``k`` ids and cosine scores for one normalised query vector."""
        k = min(k, len(self))
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        x = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        if self.search_threads is None:
            scores, ids = self._index.search(x, k)
        else:
            before = faiss.omp_get_max_threads()
            faiss.omp_set_num_threads(self.search_threads)
            try:
                scores, ids = self._index.search(x, k)
            finally:
                faiss.omp_set_num_threads(before)
        keep = ids[0] >= 0
        found = scores[0][keep].astype(np.float32)
        if self._shift is not None:
            found += np.float32(np.dot(x[0], self._shift))
        return ids[0][keep].astype(np.int64), found

    def search_batch(
        self, queries: NDArray[np.float32], k: int
    ) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """Top ``k`` ids and scores for each row of ``queries`` (missing results are -1)."""
        k = min(k, len(self))
        if k <= 0 or len(queries) == 0:
            return (
                np.zeros((len(queries), 0), dtype=np.int64),
                np.zeros((len(queries), 0), dtype=np.float32),
            )
        x = np.ascontiguousarray(queries, dtype=np.float32)
        scores, ids = self._index.search(x, k)
        scores = scores.astype(np.float32)
        if self._shift is not None:
            scores += (x @ self._shift)[:, None]
        return ids.astype(np.int64), scores

    # -- persistence ------------------------------------------------------------------------

    def save(self, path: Path, watermark: int) -> None:
        """Write the index and a manifest; the manifest is written last so a torn save is detected."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        faiss.write_index(self._index, str(tmp))
        tmp.replace(path)
        manifest: dict[str, object] = {
            "model_id": self.model_id,
            "dim": self.dim,
            "count": len(self),
            "watermark": watermark,
            "kind": self.kind,
            "max_id": self._max_id,
        }
        if isinstance(self._index, faiss.IndexIVF):
            manifest["nlist"] = int(self._index.nlist)
            manifest["nprobe"] = self._nprobe
        if self._shift is not None:
            manifest["shift"] = [float(v) for v in self._shift]
        if self.recall is not None:
            manifest["recall"] = asdict(self.recall)
        manifest_path = path.with_suffix(".json")
        manifest_path.with_suffix(".json.tmp").write_text(json.dumps(manifest))
        manifest_path.with_suffix(".json.tmp").replace(manifest_path)

    @classmethod
    def load(
        cls,
        path: Path,
        model_id: str,
        count: int,
        watermark: int,
        *,
        approximate_above: int | None = None,
    ) -> DenseIndex | None:
        """Load a saved index if it was built by ``model_id`` and matches the stored vectors."""
        manifest_path = path.with_suffix(".json")
        if not path.exists() or not manifest_path.exists():
            return None
        try:
            manifest = json.loads(manifest_path.read_text())
        except (OSError, ValueError):
            return None
        if (manifest.get("model_id"), manifest.get("count"), manifest.get("watermark")) != (
            model_id,
            count,
            watermark,
        ):
            return None
        try:
            index = faiss.read_index(str(path))
        except RuntimeError:  # a truncated or foreign file
            return None
        # Manifests written before the approximate mode existed have no kind: they are exact.
        kind = IVF if isinstance(index, faiss.IndexIVF) else EXACT
        if manifest.get("kind", EXACT) != kind or int(index.d) != int(manifest["dim"]):
            return None
        dense = cls(
            int(manifest["dim"]),
            model_id,
            approximate_above=approximate_above,
            nprobe=int(manifest.get("nprobe", DEFAULT_NPROBE)),
        )
        dense._index = index
        if isinstance(index, faiss.IndexIVF):
            dense.nlist = int(index.nlist)
            index.nprobe = dense.nprobe
            shift = manifest.get("shift")
            if shift is not None:
                if len(shift) != dense.dim:
                    return None
                dense._shift = np.asarray(shift, dtype=np.float32)
        if len(dense) != count:
            return None
        dense.recall = Recall.from_json(manifest.get("recall"))
        max_id = manifest.get("max_id")
        dense._max_id = int(max_id) if max_id is not None else dense._stored_max_id()
        return dense

    def _stored_max_id(self) -> int | None:
        """The highest id in the index, read from the index itself (O(n), only after load)."""
        if len(self) == 0:
            return None
        index = self._index
        if isinstance(index, faiss.IndexIVF):
            invlists = index.invlists
            assert invlists is not None
            top = -1
            for list_no in range(index.nlist):
                size = invlists.list_size(list_no)
                if size:
                    ids = faiss.rev_swig_ptr(invlists.get_ids(list_no), size)
                    top = max(top, int(ids.max()))
            return top
        assert isinstance(index, faiss.IndexIDMap)
        return int(faiss.vector_to_array(index.id_map).max())


# -- how much of the exact answer the approximate index keeps ----------------------------------

# Queries measured when an approximate index is built, and the depths their recall is read at:
# 10 and 50 (the figures FAISS users compare), and 1000, the passages routing reads per call
# (RankingWeights.dense_candidates).
RECALL_QUERIES = 200
RECALL_KS = (10, 50, 1000)
# The share of the exact top this many owners (people) that the approximate search keeps.
RECALL_PEOPLE = 10


@dataclass(frozen=True)
class Recall:
    """Recall of an approximate index against exact search, measured when it was built.

    ``at`` holds (k, recall@k of the ids) pairs; ``people_kept`` the mean share of the exact
    search's first ``RECALL_PEOPLE`` distinct owners of the top ids that the approximate
    search also finds (None when owners were not given)."""

    queries: int
    nprobe: int
    at: tuple[tuple[int, float], ...]
    people_kept: float | None
    built_at: float  # epoch seconds
    build_seconds: float

    def summary(self) -> dict[str, object]:
        """The figures as ``/api/health`` shows them."""
        out: dict[str, object] = {"queries": self.queries, "nprobe": self.nprobe}
        out.update({f"recall_at_{k}": value for k, value in self.at})
        out["people_top10_kept"] = self.people_kept
        out["build_seconds"] = self.build_seconds
        return out

    @classmethod
    def from_json(cls, raw: object) -> Recall | None:
        if not isinstance(raw, dict):
            return None
        try:
            return cls(
                queries=int(raw["queries"]),
                nprobe=int(raw["nprobe"]),
                at=tuple((int(k), float(v)) for k, v in raw["at"]),
                people_kept=None if raw["people_kept"] is None else float(raw["people_kept"]),
                built_at=float(raw["built_at"]),
                build_seconds=float(raw["build_seconds"]),
            )
        except (KeyError, TypeError, ValueError):
            return None


def _first_owners(
    ids: Sequence[int], owner: Callable[[int], Hashable | None], n: int
) -> list[Hashable]:
    seen: dict[Hashable, None] = {}
    for vector_id in ids:
        who = owner(vector_id)
        if who is not None and who not in seen:
            seen[who] = None
            if len(seen) == n:
                break
    return list(seen)


def measure_recall(
    approx: DenseIndex,
    ids: NDArray[np.int64],
    vectors: NDArray[np.float32],
    *,
    queries: int = RECALL_QUERIES,
    ks: Sequence[int] = RECALL_KS,
    seed: int = 0,
    owner: Callable[[int], Hashable | None] | None = None,
    build_seconds: float = 0.0,
) -> Recall:
    """Recall@k of ``approx`` against an exact scan of ``vectors`` (the ones it was built
    from), for a seeded sample of the stored vectors as queries; with ``owner`` (id to
    person), the share of the exact top people kept too.

    Stored vectors stand in for queries because real queries are not stored and are
    distributed like the passages they are asked about. The exact answer is a brute-force
    scan of the copy (``faiss.knn``), never a search of the live index, which may be changing
    on another thread. Costs one exact scan per query: about 10 s for 200 queries at a
    million 512-d vectors on one core.
    """
    n = len(ids)
    if n == 0:
        return Recall(0, approx.nprobe, (), None, time.time(), build_seconds)
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(n, size=min(queries, n), replace=False))
    xq = np.ascontiguousarray(vectors[rows], dtype=np.float32)
    depth = min(max(ks), n)
    _, exact_rows = faiss.knn(xq, vectors, depth, metric=faiss.METRIC_INNER_PRODUCT)
    exact_ids = ids[exact_rows]
    found_ids, _ = approx.search_batch(xq, depth)
    at = []
    for k in sorted({min(k, n) for k in ks}):
        hits = [
            len(set(f[:k].tolist()) & set(e[:k].tolist())) / k
            for f, e in zip(found_ids, exact_ids, strict=True)
        ]
        at.append((k, round(float(np.mean(hits)), 4)))
    people_kept: float | None = None
    if owner is not None:
        kept = []
        for f, e in zip(found_ids, exact_ids, strict=True):
            expected = _first_owners(e.tolist(), owner, RECALL_PEOPLE)
            if expected:
                got = set(_first_owners(f.tolist(), owner, RECALL_PEOPLE))
                kept.append(len(got.intersection(expected)) / len(expected))
        people_kept = round(float(np.mean(kept)), 4) if kept else None
    return Recall(len(rows), approx.nprobe, tuple(at), people_kept, time.time(), build_seconds)


def approximate_copy(
    exact: DenseIndex,
    *,
    nprobe: int = DEFAULT_NPROBE,
    owner: Callable[[int], Hashable | None] | None = None,
    threads: int | None = None,
    seed: int = 0,
) -> DenseIndex:
    """An IVF index over a copy of ``exact``'s vectors, with its recall measured.

    Meant for a background thread while ``exact`` keeps serving: ``exact`` journals the
    changes made to it from the moment of the copy, and :meth:`DenseIndex.hand_over` replays
    them onto the result before it takes ``exact``'s place. ``threads`` caps FAISS's threads
    on the calling thread for the build (None: FAISS's default, every core).
    """
    before = faiss.omp_get_max_threads()
    if threads is not None:
        faiss.omp_set_num_threads(threads)
    try:
        started = time.perf_counter()
        ids, vectors = exact.snapshot()
        try:
            approx = DenseIndex.build(
                exact.model_id, ids, vectors, approximate_above=0, nprobe=nprobe, seed=seed
            )
            seconds = round(time.perf_counter() - started, 1)
            approx.recall = measure_recall(
                approx, ids, vectors, seed=seed, owner=owner, build_seconds=seconds
            )
        except BaseException:
            exact.drop_journal()
            raise
        return approx
    finally:
        faiss.omp_set_num_threads(before)
