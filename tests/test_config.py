"""Config: defaults, strict keys, clear messages that name the key and the file."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from digest.config import ConfigError, load_config, parse_config, starter_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "digest.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_apply_when_the_file_only_lists_feeds(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[[feeds]]\nurl = "https://example.org/feed"\n'))
    assert config.newsletter.max_stories == 7
    assert config.feeds[0].weight == 1.0
    assert config.state.path == tmp_path / ".digest" / "state.sqlite"
    assert config.output.dir == tmp_path / "out"


def test_unknown_key_names_the_key_and_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[[feeds]]\nurl = "https://example.org/feed"\nwieght = 2\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "feeds[0].wieght" in str(caught.value)
    assert str(path) in str(caught.value)
    assert "unknown key" in str(caught.value)


def test_wrong_type_names_the_key_and_the_value(tmp_path: Path) -> None:
    path = write(tmp_path, '[newsletter]\nmax_stories = "seven"\n')
    with pytest.raises(ConfigError, match=r"newsletter\.max_stories.*'seven'"):
        load_config(path)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[newsletter]\ntimezone = "Mars/Olympus"\n', "newsletter.timezone"),
        ('[newsletter]\neditor_line = "{editr} picks"\n', "newsletter.editor_line"),
        ('[[feeds]]\nurl = "ftp://example.org/feed"\n', "feeds[0].url"),
        ('[network]\nallow_hosts = ["localhost"]\n', "network.allow_hosts"),
        ('[delivery]\nsecurity = "tls"\n', "delivery.security"),
        ("[[feeds]]\nname = 'no url'\n", "feeds[0].url"),
    ],
)
def test_bad_values_name_their_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace("[", r"\[").replace("]", r"\]")):
        load_config(write(tmp_path, text))


def test_password_in_file_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = write(tmp_path, '[delivery]\npassword = "hunter2"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "delivery.password" in message and "DIGEST_SMTP_PASSWORD" in message
    assert "hunter2" not in message


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[newsletter\n"))
    with pytest.raises(ConfigError, match="digest init"):
        load_config(tmp_path / "nope.toml")


def test_password_comes_from_the_named_environment_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = parse_config({"delivery": {"password_env": "MY_SMTP_SECRET"}}, tmp_path / "d.toml")
    monkeypatch.delenv("MY_SMTP_SECRET", raising=False)
    assert config.delivery.password() is None
    monkeypatch.setenv("MY_SMTP_SECRET", "s3cret")
    assert config.delivery.password() == "s3cret"


def test_starter_config_is_valid_and_lists_real_automotive_feeds(tmp_path: Path) -> None:
    raw = tomllib.loads(starter_config())
    config = parse_config(raw, tmp_path / "digest.toml")
    assert len(config.feeds) >= 15
    names = {f.name for f in config.feeds}
    assert {"Electrek", "InsideEVs", "Autocar", "Jalopnik", "Green Car Reports"} <= names
    assert all(f.url.startswith("https://") for f in config.feeds)
    assert len({f.url for f in config.feeds}) == len(config.feeds)


def test_delivery_settings_from_the_environment_win_and_are_named(tmp_path: Path) -> None:
    from digest.config import load_config

    path = tmp_path / "digest.toml"
    path.write_text('[delivery]\nto = ["file@example.org"]\nsmtp_host = "file.example.org"\n')
    env = {
        "DIGEST_TO": "a@example.org, b@example.org",
        "DIGEST_SMTP_PORT": "2525",
        "DIGEST_SMTP_HOST": "",  # an unset GitHub secret is empty: ignored
    }
    config = load_config(path, env)
    assert config.delivery.to == ["a@example.org", "b@example.org"]
    assert config.delivery.smtp_port == 2525
    assert config.delivery.smtp_host == "file.example.org"
    with pytest.raises(ConfigError, match="DIGEST_SMTP_PORT"):
        load_config(path, {"DIGEST_SMTP_PORT": "587x"})
    with pytest.raises(ConfigError, match="from the environment variable DIGEST_SMTP_SECURITY"):
        load_config(path, {"DIGEST_SMTP_SECURITY": "tls"})
