"""The editor's review: `digest send DIR` sends the reviewed bytes once; a proof says so."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import tomlkit

from digest.cli import main
from digest.review import PROOF_LINE
from tests import smtp
from tests.servers import HTTPServer
from tests.test_pipeline import world

UNTIL = "2026-11-16T06:00Z"


def write_config(tmp_path: Path, server: HTTPServer, port: int, **delivery: Any) -> Path:
    raw = {
        "newsletter": {"title": "Test Motoring Weekly", "editor": "Sam Reed"},
        "state": {"path": str(tmp_path / "state.sqlite")},
        "output": {"dir": str(tmp_path / "out")},
        "network": {"allow_hosts": [server.host_port], "allow_public": False},
        "delivery": {
            "from": "Digest <digest@example.org>",
            "to": ["reader@example.org", "second@example.org"],
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "security": "none",
        }
        | delivery,
        "feeds": world(server),
    }
    path = tmp_path / "digest.toml"
    path.write_text(tomlkit.dumps(raw))
    return path


def test_send_sends_the_reviewed_bytes_once(
    tmp_path: Path,
    http_server: HTTPServer,
    inbox: tuple[smtp.Inbox, int],
    capsys: pytest.CaptureFixture[str],
) -> None:
    box, port = inbox
    config = write_config(tmp_path, http_server, port)
    out = tmp_path / "out"
    assert main(["run", "--config", str(config), "--until", UNTIL, "--dry-run", "--quiet"]) == 0
    reviewed = (out / "digest.eml").read_bytes()
    assert box.messages == []  # a dry run sends nothing

    capsys.readouterr()
    assert main(["send", str(out), "--config", str(config)]) == 0
    assert capsys.readouterr().out == (
        "test-motoring-weekly-2026-W46: sent to 2 recipient(s)\n"
        f"archived: {out / 'archive' / 'index.html'}\n"
    )
    assert box.raw == [re.sub(rb"\r?\n", b"\r\n", reviewed)]  # the file, CRLF on the wire
    assert box.envelopes == [("digest@example.org", ["reader@example.org", "second@example.org"])]

    assert main(["send", str(out), "--config", str(config)]) == 1
    assert capsys.readouterr().err == (
        "digest: issue test-motoring-weekly-2026-W46 was already sent; pass --resend to send "
        "it again, or --dry-run to rebuild it without sending\n"
    )
    assert len(box.raw) == 1
    # the same ledger as `digest run --send`
    assert main(["run", "--config", str(config), "--until", UNTIL, "--send", "--quiet"]) == 1
    assert len(box.raw) == 1

    assert main(["send", str(out), "--config", str(config), "--resend"]) == 0
    assert box.raw[1] == box.raw[0]


def test_a_sent_reviewed_build_joins_the_archive_as_readers_got_it(
    tmp_path: Path, http_server: HTTPServer, inbox: tuple[smtp.Inbox, int]
) -> None:
    box, port = inbox
    config = write_config(tmp_path, http_server, port)
    out, archive = tmp_path / "out", tmp_path / "out" / "archive"
    assert main(["run", "--config", str(config), "--until", UNTIL, "--dry-run", "--quiet"]) == 0
    assert not archive.exists()  # not sent, not archived (include = "sent")
    built = json.loads((out / "digest.json").read_text(encoding="utf-8"))
    lead_text = built["stories"][0]["article"]["text"]
    assert lead_text

    assert main(["send", str(out), "--config", str(config)]) == 0
    (sent,) = box.messages
    page = (archive / built["id"] / "index.html").read_text(encoding="utf-8")
    html = sent.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert page == html.replace("\r\n", "\n")
    data = json.loads((archive / built["id"] / "digest.json").read_text(encoding="utf-8"))
    assert data["stories"][0]["article"]["title"] == built["stories"][0]["article"]["title"]
    assert lead_text not in json.dumps(data) and data["health"] == []
    assert built["stories"][0]["article"]["title"] in (archive / "index.html").read_text()
    assert built["id"] in (archive / "feed.xml").read_text()


def test_a_reviewed_build_that_did_not_go_out_is_not_archived(
    tmp_path: Path, http_server: HTTPServer
) -> None:
    config = write_config(tmp_path, http_server, smtp.free_port())
    out = tmp_path / "out"
    assert main(["run", "--config", str(config), "--until", UNTIL, "--dry-run", "--quiet"]) == 0
    assert main(["send", str(out), "--config", str(config)]) == 1
    assert not (out / "archive").exists()


def test_send_refuses_a_folder_without_a_build(
    tmp_path: Path, http_server: HTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, http_server, 25)
    assert main(["send", str(tmp_path / "nothing"), "--config", str(config)]) == 2
    assert capsys.readouterr().err == (
        f"digest: {tmp_path / 'nothing'}: no digest.eml and digest.json; build the issue first "
        f"with `digest run --dry-run --out {tmp_path / 'nothing'}`\n"
    )


def test_a_proof_says_it_is_one_at_its_top(
    tmp_path: Path, http_server: HTTPServer, inbox: tuple[smtp.Inbox, int]
) -> None:
    box, port = inbox
    config = write_config(tmp_path, http_server, port)
    args = ["run", "--config", str(config), "--until", UNTIL, "--proof-to", "ed@example.org"]
    assert main([*args, "--quiet"]) == 0
    (proof,) = box.messages
    assert str(proof["Subject"]).startswith("[Proof] ")
    text = proof.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = proof.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert text.replace("\r\n", "\n").startswith(PROOF_LINE + "\n\n")
    body = html[html.index("<body") :]
    assert body[body.index(">") + 1 :].startswith('<div style="margin:0;padding:10px 16px;')
    assert PROOF_LINE in body[: body.index("</div>")]
    reader_copy = (tmp_path / "out" / "digest.eml").read_bytes()
    assert PROOF_LINE.encode() not in reader_copy  # the readers' build has no banner
