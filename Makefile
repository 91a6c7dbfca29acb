# Two commands for a new user: `make run` and `make test`. Both set themselves up idempotently.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
PROTOS := $(wildcard protos/watemplates/v1/*.proto)
STUBS := src/watemplates/v1/templates_pb2.py

BUF_VERSION := 1.75.0
BUF := .buf/node_modules/.bin/buf

.PHONY: setup proto proto-lint proto-baseline run test fuzz lint fmt migrate bench bench-backlog dist clean

setup: $(INSTALLED) $(STUBS)

$(INSTALLED): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25.1"
	$(BIN)/python -m pip install --quiet -e . --group dev
	@touch $@

proto: $(STUBS)

$(STUBS): $(PROTOS) $(INSTALLED)
	@mkdir -p src/watemplates/v1
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m grpc_tools.protoc -I protos \
		--python_out=src --grpc_python_out=src --mypy_out=quiet:src --mypy_grpc_out=quiet:src $(PROTOS)
	@touch src/watemplates/__init__.py src/watemplates/v1/__init__.py src/watemplates/py.typed
	@touch $@

# Two wheels in $(DIST): the server (watemplates: `pip install` it and `watemplates serve`; the
# generated stubs and the migrations are inside) and the client (watemplates-client, clients/python:
# the generated stubs alone, for services that call this one). Both are built from the stubs `make
# proto` generates (a prerequisite of setup), so this works from a clean clone. Older wheels go
# first, so `pip install dist/watemplates_client-*.whl` matches one file.
DIST ?= dist
dist: setup
	rm -f $(DIST)/watemplates-*.whl $(DIST)/watemplates_client-*.whl
	$(BIN)/python -m pip wheel --quiet --no-deps --wheel-dir $(DIST) . clients/python

run: setup
	$(BIN)/watemplates serve

test: setup
	$(BIN)/python -m pytest -q

# The standing fuzz suite (tests/fuzz), long: FUZZ_EXAMPLES cases per test from a fresh random seed,
# for the webhook and every RPC, on SQLite and PostgreSQL. `make test` runs it bounded and repeatable.
FUZZ_EXAMPLES ?= 100000
fuzz: setup
	WATEMPLATES_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -q -p no:cacheprovider tests/fuzz

# Buf's STANDARD lint and format check on the protos, and no breaking change against the released
# API (protos/api-baseline.binpb, rebuilt with `make proto-baseline` at a release); buf comes from
# the npm registry.
proto-lint:
	@if command -v npm >/dev/null 2>&1; then \
		[ -x $(BUF) ] || npm install --silent --no-audit --no-fund --prefix .buf @bufbuild/buf@$(BUF_VERSION); \
		cd protos && ../$(BUF) lint && ../$(BUF) format --diff --exit-code && echo "buf lint: ok" \
			&& ../$(BUF) breaking --against api-baseline.binpb && echo "buf breaking: ok"; \
	else echo "proto-lint skipped: npm not found (buf is installed from the npm registry)"; fi

proto-baseline:
	cd protos && ../$(BUF) build -o api-baseline.binpb

lint: setup proto-lint
	$(BIN)/ruff check src tests bench migrations clients
	$(BIN)/ruff format --check src tests bench migrations clients
	$(BIN)/mypy
	$(BIN)/lint-imports

fmt: setup
	$(BIN)/ruff check --fix src tests bench migrations clients
	$(BIN)/ruff format src tests bench migrations clients

migrate: setup
	$(BIN)/watemplates migrate

bench: setup
	$(BIN)/python bench/run.py --results bench/RESULTS.md

# The worker draining a backlog of BACKLOG changes, with the memory of the serving processes (long).
BACKLOG ?= 1000000
bench-backlog: setup
	$(BIN)/python bench/backlog.py --changes $(BACKLOG)

clean:
	rm -rf $(VENV) .buf src/watemplates .pytest_cache .mypy_cache .ruff_cache var dist test-artifacts
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
