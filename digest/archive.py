"""The static web archive: an index of issues, a page per issue, and an Atom feed.

Layout (ready for GitHub Pages or any static host):

    archive/index.html                 the issues, newest first
    archive/feed.xml                   an Atom feed of issues
    archive/<issue-id>/index.html      the issue as it was emailed
    archive/<issue-id>/digest.json     the issue as data (the index is rebuilt from these),
                                       without the articles' extracted text: the archive is
                                       public, and that text is the publishers'

Each run adds (or replaces) its own issue and rebuilds the index and the feed from the
`digest.json` files present, so the archive needs no database and survives being
copied around. With `[archive] url` set, links are absolute and the email's "View in
browser" points at the issue's page.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import jinja2

from digest import deliver
from digest.config import Archive, Config
from digest.editorial import slug
from digest.models import Digest, to_jsonable
from digest.render import daterange

__all__ = ["Issue", "archive_dir", "issue_url", "public_data", "publish", "update"]

ATOM = "http://www.w3.org/2005/Atom"


@dataclass(frozen=True)
class Issue:
    """One archived issue, as the index and the feed need it."""

    id: str
    title: str
    number: int
    start: datetime
    end: datetime
    generated_at: datetime
    timezone: str
    editor: str
    headlines: tuple[str, ...]
    note: str

    @property
    def dates(self) -> str:
        return daterange(self.start, self.end, self.timezone)


def archive_dir(config: Config) -> Path:
    return config.archive.dir or config.output.dir / "archive"


def issue_url(settings: Archive, digest_id: str) -> str:
    """The issue's page: absolute with `[archive] url`, else "" (no web copy to link)."""
    return f"{settings.url.rstrip('/')}/{digest_id}/" if settings.url else ""


def update(settings: Archive, root: Path, digest: Digest, html: str) -> list[Path]:
    """Add this issue's page and data, then rebuild the index and the feed."""
    return publish(settings, root, to_jsonable(digest), html)


def publish(settings: Archive, root: Path, data: Mapping[str, Any], html: str) -> list[Path]:
    """Add an issue's page (`html`, as it was emailed) and its data (`data`: what the
    build's digest.json holds, made public here), then rebuild the index and the feed.
    `digest send DIR` archives a reviewed build this way, from its files."""
    public = public_data(data)
    folder = root / str(public["id"])
    folder.mkdir(parents=True, exist_ok=True)
    deliver.write_file(folder / "index.html", html)
    deliver.write_file(folder / "digest.json", deliver.json_file(public))
    issues = _issues(root)
    deliver.write_file(root / "index.html", _index(str(public["title"]), issues))
    deliver.write_file(root / "feed.xml", _feed(settings, str(public["title"]), issues))
    return [folder / "index.html", root / "index.html", root / "feed.xml"]


def public_data(data: Mapping[str, Any]) -> dict[str, Any]:
    """The issue as a public page may show it: no owner's lines, and each article without
    its extracted text (the summary, title, link and verdict stay)."""

    def article(one: Mapping[str, Any]) -> dict[str, Any]:
        return {**one, "text": ""}

    def story(one: Mapping[str, Any]) -> dict[str, Any]:
        others = [article(other) for other in one.get("others", [])]
        return {**one, "article": article(one["article"]), "others": others}

    def section(one: Mapping[str, Any]) -> dict[str, Any]:
        return {**one, "stories": [story(s) for s in one.get("stories", [])]}

    return {
        **data,
        "stories": [story(s) for s in data.get("stories", [])],
        "more": [section(m) for m in data.get("more", [])],
        "health": [],
    }


def remove(root: Path, digest_id: str) -> None:
    """Take an issue out (for tests and owners); the index is rebuilt on the next run."""
    shutil.rmtree(root / digest_id, ignore_errors=True)


def _issues(root: Path) -> list[Issue]:
    found = []
    for path in root.glob("*/digest.json"):
        try:
            found.append(_issue(json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError, KeyError, TypeError):
            continue  # a broken file does not take the archive down
    return sorted(found, key=lambda i: (i.end, i.id), reverse=True)


def _issue(data: dict[str, Any]) -> Issue:
    stories = data.get("stories") or []
    return Issue(
        id=str(data["id"]),
        title=str(data["title"]),
        number=int(data.get("issue_number", 1)),
        start=datetime.fromisoformat(data["period_start"]),
        end=datetime.fromisoformat(data["period_end"]),
        generated_at=datetime.fromisoformat(data["generated_at"]),
        timezone=str(data.get("timezone", "UTC")),
        editor=str(data.get("editor", "")),
        headlines=tuple(str(s["article"]["title"]) for s in stories[:3]),
        note=str(data.get("note", "")),
    )


_INDEX = jinja2.Environment(autoescape=True).from_string(
    """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>{{ title }}: past issues</title>
<link rel="alternate" type="application/atom+xml" title="{{ title }}" href="feed.xml">
<style>
body { margin: 0 auto; max-width: 42rem; padding: 2rem 1.25rem; line-height: 1.5;
  font-family: Georgia, "Times New Roman", serif; color: #2b2520; background: #fffbf6; }
h1 { font-size: 2rem; margin: 0 0 .25rem; }
.sub { color: #6b5f55; margin: 0 0 2rem; font-family: system-ui, sans-serif; }
ol { list-style: none; padding: 0; }
li { border-top: 1px solid #e7dccf; padding: 1rem 0; }
.meta { font: .85rem system-ui, sans-serif; color: #6b5f55; }
a { color: #0b5f7c; }
@media (prefers-color-scheme: dark) {
  body { background: #1a1816; color: #e2d9ce; }
  .sub, .meta { color: #a99d91; } li { border-color: #38312b; } a { color: #7fc8e6; }
}
</style>
</head>
<body>
<h1>{{ title }}</h1>
<p class="sub">{{ issues | length }} issue{{ "" if issues | length == 1 else "s" }} &middot;
<a href="feed.xml">Atom feed</a></p>
<ol>
{% for issue in issues %}
<li>
<p class="meta">Issue {{ issue.number }} &middot; {{ issue.dates }}</p>
<a href="{{ issue.id }}/">{{ issue.headlines[0] if issue.headlines else issue.id }}</a>
{% if issue.headlines | length > 1 %}
<p class="meta">Also: {{ issue.headlines[1:] | join("; ") }}</p>
{% endif %}
</li>
{% endfor %}
</ol>
</body>
</html>
"""
)


def _index(title: str, issues: list[Issue]) -> str:
    return _INDEX.render(title=title, issues=issues)


def _feed(settings: Archive, title: str, issues: list[Issue]) -> str:
    """Atom (RFC 4287): one entry per issue, linking its page."""
    ET.register_namespace("", ATOM)
    base = settings.url.rstrip("/") + "/" if settings.url else ""
    feed = ET.Element(f"{{{ATOM}}}feed")
    _text(feed, "title", f"{title}: past issues")
    _text(feed, "id", base + "feed.xml" if base else f"urn:digest:{slug(title)}")
    updated = max((i.generated_at for i in issues), default=None)
    _text(feed, "updated", updated.isoformat() if updated else "1970-01-01T00:00:00+00:00")
    _link(feed, base or "./", "alternate")
    if base:
        _link(feed, base + "feed.xml", "self")
    for issue in issues:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        _text(entry, "title", f"Issue {issue.number}: {issue.dates}")
        _text(entry, "id", f"{base}{issue.id}/" if base else f"urn:digest:{issue.id}")
        _text(entry, "updated", issue.generated_at.isoformat())
        _link(entry, f"{base}{issue.id}/", "alternate")
        author = ET.SubElement(entry, f"{{{ATOM}}}author")
        _text(author, "name", issue.editor or title)
        _text(entry, "summary", issue.note or "; ".join(issue.headlines))
    return ET.tostring(feed, encoding="unicode", xml_declaration=True) + "\n"


def _text(parent: ET.Element, name: str, value: str) -> None:
    ET.SubElement(parent, f"{{{ATOM}}}{name}").text = value


def _link(parent: ET.Element, href: str, rel: str) -> None:
    ET.SubElement(parent, f"{{{ATOM}}}link", {"href": href, "rel": rel})
