"""A stand-in for `kubectl` (apply / get -o json) over a folder, for tests/cluster only.

No Kubernetes API server can run on the build machines, so pipelines/cluster/kube.py is driven
through this executable: the real subprocess calls, arguments, stdin and exit codes are exercised,
while what an API server and the Trainer/Kueue controllers would do is scripted:
- STANDIN_STATE/<kind>-<name>.json: applied objects (a TrainJob gets `spec.suspend` from the manifest);
- STANDIN_STATE/statuses.json: a list of TrainJob `status` objects; each `get` of a TrainJob takes the
  next one (the last one repeats), and `suspend` is cleared once a status has a child job;
- STANDIN_STATE/calls.log: one JSON line per call (argv).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    state = Path(os.environ["STANDIN_STATE"])
    with (state / "calls.log").open("a") as log:
        log.write(json.dumps(argv) + "\n")
    if os.environ.get("STANDIN_REFUSE"):
        print(f"error: {os.environ['STANDIN_REFUSE']}", file=sys.stderr)
        return 1
    if "apply" in argv:
        body = json.loads(sys.stdin.read())
        for item in body["items"]:
            name = item["metadata"]["name"]
            (state / f"{item['kind']}-{name}.json").write_text(json.dumps(item))
            group = item["apiVersion"].split("/")[0] if "/" in item["apiVersion"] else ""
            print(f"{item['kind'].lower()}{'.' + group if group else ''}/{name} serverside-applied")
        return 0
    if "get" in argv:
        resource, name = argv[argv.index("get") + 1].split("/", 1)
        kind = "TrainJob" if resource.startswith("trainjob") else resource
        path = state / f"{kind}-{name}.json"
        if not path.exists():
            print(f'Error from server (NotFound): {resource} "{name}" not found', file=sys.stderr)
            return 1
        obj = json.loads(path.read_text())
        script = state / "statuses.json"
        if kind == "TrainJob" and script.exists():
            statuses = json.loads(script.read_text())
            status = statuses.pop(0) if len(statuses) > 1 else statuses[0]
            script.write_text(json.dumps(statuses))
            obj["status"] = status
            if status.get("jobsStatus"):
                obj["spec"]["suspend"] = False
        print(json.dumps(obj))
        return 0
    print(f"standin kubectl: unsupported {argv}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
