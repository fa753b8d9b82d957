"""The one-screen failure summary and the validation.json round trip."""

from __future__ import annotations

from pipelines.data import FailedExpectation, ValidationReport


def _report() -> ValidationReport:
    return ValidationReport(
        dataset="chatterbot-topics",
        success=False,
        evaluated=8,
        rows=1844,
        suite="datasets/chatterbot-topics/expectations.yaml",
        failed=[
            FailedExpectation(
                expectation="expect_column_values_to_be_unique",
                column="text",
                expected={},
                guards="data leak: the same utterance under two topics",
                line=17,
                unexpected_count=4,
                unexpected_examples=["Hello", "x" * 200, "Hi", "Yes."],
            ),
            FailedExpectation(
                expectation="expect_table_row_count_to_be_between",
                column=None,
                expected={"min_value": 1500, "max_value": 5000},
                guards="truncated source",
                line=11,
                observed=12,
            ),
        ],
    )


def test_summary_counts_failures_of_evaluated() -> None:
    first = _report().summary().splitlines()[0]
    assert first.startswith("data validation FAILED: chatterbot-topics: 2 of 8 expectations failed")


def test_summary_names_type_column_expected_observed_and_guard() -> None:
    text = _report().summary()
    assert "FAIL expect_column_values_to_be_unique  column 'text'  (expectations.yaml:17)" in text
    assert "guards:   data leak: the same utterance under two topics" in text
    assert "observed: 4 unexpected of 1844 rows; e.g. 'Hello'" in text
    assert "expected: table row count to be between (max_value=5000, min_value=1500)" in text
    assert "observed: 12" in text


def test_summary_truncates_long_examples_and_shows_at_most_three() -> None:
    text = _report().summary()
    assert "x" * 100 not in text
    assert "'Yes.'" not in text


def test_summary_fits_one_screen() -> None:
    lines = _report().summary().splitlines()
    assert len(lines) <= 24
    assert max(len(line) for line in lines) <= 140


def test_summary_of_a_passing_report_is_one_line() -> None:
    report = ValidationReport(dataset="d", success=True, evaluated=3, failed=[], rows=9)
    assert (
        report.summary() == "data validation passed: d: 3 of 3 expectations met (expectations.yaml, 9 rows)"
    )


def test_summary_shows_an_error_gx_raised_instead_of_a_value() -> None:
    failure = FailedExpectation(
        "expect_column_values_to_not_be_null",
        "label",
        {},
        "missing values",
        3,
        error='The column "label" in BatchData does not exist.',
    )
    report = ValidationReport(dataset="d", success=False, evaluated=1, failed=[failure])
    assert 'observed: error: The column "label" in BatchData does not exist.' in report.summary()


def test_report_json_round_trips_and_is_deterministic() -> None:
    report = _report()
    assert ValidationReport.from_json(report.to_json()) == report
    assert report.to_json() == _report().to_json()
    assert '"failed_count": 2' in report.to_json()
