# pricehound: `make demo` shows the whole pipeline; `make test` runs the test suite.
# Both create .venv and install what they need on first use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)
DEMO_DATA ?= $(CURDIR)/.data/demo
PYTEST_ARGS ?=

.PHONY: help install test test-model test-faults lint demo bench clean constraints

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

# pytest exits 5 when it collected no tests; make treats any non-zero exit as failure.
test: install
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
