#!/usr/bin/env bash
# Build the OCI images with podman and smoke-test them (`make image`; containers/README.md).
#
#   scripts/image.sh                 # all three: serving, training, mlflow
#   scripts/image.sh serving         # one (or several): serving | training | mlflow | runner
#   scripts/image.sh base            # only the local Debian base (also used by the Molecule scenarios)
#   IMAGE_SMOKE=0 scripts/image.sh   # build only
#
# Tags: localhost/aip-{serving,training,mlflow,runner}:dev (runner: the ARC runner image, not in the
# default set; containers/runner.Containerfile says what its local build leaves out).
# Base: BASE=... when given (e.g. the pinned python:3.11-slim@sha256 of the Containerfiles, where a
# registry is reachable); otherwise a Debian bookworm base made here once with debootstrap
# (localhost/debian-bookworm:minbase, cached).
# This machine's pip settings (find-links, extra indexes, constraints, CA bundle) reach the builds as
# build secrets and read-only volumes only: nothing of them is written into a layer. The layer cache
# is reused, so a second run takes seconds.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${root}"
export CONTAINERS_CONF="${CONTAINERS_CONF:-${root}/containers/containers.conf}"

DEBIAN_BASE="localhost/debian-bookworm:minbase"
BASE="${BASE:-${DEBIAN_BASE}}"
VARIANT="${VARIANT:-cpu}"
TAG="${IMAGE_TAG:-dev}"
SMOKE="${IMAGE_SMOKE:-1}"
MLFLOW_PORT="${MLFLOW_SMOKE_PORT:-15099}"

say() { printf 'image: %s\n' "$*"; }
die() { printf 'image: FAILED: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

command -v podman >/dev/null || die "podman not found: run 'make system-deps' (apt-get install podman runc debootstrap)"

wanted=("$@")
[[ ${#wanted[@]} -gt 0 ]] || wanted=(serving training mlflow)
for name in "${wanted[@]}"; do
  case "${name}" in serving | training | mlflow | runner | base) ;; *) die "unknown image '${name}' (serving, training, mlflow, runner or base)" ;; esac
done

scratch="$(mktemp -d)"
trap 'rm -rf "${scratch}"' EXIT

# ---- the base: Debian bookworm minbase from the machine's own apt mirror, made once ------------
build_debian_base() {
  if podman image exists "${DEBIAN_BASE}"; then
    say "base ${DEBIAN_BASE}: present (cached)"
    return
  fi
  command -v debootstrap >/dev/null || [[ -x /usr/sbin/debootstrap ]] || die "debootstrap not found: run 'make system-deps'"
  local sources=/etc/apt/sources.list.d/debian.sources mirror
  mirror="$(awk '/^URIs:/ { print $2; exit }' "${sources}" 2>/dev/null || true)"
  mirror="${mirror:-http://deb.debian.org/debian}"
  say "base ${DEBIAN_BASE}: debootstrap --variant=minbase bookworm from ${mirror} (~40 s, once)"
  local t0 rootfs="${scratch}/rootfs"
  t0="$(now)"
  PATH="${PATH}:/usr/sbin:/sbin" debootstrap --variant=minbase bookworm "${rootfs}" "${mirror}" >"${scratch}/debootstrap.log" 2>&1 ||
    { tail -20 "${scratch}/debootstrap.log" >&2; die "debootstrap failed (log above)"; }
  rm -rf "${rootfs}"/var/cache/apt/archives/*.deb "${rootfs}"/var/lib/apt/lists/* "${rootfs}"/var/log/*.log
  if [[ -f "${sources}" ]]; then
    rm -f "${rootfs}/etc/apt/sources.list"
    cp "${sources}" "${rootfs}/etc/apt/sources.list.d/debian.sources"
  fi
  tar --numeric-owner -C "${rootfs}" -c . |
    podman import --quiet --change 'CMD ["/bin/bash"]' - "${DEBIAN_BASE}" >/dev/null || die "podman import of the base failed"
  say "base ${DEBIAN_BASE}: built in $(took "${t0}")"
}

# ---- this machine's pip settings, as build secrets and read-only volumes ------------------------
build_opts=(--network host --format docker --layers --build-arg "BASE=${BASE}" --build-arg "VARIANT=${VARIANT}")
pip_settings() {
  local conf="${scratch}/pip.conf" key value path
  printf '[global]\n' >"${conf}"
  # `pip config list`: key='value' lines; global.* and :env:.* (the PIP_* variables) both count.
  while IFS= read -r line; do
    key="${line%%=*}"
    value="${line#*=}"
    value="${value#\'}"
    value="${value%\'}"
    key="${key##*.}"
    case "${key}" in
      find-links | extra-index-url | index-url | constraint | default-timeout | trusted-host) ;;
      *) continue ;;
    esac
    grep -q "^${key} = " "${conf}" && continue
    printf '%s = %s\n' "${key}" "${value}" >>"${conf}"
    for path in ${value}; do
      path="${path#file://}"
      [[ "${path}" == /* && -e "${path}" ]] || continue
      [[ -f "${path}" ]] && path="$(dirname "${path}")"
      # a PEP 503 index folder (.../simple) links to its files beside it (../../files/...)
      [[ "${path%/}" == */simple ]] && path="$(dirname "${path%/}")"
      case " ${build_opts[*]} " in *" ${path}:${path}:ro "*) continue ;; esac
      build_opts+=(--volume "${path}:${path}:ro")
    done
  done < <(python3 -m pip config list 2>/dev/null | sort -r)
  if [[ "$(wc -l <"${conf}")" -gt 1 ]]; then
    build_opts+=(--secret "id=pipconf,src=${conf}")
  fi
  local ca="${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}"
  [[ -s "${ca}" ]] && build_opts+=(--secret "id=cacert,src=${ca}")
  # PyTorch's own index is the default source of the CPU/CUDA torch builds; where it cannot be reached
  # (this machine), torch comes from the pip settings above (a local +cpu wheel).
  if [[ -z "${TORCH_INDEX+x}" ]] && ! curl -sfI --max-time 5 https://download.pytorch.org/whl/cpu/ >/dev/null 2>&1; then
    say "download.pytorch.org unreachable: torch from this machine's pip settings"
    build_opts+=(--build-arg "TORCH_INDEX=")
  elif [[ -n "${TORCH_INDEX+x}" ]]; then
    build_opts+=(--build-arg "TORCH_INDEX=${TORCH_INDEX}")
  fi
}

build() {
  local name="$1" t0
  t0="$(now)"
  say "build localhost/aip-${name}:${TAG} (containers/${name}.Containerfile, BASE=${BASE}, VARIANT=${VARIANT})"
  local extra=()
  if [[ "${name}" == runner && "${BASE}" == "${DEBIAN_BASE}" ]]; then
    extra+=(--build-arg "RUNNER_DOWNLOADS=${RUNNER_DOWNLOADS:-0}")
  fi
  if ! podman build "${build_opts[@]}" "${extra[@]}" -f "containers/${name}.Containerfile" -t "localhost/aip-${name}:${TAG}" . \
    >"${scratch}/build-${name}.log" 2>&1; then
    tail -40 "${scratch}/build-${name}.log" >&2
    die "podman build of ${name} failed (last lines above)"
  fi
  local size
  size="$(podman image inspect --format '{{.Size}}' "localhost/aip-${name}:${TAG}" | awk '{ printf "%.2f GB", $1 / 1e9 }')"
  say "built localhost/aip-${name}:${TAG} in $(took "${t0}") (${size})"
}

# ---- smoke tests -----------------------------------------------------------------------------
smoke_serving() {
  local image="localhost/aip-serving:${TAG}" t0 out
  t0="$(now)"
  run=(podman run --rm --no-healthcheck --network host --read-only --tmpfs /tmp --user 10001:10001 "${image}")
  out="$("${run[@]}" --version 2>&1)" || die "serving: 'aip --version' failed: ${out}"
  say "serving: ${out}"
  "${run[@]}" --help >/dev/null 2>&1 || die "serving: 'aip --help' failed"
  out="$(podman run --rm --no-healthcheck --network host --read-only --tmpfs /tmp --user 10001:10001 --entrypoint id "${image}" -u)"
  [[ "${out}" == 10001 ]] || die "serving: runs as uid ${out}, not 10001"
  out="$(podman run --rm --no-healthcheck --network host --read-only --tmpfs /tmp "${image}" validate 2>&1)" ||
    die "serving: 'aip validate' failed (read-only root, default user):"$'\n'"${out}"
  say "serving: aip --version, --help and validate pass (read-only root, uid 10001) in $(took "${t0}")"
}

# The runner image built on the local base: the tool layer only (the actions/runner tarball, kubectl and
# helm are downloads, skipped here; see containers/runner.Containerfile). Each tool it has must run.
smoke_runner() {
  local image="localhost/aip-runner:${TAG}" out
  out="$(podman run --rm --no-healthcheck --network host "${image}" sh -ec '
    git --version; make --version | head -1; python3.11 --version; aws --version; jq --version
    id -u; test -w "$HOME"
    for tool in kubectl helm; do
      if command -v "$tool" >/dev/null; then "$tool" version --client 2>&1 | head -1
      else echo "$tool: not in this build (RUNNER_DOWNLOADS=0)"; fi
    done' 2>&1)" || die "runner: a tool is missing or broken:"$'\n'"${out}"
  say "runner: $(echo "${out}" | tr '\n' ';' | sed 's/;/; /g')"
}

smoke_training() {
  local image="localhost/aip-training:${TAG}" out
  out="$(podman run --rm --no-healthcheck --network host --entrypoint sh "${image}" -c 'git --version && dvc --version && aip --version' 2>&1)" ||
    die "training: git/dvc/aip missing: ${out}"
  say "training: $(echo "${out}" | tr '\n' ' ')"
}

smoke_mlflow() {
  local image="localhost/aip-mlflow:${TAG}" name="aip-mlflow-smoke-$$" t0 ok=""
  t0="$(now)"
  podman rm -f "${name}" >/dev/null 2>&1 || true
  podman run -d --rm --no-healthcheck --name "${name}" --network host --read-only --tmpfs /tmp "${image}" \
    server --host 127.0.0.1 --port "${MLFLOW_PORT}" --workers 1 \
    --backend-store-uri sqlite:////tmp/mlflow.db --default-artifact-root /tmp/artifacts >/dev/null ||
    die "mlflow: the container did not start"
  for _ in $(seq 1 360); do
    if curl -sf "http://127.0.0.1:${MLFLOW_PORT}/health" >/dev/null 2>&1; then ok=1 && break; fi
    podman container exists "${name}" || break
    sleep 0.5
  done
  if [[ -z "${ok}" ]]; then
    podman logs "${name}" 2>&1 | tail -30 >&2 || true
    podman stop -t 2 "${name}" >/dev/null 2>&1 || true
    die "mlflow: /health did not answer on 127.0.0.1:${MLFLOW_PORT} within 180 s (a loaded 2-CPU machine takes ~30-90 s)"
  fi
  podman stop -t 5 "${name}" >/dev/null 2>&1 || true
  say "mlflow: server answered /health in $(took "${t0}"), stopped"
}

t_all="$(now)"
avail="$(df -Pk / | awk 'NR == 2 { printf "%d", $4 / 1048576 }')"
[[ "${avail}" -ge 12 ]] || die "only ${avail} GB free on /: the images need ~12 GB while building"
[[ "${BASE}" == "${DEBIAN_BASE}" || " ${wanted[*]} " == *" base "* ]] && build_debian_base
# `base` is made above; the runner's downloads (runner tarball, kubectl, helm) are off where the base is
# the local one (no GitHub or dl.k8s.io here), on where a real BASE is given (CI).
images=()
for name in "${wanted[@]}"; do [[ "${name}" == base ]] || images+=("${name}"); done
if [[ ${#images[@]} -gt 0 ]]; then
  pip_settings
  for name in "${images[@]}"; do build "${name}"; done
  if [[ "${SMOKE}" == 1 ]]; then
    for name in "${images[@]}"; do "smoke_${name}"; done
  fi
fi
say "done in $(took "${t_all}")"
