"""`aip ci plan`: what a pull request or a push touches, and where an environment's jobs run.

Writes step outputs that later jobs read (`needs.plan.outputs.*`):
    matrix      the affected models as a matrix (`{"include": [{"model": ..., "dataset": ...}]}`)
    models      "true" when any model is affected
    infra, workflows, dashboards    "true" when those changed
    infra_roots the affected Terraform roots as a JSON list
    runner      the environment's `runs-on` labels (JSON list) from platform.yaml, with --env
    environment the GitHub environment name (= the platform environment), with --env (or env/<name>)
    next_environment  the environment promoted to after this one ("" after the last)
"""

from __future__ import annotations

import json
from typing import Any

from pipelines.gitops.actions import set_output
from pipelines.repo.layout import Repo

__all__ = ["plan"]

NO_BASE = "0" * 40  # github.event.before of a new branch


def plan(repo: Repo, base: str | None, head: str | None = None, env: str | None = None) -> dict[str, Any]:
    from pipelines.repo.affected import affected, changed_files

    if base is None or base.strip("0") == "":
        result = affected(repo, [])
        result.models.update(repo.model_names())  # a new branch (or no base): everything is new
        result.infra_roots.update(repo.infra_roots())
        result.dashboards.update(repo.dashboard_names())
    else:
        result = affected(repo, changed_files(repo, base, head))
    data = result.as_dict()
    include = [{"model": m, "dataset": repo.model(m).dataset} for m in data["models"]]
    outputs: dict[str, str] = {
        "matrix": json.dumps({"include": include or [{"model": "none", "dataset": "none"}]}),
        "models": str(bool(data["models"])).lower(),
        "infra": str(bool(data["infra_roots"])).lower(),
        "infra_roots": json.dumps(data["infra_roots"] or ["none"]),
        "workflows": str(data["workflows"] or any(f.startswith(".github/") for f in data["files"])).lower(),
        "dashboards": str(
            bool(data["dashboards"]) or any(f.startswith("dashboards/") for f in data["files"])
        ).lower(),
    }
    if env is not None:
        name, settings = repo.environment(env.removeprefix("env/"))  # a branch name works too
        outputs["runner"] = json.dumps(settings.runner_labels or ["ubuntu-24.04"])
        outputs["environment"] = name
        outputs["requires_approval"] = str(settings.requires_approval).lower()
        order = repo.platform.promotion_order
        nxt = order[order.index(name) + 1] if name in order and order.index(name) + 1 < len(order) else ""
        outputs["next_environment"] = nxt
    for key, value in outputs.items():
        set_output(key, value)
    return outputs
