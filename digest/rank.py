"""Rank stage: score the week's articles and pick the editor's top stories.

The score is the outlet's weight, scaled by recency within the window and lowered for
paywalled pages (a reader cannot follow the link) and for articles too thin to
summarize. Ties go to the earlier article, so the order is stable run to run.
"""

from __future__ import annotations

from datetime import datetime

from digest.models import Article, Window

PAYWALL_FACTOR = 0.7
THIN_WORDS = 60  # fewer words than this is a teaser, not a story
THIN_FACTOR = 0.6


def score(article: Article, window: Window) -> float:
    """A number in [0, weight]: higher is more worth the reader's time."""
    value = article.weight * (0.5 + 0.5 * _recency(article.date, window))
    if article.paywalled:
        value *= PAYWALL_FACTOR
    if article.words < THIN_WORDS:
        value *= THIN_FACTOR
    return round(value, 6)


def _recency(when: datetime | None, window: Window) -> float:
    """1.0 at the end of the window, 0.0 at its start."""
    if when is None:
        return 0.0
    span = (window.end - window.start).total_seconds()
    age = (window.end - when).total_seconds()
    return max(0.0, min(1.0, 1 - age / span)) if span > 0 else 1.0


def pick(articles: list[Article], window: Window, limit: int) -> list[tuple[Article, float]]:
    """The `limit` best articles with their scores, best first."""
    scored = [(a, score(a, window)) for a in articles]
    scored.sort(key=lambda pair: (-pair[1], _timestamp(pair[0].date), pair[0].url))
    return scored[:limit]


def _timestamp(when: datetime | None) -> float:
    return when.timestamp() if when else float("inf")
