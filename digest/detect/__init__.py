"""Flag AI-generated sources, with the evidence.

Three levels, strongest first: *disclosed* (the publisher says so: bylines, bios,
disclaimers, meta tags, JSON-LD, or content-farm residue), *listed* (the owner lists
the outlet or author, or history shows the outlet often discloses AI articles), and
*suspected* (a style score; shown only as "style signals", never as an accusation).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Container, Mapping, Sequence

from digest.config import Detect
from digest.detect import style
from digest.detect.disclosure import Rule, find_disclosures, find_in_text, load_rules
from digest.detect.verdict import Listing, host_of, judge, label, listed_evidence
from digest.models import Article, Evidence, Verdict
from digest.store import Store

__all__ = [
    "Listing",
    "Rule",
    "assess",
    "detect_page",
    "detect_text",
    "disclosure_counts",
    "find_disclosures",
    "label",
    "listing",
    "rules",
    "rules_fingerprint",
]


def rules(settings: Detect) -> list[Rule]:
    """The shipped rules plus the owner's `[[detect.rules]]`."""
    return load_rules([rule.model_dump() for rule in settings.rules])


def rules_fingerprint(active: Sequence[Rule]) -> str:
    """Changes when any rule changes, so cached page evidence is not trusted past it."""
    text = "\n".join(
        f"{r.id}|{r.pattern}|{','.join(r.where)}|{r.kind}|{r.also}|{r.case_sensitive}"
        for r in active
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def listing(settings: Detect, store: Store) -> Listing:
    """The owner's lists, and the outlets history shows often disclose AI articles."""
    frequent = {
        host: f"this outlet often publishes AI-written articles (disclosed in {hits} of the "
        f"last {runs} issues)"
        for host, (hits, runs) in store.frequent_ai_hosts(
            settings.history_runs, settings.history_threshold
        ).items()
    }
    return owner_listing(settings, frequent)


def owner_listing(settings: Detect, frequent: dict[str, str] | None = None) -> Listing:
    return Listing(
        sources={s.domain: s.reason for s in settings.sources},
        authors={" ".join(a.name.lower().split()): a.reason for a in settings.authors},
        frequent=frequent or {},
    )


def assess(
    articles: Sequence[Article],
    disclosures: Mapping[str, Sequence[Evidence]],
    features: Mapping[str, Sequence[float]],
    known: Listing,
    active: Sequence[Rule],
    scored: Container[str] | None = None,
) -> list[Verdict]:
    """The detect stage: each article's verdict, in order, from the disclosures found on
    its page and its style features (both by URL, computed while the page was read),
    the owner's lists and history. An article read from the feed only is checked on the
    feed's text (a disclaimer at its end still counts); missing features are computed.

    With `scored` (URLs), only those articles get a style reading: the others (of stories
    that cannot be shown, whose pages were not read) keep a score of 0 and are never
    *suspected*; disclosures and lists still apply to them."""
    verdicts = []
    for article in articles:
        found = disclosures.get(article.url)
        if found is None:
            found = find_in_text(article.text, list(active))
        listed = listed_evidence(article.url, article.author, known)
        if scored is None or article.url in scored:
            reading = style.reading(article.text, features.get(article.url, ()))
        else:
            reading = style.Reading(0.0)
        verdicts.append(judge(found, listed, reading))
    return verdicts


def disclosure_counts(articles: Sequence[Article]) -> dict[str, int]:
    """Per outlet host, how many of this run's articles disclosed AI authorship."""
    counts: Counter[str] = Counter()
    for article in articles:
        host = host_of(article.url)
        counts[host] += article.verdict.level == "disclosed"
    return dict(counts)


def detect_page(html: bytes | str, url: str | None, text: str, settings: Detect) -> Verdict:
    """The verdict on one saved page (for `digest detect`); no state, no network."""
    active = rules(settings)
    found = find_disclosures(html, url, active)
    listed = listed_evidence(url or "", "", owner_listing(settings))
    return judge(found, listed, style.reading(text))


def detect_text(text: str, settings: Detect) -> Verdict:
    """The verdict on plain text (for `digest detect --text`)."""
    return judge(find_in_text(text, rules(settings)), [], style.reading(text))
