"""`digest.feedxml.parse` gives what `feedparser.parse` gives, field for field."""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import Any

import feedparser
import pytest

from digest import feedxml
from digest.feeds import FEEDPARSER_OPTIONS

DEMO_FEEDS = Path(__file__).resolve().parents[1] / "digest" / "demo" / "corpus" / "feeds"
BASE = {"content-location": "http://feeds.test/news/feed.xml"}

RSS = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">\n'
    "<channel><title>Torque &amp; Tread</title>\n"
    "<item><title>Price cut &#150; again</title><link>/2026/11/cut?a=1&amp;b=2</link>\n"
    "<description>&lt;p&gt;The EV\u2019s price\n falls &lt;b&gt;again&lt;/b&gt;.&lt;/p&gt;\n"
    "  &lt;p&gt;Second line &#8212; and &amp;amp; more.&lt;/p&gt;</description>\n"
    "<content:encoded><![CDATA[<p>Full text\nover lines, caf\u00e9 \u20ac5</p>]]>"
    "</content:encoded><pubDate>Fri, 13 Nov 2026 10:00:00 GMT</pubDate>"
    "<author>desk@torque.test (The Desk)</author></item>\n"
    "<item><title>Plain</title><guid>https://torque.test/p</guid></item>\n"
    "</channel></rss>\n"
).encode()
ATOM = (
    '<?xml version="1.0" encoding="iso-8859-1"?>\n'
    '<feed xmlns="http://www.w3.org/2005/Atom" xml:base="http://volt.test/base/">\n'
    '<title type="text">Voltline</title><updated>2026-11-14T08:00:00Z</updated>\n'
    '<entry><title>Caf\xe9 charging</title><link rel="alternate" href="a/1"/>\n'
    "<id>tag:volt.test,2026:1</id><updated>2026-11-14T08:00:00+01:00</updated>\n"
    '<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">\n'
    "  <p>Chargers <em>everywhere</em>\n   soon.</p>\n</div></content>\n"
    '<summary type="html">&lt;p&gt;Short&lt;/p&gt;</summary></entry>\n'
    "</feed>\n"
).encode("iso-8859-1")
MALFORMED = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>Broken & Co</title>'
    b"<item><title>First \x96 one</title><link>https://example.org/1</link>"
    b"<pubDate>Fri, 13 Nov 2026 10:00:00 GMT</pubDate></item>"
    b"<item><title>Second <b>bold</title><link>https://example.org/2</link>"
)
ENTITY = (
    b'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY brand "Axle Ledger">]>\n'
    b'<rss version="2.0"><channel><title>&brand;</title><item><title>By &brand;</title>'
    b"<link>https://axle.test/1</link></item></channel></rss>"
)


def comparable(result: Any) -> tuple[dict[str, Any], str]:
    """The whole result, its exception (equal only to itself) by its words."""
    fields = dict(result)
    return fields, repr(fields.pop("bozo_exception", None))


def both(body: bytes, headers: dict[str, str], options: Any = FEEDPARSER_OPTIONS) -> Any:
    ours = feedxml.parse(body, headers, options)
    theirs = feedparser.parse(io.BytesIO(body), response_headers=dict(headers), **options)
    assert comparable(ours) == comparable(theirs)
    return ours


def test_the_fast_path_is_on() -> None:
    assert feedxml._FAST is not None  # feedparser's internals are where it expects them


@pytest.mark.parametrize("options", [FEEDPARSER_OPTIONS, {}], ids=["digest", "defaults"])
def test_rss_with_escaped_html_entities_and_lines_reads_alike(options: Any) -> None:
    result = both(RSS, BASE, options)
    first, second = result.entries
    assert first.title == "Price cut \u2013 again"  # cp1252's en dash, repaired
    assert first.link == "http://feeds.test/2026/11/cut?a=1&b=2"
    assert "The EV\u2019s price\n falls <b>again</b>." in first.summary
    assert "Second line \u2014 and &amp; more." in first.summary
    assert first.content[0].value == "<p>Full text\nover lines, caf\u00e9 \u20ac5</p>"
    assert first.author == "desk@torque.test (The Desk)"
    assert tuple(first.published_parsed)[:5] == (2026, 11, 13, 10, 0)
    assert second.link == "https://torque.test/p" and second.guidislink


def test_atom_xhtml_latin1_and_xml_base_read_alike() -> None:
    result = both(ATOM, BASE)
    (entry,) = result.entries
    assert result.feed.title == "Voltline" and entry.title == "Caf\u00e9 charging"
    assert entry.link == "http://volt.test/base/a/1"
    assert entry.content[0].value.split() == ["<p>Chargers", "<em>everywhere</em>", "soon.</p>"]
    assert tuple(entry.updated_parsed)[:4] == (2026, 11, 14, 7)


def test_malformed_and_doctype_feeds_read_alike() -> None:
    broken = both(MALFORMED, {"content-type": "application/rss+xml"})
    assert broken.bozo and [e.link for e in broken.entries][:1] == ["https://example.org/1"]
    assert both(ENTITY, {}).entries[0].title == "By &brand;"  # its DOCTYPE is dropped
    assert both(b"", {}).entries == []
    assert both(b"<html><body>no feed</body></html>", {"content-type": "text/html"}).bozo


def test_the_demo_feeds_read_alike() -> None:
    bodies = sorted(DEMO_FEEDS.glob("*.xml"))
    assert len(bodies) >= 5
    for path in bodies:
        both(path.read_bytes(), {"content-location": f"http://demo.test/{path.name}"})


def test_the_corpus_feeds_read_alike(corpus: Path) -> None:
    files = sorted((corpus / "feeds").rglob("*.gz"))
    assert files
    for path in files:
        both(gzip.decompress(path.read_bytes()), {})


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "plain"])
def test_a_body_naming_a_file_is_read_as_the_body(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fast: bool
) -> None:
    """feedparser given bytes first tries them as a file name: an answer naming a local
    file must not make digest read that file."""
    local = tmp_path / "local.xml"
    local.write_bytes(RSS)
    if not fast:
        monkeypatch.setattr(feedxml, "_FAST", None)
    result = feedxml.parse(str(local).encode(), {}, FEEDPARSER_OPTIONS)
    assert result.entries == [] and "title" not in result.feed
