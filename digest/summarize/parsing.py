"""A model's answer text read as the JSON object asked for, leniently where it is safe.

Small local models write JSON that `json.loads` refuses for reasons that change nothing
about its meaning: a raw newline or tab inside a string (llama.cpp's JSON grammar lets
them through), a code fence around the object, prose before or after it, a key nobody
asked for, tags as one comma-separated string. Those are read. What is not guessed at:
a missing field, a wrong type otherwise, or an object cut off by the output limit, which
is reported as truncated with the reason the server gave.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

__all__ = ["Unreadable", "parse"]

A = TypeVar("A", bound=BaseModel)

_DECODER = json.JSONDecoder(strict=False)  # strict=False: control characters in strings


@dataclass(frozen=True)
class Unreadable:
    """Why an answer could not be read; `truncated` when the output limit cut it."""

    reason: str
    truncated: bool = False


def parse(content: str, kind: type[A], finish_reason: str = "", limit: int = 0) -> A | Unreadable:
    """The answer as `kind`, or why not (for the retry and the report)."""
    read = _read(content, kind)
    if isinstance(read, Unreadable) and finish_reason == "length":
        where = f" of {limit} tokens" if limit else ""
        return Unreadable(
            f"the answer was cut off at the output limit{where} (finish_reason length) "
            f"and {read.reason}",
            truncated=True,
        )
    return read


def _read(content: str, kind: type[A]) -> A | Unreadable:
    data = _object(content)
    if isinstance(data, Unreadable):
        return data
    fields = kind.model_fields
    data = {key: value for key, value in data.items() if key in fields}  # unasked keys
    for key, value in list(data.items()):
        if isinstance(value, str) and _is_list(fields[key].annotation):
            data[key] = [part.strip() for part in value.split(",") if part.strip()]
    try:
        return kind.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the object"
        return Unreadable(f"{where}: {first['msg']}")


def _object(content: str) -> dict[str, Any] | Unreadable:
    text = content.strip()
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    start = text.find("{")
    if start < 0:
        return Unreadable("it was not a JSON object")
    try:
        data, _ = _DECODER.raw_decode(text, start)
    except json.JSONDecodeError as exc:
        return Unreadable(f"it was not valid JSON ({exc.msg})")
    if not isinstance(data, dict):
        return Unreadable("it was not a JSON object")
    return data


def _is_list(annotation: Any) -> bool:
    return getattr(annotation, "__origin__", None) is list
