# llm-obs-stack: `make up` runs the stack with Docker, `make test` proves it without Docker.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
PYTEST := $(VENV)/bin/pytest
STAMP  := $(VENV)/.installed

.PHONY: help venv tools test test-fast contract-docs

help: ## List the targets
	@grep -hE '^[a-z][a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -d $(VENV) || python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[test]'
	@touch $(STAMP)

venv: $(STAMP) ## Create .venv and install the package with its test extras

tools: ## Install Prometheus/promtool and Alertmanager/amtool (Debian/Ubuntu, needs root)
	@bash scripts/install-tools.sh

test: venv tools ## Run every test (installs what it needs first)
	$(PYTEST)

test-fast: venv ## Run the tests that need no Prometheus/Alertmanager binaries
	$(PYTEST) -m "not e2e"

contract-docs: venv ## Regenerate docs/telemetry-contract.md from demo_app/contract.yaml
	$(PY) -m demo_app.contract_docs > docs/telemetry-contract.md
