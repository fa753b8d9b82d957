#!/usr/bin/env bash
# GPU check (< 5 minutes on one GPU machine): train the text model with DDP on every GPU, serve it on
# the GPU, print the serving throughput. docs/distributed-training.md ("GPU check").
#
#   scripts/gpu-check.sh             # on a machine with NVIDIA GPUs and a CUDA build of torch in .venv
#   scripts/gpu-check.sh --dry-run   # no GPU needed: check the tools and print the commands only
#
# Needs: a checkout (a fresh clone is fine) with .venv set up (`make setup`; a CUDA torch wheel:
# docs/gpu-runners.md), the NVIDIA driver, and free ports 127.0.0.1:8591. It writes state only under
# a temporary copy of the repository (AIP_REPO), never into the checkout's .aip/.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="$here/.venv/bin/python"
dry_run=0
[[ "${1:-}" == "--dry-run" ]] && dry_run=1
model=topic-classifier
port="${GPU_CHECK_PORT:-8591}"
seconds="${GPU_CHECK_SECONDS:-20}"

[[ -x "$py" ]] || { echo "gpu-check: $py not found: run \`make setup\` first" >&2; exit 2; }
gpus="$("$py" -c 'import torch; print(torch.cuda.device_count())')"
if [[ "$dry_run" == 0 && "$gpus" -lt 1 ]]; then
  echo "gpu-check: torch sees no CUDA device ($("$py" -c 'import torch; print(torch.__version__)')); see docs/gpu-runners.md" >&2
  exit 2
fi
nproc=$(( gpus > 0 ? gpus : 1 ))

run() {  # echo, then run unless --dry-run; timings on stderr
  echo "+ $*" >&2
  [[ "$dry_run" == 1 ]] && return 0
  local start=$SECONDS
  "$@"
  echo "  ($(( SECONDS - start )) s)" >&2
}

work="$(mktemp -d -t aip-gpu-check-XXXXXX)"
server=""
cleanup() { [[ -n "$server" ]] && kill "$server" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# A private copy of the checkout's tracked files, so the check never touches its state.
(cd "$here" && git ls-files -co --exclude-standard -z | xargs -0 -I{} cp --parents {} "$work"/ 2>/dev/null) \
  || cp -a "$here/." "$work/"
git -C "$work" init -q && git -C "$work" add -A >/dev/null && \
  git -C "$work" -c user.email=gpu@check -c user.name=gpu-check commit -qm gpu-check
export AIP_REPO="$work"
cd "$work"

echo "gpu-check: $gpus GPU(s); training $model with --nproc-per-node $nproc" >&2
[[ "$dry_run" == 0 ]] && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
run "$py" -m pipelines data prepare chatterbot-topics
run "$py" -m pipelines train "$model" --nproc-per-node "$nproc" --force
run "$py" -m pipelines evaluate "$model"
run "$py" -m pipelines register "$model"

echo "+ aip serve --models $model --device cuda --runtime torch --rest-port $port" >&2
if [[ "$dry_run" == 1 ]]; then echo "gpu-check: dry run done (nothing trained or served)"; exit 0; fi
"$py" -m pipelines serve --models "$model" --device cuda --runtime torch --rest-port "$port" --grpc-port 0 \
  --no-prompts >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 120); do
  curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
  kill -0 "$server" 2>/dev/null || { tail -50 "$work/serve.log" >&2; exit 1; }
  sleep 1
done
curl -sf "http://127.0.0.1:$port/readyz" >/dev/null || { tail -50 "$work/serve.log" >&2; exit 1; }

# Closed loop: 8 clients, 32 utterances a request, $seconds seconds.
"$py" - "$port" "$model" "$seconds" <<'PY'
import json, sys, threading, time, urllib.request

port, model, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
url = f"http://127.0.0.1:{port}/v1/models/{model}:predict"
body = json.dumps({"instances": ["who is the best basketball player of all time"] * 32}).encode()
lat, errors, stop = [], [0], time.monotonic() + seconds
def client():
    while time.monotonic() < stop:
        t = time.perf_counter()
        try:
            req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
            urllib.request.urlopen(req, timeout=30).read()
            lat.append(time.perf_counter() - t)
        except Exception:
            errors[0] += 1
threads = [threading.Thread(target=client) for _ in range(8)]
[t.start() for t in threads]; [t.join() for t in threads]
lat.sort()
p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else float("nan")
print(f"serving on cuda: {len(lat) * 32 / seconds:.0f} rows/s ({len(lat) / seconds:.1f} requests/s of 32), "
      f"p50 {p(0.5):.1f} ms, p99 {p(0.99):.1f} ms, errors {errors[0]}")
PY
grep -m1 -i "cuda" "$work/serve.log" >&2 || true
echo "gpu-check: done"
