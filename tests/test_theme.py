"""The theme for designers: email-grade HTML, blocks and partials one at a time,
`digest.theme.init` and `digest.theme.check`, and docs/templates.md kept in step."""

from __future__ import annotations

import dataclasses
import difflib
import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import jinja2
import pytest

from digest import models, theme
from digest.detect import verdict as verdict_module
from digest.models import Digest
from digest.render import FILTERS, Rendered, find_theme_dir, make_environment, plain, render
from digest.theme import MAX_HTML_BYTES, Problem, ThemeError, check, init, sample_digest

DOCS = Path(__file__).resolve().parent.parent / "docs" / "templates.md"
BLOCKS = ("preheader", "header", "intro", "stories", "more", "footer", "owner")
PARTIALS = (
    "_header.html.j2",
    "_note.html.j2",
    "_story.html.j2",
    "_section.html.j2",
    "_more.html.j2",
    "_footer.html.j2",
    "_owner.html.j2",
    "_labels.html.j2",
)


@pytest.fixture(scope="module")
def sample() -> Rendered:
    return render(sample_digest())


class Markup(HTMLParser):
    """Start tags with their attributes, the text, and the <style> blocks, outside
    comments (so outside Outlook's `<!--[if mso]>` conditional markup)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.styles: list[str] = []
        self.text: list[str] = []
        self.comments: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        (self.styles if self._in_style else self.text).append(data)

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)


def parse(html: str) -> Markup:
    markup = Markup()
    markup.feed(html)
    markup.close()
    return markup


# --- email-grade HTML ----------------------------------------------------------------


def test_html_follows_the_rules_of_email(sample: Rendered) -> None:
    html = sample.html
    doc = parse(html)
    assert len(html.encode("utf-8")) < MAX_HTML_BYTES
    (root,) = [attrs for tag, attrs in doc.tags if tag == "html"]
    assert root.get("lang") == "en"
    tables = [attrs for tag, attrs in doc.tags if tag == "table"]
    assert len(tables) >= 6
    assert all(attrs.get("role") == "presentation" for attrs in tables)
    assert all("alt" in attrs for tag, attrs in doc.tags if tag == "img")
    names = {tag for tag, _ in doc.tags}
    assert not names & {"script", "form", "iframe", "object", "embed", "link"}
    assert "@import" not in html
    assert "javascript:" not in html.lower()


def test_every_img_needs_alt_even_when_a_designer_adds_one(tmp_path: Path) -> None:
    (tmp_path / "_note.html.j2").write_text(
        '<tr><td><img src="https://news.example.com/masthead.png" alt="The masthead"></td></tr>\n',
        encoding="utf-8",
    )
    doc = parse(render(sample_digest(), tmp_path).html)
    images = [attrs for tag, attrs in doc.tags if tag == "img"]
    assert images and all(attrs.get("alt") for attrs in images)
    assert check(tmp_path) == []


def test_hybrid_600px_layout_with_an_outlook_ghost_table(sample: Rendered) -> None:
    html = sample.html
    doc = parse(html)
    (container,) = [a for tag, a in doc.tags if tag == "table" and a.get("class") == "container"]
    assert container.get("width") == "600"
    style = (container.get("style") or "").replace(" ", "")
    assert "max-width:600px" in style and "width:100%" in style
    media = re.search(r"@media \(max-width: 620px\) \{(.*?)\n\}", html, re.DOTALL)
    assert media is not None and ".container { width: 100% !important; }" in media.group(1)
    ghost = '<!--[if mso]><table role="presentation" width="600" align="center"'
    assert ghost in html and "<!--[if mso]></td></tr></table><![endif]-->" in html
    head = html[: html.index("</head>")]
    assert "<o:PixelsPerInch>96</o:PixelsPerInch>" in head and "<!--[if mso]>" in head
    assert 'xmlns:o="urn:schemas-microsoft-com:office:office"' in head
    assert head.index('<meta charset="utf-8">') < 200


def test_preheader_is_hidden(sample: Rendered) -> None:
    doc = parse(sample.html)
    (preheader,) = [a for tag, a in doc.tags if a.get("class") == "preheader"]
    style = (preheader.get("style") or "").replace(" ", "")
    assert "display:none" in style and "mso-hide:all" in style and "opacity:0" in style
    body_text = "".join(doc.text)
    assert "Four outlets covered the leading story; the number" in body_text  # no Markdown


def test_colours_are_explicit_and_dark_mode_is_styled(sample: Rendered) -> None:
    html = sample.html
    doc = parse(html)
    assert '<meta name="color-scheme" content="light dark">' in html
    css = "".join(doc.styles)
    dark = css[css.index("@media (prefers-color-scheme: dark)") :]
    for selector in (".container", ".title", ".story-summary", ".more-item", ".footer-link"):
        assert selector in dark
    assert "[data-ogsc] .title" in css and "[data-ogsb] .container" in css
    assert 'data-css-inline="keep"' not in html
    for tag, attrs in doc.tags:
        if tag in {"p", "h1", "h2", "h3", "a"}:  # text never left to the client's default
            assert "color:" in (attrs.get("style") or ""), (tag, attrs)


# Properties that Gmail or Outlook (Word's renderer) drop or get wrong.
IGNORED = ("position", "float", "background-image")
FLEX_OR_GRID = re.compile(r"^(inline-)?(flex|grid)\b")


def _declarations(css: str) -> list[tuple[str, str]]:
    found = []
    for declaration in css.split(";"):
        name, colon, value = declaration.partition(":")
        if colon:
            found.append((name.strip().lower(), value.strip().lower()))
    return found


def _without_media(css: str) -> str:
    """The CSS with every @-rule block (and what it nests) taken out."""
    out, depth, skipping, i = [], 0, False, 0
    while i < len(css):
        if not skipping and css.startswith("@", i):
            skipping, depth = True, 0
        char = css[i]
        if skipping:
            depth += char == "{"
            depth -= char == "}"
            if char == "}" and depth == 0:
                skipping = False
        else:
            out.append(char)
        i += 1
    return "".join(out)


def layout_offences(html: str) -> list[str]:
    """CSS that Gmail or Outlook ignore, carrying layout where it must not.

    The rule: outside `<!--[if mso]>` conditional markup (a comment to every other
    client) and outside @media blocks (read only by clients that understand them), no
    inline `style=""` (after the CSS is inlined) and no rule left in a `<style>` block
    may use `position`, `float`, `display: flex`/`grid`, `background-image` (or a
    `background` with a `url()`), or `margin: auto` (Outlook ignores it for layout:
    centre with `align="center"` instead). `max-width` is allowed on an element only
    when the same element carries a `width="..."` attribute, the fallback for Outlook,
    which ignores `max-width`; in a stylesheet rule it has no element to vouch for it,
    so it is not allowed there at all.
    """
    offences: list[str] = []

    def judge(where: str, css: str, has_width_attribute: bool) -> None:
        for name, value in _declarations(css):
            if name in IGNORED:
                offences.append(f"{where}: {name}")
            elif name == "background" and "url(" in value:
                offences.append(f"{where}: background url()")
            elif name == "display" and FLEX_OR_GRID.match(value):
                offences.append(f"{where}: display {value}")
            elif name in {"margin", "margin-left", "margin-right"} and "auto" in value:
                offences.append(f"{where}: {name} auto")
            elif name == "max-width" and not has_width_attribute:
                offences.append(f"{where}: max-width without a width attribute")

    doc = parse(html)
    for tag, attrs in doc.tags:
        if attrs.get("style"):
            judge(f"<{tag} class={attrs.get('class')}>", attrs["style"] or "", "width" in attrs)
    for block in doc.styles:
        for rule in re.finditer(r"([^{}]+)\{([^{}]*)\}", _without_media(block)):
            judge(rule.group(1).strip(), rule.group(2), has_width_attribute=False)
    return offences


def test_no_layout_rests_on_css_that_gmail_or_outlook_ignore(sample: Rendered) -> None:
    assert layout_offences(sample.html) == []
    owner_free = render(replace(sample_digest(), health=(), shortened=False, web_url="")).html
    assert layout_offences(owner_free) == []


def test_the_layout_rule_catches_what_it_should() -> None:
    html = (
        "<html><head><style>.a { float: left; } @media (max-width: 600px) { .b { float: none; }"
        " .c { position: absolute; } }</style></head><body>"
        '<div style="display: flex">x</div><div style="max-width: 600px">y</div>'
        '<table width="600" style="max-width: 600px"><tr><td style="margin: 0 auto">z</td></tr>'
        '</table><!--[if mso]><div style="position: absolute"></div><![endif]-->'
        '<p style="background: #fff url(x.png)">b</p></body></html>'
    )
    assert layout_offences(html) == [
        "<div class=None>: display flex",
        "<div class=None>: max-width without a width attribute",
        "<td class=None>: margin auto",
        "<p class=None>: background url()",
        ".a: float",
    ]


# --- blocks and partials, one at a time ----------------------------------------------


def _line_span(default: str, marked: str) -> tuple[int, int]:
    """The lines of `default` a block fills, from a render that wraps it in markers."""
    before, rest = marked.split("<!--BEGIN-->", 1)
    inside, after = rest.split("<!--END-->", 1)
    assert before + inside + after == default, "the markers moved something"
    return default.count("\n", 0, len(before)), default.count("\n", 0, len(before) + len(inside))


def _changed_lines(old: str, new: str) -> list[tuple[int, int]]:
    matcher = difflib.SequenceMatcher(None, old.splitlines(), new.splitlines(), autojunk=False)
    return [(i1, i2) for op, i1, i2, _, _ in matcher.get_opcodes() if op != "equal"]


def _user_dir(tmp_path: Path, name: str, source: str) -> Path:
    folder = tmp_path / name.replace(".", "-")
    folder.mkdir()
    (folder / name).write_text(source, encoding="utf-8")
    return folder


@pytest.mark.parametrize("block", BLOCKS)
def test_overriding_one_block_changes_only_that_block(
    tmp_path: Path, sample: Rendered, block: str
) -> None:
    extends = '{% extends "default/digest.html.j2" %}\n'
    marker = f"{{% block {block} %}}<!--BEGIN-->{{{{ super() }}}}<!--END-->{{% endblock %}}\n"
    marked = render(sample_digest(), _user_dir(tmp_path, "digest.html.j2", extends + marker))
    first, last = _line_span(sample.html, marked.html)
    assert last > first, f"the {block} block is empty in the sample"

    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "digest.html.j2").write_text(
        extends + f"{{% block {block} %}}<tr><td>Our own {block}</td></tr>\n{{% endblock %}}\n",
        encoding="utf-8",
    )
    custom = render(sample_digest(), tmp_path / "mine")
    assert f"Our own {block}" in custom.html
    changes = _changed_lines(sample.html, custom.html)
    assert changes
    for start, end in changes:
        assert first <= start and end <= last + 1, (block, first, last, start, end)
    assert custom.text == sample.text and custom.markdown == sample.markdown


def test_a_user_footer_partial_replaces_the_footer(tmp_path: Path, sample: Rendered) -> None:
    folder = _user_dir(
        tmp_path,
        "_footer.html.j2",
        '<tr><td class="footer"><p class="footer-text">Sent by the motoring desk. '
        '<a class="footer-link" href="{{ digest.unsubscribe_url | safe_url }}">Leave</a>'
        "</p></td></tr>\n",
    )
    custom = render(sample_digest(), folder)
    assert "Sent by the motoring desk." in custom.html
    assert "You are receiving this" not in custom.html
    marked = render(
        sample_digest(),
        _user_dir(
            tmp_path,
            "digest.html.j2",
            '{% extends "default/digest.html.j2" %}\n'
            "{% block footer %}<!--BEGIN-->{{ super() }}<!--END-->{% endblock %}\n",
        ),
    )
    first, last = _line_span(sample.html, marked.html)
    for start, end in _changed_lines(sample.html, custom.html):
        assert first <= start and end <= last + 1
    inlined = parse(custom.html)
    (link,) = [a for tag, a in inlined.tags if tag == "a" and a.get("class") == "footer-link"]
    assert "color:" in (link.get("style") or "")  # the theme's CSS still applies


def test_a_user_labels_file_rewords_every_ai_label(tmp_path: Path, sample: Rendered) -> None:
    theme_labels = (find_theme_dir() / "_labels.html.j2").read_text(encoding="utf-8")
    folder = _user_dir(
        tmp_path, "_labels.html.j2", theme_labels.replace("({{ label_text(verdict) }})", "(AI)")
    )
    custom = render(sample_digest(), folder)
    assert '<span class="also-ai" style="color: #8a3b12;">(AI)</span>' in custom.html
    assert '<p class="story-ai"' in custom.html  # the other macros still the theme's


def test_a_user_labels_file_translates_the_ai_label_in_every_format(
    tmp_path: Path, sample: Rendered
) -> None:
    theme_labels = (find_theme_dir() / "_labels.html.j2").read_text(encoding="utf-8")
    german = theme_labels.replace(
        '"byline": "the publisher\'s byline reads"', '"byline": "die Autorenzeile lautet"'
    ).replace(
        "AI-generated: {{ evidence_reason(first) }}", "KI-erstellt: {{ evidence_reason(first) }}"
    )
    assert german != theme_labels
    custom = render(sample_digest(), _user_dir(tmp_path, "_labels.html.j2", german))
    said = "KI-erstellt: die Autorenzeile lautet \u201cGenerated by AI Agent Marlow Quill\u201d"
    for text in (_squashed(custom.html), _squashed(custom.text), _squashed(custom.markdown)):
        assert said in text
        assert "publisher's byline" not in text
    assert "the publisher's byline reads" in _squashed(sample.text)


def test_a_label_quote_is_escaped_once_in_html_and_kept_as_written_in_text() -> None:
    digest = sample_digest()
    story = digest.stories[0]
    evidence = models.Evidence("disclosed", "byline", 'Bot <b>Desk</b> & "Co"', "byline")
    verdict = replace(story.article.verdict, level="disclosed", evidence=(evidence,))
    article = replace(story.article, verdict=verdict)
    rendered = render(
        replace(digest, stories=(replace(story, article=article), *digest.stories[1:]))
    )
    assert 'Bot &lt;b&gt;Desk&lt;/b&gt; &amp; "Co"' in rendered.html
    assert "<b>Desk</b>" not in rendered.html and "&amp;lt;" not in rendered.html
    assert 'Bot <b>Desk</b> & "Co"' in _squashed(rendered.text)


def _squashed(text: str) -> str:
    return " ".join(text.split())


def test_the_theme_has_its_partials() -> None:
    files = {path.name for path in theme.theme_files()}
    assert set(PARTIALS) <= files
    assert {"base.html.j2", "digest.html.j2", "digest.txt.j2", "digest.md.j2"} <= files
    source = (find_theme_dir() / "digest.html.j2").read_text(encoding="utf-8")
    for partial in ("_header", "_note", "_story", "_section", "_footer", "_owner"):
        assert f'{{% include "{partial}.html.j2" %}}' in source


# --- the new fields --------------------------------------------------------------------


def test_web_archive_unsubscribe_and_shortened_show_in_all_three(sample: Rendered) -> None:
    digest = sample_digest()
    doc = parse(sample.html)
    links = {(a.get("href"), a.get("class")) for tag, a in doc.tags if tag == "a"}
    text = " ".join("".join(doc.text).split())
    assert (digest.web_url, "topline-link") in links
    assert (digest.archive_url, "footer-link") in links
    assert (digest.unsubscribe_url, "footer-link") in links
    assert (digest.web_url, "shortened-link") in links
    for words in ("View in browser", "Past issues", "Unsubscribe"):
        assert words in text
    assert "This email was shortened; read the full issue online." in text
    assert text.index("View in browser") < text.index(f"Issue {digest.issue_number}")

    lines = sample.text.splitlines()
    assert lines[3:5] == ["View in browser:", digest.web_url]
    for label, url in (
        ("Past issues:", digest.archive_url),
        ("Unsubscribe:", digest.unsubscribe_url),
    ):
        assert lines[lines.index(label) + 1] == url
    assert "This email was shortened; read the full issue online:" in lines

    md = sample.markdown
    assert f"[View in browser]({digest.web_url})" in md
    assert f"[Past issues]({digest.archive_url}) · [Unsubscribe]({digest.unsubscribe_url})" in md
    assert f"*This email was shortened; [read the full issue online]({digest.web_url}).*" in md


def test_new_fields_stay_out_when_unset() -> None:
    digest = replace(
        sample_digest(), web_url="", archive_url="", unsubscribe_url="", shortened=False
    )
    out = render(digest)
    for part in ("".join(parse(out.html).text), out.text, out.markdown):
        for words in ("View in browser", "Past issues", "Unsubscribe", "shortened"):
            assert words not in part
    assert "href" not in out.html.split('class="footer"', 1)[1].split("</td>", 1)[0]


def test_shortened_without_a_web_copy_says_so_without_a_link() -> None:
    out = render(replace(sample_digest(), web_url=""))
    assert "This email was shortened to stay within your inbox" in out.html
    assert "read the full issue online" not in out.html + out.text + out.markdown


def test_mailto_unsubscribe_is_kept_and_encoded() -> None:
    mailto = "mailto:list@news.example.com?subject=unsubscribe sample weekly"
    out = render(replace(sample_digest(), unsubscribe_url=mailto))
    encoded = "mailto:list@news.example.com?subject=unsubscribe%20sample%20weekly"
    assert f'href="{mailto}"' in out.html
    assert encoded in out.text.splitlines()
    assert f"[Unsubscribe]({encoded})" in out.markdown


def test_unsafe_new_links_are_neutralised() -> None:
    out = render(replace(sample_digest(), web_url="javascript:alert(1)"))
    assert "javascript:" not in out.html


# --- the plain text, for people --------------------------------------------------------


def test_sample_text_is_written_for_people(sample: Rendered) -> None:
    lines = sample.text.splitlines()
    url_line = re.compile(r"\s*(https?|mailto):\S+")
    assert all(len(line) <= 78 for line in lines if not url_line.fullmatch(line))
    for line in lines:
        if "http" in line or "mailto:" in line:
            assert url_line.fullmatch(line), line
    numbered = [line for line in lines if re.match(r"\d+\.\s{2}\S", line)]
    assert [line.split(".")[0] for line in numbered] == ["1", "2", "3", "4"]
    assert "\n\n\n\n" not in sample.text
    assert "<" not in sample.text.replace("<script>", "")


# --- theme.init ------------------------------------------------------------------------


def test_init_copies_every_theme_file_and_a_readme(tmp_path: Path) -> None:
    target = tmp_path / "my-theme"
    written = init(target)
    theme_dir = find_theme_dir()
    expected = {p.relative_to(theme_dir) for p in theme_dir.rglob("*.j2")}
    assert {p.relative_to(target) for p in written} == expected | {
        Path("README.txt"),
        Path("templates.md"),  # the reference, which a pip install has no docs/ for
    }
    assert (target / "templates.md").read_text() == (
        Path(__file__).parents[1] / "docs" / "templates.md"
    ).read_text()
    for rel in expected:
        assert (target / rel).read_bytes() == (theme_dir / rel).read_bytes()
    readme = (target / "README.txt").read_text(encoding="utf-8")
    assert "Delete what you do not change" in readme
    assert "default/digest.html.j2" in readme
    assert render(sample_digest(), target) == render(sample_digest())
    assert check(target) == []


def test_init_refuses_to_overwrite_and_names_the_files(tmp_path: Path) -> None:
    (tmp_path / "_footer.html.j2").write_text("mine\n", encoding="utf-8")
    (tmp_path / "README.txt").write_text("my notes\n", encoding="utf-8")
    with pytest.raises(ThemeError) as info:
        init(tmp_path)
    message = str(info.value)
    assert str(tmp_path / "_footer.html.j2") in message and "README.txt" in message
    assert "--force" in message
    assert set(info.value.files) == {tmp_path / "_footer.html.j2", tmp_path / "README.txt"}
    assert isinstance(info.value, FileExistsError)  # what `digest templates init` catches
    assert (tmp_path / "_footer.html.j2").read_text(encoding="utf-8") == "mine\n"
    assert not (tmp_path / "_story.html.j2").exists()  # nothing at all was copied

    init(tmp_path, force=True)
    assert (tmp_path / "_footer.html.j2").read_bytes() == (
        find_theme_dir() / "_footer.html.j2"
    ).read_bytes()


def test_init_refuses_a_file_as_target(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(ThemeError, match="not a directory"):
        init(tmp_path / "file")


# --- theme.check -----------------------------------------------------------------------


def test_check_finds_nothing_in_the_shipped_theme() -> None:
    assert check(None) == []


def test_the_shipped_theme_renders_strictly_for_every_variant() -> None:
    env = make_environment(strict=True)
    bare = replace(sample_digest(), stories=(), more=(), editor="", editor_line="", note="")
    for digest in (sample_digest(), bare):
        for name in ("digest.html.j2", "digest.txt.j2", "digest.md.j2"):
            env.get_template(name).render(digest=digest, stories=digest.stories)
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ digest.nope }}").render(digest=sample_digest())
    assert make_environment().from_string("[{{ nope }}]").render() == "[]"  # normal runs


def test_problem_prints_as_file_line_then_hint() -> None:
    problem = Problem("t/_story.html.j2", 12, "'x' is undefined", "the templates see digest")
    assert str(problem) == "t/_story.html.j2:12: 'x' is undefined\n  hint: the templates see digest"
    assert str(Problem("t", None, "m", "h")) == "t: m\n  hint: h"


def _only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, "\n".join(map(str, problems))
    return problems[0]


def test_check_reports_a_syntax_error_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "digest.html.j2").write_text(
        '{% extends "default/digest.html.j2" %}\n'
        "{% block footer %}\n"
        "<tr><td>\n"
        "{% if digest.archive_url %}Past issues\n"
        "</td></tr>\n"
        "{% endblock %}\n",
        encoding="utf-8",
    )
    problem = _only(check(tmp_path))
    assert problem.file == str(tmp_path / "digest.html.j2")
    assert problem.line == 6
    assert "endblock" in problem.message and "'if'" in problem.message
    assert "check the {% %} tags are balanced" in problem.hint
    assert str(problem).startswith(f"{tmp_path / 'digest.html.j2'}:6: syntax error:")


def test_check_reports_an_undefined_attribute_with_what_there_is(tmp_path: Path) -> None:
    story = (find_theme_dir() / "_story.html.j2").read_text(encoding="utf-8")
    lines = story.splitlines()
    at = next(i for i, line in enumerate(lines) if 'class="story-title"' in line)
    lines[at] = '<h2 class="story-title">{{ story.headline }}</h2>'
    (tmp_path / "_story.html.j2").write_text("\n".join(lines) + "\n", encoding="utf-8")
    problem = _only(check(tmp_path))
    assert (problem.file, problem.line) == (str(tmp_path / "_story.html.j2"), at + 1)
    assert "has no attribute 'headline'" in problem.message
    assert "story has: article, summary, score, others, section, outlets, flagged" in problem.hint
    assert "did you mean story.article.title?" in problem.hint


def test_check_reports_an_unknown_filter_with_the_filters(tmp_path: Path) -> None:
    (tmp_path / "digest.txt.j2").write_text(
        "{{ digest.title }}\n\n{{ digest.title | shout }}\n", encoding="utf-8"
    )
    problem = _only(check(tmp_path))
    assert (problem.file, problem.line) == (str(tmp_path / "digest.txt.j2"), 3)
    assert "No filter named 'shout'" in problem.message
    for name in FILTERS:
        assert name in problem.hint
    assert "upper" in problem.hint and "truncate" in problem.hint


def test_check_reports_a_filter_unknown_only_at_runtime(tmp_path: Path) -> None:
    (tmp_path / "digest.md.j2").write_text(
        "# x\n{% if digest.stories %}\n{{ digest.title | shout }}\n{% endif %}\n",
        encoding="utf-8",
    )
    problem = _only(check(tmp_path))
    assert (problem.file, problem.line) == (str(tmp_path / "digest.md.j2"), 3)
    assert "shout" in problem.message and "md_escape" in problem.hint


def test_check_reports_an_undefined_name_and_a_likely_meaning(tmp_path: Path) -> None:
    (tmp_path / "_footer.html.j2").write_text(
        "<tr><td>\n<p>{{ titel }}</p>\n</td></tr>\n", encoding="utf-8"
    )
    problem = _only(check(tmp_path))
    assert (problem.file, problem.line) == (str(tmp_path / "_footer.html.j2"), 2)
    assert problem.message == "'titel' is undefined"
    assert "did you mean digest.title?" in problem.hint and "tool_name" in problem.hint


def test_check_reports_a_missing_include_and_every_place_looked(tmp_path: Path) -> None:
    (tmp_path / "_note.html.j2").write_text(
        '<tr><td>\n{% include "_sponsor.html.j2" %}\n</td></tr>\n', encoding="utf-8"
    )
    problem = _only(check(tmp_path))
    assert (problem.file, problem.line) == (str(tmp_path / "_note.html.j2"), 2)
    assert "'_sponsor.html.j2' not found" in problem.message
    assert f"1. {tmp_path}" in problem.hint and f"2. {find_theme_dir()}" in problem.hint


def test_check_checks_a_partial_nothing_uses(tmp_path: Path) -> None:
    (tmp_path / "_spare.html.j2").write_text("<p>{{ story.title }}</p>\n", encoding="utf-8")
    problem = _only(check(tmp_path))
    assert (problem.file, problem.line) == (str(tmp_path / "_spare.html.j2"), 1)
    assert "did you mean story.article.title?" in problem.hint
    assert "do not use _spare.html.j2" in problem.hint


def test_check_applies_the_email_rules_to_the_templates(tmp_path: Path) -> None:
    (tmp_path / "_note.html.j2").write_text(
        "{# a comment may say <img> and <script> #}\n"
        "<tr><td>\n"
        '<img src="https://news.example.com/masthead.png">\n'
        "<table><tr><td>x</td></tr></table>\n"
        "<script>track()</script>\n"
        "</td></tr>\n",
        encoding="utf-8",
    )
    found = {(p.line, p.message.split(" ")[0]) for p in check(tmp_path)}
    assert found == {(3, "<img>"), (4, "<table>"), (5, "<script>")}


def test_check_applies_the_email_rules_to_the_output(tmp_path: Path) -> None:
    (tmp_path / "_note.html.j2").write_text(
        "<tr><td>{{ digest.note | markdown }}</td></tr>\n", encoding="utf-8"
    )
    big = replace(sample_digest(), note="![](https://news.example.com/a.png) " + "word " * 30000)
    problems = check(tmp_path, big)
    html_file = str(find_theme_dir() / "digest.html.j2")
    sizes = [p for p in problems if "Gmail clips" in p.message]
    assert [p.file for p in sizes] == [html_file]
    assert all(p.file == html_file for p in problems)


def test_check_names_an_absent_templates_dir(tmp_path: Path) -> None:
    problem = _only(check(tmp_path / "absent"))
    assert problem.file == str(tmp_path / "absent") and problem.line is None
    assert "does not exist" in problem.message and "digest templates init" in problem.hint


# --- docs/templates.md -----------------------------------------------------------------


def _documented(name: str, text: str) -> bool:
    return f"`{name}`" in text or re.search(rf"\b\w+\.{re.escape(name)}\b", text) is not None


def test_docs_mention_every_filter_and_every_field() -> None:
    text = DOCS.read_text(encoding="utf-8")
    ours = set(make_environment().filters) - set(jinja2.Environment().filters)
    assert ours == set(FILTERS)
    missing = [f"filter {name}" for name in sorted(ours) if f"`{name}`" not in text]
    for cls in (Digest, models.Story, models.Article, models.Summary, models.Verdict):
        names = [f.name for f in dataclasses.fields(cls)]
        names += [n for n, v in vars(cls).items() if isinstance(v, property)]
        missing += [f"{cls.__name__}.{n}" for n in names if not _documented(n, text)]
    for cls in (models.Section, models.Evidence):
        missing += [
            f"{cls.__name__}.{f.name}"
            for f in dataclasses.fields(cls)
            if not _documented(f.name, text)
        ]
    missing += [f"global {g}" for g in ("tool_name", "tool_version") if f"`{g}`" not in text]
    assert missing == []


def test_docs_mention_every_block_partial_and_command() -> None:
    text = DOCS.read_text(encoding="utf-8")
    source = "".join(p.read_text(encoding="utf-8") for p in find_theme_dir().glob("*.html.j2"))
    blocks = set(re.findall(r"\{%-?\s*block\s+(\w+)", source))
    assert set(BLOCKS) <= blocks
    assert [b for b in sorted(blocks) if f"`{b}`" not in text] == []
    assert [p.name for p in theme.theme_files() if p.name not in text] == []
    for words in ("digest templates init", "digest templates check", "default/digest.html.j2"):
        assert words in text


@pytest.mark.parametrize(
    "level, kind, where",
    [("disclosed", "disclosed", where) for where in (*verdict_module.PLACES, "somewhere-new")]
    + [("disclosed", "residue", "body"), ("listed", "listed", "config")]
    + [("suspected", "style", "text"), ("suspected", "disclosed", "links")],
)
def test_the_theme_says_each_label_as_report_json_does(level: str, kind: str, where: str) -> None:
    evidence = models.Evidence(kind, "rule-id", "Written  by\nAutomated Desk", where)
    verdict = models.Verdict(level, 0.5, (evidence,))  # type: ignore[arg-type]
    module = make_environment().get_template("_labels.html.j2").module
    said = plain(str(module.label_text(verdict)))  # type: ignore[attr-defined]
    assert said == verdict_module.label(verdict) != ""
