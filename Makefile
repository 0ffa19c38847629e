# Two commands do all set-up on a fresh machine (only python3 needed):
#   make serve   run the document service on ./httpconflict.db (SQLite)
#   make test    ruff, mypy --strict and the whole test suite
# Both create .venv and install the project into it on first use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ARGS   ?=

.PHONY: serve test lint bench clean

$(STAMP): pyproject.toml constraints.txt
	@# mysqlclient (a test driver) compiles against MariaDB's client library.
	@pkg-config --exists mariadb 2>/dev/null || { apt-get update -qq && \
		apt-get install -y -qq pkg-config libmariadb-dev >/dev/null; }
	@# The audit tests run json-server, which their set-up installs with npm.
	@command -v npm >/dev/null 2>&1 || { apt-get update -qq && \
		apt-get install -y -qq nodejs npm >/dev/null; }
	@# The browser tests (tests/web) drive Debian's Chromium; no browser is downloaded.
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

serve: $(STAMP)
	$(BIN)/httpconflict serve $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest $(ARGS)

bench: $(STAMP)
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
	$(BIN)/python -m bench.put_get $(ARGS)
	$(BIN)/python -m bench.idempotency $(ARGS)
	$(BIN)/python -m bench.adapters $(ARGS)
	$(BIN)/python -m bench.peers $(ARGS)
	$(BIN)/python -m bench.autosave

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
