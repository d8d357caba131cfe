# One command per workflow, the same for people and CI:
#   make run    install, migrate, seed the demo once, serve on http://127.0.0.1:8000
#   make test   install, then lint, format check, types, import layers, tests (stops at the first failure)
#   make lint   the checks of `make test` without the tests
#   make bench  bench/run_all.py (arguments in BENCH_ARGS, e.g. make bench BENCH_ARGS="--db sqlite")
# Needs only make and Python 3.11+ (`python3`, or PYTHON=/path/to/python3.11).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install run test lint bench clean

help:
	@echo "make run    start Coterie with a demo workspace on http://127.0.0.1:8000"
	@echo "make test   lint, type-check and run the tests"
	@echo "make lint   only the checks (ruff, mypy, import layers)"
	@echo "make bench  run the benchmarks in bench/"

# The virtualenv; `activate` is written last, so a half-made one is made again.
$(BIN)/activate:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
	  echo "Coterie needs Python 3.11 or newer as '$(PYTHON)' (or run: make PYTHON=python3.12 ...)"; \
	  exit 1; }
	$(PYTHON) -m venv $(VENV) || { \
	  echo "Could not create $(VENV). On Debian or Ubuntu: apt-get install python3-venv"; exit 1; }

# Dependencies are installed again only when pyproject.toml changes.
$(STAMP): pyproject.toml | $(BIN)/activate
	$(BIN)/python -m pip install -e '.[dev]'
	touch $@

install: $(STAMP)

run: install
	$(BIN)/coterie db upgrade
	$(BIN)/coterie demo --if-empty
	$(BIN)/coterie serve

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest

bench: install
	@test -f bench/run_all.py || { echo "bench/run_all.py is missing"; exit 1; }
	$(BIN)/python bench/run_all.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
