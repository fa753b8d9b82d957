"""Hyperparameter search with Optuna: `aip tune` (docs/tuning.md)."""
