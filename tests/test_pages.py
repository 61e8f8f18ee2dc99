"""Reading pages: the disclosure rules as the page workers get them, and the detector
whose rules are compiled while the run fetches its feeds."""

from __future__ import annotations

from pathlib import Path

import pytest

from digest import detect
from digest.config import Detect
from digest.pages import Detector, _compiled, _read_sent, read_body, rule_fields

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


def test_a_detector_made_in_a_thread_has_the_rules_and_fingerprint_made_now() -> None:
    rules = detect.rules(Detect())
    fingerprint = detect.rules_fingerprint(rules)
    later = Detector.later(lambda: (rules, fingerprint))
    assert later.rules == Detector.of(rules, fingerprint).rules == tuple(rules)
    assert later.fingerprint == fingerprint


def test_rules_that_fail_in_the_thread_fail_where_they_are_asked_for() -> None:
    def broken() -> tuple[list[detect.Rule], str]:
        raise ValueError("rule 'x': bad regular expression")

    detector = Detector.later(broken)
    with pytest.raises(ValueError, match="bad regular expression"):
        _ = detector.rules
