"""`aip ci smoke MODEL ...`: a smoke train + evaluate on CPU on a small sample, for pull requests.

Same engine as `aip run`, with training capped (text models: at most --max-train-samples rows,
--epochs epochs, 32 tokens; tabular models train as configured, they take seconds). The smoke model
is a different fingerprint, trained into the environment's store and never registered, so no alias
moves. It is evaluated on the real test split against the real gates and, when one exists, the champion
(the model at alias `--champion-env`, default the smoke's environment), on the same rows. Gate results of
a smoke model are shown, not enforced: gates are enforced on the full training in deploy.yml.
A step that fails (data, training, evaluation) fails the command.

    aip ci smoke tumor-classifier --summary-json smoke.json
    AIP_CHAMPION_ENV=prod aip ci smoke topic-classifier    # champion from the shared registry's @prod
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.config import AnyModelConfig, TextClassifierConfig
from pipelines.errors import is_expected
from pipelines.repo.layout import Repo

__all__ = ["SmokeRepo", "smoke"]

TEXT_MAX_LENGTH = 32  # tokens; the e2e tests show MiniLM trains in seconds per 100 rows at this length


@dataclass(frozen=True)
class SmokeRepo(Repo):
    """The repository with each model's training capped for a smoke run."""

    max_train_samples: int = 400
    epochs: int = 1

    def model(self, name: str) -> AnyModelConfig:
        config = super().model(name)
        training = config.training
        cap = min(training.max_train_samples or self.max_train_samples, self.max_train_samples)
        update: dict[str, Any] = {"max_train_samples": cap}
        if isinstance(config, TextClassifierConfig):
            update["epochs"] = min(training.epochs, self.epochs)
            update["max_length"] = min(config.training.max_length, TEXT_MAX_LENGTH)
        return config.model_copy(update={"training": training.model_copy(update=update)})


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def smoke(
    repo: Repo,
    models: list[str],
    *,
    env: str | None = None,
    champion_env: str | None = None,
    max_train_samples: int = 400,
    epochs: int = 1,
) -> dict[str, Any]:
    """Train and evaluate each model; the result has `aip run --summary-json`'s shape plus `smoke: true`."""
    from pipelines.data import load_split, prepare
    from pipelines.evaluate import evaluate_model
    from pipelines.lifecycle import steps
    from pipelines.registry.context import Context
    from pipelines.registry.loader import load_predictor

    small = SmokeRepo(repo.root, max_train_samples=max_train_samples, epochs=epochs)
    unknown = sorted(set(models) - set(small.model_names()))
    if unknown:
        raise steps.StepFailed(f"unknown model(s): {', '.join(unknown)} (models/ has: {small.model_names()})")
    ctx = Context.open(small, env)
    start = time.perf_counter()
    for dataset in sorted({small.model(m).dataset for m in models}):
        _say(f"==> data: {dataset}")
        prepare(small, dataset, ctx.env)
    seconds = {"data": time.perf_counter() - start}
    rows = []
    for name in models:
        row: dict[str, Any] = {"model": name, "seconds": {}, "smoke": True}
        _say(f"==> {name}: smoke train (capped: {max_train_samples} rows, {epochs} epoch(s) for text)")
        candidate, row["seconds"]["train"] = steps.timed(steps.train, ctx, name)
        row["fingerprint"] = candidate.fingerprint.short
        _say(f"==> {name}: evaluate")
        t0 = time.perf_counter()
        champion, label = _champion(ctx, small, name, champion_env or ctx.env)
        config = small.model(name)
        dataset_config = small.dataset(config.dataset)
        result = evaluate_model(
            config,
            dataset_config,
            load_predictor(candidate.model_uri, local_dir=candidate.local_dir),
            load_split(small, config.dataset, "test"),
            ctx.report_dir(name),
            champion=champion,
            champion_label=label,
        )
        (ctx.report_dir(name) / "summary.txt").write_text(result.summary() + "\n", encoding="utf-8")
        row["seconds"]["evaluate"] = time.perf_counter() - t0
        passed = sum(g.passed for g in result.gates)
        row |= {
            "status": "smoke: gates passed" if result.passed else "smoke: gates failed (not enforced)",
            "version": "",
            "previous": None,
            "metrics": {k: v for k, v in result.metrics.items() if not math.isnan(v)},
            "champion": label,
            "champion_metrics": {
                k: v for k, v in (result.champion_metrics or {}).items() if not math.isnan(v)
            },
            "gates": f"{passed}/{len(result.gates)} passed",
            "error": "",
            "ok": True,
        }
        rows.append(row)
        _say(result.summary())
    return {"env": ctx.env, "ok": True, "smoke": True, "seconds": seconds, "models": rows}


def _champion(ctx: Any, repo: Repo, model: str, env: str) -> tuple[Any, str | None]:
    """The predictor at alias `env` (from that environment's registry), or (None, None) with a notice."""
    from pipelines.gitops.actions import annotate
    from pipelines.registry.context import Context
    from pipelines.registry.loader import load_predictor

    try:
        source = ctx if env == ctx.env else Context.open(repo, env)
        version = source.registry.alias_version(model, env)
        if version is None:
            annotate("notice", f"{model}: no champion at @{env} yet; the comment shows no difference")
            return None, None
        return load_predictor(f"models:/{model}/{version.version}"), f"v{version.version} (@{env})"
    except Exception as exc:
        if not is_expected(exc):
            raise
        annotate("warning", f"{model}: champion at @{env} unavailable ({exc}); no difference shown")
        return None, None


def write(result: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2), encoding="utf-8")
