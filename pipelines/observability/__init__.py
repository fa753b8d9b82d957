"""Observability: the metric catalogue (and, later, logging, dashboards and drift)."""

from pipelines.observability.catalogue import CATALOGUE, EXTERNAL_EXPORTERS, Metric, create, known_series

__all__ = ["CATALOGUE", "EXTERNAL_EXPORTERS", "Metric", "create", "known_series"]
