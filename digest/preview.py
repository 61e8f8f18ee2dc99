"""`digest preview`: look at the last issue the way a reader will, before it is sent.

It serves the output folder read-only on 127.0.0.1 (`/` is digest.html; digest.txt,
digest.md and the rest are there by name) and, when a headless Chromium is found, saves
two screenshots of the whole issue beside it: preview-desktop.png, 800 px wide, and
preview-mobile.png, 375 px wide (the iPhone SE/mini width, where the theme's mobile
rules apply).

Chromium's `--screenshot` draws only the window, so the window must be as tall as the
page: the height of the issue at each width is first measured by loading digest.html in
an iframe of that width (`--dump-dom`, one launch for both widths), then each shot is
taken with the window exactly that tall. If the measurement fails, 3000 px (desktop) and
6000 px (mobile) are used, enough for a seven-story issue; heights are capped at 16384 px,
the largest surface Chromium draws in one piece.

Only the standard library and Chromium are used: no browser driver is needed.
"""

from __future__ import annotations

import contextlib
import mimetypes
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from digest.demo.loopback import Answer, LoopbackServer

__all__ = [
    "CHROMIUM_FLAGS",
    "SHOTS",
    "OutputServer",
    "PreviewError",
    "PreviewResult",
    "Shot",
    "find_chromium",
    "page_heights",
    "preview",
    "screenshot",
    "serve",
]

HOST = "127.0.0.1"  # never 0.0.0.0: the preview is for the editor's own browser
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
)
VIRTUAL_TIME_BUDGET = 2000  # ms of page time Chromium lets pass before it shoots or dumps
MAX_HEIGHT = 16384
MIN_HEIGHT = 200
STDERR_LINES = 5
# Chromium's complaints about the missing session bus, and Debian's wrapper script's.
NOISE = re.compile(r"dbus|unexpected operator")
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".eml": "text/plain; charset=utf-8",  # shown as the raw message, not downloaded
    ".json": "application/json",
    ".png": "image/png",
}


class PreviewError(Exception):
    """The preview cannot go on: no digest to show, a port taken, Chromium failing."""


@dataclass(frozen=True)
class Shot:
    name: str  # "desktop": written as preview-desktop.png
    width: int
    fallback_height: int  # when the page's height cannot be measured

    @property
    def filename(self) -> str:
        return f"preview-{self.name}.png"


SHOTS = (Shot("desktop", 800, 3000), Shot("mobile", 375, 6000))


@dataclass
class PreviewResult:
    url: str  # where the issue was served, e.g. http://127.0.0.1:8000/
    chromium: str | None  # the browser used for the shots; None when none was found
    shots: dict[str, Path] = field(default_factory=dict)  # shot name -> PNG written
    sizes: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (width, height)
    skipped: str | None = None  # why no screenshots were taken, if none were
    failed: list[str] = field(default_factory=list)  # screenshots that failed, with why


# --- Chromium -------------------------------------------------------------------------


def find_chromium() -> str | None:
    """`$DIGEST_CHROMIUM` if set (a path or a name on PATH), else the first of chromium,
    chromium-browser and google-chrome on PATH; None when there is none."""
    wanted = os.environ.get("DIGEST_CHROMIUM", "").strip()
    if wanted:
        return shutil.which(wanted)
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def screenshot(
    chromium: str, url: str, target: Path, width: int, height: int, timeout: float = 60
) -> None:
    """Draw `url` in a `width` x `height` headless window into the PNG `target`.

    A fresh profile is used and removed afterwards; the PNG appears whole or not at all.
    Raises PreviewError when Chromium fails, runs past `timeout` seconds or writes nothing.
    """
    target = Path(target)
    partial = target.with_name(f".{target.stem}-partial.png")
    partial.unlink(missing_ok=True)
    try:
        _run_chromium(
            chromium,
            [
                f"--window-size={width},{height}",
                f"--virtual-time-budget={VIRTUAL_TIME_BUDGET}",
                f"--screenshot={partial}",
                url,
            ],
            timeout,
            what=f"screenshot of {url} at {width}x{height}",
        )
        if not partial.is_file() or partial.stat().st_size == 0:
            raise PreviewError(f"Chromium wrote no screenshot of {url} at {width}x{height}")
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


MEASURE_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"></head><body style="margin:0">
{frames}
<script>
for (const frame of document.querySelectorAll("iframe")) {{
  frame.addEventListener("load", () => {{
    let height = -1;
    try {{
      const doc = frame.contentDocument;
      height = Math.max(doc.documentElement.scrollHeight, doc.body ? doc.body.scrollHeight : 0);
    }} catch (error) {{
      height = -1;
    }}
    document.documentElement.setAttribute("data-height-" + frame.width, String(height));
  }});
}}
</script>
</body></html>
"""
FRAME = (
    '<iframe src="{src}" width="{width}" height="800" scrolling="no" '
    'style="display:block;border:0;overflow:hidden"></iframe>'
)


def page_heights(
    chromium: str, html: Path, widths: Iterable[int], timeout: float = 60
) -> dict[int, int]:
    """The height in CSS px of the page `html` (a file) laid out at each of `widths`.

    One Chromium launch: a page of iframes, one per width, each loading the file (the
    iframe is the viewport, so the theme's media queries see that width; Chromium's own
    headless window is never narrower than 500 px). Widths it could not measure are missing.
    """
    widths = list(widths)
    src = Path(html).resolve().as_uri()
    frames = "\n".join(FRAME.format(src=src, width=width) for width in widths)
    with tempfile.TemporaryDirectory(prefix="digest-measure-") as scratch:
        page = Path(scratch) / "measure.html"
        page.write_text(MEASURE_PAGE.format(frames=frames), encoding="utf-8")
        dom = _run_chromium(
            chromium,
            [
                "--allow-file-access-from-files",  # the measuring page reads its iframes
                f"--window-size={max(widths, default=800) + 20},800",
                f"--virtual-time-budget={VIRTUAL_TIME_BUDGET}",
                "--dump-dom",
                page.as_uri(),
            ],
            timeout,
            what=f"measuring {html}",
        )
    heights: dict[int, int] = {}
    for width in widths:
        found = re.search(rf'data-height-{width}="(\d+)"', dom)
        if found and int(found.group(1)) > 0:
            heights[width] = int(found.group(1))
    return heights


def _run_chromium(chromium: str, args: list[str], timeout: float, what: str) -> str:
    """Run headless Chromium with a throwaway profile; its stdout, or PreviewError."""
    with tempfile.TemporaryDirectory(prefix="digest-chromium-") as profile:
        command = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,  # its renderers share the group: a timeout ends all
            )
        except OSError as exc:
            raise PreviewError(f"cannot start Chromium ({chromium}): {exc}") from exc
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            out, err = process.communicate()
            raise PreviewError(
                f"Chromium took over {timeout:g}s for the {what}{_tail(err)}"
            ) from None
        finally:
            if process.poll() is None:  # interrupted (Ctrl-C) while waiting
                _kill_group(process)
                process.wait()
    if process.returncode != 0:
        raise PreviewError(f"Chromium failed (exit {process.returncode}) on the {what}{_tail(err)}")
    return out.decode("utf-8", "replace")


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _tail(stderr: bytes) -> str:
    """The last lines of Chromium's stderr that say something, for an error message."""
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines()]
    lines = [line for line in lines if line]
    telling = [line for line in lines if not NOISE.search(line)] or lines
    if not telling:
        return ""
    return ":\n  " + "\n  ".join(telling[-STDERR_LINES:])


# --- the server -----------------------------------------------------------------------


class OutputServer(LoopbackServer):
    """The output folder, read-only, on 127.0.0.1: `/` is digest.html; GET only."""

    def __init__(self, directory: Path, port: int = 0) -> None:
        self.root = Path(directory).resolve()
        super().__init__(HOST, port)

    def answer(self, path: str, headers: dict[str, str]) -> Answer:
        status, file = self.locate(path)
        if file is None:
            return _plain(status, "forbidden" if status == 403 else "not found")
        try:
            body = file.read_bytes()
        except OSError:
            return _plain(404, "not found")
        kind = CONTENT_TYPES.get(file.suffix.lower())
        if kind is None:
            kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        return Answer(200, body, {"Content-Type": kind, **_NO_CACHE})

    def locate(self, path: str) -> tuple[int, Path | None]:
        """(200, the file) that the request `path` names; (403, None) for a way out of
        the folder (a `..`, a hidden name, a link that leads outside); (404, None) else."""
        name = unquote(urlsplit(path).path)
        if not name.startswith("/") or "\\" in name or "\x00" in name:
            return 403, None
        parts = [part for part in name.split("/") if part]
        if any(part.startswith(".") for part in parts):  # "..", "." and hidden files
            return 403, None
        file = self.root.joinpath(*(parts or ["digest.html"]))
        try:
            real = file.resolve(strict=True)
        except (OSError, RuntimeError):
            return 404, None
        if not real.is_relative_to(self.root):
            return 403, None
        return (200, real) if real.is_file() else (404, None)


_NO_CACHE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def _plain(status: int, text: str) -> Answer:
    return Answer(
        status, f"{text}\n".encode(), {"Content-Type": "text/plain; charset=utf-8", **_NO_CACHE}
    )


def serve(directory: Path, port: int = 0) -> OutputServer:
    """The output folder served read-only on 127.0.0.1:`port` (0: any free port).

    Use it as a context manager: `with serve(out) as server: server.url("/")`.
    Raises PreviewError when the port is taken.
    """
    try:
        return OutputServer(directory, port)
    except OSError as exc:
        raise PreviewError(
            f"cannot serve on {HOST}:{port} ({exc.strerror or exc}): "
            "pick another port, or 0 for any free one"
        ) from exc


# --- the command ----------------------------------------------------------------------


def preview(
    out_dir: Path,
    port: int = 0,
    shots: bool = True,
    wait: bool = False,
    echo: Callable[[str], None] = print,
    timeout: float = 60,
) -> PreviewResult:
    """Serve `out_dir` and screenshot its digest.html at 800 and 375 px.

    Prints (through `echo`), in order:
      serving OUT at http://127.0.0.1:PORT/ (digest.html; digest.txt, digest.md beside it)
      wrote OUT/preview-desktop.png (800x5376)           one line per shot, when shots
      wrote OUT/preview-mobile.png (375x6902)
      screenshots skipped: no Chromium found (...)       instead, when there is no browser
      screenshot failed: ...                             a shot that failed (the rest go on)
      press Ctrl-C to stop                               with wait, then blocks
      stopped                                            after Ctrl-C
    With `wait` False it returns once the shots are taken (the server is then closed).
    Raises PreviewError when there is no digest in `out_dir` or the port is taken.
    """
    out_dir = Path(out_dir)
    html = out_dir / "digest.html"
    if not html.is_file():
        raise PreviewError(f"no digest in {out_dir}: run `digest run` first")
    with serve(out_dir, port) as server:
        result = PreviewResult(url=server.url("/"), chromium=None)
        echo(f"serving {out_dir} at {result.url} (digest.html; digest.txt, digest.md beside it)")
        if shots:
            _take_shots(result, html, out_dir, echo, timeout)
        if wait:
            echo("press Ctrl-C to stop")
            try:
                _block()
            except KeyboardInterrupt:
                echo("stopped")
    return result


def _take_shots(
    result: PreviewResult, html: Path, out_dir: Path, echo: Callable[[str], None], timeout: float
) -> None:
    result.chromium = find_chromium()
    if result.chromium is None:
        where = os.environ.get("DIGEST_CHROMIUM", "").strip()
        result.skipped = (
            f"no Chromium at DIGEST_CHROMIUM={where}"
            if where
            else "no Chromium found (install chromium, or set DIGEST_CHROMIUM to its path)"
        )
        echo(f"screenshots skipped: {result.skipped}")
        return
    try:
        heights = page_heights(result.chromium, html, [shot.width for shot in SHOTS], timeout)
    except PreviewError:
        heights = {}  # each shot falls back to its generous fixed height
    for shot in SHOTS:
        height = min(max(heights.get(shot.width, shot.fallback_height), MIN_HEIGHT), MAX_HEIGHT)
        target = out_dir / shot.filename
        try:
            screenshot(result.chromium, result.url, target, shot.width, height, timeout)
        except PreviewError as exc:
            target.unlink(missing_ok=True)  # not last run's picture passed off as this one
            result.failed.append(f"{shot.filename}: {exc}")
            echo(f"screenshot failed: {shot.filename}: {exc}")
            continue
        result.shots[shot.name] = target
        result.sizes[shot.name] = (shot.width, height)
        echo(f"wrote {target} ({shot.width}x{height})")


def _block() -> None:
    """Until Ctrl-C (KeyboardInterrupt)."""
    while True:
        time.sleep(3600)
