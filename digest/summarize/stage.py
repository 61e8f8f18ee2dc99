"""The summarize stage of a run: a summary for every story, and the editor's note.

Without a model (no `[llm]`, `--no-llm`, no key) every story gets the offline
extractive summary, as before. With one, each selected story is one request (a
cluster of outlets is one story, summarized from its canonical article) and the
note is one more; "Also worth reading" keeps its one-sentence offline summaries.
Summaries are cached in the state by (article content, model, prompt version), so
re-running a week makes no calls; so is a story the model answered but could not do
well (it gets the offline summary, and the report counts it with the reason), until
`--retry-llm` asks again. What "auto" structured output learned about a server is
remembered in the state too. Before anything is summarized, sentences of an article
that address the model or tell the reader what to do are removed (`injection`).
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
from digest.summarize import budget, injection, tokens
from digest.summarize.extractive import summarize_text
from digest.summarize.prompts import PROMPT_VERSION, Failed, Mode, NoteItem
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
    retry_llm: bool = False,
) -> Summaries:
    """Every pick and every "Also worth reading" story with its summary; with
    `retry_llm`, stories the model failed on before are asked again."""
    n = config.summarizer.sentences
    picks, more, removed = _without_instructions(picks, more)
    notice = _instructions_notice(removed)
    more = [
        Section(m.title, tuple(offline(config, store, s, now, 1) for s in m.stories)) for m in more
    ]
    if config.llm is None or not use_model:
        done = [offline(config, store, s, now, n) for s in picks]
        return Summaries(done, more, None, ModelUsage(instructions=len(removed)), notice)
    try:
        endpoint = resolve(config.llm, config.network)
    except Unavailable as exc:
        done = [offline(config, store, s, now, n) for s in picks]
        usage = ModelUsage(
            provider=config.llm.provider,
            offline=len(done),
            reasons={str(exc): len(done)},
            instructions=len(removed),
        )
        return Summaries(done, more, None, usage, (RunWarning("model", str(exc)), *notice))
    counter = tokens.counter(endpoint.model, allow_download=config.network.allow_public)
    from digest.summarize.llm import Writer

    mode_key = _key("structured_output", endpoint.base_url, endpoint.model)
    remembered = None if retry_llm else _mode(store.result(mode_key))
    writer = Writer(config.llm, endpoint, config.newsletter, counter, remembered)
    try:
        result = _with_model(config, store, writer, picks, more, now, retry_llm)
    finally:
        writer.close()
    if writer.learned:
        store.save_result(mode_key, writer.mode, now)
    usage = replace(result.usage, instructions=len(removed))
    return replace(result, usage=usage, warnings=(*result.warnings, *notice))


def _mode(value: object) -> Mode | None:
    """A way of asking remembered in the state (None: nothing, or nothing valid)."""
    if value == "json_schema" or value == "json_object" or value == "prompt":
        return value
    return None


def _without_instructions(
    picks: Sequence[Story], more: Sequence[Section]
) -> tuple[list[Story], list[Section], list[tuple[str, str]]]:
    """The stories with instruction sentences taken out of their articles' text, and
    (url, sentence) for each one removed."""
    removed: list[tuple[str, str]] = []

    def clean(story: Story) -> Story:
        articles = []
        for article in (story.article, *story.others):
            stripped = injection.strip(article.text)
            removed.extend((article.url, sentence) for sentence in stripped.removed)
            articles.append(replace(article, text=stripped.text) if stripped.removed else article)
        return replace(story, article=articles[0], others=tuple(articles[1:]))

    done = [clean(s) for s in picks]
    sections = [Section(m.title, tuple(clean(s) for s in m.stories)) for m in more]
    return done, sections, removed


def _instructions_notice(removed: list[tuple[str, str]]) -> tuple[RunWarning, ...]:
    if not removed:
        return ()
    urls = Counter(url for url, _ in removed)
    where = ", ".join(f"{url} ({n})" for url, n in urls.most_common(5))
    n = len(removed)
    text = (
        f"{n} sentence{'s' if n != 1 else ''} addressed to the model or telling readers what "
        f"to do removed from the articles before summarizing: {where}"
    )
    return (RunWarning("input", text),)


def _with_model(
    config: Config,
    store: Store,
    writer: Writer,
    picks: list[Story],
    more: list[Section],
    now: datetime,
    retry_llm: bool = False,
) -> Summaries:
    model = writer.endpoint.model
    keys = [story_key(model, s, config.newsletter.language) for s in picks]
    cached = {i: _cached(store, key, retry_llm) for i, key in enumerate(keys)}
    todo = [i for i, hit in cached.items() if hit is None]
    prepared = {i: writer.prepare(picks[i].article) for i in todo}  # budget taken in rank order
    with ThreadPoolExecutor(config.llm.max_concurrency if config.llm else 1) as pool:
        answers = dict(zip(todo, pool.map(lambda i: writer.story(prepared[i]), todo), strict=True))
    reasons: Counter[str] = Counter()
    done = []
    for i, story in enumerate(picks):
        summary = cached[i] or answers[i]
        if cached[i] is None:
            _save(store, keys[i], summary, now)
        if isinstance(summary, Failed):
            reasons[summary.reason] += 1
            done.append(offline(config, store, story, now, config.summarizer.sentences))
            continue
        done.append(replace(story, summary=summary))
    note, note_status, note_warning = _note(config, store, writer, done, now, retry_llm)
    usage = _usage(config, writer, done, reasons, len(picks) - len(todo), note_status)
    warnings = _warnings(writer, reasons, note_warning)
    return Summaries(done, more, note, usage, warnings)


def _cached(store: Store, key: str, retry_llm: bool) -> Summary | Failed | None:
    """A model summary from the state, or the model's failure on it (unless retrying)."""
    hit = store.summary(key)
    if hit is not None:
        return hit
    failed = None if retry_llm else store.result(_failure_key(key))
    if isinstance(failed, str):
        return Failed(f"{failed} (cached: --retry-llm asks again)", answered=True)
    return None


def _save(store: Store, key: str, outcome: Summary | Failed, now: datetime) -> None:
    """A summary, or a failure of the model's own answers, is kept like a success: a
    re-run does not pay for the same bad answer twice. Other failures (budget, a server
    down) are not: the next run asks."""
    if isinstance(outcome, Summary):
        store.save_summary(key, outcome, now)
    elif outcome.answered:
        store.save_result(_failure_key(key), outcome.reason, now)


def _failure_key(key: str) -> str:
    return _key("failed", key)


def _note(
    config: Config,
    store: Store,
    writer: Writer,
    picks: list[Story],
    now: datetime,
    retry_llm: bool = False,
) -> tuple[str | None, str, str]:
    """The model's note (or None), how it was had, and a warning when it was not."""
    if not config.newsletter.show_note or not picks:
        return None, "offline", ""
    items = [NoteItem(s.article.title, _outlets(s), s.summary.text, s.summary.why) for s in picks]
    key = note_key(writer.endpoint.model, config, items)
    hit = _cached(store, key, retry_llm)
    if isinstance(hit, Summary):
        return hit.text, "cached", ""
    if isinstance(hit, Failed):
        return None, "cached", f"editor's note written offline: {hit.reason}"
    note = writer.note(writer.prepare_note(items))
    _save(store, key, Summary(note, writer.endpoint.model) if isinstance(note, str) else note, now)
    if isinstance(note, Failed):
        return None, "offline", f"editor's note written offline: {note.reason}"
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
        structured_output=writer.mode,
        failed_calls=writer.failed_calls,
        dropped=writer.dropped,
        note=note_status,
        token_count=_token_count(writer.counter),
    )


def _token_count(counter: tokens.TokenCounter) -> str:
    return f"tiktoken {counter.name}" if counter.exact else counter.note


def _warnings(writer: Writer, reasons: Counter[str], note_warning: str) -> tuple[RunWarning, ...]:
    out = [writer.learned] if writer.learned else []
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


def story_key(model: str, story: Story, language: str = "en") -> str:
    """The cache key of a model summary: article content, model, prompt version, and the
    issue's language (a summary is written in it)."""
    return _key("model", model, PROMPT_VERSION, language, story.article.title, story.article.text)


def note_key(model: str, config: Config, items: Sequence[NoteItem]) -> str:
    newsletter = config.newsletter
    voice = [
        newsletter.title,
        newsletter.editor,
        newsletter.editor_title,
        newsletter.tone,
        newsletter.language,
    ]
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
        articles = [
            Article("", "", "", title, injection.strip(text).text, "page")
            for title, text in documents
        ]
        prepared = [writer.prepare(a) for a in articles]
        with ThreadPoolExecutor(config.llm.max_concurrency) as pool:
            answers = list(pool.map(writer.story, prepared))
    finally:
        writer.close()
    reasons = Counter(a.reason for a in answers if isinstance(a, Failed))
    return answers, _usage(config, writer, [], reasons, 0, "offline")
