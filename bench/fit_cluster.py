"""Fit the clusterer's MIXED weights: pairs where exactly one item is headline-only.

A headline-only entry (its page failed or is paywalled; the feed gave only a title) paired
with a full text used to be scored with the HEADLINE weights, fitted on pairs of two
headlines. Here the tune half of the shared sets with bodies (AllSides leads, Giveme5W1H
full texts; bench/eval_cluster.py loads them, the held-out half is never read) has a
deterministic third of its items cut to their titles (`cut_to_titles`), and a logistic
regression (scikit-learn) is fitted on the signals of the candidate pairs (`_candidates`
and embedding neighbours, as `group` scores them) that hold one cut item and one uncut
item. "far" is not fitted (few pairs are dated far apart): it keeps FAR, as in FULL and
HEADLINE, and pairs with a date gap are left out of the fit.

The configuration (feature set, regularisation C) is chosen by 3-fold cross-validation
inside the tune half, split by a hash of the event id: the weights of fold k are fitted on
pairs whose two events are both outside fold k, every batch is clustered whole (the whole
pipeline: edge threshold, average linkage), and the pairs of fold k's events are counted
(a wrong merge across folds counts half to each). The configuration with the best mean
pairwise F1 over the fitted sets, cut to titles, wins; it must not lower F1 on the uncut
sets. The weights printed last are fitted on all the tune pairs with it; paste them into
MIXED in digest/cluster.py.

    python bench/fit_cluster.py [--corpus PATH]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import digest.cluster as clusterer
from bench.eval_cluster import (
    CORPUS,
    CUT_SETS,
    EMBED_CACHE,
    REAL_SETS,
    Batch,
    cut_to_titles,
    scores,
    to_item,
    vectors_of,
)
from digest import embed
from digest.cluster import Item

FOLDS = 3
FITTED = ("allsides", "g5w")  # allsides-news is a subset of allsides: scored, not fitted
FAR = -8.0  # the weight of "far" (1 - the date factor), as in FULL and HEADLINE
FEATURES: dict[str, tuple[str, ...]] = {
    "headline": ("semantic", "title", "names", "other_figures", "nothing_shared", "same_source"),
    "with-lead": (
        *("semantic", "title", "lead", "names", "numbers"),
        *("other_figures", "nothing_shared", "same_source"),
    ),
}
STRENGTHS = (0.1, 1.0, 10.0)  # scikit-learn's C (inverse L2 strength)
Weights = Mapping[str, float]
Counts = list[list[float]]  # per fold: [tp, fp, fn]


@dataclass(frozen=True)
class Pair:
    """One candidate pair of a headline-only item and an item with a body."""

    features: Mapping[str, float]
    same: bool  # one event
    folds: frozenset[int]  # the folds of the two events


@dataclass(frozen=True)
class Prepared:
    """One batch, read once: rows, items and their vectors."""

    rows: Batch
    items: list[Item]
    vectors: embed.Vectors


def fold_of(story: str) -> int:
    """The cross-validation fold of an event, fixed by a hash of its id."""
    return hashlib.sha256(f"fold:{story}".encode()).digest()[0] % FOLDS


def prepare(batches: Sequence[Batch]) -> list[Prepared]:
    """Items and vectors of each batch (the vectors through the bench's cache)."""
    out = []
    for rows in batches:
        items = [to_item(row) for row in rows]
        out.append(Prepared(rows, items, vectors_of(items, EMBED_CACHE)))
    return out


def mixed_pairs(batches: Sequence[Prepared]) -> list[Pair]:
    """The candidate pairs `group` would score that hold exactly one headline-only item."""
    pairs = []
    for batch in batches:
        scorer = clusterer._Scorer(batch.items, batch.vectors)
        profiles = scorer.batch.profiles
        candidates = {
            *clusterer._candidates(profiles, scorer.batch),
            *clusterer._neighbours(scorer.vectors),
        }
        for i, j in sorted(candidates):
            if clusterer._headlines(profiles[i], profiles[j]) != 1:
                continue
            a, b = str(batch.rows[i]["story"]), str(batch.rows[j]["story"])
            values = clusterer._features(scorer.signals(i, j), profiles[i], profiles[j])
            pairs.append(Pair(values, a == b, frozenset({fold_of(a), fold_of(b)})))
    return pairs


def fit(pairs: Sequence[Pair], names: Sequence[str], strength: float) -> dict[str, float]:
    """Logistic weights over `names` (bias first, "far" fixed at FAR), rounded."""
    near = [pair for pair in pairs if pair.features["far"] == 0.0]
    x = np.array([[pair.features[name] for name in names] for pair in near])
    y = np.array([pair.same for pair in near])
    model = LogisticRegression(C=strength, max_iter=1000).fit(x, y)
    weights = {"bias": round(float(model.intercept_[0]), 2)}
    weights |= {name: round(float(w), 2) for name, w in zip(names, model.coef_[0], strict=True)}
    return weights | {"far": FAR}


def fold_weights(pairs: Sequence[Pair], names: Sequence[str], strength: float) -> list[Weights]:
    """Per fold k, the weights fitted on the pairs whose events are both outside fold k."""
    return [fit([p for p in pairs if k not in p.folds], names, strength) for k in range(FOLDS)]


@contextmanager
def mixed_weights(weights: Weights) -> Iterator[None]:
    """The clusterer with these MIXED weights, for the duration of the block."""
    saved = clusterer.MIXED
    setattr(clusterer, "MIXED", weights)  # noqa: B010 (a Final constant, swapped on purpose)
    try:
        yield
    finally:
        setattr(clusterer, "MIXED", saved)  # noqa: B010


def fold_counts(batches: Sequence[Prepared]) -> Counts:
    """Cluster each batch whole; [tp, fp, fn] per fold of the events (a wrong merge of
    two events of different folds counts half to each)."""
    counts = [[0.0, 0.0, 0.0] for _ in range(FOLDS)]
    for batch in batches:
        labels = [str(row["story"]) for row in batch.rows]
        where = {
            i: n for n, g in enumerate(clusterer.cluster(batch.items, batch.vectors)) for i in g
        }
        for i, j in combinations(range(len(labels)), 2):
            a, b = fold_of(labels[i]), fold_of(labels[j])
            together = where[i] == where[j]
            if labels[i] == labels[j]:
                counts[a][0 if together else 2] += 1
            elif together:
                counts[a][1] += 0.5
                counts[b][1] += 0.5
    return counts


def cross_validated(
    sets: Mapping[str, list[Prepared]], per_fold: Sequence[Weights]
) -> dict[str, dict[str, float]]:
    """Per set, pairwise P/R/F1 summed over the folds, fold k clustered with per_fold[k]."""
    out = {}
    for name, batches in sets.items():
        total = [0.0, 0.0, 0.0]
        for k, weights in enumerate(per_fold):
            with mixed_weights(weights):
                counts = fold_counts(batches)[k]
            total = [t + c for t, c in zip(total, counts, strict=True)]
        out[name] = scores(*total)  # type: ignore[arg-type]
    return out


def pooled(sets: Mapping[str, list[Prepared]], weights: Weights) -> dict[str, dict[str, float]]:
    """Per set, pairwise P/R/F1 with one set of MIXED weights (clustered once)."""
    out = {}
    for name, batches in sets.items():
        with mixed_weights(weights):
            counts = fold_counts(batches)
        out[name] = scores(*(sum(fold[n] for fold in counts) for n in range(3)))  # type: ignore[arg-type]
    return out


def line(label: str, result: Mapping[str, Mapping[str, float]]) -> str:
    """One row: P/R/F1 per set."""
    cells = [f"{n} {r['precision']:.3f}/{r['recall']:.3f}/{r['f1']:.3f}" for n, r in result.items()]
    return f"{label:<28} " + " | ".join(cells)


def mean_f1(result: Mapping[str, Mapping[str, float]]) -> float:
    return sum(result[name]["f1"] for name in FITTED) / len(FITTED)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        print(f"no corpus at {args.corpus}")
        return 1
    uncut = {name: prepare(REAL_SETS[name](args.corpus, "tune")) for name in CUT_SETS}
    cut = {name: prepare(cut_to_titles(REAL_SETS[name](args.corpus, "tune"))) for name in CUT_SETS}
    pairs = [pair for name in FITTED for pair in mixed_pairs(cut[name])]
    print(f"mixed pairs (tune, cut): {len(pairs)}, same event: {sum(p.same for p in pairs)}")
    print("pairwise P/R/F1, 3-fold CV inside the tune half")
    baseline = pooled(cut, clusterer.HEADLINE)
    print(line("cut, MIXED = HEADLINE", baseline))
    best, best_f1 = ("HEADLINE", 0.0), mean_f1(baseline)
    for features, names in FEATURES.items():
        for strength in STRENGTHS:
            result = cross_validated(cut, fold_weights(pairs, names, strength))
            print(line(f"cut, {features} C={strength:g}", result), flush=True)
            if mean_f1(result) > best_f1:
                best, best_f1 = (features, strength), mean_f1(result)
    if best[0] == "HEADLINE":
        print("no fitted MIXED weights beat HEADLINE: keep MIXED = HEADLINE")
        return 0
    names, strength = FEATURES[best[0]], float(best[1])
    print(line("uncut, MIXED = HEADLINE", pooled(uncut, clusterer.HEADLINE)))
    chosen = cross_validated(uncut, fold_weights(pairs, names, strength))
    print(line(f"uncut, {best[0]} C={strength:g}", chosen))
    weights = fit(pairs, names, strength)
    print(line("in sample, cut, fitted", pooled(cut, weights)))
    print(line("in sample, uncut, fitted", pooled(uncut, weights)))
    print(f"chosen: {best[0]} C={strength:g}\nMIXED = {weights}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
