"""Feeds people have: JSON Feed, OPML in and out, Google News items, `digest feeds check`."""

from __future__ import annotations

import base64
import gzip
import json
import shutil
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import tomlkit

from digest.cli import main
from digest.feeds import parse_feed, publisher_url
from digest.models import Feed
from digest.opml import import_into, read_opml, write_opml
from tests.servers import HTTPServer, Reply, rss

FIXTURES = Path(__file__).parent / "fixtures" / "feeds"
NOW = datetime(2026, 11, 16, 6, tzinfo=UTC)
JSON = {"content-type": "application/feed+json"}
XML = {"Content-Type": "application/rss+xml"}


def test_json_feed_1_1_reads_like_rss() -> None:
    result = parse_feed(
        (FIXTURES / "motoring.json").read_bytes(), JSON, Feed("https://f.example/", ""), NOW, {}
    )
    assert result.title == "Hillcrest Motoring Notes" and not result.error
    first, second = result.entries
    assert first.url == "https://hillcrest.example/2026/11/tram-hybrid"  # utm_ stripped
    assert first.source == "Hillcrest Motoring Notes" and first.author == "Nora Quill"
    assert first.published == datetime(2026, 11, 10, 8, 30, tzinfo=UTC)
    assert "Sales begin in Ireland in May at 31,900 euros." in first.content
    assert first.summary == "A boxy delivery van with a 40 km electric range."
    assert second.url == "https://partner.example/recall-brakes"  # external_url
    assert second.author == "Hillcrest Desk"  # the feed's authors
    assert second.published == datetime(2026, 11, 12, 16, 5, tzinfo=UTC)
    assert result.warnings == ("1 entries without a usable http(s) link were skipped",)


def test_json_feed_1_0_and_without_a_content_type() -> None:
    result = parse_feed(
        (FIXTURES / "motoring-1.0.json").read_bytes(),
        {},
        Feed("https://f.example/", "Mine"),
        NOW,
        {},
    )
    (entry,) = result.entries
    assert (entry.source, entry.author, entry.title) == (
        "Mine",
        "Gazette Staff",
        "Coachbuilder reopens its Leeds works",
    )
    assert entry.published == datetime(2026, 11, 11, 10, tzinfo=UTC)  # date_modified
    assert (entry.content, entry.summary) == ("The works will restore twelve cars a year.", "")


def test_json_that_is_not_a_feed_is_named() -> None:
    result = parse_feed(
        b'{"hello": "world"}',
        {"content-type": "application/json"},
        Feed("https://f.example/", ""),
        NOW,
        {},
    )
    assert result.entries == ()
    assert (
        result.error
        == "not a feed: no RSS, Atom or JSON Feed found in the answer (application/json)"
    )


def test_the_real_json_feed_parses(corpus: Path) -> None:
    real = corpus / "feeds" / "real"
    urls = json.loads((real / "urls.json").read_text())
    found = [key for key, url in urls.items() if url.endswith(".json")]
    if not found:
        pytest.skip("no JSON feed in the corpus")
    body = gzip.decompress((real / f"{found[0]}.gz").read_bytes())
    feed = Feed(urls[found[0]], "")
    result = parse_feed(body, {}, feed, datetime.now(UTC), {})
    assert not result.error and len(result.entries) == len(json.loads(body)["items"])
    for entry, item in zip(result.entries, json.loads(body)["items"], strict=True):
        assert entry.url.startswith("https://") and entry.title == item["title"].strip()
        assert entry.published is not None and entry.content


def google_link(url: str) -> str:
    """An older Google News article link: the publisher URL inside a protobuf, base64url."""
    data = b"\x08\x13\x22" + bytes([len(url)]) + url.encode() + b"\xd2\x01\x00"
    return (
        "https://news.google.com/rss/articles/"
        + base64.urlsafe_b64encode(data).decode().rstrip("=")
        + "?oc=5"
    )


def test_google_news_items_are_credited_to_the_outlet() -> None:
    old = google_link("https://www.harbourpost.example/autos/van-recall-2026?src=gn")
    new = "https://news.google.com/rss/articles/AU_yqLPnotdecodable?oc=5"
    body = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>"recall" - Google News</title>'
        f"<item><title>Van recall widens - Harbour Post</title><link>{old}</link>"
        "<pubDate>Thu, 12 Nov 2026 09:00:00 GMT</pubDate>"
        '<source url="https://www.harbourpost.example">Harbour Post</source></item>'
        f"<item><title>Bus maker raises funds - Lakeside Times</title><link>{new}</link>"
        '<source url="https://lakeside.example">Lakeside Times</source></item>'
        "</channel></rss>"
    ).encode()
    result = parse_feed(
        body, {}, Feed("https://news.google.com/rss/search?q=recall", "Google News"), NOW, {}
    )
    first, second = result.entries
    assert first.source == "Harbour Post"
    assert first.url == "https://www.harbourpost.example/autos/van-recall-2026?src=gn"
    assert second.source == "Lakeside Times" and second.url == new.split("?")[0] + "?oc=5"
    assert publisher_url("https://example.org/a") == "https://example.org/a"


def test_opml_reads_folders_as_tags() -> None:
    outlines = read_opml((FIXTURES / "subscriptions.opml").read_bytes())
    assert [(o.name, o.url, o.tags) for o in outlines] == [
        ("Voltage Weekly", "https://voltage.example/feed.xml", ("Electric",)),
        ("Charge & Range", "https://charge-range.example/rss", ("Electric", "reviews")),
        ("Electrek again", "https://electrek.co/feed/", ()),
        ("Not a web feed", "ftp://files.example/feed.xml", ()),
    ]
    with pytest.raises(ValueError, match="not an OPML file"):
        read_opml(b"<rss version='2.0'/>")


def starter(tmp_path: Path) -> Path:
    path = tmp_path / "digest.toml"
    shutil.copy(Path(__file__).parents[1] / "digest" / "starter.toml", path)
    return path


def test_opml_import_keeps_comments_and_round_trips_through_export(tmp_path: Path) -> None:
    path = starter(tmp_path)
    before = path.read_text()
    result = import_into(path, read_opml((FIXTURES / "subscriptions.opml").read_bytes()))
    assert [o.name for o in result.added] == ["Voltage Weekly", "Charge & Range"]
    assert [o.url for o in result.present] == ["https://electrek.co/feed/"]
    assert [(o.name, why) for o, why in result.refused] == [
        (
            "Not a web feed",
            "feed URL must be http:// or https:// with a host (got 'ftp://files.example/feed.xml')",
        )
    ]
    after = path.read_text()
    assert after.startswith(before.rstrip("\n"))  # every comment and line kept, feeds appended
    assert (
        '[[feeds]]\nname = "Charge & Range"\nurl = "https://charge-range.example/rss"\n'
        'tags = ["Electric", "reviews"]' in after
    )
    from digest.config import load_config

    config = load_config(path)
    exported = write_opml(config.feeds, config.newsletter.title)
    back = read_opml(exported.encode())
    assert [(o.name, o.url, o.tags) for o in back] == [
        (f.name, f.url, tuple(f.tags)) for f in config.feeds
    ]
    again = import_into(path, back)
    assert again.added == () and len(again.present) == len(config.feeds)
    assert path.read_text() == after


def test_feeds_import_and_export_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = starter(tmp_path)
    code = main(["feeds", "import", str(FIXTURES / "subscriptions.opml"), "--config", str(path)])
    out, err = capsys.readouterr()
    assert code == 0
    assert out == (
        f"added 2 feeds to {path} (1 already there, 1 skipped); "
        "check them with `digest feeds check`\n"
    )
    assert (
        err
        == "skipped Not a web feed: feed URL must be http:// or https:// with a host (got 'ftp://files.example/feed.xml')\n"
    )
    target = tmp_path / "feeds.opml"
    assert main(["feeds", "export", "--config", str(path), "--out", str(target)]) == 0
    assert capsys.readouterr().out == f"wrote 21 feeds to {target}\n"
    names = [o.name for o in read_opml(target.read_bytes())]
    assert names[0] == "Electrek" and names[-2:] == ["Voltage Weekly", "Charge & Range"]
    assert tomllib.loads(path.read_text())["newsletter"]["title"] == "The Autos Digest"


def test_feeds_check_gives_each_feed_a_verdict(
    tmp_path: Path, http_server: HTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    today = datetime.now(UTC)
    fresh = [
        {
            "title": "New",
            "link": "http://x.example/1",
            "pubDate": f"{today:%a, %d %b %Y} 09:00:00 GMT",
        }
    ]
    old_day = today - timedelta(days=90)
    stale = [
        {
            "title": "Old",
            "link": "http://x.example/2",
            "pubDate": f"{old_day:%a, %d %b %Y} 09:00:00 GMT",
        }
    ]
    feeds = [
        {
            "name": "Fresh",
            "url": http_server.route("/fresh.xml", Reply(body=rss(fresh), headers=XML)),
        },
        {
            "name": "Stale",
            "url": http_server.route("/stale.xml", Reply(body=rss(stale), headers=XML)),
        },
        {
            "name": "Guarded",
            "url": http_server.route(
                "/guarded.xml",
                Reply(403, b"<html>Just a moment...</html>", {"cf-mitigated": "challenge"}),
            ),
        },
        {"name": "Gone", "url": http_server.url("/gone.xml")},
    ]
    path = tmp_path / "digest.toml"
    network = {"allow_hosts": [http_server.host_port], "allow_public": False}
    path.write_text(tomlkit.dumps({"network": network, "feeds": feeds}))
    code = main(["feeds", "check", "--config", str(path)])
    lines = capsys.readouterr().out.splitlines()
    assert code == 1
    assert lines[0] == f"ok       Fresh: HTTP 200, 1 entries, newest {today:%Y-%m-%d}"
    assert lines[1] == f"stale    Stale: HTTP 200, 1 entries, newest {old_day:%Y-%m-%d}"
    assert lines[2] == (
        "blocked  Guarded: blocked by the site's bot protection (common from CI runners): "
        "HTTP 403 a Cloudflare challenge; run from your own machine or a self-hosted runner, "
        "ask the site to allow the user agent ([network] user_agent), "
        "or use another feed of the outlet"
    )
    assert lines[3] == "failed   Gone: HTTP 404 Not Found"
    assert lines[4] == "4 feeds: 1 ok, 1 stale, 1 blocked, 1 failed"
    assert http_server.hits("/fresh.xml") == 1
