"""A hostile HTTP peer on loopback: every way a feed or a page can go wrong on the wire.

`HostileServer` is a `LoopbackServer` whose routes are *behaviours*: functions that get
the raw connection and may write anything to it, or nothing: a well-formed answer, a
byte every half second, a body that never ends, a 50 MB body streamed lazily, a gzip
bomb, a connection reset half way, broken chunked encoding, bytes that are not HTTP.

    with HostileServer() as h:
        url = h.route("/feed.xml", drip(rss_bytes, every=0.5))

Unrouted paths answer 404. Every request path is recorded in `requests`. Leaving the
`with` block wakes every behaviour that is still waiting, so none outlives its test.
"""

from __future__ import annotations

import functools
import select
import socket
import struct
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from http.server import BaseHTTPRequestHandler
from types import TracebackType
from urllib.parse import urlsplit

from digest.demo.loopback import LoopbackServer

MB = 1 << 20
REASONS = {
    200: "OK",
    301: "Moved Permanently",
    302: "Found",
    307: "Temporary Redirect",
    404: "Not Found",
    410: "Gone",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class Hangup(ConnectionAbortedError):
    """Raised by a behaviour that is done with the connection: the handler unwinds and
    the server closes it quietly (it ignores ConnectionError in its handler threads)."""


class Conn:
    """One request's raw connection, as a behaviour sees it."""

    def __init__(self, handler: BaseHTTPRequestHandler, stop: threading.Event) -> None:
        self._handler = handler
        self.sock: socket.socket = handler.connection
        self.path: str = urlsplit(handler.path).path
        self.headers = {k.lower(): v for k, v in handler.headers.items()}
        self.stop = stop

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def head(self, status: int, headers: dict[str, str]) -> None:
        """The status line and headers, exactly as given (no Content-Length added)."""
        lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Whatever')}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        self.send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def sleep(self, seconds: float) -> None:
        """Wait, but stop at once (Hangup) when the client hangs up or the server stops."""
        readable, _, _ = select.select([self.sock], [], [], seconds)
        if self.stop.is_set():
            raise Hangup("server stopping")
        if readable:
            try:
                data = self.sock.recv(4096, socket.MSG_PEEK)
            except OSError:
                raise Hangup("client went away") from None
            if not data:
                raise Hangup("client hung up")

    def wait_for_hangup(self, limit: float = 60.0) -> None:
        """Say nothing until the client gives up (or `limit` seconds pass)."""
        remaining = limit
        while remaining > 0:
            self.sleep(min(0.2, remaining))
            remaining -= 0.2
        raise Hangup("waited long enough")

    def reset(self) -> None:
        """Abort the connection with a TCP RST (SO_LINGER 0), not a clean close."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self._handler.rfile.close()
        self._handler.wfile.close()
        self.sock.close()
        raise Hangup("reset")

    def hang_up(self) -> None:
        """Close the connection (cleanly) and end the request."""
        self._handler.close_connection = True
        raise Hangup("closed")


Behaviour = Callable[[Conn], None]


class HostileServer(LoopbackServer):
    """A loopback HTTP server whose routes are raw behaviours (see the module doc)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        super().__init__(host)
        self.behaviours: dict[str, Behaviour] = {}
        self.requests: list[str] = []
        self.stop = threading.Event()
        self._lock = threading.Lock()
        server = self
        base: type[BaseHTTPRequestHandler] = self._server.RequestHandlerClass  # type: ignore[assignment]

        class Handler(base):  # type: ignore[valid-type,misc]
            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                with server._lock:
                    server.requests.append(path)
                behaviour = server.behaviours.get(path)
                if behaviour is None:
                    super().do_GET()  # LoopbackServer.answer: 404
                    return
                behaviour(Conn(self, server.stop))
                self.close_connection = True  # one request per connection, always

        self._server.RequestHandlerClass = Handler

    def route(self, path: str, behaviour: Behaviour) -> str:
        self.behaviours[path] = behaviour
        return self.url(path)

    def hits(self, path: str) -> int:
        return sum(1 for p in self.requests if p == path)

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop.set()
        super().__exit__(kind, exc, tb)


# --- behaviours -------------------------------------------------------------------------


def reply(status: int = 200, body: bytes = b"", headers: dict[str, str] | None = None) -> Behaviour:
    """A well-formed answer (Content-Length added)."""

    def behave(conn: Conn) -> None:
        conn.head(status, (headers or {}) | {"Content-Length": str(len(body))})
        conn.send(body)

    return behave


def redirect(location: str, status: int = 302) -> Behaviour:
    return reply(status, b"", {"Location": location} if location else {})


def raw(data: bytes) -> Behaviour:
    """These exact bytes on the wire (HTTP or not), then a close."""

    def behave(conn: Conn) -> None:
        conn.send(data)
        conn.hang_up()

    return behave


def drip(body: bytes, every: float = 0.5, content_type: str = "application/rss+xml") -> Behaviour:
    """A correct Content-Length, then the body one byte every `every` seconds: each read
    is quick enough for a read timeout, the whole answer is not."""

    def behave(conn: Conn) -> None:
        conn.head(200, {"Content-Type": content_type, "Content-Length": str(len(body))})
        for byte in body:
            conn.send(bytes([byte]))
            conn.sleep(every)

    return behave


def stall(content_type: str = "text/html") -> Behaviour:
    """Headers promising 10,000 bytes, then silence until the client gives up."""

    def behave(conn: Conn) -> None:
        conn.head(200, {"Content-Type": content_type, "Content-Length": "10000"})
        conn.wait_for_hangup()

    return behave


def silence() -> Behaviour:
    """Accept the request and never answer at all (not even a status line)."""

    def behave(conn: Conn) -> None:
        conn.wait_for_hangup()

    return behave


def endless(start: bytes, content_type: str = "application/rss+xml") -> Behaviour:
    """Chunked transfer encoding and a body that never ends: `start`, then filler, fast."""
    filler = b"<item><title>more</title></item>\n" * 2000

    def behave(conn: Conn) -> None:
        conn.head(200, {"Content-Type": content_type, "Transfer-Encoding": "chunked"})
        conn.send(_chunk(start))
        while not conn.stop.is_set():
            conn.send(_chunk(filler))  # raises once the client has hung up
        conn.hang_up()

    return behave


def huge(size: int, content_type: str = "text/html", declare: bool = True) -> Behaviour:
    """`size` bytes of a page, generated 64 KB at a time (never held in memory); with
    `declare` the Content-Length says so, without it the body is chunked."""
    piece = (b"<p>" + b"Lorem ipsum dolor sit amet. " * 2340 + b"</p>\n")[: 64 * 1024]

    def behave(conn: Conn) -> None:
        if declare:
            conn.head(200, {"Content-Type": content_type, "Content-Length": str(size)})
        else:
            conn.head(200, {"Content-Type": content_type, "Transfer-Encoding": "chunked"})
        sent = 0
        while sent < size:
            part = piece[: size - sent]
            conn.send(part if declare else _chunk(part))
            sent += len(part)
        if not declare:
            conn.send(b"0\r\n\r\n")

    return behave


@functools.cache
def bomb_bytes(size: int) -> bytes:
    """A gzip stream of `size` zero-ish bytes (an HTML page of spaces), compressed one
    megabyte at a time: about 1/1000 of `size` on the wire."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: a gzip container
    parts = [compressor.compress(b"<html><body><p>")]
    block = b" " * MB
    for _ in range(size // MB):
        parts.append(compressor.compress(block))
    parts.append(compressor.compress(b"</p></body></html>"))
    parts.append(compressor.flush())
    return b"".join(parts)


def gzip_bomb(size: int = 100 * MB, content_type: str = "text/html") -> Behaviour:
    """A small gzip body (Content-Length well under any cap) that inflates to `size`."""
    body = bomb_bytes(size)
    return reply(200, body, {"Content-Type": content_type, "Content-Encoding": "gzip"})


def reset_midway(body: bytes, content_type: str = "text/html") -> Behaviour:
    """Headers promising all of `body`, a third of it, then a TCP reset."""

    def behave(conn: Conn) -> None:
        conn.head(200, {"Content-Type": content_type, "Content-Length": str(len(body))})
        conn.send(body[: len(body) // 3])
        conn.sleep(0.05)
        conn.reset()

    return behave


def short_body(body: bytes, content_type: str = "text/html") -> Behaviour:
    """Headers promising all of `body`, half of it, then a clean close (FIN)."""

    def behave(conn: Conn) -> None:
        conn.head(200, {"Content-Type": content_type, "Content-Length": str(len(body))})
        conn.send(body[: len(body) // 2])
        conn.hang_up()

    return behave


def broken_chunked(body: bytes, content_type: str = "text/html") -> Behaviour:
    """Chunked encoding whose second chunk-size line is not hexadecimal."""

    def behave(conn: Conn) -> None:
        conn.head(200, {"Content-Type": content_type, "Transfer-Encoding": "chunked"})
        conn.send(_chunk(body[:200]))
        conn.send(b"zz-not-hex\r\n" + body[200:] + b"\r\n0\r\n\r\n")
        conn.hang_up()

    return behave


def header_bomb(size: int = 200_000) -> Behaviour:
    """A status line, then one header line of `size` bytes (and never a body)."""
    return raw(b"HTTP/1.1 200 OK\r\nX-Padding: " + b"a" * size + b"\r\n\r\n")


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def rss_items(items: Iterable[dict[str, str]], title: str = "Hostile Motoring") -> Iterator[bytes]:
    """An RSS 2.0 document in pieces; item values are written as given (raw XML)."""
    yield b'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
    yield f"<title>{title}</title><link>http://example.invalid/</link>".encode()
    yield b"<description>hostile</description>"
    for item in items:
        yield ("<item>" + "".join(f"<{k}>{v}</{k}>" for k, v in item.items()) + "</item>").encode()
    yield b"</channel></rss>"
