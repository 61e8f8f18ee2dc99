"""The model's connections: `digest.addresses`' pinned backend for httpcore2's blocking
client, under the openai client (`addresses.model_http_client`). Apart from
`digest.addresses` so that a run without a model never imports httpx2 and httpcore2."""

from __future__ import annotations

from collections.abc import Iterable

import httpcore2
import httpx2

from digest.addresses import Refused, Rule, first_to_answer, resolve_sync

MODEL_LIMITS = httpx2.Limits(max_connections=100, max_keepalive_connections=20)


class PinnedSyncBackend(httpcore2.NetworkBackend):
    """`PinnedBackend` for httpcore2's blocking client (under the openai client). A
    refusal is a ConnectError, which the openai client reports as a connection error."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self._inner = httpcore2.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.NetworkStream:
        try:
            checked = self.rule.check(host, port, resolve_sync(host, port))
        except Refused as exc:
            raise httpcore2.ConnectError(str(exc)) from None
        except OSError as exc:
            raise httpcore2.ConnectError(f"cannot resolve {host}: {exc.strerror or exc}") from None
        return first_to_answer(
            checked,
            lambda ip: self._inner.connect_tcp(ip, port, timeout, local_address, socket_options),
            httpcore2.ConnectError,
        )

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.NetworkStream:
        raise httpcore2.ConnectError("unix sockets are not used")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class PinnedSyncTransport(httpx2.HTTPTransport):
    def __init__(self, rule: Rule, limits: httpx2.Limits) -> None:
        super().__init__(limits=limits, trust_env=False)
        self._pool = httpcore2.ConnectionPool(
            ssl_context=httpx2.create_ssl_context(trust_env=True),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=PinnedSyncBackend(rule),
        )
