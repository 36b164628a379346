# The two commands:
#   make run    serve on $PORT (7860) / $HOST (127.0.0.1); CONFIG=file.json to
#               use a config file (passed on as FACEATTR_CONFIG)
#   make test   every check CI runs (.ci/run is `make test`)
# Both install what they need first, and do nothing more when it is there.
# Debian package lists: deps/debian-*.txt (the Dockerfile reads them too).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# The Debian interpreter with python3-torch; the python3 first on PATH may be
# another build without those packages.
PYTHON ?= /usr/bin/python3
NPX := npx --no-install
APT_DEPS := scripts/install-debian-deps.sh
RUN_DEPS := deps/debian-run.txt
TEST_DEPS := $(RUN_DEPS) deps/debian-test.txt

# npm rewrites node_modules/.package-lock.json on every install, after
# package-lock.json, so it is older than the lockfile only when the lockfile
# changed since (a pull, a branch switch) or node_modules is missing.
NODE_STAMP := node_modules/.package-lock.json
LOCKFILE := $(wildcard package-lock.json)

# Python sources black and flake8 check (whichever of them exist).
PY_SOURCES := $(wildcard python scripts)

CHECKS := format-check lint typecheck black flake8 compose-check vitest pytest

.PHONY: help install install-test run test $(CHECKS)

help:
	@echo 'make run      install if needed, then serve (PORT, HOST, CONFIG=...)'
	@echo 'make test     install if needed, then run every check'
	@echo 'make install  npm packages and the Debian packages for running'
	@echo 'single checks: $(CHECKS)'

install: $(NODE_STAMP)
	@$(APT_DEPS) $(RUN_DEPS)

install-test: $(NODE_STAMP)
	@$(APT_DEPS) $(TEST_DEPS)

$(NODE_STAMP): $(if $(LOCKFILE),package-lock.json,package.json)
ifneq ($(LOCKFILE),)
	npm ci --no-audit --no-fund
else
	npm install --no-audit --no-fund
endif
	@touch $@

run: install
	$(if $(CONFIG),FACEATTR_CONFIG='$(CONFIG)' )npm start

# -k: run every check even after one fails, then fail; the log shows which.
test: install-test
	@$(MAKE) --no-print-directory -k $(CHECKS)

format-check: $(NODE_STAMP)
	$(NPX) prettier --check ts test

lint: $(NODE_STAMP)
	$(NPX) eslint ts test

typecheck: $(NODE_STAMP)
	$(NPX) tsc --noEmit

black:
	black --check $(PY_SOURCES)

flake8:
	flake8 $(PY_SOURCES)

# Checks the compose files' syntax and merge; no Docker engine is needed.
compose-check:
	@if ! command -v docker-compose >/dev/null; then \
	  echo 'compose-check: SKIPPED, docker-compose is not installed' \
	    '(apt-get install docker-compose)'; \
	  exit 0; \
	fi
	docker-compose -f docker-compose.yml config -q
	TORCH_INDEX_URL=unused docker-compose -f docker-compose.yml \
	  -f docker-compose.gpu.yml config -q

vitest: $(NODE_STAMP)
	$(NPX) vitest run

# pytest exits 5 when it collects nothing; that is a failure only once
# python/tests has test files.
pytest:
	@if [ -z "$$(find python/tests -name 'test_*.py' 2>/dev/null)" ]; then \
	  echo 'pytest: SKIPPED, python/tests has no test_*.py files yet'; \
	  exit 0; \
	fi; \
	echo 'PYTHONPATH=python $(PYTHON) -m pytest -q python/tests'; \
	PYTHONPATH=python $(PYTHON) -m pytest -q python/tests
