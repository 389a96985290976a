# Every target sets itself up: a virtualenv in .venv with the project and its
# tools, rebuilt when pyproject.toml changes.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run up test unit integration e2e lint typecheck cfn-lint bench schema openapi clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

SAMPLE := tests/fixtures/sample_talk.mp4

## run: the bundled sample video through the whole pipeline, locally
run: $(STAMP)
	$(BIN)/talkavocado run $(SAMPLE)

## up: the local stack (API on :3000, pipeline workers, embedded AWS emulator)
up: $(STAMP)
	$(BIN)/talkavocado up

## test: lint, type-check, template lint, then the whole test suite
test: lint typecheck cfn-lint
	$(BIN)/pytest -q

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

integration: $(STAMP)
	$(BIN)/pytest -q tests/integration

e2e: $(STAMP)
	$(BIN)/pytest -q tests/e2e

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

cfn-lint: $(STAMP)
	$(BIN)/cfn-lint template.yaml

## bench: API and pipeline latency, throughput and cost, as ratios to bare AWS calls
bench: $(STAMP)
	$(BIN)/python -m bench.api_latency
	$(BIN)/python -m bench.pipeline

## schema: regenerate the JSON Schema files from their models
schema: $(STAMP)
	$(BIN)/talkavocado schema manifest > src/talkavocado/schemas/manifest.schema.json
	$(BIN)/talkavocado schema cut_plan > src/talkavocado/schemas/cut_plan.schema.json

openapi: $(STAMP)
	@$(BIN)/talkavocado openapi

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
