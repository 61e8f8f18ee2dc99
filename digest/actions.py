"""Glue for the GitHub Actions workflow: the job summary and the step's outputs.

The workflow runs the same `digest run` as a laptop; this module only reads the
`report.json` it leaves behind:

    python -m digest.actions summary out/report.json >> "$GITHUB_STEP_SUMMARY"
    python -m digest.actions outputs out/report.json >> "$GITHUB_OUTPUT"

`outputs` says whether the run tried to send the issue to its readers
(`attempted_send`, from the report's typed `delivery_outcome`: sent, or failed): the
state must then be kept even if the send failed, since the ledger may record an issue
that may have reached readers (`may_have_reached_readers`), and the caches hold what
the attempt paid for. A proof, or a run that stopped before sending, leaves the state
branch as it was.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["load", "outputs", "summary"]

_MAX_LINES = 12  # warnings and failed feeds shown in the summary
_TO_READERS = ("sent", "failed")  # the DeliveryOutcome statuses of a send to the readers


def load(path: Path) -> dict[str, Any] | None:
    """The report, or None when the run stopped before writing one (or it is unreadable)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def outputs(report: dict[str, Any] | None) -> dict[str, str]:
    """Step outputs: the issue, its delivery, and whether a send was attempted."""
    if report is None:
        return {
            "digest_id": "",
            "stories": "0",
            "delivery": "no report",
            "attempted_send": "false",
            "may_have_reached_readers": "false",
        }
    delivery = str(report.get("delivery", ""))
    outcome = report.get("delivery_outcome")
    status = outcome.get("status") if isinstance(outcome, dict) else None
    return {
        "digest_id": str(report.get("digest_id", "")),
        "stories": str(report.get("stories", 0)),
        "delivery": " ".join(delivery.split()),
        "attempted_send": "true" if status in _TO_READERS else "false",
        "may_have_reached_readers": "true" if _reached(outcome) else "false",
    }


def _reached(outcome: Any) -> bool:
    return isinstance(outcome, dict) and outcome.get("may_have_reached_readers") is True


def summary(report: dict[str, Any] | None) -> str:
    """The run as Markdown for `$GITHUB_STEP_SUMMARY`."""
    if report is None:
        return (
            "## Digest\n\nNo report: the run stopped before writing `report.json`. "
            "The step's log says why (a configuration error exits with status 2).\n"
        )
    feeds = report.get("feeds", [])
    failed = [f for f in feeds if f.get("status") == "failed"]
    rows = [
        ("Issue", f"`{report.get('digest_id', '')}`"),
        ("Stories", str(report.get("stories", 0))),
        ("Feeds", f"{len(feeds)}, {len(failed)} failed"),
        ("AI-generated sources", _ai(report)),
        ("Model", _model(report.get("llm") or {})),
        ("Delivery", _cell(str(report.get("delivery", "")))),
    ]
    lines = ["## Digest", "", "| | |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    lines += _listed("Failed feeds", [f"{f.get('name')}: {f.get('reason')}" for f in failed])
    lines += _listed("Warnings", [str(w) for w in report.get("warnings", [])])
    return "\n".join(lines) + "\n"


def _ai(report: dict[str, Any]) -> str:
    """The footer's figure (picks citing an AI-generated source), then the articles read
    this run by AI level."""
    stories = int(report.get("stories", 0))
    text = f"{report.get('ai_picks', 0)} of {stories} stories cite one"
    levels = report.get("ai_articles") or {}
    read = ", ".join(f"{n} {level}" for level, n in sorted(levels.items()))
    return text + (f"; articles read: {read}" if read else "")


def _model(llm: dict[str, Any]) -> str:
    if not llm.get("model"):
        return "none (offline summaries)"
    tokens = int(llm.get("prompt_tokens", 0)) + int(llm.get("completion_tokens", 0))
    text = f"{llm['model']}: {llm.get('calls', 0)} calls, {tokens:,} tokens"
    cost = llm.get("cost_usd")
    text += f", about ${cost:.4f}" if isinstance(cost, int | float) else ", cost unknown"
    if llm.get("cached"):
        text += f", {llm['cached']} cached"
    if llm.get("offline"):
        text += f", {llm['offline']} stories offline"
    return _cell(text)


def _listed(title: str, items: list[str]) -> list[str]:
    if not items:
        return []
    shown = [f"- {_cell(item)}" for item in items[:_MAX_LINES]]
    if len(items) > _MAX_LINES:
        shown.append(f"- ... and {len(items) - _MAX_LINES} more (see `report.json`)")
    return ["", f"### {title}", "", *shown]


def _cell(text: str) -> str:
    """One line of Markdown that cannot break the table or inject markup."""
    flat = " ".join(text.split())
    for char in "\\|<>[]`*_":
        flat = flat.replace(char, "\\" + char)
    return flat


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] not in ("summary", "outputs"):
        print("usage: python -m digest.actions summary|outputs REPORT.json", file=sys.stderr)
        return 2
    report = load(Path(args[1]))
    if args[0] == "summary":
        print(summary(report), end="")
    else:
        for key, value in outputs(report).items():
            print(f"{key}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
