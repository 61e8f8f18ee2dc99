"""Which addresses `digest` connects to, and connections made only to those.

A host name is resolved once, every address it resolves to is checked, and the
connection goes to a checked address: nothing resolves the name a second time, so a
DNS answer that changes between the check and the connection (DNS rebinding) cannot
move the request elsewhere. The name stays in the URL: the `Host` header, TLS SNI and
the certificate check all use it. Three connection factories carry this out: an httpcore
network backend under the fetcher's httpx client, an httpcore2 backend under the
model's openai client (`digest.model_transport`), and smtplib classes for delivery.

Two rules decide. Fetched URLs (feeds, pages, every redirect hop) must resolve to
public addresses only. The model's host and the SMTP host, which the owner configures,
may also be loopback or private (a local Ollama, a relay on the LAN). Both refuse the
cloud metadata and link-local addresses. An address or name listed as host:port in
`[network] allow_hosts` passes either rule.
"""

from __future__ import annotations

import asyncio
import ipaddress
import smtplib
import socket
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import httpcore
import httpx

if TYPE_CHECKING:
    import httpx2

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
T = TypeVar("T")
_nets = ipaddress.ip_network

# Cloud instance metadata and host agents: refused by both rules unless allowlisted.
# 169.254.0.0/16 holds 169.254.169.254 (AWS, GCP, Azure, most others).
METADATA = (
    _nets("169.254.0.0/16"),
    _nets("fe80::/10"),
    _nets("fd00:ec2::254/128"),  # AWS over IPv6
    _nets("168.63.129.16/32"),  # Azure's host agent (GitHub's runners run on Azure)
    _nets("100.100.100.200/32"),  # Alibaba Cloud
)
# Where an owner's own servers live: loopback, RFC 1918, shared (CGNAT) and unique-local.
OWNER_LOCAL = (
    _nets("127.0.0.0/8"),
    _nets("10.0.0.0/8"),
    _nets("172.16.0.0/12"),
    _nets("192.168.0.0/16"),
    _nets("100.64.0.0/10"),
    _nets("::1/128"),
    _nets("fc00::/7"),
)


class Refused(Exception):
    """A host resolves to an address its rule refuses; the message says which and why."""


def unwrap(ip: IPAddress) -> IPAddress:
    """The IPv4 address inside an IPv4-mapped, 6to4 or Teredo IPv6 address, else `ip`."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            return embedded
    return ip


def is_public(ip: IPAddress) -> bool:
    """True only for globally routable unicast addresses (not private, loopback,
    link-local, carrier-grade NAT, multicast, reserved or unspecified) that are not a
    cloud's metadata service."""
    ip = unwrap(ip)
    return ip.is_global and not ip.is_multicast and not _within(ip, METADATA)


def _within(ip: IPAddress, nets: Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    return any(ip.version == net.version and ip in net for net in nets)


@dataclass(frozen=True)
class Rule:
    """What one kind of connection may reach. `owner_local`: also loopback and private
    addresses (for hosts the owner configures, not for URLs found in feeds)."""

    allow_hosts: frozenset[str] = frozenset()  # "host:port", lower-case
    owner_local: bool = False

    def allows(self, host: str, port: int, ip: IPAddress) -> bool:
        """The decision for one resolved address (no connection is made)."""
        if f"{host}:{port}".lower() in self.allow_hosts or f"{ip}:{port}" in self.allow_hosts:
            return True
        ip = unwrap(ip)
        if _within(ip, METADATA):
            return False
        return is_public(ip) or (self.owner_local and _within(ip, OWNER_LOCAL))

    def check(self, host: str, port: int, ips: Iterable[IPAddress]) -> list[IPAddress]:
        """`ips` without repeats, or Refused if any one of them is not allowed."""
        checked = list(dict.fromkeys(ips))
        if not checked:
            raise Refused(f"refused {host}:{port} (it resolves to no address)")
        for ip in checked:
            if not self.allows(host, port, ip):
                raise Refused(f"refused {host}:{port} ({ip} {self._why(ip)})")
        return checked

    def _why(self, ip: IPAddress) -> str:
        if _within(unwrap(ip), METADATA):
            kind = "is a link-local or cloud metadata address"
        elif self.owner_local:
            kind = "is not a public, loopback or private address"
        else:
            kind = "is a private, loopback or link-local address"
        return f"{kind}; list it in [network] allow_hosts to connect to it"


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _addresses(
    infos: Iterable[tuple[object, object, object, object, tuple[object, ...]]],
) -> list[IPAddress]:
    return [ipaddress.ip_address(str(info[4][0])) for info in infos]


async def resolve(host: str, port: int) -> list[IPAddress]:
    """All addresses `host` resolves to (an IP literal resolves to itself, without DNS)."""
    literal = _literal(host)
    if literal is not None:
        return [literal]
    loop = asyncio.get_running_loop()
    return _addresses(await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM))


def resolve_sync(host: str, port: int) -> list[IPAddress]:
    """`resolve` for blocking callers (the model client, SMTP)."""
    literal = _literal(host)
    if literal is not None:
        return [literal]
    return _addresses(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))


def first_to_answer(
    checked: list[IPAddress], connect: Callable[[str], T], error: type[Exception]
) -> T:
    """`connect(address)` for the checked addresses in turn, until one answers; the last
    `error` when none does (`checked` is never empty: getaddrinfo answers or raises)."""
    for ip in checked[:-1]:
        try:
            return connect(str(ip))
        except error:
            continue
    return connect(str(checked[-1]))


class Unresolved(httpcore.ConnectError):
    """The host name did not resolve (offline, or a misspelled host)."""


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's connection factory, resolving and checking the host once and then
    connecting to a checked address (the name stays with httpcore for SNI and TLS)."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                found = await resolve(host, port)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"cannot resolve {host}: timed out") from None
        except OSError as exc:
            raise Unresolved(f"cannot resolve {host}: {exc.strerror or exc}") from None
        *others, last = self.rule.check(host, port, found)
        for ip in others:  # in turn, as first_to_answer does
            try:
                return await self._inner.connect_tcp(
                    str(ip), port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError:
                continue
        return await self._inner.connect_tcp(
            str(last), port, timeout, local_address, socket_options
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not used")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over `PinnedBackend`; no proxies, certificates checked against
    the system's or certifi's roots (or SSL_CERT_FILE / SSL_CERT_DIR when set), or as
    `ssl_context` says (built once by the caller: loading the roots costs ~15 ms)."""

    def __init__(
        self, rule: Rule, limits: httpx.Limits, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        context = httpx.create_ssl_context(trust_env=True) if ssl_context is None else ssl_context
        super().__init__(verify=context, limits=limits, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=PinnedBackend(rule),
        )


MODEL_RULE = Rule(owner_local=True)


def model_http_client() -> httpx2.Client:
    """The openai client's HTTP client, connecting only to checked addresses (the model's
    host and any host it redirects to, under the owner's rule). Its transport's module
    (httpx2, httpcore2: ~25 ms and ~4 MB per process) is imported only here, when a run
    has a model."""
    import openai

    from digest.model_transport import MODEL_LIMITS, PinnedSyncTransport

    return openai.DefaultHttpxClient(transport=PinnedSyncTransport(MODEL_RULE, MODEL_LIMITS))


# SMTP


class SMTPRefusedAddress(smtplib.SMTPConnectError):
    """The SMTP host resolves to a refused address (a 5xx-like failure: not retried)."""

    def __init__(self, reason: str) -> None:
        super().__init__(554, reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


SMTP_RULE = Rule(owner_local=True)


def connect_checked(host: str, port: int, timeout: float) -> socket.socket:
    """A socket to a checked address of `host` (SMTP_RULE)."""
    try:
        checked = SMTP_RULE.check(host, port, resolve_sync(host, port))
    except Refused as exc:
        raise SMTPRefusedAddress(str(exc)) from None
    return first_to_answer(
        checked, lambda ip: socket.create_connection((ip, port), timeout), OSError
    )


class SMTP(smtplib.SMTP):
    """smtplib.SMTP connecting only to a checked address; STARTTLS still checks the
    certificate against the host name."""

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return connect_checked(host, port, timeout)


class SMTP_SSL(smtplib.SMTP_SSL, SMTP):
    """smtplib.SMTP_SSL over `SMTP._get_socket`: TLS for the host name, to a checked address."""
