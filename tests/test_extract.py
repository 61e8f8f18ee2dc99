"""Extraction stage: page text and metadata, paywall labels, bad input, feed fallbacks."""

from __future__ import annotations

import importlib.util
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import lxml.html
import pytest
import trafilatura

from digest import extract
from digest.extract import JSON_KEYS, Page, extract_json, extract_page, to_article
from digest.models import Entry

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
BENCH = Path(__file__).resolve().parents[1] / "bench" / "eval_extraction.py"
URL = "https://cars.example/news/2024/03/05/hatchback-review"

PARAGRAPHS = (
    "The fourth-generation hatchback arrives with a longer wheelbase, a quieter cabin and a "
    "hybrid drivetrain that the maker says cuts fuel use by a fifth in town driving.",
    "On a wet test loop outside the factory the steering felt light but precise, and the "
    "regenerative brakes blended smoothly with the friction brakes at low speed.",
    "Rear passengers gain four centimetres of knee room, while the boot grows to 410 litres "
    "thanks to a battery pack tucked beneath the back seat rather than under the floor.",
    "Prices start slightly above the outgoing model, and deliveries to dealers are planned "
    "for early summer, with a plug-in version following before the end of the year.",
)
BODY = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)


def page_html(
    *, head: str = "", article: str = BODY, extra: str = "", charset: str = "utf-8"
) -> str:
    """A news page: nav, cookie banner, article, comments and footer around `article`."""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="{charset}">
<title>Hatchback review: quieter, roomier, thriftier | Cars Example</title>
<meta property="og:title" content="Hatchback review: quieter, roomier, thriftier">
<meta property="og:site_name" content="Cars Example">
<meta property="og:image" content="https://cars.example/img/hatchback.jpg">
<meta name="description" content="We drive the new hybrid hatchback.">
<meta name="author" content="Jane Driver">
<meta property="article:published_time" content="2024-03-05T09:30:00+01:00">
<link rel="canonical" href="{URL}">
{head}
</head><body>
<header class="site-header"><nav><a href="/">Home</a> <a href="/news">News</a>
<a href="/reviews">Reviews</a> <a href="/login">Log in</a></nav></header>
<div id="cookie-banner" class="cookie-consent">We use cookies to improve your experience.
<button>Accept all cookies</button></div>
<main><article><h1>Hatchback review: quieter, roomier, thriftier</h1>
<p class="byline">By Jane Driver</p>
{article}
</article>
{extra}
<section id="comments" class="comments"><h2>Comments</h2>
<div class="comment"><p>Reader Bob: my old one never broke down once in ten years.</p></div>
</section></main>
<footer class="site-footer"><p>Copyright Cars Example. All rights reserved.</p>
<a href="/privacy">Privacy policy</a></footer>
</body></html>"""


def ld_json(data: object) -> str:
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


def entry(**changes: object) -> Entry:
    values: dict[str, object] = {
        "url": URL,
        "feed_url": "https://cars.example/feed.xml",
        "source": "Cars Example feed",
        "title": "Feed title: hatchback review",
        "summary": "A short summary from the feed.",
        "content": "",
        "author": "Feed Author",
        "published": datetime(2024, 3, 5, 8, 45, tzinfo=UTC),
    }
    values.update(changes)
    return Entry(**values)  # type: ignore[arg-type]


def make_page(**changes: object) -> Page:
    values: dict[str, object] = {
        "title": "Page title",
        "text": " ".join(PARAGRAPHS),
        "author": "Jane Driver",
        "date": datetime(2024, 3, 1, tzinfo=UTC),
        "sitename": "Cars Example",
        "description": "Page description",
        "image": "https://cars.example/img/hatchback.jpg",
        "url": URL,
        "paywalled": False,
    }
    values.update(changes)
    return Page(**values)  # type: ignore[arg-type]


# --- article pages --------------------------------------------------------------------------


def test_article_text_without_boilerplate() -> None:
    page = extract_page(page_html().encode(), URL)
    assert page is not None
    for paragraph in PARAGRAPHS:
        assert paragraph in page.text
    for boilerplate in ("Accept all cookies", "Reader Bob", "Privacy policy", "Reviews"):
        assert boilerplate not in page.text
    assert not page.paywalled


def test_article_metadata() -> None:
    page = extract_page(page_html(), URL)
    assert page is not None
    assert page.title == "Hatchback review: quieter, roomier, thriftier"
    assert page.author == "Jane Driver"
    assert page.sitename == "Cars Example"
    assert page.description == "We drive the new hybrid hatchback."
    assert page.image == "https://cars.example/img/hatchback.jpg"
    assert page.url == URL
    assert page.date == datetime(2024, 3, 5, 8, 30, tzinfo=UTC)
    assert page.date.tzinfo is UTC


def test_latin1_bytes_with_utf8_meta() -> None:
    german = "Der Kombi überzeugt mit größerem Kofferraum, äußerst sparsam und günstig. " * 6
    html = page_html(article=f"<p>{german}</p>{BODY}").replace("Hatchback review", "Über")
    page = extract_page(html.encode("latin-1"), URL)
    assert page is not None
    assert page.title.startswith("Über")
    assert "überzeugt mit größerem Kofferraum, äußerst" in page.text
    assert "\ufffd" not in page.text


def test_declared_single_byte_charset_is_used() -> None:
    russian = "Новый электромобиль проезжает пятьсот километров без подзарядки. " * 8
    html = page_html(article=f"<p>{russian}</p>", charset="windows-1251")
    page = extract_page(html.encode("cp1251"), URL)
    assert page is not None
    assert "Новый электромобиль" in page.text


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"   \n\t ",
        "",
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n" + bytes(range(256)),
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4,
        os.urandom(4096),
        b"just some words in a file, no markup",
        b'{"title": "not a page"}',
    ],
    ids=["empty", "blank", "empty-str", "pdf", "png", "junk", "plain-text", "json"],
)
def test_unusable_input_gives_none(data: bytes | str) -> None:
    assert extract_page(data, URL) is None


def test_oversized_page_gives_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(extract, "MAX_BYTES", 1000)
    assert extract_page(page_html().encode(), URL) is None


def test_too_many_elements_gives_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(extract, "MAX_ELEMENTS", 20)
    assert extract_page(page_html(), URL) is None


@pytest.fixture
def passes(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The keyword arguments of every trafilatura pass made during the test."""
    calls: list[dict[str, Any]] = []
    real = trafilatura.bare_extraction

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(trafilatura, "bare_extraction", spy)
    return calls


def test_a_short_precise_text_that_kept_the_paragraphs_needs_one_pass(
    passes: list[dict[str, Any]],
) -> None:
    """Under PRECISE_ENOUGH_WORDS, but holding most of the page's paragraph text: nothing
    shows a lost body, so no second pass."""
    page = extract_page(page_html(), URL)
    assert page is not None
    assert PARAGRAPHS[0] in page.text
    assert [(c["favor_precision"], c["with_metadata"]) for c in passes] == [(True, False)]


LOST = "".join(
    f"<p>Archive note {n}: the dealer network listed every trim level, option pack and "
    "colour for the model year, with prices, delivery windows and the warranty terms.</p>"
    for n in range(12)
)


@pytest.mark.parametrize(
    ("extra", "floor"),
    [
        (f'<div class="comments">{LOST}</div>', extract.PRECISE_FLOOR_WORDS),
        ("", 200),  # a precise text under the floor
    ],
    ids=["paragraphs-left-out", "very-short"],
)
def test_a_precise_text_that_lost_the_body_gets_a_balanced_pass(
    passes: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, extra: str, floor: int
) -> None:
    """Precision first; a short result that left out over half of the page's paragraph
    text, or is very short, may have lost the body: a balanced pass decides. Neither reads
    the metadata (read once, beside them)."""
    monkeypatch.setattr(extract, "PRECISE_FLOOR_WORDS", floor)
    assert extract_page(page_html(extra=extra), URL) is not None
    modes = [(c["fast"], c["favor_precision"], c["with_metadata"]) for c in passes]
    assert modes == [(False, True, False), (False, False, False)]


def test_a_long_precise_text_needs_one_pass(
    passes: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(extract, "PRECISE_ENOUGH_WORDS", 5)
    assert extract_page(page_html(), URL) is not None
    assert [(c["favor_precision"], c["with_metadata"]) for c in passes] == [(True, False)]


def test_big_tree_gets_one_fast_pass(
    passes: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(extract, "FULL_MODE_MAX_ELEMENTS", 20)
    page = extract_page(page_html(), URL)
    assert page is not None
    assert PARAGRAPHS[0] in page.text
    assert [(c["fast"], c["favor_precision"]) for c in passes] == [(True, False)]


METADATA_PAGES = {
    "as-written": page_html(),
    "entities-and-handle": page_html()
    .replace('content="Cars Example"', 'content="@carsexample"')
    .replace('content="Jane Driver"', 'content="Jane &amp; John  Driver"'),
    "no-head-metadata": "<html><head><title>Plain &amp; simple: a title</title></head>"
    f"<body><article><h1>Plain and simple</h1>{BODY}</article></body></html>",
    "single-word-author": page_html().replace('content="Jane Driver"', 'content="staff"'),
}


@pytest.mark.parametrize("name", sorted(METADATA_PAGES))
def test_metadata_is_trafilaturas_for_the_fields_kept(name: str) -> None:
    """`_metadata` reads only the fields a Page keeps, and reads them as trafilatura's own
    extract_metadata does (a new trafilatura that reads them otherwise fails here)."""
    parsed = extract.parse_page(METADATA_PAGES[name], URL)
    assert parsed is not None
    before = lxml.html.tostring(parsed.tree)
    ours = extract._metadata(parsed.tree, URL)
    theirs = trafilatura.extract_metadata(parsed.tree, URL, extract._date_params())
    fields = ("title", "author", "date", "sitename", "description", "image", "url")
    assert [getattr(ours, f) for f in fields] == [getattr(theirs, f) for f in fields]
    assert ours.title  # the pages do have one
    assert lxml.html.tostring(parsed.tree) == before  # the tree is read, not changed


def test_metadata_falls_back_to_extract_metadata_when_trafilaturas_helpers_move(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A trafilatura whose module-level helpers moved costs speed, not the page."""
    parsed = extract.parse_page(METADATA_PAGES["as-written"], URL)
    assert parsed is not None
    fast = extract._metadata(parsed.tree, URL)

    def moved(*args: object) -> None:  # as a helper renamed in a later trafilatura fails
        raise AttributeError("module 'trafilatura.metadata' has no attribute 'examine_meta'")

    monkeypatch.setattr(extract, "_fields", moved)
    assert extract._metadata(parsed.tree, URL) == fast
    page = extract.read_page(extract.parse_page(page_html(), URL) or parsed, URL)
    assert page is not None and page.title and page.text


def test_never_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("trafilatura broke")

    monkeypatch.setattr(trafilatura, "bare_extraction", boom)
    assert extract_page(page_html(), URL) is None
    assert extract_json(page_html(), URL)["text"] == ""


# --- paywalls -------------------------------------------------------------------------------

TEASER = f"<p>{PARAGRAPHS[0]}</p><p>{PARAGRAPHS[1]}</p>"
IN_GRAPH = {
    "@context": "https://schema.org",
    "@graph": [
        {"@type": "WebSite", "name": "Cars Example"},
        {"@type": "NewsArticle", "isAccessibleForFree": "False"},
    ],
}
IN_PART = {
    "@type": "NewsArticle",
    "isAccessibleForFree": True,
    "hasPart": [{"@type": "WebPageElement", "isAccessibleForFree": "false", "cssSelector": ".x"}],
}


@pytest.mark.parametrize(
    "head",
    [
        ld_json({"@type": "NewsArticle", "headline": "x", "isAccessibleForFree": False}),
        ld_json(IN_GRAPH),
        ld_json(IN_PART),
        '<script type="application/ld+json">{"@type": "NewsArticle",'
        ' "isAccessibleForFree": false, }</script>',  # broken JSON, still read
        '<meta itemprop="isAccessibleForFree" content="false">',
    ],
    ids=["json-ld", "graph", "has-part", "broken-json-ld", "microdata"],
)
def test_paywall_from_structured_data(head: str) -> None:
    page = extract_page(page_html(head=head, article=TEASER), URL)
    assert page is not None
    assert page.paywalled


@pytest.mark.parametrize(
    "extra",
    [
        '<div class="article-paywall"><h3>Unlock this story</h3><a href="/s">Join</a></div>',
        '<div id="regwall-overlay"><p>Create a free account to keep going.</p></div>',
        '<div class="c-Premium-Content-gate"><p>Members get unlimited access.</p></div>',
        "<aside><p>Subscribe to continue reading.</p><a href='/s'>See plans</a></aside>",
        "<div><p>This article is for subscribers only.</p></div>",
        "<div><p>Already a subscriber? <a href='/login'>Log in</a></p></div>",
        "<div><p>Subscribe today to read the full article and more.</p></div>",
    ],
    ids=["class", "id", "class-case", "phrase", "subscribers", "log-in", "full-article"],
)
def test_paywall_from_markup(extra: str) -> None:
    page = extract_page(page_html(article=TEASER, extra=extra), URL)
    assert page is not None
    assert page.paywalled


@pytest.mark.parametrize(
    "extra",
    [
        '<div class="newsletter-signup" id="subscribe-box"><h3>Subscribe to our newsletter</h3>'
        "<p>Get the week's car news in your inbox. Sign up for free.</p>"
        '<form action="/subscribe"><input type="email" name="email">'
        "<button>Subscribe</button></form></div>",
        '<div id="piano-inline"></div><div class="tp-modal paywall-modal"></div>',
        '<div class="header"><div class="paywall-header-wrap"><a>Log in</a></div></div>',
        "<nav><p>Already a subscriber? <a href='/login'>Log in</a></p></nav>",
        "<p>Click here to read the full article on the maker's site.</p>",
        ld_json({"@type": "NewsArticle", "isAccessibleForFree": True}),
    ],
    ids=["newsletter", "empty-shells", "header-login", "nav-login", "read-more", "free"],
)
def test_not_a_paywall(extra: str) -> None:
    page = extract_page(page_html(extra=extra), URL)
    assert page is not None
    assert not page.paywalled


def test_short_page_alone_is_not_paywalled() -> None:
    page = extract_page(page_html(article=f"<p>{PARAGRAPHS[0]}</p>"), URL)
    assert page is not None
    assert not page.paywalled


# --- to_article -----------------------------------------------------------------------------


def test_article_from_page() -> None:
    article = to_article(entry(), make_page(), weight=2.0)
    assert article.method == "page"
    assert article.text == " ".join(PARAGRAPHS)
    assert article.title == "Feed title: hatchback review"
    assert (article.author, article.sitename) == ("Jane Driver", "Cars Example")
    assert article.date == datetime(2024, 3, 1, tzinfo=UTC)
    assert (article.url, article.source, article.weight) == (URL, "Cars Example feed", 2.0)
    assert article.image == "https://cars.example/img/hatchback.jpg"


def test_no_page_falls_back_to_feed_content() -> None:
    content = "The full text of the story, as the feed carries it."
    article = to_article(entry(content=content), None)
    assert (article.method, article.text) == ("feed", content)
    assert (article.author, article.sitename) == ("Feed Author", "Cars Example feed")
    assert article.date == datetime(2024, 3, 5, 8, 45, tzinfo=UTC)
    assert article.title == "Feed title: hatchback review"
    assert not article.paywalled


def test_no_page_no_content_uses_summary() -> None:
    article = to_article(entry(), None)
    assert (article.method, article.text) == ("feed", "A short summary from the feed.")


def test_feed_text_is_the_longer_of_content_and_summary() -> None:
    article = to_article(entry(content="Read more"), None)
    assert article.text == "A short summary from the feed."


def test_longer_feed_text_wins() -> None:
    long_feed = " ".join(PARAGRAPHS * 2)
    article = to_article(entry(content=long_feed), make_page(paywalled=True))
    assert (article.method, article.text) == ("feed", long_feed)
    assert article.paywalled


def test_empty_page_text_falls_back() -> None:
    article = to_article(entry(content=" ".join(PARAGRAPHS[:1])), make_page(text=""))
    assert (article.method, article.text) == ("feed", PARAGRAPHS[0])


def test_title_falls_back_to_page_when_feed_has_none() -> None:
    assert to_article(entry(title="  "), make_page()).title == "Page title"


def test_missing_page_metadata_falls_back_to_entry() -> None:
    page = make_page(author="", sitename="", date=None, description="")
    article = to_article(entry(), page)
    assert (article.author, article.sitename) == ("Feed Author", "Cars Example feed")
    assert article.date == datetime(2024, 3, 5, 8, 45, tzinfo=UTC)
    assert article.description == "A short summary from the feed."


def test_same_day_keeps_the_feeds_time() -> None:
    page = make_page(date=datetime(2024, 3, 5, tzinfo=UTC))
    assert to_article(entry(), page).date == datetime(2024, 3, 5, 8, 45, tzinfo=UTC)


# --- extract_json ---------------------------------------------------------------------------


def test_extract_json_keys_and_types() -> None:
    result = extract_json(page_html().encode(), URL)
    assert set(result) == set(JSON_KEYS)
    assert result["date"] == "2024-03-05T08:30:00+00:00"
    assert result["url"] == URL
    assert result["paywalled"] is False
    assert PARAGRAPHS[2] in str(result["text"])
    json.dumps(result)


def test_extract_json_of_nothing() -> None:
    result = extract_json(b"", None)
    assert result == {
        "title": "",
        "text": "",
        "author": "",
        "date": None,
        "sitename": "",
        "url": "",
        "paywalled": False,
    }


def test_extract_json_missing_values_are_empty_strings() -> None:
    html = page_html().replace('<meta name="author" content="Jane Driver">', "")
    html = html.replace('<p class="byline">By Jane Driver</p>', "")
    result = extract_json(html, None)
    assert result["author"] == ""
    assert result["url"] == URL  # the canonical link


# --- the benchmark --------------------------------------------------------------------------


def load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("eval_extraction", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_metric_matches_the_benchmark_definition() -> None:
    bench = load_bench()
    assert bench.match("a b c d e", "a b c d e") == (1.0, 0.0, 0.0)
    assert bench.match("a b c d e", "") == (0.0, 0.0, 1.0)  # empty prediction: all missed
    assert bench.match("", "") == (0.0, 0.0, 0.0)
    assert bench.match("one two", "one two") == (1.0, 0.0, 0.0)  # short text: one shingle
    tp, fp, fn = bench.match("a b c d e f", "a b c d x")  # 3 true shingles, 2 predicted
    assert (tp, fp, fn) == pytest.approx((1 / 4, 1 / 4, 2 / 4))
    scores = [(1.0, 0.0, 0.0), (0.0, 0.0, 1.0)]  # second page: nothing predicted
    assert bench.metrics(scores) == {"f1": pytest.approx(2 / 3), "precision": 1.0, "recall": 0.5}


@pytest.mark.corpus
def test_not_worse_than_plain_trafilatura() -> None:
    corpus = CORPUS / "extraction"
    if not (corpus / "ground-truth.json").is_file():
        pytest.skip(f"corpus absent: {corpus}")
    results = load_bench().evaluate(corpus)
    assert results["ours"]["pages"] == results["plain"]["pages"] > 100
    assert results["ours"]["f1"] >= results["plain"]["f1"]
