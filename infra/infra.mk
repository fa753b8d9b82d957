# Infrastructure checks; included by the root Makefile (`include infra/infra.mk`).
#
#   make tools-venv     # create .venv-tools/ from requirements/tools.txt (idempotent)
#   make infra-check    # terraform fmt/validate/test, plan-time knowability, checkov, terraform-compliance,
#                       # ansible-lint, Molecule (podman), k8s schemas, GPU capacity
#   make infra-check INFRA_STEPS="checkov k8s"   # a subset
#
# Everything runs offline in the tools virtualenv; see infra/README.md for what needs providers (infra.yml).

TOOLS_VENV ?= .venv-tools
TOOLS_PYTHON ?= $(TOOLS_VENV)/bin/python
INFRA_STEPS ?=

.PHONY: tools-venv infra-check

tools-venv:
	TOOLS_VENV=$(TOOLS_VENV) scripts/setup-tools.sh

infra-check: tools-venv setup system-deps
	$(TOOLS_PYTHON) infra/tools/infra_check.py $(INFRA_STEPS)
