"""Real Great Expectations (1.x, ephemeral context) on small frames."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from pipelines.data import DataError, ValidationReport, validate
from pipelines.data.expectations import ExpectationSpec
from pipelines.data.validation import validate_frame
from pipelines.repo.layout import Repo

pytestmark = pytest.mark.integration

SUITE = """\
name: tiny
expectations:
  # schema drift: a renamed column
  - type: expect_table_columns_to_match_ordered_list
    kwargs: {column_list: [text, label]}
  # missing values: an empty utterance
  - type: expect_column_values_to_not_be_null
    kwargs: {column: text}
  # data leak: the same utterance under two topics
  - type: expect_column_values_to_be_unique
    kwargs: {column: text}
  # label set changed upstream
  - type: expect_column_values_to_be_in_set
    kwargs: {column: label, value_set: [a, b]}
"""


def _repo(root: Path, rows: str, suite: str = SUITE) -> Repo:
    folder = root / "datasets" / "tiny"
    (folder / "data").mkdir(parents=True)
    (folder / "dataset.yaml").write_text(
        "name: tiny\ndescription: d\nlicense: MIT\nsource: s\nkind: text\ntext_column: text\n"
    )
    (folder / "expectations.yaml").write_text(suite)
    (folder / "data" / "raw.csv").write_text(rows)
    return Repo(root)


def test_a_frame_that_breaks_the_suite_fails_with_a_summary_naming_expectation_and_column(
    tmp_path: Path,
) -> None:
    repo = _repo(tmp_path, "text,label\nhello,a\nhello,b\n,a\nbye,zzz\n")
    report = validate(repo, "tiny")
    assert not report.success
    assert report.evaluated == 4
    assert [(f.expectation, f.column) for f in report.failed] == [
        ("expect_column_values_to_not_be_null", "text"),
        ("expect_column_values_to_be_unique", "text"),
        ("expect_column_values_to_be_in_set", "label"),
    ]
    summary = report.summary()
    assert "data validation FAILED: tiny: 3 of 4 expectations failed" in summary
    assert "FAIL expect_column_values_to_be_unique  column 'text'" in summary
    assert "guards:   data leak: the same utterance under two topics" in summary
    assert "observed: 2 unexpected of 4 rows; e.g. 'hello'" in summary
    assert "observed: 1 unexpected of 4 rows; e.g. 'zzz'" in summary


def test_validate_writes_the_report_it_returns_and_does_not_raise(tmp_path: Path) -> None:
    repo = _repo(tmp_path, "text,label\nhello,a\nhello,a\n")
    report = validate(repo, "tiny")
    written = tmp_path / "datasets" / "tiny" / "data" / "validation.json"
    assert ValidationReport.read(written) == report
    assert json.loads(written.read_text())["failed_count"] == 1


def test_a_frame_that_meets_the_suite_passes(tmp_path: Path) -> None:
    report = validate(_repo(tmp_path, "text,label\nhello,a\nbye,b\nNA,a\n"), "tiny")
    assert report.success, report.summary()
    assert report.failed == []


def test_a_missing_column_is_reported_not_raised() -> None:
    spec = ExpectationSpec("expect_column_values_to_not_be_null", {"column": "label"}, "missing values", 3)
    report = validate_frame(pd.DataFrame({"text": ["a"]}), [spec], dataset="d")
    assert not report.success
    assert "does not exist" in (report.failed[0].error or "")


def test_an_unknown_expectation_type_is_a_data_error_naming_the_line(tmp_path: Path) -> None:
    suite = "expectations:\n  # guard\n  - type: expect_column_to_be_lovely\n    kwargs: {column: text}\n"
    repo = _repo(tmp_path, "text,label\nhello,a\n", suite)
    with pytest.raises(DataError, match=r"expectations.yaml:3: expect_column_to_be_lovely"):
        validate(repo, "tiny")
