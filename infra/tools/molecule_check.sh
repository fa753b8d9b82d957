#!/usr/bin/env bash
# Molecule on podman for the GPU runner roles that need no GPU (infra/ansible/molecule/default):
# create a Debian bookworm container with systemd, converge, converge again (must change nothing),
# verify, destroy. A step of `make infra-check`; tests/infra/test_molecule.py runs it too.
#
#   infra/tools/molecule_check.sh                 # molecule test
#   MOLECULE_COMMAND=converge infra/tools/molecule_check.sh   # keep the container to look around
#                                 (podman exec -it aip-molecule-<pid> bash; podman rm -f it afterwards)
#
# Here nothing can be pulled: the container image is made from the local debootstrap base
# (scripts/image.sh base, cached) plus infra/ansible/molecule/Containerfile (layer-cached). GitHub is
# out of reach too: the runner "release" is a stand-in tarball made here, served on 127.0.0.1 with its
# real sha256, so the role's download, checksum and unpack steps run unchanged.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
tools="${TOOLS_VENV:-${root}/.venv-tools}"
image="${MOLECULE_IMAGE:-localhost/debian-bookworm:molecule}"
command_="${MOLECULE_COMMAND:-test}"
export CONTAINERS_CONF="${CONTAINERS_CONF:-${root}/containers/containers.conf}"

say() { printf 'molecule: %s\n' "$*"; }
die() { printf 'molecule: FAILED: %s\n' "$*" >&2; exit 1; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

[[ -x "${tools}/bin/molecule" ]] || die "${tools}/bin/molecule not found: run 'make tools-venv'"
command -v podman >/dev/null || die "podman not found: run 'make system-deps'"
t0="${SECONDS}"

# 1. The test image: the local base (debootstrap, once), then systemd + python3 + sudo on top.
"${root}/scripts/image.sh" base
podman build --quiet --network host --format docker --layers \
  -f "${root}/infra/ansible/molecule/Containerfile" -t "${image}" "${root}/infra/ansible/molecule" >/dev/null ||
  die "podman build of ${image} failed"
say "image ${image} ready ($((SECONDS - t0)) s)"

# 2. The runner tarball fixture and a loopback HTTP server for it; state of this run in a scratch folder.
scratch="$(mktemp -d)"
server_pid=""
cleanup() {
  [[ -n "${server_pid}" ]] && kill "${server_pid}" 2>/dev/null
  # `test` leaves no container, even when interrupted (the name is this run's own); `converge` keeps it
  if [[ "${command_}" == test && -n "${MOLECULE_INSTANCE:-}" ]]; then
    podman rm -f -t 2 "${MOLECULE_INSTANCE}" >/dev/null 2>&1 || true
  fi
  rm -rf "${scratch}"
}
trap cleanup EXIT
trap 'exit 143' INT TERM
mkdir -p "${scratch}/release/pkg/bin" "${scratch}/home"
printf '#!/bin/sh\necho "stand-in for the actions runner: run.sh"\n' >"${scratch}/release/pkg/run.sh"
printf '#!/bin/sh\necho "stand-in for the actions runner: config.sh"\n' >"${scratch}/release/pkg/config.sh"
chmod 0755 "${scratch}/release/pkg/run.sh" "${scratch}/release/pkg/config.sh"
tar -C "${scratch}/release/pkg" -czf "${scratch}/release/actions-runner-linux-x64-molecule.tar.gz" .
port="$(free_port)"
python3 -m http.server --bind 127.0.0.1 --directory "${scratch}/release" "${port}" >"${scratch}/http.log" 2>&1 &
server_pid=$!
export RUNNER_FIXTURE_URL="http://127.0.0.1:${port}/actions-runner-linux-x64-molecule.tar.gz"
RUNNER_FIXTURE_SHA256="$(sha256sum "${scratch}/release/actions-runner-linux-x64-molecule.tar.gz" | cut -d' ' -f1)"
export RUNNER_FIXTURE_SHA256
export MOLECULE_NODE_EXPORTER_PORT="${MOLECULE_NODE_EXPORTER_PORT:-$(free_port)}"
export MOLECULE_INSTANCE="${MOLECULE_INSTANCE:-aip-molecule-$$}"
export MOLECULE_IMAGE="${image}"
for _ in $(seq 1 50); do curl -sf -o /dev/null "${RUNNER_FIXTURE_URL}" && break; sleep 0.1; done

# 3. molecule, with its caches and Ansible's in the scratch folder (parallel runs do not collide).
export PATH="${tools}/bin:${PATH}"
export XDG_CACHE_HOME="${scratch}/cache" ANSIBLE_HOME="${scratch}/ansible" HOME="${scratch}/home"
export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 PY_COLORS=0 NO_COLOR=1
cd "${root}/infra/ansible"
say "molecule ${command_} (instance ${MOLECULE_INSTANCE}, node exporter on 127.0.0.1:${MOLECULE_NODE_EXPORTER_PORT})"
status=0
molecule "${command_}" || status=$?
if [[ "${status}" -ne 0 && "${command_}" == test ]]; then
  molecule destroy >/dev/null 2>&1 || true
fi
[[ "${status}" -eq 0 ]] || die "molecule ${command_} exited ${status} (output above)"
say "molecule ${command_}: passed in $((SECONDS - t0)) s"
