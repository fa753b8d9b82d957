#!/usr/bin/env bash
# System packages the tests need, installed the same way by `make test`, `.ci/run` and CI (pr.yml):
#   prometheus   prometheus + promtool: the rules tests and the Prometheus integration test
#   podman runc  build and run the OCI images (`make image`, the container contract test); no daemon
#   debootstrap  the local Debian base image when no registry is reachable (scripts/image.sh)
#   chromium     headless browser: the service catalogue page test (tests/catalog)
#   postgresql   a real Postgres on 127.0.0.1: Optuna's shared study storage (tests/tune)
#   redis-server a real Redis on 127.0.0.1: Feast's production online store (tests/features)
# act (the workflow runner emulator) is a wheel in the tools venv (requirements/tools.txt).
# Idempotent: does nothing when they are on PATH. Needs root (or sudo) only when something is missing.
set -euo pipefail

missing=()
command -v promtool >/dev/null && command -v prometheus >/dev/null || missing+=(prometheus)
command -v podman >/dev/null || missing+=(podman)
command -v runc >/dev/null || [ -x /usr/sbin/runc ] || missing+=(runc)
command -v debootstrap >/dev/null || [ -x /usr/sbin/debootstrap ] || missing+=(debootstrap)
command -v chromium >/dev/null || missing+=(chromium)
command -v initdb >/dev/null || compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
command -v redis-server >/dev/null || missing+=(redis-server)
if [ ${#missing[@]} -eq 0 ]; then
  echo "system-deps: prometheus, promtool, podman, runc, debootstrap, chromium, postgresql and redis-server are installed"
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null; then
  sudo=(sudo)
else
  echo "system-deps: ${missing[*]} missing and neither root nor sudo: run 'apt-get install -y ${missing[*]}' as root" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null; then
  echo "system-deps: ${missing[*]} missing and no apt-get: install Debian's/Ubuntu's '${missing[*]}' package" >&2
  exit 1
fi
echo "system-deps: installing ${missing[*]} (Debian packages)"
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "system-deps: done"
