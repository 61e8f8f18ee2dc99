"""The first hour's dead ends: each one a new user met, and what they now get."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from digest.cli import main
from digest.config import Newsletter
from digest.render import render
from digest.theme import check, sample_digest

REPO = Path(__file__).resolve().parents[1]


def readme_block(language: str, starts: str) -> str:
    text = (REPO / "README.md").read_text()
    blocks = re.findall(rf"```{language}\n(.*?)```", text, re.DOTALL)
    return next(b for b in blocks if b.startswith(starts))


def test_a_misspelled_block_is_named_with_the_one_meant(tmp_path: Path) -> None:
    (tmp_path / "digest.html.j2").write_text(
        '{% extends "default/digest.html.j2" %}\n'
        "{% block footr %}<tr><td>Bye</td></tr>{% endblock %}\n"
    )
    problems = [p for p in check(tmp_path) if p.file.endswith("digest.html.j2")]
    assert [(p.line, p.message) for p in problems] == [
        (2, "block `footr` is not a block of default/digest.html.j2: it is never rendered")
    ]
    assert problems[0].hint.startswith("did you mean `footer`? the blocks of ")


def test_the_readme_block_example_renders_inside_the_card(tmp_path: Path) -> None:
    (tmp_path / "digest.html.j2").write_text(readme_block("jinja", "{% extends"))
    assert check(tmp_path) == []
    html = render(sample_digest(), tmp_path).html
    card = html[html.index('class="container"') : html.rindex("</table>")]
    footer = re.search(r'<td class="footer"[^>]*><p class="footer-text"[^>]*>Sent with care', card)
    assert footer is not None  # in the card's table, with the footer's padding and type


def test_starter_config_shows_the_real_defaults() -> None:
    starter = (REPO / "digest" / "starter.toml").read_text()
    defaults = Newsletter()
    assert f"# editor_line = {defaults.editor_line!r}".replace("'", '"') in starter
    assert f'# editor_pronoun = "{defaults.editor_pronoun}"' in starter


def test_a_negative_since_is_explained(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--since", "-3d"]) == 2
    assert capsys.readouterr().err == (
        "digest: --since is how far back the window reaches, a positive age such as 3d "
        "(got '-3d'); to end the window earlier, use --until\n"
    )


def test_the_demo_email_can_be_unsubscribed_from(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["run", "--demo", "--quiet", "--out", str(out), "--state", str(tmp_path / "s.sqlite")]
    assert main([*args, "--config", str(tmp_path / "none.toml")]) == 0
    message = message_from_bytes((out / "digest.eml").read_bytes(), policy=policy.default)
    assert message["List-Unsubscribe"] == "<mailto:digest@localhost?subject=unsubscribe>"
    text = (out / "digest.txt").read_text()
    assert text.endswith("\nUnsubscribe:\nmailto:digest@localhost?subject=unsubscribe\n")


def test_the_readme_names_every_command_and_only_real_ones() -> None:
    from digest.cli import build_parser

    text = (REPO / "README.md").read_text()
    table = text[text.index("## Every command") :].split("\n\n")[1]
    named = re.findall(r"^\| `digest ([a-z]+)(?: ([a-z]+))?", table, re.MULTILINE)
    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert {c for c, _ in named} == set(commands)
    for command, action in named:
        if action:
            sub = commands[command]._subparsers._group_actions[0].choices  # type: ignore[union-attr]
            assert action in sub
    assert "9 feeds, 1 failed; 7 stories; not sent; out/digest.html" in text
    assert "about 5 minutes" in text and "Skips are expected" in text
