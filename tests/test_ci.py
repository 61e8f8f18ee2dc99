"""In CI a missing real part is a failure, on a laptop a skip with its reason: both the
CI entry point (.ci/run) and the tests' own check (tests/parts.py), run for real in a
sandbox: a copy of .ci/run and the tiktoken script, with a PATH that lacks the part."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TOOLS = ("bash", "dirname", "env", "cat", "mkdir", "rm")


def sandbox(tmp_path: Path, *, chromium: bool, model: bool = True) -> tuple[Path, dict[str, str]]:
    """A repository with .ci/run and scripts/tiktoken_cache.py, a .venv/bin/python,
    stub `id` (not root: nothing is installed) and `make` (records its targets), a stub
    scripts/install_real_model.sh that succeeds only when `model`, and Chromium only when
    asked. npm is never on the PATH."""
    repo = tmp_path / "repo"
    (repo / ".ci").mkdir(parents=True)
    (repo / "scripts").mkdir()
    (repo / ".venv" / "bin").mkdir(parents=True)
    shutil.copy2(REPO / ".ci" / "run", repo / ".ci" / "run")
    shutil.copy2(REPO / "scripts" / "tiktoken_cache.py", repo / "scripts" / "tiktoken_cache.py")
    (repo / ".venv" / "bin" / "python").symlink_to(sys.executable)
    installer = repo / "scripts" / "install_real_model.sh"
    installer.write_text(f"#!{shutil.which('bash')}\nexit {0 if model else 1}\n")
    installer.chmod(0o755)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in TOOLS:
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    stubs = {"id": "echo 1000", "make": f'echo "make $*" >> {tmp_path / "made"}'}
    if chromium:
        stubs["chromium"] = "exit 0"
    for name, body in stubs.items():
        (bin_dir / name).write_text(f"#!{shutil.which('bash')}\n{body}\n")
        (bin_dir / name).chmod(0o755)
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path)}
    return repo, env


def ci_run(repo: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(repo / ".ci" / "run")], env=env, capture_output=True, text=True, timeout=120
    )


def test_ci_run_fails_in_ci_without_chromium(tmp_path: Path) -> None:
    repo, env = sandbox(tmp_path, chromium=False)
    done = ci_run(repo, env | {"CI": "true"})
    assert done.returncode == 1
    assert "error: could not install chromium (CI=true" in done.stderr
    assert not (tmp_path / "made").exists()  # stopped before the tests


def test_ci_run_fails_in_ci_without_the_real_model(tmp_path: Path) -> None:
    repo, env = sandbox(tmp_path, chromium=True, model=False)
    done = ci_run(repo, env | {"CI": "true"})
    assert done.returncode == 1
    assert "error: could not install llama-cpp-python[server] and SmolLM2" in done.stderr
    assert (tmp_path / "made").read_text() == "make .venv/.installed\n"  # not `make test`


def test_ci_run_fails_in_ci_without_the_tiktoken_files(tmp_path: Path) -> None:
    repo, env = sandbox(tmp_path, chromium=True)
    done = ci_run(repo, env | {"CI": "true"})
    assert done.returncode == 1
    assert "npm" in done.stderr and "error: could not install tiktoken's encoding" in done.stderr
    assert (tmp_path / "made").read_text() == "make .venv/.installed\n"  # not `make test`


def test_ci_run_warns_and_tests_on_a_laptop(tmp_path: Path) -> None:
    repo, env = sandbox(tmp_path, chromium=False)
    done = ci_run(repo, env)
    assert done.returncode == 0, done.stderr
    assert "warning: could not install chromium; the tests that need it will skip" in done.stderr
    assert "warning: could not install tiktoken's encoding files" in done.stderr
    assert (tmp_path / "made").read_text() == "make .venv/.installed\nmake test\n"


PART_TEST = """
from tests.parts import missing

def test_needs_a_part() -> None:
    missing("no Widget: install widget")
"""


@pytest.mark.parametrize(("ci", "outcome"), [("true", "1 failed"), ("", "1 skipped")])
def test_a_missing_part_skips_with_its_reason_except_in_ci(
    tmp_path: Path, ci: str, outcome: str
) -> None:
    (tmp_path / "test_part.py").write_text(PART_TEST)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rsf", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=REPO,
        env=os.environ | {"CI": ci, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert outcome in done.stdout
    assert "no Widget: install widget" in done.stdout
    if ci:
        assert "a real part is missing in CI" in done.stdout
