"""JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1), read into feedparser's shape.

feedparser 6 reads RSS and Atom only, so a JSON feed is parsed here into the same
`FeedParserDict` structure (`feed.title`, `entries[].link/title/summary/content/author/
published_parsed`) and the feeds stage treats both alike.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from feedparser import FeedParserDict

VERSIONS = {
    "https://jsonfeed.org/version/1": "json1",
    "https://jsonfeed.org/version/1.1": "json11",
}
JSON_TYPES = frozenset({"application/feed+json", "application/json"})


def looks_like(body: bytes, headers: dict[str, str]) -> bool:
    """A JSON content type, or a body whose first character opens an object."""
    kind = headers.get("content-type", "").split(";")[0].strip().lower()
    return kind in JSON_TYPES or body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def parse(body: bytes) -> FeedParserDict:
    """The feed as feedparser would give it; `bozo` set (and no version) when it is not
    a JSON feed."""
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return _bozo(f"not valid JSON: {exc}")
    if not isinstance(data, dict) or str(data.get("version", "")) not in VERSIONS:
        return _bozo("JSON without a jsonfeed.org version")
    items = data.get("items")
    if not isinstance(items, list):
        return _bozo("JSON feed without an items list")
    feed = FeedParserDict(title=_text(data.get("title")), link=_text(data.get("home_page_url")))
    entries = [_item(item, data) for item in items if isinstance(item, dict)]
    return FeedParserDict(
        feed=feed, entries=entries, bozo=False, version=VERSIONS[str(data["version"])]
    )


def _bozo(reason: str) -> FeedParserDict:
    return FeedParserDict(
        feed=FeedParserDict(), entries=[], bozo=True, bozo_exception=ValueError(reason)
    )


def _item(item: dict[str, Any], feed: dict[str, Any]) -> FeedParserDict:
    url = _text(item.get("url")) or _text(item.get("external_url"))
    html, plain = _text(item.get("content_html")), _text(item.get("content_text"))
    content = [FeedParserDict(value=value) for value in (html, plain) if value]
    entry = FeedParserDict(
        id=_text(item.get("id")),
        link=url,
        title=_text(item.get("title")),
        summary=_text(item.get("summary")),
        content=content,
        author=_author(item) or _author(feed),
    )
    for key, field in (("published_parsed", "date_published"), ("updated_parsed", "date_modified")):
        when = _date(item.get(field))
        if when is not None:
            entry[key] = when.utctimetuple()
    return entry


def _author(holder: dict[str, Any]) -> str:
    """1.1's `authors` list, else 1.0's `author` object."""
    people = holder.get("authors")
    if not isinstance(people, list):
        people = [holder.get("author")]
    names = [_text(p.get("name")) for p in people if isinstance(p, dict)]
    return ", ".join(name for name in names if name)


def _date(value: Any) -> datetime | None:
    """An RFC 3339 date; None when absent or unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""
