"""Quality gate for the extraction stage: `digest extract` against plain trafilatura.

Scores both on the article-extraction-benchmark pages in ../shared/corpus/extraction/
(`html/<id>.html.gz` + `ground-truth.json`) with the benchmark's own metric, re-implemented
from scrapinghub/article-extraction-benchmark `evaluate.py`:

* tokens are `re.findall(r"\\w+", text)` (Unicode, case kept); shingles are the 4-grams of
  consecutive tokens, counted as a multiset; a text of 1-3 tokens is one shorter shingle,
  an empty text has none;
* per page tp = sum(min(true, pred)), fp = sum(pred - true > 0), fn = sum(true - pred > 0)
  over the shingles, then (tp, fp, fn) is divided by tp + fp + fn so every page weighs the
  same however long it is;
* precision is the mean over pages with tp + fp > 0 (an empty prediction is left out of
  precision), recall the mean over pages with tp + fn > 0 (an empty prediction counts 0
  there), with `fp == fn == 0` scoring 1; F1 is the harmonic mean of those two means.

Both extractors get the same decompressed page bytes and the ground-truth URL, in one run:
(a) `trafilatura.extract(html, url=url)` with its defaults, (b) our
`digest.extract.extract_json(html, url)["text"]`. Exits 1 when ours scores below plain.

    python bench/eval_extraction.py [--corpus PATH] [--json]
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import trafilatura

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from digest.extract import extract_json

DEFAULT_CORPUS = Path(__file__).resolve().parents[1].parent / "shared/corpus/extraction"
NGRAM = 4
TOKEN = re.compile(r"\w+", re.UNICODE | re.MULTILINE | re.IGNORECASE | re.DOTALL)

TpFpFn = tuple[float, float, float]
Extractor = Callable[[bytes, str], str]


def shingles(text: str, n: int = NGRAM) -> Counter[tuple[str, ...]]:
    """The multiset of n-grams of `\\w+` tokens (one short shingle for a short text)."""
    tokens = TOKEN.findall(text or "")
    grams = (tuple(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1)))
    return Counter(gram for gram in grams if gram)


def match(true: str, pred: str) -> TpFpFn:
    """(tp, fp, fn) over shingles, normalised to sum to 1 (all zero for two empty texts)."""
    truth, guess = shingles(true), shingles(pred)
    tp = float(sum((truth & guess).values()))
    fp = float(sum((guess - truth).values()))
    fn = float(sum((truth - guess).values()))
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (tp, fp, fn)


def precision_score(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    return 0.0 if tp == fp == 0 else tp / (tp + fp)


def recall_score(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    return 0.0 if tp == fn == 0 else tp / (tp + fn)


def metrics(scores: Sequence[TpFpFn]) -> dict[str, float]:
    """Mean precision and recall over pages, and F1 of those means (as upstream)."""
    precision = statistics.mean(precision_score(*s) for s in scores if s[0] + s[1] > 0)
    recall = statistics.mean(recall_score(*s) for s in scores if s[0] + s[2] > 0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"f1": f1, "precision": precision, "recall": recall}


def load_corpus(corpus: Path) -> list[tuple[str, bytes, str, str]]:
    """(id, page bytes, url, true article body) for every page of the benchmark."""
    truth = json.loads((corpus / "ground-truth.json").read_text(encoding="utf-8"))
    return [_page(corpus, key, item) for key, item in sorted(truth.items())]


def _page(corpus: Path, key: str, item: dict[str, str]) -> tuple[str, bytes, str, str]:
    html = gzip.decompress((corpus / "html" / f"{key}.html.gz").read_bytes())
    return key, html, item["url"], item.get("articleBody") or ""


def plain(html: bytes, url: str) -> str:
    return trafilatura.extract(html, url=url) or ""


def ours(html: bytes, url: str) -> str:
    return str(extract_json(html, url)["text"])


EXTRACTORS: dict[str, Extractor] = {"plain": plain, "ours": ours}


def score(pages: list[tuple[str, bytes, str, str]], extractor: Extractor) -> dict[str, float]:
    started = time.perf_counter()
    predictions = [extractor(html, url) for _, html, url, _ in pages]
    seconds = time.perf_counter() - started
    result = metrics(
        [match(true, pred) for (*_, true), pred in zip(pages, predictions, strict=True)]
    )
    return {**result, "seconds": seconds, "pages": float(len(pages))}


def evaluate(corpus: Path = DEFAULT_CORPUS) -> dict[str, dict[str, float]]:
    """{"plain": {...}, "ours": {...}} with f1, precision, recall, seconds, pages."""
    pages = load_corpus(corpus)
    return {name: score(pages, extractor) for name, extractor in EXTRACTORS.items()}


def table(results: dict[str, dict[str, float]]) -> str:
    lines = [f"{'extractor':<10} {'F1':>7} {'prec':>7} {'recall':>7} {'ms/page':>8}"]
    for name, m in results.items():
        ms = 1000 * m["seconds"] / m["pages"]
        lines.append(
            f"{name:<10} {m['f1']:>7.4f} {m['precision']:>7.4f} {m['recall']:>7.4f} {ms:>8.1f}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    if not (args.corpus / "ground-truth.json").is_file():
        print(f"no corpus at {args.corpus}", file=sys.stderr)
        return 2
    results = evaluate(args.corpus)
    print(json.dumps(results, indent=2) if args.json else table(results))
    passed = results["ours"]["f1"] >= results["plain"]["f1"]
    verdict = "pass" if passed else "FAIL (ours < plain trafilatura)"
    print("quality gate:", verdict, file=sys.stderr if args.json else sys.stdout)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
