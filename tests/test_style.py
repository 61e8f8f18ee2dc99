"""The style score (the *suspected* level) and the plumbing of its fit script.

Every test text here is written for these tests; none comes from the corpus. The corpus
tests read ../shared/corpus where it is and skip where it is not.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from bench import fit_style, model_signal
from digest.detect import style

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"

# Reported news: names, figures, dates, quotes and "said", sentences of uneven length.
NEWS = (
    "Harbor Motors will cut 1,200 jobs at its Kessler Road plant in Dayton, the carmaker"
    " said on Tuesday. The cuts, about a third of the site's workforce, take effect in March.\n"
    '"We did not take this decision lightly," chief executive Dana Ruiz told reporters at the'
    ' plant. "Demand for our older pickups has fallen faster than anyone expected."\n'
    "Union officials said they were blindsided. Mark Okafor, who has worked on the line for"
    ' 22 years, said he heard the news from his daughter. "She read it on her phone before'
    ' we got the memo," he said.\n'
    "Harbor sold 41,000 trucks in the first half of the year, down 18% from 2023, according"
    " to figures from the research group AutoCount. Shares rose 3% in New York on Wednesday."
    " The company said it would keep building its electric van at the site and hoped to"
    " rehire some workers in 2026.\n"
    "Ohio's governor, Sam Lee, said the state had offered tax credits to keep the plant open."
    " It was not enough. Talks with the union resume on Friday, Mr Okafor said."
)

# Chat-model boilerplate: stock vocabulary, "-ing" add-ons, "This ..." openers, no sources.
STOCK = (
    "The automotive landscape is undergoing a profound transformation, and electric vehicles"
    " are at the heart of this evolution. This shift underscores the pivotal role that"
    " innovation plays in shaping the future of mobility. Furthermore, manufacturers are"
    " leveraging cutting-edge technologies to enhance efficiency, sustainability, and"
    " performance, fostering a more seamless experience for consumers. This commitment to"
    " innovation is a testament to the resilience and adaptability of the industry. Moreover,"
    " comprehensive investments in charging infrastructure are crucial to ensuring widespread"
    " adoption, highlighting the importance of collaboration between governments, businesses,"
    " and communities. These developments demonstrate that the transition is not merely a"
    " technological change but a fundamental reimagining of transportation. Additionally, the"
    " integration of advanced software is transforming the relationship between drivers and"
    " their vehicles, enabling personalised features, predictive maintenance, and enhanced"
    " safety. Ultimately, navigating this evolving landscape will require a holistic approach"
    " that balances economic, environmental, and social considerations. In conclusion, the"
    " road ahead is filled with both challenges and opportunities, and the ability of the"
    " industry to adapt will be essential to its continued success."
)

JUNK = [
    "",
    " ",
    "\n\n\t",
    "\x00\x01\x02",
    "....!!!???",
    "1234 5678 9,000 3.5",
    "\ud800 lone surrogate \udfff",
    "emoji 🚗🚙🏎️ only 🚓",
    "a " * 20_000,
    "x" * 200_000,
    "<html><body><p>Tags &amp; entities</p></body></html>",
    "مرحبا بالعالم. هذه جملة عربية.",
    '"unclosed quote and “curly one',
    "THIS IS ALL CAPS. EVERY WORD SHOUTS. SAID SAID SAID.",
    "-- \u2014 \u2013 ; ; : , , ,",
    "This. This. This. These. This.",
]


# --- properties -------------------------------------------------------------------------


def test_module_constants() -> None:
    assert style.MIN_WORDS == 150
    assert 0.0 < style.THRESHOLD < 1.0
    assert len(style.FEATURES) == len(set(style.FEATURES)) <= 150


def test_case_free_patterns_read_lower_case_text_alike() -> None:
    """The IGNORECASE patterns counted in lower-case text (`_Text.count`) have lower-case
    letters only, and count the same either way, a text with a case trap included."""
    for pattern in (style._STOCK, style._ATTRIBUTION, style._FORMAL_ATTRIBUTION):
        assert not re.search(r"[A-Z]", re.sub(r"\\.", "", pattern.pattern)), pattern.pattern
    text = (
        "FURTHERMORE, the Robust plan Noted it. Officials SAID, according To reports, "
        "that it was Pivotal. Moreover it Underscores a \u017feamless, crucial shift."
    )
    for raw in (text, text.replace("\u017f", "s")):
        parsed = style._parse(raw)
        for pattern in (style._STOCK, style._ATTRIBUTION, style._FORMAL_ATTRIBUTION):
            assert parsed.count(pattern) == len(pattern.findall(raw)) > 0


def test_empty_text_scores_zero() -> None:
    assert style.style_score("") == 0.0
    assert style.style_score("   \n ") == 0.0
    assert style.top_signals("") == []
    assert not style.is_suspected("")


@pytest.mark.parametrize("text", JUNK, ids=[f"junk{i}" for i in range(len(JUNK))])
def test_never_raises_and_stays_in_range(text: str) -> None:
    values = style.features(text)
    assert list(values) == list(style.FEATURES)
    assert all(math.isfinite(v) for v in values.values())
    score = style.style_score(text)
    assert 0.0 <= score <= 1.0
    assert isinstance(style.is_suspected(text), bool)
    signals = style.top_signals(text)
    assert len(signals) <= 3
    assert all(isinstance(name, str) and push > 0 for name, push in signals)


def test_deterministic() -> None:
    assert style.style_score(STOCK) == style.style_score(STOCK)
    assert style.features(NEWS) == style.features(NEWS)
    assert style.top_signals(STOCK) == style.top_signals(STOCK)


def test_features_are_length_normalised() -> None:
    """The same prose repeated scores the same: nothing grows with length."""
    once, thrice = style.features(NEWS), style.features("\n".join([NEWS] * 3))
    for name in style.FEATURES:
        assert thrice[name] == pytest.approx(once[name], rel=0.15, abs=0.01), name


@pytest.mark.parametrize(
    "text",
    [
        "\n".join([NEWS, STOCK] * 200),  # ~70,000 words, cut to the first 100,000 chars
        "Mr. " * 30_000,  # no sentence end anywhere: the splitter's worst case
        "x" * 200_000,
        "a, b, " * 20_000,
    ],
    ids=["long", "titles", "one-word", "commas"],
)
def test_scoring_is_fast(text: str) -> None:
    started = time.perf_counter()
    style.style_score(text)
    style.is_suspected(text)
    style.top_signals(text)
    assert time.perf_counter() - started < 2.0


# --- direction of the features --------------------------------------------------------


def test_stock_prose_scores_above_reported_news() -> None:
    assert style.word_count(NEWS) >= style.MIN_WORDS
    assert style.word_count(STOCK) >= style.MIN_WORDS
    assert style.style_score(STOCK) > style.style_score(NEWS) + 0.5
    assert style.is_suspected(STOCK)
    assert not style.is_suspected(NEWS)


def test_features_move_the_right_way() -> None:
    news, stock = style.features(NEWS), style.features(STOCK)
    for human_side in ("quote_share", "attribution_rate", "digit_density", "was_rate"):
        assert news[human_side] > stock[human_side], human_side
    assert news["capitalised_density"] > stock["capitalised_density"]
    for model_side in (
        "stock_phrase_rate",
        "participle_clause_rate",
        "this_opener_rate",
        "word_length",
        "nominalisation_rate",
        "serial_comma_rate",
        "and_rate",
        "of_rate",
    ):
        assert stock[model_side] > news[model_side], model_side


def test_rewrite_habits() -> None:
    """A rewrite keeps the quotes and names but swaps 'said' for formal verbs and reports
    speech in add-on clauses; contractions and possessives are counted apart."""
    rewrite = (
        "Harbor Motors noted that the cuts were necessary, stating that demand had fallen."
        " Dana Ruiz emphasised the company's resolve, saying it would rehire workers."
        " Union officials expressed concern, noting the plant's long history."
    )
    plain = (
        "Harbor Motors said the cuts were needed. Demand had fallen, it said. Dana Ruiz"
        " told reporters it would rehire workers. Union officials said they were worried."
    )
    casual = "It's a plant they don't want to lose, and they've said they won't."
    r, p, c = style.features(rewrite), style.features(plain), style.features(casual)
    assert r["formal_attribution_rate"] == pytest.approx(5 / 3)  # noted stating emph. expr. noting
    assert p["formal_attribution_rate"] == 0.0
    assert r["participle_attribution_rate"] == pytest.approx(3 / 3)  # stating, saying, noting
    assert p["participle_attribution_rate"] == 0.0
    assert r["possessive_rate"] > 0 and r["contraction_rate"] == 0.0
    assert c["contraction_rate"] == pytest.approx(3 / 13)  # don't, they've, won't (13 tokens)
    assert c["possessive_rate"] == pytest.approx(1 / 13)  # it's


def test_years_are_not_figures() -> None:
    """Models invent recent years: a year is neither a figure nor a date signal."""
    plain = "The plant opened and the workers came back to the line for the new van."
    dated = "The plant opened in 2019 and the workers came back in 2024 for the new van."
    counted = "The plant opened with 340 staff and 1,200 more came back for the 2 new vans."
    assert style.features(dated)["digit_density"] == style.features(plain)["digit_density"] == 0
    assert style.features(counted)["digit_density"] > 0
    assert "date_rate" not in style.FEATURES


def test_sentence_rhythm() -> None:
    even = " ".join(["The new van has a larger battery and a longer range."] * 12)
    uneven = " ".join(
        [
            "It sold well.",
            "The new van, which the company built at its plant outside the city over two"
            " years and at a cost nobody will confirm, has a larger battery than the last.",
        ]
        * 6
    )
    a, b = style.features(even), style.features(uneven)
    assert a["sentence_length_cv"] == 0.0 and a["burstiness"] == 0.0
    assert b["sentence_length_cv"] > 0.5 and b["burstiness"] > 1.0


def test_headings_do_not_count_as_sentences() -> None:
    """Lines without terminal punctuation (headings, bylines) are left out of the rhythm."""
    body = " ".join(["The new van has a larger battery and a longer range."] * 6)
    with_headings = f"Range Test\n{body}\nWhat It Costs\n{body}"
    assert style.features(with_headings)["sentence_length_cv"] == 0.0


def test_short_texts_are_never_suspected() -> None:
    short = " ".join(STOCK.split()[:120])
    assert style.style_score(short) > style.THRESHOLD  # the score is still computed
    assert not style.is_suspected(short)


def test_top_signals_explain_in_words() -> None:
    signals = style.top_signals(STOCK)
    assert 1 <= len(signals) <= 3
    pushes = [push for _, push in signals]
    assert pushes == sorted(pushes, reverse=True)
    names = [name for name, _ in signals]
    stock = [name for name in names if name.startswith("frequent stock phrases (e.g. '")]
    assert stock, names
    example = stock[0].split("'")[1]
    assert example in STOCK.lower()
    assert len(style.top_signals(STOCK, n=5)) <= 5
    assert style.top_signals(STOCK, n=0) == []


def test_top_signals_say_each_thing_once() -> None:
    """'sparse "said"' and 'little attributed speech' are one signal: only one is shown,
    and so for sentence rhythm, 'This' openers and the first-person voice."""
    everything = [name for name, _ in style.top_signals(STOCK, n=len(style.FEATURES))]
    attributed = [n for n in everything if "attributed speech" in n or n == "sparse 'said'"]
    assert len(attributed) == 1, everything
    rhythm = [n for n in everything if "sentence length" in n or "sentence rhythm" in n]
    assert len(rhythm) <= 1, everything
    openers = [
        n for n in everything if "'This'" in n or n in ("frequent 'this'", "frequent 'these'")
    ]
    assert len(openers) == 1, everything
    voice = [n for n in everything if "first-person" in n or n in ("sparse 'i'", "sparse 'we'")]
    assert len(voice) <= 1, everything


def test_shipped_coefficients_are_small_and_match() -> None:
    path = Path(style.__file__).with_name("style.json")
    assert path.stat().st_size < 20_000
    model = json.loads(path.read_text(encoding="utf-8"))
    assert model["features"] == list(style.FEATURES)
    assert len(model["weights"]) == len(model["mean"]) == len(model["std"]) == len(style.FEATURES)
    assert model["threshold"] == style.THRESHOLD >= model["threshold_cv"]


# --- fit script plumbing (no corpus) --------------------------------------------------


def test_scored_part_drops_the_shared_opening() -> None:
    human = "Alpha beta gamma delta said the man. He left early. Then he came back"
    model = "Alpha beta gamma delta were there too. Nobody saw them.\nThey left."
    shared = fit_style.shared_words(human, model)
    assert shared == 4
    assert fit_style.scored_part(human, shared) == "He left early."
    assert fit_style.scored_part(model, shared) == "Nobody saw them.\nThey left."
    assert (
        fit_style.scored_part(model, shared, "words")
        == " were there too. Nobody saw them.\nThey left."
    )
    assert fit_style.scored_part(model, shared, "none") == model


def test_auroc_and_threshold() -> None:
    assert fit_style.auroc([3.0, 4.0], [1.0, 2.0]) == 1.0
    assert fit_style.auroc([1.0], [1.0]) == 0.5
    assert fit_style.auroc([1.0, 2.0], [3.0, 4.0]) == 0.0
    assert math.isnan(fit_style.auroc([], [1.0]))
    humans = [float(i) for i in range(200)]  # 1% of 200 = 2 may pass
    cut = fit_style.threshold_at(humans)
    assert sum(h >= cut for h in humans) == 2
    assert fit_style.threshold_at([1.0] * 50) > 1.0  # ties: nobody passes


def test_model_signal_queue_and_zero_shot_cuts(tmp_path: Path) -> None:
    """bench/model_signal.py without a model: the scoring order, the checkpoint reader
    and the zero-shot cuts (1% of the other folds' humans, raised for the pages)."""
    rows = [{"text": f"human {i}", "gen": "human", "ai": False, "fold": i % 5} for i in range(300)]
    rows += [{"text": f"gpt {i}", "gen": "gpt-4", "ai": True, "fold": i % 5} for i in range(50)]
    rows += [{"text": f"dav {i}", "gen": "davinci", "ai": True, "fold": i % 5} for i in range(50)]
    rows += [{"text": f"page {i}", "gen": "page", "ai": False, "fold": -1} for i in range(10)]
    order = model_signal.queue(rows, humans=20, per_generator=5)
    groups = [r["gen"] for r in order]
    assert groups[:30].count("human") == 20 and "page" not in groups[:30]
    assert groups[30:40] == ["page"] * 10
    assert groups[40:85] == ["davinci"] * 45  # the weak generators before the rest
    assert len(order) == len(rows) and {id(r) for r in order} == {id(r) for r in rows}
    for i, row in enumerate(rows):  # humans 0..299; half the AI texts above them all
        row["score"] = float(i) if not row["ai"] else (1000.0 if i % 2 else 295.5)
    # 2 of the 240 other-fold humans may pass: in every fold the cut is above 296
    table = model_signal.evaluate(rows[:-10])
    assert table["gpt-4"]["tpr"] == 0.5 and table["gpt-4"]["auroc"] == pytest.approx(
        0.5 + 0.5 * 296 / 300
    )
    table = model_signal.evaluate(rows[:-10], [2000.0] * 10)  # pages above every text
    assert table["davinci"]["tpr_pages"] == 0.0
    checkpoint = tmp_path / "stats.jsonl"
    line = json.dumps({"key": model_signal.key("a  b"), "curvature": 1.5})
    checkpoint.write_text(line + "\n" + line[:-3], encoding="utf-8")  # last line unfinished
    assert model_signal.load_stats([checkpoint]) == {model_signal.key("a b"): json.loads(line)}


def test_fit_separates_and_matches_the_pure_python_score() -> None:
    """scikit-learn fits; the shipped arithmetic (Fit.logit, as style.py does it) agrees."""
    rng = np.random.default_rng(0)
    human = rng.normal(0.0, 1.0, size=(60, 2))
    ai = rng.normal(1.5, 1.0, size=(60, 2))
    matrix = np.vstack([human, ai])
    labels = np.array([False] * 60 + [True] * 60)
    model = fit_style.fit(matrix, labels)
    assert all(w > 0 for w in model.weights)
    batch = model.logits(matrix)
    one_by_one = [model.logit(list(row)) for row in matrix]
    assert np.allclose(batch, one_by_one)
    assert fit_style.auroc(batch[labels].tolist(), batch[~labels].tolist()) > 0.8


def test_folds_keep_an_article_together() -> None:
    rows = [
        fit_style.Row(f"a{i % 7}", "gpt-4", "ai" if i % 2 else "human", "x.jsonl", "")
        for i in range(40)
    ]
    folds = fit_style.article_folds(rows, 3)
    by_article: dict[str, set[int]] = {}
    for row, fold in zip(rows, folds, strict=True):
        by_article.setdefault(row.article, set()).add(fold)
    assert all(len(f) == 1 for f in by_article.values())
    assert set(folds) == {0, 1, 2}


def test_floors_gate() -> None:
    cells = {"gpt-4": {"tpr": 0.9, "auroc": 0.99}, "davinci": {"tpr": 0.2, "auroc": 0.7}}
    summary = {"generators": cells, "mean_tpr": 0.55, "min_tpr": 0.2, "heldout_fpr": 0.03}
    floors = {"mean_tpr": 0.5, "tpr_gpt-4": 0.85, "max_fpr": 0.02, "tpr_davinci": 0.3}
    assert [f.split(" ")[0] for f in fit_style.failures(summary, floors)] == [
        "max_fpr",
        "tpr_davinci",
    ]
    assert fit_style.failures(summary, {"mean_tpr": 0.5, "tpr_gpt-4": 0.85}) == []


# --- corpus -----------------------------------------------------------------------------


def _corpus(*parts: str) -> Path:
    """A path in ../shared/corpus, or a clean skip where it is absent."""
    path = CORPUS.joinpath(*parts)
    if not path.exists():
        pytest.skip("../shared/corpus is absent")
    return path


@pytest.mark.corpus
def test_leave_one_generator_out_meets_the_pinned_floors() -> None:
    """``bench/fit_style.py --check``: every generator held out in turn (~30 s)."""
    corpus = _corpus("ai-text")
    started = time.perf_counter()
    _, summary = fit_style.logo_summary(fit_style.Options(corpus=corpus))
    assert fit_style.failures(summary) == [], summary
    assert set(summary["generators"]) >= {"claude-3-opus-20240229", "gpt-4o", "davinci"}
    assert time.perf_counter() - started < 120


@pytest.mark.corpus
def test_at_most_one_percent_of_human_pages_suspected() -> None:
    """The issue's bar, on the hand-checked article bodies of 119 real pages."""
    truth = json.loads(_corpus("extraction", "ground-truth.json").read_text(encoding="utf-8"))
    bodies = [page["articleBody"] for page in truth.values()]
    long_enough = [b for b in bodies if style.word_count(b) >= style.MIN_WORDS]
    assert len(long_enough) >= 100
    suspected = sum(style.is_suspected(body) for body in long_enough)
    assert suspected <= 0.01 * len(long_enough)


@pytest.mark.corpus
def test_seed_articles() -> None:
    """The human FT column is not suspected and reads less model-like than the AI piece."""
    seeds = _corpus("seeds")
    human = next(seeds.glob("000_*.txt")).read_text(encoding="utf-8")
    machine = next(seeds.glob("003_*.txt")).read_text(encoding="utf-8")
    assert not style.is_suspected(human)
    assert style.style_score(machine) > style.style_score(human) + 0.2


def test_other_humans_leave_out_the_sites_of_the_pages(tmp_path: Path) -> None:
    """Humans of other outlets are fitted, but never from a site the page check uses."""
    (tmp_path / "ai-text").mkdir()
    (tmp_path / "clusters").mkdir()
    (tmp_path / "extraction").mkdir()
    pages = {"p1": {"url": "https://www.kept-apart.example/a", "articleBody": "x"}}
    (tmp_path / "extraction" / "ground-truth.json").write_text(json.dumps(pages))
    records = [
        {"id": "1", "url": "https://kept-apart.example/b", "text": "Seen  site.\nNo."},
        {"id": "2", "url": "https://other.example/c", "text": "The mayor  said\nno."},
    ]
    (tmp_path / "clusters" / "giveme5w1h-news-cluster.jsonl").write_text(
        "\n".join(json.dumps(r) for r in records)
    )
    rows = fit_style.other_humans(tmp_path / "ai-text")
    assert [(r.article, r.label, r.text) for r in rows] == [
        ("g5w-2", "human", "The mayor said no.")
    ]


# Every alternative of the stock-phrase and attribution patterns, as a writer may case it.
STOCK_WORDS = """delve delves delved delving tapestry pivotal crucial crucially landscape
landscapes underscore underscores underscored underscoring notably furthermore moreover
additionally in-conclusion it-is-important-to-note it-is-worth-to-note it-is-crucial-to-note
it-is-essential-to-note it's-worth-noting it-is-worth-noting navigate navigates navigating
robust seamless seamlessly comprehensive realm vibrant showcase showcases showcased
showcasing foster fosters fostered fostering significant significantly ensure ensures
ensuring enhance enhances enhanced enhancing enhancement highlight highlights highlighted
highlighting emphasise emphasize emphasises emphasized emphasising emphasizing commitment
testament valuable invaluable essential innovative innovation ultimately various vital
stark-reminder serve-as serves-as paving-the-way strive strives striving unwavering
profound profoundly intricate multifaceted holistic leverage leverages leveraging synergy
synergies poised transformative ever-evolving cutting-edge game-changer shed-light
sheds-light amidst bolster bolsters bolstered bolstering resonate resonates resonating
embark embarks embarked embarking meticulous meticulously paramount myriad plethora
noteworthy elevate elevates elevating streamline streamlines streamlining harness harnesses
harnessing spearhead spearheads spearheaded spearheading nuanced bustling in-today's
remarkable commendable dedication said says told according-to added adds explained insisted
warned claimed noted noting stated stating expressed expressing emphasised emphasising
revealed revealing reportedly clarified clarifying acknowledged acknowledging asserted
asserting affirmed affirming underscored indicated indicating"""


@pytest.mark.parametrize(
    ("fast", "plain"),
    [
        (style._STOCK, rf"\b(?:{style._STOCK_PATTERNS})\b"),
        (style._ATTRIBUTION, style._ATTRIBUTION.pattern.replace("(?=[acestiw])", "")),
        (
            style._FORMAL_ATTRIBUTION,
            style._FORMAL_ATTRIBUTION.pattern.replace("(?=[acehinrsu])", ""),
        ),
    ],
    ids=["stock", "attribution", "formal-attribution"],
)
def test_first_letter_lookaheads_keep_every_match(fast: re.Pattern[str], plain: str) -> None:
    """The lookahead in front of each alternation only skips positions where no
    alternative can start: every word, in every casing (a Unicode long s and a Kelvin sign
    too, which fold to ASCII letters), is matched the same with and without it."""
    slow = re.compile(plain, re.IGNORECASE)
    assert fast.pattern != plain
    words = [w.replace("-", " ") for w in STOCK_WORDS.split()]
    casings: list[Callable[[str], str]] = [
        str.lower,
        str.title,
        str.upper,
        lambda w: w.replace("s", "\u017f"),
    ]
    text = ". ".join(f"It was {case(w)}, ({case(w)})" for w in words for case in casings)
    text += " \u212aey steps, \u017faid the firm; Said, SAID."
    assert fast.findall(text) == slow.findall(text)
    assert len(slow.findall(text)) >= 40  # it does match the words
