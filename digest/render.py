"""The render stage: a `Digest` in, the newsletter as HTML, plain text and Markdown out.

Templates are looked up like Pelican's themes: first in the user's templates directory
(if any), then in the package theme; the theme is also reachable as `default/...`, so a
user template can `{% extends "default/digest.html.j2" %}` and replace a single block.
docs/templates.md describes the theme, its context and its filters to designers.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import html as html_lib
import re
import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

import css_inline
import jinja2
import markdown as markdown_lib
import nh3
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor
from markdown.util import AMP_SUBSTITUTE
from markupsafe import Markup

import digest as digest_package
from digest.models import Digest, RunWarning, Section, Story
from digest.text import squash

__all__ = [
    "FILTERS",
    "TEMPLATES",
    "RenderError",
    "Rendered",
    "TemplateNotFoundError",
    "clean_url",
    "daterange",
    "find_theme_dir",
    "format_date",
    "host",
    "make_context",
    "make_environment",
    "markdown_to_html",
    "md_escape",
    "md_url",
    "oneline",
    "paragraphs",
    "plain",
    "reading_minutes",
    "render",
    "safe_url",
    "search_path",
    "wrap",
]

TEMPLATES = ("digest.html.j2", "digest.txt.j2", "digest.md.j2")
DEFAULT_DATE_FORMAT = "%-d %B %Y"  # "15 November 2026"
WORDS_PER_MINUTE = 230
TEXT_WIDTH = 78
SAFE_SCHEMES = frozenset({"http", "https", "mailto"})

# C0/C1 controls (but tab, newline, carriage return), lone surrogates and non-characters:
# none of them belongs in an e-mail, and surrogates cannot even be encoded as UTF-8.
_UNPRINTABLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]"
)
_NO_PAD = re.compile(r"%-([dmHIMSjy])")
_URL = re.compile(r"[a-z][a-z0-9+.-]*://\S|\bwww\.\S|\bmailto:\S", re.IGNORECASE)
_LEADING_STYLE = re.compile(r"<head[^>]*>\s*(<style\b[^>]*>.*?</style>)", re.DOTALL | re.IGNORECASE)
# `<style data-css-inline="keep">`: a block css_inline leaves in place (Outlook.com's dark
# mode rules); the marker is not needed once the CSS is inlined.
_KEEP_MARKER = re.compile(r"(<style\b[^>]*?)\s+data-css-inline=\"keep\"", re.IGNORECASE)
# Escaped with a backslash, which both CommonMark and Python-Markdown understand.
_MD_INLINE = re.compile(r"([\\`*_\[\]])")
_MD_LINE_START = re.compile(r"^(\s*)([#>+-]|\d+[.)])", re.MULTILINE)


class RenderError(Exception):
    """The newsletter could not be rendered (a theme problem, never a content problem)."""


class TemplateNotFoundError(RenderError):
    """No directory on the search path holds the template."""

    def __init__(self, name: str, searched: list[Path]) -> None:
        self.name = name
        self.searched = searched
        places = "\n".join(f"  {i}. {_describe_dir(d)}" for i, d in enumerate(searched, 1))
        super().__init__(f"template {name!r} not found; looked in, in order:\n{places}")


@dataclass(frozen=True)
class Rendered:
    """One issue, in its three forms."""

    html: str
    text: str
    markdown: str


def _describe_dir(path: Path) -> str:
    return str(path) if path.is_dir() else f"{path} (does not exist)"


# --- where the templates are ---------------------------------------------------------


def find_theme_dir() -> Path:
    """The package theme: `digest/templates` in a wheel, else the checkout's `templates/`."""
    package_dir = Path(digest_package.__file__).resolve().parent
    installed = package_dir / "templates"
    if installed.is_dir():
        return installed
    return package_dir.parent / "templates"


def make_environment(templates_dir: Path | None = None, strict: bool = False) -> jinja2.Environment:
    """A Jinja environment: user templates first, then the theme, then `default/` = theme.

    `strict` makes an undefined name or attribute an error (`jinja2.StrictUndefined`), as
    `digest templates check` wants; a normal run prints nothing for it instead.
    """
    theme = jinja2.FileSystemLoader(find_theme_dir())
    loaders: list[jinja2.BaseLoader] = []
    if templates_dir is not None:
        loaders.append(jinja2.FileSystemLoader(templates_dir))
    loaders += [theme, jinja2.PrefixLoader({"default": theme})]
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        bytecode_cache=_compiled_templates(),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html.j2", "html", "htm"), default_for_string=False
        ),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_finalize,
        undefined=jinja2.StrictUndefined if strict else jinja2.Undefined,
    )
    env.filters.update(FILTERS)
    env.globals.update(tool_name="digest", tool_version=digest_package.__version__)
    return env


class _CompiledTemplates(jinja2.FileSystemBytecodeCache):
    """Templates compiled by an earlier run (~50 ms of CPU a run), in Jinja's per-user
    cache directory (made private to the user, or not used), as Python keeps compiled
    modules: a template is found by its name and file, and by `_ENVIRONMENT` (Jinja's
    version, and this module's code, which sets the options above); Jinja compiles it
    again when its source changed (it keeps a checksum of it). A cache that cannot be
    read or written is not used: the template is compiled as without one."""

    def get_cache_key(self, name: str, filename: str | None = None) -> str:
        return super().get_cache_key(f"{_ENVIRONMENT}|{name}", filename)

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except (OSError, ValueError, EOFError, TypeError):
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


# what a compiled template depends on besides its source: Jinja, and the environment's
# options, set in this file (a version number stays the same while the code is edited)
_CODE = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
_ENVIRONMENT = f"jinja2 {jinja2.__version__} digest {digest_package.__version__} {_CODE}"


@functools.cache
def _compiled_templates() -> jinja2.BytecodeCache | None:
    try:
        return _CompiledTemplates()
    except (OSError, RuntimeError):  # no private directory to be had
        return None


def search_path(env: jinja2.Environment) -> list[Path]:
    """Every directory the environment's loaders look in, in order."""
    found: list[Path] = []

    def walk(loader: jinja2.BaseLoader | None) -> None:
        if isinstance(loader, jinja2.ChoiceLoader):
            for inner in loader.loaders:
                walk(inner)
        elif isinstance(loader, jinja2.PrefixLoader):
            for inner in loader.mapping.values():
                walk(inner)
        elif isinstance(loader, jinja2.FileSystemLoader):
            found.extend(Path(p) for p in loader.searchpath)

    walk(env.loader)
    return list(dict.fromkeys(found))


# --- rendering -----------------------------------------------------------------------


def render(digest: Digest, templates_dir: Path | None = None) -> Rendered:
    """Render the issue as HTML (CSS inlined), plain text and Markdown."""
    env = make_environment(templates_dir)
    context = make_context(digest)
    html, text, md = (_render_one(env, name, context) for name in TEMPLATES)
    return Rendered(html=inline_css(html), text=text, markdown=md)


def make_context(digest: Digest) -> dict[str, Any]:
    """What the three templates are rendered with (globals and filters aside)."""
    return {"digest": digest, "stories": digest.stories}


def _render_one(env: jinja2.Environment, name: str, context: dict[str, Any]) -> str:
    try:
        return env.get_template(name).render(context)
    except jinja2.TemplateNotFound as exc:
        missing = exc.name if isinstance(exc.name, str) else name
        raise TemplateNotFoundError(missing, search_path(env)) from exc
    except jinja2.TemplateSyntaxError as exc:
        where = exc.filename or exc.name or name
        raise RenderError(f"{where}, line {exc.lineno}: {exc.message}") from exc
    except jinja2.TemplateError as exc:
        raise RenderError(f"{name}: {exc}") from exc


def inline_css(html: str) -> str:
    """Move the `<style>` rules onto the elements; keep `@media` rules in a `<style>` block."""
    try:
        inlined: str = css_inline.inline(html, keep_at_rules=True, load_remote_stylesheets=False)
    except ValueError as exc:
        raise RenderError(f"could not inline the CSS: {exc}") from exc
    return _style_after_meta(_KEEP_MARKER.sub(r"\1", inlined))


def _style_after_meta(html: str) -> str:
    """css_inline puts the kept `<style>` first in `<head>`; put it back after the `<meta>`s,
    so that `<meta charset>` stays within the first bytes of the document."""
    match = _LEADING_STYLE.search(html)
    if match is None or "</head>" not in html[match.end() :]:
        return html
    head_rest = html[match.end() :].replace("</head>", match.group(1) + "\n</head>", 1)
    return html[: match.start(1)] + head_rest


def _finalize(value: object) -> object:
    """Applied to every `{{ ... }}`: None prints nothing; unprintable characters go."""
    if value is None:
        return ""
    if isinstance(value, Markup):
        return Markup(_UNPRINTABLE.sub("", value))
    if isinstance(value, str):
        return _UNPRINTABLE.sub("", value)
    return value


# --- filters: dates ------------------------------------------------------------------


def _zone(name: str | None) -> tzinfo:
    try:
        return ZoneInfo(name) if name else UTC
    except (KeyError, ValueError, OSError):  # ZoneInfoNotFoundError is a KeyError
        return UTC


def _local(value: datetime, zone: tzinfo) -> datetime:
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(zone)


def _strftime(value: datetime, fmt: str) -> str:
    """`strftime`, plus `%-d` style unpadded fields on every platform."""
    unpadded = _NO_PAD.sub(lambda m: value.strftime("%" + m.group(1)).lstrip("0") or "0", fmt)
    return value.strftime(unpadded)


def format_date(value: datetime | None, fmt: str = DEFAULT_DATE_FORMAT, tz: str = "UTC") -> str:
    """A datetime in the zone `tz`, e.g. "15 November 2026"; "" for no date."""
    if value is None:
        return ""
    return _strftime(_local(value, _zone(tz)), fmt)


def daterange(start: datetime, end: datetime, tz: str = "UTC") -> str:
    """The days of the half-open period [start, end), e.g. 9 to 15 November 2026.

    Joined with an en dash: "9\u201315 November 2026", "28 October \u2013 3 November 2026",
    "29 December 2025 \u2013 4 January 2026".
    """
    zone = _zone(tz)
    first = _local(start, zone)
    last = _local(max(end - timedelta(seconds=1), start), zone)
    if first.date() == last.date():
        return f"{first.day} {first:%B %Y}"
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day}\u2013{last.day} {last:%B %Y}"
    if first.year == last.year:
        return f"{first.day} {first:%B} \u2013 {last.day} {last:%B %Y}"
    return f"{first.day} {first:%B %Y} \u2013 {last.day} {last:%B %Y}"


def _context_zone(context: jinja2.runtime.Context) -> str:
    digest = context.get("digest")
    zone = getattr(digest, "timezone", None)
    return zone if isinstance(zone, str) else "UTC"


@jinja2.pass_context
def _date_filter(
    context: jinja2.runtime.Context,
    value: datetime | None,
    fmt: str = DEFAULT_DATE_FORMAT,
    tz: str | None = None,
) -> str:
    return format_date(value, fmt, tz or _context_zone(context))


@jinja2.pass_context
def _daterange_filter(
    context: jinja2.runtime.Context, start: datetime, end: datetime, tz: str | None = None
) -> str:
    return daterange(start, end, tz or _context_zone(context))


# --- filters: text -------------------------------------------------------------------


def reading_minutes(words: int) -> int:
    """Minutes to read `words` words at about 230 a minute; never less than one."""
    return max(1, round(words / WORDS_PER_MINUTE))


def host(url: str) -> str:
    """The host name of a URL, without `www.`: "https://www.autocar.co.uk/x" → "autocar.co.uk"."""
    try:
        name = urlsplit(url.strip()).hostname or ""
    except ValueError:
        return ""
    return name.removeprefix("www.")


def safe_url(url: str) -> str:
    """The URL if it is http(s) or mailto, else "#" (no `javascript:` links in a newsletter)."""
    url = _UNPRINTABLE.sub("", url).strip()
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return "#"
    return url if scheme in SAFE_SCHEMES else "#"


def _is_url(word: str) -> bool:
    return bool(_URL.search(word))


def _wrap_paragraph(paragraph: str, width: int, initial: str, indent: str) -> Iterator[str]:
    """Words filled to `width`; a URL always sits alone on its own line, unbroken."""
    run: list[str] = []
    prefix = initial

    def flush() -> Iterator[str]:
        nonlocal prefix, run
        if run:
            yield from textwrap.wrap(
                " ".join(run),
                width,
                initial_indent=prefix,
                subsequent_indent=indent,
                break_on_hyphens=False,
            )
            prefix, run = indent, []

    for word in paragraph.split():
        if _is_url(word):
            yield from flush()
            yield prefix + word
            prefix = indent
        else:
            run.append(word)
    yield from flush()


def wrap(text: str, width: int = TEXT_WIDTH, indent: str = "", initial: str | None = None) -> str:
    """Fill `text` to `width` columns, paragraph by paragraph, URLs unbroken on their own line.

    `indent` starts every line; `initial`, if given, starts the first one instead.
    """
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    if not paragraphs:
        return ""
    starts = [indent if initial is None else initial] + [indent] * (len(paragraphs) - 1)
    filled = (
        "\n".join(_wrap_paragraph(paragraph, width, start, indent))
        for paragraph, start in zip(paragraphs, starts, strict=True)
    )
    return "\n\n".join(filled)


def paragraphs(text: str) -> list[str]:
    """The blank-line separated paragraphs of `text`, each on one line."""
    return [oneline(p) for p in re.split(r"\n\s*\n", text) if p.strip()]


oneline = squash  # the filter: all whitespace, newlines included, as single spaces


def plain(text: str) -> str:
    """What a macro of `_labels.html.j2` said, as the words themselves, for the text and
    Markdown copies: that file is HTML, so its macros escape what they print."""
    return Markup(str(text)).unescape()


def md_escape(text: str) -> str:
    """Plain text made safe for Markdown: no accidental links, emphasis, headings or HTML."""
    text = _MD_INLINE.sub(r"\\\1", text).replace("<", "&lt;")
    return _MD_LINE_START.sub(_escape_line_start, text)


def _escape_line_start(match: re.Match[str]) -> str:
    """`# x`, `> x`, `- x`, `+ x`, `1. x` at a line's start: escape the marker's last character."""
    indent, marker = match.group(1), match.group(2)
    return f"{indent}{marker[:-1]}\\{marker[-1]}"


def clean_url(url: str) -> str:
    """`safe_url`, with spaces, quotes and other characters a URL cannot hold %-encoded."""
    return quote(safe_url(url), safe="/:?#[]@!$&'()*+,;=%~-._")


def md_url(url: str) -> str:
    """A URL usable as a Markdown link target: `clean_url`, parentheses encoded too."""
    return clean_url(url).replace("(", "%28").replace(")", "%29")


# --- filters: Markdown ---------------------------------------------------------------


class _SafeLinks(Treeprocessor):
    """Replaces link and image targets that are not http(s) or mailto."""

    def run(self, root: ET.Element) -> None:
        for element in root.iter():
            for attribute in ("href", "src"):
                value = element.get(attribute)
                if value is not None and not _safe_target(value):
                    element.set(attribute, "#")


def _safe_target(value: str) -> bool:
    """A link target in Python-Markdown's tree (automatic mail links are entity-encoded)."""
    plain = html_lib.unescape(value.replace(AMP_SUBSTITUTE, "&"))
    return plain.startswith("#") or safe_url(plain) != "#"


class _NoRawHtml(Extension):
    """Raw HTML in the source is shown as text, not passed through."""

    def extendMarkdown(self, md: markdown_lib.Markdown) -> None:
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
        md.treeprocessors.register(_SafeLinks(md), "safe_links", 0)


def markdown_to_html(source: object) -> Markup:
    """Editor-written Markdown as HTML; raw HTML is escaped, unsafe link targets dropped."""
    converter = markdown_lib.Markdown(extensions=[_NoRawHtml()], output_format="html")
    text = "" if source is None else str(source)
    html = converter.convert(_UNPRINTABLE.sub("", text))
    # Belt and braces: whatever the Markdown library emits passes an allowlist (nh3).
    return Markup(
        nh3.clean(
            html,
            tags=_MARKDOWN_TAGS,
            attributes={"a": {"href", "title"}},
            url_schemes={"http", "https", "mailto"},
            link_rel=None,
        )
    )


_MARKDOWN_TAGS = {"p", "br", "em", "strong", "b", "i", "a", "ul", "ol", "li", "blockquote", "code"}


FILTERS: dict[str, Any] = {
    "markdown": markdown_to_html,
    "date": _date_filter,
    "daterange": _daterange_filter,
    "wrap": wrap,
    "host": host,
    "safe_url": safe_url,
    "clean_url": clean_url,
    "reading_minutes": reading_minutes,
    "oneline": oneline,
    "paragraphs": paragraphs,
    "plain": plain,
    "md_escape": md_escape,
    "md_url": md_url,
}


def fit(
    digest: Digest, templates_dir: Path | None, limit: int
) -> tuple[Digest, Rendered, RunWarning | None]:
    """The digest rendered under `limit` bytes of HTML (Gmail clips a message's HTML past
    102 KB and hides the rest, footer and unsubscribe link included): "Also worth
    reading" is cut, halving the list until it fits; a warning says what was done.
    Fit the copy that is emailed: the owner's feed-health lines never are."""
    rendered = render(digest, templates_dir)
    size = len(rendered.html.encode("utf-8"))
    if size <= limit:
        return digest, rendered, None
    items = [(s.title, story) for s in digest.more for story in s.stories]
    while items:
        items = items[: len(items) // 2]
        shorter = replace(digest, more=_regroup(items), shortened=True)
        rendered = render(shorter, templates_dir)
        if len(rendered.html.encode("utf-8")) <= limit:
            return shorter, rendered, _cut_warning(size, limit, len(items), shorter)
    shorter = replace(digest, more=(), shortened=bool(digest.more))
    rendered = render(shorter, templates_dir)
    kept = len(rendered.html.encode("utf-8"))
    warning = _cut_warning(size, limit, 0, shorter)
    if kept > limit:
        warning = replace(
            warning, text=f"{warning.text}; still {kept / 1000:.0f} KB: Gmail will clip it"
        )
    return shorter, rendered, warning


def _regroup(items: list[tuple[str, Story]]) -> tuple[Section, ...]:
    sections: dict[str, list[Story]] = {}
    for title, story in items:
        sections.setdefault(title, []).append(story)
    return tuple(Section(title, tuple(stories)) for title, stories in sections.items())


def _cut_warning(size: int, limit: int, kept: int, digest: Digest) -> RunWarning:
    where = f"; the full issue is at {digest.web_url}" if digest.web_url else ""
    return RunWarning(
        "size",
        f"the email's HTML was {size / 1000:.0f} KB, over max_email_bytes "
        f"({limit / 1000:.0f} KB): 'Also worth reading' cut to {kept} item(s){where}",
    )
