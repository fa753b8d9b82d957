# Developer commands; CI calls exactly these (CI holds no logic a laptop cannot run).
#   make run    set up .venv and run the whole lifecycle on the embedded defaults
#   make demo   the same, then always the canary demo (make run shows it on a fresh state only)
#   make test   set up .venv (and the tools venv) and run every test
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
PY := $(VENV)/bin/python
AIP := $(VENV)/bin/aip
ENV ?= local

# Offline and quiet: no telemetry, no model hub at run time.
export MLFLOW_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := true
export GX_ANALYTICS_ENABLED := false
export DVC_NO_ANALYTICS := 1
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
export FEAST_USAGE := False
export MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR := false

.PHONY: help setup system-deps run demo test test-fast lint generated generated-check fmt lock catalog ui bench bench-prompts bench-venv bench-serving clean-state

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

setup: ## create .venv from requirements/lock.txt (idempotent)
	@scripts/setup-venv.sh

run: setup ## the main job: validate, data, train, evaluate, register, deploy (ENV=local: + canary demo on a fresh state)
	$(AIP) run --env $(ENV) $(if $(filter local,$(ENV)),--canary-demo-if-new)

demo: setup ## `make run`, then the canary demo again: a seed-variant challenger canaried, @local ends on the repo's version
	$(AIP) run --env $(ENV) --canary-demo

# Tests commit in scratch repositories: give git an identity when the machine has none (env only).
GIT_IDENTITY := $(if $(shell git config --get user.email 2>/dev/null),,GIT_AUTHOR_NAME=aip GIT_AUTHOR_EMAIL=aip@example.invalid GIT_COMMITTER_NAME=aip GIT_COMMITTER_EMAIL=aip@example.invalid)

system-deps: ## Debian packages the tests need (prometheus, promtool, podman, runc, debootstrap); nothing when installed
	@scripts/system-deps.sh

# The coverage floor of `make test` only rises: 68.93% (statements + branches) on a fresh clone on
# 2026-12-01 (issue 10), floored to 68. Coverage counts the pytest process only: the `aip` subprocesses and
# servers tests start run untraced, at full speed (the canary and serving tests measure request rates
# and latencies), so the bench's server apps and the CLI entry points count as uncovered.
COVERAGE_FLOOR ?= 68

test: setup tools-venv bench-venv system-deps ## every test, slow ones included (what CI runs)
	$(GIT_IDENTITY) $(PY) -m pytest -q --durations=40 --cov=pipelines --cov-report=term:skip-covered --cov-fail-under=$(COVERAGE_FLOOR)

test-fast: setup ## the fast tests only
	$(PY) -m pytest -q -m "not slow"

lint: setup tools-venv ## ruff, mypy, the import layers, config validation, freshness of generated files
	$(VENV)/bin/ruff check pipelines tests scripts dashboards
	$(VENV)/bin/ruff format --check pipelines tests scripts dashboards
	$(VENV)/bin/mypy
	$(TOOLS_VENV)/bin/lint-imports
	$(PY) scripts/check_private_names.py
	$(AIP) validate
	$(MAKE) --no-print-directory generated-check
	$(MAKE) --no-print-directory image-check

generated-check: setup ## every committed generated file is current (schemas, docs/cli.md, metrics, dashboards, PrometheusRules, CRD schemas, platform.yaml's derived files, the catalogue, CHANGELOG version, lock)
	$(AIP) schema --check
	$(AIP) reference --check
	$(AIP) metrics docs --check
	$(AIP) dashboards build --check
	$(PY) infra/k8s/platform/render_rules.py --check
	$(PY) infra/k8s/schemas/crd_to_jsonschema.py --check
	$(AIP) render --check
	$(AIP) catalog build --check
	$(AIP) template changelog --check
	$(PY) scripts/check_lock.py

generated: setup ## regenerate every committed generated file (not the lock: `make lock`)
	$(AIP) schema
	$(AIP) reference
	$(AIP) render
	$(MAKE) --no-print-directory dashboards
	$(PY) infra/k8s/platform/render_rules.py
	$(AIP) catalog build --no-html

fmt: setup ## format the Python code
	$(VENV)/bin/ruff format pipelines tests scripts dashboards
	$(VENV)/bin/ruff check --fix pipelines tests scripts dashboards

lock: ## regenerate requirements/lock.txt after changing pyproject.toml
	@scripts/lock.sh

catalog: setup ## the service catalogue: catalog-info.yaml + catalog/*.yaml (Backstage) and .aip/catalog/index.html
	$(AIP) catalog build

ui: setup ## MLflow UI on the local store, http://127.0.0.1:5000
	$(AIP) ui --env $(ENV)

bench: setup ## the engine benchmark (scripts/bench_lifecycle.py): prints figures
	$(PY) scripts/bench_lifecycle.py

bench-prompts: setup ## the retrieval and generation benchmarks (index build, FAISS vs milvus-lite, tokens/s): prints figures
	$(PY) scripts/bench_retrieval.py
	$(PY) scripts/bench_generation.py

bench-venv: setup ## LitServe + KServe for `aip bench serving` in .venv-bench (requirements/bench.txt)
	@VENV=$(VENV) scripts/setup-bench.sh

bench-serving: setup bench-venv ## the serving benchmark, written to docs/benchmarks/ (docs/benchmarks/README.md)
	$(AIP) bench serving --env $(ENV) --runtimes torch,onnx-int8 \
	  --output docs/benchmarks/serving-topic-classifier

clean-state: ## delete local state (.aip: MLflow SQLite, artifacts, DVC remote, reports)
	rm -rf .aip

.PHONY: dashboards rules-check
dashboards: setup ## render dashboards/rendered/*.json, docs/dashboards.md and docs/metrics.md
	$(AIP) dashboards build
	$(AIP) metrics docs

rules-check: ## promtool: check and unit-test the alert and recording rules (apt-get install prometheus)
	@command -v promtool >/dev/null || { echo "promtool not found: apt-get install -y prometheus (Debian package)"; exit 1; }
	promtool check rules dashboards/alerts/*.rules.yml
	promtool test rules dashboards/alerts/tests/*.test.yml

.PHONY: workflow-check pre-commit
workflow-check: setup tools-venv ## actionlint, zizmor (offline, pedantic), house rules and commands of .github/
	$(TOOLS_VENV)/bin/actionlint
	env -u GH_TOKEN -u GITHUB_TOKEN $(TOOLS_VENV)/bin/zizmor --offline --persona pedantic .github/
	$(AIP) guard workflows
	$(AIP) ci check-commands

PRE_COMMIT_FROM ?=
pre-commit: setup tools-venv ## the pre-commit hooks on every file, or on the changes since PRE_COMMIT_FROM=REF
	$(TOOLS_VENV)/bin/pre-commit run --show-diff-on-failure $(if $(PRE_COMMIT_FROM),--from-ref $(PRE_COMMIT_FROM) --to-ref HEAD,--all-files)

include infra/infra.mk

.PHONY: image image-check image-pin image-sign
image: system-deps ## build the serving, training and MLflow images with podman and smoke-test them (IMAGES="serving" for one)
	scripts/image.sh $(IMAGES)

image-check: tools-venv ## hadolint over containers/*.Containerfile (part of `make lint`)
	$(TOOLS_VENV)/bin/hadolint containers/*.Containerfile

image-pin: ## pin the overlays to pushed images: SERVING_REF=REPO@sha256:... [MLFLOW_REF=REPO@sha256:...]
	scripts/pin-image.sh serving "$(SERVING_REF)" $(if $(MLFLOW_REF),mlflow "$(MLFLOW_REF)")

image-sign: ## cosign keyless signatures of pushed images, by digest (CI, OIDC): IMAGE_REFS="REPO@sha256:... ..."
	@[ -n "$(IMAGE_REFS)" ] || { echo "image-sign: IMAGE_REFS=REPO@sha256:... is required"; exit 1; }
	cosign sign --yes $(IMAGE_REFS)

.PHONY: canary-simulation canary-trials
canary-simulation: setup ## false alarms and power of the canary analysis over simulated intervals (prints figures)
	-$(PY) scripts/canary_simulation.py --requests 150
	$(PY) scripts/canary_simulation.py --requests 300

canary-trials: setup ## the fault suite's repeated trials on both models (full counts), beside 2 CPU-burning processes
	AIP_TRIALS_FULL=1 AIP_TRIALS_BUSY=2 $(PY) -m pytest -p no:cacheprovider tests/deploy/test_fault_suite.py -k "fault_kind or twins"
