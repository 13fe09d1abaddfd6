# The two commands of the README: `make demo` and `make test`. Each creates .venv if missing,
# installs the project, makes PostGIS/Redis/Mosquitto available (scripts/stack.sh), then does its job;
# `make test` first checks the layers of pyproject.toml's import-linter contracts.
# `make bench` (optional) also installs the bench extra and runs every bench (bench/run_all.sh).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
BENCH_INSTALLED := $(VENV)/.installed-bench

.PHONY: demo test bench install stack browser

demo: stack
	$(BIN)/bailiwick demo

test: stack browser
	$(BIN)/lint-imports
	$(BIN)/pytest

bench: stack $(BENCH_INSTALLED)
	bash bench/run_all.sh $(BIN)/python

browser:
	bash scripts/chromium.sh

stack: install
	PYTHON=$(BIN)/python bash scripts/stack.sh

install: $(INSTALLED)

$(INSTALLED): pyproject.toml
	bash scripts/venv.sh $(PYTHON) $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

$(BENCH_INSTALLED): $(INSTALLED)
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	touch $@
