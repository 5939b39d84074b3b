# Two entry points for a fresh machine (see README): `make demo` and `make test`.
# Each creates the virtual environment and installs what it needs by itself.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
OUT    ?= demo-output
PYTEST_ARGS ?=

.PHONY: demo test lint typecheck unit sysdeps bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

# Debian's Chromium drives the web-map browser tests (Playwright with executable_path).
sysdeps:
	@if [ ! -x /usr/bin/chromium ]; then \
	  $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q chromium; \
	fi

demo: $(STAMP)
	$(BIN)/geotool demo --out $(OUT) --force

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP) sysdeps
	$(BIN)/pytest -n 2 --dist loadscope $(PYTEST_ARGS)

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/python benchmarks/align_memory.py

clean:
	rm -rf $(VENV) $(OUT) dist build .mypy_cache .ruff_cache .pytest_cache
