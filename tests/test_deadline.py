"""The whole run's fetching deadline: a slow web never holds the issue hostage."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from digest.pipeline import RunOptions, run
from tests.conftest import make_config
from tests.servers import HTTPServer, Reply, Seen, page, rss

NOW = datetime(2026, 11, 16, 12, tzinfo=UTC)


def test_pages_past_the_run_deadline_are_named_and_the_issue_still_comes(
    tmp_path: Path, http_server: HTTPServer
) -> None:
    def slow(_: Seen) -> Reply:
        time.sleep(0.6)
        return Reply(body=page("Slow page", ["Harbor Auto said it would recall vans."] * 3))

    date = format_datetime(NOW - timedelta(hours=5))
    items = []
    for n in range(12):
        http_server.route(f"/p{n}", slow)
        items.append(
            {
                "title": f"Harbor Auto story {n}",
                "link": http_server.url(f"/p{n}"),
                "pubDate": date,
                "description": "Harbor Auto said on Monday it would recall 12,000 vans.",
            }
        )
    http_server.route("/feed.xml", Reply(body=rss(items)))
    config = make_config(
        tmp_path,
        [http_server.host_port],
        feeds=[{"url": http_server.url("/feed.xml")}],
        network={"run_deadline": 1.5, "per_host": 2},
    )
    started = time.perf_counter()
    result = run(config, RunOptions(until=NOW, now=lambda: NOW))
    assert time.perf_counter() - started < 10  # not 12 pages x 0.6 s / 2 at a time, plus
    assert result.digest is not None  # from the pages read and the feed's own text
    late = [f for f in result.report.pages_failed if "time limit" in f.reason]
    assert late and all("run_deadline = 2 s" in f.reason for f in late)
    assert result.report.requests.get("past_deadline", 0) == len(late)
