"""`aip ci plan`: what a pull request or a push touches, and where an environment's jobs run.

Writes step outputs that later jobs read (`needs.plan.outputs.*`):
    matrix      the models as a matrix (`{"include": [{"model": ..., "dataset": ...}]}`): without --env
                (pull requests) the models the diff affects; with --env (deploys) every model
    models      "true" when the matrix holds any model
    prompt_matrix, prompts   the same for prompts (`{"include": [{"prompt": ..., "dataset": ...}]}`)
    infra, workflows, dashboards    "true" when those changed
    infra_roots the affected Terraform roots as a JSON list
With --env ENV (a platform environment, or its branch `env/<name>`), also:
    environment the platform environment's name (`env/dev` → `dev`): the GitHub environment the deploy
                job runs in, the `--env` of every aip command, the artifact and report names
    runner      the `runs-on` value: the environment's ARC runner scale-set name as a JSON string
                (platform.yaml `runner`), else its `runner_labels` as a JSON list (else ubuntu-24.04)
    train       "true" when the environment may train new fingerprints (platform.yaml `train`)
    requires_approval  "true" when the GitHub environment must have required reviewers
    next_environment   the environment promoted to after this one ("" after the last)
    pins        the models model.yaml holds or pins in this environment as JSON, e.g.
                {"tumor-classifier": "held"} or {"topic-classifier": "v3"} (ADR 0022); `aip deploy`
                honours them, the pinned models stay in the matrix (their job reports `held`)

Deploys are level-based: every model is in the deploy matrix, not only those changed since the
previous push. Each job resolves the version the commit describes (`aip deploy` without --version:
the model's fingerprint → its registered version) and is a no-op when the alias already holds it.
Why every model rather than a registry comparison here: the plan job runs on a GitHub-hosted runner
without registry credentials (the MLflow endpoint is private), and a diff against
`github.event.before` loses models whenever a push is superseded in the concurrency group or a
deploy fails and is not retried. Listing every model is cheap, needs nothing, and retries
everything the environment does not hold yet on the next push.
"""

from __future__ import annotations

import json
from typing import Any

from pipelines.gitops.actions import set_output
from pipelines.repo.layout import Repo

__all__ = ["plan", "runs_on"]

NO_BASE = "0" * 40  # github.event.before of a new branch
HOSTED = "ubuntu-24.04"  # runs-on when an environment names no runners (the local sandbox)


def runs_on(runner: str | None, labels: list[str]) -> str:
    """The `runs-on` value as JSON: the scale-set name (a string) or the labels (a list)."""
    if runner:
        return json.dumps(runner)
    return json.dumps(labels or [HOSTED])


def _prompt_dataset(repo: Repo, prompt: str) -> str:
    from pipelines.config import load_prompt

    return load_prompt(repo.prompt_dir(prompt) / "prompt.yaml").retrieval.dataset


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
    # Deploys (--env): every model, level-based (module docstring); pull requests: the affected ones.
    models = repo.model_names() if env is not None else data["models"]
    include = [{"model": m, "dataset": repo.model(m).dataset} for m in models]
    # Prompts: the same rule (deploys: every prompt, level-based; pull requests: the affected ones).
    prompts = (
        repo.prompt_names() if env is not None or base is None or base.strip("0") == "" else data["prompts"]
    )
    prompt_include = [{"prompt": p, "dataset": _prompt_dataset(repo, p)} for p in prompts]
    outputs: dict[str, str] = {
        "matrix": json.dumps({"include": include or [{"model": "none", "dataset": "none"}]}),
        "models": str(bool(models)).lower(),
        "prompt_matrix": json.dumps({"include": prompt_include or [{"prompt": "none", "dataset": "none"}]}),
        "prompts": str(bool(prompts)).lower(),
        "infra": str(bool(data["infra_roots"])).lower(),
        "infra_roots": json.dumps(data["infra_roots"] or ["none"]),
        "workflows": str(data["workflows"] or any(f.startswith(".github/") for f in data["files"])).lower(),
        "dashboards": str(
            bool(data["dashboards"]) or any(f.startswith("dashboards/") for f in data["files"])
        ).lower(),
    }
    if env is not None:
        name, settings = repo.environment(env.removeprefix("env/"))  # a branch name works too
        outputs["environment"] = name
        outputs["runner"] = runs_on(settings.runner, settings.runner_labels)
        outputs["train"] = str(settings.train).lower()
        outputs["requires_approval"] = str(settings.requires_approval).lower()
        order = repo.platform.promotion_order
        nxt = order[order.index(name) + 1] if name in order and order.index(name) + 1 < len(order) else ""
        outputs["next_environment"] = nxt
        pins = {m: repo.model(m).environment(name) for m in models}
        outputs["pins"] = json.dumps({m: p.pin for m, p in pins.items() if p.pin})
        for model, pin in pins.items():
            if pin.pin:
                why = f" ({pin.reason})" if pin.reason else ""
                print(f"{model}: pinned in {name}: {pin.pin}{why} (models/{model}/model.yaml)")
    for key, value in outputs.items():
        set_output(key, value)
    return outputs
