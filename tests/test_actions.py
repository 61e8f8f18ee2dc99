"""The workflow's glue: the job summary and the step outputs, from report.json."""

from __future__ import annotations

import json
from pathlib import Path

from digest.actions import load, main, outputs, summary
from digest.config import load_config

REPORT = {
    "digest_id": "the-autos-digest-2026-W46",
    "stories": 7,
    "ai_flagged": 1,
    "delivery": "sent to 2 recipient(s)",
    "feeds": [
        {"name": "Voltline", "status": "ok"},
        {"name": "Bad | <b>Feed</b>", "status": "failed", "reason": "HTTP 404"},
    ],
    "llm": {
        "model": "openai/gpt-4.1-mini",
        "calls": 8,
        "prompt_tokens": 19870,
        "completion_tokens": 1562,
        "cost_usd": 0.010447,
        "offline": 1,
    },
    "warnings": [f"warning {i}" for i in range(15)],
}


def test_summary_tells_the_run_in_a_table_that_markup_cannot_break() -> None:
    text = summary(REPORT)
    assert "| Stories | 7 |" in text and "| Feeds | 2, 1 failed |" in text
    assert "| AI-flagged stories | 1 |" in text
    assert "openai/gpt-4.1-mini: 8 calls, 21,432 tokens, about $0.0104" in text
    assert "1 stories offline" in text
    assert "Bad \\| \\<b\\>Feed\\</b\\>: HTTP 404" in text  # escaped: no new cell, no HTML
    assert "... and 3 more" in text


def test_outputs_say_whether_a_send_was_attempted() -> None:
    assert outputs(REPORT)["attempted_send"] == "true"
    failed = REPORT | {"delivery": "failed: smtp.example.org:587 (starttls): timed out"}
    assert outputs(failed)["attempted_send"] == "true"  # the ledger may say "sending"
    for delivery in ("not sent", "proof sent to 1 recipient(s); ...", "failed: proof: refused"):
        assert outputs(REPORT | {"delivery": delivery})["attempted_send"] == "false"
    assert outputs(None) == {
        "digest_id": "",
        "stories": "0",
        "delivery": "no report",
        "attempted_send": "false",
    }


def test_a_missing_or_broken_report_is_said_plainly(tmp_path: Path) -> None:
    assert load(tmp_path / "none.json") is None
    broken = tmp_path / "report.json"
    broken.write_text("{not json")
    assert load(broken) is None
    assert "No report" in summary(None)
    good = tmp_path / "good.json"
    good.write_text(json.dumps(REPORT))
    assert main(["outputs", str(good)]) == 0
    assert main(["bogus", str(good)]) == 2


def test_the_workflow_llm_choice_can_create_the_llm_section(tmp_path: Path) -> None:
    path = tmp_path / "digest.toml"
    path.write_text('[[feeds]]\nurl = "https://example.org/feed.xml"\n')
    assert load_config(path, {}).llm is None
    config = load_config(path, {"DIGEST_LLM_PROVIDER": "github"})
    assert config.llm is not None and config.llm.provider == "github"
