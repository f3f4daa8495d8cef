"""The FAISS vector store: exact inner-product search with stable ids, persisted to disk."""

from __future__ import annotations

import json
from pathlib import Path

import faiss
import numpy as np
from numpy.typing import NDArray


class DenseIndex:
    """Passage vectors keyed by int64 ids (the database's embedding ids).

    ``IndexIDMap2`` over a flat inner-product index: exact, supports remove, and the ids survive
    a save/load, so the index can be checked against the database by count and watermark.
    """

    def __init__(self, dim: int, model_id: str) -> None:
        self.dim = dim
        self.model_id = model_id
        self._index: faiss.Index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, ids: NDArray[np.int64], vectors: NDArray[np.float32]) -> None:
        if len(ids) == 0:
            return
        if vectors.shape != (len(ids), self.dim):
            raise ValueError(
                f"expected vectors of shape ({len(ids)}, {self.dim}), got {vectors.shape}"
            )
        # Re-adding an id replaces it instead of leaving a duplicate behind.
        self.remove(ids)
        self._index.add_with_ids(
            np.ascontiguousarray(vectors, dtype=np.float32),
            np.ascontiguousarray(ids, dtype=np.int64),
        )

    def remove(self, ids: NDArray[np.int64]) -> int:
        if len(ids) == 0 or len(self) == 0:
            return 0
        selector = faiss.IDSelectorBatch(np.ascontiguousarray(ids, dtype=np.int64))
        return int(self._index.remove_ids(selector))

    def search(
        self, query: NDArray[np.float32], k: int
    ) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """Top ``k`` ids and cosine scores for one normalised query vector."""
        k = min(k, len(self))
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        scores, ids = self._index.search(query.reshape(1, -1).astype(np.float32), k)
        keep = ids[0] >= 0
        return ids[0][keep].astype(np.int64), scores[0][keep].astype(np.float32)

    def save(self, path: Path, watermark: int) -> None:
        """Write the index and a manifest; the manifest is written last so a torn save is detected."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        faiss.write_index(self._index, str(tmp))
        tmp.replace(path)
        manifest = {
            "model_id": self.model_id,
            "dim": self.dim,
            "count": len(self),
            "watermark": watermark,
        }
        manifest_path = path.with_suffix(".json")
        manifest_path.with_suffix(".json.tmp").write_text(json.dumps(manifest))
        manifest_path.with_suffix(".json.tmp").replace(manifest_path)

    @classmethod
    def load(cls, path: Path, model_id: str, count: int, watermark: int) -> DenseIndex | None:
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
        dense = cls(int(manifest["dim"]), model_id)
        dense._index = faiss.read_index(str(path))
        if len(dense) != count:
            return None
        return dense
