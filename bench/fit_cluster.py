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

A configuration (feature set, regularisation C, whether each set weighs the same in the
fit, a shift of the bias) is judged by 3-fold cross-validation inside the tune half, split by
a hash of the event id: the weights of fold k are fitted on pairs whose two events are both
outside fold k, every batch is clustered whole (the whole pipeline: edge threshold, average
linkage), and the pairs of fold k's events are counted (a wrong merge across folds counts
half to each). The configuration with the best mean pairwise F1 over the fitted sets, cut to
titles, wins if no fitted set's F1 falls below that of the HEADLINE weights the pairs used
before; the uncut sets are scored too (they should not move). The weights printed last are
fitted on all the tune pairs with it; paste them into MIXED in digest/cluster.py (there
`same_source` was then set by hand to FULL's -0.52: the fit's +0.48 came from five
Giveme5W1H pairs, and the cross-validated F1 is the same either way).

    python bench/fit_cluster.py [--corpus PATH]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections import Counter
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
STRENGTHS = (1.0, 10.0)  # scikit-learn's C (inverse L2 strength)
SHIFTS = (0.0, 0.5, 1.0)  # added to the fitted bias (recall for precision)
Weights = Mapping[str, float]
Counts = list[list[float]]  # per fold: [tp, fp, fn]


@dataclass(frozen=True)
class Pair:
    """One candidate pair of a headline-only item and an item with a body."""

    features: Mapping[str, float]
    same: bool  # one event
    set: str  # the shared set it comes from
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


def mixed_pairs(name: str, batches: Sequence[Prepared]) -> list[Pair]:
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
            pairs.append(Pair(values, a == b, name, frozenset({fold_of(a), fold_of(b)})))
    return pairs


@dataclass(frozen=True)
class Config:
    """One candidate fit: features, scikit-learn's C, whether each set weighs the same in
    the fit (AllSides gives seven times the pairs of Giveme5W1H), and a shift of the bias."""

    features: str
    strength: float
    balanced: bool
    shift: float

    def __str__(self) -> str:
        balance = " balanced" if self.balanced else ""
        return f"{self.features} C={self.strength:g}{balance} shift={self.shift:+g}"


CONFIGS = [
    Config(features, strength, balanced, shift)
    for features in FEATURES
    for strength in STRENGTHS
    for balanced in (False, True)
    for shift in SHIFTS
]


def fit(pairs: Sequence[Pair], config: Config) -> dict[str, float]:
    """Logistic weights (bias first, "far" fixed at FAR), rounded."""
    names = FEATURES[config.features]
    near = [pair for pair in pairs if pair.features["far"] == 0.0]
    x = np.array([[pair.features[name] for name in names] for pair in near])
    y = np.array([pair.same for pair in near])
    per_set = Counter(pair.set for pair in near)
    weight = np.array([len(near) / per_set[p.set] if config.balanced else 1.0 for p in near])
    model = LogisticRegression(C=config.strength, max_iter=1000)
    model.fit(x, y, sample_weight=weight / weight.mean())
    weights = {"bias": round(float(model.intercept_[0]) + config.shift, 2)}
    weights |= {name: round(float(w), 2) for name, w in zip(names, model.coef_[0], strict=True)}
    return weights | {"far": FAR}


def fold_weights(pairs: Sequence[Pair], config: Config) -> list[Weights]:
    """Per fold k, the weights fitted on the pairs whose events are both outside fold k."""
    return [fit([p for p in pairs if k not in p.folds], config) for k in range(FOLDS)]


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


def no_worse(
    result: Mapping[str, Mapping[str, float]], base: Mapping[str, Mapping[str, float]]
) -> bool:
    """Whether no fitted set's F1 falls below the baseline's."""
    return all(result[name]["f1"] >= base[name]["f1"] for name in FITTED)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        print(f"no corpus at {args.corpus}")
        return 1
    uncut = {name: prepare(REAL_SETS[name](args.corpus, "tune")) for name in CUT_SETS}
    cut = {name: prepare(cut_to_titles(REAL_SETS[name](args.corpus, "tune"))) for name in CUT_SETS}
    pairs = [pair for name in FITTED for pair in mixed_pairs(name, cut[name])]
    print(f"mixed pairs (tune, cut): {len(pairs)}, same event: {sum(p.same for p in pairs)}")
    print("pairwise P/R/F1, 3-fold CV inside the tune half")
    baseline = pooled(cut, clusterer.HEADLINE)
    print(line("cut, MIXED = HEADLINE", baseline))
    best: Config | None = None
    best_f1 = mean_f1(baseline)
    for config in CONFIGS:
        result = cross_validated(cut, fold_weights(pairs, config))
        print(line(f"cut, {config}", result), flush=True)
        if mean_f1(result) > best_f1 and no_worse(result, baseline):
            best, best_f1 = config, mean_f1(result)
    if best is None:
        print("no fitted MIXED weights beat HEADLINE on every set: keep MIXED = HEADLINE")
        return 0
    print(line("uncut, MIXED = HEADLINE", pooled(uncut, clusterer.HEADLINE)))
    print(line(f"uncut, {best}", cross_validated(uncut, fold_weights(pairs, best))))
    weights = fit(pairs, best)
    print(line("in sample, cut, fitted", pooled(cut, weights)))
    print(line("in sample, uncut, fitted", pooled(uncut, weights)))
    print(f"chosen: {best}\nMIXED = {weights}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
