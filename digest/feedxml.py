"""RSS and Atom bodies read by feedparser: the one module that calls it for feeds.

`parse` gives what `feedparser.parse(body, response_headers=...)` gives, field for field,
at less CPU (`bench/feed_parse.py` compares the two on every feed file): feedparser's
own steps and parser classes, with expat handing feedparser each text run whole
(`buffer_text`), not cut at every line end and entity (a feed of escaped HTML made a
handler call every few characters).

When feedparser's internals have moved (an upgrade), `parse` is `feedparser.parse` itself.
"""

from __future__ import annotations

import io
import xml.sax
import xml.sax.expatreader
import xml.sax.handler
import xml.sax.xmlreader
from collections.abc import Mapping
from typing import Any

import feedparser


def parse(body: bytes, headers: Mapping[str, str], options: Mapping[str, bool]) -> Any:
    """The feed in `body` as `feedparser.parse` reads it (`options`: its `sanitize_html`
    and `resolve_relative_uris`; feedparser's defaults for those left out)."""
    if _FAST is None:  # a stream: given bytes, feedparser first tries them as a file name
        return feedparser.parse(io.BytesIO(body), response_headers=dict(headers), **options)
    return _FAST.parse(body, headers, options)


class _Fast:
    """`feedparser.api.parse` for a body in memory, on the parser classes given."""

    def __init__(self, api: Any, strict: type, loose: type) -> None:
        self.api, self.strict, self.loose = api, strict, loose

    def parse(self, body: bytes, headers: Mapping[str, str], options: Mapping[str, bool]) -> Any:
        api = self.api
        result = api.FeedParserDict(bozo=False, entries=[], feed=api.FeedParserDict(), headers={})
        if not body:
            return result
        result["headers"].update(headers)
        data = api.convert_to_utf8(result["headers"], body, result)
        strict = bool(result["encoding"])
        result["version"], data, entities = api.replace_doctype(data)
        location = result["headers"].get("content-location", "")
        base = api.make_safe_absolute_uri("", location) or api.make_safe_absolute_uri(location)
        language = result["headers"].get("content-language", None)
        handler: Any = None
        if strict:
            handler = self._handler(self.strict((base or ""), language, "utf-8"), options)
            try:
                _reader(handler).parse(_source(data))
            except xml.sax.SAXException as exc:
                result["bozo"] = 1
                result["bozo_exception"] = handler.exc or exc
                strict = False
        if not strict:
            handler = self._handler(self.loose(base or "", language, "utf-8", entities), options)
            handler.feed(data.decode("utf-8", "replace"))
        result["feed"] = handler.feeddata
        result["entries"] = handler.entries
        result["version"] = result["version"] or handler.version
        result["namespaces"] = handler.namespaces_in_use
        return result

    @staticmethod
    def _handler(handler: Any, options: Mapping[str, bool]) -> Any:
        handler.resolve_relative_uris = options.get(
            "resolve_relative_uris", feedparser.RESOLVE_RELATIVE_URIS
        )
        handler.sanitize_html = options.get("sanitize_html", feedparser.SANITIZE_HTML)
        return handler


class _Reader(xml.sax.expatreader.ExpatParser):
    """Python's expat SAX reader, its text runs delivered whole."""

    def reset(self) -> None:
        super().reset()
        self._parser.buffer_text = True  # type: ignore[attr-defined]
        self._parser.buffer_size = 1 << 16  # type: ignore[attr-defined]


def _reader(handler: Any) -> _Reader:
    reader = _Reader()
    reader.setFeature(xml.sax.handler.feature_namespaces, 1)
    reader.setFeature(xml.sax.handler.feature_external_ges, 0)
    reader.setContentHandler(handler)
    reader.setErrorHandler(handler)
    return reader


def _source(data: bytes) -> xml.sax.xmlreader.InputSource:
    source = xml.sax.xmlreader.InputSource()
    source.setByteStream(io.BytesIO(data))
    return source


def _fast() -> _Fast | None:
    try:
        from feedparser import api

        for name in (
            "FeedParserDict",
            "convert_to_utf8",
            "replace_doctype",
            "make_safe_absolute_uri",
        ):
            getattr(api, name)  # each there, or the plain path
    except (ImportError, AttributeError):
        return None
    return _Fast(api, api.StrictFeedParser, api.LooseFeedParser)


_FAST = _fast()
