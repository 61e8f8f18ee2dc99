"""Ranking: what is counted once per text follows the text, and the picks leave out only
the stories equal to one of them.

Every headline and text here is invented for these tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from digest import rank
from digest.config import Ranking, default_sections
from digest.models import Article, Story, Window
from digest.sections import classify_story
from digest.text.words import count_words

RULES = default_sections()
EV = RULES[0].title
WINDOW = Window(datetime(2026, 11, 14, tzinfo=UTC), datetime(2026, 11, 21, tzinfo=UTC))
FULL = " ".join(["Arden's new plant will make battery cells for its electric cars."] * 8)


def article(url: str, title: str, text: str, source: str = "Example Wire") -> Article:
    when = datetime(2026, 11, 20, tzinfo=UTC)
    return Article(url, source, "https://feeds.example/a.xml", title, text, "page", date=when)


def section_of(main: Article, others: Sequence[Article]) -> str:
    return classify_story(Story(main, rank.NO_SUMMARY, others=tuple(others)), {}, RULES)


def test_word_count_follows_the_text_of_each_article_value() -> None:
    teaser = article("https://a.example/1", "Arden plant", "Arden builds a plant.")
    full = replace(teaser, text=FULL)
    assert (teaser.words, full.words) == (4, 88)
    assert replace(full, text=teaser.text).words == 4
    assert count_words(teaser.text, FULL, "") == 92


def test_a_story_is_ranked_on_its_articles_current_text() -> None:
    """The same story ranked on the feed's teaser, then on the page's full text (new
    article values with the same URL and title): thin, then not; off topic, then EVs."""
    teaser = article("https://a.example/1", "Arden's big news", "Arden has big news.")
    other = article("https://b.example/2", "Arden news today", "News.", source="Other")
    groups = [[0, 1]]
    [before] = rank.stories([teaser, other], groups, WINDOW, Ranking(), section_of)
    full = replace(teaser, text=FULL)
    [after] = rank.stories([full, other], groups, WINDOW, Ranking(), section_of)
    assert (before.section, after.section) == ("", EV)
    assert after.article.text == FULL
    assert after.score == pytest.approx(before.score / (0.6 * 0.6))  # thin, off topic
    [again] = rank.stories([teaser, other], groups, WINDOW, Ranking(), section_of)
    assert again == before


def story(url: str, score: float, section: str = EV, source: str = "Example Wire") -> Story:
    return Story(article(url, f"Story at {url}", FULL, source), rank.NO_SUMMARY, score, (), section)


def test_select_leaves_out_copies_of_a_pick_but_not_other_stories_on_its_url() -> None:
    pick = story("https://a.example/1", 3.0)
    copy = replace(pick)  # equal, not the same object
    same_url = story("https://a.example/1", 2.0)  # another story linking the same page
    other = story("https://b.example/2", 1.0, source="Other")
    picks, more = rank.select([pick, copy, same_url, other], 1, Ranking(), [EV])
    assert picks == [pick] and copy is not pick and copy == pick
    assert [s.score for section in more for s in section.stories] == [2.0, 1.0]
    assert [section.title for section in more] == [EV]


def test_select_fills_the_picks_from_one_outlet_skipping_only_picked_stories() -> None:
    stories = [story(f"https://a.example/{n}", 5.0 - n) for n in range(4)]
    picks, more = rank.select(stories, 3, Ranking(max_per_outlet=1), [EV])
    assert picks == stories[:3]
    assert [s for section in more for s in section.stories] == stories[3:]
