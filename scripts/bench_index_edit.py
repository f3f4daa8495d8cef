"""What an edited post costs the running index: replay in place vs. a full rebuild.

An edit removes the post's passages from FAISS (IndexIDMap2: remove_ids scans the id map) and
adds the new ones; bm25s keeps a precomputed score matrix whose idf and average length depend
on the whole corpus, so its lexical part is rebuilt (lazily, at the next search) instead of
updated. This measures both against building the index from the stored vectors, on a
synthetic corpus, and prints the ratios.

    python scripts/bench_index_edit.py --docs 10000 100000
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from indexer.expertise import Document, ExpertiseIndex, Passage
from indexer.lexical import DELTA_MAX

DIM = 384
WORDS = [f"w{i}" for i in range(20_000)]


class RandomEmbedder:
    """Unit vectors from a seeded generator: the cost of the index, not of a model (also
    used by bench_sync.py)."""

    model_id = "bench-random"

    def __init__(self, dim: int = DIM) -> None:
        self.dim = dim
        self._rng = np.random.default_rng(0)

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        v = self._rng.standard_normal((len(texts), self.dim)).astype(np.float32)
        out: NDArray[np.float32] = v / np.linalg.norm(v, axis=1, keepdims=True)
        return out


def corpus(n: int) -> list[Document]:
    r = random.Random(1)
    return [
        Document(
            doc_id=i,
            person=str(i % 500),
            title=" ".join(r.choices(WORDS, k=6)),
            body=" ".join(r.choices(WORDS, k=80)),
        )
        for i in range(1, n + 1)
    ]


def build(
    embedder: RandomEmbedder, docs: list[Document], vectors: NDArray[np.float32]
) -> ExpertiseIndex:
    index = ExpertiseIndex(embedder)
    passages = [Passage(vector_id=d.doc_id, doc_id=d.doc_id, text=d.text) for d in docs]
    index.add(docs, passages, vectors)
    index.search("w1 w2 w3", k=5, query_vector=vectors[0])  # the lexical part is built lazily
    return index


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    embedder = RandomEmbedder()
    for n in args.docs:
        docs = corpus(n)
        vectors = embedder.encode([""] * n)
        t0 = time.perf_counter()
        index = build(embedder, docs, vectors)
        rebuild = time.perf_counter() - t0

        edited = Document(doc_id=n, person="0", title="edited", body="hovercraft rokken")
        new_id = n + 1
        t0 = time.perf_counter()
        index.remove([n])
        new_vector = embedder.encode(["x"])
        index.add([edited], [Passage(new_id, n, edited.text)], new_vector)
        dense_part = time.perf_counter() - t0
        t0 = time.perf_counter()
        found = index.search("hovercraft", k=1, query_vector=new_vector[0])
        lexical_part = time.perf_counter() - t0
        assert found and found[0].person == "0"
        replay = dense_part + lexical_part
        print(
            f"{n:>8} docs: full rebuild {rebuild:.2f} s; edit replay {replay:.3f} s "
            f"(FAISS remove/add {dense_part * 1000:.1f} ms, BM25 delta + search "
            f"{lexical_part:.3f} s) = {replay / rebuild:.4f} of a rebuild"
        )
        # The price of the delta: a query while DELTA_MAX documents wait for the next rebuild.
        more = corpus(DELTA_MAX)
        index.lexical.add((n + 10 + d.doc_id, d.text) for d in more[: DELTA_MAX - 2])
        t0 = time.perf_counter()
        index.lexical.search("w1 w2 w3 w4 w5", 1000)
        full_delta = time.perf_counter() - t0
        print(
            f"{'':>8}       a lexical query with a full delta ({DELTA_MAX} docs): {full_delta * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
