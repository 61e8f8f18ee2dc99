"""Editorial stage: the issue's identity and framing, composed into one `Digest`."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from email.utils import parseaddr
from zoneinfo import ZoneInfo

from digest.config import Config, Delivery, Newsletter
from digest.models import Digest, Section, Story, Window
from digest.note import compose_note

WEEK = timedelta(days=7)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "digest"


def issue_id(newsletter: Newsletter, window: Window) -> str:
    """The identity of an issue: newsletter + the ISO week the window is centred on.

    Runs from Monday to Thursday of one week share the identity of that week's issue,
    so a re-run or a retry is recognised as the same issue; a window of another length
    is another issue.
    """
    zone = ZoneInfo(newsletter.timezone)
    middle = (window.start + (window.end - window.start) / 2).astimezone(zone)
    year, week, _ = middle.isocalendar()
    ident = f"{slug(newsletter.title)}-{year}-W{week:02d}"
    span = window.end - window.start
    if span != WEEK:
        ident += f"-{_span_label(span)}"
    return ident


def _span_label(span: timedelta) -> str:
    hours = int(span.total_seconds() // 3600)
    return f"{hours // 24}d" if hours % 24 == 0 else f"{hours}h"


def editor_line(newsletter: Newsletter) -> str:
    """The framing line under the title, with the newsletter's names filled in."""
    names = {
        "editor": newsletter.editor,
        "editor_title": newsletter.editor_title,
        "title": newsletter.title,
        "their": newsletter.editor_pronoun,
    }
    return newsletter.editor_line.format_map(names)


def compose(
    config: Config,
    window: Window,
    picks: list[Story],
    more: list[Section],
    generated_at: datetime,
    issue_number: int = 1,
    note: str | None = None,
    usage: str = "",
) -> Digest:
    """The issue: framing, the editor's note, the picks and "Also worth reading".

    `note` is the model's note; without one the note is composed offline."""
    newsletter = config.newsletter
    if note is None:
        note = compose_note(picks, newsletter) if newsletter.show_note else ""
    return Digest(
        id=issue_id(newsletter, window),
        title=newsletter.title,
        editor=newsletter.editor,
        editor_title=newsletter.editor_title,
        editor_line=editor_line(newsletter),
        language=newsletter.language,
        timezone=newsletter.timezone,
        period_start=window.start,
        period_end=window.end,
        generated_at=generated_at,
        stories=tuple(picks),
        show_style=config.detect.show_style,
        note=note,
        more=tuple(more),
        issue_number=issue_number,
        usage=usage,
        web_url=_in_archive(config, issue_id(newsletter, window) + "/"),
        archive_url=_in_archive(config, ""),
        unsubscribe_url=unsubscribe_link(config),
    )


def _in_archive(config: Config, path: str) -> str:
    """An absolute link into the published web archive, or "" when it has no URL."""
    url = config.archive.url
    return f"{url.rstrip('/')}/{path}" if url and config.archive.enabled else ""


def unsubscribe_link(config: Config) -> str:
    """What the footer's "Unsubscribe" links to: the https endpoint, else a mailto."""
    delivery = config.delivery
    if delivery.unsubscribe_url:
        return delivery.unsubscribe_url
    if delivery.unsubscribe_mailto:
        return f"mailto:{delivery.unsubscribe_mailto}"
    return reply_unsubscribe(delivery)


FALLBACK_ADDRESS = "digest@localhost"  # the sender when [delivery] from is not set


def reply_unsubscribe(delivery: Delivery) -> str:
    """With neither unsubscribe_url nor unsubscribe_mailto: a mailto: the sender's address
    with subject "unsubscribe" (Gmail and Yahoo want a List-Unsubscribe of bulk senders);
    the header and the footer's link both."""
    address = parseaddr(delivery.sender)[1] or FALLBACK_ADDRESS
    return f"mailto:{address}?subject=unsubscribe"
