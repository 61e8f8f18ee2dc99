"""Sections: which section a story belongs to, by the owner's keyword rules.

Every headline and text here is invented for these tests.
"""

from __future__ import annotations

import re
import time

import pytest

from digest.config import SectionRule, default_sections
from digest.models import Article, Story, Summary
from digest.sections import (
    _NOT_ALWAYS_A_WORD,
    _SAME_LETTERS,
    _WORD,
    _alternative,
    _compile,
    _fold,
    _hits,
    _key,
    _pattern,
    _rule_hits,
    classify,
    classify_story,
    scores,
)

RULES: list[SectionRule] = default_sections()
EV, INDUSTRY, POLICY, AUTONOMY, LAUNCHES = (rule.title for rule in RULES)
FEED = "https://feeds.example/autos.xml"


def article(title: str, text: str = "", source: str = "Example Wire", feed: str = FEED) -> Article:
    return Article(f"https://example.com/{abs(hash(title))}", source, feed, title, text, "page")


def rule(title: str, keywords: list[str], tags: list[str] | None = None) -> SectionRule:
    return SectionRule(title=title, keywords=keywords, tags=tags or [])


# --- one headline per default section, and the close calls --------------------------------


@pytest.mark.parametrize(
    ("title", "text", "expected"),
    [
        (
            "Solvane starts pilot production of solid-state cells in Michigan",
            "The start-up will make enough cells for 2,000 cars a year.",
            EV,
        ),
        ("Arden names new CFO", "Arden Motor promoted its treasurer to the role.", INDUSTRY),
        (
            "Veltrix and Ostara agree $6.4 billion merger",
            "The all-stock deal creates a top-10 parts supplier.",
            INDUSTRY,
        ),
        (
            "European Parliament backs five-year averaging for car CO2 targets",
            "MEPs voted 412 to 198 for the change.",
            POLICY,
        ),
        (
            "Wayline takes its driverless taxis to Austin and Denver",
            "The robotaxi operator will start paid rides next year.",
            AUTONOMY,
        ),
        (
            "Vireo GT first drive: a 300 hp hot hatch that refuses to grow up",
            "The Vireo GT keeps a manual gearbox and a firm ride.",
            LAUNCHES,
        ),
        # two policy words in the title against one EV word: policy
        (
            "EU tariffs on Chinese EVs",
            "Brussels confirmed duties of up to 35% on cars built in China.",
            POLICY,
        ),
        # the company's business beats the fact that it raised money
        (
            "Robotaxi firm raises $500m",
            "Haulwise said the investment values it at $4bn; it runs driverless cars in "
            "two cities.",
            AUTONOMY,
        ),
        # a review of an electric car: the title says review, the lead says battery and
        # price; equal totals (4 and 4), and the title's evidence decides
        (
            "Kestrel Uno first drive: a cheap crossover",
            "The Kestrel Uno is priced from £24,995 with a 54 kWh LFP battery, 380 km of "
            "range and slow charging.",
            LAUNCHES,
        ),
        # a lead dense with battery words outweighs one title hit for another rule
        (
            "Arden to build plant in Tennessee",
            "The LFP cells will be made with Hanseong; the battery chemistry is cheaper and "
            "charging is fast.",
            EV,
        ),
    ],
)
def test_default_sections(title: str, text: str, expected: str) -> None:
    assert classify(article(title, text), [], RULES) == expected


@pytest.mark.parametrize(
    ("title", "text"),
    [
        ("Champions League final sells out in minutes", "Tickets for the match went fast."),
        ("Every excellent recipe starts with butter", "Whisk the eggs, then fold in flour."),
        ("Ai Weiwei opens a new exhibition in Berlin", "The artist shows new sculptures."),
        ("", ""),
    ],
)
def test_non_automotive_text_has_no_section(title: str, text: str) -> None:
    assert classify(article(title, text), [], RULES) == ""


def test_one_passing_mention_is_not_enough() -> None:
    # "deal" once in the lead scores 1: below the 2 a section needs
    story = article("Striker joins rivals", "The deal was agreed late on Friday night.")
    assert classify(story, [], RULES) == ""


# --- matching ----------------------------------------------------------------------------


def test_keywords_match_whole_words_only() -> None:
    rules = [rule("EVs", ["EV", "cell"])]
    assert classify(article("Every excellent cellar"), [], rules) == ""
    assert classify(article("EV cell"), [], rules) == "EVs"
    assert classify(article("A new EV-only platform"), [], rules) == "EVs"


def test_acronyms_are_case_sensitive_other_keywords_not() -> None:
    rules = [rule("Tech", ["AI", "lidar"])]
    assert classify(article("Carmaker bets on AI"), [], rules) == "Tech"
    assert classify(article("Carmaker bets on ai"), [], rules) == ""
    assert classify(article("Said the chair"), [], rules) == ""  # "ai" inside a word
    assert classify(article("LIDAR prices fall"), [], rules) == "Tech"
    assert classify(article("Lidar prices fall"), [], rules) == "Tech"


def test_acronyms_take_a_plural_but_other_words_match_as_written() -> None:
    rules = [rule("Models", ["SUV", "price"])]
    assert classify(article("Three SUVs compared"), [], rules) == "Models"
    assert classify(article("Fuel prices fall again"), [], rules) == ""


def test_phrases_span_any_whitespace_and_special_characters_are_literal() -> None:
    rules = [rule("Deals", ["joint venture", "C++", "plug-in"])]
    assert classify(article("A joint\n venture"), [], rules) == "Deals"
    assert classify(article("Written in C++"), [], rules) == "Deals"
    assert classify(article("New plug-in estate"), [], rules) == "Deals"
    assert classify(article("Cxx and plug in"), [], rules) == ""


def test_a_keyword_and_its_plural_count_once() -> None:
    rules = [rule("EVs", ["EV", "EVs", "electric vehicle", "electric vehicles"])]
    [(_, total, title)] = scores(article("EVs and electric vehicles"), [], rules)
    assert (total, title) == (6.0, 6.0)


def test_lead_counts_the_first_80_words_only() -> None:
    rules = [rule("Batteries", ["battery"])]
    early = "battery battery " + "word " * 100
    late = "word " * 100 + "battery battery"
    assert classify(article("News", early), [], rules) == "Batteries"
    assert classify(article("News", late), [], rules) == ""


def test_description_stands_in_for_a_missing_text() -> None:
    item = Article("https://x.example/a", "X", FEED, "News", "", "feed", description="EV cell")
    assert classify(item, [], [rule("EVs", ["EV", "cell"])]) == "EVs"


def test_a_repeated_word_cannot_carry_a_rule_past_a_title_hit() -> None:
    rules = [rule("Batteries", ["battery"]), rule("Reviews", ["review"])]
    lead = "The battery, the battery, the battery: a battery with a bigger battery."
    assert classify(article("Aurelian E9 review", lead), [], rules) == "Reviews"


def test_the_lead_adds_at_most_four() -> None:
    rules = [rule("Batteries", ["battery", "cell", "charging", "range", "LFP"])]
    lead = "battery cell charging range LFP battery cell charging range LFP"
    [(_, total, title)] = scores(article("News", lead), [], rules)
    assert (total, title) == (4.0, 0.0)


# --- tags and ties -----------------------------------------------------------------------


def test_a_tag_tips_a_close_call() -> None:
    text = "The factory and plant will make battery packs."  # Industry 2, EVs 1
    plain = classify(article("Halden opens new site", text), [], RULES)
    tagged = classify(article("Halden opens new site", text), ["ev"], RULES)
    assert (plain, tagged) == (INDUSTRY, EV)


def test_a_tag_never_decides_alone() -> None:
    assert classify(article("Champions League final", "Tickets sold fast."), ["ev"], RULES) == ""


def test_a_tag_does_not_beat_a_title_hit() -> None:
    assert classify(article("Arden names new CFO"), ["ev"], RULES) == INDUSTRY


def test_tags_match_case_insensitively() -> None:
    rules = [rule("A", ["car"]), rule("B", ["car"], tags=["Reviews"])]
    assert classify(article("Car news"), ["reviews"], rules) == "B"


def test_full_tie_goes_to_the_first_rule() -> None:
    rules = [rule("First", ["car"]), rule("Second", ["car"])]
    assert classify(article("Car news"), [], rules) == "First"
    assert classify(article("Car news"), [], list(reversed(rules))) == "Second"


def test_equal_totals_go_to_more_title_evidence() -> None:
    # A: one title hit (3); B: three lead hits (3). Equal totals; the headline decides.
    rules = [rule("B", ["sales", "dealer", "quarter"]), rule("A", ["tariff"])]
    text = "Sales fell at every dealer this quarter."
    assert classify(article("New tariff", text), [], rules) == "A"


def test_no_rules_or_empty_keywords() -> None:
    assert classify(article("EV battery news"), [], []) == ""
    assert classify(article("EV battery news"), ["ev"], [rule("Empty", [], ["ev"])]) == ""


# --- stories -----------------------------------------------------------------------------


def story(main: Article, *others: Article) -> Story:
    return Story(main, Summary("", "extractive"), others=others)


def test_other_outlets_headlines_add_evidence() -> None:
    main = article("Halden to build new plant in Ohio", "The factory will make batteries.")
    assert classify(main, [], RULES) == INDUSTRY
    others = (
        article("Halden bets on LFP battery cells in Ohio", source="Voltline"),
        article("Ohio battery plant is Halden's biggest EV bet", source="Tradelane"),
    )
    assert classify_story(story(main, *others), {}, RULES) == EV


def test_story_tags_come_from_every_covering_feed_once() -> None:
    text = "The factory and plant will make battery packs."
    main = article("Halden opens new site", text, feed="https://a/x.xml")
    other = article("Halden site opens today", source="B", feed="https://b/x.xml")
    tags = {"https://b/x.xml": ("ev",)}
    assert classify_story(story(main, other), tags, RULES) == EV
    assert classify_story(story(main, other), {}, RULES) == INDUSTRY


def test_a_story_without_others_is_its_article() -> None:
    main = article("EU tariffs on Chinese EVs")
    assert classify_story(story(main), {}, RULES) == classify(main, [], RULES) == POLICY


# --- speed -------------------------------------------------------------------------------


def test_rules_compile_once_and_thousands_of_articles_are_fast() -> None:
    _compile.cache_clear()
    text = " ".join(["The carmaker said battery sales and quarterly profit rose."] * 40)
    items = [article(f"Story {i}: EU tariffs and import duties", text) for i in range(3000)]
    started = time.perf_counter()
    results = {classify(item, ["ev"], RULES) for item in items}
    elapsed = time.perf_counter() - started
    assert results == {POLICY}
    assert _compile.cache_info().misses == 1
    assert elapsed < 3.0, f"3000 articles took {elapsed:.2f}s"


# --- what is counted once per text must follow the text ---------------------------------


def test_the_same_title_with_another_text_is_scored_on_its_own_text() -> None:
    title = "Arden's quarterly update"
    batteries = article(title, "Its battery cells and charging network grew; the LFP line too.")
    tariffs = article(title, "The EU tariffs and import duties hit its margins; regulators.")
    assert classify(batteries, [], RULES) == EV
    assert classify(tariffs, [], RULES) == POLICY
    assert classify(batteries, [], RULES) == EV
    assert scores(batteries, [], RULES) != scores(tariffs, [], RULES)


def test_the_same_empty_text_with_another_description_is_scored_on_it() -> None:
    rules = [rule("EVs", ["EV", "cell"])]
    ev = Article("https://x.example/a", "X", FEED, "News", "", "feed", description="EV cell")
    other = Article("https://x.example/a", "X", FEED, "News", "", "feed", description="A cellar")
    assert classify(ev, [], rules) == "EVs"
    assert classify(other, [], rules) == ""


def test_a_changed_rule_is_never_answered_from_an_earlier_rule_set() -> None:
    item = article("Lidar maker cuts prices", "The sensor now costs less than a tyre.")
    rules = [rule("Tech", ["battery"]), rule("Money", ["cuts"])]
    assert classify(item, [], rules) == "Money"
    rules[0].keywords.append("lidar")  # the same rule objects, edited in place
    assert classify(item, [], rules) == "Tech"  # a full tie: the first rule
    rules[0].keywords.remove("lidar")
    assert classify(item, [], rules) == "Money"
    cuts = article("Halden news", "It cuts jobs.")
    assert classify(cuts, ["sensors"], rules) == ""
    rules[1].tags.append("sensors")
    assert classify(cuts, ["sensors"], rules) == "Money"
    renamed = [rule("Sensors", ["lidar"]), rules[1]]
    assert classify(item, [], renamed) == "Sensors"


def test_a_story_is_classified_on_its_other_coverage_of_the_moment() -> None:
    main = article("Halden to build new plant in Ohio", "The factory will make batteries.")
    ev_other = article("Halden bets on LFP battery cells in Ohio", source="Voltline")
    plain_other = article("Halden bets on Ohio", source="Voltline")
    assert classify_story(story(main, ev_other, ev_other), {}, RULES) == EV
    assert classify_story(story(main, plain_other), {}, RULES) == INDUSTRY
    assert classify_story(story(main, ev_other, ev_other), {}, RULES) == EV


# Keywords and texts where case folding is not lower(), and keywords with symbols.
FOLDING = [
    (["kelvin", "KW"], "\u212aelvin and kelvin and KELVIN; KWs, kW, \u212aW"),
    (["straße", "\u017ftop"], "STRASSE, Straße, \u017ftop, \u017fTOP, stop, STOP; ẞtraße"),
    (["İstanbul", "\u0131d"], "istanbul İstanbul İSTANBUL ISTANBUL; ID, \u0131d, \u0131D, id"),
    (["$5 car", "C++", "-off", "ÉV"], "a $5  car, C++, drop-off -off, év ÉV éV"),
    (["$5 car", "e-fuel", "ÉV", "Model  Y"], "a $5 car, E-FUELS, e-fuel, év éV; model\nY"),
    (["σήμα", "EV", "SUV"], "ΣΉΜΑ σήμα ςήμα; EVs ev EV3 eEV; SUVs SUV suv"),
    (["µ-cell", "CO2", "CO2s"], "\u039c-CELL \u03bc-cell; CO2s CO2 co2 CO2ss"),
    (["\u03b9x", "ox"], "\u0345x \u1fbeX; ox"),
]


@pytest.mark.parametrize(("keywords", "text"), FOLDING)
def test_the_first_character_lookahead_changes_no_match(keywords: list[str], text: str) -> None:
    words = sorted({k.strip() for k in keywords}, key=lambda k: (-len(k), k))
    plain = re.compile(r"(?<!\w)(?:" + "|".join(map(_alternative, words)) + r")(?!\w)")
    pattern = _pattern(keywords)
    assert pattern is not None
    expected = [m.span() for m in plain.finditer(text)]
    assert [m.span() for m in pattern.finditer(text)] == expected
    assert expected  # each text has matches to keep


@pytest.mark.parametrize(("keywords", "text"), FOLDING)
def test_the_words_a_rule_needs_change_no_hits(keywords: list[str], text: str) -> None:
    """A rule is searched only in a text holding one of its keywords' first words: the
    hits are those of searching every text, including where case folding is not lower()."""
    rules = [rule(f"r{n}", [word]) for n, word in enumerate(keywords)] + [rule("all", keywords)]
    compiled = _compile(_key(rules))
    for part in [text, *text.split(";"), *text.split()]:
        for cap in (1, 2):
            every = tuple(_hits(r.pattern, part, cap) for r in compiled.rules)
            assert _rule_hits(compiled, part, cap) == every
    assert all(_rule_hits(compiled, text, 2))  # every keyword is found in its text
    assert not any(_rule_hits(compiled, "nothing to see", 2))


def test_folding_keeps_words_and_makes_ignorecase_letters_one() -> None:
    for code in range(0x110000):
        char = chr(code)
        if 0xD800 <= code < 0xE000:
            continue
        folded = _fold(char)
        assert len(folded) == 1, hex(code)
        if folded != _NOT_ALWAYS_A_WORD:
            assert bool(_WORD.fullmatch(char)) == bool(_WORD.fullmatch(folded)), hex(code)
    for group in _SAME_LETTERS.split():
        assert {_fold(c) for c in group} == {group[0]}
        assert all(re.fullmatch(re.escape(a), b, re.IGNORECASE) for a in group for b in group)
    casefix = pytest.importorskip("re._casefix")
    for code, others in casefix._EXTRA_CASES.items():
        assert {_fold(chr(c)) for c in others} == {_fold(chr(code))}, hex(code)
