"""The GitHub Actions workflows: valid, safe, and true to the CLI they drive.

Offline checks: check-jsonschema's bundled GitHub workflow schema and `zizmor
--offline` (no findings). Then the weekly workflow's contract (triggers, inputs,
permissions, concurrency, the state branch, the digest command's flags against the
real parser), and its digest step run here, as the workflow would run it, against the
demo corpus and a real SMTP server on loopback.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from digest.cli import build_parser
from scripts.run_workflow_locally import digest_step, load_workflow, run_step
from tests import smtp

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
SHA_PIN = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40}$")


def _tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail(f"{name} is not installed: `pip install -e '.[dev]'` installs it")
    return found


def test_there_are_the_two_workflows() -> None:
    assert [p.name for p in WORKFLOWS] == ["ci.yml", "weekly-digest.yml"]


def test_workflows_match_the_github_schema() -> None:
    tool = _tool("check-jsonschema")
    args = [tool, "--builtin-schema", "vendor.github-workflows", *map(str, WORKFLOWS)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_zizmor_offline_finds_nothing() -> None:
    tool = _tool("zizmor")
    args = [tool, "--offline", "--persona", "auditor", "--format", "json", str(WORKFLOWS[0].parent)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120)
    findings = json.loads(done.stdout or "[]")
    assert findings == [], json.dumps(findings, indent=1)[:3000]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_commit_with_its_version(path: Path) -> None:
    for line in path.read_text(encoding="utf-8").splitlines():
        if "uses:" not in line:
            continue
        action = line.split("uses:", 1)[1].split("#", 1)[0].strip()
        assert SHA_PIN.match(action), line
        assert re.search(r"#\s*v\d+\.\d+\.\d+", line), f"no version comment: {line}"


# the weekly workflow's contract


@pytest.fixture(scope="module")
def weekly() -> dict[str, Any]:
    return load_workflow()


def test_triggers_are_a_weekly_off_minute_schedule_and_manual_runs(weekly: dict[str, Any]) -> None:
    (schedule,) = weekly["on"]["schedule"]
    minute, _, day, month, weekday = schedule["cron"].split()
    assert minute not in ("0", "00", "*") and int(minute) % 5 != 0  # an off-minute
    assert (day, month) == ("*", "*") and weekday.isdigit()  # once a week
    assert "workflow_dispatch" in weekly["on"]


def test_manual_run_inputs_and_types(weekly: dict[str, Any]) -> None:
    inputs = weekly["on"]["workflow_dispatch"]["inputs"]
    types = {name: spec["type"] for name, spec in inputs.items()}
    assert types == {
        "dry_run": "boolean",
        "since_days": "number",
        "until": "string",
        "max_stories": "number",
        "recipients": "string",
        "llm": "choice",
        "resend": "boolean",
        "send_reviewed_run": "string",
    }
    assert inputs["dry_run"]["default"] is True  # a manual run sends nothing by default
    assert inputs["resend"]["default"] is False
    assert inputs["llm"]["options"] == ["auto", "none", "github", "openai"]
    assert inputs["llm"]["default"] == "auto"


def test_least_privilege(weekly: dict[str, Any]) -> None:
    assert weekly["permissions"] == {}
    jobs = weekly["jobs"]
    assert jobs["digest"]["permissions"] == {
        "contents": "read",
        "models": "read",
        "actions": "read",
    }
    assert jobs["save-state"]["permissions"] == {"contents": "write"}
    assert jobs["keep-alive"]["permissions"] == {"actions": "write"}  # that job's only
    for job in jobs.values():
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False


def test_pages_publishing_is_opt_in_and_scoped(weekly: dict[str, Any]) -> None:
    job = weekly["jobs"]["publish-archive"]
    assert "vars.DIGEST_PAGES == 'true'" in job["if"]
    assert job["permissions"] == {"pages": "write", "id-token": "write"}
    assert "contents" not in job["permissions"]


def test_concurrency_never_cancels_a_send_and_jobs_time_out(weekly: dict[str, Any]) -> None:
    assert weekly["concurrency"]["cancel-in-progress"] is False
    assert weekly["concurrency"]["group"]
    for job in weekly["jobs"].values():
        assert 0 < job["timeout-minutes"] <= 60


def test_pip_is_cached(weekly: dict[str, Any]) -> None:
    setup = [
        s for s in weekly["jobs"]["digest"]["steps"] if "actions/setup-python@" in s.get("uses", "")
    ]
    assert setup and setup[0]["with"]["cache"] == "pip"


def test_state_branch_is_pulled_before_and_pushed_after(weekly: dict[str, Any]) -> None:
    steps = weekly["jobs"]["digest"]["steps"]
    runs = [str(s.get("run", "")) for s in steps]
    pull = next(i for i, r in enumerate(runs) if "state_branch.py pull" in r)
    digest = next(i for i, s in enumerate(steps) if s.get("id") == "digest")
    assert pull < digest
    save = weekly["jobs"]["save-state"]
    assert save["needs"] == "digest"
    assert "needs.digest.outputs.save_state == 'true'" in save["if"]
    assert any("state_branch.py push" in str(s.get("run", "")) for s in save["steps"])
    assert weekly["jobs"]["digest"]["outputs"]["save_state"]


def _flags(script: str) -> set[str]:
    """The digest options the step's script can pass (in args=(...) and args+=(...))."""
    groups = re.findall(r"args\+?=\(([^)]*)\)", script)
    return {flag for group in groups for flag in re.findall(r"(?<![\w-])--[a-z][a-z-]*", group)}


def test_the_digest_command_uses_only_real_options(weekly: dict[str, Any]) -> None:
    _, script = digest_step(weekly)
    assert 'digest "${args[@]}"' in script and "args=(run " in script
    run_parser = build_parser()._subparsers._group_actions[0].choices["run"]  # type: ignore[union-attr]
    real = {s for action in run_parser._actions for s in action.option_strings}
    used = _flags(script)
    assert used <= real, used - real
    expected = {"--send", "--dry-run", "--to", "--resend", "--proof-to", "--since", "--until"}
    assert expected | {"--max-stories", "--no-llm", "--llm", "--state", "--out"} <= used


def test_every_secret_the_docs_name_is_passed_and_vice_versa(weekly: dict[str, Any]) -> None:
    text = (REPO / ".github" / "workflows" / "weekly-digest.yml").read_text(encoding="utf-8")
    used = set(re.findall(r"secrets\.([A-Z_]+)", text)) - {"GITHUB_TOKEN"}
    docs = (REPO / "docs" / "github-actions.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`((?:DIGEST|OPENAI)_[A-Z_]+)`", docs))
    assert used <= documented, used - documented
    assert "gh workflow run weekly-digest.yml" in docs


# the digest step, run here with the environment the workflow sets


def _mail(port: int) -> dict[str, str]:
    return {
        "DIGEST_FROM": "Autos Digest <digest@example.org>",
        "DIGEST_TO": "reader@example.org",
        "DIGEST_SMTP_HOST": "127.0.0.1",
        "DIGEST_SMTP_PORT": str(port),
        "DIGEST_SMTP_SECURITY": "none",
    }


def test_scheduled_run_sends_and_keeps_the_state(
    tmp_path: Path, inbox: tuple[smtp.Inbox, int]
) -> None:
    box, port = inbox
    step = run_step("schedule", environ=_mail(port), workdir=tmp_path)
    assert step.status == 0, step.stderr
    assert step.outputs["save_state"] == "true" and step.outputs["attempted_send"] == "true"
    assert [e[1] for e in box.envelopes] == [["reader@example.org"]]
    issue = step.outputs["digest_id"]
    archive = tmp_path / ".digest-data" / "archive"
    assert sorted(p.name for p in (archive / issue).iterdir()) == ["digest.json", "index.html"]
    assert (archive / "index.html").exists() and (archive / "feed.xml").exists()
    assert (tmp_path / ".digest-data" / "state.sqlite").exists()
    assert "| Stories | 7 |" in step.summary and "sent to 1 recipient" in step.summary
    again = run_step("schedule", environ=_mail(port), workdir=tmp_path)  # a retried job
    assert again.status == 1 and "already sent" in again.stderr
    assert len(box.messages) == 1
    assert again.outputs["save_state"] == "false"


def test_manual_run_is_a_dry_run_with_a_proof_to_the_owner(
    tmp_path: Path, inbox: tuple[smtp.Inbox, int]
) -> None:
    box, port = inbox
    env = _mail(port) | {"DIGEST_OWNER_EMAIL": "owner@example.org"}
    step = run_step("workflow_dispatch", {"llm": "none", "max_stories": "3"}, env, tmp_path)
    assert step.status == 0, step.stderr
    assert "--dry-run --proof-to owner@example.org" in step.stdout
    assert "--max-stories 3" in step.stdout and "--no-llm" in step.stdout
    assert [e[1] for e in box.envelopes] == [["owner@example.org"]]
    assert step.outputs["attempted_send"] == "false" and step.outputs["stories"] == "3"
    assert not (tmp_path / ".digest-data" / "archive").exists()  # a proof is not an issue
    sent = run_step("workflow_dispatch", {"dry_run": "false"}, _mail(port), tmp_path)
    assert sent.status == 0, sent.stderr  # the proof did not mark the issue as sent
    assert [e[1] for e in box.envelopes][-1] == ["reader@example.org"]


def test_manual_send_to_other_recipients_and_resend(
    tmp_path: Path, inbox: tuple[smtp.Inbox, int]
) -> None:
    box, port = inbox
    inputs = {"dry_run": "false", "recipients": "a@example.org,b@example.org"}
    assert run_step("workflow_dispatch", inputs, _mail(port), tmp_path).status == 0
    assert box.envelopes[-1][1] == ["a@example.org", "b@example.org"]
    again = run_step("workflow_dispatch", inputs | {"resend": "true"}, _mail(port), tmp_path)
    assert again.status == 0 and len(box.messages) == 2


def test_a_run_without_a_digest_fails_and_keeps_the_old_state(tmp_path: Path) -> None:
    step = run_step("workflow_dispatch", {"until": "2020-01-06"}, {}, tmp_path)
    assert step.status == 1 and "no digest" in step.stderr
    assert step.outputs["save_state"] == "false"
    assert "| Stories | 0 |" in step.summary


def test_a_failed_send_still_keeps_the_state(tmp_path: Path) -> None:
    """The ledger may say "sending": it must reach the branch, or a retry sends twice."""
    closed = _mail(9) | {"DIGEST_SMTP_HOST": "127.0.0.1"}  # nothing listens on port 9
    step = run_step("schedule", environ=closed, workdir=tmp_path)
    assert step.status == 1
    assert step.outputs["attempted_send"] == "true" and step.outputs["save_state"] == "true"


def test_the_schedule_is_re_enabled_each_run_and_its_lateness_logged(
    weekly: dict[str, Any],
) -> None:
    (step,) = weekly["jobs"]["keep-alive"]["steps"]
    minute, hour = weekly["on"]["schedule"][0]["cron"].split()[:2]
    assert step["env"]["SCHEDULED"] == f"{int(hour):02d}:{int(minute):02d}"  # as the cron says
    assert (
        'gh api --method PUT "repos/$REPO/actions/workflows/weekly-digest.yml/enable"'
        in (step["run"])
    )
    assert "min late" in step["run"] and step["env"]["GH_TOKEN"] == "${{ secrets.GITHUB_TOKEN }}"
    others = [j for name, j in weekly["jobs"].items() if name != "keep-alive"]
    assert all(j["permissions"].get("actions") != "write" for j in others)


def test_sending_the_reviewed_build_of_an_earlier_run(
    tmp_path: Path, inbox: tuple[smtp.Inbox, int]
) -> None:
    box, port = inbox
    review = run_step("workflow_dispatch", {"llm": "none"}, _mail(port), tmp_path)
    assert review.status == 0 and box.messages == []
    shutil.copytree(tmp_path / "out", tmp_path / "reviewed")  # what download-artifact does
    eml = (tmp_path / "reviewed" / "digest.eml").read_bytes()
    inputs = {"send_reviewed_run": "4242", "dry_run": "false"}
    sent = run_step("workflow_dispatch", inputs, _mail(port), tmp_path)
    assert sent.status == 0, sent.stderr
    assert "digest send reviewed --state .digest-data/state.sqlite" in sent.stdout
    assert box.raw == [re.sub(rb"\r?\n", b"\r\n", eml)]  # the reviewed bytes
    assert sent.outputs["save_state"] == "true"
    assert sent.outputs["digest_id"] == review.outputs["digest_id"]
    archive = tmp_path / ".digest-data" / "archive"  # the state's: saved, then published
    assert sent.summary.endswith(  # the step summary file holds each run's, in turn
        f"## Digest\n\nThe reviewed build of run 4242: {review.outputs['digest_id']}: "
        f"sent to 1 recipient(s)\narchived: {archive / 'index.html'}\n"
    )
    assert (archive / review.outputs["digest_id"] / "index.html").is_file()
    again = run_step("workflow_dispatch", inputs, _mail(port), tmp_path)
    assert again.status == 1 and len(box.raw) == 1
    assert again.summary.endswith(
        "was already sent; pass --resend to send it again, "
        "or --dry-run to rebuild it without sending\n"
    )
