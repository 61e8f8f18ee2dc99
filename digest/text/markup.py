"""Small text helpers shared by the stages: HTML fragments to plain text, whitespace."""

from __future__ import annotations

import re

from lxml import etree
from lxml import html as lxml_html

_BLOCKS = frozenset(
    [
        "p",
        "div",
        "br",
        "li",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "pre",
        "tr",
        "table",
        "section",
        "article",
        "header",
        "footer",
        "figure",
        "figcaption",
        "hr",
        "dd",
        "dt",
    ]
)
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANKS = re.compile(r"\n\s*\n+")


# C0 controls but tab and newlines, DEL, and C1 controls: never text a reader should get.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def squash(text: str | None) -> str:
    """One line: every run of whitespace becomes one space, control characters go
    (None becomes "")."""
    return " ".join(_CONTROLS.sub(" ", text).split()) if text else ""


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment (a feed summary), paragraphs kept as blank lines.

    Scripts and styles are dropped; anything unparsable is returned as squashed text.
    """
    if "<" not in fragment and "&" not in fragment:
        return _tidy(fragment)
    try:
        root = lxml_html.fragment_fromstring(fragment, create_parent="div")
    except (etree.ParserError, ValueError):
        return _tidy(fragment)
    for bad in root.xpath("//script|//style|//noscript|//template"):
        bad.drop_tree()
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.lower() in _BLOCKS:
            element.tail = "\n\n" + (element.tail or "")
    return _tidy(root.text_content())


def _tidy(text: str) -> str:
    lines = [_SPACES.sub(" ", _CONTROLS.sub(" ", line)).strip() for line in text.splitlines()]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()
