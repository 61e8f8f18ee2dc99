"""Real peers on loopback for the tests: an HTTP server with scripted routes."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from digest.demo.loopback import Answer, LoopbackServer


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    gzip: bool = False


@dataclass(frozen=True)
class Seen:
    path: str
    headers: dict[str, str]


Route = Reply | Callable[[Seen], Reply]


class HTTPServer(LoopbackServer):
    """`with HTTPServer() as s: s.route("/feed.xml", Reply(body=...)); s.url("/feed.xml")`.

    Unrouted paths answer 404; a reply with an ETag answers 304 to a client that has
    it. Every request is recorded in `requests`.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.routes: dict[str, Route] = {}
        self.requests: list[Seen] = []
        self._lock = threading.Lock()

    def route(self, path: str, reply: Route) -> str:
        self.routes[path] = reply
        return self.url(path)

    def hits(self, path: str) -> int:
        return sum(1 for r in self.requests if r.path == path)

    def answer(self, path: str, headers: dict[str, str]) -> Answer:
        seen = Seen(urlsplit(path).path, headers)
        with self._lock:
            self.requests.append(seen)
        route = self.routes.get(seen.path)
        if route is None:
            return super().answer(path, headers)
        reply = route(seen) if callable(route) else route
        etag = reply.headers.get("ETag")
        if etag and headers.get("if-none-match") == etag:
            return Answer(304, b"", {"ETag": etag})
        if reply.gzip:
            return Answer(
                reply.status,
                gzip.compress(reply.body),
                reply.headers | {"Content-Encoding": "gzip"},
            )
        return Answer(reply.status, reply.body, reply.headers)


def rss(items: list[dict[str, str]], title: str = "Test Motoring") -> bytes:
    """A small RSS 2.0 feed; each item has title, link and optional pubDate/description."""
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0"><channel>',
        f"<title>{title}</title><link>http://example.invalid/</link>",
        "<description>test</description>",
    ]
    for item in items:
        fields = "".join(f"<{k}>{v}</{k}>" for k, v in item.items())
        parts.append(f"<item>{fields}</item>")
    parts.append("</channel></rss>")
    return "\n".join(parts).encode()


def page(title: str, paragraphs: list[str]) -> bytes:
    """An article page with some furniture around it."""
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{title}</title><meta property="og:title" content="{title}"></head>
<body><header><nav><a href="/">Home</a> <a href="/news">News</a></nav></header>
<main><article><h1>{title}</h1>{body}</article></main>
<footer><p>Copyright Test Motoring</p></footer></body></html>""".encode()
