"""Run the weekly workflow's digest step here, as GitHub would, against the demo corpus.

It reads `.github/workflows/weekly-digest.yml`, takes the `digest` step's shell script
and its environment (the job's `env` and the step's), fills in the `${{ ... }}`
expressions for the event and inputs you give, with `secrets.*` and `vars.*` taken
from your environment (unset: empty, as on GitHub), and runs the script with bash in
a scratch folder with `digest` on the PATH. The demo corpus is served on loopback and
`DIGEST_CONFIG` points at a config for it, so nothing leaves this machine.

    python scripts/run_workflow_locally.py                       # a scheduled run
    python scripts/run_workflow_locally.py --event workflow_dispatch -i dry_run=true
    DIGEST_SMTP_HOST=127.0.0.1 DIGEST_SMTP_PORT=1025 ... python scripts/run_workflow_locally.py

Prints the step's outputs and the job summary; exits with the step's status.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # run from a source tree without installing
WORKFLOW = REPO / ".github" / "workflows" / "weekly-digest.yml"
_EXPRESSION = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")


@dataclass(frozen=True)
class StepRun:
    status: int
    outputs: dict[str, str]
    summary: str
    workdir: Path
    stdout: str
    stderr: str


def load_workflow(path: Path = WORKFLOW) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if True in data:  # YAML 1.1 reads the key `on` as a boolean
        data["on"] = data.pop(True)
    return dict(data)


def digest_step(workflow: dict[str, Any]) -> tuple[dict[str, str], str]:
    """The digest step's environment (job env, then step env) and its script, followed
    by the job-summary step's script (which runs whatever the digest step did)."""
    job = workflow["jobs"]["digest"]
    step = next(s for s in job["steps"] if s.get("id") == "digest")
    summary = next(s for s in job["steps"] if s.get("name") == "Job summary")
    env = {**job.get("env", {}), **step.get("env", {})}
    script = f"( {step['run']}\n)\nstatus=$?\n( {summary['run']}\n)\nexit $status\n"
    return {k: str(v) for k, v in env.items()}, script


def evaluate(value: str, context: Mapping[str, str]) -> str:
    """`${{ name }}` filled from `context`; anything but a plain name is refused, so the
    step's environment stays simple enough to reproduce here."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if not re.fullmatch(r"[a-z_]+\.[A-Za-z0-9_]+", name):
            raise ValueError(f"expression too complex to reproduce locally: {name!r}")
        return context.get(name, "")

    return _EXPRESSION.sub(one, value)


def context_for(
    workflow: dict[str, Any], event: str, inputs: Mapping[str, str], environ: Mapping[str, str]
) -> dict[str, str]:
    """What GitHub would put in `github.*`, `inputs.*`, `secrets.*` and `vars.*`."""
    context = {"github.event_name": event, "github.run_id": "0"}
    if event == "workflow_dispatch":
        declared = workflow["on"]["workflow_dispatch"]["inputs"]
        for name, spec in declared.items():
            default = spec.get("default", "")
            value = inputs.get(name, default)
            context[f"inputs.{name}"] = (
                str(value).lower() if isinstance(value, bool) else str(value)
            )
    for name, value in environ.items():
        context[f"secrets.{name}"] = value
        context[f"vars.{name}"] = value
    return context


def run_step(
    event: str = "schedule",
    inputs: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
    workdir: Path | None = None,
) -> StepRun:
    """Run the digest step against the demo corpus; the state lives in `workdir`."""
    from digest.demo import DEMO_CONFIG, DemoServer
    from digest.demo.server import PLACEHOLDER

    workflow = load_workflow()
    env_spec, script = digest_step(workflow)
    context = context_for(workflow, event, inputs or {}, environ or {})
    workdir = workdir or Path(tempfile.mkdtemp(prefix="digest-workflow-"))
    with DemoServer() as server:
        config = _demo_config(workdir, DEMO_CONFIG, PLACEHOLDER, server.base, server.host_port)
        env = _environment(env_spec, context, workdir, config)
        done = subprocess.run(
            ["bash", "-c", script], cwd=workdir, env=env, capture_output=True, text=True
        )
    return StepRun(
        done.returncode,
        _outputs(workdir / "github_output"),
        (workdir / "step_summary").read_text(encoding="utf-8")
        if (workdir / "step_summary").exists()
        else "",
        workdir,
        done.stdout,
        done.stderr,
    )


def _demo_config(workdir: Path, source: Path, placeholder: str, base: str, host: str) -> Path:
    """The demo's digest.toml pointed at the running server (state comes from --state)."""
    text = source.read_text(encoding="utf-8").replace(placeholder, base)
    text = text.replace('include = "all"', 'include = "sent"')  # as a real config: sent only
    raw = tomllib.loads(text)
    allow = ", ".join(f'"{h}"' for h in [host, *raw.get("network", {}).get("allow_hosts", [])])
    text = text.replace("[network]", f"[network]\nallow_hosts = [{allow}]", 1)
    path = workdir / "digest.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _environment(
    spec: Mapping[str, str], context: Mapping[str, str], workdir: Path, config: Path
) -> dict[str, str]:
    """A clean environment: PATH and HOME, the step's env, and the runner's files."""
    bin_dir = workdir / ".bin"  # `digest` and `python`: this interpreter, this source tree
    bin_dir.mkdir(exist_ok=True)
    for name, command in (
        ("digest", f'"{sys.executable}" -m digest'),
        ("python", f'"{sys.executable}"'),
    ):
        shim = bin_dir / name
        shim.write_text(f'#!/bin/sh\nexec {command} "$@"\n', encoding="utf-8")
        shim.chmod(0o755)
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": os.environ.get("HOME", str(workdir)),
        "GITHUB_OUTPUT": str(workdir / "github_output"),
        "GITHUB_STEP_SUMMARY": str(workdir / "step_summary"),
    }
    for passthrough in ("TIKTOKEN_CACHE_DIR", "LANG"):
        if passthrough in os.environ:
            env[passthrough] = os.environ[passthrough]
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    env |= {name: evaluate(value, context) for name, value in spec.items()}
    env["DIGEST_CONFIG"] = str(config)  # the demo's, not the repository's digest.toml
    env.setdefault("DIGEST_UNTIL", _demo_week_end())  # the corpus's week, whatever today is
    return env


def _demo_week_end() -> str:
    from digest.demo import demo_until

    return demo_until().isoformat()


def _outputs(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    pairs = (line.split("=", 1) for line in path.read_text(encoding="utf-8").splitlines())
    return dict(p for p in pairs if len(p) == 2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--event", choices=["schedule", "workflow_dispatch"], default="schedule")
    parser.add_argument("-i", "--input", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--workdir", type=Path, help="keep the state here between runs")
    args = parser.parse_args()
    inputs = dict(item.split("=", 1) for item in args.input)
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
    step = run_step(args.event, inputs, os.environ, args.workdir)
    print(step.stdout, end="")
    print(step.stderr, end="", file=sys.stderr)
    print(f"\noutputs: {step.outputs}\nworkdir: {step.workdir}\n\n{step.summary}")
    return step.status


if __name__ == "__main__":
    sys.exit(main())
