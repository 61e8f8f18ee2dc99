"""The wheel carries what a user needs: the theme, the demo corpus, the starter config."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import REPO


def test_wheel_ships_theme_demo_and_starter(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(REPO),
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-q",
            "-w",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("digest-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    theme = {p.name for p in (REPO / "templates").iterdir()}
    assert {f"digest/templates/{name}" for name in theme} <= names
    assert "digest/docs/templates.md" in names  # the theme's reference, for pip users
    assert "digest/starter.toml" in names and "digest/demo/digest.toml" in names
    assert "digest/demo/corpus/expect.toml" in names
    assert {"digest/detect/rules.toml", "digest/detect/style.json"} <= names
    assert any(n.startswith("digest/demo/corpus/pages/") for n in names)
    assert not any(n.startswith(("tests/", "bench/")) for n in names)
