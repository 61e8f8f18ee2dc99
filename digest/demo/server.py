"""A loopback HTTP server for the demo corpus, so `digest run --demo` runs the real
fetch path (ETags, 304s, a 404, a malformed feed) without touching the network.

Files under `corpus/` are served with `{base}` replaced by the server's own address.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

from digest.demo.loopback import Answer, LoopbackServer

CORPUS = Path(__file__).parent / "corpus"
PLACEHOLDER = "{base}"


class DemoServer(LoopbackServer):
    """`with DemoServer() as server: server.base` is `http://127.0.0.1:PORT`."""

    def __init__(self, root: Path = CORPUS, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.root = root
        self.hits: Counter[str] = Counter()

    def body(self, path: str) -> bytes | None:
        """The served bytes for a URL path, or None when there is no such file."""
        target = (self.root / path.lstrip("/")).resolve()
        if not target.is_file() or not target.is_relative_to(self.root.resolve()):
            return None
        return target.read_bytes().replace(PLACEHOLDER.encode(), self.base.encode())

    def answer(self, path: str, headers: dict[str, str]) -> Answer:
        path = urlsplit(path).path
        self.hits[path] += 1
        body = self.body(path)
        if body is None:
            return super().answer(path, headers)
        return with_etag(Answer(200, body, {"Content-Type": content_type(path, body)}), headers)


def with_etag(answer: Answer, request: dict[str, str]) -> Answer:
    """Give a 200 an ETag, and answer 304 when the client already has it."""
    etag = '"' + hashlib.sha1(answer.body).hexdigest()[:16] + '"'
    if request.get("if-none-match") == etag:
        return Answer(304, b"", {"ETag": etag})
    return Answer(answer.status, answer.body, answer.headers | {"ETag": etag})


def content_type(path: str, body: bytes) -> str:
    if path.endswith(".xml"):
        kind = "application/atom+xml" if b"<feed" in body[:500] else "application/rss+xml"
        return f"{kind}; charset=utf-8"
    if path.endswith(".html"):
        return "text/html; charset=utf-8"
    return "application/octet-stream"
