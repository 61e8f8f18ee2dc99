"""Feeds and pages behind a bot challenge, and runs that found nothing, said plainly."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from digest import actions
from digest.diagnose import no_stories
from digest.http import challenge_service
from digest.models import FeedReport
from digest.pipeline import RunError, RunOptions, run
from tests.conftest import make_config
from tests.servers import HTTPServer, Reply, page, rss

NOW = datetime(2026, 11, 16, 6, tzinfo=UTC)
OPTIONS = RunOptions(until=NOW, now=lambda: NOW)
BLOCKED = "blocked by the site's bot protection (common from CI runners)"
CHALLENGE_PAGE = (
    b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>"
    b"<script src='/cdn-cgi/challenge-platform/h/g/orchestrate/chl_page/v1'></script>"
    b"</body></html>"
)
TEXT = (
    "Ridgeway Coaches said on Monday it would order 300 electric coaches for its "
    "intercity routes, the largest such order in Britain. Deliveries begin in June."
)


def test_challenge_signatures() -> None:
    assert challenge_service(403, {"cf-mitigated": "challenge"}, b"") == "a Cloudflare challenge"
    assert challenge_service(503, {}, CHALLENGE_PAGE) == "a challenge page"
    assert challenge_service(429, {"x-datadome": "protected"}, b"") == "a DataDome challenge"
    assert challenge_service(403, {}, b"<h1>Forbidden</h1>") == ""  # the site's own refusal
    assert challenge_service(404, {"cf-mitigated": "challenge"}, b"") == ""


def test_a_blocked_feed_and_blocked_pages_are_named(
    tmp_path: Path, http_server: HTTPServer
) -> None:
    http_server.route(
        "/guarded.xml", Reply(403, b"<html>Just a moment...</html>", {"cf-mitigated": "challenge"})
    )
    http_server.route("/walled/1", Reply(503, CHALLENGE_PAGE, {"Content-Type": "text/html"}))
    http_server.route(
        "/open/1", Reply(body=page("Open story", [TEXT] * 3), headers={"Content-Type": "text/html"})
    )
    items = [
        {
            "title": "Coach order",
            "link": http_server.url("/walled/1"),
            "pubDate": "12 Nov 2026 09:00:00 GMT",
            "description": TEXT,
        },
        {
            "title": "Open story",
            "link": http_server.url("/open/1"),
            "pubDate": "13 Nov 2026 09:00:00 GMT",
        },
    ]
    feeds = [
        {"name": "Guarded Wheels", "url": http_server.url("/guarded.xml")},
        {"name": "Open Road", "url": http_server.route("/open.xml", Reply(body=rss(items)))},
    ]
    config = make_config(tmp_path, [http_server.host_port], feeds=feeds)
    result = run(config, OPTIONS)
    report = json.loads((config.output.dir / "report.json").read_text())
    guarded = report["feeds"][0]
    assert guarded["status"] == "failed" and guarded["cause"] == "bot-challenge"
    assert guarded["reason"].startswith(f"{BLOCKED}: HTTP 403 a Cloudflare challenge; ")
    assert [p["cause"] for p in report["pages_failed"]] == ["bot-challenge"]
    warning = (
        f"{BLOCKED}: feeds Guarded Wheels (entries seen on earlier runs are kept); pages on "
        "127.0.0.1 (the feed's own text was used); run from your own machine or a self-hosted "
        "runner, ask the site to allow the user agent ([network] user_agent), or use another "
        "feed of the outlet"
    )
    assert warning in report["warnings"]
    coach = next(s for s in result.digest.stories if s.article.title == "Coach order")  # type: ignore[union-attr]
    assert "300 electric coaches" in coach.article.text  # the feed's own text
    summary = actions.summary(report)
    assert f"Guarded Wheels: {BLOCKED}: HTTP 403 a Cloudflare challenge" in summary
    assert f"{BLOCKED}: feeds Guarded Wheels (entries seen on earlier runs are kept)" in summary


def test_the_user_agent_is_configurable(tmp_path: Path, http_server: HTTPServer) -> None:
    items = [{"title": "A", "link": http_server.url("/p"), "pubDate": "12 Nov 2026 09:00:00 GMT"}]
    feeds = [{"name": "Open", "url": http_server.route("/f.xml", Reply(body=rss(items)))}]
    network = {"user_agent": "MotoringBot/2 (+https://example.org/bot)"}
    config = make_config(tmp_path, [http_server.host_port], feeds=feeds, network=network)
    run(config, OPTIONS)
    assert {r.headers["user-agent"] for r in http_server.requests} == {network["user_agent"]}


def test_an_offline_run_names_the_cause(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo

    def offline(host: Any, *args: Any, **kwargs: Any) -> Any:
        if str(host).endswith(".test"):
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", offline)
    feeds = [{"name": f"Outlet {n}", "url": f"http://outlet{n}.test/feed"} for n in range(3)]
    allow = [f"outlet{n}.test:80" for n in range(3)]
    config = make_config(tmp_path, allow, feeds=feeds)
    with pytest.raises(RunError) as caught:
        run(config, OPTIONS)
    assert str(caught.value) == (
        "no digest: no stories in the window (3 feeds, 3 failed): all 3 failed: cannot resolve "
        "host; offline?; try `digest run --demo` to see an issue without the network; "
        f"see {config.output.dir / 'report.json'}"
    )


def test_stale_feeds_suggest_a_wider_window() -> None:
    latest = NOW - timedelta(days=20)
    reports = [FeedReport("http://a.example/f", "A", "ok", 4, 0, latest=latest)]
    assert no_stories(reports, NOW) == (
        "the feeds are only stale: the newest entry is from 2026-10-27; try `--since 22d`"
    )
    later = [FeedReport("http://a.example/f", "A", "ok", 4, 0, latest=NOW + timedelta(days=3))]
    assert no_stories(later, NOW) == (
        "the window ends before the newest entry (2026-11-19): check --until"
    )
    mixed = [
        FeedReport("http://a.example/f", "A", "failed", reason="HTTP 404 Not Found", cause="http"),
        FeedReport("http://b.example/f", "B", "failed", reason="timed out", cause="timeout"),
    ]
    assert no_stories(mixed, NOW) == "e.g. 2 failed: HTTP 404 Not Found"
