#!/usr/bin/env python3
"""Fill a tiktoken cache directory with o200k_base and cl100k_base, from npm.

tiktoken downloads its encoding files from openaipublic.blob.core.windows.net, which
CI cannot reach; the npm registry can be reached, and the package js-tiktoken carries
the same ranks. This tool converts them to tiktoken's file format, checks each file's
SHA-256 against the hash tiktoken itself expects, and writes it where tiktoken looks
(`DIR/<sha1 of the blob URL>`), so that with TIKTOKEN_CACHE_DIR=DIR tiktoken, and
digest.summarize.tokens, count exactly without any download.

    python scripts/tiktoken_cache.py [DIR]     # DIR defaults to .cache/tiktoken

Files already present with the right hash are left alone (no npm call at all).
Exits 1 with a message when npm is missing, fails, or a hash does not match.
A dev and CI tool: not part of the package.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DIR = REPO / ".cache" / "tiktoken"
PACKAGE = "js-tiktoken@1.0.21"
BLOB = "https://openaipublic.blob.core.windows.net/encodings/{}.tiktoken"
# The hashes tiktoken_ext/openai_public.py expects (checked against it when installed).
EXPECTED = {
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
}
_MAX_MEMBER = 64 * 1024 * 1024  # a ranks module is ~2-5 MB
_NPM_TIMEOUT = 600  # seconds


class Failure(Exception):
    """A reason to stop, for the user."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "dir", nargs="?", type=Path, default=DEFAULT_DIR, help=f"default: {DEFAULT_DIR}"
    )
    args = parser.parse_args(argv)
    directory: Path = args.dir
    try:
        check_against_tiktoken()
        missing = [name for name in EXPECTED if not is_cached(directory, name)]
        for name in EXPECTED:
            if name not in missing:
                print(f"{name}: up to date in {directory}")
        if missing:
            with tempfile.TemporaryDirectory(prefix="tiktoken-npm-") as scratch:
                tarball = npm_pack(Path(scratch))
                for name in missing:
                    data = convert(read_ranks_module(tarball, name))
                    verify(name, data)
                    write_atomically(cache_path(directory, name), data)
                    print(f"{name}: written to {cache_path(directory, name)} (from {PACKAGE})")
    except Failure as failure:
        print(f"tiktoken_cache: {failure}", file=sys.stderr)
        return 1
    return 0


def cache_path(directory: Path, name: str) -> Path:
    """Where tiktoken looks: the SHA-1 of the file's blob URL (tiktoken.load)."""
    return directory / hashlib.sha1(BLOB.format(name).encode()).hexdigest()


def is_cached(directory: Path, name: str) -> bool:
    path = cache_path(directory, name)
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest() == EXPECTED[name]
    except OSError:
        return False


def check_against_tiktoken() -> None:
    """Fail if the installed tiktoken expects other hashes (its file would be rejected).

    Reads tiktoken_ext/openai_public.py as text: importing it is harmless, but the text
    is all that is needed. Silent when tiktoken is not installed or the source does not
    have the expected shape.
    """
    try:
        spec = importlib.util.find_spec("tiktoken_ext.openai_public")
    except (ImportError, ValueError):
        return
    if spec is None or spec.origin is None:
        return
    try:
        source = Path(spec.origin).read_text(encoding="utf-8")
    except OSError:
        return
    for name, expected in EXPECTED.items():
        pattern = re.escape(BLOB.format(name)) + r"""["']\s*,\s*expected_hash=["']([0-9a-f]{64})"""
        found = re.search(pattern, source)
        if found and found.group(1) != expected:
            raise Failure(
                f"the installed tiktoken expects {name} with sha256 {found.group(1)}, "
                f"this script {expected}: update EXPECTED (and digest/summarize/tokens.py)"
            )


def npm_pack(directory: Path) -> Path:
    """Download the package tarball into `directory` with `npm pack` (no scripts run)."""
    npm = shutil.which("npm")
    if npm is None:
        raise Failure(
            "npm is not installed; install Node.js/npm (e.g. `apt-get install npm`), "
            "or copy the tiktoken encoding files into the cache directory by hand"
        )
    command = [npm, "pack", PACKAGE, "--ignore-scripts", "--json", "--pack-destination", "."]
    try:
        result = subprocess.run(
            command,
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=_NPM_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise Failure(f"`npm pack {PACKAGE}` failed: {exc}") from exc
    if result.returncode != 0:
        raise Failure(
            f"`npm pack {PACKAGE}` exited with {result.returncode}:\n{result.stderr.strip()}"
        )
    tarballs = sorted(directory.glob("*.tgz"))
    if len(tarballs) != 1:
        raise Failure(f"`npm pack {PACKAGE}` left {len(tarballs)} tarballs, expected one")
    return tarballs[0]


def read_ranks_module(tarball: Path, name: str) -> str:
    """The text of package/dist/ranks/<name>.js, read from the tarball in memory (nothing
    is extracted to disk, so member paths and links cannot escape anywhere)."""
    member_name = f"package/dist/ranks/{name}.js"
    try:
        with tarfile.open(tarball, "r:gz") as archive:
            member = archive.getmember(member_name)
            if not member.isfile() or member.size > _MAX_MEMBER:
                raise Failure(f"{member_name} in {PACKAGE} is not a regular file of sane size")
            stream = archive.extractfile(member)
            if stream is None:
                raise Failure(f"{member_name} in {PACKAGE} cannot be read")
            with stream:
                return stream.read().decode("utf-8")
    except KeyError as exc:
        raise Failure(f"{PACKAGE} has no {member_name}") from exc
    except (OSError, tarfile.TarError, UnicodeDecodeError) as exc:
        raise Failure(f"cannot read {member_name} from {tarball.name}: {exc}") from exc


def convert(module: str) -> bytes:
    """js-tiktoken's ranks module to tiktoken's file: one `<base64 token> <rank>` a line.

    The module is `export default {"pat_str":..., "special_tokens":..., "bpe_ranks":...}`;
    `bpe_ranks` is lines of `<ignored> <offset> <token> <token> ...`, the tokens taking
    ranks offset, offset + 1, ...
    """
    prefix = "export default "
    body = module.strip()
    if not body.startswith(prefix):
        raise Failure("unexpected ranks module: no `export default`")
    try:
        ranks_text = json.loads(body[len(prefix) :].rstrip(";"))["bpe_ranks"]
    except (ValueError, KeyError, TypeError) as exc:
        raise Failure(f"unexpected ranks module: {exc}") from exc
    if not isinstance(ranks_text, str):
        raise Failure("unexpected ranks module: bpe_ranks is not a string")
    ranks: dict[str, int] = {}
    for number, line in enumerate(ranks_text.splitlines(), 1):
        if not line:
            continue
        fields = line.split(" ")
        if len(fields) < 2 or not fields[1].isdigit():
            raise Failure(f"unexpected ranks module: line {number} has no offset")
        offset = int(fields[1])
        for index, token in enumerate(fields[2:]):
            try:
                base64.b64decode(token, validate=True)
            except binascii.Error as exc:
                raise Failure(f"unexpected ranks module: bad token {token!r}") from exc
            if token in ranks:
                raise Failure(f"unexpected ranks module: token {token!r} twice")
            ranks[token] = offset + index
    ordered = sorted(ranks.items(), key=lambda item: item[1])
    return "".join(f"{token} {rank}\n" for token, rank in ordered).encode("ascii")


def verify(name: str, data: bytes) -> None:
    actual = hashlib.sha256(data).hexdigest()
    if actual != EXPECTED[name]:
        raise Failure(
            f"{name} converted from {PACKAGE} has sha256 {actual}, tiktoken expects "
            f"{EXPECTED[name]}; the package's ranks differ, {name} not written"
        )


def write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, then rename over it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        temporary = Path(name)
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
            temporary.chmod(0o644)  # as tiktoken would write it, not mkstemp's 0600
            temporary.replace(path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise Failure(f"cannot write {path}: {exc}") from exc


if __name__ == "__main__":
    sys.exit(main())
