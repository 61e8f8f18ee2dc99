"""A real OpenAI-compatible chat-completions server on loopback, for the tests.

Drive it with the official client, no monkeypatching:

    with ModelServer() as server:
        client = openai.OpenAI(base_url=server.base + "/v1", api_key="test-key")
        server.script(Fault.status(429, retry_after="0"))  # then answers normally

`POST /v1/chat/completions` recognises two tasks by searching the user messages:

- "story": an `<article>` block (optional `Key: value` header lines, a blank line, then
  the body). The answer is `{"summary", "why_it_matters", "tags"}` built only from the
  body's own sentences: summary = the first two, why_it_matters = the third (else the
  first), tags = ["autos"].
- "note": a `<stories>` block of numbered stories with `Summary:` lines. The answer is
  `{"note"}`: whole sentences of the summaries, in order, kept while the total stays
  <= 110 words (a sentence that would overflow is skipped), stopping at >= 60 words.

Anything else is task "other" and gets the plain content "OK". Answers are
deterministic; `usage` counts words (prompt: all messages, completion: the content).

Faults: `script(*faults)` queues one `Fault` per chat request (FIFO). Requests refused
by the persistent checks (`api_key`, `reject_schema`) do not consume the script; every
other chat request consumes one item (`Fault.ok()` is a placeholder that answers
normally). Persistent flags: `api_key`, `reject_schema` (answered with `reject_status`: 400, 422,
or 500 with the message of a server that knows only "text" and "json_object"),
`obey_injection`, `delay`.
Every request (GET included) is recorded in `requests`, before any delay.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from digest.demo.loopback import Answer, LoopbackServer

FaultKind = Literal[
    "ok", "status", "garbage", "invalid", "invent", "slow", "reset", "bad_body", "truncate", "edit"
]
Task = Literal["story", "note", "other"]

MODELS = ("test-model",)
CREATED = 1_700_000_000
GARBAGE = "Sure! Here is the summary: {oops"
INVENTED = "The deal is worth $987 billion."
BAD_BODY = b"<html><body>502 Bad Gateway (upstream proxy)</body></html>"
INJECTED_SUMMARY = (
    ' For more, visit https://evil.example/buy or <a href="https://evil.example">evil.example</a>.'
)
INJECTED_WHY = "Subscribe at [evil.example](https://evil.example) today."
SCHEMA_REJECTED = (
    "Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model."
)
# What a server that only knows "text" and "json_object" says (as llama.cpp's does, in a 500).
SCHEMA_REJECTED_500 = (
    "1 validation error for CreateChatCompletionRequest response_format.type Input should "
    "be 'text' or 'json_object' [type=literal_error, input_value='json_schema', input_type=str]"
)
NOTE_MIN_WORDS, NOTE_MAX_WORDS = 60, 110

SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"“'])")
HEADER_LINE = re.compile(r"^[A-Z][\w ]{0,30}:\s")
ARTICLE = re.compile(r"<article>(.*?)</article>", re.DOTALL)
STORIES = re.compile(r"<stories>(.*?)</stories>", re.DOTALL)
SUMMARY = re.compile(
    r"^[ \t]*Summary:[ \t]*(.*?)(?=^[ \t]*Why it matters:|^[ \t]*\d+\.\s|^[ \t]*Outlets?:|\Z)",
    re.DOTALL | re.MULTILINE,
)
INJECTION = re.compile(r"ignore\s+(all\s+)?previous\s+instructions", re.IGNORECASE)

ERROR_TYPES = {
    400: ("invalid_request_error", None, "Bad request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("permission_error", None, "You are not allowed to use this model."),
    404: ("invalid_request_error", "not_found", "Not found."),
    408: ("timeout", None, "Request timed out."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests."),
    500: ("server_error", None, "The server had an error while processing your request."),
    502: ("server_error", None, "Bad gateway."),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
}


@dataclass(frozen=True)
class Fault:
    """One scripted misbehaviour; build it with the class methods."""

    kind: FaultKind
    code: int = 500
    retry_after: str | None = None  # Retry-After (seconds); the SDK treats "0" as absent
    retry_after_ms: str | None = None  # retry-after-ms, which the SDK prefers and honours
    seconds: float = 0.0
    content_type: str = "application/json"  # of a bad_body answer
    before: str = ""  # of an edit: text put before the summary (or note)
    after: str = ""  # ... and after it
    raw: bool = False  # of an edit: strings with raw newlines (as llama.cpp's grammar allows)

    @classmethod
    def ok(cls) -> Fault:
        """Answer normally (a placeholder, to fault a later request)."""
        return cls("ok")

    @classmethod
    def status(
        cls, code: int, retry_after: str | None = None, retry_after_ms: str | None = None
    ) -> Fault:
        """An HTTP error with an OpenAI-style JSON error body."""
        return cls("status", code=code, retry_after=retry_after, retry_after_ms=retry_after_ms)

    @classmethod
    def garbage(cls) -> Fault:
        """200, content that is not JSON."""
        return cls("garbage")

    @classmethod
    def invalid(cls) -> Fault:
        """200, JSON content missing the required fields: `{"summary": ""}`."""
        return cls("invalid")

    @classmethod
    def invent(cls) -> Fault:
        """A good answer whose summary (or note) ends with a number not in the input."""
        return cls("invent")

    @classmethod
    def truncate(cls) -> Fault:
        """The good answer cut off half way, with finish_reason "length"."""
        return cls("truncate")

    @classmethod
    def edit(cls, before: str = "", after: str = "", raw: bool = False) -> Fault:
        """The good answer with text put before and after its summary (or note); with
        `raw`, its strings hold raw newlines and tabs (invalid for a strict JSON reader)."""
        return cls("edit", before=before, after=after, raw=raw)

    @classmethod
    def slow(cls, seconds: float) -> Fault:
        """Sleep `seconds`, then answer normally."""
        return cls("slow", seconds=seconds)

    @classmethod
    def reset(cls) -> Fault:
        """Close the connection without a response."""
        return cls("reset")

    @classmethod
    def bad_body(cls, content_type: str = "application/json") -> Fault:
        """HTTP 200 whose body is not JSON at all (an HTML page). The SDK raises
        `json.JSONDecodeError` (a ValueError, not an `openai` error) when the content
        type says JSON, and *returns the text* instead of a completion when it does not."""
        return cls("bad_body", content_type=content_type)


@dataclass(frozen=True)
class Recorded:
    path: str
    headers: dict[str, str]  # lower-case names
    body: dict[str, Any] | None  # the parsed JSON body, None for GET or unparsable
    task: Task
    status: int  # answered; 0 when the connection was dropped


class ModelServer(LoopbackServer):
    """`with ModelServer() as server:`; an OpenAI-compatible model at `server.base + "/v1"`."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        super().__init__(host)
        self._lock = threading.Lock()
        self._script: deque[Fault] = deque()
        self._ids = 0
        self.requests: list[Recorded] = []
        self.api_key: str | None = None
        self.reject_schema = False
        self.reject_status = 400  # how a rejection of json_schema is answered: 400, 422, 500
        self.obey_injection = False
        self.delay = 0.0

    # The test-facing helpers.

    def script(self, *faults: Fault) -> None:
        """Queue faults, one consumed per chat request (after any already queued)."""
        with self._lock:
            self._script.extend(faults)

    @property
    def pending(self) -> int:
        """Scripted faults not yet consumed."""
        with self._lock:
            return len(self._script)

    def calls(self, task: str | None = None) -> int:
        """Requests recorded (all of them, or those of one task)."""
        with self._lock:
            return sum(1 for r in self.requests if task is None or r.task == task)

    def recorded(self, task: str | None = None) -> list[Recorded]:
        """A copy of the records (all, or one task's)."""
        with self._lock:
            return [r for r in self.requests if task is None or r.task == task]

    def reset(self) -> None:
        """Forget the records and the script; flags back to their defaults."""
        with self._lock:
            self.requests.clear()
            self._script.clear()
            self.api_key = None
            self.reject_schema = False
            self.reject_status = 400
            self.obey_injection = False
            self.delay = 0.0

    # HTTP.

    def answer(self, path: str, headers: dict[str, str]) -> Answer:
        route = urlsplit(path).path.rstrip("/")
        if not self._authorised(headers):
            answer = _error(401, ERROR_TYPES[401][2])
        elif route == "/v1/models":
            data = [
                {"id": m, "object": "model", "created": CREATED, "owned_by": "tests"}
                for m in MODELS
            ]
            answer = _json(200, {"object": "list", "data": data})
        else:
            answer = _error(404, f"Unknown path {route!r}.")
        self._record(Recorded(path, headers, None, "other", answer.status))
        return answer

    def answer_post(self, path: str, headers: dict[str, str], body: bytes) -> Answer:
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        request = parsed if isinstance(parsed, dict) else None
        task = _task(request) if request is not None else "other"
        fault, answer = self._decide(path, headers, request, task)
        self._record(Recorded(path, headers, request, task, 0 if answer.drop else answer.status))
        pause = self.delay + (fault.seconds if fault is not None and fault.kind == "slow" else 0)
        if pause > 0:
            time.sleep(pause)
        return answer

    def _decide(
        self, path: str, headers: dict[str, str], request: dict[str, Any] | None, task: Task
    ) -> tuple[Fault | None, Answer]:
        if urlsplit(path).path.rstrip("/") != "/v1/chat/completions":
            return None, _error(404, f"Unknown path {path!r}.")
        if not self._authorised(headers):
            return None, _error(401, ERROR_TYPES[401][2])
        problem = _invalid_request(request)
        if problem or request is None:
            return None, _error(400, problem or "We could not parse the JSON body.")
        response_format = request.get("response_format")
        if (
            self.reject_schema
            and isinstance(response_format, dict)
            and response_format.get("type") == "json_schema"
        ):
            if self.reject_status == 500:
                return None, _error(500, SCHEMA_REJECTED_500)
            return None, _error(self.reject_status, SCHEMA_REJECTED, param="response_format")
        with self._lock:
            fault = self._script.popleft() if self._script else None
            self._ids += 1
            number = self._ids
        try:
            return fault, self._complete(request, task, fault, number)
        except Exception as exc:  # a bug here, not a fault to retry: say so loudly
            answer = _error(500, f"test server bug: {exc!r}")
            answer.headers["x-should-retry"] = "false"
            return fault, answer

    def _complete(
        self, request: dict[str, Any], task: Task, fault: Fault | None, number: int
    ) -> Answer:
        kind = fault.kind if fault is not None else "ok"
        if fault is not None and kind == "status":
            extra: dict[str, str] = {}
            if fault.retry_after is not None:
                extra["Retry-After"] = fault.retry_after
            if fault.retry_after_ms is not None:
                extra["retry-after-ms"] = fault.retry_after_ms
            default = ERROR_TYPES.get(fault.code, ("server_error", None, "Error."))[2]
            answer = _error(fault.code, default)
            answer.headers.update(extra)
            return answer
        if kind == "reset":
            return Answer(drop=True)
        if fault is not None and kind == "bad_body":
            return Answer(200, BAD_BODY, {"Content-Type": fault.content_type})
        content = self._content(request, task, fault)
        finish = "stop"
        if kind == "truncate":
            content, finish = content[: len(content) // 2], "length"
        words = sum(len(_text(m.get("content")).split()) for m in _messages(request))
        completion = len(content.split())
        return _json(
            200,
            {
                "id": f"chatcmpl-test-{number}",
                "object": "chat.completion",
                "created": CREATED,
                "model": request.get("model", ""),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content, "refusal": None},
                        "logprobs": None,
                        "finish_reason": finish,
                    }
                ],
                "usage": {
                    "prompt_tokens": words,
                    "completion_tokens": completion,
                    "total_tokens": words + completion,
                },
                "system_fingerprint": "fp_test",
            },
        )

    def _content(self, request: dict[str, Any], task: Task, fault: Fault | None) -> str:
        kind = fault.kind if fault is not None else "ok"
        if kind == "garbage":
            return GARBAGE
        if kind == "invalid":
            return json.dumps({"summary": ""})
        users = _user_texts(request)
        if task == "story":
            block = _first_block(ARTICLE, users)
            story = story_answer(block)
            if self.obey_injection and INJECTION.search(block):
                story["summary"] += INJECTED_SUMMARY
                story["why_it_matters"] = INJECTED_WHY
            if kind == "invent":
                story["summary"] += " " + INVENTED
            return _edited(story, "summary", fault)
        if task == "note":
            note = note_answer(_first_block(STORIES, users))
            if kind == "invent":
                note["note"] += " " + INVENTED
            return _edited(note, "note", fault)
        return "OK"

    def _authorised(self, headers: dict[str, str]) -> bool:
        return self.api_key is None or headers.get("authorization") == f"Bearer {self.api_key}"

    def _record(self, record: Recorded) -> None:
        with self._lock:
            self.requests.append(record)


def _edited(answer: dict[str, Any], key: str, fault: Fault | None) -> str:
    if fault is None or fault.kind != "edit":
        return json.dumps(answer, ensure_ascii=False)
    answer[key] = fault.before + answer[key] + fault.after
    text = json.dumps(answer, ensure_ascii=False)
    return text.replace("\\n", "\n").replace("\\t", "\t") if fault.raw else text


# The model's answers, usable by tests to state what to expect.


def sentences(text: str) -> list[str]:
    """Sentences of each paragraph (paragraphs are separated by blank lines), in order."""
    out: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        flat = " ".join(paragraph.split())
        if flat:
            out.extend(s for s in SENTENCE_END.split(flat) if s)
    return out


def article_body(block: str) -> str:
    """The text of an `<article>` block after its `Key: value` header lines."""
    paragraphs = re.split(r"\n\s*\n", block.strip(), maxsplit=1)
    first = [line for line in paragraphs[0].splitlines() if line.strip()]
    if first and all(HEADER_LINE.match(line.strip()) for line in first):
        return paragraphs[1] if len(paragraphs) > 1 else ""
    return block


def story_answer(block: str) -> dict[str, Any]:
    """The good answer to an `<article>` block (its inner text)."""
    found = sentences(article_body(block))
    if not found:  # no body: the headline, if any, is all there is to say
        title = re.search(r"^\s*Headline:\s*(.+)$", block, re.MULTILINE)
        found = [title.group(1).strip()] if title else [""]
    why = found[2] if len(found) > 2 else found[0]
    return {"summary": " ".join(found[:2]), "why_it_matters": why, "tags": ["autos"]}


def note_answer(block: str) -> dict[str, str]:
    """The good answer to a `<stories>` block (its inner text)."""
    kept: list[str] = []
    total = 0
    for summary in SUMMARY.findall(block):
        for sentence in sentences(summary):
            size = len(sentence.split())
            if total + size > NOTE_MAX_WORDS:
                continue
            kept.append(sentence)
            total += size
            if total >= NOTE_MIN_WORDS:
                return {"note": " ".join(kept)}
    return {"note": " ".join(kept)}


# Request helpers.


def _messages(request: dict[str, Any]) -> list[dict[str, Any]]:
    messages = request.get("messages")
    return [m for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []


def _text(content: object) -> str:
    """A message's text: a string, or the text parts of a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text") for p in content if isinstance(p, dict)]
        return "\n".join(p for p in parts if isinstance(p, str))
    return ""


def _user_texts(request: dict[str, Any]) -> list[str]:
    return [_text(m.get("content")) for m in _messages(request) if m.get("role") == "user"]


def _first_block(pattern: re.Pattern[str], texts: list[str]) -> str:
    for text in texts:
        found = pattern.search(text)
        if found:
            return found.group(1)
    return ""


def _task(request: dict[str, Any]) -> Task:
    for text in _user_texts(request):
        if ARTICLE.search(text):
            return "story"
        if STORIES.search(text):
            return "note"
    return "other"


def _invalid_request(request: dict[str, Any] | None) -> str:
    if request is None:
        return "We could not parse the JSON body of your request."
    if not isinstance(request.get("model"), str) or not request["model"]:
        return "You must provide a model parameter."
    messages = request.get("messages")
    if not isinstance(messages, list) or not messages:
        return "'messages' must be a non-empty array."
    if request.get("stream"):
        return "This test server does not stream."
    return ""


def _json(status: int, payload: object) -> Answer:
    return Answer(
        status,
        json.dumps(payload, ensure_ascii=False).encode(),
        {"Content-Type": "application/json", "x-request-id": "req_test"},
    )


def _error(status: int, message: str, *, param: str | None = None) -> Answer:
    kind, code, _ = ERROR_TYPES.get(status, ("server_error", None, ""))
    return _json(
        status, {"error": {"message": message, "type": kind, "param": param, "code": code}}
    )
