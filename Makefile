# pricehound: `make demo` shows the whole pipeline; `make test` runs the test suite.
# Both create .venv and install what they need on first use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)
DEMO_DATA ?= $(CURDIR)/.data/demo
PYTEST_ARGS ?=
# The Chromium that renders script-built shops (and their tests): Debian's package by default.
CHROMIUM := $(or $(PRICEHOUND_CHROMIUM_PATH),/usr/bin/chromium)
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: help install chromium test test-model test-faults lint demo bench clean constraints

help:
	@echo "make demo         run the whole pipeline on embedded PostgreSQL and Redis"
	@echo "make test         install test dependencies and run the test suite"
	@echo "make test-faults  run the fault-injection suite (kills workers, restarts servers)"
	@echo "make test-model   the pipeline against the reference model of the alert rules, thousands of histories"
	@echo "make lint         ruff over the code"
	@echo "make bench        run every benchmark in bench/ (see BENCHMARKS.md)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# constraints.txt pins every package to what CI and the image were tested with (see its header
# for how to regenerate it); the embedded extra brings the PostgreSQL and Redis that demo and
# tests start when DATABASE_URL / REDIS_URL are not set.
$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,embedded]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

# Installs Debian's chromium when it is missing (as CI on a clean machine needs); otherwise says
# what to do. Nothing happens when $(CHROMIUM) is already there.
chromium:
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian's chromium (for the rendering tests) ..."; \
	  $(SUDO) apt-get install -y --no-install-recommends chromium >/dev/null \
	    || { $(SUDO) apt-get update >/dev/null && $(SUDO) apt-get install -y --no-install-recommends chromium >/dev/null; } \
	    || { echo "could not install chromium with apt-get; install it, or set PRICEHOUND_CHROMIUM_PATH" >&2; exit 1; }; \
	  [ -x "$(CHROMIUM)" ] || { echo "chromium installed, but not at $(CHROMIUM): set PRICEHOUND_CHROMIUM_PATH" >&2; exit 1; }; \
	else \
	  echo "the rendering tests need Chromium at $(CHROMIUM) and there is no apt-get here:" >&2; \
	  echo "install Chromium and set PRICEHOUND_CHROMIUM_PATH to it" >&2; exit 1; \
	fi

# pytest exits 5 when it collected no tests; make treats any non-zero exit as failure.
test: install chromium
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-model: install
	PRICEHOUND_MODEL_EXAMPLES=$${PRICEHOUND_MODEL_EXAMPLES:-3000} $(BIN)/python -m pytest tests/truth/test_model.py $(PYTEST_ARGS)

test-faults: install
	$(BIN)/python -m pytest -m faults tests/faults $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

demo: install
	env -u DATABASE_URL -u REDIS_URL PRICEHOUND_DATA_DIR=$(DEMO_DATA) $(BIN)/pricehound demo

bench: install
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# Regenerate constraints.txt: a clean venv, everything newest that pyproject.toml allows, frozen.
constraints:
	rm -rf .constraints-venv && $(PYTHON) -m venv .constraints-venv
	.constraints-venv/bin/python -m pip install --quiet '.[test,embedded]'
	{ sed -n '1,/^$$/p' constraints.txt; .constraints-venv/bin/python -m pip freeze --exclude pricehound; } > constraints.new
	mv constraints.new constraints.txt && rm -rf .constraints-venv

clean:
	rm -rf $(VENV) .data .pytest_cache
