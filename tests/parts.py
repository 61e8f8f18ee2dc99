"""The real parts some tests need (Chromium, tiktoken's encoding files): missing one
skips the test, with the reason, on a laptop; in CI (CI=true, where `.ci/run` installs
every part) it fails the test, so a broken install can never pass as a skip."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def missing(reason: str) -> NoReturn:
    """Skip with `reason`, or in CI fail with it."""
    if in_ci():
        pytest.fail(f"a real part is missing in CI: {reason}", pytrace=False)
    pytest.skip(reason)
