"""One weekly run, top to bottom: feeds, pages, articles, ranking, summaries, the
issue, its files, and (when asked) sending it.

Only this module knows the order of the stages. Bad input never raises out of a
stage; it is named in the report. What does raise is what stops a run outright: an
issue already sent (`AlreadySent`), or a send that failed (`SendFailed`, after the
files are written).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence, Set
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from functools import partial
from pathlib import Path
from typing import Any, Final, Literal, NoReturn, Self

import numpy as np

from digest import (
    archive,
    cluster,
    deliver,
    detect,
    diagnose,
    editorial,
    embed,
    language,
    rank,
    render,
    review,
    sections,
)
from digest.config import Config, ConfigError, Delivery, Performance, Ranking
from digest.detect import disclosure, style
from digest.extract import to_article
from digest.feeds import FeedsResult, collect
from digest.http import Fetcher
from digest.models import (
    Article,
    DeliveryOutcome,
    Digest,
    Entry,
    Evidence,
    Feed,
    ModelUsage,
    RunReport,
    RunWarning,
    Section,
    Story,
    Window,
    to_jsonable,
)
from digest.pages import Detector, PagesResult, PageWorkers, read_pages
from digest.render import Rendered
from digest.store import Store
from digest.summarize.stage import Summaries, summarize
from digest.workers import (
    Aside,
    WorkerCrashed,
    aside,
    cores,
    kept,
    map_cpu,
    pooled,
    ready,
    rest,
    trim,
)

KEEP_ENTRIES = timedelta(days=60)

Progress = Callable[[str, int, int], None]  # stage, done, total


class RunError(Exception):
    """A run that produced no digest, or whose digest could not be sent."""


class AlreadySent(RunError):
    """This issue was sent (or a send was interrupted) before; needs --resend."""


class SendFailed(RunError):
    """The digest is on disk but the SMTP server did not take it."""


@dataclass(frozen=True)
class RunOptions:
    since: timedelta = timedelta(days=7)
    until: datetime | None = None  # end of the window; default: now
    send: bool = False
    resend: bool = False
    max_stories: int | None = None
    use_model: bool = True  # False: the offline summarizer even when [llm] is set
    retry_llm: bool = False  # ask the model again about stories it failed on before
    proof_to: tuple[str, ...] = ()  # without `send`: email a proof here; the ledger is untouched
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class RunResult:
    report: RunReport
    digest: Digest | None
    out_dir: Path


@dataclass(frozen=True, repr=False)
class Gathered:
    """What the network gave: the feeds' entries, the pages read, the request counts.

    No dataclass repr: `asyncio.run` formats the repr of its task, result and all, when it
    restores the SIGINT handler (Python 3.11's `signal.getsignal`), and the repr of a
    week's texts took about a second."""

    found: FeedsResult
    pages: PagesResult
    requests: dict[str, int]
    tried: set[str]  # the entries whose pages were read or tried (cached ones included)

    @property
    def counts(self) -> dict[str, int]:
        """The requests, the pages from the cache, and the pages not fetched because
        their stories could not make the issue (`[performance] fetch = "needed"`): nor
        were those entries' feed texts scanned for AI disclosures (`feed_texts_unscanned`,
        the same entries)."""
        skipped = len({e.url for e in self.found.entries} - self.tried)
        return self.requests | {
            "pages_cached": self.pages.cached,
            "pages_skipped": skipped,
            "feed_texts_unscanned": skipped,
        }


@dataclass(frozen=True)
class Issue:
    """The issue as the owner keeps it (out/, with the feed-health lines) and as it is
    emailed (without them, fitted to max_email_bytes)."""

    digest: Digest  # the owner's copy: digest.json
    owner: Rendered  # digest.html, digest.txt, digest.md
    emailed: Rendered  # the email's parts, and the archive's page
    subject: str
    message: EmailMessage  # digest.eml
    cut: RunWarning | None  # "Also worth reading" was cut to fit

    @property
    def public(self) -> Digest:
        """The issue as readers get it (the archive's copy): no feed-health lines."""
        return replace(self.digest, health=())


def run(config: Config, options: RunOptions, progress: Progress | None = None) -> RunResult:
    """Build this week's issue into the output folder and, with `send`, email it."""
    tick = progress or (lambda stage, done, total: None)
    started = options.now()
    window = Window((options.until or started) - options.since, options.until or started)
    digest_id = editorial.issue_id(config.newsletter, window)
    detector = _detector(config)
    timings: dict[str, float] = {}
    _check_writable(config.output.dir)
    with Store(config.state.path) as store:
        if options.send:
            _check_ledger(store, digest_id, options.resend)

        settled: list[Settled] = []  # what a run on the same entries settled on, if any
        on_feeds: list[list[list[int]]] = []  # the week's stories on the feeds' own text
        early = _pass_process(config)  # the pass's process, if it starts now

        def needed(found: FeedsResult) -> set[str] | None:
            try:
                return chosen(found)
            finally:  # taken by the pass (ended with it), or not needed: it ends now
                if early is not None:
                    early.discard()

        def chosen(found: FeedsResult) -> set[str] | None:
            if config.performance.fetch == "all":
                return None
            settled.append(_settled(store, found))
            if settled[0].groups_in(found) is not None:  # start where that run ended
                return settled[0].read
            urls, groups, beside = _candidates(
                config, store, detector, found, window, options, started, timings, early
            )
            on_feeds.append(groups)
            scans.append(beside)
            return urls | settled[0].read

        scans: list[_Beside] = []  # the feed texts' scans, still running
        with PageWorkers(config.performance) as workers:  # every round's page workers
            try:
                gathered = _gather(
                    config,
                    store,
                    detector,
                    window,
                    started,
                    digest_id,
                    timings,
                    tick,
                    needed,
                    workers,
                )
            except BaseException:
                for beside in scans:
                    beside.stop()
                if early is not None:  # the feeds failed before `needed`
                    early.discard()
                raise
            for beside in scans:
                beside.finish(store, started, set(gathered.pages.pages))
            known = settled[0].groups_in(gathered.found) if settled else None
            judged = partial(
                _judged, config, store, detector, window=window, options=options, now=started
            )
            articles, groups, picks, more = judged(
                gathered,
                timings=timings,
                groups=known,
                on_feeds=on_feeds[0] if on_feeds else None,
                workers=workers,
            )
            while unread := _urls(picks, more) - gathered.tried:
                # A story shown has a page not read yet: read it, and what else can make
                # the issue now (ranked while the first are read), then judge again in the
                # same groups (clustering is the costly step: the week is grouped twice, on
                # the feeds and once the candidates' pages are read). Every story shown
                # ends with its pages read.
                hopeful = partial(_hopeful, config, articles, groups, window, options)
                gathered = _read_more(
                    config, store, detector, gathered, unread, started, timings, workers, hopeful
                )
                articles, groups, picks, more = judged(
                    gathered, timings=timings, groups=groups, workers=workers
                )
        if settled:  # a warm run starts where this one ended: one round, not several
            _settle(store, settled[0].key, gathered.tried, articles, groups, started)
        # The AI history counts the articles whose texts were scanned: with `fetch =
        # "needed"`, those of the stories that could still make the issue (every story
        # shown among them); the others were not looked at.
        scanned = [a for a in articles if a.url in gathered.tried]
        store.record_ai_history(digest_id, detect.disclosure_counts(scanned), started)
        with _timed(timings, "summarize"):
            done = summarize(
                config, store, picks, more, started, options.use_model, options.retry_llm
            )
        health = _health(gathered.found, started, config.health.silent_weeks)
        if not picks:
            report = _report(
                digest_id, started, options.now(), gathered, articles, groups, done, health, timings
            )
            _no_digest(config.output.dir, report, window.end)
        digest = editorial.compose(
            config,
            window,
            done.picks,
            done.more,
            started,
            store.issue_number(digest_id),
            note=done.note,
            usage=_usage_line(config, done.usage),
        )
        with _timed(timings, "render"):
            issue = _render(config, digest, _health_lines(config, health))
        outputs = _write_files(config.output.dir, issue)
        with _timed(timings, "deliver"):
            delivery = _deliver(config, store, issue, options)
        outputs |= _archive(config, issue, delivery)
        report = _report(
            digest_id,
            started,
            options.now(),
            gathered,
            articles,
            groups,
            done,
            health,
            timings,
            issue,
            outputs,
            delivery,
        )
        deliver.write_file(config.output.dir / "report.json", deliver.report_json(report))
        if delivery.failed:
            raise SendFailed(f"{delivery}; the digest is in {config.output.dir}")
        return RunResult(report, issue.digest, config.output.dir)


def _gather(
    config: Config,
    store: Store,
    detector: Detector,
    window: Window,
    now: datetime,
    digest_id: str,
    timings: dict[str, float],
    tick: Progress,
    needed: Callable[[FeedsResult], set[str] | None],
    workers: PageWorkers,
) -> Gathered:
    """The feeds, then the pages `needed` names (None: every entry's), read by `workers`."""
    feeds = [Feed(f.url, f.name, f.weight, tuple(f.tags)) for f in config.feeds]
    sent = store.sent_urls(except_digest=digest_id)

    async def go() -> Gathered:
        async with Fetcher(config.network) as fetcher:
            with _timed(timings, "feeds"):
                tick("feeds", 0, len(feeds))
                found = await collect(feeds, fetcher, store, window, now, sent, config.performance)
                tick("feeds", len(feeds), len(feeds))
            wanted = needed(found)
            entries = [e for e in found.entries if wanted is None or e.url in wanted]
            with _timed(timings, "pages"):
                total = len(entries)
                done = iter(range(1, total + 1))
                tick("pages", 0, total)
                pages = await read_pages(
                    entries,
                    fetcher,
                    store,
                    detector,
                    now,
                    lambda: tick("pages", next(done), total),
                    config.performance,
                    feed_text=_unscanned(store, detector, entries),
                    workers=workers,
                )
            return Gathered(found, pages, dict(fetcher.counts), {e.url for e in entries})

    result = asyncio.run(go())
    store.prune_entries(now - KEEP_ENTRIES)
    return result


def _read_more(
    config: Config,
    store: Store,
    detector: Detector,
    gathered: Gathered,
    urls: set[str],
    now: datetime,
    timings: dict[str, float],
    workers: PageWorkers,
    also: Callable[[], set[str]] = set,
) -> Gathered:
    """The pages of `urls` too (stories shown whose pages were not read yet), read by
    `workers` (those of the round before, when it had them), and those `also()` names
    (the stories that can still make the issue): computed in a thread while the first
    are read. The failures are given in the order of the week's entries."""
    order = {entry.url: n for n, entry in enumerate(gathered.found.entries)}

    async def read(fetcher: Fetcher, wanted: set[str]) -> PagesResult:
        entries = [e for e in gathered.found.entries if e.url in wanted]
        return await read_pages(
            entries,
            fetcher,
            store,
            detector,
            now,
            performance=config.performance,
            run_jobs=len(gathered.found.entries),
            feed_text=_unscanned(store, detector, entries),
            workers=workers,
        )

    async def go() -> Gathered:
        async with Fetcher(config.network) as fetcher:

            async def then() -> tuple[set[str], PagesResult]:
                extra = await asyncio.to_thread(also) - gathered.tried - urls
                return extra, await read(fetcher, extra)

            with _timed(timings, "pages"):
                first, (extra, second) = await asyncio.gather(read(fetcher, urls), then())
            more = first.merged(second)
            failures = tuple(sorted(more.failures, key=lambda failure: order[failure.url]))
            more = replace(more, failures=failures)
            requests = Counter(gathered.requests) + Counter(fetcher.counts)
            tried = gathered.tried | urls | extra
            return Gathered(gathered.found, gathered.pages.merged(more), dict(requests), tried)

    return asyncio.run(go())


# Pages are read for the stories ranked, on the feeds' own text, within MARGIN times the
# issue's places (picks, and "Also worth reading" per section), with their story-mates.
MARGIN = 3


def _candidates(
    config: Config,
    store: Store,
    detector: Detector,
    found: FeedsResult,
    window: Window,
    options: RunOptions,
    now: datetime,
    timings: dict[str, float],
    early: Aside | None = None,
) -> tuple[set[str], list[list[int]], _Beside]:
    """The entries whose pages the issue needs, and the week's stories on the feeds' own
    text: the stories that can still make it, ranked on what the feeds give (titles,
    summaries, outlet weights, headline vectors) as if every page were full, free and
    human-written (the penalties a page can lift are left out), with a margin.

    While worker processes group the week (and then while the pages are fetched), a
    thread here reads the feeds' texts' languages (`_Beside`: the caller calls its
    `finish` before the detect stage). The candidates' feed texts whose pages cannot be
    read are scanned for AI disclosures by the page workers (`_unscanned`); the other
    entries' feed texts are not scanned: their stories cannot be shown (a story that
    becomes shown later has its page read, or tried, and is scanned then). `early`: the
    pass's process, started with the run (`_pass_process`), if it was."""
    with _timed(timings, "candidates"):
        trim()  # what parsing the feeds left behind, before the grouping's processes start
        apart = pooled(config.performance, len(found.entries))  # grouped in other processes
        if apart:  # the fork server's memory is not needed while the week is grouped
            rest()
        read = _articles(config, found, PagesResult({}, (), 0))
        beside = _Beside(store, read, [_language_job()])
        try:
            if config.performance.embed == "all":
                groups = _clustered(store, read, now, config.performance)
                urls = _hopeful(config, read, groups, window, options)
            else:
                groups, urls = _first_pass(config, store, read, window, options, now, early)
        except BaseException:
            beside.stop()
            raise
        beside.defer(urls)
        trim()  # what the groupings' results left behind, before the page workers start
        if pooled(config.performance, len(urls)):  # its workers will read the pages: the
            ready()  # fork server preloads (if not yet) while the first pages arrive
        elif apart:  # started by the pass, but so few pages are read here
            rest()
        return urls, groups, beside


def _first_pass(
    config: Config,
    store: Store,
    articles: list[Article],
    window: Window,
    options: RunOptions,
    now: datetime,
    early: Aside | None = None,
) -> tuple[list[list[int]], set[str]]:
    """The week's stories on the feeds' own text, embedding only the headlines that can
    matter (`[performance] embed = "needed"`).

    The week is grouped first at its most joined: every pair the clusterer scores reads as
    a paraphrase (what embeddings could join at best). The stories that could make the
    issue even so (`_reach`) are embedded, and the whole week is grouped again, with the
    other items' vectors left empty (their pairs are judged on words alone). If a story
    that can make the issue on these groups still holds an item not embedded, its widest
    story is embedded too and the week grouped once more. Returns the stories and the
    entries whose pages the issue needs (`_hopeful`). Each grouping after the first
    starts from the first's reading of the words (`cluster.Reading`): the groupings run
    one after the other in one worker process (`_Pass`), which keeps it. The headlines
    are embedded in this process (`_embedded_here`): that process, which holds the
    week's reading of the words, never loads the model too."""
    performance = config.performance
    release = pooled(performance, len(articles))
    with _Pass(performance, len(articles), early) as grouper:
        widening = _clustering(store, articles, now, performance, _WIDEST, grouper)
        # while the pass's process groups at the widest: the places, and the headlines
        # embedded whatever the widest groups (those that take the places alone)
        places = _places(config, articles, window, options)
        _embedded_here(store, _headlines(articles, places.taken), now, release)
        widest = widening()
        embedded = _same_text(articles, _reach(config, articles, widest, window, places))
        for _ in range(1 + EXTRA_PASSES):
            rows = frozenset(embedded)
            _embedded_here(store, _headlines(articles, rows), now, release)
            if release:  # the page workers' fork server preloads (~1 s of CPU) on the core
                # this process leaves idle while it waits for the grouping: the model is
                # freed by now, so the server's ~70 MB come beside the grouping's process
                # alone, not beside the model too (the run's peak); started before the
                # embedding or the widest grouping, the server would add to that peak
                ready()
            groups = _clustered(store, articles, now, performance, rows, grouper)
            wanted = _hopeful(config, articles, groups, window, options)
            missed = {n for n, a in enumerate(articles) if a.url in wanted} - embedded
            if not missed:
                break
            rest()  # not beside another grouping: it starts again after
            embedded |= _same_text(articles, {n for g in widest if missed & set(g) for n in g})
    return groups, wanted


EXTRA_PASSES = 1  # groupings again when a story that can make the issue was not embedded


def _headlines(articles: list[Article], chosen: Set[int]) -> list[str]:
    """What the groupings embed of the `chosen` items, and of every item whose embedded
    text is one of theirs (see `_same_text`)."""
    return sorted({cluster.embed_text(_item(articles[n])) for n in chosen})


def _embedded_here(store: Store, texts: Sequence[str], now: datetime, release: bool) -> None:
    """The vectors of `texts` embedded in this process and cached, for a grouping to find
    (`release`: the model freed after, while the run's memory is high)."""
    missing = [text for text in embed.cached(texts, store)[1] if text]
    if not missing:
        return
    empty = np.zeros((len(missing), embed.DIM), dtype=np.float32)
    fresh, _ = embed.completed(missing, missing, empty, lambda vectors: None, release=release)
    embed.save(store, missing, fresh, now)


@dataclass(frozen=True)
class _Places:
    """What a place in the issue takes when every item stands alone (with the margin of
    `_hopeful`): the items that take places so (`taken`), the lowest score among the
    picks when they are all taken (else 0), and the lowest score in each section's "Also
    worth reading" when it is full."""

    taken: set[int]
    lowest: float
    section_floor: dict[str, float]


def _places(
    config: Config, articles: list[Article], window: Window, options: RunOptions
) -> _Places:
    """The issue's places with every item alone (see `_Places`)."""
    ranking = _hopeful_ranking(config)
    margin = replace(options, max_stories=MARGIN * _limit(config, options))
    alone = [[n] for n in range(len(articles))]
    picks, more = _rank(config, articles, alone, window, margin, ranking)
    full = len(picks) >= (margin.max_stories or 0)
    section_floor = {
        section.title: min(s.score for s in section.stories)
        for section in more
        if len(section.stories) >= ranking.more_per_section
    }
    index = {a.url: n for n, a in enumerate(articles)}
    chosen = [*picks, *(s for section in more for s in section.stories)]
    return _Places(
        {index[a.url] for story in chosen for a in (story.article, *story.others)},
        min((s.score for s in picks), default=0.0) if full else 0.0,
        section_floor,
    )


def _reach(
    config: Config,
    articles: list[Article],
    widest: list[list[int]],
    window: Window,
    places: _Places,
) -> set[int]:
    """The items worth embedding: those of every story of `widest` (each story at its
    largest) that scores at least what a place in the issue takes when every item stands
    alone (`places`: a place among the picks, or in its section's "Also worth reading",
    with the margin of `_hopeful`), and the items that take those places alone."""
    titles = {rule.title for rule in config.sections}

    def can_place(story: Story) -> bool:
        if story.score >= places.lowest:
            return True
        return story.section in titles and story.score >= places.section_floor.get(
            story.section, 0.0
        )

    index = {a.url: n for n, a in enumerate(articles)}
    ranking = _hopeful_ranking(config)
    stories = [s for s in _ranked(config, articles, widest, window, ranking) if can_place(s)]
    return places.taken | {
        index[a.url] for story in stories for a in (story.article, *story.others)
    }


def _same_text(articles: list[Article], chosen: set[int]) -> set[int]:
    """`chosen` with every item whose embedded text is one of theirs (a copy costs nothing:
    the same vector)."""
    texts = {cluster.embed_text(_item(articles[n])) for n in chosen}
    return {
        n for n, a in enumerate(articles) if n in chosen or cluster.embed_text(_item(a)) in texts
    }


def _hopeful(
    config: Config,
    articles: list[Article],
    groups: list[list[int]],
    window: Window,
    options: RunOptions,
) -> set[str]:
    """The articles of the stories within MARGIN times the issue's places when every
    page not read yet is taken to be full, free and human-written."""
    margin = replace(options, max_stories=MARGIN * _limit(config, options))
    picks, more = _rank(config, articles, groups, window, margin, _hopeful_ranking(config))
    return _urls(picks, more)


def _hopeful_ranking(config: Config) -> Ranking:
    """The ranking settings of `_hopeful`: no penalty a page can lift, MARGIN times the
    places in each section."""
    return config.ranking.model_copy(
        update={
            "thin": 1.0,
            "paywalled": 1.0,
            "ai_generated": 1.0,
            "more_per_section": MARGIN * config.ranking.more_per_section,
        }
    )


@dataclass(frozen=True)
class Settled:
    """Where a run with `fetch = "needed"` on the same entries ended: the pages it read
    and its stories (as URLs). A run that starts there reads the same pages from the
    cache and judges once; if anything shown is still unread it goes on as usual."""

    key: str
    read: set[str]
    groups: tuple[tuple[str, ...], ...] = ()

    def groups_in(self, found: FeedsResult) -> list[list[int]] | None:
        """The stories as indexes of `found.entries`, if they cover each once."""
        index = {entry.url: n for n, entry in enumerate(found.entries)}
        groups = [[index[url] for url in group if url in index] for group in self.groups]
        covered = sorted(n for group in groups for n in group)
        return groups if covered == list(range(len(index))) else None


def _settled(store: Store, found: FeedsResult) -> Settled:
    digest = hashlib.sha256(_PIPELINE_CODE)
    for entry in sorted(found.entries, key=lambda e: e.url):
        digest.update(json.dumps(to_jsonable(entry), sort_keys=True).encode())
    key = "settled:" + digest.hexdigest()
    cached = store.result(key)
    if not isinstance(cached, dict):
        return Settled(key, set())
    groups = tuple(tuple(map(str, group)) for group in cached.get("groups", []))
    return Settled(key, set(map(str, cached.get("read", []))), groups)


def _settle(
    store: Store,
    key: str,
    read: set[str],
    articles: list[Article],
    groups: list[list[int]],
    now: datetime,
) -> None:
    stories = [[articles[n].url for n in group] for group in groups]
    store.save_result(key, {"read": sorted(read), "groups": stories}, now)


_PIPELINE_CODE = Path(__file__).read_bytes()


def _urls(picks: Sequence[Story], more: Sequence[Section]) -> set[str]:
    """Every article of the stories given (the linked one and its story-mates)."""
    stories = [*picks, *(s for section in more for s in section.stories)]
    return {a.url for story in stories for a in (story.article, *story.others)}


def _judged(
    config: Config,
    store: Store,
    detector: Detector,
    gathered: Gathered,
    window: Window,
    options: RunOptions,
    now: datetime,
    timings: dict[str, float],
    groups: list[list[int]] | None = None,
    on_feeds: list[list[int]] | None = None,
    workers: PageWorkers | None = None,
) -> tuple[list[Article], list[list[int]], list[Story], list[Section]]:
    """The articles with their verdicts, grouped into stories (unless `groups` are
    given; `on_feeds`: the stories made on the feeds' own text, if any), ranked and
    selected. `workers`: the run's page workers, idle between rounds, which score the
    style of the texts their pages did not give (see `_style_features`); when the week
    is grouped again they end first (the model is loaded then: their memory goes)."""
    with _timed(timings, "articles"):
        read = _with_languages(store, _articles(config, gathered.found, gathered.pages), now)
    with _timed(timings, "detect"):
        # The style score only ever says "style signals" on a story shown, and every
        # article of a story shown has its page read (or tried): the others are not
        # scored, nor scanned for disclosures (with `fetch = "all"`, every page is
        # tried). A disclosure only lowers a story's rank: a story left unscanned ranks
        # as if it had none, and if that shows it, its page is read and it is scanned.
        scored = [a for a in read if a.url in gathered.tried]
        features = _style_features(config, store, scored, gathered.pages, now, workers)
        listing = detect.listing(config.detect, store)
        disclosures = _feed_disclosures(store, detector, read, gathered, now)
        verdicts = detect.assess(
            read, disclosures, features, listing, detector.rules, gathered.tried
        )
    articles = [replace(a, verdict=v) for a, v in zip(read, verdicts, strict=True)]
    if groups is None:
        if workers is not None:  # the week is grouped (the model loaded) without them
            workers.rest()
        with _timed(timings, "cluster"):
            groups = _regrouped(config, store, articles, gathered, now, on_feeds)
    with _timed(timings, "rank"):
        picks, more = _rank(config, articles, groups, window, options)
    return articles, groups, picks, more


def _regrouped(
    config: Config,
    store: Store,
    articles: list[Article],
    gathered: Gathered,
    now: datetime,
    on_feeds: list[list[int]] | None,
) -> list[list[int]]:
    """The week's stories. With every page read (or no stories made on the feeds), all
    articles clustered; else the stories made on the feeds are kept for the stories whose
    pages were not read, and the candidates (whole stories of those) are clustered again,
    on their pages."""
    urls = {a.url for a in articles}
    if on_feeds is None or urls <= gathered.tried:  # every page read (a small week, or
        return _clustered(store, articles, now, config.performance, openings=True)  # "all")
    read = [any(articles[n].url in gathered.tried for n in group) for group in on_feeds]
    kept = [group for group, was_read in zip(on_feeds, read, strict=True) if not was_read]
    again = sorted(n for group, was in zip(on_feeds, read, strict=True) if was for n in group)
    here = len(again) <= REGROUP_HERE
    if not here and pooled(config.performance, len(again)):  # grouped in another process,
        rest()  # with the model: the fork server's memory goes meanwhile (a pool restarts it)
    regrouped = _clustered(
        store, [articles[n] for n in again], now, config.performance, openings=True, here=here
    )
    return kept + [[again[n] for n in group] for group in regrouped]


# The candidates regrouped on their pages are this few or fewer (71 on the speed bench's
# week): they are grouped in this process, the model loaded and freed here, which costs
# less than a new process's start and imports; and the page workers' fork server stays up
# for the pages still to read, instead of starting again (its preload is ~1 s of CPU). The
# memory it takes here (~80 kB an item, the model's 72 MB, the engine's batches) is back
# before those pages are read.
REGROUP_HERE = 250


def _articles(config: Config, found: FeedsResult, pages: PagesResult) -> list[Article]:
    """The entries as articles, with their pages where read."""
    weights = {f.url: f.weight for f in config.feeds}
    articles = []
    for entry in found.entries:
        read = pages.pages.get(entry.url)
        page = read.page if read else None
        articles.append(to_article(entry, page, weights.get(entry.feed_url, 1.0)))
    return articles


def _with_languages(store: Store, articles: list[Article], now: datetime) -> list[Article]:
    codes = _languages(store, [a.text for a in articles], now)
    return [replace(a, language=code) for a, code in zip(articles, codes, strict=True)]


def _languages(store: Store, texts: list[str], now: datetime) -> list[str]:
    """Each text's language (ranking on the feeds alone does not need them)."""
    codes = _per_text(store, _language_job(), texts, now)
    return [str(code) for code in codes]


def _feed_disclosures(
    store: Store, detector: Detector, articles: list[Article], gathered: Gathered, now: datetime
) -> dict[str, tuple[Evidence, ...]]:
    """The disclosures of every article by URL: its page's, else those in its feed text
    if its page was tried (read or not), else none (not scanned: a story that cannot be
    shown)."""
    found = gathered.pages.disclosures
    rest = [a for a in articles if a.url not in found and a.url in gathered.tried]
    scanned = {  # by the page workers (`_unscanned`)
        a.text: list(map(to_jsonable, gathered.pages.feed_scans[a.url]))
        for a in rest
        if a.url in gathered.pages.feed_scans
    }
    raw = _per_text(store, _disclosure_job(detector), [a.text for a in rest], now, scanned)
    unscanned: dict[str, tuple[Evidence, ...]] = {a.url: () for a in articles}
    return (
        unscanned
        | found
        | {
            a.url: tuple(Evidence(**e) for e in evidence)
            for a, evidence in zip(rest, raw, strict=True)
        }
    )


@dataclass(frozen=True)
class _TextJob:
    """A value computed from a text alone (a JSON value), cached in the state by a hash of
    the text and `version` (the code and settings behind it)."""

    kind: str
    version: bytes
    compute: Callable[[str], Any]

    def lookup(self, store: Store, texts: Sequence[str]) -> tuple[list[str], dict[str, Any]]:
        """The keys of `texts`, and what the state holds for them."""
        prefix = f"{self.kind}:{hashlib.sha256(self.version).hexdigest()[:16]}:"
        keys = [
            prefix + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
            for text in texts
        ]
        return keys, store.results(keys)

    def fresh(
        self,
        keys: list[str],
        texts: Sequence[str],
        known: dict[str, Any],
        given: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The values of the texts whose keys are not `known`, each text once (those of
        `given`, by text, computed elsewhere)."""
        given = given or {}
        values: dict[str, Any] = {}
        for key, text in zip(keys, texts, strict=True):
            if key not in known and key not in values:
                values[key] = given[text] if text in given else self.compute(text)
        return values


def _language_job() -> _TextJob:
    return _TextJob("languages", _LANGUAGE_CODE, language.detect)


def _disclosure_job(detector: Detector) -> _TextJob:
    version = _DISCLOSURE_CODE + detector.fingerprint.encode()
    return _TextJob("feed-disclosures", version, partial(_scan_text, list(detector.rules)))


def _unscanned(
    store: Store, detector: Detector, entries: Sequence[Entry]
) -> Callable[[str], str | None]:
    """`read_pages`' `feed_text`: an entry's feed text (its article's text when its page
    is not read), unless the state holds its disclosure scan already (a warm run)."""
    by_url = {entry.url: entry for entry in entries}
    job = _disclosure_job(detector)

    def text(url: str) -> str | None:
        entry = by_url.get(url)
        if entry is None:
            return None
        feed = to_article(entry, None).text
        return None if job.lookup(store, [feed])[1] else feed

    return text


def _scan_text(rules: list[Any], text: str) -> list[Any]:
    return list(map(to_jsonable, disclosure.find_in_text(text, rules)))


def _per_text(
    store: Store,
    job: _TextJob,
    texts: list[str],
    now: datetime,
    given: Mapping[str, Any] | None = None,
) -> list[Any]:
    """`job` over each text through the state's cache: one entry per text, read and
    written in one go (`given`: values by text computed elsewhere, cached as the job's).
    A warm run does not read the week's texts again, and a text judged once in a run (a
    feed's text, judged again after other pages were read) is not computed twice."""
    keys, known = job.lookup(store, texts)
    fresh = job.fresh(keys, texts, known, given)
    store.save_results(fresh, now)
    return [known[key] if key in known else fresh[key] for key in keys]


class _Beside:
    """The feed texts' values (`_TextJob`s: languages, disclosures) computed in a thread
    of this process while the run goes on: while worker processes group the week, then
    while the pages are fetched. `finish` waits for it and saves the values in the state
    (the thread never touches the state: its connection stays in the run's thread).

    The `every` jobs run on every text; the texts of the entries `defer` names (the
    candidates) are left to the end, and those whose pages `finish` says were read are not
    computed at all: their pages' own reads replace them."""

    def __init__(self, store: Store, articles: list[Article], every: list[_TextJob]) -> None:
        texts = [a.text for a in articles]
        self._todo = [(job, *job.lookup(store, texts)) for job in every]
        self._urls = [a.url for a in articles]
        self._texts = texts
        self._deferred: set[str] = set()
        self._read: set[str] | None = None  # set by `finish`
        self._finishing = threading.Event()
        self._fresh: dict[str, Any] = {}
        self._failed: list[BaseException] = []
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="feed-texts", daemon=True)
        self._thread.start()

    def defer(self, urls: set[str]) -> None:
        self._deferred = urls

    def stop(self) -> None:
        """Compute nothing more (the run failed); the thread ends soon."""
        self._stopped = True
        self._finishing.set()

    def finish(self, store: Store, now: datetime, read: set[str]) -> None:
        """Wait for the values still needed (`read`: the entries whose pages were read)
        and save them."""
        self._read = read
        self._finishing.set()
        self._thread.join()
        if self._failed:
            raise self._failed[0]
        store.save_results(self._fresh, now)

    def _run(self) -> None:
        try:
            later = self._compute(self._todo, lambda n: self._urls[n] not in self._deferred)
            self._finishing.wait()
            read = self._read or set()
            self._compute(self._todo, lambda n: n in later and self._urls[n] not in read)
        except BaseException as exc:  # raised again in the run's thread, by `finish`
            self._failed.append(exc)

    def _compute(
        self, todo: list[tuple[_TextJob, list[str], dict[str, Any]]], now: Callable[[int], bool]
    ) -> set[int]:
        """The values of the texts `now` picks (by index); the indexes left."""
        left: set[int] = set()
        for job, keys, known in todo:
            for n, key in enumerate(keys):
                if self._stopped or key in known or key in self._fresh:
                    continue
                if now(n):
                    self._fresh[key] = job.compute(self._texts[n])
                else:
                    left.add(n)
        return left


_LANGUAGE_CODE = Path(language.__file__).read_bytes()
_DISCLOSURE_CODE = Path(disclosure.__file__).read_bytes()


def _style_features(
    config: Config,
    store: Store,
    articles: list[Article],
    pages: PagesResult,
    now: datetime,
    workers: PageWorkers | None = None,
) -> dict[str, tuple[float, ...]]:
    """Every article's style features, by URL: from its page's read (computed in the
    extraction workers, or cached with the page), else from the state's cache, else
    computed now and cached, so a text is scored once. Computed now: by the page
    `workers` of the round just read when they run (a round leaves a dozen feed texts,
    ~8 ms each, to score while nothing else runs: both cores share them), else in worker
    processes when there are many, else here."""
    features: dict[str, tuple[float, ...]] = {}
    for article in articles:
        read = pages.pages.get(article.url)
        if read and read.style and read.page.text == article.text:
            features[article.url] = read.style
    version = style.version()
    keys = {
        a.text: f"style:{version}:{hashlib.sha256(a.text.encode()).hexdigest()}"
        for a in articles
        if a.url not in features
    }
    held = store.results(keys.values())
    known = {
        text: tuple(held[key]) for text, key in keys.items() if isinstance(held.get(key), list)
    }
    missing = [text for text in keys if text not in known]
    pool = workers.for_round(len(missing), eager=True) if workers is not None else None
    if pool is not None and pool.pids:  # running: never started for this
        computed = pool.map(style.feature_values, missing)
    else:
        computed = map_cpu(style.feature_values, missing, config.performance)
    known |= dict(zip(missing, computed, strict=True))
    store.save_results({keys[t]: list(v) for t, v in zip(missing, computed, strict=True)}, now)
    return features | {a.url: known[a.text] for a in articles if a.url not in features}


# Which items `_clustered` gives vectors: "all" (embedded, through the cache), those in
# a set (the other rows empty: their pairs are judged on words alone), or _WIDEST.
Rows = Literal["all", "widest"] | frozenset[int]
# Every row the same unit vector: every pair the clusterer scores reads as a paraphrase,
# the most that embeddings could join (nothing is embedded).
_WIDEST: Final = "widest"


def _clustered(
    store: Store,
    articles: list[Article],
    now: datetime,
    performance: Performance | None = None,
    *args: Any,
    **kwargs: Any,
) -> list[list[int]]:
    """Stories as groups of article indexes: `_clustering`, waited for."""
    return _clustering(store, articles, now, performance, *args, **kwargs)()


def _clustering(
    store: Store,
    articles: list[Article],
    now: datetime,
    performance: Performance | None = None,
    rows: Rows = "all",
    grouper: _Pass | None = None,
    openings: bool = False,
    here: bool = False,
) -> Callable[[], list[list[int]]]:
    """Stories as groups of article indexes, through a cache keyed by the exact input,
    in any order (and by the clustering code): re-running a week does not cluster it
    again. Groups are cached as URLs, so a different order maps back correctly.

    Many items are embedded and clustered in a worker process of its own (the model's
    memory goes with it), few here; `here`: in this process however many (many: the
    model freed after). `grouper`: the process of a pass that groups the same articles
    several times, and keeps their reading of the words. `openings`: full texts are
    embedded with their openings too (`cluster.embed_texts`).

    Returns the call that gives the groups (and caches them): in the process of a
    `grouper`, the grouping runs from now on while this process goes on, until that call
    waits for it."""
    items = [_item(a) for a in articles]
    digest = hashlib.sha256(_CLUSTER_CODE)
    for i in sorted(items, key=lambda i: (i.id, i.title, i.text, i.source, _iso(i.date))):
        digest.update(json.dumps([i.id, i.title, i.text, i.source, _iso(i.date)]).encode())
    if rows != "all":  # which rows were embedded (a set: by URL, in any order)
        embedded = sorted(items[n].id for n in rows) if isinstance(rows, frozenset) else [rows]
        digest.update(json.dumps(embedded).encode())
    digest.update(b"openings" if openings else b"")
    key = "cluster:" + digest.hexdigest()
    index = {item.id: n for n, item in enumerate(items)}
    cached = store.result(key)
    if isinstance(cached, list) and all(url in index for group in cached for url in group):
        known = [[index[url] for url in group] for group in cached]
        return lambda: known
    texts = [cluster.embed_text(item) if _embeds(rows, n) else "" for n, item in enumerate(items)]
    texts += [cluster.opening_text(item) for item in items] if openings else []
    vectors, missing = embed.cached(texts, store)
    missing = [text for text in missing if text]
    if rows == _WIDEST:
        vectors[:, 0] = 1.0
    jobs = 0 if here else len(items)  # no jobs: no process of its own
    pool = grouper.pool if grouper else aside(performance or Performance(), jobs)
    pending = _grouped(items, texts, vectors, missing, performance, grouper, pool)

    def finished() -> list[list[int]]:
        fresh, groups = pending()
        embed.save(store, missing, fresh, now)
        store.save_result(key, [[items[n].id for n in group] for group in groups], now)
        return groups

    return finished


def _embeds(rows: Rows, n: int) -> bool:
    return rows == "all" or (isinstance(rows, frozenset) and n in rows)


def _item(article: Article) -> cluster.Item:
    return cluster.Item(article.url, article.title, article.text, article.source, article.date)


def _grouped(
    items: list[cluster.Item],
    texts: list[str],
    vectors: embed.Vectors,
    missing: list[str],
    performance: Performance | None,
    grouper: _Pass | None,
    pool: Aside | None,
) -> Callable[[], tuple[embed.Vectors, list[list[int]]]]:
    """The headlines not embedded yet (`missing`) embedded, then the items clustered: in
    the process of `pool` (a worker process of its own, which ends after: the model and
    the clustering's memory go with it; or the pass's, `grouper`, where it starts now),
    else here (many items: the model freed after, as there). Returns the call that gives
    the new rows and the groups (openings embedded only where they may count: see
    `embed.completed`'s `later`)."""
    grouping = grouper.grouping(items) if grouper else cluster.Staged(items)
    job = partial(embed.completed, texts, missing, vectors, grouping, later=grouping)
    if pool is None:  # many items: the model freed after; the engine's own threads (a
        # thread of this process would keep a heap of its own, ~15 MB, to the run's end)
        return partial(job, release=pooled(performance or Performance(), len(items)))
    if grouper is not None:  # its later groupings find the reading this one leaves there
        shipped = kept(grouper.key, grouping)
        sent = partial(embed.completed, texts, missing, vectors, shipped, later=shipped)
        return _aside_or_here(pool, sent, job)
    with pool:
        done = _aside_or_here(pool, job, job)()
    return lambda: done


def _aside_or_here(
    pool: Aside,
    sent: Callable[..., tuple[embed.Vectors, list[list[int]]]],
    here: Callable[[], tuple[embed.Vectors, list[list[int]]]],
) -> Callable[[], tuple[embed.Vectors, list[list[int]]]]:
    """`sent` started in the process of `pool` (the model freed before the clustering);
    the call returned waits for it, or runs `here` when that process died (out of
    memory, say)."""
    job = pool.submit(sent, release=True, threads=cores())

    def result() -> tuple[embed.Vectors, list[list[int]]]:
        try:
            return job.result()
        except WorkerCrashed:
            return here()

    return result


class _Pass:
    """`with _Pass(performance, count) as p`: the groupings of one pass over the same
    `count` items (`_clustered(..., grouper=p)`), one after the other in one worker
    process when they are many (else here), which keeps their reading of the words
    between them (`workers.kept`) and its imports. The process starts on entry, unless
    it was `started` already (`_pass_process`); it ends with the `with` block."""

    MODULES: Final = ("digest.cluster", "digest.embed")  # what its process imports first

    def __init__(self, performance: Performance, count: int, started: Aside | None = None) -> None:
        self.key = f"pass-{os.getpid()}-{time.monotonic_ns()}"
        self.pool = (started or Aside()) if pooled(performance, count) else None
        self._started = started is not None and self.pool is started
        self._grouping: cluster.Staged | None = None

    def grouping(self, items: list[cluster.Item]) -> cluster.Staged:
        """The pass's grouping (the same items each time: one reading of their words)."""
        if self._grouping is None:
            self._grouping = cluster.Staged(items)
        return self._grouping

    def __enter__(self) -> Self:
        if self.pool is not None and not self._started:
            self.pool.preload(*self.MODULES)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.__exit__(None, None, None)


def _pass_process(config: Config) -> Aside | None:
    """The process of the run's pass (`_Pass`), started now, with the run, when its feeds
    are many enough for worker processes (as many entries at least, surely a week to
    group apart) and the pass groups the feeds at all (`fetch` and `embed` "needed").
    Its start and imports (~0.3 s of CPU) then run beside this process's start and the
    feeds' parsing, on a core they leave idle at first, not after the feeds, where the
    pass's first grouping (the widest, the longest step of the pass, which this process
    ends up waiting for) would wait for them. A run that does not group the week (a
    warm run, few entries) ends it unused (`Aside.discard`)."""
    performance = config.performance
    if "all" in (performance.fetch, performance.embed):
        return None
    if not pooled(performance, len(config.feeds)):
        return None
    process = Aside()
    process.preload(*_Pass.MODULES)
    return process


# the clustering code and the embedding model behind it: a change to either voids the cache
_CLUSTER_CODE = Path(cluster.__file__).read_bytes() + Path(embed.__file__).read_bytes()


def _iso(when: datetime | None) -> str:
    return when.astimezone(UTC).isoformat() if when else ""


def _rank(
    config: Config,
    articles: list[Article],
    groups: list[list[int]],
    window: Window,
    options: RunOptions,
    ranking: Ranking | None = None,
) -> tuple[list[Story], list[Section]]:
    """Stories (one per event) ranked, then the picks and "Also worth reading"."""
    ranking = ranking or config.ranking
    ranked = _ranked(config, articles, groups, window, ranking)
    titles = [rule.title for rule in config.sections]
    return rank.select(ranked, _limit(config, options), ranking, titles)


def _ranked(
    config: Config,
    articles: list[Article],
    groups: list[list[int]],
    window: Window,
    ranking: Ranking,
) -> list[Story]:
    """Stories (one per group), each in its section, best first."""
    tags = {f.url: f.tags for f in config.feeds}
    rules = tuple((r.title, tuple(r.keywords), tuple(r.tags)) for r in config.sections)

    def section_of(main: Article, others: Sequence[Article]) -> str:
        seen = (main.title, main.text, main.description)
        key = (rules, *seen, *(tuple(tags.get(a.feed_url, ())) for a in (main, *others)))
        key += tuple(other.title for other in others)
        found = _SECTIONS.get(key)
        if found is None:
            if len(_SECTIONS) >= SECTIONS_KEPT:  # a process that runs many weeks
                _SECTIONS.clear()
            story = Story(main, rank.NO_SUMMARY, others=tuple(others))
            found = _SECTIONS[key] = sections.classify_story(story, tags, config.sections)
        return found

    return rank.stories(articles, groups, window, ranking, section_of)


# Each story's section by what decides it: the rules, the linked article's title, text
# and description, the feeds' tags of every article, the other articles' titles (a run
# ranks the week's stories a dozen times, mostly the same stories).
_SECTIONS: Final[dict[Hashable, str]] = {}
SECTIONS_KEPT = 50_000


def _limit(config: Config, options: RunOptions) -> int:
    return options.max_stories or config.newsletter.max_stories


def _usage_line(config: Config, usage: ModelUsage) -> str:
    """The footer's line on the model, when the owner asked for it."""
    if not (config.llm and config.llm.show_usage and usage.model):
        return ""
    return f"Summaries by {usage.model}: {usage_text(usage)}."


def usage_text(usage: ModelUsage) -> str:
    """ "8 calls, 12,345 tokens, about $0.0123" (the cost only when the model has a price)."""
    text = f"{usage.calls} call{'s' if usage.calls != 1 else ''}"
    if usage.failed_calls:  # "0 of 6 calls succeeded (6 failed)"
        text = (
            f"{usage.calls - usage.failed_calls} of {text} succeeded ({usage.failed_calls} failed)"
        )
    text += f", {usage.total_tokens:,} tokens"
    if usage.cost_usd is not None:
        text += f", about ${usage.cost_usd:.4f}"
    return text


def _detector(config: Config) -> Detector:
    try:
        rules = detect.rules(config.detect)
    except ValueError as exc:
        raise ConfigError(f"[[detect.rules]]: {exc}") from None
    # the page cache holds disclosures and style features: either changing voids it
    return Detector(rules, f"{detect.rules_fingerprint(rules)}-{style.version()}")


def _render(config: Config, digest: Digest, health: tuple[str, ...]) -> Issue:
    """The emailed copy fitted to max_email_bytes, then the owner's copy: the same
    issue plus the feed-health lines, which the reader never gets."""
    templates = config.output.templates_dir
    emailed_digest, emailed, cut = render.fit(digest, templates, config.output.max_email_bytes)
    owner_digest = replace(emailed_digest, health=health)
    owner = render.render(owner_digest, templates) if health else emailed
    subject = _subject(config, digest)
    message = deliver.build_message(
        owner_digest, subject, emailed.text, emailed.html, config.delivery
    )
    return Issue(owner_digest, owner, emailed, subject, message, cut)


def _write_files(out: Path, issue: Issue) -> dict[str, str]:
    """The issue's files in out/; returns them by kind ("html", ... and "report")."""
    files: dict[str, str | bytes] = {
        "digest.html": issue.owner.html,
        "digest.txt": issue.owner.text,
        "digest.md": issue.owner.markdown,
        "digest.eml": issue.message.as_bytes(),
        "digest.json": deliver.digest_json(issue.digest),
    }
    for name, content in files.items():
        deliver.write_file(out / name, content)
    return {name.split(".")[1]: str(out / name) for name in files} | {
        "report": str(out / "report.json")
    }


def _deliver(config: Config, store: Store, issue: Issue, options: RunOptions) -> DeliveryOutcome:
    if options.send:
        return _send(config.delivery, store, issue, options.now)
    if options.proof_to:
        proof = config.delivery.model_copy(update={"to": list(options.proof_to)})
        text, html = review.proof_parts(issue.emailed.text, issue.emailed.html)
        message = deliver.build_message(issue.digest, f"[Proof] {issue.subject}", text, html, proof)
        return _proof(proof, message)
    return DeliveryOutcome()


def _send(
    delivery: Delivery, store: Store, issue: Issue, now: Callable[[], datetime]
) -> DeliveryOutcome:
    """Send the issue to its readers, around the ledger: marked "sending" before, "sent"
    after, unmarked when it certainly did not go out (a later run may try again)."""
    if not delivery.configured:
        return DeliveryOutcome("failed", "[delivery] needs from, to and smtp_host")
    digest = issue.digest
    urls = [a.url for story in digest.shown for a in (story.article, *story.others)]
    return review.send_through_ledger(delivery, store, digest.id, issue.message, urls, now)


def _proof(delivery: Delivery, message: EmailMessage) -> DeliveryOutcome:
    """Send a proof copy; the issue stays unsent (a proof never touches the ledger)."""
    if not (delivery.smtp_host and delivery.sender):
        return DeliveryOutcome("proof failed", "a proof needs [delivery] from and smtp_host")
    try:
        refused = deliver.send(message, delivery)
    except deliver.DeliveryError as exc:
        return DeliveryOutcome("proof failed", str(exc))
    return DeliveryOutcome(
        "proof sent", accepted=len(delivery.to) - len(refused), refused=tuple(refused)
    )


def _archive(config: Config, issue: Issue, delivery: DeliveryOutcome) -> dict[str, str]:
    """The issue's page in the web archive, when it is on and the issue went out (or
    `include = "all"`)."""
    settings = config.archive
    if not settings.enabled or (settings.include != "all" and delivery.status != "sent"):
        return {}
    index = archive.update(settings, archive.archive_dir(config), issue.public, issue.emailed.html)
    return {"archive": str(index[1])}


def _report(
    digest_id: str,
    started: datetime,
    finished: datetime,
    gathered: Gathered,
    articles: list[Article],
    groups: list[list[int]],
    done: Summaries,
    health: dict[str, list[str]],
    timings: dict[str, float],
    issue: Issue | None = None,
    outputs: dict[str, str] | None = None,
    delivery: DeliveryOutcome | None = None,
) -> RunReport:
    """The run as report.json tells it, from what the stages returned."""
    found = gathered.found
    warnings = [RunWarning("feed", w, r.name) for r in found.reports for w in r.warnings]
    if not articles:
        warnings.append(
            RunWarning("input", "no entries in the window: nothing to put in the digest")
        )
    if issue and issue.cut:
        warnings.append(issue.cut)
    blocked = diagnose.blocked(found.reports, gathered.pages.failures)
    if blocked:
        warnings.append(blocked)
    return RunReport(
        digest_id=digest_id,
        started_at=started,
        finished_at=finished,
        feeds=found.reports,
        entries=len(found.entries),
        articles=len(articles),
        stories=len(issue.digest.stories) if issue else 0,
        pages_failed=gathered.pages.failures,
        timings=timings,
        requests=gathered.counts,
        ai_articles=dict(Counter(a.verdict.level for a in articles if a.verdict.level != "none")),
        warnings=(*warnings, *done.warnings),
        outputs=outputs or {},
        delivery=delivery or DeliveryOutcome(),
        ai_picks=issue.digest.ai_picks if issue else 0,
        stories_clustered=len(groups),
        feed_health=health,
        llm=done.usage,
    )


def _no_digest(out: Path, report: RunReport, until: datetime) -> NoReturn:
    deliver.write_file(out / "report.json", deliver.report_json(report))
    feeds = len(report.feeds)
    why = diagnose.no_stories(report.feeds, until)
    raise RunError(
        f"no digest: no stories in the window ({feeds} feeds, {report.feeds_failed} failed)"
        f"{': ' + why if why else ''}; see {out / 'report.json'}"
    )


def _check_ledger(store: Store, digest_id: str, resend: bool) -> None:
    status = store.ledger_status(digest_id)
    if status is None or resend:
        return
    if status == "sent":
        raise AlreadySent(
            f"issue {digest_id} was already sent; pass --resend to send it again, "
            "or --dry-run to rebuild it without sending"
        )
    raise AlreadySent(
        f"issue {digest_id} was being sent when a previous run stopped, so it may have "
        "reached some readers; check the mailbox, then pass --resend to send it anyway"
    )


def _health(found: FeedsResult, now: datetime, weeks: int) -> dict[str, list[str]]:
    """For the owner: feeds that failed this run, and feeds silent for `weeks` weeks."""
    cutoff = now - timedelta(weeks=weeks)
    failed = [f"{r.name}: {r.reason}" for r in found.reports if r.status == "failed"]
    silent = [
        f"{r.name}: nothing new since {r.latest:%Y-%m-%d}"
        for r in found.reports
        if r.status != "failed" and r.latest is not None and r.latest < cutoff
    ]
    return {"failed": failed, "silent": silent}


def _health_lines(config: Config, health: dict[str, list[str]]) -> tuple[str, ...]:
    """The owner's section of the copy in out/, when [health] owner_section is on."""
    if not config.health.owner_section:
        return ()
    failed = [f"Failed this run: {line}" for line in health.get("failed", [])]
    silent = [f"Silent: {line}" for line in health.get("silent", [])]
    return tuple(failed + silent)


def _check_writable(out: Path) -> None:
    """Fail before fetching anything when the output folder cannot be written."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".digest-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise RunError(f"cannot write to the output folder {out}: {exc.strerror or exc}") from None


def _subject(config: Config, digest: Digest) -> str:
    dates = render.daterange(digest.period_start, digest.period_end, digest.timezone)
    return config.delivery.subject.format_map(
        {"title": digest.title, "dates": dates, "issue": digest.id}
    )


@contextmanager
def _timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:  # a stage run again (pages read for a shown story) adds up
        timings[stage] = round(timings.get(stage, 0.0) + time.perf_counter() - start, 3)
