"""The Feast feature store of tabular datasets: `aip features` (docs/features.md)."""
