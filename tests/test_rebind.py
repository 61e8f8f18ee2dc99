"""End to end, a host whose DNS answer moves to the canary (DNS rebinding) gets nothing
from it: the feed is read from the address that passed the guard, and the next lookup,
which answers the canary's address 127.0.0.9, is refused and named in the report.

The in-process resolver (tests/dns.py) answers 127.0.0.1 for rebind.test on its first
lookup and 127.0.0.9 afterwards; the canary listens on the same port as the good server,
so a second lookup at connection time would have reached it with the same URL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from digest.pipeline import RunOptions, run
from tests.conftest import make_config
from tests.dns import scripted
from tests.servers import HTTPServer, Reply, page, rss

NOW = datetime(2026, 11, 16, 12, tzinfo=UTC)
STORY = ["Harbor Auto said on Monday it would recall vans built last spring."] * 4
CANARY = ["Should never be read."]


@pytest.fixture
def servers() -> Iterator[tuple[HTTPServer, HTTPServer]]:
    with HTTPServer("127.0.0.1") as good:
        port = int(good.host_port.rpartition(":")[2])
        with HTTPServer("127.0.0.9", port) as canary:
            canary.route("/feed.xml", Reply(body=rss([], title="Canary")))
            canary.route("/story", Reply(body=page("Canary", CANARY)))
            yield good, canary


def test_a_rebinding_host_never_reaches_the_canary(
    tmp_path: Path, servers: tuple[HTTPServer, HTTPServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    good, canary = servers
    port = good.host_port.rpartition(":")[2]
    dns = scripted(monkeypatch, {"rebind.test": ["127.0.0.1", "127.0.0.9"]})
    date = format_datetime(NOW - timedelta(days=1))
    story = f"http://rebind.test:{port}/story"
    items = [
        {"title": "Harbor Auto recalls vans", "link": good.url("/good"), "pubDate": date},
        {"title": "Rebound to the canary", "link": story, "pubDate": date},
    ]
    # Connection: close, so the story needs a new connection (and a new lookup)
    good.route("/feed.xml", Reply(body=rss(items), headers={"Connection": "close"}))
    good.route("/good", Reply(body=page("Harbor Auto recalls vans", STORY)))
    good.route("/story", Reply(body=page("Rebound", CANARY)))
    feeds = [{"url": f"http://rebind.test:{port}/feed.xml"}]
    config = make_config(tmp_path, [good.host_port], feeds=feeds)
    # public fetching on, as in production: only the loopback test server is allowlisted
    network = config.network.model_copy(update={"allow_public": True})
    try:
        result = run(
            config.model_copy(update={"network": network}), RunOptions(until=NOW, now=lambda: NOW)
        )
    finally:  # first, whatever the run did: the canary heard nothing
        assert canary.requests == []
    assert [seen.path for seen in good.requests] == ["/feed.xml", "/good"]
    assert dns.asked == ["rebind.test", "rebind.test"]  # once per connection, never twice
    (feed,) = result.report.feeds
    assert feed.status == "ok", feed
    failed = {f.url: f.reason for f in result.report.pages_failed}
    assert failed == {
        story: f"refused rebind.test:{port} (127.0.0.9 is a private, loopback or link-local "
        "address; list it in [network] allow_hosts to connect to it)"
    }
    assert result.digest is not None
    assert good.url("/good") in [s.article.url for s in result.digest.stories]
    written = "".join(f.read_text() for f in (tmp_path / "out").iterdir() if f.is_file())
    assert "Harbor Auto said on Monday" in written and CANARY[0] not in written
