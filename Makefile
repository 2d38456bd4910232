# Work dashboard. `make run` and `make test` are all a developer needs; the rest are helpers.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
STAMP := $(VENV)/.installed
# What the app needs (requirements.lock) and what developers and CI add: tests, linters, the embedded
# servers of `make run` (requirements-dev.lock). The Docker image installs LOCKS=requirements.lock.
LOCKS ?= requirements.lock requirements-dev.lock
# bun (from npm), Reflex's cache dir and friends, all inside the project.
FRONTEND_ENV = eval "$$(bash scripts/frontend.sh env)"
COMPOSE ?= docker compose
PYTEST_ARGS ?=
m ?= change

.PHONY: help install lock run serve test tloc lint fmt migrate revision seed docs build up down logs shell chromium clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(UV):
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check uv==0.13.9

$(STAMP): $(LOCKS) pyproject.toml | $(UV)
	$(UV) pip sync --quiet -p $(PY) $(LOCKS)
	bash scripts/frontend.sh install
	@touch $(STAMP)

install: $(STAMP) ## create .venv, install Python packages (both lock files) and bun (from npm)

# Pins stay as they are: uv keeps every version already in the output file. To move one package:
# add `--upgrade-package NAME` to both lines. The dev lock is constrained by the runtime lock, so a
# package in both has the same version in both.
lock: | $(UV) ## re-pin both lock files from pyproject.toml (versions already pinned stay)
	$(UV) pip compile --quiet pyproject.toml --universal --python-version 3.11 -o requirements.lock
	$(UV) pip compile --quiet pyproject.toml --extra dev --universal --python-version 3.11 -c requirements.lock -o requirements-dev.lock

run: install ## start PostgreSQL, Redis, S3 and the app at http://localhost:8000 with demo data
	@$(FRONTEND_ENV) && exec $(PY) scripts/serve.py run --worker

serve: ## production entry point (Docker): migrate and serve, no demo data, no install
	@$(FRONTEND_ENV) && exec $(PY) scripts/serve.py run --no-seed

chromium: ## the browser for the e2e tests (Debian's chromium)
	@command -v chromium >/dev/null || test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "The browser tests need Chromium: run 'sudo apt-get install chromium' (Debian/Ubuntu) and retry."; exit 1; fi; }

test: install chromium ## the whole suite (unit, integration, e2e) against real servers it starts itself
	@mkdir -p reports
	@$(FRONTEND_ENV) && ENV=test $(PY) -m pytest $(PYTEST_ARGS)

tloc: install ## quick local run: unit and integration tests, no browser
	@mkdir -p reports
	ENV=test $(PY) -m pytest -m "not e2e" $(PYTEST_ARGS)

lint: install ## ruff, mypy, import contracts, hadolint, compose file check
	bash scripts/lint.sh

fmt: install ## format and autofix
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

migrate: install ## apply migrations (ENV=production make migrate in production)
	$(PY) scripts/serve.py migrate

revision: install ## autogenerate a migration: make revision m="add invoices index"
	$(PY) scripts/serve.py revision -m "$(m)"

seed: install ## load the demo data (refused in production)
	$(PY) scripts/serve.py seed

build: ## docker: build the images
	$(COMPOSE) build

up: ## docker: start the stack in the background
	$(COMPOSE) up -d

down: ## docker: stop the stack
	$(COMPOSE) down

logs: ## docker: follow the logs
	$(COMPOSE) logs -f --tail=200

shell: ## docker: a shell in the app container
	$(COMPOSE) exec app bash

docs: install ## regenerate docs/roles.md from the policy table and the page registry
	$(PY) scripts/docs.py

clean: ## remove build output and reports (keeps .data)
	rm -rf .web reports .pytest_cache .mypy_cache .ruff_cache
