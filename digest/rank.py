"""Rank stage: one story per event, its canonical article, its score, the picks.

A story's score grows with how many outlets covered it and how recent it is, scaled by
the canonical outlet's weight, and is lowered when the story matched no section (off
topic) or when the reader would be sent to an AI-generated, paywalled or thin page.
Every factor is a `[ranking]` setting. Ties go to the earlier story, so the order is
stable run to run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from digest.config import Ranking
from digest.models import Article, Section, Story, Summary, Window

THIN_WORDS = 60  # fewer words than this is a teaser, not a story
DEVELOPING = timedelta(days=2)  # coverage spread wider than this is a developing story
NO_SUMMARY = Summary("", "none")  # a story is summarized only once it is picked


def canonical(articles: Sequence[Article]) -> tuple[Article, tuple[Article, ...]]:
    """The article to send the reader to, and the rest of the coverage.

    Preferred, in order: not AI-generated, not paywalled, a full text (not much shorter
    than the fullest), in a developing story (coverage over more than DEVELOPING) a report
    from its last day (the newest development), the heavier outlet, the earliest report
    (original reporting).
    """
    fullest = max(a.words for a in articles)
    dates = [a.date for a in articles if a.date]
    last = max(dates) if dates and max(dates) - min(dates) > DEVELOPING else None

    def key(a: Article) -> tuple[bool, bool, bool, bool, float, float, str]:
        short = a.words < 0.6 * fullest
        stale = last is not None and (a.date is None or last - a.date > timedelta(days=1))
        return (a.verdict.flagged, a.paywalled, short, stale, -a.weight, _timestamp(a.date), a.url)

    ordered = sorted(articles, key=key)
    return ordered[0], tuple(ordered[1:])


def score(
    article: Article,
    others: Sequence[Article],
    section: str,
    window: Window,
    ranking: Ranking,
) -> float:
    """How much the story deserves the reader's time, for ordering only."""
    outlets = len({a.source for a in (article, *others)})
    latest = max((a.date for a in (article, *others) if a.date), default=None)
    value = article.weight if ranking.source_weight else 1.0
    value *= (1 - ranking.recency) + ranking.recency * _recency(latest, window)
    value *= 1 + ranking.coverage * (outlets - 1)
    value *= _penalty(article, section, ranking)
    return round(value, 6)


def _penalty(article: Article, section: str, ranking: Ranking) -> float:
    factor = 1.0
    if not section:
        factor *= ranking.off_topic
    if article.verdict.flagged:
        factor *= ranking.ai_generated
    if article.paywalled:
        factor *= ranking.paywalled
    if article.words < THIN_WORDS:
        factor *= ranking.thin
    return factor


def _recency(when: datetime | None, window: Window) -> float:
    """1.0 at the end of the window, 0.0 at its start."""
    if when is None:
        return 0.0
    span = (window.end - window.start).total_seconds()
    age = (window.end - when).total_seconds()
    return max(0.0, min(1.0, 1 - age / span)) if span > 0 else 1.0


def order_key(score: float, article: Article) -> tuple[float, float, str]:
    """Best first; ties to the earlier article, then the URL, for a stable order."""
    return (-score, _timestamp(article.date), article.url)


def _timestamp(when: datetime | None) -> float:
    return when.timestamp() if when else float("inf")


def stories(
    articles: Sequence[Article],
    groups: Sequence[Sequence[int]],
    window: Window,
    ranking: Ranking,
    section_of: Callable[[Article, Sequence[Article]], str],
) -> list[Story]:
    """One unsummarized story per group of articles, best first."""
    out = []
    for group in groups:
        main, others = canonical([articles[i] for i in group])
        section = section_of(main, others)
        value = score(main, others, section, window, ranking)
        out.append(Story(main, NO_SUMMARY, value, others, section))
    out.sort(key=lambda s: order_key(s.score, s.article))
    return out


def select(
    ranked: Sequence[Story], picks: int, ranking: Ranking, sections: Sequence[str]
) -> tuple[list[Story], list[Section]]:
    """The editor's picks, then up to `more_per_section` more per section, in the
    configured section order; sections left empty are left out.

    No more than `max_per_outlet` picks send the reader to one outlet, so one prolific
    site cannot fill the issue, unless there are too few outlets to go round."""
    chosen: list[Story] = []
    per_outlet: Counter[str] = Counter()
    for story in ranked:
        if len(chosen) < picks and per_outlet[story.article.source] < ranking.max_per_outlet:
            chosen.append(story)
            per_outlet[story.article.source] += 1
    # Too few outlets to share the picks: fill the issue rather than leave it short.
    chosen += _without(ranked, chosen)[: picks - len(chosen)]
    chosen.sort(key=lambda s: order_key(s.score, s.article))
    rest = _without(ranked, chosen)
    more_per_section = ranking.more_per_section
    more = []
    for title in sections:
        extra = tuple(s for s in rest if s.section == title)[:more_per_section]
        if extra:
            more.append(Section(title, extra))
    return chosen, more


def _without(ranked: Sequence[Story], chosen: Sequence[Story]) -> list[Story]:
    """`ranked` less the stories equal to one of `chosen`. Equal stories link the same URL:
    only those are compared in full (a week's ~1,200 stories, each against every pick)."""
    linked = {s.article.url for s in chosen}
    return [s for s in ranked if s.article.url not in linked or s not in chosen]
