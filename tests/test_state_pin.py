"""scripts/state_branch.py pins git to the address that passed the check: real git, a
loopback HTTP server playing the remote, the in-process resolver playing DNS (git itself
never resolves the name: a `.test` name has no real DNS answer)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.dns import scripted
from tests.servers import HTTPServer
from tests.test_state_branch import load_module

METADATA = "169.254.169.254"


def test_an_http_remote_is_pinned_to_its_checked_address(
    http_server: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = load_module()
    port = http_server.host_port.rpartition(":")[2]
    url = f"http://state.test:{port}/owner/repo.git"
    dns = scripted(monkeypatch, {"state.test": ["127.0.0.1", f"127.0.0.1 {METADATA}"]})
    entries = module.pinned_config(url)
    assert entries == [
        ("http.curloptResolve", f"state.test:{port}:127.0.0.1"),
        ("http.followRedirects", "false"),
    ]
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "GIT_CONFIG_NOSYSTEM": "1"}
    env |= module.config_env({}, entries)
    proc = subprocess.run(
        ["git", "ls-remote", url], env=env, capture_output=True, text=True, check=False
    )
    assert proc.returncode != 0  # the server has no repository; what matters is who was asked
    (seen,) = http_server.requests
    assert seen.path == "/owner/repo.git/info/refs"
    assert seen.headers["host"] == f"state.test:{port}"
    # the next answer holds a metadata address: refused before git runs
    with pytest.raises(module.Failure, match=rf"refused state\.test:{port} \({METADATA}"):
        module.pinned_config(url)
    assert dns.asked == ["state.test", "state.test"]


@pytest.mark.parametrize("remote", ["/srv/git/repo.git", "git@github.com:o/r.git", "origin"])
def test_other_remotes_are_not_resolved(remote: str) -> None:
    assert load_module().pinned_config(remote) == []
