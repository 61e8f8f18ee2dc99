"""Property-based tests: any text in any field of a story yields safe HTML and a valid email.

Feeds are written by strangers: titles, outlet names, summaries, links and authors can
hold markup, scripts, `javascript:` links, event handlers, control characters and any
Unicode. Whatever hypothesis puts there, the rendered issue must
* contain no element or attribute that runs code or submits anything,
* link only to http(s) and mailto targets,
* show the text escaped (a `<script>` in a title is text, never a tag),
* and make an email that parses back with both parts and one-line headers.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from html.parser import HTMLParser

from hypothesis import given, settings
from hypothesis import strategies as st

from digest import deliver, render
from digest.config import Delivery
from digest.models import (
    Article,
    Digest,
    Evidence,
    Section,
    Story,
    Summary,
    Verdict,
)

CLOCK = datetime(2026, 11, 16, 7, 30, tzinfo=UTC)
HOSTILE = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)",
    "</td></tr></table><form action=//evil.example>",
    "<!--[if mso]><script>x</script><![endif]-->",
    "{{ digest.title }}{% raw %}",
    "\u202e\u0000\x07\r\n\t",
    "&lt;b&gt; &amp;amp; &#x3C;script&#x3E;",
]
text = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=120))
urls = st.one_of(
    st.sampled_from(
        [
            "javascript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:msgbox(1)",
            "https://example.org/a?b=1&c=<2>",
            'https://example.org/"onmouseover="alert(1)',
            "//evil.example/x",
            "",
        ]
    ),
    st.text(max_size=60),
)


def article(title: str, url: str, source: str, body: str, author: str, flagged: bool) -> Article:
    verdict = Verdict()
    if flagged:
        evidence = (Evidence("disclosed", "byline", author or "AI", "byline"),)
        verdict = Verdict("disclosed", 0.9, evidence, f"AI-generated: {author}")
    return Article(
        url=url,
        source=source,
        feed_url="https://example.org/feed.xml",
        title=title,
        text=body,
        method="feed",
        author=author,
        date=CLOCK - timedelta(days=1),
        verdict=verdict,
    )


@st.composite
def digests(draw: st.DrawFn) -> Digest:
    stories = []
    for _ in range(draw(st.integers(1, 3))):
        main = article(
            draw(text), draw(urls), draw(text), draw(text), draw(text), draw(st.booleans())
        )
        other = article(draw(text), draw(urls), draw(text), "", draw(text), draw(st.booleans()))
        summary = Summary(draw(text), "extractive", why=draw(text), tags=(draw(text),))
        stories.append(Story(main, summary, 1.0, (other,), draw(text)))
    more = Section(draw(text), tuple(stories[:1]))
    return Digest(
        id="t-2026-W46",
        title=draw(text) or "T",
        editor=draw(text),
        editor_title=draw(text),
        editor_line=draw(text),
        language="en",
        timezone="UTC",
        period_start=CLOCK - timedelta(days=7),
        period_end=CLOCK,
        generated_at=CLOCK,
        stories=tuple(stories),
        note=draw(text),
        more=(more,),
        web_url=draw(urls),
        archive_url=draw(urls),
        unsubscribe_url=draw(st.sampled_from(["", "mailto:leave@example.org", "javascript:x"])),
    )


class Audit(HTMLParser):
    """What a mail client would act on: elements, event handlers, link targets."""

    BANNED = frozenset({"script", "iframe", "object", "embed", "form", "input", "base", "link"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.BANNED:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"{tag} {name}=")
            if name in ("href", "src", "action", "background") and value is not None:
                target = value.strip().lower()
                if target and not target.startswith(("http://", "https://", "mailto:", "#")):
                    self.problems.append(f"{tag} {name}={value!r}")


@settings(max_examples=60, deadline=None)
@given(digests())
def test_any_text_renders_as_safe_html(digest: Digest) -> None:
    html = render.render(digest).html
    audit = Audit()
    audit.feed(html)
    audit.close()
    assert audit.problems == []
    assert "<script>alert(1)</script>" not in html


@settings(max_examples=40, deadline=None)
@given(digests())
def test_any_text_makes_a_valid_email(digest: Digest) -> None:
    rendered = render.render(digest)
    delivery = Delivery.model_validate({"from": "Digest <d@example.org>", "to": ["r@example.org"]})
    message = deliver.build_message(digest, digest.title, rendered.text, rendered.html, delivery)
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    assert parsed.get_body(("plain",)) is not None and parsed.get_body(("html",)) is not None
    for name in ("Subject", "From", "To", "Date", "Message-ID", "List-Id"):
        value = str(parsed[name])
        assert "\n" not in value and "\r" not in value, name
    assert all(
        len(line) <= 78 or "://" in line or "@" in line for line in rendered.text.splitlines()
    ) or _long_words(rendered.text)


def _long_words(text: str) -> bool:
    """A line may exceed 78 columns only because one unbreakable word does."""
    return all(
        len(line) <= 78 or any(len(word) > 60 for word in line.split())
        for line in text.splitlines()
    )
