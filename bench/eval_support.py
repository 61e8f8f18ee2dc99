"""What the stricter model-output checks cost: human reference summaries they reject.

A model's summary is vetted sentence by sentence (digest.summarize.llm): hygiene
(`checks`: instructions, JSON debris, prompt echoes, fragments), names and numbers
anywhere in the article (`guard.unsupported`), then the claim (`support.claim`: content
words and names with their figures in one or two article sentences). One rejected
sentence is dropped if another stays; more, and the summary is rejected.

Human reference summaries of real articles (../shared/corpus/summaries) are faithful but
free: they paraphrase, and sometimes add what the writer knew. Their rejection rate, by
sentence and by summary, with the reasons, is the price of the strictness; the extractive
summaries (copied sentences) must pass whole (the floor).

Run: ``python bench/eval_support.py [--corpus DIR_OR_JSONL]``; exits 2 without the corpus, 1 when
an extractive summary is rejected.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from digest.summarize import checks, guard, support  # noqa: E402
from digest.summarize.extractive import summarize_text  # noqa: E402
from digest.text import split_sentences  # noqa: E402

DEFAULT_CORPUS = REPO.parent / "shared" / "corpus" / "summaries"


def reason(sentence: str, article: str, source: support.Source) -> str:
    """The first check a sentence fails, by kind ("" when it passes)."""
    hygiene = checks.vet([sentence]).rejected
    if hygiene:
        return hygiene[0].reason.split(" (")[0]
    if guard.unsupported(sentence, article):
        return "names or numbers not in the article"
    if support.backing(sentence, source).cover < support.MIN_COVER:
        return "content words not in one or two sentences"
    return "names and figures not together" if support.claim(sentence, source) else ""


def evaluate(folder: Path) -> dict[str, object]:
    rows = []
    for path in [folder] if folder.is_file() else sorted(folder.glob("*.jsonl")):
        rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    reasons: Counter[str] = Counter()
    counts = Counter[str]()
    for row in rows:
        article = row["article"]
        source = support.Source.of(article)
        for reference in row.get("references") or [row["reference"]]:
            sentences = [s for s in split_sentences(reference) if s.strip()]
            failed = [r for r in (reason(s, article, source) for s in sentences) if r]
            reasons.update(failed)
            counts["summaries"] += 1
            counts["sentences"] += len(sentences)
            counts["sentences_rejected"] += len(failed)
            counts["summaries_touched"] += bool(failed)
            counts["summaries_rejected"] += len(failed) > 1 or len(failed) == len(sentences)
            counts["names_numbers_only"] += bool(guard.unsupported(reference, article))
        extractive = summarize_text(article).text
        counts["copies"] += 1
        counts["copies_rejected"] += any(
            reason(s, article, source) for s in split_sentences(extractive)
        )
    n, s = max(1, counts["summaries"]), max(1, counts["sentences"])
    return {
        "articles": len(rows),
        "reference_summaries": counts["summaries"],
        "reference_sentences": counts["sentences"],
        "sentences_rejected": f"{counts['sentences_rejected'] / s:.1%}",
        "summaries_with_a_sentence_dropped": f"{counts['summaries_touched'] / n:.1%}",
        "summaries_rejected_wholesale": f"{counts['summaries_rejected'] / n:.1%}",
        "before_names_numbers_whole_summary": f"{counts['names_numbers_only'] / n:.1%}",
        "extractive_rejected": counts["copies_rejected"],
        "extractive_summaries": counts["copies"],
        "reasons_by_sentence": dict(reasons.most_common()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args = parser.parse_args()
    if not args.corpus.exists():
        print(f"corpus not found: {args.corpus}", file=sys.stderr)
        return 2
    results = evaluate(args.corpus)
    print(json.dumps(results, indent=2))
    return 1 if results["extractive_rejected"] else 0


if __name__ == "__main__":
    sys.exit(main())
