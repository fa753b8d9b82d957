"""The scheduled materialisation's plan (.github/workflows/features.yml; docs/tuning-infra.md).

    aip ci features-plan                 # every environment of the promotion order x every feature dataset
    aip ci features-plan --env staging   # one environment

One matrix entry per (environment, dataset with a `features` section in dataset.yaml): the job runs on
the environment's runner scale set (`runs-on` as `aip ci plan --env` computes it: the online store is
in the environment's private network, reachable from its cluster only), prepares the dataset and runs
`aip features materialize DATASET --env ENV`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from pipelines.errors import AipError
from pipelines.gitops.plan import runs_on

if TYPE_CHECKING:
    from pipelines.repo.layout import Repo

__all__ = ["FeaturesPlanError", "features_plan"]


class FeaturesPlanError(AipError):
    """An environment the plan cannot use (unknown, or not a deploy environment)."""


def features_plan(repo: Repo, env: str | None = None) -> dict[str, str]:
    """Step outputs: matrix (JSON {include: [{environment, dataset, runner}]}) and any (true|false)."""
    platform = repo.platform
    order = list(platform.promotion_order)
    if env:
        if env not in order:
            raise FeaturesPlanError(
                f"--env {env!r}: expected one of the promotion order in platform.yaml ({', '.join(order)})"
            )
        order = [env]
    datasets = [name for name in repo.dataset_names() if repo.dataset(name).features is not None]
    include = [
        {
            "environment": name,
            "dataset": dataset,
            "runner": runs_on(platform.environments[name].runner, platform.environments[name].runner_labels),
        }
        for name in order
        for dataset in datasets
    ]
    any_ = bool(include)
    if not include:  # a matrix must not be empty even when the job is skipped
        include = [{"environment": "none", "dataset": "none", "runner": json.dumps("ubuntu-24.04")}]
    return {"matrix": json.dumps({"include": include}), "any": str(any_).lower()}
