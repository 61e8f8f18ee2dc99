"""The editor's review: a build is read, a proof is sent, then the reviewed build goes out.

`digest run --dry-run` (or `--proof-to`) writes the issue into a folder; the editor
reads it; `digest send DIR` sends that folder's `digest.eml` as it is, byte for byte
(line ends made CRLF, as SMTP carries them), through the same ledger as
`digest run --send`: once, unless `--resend`. Once it went out, it joins the web archive
as `run --send` adds an issue: the page is the message's own HTML.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from digest import archive, deliver
from digest.config import Archive, Delivery
from digest.models import DeliveryOutcome
from digest.store import Store

PROOF_LINE = "PROOF: this is a proof for review, not the issue your readers get."
PROOF_BANNER = (
    '<div style="margin:0;padding:10px 16px;background:#fff3cd;color:#5c4400;'
    'font:bold 14px/1.4 Arial,sans-serif;text-align:center;border-bottom:2px solid #e0b100">'
    f"{PROOF_LINE}</div>"
)


class ReviewError(Exception):
    """The folder holds no build that can be sent; the message says what is missing."""


@dataclass(frozen=True)
class Reviewed:
    """A build in a folder, as the editor reviewed it."""

    digest_id: str
    eml: bytes  # digest.eml as written
    message: EmailMessage  # the same, parsed: the envelope comes from its headers
    urls: tuple[str, ...]  # every article the issue links (the ledger keeps them)
    data: dict[str, Any]  # digest.json as written: the archive's copy is made from it

    @property
    def wire(self) -> bytes:
        """The bytes handed to the server: the file, with CRLF line ends."""
        return re.sub(rb"\r?\n", b"\r\n", self.eml)

    @property
    def html(self) -> str:
        """The HTML readers got: the message's own part (the archive's page)."""
        part = self.message.get_body(("html",))
        return str(part.get_content()) if part is not None else ""


def load(folder: Path) -> Reviewed:
    """The build in `folder` (digest.eml and digest.json from one run)."""
    eml_path, json_path = folder / "digest.eml", folder / "digest.json"
    if not eml_path.is_file() or not json_path.is_file():
        raise ReviewError(
            f"{folder}: no digest.eml and digest.json; build the issue first with "
            f"`digest run --dry-run --out {folder}`"
        )
    eml = eml_path.read_bytes()
    data = json.loads(json_path.read_text(encoding="utf-8"))
    message = message_from_bytes(eml, policy=policy.default)
    assert isinstance(message, EmailMessage)
    digest_id = str(data.get("id", ""))
    if not digest_id or not str(message.get("Message-ID", "")).startswith(f"<{digest_id}."):
        raise ReviewError(
            f"{folder}: digest.eml and digest.json are not from the same build; "
            "build the issue again"
        )
    return Reviewed(digest_id, eml, message, tuple(_urls(data)), data)


def _urls(data: dict[str, Any]) -> list[str]:
    stories = list(data.get("stories", []))
    stories += [s for section in data.get("more", []) for s in section.get("stories", [])]
    urls = []
    for story in stories:
        urls.append(story["article"]["url"])
        urls += [other["url"] for other in story.get("others", [])]
    return urls


def envelope(reviewed: Reviewed, delivery: Delivery) -> Reviewed:
    """The build addressed by its own To header; a build made without [delivery] to
    ("undisclosed-recipients") is refused rather than guessed at."""
    if not deliver.recipients(reviewed.message):
        raise ReviewError(
            "the reviewed digest.eml has no recipients (it was built without [delivery] to); "
            "set [delivery] to and build it again, so what you review is what is sent"
        )
    if not delivery.smtp_host:
        raise ReviewError("sending needs [delivery] smtp_host")
    return reviewed


def send_through_ledger(
    delivery: Delivery,
    store: Store,
    digest_id: str,
    message: EmailMessage,
    urls: Sequence[str],
    now: Callable[[], datetime],
    raw: bytes | None = None,
) -> DeliveryOutcome:
    """Send to the readers around the ledger: marked "sending" before, "sent" after,
    unmarked when it certainly did not go out (a later run may try again)."""
    to = deliver.recipients(message)
    msg_id = str(message["Message-ID"])
    store.mark(digest_id, "sending", msg_id, to, list(urls), now())
    try:
        refused = deliver.send_with_retries(message, delivery, raw)
    except deliver.DeliveryError as exc:
        if not exc.maybe_sent:
            store.unmark(digest_id)
        return DeliveryOutcome("failed", str(exc), may_have_reached_readers=exc.maybe_sent)
    accepted = [r for r in to if r not in refused]
    store.mark(digest_id, "sent", msg_id, accepted, list(urls), now())
    return DeliveryOutcome(
        "sent", accepted=len(accepted), refused=tuple(refused), may_have_reached_readers=True
    )


def archive_sent(settings: Archive, root: Path, reviewed: Reviewed) -> Path | None:
    """A reviewed build that went out joins the web archive, as `run --send` adds its issue
    (when `[archive] enabled`): its page is the HTML the readers got."""
    if not settings.enabled or not reviewed.html:
        return None
    return archive.publish(settings, root, reviewed.data, reviewed.html)[1]


def proof_parts(text: str, html: str) -> tuple[str, str]:
    """A proof's text and HTML, saying at their top that they are a proof."""
    marked = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + PROOF_BANNER, html, count=1)
    if marked == html:
        marked = PROOF_BANNER + html
    return f"{PROOF_LINE}\n\n{text}", marked
