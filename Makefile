# FourFlow: every target sets up what it needs (.venv, the npm chain node) on first use.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.fourflow-installed
NODE_STAMP := node_modules/.fourflow-installed
export FOURFLOW_PROJECT_ROOT := $(CURDIR)

.PHONY: all setup demo test bench lint typecheck fmt clean lock geth wheel

all: test

$(PY_STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check uv==0.13.9
	@$(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python -r requirements.lock
	@$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e .
	@# Byte-compile at install time: imports stay fast where PYTHONDONTWRITEBYTECODE is set.
	@$(BIN)/python -m compileall -q -j 0 src >/dev/null
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $@

setup: $(PY_STAMP) $(NODE_STAMP)

demo: setup
	@$(BIN)/fourflow demo

lint: $(PY_STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports

typecheck: $(PY_STAMP)
	$(BIN)/mypy

# go-ethereum v1.13.15 for the consortium tests, built once with Go into a cache outside the tree.
GETH_DIR := $(HOME)/.cache/fourflow/geth-v1.13.15
GO ?= $(shell command -v go || echo /usr/local/go/bin/go)

geth:
	@test -x $(GETH_DIR)/geth || ! test -x $(GO) || GOFLAGS= GOBIN=$(GETH_DIR) $(GO) install \
		-ldflags=-checklinkname=0 github.com/ethereum/go-ethereum/cmd/geth@v1.13.15

test: setup lint typecheck geth
	$(BIN)/python -m pytest -n 2 --dist loadgroup

# The installable wheel (contracts, migrations, manifest inside; the official schemas are
# fetched after install with `fourflow standards fetch`): dist/fourflow-*.whl.
wheel: $(PY_STAMP)
	$(BIN)/uv build --wheel --out-dir dist

bench: setup
	@$(BIN)/python -m bench

fmt: $(PY_STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

# Regenerate the pinned lock file from pyproject.toml (needs the registry).
lock: $(PY_STAMP)
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) node_modules .mypy_cache .ruff_cache .pytest_cache build dist
