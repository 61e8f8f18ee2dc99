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
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
URL = re.compile(rb"https?://[^\s\"'<>)\]]+")


class FeedServer:
    """`with FeedServer() as s: s.feeds` lists (feed URL, original URL)."""

    def __init__(self, corpus: Path = SHARED, host: str = "127.0.0.1", latency: float = 0.0):
        real = corpus / "feeds" / "real"
        self.originals: dict[str, str] = json.loads((real / "urls.json").read_text())
        self.raw = {
            name: gzip.decompress((real / f"{name}.gz").read_bytes()) for name in self.originals
        }
        self.pages = sorted((corpus / "extraction" / "html").glob("*.html.gz"))
        self.latency = latency
        self.hits: Counter[str] = Counter()
        self._page_cache: dict[int, bytes] = {}
        self._server = ThreadingHTTPServer((host, 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def host_port(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    @property
    def base(self) -> str:
        return f"http://{self.host_port}"

    @property
    def feeds(self) -> list[tuple[str, str]]:
        return [(f"{self.base}/feed/{name}", url) for name, url in sorted(self.originals.items())]

    def __enter__(self) -> FeedServer:
        self.served = {name: self._rewrite(body) for name, body in self.raw.items()}
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _rewrite(self, body: bytes) -> bytes:
        base = self.base.encode()

        def local(match: re.Match[bytes]) -> bytes:
            parts = match.group(0).split(b"://", 1)
            return base + b"/x/" + parts[0] + b"/" + parts[1]

        return URL.sub(local, body)

    def page(self, path: str) -> bytes:
        index = int(hashlib.sha256(path.encode()).hexdigest(), 16) % len(self.pages)
        if index not in self._page_cache:
            self._page_cache[index] = gzip.decompress(self.pages[index].read_bytes())
        return self._page_cache[index]


def _kind(body: bytes) -> str:
    head = body[:1000].lstrip()
    if head.startswith(b"{"):
        return "application/feed+json"
    return "application/atom+xml" if b"<feed" in head else "application/rss+xml"


def _handler(server: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            if server.latency:
                time.sleep(server.latency)
            path = urlsplit(self.path).path
            if path.startswith("/feed/") and path[6:] in server.served:
                server.hits["feed"] += 1
                body = server.served[path[6:]]
                self._send(body, _kind(body))
            elif path.startswith("/x/"):
                server.hits["page"] += 1
                self._send(server.page(self.path), "text/html; charset=utf-8")
            else:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

        def _send(self, body: bytes, kind: str) -> None:
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler
