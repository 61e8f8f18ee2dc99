"""Frozen values passed between the stages of a run.

Every stage takes these and returns these; none of them knows SQL, sockets or the
terminal. Datetimes are always timezone-aware (UTC unless said otherwise).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from digest.text.words import count_words


@dataclass(frozen=True)
class Window:
    """The period an issue covers. Both ends count: an entry first seen at the moment
    of the run (an undated one) belongs to this run's window."""

    start: datetime
    end: datetime

    def __contains__(self, when: object) -> bool:
        return isinstance(when, datetime) and self.start <= when <= self.end


@dataclass(frozen=True)
class Feed:
    """A feed the owner subscribed to (from `[[feeds]]`)."""

    url: str
    name: str
    weight: float = 1.0
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Entry:
    """One item of a feed, with its link made canonical."""

    url: str  # canonical article URL (tracking parameters stripped)
    feed_url: str
    source: str  # outlet name: the feed's configured name or its own title
    title: str
    summary: str = ""  # the feed's summary, as plain text
    content: str = ""  # the feed's full content (content:encoded), as plain text
    author: str = ""
    published: datetime | None = None  # published or updated date, if the feed gave one
    first_seen: datetime | None = None  # when this tool first saw the entry

    @property
    def date(self) -> datetime | None:
        """The date the window is judged by: the feed's date, else first seen."""
        return self.published or self.first_seen


Level = Literal["disclosed", "listed", "suspected", "none"]


@dataclass(frozen=True)
class Evidence:
    """One reason to think a source is machine-written, quoted from where it was found."""

    kind: str  # "disclosed", "residue", "listed", "history" or "style"
    rule: str  # the rule's id (or the config key / signal name)
    quote: str  # the words found, as the page has them
    where: str  # the page region: "byline", "bio", "disclaimer", "meta", "jsonld", "body", ...


@dataclass(frozen=True)
class Verdict:
    """Whether a source is AI-generated, how we know, and the style score (0..1)."""

    level: Level = "none"
    score: float = 0.0
    evidence: tuple[Evidence, ...] = ()
    label: str = ""  # what the digest says, e.g. "AI-generated: the publisher's byline reads ..."

    @property
    def flagged(self) -> bool:
        """Disclosed or listed: said in the digest. A style suspicion alone is not."""
        return self.level in ("disclosed", "listed")


@dataclass(frozen=True)
class Article:
    """An entry with its page read: the text a summary is made from."""

    url: str
    source: str
    feed_url: str
    title: str
    text: str
    method: Literal["page", "feed"]  # where `text` came from
    author: str = ""
    date: datetime | None = None
    sitename: str = ""
    description: str = ""
    image: str = ""
    paywalled: bool = False
    weight: float = 1.0
    verdict: Verdict = Verdict()
    language: str = ""  # ISO 639-1 code as detected from the text ("de"); "" when unsure

    @cached_property
    def words(self) -> int:  # asked for often while ranking: counted once per text
        return count_words(self.text)


@dataclass(frozen=True)
class Summary:
    """What the summarizer made of one story."""

    text: str
    method: str  # "extractive", or the model that wrote it
    sentences: tuple[str, ...] = ()
    why: str = ""  # "Why it matters", from a model
    tags: tuple[str, ...] = ()  # topic tags, from a model


@dataclass(frozen=True)
class Story:
    """One entry of the digest: the same event from one or more outlets.

    `article` is the canonical one (the one the reader is sent to); `others` are the
    rest of the coverage ("Also covered by").
    """

    article: Article
    summary: Summary
    score: float = 0.0
    others: tuple[Article, ...] = ()
    section: str = ""  # the section title it belongs to, "" when none matched

    @property
    def outlets(self) -> int:
        """How many distinct outlets covered it."""
        return len({a.source for a in (self.article, *self.others)})

    @property
    def flagged(self) -> bool:
        """Whether the outlet the reader is sent to is an AI-generated source."""
        return self.article.verdict.flagged

    @property
    def cites_ai(self) -> bool:
        """Whether any of its coverage (the linked article or an "Also covered by"
        outlet) is from an AI-generated source: each such source carries a label."""
        return any(a.verdict.flagged for a in (self.article, *self.others))


@dataclass(frozen=True)
class Section:
    """A section of "Also worth reading": stories beyond the editor's picks."""

    title: str
    stories: tuple[Story, ...]


@dataclass(frozen=True)
class Digest:
    """Everything a template needs; `digest.json` is this, as data."""

    id: str  # identity of the issue: newsletter + period, e.g. "autos-weekly-2026-W46"
    title: str
    editor: str
    editor_title: str
    editor_line: str
    language: str
    timezone: str
    period_start: datetime
    period_end: datetime
    generated_at: datetime
    stories: tuple[Story, ...]  # the editor's picks, in order
    show_style: bool = False  # show "style signals" for suspected sources ([detect] show_style)
    note: str = ""  # the editor's note (Markdown, no links), "" for none
    more: tuple[Section, ...] = ()  # "Also worth reading", by section; empty ones left out
    issue_number: int = 1
    health: tuple[str, ...] = ()  # feed problems, for the owner's copy only (never emailed)
    usage: str = ""  # the model's calls, tokens and cost, when [llm] show_usage is on
    web_url: str = ""  # this issue in the web archive ("View in browser"), when [archive] url
    archive_url: str = ""  # the web archive's index, when [archive] url is set
    unsubscribe_url: str = ""  # https link, or a mailto: link, when [delivery] has one
    shortened: bool = False  # "Also worth reading" was cut to keep the email under Gmail's clip

    @property
    def ai_picks(self) -> int:
        """How many picks cite an AI-generated (disclosed or listed) source, linked or
        among "Also covered by": the footer's figure, and report.json's `ai_picks`."""
        return sum(1 for story in self.stories if story.cites_ai)

    @property
    def shown(self) -> tuple[Story, ...]:
        """Every story in the issue: the picks, then "Also worth reading"."""
        return (*self.stories, *(story for section in self.more for story in section.stories))

    @property
    def reading_minutes(self) -> int:
        """About how long the picks take to read in full (230 words a minute)."""
        words = sum(story.article.words for story in self.stories)
        return max(1, round(words / 230))


@dataclass(frozen=True)
class ModelUsage:
    """What the model did this run (all zero when the run was offline)."""

    provider: str = ""
    model: str = ""  # "" when no model was used
    calls: int = 0  # requests made
    cached: int = 0  # stories and notes served from the summary cache
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None  # None: the model has no price
    offline: int = 0  # selected stories that got the offline summary instead
    reasons: dict[str, int] = field(default_factory=dict)  # why, and how often
    guard_trips: int = 0  # answers with a number or name not in the source
    invalid: int = 0  # answers that were not the JSON asked for
    structured_output: str = ""  # how JSON was asked for: json_schema, json_object, prompt
    failed_calls: int = 0  # of `calls`: requests that got no answer (errors, rejections)
    dropped: int = 0  # sentences dropped from model answers that were used (why it matters too)
    instructions: int = 0  # instruction sentences removed from articles before summarizing
    note: str = "offline"  # "model", "cached" or "offline"
    token_count: str = ""  # "tiktoken o200k_base", or why counts were estimated

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


FeedStatus = Literal["ok", "not-modified", "failed"]
# Why a request failed: "unresolved" (no DNS: offline?), "bot-challenge" (the site's bot
# protection answered), "timeout", "http" (another 4xx/5xx), "refused" (the address
# guard), "other"; "" when it did not fail.
FetchCause = Literal["", "unresolved", "bot-challenge", "timeout", "http", "refused", "other"]


@dataclass(frozen=True)
class FeedReport:
    """How one feed fared this run; `reason` says why when it failed or warned."""

    url: str
    name: str
    status: FeedStatus
    entries: int = 0
    in_window: int = 0
    reason: str = ""
    warnings: tuple[str, ...] = ()
    latest: datetime | None = None  # the newest entry's date: how recently it published
    cause: FetchCause = ""  # why it failed, when the request did


@dataclass(frozen=True)
class PageFailure:
    """An article page that could not be read (the feed text was used instead)."""

    url: str
    reason: str
    cause: FetchCause = ""


WarningKind = Literal["feed", "input", "model", "size"]


@dataclass(frozen=True)
class RunWarning:
    """Something the owner should know about a run that still produced its issue.

    `kind` says where it comes from: "feed" (a feed's oddity; `subject` names the
    feed), "input" (nothing to put in the issue), "model" (the LLM fell back or could
    not count tokens exactly) or "size" (the email was cut to fit).
    """

    kind: WarningKind
    text: str
    subject: str = ""

    def __str__(self) -> str:
        if self.kind == "model":
            return f"model: {self.text}"
        return f"{self.subject}: {self.text}" if self.subject else self.text


DeliveryStatus = Literal["not sent", "sent", "proof sent", "failed", "proof failed"]


@dataclass(frozen=True)
class DeliveryOutcome:
    """What became of the issue's email this run.

    `may_have_reached_readers` is true when the issue was (or may have been) taken by
    the mail server for its readers: the ledger then holds it, and a run never sends
    it again without --resend. A proof never reaches readers. "sent" and "failed" are
    sends to the readers (the workflow keeps the state after either); "proof sent" and
    "proof failed" are proofs to the owner.
    """

    status: DeliveryStatus = "not sent"
    detail: str = ""  # why it failed
    accepted: int = 0  # recipients the server took
    refused: tuple[str, ...] = ()  # recipients the server refused
    may_have_reached_readers: bool = False

    @property
    def failed(self) -> bool:
        return self.status in ("failed", "proof failed")

    def __str__(self) -> str:
        if self.status == "sent":
            refused = f"; refused by the server: {', '.join(self.refused)}" if self.refused else ""
            return f"sent to {self.accepted} recipient(s){refused}"
        if self.status == "proof sent":
            return f"proof sent to {self.accepted} recipient(s); the issue is not marked as sent"
        if self.status == "failed":
            return f"failed: {self.detail}"
        if self.status == "proof failed":
            return f"failed: proof: {self.detail}"
        return "not sent"


@dataclass(frozen=True)
class RunReport:
    """The run, as `report.json` tells it."""

    digest_id: str
    started_at: datetime
    finished_at: datetime
    feeds: tuple[FeedReport, ...]
    entries: int
    articles: int
    stories: int  # the editor's picks in the digest
    pages_failed: tuple[PageFailure, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)
    ai_articles: dict[str, int] = field(default_factory=dict)  # articles read, per AI level
    warnings: tuple[RunWarning, ...] = ()
    outputs: dict[str, str] = field(default_factory=dict)
    delivery: DeliveryOutcome = field(default_factory=DeliveryOutcome)
    ai_picks: int = 0  # picks citing an AI-generated source (Digest.ai_picks, the footer's)
    stories_clustered: int = 0  # distinct stories the articles formed
    feed_health: dict[str, list[str]] = field(default_factory=dict)  # failed / silent feeds
    llm: ModelUsage = field(default_factory=ModelUsage)

    @property
    def feeds_failed(self) -> int:
        return sum(1 for f in self.feeds if f.status == "failed")


def to_jsonable(value: Any) -> Any:
    """These values as plain JSON: dataclasses as objects, tuples as lists, datetimes as
    ISO 8601 strings. One encoding for digest.json, report.json and the state's caches."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    return value
