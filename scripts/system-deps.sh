#!/usr/bin/env bash
# System packages the tests need, installed the same way by `make test`, `.ci/run` and CI:
# Debian's prometheus (prometheus + promtool: the rules tests and the Prometheus integration test).
# Idempotent: does nothing when they are on PATH. Needs root (or sudo) only when something is missing.
set -euo pipefail

missing=()
command -v promtool >/dev/null && command -v prometheus >/dev/null || missing+=(prometheus)
if [ ${#missing[@]} -eq 0 ]; then
  echo "system-deps: prometheus and promtool are installed"
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
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
echo "system-deps: done"
