"""Summaries and the editor's note written by a model, through the openai client.

One `Writer` per run. How the model is asked for JSON is `[llm] structured_output`:
a JSON schema in `response_format`, any-JSON mode, or the shape in the prompt alone.
With "auto" (the default) the first request carries the schema, alone and without SDK
retries; a server that rejects `response_format` (a 400, a 422, or a 500 whose message
names it, as llama.cpp's server answers) is asked again one step down, the run says so in
one line, and the stage remembers the answer for that server and model.

An answer is parsed leniently where that is safe (`parsing`), cleaned of links and
markup, and vetted sentence by sentence (`checks`, with the faithfulness guard): a bad
sentence is dropped when the rest stands, otherwise the answer gets one retry that says
what was wrong, then the caller falls back to the offline summary. The SDK retries 429s
(honouring Retry-After) and 5xx with backoff; a rate limit it gives up on, a rejected key,
or `max_failures` failures in a row turn the model off for the rest of the run. Nothing
here raises to the caller: every outcome is a value, and the key never appears in one.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, TypeVar

import openai
from pydantic import BaseModel

from digest.addresses import model_http_client
from digest.config import Llm, Newsletter
from digest.models import Article, Summary
from digest.summarize import checks, guard, prompts, support
from digest.summarize.budget import Budget
from digest.summarize.parsing import Unreadable, parse
from digest.summarize.prompts import Failed, Mode, NoteAnswer, NoteItem, StoryAnswer, Task
from digest.summarize.providers import Endpoint
from digest.summarize.tokens import TokenCounter, fit
from digest.text.sentences import split_sentences

__all__ = ["Failed", "Prepared", "Writer", "given"]

A = TypeVar("A", bound=BaseModel)
_MESSAGE_OVERHEAD = 8  # tokens per chat message beyond its text
_RETRY_ROOM = 500  # input tokens kept free for a retry's extra turn
_TAG = re.compile(r"[^a-z0-9&+ -]+")
_NAMES_RESPONSE_FORMAT = re.compile(
    r"response_format|response format|json_schema|json_object|structured output", re.IGNORECASE
)


@dataclass(frozen=True)
class Prepared:
    """A request ready to go, with the budget for its first call already taken."""

    task: Task
    data: str  # the user message: the article or the stories, as a data block
    source: str  # what the faithfulness guard checks the answer against
    ticket: int  # tokens reserved for the first call
    given: str = ""  # what the prompt gave besides the body: headline, outlet, date
    stories: tuple[support.Source, ...] = ()  # the note's: each picked story on its own


@dataclass(frozen=True)
class _Reply:
    content: str
    finish_reason: str


class _Stop(Exception):
    """No (more) requests for this item: budget spent or the model is off."""


class Writer:
    def __init__(
        self,
        settings: Llm,
        endpoint: Endpoint,
        newsletter: Newsletter,
        counter: TokenCounter,
        remembered: Mode | None = None,
    ) -> None:
        self.settings = settings
        self.endpoint = endpoint
        self.newsletter = newsletter
        self.counter = counter
        self.budget = Budget(settings.max_calls, settings.max_tokens)
        configured = settings.structured_output
        self.auto = configured == "auto"
        self.mode: Mode = (remembered or "json_schema") if configured == "auto" else configured
        self.learned = ""  # one line: the rejection "auto" met this run, and what it does now
        self.down = ""  # why the model is off for the rest of the run
        self.guard_trips = 0  # answers with a sentence rejected
        self.dropped = 0  # sentences dropped from answers that were used
        self.invalid = 0
        self.failed_calls = 0  # requests that got no answer (an error, a rejection)
        self.errors: Counter[str] = Counter()
        self._confirmed = not self.auto or remembered is not None or self.mode == "prompt"
        self._failures = 0
        self._lock = threading.Lock()
        self._probe = threading.Lock()  # the first request in "auto" goes alone
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
        return self._reserve(prompts.STORY, block, article.text, given(article))

    def prepare_note(self, items: list[NoteItem]) -> Prepared | Failed:
        own = f"{self.newsletter.title}\n{self.newsletter.editor}"
        source = "\n".join(
            [own] + [f"{i.title}\n{' '.join(i.outlets)}\n{i.summary}\n{i.why}" for i in items]
        )
        stories = tuple(
            support.Source.of(f"{i.title}\n{i.summary}\n{i.why}", f"{own}\n{' '.join(i.outlets)}")
            for i in items
        )
        return self._reserve(prompts.NOTE, prompts.stories_block(items), source, stories=stories)

    def story(self, prepared: Prepared | Failed) -> Summary | Failed:
        """A 2-3 sentence summary, why it matters and tags for one story's article."""
        if isinstance(prepared, Failed):
            return prepared
        answer = self._converse(prepared, StoryAnswer, self._story_check(prepared))
        return answer if isinstance(answer, Failed) else _summary(answer, self.endpoint.model)

    def note(self, prepared: Prepared | Failed) -> str | Failed:
        """The editor's note from the picks' summaries (Markdown, no links)."""
        if isinstance(prepared, Failed):
            return prepared
        answer = self._converse(prepared, NoteAnswer, self._note_check(prepared))
        return answer if isinstance(answer, Failed) else answer.note

    def _reserve(
        self,
        task: Task,
        data: str,
        source: str,
        given: str = "",
        stories: tuple[support.Source, ...] = (),
    ) -> Prepared | Failed:
        if self.down:
            return Failed(self.down)
        estimate = self._estimate(task, [{"role": "user", "content": data}])
        refused = self.budget.take(estimate)
        if refused:
            return Failed(refused)
        return Prepared(task, data, source, estimate, given, stories)

    # checks: the parsed answer, vetted, or why it cannot be used

    def _story_check(self, prepared: Prepared) -> Any:
        article = support.Source.of(prepared.source, prepared.given)
        everything = f"{prepared.given}\n{prepared.source}"

        def supported(sentence: str) -> str:
            return _names_and_numbers(sentence, everything) or support.claim(sentence, article)

        def check(answer: StoryAnswer) -> StoryAnswer | str:
            summary = guard.clean(answer.summary)
            words = len(summary.split())
            if not summary or words > prompts.SUMMARY_MAX_WORDS + 15:
                return f"the summary must be 2 or 3 sentences of plain text (it had {words} words)"
            vetted = checks.vet(split_sentences(summary), supported)
            if not self._stands(vetted):
                return f"the summary cannot be used: {vetted.reasons()}"
            why_vetted = checks.vet(split_sentences(guard.clean(answer.why_it_matters)), supported)
            why = why_vetted.text
            if why and checks.repeats(why, vetted.text):
                why = ""  # "why it matters" that only says the summary again
            with self._lock:
                self.dropped += len(why_vetted.rejected)
            raw_tags = (_TAG.sub("", tag.lower()).strip() for tag in answer.tags)
            tags = checks.tags_from([t for t in raw_tags if t], prepared.source)
            return StoryAnswer.model_construct(  # vetted: `why` and `tags` may now be empty
                summary=vetted.text, why_it_matters=why, tags=tags[:4]
            )

        return check

    def _note_check(self, prepared: Prepared) -> Any:
        def supported(sentence: str) -> str:
            return _names_and_numbers(sentence, prepared.source) or support.note_claim(
                sentence, prepared.stories
            )

        def check(answer: NoteAnswer) -> NoteAnswer | str:
            note = guard.clean(answer.note, keep_markdown=True)
            paragraphs = [
                checks.vet(split_sentences(p.replace("*", "")), supported)
                for p in note.split("\n\n")
            ]
            rejected = [r for v in paragraphs for r in v.rejected]
            kept = sum(len(v.kept) for v in paragraphs)
            if rejected and len(rejected) > kept:
                return f"the note cannot be used: {'; '.join(r.reason for r in rejected[:4])}"
            if rejected:
                note = "\n\n".join(v.text for v in paragraphs if v.kept)
            words = len(note.replace("*", " ").split())
            low, high = prompts.NOTE_MIN_WORDS, prompts.NOTE_MAX_WORDS
            if not low <= words <= high:
                return f"the note must be {low} to {high} words of prose (it had {words})"
            return NoteAnswer.model_construct(note=note)

        return check

    def _stands(self, vetted: checks.Vetted) -> bool:
        """Whether a summary with a rejected sentence may be used without it: one
        sentence may go if another stays; more, and the model gets another try."""
        if vetted.rejected:
            with self._lock:
                self.guard_trips += 1
        if not vetted.kept or len(vetted.rejected) > 1:
            return False
        with self._lock:
            self.dropped += len(vetted.rejected)
        return True

    # the conversation: one request, and one retry that says what was wrong

    def _converse(self, prepared: Prepared, kind: type[A], check: Any) -> A | Failed:
        turns: list[dict[str, str]] = [{"role": "user", "content": prepared.data}]
        problem = ""
        ticket: int | None = prepared.ticket
        for _ in range(2):
            try:
                reply = self._ask(prepared.task, turns, ticket)
                ticket = None
            except _Stop as stop:
                return Failed(str(stop))  # not the model's last word: not cached
            parsed = parse(
                reply.content, kind, reply.finish_reason, self.settings.max_output_tokens
            )
            checked = parsed.reason if isinstance(parsed, Unreadable) else check(parsed)
            if not isinstance(checked, str):
                return checked  # type: ignore[no-any-return]
            problem = checked
            if isinstance(parsed, Unreadable):
                with self._lock:
                    self.invalid += 1
            turns += [
                {"role": "assistant", "content": reply.content[:4000]},
                {"role": "user", "content": prompts.correction(problem)},
            ]
        return Failed(f"model answer rejected twice ({problem})", answered=True)

    def _ask(self, task: Task, turns: list[dict[str, str]], ticket: int | None) -> _Reply:
        """One request's answer; `_Stop` when no request may or can be made.

        `ticket` is the budget already reserved for this request, if any."""
        estimate = ticket if ticket is not None else self._estimate(task, turns)
        if self.down:
            if ticket is not None:
                self.budget.release(ticket)  # reserved, never made
            raise _Stop(self.down)
        if ticket is None:
            self._take(estimate)
        with self._gate():
            while True:
                mode = self.mode
                try:
                    response = self._create(task, turns, mode)
                    break
                except (openai.OpenAIError, ValueError) as exc:  # ValueError: not JSON
                    self.budget.settle(estimate, 0, 0)
                    with self._lock:
                        self.failed_calls += 1
                    if not self._step_down(mode, exc):
                        self._failed(exc, fatal=_fatal(exc) or _rejects(exc))
                        raise _Stop(_describe(exc, self.endpoint)) from None
                    estimate = self._estimate(task, turns)
                    self._take(estimate)
            self._confirmed = True
        usage = getattr(response, "usage", None)
        self.budget.settle(
            estimate,
            usage.prompt_tokens if usage else 0,
            usage.completion_tokens if usage else 0,
        )
        with self._lock:
            self._failures = 0
        return _Reply(_content(response), _finish_reason(response))

    def _take(self, estimate: int) -> None:
        refused = self.budget.take(estimate)
        if refused:
            raise _Stop(refused)

    @contextmanager
    def _gate(self) -> Iterator[None]:
        """Until a request with `response_format` has been answered, one at a time: a
        server that rejects it is then found out by one request, not by several."""
        with nullcontext() if self._confirmed else self._probe:
            yield

    def _create(self, task: Task, turns: list[dict[str, str]], mode: Mode) -> Any:
        """The completion; a first request in "auto" mode is sent without SDK retries,
        so a rejection of `response_format` costs one request, not 1 + retries."""
        request = self._request(task, turns, mode)
        if self._confirmed or mode == "prompt":
            return self._client.chat.completions.create(**request)
        try:
            return self._client.with_options(max_retries=0).chat.completions.create(**request)
        except openai.APIStatusError as exc:
            wait = _retry_after(exc)
            if _rejects(exc) or wait is None or not self.settings.retries:
                raise
            time.sleep(wait)  # then on as the SDK would have gone on
        except openai.APIConnectionError:
            if not self.settings.retries:
                raise
        retries = self.settings.retries - 1
        return self._client.with_options(max_retries=retries).chat.completions.create(**request)

    def _step_down(self, mode: Mode, exc: Exception) -> bool:
        """In "auto": after a rejection of `response_format`, the next way to ask
        (json_schema -> json_object when the server names it, else -> prompt)."""
        if not (self.auto and mode != "prompt" and _rejects(exc)):
            return False
        message = _message(exc)
        lower: Mode = (
            "json_object" if mode == "json_schema" and "json_object" in message else "prompt"
        )
        with self._lock:
            if self.mode == mode:
                self.mode = lower
                status = getattr(exc, "status_code", "?")
                self.learned = (
                    f"{self.endpoint.base_url} rejected response_format {mode} "
                    f"(HTTP {status}: {message[:120]}); asking with {lower} from now on, "
                    f"remembered for {self.endpoint.model} at this server "
                    f'(set [llm] structured_output = "{lower}" to skip the check)'
                )
        return True

    def _request(self, task: Task, turns: list[dict[str, str]], mode: Mode) -> dict[str, Any]:
        system = {"role": "system", "content": task.system_for(mode, self.newsletter)}
        request: dict[str, Any] = {
            "model": self.endpoint.model,
            "messages": [system, *turns],
            "temperature": self.settings.temperature,
            "max_tokens": self.settings.max_output_tokens,
        }
        response_format = task.response_format(mode)
        if response_format is not None:
            request["response_format"] = response_format
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
        system = {"content": task.system_for("prompt", self.newsletter)}
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
        system = prompts.STORY.system_for("prompt", self.newsletter)
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


def _names_and_numbers(sentence: str, source: str) -> str:
    """The guard's reason when a number or name of `sentence` is nowhere in `source`."""
    missing = guard.unsupported(sentence, source)
    shown = ", ".join(repr(m) for m in missing[:6])
    return f"numbers or names not in the source: {shown}" if missing else ""


def _finish_reason(response: Any) -> str:
    try:
        return str(response.choices[0].finish_reason or "")
    except (AttributeError, IndexError, TypeError):
        return ""


def given(article: Article) -> str:
    """What the prompt itself gives the model besides the body: the headline, the outlet
    and the date (ISO, and spelled out: "Thursday 12 November 2026")."""
    parts = [article.title, article.source]
    if article.date:
        parts += [article.date.strftime("%Y-%m-%d"), article.date.strftime("%A %-d %B %Y")]
    return "\n".join(p for p in parts if p)


def _message(exc: Exception) -> str:
    """The server's own words for an error, on one line."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        text = inner.get("message", "") if isinstance(inner, dict) else str(inner)
        text = str(text or body)
    else:
        text = str(getattr(exc, "message", "") or exc)
    return " ".join(text.split())


def _rejects(exc: Exception) -> bool:
    """Whether an error is the server refusing `response_format`, whatever its status
    (400, 422, or the 500 that llama.cpp's server answers)."""
    if not isinstance(exc, openai.APIStatusError) or exc.status_code in (401, 403, 404, 429):
        return False
    return bool(_NAMES_RESPONSE_FORMAT.search(_message(exc)))


def _retry_after(exc: openai.APIStatusError) -> float | None:
    """How long the SDK would have waited before retrying `exc`; None: it would not have
    (not a retryable status, or a Retry-After beyond a minute: a quota, not a blip)."""
    if not (exc.status_code in (408, 409, 429) or exc.status_code >= 500):
        return None
    if exc.response.headers.get("x-should-retry") == "false":
        return None
    headers = exc.response.headers
    try:
        if "retry-after-ms" in headers:
            seconds = float(headers["retry-after-ms"]) / 1000
        else:
            seconds = float(headers.get("retry-after", "0.5"))
    except ValueError:
        seconds = 0.5
    return None if seconds > 60 else max(seconds, 0.0) or 0.5


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
    if isinstance(exc, openai.APIStatusError) and _rejects(exc):
        return (
            f"{endpoint.base_url} rejected response_format (HTTP {exc.status_code}: "
            f'{_message(exc)[:120]}); set [llm] structured_output = "auto"'
        )
    if isinstance(exc, openai.APIStatusError):
        said = _message(exc)[:120]
        return f"{endpoint.base_url} answered HTTP {exc.status_code}" + (
            f": {said}" if said else ""
        )
    return f"bad answer from {endpoint.base_url} ({type(exc).__name__})"
