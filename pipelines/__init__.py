"""The AI platform engine: one package, one CLI (`aip`), every lifecycle step.

Subpackages each do one job and import their heavy dependencies lazily, so that `aip --help` stays
fast. They form layers, each importing only those below it (pyproject.toml's import-linter
contracts, docs/architecture.md), from the top:

- `cli`           thin argument parsing; `aip reference` writes docs/cli.md from it
- `gitops`        `aip guard` and `aip ci`: what the workflows call
- `lifecycle`     the steps in order (`aip run`), the canary demo
- `bench`, `deploy`  `aip bench serving`; `aip deploy`, the progressive canary
- `serving`       `aip serve`: TF Serving's REST and gRPC APIs, batching, the canary split
- `monitoring`    request samples and `aip drift`
- `evaluate`, `train`, `registry`  gates and reports; training; the MLflow session, fingerprints and
                  the one loader of registered models
- `data`          ingestion, Great Expectations validation, splits, DVC
- `artifacts`, `observability`  the model format (safetensors); metrics, logs, dashboards
- `repo`          discovery of models/datasets/..., validation, `aip affected`
- `config`        typed models of platform.yaml, model.yaml, dataset.yaml
- the kernel: `errors` (AipError, is_expected), `http`, `git`, `offline`
"""

__version__ = "0.2.0"
