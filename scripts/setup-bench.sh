#!/usr/bin/env bash
# Create (or reuse) the bench virtualenv: LitServe and KServe's Python model server, the two
# dynamic-batching servers `aip bench serving` compares `aip serve` with.
#
#   scripts/setup-bench.sh              # -> .venv-bench/ at the repository root (make bench-venv)
#   BENCH_VENV=/tmp/b scripts/setup-bench.sh
#
# Its own venv because kserve 0.21 pins psutil<6 and protobuf<7, which clash with the runtime lock.
# torch, transformers and the pipelines package are not installed twice: a .pth file appends the
# runtime venv's site-packages *after* this venv's own, so both servers load the same weights with
# the same code as `aip serve`. Idempotent: a stamp records the sha256 of requirements/bench.txt,
# the runtime venv's path and the Python version; when it matches, nothing is installed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
requirements="${root}/requirements/bench.txt"
venv="${BENCH_VENV:-${root}/.venv-bench}"
runtime="${VENV:-${root}/.venv}"
case "${venv}" in /*) ;; *) venv="${root}/${venv}" ;; esac
case "${runtime}" in /*) ;; *) runtime="${root}/${runtime}" ;; esac
python="${PYTHON:-python3}"
stamp="${venv}/.requirements.sha256"

if [[ ! -x "${runtime}/bin/python" ]]; then
  echo "setup-bench: ${runtime} does not exist; run \`make setup\` first" >&2
  exit 1
fi
runtime_site="$("${runtime}/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
want="$({ sha256sum "${requirements}" | cut -d' ' -f1; echo "${runtime_site}"; "${python}" -c 'import sys; print(sys.version.split()[0])'; } | tr '\n' ' ')"
if [[ -x "${venv}/bin/python" && -f "${stamp}" && "$(cat "${stamp}")" == "${want}" ]]; then
  echo "setup-bench: ${venv} is up to date"
  exit 0
fi

echo "setup-bench: creating ${venv} from ${requirements}"
rm -rf "${venv}"
"${python}" -m venv "${venv}"
pip_install() {
  # This machine's pip config lists local index folders that may not exist; drop those warnings only.
  "${venv}/bin/python" -m pip install --quiet --disable-pip-version-check "$@" 2> >(grep -v "^WARNING: Location '" >&2)
}
pip_install --upgrade "pip>=26"
pip_install -r "${requirements}"
"${venv}/bin/python" -m pip check
site="$("${venv}/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
# addsitedir (not a plain path line) so the runtime venv's own .pth files run too: the editable
# install of pipelines is one. It appends, so this venv's fastapi/protobuf/psutil win.
printf 'import site; site.addsitedir(%s)\n' "'${runtime_site}'" >"${site}/zz-aip-runtime.pth"
"${venv}/bin/python" -c 'import litserve, kserve, torch, transformers, pipelines.artifacts'
printf '%s' "${want}" >"${stamp}"
echo "setup-bench: done"
