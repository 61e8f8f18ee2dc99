"""Serve the real feeds of ../shared/corpus/feeds/real over loopback, with every link
rewritten onto the same server and answered by a real article page.

Each feed is served at `/feed/<name>`; every absolute http(s) URL inside it becomes
`http://HOST:PORT/x/<scheme>/<host>/<path>`, which answers with a page from
../shared/corpus/extraction/html chosen deterministically from the path. So a run
over these feeds exercises the whole fetch path and never leaves loopback.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

from digest.demo.loopback import Answer, LoopbackServer
from digest.demo.server import with_etag

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
URL = re.compile(rb"https?://[^\s\"'<>)\]]+")
XMLNS = re.compile(rb"xmlns(?::[\w.-]+)?\s*=\s*[\"']$")


class FeedServer(LoopbackServer):
    """`with FeedServer() as s: s.feeds` lists (feed URL, original URL)."""

    def __init__(self, corpus: Path = SHARED, host: str = "127.0.0.1", latency: float = 0.0):
        super().__init__(host)
        real = corpus / "feeds" / "real"
        self.originals: dict[str, str] = json.loads((real / "urls.json").read_text())
        raw = {name: gzip.decompress((real / f"{name}.gz").read_bytes()) for name in self.originals}
        self.served = {name: self._rewrite(body) for name, body in raw.items()}
        self.pages = sorted((corpus / "extraction" / "html").glob("*.html.gz"))
        self.latency = latency
        self.hits: Counter[str] = Counter()
        self._page_cache: dict[int, bytes] = {}

    @property
    def feeds(self) -> list[tuple[str, str]]:
        return [(f"{self.base}/feed/{name}", url) for name, url in sorted(self.originals.items())]

    def _rewrite(self, body: bytes) -> bytes:
        base = self.base.encode()

        def local(match: re.Match[bytes]) -> bytes:
            if XMLNS.search(body, max(0, match.start() - 60), match.start()):
                return match.group(0)  # a namespace name, not a link
            scheme, rest = match.group(0).split(b"://", 1)
            return base + b"/x/" + scheme + b"/" + rest

        return URL.sub(local, body)

    def page(self, path: str) -> bytes:
        index = int(hashlib.sha256(path.encode()).hexdigest(), 16) % len(self.pages)
        if index not in self._page_cache:
            self._page_cache[index] = gzip.decompress(self.pages[index].read_bytes())
        return self._page_cache[index]

    def answer(self, path: str, headers: dict[str, str]) -> Answer:
        if self.latency:
            time.sleep(self.latency)
        route = urlsplit(path).path
        if route.startswith("/feed/") and route[6:] in self.served:
            self.hits["feed"] += 1
            body = self.served[route[6:]]
            return with_etag(Answer(200, body, {"Content-Type": _kind(body)}), headers)
        if route.startswith("/x/"):
            self.hits["page"] += 1
            return Answer(200, self.page(path), {"Content-Type": "text/html; charset=utf-8"})
        return super().answer(path, headers)


def _kind(body: bytes) -> str:
    head = body[:1000].lstrip()
    if head.startswith(b"{"):
        return "application/feed+json"
    return "application/atom+xml" if b"<feed" in head else "application/rss+xml"
