"""The HTTP client's house rules, against a real server on loopback.

Guard decisions for non-loopback addresses are checked without connecting; end to end,
a canary server on another loopback address (not allowlisted) must see no request.
"""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import trustme

from digest.config import Network
from digest.http import (
    USER_AGENT,
    BlockedAddress,
    Fetcher,
    FetchError,
    Response,
    address_allowed,
    check_url,
    tls_context,
)
from tests.dns import scripted
from tests.servers import HTTPServer, Reply


def fetch(net: Network, url: str, **kw: str) -> object:
    async def go() -> object:
        async with Fetcher(net) as fetcher:
            return await fetcher.get(url, **kw)

    return asyncio.run(go())


def network(server: HTTPServer, **kw: object) -> Network:
    return Network.model_validate(
        {
            "allow_hosts": [server.host_port],
            "allow_public": False,
            "connect_timeout": 2,
            "read_timeout": 2,
        }
        | kw
    )


@pytest.fixture
def canary() -> Iterator[HTTPServer]:
    with HTTPServer("127.0.0.9") as server:
        yield server


@pytest.mark.parametrize(
    "address",
    [
        "169.254.169.254",
        "10.0.0.1",
        "192.168.1.1",
        "172.16.5.4",
        "127.0.0.1",
        "100.64.0.1",
        "0.0.0.0",
        "::1",
        "fe80::1",
        "fd00::1",
        "::ffff:169.254.169.254",
        "224.0.0.1",
        "168.63.129.16",  # Azure's host agent: a public-looking address
        "fd00:ec2::254",
    ],
)
def test_guard_refuses_local_addresses_unless_allowlisted(address: str) -> None:
    ip = ipaddress.ip_address(address)
    assert not address_allowed("metadata.internal", 80, ip, frozenset())
    assert address_allowed("metadata.internal", 80, ip, frozenset({"metadata.internal:80"}))
    assert not address_allowed("metadata.internal", 81, ip, frozenset({"metadata.internal:80"}))


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700::6810:84e5"])
def test_guard_lets_public_addresses_through(address: str) -> None:
    assert address_allowed("example.org", 443, ipaddress.ip_address(address), frozenset())


@pytest.mark.parametrize(
    "url", ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", "http://[::1]:80/"]
)
def test_ip_literals_are_refused_without_connecting(url: str) -> None:
    with pytest.raises(BlockedAddress, match="allow_hosts"):
        fetch(Network(connect_timeout=1), url)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/x", "javascript:x"])
def test_only_http_urls_are_fetched(url: str) -> None:
    with pytest.raises(FetchError, match="not an http"):
        check_url(url, frozenset())


def test_allow_public_false_refuses_everything_not_listed_before_resolving() -> None:
    with pytest.raises(BlockedAddress, match="not in"):
        check_url("https://example.org/feed", frozenset(), allow_public=False)
    check_url("http://127.0.0.1:9/x", frozenset({"127.0.0.1:9"}), allow_public=False)


def test_get_sends_our_user_agent_and_decompresses_gzip(http_server: HTTPServer) -> None:
    url = http_server.route("/a", Reply(body=b"hello " * 100, gzip=True))
    response = fetch(network(http_server), url)
    assert response.body == b"hello " * 100  # type: ignore[attr-defined]
    seen = http_server.requests[0].headers
    assert seen["user-agent"] == USER_AGENT and "gzip" in seen["accept-encoding"]


def test_conditional_get_sends_validators_and_returns_304(http_server: HTTPServer) -> None:
    def reply(seen: object) -> Reply:
        if seen.headers["if-none-match"] == '"v1"':
            return Reply(304)
        return Reply(body=b"x")

    url = http_server.route("/f", reply)
    response = fetch(network(http_server), url, etag='"v1"', last_modified="Mon, 09 Nov 2026")
    assert response.not_modified  # type: ignore[attr-defined]
    assert http_server.requests[0].headers["if-modified-since"] == "Mon, 09 Nov 2026"


def test_redirects_are_followed_and_bounded(http_server: HTTPServer) -> None:
    http_server.route("/old", Reply(301, headers={"Location": "/new"}))
    http_server.route("/new", Reply(body=b"moved"))
    response = fetch(network(http_server), http_server.url("/old"))
    assert response.body == b"moved" and response.url.endswith("/new")  # type: ignore[attr-defined]
    http_server.route("/loop", Reply(302, headers={"Location": "/loop"}))
    with pytest.raises(FetchError, match="more than 3 redirects"):
        fetch(network(http_server, max_redirects=3), http_server.url("/loop"))
    assert http_server.hits("/loop") == 4


def test_redirect_to_a_loopback_address_not_allowlisted_is_refused(
    http_server: HTTPServer, canary: HTTPServer
) -> None:
    canary.route("/secret", Reply(body=b"secret"))
    url = http_server.route("/r", Reply(302, headers={"Location": canary.url("/secret")}))
    with pytest.raises(BlockedAddress):
        fetch(network(http_server), url)
    assert canary.requests == []


def test_body_over_the_cap_is_refused_declared_or_streamed(http_server: HTTPServer) -> None:
    http_server.route("/big", Reply(body=b"x" * 50_000))
    with pytest.raises(FetchError, match="too large"):
        fetch(network(http_server, max_bytes=20_000), http_server.url("/big"))
    # a gzip body small on the wire but large once decompressed
    http_server.route("/bomb", Reply(body=b"0" * 2_000_000, gzip=True))
    with pytest.raises(FetchError, match="too large"):
        fetch(network(http_server, max_bytes=100_000), http_server.url("/bomb"))


def test_http_errors_become_reasons(http_server: HTTPServer) -> None:
    http_server.route("/gone", Reply(410, b"gone"))
    with pytest.raises(FetchError, match="HTTP 410"):
        fetch(network(http_server), http_server.url("/gone"))
    with pytest.raises(FetchError, match="HTTP 404"):
        fetch(network(http_server), http_server.url("/missing"))


def test_per_host_concurrency_is_respected(http_server: HTTPServer) -> None:
    import threading
    import time

    active, peak, lock = [0], [0], threading.Lock()

    def slow(seen: object) -> Reply:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.1)
        with lock:
            active[0] -= 1
        return Reply(body=b"ok")

    http_server.route("/slow", slow)
    net = network(http_server, per_host=2, concurrency=8)

    async def go() -> None:
        async with Fetcher(net) as fetcher:
            await asyncio.gather(*(fetcher.get(http_server.url("/slow")) for _ in range(6)))

    asyncio.run(go())
    assert peak[0] == 2


def test_waiting_for_a_slot_does_not_count_against_the_deadline(http_server: HTTPServer) -> None:
    import time

    def slowish(seen: object) -> Reply:
        time.sleep(0.3)
        return Reply(body=b"ok")

    http_server.route("/q", slowish)
    # one request at a time: 12 rounds of 0.3 s (3.6 s) run far past one request's 1.7 s
    # deadline, while each request alone keeps 1.4 s of margin on a busy machine
    net = network(http_server, per_host=1, concurrency=8, connect_timeout=0.2, read_timeout=0.75)

    async def go() -> list[Response]:
        async with Fetcher(net) as fetcher:
            return await asyncio.gather(*(fetcher.get(http_server.url("/q")) for _ in range(12)))

    assert [r.body for r in asyncio.run(go())] == [b"ok"] * 12


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:99999/x", "http://[::1/x", "http://127.0.0.1:port/"]
)
def test_malformed_urls_are_fetch_errors_not_crashes(url: str) -> None:
    with pytest.raises(FetchError, match="bad URL"):
        fetch(Network(allow_public=False), url)


# DNS rebinding: the connection goes to the address that was checked, for every hop.


@pytest.fixture
def pair() -> Iterator[tuple[HTTPServer, HTTPServer]]:
    """A server on 127.0.0.1 (allowlisted) and a canary on 127.0.0.9, on the same port:
    a name that moves from one to the other keeps its URL."""
    with HTTPServer("127.0.0.1") as good:
        port = int(good.host_port.rpartition(":")[2])
        with HTTPServer("127.0.0.9", port) as canary:
            canary.route("/a", Reply(body=b"from the canary"))
            canary.route("/next", Reply(body=b"from the canary"))
            yield good, canary


def rebinding_net(good: HTTPServer) -> Network:
    """Public fetching on (as in production), the good server's address allowlisted."""
    return network(good, allow_public=True)


def test_a_host_that_rebinds_is_read_from_the_checked_address_only(
    pair: tuple[HTTPServer, HTTPServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    good, canary = pair
    port = good.host_port.rpartition(":")[2]
    dns = scripted(monkeypatch, {"rebind.test": ["127.0.0.1", "127.0.0.9"]})
    good.route("/a", Reply(body=b"from the checked address"))
    response = fetch(rebinding_net(good), f"http://rebind.test:{port}/a")
    assert response.body == b"from the checked address"  # type: ignore[attr-defined]
    assert dns.asked == ["rebind.test"]  # resolved once: the check and the connection
    assert good.requests[0].headers["host"] == f"rebind.test:{port}"
    # the next lookup answers the canary's address: refused, and nothing is sent there
    with pytest.raises(BlockedAddress, match=r"refused rebind\.test:\d+ \(127\.0\.0\.9 is a"):
        fetch(rebinding_net(good), f"http://rebind.test:{port}/a")
    assert canary.requests == []


def test_every_redirect_hop_is_read_from_its_checked_address(
    pair: tuple[HTTPServer, HTTPServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    good, canary = pair
    port = good.host_port.rpartition(":")[2]
    scripted(monkeypatch, {"hop.test": ["127.0.0.1", "127.0.0.9"]})
    good.route("/start", Reply(302, headers={"Location": f"http://hop.test:{port}/next"}))
    good.route("/next", Reply(body=b"the hop, from the checked address"))
    response = fetch(rebinding_net(good), good.url("/start"))
    assert response.body == b"the hop, from the checked address"  # type: ignore[attr-defined]
    assert canary.requests == []


def test_a_name_with_one_refused_address_is_refused_whole(
    http_server: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = http_server.host_port.rpartition(":")[2]
    scripted(monkeypatch, {"two.test": ["127.0.0.1 169.254.169.254"]})
    http_server.route("/a", Reply(body=b"x"))
    with pytest.raises(BlockedAddress, match=r"169\.254\.169\.254 is a link-local"):
        fetch(network(http_server, allow_public=True), f"http://two.test:{port}/a")
    assert http_server.requests == []


@pytest.fixture
def ca(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> trustme.CA:
    """A test CA the client trusts (through SSL_CERT_FILE, as a real client reads it)."""
    authority = trustme.CA()
    authority.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    return authority


@contextmanager
def https_server(ca: trustme.CA, name: str) -> Iterator[HTTPServer]:
    """An HTTPServer on 127.0.0.1 speaking TLS with a certificate for `name` only."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(name).configure_cert(context)
    server = HTTPServer("127.0.0.1")
    server._server.socket = context.wrap_socket(server._server.socket, server_side=True)
    with server:
        yield server


def test_tls_to_the_pinned_address_still_verifies_the_name(
    ca: trustme.CA, monkeypatch: pytest.MonkeyPatch
) -> None:
    scripted(monkeypatch, {"feeds.test": ["127.0.0.1"]})
    with https_server(ca, "feeds.test") as server:
        server.route("/a", Reply(body=b"over TLS"))
        port = server.host_port.rpartition(":")[2]
        net = network(server, allow_hosts=[f"feeds.test:{port}", server.host_port])
        response = fetch(net, f"https://feeds.test:{port}/a")
        assert response.body == b"over TLS"  # type: ignore[attr-defined]
        assert server.requests[0].headers["host"] == f"feeds.test:{port}"
        # the certificate names feeds.test, not the address it was reached at
        with pytest.raises(FetchError, match="CERTIFICATE_VERIFY_FAILED"):
            fetch(net, f"https://127.0.0.1:{port}/a")
    with https_server(ca, "other.test") as server:
        port = server.host_port.rpartition(":")[2]
        net = network(server, allow_hosts=[f"feeds.test:{port}"])
        with pytest.raises(FetchError, match="CERTIFICATE_VERIFY_FAILED"):
            fetch(net, f"https://feeds.test:{port}/a")
        assert server.requests == []


def test_an_http_url_redirected_to_https_is_verified_with_one_context_per_process(
    ca: trustme.CA, monkeypatch: pytest.MonkeyPatch
) -> None:
    scripted(monkeypatch, {"feeds.test": ["127.0.0.1"]})
    with https_server(ca, "feeds.test") as tls, HTTPServer("127.0.0.1") as plain:
        port = tls.host_port.rpartition(":")[2]
        tls.route("/b", Reply(body=b"moved over TLS"))
        plain.route("/a", Reply(301, headers={"Location": f"https://feeds.test:{port}/b"}))
        plain.route("/c", Reply(body=b"plain"))
        net = network(plain, allow_hosts=[f"feeds.test:{port}", plain.host_port])

        async def go() -> tuple[bytes, bytes, bool]:
            async with Fetcher(net) as fetcher:
                first = await fetcher.get(f"http://{plain.host_port}/c")
                untouched = fetcher._tls is None  # http only: no TLS client, no roots read
                second = await fetcher.get(f"http://{plain.host_port}/a")
            return first.body, second.body, untouched

        assert asyncio.run(go()) == (b"plain", b"moved over TLS", True)
        assert fetch(net, f"https://feeds.test:{port}/b").body == b"moved over TLS"  # type: ignore[attr-defined]
    with_ca = tls_context()
    assert tls_context() is with_ca  # built once
    monkeypatch.delenv("SSL_CERT_FILE")  # another setting: other roots, another context
    assert tls_context() is not with_ca
