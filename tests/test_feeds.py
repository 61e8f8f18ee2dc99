"""Feeds: canonical URLs, parsing what can be recovered, the window, 304s."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from digest.feeds import FeedsResult, canonical_url, collect, parse_feed
from digest.http import Fetcher
from digest.models import Feed, Window
from digest.store import Store
from tests.conftest import make_config
from tests.servers import HTTPServer, Reply, rss

NOW = datetime(2026, 11, 16, 6, tzinfo=UTC)
WINDOW = Window(NOW - timedelta(days=7), NOW)


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("https://Example.org/a?utm_source=rss&utm_medium=feed", "https://example.org/a"),
        ("https://example.org:443/a?id=3&fbclid=xyz#comments", "https://example.org/a?id=3"),
        ("http://example.org", "http://example.org/"),
        ("https://example.org:8443/a?b=1&a=2", "https://example.org:8443/a?b=1&a=2"),
        ("http://[::1]:8080/a?q=a%20b&utm_x=1", "http://[::1]:8080/a?q=a%20b"),
        ("https://example.org/a?utm_source=x", "https://example.org/a"),
    ],
)
def test_canonical_url(url: str, canonical: str) -> None:
    assert canonical_url(url) == canonical


def test_parse_recovers_entries_from_a_malformed_feed() -> None:
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>Broken & Co</title>'
        b"<item><title>First</title><link>https://example.org/1</link>"
        b"<pubDate>Fri, 13 Nov 2026 10:00:00 GMT</pubDate></item>"
        b"<item><title>Second <b>bold</title><link>https://example.org/2</link>"
    )
    parsed = parse_feed(body, {"content-type": "application/rss+xml"}, Feed("u", ""), NOW, {})
    assert not parsed.error
    assert [e.url for e in parsed.entries][:1] == ["https://example.org/1"]
    assert any("malformed" in w for w in parsed.warnings)


def test_html_instead_of_a_feed_is_a_clear_failure() -> None:
    body = b"<!doctype html><html><body><h1>Welcome</h1></body></html>"
    parsed = parse_feed(body, {"content-type": "text/html"}, Feed("u", ""), NOW, {})
    assert parsed.entries == () and "not a feed" in parsed.error


def test_markup_in_a_summary_becomes_plain_text_without_feedparsers_sanitizer() -> None:
    """Summaries and contents are read as text, never shown as HTML: what a reader gets is
    the same with feedparser's sanitizer (its default) as with digest's options (off)."""
    summary = (
        '<p onclick="steal()">Recall <a href="javascript:x()">notice</a>.</p>'
        "<script>document.write('tracker')</script><style>p{color:red}</style>"
        '<div><iframe src="https://player.example/1"><a href="/v">Watch the video</a>'
        "</iframe></div><p>Dealers will fix it.</p>"
    )
    item = {"title": "T", "link": "https://e.org/1", "description": summary.replace("<", "&lt;")}
    body = rss([item])
    shipped = parse_feed(body, {}, Feed("u", ""), NOW, {}).entries[0].summary
    assert shipped == "Recall notice.\n\nWatch the video\n\nDealers will fix it."
    defaults = parse_feed(body, {}, Feed("u", ""), NOW, {}, options={})  # sanitizer on
    assert defaults.entries[0].summary == shipped


def test_entries_take_dates_summary_and_fall_back_to_first_seen() -> None:
    body = rss(
        [
            {
                "title": "Dated &amp; <i>styled</i>",
                "link": "https://e.org/1",
                "pubDate": "Thu, 12 Nov 2026 09:30:00 +0100",
                "description": "&lt;p&gt;One.&lt;/p&gt;&lt;p&gt;Two.&lt;/p&gt;",
            },
            {"title": "Undated", "link": "https://e.org/2"},
            {
                "title": "From the future",
                "link": "https://e.org/3",
                "pubDate": "Thu, 12 Nov 2099 09:30:00 GMT",
            },
        ]
    )
    seen = {"https://e.org/2": NOW - timedelta(days=2)}
    parsed = parse_feed(body, {}, Feed("u", "Named"), NOW, seen)
    first, second, third = parsed.entries
    assert first.title == "Dated & styled" and first.source == "Named"
    assert first.published == datetime(2026, 11, 12, 8, 30, tzinfo=UTC)
    assert first.summary == "One.\n\nTwo."
    assert second.published is None and second.date == NOW - timedelta(days=2)
    assert third.published is None and third.date == NOW


def run_collect(
    tmp_path: Path, server: HTTPServer, feeds: list[Feed], sent: set[str]
) -> FeedsResult:
    config = make_config(tmp_path, [server.host_port])

    async def go() -> FeedsResult:
        async with Fetcher(config.network) as fetcher:
            with Store(tmp_path / "state.sqlite") as store:
                return await collect(feeds, fetcher, store, WINDOW, NOW, sent)

    return asyncio.run(go())


def test_collect_window_dedup_failures_and_304(tmp_path: Path, http_server: HTTPServer) -> None:
    items_a = [
        {
            "title": "In week",
            "link": "https://e.org/x?utm_source=a",
            "pubDate": "Wed, 11 Nov 2026 10:00:00 GMT",
        },
        {
            "title": "Too old",
            "link": "https://e.org/old",
            "pubDate": "Mon, 02 Nov 2026 10:00:00 GMT",
        },
    ]
    items_b = [
        {
            "title": "Same link",
            "link": "https://e.org/x",
            "pubDate": "Wed, 11 Nov 2026 11:00:00 GMT",
        },
        {
            "title": "Sent already",
            "link": "https://e.org/sent",
            "pubDate": "Wed, 11 Nov 2026 11:00:00 GMT",
        },
    ]

    def feed_a(seen: object) -> Reply:
        if seen.headers.get("if-none-match") == '"a1"':
            return Reply(304)
        return Reply(body=rss(items_a), headers={"ETag": '"a1"'})

    feeds = [
        Feed(http_server.route("/a.xml", feed_a), "Outlet A"),
        Feed(http_server.route("/b.xml", Reply(body=rss(items_b))), "Outlet B"),
        Feed(http_server.url("/missing.xml"), "Outlet C"),
        Feed(
            http_server.route(
                "/html",
                Reply(body=b"<html><body>hi</body></html>", headers={"Content-Type": "text/html"}),
            ),
            "",
        ),
    ]
    first = run_collect(tmp_path, http_server, feeds, {"https://e.org/sent"})
    assert [e.url for e in first.entries] == ["https://e.org/x"]
    assert first.entries[0].source == "Outlet A"
    statuses = [(r.status, r.reason[:10]) for r in first.reports]
    assert statuses[:2] == [("ok", ""), ("ok", "")]
    assert first.reports[2].status == "failed" and "404" in first.reports[2].reason
    assert first.reports[3].status == "failed" and "not a feed" in first.reports[3].reason

    second = run_collect(tmp_path, http_server, feeds, set())
    assert second.reports[0].status == "not-modified"
    assert "https://e.org/x" in [e.url for e in second.entries]
    assert len(second.entries) == 2  # the sent one is back when not excluded


def test_hostile_entries_cost_only_themselves() -> None:
    body = rss(
        [
            {
                "title": "Year zero",
                "link": "https://e.org/0",
                "pubDate": "0001-01-01T00:00:00+01:00",
            },
            {"title": "Broken link", "link": "http://[::1/x"},
            {
                "title": "Year far",
                "link": "https://e.org/far",
                "pubDate": "Mon, 01 Jan 99999 00:00:00 GMT",
            },
            {
                "title": "Fine",
                "link": "https://e.org/fine",
                "pubDate": "Wed, 11 Nov 2026 10:00:00 GMT",
            },
        ]
    )
    parsed = parse_feed(body, {}, Feed("u", ""), NOW, {})
    assert [e.title for e in parsed.entries] == ["Year zero", "Year far", "Fine"]
    assert parsed.entries[0].date == NOW  # no usable date: first seen
    assert any("skipped" in w for w in parsed.warnings)


def test_an_empty_answer_is_a_failure_with_a_reason() -> None:
    parsed = parse_feed(b"", {"content-type": "application/rss+xml"}, Feed("u", ""), NOW, {})
    assert parsed.entries == () and parsed.error


def test_undated_entry_first_seen_now_is_in_this_window() -> None:
    assert NOW in WINDOW and WINDOW.start in WINDOW
