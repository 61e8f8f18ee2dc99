"""The workflow's glue: the job summary and the step outputs, from report.json."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from digest.actions import _cell, load, main, outputs, summary
from digest.config import load_config
from digest.pipeline import RunOptions, SendFailed, run
from tests import smtp
from tests.conftest import make_config
from tests.servers import HTTPServer
from tests.test_pipeline import NOW, with_delivery, world

REPORT = {
    "digest_id": "the-autos-digest-2026-W46",
    "stories": 7,
    "ai_picks": 1,
    "ai_articles": {"suspected": 1, "disclosed": 2},
    "delivery": "sent to 2 recipient(s)",
    "delivery_outcome": {"status": "sent", "accepted": 2, "may_have_reached_readers": True},
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
    assert (
        "| AI-generated sources | 1 of 7 stories cite one; "
        "articles read: 2 disclosed, 1 suspected |" in text
    )
    assert "openai/gpt-4.1-mini: 8 calls, 21,432 tokens, about $0.0104" in text
    assert "1 stories offline" in text
    assert "Bad \\| \\<b\\>Feed\\</b\\>: HTTP 404" in text  # escaped: no new cell, no HTML
    assert "... and 3 more" in text


def test_outputs_say_whether_a_send_was_attempted_from_the_typed_outcome() -> None:
    assert outputs(REPORT)["attempted_send"] == "true"
    failed = REPORT | {
        "delivery": "failed: smtp.example.org:587 (starttls): timed out",
        "delivery_outcome": {"status": "failed", "may_have_reached_readers": True},
    }
    assert outputs(failed)["attempted_send"] == "true"  # the ledger says "sending"
    assert outputs(failed)["may_have_reached_readers"] == "true"
    proof = REPORT | {
        "delivery": "failed: a text that reads like a send",
        "delivery_outcome": {"status": "proof failed", "may_have_reached_readers": False},
    }
    assert outputs(proof)["attempted_send"] == "false"  # the status decides, not the text
    assert outputs(REPORT | {"delivery_outcome": None})["attempted_send"] == "false"
    assert outputs(None) == {
        "digest_id": "",
        "stories": "0",
        "delivery": "no report",
        "attempted_send": "false",
        "may_have_reached_readers": "false",
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


# Every delivery outcome, through a real run (loopback feeds, real SMTP), then through
# the workflow's glue: whether the state must be kept comes from the typed outcome.
SENDS = RunOptions(until=NOW, now=lambda: NOW, send=True)
PROOF = RunOptions(until=NOW, now=lambda: NOW, proof_to=("owner@example.org",))
DRY = RunOptions(until=NOW, now=lambda: NOW)


def drops() -> smtp.Inbox:
    """A server that closes the connection while taking the message."""
    return smtp.Inbox(drop=True)


OUTCOMES = [  # case, SMTP server, [delivery] set, options; status, attempted, may have reached
    ("dry run", None, True, DRY, "not sent", False, False),
    ("sent", smtp.Inbox, True, SENDS, "sent", True, True),
    ("proof sent", smtp.Inbox, True, PROOF, "proof sent", False, False),
    ("nothing listens", None, True, SENDS, "failed", True, False),
    ("dropped mid-message", drops, True, SENDS, "failed", True, True),
    ("proof, nothing listens", None, True, PROOF, "proof failed", False, False),
    ("proof without from and smtp_host", None, False, PROOF, "proof failed", False, False),
    ("send without [delivery]", None, False, SENDS, "failed", True, False),
]


@pytest.mark.parametrize(
    ("server", "configured", "options", "status", "attempted", "reached"),
    [case[1:] for case in OUTCOMES],
    ids=[case[0] for case in OUTCOMES],
)
def test_every_delivery_outcome_through_the_workflow_glue(
    tmp_path: Path,
    http_server: HTTPServer,
    server: Callable[[], smtp.Inbox] | None,
    configured: bool,
    options: RunOptions,
    status: str,
    attempted: bool,
    reached: bool,
) -> None:
    controller = smtp.start(server()) if server else None
    port = controller.port if controller else smtp.free_port()
    config = make_config(tmp_path, [http_server.host_port], feeds=world(http_server))
    if configured:
        config = with_delivery(config, port, retries=0, timeout=3)
    try:
        if status in ("failed", "proof failed"):
            with pytest.raises(SendFailed):
                run(config, options)
        else:
            run(config, options)
    finally:
        if controller:
            controller.stop()
    report = load(config.output.dir / "report.json")
    assert report is not None
    assert report["delivery_outcome"]["status"] == status
    assert report["delivery_outcome"]["may_have_reached_readers"] is reached
    out = outputs(report)
    assert out["attempted_send"] == ("true" if attempted else "false")  # keep the state
    assert out["may_have_reached_readers"] == ("true" if reached else "false")
    assert out["delivery"] == report["delivery"] and out["stories"] == "5"
    assert _cell(report["delivery"]) in summary(report)
