"""Rendering checks in a real browser: Playwright driving Debian's Chromium.

Playwright's own browser download cannot run here (nor in CI), so the browser is the
system's: `$DIGEST_CHROMIUM`, else chromium, chromium-browser or google-chrome on PATH
(see digest.preview.find_chromium). A test that needs it calls `browser()` and is
skipped, with the reason, when Chromium or the `playwright` package is missing (failed
in CI: tests/parts.py).

    with browser() as chrome:
        page = chrome.new_page(viewport={"width": 375, "height": 800})
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from digest.preview import CHROMIUM_FLAGS, find_chromium
from tests.parts import missing

if TYPE_CHECKING:
    from playwright.sync_api import Browser

# Playwright adds --headless itself; the scale and scrollbar flags are left to each page.
LAUNCH_ARGS = [
    flag
    for flag in CHROMIUM_FLAGS
    if flag not in ("--headless", "--hide-scrollbars", "--force-device-scale-factor=1")
]


def chromium_or_skip() -> str:
    """The Chromium to use, or skip the test saying how to get one."""
    found = find_chromium()
    if found is None:
        missing("no Chromium: install Debian's chromium, or set DIGEST_CHROMIUM to its path")
    return found


@contextmanager
def browser() -> Iterator[Browser]:
    """A headless Chromium driven by Playwright, closed afterwards; skips the test when
    Chromium or the playwright package (a dev dependency) is missing."""
    executable = chromium_or_skip()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("the playwright package is not installed: pip install -e '.[dev]'")
    with sync_playwright() as playwright:
        chrome = playwright.chromium.launch(
            executable_path=executable, args=LAUNCH_ARGS, headless=True, timeout=60_000
        )
        try:
            yield chrome
        finally:
            chrome.close()


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) of a PNG, from its IHDR chunk."""
    head = Path(path).read_bytes()[:24]
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        raise ValueError(f"{path} is not a PNG")
    width, height = struct.unpack(">II", head[16:24])
    return int(width), int(height)


def luminance(rgb: tuple[float, float, float]) -> float:
    """WCAG relative luminance of an sRGB colour with 0-255 channels."""

    def linear(channel: float) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(one: tuple[float, float, float], two: tuple[float, float, float]) -> float:
    """WCAG contrast ratio of two colours, 1 to 21."""
    light, dark = sorted((luminance(one), luminance(two)), reverse=True)
    return (light + 0.05) / (dark + 0.05)
