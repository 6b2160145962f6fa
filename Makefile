# FourFlow: every target sets up what it needs (.venv, the npm chain node) on first use.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.fourflow-installed
NODE_STAMP := node_modules/.fourflow-installed
export FOURFLOW_PROJECT_ROOT := $(CURDIR)

.PHONY: all setup demo test bench lint typecheck fmt clean lock geth wheel browser web web-check screenshots

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

# The web app (web/, docs/web.md): its npm packages, its typed client generated from the API's
# own OpenAPI (rewritten only when the schema changed), built by Vite into the package.
WEB_NODE_STAMP := web/node_modules/.fourflow-installed
WEB_STAMP := web/node_modules/.fourflow-built
WEB_SCHEMA := web/src/api/schema.d.ts
OPENAPI_STAMP := build/.openapi-checked

$(WEB_NODE_STAMP): web/package.json web/package-lock.json
	@cd web && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(OPENAPI_STAMP): $(PY_STAMP) $(WEB_NODE_STAMP) $(shell find src/fourflow -name '*.py' -newer $(OPENAPI_STAMP) 2>/dev/null | head -n 1)
	@mkdir -p build
	@$(BIN)/fourflow openapi --out build/openapi.json
	@cd web && npx --no-install openapi-typescript ../build/openapi.json -o ../build/schema.d.ts --silent
	@cmp -s build/schema.d.ts $(WEB_SCHEMA) || cp build/schema.d.ts $(WEB_SCHEMA)
	@touch $@

$(WEB_SCHEMA): $(OPENAPI_STAMP)
	@:

$(WEB_STAMP): $(WEB_NODE_STAMP) $(WEB_SCHEMA) $(shell find web/src web/index.html web/vite.config.ts web/tsconfig.json -newer $(WEB_STAMP) 2>/dev/null | head -n 1)
	@cd web && npx --no-install vite build --logLevel warn
	@rm -rf src/fourflow/webui.old
	@if [ -d src/fourflow/webui ]; then mv src/fourflow/webui src/fourflow/webui.old; fi
	@mv build/webui src/fourflow/webui && rm -rf src/fourflow/webui.old
	@touch $@

# Debian's chromium (the browser tests drive it through playwright-core; Playwright's own
# browser download is never used) and CJK fonts for the Chinese pages; only when missing.
browser:
	@if ! command -v chromium >/dev/null 2>&1 || ! dpkg -s fonts-noto-cjk >/dev/null 2>&1; then \
		echo "make setup: installing chromium and fonts-noto-cjk from Debian" >&2; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk >/dev/null; \
	fi

web: $(WEB_STAMP)

# Type-check the web app and run its unit tests (Vitest).
WEB_CHECK := cd web && npx --no-install tsc --noEmit && npx --no-install vitest run --reporter=dot

web-check: $(WEB_STAMP)
	$(WEB_CHECK)

# docs/ui.md and docs/ui/*.png: every page in Chinese and English, shot by the browser main path.
screenshots: setup
	$(BIN)/python tools/ui_screenshots.py

# The business-rule engine's native pass (C against lxml's libxml2 headers, into build/native;
# docs/formats/business-rules.md). A failed build only says so: the rules then run on the XSLT.
NATIVE_STAMP := build/native/.built
$(NATIVE_STAMP): $(PY_STAMP) src/fourflow/adapters/documents/rulesnative.c
	@mkdir -p build/native
	@$(BIN)/python -m fourflow.adapters.documents.native_rules --build >/dev/null || true
	@touch $@

# C over lxml's tree: C14N 1.0 for the content fingerprints (libxml2's bytes, docs/formats/README.md)
# and UBL line values for the mapping; without it libxml2 canonicalises and lxml reads the lines.
XMLNATIVE_STAMP := build/native/.xmlnative-built
$(XMLNATIVE_STAMP): $(PY_STAMP) src/fourflow/adapters/documents/xmlnative.c
	@mkdir -p build/native
	@$(BIN)/python -m fourflow.adapters.documents.xml_native --build >/dev/null || true
	@touch $@

setup: $(PY_STAMP) $(NATIVE_STAMP) $(XMLNATIVE_STAMP) $(NODE_STAMP) $(WEB_STAMP) browser

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

# mypy and the web check (tsc, Vitest) run beside pytest, not before it: much of pytest's time
# is waiting (the geth network's 1-second blocks, browsers, servers starting), so they mostly
# use idle CPU. Their output follows pytest's; either failing fails `make test`.
# Tests marked with one xdist_group run on one worker; the work goes out in the order
# tests/conftest.py sorts it (START_ORDER: the longest first), not re-sorted by group size.
test: setup lint geth
	@mkdir -p build
	@( $(BIN)/mypy; typed=$$?; ( $(WEB_CHECK) ); web=$$?; exit $$((typed | web)) ) \
		>build/checks.log 2>&1 & checks=$$!; \
	$(BIN)/python -m pytest -n 2 --dist loadgroup --no-loadscope-reorder --durations=30; tests=$$?; \
	wait $$checks; checked=$$?; \
	echo "mypy, tsc, vitest (run beside pytest): exit $$checked"; cat build/checks.log; \
	test $$tests = 0 -a $$checked = 0

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
	rm -rf $(VENV) node_modules web/node_modules src/fourflow/webui .mypy_cache .ruff_cache .pytest_cache build dist
