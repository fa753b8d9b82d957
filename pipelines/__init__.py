"""The AI platform engine: one package, one CLI (`aip`), every lifecycle step.

Subpackages each do one job and import their heavy dependencies lazily, so that
`aip --help` stays fast:

- `config`    typed models of platform.yaml, model.yaml, dataset.yaml
- `repo`      discovery of models/datasets/..., validation, `aip affected`
- `data`      ingestion, Great Expectations validation, splits, DVC
- `artifacts` the on-disk model format (safetensors) and its loader
- `train`     seeded torch/transformers training
- `evaluate`  metrics, gates, behavioural tests, plots, report
- `registry`  fingerprints, MLflow tracking and model registry, aliases
- `lifecycle` `aip run`: the steps in order, with a summary
- `cli`       thin argument parsing
"""

__version__ = "0.1.0"
