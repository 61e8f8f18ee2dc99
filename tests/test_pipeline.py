"""A whole run against real loopback peers: HTTP feeds and pages, SQLite, SMTP."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from digest.config import Config
from digest.models import DeliveryOutcome
from digest.pipeline import AlreadySent, RunError, RunOptions, SendFailed, run
from tests import smtp
from tests.conftest import make_config
from tests.servers import HTTPServer, Reply, page, rss

NOW = datetime(2026, 11, 16, 6, tzinfo=UTC)
OPTIONS = RunOptions(until=NOW, now=lambda: NOW)
EVENTS = [  # three different events, so three stories
    [
        "Kestrel Automotive said on Monday it would recall 48,000 pickups over a faulty "
        "tailgate latch that can open while driving.",
        "Owners will be notified by letter from December, the carmaker said.",
        "Dealers will replace the latch free of charge in about 40 minutes.",
    ],
    [
        "Osprey Mobility raised 220 million euros from pension funds to expand its "
        "electric bus leasing business across Scandinavia.",
        "Finance director Lars Moen said the money would fund 900 buses by 2028.",
        "The company leases buses to 14 city operators today.",
    ],
    [
        "Falcon Wagen unveiled a compact estate with a 1.5-litre hybrid engine at a "
        "launch event in Turin on Thursday.",
        "Prices start at 27,400 euros, with deliveries due in March.",
        "Designer Giulia Ferri said the roofline was borrowed from the brand's 1960s coupes.",
    ],
]
PARAGRAPHS = [
    "Northbridge Motors said on Tuesday it would build a 40 GWh battery plant in Ohio, "
    "its largest investment in the U.S. to date.",
    "The plant will cost $3.5 billion and employ about 2,100 people when it opens in 2028, "
    "the company said in a statement.",
    "Chief executive Dana Ruiz said the site was chosen for its rail links and grid capacity.",
    "Analysts at Halden Securities said the move would cut cell costs by roughly 12 percent.",
    "Construction is due to begin in the spring, subject to state permits.",
]


def world(server: HTTPServer) -> list[dict[str, object]]:
    """Three feeds: a good one, one whose pages fail, and one that is not a feed."""
    for n in range(3):
        server.route(
            f"/a/{n}.html",
            Reply(
                body=page(f"Story {n}", EVENTS[n] * 2),
                headers={"Content-Type": "text/html"},
            ),
        )
    server.route(
        "/b/pdf", Reply(body=b"%PDF-1.7 binary", headers={"Content-Type": "application/pdf"})
    )
    a_items = [
        {
            "title": f"Story {n}",
            "link": server.url(f"/a/{n}.html?utm_source=rss"),
            "pubDate": f"{10 + n} Nov 2026 09:00:00 GMT",
        }
        for n in range(3)
    ]
    b_items = [
        {
            "title": "Only in the feed",
            "link": server.url("/b/missing"),
            "pubDate": "12 Nov 2026 09:00:00 GMT",
            "description": "Harbor Auto said it would recall 12,000 vans. The fix takes an hour.",
        },
        {
            "title": "A PDF",
            "link": server.url("/b/pdf"),
            "pubDate": "13 Nov 2026 09:00:00 GMT",
            "description": "A document, not a page.",
        },
    ]
    return [
        {
            "url": server.route("/a.xml", Reply(body=rss(a_items), headers={"ETag": '"a"'})),
            "name": "Alpha Autos",
            "weight": 1.2,
        },
        {"url": server.route("/b.xml", Reply(body=rss(b_items))), "name": "Beta Wheels"},
        {
            "url": server.route(
                "/c.xml", Reply(body=b"<html>oops</html>", headers={"Content-Type": "text/html"})
            ),
            "name": "Gamma",
        },
    ]


@pytest.fixture
def config(tmp_path: Path, http_server: HTTPServer) -> Config:
    return make_config(tmp_path, [http_server.host_port], feeds=world(http_server))


def test_a_run_writes_every_file_and_names_every_failure(config: Config) -> None:
    result = run(config, OPTIONS)
    out = config.output.dir
    assert {p.name for p in out.iterdir()} >= {
        "digest.html",
        "digest.txt",
        "digest.md",
        "digest.eml",
        "digest.json",
        "report.json",
    }
    report = json.loads((out / "report.json").read_text())
    assert [f["status"] for f in report["feeds"]] == ["ok", "ok", "failed"]
    assert "not a feed" in report["feeds"][2]["reason"]
    failed_pages = {p["url"].rsplit("/", 1)[1]: p["reason"] for p in report["pages_failed"]}
    assert "404" in failed_pages["missing"] and "application/pdf" in failed_pages["pdf"]
    assert report["stories"] == 5 and report["feeds_failed"] == 1
    stories = json.loads((out / "digest.json").read_text())["stories"]
    by_title = {s["article"]["title"]: s for s in stories}
    assert by_title["Only in the feed"]["article"]["method"] == "feed"
    assert by_title["Story 0"]["article"]["method"] == "page"
    assert "utm_source" not in by_title["Story 0"]["article"]["url"]
    assert result.digest is not None and len(result.digest.stories) == 5


def test_eml_is_multipart_alternative_text_then_html(config: Config) -> None:
    run(config, OPTIONS)
    raw = (config.output.dir / "digest.eml").read_bytes()
    message = message_from_bytes(raw, policy=policy.default)
    assert message.get_content_type() == "multipart/alternative"
    parts = [p.get_content_type() for p in message.iter_parts()]  # type: ignore[attr-defined]
    assert parts == ["text/plain", "text/html"]
    for header in ("Message-ID", "Date", "From", "To", "Subject"):
        assert message[header], header
    assert "Test Motoring Weekly" in message["Subject"]


def test_rerun_is_served_from_caches_and_changes_nothing(
    config: Config, http_server: HTTPServer
) -> None:
    run(config, OPTIONS)
    first = (config.output.dir / "digest.html").read_text()
    page_hits = http_server.hits("/a/0.html")
    run(config, OPTIONS)
    assert (config.output.dir / "digest.html").read_text() == first
    assert http_server.hits("/a/0.html") == page_hits  # the page came from the cache
    report = json.loads((config.output.dir / "report.json").read_text())
    assert report["feeds"][0]["status"] == "not-modified"
    assert report["requests"]["pages_cached"] >= 3


def test_max_stories_and_window(config: Config) -> None:
    result = run(config, RunOptions(until=NOW, now=lambda: NOW, max_stories=2))
    assert result.digest is not None and len(result.digest.stories) == 2
    narrow = RunOptions(until=NOW, now=lambda: NOW, since=timedelta(days=4))
    result = run(config, narrow)
    assert result.digest is not None
    assert {s.article.title for s in result.digest.stories} == {
        "Story 2",
        "Only in the feed",
        "A PDF",
    }


def test_no_entries_is_a_run_error_with_a_report(config: Config) -> None:
    empty = RunOptions(until=NOW - timedelta(days=60), now=lambda: NOW)
    with pytest.raises(RunError, match="no stories in the window"):
        run(config, empty)
    assert (config.output.dir / "report.json").exists()
    assert not (config.output.dir / "digest.html").exists()


def with_delivery(config: Config, port: int, **kw: object) -> Config:
    delivery = config.delivery.model_validate(
        {
            "from": "Digest <digest@example.org>",
            "to": ["reader@example.org"],
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "security": "none",
        }
        | kw
    )
    return config.model_copy(update={"delivery": delivery})


def test_send_once_then_refuse_then_resend(config: Config, inbox: tuple[smtp.Inbox, int]) -> None:
    box, port = inbox
    config = with_delivery(config, port)
    send = RunOptions(until=NOW, now=lambda: NOW, send=True)
    result = run(config, send)
    assert result.report.delivery == DeliveryOutcome(
        "sent", accepted=1, may_have_reached_readers=True
    )
    assert str(result.report.delivery) == "sent to 1 recipient(s)"
    eml = message_from_bytes((config.output.dir / "digest.eml").read_bytes(), policy=policy.default)
    assert [m["Message-ID"] for m in box.messages] == [eml["Message-ID"]]  # the .eml went out
    assert box.envelopes[0] == ("digest@example.org", ["reader@example.org"])
    with pytest.raises(AlreadySent, match="--resend"):
        run(config, send)
    assert len(box.messages) == 1
    run(config, RunOptions(until=NOW, now=lambda: NOW, send=True, resend=True))
    assert [m["Message-ID"] for m in box.messages] == [eml["Message-ID"]] * 2


def test_next_week_leaves_out_what_was_sent(config: Config, inbox: tuple[smtp.Inbox, int]) -> None:
    _box, port = inbox
    config = with_delivery(config, port)
    run(config, RunOptions(until=NOW, now=lambda: NOW, send=True, max_stories=2))
    sent = {s.article.url for s in run(config, OPTIONS).digest.stories[:2]}  # type: ignore[union-attr]
    later = NOW + timedelta(days=3)
    result = run(config, RunOptions(until=later, now=lambda: later, since=timedelta(days=10)))
    assert result.digest is not None
    assert not sent & {s.article.url for s in result.digest.stories}


def test_starttls_with_login(
    config: Config, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    server_context = smtp.trusted_tls(tmp_path, monkeypatch)
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "open sesame")
    box = smtp.Inbox()
    controller = smtp.start(box, tls=server_context, auth=("digest", "open sesame"))
    try:
        config = with_delivery(
            config,
            controller.port,
            security="starttls",
            username="digest",
            password_env="TEST_SMTP_PASSWORD",
        )
        result = run(config, RunOptions(until=NOW, now=lambda: NOW, send=True))
    finally:
        controller.stop()
    assert result.report.delivery.status == "sent" and len(box.messages) == 1


def test_smtp_failure_keeps_the_digest_and_does_not_mark_it_sent(config: Config) -> None:
    config = with_delivery(config, smtp.free_port(), retry_delay=0)  # nothing listens there
    send = RunOptions(until=NOW, now=lambda: NOW, send=True)
    with pytest.raises(SendFailed, match="digest is in"):
        run(config, send)
    assert (config.output.dir / "digest.eml").exists()
    report = json.loads((config.output.dir / "report.json").read_text())
    assert report["delivery"].startswith("failed")
    with pytest.raises(SendFailed):  # not AlreadySent: nothing was sent
        run(config, send)


def test_implicit_tls(config: Config, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    server_context = smtp.trusted_tls(tmp_path, monkeypatch)
    box = smtp.Inbox()
    controller = smtp.start(box, tls=server_context, implicit=True)
    try:
        config = with_delivery(config, controller.port, security="ssl")
        result = run(config, RunOptions(until=NOW, now=lambda: NOW, send=True))
    finally:
        controller.stop()
    assert result.report.delivery.status == "sent" and len(box.messages) == 1


def test_bad_inputs_are_named_and_the_digest_still_comes(
    tmp_path: Path, http_server: HTTPServer
) -> None:
    def slow(seen: object) -> Reply:
        time.sleep(1.5)
        return Reply(body=rss([]))

    good = [
        {
            "title": f"Story {n}",
            "link": http_server.url(f"/p/{n}"),
            "pubDate": "12 Nov 2026 09:00:00 GMT",
            "description": f"{company} said on Monday it would recall {k},000 vans.",
        }
        for n, company, k in (
            ("huge", "Harbor Auto", 3),
            ("empty", "Lumen Trucks", 7),
            ("binary", "Pike Motors", 11),
            ("fine", "Northbridge Motors", 5),
        )
    ]
    http_server.route(
        "/p/huge", Reply(body=b"<p>x</p>" * 40_000, headers={"Content-Type": "text/html"})
    )
    http_server.route("/p/empty", Reply(body=b"", headers={"Content-Type": "text/html"}))
    http_server.route(
        "/p/binary", Reply(body=bytes(range(256)) * 50, headers={"Content-Type": "text/html"})
    )
    http_server.route(
        "/p/fine", Reply(body=page("Fine", PARAGRAPHS), headers={"Content-Type": "text/html"})
    )
    feeds = [
        {"url": http_server.route("/ok.xml", Reply(body=rss(good))), "name": "Good"},
        {"url": http_server.route("/slow.xml", slow), "name": "Slow"},
        {"url": http_server.route("/junk.xml", Reply(body=b"\x00\xff" * 100)), "name": "Junk"},
    ]
    config = make_config(
        tmp_path,
        [http_server.host_port],
        feeds=feeds,
        network={"read_timeout": 0.5, "max_bytes": 200_000},
    )
    result = run(config, OPTIONS)
    reports = {f.name: f for f in result.report.feeds}
    assert reports["Slow"].status == "failed" and "timed out" in reports["Slow"].reason
    assert reports["Junk"].status == "failed" and reports["Junk"].reason
    failures = {p.url.rsplit("/", 1)[1]: p.reason for p in result.report.pages_failed}
    assert "too large" in failures["huge"]
    assert failures["empty"] and failures["binary"]
    assert "fine" not in failures
    assert result.digest is not None and len(result.digest.stories) == 4


def test_a_send_that_may_have_arrived_is_not_repeated(config: Config) -> None:
    box = smtp.Inbox(stall=2.0)  # the server takes the message, then answers too late
    controller = smtp.start(box)
    try:
        config = with_delivery(config, controller.port, timeout=0.5)
        send = RunOptions(until=NOW, now=lambda: NOW, send=True)
        with pytest.raises(SendFailed):
            run(config, send)
        with pytest.raises(AlreadySent, match="was being sent"):
            run(config, send)
    finally:
        controller.stop()


def test_refused_recipients_are_reported(config: Config) -> None:
    box = smtp.Inbox(refuse=frozenset({"gone@example.org"}))
    controller = smtp.start(box)
    try:
        config = with_delivery(
            config, controller.port, to=["reader@example.org", "gone@example.org"]
        )
        result = run(config, RunOptions(until=NOW, now=lambda: NOW, send=True))
    finally:
        controller.stop()
    assert result.report.delivery.refused == ("gone@example.org",)
    assert (
        str(result.report.delivery)
        == "sent to 1 recipient(s); refused by the server: gone@example.org"
    )
    assert box.envelopes[0][1] == ["reader@example.org"]


def test_feed_health_goes_to_the_owners_copy_never_to_the_email(
    tmp_path: Path, http_server: HTTPServer
) -> None:
    config = make_config(
        tmp_path, [http_server.host_port], feeds=world(http_server), health={"owner_section": True}
    )
    run(config, OPTIONS)
    text = (config.output.dir / "digest.txt").read_text()
    assert "FOR THE OWNER ONLY" in text and "Failed this run: Gamma: not a feed" in text
    assert "For the owner only" in (config.output.dir / "digest.html").read_text()
    message = message_from_bytes(
        (config.output.dir / "digest.eml").read_bytes(), policy=policy.default
    )
    for part in message.iter_parts():  # type: ignore[attr-defined]
        assert "owner only" not in part.get_content().lower()


def test_a_proof_goes_to_the_owner_and_leaves_the_issue_unsent(
    config: Config, inbox: tuple[smtp.Inbox, int]
) -> None:
    box, port = inbox
    config = with_delivery(config, port)
    proof = RunOptions(until=NOW, now=lambda: NOW, proof_to=("owner@example.org",))
    result = run(config, proof)
    assert result.report.delivery == DeliveryOutcome("proof sent", accepted=1)
    assert str(result.report.delivery).startswith("proof sent to 1 recipient(s)")
    assert box.envelopes == [("digest@example.org", ["owner@example.org"])]
    assert str(box.messages[0]["Subject"]).startswith("[Proof] ")
    send = RunOptions(until=NOW, now=lambda: NOW, send=True)
    assert run(config, send).report.delivery.status == "sent"  # not "already sent"
    assert box.envelopes[1] == ("digest@example.org", ["reader@example.org"])


def test_a_busy_server_is_tried_again_and_the_issue_goes_out_once(config: Config) -> None:
    box = smtp.Inbox(busy=2)  # "421 try again later", twice
    controller = smtp.start(box)
    try:
        config = with_delivery(config, controller.port, retries=2, retry_delay=0.05)
        result = run(config, RunOptions(until=NOW, now=lambda: NOW, send=True))
        assert str(result.report.delivery) == "sent to 1 recipient(s)"
        assert len(box.messages) == 1
    finally:
        controller.stop()


def test_a_server_still_busy_after_the_retries_fails_and_can_be_retried_later(
    config: Config,
) -> None:
    box = smtp.Inbox(busy=3)
    controller = smtp.start(box)
    try:
        config = with_delivery(config, controller.port, retries=1, retry_delay=0.05)
        send = RunOptions(until=NOW, now=lambda: NOW, send=True)
        with pytest.raises(SendFailed, match="421"):
            run(config, send)
        assert box.messages == []
        run(config, send)  # nothing went out, so the ledger lets a later run send
        assert len(box.messages) == 1
    finally:
        controller.stop()


def test_secrets_never_reach_reports_files_or_messages(
    config: Config,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A failed login: nothing the run writes (report, issue, .eml, state) or prints, and
    not the error, carries the password."""
    secret = "s3cret-Pa55word-that-must-not-leak"
    server_context = smtp.trusted_tls(tmp_path, monkeypatch)
    monkeypatch.setenv("TEST_SMTP_PASSWORD", secret)
    controller = smtp.start(smtp.Inbox(), tls=server_context, auth=("digest", "another one"))
    try:
        config = with_delivery(
            config,
            controller.port,
            security="starttls",
            username="digest",
            password_env="TEST_SMTP_PASSWORD",
            retries=0,
            timeout=3,
        )
        with pytest.raises(SendFailed) as failed:
            run(config, RunOptions(until=NOW, now=lambda: NOW, send=True))
    finally:
        controller.stop()
    assert secret not in str(failed.value)
    written = "".join(p.read_text(errors="replace") for p in config.output.dir.rglob("*.*"))
    captured = capsys.readouterr()
    assert secret not in written + captured.out + captured.err
    state = config.state.path.read_bytes()
    assert secret.encode() not in state


def test_a_connection_dropped_mid_message_is_never_sent_again_without_resend(
    config: Config,
) -> None:
    box = smtp.Inbox(drop=True)
    controller = smtp.start(box)
    try:
        config = with_delivery(config, controller.port, retry_delay=0)
        send = RunOptions(until=NOW, now=lambda: NOW, send=True)
        with pytest.raises(SendFailed):
            run(config, send)
        box.drop = False
        with pytest.raises(AlreadySent, match="was being sent"):  # it may have arrived
            run(config, send)
        assert box.messages == []
        run(config, RunOptions(until=NOW, now=lambda: NOW, send=True, resend=True))
        assert len(box.messages) == 1
    finally:
        controller.stop()


def test_languages_are_cached_by_the_texts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A warm run reads the languages of the week's texts from the state, not again."""
    from digest import language, pipeline
    from digest.store import Store

    texts = [
        "Der neue Wagen ist schneller und die Batterie hält länger als bei dem alten Modell. " * 4,
        "The new car is faster and the battery lasts longer than in the old model, they said. " * 4,
    ]
    now = datetime(2026, 11, 16, tzinfo=UTC)
    with Store(tmp_path / "state.sqlite") as store:
        first = pipeline._languages(store, texts, now)

        def no_detect(text: str, limit: int = 2000) -> str:
            raise AssertionError("detected again")

        monkeypatch.setattr(language, "detect", no_detect)
        assert pipeline._languages(store, texts, now) == first == ["de", "en"]
        with pytest.raises(AssertionError, match="detected again"):
            pipeline._languages(store, [*texts, "another text"], now)


def test_a_settled_run_is_where_a_warm_run_starts(tmp_path: Path) -> None:
    """What a needed-fetch run settled on (pages read, stories) is kept by its entries;
    it is used only when its stories cover this run's entries exactly once."""
    from digest import pipeline
    from digest.feeds import FeedsResult
    from digest.models import Entry
    from digest.store import Store

    def entry(n: int) -> Entry:
        return Entry(url=f"https://cars.example/{n}", feed_url="f", source="s", title=f"t{n}")

    found = FeedsResult((entry(0), entry(1), entry(2)), ())
    now = datetime(2026, 11, 16, tzinfo=UTC)
    with Store(tmp_path / "state.sqlite") as store:
        cold = pipeline._settled(store, found)
        assert cold.read == set() and cold.groups_in(found) is None
        articles = [pipeline.to_article(e, None) for e in found.entries]
        pipeline._settle(store, cold.key, {entry(2).url}, articles, [[2, 0], [1]], now)
        warm = pipeline._settled(store, found)
        assert warm.read == {entry(2).url}
        assert warm.groups_in(found) == [[2, 0], [1]]
        other = FeedsResult((entry(0), entry(1), entry(3)), ())
        assert pipeline._settled(store, other).read == set()
        assert replace(warm, key="k").groups_in(other) is None  # entry 3 is in no story


def test_style_is_read_only_for_the_articles_asked_disclosures_and_lists_for_all(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Articles whose pages were not read (stories that cannot be shown) get no style
    reading, yet the owner's list and a disclosure found still flag them."""
    from digest import detect
    from digest.config import Detect
    from digest.detect import style
    from digest.models import Article, Evidence

    text = "The new model arrives in spring with a larger battery and a lower price. " * 12
    feed = "https://feed.example/x.xml"
    articles = [
        Article("https://read.example/a", "Read", feed, "A", text, "page"),
        Article("https://listed.example/b", "Listed", feed, "B", text, "feed"),
        Article("https://other.example/c", "Other", feed, "C", text, "feed"),
    ]
    disclosed = Evidence("meta", "ai-meta", "written by AI", "body")
    asked: list[str] = []
    reading = style.reading

    def counted(text: str, values: tuple[float, ...] = ()) -> style.Reading:
        asked.append(text)
        return reading(text, values)

    monkeypatch.setattr(style, "reading", counted)
    listing = detect.owner_listing(
        Detect.model_validate({"sources": [{"domain": "listed.example", "reason": "a farm"}]})
    )
    verdicts = detect.assess(
        articles,
        {"https://other.example/c": (disclosed,)},
        {},
        listing,
        [],
        {"https://read.example/a"},
    )
    assert len(asked) == 1  # the read article only
    assert verdicts[0].score == reading(text).score and verdicts[0].score > 0
    assert [v.level for v in verdicts[1:]] == ["listed", "disclosed"]
    assert verdicts[1].score == verdicts[2].score == 0.0


def test_a_later_round_reads_the_pages_ranked_meanwhile_with_the_certain_ones(
    tmp_path: Path, http_server: HTTPServer
) -> None:
    """A round after the first reads the pages of the stories shown at once and, in the
    same round, those `also` names (ranked in a thread meanwhile): every page read or
    tried once, the failures in the order of the week's entries, as one read of both."""
    from digest.feeds import FeedsResult
    from digest.models import Entry
    from digest.pages import PagesResult, PageWorkers
    from digest.pipeline import Gathered, _detector, _read_more
    from digest.store import Store

    paths = ["/a", "/b", "/c", "/d", "/e"]
    for path in paths:
        if path in ("/b", "/e"):  # these two cannot be read
            http_server.route(path, Reply(status=404))
        else:
            words = [f"The {path[1:]} story, told in full with its details and its figures."]
            http_server.route(path, Reply(body=page(f"Story {path[1:]}", words * 12)))
    config = make_config(tmp_path, [http_server.host_port])
    feed = http_server.url("/feed.xml")
    entries = tuple(Entry(http_server.url(p), feed, "One", f"Story {p[1:]}") for p in paths)
    found = FeedsResult(entries, ())
    urls = [entry.url for entry in entries]
    before = Gathered(found, PagesResult({}, (), 0), {}, {urls[0]})
    asked: list[str] = []

    def also() -> set[str]:
        asked.append("also")
        return {urls[0], urls[1], urls[4]}  # one tried before: not again

    with Store(config.state.path) as store, PageWorkers(config.performance) as workers:
        after = _read_more(
            config, store, _detector(config), before, {urls[2], urls[3]}, NOW, {}, workers, also
        )
    assert asked == ["also"]
    assert after.tried == set(urls)
    assert sorted(after.pages.pages) == sorted([urls[2], urls[3]])
    assert [failure.url for failure in after.pages.failures] == [urls[1], urls[4]]
