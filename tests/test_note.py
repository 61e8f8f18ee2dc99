"""The editor's note: composed offline, faithful to the stories, read as prose.

Every headline and summary here is invented for these tests (the last test reads the
demo corpus).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from digest.config import Newsletter
from digest.models import Article, Story, Summary
from digest.note import MAX_WORDS, MIN_WORDS, compose_note, figures
from digest.text import split_sentences

EV, INDUSTRY, POLICY, AUTONOMY, LAUNCHES = (
    "EVs & batteries",
    "Industry, deals & earnings",
    "Policy, trade & tariffs",
    "Autonomy & software",
    "Launches & reviews",
)
NEWSLETTER = Newsletter(editor="Mara Quist", title="The Autos Digest")
OUTLETS = ("Voltline", "Tradelane", "The Axle Ledger", "Sensorfield", "Motorway Daily")


def story(
    title: str,
    summary: str = "",
    source: str = "Voltline",
    section: str = "",
    outlets: int = 1,
    text: str = "",
) -> Story:
    """A story whose summary is `summary`, covered by `outlets` distinct outlets."""
    url = f"https://{source.lower().replace(' ', '')}.example/{abs(hash(title))}"
    main = Article(url, source, "https://feed.example/x.xml", title, text or summary, "page")
    others = tuple(
        Article(f"{url}/{o}", name, "https://feed.example/y.xml", title, "", "page")
        for o, name in enumerate([n for n in OUTLETS if n != source][: outlets - 1])
    )
    sentences = tuple(split_sentences(summary)) if summary else ()
    return Story(main, Summary(summary, "extractive", sentences), others=others, section=section)


# A week led by batteries: three outlets on the lead, three battery stories in the picks.
BATTERY_WEEK = [
    story(
        "Solvane starts pilot production of solid-state cells in Michigan",
        "Solvane Energy has begun pilot production of solid-state battery cells near "
        "Lansing, Michigan. The line can make enough cells for 2,000 cars a year, and "
        "Solvane plans a 12 GWh factory by 2029.",
        section=EV,
        outlets=3,
    ),
    story(
        "Cobalt Loop opens Nevada recycling plant",
        "Cobalt Loop has opened a battery recycling plant east of Reno, Nevada, the company "
        "said. The plant cost about $640 million to build and can process 20,000 tonnes of "
        "black mass a year.",
        section=EV,
    ),
    story(
        "Brightway Rent orders 35,000 vehicles in its largest fleet purchase",
        "Rental company Brightway Rent ordered 35,000 vehicles from three carmakers for "
        "2027. The order is worth about $1.1 billion at list prices.",
        source="The Axle Ledger",
        section=INDUSTRY,
        text="Rental company Brightway Rent ordered 35,000 vehicles from three carmakers "
        "for 2027, the largest purchase in the rental company's history. The order is worth "
        "about $1.1 billion at list prices.",
    ),
    story(
        "Northgrid pays drivers to export power from parked EVs",
        "Northgrid launched a vehicle-to-grid tariff in Britain that pays drivers 25p for "
        "each kWh exported at peak times.",
        section=EV,
    ),
    story(
        "Vireo GT first drive: a 300 hp hot hatch that refuses to grow up",
        "The Vireo GT keeps a manual gearbox and costs from €38,900 in Germany.",
        source="Motorway Daily",
        section=LAUNCHES,
    ),
]

# A week led by a question, with non-ASCII names and a story without a summary.
POLICY_WEEK = [
    story(
        "Can Europe's carmakers meet the 2025 CO2 targets?",
        "MEPs voted 412 to 198 to let carmakers average their CO2 performance over three "
        "years. Škoda and Renault said the change gives them time to sell more electric cars.",
        source="Tradelane",
        section=POLICY,
    ),
    story(
        "Wayline takes its driverless taxis to Austin, Nashville and Denver",
        "Wayline will start paid driverless rides in three more U.S. cities next year. "
        "Its robotaxi fleet will grow to about 2,500 vehicles.",
        source="Sensorfield",
        section=AUTONOMY,
    ),
    story(
        "Mexico raises tariffs on auto parts from non-treaty countries",
        "Mexico raised import tariffs on more than 300 categories of car parts to between "
        "20% and 35%. The decree mainly affects suppliers in China.",
        source="Tradelane",
        section=POLICY,
    ),
    story("Touring car series agrees €4.5m budget cap", source="Pit Lane Wire"),
    story(
        "Lumasense cuts automotive lidar price to $399 in volume",
        "Lumasense will sell its long-range lidar to carmakers for $399 a unit in volumes "
        "above 100,000 a year.",
        source="Sensorfield",
        section=AUTONOMY,
    ),
]

NUMBER = re.compile(r"\d[\d,.]*\d|\d")
STOCK_PHRASES = ("pivotal", "landscape", "delve", "game-changer", "game changer", "tapestry")


def words(text: str) -> int:
    return len(text.split())


def inputs(stories: list[Story]) -> str:
    return " ".join(
        f"{s.article.title} {s.summary.text} {' '.join(o.title for o in s.others)}" for s in stories
    )


def assert_reads_as_prose(note: str) -> None:
    assert "\n" not in note
    assert not re.match(r"\s*(?:[-*+\u2022#>]|\d+[.)])\s", note), "starts like a list"
    assert "<" not in note and "](" not in note, "no HTML, no links"
    assert note.endswith((".", "?", "\u201d")), note[-20:]
    lowered = note.lower()
    assert not [p for p in STOCK_PHRASES if p in lowered]


def assert_faithful(note: str, stories: list[Story]) -> None:
    """Every number in the note is written somewhere in the stories."""
    source = inputs(stories)
    invented = [n for n in NUMBER.findall(note) if n.rstrip(".,") not in source]
    assert not invented, f"numbers not in the stories: {invented}"


# --- the two weeks -------------------------------------------------------------------


@pytest.mark.parametrize("week", [BATTERY_WEEK, POLICY_WEEK], ids=["battery", "policy"])
def test_a_week_reads_as_prose_within_bounds(week: list[Story]) -> None:
    note = compose_note(week, NEWSLETTER)
    print(f"\n{words(note)} words: {note}")
    assert MIN_WORDS <= words(note) <= MAX_WORDS
    assert_reads_as_prose(note)
    assert_faithful(note, week)
    assert len(re.findall(r"[.?!]\u201d?(?:\s|$)", note)) >= 3  # sentences, not one run-on


def test_the_lead_names_its_story_and_its_outlets() -> None:
    note = compose_note(BATTERY_WEEK, NEWSLETTER)
    assert note.startswith("Batteries and electric cars dominated the week")
    assert "three outlets covered" in note
    assert "Solvane" in note.split(".")[0]


def test_a_single_outlet_is_named_not_counted() -> None:
    note = compose_note(POLICY_WEEK, NEWSLETTER)
    # two policy stories among the first four: the section led the week
    assert note.startswith("Trade policy led the week, and Tradelane had the biggest story")
    assert "outlets" not in note


def test_the_next_stories_are_woven_in_with_connectives() -> None:
    note = compose_note(BATTERY_WEEK, NEWSLETTER)
    assert "Cobalt Loop has opened a battery recycling plant" in note
    assert "the company said" not in note  # the company's own attribution is dropped
    assert "In company news, rental company Brightway Rent ordered 35,000 vehicles" in note


def test_the_number_of_the_week_is_the_biggest_sum_with_its_owner() -> None:
    note = compose_note(BATTERY_WEEK, NEWSLETTER)
    # $1.1 billion beats $640 million, 12 GWh, 35,000 vehicles and €38,900
    assert "$1.1 billion" in note
    assert "$640 million" not in note
    # the sentence says "The order"; whose order comes from the headline
    assert note.endswith(
        "The number of the week, $1.1 billion, belongs to Brightway Rent: the order is worth "
        "about $1.1 billion at list prices."
    )


def test_a_sentence_that_names_its_owner_leads_with_the_number() -> None:
    week = [
        story("Arden to build a plant", "Arden Motor will build a plant in Ohio.", outlets=2),
        story("Halden idles Ohio plant", "Halden Motors will idle its Ohio plant in December."),
        story("Solvane opens pilot line", "Solvane Energy opened a pilot line in Michigan."),
        story(
            "Parts suppliers merge",
            "Veltrix Components and Ostara Systems agreed an all-stock deal that values Ostara "
            "at $6.4 billion including debt, the companies said.",
        ),
    ]
    note = compose_note(week, NEWSLETTER)
    assert note.endswith(
        "The number of the week is $6.4 billion: Veltrix Components and Ostara Systems agreed "
        "an all-stock deal that values Ostara at $6.4 billion including debt."
    )


def test_a_number_already_in_the_note_gets_a_pointer_not_a_repeat() -> None:
    week = [
        story(
            "Arden and Hanseong to build $3.8 billion cell plant",
            "Arden Motor and Hanseong Energy will build a $3.8 billion cell plant in "
            "Clarksville, Tennessee.",
            outlets=4,
            section=EV,
        ),
        story("Halden idles Ohio plant", "Halden Motors will idle its Ohio plant for three weeks."),
    ]
    note = compose_note(week, NEWSLETTER)
    assert "four outlets covered" in note.lower()
    assert note.endswith("That $3.8 billion is the number of the week.")
    assert "The number of the week" not in note
    assert_faithful(note, week)


def test_questions_in_titles_stay_questions() -> None:
    note = compose_note(POLICY_WEEK, NEWSLETTER)
    assert "\u201cCan Europe's carmakers meet the 2025 CO2 targets?\u201d" in note
    assert "targets?." not in note


def test_non_ascii_is_kept_as_written() -> None:
    week = [
        story(
            "Škoda Vistra iV review: the sensible estate that does the maths",
            "Škoda's Vistra iV costs from €41,990 and covers 560 km on a charge, Škoda said.",
            source="Torque & Tread",
            section=LAUNCHES,
        )
    ]
    note = compose_note(week, NEWSLETTER)
    assert "Škoda" in note and "€41,990" in note
    assert_faithful(note, week)


# --- faithfulness and form -------------------------------------------------------------


@pytest.mark.parametrize("week", [BATTERY_WEEK, POLICY_WEEK], ids=["battery", "policy"])
def test_deterministic(week: list[Story]) -> None:
    assert compose_note(week, NEWSLETTER) == compose_note(list(week), NEWSLETTER)


def test_the_note_does_not_sign_itself() -> None:
    note = compose_note(BATTERY_WEEK, NEWSLETTER)
    assert "Mara" not in note and "Quist" not in note and "Autos Digest" not in note


def test_no_stories_no_note() -> None:
    assert compose_note([], NEWSLETTER) == ""


def test_one_story() -> None:
    week = [
        story(
            "Driverless trucks begin commercial runs between Dallas and Houston",
            "Haulwise has started hauling freight without anyone on board between Dallas and "
            "Houston. Ten trucks run round the clock for two retail customers. The company "
            "plans 200 trucks by 2028.",
            source="Sensorfield",
            section=AUTONOMY,
        )
    ]
    note = compose_note(week, NEWSLETTER)
    assert note.startswith("Sensorfield had the week's leading story: Driverless trucks")
    assert "Haulwise" in note
    assert words(note) <= MAX_WORDS
    assert_reads_as_prose(note)
    assert_faithful(note, week)


def test_empty_summaries_fall_back_to_headlines() -> None:
    week = [
        story("Arden names Robert Kessler chief financial officer", source="The Axle Ledger"),
        story("Halden issues over-the-air recall for 410,000 vehicles", source="Sensorfield"),
        story("Is the solid-state battery finally here?", source="Voltline"),
    ]
    note = compose_note(week, NEWSLETTER)
    assert "Arden names Robert Kessler" in note
    assert (
        "Sensorfield ran \u201cHalden issues over-the-air recall for 410,000 vehicles\u201d."
        in note
    )
    assert "Voltline asked \u201cIs the solid-state battery finally here?\u201d" in note
    assert_reads_as_prose(note)
    assert_faithful(note, week)


def test_an_untitled_lead_borrows_its_summary() -> None:
    week = [story("", "Halden Motors will idle its Ohio plant for three weeks in December.")]
    note = compose_note(week, NEWSLETTER)
    assert "Halden Motors will idle its Ohio plant" in note
    assert "untitled" not in note


def test_a_very_long_title_is_cut_to_its_first_clause() -> None:
    title = (
        "Arden commits $1.94 billion to Hanseong venture as automakers across North America "
        "and Europe seek tighter control of battery cell supply before the tax credits expire"
    )
    note = compose_note([story(title, outlets=2)], NEWSLETTER)
    assert "Arden commits $1.94 billion to Hanseong venture." in note
    assert "tax credits" not in note


def test_list_markers_in_summaries_do_not_reach_the_note() -> None:
    bullets = Summary(
        "- Halden Motors will idle its Ohio plant.",
        "extractive",
        ("- Halden Motors will idle its Ohio plant for three weeks in December.",),
    )
    top = story("Brightway orders 35,000 vehicles", "Brightway Rent ordered 35,000 vehicles.")
    second = Story(story("Halden idles Ohio plant").article, bullets)
    note = compose_note([top, second], NEWSLETTER)
    assert "Elsewhere, Halden Motors will idle" in note
    assert " - " not in note


def test_analysts_keep_their_attribution() -> None:
    week = [
        story("Lead story here today", "Arden Motor will build a plant.", outlets=2),
        story(
            "Used EV prices",
            "Used electric car prices will fall another 5% next year, analysts at Ledger "
            "Data said.",
        ),
    ]
    note = compose_note(week, NEWSLETTER)
    assert "analysts at Ledger Data said" in note


def test_a_sentence_leaning_on_the_one_before_is_not_quoted_alone() -> None:
    week = [
        story("Arden to build a plant", "Arden Motor will build a plant in Ohio.", outlets=2),
        story("Halden names new CFO", "It said Robert Kessler starts in January.", "Sensorfield"),
    ]
    note = compose_note(week, NEWSLETTER)
    assert "Elsewhere, Sensorfield ran \u201cHalden names new CFO\u201d." in note
    assert "it said" not in note.lower()


def test_weekdays_go_only_where_nothing_hangs_on_them() -> None:
    week = [
        story("Lead story today", "Arden Motor will build a plant in Ohio.", outlets=2),
        story(
            "Brightway orders vans",
            "Brightway Rent said on Friday it had ordered 12,000 vans for delivery in 2027.",
        ),
        story("Mexico decree", "Mexico published the decree late on Friday night in the gazette."),
    ]
    note = compose_note(week, NEWSLETTER)
    assert "Brightway Rent said it had ordered 12,000 vans" in note
    assert "late on Friday night" in note


def test_ordinary_words_are_lowercased_after_a_connective_names_are_not() -> None:
    week = [
        story("Lead story today", "Arden Motor will build a plant in Ohio.", outlets=2),
        story(
            "UK credits traded",
            "Carmakers traded about 94,000 credits in the first year of the mandate.",
            text="Carmakers traded credits. Most carmakers sold enough electric cars.",
        ),
        story("Haulwise trucks", "Haulwise started driverless freight runs in Texas."),
    ]
    note = compose_note(week, NEWSLETTER)
    assert "Elsewhere, carmakers traded about 94,000 credits" in note
    assert "Meanwhile, Haulwise started" in note


def test_a_custom_section_names_the_theme() -> None:
    week = [
        story(
            "Le Mans adds a hydrogen class",
            "Le Mans will add a hydrogen class in 2028.",
            section="Motorsport",
            outlets=3,
        ),
        story(
            "Touring cars cap budgets",
            "The series agreed a €4.5m budget cap per team.",
            section="Motorsport",
        ),
    ]
    note = compose_note(week, NEWSLETTER)
    assert note.startswith("Motorsport dominated the week, and three outlets covered")
    assert note.endswith("That €4.5m is the number of the week.")


def test_a_number_whose_sentence_is_too_long_to_quote_is_passed_over() -> None:
    long = (
        "Mexico raised import tariffs on more than 300 auto parts categories from countries "
        "without a trade agreement to between 20% and 35% in a decree published in the "
        "official gazette late at night by the economy ministry in Mexico City."
    )
    week = [
        story("Lead story today", "Arden Motor will build a plant in Ohio.", outlets=2),
        story("Mexico raises tariffs", long),
        story("Brightway orders vans", "Brightway Rent ordered 12,000 vans for 2027."),
    ]
    note = compose_note(week, NEWSLETTER)
    assert "35%" not in note
    assert "12,000" in note


# --- figures ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a $3.8 billion plant", [("$3.8 billion", "money", 3.8e9)]),
        ("a €2bn loan", [("€2bn", "money", 2.2e9)]),
        ("a £9.2m car", [("£9.2m", "money", 9.2e6 * 1.3)]),
        ("30 GWh of cells", [("30 GWh", "energy", 30.0)]),
        ("12,000 vans", [("12,000", "count", 12_000.0)]),
        ("traded 94,000 credits", [("94,000", "count", 94_000.0)]),
        ("about 3.1 million new vehicles", [("3.1 million", "count", 3.1e6)]),
        ("a margin of 5.2%", [("5.2%", "percent", 5.2)]),
        ("3.25 trillion yen", [("3.25 trillion yen", "money", 3.25e12 * 0.007)]),
        ("priced from 69,800 yuan", [("69,800 yuan", "money", 69_800 * 0.14)]),
        ("in 2027, with 412 votes", []),
    ],
)
def test_figures(text: str, expected: list[tuple[str, str, float]]) -> None:
    found = [(t, kind, value) for t, kind, value, _ in figures(text)]
    assert [(t, k) for t, k, _ in found] == [(t, k) for t, k, _ in expected]
    for (_, _, got), (_, _, want) in zip(found, expected, strict=True):
        assert got == pytest.approx(want)


def test_money_is_not_read_again_as_a_count() -> None:
    assert [f[1] for f in figures("a $1,200 fee and 1,200 vans")] == ["money", "count"]


# --- the demo corpus --------------------------------------------------------------------


def test_the_demo_week(tmp_path: Path) -> None:
    from tests.golden import build_demo

    result, _ = build_demo(tmp_path)
    assert result.digest is not None
    stories = list(result.digest.stories)
    note = compose_note(stories, NEWSLETTER)
    print(f"\n{words(note)} words: {note}")
    assert MIN_WORDS <= words(note) <= MAX_WORDS
    assert_reads_as_prose(note)
    assert_faithful(note, stories)
    top = stories[0]
    if top.outlets > 1:
        assert "outlets covered" in note
    assert compose_note(stories, NEWSLETTER) == note
