"""Load a dataset's Feast feature repo (`datasets/<name>/<features.repo>/definitions.py`) and check it
against dataset.yaml, so a mistake is reported with the file's name before Feast sees it.

The file is plain Feast: module-level Entity, FeatureView and FeatureService objects. The checks are
the ones a feature store needs to be skew-free: every feature view's source has an event timestamp
field (the point-in-time join and materialisation need it), the entity's join key is dataset.yaml's
`entity_column`, and the feature service's features are exactly the model's `feature_columns`.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.features.errors import FeatureStoreError

if TYPE_CHECKING:
    from pipelines.config.dataset import DatasetConfig, FeaturesConfig
    from pipelines.repo.layout import Repo

DEFINITIONS = "definitions.py"  # the one file of a feature repo that holds its objects


@dataclass(frozen=True)
class FeatureRepo:
    """A dataset's feature repo, loaded and checked."""

    dataset: str
    folder: Path  # the feature repo (Feast's repo_path: relative source paths start here)
    file: Path  # its definitions.py
    config: FeaturesConfig
    feature_columns: list[str]  # the model's inputs, in order (dataset.yaml)
    objects: list[Any]  # every Entity, FeatureView and FeatureService, for FeatureStore.apply
    service: Any  # the FeatureService named by dataset.yaml's features.service
    source_path: Path  # the feature views' parquet (absolute)

    @property
    def project(self) -> str:
        """The Feast project: the dataset name with underscores (Feast allows no hyphens)."""
        return self.dataset.replace("-", "_")


def feature_datasets(repo: Repo) -> list[str]:
    """The datasets whose dataset.yaml has a `features` section."""
    return [name for name in repo.dataset_names() if repo.dataset(name).features is not None]


def features_of(repo: Repo, dataset: str) -> FeaturesConfig:
    """dataset.yaml's `features`; FeatureStoreError when the dataset has none."""
    cfg = repo.dataset(dataset)
    if cfg.features is None:
        have = ", ".join(feature_datasets(repo)) or "none"
        raise FeatureStoreError(
            f"{dataset}: {repo.dataset_dir(dataset) / 'dataset.yaml'} has no `features` section "
            f"(datasets with features: {have})"
        )
    return cfg.features


def load_feature_repo(repo: Repo, dataset: str) -> FeatureRepo:
    """Import the definitions and check them against dataset.yaml (see the module docstring)."""
    cfg = repo.dataset(dataset)
    features = features_of(repo, dataset)
    folder = repo.dataset_dir(dataset) / features.repo
    file = folder / DEFINITIONS
    objects = _import_objects(dataset, file)
    return _checked(dataset, cfg, features, folder, file, objects)


def _import_objects(dataset: str, file: Path) -> list[Any]:
    from pipelines.features._feast import import_feast

    feast = import_feast()  # before the definitions file imports it: see _feast.py

    if not file.is_file():
        raise FeatureStoreError(
            f"{dataset}: {file} does not exist; a feature repo keeps its Feast objects there"
        )
    name = f"aip_features_{dataset.replace('-', '_')}"
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise FeatureStoreError(f"{dataset}: cannot import {file}")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # Feast validates in constructors: name the file, keep Feast's words
        raise FeatureStoreError(f"{dataset}: {file}: {type(exc).__name__}: {exc}") from exc
    kinds = (feast.Entity, feast.FeatureView, feast.FeatureService)
    return [value for value in vars(module).values() if isinstance(value, kinds)]


def _checked(
    dataset: str,
    cfg: DatasetConfig,
    features: FeaturesConfig,
    folder: Path,
    file: Path,
    objects: list[Any],
) -> FeatureRepo:
    from feast import Entity, FeatureService, FeatureView

    views = [o for o in objects if isinstance(o, FeatureView)]
    entities = [o for o in objects if isinstance(o, Entity)]
    services = {o.name: o for o in objects if isinstance(o, FeatureService)}
    if not views:
        raise FeatureStoreError(f"{dataset}: {file} defines no FeatureView")
    sources = set()
    for view in views:
        source = view.batch_source
        where = f"{dataset}: {file}: feature view '{view.name}'"
        if source is None:
            raise FeatureStoreError(f"{where} has no source; give it a FileSource (the offline store)")
        if not getattr(source, "timestamp_field", ""):
            raise FeatureStoreError(
                f"{where}: its source '{source.name}' has no timestamp_field; set "
                f"timestamp_field='{features.timestamp_column}' (the point-in-time join and "
                "materialisation need each row's event time)"
            )
        if source.timestamp_field != features.timestamp_column:
            raise FeatureStoreError(
                f"{where}: its source's timestamp_field is '{source.timestamp_field}', but dataset.yaml's "
                f"features.timestamp_column is '{features.timestamp_column}'"
            )
        sources.add(getattr(source, "path", ""))
    keys = {entity.join_key for entity in entities}
    if features.entity_column not in keys:
        raise FeatureStoreError(
            f"{dataset}: {file}: no Entity has join key '{features.entity_column}' "
            f"(dataset.yaml features.entity_column); join keys found: {sorted(keys) or 'none'}"
        )
    service = services.get(features.service)
    if service is None:
        raise FeatureStoreError(
            f"{dataset}: {file}: no FeatureService '{features.service}' (dataset.yaml features.service); "
            f"defined: {', '.join(sorted(services)) or 'none'}"
        )
    served = [f.name for projection in service.feature_view_projections for f in projection.features]
    wanted = list(cfg.feature_columns or [])
    if sorted(served) != sorted(wanted):
        missing = sorted(set(wanted) - set(served))
        extra = sorted(set(served) - set(wanted))
        raise FeatureStoreError(
            f"{dataset}: {file}: feature service '{service.name}' must serve exactly dataset.yaml's "
            f"feature_columns; missing {missing or 'none'}, not inputs {extra or 'none'}"
        )
    if len(sources) != 1 or not next(iter(sources)):
        raise FeatureStoreError(
            f"{dataset}: {file}: the feature views need one FileSource path, got {sorted(sources)}"
        )
    source_path = Path(next(iter(sources)))
    return FeatureRepo(
        dataset=dataset,
        folder=folder,
        file=file,
        config=features,
        feature_columns=wanted,
        objects=objects,
        service=service,
        source_path=source_path if source_path.is_absolute() else (folder / source_path).resolve(),
    )
