"""Fit the learned disclosure sentence score (digest/detect/learned.json) and measure it.

Positives: the wordings (statement, author and label kinds) of bench/disclosure_set.toml and
the fresh sets 1-6, minus AI-summary labels (a summary box on a human story is no disclosure
of the article; the sets disagree on them, so they are neither taught nor counted as
positives, and are reported apart). Negatives: every set's hard negatives, the template
story, and the sentences a page worker would score in human text of ../shared/corpus (read
here at run time, never copied: the 119 extraction pages, the real feeds' entries, the human
news texts the corpus tests read). A sentence is what `disclosure.learned_candidates` gives:
note regions only, a machine word outside quotes and hearsay.

    python bench/fit_disclosure.py            # fit on everything, write the weights
    python bench/fit_disclosure.py --check    # refit and compare with the shipped file
    python bench/fit_disclosure.py --loso     # leave-one-set-out table (fresh..fresh6)
    python bench/fit_disclosure.py --loso --folds 8 --at 0.94   # fresh7/8 as folds too
    python bench/fit_disclosure.py --score bench/disclosure_freshN.toml   # one set, shipped

The fold of a corpus document is a hash of its text, so each LOSO fold also has corpus
documents it never trained on; its accusations are counted on those and on the fold's
hard negatives. Deterministic: the same data and versions give the same file.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import math
import re
import sys
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import feedparser
import numpy as np
from lxml import html as lxml_html
from scipy import sparse
from sklearn.linear_model import LogisticRegression

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from a checkout, without installing
    sys.path.insert(0, str(REPO))

from bench import disclosure_pages  # noqa: E402
from digest.detect import disclosure, learned  # noqa: E402

BENCH = REPO / "bench"
CORPUS = REPO.parent / "shared" / "corpus"
OUT = REPO / "digest" / "detect" / learned.WEIGHTS
DEV = "disclosure_set.toml"
FOLDS: tuple[str, ...] = (
    "disclosure_fresh.toml",
    "disclosure_fresh2.toml",
    "disclosure_fresh3.toml",
    "disclosure_fresh4.toml",
    "disclosure_fresh5.toml",
    "disclosure_fresh6.toml",
)
TAUGHT_KINDS = ("statement", "author", "label")
BITS = 18
C = 4.0
CUES = (
    "self",
    "self_x",
    "self_more",
    "content_self",
    "content_any",
    "content_noun",
    "verb",
    "verb_x",
    "made_any",
    "made_more",
    "made_adj",
    "act",
    "means",
    "means_x",
    "ai",
    "ai_x",
    "ai_any",
    "ai_auto",
    "ai_more",
    "ai_name",
    "ai_made_en",
    "ai_made_x",
    "ai_prefix",
    "cjk_self",
    "cjk_ai",
    "cjk_made",
    "cjk_not",
    "ai_outlet",
    "translated",
    "media",
    "media_x",
    "topic",
    "topic_x",
    "not_topic",
)
HARD_WEIGHT = 3.0  # a set's hard negative counts as this many corpus sentences
PRUNE = 0.1  # smaller weights are dropped (the file stays small; LOSO measures the pruned)
MARGIN = 0.05  # the threshold's distance above the highest human sentence seen
LOSO_THRESHOLD = 0.94  # the highest held-out human score of any LOSO fold (0.889) + MARGIN
HUMAN_TEXTS = (
    "clusters/allsides-neus.jsonl",
    "clusters/giveme5w1h-news-cluster.jsonl",
    "summaries/cnndm-writers.jsonl",
    "summaries/xsum-sample.jsonl",
    "ai-text/xsum.jsonl",
    "ai-text/xsum-open-models.jsonl",
    "ai-text/more/l2r-news-rewrites.jsonl",
    "ai-text/more/xsum-claude3-gemini15.jsonl",
    "ai-text/more/xsum-gpt-4o-mini.jsonl",
)
# AI summary boxes and labels: not a disclosure of the article (see the module doc)
SUMMARY = re.compile(
    r"summar|recap|key points|takeaways|quick read|zusammen|resum|sintesi|riassun|samenvat"
    r"|sammanfatt|opsummer|tiivist|streszcz|要約|요약|摘要|总结|總結",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Doc:
    """A human document of the corpus: its source, its fold and its scored sentences."""

    source: str
    fold: int
    sentences: tuple[str, ...]  # what a worker scores (note regions)
    body: tuple[str, ...]  # the other sentences of the body (taught, never scored)


def _fold_of(text: str) -> int:
    return zlib.crc32(text.encode("utf-8")) % len(FOLDS)


def _split(segments: Sequence[disclosure.Segment]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The sentences a worker scores, and the body's other sentences with a machine word
    (stories about AI: hard negatives to learn from)."""
    scored = tuple(dict.fromkeys(c.text for c in disclosure.learned_candidates(segments)))
    body = [
        disclosure.Segment(s.text, ("body-edges",), s.prose)
        for s in segments
        if s.regions == ("body",)
    ]
    rest = dict.fromkeys(c.text for c in disclosure.learned_candidates(body))
    return scored, tuple(t for t in rest if t not in scored)


def _doc(source: str, key: str, segments: Sequence[disclosure.Segment]) -> Doc:
    return Doc(source, _fold_of(key), *_split(segments))


def feed_texts(root: Path) -> Iterator[str]:
    """The real feeds' entries as the corpus test reads them: title line, then the text."""
    for path in sorted((root / "feeds" / "real").glob("*.gz")):
        for entry in feedparser.parse(gzip.decompress(path.read_bytes())).entries[:10]:
            markup = (entry.get("content") or [{}])[0].get("value") or entry.get("summary") or ""
            try:
                body = lxml_html.fromstring(markup).text_content() if markup.strip() else ""
            except Exception:  # an entry that is not markup is read as it is
                body = markup
            yield f"{entry.get('title', '')}\n{body}"


def human_texts(root: Path) -> Iterator[str]:
    """Human news texts (title line, then the text), each once."""
    seen: set[int] = set()
    for name in HUMAN_TEXTS:
        for line in (root / name).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            text = row.get("text") or row.get("article") or row.get("document") or ""
            if name.startswith("ai-text") and row.get("label") != "human":
                continue
            key = zlib.crc32(text.encode("utf-8"))
            if isinstance(text, str) and text and key not in seen:
                seen.add(key)
                yield f"{row.get('title') or ''}\n{text}"


def corpus_docs(root: Path = CORPUS) -> list[Doc]:
    """Every human document of the corpus with the sentences a worker would score."""
    docs = []
    for page in sorted((root / "extraction" / "html").glob("*.html.gz")):
        raw = gzip.decompress(page.read_bytes())
        docs.append(_doc("page", page.name, disclosure.page_segments(raw)))
    docs += [_doc("feed", t, disclosure.text_segments(t)) for t in feed_texts(root)]
    docs += [_doc("text", t, disclosure.text_segments(t)) for t in human_texts(root)]
    return docs


def set_data(name: str) -> dict[str, list[dict[str, Any]]]:
    return disclosure_pages.load_set(BENCH / name)


def note_sentences(text: str) -> tuple[str, ...]:
    """A wording's scored sentences, read as a note (a disclaimer)."""
    segment = disclosure.Segment(text, ("disclaimer",))
    return tuple(c.text for c in disclosure.learned_candidates([segment]))


def examples(
    names: Sequence[str], docs: Sequence[Doc], hard: float = HARD_WEIGHT
) -> tuple[list[str], list[int], list[float]]:
    """Sentences, labels and weights: the sets' taught wordings and hard negatives, the
    template story, and the corpus documents' sentences."""
    texts: list[str] = []
    labels: list[int] = []
    weights: list[float] = []

    def add(items: Sequence[str], label: int, weight: float) -> None:
        texts.extend(items)
        labels.extend([label] * len(items))
        weights.extend([weight] * len(items))

    for name in names:
        data = set_data(name)
        for item in data["wording"]:
            if item["kind"] in TAUGHT_KINDS and not SUMMARY.search(item["text"]):
                add(note_sentences(item["text"]), 1, 1.0)
        for item in data["negative"]:
            add(note_sentences(item["text"]), 0, hard)
    add([disclosure_pages.HEADLINE, *disclosure_pages.STORY], 0, 1.0)
    for doc in docs:
        add(doc.sentences + doc.body, 0, 1.0)
    return texts, labels, weights


def matrix(
    texts: Sequence[str], cues: Sequence[learned.Cue], bits: int = BITS
) -> sparse.csr_matrix:
    """Rows of counts scaled to unit length, as `learned.Model.score` reads them."""
    rows, cols, values = [], [], []
    for row, text in enumerate(texts):
        counts = Counter(learned.hashed(text, bits, cues))
        norm = float(np.sqrt(sum(c * c for c in counts.values()))) or 1.0
        for col, count in sorted(counts.items()):
            rows.append(row)
            cols.append(col)
            values.append(count / norm)
    return sparse.csr_matrix((values, (rows, cols)), shape=(len(texts), 1 << bits))


def fit(
    names: Sequence[str],
    docs: Sequence[Doc],
    c: float = C,
    hard: float = HARD_WEIGHT,
    cue_names: Sequence[str] = CUES,
) -> learned.Model:
    """The logistic regression on these sets and documents (threshold 0.5 for now)."""
    texts, labels, weights = examples(names, docs, hard)
    clf = LogisticRegression(
        C=c, class_weight="balanced", solver="liblinear", random_state=0, max_iter=2000
    )
    cues = tuple(disclosure.cue_patterns(cue_names).items())
    clf.fit(matrix(texts, cues), np.array(labels), sample_weight=np.array(weights))
    coef = clf.coef_[0]
    kept = {int(i): float(coef[i]) for i in np.flatnonzero(np.abs(coef) >= PRUNE)}
    return learned.Model(BITS, float(clf.intercept_[0]), 0.5, kept, cues)


def top_score(model: learned.Model, sentences: Sequence[str]) -> float:
    return max((model.score(s) for s in sentences), default=0.0)


# --- leave one set out ------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """A generated page of a set: whether the rules alone name it, and its scored sentences."""

    id: str
    positive: bool
    summary: bool  # an AI-summary label: reported apart
    rules: bool
    sentences: tuple[str, ...]


def set_pages(name: str) -> list[Page]:
    """Every page of a set (wordings x placements, then hard negatives), read once."""
    pages = []
    for case in disclosure_pages.cases(set_data(name)):
        hit = bool(disclosure_pages.accused(case, None))
        segments = disclosure.page_segments(case.html)
        sentences = tuple(c.text for c in disclosure.learned_candidates(segments))
        summary = case.positive and bool(SUMMARY.search(case.text))
        pages.append(Page(case.id, case.positive, summary, hit, sentences))
    return pages


@cache
def _pages(name: str) -> list[Page]:
    return set_pages(name)


@dataclass(frozen=True)
class Fold:
    """One held-out set's pages and corpus documents, scored by the model that never saw
    them: the top sentence score of each."""

    name: str
    pages: list[Page]
    page_scores: list[float]
    doc_scores: list[float]
    worst: list[tuple[float, str]]  # the held-out human sentences scored highest


Scorer = Callable[[Sequence[str]], list[float]]
Fitter = Callable[[Sequence[str], Sequence[Doc]], Scorer]


def hashed_fitter(c: float = C, hard: float = HARD_WEIGHT, cues: Sequence[str] = CUES) -> Fitter:
    """The shipped kind of model: a linear one over hashed n-grams."""

    def fitter(names: Sequence[str], docs: Sequence[Doc]) -> Scorer:
        model = fit(names, docs, c, hard, cues)
        return lambda texts: [model.score(t) for t in texts]

    return fitter


def loso(docs: Sequence[Doc], fitter: Fitter) -> list[Fold]:
    folds = []
    for index, name in enumerate(FOLDS):
        train = [DEV, *(n for n in FOLDS if n != name)]
        scorer = fitter(train, [d for d in docs if d.fold != index])
        pages = _pages(name)
        held = [d for d in docs if d.fold == index]
        folds.append(
            Fold(
                name,
                pages,
                [max(scorer(p.sentences), default=0.0) for p in pages],
                [max(scorer(d.sentences), default=0.0) for d in held],
                _worst(scorer, pages, held),
            )
        )
        print(f"fold {name}: fitted", file=sys.stderr)
    return folds


def _worst(scorer: Scorer, pages: Sequence[Page], docs: Sequence[Doc]) -> list[tuple[float, str]]:
    human = [s for p in pages if not p.positive for s in p.sentences]
    human += [s for d in docs for s in d.sentences]
    unique = sorted(set(human))
    return sorted(zip(scorer(unique), unique, strict=True), reverse=True)[:5]


def fold_row(fold: Fold, threshold: float) -> str:
    """Rules / classifier / union over the fold's pages (summary labels apart), and the
    classifier's accusations on its hard negatives and held-out corpus documents."""
    counts: Counter[str] = Counter()
    for page, score in zip(fold.pages, fold.page_scores, strict=True):
        learned_hit = score >= threshold
        if not page.positive:
            counts["neg"] += 1
            counts["accused"] += learned_hit or page.rules
            continue
        group = "sum" if page.summary else "pos"
        counts[group] += 1
        counts[f"{group}-rules"] += page.rules
        counts[f"{group}-learned"] += learned_hit
        counts[f"{group}-union"] += page.rules or learned_hit
    human = sum(score >= threshold for score in fold.doc_scores)
    return (
        f"| {fold.name} | {counts['pos']} | {counts['pos-rules']} | {counts['pos-learned']} "
        f"| {counts['pos-union']} | {counts['sum-rules']}/{counts['sum-union']} of {counts['sum']} "
        f"| {counts['accused']}/{counts['neg']} | {human}/{len(fold.doc_scores)} |"
    )


def held_out_worst(folds: Sequence[Fold]) -> float:
    """The highest score any fold's model gave a human page or document it never saw."""
    return max(
        max(
            [s for p, s in zip(f.pages, f.page_scores, strict=True) if not p.positive]
            + list(f.doc_scores)
        )
        for f in folds
    )


def sweep(folds: Sequence[Fold]) -> None:
    """Classifier-alone and union recall (summary labels apart) and held-out accusations
    (hard negatives + corpus documents) by threshold, over all folds."""
    for threshold in (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95):
        alone = union = total = wrong = 0
        for fold in folds:
            for page, score in zip(fold.pages, fold.page_scores, strict=True):
                if not page.positive:
                    wrong += score >= threshold
                elif not page.summary:
                    total += 1
                    alone += score >= threshold
                    union += page.rules or score >= threshold
            wrong += sum(score >= threshold for score in fold.doc_scores)
        print(
            f"threshold {threshold:.2f}: classifier {alone}/{total}, union {union}/{total}, "
            f"held-out accused {wrong}"
        )


def report_loso(folds: Sequence[Fold]) -> float:
    """The table at the shipped kind of threshold: MARGIN above the highest held-out human
    score, or LOSO_THRESHOLD if higher."""
    sweep(folds)
    for fold in folds:
        for score, text in fold.worst:
            print(f"  {fold.name} {score:.3f} {text[:100]!r}")
    worst = held_out_worst(folds)
    threshold = max(LOSO_THRESHOLD, min(0.99, worst + MARGIN))
    print(f"highest held-out human score {worst:.3f}; threshold {threshold:.3f}")
    print(
        "| fold | pages (no summary) | rules | classifier | union | summary labels rules/union "
        "| negatives accused | held-out corpus docs accused |\n|---|---|---|---|---|---|---|---|"
    )
    for fold in folds:
        print(fold_row(fold, threshold))
    return threshold


def e5_fitter(c: float) -> Fitter:
    """A logistic regression over multilingual-e5-small sentence vectors (digest.embed), to
    compare: it needs the model in every page worker, which the shipped score does not."""
    from digest import embed  # only this comparison loads the model

    memo: dict[str, np.ndarray] = {}

    def vectors(texts: Sequence[str]) -> np.ndarray:
        todo = [t for t in dict.fromkeys(texts) if t not in memo]
        if todo:
            memo.update(zip(todo, embed.embed(todo), strict=True))
        return np.stack([memo[t] for t in texts]) if texts else np.zeros((0, embed.DIM))

    def fitter(names: Sequence[str], docs: Sequence[Doc]) -> Scorer:
        texts, labels, weights = examples(names, docs)
        clf = LogisticRegression(C=c, class_weight="balanced", max_iter=5000)
        clf.fit(vectors(texts), np.array(labels), sample_weight=np.array(weights))
        return lambda items: list(clf.predict_proba(vectors(items))[:, 1]) if items else []

    return fitter


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--loso", action="store_true", help="the leave-one-set-out table")
    parser.add_argument("--cost", action="store_true", help="CPU per page, 119 real pages")
    parser.add_argument("--check", action="store_true", help="refit; compare with the shipped")
    parser.add_argument("--score", type=Path, help="a set file: rules alone, then with the score")
    parser.add_argument("--no-cues", action="store_true", help="n-grams alone")
    parser.add_argument("--e5", action="store_true", help="LOSO of e5 sentence vectors instead")
    parser.add_argument(
        "--c", type=float, nargs="+", default=[C], help="regularisation: 1/strength"
    )
    parser.add_argument(
        "--hard", type=float, nargs="+", default=[HARD_WEIGHT], help="hard-negative weight"
    )
    parser.add_argument(
        "--folds", type=int, help="LOSO over fresh sets 1..N (trained on the others; default 6)"
    )
    parser.add_argument("--at", type=float, nargs="*", default=[], help="LOSO rows at these")
    args = parser.parse_args(argv)
    if args.cost:
        return cost()
    if args.score:
        return score_set(args.score)
    docs = corpus_docs()
    if args.e5:
        for c in args.c:
            print(f"== e5 vectors, C {c}")
            report_loso(loso(docs, e5_fitter(c)))
        return 0
    if args.loso:
        if args.folds:  # session 11: would fresh sets 7 and 8 help as training data?
            global FOLDS
            FOLDS = fresh_sets(args.folds)
            docs = corpus_docs()  # a document's fold depends on the number of folds
        for c in args.c:
            for hard in args.hard:
                print(f"== C {c}, hard negatives x{hard}")
                folds = loso(docs, hashed_fitter(c, hard, () if args.no_cues else CUES))
                report_loso(folds)
                for threshold in args.at:
                    print(f"== at {threshold}")
                    print("\n".join(fold_row(fold, threshold) for fold in folds))
        return 0
    text = learned.to_json(final_model(docs), {"fitted_by": "bench/fit_disclosure.py", "c": C})
    if args.check:
        same = OUT.read_text(encoding="utf-8") == text
        print("the shipped weights match the fit" if same else f"{OUT} differs from the fit")
        return 0 if same else 1
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT} ({len(text)} bytes)")
    return 0


def fresh_sets(count: int) -> tuple[str, ...]:
    """The file names of fresh sets 1..count."""
    return ("disclosure_fresh.toml", *(f"disclosure_fresh{i}.toml" for i in range(2, count + 1)))


def final_model(docs: Sequence[Doc]) -> learned.Model:
    """Fitted on every development set and document; the threshold is LOSO_THRESHOLD or,
    if higher, MARGIN above the top score of any human sentence or hard negative page."""
    model = fit([DEV, *FOLDS], docs)
    human = [s for d in docs for s in d.sentences]
    for name in (DEV, *FOLDS):
        human += [s for p in _pages(name) if not p.positive for s in p.sentences]
    worst = max(model.score(s) for s in set(human))
    threshold = max(LOSO_THRESHOLD, worst + MARGIN)
    print(f"in-sample top human score {worst:.3f}; threshold {threshold:.3f}", file=sys.stderr)
    return dataclasses.replace(model, threshold=threshold)


def cost(root: Path = CORPUS, rounds: int = 3) -> int:
    """CPU per page on the 119 extraction pages: the rules alone, then with the learned
    score, and the one-time load of the weights (best of `rounds` passes each)."""
    pages = [
        gzip.decompress(p.read_bytes())
        for p in sorted((root / "extraction" / "html").glob("*.html.gz"))
    ]
    start = time.process_time()
    disclosure.shipped_model.cache_clear()
    disclosure.shipped_model()
    print(f"weights load: {1000 * (time.process_time() - start):.1f} ms CPU, once per process")
    for choice in (None, "shipped"):
        best = math.inf
        for _ in range(rounds):
            start = time.process_time()
            found = [disclosure.find_disclosures(page, model=choice) for page in pages]
            best = min(best, time.process_time() - start)
        label = "rules alone" if choice is None else "rules + learned score"
        flagged = sum(bool(f) for f in found)
        print(f"{label}: {1000 * best / len(pages):.2f} ms CPU per page, {flagged} pages flagged")
    scored = sum(
        len(list(disclosure.learned_candidates(disclosure.page_segments(p)))) for p in pages
    )
    print(f"sentences scored: {scored} in {len(pages)} pages")
    return 0


def score_set(path: Path) -> int:
    """One set file at the shipped weights: rules alone, then with the learned score."""
    for flag in (["--rules-only"], []):
        print("== rules alone" if flag else "== rules + learned score")
        disclosure_pages.main(["--set", str(path), *flag])
    return 0


if __name__ == "__main__":
    sys.exit(main())
