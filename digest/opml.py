"""OPML in and out: `digest feeds import FILE.opml` and `digest feeds export`.

Import adds each outline's `xmlUrl` as a `[[feeds]]` table to `digest.toml`, edited with
tomlkit so the owner's comments and layout stay as they were; feeds already there (by
URL) are skipped. Export writes the configured feeds as OPML 2.0, their tags as the
outline's `category`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

import tomlkit
from lxml import etree
from tomlkit.items import AoT, Table

from digest.config import ConfigError, FeedConfig, parse_config


@dataclass(frozen=True)
class Outline:
    """One feed of an OPML file."""

    url: str
    name: str = ""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Imported:
    added: tuple[Outline, ...]
    present: tuple[Outline, ...]  # already in the config
    refused: tuple[tuple[Outline, str], ...]  # and why


def read_opml(data: bytes) -> list[Outline]:
    """The feeds of an OPML file, in order; nested folders become tags."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"not an OPML file: {exc}") from None
    if root.tag != "opml" or root.find("body") is None:
        raise ValueError("not an OPML file: no <opml><body>")
    return list(_outlines(root.find("body"), ()))


def _outlines(node: etree._Element, folders: tuple[str, ...]) -> list[Outline]:
    found: list[Outline] = []
    for child in node.iterfind("outline"):
        name = (child.get("title") or child.get("text") or "").strip()
        url = (child.get("xmlUrl") or "").strip()
        if url:
            tags = folders + tuple(_categories(child.get("category", "")))
            found.append(Outline(url, name, tuple(dict.fromkeys(tags))))
        else:
            found += _outlines(child, folders + ((name,) if name else ()))
    return found


def _categories(value: str) -> list[str]:
    """OPML 2.0 categories: comma-separated, each a slash path; its last part is a tag."""
    parts = (c.strip().strip("/").rsplit("/", 1)[-1] for c in value.split(","))
    return [p for p in parts if p]


def import_into(config_path: Path, outlines: list[Outline]) -> Imported:
    """Add the outlines to the config file as [[feeds]], keeping its comments."""
    document = tomlkit.parse(config_path.read_text(encoding="utf-8"))
    feeds = document.get("feeds")
    if feeds is None:
        feeds = tomlkit.aot()
        document.append("feeds", feeds)
    if not isinstance(feeds, AoT):
        raise ConfigError(f"{config_path}: feeds must be [[feeds]] tables")
    known = {str(table.get("url", "")) for table in feeds}
    added, present, refused = [], [], []
    for outline in outlines:
        if outline.url in known:
            present.append(outline)
            continue
        try:
            FeedConfig(url=outline.url)
        except ValueError as exc:
            refused.append((outline, _first_error(exc)))
            continue
        feeds.append(_table(outline))
        known.add(outline.url)
        added.append(outline)
    text = tomlkit.dumps(document)
    parse_config(tomlkit.parse(text).unwrap(), config_path)  # still a valid config
    if added:
        config_path.write_text(text, encoding="utf-8")
    return Imported(tuple(added), tuple(present), tuple(refused))


def _table(outline: Outline) -> Table:
    table = tomlkit.table()
    if outline.name:
        table["name"] = outline.name
    table["url"] = outline.url
    if outline.tags:
        table["tags"] = list(outline.tags)
    return table


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        return str(errors()[0].get("msg", exc)).removeprefix("Value error, ")
    return str(exc)


def write_opml(feeds: list[FeedConfig], title: str) -> str:
    """The feeds as an OPML 2.0 document."""
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<opml version="2.0">',
        f"  <head><title>{_escape(title)}</title></head>",
        "  <body>",
    ]
    for feed in feeds:
        name = feed.name or feed.url
        attrs = f'type="rss" text={quoteattr(name)} title={quoteattr(name)}'
        attrs += f" xmlUrl={quoteattr(feed.url)}"
        if feed.tags:
            attrs += f" category={quoteattr(','.join(feed.tags))}"
        lines.append(f"    <outline {attrs}/>")
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines)


def _escape(text: str) -> str:
    return quoteattr(text)[1:-1]
