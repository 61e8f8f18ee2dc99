"""A threaded HTTP server on a loopback address, used as a context manager.

The demo, the tests and the benchmarks each serve their own content through it; a
subclass says how to answer a GET by overriding `answer`, and a POST by overriding
`answer_post` (405 unless overridden). The server is threaded, so a subclass may sleep
inside either to answer late; an `Answer(drop=True)` closes the connection unanswered.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection without any response (a reset, to the client)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hangs up early (a size cap, a timeout) is expected here."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class LoopbackServer:
    """`with Server() as s: s.url("/x")`; subclasses implement `answer(path, headers)`
    and, to accept POST, `answer_post(path, headers, body)`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = _Server((host, port), _handler(self))
        # `shutdown` waits up to one poll interval, paid by every test that starts a server.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def host_port(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    @property
    def base(self) -> str:
        return f"http://{self.host_port}"

    def url(self, path: str) -> str:
        return self.base + path

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer(self, path: str, headers: dict[str, str]) -> Answer:
        """The answer to `GET path` (query included); header names are lower-case."""
        return Answer(404, b"not found", {"Content-Type": "text/plain"})

    def answer_post(self, path: str, headers: dict[str, str], body: bytes) -> Answer:
        """The answer to `POST path` with the request `body`; header names are lower-case."""
        return Answer(405, b"method not allowed", {"Content-Type": "text/plain", "Allow": "GET"})


def _handler(server: LoopbackServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are written apart: no 40 ms stalls

        def do_GET(self) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            self._send(server.answer(self.path, headers))

        def do_POST(self) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            if "chunked" in headers.get("transfer-encoding", "").lower():
                body = self._read_chunked()
            else:
                body = self.rfile.read(int(headers.get("content-length") or 0))
            self._send(server.answer_post(self.path, headers, body))

        def _read_chunked(self) -> bytes:
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():  # trailers, then the blank line
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()  # the CRLF after each chunk

        def _send(self, answer: Answer) -> None:
            if answer.drop:
                self.close_connection = True
                return
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: reports and tests say what happened."""

    return Handler
