"""The summarize stage of a run: a summary for every story, and the editor's note.

Without a model (no `[llm]`, `--no-llm`, no key) every story gets the offline
extractive summary, as before. With one, each selected story is one request (a
cluster of outlets is one story, summarized from its canonical article) and the
note is one more; "Also worth reading" keeps its one-sentence offline summaries.
Summaries are cached in the state by (article content, model, prompt version), so
re-running a week makes no calls. A story the model could not do well gets the
offline summary, and the report counts it with the reason.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from digest.config import Config
from digest.models import Article, ModelUsage, RunWarning, Section, Story, Summary
from digest.store import Store
from digest.summarize import budget, tokens
from digest.summarize.extractive import summarize_text
from digest.summarize.prompts import PROMPT_VERSION, Failed, NoteItem
from digest.summarize.providers import Unavailable, resolve

if TYPE_CHECKING:  # the openai client is imported only by runs that use a model
    from digest.summarize.llm import Writer

__all__ = ["EXTRACTIVE_VERSION", "Summaries", "model_summaries", "offline", "summarize"]

EXTRACTIVE_VERSION = 2  # bump when the extractive summarizer changes its output


@dataclass(frozen=True)
class Summaries:
    picks: list[Story]
    more: list[Section]
    note: str | None  # the model's note; None: compose it offline
    usage: ModelUsage
    warnings: tuple[RunWarning, ...] = ()


def summarize(
    config: Config,
    store: Store,
    picks: Sequence[Story],
    more: Sequence[Section],
    now: datetime,
    use_model: bool = True,
) -> Summaries:
    """Every pick and every "Also worth reading" story with its summary."""
    n = config.summarizer.sentences
    more = [
        Section(m.title, tuple(offline(config, store, s, now, 1) for s in m.stories)) for m in more
    ]
    if config.llm is None or not use_model:
        return Summaries(
            [offline(config, store, s, now, n) for s in picks], more, None, ModelUsage()
        )
    try:
        endpoint = resolve(config.llm, config.network)
    except Unavailable as exc:
        done = [offline(config, store, s, now, n) for s in picks]
        usage = ModelUsage(
            provider=config.llm.provider, offline=len(done), reasons={str(exc): len(done)}
        )
        return Summaries(done, more, None, usage, (RunWarning("model", str(exc)),))
    counter = tokens.counter(endpoint.model, allow_download=config.network.allow_public)
    from digest.summarize.llm import Writer

    writer = Writer(config.llm, endpoint, config.newsletter, counter)
    try:
        return _with_model(config, store, writer, list(picks), more, now)
    finally:
        writer.close()


def _with_model(
    config: Config,
    store: Store,
    writer: Writer,
    picks: list[Story],
    more: list[Section],
    now: datetime,
) -> Summaries:
    model = writer.endpoint.model
    cached = {i: store.summary(story_key(model, s)) for i, s in enumerate(picks)}
    todo = [i for i, hit in cached.items() if hit is None]
    prepared = {i: writer.prepare(picks[i].article) for i in todo}  # budget taken in rank order
    with ThreadPoolExecutor(config.llm.max_concurrency if config.llm else 1) as pool:
        answers = dict(zip(todo, pool.map(lambda i: writer.story(prepared[i]), todo), strict=True))
    reasons: Counter[str] = Counter()
    done = []
    for i, story in enumerate(picks):
        summary = cached[i] or answers[i]
        if isinstance(summary, Failed):
            reasons[summary.reason] += 1
            done.append(offline(config, store, story, now, config.summarizer.sentences))
            continue
        if cached[i] is None:
            store.save_summary(story_key(model, story), summary, now)
        done.append(replace(story, summary=summary))
    note, note_status, note_warning = _note(config, store, writer, done, now)
    usage = _usage(config, writer, done, reasons, len(picks) - len(todo), note_status)
    warnings = _warnings(writer, reasons, note_warning)
    return Summaries(done, more, note, usage, warnings)


def _note(
    config: Config, store: Store, writer: Writer, picks: list[Story], now: datetime
) -> tuple[str | None, str, str]:
    """The model's note (or None), how it was had, and a warning when it was not."""
    if not config.newsletter.show_note or not picks:
        return None, "offline", ""
    items = [NoteItem(s.article.title, _outlets(s), s.summary.text, s.summary.why) for s in picks]
    key = note_key(writer.endpoint.model, config, items)
    hit = store.summary(key)
    if hit is not None:
        return hit.text, "cached", ""
    note = writer.note(writer.prepare_note(items))
    if isinstance(note, Failed):
        return None, "offline", f"editor's note written offline: {note.reason}"
    store.save_summary(key, Summary(note, writer.endpoint.model), now)
    return note, "model", ""


def _outlets(story: Story) -> list[str]:
    return list(dict.fromkeys(a.source for a in (story.article, *story.others)))


def _usage(
    config: Config,
    writer: Writer,
    picks: list[Story],
    reasons: Counter[str],
    cached: int,
    note_status: str,
) -> ModelUsage:
    spent = writer.budget
    price = budget.price_of(config.llm, writer.endpoint.model) if config.llm else None
    return ModelUsage(
        provider=writer.endpoint.provider,
        model=writer.endpoint.model,
        calls=spent.calls,
        cached=cached + (note_status == "cached"),
        prompt_tokens=spent.prompt_tokens,
        completion_tokens=spent.completion_tokens,
        cost_usd=budget.cost(price, spent.prompt_tokens, spent.completion_tokens),
        offline=sum(reasons.values()),
        reasons=dict(reasons),
        guard_trips=writer.guard_trips,
        invalid=writer.invalid,
        structured_output="json_schema" if writer.structured else "json in prompt",
        note=note_status,
        token_count=_token_count(writer.counter),
    )


def _token_count(counter: tokens.TokenCounter) -> str:
    return f"tiktoken {counter.name}" if counter.exact else counter.note


def _warnings(writer: Writer, reasons: Counter[str], note_warning: str) -> tuple[RunWarning, ...]:
    out = []
    if reasons:
        n = sum(reasons.values())
        out.append(
            f"{n} stor{'y' if n == 1 else 'ies'} summarized offline: {budget.reasons_line(reasons)}"
        )
    if note_warning:
        out.append(note_warning)
    if not writer.counter.exact:
        out.append(writer.counter.note)
    return tuple(RunWarning("model", text) for text in out)


def offline(config: Config, store: Store, story: Story, now: datetime, n: int) -> Story:
    """The story with the extractive summary of its canonical article, through the cache."""
    settings, article = config.summarizer, story.article
    key = _key("extractive", EXTRACTIVE_VERSION, n, settings.max_words, article.title, article.text)
    summary = store.summary(key)
    if summary is None:
        summary = summarize_text(article.text, article.title, n, settings.max_words)
        store.save_summary(key, summary, now)
    return replace(story, summary=summary)


def story_key(model: str, story: Story) -> str:
    """The cache key of a model summary: article content, model, prompt version."""
    return _key("model", model, PROMPT_VERSION, story.article.title, story.article.text)


def note_key(model: str, config: Config, items: Sequence[NoteItem]) -> str:
    newsletter = config.newsletter
    voice = [newsletter.title, newsletter.editor, newsletter.editor_title, newsletter.tone]
    data = json.dumps([voice, [[i.title, list(i.outlets), i.summary, i.why] for i in items]])
    return _key("note", model, PROMPT_VERSION, data)


def _key(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()


def model_summaries(
    config: Config, documents: Sequence[tuple[str, str]]
) -> tuple[list[Summary | Failed], ModelUsage]:
    """`digest summarize --llm`: (title, text) pairs summarized by the model in [llm],
    without the run's cache. Raises `Unavailable` when the model cannot be used."""
    if config.llm is None:
        raise Unavailable("--llm needs an [llm] section in the config file")
    endpoint = resolve(config.llm, config.network)
    counter = tokens.counter(endpoint.model, allow_download=config.network.allow_public)
    from digest.summarize.llm import Writer

    writer = Writer(config.llm, endpoint, config.newsletter, counter)
    try:
        articles = [Article("", "", "", title, text, "page") for title, text in documents]
        prepared = [writer.prepare(a) for a in articles]
        with ThreadPoolExecutor(config.llm.max_concurrency) as pool:
            answers = list(pool.map(writer.story, prepared))
    finally:
        writer.close()
    reasons = Counter(a.reason for a in answers if isinstance(a, Failed))
    return answers, _usage(config, writer, [], reasons, 0, "offline")
