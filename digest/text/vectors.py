"""Sparse TF-IDF vectors and their cosine: how alike two texts are in what they say.

A `Vector` maps terms to weights and carries its norm, computed once, so comparing one
vector with many stays cheap. Terms are whatever the caller counts (content words, names,
kind-prefixed tokens); the weighting is the caller's choice too:

* `tfidf`: raw term counts times an IDF table (a term not in the table weighs `default`);
* `log_tfidf`: (1 + log count) times an IDF function, for counts that should saturate;
* `smooth_idf`: log((1 + n) / (1 + df)) + 1 over n documents, never zero;
* `batch_idf`: log(1 + n / df), for a batch where n is a floor on the batch size.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Vector", "batch_idf", "log_tfidf", "smooth_idf", "tfidf", "total"]


@dataclass(frozen=True)
class Vector:
    """Sparse term weights with their Euclidean norm."""

    weights: Mapping[str, float]
    norm: float

    @classmethod
    def of(cls, weights: Mapping[str, float]) -> Vector:
        """A vector of `weights`, its norm computed once."""
        return cls(weights, math.sqrt(sum(w * w for w in weights.values())))

    def __bool__(self) -> bool:
        return bool(self.weights)

    def cosine(self, other: Vector) -> float:
        """Cosine similarity, at most 1; 0 when either vector is empty."""
        small, large = sorted((self.weights, other.weights), key=len)
        dot = sum(weight * large[term] for term, weight in small.items() if term in large)
        return min(1.0, dot / (self.norm * other.norm)) if dot else 0.0


def tfidf(terms: Iterable[str], idf: Mapping[str, float], default: float = 1.0) -> Vector:
    """Term counts weighted by `idf` (`default` for terms not in it)."""
    return Vector.of({t: n * idf.get(t, default) for t, n in Counter(terms).items()})


def log_tfidf(counts: Mapping[str, int], idf: Callable[[str], float]) -> Vector:
    """Counts damped as 1 + log(count), weighted by `idf(term)`."""
    return Vector.of({t: (1.0 + math.log(n)) * idf(t) for t, n in counts.items()})


def smooth_idf(documents: Sequence[Iterable[str]]) -> dict[str, float]:
    """Smoothed inverse document frequency: a term in every document still weighs 1."""
    counts: Counter[str] = Counter()
    for document in documents:
        counts.update(set(document))
    n = len(documents)
    return {term: math.log((1 + n) / (1 + df)) + 1.0 for term, df in counts.items()}


def batch_idf(documents: int, frequency: int) -> float:
    """log(1 + documents / frequency), a frequency below 1 counting as 1."""
    return math.log(1.0 + documents / max(1, frequency))


def total(vectors: Iterable[Vector]) -> Vector:
    """The sum of vectors: a whole text as one vector."""
    weights: dict[str, float] = {}
    for vector in vectors:
        for term, weight in vector.weights.items():
            weights[term] = weights.get(term, 0.0) + weight
    return Vector.of(weights)
