"""A real SMTP server on loopback (aiosmtpd), plain, STARTTLS or implicit TLS."""

from __future__ import annotations

import asyncio
import socket
import ssl
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Inbox:
    """Keeps what it is sent; can refuse recipients, or stall before answering DATA."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)  # each message's bytes as received
    refuse: frozenset[str] = frozenset()
    stall: float = 0.0
    busy: int = 0  # answer "421 try again later" to this many MAIL commands first
    drop: bool = False  # close the connection while taking the message

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.busy > 0:
            self.busy -= 1
            return "421 4.3.2 busy, try again later"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.drop:  # the connection drops mid-message: the client cannot know the outcome
            server.transport.close()
            return "421 closing"
        if self.stall:
            await asyncio.sleep(self.stall)
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.raw.append(bytes(envelope.content))
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def password_checker(user: str, password: str) -> Any:
    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.login.decode() == user
        ok = ok and data.password.decode() == password
        return AuthResult(success=ok)

    return check


def start(
    inbox: Inbox,
    tls: ssl.SSLContext | None = None,
    implicit: bool = False,
    auth: tuple[str, str] | None = None,
) -> Controller:
    """Start a server; with `tls`, STARTTLS (or implicit TLS when `implicit`)."""
    kwargs: dict[str, Any] = {"hostname": "127.0.0.1", "port": free_port()}
    if tls is not None and implicit:
        kwargs["ssl_context"] = tls
        kwargs["server_hostname"] = "127.0.0.1"
    elif tls is not None:
        kwargs["tls_context"] = tls
        kwargs["require_starttls"] = True
    if auth is not None:
        kwargs["authenticator"] = password_checker(*auth)
        kwargs["auth_require_tls"] = True
    controller = Controller(inbox, **kwargs)
    controller.start()
    return controller


def trusted_tls(folder: Path, monkeypatch: Any) -> ssl.SSLContext:
    """A server context with a certificate for 127.0.0.1 from a test CA the client trusts
    (through SSL_CERT_FILE, as a real client would read it)."""
    import trustme

    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(folder / "ca.pem"))
    return context
