# WECARE platform. `make run` brings everything up locally; `make test` installs and runs every test.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
export PYTHONPATH := $(CURDIR):$(CURDIR)/gen
export PYTHONUNBUFFERED := 1
PROTOS := $(shell find protos -name '*.proto' | sort)
BUF := .tools/node_modules/.bin/buf
BUF_VERSION := 1.61.0
# checkov pins its own boto3, so it gets a virtual environment of its own (tests/deploy/test_checkov.py uses it).
CHECKOV_VERSION := 3.3.30
CHECKOV := .tools/checkov/.installed-$(CHECKOV_VERSION)

# The operator console (console/): its npm packages, pinned by package-lock.json, and its bundle in console/dist,
# rebuilt only when a source changes. The browser tests drive Debian's chromium, installed where it is missing.
CONSOLE_SOURCES := $(shell find console/src -type f 2>/dev/null | sort)
CONSOLE_MODULES := console/node_modules/.installed
CONSOLE := console/dist/index.html
CHROMIUM := /usr/bin/chromium

.PHONY: run test token lint fmt gen gen-check bench venv clean tmux console

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

$(CONSOLE_MODULES): console/package.json console/package-lock.json
	npm ci --prefix console --silent --no-audit --no-fund
	touch $@

$(CONSOLE): $(CONSOLE_MODULES) console/build.mjs $(CONSOLE_SOURCES)
	cd console && node build.mjs

console: $(CONSOLE)

# Installed when missing (apt-get, as root or with passwordless sudo); where it cannot be, tests/console fails
# and says how to install it.
$(CHROMIUM):
	@( $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium ) >/dev/null \
	  || echo "make: chromium could not be installed (apt-get install chromium): tests/console will fail" >&2

$(CHECKOV):
	$(PYTHON) -m venv .tools/checkov
	PYTHONPATH= .tools/checkov/bin/pip install --quiet checkov==$(CHECKOV_VERSION)  # not our packages on its path
	touch $@

# tmux: tests/process/test_stop_and_restart.py stops `make run` from a real terminal. Installed when missing (apt-get,
# as root or with passwordless sudo); where it cannot be, that test skips and says why.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo -n)
tmux:
	@command -v tmux >/dev/null 2>&1 || ( $(SUDO) apt-get install -y -qq tmux \
	  || ( $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq tmux ) ) >/dev/null 2>&1 \
	  || echo "make: tmux could not be installed (apt-get): tests/process/test_stop_and_restart.py will skip"

$(BUF):
	npm install --silent --no-audit --no-fund --prefix .tools @bufbuild/buf@$(BUF_VERSION)

# Third-party protos come from the installed packages, never from the repo.
.build/third_party: $(VENV)/.installed
	$(PY) -m scripts.third_party_protos .build/third_party

gen: $(VENV)/.installed .build/third_party
	$(PY) -m scripts.gen_protos gen

# Fails when gen/ is not what `make gen` produces from protos/.
gen-check: $(VENV)/.installed .build/third_party
	$(PY) -m scripts.gen_protos --check gen

lint: $(VENV)/.installed $(BUF) .build/third_party
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(BUF) lint --path protos/wecare
	$(BUF) format --diff --exit-code protos

fmt: $(VENV)/.installed $(BUF)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .
	$(BUF) format -w protos

test: $(VENV)/.installed gen-check lint $(CHECKOV) tmux $(CONSOLE) $(CHROMIUM)
	$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

run: $(VENV)/.installed $(CONSOLE)
	$(PY) -m localrun.stack

token: $(VENV)/.installed
	@$(PY) -m localrun.token $(if $(ROLE),--user $(ROLE))

bench: $(VENV)/.installed
	$(PY) -m bench $(BENCH_SECTIONS)

# `make bench inbound dynamodb`: the words after `bench` are its sections, not targets.
BENCH_SECTIONS := $(filter contacts messaging bulk ai dynamodb inbound pause,$(MAKECMDGOALS))
ifeq (bench,$(firstword $(MAKECMDGOALS)))
$(BENCH_SECTIONS): ; @:
endif

clean:
	rm -rf $(VENV) .build .tools .run console/node_modules console/dist
