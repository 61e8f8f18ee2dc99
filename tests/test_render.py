"""The render stage: HTML, plain text and Markdown from a Digest, and the default theme."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import jinja2
import markdown
import pytest

from digest.models import Article, Digest, Story, Summary
from digest.render import (
    Rendered,
    RenderError,
    TemplateNotFoundError,
    daterange,
    find_theme_dir,
    format_date,
    host,
    make_environment,
    markdown_to_html,
    md_escape,
    reading_minutes,
    render,
    safe_url,
    wrap,
)

HOSTILE = "<script>alert(1)</script> \"onerror=alert(2) x='y' & ]]> [brackets] *stars*"


def _story(n: int, title: str, source: str, url: str, words: int, summary: str) -> Story:
    article = Article(
        url=url,
        source=source,
        feed_url=f"https://feeds.example.com/{n}.xml",
        title=title,
        text=" ".join(["word"] * words),
        method="page",
        date=datetime(2026, 11, 9 + n, 8, 15, tzinfo=UTC),
        image="https://cdn.example.com/picture.jpg",
    )
    return Story(article=article, summary=Summary(text=summary, method="extractive"), score=n)


def make_digest(**changes: object) -> Digest:
    stories = (
        _story(
            1,
            "Volvo moves its smallest electric SUV's production to Ghent as tariffs bite",
            "Autocar",
            "https://www.autocar.co.uk/car-news/business/volvo-ex30-production-moves-to-ghent",
            1150,
            "Volvo will build the EX30 in Belgium from next spring rather than import it from "
            "China, a move the company says protects margins as the EU's duties on Chinese-built "
            "electric cars take effect. The Ghent plant will add a third shift.\n\n"
            "Analysts expect other Chinese-owned brands to follow.",
        ),
        _story(
            2,
            "Solid-state batteries: why the 2027 deadline keeps slipping",
            "Electrive",
            "https://www.electrive.com/2026/11/11/solid-state-batteries-the-2027-deadline-keeps"
            "-slipping-and-suppliers-explain-why/?ref=feed",
            2300,
            "Carmakers have promised solid-state cells by 2027. Suppliers say separator yields "
            "are still below 60 per cent; details at https://www.electrive.com/2026/11/11/"
            "solid-state-yields-explained-by-the-suppliers-themselves-in-a-long-interview/ "
            "and the first cars will be low-volume halo models.",
        ),
        _story(
            3,
            "Used-car prices fall for a third month",
            "Financial Times",
            "https://www.ft.com/content/used-car-prices-fall",
            120,
            "Average used-car prices fell 1.8 per cent in October as lease returns hit forecourts.",
        ),
    )
    digest = Digest(
        id="autos-weekly-2026-W46",
        title="The Autos Weekly",
        editor="Jane Doe",
        editor_title="Motor Industry Editor",
        editor_line="Three stories worth your time this week, chosen by our motor industry editor.",
        language="en",
        timezone="Europe/London",
        period_start=datetime(2026, 11, 9, tzinfo=UTC),
        period_end=datetime(2026, 11, 16, tzinfo=UTC),
        generated_at=datetime(2026, 11, 15, 18, 0, tzinfo=UTC),
        stories=stories,
    )
    return replace(digest, **changes)  # type: ignore[arg-type]


def hostile_digest() -> Digest:
    digest = make_digest(title=f"Autos {HOSTILE}", editor_line=f"Editor says {HOSTILE}")
    first = digest.stories[0]
    article = replace(
        first.article,
        title=f"Title {HOSTILE}",
        source=f"Source {HOSTILE}",
        url="https://example.com/a?b=1&c=(2) x",
    )
    story = replace(first, article=article, summary=Summary(f"Summary {HOSTILE}", "extractive"))
    return replace(digest, stories=(story, *digest.stories[1:]))


class Collector(HTMLParser):
    """Tags, attributes and text of an HTML document, as a browser's tokenizer sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> Collector:
    collector = Collector()
    collector.feed(html)
    collector.close()
    return collector


@pytest.fixture(scope="module")
def rendered() -> Rendered:
    return render(make_digest())


# --- HTML ----------------------------------------------------------------------------


def test_html_is_email_shaped(rendered: Rendered) -> None:
    html = rendered.html
    doc = parse(html)
    assert html.startswith("<!DOCTYPE html>")
    assert '<html lang="en"' in html
    tables = [attrs for tag, attrs in doc.tags if tag == "table"]
    assert len(tables) >= 5
    assert all(attrs.get("role") == "presentation" for attrs in tables)
    assert "<script" not in html.lower()
    assert not any(tag == "link" for tag, _ in doc.tags)
    assert '<link rel="stylesheet"' not in html


def test_styles_are_inlined_and_media_rules_kept(rendered: Rendered) -> None:
    doc = parse(rendered.html)
    headlines = [a for tag, a in doc.tags if tag == "h2" and "story-title" in (a["class"] or "")]
    assert len(headlines) == 3
    assert all("font-family: Georgia" in (a.get("style") or "") for a in headlines)
    links = [a for tag, a in doc.tags if tag == "a" and "story-link" in (a["class"] or "")]
    assert all("color:" in (a.get("style") or "") for a in links)
    styles = "".join(re.findall(r"<style>(.*?)</style>", rendered.html, re.DOTALL))
    assert "@media (max-width: 620px)" in styles
    assert "@media (prefers-color-scheme: dark)" in styles
    assert "overflow-wrap" not in styles  # plain rules are inlined, not repeated in <head>
    assert rendered.html.index('<meta charset="utf-8">') < rendered.html.index("<style>")


def test_html_content(rendered: Rendered) -> None:
    html = rendered.html
    text = " ".join(parse(html).text)
    assert "9\u201315 November 2026" in text
    assert "The Autos Weekly" in text
    assert "Three stories worth your time" in text
    assert "5 min read" in text  # 1150 words at 230 a minute
    assert "1 min read" in text  # 120 words: never less than one
    assert "Read at Financial Times" in text
    assert 'href="https://www.ft.com/content/used-car-prices-fall"' in html
    assert "cdn.example.com/picture.jpg" not in html  # no images yet
    numbers = re.findall(r'class="story-number"[^>]*>(\d+)<', html)
    assert numbers == ["1", "2", "3"]
    assert "display:none" in html.replace(" ", "")  # the hidden preheader


def test_hostile_text_is_escaped_in_html() -> None:
    html = render(hostile_digest()).html
    doc = parse(html)
    assert "<script" not in html.lower()
    assert not any(tag == "script" for tag, _ in doc.tags)
    assert not any(name.startswith("on") for _, attrs in doc.tags for name in attrs)
    text = "".join(doc.text)
    for field in ("Autos", "Title", "Source", "Summary"):
        assert f"{field} {HOSTILE}" in text
    assert "Editor says <script>alert(1)</script>" in text  # Markdown, but no raw HTML
    hrefs = {a["href"] for tag, a in doc.tags if tag == "a"}
    assert "https://example.com/a?b=1&c=(2) x" in hrefs


def test_unsafe_urls_and_odd_characters_do_not_break_html() -> None:
    digest = hostile_digest()
    odd = replace(
        digest.stories[1].article,
        url="javascript:alert(1)",
        title="Nul\x00 and \ud800 surrogate",
        source="",
        date=None,
    )
    digest = replace(digest, stories=(digest.stories[0], replace(digest.stories[1], article=odd)))
    out = render(replace(digest, timezone="Not/AZone", language='en" onload="x'))
    out.html.encode("utf-8")
    assert "javascript:" not in out.html
    assert "\x00" not in out.html
    assert not any(name.startswith("on") for _, a in parse(out.html).tags for name in a)


# --- plain text ----------------------------------------------------------------------


def _is_url_line(line: str) -> bool:
    return bool(re.fullmatch(r"\s*https?://\S+", line))


def test_text_lines_fit_and_urls_stand_alone(rendered: Rendered) -> None:
    lines = rendered.text.splitlines()
    assert all(len(line) <= 78 for line in lines if not _is_url_line(line))
    assert any(len(line) > 78 for line in lines if _is_url_line(line))  # long URL, unbroken
    for story in make_digest().stories:
        assert any(line.strip() == story.article.url for line in lines)
    other = "https://www.electrive.com/2026/11/11/solid-state-yields-explained-by-the-suppliers"
    assert any(line.strip().startswith(other) for line in lines)
    for line in lines:
        if "http" in line:
            assert _is_url_line(line), line


def test_text_reads_like_a_letter(rendered: Rendered) -> None:
    text = rendered.text
    assert text.startswith("THE AUTOS WEEKLY\nIssue 1 \u00b7 9\u201315 November 2026\n")
    assert "\n1.  Volvo moves" in text
    assert "\n3.  Used-car prices fall for a third month\n" in text
    assert "Financial Times · 12 November · 1 min read" in text
    assert "\n\n\n\n" not in text
    assert "<" not in text and "&amp;" not in text


def test_hostile_text_survives_in_text_part() -> None:
    text = render(hostile_digest()).text
    assert "<script>alert(1)</script>" in text  # plain text is not HTML: nothing to escape
    assert "&lt;" not in text
    lines = text.splitlines()
    assert all(len(line) <= 78 for line in lines if not _is_url_line(line))
    assert "    https://example.com/a?b=1&c=(2)%20x" in lines  # a URL has no spaces


# --- Markdown ------------------------------------------------------------------------


def test_markdown_shape(rendered: Rendered) -> None:
    md = rendered.markdown
    assert md.startswith("# The Autos Weekly\n")
    assert "*Three stories worth your time" in md
    assert "### 1. [Volvo moves its smallest electric SUV's production to Ghent" in md
    assert "(https://www.ft.com/content/used-car-prices-fall)" in md
    assert "Financial Times · 12 November · 1 min read" in md


def test_hostile_title_does_not_break_markdown_link() -> None:
    md = render(hostile_digest()).markdown
    heading = next(line for line in md.splitlines() if line.startswith("### 1. "))
    html = markdown.markdown(heading)
    doc = parse(html)
    links = [a for tag, a in doc.tags if tag == "a"]
    assert len(links) == 1
    assert links[0]["href"] == "https://example.com/a?b=1&c=%282%29%20x"
    assert "".join(doc.text).strip() == f"1. Title {HOSTILE}"
    assert not any(tag in {"script", "em", "strong"} for tag, _ in doc.tags)
    body = parse(markdown.markdown(md))
    assert not any(tag == "script" for tag, _ in body.tags)


# --- user templates ------------------------------------------------------------------


def _differing_middles(a: str, b: str) -> tuple[str, str]:
    start = 0
    while start < min(len(a), len(b)) and a[start] == b[start]:
        start += 1
    end = 0
    while end < min(len(a), len(b)) - start and a[-1 - end] == b[-1 - end]:
        end += 1
    return a[start : len(a) - end], b[start : len(b) - end]


def test_user_template_overrides_one_block(tmp_path: Path, rendered: Rendered) -> None:
    (tmp_path / "digest.html.j2").write_text(
        '{% extends "default/digest.html.j2" %}\n'
        '{% block intro %}<tr><td class="intro">Hello from {{ digest.editor }}</td></tr>'
        "{% endblock %}\n",
        encoding="utf-8",
    )
    custom = render(make_digest(), tmp_path)
    old, new = _differing_middles(rendered.html, custom.html)
    assert "Hello from Jane Doe" in new
    assert "Three stories worth your time" in old
    line = "Three stories worth your time"
    assert custom.html.count(line) == rendered.html.count(line) - 1  # the preheader keeps it
    for untouched in ("The Autos Weekly", "Read at Autocar", "You are receiving this"):
        assert untouched not in old and untouched not in new
    assert custom.text == rendered.text
    assert custom.markdown == rendered.markdown


def test_user_partial_replaces_the_theme_one(tmp_path: Path) -> None:
    (tmp_path / "_story.html.j2").write_text(
        "<tr><td>{{ number }}: {{ story.article.title }}</td></tr>\n", encoding="utf-8"
    )
    text = parse(render(make_digest(), tmp_path).html).text
    assert "3: Used-car prices fall for a third month" in text
    assert not any("Read at" in chunk for chunk in text)  # the theme's story is gone


def test_missing_template_lists_every_directory(tmp_path: Path) -> None:
    user = tmp_path / "mine"
    user.mkdir()
    (user / "digest.html.j2").write_text('{% include "nowhere.html.j2" %}', encoding="utf-8")
    with pytest.raises(TemplateNotFoundError) as info:
        render(make_digest(), user)
    message = str(info.value)
    assert "nowhere.html.j2" in message
    assert message.index(str(user)) < message.index(str(find_theme_dir()))
    assert isinstance(info.value, RenderError)


def test_absent_user_dir_falls_back_to_the_theme(tmp_path: Path, rendered: Rendered) -> None:
    assert render(make_digest(), tmp_path / "absent") == rendered
    error = TemplateNotFoundError("digest.html.j2", [tmp_path / "absent", find_theme_dir()])
    assert f"1. {tmp_path / 'absent'} (does not exist)" in str(error)
    assert f"2. {find_theme_dir()}\n" not in str(error)
    assert str(error).endswith(f"2. {find_theme_dir()}")


def test_template_syntax_error_is_a_render_error(tmp_path: Path) -> None:
    (tmp_path / "digest.md.j2").write_text("{% if %}", encoding="utf-8")
    with pytest.raises(RenderError, match=r"digest\.md\.j2, line 1"):
        render(make_digest(), tmp_path)


def test_an_edited_template_is_compiled_again(tmp_path: Path) -> None:
    """Compiled templates are kept between runs: an owner's edit is never hidden by them."""
    template = tmp_path / "digest.txt.j2"
    template.write_text("First: {{ digest.editor }}\n", encoding="utf-8")
    assert render(make_digest(), tmp_path).text == "First: Jane Doe\n"
    template.write_text("Second: {{ digest.editor }}\n", encoding="utf-8")
    assert render(make_digest(), tmp_path).text == "Second: Jane Doe\n"


def test_compiled_templates_are_kept_and_a_lost_cache_costs_nothing(
    tmp_path: Path, rendered: Rendered, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = make_environment()
    cache = env.bytecode_cache
    assert isinstance(cache, jinja2.FileSystemBytecodeCache)
    env.get_template("digest.txt.j2")
    source, filename, _ = find_theme_loader().get_source(env, "digest.txt.j2")
    assert cache.get_bucket(env, "digest.txt.j2", filename, source).code is not None
    monkeypatch.setattr(cache, "directory", str(tmp_path / "removed"))  # a cleaned /tmp
    assert render(make_digest()) == rendered


def find_theme_loader() -> jinja2.FileSystemLoader:
    return jinja2.FileSystemLoader(find_theme_dir())


def test_theme_dir_is_the_checkout_templates() -> None:
    theme = find_theme_dir()
    assert (theme / "digest.html.j2").is_file()
    assert (theme / "base.html.j2").is_file()


# --- filters -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (datetime(2026, 11, 9), datetime(2026, 11, 16), "9\u201315 November 2026"),
        (datetime(2026, 10, 28), datetime(2026, 11, 4), "28 October \u2013 3 November 2026"),
        (datetime(2025, 12, 29), datetime(2026, 1, 5), "29 December 2025 \u2013 4 January 2026"),
        (datetime(2026, 11, 15), datetime(2026, 11, 16), "15 November 2026"),
        (datetime(2026, 11, 15), datetime(2026, 11, 15), "15 November 2026"),
    ],
)
def test_daterange(start: datetime, end: datetime, expected: str) -> None:
    zone = "Europe/London"
    assert daterange(start.replace(tzinfo=UTC), end.replace(tzinfo=UTC), zone) == expected


def test_daterange_uses_the_digest_timezone() -> None:
    start = datetime(2026, 7, 5, 23, tzinfo=UTC)  # midnight, 6 July, in London (BST)
    end = datetime(2026, 7, 12, 23, tzinfo=UTC)
    assert daterange(start, end, "Europe/London") == "6\u201312 July 2026"
    assert daterange(start, end, "UTC") == "5\u201312 July 2026"


def test_date_filter() -> None:
    moment = datetime(2026, 11, 15, 23, 30, tzinfo=UTC)
    assert format_date(moment, tz="Europe/London") == "15 November 2026"
    assert format_date(moment, tz="Asia/Tokyo") == "16 November 2026"
    assert format_date(moment, "%-d %b, %H:%M", "Europe/London") == "15 Nov, 23:30"
    assert format_date(None) == ""
    env = make_environment()
    template = env.from_string("{{ when | date }}|{{ when | date('%H:%M %Z') }}")
    assert template.render(when=moment, digest=make_digest()) == "15 November 2026|23:30 GMT"


def test_wrap_keeps_urls_whole() -> None:
    url = "https://example.com/" + "x" * 90
    words = "lorem ipsum dolor sit amet " * 8
    out = wrap(f"{words} {url} {words}\n\nSecond paragraph.", indent="  ", initial="1. ")
    lines = out.splitlines()
    assert lines[0].startswith("1. lorem")
    assert f"  {url}" in lines
    assert all(len(line) <= 78 for line in lines if url not in line)
    assert all(line.startswith("  ") for line in lines[1:] if line)
    assert out.endswith("\n\n  Second paragraph.")
    assert wrap("   \n\n ") == ""


def test_small_filters() -> None:
    assert host("https://www.autocar.co.uk/car-news/x") == "autocar.co.uk"
    assert host("http://[::1") == ""
    assert host("not a url") == ""
    assert reading_minutes(0) == 1
    assert reading_minutes(690) == 3
    assert safe_url(" https://ok.example/x ") == "https://ok.example/x"
    assert safe_url("javascript:alert(1)") == "#"
    assert safe_url("JaVaScRiPt:alert(1)") == "#"
    assert md_escape("# [a](b) *c* <d> # e") == r"\# \[a\](b) \*c\* &lt;d> # e"
    assert md_escape("x\n- y\n+ z\n> q") == "x\n\\- y\n\\+ z\n\\> q"
    assert md_escape("2026. was a year") == r"2026\. was a year"


def test_markdown_filter_escapes_raw_html() -> None:
    html = markdown_to_html("Hello *there* <script>alert(1)</script> [x](javascript:alert(1))")
    assert "<em>there</em>" in html
    assert "<script" not in html
    assert "&lt;script&gt;" in html
    assert 'href="#"' in html
    env = make_environment()
    out = env.from_string("{{ text | markdown }}").render(text="a & <b>")
    assert out == "<p>a &amp; &lt;b&gt;</p>"


def test_editor_line_is_markdown_in_html_and_source_in_text() -> None:
    digest = make_digest(editor_line="Picks by *Jane*, with <b>raw</b> HTML escaped.")
    rendered = render(digest)
    assert "<em>Jane</em>" in rendered.html
    assert "<b>raw</b>" not in rendered.html
    assert "*Jane*" in rendered.text
