# PTCE resilience toolkit — `make help` lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash

VENV ?= .venv
PYTHON := $(VENV)/bin/python
PTCE := $(VENV)/bin/ptce
# The data mirror beside the checkout is used when DATA_MIRROR is not set.
DATA_MIRROR ?= $(wildcard $(abspath ..)/shared/data/mirror)
export DATA_MIRROR
JOBS ?= 2

.PHONY: help setup data build report report-check test test-fast bench deck lab lint clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	@test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -e '.[dev]'
	$(PYTHON) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (ptce)" >/dev/null
	@touch $@

setup: $(VENV)/.installed ## Create .venv and install the project with its dev extra

data: setup ## Fetch every raw source into data/raw (from the DATA_MIRROR folder when set), verified
	$(PTCE) data fetch

# The build's own record doubles as make's stamp: when it is newer than the catalogue,
# every raw file, the registry and the package's code, `make build` (and so `make
# report`, `make test`) skips the fetch and the build without starting Python. Any of
# those files changing, or the record missing, runs both (`ptce data build` itself
# then redoes only the steps whose inputs changed).
DATA_DIR := $(or $(PTCE_DATA_DIR),data)
BUILD_STAMP := $(DATA_DIR)/processed/build_state.json
BUILD_INPUTS := data/sources.toml $(wildcard $(DATA_DIR)/raw/*/*) \
	$(wildcard $(DATA_DIR)/registry/*.csv) \
	$(shell find src/analysis -name '*.py' -o -name '*.toml' 2>/dev/null)

$(BUILD_STAMP): $(VENV)/.installed $(BUILD_INPUTS)
	$(PTCE) data fetch
	$(PTCE) data build
	@touch $@

build: $(BUILD_STAMP) ## Build data/processed: backbone, indicators, cooperation (skips what is current)

report: build ## Build everything and regenerate the reports (only those whose inputs changed)
	$(PTCE) report --jobs $(JOBS)

report-check: report ## Check the site in headless Chromium (links, images, alt texts, search); screenshots in reports/_screenshots/
	$(PYTHON) -m analysis.reports.check

test: build ## Run the whole test suite (unit + integration on the real data)
	$(PYTHON) -m pytest -n $(JOBS) --dist loadgroup

test-fast: setup ## Unit tests only (no real data needed)
	$(PYTHON) -m pytest -m "not integration and not slow"

bench: build ## Benchmarks: build times, load times, report batch (wall time, peak memory)
	$(PYTHON) benchmarks/run_all.py

deck: report ## PowerPoint deck of the national figures (reports/ptce_national.pptx)
	$(PTCE) deck --report 'national-*' --title "Coopération économique territoriale et résilience" --out reports/ptce_national.pptx

lab: build ## Open JupyterLab on the notebooks
	$(VENV)/bin/jupyter lab notebooks/

lint: setup ## Ruff checks
	$(VENV)/bin/ruff check src tests

clean: ## Remove processed data and generated reports (keeps data/raw)
	find data/processed -mindepth 1 ! -name .gitkeep -delete
	find reports -mindepth 1 ! -name .gitkeep -delete
