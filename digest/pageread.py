"""What a page worker runs: a page read (the article, its AI disclosures, its style), and
a feed's text scanned, with the disclosure rules as sent to it. Only what reading a page
needs is imported here (no HTTP client, no feed parser): the workers' fork server
imports this module (`digest.preload`), and every worker forked from it holds it all
(~15 MB less a process than `digest.pages` and its imports)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

from digest.detect import style
from digest.detect.disclosure import Rule, find_disclosures, find_in_text, load_rules
from digest.extract import Page, parse_page, read_page
from digest.models import Evidence
from digest.workers import trim


@dataclass(frozen=True)
class Read:
    """What one page gave: the article, and any AI disclosure found on the raw page."""

    page: Page
    disclosures: tuple[Evidence, ...]
    style: tuple[float, ...] = ()  # the style features of page.text (see detect.style)


def read_body(body: bytes, url: str, rules: Sequence[Rule]) -> Read | None:
    """Everything the run needs from a page, computed once (in a worker) and cached."""
    parsed = parse_page(body, url)  # one parse for every reader of the page
    page = read_page(parsed, url) if parsed else None
    if parsed is None or page is None:
        return None
    disclosures = tuple(find_disclosures(body, url, list(rules), (parsed.text, parsed.tree)))
    return Read(page, disclosures, style.feature_values(page.text))


# A rule as sent to a worker: its fields, not its compiled patterns (a pickled pattern is
# compiled again on arrival, ~0.6 s for the shipped rules, in every new worker).
RuleFields = tuple[tuple[Any, ...], ...]


def rule_fields(rules: Sequence[Rule]) -> RuleFields:
    """The rules as `_compiled` takes them back."""
    return tuple(
        (r.id, r.pattern, r.where, r.kind, r.meaning, r.also, r.case_sensitive) for r in rules
    )


@lru_cache(maxsize=4)
def _compiled(fields: RuleFields) -> tuple[Rule, ...]:
    """The rules of `fields`, compiled once per process (a worker forked from the fork
    server that ran `warm` starts with the shipped ones)."""
    return tuple(Rule(*rule) for rule in fields)


def _read_sent(body: bytes, url: str, fields: RuleFields) -> Read | None:
    """`read_body` in a worker, its rules sent as `rule_fields`; the heap's free memory
    is given back after each page (~5 MB less per worker for well under a millisecond:
    the run's memory peaks while the workers read the pages)."""
    try:
        return read_body(body, url, _compiled(fields))
    finally:
        trim()


def _scan_sent(text: str, fields: RuleFields) -> tuple[Evidence, ...]:
    """`find_in_text` in a worker, its rules sent as `rule_fields`."""
    return tuple(find_in_text(text, list(_compiled(fields))))


def warm() -> None:
    """Compile the shipped disclosure rules as `_read_sent` will look them up, and read one
    small page (run once in the worker processes' fork server: every worker it forks
    starts with the rules, and with what a first page loads on first use: trafilatura's
    modules, the public suffix list; about 0.1 s a worker otherwise, on its first page)."""
    _read_sent(_WARM_PAGE, "https://abc.example/2024/01/01/warm-up", rule_fields(load_rules()))


# a page of no outlet, read only to load what reading a page loads on first use
_WARM_PAGE: Final = (
    b'<html><head><title>Warm-up</title><link rel="canonical" href="https://abc.example/2024/01/01/warm-up">'
    b'<meta property="og:site_name" content="Example"></head>'
    b"<body><article><h1>Warm-up</h1><p>"
    + b"A short page read once, so that the code which reads pages is loaded. " * 12
    + b"</p></article></body></html>"
)
