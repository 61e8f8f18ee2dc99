"""The one HTTP client for fetching: every feed and page request goes through it.

Every request goes through `Fetcher.get`, which applies the house rules: a User-Agent
that names the tool, connect/read timeouts and a whole-request deadline, a size cap
on the (decompressed) body read as a stream, redirects followed by hand so each hop is
checked, global and per-host concurrency, conditional GET, and the address guard:
private, loopback and link-local addresses are refused after DNS resolution unless
their host:port is allowlisted in `[network] allow_hosts`.
"""

from __future__ import annotations

import asyncio
import functools
import os
import ssl
from collections import Counter
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, metadata
from types import TracebackType
from urllib.parse import urljoin, urlsplit

import httpx

from digest import __version__
from digest.addresses import IPAddress, PinnedTransport, Refused, Rule, Unresolved
from digest.config import Network
from digest.models import FetchCause


def _repository() -> str:
    """The project's repository, from the installed package's `[project.urls]`."""
    try:
        urls = metadata("digest").get_all("Project-URL") or []
    except PackageNotFoundError:
        return ""
    found = [u.split(",", 1)[1].strip() for u in urls if u.lower().startswith("repository,")]
    return found[0] if found else ""


REPOSITORY = _repository()
# Names this project (not a browser): sites that allow feed readers by user agent can.
USER_AGENT = f"digest/{__version__} (weekly automotive news digest; feed reader" + (
    f"; +{REPOSITORY})" if REPOSITORY else ")"
)
REDIRECTS = frozenset({301, 302, 303, 307, 308})
CHALLENGE_STATUSES = frozenset({403, 429, 503})
CHALLENGE_PEEK = 65_536  # bytes of an error page read to recognise a challenge
# What bot-protection services put in a challenge page (Cloudflare, DataDome, Imperva,
# Sucuri, Akamai, AWS WAF), lower-cased.
CHALLENGE_MARKS = (
    b"<title>just a moment",
    b"cf-browser-verification",
    b"/cdn-cgi/challenge-platform/",
    b"cf_chl_opt",
    b"captcha-delivery.com",
    b"_incapsula_resource",
    b"sucuri website firewall",
    b"/_sec/cp_challenge/",
    b"awswafintegration",
)
BLOCKED = "blocked by the site's bot protection (common from CI runners)"
BLOCKED_ADVICE = (
    "run from your own machine or a self-hosted runner, ask the site to allow the "
    "user agent ([network] user_agent), or use another feed of the outlet"
)


class FetchError(Exception):
    """A request that produced no usable response; the message is the reason and
    `cause` the kind of failure."""

    def __init__(self, message: str, cause: FetchCause = "other") -> None:
        super().__init__(message)
        self.cause: FetchCause = cause


class BlockedAddress(FetchError):
    """The URL resolves to an address the guard refuses."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "refused")


class BotChallenge(FetchError):
    """The site's bot protection answered (a challenge page), not the site."""

    def __init__(self, status: int, service: str) -> None:
        super().__init__(f"{BLOCKED}: HTTP {status} {service}; {BLOCKED_ADVICE}", "bot-challenge")


def challenge_service(status: int, headers: dict[str, str], body: bytes) -> str:
    """What a 403/429/503 answer says about a bot challenge: the service's words ("a
    Cloudflare challenge"), or "" when it is the site's own error."""
    if status not in CHALLENGE_STATUSES:
        return ""
    if headers.get("cf-mitigated", "").strip().lower() == "challenge":
        return "a Cloudflare challenge"
    if "x-datadome" in headers:
        return "a DataDome challenge"
    lowered = body[:CHALLENGE_PEEK].lower()
    if any(mark in lowered for mark in CHALLENGE_MARKS):
        return "a challenge page"
    return ""


@dataclass(frozen=True)
class Response:
    url: str  # the final URL, after redirects
    status: int
    headers: dict[str, str]  # lower-cased names
    body: bytes

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


def address_allowed(host: str, port: int, ip: IPAddress, allow_hosts: frozenset[str]) -> bool:
    """The guard's decision for one resolved address of a fetched URL (no connection)."""
    return Rule(allow_hosts).allows(host, port, ip)


def check_url(url: str, allow_hosts: frozenset[str], allow_public: bool = True) -> None:
    """Raise unless `url` is http(s) and, with `allow_public` false, its host:port is
    listed in `allow_hosts`. Nothing is resolved here: the connection resolves the host
    once and checks every address it gets (`digest.addresses.PinnedBackend`)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(f"not an http(s) URL: {url[:200]}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if not allow_public and f"{parts.hostname}:{port}".lower() not in allow_hosts:
        raise BlockedAddress(f"refused {parts.hostname}:{port}: not in [network] allow_hosts")


@dataclass
class Fetcher:
    """An async client with the house rules. `async with Fetcher(net) as f: await f.get(url)`."""

    network: Network
    counts: Counter[str] = field(default_factory=Counter)
    _client: httpx.AsyncClient | None = None  # http URLs
    _tls: httpx.AsyncClient | None = None  # https URLs: made for the first one
    _global: asyncio.Semaphore | None = None
    _hosts: dict[str, asyncio.Semaphore] = field(default_factory=dict)
    _ends_at: float = 0.0  # the run's fetching deadline (loop time); 0: none

    @property
    def allow_hosts(self) -> frozenset[str]:
        return frozenset(h.lower() for h in self.network.allow_hosts)

    async def __aenter__(self) -> Fetcher:
        # No TLS on this client: an https URL goes to `_tls` (were one sent here, the
        # context, trusting no certificate, would refuse it).
        self._client = self._new_client(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))
        self._global = asyncio.Semaphore(self.network.concurrency)
        if self.network.run_deadline:
            self._ends_at = asyncio.get_running_loop().time() + self.network.run_deadline
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for client in (self._client, self._tls):
            if client is not None:
                await client.aclose()

    def _new_client(self, context: ssl.SSLContext) -> httpx.AsyncClient:
        net = self.network
        limits = httpx.Limits(
            max_connections=net.concurrency, max_keepalive_connections=net.concurrency
        )
        return httpx.AsyncClient(
            headers={"User-Agent": net.user_agent or USER_AGENT},
            timeout=httpx.Timeout(
                connect=net.connect_timeout, read=net.read_timeout, write=10, pool=None
            ),
            transport=PinnedTransport(Rule(self.allow_hosts), limits, context),
            follow_redirects=False,
            trust_env=False,
        )

    def _client_for(self, url: str) -> httpx.AsyncClient:
        assert self._client is not None, "use `async with`"
        if urlsplit(url).scheme != "https":
            return self._client
        if self._tls is None:
            self._tls = self._new_client(tls_context())
        return self._tls

    async def get(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> Response:
        """GET `url` following redirects by hand; raise FetchError with the reason."""
        headers = _conditional_headers(etag, last_modified)
        try:
            return await self._follow(url, headers)
        except (ValueError, UnicodeError, httpx.InvalidURL) as exc:
            raise FetchError(f"bad URL {url[:200]!r}: {exc}") from None

    async def _follow(self, url: str, headers: dict[str, str]) -> Response:
        for _ in range(self.network.max_redirects + 1):
            check_url(url, self.allow_hosts, self.network.allow_public)
            response = await self._one(url, headers)
            if response.status not in REDIRECTS:
                return response
            location = response.headers.get("location")
            if not location:
                raise FetchError(f"HTTP {response.status} redirect without a Location header")
            url = urljoin(url, location)
            self.counts["redirects"] += 1
        raise FetchError(f"more than {self.network.max_redirects} redirects")

    async def _one(self, url: str, headers: dict[str, str]) -> Response:
        """One request, once a slot is free; the deadline starts with the request."""
        assert self._client is not None and self._global is not None, "use `async with`"
        host = urlsplit(url).netloc.lower()
        per_host = self._hosts.setdefault(host, asyncio.Semaphore(self.network.per_host))
        deadline = self.network.connect_timeout + 2 * self.network.read_timeout
        # The host's slot first: a queue for one busy host must not hold global slots.
        async with per_host, self._global:
            deadline = min(deadline, self._left())
            self.counts["requests"] += 1
            try:
                async with asyncio.timeout(deadline):
                    return await self._stream(url, headers)
            except TimeoutError:
                raise FetchError(f"no complete answer within {deadline:.0f} s", "timeout") from None
            except Refused as exc:
                raise BlockedAddress(str(exc)) from None
            except httpx.TimeoutException as exc:
                raise FetchError(f"timed out ({type(exc).__name__})", "timeout") from None
            except httpx.HTTPError as exc:
                cause: FetchCause = "unresolved" if _unresolved(exc) else "other"
                raise FetchError(f"{type(exc).__name__}: {exc}"[:300], cause) from None

    def _left(self) -> float:
        """Seconds left before the run's deadline; FetchError once it has passed."""
        if not self._ends_at:
            return float("inf")
        left = self._ends_at - asyncio.get_running_loop().time()
        if left <= 0:
            self.counts["past_deadline"] += 1
            raise FetchError(
                f"not fetched: the run's time limit ([network] run_deadline = "
                f"{self.network.run_deadline:.0f} s) was reached"
            )
        return left

    async def _stream(self, url: str, headers: dict[str, str]) -> Response:
        async with self._client_for(url).stream("GET", url, headers=headers) as reply:
            meta = {k.lower(): v for k, v in reply.headers.items()}
            if reply.status_code == 304:
                self.counts["not_modified"] += 1
                return Response(str(reply.url), 304, meta, b"")
            if reply.status_code in REDIRECTS:
                return Response(str(reply.url), reply.status_code, meta, b"")
            if reply.status_code >= 400:
                await self._refuse(reply, meta)
            body = await self._read_capped(reply)
            return Response(str(reply.url), reply.status_code, meta, body)

    async def _refuse(self, reply: httpx.Response, meta: dict[str, str]) -> None:
        """Raise for an error answer: a bot challenge by name, else its status."""
        status = reply.status_code
        peek = b""
        if status in CHALLENGE_STATUSES:
            async for chunk in reply.aiter_bytes():
                peek += chunk
                if len(peek) >= CHALLENGE_PEEK:
                    break
        service = challenge_service(status, meta, peek)
        if service:
            self.counts["bot_challenges"] += 1
            raise BotChallenge(status, service)
        raise FetchError(f"HTTP {status} {reply.reason_phrase}".strip(), "http")

    async def _read_capped(self, reply: httpx.Response) -> bytes:
        cap = self.network.max_bytes
        declared = reply.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise FetchError(f"too large: {int(declared):,} bytes declared (cap {cap:,})")
        chunks: list[bytes] = []
        size = 0
        async for chunk in reply.aiter_bytes():
            size += len(chunk)
            if size > cap:
                raise FetchError(f"too large: more than {cap:,} bytes (cap)")
            chunks.append(chunk)
        self.counts["bytes"] += size
        return b"".join(chunks)


def tls_context() -> ssl.SSLContext:
    """The certificates checked for https: the system's or certifi's roots, or those of
    SSL_CERT_FILE / SSL_CERT_DIR when set; loaded once per process and setting (reading
    the roots is ~15 ms), on the first https URL."""
    return _tls_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.cache
def _tls_context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    return httpx.create_ssl_context(trust_env=True)


def _unresolved(exc: httpx.HTTPError) -> bool:
    """Whether the host name did not resolve (httpx keeps the backend's error as cause)."""
    return isinstance(exc.__cause__, Unresolved)


def _conditional_headers(etag: str | None, last_modified: str | None) -> dict[str, str]:
    headers: dict[str, str] = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers
