# Two commands do all set-up on a fresh clone (only python3 3.11+ and make needed):
#   make serve   run the document service on ./httpconflict.db (SQLite)
#   make test    build the wheel and sdist; ruff, mypy --strict and the whole test suite
# Both create .venv and install the project into it on first use: `serve` only
# what serving needs (the service extra), as any user, with no compiler and no
# apt; `test` everything, and the system packages some tests need (below).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --quiet --disable-pip-version-check
# What `make serve` installed (the service extra), and what `make test` did (all).
SERVING := $(VENV)/.serving
STAMP   := $(VENV)/.installed
ARGS   ?=
# Test workers: the tests mostly wait on the servers they start, so more
# workers than cores (JOBS=1 runs them one after another).
JOBS   ?= 4

.PHONY: serve test test-floors lint dist system-packages screenshots bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

$(SERVING): pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) install -c constraints.txt -e '.[service]'
	touch $@

# --no-compile: pip would byte-compile every installed module (17 of the 40 s it took);
# the tests compile only what they import, once (`test` lets them write the cache).
$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) install --no-compile -c constraints.txt -e '.[dev]'
	@# mysqlclient (one driver of the integrity tests) compiles against MariaDB's
	@# client library; where it cannot be built, its tests skip.
	@if command -v cc >/dev/null && pkg-config --exists libmariadb 2>/dev/null; then \
		$(PIP) install -c constraints.txt -e '.[compiled-drivers]'; \
	else echo "note: no C compiler or libmariadb-dev: the mysqlclient tests skip"; fi
	touch $@

serve: $(SERVING)
	$(BIN)/httpconflict serve $(ARGS)

# The system packages some tests need, each installed only if missing and only
# as root (CI); elsewhere the tests needing one skip, saying so.
# need(CHECK, DEBIAN PACKAGES, WHO NEEDS THEM)
define need
	@if ! sh -c '$(1)' >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing $(2) for $(3)"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
				apt-get install -y -qq $(2) >/dev/null; \
		else echo "note: $(2) missing (not root): $(3) skip"; fi; \
	fi
endef

MESSAGE_LOCALES := de_DE fr_FR ru_RU

system-packages:
	$(call need,test -x /usr/bin/chromium,chromium,the browser tests (tests/web))
	$(call need,command -v npm,nodejs npm,the json-server and pouchdb-server audit tests)
	$(call need,command -v cc && pkg-config --exists libmariadb,gcc pkg-config libmariadb-dev python3-dev,the mysqlclient tests)
	$(call need,command -v haproxy && command -v ip,haproxy iproute2,the cluster test (tests/cluster))
	$(call need,test -x /usr/sbin/pgbouncer,pgbouncer,the PgBouncer test (tests/service/test_pgbouncer.py))
	$(call need,test -x /usr/sbin/apache2,apache2-bin,the client against Apache httpd (tests/client/test_against_apache.py))
	$(call need,test -x /usr/sbin/varnishd,varnish,the shared cache tests (tests/caching))
	$(call need,test -d /usr/share/i18n/locales,locales,the localized PostgreSQL messages (tests/integrity/test_messages.py))
	@# A private PostgreSQL answering in German, French or Russian needs the locale.
	@for name in $(MESSAGE_LOCALES); do \
		locale -a 2>/dev/null | grep -qix "$$name.utf8" \
		|| { [ "$$(id -u)" = 0 ] && localedef -i $$name -f UTF-8 $$name.UTF-8 2>/dev/null; } \
		|| echo "note: no $$name locale: its localized PostgreSQL message test skips"; \
	done

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The wheel and the sdist (the wheel built from the sdist), which a test installs;
# with the venv's own hatchling, so that no build environment is downloaded.
dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --no-isolation --outdir dist . >/dev/null

# Each worker runs whole modules, the longest first (tests/scheduling.py).
# Bytecode is cached even where PYTHONDONTWRITEBYTECODE is set (CI sets it): the
# suite starts about 600 Python processes (servers, command lines) besides the
# servers' workers, and without the cache each compiled the project's modules
# again: 0.17 s of the 0.38 s of CPU a one-worker service start took (bench/start.py).
test: system-packages lint dist
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -n $(JOBS) --dist loadscope --no-loadscope-reorder $(ARGS)

# The declared floors, tested: each venv under .venv-floors has the lowest version of
# every dependency that pyproject.toml accepts (constraints-floor.txt; the service's
# own in constraints-floor-service.txt, over it), the rest as constraints.txt pins,
# and runs the tests of what those dependencies serve. Not part of `make test`:
# about 25 minutes on 2 cores. The fuzzing test needs schemathesis, whose rich is above
# the tools' floor.
FLOORS      := .venv-floors
FLOOR_TOOLS := pytest pytest-xdist hypothesis openapi-spec-validator redbot gunicorn python-multipart
# The files' pins, a later file's over an earlier one's.
FLOOR_PINS  := awk -F== '/^\#/ || NF == 0 {next} {n = tolower($$1); gsub(/_/, "-", n); \
	if (!(n in pin)) order[++k] = n; pin[n] = $$0} END {for (i = 1; i <= k; i++) print pin[order[i]]}'
# A test still running after 5 minutes prints every thread's stack; a run is stopped after
# an hour (on 2 cores each takes about 13 minutes).
FLOOR_TEST  := -m pytest -n 2 --dist loadscope -o faulthandler_timeout=300 $(ARGS)
FLOOR_RUN   := PYTHONDONTWRITEBYTECODE= timeout --kill-after=30 3600

$(FLOORS)/libraries/.installed: pyproject.toml constraints.txt constraints-floor.txt
	rm -rf $(@D) && $(PYTHON) -m venv $(@D)
	$(FLOOR_PINS) constraints.txt constraints-floor.txt >$(@D)/constraints.txt
	$(@D)/bin/python -m pip --quiet --disable-pip-version-check install --no-compile \
		-c $(@D)/constraints.txt \
		-e '.[starlette,fastapi,django,drf,flask,flask-forms,postgres,redis,httpx,sqlalchemy,tools,drivers]' \
		uvicorn $(FLOOR_TOOLS)
	@# The tests' Django projects on MariaDB need mysqlclient, built where it can be.
	@if command -v cc >/dev/null && pkg-config --exists libmariadb 2>/dev/null; then \
		$(@D)/bin/python -m pip --quiet --disable-pip-version-check install --no-compile \
			-c $(@D)/constraints.txt -e '.[compiled-drivers]'; \
	else echo "note: no C compiler or libmariadb-dev: the mysqlclient tests fail"; fi
	touch $@

$(FLOORS)/service/.installed: pyproject.toml constraints.txt constraints-floor.txt constraints-floor-service.txt
	rm -rf $(@D) && $(PYTHON) -m venv $(@D)
	$(FLOOR_PINS) constraints.txt constraints-floor.txt constraints-floor-service.txt >$(@D)/constraints.txt
	$(@D)/bin/python -m pip --quiet --disable-pip-version-check install --no-compile \
		-c $(@D)/constraints.txt -e '.[service,postgres,redis,httpx,sqlalchemy,tools,drivers]' \
		$(FLOOR_TOOLS)
	touch $@

test-floors: $(FLOORS)/libraries/.installed $(FLOORS)/service/.installed
	$(FLOOR_RUN) $(FLOORS)/libraries/bin/python $(FLOOR_TEST) tests/adapters
	$(FLOOR_RUN) $(FLOORS)/service/bin/python $(FLOOR_TEST) tests/service tests/client tests/storage tests/logs \
		--deselect tests/service/test_fuzz.py::test_every_answer_is_as_documented

# docs/editor.png and docs/conflict.png, taken again by the browser tests.
screenshots: $(STAMP)
	HTTPCONFLICT_SCREENSHOTS=docs $(BIN)/pytest tests/web/test_editor.py \
		-k "different_fields or keep-mine" $(ARGS)

bench: $(STAMP)
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
	$(BIN)/python -m bench.put_get $(ARGS)
	$(BIN)/python -m bench.idempotency $(ARGS)
	$(BIN)/python -m bench.adapters $(ARGS)
	$(BIN)/python -m bench.peers $(ARGS)
	$(BIN)/python -m bench.autosave

clean:
	rm -rf $(VENV) $(FLOORS) dist .pytest_cache .mypy_cache .ruff_cache .hypothesis
