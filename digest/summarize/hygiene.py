"""Hygiene: model output made safe to show as plain text (or as limited Markdown).

An article is data, and a model can be talked by it into adding links or markup. `clean`
returns plain text (or, with ``keep_markdown``, Markdown limited to emphasis and
paragraphs): HTML tags go (``<script>``, ``<style>``, ``<iframe>``, ``<template>`` and
``<noscript>`` with their contents), entities are unescaped, Markdown links and images are
reduced to their text (images to nothing), and any sentence that held a URL, an e-mail
address, a bare domain ("evil.example", "Amazon.com"; not "3.5", "U.S.", "e.g.", "ID.4") or
a link or image that pointed at one is dropped whole: the model was told not to add links,
so such a sentence is what an injected instruction asked for. The result may be empty.

HTML is read by the text layer (`digest.text.html_to_text`, lxml), never by patterns.
"""

from __future__ import annotations

import re
import unicodedata

from lxml.html import HtmlElement

from digest.text.markup import BREAKS, HIDDEN, html_to_text
from digest.text.sentences import split_sentences

__all__ = ["clean"]

_MARK = "\ue000"  # a private-use character: "this sentence held a link"
_CONTROLS = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064"
    "\u2066-\u2069\ufeff\ue001-\uf8ff]"
)
_TAG_OPENER = re.compile(r"<(?=[A-Za-z/!?])")
_HIDDEN = HIDDEN | {"iframe"}
_BREAKS = dict.fromkeys(BREAKS, "\n\n") | {"br": "\n", "li": "\n", "tr": "\n", "td": " ", "th": " "}
_URL = r"\b(?:https?|ftp)://|\bwww\.|\bmailto:|\bjavascript:|(?<![\w:])//[\w-]+\."
_EMAIL = r"(?<![\w.+-])[\w.+-]++@[\w-]++(?:\.[\w-]++)+"
_DOMAIN = (
    r"(?<![\w@.-])(?:[A-Za-z0-9][A-Za-z0-9-]*+\.(?=[A-Za-z0-9]))++(?:[a-z]{2,63}+|[A-Z]{2,63}+)"
    r"(?![\w-]|\.[A-Za-z0-9])"
)
# A top-level domain is all lowercase or all capitals: "Mr.Smith" is a typo, not a host.
_ADDRESS = re.compile(rf"(?i:{_URL})|{_EMAIL}|{_DOMAIN}")
_IMAGE = re.compile(r"!\[[^\[\]\n]*+\](?:\([^()\n]*+\)|\[[^\[\]\n]*+\])")
_LINK = re.compile(r"\[([^\[\]\n]*+)\](?:\(([^()\n]*+)\)|\[([^\[\]\n]*+)\])")
_LINK_DEFINITION = re.compile(r"^[ \t]*\[[^\]\n]++\]:[^\n]*", re.MULTILINE)
_LINE_RULES = [
    (re.compile(r"^[ \t]*(?:```|~~~)[^\n]*\n?", re.MULTILINE), ""),  # code fences
    (re.compile(r"^(?=[^\n]*-)[ \t|:-]+$\n?", re.MULTILINE), ""),  # table rules, ---, setext
    (re.compile(r"^[ \t]*+(?:=++|(?:[*_][ \t]*+){3,}+)$", re.MULTILINE), ""),  # ===, ***
    (re.compile(r"^[ \t]*(?:>[ \t]?)+", re.MULTILINE), ""),  # block quotes
    (re.compile(r"^[ \t]*(?:[-*+\u2022]|\d{1,3}[.)])[ \t]+", re.MULTILINE), ""),  # list items
    (re.compile(r"\|"), " "),  # table cells
    (re.compile(r"`|~~"), ""),  # code, strike-through
]
_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+([^\n]*)", re.MULTILINE)
_EMPHASIS = [  # "5*3" and "a * b" keep their asterisk
    (re.compile(r"(?<![\w*])(\*{1,3})(?=[^\s*])([^*\n]++)(?<=\S)\1(?![\w*])"), r"\2"),
    (re.compile(r"(?<=[^\W\d_])\*++|\*++(?=[^\W\d_])"), ""),
    (re.compile(r"(?<!\w)__([^_\n]++)__(?!\w)"), r"\1"),
    (re.compile(r"(?<!\w)_([^_\n]++)_(?!\w)"), r"\1"),
]
_PARAGRAPHS = re.compile(r"\n[ \t]*+(?:\n[ \t]*+)++")
_SPACES = re.compile(r"[^\S\n]++")
# Before a link or an address right after a sentence's end, a sentence starts, whatever
# its case (the sentence splitter wants a capital).
_STARTS_WITH_ADDRESS = re.compile(rf"(?<=[.!?])\s++(?={_MARK}|(?i:https?://|ftp://|www\.))")


def clean(text: str, keep_markdown: bool = False) -> str:
    """Model output made safe as plain text: no HTML, no links, no sentence that carries a
    URL, e-mail address or domain, no control characters, whitespace made single.

    With `keep_markdown` (for Markdown rendered later) *emphasis*, **strong** and paragraph
    breaks (one blank line) stay; headings, list markers, code, quotes, tables and links are
    still reduced to text. Without it, everything is one line of words. May return "".
    """
    text = unicodedata.normalize("NFKC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _strip_links(_strip_html(_CONTROLS.sub("", text.replace("\t", " "))))
    text = _HEADING.sub(_heading, text)
    for pattern, replacement in _LINE_RULES:
        text = pattern.sub(replacement, text)
    if not keep_markdown:
        for pattern, replacement in _EMPHASIS:
            text = pattern.sub(replacement, text)
    paragraphs = [_keep_sentences(p) for p in _PARAGRAPHS.split(text)]
    return ("\n\n" if keep_markdown else " ").join(p for p in paragraphs if p)


def _heading(match: re.Match[str]) -> str:
    """A Markdown heading as a paragraph of its own, without its closing hashes."""
    title = match.group(1).rstrip()
    bare = title.rstrip("#")
    if bare != title and (not bare or bare[-1] in " \t"):
        title = bare.rstrip()
    return f"\n\n{title}\n\n"


def _strip_html(text: str) -> str:
    """HTML read as text (digest.text.html_to_text): hidden elements out with their
    contents, entities unescaped, an element that links anywhere marked; then read again
    (an escaped "&lt;b&gt;" must not come back as markup), and any tag opener left out."""
    text = _CONTROLS.sub("", _read_html(text))
    return _TAG_OPENER.sub("", _read_html(text))


def _read_html(text: str) -> str:
    return html_to_text(text, hidden=_HIDDEN, breaks=_BREAKS, around=True, mark=_link_mark)


def _link_mark(element: HtmlElement) -> str:
    """The mark for an element that points anywhere: an address in its attributes, or a
    name that is one (lxml reads "<https://x.example>" as an element "https:")."""
    name = str(element.tag)
    attributes = " ".join(f"{key}={value}" for key, value in element.attrib.items())
    return _MARK if ":" in name or _has_address(f"{name} {attributes}") else ""


def _strip_links(text: str) -> str:
    text = _LINK_DEFINITION.sub("", text)
    text = _IMAGE.sub(lambda m: _MARK if _has_address(m.group()) else "", text)
    return _LINK.sub(_link_text, text)


def _link_text(match: re.Match[str]) -> str:
    """A link's text, marked when the link pointed at an address."""
    target = match.group(2) or match.group(3) or ""
    return match.group(1) + (_MARK if _has_address(target) else "")


def _has_address(text: str) -> bool:
    """Whether `text` holds a URL, an e-mail address or a domain name."""
    return _ADDRESS.search(text) is not None


def _keep_sentences(paragraph: str) -> str:
    """The paragraph's sentences without those that hold a link or an address."""
    # Single spaces first: the splitter is slow on long runs of spaces without a newline.
    paragraph = _STARTS_WITH_ADDRESS.sub("\n", _SPACES.sub(" ", paragraph))
    kept = [s for s in split_sentences(paragraph) if _MARK not in s and not _has_address(s)]
    return " ".join(" ".join(kept).split())
