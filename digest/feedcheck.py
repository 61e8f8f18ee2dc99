"""`digest feeds check`: each configured feed fetched once, and a verdict on it.

Nothing is stored: no validators are sent or saved, so every feed is read in full, as
a first run would read it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, get_args

from digest.config import Config
from digest.feeds import parse_feed
from digest.http import Fetcher, FetchError
from digest.models import Feed

Verdict = Literal["ok", "stale", "empty", "blocked", "failed"]
STALE = timedelta(days=14)


@dataclass(frozen=True)
class Checked:
    """One feed's answer: its verdict and what it is based on."""

    name: str
    url: str
    verdict: Verdict
    status: int = 0  # the HTTP status, 0 when there was no answer
    entries: int = 0
    newest: datetime | None = None
    detail: str = ""  # the reason for a failure, or the parser's warnings

    def line(self) -> str:
        newest = f"newest {self.newest:%Y-%m-%d}" if self.newest else "no dated entry"
        answer = f"HTTP {self.status}, " if self.status else ""
        facts = f"{answer}{self.entries} entries, {newest}" if self.status else self.detail
        extra = f" ({self.detail})" if self.status and self.detail else ""
        return f"{self.verdict:<8} {self.name}: {facts}{extra}"


async def check(config: Config, now: datetime) -> list[Checked]:
    """Every feed of `config`, concurrently, in config order."""
    feeds = [Feed(f.url, f.name, f.weight, tuple(f.tags)) for f in config.feeds]
    async with Fetcher(config.network) as fetcher:
        return list(await asyncio.gather(*(_one(fetcher, feed, now) for feed in feeds)))


async def _one(fetcher: Fetcher, feed: Feed, now: datetime) -> Checked:
    name = feed.name or feed.url
    try:
        response = await fetcher.get(feed.url)
    except FetchError as exc:
        verdict: Verdict = "blocked" if exc.cause == "bot-challenge" else "failed"
        return Checked(name, feed.url, verdict, detail=str(exc))
    headers = dict(response.headers) | {"content-location": response.url}
    parsed = parse_feed(response.body, headers, feed, now, {})
    name = feed.name or parsed.title
    if parsed.error:
        return Checked(name, feed.url, "failed", response.status, detail=parsed.error)
    dates = [e.published for e in parsed.entries if e.published]
    newest = max(dates, default=None)
    verdict = _verdict(len(parsed.entries), newest, now)
    detail = "; ".join(parsed.warnings)
    return Checked(name, feed.url, verdict, response.status, len(parsed.entries), newest, detail)


def _verdict(entries: int, newest: datetime | None, now: datetime) -> Verdict:
    if not entries:
        return "empty"
    if newest is not None and now - newest > STALE:
        return "stale"
    return "ok"


def summary(results: list[Checked]) -> str:
    """`19 feeds: 15 ok, 2 stale, 1 blocked, 1 failed`."""
    counts = {v: sum(1 for r in results if r.verdict == v) for v in get_args(Verdict)}
    shown = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
    return f"{len(results)} feeds: {shown or 'none'}"
