"""AI-source evidence for every story shown, not for stories that cannot be shown: with
`[performance] fetch = "needed"` only the feed texts of the stories that can still make
the issue are scanned for AI disclosures; with `fetch = "all"` every one is. A small week
served over real HTTP (127.0.0.1), two disclosures in feed texts whose pages are gone."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from digest import pageread
from digest.detect import disclosure
from digest.models import Article, Digest
from digest.pipeline import RunOptions, RunResult, run
from digest.store import Store
from tests.conftest import make_config
from tests.servers import HTTPServer, Reply, page, rss

NOW = datetime(2026, 11, 16, 6, tzinfo=UTC)
OPTIONS = RunOptions(until=NOW, now=lambda: NOW)
NOTE = "This story was written with AI."

EVENT = [
    (
        "Northbridge Motors to build $3.5bn battery plant in Ohio",
        "Northbridge Motors said on Tuesday it would build a 40 GWh battery plant in Ohio, "
        "employing about 2,100 people.",
    ),
    (
        "Northbridge Motors picks Ohio for $3.5bn battery plant",
        "Northbridge Motors has chosen Ohio for a $3.5 billion battery plant making 40 GWh "
        "of cells a year, with 2,100 jobs.",
    ),
    (
        "Ohio lands $3.5bn Northbridge battery plant",
        "Ohio will host a $3.5 billion battery plant from Northbridge Motors with 2,100 jobs "
        "and 40 GWh of yearly output. " + NOTE,  # its page is gone: the feed's text tells
    ),
]
OTHERS = [
    ("Kestrel recalls 4,800 vans over sliding door latches", "Dealers swap the latch."),
    ("Osprey names a former airline boss as chairman", "The change comes in May."),
    ("Falcon opens a school for apprentice mechanics", "Forty places a year in Leeds."),
    ("Harrier wins a rally stage in the Welsh forests", "A wet afternoon on gravel."),
    ("Merlin settles a paint lawsuit with owners", "Vouchers of up to four hundred dollars."),
    ("Condor adds a glass sunroof to its city hatchback", "From February at Porto."),
    ("Heron sponsors a vintage bus museum", "Restored double-deckers on Sundays."),
    ("Ibis moves its design studio to Milan", "Sixty stylists relocate by autumn."),
    ("Lark signs a tyre supply deal", "Winter compounds for Nordic vans."),
]
# A light outlet's one story, far below what a place takes: its page is gone too.
FAINT = ("Wren repaints its showroom in Bristol", "The doors reopen on Monday. " + NOTE)


def week(server: HTTPServer) -> list[dict[str, Any]]:
    """Three outlets tell the event and three other stories each; a fourth, light, tells
    FAINT. The event's third page and FAINT's page answer 404."""
    told: list[list[tuple[str, str]]] = [[item] for item in EVENT]
    for n, item in enumerate(OTHERS):
        told[n % 3].append(item)
    told.append([FAINT])
    feeds = []
    for outlet, items in enumerate(told):
        entries = []
        for n, (title, text) in enumerate(items):
            path = f"/{outlet}/{n}.html"
            gone = NOTE in text
            body = page(title, [text] * 3)
            server.route(path, Reply(status=404, body=b"gone") if gone else Reply(body=body))
            entries.append(
                {
                    "title": title,
                    "link": server.url(path),
                    "pubDate": f"1{n} Nov 2026 09:00:00 GMT",
                    "description": text,
                }
            )
        url = server.route(f"/{outlet}.xml", Reply(body=rss(entries, f"Outlet {outlet}")))
        feeds.append(
            {"url": url, "name": f"Outlet {outlet}", "weight": 0.1 if outlet == 3 else 1.5}
        )
    return feeds


def issue(
    tmp_path: Path, server: HTTPServer, fetch: str, workers: int = 0
) -> tuple[RunResult, int, int]:
    """The run, the feed texts scanned for disclosures (the state's cached scans), and
    the disclosures the AI history counted (`workers`: processes for every job)."""
    pool = {"workers": workers, "min_pool_jobs": 1} if workers else {}
    config = make_config(
        tmp_path,
        [server.host_port],
        feeds=week(server),
        newsletter={"max_stories": 1},
        ranking={"more_per_section": 1},
        sections=[{"title": "Batteries", "keywords": ["battery", "plant"]}],
        performance={"fetch": fetch, **pool},
    )
    result = run(config, OPTIONS)
    with Store(config.state.path) as store:
        (scanned,) = store._db.execute(
            "SELECT COUNT(*) FROM results WHERE key LIKE 'feed-disclosures:%'"
        ).fetchone()
        (disclosed,) = store._db.execute("SELECT SUM(disclosed) FROM ai_history").fetchone()
    return result, int(scanned), int(disclosed)


def shown(digest: Digest) -> list[Article]:
    stories = [*digest.stories, *(s for section in digest.more for s in section.stories)]
    return [a for s in stories for a in (s.article, *s.others)]


def test_a_shown_story_keeps_its_feed_disclosure_and_a_faint_one_is_not_scanned(
    tmp_path: Path, http_server: HTTPServer
) -> None:
    result, scanned, disclosed = issue(tmp_path, http_server, "needed")
    assert result.digest is not None
    articles = {a.title: a for a in shown(result.digest)}
    flagged = articles[EVENT[2][0]].verdict
    assert flagged.level == "disclosed"
    assert [NOTE in e.quote for e in flagged.evidence if e.kind == "disclosed"] == [True]
    assert FAINT[0] not in articles
    # One feed text scanned (the event's unread page); FAINT's story could never be
    # shown: neither its page nor its feed text was read, and the history counts one.
    assert scanned == 1
    assert disclosed == 1
    requests = result.report.requests
    assert requests["feed_texts_unscanned"] == requests["pages_skipped"] > 0


def test_fetching_everything_scans_every_feed_text_whose_page_is_gone(
    tmp_path: Path, http_server: HTTPServer
) -> None:
    result, scanned, disclosed = issue(tmp_path, http_server, "all")
    assert result.digest is not None
    flagged = {a.title: a.verdict for a in shown(result.digest)}[EVENT[2][0]]
    assert [NOTE in e.quote for e in flagged.evidence if e.kind == "disclosed"] == [True]
    assert scanned == 2  # the event's and FAINT's: both pages are gone
    assert disclosed == 2
    assert result.report.requests["feed_texts_unscanned"] == 0


def test_the_page_workers_scan_the_feed_texts_and_this_process_never_compiles_the_rules(
    tmp_path: Path, http_server: HTTPServer
) -> None:
    """With worker processes, the feed texts whose pages are gone are scanned where the
    pages are read: the same evidence, and the rules never compiled in the run's process."""
    disclosure._shipped.cache_clear()  # the shipped rules as this run first sees them
    pageread._compiled.cache_clear()
    result, scanned, disclosed = issue(tmp_path, http_server, "all", workers=2)
    assert result.digest is not None
    flagged = {a.title: a.verdict for a in shown(result.digest)}[EVENT[2][0]]
    assert [NOTE in e.quote for e in flagged.evidence if e.kind == "disclosed"] == [True]
    assert (scanned, disclosed) == (2, 2)
    assert [r.id for r in disclosure._shipped() if "regex" in vars(r)] == []
    assert pageread._compiled.cache_info().currsize == 0
