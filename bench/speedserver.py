"""The real feeds of ../shared/corpus as many hosts on loopback, for the speed benchmark.

Every original host name (a feed's or an article's) is mapped to one of several loopback
addresses (127.0.0.2, 127.0.0.3, ...), each its own server, so hosts stay distinct hosts
for per-host limits and keep-alive. Every URL in a feed becomes
`http://127.0.0.N:PORT/c<copy>/<scheme>/<host>/<path>` and every article link is answered
by a real page of ../shared/corpus/extraction/html, chosen deterministically from its path.
Responses wait `latency` seconds; each original host serves at most `per_host` requests
at once; feeds carry an ETag and a Last-Modified and answer 304 to a client that has them.
`copies` serves the whole set that many times under distinct URLs (for the 1x/3x/10x runs);
`per_feed` keeps each feed's newest N entries (a week's worth, about).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import threading
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import Self

from digest.demo.loopback import Answer, LoopbackServer

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
URL = re.compile(rb"https?://[^\s\"'<>)\]]+")
XMLNS = re.compile(rb"xmlns(?::[\w.-]+)?\s*=\s*[\"']$")
ITEM = re.compile(rb"<(item|entry)[\s>].*?</\1\s*>", re.DOTALL)
LAST_MODIFIED = "Mon, 16 Nov 2026 06:00:00 GMT"


class Corpus:
    """The feeds (raw, by name) and the pool of article pages."""

    def __init__(self, root: Path = SHARED) -> None:
        real = root / "feeds" / "real"
        self.originals: dict[str, str] = json.loads((real / "urls.json").read_text())
        self.raw = {n: gzip.decompress((real / f"{n}.gz").read_bytes()) for n in self.originals}
        paths = sorted((root / "extraction" / "html").glob("*.html.gz"))
        self.pages = [gzip.decompress(p.read_bytes()) for p in paths]

    def page_for(self, path: str) -> bytes:
        index = int(hashlib.sha256(path.encode()).hexdigest(), 16) % len(self.pages)
        return self.pages[index]


def truncate(body: bytes, per_feed: int) -> bytes:
    """The feed with only its first `per_feed` items or entries (feeds list newest first)."""
    if per_feed <= 0:
        return body
    kept = 0

    def keep(match: re.Match[bytes]) -> bytes:
        nonlocal kept
        kept += 1
        return match.group(0) if kept <= per_feed else b""

    return ITEM.sub(keep, body)


class HostServer(LoopbackServer):
    """One loopback address: the feeds and pages of the original hosts mapped to it."""

    def __init__(self, farm: Farm, address: str) -> None:
        super().__init__(address)
        self.farm = farm

    def answer(self, path: str, headers: dict[str, str]) -> Answer:
        return self.farm.answer(path, headers)


class Farm:
    """`with Farm(corpus, hosts=6) as farm: farm.feed_urls`."""

    def __init__(
        self,
        corpus: Corpus,
        hosts: int = 6,
        latency: float = 0.05,
        per_host: int = 6,
        copies: int = 1,
        per_feed: int = 10,
    ) -> None:
        self.corpus = corpus
        self.latency = latency
        self.per_host = per_host
        self.copies = copies
        self.per_feed = per_feed
        self.servers = [HostServer(self, f"127.0.0.{2 + i}") for i in range(hosts)]
        self.hits: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._limits: dict[str, threading.BoundedSemaphore] = {}
        self._stack = ExitStack()
        self.feeds: dict[str, bytes] = {}

    def __enter__(self) -> Self:
        for server in self.servers:
            self._stack.enter_context(server)
        for copy in range(self.copies):
            for name, original in self.corpus.originals.items():
                body = truncate(self.corpus.raw[name], self.per_feed)
                self.feeds[self.local(original, copy)] = self._rewrite(body, copy)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stack.close()

    @property
    def allow_hosts(self) -> list[str]:
        return [server.host_port for server in self.servers]

    @property
    def feed_urls(self) -> list[str]:
        return sorted(self.feeds)

    def local(self, url: str, copy: int) -> str:
        """Where an original URL is served."""
        scheme, _, rest = url.partition("://")
        host = rest.split("/", 1)[0].split("?", 1)[0].rsplit("@", 1)[-1].lower() or "unknown"
        server = self.servers[
            int(hashlib.sha256(host.encode()).hexdigest(), 16) % len(self.servers)
        ]
        return f"{server.base}/c{copy}/{scheme}/{rest}"

    def _rewrite(self, body: bytes, copy: int) -> bytes:
        def local(match: re.Match[bytes]) -> bytes:
            if XMLNS.search(body, max(0, match.start() - 60), match.start()):
                return match.group(0)  # a namespace name, not a link
            return self.local(match.group(0).decode("utf-8", "replace"), copy).encode()

        return URL.sub(local, body)

    def answer(self, path: str, headers: dict[str, str]) -> Answer:
        host = path.split("/")[3] if path.count("/") >= 3 else ""
        with self._limit(host):
            if self.latency:
                time.sleep(self.latency)
            return self._answer(path, headers)

    def _answer(self, path: str, headers: dict[str, str]) -> Answer:
        for base in (s.base for s in self.servers):
            body = self.feeds.get(base + path)
            if body is not None:
                return self._feed(body, headers)
        # Any other path is an article: under /c<copy>/, or a link a feed gives relative
        # to itself, which resolves outside that tree. The outlet's host would answer that
        # one with the article, so the farm does too (it answered 404: a run read five
        # pages fewer than it would on the web, and each warm run asked for them again).
        if path.strip("/"):
            self._count("page")
            return Answer(200, self.corpus.page_for(path), {"Content-Type": "text/html"})
        self._count("not found")
        return Answer(404, b"not found", {"Content-Type": "text/plain"})

    def _feed(self, body: bytes, headers: dict[str, str]) -> Answer:
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if (
            headers.get("if-none-match") == etag
            or headers.get("if-modified-since") == LAST_MODIFIED
        ):
            self._count("feed-304")
            return Answer(304, b"", {"ETag": etag, "Last-Modified": LAST_MODIFIED})
        self._count("feed")
        kind = "application/atom+xml" if b"<feed" in body[:1000] else "application/rss+xml"
        return Answer(
            200, body, {"Content-Type": kind, "ETag": etag, "Last-Modified": LAST_MODIFIED}
        )

    def _count(self, what: str) -> None:
        with self._lock:
            self.hits[what] += 1

    def _limit(self, host: str) -> threading.BoundedSemaphore:
        with self._lock:
            if host not in self._limits:
                self._limits[host] = threading.BoundedSemaphore(self.per_host)
            return self._limits[host]
