"""What a run's failures have in common, said the way a new user can act on it.

Two readings of a `RunReport`-to-be: the sites whose bot protection answered instead of
them (named in the report and the workflow summary), and why a run found no stories
(every feed failed the same way, or the feeds are only stale).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import urlsplit

from digest.http import BLOCKED, BLOCKED_ADVICE
from digest.models import FeedReport, FetchCause, PageFailure, RunWarning

CAUSES: dict[FetchCause, str] = {
    "unresolved": "cannot resolve host; offline?",
    "bot-challenge": BLOCKED,
    "timeout": "timed out",
    "http": "the servers answered with an HTTP error",
    "refused": "refused by the address guard ([network] allow_hosts)",
}


def blocked(feeds: Sequence[FeedReport], pages: Sequence[PageFailure]) -> RunWarning | None:
    """One warning naming every feed and page a bot challenge answered, or None."""
    names = [f.name for f in feeds if f.cause == "bot-challenge"]
    hosts = sorted({_host(p.url) for p in pages if p.cause == "bot-challenge"})
    if not names and not hosts:
        return None
    parts = []
    if names:
        parts.append(f"feeds {', '.join(names)} (entries seen on earlier runs are kept)")
    if hosts:
        parts.append(f"pages on {', '.join(hosts)} (the feed's own text was used)")
    return RunWarning("feed", f"{BLOCKED}: {'; '.join(parts)}; {BLOCKED_ADVICE}")


def no_stories(feeds: Sequence[FeedReport], until: datetime) -> str:
    """Why a run found nothing, with what to try; "" when there is nothing to add."""
    failed = [f for f in feeds if f.status == "failed"]
    if feeds and len(failed) == len(feeds):
        cause, count = Counter(f.cause for f in failed).most_common(1)[0]
        said = CAUSES.get(cause) if count == len(failed) else None
        shown = said or failed[0].reason
        which = "all" if said else "e.g."
        hint = "; try `digest run --demo` to see an issue without the network"
        return f"{which} {len(failed)} failed: {shown}{hint if cause == 'unresolved' else ''}"
    newest = max((f.latest for f in feeds if f.latest is not None), default=None)
    if newest is not None and newest > until:
        return f"the window ends before the newest entry ({newest:%Y-%m-%d}): check --until"
    if newest is not None:
        return (
            f"the feeds are only stale: the newest entry is from {newest:%Y-%m-%d}; "
            f"try `--since {(until - newest).days + 2}d`"
        )
    return ""


def _host(url: str) -> str:
    return urlsplit(url).hostname or url
