#!/usr/bin/env bash
# Organisation values here are rewritten by aip render from platform.yaml; edit that file instead.
# Pin the overlays' images to a digest: rewrite the `images:` entry of every
# infra/k8s/overlays/*/kustomization.yaml that names the image, to kustomize's `digest:` field.
#
#   scripts/pin-image.sh serving ghcr.io/example-org/ai-platform-serving@sha256:<64 hex>
#   scripts/pin-image.sh mlflow  ghcr.io/example-org/ai-platform-mlflow@sha256:<64 hex>
#   make image-pin SERVING_REF=...@sha256:... [MLFLOW_REF=...@sha256:...]
#
# serving: the entries named ghcr.io/example-org/ai-platform-serving (the base manifests' image);
# mlflow:  the entries named ghcr.io/mlflow/mlflow (infra/k8s/mlflow, rendered by the prod overlay).
# The entry keeps its `name:` (what the base manifests say); `newName:` is set when the pushed
# repository differs, and `newTag:`/`digest:` become `digest: sha256:...`. Other lines are untouched.
# Called by .github/workflows/image.yml after a push; the change then goes out as a pull request.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
die() { printf 'pin-image: %s\n' "$*" >&2; exit 1; }

[[ $# -ge 2 && $(($# % 2)) -eq 0 ]] || die "usage: pin-image.sh serving|mlflow REPOSITORY@sha256:DIGEST [...]"

overlays=("${root}"/infra/k8s/overlays/*/kustomization.yaml)
while [[ $# -gt 0 ]]; do
  kind="$1" ref="$2"
  shift 2
  case "${kind}" in
    serving) entry="ghcr.io/example-org/ai-platform-serving" ;;
    mlflow) entry="ghcr.io/mlflow/mlflow" ;;
    *) die "unknown image '${kind}' (serving or mlflow)" ;;
  esac
  [[ "${ref}" =~ ^([a-z0-9][a-z0-9._/:-]*)@(sha256:[0-9a-f]{64})$ ]] ||
    die "'${ref}' is not REPOSITORY@sha256:<64 lowercase hex>"
  repository="${BASH_REMATCH[1]}" digest="${BASH_REMATCH[2]}"
  pinned=0
  for file in "${overlays[@]}"; do
    grep -qE "^  - name: ${entry}\$" "${file}" || continue
    # Within the entry (`  - name: <entry>` up to the next `  - ` or a top-level key): drop newName,
    # newTag and digest lines, then write newName (when it differs) and digest after the name.
    awk -v entry="${entry}" -v repo="${repository}" -v digest="${digest}" '
      /^[^ #]/ || /^  - / { inside = 0 }
      $0 == "  - name: " entry {
        print; inside = 1
        if (repo != entry) print "    newName: " repo
        print "    digest: " digest "  # pragma: allowlist secret (a digest)"
        next
      }
      inside && /^    (newName|newTag|digest):/ { next }
      { print }
    ' "${file}" >"${file}.pin"
    mv "${file}.pin" "${file}"
    pinned=$((pinned + 1))
    printf 'pin-image: %s: %s -> %s@%s\n' "${file#"${root}"/}" "${entry}" "${repository}" "${digest}"
  done
  [[ "${pinned}" -gt 0 ]] || die "no overlay has an images entry named ${entry}"
done
