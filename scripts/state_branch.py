#!/usr/bin/env python3
"""Keep the weekly job's state on a git branch: pull it into a directory, push it back.

The weekly GitHub Actions job keeps `state.sqlite` and an archive of past issues on a
dedicated branch (default `digest-data`) instead of `actions/cache`, which is evicted after
7 days unused. Run from inside the checkout of main:

    python scripts/state_branch.py pull DIR [--branch digest-data] [--remote origin]
    python scripts/state_branch.py push DIR --message MSG [--branch digest-data] [--remote origin]

`pull` fetches the branch and writes its files into DIR (created; it must not exist or be
empty). When the remote has no such branch yet (the first run), DIR is created empty and the
run starts from empty state. Any other failure (network, authentication, no such remote)
exits 1: a run must never start from empty state because of a transient error, since that
would re-send old articles.

`push` publishes the files of DIR as the branch's whole content: ONE commit with no parent,
force-pushed, so the branch always holds just the latest state and the repository does not
grow by a SQLite blob every week. Files matching *.sqlite-wal, *.sqlite-shm,
*.sqlite-journal and *.tmp are never published: the run must have closed its database
before `push` (a closed SQLite database is complete in its main file). Pushes are retried
(`--attempts`, default 3) with a short backoff.

Neither command touches the checkout's HEAD, index or files: both work through a temporary
index (GIT_INDEX_FILE) and plumbing (read-tree, checkout-index, add, write-tree,
commit-tree). `pull` adds objects and FETCH_HEAD to the repository, nothing else; it fetches
with --depth 1 only when the repository is already shallow (as actions/checkout makes it),
so a developer's full clone does not turn shallow.

Authentication: with STATE_PUSH_TOKEN set (in Actions, a token allowed to write contents),
git's fetches and pushes send `AUTHORIZATION: basic base64(x-access-token:TOKEN)` as an extra
HTTP header scoped to $GITHUB_SERVER_URL (default https://github.com) only, passed through
GIT_CONFIG_COUNT/KEY/VALUE in git's environment, never on a command line; the token is
redacted from everything this tool prints. Without it, plain git: a local path remote, or a
developer's own credentials. Commits are made as $GIT_AUTHOR_NAME <$GIT_AUTHOR_EMAIL>, by
default digest-bot <digest-bot@users.noreply.github.com>; git config is never written.

Addresses: an http(s) remote's host is resolved once, here, and every address must pass
digest's rule for owner-configured hosts (public, loopback or private; never link-local
or a cloud metadata address). git is then pinned to those addresses with
`http.curloptResolve` (curl's CURLOPT_RESOLVE: the name still goes in the Host header, SNI
and the certificate check) and told not to follow redirects, so neither a second DNS
answer nor a redirect can take the token elsewhere. ssh remotes resolve in ssh itself and
are not covered; local paths need no network.

Exit status: 0 done (including "no branch yet" on pull), 1 failed (message on stderr),
2 bad usage. A dev and CI tool: not part of the package.
"""

from __future__ import annotations

import argparse
import base64
import fnmatch
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from digest.addresses import Refused, Rule, resolve_sync

DEFAULT_BRANCH = "digest-data"
DEFAULT_REMOTE = "origin"
DEFAULT_ATTEMPTS = 3
BACKOFF_SECONDS = 2.0  # waits 2 s, then 4 s, ... between attempts
NETWORK_TIMEOUT = 300  # seconds, per git fetch / push / ls-remote
LOCAL_TIMEOUT = 120  # seconds, per local git command
# SQLite side files (present only while a database is open or after a crash) and temp files.
SKIP_PATTERNS = ("*.sqlite-wal", "*.sqlite-shm", "*.sqlite-journal", "*.tmp")
BOT_NAME = "digest-bot"
BOT_EMAIL = "digest-bot@users.noreply.github.com"
TOKEN_ENV = "STATE_PUSH_TOKEN"
DEFAULT_SERVER = "https://github.com"
NO_SUCH_REF = 2  # `git ls-remote --exit-code`: the remote answered, and has no matching ref
REMOTE_RULE = Rule(owner_local=True)  # the remote is the owner's: digest.addresses
# Settings for every git call: byte-exact files, no background maintenance, no daemons.
GIT_OPTIONS = (
    "-c",
    "core.autocrlf=false",
    "-c",
    "core.fsmonitor=false",
    "-c",
    "gc.auto=0",
    "-c",
    "maintenance.auto=false",
)
_URL_USERINFO = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@")

T = TypeVar("T")


class Failure(Exception):
    """A reason to stop, for the user (already redacted)."""


class Git:
    """Runs git with the caller's environment plus auth, and redacts what it reports."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.env = dict(environ)
        self.env["GIT_TERMINAL_PROMPT"] = "0"  # fail, never wait for a password prompt
        self.secrets: list[str] = []
        token = environ.get(TOKEN_ENV, "").strip()
        if token:
            server = environ.get("GITHUB_SERVER_URL", "").strip() or DEFAULT_SERVER
            header, secrets = auth_header(token)
            self.env.update(config_env(self.env, http_extraheader(server, header)))
            self.secrets = secrets

    def pin(self, remote: str, push: bool = False) -> None:
        """Resolve an http(s) `remote`'s host once, check every address and pin git to
        them (see Addresses above); nothing for other remotes."""
        url = self.run(["remote", "get-url", *(["--push"] if push else []), remote], ok=(0, 2))
        entries = pinned_config(url.stdout.strip() if url.returncode == 0 else remote)
        if entries:
            self.env.update(config_env(self.env, entries))

    def redact(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return _URL_USERINFO.sub(r"\1***@", text)

    def run(
        self,
        args: Sequence[str],
        *,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = LOCAL_TIMEOUT,
        ok: Sequence[int] = (0,),
    ) -> subprocess.CompletedProcess[str]:
        """`git ARGS`; a Failure unless its exit status is in `ok`."""
        shown = self.redact(" ".join(["git", *args]))
        try:
            proc = subprocess.run(
                ["git", *GIT_OPTIONS, *args],
                cwd=cwd,
                env={**self.env, **(env or {})},
                stdin=subprocess.DEVNULL,
                capture_output=True,
                encoding="utf-8",
                errors="replace",
                timeout=timeout,
                check=False,
            )
        except FileNotFoundError as exc:
            raise Failure("git is not installed (or not on PATH)") from exc
        except subprocess.TimeoutExpired as exc:
            raise Failure(f"`{shown}` timed out after {timeout:.0f}s") from exc
        if proc.returncode not in ok:
            detail = self.redact(proc.stderr.strip() or proc.stdout.strip() or "no output")
            lines = [line for line in detail.splitlines() if line.strip()][-6:]
            raise Failure(f"`{shown}` failed (exit {proc.returncode}): " + " | ".join(lines))
        return proc


def auth_header(token: str) -> tuple[str, list[str]]:
    """The HTTP header carrying `token`, and every string that must never be printed."""
    encoded = base64.b64encode(f"x-access-token:{token}".encode()).decode("ascii")
    header = f"AUTHORIZATION: basic {encoded}"
    return header, [token, encoded, header]


def http_extraheader(server: str, header: str) -> list[tuple[str, str]]:
    """Config entries sending `header` to `server` only: an empty value first clears any
    header inherited from config (two Authorization headers make GitHub refuse)."""
    key = f"http.{server.rstrip('/')}/.extraheader"
    return [(key, ""), (key, header)]


def pinned_config(url: str) -> list[tuple[str, str]]:
    """Config entries pinning `url`'s host to its checked addresses; [] for non-http(s)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return []
    host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    try:
        checked = REMOTE_RULE.check(host, port, resolve_sync(host, port))
    except Refused as exc:
        raise Failure(str(exc)) from None
    except OSError as exc:
        raise Failure(f"cannot resolve {host}: {exc.strerror or exc}") from None
    addresses = ",".join(f"[{ip}]" if ip.version == 6 else str(ip) for ip in checked)
    return [
        ("http.curloptResolve", f"{host}:{port}:{addresses}"),
        ("http.followRedirects", "false"),
    ]


def config_env(environ: Mapping[str, str], entries: Sequence[tuple[str, str]]) -> dict[str, str]:
    """GIT_CONFIG_COUNT/KEY_n/VALUE_n adding `entries` after any the caller already set."""
    try:
        start = int(environ.get("GIT_CONFIG_COUNT", "0") or "0")
    except ValueError:
        start = 0
    out = {"GIT_CONFIG_COUNT": str(start + len(entries))}
    for i, (key, value) in enumerate(entries, start):
        out[f"GIT_CONFIG_KEY_{i}"] = key
        out[f"GIT_CONFIG_VALUE_{i}"] = value
    return out


def files(count: int) -> str:
    return f"{count} file" if count == 1 else f"{count} files"


def say(message: str) -> None:
    print(message, flush=True)


def warn(message: str) -> None:
    print(f"state_branch: warning: {message}", file=sys.stderr, flush=True)


def with_retries(what: str, attempts: int, action: Callable[[], T]) -> T:
    """`action()`, tried up to `attempts` times with a growing pause between tries."""
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except Failure as exc:
            if attempt >= attempts:
                if attempts > 1:
                    raise Failure(f"{what} failed {attempts} times; last error: {exc}") from exc
                raise
            delay = BACKOFF_SECONDS * attempt
            warn(f"{what} failed (attempt {attempt}/{attempts}), retrying in {delay:.0f}s: {exc}")
            time.sleep(delay)
    raise AssertionError("unreachable")  # attempts >= 1


def git_dir(git: Git) -> Path:
    """The current repository's git directory (absolute)."""
    try:
        proc = git.run(["rev-parse", "--absolute-git-dir"])
    except Failure as exc:
        raise Failure(
            "not inside a git repository: run from the checkout of the main branch"
        ) from exc
    return Path(proc.stdout.strip())


def plumbing_env(repo: Path, work_tree: Path, index: Path) -> dict[str, str]:
    """Point git at `repo`, with `work_tree` as its work tree and `index` as its index."""
    return {"GIT_DIR": str(repo), "GIT_WORK_TREE": str(work_tree), "GIT_INDEX_FILE": str(index)}


# --- pull ----------------------------------------------------------------------------------


def remote_tip(git: Git, remote: str, ref: str, attempts: int) -> str | None:
    """The commit `ref` names on `remote`, or None when the remote has no such ref."""

    def ask() -> str | None:
        proc = git.run(
            ["ls-remote", "--exit-code", remote, ref],
            timeout=NETWORK_TIMEOUT,
            ok=(0, NO_SUCH_REF),
        )
        if proc.returncode == NO_SUCH_REF:
            return None
        for line in proc.stdout.splitlines():
            sha, _, name = line.partition("\t")
            if name == ref:
                return sha
        return None  # only refs that merely end with the name (refs/tags/..., etc.)

    return with_retries(f"git ls-remote {git.redact(remote)}", attempts, ask)


def fetch(git: Git, remote: str, ref: str, attempts: int) -> str:
    """Fetch `ref` from `remote`; the fetched commit."""
    shallow = git.run(["rev-parse", "--is-shallow-repository"]).stdout.strip() == "true"
    args = ["fetch", "--no-tags", "--no-recurse-submodules", "--quiet"]
    if shallow:
        args.append("--depth=1")

    def get() -> str:
        git.run([*args, remote, ref], timeout=NETWORK_TIMEOUT)
        return git.run(["rev-parse", "--verify", "--quiet", "FETCH_HEAD^{commit}"]).stdout.strip()

    return with_retries(f"git fetch {git.redact(remote)} {ref}", attempts, get)


def check_pull_target(directory: Path) -> None:
    if directory.is_symlink() or (directory.exists() and not directory.is_dir()):
        raise Failure(f"{directory} exists and is not a directory")
    if directory.is_dir() and any(directory.iterdir()):
        raise Failure(
            f"{directory} is not empty: pull writes the branch's files into a new or empty "
            "directory (remove it first)"
        )


def materialise(git: Git, repo: Path, commit: str, directory: Path) -> int:
    """Write the tree of `commit` into `directory` through a temporary index; file count."""
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="state-branch-") as tmp:
        env = plumbing_env(repo, directory, Path(tmp) / "index")
        git.run(["read-tree", commit], cwd=directory, env=env)
        git.run(["checkout-index", "--all", "--force"], cwd=directory, env=env)
        names = git.run(["ls-files", "-z"], cwd=directory, env=env).stdout
    return len([name for name in names.split("\0") if name])


def pull(git: Git, directory: Path, branch: str, remote: str, attempts: int) -> None:
    repo = git_dir(git)
    check_pull_target(directory)
    ref = f"refs/heads/{branch}"
    try:
        git.pin(remote)
        tip = remote_tip(git, remote, ref, attempts)
        commit = None if tip is None else fetch(git, remote, ref, attempts)
    except Failure as exc:
        raise Failure(
            f"could not read {branch} from {git.redact(remote)} (not starting from empty "
            f"state): {exc}"
        ) from exc
    if commit is None:
        directory.mkdir(parents=True, exist_ok=True)
        say(f"no {branch} branch yet: starting with empty state in {directory}")
        return
    created = not directory.exists()
    try:
        count = materialise(git, repo, commit, directory)
    except Failure:
        if created:  # leave no half-written state behind
            shutil.rmtree(directory, ignore_errors=True)
        raise
    say(f"pulled {branch} from {git.redact(remote)} at {commit}: {files(count)} into {directory}")


# --- push ----------------------------------------------------------------------------------


def skipped_files(directory: Path) -> list[Path]:
    """Files under `directory` that push leaves out (see SKIP_PATTERNS)."""
    return sorted(
        path
        for path in directory.rglob("*")
        if path.is_file() and any(fnmatch.fnmatch(path.name, p) for p in SKIP_PATTERNS)
    )


def identity(environ: Mapping[str, str]) -> dict[str, str]:
    """Author and committer for the state commit, from the environment or the bot's."""
    name = environ.get("GIT_AUTHOR_NAME") or BOT_NAME
    email = environ.get("GIT_AUTHOR_EMAIL") or BOT_EMAIL
    return {
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": environ.get("GIT_COMMITTER_NAME") or name,
        "GIT_COMMITTER_EMAIL": environ.get("GIT_COMMITTER_EMAIL") or email,
    }


def snapshot(git: Git, repo: Path, directory: Path) -> tuple[str, int]:
    """Write the files of `directory` (less SKIP_PATTERNS) as a tree; (tree id, file count)."""
    excludes = [f":(exclude){pattern}" for pattern in SKIP_PATTERNS]
    with tempfile.TemporaryDirectory(prefix="state-branch-") as tmp:
        env = plumbing_env(repo, directory, Path(tmp) / "index")
        # --force: the repository's ignore rules (info/exclude, core.excludesFile) must not
        # silently drop state files such as *.sqlite.
        git.run(["add", "--all", "--force", "--", ".", *excludes], cwd=directory, env=env)
        names = git.run(["ls-files", "-z"], cwd=directory, env=env).stdout
        tree = git.run(["write-tree"], cwd=directory, env=env).stdout.strip()
    return tree, len([name for name in names.split("\0") if name])


def push(
    git: Git,
    environ: Mapping[str, str],
    directory: Path,
    branch: str,
    remote: str,
    message: str,
    attempts: int,
) -> None:
    if not message.strip():
        raise Failure("--message must not be empty")
    if not directory.is_dir():
        raise Failure(f"{directory} is not a directory: nothing to push")
    repo = git_dir(git)
    skipped = skipped_files(directory)
    for path in skipped:
        if path.name.endswith(("-wal", "-journal")) and path.stat().st_size > 0:
            warn(
                f"{path} is not empty: the database may still be open or was not closed "
                "cleanly; its main file may lack the latest changes"
            )
    tree, count = snapshot(git, repo, directory)
    if count == 0:
        raise Failure(
            f"{directory} has no files to publish: refusing to replace {branch} with empty state"
        )
    env = identity(environ)
    commit = git.run(["commit-tree", "--no-gpg-sign", "-m", message, tree], env=env).stdout.strip()
    ref = f"refs/heads/{branch}"
    git.pin(remote, push=True)
    with_retries(
        f"git push {git.redact(remote)} {ref}",
        attempts,
        lambda: git.run(
            ["push", "--force", "--no-verify", "--quiet", remote, f"{commit}:{ref}"],
            timeout=NETWORK_TIMEOUT,
        ),
    )
    note = f" (left out {len(skipped)}: {', '.join(p.name for p in skipped)})" if skipped else ""
    say(
        f"pushed {files(count)} from {directory} to {branch} on {git.redact(remote)} "
        f"as {commit} (one commit, no parent){note}"
    )


# --- command line --------------------------------------------------------------------------


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="state_branch.py",
        description="Pull the digest's state branch into a directory, or push it back.",
    )
    commands = top.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("pull", "fetch the branch and write its files into DIR (new or empty)"),
        ("push", "publish DIR as the branch's only commit (no parent), force-pushed"),
    ):
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("dir", type=Path, metavar="DIR")
        sub.add_argument("--branch", default=DEFAULT_BRANCH, help=f"default: {DEFAULT_BRANCH}")
        sub.add_argument(
            "--remote",
            default=DEFAULT_REMOTE,
            help=f"remote name, URL or path (default: {DEFAULT_REMOTE})",
        )
        sub.add_argument(
            "--attempts",
            type=positive,
            default=DEFAULT_ATTEMPTS,
            help=f"tries for each network step before giving up (default: {DEFAULT_ATTEMPTS})",
        )
        if name == "push":
            sub.add_argument("--message", "-m", required=True, help="the commit message")
    return top


def main(argv: list[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    args = parser().parse_args(argv)
    env = dict(os.environ if environ is None else environ)
    git = Git(env)
    directory = Path(args.dir).resolve()
    try:
        if args.command == "pull":
            pull(git, directory, args.branch, args.remote, args.attempts)
        else:
            push(git, env, directory, args.branch, args.remote, args.message, args.attempts)
    except Failure as exc:
        print(f"state_branch: error: {git.redact(str(exc))}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
