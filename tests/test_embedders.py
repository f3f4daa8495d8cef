"""The embedding models load offline from installed packages and behave as routing needs."""

from __future__ import annotations

import numpy as np
import pytest

from indexer.chunking import chunk_text
from indexer.embedders import (
    DEFAULT_MODEL,
    MINILM_MODEL,
    Embedder,
    ModelUnavailableError,
    load_embedder,
)


def test_default_model_is_multilingual_and_cross_lingual(embedder: Embedder) -> None:
    assert embedder.model_id.startswith(DEFAULT_MODEL) and embedder.dim == 512
    vectors = embedder.encode(
        [
            "Wie weet iets van staalconstructies voor bruggen?",
            "I design steel structures for bridges.",
            "Ik bak graag zuurdesembrood.",
        ]
    )
    assert vectors.shape == (3, 512) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    # The Dutch question is closer to the English answer than to unrelated Dutch.
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.1


def test_sentence_transformers_backend_loads_minilm_offline() -> None:
    minilm = load_embedder(MINILM_MODEL)
    assert minilm.model_id == MINILM_MODEL and minilm.dim == 384
    vectors = minilm.encode(["modem firmware test", "testing router firmware", "baking bread"])
    assert vectors.shape == (3, 384)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


def test_unknown_or_missing_models_fail_clearly(tmp_path: object) -> None:
    with pytest.raises(ModelUnavailableError, match="unknown model"):
        load_embedder("gpt-17")
    with pytest.raises(ModelUnavailableError, match="offline"):
        load_embedder("st:/nonexistent/model/path")


def test_long_texts_are_chunked_not_truncated() -> None:
    words = [f"w{i}" for i in range(300)]
    chunks = chunk_text(" ".join(words), max_words=120, overlap=30)
    assert len(chunks) == 3
    assert chunks[0].split()[0] == "w0" and chunks[-1].split()[-1] == "w299"
    assert chunks[1].split()[0] == "w90"  # overlaps the previous chunk by 30 words
    assert chunk_text("   ") == [] and chunk_text("kort") == ["kort"]
