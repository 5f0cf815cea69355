# Bình Yên: the README's two commands (`make run`, `make test`) and a few helpers.
# Needs only Python 3.11+ to start; uv is installed into .tools/ when it is not on PATH.

SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.8
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/bin/uv)
PYTEST_ARGS ?=

.PHONY: run test lint asyncapi check-generated pytest sync servers servers-stop servers-wipe generate clean

## run: the whole system with the Kỳ Nam demo data (Docker if an engine answers, else local servers)
run: sync
	$(UV) run --frozen python deploy/run.py

## test: lint, type checks, architecture rules, then every test against real Kafka and FerretDB
test: lint pytest

lint: sync asyncapi
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen mypy libs/contracts/src libs/kit/src services/registry/src services/incidents/src services/notifications/src services/reporting/src deploy/run.py deploy/local/localservers.py deploy/local/smoke.py deploy/local/make_secrets.py deploy/local/sms_sandbox.py bench
	$(UV) run --frozen mypy libs/contracts/tests libs/kit/tests services/registry/tests services/incidents/tests services/notifications/tests services/reporting/tests tests
	$(UV) run --frozen lint-imports
	$(UV) run --frozen binhyen-contracts --check

ASYNCAPI_CHECK := libs/contracts/asyncapi-check

## asyncapi: the AsyncAPI document parses with zero errors in the official parser (pinned there)
asyncapi: $(ASYNCAPI_CHECK)/node_modules/.installed
	cd $(ASYNCAPI_CHECK) && node validate.mjs

# Reinstalled only when the lock changes. No install scripts: the parser needs none, and one of
# its dependencies has a telemetry postinstall.
$(ASYNCAPI_CHECK)/node_modules/.installed: $(ASYNCAPI_CHECK)/package.json $(ASYNCAPI_CHECK)/package-lock.json
	cd $(ASYNCAPI_CHECK) && npm ci --silent --no-audit --no-fund --ignore-scripts
	touch $@

pytest: sync
	$(UV) run --frozen pytest $(PYTEST_ARGS)

sync: $(UV)
	$(UV) sync --frozen --quiet

$(CURDIR)/.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

## servers / servers-stop / servers-wipe: the local Kafka and FerretDB on their default ports
servers: sync
	$(UV) run --frozen python deploy/local/localservers.py start all
	$(UV) run --frozen python -m binhyen.kit.topics create --file deploy/kafka/topics.json

servers-stop: sync
	$(UV) run --frozen python deploy/local/localservers.py stop all

servers-wipe: sync
	$(UV) run --frozen python deploy/local/localservers.py wipe all

## generate: rewrite JSON Schemas, the AsyncAPI document and deploy/kafka/topics.json
generate: sync
	$(UV) run --frozen binhyen-contracts

clean:
	rm -rf .venv .tools .mypy_cache .ruff_cache .pytest_cache
