"""Read the week's article pages: from the cache when seen before, else fetch and extract.

A page that cannot be fetched or read is not an error for the run: the article falls
back to the feed's own text and the failure is named in the report.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from digest.deliver import to_jsonable
from digest.extract import Page, extract_page
from digest.http import Fetcher, FetchError
from digest.models import Entry, PageFailure
from digest.store import Store

HTML_TYPES = frozenset({"", "text/html", "application/xhtml+xml", "text/plain"})


@dataclass(frozen=True)
class PagesResult:
    pages: dict[str, Page]  # canonical URL -> what the page says
    failures: tuple[PageFailure, ...]
    cached: int


async def read_pages(
    entries: list[Entry],
    fetcher: Fetcher,
    store: Store,
    now: datetime,
    tick: Callable[[], None] = lambda: None,
) -> PagesResult:
    """Every entry's page, concurrently; cached pages are neither fetched nor extracted."""
    pages: dict[str, Page] = {}
    todo = []
    for entry in entries:
        cached = store.page(entry.url)
        if cached is not None:
            pages[entry.url] = page_from(cached)
            tick()
        else:
            todo.append(entry)
    results = await asyncio.gather(*(_read_one(e.url, fetcher, tick) for e in todo))
    failures = []
    for entry, (page, reason) in zip(todo, results, strict=True):
        if page is None:
            failures.append(PageFailure(entry.url, reason))
            continue
        pages[entry.url] = page
        store.save_page(entry.url, to_jsonable(page), now)
    return PagesResult(pages, tuple(failures), len(entries) - len(todo))


async def _read_one(
    url: str, fetcher: Fetcher, tick: Callable[[], None]
) -> tuple[Page | None, str]:
    try:
        return await _fetch_and_extract(url, fetcher)
    except Exception as exc:  # a last resort: one page never sinks the run
        return None, f"unexpected {type(exc).__name__}: {exc}"[:300]
    finally:
        tick()


async def _fetch_and_extract(url: str, fetcher: Fetcher) -> tuple[Page | None, str]:
    try:
        response = await fetcher.get(url)
    except FetchError as exc:
        return None, str(exc)
    if response.content_type not in HTML_TYPES:
        return None, f"not an HTML page ({response.content_type})"
    page = await asyncio.to_thread(extract_page, response.body, response.url)
    if page is None:
        return None, "no article text found on the page"
    return page, ""


def page_from(data: dict[str, Any]) -> Page:
    """A cached page back as a `Page`."""
    if data.get("date"):
        data = data | {"date": datetime.fromisoformat(data["date"])}
    return Page(**data)
