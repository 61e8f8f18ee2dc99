"""Deliver stage: the files in out/, the .eml, and sending it over SMTP.

Files are written atomically (a temporary file renamed into place), so a crash never
leaves a half-written digest. Sending is recorded in the state's ledger by the
pipeline, around `send()`.
"""

from __future__ import annotations

import hashlib
import json
import os
import smtplib
import ssl
import tempfile
import time
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import quote

from digest import addresses
from digest.config import Delivery
from digest.editorial import FALLBACK_ADDRESS, reply_unsubscribe, slug
from digest.models import Digest, RunReport, to_jsonable


class DeliveryError(Exception):
    """The message could not be handed to the SMTP server; the reason is the message.

    `maybe_sent` is true when the failure came while the server was taking the message,
    so it may have been delivered: the ledger must then keep the send as uncertain.
    `transient` is true when trying again later may work (and nothing was delivered).
    """

    def __init__(self, reason: str, maybe_sent: bool = False, transient: bool = False) -> None:
        super().__init__(reason)
        self.maybe_sent = maybe_sent
        self.transient = transient


# Failures that are certain to come before the server accepted the message.
NOT_SENT = (
    smtplib.SMTPSenderRefused,
    smtplib.SMTPRecipientsRefused,
    smtplib.SMTPDataError,
    smtplib.SMTPAuthenticationError,
    smtplib.SMTPNotSupportedError,
)


def write_file(path: Path, content: str | bytes) -> None:
    """Write `content` to `path` atomically (temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode("utf-8") if isinstance(content, str) else content
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        Path(tmp).chmod(0o666 & ~_umask())  # what a plain open() would have given
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def digest_json(digest: Digest) -> str:
    return json_file(to_jsonable(digest))


def json_file(data: Any) -> str:
    """Data as digest's JSON files have it: indented, UTF-8 as written, a final newline."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def report_json(report: RunReport) -> str:
    """`report.json`: the report as data; warnings and the delivery as the sentences the
    owner reads, the delivery also as data (`delivery_outcome`) for the workflow."""
    data = to_jsonable(report) | {"feeds_failed": report.feeds_failed}
    data["llm"]["total_tokens"] = report.llm.total_tokens
    data["warnings"] = [str(warning) for warning in report.warnings]
    data["delivery"] = str(report.delivery)
    data["delivery_outcome"] = to_jsonable(report.delivery)
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def build_message(
    digest: Digest, subject: str, text: str, html: str, delivery: Delivery
) -> EmailMessage:
    """A multipart/alternative message: the plain text first, then the HTML."""
    sender = delivery.sender or f"{digest.title} <{FALLBACK_ADDRESS}>"
    message = EmailMessage()
    message["Subject"] = " ".join(subject.split())  # a header is one line, whatever the title
    message["From"] = " ".join(sender.split())
    message["To"] = ", ".join(delivery.to) if delivery.to else "undisclosed-recipients:;"
    message["Date"] = format_datetime(digest.generated_at)
    message["Message-ID"] = message_id(digest, html, sender)
    for name, value in list_headers(digest, delivery, sender).items():
        message[name] = value
    message.set_content(text, cte="quoted-printable")
    message.add_alternative(html, subtype="html", cte="quoted-printable")
    # the same issue gives the same .eml: a boundary from the content, not a random one
    parts = hashlib.sha256(f"{text}\0{html}".encode()).hexdigest()[:32]
    message.set_boundary(f"==digest-{parts}==")
    return message


def list_headers(digest: Digest, delivery: Delivery, sender: str) -> dict[str, str]:
    """List-Id (RFC 2919), and List-Unsubscribe (RFC 2369) with a mailto and/or https
    target; List-Unsubscribe-Post (RFC 8058, one click) only with an https endpoint."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    list_id = delivery.list_id or f"{slug(digest.title)}.{domain}"
    title = " ".join(digest.title.replace('"', "'").split())
    headers = {"List-Id": f'"{title}" <{list_id}>'}
    targets = []
    if delivery.unsubscribe_mailto:
        subject = quote(f"unsubscribe {list_id}")
        targets.append(f"<mailto:{delivery.unsubscribe_mailto}?subject={subject}>")
    if delivery.unsubscribe_url:
        targets.append(f"<{delivery.unsubscribe_url}>")
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    if not targets:
        targets.append(f"<{reply_unsubscribe(delivery)}>")
    headers["List-Unsubscribe"] = ", ".join(targets)
    return headers


def message_id(digest: Digest, html: str, sender: str) -> str:
    """Stable for the same content, so a re-run writes the same .eml."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    fingerprint = hashlib.sha256(html.encode("utf-8")).hexdigest()[:12]
    return f"<{digest.id}.{fingerprint}@{domain}>"


def recipients(message: EmailMessage) -> list[str]:
    return [addr for _, addr in getaddresses(message.get_all("To", [])) if addr]


def send(message: EmailMessage, delivery: Delivery, raw: bytes | None = None) -> list[str]:
    """Hand the message to the configured SMTP server, over STARTTLS or SSL; with `raw`,
    those bytes are what is sent (a reviewed .eml), `message` gives the envelope.

    Returns the recipients the server refused (the others were accepted).
    """
    password = delivery.password()
    if delivery.username and password is None:
        raise DeliveryError(
            f"SMTP user {delivery.username!r} is set but there is no password: "
            f"set the environment variable {delivery.password_env}"
        )
    handing_over = False
    try:
        with _connect(delivery) as smtp:
            if delivery.username and password is not None:
                smtp.login(delivery.username, password)
            handing_over = True
            if raw is None:
                refused = smtp.send_message(message, to_addrs=recipients(message))
            else:
                sender = parseaddr(str(message["From"]))[1]
                refused = smtp.sendmail(sender, recipients(message), raw)
    except (smtplib.SMTPException, OSError) as exc:
        maybe = handing_over and not isinstance(exc, NOT_SENT)
        transient = not maybe and _transient(exc)
        raise DeliveryError(
            _smtp_reason(exc, delivery), maybe_sent=maybe, transient=transient
        ) from None
    return sorted(refused)


def _transient(exc: BaseException) -> bool:
    """Worth another try: a 4xx answer ("try again later"), or a connection that failed
    or dropped before the message was handed over. Not a refused login or a 5xx."""
    if isinstance(exc, smtplib.SMTPAuthenticationError | smtplib.SMTPNotSupportedError):
        return False
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    return isinstance(exc, OSError | smtplib.SMTPServerDisconnected)


def _connect(delivery: Delivery) -> smtplib.SMTP:
    host, port, timeout = delivery.smtp_host, delivery.port, delivery.timeout
    context = ssl.create_default_context()
    if delivery.security == "ssl":
        return addresses.SMTP_SSL(host, port, timeout=timeout, context=context)
    smtp = addresses.SMTP(host, port, timeout=timeout)
    if delivery.security == "starttls":
        try:
            smtp.starttls(context=context)
        except BaseException:
            smtp.close()
            raise
    return smtp


def _smtp_reason(exc: BaseException, delivery: Delivery) -> str:
    where = f"{delivery.smtp_host}:{delivery.port} ({delivery.security})"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"{where}: login refused for {delivery.username!r}; check the user and password"
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return f'{where}: the server does not offer STARTTLS; try security = "ssl"'
    detail = str(exc) or type(exc).__name__
    return f"{where}: {type(exc).__name__}: {detail}"[:400]


def send_with_retries(
    message: EmailMessage, delivery: Delivery, raw: bytes | None = None
) -> list[str]:
    """Send; a failure that delivered nothing and may pass ("try again later", a refused
    connection) is retried with a doubling pause. Others are raised at once: a send that
    may have reached readers is never repeated."""
    for attempt in range(delivery.retries + 1):
        try:
            return send(message, delivery, raw)
        except DeliveryError as exc:
            if not exc.transient or attempt == delivery.retries:
                raise
            time.sleep(delivery.retry_delay * 2**attempt)
    raise AssertionError("unreachable")
