"""The FAISS vector store: exact and approximate (IVF) modes, replace/remove, save/load."""

from __future__ import annotations

import json
from pathlib import Path

import faiss
import numpy as np
import pytest
from numpy.typing import NDArray

from indexer.dense import DenseIndex, default_nlist

MODEL = "test-model@1"


def unit(x: NDArray[np.float32]) -> NDArray[np.float32]:
    out: NDArray[np.float32] = (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)
    return out


def random_vectors(n: int, dim: int, seed: int = 0) -> NDArray[np.float32]:
    return unit(np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32))


def clustered(
    n: int, dim: int = 32, clusters: int = 40, noise: float = 0.5, seed: int = 0
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Unit vectors around random unit centres (noise of norm about ``noise``), and the centres."""
    rng = np.random.default_rng(seed)
    centres = unit(rng.standard_normal((clusters, dim)).astype(np.float32))
    labels = rng.integers(0, clusters, n)
    spread = rng.standard_normal((n, dim)).astype(np.float32) * np.float32(noise / np.sqrt(dim))
    points = centres[labels] + spread
    return unit(points.astype(np.float32)), centres


def exact_top(
    queries: NDArray[np.float32], base: NDArray[np.float32], ids: NDArray[np.int64], k: int
) -> NDArray[np.int64]:
    sims = queries @ base.T
    result: NDArray[np.int64] = ids[np.argsort(-sims, axis=1, kind="stable")[:, :k]]
    return result


def ids_of(*values: int) -> NDArray[np.int64]:
    return np.asarray(values, dtype=np.int64)


# -- exact -------------------------------------------------------------------------------------


def test_exact_add_search_replace_remove() -> None:
    vectors = random_vectors(3, 16)
    dense = DenseIndex(16, MODEL)
    assert dense.kind == "exact" and len(dense) == 0
    assert len(dense.search(vectors[0], 5)[0]) == 0  # empty index: no results, no error

    dense.add(ids_of(1, 2, 3), vectors)
    assert len(dense) == 3
    found, scores = dense.search(vectors[1], 3)
    assert found[0] == 2 and scores[0] == pytest.approx(1.0, abs=1e-5)
    assert list(scores) == sorted(scores, reverse=True)

    # Re-adding an id replaces its vector instead of leaving a duplicate behind.
    replacement = random_vectors(1, 16, seed=9)
    dense.add(ids_of(2), replacement)
    assert len(dense) == 3
    found, _ = dense.search(replacement[0], 3)
    assert found[0] == 2
    assert sorted(found.tolist()) == [1, 2, 3]  # id 2 once, not twice

    assert dense.remove(ids_of(1, 99)) == 1
    assert len(dense) == 2
    assert 1 not in dense.search(vectors[0], 10)[0].tolist()
    assert dense.remove(ids_of()) == 0


def test_add_checks_the_shape() -> None:
    dense = DenseIndex(8, MODEL)
    with pytest.raises(ValueError, match="shape"):
        dense.add(ids_of(1, 2), random_vectors(3, 8))
    with pytest.raises(ValueError, match="shape"):
        dense.add(ids_of(1), random_vectors(1, 4))


def test_replace_below_the_highest_id_after_out_of_order_adds() -> None:
    # New ids skip the remove pass only when they are all above every stored id; an older id
    # coming back must still replace its vector.
    vectors = random_vectors(4, 8)
    dense = DenseIndex(8, MODEL)
    dense.add(ids_of(10, 11), vectors[:2])
    dense.add(ids_of(5), vectors[2:3])
    dense.add(ids_of(10), vectors[3:4])
    assert len(dense) == 3
    assert dense.search(vectors[3], 1)[0].tolist() == [10]


def test_exact_save_load_round_trip(tmp_path: Path) -> None:
    vectors = random_vectors(20, 16)
    ids = np.arange(100, 120, dtype=np.int64)
    dense = DenseIndex(16, MODEL)
    dense.add(ids, vectors)
    path = tmp_path / "index" / "dense.faiss"
    dense.save(path, watermark=119)

    manifest = json.loads(path.with_suffix(".json").read_text())
    assert manifest["kind"] == "exact" and manifest["count"] == 20

    loaded = DenseIndex.load(path, MODEL, count=20, watermark=119)
    assert loaded is not None
    assert loaded.kind == "exact" and len(loaded) == 20 and loaded.dim == 16
    for q in vectors[:5]:
        assert loaded.search(q, 5)[0].tolist() == dense.search(q, 5)[0].tolist()

    # The loaded index keeps working: replace, remove, and save again.
    loaded.add(ids_of(100), vectors[5:6])
    assert len(loaded) == 20
    loaded.remove(ids_of(101))
    loaded.save(path, watermark=119)
    again = DenseIndex.load(path, MODEL, count=19, watermark=119)
    assert again is not None and 101 not in again.search(vectors[1], 20)[0].tolist()


@pytest.mark.parametrize(
    ("model_id", "count", "watermark"),
    [("other-model@1", 20, 7), (MODEL, 19, 7), (MODEL, 20, 8)],
    ids=["model", "count", "watermark"],
)
def test_load_refuses_a_mismatched_manifest(
    tmp_path: Path, model_id: str, count: int, watermark: int
) -> None:
    dense = DenseIndex(8, MODEL)
    dense.add(np.arange(1, 21, dtype=np.int64), random_vectors(20, 8))
    path = tmp_path / "dense.faiss"
    dense.save(path, watermark=7)
    assert DenseIndex.load(path, model_id, count=count, watermark=watermark) is None
    assert DenseIndex.load(path, MODEL, count=20, watermark=7) is not None


def test_load_without_files_or_with_a_torn_save(tmp_path: Path) -> None:
    path = tmp_path / "dense.faiss"
    assert DenseIndex.load(path, MODEL, count=0, watermark=0) is None
    dense = DenseIndex(8, MODEL)
    dense.add(ids_of(1), random_vectors(1, 8))
    dense.save(path, watermark=1)
    path.with_suffix(".json").write_text("{not json")
    assert DenseIndex.load(path, MODEL, count=1, watermark=1) is None
    path.with_suffix(".json").unlink()
    assert DenseIndex.load(path, MODEL, count=1, watermark=1) is None


def test_load_accepts_a_manifest_from_before_the_approximate_mode(tmp_path: Path) -> None:
    vectors = random_vectors(5, 8)
    dense = DenseIndex(8, MODEL)
    dense.add(ids_of(1, 2, 3, 4, 5), vectors)
    path = tmp_path / "dense.faiss"
    dense.save(path, watermark=5)
    manifest_path = path.with_suffix(".json")
    manifest = json.loads(manifest_path.read_text())
    old = {key: manifest[key] for key in ("model_id", "dim", "count", "watermark")}
    manifest_path.write_text(json.dumps(old))
    loaded = DenseIndex.load(path, MODEL, count=5, watermark=5)
    assert loaded is not None and loaded.kind == "exact"
    # Without a recorded highest id it is read from the index: a re-add still replaces.
    loaded.add(ids_of(3), vectors[:1])
    assert len(loaded) == 5


def test_load_refuses_an_index_of_another_kind_than_the_manifest_says(tmp_path: Path) -> None:
    vectors, _ = clustered(600)
    ids = np.arange(1, 601, dtype=np.int64)
    path = tmp_path / "dense.faiss"
    DenseIndex.build(MODEL, ids, vectors, approximate_above=100).save(path, watermark=600)
    manifest_path = path.with_suffix(".json")
    manifest = json.loads(manifest_path.read_text())
    manifest["kind"] = "exact"
    manifest_path.write_text(json.dumps(manifest))
    assert DenseIndex.load(path, MODEL, count=600, watermark=600) is None


def test_search_threads_give_the_same_results_and_restore_faiss(tmp_path: Path) -> None:
    vectors = random_vectors(300, 16)
    ids = np.arange(1, 301, dtype=np.int64)
    one = DenseIndex(16, MODEL)
    one.add(ids, vectors)
    free = DenseIndex(16, MODEL, search_threads=None)
    free.add(ids, vectors)
    before = faiss.omp_get_max_threads()
    for q in vectors[:5]:
        assert one.search(q, 10)[0].tolist() == free.search(q, 10)[0].tolist()
    assert faiss.omp_get_max_threads() == before


# -- approximate (IVF) ---------------------------------------------------------------------------


def recall_at(found: list[NDArray[np.int64]], truth: NDArray[np.int64], k: int) -> float:
    pairs = zip(found, truth, strict=True)
    return float(np.mean([len(set(f[:k].tolist()) & set(t[:k].tolist())) / k for f, t in pairs]))


def test_build_stays_exact_up_to_the_threshold() -> None:
    vectors, _ = clustered(500)
    ids = np.arange(1, 501, dtype=np.int64)
    assert DenseIndex.build(MODEL, ids, vectors).kind == "exact"
    assert DenseIndex.build(MODEL, ids, vectors, approximate_above=500).kind == "exact"
    assert DenseIndex.build(MODEL, ids, vectors, approximate_above=499).kind == "ivf"


def test_approximate_index_finds_the_nearest_neighbours() -> None:
    vectors, _ = clustered(5000, seed=1)
    ids = np.arange(1, 5001, dtype=np.int64) * 3  # ids are not row numbers
    dense = DenseIndex.build(MODEL, ids, vectors, approximate_above=1000, nprobe=16)
    assert dense.kind == "ivf" and len(dense) == 5000
    assert dense.nlist == default_nlist(5000)
    imbalance = dense.imbalance
    assert imbalance is not None and imbalance < 2.0  # centred: no hub lists
    assert DenseIndex(8, MODEL).imbalance is None

    rng = np.random.default_rng(2)
    rows = rng.choice(5000, 100, replace=False)
    queries = unit(vectors[rows] + 0.1 * rng.standard_normal((100, 32)).astype(np.float32))
    truth = exact_top(queries, vectors, ids, 10)
    found = [dense.search(q, 10)[0] for q in queries]
    assert recall_at(found, truth, 10) >= 0.9
    # The true nearest neighbour comes first for most queries.
    assert np.mean([f[0] == t[0] for f, t in zip(found, truth, strict=True)]) >= 0.9
    # Scores are the cosine similarities (the index stores centred vectors and adds the
    # query's share of the centre back).
    for q in queries[:10]:
        found_ids, scores = dense.search(q, 5)
        rows = np.searchsorted(ids, found_ids)
        np.testing.assert_allclose(scores, vectors[rows] @ q, atol=1e-5)
    batch_ids, batch_scores = dense.search_batch(queries[:10], 5)
    for row, q in enumerate(queries[:10]):
        assert batch_ids[row].tolist() == dense.search(q, 5)[0].tolist()
        np.testing.assert_allclose(batch_scores[row], dense.search(q, 5)[1], atol=1e-5)
    # More probes never hurt; probing every list is exact.
    dense.nprobe = dense.nlist or 1
    found_all = [dense.search(q, 10)[0] for q in queries]
    assert recall_at(found_all, truth, 10) == pytest.approx(1.0)


def test_approximate_index_survives_save_load_and_remove(tmp_path: Path) -> None:
    vectors, _ = clustered(3000, seed=3)
    ids = np.arange(1, 3001, dtype=np.int64)
    dense = DenseIndex.build(MODEL, ids, vectors, approximate_above=1000, nprobe=12)
    path = tmp_path / "dense.faiss"
    dense.save(path, watermark=3000)
    manifest = json.loads(path.with_suffix(".json").read_text())
    assert manifest["kind"] == "ivf" and manifest["nprobe"] == 12

    assert DenseIndex.load(path, "other-model@1", count=3000, watermark=3000) is None
    loaded = DenseIndex.load(path, MODEL, count=3000, watermark=3000)
    assert loaded is not None
    assert loaded.kind == "ivf" and loaded.nprobe == 12 and loaded.nlist == dense.nlist
    queries = vectors[:50]
    for q in queries:
        found, scores = loaded.search(q, 10)
        assert found.tolist() == dense.search(q, 10)[0].tolist()
        np.testing.assert_allclose(scores, vectors[found - 1] @ q, atol=1e-5)

    # Remove: gone from every result; the rest are still found.
    gone = ids[:25]
    assert loaded.remove(gone) == 25
    assert len(loaded) == 2975
    for q in queries:
        assert not set(loaded.search(q, 20)[0].tolist()) & set(gone.tolist())
    truth = exact_top(vectors[25:75], vectors[25:], ids[25:], 10)
    found = [loaded.search(q, 10)[0] for q in vectors[25:75]]
    assert recall_at(found, truth, 10) >= 0.9

    # Add and replace after load: new ids are found, a re-added id is not duplicated.
    extra = random_vectors(2, 32, seed=5)
    loaded.add(ids_of(5000, 26), extra)
    assert len(loaded) == 2976
    assert loaded.search(extra[0], 1)[0].tolist() == [5000]
    assert loaded.search(extra[1], 1)[0].tolist() == [26]
    loaded.nprobe = loaded.nlist or 1
    hits = loaded.search(extra[1], 3000)[0].tolist()
    assert hits.count(26) == 1

    loaded.save(path, watermark=5000)
    again = DenseIndex.load(path, MODEL, count=2976, watermark=5000)
    assert again is not None and again.kind == "ivf" and len(again) == 2976


def test_exact_index_turns_approximate_when_it_grows_past_the_threshold() -> None:
    vectors, _ = clustered(2000, seed=4)
    ids = np.arange(1, 2001, dtype=np.int64)
    dense = DenseIndex(32, MODEL, approximate_above=1200, nprobe=16)
    for start in range(0, 2000, 500):
        dense.add(ids[start : start + 500], vectors[start : start + 500])
        assert dense.kind == ("exact" if start + 500 <= 1200 else "ivf")
    assert len(dense) == 2000
    truth = exact_top(vectors[:100], vectors, ids, 10)
    found = [dense.search(q, 10)[0] for q in vectors[:100]]
    assert recall_at(found, truth, 10) >= 0.9
    # Vectors added after the switch go to the trained lists.
    extra = random_vectors(1, 32, seed=8)
    dense.add(ids_of(3000), extra)
    dense.nprobe = dense.nlist or 1
    assert dense.search(extra[0], 1)[0].tolist() == [3000]


def test_nprobe_must_be_positive() -> None:
    dense = DenseIndex(8, MODEL)
    with pytest.raises(ValueError, match="nprobe"):
        dense.nprobe = 0
