"""Read the week's article pages: from the cache when seen before, else fetch, extract
the article and look for the publisher's AI disclosures, both from the same raw page.

A page that cannot be fetched or read is not an error for the run: the article falls
back to the feed's own text and the failure is named in the report.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Self

from digest.config import Performance
from digest.detect.disclosure import Rule
from digest.extract import Page
from digest.http import Fetcher, FetchError
from digest.models import Entry, Evidence, FetchCause, PageFailure, to_jsonable
from digest.pageread import Read, RuleFields, _read_sent, _scan_sent, rule_fields
from digest.store import Store
from digest.workers import PAGES_PRELOAD, WorkerCrashed, Workers, cores, pooled

IN_FLIGHT_PER_CORE = 8  # pages fetched ahead of the extraction workers, per core
HTML_TYPES = frozenset({"", "text/html", "application/xhtml+xml", "text/plain"})


@dataclass(frozen=True)
class PagesResult:
    pages: dict[str, Read]  # canonical URL -> what the page says
    failures: tuple[PageFailure, ...]
    cached: int
    # URL -> the AI disclosures in the feed text of an entry whose page could not be
    # read (for the feed texts `read_pages` was given)
    feed_scans: dict[str, tuple[Evidence, ...]] = field(default_factory=dict)

    def merged(self, more: PagesResult) -> PagesResult:
        """This read and a later one (of other pages) as one."""
        return PagesResult(
            self.pages | more.pages,
            self.failures + more.failures,
            self.cached + more.cached,
            self.feed_scans | more.feed_scans,
        )

    @property
    def disclosures(self) -> dict[str, tuple[Evidence, ...]]:
        """The AI disclosures found on each page read, by URL (for the detect stage)."""
        return {url: read.disclosures for url, read in self.pages.items()}


@dataclass(frozen=True)
class Detector:
    """The disclosure rules in force, and their fingerprint for the cache."""

    rules: Sequence[Rule]
    fingerprint: str


async def read_pages(
    entries: list[Entry],
    fetcher: Fetcher,
    store: Store,
    detector: Detector,
    now: datetime,
    tick: Callable[[], None] = lambda: None,
    performance: Performance | None = None,
    run_jobs: int = 0,
    feed_text: Callable[[str], str | None] = lambda url: None,
    workers: PageWorkers | None = None,
) -> PagesResult:
    """Every entry's page, concurrently; cached pages are neither fetched nor extracted.
    `run_jobs`: the pages the whole run may read, when more than these (a later round of
    a large run extracts in worker processes too, not in one thread). `feed_text(url)`:
    the feed's text of an entry whose page could not be read, to scan for AI disclosures
    (None: not to scan), scanned by the workers that read the pages, whose fork server
    compiled the rules: this process does not (`PagesResult.feed_scans`). `workers`: the
    run's page workers, kept for its later rounds (else started and ended here)."""
    performance = performance or Performance()
    pages: dict[str, Read] = {}
    todo = []
    for entry in entries:
        cached = _cached(store.page(entry.url), detector.fingerprint)
        if cached is not None:
            pages[entry.url] = cached
            tick()
        else:
            todo.append(entry)
    # Extraction runs in worker processes (one per core), or for a small run in one
    # thread: never in several threads, as lxml and trafilatura crash then (trafilatura#840).
    # Pages in flight (fetched, waiting for a worker) are bounded: fetching outruns
    # extraction, and unbounded it would hold every page of the week in memory at once.
    in_flight = asyncio.Semaphore(IN_FLIGHT_PER_CORE * cores())
    rules = rule_fields(detector.rules)

    scans: dict[str, tuple[Evidence, ...]] = {}

    async def one(entry: Entry) -> tuple[Read | None, str, FetchCause]:
        async with in_flight:
            read, reason, cause = await _read_one(entry.url, fetcher, rules, pool, tick)
            text = feed_text(entry.url) if read is None else None
            found = None if text is None else await _scan_feed(text, rules, pool)
            if found is not None:
                scans[entry.url] = found
            return read, reason, cause

    jobs = max(len(todo), run_jobs)  # with processes, all pages to them when several
    with contextlib.ExitStack() as own:
        kept = workers or own.enter_context(PageWorkers(performance))
        pool = kept.for_round(jobs, eager=len(todo) > 1)
        results = await asyncio.gather(*(one(e) for e in todo))
    failures = []
    fresh = {}
    for entry, (read, reason, cause) in zip(todo, results, strict=True):
        if read is None:
            failures.append(PageFailure(entry.url, reason, cause))
            continue
        pages[entry.url] = read
        fresh[entry.url] = _cache_entry(read, detector.fingerprint)
    store.save_pages(fresh, now)  # one write, not one per page
    return PagesResult(pages, tuple(failures), len(entries) - len(todo), scans)


class PageWorkers:
    """`with PageWorkers(performance) as w: read_pages(..., workers=w)`: the worker
    processes of a run's rounds of page reading, started once (on the first page that
    needs them) and kept from one round to the next; `rest` ends them while the run
    needs their memory (the embedding model loaded to regroup the week), and the next
    round starts them again."""

    def __init__(self, performance: Performance) -> None:
        self.performance = performance
        self._workers: Workers | None = None

    def for_round(self, jobs: int, eager: bool) -> Workers:
        """The workers for a round of `jobs` pages (`Workers`' `jobs` and `eager`): the
        last round's, unless they run in one thread and these are many enough for
        processes."""
        held = self._workers
        if held is None or not (held.processes or not pooled(self.performance, jobs)):
            self.rest()
            held = self._workers = Workers(self.performance, jobs, PAGES_PRELOAD)
        held.eager = eager
        return held

    def rest(self) -> None:
        """End the workers (a later round starts new ones)."""
        if self._workers is not None:
            self._workers.close()
            self._workers = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.rest()


async def _scan_feed(text: str, rules: RuleFields, workers: Workers) -> tuple[Evidence, ...] | None:
    """The AI disclosures in a feed's text, scanned by a worker; None when it crashed
    on it (the caller scans it then)."""
    try:
        return await workers.run(_scan_sent, text, rules)
    except WorkerCrashed:
        return None


async def _read_one(
    url: str,
    fetcher: Fetcher,
    rules: RuleFields,
    workers: Workers,
    tick: Callable[[], None],
) -> tuple[Read | None, str, FetchCause]:
    try:
        return await _fetch_and_read(url, fetcher, rules, workers)
    except WorkerCrashed as exc:
        return None, str(exc), ""
    except Exception as exc:  # a last resort: one page never sinks the run
        return None, f"unexpected {type(exc).__name__}: {exc}"[:300], ""
    finally:
        tick()


async def _fetch_and_read(
    url: str, fetcher: Fetcher, rules: RuleFields, workers: Workers
) -> tuple[Read | None, str, FetchCause]:
    try:
        response = await fetcher.get(url)
    except FetchError as exc:
        return None, str(exc), exc.cause
    if response.content_type not in HTML_TYPES:
        return None, f"not an HTML page ({response.content_type})", ""
    read = await workers.run(_read_sent, response.body, response.url, rules)
    if read is None:
        return None, "no article text found on the page", ""
    return read, "", ""


def _cache_entry(read: Read, fingerprint: str) -> dict[str, Any]:
    return {
        "page": to_jsonable(read.page),
        "disclosures": to_jsonable(read.disclosures),
        "style": list(read.style),
        "rules": fingerprint,
    }


def _cached(data: dict[str, Any] | None, fingerprint: str) -> Read | None:
    """A cached read, unless the disclosure rules changed since it was made."""
    if data is None or data.get("rules") != fingerprint:
        return None
    page = data["page"]
    if page.get("date"):
        page = page | {"date": datetime.fromisoformat(page["date"])}
    disclosures = tuple(Evidence(**e) for e in data["disclosures"])
    return Read(Page(**page), disclosures, tuple(data.get("style", ())))
