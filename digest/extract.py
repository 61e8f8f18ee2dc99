"""Extraction stage: a fetched page in, what the page says out, then an Article.

`extract_page` turns page bytes into a `Page` (text and metadata, via trafilatura, plus a
paywall flag read from the raw markup); `to_article` merges a `Page` with the feed's `Entry`.
Nothing here raises on bad input: a page that cannot be read gives `None` and the article
falls back to the feed's own text.
"""

from __future__ import annotations

import codecs
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import Any, Final

from charset_normalizer import from_bytes
from lxml import etree
from lxml.html import HtmlElement

from digest.models import Article, Entry
from digest.text import squash
from digest.text.markup import c_lookup
from digest.text.words import count_words, lowered

# trafilatura itself is imported on first use: a run that reads no page (a warm one) does
# not pay for its import

log = logging.getLogger(__name__)

# Limits measured with trafilatura 2.3.1: its default (balanced) mode compares its result
# with readability/jusText fallbacks, which grows quadratically with the element count
# (0.7 s at 4k elements, 6 s at 20k, 84 s at 80k); fast mode skips them and stays near
# linear (~1.3 s at 40k, ~5 s at 100k). MAX_TREE_SIZE does not help: it only bounds the
# *output* tree, and passing max_tree_size= to bare_extraction raises ValueError in 2.x.
MAX_BYTES: Final = 20_000_000  # trafilatura's own MAX_FILE_SIZE for downloads
MAX_ELEMENTS: Final = 50_000  # beyond this even fast mode takes seconds: give up (feed text)
FULL_MODE_MAX_ELEMENTS: Final = 5_000  # above this, fast mode only
PRECISION_KEEP: Final = 0.5  # trust the precision pass unless it drops half the text
# A precise text this long has the body: the balanced pass is run only for shorter ones,
# and only when they show a loss: under PRECISE_FLOOR_WORDS, or under PRECISION_KEEP of
# the text the page holds in paragraphs (on the extraction benchmark's pages the
# balanced pass ran on 23 of 119 and was kept on 1; this test runs it on 5, that one
# included).
PRECISE_ENOUGH_WORDS: Final = 250
PRECISE_FLOOR_WORDS: Final = 50
DATE_FORMAT: Final = "%Y-%m-%dT%H:%M:%S%z"

JSON_KEYS: Final = ("title", "text", "author", "date", "sitename", "url", "paywalled")


@dataclass(frozen=True)
class Page:
    """What an article page says (empty strings where it says nothing)."""

    title: str
    text: str
    author: str
    date: datetime | None  # timezone-aware, UTC
    sitename: str
    description: str
    image: str
    url: str
    paywalled: bool


# --- decoding -------------------------------------------------------------------------------

_BOMS: Final = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_META_CHARSET: Final = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([\w.:-]+)""", re.I)
_CONTROL: Final = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f]")
_WESTERN: Final = frozenset({"cp1252", "iso8859-1", "iso8859-15", "ascii"})  # codecs names
_SAMPLE: Final = 200_000


def decode_html(data: bytes) -> str | None:
    """Decode page bytes; None when they are empty or not text (PDF, image, junk).

    UTF-8 wins when most non-ASCII sequences are valid UTF-8 (a few stray bytes become
    U+FFFD). Otherwise the page is in a single-byte charset: the declared one if it is
    single-byte, else a guess, with windows-1252 preferred (what browsers do for latin-1).
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, errors="replace")
    head = data[:4096]
    if not data.strip() or head.lstrip().startswith(b"%PDF") or _looks_binary(head):
        return None
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    if bad == 0:  # most pages: no need to count the non-ASCII characters
        return text
    non_ascii = len(text) - len(text.encode("ascii", errors="ignore"))
    if non_ascii - bad >= bad:
        return text
    return data.decode(_single_byte_encoding(data), errors="replace")


def _looks_binary(head: bytes) -> bool:
    return b"\x00" in head or len(_CONTROL.findall(head)) > len(head) // 20


def _single_byte_encoding(data: bytes) -> str:
    declared = _codec_name(_declared_charset(data[:4096]))
    if declared and _is_single_byte(declared):
        return "cp1252" if declared in _WESTERN else declared
    guesses = [_codec_name(match.encoding) for match in from_bytes(data[:_SAMPLE])]
    single = [name for name in guesses if name and _is_single_byte(name)]
    if not single or _WESTERN.intersection(single):
        return "cp1252"
    return single[0]


def _declared_charset(head: bytes) -> str:
    match = _META_CHARSET.search(head)
    return match.group(1).decode("ascii", errors="replace") if match else ""


def _codec_name(label: str) -> str | None:
    try:
        return codecs.lookup(label).name if label else None
    except LookupError:
        return None


def _is_single_byte(name: str) -> bool:
    high = bytes(range(0x80, 0x100)).decode(name, errors="replace")
    return not name.startswith("utf") and len(high) == 0x80


# --- paywall --------------------------------------------------------------------------------

_MARKER: Final = re.compile(  # in a class or id
    r"paywall|pay-wall|subscribers?[-_]?only|premium[-_]?content|piano|reg-?wall|metered-?content",
    re.I,
)
_MARKER_LOW: Final = re.compile(_MARKER.pattern)  # for lower-case text (`words.lowered`)
_CLASS_ID: Final = etree.XPath("//@class | //@id")  # each value knows its element
_CLASS_ID_VALUES: Final = etree.XPath("//@class | //@id", smart_strings=False)
_SKIPPED_TAGS: Final = frozenset(
    {"script", "style", "template", "noscript", "header", "nav", "footer"}
)
_CHROME_ROLES: Final = frozenset({"banner", "navigation", "contentinfo"})
_CHROME_TOKEN: Final = re.compile(
    r"(?:site[-_]?)?(?:header|nav|navbar|navigation|menu|footer|masthead)(?:[-_].*)?", re.I
)
# "/descendant::x" selects what "//x" does, in the same order, without first listing every
# node of the page (text included) to step down from: ~0.05-0.1 ms a page each
_LD_SCRIPTS: Final = etree.XPath(
    "/descendant::script[contains(translate(@type, 'JSLDNO', 'jsldno'), 'ld+json')]"
)
_MICRODATA: Final = etree.XPath("//@itemprop[. = 'isAccessibleForFree']/..")  # its elements
_LD_FALSE: Final = re.compile(r""""isAccessibleForFree"\s*:\s*["']?(?:false|no)\b""", re.I)
_FALSY: Final = frozenset({"false", "no", "0"})
_PHRASES: Final = re.compile(
    r"subscribe (?:now )?to (?:continue|keep) reading"
    r"|(?:this|the) (?:article|story|content) is (?:only )?(?:available )?(?:for|to) "
    r"(?:paying |paid )?subscribers"
    r"|already an? (?:subscriber|member)\?? ?(?:please )?(?:log|sign) ?in"
    r"|subscribe to read\b(?! our)"
    r"|(?:subscribe|subscription|subscribers?|log ?in|sign ?in|register|members?)\b[^.]{0,40}?"
    r"\bto read the (?:full|entire|whole|rest of the) (?:article|story)"
)  # matched against lower-cased text


def is_paywalled(tree: HtmlElement) -> bool:
    """Whether the page's markup says its article is (at least partly) for subscribers.

    Any one signal is enough: schema.org `isAccessibleForFree` false (JSON-LD at any depth,
    e.g. inside `@graph` or `hasPart`, or microdata); an element with paywall-ish class/id
    that holds visible text; a "subscribe to continue reading"-style phrase in the page's
    visible text. Site chrome (header, nav, footer, menus: where login links live) is
    ignored, and so are empty widget shells (a paywall script's mount point is on free
    articles too).
    """
    return _marked_free_false(tree) or _paywall_markup(tree) or _paywall_phrase(tree)


def _marked_free_false(tree: HtmlElement) -> bool:
    for element in _MICRODATA(tree):
        value = element.get("content", element.text_content())
        if value.strip().lower() in _FALSY:
            return True
    return any(_ld_says_not_free(script.text or "") for script in _LD_SCRIPTS(tree))


def _ld_says_not_free(raw: str) -> bool:
    try:
        data = json.loads(raw.strip().rstrip(";"), strict=False)
    except ValueError:  # broken JSON-LD is common: fall back to the raw text
        return _LD_FALSE.search(raw) is not None
    return any(_is_falsy(value) for value in _values_of(data, "isaccessibleforfree"))


def _values_of(data: object, key: str) -> Iterator[object]:
    """Every value stored under `key` (case-insensitive) anywhere in a JSON document."""
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for name, value in node.items():
                if isinstance(name, str) and name.lower() == key:
                    yield value
                stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)


def _is_falsy(value: object) -> bool:
    if isinstance(value, bool):
        return not value
    return isinstance(value, str | int) and str(value).strip().lower() in _FALSY


def _paywall_markup(tree: HtmlElement) -> bool:
    """An element whose class or id holds a marker (one value holds it whole: a marker
    holds no space), outside site chrome, with text."""
    values = "\n".join(_CLASS_ID_VALUES(tree))
    low = lowered(values)
    if not (_MARKER.search(values) if low is None else _MARKER_LOW.search(low)):
        return False  # most pages: no value is marked
    return any(
        element.tag not in ("html", "body")
        and not _skipped(element)
        and not any(_skipped(parent) for parent in element.iterancestors())
        and "".join(_texts(element)).strip()
        for element in (value.getparent() for value in _CLASS_ID(tree) if _MARKER.search(value))
    )


def _paywall_phrase(tree: HtmlElement) -> bool:
    text = " ".join(" ".join(_texts(_body(tree))).split()).lower()
    return _PHRASES.search(text) is not None


def _body(tree: HtmlElement) -> HtmlElement:
    body = tree.find("body")
    return tree if body is None else body


def _names(element: HtmlElement) -> str:
    return f"{element.get('class') or ''} {element.get('id') or ''}"


def _skipped(element: HtmlElement) -> bool:
    """Not read: comments, scripts, styles, and site chrome (header, nav, footer, menus)."""
    tag = element.tag
    if not isinstance(tag, str) or tag in _SKIPPED_TAGS:
        return True
    if tag in ("html", "body"):  # their classes are page-wide flags, not chrome
        return False
    if (element.get("role") or "").lower() in _CHROME_ROLES:
        return True
    return _chrome_named(_names(element))


@lru_cache(maxsize=4096)
def _chrome_named(names: str) -> bool:
    """Whether a class/id string names site chrome (a page repeats a few strings)."""
    return any(_CHROME_TOKEN.fullmatch(token) for token in names.split())


def _texts(root: HtmlElement) -> Iterator[str]:
    """The visible text under `root` in document order, leaving out skipped subtrees."""
    stack: list[HtmlElement | str] = [root]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
            continue
        if item is not root and _skipped(item):
            continue
        yield item.text or ""
        for child in reversed(item):
            stack.extend((child.tail or "", child))


# --- extraction -----------------------------------------------------------------------------


def extract_page(html: bytes | str, url: str | None = None) -> Page | None:
    """What the page says; None when nothing usable (empty, binary, not HTML). Never raises."""
    parsed = parse_page(html, url)
    return read_page(parsed, url) if parsed else None


@dataclass(frozen=True)
class Parsed:
    """A page decoded and parsed once, for every reader of it: the paywall check,
    trafilatura (which copies the tree for each pass) and the metadata (read once, not
    changing the tree) first, then the disclosure scan, which is the last reader (it cuts
    scripts and quotes out of the tree)."""

    text: str  # the decoded page
    tree: HtmlElement
    size: int = 0  # its element count


def parse_page(html: bytes | str, url: str | None = None) -> Parsed | None:
    """The page decoded and parsed; None when it is not usable HTML. Never raises."""
    try:
        text = _decode(html, url)
        tree = _parse(text) if text else None
        size = _size(tree) if tree is not None else 0
    except Exception as error:  # a page that cannot be parsed says nothing
        log.debug("parsing failed for %s: %r", url, error)
        return None
    if not text or tree is None or size > MAX_ELEMENTS:
        log.debug("not HTML or too many elements: %s", url)
        return None
    return Parsed(text, tree, size)


def read_page(parsed: Parsed, url: str | None = None) -> Page | None:
    """What a parsed page says (its tree is left as it was). Never raises."""
    try:
        return _read_tree(parsed.tree, url, parsed.size or _size(parsed.tree))
    except Exception as error:  # the stage must not fail a run over one page
        log.debug("extraction failed for %s: %r", url, error)
        return None


def _read_tree(tree: HtmlElement, url: str | None, size: int) -> Page | None:
    paywalled = is_paywalled(tree)  # the raw markup; trafilatura works on its own copy
    fast = size > FULL_MODE_MAX_ELEMENTS
    text = _run(tree, url, fast=fast, precision=not fast)
    if not fast and _lost_body(text, tree):
        text = _balanced(tree, url, text)
    return _page(_metadata(tree, url), text, url, paywalled)


def _decode(html: bytes | str, url: str | None) -> str | None:
    if len(html) > MAX_BYTES:
        log.debug("page too large (%d): %s", len(html), url)
        return None
    text = html if isinstance(html, str) else decode_html(html)
    if not text or not text.strip() or text.lstrip().startswith("%PDF"):
        return None
    return text


def _parse(text: str) -> HtmlElement | None:
    import trafilatura

    _classes_in_c()
    tree = trafilatura.load_html(text)  # also rejects text that is not HTML
    return tree if isinstance(tree, HtmlElement) else None


@cache
def _classes_in_c() -> None:
    """trafilatura's parser (`load_html`'s, a module's own) gives its elements the classes
    `lxml.html` would, looked up in C (`digest.text.markup.c_lookup`): every reader of the
    tree (trafilatura's passes, which copy it, the metadata, the paywall and disclosure
    scans) makes its element objects faster. Once per process; a trafilatura without that
    parser keeps its own lookup."""
    from trafilatura import utils

    parser = getattr(utils, "HTML_PARSER", None)
    if isinstance(parser, etree.HTMLParser):
        parser.set_element_class_lookup(c_lookup())


def _size(tree: HtmlElement) -> int:
    return sum(1 for _ in tree.iter())


_PARAGRAPHS: Final = etree.XPath("//p")


def _lost_body(precise: str, tree: HtmlElement) -> bool:
    """Whether a short precise text shows it lost the body, so a balanced pass is worth
    its cost: it is very short, or under half of what the page holds in paragraphs."""
    words = len(precise.split())
    if words >= PRECISE_ENOUGH_WORDS:
        return False
    if words < PRECISE_FLOOR_WORDS:
        return True
    held = sum(len(" ".join(p.text_content().split())) for p in _PARAGRAPHS(tree))
    return len(precise) < PRECISION_KEEP * held


def _run(tree: HtmlElement, url: str | None, *, fast: bool, precision: bool) -> str:
    """One trafilatura pass over the parsed tree (it copies the tree; no re-parse): the
    article text ("" when none). Without metadata (see `_metadata`): the text does not
    depend on it, as neither links nor images are kept."""
    import trafilatura
    from trafilatura.settings import Document

    document = trafilatura.bare_extraction(
        tree,
        url=url,
        fast=fast,
        favor_precision=precision,
        include_comments=False,
        with_metadata=False,
    )
    return (document.text or "") if isinstance(document, Document) else ""


def _balanced(tree: HtmlElement, url: str | None, precise: str) -> str:
    """A short favor_precision text may have lost the body: take the balanced pass's text
    when the precise one kept under half of it (one pass, not two, for most pages)."""
    text = _run(tree, url, fast=False, precision=False)
    return precise if len(precise) >= PRECISION_KEEP * len(text) else text


@dataclass(frozen=True)
class _Meta:
    """The metadata fields a Page keeps, as trafilatura's `extract_metadata` gives them."""

    title: str | None
    author: str | None
    date: str | None
    sitename: str | None
    description: str | None
    image: str | None
    url: str | None


def _metadata(tree: HtmlElement, url: str | None) -> _Meta:
    """The metadata fields a Page keeps (`_fields`); when trafilatura's module-level
    helpers it calls have moved (a trafilatura newer than 2.3.1), its public
    `extract_metadata` instead: slower, never a page lost to an upgrade."""
    try:
        return _fields(tree, url)
    except (AttributeError, ImportError, TypeError) as error:
        log.debug("trafilatura's metadata helpers changed (%r): extract_metadata", error)
        return _public_metadata(tree, url)


def _public_metadata(tree: HtmlElement, url: str | None) -> _Meta:
    import trafilatura

    found = trafilatura.extract_metadata(tree, url, _date_params())
    names = ("title", "author", "date", "sitename", "description", "image", "url")
    return _Meta(*(getattr(found, name, None) for name in names))


def _fields(tree: HtmlElement, url: str | None) -> _Meta:
    """trafilatura.extract_metadata (2.3.1) for the fields a Page keeps, in its order,
    without the ones it does not (categories, tags, license, hostname: about 2 ms a page,
    40% of the whole). Reads the tree without changing it."""
    from htmldate import find_date
    from trafilatura import metadata as tm

    found = tm.examine_meta(tree)
    if found.author and " " not in found.author:
        found.author = None
    try:
        found = tm.extract_meta_json(tree, found)
    except Exception as err:  # bugs in trafilatura's json_metadata.py
        log.debug("error in JSON metadata extraction: %s", err)
    title = found.title or tm.extract_title(tree)
    author = found.author or tm.extract_author(tree)
    page_url = found.url or tm.extract_url(tree, url)
    date = find_date(tree, **{**_date_params(), "url": page_url})
    sitename = found.sitename or tm.extract_sitename(tree)
    if sitename:
        sitename = sitename.lstrip("@")  # a Twitter handle
        if sitename and "." not in sitename and not sitename[0].isupper():
            sitename = sitename.title()
    elif page_url and (match := tm.META_URL.match(page_url)):
        sitename = match[1]
    fields = (title, author, date, sitename, found.description, found.image, page_url)
    return _Meta(*(_trimmed(value) for value in fields))


def _trimmed(value: str | None) -> str | None:
    """A field as trafilatura's `Document.clean_and_trim` leaves it."""
    from html import unescape

    from trafilatura.utils import line_processing

    if value is None:
        return None
    if len(value) > 10000:
        value = value[:9999] + "\u2026"
    return line_processing(unescape(value))


def _date_params() -> dict[str, Any]:
    """htmldate's settings as trafilatura sets them, but keeping the time of day, and
    reading the page's own date markup before a date in the URL (which has no time)."""
    from trafilatura.settings import set_date_params

    return {**set_date_params(), "outputformat": DATE_FORMAT, "deferred_url_extractor": True}


def _page(document: _Meta, text: str, url: str | None, paywalled: bool) -> Page | None:
    title = squash(document.title)
    if not text.strip() and not title:
        return None
    return Page(
        title=title,
        text=text.strip(),
        author=squash(document.author),
        date=parse_date(document.date),
        sitename=squash(document.sitename),
        description=squash(document.description),
        image=squash(document.image),
        url=squash(document.url) or url or "",
        paywalled=paywalled,
    )


def parse_date(value: str | None) -> datetime | None:
    """trafilatura's date string as an aware UTC datetime (a bare date is midnight UTC)."""
    if not value:
        return None
    for fmt in (DATE_FORMAT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"):
        try:
            parsed = datetime.strptime(value, fmt)
        except ValueError:
            continue
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    return None


# --- article --------------------------------------------------------------------------------


def to_article(entry: Entry, page: Page | None, weight: float = 1.0) -> Article:
    """The entry with its page read; the feed's text stands in when the page gave less."""
    feed_text = max(entry.content.strip(), entry.summary.strip(), key=count_words)
    page_text = page.text if page else ""
    use_page = bool(page_text) and count_words(page_text) >= count_words(feed_text)
    return Article(
        url=entry.url,
        source=entry.source,
        feed_url=entry.feed_url,
        title=entry.title.strip() or (page.title if page else ""),
        text=page_text if use_page else feed_text,
        method="page" if use_page else "feed",
        author=(page.author if page else "") or entry.author,
        date=_article_date(entry, page),
        sitename=(page.sitename if page else "") or entry.source,
        description=(page.description if page else "") or entry.summary,
        image=page.image if page else "",
        paywalled=page.paywalled if page else False,
        weight=weight,
    )


def _article_date(entry: Entry, page: Page | None) -> datetime | None:
    """The page's date, unless the feed gives the same day with a time of day."""
    if page is None or page.date is None:
        return entry.date
    feed = entry.published
    if feed is not None and feed.astimezone(UTC).date() == page.date.date():
        return feed
    return page.date


def extract_json(html: bytes | str, url: str | None = None) -> dict[str, object]:
    """`digest extract FILE.html --json`: exactly JSON_KEYS; "" for missing, null date."""
    page = extract_page(html, url)
    if page is None:
        empty: dict[str, object] = dict.fromkeys(JSON_KEYS, "")
        return {**empty, "date": None, "url": url or "", "paywalled": False}
    return {
        "title": page.title,
        "text": page.text,
        "author": page.author,
        "date": page.date.isoformat() if page.date else None,
        "sitename": page.sitename,
        "url": page.url or url or "",
        "paywalled": page.paywalled,
    }
