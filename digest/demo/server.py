"""A loopback HTTP server for the demo corpus, so `digest run --demo` runs the real
fetch path (ETags, 304s, a 404, a malformed feed) without touching the network.

Files under `corpus/` are served with `{base}` replaced by the server's own address.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

CORPUS = Path(__file__).parent / "corpus"
PLACEHOLDER = "{base}"


class DemoServer:
    """`with DemoServer() as server: server.base` is `http://127.0.0.1:PORT`."""

    def __init__(self, root: Path = CORPUS, host: str = "127.0.0.1", port: int = 0) -> None:
        self.root = root
        self.hits: Counter[str] = Counter()
        self._server = ThreadingHTTPServer((host, port), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def host_port(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    @property
    def base(self) -> str:
        return f"http://{self.host_port}"

    def __enter__(self) -> DemoServer:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()

    def body(self, path: str) -> bytes | None:
        """The served bytes for a URL path, or None when there is no such file."""
        target = (self.root / path.lstrip("/")).resolve()
        if not target.is_file() or not target.is_relative_to(self.root.resolve()):
            return None
        return target.read_bytes().replace(PLACEHOLDER.encode(), self.base.encode())


def content_type(path: str, body: bytes) -> str:
    if path.endswith(".xml"):
        kind = "application/atom+xml" if b"<feed" in body[:500] else "application/rss+xml"
        return f"{kind}; charset=utf-8"
    if path.endswith(".html"):
        return "text/html; charset=utf-8"
    return "application/octet-stream"


def _handler(server: DemoServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            server.hits[path] += 1
            body = server.body(path)
            if body is None:
                self._answer(404, b"not found", "text/plain")
                return
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                self._answer(304, b"", None, etag)
                return
            self._answer(200, body, content_type(path, body), etag)

        def _answer(self, status: int, body: bytes, kind: str | None, etag: str = "") -> None:
            self.send_response(status)
            if kind:
                self.send_header("Content-Type", kind)
            if etag:
                self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the run report says what happened."""

    return Handler
