"""Reading pages: the disclosure rules as the page workers get them."""

from __future__ import annotations

from pathlib import Path

from digest import detect
from digest.config import Detect
from digest.pageread import _compiled, _read_sent, read_body, rule_fields

PAGES = Path(__file__).parent / "fixtures" / "detect"


def test_rules_sent_as_fields_read_every_page_as_the_rules_themselves() -> None:
    rules = detect.rules(Detect())
    fields = rule_fields(rules)
    assert _compiled(fields) == tuple(rules)
    assert _compiled(fields) is _compiled(rule_fields(rules))  # compiled once per process
    flagged = 0
    for page in sorted(PAGES.glob("*.html")):
        body, url = page.read_bytes(), f"https://example.org/{page.stem}"
        sent = _read_sent(body, url, fields)
        assert sent == read_body(body, url, rules), page.name
        flagged += bool(sent and sent.disclosures)
    assert flagged >= 5  # the fixtures' disclosed pages were read with their evidence
