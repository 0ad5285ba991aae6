# Two commands on a fresh machine: `make run` and `make test` (README, quick start).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install run test test-pg lint demo clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python >= 3.11 required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## Migrate, seed the demo network if the database is empty, and serve (SQLite in var/).
run: install
	$(BIN)/hub db upgrade
	$(BIN)/hub db seed-demo
	$(BIN)/hub serve

## The test suite on SQLite, in parallel.
test: install
	$(BIN)/pytest -n auto -q

## The same suite on PostgreSQL (a fresh database, dropped afterwards).
test-pg: install
	bash .ci/pg-tests

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy hub ocpi oicp cpo_core clearing
	$(BIN)/lint-imports

demo: install
	$(BIN)/hub demo

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache *.egg-info
