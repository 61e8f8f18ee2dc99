"""scripts/state_branch.py against real git: a local bare repository plays `origin`."""

from __future__ import annotations

import base64
import importlib.util
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "state_branch.py"
TOKEN = "secret-token-123"
# Bytes that a text conversion would damage: NUL, CR LF, a lone CR, non-UTF-8.
DB_BYTES = b"SQLite format 3\x00" + bytes(range(256)) + b"\r\nline\rend\n"
HTML = "<html><body><p>Issue x — café</p></body></html>\r\n"


def load_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("state_branch", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The caller's environment without git settings or identity that could leak in."""
    out = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GIT_", "STATE_PUSH_TOKEN", "GITHUB_"))
    }
    out.update(
        GIT_CONFIG_GLOBAL=str(tmp_path / "no-gitconfig"),
        GIT_CONFIG_NOSYSTEM="1",
        HOME=str(tmp_path),
    )
    return out


def git(*args: str, cwd: Path, env: dict[str, str]) -> str:
    proc = subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        check=True,
        text=True,
    )
    return proc.stdout.strip()


@dataclass
class Repos:
    bare: Path
    clone: Path
    env: dict[str, str]

    def run(
        self, *args: str, cwd: Path | None = None, extra: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(SCRIPT), *args],
            cwd=cwd or self.clone,
            env={**self.env, **(extra or {})},
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )

    def branch_files(self, branch: str = "digest-data") -> dict[str, bytes]:
        names = git("ls-tree", "-r", "--name-only", branch, cwd=self.bare, env=self.env)
        return {
            name: subprocess.run(
                ["git", "cat-file", "blob", f"{branch}:{name}"],
                cwd=self.bare,
                env=self.env,
                capture_output=True,
                check=True,
            ).stdout
            for name in names.splitlines()
        }

    def parents(self, branch: str = "digest-data") -> list[str]:
        line = git("rev-list", "--parents", "-n", "1", branch, cwd=self.bare, env=self.env)
        return line.split()[1:]

    def count(self, branch: str = "digest-data") -> int:
        return int(git("rev-list", "--count", branch, cwd=self.bare, env=self.env))


@pytest.fixture
def repos(tmp_path: Path, env: dict[str, str]) -> Repos:
    bare = tmp_path / "origin.git"
    git("init", "--quiet", "--bare", "--initial-branch=main", str(bare), cwd=tmp_path, env=env)
    clone = tmp_path / "clone"
    git("clone", "--quiet", str(bare), str(clone), cwd=tmp_path, env=env)
    (clone / "README").write_text("main branch\n")
    git("symbolic-ref", "HEAD", "refs/heads/main", cwd=clone, env=env)
    git("add", "README", cwd=clone, env=env)
    git("commit", "--quiet", "-m", "init", cwd=clone, env=env)
    git("push", "--quiet", "origin", "main", cwd=clone, env=env)
    return Repos(bare=bare, clone=clone, env=env)


def write_state(directory: Path, db: bytes = DB_BYTES) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "state.sqlite").write_bytes(db)
    (directory / "archive" / "x").mkdir(parents=True, exist_ok=True)
    (directory / "archive" / "x" / "digest.html").write_bytes(HTML.encode())


def checkout_fingerprint(repos: Repos) -> tuple[str, str, str, bytes]:
    """HEAD, branches, status and the index file's bytes of the clone."""
    head = git("rev-parse", "HEAD", cwd=repos.clone, env=repos.env)
    branches = git("branch", "--list", cwd=repos.clone, env=repos.env)
    status = git("status", "--porcelain", "--untracked-files=all", cwd=repos.clone, env=repos.env)
    return head, branches, status, (repos.clone / ".git" / "index").read_bytes()


def test_first_pull_starts_with_empty_state(repos: Repos, tmp_path: Path) -> None:
    data = tmp_path / "data"
    proc = repos.run("pull", str(data))
    assert proc.returncode == 0, proc.stderr
    assert "no digest-data branch yet: starting with empty state" in proc.stdout
    assert data.is_dir()
    assert list(data.iterdir()) == []


def test_push_publishes_one_parentless_commit_and_leaves_the_checkout_alone(
    repos: Repos, tmp_path: Path
) -> None:
    before = checkout_fingerprint(repos)
    data = tmp_path / "data"
    write_state(data)
    (data / "state.sqlite-wal").write_bytes(b"")
    (data / "state.sqlite-shm").write_bytes(b"shm")
    (data / "archive" / "x" / "partial.tmp").write_text("half")

    proc = repos.run("push", str(data), "--message", "state after issue x")
    assert proc.returncode == 0, proc.stderr
    assert repos.branch_files() == {
        "state.sqlite": DB_BYTES,
        "archive/x/digest.html": HTML.encode(),
    }
    assert repos.parents() == []
    assert repos.count() == 1
    commit = git("rev-parse", "digest-data", cwd=repos.bare, env=repos.env)
    assert commit in proc.stdout
    assert "pushed 2 files" in proc.stdout
    log = git(
        "log", "-1", "--format=%an <%ae>|%cn <%ce>|%s", "digest-data", cwd=repos.bare, env=repos.env
    )
    assert log == (
        "digest-bot <digest-bot@users.noreply.github.com>|"
        "digest-bot <digest-bot@users.noreply.github.com>|state after issue x"
    )
    # main on the remote and the clone's HEAD, index, branches and files are untouched
    assert git("rev-parse", "main", cwd=repos.bare, env=repos.env) == before[0]
    assert checkout_fingerprint(repos) == before
    assert before[2] == ""


def test_second_push_replaces_the_content_without_history(repos: Repos, tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_state(data)
    assert repos.run("push", str(data), "-m", "week 1").returncode == 0
    first = git("rev-parse", "digest-data", cwd=repos.bare, env=repos.env)

    (data / "state.sqlite").write_bytes(DB_BYTES + b"week 2")
    (data / "archive" / "y").mkdir()
    (data / "archive" / "y" / "digest.md").write_text("# y\n")
    (data / "archive" / "x" / "digest.html").unlink()
    proc = repos.run("push", str(data), "-m", "week 2")
    assert proc.returncode == 0, proc.stderr

    assert git("rev-parse", "digest-data", cwd=repos.bare, env=repos.env) != first
    assert repos.parents() == []
    assert repos.count() == 1
    assert repos.branch_files() == {
        "state.sqlite": DB_BYTES + b"week 2",
        "archive/y/digest.md": b"# y\n",
    }


def test_fresh_clone_pulls_the_same_bytes(repos: Repos, tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_state(data)
    (data / "state.sqlite-wal").write_bytes(b"")
    assert repos.run("push", str(data), "-m", "week 1").returncode == 0

    fresh = tmp_path / "fresh"
    git("clone", "--quiet", str(repos.bare), str(fresh), cwd=tmp_path, env=repos.env)
    head = git("rev-parse", "HEAD", cwd=fresh, env=repos.env)
    pulled = tmp_path / "pulled"
    proc = repos.run("pull", str(pulled), cwd=fresh)
    assert proc.returncode == 0, proc.stderr
    assert "2 files" in proc.stdout

    files = sorted(p.relative_to(pulled).as_posix() for p in pulled.rglob("*") if p.is_file())
    assert files == ["archive/x/digest.html", "state.sqlite"]
    for name in files:
        assert (pulled / name).read_bytes() == (data / name).read_bytes(), name
    assert git("rev-parse", "HEAD", cwd=fresh, env=repos.env) == head
    assert git("status", "--porcelain", cwd=fresh, env=repos.env) == ""
    assert git("rev-parse", "--abbrev-ref", "HEAD", cwd=fresh, env=repos.env) == "main"


def test_pull_into_a_shallow_checkout(repos: Repos, tmp_path: Path) -> None:
    """Like actions/checkout: a depth-1 clone of main (file:// so that depth applies)."""
    data = tmp_path / "data"
    write_state(data)
    assert repos.run("push", str(data), "-m", "week 1").returncode == 0
    shallow = tmp_path / "shallow"
    url = repos.bare.as_uri()
    git("clone", "--quiet", "--depth=1", url, str(shallow), cwd=tmp_path, env=repos.env)
    proc = repos.run("pull", str(tmp_path / "pulled"), cwd=shallow)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "pulled" / "state.sqlite").read_bytes() == DB_BYTES


def test_pull_leaves_a_full_clone_full(repos: Repos, tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_state(data)
    assert repos.run("push", str(data), "-m", "week 1").returncode == 0
    assert repos.run("pull", str(tmp_path / "pulled")).returncode == 0
    shallow = git("rev-parse", "--is-shallow-repository", cwd=repos.clone, env=repos.env)
    assert shallow == "false"


@pytest.mark.parametrize("remote", ["not-a-repo-dir", "no-such-path"])
def test_pull_from_an_unreadable_remote_fails_instead_of_starting_empty(
    repos: Repos, tmp_path: Path, remote: str
) -> None:
    target = tmp_path / remote
    if remote == "not-a-repo-dir":
        target.mkdir()
    data = tmp_path / "data"
    proc = repos.run("pull", str(data), "--remote", str(target), "--attempts", "1")
    assert proc.returncode == 1
    assert "could not read digest-data" in proc.stderr
    assert "not starting from empty state" in proc.stderr
    assert "starting with empty state" not in proc.stdout
    assert not data.exists()


def test_pull_from_an_unknown_remote_name_fails(repos: Repos, tmp_path: Path) -> None:
    proc = repos.run("pull", str(tmp_path / "data"), "--remote", "upstream", "--attempts", "1")
    assert proc.returncode == 1
    assert "could not read digest-data" in proc.stderr


def test_pull_refuses_a_non_empty_directory(repos: Repos, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "old.txt").write_text("old")
    proc = repos.run("pull", str(data))
    assert proc.returncode == 1
    assert "is not empty" in proc.stderr
    assert (data / "old.txt").read_text() == "old"


def test_pull_outside_a_repository_fails(repos: Repos, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    proc = repos.run("pull", str(tmp_path / "data"), cwd=outside)
    assert proc.returncode == 1
    assert "not inside a git repository" in proc.stderr


def test_push_refuses_a_missing_or_empty_directory(repos: Repos, tmp_path: Path) -> None:
    missing = repos.run("push", str(tmp_path / "missing"), "-m", "x")
    assert missing.returncode == 1
    assert "is not a directory" in missing.stderr

    only_side_files = tmp_path / "side"
    only_side_files.mkdir()
    (only_side_files / "state.sqlite-shm").write_bytes(b"x")
    empty = repos.run("push", str(only_side_files), "-m", "x")
    assert empty.returncode == 1
    assert "no files to publish" in empty.stderr
    assert git("branch", "--list", cwd=repos.bare, env=repos.env) == "* main"


def test_push_needs_a_message(repos: Repos, tmp_path: Path) -> None:
    write_state(tmp_path / "data")
    assert repos.run("push", str(tmp_path / "data")).returncode == 2  # argparse usage error
    blank = repos.run("push", str(tmp_path / "data"), "-m", "  ")
    assert blank.returncode == 1


def test_push_warns_about_an_unflushed_wal(repos: Repos, tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_state(data)
    (data / "state.sqlite-wal").write_bytes(b"pending pages")
    proc = repos.run("push", str(data), "-m", "x")
    assert proc.returncode == 0, proc.stderr
    assert "state.sqlite-wal is not empty" in proc.stderr
    assert set(repos.branch_files()) == {"state.sqlite", "archive/x/digest.html"}


def test_push_uses_the_author_from_the_environment(repos: Repos, tmp_path: Path) -> None:
    write_state(tmp_path / "data")
    extra = {"GIT_AUTHOR_NAME": "Sam Reed", "GIT_AUTHOR_EMAIL": "sam@example.com"}
    assert repos.run("push", str(tmp_path / "data"), "-m", "x", extra=extra).returncode == 0
    log = git(
        "log", "-1", "--format=%an <%ae>|%cn <%ce>", "digest-data", cwd=repos.bare, env=repos.env
    )
    assert log == "Sam Reed <sam@example.com>|Sam Reed <sam@example.com>"


def test_push_ignores_the_repositorys_ignore_rules(repos: Repos, tmp_path: Path) -> None:
    (repos.clone / ".git" / "info" / "exclude").write_text("*.sqlite\narchive/\n")
    write_state(tmp_path / "data")
    assert repos.run("push", str(tmp_path / "data"), "-m", "x").returncode == 0
    assert set(repos.branch_files()) == {"state.sqlite", "archive/x/digest.html"}


def test_push_to_an_unreachable_remote_fails(repos: Repos, tmp_path: Path) -> None:
    write_state(tmp_path / "data")
    proc = repos.run(
        "push",
        str(tmp_path / "data"),
        "-m",
        "x",
        "--remote",
        str(tmp_path / "nowhere"),
        "--attempts",
        "1",
    )
    assert proc.returncode == 1
    assert "git push" in proc.stderr
    assert "failed" in proc.stderr


def test_token_is_scoped_to_github_and_never_printed(repos: Repos, tmp_path: Path) -> None:
    extra = {"STATE_PUSH_TOKEN": TOKEN, "GIT_TRACE": "1"}
    encoded = base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    outputs: list[str] = []

    first = repos.run("pull", str(tmp_path / "empty"), extra=extra)
    assert first.returncode == 0, first.stderr
    write_state(tmp_path / "data")
    pushed = repos.run("push", str(tmp_path / "data"), "-m", "x", extra=extra)
    assert pushed.returncode == 0, pushed.stderr
    pulled = repos.run("pull", str(tmp_path / "pulled"), extra=extra)
    assert pulled.returncode == 0, pulled.stderr
    assert (tmp_path / "pulled" / "state.sqlite").read_bytes() == DB_BYTES
    failed = repos.run(
        "pull",
        str(tmp_path / "x"),
        "--remote",
        str(tmp_path / "nowhere"),
        "--attempts",
        "1",
        extra=extra,
    )
    assert failed.returncode == 1
    for proc in (first, pushed, pulled, failed):
        outputs += [proc.stdout, proc.stderr]
    for text in outputs:
        assert TOKEN not in text
        assert encoded not in text


def test_auth_environment_carries_the_header_for_github_only() -> None:
    module = load_module()
    runner = module.Git({"STATE_PUSH_TOKEN": TOKEN + "\n", "GIT_CONFIG_COUNT": "1"})
    encoded = base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    assert runner.env["GIT_CONFIG_COUNT"] == "3"
    assert runner.env["GIT_CONFIG_KEY_1"] == "http.https://github.com/.extraheader"
    assert runner.env["GIT_CONFIG_VALUE_1"] == ""  # clears an inherited header first
    assert runner.env["GIT_CONFIG_KEY_2"] == "http.https://github.com/.extraheader"
    assert runner.env["GIT_CONFIG_VALUE_2"] == f"AUTHORIZATION: basic {encoded}"
    assert runner.env["GIT_TERMINAL_PROMPT"] == "0"

    text = f"x {TOKEN} y {encoded} https://user:{TOKEN}@github.com/o/r z"
    redacted = runner.redact(text)
    assert TOKEN not in redacted and encoded not in redacted
    assert "https://***@github.com/o/r" in redacted

    plain = module.Git({})
    assert "GIT_CONFIG_COUNT" not in plain.env
    enterprise = module.Git({"STATE_PUSH_TOKEN": "t", "GITHUB_SERVER_URL": "https://ghe.example/"})
    assert enterprise.env["GIT_CONFIG_KEY_0"] == "http.https://ghe.example/.extraheader"


def test_retries_back_off_then_give_up(monkeypatch: pytest.MonkeyPatch) -> None:
    module = load_module()
    sleeps: list[float] = []
    monkeypatch.setattr(module.time, "sleep", sleeps.append)
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise module.Failure("boom")
        return "ok"

    assert module.with_retries("thing", 3, flaky) == "ok"
    assert sleeps == [2.0, 4.0]

    def broken() -> str:
        raise module.Failure("still down")

    with pytest.raises(module.Failure, match="thing failed 3 times; last error: still down"):
        module.with_retries("thing", 3, broken)


def test_pull_leaves_the_checkout_alone(repos: Repos, tmp_path: Path) -> None:
    write_state(tmp_path / "data")
    assert repos.run("push", str(tmp_path / "data"), "-m", "x").returncode == 0
    before = checkout_fingerprint(repos)
    assert repos.run("pull", str(tmp_path / "pulled")).returncode == 0
    assert checkout_fingerprint(repos) == before
