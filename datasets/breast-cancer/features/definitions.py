"""The breast-cancer Feast feature repo: one entity, one feature view, one feature service.

Feast definitions only (docs/features.md); `aip features apply` registers them in the environment's
registry with a feature_store.yaml generated from platform.yaml (never committed: the online store and
its credentials differ per environment). The offline source is the DVC `features` stage's parquet
(`aip features export breast-cancer`): the validated rows of data/raw.csv, keyed by `tumour_id` and
timed by `event_timestamp` (ingest.py writes both). Paths are relative to this folder.

    aip features apply breast-cancer              # register these in the local registry
    aip features materialize breast-cancer        # offline -> online store, up to now
"""

from __future__ import annotations

from datetime import timedelta

from feast import Entity, FeatureService, FeatureView, Field, FileSource, ValueType
from feast.types import Float64

MEASUREMENTS = [  # the 30 cell-nucleus measurements, in the model's input order (dataset.yaml)
    "mean radius",
    "mean texture",
    "mean perimeter",
    "mean area",
    "mean smoothness",
    "mean compactness",
    "mean concavity",
    "mean concave points",
    "mean symmetry",
    "mean fractal dimension",
    "radius error",
    "texture error",
    "perimeter error",
    "area error",
    "smoothness error",
    "compactness error",
    "concavity error",
    "concave points error",
    "symmetry error",
    "fractal dimension error",
    "worst radius",
    "worst texture",
    "worst perimeter",
    "worst area",
    "worst smoothness",
    "worst compactness",
    "worst concavity",
    "worst concave points",
    "worst symmetry",
    "worst fractal dimension",
]

tumour = Entity(
    name="tumour",
    join_keys=["tumour_id"],
    value_type=ValueType.INT64,
    description="One imaged tumour; tumour_id is its row number in scikit-learn's copy of the data.",
)

tumour_source = FileSource(
    name="tumours",
    path="../data/features/tumours.parquet",
    timestamp_field="event_timestamp",
    description="The validated measurements (the DVC `features` stage).",
)

tumour_measurements = FeatureView(
    name="tumour_measurements",
    entities=[tumour],
    ttl=timedelta(0),  # measurements of a tumour never expire
    schema=[Field(name=name, dtype=Float64) for name in MEASUREMENTS],
    source=tumour_source,
    online=True,
    description="Fine-needle-aspirate cell-nucleus measurements of a tumour.",
)

tumor_classifier = FeatureService(
    name="tumor_classifier",
    features=[tumour_measurements],
    description="The inputs of models/tumor-classifier.",
)
