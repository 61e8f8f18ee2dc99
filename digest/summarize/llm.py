"""Summaries and the editor's note written by a model, through the openai client.

One `Writer` per run. Each request asks for structured output (`response_format`
with a JSON schema); a server that rejects that is asked again with the JSON shape in
the prompt, and the writer remembers it for the rest of the run. An answer is parsed,
validated, cleaned of links and markup, and checked by the faithfulness guard; a bad
answer gets one retry that says what was wrong, then the caller falls back to the
offline summary. The SDK retries 429s (honouring Retry-After) and 5xx with backoff;
a rate limit it gives up on, a rejected key, or `max_failures` failures in a row turn
the model off for the rest of the run. Nothing here raises to the caller: every
outcome is a value, and the key never appears in one.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any, TypeVar

import openai
from pydantic import BaseModel, ValidationError

from digest.addresses import model_http_client
from digest.config import Llm, Newsletter
from digest.models import Article, Summary
from digest.summarize import guard, prompts
from digest.summarize.budget import Budget
from digest.summarize.prompts import Failed, NoteAnswer, NoteItem, StoryAnswer, Task
from digest.summarize.providers import Endpoint
from digest.summarize.tokens import TokenCounter, fit
from digest.text.sentences import split_sentences

__all__ = ["Failed", "Prepared", "Writer"]

A = TypeVar("A", bound=BaseModel)
_MESSAGE_OVERHEAD = 8  # tokens per chat message beyond its text
_RETRY_ROOM = 500  # input tokens kept free for a retry's extra turn
_TAG = re.compile(r"[^a-z0-9&+ -]+")


@dataclass(frozen=True)
class Prepared:
    """A request ready to go, with the budget for its first call already taken."""

    task: Task
    data: str  # the user message: the article or the stories, as a data block
    source: str  # what the faithfulness guard checks the answer against
    ticket: int  # tokens reserved for the first call


class _Stop(Exception):
    """No (more) requests for this item: budget spent or the model is off."""


class Writer:
    def __init__(
        self, settings: Llm, endpoint: Endpoint, newsletter: Newsletter, counter: TokenCounter
    ) -> None:
        self.settings = settings
        self.endpoint = endpoint
        self.newsletter = newsletter
        self.counter = counter
        self.budget = Budget(settings.max_calls, settings.max_tokens)
        self.structured = True  # until the server rejects response_format
        self.down = ""  # why the model is off for the rest of the run
        self.guard_trips = 0
        self.invalid = 0
        self.errors: Counter[str] = Counter()
        self._failures = 0
        self._lock = threading.Lock()
        self._client = openai.OpenAI(
            api_key=endpoint.api_key,
            base_url=endpoint.base_url,
            timeout=settings.timeout,
            max_retries=settings.retries,
            http_client=model_http_client(),
        )

    def close(self) -> None:
        self._client.close()

    # the two tasks: prepare (in rank order, taking the budget), then ask

    def prepare(self, article: Article) -> Prepared | Failed:
        """The story's request, its first call reserved; Failed when none may be made."""
        block = self._article_message(article)
        if block is None:
            return Failed("headline and lead alone exceed max_input_tokens")
        return self._reserve(prompts.STORY, block, f"{article.title}\n{article.text}")

    def prepare_note(self, items: list[NoteItem]) -> Prepared | Failed:
        source = "\n".join(
            [self.newsletter.title, self.newsletter.editor]
            + [f"{i.title}\n{' '.join(i.outlets)}\n{i.summary}\n{i.why}" for i in items]
        )
        return self._reserve(prompts.NOTE, prompts.stories_block(items), source)

    def story(self, prepared: Prepared | Failed) -> Summary | Failed:
        """A 2-3 sentence summary, why it matters and tags for one story's article."""
        if isinstance(prepared, Failed):
            return prepared
        answer = self._converse(prepared, StoryAnswer, self._story_check(prepared.source))
        return answer if isinstance(answer, Failed) else _summary(answer, self.endpoint.model)

    def note(self, prepared: Prepared | Failed) -> str | Failed:
        """The editor's note from the picks' summaries (Markdown, no links)."""
        if isinstance(prepared, Failed):
            return prepared
        answer = self._converse(prepared, NoteAnswer, self._note_check(prepared.source))
        return answer if isinstance(answer, Failed) else answer.note

    def _reserve(self, task: Task, data: str, source: str) -> Prepared | Failed:
        if self.down:
            return Failed(self.down)
        estimate = self._estimate(task, [{"role": "user", "content": data}])
        refused = self.budget.take(estimate)
        return Failed(refused) if refused else Prepared(task, data, source, estimate)

    # checks: the parsed answer, cleaned, or why it cannot be used

    def _story_check(self, source: str) -> Any:
        def check(answer: StoryAnswer) -> StoryAnswer | str:
            summary = guard.clean(answer.summary)
            why = guard.clean(answer.why_it_matters)
            words = len(summary.split())
            if not summary or words > prompts.SUMMARY_MAX_WORDS + 15:
                return f"the summary must be 2 or 3 sentences of plain text (it had {words} words)"
            problem = self._unsupported(f"{summary}\n{why}", source)
            if problem:
                return problem
            tags = [t for t in (_TAG.sub("", tag.lower()).strip() for tag in answer.tags) if t]
            return StoryAnswer.model_construct(  # cleaned: `why` may now be empty
                summary=summary, why_it_matters=why, tags=tags[:4] or ["autos"]
            )

        return check

    def _note_check(self, source: str) -> Any:
        def check(answer: NoteAnswer) -> NoteAnswer | str:
            note = guard.clean(answer.note, keep_markdown=True)
            words = len(note.replace("*", " ").split())
            low, high = prompts.NOTE_MIN_WORDS, prompts.NOTE_MAX_WORDS
            if not low <= words <= high:
                return f"the note must be {low} to {high} words of prose (it had {words})"
            return self._unsupported(note, source) or NoteAnswer.model_construct(note=note)

        return check

    def _unsupported(self, text: str, source: str) -> str:
        missing = guard.unsupported(text, source)
        if not missing:
            return ""
        with self._lock:
            self.guard_trips += 1
        shown = ", ".join(repr(m) for m in missing[:6])
        return f"these numbers or names are not in the source: {shown}"

    # the conversation: one request, and one retry that says what was wrong

    def _converse(self, prepared: Prepared, kind: type[A], check: Any) -> A | Failed:
        turns: list[dict[str, str]] = [{"role": "user", "content": prepared.data}]
        problem = ""
        ticket: int | None = prepared.ticket
        for _ in range(2):
            try:
                content = self._ask(prepared.task, turns, ticket)
                ticket = None
            except _Stop as stop:
                return Failed(str(stop))
            parsed = _parse(content, kind)
            checked = check(parsed) if not isinstance(parsed, str) else parsed
            if not isinstance(checked, str):
                return checked  # type: ignore[no-any-return]
            problem = checked
            if isinstance(parsed, str):
                with self._lock:
                    self.invalid += 1
            turns += [
                {"role": "assistant", "content": content[:4000]},
                {"role": "user", "content": prompts.correction(problem)},
            ]
        return Failed(f"model answer rejected twice ({problem})")

    def _ask(self, task: Task, turns: list[dict[str, str]], ticket: int | None) -> str:
        """One request's answer text; `_Stop` when no request may or can be made.

        `ticket` is the budget already reserved for this request, if any."""
        structured = self.structured
        messages = [
            {"role": "system", "content": task.system_for(structured, self.newsletter)},
            *turns,
        ]
        estimate = ticket if ticket is not None else self._estimate(task, turns)
        if self.down:
            if ticket is not None:
                self.budget.release(ticket)  # reserved, never made
            raise _Stop(self.down)
        if ticket is None:
            refused = self.budget.take(estimate)
            if refused:
                raise _Stop(refused)
        try:
            response = self._client.chat.completions.create(**self._request(task, messages))
        except openai.BadRequestError as exc:
            self.budget.settle(estimate, 0, 0)
            if structured and _rejects_schema(exc):
                self.structured = False  # remembered for the run
                return self._ask(task, turns, None)
            self._failed(exc, fatal=False)
            raise _Stop(_describe(exc, self.endpoint)) from None
        except (openai.OpenAIError, ValueError) as exc:  # ValueError: a body that is not JSON
            self.budget.settle(estimate, 0, 0)
            self._failed(exc, fatal=_fatal(exc))
            raise _Stop(_describe(exc, self.endpoint)) from None
        usage = getattr(response, "usage", None)
        self.budget.settle(
            estimate,
            usage.prompt_tokens if usage else 0,
            usage.completion_tokens if usage else 0,
        )
        with self._lock:
            self._failures = 0
        return _content(response)

    def _request(self, task: Task, messages: list[dict[str, str]]) -> dict[str, Any]:
        request: dict[str, Any] = {
            "model": self.endpoint.model,
            "messages": messages,
            "temperature": self.settings.temperature,
            "max_tokens": self.settings.max_output_tokens,
        }
        if self.structured:
            request["response_format"] = task.response_format()
        return request

    def _failed(self, exc: Exception, fatal: bool) -> None:
        reason = _describe(exc, self.endpoint)
        with self._lock:
            self.errors[reason] += 1
            self._failures += 1
            if fatal or self._failures >= self.settings.max_failures:
                self.down = self.down or f"model off for the rest of the run: {reason}"

    def _estimate(self, task: Task, turns: list[dict[str, str]]) -> int:
        """Tokens a request may use: its messages as counted, plus the longest answer."""
        system = {"content": task.system_for(False, self.newsletter)}
        return self._tokens([system, *turns]) + self.settings.max_output_tokens

    def _tokens(self, messages: list[dict[str, str]]) -> int:
        return sum(self.counter.count(m["content"]) + _MESSAGE_OVERHEAD for m in messages)

    def _article_message(self, article: Article) -> str | None:
        """The article block, its body trimmed (from the end) to the input budget; the
        headline and lead are never cut: None when they alone do not fit."""
        published = article.date.strftime("%Y-%m-%d") if article.date else ""
        paragraphs = [line.strip() for line in article.text.splitlines() if line.strip()]
        if paragraphs and paragraphs[0] == article.title.strip():
            paragraphs = paragraphs[1:]  # the headline is sent once, as the headline
        lead = paragraphs[0] if paragraphs else ""
        rest = "\n\n".join(paragraphs[1:])
        system = prompts.STORY.system_for(False, self.newsletter)
        frame = prompts.article_block(article.title, article.source, published, lead)
        room = (
            self.settings.max_input_tokens
            - self._tokens([{"content": system}, {"content": frame}])
            - _RETRY_ROOM
        )
        if room < 0:
            return None
        body = lead + ("\n\n" + fit(rest, room, self.counter.count) if rest and room else "")
        return prompts.article_block(article.title, article.source, published, body.strip())


def _parse(content: str, kind: type[A]) -> A | str:
    """The answer as `kind`, or what is wrong with it (for the retry)."""
    text = content.strip()
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        return "it was not a JSON object"
    try:
        data = json.loads(text[start : end + 1])
    except json.JSONDecodeError as exc:
        return f"it was not valid JSON ({exc.msg})"
    try:
        return kind.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the object"
        return f"{where}: {first['msg']}"


def _summary(answer: StoryAnswer, model: str) -> Summary:
    sentences = tuple(split_sentences(answer.summary)) or (answer.summary,)
    return Summary(
        answer.summary, model, sentences, why=answer.why_it_matters, tags=tuple(answer.tags)
    )


def _content(response: Any) -> str:
    try:
        return str(response.choices[0].message.content or "")
    except (AttributeError, IndexError, TypeError):
        return ""


def _rejects_schema(exc: openai.BadRequestError) -> bool:
    text = str(exc).lower()
    return "response_format" in text or "json_schema" in text


def _fatal(exc: Exception) -> bool:
    """Errors that the next request would meet too: a rejected key, an unknown model,
    a rate limit the SDK gave up waiting for (a daily quota, say)."""
    return isinstance(
        exc,
        openai.AuthenticationError
        | openai.PermissionDeniedError
        | openai.NotFoundError
        | openai.RateLimitError,
    )


def _describe(exc: Exception, endpoint: Endpoint) -> str:
    """A short reason for the report, never the key (a 401's body may echo part of it)."""
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        return (
            f"{endpoint.base_url} refused the key in {endpoint.key_env or 'the request'} "
            f"({exc.status_code}): check it, and for GitHub Models the workflow's "
            "`permissions: models: read`"
        )
    if isinstance(exc, openai.NotFoundError):
        return f"{endpoint.base_url} has no model {endpoint.model!r} (404)"
    if isinstance(exc, openai.RateLimitError):
        return f"rate limited by {endpoint.base_url} (429) after retries"
    if isinstance(exc, openai.APITimeoutError):
        return f"no answer from {endpoint.base_url} within the timeout"
    if isinstance(exc, openai.APIConnectionError):
        return f"cannot connect to {endpoint.base_url}"
    if isinstance(exc, openai.APIStatusError):
        return f"{endpoint.base_url} answered HTTP {exc.status_code}"
    return f"bad answer from {endpoint.base_url} ({type(exc).__name__})"
