"""The model registry, keyed by fingerprint; environments are aliases.

Every write here is idempotent, so a run killed at any point can simply be run again:
- a training run is reused only when it FINISHED (a killed run stays RUNNING and is ignored);
- a version is created with its fingerprint tag in the same call, and looked up by that tag
  first, so the same fingerprint is never registered twice;
- moving an alias is a single atomic registry call; the previous holder is recorded on the new
  version (tag `aip.previous.<env>`) so a rollback knows where to go.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlflow.entities import Run
    from mlflow.entities.model_registry import ModelVersion
    from mlflow.tracking import MlflowClient

FINGERPRINT_TAG = "aip.fingerprint"
STEP_TAG = "aip.step"
MODEL_URI_TAG = "aip.model_uri"


@dataclass
class Registry:
    client: MlflowClient

    # ---- versions ----------------------------------------------------------------------
    def version_for(self, model: str, fingerprint: str) -> ModelVersion | None:
        """The registered version of this fingerprint, if any (the oldest, should two exist)."""
        if not self._model_exists(model):
            return None
        found = self.client.search_model_versions(
            f"name = '{model}' and tags.`{FINGERPRINT_TAG}` = '{fingerprint}'"
        )
        return min(found, key=lambda v: int(v.version)) if found else None

    def alias_version(self, model: str, alias: str) -> ModelVersion | None:
        from mlflow.exceptions import MlflowException

        if not self._model_exists(model):
            return None
        try:
            return self.client.get_model_version_by_alias(model, alias)
        except MlflowException:
            return None

    def register(
        self, model: str, model_uri: str, run_id: str, tags: dict[str, str], description: str | None = None
    ) -> ModelVersion:
        """Create a version unless the fingerprint in `tags` is registered already.

        `description` is markdown in the MLflow UI (links work); the default names the fingerprint."""
        existing = self.version_for(model, tags[FINGERPRINT_TAG])
        if existing is not None:
            return existing
        from mlflow.exceptions import MlflowException

        try:
            self.client.create_registered_model(model, tags={"aip.managed": "true"})
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
        # MLflow 3 logged models: the source `models:/<model_id>` must come with its model_id.
        model_id = model_uri.removeprefix("models:/") if model_uri.startswith("models:/m-") else None
        return self.client.create_model_version(
            model,
            source=model_uri,
            run_id=run_id,
            tags=tags,
            description=description or f"fingerprint {tags[FINGERPRINT_TAG][:12]}",
            model_id=model_id,
        )

    def set_alias(self, model: str, alias: str, version: str) -> str | None:
        """Point `alias` at `version`; return the version it pointed at before (None if unset)."""
        previous = self.alias_version(model, alias)
        previous_version = str(previous.version) if previous is not None else None
        if previous_version == str(version):
            return previous_version
        if previous_version is not None:
            self.client.set_model_version_tag(model, version, f"aip.previous.{alias}", previous_version)
        self.client.set_registered_model_alias(model, alias, str(version))
        return previous_version

    def _model_exists(self, model: str) -> bool:
        from mlflow.exceptions import MlflowException

        try:
            self.client.get_registered_model(model)
        except MlflowException:
            return False
        return True

    # ---- runs --------------------------------------------------------------------------
    def finished_training_run(self, experiment_id: str, fingerprint: str) -> Run | None:
        """The newest FINISHED training run of this fingerprint that logged a model."""
        runs = self.client.search_runs(
            [experiment_id],
            filter_string=(
                f"tags.`{FINGERPRINT_TAG}` = '{fingerprint}' and tags.`{STEP_TAG}` = 'train' "
                "and attributes.status = 'FINISHED'"
            ),
            order_by=["attributes.start_time DESC"],
            max_results=5,
        )
        for run in runs:
            if MODEL_URI_TAG in run.data.tags:
                return run
        return None
