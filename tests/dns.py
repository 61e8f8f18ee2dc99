"""An in-process resolver for the rebinding tests: scripted answers for names under
`.test`, one answer per call (the last one repeats; "a b" answers two addresses), the
real resolver for anything else.

It replaces `socket.getaddrinfo`, which every resolver in the process goes through
(asyncio's, anyio's, smtplib's), so the code under test resolves through it unchanged.
"""

from __future__ import annotations

import socket
import threading
from typing import Any

import pytest


class ScriptedDNS:
    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.asked: list[str] = []  # every scripted name asked for, in order
        self._real = socket.getaddrinfo
        self._lock = threading.Lock()

    def __call__(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name not in self.answers:
            return self._real(host, port, *args, **kwargs)
        with self._lock:
            self.asked.append(name)
            script = self.answers[name]
            answer = script[min(self.asked.count(name), len(script)) - 1]
        return [_info(ip, int(port or 0)) for ip in answer.split()]


def _info(ip: str, port: int) -> tuple[Any, ...]:
    if ":" in ip:
        return (socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (ip, port, 0, 0))
    return (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (ip, port))


def scripted(monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[str]]) -> ScriptedDNS:
    """Answer `answers[name][n]` to the n-th lookup of `name` for the rest of the test."""
    dns = ScriptedDNS(answers)
    monkeypatch.setattr(socket, "getaddrinfo", dns)
    return dns
