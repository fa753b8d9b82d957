#!/usr/bin/env bash
# Run the infrastructure checks without make (what `make infra-check` does).
#
#   scripts/infra-check.sh                 # every step
#   scripts/infra-check.sh checkov k8s     # some steps: fmt validate checkov compliance ansible k8s
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${TOOLS_VENV:-${repo_root}/.venv-tools}"
TOOLS_VENV="${venv}" "${repo_root}/scripts/setup-tools.sh"
exec "${venv}/bin/python" "${repo_root}/infra/tools/infra_check.py" "$@"
