"""`digest preview`: the output folder served on 127.0.0.1, screenshots by Chromium.

Most checks use a stand-in "Chromium" (a small script) so they run anywhere; those
marked `chromium` use the real one and skip without it.
"""

from __future__ import annotations

import http.client
import stat
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from digest import preview as preview_module
from digest.preview import (
    SHOTS,
    PreviewError,
    find_chromium,
    preview,
    screenshot,
    serve,
)
from tests.chromium import chromium_or_skip, png_size

HTML = "<!DOCTYPE html><html><head><title>Issue</title></head><body>stories</body></html>"
TALL = 2345  # px: the height of the page in `tall_digest`


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """An output folder as `digest run` leaves it, with a secret beside it."""
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "digest.html").write_text(HTML, encoding="utf-8")
    (folder / "digest.txt").write_text("The Autos Digest\n", encoding="utf-8")
    (folder / "digest.md").write_text("# The Autos Digest\n", encoding="utf-8")
    (folder / "report.json").write_text("{}", encoding="utf-8")
    (folder / ".hidden").write_text("hidden", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("secret", encoding="utf-8")
    (folder / "link.txt").symlink_to(tmp_path / "secret.txt")
    (folder / "sub").mkdir()
    return folder


def get(base: str, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    """A raw request: `path` goes out exactly as written (no client-side clean-up)."""
    connection = http.client.HTTPConnection(base.removeprefix("http://"), timeout=10)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


# --- serve ----------------------------------------------------------------------------


def test_serve_answers_the_digest_at_the_root(out: Path) -> None:
    with serve(out) as server:
        status, headers, body = get(server.base, "/")
    assert status == 200
    assert body == HTML.encode()
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/digest.html", "text/html; charset=utf-8"),
        ("/digest.txt", "text/plain; charset=utf-8"),
        ("/digest.txt?utm=1", "text/plain; charset=utf-8"),
        ("/digest.md", "text/markdown; charset=utf-8"),
        ("/report.json", "application/json"),
    ],
)
def test_serve_gives_each_file_its_type(out: Path, path: str, kind: str) -> None:
    with serve(out) as server:
        status, headers, body = get(server.base, path)
    assert (status, headers["content-type"]) == (200, kind)
    assert headers["cache-control"] == "no-store"
    assert body == (out / path.split("?")[0].lstrip("/")).read_bytes()


@pytest.mark.parametrize(
    "path",
    [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E%2Fsecret.txt",
        "/sub/../../secret.txt",
        "/..%5csecret.txt",
        "/.hidden",
        "/link.txt",  # a link that leads out of the folder
        "secret.txt",
    ],
)
def test_serve_refuses_a_way_out_of_the_folder(out: Path, path: str) -> None:
    with serve(out) as server:
        status, headers, body = get(server.base, path)
    assert status in (400, 403, 404)
    assert b"secret" not in body and b"hidden" not in body
    assert headers["cache-control"] == "no-store"


@pytest.mark.parametrize("path", ["/nothing.html", "/sub", "/sub/"])
def test_serve_says_not_found(out: Path, path: str) -> None:
    with serve(out) as server:
        assert get(server.base, path)[0] == 404


def test_serve_is_read_only_and_on_loopback_only(out: Path) -> None:
    with serve(out) as server:
        assert server.host_port.startswith("127.0.0.1:")
        assert server._server.server_address[0] == "127.0.0.1"
        assert get(server.base, "/digest.html", method="POST")[0] == 405
        assert get(server.base, "/digest.html", method="PUT")[0] in (405, 501)
    assert (out / "digest.html").read_text(encoding="utf-8") == HTML


def test_serve_on_a_taken_port_says_so(out: Path) -> None:
    with serve(out) as first:
        port = int(first.host_port.rsplit(":", 1)[1])
        with pytest.raises(PreviewError, match=rf"127\.0\.0\.1:{port}.*another port"):
            serve(out, port)


# --- preview without Chromium -----------------------------------------------------------


def test_preview_without_a_digest_says_run_first(tmp_path: Path) -> None:
    for folder in (tmp_path / "missing", tmp_path):
        with pytest.raises(PreviewError) as caught:
            preview(folder, shots=False)
        assert str(caught.value) == f"no digest in {folder}: run `digest run` first"


def no_chromium(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, env: str | None) -> None:
    empty = tmp_path / "bin"
    empty.mkdir(exist_ok=True)
    monkeypatch.setenv("PATH", str(empty))
    if env is None:
        monkeypatch.delenv("DIGEST_CHROMIUM", raising=False)
    else:
        monkeypatch.setenv("DIGEST_CHROMIUM", env)


@pytest.mark.parametrize("env", [None, "/nonexistent/chromium"])
def test_preview_without_chromium_skips_the_shots(
    out: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: str | None
) -> None:
    no_chromium(monkeypatch, tmp_path, env)
    assert find_chromium() is None
    lines: list[str] = []
    result = preview(out, shots=True, wait=False, echo=lines.append)
    assert result.chromium is None and result.shots == {} and not result.failed
    assert result.skipped
    assert (
        lines[0] == f"serving {out} at {result.url} (digest.html; digest.txt, digest.md beside it)"
    )
    assert lines[1].startswith("screenshots skipped: ")
    assert ("DIGEST_CHROMIUM=/nonexistent/chromium" in lines[1]) == (env is not None)
    assert len(lines) == 2
    assert not list(out.glob("*.png"))


def test_preview_serves_until_interrupted(out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bytes] = []

    def block() -> None:  # stands in for the wait for Ctrl-C
        with urllib.request.urlopen(url[0], timeout=10) as response:
            seen.append(response.read())
        raise KeyboardInterrupt

    url: list[str] = []
    lines: list[str] = []
    monkeypatch.setattr(preview_module, "_block", block)

    def echo(line: str) -> None:
        lines.append(line)
        if line.startswith("serving "):
            url.append(line.split(" at ")[1].split(" ")[0])

    result = preview(out, shots=False, wait=True, echo=echo)
    assert seen == [HTML.encode()]
    assert url == [result.url]
    assert lines[1:] == ["press Ctrl-C to stop", "stopped"]
    with pytest.raises(OSError):  # closed once stopped
        urllib.request.urlopen(result.url, timeout=2)


# --- a stand-in Chromium ---------------------------------------------------------------

PNG_1x1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def fake_chromium(tmp_path: Path, body: str) -> str:
    """A script that takes Chromium's arguments and runs `body` (Python, `args` bound)."""
    script = tmp_path / "fake-chromium"
    script.write_text(
        f"#!{sys.executable}\nimport sys, time\nargs = sys.argv[1:]\n{body}\n", encoding="utf-8"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


WRITES_PNG = f"""
for arg in args:
    if arg.startswith("--screenshot="):
        open(arg.split("=", 1)[1], "wb").write({PNG_1x1!r})
"""


def test_find_chromium_prefers_digest_chromium(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chromium = fake_chromium(tmp_path, "pass")
    monkeypatch.setenv("DIGEST_CHROMIUM", chromium)
    assert find_chromium() == chromium


def test_screenshot_reports_chromium_failing(tmp_path: Path) -> None:
    chromium = fake_chromium(
        tmp_path,
        "print('[1:1:ERROR:dbus/bus.cc] Failed to connect to the bus', file=sys.stderr)\n"
        "print('ERROR: cannot open display', file=sys.stderr)\nsys.exit(3)",
    )
    target = tmp_path / "shot.png"
    with pytest.raises(PreviewError, match=r"exit 3") as caught:
        screenshot(chromium, "http://127.0.0.1:9/", target, 800, 600)
    assert "cannot open display" in str(caught.value)
    assert "dbus" not in str(caught.value)  # the noise is left out
    assert not target.exists()
    assert not list(tmp_path.glob(".*partial*"))


def test_screenshot_that_writes_nothing_fails(tmp_path: Path) -> None:
    chromium = fake_chromium(tmp_path, "pass")
    with pytest.raises(PreviewError, match="wrote no screenshot"):
        screenshot(chromium, "http://127.0.0.1:9/", tmp_path / "shot.png", 800, 600)


def test_screenshot_past_its_timeout_is_stopped(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    chromium = fake_chromium(  # a browser with a renderer of its own, both stuck
        tmp_path,
        "import subprocess\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(pids)!r}, 'w').write(f'{{child.pid}}')\n"
        "time.sleep(60)",
    )
    started = time.monotonic()
    with pytest.raises(PreviewError, match=r"took over 1s"):
        screenshot(chromium, "http://127.0.0.1:9/", tmp_path / "shot.png", 800, 600, timeout=1)
    assert time.monotonic() - started < 10
    renderer = int(pids.read_text())
    deadline = time.monotonic() + 5
    while alive(renderer) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(renderer), "the timed-out browser's child process is left running"


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def test_screenshot_passes_size_profile_and_url(tmp_path: Path) -> None:
    log = tmp_path / "args.txt"
    chromium = fake_chromium(
        tmp_path, f"open({str(log)!r}, 'w').write('\\n'.join(args))\n" + WRITES_PNG
    )
    target = tmp_path / "shot.png"
    screenshot(chromium, "http://127.0.0.1:9/", target, 375, 1234)
    assert target.read_bytes() == PNG_1x1
    args = log.read_text(encoding="utf-8").splitlines()
    assert args[-1] == "http://127.0.0.1:9/"
    for flag in ("--headless", "--no-sandbox", "--hide-scrollbars", "--window-size=375,1234"):
        assert flag in args
    profile = next(arg.split("=", 1)[1] for arg in args if arg.startswith("--user-data-dir="))
    assert not Path(profile).exists()  # removed afterwards


def test_preview_with_a_failing_chromium_goes_on(
    out: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIGEST_CHROMIUM", fake_chromium(tmp_path, "sys.exit(1)"))
    lines: list[str] = []
    result = preview(out, echo=lines.append)
    assert [line.split(":")[0] for line in lines[1:]] == ["screenshot failed"] * 2
    assert len(result.failed) == 2 and not result.shots
    assert not list(out.glob("*.png"))


def test_preview_falls_back_to_fixed_heights(
    out: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # This stand-in cannot measure the page (its --dump-dom prints nothing).
    monkeypatch.setenv("DIGEST_CHROMIUM", fake_chromium(tmp_path, WRITES_PNG))
    lines: list[str] = []
    result = preview(out, echo=lines.append)
    assert result.sizes == {"desktop": (800, 3000), "mobile": (375, 6000)}
    assert lines[1:] == [
        f"wrote {out / 'preview-desktop.png'} (800x3000)",
        f"wrote {out / 'preview-mobile.png'} (375x6000)",
    ]
    assert sorted(p.name for p in out.glob("*.png")) == [shot.filename for shot in SHOTS]


# --- the real Chromium ----------------------------------------------------------------


@pytest.mark.chromium
def test_preview_screenshots_the_whole_issue(out: Path) -> None:
    chromium_or_skip()
    (out / "digest.html").write_text(
        "<!DOCTYPE html><html><body style='margin:0'>"
        f"<div style='height:{TALL}px;background:#fffbf6'>Issue</div></body></html>",
        encoding="utf-8",
    )
    lines: list[str] = []
    result = preview(out, shots=True, wait=False, echo=lines.append)
    assert not result.failed and result.skipped is None
    assert png_size(out / "preview-desktop.png") == (800, TALL)
    assert png_size(out / "preview-mobile.png") == (375, TALL)
    assert lines[1:] == [
        f"wrote {out / 'preview-desktop.png'} (800x{TALL})",
        f"wrote {out / 'preview-mobile.png'} (375x{TALL})",
    ]
    assert [p.name for p in out.glob(".*")] == [".hidden"]  # no partial PNG left behind
