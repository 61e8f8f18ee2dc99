"""Feeds stage: fetch every feed, parse what it says, keep the week's entries.

A feed that fails never sinks the run: it gets a `FeedReport` with the reason, and
entries seen from it on earlier runs still count. A malformed feed yields whatever
feedparser recovers, plus a warning (feedparser's `bozo`). A 304 costs no parsing: the
entries stored with the validators stand in for the body.
"""

from __future__ import annotations

import base64
import calendar
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit, urlunsplit

from digest.models import Entry, Feed, FeedReport, FetchCause, Window
from digest.text import html_to_text, squash

if TYPE_CHECKING:
    from digest.config import Performance
    from digest.http import Fetcher, Response
    from digest.store import Store
    from digest.workers import Workers

TRACKING_KEYS = frozenset(
    [
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "ncid",
        "cmpid",
        "ocid",
        "sr_share",
        "ref_src",
        "guccounter",
        "guce_referrer",
        "guce_referrer_sig",
        "soc_src",
        "soc_trk",
        "at_medium",
        "at_campaign",
        "at_custom1",
        "at_custom2",
        "cid_source",
    ]
)
FUTURE_SLACK = timedelta(days=1)
# Every value is made plain text here (`html_to_text`), never shown as HTML, so feedparser's
# HTML sanitizer and its rewriting of relative links inside HTML (two passes of a pure-Python
# SGML parser over every summary and content) bought nothing: off, parsing the corpus's 265
# feeds takes 4.2 s of CPU instead of 10.6 s, with the same entries but for 8 feeds, where a
# text differs by an embedded widget's or a code sample's words (`bench/feed_parse.py`).
FEEDPARSER_OPTIONS: Final[Mapping[str, bool]] = MappingProxyType(
    {"sanitize_html": False, "resolve_relative_uris": False}
)
# What the feed workers' fork server imports: the parsing only (this module imports the
# fetching, the store and the workers' code where `collect` runs, not at its top), not
# the page workers' extraction code; a run whose feeds all answer 304 imports no parser.
PRELOAD: Final = ("digest.feeds", "digest.feedxml", "digest.jsonfeed")


@dataclass(frozen=True)
class Parsed:
    """What one feed body yielded."""

    title: str
    entries: tuple[Entry, ...]
    warnings: tuple[str, ...]
    error: str = ""


@dataclass(frozen=True)
class FeedsResult:
    entries: tuple[Entry, ...]  # in the window, one per canonical URL, not sent before
    reports: tuple[FeedReport, ...]


def canonical_url(url: str) -> str:
    """The URL with tracking parameters, fragments and default ports removed.

    Two feeds linking the same article with different `utm_*` tags give one entry. The
    rest of the query is kept byte for byte (re-encoding could change its meaning).
    Raises ValueError for a URL that cannot be parsed.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}.get(scheme)
    port = parts.port
    netloc = host if port in (None, default) else f"{host}:{port}"
    query = "&".join(p for p in parts.query.split("&") if p and not _tracking(p))
    return urlunsplit((scheme, netloc, parts.path or "/", query, ""))


def _tracking(pair: str) -> bool:
    key = pair.split("=", 1)[0].lower()
    return key.startswith("utm_") or key in TRACKING_KEYS


def parse_feed(
    body: bytes,
    headers: dict[str, str],
    feed: Feed,
    now: datetime,
    seen: dict[str, datetime],
    options: Mapping[str, bool] = FEEDPARSER_OPTIONS,
) -> Parsed:
    """Parse a feed body; `seen` maps canonical URLs to when they were first seen;
    `options` are feedparser's (the benchmark compares them)."""
    from digest import feedxml, jsonfeed  # here: a warm run parses no feed

    if jsonfeed.looks_like(body, headers):
        parsed = jsonfeed.parse(body)
    else:
        parsed = feedxml.parse(body, headers, options)
    title = _short(squash(html_to_text(parsed.feed.get("title", ""))))
    title = title or urlsplit(feed.url).hostname or feed.url
    source = feed.name or title
    entries, skipped = [], 0
    for item in parsed.entries:
        try:
            entry = _entry(item, feed, source, now, seen)
        except (ValueError, TypeError, AttributeError, OverflowError):
            entry = None  # one unreadable entry does not cost the feed
        if entry is None:
            skipped += 1
        else:
            entries.append(entry)
    entries, capped = _newest(entries)
    warnings = _warnings(parsed, len(entries), skipped) + _oddities(entries, capped)
    if not entries and (parsed.bozo or not parsed.get("version")):
        return Parsed(title, (), warnings, _why_empty(parsed, headers))
    return Parsed(title, tuple(entries), warnings)


def _entry(
    item: Any, feed: Feed, source: str, now: datetime, seen: dict[str, datetime]
) -> Entry | None:
    link = _link(item)
    if not link:
        return None
    outlet = _outlet(item)
    if outlet:  # an aggregator's item (Google News): credit the outlet, link its page
        source, link = outlet, publisher_url(link)
    url = canonical_url(link)
    raw = item.get("summary", "")
    summary = html_to_text(raw)
    content = max(  # an Atom entry's content is often its summary too: read once
        (_text(c.get("value", ""), raw, summary) for c in item.get("content", [])),
        key=len,
        default="",
    )
    return Entry(
        url=url,
        feed_url=feed.url,
        source=source,
        title=_short(squash(html_to_text(item.get("title", "")))) or "(untitled)",
        summary=summary,
        content=content if len(content) > len(summary) else "",
        author=_short(squash(html_to_text(item.get("author", "")))),
        published=_date(item, now),
        first_seen=seen.get(url, now),
    )


def _text(value: str, raw: str, summary: str) -> str:
    """`html_to_text(value)`, given that of `raw` (`summary`)."""
    return summary if value == raw else html_to_text(value)


def _outlet(item: Any) -> str:
    """The outlet an item came from (RSS `<source>`), as aggregators such as Google
    News name it; "" for an outlet's own item."""
    origin = item.get("source")
    title = origin.get("title", "") if isinstance(origin, dict) else ""
    return _short(squash(html_to_text(str(title))))


GOOGLE_NEWS = re.compile(r"^https?://news\.google\.com/(?:rss/)?articles/([A-Za-z0-9_-]+)")
EMBEDDED_URL = re.compile(rb"https?://[\x21-\x7e]+")


def publisher_url(link: str) -> str:
    """A Google News article link's publisher URL when the link carries it (the older
    links encode it; newer ones need Google's servers, so the link is kept)."""
    found = GOOGLE_NEWS.match(link)
    if not found:
        return link
    token = found.group(1)
    try:
        data = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except ValueError:
        return link
    url = EMBEDDED_URL.search(data)
    if url is None:
        return link
    start, end = url.span()
    if start and data[start - 1] < 0x80:  # a one-byte protobuf length before the URL
        end = min(end, start + data[start - 1])
    text = data[start:end].decode("ascii")
    return text if urlsplit(text).hostname else link


MAX_TITLE = 300  # characters: a longer title, name or author is cut (and the feed warned)


def _short(text: str) -> str:
    return text if len(text) <= MAX_TITLE else text[: MAX_TITLE - 1].rstrip() + "\u2026"


def _link(item: Any) -> str:
    candidates = [item.get("link", "")]
    candidates += [
        link.get("href", "") for link in item.get("links", []) if link.get("rel") == "alternate"
    ]
    if item.get("guidislink"):
        candidates.append(item.get("id", ""))
    for link in candidates:
        if link and urlsplit(link.strip()).scheme in ("http", "https"):
            return str(link.strip())
    return ""


def _date(item: Any, now: datetime) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value: time.struct_time | None = dict.get(item, key)  # no feedparser key aliasing
        if value:
            try:
                when = datetime.fromtimestamp(calendar.timegm(value), UTC)
            except (ValueError, OverflowError, OSError):
                continue  # a date no calendar has (year 0, year 99999)
            return when if when <= now + FUTURE_SLACK else None
    return None


MAX_ENTRIES = 500  # per feed and run: a feed of thousands is a dump, not a week's news


def _newest(entries: list[Entry]) -> tuple[list[Entry], int]:
    """At most MAX_ENTRIES, the newest (undated ones count as new), in feed order; and
    how many there were."""
    if len(entries) <= MAX_ENTRIES:
        return entries, 0
    ranked = sorted(entries, key=lambda e: e.published or datetime.max.replace(tzinfo=UTC))
    keep = {id(e) for e in ranked[-MAX_ENTRIES:]}
    return [e for e in entries if id(e) in keep], len(entries)


def _oddities(entries: list[Entry], capped: int) -> tuple[str, ...]:
    out = []
    if capped:
        out.append(f"kept the newest {MAX_ENTRIES:,} of {capped:,} entries")
    undated = sum(1 for e in entries if e.published is None)
    if undated:
        out.append(
            f"{undated} entries had no usable date (missing, invalid or in the future): "
            "dated when first seen"
        )
    long = sum(1 for e in entries if len(e.title) == MAX_TITLE and e.title.endswith("\u2026"))
    if long:
        out.append(f"{long} titles over {MAX_TITLE} characters were shortened")
    return tuple(out)


def _warnings(parsed: Any, kept: int, skipped: int) -> tuple[str, ...]:
    out = []
    if parsed.bozo and kept:
        out.append(f"malformed feed, recovered {kept} entries ({_bozo(parsed)})")
    if skipped:
        out.append(f"{skipped} entries without a usable http(s) link were skipped")
    return tuple(out)


def _why_empty(parsed: Any, headers: dict[str, str]) -> str:
    kind = headers.get("content-type", "").split(";")[0].strip()
    if kind in ("text/html", "application/xhtml+xml") or not parsed.get("version"):
        shown = kind or "no content type"
        return f"not a feed: no RSS, Atom or JSON Feed found in the answer ({shown})"
    return f"malformed feed, no entries recovered ({_bozo(parsed)})"


def _bozo(parsed: Any) -> str:
    exc = parsed.get("bozo_exception")
    return squash(str(exc))[:200] if exc else "unknown problem"


async def collect(
    feeds: list[Feed],
    fetcher: Fetcher,
    store: Store,
    window: Window,
    now: datetime,
    already_sent: set[str],
    performance: Performance | None = None,
) -> FeedsResult:
    """Fetch all feeds concurrently and return the window's entries with a report per feed;
    feeds are parsed in worker processes when there are many."""
    import asyncio

    from digest.config import Performance
    from digest.workers import Workers

    settings = performance or Performance()
    async with Workers(settings, len(feeds), preload=list(PRELOAD)) as workers:
        results = await asyncio.gather(
            *(_collect_one(f, fetcher, store, window, now, workers) for f in feeds)
        )
    # the feeds that answered 304, marked checked in one write (not one each, mid-fetch)
    store.touch_feeds((r.url for r, _ in results if r.status == "not-modified"), now)
    reports = tuple(report for report, _ in results)
    entries = _dedup(entry for _, found in results for entry in found)
    fresh = tuple(e for e in entries if e.url not in already_sent)
    return FeedsResult(fresh, reports)


async def _collect_one(
    feed: Feed, fetcher: Fetcher, store: Store, window: Window, now: datetime, workers: Workers
) -> tuple[FeedReport, list[Entry]]:
    try:
        return await _fetch_and_parse(feed, fetcher, store, window, now, workers)
    except Exception as exc:  # a last resort: one feed never sinks the run
        reason = f"unexpected {type(exc).__name__}: {exc}"[:300]
        return _fallback(feed, store, window, reason, cause="other")


async def _fetch_and_parse(
    feed: Feed, fetcher: Fetcher, store: Store, window: Window, now: datetime, workers: Workers
) -> tuple[FeedReport, list[Entry]]:
    from digest.http import FetchError

    etag, modified = store.validators(feed.url)
    try:
        response = await fetcher.get(feed.url, etag=etag, last_modified=modified)
    except FetchError as exc:
        return _fallback(feed, store, window, str(exc), cause=exc.cause)
    if response.not_modified:
        entries = store.feed_entries(feed.url)
        in_window = [e for e in entries if e.date in window]
        name = feed.name or (entries[0].source if entries else feed.url)
        report = FeedReport(
            feed.url, name, "not-modified", len(entries), len(in_window), latest=_latest(entries)
        )
        return report, in_window
    return await _parsed(feed, response, store, window, now, workers)


async def _parsed(
    feed: Feed, response: Response, store: Store, window: Window, now: datetime, workers: Workers
) -> tuple[FeedReport, list[Entry]]:
    headers = dict(response.headers) | {"content-location": response.url}
    seen = store.first_seen(feed.url)
    parsed = await workers.run(parse_feed, response.body, headers, feed, now, seen)
    if parsed.error:
        return _fallback(feed, store, window, parsed.error, parsed.warnings)
    validators = (response.headers.get("etag"), response.headers.get("last-modified"))
    # One entry per URL as the store keeps them, so a 304's replay is this very list.
    entries = _dedup(parsed.entries)
    store.save_feed(feed.url, validators, entries, now)
    in_window = [e for e in entries if e.date in window]
    name = feed.name or parsed.title
    report = FeedReport(
        feed.url,
        name,
        "ok",
        len(entries),
        len(in_window),
        warnings=parsed.warnings,
        latest=_latest(entries),
    )
    return report, in_window


def _latest(entries: Sequence[Entry]) -> datetime | None:
    return max((e.published for e in entries if e.published), default=None)


def _fallback(
    feed: Feed,
    store: Store,
    window: Window,
    reason: str,
    warnings: tuple[str, ...] = (),
    cause: FetchCause = "",
) -> tuple[FeedReport, list[Entry]]:
    """A failed feed: report it, and keep what earlier runs saw of it this week."""
    earlier = [e for e in store.feed_entries(feed.url) if e.date in window]
    if earlier:
        warnings += (f"using {len(earlier)} entries seen on earlier runs",)
    name = feed.name or feed.url
    report = FeedReport(feed.url, name, "failed", 0, len(earlier), reason, warnings, cause=cause)
    return report, earlier


def _dedup(entries: Any) -> list[Entry]:
    """One entry per canonical URL; the first feed (in config order) keeps it."""
    out: dict[str, Entry] = {}
    for entry in entries:
        kept = out.get(entry.url)
        if kept is None:
            out[entry.url] = entry
        elif len(entry.content) > len(kept.content):
            out[entry.url] = replace(kept, content=entry.content)
    return list(out.values())
