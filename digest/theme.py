"""The theme, for designers: copy it to edit (`init`), and check a templates directory
(`check`) before a run finds the mistake.

`check` renders every template, the user's and the theme's, with an invented issue that
takes every branch (picks with other coverage, an AI-generated source, style signals, a
note, sections, the web links, a shortened email, the owner's section) under
`jinja2.StrictUndefined`, and reports each problem as `file:line: message` with a hint a
designer can act on. It also checks the HTML against the rules of email: no scripts,
forms or external stylesheets, alt text on every image, layout tables marked
`role="presentation"`, and a size Gmail does not clip.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import shutil
import traceback
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jinja2

from digest import models
from digest.models import Digest
from digest.render import (
    FILTERS,
    TEMPLATES,
    RenderError,
    find_theme_dir,
    inline_css,
    make_context,
    make_environment,
    search_path,
)
from digest.sample import bare_digest, sample_digest

__all__ = [
    "MAX_HTML_BYTES",
    "README",
    "Problem",
    "ThemeError",
    "check",
    "init",
    "sample_digest",
    "theme_files",
]

MAX_HTML_BYTES = 100 * 1024  # Gmail clips a message over 102 KB; keep a margin under it
TEMPLATE_SUFFIX = ".j2"

README = """\
Your copy of the digest newsletter theme
========================================

These are the default theme's templates, copied here for you to edit. Point
`[output] templates_dir` in digest.toml at this folder.

* Delete what you do not change. Anything missing here comes from the default
  theme, so keep only the files you edit: you will get the theme's fixes for the
  rest when digest is upgraded.
* To replace one block of the email and keep the rest, extend the default theme
  from your own digest.html.j2:

      {% extends "default/digest.html.j2" %}
      {% block footer %}
      <tr><td class="footer"><p class="footer-text">Sent by the motoring desk.</p></td></tr>
      {% endblock %}

* To replace one part everywhere, keep just that partial, e.g. _footer.html.j2,
  _story.html.j2 or _labels.html.j2 (the AI-source labels).
* digest.txt.j2 is the plain-text part of the email; digest.md.j2 the Markdown copy.

Check your templates before a run with `digest templates check`: it renders every
template with an invented issue and names the file and line of each problem.
Every variable, block and filter is described in templates.md, beside this file
(a copy of the project's docs/templates.md).
"""


def reference_doc() -> Path:
    """docs/templates.md: in the package (a wheel), else in the checkout."""
    return find_theme_dir().parent / "docs" / "templates.md"  # digest/docs or the checkout's


class ThemeError(FileExistsError):
    """The theme could not be copied: files (or a file, for the folder) are in the way.

    A `FileExistsError`, so an `except OSError` catches it too."""

    def __init__(self, message: str, files: tuple[Path, ...] = ()) -> None:
        super().__init__(message)
        self.files = files


@dataclass(frozen=True)
class Problem:
    """One problem in a theme: where, what, and what to do about it."""

    file: str  # the template's path (as the loader found it), or a directory
    line: int | None  # 1-based line in `file`; None when no line applies
    message: str
    hint: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.message}\n  hint: {self.hint}"


# --- init ----------------------------------------------------------------------------


def theme_files() -> list[Path]:
    """Every template of the package theme, relative to the theme directory."""
    theme = find_theme_dir()
    return sorted(
        path.relative_to(theme)
        for path in theme.rglob(f"*{TEMPLATE_SUFFIX}")
        if path.is_file() and "__pycache__" not in path.parts
    )


def init(target: Path, *, force: bool = False) -> list[Path]:
    """Copy the theme's templates and a README.txt into `target`; the files written.

    Refuses, naming the files, when any of them exists already, unless `force`.
    """
    if target.exists() and not target.is_dir():
        raise ThemeError(f"{target} exists and is not a directory")
    theme = find_theme_dir()
    plan: list[tuple[Path | None, Path]] = [(theme / rel, target / rel) for rel in theme_files()]
    plan.append((None, target / "README.txt"))
    if reference_doc().is_file():
        plan.append((reference_doc(), target / "templates.md"))
    existing = tuple(dest for _, dest in plan if dest.exists())
    if existing and not force:
        listing = "\n".join(f"  {path}" for path in existing)
        raise ThemeError(
            f"{len(existing)} of the theme's files already exist in {target}; "
            f"nothing was copied (--force overwrites them):\n{listing}",
            existing,
        )
    written: list[Path] = []
    for source, dest in plan:
        dest.parent.mkdir(parents=True, exist_ok=True)
        if source is None:
            dest.write_text(README, encoding="utf-8")
        else:
            shutil.copyfile(source, dest)
        written.append(dest)
    return written


# --- check ---------------------------------------------------------------------------


class _Recorder(jinja2.BaseLoader):
    """A loader that notes the file of every template it loads."""

    def __init__(self, inner: jinja2.BaseLoader) -> None:
        self.inner = inner
        self.files: set[str] = set()

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str | None, Any]:
        source, filename, uptodate = self.inner.get_source(environment, template)
        if filename is not None:
            self.files.add(os.path.normpath(filename))
        return source, filename, uptodate

    def list_templates(self) -> list[str]:
        return self.inner.list_templates()


def check(templates_dir: Path | None = None, digest: Digest | None = None) -> list[Problem]:
    """Every problem of the theme in `templates_dir` (with the package theme behind it).

    Renders digest.html.j2, digest.txt.j2 and digest.md.j2 (and so every partial they
    include) with `digest`, or with the invented `sample_digest()` and a bare copy of
    it, strictly; then every template they did not reach on its own; then the HTML.
    """
    problems: list[Problem] = []
    if templates_dir is not None and not templates_dir.is_dir():
        problems.append(
            Problem(
                str(templates_dir),
                None,
                "the templates directory does not exist (the default theme is used)",
                "create it with `digest templates init DIR`, or fix [output] templates_dir",
            )
        )
    env = make_environment(templates_dir, strict=True)
    searched = search_path(env)
    assert env.loader is not None
    recorder = _Recorder(env.loader)
    env.loader = recorder
    samples = [digest] if digest is not None else [sample_digest(), bare_digest()]
    html_problems: list[tuple[str, Problem]] = []
    for index, sample in enumerate(samples):
        context = make_context(sample)
        for name in TEMPLATES:
            try:
                output = env.get_template(name).render(context)
            except Exception as exc:
                problems.append(_problem(exc, name, env, searched))
                continue
            if name.endswith(".html.j2") and index == 0:
                html_file = _filename(env, name)
                try:
                    html = inline_css(output)
                except RenderError as exc:
                    problems.append(Problem(html_file, None, str(exc), _CSS_HINT))
                    continue
                html_problems += _check_html(html, html_file)

    templates = _templates(templates_dir)
    unused = not problems  # the three rendered: what they did not reach is not used
    standalone = {**make_context(samples[0]), **_partial_context(sample_digest())}
    for name, filename in templates:
        if os.path.normpath(filename) in recorder.files:
            continue
        try:
            env.get_template(name).render(standalone)
        except Exception as exc:
            problems.append(_problem(exc, name, env, searched, alone=True, unused=unused))

    problems += [p for name, filename in templates for p in _unknown_blocks(env, name, filename)]
    found = [_scan_source(name, filename) for name, filename in templates]
    static_kinds = {kind for kind_problems in found for kind, _ in kind_problems}
    problems += [problem for kind_problems in found for _, problem in kind_problems]
    problems += [problem for kind, problem in html_problems if kind not in static_kinds]
    unique = {(p.file, p.line, p.message): p for p in reversed(problems)}  # the first wins
    return sorted(unique.values(), key=lambda p: (p.file, p.line or 0))


def _filename(env: jinja2.Environment, name: str) -> str:
    try:
        return env.get_template(name).filename or name
    except jinja2.TemplateError:
        return name


def _partial_context(sample: Digest) -> dict[str, Any]:
    """What a partial sees inside the loops of digest.html.j2."""
    return {
        "story": sample.stories[0],
        "number": 1,
        "section": sample.more[0],
    }


def _templates(templates_dir: Path | None) -> list[tuple[str, str]]:
    """(name to load it by, its file) for every template of the user's dir and the theme;
    a theme template the user's replaces is loaded as `default/NAME`."""
    found: list[tuple[str, str]] = []
    user_names: set[str] = set()
    if templates_dir is not None and templates_dir.is_dir():
        for path in sorted(templates_dir.rglob(f"*{TEMPLATE_SUFFIX}")):
            if path.is_file():
                name = path.relative_to(templates_dir).as_posix()
                user_names.add(name)
                found.append((name, os.path.normpath(templates_dir / name)))
    theme = find_theme_dir()
    for rel in theme_files():
        name = rel.as_posix()
        load_as = f"default/{name}" if name in user_names else name
        found.append((load_as, os.path.normpath(theme / name)))
    return found


def _unknown_blocks(env: jinja2.Environment, name: str, filename: str) -> list[Problem]:
    """A `{% block %}` that the template it extends does not have is never rendered
    (Jinja ignores it without a word): name it, and the block meant."""
    try:
        tree = env.parse(Path(filename).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, jinja2.TemplateError):
        return []  # reported by rendering
    parent = _extends(tree)
    if parent is None:
        return []
    known = _blocks_of(env, parent, depth=0)
    if known is None:
        return []
    problems = []
    top = [node for node in tree.body if isinstance(node, jinja2.nodes.Block)]
    for block in top:  # a block inside another is new, and fine
        if block.name in known:
            continue
        close = difflib.get_close_matches(block.name, sorted(known), n=1)
        meant = f"did you mean `{close[0]}`? " if close else ""
        problems.append(
            Problem(
                filename,
                block.lineno,
                f"block `{block.name}` is not a block of {parent}: it is never rendered",
                f"{meant}the blocks of {parent} are: {', '.join(sorted(known))}",
            )
        )
    return problems


def _extends(tree: jinja2.nodes.Template) -> str | None:
    node = tree.find(jinja2.nodes.Extends)
    if node is None or not isinstance(node.template, jinja2.nodes.Const):
        return None
    return str(node.template.value)


def _blocks_of(env: jinja2.Environment, name: str, depth: int) -> set[str] | None:
    """Every block `name` and the templates it extends define; None when unreadable."""
    assert env.loader is not None
    try:
        source, _, _ = env.loader.get_source(env, name)
        tree = env.parse(source)
    except jinja2.TemplateError:
        return None
    blocks = {block.name for block in tree.find_all(jinja2.nodes.Block)}
    parent = _extends(tree)
    if parent is not None and depth < 10:
        blocks |= _blocks_of(env, parent, depth + 1) or set()
    return blocks


# --- problems from exceptions --------------------------------------------------------

_SYNTAX_HINT = (
    "check the {% %} tags are balanced: every {% if %} needs an {% endif %}, {% for %} an "
    "{% endfor %}, {% block %} an {% endblock %}, {% macro %} an {% endmacro %}; and that "
    "each {{ }} and {% %} is closed"
)
_CSS_HINT = "check the CSS of _styles.css.j2 (or your `styles` block) for unbalanced braces"
_UNKNOWN_FILTER = re.compile(r"No filter named '([^']+)'")
_UNKNOWN_TEST = re.compile(r"No test named '([^']+)'")
_NO_ATTRIBUTE = re.compile(r"^'(?P<type>[\w.]+) object' has no attribute '(?P<attr>[^']*)'")
_NO_ELEMENT = re.compile(r"^'(?P<type>[\w.]+) object' has no element (?P<key>.*)$")
_UNDEFINED_NAME = re.compile(r"^'(?P<name>[^']*)' is undefined")

# What a template calls each model object, and where it finds it.
_VARIABLES = {
    "Digest": "digest",
    "Story": "story",
    "Article": "article",
    "Summary": "summary",
    "Verdict": "verdict",
    "Section": "section",
    "Evidence": "evidence",
}
_NESTED = {
    "Digest": {"stories": "Story", "more": "Section"},
    "Story": {"article": "Article", "summary": "Summary"},
    "Article": {"verdict": "Verdict"},
    "Verdict": {"evidence": "Evidence"},
    "Section": {"stories": "Story"},
}
_CONTEXT_NAMES = ("digest", "stories", "tool_name", "tool_version")
# What designers reach for, and what it is called here.
_SYNONYMS = {
    "headline": "title",
    "name": "title",
    "link": "url",
    "href": "url",
    "permalink": "url",
    "outlet": "source",
    "publisher": "source",
    "site": "sitename",
    "published": "date",
    "pubdate": "date",
    "body": "text",
    "content": "text",
    "excerpt": "text",
    "byline": "author",
    "tags": "tags",
    "why_it_matters": "why",
}
_LOOP_NAMES = ("story", "number", "section")


def _problem(
    exc: Exception,
    name: str,
    env: jinja2.Environment,
    searched: list[Path],
    *,
    alone: bool = False,
    unused: bool = False,
) -> Problem:
    """The problem an exception raised while loading or rendering `name` stands for.

    `alone`: `name` was rendered on its own (no other template reached it); `unused`:
    and the three newsletter templates rendered without it.
    """
    frame_file, frame_line = _template_frame(exc)
    file = frame_file or _filename(env, name)
    line = frame_line
    note = ""
    if alone:
        note = " (checked on its own, with digest, stories, story, number and section"
        note += f": {', '.join(TEMPLATES)} do not use {name})" if unused else ")"
    if isinstance(exc, jinja2.TemplateSyntaxError):  # and TemplateAssertionError
        file = exc.filename or file
        line = exc.lineno
        filter_hint = _filter_or_test_hint(exc.message or str(exc), env)
        if filter_hint:
            return Problem(file, line, exc.message or str(exc), filter_hint + note)
        return Problem(file, line, f"syntax error: {exc.message}", _SYNTAX_HINT + note)
    if isinstance(exc, jinja2.TemplateNotFound):  # and TemplatesNotFound
        missing = ", ".join(repr(n) for n in exc.templates) if exc.templates else repr(exc.name)
        places = "; ".join(
            f"{i}. {path}" + ("" if path.is_dir() else " (does not exist)")
            for i, path in enumerate(searched, 1)
        )
        hint = (
            f"looked in, in order: {places}. Names are relative to these directories; "
            'the theme\'s own are also "default/NAME"'
        )
        return Problem(file, line, f"template {missing} not found", hint + note)
    if isinstance(exc, jinja2.UndefinedError):
        message = exc.message or str(exc)
        return Problem(file, line, message, _undefined_hint(message) + note)
    text = str(exc)
    filter_hint = _filter_or_test_hint(text, env)
    if filter_hint:
        return Problem(file, line, text, filter_hint + note)
    return Problem(
        file,
        line,
        f"{type(exc).__name__}: {text}",
        "this line failed while rendering an invented issue; check the values it uses "
        "and the filters' arguments (docs/templates.md lists both)" + note,
    )


def _template_frame(exc: BaseException) -> tuple[str | None, int | None]:
    """The innermost template file and line in the traceback (Jinja adds those frames)."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.endswith(TEMPLATE_SUFFIX):
            return frame.filename, frame.lineno
    return None, None


def _close(word: str, choices: list[str] | tuple[str, ...]) -> str:
    matches = difflib.get_close_matches(word, list(choices), n=3, cutoff=0.6)
    return f"did you mean {' or '.join(matches)}? " if matches else ""


def _filter_or_test_hint(message: str, env: jinja2.Environment) -> str:
    if match := _UNKNOWN_FILTER.search(message):
        ours = sorted(FILTERS)
        builtin = sorted(set(env.filters) - set(FILTERS))
        return (
            f"{_close(match.group(1), sorted(env.filters))}the filters are digest's "
            f"{', '.join(ours)} (see docs/templates.md) and Jinja's {', '.join(builtin)}"
        )
    if match := _UNKNOWN_TEST.search(message):
        tests = sorted(env.tests)
        return f"{_close(match.group(1), tests)}the tests are {', '.join(tests)}"
    return ""


def _attributes(cls: type) -> list[str]:
    """The fields and properties a template can read on a model object."""
    names = [f.name for f in dataclasses.fields(cls)] if dataclasses.is_dataclass(cls) else []
    names += [n for n, v in vars(cls).items() if isinstance(v, property) and n not in names]
    return names


def _model(type_name: str) -> type | None:
    module, _, cls_name = type_name.rpartition(".")
    if module != models.__name__:
        return None
    cls = getattr(models, cls_name, None)
    return cls if isinstance(cls, type) else None


def _undefined_hint(message: str) -> str:
    if match := _NO_ATTRIBUTE.match(message):
        return _attribute_hint(match.group("type"), match.group("attr"))
    if match := _NO_ELEMENT.match(message):
        return (
            f"there is no element {match.group('key')} here: a list may be shorter than "
            "you think (test it with {% if x | length > n %}), or loop over it with {% for %}"
        )
    if match := _UNDEFINED_NAME.match(message):
        name = match.group("name")
        digest_fields = _attributes(Digest)
        suggestion = f"did you mean digest.{name}? " if name in digest_fields else ""
        suggestion = suggestion or _close(name, _CONTEXT_NAMES + _LOOP_NAMES)
        if not suggestion and (near := difflib.get_close_matches(name, digest_fields, n=2)):
            suggestion = f"did you mean {' or '.join(f'digest.{n}' for n in near)}? "
        return (
            f"{suggestion}the templates see {', '.join(_CONTEXT_NAMES)}; inside a pick "
            "(_story.html.j2, the `story` block) also story and number; inside a section "
            "(_section.html.j2, _more.html.j2) section and story; names you {% set %} "
            "yourself, and loop variables"
        )
    return "see docs/templates.md for every variable the templates see"


def _attribute_hint(type_name: str, attr: str) -> str:
    cls = _model(type_name)
    if cls is None:
        kind = type_name.rpartition(".")[2]
        if kind in {"tuple", "list"}:
            return (
                "this is a list: loop over it with {% for x in ... %}, take one with [0], "
                "or count it with | length"
            )
        if kind == "str":
            return "this is text (str): it has no attributes; filters such as | upper apply"
        return f"this is a {kind}, not one of digest's objects (docs/templates.md lists them)"
    name = _VARIABLES.get(cls.__name__, cls.__name__.lower())
    available = _attributes(cls)
    wanted = _SYNONYMS.get(attr.lower(), attr)
    if wanted != attr and wanted in available:
        return f"did you mean {name}.{wanted}? {name} has: {', '.join(available)}"
    deeper = [
        f"{name}.{field}.{wanted}"
        for field, inner in _NESTED.get(cls.__name__, {}).items()
        if wanted in _attributes(getattr(models, inner))
        and field not in {"stories", "more", "evidence"}
    ]
    suggestion = f"did you mean {' or '.join(deeper)}? " if deeper else _close(attr, available)
    return f"{suggestion}{name} has: {', '.join(available)}"


# --- the rules of email HTML ---------------------------------------------------------


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _stylesheet(attrs: dict[str, str | None]) -> bool:
    return "stylesheet" in (attrs.get("rel") or "").lower()


# kind: (what is wrong, what to do)
_RULES: dict[str, tuple[str, str]] = {
    "script": (
        "<script> in the email",
        "remove it: mail clients strip scripts, and spam filters count them against you",
    ),
    "form": (
        "<form> in the email",
        "link to a web page instead: most mail clients disable forms or warn about them",
    ),
    "iframe": ("<iframe> in the email", "link to the page instead: no mail client shows frames"),
    "link": (
        '<link rel="stylesheet"> in the email',
        "put the rules in _styles.css.j2 (they are inlined); mail clients do not load CSS",
    ),
    "import": (
        "@import in the CSS",
        "put the rules in _styles.css.j2 (they are inlined); mail clients do not load CSS",
    ),
    "img": (
        "<img> without alt text",
        'add alt="..." saying what the picture shows (alt="" for decoration): many '
        "readers see images blocked, and screen readers read the alt",
    ),
    "table": (
        '<table> without role="presentation"',
        'add role="presentation" to layout tables, so screen readers do not read them as data',
    ),
    "lang": (
        "<html> without a lang attribute",
        'add lang="{{ digest.language }}": screen readers pick their voice from it',
    ),
}


def _check_html(html: str, file: str) -> list[tuple[str, Problem]]:
    """The HTML of the sample issue against the rules of email: (kind, problem) pairs."""
    found: list[tuple[str, Problem]] = []

    def add(kind: str, detail: str = "") -> None:
        message, hint = _RULES[kind]
        found.append((kind, Problem(file, None, message + detail, hint)))

    size = len(html.encode("utf-8"))
    if size > MAX_HTML_BYTES:
        found.append(
            (
                "size",
                Problem(
                    file,
                    None,
                    f"the HTML of an invented issue is {size / 1024:.0f} KB; Gmail clips "
                    "an email over 102 KB and hides the rest",
                    f"keep it under {MAX_HTML_BYTES // 1024} KB: every class's CSS is "
                    "inlined on each element that uses it, so trim rules and repeated markup",
                ),
            )
        )
    parser = _Tags()
    parser.feed(html)
    parser.close()
    for tag, attrs in parser.tags:
        if tag in {"script", "form", "iframe"}:
            add(tag)
        elif tag == "link" and _stylesheet(attrs):
            add("link")
        elif tag == "img" and "alt" not in attrs:
            add("img", f" (src={attrs.get('src') or ''})")
        elif tag == "table" and (attrs.get("role") or "") != "presentation":
            add("table")
        elif tag == "html" and not (attrs.get("lang") or "").strip():
            add("lang")
    if re.search(r"@import\b", html, re.IGNORECASE):
        add("import")
    return list(dict.fromkeys(found))


_JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)
_HTML_COMMENT = re.compile(r"<!--(?!\[if).*?-->", re.DOTALL)
_TAG = re.compile(r"<(script|form|iframe|link|img|table)\b([^>]*)>", re.IGNORECASE)


def _blank(match: re.Match[str]) -> str:
    """A comment replaced by its newlines, so that line numbers stay right."""
    return "\n" * match.group(0).count("\n")


def _scan_source(name: str, filename: str) -> list[tuple[str, Problem]]:
    """The email rules a template's own source breaks, with their lines."""
    if not (name.endswith(".html.j2") or name.endswith(".css.j2")):
        return []
    try:
        source = Path(filename).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    source = _HTML_COMMENT.sub(_blank, _JINJA_COMMENT.sub(_blank, source))
    found: list[tuple[str, Problem]] = []

    def add(kind: str, offset: int) -> None:
        message, hint = _RULES[kind]
        found.append((kind, Problem(filename, source.count("\n", 0, offset) + 1, message, hint)))

    for match in _TAG.finditer(source):
        tag, attrs = match.group(1).lower(), match.group(2)
        if tag in {"script", "form", "iframe"}:
            add(tag, match.start())
        elif tag == "link" and "stylesheet" in attrs.lower():
            add("link", match.start())
        elif tag == "img" and not re.search(r"\balt\s*=", attrs, re.IGNORECASE):
            add("img", match.start())
        elif tag == "table" and not re.search(
            r"\brole\s*=\s*[\"']?presentation", attrs, re.IGNORECASE
        ):
            add("table", match.start())
    for match in re.finditer(r"@import\b", source, re.IGNORECASE):
        add("import", match.start())
    return found
