"""The validate stage: run a dataset's Great Expectations suite on its CSV and report what failed.

GX 1.x in its ephemeral mode: no project folder, no CLI; the suite comes from the repo's commented YAML
(`expectations.py`) and the batch is the CSV read into a DataFrame. GX's run returns a result and never
raises, so this returns a `ValidationReport`; failing the step is the caller's job (the CLI exits 1, which
stops `dvc repro` before the split, and `prepare` turns that into `DataValidationError`).

    aip data validate chatterbot-topics      # prints the summary, exits 1 on failure
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.config.errors import ConfigError
from pipelines.data._csv import read_csv, string_columns
from pipelines.data._paths import display, raw_csv, validation_json
from pipelines.data.errors import DataError
from pipelines.data.expectations import ExpectationSpec, load_suite
from pipelines.data.report import MAX_EXAMPLES, FailedExpectation, ValidationReport
from pipelines.repo.layout import Repo

if TYPE_CHECKING:
    import pandas as pd


def validate(repo: Repo, dataset: str, path: Path | None = None) -> ValidationReport:
    """Validate `path` (default `data/raw.csv`); write `data/validation.json`; never raise on failure."""
    cfg = repo.dataset(dataset)
    csv = path or raw_csv(repo, dataset)
    suite_path = repo.dataset_dir(dataset) / cfg.expectations
    try:
        suite = load_suite(suite_path)
    except ConfigError as exc:
        raise DataError(f"{dataset}: bad expectations suite:\n{exc}") from exc
    frame = read_csv(
        csv, string_columns=string_columns(cfg.kind, cfg.label_column, cfg.text_column), dataset=dataset
    )
    report = validate_frame(frame, suite.expectations, dataset=dataset, suite=display(repo, suite_path))
    report.write(validation_json(repo, dataset))
    return report


def validate_frame(
    frame: pd.DataFrame,
    expectations: list[ExpectationSpec],
    *,
    dataset: str,
    suite: str = "expectations.yaml",
) -> ValidationReport:
    """Run `expectations` on `frame` in a throwaway GX context; the pure core of `validate`."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")  # no usage statistics from a CI job
    with warnings.catch_warnings():
        # GX 1.24 imports the deprecated `sre_constants` and calls pandas/numpy APIs that warn; these are
        # GX's own, not ours, and pytest turns every warning into an error.
        warnings.filterwarnings(
            "ignore", message=r"module 'sre_constants' is deprecated", category=DeprecationWarning
        )
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"great_expectations(\.|$)")
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"great_expectations(\.|$)")
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig
        from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False)  # no tqdm noise in CI logs
        batch = (
            context.data_sources.add_pandas(name=dataset)
            .add_dataframe_asset(name="rows")
            .add_batch_definition_whole_dataframe(name="all")
            .get_batch(batch_parameters={"dataframe": frame})
        )
        configs = []
        for index, spec in enumerate(expectations):
            try:
                configs.append(
                    ExpectationConfiguration(
                        type=spec.type, kwargs=dict(spec.kwargs), meta={"index": index}
                    ).to_domain_obj()
                )
            except Exception as exc:  # GX raises several types for an unknown expectation or bad kwargs
                raise DataError(f"{dataset}: {suite}:{spec.line}: {spec.type}: {exc}") from exc
        result = batch.validate(
            gx.ExpectationSuite(name=dataset, expectations=configs), result_format="SUMMARY"
        )

    failed: list[FailedExpectation] = []
    for item in result.results:
        if item.success:
            continue
        config = item.expectation_config
        if config is None or config.meta is None:  # GX always echoes the config; this keeps mypy honest
            raise DataError(f"{dataset}: GX returned a result without its expectation configuration")
        spec = expectations[int(config.meta["index"])]
        failed.append(_failure(spec, item.result or {}, item.exception_info or {}))
    failed.sort(key=lambda f: f.line or 0)  # file order, whatever order GX evaluated in
    return ValidationReport(
        dataset=dataset,
        success=not failed,
        evaluated=len(result.results),
        failed=failed,
        suite=suite,
        rows=len(frame),
    )


def _failure(
    spec: ExpectationSpec, result: dict[str, Any], exception_info: dict[str, Any]
) -> FailedExpectation:
    """Keep the few fields of GX's result a person needs to see what broke."""
    examples: list[Any] = []
    for entry in result.get("partial_unexpected_counts") or []:
        examples.append(entry.get("value"))
    if not examples:
        for value in result.get("partial_unexpected_list") or []:
            if value not in examples:
                examples.append(value)
    return FailedExpectation(
        expectation=spec.type,
        column=spec.column,
        expected={k: v for k, v in spec.kwargs.items() if k != "column"},
        guards=spec.guards,
        line=spec.line,
        observed=_plain(result.get("observed_value")),
        unexpected_count=result.get("unexpected_count"),
        unexpected_examples=[_plain(v) for v in examples[:MAX_EXAMPLES]],
        error=_error_message(exception_info),
    )


def _error_message(info: dict[str, Any]) -> str | None:
    """GX nests exceptions per metric: {metric_id: {exception_message, ...}} or a flat dict."""
    if info.get("raised_exception"):
        return str(info.get("exception_message"))
    for value in info.values():
        if isinstance(value, dict) and value.get("raised_exception"):
            return str(value.get("exception_message"))
    return None


def _plain(value: Any) -> Any:
    """JSON-safe scalars (numpy ints/floats become Python ones; NaN becomes None)."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    item = getattr(value, "item", None)  # numpy scalar
    if callable(item):
        return _plain(item())
    return str(value)
