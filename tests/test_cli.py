"""The `digest` command as a user meets it: exit codes, messages, JSON lines."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from digest.cli import main
from tests.servers import HTTPServer, Reply, page, rss

ARTICLE = (
    "Harbor Auto said on Monday it would recall 12,000 electric vans in the U.S. after "
    "finding a fault in a rear-axle bolt. The fix takes about an hour, the company said. "
    "Owners will be contacted by mail from Dec. 1. No injuries have been reported."
)


def test_help_everywhere(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (
        ["--help"],
        ["run", "--help"],
        ["init", "--help"],
        ["extract", "--help"],
        ["summarize", "--help"],
    ):
        with pytest.raises(SystemExit) as exited:
            main(argv)
        assert exited.value.code == 0
        assert "usage: digest" in capsys.readouterr().out


def test_init_writes_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "digest.toml"
    assert main(["init", "--config", str(target)]) == 0
    assert "[[feeds]]" in target.read_text()
    assert main(["init", "--config", str(target)]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["init", "--config", str(target), "--force"]) == 0


def test_config_error_is_one_message_exit_2_and_nothing_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "digest.toml"
    config.write_text('[newsletter]\ntitel = "x"\n[output]\ndir = "out"\n')
    assert main(["run", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "newsletter.titel" in err and str(config) in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["digest.toml"]


def test_bad_flags_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["run", "--since", "fortnight"])
    assert exited.value.code == 2 and "7d" in capsys.readouterr().err
    assert main(["run", "--resend"]) == 2
    assert main(["run", "--to", "a@example.org"]) == 2
    assert "--proof-to" in capsys.readouterr().err
    assert main(["run", "--send", "--proof-to", "a@example.org"]) == 2
    assert main(["run", "--demo", "--proof-to", "a@example.org"]) == 2
    with pytest.raises(SystemExit) as exited:
        main(["run", "--send", "--to", "not an address"])
    assert exited.value.code == 2


def test_demo_run_prints_the_result_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "run",
            "--demo",
            "--out",
            str(tmp_path / "out"),
            "--state",
            str(tmp_path / "s.sqlite"),
            "--quiet",
        ]
    )
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert code == 0
    assert line.startswith("9 feeds, 1 failed; 7 stories; not sent; ")
    assert line.endswith("digest.html") and (tmp_path / "out" / "digest.html").exists()


def test_extract_json_lines_in_order_with_gz(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = tmp_path / "a.html"
    first.write_bytes(page("Harbor recalls vans", [ARTICLE, ARTICLE.upper()]))
    second = tmp_path / "b.html.gz"
    second.write_bytes(gzip.compress(page("Second", [ARTICLE])))
    assert main(["extract", str(first), str(second), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["file"] for r in rows] == [str(first), str(second)]
    assert set(rows[0]) == {
        "file",
        "title",
        "text",
        "author",
        "date",
        "sitename",
        "url",
        "paywalled",
    }
    assert "12,000 electric vans" in rows[0]["text"]


def test_summarize_json_for_text_and_html(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = tmp_path / "a.txt"
    text.write_text(ARTICLE)
    html = tmp_path / "b.html"
    html.write_bytes(page("Harbor recalls vans", [ARTICLE]))
    assert main(["summarize", str(text), str(html), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["method"] for r in rows] == ["extractive", "extractive"]
    assert set(rows[0]) == {"file", "summary", "method", "sentences"}
    assert rows[0]["summary"].startswith("Harbor Auto said on Monday")
    assert 1 <= len(rows[1]["sentences"]) <= 3


def test_an_unreadable_file_is_named_in_its_place_and_the_rest_go_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "a.txt"
    good.write_text(ARTICLE)
    missing = tmp_path / "nope.txt"
    assert main(["summarize", str(good), str(missing), str(good), "--json"]) == 1
    captured = capsys.readouterr()
    rows = [json.loads(line) for line in captured.out.splitlines()]
    assert [r["file"] for r in rows] == [str(good), str(missing), str(good)]
    assert "error" in rows[1] and "summary" in rows[2]
    assert "nope.txt" in captured.err


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "digest.toml"
    path.write_text(text)
    return path


def test_run_refuses_early_what_cannot_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = write_config(tmp_path, "[newsletter]\ntitle = 'x'\n")
    assert main(["run", "--config", str(empty)]) == 2
    assert "no [[feeds]]" in capsys.readouterr().err
    feeds = write_config(tmp_path, "[[feeds]]\nurl = 'http://127.0.0.1:9/feed'\n")
    assert main(["run", "--config", str(feeds), "--send"]) == 2
    assert "[delivery]" in capsys.readouterr().err
    assert main(["run", "--config", str(feeds), "--llm"]) == 2
    assert "[llm]" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["digest.toml"]


def test_an_output_folder_that_is_a_file_is_one_line_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "out"
    blocker.write_text("not a folder")
    code = main(["run", "--demo", "--out", str(blocker), "--state", str(tmp_path / "s.sqlite")])
    assert code == 1
    assert "cannot write to the output folder" in capsys.readouterr().err


def test_until_without_a_zone_is_read_in_the_newsletters_zone() -> None:
    from digest.cli import _in_zone, moment
    from digest.config import parse_config
    from digest.pipeline import RunOptions

    config = parse_config({"newsletter": {"timezone": "America/New_York"}}, Path("d.toml"))
    options = _in_zone(config, RunOptions(until=moment("2026-11-16")))
    assert options.until.isoformat() == "2026-11-16T00:00:00-05:00"


def test_python_dash_m_and_console_script_agree(tmp_path: Path) -> None:
    env = os.environ | {"DIGEST_CONFIG": str(tmp_path / "none.toml")}
    done = subprocess.run(
        [sys.executable, "-m", "digest", "run"], capture_output=True, text=True, env=env
    )
    assert done.returncode == 2 and "digest init" in done.stderr


def test_run_with_a_config_file_end_to_end(
    tmp_path: Path, http_server: HTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    http_server.route(
        "/p",
        Reply(
            body=page("Harbor recalls vans", [ARTICLE] * 3), headers={"Content-Type": "text/html"}
        ),
    )
    feed = rss(
        [
            {
                "title": "Harbor recalls vans",
                "link": http_server.url("/p"),
                "pubDate": "Wed, 11 Nov 2026 10:00:00 GMT",
            }
        ]
    )
    url = http_server.route("/feed.xml", Reply(body=feed))
    config = write_config(
        tmp_path,
        f"""
[newsletter]
title = "Loopback Weekly"
[network]
allow_hosts = ["{http_server.host_port}"]
allow_public = false
[[feeds]]
url = "{url}"
name = "Harbor Watch"
""",
    )
    code = main(["run", "--config", str(config), "--until", "2026-11-16", "--quiet"])
    assert code == 0
    assert capsys.readouterr().out.strip() == "1 feed, 0 failed; 1 story; not sent; " + str(
        tmp_path / "out" / "digest.html"
    )
    assert "Harbor recalls vans" in (tmp_path / "out" / "digest.txt").read_text()
    assert (tmp_path / ".digest" / "state.sqlite").exists()


def test_templates_init_then_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    theme = tmp_path / "my-theme"
    assert main(["templates", "init", str(theme)]) == 0
    assert (theme / "digest.html.j2").exists() and "copied" in capsys.readouterr().out
    assert main(["templates", "init", str(theme)]) == 2  # never overwrites silently
    assert "digest.html.j2" in capsys.readouterr().err
    assert main(["templates", "init", str(theme), "--force"]) == 0
    assert main(["templates", "check", "--templates", str(theme)]) == 0
    footer = theme / "_footer.html.j2"
    footer.write_text("<tr><td>\n{{ story.headline }}\n</td></tr>\n")
    capsys.readouterr()
    assert main(["templates", "check", "--templates", str(theme)]) == 1
    out = capsys.readouterr().out
    assert f"{footer.name}:2:" in out and "hint:" in out


def test_preview_without_a_digest_says_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["preview", "--out", str(tmp_path), "--once", "--port", "0"]) == 1
    assert "run `digest run` first" in capsys.readouterr().err
