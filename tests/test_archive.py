"""The web archive, the mail headers readers' clients act on, and Gmail's size limit."""

from __future__ import annotations

import json
from dataclasses import replace
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from digest import archive
from digest.config import Archive, Config, parse_config
from digest.demo import DemoServer, demo_raw, demo_until
from digest.pipeline import RunOptions, RunResult, run
from tests.golden import CLOCK, normalize

ATOM = "{http://www.w3.org/2005/Atom}"


def demo_run(tmp_path: Path, since: Any = None, **sections: dict[str, Any]) -> RunResult:
    with DemoServer() as server:
        raw = demo_raw(server.base, server.host_port, tmp_path)
        for name, values in sections.items():
            raw[name] = raw.get(name, {}) | values
        config = parse_config(raw, tmp_path / "digest.toml")
        options = RunOptions(until=demo_until(), now=lambda: CLOCK)
        return run(config, replace(options, since=since) if since else options)


def test_archive_has_an_index_a_page_per_issue_and_an_atom_feed(tmp_path: Path) -> None:
    url = "https://owner.github.io/autos/"
    first = demo_run(tmp_path, archive={"url": url})
    from datetime import timedelta

    second = demo_run(tmp_path, since=timedelta(days=14), archive={"url": url})  # another id
    assert first.digest and second.digest and first.digest.id != second.digest.id
    root = tmp_path / "out" / "archive"
    for digest in (first.digest, second.digest):
        page = (root / digest.id / "index.html").read_text()
        assert digest.stories[0].article.title.split()[0] in page
        assert json.loads((root / digest.id / "digest.json").read_text())["id"] == digest.id
    index = (root / "index.html").read_text()
    assert f'href="{first.digest.id}/"' in index and f'href="{second.digest.id}/"' in index
    feed = ET.parse(root / "feed.xml").getroot()
    entries = feed.findall(f"{ATOM}entry")
    assert {e.find(f"{ATOM}id").text for e in entries} == {  # type: ignore[union-attr]
        f"{url}{first.digest.id}/",
        f"{url}{second.digest.id}/",
    }
    assert feed.find(f"{ATOM}link[@rel='self']").get("href") == url + "feed.xml"  # type: ignore[union-attr]
    assert first.digest.web_url == f"{url}{first.digest.id}/"
    assert first.digest.archive_url == url


def test_a_broken_issue_file_does_not_take_the_archive_down(tmp_path: Path) -> None:
    result = demo_run(tmp_path)
    root = tmp_path / "out" / "archive"
    (root / "junk").mkdir()
    (root / "junk" / "digest.json").write_text("{not json")
    assert result.digest is not None
    archive.update(Archive(), root, result.digest, "<html></html>")
    assert result.digest.id in (root / "index.html").read_text()


def test_only_sent_issues_are_archived_by_default(tmp_path: Path) -> None:
    demo_run(tmp_path, archive={"include": "sent"})
    assert not (tmp_path / "out" / "archive").exists()


def test_list_headers(tmp_path: Path) -> None:
    delivery = {
        "from": "Autos Digest <digest@example.org>",
        "to": ["reader@example.org"],
        "unsubscribe_url": "https://example.org/unsubscribe?list=autos",
        "unsubscribe_mailto": "leave@example.org",
    }
    result = demo_run(tmp_path, delivery=delivery)
    eml = (tmp_path / "out" / "digest.eml").read_bytes()
    message = message_from_bytes(eml, policy=policy.default)
    assert message["To"] == "reader@example.org"
    assert message["From"] == "Autos Digest <digest@example.org>"
    assert message["Message-ID"].startswith("<the-autos-digest-2026-W46.")
    assert message["Message-ID"].endswith("@example.org>")
    assert message["Date"] == "Mon, 16 Nov 2026 07:30:00 +0000"
    assert message["List-Id"] == '"The Autos Digest" <the-autos-digest.example.org>'
    assert message["List-Unsubscribe"] == (
        "<mailto:leave@example.org?subject=unsubscribe%20the-autos-digest.example.org>, "
        "<https://example.org/unsubscribe?list=autos>"
    )
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert result.digest is not None
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None and html is not None
    title = result.digest.stories[0].article.title
    assert title in " ".join(plain.get_content().split()) and title in html.get_content()
    assert result.digest.unsubscribe_url == "https://example.org/unsubscribe?list=autos"


def test_one_click_header_only_with_an_https_endpoint(tmp_path: Path) -> None:
    demo_run(tmp_path, delivery={"unsubscribe_mailto": "leave@example.org"})
    eml = (tmp_path / "out" / "digest.eml").read_bytes()
    message = message_from_bytes(eml, policy=policy.default)
    assert message["List-Unsubscribe"].strip().startswith("<mailto:leave@example.org")
    assert message["List-Unsubscribe-Post"] is None


def test_unsubscribe_settings_are_checked(tmp_path: Path) -> None:
    from digest.config import ConfigError

    with pytest.raises(ConfigError, match="https"):
        parse_config({"delivery": {"unsubscribe_url": "http://x.example/u"}}, tmp_path / "d.toml")
    with pytest.raises(ConfigError, match="one e-mail address"):
        parse_config({"delivery": {"unsubscribe_mailto": "a@b.c, d@e.f"}}, tmp_path / "d.toml")


def test_an_email_over_the_size_limit_is_shortened_and_says_so(tmp_path: Path) -> None:
    full = demo_run(tmp_path / "full")
    assert full.digest is not None
    size = len((tmp_path / "full" / "out" / "digest.html").read_bytes())
    more = sum(len(s.stories) for s in full.digest.more)
    assert more >= 4
    limit = size - 2000  # a little too big: some of "Also worth reading" must go
    cut = demo_run(
        tmp_path / "cut",
        output={"max_email_bytes": limit},
        archive={"url": "https://owner.github.io/autos/"},
    )
    assert cut.digest is not None and cut.digest.shortened
    kept = sum(len(s.stories) for s in cut.digest.more)
    assert 0 < kept < more
    html = (tmp_path / "cut" / "out" / "digest.html").read_bytes()
    assert len(html) <= limit
    assert [w.kind for w in cut.report.warnings] == ["feed", "size"]  # the demo's bad feed
    warning = cut.report.warnings[-1].text
    assert "over max_email_bytes" in warning and f"cut to {kept} item(s)" in warning
    assert cut.digest.web_url in warning


def test_the_size_guard_measures_the_emailed_copy_not_the_owners(tmp_path: Path) -> None:
    """The owner's feed-health lines are in out/digest.html but never in the email: an
    email that fits without them keeps all of "Also worth reading"."""
    plain = demo_run(tmp_path / "plain")
    assert plain.digest is not None
    emailed = (tmp_path / "plain" / "out" / "digest.html").read_text()
    limit = len(emailed.encode("utf-8"))  # exactly the email's size (ports: 5 digits each)
    owner = demo_run(
        tmp_path / "owner", output={"max_email_bytes": limit}, health={"owner_section": True}
    )
    assert owner.digest is not None and not owner.digest.shortened

    def more(result: RunResult) -> list[str]:
        assert result.digest is not None
        return [normalize(s.article.url) for section in result.digest.more for s in section.stories]

    assert more(owner) == more(plain) and len(more(plain)) >= 4
    assert [w.kind for w in owner.report.warnings] == ["feed"]  # no "size" warning
    kept = (tmp_path / "owner" / "out" / "digest.html").read_text()
    assert "For the owner only" in kept and len(kept.encode("utf-8")) > limit
    message = message_from_bytes(
        (tmp_path / "owner" / "out" / "digest.eml").read_bytes(), policy=policy.default
    )
    html = message.get_body(("html",))
    assert html is not None and normalize(html.get_content()).strip() == normalize(emailed).strip()


def test_config_dataclass_round_trip_for_archive_dir(tmp_path: Path) -> None:
    config = parse_config({"archive": {"dir": "site"}}, tmp_path / "digest.toml")
    assert config.archive.dir == tmp_path / "site"
    assert archive.archive_dir(config) == tmp_path / "site"
    default: Config = replace(config) if False else parse_config({}, tmp_path / "digest.toml")
    assert archive.archive_dir(default) == default.output.dir / "archive"


def test_the_public_archive_carries_no_article_text_and_no_owner_lines(tmp_path: Path) -> None:
    result = demo_run(tmp_path, archive={"include": "all"}, health={"owner_section": True})
    assert result.digest is not None
    data = (tmp_path / "out" / "archive" / result.digest.id / "digest.json").read_text()
    lead = result.digest.stories[0]
    body = lead.article.text.rstrip(". ").split(". ")[-1]  # the page's last sentence
    assert body and body not in lead.summary.text and body not in data
    assert lead.article.title in data and lead.summary.text.split(". ")[0] in data
    assert json.loads(data)["health"] == []
    assert all(not s["article"]["text"] for s in json.loads(data)["stories"])
    assert "Failed this run" in (tmp_path / "out" / "digest.html").read_text()  # owner's copy
