# llm-obs-stack: `make up` runs the stack with Docker, `make test` proves it without Docker.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
PYTEST := $(VENV)/bin/pytest
STAMP  := $(VENV)/.installed
APP_LOCK  := requirements/app.txt
TEST_LOCK := requirements/test.txt
UV_COMPILE = $(VENV)/bin/uv pip compile pyproject.toml requirements/build.in --universal --python-version 3.11 \
	--generate-hashes --custom-compile-command "make lock" --quiet
QUERYCHECK := tests/stack/querycheck
CRDCHECK := tests/kubernetes/crdcheck
COMPOSE ?= docker compose
NATIVE_DIR ?= .native
# First line of every Docker target: one line saying what is missing (Docker, Compose v2, a
# running engine) and pointing to native mode, instead of a docker error.
NEED_DOCKER = @COMPOSE="$(COMPOSE)" bash scripts/need-docker.sh $@

# The load scenario runner talks to the stack over these URLs (compose service names).
STACK_URLS := --app-url http://app:8000 --sim-url http://llm-sim:8081 \
	--prometheus-url http://prometheus:9090 --alertmanager-url http://alertmanager:9093 \
	--sink-url http://alert-sink:8082 --tools-url http://mcp-tools:8084

.PHONY: help venv lock tools js lint test test-fast up down logs ps clean load native-up native-down native-status load-native bench dashboards contract-docs rules k8s

help: ## List the targets
	@grep -hE '^[a-z][a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

# --- The stack (Docker) -------------------------------------------------------------
up: ## Build and start the whole stack, wait until healthy, print the URLs
	@COMPOSE="$(COMPOSE)" bash scripts/up.sh

down: ## Stop the stack (data volumes are kept)
	$(NEED_DOCKER)
	$(COMPOSE) down

logs: ## Follow the logs of every service (make logs S=app for one)
	$(NEED_DOCKER)
	$(COMPOSE) logs -f --tail=100 $(S)

ps: ## Show the services and their health
	$(NEED_DOCKER)
	$(COMPOSE) ps

clean: ## Stop the stack and delete its data volumes (asks first)
	$(NEED_DOCKER)
	@read -r -p "Delete all stack data (Prometheus, Loki, Tempo, Grafana volumes)? [y/N] " ans; \
	if [ "$$ans" = "y" ] || [ "$$ans" = "Y" ]; then $(COMPOSE) down -v; else echo "kept"; fi

load: ## List the alert scenarios, or run one: make load SCENARIO=error-spike
ifeq ($(strip $(SCENARIO)),)
	@if [ -x $(PY) ]; then $(PY) -m demo_app.loadgen scenarios; \
	else COMPOSE="$(COMPOSE)" bash scripts/need-docker.sh $@ && \
	$(COMPOSE) run --rm --no-deps traffic python -m demo_app.loadgen scenarios; fi
else
	$(NEED_DOCKER)
	$(COMPOSE) run --rm traffic python -m demo_app.loadgen run $(SCENARIO) $(STACK_URLS) $(ARGS)
endif

# --- Native mode (no Docker): Prometheus, Alertmanager and the demo as processes ----
native-up: venv tools ## Start the stack without Docker (Prometheus, Alertmanager, Bugsink, app, simulator, receiver)
	$(PY) -m demo_app.native up --state-dir $(NATIVE_DIR)

native-down: ## Stop the native stack
	$(PY) -m demo_app.native down --state-dir $(NATIVE_DIR)

native-status: ## Show the native stack's processes and URLs
	$(PY) -m demo_app.native status --state-dir $(NATIVE_DIR)

load-native: venv ## Run a scenario against the native stack: make load-native SCENARIO=error-spike
ifeq ($(strip $(SCENARIO)),)
	$(PY) -m demo_app.loadgen scenarios
else
	$(PY) -m demo_app.loadgen run $(SCENARIO) --stack $(NATIVE_DIR) $(ARGS)
endif

# --- Tests and measurements -------------------------------------------------------------
# Everything comes from the lock (exact versions with hashes); the package itself is then
# installed without dependencies, so nothing is resolved on the day.
$(STAMP): pyproject.toml $(TEST_LOCK)
	@test -d $(VENV) || python3 -m venv $(VENV)
	$(PIP) install --quiet --require-hashes -r $(TEST_LOCK)
	$(PIP) install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

venv: $(STAMP) ## Create .venv and install the package with its test extras from the lock

lock: venv ## Re-resolve requirements/*.txt after editing pyproject.toml (make lock UPGRADE=1 takes newer releases)
	$(UV_COMPILE) --extra test $(if $(UPGRADE),--upgrade) -o $(TEST_LOCK)
	$(UV_COMPILE) --constraint $(TEST_LOCK) -o $(APP_LOCK)
	$(PIP) install --quiet --require-hashes -r $(TEST_LOCK)

tools: ## Install Prometheus/promtool and Alertmanager/amtool (Debian/Ubuntu, needs root)
	@bash scripts/install-tools.sh

js: ## Install the JS checkers: Grafana's query grammars (dashboard tests), Prometheus Operator CRD models (tests/kubernetes)
	@if [ -f $(QUERYCHECK)/package-lock.json ]; then npm ci --silent --no-audit --no-fund --prefix $(QUERYCHECK); fi
	@if [ -f $(CRDCHECK)/package-lock.json ]; then npm ci --silent --no-audit --no-fund --prefix $(CRDCHECK); fi

lint: venv ## ruff over the tree, mypy over demo_app/ (settings in pyproject.toml)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

test: venv tools js lint ## Run every test, lint and types included (installs what it needs first)
	$(PYTEST)

test-fast: venv js ## Run the tests that need no live native stack
	$(PYTEST) -m "not e2e"

bench: venv tools ## Measure instrumentation overhead (ours and peers'), series count and time to alert
	$(PY) -m bench

rules: venv ## Regenerate the generated rules (models.yml from a catalogue: make rules CATALOGUE=openai; slo.yml; budgets.yml from the budgets file)
	$(PY) prometheus/rules/gen_models.py $(if $(CATALOGUE),--catalogue $(CATALOGUE))
	$(PY) prometheus/rules/gen_slo.py
	$(PY) prometheus/rules/gen_budgets.py

dashboards: venv ## Regenerate grafana/dashboards/*.json from grafana/dashboards_src
	$(PY) -m grafana.dashboards_src

k8s: venv js ## Render the Kubernetes chart (deploy/kubernetes) and run its offline checks
	$(PYTEST) tests/kubernetes -q

contract-docs: venv ## Regenerate docs/telemetry-contract.md from demo_app/contract.yaml
	$(PY) -m demo_app.contract_docs > docs/telemetry-contract.md
