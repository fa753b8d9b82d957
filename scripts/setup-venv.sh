#!/usr/bin/env bash
# Create (or reuse) the runtime virtualenv `.venv` from the lock file, then install the engine.
#
#   scripts/setup-venv.sh                 # CPU: torch 2.13.0 CPU build (see docs/gpu-runners.md for CUDA)
#   VENV=/tmp/v scripts/setup-venv.sh
#
# Idempotent: a stamp records the sha256 of requirements/lock.txt and pyproject.toml; when it
# matches, nothing is installed. pip only: uv and poetry would fetch a CUDA torch build.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${VENV:-${root}/.venv}"
python="${PYTHON:-python3}"
stamp="${venv}/.aip-installed"
want="$(cat "${root}/requirements/lock.txt" "${root}/requirements/nodeps.txt" "${root}/pyproject.toml" | sha256sum | cut -d' ' -f1)"

if [[ -x "${venv}/bin/aip" && -f "${stamp}" && "$(cat "${stamp}")" == "${want}" ]]; then
  exit 0
fi
echo "setup: creating ${venv} from requirements/lock.txt (a few minutes on a new machine)"
[[ -x "${venv}/bin/python" ]] || "${python}" -m venv "${venv}"
"${venv}/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade "pip>=26"
"${venv}/bin/python" -m pip install --quiet --disable-pip-version-check -r "${root}/requirements/lock.txt"
"${venv}/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -r "${root}/requirements/nodeps.txt"
"${venv}/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e "${root}"
# requirements/nodeps.txt's packages are installed without their dependencies on purpose: pip check's
# complaints about exactly those are expected; any other problem fails the setup.
problems="$("${venv}/bin/python" -m pip check 2>&1 || true)"
unexpected="$(printf '%s\n' "${problems}" \
  | grep -v -i -E '^llm[-_]smollm2 [^ ]+ requires (llm|llama[-_]cpp[-_]python), which is not installed\.$' \
  | grep -v -E '^No broken requirements found\.$' | grep . || true)"
if [[ -n "${unexpected}" ]]; then
  printf '%s\n' "${unexpected}" >&2
  echo "setup: pip check failed (above)" >&2
  exit 1
fi
printf '%s' "${want}" >"${stamp}"
echo "setup: done"
