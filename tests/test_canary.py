"""End to end, no request reaches an address the owner did not allow.

A canary server listens on 127.0.0.9, which is loopback but not on the allowlist. The
feeds link to it, a page redirects to it, and a feed of its own is configured. Whatever
the configuration (public fetching on or off), the canary must receive zero requests,
the digest is still produced, and the report names every refusal.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from digest.pipeline import RunOptions, run
from tests.conftest import make_config
from tests.servers import HTTPServer, Reply, page, rss

NOW = datetime(2026, 11, 16, 12, tzinfo=UTC)


@pytest.fixture
def canary() -> Iterator[HTTPServer]:
    with HTTPServer(host="127.0.0.9") as server:
        server.route("/feed.xml", Reply(body=rss([])))
        server.route("/page", Reply(body=page("Canary", ["Should never be read."])))
        yield server


@pytest.mark.parametrize("allow_public", [False, True])
def test_the_canary_hears_nothing(
    tmp_path: Path, http_server: HTTPServer, canary: HTTPServer, allow_public: bool
) -> None:
    date = format_datetime(NOW - timedelta(days=1))
    good = page(
        "Harbor Auto recalls vans", ["Harbor Auto said on Monday it would recall vans."] * 4
    )
    http_server.route("/good", Reply(body=good))
    http_server.route("/hop", Reply(302, headers={"Location": canary.url("/page")}))
    items = [
        {"title": "Harbor Auto recalls vans", "link": http_server.url("/good"), "pubDate": date},
        {"title": "Straight to the canary", "link": canary.url("/page"), "pubDate": date},
        {"title": "Via a redirect", "link": http_server.url("/hop"), "pubDate": date},
    ]
    http_server.route("/feed.xml", Reply(body=rss(items)))
    feeds = [{"url": http_server.url("/feed.xml")}, {"url": canary.url("/feed.xml")}]
    config = make_config(tmp_path, [http_server.host_port], feeds=feeds)
    network = config.network.model_copy(update={"allow_public": allow_public})
    config = config.model_copy(update={"network": network})
    result = run(config, RunOptions(until=NOW, now=lambda: NOW))
    assert canary.requests == []
    assert result.digest is not None
    failed = {f.url: f.reason for f in result.report.pages_failed}
    assert all("refused" in reason for reason in failed.values()), failed
    assert len(failed) == 2  # the direct link and the redirect
    (canary_feed,) = [f for f in result.report.feeds if f.url == canary.url("/feed.xml")]
    assert canary_feed.status == "failed" and "refused" in canary_feed.reason
