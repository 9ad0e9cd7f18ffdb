# Build Arena: `make run` starts the app with its embedded defaults, `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# axe-core for the browser tests' accessibility checks, pinned by package-lock.json.
NODE_STAMP := node_modules/.installed

.PHONY: run test lint format system-deps clean-venv

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $(NODE_STAMP)

run: $(STAMP)
	bin/run-dev

# The local PostgreSQL is set up on every run: the suite probes it even when it runs on SQLite.
# Without root it must already be there; only a DATABASE_URL run stops when it is not.
test: $(STAMP) system-deps $(NODE_STAMP)
	@if [ -n "$$DATABASE_URL" ]; then bin/ensure-postgres "$$DATABASE_URL"; \
	else bin/ensure-postgres || echo "Tests that need the local PostgreSQL will skip." >&2; fi
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Debian packages the full test suite uses; installed only when running as root with apt.
system-deps:
	@bin/install-system-deps

clean-venv:
	rm -rf $(VENV)
